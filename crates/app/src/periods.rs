//! Periods: list and read them, soft lock, reopen, request a lock, approve it (four eyes,
//! closing hash), cancel the request; the closings.
//!
//! The rules are the `periods` crate's (`transition`, `check_lock_order`, `check_four_eyes`,
//! `check_request_pending`, `check_is_pending_request`) and the closing hash is `journal`'s
//! (`chain::closing_hash`); `store::periods` loads the state and writes the decided one. Every
//! change first takes the tenant's journal head row lock (`store::periods::lock_head`), so no
//! batch writes into the period while its state changes.

use crate::{App, AppError, AppResult};
use chrono::{DateTime, SubsecRound, Utc};
use journal::chain::{closing_hash, ZERO_HASH};
use journal::{Actor, PeriodId};
use periods::{
    check_four_eyes, check_is_pending_request, check_lock_order, check_request_pending, transition,
    PeriodAction, PeriodStatus, RequestStatus,
};
pub use store::journal::StoredEvent;
use store::periods::{self as db, principal_label, NewClosing, PeriodState, StateChange};
pub use store::periods::{ClosingRecord, LockRequest, PeriodView};
use store::Transaction;
use uuid::Uuid;

/// An approved lock: the period as it is now, and who approved which request.
#[derive(Debug, Clone)]
pub struct Closing {
    pub view: PeriodView,
    pub request_id: Uuid,
    pub approved_by: String,
}

impl App {
    /// `GET /v1/periods`: one fiscal year, or every fiscal year with bookings or period
    /// states plus the current one.
    pub async fn list_periods(
        &self,
        tenant_id: Uuid,
        fiscal_year: Option<i32>,
    ) -> AppResult<Vec<PeriodView>> {
        Ok(self
            .store()
            .list_periods(tenant_id, fiscal_year, self.today())
            .await?)
    }

    pub async fn get_period(&self, tenant_id: Uuid, period: PeriodId) -> AppResult<PeriodView> {
        Ok(self.store().get_period(tenant_id, period).await?)
    }

    /// `GET /v1/periods/{period}/lock/status`.
    pub async fn pending_lock_request(
        &self,
        tenant_id: Uuid,
        period: PeriodId,
    ) -> AppResult<Option<LockRequest>> {
        Ok(self.store().pending_lock_request(tenant_id, period).await?)
    }

    /// The closings of a tenant in lock order (what `kontor verify` checks).
    pub async fn closings(&self, tenant_id: Uuid) -> AppResult<Vec<ClosingRecord>> {
        Ok(self.store().closings(tenant_id).await?)
    }

    /// open → soft_locked: bookings are refused, the period can still be reopened.
    pub async fn soft_lock_period(
        &self,
        tenant_id: Uuid,
        period: PeriodId,
        actor: &Actor,
    ) -> AppResult<PeriodView> {
        self.in_transaction(async |tx| {
            self.soft_lock_period_in_tx(tx, tenant_id, period, actor)
                .await
        })
        .await
    }

    pub async fn soft_lock_period_in_tx(
        &self,
        tx: &Transaction<'_>,
        tenant_id: Uuid,
        period: PeriodId,
        actor: &Actor,
    ) -> AppResult<PeriodView> {
        self.simple_transition_in_tx(tx, tenant_id, period, PeriodAction::SoftLock, actor)
            .await
    }

    /// soft_locked → open.
    pub async fn reopen_period(
        &self,
        tenant_id: Uuid,
        period: PeriodId,
        actor: &Actor,
    ) -> AppResult<PeriodView> {
        self.in_transaction(async |tx| self.reopen_period_in_tx(tx, tenant_id, period, actor).await)
            .await
    }

    pub async fn reopen_period_in_tx(
        &self,
        tx: &Transaction<'_>,
        tenant_id: Uuid,
        period: PeriodId,
        actor: &Actor,
    ) -> AppResult<PeriodView> {
        self.simple_transition_in_tx(tx, tenant_id, period, PeriodAction::Reopen, actor)
            .await
    }

    async fn simple_transition_in_tx(
        &self,
        tx: &Transaction<'_>,
        tenant_id: Uuid,
        period: PeriodId,
        action: PeriodAction,
        actor: &Actor,
    ) -> AppResult<PeriodView> {
        let calendar = self.tenant_info(tenant_id).await?.calendar;
        let label = principal_label(actor);
        let now = now_micros(self.now());
        db::lock_head(tx, tenant_id).await?;
        let state = db::load_state(tx, tenant_id, period).await?;
        let to = transition(period, state.status, action, None)?;
        // A soft lock records who closed the period for bookings and when.
        let new = match to {
            PeriodStatus::SoftLocked => PeriodState {
                status: to,
                locked_by: Some(label.clone()),
                locked_at: Some(now),
                ..PeriodState::default()
            },
            _ => PeriodState {
                status: to,
                ..PeriodState::default()
            },
        };
        let change = StateChange {
            tenant_id,
            period,
            action,
            from: state.status,
            to: &new,
            request_id: None,
            actor: &label,
            at: now,
        };
        db::write_state(tx, &change).await?;
        let event = match action {
            PeriodAction::SoftLock => webhooks::EventType::PeriodSoftLocked,
            _ => webhooks::EventType::PeriodReopened,
        };
        crate::webhooks::emit(
            tx,
            tenant_id,
            event,
            period_event(period, to.as_str(), &label, now, None, None),
        )
        .await?;
        Ok(PeriodView::new(calendar, period, new))
    }

    /// Requests the lock of a period (open or soft-locked, every earlier period of its fiscal
    /// year locked). Bookings into it are refused from now on.
    pub async fn request_period_lock(
        &self,
        tenant_id: Uuid,
        period: PeriodId,
        actor: &Actor,
    ) -> AppResult<LockRequest> {
        self.in_transaction(async |tx| {
            self.request_period_lock_in_tx(tx, tenant_id, period, actor)
                .await
        })
        .await
    }

    pub async fn request_period_lock_in_tx(
        &self,
        tx: &Transaction<'_>,
        tenant_id: Uuid,
        period: PeriodId,
        actor: &Actor,
    ) -> AppResult<LockRequest> {
        let label = principal_label(actor);
        let now = now_micros(self.now());
        db::lock_head(tx, tenant_id).await?;
        let state = db::load_state(tx, tenant_id, period).await?;
        let to = transition(period, state.status, PeriodAction::RequestLock, None)?;
        let statuses = db::load_year_statuses(tx, tenant_id, period.fiscal_year).await?;
        check_lock_order(period, |p| statuses.get(&p).copied().unwrap_or_default())?;
        let request = LockRequest {
            id: Uuid::now_v7(),
            period,
            status: RequestStatus::Pending,
            requested_by: label.clone(),
            created_at: now,
        };
        db::insert_lock_request(tx, tenant_id, &request).await?;
        // Who soft-locked the period stays recorded until the lock is approved.
        let new = PeriodState {
            status: to,
            before_request: Some(state.status),
            request_id: Some(request.id),
            locked_by: state.locked_by,
            locked_at: state.locked_at,
            closing_hash: None,
        };
        let action = PeriodAction::RequestLock;
        let change = StateChange {
            tenant_id,
            period,
            action,
            from: state.status,
            to: &new,
            request_id: Some(request.id),
            actor: &label,
            at: now,
        };
        db::write_state(tx, &change).await?;
        crate::webhooks::emit(
            tx,
            tenant_id,
            webhooks::EventType::PeriodLockRequested,
            period_event(period, to.as_str(), &label, now, Some(request.id), None),
        )
        .await?;
        Ok(request)
    }

    /// Approves a pending lock request (by a different principal than its requester) and
    /// stores the closing hash over the period's events, chained from the previous closing.
    pub async fn approve_period_lock(
        &self,
        tenant_id: Uuid,
        period: PeriodId,
        request_id: Uuid,
        actor: &Actor,
    ) -> AppResult<Closing> {
        self.in_transaction(async |tx| {
            self.approve_period_lock_in_tx(tx, tenant_id, period, request_id, actor)
                .await
        })
        .await
    }

    pub async fn approve_period_lock_in_tx(
        &self,
        tx: &Transaction<'_>,
        tenant_id: Uuid,
        period: PeriodId,
        request_id: Uuid,
        actor: &Actor,
    ) -> AppResult<Closing> {
        let calendar = self.tenant_info(tenant_id).await?.calendar;
        let label = principal_label(actor);
        let now = now_micros(self.now());
        db::lock_head(tx, tenant_id).await?;
        let mut request = pending_request(tx, tenant_id, period, request_id).await?;
        let state = db::load_state(tx, tenant_id, period).await?;
        let to = transition(period, state.status, PeriodAction::Approve, None)?;
        let statuses = db::load_year_statuses(tx, tenant_id, period.fiscal_year).await?;
        check_lock_order(period, |p| statuses.get(&p).copied().unwrap_or_default())?;
        check_four_eyes(period, &request.requested_by, &label)?;

        let previous = db::last_closing(tx, tenant_id).await?;
        let (previous_period, previous_hash, lock_seq) = match &previous {
            None => (None, ZERO_HASH, 1),
            Some(c) => (Some(c.period), c.closing_hash, c.lock_seq + 1),
        };
        let hashes = db::event_hashes(tx, tenant_id, period).await?;
        let hash = closing_hash(&previous_hash, &period.to_string(), &hashes);
        request.status = RequestStatus::Approved;
        let closing = NewClosing {
            period,
            lock_seq,
            previous_period,
            previous_closing_hash: previous_hash,
            closing_hash: hash,
            event_count: hashes.len() as i64,
            request,
            approved_by: label.clone(),
            locked_at: now,
        };
        db::insert_closing(tx, tenant_id, &closing).await?;
        // Once locked, `locked_by` names the lock's requester.
        let new = PeriodState {
            status: to,
            before_request: None,
            request_id: Some(request_id),
            locked_by: Some(closing.request.requested_by.clone()),
            locked_at: Some(now),
            closing_hash: Some(hash.to_vec()),
        };
        let action = PeriodAction::Approve;
        let change = StateChange {
            tenant_id,
            period,
            action,
            from: state.status,
            to: &new,
            request_id: Some(request_id),
            actor: &label,
            at: now,
        };
        db::write_state(tx, &change).await?;
        db::decide_request(
            tx,
            tenant_id,
            request_id,
            RequestStatus::Approved,
            &label,
            now,
        )
        .await?;
        crate::webhooks::emit(
            tx,
            tenant_id,
            webhooks::EventType::PeriodLocked,
            period_event(
                period,
                to.as_str(),
                &label,
                now,
                Some(request_id),
                Some(hex::encode(hash)),
            ),
        )
        .await?;
        Ok(Closing {
            view: PeriodView::new(calendar, period, new),
            request_id,
            approved_by: label,
        })
    }

    /// Cancels the pending lock request; the period returns to the state it had before.
    pub async fn cancel_period_lock(
        &self,
        tenant_id: Uuid,
        period: PeriodId,
        request_id: Uuid,
        actor: &Actor,
    ) -> AppResult<LockRequest> {
        self.in_transaction(async |tx| {
            self.cancel_period_lock_in_tx(tx, tenant_id, period, request_id, actor)
                .await
        })
        .await
    }

    pub async fn cancel_period_lock_in_tx(
        &self,
        tx: &Transaction<'_>,
        tenant_id: Uuid,
        period: PeriodId,
        request_id: Uuid,
        actor: &Actor,
    ) -> AppResult<LockRequest> {
        let label = principal_label(actor);
        let now = now_micros(self.now());
        db::lock_head(tx, tenant_id).await?;
        let mut request = pending_request(tx, tenant_id, period, request_id).await?;
        let state = db::load_state(tx, tenant_id, period).await?;
        check_is_pending_request(request_id, state.request_id)?;
        let to = transition(
            period,
            state.status,
            PeriodAction::Cancel,
            state.before_request,
        )?;
        // Back to soft_locked keeps who soft-locked it; back to open clears the row.
        let new = match to {
            PeriodStatus::Open => PeriodState::default(),
            _ => PeriodState {
                status: to,
                before_request: None,
                request_id: Some(request_id),
                locked_by: state.locked_by,
                locked_at: state.locked_at,
                closing_hash: None,
            },
        };
        let action = PeriodAction::Cancel;
        let change = StateChange {
            tenant_id,
            period,
            action,
            from: state.status,
            to: &new,
            request_id: Some(request_id),
            actor: &label,
            at: now,
        };
        db::write_state(tx, &change).await?;
        db::decide_request(
            tx,
            tenant_id,
            request_id,
            RequestStatus::Cancelled,
            &label,
            now,
        )
        .await?;
        request.status = RequestStatus::Cancelled;
        Ok(request)
    }
}

/// The time as the database keeps it (microseconds), so that what a use case returns is what a
/// later read shows.
fn now_micros(now: DateTime<Utc>) -> DateTime<Utc> {
    now.trunc_subsecs(6)
}

/// The lock request `id` of `period`, locked for the transaction, if it is still pending.
async fn pending_request(
    tx: &Transaction<'_>,
    tenant_id: Uuid,
    period: PeriodId,
    id: Uuid,
) -> AppResult<LockRequest> {
    let request = db::load_request_for_update(tx, tenant_id, id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("lock request {id}")))?;
    if request.period != period {
        return Err(AppError::not_found(format!(
            "lock request {id} of period {period}"
        )));
    }
    check_request_pending(id, request.status)?;
    Ok(request)
}

/// The payload (version 1) of the period events.
fn period_event(
    period: PeriodId,
    status: &str,
    actor: &str,
    at: chrono::DateTime<chrono::Utc>,
    request_id: Option<Uuid>,
    closing_hash: Option<String>,
) -> serde_json::Value {
    serde_json::json!({
        "period": period.to_string(),
        "fiscal_year": period.fiscal_year,
        "period_number": period.number,
        "status": status,
        "actor": actor,
        "at": crate::webhooks::rfc3339(at),
        "request_id": request_id,
        "closing_hash": closing_hash,
    })
}
