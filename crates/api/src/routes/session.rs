//! Login, logout, password setup and reset: the only endpoints without credentials (but login).

use crate::auth::{Credential, Principal};
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::routes::ErrorBody;
use crate::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use app::identity::{LoggedIn, LoginAttempt, TenantMembership};
use app::scopes::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Failed logins count within this window (limits in `ApiConfig`).
pub use app::identity::THROTTLE_WINDOW_SECS;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(example = "anna@acme.test")]
    pub email: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct TenantDto {
    pub slug: String,
    pub name: String,
    /// owner, accountant, auditor or viewer
    #[schema(value_type = String)]
    pub role: Role,
}

impl From<TenantMembership> for TenantDto {
    fn from(t: TenantMembership) -> Self {
        TenantDto {
            slug: t.slug,
            name: t.name,
            role: t.role,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SessionUser {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    /// The tenants the user may act in; send `x-tenant-slug` when there are several.
    pub tenants: Vec<TenantDto>,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Session token: `Authorization: Bearer ks_…`.
    pub token: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub user: SessionUser,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgotRequest {
    pub email: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetupRequest {
    /// The token from the invite or reset mail.
    pub token: String,
    /// At least 12 characters.
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct Ok {
    pub ok: bool,
}

/// The client's address: the TCP peer, or the last `X-Forwarded-For` entry (the one our proxy
/// appended) when configured.
pub fn client_address(state: &AppState, req: &HttpRequest) -> String {
    if state.config.trust_forwarded_for {
        if let Some(first) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            // The proxy appends the address it saw; earlier entries are the client's to write.
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty() && v.len() <= 64)
        {
            return first.to_string();
        }
    }
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

#[utoipa::path(post, path = "/v1/auth/login", tag = "Identity", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody, description = "invalid_credentials"),
              (status = 429, body = ErrorBody, description = "too_many_attempts, with Retry-After")),
    security(()))]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody<LoginRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let LoggedIn {
        token,
        expires_at,
        user,
        tenants,
    } = state
        .app
        .login(LoginAttempt {
            email: b.email,
            password: b.password,
            address: client_address(&state, &req),
        })
        .await?;
    Ok(HttpResponse::Ok().json(LoginResponse {
        token,
        expires_at,
        user: SessionUser {
            id: user.id,
            email: user.email,
            name: user.name,
            tenants: tenants.into_iter().map(Into::into).collect(),
        },
    }))
}

#[utoipa::path(post, path = "/v1/auth/logout", tag = "Identity",
    responses((status = 200, body = Ok), (status = 400, body = ErrorBody, description = "not a session"),
              (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn logout(state: web::Data<AppState>, p: Principal) -> ApiResult<HttpResponse> {
    match p.credential {
        Credential::Session { session_id, .. } => {
            state.app.logout(session_id).await?;
            Ok(HttpResponse::Ok().json(Ok { ok: true }))
        }
        Credential::ApiKey { .. } => Err(ApiError::bad_request(
            "not_a_session",
            "logout ends a session; API keys are revoked with DELETE /v1/api-keys/{id}",
        )),
    }
}

#[utoipa::path(get, path = "/v1/auth/me", tag = "Identity",
    responses((status = 200, body = SessionUser), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn me(state: web::Data<AppState>, p: Principal) -> ApiResult<HttpResponse> {
    let Credential::Session { user_id, .. } = p.credential else {
        return Err(ApiError::bad_request(
            "not_a_session",
            "this endpoint describes a logged-in user",
        ));
    };
    let user = state.app.user(user_id).await?;
    let tenants = state.app.user_tenants(user_id).await?;
    Ok(HttpResponse::Ok().json(SessionUser {
        id: user.id,
        email: user.email,
        name: user.name,
        tenants: tenants.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(post, path = "/v1/auth/forgot-password", tag = "Identity", request_body = ForgotRequest,
    responses((status = 202, body = Ok, description = "the same answer whether or not the address exists"),
              (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(()))]
pub async fn forgot_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody<ForgotRequest>,
) -> ApiResult<HttpResponse> {
    let address = client_address(&state, &req);
    state.app.forgot_password(body.0.email, &address).await?;
    Ok(HttpResponse::Accepted().json(Ok { ok: true }))
}

#[utoipa::path(post, path = "/v1/auth/setup-password", tag = "Identity", request_body = SetupRequest,
    responses((status = 200, body = Ok), (status = 400, body = ErrorBody, description = "invalid_token, weak_password")),
    security(()))]
pub async fn setup_password(
    state: web::Data<AppState>,
    body: JsonBody<SetupRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    state.app.setup_password(&b.token, b.password).await?;
    Ok(HttpResponse::Ok().json(Ok { ok: true }))
}
