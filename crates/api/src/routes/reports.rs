//! `GET /v1/reports?type=…`, `GET /v1/reports/monthly-revenue-expenses` and
//! `GET /v1/reports/datev-export` (scope `reports:read`).
//!
//! A report answers seed 003's array of rows with its totals row last (`"row_type": "total"`)
//! and the header `X-Report-Balanced: true|false`; `?format=envelope` answers
//! `{rows, totals, balanced}`; `Accept: text/csv` the same rows as CSV (comma, UTF-8, a header
//! line of the field names, amounts with a decimal point). Amounts are decimal strings with
//! the base currency's minor units.

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{parse_date, Params, DATE_RULE};
use crate::routes::{money, ErrorBody};
use crate::AppState;
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use app::reports::{DatevFormat, OpenItemRow, Range, StatementLine};
use chrono::NaiveDate;
use reports::{MonthRow, Report, RowType, StatementRow, TrialBalanceRow, VatRow};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

pub const REPORT_TYPES: [&str; 6] = [
    "trial_balance",
    "profit_and_loss",
    "balance_sheet",
    "vat_return",
    "open_items",
    "account_statement",
];

/// A row of `type=trial_balance` (Summen- und Saldenliste). Balances debit-positive.
#[derive(Serialize, ToSchema)]
pub struct TrialBalanceRowDto {
    /// `account`; `personal` (a personal account, listed under its collective account and
    /// already included in it); `total`.
    #[schema(example = "account")]
    pub row_type: String,
    /// Null on the totals row.
    #[schema(example = "1400")]
    pub account: Option<String>,
    pub name: String,
    /// For a personal account: the collective account it rolls up into.
    pub collective_account: Option<String>,
    /// The balance carried into the fiscal year of endDate.
    #[schema(example = "0.00")]
    pub opening_balance: String,
    /// Debits and credits from startDate to endDate.
    pub period_debit: String,
    pub period_credit: String,
    /// Debits and credits from the first day of the fiscal year to endDate.
    pub ytd_debit: String,
    pub ytd_credit: String,
    /// The balance at endDate.
    pub closing_balance: String,
}

/// A row of `type=profit_and_loss` (HGB §275, profit positive) or `type=balance_sheet` (HGB
/// §266: assets debit-positive, liabilities and equity credit-positive).
#[derive(Serialize, ToSchema)]
pub struct StatementRowDto {
    /// `group` (a line of the statement), `subtotal` (Summe Aktiva / Summe Passiva), `total`
    /// (P&L: Jahresüberschuss/-fehlbetrag; balance sheet: Bilanzsumme).
    #[schema(example = "group")]
    pub row_type: String,
    /// `profit_and_loss`, `assets` or `liabilities_and_equity`.
    pub section: String,
    /// The chart's report group (`pl.1`, `bs.aktiva.B.IV`, …); empty on subtotals and totals.
    #[schema(example = "pl.1")]
    pub report_group: String,
    #[schema(example = "Umsatzerlöse")]
    pub label: String,
    /// P&L: credit-positive (revenue positive, expenses negative).
    #[schema(example = "1000.00")]
    pub amount: String,
}

/// A row of `type=vat_return` (UStVA).
#[derive(Serialize, ToSchema)]
pub struct VatRowDto {
    /// `group` (a Kennzahl) or `total` (Kennzahl 83, the payable; negative: a refund).
    pub row_type: String,
    #[schema(example = "81")]
    pub kennzahl: String,
    /// `base`, `tax`, `input_tax` or `payable`.
    pub kind: String,
    /// Exact, to the cent. Bases and tax owed positive for sales; input tax positive.
    #[schema(example = "1000.00")]
    pub amount: String,
    /// As the form takes it: bases in whole euros (cents dropped), tax to the cent.
    #[schema(example = "1000")]
    pub reported: String,
}

/// A row of `type=open_items`: the invoices and credit notes with an amount left at endDate.
#[derive(Serialize, ToSchema)]
pub struct OpenItemRowDto {
    /// `item` or `total`.
    pub row_type: String,
    /// `receivable` or `payable`; empty on the totals row.
    pub side: String,
    pub invoice_id: Option<Uuid>,
    pub invoice_number: Option<String>,
    /// `invoice` or `credit_note`.
    pub invoice_type: Option<String>,
    pub partner_name: Option<String>,
    /// The partner's personal account.
    pub account: Option<String>,
    pub invoice_date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub days_overdue: Option<i64>,
    /// `current`, `1_30`, `31_60`, `61_90`, `over_90`.
    pub aging_bucket: Option<String>,
    pub currency: Option<String>,
    pub total_gross: String,
    /// Signed: a credit note negative. Totals row: receivables less payables.
    pub remaining_amount: String,
    /// Totals row: what customers owe; 0 on items.
    pub receivables: String,
    /// Totals row: what is owed to vendors; 0 on items.
    pub payables: String,
}

/// A row of `type=account_statement&account=`.
#[derive(Serialize, ToSchema)]
pub struct StatementLineDto {
    /// `opening` (the balance before startDate), `entry` (a journal line), `total` (sums and the
    /// closing balance).
    pub row_type: String,
    pub booking_date: Option<NaiveDate>,
    pub intent_id: Option<Uuid>,
    pub seq: Option<i64>,
    /// The line's account (a personal account's lines show under its collective account).
    pub account: String,
    pub description: String,
    pub external_reference: Option<String>,
    pub tax_code: Option<String>,
    pub debit: String,
    pub credit: String,
    /// Debit-positive balance after the row.
    pub balance: String,
}

/// A row of `GET /v1/reports/monthly-revenue-expenses`.
#[derive(Serialize, ToSchema)]
pub struct MonthRowDto {
    /// `month` (periods 01–12), `adjustment` (period 13, listed when it has movements),
    /// `total` (the fiscal year).
    pub row_type: String,
    /// `YYYY-PP`; empty on the totals row.
    #[schema(example = "2026-03")]
    pub period: String,
    pub fiscal_year: i32,
    pub period_number: Option<u32>,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    /// Credit-positive: revenue less its reductions.
    #[schema(example = "1000.00")]
    pub revenue: String,
    /// Debit-positive.
    #[schema(example = "400.00")]
    pub expenses: String,
    /// revenue − expenses: profit positive.
    #[schema(example = "600.00")]
    pub result: String,
}

/// `?format=envelope`.
#[derive(Serialize, ToSchema)]
pub struct ReportEnvelope {
    /// The rows of the report type (see the row schemas), without the totals row.
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<serde_json::Value>,
    /// The totals row.
    #[schema(value_type = Object)]
    pub totals: serde_json::Value,
    /// Whether the report's self-checks hold (also `X-Report-Balanced`).
    pub balanced: bool,
}

fn kind_text<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn row_type(r: RowType) -> String {
    kind_text(&r)
}

fn trial_dto(r: TrialBalanceRow, c: &str) -> TrialBalanceRowDto {
    TrialBalanceRowDto {
        row_type: row_type(r.row_type),
        account: r.account,
        name: r.name,
        collective_account: r.collective_account,
        opening_balance: money(r.opening_balance, c),
        period_debit: money(r.period_debit, c),
        period_credit: money(r.period_credit, c),
        ytd_debit: money(r.ytd_debit, c),
        ytd_credit: money(r.ytd_credit, c),
        closing_balance: money(r.closing_balance, c),
    }
}

fn statement_dto(r: StatementRow, c: &str) -> StatementRowDto {
    StatementRowDto {
        row_type: row_type(r.row_type),
        section: kind_text(&r.section),
        report_group: r.report_group,
        label: r.label,
        amount: money(r.amount, c),
    }
}

fn vat_dto(r: VatRow, c: &str) -> VatRowDto {
    VatRowDto {
        row_type: row_type(r.row_type),
        kennzahl: r.kennzahl,
        kind: kind_text(&r.kind),
        amount: money(r.amount, c),
        reported: r.reported.normalize().to_string(),
    }
}

fn open_item_dto(r: OpenItemRow, c: &str) -> OpenItemRowDto {
    let cur = r.currency.clone().unwrap_or_else(|| c.to_string());
    OpenItemRowDto {
        row_type: row_type(r.row_type),
        side: r.side,
        invoice_id: r.invoice_id,
        invoice_number: r.invoice_number,
        invoice_type: r.invoice_type,
        partner_name: r.partner_name,
        account: r.account,
        invoice_date: r.invoice_date,
        due_date: r.due_date,
        days_overdue: r.days_overdue,
        aging_bucket: r.aging_bucket,
        currency: r.currency,
        total_gross: money(r.total_gross, &cur),
        remaining_amount: money(r.remaining_amount, &cur),
        receivables: money(r.receivables, c),
        payables: money(r.payables, c),
    }
}

fn statement_line_dto(r: StatementLine, c: &str) -> StatementLineDto {
    StatementLineDto {
        row_type: row_type(r.row_type),
        booking_date: r.booking_date,
        intent_id: r.intent_id,
        seq: r.seq,
        account: r.account,
        description: r.description,
        external_reference: r.external_reference,
        tax_code: r.tax_code,
        debit: money(r.debit, c),
        credit: money(r.credit, c),
        balance: money(r.balance, c),
    }
}

fn month_dto(r: MonthRow, row_type: &str, c: &str) -> MonthRowDto {
    MonthRowDto {
        row_type: row_type.into(),
        period: r.period,
        fiscal_year: r.fiscal_year,
        period_number: Some(r.period_number),
        start_date: r.start_date,
        end_date: r.end_date,
        revenue: money(r.revenue, c),
        expenses: money(r.expenses, c),
        result: money(r.result, c),
    }
}

/// A date parameter: absent is None, malformed is 400 `invalid_date`.
fn date_param(q: &Params, name: &str) -> Result<Option<NaiveDate>, ApiError> {
    match q.text(name) {
        None => Ok(None),
        Some(t) => parse_date(&t).map(Some).ok_or_else(|| {
            ApiError::bad_request("invalid_date", format!("{name} {DATE_RULE}"))
                .with_field(name.to_string(), DATE_RULE)
        }),
    }
}

/// startDate and endDate: endDate defaults to today, startDate to the first day of endDate's
/// fiscal year.
async fn range(state: &AppState, p: &Principal, q: &Params) -> ApiResult<Range> {
    let end = match date_param(q, "endDate")? {
        Some(d) => d,
        None => state.app.today(),
    };
    let start = match date_param(q, "startDate")? {
        Some(d) => d,
        None => {
            let calendar = state.app.tenant_info(p.tenant_id).await?.calendar;
            calendar.fiscal_year_start(calendar.fiscal_year_of(end))
        }
    };
    Ok(Range::new(start, end)?)
}

fn wants_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().starts_with("text/csv")))
}

/// The answer of a report: rows with the totals row last, as JSON or CSV, or the envelope.
fn answer<D: Serialize>(
    req: &HttpRequest,
    q: &Params,
    name: &str,
    report: Report<D>,
) -> ApiResult<HttpResponse> {
    let balanced = if report.balanced { "true" } else { "false" };
    let mut res = HttpResponse::Ok();
    res.insert_header(("X-Report-Balanced", balanced));
    if q.text("format").as_deref() == Some("envelope") {
        let value = |v: &D| serde_json::to_value(v).unwrap_or(serde_json::Value::Null);
        return Ok(res.json(ReportEnvelope {
            rows: report.rows.iter().map(value).collect(),
            totals: value(&report.totals),
            balanced: report.balanced,
        }));
    }
    let mut rows = report.rows;
    rows.push(report.totals);
    if wants_csv(req) {
        let mut csv = csv::Writer::from_writer(Vec::new());
        for r in &rows {
            csv.serialize(r).map_err(csv_error)?;
        }
        let body = csv.into_inner().map_err(|e| csv_error(e.into_error()))?;
        return Ok(res
            .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ))
            .body(body));
    }
    Ok(res.json(rows))
}

fn csv_error(e: impl std::fmt::Debug) -> ApiError {
    tracing::error!(error = ?e, "writing a report as CSV");
    ApiError::internal()
}

#[utoipa::path(get, path = "/v1/reports", tag = "Reports",
    params(
        ("type" = String, Query, description = "trial_balance | profit_and_loss | balance_sheet | vat_return | open_items | account_statement"),
        ("startDate" = Option<NaiveDate>, Query, description = "default: the first day of endDate's fiscal year"),
        ("endDate" = Option<NaiveDate>, Query, description = "default: today"),
        ("account" = Option<String>, Query, description = "account_statement: the account number"),
        ("format" = Option<String>, Query, description = "envelope: {rows, totals, balanced} instead of the array"),
    ),
    responses(
        (status = 200, description = "The rows, totals row last (`row_type: total`); header X-Report-Balanced. \
            Row fields by type: TrialBalanceRowDto, StatementRowDto (profit_and_loss, balance_sheet), VatRowDto, \
            OpenItemRowDto, StatementLineDto. `Accept: text/csv` gives the same rows as CSV.",
            body = [TrialBalanceRowDto],
            headers(("X-Report-Balanced" = bool, description = "whether the report's self-checks hold"))),
        (status = 400, body = ErrorBody, description = "invalid_report_type, invalid_date, invalid_date_range, account_required"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "account_statement: unknown account")),
    security(("bearer" = ["reports:read"])))]
pub async fn report(
    state: web::Data<AppState>,
    p: Principal,
    q: Params,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    p.require("reports:read")?;
    let kind = q.text("type").unwrap_or_default();
    if !REPORT_TYPES.contains(&kind.as_str()) {
        return Err(ApiError::bad_request(
            "invalid_report_type",
            format!("type must be one of {}", REPORT_TYPES.join(", ")),
        )
        .with_field("type", "unknown report type"));
    }
    let range = range(&state, &p, &q).await?;
    let c = state.app.tenant(p.tenant_id).await?.base_currency.clone();
    let app = &state.app;
    let t = p.tenant_id;
    match kind.as_str() {
        "trial_balance" => {
            let r = app.trial_balance(t, range).await?;
            answer(&req, &q, &kind, map(r, |r| trial_dto(r, &c)))
        }
        "profit_and_loss" => {
            let r = app.profit_and_loss(t, range).await?;
            answer(&req, &q, &kind, map(r, |r| statement_dto(r, &c)))
        }
        "balance_sheet" => {
            let r = app.balance_sheet(t, range).await?;
            answer(&req, &q, &kind, map(r, |r| statement_dto(r, &c)))
        }
        "vat_return" => {
            let r = app.vat_return(t, range).await?;
            answer(&req, &q, &kind, map(r, |r| vat_dto(r, &c)))
        }
        "open_items" => {
            let r = app.open_items_report(t, range).await?;
            answer(&req, &q, &kind, map(r, |r| open_item_dto(r, &c)))
        }
        _ => {
            let account = q.text("account").ok_or_else(|| {
                ApiError::bad_request("account_required", "account_statement needs account=")
                    .with_field("account", "required for account_statement")
            })?;
            let r = app.account_statement(t, &account, range).await?;
            answer(&req, &q, &kind, map(r, |r| statement_line_dto(r, &c)))
        }
    }
}

fn map<R, D>(r: Report<R>, f: impl Fn(R) -> D) -> Report<D> {
    Report {
        rows: r.rows.into_iter().map(&f).collect(),
        totals: f(r.totals),
        balanced: r.balanced,
    }
}

#[utoipa::path(get, path = "/v1/reports/monthly-revenue-expenses", tag = "Reports",
    params(("fiscal_year" = Option<i32>, Query, description = "default: the fiscal year of today")),
    responses(
        (status = 200, description = "The 12 periods in order, a period-13 row when it has movements, the year's totals row last",
            body = [MonthRowDto]),
        (status = 400, body = ErrorBody, description = "invalid_fiscal_year"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = ["reports:read"])))]
pub async fn monthly(
    state: web::Data<AppState>,
    p: Principal,
    q: Params,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    p.require("reports:read")?;
    let fiscal_year = match q.text("fiscal_year") {
        None => None,
        Some(t) => Some(t.parse::<i32>().map_err(|_| {
            ApiError::bad_request("invalid_fiscal_year", "fiscal_year must be a year")
                .with_field("fiscal_year", "must be a year 1900 to 2199")
        })?),
    };
    let c = state.app.tenant(p.tenant_id).await?.base_currency.clone();
    let m = state
        .app
        .monthly_revenue_expenses(p.tenant_id, fiscal_year)
        .await?;
    let (mut revenue, mut expenses) = (rust_decimal::Decimal::ZERO, rust_decimal::Decimal::ZERO);
    let mut rows: Vec<MonthRowDto> = Vec::with_capacity(14);
    let first = m.months.first().map(|r| r.start_date);
    for r in m.months {
        revenue += r.revenue;
        expenses += r.expenses;
        rows.push(month_dto(r, "month", &c));
    }
    let adj = m.adjustments;
    if !adj.revenue.is_zero() || !adj.expenses.is_zero() {
        revenue += adj.revenue;
        expenses += adj.expenses;
    }
    let totals = MonthRowDto {
        row_type: "total".into(),
        period: String::new(),
        fiscal_year: m.fiscal_year,
        period_number: None,
        start_date: first.unwrap_or(adj.start_date),
        end_date: adj.end_date,
        revenue: money(revenue, &c),
        expenses: money(expenses, &c),
        result: money(revenue - expenses, &c),
    };
    if !adj.revenue.is_zero() || !adj.expenses.is_zero() {
        rows.push(month_dto(adj, "adjustment", &c));
    }
    answer(
        &req,
        &q,
        "monthly_revenue_expenses",
        Report {
            rows,
            totals,
            balanced: true,
        },
    )
}

#[utoipa::path(get, path = "/v1/reports/datev-export", tag = "Reports",
    params(
        ("startDate" = Option<NaiveDate>, Query, description = "default: the first day of endDate's fiscal year"),
        ("endDate" = Option<NaiveDate>, Query, description = "default: today; in the same fiscal year as startDate"),
        ("format" = Option<String>, Query, description = "csv (default): the EXTF Buchungsstapel; partners: the EXTF \
            Debitoren/Kreditoren file; zip: both in one ZIP"),
    ),
    responses(
        (status = 200, description = "The file as a download (Content-Disposition: attachment): DATEV EXTF, header 700, \
            Buchungsstapel category 21 format version 13 with 125 columns (Debitoren/Kreditoren: category 16), \
            Windows-1252, CRLF, `;`, decimal comma. Header X-Datev-Rows: the Buchungsstapel's rows.",
            content_type = "text/csv", headers(("X-Datev-Rows" = u64))),
        (status = 400, body = ErrorBody, description = "invalid_date, invalid_date_range, range_crosses_fiscal_year, \
            invalid_datev_settings (set the DATEV numbers with PATCH /v1/settings), amount_too_large (names the booking), \
            conflicting_tax_keys, invalid_export_format"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = ["reports:read"])))]
pub async fn datev_export(
    state: web::Data<AppState>,
    p: Principal,
    q: Params,
) -> ApiResult<HttpResponse> {
    p.require("reports:read")?;
    let format = match q.text("format").as_deref() {
        None | Some("csv") => DatevFormat::Bookings,
        Some("partners") => DatevFormat::Partners,
        Some("zip") => DatevFormat::Zip,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_export_format",
                "format must be csv, partners or zip",
            )
            .with_field("format", "csv, partners or zip"))
        }
    };
    let range = range(&state, &p, &q).await?;
    let export = state.app.datev_export(p.tenant_id, range, format).await?;
    let body = actix_web::body::SizedStream::new(export.len, file_chunks(export.file));
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, export.content_type))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", export.file_name),
        ))
        .insert_header(("X-Datev-Rows", export.rows.to_string()))
        .body(body))
}

/// The file in chunks of 64 KiB, each read on the blocking pool.
fn file_chunks(
    file: std::fs::File,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, actix_web::Error>> {
    futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let read = web::block(move || {
            use std::io::Read;
            let mut buf = vec![0u8; 1 << 16];
            let n = file.read(&mut buf)?;
            buf.truncate(n);
            Ok::<_, std::io::Error>((file, buf))
        })
        .await;
        match read {
            Ok(Ok((_, buf))) if buf.is_empty() => None,
            Ok(Ok((file, buf))) => Some((Ok(bytes::Bytes::from(buf)), Some(file))),
            Ok(Err(e)) => Some((Err(actix_web::error::ErrorInternalServerError(e)), None)),
            Err(e) => Some((Err(actix_web::error::ErrorInternalServerError(e)), None)),
        }
    })
}
