//! The statement model every parser produces, and the balance check.

use chrono::NaiveDate;
use journal::Currency;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One statement of one account: a camt `<Stmt>`, an MT940 `:20:`…`:62F:` block, or a CSV
/// file. Balances are signed (negative = overdrawn) and absent where the format has none
/// (CSV).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    /// The account's IBAN in electronic form, when the file gives one.
    pub account_iban: Option<String>,
    /// The bank's own account number (MT940 `:25:` as `BLZ/Konto`, camt `Acct/Id/Othr/Id`).
    pub account_number: Option<String>,
    pub currency: Currency,
    /// camt `Stmt/Id`, MT940 `:28C:` (else `:20:`), CSV none.
    pub statement_id: Option<String>,
    pub opening_balance: Option<Decimal>,
    pub closing_balance: Option<Decimal>,
    pub transactions: Vec<BankTransaction>,
}

/// One bank transaction. `amount` is signed: + is money in, − money out. Deserializable as
/// the JSON import's rows (`raw` then defaults to empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankTransaction {
    pub booking_date: NaiveDate,
    #[serde(default)]
    pub value_date: Option<NaiveDate>,
    pub amount: Decimal,
    pub currency: Currency,
    #[serde(default)]
    pub counterparty_name: Option<String>,
    #[serde(default)]
    pub counterparty_iban: Option<String>,
    #[serde(default)]
    pub remittance_info: Option<String>,
    #[serde(default)]
    pub end_to_end_id: Option<String>,
    #[serde(default)]
    pub bank_reference: Option<String>,
    /// The exchange rate the statement gives for this transaction (camt `CcyXchg`), or the
    /// rate a JSON row or CSV column gives against the base currency.
    #[serde(default)]
    pub exchange: Option<Exchange>,
    /// The source of this transaction: the camt element (`Ntry`, or its `TxDtls` in a
    /// batch), the MT940 `:61:`/`:86:` lines, the CSV line.
    #[serde(default)]
    pub raw: String,
}

/// An exchange rate of a transaction: `rate` units of the transaction's (the account's)
/// currency per 1 unit of `against`. `against` is `None` where the rate is given against the
/// tenant's base currency without naming it (a JSON row's or a CSV column's `fx_rate`, the
/// convention of the whole API: units of the foreign currency per 1 unit of the base
/// currency).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    #[serde(default)]
    pub against: Option<Currency>,
    pub rate: Decimal,
}

/// Rates carry at most this many decimals (the XSD's `BaseOneRate`: 10).
pub const RATE_DECIMALS: u32 = 10;

impl Exchange {
    /// The rate to convert an amount of `account` into `base` (units of `account` per 1 unit
    /// of `base`), when this rate is one between the two; `None` for a base-currency account
    /// or a rate against a third currency.
    pub fn base_rate(&self, account: Currency, base: Currency) -> Option<Decimal> {
        (account != base && self.against.is_none_or(|c| c == base) && self.rate > Decimal::ZERO)
            .then_some(self.rate)
    }

    /// A camt `CcyXchg` (`SrcCcy`, `TrgtCcy`, `UnitCcy`, `XchgRate`) for a transaction in
    /// `account`: 1 unit of the unit currency (`UnitCcy`, else `SrcCcy`, as ISO 20022 reads
    /// it) = `XchgRate` units of the other. `None` when the pair does not include the account's
    /// currency, names one currency twice, or the rate is not positive.
    pub fn from_camt(
        account: Currency,
        source: Option<&str>,
        target: Option<&str>,
        unit: Option<&str>,
        rate: Decimal,
    ) -> Option<Exchange> {
        if rate <= Decimal::ZERO {
            return None;
        }
        let source = Currency::from_code(source?.trim()).ok()?;
        let target = Currency::from_code(target?.trim()).ok()?;
        if source == target {
            return None;
        }
        let other = if source == account {
            target
        } else if target == account {
            source
        } else {
            return None;
        };
        let unit = match unit {
            Some(u) => Currency::from_code(u.trim()).ok()?,
            None => source,
        };
        let rate = if unit == other {
            rate
        } else if unit == account {
            Decimal::ONE.checked_div(rate)?.round_dp(RATE_DECIMALS)
        } else {
            return None;
        };
        (rate > Decimal::ZERO).then_some(Exchange {
            against: Some(other),
            rate,
        })
    }
}

/// Whether opening balance + Σ transactions = closing balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BalanceCheck {
    /// True when the balances agree, or when the statement has no balances to check (CSV):
    /// then `opening`, `closing` and `difference` are `None`.
    pub ok: bool,
    pub opening: Option<Decimal>,
    pub closing: Option<Decimal>,
    pub computed_closing: Option<Decimal>,
    /// closing − computed closing.
    pub difference: Option<Decimal>,
}

/// Checks a statement's balances. A statement with only one of its balances is not ok: a
/// gap is never silent.
pub fn balance_check(statement: &Statement) -> BalanceCheck {
    // Checked: a statement that came from elsewhere (a request) may hold any amounts; an
    // overflow is not ok, never a panic.
    let sum = statement
        .transactions
        .iter()
        .try_fold(Decimal::ZERO, |acc, t| acc.checked_add(t.amount));
    match (statement.opening_balance, statement.closing_balance) {
        (Some(opening), Some(closing)) => {
            let computed = sum.and_then(|s| opening.checked_add(s));
            let difference = computed.and_then(|c| closing.checked_sub(c));
            BalanceCheck {
                ok: difference.is_some_and(|d| d.is_zero()),
                opening: Some(opening),
                closing: Some(closing),
                computed_closing: computed,
                difference,
            }
        }
        (None, None) => BalanceCheck {
            ok: true,
            opening: None,
            closing: None,
            computed_closing: None,
            difference: None,
        },
        (opening, closing) => BalanceCheck {
            ok: false,
            opening,
            closing,
            computed_closing: opening.zip(sum).and_then(|(o, s)| o.checked_add(s)),
            difference: None,
        },
    }
}

impl Statement {
    /// The sum of the transactions' amounts (`None` on overflow).
    pub fn total(&self) -> Option<Decimal> {
        self.transactions
            .iter()
            .try_fold(Decimal::ZERO, |acc, t| acc.checked_add(t.amount))
    }
}

/// An IBAN in electronic form (no spaces, upper case): a valid one, or — lenient, as test
/// and legacy data have them — one of the IBAN's shape (country letters, two check digits,
/// 11 to 30 letters and digits) whose checksum fails. Anything else (a BBAN, an account
/// number) is `None`.
pub(crate) fn iban_or_none(text: &str) -> Option<String> {
    if let Ok(iban) = receivables::validate_iban(text) {
        return Some(iban);
    }
    let s: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let b = s.as_bytes();
    let shaped = (15..=34).contains(&b.len())
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..4].iter().all(u8::is_ascii_digit)
        && b[4..].iter().all(u8::is_ascii_alphanumeric);
    shaped.then_some(s)
}

/// Trims and collapses whitespace; `None` when empty.
pub(crate) fn clean(text: &str) -> Option<String> {
    let s = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!s.is_empty()).then_some(s)
}

/// Decodes bytes as UTF-8, else as Latin-1 / Windows-1252 (as many German bank files are).
pub(crate) fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| cp1252(b)).collect(),
    }
}

fn cp1252(b: u8) -> char {
    match b {
        0x80 => '€',
        0x8A => 'Š',
        0x8E => 'Ž',
        0x9A => 'š',
        0x9E => 'ž',
        _ => b as char,
    }
}
