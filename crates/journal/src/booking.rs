//! Booking intents and the rules that decide them.
//!
//! `decide_booking`, `decide_opening_balances` and `decide_reversal` take everything they need
//! as arguments and return either the lines to append or the first rule the command breaks.

use crate::calendar::{first_open_after, FiscalCalendar, PeriodId};
use crate::event::{Actor, BookedIntent, Generated, JournalLine, Side};
use crate::money::Currency;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

pub const MAX_LINES: usize = 500;
pub const MAX_DESCRIPTION: usize = 500;
pub const MAX_EXTERNAL_REFERENCE: usize = 200;
pub const MAX_METADATA_KEYS: usize = 50;
pub const MAX_METADATA_KEY: usize = 40;
pub const MAX_METADATA_VALUE: usize = 500;

/// No single line may exceed a trillion units: larger figures are typing errors, and the
/// limit keeps every sum far inside `Decimal`'s range.
pub fn max_amount() -> Decimal {
    Decimal::from(1_000_000_000_000i64)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntentKind {
    Booking,
    OpeningBalance,
    Reversal,
}

impl IntentKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            IntentKind::Booking => "booking",
            IntentKind::OpeningBalance => "opening_balance",
            IntentKind::Reversal => "reversal",
        }
    }

    pub fn parse(s: &str) -> Option<IntentKind> {
        match s {
            "booking" => Some(IntentKind::Booking),
            "opening_balance" => Some(IntentKind::OpeningBalance),
            "reversal" => Some(IntentKind::Reversal),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostingMode {
    /// Debit and credit exchanged.
    Swap,
    /// Same sides, negative amounts (DATEV Generalumkehr).
    Negative,
}

impl PostingMode {
    pub fn as_str(&self) -> &'static str {
        match self {
            PostingMode::Swap => "swap",
            PostingMode::Negative => "negative",
        }
    }

    pub fn parse(s: &str) -> Option<PostingMode> {
        match s {
            "swap" => Some(PostingMode::Swap),
            "negative" => Some(PostingMode::Negative),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct BookingLineInput {
    pub account: String,
    pub debit: Option<Decimal>,
    pub credit: Option<Decimal>,
    pub tax_code: Option<String>,
    pub description: Option<String>,
    pub cost_center: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fx {
    pub currency: String,
    /// Units of the foreign currency per 1 unit of the base currency.
    pub rate: Decimal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BookingCommand {
    pub booking_date: NaiveDate,
    pub description: String,
    pub lines: Vec<BookingLineInput>,
    pub skip_duplicate_check: bool,
    pub adjustment_period: bool,
    pub fx: Option<Fx>,
    pub external_reference: Option<String>,
    pub custom_metadata: Option<Map<String, Value>>,
    pub document_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OpeningBalanceCommand {
    pub booking_date: NaiveDate,
    pub description: Option<String>,
    pub balances: Vec<BookingLineInput>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReversalCommand {
    pub intent_id: Uuid,
    pub reason: String,
    pub posting_mode: PostingMode,
}

/// What a decision needs to know about an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRef {
    pub number: String,
    pub is_active: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaxCode {
    pub code: String,
    pub rate: Decimal,
    pub vat_account: Option<String>,
    pub self_assess_account: Option<String>,
    pub is_active: bool,
}

/// Everything `decide_*` needs, loaded by the caller beforehand.
#[derive(Debug, Clone, Copy)]
pub struct BookingContext<'a> {
    pub base_currency: Currency,
    pub calendar: FiscalCalendar,
    /// At least the accounts the command names (lines, tax accounts, role accounts).
    pub accounts: &'a HashMap<String, AccountRef>,
    pub tax_codes: &'a HashMap<String, TaxCode>,
    /// Periods that are soft-locked, lock-requested or locked.
    pub closed_periods: &'a HashSet<PeriodId>,
    /// External references already booked (at least those the command names).
    pub booked_external_references: &'a HashSet<String>,
    /// Documents of the tenant (at least the one the command names).
    pub documents: &'a HashSet<Uuid>,
    pub fx_rounding_account: Option<&'a str>,
    pub opening_balance_account: Option<&'a str>,
}

/// Who and when, stamped on every event of the intent.
#[derive(Debug, Clone)]
pub struct Stamp {
    pub intent_id: Uuid,
    pub actor: Actor,
    pub recorded_at: DateTime<Utc>,
}

/// A broken booking rule. `code()` is what clients branch on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BookingError {
    #[error("A booking needs at least one line")]
    NoLines,
    #[error("Opening balances need at least one balance")]
    NoBalances,
    #[error("A booking may have at most {MAX_LINES} lines")]
    TooManyLines,
    #[error("{field}: exactly one of debit or credit must be given")]
    DebitXorCredit { field: String },
    #[error("{field}: amount must be > 0")]
    NonPositiveAmount { field: String },
    #[error("{field}: {currency} amounts have at most {decimals} decimals")]
    AmountPrecision {
        field: String,
        currency: String,
        decimals: u32,
    },
    #[error("{field}: amount exceeds the limit of 1000000000000 per line")]
    AmountTooLarge { field: String },
    #[error("description is required")]
    DescriptionRequired,
    #[error("{field} is longer than {max} characters")]
    TooLong { field: String, max: usize },
    #[error("{field}: account {account} {reason}")]
    UnknownAccount {
        field: String,
        account: String,
        reason: &'static str,
    },
    #[error("{field}: tax code {code} {reason}")]
    UnknownTaxCode {
        field: String,
        code: String,
        reason: &'static str,
    },
    #[error("{field}: tax code {code} points to account {account}, which {reason}")]
    TaxCodeMisconfigured {
        field: String,
        code: String,
        account: String,
        reason: &'static str,
    },
    #[error("Booking is not balanced: debit {debit} != credit {credit}")]
    Unbalanced { debit: String, credit: String },
    #[error("unknown currency {0}")]
    UnknownCurrency(String),
    #[error("fx.rate must be > 0")]
    InvalidFxRate,
    #[error("{field}: the amount is 0.00 in the base currency at this fx.rate")]
    FxAmountRoundsToZero { field: String },
    #[error("fx.currency {0} is the tenant's base currency; omit fx")]
    FxIsBaseCurrency(String),
    #[error("the chart has no account for FX rounding differences")]
    NoFxRoundingAccount,
    #[error("custom_metadata: {0}")]
    InvalidMetadata(String),
    #[error("document {0} does not exist")]
    UnknownDocument(Uuid),
    #[error("Period {0} is closed for bookings")]
    PeriodLocked(PeriodId),
    #[error("external_reference {0:?} is already booked; send skip_duplicate_check: true to book it again")]
    Duplicate(String),
    #[error("the chart has no opening-balance account")]
    NoOpeningBalanceAccount,
    #[error("intent {0} is already reversed")]
    AlreadyReversed(Uuid),
    #[error("intent {0} is itself a reversal; book the correction as a new intent")]
    ReversalOfReversal(Uuid),
    #[error("reason is required")]
    ReasonRequired,
    #[error("no open period on or after the original booking date to date the reversal in")]
    NoOpenPeriod,
}

impl BookingError {
    pub fn code(&self) -> &'static str {
        match self {
            BookingError::NoLines | BookingError::NoBalances => "no_lines",
            BookingError::TooManyLines => "too_many_lines",
            BookingError::DebitXorCredit { .. } => "debit_xor_credit",
            BookingError::NonPositiveAmount { .. } => "non_positive_amount",
            BookingError::AmountPrecision { .. } => "amount_precision",
            BookingError::AmountTooLarge { .. } => "amount_too_large",
            BookingError::DescriptionRequired => "description_required",
            BookingError::TooLong { .. } => "too_long",
            BookingError::UnknownAccount { .. } => "unknown_account",
            BookingError::UnknownTaxCode { .. } => "unknown_tax_code",
            BookingError::TaxCodeMisconfigured { .. } => "tax_code_misconfigured",
            BookingError::Unbalanced { .. } => "unbalanced",
            BookingError::UnknownCurrency(_) => "unknown_currency",
            BookingError::InvalidFxRate | BookingError::FxAmountRoundsToZero { .. } => {
                "invalid_fx_rate"
            }
            BookingError::FxIsBaseCurrency(_) => "fx_is_base_currency",
            BookingError::NoFxRoundingAccount => "no_fx_rounding_account",
            BookingError::InvalidMetadata(_) => "invalid_metadata",
            BookingError::UnknownDocument(_) => "unknown_document",
            BookingError::PeriodLocked(_) => "period_locked",
            BookingError::Duplicate(_) => "duplicate",
            BookingError::NoOpeningBalanceAccount => "no_opening_balance_account",
            BookingError::AlreadyReversed(_) => "already_reversed",
            BookingError::ReversalOfReversal(_) => "reversal_of_reversal",
            BookingError::ReasonRequired => "reason_required",
            BookingError::NoOpenPeriod => "no_open_period",
        }
    }

    /// True for conflicts with the ledger's current state (HTTP 409), false for invalid input.
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            BookingError::PeriodLocked(_)
                | BookingError::Duplicate(_)
                | BookingError::AlreadyReversed(_)
                | BookingError::ReversalOfReversal(_)
                | BookingError::NoOpenPeriod
        )
    }

    /// The body field the error is about, for `details.field_errors`.
    pub fn field(&self) -> Option<String> {
        match self {
            BookingError::DebitXorCredit { field }
            | BookingError::NonPositiveAmount { field }
            | BookingError::AmountPrecision { field, .. }
            | BookingError::AmountTooLarge { field }
            | BookingError::FxAmountRoundsToZero { field }
            | BookingError::TooLong { field, .. }
            | BookingError::UnknownAccount { field, .. }
            | BookingError::UnknownTaxCode { field, .. }
            | BookingError::TaxCodeMisconfigured { field, .. } => Some(field.clone()),
            BookingError::NoLines | BookingError::TooManyLines => Some("lines".into()),
            BookingError::NoBalances => Some("balances".into()),
            BookingError::DescriptionRequired => Some("description".into()),
            BookingError::InvalidMetadata(_) => Some("custom_metadata".into()),
            BookingError::UnknownDocument(_) => Some("document_id".into()),
            BookingError::UnknownCurrency(_) | BookingError::FxIsBaseCurrency(_) => {
                Some("fx.currency".into())
            }
            BookingError::InvalidFxRate => Some("fx.rate".into()),
            BookingError::Duplicate(_) => Some("external_reference".into()),
            BookingError::ReasonRequired => Some("reason".into()),
            _ => None,
        }
    }
}

impl crate::rule::Rule for BookingError {
    fn code(&self) -> &'static str {
        BookingError::code(self)
    }
    fn kind(&self) -> crate::rule::RuleKind {
        if self.is_conflict() {
            crate::rule::RuleKind::Conflict
        } else {
            crate::rule::RuleKind::Invalid
        }
    }
    fn field(&self) -> Option<String> {
        BookingError::field(self)
    }
}

impl BookingCommand {
    /// Account numbers the command names directly (without tax and role accounts).
    pub fn line_accounts(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().map(|l| l.account.as_str())
    }

    pub fn tax_codes(&self) -> impl Iterator<Item = &str> {
        self.lines.iter().filter_map(|l| l.tax_code.as_deref())
    }
}

fn check_len(field: &str, value: &str, max: usize) -> Result<(), BookingError> {
    if value.chars().count() > max {
        Err(BookingError::TooLong {
            field: field.to_string(),
            max,
        })
    } else {
        Ok(())
    }
}

fn check_metadata(meta: &Map<String, Value>) -> Result<(), BookingError> {
    if meta.len() > MAX_METADATA_KEYS {
        return Err(BookingError::InvalidMetadata(format!(
            "at most {MAX_METADATA_KEYS} keys"
        )));
    }
    for (k, v) in meta {
        if k.is_empty() || k.chars().count() > MAX_METADATA_KEY {
            return Err(BookingError::InvalidMetadata(format!(
                "key {k:?} must be 1 to {MAX_METADATA_KEY} characters"
            )));
        }
        match v {
            Value::String(s) if s.chars().count() <= MAX_METADATA_VALUE => {}
            Value::String(_) => {
                return Err(BookingError::InvalidMetadata(format!(
                    "value of {k:?} is longer than {MAX_METADATA_VALUE} characters"
                )))
            }
            _ => {
                return Err(BookingError::InvalidMetadata(format!(
                    "value of {k:?} must be a string"
                )))
            }
        }
    }
    Ok(())
}

/// Side and amount of an input line, checked against the currency's precision.
fn line_amount(
    field: &str,
    line: &BookingLineInput,
    currency: Currency,
) -> Result<(Side, Decimal), BookingError> {
    let (side, amount) = match (line.debit, line.credit) {
        (Some(d), None) => (Side::Debit, d),
        (None, Some(c)) => (Side::Credit, c),
        _ => {
            return Err(BookingError::DebitXorCredit {
                field: field.to_string(),
            })
        }
    };
    let amount_field = format!("{field}.{}", side.as_str());
    if amount <= Decimal::ZERO {
        return Err(BookingError::NonPositiveAmount {
            field: amount_field,
        });
    }
    if amount > max_amount() {
        return Err(BookingError::AmountTooLarge {
            field: amount_field,
        });
    }
    if !currency.fits(amount) {
        return Err(BookingError::AmountPrecision {
            field: amount_field,
            currency: currency.code().to_string(),
            decimals: currency.minor_units(),
        });
    }
    Ok((side, currency.round(amount)))
}

fn require_account(
    ctx: &BookingContext<'_>,
    field: &str,
    account: &str,
) -> Result<(), BookingError> {
    match ctx.accounts.get(account) {
        Some(a) if a.is_active => Ok(()),
        Some(_) => Err(BookingError::UnknownAccount {
            field: field.to_string(),
            account: account.to_string(),
            reason: "is inactive",
        }),
        None => Err(BookingError::UnknownAccount {
            field: field.to_string(),
            account: account.to_string(),
            reason: "does not exist",
        }),
    }
}

fn require_tax_account(
    ctx: &BookingContext<'_>,
    field: &str,
    code: &str,
    account: &str,
) -> Result<(), BookingError> {
    match ctx.accounts.get(account) {
        Some(a) if a.is_active => Ok(()),
        found => Err(BookingError::TaxCodeMisconfigured {
            field: field.to_string(),
            code: code.to_string(),
            account: account.to_string(),
            reason: if found.is_some() {
                "is inactive"
            } else {
                "does not exist"
            },
        }),
    }
}

fn ensure_open(ctx: &BookingContext<'_>, period: PeriodId) -> Result<(), BookingError> {
    if ctx.closed_periods.contains(&period) {
        Err(BookingError::PeriodLocked(period))
    } else {
        Ok(())
    }
}

fn ensure_balanced(
    lines: &[JournalLine],
    currency: Currency,
    base: bool,
) -> Result<(), BookingError> {
    let (mut debit, mut credit) = (Decimal::ZERO, Decimal::ZERO);
    for l in lines {
        let amount = if base { l.base_amount } else { l.amount };
        match l.side {
            Side::Debit => debit += amount,
            Side::Credit => credit += amount,
        }
    }
    if debit != credit {
        return Err(BookingError::Unbalanced {
            debit: currency.format(debit),
            credit: currency.format(credit),
        });
    }
    Ok(())
}

/// `amount / rate` rounded to the base currency, within the per-line limit.
fn fx_base_amount(
    amount: Decimal,
    rate: Decimal,
    base: Currency,
    field: &str,
) -> Result<Decimal, BookingError> {
    amount
        .checked_div(rate)
        .map(|b| base.round(b))
        .filter(|b| b.abs() <= max_amount())
        .ok_or_else(|| BookingError::AmountTooLarge {
            field: field.to_string(),
        })
}

/// Decides a `POST /v1/bookings`.
pub fn decide_booking(
    ctx: &BookingContext<'_>,
    cmd: &BookingCommand,
    stamp: Stamp,
) -> Result<BookedIntent, BookingError> {
    if cmd.lines.is_empty() {
        return Err(BookingError::NoLines);
    }
    if cmd.lines.len() > MAX_LINES {
        return Err(BookingError::TooManyLines);
    }
    if cmd.description.trim().is_empty() {
        return Err(BookingError::DescriptionRequired);
    }
    check_len("description", &cmd.description, MAX_DESCRIPTION)?;
    if let Some(r) = &cmd.external_reference {
        check_len("external_reference", r, MAX_EXTERNAL_REFERENCE)?;
    }
    if let Some(meta) = &cmd.custom_metadata {
        check_metadata(meta)?;
    }

    let base = ctx.base_currency;
    let (currency, rate) = match &cmd.fx {
        None => (base, None),
        Some(fx) => {
            let c = Currency::from_code(&fx.currency)
                .map_err(|_| BookingError::UnknownCurrency(fx.currency.clone()))?;
            if c == base {
                return Err(BookingError::FxIsBaseCurrency(fx.currency.clone()));
            }
            if fx.rate <= Decimal::ZERO {
                return Err(BookingError::InvalidFxRate);
            }
            (c, Some(fx.rate))
        }
    };

    // Lines as given, then the generated tax lines, all in the booking's currency.
    let mut lines = Vec::with_capacity(cmd.lines.len() + 2);
    let mut tax_lines = Vec::new();
    // The body field each tax line comes from, for errors about its base amount.
    let mut tax_fields = Vec::new();
    for (i, input) in cmd.lines.iter().enumerate() {
        let field = format!("lines[{i}]");
        let (side, amount) = line_amount(&field, input, currency)?;
        require_account(ctx, &format!("{field}.account"), &input.account)?;
        if let Some(d) = &input.description {
            check_len(&format!("{field}.description"), d, MAX_DESCRIPTION)?;
        }
        if let Some(c) = &input.cost_center {
            check_len(&format!("{field}.cost_center"), c, 40)?;
        }
        let mut line = JournalLine {
            account: input.account.clone(),
            side,
            amount,
            currency,
            base_amount: amount,
            tax_code: None,
            tax_rate: None,
            generated: None,
            description: input.description.clone(),
            cost_center: input.cost_center.clone(),
        };
        if let Some(code) = &input.tax_code {
            let tax_field = format!("{field}.tax_code");
            let tc = match ctx.tax_codes.get(code) {
                Some(tc) if tc.is_active => tc,
                Some(_) => {
                    return Err(BookingError::UnknownTaxCode {
                        field: tax_field,
                        code: code.clone(),
                        reason: "is inactive",
                    })
                }
                None => {
                    return Err(BookingError::UnknownTaxCode {
                        field: tax_field,
                        code: code.clone(),
                        reason: "does not exist",
                    })
                }
            };
            line.tax_code = Some(tc.code.clone());
            line.tax_rate = Some(tc.rate);
            let tax = amount
                .checked_mul(tc.rate)
                .and_then(|t| t.checked_div(Decimal::ONE_HUNDRED))
                .map(|t| currency.round(t))
                .filter(|t| t.abs() <= max_amount())
                .ok_or_else(|| BookingError::AmountTooLarge {
                    field: tax_field.clone(),
                })?;
            if !tax.is_zero() {
                if let Some(vat) = &tc.vat_account {
                    require_tax_account(ctx, &tax_field, code, vat)?;
                    let tax_line = JournalLine {
                        account: vat.clone(),
                        side,
                        amount: tax,
                        currency,
                        base_amount: tax,
                        tax_code: Some(tc.code.clone()),
                        tax_rate: Some(tc.rate),
                        generated: Some(Generated::Tax),
                        description: None,
                        cost_center: input.cost_center.clone(),
                    };
                    if let Some(own) = &tc.self_assess_account {
                        require_tax_account(ctx, &tax_field, code, own)?;
                        tax_lines.push(tax_line);
                        tax_fields.push(tax_field.clone());
                        tax_lines.push(JournalLine {
                            account: own.clone(),
                            side: side.opposite(),
                            amount: tax,
                            currency,
                            base_amount: tax,
                            tax_code: Some(tc.code.clone()),
                            tax_rate: Some(tc.rate),
                            generated: Some(Generated::SelfAssessment),
                            description: None,
                            cost_center: input.cost_center.clone(),
                        });
                        tax_fields.push(tax_field.clone());
                    } else {
                        tax_lines.push(tax_line);
                        tax_fields.push(tax_field.clone());
                    }
                } else {
                    return Err(BookingError::TaxCodeMisconfigured {
                        field: tax_field,
                        code: code.clone(),
                        account: String::from("(none)"),
                        reason: "is required for a rate above 0",
                    });
                }
            }
        }
        lines.push(line);
    }
    lines.extend(tax_lines);
    ensure_balanced(&lines, currency, false)?;

    if let Some(rate) = rate {
        let client_lines = cmd.lines.len();
        for (i, l) in lines.iter_mut().enumerate() {
            let field = if i < client_lines {
                format!("lines[{i}].{}", l.side.as_str())
            } else {
                tax_fields
                    .get(i - client_lines)
                    .cloned()
                    .unwrap_or_else(|| "lines".into())
            };
            l.base_amount = fx_base_amount(l.amount, rate, base, &field)?;
            // A line the client sent must not vanish in the base currency; a generated tax line
            // of a few foreign minor units may.
            if i < client_lines && l.base_amount.is_zero() {
                return Err(BookingError::FxAmountRoundsToZero { field });
            }
        }
        let diff: Decimal = lines.iter().map(JournalLine::signed_base).sum();
        if !diff.is_zero() {
            let account = ctx
                .fx_rounding_account
                .ok_or(BookingError::NoFxRoundingAccount)?;
            require_account(ctx, "fx", account)?;
            let side = if diff > Decimal::ZERO {
                Side::Credit
            } else {
                Side::Debit
            };
            lines.push(JournalLine {
                account: account.to_string(),
                side,
                amount: diff.abs(),
                currency: base,
                base_amount: diff.abs(),
                tax_code: None,
                tax_rate: None,
                generated: Some(Generated::FxRounding),
                description: None,
                cost_center: None,
            });
        }
        ensure_balanced(&lines, base, true)?;
    }

    if let Some(doc) = cmd.document_id {
        if !ctx.documents.contains(&doc) {
            return Err(BookingError::UnknownDocument(doc));
        }
    }
    let period = if cmd.adjustment_period {
        ctx.calendar.adjustment_period_of(cmd.booking_date)
    } else {
        ctx.calendar.period_of(cmd.booking_date)
    };
    ensure_open(ctx, period)?;
    if let Some(r) = &cmd.external_reference {
        if !cmd.skip_duplicate_check && ctx.booked_external_references.contains(r) {
            return Err(BookingError::Duplicate(r.clone()));
        }
    }

    Ok(BookedIntent {
        intent_id: stamp.intent_id,
        kind: IntentKind::Booking,
        booking_date: cmd.booking_date,
        period,
        description: cmd.description.trim().to_string(),
        external_reference: cmd.external_reference.clone(),
        document_id: cmd.document_id,
        custom_metadata: cmd.custom_metadata.clone(),
        base_currency: base,
        fx_rate: rate,
        reversal_of: None,
        posting_mode: None,
        reason: None,
        actor: stamp.actor,
        recorded_at: stamp.recorded_at,
        lines,
    })
}

/// Decides `POST /v1/bookings/opening-balances`: each balance against the opening-balance
/// account (Saldenvorträge), as one intent.
pub fn decide_opening_balances(
    ctx: &BookingContext<'_>,
    cmd: &OpeningBalanceCommand,
    stamp: Stamp,
) -> Result<BookedIntent, BookingError> {
    if cmd.balances.is_empty() {
        return Err(BookingError::NoBalances);
    }
    if cmd.balances.len() * 2 > MAX_LINES {
        return Err(BookingError::TooManyLines);
    }
    let counter = ctx
        .opening_balance_account
        .ok_or(BookingError::NoOpeningBalanceAccount)?;
    require_account(ctx, "opening_balance_account", counter)?;
    let description = cmd
        .description
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .unwrap_or("Saldenvortrag")
        .to_string();
    check_len("description", &description, MAX_DESCRIPTION)?;
    let base = ctx.base_currency;
    let mut lines = Vec::with_capacity(cmd.balances.len() * 2);
    for (i, input) in cmd.balances.iter().enumerate() {
        let field = format!("balances[{i}]");
        if input.tax_code.is_some() {
            return Err(BookingError::UnknownTaxCode {
                field: format!("{field}.tax_code"),
                code: input.tax_code.clone().unwrap_or_default(),
                reason: "cannot be used on an opening balance",
            });
        }
        let (side, amount) = line_amount(&field, input, base)?;
        require_account(ctx, &format!("{field}.account"), &input.account)?;
        for (account, side, generated) in [
            (input.account.clone(), side, None),
            (
                counter.to_string(),
                side.opposite(),
                Some(Generated::OpeningBalance),
            ),
        ] {
            lines.push(JournalLine {
                account,
                side,
                amount,
                currency: base,
                base_amount: amount,
                tax_code: None,
                tax_rate: None,
                generated,
                description: input.description.clone(),
                cost_center: input.cost_center.clone(),
            });
        }
    }
    let period = ctx.calendar.period_of(cmd.booking_date);
    ensure_open(ctx, period)?;
    Ok(BookedIntent {
        intent_id: stamp.intent_id,
        kind: IntentKind::OpeningBalance,
        booking_date: cmd.booking_date,
        period,
        description,
        external_reference: None,
        document_id: None,
        custom_metadata: None,
        base_currency: base,
        fx_rate: None,
        reversal_of: None,
        posting_mode: None,
        reason: None,
        actor: stamp.actor,
        recorded_at: stamp.recorded_at,
        lines,
    })
}

/// The original intent as far as a reversal needs it.
#[derive(Debug, Clone)]
pub struct OriginalIntent {
    pub intent_id: Uuid,
    pub kind: IntentKind,
    pub booking_date: NaiveDate,
    pub period: PeriodId,
    pub description: String,
    pub fx_rate: Option<Decimal>,
    pub already_reversed: bool,
    pub lines: Vec<JournalLine>,
}

/// Decides `POST /v1/journal/reverse`. The reversal is dated on the original date if that
/// period is open, else on the first day of the earliest open regular period after it
/// ([`first_open_after`] over `ctx.closed_periods`), or refused with `NoOpenPeriod`.
pub fn decide_reversal(
    ctx: &BookingContext<'_>,
    original: &OriginalIntent,
    cmd: &ReversalCommand,
    stamp: Stamp,
) -> Result<BookedIntent, BookingError> {
    if cmd.reason.trim().is_empty() {
        return Err(BookingError::ReasonRequired);
    }
    check_len("reason", &cmd.reason, MAX_DESCRIPTION)?;
    if original.kind == IntentKind::Reversal {
        return Err(BookingError::ReversalOfReversal(original.intent_id));
    }
    if original.already_reversed {
        return Err(BookingError::AlreadyReversed(original.intent_id));
    }
    let (booking_date, period) = if ctx.closed_periods.contains(&original.period) {
        let p = first_open_after(ctx.closed_periods, original.period)
            .ok_or(BookingError::NoOpenPeriod)?;
        let (first_day, _) = ctx
            .calendar
            .checked_bounds(p)
            .ok_or(BookingError::NoOpenPeriod)?;
        (first_day, p)
    } else {
        (original.booking_date, original.period)
    };
    let lines = original
        .lines
        .iter()
        .map(|l| {
            let mut r = l.clone();
            match cmd.posting_mode {
                PostingMode::Swap => r.side = l.side.opposite(),
                PostingMode::Negative => {
                    r.amount = -l.amount;
                    r.base_amount = -l.base_amount;
                }
            }
            r
        })
        .collect();
    let mut description = format!("Storno: {}", original.description);
    if description.chars().count() > MAX_DESCRIPTION {
        description = description.chars().take(MAX_DESCRIPTION).collect();
    }
    Ok(BookedIntent {
        intent_id: stamp.intent_id,
        kind: IntentKind::Reversal,
        booking_date,
        period,
        description,
        external_reference: None,
        document_id: None,
        custom_metadata: None,
        base_currency: ctx.base_currency,
        fx_rate: original.fx_rate,
        reversal_of: Some(original.intent_id),
        posting_mode: Some(cmd.posting_mode),
        reason: Some(cmd.reason.trim().to_string()),
        actor: stamp.actor,
        recorded_at: stamp.recorded_at,
        lines,
    })
}
