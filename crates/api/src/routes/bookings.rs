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
