//! Bank accounts and what an import may bring into one: the rules of a new bank account
//! (IBAN, BIC, currency, the ledger account it posts to) and the plan of an import (which
//! statements belong to the account, which rows are acceptable, each row's fingerprint).

use crate::fingerprint::{fingerprints_for, Fingerprint};
use crate::statement::{balance_check, BalanceCheck, BankTransaction, Statement};
use chrono::{Datelike, NaiveDate};
use journal::{Currency, Rule, RuleKind};

/// A bank account as requested (`POST /v1/bank-accounts`).
#[derive(Debug, Clone, Default)]
pub struct NewBankAccount {
    pub name: String,
    pub iban: Option<String>,
    pub bic: Option<String>,
    pub account_number: Option<String>,
    pub currency: Option<String>,
    pub ledger_account: Option<String>,
}

/// The ledger account a bank account would post to, as the chart has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerAccountRef {
    pub number: String,
    pub is_asset: bool,
    pub is_active: bool,
    /// Another bank account posts to it already.
    pub taken: bool,
}

/// Everything the decision needs, loaded beforehand.
#[derive(Debug, Clone)]
pub struct BankAccountContext {
    /// The tenant's base currency (the default currency).
    pub base_currency: Currency,
    /// How many bank accounts the tenant has.
    pub existing_accounts: i64,
    /// The chart's `bank` role account.
    pub bank_role: Option<String>,
    /// The named (or default) ledger account, when it exists.
    pub ledger: Option<LedgerAccountRef>,
    /// A bank account with this IBAN exists already.
    pub iban_taken: bool,
}

/// A bank account as decided: canonical IBAN and BIC, the currency, the ledger account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankAccountDecision {
    pub name: String,
    pub iban: Option<String>,
    pub bic: Option<String>,
    pub account_number: Option<String>,
    pub currency: Currency,
    pub ledger_account: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BankAccountError {
    #[error("name must be 1 to 200 characters")]
    InvalidName,
    #[error("iban: {0}")]
    InvalidIban(String),
    #[error("bic: {0}")]
    InvalidBic(String),
    #[error("account_number must be 1 to 34 letters, digits, spaces or /-")]
    InvalidAccountNumber,
    #[error("currency {0:?} is not a currency kontor knows")]
    InvalidCurrency(String),
    #[error("ledger_account is required: the chart's bank account is used by the first bank account only")]
    LedgerAccountRequired,
    #[error("ledger account {0} does not exist or is inactive")]
    UnknownLedgerAccount(String),
    #[error("ledger account {0} is not an asset account")]
    LedgerAccountNotAsset(String),
    #[error("ledger account {0} belongs to another bank account already")]
    LedgerAccountTaken(String),
    #[error("a bank account with IBAN {0} exists already")]
    DuplicateIban(String),
    #[error("the name of a bank account is the only thing that changes")]
    NothingToChange,
}

impl Rule for BankAccountError {
    fn code(&self) -> &'static str {
        match self {
            BankAccountError::InvalidName => "invalid_name",
            BankAccountError::InvalidIban(_) => "invalid_iban",
            BankAccountError::InvalidBic(_) => "invalid_bic",
            BankAccountError::InvalidAccountNumber => "invalid_account_number",
            BankAccountError::InvalidCurrency(_) => "invalid_currency",
            BankAccountError::LedgerAccountRequired => "ledger_account_required",
            BankAccountError::UnknownLedgerAccount(_) => "unknown_account",
            BankAccountError::LedgerAccountNotAsset(_) => "ledger_account_not_asset",
            BankAccountError::LedgerAccountTaken(_) => "ledger_account_taken",
            BankAccountError::DuplicateIban(_) => "duplicate_iban",
            BankAccountError::NothingToChange => "invalid_field",
        }
    }
    fn kind(&self) -> RuleKind {
        match self {
            BankAccountError::LedgerAccountTaken(_) | BankAccountError::DuplicateIban(_) => {
                RuleKind::Conflict
            }
            _ => RuleKind::Invalid,
        }
    }
    fn field(&self) -> Option<String> {
        Some(
            match self {
                BankAccountError::InvalidName | BankAccountError::NothingToChange => "name",
                BankAccountError::InvalidIban(_) | BankAccountError::DuplicateIban(_) => "iban",
                BankAccountError::InvalidBic(_) => "bic",
                BankAccountError::InvalidAccountNumber => "account_number",
                BankAccountError::InvalidCurrency(_) => "currency",
                _ => "ledger_account",
            }
            .to_string(),
        )
    }
}

/// Checks a bank account's name: 1 to 200 characters after trimming, no control characters.
pub fn check_name(name: &str) -> Result<String, BankAccountError> {
    let name = name.trim();
    let ok = (1..=200).contains(&name.chars().count()) && !name.chars().any(char::is_control);
    ok.then(|| name.to_string())
        .ok_or(BankAccountError::InvalidName)
}

/// The ledger account a new bank account asks for: the named one, else the chart's `bank`
/// role for the first bank account; `None` when one is required but missing.
pub fn requested_ledger_account(
    new: &NewBankAccount,
    existing_accounts: i64,
    bank_role: Option<&str>,
) -> Option<String> {
    match new.ledger_account.as_deref().map(str::trim) {
        Some(n) if !n.is_empty() => Some(n.to_string()),
        _ if existing_accounts == 0 => bank_role.map(str::to_string),
        _ => None,
    }
}

/// Decides a new bank account: IBAN and BIC valid (canonical form), the currency known, the
/// ledger account an existing, active asset account no other bank account posts to.
pub fn decide_bank_account(
    new: &NewBankAccount,
    ctx: &BankAccountContext,
) -> Result<BankAccountDecision, BankAccountError> {
    let name = check_name(&new.name)?;
    let iban = match new.iban.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(i) => Some(
            receivables::validate_iban(i)
                .map_err(|e| BankAccountError::InvalidIban(e.to_string()))?,
        ),
    };
    let bic = match new.bic.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(b) => Some(
            receivables::validate_bic(b)
                .map_err(|e| BankAccountError::InvalidBic(e.to_string()))?,
        ),
    };
    let account_number = match new.account_number.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(n) => {
            let ok = n.chars().count() <= 34
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '/' || c == '-');
            if !ok {
                return Err(BankAccountError::InvalidAccountNumber);
            }
            Some(n.to_string())
        }
    };
    let currency = match new.currency.as_deref() {
        None => ctx.base_currency,
        Some(c) => Currency::from_code(c.trim())
            .map_err(|_| BankAccountError::InvalidCurrency(c.to_string()))?,
    };
    let requested = requested_ledger_account(new, ctx.existing_accounts, ctx.bank_role.as_deref())
        .ok_or(BankAccountError::LedgerAccountRequired)?;
    let ledger = ctx
        .ledger
        .as_ref()
        .filter(|l| l.number == requested && l.is_active)
        .ok_or_else(|| BankAccountError::UnknownLedgerAccount(requested.clone()))?;
    if !ledger.is_asset {
        return Err(BankAccountError::LedgerAccountNotAsset(requested));
    }
    if ledger.taken {
        return Err(BankAccountError::LedgerAccountTaken(requested));
    }
    if ctx.iban_taken {
        if let Some(i) = &iban {
            return Err(BankAccountError::DuplicateIban(i.clone()));
        }
    }
    Ok(BankAccountDecision {
        name,
        iban,
        bic,
        account_number,
        currency,
        ledger_account: requested,
    })
}

/// The identity of the bank account an import goes into.
#[derive(Debug, Clone)]
pub struct ImportTarget {
    pub iban: Option<String>,
    pub account_number: Option<String>,
    pub currency: Currency,
    /// What the fingerprints are keyed by when the account has neither IBAN nor number.
    pub fallback_key: String,
}

impl ImportTarget {
    /// The account fingerprints are keyed by: the IBAN, else the bank's number, else the
    /// fallback (the bank account's id).
    pub fn fingerprint_key(&self) -> &str {
        self.iban
            .as_deref()
            .or(self.account_number.as_deref())
            .unwrap_or(&self.fallback_key)
    }

    /// True when the statement names this account, or names none at all (CSV). The IBAN
    /// decides when both sides have one; else the bank's account number, compared without
    /// spaces and leading zeros, also as the `BLZ/Konto` of MT940 `:25:` against the
    /// account's number, and against the account number inside a German IBAN.
    pub fn matches(&self, statement: &Statement) -> bool {
        if let (Some(a), Some(b)) = (&statement.account_iban, &self.iban) {
            return norm(a) == norm(b);
        }
        let Some(number) = statement.account_number.as_deref() else {
            return statement.account_iban.is_none();
        };
        let theirs = split_number(number);
        let mut ours: Vec<(Option<String>, String)> = Vec::new();
        if let Some(n) = &self.account_number {
            ours.push(split_number(n));
        }
        if let Some(i) = &self.iban {
            let i = norm(i);
            // A German IBAN: DEkk + 8 digits BLZ + 10 digits account number.
            if i.starts_with("DE") && i.len() == 22 {
                ours.push((Some(i[4..12].to_string()), strip_zeros(&i[12..])));
            }
        }
        ours.iter().any(|(blz, konto)| {
            konto == &theirs.1
                && match (blz, &theirs.0) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                }
        })
    }
}

/// An account number as (BLZ, account without leading zeros): `37040044/0532013000`.
fn split_number(s: &str) -> (Option<String>, String) {
    let s = norm(s);
    match s.split_once('/') {
        Some((blz, konto)) => (Some(blz.to_string()), strip_zeros(konto)),
        None => (None, strip_zeros(&s)),
    }
}

fn strip_zeros(s: &str) -> String {
    s.trim_start_matches('0').to_string()
}

fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// One row an import would write.
#[derive(Debug, Clone)]
pub struct PlannedRow {
    /// The statement's index in the file (`None`: a JSON import).
    pub statement: Option<usize>,
    pub transaction: BankTransaction,
    pub fingerprint: Fingerprint,
}

/// A row refused by the import (the rest is imported).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The row's 0-based index in the request (JSON) or in the file's transactions.
    pub row: usize,
    pub code: &'static str,
    pub message: String,
}

/// One statement of the file as planned.
#[derive(Debug, Clone)]
pub struct PlannedStatement {
    pub statement_id: Option<String>,
    /// The account the statement names (IBAN, else the bank's number).
    pub account: Option<String>,
    pub currency: Currency,
    pub opening_balance: Option<rust_decimal::Decimal>,
    pub closing_balance: Option<rust_decimal::Decimal>,
    pub balance_check: BalanceCheck,
    pub from_date: Option<NaiveDate>,
    pub to_date: Option<NaiveDate>,
    pub transactions: usize,
    /// Names another account: reported, not imported.
    pub skipped: bool,
}

/// What an import writes: its statements, the rows to insert, the refused rows.
#[derive(Debug, Clone, Default)]
pub struct ImportPlan {
    pub total_rows: usize,
    pub statements: Vec<PlannedStatement>,
    pub rows: Vec<PlannedRow>,
    pub errors: Vec<RowError>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("the statement is for account {found}, not for this bank account ({expected}); send ?force=true to import it anyway")]
    AccountMismatch { found: String, expected: String },
    #[error("an import holds at most {max} transactions; this one has {found}")]
    TooManyRows { max: usize, found: usize },
    #[error("transactions must not be empty")]
    NoTransactions,
}

impl Rule for ImportError {
    fn code(&self) -> &'static str {
        match self {
            ImportError::AccountMismatch { .. } => "account_mismatch",
            ImportError::TooManyRows { .. } => "too_many_rows",
            ImportError::NoTransactions => "invalid_field",
        }
    }
    fn kind(&self) -> RuleKind {
        RuleKind::Invalid
    }
    fn field(&self) -> Option<String> {
        Some(
            match self {
                ImportError::AccountMismatch { .. } => "file",
                _ => "transactions",
            }
            .to_string(),
        )
    }
}

/// The largest amount of one transaction (as for bookings): sums over any number of
/// transactions stay far inside the decimal range.
pub const MAX_AMOUNT: rust_decimal::Decimal =
    rust_decimal::Decimal::from_parts(3_567_587_328, 232, 0, false, 0);

/// The most rows one JSON import takes (files are bounded by their size instead).
pub const MAX_JSON_ROWS: usize = 10_000;

/// Checks one row: the account's currency, an amount that fits it and is not zero, dates
/// within 1900..2199, texts without U+0000.
fn check_row(tx: &BankTransaction, currency: Currency) -> Result<(), (&'static str, String)> {
    let in_range = |d: NaiveDate| (1900..=2199).contains(&d.year());
    if !in_range(tx.booking_date) || tx.value_date.is_some_and(|d| !in_range(d)) {
        return Err((
            "invalid_date",
            "dates must be from 1900-01-01 to 2199-12-31".into(),
        ));
    }
    if tx.currency != currency {
        return Err((
            "currency_mismatch",
            format!(
                "currency {} differs from the bank account's {}",
                tx.currency, currency
            ),
        ));
    }
    if tx.amount.is_zero() || !currency.fits(tx.amount) || tx.amount.abs() > MAX_AMOUNT {
        return Err((
            "invalid_amount",
            format!(
                "amount {} must be non-zero, at most {MAX_AMOUNT} and have at most {} decimals",
                tx.amount,
                currency.minor_units()
            ),
        ));
    }
    let texts = [
        &tx.counterparty_name,
        &tx.counterparty_iban,
        &tx.remittance_info,
        &tx.end_to_end_id,
        &tx.bank_reference,
    ];
    let nul = texts
        .iter()
        .any(|t| t.as_deref().is_some_and(|s| s.contains('\0')))
        || tx.raw.contains('\0');
    if nul {
        return Err(("invalid_character", "text must not contain U+0000".into()));
    }
    Ok(())
}

/// Plans a file import: the statements that name another account are skipped (all of them
/// refused with `account_mismatch` when none names this one, unless `force`); each row of
/// the others is checked (`check_row`) and fingerprinted (keyed by the bank account, the
/// occurrence index counted within its statement).
pub fn plan_file_import(
    target: &ImportTarget,
    statements: Vec<Statement>,
    force: bool,
) -> Result<ImportPlan, ImportError> {
    let matching: Vec<bool> = statements
        .iter()
        .map(|s| force || target.matches(s))
        .collect();
    if !matching.iter().any(|m| *m) {
        let found = statements
            .iter()
            .find_map(|s| s.account_iban.clone().or(s.account_number.clone()))
            .unwrap_or_default();
        let expected = target
            .iban
            .clone()
            .or(target.account_number.clone())
            .unwrap_or_default();
        return Err(ImportError::AccountMismatch { found, expected });
    }
    let mut plan = ImportPlan::default();
    let mut row_index = 0usize;
    for (i, (statement, matches)) in statements.into_iter().zip(matching).enumerate() {
        let check = balance_check(&statement);
        plan.statements.push(PlannedStatement {
            statement_id: statement.statement_id.clone(),
            account: statement
                .account_iban
                .clone()
                .or(statement.account_number.clone()),
            currency: statement.currency,
            opening_balance: statement.opening_balance,
            closing_balance: statement.closing_balance,
            balance_check: check,
            from_date: statement.transactions.iter().map(|t| t.booking_date).min(),
            to_date: statement.transactions.iter().map(|t| t.booking_date).max(),
            transactions: statement.transactions.len(),
            skipped: !matches,
        });
        if !matches {
            continue;
        }
        plan.total_rows += statement.transactions.len();
        let fps = fingerprints_for(target.fingerprint_key(), &statement.transactions);
        for (tx, fp) in statement.transactions.into_iter().zip(fps) {
            match check_row(&tx, target.currency) {
                Ok(()) => plan.rows.push(PlannedRow {
                    statement: Some(i),
                    transaction: tx,
                    fingerprint: fp,
                }),
                Err((code, message)) => plan.errors.push(RowError {
                    row: row_index,
                    code,
                    message,
                }),
            }
            row_index += 1;
        }
    }
    Ok(plan)
}

/// Plans a JSON import (`POST /v1/bank-transactions`): 1 to `MAX_JSON_ROWS` rows, each
/// checked and fingerprinted; no statement.
pub fn plan_json_import(
    target: &ImportTarget,
    transactions: Vec<BankTransaction>,
) -> Result<ImportPlan, ImportError> {
    if transactions.is_empty() {
        return Err(ImportError::NoTransactions);
    }
    if transactions.len() > MAX_JSON_ROWS {
        return Err(ImportError::TooManyRows {
            max: MAX_JSON_ROWS,
            found: transactions.len(),
        });
    }
    let mut plan = ImportPlan {
        total_rows: transactions.len(),
        ..ImportPlan::default()
    };
    let fps = fingerprints_for(target.fingerprint_key(), &transactions);
    for (i, (tx, fp)) in transactions.into_iter().zip(fps).enumerate() {
        match check_row(&tx, target.currency) {
            Ok(()) => plan.rows.push(PlannedRow {
                statement: None,
                transaction: tx,
                fingerprint: fp,
            }),
            Err((code, message)) => plan.errors.push(RowError {
                row: i,
                code,
                message,
            }),
        }
    }
    Ok(plan)
}

/// A balance the bank stated: a statement's closing balance at the end of its last day, or
/// its opening balance at the end of the day before its first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatedBalance {
    pub date: NaiveDate,
    pub balance: rust_decimal::Decimal,
}

/// The stated balances of a statement (none when it has no dates).
pub fn stated_balances(
    from_date: Option<NaiveDate>,
    to_date: Option<NaiveDate>,
    opening: Option<rust_decimal::Decimal>,
    closing: Option<rust_decimal::Decimal>,
) -> Vec<StatedBalance> {
    let mut out = Vec::new();
    if let (Some(from), Some(o)) = (from_date.or(to_date), opening) {
        if let Some(day_before) = from.pred_opt() {
            out.push(StatedBalance {
                date: day_before,
                balance: o,
            });
        }
    }
    if let (Some(to), Some(c)) = (to_date, closing) {
        out.push(StatedBalance {
            date: to,
            balance: c,
        });
    }
    out
}

/// An account's balance at the end of each day from `first` to `last`.
///
/// The rule: the balance at the end of day D is the latest stated balance on or before D plus
/// the transactions booked after it through D; before the first stated balance, the first
/// one minus the transactions booked after D through its date; an account without any stated
/// balance (JSON or CSV imports only) starts at zero before its first transaction. `sums` are
/// the transactions' sums per booking day, in any order; `stated` in the order they were
/// stated (a later one of the same day wins).
pub fn daily_balances(
    stated: &[StatedBalance],
    sums: &[(NaiveDate, rust_decimal::Decimal)],
    first: NaiveDate,
    last: NaiveDate,
) -> Vec<(NaiveDate, rust_decimal::Decimal)> {
    use rust_decimal::Decimal;
    let mut sums: Vec<(NaiveDate, Decimal)> = sums.to_vec();
    sums.sort_by_key(|s| s.0);
    // cumulative[i] = Σ sums[..=i]
    let mut cumulative = Vec::with_capacity(sums.len());
    let mut acc = Decimal::ZERO;
    for (_, s) in &sums {
        acc = acc.saturating_add(*s);
        cumulative.push(acc);
    }
    let through = |d: NaiveDate| -> Decimal {
        let n = sums.partition_point(|(date, _)| *date <= d);
        if n == 0 {
            Decimal::ZERO
        } else {
            cumulative[n - 1]
        }
    };
    let mut anchors: Vec<StatedBalance> = stated.to_vec();
    anchors.sort_by_key(|a| a.date);
    let mut out = Vec::new();
    let mut day = first;
    while day <= last {
        let n = anchors.partition_point(|a| a.date <= day);
        let anchor = n
            .checked_sub(1)
            .map(|i| anchors[i])
            .or(anchors.first().copied());
        let balance = match anchor {
            Some(a) => a
                .balance
                .saturating_add(through(day))
                .saturating_sub(through(a.date)),
            None => through(day),
        };
        out.push((day, balance));
        match day.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;
    use std::str::FromStr;

    fn tx(date: &str, amount: &str) -> BankTransaction {
        BankTransaction {
            booking_date: NaiveDate::from_str(date).unwrap(),
            value_date: None,
            amount: Decimal::from_str(amount).unwrap(),
            currency: Currency::EUR,
            counterparty_name: Some("ACME".into()),
            counterparty_iban: None,
            remittance_info: Some("RE 1".into()),
            end_to_end_id: None,
            bank_reference: None,
            exchange: None,
            raw: String::new(),
        }
    }

    fn statement(iban: Option<&str>, number: Option<&str>) -> Statement {
        Statement {
            account_iban: iban.map(str::to_string),
            account_number: number.map(str::to_string),
            currency: Currency::EUR,
            statement_id: Some("1".into()),
            opening_balance: Some(Decimal::from(10)),
            closing_balance: Some(Decimal::from(15)),
            transactions: vec![tx("2026-03-01", "5.00")],
        }
    }

    fn target() -> ImportTarget {
        ImportTarget {
            iban: Some("DE89370400440532013000".into()),
            account_number: None,
            currency: Currency::EUR,
            fallback_key: "x".into(),
        }
    }

    fn ctx(ledger: Option<LedgerAccountRef>, existing: i64) -> BankAccountContext {
        BankAccountContext {
            base_currency: Currency::EUR,
            existing_accounts: existing,
            bank_role: Some("1200".into()),
            ledger,
            iban_taken: false,
        }
    }

    fn ledger(number: &str, is_asset: bool, taken: bool) -> Option<LedgerAccountRef> {
        Some(LedgerAccountRef {
            number: number.into(),
            is_asset,
            is_active: true,
            taken,
        })
    }

    #[test]
    fn the_first_account_defaults_to_the_bank_role_and_later_ones_must_name_theirs() {
        let new = NewBankAccount {
            name: " Giro ".into(),
            iban: Some("de89 3704 0044 0532 0130 00".into()),
            bic: Some("COBADEFFXXX".into()),
            ..Default::default()
        };
        let d = decide_bank_account(&new, &ctx(ledger("1200", true, false), 0)).unwrap();
        assert_eq!(d.ledger_account, "1200");
        assert_eq!(d.name, "Giro");
        assert_eq!(d.iban.as_deref(), Some("DE89370400440532013000"));
        assert_eq!(
            decide_bank_account(&new, &ctx(ledger("1200", true, false), 1)),
            Err(BankAccountError::LedgerAccountRequired)
        );
        let named = NewBankAccount {
            ledger_account: Some("1210".into()),
            ..new.clone()
        };
        assert_eq!(
            decide_bank_account(&named, &ctx(ledger("1210", false, false), 1)),
            Err(BankAccountError::LedgerAccountNotAsset("1210".into()))
        );
        let e = decide_bank_account(&named, &ctx(ledger("1210", true, true), 1)).unwrap_err();
        assert_eq!(e.code(), "ledger_account_taken");
        assert_eq!(e.kind(), RuleKind::Conflict);
        assert_eq!(
            decide_bank_account(&named, &ctx(None, 1)),
            Err(BankAccountError::UnknownLedgerAccount("1210".into()))
        );
    }

    #[test]
    fn a_bad_iban_bic_or_currency_is_refused() {
        let bad_iban = NewBankAccount {
            name: "x".into(),
            iban: Some("DE00370400440532013000".into()),
            ..Default::default()
        };
        let c = ctx(ledger("1200", true, false), 0);
        assert_eq!(
            decide_bank_account(&bad_iban, &c).unwrap_err().code(),
            "invalid_iban"
        );
        let bad_bic = NewBankAccount {
            name: "x".into(),
            bic: Some("NOPE".into()),
            ..Default::default()
        };
        assert_eq!(
            decide_bank_account(&bad_bic, &c).unwrap_err().code(),
            "invalid_bic"
        );
        let bad_currency = NewBankAccount {
            name: "x".into(),
            currency: Some("XXX".into()),
            ..Default::default()
        };
        assert_eq!(
            decide_bank_account(&bad_currency, &c).unwrap_err().code(),
            "invalid_currency"
        );
        let empty = NewBankAccount::default();
        assert_eq!(
            decide_bank_account(&empty, &c).unwrap_err().code(),
            "invalid_name"
        );
    }

    #[test]
    fn statements_of_other_accounts_are_skipped_or_refused() {
        let t = target();
        let ours = statement(Some("DE89370400440532013000"), None);
        let theirs = statement(Some("DE02120300000000202051"), None);
        let plan = plan_file_import(&t, vec![ours.clone(), theirs.clone()], false).unwrap();
        assert_eq!(plan.rows.len(), 1);
        assert!(!plan.statements[0].skipped && plan.statements[1].skipped);
        assert_eq!(plan.total_rows, 1);
        let e = plan_file_import(&t, vec![theirs.clone()], false).unwrap_err();
        assert_eq!(e.code(), "account_mismatch");
        assert_eq!(
            plan_file_import(&t, vec![theirs], true).unwrap().rows.len(),
            1
        );
        // An MT940 `BLZ/Konto` names the German IBAN's account.
        let mt = statement(None, Some("37040044/0532013000"));
        assert!(t.matches(&mt));
        assert!(!t.matches(&statement(None, Some("37040044/999"))));
        // A CSV names no account: it matches.
        assert!(t.matches(&statement(None, None)));
    }

    #[test]
    fn bad_rows_are_reported_and_the_rest_planned() {
        let mut usd = tx("2026-03-01", "1.00");
        usd.currency = Currency::from_code("USD").unwrap();
        let rows = vec![
            tx("2026-03-01", "1.00"),
            usd,
            tx("2026-03-01", "0"),
            tx("2026-03-01", "1.001"),
            tx("1800-01-01", "1.00"),
            tx("2026-03-01", "1000000000000.01"),
        ];
        let plan = plan_json_import(&target(), rows).unwrap();
        assert_eq!(plan.rows.len(), 1);
        let codes: Vec<_> = plan.errors.iter().map(|e| (e.row, e.code)).collect();
        assert_eq!(
            codes,
            [
                (1, "currency_mismatch"),
                (2, "invalid_amount"),
                (3, "invalid_amount"),
                (4, "invalid_date"),
                (5, "invalid_amount")
            ]
        );
        assert_eq!(
            plan_json_import(&target(), vec![]).unwrap_err(),
            ImportError::NoTransactions
        );
    }

    #[test]
    fn the_largest_amount_is_one_trillion() {
        assert_eq!(MAX_AMOUNT, Decimal::from(1_000_000_000_000i64));
    }

    #[test]
    fn daily_balances_follow_the_stated_balances_and_the_transactions_between() {
        let d = |s: &str| NaiveDate::from_str(s).unwrap();
        let m = |s: &str| Decimal::from_str(s).unwrap();
        // Statement 03-02..03-03: opening 100, +10 on 03-02, +5 on 03-03, closing 115.
        let stated = stated_balances(
            Some(d("2026-03-02")),
            Some(d("2026-03-03")),
            Some(m("100")),
            Some(m("115")),
        );
        let sums = [
            (d("2026-03-03"), m("5")),
            (d("2026-03-02"), m("10")),
            (d("2026-03-05"), m("-20")),
        ];
        let days = daily_balances(&stated, &sums, d("2026-02-28"), d("2026-03-06"));
        let values: Vec<Decimal> = days.iter().map(|x| x.1).collect();
        assert_eq!(
            values,
            [
                m("100"),
                m("100"),
                m("110"),
                m("115"),
                m("115"),
                m("95"),
                m("95")
            ]
        );
        // Without stated balances: from zero.
        let days = daily_balances(&[], &sums, d("2026-03-01"), d("2026-03-05"));
        assert_eq!(days.last().unwrap().1, m("-5"));
        assert_eq!(days[0].1, m("0"));
    }

    proptest::proptest! {
        /// With statements whose balances agree with the transactions, the balance rule gives
        /// the running balance on every day: before, inside, between and after statements.
        #[test]
        fn consistent_statements_give_the_running_balance(
            base in -100_000i64..100_000,
            amounts in proptest::collection::vec((0u32..40, -50_000i64..50_000), 0..60),
            cuts in proptest::collection::vec((0u32..40, 0u32..10), 0..4),
        ) {
            let start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
            let day = |n: u32| start + chrono::Duration::days(i64::from(n));
            let sums: Vec<(NaiveDate, Decimal)> =
                amounts.iter().map(|(d, a)| (day(*d), Decimal::new(*a, 2))).collect();
            let base = Decimal::new(base, 2);
            let running = |d: NaiveDate| -> Decimal {
                base + sums.iter().filter(|s| s.0 <= d).map(|s| s.1).sum::<Decimal>()
            };
            let mut stated = Vec::new();
            for (from, len) in &cuts {
                let (from, to) = (day(*from), day(from + len));
                let opening = running(from.pred_opt().unwrap());
                let closing = running(to);
                stated.extend(stated_balances(Some(from), Some(to), Some(opening), Some(closing)));
            }
            let first = day(0).pred_opt().unwrap();
            for (d, b) in daily_balances(&stated, &sums, first, day(55)) {
                if stated.is_empty() {
                    // Without a stated balance the rule starts at zero.
                    proptest::prop_assert_eq!(b, running(d) - base);
                } else {
                    proptest::prop_assert_eq!(b, running(d));
                }
            }
        }
    }
}
