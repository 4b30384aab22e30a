//! Customers (`/v1/customers`) and vendors (`/v1/vendors`): master data with a personal
//! account each (debtor 10000–69999, creditor 70000–99999).

use crate::auth::Principal;
use crate::error::ApiResult;
use crate::extract::{stored_answer, IdempotencyKeyOf, JsonBody, Params};
use crate::routes::{money, ErrorBody};
use crate::AppState;
use actix_web::{web, HttpResponse};
use app::partners::{Partner, PartnerFilter};
use app::StoredResponse;
use receivables::{Address, PartnerInput, PartnerKind};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A postal address: an object, every part optional.
#[derive(Serialize, Deserialize, ToSchema, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct AddressDto {
    #[schema(example = "Hauptstraße 1")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    /// c/o, building, floor …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addition: Option<String>,
    #[schema(example = "10115")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[schema(example = "Berlin")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[schema(example = "DE")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

impl From<AddressDto> for Address {
    fn from(a: AddressDto) -> Self {
        Address {
            street: a.street,
            addition: a.addition,
            postal_code: a.postal_code,
            city: a.city,
            country: a.country,
        }
    }
}

impl From<Address> for AddressDto {
    fn from(a: Address) -> Self {
        AddressDto {
            street: a.street,
            addition: a.addition,
            postal_code: a.postal_code,
            city: a.city,
            country: a.country,
        }
    }
}

/// A customer or vendor.
#[derive(Serialize, ToSchema)]
pub struct PartnerDto {
    pub id: Uuid,
    #[schema(example = "Acme GmbH")]
    pub name: String,
    /// The personal account (debtor 10000–69999 for customers, creditor 70000–99999 for
    /// vendors); its postings roll up into 1400 / 1600 (SKR03) or 1200 / 3300 (SKR04).
    #[schema(example = "10000")]
    pub account_number: String,
    /// Steuernummer.
    #[schema(example = "143/123/45678")]
    pub tax_id: Option<String>,
    /// EU VAT ID, upper case without spaces.
    #[schema(example = "DE123456789")]
    pub vat_id: Option<String>,
    /// Electronic form, no spaces.
    #[schema(example = "DE89370400440532013000")]
    pub iban: Option<String>,
    #[schema(example = "COBADEFFXXX")]
    pub bic: Option<String>,
    pub address: Option<AddressDto>,
    /// Revenue (customer) or expense (vendor) account for invoice lines without an account.
    #[schema(example = "8400")]
    pub default_account: Option<String>,
    pub notes: Option<String>,
    pub is_active: bool,
    /// What is open: invoices less credit notes, after payments and write-offs. For a
    /// customer what it owes us, for a vendor what we owe it (the personal account's balance
    /// as long as nothing is booked on it by hand).
    #[schema(example = "119.00")]
    pub open_amount: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl PartnerDto {
    fn new(p: Partner, base: &str) -> PartnerDto {
        PartnerDto {
            id: p.id,
            name: p.name,
            account_number: p.account_number,
            tax_id: p.tax_id,
            vat_id: p.vat_id,
            iban: p.iban,
            bic: p.bic,
            address: p.address.map(Into::into),
            default_account: p.default_account,
            notes: p.notes,
            is_active: p.is_active,
            open_amount: money(p.open_amount, base),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Acme GmbH", "iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX"}))]
pub struct CreatePartner {
    #[schema(example = "Acme GmbH")]
    pub name: String,
    pub tax_id: Option<String>,
    /// EU VAT ID: checked against its country's format (DE + 9 digits, ATU + 8 digits, …).
    #[schema(example = "DE123456789")]
    pub vat_id: Option<String>,
    /// Checked: country length and mod-97 check digits. Spaces are allowed.
    #[schema(example = "DE89 3704 0044 0532 0130 00")]
    pub iban: Option<String>,
    /// 8 or 11 characters.
    #[schema(example = "COBADEFFXXX")]
    pub bic: Option<String>,
    pub address: Option<AddressDto>,
    /// Must be an existing, active account.
    pub default_account: Option<String>,
    pub notes: Option<String>,
}

/// A full update: fields left out are cleared (name is required).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePartner {
    pub name: String,
    pub tax_id: Option<String>,
    pub vat_id: Option<String>,
    pub iban: Option<String>,
    pub bic: Option<String>,
    pub address: Option<AddressDto>,
    pub default_account: Option<String>,
    pub notes: Option<String>,
    /// Addition to seed 003: true reactivates a deactivated partner; left out keeps it as it is.
    pub is_active: Option<bool>,
}

impl From<CreatePartner> for PartnerInput {
    fn from(b: CreatePartner) -> Self {
        PartnerInput {
            name: b.name,
            tax_id: b.tax_id,
            vat_id: b.vat_id,
            iban: b.iban,
            bic: b.bic,
            address: b.address.map(Into::into),
            default_account: b.default_account,
            notes: b.notes,
        }
    }
}

impl UpdatePartner {
    fn split(self) -> (PartnerInput, Option<bool>) {
        let input = PartnerInput {
            name: self.name,
            tax_id: self.tax_id,
            vat_id: self.vat_id,
            iban: self.iban,
            bic: self.bic,
            address: self.address.map(Into::into),
            default_account: self.default_account,
            notes: self.notes,
        };
        (input, self.is_active)
    }
}

fn scope(kind: PartnerKind, action: &str) -> String {
    match kind {
        PartnerKind::Customer => format!("customers:{action}"),
        PartnerKind::Vendor => format!("vendors:{action}"),
    }
}

async fn base_currency(state: &AppState, p: &Principal) -> ApiResult<String> {
    Ok(state.app.tenant(p.tenant_id).await?.base_currency.clone())
}

async fn list(
    state: web::Data<AppState>,
    p: Principal,
    q: Params,
    kind: PartnerKind,
) -> ApiResult<HttpResponse> {
    p.require(&scope(kind, "read"))?;
    let filter = PartnerFilter {
        search: q.text("search"),
        is_active: q.text("is_active").and_then(|v| match v.as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => None,
        }),
        limit: q.limit(),
        offset: q.offset(),
        after: crate::routes::list_cursor(&q),
    };
    let (partners, total, next) = state.app.list_partners(p.tenant_id, kind, &filter).await?;
    let base = base_currency(&state, &p).await?;
    let body: Vec<PartnerDto> = partners
        .into_iter()
        .map(|x| PartnerDto::new(x, &base))
        .collect();
    Ok(crate::routes::with_page(HttpResponse::Ok(), total, next).json(body))
}

async fn create(
    state: web::Data<AppState>,
    p: Principal,
    key: IdempotencyKeyOf,
    b: CreatePartner,
    kind: PartnerKind,
) -> ApiResult<HttpResponse> {
    p.require(&scope(kind, "write"))?;
    let base = base_currency(&state, &p).await?;
    let render = move |x: &Partner| StoredResponse::json(201, &PartnerDto::new(x.clone(), &base));
    let answer = key.with(render.clone());
    let partner = state
        .app
        .create_partner(p.tenant_id, kind, b.into(), answer)
        .await?;
    Ok(stored_answer(render(&partner), key.0.is_some()))
}

async fn get(
    state: web::Data<AppState>,
    p: Principal,
    id: &str,
    kind: PartnerKind,
) -> ApiResult<HttpResponse> {
    p.require(&scope(kind, "read"))?;
    let partner = state
        .app
        .get_partner(
            p.tenant_id,
            kind,
            crate::routes::path_id(kind.as_str(), id)?,
        )
        .await?;
    let base = base_currency(&state, &p).await?;
    Ok(HttpResponse::Ok().json(PartnerDto::new(partner, &base)))
}

async fn update(
    state: web::Data<AppState>,
    p: Principal,
    id: &str,
    b: UpdatePartner,
    kind: PartnerKind,
) -> ApiResult<HttpResponse> {
    p.require(&scope(kind, "write"))?;
    let id = crate::routes::path_id(kind.as_str(), id)?;
    let (input, is_active) = b.split();
    let partner = state
        .app
        .update_partner(p.tenant_id, kind, id, input, is_active)
        .await?;
    let base = base_currency(&state, &p).await?;
    Ok(HttpResponse::Ok().json(PartnerDto::new(partner, &base)))
}

async fn deactivate(
    state: web::Data<AppState>,
    p: Principal,
    id: &str,
    kind: PartnerKind,
) -> ApiResult<HttpResponse> {
    p.require(&scope(kind, "write"))?;
    let partner = state
        .app
        .deactivate_partner(
            p.tenant_id,
            kind,
            crate::routes::path_id(kind.as_str(), id)?,
        )
        .await?;
    let base = base_currency(&state, &p).await?;
    Ok(HttpResponse::Ok().json(PartnerDto::new(partner, &base)))
}

#[utoipa::path(get, path = "/v1/customers", tag = "Receivables",
    params(("search" = Option<String>, Query, description = "part of the name, VAT ID or IBAN, or the start of the account number"),
           ("is_active" = Option<bool>, Query), ("limit" = Option<i64>, Query, description = "1..500, default 100"),
           ("offset" = Option<i64>, Query), ("cursor" = Option<String>, Query, description = "X-Next-Cursor of the previous page: keyset paging, offset is then ignored; a malformed cursor is ignored (first page)")),
    responses((status = 200, body = [PartnerDto], description = "bare array; the total is in X-Total-Count", headers(("X-Total-Count" = i64, description = "exact up to 10,000; beyond, an estimate marked by X-Total-Count-Estimated: true"), ("X-Next-Cursor" = String, description = "pass as cursor for the next page; absent on the last page"))),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = ["customers:read"])))]
pub async fn list_customers(
    state: web::Data<AppState>,
    p: Principal,
    q: Params,
) -> ApiResult<HttpResponse> {
    list(state, p, q, PartnerKind::Customer).await
}

#[utoipa::path(post, path = "/v1/customers", tag = "Receivables", request_body = CreatePartner,
    responses((status = 201, body = PartnerDto, description = "created, with its debtor account"),
              (status = 400, body = ErrorBody, description = "invalid_name, invalid_iban, invalid_bic, invalid_vat_id, invalid_tax_id, invalid_country, unknown_account, too_long, unknown_field, …"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "account_range_exhausted"), (status = 415, body = ErrorBody)),
    security(("bearer" = ["customers:write"])))]
pub async fn create_customer(
    state: web::Data<AppState>,
    p: Principal,
    key: IdempotencyKeyOf,
    body: JsonBody<CreatePartner>,
) -> ApiResult<HttpResponse> {
    create(state, p, key, body.0, PartnerKind::Customer).await
}

#[utoipa::path(get, path = "/v1/customers/{id}", tag = "Receivables", params(("id" = Uuid, Path)),
    responses((status = 200, body = PartnerDto, description = "the customer including open_amount"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = ["customers:read"])))]
pub async fn get_customer(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    get(state, p, &id, PartnerKind::Customer).await
}

#[utoipa::path(put, path = "/v1/customers/{id}", tag = "Receivables", request_body = UpdatePartner, params(("id" = Uuid, Path)),
    responses((status = 200, body = PartnerDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 415, body = ErrorBody)),
    security(("bearer" = ["customers:write"])))]
pub async fn update_customer(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    body: JsonBody<UpdatePartner>,
) -> ApiResult<HttpResponse> {
    update(state, p, &id, body.0, PartnerKind::Customer).await
}

#[utoipa::path(delete, path = "/v1/customers/{id}", tag = "Receivables", params(("id" = Uuid, Path)),
    responses((status = 200, body = PartnerDto, description = "the deactivated customer; its invoices, open items and account stay"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = ["customers:write"])))]
pub async fn delete_customer(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    deactivate(state, p, &id, PartnerKind::Customer).await
}

#[utoipa::path(get, path = "/v1/vendors", tag = "Payables",
    params(("search" = Option<String>, Query, description = "part of the name, VAT ID or IBAN, or the start of the account number"),
           ("is_active" = Option<bool>, Query), ("limit" = Option<i64>, Query, description = "1..500, default 100"),
           ("offset" = Option<i64>, Query), ("cursor" = Option<String>, Query, description = "X-Next-Cursor of the previous page: keyset paging, offset is then ignored; a malformed cursor is ignored (first page)")),
    responses((status = 200, body = [PartnerDto], description = "bare array; the total is in X-Total-Count", headers(("X-Total-Count" = i64, description = "exact up to 10,000; beyond, an estimate marked by X-Total-Count-Estimated: true"), ("X-Next-Cursor" = String, description = "pass as cursor for the next page; absent on the last page"))),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = ["vendors:read"])))]
pub async fn list_vendors(
    state: web::Data<AppState>,
    p: Principal,
    q: Params,
) -> ApiResult<HttpResponse> {
    list(state, p, q, PartnerKind::Vendor).await
}

#[utoipa::path(post, path = "/v1/vendors", tag = "Payables", request_body = CreatePartner,
    responses((status = 201, body = PartnerDto, description = "created, with its creditor account"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "account_range_exhausted"), (status = 415, body = ErrorBody)),
    security(("bearer" = ["vendors:write"])))]
pub async fn create_vendor(
    state: web::Data<AppState>,
    p: Principal,
    key: IdempotencyKeyOf,
    body: JsonBody<CreatePartner>,
) -> ApiResult<HttpResponse> {
    create(state, p, key, body.0, PartnerKind::Vendor).await
}

#[utoipa::path(get, path = "/v1/vendors/{id}", tag = "Payables", params(("id" = Uuid, Path)),
    responses((status = 200, body = PartnerDto, description = "the vendor including open_amount"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = ["vendors:read"])))]
pub async fn get_vendor(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    get(state, p, &id, PartnerKind::Vendor).await
}

#[utoipa::path(put, path = "/v1/vendors/{id}", tag = "Payables", request_body = UpdatePartner, params(("id" = Uuid, Path)),
    responses((status = 200, body = PartnerDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 415, body = ErrorBody)),
    security(("bearer" = ["vendors:write"])))]
pub async fn update_vendor(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    body: JsonBody<UpdatePartner>,
) -> ApiResult<HttpResponse> {
    update(state, p, &id, body.0, PartnerKind::Vendor).await
}

#[utoipa::path(delete, path = "/v1/vendors/{id}", tag = "Payables", params(("id" = Uuid, Path)),
    responses((status = 200, body = PartnerDto, description = "the deactivated vendor; its invoices, open items and account stay"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = ["vendors:write"])))]
pub async fn delete_vendor(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    deactivate(state, p, &id, PartnerKind::Vendor).await
}
