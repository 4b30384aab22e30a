use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::Params;
use crate::routes::accounts::EntryDto;
use crate::routes::{money, ErrorBody};
use crate::AppState;
use actix_web::{web, HttpResponse};
use app::ledger::{JournalCursor, JournalFilter};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Serialize, ToSchema)]
pub struct JournalList {
    /// Journal lines, newest booking date first.
    pub entries: Vec<EntryDto>,
    /// Every match; exact up to 10,000, beyond that possibly an estimate (`total_estimated`).
    pub total: i64,
    /// True when `total` is an estimate (also the header `X-Total-Count-Estimated: true`).
    pub total_estimated: bool,
    /// 0 when the page was asked for by `cursor`.
    pub offset: i64,
    pub limit: i64,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct IntentSummary {
    /// booking, opening_balance or reversal
    pub kind: String,
    #[schema(value_type = String, format = Date)]
    pub booking_date: chrono::NaiveDate,
    pub period: String,
    pub description: String,
    pub external_reference: Option<String>,
    /// Currency the intent was booked in.
    pub currency: String,
    pub fx_rate: Option<String>,
    /// Base-currency totals.
    pub total_debit: String,
    pub total_credit: String,
    pub event_count: i32,
    pub first_seq: i64,
    pub last_seq: i64,
    /// True once a reversal of this intent exists.
    pub reversed: bool,
    pub reversal_of: Option<Uuid>,
    pub posting_mode: Option<String>,
    pub reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LinkedIntent {
    pub intent_id: Uuid,
    /// "reversed_by" (the linked intent reverses this one) or "reverses".
    pub relation: String,
    #[schema(value_type = String, format = Date)]
    pub booking_date: chrono::NaiveDate,
    pub recorded_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct EventHash {
    pub seq: i64,
    /// blake3, lowercase hex.
    pub hash: String,
}

#[derive(Serialize, ToSchema)]
pub struct IntentMetadata {
    /// Who caused the intent: `{"kind": "api_key" | "user", "id": "…"}`.
    #[schema(value_type = Object)]
    pub created_by: serde_json::Value,
    pub created_at: chrono::DateTime<chrono::Utc>,
    #[schema(value_type = Option<Object>)]
    pub custom_metadata: Option<serde_json::Value>,
    pub document_id: Option<Uuid>,
    pub events: Vec<EventHash>,
}

#[derive(Serialize, ToSchema)]
pub struct IntentDto {
    pub intent_id: Uuid,
    pub entries: Vec<EntryDto>,
    pub summary: IntentSummary,
    pub linked_intents: Vec<LinkedIntent>,
    pub metadata: IntentMetadata,
}

#[utoipa::path(get, path = "/v1/journal", tag = "Journal",
    params(("account" = Option<String>, Query), ("startDate" = Option<String>, Query), ("endDate" = Option<String>, Query),
           ("search" = Option<String>, Query, description = "in description, line description, external reference"),
           ("externalReference" = Option<String>, Query), ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query),
           ("cursor" = Option<String>, Query, description = "next_cursor of the previous page; then offset is ignored. A malformed cursor is ignored (first page)")),
    responses((status = 200, body = JournalList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = ["journal:read"])))]
pub async fn list(state: web::Data<AppState>, p: Principal, q: Params) -> ApiResult<HttpResponse> {
    p.require("journal:read")?;
    let filter = JournalFilter {
        account: q.text("account"),
        start_date: q.date("startDate"),
        end_date: q.date("endDate"),
        search: q.text("search"),
        external_reference: q.text("externalReference"),
        limit: q.limit(),
        offset: q.offset(),
        // A malformed cursor is a malformed list parameter: it falls back to none.
        after: q.text("cursor").and_then(|c| JournalCursor::decode(&c)),
    };
    let offset = if filter.after.is_some() {
        0
    } else {
        filter.offset
    };
    let base = state
        .app
        .tenant_info(p.tenant_id)
        .await?
        .tenant
        .base_currency
        .clone();
    let page = state.app.list_journal(p.tenant_id, &filter).await?;
    let mut res = HttpResponse::Ok();
    res.insert_header(("X-Total-Count", page.total.count.to_string()));
    if page.total.estimated {
        res.insert_header(("X-Total-Count-Estimated", "true"));
    }
    Ok(res.json(JournalList {
        entries: page
            .entries
            .into_iter()
            .map(|e| EntryDto::new(e, &base))
            .collect(),
        total: page.total.count,
        total_estimated: page.total.estimated,
        offset,
        limit: filter.limit,
        next_cursor: page.next.map(|c| c.encode()),
    }))
}

#[utoipa::path(get, path = "/v1/journal/{intent_id}", tag = "Journal",
    params(("intent_id" = Uuid, Path)),
    responses((status = 200, body = IntentDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = ["journal:read"])))]
pub async fn get(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    p.require("journal:read")?;
    let id: Uuid = id
        .parse()
        .map_err(|_| ApiError::not_found(format!("intent {id} not found")))?;
    let base = state
        .app
        .tenant_info(p.tenant_id)
        .await?
        .tenant
        .base_currency
        .clone();
    let d = state.app.get_intent(p.tenant_id, id).await?;
    let i = d.intent;
    let reversed = d.linked.iter().any(|(_, rel, _, _)| *rel == "reversed_by");
    Ok(HttpResponse::Ok().json(IntentDto {
        intent_id: i.intent_id,
        entries: d
            .entries
            .into_iter()
            .map(|e| EntryDto::new(e, &base))
            .collect(),
        summary: IntentSummary {
            kind: i.kind.as_str().to_string(),
            booking_date: i.booking_date,
            period: i.period,
            description: i.description,
            external_reference: i.external_reference,
            currency: i.currency,
            fx_rate: i.fx_rate.map(|r| r.normalize().to_string()),
            total_debit: money(i.total_debit, &base),
            total_credit: money(i.total_credit, &base),
            event_count: i.event_count,
            first_seq: i.first_seq,
            last_seq: i.first_seq + i64::from(i.event_count) - 1,
            reversed,
            reversal_of: i.reversal_of,
            posting_mode: i.posting_mode.map(|m| m.as_str().to_string()),
            reason: i.reason,
        },
        linked_intents: d
            .linked
            .into_iter()
            .map(
                |(intent_id, relation, booking_date, recorded_at)| LinkedIntent {
                    intent_id,
                    relation: relation.to_string(),
                    booking_date,
                    recorded_at,
                },
            )
            .collect(),
        metadata: IntentMetadata {
            created_by: i.actor,
            created_at: i.recorded_at,
            custom_metadata: i.custom_metadata,
            document_id: i.document_id,
            events: d
                .event_hashes
                .into_iter()
                .map(|(seq, hash)| EventHash {
                    seq,
                    hash: hex::encode(hash),
                })
                .collect(),
        },
    }))
}

#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReverseRequest {
    pub intent_id: Uuid,
    /// Why the booking is reversed (GoBD: corrections must be explained).
    pub reason: String,
    /// "swap" (debit and credit exchanged, default) or "negative" (same sides, negative amounts: DATEV Generalumkehr).
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "swap")]
    pub posting_mode: Option<PostingModeRequest>,
}

#[derive(serde::Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum PostingModeRequest {
    Swap,
    Negative,
}

#[derive(Serialize, ToSchema)]
pub struct ReverseResponse {
    pub reversal_intent_id: Uuid,
    pub original_intent_id: Uuid,
    pub event_count: usize,
}

#[utoipa::path(post, path = "/v1/journal/reverse", tag = "Journal", request_body = ReverseRequest,
    responses((status = 201, body = ReverseResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "already_reversed, reversal_of_reversal, no_open_period")),
    security(("bearer" = ["journal:write"])))]
pub async fn reverse(
    state: web::Data<AppState>,
    p: Principal,
    key: crate::extract::IdempotencyKeyOf,
    body: crate::extract::JsonBody<ReverseRequest>,
) -> ApiResult<HttpResponse> {
    p.require("journal:write")?;
    let b = body.0;
    let mode = match b.posting_mode.unwrap_or(PostingModeRequest::Swap) {
        PostingModeRequest::Swap => ::journal::PostingMode::Swap,
        PostingModeRequest::Negative => ::journal::PostingMode::Negative,
    };
    let original = b.intent_id;
    let render = move |a: &app::bookings::Appended| {
        app::StoredResponse::json(
            201,
            &ReverseResponse {
                reversal_intent_id: a.intent_id,
                original_intent_id: original,
                event_count: a.event_count,
            },
        )
    };
    let cmd = ::journal::ReversalCommand {
        intent_id: b.intent_id,
        reason: b.reason,
        posting_mode: mode,
    };
    let appended = state
        .app
        .reverse(p.tenant_id, cmd, p.actor.clone(), key.with(render))
        .await?;
    Ok(crate::extract::stored_answer(
        render(&appended),
        key.0.is_some(),
    ))
}
