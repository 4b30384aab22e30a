//! Owner-managed users of a tenant. Owner session only.

use crate::auth::Principal;
use crate::error::ApiResult;
use crate::extract::JsonBody;
use crate::routes::ErrorBody;
use crate::AppState;
use actix_web::{web, HttpResponse};
use app::identity::{Member, MemberChange, NewMember};
use app::scopes::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Serialize, ToSchema)]
pub struct UserDto {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    /// owner, accountant, auditor or viewer
    #[schema(value_type = String)]
    pub role: Role,
    pub is_active: bool,
    /// False until the invited user has set a password.
    pub has_password: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<Member> for UserDto {
    fn from(m: Member) -> Self {
        UserDto {
            id: m.id,
            email: m.email,
            name: m.name,
            role: m.role,
            is_active: m.is_active,
            has_password: m.has_password,
            created_at: m.created_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    pub email: String,
    pub name: String,
    #[schema(example = "accountant")]
    pub role: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    pub role: Option<String>,
    pub name: Option<String>,
}

#[utoipa::path(post, path = "/v1/users", tag = "Identity", request_body = InviteRequest,
    responses((status = 201, body = UserDto, description = "invited; a setup-password mail was sent unless the user has a password"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody, description = "owner_session_required, role_forbidden"),
              (status = 409, body = ErrorBody, description = "user_exists")),
    security(("bearer" = [])))]
pub async fn invite(
    state: web::Data<AppState>,
    p: Principal,
    body: JsonBody<InviteRequest>,
) -> ApiResult<HttpResponse> {
    p.require_owner_session()?;
    let b = body.0;
    let member = state
        .app
        .add_member(
            p.tenant_id,
            NewMember {
                email: b.email,
                name: b.name,
                role: b.role,
                password: None,
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(UserDto::from(member)))
}

#[utoipa::path(get, path = "/v1/users", tag = "Identity",
    responses((status = 200, body = [UserDto]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(state: web::Data<AppState>, p: Principal) -> ApiResult<HttpResponse> {
    p.require_owner_session()?;
    let members = state.app.list_members(p.tenant_id).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("X-Total-Count", members.len().to_string()))
        .json(members.into_iter().map(UserDto::from).collect::<Vec<_>>()))
}

#[utoipa::path(patch, path = "/v1/users/{id}", tag = "Identity", request_body = UpdateUserRequest,
    params(("id" = Uuid, Path)),
    responses((status = 200, body = UserDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "last_owner")),
    security(("bearer" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    body: JsonBody<UpdateUserRequest>,
) -> ApiResult<HttpResponse> {
    p.require_owner_session()?;
    let b = body.0;
    let change = MemberChange {
        role: b.role,
        name: b.name,
    };
    let member = state
        .app
        .update_member(p.tenant_id, crate::routes::path_id("user", &id)?, change)
        .await?;
    Ok(HttpResponse::Ok().json(UserDto::from(member)))
}

#[utoipa::path(delete, path = "/v1/users/{id}", tag = "Identity", params(("id" = Uuid, Path)),
    responses((status = 200, body = UserDto, description = "deactivated; the user's sessions end at once"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "last_owner")),
    security(("bearer" = [])))]
pub async fn deactivate(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    p.require_owner_session()?;
    let member = state
        .app
        .deactivate_member(p.tenant_id, crate::routes::path_id("user", &id)?)
        .await?;
    Ok(HttpResponse::Ok().json(UserDto::from(member)))
}
