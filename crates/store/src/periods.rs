//! Period states, lock requests under four eyes, and closing hashes.
//!
//! Every state change takes the tenant's journal head row lock first, the same lock appends
//! take, so a period cannot close while a batch that books into it is being written, and a
//! closing hash always covers exactly the events the period will ever have.

use crate::{Store, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use journal::chain::{closing_hash, Hash32, ZERO_HASH};
use journal::{Actor, FiscalCalendar, PeriodId};
use periods::{
    check_four_eyes, check_lock_order, transition, PeriodAction, PeriodError, PeriodStatus,
};
use std::collections::{BTreeSet, HashMap};
use uuid::Uuid;

/// How a principal is named in period records: `api_key:<id>` or `user:<id>`.
pub fn principal_label(actor: &Actor) -> String {
    format!("{}:{}", actor.kind, actor.id)
}

impl From<PeriodError> for StoreError {
    fn from(e: PeriodError) -> StoreError {
        StoreError::conflict(e.code(), e.to_string())
    }
}

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

#[derive(Debug, Clone)]
pub struct LockRequest {
    pub id: Uuid,
    pub period: PeriodId,
    pub status: String,
    pub requested_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Closing {
    pub view: PeriodView,
    pub request_id: Uuid,
    pub approved_by: String,
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

struct CurrentState {
    status: PeriodStatus,
    before_request: Option<PeriodStatus>,
    request_id: Option<Uuid>,
}

type Tx<'a> = deadpool_postgres::Transaction<'a>;

async fn lock_head(tx: &Tx<'_>, tenant_id: Uuid) -> Result<(), StoreError> {
    tx.query_one(
        "SELECT 1 FROM journal_heads WHERE tenant_id = $1 FOR UPDATE",
        &[&tenant_id],
    )
    .await?;
    Ok(())
}

async fn current_state(
    tx: &Tx<'_>,
    tenant_id: Uuid,
    period: PeriodId,
) -> Result<CurrentState, StoreError> {
    let row = tx
        .query_opt(
            "SELECT status, status_before_request, request_id FROM period_states WHERE tenant_id = $1 AND period = $2",
            &[&tenant_id, &period.to_string()],
        )
        .await?;
    Ok(match row {
        None => CurrentState {
            status: PeriodStatus::Open,
            before_request: None,
            request_id: None,
        },
        Some(r) => CurrentState {
            status: PeriodStatus::parse(r.get(0)).unwrap_or(PeriodStatus::Locked),
            before_request: r.get::<_, Option<&str>>(1).and_then(PeriodStatus::parse),
            request_id: r.get(2),
        },
    })
}

async fn year_states(
    tx: &Tx<'_>,
    tenant_id: Uuid,
    fiscal_year: i32,
) -> Result<HashMap<PeriodId, PeriodStatus>, StoreError> {
    let rows = tx
        .query(
            "SELECT period, status FROM period_states WHERE tenant_id = $1 AND period LIKE $2",
            &[&tenant_id, &format!("{fiscal_year:04}-%")],
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let p: PeriodId = r.get::<_, String>(0).parse().ok()?;
            Some((p, PeriodStatus::parse(r.get(1))?))
        })
        .collect())
}

#[allow(clippy::too_many_arguments)]
async fn write_state(
    tx: &Tx<'_>,
    tenant_id: Uuid,
    period: PeriodId,
    from: PeriodStatus,
    to: PeriodStatus,
    action: PeriodAction,
    request_id: Option<Uuid>,
    before_request: Option<PeriodStatus>,
    actor: &str,
    now: DateTime<Utc>,
    lock: Option<(&str, Option<&[u8]>)>,
) -> Result<(), StoreError> {
    let p = period.to_string();
    let (locked_by, locked_at, closing) = match lock {
        Some((by, hash)) => (Some(by), Some(now), hash),
        None => (None, None, None),
    };
    if to == PeriodStatus::Open {
        tx.execute(
            "DELETE FROM period_states WHERE tenant_id = $1 AND period = $2",
            &[&tenant_id, &p],
        )
        .await?;
    } else {
        tx.execute(
            "INSERT INTO period_states (tenant_id, period, status, request_id, status_before_request, updated_at,
                    locked_by, locked_at, closing_hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (tenant_id, period) DO UPDATE
                SET status = EXCLUDED.status, request_id = EXCLUDED.request_id,
                    status_before_request = EXCLUDED.status_before_request, updated_at = EXCLUDED.updated_at,
                    locked_by = coalesce(EXCLUDED.locked_by, period_states.locked_by),
                    locked_at = coalesce(EXCLUDED.locked_at, period_states.locked_at),
                    closing_hash = EXCLUDED.closing_hash",
            &[
                &tenant_id,
                &p,
                &to.as_str(),
                &request_id,
                &before_request.map(|s| s.as_str()),
                &now,
                &locked_by,
                &locked_at,
                &closing,
            ],
        )
        .await?;
    }
    tx.execute(
        "INSERT INTO period_events (tenant_id, id, period, action, from_status, to_status, request_id, actor, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[&tenant_id, &Uuid::now_v7(), &p, &action.as_str(), &from.as_str(), &to.as_str(), &request_id, &actor, &now],
    )
    .await?;
    Ok(())
}

fn view(
    calendar: FiscalCalendar,
    period: PeriodId,
    row: Option<&tokio_postgres::Row>,
) -> PeriodView {
    let (start_date, end_date) = calendar.bounds(period);
    match row {
        None => PeriodView {
            period,
            start_date,
            end_date,
            status: PeriodStatus::Open,
            locked_by: None,
            locked_at: None,
            closing_hash: None,
        },
        Some(r) => PeriodView {
            period,
            start_date,
            end_date,
            status: PeriodStatus::parse(r.get("status")).unwrap_or(PeriodStatus::Locked),
            locked_by: r.get("locked_by"),
            locked_at: r.get("locked_at"),
            closing_hash: r.get("closing_hash"),
        },
    }
}

fn request_from_row(r: &tokio_postgres::Row) -> Result<LockRequest, StoreError> {
    let period: String = r.get("period");
    Ok(LockRequest {
        id: r.get("id"),
        period: period
            .parse()
            .map_err(|_| StoreError::Internal(format!("stored period {period:?}")))?,
        status: r.get("status"),
        requested_by: r.get("requested_by"),
        created_at: r.get("created_at"),
    })
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
        let info = self.tenant_info(tenant_id).await?;
        let calendar = info.calendar;
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
                "SELECT period, status, locked_by, locked_at, closing_hash FROM period_states WHERE tenant_id = $1",
                &[&tenant_id],
            )
            .await?;
        let by_period: HashMap<String, &tokio_postgres::Row> =
            rows.iter().map(|r| (r.get::<_, String>(0), r)).collect();
        Ok(years
            .into_iter()
            .flat_map(|y| calendar.periods_of_year(y))
            .map(|p| view(calendar, p, by_period.get(&p.to_string()).copied()))
            .collect())
    }

    pub async fn get_period(
        &self,
        tenant_id: Uuid,
        period: PeriodId,
    ) -> Result<PeriodView, StoreError> {
        let info = self.tenant_info(tenant_id).await?;
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT period, status, locked_by, locked_at, closing_hash FROM period_states WHERE tenant_id = $1 AND period = $2",
                &[&tenant_id, &period.to_string()],
            )
            .await?;
        Ok(view(info.calendar, period, row.as_ref()))
    }

    async fn simple_transition(
        &self,
        tenant_id: Uuid,
        period: PeriodId,
        action: PeriodAction,
        actor: &Actor,
    ) -> Result<PeriodView, StoreError> {
        let label = principal_label(actor);
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        lock_head(&tx, tenant_id).await?;
        let state = current_state(&tx, tenant_id, period).await?;
        let to = transition(period, state.status, action, None)?;
        // A soft lock records who closed the period for bookings and when.
        let lock = (to == PeriodStatus::SoftLocked).then_some((label.as_str(), None));
        write_state(
            &tx,
            tenant_id,
            period,
            state.status,
            to,
            action,
            None,
            None,
            &label,
            Utc::now(),
            lock,
        )
        .await?;
        tx.commit().await?;
        self.get_period(tenant_id, period).await
    }

    /// open → soft_locked: bookings are refused, the period can still be reopened.
    pub async fn soft_lock_period(
        &self,
        tenant_id: Uuid,
        period: PeriodId,
        actor: &Actor,
    ) -> Result<PeriodView, StoreError> {
        self.simple_transition(tenant_id, period, PeriodAction::SoftLock, actor)
            .await
    }

    /// soft_locked → open.
    pub async fn reopen_period(
        &self,
        tenant_id: Uuid,
        period: PeriodId,
        actor: &Actor,
    ) -> Result<PeriodView, StoreError> {
        self.simple_transition(tenant_id, period, PeriodAction::Reopen, actor)
            .await
    }

    /// Requests the lock of a period (open or soft-locked, every earlier period of its fiscal
    /// year locked). Bookings into it are refused from now on.
    pub async fn request_period_lock(
        &self,
        tenant_id: Uuid,
        period: PeriodId,
        actor: &Actor,
    ) -> Result<LockRequest, StoreError> {
        let label = principal_label(actor);
        let now = Utc::now();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        lock_head(&tx, tenant_id).await?;
        let state = current_state(&tx, tenant_id, period).await?;
        let to = transition(period, state.status, PeriodAction::RequestLock, None)?;
        let states = year_states(&tx, tenant_id, period.fiscal_year).await?;
        check_lock_order(period, |p| {
            states.get(&p).copied().unwrap_or(PeriodStatus::Open)
        })?;
        let id = Uuid::now_v7();
        let row = tx
            .query_one(
                "INSERT INTO period_lock_requests (tenant_id, id, period, status, requested_by, created_at)
                 VALUES ($1, $2, $3, 'pending', $4, $5) RETURNING id, period, status, requested_by, created_at",
                &[&tenant_id, &id, &period.to_string(), &label, &now],
            )
            .await?;
        write_state(
            &tx,
            tenant_id,
            period,
            state.status,
            to,
            PeriodAction::RequestLock,
            Some(id),
            Some(state.status),
            &label,
            now,
            None,
        )
        .await?;
        tx.commit().await?;
        request_from_row(&row)
    }

    /// The pending lock request of a period, if any.
    pub async fn pending_lock_request(
        &self,
        tenant_id: Uuid,
        period: PeriodId,
    ) -> Result<Option<LockRequest>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT id, period, status, requested_by, created_at FROM period_lock_requests
                  WHERE tenant_id = $1 AND period = $2 AND status = 'pending'",
                &[&tenant_id, &period.to_string()],
            )
            .await?;
        row.as_ref().map(request_from_row).transpose()
    }

    async fn load_request(
        tx: &Tx<'_>,
        tenant_id: Uuid,
        period: PeriodId,
        id: Uuid,
    ) -> Result<LockRequest, StoreError> {
        let row = tx
            .query_opt(
                "SELECT id, period, status, requested_by, created_at FROM period_lock_requests
                  WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
                &[&tenant_id, &id],
            )
            .await?
            .ok_or_else(|| StoreError::not_found(format!("lock request {id}")))?;
        let request = request_from_row(&row)?;
        if request.period != period {
            return Err(StoreError::not_found(format!(
                "lock request {id} of period {period}"
            )));
        }
        if request.status != "pending" {
            return Err(StoreError::conflict(
                "request_not_pending",
                format!("lock request {id} is already {}", request.status),
            ));
        }
        Ok(request)
    }

    /// Approves a pending lock request (by a different principal) and stores the closing hash.
    pub async fn approve_period_lock(
        &self,
        tenant_id: Uuid,
        period: PeriodId,
        request_id: Uuid,
        actor: &Actor,
    ) -> Result<Closing, StoreError> {
        let label = principal_label(actor);
        let now = Utc::now();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        lock_head(&tx, tenant_id).await?;
        let request = Self::load_request(&tx, tenant_id, period, request_id).await?;
        let state = current_state(&tx, tenant_id, period).await?;
        let to = transition(period, state.status, PeriodAction::Approve, None)?;
        let states = year_states(&tx, tenant_id, period.fiscal_year).await?;
        check_lock_order(period, |p| {
            states.get(&p).copied().unwrap_or(PeriodStatus::Open)
        })?;
        check_four_eyes(period, &request.requested_by, &label)?;

        let previous = tx
            .query_opt(
                "SELECT period, closing_hash, lock_seq FROM period_closings WHERE tenant_id = $1 ORDER BY lock_seq DESC LIMIT 1",
                &[&tenant_id],
            )
            .await?;
        let (previous_period, previous_hash, lock_seq) = match &previous {
            None => (None, ZERO_HASH, 1),
            Some(r) => {
                let h: Vec<u8> = r.get(1);
                let h: Hash32 = h
                    .try_into()
                    .map_err(|_| StoreError::Internal("stored closing hash length".into()))?;
                (Some(r.get::<_, String>(0)), h, r.get::<_, i32>(2) + 1)
            }
        };
        let hashes: Vec<Hash32> = tx
            .query(
                "SELECT hash FROM journal_events WHERE tenant_id = $1 AND period = $2 ORDER BY seq",
                &[&tenant_id, &period.to_string()],
            )
            .await?
            .into_iter()
            .map(|r| {
                let h: Vec<u8> = r.get(0);
                h.try_into()
                    .map_err(|_| StoreError::Internal("stored event hash length".into()))
            })
            .collect::<Result<_, _>>()?;
        let closing = closing_hash(&previous_hash, &period.to_string(), &hashes);
        tx.execute(
            "INSERT INTO period_closings (tenant_id, period, lock_seq, previous_period, previous_closing_hash, closing_hash,
                    event_count, request_id, requested_by, approved_by, locked_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                &tenant_id,
                &period.to_string(),
                &lock_seq,
                &previous_period,
                &previous_hash.as_slice(),
                &closing.as_slice(),
                &(hashes.len() as i64),
                &request_id,
                &request.requested_by,
                &label,
                &now,
            ],
        )
        .await?;
        write_state(
            &tx,
            tenant_id,
            period,
            state.status,
            to,
            PeriodAction::Approve,
            Some(request_id),
            None,
            &label,
            now,
            Some((&request.requested_by, Some(closing.as_slice()))),
        )
        .await?;
        tx.execute(
            "UPDATE period_lock_requests SET status = 'approved', decided_by = $3, decided_at = $4 WHERE tenant_id = $1 AND id = $2",
            &[&tenant_id, &request_id, &label, &now],
        )
        .await?;
        tx.commit().await?;
        Ok(Closing {
            view: self.get_period(tenant_id, period).await?,
            request_id,
            approved_by: label,
        })
    }

    /// Cancels a pending lock request; the period returns to the state it had before.
    pub async fn cancel_period_lock(
        &self,
        tenant_id: Uuid,
        period: PeriodId,
        request_id: Uuid,
        actor: &Actor,
    ) -> Result<LockRequest, StoreError> {
        let label = principal_label(actor);
        let now = Utc::now();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        lock_head(&tx, tenant_id).await?;
        let mut request = Self::load_request(&tx, tenant_id, period, request_id).await?;
        let state = current_state(&tx, tenant_id, period).await?;
        if state.request_id != Some(request_id) {
            return Err(StoreError::conflict(
                "request_not_pending",
                format!("lock request {request_id} is not the pending one"),
            ));
        }
        let to = transition(
            period,
            state.status,
            PeriodAction::Cancel,
            state.before_request,
        )?;
        write_state(
            &tx,
            tenant_id,
            period,
            state.status,
            to,
            PeriodAction::Cancel,
            Some(request_id),
            None,
            &label,
            now,
            None,
        )
        .await?;
        tx.execute(
            "UPDATE period_lock_requests SET status = 'cancelled', decided_by = $3, decided_at = $4 WHERE tenant_id = $1 AND id = $2",
            &[&tenant_id, &request_id, &label, &now],
        )
        .await?;
        tx.commit().await?;
        request.status = "cancelled".into();
        Ok(request)
    }

    /// The closings of a tenant in lock order.
    pub async fn closings(&self, tenant_id: Uuid) -> Result<Vec<ClosingRecord>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT c.period, c.lock_seq, c.previous_closing_hash, c.closing_hash, c.event_count, s.closing_hash
                   FROM period_closings c
                   LEFT JOIN period_states s ON s.tenant_id = c.tenant_id AND s.period = c.period
                  WHERE c.tenant_id = $1 ORDER BY c.lock_seq",
                &[&tenant_id],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| ClosingRecord {
                period: r.get(0),
                lock_seq: r.get(1),
                previous_closing_hash: r.get(2),
                closing_hash: r.get(3),
                event_count: r.get(4),
                shown_closing_hash: r.get(5),
            })
            .collect())
    }
}
