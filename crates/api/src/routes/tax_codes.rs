use crate::auth::Principal;
use crate::error::ApiResult;
use crate::extract::{decimal, double_option, JsonBody, Params};
use crate::routes::ErrorBody;
use crate::AppState;
use actix_web::{web, HttpResponse};
use app::ledger::TaxCodeRecord;
use journal::master_data::{TaxCodeChange, TaxCodeDefinition};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct TaxCodeDto {
    #[schema(example = "USt19")]
    pub code: String,
    #[schema(example = "Umsatzsteuer 19 %")]
    pub label: String,
    pub description: String,
    /// Percent, e.g. "19.00".
    #[schema(example = "19.00")]
    pub rate: String,
    /// Account the tax line is booked on.
    pub vat_account: Option<String>,
    /// Reverse charge / intra-EU acquisition: account of the self-assessed output VAT.
    pub self_assess_account: Option<String>,
    pub is_system: bool,
    pub is_active: bool,
}

fn rate_text(rate: Decimal) -> String {
    let mut r = rate.normalize();
    if r.scale() < 2 {
        r.rescale(2);
    }
    r.to_string()
}

impl From<TaxCodeRecord> for TaxCodeDto {
    fn from(t: TaxCodeRecord) -> Self {
        TaxCodeDto {
            code: t.code,
            label: t.label,
            description: t.description,
            rate: rate_text(t.rate),
            vat_account: t.vat_account,
            self_assess_account: t.self_assess_account,
            is_system: t.is_system,
            is_active: t.is_active,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TaxCodeList {
    pub tax_codes: Vec<TaxCodeDto>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTaxCode {
    #[schema(example = "USt19")]
    pub code: String,
    pub label: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(deserialize_with = "decimal")]
    #[schema(value_type = String, example = "19", pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub rate: Decimal,
    pub vat_account: Option<String>,
    pub self_assess_account: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTaxCode {
    pub label: Option<String>,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "crate::extract::opt_decimal")]
    #[schema(value_type = Option<String>, pattern = r"^[0-9]+(\.[0-9]+)?$")]
    pub rate: Option<Decimal>,
    /// null clears the account.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub vat_account: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub self_assess_account: Option<Option<String>>,
    pub is_active: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct DeactivatedTaxCode {
    pub code: String,
    pub is_active: bool,
}

#[utoipa::path(get, path = "/v1/tax-codes", tag = "Journal",
    params(("include_inactive" = Option<bool>, Query)),
    responses((status = 200, body = TaxCodeList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = ["tax_codes:read"])))]
pub async fn list(state: web::Data<AppState>, p: Principal, q: Params) -> ApiResult<HttpResponse> {
    p.require("tax_codes:read")?;
    let codes = state
        .app
        .list_tax_codes(p.tenant_id, q.flag("include_inactive"))
        .await?;
    Ok(HttpResponse::Ok().json(TaxCodeList {
        tax_codes: codes.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(get, path = "/v1/tax-codes/{code}", tag = "Journal", params(("code" = String, Path)),
    responses((status = 200, body = TaxCodeDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = ["tax_codes:read"])))]
pub async fn get(
    state: web::Data<AppState>,
    p: Principal,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    p.require("tax_codes:read")?;
    let t = state.app.get_tax_code(p.tenant_id, &code).await?;
    Ok(HttpResponse::Ok().json(TaxCodeDto::from(t)))
}

#[utoipa::path(post, path = "/v1/tax-codes", tag = "Journal", request_body = CreateTaxCode,
    responses((status = 201, body = TaxCodeDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "tax_code_exists")),
    security(("bearer" = ["tax_codes:write"])))]
pub async fn create(
    state: web::Data<AppState>,
    p: Principal,
    body: JsonBody<CreateTaxCode>,
) -> ApiResult<HttpResponse> {
    p.require("tax_codes:write")?;
    let b = body.0;
    let t = state
        .app
        .create_tax_code(
            p.tenant_id,
            TaxCodeDefinition {
                code: b.code,
                label: b.label,
                description: b.description.unwrap_or_default(),
                rate: b.rate,
                vat_account: b.vat_account,
                self_assess_account: b.self_assess_account,
                is_active: true,
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(TaxCodeDto::from(t)))
}

#[utoipa::path(patch, path = "/v1/tax-codes/{code}", tag = "Journal", request_body = UpdateTaxCode,
    params(("code" = String, Path)),
    responses((status = 200, body = TaxCodeDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = ["tax_codes:write"])))]
pub async fn update(
    state: web::Data<AppState>,
    p: Principal,
    code: web::Path<String>,
    body: JsonBody<UpdateTaxCode>,
) -> ApiResult<HttpResponse> {
    p.require("tax_codes:write")?;
    let b = body.0;
    let t = state
        .app
        .update_tax_code(
            p.tenant_id,
            &code,
            TaxCodeChange {
                label: b.label,
                description: b.description,
                rate: b.rate,
                vat_account: b.vat_account,
                self_assess_account: b.self_assess_account,
                is_active: b.is_active,
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(TaxCodeDto::from(t)))
}

#[utoipa::path(delete, path = "/v1/tax-codes/{code}", tag = "Journal", params(("code" = String, Path)),
    responses((status = 200, body = DeactivatedTaxCode, description = "deactivated; bookings that used it stay"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = ["tax_codes:write"])))]
pub async fn deactivate(
    state: web::Data<AppState>,
    p: Principal,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    p.require("tax_codes:write")?;
    let t = state
        .app
        .update_tax_code(
            p.tenant_id,
            &code,
            TaxCodeChange {
                is_active: Some(false),
                ..Default::default()
            },
        )
        .await?;
    Ok(HttpResponse::Ok().json(DeactivatedTaxCode {
        code: t.code,
        is_active: t.is_active,
    }))
}
