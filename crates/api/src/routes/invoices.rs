//! Outgoing invoices (`/v1/outgoing-invoices`, to customers) and incoming invoices
//! (`/v1/invoices`, from vendors): booked on creation, status derived from payments, due date
//! and reversal, open items with aging.

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{
    decimal, double_option, is_json, opt_decimal, parse_json, stored_answer, IdempotencyKeyOf,
    JsonBody, Params,
};
use crate::routes::{money, ErrorBody};
use crate::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use app::invoices::{Application, Invoice, InvoiceFilter, InvoiceLine, OpenItem, OpenItemFilter};
use app::settlements::{InvoicePayment, InvoiceWriteOff, Settled};
use app::StoredResponse;
use chrono::NaiveDate;
use receivables::{
    Cancel, Direction, GivenTotals, InvoiceChange, InvoiceStatus, InvoiceType, NewInvoice,
    NewInvoiceLine,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

const SCOPE_READ: &str = "invoices:read";
const SCOPE_WRITE: &str = "invoices:write";

#[derive(Deserialize, Clone, Copy, Default, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceTypeDto {
    #[default]
    Invoice,
    CreditNote,
}

impl From<InvoiceTypeDto> for InvoiceType {
    fn from(t: InvoiceTypeDto) -> Self {
        match t {
            InvoiceTypeDto::Invoice => InvoiceType::Invoice,
            InvoiceTypeDto::CreditNote => InvoiceType::CreditNote,
        }
    }
}

/// An invoice line. The service computes net = quantity × unit_price and tax = net × rate / 100,
/// each rounded half away from zero to the currency's minor unit; `net`, `tax`, `gross` may be
/// sent to have them checked (400 totals_mismatch when they differ).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceLineRequest {
    #[schema(example = "Consulting, March")]
    pub description: Option<String>,
    /// > 0, up to 6 decimals; default 1.
    #[serde(default, deserialize_with = "opt_decimal")]
    #[schema(value_type = Option<String>, example = "2", pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub quantity: Option<Decimal>,
    /// Net unit price, up to 6 decimals; negative for a discount line.
    #[serde(deserialize_with = "decimal")]
    #[schema(value_type = String, example = "50.00", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub unit_price: Decimal,
    /// Output VAT (USt19, USt7, …) on outgoing, input VAT (VSt19, …) on incoming invoices.
    #[schema(example = "USt19")]
    pub tax_code: Option<String>,
    /// Revenue / expense account; default: the partner's default_account, then 8400 / 4900
    /// (SKR03) or 4400 / 6300 (SKR04).
    #[schema(example = "8400")]
    pub account: Option<String>,
    #[serde(default, deserialize_with = "opt_decimal")]
    #[schema(value_type = Option<String>, pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub net: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_decimal")]
    #[schema(value_type = Option<String>, pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub tax: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_decimal")]
    #[schema(value_type = Option<String>, pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub gross: Option<Decimal>,
}

impl From<InvoiceLineRequest> for NewInvoiceLine {
    fn from(l: InvoiceLineRequest) -> Self {
        NewInvoiceLine {
            description: l.description,
            quantity: l.quantity.unwrap_or(Decimal::ONE),
            unit_price: l.unit_price,
            tax_code: l.tax_code,
            account: l.account,
            net: l.net,
            tax: l.tax,
            gross: l.gross,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOutgoingInvoice {
    pub customer_id: Uuid,
    /// The PDF or e-invoice (POST /v1/documents).
    pub document_id: Option<Uuid>,
    /// Unique among the tenant's outgoing invoices.
    #[schema(example = "2026-0042")]
    pub invoice_number: String,
    #[schema(value_type = String, format = Date, example = "2026-03-14")]
    #[serde(deserialize_with = "crate::extract::date")]
    pub invoice_date: NaiveDate,
    /// Not before invoice_date. Without one the invoice is never overdue.
    #[schema(value_type = Option<String>, format = Date, example = "2026-03-28")]
    #[serde(default, deserialize_with = "crate::extract::opt_date")]
    pub due_date: Option<NaiveDate>,
    /// Optional; when given, must equal the sum of the lines.
    #[serde(default, deserialize_with = "opt_decimal")]
    #[schema(value_type = Option<String>, example = "100.00", pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub total_net: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_decimal")]
    #[schema(value_type = Option<String>, example = "19.00", pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub total_tax: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_decimal")]
    #[schema(value_type = Option<String>, example = "119.00", pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub total_gross: Option<Decimal>,
    /// The tenant's base currency (default); others are refused for now.
    #[schema(example = "EUR")]
    pub currency: Option<String>,
    /// invoice (default) or credit_note.
    #[serde(rename = "type", default)]
    #[schema(value_type = Option<String>, example = "invoice")]
    pub invoice_type: InvoiceTypeDto,
    /// Link this existing booking instead of booking the invoice; it must move the customer's
    /// debtor account by total_gross and its VAT lines by total_tax.
    pub intent_id: Option<Uuid>,
    pub notes: Option<String>,
    /// Cash discount (Skonto; an addition to seed 003): percent off when paid within
    /// cash_discount_days of the invoice date. Both or neither; invoices only.
    #[serde(default, deserialize_with = "opt_decimal")]
    #[schema(value_type = Option<String>, example = "2", pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub cash_discount_percent: Option<Decimal>,
    #[schema(example = 10, minimum = 1, maximum = 366)]
    pub cash_discount_days: Option<i64>,
    pub lines: Vec<InvoiceLineRequest>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIncomingInvoice {
    pub vendor_id: Uuid,
    pub document_id: Option<Uuid>,
    /// The vendor's number: unique per vendor.
    #[schema(example = "R-7781")]
    pub invoice_number: String,
    #[schema(value_type = String, format = Date, example = "2026-03-02")]
    #[serde(deserialize_with = "crate::extract::date")]
    pub invoice_date: NaiveDate,
    #[schema(value_type = Option<String>, format = Date, example = "2026-03-16")]
    #[serde(default, deserialize_with = "crate::extract::opt_date")]
    pub due_date: Option<NaiveDate>,
    #[serde(default, deserialize_with = "opt_decimal")]
    #[schema(value_type = Option<String>, pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub total_net: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_decimal")]
    #[schema(value_type = Option<String>, pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub total_tax: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_decimal")]
    #[schema(value_type = Option<String>, pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub total_gross: Option<Decimal>,
    pub currency: Option<String>,
    /// Addition to seed 003 (which lists no type for incoming invoices): invoice (default) or credit_note.
    #[serde(rename = "type", default)]
    #[schema(value_type = Option<String>, example = "invoice")]
    pub invoice_type: InvoiceTypeDto,
    /// Link this existing booking; it must move the vendor's creditor account by total_gross.
    pub intent_id: Option<Uuid>,
    pub notes: Option<String>,
    /// Cash discount (Skonto; an addition to seed 003): percent off when paid within
    /// cash_discount_days of the invoice date. Both or neither; invoices only.
    #[serde(default, deserialize_with = "opt_decimal")]
    #[schema(value_type = Option<String>, example = "2", pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub cash_discount_percent: Option<Decimal>,
    #[schema(example = 10, minimum = 1, maximum = 366)]
    pub cash_discount_days: Option<i64>,
    pub lines: Vec<InvoiceLineRequest>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateInvoice {
    /// Link another booking; only once the current one is reversed (status cancelled).
    pub intent_id: Option<Uuid>,
    /// null clears.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
    /// null clears (never overdue).
    #[serde(default, deserialize_with = "crate::extract::double_option_date")]
    #[schema(value_type = Option<String>, format = Date)]
    pub due_date: Option<Option<NaiveDate>>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CancelInvoice {
    /// Why (GoBD). Default "Invoice cancelled".
    pub reason: Option<String>,
    /// swap (default) or negative (DATEV Generalumkehr).
    #[schema(value_type = Option<String>, example = "swap")]
    pub posting_mode: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct InvoiceLineDto {
    pub line: i32,
    pub description: String,
    #[schema(example = "2")]
    pub quantity: String,
    #[schema(example = "50.00")]
    pub unit_price: String,
    pub tax_code: Option<String>,
    /// The code's rate when the invoice was written.
    #[schema(example = "19.00")]
    pub tax_rate: String,
    /// Reverse charge / intra-EU acquisition: tax self-assessed in the booking, none on the invoice.
    pub self_assessed: bool,
    pub account: String,
    #[schema(example = "100.00")]
    pub net: String,
    #[schema(example = "19.00")]
    pub tax: String,
    #[schema(example = "119.00")]
    pub gross: String,
}

/// A payment, cash discount or write-off applied to the invoice.
#[derive(Serialize, ToSchema)]
pub struct PaymentDto {
    pub id: Uuid,
    /// payment, discount (a cash discount taken with a payment: same intent_id) or write_off
    pub kind: String,
    pub amount: String,
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    /// Bank / cash, or the write-off account.
    pub counter_account: String,
    pub intent_id: Uuid,
    /// Its booking was reversed: it no longer counts.
    pub reversed: bool,
}

/// An invoice or credit note with its derived state.
#[derive(Serialize, ToSchema)]
pub struct InvoiceDto {
    pub id: Uuid,
    /// invoice or credit_note
    #[serde(rename = "type")]
    #[schema(example = "invoice")]
    pub invoice_type: String,
    /// Outgoing invoices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    /// Incoming invoices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_name: Option<String>,
    /// The partner's personal (debtor / creditor) account.
    #[schema(example = "10000")]
    pub account_number: String,
    pub invoice_number: String,
    #[schema(value_type = String, format = Date)]
    pub invoice_date: NaiveDate,
    #[schema(value_type = Option<String>, format = Date)]
    pub due_date: Option<NaiveDate>,
    pub currency: String,
    pub total_net: String,
    pub total_tax: String,
    pub total_gross: String,
    /// open, partially_paid, paid, overdue or cancelled (on today's date).
    #[schema(example = "open")]
    pub status: String,
    /// Payments and write-offs applied (reversed ones left out).
    pub paid_amount: String,
    /// total_gross − paid_amount. For a cancelled invoice that had payments this is negative:
    /// the payments are then owed back.
    pub remaining_amount: String,
    /// Days past due_date while something is open, else 0.
    pub days_overdue: i64,
    /// The booking of the invoice.
    pub intent_id: Uuid,
    /// The reversal of that booking, once cancelled.
    pub cancellation_intent_id: Option<Uuid>,
    /// Cash-discount terms (an addition to seed 003), when the invoice grants them.
    #[schema(example = "2")]
    pub cash_discount_percent: Option<String>,
    #[schema(example = 10)]
    pub cash_discount_days: Option<u32>,
    /// The discount on what is still open, and the last day it may be taken (null without
    /// terms, or when nothing is open).
    #[schema(example = "2.38")]
    pub cash_discount_amount: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    pub cash_discount_deadline: Option<NaiveDate>,
    pub document_id: Option<Uuid>,
    pub notes: Option<String>,
    /// In GET one (and the responses of POST, PATCH, cancel); left out in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<InvoiceLineDto>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payments: Option<Vec<PaymentDto>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// An open item: an invoice or credit note with an amount left.
#[derive(Serialize, ToSchema)]
pub struct OpenItemDto {
    pub invoice_id: Uuid,
    pub invoice_number: String,
    /// invoice or credit_note
    #[serde(rename = "type")]
    pub invoice_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_name: Option<String>,
    pub account_number: String,
    #[schema(value_type = String, format = Date)]
    pub invoice_date: NaiveDate,
    #[schema(value_type = Option<String>, format = Date)]
    pub due_date: Option<NaiveDate>,
    pub currency: String,
    pub total_gross: String,
    pub paid_amount: String,
    /// Still open (total_gross − paid_amount), of the same sign for invoices and credit notes.
    #[schema(example = "119.00")]
    pub remaining_amount: String,
    /// What the item adds to the partner's open amount: remaining_amount for an invoice, its
    /// negative for a credit note. Summed over a partner it equals its personal account's
    /// balance as long as nothing is booked on that account by hand.
    #[schema(example = "119.00")]
    pub open_amount: String,
    pub status: String,
    /// Days past due_date (0 when not yet due or without a due date).
    pub days_overdue: i64,
    /// current, 1_30, 31_60, 61_90 or over_90 (days past due).
    #[schema(example = "1_30")]
    pub aging_bucket: String,
    /// Cash-discount terms (an addition to seed 003), when the invoice grants them.
    #[schema(example = "2")]
    pub cash_discount_percent: Option<String>,
    #[schema(example = 10)]
    pub cash_discount_days: Option<u32>,
    /// The discount on what is still open, and the last day it may be taken (null without
    /// terms, or when nothing is open).
    #[schema(example = "2.38")]
    pub cash_discount_amount: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    pub cash_discount_deadline: Option<NaiveDate>,
}

fn quantity_text(q: Decimal) -> String {
    q.normalize().to_string()
}

fn price_text(p: Decimal, currency: &str) -> String {
    let n = p.normalize();
    let minor = journal::Currency::from_code(currency)
        .map(|c| c.minor_units())
        .unwrap_or(2);
    if n.scale() < minor {
        money(n, currency)
    } else {
        n.to_string()
    }
}

fn rate_text(rate: Decimal) -> String {
    let mut r = rate.normalize();
    if r.scale() < 2 {
        r.rescale(2);
    }
    r.to_string()
}

fn line_dto(l: InvoiceLine, currency: &str) -> InvoiceLineDto {
    InvoiceLineDto {
        line: l.line_no,
        description: l.description,
        quantity: quantity_text(l.quantity),
        unit_price: price_text(l.unit_price, currency),
        tax_code: l.tax_code,
        tax_rate: rate_text(l.tax_rate),
        self_assessed: l.self_assessed,
        account: l.account,
        net: money(l.net, currency),
        tax: money(l.tax, currency),
        gross: money(l.gross, currency),
    }
}

fn payment_dto(a: Application, currency: &str) -> PaymentDto {
    PaymentDto {
        id: a.id,
        kind: a.kind.as_str().to_string(),
        amount: money(a.amount, currency),
        date: a.date,
        counter_account: a.counter_account,
        intent_id: a.intent_id,
        reversed: a.reversed,
    }
}

/// (customer_id, customer_name, vendor_id, vendor_name) of an invoice.
type PartnerFields = (Option<Uuid>, Option<String>, Option<Uuid>, Option<String>);

fn partner_fields(i: &Invoice) -> PartnerFields {
    match i.direction {
        Direction::Outgoing => (Some(i.partner_id), Some(i.partner_name.clone()), None, None),
        Direction::Incoming => (None, None, Some(i.partner_id), Some(i.partner_name.clone())),
    }
}

/// (percent, days, amount, deadline) of an invoice's cash-discount terms on what is open.
type TermsFields = (
    Option<String>,
    Option<u32>,
    Option<String>,
    Option<NaiveDate>,
);

fn terms_fields(i: &Invoice) -> TermsFields {
    let Some(terms) = i.cash_discount else {
        return (None, None, None, None);
    };
    let remaining = i.remaining();
    let offered = journal::Currency::from_code(&i.currency)
        .ok()
        .filter(|_| remaining > Decimal::ZERO && !i.state.cancelled)
        .map(|c| receivables::offered_discount(c, remaining, i.invoice_date, &terms));
    (
        Some(terms.percent.normalize().to_string()),
        Some(terms.days),
        offered.map(|o| money(o.amount, &i.currency)),
        offered.map(|o| o.deadline),
    )
}

fn invoice_dto(i: Invoice, today: NaiveDate, with_details: bool) -> InvoiceDto {
    let (customer_id, customer_name, vendor_id, vendor_name) = partner_fields(&i);
    let (cash_discount_percent, cash_discount_days, cash_discount_amount, cash_discount_deadline) =
        terms_fields(&i);
    let c = i.currency.clone();
    InvoiceDto {
        id: i.id,
        invoice_type: i.invoice_type.as_str().to_string(),
        customer_id,
        customer_name,
        vendor_id,
        vendor_name,
        account_number: i.account_number.clone(),
        invoice_number: i.invoice_number.clone(),
        invoice_date: i.invoice_date,
        due_date: i.due_date,
        total_net: money(i.total_net, &c),
        total_tax: money(i.total_tax, &c),
        total_gross: money(i.total_gross, &c),
        status: i.status(today).as_str().to_string(),
        paid_amount: money(i.state.settled, &c),
        remaining_amount: money(i.remaining(), &c),
        days_overdue: i.state.days_overdue(today),
        intent_id: i.intent_id,
        cancellation_intent_id: i.cancellation_intent_id,
        cash_discount_percent,
        cash_discount_days,
        cash_discount_amount,
        cash_discount_deadline,
        document_id: i.document_id,
        notes: i.notes,
        lines: with_details.then(|| i.lines.into_iter().map(|l| line_dto(l, &c)).collect()),
        payments: with_details.then(|| {
            i.applications
                .into_iter()
                .map(|a| payment_dto(a, &c))
                .collect()
        }),
        created_at: i.created_at,
        updated_at: i.updated_at,
        currency: c,
    }
}

fn open_item_dto(o: OpenItem, today: NaiveDate) -> OpenItemDto {
    let i = o.invoice;
    let (customer_id, customer_name, vendor_id, vendor_name) = partner_fields(&i);
    let (cash_discount_percent, cash_discount_days, cash_discount_amount, cash_discount_deadline) =
        terms_fields(&i);
    let c = &i.currency;
    OpenItemDto {
        invoice_id: i.id,
        invoice_number: i.invoice_number.clone(),
        invoice_type: i.invoice_type.as_str().to_string(),
        customer_id,
        customer_name,
        vendor_id,
        vendor_name,
        account_number: i.account_number.clone(),
        invoice_date: i.invoice_date,
        due_date: i.due_date,
        total_gross: money(i.total_gross, c),
        paid_amount: money(i.state.settled, c),
        remaining_amount: money(i.remaining(), c),
        open_amount: money(i.signed_remaining(), c),
        status: i.status(today).as_str().to_string(),
        days_overdue: o.days_overdue,
        aging_bucket: o.aging_bucket.as_str().to_string(),
        cash_discount_percent,
        cash_discount_days,
        cash_discount_amount,
        cash_discount_deadline,
        currency: i.currency.clone(),
    }
}

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

fn uuid_param(q: &Params, name: &str) -> Option<Uuid> {
    q.text(name).and_then(|v| v.parse().ok())
}

fn respond(invoice: Invoice, status: StatusCode) -> HttpResponse {
    HttpResponse::build(status).json(invoice_dto(invoice, today(), true))
}

async fn list(
    state: web::Data<AppState>,
    p: Principal,
    q: Params,
    direction: Direction,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_READ)?;
    let partner_param = match direction {
        Direction::Outgoing => "customer_id",
        Direction::Incoming => "vendor_id",
    };
    let filter = InvoiceFilter {
        partner_id: uuid_param(&q, partner_param),
        // Comma-separated; unknown values are ignored.
        statuses: q
            .text("status")
            .map(|s| {
                s.split(',')
                    .filter_map(|x| InvoiceStatus::parse(x.trim()))
                    .collect()
            })
            .unwrap_or_default(),
        invoice_type: q.text("type").and_then(|t| InvoiceType::parse(&t)),
        start_date: q.date("start_date"),
        end_date: q.date("end_date"),
        limit: q.limit(),
        offset: q.offset(),
        after: crate::routes::list_cursor(&q),
    };
    let today = today();
    let (invoices, total, next) = state
        .app
        .list_invoices(p.tenant_id, direction, &filter, today)
        .await?;
    let body: Vec<InvoiceDto> = invoices
        .into_iter()
        .map(|i| invoice_dto(i, today, false))
        .collect();
    Ok(crate::routes::with_page(HttpResponse::Ok(), total, next).json(body))
}

async fn create(
    state: web::Data<AppState>,
    p: Principal,
    key: IdempotencyKeyOf,
    new: NewInvoice,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_WRITE)?;
    let render = |i: &Invoice| StoredResponse::json(201, &invoice_dto(i.clone(), today(), true));
    let invoice = state
        .app
        .create_invoice(p.tenant_id, new, &p.actor, key.with(render))
        .await?;
    Ok(stored_answer(render(&invoice), key.0.is_some()))
}

async fn get(
    state: web::Data<AppState>,
    p: Principal,
    id: &str,
    direction: Direction,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_READ)?;
    let invoice = state
        .app
        .get_invoice(
            p.tenant_id,
            Some(direction),
            crate::routes::path_id("invoice", id)?,
        )
        .await?;
    Ok(respond(invoice, StatusCode::OK))
}

async fn update(
    state: web::Data<AppState>,
    p: Principal,
    id: &str,
    b: UpdateInvoice,
    direction: Direction,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_WRITE)?;
    let id = crate::routes::path_id("invoice", id)?;
    let change = InvoiceChange {
        intent_id: b.intent_id,
        notes: b.notes,
        due_date: b.due_date,
    };
    let invoice = state
        .app
        .update_invoice(p.tenant_id, direction, id, change, &p.actor)
        .await?;
    Ok(respond(invoice, StatusCode::OK))
}

async fn cancel(
    state: web::Data<AppState>,
    p: Principal,
    id: &str,
    req: HttpRequest,
    body: web::Bytes,
    direction: Direction,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_WRITE)?;
    let id = crate::routes::path_id("invoice", id)?;
    // The body is optional: nothing (or null) cancels with the defaults.
    let text = std::str::from_utf8(&body).unwrap_or("x").trim();
    let b: CancelInvoice = if text.is_empty() || text == "null" {
        CancelInvoice::default()
    } else if !is_json(&req) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Content-Type must be application/json",
        ));
    } else {
        parse_json(&body)?
    };
    let mode = match b.posting_mode.as_deref() {
        None | Some("swap") => journal::PostingMode::Swap,
        Some("negative") => journal::PostingMode::Negative,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_field",
                format!("posting_mode: {other:?} is neither swap nor negative"),
            )
            .with_field("posting_mode", "must be swap or negative"))
        }
    };
    let cancel = Cancel {
        reason: b.reason,
        posting_mode: mode,
    };
    let invoice = state
        .app
        .cancel_invoice(p.tenant_id, direction, id, &cancel, &p.actor)
        .await?;
    Ok(respond(invoice, StatusCode::OK))
}

async fn open_items(
    state: web::Data<AppState>,
    p: Principal,
    q: Params,
    direction: Direction,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_READ)?;
    let partner_param = match direction {
        Direction::Outgoing => "customer_id",
        Direction::Incoming => "vendor_id",
    };
    let as_of = q.date("as_of");
    let today = as_of.unwrap_or_else(today);
    let (items, total, next) = state
        .app
        .open_items(
            p.tenant_id,
            direction,
            &OpenItemFilter {
                partner_id: uuid_param(&q, partner_param),
                as_of,
                limit: q.limit(),
                offset: q.offset(),
                after: crate::routes::list_cursor(&q),
            },
            today,
        )
        .await?;
    let body: Vec<OpenItemDto> = items.into_iter().map(|o| open_item_dto(o, today)).collect();
    Ok(crate::routes::with_page(HttpResponse::Ok(), total, next).json(body))
}

fn outgoing(b: CreateOutgoingInvoice) -> NewInvoice {
    NewInvoice {
        direction: Direction::Outgoing,
        invoice_type: b.invoice_type.into(),
        partner_id: b.customer_id,
        document_id: b.document_id,
        invoice_number: b.invoice_number,
        invoice_date: b.invoice_date,
        due_date: b.due_date,
        totals: GivenTotals {
            net: b.total_net,
            tax: b.total_tax,
            gross: b.total_gross,
        },
        currency: b.currency,
        intent_id: b.intent_id,
        notes: b.notes,
        lines: b.lines.into_iter().map(Into::into).collect(),
        cash_discount_percent: b.cash_discount_percent,
        cash_discount_days: b.cash_discount_days,
    }
}

fn incoming(b: CreateIncomingInvoice) -> NewInvoice {
    NewInvoice {
        direction: Direction::Incoming,
        invoice_type: b.invoice_type.into(),
        partner_id: b.vendor_id,
        document_id: b.document_id,
        invoice_number: b.invoice_number,
        invoice_date: b.invoice_date,
        due_date: b.due_date,
        totals: GivenTotals {
            net: b.total_net,
            tax: b.total_tax,
            gross: b.total_gross,
        },
        currency: b.currency,
        intent_id: b.intent_id,
        notes: b.notes,
        lines: b.lines.into_iter().map(Into::into).collect(),
        cash_discount_percent: b.cash_discount_percent,
        cash_discount_days: b.cash_discount_days,
    }
}

#[utoipa::path(get, path = "/v1/outgoing-invoices", tag = "Receivables",
    params(("customer_id" = Option<Uuid>, Query), ("status" = Option<String>, Query, description = "open, partially_paid, paid, overdue, cancelled; comma-separated for several"),
           ("type" = Option<String>, Query, description = "invoice or credit_note"),
           ("start_date" = Option<String>, Query, description = "invoice_date from, YYYY-MM-DD"),
           ("end_date" = Option<String>, Query, description = "invoice_date to, YYYY-MM-DD"),
           ("limit" = Option<i64>, Query, description = "1..500, default 100"), ("offset" = Option<i64>, Query), ("cursor" = Option<String>, Query, description = "X-Next-Cursor of the previous page: keyset paging, offset is then ignored; a malformed cursor is ignored (first page)")),
    responses((status = 200, body = [InvoiceDto], description = "bare array, newest invoice_date first, without lines; the total is in X-Total-Count", headers(("X-Total-Count" = i64, description = "exact up to 10,000; beyond, an estimate marked by X-Total-Count-Estimated: true"), ("X-Next-Cursor" = String, description = "pass as cursor for the next page; absent on the last page"))),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = ["invoices:read"])))]
pub async fn list_outgoing(
    state: web::Data<AppState>,
    p: Principal,
    q: Params,
) -> ApiResult<HttpResponse> {
    list(state, p, q, Direction::Outgoing).await
}

#[utoipa::path(post, path = "/v1/outgoing-invoices", tag = "Receivables", request_body = CreateOutgoingInvoice,
    responses((status = 201, body = InvoiceDto, description = "created and booked (debtor debit gross / revenue credit net + output VAT per line); carries its id"),
              (status = 400, body = ErrorBody, description = "totals_mismatch, no_lines, invalid_quantity, amount_precision, non_positive_total, unknown_customer, unknown_account, unknown_tax_code, unknown_document, unknown_intent, intent_mismatch, invalid_due_date, unsupported_currency, unknown_field, …"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "duplicate_invoice_number, customer_inactive, period_locked, intent_already_linked, already_reversed"),
              (status = 415, body = ErrorBody)),
    security(("bearer" = ["invoices:write"])))]
pub async fn create_outgoing(
    state: web::Data<AppState>,
    p: Principal,
    key: IdempotencyKeyOf,
    body: JsonBody<CreateOutgoingInvoice>,
) -> ApiResult<HttpResponse> {
    create(state, p, key, outgoing(body.0)).await
}

#[utoipa::path(get, path = "/v1/outgoing-invoices/open-items", tag = "Receivables",
    params(("customer_id" = Option<Uuid>, Query),
           ("as_of" = Option<String>, Query, description = "YYYY-MM-DD: the books at the end of that day, aged against it (default: everything, aged against today)"),
           ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query), ("cursor" = Option<String>, Query, description = "X-Next-Cursor of the previous page: keyset paging, offset is then ignored; a malformed cursor is ignored (first page)")),
    responses((status = 200, body = [OpenItemDto], description = "bare array, oldest due first, each with days_overdue and aging_bucket; the total is in X-Total-Count", headers(("X-Total-Count" = i64, description = "exact up to 10,000; beyond, an estimate marked by X-Total-Count-Estimated: true"), ("X-Next-Cursor" = String, description = "pass as cursor for the next page; absent on the last page"))),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = ["invoices:read"])))]
pub async fn open_items_outgoing(
    state: web::Data<AppState>,
    p: Principal,
    q: Params,
) -> ApiResult<HttpResponse> {
    open_items(state, p, q, Direction::Outgoing).await
}

#[utoipa::path(get, path = "/v1/outgoing-invoices/{id}", tag = "Receivables", params(("id" = Uuid, Path)),
    responses((status = 200, body = InvoiceDto, description = "with status, remaining_amount, lines and payments"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = ["invoices:read"])))]
pub async fn get_outgoing(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    get(state, p, &id, Direction::Outgoing).await
}

#[utoipa::path(patch, path = "/v1/outgoing-invoices/{id}", tag = "Receivables", request_body = UpdateInvoice, params(("id" = Uuid, Path)),
    responses((status = 200, body = InvoiceDto), (status = 400, body = ErrorBody, description = "invalid_due_date, unknown_intent, intent_mismatch, too_long"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "invoice_booked (link another booking only after cancelling), intent_already_linked, already_reversed")),
    security(("bearer" = ["invoices:write"])))]
pub async fn update_outgoing(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    body: JsonBody<UpdateInvoice>,
) -> ApiResult<HttpResponse> {
    update(state, p, &id, body.0, Direction::Outgoing).await
}

#[utoipa::path(post, path = "/v1/outgoing-invoices/{id}/cancel", tag = "Receivables", request_body = Option<CancelInvoice>,
    params(("id" = Uuid, Path)),
    responses((status = 200, body = InvoiceDto, description = "addition to seed 003: reverses the invoice's booking; status cancelled"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "already_reversed, invoice_has_payments, no_open_period")),
    security(("bearer" = ["invoices:write"])))]
pub async fn cancel_outgoing(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    cancel(state, p, &id, req, body, Direction::Outgoing).await
}

#[utoipa::path(get, path = "/v1/invoices", tag = "Payables",
    params(("vendor_id" = Option<Uuid>, Query), ("status" = Option<String>, Query, description = "open, partially_paid, paid, overdue, cancelled; comma-separated for several"),
           ("type" = Option<String>, Query, description = "invoice or credit_note"),
           ("start_date" = Option<String>, Query), ("end_date" = Option<String>, Query),
           ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query), ("cursor" = Option<String>, Query, description = "X-Next-Cursor of the previous page: keyset paging, offset is then ignored; a malformed cursor is ignored (first page)")),
    responses((status = 200, body = [InvoiceDto], description = "bare array, newest invoice_date first, without lines; the total is in X-Total-Count", headers(("X-Total-Count" = i64, description = "exact up to 10,000; beyond, an estimate marked by X-Total-Count-Estimated: true"), ("X-Next-Cursor" = String, description = "pass as cursor for the next page; absent on the last page"))),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = ["invoices:read"])))]
pub async fn list_incoming(
    state: web::Data<AppState>,
    p: Principal,
    q: Params,
) -> ApiResult<HttpResponse> {
    list(state, p, q, Direction::Incoming).await
}

#[utoipa::path(post, path = "/v1/invoices", tag = "Payables", request_body = CreateIncomingInvoice,
    responses((status = 201, body = InvoiceDto, description = "created and booked (expense debit net + input VAT per line / creditor credit gross); carries its id"),
              (status = 400, body = ErrorBody, description = "totals_mismatch, unknown_vendor, unknown_account, unknown_tax_code, intent_mismatch, …"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "duplicate_invoice_number (per vendor), vendor_inactive, period_locked, intent_already_linked"),
              (status = 415, body = ErrorBody)),
    security(("bearer" = ["invoices:write"])))]
pub async fn create_incoming(
    state: web::Data<AppState>,
    p: Principal,
    key: IdempotencyKeyOf,
    body: JsonBody<CreateIncomingInvoice>,
) -> ApiResult<HttpResponse> {
    create(state, p, key, incoming(body.0)).await
}

#[utoipa::path(get, path = "/v1/invoices/open-items", tag = "Payables",
    params(("vendor_id" = Option<Uuid>, Query), ("as_of" = Option<String>, Query), ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query), ("cursor" = Option<String>, Query, description = "X-Next-Cursor of the previous page: keyset paging, offset is then ignored; a malformed cursor is ignored (first page)")),
    responses((status = 200, body = [OpenItemDto], description = "bare array, oldest due first; the total is in X-Total-Count", headers(("X-Total-Count" = i64, description = "exact up to 10,000; beyond, an estimate marked by X-Total-Count-Estimated: true"), ("X-Next-Cursor" = String, description = "pass as cursor for the next page; absent on the last page"))),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = ["invoices:read"])))]
pub async fn open_items_incoming(
    state: web::Data<AppState>,
    p: Principal,
    q: Params,
) -> ApiResult<HttpResponse> {
    open_items(state, p, q, Direction::Incoming).await
}

#[utoipa::path(get, path = "/v1/invoices/{id}", tag = "Payables", params(("id" = Uuid, Path)),
    responses((status = 200, body = InvoiceDto, description = "with status, remaining_amount, lines and payments"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = ["invoices:read"])))]
pub async fn get_incoming(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    get(state, p, &id, Direction::Incoming).await
}

#[utoipa::path(patch, path = "/v1/invoices/{id}", tag = "Payables", request_body = UpdateInvoice, params(("id" = Uuid, Path)),
    responses((status = 200, body = InvoiceDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = ["invoices:write"])))]
pub async fn update_incoming(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    body: JsonBody<UpdateInvoice>,
) -> ApiResult<HttpResponse> {
    update(state, p, &id, body.0, Direction::Incoming).await
}

#[utoipa::path(post, path = "/v1/invoices/{id}/cancel", tag = "Payables", request_body = Option<CancelInvoice>,
    params(("id" = Uuid, Path)),
    responses((status = 200, body = InvoiceDto, description = "addition to seed 003: reverses the invoice's booking; status cancelled"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "already_reversed, invoice_has_payments, no_open_period")),
    security(("bearer" = ["invoices:write"])))]
pub async fn cancel_incoming(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    cancel(state, p, &id, req, body, Direction::Incoming).await
}

/// A payment of an open item (an addition to seed 003, which has no route for it).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayInvoice {
    #[schema(value_type = String, format = Date, example = "2026-03-20")]
    #[serde(deserialize_with = "crate::extract::date")]
    pub date: NaiveDate,
    /// The money received or paid, > 0; with `discount` at most what is open.
    #[serde(deserialize_with = "decimal")]
    #[schema(value_type = String, example = "116.62", pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub amount: Decimal,
    /// Where the money moved: cash (1000 / 1600), a bank or clearing account.
    #[schema(example = "1000")]
    pub account: String,
    /// A cash discount (Skonto) taken, gross: split over the invoice's VAT rates and booked
    /// with its tax correction on the chart's discount accounts (SKR03 8736/8731 granted,
    /// 3736/3731 received; SKR04 4736/4731, 5736/5731).
    #[serde(default, deserialize_with = "opt_decimal")]
    #[schema(value_type = Option<String>, example = "2.38", pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub discount: Option<Decimal>,
    /// Books the discount on this account instead (needed for rates without a chart role).
    pub discount_account: Option<String>,
}

/// A write-off of an open item (an addition to seed 003).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteOffInvoice {
    #[schema(value_type = String, format = Date, example = "2026-12-31")]
    #[serde(deserialize_with = "crate::extract::date")]
    pub date: NaiveDate,
    /// Default: everything open.
    #[serde(default, deserialize_with = "opt_decimal")]
    #[schema(value_type = Option<String>, example = "119.00", pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub amount: Option<Decimal>,
    /// Why (GoBD), 1 to 300 characters; goes into the booking's description.
    #[schema(example = "Customer insolvent")]
    pub reason: String,
    /// Default: the chart's write-off account of the side (SKR03 2400 / 8603, SKR04 6930 / 4830).
    pub account: Option<String>,
    /// The VAT correction (§ 17 UStG), e.g. USt19 on a receivable.
    pub tax_code: Option<String>,
}

/// What a payment or write-off applied, and the invoice afterwards.
#[derive(Serialize, ToSchema)]
pub struct SettledDto {
    /// The payment (and its cash discount), or the write-off.
    pub applications: Vec<PaymentDto>,
    /// With its new status, remaining_amount and payments.
    pub invoice: InvoiceDto,
}

fn settled_dto(s: Settled) -> SettledDto {
    let c = s.invoice.currency.clone();
    SettledDto {
        applications: s
            .applications
            .into_iter()
            .map(|a| payment_dto(a, &c))
            .collect(),
        invoice: invoice_dto(s.invoice, today(), true),
    }
}

async fn pay(
    state: web::Data<AppState>,
    p: Principal,
    key: IdempotencyKeyOf,
    id: &str,
    b: PayInvoice,
    direction: Direction,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_WRITE)?;
    let id = crate::routes::path_id("invoice", id)?;
    let render = |s: &Settled| StoredResponse::json(201, &settled_dto(s.clone()));
    let payment = InvoicePayment {
        amount: b.amount,
        date: b.date,
        account: Some(b.account),
        discount: b.discount,
        discount_account: b.discount_account,
    };
    let settled = state
        .app
        .pay_invoice(
            p.tenant_id,
            direction,
            id,
            payment,
            &p.actor,
            key.with(render),
        )
        .await?;
    Ok(stored_answer(render(&settled), key.0.is_some()))
}

async fn write_off(
    state: web::Data<AppState>,
    p: Principal,
    key: IdempotencyKeyOf,
    id: &str,
    b: WriteOffInvoice,
    direction: Direction,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_WRITE)?;
    let id = crate::routes::path_id("invoice", id)?;
    let render = |s: &Settled| StoredResponse::json(201, &settled_dto(s.clone()));
    let w = InvoiceWriteOff {
        amount: b.amount,
        date: b.date,
        reason: b.reason,
        account: b.account,
        tax_code: b.tax_code,
    };
    let settled = state
        .app
        .write_off_invoice(p.tenant_id, direction, id, w, &p.actor, key.with(render))
        .await?;
    Ok(stored_answer(render(&settled), key.0.is_some()))
}

#[utoipa::path(post, path = "/v1/outgoing-invoices/{id}/payments", tag = "Receivables", request_body = PayInvoice,
    params(("id" = Uuid, Path)),
    responses((status = 201, body = SettledDto, description = "addition to seed 003: booked (account debit / debtor credit, a discount on its accounts with the VAT correction) and applied, in one transaction"),
              (status = 400, body = ErrorBody, description = "non_positive_amount, amount_precision, invalid_discount, discount_on_credit_note, unknown_account (also: no discount account for a rate), invalid_date, unknown_field"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "overpayment (amount + discount above what is open), invoice_cancelled, period_locked"),
              (status = 415, body = ErrorBody)),
    security(("bearer" = ["invoices:write"])))]
pub async fn pay_outgoing(
    state: web::Data<AppState>,
    p: Principal,
    key: IdempotencyKeyOf,
    id: web::Path<String>,
    body: JsonBody<PayInvoice>,
) -> ApiResult<HttpResponse> {
    pay(state, p, key, &id, body.0, Direction::Outgoing).await
}

#[utoipa::path(post, path = "/v1/outgoing-invoices/{id}/write-off", tag = "Receivables", request_body = WriteOffInvoice,
    params(("id" = Uuid, Path)),
    responses((status = 201, body = SettledDto, description = "addition to seed 003: booked (write-off account debit / debtor credit, with the VAT correction of tax_code) and applied"),
              (status = 400, body = ErrorBody, description = "invalid_reason, non_positive_amount, amount_precision, unknown_account, unknown_tax_code, invalid_date"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "overpayment, nothing_open (write-off without amount), invoice_cancelled, period_locked"),
              (status = 415, body = ErrorBody)),
    security(("bearer" = ["invoices:write"])))]
pub async fn write_off_outgoing(
    state: web::Data<AppState>,
    p: Principal,
    key: IdempotencyKeyOf,
    id: web::Path<String>,
    body: JsonBody<WriteOffInvoice>,
) -> ApiResult<HttpResponse> {
    write_off(state, p, key, &id, body.0, Direction::Outgoing).await
}

#[utoipa::path(post, path = "/v1/invoices/{id}/payments", tag = "Payables", request_body = PayInvoice,
    params(("id" = Uuid, Path)),
    responses((status = 201, body = SettledDto, description = "addition to seed 003: booked (creditor debit / account credit, a discount received on its accounts with the input-VAT correction) and applied"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "overpayment, nothing_open (write-off without amount), invoice_cancelled, period_locked"),
              (status = 415, body = ErrorBody)),
    security(("bearer" = ["invoices:write"])))]
pub async fn pay_incoming(
    state: web::Data<AppState>,
    p: Principal,
    key: IdempotencyKeyOf,
    id: web::Path<String>,
    body: JsonBody<PayInvoice>,
) -> ApiResult<HttpResponse> {
    pay(state, p, key, &id, body.0, Direction::Incoming).await
}

#[utoipa::path(post, path = "/v1/invoices/{id}/write-off", tag = "Payables", request_body = WriteOffInvoice,
    params(("id" = Uuid, Path)),
    responses((status = 201, body = SettledDto, description = "addition to seed 003: booked (creditor debit / other operating income credit) and applied"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 415, body = ErrorBody)),
    security(("bearer" = ["invoices:write"])))]
pub async fn write_off_incoming(
    state: web::Data<AppState>,
    p: Principal,
    key: IdempotencyKeyOf,
    id: web::Path<String>,
    body: JsonBody<WriteOffInvoice>,
) -> ApiResult<HttpResponse> {
    write_off(state, p, key, &id, body.0, Direction::Incoming).await
}
