//! Trial balance, P&L, balance sheet and VAT return: tables and properties.

use journal::{AccountType, Rule};
use proptest::prelude::*;
use reports::{
    balance_sheet, balance_sheet_result, financial_statements, profit_and_loss, trial_balance,
    vat_return, AccountSums, KennzahlKind, ReportError, RowType, Span, VatCodeSums, VatFacts,
    VatSide,
};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// The chart the tests book on: (number, type, report group, collective account).
const CHART: &[(&str, AccountType, &str, Option<&str>)] = &[
    ("0200", AccountType::Asset, "bs.aktiva.A.II.2", None),
    ("1200", AccountType::Asset, "bs.aktiva.B.IV", None),
    ("1400", AccountType::Asset, "bs.aktiva.B.II.1", None),
    (
        "10001",
        AccountType::Asset,
        "bs.aktiva.B.II.1",
        Some("1400"),
    ),
    (
        "10002",
        AccountType::Asset,
        "bs.aktiva.B.II.1",
        Some("1400"),
    ),
    ("1600", AccountType::Liability, "bs.passiva.C.4", None),
    (
        "70001",
        AccountType::Liability,
        "bs.passiva.C.4",
        Some("1600"),
    ),
    ("1776", AccountType::Liability, "bs.passiva.C.8", None),
    ("0800", AccountType::Equity, "bs.passiva.A.I", None),
    ("9000", AccountType::Equity, "", None),
    ("8400", AccountType::Revenue, "pl.1", None),
    ("2700", AccountType::Revenue, "pl.4", None),
    ("3400", AccountType::Expense, "pl.5a", None),
    ("4120", AccountType::Expense, "pl.6a", None),
    ("4930", AccountType::Expense, "pl.8", None),
    ("2100", AccountType::Expense, "pl.13", None),
];

fn account(number: &str) -> AccountSums {
    let (n, t, g, c) = CHART.iter().find(|a| a.0 == number).unwrap();
    AccountSums {
        number: n.to_string(),
        name: format!("Konto {n}"),
        account_type: *t,
        report_group: (!g.is_empty()).then(|| g.to_string()),
        collective_account: c.map(str::to_string),
        opening: Decimal::ZERO,
        period_debit: Decimal::ZERO,
        period_credit: Decimal::ZERO,
        ytd_debit: Decimal::ZERO,
        ytd_credit: Decimal::ZERO,
    }
}

/// When a booking falls: before the fiscal year, in the year before the period, in the period.
#[derive(Debug, Clone, Copy)]
enum When {
    PriorYear,
    EarlierThisYear,
    Period,
}

/// Books `amount` from `debit` to `credit` into the sums.
fn post(
    books: &mut BTreeMap<String, AccountSums>,
    debit: &str,
    credit: &str,
    amount: Decimal,
    when: When,
) {
    for (number, is_debit) in [(debit, true), (credit, false)] {
        let a = books
            .entry(number.into())
            .or_insert_with(|| account(number));
        match when {
            When::PriorYear => a.opening += if is_debit { amount } else { -amount },
            When::EarlierThisYear | When::Period => {
                if is_debit {
                    a.ytd_debit += amount;
                } else {
                    a.ytd_credit += amount;
                }
                if let When::Period = when {
                    if is_debit {
                        a.period_debit += amount;
                    } else {
                        a.period_credit += amount;
                    }
                }
            }
        }
    }
}

/// Every account of the chart, as `store` loads them, with nothing booked yet.
fn new_book() -> BTreeMap<String, AccountSums> {
    CHART
        .iter()
        .map(|a| (a.0.to_string(), account(a.0)))
        .collect()
}

fn small_book() -> Vec<AccountSums> {
    let mut b = new_book();
    post(&mut b, "1200", "0800", d("25000"), When::PriorYear);
    post(&mut b, "0200", "1200", d("10000"), When::PriorYear);
    post(&mut b, "10001", "8400", d("1000"), When::EarlierThisYear);
    post(&mut b, "10002", "8400", d("500"), When::Period);
    post(&mut b, "1200", "10001", d("1000"), When::Period);
    post(&mut b, "3400", "70001", d("300"), When::Period);
    post(&mut b, "4930", "1200", d("99.99"), When::Period);
    b.into_values().collect()
}

fn labels() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("pl.1".into(), "Umsatzerlöse".into()),
        (
            "bs.aktiva.B.IV".into(),
            "Kassenbestand, Guthaben bei Kreditinstituten".into(),
        ),
    ])
}

/// Row type, account, opening, period debit/credit, year-to-date debit/credit, closing.
type TbLine<'a> = (
    RowType,
    &'a str,
    Decimal,
    Decimal,
    Decimal,
    Decimal,
    Decimal,
    Decimal,
);

#[test]
fn trial_balance_rolls_personal_accounts_up_without_counting_twice() {
    let tb = trial_balance(&small_book()).unwrap();
    assert!(tb.balanced);
    let list: Vec<TbLine> = tb
        .rows
        .iter()
        .map(|r| {
            (
                r.row_type,
                r.account.as_deref().unwrap(),
                r.opening_balance,
                r.period_debit,
                r.period_credit,
                r.ytd_debit,
                r.ytd_credit,
                r.closing_balance,
            )
        })
        .collect();
    let z = Decimal::ZERO;
    use RowType::{Account as A, Personal as P};
    assert_eq!(
        list,
        vec![
            (A, "0200", d("10000"), z, z, z, z, d("10000")),
            (A, "0800", d("-25000"), z, z, z, z, d("-25000")),
            (
                A,
                "1200",
                d("15000"),
                d("1000"),
                d("99.99"),
                d("1000"),
                d("99.99"),
                d("15900.01")
            ),
            (
                A,
                "1400",
                z,
                d("500"),
                d("1000"),
                d("1500"),
                d("1000"),
                d("500")
            ),
            (P, "10001", z, z, d("1000"), d("1000"), d("1000"), z),
            (P, "10002", z, d("500"), z, d("500"), z, d("500")),
            (A, "1600", z, z, d("300"), z, d("300"), d("-300")),
            (P, "70001", z, z, d("300"), z, d("300"), d("-300")),
            (A, "3400", z, d("300"), z, d("300"), z, d("300")),
            (A, "4930", z, d("99.99"), z, d("99.99"), z, d("99.99")),
            (A, "8400", z, z, d("500"), z, d("1500"), d("-1500")),
        ]
    );
    let t = &tb.totals;
    assert_eq!(t.row_type, RowType::Total);
    assert_eq!(
        (t.period_debit, t.period_credit),
        (d("1899.99"), d("1899.99"))
    );
    assert_eq!((t.ytd_debit, t.ytd_credit), (d("2899.99"), d("2899.99")));
    assert_eq!((t.opening_balance, t.closing_balance), (z, z));
    let json = serde_json::to_string(&tb.totals).unwrap();
    assert!(json.contains("\"row_type\":\"total\""), "{json}");
}

#[test]
fn profit_and_loss_by_report_group_profit_positive() {
    let pl = profit_and_loss(&small_book(), &labels(), Span::YearToDate).unwrap();
    let list: Vec<(&str, &str, Decimal)> = pl
        .rows
        .iter()
        .map(|r| (r.report_group.as_str(), r.label.as_str(), r.amount))
        .collect();
    assert_eq!(
        list,
        vec![
            ("pl.1", "Umsatzerlöse", d("1500")),
            ("pl.5a", "pl.5a", d("-300")),
            ("pl.8", "pl.8", d("-99.99")),
        ]
    );
    assert_eq!(pl.totals.amount, d("1100.01"));
    assert_eq!(pl.totals.row_type, RowType::Total);
    let period = profit_and_loss(&small_book(), &labels(), Span::Period).unwrap();
    assert_eq!(period.totals.amount, d("100.01"));
}

#[test]
fn balance_sheet_liabilities_positive_and_balanced() {
    let bs = balance_sheet(&small_book(), &labels()).unwrap();
    let list: Vec<(RowType, &str, Decimal)> = bs
        .rows
        .iter()
        .map(|r| (r.row_type, r.report_group.as_str(), r.amount))
        .collect();
    use RowType::{Group as G, Subtotal as S};
    assert_eq!(
        list,
        vec![
            (G, "bs.aktiva.A.II.2", d("10000")),
            (G, "bs.aktiva.B.II.1", d("500")),
            (G, "bs.aktiva.B.IV", d("15900.01")),
            (S, "", d("26400.01")),
            (G, "bs.passiva.A.I", d("25000")),
            (G, "bs.passiva.A.V", d("1100.01")),
            (G, "bs.passiva.C.4", d("300")),
            (S, "", d("26400.01")),
        ]
    );
    assert!(bs.balanced);
    assert_eq!(bs.totals.amount, d("26400.01"));
    assert_eq!(balance_sheet_result(&bs), d("1100.01"));
}

#[test]
fn the_statements_check_each_other() {
    let (pl, bs) = financial_statements(&small_book(), &labels()).unwrap();
    assert!(pl.balanced && bs.balanced);
    assert_eq!(pl.totals.amount, balance_sheet_result(&bs));
    // a one-sided sum (a projection out of step) shows as unbalanced everywhere
    let mut book = small_book();
    book.iter_mut()
        .find(|a| a.number == "8400")
        .unwrap()
        .ytd_credit += d("0.01");
    let (pl, bs) = financial_statements(&book, &labels()).unwrap();
    assert!(!pl.balanced && !bs.balanced);
    assert!(!trial_balance(&book).unwrap().balanced);
}

#[test]
fn unclosed_results_of_earlier_years_are_carried_forward() {
    let mut b = new_book();
    post(&mut b, "1200", "8400", d("700"), When::PriorYear);
    post(&mut b, "1200", "8400", d("50"), When::Period);
    let book: Vec<_> = b.into_values().collect();
    let (pl, bs) = financial_statements(&book, &labels()).unwrap();
    assert!(bs.balanced && pl.balanced);
    let get = |g: &str| bs.rows.iter().find(|r| r.report_group == g).unwrap().amount;
    assert_eq!(get("bs.passiva.A.IV"), d("700"));
    assert_eq!(get("bs.passiva.A.V"), d("50"));
}

#[test]
fn groups_follow_the_order_of_the_law() {
    let mut b = new_book();
    post(&mut b, "2100", "1200", d("1"), When::Period); // pl.13
    post(&mut b, "4120", "1200", d("1"), When::Period); // pl.6a
    post(&mut b, "3400", "1200", d("1"), When::Period); // pl.5a
    post(&mut b, "1200", "2700", d("1"), When::Period); // pl.4
    let book: Vec<_> = b.into_values().collect();
    let pl = profit_and_loss(&book, &labels(), Span::Period).unwrap();
    let order: Vec<&str> = pl.rows.iter().map(|r| r.report_group.as_str()).collect();
    assert_eq!(order, vec!["pl.4", "pl.5a", "pl.6a", "pl.13"]);
}

#[test]
fn accounts_without_a_group_go_by_their_type() {
    let mut b = new_book();
    post(&mut b, "1200", "9000", d("10"), When::PriorYear);
    let bs = balance_sheet(&b.into_values().collect::<Vec<_>>(), &labels()).unwrap();
    assert!(bs.balanced);
    let unassigned = bs
        .rows
        .iter()
        .find(|r| r.report_group == "bs.passiva.unassigned")
        .unwrap();
    assert_eq!(
        (unassigned.label.as_str(), unassigned.amount),
        ("Nicht zugeordnet", d("10"))
    );
}

#[test]
fn unknown_collective_account() {
    let mut orphan = account("10001");
    orphan.collective_account = Some("1410".into());
    let e = trial_balance(&[account("1400"), orphan]).unwrap_err();
    assert_eq!(e.code(), "unknown_collective_account");
    assert_eq!(e.field().as_deref(), Some("account"));
    assert!(e.to_string().contains("does not exist"));
    let mut nested = account("10002");
    nested.collective_account = Some("10001".into());
    let e = trial_balance(&[account("1400"), account("10001"), nested]).unwrap_err();
    assert_eq!(
        e,
        ReportError::UnknownCollectiveAccount {
            account: "10002".into(),
            collective: "10001".into(),
            reason: "is a personal account",
        }
    );
}

#[test]
fn duplicate_account() {
    let book = vec![account("1200"), account("1200")];
    for e in [
        trial_balance(&book).unwrap_err(),
        profit_and_loss(&book, &labels(), Span::Period).unwrap_err(),
        balance_sheet(&book, &labels()).unwrap_err(),
    ] {
        assert_eq!(e.code(), "duplicate_account");
    }
}

fn vat_facts() -> HashMap<String, VatFacts> {
    let f = |side, base: &str, tax: &str, input: &str| VatFacts {
        side,
        base_kz: (!base.is_empty()).then(|| base.to_string()),
        tax_kz: (!tax.is_empty()).then(|| tax.to_string()),
        input_tax_kz: (!input.is_empty()).then(|| input.to_string()),
    };
    HashMap::from([
        ("USt19".into(), f(VatSide::Sales, "81", "", "")),
        ("USt7".into(), f(VatSide::Sales, "86", "", "")),
        ("IGL".into(), f(VatSide::Sales, "41", "", "")),
        ("VSt19".into(), f(VatSide::Purchase, "", "", "66")),
        ("RC13b".into(), f(VatSide::Purchase, "46", "47", "67")),
        ("IGE19".into(), f(VatSide::Purchase, "89", "93", "61")),
    ])
}

fn sums(code: &str, base: &str, tax: &str, own: &str) -> VatCodeSums {
    VatCodeSums {
        code: code.into(),
        base: d(base),
        tax: d(tax),
        self_assessed: d(own),
    }
}

#[test]
fn vat_return_kennzahlen_and_the_payable() {
    let input = vec![
        sums("USt19", "-10000.50", "-1900.10", "0"),
        sums("USt7", "-200", "-14", "0"),
        sums("IGL", "-5000", "0", "0"),
        sums("VSt19", "3000", "570", "0"),
        sums("RC13b", "1000", "190", "-190"),
        sums("IGE19", "2000", "380", "-380"),
    ];
    // the VAT accounts: 1776 −1900.10, 1771 −14, 1576 +570, 1577 +190, 1787 −190, … net
    let movement = d("-1900.10") + d("-14") + d("570") + d("190") - d("190") + d("380") - d("380");
    let r = vat_return(&input, &vat_facts(), movement).unwrap();
    let list: Vec<(&str, KennzahlKind, Decimal, Decimal)> = r
        .rows
        .iter()
        .map(|x| (x.kennzahl.as_str(), x.kind, x.amount, x.reported))
        .collect();
    use KennzahlKind::{Base as B, InputTax as I, Tax as T};
    assert_eq!(
        list,
        vec![
            ("41", B, d("5000"), d("5000")),
            ("46", B, d("1000"), d("1000")),
            ("47", T, d("190"), d("190")),
            ("61", I, d("380"), d("380")),
            ("66", I, d("570"), d("570")),
            ("67", I, d("190"), d("190")),
            ("81", B, d("10000.50"), d("10000")),
            ("86", B, d("200"), d("200")),
            ("89", B, d("2000"), d("2000")),
            ("93", T, d("380"), d("380")),
        ]
    );
    assert_eq!(r.totals.kennzahl, "83");
    assert_eq!(r.totals.amount, d("1344.10"));
    assert!(r.balanced);
    let off = vat_return(&input, &vat_facts(), movement - d("1")).unwrap();
    assert!(!off.balanced);
}

#[test]
fn vat_return_unknown_tax_code() {
    let e = vat_return(&[sums("XY", "1", "0", "0")], &vat_facts(), Decimal::ZERO).unwrap_err();
    assert_eq!(e.code(), "unknown_tax_code");
    assert_eq!(e.field().as_deref(), Some("tax_code"));
}

fn booking() -> impl Strategy<Value = (usize, usize, Decimal, u8)> {
    (
        0..CHART.len(),
        0..CHART.len(),
        1i64..=100_000_000i64,
        0u8..3,
    )
        .prop_filter("two accounts", |(a, b, _, _)| a != b)
        .prop_map(|(a, b, cents, when)| (a, b, Decimal::new(cents, 2), when))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// For any balanced books: the trial balance's debits equal its credits, the balance sheet
    /// balances and its result equals the P&L's.
    #[test]
    fn balanced_books_give_balanced_reports(bookings in proptest::collection::vec(booking(), 0..60)) {
        let mut b = new_book();
        for (debit, credit, amount, when) in bookings {
            let when = [When::PriorYear, When::EarlierThisYear, When::Period][when as usize];
            post(&mut b, CHART[debit].0, CHART[credit].0, amount, when);
        }
        let book: Vec<AccountSums> = b.into_values().collect();
        let tb = trial_balance(&book).unwrap();
        prop_assert!(tb.balanced);
        prop_assert_eq!(tb.totals.period_debit, tb.totals.period_credit);
        prop_assert_eq!(tb.totals.ytd_debit, tb.totals.ytd_credit);
        let top: Decimal = tb.rows.iter().filter(|r| r.row_type == RowType::Account).map(|r| r.ytd_debit).sum();
        let all: Decimal = book.iter().map(|a| a.ytd_debit).sum();
        prop_assert_eq!(top, all);
        let (pl, bs) = financial_statements(&book, &labels()).unwrap();
        prop_assert!(bs.balanced);
        prop_assert!(pl.balanced);
        prop_assert_eq!(pl.totals.amount, balance_sheet_result(&bs));
    }
}

/// Every rule of the crate: a stable, distinct code, and 400 (`Invalid`) as its kind.
#[test]
fn every_error_is_a_rule_with_its_own_code() {
    use journal::RuleKind;
    use reports::{ConvertError, DatevError};
    let rules: Vec<Box<dyn Rule>> = vec![
        Box::new(DatevError::InvalidSettings {
            field: "account_length",
            reason: "must be 4 to 8",
        }),
        Box::new(DatevError::InvalidDateRange),
        Box::new(DatevError::RangeCrossesFiscalYear {
            from: "2024-12-01".into(),
            to: "2025-01-31".into(),
        }),
        Box::new(DatevError::AmountTooLarge {
            booking: "b".into(),
            column: "Umsatz",
            amount: "1".into(),
        }),
        Box::new(DatevError::BookingOutsideRange {
            booking: "b".into(),
            date: "2024-01-01".into(),
        }),
        Box::new(DatevError::InvalidField {
            booking: "b".into(),
            column: "Konto",
            reason: "must be 1 to 9 digits",
        }),
        Box::new(ConvertError::Unbalanced {
            booking: "b".into(),
        }),
        Box::new(ConvertError::ConflictingTaxKeys {
            booking: "b".into(),
        }),
        Box::new(ReportError::UnknownCollectiveAccount {
            account: "10001".into(),
            collective: "1400".into(),
            reason: "does not exist",
        }),
        Box::new(ReportError::DuplicateAccount {
            account: "1200".into(),
        }),
        Box::new(ReportError::UnknownTaxCode { code: "XY".into() }),
    ];
    let codes: std::collections::BTreeSet<&str> = rules.iter().map(|r| r.code()).collect();
    assert_eq!(codes.len(), rules.len());
    for r in &rules {
        assert_eq!(r.kind(), RuleKind::Invalid);
        assert!(!r.to_string().is_empty());
    }
}
