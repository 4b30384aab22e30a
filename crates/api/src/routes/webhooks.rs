//! Webhooks (`/v1/webhooks`, owner session only, like API keys and users) and the event feed
//! (`GET /v1/events`, scope `journal:read`), issue 15.

use crate::auth::Principal;
use crate::error::ApiResult;
use crate::extract::{JsonBody, Params};
use crate::routes::{path_id, ErrorBody};
use crate::AppState;
use actix_web::{web, HttpResponse};
use app::webhooks::{
    DeliveryRow, FeedEvent, NewWebhook, WebhookChange, WebhookRow, WebhookWithSecret,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// http or https; it must resolve to a public address (unless
    /// `KONTOR_WEBHOOKS_ALLOW_PRIVATE=1`), else 400 `webhook_url_forbidden`.
    #[schema(example = "https://hooks.example.com/kontor")]
    pub url: String,
    /// Event names, or `["*"]` for every event (also those added later).
    #[schema(example = json!(["invoice.paid", "booking.created"]))]
    pub events: Vec<String>,
    /// At most 500 characters.
    pub description: Option<String>,
}

/// Absent: unchanged; null: cleared.
fn some_option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookRequest {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// null clears it.
    #[serde(default, deserialize_with = "some_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// false stops deliveries: events while it is inactive are not delivered to it
    /// (deliveries already due wait until it is active again); true also turns on a webhook
    /// the service disabled.
    pub active: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookDto {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    pub active: bool,
    /// Why the service disabled it (its last five events all failed every attempt).
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<WebhookRow> for WebhookDto {
    fn from(w: WebhookRow) -> Self {
        WebhookDto {
            id: w.id,
            url: w.url,
            events: w.events,
            description: w.description,
            active: w.active,
            disabled_reason: w.disabled_reason,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

/// A webhook with its signing secret: only the answer of create and rotate-secret.
#[derive(Serialize, ToSchema)]
pub struct WebhookWithSecretDto {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    pub active: bool,
    /// `whsec_…`: the HMAC key of `X-Kontor-Signature`. Shown in this answer only.
    #[schema(example = "whsec_3Jc9…")]
    pub secret: String,
    pub created_at: DateTime<Utc>,
}

impl From<WebhookWithSecret> for WebhookWithSecretDto {
    fn from(w: WebhookWithSecret) -> Self {
        WebhookWithSecretDto {
            id: w.webhook.id,
            url: w.webhook.url,
            events: w.webhook.events,
            description: w.webhook.description,
            active: w.webhook.active,
            secret: w.secret,
            created_at: w.webhook.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AttemptDto {
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i32,
    /// The receiver's status code; null when there was no answer (timeout, refused).
    pub status_code: Option<i32>,
    pub error: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryDto {
    /// Also `X-Kontor-Delivery` and `Idempotency-Key` of every attempt.
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub event_id: Uuid,
    pub event: String,
    pub sequence: i64,
    /// pending (first attempt or a retry to come), delivered, or failed (every retry failed).
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Every attempt, oldest first.
    pub attempt_log: Vec<AttemptDto>,
}

impl From<DeliveryRow> for DeliveryDto {
    fn from(d: DeliveryRow) -> Self {
        DeliveryDto {
            id: d.id,
            webhook_id: d.webhook_id,
            event_id: d.event_id,
            event: d.event,
            sequence: d.sequence,
            status: d.status,
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_attempt_at: d.last_attempt_at,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            created_at: d.created_at,
            attempt_log: d
                .attempt_log
                .into_iter()
                .map(|a| AttemptDto {
                    attempt: a.attempt,
                    started_at: a.started_at,
                    duration_ms: a.duration_ms,
                    status_code: a.status_code,
                    error: a.error,
                })
                .collect(),
        }
    }
}

/// An event of the feed: the same JSON a webhook receives.
#[derive(Serialize, ToSchema)]
pub struct EventDto {
    /// The event's id.
    pub id: Uuid,
    /// Its place in the tenant's feed: 1, 2, 3 … in commit order, without gaps.
    pub sequence: i64,
    #[schema(example = "invoice.paid")]
    pub event: String,
    /// The payload version of this event type.
    pub version: i32,
    pub created_at: String,
    /// The tenant's slug.
    pub tenant: String,
    /// The payload (see the `webhooks` section of this document).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
pub struct EventList {
    pub events: Vec<EventDto>,
    /// Pass as `cursor` to get what follows. Also set on the last page (the feed goes on
    /// growing): poll with it; null only while the feed is empty.
    pub next_cursor: Option<String>,
}

#[utoipa::path(post, path = "/v1/webhooks", tag = "Webhooks", request_body = CreateWebhookRequest,
    responses((status = 201, body = WebhookWithSecretDto),
              (status = 400, body = ErrorBody, description = "invalid_webhook_url, webhook_url_forbidden, unknown_event, invalid_events, invalid_description, invalid_body"),
              (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody, description = "owner_session_required, role_forbidden")),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    p: Principal,
    body: JsonBody<CreateWebhookRequest>,
) -> ApiResult<HttpResponse> {
    let user_id = p.require_owner_session()?;
    let b = body.0;
    let created = state
        .app
        .create_webhook(
            p.tenant_id,
            NewWebhook {
                url: b.url,
                events: b.events,
                description: b.description,
            },
            &format!("user:{user_id}"),
        )
        .await?;
    Ok(HttpResponse::Created().json(WebhookWithSecretDto::from(created)))
}

#[utoipa::path(get, path = "/v1/webhooks", tag = "Webhooks",
    responses((status = 200, body = [WebhookDto]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(state: web::Data<AppState>, p: Principal) -> ApiResult<HttpResponse> {
    p.require_owner_session()?;
    let hooks = state.app.list_webhooks(p.tenant_id).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("X-Total-Count", hooks.len().to_string()))
        .json(hooks.into_iter().map(WebhookDto::from).collect::<Vec<_>>()))
}

#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "Webhooks", params(("id" = Uuid, Path)),
    responses((status = 200, body = WebhookDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    p.require_owner_session()?;
    let id = path_id("webhook", &id)?;
    let hook = state.app.get_webhook(p.tenant_id, id).await?;
    Ok(HttpResponse::Ok().json(WebhookDto::from(hook)))
}

#[utoipa::path(patch, path = "/v1/webhooks/{id}", tag = "Webhooks", params(("id" = Uuid, Path)),
    request_body = UpdateWebhookRequest,
    responses((status = 200, body = WebhookDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    body: JsonBody<UpdateWebhookRequest>,
) -> ApiResult<HttpResponse> {
    p.require_owner_session()?;
    let id = path_id("webhook", &id)?;
    let b = body.0;
    let hook = state
        .app
        .update_webhook(
            p.tenant_id,
            id,
            WebhookChange {
                url: b.url,
                events: b.events,
                description: b.description,
                active: b.active,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(WebhookDto::from(hook)))
}

#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "Webhooks", params(("id" = Uuid, Path)),
    responses((status = 200, body = WebhookDto, description = "deleted, with its deliveries"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    p.require_owner_session()?;
    let id = path_id("webhook", &id)?;
    let hook = state.app.delete_webhook(p.tenant_id, id).await?;
    Ok(HttpResponse::Ok().json(WebhookDto::from(hook)))
}

#[utoipa::path(post, path = "/v1/webhooks/{id}/rotate-secret", tag = "Webhooks", params(("id" = Uuid, Path)),
    responses((status = 200, body = WebhookWithSecretDto, description = "the new secret signs from the next attempt on; the old one stops at once"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    p.require_owner_session()?;
    let id = path_id("webhook", &id)?;
    let rotated = state.app.rotate_webhook_secret(p.tenant_id, id).await?;
    Ok(HttpResponse::Ok().json(WebhookWithSecretDto::from(rotated)))
}

#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "Webhooks",
    params(("id" = Uuid, Path), ("limit" = Option<i64>, Query, description = "1..500, default 100")),
    responses((status = 200, body = [DeliveryDto], description = "the most recent deliveries, newest event first, each with its attempts"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn deliveries(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    q: Params,
) -> ApiResult<HttpResponse> {
    list_deliveries(state, p, id, q, false).await
}

#[utoipa::path(get, path = "/v1/webhooks/{id}/failed_deliveries", tag = "Webhooks",
    params(("id" = Uuid, Path), ("limit" = Option<i64>, Query, description = "1..500, default 100")),
    responses((status = 200, body = [DeliveryDto], description = "deliveries that failed every attempt, newest event first"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn failed_deliveries(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    q: Params,
) -> ApiResult<HttpResponse> {
    list_deliveries(state, p, id, q, true).await
}

async fn list_deliveries(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    q: Params,
    failed_only: bool,
) -> ApiResult<HttpResponse> {
    p.require_owner_session()?;
    let id = path_id("webhook", &id)?;
    let rows = state
        .app
        .list_webhook_deliveries(p.tenant_id, id, failed_only, q.limit())
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("X-Total-Count", rows.len().to_string()))
        .json(rows.into_iter().map(DeliveryDto::from).collect::<Vec<_>>()))
}

#[utoipa::path(post, path = "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", tag = "Webhooks",
    params(("id" = Uuid, Path), ("delivery_id" = Uuid, Path)),
    responses((status = 202, body = DeliveryDto, description = "due at once, with the whole retry schedule again; same delivery id"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn redeliver(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    p.require_owner_session()?;
    let (id, delivery) = path.into_inner();
    let id = path_id("webhook", &id)?;
    let delivery = path_id("delivery", &delivery)?;
    let row = state.app.redeliver(p.tenant_id, id, delivery).await?;
    Ok(HttpResponse::Accepted().json(DeliveryDto::from(row)))
}

/// The feed cursor: the last sequence seen, as a list cursor.
fn feed_cursor(q: &Params) -> i64 {
    crate::routes::list_cursor(q)
        .and_then(|c| c.0.first().and_then(|s| s.parse::<i64>().ok()))
        .filter(|s| *s >= 0)
        .unwrap_or(0)
}

#[utoipa::path(get, path = "/v1/events", tag = "Webhooks",
    params(("cursor" = Option<String>, Query, description = "next_cursor of the previous page; absent or malformed: from the start"),
           ("limit" = Option<i64>, Query, description = "1..500, default 100")),
    responses((status = 200, body = EventList, description = "the tenant's events in sequence (commit) order, the same JSON webhooks receive"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = ["journal:read"])))]
pub async fn events(
    state: web::Data<AppState>,
    p: Principal,
    q: Params,
) -> ApiResult<HttpResponse> {
    p.require("journal:read")?;
    let after = feed_cursor(&q);
    let slug = state
        .app
        .tenant_info(p.tenant_id)
        .await?
        .tenant
        .slug
        .clone();
    let events = state.app.list_events(p.tenant_id, after, q.limit()).await?;
    let last = events.last().map(|e| e.sequence).unwrap_or(after);
    let next_cursor = (last > 0).then(|| app::ListCursor(vec![last.to_string()]).encode());
    Ok(HttpResponse::Ok().json(EventList {
        events: events.iter().map(|e| event_dto(e, &slug)).collect(),
        next_cursor,
    }))
}

fn event_dto(e: &FeedEvent, slug: &str) -> EventDto {
    EventDto {
        id: e.id,
        sequence: e.sequence,
        event: e.event.clone(),
        version: e.version,
        created_at: e
            .created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        tenant: slug.to_string(),
        data: e.data.clone(),
    }
}
