//! Period states, lock requests and closings: loads and writes only.
//!
//! The rules (transitions, lock order, four eyes, which request may be decided) are the
//! `periods` crate's, the closing hash is `journal`'s, and `app::periods` puts them together.
//! Every state change runs in a transaction that first takes the tenant's journal head row
//! lock (`lock_head`), the same lock appends take, so a period cannot change state while a
//! batch that books into it is being written, and a closing hash covers exactly the events the
//! period will ever have.

use crate::{Store, StoreError, Transaction};
use chrono::{DateTime, NaiveDate, Utc};
use journal::chain::Hash32;
use journal::{Actor, FiscalCalendar, PeriodId};
use periods::{PeriodAction, PeriodError, PeriodStatus, RequestStatus};
use std::collections::{BTreeSet, HashMap};
use tokio_postgres::Row;
use uuid::Uuid;

/// How a principal is named in period records: `api_key:<id>` or `user:<id>`.
pub fn principal_label(actor: &Actor) -> String {
    format!("{}:{}", actor.kind, actor.id)
}

/// A constraint of the period tables refused a change: the rule it backs, as a conflict.
impl From<PeriodError> for StoreError {
    fn from(e: PeriodError) -> StoreError {
        StoreError::conflict(e.code(), e.to_string())
    }
}

/// The stored state of a period (`period_states`); a period without a row is open.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeriodState {
    pub status: PeriodStatus,
    /// The status the period had when its pending lock was requested.
    pub before_request: Option<PeriodStatus>,
    /// The lock request the state belongs to.
    pub request_id: Option<Uuid>,
    /// Who closed the period: the soft-locker, or once locked the lock's requester.
    pub locked_by: Option<String>,
    pub locked_at: Option<DateTime<Utc>>,
    pub closing_hash: Option<Vec<u8>>,
}

const STATE_COLUMNS: &str =
    "period, status, status_before_request, request_id, locked_by, locked_at, closing_hash";

impl PeriodState {
    fn from_row(r: &Row) -> Result<PeriodState, StoreError> {
        Ok(PeriodState {
            status: status(r.get("status"))?,
            before_request: r
                .get::<_, Option<&str>>("status_before_request")
                .map(status)
                .transpose()?,
            request_id: r.get("request_id"),
            locked_by: r.get("locked_by"),
            locked_at: r.get("locked_at"),
            closing_hash: r.get("closing_hash"),
        })
    }
}

fn status(text: &str) -> Result<PeriodStatus, StoreError> {
    PeriodStatus::parse(text).ok_or_else(|| StoreError::Internal(format!("period status {text:?}")))
}

fn period_id(text: &str) -> Result<PeriodId, StoreError> {
    text.parse()
        .map_err(|_| StoreError::Internal(format!("stored period {text:?}")))
}

fn hash32(bytes: Vec<u8>, what: &str) -> Result<Hash32, StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Internal(format!("stored {what} length")))
}

/// A period as `GET /v1/periods` shows it: its calendar bounds and its state.
#[derive(Debug, Clone)]
pub struct PeriodView {
    pub period: PeriodId,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub status: PeriodStatus,
    /// The principal that requested the lock (set once locked).
    pub locked_by: Option<String>,
    pub locked_at: Option<DateTime<Utc>>,
    pub closing_hash: Option<Vec<u8>>,
}

impl PeriodView {
    pub fn new(calendar: FiscalCalendar, period: PeriodId, state: PeriodState) -> PeriodView {
        let (start_date, end_date) = calendar.bounds(period);
        PeriodView {
            period,
            start_date,
            end_date,
            status: state.status,
            locked_by: state.locked_by,
            locked_at: state.locked_at,
            closing_hash: state.closing_hash,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockRequest {
    pub id: Uuid,
    pub period: PeriodId,
    pub status: RequestStatus,
    pub requested_by: String,
    pub created_at: DateTime<Utc>,
}

const REQUEST_COLUMNS: &str = "id, period, status, requested_by, created_at";

impl LockRequest {
    fn from_row(r: &Row) -> Result<LockRequest, StoreError> {
        let s: &str = r.get("status");
        Ok(LockRequest {
            id: r.get("id"),
            period: period_id(r.get("period"))?,
            status: RequestStatus::parse(s)
                .ok_or_else(|| StoreError::Internal(format!("lock request status {s:?}")))?,
            requested_by: r.get("requested_by"),
            created_at: r.get("created_at"),
        })
    }
}

/// The closing a lock approval writes (`period_closings`).
#[derive(Debug, Clone)]
pub struct NewClosing {
    pub period: PeriodId,
    pub lock_seq: i32,
    pub previous_period: Option<PeriodId>,
    pub previous_closing_hash: Hash32,
    pub closing_hash: Hash32,
    pub event_count: i64,
    pub request: LockRequest,
    pub approved_by: String,
    pub locked_at: DateTime<Utc>,
}

/// The latest closing of a tenant, which the next one chains from.
#[derive(Debug, Clone)]
pub struct LastClosing {
    pub period: PeriodId,
    pub lock_seq: i32,
    pub closing_hash: Hash32,
}

impl LastClosing {
    fn from_row(r: &Row) -> Result<LastClosing, StoreError> {
        Ok(LastClosing {
            period: period_id(r.get("period"))?,
            lock_seq: r.get("lock_seq"),
            closing_hash: hash32(r.get("closing_hash"), "closing hash")?,
        })
    }
}

/// A stored closing, as `kontor verify` reads it.
#[derive(Debug, Clone)]
pub struct ClosingRecord {
    pub period: String,
    pub lock_seq: i32,
    pub previous_closing_hash: Vec<u8>,
    pub closing_hash: Vec<u8>,
    pub event_count: i64,
    /// What `GET /v1/periods` shows for the period (period_states.closing_hash).
    pub shown_closing_hash: Option<Vec<u8>>,
}

impl ClosingRecord {
    fn from_row(r: &Row) -> ClosingRecord {
        ClosingRecord {
            period: r.get("period"),
            lock_seq: r.get("lock_seq"),
            previous_closing_hash: r.get("previous_closing_hash"),
            closing_hash: r.get("closing_hash"),
            event_count: r.get("event_count"),
            shown_closing_hash: r.get("shown_closing_hash"),
        }
    }
}

/// A decided state change: what `write_state` writes. `to` is the period's whole new state
/// (an open period's row is deleted); the change is recorded in `period_events`.
#[derive(Debug, Clone)]
pub struct StateChange<'a> {
    pub tenant_id: Uuid,
    pub period: PeriodId,
    pub action: PeriodAction,
    pub from: PeriodStatus,
    pub to: &'a PeriodState,
    /// The lock request the change is about, for the record (also when the new state, open,
    /// has no row to keep it in).
    pub request_id: Option<Uuid>,
    pub actor: &'a str,
    pub at: DateTime<Utc>,
}

/// Takes the tenant's journal head row lock for the rest of the transaction: no batch writes
/// while a period's state (or the tenant's settings) changes. It also bumps the head's `epoch`
/// (schema/0018): an appender that decided a batch before this change from the head it keeps
/// in memory fails its compare-and-set when this commits, and decides that batch again.
pub async fn lock_head(tx: &Transaction<'_>, tenant_id: Uuid) -> Result<(), StoreError> {
    tx.query_one(
        "UPDATE journal_heads SET epoch = epoch + 1 WHERE tenant_id = $1 RETURNING 1",
        &[&tenant_id],
    )
    .await?;
    Ok(())
}

/// The stored state of `period` (open when there is no row).
pub async fn load_state(
    tx: &Transaction<'_>,
    tenant_id: Uuid,
    period: PeriodId,
) -> Result<PeriodState, StoreError> {
    let row = tx
        .query_opt(
            &format!(
                "SELECT {STATE_COLUMNS} FROM period_states WHERE tenant_id = $1 AND period = $2"
            ),
            &[&tenant_id, &period.to_string()],
        )
        .await?;
    row.as_ref()
        .map(PeriodState::from_row)
        .transpose()
        .map(Option::unwrap_or_default)
}

/// The statuses of the periods of `fiscal_year` that are not open.
pub async fn load_year_statuses(
    tx: &Transaction<'_>,
    tenant_id: Uuid,
    fiscal_year: i32,
) -> Result<HashMap<PeriodId, PeriodStatus>, StoreError> {
    let rows = tx
        .query(
            &format!(
                "SELECT {STATE_COLUMNS} FROM period_states WHERE tenant_id = $1 AND period LIKE $2"
            ),
            &[&tenant_id, &format!("{fiscal_year:04}-%")],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                period_id(r.get("period"))?,
                PeriodState::from_row(r)?.status,
            ))
        })
        .collect()
}

/// Writes a decided state change and records it in `period_events`.
pub async fn write_state(tx: &Transaction<'_>, change: &StateChange<'_>) -> Result<(), StoreError> {
    let p = change.period.to_string();
    let to = change.to;
    if to.status == PeriodStatus::Open {
        tx.execute(
            "DELETE FROM period_states WHERE tenant_id = $1 AND period = $2",
            &[&change.tenant_id, &p],
        )
        .await
        .map_err(|e| translate(e, change.period))?;
    } else {
        tx.execute(
            "INSERT INTO period_states (tenant_id, period, status, request_id, status_before_request, updated_at,
                    locked_by, locked_at, closing_hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (tenant_id, period) DO UPDATE
                SET status = EXCLUDED.status, request_id = EXCLUDED.request_id,
                    status_before_request = EXCLUDED.status_before_request, updated_at = EXCLUDED.updated_at,
                    locked_by = EXCLUDED.locked_by, locked_at = EXCLUDED.locked_at,
                    closing_hash = EXCLUDED.closing_hash",
            &[
                &change.tenant_id,
                &p,
                &to.status.as_str(),
                &to.request_id,
                &to.before_request.map(|s| s.as_str()),
                &change.at,
                &to.locked_by,
                &to.locked_at,
                &to.closing_hash,
            ],
        )
        .await
        .map_err(|e| translate(e, change.period))?;
    }
    tx.execute(
        "INSERT INTO period_events (tenant_id, id, period, action, from_status, to_status, request_id, actor, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &change.tenant_id,
            &Uuid::now_v7(),
            &p,
            &change.action.as_str(),
            &change.from.as_str(),
            &to.status.as_str(),
            &change.request_id,
            &change.actor,
            &change.at,
        ],
    )
    .await?;
    Ok(())
}

/// `kontor_locked_period_is_final()` refused a change of a locked period's row.
fn translate(e: tokio_postgres::Error, period: PeriodId) -> StoreError {
    let final_period = e.as_db_error().is_some_and(|d| {
        d.where_()
            .is_some_and(|w| w.contains("kontor_locked_period_is_final"))
    });
    if final_period {
        StoreError::from(PeriodError::Final { period })
    } else {
        StoreError::Db(e)
    }
}

pub async fn insert_lock_request(
    tx: &Transaction<'_>,
    tenant_id: Uuid,
    r: &LockRequest,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO period_lock_requests (tenant_id, id, period, status, requested_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &tenant_id,
            &r.id,
            &r.period.to_string(),
            &r.status.as_str(),
            &r.requested_by,
            &r.created_at,
        ],
    )
    .await
    .map_err(|e| {
        // One pending request per period (`period_lock_requests_pending`).
        let err = StoreError::Db(e);
        if err.is_unique_violation() {
            StoreError::from(PeriodError::InvalidTransition {
                period: r.period,
                from: PeriodStatus::LockRequested,
                action: PeriodAction::RequestLock.as_str(),
            })
        } else {
            err
        }
    })?;
    Ok(())
}

/// A lock request of the tenant, locked for the rest of the transaction.
pub async fn load_request_for_update(
    tx: &Transaction<'_>,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<LockRequest>, StoreError> {
    tx.query_opt(
        &format!("SELECT {REQUEST_COLUMNS} FROM period_lock_requests WHERE tenant_id = $1 AND id = $2 FOR UPDATE"),
        &[&tenant_id, &id],
    )
    .await?
    .as_ref()
    .map(LockRequest::from_row)
    .transpose()
}

/// Records the decision on a lock request.
pub async fn decide_request(
    tx: &Transaction<'_>,
    tenant_id: Uuid,
    id: Uuid,
    status: RequestStatus,
    decided_by: &str,
    decided_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE period_lock_requests SET status = $3, decided_by = $4, decided_at = $5 WHERE tenant_id = $1 AND id = $2",
        &[&tenant_id, &id, &status.as_str(), &decided_by, &decided_at],
    )
    .await?;
    Ok(())
}

/// The tenant's latest closing, if any.
pub async fn last_closing(
    tx: &Transaction<'_>,
    tenant_id: Uuid,
) -> Result<Option<LastClosing>, StoreError> {
    tx.query_opt(
        "SELECT period, lock_seq, closing_hash FROM period_closings WHERE tenant_id = $1 ORDER BY lock_seq DESC LIMIT 1",
        &[&tenant_id],
    )
    .await?
    .as_ref()
    .map(LastClosing::from_row)
    .transpose()
}

/// The hashes of the period's events in chain order.
pub async fn event_hashes(
    tx: &Transaction<'_>,
    tenant_id: Uuid,
    period: PeriodId,
) -> Result<Vec<Hash32>, StoreError> {
    tx.query(
        "SELECT hash FROM journal_events WHERE tenant_id = $1 AND period = $2 ORDER BY seq",
        &[&tenant_id, &period.to_string()],
    )
    .await?
    .into_iter()
    .map(|r| hash32(r.get(0), "event hash"))
    .collect()
}

pub async fn insert_closing(
    tx: &Transaction<'_>,
    tenant_id: Uuid,
    c: &NewClosing,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO period_closings (tenant_id, period, lock_seq, previous_period, previous_closing_hash, closing_hash,
                event_count, request_id, requested_by, approved_by, locked_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &tenant_id,
            &c.period.to_string(),
            &c.lock_seq,
            &c.previous_period.map(|p| p.to_string()),
            &c.previous_closing_hash.as_slice(),
            &c.closing_hash.as_slice(),
            &c.event_count,
            &c.request.id,
            &c.request.requested_by,
            &c.approved_by,
            &c.locked_at,
        ],
    )
    .await
    .map_err(|e| {
        // `approved_by <> requested_by`: four eyes, again in the database.
        let four_eyes = e.code() == Some(&tokio_postgres::error::SqlState::CHECK_VIOLATION)
            && e.as_db_error()
                .and_then(|d| d.constraint())
                .is_some_and(|c| c == "period_closings_check");
        if four_eyes {
            StoreError::from(PeriodError::FourEyes {
                period: c.period,
                requested_by: c.request.requested_by.clone(),
            })
        } else {
            StoreError::Db(e)
        }
    })?;
    Ok(())
}

impl Store {
    /// The periods of one fiscal year, or of every fiscal year that has bookings or period
    /// states plus the one `today` falls in.
    pub async fn list_periods(
        &self,
        tenant_id: Uuid,
        fiscal_year: Option<i32>,
        today: NaiveDate,
    ) -> Result<Vec<PeriodView>, StoreError> {
        let calendar = self.tenant_info(tenant_id).await?.calendar;
        let client = self.client().await?;
        let years: BTreeSet<i32> = match fiscal_year {
            Some(y) => [y].into(),
            None => {
                let rows = client
                    .query(
                        "SELECT DISTINCT left(period, 4) FROM intents WHERE tenant_id = $1
                         UNION SELECT DISTINCT left(period, 4) FROM period_states WHERE tenant_id = $1",
                        &[&tenant_id],
                    )
                    .await?;
                let mut years: BTreeSet<i32> = rows
                    .iter()
                    .filter_map(|r| r.get::<_, String>(0).parse().ok())
                    .collect();
                years.insert(calendar.fiscal_year_of(today));
                years
            }
        };
        let rows = client
            .query(
                &format!("SELECT {STATE_COLUMNS} FROM period_states WHERE tenant_id = $1"),
                &[&tenant_id],
            )
            .await?;
        let mut by_period: HashMap<PeriodId, PeriodState> = rows
            .iter()
            .map(|r| Ok((period_id(r.get("period"))?, PeriodState::from_row(r)?)))
            .collect::<Result<_, StoreError>>()?;
        Ok(years
            .into_iter()
            .flat_map(|y| calendar.periods_of_year(y))
            .map(|p| PeriodView::new(calendar, p, by_period.remove(&p).unwrap_or_default()))
            .collect())
    }

    pub async fn get_period(
        &self,
        tenant_id: Uuid,
        period: PeriodId,
    ) -> Result<PeriodView, StoreError> {
        let calendar = self.tenant_info(tenant_id).await?.calendar;
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {STATE_COLUMNS} FROM period_states WHERE tenant_id = $1 AND period = $2"),
                &[&tenant_id, &period.to_string()],
            )
            .await?;
        let state = row.as_ref().map(PeriodState::from_row).transpose()?;
        Ok(PeriodView::new(calendar, period, state.unwrap_or_default()))
    }

    /// The pending lock request of a period, if any.
    pub async fn pending_lock_request(
        &self,
        tenant_id: Uuid,
        period: PeriodId,
    ) -> Result<Option<LockRequest>, StoreError> {
        let client = self.client().await?;
        client
            .query_opt(
                &format!("SELECT {REQUEST_COLUMNS} FROM period_lock_requests WHERE tenant_id = $1 AND period = $2 AND status = 'pending'"),
                &[&tenant_id, &period.to_string()],
            )
            .await?
            .as_ref()
            .map(LockRequest::from_row)
            .transpose()
    }

    /// The closings of a tenant in lock order.
    pub async fn closings(&self, tenant_id: Uuid) -> Result<Vec<ClosingRecord>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT c.period, c.lock_seq, c.previous_closing_hash, c.closing_hash, c.event_count,
                        s.closing_hash AS shown_closing_hash
                   FROM period_closings c
                   LEFT JOIN period_states s ON s.tenant_id = c.tenant_id AND s.period = c.period
                  WHERE c.tenant_id = $1 ORDER BY c.lock_seq",
                &[&tenant_id],
            )
            .await?;
        Ok(rows.iter().map(ClosingRecord::from_row).collect())
    }
}
