//! Reconciliation of bank transactions: suggestions, reconcile, unmatch, dismiss,
//! batch-reconcile, and match groups (many-to-many matches with adjustments).

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{
    decimal, is_json, opt_decimal, parse_json, stored_answer, IdempotencyKeyOf, JsonBody, Params,
};
use crate::routes::{money, ErrorBody};
use crate::AppState;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use app::reconcile::{
    Adjustment, Allocation, CandidateKind, MatchGroupRequest, ReconcileRequest, Reconciled,
    Unmatched,
};
use app::StoredResponse;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

const SCOPE_READ: &str = "bank:read";
const SCOPE_WRITE: &str = "bank:write";

/// What a bank transaction is matched with.
#[derive(Deserialize, Serialize, Clone, Copy, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CandidateKindDto {
    /// An open outgoing invoice (a customer pays): candidate_id = the invoice id.
    OutgoingInvoice,
    /// An open incoming invoice (we pay a vendor): candidate_id = the invoice id.
    IncomingInvoice,
    /// An existing booking on the bank's ledger account: intent_id (or candidate_id).
    JournalEntry,
    /// Book to `account`, with an optional `tax_code`.
    Account,
    /// To or from another own bank account, through money in transit (1360 / 1460).
    Transfer,
}

impl From<CandidateKindDto> for CandidateKind {
    fn from(k: CandidateKindDto) -> CandidateKind {
        match k {
            CandidateKindDto::OutgoingInvoice => CandidateKind::OutgoingInvoice,
            CandidateKindDto::IncomingInvoice => CandidateKind::IncomingInvoice,
            CandidateKindDto::JournalEntry => CandidateKind::JournalEntry,
            CandidateKindDto::Account => CandidateKind::Account,
            CandidateKindDto::Transfer => CandidateKind::Transfer,
        }
    }
}

/// The reconcile body: seed 003's `intent_id`, `candidate_kind`, `open_item_account`, plus
/// `candidate_id`, `account`, `tax_code`, `fx_rate`. A suggestion is such a body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReconcileBody {
    /// journal_entry: the booking to link (or give candidate_id). Open items: optional, the
    /// invoice's booking.
    pub intent_id: Option<Uuid>,
    pub candidate_kind: CandidateKindDto,
    /// Open items: optional; must be the invoice's debtor/creditor account.
    #[schema(example = "10000")]
    pub open_item_account: Option<String>,
    /// Invoice id (open items), intent id (journal_entry), the other bank transaction's id
    /// (transfer, optional); ignored for account.
    pub candidate_id: Option<String>,
    /// account: the account to book the line to.
    #[schema(example = "4210")]
    pub account: Option<String>,
    /// account: tax code; the amount is gross, the service books net + VAT.
    #[schema(example = "VSt19")]
    pub tax_code: Option<String>,
    /// Foreign-currency bank accounts whose statement gives no rate: units of the account's
    /// currency per 1 unit of the base currency.
    #[serde(default, deserialize_with = "opt_decimal")]
    #[schema(value_type = Option<String>, example = "1.0850")]
    pub fx_rate: Option<Decimal>,
}

impl From<ReconcileBody> for ReconcileRequest {
    fn from(b: ReconcileBody) -> ReconcileRequest {
        ReconcileRequest {
            intent_id: b.intent_id,
            candidate_kind: b.candidate_kind.into(),
            open_item_account: b.open_item_account,
            candidate_id: b.candidate_id,
            account: b.account,
            tax_code: b.tax_code,
            fx_rate: b.fx_rate,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ReconcileResponse {
    pub ok: bool,
    /// `linked` (an existing booking matched, nothing booked) or `booked`.
    #[schema(example = "booked")]
    pub mode: String,
    /// The booking matched or made.
    pub intent_id: Uuid,
    /// The match's id.
    pub match_id: Uuid,
}

fn reconcile_response(r: &Reconciled) -> ReconcileResponse {
    ReconcileResponse {
        ok: true,
        mode: r.mode.as_str().to_string(),
        intent_id: r.intent_id,
        match_id: r.match_id,
    }
}

#[derive(Serialize, ToSchema)]
pub struct UnmatchResponse {
    pub ok: bool,
    /// `unlinked` (a linked match ended), `reversed` (a booked match's booking reversed) or
    /// `undismissed` (a dismissed transaction is open again).
    #[schema(example = "reversed")]
    pub action: String,
    pub match_id: Option<Uuid>,
    pub intent_id: Option<Uuid>,
    pub reversal_intent_id: Option<Uuid>,
}

fn unmatch_response(u: Unmatched) -> UnmatchResponse {
    let (action, match_id, intent_id, reversal) = match u {
        Unmatched::Unlinked {
            match_id,
            intent_id,
        } => ("unlinked", Some(match_id), Some(intent_id), None),
        Unmatched::Reversed {
            match_id,
            intent_id,
            reversal_intent_id,
        } => (
            "reversed",
            Some(match_id),
            Some(intent_id),
            Some(reversal_intent_id),
        ),
        Unmatched::Undismissed => ("undismissed", None, None, None),
    };
    UnmatchResponse {
        ok: true,
        action: action.to_string(),
        match_id,
        intent_id,
        reversal_intent_id: reversal,
    }
}

#[derive(Serialize, ToSchema)]
pub struct OkResponse {
    pub ok: bool,
}

/// One suggestion: the reconcile body for it, with its score and reasons.
#[derive(Serialize, ToSchema)]
pub struct SuggestionDto {
    pub bank_transaction_id: Uuid,
    pub candidate_kind: CandidateKindDto,
    pub candidate_id: String,
    pub intent_id: Option<Uuid>,
    pub open_item_account: Option<String>,
    pub account: Option<String>,
    pub tax_code: Option<String>,
    /// Open items: what the payment settles; journal entries: the booking's amount on the
    /// bank's ledger account; others: the transaction's amount (signed, + = money in).
    #[schema(example = "119.00")]
    pub amount: String,
    /// The cash discount (Skonto) the payment earns within its deadline.
    pub discount: Option<String>,
    /// 0..1.
    #[schema(example = 0.85)]
    pub score: f64,
    /// amount_exact, cash_discount, partial_payment, amount_differs,
    /// invoice_number_in_remittance, iban_match, name_match, partner_in_remittance,
    /// date_close, date_far, end_to_end_id, date_near, reference_in_remittance,
    /// learned_from_iban, learned_from_name, opposite_amount, own_account_iban.
    pub reasons: Vec<String>,
}

fn kind_dto(k: CandidateKind) -> CandidateKindDto {
    match k {
        CandidateKind::OutgoingInvoice => CandidateKindDto::OutgoingInvoice,
        CandidateKind::IncomingInvoice => CandidateKindDto::IncomingInvoice,
        CandidateKind::JournalEntry => CandidateKindDto::JournalEntry,
        CandidateKind::Account => CandidateKindDto::Account,
        CandidateKind::Transfer => CandidateKindDto::Transfer,
    }
}

fn reason_str(r: &app::reconcile::Reason) -> String {
    serde_json::to_value(r)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

#[utoipa::path(get, path = "/v1/bank-transactions/suggestions", tag = "Bank",
    params(("bank_account_id" = Uuid, Query, description = "required"),
           ("limit" = Option<i64>, Query, description = "open transactions considered, oldest first: 1..10000, default 100"),
           ("per_transaction" = Option<i64>, Query, description = "suggestions per transaction: 1..10, default 3")),
    responses((status = 200, body = [SuggestionDto], description = "bare array, per transaction best first; X-Total-Count = the number of suggestions"),
              (status = 400, body = ErrorBody, description = "missing_parameter: bank_account_id"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "bank account not found")),
    security(("bearer" = ["bank:read"])))]
pub async fn suggestions(
    state: web::Data<AppState>,
    p: Principal,
    q: Params,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_READ)?;
    let Some(text) = q.text("bank_account_id") else {
        return Err(
            ApiError::bad_request("missing_parameter", "bank_account_id is required")
                .with_field("bank_account_id", "required"),
        );
    };
    let account: Uuid = crate::routes::path_id("bank account", &text)?;
    let limit = q
        .int("limit")
        .filter(|l| (1..=app::reconcile::MAX_SUGGESTION_TRANSACTIONS).contains(l))
        .unwrap_or(100);
    let per = q
        .int("per_transaction")
        .filter(|l| (1..=10).contains(l))
        .unwrap_or(3) as usize;
    let found = state
        .app
        .suggestions(p.tenant_id, account, limit, per)
        .await?;
    let body: Vec<SuggestionDto> = found
        .into_iter()
        .map(|s| SuggestionDto {
            bank_transaction_id: s.bank_transaction_id,
            candidate_kind: kind_dto(s.candidate_kind),
            candidate_id: s.candidate_id,
            intent_id: s.intent_id,
            open_item_account: s.open_item_account,
            account: s.account,
            tax_code: s.tax_code,
            amount: money(s.amount, &s.currency),
            discount: s.discount.map(|d| money(d, &s.currency)),
            score: s.score,
            reasons: s.reasons.iter().map(reason_str).collect(),
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header(("X-Total-Count", body.len().to_string()))
        .json(body))
}

#[utoipa::path(post, path = "/v1/bank-transactions/{id}/reconcile", tag = "Bank", request_body = ReconcileBody,
    params(("id" = Uuid, Path)),
    responses((status = 200, body = ReconcileResponse),
              (status = 400, body = ErrorBody, description = "missing_field, wrong_direction, open_item_account_mismatch, intent_mismatch, not_on_bank_account, amount_mismatch, fx_rate_required, invalid_fx_rate, unknown_account, unknown_tax_code, transfer_same_account, …"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "transaction, invoice or booking not found"),
              (status = 409, body = ErrorBody, description = "already_matched, transaction_dismissed, overpayment, invoice_cancelled, intent_reversed, intent_already_matched, period_locked")),
    security(("bearer" = ["bank:write"])))]
pub async fn reconcile(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    key: IdempotencyKeyOf,
    body: JsonBody<ReconcileBody>,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_WRITE)?;
    let id = crate::routes::path_id("bank transaction", &id)?;
    let req: ReconcileRequest = body.0.into();
    let render = |r: &Reconciled| StoredResponse::json(200, &reconcile_response(r));
    let done = state
        .app
        .reconcile(p.tenant_id, id, &req, &p.actor, key.with(render))
        .await?;
    Ok(stored_answer(render(&done), key.0.is_some()))
}

/// No body, an empty body or `null` (the endpoints take none); anything else must be an
/// empty JSON object.
fn no_body(req: &HttpRequest, body: &[u8]) -> ApiResult<()> {
    let text = std::str::from_utf8(body).unwrap_or("x").trim();
    if text.is_empty() || text == "null" {
        return Ok(());
    }
    if !is_json(req) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Content-Type must be application/json",
        ));
    }
    parse_json::<EmptyBody>(body).map(|_| ())
}

/// These endpoints take no body; `{}` or nothing.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmptyBody {}

#[utoipa::path(post, path = "/v1/bank-transactions/{id}/unmatch", tag = "Bank", request_body = Option<EmptyBody>, params(("id" = Uuid, Path)),
    responses((status = 200, body = UnmatchResponse, description = "linked: unlinked; booked: its booking reversed (the open items reopen); dismissed: undismissed"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "not_matched, match_is_group (unmatch the group), period_locked")),
    security(("bearer" = ["bank:write"])))]
pub async fn unmatch(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_WRITE)?;
    let id = crate::routes::path_id("bank transaction", &id)?;
    no_body(&req, &body)?;
    let done = state.app.unmatch(p.tenant_id, id, &p.actor).await?;
    Ok(HttpResponse::Ok().json(unmatch_response(done)))
}

#[utoipa::path(post, path = "/v1/bank-transactions/{id}/dismiss", tag = "Bank", request_body = Option<EmptyBody>, params(("id" = Uuid, Path)),
    responses((status = 200, body = OkResponse),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "already_matched, transaction_dismissed")),
    security(("bearer" = ["bank:write"])))]
pub async fn dismiss(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_WRITE)?;
    let id = crate::routes::path_id("bank transaction", &id)?;
    no_body(&req, &body)?;
    state.app.dismiss(p.tenant_id, id, &p.actor).await?;
    Ok(HttpResponse::Ok().json(OkResponse { ok: true }))
}

/// One pair of a batch: the transaction and the reconcile body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchPair {
    pub bank_transaction_id: Uuid,
    pub intent_id: Option<Uuid>,
    pub candidate_kind: CandidateKindDto,
    pub open_item_account: Option<String>,
    pub candidate_id: Option<String>,
    pub account: Option<String>,
    pub tax_code: Option<String>,
    #[serde(default, deserialize_with = "opt_decimal")]
    #[schema(value_type = Option<String>)]
    pub fx_rate: Option<Decimal>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    /// 1..500 pairs, each reconciled in its own transaction.
    pub pairs: Vec<BatchPair>,
}

#[derive(Serialize, ToSchema)]
pub struct BatchResult {
    pub bank_transaction_id: Uuid,
    pub mode: String,
    pub intent_id: Uuid,
    pub match_id: Uuid,
}

#[derive(Serialize, ToSchema)]
pub struct BatchErrorDto {
    pub bank_transaction_id: Uuid,
    /// The code the single reconcile would have answered with.
    pub code: String,
    pub error: String,
}

#[derive(Serialize, ToSchema)]
pub struct BatchResponse {
    /// How many pairs were reconciled.
    pub reconciled: usize,
    /// The reconciled pairs, in request order.
    pub results: Vec<BatchResult>,
    /// The refused pairs, in request order.
    pub errors: Vec<BatchErrorDto>,
}

#[utoipa::path(post, path = "/v1/bank-transactions/batch-reconcile", tag = "Bank", request_body = BatchBody,
    responses((status = 200, body = BatchResponse, description = "the good pairs go through; each refused one is in errors with its code"),
              (status = 400, body = ErrorBody, description = "too_many (more than 500 pairs), no_pairs"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = ["bank:write"])))]
pub async fn batch_reconcile(
    state: web::Data<AppState>,
    p: Principal,
    body: JsonBody<BatchBody>,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_WRITE)?;
    if body.0.pairs.is_empty() {
        return Err(ApiError::bad_request("no_pairs", "pairs must not be empty")
            .with_field("pairs", "must not be empty"));
    }
    let pairs: Vec<(Uuid, ReconcileRequest)> = body
        .0
        .pairs
        .into_iter()
        .map(|b| {
            (
                b.bank_transaction_id,
                ReconcileRequest {
                    intent_id: b.intent_id,
                    candidate_kind: b.candidate_kind.into(),
                    open_item_account: b.open_item_account,
                    candidate_id: b.candidate_id,
                    account: b.account,
                    tax_code: b.tax_code,
                    fx_rate: b.fx_rate,
                },
            )
        })
        .collect();
    let out = state
        .app
        .batch_reconcile(p.tenant_id, &pairs, &p.actor)
        .await?;
    Ok(HttpResponse::Ok().json(BatchResponse {
        reconciled: out.reconciled.len(),
        results: out
            .reconciled
            .iter()
            .map(|(id, r)| BatchResult {
                bank_transaction_id: *id,
                mode: r.mode.as_str().to_string(),
                intent_id: r.intent_id,
                match_id: r.match_id,
            })
            .collect(),
        errors: out
            .errors
            .into_iter()
            .map(|e| BatchErrorDto {
                bank_transaction_id: e.bank_transaction_id,
                code: e.code.to_string(),
                error: e.error,
            })
            .collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocationDto {
    /// `outgoing_invoice` / `incoming_invoice` (an open item: booked on the partner's account
    /// and applied), `account` (booked to that account), `transfer` (booked to money in
    /// transit, 1360 / 1460) or `journal_entry` (an existing booking on the bank's ledger
    /// account carrying exactly this amount: linked, nothing booked for it).
    pub candidate_kind: CandidateKindDto,
    /// The invoice id; the account number (`account`); the other own bank account's
    /// transaction id or "" (`transfer`); the booking's intent id (`journal_entry`).
    pub candidate_id: String,
    /// In the bank account's currency, signed from the bank's view: + settles an outgoing
    /// invoice, − an incoming one.
    #[serde(deserialize_with = "decimal")]
    #[schema(value_type = String, example = "119.00")]
    pub amount: Decimal,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentDto {
    #[schema(example = "4970")]
    pub account: String,
    /// Signed from the bank's view: − for a fee or a discount granted (booked as a debit), +
    /// for a difference received (a credit).
    #[serde(deserialize_with = "decimal")]
    #[schema(value_type = String, example = "-2.50")]
    pub amount: Decimal,
    #[schema(example = "Bank fee")]
    pub reason: String,
    /// The amount is gross; the service books net + VAT (Skonto with its tax correction).
    pub tax_code: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchGroupBody {
    /// 1..100 transactions of one bank account.
    pub bank_transaction_ids: Vec<Uuid>,
    #[serde(default)]
    pub allocations: Vec<AllocationDto>,
    #[serde(default)]
    pub adjustments: Vec<AdjustmentDto>,
    /// Foreign-currency bank accounts: units of the account's currency per 1 unit of the base
    /// currency. Required unless the statement gives every transaction of the group the same
    /// rate.
    #[serde(default, deserialize_with = "opt_decimal")]
    #[schema(value_type = Option<String>, example = "1.0850")]
    pub fx_rate: Option<Decimal>,
}

#[derive(Serialize, ToSchema)]
pub struct MatchGroupResponse {
    pub ok: bool,
    pub match_group_id: Uuid,
    /// The group's booking; for a group that only links existing bookings, the first of them.
    pub intent_id: Uuid,
    /// `booked` (the group made one booking) or `linked` (it only links existing bookings).
    pub mode: String,
}

#[utoipa::path(post, path = "/v1/bank-match-groups", tag = "Bank", request_body = MatchGroupBody,
    responses((status = 201, body = MatchGroupResponse, description = "one booking for the whole group, applied to each open item, linking each existing booking"),
              (status = 400, body = ErrorBody, description = "match_not_balanced (Σ transactions ≠ Σ allocations + Σ adjustments), no_transactions, nothing_allocated, zero_amount, amount_precision, duplicate_bank_transaction, mixed_bank_accounts, wrong_direction, amount_mismatch, not_on_bank_account, transfer_same_account, fx_rate_required, invalid_fx_rate, unknown_account, unknown_tax_code, invalid_field, too_many"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody, description = "a transaction, invoice or booking not found"),
              (status = 409, body = ErrorBody, description = "already_matched, transaction_dismissed, intent_already_matched, intent_reversed, overpayment, invoice_cancelled, period_locked")),
    security(("bearer" = ["bank:write"])))]
pub async fn create_match_group(
    state: web::Data<AppState>,
    p: Principal,
    key: IdempotencyKeyOf,
    body: JsonBody<MatchGroupBody>,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_WRITE)?;
    let b = body.0;
    let req = MatchGroupRequest {
        bank_transaction_ids: b.bank_transaction_ids,
        allocations: b
            .allocations
            .into_iter()
            .map(|a| Allocation {
                candidate_kind: a.candidate_kind.into(),
                candidate_id: a.candidate_id,
                amount: a.amount,
            })
            .collect(),
        adjustments: b
            .adjustments
            .into_iter()
            .map(|a| Adjustment {
                account: a.account,
                amount: a.amount,
                reason: a.reason,
                tax_code: a.tax_code,
            })
            .collect(),
        fx_rate: b.fx_rate,
    };
    let render = |r: &Reconciled| {
        StoredResponse::json(
            201,
            &MatchGroupResponse {
                ok: true,
                match_group_id: r.match_id,
                intent_id: r.intent_id,
                mode: r.mode.as_str().to_string(),
            },
        )
    };
    let done = state
        .app
        .create_match_group(p.tenant_id, &req, &p.actor, key.with(render))
        .await?;
    Ok(stored_answer(render(&done), key.0.is_some()))
}

#[derive(Serialize, ToSchema)]
pub struct GroupUnmatchResponse {
    pub ok: bool,
    pub match_group_id: Uuid,
    /// The reversal of the group's booking; null for a group that only linked bookings.
    pub reversal_intent_id: Option<Uuid>,
}

#[utoipa::path(post, path = "/v1/bank-match-groups/{id}/unmatch", tag = "Bank", request_body = Option<EmptyBody>, params(("id" = Uuid, Path)),
    responses((status = 200, body = GroupUnmatchResponse, description = "the group's booking reversed; its transactions and open items are open again"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "match_ended, period_locked")),
    security(("bearer" = ["bank:write"])))]
pub async fn unmatch_group(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_WRITE)?;
    let id = crate::routes::path_id("bank match group", &id)?;
    no_body(&req, &body)?;
    let done = state.app.unmatch_group(p.tenant_id, id, &p.actor).await?;
    let reversal = match done {
        Unmatched::Reversed {
            reversal_intent_id, ..
        } => Some(reversal_intent_id),
        _ => None,
    };
    Ok(HttpResponse::Ok().json(GroupUnmatchResponse {
        ok: true,
        match_group_id: id,
        reversal_intent_id: reversal,
    }))
}
