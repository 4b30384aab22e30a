//! The middleware in front of every handler: resolves credentials once, applies the rate limit
//! of the key's tier, and makes POSTs with an `Idempotency-Key` safe to retry.

use crate::auth::{self, AuthFailure, Principal};
use crate::error::ApiError;
use crate::AppState;
use actix_web::body::{to_bytes, BoxBody, MessageBody};
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::{web, Error, HttpMessage, HttpResponse, ResponseError};
use app::identity::RateWindow;
use app::{IdempotencyKey, Lookup, StoredResponse};
use futures_util::future::LocalBoxFuture;
use std::collections::HashMap;
use std::future::{ready, Ready};
use std::rc::Rc;
use std::time::Duration;

pub use app::scopes::RateLimits;

/// Counts the request in its key's fixed window (`App::count_request`); None for sessions and
/// tiers without a limit.
async fn check_rate(state: &AppState, p: &Principal) -> Result<Option<RateWindow>, ApiError> {
    let (Some(tier), Some(key_id)) = (p.tier(), p.key_id()) else {
        return Ok(None);
    };
    Ok(state.app.count_request(key_id, tier).await?)
}

fn set_rate_headers(headers: &mut header::HeaderMap, info: &RateWindow) {
    for (name, value) in [
        ("x-ratelimit-limit", info.limit.to_string()),
        ("x-ratelimit-remaining", info.remaining.to_string()),
        ("x-ratelimit-reset", info.reset.to_string()),
        ("x-ratelimit-tier", info.tier.clone()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    }
}

pub struct Guard;

impl<S, B> Transform<S, ServiceRequest> for Guard
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = Error;
    type Transform = GuardService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(GuardService {
            service: Rc::new(service),
        }))
    }
}

pub struct GuardService<S> {
    service: Rc<S>,
}

impl<S, B> Service<ServiceRequest> for GuardService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let service = self.service.clone();
        // HEAD is answered as GET without the body (`:read` scopes allow GET and HEAD).
        let head = req.method() == Method::HEAD;
        if head {
            req.head_mut().method = Method::GET;
        }
        Box::pin(async move {
            let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
                return service
                    .call(req)
                    .await
                    .map(ServiceResponse::map_into_boxed_body);
            };
            let principal = match auth::resolve(&state, req.request()).await {
                Ok(p) => p,
                Err(e) => {
                    req.extensions_mut().insert(AuthFailure(e));
                    None
                }
            };
            let mut rate = None;
            if let Some(p) = &principal {
                req.extensions_mut().insert(p.clone());
                match check_rate(&state, p).await {
                    Ok(Some(info)) if info.exceeded => {
                        crate::metrics::count_refusal("api_key", &info.tier);
                        let e = ApiError::too_many(
                            "rate_limited",
                            format!(
                                "Rate limit of {} requests per {} s for tier {} exceeded",
                                info.limit, info.window, info.tier
                            ),
                            info.retry_after,
                        );
                        let mut res = e.error_response();
                        set_rate_headers(res.headers_mut(), &info);
                        return Ok(req.into_response(res));
                    }
                    Ok(info) => rate = info,
                    Err(e) => return Ok(req.into_response(e.error_response())),
                }
            }
            let idempotency_key = req
                .headers()
                .get("idempotency-key")
                .map(|v| v.to_str().map(str::to_string).unwrap_or_default());
            let mut res = match (idempotency_key, &principal) {
                (Some(key), Some(p)) if req.method() == Method::POST => {
                    idempotent(&state, &service, req, p.tenant_id, key).await?
                }
                _ => service.call(req).await?.map_into_boxed_body(),
            };
            if let Some(info) = rate {
                set_rate_headers(res.headers_mut(), &info);
            }
            if head {
                res = res.map_body(|_, _| BoxBody::new(()));
            }
            Ok(res)
        })
    }
}

/// How long a concurrent duplicate waits for the first request with the same key to finish.
const PENDING_WAIT: Duration = Duration::from_secs(15);

/// A tenant's key.
type KeyId = (uuid::Uuid, String);

/// Keys being served in this process: a concurrent duplicate waits on its key's mutex.
/// (Across replicas, the key's primary key in `idempotency_keys` does the same.)
#[derive(Default)]
pub struct KeyLocks(std::sync::Mutex<HashMap<KeyId, std::sync::Weak<tokio::sync::Mutex<()>>>>);

impl KeyLocks {
    /// Holds `key` until the guard is dropped; `None` when another request kept it for `wait`.
    async fn lock(
        &self,
        key: &IdempotencyKey,
        wait: Duration,
    ) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        let mutex = {
            let mut map = self.0.lock().expect("key locks");
            map.retain(|_, m| m.strong_count() > 0);
            let id = (key.tenant_id, key.key.clone());
            match map.get(&id).and_then(std::sync::Weak::upgrade) {
                Some(m) => m,
                None => {
                    let m = std::sync::Arc::new(tokio::sync::Mutex::new(()));
                    map.insert(id, std::sync::Arc::downgrade(&m));
                    m
                }
            }
        };
        tokio::time::timeout(wait, mutex.lock_owned()).await.ok()
    }
}

/// Set on a response whose `Idempotency-Key` record the use case committed with what it
/// created: the guard stores nothing more.
#[derive(Clone, Copy)]
pub struct StoredInTransaction;

/// Set on a response to a request whose key another request stored first: the guard replays
/// that stored answer instead.
#[derive(Clone, Copy)]
pub struct ReplayStored;

fn replay(stored: StoredResponse) -> HttpResponse {
    let mut res = HttpResponse::build(
        actix_web::http::StatusCode::from_u16(stored.status)
            .unwrap_or(actix_web::http::StatusCode::OK),
    );
    if let Some(ct) = stored.content_type {
        res.insert_header((header::CONTENT_TYPE, ct));
    }
    res.insert_header(("idempotent-replayed", "true"));
    res.body(stored.body)
}

fn in_progress() -> ApiError {
    ApiError::conflict(
        "idempotency_in_progress",
        "A request with this Idempotency-Key is still being processed",
    )
}

/// The routes that take a bank statement file (`KONTOR_MAX_STATEMENT_BYTES`).
fn is_statement_upload(path: &str) -> bool {
    path == "/v1/bank-transactions/import-file"
        || (path.starts_with("/v1/bank-accounts/") && path.ends_with("/upload"))
}

/// The body limit of the routes that have one of their own (else `KONTOR_MAX_JSON_BYTES`).
fn own_body_limit(path: &str, config: &crate::ApiConfig) -> Option<usize> {
    if is_statement_upload(path) {
        Some(config.max_statement_bytes)
    } else if path == crate::routes::bookings::BULK_PATH {
        Some(config.max_bulk_bytes)
    } else {
        None
    }
}

async fn idempotent<S, B>(
    state: &AppState,
    service: &Rc<S>,
    mut req: ServiceRequest,
    tenant_id: uuid::Uuid,
    key: String,
) -> Result<ServiceResponse<BoxBody>, Error>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        let e = ApiError::bad_request(
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        );
        return Ok(req.into_response(e.error_response()));
    }
    let timeout = state.config.request_timeout;
    // Bank statement files (issue 10) and bulk bookings (issue 13) are hashed up to their own
    // limit, every other body up to KONTOR_MAX_JSON_BYTES.
    let read = if let Some(limit) = own_body_limit(req.path(), &state.config) {
        let mut payload = req.take_payload();
        Box::pin(async move {
            use futures_util::StreamExt;
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(Error::from)?;
                if body.len() + chunk.len() > limit {
                    return Err(actix_web::error::PayloadError::Overflow.into());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body.freeze())
        }) as LocalBoxFuture<'static, Result<web::Bytes, Error>>
    } else {
        Box::pin(req.extract::<web::Bytes>())
    };
    let body = match tokio::time::timeout(timeout, read).await {
        Err(_) => {
            let e = crate::extract::request_timeout();
            return Ok(req.into_response(e.error_response()));
        }
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            let status = e.as_response_error().status_code();
            let err = if status == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(status, "payload_too_large", "Request body is too large")
            } else {
                ApiError::bad_request(
                    "malformed_body",
                    format!("Could not read the request body: {e}"),
                )
            };
            return Ok(req.into_response(err.error_response()));
        }
    };
    let mut hasher = blake3::Hasher::new();
    hasher.update(req.method().as_str().as_bytes());
    hasher.update(b"\0");
    hasher.update(req.uri().to_string().as_bytes());
    hasher.update(b"\0");
    hasher.update(&body);
    let key = IdempotencyKey {
        tenant_id,
        key,
        request_hash: *hasher.finalize().as_bytes(),
    };
    req.set_payload(actix_web::dev::Payload::from(body));

    let Some(_held) = state.key_locks.lock(&key, PENDING_WAIT).await else {
        return Ok(req.into_response(in_progress().error_response()));
    };
    match state.app.idempotency_lookup(&key).await {
        Err(e) => return Ok(req.into_response(ApiError::from(e).error_response())),
        Ok(Lookup::Absent) => {}
        Ok(Lookup::Conflict) => {
            let e = ApiError::conflict(
                "idempotency_conflict",
                "This Idempotency-Key was used with a different request; use a new key for a new request",
            );
            return Ok(req.into_response(e.error_response()));
        }
        Ok(Lookup::Replay(stored)) => return Ok(req.into_response(replay(stored))),
    }

    req.extensions_mut().insert(key.clone());
    let res = service.call(req).await?;
    if res.response().extensions().contains::<ReplayStored>() {
        // Another replica committed the same key first; its answer is the answer.
        let (req, _) = res.into_parts();
        let answer = match state.app.idempotency_lookup(&key).await {
            Ok(Lookup::Replay(stored)) => replay(stored),
            Ok(_) => in_progress().error_response(),
            Err(e) => ApiError::from(e).error_response(),
        };
        return Ok(ServiceResponse::new(req, answer));
    }
    // A server error is not an answer to keep: the retry runs again. An answer the use case
    // stored with what it created is kept already.
    if res.status().is_server_error()
        || res
            .response()
            .extensions()
            .contains::<StoredInTransaction>()
    {
        return Ok(res.map_into_boxed_body());
    }
    let (req, response) = res.into_parts();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = match to_bytes(response.into_body()).await {
        Ok(b) => b,
        Err(_) => {
            return Ok(ServiceResponse::new(
                req,
                ApiError::internal().error_response(),
            ));
        }
    };
    let stored = StoredResponse {
        status: status.as_u16(),
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: bytes.to_vec(),
    };
    if let Err(e) = state.app.idempotency_store(&key, &stored).await {
        tracing::error!(error = ?e, "could not store an idempotent response");
    }
    let mut rebuilt = HttpResponse::build(status);
    for (name, value) in headers.iter() {
        rebuilt.append_header((name.clone(), value.clone()));
    }
    Ok(ServiceResponse::new(req, rebuilt.body(bytes)))
}
