use crate::auth::Principal;
use crate::error::ApiResult;
use crate::extract::{decimal, opt_decimal, stored_answer, IdempotencyKeyOf, JsonBody};
use crate::routes::{money, ErrorBody};
use crate::AppState;
use actix_web::{web, HttpResponse};
use app::bookings::Appended;
use app::StoredResponse;
use chrono::NaiveDate;
use journal::{BookingCommand, BookingLineInput, Fx, OpeningBalanceCommand};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineRequest {
    #[schema(example = "8400")]
    pub account: String,
    /// Amount (> 0) as a string or number; exactly one of debit / credit.
    #[serde(default, deserialize_with = "opt_decimal")]
    #[schema(value_type = Option<String>, example = "119.00", pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub debit: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_decimal")]
    #[schema(value_type = Option<String>, pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub credit: Option<Decimal>,
    /// With a tax code the line carries the NET amount; the service adds the tax line(s).
    #[schema(example = "USt19")]
    pub tax_code: Option<String>,
    pub description: Option<String>,
    pub cost_center: Option<String>,
}

impl From<LineRequest> for BookingLineInput {
    fn from(l: LineRequest) -> Self {
        BookingLineInput {
            account: l.account,
            debit: l.debit,
            credit: l.credit,
            tax_code: l.tax_code,
            description: l.description,
            cost_center: l.cost_center,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FxRequest {
    #[schema(example = "USD")]
    pub currency: String,
    /// Units of the foreign currency per 1 unit of the base currency.
    #[serde(deserialize_with = "decimal")]
    #[schema(value_type = String, example = "1.0850", pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub rate: Decimal,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "booking_date": "2025-07-15",
    "description": "Cash deposit",
    "external_reference": "DEP-2025-07",
    "skip_duplicate_check": true,
    "lines": [
        {"account": "1200", "debit": "500.00"},
        {"account": "1000", "credit": "500.00"}
    ]
}))]
pub struct BookingRequest {
    #[schema(value_type = String, format = Date, example = "2026-03-14")]
    #[serde(deserialize_with = "crate::extract::date")]
    pub booking_date: NaiveDate,
    #[schema(example = "Invoice 2026-0042 Acme")]
    pub description: String,
    pub lines: Vec<LineRequest>,
    /// Book even if `external_reference` was booked before.
    #[serde(default)]
    pub skip_duplicate_check: bool,
    /// Book into period 13 of the booking date's fiscal year.
    #[serde(default)]
    pub adjustment_period: bool,
    pub fx: Option<FxRequest>,
    #[schema(example = "INV-2026-0042")]
    pub external_reference: Option<String>,
    /// Up to 50 string values, keys up to 40 characters.
    #[schema(value_type = Option<Object>)]
    pub custom_metadata: Option<serde_json::Map<String, serde_json::Value>>,
    pub document_id: Option<Uuid>,
}

#[derive(Serialize, ToSchema)]
pub struct BookingResponse {
    pub intent_id: Uuid,
    /// Journal lines written, generated tax lines included.
    pub event_count: usize,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpeningBalancesRequest {
    #[schema(value_type = String, format = Date, example = "2026-01-01")]
    #[serde(deserialize_with = "crate::extract::date")]
    pub booking_date: NaiveDate,
    /// Each `{account, debit | credit}` is booked against the opening-balance account (9000).
    pub balances: Vec<LineRequest>,
    /// Defaults to "Saldenvortrag".
    pub description: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct OpeningBalancesResponse {
    pub intent_id: Uuid,
    pub event_count: usize,
    /// Sum of the given debit balances.
    pub total_debit: String,
    /// Sum of the given credit balances.
    pub total_credit: String,
}

#[utoipa::path(post, path = "/v1/bookings", tag = "Journal", request_body = BookingRequest,
    responses((status = 201, body = BookingResponse),
              (status = 400, body = ErrorBody, description = "a booking rule is broken: unbalanced, debit_xor_credit, non_positive_amount, amount_precision, unknown_account, unknown_tax_code, unknown_currency, invalid_metadata, unknown_document, …"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "period_locked or duplicate"),
              (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)),
    security(("bearer" = ["journal:write"])))]
pub async fn book(
    state: web::Data<AppState>,
    p: Principal,
    key: IdempotencyKeyOf,
    body: JsonBody<BookingRequest>,
) -> ApiResult<HttpResponse> {
    p.require("journal:write")?;
    let b = body.0;
    let cmd = BookingCommand {
        booking_date: b.booking_date,
        description: b.description,
        lines: b.lines.into_iter().map(Into::into).collect(),
        skip_duplicate_check: b.skip_duplicate_check,
        adjustment_period: b.adjustment_period,
        fx: b.fx.map(|f| Fx {
            currency: f.currency,
            rate: f.rate,
        }),
        external_reference: b.external_reference,
        custom_metadata: b.custom_metadata,
        document_id: b.document_id,
    };
    let render = |a: &Appended| {
        StoredResponse::json(
            201,
            &BookingResponse {
                intent_id: a.intent_id,
                event_count: a.event_count,
            },
        )
    };
    let appended = state
        .app
        .book(p.tenant_id, cmd, p.actor.clone(), key.with(render))
        .await?;
    Ok(stored_answer(render(&appended), key.0.is_some()))
}

#[utoipa::path(post, path = "/v1/bookings/opening-balances", tag = "Journal", request_body = OpeningBalancesRequest,
    responses((status = 201, body = OpeningBalancesResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = ["journal:write"])))]
pub async fn opening_balances(
    state: web::Data<AppState>,
    p: Principal,
    key: IdempotencyKeyOf,
    body: JsonBody<OpeningBalancesRequest>,
) -> ApiResult<HttpResponse> {
    p.require("journal:write")?;
    let b = body.0;
    let balances: Vec<BookingLineInput> = b.balances.into_iter().map(Into::into).collect();
    let total_debit: Decimal = balances.iter().filter_map(|l| l.debit).sum();
    let total_credit: Decimal = balances.iter().filter_map(|l| l.credit).sum();
    let cmd = OpeningBalanceCommand {
        booking_date: b.booking_date,
        description: b.description,
        balances,
    };
    let base = state.app.tenant(p.tenant_id).await?.base_currency.clone();
    let render = move |a: &Appended| {
        StoredResponse::json(
            201,
            &OpeningBalancesResponse {
                intent_id: a.intent_id,
                event_count: a.event_count,
                total_debit: money(total_debit, &base),
                total_credit: money(total_credit, &base),
            },
        )
    };
    let answer = key.with(render.clone());
    let appended = state
        .app
        .book_opening_balances(p.tenant_id, cmd, p.actor.clone(), answer)
        .await?;
    Ok(stored_answer(render(&appended), key.0.is_some()))
}

// ---------------------------------------------------------------------------------------
// Bulk bookings (issue 13)

/// The bulk route's path: its body limit is `KONTOR_MAX_BULK_BYTES` (the guard reads it too).
pub const BULK_PATH: &str = "/v1/bookings/bulk";
/// The most bookings one bulk request takes.
pub const MAX_BULK_BOOKINGS: usize = 10_000;
/// The most lines (as sent, before generated tax lines) one bulk request takes.
pub const MAX_BULK_LINES: usize = 200_000;

/// The body as it is read: each booking stays raw JSON (a slice of the body) until its slice
/// of 256 is decided, so memory holds the body and one slice, not 10,000 parsed bookings.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkEnvelope<'a> {
    #[serde(default = "atomic_default")]
    atomic: bool,
    #[serde(borrow)]
    bookings: Vec<&'a serde_json::value::RawValue>,
}

fn atomic_default() -> bool {
    true
}

/// Just the lines of a booking, for the limit (anything else is checked by the real parse).
#[derive(Deserialize)]
struct LineCount {
    #[serde(default)]
    lines: Vec<serde::de::IgnoredAny>,
}

/// `POST /v1/bookings/bulk`.
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)] // the schema of the body; the route reads it as `BulkEnvelope`
pub struct BulkRequest {
    /// true (the default): all bookings or none. false: the accepted ones are booked, the
    /// refused ones answered one by one.
    #[schema(default = true)]
    pub atomic: Option<bool>,
    /// 1 to 10,000 bodies exactly as for `POST /v1/bookings`.
    pub bookings: Vec<BookingRequest>,
}

/// One booking of an atomic bulk request.
#[derive(Serialize, ToSchema)]
pub struct BulkBooked {
    /// The booking's place in the request (0-based).
    pub index: usize,
    pub intent_id: Uuid,
    pub event_count: usize,
}

#[derive(Serialize, ToSchema)]
pub struct BulkAtomicResponse {
    /// Every booking, in request order.
    pub results: Vec<BulkBooked>,
}

/// One booking of a non-atomic bulk request: booked (`status` 201 with `intent_id` and
/// `event_count`) or refused (`status` 4xx with `code` and `error`, as `POST /v1/bookings`
/// would have answered).
#[derive(Serialize, ToSchema)]
pub struct BulkItemResult {
    pub index: usize,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intent_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_count: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BulkResponse {
    /// Every booking, in request order.
    pub results: Vec<BulkItemResult>,
}

/// A refused booking as the client sees it: the status, code and message a single booking
/// would have got (the one mapping of use-case errors, `ApiError::of`).
fn item_error(index: usize, e: &app::AppError) -> BulkItemResult {
    let e = crate::error::ApiError::of(e);
    BulkItemResult {
        index,
        status: e.status.as_u16(),
        intent_id: None,
        event_count: None,
        code: Some(e.code.to_string()),
        error: Some(e.message),
    }
}

/// The booking command of one raw booking, or why it is malformed (prefixed `bookings[i]`).
fn bulk_command(index: usize, raw: &serde_json::value::RawValue) -> app::AppResult<BookingCommand> {
    let b: BookingRequest =
        crate::extract::parse_json(raw.get().as_bytes()).map_err(|e| app::AppError::Invalid {
            code: e.code,
            message: format!("bookings[{index}]: {}", e.message),
            field: Some(format!("bookings[{index}]")),
        })?;
    Ok(BookingCommand {
        booking_date: b.booking_date,
        description: b.description,
        lines: b.lines.into_iter().map(Into::into).collect(),
        skip_duplicate_check: b.skip_duplicate_check,
        adjustment_period: b.adjustment_period,
        fx: b.fx.map(|f| Fx {
            currency: f.currency,
            rate: f.rate,
        }),
        external_reference: b.external_reference,
        custom_metadata: b.custom_metadata,
        document_id: b.document_id,
    })
}

#[utoipa::path(post, path = "/v1/bookings/bulk", tag = "Journal", request_body = BulkRequest,
    responses((status = 201, body = BulkAtomicResponse, description = "atomic: every booking booked, in request order"),
              (status = 200, body = BulkResponse, description = "not atomic: each booking booked (201) or refused (4xx with code and error), in request order"),
              (status = 400, body = ErrorBody, description = "atomic: bulk_refused with details.items [{index, code, error}] for every refused booking, nothing written; no_bookings, too_many_bookings, too_many_lines, malformed_json, unknown_field, invalid_field"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 408, body = ErrorBody), (status = 413, body = ErrorBody, description = "the body exceeds KONTOR_MAX_BULK_BYTES (default 32 MiB)"),
              (status = 415, body = ErrorBody)),
    security(("bearer" = ["journal:write"])))]
pub async fn bulk(
    state: web::Data<AppState>,
    p: Principal,
    key: IdempotencyKeyOf,
    req: actix_web::HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    use crate::error::ApiError;
    p.require("journal:write")?;
    let bytes =
        crate::extract::read_json_limited(&req, payload, state.config.max_bulk_bytes).await?;
    // Syntax and U+0000 first, as for every JSON body.
    crate::extract::parse_json::<serde::de::IgnoredAny>(&bytes)?;
    let envelope: BulkEnvelope<'_> = serde_json::from_slice(&bytes).map_err(|e| {
        let message = e.to_string();
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_string();
        let code = if message.starts_with("unknown field") {
            "unknown_field"
        } else {
            "invalid_field"
        };
        ApiError::bad_request(code, format!("Request body: {message}"))
    })?;
    let count = envelope.bookings.len();
    if count == 0 {
        return Err(
            ApiError::bad_request("no_bookings", "bookings must not be empty")
                .with_field("bookings", "must not be empty"),
        );
    }
    if count > MAX_BULK_BOOKINGS {
        return Err(ApiError::bad_request(
            "too_many_bookings",
            format!(
                "a bulk request takes at most {MAX_BULK_BOOKINGS} bookings; this one has {count}"
            ),
        )
        .with_field("bookings", "too many"));
    }
    let lines: usize = envelope
        .bookings
        .iter()
        .filter_map(|raw| serde_json::from_str::<LineCount>(raw.get()).ok())
        .map(|c| c.lines.len())
        .sum();
    if lines > MAX_BULK_LINES {
        return Err(ApiError::bad_request(
            "too_many_lines",
            format!("a bulk request takes at most {MAX_BULK_LINES} lines; this one has {lines}"),
        )
        .with_field("bookings", "too many lines"));
    }
    let atomic = envelope.atomic;
    let render_items = |results: &[app::AppResult<Appended>]| -> Vec<BulkItemResult> {
        results
            .iter()
            .enumerate()
            .map(|(index, r)| match r {
                Ok(a) => BulkItemResult {
                    index,
                    status: 201,
                    intent_id: Some(a.intent_id),
                    event_count: Some(a.event_count),
                    code: None,
                    error: None,
                },
                Err(e) => item_error(index, e),
            })
            .collect()
    };
    let render = move |results: &[app::AppResult<Appended>]| {
        if atomic {
            StoredResponse::json(
                201,
                &BulkAtomicResponse {
                    results: results
                        .iter()
                        .enumerate()
                        .filter_map(|(index, r)| r.as_ref().ok().map(|a| (index, a)))
                        .map(|(index, a)| BulkBooked {
                            index,
                            intent_id: a.intent_id,
                            event_count: a.event_count,
                        })
                        .collect(),
                },
            )
        } else {
            StoredResponse::json(
                200,
                &BulkResponse {
                    results: render_items(results),
                },
            )
        }
    };
    let bookings = &envelope.bookings;
    let (results, stored) = state
        .app
        .book_bulk(
            p.tenant_id,
            count,
            atomic,
            &p.actor,
            |range| range.map(|i| bulk_command(i, bookings[i])).collect(),
            key.with(render),
        )
        .await?;
    if atomic && results.iter().any(Result::is_err) {
        let items: Vec<serde_json::Value> = render_items(&results)
            .into_iter()
            .filter(|r| r.status >= 400)
            .map(|r| serde_json::json!({"index": r.index, "code": r.code, "error": r.error}))
            .collect();
        let mut e = ApiError::bad_request(
            "bulk_refused",
            format!(
                "{} of {count} bookings were refused; nothing was booked",
                items.len()
            ),
        );
        e.details = Some(serde_json::json!({ "items": items }));
        return Err(e);
    }
    Ok(stored_answer(render(&results), stored))
}
