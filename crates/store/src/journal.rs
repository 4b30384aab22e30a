//! Reading the journal: lines (entries), intents with their links, and raw events.

use crate::{Store, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
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

impl Store {
    /// Journal lines, newest booking date first, filtered. Returns the page and the total.
    pub async fn list_journal(
        &self,
        tenant_id: Uuid,
        f: &JournalFilter,
    ) -> Result<(Vec<JournalEntry>, i64), StoreError> {
        let client = self.client().await?;
        let search = f.search.as_ref().map(|s| {
            format!(
                "%{}%",
                s.to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            )
        });
        let (rows, total) = crate::paged(
            &client,
            ENTRY_COLUMNS,
            "FROM entries
              WHERE tenant_id = $1
                AND ($2::text IS NULL OR account = $2)
                AND ($3::date IS NULL OR booking_date >= $3)
                AND ($4::date IS NULL OR booking_date <= $4)
                AND ($5::text IS NULL OR lower(description) LIKE $5 OR lower(coalesce(line_description, '')) LIKE $5
                     OR lower(coalesce(external_reference, '')) LIKE $5)
                AND ($6::text IS NULL OR external_reference = $6)",
            "booking_date DESC, seq DESC",
            &[&tenant_id, &f.account, &f.start_date, &f.end_date, &search, &f.external_reference],
            f.limit,
            f.offset,
        )
        .await?;
        Ok((
            rows.iter().map(entry_from_row).collect::<Result<_, _>>()?,
            total,
        ))
    }

    pub async fn get_intent(
        &self,
        tenant_id: Uuid,
        intent_id: Uuid,
    ) -> Result<IntentDetail, StoreError> {
        let client = self.client().await?;
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

    /// Events of a tenant from `from_seq` on, in seq order.
    pub async fn events(
        &self,
        tenant_id: Uuid,
        from_seq: i64,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let client = self.client().await?;
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
