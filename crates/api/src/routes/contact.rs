//! The public contact form: stored for the operator, protected by a honeypot and a rate limit.

use crate::error::ApiResult;
use crate::extract::JsonBody;
use crate::routes::session::{client_address, Ok};
use crate::routes::ErrorBody;
use crate::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use app::identity::ContactMessage;
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
    state
        .app
        .contact(ContactMessage {
            name: b.name,
            email: b.email,
            message: b.message,
            honeypot: b.honeypot,
            address: client_address(&state, &req),
        })
        .await?;
    Ok(HttpResponse::Ok().json(Ok { ok: true }))
}
