//! Customers and vendors (business partners): what their master data must look like.

use crate::bic::{validate_bic, BicError};
use crate::iban::{validate_iban, IbanError};
use crate::vat_id::{validate_vat_id, VatIdError};
use serde::{Deserialize, Serialize};

pub const MAX_NAME: usize = 200;
pub const MAX_NOTES: usize = 2000;
pub const MAX_TAX_ID: usize = 30;
pub const MAX_ADDRESS_FIELD: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartnerKind {
    /// Owes us money: a debtor account rolls up into receivables.
    Customer,
    /// We owe money: a creditor account rolls up into payables.
    Vendor,
}

impl PartnerKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            PartnerKind::Customer => "customer",
            PartnerKind::Vendor => "vendor",
        }
    }

    pub fn parse(s: &str) -> Option<PartnerKind> {
        match s {
            "customer" => Some(PartnerKind::Customer),
            "vendor" => Some(PartnerKind::Vendor),
            _ => None,
        }
    }

    /// The chart role of the collective account the personal accounts roll up into.
    pub fn collective_role(&self) -> &'static str {
        match self {
            PartnerKind::Customer => "receivables",
            PartnerKind::Vendor => "payables",
        }
    }

    /// The chart role that names the range of personal account numbers.
    pub fn range_role(&self) -> &'static str {
        match self {
            PartnerKind::Customer => "debtor_range",
            PartnerKind::Vendor => "creditor_range",
        }
    }

    /// DATEV's default ranges of personal accounts (Debitoren, Kreditoren).
    pub fn default_range(&self) -> (u32, u32) {
        match self {
            PartnerKind::Customer => (10000, 69999),
            PartnerKind::Vendor => (70000, 99999),
        }
    }

    /// The account type and category of the personal accounts of this kind.
    pub fn personal_account_type(&self) -> (&'static str, &'static str) {
        match self {
            PartnerKind::Customer => ("asset", "debtors"),
            PartnerKind::Vendor => ("liability", "creditors"),
        }
    }
}

/// The numbers personal accounts of one kind are taken from: equally long digit strings,
/// `first <= last` (so text order is number order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberRange {
    pub first: String,
    pub last: String,
}

impl NumberRange {
    /// The range the chart names for `kind` (role `debtor_range` / `creditor_range`, such as
    /// `["10000", "69999"]`); DATEV's default when the chart names none or a malformed one.
    pub fn of(kind: PartnerKind, chart: Option<&journal::chart::Chart>) -> NumberRange {
        let named = chart
            .and_then(|c| c.roles.get(kind.range_role()))
            .and_then(|v| {
                let a = v.as_array()?;
                Some((a.first()?.as_str()?, a.get(1)?.as_str()?))
            })
            .filter(|(a, b)| {
                a.len() == b.len()
                    && a <= b
                    && journal::ledger::is_valid_account_number(a)
                    && journal::ledger::is_valid_account_number(b)
            });
        match named {
            Some((first, last)) => NumberRange {
                first: first.to_string(),
                last: last.to_string(),
            },
            None => {
                let (first, last) = kind.default_range();
                NumberRange {
                    first: first.to_string(),
                    last: last.to_string(),
                }
            }
        }
    }

    pub fn contains(&self, number: &str) -> bool {
        number.len() == self.first.len()
            && number.bytes().all(|b| b.is_ascii_digit())
            && self.first.as_str() <= number
            && number <= self.last.as_str()
    }
}

/// How the next personal account is numbered, given the highest number in use in the range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextNumber {
    /// This number: the first of the range, or one above the highest in use.
    Take(String),
    /// The top of the range is taken: the lowest free number of the range, if any, is
    /// taken instead (`lowest_free_number`).
    LowestFree,
}

/// The next personal-account number: one above the highest in use in the range (the first of
/// the range when none is), or, once the top is taken, the lowest gap.
pub fn next_partner_number(range: &NumberRange, highest_in_use: Option<&str>) -> NextNumber {
    let Some(highest) = highest_in_use else {
        return NextNumber::Take(range.first.clone());
    };
    let next = highest
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_add(1))
        .map(|n| format!("{n:0width$}", width = range.first.len()));
    match next {
        Some(n) if range.contains(&n) => NextNumber::Take(n),
        _ => NextNumber::LowestFree,
    }
}

/// Takes the lowest free number of a range whose top is taken; none left is
/// `account_range_exhausted`.
pub fn lowest_free_number(
    range: &NumberRange,
    lowest_free: Option<String>,
) -> Result<String, PartnerNumberError> {
    lowest_free
        .filter(|n| range.contains(n))
        .ok_or_else(|| PartnerNumberError::RangeExhausted {
            first: range.first.clone(),
            last: range.last.clone(),
        })
}

/// The personal-account number of a new partner cannot be picked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartnerNumberError {
    #[error("every account number from {first} to {last} is taken")]
    RangeExhausted { first: String, last: String },
}

impl PartnerNumberError {
    pub fn code(&self) -> &'static str {
        match self {
            PartnerNumberError::RangeExhausted { .. } => "account_range_exhausted",
        }
    }
}

impl journal::Rule for PartnerNumberError {
    fn code(&self) -> &'static str {
        PartnerNumberError::code(self)
    }
    /// The range is full: a conflict with the ledger's accounts, not a wrong input.
    fn kind(&self) -> journal::RuleKind {
        journal::RuleKind::Conflict
    }
}

/// A postal address. Every part is optional; `country` is an ISO 3166-1 alpha-2 code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    /// c/o, building, floor …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// Master data as the client sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartnerInput {
    pub name: String,
    pub tax_id: Option<String>,
    pub vat_id: Option<String>,
    pub iban: Option<String>,
    pub bic: Option<String>,
    pub address: Option<Address>,
    pub default_account: Option<String>,
    pub notes: Option<String>,
}

/// Master data after validation: trimmed, empty strings as None, IBAN / BIC / VAT ID in their
/// canonical form.
pub type ValidPartner = PartnerInput;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartnerError {
    #[error("name must be 1 to {MAX_NAME} characters")]
    Name,
    #[error("{field} is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("tax_id may contain only digits, letters, spaces and / - .")]
    TaxId,
    #[error("iban: {0}")]
    Iban(#[from] IbanError),
    #[error("bic: {0}")]
    Bic(#[from] BicError),
    #[error("vat_id: {0}")]
    VatId(#[from] VatIdError),
    #[error("address.country must be a two-letter ISO 3166 code")]
    Country,
    #[error("default_account must be 4 to 9 digits")]
    DefaultAccount,
    #[error("default_account: account {number} does not exist")]
    UnknownDefaultAccount { number: String },
    #[error("default_account: account {number} is inactive")]
    InactiveDefaultAccount { number: String },
}

impl PartnerError {
    pub fn code(&self) -> &'static str {
        match self {
            PartnerError::Name => "invalid_name",
            PartnerError::TooLong { .. } => "too_long",
            PartnerError::TaxId => "invalid_tax_id",
            PartnerError::Iban(_) => "invalid_iban",
            PartnerError::Bic(_) => "invalid_bic",
            PartnerError::VatId(_) => "invalid_vat_id",
            PartnerError::Country => "invalid_country",
            PartnerError::DefaultAccount
            | PartnerError::UnknownDefaultAccount { .. }
            | PartnerError::InactiveDefaultAccount { .. } => "unknown_account",
        }
    }

    pub fn field(&self) -> &'static str {
        match self {
            PartnerError::Name => "name",
            PartnerError::TooLong { field, .. } => field,
            PartnerError::TaxId => "tax_id",
            PartnerError::Iban(_) => "iban",
            PartnerError::Bic(_) => "bic",
            PartnerError::VatId(_) => "vat_id",
            PartnerError::Country => "address.country",
            PartnerError::DefaultAccount
            | PartnerError::UnknownDefaultAccount { .. }
            | PartnerError::InactiveDefaultAccount { .. } => "default_account",
        }
    }
}

fn clean(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn max_len(field: &'static str, value: &Option<String>, max: usize) -> Result<(), PartnerError> {
    match value {
        Some(v) if v.chars().count() > max => Err(PartnerError::TooLong { field, max }),
        _ => Ok(()),
    }
}

/// Checks master data: IBAN checksum and length, BIC format, VAT ID format of its country.
/// A BIC without an IBAN is allowed (cheques, cash); an IBAN without BIC too (SEPA needs none).
pub fn validate_partner(input: PartnerInput) -> Result<ValidPartner, PartnerError> {
    let name = input.name.trim().to_string();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(PartnerError::Name);
    }
    let tax_id = clean(input.tax_id);
    max_len("tax_id", &tax_id, MAX_TAX_ID)?;
    if let Some(t) = &tax_id {
        if !t
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " /-.".contains(c))
        {
            return Err(PartnerError::TaxId);
        }
    }
    let vat_id = clean(input.vat_id)
        .map(|v| validate_vat_id(&v))
        .transpose()?;
    let iban = clean(input.iban).map(|v| validate_iban(&v)).transpose()?;
    let bic = clean(input.bic).map(|v| validate_bic(&v)).transpose()?;
    let address = match input.address {
        None => None,
        Some(a) => {
            let a = Address {
                street: clean(a.street),
                addition: clean(a.addition),
                postal_code: clean(a.postal_code),
                city: clean(a.city),
                country: clean(a.country).map(|c| c.to_ascii_uppercase()),
            };
            max_len("address.street", &a.street, MAX_ADDRESS_FIELD)?;
            max_len("address.addition", &a.addition, MAX_ADDRESS_FIELD)?;
            max_len("address.postal_code", &a.postal_code, 20)?;
            max_len("address.city", &a.city, MAX_ADDRESS_FIELD)?;
            if let Some(c) = &a.country {
                if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
                    return Err(PartnerError::Country);
                }
            }
            (a != Address::default()).then_some(a)
        }
    };
    let default_account = clean(input.default_account);
    if let Some(a) = &default_account {
        if !journal::ledger::is_valid_account_number(a) {
            return Err(PartnerError::DefaultAccount);
        }
    }
    let notes = clean(input.notes);
    max_len("notes", &notes, MAX_NOTES)?;
    Ok(ValidPartner {
        name,
        tax_id,
        vat_id,
        iban,
        bic,
        address,
        default_account,
        notes,
    })
}

/// A partner's default account must exist and be active; `is_active` is what the ledger says
/// about `number` (None: no such account).
pub fn check_default_account(number: &str, is_active: Option<bool>) -> Result<(), PartnerError> {
    match is_active {
        Some(true) => Ok(()),
        Some(false) => Err(PartnerError::InactiveDefaultAccount {
            number: number.to_string(),
        }),
        None => Err(PartnerError::UnknownDefaultAccount {
            number: number.to_string(),
        }),
    }
}

impl journal::Rule for PartnerError {
    fn code(&self) -> &'static str {
        PartnerError::code(self)
    }
    fn kind(&self) -> journal::RuleKind {
        journal::RuleKind::Invalid
    }
    fn field(&self) -> Option<String> {
        Some(PartnerError::field(self).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> PartnerInput {
        PartnerInput {
            name: "  Acme GmbH ".into(),
            tax_id: Some("143/123/45678".into()),
            vat_id: Some("de 123456789".into()),
            iban: Some("de89 3704 0044 0532 0130 00".into()),
            bic: Some("cobadeffxxx".into()),
            address: Some(Address {
                street: Some("Hauptstr. 1".into()),
                postal_code: Some("10115".into()),
                city: Some("Berlin".into()),
                country: Some("de".into()),
                ..Default::default()
            }),
            default_account: Some("8400".into()),
            notes: Some(" ".into()),
        }
    }

    #[test]
    fn normalizes_valid_master_data() {
        let p = validate_partner(input()).unwrap();
        assert_eq!(p.name, "Acme GmbH");
        assert_eq!(p.vat_id.as_deref(), Some("DE123456789"));
        assert_eq!(p.iban.as_deref(), Some("DE89370400440532013000"));
        assert_eq!(p.bic.as_deref(), Some("COBADEFFXXX"));
        assert_eq!(p.address.unwrap().country.as_deref(), Some("DE"));
        assert_eq!(p.notes, None);
    }

    #[test]
    fn names_the_field_of_each_error() {
        let cases: Vec<(PartnerInput, &str, &str)> = vec![
            (
                PartnerInput {
                    name: " ".into(),
                    ..input()
                },
                "name",
                "invalid_name",
            ),
            (
                PartnerInput {
                    iban: Some("DE00 3704 0044 0532 0130 00".into()),
                    ..input()
                },
                "iban",
                "invalid_iban",
            ),
            (
                PartnerInput {
                    bic: Some("COBA".into()),
                    ..input()
                },
                "bic",
                "invalid_bic",
            ),
            (
                PartnerInput {
                    vat_id: Some("DE12345".into()),
                    ..input()
                },
                "vat_id",
                "invalid_vat_id",
            ),
            (
                PartnerInput {
                    tax_id: Some("12#3".into()),
                    ..input()
                },
                "tax_id",
                "invalid_tax_id",
            ),
            (
                PartnerInput {
                    default_account: Some("84".into()),
                    ..input()
                },
                "default_account",
                "unknown_account",
            ),
            (
                PartnerInput {
                    address: Some(Address {
                        country: Some("DEU".into()),
                        ..Default::default()
                    }),
                    ..input()
                },
                "address.country",
                "invalid_country",
            ),
            (
                PartnerInput {
                    notes: Some("x".repeat(MAX_NOTES + 1)),
                    ..input()
                },
                "notes",
                "too_long",
            ),
        ];
        for (i, field, code) in cases {
            let e = validate_partner(i).unwrap_err();
            assert_eq!((e.field(), e.code()), (field, code), "{e}");
        }
    }

    #[test]
    fn an_empty_address_is_none() {
        let p = validate_partner(PartnerInput {
            address: Some(Address {
                city: Some(" ".into()),
                ..Default::default()
            }),
            ..input()
        })
        .unwrap();
        assert_eq!(p.address, None);
    }
}
