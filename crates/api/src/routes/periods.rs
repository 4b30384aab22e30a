use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::Params;
use crate::routes::ErrorBody;
use crate::AppState;
use actix_web::{web, HttpResponse};
use app::periods::PeriodView;
use journal::PeriodId;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Serialize, ToSchema)]
pub struct PeriodDto {
    #[schema(example = "2026-03")]
    pub period: String,
    /// 1..12, 13 = year-end adjustment period.
    pub period_number: u8,
    pub fiscal_year: i32,
    #[schema(value_type = String, format = Date)]
    pub start_date: chrono::NaiveDate,
    #[schema(value_type = String, format = Date)]
    pub end_date: chrono::NaiveDate,
    /// open, soft_locked, lock_requested or locked
    pub status: String,
    /// The principal that requested the lock (`api_key:<id>` or `user:<id>`), once locked.
    pub locked_by: Option<String>,
    pub locked_at: Option<chrono::DateTime<chrono::Utc>>,
    /// blake3, lowercase hex, once locked (see docs/audit.md).
    pub closing_hash: Option<String>,
}

impl From<PeriodView> for PeriodDto {
    fn from(v: PeriodView) -> Self {
        PeriodDto {
            period: v.period.to_string(),
            period_number: v.period.number,
            fiscal_year: v.period.fiscal_year,
            start_date: v.start_date,
            end_date: v.end_date,
            status: v.status.as_str().to_string(),
            locked_by: v.locked_by,
            locked_at: v.locked_at,
            closing_hash: v.closing_hash.map(hex::encode),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SoftLockDto {
    pub period: String,
    pub period_number: u8,
    pub status: String,
    pub locked_by: Option<String>,
    pub locked_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct ReopenDto {
    pub period: String,
    pub period_number: u8,
    pub status: String,
}

#[derive(Serialize, ToSchema)]
pub struct LockRequestDto {
    pub request_id: Uuid,
    pub period: String,
    /// "pending"
    pub status: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct LockStatusDto {
    pub has_pending_request: bool,
    pub request_id: Option<Uuid>,
    pub requested_by: Option<String>,
    pub created_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Serialize, ToSchema)]
pub struct ApprovedDto {
    pub period: String,
    pub period_number: u8,
    /// "locked"
    pub status: String,
    pub locked_by: Option<String>,
    pub locked_at: Option<chrono::DateTime<chrono::Utc>>,
    pub closing_hash: Option<String>,
    pub request_id: Uuid,
    pub approved_by: String,
}

#[derive(Serialize, ToSchema)]
pub struct CancelledDto {
    pub ok: bool,
    pub request_id: Uuid,
    /// "cancelled"
    pub status: String,
}

/// A period id `YYYY-PP` (PP 01..13) of a fiscal year from 1900 to 2199, as dates are.
fn parse_period(text: &str) -> Result<PeriodId, ApiError> {
    let invalid = |message: String| {
        ApiError::bad_request("invalid_period", message)
            .with_field("period", "expected YYYY-PP, PP 01..13, YYYY 1900..2199")
    };
    let period = text
        .parse::<PeriodId>()
        .map_err(|e| invalid(e.to_string()))?;
    if !(1900..=2199).contains(&period.fiscal_year) {
        return Err(invalid(format!(
            "period {text}: fiscal years run from 1900 to 2199"
        )));
    }
    Ok(period)
}

fn parse_request_id(text: &str) -> Result<Uuid, ApiError> {
    text.parse()
        .map_err(|_| ApiError::not_found(format!("lock request {text} not found")))
}

#[utoipa::path(get, path = "/v1/periods", tag = "Periods",
    params(("fiscal_year" = Option<i32>, Query, description = "without it: every fiscal year with bookings, and the current one")),
    responses((status = 200, body = [PeriodDto]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = ["periods:read"])))]
pub async fn list(state: web::Data<AppState>, p: Principal, q: Params) -> ApiResult<HttpResponse> {
    p.require("periods:read")?;
    let fiscal_year = q
        .int("fiscal_year")
        .filter(|y| (1900..=9999).contains(y))
        .map(|y| y as i32);
    let periods = state.app.list_periods(p.tenant_id, fiscal_year).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("X-Total-Count", periods.len().to_string()))
        .json(periods.into_iter().map(PeriodDto::from).collect::<Vec<_>>()))
}

#[utoipa::path(post, path = "/v1/periods/{period}/soft-lock", tag = "Periods", params(("period" = String, Path, example = "2026-03")),
    responses((status = 200, body = SoftLockDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "invalid_transition, period_final")),
    security(("bearer" = ["periods:write"])))]
pub async fn soft_lock(
    state: web::Data<AppState>,
    p: Principal,
    period: web::Path<String>,
) -> ApiResult<HttpResponse> {
    p.require("periods:write")?;
    let v = state
        .app
        .soft_lock_period(p.tenant_id, parse_period(&period)?, &p.actor)
        .await?;
    Ok(HttpResponse::Ok().json(SoftLockDto {
        period: v.period.to_string(),
        period_number: v.period.number,
        status: v.status.as_str().to_string(),
        locked_by: v.locked_by,
        locked_at: v.locked_at,
    }))
}

#[utoipa::path(post, path = "/v1/periods/{period}/reopen", tag = "Periods", params(("period" = String, Path)),
    responses((status = 200, body = ReopenDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "only a soft-locked period reopens; locked is final")),
    security(("bearer" = ["periods:write"])))]
pub async fn reopen(
    state: web::Data<AppState>,
    p: Principal,
    period: web::Path<String>,
) -> ApiResult<HttpResponse> {
    p.require("periods:write")?;
    let v = state
        .app
        .reopen_period(p.tenant_id, parse_period(&period)?, &p.actor)
        .await?;
    Ok(HttpResponse::Ok().json(ReopenDto {
        period: v.period.to_string(),
        period_number: v.period.number,
        status: v.status.as_str().to_string(),
    }))
}

#[utoipa::path(post, path = "/v1/periods/{period}/lock", tag = "Periods", params(("period" = String, Path)),
    responses((status = 201, body = LockRequestDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "invalid_transition, period_final, out_of_order")),
    security(("bearer" = ["periods:lock"])))]
pub async fn request_lock(
    state: web::Data<AppState>,
    p: Principal,
    period: web::Path<String>,
) -> ApiResult<HttpResponse> {
    p.require("periods:lock")?;
    let r = state
        .app
        .request_period_lock(p.tenant_id, parse_period(&period)?, &p.actor)
        .await?;
    Ok(HttpResponse::Created().json(LockRequestDto {
        request_id: r.id,
        period: r.period.to_string(),
        status: r.status.as_str().to_string(),
        created_at: r.created_at,
        message: format!(
            "Lock of {} requested; bookings into it are refused. A different principal must approve it.",
            r.period
        ),
    }))
}

#[utoipa::path(get, path = "/v1/periods/{period}/lock/status", tag = "Periods", params(("period" = String, Path)),
    responses((status = 200, body = LockStatusDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer" = ["periods:read"])))]
pub async fn lock_status(
    state: web::Data<AppState>,
    p: Principal,
    period: web::Path<String>,
) -> ApiResult<HttpResponse> {
    p.require("periods:read")?;
    let r = state
        .app
        .pending_lock_request(p.tenant_id, parse_period(&period)?)
        .await?;
    Ok(HttpResponse::Ok().json(LockStatusDto {
        has_pending_request: r.is_some(),
        request_id: r.as_ref().map(|r| r.id),
        requested_by: r.as_ref().map(|r| r.requested_by.clone()),
        created_at: r.as_ref().map(|r| r.created_at),
    }))
}

#[utoipa::path(post, path = "/v1/periods/{period}/lock/{request_id}/approve", tag = "Periods",
    params(("period" = String, Path), ("request_id" = Uuid, Path)),
    responses((status = 200, body = ApprovedDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "four_eyes, out_of_order, request_not_pending")),
    security(("bearer" = ["periods:lock"])))]
pub async fn approve(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    p.require("periods:lock")?;
    let (period, request) = path.into_inner();
    let c = state
        .app
        .approve_period_lock(
            p.tenant_id,
            parse_period(&period)?,
            parse_request_id(&request)?,
            &p.actor,
        )
        .await?;
    Ok(HttpResponse::Ok().json(ApprovedDto {
        period: c.view.period.to_string(),
        period_number: c.view.period.number,
        status: c.view.status.as_str().to_string(),
        locked_by: c.view.locked_by,
        locked_at: c.view.locked_at,
        closing_hash: c.view.closing_hash.map(hex::encode),
        request_id: c.request_id,
        approved_by: c.approved_by,
    }))
}

#[utoipa::path(post, path = "/v1/periods/{period}/lock/{request_id}/cancel", tag = "Periods",
    params(("period" = String, Path), ("request_id" = Uuid, Path)),
    responses((status = 200, body = CancelledDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = ["periods:lock"])))]
pub async fn cancel(
    state: web::Data<AppState>,
    p: Principal,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    p.require("periods:lock")?;
    let (period, request) = path.into_inner();
    let r = state
        .app
        .cancel_period_lock(
            p.tenant_id,
            parse_period(&period)?,
            parse_request_id(&request)?,
            &p.actor,
        )
        .await?;
    Ok(HttpResponse::Ok().json(CancelledDto {
        ok: true,
        request_id: r.id,
        status: r.status.as_str().to_string(),
    }))
}
