//! A small SKR03-like world for decision tests: accounts, tax codes, period states, and
//! builders for commands. No database: everything a decision needs is in memory.
#![allow(dead_code)]

use chrono::{DateTime, NaiveDate, Utc};
use journal::booking::{
    BookingCommand, BookingContext, BookingLineInput, Fx, OpeningBalanceCommand, OriginalIntent,
    ReversalCommand, Stamp, TaxCode,
};
use journal::{AccountRef, Actor, BookedIntent, Currency, FiscalCalendar, PeriodId, PostingMode};
use rust_decimal::Decimal;
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use uuid::Uuid;

pub fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

pub fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

pub fn period(s: &str) -> PeriodId {
    s.parse().unwrap()
}

/// Everything a `BookingContext` borrows, owned, so a test can change it.
#[derive(Debug, Clone)]
pub struct World {
    pub base_currency: Currency,
    pub calendar: FiscalCalendar,
    pub accounts: HashMap<String, AccountRef>,
    pub tax_codes: HashMap<String, TaxCode>,
    pub closed_periods: HashSet<PeriodId>,
    pub booked_external_references: HashSet<String>,
    pub documents: HashSet<Uuid>,
    pub fx_rounding_account: Option<String>,
    pub opening_balance_account: Option<String>,
}

pub const DOCUMENT: Uuid = Uuid::from_u128(0x0190a000_0000_7000_8000_0000000000d1);

fn tax(code: &str, rate: &str, vat: Option<&str>, own: Option<&str>) -> (String, TaxCode) {
    (
        code.to_string(),
        TaxCode {
            code: code.into(),
            rate: dec(rate),
            vat_account: vat.map(str::to_string),
            self_assess_account: own.map(str::to_string),
            is_active: true,
        },
    )
}

impl Default for World {
    fn default() -> Self {
        let active = [
            "1000", "1200", "1400", "1571", "1576", "1577", "1600", "1776", "1787", "2150", "3425",
            "4210", "4900", "8400", "9000",
        ];
        let mut accounts: HashMap<String, AccountRef> = active
            .iter()
            .map(|n| {
                (
                    n.to_string(),
                    AccountRef {
                        number: n.to_string(),
                        is_active: true,
                    },
                )
            })
            .collect();
        accounts.insert(
            "4999".into(),
            AccountRef {
                number: "4999".into(),
                is_active: false,
            },
        );
        let mut tax_codes: HashMap<String, TaxCode> = [
            tax("USt19", "19", Some("1776"), None),
            tax("VSt19", "19.0000", Some("1576"), None),
            tax("VSt7", "7", Some("1571"), None),
            // Reverse charge (§ 13b UStG): input VAT and the self-assessed output VAT.
            tax("RC19", "19", Some("1577"), Some("1787")),
            tax("Frei", "0", None, None),
            tax("NoAccount", "19", None, None),
            tax("MissingVat", "19", Some("7777"), None),
            tax("InactiveVat", "19", Some("4999"), None),
            tax("MissingOwn", "19", Some("1577"), Some("7778")),
            tax(
                "Absurd",
                "79228162514264337593543950335",
                Some("1576"),
                None,
            ),
        ]
        .into_iter()
        .collect();
        let mut old = tax("Alt16", "16", Some("1776"), None);
        old.1.is_active = false;
        tax_codes.insert(old.0, old.1);
        World {
            base_currency: Currency::EUR,
            calendar: FiscalCalendar::default(),
            accounts,
            tax_codes,
            closed_periods: HashSet::new(),
            booked_external_references: HashSet::new(),
            documents: [DOCUMENT].into(),
            fx_rounding_account: Some("2150".into()),
            opening_balance_account: Some("9000".into()),
        }
    }
}

impl World {
    pub fn ctx(&self) -> BookingContext<'_> {
        BookingContext {
            base_currency: self.base_currency,
            calendar: self.calendar,
            accounts: &self.accounts,
            tax_codes: &self.tax_codes,
            closed_periods: &self.closed_periods,
            booked_external_references: &self.booked_external_references,
            documents: &self.documents,
            fx_rounding_account: self.fx_rounding_account.as_deref(),
            opening_balance_account: self.opening_balance_account.as_deref(),
        }
    }

    pub fn close(&mut self, periods: &[&str]) {
        self.closed_periods
            .extend(periods.iter().map(|p| period(p)));
    }
}

pub fn recorded_at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T03:19:06.062782Z")
        .unwrap()
        .with_timezone(&Utc)
}

pub fn stamp(n: u128) -> Stamp {
    Stamp {
        intent_id: Uuid::from_u128(0x0190a000_0000_7000_8000_000000000000 + n),
        actor: Actor::api_key(Uuid::from_u128(0x0190a000_0000_7000_8000_0000000000f1)),
        recorded_at: recorded_at(),
    }
}

pub fn dr(account: &str, amount: &str) -> BookingLineInput {
    BookingLineInput {
        account: account.into(),
        debit: Some(dec(amount)),
        credit: None,
        tax_code: None,
        description: None,
        cost_center: None,
    }
}

pub fn cr(account: &str, amount: &str) -> BookingLineInput {
    BookingLineInput {
        account: account.into(),
        debit: None,
        credit: Some(dec(amount)),
        tax_code: None,
        description: None,
        cost_center: None,
    }
}

pub trait LineExt {
    fn tax(self, code: &str) -> Self;
}

impl LineExt for BookingLineInput {
    fn tax(mut self, code: &str) -> Self {
        self.tax_code = Some(code.into());
        self
    }
}

pub fn booking(on: &str, lines: Vec<BookingLineInput>) -> BookingCommand {
    BookingCommand {
        booking_date: date(on),
        description: "Test booking".into(),
        lines,
        skip_duplicate_check: false,
        adjustment_period: false,
        fx: None,
        external_reference: None,
        custom_metadata: None,
        document_id: None,
    }
}

pub fn fx(currency: &str, rate: &str) -> Option<Fx> {
    Some(Fx {
        currency: currency.into(),
        rate: dec(rate),
    })
}

pub fn opening(on: &str, balances: Vec<BookingLineInput>) -> OpeningBalanceCommand {
    OpeningBalanceCommand {
        booking_date: date(on),
        description: None,
        balances,
    }
}

pub fn reverse(intent_id: Uuid, mode: PostingMode) -> ReversalCommand {
    ReversalCommand {
        intent_id,
        reason: "wrong account".into(),
        posting_mode: mode,
    }
}

/// The original as the appender loads it for a reversal.
pub fn original_of(intent: &BookedIntent) -> OriginalIntent {
    OriginalIntent {
        intent_id: intent.intent_id,
        kind: intent.kind,
        booking_date: intent.booking_date,
        period: intent.period,
        description: intent.description.clone(),
        fx_rate: intent.fx_rate,
        already_reversed: false,
        lines: intent.lines.clone(),
    }
}

/// Debit-positive base balance per account.
pub fn balances<'a>(
    intents: impl IntoIterator<Item = &'a BookedIntent>,
) -> HashMap<String, Decimal> {
    let mut out: HashMap<String, Decimal> = HashMap::new();
    for i in intents {
        for l in &i.lines {
            *out.entry(l.account.clone()).or_default() += l.signed_base();
        }
    }
    out
}
