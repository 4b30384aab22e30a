//! The rules of the ledger's master data: accounts and tax codes.
//!
//! Pure: the caller loads what a rule needs (for a tax code, the accounts it names) and writes
//! what the rule accepted.

use crate::booking::AccountRef;
use crate::ledger::{is_valid_account_number, AccountType};
use crate::rule::{Rule, RuleKind};
use rust_decimal::Decimal;
use std::collections::HashMap;

pub const MAX_ACCOUNT_NAME: usize = 200;
pub const MAX_ACCOUNT_LABEL: usize = 100;
pub const MAX_TAX_LABEL: usize = 100;
pub const MAX_TAX_DESCRIPTION: usize = 500;
pub const MAX_TAX_CODE: usize = 20;
pub const MAX_RATE_DECIMALS: u32 = 4;

/// A broken rule of an account or a tax code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MasterDataError {
    #[error("number must be 4 to 9 digits")]
    InvalidAccountNumber,
    #[error("name must be 1 to {MAX_ACCOUNT_NAME} characters")]
    InvalidName,
    #[error("{field} is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("code must be 1 to {MAX_TAX_CODE} characters of A-Z, a-z, 0-9, _ . -")]
    InvalidTaxCode,
    #[error("label must be 1 to {MAX_TAX_LABEL} characters")]
    InvalidLabel,
    #[error("rate must be between 0 and 100 with at most {MAX_RATE_DECIMALS} decimals")]
    InvalidRate,
    #[error("a tax code with a rate above 0 needs a vat_account")]
    VatAccountRequiredForRate,
    #[error("self_assess_account needs a vat_account as its counterpart")]
    VatAccountRequiredForSelfAssessment,
    #[error("{field}: account {account} {}", if *.inactive { "is inactive" } else { "does not exist" })]
    UnknownAccount {
        field: &'static str,
        account: String,
        inactive: bool,
    },
}

impl Rule for MasterDataError {
    fn code(&self) -> &'static str {
        match self {
            MasterDataError::InvalidAccountNumber => "invalid_account_number",
            MasterDataError::InvalidName => "invalid_name",
            MasterDataError::TooLong { .. } => "too_long",
            MasterDataError::InvalidTaxCode => "invalid_tax_code",
            MasterDataError::InvalidLabel => "invalid_label",
            MasterDataError::InvalidRate => "invalid_rate",
            MasterDataError::VatAccountRequiredForRate
            | MasterDataError::VatAccountRequiredForSelfAssessment => "vat_account_required",
            MasterDataError::UnknownAccount { .. } => "unknown_account",
        }
    }

    fn kind(&self) -> RuleKind {
        RuleKind::Invalid
    }

    fn field(&self) -> Option<String> {
        Some(
            match self {
                MasterDataError::InvalidAccountNumber => "number",
                MasterDataError::InvalidName => "name",
                MasterDataError::TooLong { field, .. } => field,
                MasterDataError::InvalidTaxCode => "code",
                MasterDataError::InvalidLabel => "label",
                MasterDataError::InvalidRate => "rate",
                MasterDataError::VatAccountRequiredForRate
                | MasterDataError::VatAccountRequiredForSelfAssessment => "vat_account",
                MasterDataError::UnknownAccount { field, .. } => field,
            }
            .to_string(),
        )
    }
}

/// A new account as requested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    pub number: String,
    pub name: String,
    pub account_type: AccountType,
    pub category: String,
    pub report_group: String,
}

fn account_name(name: &str) -> Result<String, MasterDataError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_ACCOUNT_NAME {
        return Err(MasterDataError::InvalidName);
    }
    Ok(name.to_string())
}

/// Decides `POST /v1/accounts`: the account to insert (name trimmed).
pub fn decide_new_account(new: NewAccount) -> Result<NewAccount, MasterDataError> {
    if !is_valid_account_number(&new.number) {
        return Err(MasterDataError::InvalidAccountNumber);
    }
    let name = account_name(&new.name)?;
    for (field, value) in [
        ("category", &new.category),
        ("report_group", &new.report_group),
    ] {
        if value.chars().count() > MAX_ACCOUNT_LABEL {
            return Err(MasterDataError::TooLong {
                field,
                max: MAX_ACCOUNT_LABEL,
            });
        }
    }
    Ok(NewAccount { name, ..new })
}

/// Decides the name of `PATCH /v1/accounts/{number}` (number and type never change).
pub fn decide_account_name(name: &str) -> Result<String, MasterDataError> {
    account_name(name)
}

/// A tax code as it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxCodeDefinition {
    pub code: String,
    pub label: String,
    pub description: String,
    pub rate: Decimal,
    pub vat_account: Option<String>,
    pub self_assess_account: Option<String>,
    pub is_active: bool,
}

/// A change to a tax code; `Some(None)` clears an account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaxCodeChange {
    pub label: Option<String>,
    pub description: Option<String>,
    pub rate: Option<Decimal>,
    pub vat_account: Option<Option<String>>,
    pub self_assess_account: Option<Option<String>>,
    pub is_active: Option<bool>,
}

impl TaxCodeChange {
    /// The accounts this change sets, with their fields: only these are checked, so that a code
    /// whose account was deactivated later can still be relabelled or deactivated itself.
    pub fn set_accounts(&self) -> Vec<(&'static str, &str)> {
        let mut out = Vec::new();
        if let Some(Some(a)) = &self.vat_account {
            out.push(("vat_account", a.as_str()));
        }
        if let Some(Some(a)) = &self.self_assess_account {
            out.push(("self_assess_account", a.as_str()));
        }
        out
    }
}

impl TaxCodeDefinition {
    /// The accounts the definition names, with their fields.
    pub fn accounts(&self) -> Vec<(&'static str, &str)> {
        let mut out = Vec::new();
        if let Some(a) = &self.vat_account {
            out.push(("vat_account", a.as_str()));
        }
        if let Some(a) = &self.self_assess_account {
            out.push(("self_assess_account", a.as_str()));
        }
        out
    }
}

fn check_definition(d: &TaxCodeDefinition) -> Result<(), MasterDataError> {
    let code_ok = (1..=MAX_TAX_CODE).contains(&d.code.len())
        && d.code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if !code_ok {
        return Err(MasterDataError::InvalidTaxCode);
    }
    if d.label.trim().is_empty() || d.label.chars().count() > MAX_TAX_LABEL {
        return Err(MasterDataError::InvalidLabel);
    }
    if d.description.chars().count() > MAX_TAX_DESCRIPTION {
        return Err(MasterDataError::TooLong {
            field: "description",
            max: MAX_TAX_DESCRIPTION,
        });
    }
    if d.rate < Decimal::ZERO
        || d.rate > Decimal::ONE_HUNDRED
        || d.rate.normalize().scale() > MAX_RATE_DECIMALS
    {
        return Err(MasterDataError::InvalidRate);
    }
    if !d.rate.is_zero() && d.vat_account.is_none() {
        return Err(MasterDataError::VatAccountRequiredForRate);
    }
    if d.self_assess_account.is_some() && d.vat_account.is_none() {
        return Err(MasterDataError::VatAccountRequiredForSelfAssessment);
    }
    Ok(())
}

fn check_accounts(
    named: &[(&'static str, &str)],
    accounts: &HashMap<String, AccountRef>,
) -> Result<(), MasterDataError> {
    for (field, number) in named {
        match accounts.get(*number) {
            Some(a) if a.is_active => {}
            found => {
                return Err(MasterDataError::UnknownAccount {
                    field,
                    account: number.to_string(),
                    inactive: found.is_some(),
                })
            }
        }
    }
    Ok(())
}

/// Decides `POST /v1/tax-codes`. `accounts` holds at least the accounts the code names.
pub fn decide_new_tax_code(
    mut new: TaxCodeDefinition,
    accounts: &HashMap<String, AccountRef>,
) -> Result<TaxCodeDefinition, MasterDataError> {
    check_definition(&new)?;
    check_accounts(&new.accounts(), accounts)?;
    new.label = new.label.trim().to_string();
    Ok(new)
}

/// Decides `PATCH /v1/tax-codes/{code}`: the code as it is afterwards. Bookings already made
/// keep the rate and accounts they were made with (every journal event records its rate).
/// `accounts` holds at least the accounts the change sets.
pub fn decide_tax_code_change(
    current: &TaxCodeDefinition,
    change: &TaxCodeChange,
    accounts: &HashMap<String, AccountRef>,
) -> Result<TaxCodeDefinition, MasterDataError> {
    let mut next = current.clone();
    if let Some(v) = &change.label {
        next.label = v.clone();
    }
    if let Some(v) = &change.description {
        next.description = v.clone();
    }
    if let Some(v) = change.rate {
        next.rate = v;
    }
    if let Some(v) = &change.vat_account {
        next.vat_account = v.clone();
    }
    if let Some(v) = &change.self_assess_account {
        next.self_assess_account = v.clone();
    }
    if let Some(v) = change.is_active {
        next.is_active = v;
    }
    check_definition(&next)?;
    check_accounts(&change.set_accounts(), accounts)?;
    next.label = next.label.trim().to_string();
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accounts() -> HashMap<String, AccountRef> {
        [("1776", true), ("1576", true), ("1999", false)]
            .into_iter()
            .map(|(n, active)| {
                (
                    n.to_string(),
                    AccountRef {
                        number: n.to_string(),
                        is_active: active,
                    },
                )
            })
            .collect()
    }

    fn account(number: &str, name: &str) -> NewAccount {
        NewAccount {
            number: number.into(),
            name: name.into(),
            account_type: AccountType::Expense,
            category: String::new(),
            report_group: String::new(),
        }
    }

    fn ust19() -> TaxCodeDefinition {
        TaxCodeDefinition {
            code: "USt19".into(),
            label: "Umsatzsteuer 19 %".into(),
            description: String::new(),
            rate: Decimal::new(19, 0),
            vat_account: Some("1776".into()),
            self_assess_account: None,
            is_active: true,
        }
    }

    fn code_of(r: Result<impl std::fmt::Debug, MasterDataError>) -> &'static str {
        match r {
            Ok(v) => panic!("accepted: {v:?}"),
            Err(e) => e.code(),
        }
    }

    #[test]
    fn accounts_table() {
        let long = "x".repeat(201);
        // given, then: the accepted name, or the error's (code, field)
        type Then = Result<&'static str, (&'static str, &'static str)>;
        let cases: Vec<(NewAccount, Then)> = vec![
            (account("4980", "  Bürobedarf "), Ok("Bürobedarf")),
            (
                account("498", "x"),
                Err(("invalid_account_number", "number")),
            ),
            (
                account("49801234567", "x"),
                Err(("invalid_account_number", "number")),
            ),
            (
                account("49a0", "x"),
                Err(("invalid_account_number", "number")),
            ),
            (account("4980", "   "), Err(("invalid_name", "name"))),
            (account("4980", &long), Err(("invalid_name", "name"))),
            (
                NewAccount {
                    category: "c".repeat(101),
                    ..account("4980", "x")
                },
                Err(("too_long", "category")),
            ),
            (
                NewAccount {
                    report_group: "r".repeat(101),
                    ..account("4980", "x")
                },
                Err(("too_long", "report_group")),
            ),
        ];
        for (given, then) in cases {
            match (decide_new_account(given.clone()), then) {
                (Ok(a), Ok(name)) => assert_eq!(a.name, name),
                (Err(e), Err((code, field))) => {
                    assert_eq!(
                        (e.code(), e.field().as_deref()),
                        (code, Some(field)),
                        "{given:?}"
                    )
                }
                (got, want) => panic!("{given:?}: got {got:?}, want {want:?}"),
            }
        }
        assert_eq!(decide_account_name(" Porto ").unwrap(), "Porto");
        assert_eq!(code_of(decide_account_name("")), "invalid_name");
    }

    #[test]
    fn new_tax_codes_table() {
        let a = accounts();
        assert_eq!(
            decide_new_tax_code(
                TaxCodeDefinition {
                    label: " USt 19 ".into(),
                    ..ust19()
                },
                &a
            )
            .unwrap()
            .label,
            "USt 19"
        );
        let cases: Vec<(TaxCodeDefinition, &str, &str)> = vec![
            (
                TaxCodeDefinition {
                    code: String::new(),
                    ..ust19()
                },
                "invalid_tax_code",
                "code",
            ),
            (
                TaxCodeDefinition {
                    code: "a".repeat(21),
                    ..ust19()
                },
                "invalid_tax_code",
                "code",
            ),
            (
                TaxCodeDefinition {
                    code: "USt 19".into(),
                    ..ust19()
                },
                "invalid_tax_code",
                "code",
            ),
            (
                TaxCodeDefinition {
                    label: " ".into(),
                    ..ust19()
                },
                "invalid_label",
                "label",
            ),
            (
                TaxCodeDefinition {
                    label: "l".repeat(101),
                    ..ust19()
                },
                "invalid_label",
                "label",
            ),
            (
                TaxCodeDefinition {
                    description: "d".repeat(501),
                    ..ust19()
                },
                "too_long",
                "description",
            ),
            (
                TaxCodeDefinition {
                    rate: Decimal::new(-1, 0),
                    ..ust19()
                },
                "invalid_rate",
                "rate",
            ),
            (
                TaxCodeDefinition {
                    rate: Decimal::new(10001, 2),
                    ..ust19()
                },
                "invalid_rate",
                "rate",
            ),
            (
                TaxCodeDefinition {
                    rate: Decimal::new(190001, 5),
                    ..ust19()
                },
                "invalid_rate",
                "rate",
            ),
            (
                TaxCodeDefinition {
                    vat_account: None,
                    ..ust19()
                },
                "vat_account_required",
                "vat_account",
            ),
            (
                TaxCodeDefinition {
                    rate: Decimal::ZERO,
                    vat_account: None,
                    self_assess_account: Some("1576".into()),
                    ..ust19()
                },
                "vat_account_required",
                "vat_account",
            ),
            (
                TaxCodeDefinition {
                    vat_account: Some("1777".into()),
                    ..ust19()
                },
                "unknown_account",
                "vat_account",
            ),
            (
                TaxCodeDefinition {
                    vat_account: Some("1999".into()),
                    ..ust19()
                },
                "unknown_account",
                "vat_account",
            ),
            (
                TaxCodeDefinition {
                    self_assess_account: Some("1999".into()),
                    ..ust19()
                },
                "unknown_account",
                "self_assess_account",
            ),
        ];
        for (given, code, field) in cases {
            let e = decide_new_tax_code(given.clone(), &a).unwrap_err();
            assert_eq!(
                (e.code(), e.field().unwrap().as_str()),
                (code, field),
                "{given:?}"
            );
        }
        // A zero rate needs no VAT account; 4 decimals are fine.
        let free = TaxCodeDefinition {
            rate: Decimal::ZERO,
            vat_account: None,
            ..ust19()
        };
        assert!(decide_new_tax_code(free, &a).is_ok());
        let fine = TaxCodeDefinition {
            rate: Decimal::new(190001, 4),
            ..ust19()
        };
        assert!(decide_new_tax_code(fine, &a).is_ok());
    }

    #[test]
    fn tax_code_changes_check_only_the_accounts_they_set() {
        let a = accounts();
        // The stored code points to an account deactivated since: relabelling still works.
        let stale = TaxCodeDefinition {
            vat_account: Some("1999".into()),
            ..ust19()
        };
        let relabel = TaxCodeChange {
            label: Some("neu".into()),
            ..Default::default()
        };
        assert_eq!(
            decide_tax_code_change(&stale, &relabel, &a).unwrap().label,
            "neu"
        );
        let to_inactive = TaxCodeChange {
            vat_account: Some(Some("1999".into())),
            ..Default::default()
        };
        assert_eq!(
            code_of(decide_tax_code_change(&ust19(), &to_inactive, &a)),
            "unknown_account"
        );
        let clear = TaxCodeChange {
            vat_account: Some(None),
            ..Default::default()
        };
        assert_eq!(
            code_of(decide_tax_code_change(&ust19(), &clear, &a)),
            "vat_account_required"
        );
        let rate = TaxCodeChange {
            rate: Some(Decimal::new(7, 0)),
            is_active: Some(false),
            ..Default::default()
        };
        let next = decide_tax_code_change(&ust19(), &rate, &a).unwrap();
        assert_eq!((next.rate, next.is_active), (Decimal::new(7, 0), false));
    }

    #[test]
    fn every_code_has_a_case() {
        // The codes the tables above reach; a new variant must be added to them.
        let all = [
            MasterDataError::InvalidAccountNumber,
            MasterDataError::InvalidName,
            MasterDataError::TooLong { field: "x", max: 1 },
            MasterDataError::InvalidTaxCode,
            MasterDataError::InvalidLabel,
            MasterDataError::InvalidRate,
            MasterDataError::VatAccountRequiredForRate,
            MasterDataError::VatAccountRequiredForSelfAssessment,
            MasterDataError::UnknownAccount {
                field: "vat_account",
                account: "1".into(),
                inactive: false,
            },
        ];
        for e in all {
            // Exhaustive on purpose: a new variant fails to compile here until it is listed.
            match e {
                MasterDataError::InvalidAccountNumber
                | MasterDataError::InvalidName
                | MasterDataError::TooLong { .. }
                | MasterDataError::InvalidTaxCode
                | MasterDataError::InvalidLabel
                | MasterDataError::InvalidRate
                | MasterDataError::VatAccountRequiredForRate
                | MasterDataError::VatAccountRequiredForSelfAssessment
                | MasterDataError::UnknownAccount { .. } => assert!(!e.code().is_empty()),
            }
        }
    }
}
