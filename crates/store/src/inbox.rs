//! The inbox (schema/0014): inbox addresses, items, review cases and the ingestion log.
//! Decides nothing: `app::inbox` reads the files with `inbox` and decides what to write.

use crate::documents::Document;
use crate::{ListCursor, StoreError, Total};
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use journal::Actor;
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct ItemRow {
    pub id: Uuid,
    pub document_id: Uuid,
    pub status: String,
    pub channel: String,
    pub ocr_extraction: Option<Value>,
    pub ocr_raw: Option<String>,
    pub vendor_match: Option<Value>,
    pub compliance_check: Option<Value>,
    pub failure: Option<String>,
    pub source_email: Option<String>,
    pub source_subject: Option<String>,
    pub original_name: String,
    pub reject_reason: Option<String>,
    pub review_case_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const ITEM_COLUMNS: &str = "i.id, i.document_id, i.status, i.channel, i.ocr_extraction, i.ocr_raw,
    i.vendor_match, i.compliance_check, i.failure, i.source_email, i.source_subject,
    i.original_name, i.reject_reason, i.created_at, i.updated_at, c.id AS review_case_id";

fn item_from_row(r: &tokio_postgres::Row) -> ItemRow {
    ItemRow {
        id: r.get("id"),
        document_id: r.get("document_id"),
        status: r.get("status"),
        channel: r.get("channel"),
        ocr_extraction: r.get("ocr_extraction"),
        ocr_raw: r.get("ocr_raw"),
        vendor_match: r.get("vendor_match"),
        compliance_check: r.get("compliance_check"),
        failure: r.get("failure"),
        source_email: r.get("source_email"),
        source_subject: r.get("source_subject"),
        original_name: r.get("original_name"),
        reject_reason: r.get("reject_reason"),
        review_case_id: r.get("review_case_id"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
    }
}

#[derive(Debug, Clone)]
pub struct CaseRow {
    pub id: Uuid,
    pub inbox_item_id: Uuid,
    pub document_id: Uuid,
    pub queue_state: String,
    pub vendor_id: Option<Uuid>,
    pub normalized_invoice: Value,
    pub vendor_candidates: Value,
    pub posting_errors: Value,
    pub invoice_id: Option<Uuid>,
    pub intent_id: Option<Uuid>,
    pub reject_reason: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const CASE_COLUMNS: &str = "c.id, c.inbox_item_id, i.document_id, c.queue_state, c.vendor_id,
    c.normalized_invoice, c.vendor_candidates, c.posting_errors, c.invoice_id, c.intent_id,
    c.reject_reason, c.decided_at, c.created_at, c.updated_at";

fn case_from_row(r: &tokio_postgres::Row) -> CaseRow {
    CaseRow {
        id: r.get("id"),
        inbox_item_id: r.get("inbox_item_id"),
        document_id: r.get("document_id"),
        queue_state: r.get("queue_state"),
        vendor_id: r.get("vendor_id"),
        normalized_invoice: r.get("normalized_invoice"),
        vendor_candidates: r.get("vendor_candidates"),
        posting_errors: r.get("posting_errors"),
        invoice_id: r.get("invoice_id"),
        intent_id: r.get("intent_id"),
        reject_reason: r.get("reject_reason"),
        decided_at: r.get("decided_at"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
    }
}

#[derive(Debug, Clone)]
pub struct LogRow {
    pub id: Uuid,
    pub outcome: String,
    pub channel: String,
    pub inbox_item_id: Option<Uuid>,
    pub review_case_id: Option<Uuid>,
    pub document_id: Option<Uuid>,
    pub original_name: Option<String>,
    pub source_email: Option<String>,
    pub source: Option<String>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A log entry to write.
#[derive(Debug, Clone, Default)]
pub struct NewLog {
    pub outcome: &'static str,
    pub channel: &'static str,
    pub inbox_item_id: Option<Uuid>,
    pub review_case_id: Option<Uuid>,
    pub document_id: Option<Uuid>,
    pub original_name: Option<String>,
    pub source_email: Option<String>,
    pub source: Option<String>,
    pub reason: Option<String>,
}

/// An item to write (after its extraction).
#[derive(Debug, Clone)]
pub struct NewItem {
    pub id: Uuid,
    pub document_id: Uuid,
    pub document_hash: Vec<u8>,
    pub status: &'static str,
    pub channel: &'static str,
    pub ocr_extraction: Option<Value>,
    pub ocr_raw: Option<String>,
    pub vendor_match: Option<Value>,
    pub compliance_check: Option<Value>,
    pub failure: Option<String>,
    pub source_email: Option<String>,
    pub source_subject: Option<String>,
    pub original_name: String,
}

/// The tenant whose inbox address has this local part.
pub async fn tenant_of_address<C: GenericClient + Sync>(
    client: &C,
    local_part: &str,
) -> Result<Option<Uuid>, StoreError> {
    Ok(client
        .query_opt(
            "SELECT tenant_id FROM inbox_addresses WHERE local_part = $1",
            &[&local_part.to_lowercase()],
        )
        .await?
        .map(|r| r.get(0)))
}

/// The tenant's inbox local part, created from `candidate` the first time.
pub async fn address(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    candidate: &str,
) -> Result<String, StoreError> {
    tx.execute(
        "INSERT INTO inbox_addresses (tenant_id, local_part) VALUES ($1, $2)
         ON CONFLICT (tenant_id) DO NOTHING",
        &[&tenant_id, &candidate],
    )
    .await?;
    Ok(tx
        .query_one(
            "SELECT local_part FROM inbox_addresses WHERE tenant_id = $1",
            &[&tenant_id],
        )
        .await?
        .get(0))
}

/// The item that holds a document with this blake3 hash, if one does.
pub async fn item_by_hash<C: GenericClient + Sync>(
    client: &C,
    tenant_id: Uuid,
    hash: &[u8],
) -> Result<Option<Uuid>, StoreError> {
    Ok(client
        .query_opt(
            "SELECT id FROM inbox_items WHERE tenant_id = $1 AND document_hash = $2",
            &[&tenant_id, &hash],
        )
        .await?
        .map(|r| r.get(0)))
}

/// Keeps a received file as a document inside the caller's transaction (as
/// `Store::store_document` does in its own).
pub async fn insert_document(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    content: &[u8],
    mime_type: &str,
    original_name: &str,
    actor: &Actor,
) -> Result<Document, StoreError> {
    let hash = blake3::hash(content);
    let size = content.len() as i64;
    tx.execute(
        "INSERT INTO document_blobs (tenant_id, hash, size, content) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id, hash) DO NOTHING",
        &[&tenant_id, &hash.as_bytes().as_slice(), &size, &content],
    )
    .await?;
    let row = tx
        .query_one(
            "INSERT INTO documents (tenant_id, id, hash, mime_type, original_name, size, uploaded_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             RETURNING id, mime_type, original_name, size, hash, created_at",
            &[
                &tenant_id,
                &Uuid::now_v7(),
                &hash.as_bytes().as_slice(),
                &mime_type,
                &original_name,
                &size,
                &actor.to_json(),
            ],
        )
        .await?;
    Ok(Document {
        id: row.get("id"),
        mime_type: row.get("mime_type"),
        original_name: row.get("original_name"),
        size: row.get("size"),
        sha: hex::encode(row.get::<_, Vec<u8>>("hash")),
        created_at: row.get("created_at"),
    })
}

/// Writes an item; false when an item with the same document hash exists (a concurrent
/// duplicate), and nothing is written.
pub async fn insert_item(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    item: &NewItem,
    actor: &Actor,
) -> Result<bool, StoreError> {
    let n = tx
        .execute(
            "INSERT INTO inbox_items (tenant_id, id, document_id, document_hash, status, channel,
                 ocr_extraction, ocr_raw, vendor_match, compliance_check, failure, source_email,
                 source_subject, original_name, created_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
             ON CONFLICT (tenant_id, document_hash) DO NOTHING",
            &[
                &tenant_id,
                &item.id,
                &item.document_id,
                &item.document_hash,
                &item.status,
                &item.channel,
                &item.ocr_extraction,
                &item.ocr_raw,
                &item.vendor_match,
                &item.compliance_check,
                &item.failure,
                &item.source_email,
                &item.source_subject,
                &item.original_name,
                &actor.to_json(),
            ],
        )
        .await?;
    Ok(n == 1)
}

/// Writes the reading of a received item (status, extraction, checks or the failure).
pub async fn update_item_extraction(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    item: &NewItem,
) -> Result<bool, StoreError> {
    let n = tx.execute(
        "UPDATE inbox_items SET status = $3, ocr_extraction = $4, ocr_raw = $5, vendor_match = $6,
                compliance_check = $7, failure = $8, updated_at = now()
          WHERE tenant_id = $1 AND id = $2 AND status = 'received'",
        &[
            &tenant_id,
            &item.id,
            &item.status,
            &item.ocr_extraction,
            &item.ocr_raw,
            &item.vendor_match,
            &item.compliance_check,
            &item.failure,
        ],
    )
    .await?;
    Ok(n == 1)
}

pub async fn insert_case(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    id: Uuid,
    item_id: Uuid,
    vendor_id: Option<Uuid>,
    normalized: &Value,
    candidates: &Value,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO invoice_review_cases (tenant_id, id, inbox_item_id, queue_state, vendor_id,
             normalized_invoice, vendor_candidates)
         VALUES ($1, $2, $3, 'needs_review', $4, $5, $6)",
        &[
            &tenant_id, &id, &item_id, &vendor_id, normalized, candidates,
        ],
    )
    .await?;
    Ok(())
}

pub async fn insert_log(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    e: &NewLog,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO ingestion_log (tenant_id, id, outcome, channel, inbox_item_id, review_case_id,
             document_id, original_name, source_email, source, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &tenant_id,
            &Uuid::now_v7(),
            &e.outcome,
            &e.channel,
            &e.inbox_item_id,
            &e.review_case_id,
            &e.document_id,
            &e.original_name,
            &e.source_email,
            &e.source,
            &e.reason,
        ],
    )
    .await?;
    Ok(())
}

impl crate::Store {
    /// The inbox, newest first, paged by offset or by cursor (the ids are UUIDv7: in the
    /// order of arrival), with its capped count.
    pub async fn list_inbox_items(
        &self,
        tenant_id: Uuid,
        status: Option<&str>,
        limit: i64,
        offset: i64,
        after: Option<&ListCursor>,
    ) -> Result<(Vec<ItemRow>, Total, Option<ListCursor>), StoreError> {
        let client = self.client().await?;
        let page = crate::keyset_paged(
            &client,
            self.count_cap,
            ITEM_COLUMNS,
            "FROM inbox_items i
               LEFT JOIN invoice_review_cases c ON c.tenant_id = i.tenant_id AND c.inbox_item_id = i.id
              WHERE i.tenant_id = $1 AND ($2::text IS NULL OR i.status = $2)",
            &NEWEST_FIRST_I,
            &[&tenant_id, &status],
            limit,
            offset,
            after,
        )
        .await?;
        Ok((
            page.rows.iter().map(item_from_row).collect(),
            page.total,
            page.next,
        ))
    }

    /// The review cases, newest first, like [`Self::list_inbox_items`].
    pub async fn list_review_cases(
        &self,
        tenant_id: Uuid,
        queue_state: Option<&str>,
        limit: i64,
        offset: i64,
        after: Option<&ListCursor>,
    ) -> Result<(Vec<CaseRow>, Total, Option<ListCursor>), StoreError> {
        let client = self.client().await?;
        let page = crate::keyset_paged(
            &client,
            self.count_cap,
            CASE_COLUMNS,
            "FROM invoice_review_cases c
               JOIN inbox_items i ON i.tenant_id = c.tenant_id AND i.id = c.inbox_item_id
              WHERE c.tenant_id = $1 AND ($2::text IS NULL OR c.queue_state = $2)",
            &crate::Keyset {
                keys: &[("c.id", "uuid")],
                descending: true,
            },
            &[&tenant_id, &queue_state],
            limit,
            offset,
            after,
        )
        .await?;
        Ok((
            page.rows.iter().map(case_from_row).collect(),
            page.total,
            page.next,
        ))
    }

    /// The ingestion log, newest first, like [`Self::list_inbox_items`].
    pub async fn list_ingestion_log(
        &self,
        tenant_id: Uuid,
        outcome: Option<&str>,
        limit: i64,
        offset: i64,
        after: Option<&ListCursor>,
    ) -> Result<(Vec<LogRow>, Total, Option<ListCursor>), StoreError> {
        let client = self.client().await?;
        let page = crate::keyset_paged(
            &client,
            self.count_cap,
            "l.*",
            "FROM ingestion_log l WHERE l.tenant_id = $1 AND ($2::text IS NULL OR l.outcome = $2)",
            &crate::Keyset {
                keys: &[("l.id", "uuid")],
                descending: true,
            },
            &[&tenant_id, &outcome],
            limit,
            offset,
            after,
        )
        .await?;
        Ok((
            page.rows.iter().map(log_from_row).collect(),
            page.total,
            page.next,
        ))
    }
}

/// Inbox items by arrival, newest first.
const NEWEST_FIRST_I: crate::Keyset<'static> = crate::Keyset {
    keys: &[("i.id", "uuid")],
    descending: true,
};

pub async fn get_item<C: GenericClient + Sync>(
    client: &C,
    tenant_id: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<ItemRow, StoreError> {
    let row = client
        .query_opt(
            &format!(
                "SELECT {ITEM_COLUMNS} FROM inbox_items i
                   LEFT JOIN invoice_review_cases c ON c.tenant_id = i.tenant_id AND c.inbox_item_id = i.id
                  WHERE i.tenant_id = $1 AND i.id = $2 {}",
                if lock { "FOR UPDATE OF i" } else { "" }
            ),
            &[&tenant_id, &id],
        )
        .await?
        .ok_or_else(|| StoreError::not_found(format!("inbox item {id}")))?;
    Ok(item_from_row(&row))
}

pub async fn set_item_status(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    id: Uuid,
    status: &str,
    reject_reason: Option<&str>,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE inbox_items SET status = $3, reject_reason = coalesce($4, reject_reason), updated_at = now()
          WHERE tenant_id = $1 AND id = $2",
        &[&tenant_id, &id, &status, &reject_reason],
    )
    .await?;
    Ok(())
}

/// A review case; with `lock`, its row is locked until the transaction ends.
pub async fn get_case<C: GenericClient + Sync>(
    client: &C,
    tenant_id: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<CaseRow, StoreError> {
    let row = client
        .query_opt(
            &format!(
                "SELECT {CASE_COLUMNS} FROM invoice_review_cases c
                   JOIN inbox_items i ON i.tenant_id = c.tenant_id AND i.id = c.inbox_item_id
                  WHERE c.tenant_id = $1 AND c.id = $2 {}",
                if lock { "FOR UPDATE OF c" } else { "" }
            ),
            &[&tenant_id, &id],
        )
        .await?
        .ok_or_else(|| StoreError::not_found(format!("review case {id}")))?;
    Ok(case_from_row(&row))
}

/// Writes a case's editable part: vendor and normalized invoice.
pub async fn update_case_data(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    id: Uuid,
    vendor_id: Option<Uuid>,
    normalized: &Value,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE invoice_review_cases SET vendor_id = $3, normalized_invoice = $4, updated_at = now()
          WHERE tenant_id = $1 AND id = $2",
        &[&tenant_id, &id, &vendor_id, normalized],
    )
    .await
    .map_err(|e| {
        let e = StoreError::from(e);
        if matches!(&e, StoreError::Db(d) if d.code() == Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION)) {
            StoreError::invalid("unknown_vendor", "vendor_id names no vendor of this tenant", Some("vendor_id"))
        } else {
            e
        }
    })?;
    Ok(())
}

/// Moves a case to `state` with what the decision wrote.
#[allow(clippy::too_many_arguments)]
pub async fn decide_case(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    id: Uuid,
    state: &str,
    invoice_id: Option<Uuid>,
    intent_id: Option<Uuid>,
    reject_reason: Option<&str>,
    posting_errors: Option<&Value>,
    actor: &Actor,
) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE invoice_review_cases SET queue_state = $3, invoice_id = $4, intent_id = $5,
                reject_reason = $6, posting_errors = coalesce($7, posting_errors),
                decided_by = $8, decided_at = CASE WHEN $3 IN ('approved', 'rejected') THEN now() END,
                updated_at = now()
          WHERE tenant_id = $1 AND id = $2",
        &[
            &tenant_id,
            &id,
            &state,
            &invoice_id,
            &intent_id,
            &reject_reason,
            &posting_errors,
            &actor.to_json(),
        ],
    )
    .await?;
    Ok(())
}

fn log_from_row(r: &tokio_postgres::Row) -> LogRow {
    LogRow {
        id: r.get("id"),
        outcome: r.get("outcome"),
        channel: r.get("channel"),
        inbox_item_id: r.get("inbox_item_id"),
        review_case_id: r.get("review_case_id"),
        document_id: r.get("document_id"),
        original_name: r.get("original_name"),
        source_email: r.get("source_email"),
        source: r.get("source"),
        reason: r.get("reason"),
        created_at: r.get("created_at"),
    }
}

/// The tenant's active vendors as the candidate scoring needs them.
pub async fn vendor_refs<C: GenericClient + Sync>(
    client: &C,
    tenant_id: Uuid,
) -> Result<Vec<(Uuid, String, Option<String>, Option<String>)>, StoreError> {
    Ok(client
        .query(
            "SELECT id, name, vat_id, iban FROM partners
              WHERE tenant_id = $1 AND kind = 'vendor' AND is_active ORDER BY name LIMIT 10000",
            &[&tenant_id],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect())
}
