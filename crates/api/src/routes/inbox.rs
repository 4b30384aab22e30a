//! The inbox (issue 14): uploads (POST /v1/inbox; mail arrives through `kontor inbox
//! deliver`), inbox items, the inbox address, POST /v1/ocr/extract, invoice review cases and
//! the ingestion log. Scopes `inbox:read` / `inbox:write`.

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{double_option, is_json, parse_json, Params};
use crate::routes::ErrorBody;
use crate::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use app::inbox::{extraction_json, Approved, CaseRow, Intake, ItemRow, LogRow};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

const SCOPE_READ: &str = "inbox:read";
const SCOPE_WRITE: &str = "inbox:write";

/// The file types the inbox reads.
const READABLE: &[&str] = &[
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/tiff",
    "application/xml",
];

/// An inbox item (seed 003's fields, plus status details).
#[derive(Serialize, ToSchema)]
pub struct InboxItemDto {
    pub id: Uuid,
    /// The received file, kept unchanged (GET /v1/documents/{id}/file).
    pub document_id: Uuid,
    /// received → extracted | failed → confirmed | rejected
    #[schema(example = "extracted")]
    pub status: String,
    /// The extraction: the fields of POST /v1/ocr/extract (null when it failed).
    #[schema(value_type = Option<Object>)]
    pub ocr_extraction: Option<Value>,
    /// The text it was read from: Tesseract's output or the PDF's text layer; null for XML.
    pub ocr_raw: Option<String>,
    /// `{vendor_id, candidates: [{vendor_id, name, score, reasons}]}`; vendor_id is set when a
    /// candidate matched by VAT id or IBAN with score ≥ 0.9.
    #[schema(value_type = Option<Object>)]
    pub vendor_match: Option<Value>,
    /// § 14 Abs. 4 UStG: `{compliant, e_invoice, requirements: [{field, label, present}], missing}`.
    #[schema(value_type = Option<Object>)]
    pub compliance_check: Option<Value>,
    pub source_email: Option<String>,
    pub source_subject: Option<String>,
    pub original_name: String,
    pub created_at: DateTime<Utc>,
    /// `upload` or `email`.
    pub channel: String,
    /// The review case of the invoice the item holds.
    pub review_case_id: Option<Uuid>,
    /// Why the extraction failed (status failed).
    pub failure: Option<String>,
    pub reject_reason: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl From<ItemRow> for InboxItemDto {
    fn from(i: ItemRow) -> Self {
        InboxItemDto {
            id: i.id,
            document_id: i.document_id,
            status: i.status,
            ocr_extraction: i.ocr_extraction,
            ocr_raw: i.ocr_raw,
            vendor_match: i.vendor_match,
            compliance_check: i.compliance_check,
            source_email: i.source_email,
            source_subject: i.source_subject,
            original_name: i.original_name,
            created_at: i.created_at,
            channel: i.channel,
            review_case_id: i.review_case_id,
            failure: i.failure,
            reject_reason: i.reject_reason,
            updated_at: i.updated_at,
        }
    }
}

/// A line of an extraction.
#[derive(Serialize, ToSchema)]
pub struct LineItemDto {
    pub description: Option<String>,
    pub quantity: Option<String>,
    pub unit_price: Option<String>,
    pub net: Option<String>,
    pub tax_rate: Option<String>,
    /// EN 16931 VAT category: S, AE, K, E, Z, G, O, …
    pub vat_category: Option<String>,
    /// S 19 % → VSt19, S 7 % → VSt7, AE → RC19, K → IGE19, E/Z/G → null (0 %, no input VAT).
    pub tax_code: Option<String>,
}

/// The answer of POST /v1/ocr/extract (and an item's ocr_extraction): seed 003's fields flat,
/// plus source, confidence and warnings.
#[derive(Serialize, ToSchema)]
pub struct OcrExtractionDto {
    pub vendor_name: Option<String>,
    /// Normalised: upper case, no spaces.
    #[schema(example = "DE136695976")]
    pub vendor_vat_id: Option<String>,
    #[schema(example = "DE89370400440532013000")]
    pub vendor_iban: Option<String>,
    pub vendor_address: Option<String>,
    pub invoice_number: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    pub invoice_date: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    pub due_date: Option<String>,
    /// Leistungsdatum (§ 14 Abs. 4 Nr. 6 UStG).
    #[schema(value_type = Option<String>, format = Date)]
    pub service_date: Option<String>,
    #[schema(example = "190.00")]
    pub total_net: Option<String>,
    pub total_tax: Option<String>,
    pub total_gross: Option<String>,
    pub currency: Option<String>,
    pub line_items: Vec<LineItemDto>,
    #[schema(value_type = Vec<Object>)]
    pub vat_breakdown: Vec<Value>,
    pub payment_terms: Option<String>,
    /// From XRechnung's `#SKONTO#TAGE=14#PROZENT=2.00#` or "2 % Skonto … 14 Tage".
    pub cash_discount_percent: Option<String>,
    pub cash_discount_days: Option<i64>,
    pub reference_text: Option<String>,
    pub raw_markdown: String,
    /// `xml` (e-invoice, read exactly), `text` (PDF text layer) or `ocr` (Tesseract).
    #[schema(example = "xml")]
    pub source: String,
    /// invoice or credit_note
    pub document_type: String,
    /// `ubl`, `cii`, with the embedded file's name for ZUGFeRD / Factur-X PDFs.
    pub syntax: Option<String>,
    /// The e-invoice's CustomizationID / guideline (ZUGFeRD MINIMUM and BASIC-WL are flagged).
    pub profile: Option<String>,
    pub vendor_tax_number: Option<String>,
    pub buyer_name: Option<String>,
    pub buyer_address: Option<String>,
    /// field → 0..1
    #[schema(value_type = Object)]
    pub confidence: Value,
    pub warnings: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct InboxAddressDto {
    #[schema(example = "acme.k3f9a2c1d8e7@inbox.example.com")]
    pub inbox_address: String,
}

#[derive(Serialize, ToSchema)]
pub struct ConfirmedDto {
    pub confirmed: bool,
    pub inbox_id: Uuid,
    pub review_case_id: Uuid,
    pub invoice_id: Uuid,
    pub intent_id: Uuid,
}

#[derive(Serialize, ToSchema)]
pub struct RejectedDto {
    pub rejected: bool,
    pub inbox_id: Uuid,
}

#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    #[schema(example = "not our invoice")]
    pub reason: Option<String>,
}

/// A review case.
#[derive(Serialize, ToSchema)]
pub struct ReviewCaseDto {
    pub id: Uuid,
    pub inbox_item_id: Uuid,
    pub document_id: Uuid,
    /// needs_review, approved, rejected, posting_failed
    #[schema(example = "needs_review")]
    pub queue_state: String,
    pub vendor_id: Option<Uuid>,
    /// The body of POST /v1/invoices without vendor_id (document_id, invoice_number,
    /// invoice_date, due_date, total_net, total_tax, total_gross, currency, type, intent_id,
    /// notes, cash_discount_percent, cash_discount_days, lines [{description, quantity,
    /// unit_price, tax_code, account, net, tax, gross}]); fields not found are null.
    #[schema(value_type = Object)]
    pub normalized_invoice: Value,
    /// `[{vendor_id, name, score, reasons}]`, best first; reasons: vat_id, iban, name.
    #[schema(value_type = Vec<Object>)]
    pub vendor_candidates: Value,
    /// Why the last approval failed: `[{code, error, field}]`.
    #[schema(value_type = Vec<Object>)]
    pub posting_errors: Value,
    pub invoice_id: Option<Uuid>,
    pub intent_id: Option<Uuid>,
    pub reject_reason: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<CaseRow> for ReviewCaseDto {
    fn from(c: CaseRow) -> Self {
        ReviewCaseDto {
            id: c.id,
            inbox_item_id: c.inbox_item_id,
            document_id: c.document_id,
            queue_state: c.queue_state,
            vendor_id: c.vendor_id,
            normalized_invoice: c.normalized_invoice,
            vendor_candidates: c.vendor_candidates,
            posting_errors: c.posting_errors,
            invoice_id: c.invoice_id,
            intent_id: c.intent_id,
            reject_reason: c.reject_reason,
            decided_at: c.decided_at,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateReviewCase {
    /// null clears.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub vendor_id: Option<Option<Uuid>>,
    /// Replaces the normalized invoice (the body of POST /v1/invoices without vendor_id;
    /// document_id stays the received file).
    #[schema(value_type = Option<Object>)]
    pub normalized_invoice: Option<inbox::NormalizedInvoice>,
}

#[derive(Serialize, ToSchema)]
pub struct ApprovedDto {
    #[serde(rename = "reviewCaseId")]
    pub review_case_id: Uuid,
    #[serde(rename = "intentId")]
    pub intent_id: Uuid,
    #[serde(rename = "invoiceId")]
    pub invoice_id: Uuid,
}

impl From<Approved> for ApprovedDto {
    fn from(a: Approved) -> Self {
        ApprovedDto {
            review_case_id: a.review_case_id,
            intent_id: a.intent_id,
            invoice_id: a.invoice_id,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct IngestionLogDto {
    pub id: Uuid,
    /// extracted, duplicate, failed, approved, rejected
    pub outcome: String,
    /// upload, email, review
    pub channel: String,
    pub inbox_item_id: Option<Uuid>,
    pub review_case_id: Option<Uuid>,
    pub document_id: Option<Uuid>,
    pub original_name: Option<String>,
    pub source_email: Option<String>,
    /// xml, text or ocr for extractions
    pub source: Option<String>,
    /// Why it failed, the duplicate's note, the rejection's reason, the invoice approved.
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<LogRow> for IngestionLogDto {
    fn from(l: LogRow) -> Self {
        IngestionLogDto {
            id: l.id,
            outcome: l.outcome,
            channel: l.channel,
            inbox_item_id: l.inbox_item_id,
            review_case_id: l.review_case_id,
            document_id: l.document_id,
            original_name: l.original_name,
            source_email: l.source_email,
            source: l.source,
            reason: l.reason,
            created_at: l.created_at,
        }
    }
}

/// Reads the uploaded file and checks that the inbox can read its type.
async fn read_upload(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<(Vec<u8>, String), ApiError> {
    let (content, name, _claimed) =
        crate::routes::documents::read_file_part(state, req, payload).await?;
    let mime = crate::routes::documents::sniff(&content);
    if !mime.is_some_and(|m| READABLE.contains(&m)) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the inbox reads e-invoices (XML), PDFs and images (PNG, JPEG, TIFF); this file is none of them",
        ));
    }
    Ok((content, name))
}

/// An optional JSON body: nothing or null is the default.
fn optional_body<T: serde::de::DeserializeOwned + Default>(
    req: &HttpRequest,
    body: &web::Bytes,
) -> Result<T, ApiError> {
    let text = std::str::from_utf8(body).unwrap_or("x").trim();
    if text.is_empty() || text == "null" {
        Ok(T::default())
    } else if !is_json(req) {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Content-Type must be application/json",
        ))
    } else {
        parse_json(body)
    }
}

fn reason_of(b: RejectBody) -> Result<Option<String>, ApiError> {
    match b.reason {
        Some(r) if r.chars().count() > 1000 => Err(ApiError::bad_request(
            "invalid_field",
            "reason: at most 1000 characters",
        )
        .with_field("reason", "at most 1000 characters")),
        Some(r) if r.trim().is_empty() => Ok(None),
        r => Ok(r),
    }
}

#[utoipa::path(post, path = "/v1/inbox", tag = "Inbox",
    request_body(content_type = "multipart/form-data", description = "one part named `file`: an e-invoice (XRechnung UBL or CII XML), a PDF (ZUGFeRD / Factur-X or with a text layer) or an image (PNG, JPEG, TIFF) for OCR"),
    responses((status = 201, body = InboxItemDto, description = "kept as a document, read, and — when it holds an invoice — given a review case (needs_review)"),
              (status = 200, body = InboxItemDto, description = "the same file (blake3) is in the inbox already: that item, not extracted twice (logged as duplicate)"),
              (status = 400, body = ErrorBody, description = "invalid_xml, invalid_pdf, empty_file, ocr_unreadable: nothing is kept (the failure is logged)"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody),
              (status = 415, body = ErrorBody), (status = 502, body = ErrorBody, description = "ocr_failed: Tesseract missing or past KONTOR_OCR_TIMEOUT_SECS")),
    security(("bearer" = ["inbox:write"])))]
pub async fn upload(
    state: web::Data<AppState>,
    p: Principal,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_WRITE)?;
    let (content, original_name) = read_upload(&state, &req, payload).await?;
    let ingested = state
        .app
        .ingest(
            p.tenant_id,
            Intake {
                content,
                original_name,
                channel: "upload",
                source_email: None,
                source_subject: None,
            },
            &p.actor,
        )
        .await?;
    let status = if ingested.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(HttpResponse::build(status)
        .insert_header(("X-Inbox-Duplicate", ingested.duplicate.to_string()))
        .json(InboxItemDto::from(ingested.item)))
}

#[utoipa::path(get, path = "/v1/inbox", tag = "Inbox",
    params(("status" = Option<String>, Query, description = "received, extracted, failed, confirmed, rejected"),
           ("limit" = Option<i64>, Query, description = "1..500, default 100"), ("offset" = Option<i64>, Query), ("cursor" = Option<String>, Query, description = "X-Next-Cursor of the previous page: keyset paging, offset is then ignored; a malformed cursor is ignored (first page)")),
    responses((status = 200, body = [InboxItemDto], description = "bare array, newest first; the total is in X-Total-Count", headers(("X-Total-Count" = i64, description = "exact up to 10,000; beyond, an estimate marked by X-Total-Count-Estimated: true"), ("X-Next-Cursor" = String, description = "pass as cursor for the next page; absent on the last page"))),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = ["inbox:read"])))]
pub async fn list(state: web::Data<AppState>, p: Principal, q: Params) -> ApiResult<HttpResponse> {
    p.require(SCOPE_READ)?;
    let status = q.text("status").filter(|s| {
        matches!(
            s.as_str(),
            "received" | "extracted" | "failed" | "confirmed" | "rejected"
        )
    });
    let cursor = crate::routes::list_cursor(&q);
    let (items, total, next) = state
        .app
        .list_inbox(
            p.tenant_id,
            status.as_deref(),
            q.limit(),
            q.offset(),
            cursor.as_ref(),
        )
        .await?;
    let body: Vec<InboxItemDto> = items.into_iter().map(Into::into).collect();
    Ok(crate::routes::with_page(HttpResponse::Ok(), total, next).json(body))
}

#[utoipa::path(get, path = "/v1/inbox/{id}", tag = "Inbox", params(("id" = Uuid, Path)),
    responses((status = 200, body = InboxItemDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = ["inbox:read"])))]
pub async fn get(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_READ)?;
    let item = state
        .app
        .get_inbox_item(p.tenant_id, crate::routes::path_id("inbox item", &id)?)
        .await?;
    Ok(HttpResponse::Ok().json(InboxItemDto::from(item)))
}

#[utoipa::path(post, path = "/v1/inbox/{id}/confirm", tag = "Inbox", params(("id" = Uuid, Path)),
    responses((status = 200, body = ConfirmedDto, description = "the item's review case approved with its current data: the incoming invoice is created and booked; the item is confirmed"),
              (status = 400, body = ErrorBody, description = "as approve: vendor_required, invalid_normalized_invoice, totals_mismatch, …"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "inbox_item_not_open, no_invoice, review_case_not_open, duplicate_invoice_number, period_locked")),
    security(("bearer" = ["inbox:write"])))]
pub async fn confirm(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_WRITE)?;
    let id = crate::routes::path_id("inbox item", &id)?;
    let a = state
        .app
        .confirm_inbox_item(p.tenant_id, id, &p.actor)
        .await?;
    Ok(HttpResponse::Ok().json(ConfirmedDto {
        confirmed: true,
        inbox_id: a.inbox_item_id,
        review_case_id: a.review_case_id,
        invoice_id: a.invoice_id,
        intent_id: a.intent_id,
    }))
}

#[utoipa::path(post, path = "/v1/inbox/{id}/reject", tag = "Inbox", params(("id" = Uuid, Path)),
    request_body(content = Option<RejectBody>, description = "optional"),
    responses((status = 200, body = RejectedDto, description = "the item and its open review case are rejected; the document stays"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "inbox_item_not_open (confirmed or rejected already)")),
    security(("bearer" = ["inbox:write"])))]
pub async fn reject(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_WRITE)?;
    let id = crate::routes::path_id("inbox item", &id)?;
    let reason = reason_of(optional_body(&req, &body)?)?;
    state
        .app
        .reject_inbox_item(p.tenant_id, id, reason, &p.actor)
        .await?;
    Ok(HttpResponse::Ok().json(RejectedDto {
        rejected: true,
        inbox_id: id,
    }))
}

#[utoipa::path(get, path = "/v1/inbox/address", tag = "Inbox",
    responses((status = 200, body = InboxAddressDto, description = "the tenant's inbox address under KONTOR_INBOX_DOMAIN; its random part is made on first use and kept"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = ["inbox:read"])))]
pub async fn address(state: web::Data<AppState>, p: Principal) -> ApiResult<HttpResponse> {
    p.require(SCOPE_READ)?;
    let inbox_address = state.app.inbox_address(p.tenant_id).await?;
    Ok(HttpResponse::Ok().json(InboxAddressDto { inbox_address }))
}

#[utoipa::path(post, path = "/v1/ocr/extract", tag = "Inbox",
    request_body(content_type = "multipart/form-data", description = "one part named `file` (as POST /v1/inbox); nothing is stored"),
    responses((status = 200, body = OcrExtractionDto),
              (status = 400, body = ErrorBody, description = "invalid_xml (unknown or broken XML, DOCTYPE), invalid_pdf, empty_file, ocr_unreadable"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody),
              (status = 415, body = ErrorBody), (status = 502, body = ErrorBody, description = "ocr_failed")),
    security(("bearer" = ["inbox:write"])))]
pub async fn ocr_extract(
    state: web::Data<AppState>,
    p: Principal,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_WRITE)?;
    let (content, _) = read_upload(&state, &req, payload).await?;
    let x = state.app.extract_file(content).await?;
    Ok(HttpResponse::Ok().json(extraction_json(&x.extraction)))
}

#[utoipa::path(get, path = "/v1/invoice-review-cases", tag = "Inbox",
    params(("queue_state" = Option<String>, Query, description = "needs_review, approved, rejected, posting_failed"),
           ("limit" = Option<i64>, Query, description = "1..500, default 100"), ("offset" = Option<i64>, Query), ("cursor" = Option<String>, Query, description = "X-Next-Cursor of the previous page: keyset paging, offset is then ignored; a malformed cursor is ignored (first page)")),
    responses((status = 200, body = [ReviewCaseDto], description = "bare array, newest first; the total is in X-Total-Count", headers(("X-Total-Count" = i64, description = "exact up to 10,000; beyond, an estimate marked by X-Total-Count-Estimated: true"), ("X-Next-Cursor" = String, description = "pass as cursor for the next page; absent on the last page"))),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = ["inbox:read"])))]
pub async fn list_cases(
    state: web::Data<AppState>,
    p: Principal,
    q: Params,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_READ)?;
    let qs = q.text("queue_state").filter(|s| {
        matches!(
            s.as_str(),
            "needs_review" | "approved" | "rejected" | "posting_failed"
        )
    });
    let cursor = crate::routes::list_cursor(&q);
    let (cases, total, next) = state
        .app
        .list_review_cases(
            p.tenant_id,
            qs.as_deref(),
            q.limit(),
            q.offset(),
            cursor.as_ref(),
        )
        .await?;
    let body: Vec<ReviewCaseDto> = cases.into_iter().map(Into::into).collect();
    Ok(crate::routes::with_page(HttpResponse::Ok(), total, next).json(body))
}

#[utoipa::path(get, path = "/v1/invoice-review-cases/{id}", tag = "Inbox", params(("id" = Uuid, Path)),
    responses((status = 200, body = ReviewCaseDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = ["inbox:read"])))]
pub async fn get_case(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_READ)?;
    let c = state
        .app
        .get_review_case(p.tenant_id, crate::routes::path_id("review case", &id)?)
        .await?;
    Ok(HttpResponse::Ok().json(ReviewCaseDto::from(c)))
}

#[utoipa::path(patch, path = "/v1/invoice-review-cases/{id}", tag = "Inbox", params(("id" = Uuid, Path)),
    request_body = UpdateReviewCase,
    responses((status = 200, body = ReviewCaseDto, description = "updated"),
              (status = 400, body = ErrorBody, description = "unknown_field, invalid_field, unknown_vendor"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "review_case_not_open"), (status = 415, body = ErrorBody)),
    security(("bearer" = ["inbox:write"])))]
pub async fn update_case(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    body: crate::extract::JsonBody<UpdateReviewCase>,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_WRITE)?;
    let id = crate::routes::path_id("review case", &id)?;
    let b = body.0;
    let c = state
        .app
        .update_review_case(p.tenant_id, id, b.vendor_id, b.normalized_invoice)
        .await?;
    Ok(HttpResponse::Ok().json(ReviewCaseDto::from(c)))
}

#[utoipa::path(post, path = "/v1/invoice-review-cases/{id}/approve", tag = "Inbox", params(("id" = Uuid, Path)),
    responses((status = 200, body = ApprovedDto, description = "the incoming invoice and its booking are created (as POST /v1/invoices) in the same transaction that closes the case"),
              (status = 400, body = ErrorBody, description = "vendor_required, invalid_normalized_invoice, totals_mismatch, unknown_tax_code, unknown_account, …: the case becomes posting_failed with the error in posting_errors"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "review_case_not_open; duplicate_invoice_number (this vendor's number is booked already), period_locked")),
    security(("bearer" = ["inbox:write"])))]
pub async fn approve_case(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_WRITE)?;
    let id = crate::routes::path_id("review case", &id)?;
    let a = state
        .app
        .approve_review_case(p.tenant_id, id, &p.actor)
        .await?;
    Ok(HttpResponse::Ok().json(ApprovedDto::from(a)))
}

#[utoipa::path(post, path = "/v1/invoice-review-cases/{id}/reject", tag = "Inbox", params(("id" = Uuid, Path)),
    request_body(content = Option<RejectBody>, description = "optional"),
    responses((status = 200, body = ReviewCaseDto, description = "queue_state rejected; its inbox item is rejected too"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "review_case_not_open")),
    security(("bearer" = ["inbox:write"])))]
pub async fn reject_case(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_WRITE)?;
    let id = crate::routes::path_id("review case", &id)?;
    let reason = reason_of(optional_body(&req, &body)?)?;
    let c = state
        .app
        .reject_review_case(p.tenant_id, id, reason, &p.actor)
        .await?;
    Ok(HttpResponse::Ok().json(ReviewCaseDto::from(c)))
}

#[utoipa::path(get, path = "/v1/payables/ingestion-log", tag = "Inbox",
    params(("outcome" = Option<String>, Query, description = "extracted, duplicate, failed, approved, rejected"),
           ("limit" = Option<i64>, Query, description = "1..500, default 100"), ("offset" = Option<i64>, Query), ("cursor" = Option<String>, Query, description = "X-Next-Cursor of the previous page: keyset paging, offset is then ignored; a malformed cursor is ignored (first page)")),
    responses((status = 200, body = [IngestionLogDto], description = "bare array, newest first; the total is in X-Total-Count", headers(("X-Total-Count" = i64, description = "exact up to 10,000; beyond, an estimate marked by X-Total-Count-Estimated: true"), ("X-Next-Cursor" = String, description = "pass as cursor for the next page; absent on the last page"))),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = ["inbox:read"])))]
pub async fn ingestion_log(
    state: web::Data<AppState>,
    p: Principal,
    q: Params,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_READ)?;
    let outcome = q.text("outcome").filter(|s| {
        matches!(
            s.as_str(),
            "extracted" | "duplicate" | "failed" | "approved" | "rejected"
        )
    });
    let cursor = crate::routes::list_cursor(&q);
    let (rows, total, next) = state
        .app
        .ingestion_log(
            p.tenant_id,
            outcome.as_deref(),
            q.limit(),
            q.offset(),
            cursor.as_ref(),
        )
        .await?;
    let body: Vec<IngestionLogDto> = rows.into_iter().map(Into::into).collect();
    Ok(crate::routes::with_page(HttpResponse::Ok(), total, next).json(body))
}
