//! Payment runs (schema/0013): the runs with their payments and items, the candidates a run
//! is planned from, the bank account it pays from, and what completing a run writes.
//!
//! Decides nothing: `app::payment_runs` plans with `payments::plan_run` and moves the state
//! with `payments::transition`; this module loads and writes what they decided. Creating runs
//! is serialized per tenant (`lock_run_creation`), so that a run planned concurrently with
//! another sees the other's items once it committed; the partial unique index
//! `payment_run_items_one_active` is the guarantee underneath, across replicas.

use crate::{Store, StoreError, Total};
use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::GenericClient;
use receivables::{Direction, InvoiceType};
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::HashMap;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

/// The bank account a run pays from, as the run needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankAccount {
    pub id: Uuid,
    pub iban: Option<String>,
    pub bic: Option<String>,
    pub currency: String,
    pub ledger_account: String,
}

/// An invoice or credit note as a run is planned from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: Uuid,
    pub number: String,
    pub direction: Direction,
    pub invoice_type: InvoiceType,
    pub currency: String,
    pub invoice_date: NaiveDate,
    pub due_date: Option<NaiveDate>,
    /// The gross less payments, discounts and write-offs (zero once cancelled).
    pub open_amount: Decimal,
    pub cash_discount_percent: Option<Decimal>,
    pub cash_discount_days: Option<i32>,
    /// The active run that holds it.
    pub active_run: Option<Uuid>,
    pub vendor_id: Uuid,
    pub vendor_name: String,
    pub vendor_iban: Option<String>,
    pub vendor_bic: Option<String>,
}

/// A run's own row.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    pub id: Uuid,
    pub status: String,
    pub label: Option<String>,
    pub bank_account_id: Uuid,
    pub execution_date: NaiveDate,
    pub batch_by_vendor: bool,
    pub currency: String,
    pub total_amount: Decimal,
    pub invoice_count: i32,
    pub transaction_count: i64,
    pub debtor_name: String,
    pub debtor_iban: String,
    pub debtor_bic: Option<String>,
    pub excluded: Value,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    pub exported_by: Option<String>,
    pub exported_at: Option<DateTime<Utc>>,
    pub pain_version: Option<String>,
    pub message_id: Option<String>,
    pub completed_by: Option<String>,
    pub completed_at: Option<DateTime<Utc>>,
    pub cancelled_by: Option<String>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// One transfer of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRow {
    pub position: i32,
    pub end_to_end_id: String,
    pub vendor_id: Uuid,
    pub creditor_name: String,
    pub creditor_iban: String,
    pub creditor_bic: Option<String>,
    pub amount: Decimal,
    pub remittance: String,
    pub intent_id: Option<Uuid>,
}

/// One invoice or credit note of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRow {
    pub position: i32,
    pub invoice_id: Uuid,
    pub vendor_id: Uuid,
    pub invoice_number: String,
    pub invoice_type: InvoiceType,
    pub open_amount: Decimal,
    pub amount: Decimal,
    pub discount: Decimal,
    pub end_to_end_id: Option<String>,
}

/// A run with its payments and items, in their order.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentRun {
    pub run: RunRow,
    pub payments: Vec<PaymentRow>,
    pub items: Vec<ItemRow>,
}

/// A new run as planned.
#[derive(Debug, Clone)]
pub struct NewRun<'a> {
    pub id: Uuid,
    pub label: Option<&'a str>,
    pub bank_account_id: Uuid,
    pub execution_date: NaiveDate,
    pub batch_by_vendor: bool,
    pub total_amount: Decimal,
    pub invoice_count: i32,
    pub debtor_name: &'a str,
    pub debtor_iban: &'a str,
    pub debtor_bic: Option<&'a str>,
    pub excluded: Value,
    pub created_by: &'a str,
    pub created_actor: Value,
    pub payments: Vec<PaymentRow>,
    pub items: Vec<ItemRow>,
}

/// An invoice locked for completing a run: what is still open and whose account it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedOpenItem {
    pub open_amount: Decimal,
    pub cancelled: bool,
    pub partner_account: String,
}

/// One VAT rate's gross of an invoice (for splitting a discount).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateGross {
    pub tax_code: Option<String>,
    pub rate: Decimal,
    pub gross: Decimal,
    pub self_assessed: bool,
}

/// An application of a completed run's payment to an open item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApplication {
    pub invoice_id: Uuid,
    /// `payment` or `discount`.
    pub kind: &'static str,
    pub amount: Decimal,
    pub date: NaiveDate,
    pub counter_account: String,
    pub intent_id: Uuid,
}

const BANK_ACCOUNT_SQL: &str = "SELECT id, iban, bic, currency, ledger_account FROM bank_accounts
  WHERE tenant_id = $1 AND id = $2";

const CREATION_LOCK_SQL: &str =
    "SELECT pg_advisory_xact_lock(hashtextextended('kontor.payment_runs.' || $1::uuid::text, 0))";

/// The candidates' columns over `invoices i JOIN partners p`.
const CANDIDATE_COLUMNS: &str =
    "i.id, i.invoice_number, i.direction, i.type, i.currency, i.invoice_date, i.due_date,
       (CASE WHEN kontor_is_reversed(i.tenant_id, i.intent_id, NULL) THEN 0 ELSE i.total_gross END)
         - kontor_invoice_settled(i.tenant_id, i.id, NULL) AS open_amount,
       i.cash_discount_percent, i.cash_discount_days,
       (SELECT a.run_id FROM payment_run_items a
         WHERE a.tenant_id = i.tenant_id AND a.invoice_id = i.id AND a.active) AS active_run,
       p.id AS vendor_id, p.name AS vendor_name, p.iban AS vendor_iban, p.bic AS vendor_bic";

/// $1 tenant, $2 the named ids: those invoices, and the open incoming credit notes of their
/// vendors (to net).
const CANDIDATES_SQL: &str = "SELECT * FROM (
    SELECT {COLUMNS}
      FROM invoices i JOIN partners p ON p.tenant_id = i.tenant_id AND p.id = i.partner_id
     WHERE i.tenant_id = $1
       AND (i.id = ANY($2)
            OR (i.direction = 'incoming' AND i.type = 'credit_note'
                AND i.partner_id IN (SELECT n.partner_id FROM invoices n
                                      WHERE n.tenant_id = $1 AND n.id = ANY($2)
                                        AND n.direction = 'incoming' AND n.type = 'invoice')))) s
  WHERE s.id = ANY($2) OR s.open_amount > 0";

/// $1 tenant, $2 due before: open incoming invoices of vendors with an IBAN, in no active run.
const ELIGIBLE_SQL: &str = "SELECT * FROM (
    SELECT {COLUMNS}
      FROM invoices i JOIN partners p ON p.tenant_id = i.tenant_id AND p.id = i.partner_id
     WHERE i.tenant_id = $1 AND i.direction = 'incoming' AND i.type = 'invoice'
       AND coalesce(i.due_date, i.invoice_date) < $2
       AND p.iban IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM payment_run_items a
                        WHERE a.tenant_id = i.tenant_id AND a.invoice_id = i.id AND a.active)) s
  WHERE s.open_amount > 0
  ORDER BY coalesce(s.due_date, s.invoice_date), s.invoice_number, s.id";

const RUN_COLUMNS: &str =
    "r.id, r.status, r.label, r.bank_account_id, r.execution_date, r.batch_by_vendor, r.currency,
       r.total_amount, r.invoice_count, r.debtor_name, r.debtor_iban, r.debtor_bic, r.excluded,
       r.created_by, r.created_at, r.approved_by, r.approved_at, r.exported_by, r.exported_at,
       r.pain_version, r.message_id, r.completed_by, r.completed_at, r.cancelled_by,
       r.cancelled_at, r.updated_at,
       (SELECT count(*) FROM payment_run_payments x
         WHERE x.tenant_id = r.tenant_id AND x.run_id = r.id) AS transaction_count";

const INSERT_RUN_SQL: &str = "INSERT INTO payment_runs (tenant_id, id, status, label, bank_account_id, execution_date,
        batch_by_vendor, currency, total_amount, invoice_count, debtor_name, debtor_iban, debtor_bic,
        excluded, created_by, created_actor, created_at, updated_at)
     VALUES ($1, $2, 'draft', $3, $4, $5, $6, 'EUR', $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)";

const INSERT_PAYMENTS_SQL: &str =
    "INSERT INTO payment_run_payments (tenant_id, run_id, position, end_to_end_id, vendor_id,
        creditor_name, creditor_iban, creditor_bic, amount, remittance)
     SELECT $1, $2, * FROM unnest($3::int[], $4::text[], $5::uuid[], $6::text[], $7::text[],
        $8::text[], $9::numeric[], $10::text[])";

const INSERT_ITEMS_SQL: &str =
    "INSERT INTO payment_run_items (tenant_id, run_id, position, invoice_id, vendor_id,
        invoice_number, invoice_type, open_amount, amount, discount, end_to_end_id)
     SELECT $1, $2, * FROM unnest($3::int[], $4::uuid[], $5::uuid[], $6::text[], $7::text[],
        $8::numeric[], $9::numeric[], $10::numeric[], $11::text[])";

const PAYMENTS_SQL: &str =
    "SELECT position, end_to_end_id, vendor_id, creditor_name, creditor_iban, creditor_bic,
        amount, remittance, intent_id
   FROM payment_run_payments WHERE tenant_id = $1 AND run_id = $2 ORDER BY position";

const ITEMS_SQL: &str =
    "SELECT position, invoice_id, vendor_id, invoice_number, invoice_type, open_amount, amount,
        discount, end_to_end_id
   FROM payment_run_items WHERE tenant_id = $1 AND run_id = $2 ORDER BY position";

/// Locks the invoices in id order.
const LOCK_OPEN_ITEM_ROWS_SQL: &str = "SELECT 1 FROM invoices
  WHERE tenant_id = $1 AND id = ANY($2) ORDER BY id FOR UPDATE";

/// What is open on each invoice, read once their rows are locked (see `lock_open_items`).
const OPEN_ITEMS_STATE_SQL: &str = "SELECT i.id, p.account_number,
        kontor_is_reversed(i.tenant_id, i.intent_id, NULL) AS cancelled,
        i.total_gross - kontor_invoice_settled(i.tenant_id, i.id, NULL) AS open_amount
   FROM invoices i JOIN partners p ON p.tenant_id = i.tenant_id AND p.id = i.partner_id
  WHERE i.tenant_id = $1 AND i.id = ANY($2)";

const RATE_GROSS_SQL: &str =
    "SELECT invoice_id, tax_code, tax_rate, self_assessed, sum(gross) AS gross
   FROM invoice_lines WHERE tenant_id = $1 AND invoice_id = ANY($2)
  GROUP BY invoice_id, tax_code, tax_rate, self_assessed
  ORDER BY invoice_id, tax_code NULLS FIRST, tax_rate, self_assessed";

const INSERT_APPLICATIONS_SQL: &str =
    "INSERT INTO open_item_applications (tenant_id, id, invoice_id, kind, amount,
        application_date, counter_account, intent_id, actor)
     SELECT $1, * , $8 FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::numeric[], $6::date[],
        $7::text[], $9::uuid[])";

fn type_from(text: &str) -> Result<InvoiceType, StoreError> {
    InvoiceType::parse(text).ok_or_else(|| StoreError::Internal(format!("invoice type {text:?}")))
}

fn candidate_from_row(r: &tokio_postgres::Row) -> Result<Candidate, StoreError> {
    let direction: &str = r.get("direction");
    Ok(Candidate {
        id: r.get("id"),
        number: r.get("invoice_number"),
        direction: Direction::parse(direction)
            .ok_or_else(|| StoreError::Internal(format!("invoice direction {direction:?}")))?,
        invoice_type: type_from(r.get("type"))?,
        currency: r.get("currency"),
        invoice_date: r.get("invoice_date"),
        due_date: r.get("due_date"),
        open_amount: r.get("open_amount"),
        cash_discount_percent: r.get("cash_discount_percent"),
        cash_discount_days: r.get("cash_discount_days"),
        active_run: r.get("active_run"),
        vendor_id: r.get("vendor_id"),
        vendor_name: r.get("vendor_name"),
        vendor_iban: r.get("vendor_iban"),
        vendor_bic: r.get("vendor_bic"),
    })
}

fn run_from_row(r: &tokio_postgres::Row) -> RunRow {
    RunRow {
        id: r.get("id"),
        status: r.get("status"),
        label: r.get("label"),
        bank_account_id: r.get("bank_account_id"),
        execution_date: r.get("execution_date"),
        batch_by_vendor: r.get("batch_by_vendor"),
        currency: r.get("currency"),
        total_amount: r.get("total_amount"),
        invoice_count: r.get("invoice_count"),
        transaction_count: r.get("transaction_count"),
        debtor_name: r.get("debtor_name"),
        debtor_iban: r.get("debtor_iban"),
        debtor_bic: r.get("debtor_bic"),
        excluded: r.get("excluded"),
        created_by: r.get("created_by"),
        created_at: r.get("created_at"),
        approved_by: r.get("approved_by"),
        approved_at: r.get("approved_at"),
        exported_by: r.get("exported_by"),
        exported_at: r.get("exported_at"),
        pain_version: r.get("pain_version"),
        message_id: r.get("message_id"),
        completed_by: r.get("completed_by"),
        completed_at: r.get("completed_at"),
        cancelled_by: r.get("cancelled_by"),
        cancelled_at: r.get("cancelled_at"),
        updated_at: r.get("updated_at"),
    }
}

fn payment_from_row(r: &tokio_postgres::Row) -> PaymentRow {
    PaymentRow {
        position: r.get("position"),
        end_to_end_id: r.get("end_to_end_id"),
        vendor_id: r.get("vendor_id"),
        creditor_name: r.get("creditor_name"),
        creditor_iban: r.get("creditor_iban"),
        creditor_bic: r.get("creditor_bic"),
        amount: r.get("amount"),
        remittance: r.get("remittance"),
        intent_id: r.get("intent_id"),
    }
}

fn item_from_row(r: &tokio_postgres::Row) -> Result<ItemRow, StoreError> {
    Ok(ItemRow {
        position: r.get("position"),
        invoice_id: r.get("invoice_id"),
        vendor_id: r.get("vendor_id"),
        invoice_number: r.get("invoice_number"),
        invoice_type: type_from(r.get("invoice_type"))?,
        open_amount: r.get("open_amount"),
        amount: r.get("amount"),
        discount: r.get("discount"),
        end_to_end_id: r.get("end_to_end_id"),
    })
}

/// The bank account `id` of the tenant, if it exists.
pub async fn load_bank_account<C: GenericClient + Sync>(
    client: &C,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<BankAccount>, StoreError> {
    let row = client
        .query_opt(BANK_ACCOUNT_SQL, &[&tenant_id, &id])
        .await?;
    Ok(row.map(|r| BankAccount {
        id: r.get("id"),
        iban: r.get("iban"),
        bic: r.get("bic"),
        currency: r.get("currency"),
        ledger_account: r.get("ledger_account"),
    }))
}

/// Serializes the creation of runs per tenant until the transaction ends.
pub async fn lock_run_creation(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
) -> Result<(), StoreError> {
    tx.execute(CREATION_LOCK_SQL, &[&tenant_id]).await?;
    Ok(())
}

/// The named invoices (of any side and type, so the plan can refuse them by rule) and the open
/// incoming credit notes of the vendors of named incoming invoices.
pub async fn load_candidates(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> Result<Vec<Candidate>, StoreError> {
    let sql = CANDIDATES_SQL.replace("{COLUMNS}", CANDIDATE_COLUMNS);
    tx.query(&sql, &[&tenant_id, &ids])
        .await?
        .iter()
        .map(candidate_from_row)
        .collect()
}

/// Writes a planned draft with its payments and items. An invoice another active run took in
/// the meantime is `invoice_in_active_run` (the per-tenant creation lock makes this rare).
pub async fn insert_run(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    run: &NewRun<'_>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.execute(
        INSERT_RUN_SQL,
        &[
            &tenant_id,
            &run.id,
            &run.label,
            &run.bank_account_id,
            &run.execution_date,
            &run.batch_by_vendor,
            &run.total_amount,
            &run.invoice_count,
            &run.debtor_name,
            &run.debtor_iban,
            &run.debtor_bic,
            &run.excluded,
            &run.created_by,
            &run.created_actor,
            &now,
        ],
    )
    .await?;
    let p = &run.payments;
    tx.execute(
        INSERT_PAYMENTS_SQL,
        &[
            &tenant_id,
            &run.id,
            &p.iter().map(|x| x.position).collect::<Vec<_>>(),
            &p.iter()
                .map(|x| x.end_to_end_id.as_str())
                .collect::<Vec<_>>(),
            &p.iter().map(|x| x.vendor_id).collect::<Vec<_>>(),
            &p.iter()
                .map(|x| x.creditor_name.as_str())
                .collect::<Vec<_>>(),
            &p.iter()
                .map(|x| x.creditor_iban.as_str())
                .collect::<Vec<_>>(),
            &p.iter()
                .map(|x| x.creditor_bic.as_deref())
                .collect::<Vec<_>>(),
            &p.iter().map(|x| x.amount).collect::<Vec<_>>(),
            &p.iter().map(|x| x.remittance.as_str()).collect::<Vec<_>>(),
        ],
    )
    .await?;
    // A savepoint, so that an invoice taken by another run in the meantime can be named.
    tx.batch_execute("SAVEPOINT payment_run_items").await?;
    let i = &run.items;
    let inserted = tx
        .execute(
            INSERT_ITEMS_SQL,
            &[
                &tenant_id,
                &run.id,
                &i.iter().map(|x| x.position).collect::<Vec<_>>(),
                &i.iter().map(|x| x.invoice_id).collect::<Vec<_>>(),
                &i.iter().map(|x| x.vendor_id).collect::<Vec<_>>(),
                &i.iter()
                    .map(|x| x.invoice_number.as_str())
                    .collect::<Vec<_>>(),
                &i.iter()
                    .map(|x| x.invoice_type.as_str())
                    .collect::<Vec<_>>(),
                &i.iter().map(|x| x.open_amount).collect::<Vec<_>>(),
                &i.iter().map(|x| x.amount).collect::<Vec<_>>(),
                &i.iter().map(|x| x.discount).collect::<Vec<_>>(),
                &i.iter()
                    .map(|x| x.end_to_end_id.as_deref())
                    .collect::<Vec<_>>(),
            ],
        )
        .await;
    match inserted {
        Ok(_) => {
            tx.batch_execute("RELEASE SAVEPOINT payment_run_items")
                .await?;
            Ok(())
        }
        Err(e)
            if e.code() == Some(&SqlState::UNIQUE_VIOLATION)
                && e.as_db_error().and_then(|d| d.constraint())
                    == Some("payment_run_items_one_active") =>
        {
            tx.batch_execute("ROLLBACK TO SAVEPOINT payment_run_items")
                .await?;
            let ids: Vec<Uuid> = i.iter().map(|x| x.invoice_id).collect();
            let holder = tx
                .query_opt(
                    "SELECT invoice_id, run_id FROM payment_run_items
                      WHERE tenant_id = $1 AND active AND invoice_id = ANY($2)
                      ORDER BY invoice_id LIMIT 1",
                    &[&tenant_id, &ids],
                )
                .await?;
            let message = match holder {
                Some(r) => format!(
                    "invoice {} is already in the active payment run {}",
                    r.get::<_, Uuid>("invoice_id"),
                    r.get::<_, Uuid>("run_id")
                ),
                None => {
                    "an invoice of the run was taken by another active payment run at the same time"
                        .to_string()
                }
            };
            Err(StoreError::conflict("invoice_in_active_run", message))
        }
        Err(e) => Err(e.into()),
    }
}

/// One run with its payments and items; locked (`FOR UPDATE`) for a state change when `lock`.
pub async fn load_run<C: GenericClient + Sync>(
    client: &C,
    tenant_id: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<Option<PaymentRun>, StoreError> {
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM payment_runs r WHERE r.tenant_id = $1 AND r.id = $2{}",
        if lock { " FOR UPDATE OF r" } else { "" }
    );
    let Some(row) = client.query_opt(&sql, &[&tenant_id, &id]).await? else {
        return Ok(None);
    };
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&tenant_id, &id];
    let (payments, items) = futures_util::try_join!(
        client.query(PAYMENTS_SQL, &params),
        client.query(ITEMS_SQL, &params),
    )?;
    Ok(Some(PaymentRun {
        run: run_from_row(&row),
        payments: payments.iter().map(payment_from_row).collect(),
        items: items.iter().map(item_from_row).collect::<Result<_, _>>()?,
    }))
}

/// The stored file of an exported run: (message id, pain version, the XML).
pub async fn load_file<C: GenericClient + Sync>(
    client: &C,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Option<(String, Option<(String, String, String)>)>, StoreError> {
    let row = client
        .query_opt(
            "SELECT status, message_id, pain_version, sepa_xml FROM payment_runs
              WHERE tenant_id = $1 AND id = $2",
            &[&tenant_id, &id],
        )
        .await?;
    Ok(row.map(|r| {
        let status: String = r.get("status");
        let file = match (
            r.get::<_, Option<String>>("message_id"),
            r.get::<_, Option<String>>("pain_version"),
            r.get::<_, Option<String>>("sepa_xml"),
        ) {
            (Some(m), Some(v), Some(x)) => Some((m, v, x)),
            _ => None,
        };
        (status, file)
    }))
}

/// What a state change writes besides the status.
#[derive(Debug, Clone)]
pub enum StatusChange<'a> {
    Approve,
    Export {
        pain_version: &'a str,
        message_id: &'a str,
        sepa_xml: &'a str,
    },
    Complete,
    Cancel,
}

/// Moves a run (locked by the caller) to `status`, recording who and when; a run that ends
/// (completed, cancelled) releases its items.
pub async fn set_status(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    id: Uuid,
    change: &StatusChange<'_>,
    by: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let params_base: [&(dyn tokio_postgres::types::ToSql + Sync); 4] = [&tenant_id, &id, &by, &now];
    match change {
        StatusChange::Approve => {
            tx.execute(
                "UPDATE payment_runs SET status = 'approved', approved_by = $3, approved_at = $4,
                        updated_at = $4 WHERE tenant_id = $1 AND id = $2",
                &params_base,
            )
            .await?;
        }
        StatusChange::Export {
            pain_version,
            message_id,
            sepa_xml,
        } => {
            tx.execute(
                "UPDATE payment_runs SET status = 'exported', exported_by = $3, exported_at = $4,
                        updated_at = $4, pain_version = $5, message_id = $6, sepa_xml = $7
                  WHERE tenant_id = $1 AND id = $2",
                &[
                    &tenant_id,
                    &id,
                    &by,
                    &now,
                    pain_version,
                    message_id,
                    sepa_xml,
                ],
            )
            .await?;
        }
        StatusChange::Complete | StatusChange::Cancel => {
            let sql = if matches!(change, StatusChange::Complete) {
                "UPDATE payment_runs SET status = 'completed', completed_by = $3, completed_at = $4,
                        updated_at = $4 WHERE tenant_id = $1 AND id = $2"
            } else {
                "UPDATE payment_runs SET status = 'cancelled', cancelled_by = $3, cancelled_at = $4,
                        updated_at = $4 WHERE tenant_id = $1 AND id = $2"
            };
            tx.execute(sql, &params_base).await?;
            tx.execute(
                "UPDATE payment_run_items SET active = false
                  WHERE tenant_id = $1 AND run_id = $2 AND active",
                &[&tenant_id, &id],
            )
            .await?;
        }
    }
    Ok(())
}

/// Locks the invoices a completion settles (in id order, so concurrent completions and
/// payments do not deadlock) and reads what is open on each — in a second statement, as
/// `invoices::lock_invoice` does: a statement that waited for a lock would compute the open
/// amounts with the snapshot it began with, missing the payments it waited for.
pub async fn lock_open_items(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, LockedOpenItem>, StoreError> {
    tx.query(LOCK_OPEN_ITEM_ROWS_SQL, &[&tenant_id, &ids])
        .await?;
    Ok(tx
        .query(OPEN_ITEMS_STATE_SQL, &[&tenant_id, &ids])
        .await?
        .iter()
        .map(|r| {
            let id: Uuid = r.get("id");
            (
                id,
                LockedOpenItem {
                    open_amount: r.get("open_amount"),
                    cancelled: r.get("cancelled"),
                    partner_account: r.get("account_number"),
                },
            )
        })
        .collect())
}

/// The gross per tax code and rate of each invoice's lines.
pub async fn load_rate_grosses(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<RateGross>>, StoreError> {
    let mut out: HashMap<Uuid, Vec<RateGross>> = HashMap::new();
    for r in tx.query(RATE_GROSS_SQL, &[&tenant_id, &ids]).await? {
        out.entry(r.get("invoice_id")).or_default().push(RateGross {
            tax_code: r.get("tax_code"),
            rate: r.get("tax_rate"),
            gross: r.get("gross"),
            self_assessed: r.get("self_assessed"),
        });
    }
    Ok(out)
}

/// Records the bookings of a run's payments (position, intent), in one statement.
pub async fn set_payment_intents(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    run_id: Uuid,
    booked: &[(i32, Uuid)],
) -> Result<(), StoreError> {
    let positions: Vec<i32> = booked.iter().map(|(p, _)| *p).collect();
    let intents: Vec<Uuid> = booked.iter().map(|(_, i)| *i).collect();
    tx.execute(
        "UPDATE payment_run_payments p SET intent_id = b.intent_id
           FROM unnest($3::int[], $4::uuid[]) AS b (position, intent_id)
          WHERE p.tenant_id = $1 AND p.run_id = $2 AND p.position = b.position",
        &[&tenant_id, &run_id, &positions, &intents],
    )
    .await?;
    Ok(())
}

/// Writes the applications of a completed run's payments, in one statement.
pub async fn insert_applications(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    apps: &[NewApplication],
    actor: &Value,
) -> Result<(), StoreError> {
    if apps.is_empty() {
        return Ok(());
    }
    tx.execute(
        INSERT_APPLICATIONS_SQL,
        &[
            &tenant_id,
            &apps.iter().map(|_| Uuid::now_v7()).collect::<Vec<_>>(),
            &apps.iter().map(|a| a.invoice_id).collect::<Vec<_>>(),
            &apps.iter().map(|a| a.kind).collect::<Vec<_>>(),
            &apps.iter().map(|a| a.amount).collect::<Vec<_>>(),
            &apps.iter().map(|a| a.date).collect::<Vec<_>>(),
            &apps
                .iter()
                .map(|a| a.counter_account.as_str())
                .collect::<Vec<_>>(),
            actor,
            &apps.iter().map(|a| a.intent_id).collect::<Vec<_>>(),
        ],
    )
    .await?;
    Ok(())
}

/// Filter of the run list.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub statuses: Vec<String>,
    pub limit: i64,
    pub offset: i64,
    /// Keyset paging: the runs after this one (`offset` is then ignored).
    pub after: Option<crate::ListCursor>,
}

impl Store {
    /// Open incoming invoices of vendors with an IBAN, due before `due_before`, in no active
    /// run; oldest due first.
    pub async fn eligible_invoices(
        &self,
        tenant_id: Uuid,
        due_before: NaiveDate,
    ) -> Result<Vec<Candidate>, StoreError> {
        let client = self.client().await?;
        let sql = ELIGIBLE_SQL.replace("{COLUMNS}", CANDIDATE_COLUMNS);
        client
            .query(&sql, &[&tenant_id, &due_before])
            .await?
            .iter()
            .map(candidate_from_row)
            .collect()
    }

    /// One run with its payments and items.
    pub async fn get_payment_run(
        &self,
        tenant_id: Uuid,
        id: Uuid,
    ) -> Result<Option<PaymentRun>, StoreError> {
        let client = self.client().await?;
        load_run(&client, tenant_id, id, false).await
    }

    /// The stored file of a run: its status, and (message id, version, XML) once exported.
    pub async fn payment_run_file(
        &self,
        tenant_id: Uuid,
        id: Uuid,
    ) -> Result<Option<(String, Option<(String, String, String)>)>, StoreError> {
        let client = self.client().await?;
        load_file(&client, tenant_id, id).await
    }

    /// Runs, newest first (by id: UUID v7, in the order of creation), without payments and
    /// items; with the total and the cursor of the next page.
    pub async fn list_payment_runs(
        &self,
        tenant_id: Uuid,
        filter: &RunFilter,
    ) -> Result<(Vec<RunRow>, Total, Option<crate::ListCursor>), StoreError> {
        let client = self.client().await?;
        let page = crate::keyset_paged(
            &client,
            self.count_cap,
            RUN_COLUMNS,
            "FROM payment_runs r WHERE r.tenant_id = $1
               AND (cardinality($2::text[]) = 0 OR r.status = ANY($2::text[]))",
            &crate::Keyset {
                keys: &[("r.id", "uuid")],
                descending: true,
            },
            &[&tenant_id, &filter.statuses],
            filter.limit,
            filter.offset,
            filter.after.as_ref(),
        )
        .await?;
        Ok((
            page.rows.iter().map(run_from_row).collect(),
            page.total,
            page.next,
        ))
    }
}
