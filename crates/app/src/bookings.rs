//! Bookings, opening balances and reversals: the journal's write use cases.
//!
//! All three go through the tenant's appender (`store::appender`), which batches concurrent
//! requests into one transaction (group commit) and decides each command with `journal`'s
//! pure `decide_*` functions inside it. An `Idempotency-Key` answer is stored in that same
//! transaction.

use crate::{App, AppError, AppResult};
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

    /// `POST /v1/bookings/bulk`: `count` bookings in one transaction, built by `next` one
    /// slice at a time (so the caller parses each booking only when it is decided). Each is
    /// decided by the same rules, and written with the same events and hashes, as a single
    /// booking. `atomic`: everything or nothing — when one booking is refused, nothing is
    /// committed. Otherwise the accepted ones are committed and the refused ones answered
    /// one by one. The `Idempotency-Key` answer is stored in the same transaction when
    /// something is committed; the second value says whether it was (else the guard stores
    /// the answer, which created nothing).
    pub async fn book_bulk(
        &self,
        tenant_id: Uuid,
        count: usize,
        atomic: bool,
        actor: &Actor,
        mut next: impl FnMut(std::ops::Range<usize>) -> Vec<AppResult<BookingCommand>>,
        idempotency: Option<Idempotent<[Result<Appended, AppError>]>>,
    ) -> AppResult<(Vec<Result<Appended, AppError>>, bool)> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(store::StoreError::from)?;
        let results: Vec<Result<Appended, AppError>> = self
            .store()
            .append_many_in_tx(&tx, tenant_id, count, |range| {
                next(range)
                    .into_iter()
                    .map(|built| match built {
                        Ok(cmd) => Ok(AppendRequest {
                            cmd: AppendCommand::Booking(cmd),
                            actor: actor.clone(),
                            idempotency: None,
                        }),
                        Err(e) => Err(invalid_item(e)),
                    })
                    .collect()
            })
            .await?
            .into_iter()
            .map(|r| r.map_err(AppError::from))
            .collect();
        let refused = results.iter().any(Result::is_err);
        let accepted = results.iter().any(Result::is_ok);
        if (atomic && refused) || !accepted {
            // Nothing is committed: the transaction rolls back when it is dropped.
            return Ok((results, false));
        }
        let stored = idempotency.is_some();
        if let Some(idem) = &idempotency {
            store::idempotency::store_in_tx(&tx, &idem.key, &(idem.render)(&results)).await?;
        }
        tx.commit().await.map_err(store::StoreError::from)?;
        store::fault::point(store::fault::AFTER_COMMIT);
        Ok((results, stored))
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

/// A bulk booking the caller could not build (malformed): its result, as the store carries it.
fn invalid_item(e: AppError) -> store::StoreError {
    match e {
        AppError::Invalid {
            code,
            message,
            field,
        } => store::StoreError::Invalid {
            code,
            message,
            field,
        },
        other => store::StoreError::Internal(other.to_string()),
    }
}
