//! `GET`/`PATCH /v1/settings`: the tenant's DATEV numbers, Sachkontenlänge, VAT method, fiscal
//! calendar, chart and base currency. Owners and accountants (a session), or an API key with
//! `settings:read` / `settings:write`.

use crate::auth::Principal;
use crate::error::ApiResult;
use crate::extract::{double_option, JsonBody};
use crate::routes::ErrorBody;
use crate::AppState;
use actix_web::{web, HttpResponse};
use app::settings::TenantSettings;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct SettingsDto {
    /// DATEV Beraternummer (1001–9999999); null until set. The DATEV export needs it.
    #[schema(example = 1234567)]
    pub datev_consultant_number: Option<i32>,
    /// DATEV Mandantennummer (1–99999); null until set.
    #[schema(example = 10001)]
    pub datev_client_number: Option<i32>,
    /// DATEV Sachkontenlänge, 4–8 (the standard charts: 4).
    #[schema(example = 4)]
    pub account_length: i16,
    /// `soll` (Sollversteuerung, the default) or `ist` (§ 20 UStG: revenue counts when paid).
    #[schema(example = "soll")]
    pub vat_method: String,
    /// 1–12. Read-only once anything is booked.
    #[schema(example = 1)]
    pub fiscal_year_start_month: i16,
    /// `skr03` or `skr04`. Read-only once anything is booked.
    #[schema(example = "skr03")]
    pub chart: String,
    /// ISO 4217. Read-only once anything is booked.
    #[schema(example = "EUR")]
    pub base_currency: String,
    /// The names of the settings that can no longer change (something is booked).
    pub read_only: Vec<String>,
    pub updated_at: DateTime<Utc>,
}

impl From<TenantSettings> for SettingsDto {
    fn from(s: TenantSettings) -> Self {
        SettingsDto {
            datev_consultant_number: s.datev_consultant_number,
            datev_client_number: s.datev_client_number,
            account_length: s.account_length,
            vat_method: s.vat_method,
            fiscal_year_start_month: s.fiscal_year_start_month,
            chart: s.chart,
            base_currency: s.base_currency,
            read_only: if s.booked {
                ["fiscal_year_start_month", "chart", "base_currency"]
                    .map(String::from)
                    .to_vec()
            } else {
                Vec::new()
            },
            updated_at: s.updated_at,
        }
    }
}

/// Every field is optional; an absent field keeps its value, `null` clears a DATEV number.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSettings {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub datev_consultant_number: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub datev_client_number: Option<Option<i64>>,
    pub account_length: Option<i64>,
    /// `soll` or `ist`.
    pub vat_method: Option<String>,
    pub fiscal_year_start_month: Option<i64>,
    /// `skr03` or `skr04`: replaces the seeded accounts and tax codes (only while nothing is
    /// booked and nothing refers to them: else 409 `chart_in_use`).
    pub chart: Option<String>,
    pub base_currency: Option<String>,
}

#[utoipa::path(get, path = "/v1/settings", tag = "Settings",
    responses((status = 200, body = SettingsDto), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody, description = "scope_missing, role_forbidden (auditor, viewer)")),
    security(("bearer" = ["settings:read"])))]
pub async fn get(state: web::Data<AppState>, p: Principal) -> ApiResult<HttpResponse> {
    p.require("settings:read")?;
    let s = state.app.settings(p.tenant_id).await?;
    Ok(HttpResponse::Ok().json(SettingsDto::from(s)))
}

#[utoipa::path(patch, path = "/v1/settings", tag = "Settings", request_body = UpdateSettings,
    responses((status = 200, body = SettingsDto),
              (status = 400, body = ErrorBody, description = "invalid_setting (details.field_errors names the field)"),
              (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody, description = "scope_missing, role_forbidden"),
              (status = 409, body = ErrorBody, description = "setting_read_only (fiscal_year_start_month, chart or base_currency after a booking), chart_in_use")),
    security(("bearer" = ["settings:write"])))]
pub async fn update(
    state: web::Data<AppState>,
    p: Principal,
    body: JsonBody<UpdateSettings>,
) -> ApiResult<HttpResponse> {
    p.require("settings:write")?;
    let b = body.0;
    let change = reports::SettingsChange {
        datev_consultant_number: b.datev_consultant_number,
        datev_client_number: b.datev_client_number,
        account_length: b.account_length,
        vat_method: b.vat_method,
        fiscal_year_start_month: b.fiscal_year_start_month,
        chart: b.chart,
        base_currency: b.base_currency,
    };
    let s = state.app.update_settings(p.tenant_id, change).await?;
    Ok(HttpResponse::Ok().json(SettingsDto::from(s)))
}
