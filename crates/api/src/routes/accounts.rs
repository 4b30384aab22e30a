use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, Params};
use crate::routes::{money, ErrorBody};
use crate::AppState;
use actix_web::{web, HttpResponse};
use app::ledger::{Account, JournalEntry, NewAccount};
use journal::{AccountType, Side};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct AccountDto {
    #[schema(example = "1200")]
    pub number: String,
    #[schema(example = "Bank")]
    pub name: String,
    /// asset, liability, equity, revenue or expense
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "asset")]
    pub account_type: AccountType,
    #[schema(example = "bank")]
    pub category: String,
    /// The HGB balance-sheet (§266) or P&L (§275) line the account feeds.
    #[schema(example = "bs.aktiva.B.IV")]
    pub report_group: String,
    pub is_system: bool,
    pub is_active: bool,
}

impl From<Account> for AccountDto {
    fn from(a: Account) -> Self {
        AccountDto {
            number: a.number,
            name: a.name,
            account_type: a.account_type,
            category: a.category,
            report_group: a.report_group,
            is_system: a.is_system,
            is_active: a.is_active,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AccountList {
    pub accounts: Vec<AccountDto>,
    pub total: i64,
    /// True when `total` is an estimate (beyond 10,000 matches; also `X-Total-Count-Estimated`).
    pub total_estimated: bool,
    /// 0 when the page was asked for by `cursor`.
    pub offset: i64,
    pub limit: i64,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AccountSearchResult {
    pub accounts: Vec<AccountDto>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccount {
    /// 4 to 9 digits.
    #[schema(example = "4980")]
    pub number: String,
    #[schema(example = "Betriebsbedarf")]
    pub name: String,
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "expense")]
    pub account_type: AccountType,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub report_group: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAccount {
    pub name: Option<String>,
    /// An inactive account takes no new bookings; its history stays.
    pub is_active: Option<bool>,
}

/// A journal line.
#[derive(Serialize, ToSchema)]
pub struct EntryDto {
    pub seq: i64,
    pub intent_id: uuid::Uuid,
    /// Position of the line within its intent, from 1.
    pub line: i32,
    #[schema(value_type = String, format = Date, example = "2026-03-14")]
    pub booking_date: chrono::NaiveDate,
    #[schema(example = "2026-03")]
    pub period: String,
    #[schema(example = "1400")]
    pub account: String,
    /// Base-currency amount when posted on the debit side, else null.
    #[schema(example = "119.00")]
    pub debit: Option<String>,
    /// Base-currency amount when posted on the credit side, else null.
    pub credit: Option<String>,
    /// Currency the line was booked in.
    pub currency: String,
    /// The amount in `currency`.
    pub amount: String,
    pub tax_code: Option<String>,
    /// Why the service wrote the line: tax, self_assessment, fx_rounding, opening_balance; null when sent by the client.
    pub generated: Option<String>,
    pub description: String,
    pub line_description: Option<String>,
    pub cost_center: Option<String>,
    pub external_reference: Option<String>,
}

impl EntryDto {
    pub fn new(e: JournalEntry, base: &str) -> EntryDto {
        let side = e.side();
        let value = if side == Side::Debit {
            e.debit
        } else {
            e.credit
        };
        EntryDto {
            seq: e.seq,
            intent_id: e.intent_id,
            line: e.line_no,
            booking_date: e.booking_date,
            period: e.period,
            account: e.account,
            debit: (side == Side::Debit).then(|| money(value, base)),
            credit: (side == Side::Credit).then(|| money(value, base)),
            amount: money(e.amount, &e.currency),
            currency: e.currency,
            tax_code: e.tax_code,
            generated: e.generated.map(|g| g.as_str().to_string()),
            description: e.description,
            line_description: e.line_description,
            cost_center: e.cost_center,
            external_reference: e.external_reference,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AccountEntriesDto {
    pub entries: Vec<EntryDto>,
    /// Debit-positive balance of the whole date range (all pages), in the base currency.
    #[schema(example = "119.00")]
    pub balance: String,
    pub total: i64,
    /// True when `total` is an estimate (beyond 10,000 matches; also `X-Total-Count-Estimated`).
    pub total_estimated: bool,
    /// 0 when the page was asked for by `cursor`.
    pub offset: i64,
    pub limit: i64,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/accounts", tag = "Journal",
    params(("limit" = Option<i64>, Query, description = "1..500, default 100"), ("offset" = Option<i64>, Query), ("cursor" = Option<String>, Query, description = "next_cursor of the previous page: keyset paging, offset is then ignored; a malformed cursor is ignored (first page)")),
    responses((status = 200, body = AccountList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = ["accounts:read"])))]
pub async fn list(state: web::Data<AppState>, p: Principal, q: Params) -> ApiResult<HttpResponse> {
    p.require("accounts:read")?;
    let after = crate::routes::list_cursor(&q);
    let (limit, offset) = (q.limit(), if after.is_some() { 0 } else { q.offset() });
    let (accounts, total, next) = state
        .app
        .list_accounts(p.tenant_id, limit, offset, after.as_ref())
        .await?;
    let mut res = HttpResponse::Ok();
    if total.estimated {
        res.insert_header(("X-Total-Count-Estimated", "true"));
    }
    Ok(res.json(AccountList {
        accounts: accounts.into_iter().map(Into::into).collect(),
        total: total.count,
        total_estimated: total.estimated,
        offset,
        limit,
        next_cursor: next.map(|c| c.encode()),
    }))
}

#[utoipa::path(get, path = "/v1/accounts/search", tag = "Journal",
    params(("q" = Option<String>, Query, description = "number prefix or part of the name"),
           ("type" = Option<String>, Query, description = "asset, liability, equity, revenue, expense"),
           ("limit" = Option<i64>, Query)),
    responses((status = 200, body = AccountSearchResult), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = ["accounts:read"])))]
pub async fn search(
    state: web::Data<AppState>,
    p: Principal,
    q: Params,
) -> ApiResult<HttpResponse> {
    p.require("accounts:read")?;
    let account_type = q.text("type").and_then(|t| t.parse().ok());
    let accounts = state
        .app
        .search_accounts(
            p.tenant_id,
            &q.text("q").unwrap_or_default(),
            account_type,
            q.limit(),
        )
        .await?;
    Ok(HttpResponse::Ok().json(AccountSearchResult {
        accounts: accounts.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(post, path = "/v1/accounts", tag = "Journal", request_body = CreateAccount,
    responses((status = 201, body = AccountDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "account_exists"),
              (status = 415, body = ErrorBody)),
    security(("bearer" = ["accounts:write"])))]
pub async fn create(
    state: web::Data<AppState>,
    p: Principal,
    body: JsonBody<CreateAccount>,
) -> ApiResult<HttpResponse> {
    p.require("accounts:write")?;
    let b = body.0;
    let account = state
        .app
        .create_account(
            p.tenant_id,
            NewAccount {
                number: b.number,
                name: b.name,
                account_type: b.account_type,
                category: b.category.unwrap_or_default(),
                report_group: b.report_group.unwrap_or_default(),
            },
        )
        .await?;
    Ok(HttpResponse::Created().json(AccountDto::from(account)))
}

#[utoipa::path(get, path = "/v1/accounts/{number}", tag = "Journal",
    params(("number" = String, Path)),
    responses((status = 200, body = AccountDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = ["accounts:read"])))]
pub async fn get(
    state: web::Data<AppState>,
    p: Principal,
    number: web::Path<String>,
) -> ApiResult<HttpResponse> {
    p.require("accounts:read")?;
    let account = state.app.get_account(p.tenant_id, &number).await?;
    Ok(HttpResponse::Ok().json(AccountDto::from(account)))
}

#[utoipa::path(patch, path = "/v1/accounts/{number}", tag = "Journal", request_body = UpdateAccount,
    params(("number" = String, Path)),
    responses((status = 200, body = AccountDto), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = ["accounts:write"])))]
pub async fn update(
    state: web::Data<AppState>,
    p: Principal,
    number: web::Path<String>,
    body: JsonBody<UpdateAccount>,
) -> ApiResult<HttpResponse> {
    p.require("accounts:write")?;
    let b = body.0;
    let account = state
        .app
        .update_account(p.tenant_id, &number, b.name.as_deref(), b.is_active)
        .await?;
    Ok(HttpResponse::Ok().json(AccountDto::from(account)))
}

#[utoipa::path(get, path = "/v1/accounts/{number}/entries", tag = "Journal",
    params(("number" = String, Path), ("startDate" = Option<String>, Query, description = "YYYY-MM-DD"),
           ("endDate" = Option<String>, Query, description = "YYYY-MM-DD"), ("limit" = Option<i64>, Query),
           ("offset" = Option<i64>, Query),
           ("cursor" = Option<String>, Query, description = "next_cursor of the previous page; then offset is ignored. A malformed cursor is ignored (first page)")),
    responses((status = 200, body = AccountEntriesDto), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = ["journal:read"])))]
pub async fn entries(
    state: web::Data<AppState>,
    p: Principal,
    number: web::Path<String>,
    q: Params,
) -> ApiResult<HttpResponse> {
    p.require("journal:read")?;
    let (start, end) = (q.date("startDate"), q.date("endDate"));
    if let (Some(s), Some(e)) = (start, end) {
        if s > e {
            return Err(ApiError::bad_request(
                "invalid_date_range",
                "startDate is after endDate",
            ));
        }
    }
    let base = state
        .app
        .tenant_info(p.tenant_id)
        .await?
        .tenant
        .base_currency
        .clone();
    let (limit, offset) = (q.limit(), q.offset());
    // A malformed cursor is a malformed list parameter: it falls back to none.
    let after = q
        .text("cursor")
        .and_then(|c| app::ledger::JournalCursor::decode(&c));
    let result = state
        .app
        .account_entries(p.tenant_id, &number, (start, end), limit, offset, after)
        .await?;
    let offset = if after.is_some() { 0 } else { offset };
    Ok(
        crate::routes::with_total(HttpResponse::Ok(), result.total).json(AccountEntriesDto {
            entries: result
                .entries
                .into_iter()
                .map(|e| EntryDto::new(e, &base))
                .collect(),
            balance: money(result.balance, &base),
            total: result.total.count,
            total_estimated: result.total.estimated,
            offset,
            limit,
            next_cursor: result.next.map(|c| c.encode()),
        }),
    )
}
