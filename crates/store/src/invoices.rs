//! Outgoing and incoming invoices, the payments and write-offs applied to them (open items):
//! their rows, the context the decisions of `receivables` need, and the reads.
//!
//! Nothing here decides: the use cases (`app::invoices`, `app::settlements`) load through the
//! `load_*` / `lock_*` functions inside their transaction, decide with `receivables`, book with
//! `append_in_tx`, and write what was decided with the `insert_*` / `update_*` functions. A
//! unique key that a concurrent request won is reported as an [`InvoiceClash`], by constraint
//! name. Status and open amounts are derived on read (see `receivables::status` and the SQL
//! functions of schema/0004), so a reversal made anywhere shows up at once.

use crate::{Store, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::GenericClient;
use journal::Actor;
use receivables::booking::{LinkedLine, SettlementKind};
use receivables::create::DecidedInvoice;
use receivables::{
    AgingBucket, CashDiscountTerms, Direction, InvoiceStatus, InvoiceType, OpenItemState,
    PartnerKind,
};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

pub use receivables::change::{DecidedUpdate, FieldChange, LockedInvoice};
pub use receivables::create::{InvoiceLine, LinkedIntent, PartnerFacts, TaxCodeFacts};

/// A payment or write-off applied to an invoice.
#[derive(Debug, Clone)]
pub struct Application {
    pub id: Uuid,
    pub invoice_id: Uuid,
    pub kind: SettlementKind,
    pub amount: Decimal,
    pub date: NaiveDate,
    pub counter_account: String,
    pub intent_id: Uuid,
    /// Its booking was reversed: it no longer counts.
    pub reversed: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Invoice {
    pub id: Uuid,
    pub direction: Direction,
    pub invoice_type: InvoiceType,
    pub partner_id: Uuid,
    pub partner_name: String,
    /// The partner's personal account.
    pub account_number: String,
    pub invoice_number: String,
    pub invoice_date: NaiveDate,
    pub due_date: Option<NaiveDate>,
    pub currency: String,
    pub total_net: Decimal,
    pub total_tax: Decimal,
    pub total_gross: Decimal,
    pub intent_id: Uuid,
    /// The reversal of `intent_id`, once the invoice is cancelled.
    pub cancellation_intent_id: Option<Uuid>,
    pub document_id: Option<Uuid>,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub state: OpenItemState,
    /// Filled by `get_invoice`, empty in lists.
    pub lines: Vec<InvoiceLine>,
    pub applications: Vec<Application>,
    /// Cash-discount terms (Skonto), when the invoice grants them.
    pub cash_discount: Option<CashDiscountTerms>,
}

impl Invoice {
    pub fn status(&self, today: NaiveDate) -> InvoiceStatus {
        self.state.status(today)
    }

    pub fn remaining(&self) -> Decimal {
        self.state.remaining()
    }

    /// What the item adds to the partner's open amount: + for an invoice, − for a credit note.
    pub fn signed_remaining(&self) -> Decimal {
        self.invoice_type.sign() * self.remaining()
    }
}

/// An open item on a given day.
#[derive(Debug, Clone)]
pub struct OpenItem {
    pub invoice: Invoice,
    pub days_overdue: i64,
    pub aging_bucket: AgingBucket,
}

#[derive(Debug, Clone, Default)]
pub struct OpenItemFilter {
    pub partner_id: Option<Uuid>,
    /// The books at the end of this day (None: everything booked).
    pub as_of: Option<NaiveDate>,
    pub limit: i64,
    pub offset: i64,
    /// Keyset paging: the items after this one (`offset` is then ignored).
    pub after: Option<crate::ListCursor>,
}

#[derive(Debug, Clone, Default)]
pub struct InvoiceFilter {
    pub partner_id: Option<Uuid>,
    /// Any of these (none = all).
    pub statuses: Vec<InvoiceStatus>,
    pub invoice_type: Option<InvoiceType>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub limit: i64,
    pub offset: i64,
    /// Keyset paging: the invoices after this one (`offset` is then ignored).
    pub after: Option<crate::ListCursor>,
}

/// Columns of an invoice with its derived state as far as everything booked goes.
const COLUMNS: &str = "i.id, i.direction, i.type, i.partner_id, p.name AS partner_name, p.account_number,
    i.invoice_number, i.invoice_date, i.due_date, i.currency, i.total_net, i.total_tax, i.total_gross, i.intent_id,
    i.document_id, i.notes, i.created_at, i.updated_at, i.cash_discount_percent, i.cash_discount_days,
    (SELECT r.intent_id FROM intents r WHERE r.tenant_id = i.tenant_id AND r.reversal_of = i.intent_id) AS cancellation_intent_id,
    kontor_is_reversed(i.tenant_id, i.intent_id, NULL) AS cancelled,
    kontor_invoice_settled(i.tenant_id, i.id, NULL) AS settled";

const FROM: &str =
    "FROM invoices i JOIN partners p ON p.tenant_id = i.tenant_id AND p.id = i.partner_id";

/// List filter: $1 tenant, $2 direction, $3 partner, $4 type, $5/$6 invoice date range,
/// $7 statuses (text[], empty = all), $8 today.
const LIST_FILTER: &str = "WHERE i.tenant_id = $1 AND i.direction = $2
       AND ($3::uuid IS NULL OR i.partner_id = $3) AND ($4::text IS NULL OR i.type = $4)
       AND ($5::date IS NULL OR i.invoice_date >= $5) AND ($6::date IS NULL OR i.invoice_date <= $6)) s
  WHERE (cardinality($7::text[]) = 0
         OR kontor_invoice_status(s.total_gross, s.settled, s.due_date, s.cancelled, $8) = ANY($7::text[]))";

/// Open items as the books stood at the end of $3 (NULL: everything booked): $1 tenant,
/// $2 direction, $4 partner. Ordered by [`OPEN_ITEMS_ORDER`].
const OPEN_ITEMS_FROM: &str = "FROM (
    SELECT i.id, i.direction, i.type, i.partner_id, p.name AS partner_name, p.account_number,
           i.invoice_number, i.invoice_date, i.due_date, i.currency, i.total_net, i.total_tax, i.total_gross, i.intent_id,
           i.document_id, i.notes, i.created_at, i.updated_at, i.cash_discount_percent, i.cash_discount_days,
           (SELECT r.intent_id FROM intents r WHERE r.tenant_id = i.tenant_id AND r.reversal_of = i.intent_id
               AND ($3::date IS NULL OR r.booking_date <= $3)) AS cancellation_intent_id,
           kontor_is_reversed(i.tenant_id, i.intent_id, $3) AS cancelled,
           kontor_invoice_settled(i.tenant_id, i.id, $3) AS settled
      FROM invoices i JOIN partners p ON p.tenant_id = i.tenant_id AND p.id = i.partner_id
     WHERE i.tenant_id = $1 AND i.direction = $2 AND ($3::date IS NULL OR i.invoice_date <= $3)
       AND ($4::uuid IS NULL OR i.partner_id = $4)) s
  WHERE (CASE WHEN s.cancelled THEN 0 ELSE s.total_gross END) - s.settled <> 0";

/// Oldest due first: due date (else invoice date), invoice date, number, id.
const OPEN_ITEMS_ORDER: &[(&str, &str)] = &[
    ("coalesce(s.due_date, s.invoice_date)", "date"),
    ("s.invoice_date", "date"),
    ("s.invoice_number", "text"),
    ("s.id", "uuid"),
];

const LINES_SQL: &str = "SELECT line_no, description, quantity, unit_price, tax_code, tax_rate, self_assessed, account, net, tax, gross
   FROM invoice_lines WHERE tenant_id = $1 AND invoice_id = $2 ORDER BY line_no";

const APPLICATIONS_SQL: &str = "SELECT a.id, a.invoice_id, a.kind, a.amount, a.application_date, a.counter_account, a.intent_id,
        kontor_is_reversed(a.tenant_id, a.intent_id, NULL) AS reversed, a.created_at
   FROM open_item_applications a WHERE a.tenant_id = $1 AND a.invoice_id = $2 ORDER BY a.application_date, a.created_at, a.id";

const INSERT_INVOICE_SQL: &str = "INSERT INTO invoices (tenant_id, id, direction, type, partner_id, invoice_number, invoice_date,
        due_date, currency, total_net, total_tax, total_gross, intent_id, document_id, notes, created_by,
        cash_discount_percent, cash_discount_days)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
     RETURNING created_at, updated_at";

const INSERT_LINES_SQL: &str = "INSERT INTO invoice_lines (tenant_id, invoice_id, line_no, description, quantity, unit_price, tax_code,
        tax_rate, self_assessed, account, net, tax, gross)
     SELECT $1, $2, * FROM unnest($3::int[], $4::text[], $5::numeric[], $6::numeric[], $7::text[], $8::numeric[],
        $9::boolean[], $10::text[], $11::numeric[], $12::numeric[], $13::numeric[])";

const INSERT_APPLICATION_SQL: &str =
    "INSERT INTO open_item_applications (tenant_id, id, invoice_id, kind, amount, application_date,
        counter_account, intent_id, actor)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     RETURNING created_at";

/// Locks the invoice row for a state change.
const LOCK_ROW_SQL: &str = "SELECT 1 FROM invoices i
  WHERE i.tenant_id = $1 AND i.id = $2 AND ($3::text IS NULL OR i.direction = $3)
    FOR UPDATE";

/// What a state change needs to know of the invoice, read after its row is locked.
const LOCK_SQL: &str = "SELECT i.id, i.direction, i.type, i.invoice_number, i.invoice_date, i.currency, i.total_gross, i.total_tax,
        i.intent_id, i.due_date, i.notes, p.account_number, p.name AS partner_name,
        kontor_is_reversed(i.tenant_id, i.intent_id, NULL) AS cancelled,
        kontor_invoice_settled(i.tenant_id, i.id, NULL) AS settled
   FROM invoices i JOIN partners p ON p.tenant_id = i.tenant_id AND p.id = i.partner_id
  WHERE i.tenant_id = $1 AND i.id = $2 AND ($3::text IS NULL OR i.direction = $3)";

fn direction_from(text: &str) -> Result<Direction, StoreError> {
    Direction::parse(text)
        .ok_or_else(|| StoreError::Internal(format!("invoice direction {text:?}")))
}

fn type_from(text: &str) -> Result<InvoiceType, StoreError> {
    InvoiceType::parse(text).ok_or_else(|| StoreError::Internal(format!("invoice type {text:?}")))
}

fn line_from_row(r: &tokio_postgres::Row) -> InvoiceLine {
    InvoiceLine {
        line_no: r.get("line_no"),
        description: r.get("description"),
        quantity: r.get("quantity"),
        unit_price: r.get("unit_price"),
        tax_code: r.get("tax_code"),
        tax_rate: r.get("tax_rate"),
        self_assessed: r.get("self_assessed"),
        account: r.get("account"),
        net: r.get("net"),
        tax: r.get("tax"),
        gross: r.get("gross"),
    }
}

fn application_from_row(r: &tokio_postgres::Row) -> Result<Application, StoreError> {
    let kind: &str = r.get("kind");
    Ok(Application {
        id: r.get("id"),
        invoice_id: r.get("invoice_id"),
        kind: SettlementKind::parse(kind)
            .ok_or_else(|| StoreError::Internal(format!("application kind {kind:?}")))?,
        amount: r.get("amount"),
        date: r.get("application_date"),
        counter_account: r.get("counter_account"),
        intent_id: r.get("intent_id"),
        reversed: r.get("reversed"),
        created_at: r.get("created_at"),
    })
}

fn state_from_row(row: &tokio_postgres::Row) -> OpenItemState {
    OpenItemState {
        gross: row.get("total_gross"),
        settled: row.get("settled"),
        due_date: row.get("due_date"),
        cancelled: row.get("cancelled"),
    }
}

fn locked_from_row(row: &tokio_postgres::Row) -> Result<LockedInvoice, StoreError> {
    Ok(LockedInvoice {
        id: row.get("id"),
        direction: direction_from(row.get("direction"))?,
        invoice_type: type_from(row.get("type"))?,
        invoice_number: row.get("invoice_number"),
        invoice_date: row.get("invoice_date"),
        total_gross: row.get("total_gross"),
        total_tax: row.get("total_tax"),
        intent_id: row.get("intent_id"),
        due_date: row.get("due_date"),
        notes: row.get("notes"),
        partner_account: row.get("account_number"),
        state: state_from_row(row),
    })
}

fn cash_discount_from_row(
    row: &tokio_postgres::Row,
) -> Result<Option<CashDiscountTerms>, StoreError> {
    let percent: Option<Decimal> = row.get("cash_discount_percent");
    let days: Option<i32> = row.get("cash_discount_days");
    match (percent, days) {
        (Some(percent), Some(days)) => Ok(Some(CashDiscountTerms {
            percent,
            days: u32::try_from(days)
                .map_err(|_| StoreError::Internal(format!("cash_discount_days {days}")))?,
        })),
        _ => Ok(None),
    }
}

fn invoice_from_row(row: &tokio_postgres::Row) -> Result<Invoice, StoreError> {
    Ok(Invoice {
        id: row.get("id"),
        direction: direction_from(row.get("direction"))?,
        invoice_type: type_from(row.get("type"))?,
        partner_id: row.get("partner_id"),
        partner_name: row.get("partner_name"),
        account_number: row.get("account_number"),
        invoice_number: row.get("invoice_number"),
        invoice_date: row.get("invoice_date"),
        due_date: row.get("due_date"),
        currency: row.get("currency"),
        total_net: row.get("total_net"),
        total_tax: row.get("total_tax"),
        total_gross: row.get("total_gross"),
        intent_id: row.get("intent_id"),
        cancellation_intent_id: row.get("cancellation_intent_id"),
        document_id: row.get("document_id"),
        notes: row.get("notes"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
        state: state_from_row(row),
        lines: Vec::new(),
        applications: Vec::new(),
        cash_discount: cash_discount_from_row(row)?,
    })
}

impl Store {
    /// One invoice with its lines and applications. `direction` None finds either side.
    pub async fn get_invoice(
        &self,
        tenant_id: Uuid,
        direction: Option<Direction>,
        id: Uuid,
    ) -> Result<Invoice, StoreError> {
        let client = self.client().await?;
        read_invoice(&client, tenant_id, direction, id).await
    }

    /// Invoices of one side, newest invoice date first. Statuses are those on `today`.
    pub async fn list_invoices(
        &self,
        tenant_id: Uuid,
        direction: Direction,
        f: &InvoiceFilter,
        today: NaiveDate,
    ) -> Result<(Vec<Invoice>, crate::Total, Option<crate::ListCursor>), StoreError> {
        let client = self.client().await?;
        let statuses: Vec<&str> = f.statuses.iter().map(InvoiceStatus::as_str).collect();
        let invoice_type = f.invoice_type.map(|t| t.as_str());
        let page = crate::keyset_paged(
            &client,
            self.count_cap,
            "s.*",
            &format!("FROM (SELECT {COLUMNS} {FROM} {LIST_FILTER}"),
            &crate::Keyset {
                keys: &[("s.invoice_date", "date"), ("s.id", "uuid")],
                descending: true,
            },
            &[
                &tenant_id,
                &direction.as_str(),
                &f.partner_id,
                &invoice_type,
                &f.start_date,
                &f.end_date,
                &statuses,
                &today,
            ],
            f.limit,
            f.offset,
            f.after.as_ref(),
        )
        .await?;
        let invoices = page
            .rows
            .iter()
            .map(invoice_from_row)
            .collect::<Result<_, _>>()?;
        Ok((invoices, page.total, page.next))
    }

    /// Open items of one side as the books stood at the end of `as_of` (everything booked when
    /// None), aged against `today`: invoices and credit notes with an amount left, oldest due
    /// first.
    pub async fn open_items(
        &self,
        tenant_id: Uuid,
        direction: Direction,
        f: &OpenItemFilter,
        today: NaiveDate,
    ) -> Result<(Vec<OpenItem>, crate::Total, Option<crate::ListCursor>), StoreError> {
        let client = self.client().await?;
        let page = crate::keyset_paged(
            &client,
            self.count_cap,
            "s.*",
            OPEN_ITEMS_FROM,
            &crate::Keyset {
                keys: OPEN_ITEMS_ORDER,
                descending: false,
            },
            &[&tenant_id, &direction.as_str(), &f.as_of, &f.partner_id],
            f.limit,
            f.offset,
            f.after.as_ref(),
        )
        .await?;
        let items = page
            .rows
            .iter()
            .map(|r| {
                let invoice = invoice_from_row(r)?;
                let days_overdue = invoice.state.days_overdue(today);
                Ok(OpenItem {
                    invoice,
                    days_overdue,
                    aging_bucket: receivables::aging_bucket(days_overdue),
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok((items, page.total, page.next))
    }
}

/// One invoice with its lines and applications, on a connection or in a transaction.
pub async fn read_invoice<C: GenericClient + Sync>(
    client: &C,
    tenant_id: Uuid,
    direction: Option<Direction>,
    id: Uuid,
) -> Result<Invoice, StoreError> {
    let row = client
        .query_opt(
            &format!(
                "SELECT {COLUMNS} {FROM} WHERE i.tenant_id = $1 AND i.id = $2 AND ($3::text IS NULL OR i.direction = $3)"
            ),
            &[&tenant_id, &id, &direction.map(|d| d.as_str())],
        )
        .await?
        .ok_or_else(|| StoreError::not_found(format!("invoice {id}")))?;
    let mut invoice = invoice_from_row(&row)?;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&tenant_id, &id];
    let lines = client.query(LINES_SQL, &params);
    let applications = client.query(APPLICATIONS_SQL, &params);
    let (lines, applications) = futures_util::try_join!(lines, applications)?;
    invoice.lines = lines.iter().map(line_from_row).collect();
    invoice.applications = applications
        .iter()
        .map(application_from_row)
        .collect::<Result<_, _>>()?;
    Ok(invoice)
}

/// A unique key of `invoices` that a concurrent request took first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceClash {
    /// `invoices_outgoing_number` / `invoices_incoming_number`.
    Number,
    /// `invoices_intent`: the booking carries another invoice.
    Intent,
}

/// The clash a unique violation of `invoices` stands for, by constraint name.
fn clash(e: &tokio_postgres::Error) -> Option<InvoiceClash> {
    if e.code() != Some(&SqlState::UNIQUE_VIOLATION) {
        return None;
    }
    match e.as_db_error().and_then(|d| d.constraint()) {
        Some("invoices_intent") => Some(InvoiceClash::Intent),
        Some("invoices_outgoing_number" | "invoices_incoming_number") => Some(InvoiceClash::Number),
        _ => None,
    }
}

/// The partner an invoice of `direction` names, when it exists with that kind.
pub async fn load_partner(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    kind: PartnerKind,
    partner_id: Uuid,
) -> Result<Option<PartnerFacts>, StoreError> {
    let row = tx
        .query_opt(
            "SELECT name, account_number, default_account, is_active FROM partners
              WHERE tenant_id = $1 AND id = $2 AND kind = $3",
            &[&tenant_id, &partner_id, &kind.as_str()],
        )
        .await?;
    Ok(row.map(|r| PartnerFacts {
        name: r.get("name"),
        account_number: r.get("account_number"),
        default_account: r.get("default_account"),
        is_active: r.get("is_active"),
    }))
}

/// What to look up for a new invoice.
#[derive(Debug, Clone)]
pub struct CreateQuery<'a> {
    pub direction: Direction,
    pub partner_id: Uuid,
    /// As it will be stored (trimmed).
    pub invoice_number: &'a str,
    pub document_id: Option<Uuid>,
    pub tax_codes: Vec<String>,
    pub accounts: Vec<String>,
    pub intent_id: Option<Uuid>,
}

/// What a new invoice's decision needs besides the partner (see `receivables::CreateContext`).
#[derive(Debug, Clone, Default)]
pub struct CreateFacts {
    pub document_exists: bool,
    pub existing_number: Option<Uuid>,
    pub tax_codes: HashMap<String, TaxCodeFacts>,
    /// Account number to `is_active`.
    pub accounts: HashMap<String, bool>,
    pub linked: Option<LinkedIntent>,
}

/// Loads what deciding a new invoice needs.
pub async fn load_create_facts(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    q: &CreateQuery<'_>,
) -> Result<CreateFacts, StoreError> {
    let document_exists = match q.document_id {
        Some(doc) => tx
            .query_opt(
                "SELECT 1 FROM documents WHERE tenant_id = $1 AND id = $2",
                &[&tenant_id, &doc],
            )
            .await?
            .is_some(),
        None => false,
    };
    let existing_number = tx
        .query_opt(
            "SELECT id FROM invoices WHERE tenant_id = $1 AND direction = $2 AND invoice_number = $3
                AND (direction = 'outgoing' OR partner_id = $4)",
            &[&tenant_id, &q.direction.as_str(), &q.invoice_number, &q.partner_id],
        )
        .await?
        .map(|r| r.get(0));
    let tax_codes = load_tax_codes(tx, tenant_id, &q.tax_codes).await?;
    let accounts = tx
        .query(
            "SELECT number, is_active FROM accounts WHERE tenant_id = $1 AND number = ANY($2)",
            &[&tenant_id, &q.accounts],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let linked = match q.intent_id {
        Some(intent_id) => load_linked_intent(tx, tenant_id, intent_id).await?,
        None => None,
    };
    Ok(CreateFacts {
        document_exists,
        existing_number,
        tax_codes,
        accounts,
        linked,
    })
}

/// The named tax codes, by code.
pub async fn load_tax_codes(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    codes: &[String],
) -> Result<HashMap<String, TaxCodeFacts>, StoreError> {
    Ok(tx
        .query(
            "SELECT code, rate, self_assess_account IS NOT NULL AS self_assessed, is_active FROM tax_codes
              WHERE tenant_id = $1 AND code = ANY($2)",
            &[&tenant_id, &codes],
        )
        .await?
        .iter()
        .map(|r| {
            (
                r.get("code"),
                TaxCodeFacts {
                    rate: r.get("rate"),
                    self_assessed: r.get("self_assessed"),
                    is_active: r.get("is_active"),
                },
            )
        })
        .collect())
}

/// An existing booking with its lines, as linking an invoice to it needs to know it.
pub async fn load_linked_intent(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    intent_id: Uuid,
) -> Result<Option<LinkedIntent>, StoreError> {
    let Some(row) = tx
        .query_opt(
            "SELECT kind = 'reversal' AS is_reversal, kontor_is_reversed(tenant_id, intent_id, NULL) AS reversed,
                    (SELECT id FROM invoices v WHERE v.tenant_id = n.tenant_id AND v.intent_id = n.intent_id) AS linked_to
               FROM intents n WHERE tenant_id = $1 AND intent_id = $2",
            &[&tenant_id, &intent_id],
        )
        .await?
    else {
        return Ok(None);
    };
    let lines = tx
        .query(
            "SELECT account, generated, debit, credit FROM entries WHERE tenant_id = $1 AND intent_id = $2 ORDER BY seq",
            &[&tenant_id, &intent_id],
        )
        .await?
        .iter()
        .map(|r| LinkedLine {
            account: r.get("account"),
            generated: r.get("generated"),
            debit: r.get("debit"),
            credit: r.get("credit"),
        })
        .collect();
    Ok(Some(LinkedIntent {
        is_reversal: row.get("is_reversal"),
        reversed: row.get("reversed"),
        linked_to: row.get("linked_to"),
        lines,
    }))
}

/// Writes a decided invoice carried by the booking `intent_id`, with its lines. Returns the
/// invoice as written (its state: nothing applied, not cancelled), or the unique key a
/// concurrent request took first.
pub async fn insert_invoice(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    d: &DecidedInvoice,
    intent_id: Uuid,
    actor: &Actor,
) -> Result<Result<Invoice, InvoiceClash>, StoreError> {
    let inserted = tx
        .query_one(
            INSERT_INVOICE_SQL,
            &[
                &tenant_id,
                &d.id,
                &d.direction.as_str(),
                &d.invoice_type.as_str(),
                &d.partner_id,
                &d.invoice_number,
                &d.invoice_date,
                &d.due_date,
                &d.currency.code(),
                &d.totals.net,
                &d.totals.tax,
                &d.totals.gross,
                &intent_id,
                &d.document_id,
                &d.notes,
                &actor.to_json(),
                &d.cash_discount.map(|c| c.percent),
                &d.cash_discount.map(|c| c.days as i32),
            ],
        )
        .await;
    let row = match inserted {
        Ok(row) => row,
        Err(e) => {
            return match clash(&e) {
                Some(c) => Ok(Err(c)),
                None => Err(e.into()),
            }
        }
    };
    let l = &d.lines;
    let line_no: Vec<i32> = l.iter().map(|l| l.line_no).collect();
    let description: Vec<&str> = l.iter().map(|l| l.description.as_str()).collect();
    let quantity: Vec<Decimal> = l.iter().map(|l| l.quantity).collect();
    let unit_price: Vec<Decimal> = l.iter().map(|l| l.unit_price).collect();
    let tax_code: Vec<Option<&str>> = l.iter().map(|l| l.tax_code.as_deref()).collect();
    let tax_rate: Vec<Decimal> = l.iter().map(|l| l.tax_rate).collect();
    let self_assessed: Vec<bool> = l.iter().map(|l| l.self_assessed).collect();
    let account: Vec<&str> = l.iter().map(|l| l.account.as_str()).collect();
    let net: Vec<Decimal> = l.iter().map(|l| l.net).collect();
    let tax: Vec<Decimal> = l.iter().map(|l| l.tax).collect();
    let gross: Vec<Decimal> = l.iter().map(|l| l.gross).collect();
    tx.execute(
        INSERT_LINES_SQL,
        &[
            &tenant_id,
            &d.id,
            &line_no,
            &description,
            &quantity,
            &unit_price,
            &tax_code,
            &tax_rate,
            &self_assessed,
            &account,
            &net,
            &tax,
            &gross,
        ],
    )
    .await?;
    let created_at: DateTime<Utc> = row.get("created_at");
    Ok(Ok(Invoice {
        id: d.id,
        direction: d.direction,
        invoice_type: d.invoice_type,
        partner_id: d.partner_id,
        partner_name: d.partner_name.clone(),
        account_number: d.partner_account.clone(),
        invoice_number: d.invoice_number.clone(),
        invoice_date: d.invoice_date,
        due_date: d.due_date,
        currency: d.currency.code().to_string(),
        total_net: d.totals.net,
        total_tax: d.totals.tax,
        total_gross: d.totals.gross,
        intent_id,
        cancellation_intent_id: None,
        document_id: d.document_id,
        notes: d.notes.clone(),
        created_at,
        updated_at: row.get("updated_at"),
        state: OpenItemState {
            gross: d.totals.gross,
            settled: Decimal::ZERO,
            due_date: d.due_date,
            cancelled: false,
        },
        lines: d.lines.clone(),
        applications: Vec::new(),
        cash_discount: d.cash_discount,
    }))
}

/// Locks the invoice row (`FOR UPDATE`) and reads its state; None when it does not exist (on
/// `direction`'s side, when given).
///
/// Two statements, on purpose: a statement that waits for the row lock keeps the snapshot it
/// began with, so the settled amount it computes (`kontor_invoice_settled`, over
/// `open_item_applications`) would not see the applications of the transaction it waited for,
/// and two concurrent payments could together exceed what is open. The state is read by a
/// second statement, once the lock is held, with a snapshot that sees them.
pub async fn lock_invoice(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    direction: Option<Direction>,
    id: Uuid,
) -> Result<Option<LockedInvoice>, StoreError> {
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] =
        [&tenant_id, &id, &direction.map(|d| d.as_str())];
    if tx.query_opt(LOCK_ROW_SQL, &params).await?.is_none() {
        return Ok(None);
    }
    tx.query_opt(LOCK_SQL, &params)
        .await?
        .as_ref()
        .map(locked_from_row)
        .transpose()
}

/// The invoice's lines as a discount split needs them (tax code, rate, self-assessed, gross).
pub async fn load_rate_lines(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    invoice_id: Uuid,
) -> Result<Vec<receivables::InvoiceRateLine>, StoreError> {
    Ok(tx
        .query(LINES_SQL, &[&tenant_id, &invoice_id])
        .await?
        .iter()
        .map(|r| receivables::InvoiceRateLine {
            tax_code: r.get("tax_code"),
            rate: r.get("tax_rate"),
            self_assessed: r.get("self_assessed"),
            gross: r.get("gross"),
        })
        .collect())
}

/// Records a payment or write-off booked by `intent_id`.
pub async fn insert_application(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    s: &receivables::DecidedSettlement,
    intent_id: Uuid,
    actor: &Actor,
) -> Result<Application, StoreError> {
    let row = tx
        .query_one(
            INSERT_APPLICATION_SQL,
            &[
                &tenant_id,
                &s.application_id,
                &s.invoice_id,
                &s.kind.as_str(),
                &s.amount,
                &s.date,
                &s.counter_account,
                &intent_id,
                &actor.to_json(),
            ],
        )
        .await?;
    Ok(Application {
        id: s.application_id,
        invoice_id: s.invoice_id,
        kind: s.kind,
        amount: s.amount,
        date: s.date,
        counter_account: s.counter_account.clone(),
        intent_id,
        reversed: false,
        created_at: row.get("created_at"),
    })
}

fn change_json(changes: &[FieldChange]) -> Value {
    let mut m = Map::new();
    for c in changes {
        let (key, value) = match c {
            FieldChange::Notes { from, to } => ("notes", json!({"from": from, "to": to})),
            FieldChange::DueDate { from, to } => ("due_date", json!({"from": from, "to": to})),
            FieldChange::IntentId { from, to } => ("intent_id", json!({"from": from, "to": to})),
        };
        m.insert(key.into(), value);
    }
    Value::Object(m)
}

/// Writes a decided `PATCH` and logs it in `invoice_changes`; or reports that the booking it
/// links carries another invoice (a concurrent request linked it first).
pub async fn update_invoice(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    u: &DecidedUpdate,
    actor: &Actor,
) -> Result<Result<(), InvoiceClash>, StoreError> {
    let updated = tx
        .execute(
            "UPDATE invoices SET notes = $3, due_date = $4, intent_id = $5, updated_at = now() WHERE tenant_id = $1 AND id = $2",
            &[&tenant_id, &u.id, &u.notes, &u.due_date, &u.intent_id],
        )
        .await;
    if let Err(e) = updated {
        return match clash(&e) {
            Some(c) => Ok(Err(c)),
            None => Err(e.into()),
        };
    }
    tx.execute(
        "INSERT INTO invoice_changes (tenant_id, invoice_id, id, changes, actor) VALUES ($1, $2, $3, $4, $5)",
        &[&tenant_id, &u.id, &Uuid::now_v7(), &change_json(&u.changes), &actor.to_json()],
    )
    .await?;
    Ok(Ok(()))
}
