//! Bookings, opening balances and reversals: the journal's write use cases.
//!
//! All three go through the tenant's appender (`store::appender`), which batches concurrent
//! requests into one transaction (group commit) and decides each command with `journal`'s
//! pure `decide_*` functions inside it. An `Idempotency-Key` answer is stored in that same
//! transaction.

use crate::{App, AppResult};
use journal::{Actor, BookingCommand, OpeningBalanceCommand, ReversalCommand};
use store::appender::AppendRequest;
pub use store::appender::{AppendCommand, Appended};
use store::idempotency::Idempotent;
use uuid::Uuid;

impl App {
    /// `POST /v1/bookings`.
    pub async fn book(
        &self,
        tenant_id: Uuid,
        cmd: BookingCommand,
        actor: Actor,
        idempotency: Option<Idempotent<Appended>>,
    ) -> AppResult<Appended> {
        self.append(tenant_id, AppendCommand::Booking(cmd), actor, idempotency)
            .await
    }

    /// `POST /v1/bookings/opening-balances`.
    pub async fn book_opening_balances(
        &self,
        tenant_id: Uuid,
        cmd: OpeningBalanceCommand,
        actor: Actor,
        idempotency: Option<Idempotent<Appended>>,
    ) -> AppResult<Appended> {
        self.append(
            tenant_id,
            AppendCommand::OpeningBalances(cmd),
            actor,
            idempotency,
        )
        .await
    }

    /// `POST /v1/journal/reverse`: the reversal is dated by `journal::decide_reversal`.
    pub async fn reverse(
        &self,
        tenant_id: Uuid,
        cmd: ReversalCommand,
        actor: Actor,
        idempotency: Option<Idempotent<Appended>>,
    ) -> AppResult<Appended> {
        self.append(tenant_id, AppendCommand::Reversal(cmd), actor, idempotency)
            .await
    }

    async fn append(
        &self,
        tenant_id: Uuid,
        cmd: AppendCommand,
        actor: Actor,
        idempotency: Option<Idempotent<Appended>>,
    ) -> AppResult<Appended> {
        let req = AppendRequest {
            cmd,
            actor,
            idempotency,
        };
        let Some(runtime) = &self.appender_runtime else {
            return Ok(self.store().append(tenant_id, req).await?);
        };
        let store = self.store().clone();
        runtime
            .spawn(async move { store.append(tenant_id, req).await })
            .await
            .map_err(|e| store::StoreError::Internal(format!("append task: {e}")))?
            .map_err(Into::into)
    }

    /// Appends one command inside the caller's transaction, for use cases that write other
    /// rows atomically with a booking (an invoice, a payment, a bank match). Not batched; it
    /// holds the tenant's journal head until the transaction ends.
    #[allow(dead_code)] // until the invoice and settlement use cases call it
    pub(crate) async fn append_in_tx(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        cmd: &AppendCommand,
        actor: &Actor,
    ) -> AppResult<Appended> {
        Ok(self.store().append_in_tx(tx, tenant_id, cmd, actor).await?)
    }
}
