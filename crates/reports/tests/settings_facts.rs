//! The rules of tenant settings, of tax-code facts, and the monthly figures.

use journal::{FiscalCalendar, Rule, RuleKind};
use reports::{
    check_facts, decide_settings_change, monthly_revenue_expenses, vat_facts, PeriodMovement,
    Settings, SettingsChange, TaxCodeFacts, VatMethod,
};
use rust_decimal::Decimal;
use std::collections::HashMap;

fn current() -> Settings {
    Settings {
        datev_consultant_number: None,
        datev_client_number: None,
        account_length: 4,
        vat_method: VatMethod::Soll,
        fiscal_year_start_month: 1,
        chart: "skr03".into(),
        base_currency: "EUR".into(),
    }
}

#[test]
fn datev_numbers_and_method_change_at_any_time() {
    let change = SettingsChange {
        datev_consultant_number: Some(Some(1_234_567)),
        datev_client_number: Some(Some(10_001)),
        account_length: Some(5),
        vat_method: Some("ist".into()),
        ..Default::default()
    };
    let next = decide_settings_change(&current(), &change, true).unwrap();
    assert_eq!(next.datev_consultant_number, Some(1_234_567));
    assert_eq!(next.datev_client_number, Some(10_001));
    assert_eq!(next.account_length, 5);
    assert_eq!(next.vat_method, VatMethod::Ist);
    // null clears a DATEV number.
    let cleared = decide_settings_change(
        &next,
        &SettingsChange {
            datev_client_number: Some(None),
            ..Default::default()
        },
        true,
    )
    .unwrap();
    assert_eq!(cleared.datev_client_number, None);
    assert_eq!(cleared.datev_consultant_number, Some(1_234_567));
}

#[test]
fn values_outside_datev_ranges_are_refused_naming_the_field() {
    let cases: Vec<(SettingsChange, &str)> = vec![
        (
            SettingsChange {
                datev_consultant_number: Some(Some(1000)),
                ..Default::default()
            },
            "datev_consultant_number",
        ),
        (
            SettingsChange {
                datev_consultant_number: Some(Some(10_000_000)),
                ..Default::default()
            },
            "datev_consultant_number",
        ),
        (
            SettingsChange {
                datev_client_number: Some(Some(0)),
                ..Default::default()
            },
            "datev_client_number",
        ),
        (
            SettingsChange {
                datev_client_number: Some(Some(100_000)),
                ..Default::default()
            },
            "datev_client_number",
        ),
        (
            SettingsChange {
                account_length: Some(3),
                ..Default::default()
            },
            "account_length",
        ),
        (
            SettingsChange {
                account_length: Some(9),
                ..Default::default()
            },
            "account_length",
        ),
        (
            SettingsChange {
                vat_method: Some("cash".into()),
                ..Default::default()
            },
            "vat_method",
        ),
        (
            SettingsChange {
                fiscal_year_start_month: Some(13),
                ..Default::default()
            },
            "fiscal_year_start_month",
        ),
        (
            SettingsChange {
                chart: Some("skr49".into()),
                ..Default::default()
            },
            "chart",
        ),
        (
            SettingsChange {
                base_currency: Some("EURO".into()),
                ..Default::default()
            },
            "base_currency",
        ),
    ];
    for (change, field) in cases {
        let e = decide_settings_change(&current(), &change, false).unwrap_err();
        assert_eq!(e.code(), "invalid_setting", "{change:?}");
        assert_eq!(e.kind(), RuleKind::Invalid);
        assert_eq!(e.field().as_deref(), Some(field), "{change:?}");
    }
}

#[test]
fn calendar_chart_and_currency_are_read_only_once_booked() {
    let change = |f: fn(&mut SettingsChange)| {
        let mut c = SettingsChange::default();
        f(&mut c);
        c
    };
    let cases = [
        (
            change(|c| c.fiscal_year_start_month = Some(7)),
            "fiscal_year_start_month",
        ),
        (change(|c| c.chart = Some("skr04".into())), "chart"),
        (
            change(|c| c.base_currency = Some("USD".into())),
            "base_currency",
        ),
    ];
    for (c, field) in cases {
        assert!(decide_settings_change(&current(), &c, false).is_ok());
        let e = decide_settings_change(&current(), &c, true).unwrap_err();
        assert_eq!(e.code(), "setting_read_only");
        assert_eq!(e.kind(), RuleKind::Conflict);
        assert_eq!(e.field().as_deref(), Some(field));
    }
    // Sending the current value is no change.
    let same = SettingsChange {
        fiscal_year_start_month: Some(1),
        chart: Some("skr03".into()),
        base_currency: Some("EUR".into()),
        ..Default::default()
    };
    assert_eq!(
        decide_settings_change(&current(), &same, true).unwrap(),
        current()
    );
}

fn facts(
    side: Option<&str>,
    base: Option<&str>,
    tax: Option<&str>,
    input: Option<&str>,
    bu: Option<&str>,
) -> TaxCodeFacts {
    let s = |v: Option<&str>| v.map(str::to_string);
    TaxCodeFacts {
        vat_side: s(side),
        base_kennzahl: s(base),
        tax_kennzahl: s(tax),
        input_tax_kennzahl: s(input),
        datev_bu_key: s(bu),
    }
}

#[test]
fn tax_code_facts_rules() {
    let ok = [
        facts(Some("sales"), Some("81"), None, None, Some("3")),
        facts(
            Some("purchase"),
            Some("46"),
            Some("47"),
            Some("67"),
            Some("94"),
        ),
        facts(None, None, None, None, None),
        facts(None, None, None, None, Some("40")),
    ];
    for f in ok {
        assert_eq!(check_facts(&f), Ok(()), "{f:?}");
    }
    let bad = [
        (facts(Some("both"), None, None, None, None), "vat_side"),
        (
            facts(Some("sales"), Some("8"), None, None, None),
            "base_kennzahl",
        ),
        (
            facts(Some("sales"), Some("81a"), None, None, None),
            "base_kennzahl",
        ),
        (
            facts(Some("purchase"), None, Some("x7"), None, None),
            "tax_kennzahl",
        ),
        (facts(None, Some("81"), None, None, None), "vat_side"),
        (
            facts(Some("sales"), None, None, Some("66"), None),
            "input_tax_kennzahl",
        ),
        (
            facts(Some("sales"), None, None, None, Some("12345")),
            "datev_bu_key",
        ),
        (
            facts(Some("sales"), None, None, None, Some("")),
            "datev_bu_key",
        ),
        (
            facts(Some("sales"), None, None, None, Some("3a")),
            "datev_bu_key",
        ),
    ];
    for (f, field) in bad {
        let e = check_facts(&f).unwrap_err();
        assert_eq!(e.code(), "invalid_tax_code_facts");
        assert_eq!(e.field().as_deref(), Some(field), "{f:?}");
    }
}

#[test]
fn a_code_without_a_side_is_not_part_of_the_return() {
    assert!(vat_facts(&facts(None, None, None, None, Some("3"))).is_none());
    let f = vat_facts(&facts(
        Some("purchase"),
        Some("89"),
        None,
        Some("61"),
        Some("19"),
    ))
    .unwrap();
    assert_eq!(f.side, reports::VatSide::Purchase);
    assert_eq!(f.base_kz.as_deref(), Some("89"));
    assert_eq!(f.input_tax_kz.as_deref(), Some("61"));
}

#[test]
fn monthly_figures_follow_the_fiscal_calendar() {
    let calendar = FiscalCalendar::new(7).unwrap();
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    let mut movements = HashMap::new();
    movements.insert(
        1,
        PeriodMovement {
            revenue: d("-1000.00"),
            expenses: d("400.00"),
        },
    );
    movements.insert(
        6,
        PeriodMovement {
            revenue: d("50.00"),
            expenses: d("-10.00"),
        },
    );
    movements.insert(
        13,
        PeriodMovement {
            revenue: d("0"),
            expenses: d("99.00"),
        },
    );
    let (rows, adjustment) = monthly_revenue_expenses(&calendar, 2026, &movements);
    assert_eq!(rows.len(), 12);
    assert_eq!(rows[0].period, "2026-01");
    assert_eq!(rows[0].start_date.to_string(), "2026-07-01");
    assert_eq!(rows[11].end_date.to_string(), "2027-06-30");
    assert_eq!(rows[0].revenue, d("1000.00"));
    assert_eq!(rows[0].expenses, d("400.00"));
    assert_eq!(rows[0].result, d("600.00"));
    // Revenue reductions and expense refunds count against their side.
    assert_eq!(rows[5].revenue, d("-50.00"));
    assert_eq!(rows[5].result, d("-40.00"));
    assert!(rows[1].revenue.is_zero() && rows[1].result.is_zero());
    assert_eq!(adjustment.expenses, d("99.00"));
}

mod properties {
    use super::current;
    use proptest::prelude::*;
    use reports::{decide_settings_change, SettingsChange};

    fn change() -> impl Strategy<Value = SettingsChange> {
        (
            proptest::option::of(proptest::option::of(-5i64..10_000_005)),
            proptest::option::of(proptest::option::of(-5i64..100_005)),
            proptest::option::of(0i64..12),
            proptest::option::of(prop_oneof!["soll", "ist", "cash"].prop_map(String::from)),
            proptest::option::of(0i64..14),
            proptest::option::of(prop_oneof!["skr03", "skr04", "skr07"].prop_map(String::from)),
            proptest::option::of(prop_oneof!["EUR", "USD", "EURO"].prop_map(String::from)),
        )
            .prop_map(|(a, b, c, d, e, f, g)| SettingsChange {
                datev_consultant_number: a,
                datev_client_number: b,
                account_length: c,
                vat_method: d,
                fiscal_year_start_month: e,
                chart: f,
                base_currency: g,
            })
    }

    proptest! {
        /// Whatever a change asks: what it decides is within DATEV's ranges, and once booked the
        /// calendar, chart and currency are what they were.
        #[test]
        fn decided_settings_keep_the_rules(c in change(), booked in any::<bool>()) {
            let now = current();
            if let Ok(next) = decide_settings_change(&now, &c, booked) {
                if let Some(n) = next.datev_consultant_number {
                    prop_assert!((1001..=9_999_999).contains(&n));
                }
                if let Some(n) = next.datev_client_number {
                    prop_assert!((1..=99_999).contains(&n));
                }
                prop_assert!((4..=8).contains(&next.account_length));
                prop_assert!((1..=12).contains(&next.fiscal_year_start_month));
                prop_assert!(next.chart == "skr03" || next.chart == "skr04");
                if booked {
                    prop_assert_eq!(next.fiscal_year_start_month, now.fiscal_year_start_month);
                    prop_assert_eq!(&next.chart, &now.chart);
                    prop_assert_eq!(&next.base_currency, &now.base_currency);
                }
            }
        }
    }
}
