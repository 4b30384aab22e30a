//! Partner rules as given/when/then tables: the personal-account number and master data.

use journal::chart::Chart;
use journal::{Rule, RuleKind};
use receivables::{
    check_default_account, lowest_free_number, next_partner_number, validate_partner, Address,
    NextNumber, NumberRange, PartnerError, PartnerInput, PartnerKind, PartnerNumberError,
};

const SKR03: &str = include_str!("../../../fixtures/charts/skr03.json");
const SKR04: &str = include_str!("../../../fixtures/charts/skr04.json");

fn range(first: &str, last: &str) -> NumberRange {
    NumberRange {
        first: first.into(),
        last: last.into(),
    }
}

fn chart_with_roles(roles: serde_json::Value) -> Chart {
    let mut chart = Chart::parse(SKR03).unwrap();
    chart.roles = serde_json::from_value(roles).unwrap();
    chart
}

#[test]
fn ranges_come_from_the_chart_else_the_default() {
    let skr03 = Chart::parse(SKR03).unwrap();
    let skr04 = Chart::parse(SKR04).unwrap();
    let own = chart_with_roles(serde_json::json!({"debtor_range": ["200000", "299999"]}));
    let malformed = [
        serde_json::json!({"debtor_range": ["2000", "299999"]}),
        serde_json::json!({"debtor_range": ["29999", "20000"]}),
        serde_json::json!({"debtor_range": "20000-29999"}),
        serde_json::json!({"debtor_range": ["2000x", "2999x"]}),
        serde_json::json!({"debtor_range": ["20000"]}),
    ];
    let cases: Vec<(PartnerKind, Option<&Chart>, NumberRange)> = vec![
        (PartnerKind::Customer, Some(&skr03), range("10000", "69999")),
        (PartnerKind::Vendor, Some(&skr03), range("70000", "99999")),
        (PartnerKind::Customer, Some(&skr04), range("10000", "69999")),
        (PartnerKind::Vendor, Some(&skr04), range("70000", "99999")),
        (PartnerKind::Customer, None, range("10000", "69999")),
        (PartnerKind::Vendor, None, range("70000", "99999")),
        (PartnerKind::Customer, Some(&own), range("200000", "299999")),
        // the chart names no creditor range: the default
        (PartnerKind::Vendor, Some(&own), range("70000", "99999")),
    ];
    for (kind, chart, then) in cases {
        assert_eq!(NumberRange::of(kind, chart), then, "{kind:?}");
    }
    for roles in malformed {
        let chart = chart_with_roles(roles.clone());
        assert_eq!(
            NumberRange::of(PartnerKind::Customer, Some(&chart)),
            range("10000", "69999"),
            "{roles}"
        );
    }
}

#[test]
fn the_next_number() {
    use NextNumber::{LowestFree, Take};
    let debtors = range("10000", "69999");
    // given the highest number in use, when a partner is created, then …
    let cases: [(&NumberRange, Option<&str>, NextNumber); 7] = [
        (&debtors, None, Take("10000".into())),
        (&debtors, Some("10000"), Take("10001".into())),
        (&debtors, Some("10009"), Take("10010".into())),
        (&debtors, Some("69998"), Take("69999".into())),
        (&debtors, Some("69999"), LowestFree),
        (&range("70000", "99999"), Some("99999"), LowestFree),
        (&range("0100", "0199"), Some("0109"), Take("0110".into())),
    ];
    for (range, highest, then) in cases {
        assert_eq!(next_partner_number(range, highest), then, "{highest:?}");
    }
}

#[test]
fn the_lowest_free_number_once_the_top_is_taken() {
    let debtors = range("10000", "69999");
    let cases: [(Option<&str>, Result<&str, &str>); 5] = [
        (Some("10000"), Ok("10000")),
        (Some("10042"), Ok("10042")),
        (Some("69999"), Ok("69999")),
        (None, Err("account_range_exhausted")),
        // a number outside the range is no gap of it
        (Some("70000"), Err("account_range_exhausted")),
    ];
    for (gap, then) in cases {
        let got = lowest_free_number(&debtors, gap.map(str::to_string));
        assert_eq!(
            got.as_deref().map_err(PartnerNumberError::code),
            then,
            "{gap:?}"
        );
    }
}

#[test]
fn an_exhausted_range_is_a_conflict() {
    let e = lowest_free_number(&range("70000", "99999"), None).unwrap_err();
    assert_eq!(
        e,
        PartnerNumberError::RangeExhausted {
            first: "70000".into(),
            last: "99999".into()
        }
    );
    assert_eq!(Rule::code(&e), "account_range_exhausted");
    assert_eq!(e.kind(), RuleKind::Conflict);
    assert_eq!(e.field(), None);
    assert_eq!(
        e.to_string(),
        "every account number from 70000 to 99999 is taken"
    );
}

#[test]
fn personal_accounts_by_kind() {
    let cases = [
        (
            PartnerKind::Customer,
            "receivables",
            "debtor_range",
            ("asset", "debtors"),
        ),
        (
            PartnerKind::Vendor,
            "payables",
            "creditor_range",
            ("liability", "creditors"),
        ),
    ];
    for (kind, collective, range_role, account) in cases {
        assert_eq!(kind.collective_role(), collective);
        assert_eq!(kind.range_role(), range_role);
        assert_eq!(kind.personal_account_type(), account);
        assert_eq!(PartnerKind::parse(kind.as_str()), Some(kind));
    }
    assert_eq!(PartnerKind::parse("supplier"), None);
}

fn valid() -> PartnerInput {
    PartnerInput {
        name: "Acme GmbH".into(),
        ..Default::default()
    }
}

#[test]
fn every_validation_code_with_its_field() {
    let long = |n: usize| Some("x".repeat(n));
    let address = |a: Address| PartnerInput {
        address: Some(a),
        ..valid()
    };
    // given the input, when validated, then the code and the field
    let cases: Vec<(&str, PartnerInput, &str, &str)> = vec![
        (
            "empty name",
            PartnerInput {
                name: "  ".into(),
                ..valid()
            },
            "invalid_name",
            "name",
        ),
        (
            "long name",
            PartnerInput {
                name: "x".repeat(201),
                ..valid()
            },
            "invalid_name",
            "name",
        ),
        (
            "long tax id",
            PartnerInput {
                tax_id: long(31),
                ..valid()
            },
            "too_long",
            "tax_id",
        ),
        (
            "tax id chars",
            PartnerInput {
                tax_id: Some("12#3".into()),
                ..valid()
            },
            "invalid_tax_id",
            "tax_id",
        ),
        (
            "vat id",
            PartnerInput {
                vat_id: Some("DE12345".into()),
                ..valid()
            },
            "invalid_vat_id",
            "vat_id",
        ),
        (
            "iban check digits",
            PartnerInput {
                iban: Some("DE00370400440532013000".into()),
                ..valid()
            },
            "invalid_iban",
            "iban",
        ),
        (
            "bic",
            PartnerInput {
                bic: Some("COBA".into()),
                ..valid()
            },
            "invalid_bic",
            "bic",
        ),
        (
            "street",
            address(Address {
                street: long(201),
                ..Default::default()
            }),
            "too_long",
            "address.street",
        ),
        (
            "addition",
            address(Address {
                addition: long(201),
                ..Default::default()
            }),
            "too_long",
            "address.addition",
        ),
        (
            "postal code",
            address(Address {
                postal_code: long(21),
                ..Default::default()
            }),
            "too_long",
            "address.postal_code",
        ),
        (
            "city",
            address(Address {
                city: long(201),
                ..Default::default()
            }),
            "too_long",
            "address.city",
        ),
        (
            "country",
            address(Address {
                country: Some("DEU".into()),
                ..Default::default()
            }),
            "invalid_country",
            "address.country",
        ),
        (
            "country digits",
            address(Address {
                country: Some("D1".into()),
                ..Default::default()
            }),
            "invalid_country",
            "address.country",
        ),
        (
            "default account",
            PartnerInput {
                default_account: Some("84".into()),
                ..valid()
            },
            "unknown_account",
            "default_account",
        ),
        (
            "notes",
            PartnerInput {
                notes: long(2001),
                ..valid()
            },
            "too_long",
            "notes",
        ),
    ];
    for (case, input, code, field) in cases {
        let e = validate_partner(input).unwrap_err();
        assert_eq!((e.code(), e.field()), (code, field), "{case}: {e}");
        assert_eq!(e.kind(), RuleKind::Invalid, "{case}");
        assert_eq!(Rule::field(&e).as_deref(), Some(field), "{case}");
    }
}

#[test]
fn limits_are_inclusive() {
    let at_limit = PartnerInput {
        name: "x".repeat(200),
        tax_id: Some("1".repeat(30)),
        notes: Some("x".repeat(2000)),
        address: Some(Address {
            postal_code: Some("1".repeat(20)),
            ..Default::default()
        }),
        ..valid()
    };
    assert!(validate_partner(at_limit).is_ok());
}

#[test]
fn the_default_account_must_exist_and_be_active() {
    let cases: [(Option<bool>, Result<(), &str>); 3] = [
        (Some(true), Ok(())),
        (
            Some(false),
            Err("default_account: account 8400 is inactive"),
        ),
        (None, Err("default_account: account 8400 does not exist")),
    ];
    for (active, then) in cases {
        let got = check_default_account("8400", active);
        assert_eq!(
            got.clone().map_err(|e| e.to_string()),
            then.map_err(str::to_string),
            "{active:?}"
        );
        if let Err(e) = got {
            assert_eq!(
                (e.code(), e.field()),
                ("unknown_account", "default_account")
            );
            assert!(matches!(
                e,
                PartnerError::UnknownDefaultAccount { .. }
                    | PartnerError::InactiveDefaultAccount { .. }
            ));
        }
    }
}
