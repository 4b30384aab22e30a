//! The public contact form: stored for the operator, protected by a honeypot and a rate limit.

use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::routes::session::{client_address, Ok};
use crate::routes::ErrorBody;
use crate::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactRequest {
    pub name: String,
    pub email: String,
    pub message: String,
    /// Leave empty: a form field hidden from people; bots fill it in.
    #[serde(rename = "_honeypot")]
    pub honeypot: Option<String>,
}

#[utoipa::path(post, path = "/v1/contact", tag = "Identity", request_body = ContactRequest,
    responses((status = 200, body = Ok), (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(()))]
pub async fn contact(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonBody<ContactRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    // A filled honeypot gets the same answer and nothing is stored.
    if b.honeypot.as_deref().is_some_and(|h| !h.trim().is_empty()) {
        return Ok(HttpResponse::Ok().json(Ok { ok: true }));
    }
    let name = b.name.trim();
    let message = b.message.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(
            ApiError::bad_request("invalid_name", "name must be 1 to 200 characters")
                .with_field("name", "1 to 200 characters"),
        );
    }
    let email = store::identity::normalize_email(&b.email).ok_or_else(|| {
        ApiError::bad_request("invalid_email", "email is not a valid address")
            .with_field("email", "invalid")
    })?;
    if message.is_empty() || message.chars().count() > 5000 {
        return Err(ApiError::bad_request(
            "invalid_message",
            "message must be 1 to 5000 characters",
        )
        .with_field("message", "1 to 5000 characters"));
    }
    let address = client_address(&state, &req);
    let recent = state
        .store
        .recent_contact_messages(&address, chrono::Duration::hours(1))
        .await?;
    if recent >= state.config.public_requests_per_address_per_hour {
        return Err(ApiError::too_many(
            "rate_limited",
            "Too many messages from this address; try again later",
            3600,
        ));
    }
    state
        .store
        .store_contact_message(name, &email, message, Some(&address))
        .await?;
    Ok(HttpResponse::Ok().json(Ok { ok: true }))
}
