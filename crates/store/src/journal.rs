//! Reading the journal: lines (entries), intents with their links, and raw events.

use crate::{Store, StoreError};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use journal::{Generated, IntentKind, PostingMode, Side};
use rust_decimal::Decimal;
use serde_json::Value;
use uuid::Uuid;

/// One journal line as the read side shows it. `debit` / `credit` are base-currency amounts.
#[derive(Debug, Clone)]
pub struct JournalEntry {
    pub seq: i64,
    pub intent_id: Uuid,
    pub line_no: i32,
    pub booking_date: NaiveDate,
    pub period: String,
    pub account: String,
    pub debit: Decimal,
    pub credit: Decimal,
    pub currency: String,
    pub amount: Decimal,
    pub tax_code: Option<String>,
    pub generated: Option<Generated>,
    pub description: String,
    pub line_description: Option<String>,
    pub cost_center: Option<String>,
    pub external_reference: Option<String>,
}

impl JournalEntry {
    /// The side the line was posted on (a negative reversal keeps the original's side).
    pub fn side(&self) -> Side {
        if !self.debit.is_zero() {
            Side::Debit
        } else {
            Side::Credit
        }
    }
}

pub const ENTRY_COLUMNS: &str =
    "seq, intent_id, line_no, booking_date, period, account, debit, credit, currency, amount,
    tax_code, generated, description, line_description, cost_center, external_reference";

fn stored<T>(what: &str, text: &str, parsed: Option<T>) -> Result<T, StoreError> {
    parsed.ok_or_else(|| StoreError::Internal(format!("stored {what} {text:?}")))
}

pub fn entry_from_row(row: &tokio_postgres::Row) -> Result<JournalEntry, StoreError> {
    let generated = match row.get::<_, Option<&str>>("generated") {
        None => None,
        Some(g) => Some(stored("generated", g, Generated::parse(g))?),
    };
    Ok(JournalEntry {
        seq: row.get("seq"),
        intent_id: row.get("intent_id"),
        line_no: row.get("line_no"),
        booking_date: row.get("booking_date"),
        period: row.get("period"),
        account: row.get("account"),
        debit: row.get("debit"),
        credit: row.get("credit"),
        currency: row.get("currency"),
        amount: row.get("amount"),
        tax_code: row.get("tax_code"),
        generated,
        description: row.get("description"),
        line_description: row.get("line_description"),
        cost_center: row.get("cost_center"),
        external_reference: row.get("external_reference"),
    })
}

#[derive(Debug, Clone, Default)]
pub struct JournalFilter {
    pub account: Option<String>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub search: Option<String>,
    pub external_reference: Option<String>,
    pub limit: i64,
    pub offset: i64,
    /// Keyset paging: only lines after this one in the list's order (`offset` is then ignored).
    pub after: Option<JournalCursor>,
}

/// A position in the journal's order (booking_date DESC, seq DESC): the last line of a page.
/// Its text form is opaque to clients: lowercase hex of a version byte (1), the booking date
/// as days since 0001-01-01 (i32, big-endian) and the seq (i64, big-endian).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalCursor {
    pub booking_date: NaiveDate,
    pub seq: i64,
}

impl JournalCursor {
    const VERSION: u8 = 1;

    pub fn encode(&self) -> String {
        let mut bytes = vec![Self::VERSION];
        bytes.extend_from_slice(&self.booking_date.num_days_from_ce().to_be_bytes());
        bytes.extend_from_slice(&self.seq.to_be_bytes());
        hex::encode(bytes)
    }

    /// None for anything [`JournalCursor::encode`] cannot have made.
    pub fn decode(text: &str) -> Option<JournalCursor> {
        if text.len() != 26 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let bytes = hex::decode(text).ok()?;
        if bytes[0] != Self::VERSION {
            return None;
        }
        let days = i32::from_be_bytes(bytes[1..5].try_into().ok()?);
        let seq = i64::from_be_bytes(bytes[5..13].try_into().ok()?);
        let booking_date = NaiveDate::from_num_days_from_ce_opt(days)
            .filter(|d| (1900..=2199).contains(&d.year()))?;
        (seq >= 0).then_some(JournalCursor { booking_date, seq })
    }
}

/// One page of the journal: its lines, the size of the whole filtered list, and where the next
/// page starts (None when this page is the last).
#[derive(Debug, Clone)]
pub struct JournalPage {
    pub entries: Vec<JournalEntry>,
    pub total: crate::Total,
    pub next: Option<JournalCursor>,
}

#[derive(Debug, Clone)]
pub struct IntentRecord {
    pub intent_id: Uuid,
    pub kind: IntentKind,
    pub booking_date: NaiveDate,
    pub period: String,
    pub description: String,
    pub external_reference: Option<String>,
    pub document_id: Option<Uuid>,
    pub custom_metadata: Option<Value>,
    pub currency: String,
    pub fx_rate: Option<Decimal>,
    pub first_seq: i64,
    pub event_count: i32,
    pub total_debit: Decimal,
    pub total_credit: Decimal,
    pub reversal_of: Option<Uuid>,
    pub posting_mode: Option<PostingMode>,
    pub reason: Option<String>,
    pub actor: Value,
    pub recorded_at: DateTime<Utc>,
}

/// An intent with its lines, the hashes of its events and the intents linked to it.
#[derive(Debug, Clone)]
pub struct IntentDetail {
    pub intent: IntentRecord,
    pub entries: Vec<JournalEntry>,
    pub event_hashes: Vec<(i64, Vec<u8>)>,
    /// (intent_id, relation, booking_date, recorded_at): relation is "reverses" or "reversed_by".
    pub linked: Vec<(Uuid, &'static str, NaiveDate, DateTime<Utc>)>,
}

/// An event as `kontor verify` reads it: the payload still as JSON text.
#[derive(Debug, Clone)]
pub struct RawEvent {
    pub seq: i64,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
    pub payload: String,
}

/// A stored event, as `GET /v1/audit/events` and `kontor verify` read it.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub seq: i64,
    pub intent_id: Uuid,
    pub period: String,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
    pub payload: Value,
}

const INTENT_COLUMNS: &str = "intent_id, kind, booking_date, period, description, external_reference, document_id,
    custom_metadata, currency, fx_rate, first_seq, event_count, total_debit, total_credit, reversal_of, posting_mode,
    reason, actor, recorded_at";

fn intent_from_row(row: &tokio_postgres::Row) -> Result<IntentRecord, StoreError> {
    let kind: &str = row.get("kind");
    let posting_mode = match row.get::<_, Option<&str>>("posting_mode") {
        None => None,
        Some(m) => Some(stored("posting mode", m, PostingMode::parse(m))?),
    };
    Ok(IntentRecord {
        intent_id: row.get("intent_id"),
        kind: stored("intent kind", kind, IntentKind::parse(kind))?,
        booking_date: row.get("booking_date"),
        period: row.get("period"),
        description: row.get("description"),
        external_reference: row.get("external_reference"),
        document_id: row.get("document_id"),
        custom_metadata: row.get("custom_metadata"),
        currency: row.get("currency"),
        fx_rate: row.get("fx_rate"),
        first_seq: row.get("first_seq"),
        event_count: row.get("event_count"),
        total_debit: row.get("total_debit"),
        total_credit: row.get("total_credit"),
        reversal_of: row.get("reversal_of"),
        posting_mode,
        reason: row.get("reason"),
        actor: row.get("actor"),
        recorded_at: row.get("recorded_at"),
    })
}

/// The count behind a list's total: exact, or capped (exact up to the cap).
enum Count {
    Exact(i64),
    Capped(i64),
}

impl Store {
    /// Journal lines, newest booking date first, filtered: one page, the (capped) total and
    /// the cursor of the next page. With `f.after` the page starts after that line by keyset
    /// (`(booking_date, seq) < (d, s)` on the `(tenant_id[, account], booking_date, seq)`
    /// indexes), so that any page costs what the first costs; else at `f.offset`. The total
    /// is exact from the projections when only an account filters (see below).
    pub async fn list_journal(
        &self,
        tenant_id: Uuid,
        f: &JournalFilter,
    ) -> Result<JournalPage, StoreError> {
        let client = self.read_client(crate::ReadRoute::Journal).await?;
        let search = f
            .search
            .as_ref()
            .map(|s| format!("%{}%", crate::like_escape(&s.to_lowercase())));
        let from_where = "FROM entries
              WHERE tenant_id = $1
                AND ($2::text IS NULL OR account = $2)
                AND ($3::date IS NULL OR booking_date >= $3)
                AND ($4::date IS NULL OR booking_date <= $4)
                AND ($5::text IS NULL OR lower(description) LIKE $5 OR lower(coalesce(line_description, '')) LIKE $5
                     OR lower(coalesce(external_reference, '')) LIKE $5)
                AND ($6::text IS NULL OR external_reference = $6)";
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 6] = [
            &tenant_id,
            &f.account,
            &f.start_date,
            &f.end_date,
            &search,
            &f.external_reference,
        ];
        // One row more than the page tells whether a next page exists.
        let fetch = f.limit + 1;
        let mut all = params.to_vec();
        let sql = match &f.after {
            Some(after) => {
                all.extend([
                    &after.booking_date as &(dyn tokio_postgres::types::ToSql + Sync),
                    &after.seq,
                    &fetch,
                ]);
                format!(
                    "SELECT {ENTRY_COLUMNS} {from_where} AND (booking_date, seq) < ($7, $8)
                      ORDER BY booking_date DESC, seq DESC LIMIT $9"
                )
            }
            None => {
                all.extend([
                    &fetch as &(dyn tokio_postgres::types::ToSql + Sync),
                    &f.offset,
                ]);
                format!(
                    "SELECT {ENTRY_COLUMNS} {from_where}
                      ORDER BY booking_date DESC, seq DESC LIMIT $7 OFFSET $8"
                )
            }
        };
        // The total of a list filtered by nothing but an account comes from the projections,
        // exact and at the same cost at any size: every journal event is one line (seq has no
        // gaps), so the journal's lines are its head's last_seq, and an account's lines are
        // the entry counts of its period rows. Any other filter counts its matches, capped
        // (`crate::capped_count`): counting up to the cap made a page of a journal beyond
        // 10,000 lines cost about twice a page of a small one (benches/README.md).
        let projected = f.search.is_none()
            && f.external_reference.is_none()
            && f.start_date.is_none()
            && f.end_date.is_none();
        // The page and the count are pipelined on the connection: one round trip.
        let (rows, count) = futures_util::try_join!(
            async { client.query(&sql, &all).await.map_err(StoreError::from) },
            async {
                if !projected {
                    return crate::capped_count(&client, self.count_cap, from_where, &params)
                        .await
                        .map(Count::Capped);
                }
                let row = match &f.account {
                    None => {
                        client
                            .query_opt(
                                "SELECT last_seq FROM journal_heads WHERE tenant_id = $1",
                                &[&tenant_id],
                            )
                            .await?
                    }
                    Some(account) => Some(
                        client
                            .query_one(
                                "SELECT coalesce(sum(entry_count), 0)::bigint FROM account_balances
                                  WHERE tenant_id = $1 AND account = $2",
                                &[&tenant_id, account],
                            )
                            .await?,
                    ),
                };
                Ok(Count::Exact(row.map_or(0, |r| r.get::<_, i64>(0))))
            },
        )?;
        let mut entries = rows
            .iter()
            .map(entry_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let more = entries.len() as i64 > f.limit;
        entries.truncate(f.limit.max(0) as usize);
        let next = match entries.last() {
            Some(last) if more => Some(JournalCursor {
                booking_date: last.booking_date,
                seq: last.seq,
            }),
            _ => None,
        };
        // Rows known to exist: those before this page (by offset) and on it. A cursor page
        // does not know its position, so it vouches only for its own rows.
        let seen = match (&f.after, entries.is_empty()) {
            (_, true) => 0,
            (Some(_), false) => entries.len() as i64,
            (None, false) => f.offset + entries.len() as i64,
        };
        let total = match count {
            Count::Exact(count) => crate::Total {
                count,
                estimated: false,
            },
            Count::Capped(capped) => {
                crate::total_of(&client, capped, self.count_cap, from_where, &params, seen).await?
            }
        };
        Ok(JournalPage {
            entries,
            total,
            next,
        })
    }

    pub async fn get_intent(
        &self,
        tenant_id: Uuid,
        intent_id: Uuid,
    ) -> Result<IntentDetail, StoreError> {
        let client = self.read_client(crate::ReadRoute::Journal).await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {INTENT_COLUMNS} FROM intents WHERE tenant_id = $1 AND intent_id = $2"
                ),
                &[&tenant_id, &intent_id],
            )
            .await?
            .ok_or_else(|| StoreError::not_found(format!("intent {intent_id}")))?;
        let intent = intent_from_row(&row)?;
        let entries = client
            .query(
                &format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE tenant_id = $1 AND intent_id = $2 ORDER BY seq"),
                &[&tenant_id, &intent_id],
            )
            .await?
            .iter()
            .map(entry_from_row)
            .collect::<Result<_, _>>()?;
        let event_hashes = client
            .query(
                "SELECT seq, hash FROM journal_events WHERE tenant_id = $1 AND intent_id = $2 ORDER BY seq",
                &[&tenant_id, &intent_id],
            )
            .await?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let mut linked = Vec::new();
        for r in client
            .query(
                "SELECT intent_id, reversal_of, booking_date, recorded_at FROM intents
                  WHERE tenant_id = $1 AND (reversal_of = $2 OR intent_id = $3)",
                &[&tenant_id, &intent_id, &intent.reversal_of],
            )
            .await?
        {
            let id: Uuid = r.get(0);
            let relation = if id == intent_id {
                continue;
            } else if r.get::<_, Option<Uuid>>(1) == Some(intent_id) {
                "reversed_by"
            } else {
                "reverses"
            };
            linked.push((id, relation, r.get(2), r.get(3)));
        }
        Ok(IntentDetail {
            intent,
            entries,
            event_hashes,
            linked,
        })
    }

    /// Events of a tenant from `from_seq` on, in seq order, with the payload as the text
    /// PostgreSQL keeps it as (for `kontor verify`, which parses it on a thread of its own).
    pub async fn events_raw(
        &self,
        tenant_id: Uuid,
        from_seq: i64,
        limit: i64,
    ) -> Result<Vec<RawEvent>, StoreError> {
        let client = self.read_client(crate::ReadRoute::Audit).await?;
        let stmt = client
            .prepare_cached(
                "SELECT seq, prev_hash, hash, payload::text FROM journal_events
                  WHERE tenant_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3",
            )
            .await?;
        let rows = client
            .query(&stmt, &[&tenant_id, &from_seq, &limit])
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| RawEvent {
                seq: r.get(0),
                prev_hash: r.get(1),
                hash: r.get(2),
                payload: r.get(3),
            })
            .collect())
    }

    /// Events of a tenant from `from_seq` on, in seq order.
    pub async fn events(
        &self,
        tenant_id: Uuid,
        from_seq: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let client = self.read_client(crate::ReadRoute::Audit).await?;
        let rows = client
            .query(
                "SELECT seq, intent_id, period, prev_hash, hash, payload FROM journal_events
                  WHERE tenant_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3",
                &[&tenant_id, &from_seq, &limit],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| StoredEvent {
                seq: r.get(0),
                intent_id: r.get(1),
                period: r.get(2),
                prev_hash: r.get(3),
                hash: r.get(4),
                payload: r.get(5),
            })
            .collect())
    }
}
