//! Login, logout, password setup and reset: the only endpoints without credentials (but login).

use crate::auth::{Credential, Principal};
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::routes::ErrorBody;
use crate::{passwords, AppState};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Duration;
use serde::{Deserialize, Serialize};
use store::identity::TenantMembership;
use utoipa::ToSchema;
use uuid::Uuid;

/// Failed logins count within this window (limits in `ApiConfig`).
pub const THROTTLE_WINDOW_SECS: i64 = 15 * 60;
const INVITE_TTL_HOURS: i64 = 7 * 24;
const RESET_TTL_HOURS: i64 = 1;

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
    pub role: String,
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

async fn throttled(state: &AppState, subject: &str, max: i64) -> Result<(), ApiError> {
    let window = Duration::seconds(THROTTLE_WINDOW_SECS);
    let (count, oldest) = state.store.login_failures(subject, window).await?;
    if count >= max {
        let retry = oldest
            .map(|o| (o + window - chrono::Utc::now()).num_seconds().max(1) as u64)
            .unwrap_or(THROTTLE_WINDOW_SECS as u64);
        return Err(ApiError::too_many(
            "too_many_attempts",
            "Too many failed logins; wait before trying again",
            retry,
        ));
    }
    Ok(())
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
    let email = b.email.trim().to_lowercase();
    let account = format!("login:account:{email}");
    let address = format!("login:address:{}", client_address(&state, &req));
    throttled(&state, &account, state.config.login_failures_per_account).await?;
    throttled(&state, &address, state.config.login_failures_per_address).await?;
    let user = state.store.user_by_email(&email).await?;
    let stored = user
        .as_ref()
        .filter(|u| u.is_active)
        .and_then(|u| u.password_hash.clone());
    let valid = passwords::verify(b.password, stored).await;
    // A user without an active membership anywhere has nothing to log in to.
    let tenants = match &user {
        Some(u) if valid => state.store.user_tenants(u.id).await?,
        _ => Vec::new(),
    };
    let Some(user) = user.filter(|_| valid && !tenants.is_empty()) else {
        state
            .store
            .record_login_failure(&[account, address])
            .await?;
        return Err(ApiError::new(
            actix_web::http::StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "Email or password is wrong",
        ));
    };
    state.store.clear_login_failures(&account).await?;
    let (token, expires_at) = state
        .store
        .create_session(user.id, state.config.session_ttl)
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
            state.store.revoke_session(session_id).await?;
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
    let user = state.store.user_by_id(user_id).await?;
    let tenants = state.store.user_tenants(user_id).await?;
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
    let address = format!("forgot:address:{}", client_address(&state, &req));
    let (count, _) = state
        .store
        .login_failures(&address, Duration::hours(1))
        .await?;
    if count >= state.config.public_requests_per_address_per_hour {
        return Err(ApiError::too_many(
            "too_many_attempts",
            "Too many reset requests; try again later",
            3600,
        ));
    }
    state.store.record_login_failure(&[address]).await?;
    // The answer and its timing do not depend on the address: the work happens afterwards.
    let state = state.into_inner();
    let email = body.0.email;
    actix_web::rt::spawn(async move {
        let result: Result<(), String> = async {
            let Some(user) = state
                .store
                .user_by_email(&email)
                .await
                .map_err(|e| e.to_string())?
            else {
                return Ok(());
            };
            if !user.is_active
                || state
                    .store
                    .user_tenants(user.id)
                    .await
                    .map_err(|e| e.to_string())?
                    .is_empty()
            {
                return Ok(());
            }
            let token = state
                .store
                .create_auth_token(user.id, "reset", Duration::hours(RESET_TTL_HOURS))
                .await
                .map_err(|e| e.to_string())?;
            state
                .mailer
                .send_reset(&user.email, &user.name, &token)
                .await
        }
        .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "password reset mail failed");
        }
    });
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
    if let Some(problem) = passwords::weakness(&b.password) {
        return Err(
            ApiError::bad_request("weak_password", problem.clone()).with_field("password", problem)
        );
    }
    let hash = passwords::hash(b.password).await.map_err(|e| {
        tracing::error!(error = %e, "password hashing failed");
        ApiError::internal()
    })?;
    state
        .store
        .consume_auth_token(b.token.trim(), &hash)
        .await?;
    Ok(HttpResponse::Ok().json(Ok { ok: true }))
}

/// Sends the invite mail for a member who has no password yet.
pub async fn send_invite(
    state: &AppState,
    user_id: Uuid,
    email: &str,
    name: &str,
    tenant: &str,
) -> Result<(), ApiError> {
    let token = state
        .store
        .create_auth_token(user_id, "invite", Duration::hours(INVITE_TTL_HOURS))
        .await?;
    state
        .mailer
        .send_invite(email, name, tenant, &token)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "invite mail failed");
            ApiError::new(
                actix_web::http::StatusCode::BAD_GATEWAY,
                "mail_failed",
                "The invite mail could not be sent",
            )
        })
}
