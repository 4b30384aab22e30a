//! API key management. Owner session only: an API key can never manage keys.

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::routes::ErrorBody;
use crate::AppState;
use actix_web::{web, HttpResponse};
use app::identity::{ApiKey, CreatedApiKey, NewApiKey};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyRequest {
    #[schema(example = "Shop integration")]
    pub name: String,
    /// Default `["*"]`.
    #[schema(example = json!(["journal:read", "journal:write"]))]
    pub scopes: Option<Vec<String>>,
    /// starter (default), professional or enterprise.
    pub tier: Option<String>,
    /// When the key stops working (RFC 3339, in the future); default: never.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedKey {
    pub id: Uuid,
    /// The plaintext key: shown in this response only.
    pub key: String,
    pub prefix: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub tier: String,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct KeyDto {
    pub id: Uuid,
    pub prefix: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub tier: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<ApiKey> for KeyDto {
    fn from(k: ApiKey) -> Self {
        KeyDto {
            id: k.id,
            prefix: k.prefix,
            name: k.name,
            scopes: k.scopes,
            tier: k.tier,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
            expires_at: k.expires_at,
        }
    }
}

#[utoipa::path(post, path = "/v1/api-keys", tag = "Identity", request_body = CreateKeyRequest,
    responses((status = 201, body = CreatedKey), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody, description = "owner_session_required, role_forbidden")),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    p: Principal,
    body: JsonBody<CreateKeyRequest>,
) -> ApiResult<HttpResponse> {
    let user_id = p.require_owner_session()?;
    let b = body.0;
    let CreatedApiKey {
        key: record,
        plaintext,
    } = state
        .app
        .create_api_key(
            p.tenant_id,
            NewApiKey {
                name: b.name,
                scopes: b.scopes,
                tier: b.tier,
                expires_at: b.expires_at,
                created_by: Some(format!("user:{user_id}")),
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(CreatedKey {
        id: record.id,
        key: plaintext,
        prefix: record.prefix,
        name: record.name,
        scopes: record.scopes,
        tier: record.tier,
        expires_at: record.expires_at,
    }))
}

#[utoipa::path(get, path = "/v1/api-keys", tag = "Identity",
    responses((status = 200, body = [KeyDto]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(state: web::Data<AppState>, p: Principal) -> ApiResult<HttpResponse> {
    p.require_owner_session()?;
    let keys = state.app.list_api_keys(p.tenant_id).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("X-Total-Count", keys.len().to_string()))
        .json(keys.into_iter().map(KeyDto::from).collect::<Vec<_>>()))
}

#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "Identity", params(("id" = Uuid, Path)),
    responses((status = 200, body = KeyDto, description = "revoked; it stops working at once on this replica, within 5 s on others"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    p.require_owner_session()?;
    let key_id: Uuid = id
        .parse()
        .map_err(|_| ApiError::not_found(format!("API key {id} not found")))?;
    let key = state
        .app
        .revoke_api_key(p.tenant_id, key_id, &p.actor)
        .await?;
    state.auth_cache.forget_tenant(p.tenant_id);
    Ok(HttpResponse::Ok().json(KeyDto::from(key)))
}
