//! Outgoing and incoming invoices, their bookings, and the payments and write-offs applied to
//! them (open items).
//!
//! Every write here books in the journal and writes its own rows in ONE transaction, through
//! `append_in_tx`: an invoice never exists without its booking, a payment never without its
//! application. Status and open amounts are derived on read (see `receivables::status` and the
//! SQL functions of schema/0004), so a reversal made anywhere shows up at once.

use crate::appender::AppendCommand;
use crate::{Store, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use journal::{Actor, BookingError, Currency, PostingMode, ReversalCommand};
use receivables::booking::{
    check_linked_booking, invoice_booking, settlement_booking, BookedLine, InvoiceBooking,
    LinkedLine, SettlementBooking, SettlementKind,
};
use receivables::{
    compute_invoice, AgingBucket, Direction, GivenTotals, InvoiceError, InvoiceStatus, InvoiceType,
    LineInput, OpenItemState, PartnerKind,
};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use uuid::Uuid;

pub const MAX_INVOICE_NUMBER: usize = 100;
pub const MAX_NOTES: usize = 2000;
pub const MAX_LINE_DESCRIPTION: usize = 500;

#[derive(Debug, Clone, Default)]
pub struct NewInvoiceLine {
    pub description: Option<String>,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub tax_code: Option<String>,
    /// Defaults to the partner's default_account, then the chart's revenue / expense account.
    pub account: Option<String>,
    /// Stated amounts, checked against the computed ones.
    pub net: Option<Decimal>,
    pub tax: Option<Decimal>,
    pub gross: Option<Decimal>,
}

#[derive(Debug, Clone)]
pub struct NewInvoice {
    pub direction: Direction,
    pub invoice_type: InvoiceType,
    pub partner_id: Uuid,
    pub document_id: Option<Uuid>,
    pub invoice_number: String,
    pub invoice_date: NaiveDate,
    pub due_date: Option<NaiveDate>,
    pub totals: GivenTotals,
    /// The tenant's base currency when None; another currency is refused.
    pub currency: Option<String>,
    /// Link this existing booking instead of booking the invoice.
    pub intent_id: Option<Uuid>,
    pub notes: Option<String>,
    pub lines: Vec<NewInvoiceLine>,
}

/// PATCH: None leaves a field alone; Some(None) clears notes / due_date.
#[derive(Debug, Clone, Default)]
pub struct InvoiceChange {
    pub intent_id: Option<Uuid>,
    pub notes: Option<Option<String>>,
    pub due_date: Option<Option<NaiveDate>>,
}

#[derive(Debug, Clone)]
pub struct InvoiceLine {
    pub line_no: i32,
    pub description: String,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub tax_code: Option<String>,
    pub tax_rate: Decimal,
    pub self_assessed: bool,
    pub account: String,
    pub net: Decimal,
    pub tax: Decimal,
    pub gross: Decimal,
}

/// A payment or write-off applied to an invoice.
#[derive(Debug, Clone)]
pub struct Application {
    pub id: Uuid,
    pub invoice_id: Uuid,
    pub kind: String,
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
}

/// Columns of an invoice with its derived state as far as everything booked goes.
const COLUMNS: &str = "i.id, i.direction, i.type, i.partner_id, p.name AS partner_name, p.account_number,
    i.invoice_number, i.invoice_date, i.due_date, i.currency, i.total_net, i.total_tax, i.total_gross, i.intent_id,
    i.document_id, i.notes, i.created_at, i.updated_at,
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
/// $2 direction, $4 partner, $5 limit, $6 offset.
const OPEN_ITEMS_SQL: &str = "SELECT s.*, count(*) OVER () AS total FROM (
    SELECT i.id, i.direction, i.type, i.partner_id, p.name AS partner_name, p.account_number,
           i.invoice_number, i.invoice_date, i.due_date, i.currency, i.total_net, i.total_tax, i.total_gross, i.intent_id,
           i.document_id, i.notes, i.created_at, i.updated_at,
           (SELECT r.intent_id FROM intents r WHERE r.tenant_id = i.tenant_id AND r.reversal_of = i.intent_id
               AND ($3::date IS NULL OR r.booking_date <= $3)) AS cancellation_intent_id,
           kontor_is_reversed(i.tenant_id, i.intent_id, $3) AS cancelled,
           kontor_invoice_settled(i.tenant_id, i.id, $3) AS settled
      FROM invoices i JOIN partners p ON p.tenant_id = i.tenant_id AND p.id = i.partner_id
     WHERE i.tenant_id = $1 AND i.direction = $2 AND ($3::date IS NULL OR i.invoice_date <= $3)
       AND ($4::uuid IS NULL OR i.partner_id = $4)) s
  WHERE (CASE WHEN s.cancelled THEN 0 ELSE s.total_gross END) - s.settled <> 0
  ORDER BY coalesce(s.due_date, s.invoice_date), s.invoice_date, s.invoice_number, s.id
  LIMIT $5 OFFSET $6";

const LINES_SQL: &str = "SELECT line_no, description, quantity, unit_price, tax_code, tax_rate, self_assessed, account, net, tax, gross
   FROM invoice_lines WHERE tenant_id = $1 AND invoice_id = $2 ORDER BY line_no";

const APPLICATIONS_SQL: &str = "SELECT a.id, a.invoice_id, a.kind, a.amount, a.application_date, a.counter_account, a.intent_id,
        kontor_is_reversed(a.tenant_id, a.intent_id, NULL) AS reversed, a.created_at
   FROM open_item_applications a WHERE a.tenant_id = $1 AND a.invoice_id = $2 ORDER BY a.application_date, a.created_at, a.id";

const INSERT_INVOICE_SQL: &str = "INSERT INTO invoices (tenant_id, id, direction, type, partner_id, invoice_number, invoice_date,
        due_date, currency, total_net, total_tax, total_gross, intent_id, document_id, notes, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)";

const INSERT_LINES_SQL: &str = "INSERT INTO invoice_lines (tenant_id, invoice_id, line_no, description, quantity, unit_price, tax_code,
        tax_rate, self_assessed, account, net, tax, gross)
     SELECT $1, $2, * FROM unnest($3::int[], $4::text[], $5::numeric[], $6::numeric[], $7::text[], $8::numeric[],
        $9::boolean[], $10::text[], $11::numeric[], $12::numeric[], $13::numeric[])";

const INSERT_APPLICATION_SQL: &str =
    "INSERT INTO open_item_applications (tenant_id, id, invoice_id, kind, amount, application_date,
        counter_account, intent_id, actor)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// The invoice row locked for a state change, with what the change needs to know.
const LOCK_SQL: &str = "SELECT i.id, i.direction, i.type, i.invoice_number, i.invoice_date, i.currency, i.total_gross, i.total_tax,
        i.intent_id, i.due_date, i.notes, p.account_number, p.name AS partner_name,
        kontor_is_reversed(i.tenant_id, i.intent_id, NULL) AS cancelled,
        kontor_invoice_settled(i.tenant_id, i.id, NULL) AS settled
   FROM invoices i JOIN partners p ON p.tenant_id = i.tenant_id AND p.id = i.partner_id
  WHERE i.tenant_id = $1 AND i.id = $2 AND ($3::text IS NULL OR i.direction = $3)
    FOR UPDATE OF i";

/// Default write-off accounts per chart: receivables to Forderungsverluste, payables to
/// other operating income.
const WRITE_OFF_ACCOUNTS: &[(&str, Direction, &str)] = &[
    ("skr03", Direction::Outgoing, "2400"),
    ("skr03", Direction::Incoming, "8603"),
    ("skr04", Direction::Outgoing, "6930"),
    ("skr04", Direction::Incoming, "4830"),
];

fn invoice_from_row(row: &tokio_postgres::Row) -> Result<Invoice, StoreError> {
    let direction: String = row.get("direction");
    let kind: String = row.get("type");
    Ok(Invoice {
        id: row.get("id"),
        direction: Direction::parse(&direction)
            .ok_or_else(|| StoreError::Internal(format!("invoice direction {direction:?}")))?,
        invoice_type: InvoiceType::parse(&kind)
            .ok_or_else(|| StoreError::Internal(format!("invoice type {kind:?}")))?,
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
        state: OpenItemState {
            gross: row.get("total_gross"),
            settled: row.get("settled"),
            due_date: row.get("due_date"),
            cancelled: row.get("cancelled"),
        },
        lines: Vec::new(),
        applications: Vec::new(),
    })
}

fn partner_kind(direction: Direction) -> PartnerKind {
    match direction {
        Direction::Outgoing => PartnerKind::Customer,
        Direction::Incoming => PartnerKind::Vendor,
    }
}

/// The body field naming the partner (`customer_id` / `vendor_id`).
fn partner_field(direction: Direction) -> &'static str {
    match direction {
        Direction::Outgoing => "customer_id",
        Direction::Incoming => "vendor_id",
    }
}

fn invoice_error(e: InvoiceError) -> StoreError {
    let field = e.field();
    StoreError::invalid(e.code(), e.to_string(), Some(&field))
}

fn clean(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
}

fn check_notes(notes: &Option<String>) -> Result<(), StoreError> {
    match notes {
        Some(n) if n.chars().count() > MAX_NOTES => Err(StoreError::invalid(
            "too_long",
            format!("notes is longer than {MAX_NOTES} characters"),
            Some("notes"),
        )),
        _ => Ok(()),
    }
}

fn check_due_date(invoice_date: NaiveDate, due_date: Option<NaiveDate>) -> Result<(), StoreError> {
    match due_date {
        Some(d) if d < invoice_date => Err(StoreError::invalid(
            "invalid_due_date",
            format!("due_date {d} is before the invoice_date {invoice_date}"),
            Some("due_date"),
        )),
        _ => Ok(()),
    }
}

/// A booking rule broken by a line of the generated booking, told in terms of the invoice's
/// own lines (`lines[i]`), or of the partner for the partner line.
fn booking_error(e: StoreError, origin: &[Option<usize>], direction: Direction) -> StoreError {
    let StoreError::Booking(b) = e else { return e };
    let Some(field) = b.field() else {
        return StoreError::Booking(b);
    };
    let Some(rest) = field.strip_prefix("lines[") else {
        return StoreError::Booking(b);
    };
    let Some((index, tail)) = rest.split_once(']') else {
        return StoreError::Booking(b);
    };
    let Some(Some(origin)) = index
        .parse::<usize>()
        .ok()
        .and_then(|i| origin.get(i).copied())
    else {
        let message = b
            .to_string()
            .replace(&format!("lines[{index}]"), partner_field(direction));
        let code = b.code();
        return StoreError::invalid(code, message, Some(partner_field(direction)));
    };
    let mapped = format!("lines[{origin}]{tail}");
    let message = b.to_string().replace(&field, &mapped);
    if b.is_conflict() {
        StoreError::conflict(b.code(), message)
    } else {
        StoreError::invalid(b.code(), message, Some(&mapped))
    }
}

/// What linking an existing booking needs to know about it.
struct LinkedIntent {
    kind: String,
    reversed: bool,
    linked_to: Option<Uuid>,
    lines: Vec<LinkedLine>,
}

async fn load_linked_intent(
    tx: &deadpool_postgres::Transaction<'_>,
    tenant_id: Uuid,
    intent_id: Uuid,
) -> Result<Option<LinkedIntent>, StoreError> {
    let Some(row) = tx
        .query_opt(
            "SELECT kind, kontor_is_reversed(tenant_id, intent_id, NULL),
                    (SELECT id FROM invoices v WHERE v.tenant_id = n.tenant_id AND v.intent_id = n.intent_id)
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
            account: r.get(0),
            generated: r.get(1),
            debit: r.get(2),
            credit: r.get(3),
        })
        .collect();
    Ok(Some(LinkedIntent {
        kind: row.get(0),
        reversed: row.get(1),
        linked_to: row.get(2),
        lines,
    }))
}

/// Checks that an existing booking may carry the invoice described by the arguments.
#[allow(clippy::too_many_arguments)]
async fn check_link(
    tx: &deadpool_postgres::Transaction<'_>,
    tenant_id: Uuid,
    intent_id: Uuid,
    direction: Direction,
    invoice_type: InvoiceType,
    partner_account: &str,
    gross: Decimal,
    tax: Decimal,
    currency: Currency,
) -> Result<(), StoreError> {
    let linked = load_linked_intent(tx, tenant_id, intent_id)
        .await?
        .ok_or_else(|| {
            StoreError::invalid(
                "unknown_intent",
                format!("intent {intent_id} does not exist"),
                Some("intent_id"),
            )
        })?;
    if linked.kind == "reversal" {
        return Err(StoreError::invalid(
            "intent_mismatch",
            format!("intent {intent_id} is a reversal and cannot carry an invoice"),
            Some("intent_id"),
        ));
    }
    if linked.reversed {
        return Err(StoreError::conflict(
            "already_reversed",
            format!("intent {intent_id} is reversed"),
        ));
    }
    if let Some(other) = linked.linked_to {
        return Err(StoreError::conflict(
            "intent_already_linked",
            format!("intent {intent_id} already carries invoice {other}"),
        ));
    }
    check_linked_booking(
        direction,
        invoice_type,
        partner_account,
        gross,
        tax,
        &linked.lines,
        currency,
    )
    .map_err(invoice_error)
}

impl Store {
    /// Creates an invoice and books it (or links the booking `intent_id` names) in one
    /// transaction. Returns the new invoice's id.
    pub async fn create_invoice(
        &self,
        tenant_id: Uuid,
        new: NewInvoice,
        actor: &Actor,
    ) -> Result<Uuid, StoreError> {
        let info = self.tenant_info(tenant_id).await?;
        let base = info.base_currency;
        if let Some(c) = &new.currency {
            if c.trim().to_ascii_uppercase() != base.code() {
                return Err(StoreError::invalid(
                    "unsupported_currency",
                    format!("invoices are kept in the tenant's base currency {base}; {c:?} is not supported"),
                    Some("currency"),
                ));
            }
        }
        let number = new.invoice_number.trim().to_string();
        if number.is_empty() || number.chars().count() > MAX_INVOICE_NUMBER {
            return Err(StoreError::invalid(
                "invalid_invoice_number",
                format!("invoice_number must be 1 to {MAX_INVOICE_NUMBER} characters"),
                Some("invoice_number"),
            ));
        }
        check_due_date(new.invoice_date, new.due_date)?;
        let notes = clean(new.notes);
        check_notes(&notes)?;
        for (i, l) in new.lines.iter().enumerate() {
            if l.description
                .as_ref()
                .is_some_and(|d| d.chars().count() > MAX_LINE_DESCRIPTION)
            {
                return Err(StoreError::invalid(
                    "too_long",
                    format!(
                        "lines[{i}].description is longer than {MAX_LINE_DESCRIPTION} characters"
                    ),
                    Some(&format!("lines[{i}].description")),
                ));
            }
        }
        let kind = partner_kind(new.direction);
        let pfield = partner_field(new.direction);

        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let partner = tx
            .query_opt(
                "SELECT name, account_number, default_account, is_active FROM partners
                  WHERE tenant_id = $1 AND id = $2 AND kind = $3",
                &[&tenant_id, &new.partner_id, &kind.as_str()],
            )
            .await?
            .ok_or_else(|| {
                StoreError::invalid(
                    if kind == PartnerKind::Customer {
                        "unknown_customer"
                    } else {
                        "unknown_vendor"
                    },
                    format!(
                        "{pfield}: {} {} does not exist",
                        kind.as_str(),
                        new.partner_id
                    ),
                    Some(pfield),
                )
            })?;
        let (partner_name, partner_account, default_account, active): (
            String,
            String,
            Option<String>,
            bool,
        ) = (
            partner.get(0),
            partner.get(1),
            partner.get(2),
            partner.get(3),
        );
        if !active {
            return Err(StoreError::conflict(
                if kind == PartnerKind::Customer {
                    "customer_inactive"
                } else {
                    "vendor_inactive"
                },
                format!(
                    "{} {} is deactivated; reactivate it to invoice",
                    kind.as_str(),
                    new.partner_id
                ),
            ));
        }
        if let Some(doc) = new.document_id {
            let found = tx
                .query_opt(
                    "SELECT 1 FROM documents WHERE tenant_id = $1 AND id = $2",
                    &[&tenant_id, &doc],
                )
                .await?;
            if found.is_none() {
                return Err(StoreError::invalid(
                    "unknown_document",
                    format!("document {doc} does not exist"),
                    Some("document_id"),
                ));
            }
        }
        let duplicate = tx
            .query_opt(
                "SELECT id FROM invoices WHERE tenant_id = $1 AND direction = $2 AND invoice_number = $3
                    AND (direction = 'outgoing' OR partner_id = $4)",
                &[&tenant_id, &new.direction.as_str(), &number, &new.partner_id],
            )
            .await?;
        if let Some(d) = duplicate {
            return Err(duplicate_number(&number, new.direction, Some(d.get(0))));
        }

        // Tax codes and accounts of the lines.
        let codes: Vec<String> = new
            .lines
            .iter()
            .filter_map(|l| l.tax_code.clone())
            .collect();
        let tax_codes: HashMap<String, (Decimal, bool, bool)> = tx
            .query(
                "SELECT code, rate, self_assess_account IS NOT NULL, is_active FROM tax_codes
                  WHERE tenant_id = $1 AND code = ANY($2)",
                &[&tenant_id, &codes],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3))))
            .collect();
        let fallback = default_account.or_else(|| {
            info.role(match new.direction {
                Direction::Outgoing => "revenue_default",
                Direction::Incoming => "expense_default",
            })
            .map(str::to_string)
        });
        let mut accounts = Vec::with_capacity(new.lines.len());
        let mut inputs = Vec::with_capacity(new.lines.len());
        for (i, l) in new.lines.iter().enumerate() {
            let (rate, self_assessed) = match &l.tax_code {
                None => (Decimal::ZERO, false),
                Some(code) => match tax_codes.get(code) {
                    Some((rate, self_assessed, true)) => (*rate, *self_assessed),
                    found => {
                        return Err(StoreError::invalid(
                            "unknown_tax_code",
                            format!(
                                "lines[{i}].tax_code: tax code {code} {}",
                                if found.is_some() {
                                    "is inactive"
                                } else {
                                    "does not exist"
                                }
                            ),
                            Some(&format!("lines[{i}].tax_code")),
                        ))
                    }
                },
            };
            let account = clean(l.account.clone()).or_else(|| fallback.clone()).ok_or_else(|| {
                StoreError::invalid(
                    "unknown_account",
                    format!("lines[{i}].account is required: neither the {} nor the chart names a default", kind.as_str()),
                    Some(&format!("lines[{i}].account")),
                )
            })?;
            accounts.push(account);
            inputs.push(LineInput {
                quantity: l.quantity,
                unit_price: l.unit_price,
                rate,
                self_assessed,
                net: l.net,
                tax: l.tax,
                gross: l.gross,
            });
        }
        let computed = compute_invoice(base, &inputs, &new.totals).map_err(invoice_error)?;
        let active_accounts: HashMap<String, bool> = tx
            .query(
                "SELECT number, is_active FROM accounts WHERE tenant_id = $1 AND number = ANY($2)",
                &[&tenant_id, &accounts],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        for (i, a) in accounts.iter().enumerate() {
            let reason = match active_accounts.get(a) {
                Some(true) => continue,
                Some(false) => "is inactive",
                None => "does not exist",
            };
            return Err(StoreError::invalid(
                "unknown_account",
                format!("lines[{i}].account: account {a} {reason}"),
                Some(&format!("lines[{i}].account")),
            ));
        }

        let id = Uuid::now_v7();
        let totals = computed.totals;
        let intent_id = match new.intent_id {
            Some(intent_id) => {
                check_link(
                    &tx,
                    tenant_id,
                    intent_id,
                    new.direction,
                    new.invoice_type,
                    &partner_account,
                    totals.gross,
                    totals.tax,
                    base,
                )
                .await?;
                intent_id
            }
            None => {
                let booked: Vec<BookedLine> = new
                    .lines
                    .iter()
                    .zip(&accounts)
                    .zip(&computed.lines)
                    .map(|((l, account), amounts)| BookedLine {
                        account: account.clone(),
                        tax_code: l.tax_code.clone(),
                        description: clean(l.description.clone()),
                        net: amounts.net,
                    })
                    .collect();
                let (mut cmd, origin) = invoice_booking(&InvoiceBooking {
                    direction: new.direction,
                    invoice_type: new.invoice_type,
                    invoice_number: &number,
                    partner_name: &partner_name,
                    partner_account: &partner_account,
                    invoice_date: new.invoice_date,
                    gross: totals.gross,
                    lines: &booked,
                });
                cmd.document_id = new.document_id;
                cmd.custom_metadata = Some(invoice_metadata(id, None));
                self.append_in_tx(&tx, tenant_id, &AppendCommand::Booking(cmd), actor)
                    .await
                    .map_err(|e| booking_error(e, &origin, new.direction))?
                    .intent_id
            }
        };

        let inserted = tx
            .execute(
                INSERT_INVOICE_SQL,
                &[
                    &tenant_id,
                    &id,
                    &new.direction.as_str(),
                    &new.invoice_type.as_str(),
                    &new.partner_id,
                    &number,
                    &new.invoice_date,
                    &new.due_date,
                    &base.code(),
                    &totals.net,
                    &totals.tax,
                    &totals.gross,
                    &intent_id,
                    &new.document_id,
                    &notes,
                    &actor.to_json(),
                ],
            )
            .await;
        if let Err(e) = inserted {
            // A lost race with a concurrent request: the same number, or the same booking.
            let constraint = e
                .as_db_error()
                .and_then(|d| d.constraint())
                .map(str::to_string);
            let e = StoreError::from(e);
            return Err(match constraint.as_deref() {
                Some("invoices_intent") if e.is_unique_violation() => StoreError::conflict(
                    "intent_already_linked",
                    format!("intent {intent_id} already carries an invoice"),
                ),
                _ if e.is_unique_violation() => duplicate_number(&number, new.direction, None),
                _ => e,
            });
        }
        let n = new.lines.len();
        let mut line_no = Vec::with_capacity(n);
        let mut description = Vec::with_capacity(n);
        let mut quantity = Vec::with_capacity(n);
        let mut unit_price = Vec::with_capacity(n);
        let mut tax_code = Vec::with_capacity(n);
        let mut tax_rate = Vec::with_capacity(n);
        let mut self_assessed = Vec::with_capacity(n);
        let mut net = Vec::with_capacity(n);
        let mut tax = Vec::with_capacity(n);
        let mut gross = Vec::with_capacity(n);
        for (i, ((l, input), amounts)) in new
            .lines
            .iter()
            .zip(&inputs)
            .zip(&computed.lines)
            .enumerate()
        {
            line_no.push(i as i32 + 1);
            description.push(clean(l.description.clone()).unwrap_or_default());
            quantity.push(l.quantity);
            unit_price.push(l.unit_price);
            tax_code.push(l.tax_code.clone());
            tax_rate.push(input.rate);
            self_assessed.push(input.self_assessed);
            net.push(amounts.net);
            tax.push(amounts.tax);
            gross.push(amounts.gross);
        }
        tx.execute(
            INSERT_LINES_SQL,
            &[
                &tenant_id,
                &id,
                &line_no,
                &description,
                &quantity,
                &unit_price,
                &tax_code,
                &tax_rate,
                &self_assessed,
                &accounts,
                &net,
                &tax,
                &gross,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// One invoice with its lines and applications. `direction` None finds either side.
    pub async fn get_invoice(
        &self,
        tenant_id: Uuid,
        direction: Option<Direction>,
        id: Uuid,
    ) -> Result<Invoice, StoreError> {
        let client = self.client().await?;
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
        invoice.lines = lines
            .iter()
            .map(|r| InvoiceLine {
                line_no: r.get(0),
                description: r.get(1),
                quantity: r.get(2),
                unit_price: r.get(3),
                tax_code: r.get(4),
                tax_rate: r.get(5),
                self_assessed: r.get(6),
                account: r.get(7),
                net: r.get(8),
                tax: r.get(9),
                gross: r.get(10),
            })
            .collect();
        invoice.applications = applications
            .iter()
            .map(|r| Application {
                id: r.get(0),
                invoice_id: r.get(1),
                kind: r.get(2),
                amount: r.get(3),
                date: r.get(4),
                counter_account: r.get(5),
                intent_id: r.get(6),
                reversed: r.get(7),
                created_at: r.get(8),
            })
            .collect();
        Ok(invoice)
    }

    /// Invoices of one side, newest invoice date first. Statuses are those on `today`.
    pub async fn list_invoices(
        &self,
        tenant_id: Uuid,
        direction: Direction,
        f: &InvoiceFilter,
        today: NaiveDate,
    ) -> Result<(Vec<Invoice>, i64), StoreError> {
        let client = self.client().await?;
        let statuses: Vec<&str> = f.statuses.iter().map(InvoiceStatus::as_str).collect();
        let invoice_type = f.invoice_type.map(|t| t.as_str());
        let (rows, total) = crate::paged(
            &client,
            "s.*",
            &format!("FROM (SELECT {COLUMNS} {FROM} {LIST_FILTER}"),
            "s.invoice_date DESC, s.id DESC",
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
        )
        .await?;
        let invoices = rows
            .iter()
            .map(invoice_from_row)
            .collect::<Result<_, _>>()?;
        Ok((invoices, total))
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
    ) -> Result<(Vec<OpenItem>, i64), StoreError> {
        let (partner_id, as_of, limit, offset) = (f.partner_id, f.as_of, f.limit, f.offset);
        let client = self.client().await?;
        let rows = client
            .query(
                OPEN_ITEMS_SQL,
                &[
                    &tenant_id,
                    &direction.as_str(),
                    &as_of,
                    &partner_id,
                    &limit,
                    &offset,
                ],
            )
            .await?;
        let total = match rows.first() {
            Some(r) => r.get("total"),
            None if offset > 0 => {
                let rows = client
                    .query(
                        OPEN_ITEMS_SQL,
                        &[
                            &tenant_id,
                            &direction.as_str(),
                            &as_of,
                            &partner_id,
                            &1i64,
                            &0i64,
                        ],
                    )
                    .await?;
                rows.first().map(|r| r.get("total")).unwrap_or(0)
            }
            None => 0,
        };
        let items = rows
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
        Ok((items, total))
    }

    /// Changes notes, due_date or the linked booking. Another booking may be linked only once
    /// the current one is reversed (the invoice is cancelled); it must carry the invoice's
    /// totals. Each change is logged in `invoice_changes`.
    pub async fn update_invoice(
        &self,
        tenant_id: Uuid,
        direction: Direction,
        id: Uuid,
        change: InvoiceChange,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let info = self.tenant_info(tenant_id).await?;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let row = tx
            .query_opt(LOCK_SQL, &[&tenant_id, &id, &direction.as_str()])
            .await?
            .ok_or_else(|| StoreError::not_found(format!("invoice {id}")))?;
        let invoice_date: NaiveDate = row.get("invoice_date");
        let current_intent: Uuid = row.get("intent_id");
        let mut changes = Map::new();
        let notes = change.notes.map(clean);
        if let Some(n) = &notes {
            check_notes(n)?;
            let old: Option<String> = row.get("notes");
            if old != *n {
                changes.insert("notes".into(), json!({"from": old, "to": n}));
            }
        }
        if let Some(d) = change.due_date {
            check_due_date(invoice_date, d)?;
            let old: Option<NaiveDate> = row.get("due_date");
            if old != d {
                changes.insert("due_date".into(), json!({"from": old, "to": d}));
            }
        }
        let intent = match change.intent_id {
            Some(new_intent) if new_intent != current_intent => {
                if !row.get::<_, bool>("cancelled") {
                    return Err(StoreError::conflict(
                        "invoice_booked",
                        format!(
                            "the invoice is booked by intent {current_intent}; cancel it (reverse that booking) before linking another"
                        ),
                    ));
                }
                let kind: String = row.get("type");
                let direction_text: String = row.get("direction");
                check_link(
                    &tx,
                    tenant_id,
                    new_intent,
                    Direction::parse(&direction_text).unwrap_or(direction),
                    InvoiceType::parse(&kind).unwrap_or(InvoiceType::Invoice),
                    row.get("account_number"),
                    row.get("total_gross"),
                    row.get("total_tax"),
                    info.base_currency,
                )
                .await?;
                changes.insert(
                    "intent_id".into(),
                    json!({"from": current_intent, "to": new_intent}),
                );
                new_intent
            }
            _ => current_intent,
        };
        if changes.is_empty() {
            return Ok(());
        }
        let due_date = change.due_date.unwrap_or_else(|| row.get("due_date"));
        let notes = notes.unwrap_or_else(|| row.get("notes"));
        tx.execute(
            "UPDATE invoices SET notes = $3, due_date = $4, intent_id = $5, updated_at = now() WHERE tenant_id = $1 AND id = $2",
            &[&tenant_id, &id, &notes, &due_date, &intent],
        )
        .await
        .map_err(|e| {
            let e = StoreError::from(e);
            if e.is_unique_violation() {
                StoreError::conflict("intent_already_linked", format!("intent {intent} already carries an invoice"))
            } else {
                e
            }
        })?;
        tx.execute(
            "INSERT INTO invoice_changes (tenant_id, invoice_id, id, changes, actor) VALUES ($1, $2, $3, $4, $5)",
            &[&tenant_id, &id, &Uuid::now_v7(), &Value::Object(changes), &actor.to_json()],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Cancels an invoice by reversing its booking (Storno). Refused while payments or
    /// write-offs are applied to it (reverse those first), or when already reversed.
    pub async fn cancel_invoice(
        &self,
        tenant_id: Uuid,
        direction: Direction,
        id: Uuid,
        reason: &str,
        posting_mode: PostingMode,
        actor: &Actor,
    ) -> Result<Uuid, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let row = tx
            .query_opt(LOCK_SQL, &[&tenant_id, &id, &direction.as_str()])
            .await?
            .ok_or_else(|| StoreError::not_found(format!("invoice {id}")))?;
        let intent_id: Uuid = row.get("intent_id");
        if row.get::<_, bool>("cancelled") {
            return Err(StoreError::Booking(BookingError::AlreadyReversed(
                intent_id,
            )));
        }
        if row.get::<_, Decimal>("settled") > Decimal::ZERO {
            return Err(StoreError::conflict(
                "invoice_has_payments",
                "payments or write-offs are applied to this invoice; reverse them before cancelling it",
            ));
        }
        let cmd = AppendCommand::Reversal(ReversalCommand {
            intent_id,
            reason: reason.to_string(),
            posting_mode,
        });
        let appended = self.append_in_tx(&tx, tenant_id, &cmd, actor).await?;
        tx.commit().await?;
        Ok(appended.intent_id)
    }

    /// Applies a payment to an open item: books partner vs `counter_account` (the chart's bank
    /// account when None) and records the application, in one transaction.
    pub async fn apply_payment(
        &self,
        tenant_id: Uuid,
        invoice_id: Uuid,
        amount: Decimal,
        date: NaiveDate,
        counter_account: Option<&str>,
        actor: &Actor,
    ) -> Result<Application, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let settlement = Settlement {
            kind: SettlementKind::Payment,
            amount,
            date,
            account: counter_account.map(str::to_string),
            tax_code: None,
        };
        let applied = self
            .settle_in_tx(&tx, tenant_id, invoice_id, &settlement, actor)
            .await?;
        tx.commit().await?;
        Ok(applied)
    }

    /// Writes off (part of) an open item: books partner vs `account` (Forderungsverluste for
    /// receivables, other operating income for payables, when None), with the VAT correction
    /// of `tax_code` when given, and records the application, in one transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn write_off(
        &self,
        tenant_id: Uuid,
        invoice_id: Uuid,
        amount: Decimal,
        date: NaiveDate,
        account: Option<&str>,
        tax_code: Option<&str>,
        actor: &Actor,
    ) -> Result<Application, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let settlement = Settlement {
            kind: SettlementKind::WriteOff,
            amount,
            date,
            account: account.map(str::to_string),
            tax_code: tax_code.map(str::to_string),
        };
        let applied = self
            .settle_in_tx(&tx, tenant_id, invoice_id, &settlement, actor)
            .await?;
        tx.commit().await?;
        Ok(applied)
    }

    /// Applies a payment or write-off inside a transaction the caller owns (a bank match
    /// writes its own rows in the same transaction). Locks the invoice row, so concurrent
    /// applications to one invoice cannot together exceed what is open.
    pub async fn settle_in_tx(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        tenant_id: Uuid,
        invoice_id: Uuid,
        s: &Settlement,
        actor: &Actor,
    ) -> Result<Application, StoreError> {
        let info = self.tenant_info(tenant_id).await?;
        let base = info.base_currency;
        if s.amount <= Decimal::ZERO {
            return Err(StoreError::invalid(
                "non_positive_amount",
                "amount must be > 0",
                Some("amount"),
            ));
        }
        if !base.fits(s.amount) {
            return Err(StoreError::invalid(
                "amount_precision",
                format!(
                    "{base} amounts have at most {} decimals",
                    base.minor_units()
                ),
                Some("amount"),
            ));
        }
        let amount = base.round(s.amount);
        let row = tx
            .query_opt(LOCK_SQL, &[&tenant_id, &invoice_id, &None::<&str>])
            .await?
            .ok_or_else(|| StoreError::not_found(format!("invoice {invoice_id}")))?;
        let direction_text: String = row.get("direction");
        let type_text: String = row.get("type");
        let direction = Direction::parse(&direction_text)
            .ok_or_else(|| StoreError::Internal("direction".into()))?;
        let invoice_type =
            InvoiceType::parse(&type_text).ok_or_else(|| StoreError::Internal("type".into()))?;
        let state = OpenItemState {
            gross: row.get("total_gross"),
            settled: row.get("settled"),
            due_date: row.get("due_date"),
            cancelled: row.get("cancelled"),
        };
        if state.cancelled {
            return Err(StoreError::conflict(
                "invoice_cancelled",
                format!("invoice {invoice_id} is cancelled (its booking is reversed)"),
            ));
        }
        let remaining = state.remaining();
        if amount > remaining {
            return Err(StoreError::conflict(
                "overpayment",
                format!(
                    "{} exceeds what is open on invoice {}: {}",
                    base.format(amount),
                    row.get::<_, String>("invoice_number"),
                    base.format(remaining)
                ),
            ));
        }
        let counter = match (&s.account, s.kind) {
            (Some(a), _) => a.trim().to_string(),
            (None, SettlementKind::Payment) => {
                info.role("bank").map(str::to_string).ok_or_else(|| {
                    StoreError::invalid(
                        "unknown_account",
                        "the chart names no bank account",
                        Some("account"),
                    )
                })?
            }
            (None, SettlementKind::WriteOff) => WRITE_OFF_ACCOUNTS
                .iter()
                .find(|(chart, d, _)| *chart == info.tenant.chart && *d == direction)
                .map(|(_, _, a)| a.to_string())
                .ok_or_else(|| {
                    StoreError::invalid(
                        "unknown_account",
                        "name the write-off account",
                        Some("account"),
                    )
                })?,
        };
        let tax = match &s.tax_code {
            None => None,
            Some(code) => {
                let r = tx
                    .query_opt(
                        "SELECT rate, self_assess_account IS NOT NULL, is_active FROM tax_codes WHERE tenant_id = $1 AND code = $2",
                        &[&tenant_id, code],
                    )
                    .await?;
                match r {
                    Some(r) if r.get::<_, bool>(2) && !r.get::<_, bool>(1) => {
                        Some((code.as_str(), r.get::<_, Decimal>(0)))
                    }
                    _ => {
                        return Err(StoreError::invalid(
                            "unknown_tax_code",
                            format!(
                                "tax code {code} does not exist, is inactive or is self-assessed"
                            ),
                            Some("tax_code"),
                        ))
                    }
                }
            }
        };
        let invoice_number: String = row.get("invoice_number");
        let partner_account: String = row.get("account_number");
        let mut cmd = settlement_booking(&SettlementBooking {
            kind: s.kind,
            direction,
            invoice_type,
            invoice_number: &invoice_number,
            partner_account: &partner_account,
            counter_account: &counter,
            date: s.date,
            amount,
            tax,
            currency: base,
        });
        let application_id = Uuid::now_v7();
        cmd.custom_metadata = Some(invoice_metadata(invoice_id, Some((s.kind, application_id))));
        let appended = self
            .append_in_tx(tx, tenant_id, &AppendCommand::Booking(cmd), actor)
            .await
            .map_err(|e| match e {
                StoreError::Booking(b) if b.code() == "unknown_account" => StoreError::invalid(
                    "unknown_account",
                    format!("account {counter} does not exist or is inactive"),
                    Some("account"),
                ),
                other => other,
            })?;
        tx.execute(
            INSERT_APPLICATION_SQL,
            &[
                &tenant_id,
                &application_id,
                &invoice_id,
                &s.kind.as_str(),
                &amount,
                &s.date,
                &counter,
                &appended.intent_id,
                &actor.to_json(),
            ],
        )
        .await?;
        let row = tx
            .query_one(
                "SELECT created_at FROM open_item_applications WHERE tenant_id = $1 AND id = $2",
                &[&tenant_id, &application_id],
            )
            .await?;
        Ok(Application {
            id: application_id,
            invoice_id,
            kind: s.kind.as_str().to_string(),
            amount,
            date: s.date,
            counter_account: counter,
            intent_id: appended.intent_id,
            reversed: false,
            created_at: row.get(0),
        })
    }
}

/// A payment or write-off to apply (see `Store::settle_in_tx`).
#[derive(Debug, Clone)]
pub struct Settlement {
    pub kind: SettlementKind,
    /// In the base currency, > 0, at most what is open.
    pub amount: Decimal,
    pub date: NaiveDate,
    /// Counter account; defaults per kind (bank; write-off account of the chart).
    pub account: Option<String>,
    /// Write-offs only: the VAT correction's tax code.
    pub tax_code: Option<String>,
}

/// The journal's link back to the invoice (custom_metadata holds strings only).
fn invoice_metadata(
    invoice_id: Uuid,
    application: Option<(SettlementKind, Uuid)>,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("invoice_id".into(), Value::String(invoice_id.to_string()));
    if let Some((kind, id)) = application {
        m.insert(
            "application".into(),
            Value::String(kind.as_str().to_string()),
        );
        m.insert("application_id".into(), Value::String(id.to_string()));
    }
    m
}

fn duplicate_number(number: &str, direction: Direction, existing: Option<Uuid>) -> StoreError {
    let scope = match direction {
        Direction::Outgoing => "an outgoing invoice",
        Direction::Incoming => "an incoming invoice of this vendor",
    };
    let which = existing.map(|id| format!(" ({id})")).unwrap_or_default();
    StoreError::conflict(
        "duplicate_invoice_number",
        format!("{scope} numbered {number:?} exists{which}"),
    )
}
