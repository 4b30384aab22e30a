//! Bank accounts (`/v1/bank-accounts`), statement imports (JSON rows, camt.053, MT940, CSV
//! files), the bank transactions with their status, match and evidence, the balance history
//! and the reconciliation view (issue 10, part 1).

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{
    date, decimal, opt_date, opt_decimal, parse_json, stored_answer, IdempotencyKeyOf, JsonBody,
    Params,
};
use crate::routes::{money, with_total, ErrorBody};
use crate::AppState;
use actix_multipart::Multipart;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use app::bank::{
    ActiveMatch, BankAccount, BankTransactionRow, Evidence, ImportResult, Reconciliation,
    StatementFile, StatusSums, TransactionFilter,
};
use app::StoredResponse;
use bank::account::NewBankAccount;
use bank::{BankTransaction, CsvMapping, Format};
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::StreamExt;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

const SCOPE_READ: &str = "bank:read";
const SCOPE_WRITE: &str = "bank:write";

// ---------------------------------------------------------------------------------------
// Bank accounts

/// A bank account with its transaction counts.
#[derive(Serialize, ToSchema)]
pub struct BankAccountDto {
    pub id: Uuid,
    #[schema(example = "Girokonto Sparkasse")]
    pub name: String,
    #[schema(example = "DE89370400440532013000")]
    pub iban: Option<String>,
    #[schema(example = "COBADEFFXXX")]
    pub bic: Option<String>,
    /// The bank's own account number (MT940 `:25:`, camt `Othr/Id`).
    pub account_number: Option<String>,
    #[schema(example = "EUR")]
    pub currency: String,
    /// The account of the chart the bank posts to.
    #[schema(example = "1200")]
    pub ledger_account: String,
    pub tx_count: i64,
    /// Transactions neither matched nor dismissed.
    pub unreconciled_count: i64,
    pub last_tx_date: Option<NaiveDate>,
    /// Imported statements whose balances do not add up (opening + transactions ≠ closing).
    pub incomplete_statements: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn account_dto(a: BankAccount) -> BankAccountDto {
    BankAccountDto {
        id: a.id,
        name: a.name,
        iban: a.iban,
        bic: a.bic,
        account_number: a.account_number,
        currency: a.currency,
        ledger_account: a.ledger_account,
        tx_count: a.tx_count,
        unreconciled_count: a.unreconciled_count,
        last_tx_date: a.last_tx_date,
        incomplete_statements: a.incomplete_statements,
        created_at: a.created_at,
        updated_at: a.updated_at,
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBankAccount {
    #[schema(example = "Girokonto Sparkasse")]
    pub name: String,
    /// Validated (checksum); stored in electronic form.
    pub iban: Option<String>,
    pub bic: Option<String>,
    /// The bank's own account number (for statements that name no IBAN).
    pub account_number: Option<String>,
    /// Default: the tenant's base currency.
    pub currency: Option<String>,
    /// An asset account of the chart no other bank account posts to. Default for the first
    /// bank account: the chart's bank account (1200 / 1800); required for further ones.
    pub ledger_account: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBankAccount {
    pub name: String,
}

#[utoipa::path(get, path = "/v1/bank-accounts", tag = "Bank",
    responses((status = 200, body = [BankAccountDto], description = "bare array, oldest first; the total is in X-Total-Count"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = ["bank:read"])))]
pub async fn list_accounts(state: web::Data<AppState>, p: Principal) -> ApiResult<HttpResponse> {
    p.require(SCOPE_READ)?;
    let accounts = state.app.list_bank_accounts(p.tenant_id).await?;
    let total = app::ledger::Total {
        count: accounts.len() as i64,
        estimated: false,
    };
    let body: Vec<BankAccountDto> = accounts.into_iter().map(account_dto).collect();
    Ok(with_total(HttpResponse::Ok(), total).json(body))
}

#[utoipa::path(post, path = "/v1/bank-accounts", tag = "Bank", request_body = CreateBankAccount,
    responses((status = 201, body = BankAccountDto),
              (status = 400, body = ErrorBody, description = "invalid_name, invalid_iban, invalid_bic, invalid_account_number, invalid_currency, ledger_account_required, unknown_account, ledger_account_not_asset"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "ledger_account_taken (one bank account per ledger account), duplicate_iban")),
    security(("bearer" = ["bank:write"])))]
pub async fn create_account(
    state: web::Data<AppState>,
    p: Principal,
    key: IdempotencyKeyOf,
    body: JsonBody<CreateBankAccount>,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_WRITE)?;
    let b = body.0;
    let new = NewBankAccount {
        name: b.name,
        iban: b.iban,
        bic: b.bic,
        account_number: b.account_number,
        currency: b.currency,
        ledger_account: b.ledger_account,
    };
    let render = |a: &BankAccount| StoredResponse::json(201, &account_dto(a.clone()));
    let account = state
        .app
        .create_bank_account(p.tenant_id, new, &p.actor, key.with(render))
        .await?;
    Ok(stored_answer(render(&account), key.0.is_some()))
}

#[utoipa::path(get, path = "/v1/bank-accounts/{id}", tag = "Bank", params(("id" = Uuid, Path)),
    responses((status = 200, body = BankAccountDto, description = "with tx_count, unreconciled_count, last_tx_date, incomplete_statements"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = ["bank:read"])))]
pub async fn get_account(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_READ)?;
    let a = state
        .app
        .get_bank_account(p.tenant_id, crate::routes::path_id("bank account", &id)?)
        .await?;
    Ok(HttpResponse::Ok().json(account_dto(a)))
}

#[utoipa::path(put, path = "/v1/bank-accounts/{id}", tag = "Bank", params(("id" = Uuid, Path)), request_body = UpdateBankAccount,
    responses((status = 200, body = BankAccountDto), (status = 400, body = ErrorBody, description = "invalid_name"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = ["bank:write"])))]
pub async fn update_account(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    body: JsonBody<UpdateBankAccount>,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_WRITE)?;
    let id = crate::routes::path_id("bank account", &id)?;
    let a = state
        .app
        .rename_bank_account(p.tenant_id, id, &body.0.name)
        .await?;
    Ok(HttpResponse::Ok().json(account_dto(a)))
}

#[derive(Serialize, ToSchema)]
pub struct BalancePoint {
    pub date: NaiveDate,
    #[schema(example = "1190.00")]
    pub balance: String,
}

/// The bank balance at the end of each day.
#[derive(Serialize, ToSchema)]
pub struct BalanceHistoryDto {
    /// One point per day, the oldest first, the last one today.
    pub history: Vec<BalancePoint>,
    /// Today's balance.
    #[serde(rename = "currentBalance")]
    pub current_balance: String,
    /// The balance at the end of the day before the first point.
    #[serde(rename = "startBalance")]
    pub start_balance: String,
    pub currency: String,
    pub days: i64,
    /// The bank accounts summed up.
    pub bank_account_ids: Vec<Uuid>,
}

#[utoipa::path(get, path = "/v1/bank-accounts/balance-history", tag = "Bank",
    params(("days" = Option<i64>, Query, description = "1..3660, default 30"),
           ("bank_account_id" = Option<Uuid>, Query, description = "one account; default: every bank account in the base currency")),
    responses((status = 200, body = BalanceHistoryDto, description = "the balance at the end of day D is the latest stated balance (a statement's closing balance, or its opening balance for the day before its first) plus the transactions booked after it through D; before the first stated balance, that balance minus the transactions in between; without any, the sum of the transactions through D"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = ["bank:read"])))]
pub async fn balance_history(
    state: web::Data<AppState>,
    p: Principal,
    q: Params,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_READ)?;
    let days = q
        .int("days")
        .filter(|d| (1..=3660).contains(d))
        .unwrap_or(30);
    let account = match q.text("bank_account_id") {
        None => None,
        Some(id) => Some(crate::routes::path_id("bank account", &id)?),
    };
    let h = state
        .app
        .balance_history(p.tenant_id, days, account)
        .await?;
    let m = |d: Decimal| money(d, &h.currency);
    Ok(HttpResponse::Ok().json(BalanceHistoryDto {
        history: h
            .history
            .iter()
            .map(|(date, balance)| BalancePoint {
                date: *date,
                balance: m(*balance),
            })
            .collect(),
        current_balance: m(h.current_balance),
        start_balance: m(h.start_balance),
        currency: h.currency.clone(),
        days,
        bank_account_ids: h.bank_account_ids.clone(),
    }))
}

/// Count and sum of transactions of one status.
#[derive(Serialize, ToSchema)]
pub struct StatusSumsDto {
    pub count: i64,
    /// In the bank account's currency.
    pub amount: String,
    /// In the base currency: Σ amount / fx_rate for a foreign-currency account when every
    /// transaction has a rate (else null); the amount itself otherwise.
    pub base_amount: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BankSideDto {
    /// The bank's balance: the balance rule of balance-history on `as_of`.
    pub balance: String,
    pub base_amount: Option<String>,
    /// The last day with a transaction or a statement.
    pub as_of: Option<NaiveDate>,
    /// `statement` (from stated balances) or `transactions` (their sum; no statement has a balance).
    pub source: String,
}

#[derive(Serialize, ToSchema)]
pub struct LedgerSideDto {
    pub account: String,
    /// The ledger account's balance in the bank account's currency (debit-positive).
    pub amount: String,
    /// The same in the base currency, from the journal.
    pub base_amount: String,
}

#[derive(Serialize, ToSchema)]
pub struct UnmatchedLedgerDto {
    /// Journal lines on the ledger account whose booking no active bank match names.
    pub count: i64,
    pub amount: String,
    pub base_amount: String,
}

/// Open vs reconciled transactions side by side, the ledger balance vs the bank balance.
#[derive(Serialize, ToSchema)]
pub struct ReconciliationDto {
    pub bank_account: BankAccountDto,
    pub currency: String,
    pub base_currency: String,
    /// Unmatched transactions.
    pub open: StatusSumsDto,
    /// Matched transactions.
    pub reconciled: StatusSumsDto,
    pub dismissed: StatusSumsDto,
    pub bank: BankSideDto,
    pub ledger: LedgerSideDto,
    pub unmatched_ledger: UnmatchedLedgerDto,
    /// bank.balance − ledger.amount (in the account's currency).
    pub difference: String,
    /// The latest rate of the account's transactions (foreign currency per 1 base unit).
    pub fx_rate: Option<String>,
}

fn sums_dto(s: &StatusSums, currency: &str, base: &str, same: bool) -> StatusSumsDto {
    StatusSumsDto {
        count: s.count,
        amount: money(s.amount, currency),
        base_amount: if same {
            Some(money(s.amount, base))
        } else {
            s.base_amount.map(|b| money(b, base))
        },
    }
}

fn reconciliation_dto(r: Reconciliation) -> ReconciliationDto {
    let cur = r.account.currency.clone();
    let base = r.base_currency.clone();
    let same = cur == base;
    ReconciliationDto {
        currency: cur.clone(),
        base_currency: base.clone(),
        open: sums_dto(&r.open, &cur, &base, same),
        reconciled: sums_dto(&r.reconciled, &cur, &base, same),
        dismissed: sums_dto(&r.dismissed, &cur, &base, same),
        bank: BankSideDto {
            balance: money(r.bank_balance, &cur),
            base_amount: r.bank_base_amount.map(|b| money(b, &base)),
            as_of: r.bank_balance_date,
            source: r.bank_balance_source.to_string(),
        },
        ledger: LedgerSideDto {
            account: r.account.ledger_account.clone(),
            amount: money(r.ledger.amount, &cur),
            base_amount: money(r.ledger.base_amount, &base),
        },
        unmatched_ledger: UnmatchedLedgerDto {
            count: r.ledger.unmatched_count,
            amount: money(r.ledger.unmatched_amount, &cur),
            base_amount: money(r.ledger.unmatched_base_amount, &base),
        },
        difference: money(r.bank_balance.saturating_sub(r.ledger.amount), &cur),
        fx_rate: r.fx_rate.map(|f| f.normalize().to_string()),
        bank_account: account_dto(r.account),
    }
}

#[utoipa::path(get, path = "/v1/bank-accounts/{id}/reconciliation", tag = "Bank", params(("id" = Uuid, Path)),
    responses((status = 200, body = ReconciliationDto),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = ["bank:read"])))]
pub async fn reconciliation(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_READ)?;
    let r = state
        .app
        .reconciliation(p.tenant_id, crate::routes::path_id("bank account", &id)?)
        .await?;
    Ok(HttpResponse::Ok().json(reconciliation_dto(r)))
}

// ---------------------------------------------------------------------------------------
// Imports

/// One transaction of a JSON import. `amount` is signed: + is money in.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRow {
    #[serde(deserialize_with = "date")]
    #[schema(value_type = String, example = "2026-03-14")]
    pub booking_date: NaiveDate,
    #[serde(default, deserialize_with = "opt_date")]
    #[schema(value_type = Option<String>)]
    pub value_date: Option<NaiveDate>,
    #[serde(deserialize_with = "decimal")]
    #[schema(value_type = String, example = "-119.00")]
    pub amount: Decimal,
    #[schema(example = "EUR")]
    pub currency: String,
    pub counterparty_name: Option<String>,
    pub counterparty_iban: Option<String>,
    pub remittance_info: Option<String>,
    pub end_to_end_id: Option<String>,
    pub bank_reference: Option<String>,
    /// Foreign-currency bank accounts: the bank's rate, units of the account's currency per
    /// 1 unit of the base currency. Reconciling converts with it (else the request must give
    /// one). Ignored on base-currency accounts.
    #[serde(
        default,
        deserialize_with = "opt_decimal",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, example = "1.0850")]
    pub fx_rate: Option<Decimal>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportTransactions {
    pub bank_account_id: Uuid,
    /// 1 to 10,000 rows.
    pub transactions: Vec<ImportRow>,
}

#[derive(Serialize, ToSchema)]
pub struct RowErrorDto {
    /// The row's 0-based index (in the request, or among the file's transactions).
    pub row: usize,
    pub code: String,
    pub error: String,
}

#[derive(Serialize, ToSchema)]
pub struct BalanceCheckDto {
    /// True when opening + Σ transactions = closing, or when the statement has no balances (CSV).
    pub ok: bool,
    pub opening: Option<String>,
    pub closing: Option<String>,
    pub computed_closing: Option<String>,
    /// closing − computed_closing.
    pub difference: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ImportedStatementDto {
    /// The stored statement's id; null when skipped.
    pub id: Option<Uuid>,
    /// The bank's id of the statement (camt `Stmt/Id`, MT940 `:28C:`).
    pub statement_id: Option<String>,
    /// The account the statement names.
    pub account: Option<String>,
    pub transactions: usize,
    pub balance_check: BalanceCheckDto,
    /// The statement names another account: reported, not imported.
    pub skipped: bool,
}

/// What an import did.
#[derive(Serialize, ToSchema)]
pub struct ImportResultDto {
    pub batch_id: Uuid,
    /// camt, mt940, csv or json.
    pub format: String,
    /// The uploaded file, kept as a document (files only).
    pub document_id: Option<Uuid>,
    /// Rows of the request, or transactions of the file's imported statements.
    pub total_rows: usize,
    pub imported: u64,
    /// Rows already imported before (same fingerprint), or twice in this import.
    pub skipped_duplicates: u64,
    /// Rows refused (the others are imported).
    pub errors: Vec<RowErrorDto>,
    pub statements: Vec<ImportedStatementDto>,
}

fn import_dto(r: &ImportResult, currency: &str) -> ImportResultDto {
    let m = |d: Option<Decimal>| d.map(|d| money(d, currency));
    ImportResultDto {
        batch_id: r.batch_id,
        format: r.format.to_string(),
        document_id: r.document_id,
        total_rows: r.total_rows,
        imported: r.imported,
        skipped_duplicates: r.skipped_duplicates,
        errors: r
            .errors
            .iter()
            .map(|e| RowErrorDto {
                row: e.row,
                code: e.code.to_string(),
                error: e.message.clone(),
            })
            .collect(),
        statements: r
            .statements
            .iter()
            .map(|s| ImportedStatementDto {
                id: s.id,
                statement_id: s.statement_id.clone(),
                account: s.account.clone(),
                transactions: s.transactions,
                balance_check: BalanceCheckDto {
                    ok: s.balance_check.ok,
                    opening: m(s.balance_check.opening),
                    closing: m(s.balance_check.closing),
                    computed_closing: m(s.balance_check.computed_closing),
                    difference: m(s.balance_check.difference),
                },
                skipped: s.skipped,
            })
            .collect(),
    }
}

fn row_to_transaction(i: usize, row: &ImportRow) -> Result<BankTransaction, ApiError> {
    let currency = journal::Currency::from_code(row.currency.trim()).map_err(|_| {
        let field = format!("transactions[{i}].currency");
        ApiError::bad_request(
            "invalid_field",
            format!("{field}: {:?} is not a currency kontor knows", row.currency),
        )
        .with_field(field, "unknown currency")
    })?;
    if let Some(rate) = row.fx_rate {
        if rate <= Decimal::ZERO || rate.scale() > bank::statement::RATE_DECIMALS {
            let field = format!("transactions[{i}].fx_rate");
            return Err(ApiError::bad_request(
                "invalid_fx_rate",
                format!("{field}: the rate must be positive, with at most 10 decimals"),
            )
            .with_field(field, "invalid rate"));
        }
    }
    Ok(BankTransaction {
        booking_date: row.booking_date,
        value_date: row.value_date,
        amount: row.amount,
        currency,
        counterparty_name: row.counterparty_name.clone(),
        counterparty_iban: row.counterparty_iban.clone(),
        remittance_info: row.remittance_info.clone(),
        end_to_end_id: row.end_to_end_id.clone(),
        bank_reference: row.bank_reference.clone(),
        exchange: row.fx_rate.map(|rate| bank::Exchange {
            against: None,
            rate,
        }),
        raw: serde_json::to_string(row).unwrap_or_default(),
    })
}

#[utoipa::path(post, path = "/v1/bank-transactions", tag = "Bank", request_body = ImportTransactions,
    responses((status = 201, body = ImportResultDto, description = "the batch: rows already imported (same fingerprint) are skipped, refused rows listed in errors (currency_mismatch, invalid_amount, invalid_date, invalid_character)"),
              (status = 400, body = ErrorBody, description = "too_many_rows, invalid_field"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody, description = "bank account")),
    security(("bearer" = ["bank:write"])))]
pub async fn import_transactions(
    state: web::Data<AppState>,
    p: Principal,
    key: IdempotencyKeyOf,
    body: JsonBody<ImportTransactions>,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_WRITE)?;
    let b = body.0;
    let account = state
        .app
        .bank_account_basics(p.tenant_id, b.bank_account_id)
        .await?;
    let rows = b
        .transactions
        .iter()
        .enumerate()
        .map(|(i, r)| row_to_transaction(i, r))
        .collect::<Result<Vec<_>, _>>()?;
    let currency = account.currency.clone();
    let render = move |r: &ImportResult| StoredResponse::json(201, &import_dto(r, &currency));
    let result = state
        .app
        .import_bank_transactions(
            p.tenant_id,
            account.id,
            rows,
            &p.actor,
            key.with(render.clone()),
        )
        .await?;
    Ok(stored_answer(render(&result), key.0.is_some()))
}

/// The parts of a statement upload.
struct StatementForm {
    content: Vec<u8>,
    file_name: Option<String>,
    bank_account_id: Option<String>,
    format: Option<String>,
    csv_mapping: Option<String>,
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("statement files may be at most {limit} bytes (KONTOR_MAX_STATEMENT_BYTES)"),
    )
}

/// Reads the multipart form: one part `file` (at most `KONTOR_MAX_STATEMENT_BYTES`) and the
/// text parts `names` allows (64 KiB each).
async fn read_form(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
    names: &[&str],
) -> Result<StatementForm, ApiError> {
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_multipart {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Content-Type must be multipart/form-data with a part named file",
        ));
    }
    let limit = state.config.max_statement_bytes;
    // A declared length far above the limit is refused before reading anything.
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64 + 1024 * 1024) {
        return Err(too_large(limit));
    }
    let mut multipart = Multipart::new(req.headers(), payload);
    let read = async {
        let mut form = StatementForm {
            content: Vec::new(),
            file_name: None,
            bank_account_id: None,
            format: None,
            csv_mapping: None,
        };
        let mut has_file = false;
        let mut seen: Vec<String> = Vec::new();
        while let Some(field) = multipart.next().await {
            let mut field =
                field.map_err(|e| ApiError::bad_request("malformed_multipart", e.to_string()))?;
            let name = field.name().unwrap_or("").to_string();
            if name != "file" && !names.contains(&name.as_str()) {
                return Err(ApiError::bad_request(
                    "unknown_field",
                    format!("unexpected form field {name:?}"),
                )
                .with_field(name, "unknown field"));
            }
            if seen.contains(&name) {
                return Err(ApiError::bad_request(
                    "duplicate_field",
                    format!("form field {name:?} sent twice"),
                )
                .with_field(name, "sent twice"));
            }
            seen.push(name.clone());
            let max = if name == "file" { limit } else { 64 * 1024 };
            if name == "file" {
                has_file = true;
                form.file_name = field
                    .content_disposition()
                    .and_then(|cd| cd.get_filename())
                    .map(clean_name);
            }
            let mut content = Vec::new();
            while let Some(chunk) = field.next().await {
                let chunk = chunk
                    .map_err(|e| ApiError::bad_request("malformed_multipart", e.to_string()))?;
                if content.len() + chunk.len() > max {
                    return Err(if name == "file" {
                        too_large(limit)
                    } else {
                        ApiError::bad_request("invalid_field", format!("{name} is too long"))
                            .with_field(name, "too long")
                    });
                }
                content.extend_from_slice(&chunk);
            }
            if name == "file" {
                form.content = content;
                continue;
            }
            let text = String::from_utf8(content).map_err(|_| {
                ApiError::bad_request("invalid_field", format!("{name} must be UTF-8 text"))
                    .with_field(name.clone(), "not UTF-8")
            })?;
            if text.contains('\0') {
                return Err(ApiError::bad_request(
                    "invalid_character",
                    format!("{name}: text must not contain U+0000"),
                )
                .with_field(name, "must not contain U+0000"));
            }
            let text = Some(text.trim().to_string()).filter(|t| !t.is_empty());
            match name.as_str() {
                "bank_account_id" => form.bank_account_id = text,
                "format" => form.format = text,
                _ => form.csv_mapping = text,
            }
        }
        if !has_file {
            return Err(
                ApiError::bad_request("file_required", "send one part named file")
                    .with_field("file", "required"),
            );
        }
        if form.content.is_empty() {
            return Err(ApiError::bad_request("empty_file", "the file is empty")
                .with_field("file", "empty"));
        }
        Ok(form)
    };
    tokio::time::timeout(crate::extract::body_timeout(req), read)
        .await
        .map_err(|_| crate::extract::request_timeout())?
}

/// Keeps the last path component, without control characters, at most 255 characters.
fn clean_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last.chars().filter(|c| !c.is_control()).take(255).collect();
    match cleaned.trim() {
        "" | "." | ".." => "statement".to_string(),
        c => c.to_string(),
    }
}

async fn import_form(
    state: web::Data<AppState>,
    p: Principal,
    key: IdempotencyKeyOf,
    q: Params,
    form: StatementForm,
    bank_account_id: Uuid,
) -> ApiResult<HttpResponse> {
    let format = match form.format.as_deref() {
        None => None,
        Some(f) => Some(f.parse::<Format>().map_err(|_| {
            ApiError::bad_request(
                "unknown_statement_format",
                format!("format {f:?} is none of camt, mt940, csv"),
            )
            .with_field("format", "camt, mt940 or csv")
        })?),
    };
    let csv_mapping = match form.csv_mapping.as_deref() {
        None => None,
        Some(text) => Some(parse_json::<CsvMapping>(text.as_bytes()).map_err(|e| {
            let mut e = e;
            e.message = format!("csv_mapping: {}", e.message);
            e.details =
                Some(serde_json::json!({"field_errors": {"csv_mapping": [e.message.clone()]}}));
            e
        })?),
    };
    let account = state
        .app
        .bank_account_basics(p.tenant_id, bank_account_id)
        .await?;
    let currency = account.currency.clone();
    let render = move |r: &ImportResult| StoredResponse::json(201, &import_dto(r, &currency));
    let file = StatementFile {
        bank_account_id: account.id,
        content: form.content,
        file_name: form.file_name,
        format,
        csv_mapping,
        force: q.flag("force"),
    };
    let result = state
        .app
        .import_statement_file(p.tenant_id, file, &p.actor, key.with(render.clone()))
        .await?;
    Ok(stored_answer(render(&result), key.0.is_some()))
}

#[utoipa::path(post, path = "/v1/bank-transactions/import-file", tag = "Bank",
    params(("force" = Option<bool>, Query, description = "import statements of other accounts too")),
    request_body(content_type = "multipart/form-data", description = "parts: `file` (camt.053, MT940 or CSV, at most KONTOR_MAX_STATEMENT_BYTES), `bank_account_id`, optional `format` (camt|mt940|csv; sniffed when absent), optional `csv_mapping` (JSON, see docs/api.md)"),
    responses((status = 201, body = ImportResultDto, description = "per statement its balance_check; statements of other accounts skipped; re-imported transactions counted in skipped_duplicates"),
              (status = 400, body = ErrorBody, description = "malformed_statement (naming the line or element; nothing imported), unknown_statement_format, empty_statement, account_mismatch, file_required, empty_file, invalid_field, unknown_field, malformed_multipart"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody, description = "bank account"),
              (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)),
    security(("bearer" = ["bank:write"])))]
pub async fn import_file(
    state: web::Data<AppState>,
    p: Principal,
    key: IdempotencyKeyOf,
    q: Params,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_WRITE)?;
    let form = read_form(
        &state,
        &req,
        payload,
        &["bank_account_id", "format", "csv_mapping"],
    )
    .await?;
    let id = form.bank_account_id.clone().ok_or_else(|| {
        ApiError::bad_request("invalid_field", "bank_account_id is required")
            .with_field("bank_account_id", "required")
    })?;
    let id = crate::routes::path_id("bank account", &id)?;
    import_form(state, p, key, q, form, id).await
}

#[utoipa::path(post, path = "/v1/bank-accounts/{id}/upload", tag = "Bank", params(("id" = Uuid, Path),
        ("force" = Option<bool>, Query, description = "import statements of other accounts too")),
    request_body(content_type = "multipart/form-data", description = "parts: `file`, optional `format`, optional `csv_mapping`; as import-file"),
    responses((status = 201, body = ImportResultDto, description = "as import-file"),
              (status = 400, body = ErrorBody, description = "as import-file"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)),
    security(("bearer" = ["bank:write"])))]
pub async fn upload(
    state: web::Data<AppState>,
    p: Principal,
    key: IdempotencyKeyOf,
    q: Params,
    id: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_WRITE)?;
    let id = crate::routes::path_id("bank account", &id)?;
    let form = read_form(&state, &req, payload, &["format", "csv_mapping"]).await?;
    import_form(state, p, key, q, form, id).await
}

// ---------------------------------------------------------------------------------------
// Transactions

/// An open item a match applied money to.
#[derive(Serialize, ToSchema)]
pub struct MatchOpenItemDto {
    pub invoice_id: Option<String>,
    pub amount: Option<String>,
}

/// The active match of a transaction.
#[derive(Serialize, ToSchema)]
pub struct MatchDto {
    pub id: Uuid,
    /// `linked` (an existing booking matched) or `booked` (the match booked it).
    pub mode: String,
    pub is_group: bool,
    pub intent_id: Uuid,
    pub candidate_kind: Option<String>,
    pub candidate_id: Option<String>,
    pub open_items: Vec<MatchOpenItemDto>,
    pub created_at: DateTime<Utc>,
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The match as stored: `detail.open_items` when the match recorded them, else the
/// allocations of a group to invoices.
fn match_dto(m: ActiveMatch) -> MatchDto {
    let d = &m.detail;
    let open_items = match d.get("open_items").and_then(Value::as_array) {
        Some(items) => items
            .iter()
            .map(|i| MatchOpenItemDto {
                invoice_id: i.get("invoice_id").and_then(text_of),
                amount: i.get("amount").and_then(text_of),
            })
            .collect(),
        None => d
            .get("allocations")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter(|x| {
                        matches!(
                            x.get("candidate_kind").and_then(Value::as_str),
                            Some("outgoing_invoice" | "incoming_invoice")
                        )
                    })
                    .map(|x| MatchOpenItemDto {
                        invoice_id: x.get("candidate_id").and_then(text_of),
                        amount: x.get("amount").and_then(text_of),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    };
    MatchDto {
        id: m.id,
        mode: m.mode,
        is_group: m.is_group,
        intent_id: m.intent_id,
        candidate_kind: d.get("candidate_kind").and_then(text_of),
        candidate_id: d.get("candidate_id").and_then(text_of),
        open_items,
        created_at: m.created_at,
    }
}

/// A bank transaction as the bank reported it, with its derived status.
#[derive(Serialize, ToSchema)]
pub struct BankTransactionDto {
    pub id: Uuid,
    pub bank_account_id: Uuid,
    pub batch_id: Uuid,
    /// The stored statement it came with (null for JSON imports).
    pub statement_id: Option<Uuid>,
    pub booking_date: NaiveDate,
    pub value_date: Option<NaiveDate>,
    /// Signed: + is money in.
    #[schema(example = "-119.00")]
    pub amount: String,
    pub currency: String,
    pub fx_rate: Option<String>,
    pub counterparty_name: Option<String>,
    pub counterparty_iban: Option<String>,
    pub remittance_info: Option<String>,
    pub end_to_end_id: Option<String>,
    pub bank_reference: Option<String>,
    /// `unmatched`, `matched` or `dismissed`.
    pub status: String,
    pub dismissed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

fn transaction_dto(t: BankTransactionRow) -> BankTransactionDto {
    BankTransactionDto {
        amount: money(t.amount, &t.currency),
        id: t.id,
        bank_account_id: t.bank_account_id,
        batch_id: t.batch_id,
        statement_id: t.statement_id,
        booking_date: t.booking_date,
        value_date: t.value_date,
        currency: t.currency,
        fx_rate: t.fx_rate.map(|f| f.normalize().to_string()),
        counterparty_name: t.counterparty_name,
        counterparty_iban: t.counterparty_iban,
        remittance_info: t.remittance_info,
        end_to_end_id: t.end_to_end_id,
        bank_reference: t.bank_reference,
        status: t.status,
        dismissed_at: t.dismissed_at,
        created_at: t.created_at,
    }
}

/// One transaction with its raw source and its match.
#[derive(Serialize, ToSchema)]
pub struct BankTransactionDetailDto {
    #[serde(flatten)]
    pub transaction: BankTransactionDto,
    /// The source as the bank sent it: the camt element, the MT940 lines, the CSV line, the JSON row.
    pub raw: String,
    /// The active match; null when unmatched or dismissed.
    #[serde(rename = "match")]
    pub matched: Option<MatchDto>,
}

#[derive(Serialize, ToSchema)]
pub struct BankTransactionEnvelope {
    pub transaction: BankTransactionDetailDto,
}

#[derive(Serialize, ToSchema)]
pub struct BankTransactionList {
    pub transactions: Vec<BankTransactionDto>,
    /// Exact up to 10,000; beyond, an estimate (`X-Total-Count-Estimated: true`).
    pub total: i64,
    /// 0 when the page was asked for by `cursor`.
    pub offset: i64,
    pub limit: i64,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/bank-transactions", tag = "Bank",
    params(("bank_account_id" = Option<Uuid>, Query), ("start_date" = Option<String>, Query), ("end_date" = Option<String>, Query),
           ("search" = Option<String>, Query, description = "part of the counterparty's name or IBAN, the remittance information, the end-to-end id or the bank reference"),
           ("status" = Option<String>, Query, description = "unmatched, matched or dismissed"),
           ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query),
           ("cursor" = Option<String>, Query, description = "next_cursor of the previous page: keyset paging, offset is then ignored; a malformed cursor is ignored (first page)")),
    responses((status = 200, body = BankTransactionList, description = "newest booking date first"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = ["bank:read"])))]
pub async fn list_transactions(
    state: web::Data<AppState>,
    p: Principal,
    q: Params,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_READ)?;
    let filter = TransactionFilter {
        bank_account_id: q.text("bank_account_id").and_then(|v| v.parse().ok()),
        start_date: q.date("start_date"),
        end_date: q.date("end_date"),
        search: q.text("search"),
        status: q
            .text("status")
            .filter(|s| matches!(s.as_str(), "unmatched" | "matched" | "dismissed")),
        after: crate::routes::list_cursor(&q),
    };
    let (limit, offset) = (
        q.limit(),
        if filter.after.is_some() {
            0
        } else {
            q.offset()
        },
    );
    let (rows, total, next) = state
        .app
        .list_bank_transactions(p.tenant_id, &filter, limit, offset)
        .await?;
    let body = BankTransactionList {
        transactions: rows.into_iter().map(transaction_dto).collect(),
        total: total.count,
        offset,
        limit,
        next_cursor: next.map(|c| c.encode()),
    };
    let mut res = HttpResponse::Ok();
    if total.estimated {
        res.insert_header(("X-Total-Count-Estimated", "true"));
    }
    Ok(res.json(body))
}

#[utoipa::path(get, path = "/v1/bank-transactions/unreconciled-count", tag = "Bank",
    responses((status = 200, body = UnreconciledCount, description = "transactions of all bank accounts neither matched nor dismissed"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = ["bank:read"])))]
pub async fn unreconciled_count(
    state: web::Data<AppState>,
    p: Principal,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_READ)?;
    let count = state.app.unreconciled_count(p.tenant_id).await?;
    Ok(HttpResponse::Ok().json(UnreconciledCount { count }))
}

#[derive(Serialize, ToSchema)]
pub struct UnreconciledCount {
    pub count: i64,
}

#[utoipa::path(get, path = "/v1/bank-transactions/{id}", tag = "Bank", params(("id" = Uuid, Path)),
    responses((status = 200, body = BankTransactionEnvelope, description = "with its raw source and its active match (null when none)"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = ["bank:read"])))]
pub async fn get_transaction(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_READ)?;
    let (mut t, m) = state
        .app
        .get_bank_transaction(
            p.tenant_id,
            crate::routes::path_id("bank transaction", &id)?,
        )
        .await?;
    let raw = t.raw.take().unwrap_or_default();
    Ok(HttpResponse::Ok().json(BankTransactionEnvelope {
        transaction: BankTransactionDetailDto {
            transaction: transaction_dto(t),
            raw,
            matched: m.map(match_dto),
        },
    }))
}

// ---------------------------------------------------------------------------------------
// Evidence

#[derive(Serialize, ToSchema)]
pub struct EvidenceDto {
    pub bank_transaction_id: Uuid,
    #[schema(example = "receipt")]
    pub evidence_type: String,
    pub title: Option<String>,
    pub note: Option<String>,
    pub document_id: Option<Uuid>,
    pub metadata: Option<Value>,
    pub updated_by: Value,
    pub updated_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct EvidenceEnvelope {
    /// Null when the transaction has none yet.
    pub evidence: Option<EvidenceDto>,
}

fn evidence_dto(e: Evidence) -> EvidenceDto {
    EvidenceDto {
        bank_transaction_id: e.bank_transaction_id,
        evidence_type: e.evidence_type,
        title: e.title,
        note: e.note,
        document_id: e.document_id,
        metadata: e.metadata,
        updated_by: e.updated_by,
        updated_at: e.updated_at,
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutEvidence {
    /// 1 to 50 characters, e.g. receipt, contract, note.
    pub evidence_type: String,
    /// At most 500 characters.
    pub title: Option<String>,
    /// At most 10,000 characters.
    pub note: Option<String>,
    /// A document of this tenant (POST /v1/documents).
    pub document_id: Option<Uuid>,
    /// A JSON object.
    pub metadata: Option<Value>,
}

#[utoipa::path(get, path = "/v1/bank-transactions/{id}/evidence", tag = "Bank", params(("id" = Uuid, Path)),
    responses((status = 200, body = EvidenceEnvelope),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = ["bank:read"])))]
pub async fn get_evidence(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_READ)?;
    let e = state
        .app
        .get_evidence(
            p.tenant_id,
            crate::routes::path_id("bank transaction", &id)?,
        )
        .await?;
    Ok(HttpResponse::Ok().json(EvidenceEnvelope {
        evidence: e.map(evidence_dto),
    }))
}

#[utoipa::path(put, path = "/v1/bank-transactions/{id}/evidence", tag = "Bank", params(("id" = Uuid, Path)), request_body = PutEvidence,
    responses((status = 200, body = EvidenceEnvelope, description = "the stored evidence (replaces the previous one)"),
              (status = 400, body = ErrorBody, description = "invalid_field, unknown_document"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = ["bank:write"])))]
pub async fn put_evidence(
    state: web::Data<AppState>,
    p: Principal,
    id: web::Path<String>,
    body: JsonBody<PutEvidence>,
) -> ApiResult<HttpResponse> {
    p.require(SCOPE_WRITE)?;
    let id = crate::routes::path_id("bank transaction", &id)?;
    let b = body.0;
    if b.metadata
        .as_ref()
        .is_some_and(|m| !m.is_object() && !m.is_null())
    {
        return Err(
            ApiError::bad_request("invalid_field", "metadata must be a JSON object")
                .with_field("metadata", "must be an object"),
        );
    }
    let metadata = b.metadata.filter(|m| !m.is_null());
    let evidence = app::bank::NewEvidence {
        evidence_type: &b.evidence_type,
        title: b.title.as_deref(),
        note: b.note.as_deref(),
        document_id: b.document_id,
        metadata: metadata.as_ref(),
    };
    let e = state
        .app
        .put_evidence(p.tenant_id, id, &evidence, &p.actor)
        .await?;
    Ok(HttpResponse::Ok().json(EvidenceEnvelope {
        evidence: Some(evidence_dto(e)),
    }))
}
