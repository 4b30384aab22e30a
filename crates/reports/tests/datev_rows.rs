//! From journal lines to DATEV rows: table tests and a property over random balanced intents.

use chrono::NaiveDate;
use journal::{Currency, Generated, JournalLine, Rule, Side};
use proptest::prelude::*;
use reports::{datev_rows, intent_rows, ConvertError, DatevFacts, DatevIntent, DatevRow};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

struct Code {
    rate: Decimal,
    vat: &'static str,
    own: Option<&'static str>,
    key: Option<&'static str>,
}

fn codes() -> HashMap<&'static str, Code> {
    let c = |rate: &str, vat, own, key| Code {
        rate: d(rate),
        vat,
        own,
        key,
    };
    HashMap::from([
        ("USt19", c("19", "1776", None, Some("3"))),
        ("USt7", c("7", "1771", None, Some("2"))),
        ("VSt19", c("19", "1576", None, Some("9"))),
        ("RC19", c("19", "1577", Some("1787"), Some("94"))),
        ("NOKEY19", c("19", "1776", None, None)),
    ])
}

/// Automatic accounts and the tax code DATEV applies on them.
fn automatic() -> HashMap<&'static str, &'static str> {
    HashMap::from([("8400", "USt19"), ("3400", "VSt19")])
}

/// DATEV's "Aufhebung der Automatik".
const CANCEL: &str = "40";

fn facts() -> DatevFacts {
    DatevFacts {
        bu_keys: codes()
            .into_iter()
            .filter_map(|(k, c)| c.key.map(|key| (k.to_string(), key.to_string())))
            .collect(),
        automatic_accounts: automatic().keys().map(|a| a.to_string()).collect(),
        cancel_automatic_key: Some(CANCEL.into()),
    }
}

fn plain(account: &str, side: Side, amount: Decimal) -> JournalLine {
    JournalLine {
        account: account.into(),
        side,
        amount,
        currency: Currency::EUR,
        base_amount: amount,
        tax_code: None,
        tax_rate: None,
        generated: None,
        description: None,
        cost_center: None,
    }
}

/// Lines as `decide_booking` writes them: the caller's lines, then the generated tax lines.
fn book(input: &[(&str, Side, &str, Option<&str>)]) -> Vec<JournalLine> {
    book_d(
        &input
            .iter()
            .map(|(a, s, x, c)| (a.to_string(), *s, d(x), c.map(str::to_string)))
            .collect::<Vec<_>>(),
    )
}

fn book_d(input: &[(String, Side, Decimal, Option<String>)]) -> Vec<JournalLine> {
    let codes = codes();
    let mut lines = Vec::new();
    let mut tax_lines = Vec::new();
    for (account, side, amount, code) in input {
        let mut line = plain(account, *side, *amount);
        if let Some(code) = code {
            let c = &codes[code.as_str()];
            line.tax_code = Some(code.clone());
            line.tax_rate = Some(c.rate);
            let tax = Currency::EUR.round(amount * c.rate / Decimal::ONE_HUNDRED);
            if !tax.is_zero() {
                let mut t = plain(c.vat, *side, tax);
                t.tax_code = Some(code.clone());
                t.tax_rate = Some(c.rate);
                t.generated = Some(Generated::Tax);
                tax_lines.push(t);
                if let Some(own) = c.own {
                    let mut o = plain(own, side.opposite(), tax);
                    o.tax_code = Some(code.clone());
                    o.tax_rate = Some(c.rate);
                    o.generated = Some(Generated::SelfAssessment);
                    tax_lines.push(o);
                }
            }
        }
        lines.push(line);
    }
    lines.extend(tax_lines);
    lines
}

fn intent(lines: Vec<JournalLine>) -> DatevIntent {
    DatevIntent {
        booking: "intent-1".into(),
        date: NaiveDate::from_ymd_opt(2024, 3, 5).unwrap(),
        document_number: Some("RE-1".into()),
        description: Some("Rechnung 1".into()),
        document_link: None,
        locked: true,
        lines,
    }
}

fn rows(input: &[(&str, Side, &str, Option<&str>)]) -> Vec<DatevRow> {
    intent_rows(&intent(book(input)), &facts()).unwrap()
}

/// (Konto, S/H, Gegenkonto, amount, BU, GU) of each row.
fn brief(rows: &[DatevRow]) -> Vec<(String, char, String, Decimal, Option<String>, bool)> {
    rows.iter()
        .map(|r| {
            (
                r.account.clone(),
                if r.side == Side::Debit { 'S' } else { 'H' },
                r.contra_account.clone(),
                r.amount,
                r.bu_key.clone(),
                r.reversal,
            )
        })
        .collect()
}

fn b(
    k: &str,
    s: char,
    g: &str,
    x: &str,
    bu: Option<&str>,
    gu: bool,
) -> (String, char, String, Decimal, Option<String>, bool) {
    (k.into(), s, g.into(), d(x), bu.map(str::to_string), gu)
}

use Side::{Credit as C, Debit as D};

#[test]
fn tax_with_a_key_folds_into_one_gross_row() {
    let r = rows(&[
        ("10000", D, "1190", None),
        ("8100", C, "1000", Some("USt19")),
    ]);
    assert_eq!(
        brief(&r),
        vec![b("10000", 'S', "8100", "1190", Some("3"), false)]
    );
    assert_eq!(r[0].document_number.as_deref(), Some("RE-1"));
    assert_eq!(r[0].text.as_deref(), Some("Rechnung 1"));
    assert!(r[0].locked);
}

#[test]
fn an_automatic_account_gets_the_gross_amount_without_a_key() {
    let r = rows(&[
        ("10000", D, "1190", None),
        ("8400", C, "1000", Some("USt19")),
    ]);
    assert_eq!(
        brief(&r),
        vec![b("10000", 'S', "8400", "1190", None, false)]
    );
    // an automatic account on the debit side is the Gegenkonto too
    let r = rows(&[("3400", D, "100", Some("VSt19")), ("70001", C, "119", None)]);
    assert_eq!(brief(&r), vec![b("70001", 'H', "3400", "119", None, false)]);
}

#[test]
fn an_automatic_account_without_tax_switches_the_automatic_off() {
    let r = rows(&[("1200", D, "50", None), ("8400", C, "50", None)]);
    assert_eq!(
        brief(&r),
        vec![b("1200", 'S', "8400", "50", Some("40"), false)]
    );
    let mut no_key = facts();
    no_key.cancel_automatic_key = None;
    let lines = book(&[("1200", D, "50", None), ("8400", C, "50", None)]);
    let r = intent_rows(&intent(lines), &no_key).unwrap();
    assert_eq!(brief(&r), vec![b("1200", 'S', "8400", "50", None, false)]);
}

#[test]
fn a_tax_code_without_key_keeps_its_tax_row() {
    let r = rows(&[
        ("10000", D, "1190", None),
        ("8100", C, "1000", Some("NOKEY19")),
    ]);
    assert_eq!(
        brief(&r),
        vec![
            b("10000", 'S', "8100", "1000", None, false),
            b("10000", 'S', "1776", "190", None, false),
        ]
    );
}

#[test]
fn reverse_charge_folds_both_self_assessment_lines_and_stays_net() {
    let r = rows(&[
        ("3100", D, "1000", Some("RC19")),
        ("70001", C, "1000", None),
    ]);
    assert_eq!(
        brief(&r),
        vec![b("70001", 'H', "3100", "1000", Some("94"), false)]
    );
}

#[test]
fn multi_line_intents_split_into_exact_pairs() {
    let r = rows(&[
        ("1200", D, "300", None),
        ("1000", D, "200", None),
        ("8100", C, "100", Some("USt19")),
        ("8300", C, "381", None),
    ]);
    assert_eq!(
        brief(&r),
        vec![
            b("1200", 'S', "8100", "119", Some("3"), false),
            b("1200", 'S', "8300", "181", None, false),
            b("1000", 'S', "8300", "200", None, false),
        ]
    );
}

#[test]
fn a_negative_reversal_is_a_generalumkehr() {
    let r = rows(&[
        ("10000", D, "-1190", None),
        ("8100", C, "-1000", Some("USt19")),
    ]);
    assert_eq!(
        brief(&r),
        vec![b("10000", 'S', "8100", "1190", Some("3"), true)]
    );
}

#[test]
fn a_negative_line_among_positive_ones_counts_on_the_other_side() {
    let r = rows(&[
        ("1200", D, "150", None),
        ("1360", D, "-50", None),
        ("8300", C, "100", None),
    ]);
    assert_eq!(
        brief(&r),
        vec![
            b("1200", 'S', "1360", "50", None, false),
            b("1200", 'S', "8300", "100", None, false),
        ]
    );
}

#[test]
fn a_tax_rounded_to_zero_still_carries_the_key() {
    let r = rows(&[
        ("1200", D, "0.02", None),
        ("8100", C, "0.02", Some("USt19")),
    ]);
    assert_eq!(
        brief(&r),
        vec![b("1200", 'S', "8100", "0.02", Some("3"), false)]
    );
}

#[test]
fn a_missing_tax_line_leaves_the_line_net_and_unkeyed() {
    let mut lines = book(&[("1200", D, "100", None), ("8100", C, "100", None)]);
    lines[1].tax_code = Some("USt19".into());
    lines[1].tax_rate = Some(d("19"));
    let r = intent_rows(&intent(lines), &facts()).unwrap();
    assert_eq!(brief(&r), vec![b("1200", 'S', "8100", "100", None, false)]);
}

#[test]
fn lines_of_one_account_net_out() {
    let r = rows(&[
        ("8300", D, "10", None),
        ("8300", C, "25", None),
        ("1200", D, "15", None),
    ]);
    assert_eq!(brief(&r), vec![b("1200", 'S', "8300", "15", None, false)]);
}

#[test]
fn unbalanced_lines_are_refused() {
    let lines = vec![plain("1200", D, d("10")), plain("8400", C, d("9"))];
    let e = intent_rows(&intent(lines), &facts()).unwrap_err();
    assert_eq!(
        e,
        ConvertError::Unbalanced {
            booking: "intent-1".into()
        }
    );
    assert_eq!(e.code(), "unbalanced");
}

#[test]
fn two_keyed_lines_in_one_pair_are_refused() {
    let e = intent_rows(
        &intent(book(&[
            ("4930", D, "100", Some("VSt19")),
            ("8100", C, "100", Some("USt19")),
        ])),
        &facts(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "conflicting_tax_keys");
    assert!(e.to_string().contains("intent-1"));
}

#[test]
fn the_stream_converts_intent_by_intent() {
    let intents = vec![
        intent(book(&[("1200", D, "1", None), ("8300", C, "1", None)])),
        intent(vec![plain("1200", D, d("1"))]),
    ];
    let facts = facts();
    let out: Vec<_> = datev_rows(intents, &facts).collect();
    assert_eq!(out.len(), 2);
    assert!(out[0].is_ok());
    assert_eq!(out[1].as_ref().unwrap_err().code(), "unbalanced");
}

/// What DATEV books from the rows: each row on Konto and Gegenkonto, and the tax it computes
/// from a BU-Schlüssel or an automatic account moved to the tax accounts.
fn datev_books(rows: &[DatevRow]) -> BTreeMap<String, Decimal> {
    let codes = codes();
    let auto = automatic();
    let by_key: HashMap<&str, &str> = codes
        .iter()
        .filter_map(|(name, c)| c.key.map(|k| (k, *name)))
        .collect();
    let mut sums: BTreeMap<String, Decimal> = BTreeMap::new();
    for r in rows {
        let signed = if r.reversal { -r.amount } else { r.amount };
        let on_konto = if r.side == Side::Debit {
            signed
        } else {
            -signed
        };
        *sums.entry(r.account.clone()).or_default() += on_konto;
        let (tax_account, moved) = match (
            &r.bu_key,
            auto.get(r.contra_account.as_str()),
            auto.get(r.account.as_str()),
        ) {
            (Some(k), _, _) if k == CANCEL => (None, -on_konto),
            (Some(k), _, _) => (Some((by_key[k.as_str()], &r.contra_account)), -on_konto),
            (None, Some(code), _) => (Some((*code, &r.contra_account)), -on_konto),
            (None, None, Some(code)) => (Some((*code, &r.account)), on_konto),
            _ => (None, -on_konto),
        };
        match tax_account {
            None => *sums.entry(r.contra_account.clone()).or_default() += moved,
            Some((code, account)) => {
                let c = &codes[code];
                if account == &r.contra_account {
                    *sums.entry(r.contra_account.clone()).or_default() += moved;
                }
                if let Some(own) = c.own {
                    let tax = Currency::EUR.round(moved * c.rate / Decimal::ONE_HUNDRED);
                    *sums.entry(c.vat.to_string()).or_default() += tax;
                    *sums.entry(own.to_string()).or_default() -= tax;
                } else {
                    let tax = Currency::EUR.round(moved * c.rate / (Decimal::ONE_HUNDRED + c.rate));
                    *sums.entry(account.clone()).or_default() -= tax;
                    *sums.entry(c.vat.to_string()).or_default() += tax;
                }
            }
        }
    }
    sums.retain(|_, v| !v.is_zero());
    sums
}

fn journal_sums(lines: &[JournalLine]) -> BTreeMap<String, Decimal> {
    let mut sums: BTreeMap<String, Decimal> = BTreeMap::new();
    for l in lines {
        *sums.entry(l.account.clone()).or_default() += l.signed_base();
    }
    sums.retain(|_, v| !v.is_zero());
    sums
}

fn line_strategy() -> impl Strategy<Value = (String, Side, Decimal, Option<String>)> {
    let account_and_code = prop_oneof![
        Just(("8100", Some("USt19"))),
        Just(("8100", Some("USt7"))),
        Just(("8100", Some("NOKEY19"))),
        Just(("8300", None)),
        Just(("8400", Some("USt19"))),
        Just(("8400", None)),
        Just(("3400", Some("VSt19"))),
        Just(("4930", Some("VSt19"))),
        Just(("4930", None)),
        Just(("3100", Some("RC19"))),
        Just(("1200", None)),
        Just(("10001", None)),
        Just(("70001", None)),
    ];
    (account_and_code, any::<bool>(), 1i64..=1_000_000_000i64).prop_map(|((a, c), debit, cents)| {
        (
            a.to_string(),
            if debit { Side::Debit } else { Side::Credit },
            Decimal::new(cents, 2),
            c.map(str::to_string),
        )
    })
}

/// A random balanced intent as the service books it, possibly a negative reversal.
fn intent_strategy() -> impl Strategy<Value = Vec<JournalLine>> {
    (
        proptest::collection::vec(line_strategy(), 1..6),
        any::<bool>(),
    )
        .prop_map(|(input, negative)| {
            let mut lines = book_d(&input);
            let net: Decimal = lines.iter().map(|l| l.signed_base()).sum();
            if !net.is_zero() {
                let side = if net > Decimal::ZERO {
                    Side::Credit
                } else {
                    Side::Debit
                };
                lines.push(plain("1200", side, net.abs()));
            }
            if negative {
                for l in &mut lines {
                    l.amount = -l.amount;
                    l.base_amount = -l.base_amount;
                }
            }
            lines
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Every row positive with S/H, and what DATEV books from the rows is, account by
    /// account, the journal's net movement.
    #[test]
    fn datev_rows_book_what_the_journal_booked(intents in proptest::collection::vec(intent_strategy(), 1..8)) {
        let facts = facts();
        let mut all_rows = Vec::new();
        let mut all_lines = Vec::new();
        for lines in intents {
            let i = intent(lines.clone());
            match intent_rows(&i, &facts) {
                Ok(rows) => {
                    all_rows.extend(rows);
                    all_lines.extend(lines);
                }
                // a purchase and a sale keyed in one pair: refused as a whole, nothing lost
                Err(ConvertError::ConflictingTaxKeys { .. }) => {}
                Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
            }
        }
        for r in &all_rows {
            prop_assert!(r.amount > Decimal::ZERO);
        }
        prop_assert_eq!(datev_books(&all_rows), journal_sums(&all_lines));
    }
}
