//! Payment runs (`/v1/payment-runs`): eligible invoices, a run as a draft, four-eyes approval,
//! the SEPA file (pain.001.001.09, or 03 on request; stored and replayed), completion (the
//! payments booked and applied) and cancellation.

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{decimal, stored_answer, IdempotencyKeyOf, JsonBody, Params};
use crate::routes::{money, ErrorBody};
use crate::AppState;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use app::payment_runs::{EligibleInvoice, Export, NewPaymentRun, PaymentRun, RunFilter, RunRow};
use app::StoredResponse;
use chrono::{DateTime, Days, NaiveDate, Utc};
use payments::{PainVersion, PaymentRunStatus};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

const SCOPE_READ: &str = "payments:read";
const SCOPE_WRITE: &str = "payments:write";
const EUR: &str = "EUR";

/// A partial amount for one of the run's invoices (addition to seed 003).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunAmountRequest {
    pub invoice_id: Uuid,
    /// Positive, at most 2 decimals, not above what is open; no Skonto is taken then.
    #[serde(deserialize_with = "decimal")]
    #[schema(value_type = String, example = "500.00")]
    pub amount: Decimal,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePaymentRun {
    /// The paying bank account: it needs an IBAN and must be in EUR.
    pub bank_account_id: Uuid,
    /// Requested execution date; not in the past.
    #[schema(value_type = String, format = Date, example = "2026-11-27")]
    #[serde(deserialize_with = "crate::extract::date")]
    pub execution_date: NaiveDate,
    /// Open incoming invoices to pay (at most 5000). Open credit notes of their vendors are
    /// netted automatically.
    pub invoice_ids: Vec<Uuid>,
    #[schema(example = "Zahllauf KW 48")]
    pub label: Option<String>,
    /// One payment per vendor instead of one per invoice (default false).
    pub batch_by_vendor: Option<bool>,
    /// Partial amounts (default: what is open, less Skonto within its deadline).
    pub amounts: Option<Vec<RunAmountRequest>>,
}

#[derive(Serialize, ToSchema)]
pub struct RunItemDto {
    pub invoice_id: Uuid,
    pub vendor_id: Uuid,
    pub invoice_number: String,
    /// invoice, or credit_note (netted)
    pub invoice_type: String,
    /// What was open when the run was planned.
    #[schema(example = "1190.00")]
    pub open_amount: String,
    /// What the run settles on the item: positive for an invoice, negative for a credit note.
    #[schema(example = "1166.20")]
    pub amount: String,
    /// The Skonto taken ("0.00" when none).
    #[schema(example = "23.80")]
    pub discount: String,
    /// The payment that carries the invoice; null for an item wholly set off by credit notes.
    pub end_to_end_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RunPaymentDto {
    /// The SEPA end-to-end id: the bank statement line of this payment carries it.
    pub end_to_end_id: String,
    pub vendor_id: Uuid,
    pub creditor_name: String,
    pub creditor_iban: String,
    pub creditor_bic: Option<String>,
    #[schema(example = "1166.20")]
    pub amount: String,
    /// The invoice numbers (unstructured remittance, at most 140 characters).
    pub remittance: String,
    /// The booking made on completion.
    pub intent_id: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentRunDto {
    pub id: Uuid,
    /// draft, approved, exported, completed or cancelled
    pub status: String,
    pub label: Option<String>,
    pub bank_account_id: Uuid,
    #[schema(value_type = String, format = Date)]
    pub execution_date: NaiveDate,
    pub batch_by_vendor: bool,
    /// Always EUR (SEPA).
    pub currency: String,
    #[schema(example = "1166.20")]
    pub total_amount: String,
    /// Invoices paid (credit notes not counted).
    pub invoice_count: i32,
    /// Payments (SEPA transactions) in the file.
    pub transaction_count: i64,
    /// Without it in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<RunItemDto>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payments: Option<Vec<RunPaymentDto>>,
    /// Candidates left out, each with invoice_id, vendor_id and reason (net_not_positive,
    /// no_invoice_to_net, not_nettable, invoice_in_active_run).
    #[schema(value_type = Vec<Object>)]
    pub excluded: serde_json::Value,
    /// The creating principal (`api_key:<id>` or `user:<id>`).
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    pub exported_at: Option<DateTime<Utc>>,
    pub message_id: Option<String>,
    /// pain.001.001.09 or pain.001.001.03, once exported.
    pub pain_version: Option<String>,
    pub completed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct ExportDto {
    pub run: PaymentRunDto,
    /// The pain.001 document (UTF-8).
    pub sepa_xml: String,
    pub message_id: String,
    pub pain_version: String,
    pub number_of_transactions: usize,
    #[schema(example = "1166.20")]
    pub control_sum: String,
}

#[derive(Serialize, ToSchema)]
pub struct EligibleInvoiceDto {
    pub invoice_id: Uuid,
    pub vendor_id: Uuid,
    pub vendor_name: String,
    pub invoice_number: String,
    #[schema(value_type = String, format = Date)]
    pub invoice_date: NaiveDate,
    /// The invoice date when it has no due date.
    #[schema(value_type = String, format = Date)]
    pub due_date: NaiveDate,
    pub currency: String,
    #[schema(example = "1190.00")]
    pub remaining_amount: String,
    /// The cash discount its terms offer on the remaining amount (null without terms).
    #[schema(example = "23.80")]
    pub skonto_amount: Option<String>,
    /// The last day the Skonto may be taken.
    #[schema(value_type = Option<String>, format = Date)]
    pub skonto_deadline: Option<NaiveDate>,
    /// What a run executed on `execution_date` pays: the remaining amount, less the Skonto
    /// when that date is within the deadline.
    #[schema(example = "1166.20")]
    pub payable_amount: String,
}

fn run_dto(r: PaymentRun) -> PaymentRunDto {
    let items = r
        .items
        .into_iter()
        .map(|i| RunItemDto {
            invoice_id: i.invoice_id,
            vendor_id: i.vendor_id,
            invoice_number: i.invoice_number,
            invoice_type: i.invoice_type.as_str().to_string(),
            open_amount: money(i.open_amount, EUR),
            amount: money(i.amount, EUR),
            discount: money(i.discount, EUR),
            end_to_end_id: i.end_to_end_id,
        })
        .collect();
    let payments = r
        .payments
        .into_iter()
        .map(|p| RunPaymentDto {
            end_to_end_id: p.end_to_end_id,
            vendor_id: p.vendor_id,
            creditor_name: p.creditor_name,
            creditor_iban: p.creditor_iban,
            creditor_bic: p.creditor_bic,
            amount: money(p.amount, EUR),
            remittance: p.remittance,
            intent_id: p.intent_id,
        })
        .collect();
    let mut dto = row_dto(r.run);
    dto.items = Some(items);
    dto.payments = Some(payments);
    dto
}

fn row_dto(r: RunRow) -> PaymentRunDto {
    PaymentRunDto {
        id: r.id,
        status: r.status,
        label: r.label,
        bank_account_id: r.bank_account_id,
        execution_date: r.execution_date,
        batch_by_vendor: r.batch_by_vendor,
        total_amount: money(r.total_amount, &r.currency),
        currency: r.currency,
        invoice_count: r.invoice_count,
        transaction_count: r.transaction_count,
        items: None,
        payments: None,
        excluded: r.excluded,
        created_by: r.created_by,
        created_at: r.created_at,
        approved_by: r.approved_by,
        approved_at: r.approved_at,
        exported_at: r.exported_at,
        message_id: r.message_id,
        pain_version: r.pain_version,
        completed_at: r.completed_at,
        cancelled_at: r.cancelled_at,
    }
}

fn export_dto(e: Export) -> ExportDto {
    ExportDto {
        run: run_dto(e.run),
        sepa_xml: e.sepa_xml,
        message_id: e.message_id,
        pain_version: e.pain_version,
        number_of_transactions: e.number_of_transactions,
        control_sum: e.control_sum,
    }
}

fn eligible_dto(e: EligibleInvoice) -> EligibleInvoiceDto {
    EligibleInvoiceDto {
        invoice_id: e.invoice_id,
        vendor_id: e.vendor_id,
        vendor_name: e.vendor_name,
        invoice_number: e.invoice_number,
        invoice_date: e.invoice_date,
        due_date: e.due_date,
        currency: EUR.to_string(),
        remaining_amount: money(e.remaining_amount, EUR),
        skonto_amount: e.skonto.map(|s| money(s.amount, EUR)),
        skonto_deadline: e.skonto.map(|s| s.deadline),
        payable_amount: money(e.payable_amount, EUR),
    }
}

fn run_answer(status: u16) -> impl Fn(&PaymentRun) -> StoredResponse + Send + Sync + 'static {
    move |r: &PaymentRun| StoredResponse::json(status, &run_dto(r.clone()))
}

#[utoipa::path(get, path = "/v1/payment-runs/eligible-invoices", tag = "Payables",
    params(("due_before" = Option<String>, Query, description = "YYYY-MM-DD; invoices due before it (default today + 7 days; no due date: the invoice date counts)"),
           ("execution_date" = Option<String>, Query, description = "YYYY-MM-DD; the day payable_amount is computed for (default today)"),
           ("vendor_id" = Option<Uuid>, Query),
           ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query)),
    responses((status = 200, body = [EligibleInvoiceDto], description = "bare array, oldest due first: open incoming EUR invoices of vendors with a valid IBAN, in no active run; the total is in X-Total-Count"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = ["payments:read"])))]
pub async fn eligible(
    state: web::Data<AppState>,
    p: Principal,
    q: Params,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_READ)?;
    let today = state.app.today();
    let due_before = q
        .date("due_before")
        .unwrap_or_else(|| today.checked_add_days(Days::new(7)).unwrap_or(today));
    let execution_date = q.date("execution_date").unwrap_or(today);
    let vendor: Option<Uuid> = q.text("vendor_id").and_then(|v| v.parse().ok());
    let all: Vec<EligibleInvoice> = state
        .app
        .eligible_payment_invoices(p.tenant_id, due_before, execution_date)
        .await?
        .into_iter()
        .filter(|e| vendor.is_none_or(|v| e.vendor_id == v))
        .collect();
    let total = all.len();
    let page: Vec<EligibleInvoiceDto> = all
        .into_iter()
        .skip(usize::try_from(q.offset()).unwrap_or(0))
        .take(usize::try_from(q.limit()).unwrap_or(100))
        .map(eligible_dto)
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header(("X-Total-Count", total.to_string()))
        .json(page))
}

#[utoipa::path(post, path = "/v1/payment-runs", tag = "Payables", request_body = CreatePaymentRun,
    responses((status = 201, body = PaymentRunDto, description = "a draft with its items and payments (one per invoice, or per vendor with batch_by_vendor or netting)"),
              (status = 400, body = ErrorBody, description = "vendor_without_iban, vendor_iban_invalid, bank_account_without_iban, bank_account_bic_invalid, unsupported_currency, execution_date_in_past, unknown_bank_account, unknown_invoice, duplicate_invoice, invalid_amount, invoice_number_too_long, empty_run, too_many_invoices, invalid_label, unknown_field, …"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "invoice_not_open, amount_exceeds_open, invoice_in_active_run (the message names the run)"),
              (status = 415, body = ErrorBody)),
    security(("bearer" = ["payments:write"])))]
pub async fn create(
    state: web::Data<AppState>,
    p: Principal,
    key: IdempotencyKeyOf,
    body: JsonBody<CreatePaymentRun>,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_WRITE)?;
    let b = body.0;
    let new = NewPaymentRun {
        bank_account_id: b.bank_account_id,
        execution_date: b.execution_date,
        invoice_ids: b.invoice_ids,
        label: b.label,
        batch_by_vendor: b.batch_by_vendor.unwrap_or(false),
        amounts: b
            .amounts
            .unwrap_or_default()
            .into_iter()
            .map(|a| (a.invoice_id, a.amount))
            .collect(),
    };
    let render = run_answer(201);
    let run = state
        .app
        .create_payment_run(p.tenant_id, new, &p.actor, key.with(run_answer(201)))
        .await?;
    Ok(stored_answer(render(&run), key.0.is_some()))
}

#[utoipa::path(get, path = "/v1/payment-runs", tag = "Payables",
    params(("status" = Option<String>, Query, description = "draft, approved, exported, completed, cancelled; comma-separated for several"),
           ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query),
           ("cursor" = Option<String>, Query, description = "X-Next-Cursor of the previous page: keyset paging, offset is then ignored; a malformed cursor is ignored (first page)")),
    responses((status = 200, body = [PaymentRunDto], description = "bare array, newest first, without items and payments; the total is in X-Total-Count", headers(("X-Total-Count" = i64, description = "exact up to 10,000; beyond, an estimate marked by X-Total-Count-Estimated: true"), ("X-Next-Cursor" = String, description = "pass as cursor for the next page; absent on the last page"))),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = ["payments:read"])))]
pub async fn list(state: web::Data<AppState>, p: Principal, q: Params) -> ApiResult<HttpResponse> {
    p.require(SCOPE_READ)?;
    let filter = RunFilter {
        statuses: q
            .text("status")
            .map(|s| {
                s.split(',')
                    .filter_map(|x| PaymentRunStatus::parse(x.trim()))
                    .map(|st| st.as_str().to_string())
                    .collect()
            })
            .unwrap_or_default(),
        limit: q.limit(),
        offset: q.offset(),
        after: crate::routes::list_cursor(&q),
    };
    let (runs, total, next) = state.app.list_payment_runs(p.tenant_id, &filter).await?;
    let body: Vec<PaymentRunDto> = runs.into_iter().map(row_dto).collect();
    Ok(crate::routes::with_page(HttpResponse::Ok(), total, next).json(body))
}

#[utoipa::path(get, path = "/v1/payment-runs/{id}", tag = "Payables", params(("id" = Uuid, Path)),
    responses((status = 200, body = PaymentRunDto, description = "with items and payments"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = ["payments:read"])))]
pub async fn get(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_READ)?;
    let run = state
        .app
        .get_payment_run(p.tenant_id, crate::routes::path_id("payment run", &id)?)
        .await?;
    Ok(HttpResponse::Ok().json(run_dto(run)))
}

#[utoipa::path(post, path = "/v1/payment-runs/{id}/approve", tag = "Payables", params(("id" = Uuid, Path)),
    responses((status = 200, body = PaymentRunDto, description = "approved"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "four_eyes (the creator cannot approve), invalid_transition")),
    security(("bearer" = ["payments:write"])))]
pub async fn approve(
    state: web::Data<AppState>,
    p: Principal,
    key: IdempotencyKeyOf,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_WRITE)?;
    let render = run_answer(200);
    let run = state
        .app
        .approve_payment_run(
            p.tenant_id,
            crate::routes::path_id("payment run", &id)?,
            &p.actor,
            key.with(run_answer(200)),
        )
        .await?;
    Ok(stored_answer(render(&run), key.0.is_some()))
}

#[utoipa::path(post, path = "/v1/payment-runs/{id}/export", tag = "Payables",
    params(("id" = Uuid, Path),
           ("version" = Option<String>, Query, description = "09 (default) or 03: the pain.001 version of the first export; later exports replay the stored file whatever this says")),
    responses((status = 200, body = ExportDto, description = "the pain.001 document; the run is exported. GET /v1/payment-runs/{id}/file downloads it"),
              (status = 400, body = ErrorBody, description = "invalid_version, execution_date_in_past (the date passed before the first export), export_invalid"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "invalid_transition (only approved or exported runs export)")),
    security(("bearer" = ["payments:write"])))]
pub async fn export(
    state: web::Data<AppState>,
    p: Principal,
    key: IdempotencyKeyOf,
    id: web::Path<String>,
    q: Params,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_WRITE)?;
    let id = crate::routes::path_id("payment run", &id)?;
    let version = match q.text("version") {
        None => None,
        Some(v) => Some(PainVersion::parse(v.trim()).ok_or_else(|| {
            ApiError::bad_request("invalid_version", format!("version {v:?}: use 09 or 03"))
                .with_field("version", "09 or 03")
        })?),
    };
    let render = |e: &Export| StoredResponse::json(200, &export_dto(e.clone()));
    let export = state
        .app
        .export_payment_run(p.tenant_id, id, version, &p.actor, key.with(render))
        .await?;
    Ok(stored_answer(render(&export), key.0.is_some()))
}

#[utoipa::path(get, path = "/v1/payment-runs/{id}/file", tag = "Payables", params(("id" = Uuid, Path)),
    responses((status = 200, content_type = "application/xml", body = String, description = "the stored pain.001 file as an attachment (Content-Disposition), byte for byte as exported"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "not_exported")),
    security(("bearer" = ["payments:read"])))]
pub async fn file(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_READ)?;
    let f = state
        .app
        .payment_run_file(p.tenant_id, crate::routes::path_id("payment run", &id)?)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/xml; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}.xml\"", f.message_id),
        ))
        .body(f.sepa_xml))
}

#[utoipa::path(post, path = "/v1/payment-runs/{id}/complete", tag = "Payables", params(("id" = Uuid, Path)),
    responses((status = 200, body = PaymentRunDto, description = "completed: each payment booked (creditor vs the bank account's ledger account, Skonto with its VAT correction; custom_metadata end_to_end_id and payment_run_id) and applied to its open items; payments carry their intent_id"),
              (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "invalid_transition (only exported runs complete), invoice_not_open, amount_exceeds_open (paid or cancelled since), period_locked")),
    security(("bearer" = ["payments:write"])))]
pub async fn complete(
    state: web::Data<AppState>,
    p: Principal,
    key: IdempotencyKeyOf,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_WRITE)?;
    let render = run_answer(200);
    let run = state
        .app
        .complete_payment_run(
            p.tenant_id,
            crate::routes::path_id("payment run", &id)?,
            &p.actor,
            key.with(run_answer(200)),
        )
        .await?;
    Ok(stored_answer(render(&run), key.0.is_some()))
}

#[utoipa::path(post, path = "/v1/payment-runs/{id}/cancel", tag = "Payables", params(("id" = Uuid, Path)),
    responses((status = 200, body = PaymentRunDto, description = "cancelled: its invoices are free for another run; nothing is booked"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "invalid_transition (not after completion)")),
    security(("bearer" = ["payments:write"])))]
pub async fn cancel(
    state: web::Data<AppState>,
    p: Principal,
    key: IdempotencyKeyOf,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_WRITE)?;
    let render = run_answer(200);
    let run = state
        .app
        .cancel_payment_run(
            p.tenant_id,
            crate::routes::path_id("payment run", &id)?,
            &p.actor,
            key.with(run_answer(200)),
        )
        .await?;
    Ok(stored_answer(render(&run), key.0.is_some()))
}
