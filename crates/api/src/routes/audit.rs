use crate::auth::Principal;
use crate::error::ApiResult;
use crate::extract::Params;
use crate::routes::ErrorBody;
use crate::AppState;
use actix_web::{web, HttpResponse};
use serde_json::json;

pub const MAX_EVENTS: i64 = 10_000;

/// `GET /v1/audit/events`: the journal's events as NDJSON, one object per line:
/// `{"seq", "intent_id", "period", "prev_hash", "hash", "payload"}` (hashes lowercase hex).
#[utoipa::path(get, path = "/v1/audit/events", tag = "Audit",
    params(("from_seq" = Option<i64>, Query, description = "first seq, default 1"),
           ("limit" = Option<i64>, Query, description = "1..10000, default 1000")),
    responses((status = 200, content_type = "application/x-ndjson", description = "one event per line; header X-Next-From-Seq names the next page's from_seq"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = ["audit:read"])))]
pub async fn events(
    state: web::Data<AppState>,
    p: Principal,
    q: Params,
) -> ApiResult<HttpResponse> {
    p.require("audit:read")?;
    let from = q.int("from_seq").filter(|s| *s >= 1).unwrap_or(1);
    let limit = q
        .int("limit")
        .filter(|l| (1..=MAX_EVENTS).contains(l))
        .unwrap_or(1000);
    let events = state.app.audit_events(p.tenant_id, from, limit).await?;
    let next = events.last().map(|e| e.seq + 1).unwrap_or(from);
    let mut body = Vec::with_capacity(events.len() * 700);
    for e in events {
        let line = json!({
            "seq": e.seq,
            "intent_id": e.intent_id,
            "period": e.period,
            "prev_hash": hex::encode(&e.prev_hash),
            "hash": hex::encode(&e.hash),
            "payload": e.payload,
        });
        serde_json::to_writer(&mut body, &line).map_err(|_| crate::error::ApiError::internal())?;
        body.push(b'\n');
    }
    Ok(HttpResponse::Ok()
        .content_type("application/x-ndjson")
        .insert_header(("X-Next-From-Seq", next.to_string()))
        .body(body))
}
