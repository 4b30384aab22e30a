use crate::auth::Principal;
use crate::error::ApiResult;
use crate::AppState;
use actix_web::{web, HttpResponse};

/// `GET /v1/openapi.json`: any valid key of any tenant, no scope needed.
pub async fn openapi_authenticated(_p: Principal) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(crate::openapi::document()))
}

/// `GET /openapi.json`: the same document without credentials, for client generators.
pub async fn openapi_public() -> HttpResponse {
    HttpResponse::Ok().json(crate::openapi::document())
}

/// `GET /docs`: to the interactive API reference at `/docs/`.
pub async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header(("Location", "/docs/"))
        .finish()
}

/// `GET /health`: 200 when the database answers, 503 otherwise.
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    if state.app.database_answers().await {
        HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
    } else {
        HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"status": "database unavailable"}))
    }
}

/// `GET /ready`: 200 when the database answers and every migration of this build is applied
/// with its checksum, 503 otherwise (a load balancer sends no traffic to it yet).
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    if state.app.ready().await {
        HttpResponse::Ok().json(serde_json::json!({"status": "ready"}))
    } else {
        HttpResponse::ServiceUnavailable().json(serde_json::json!({"status": "not ready"}))
    }
}
