//! Properties: no parser panics on any input, and statements written as CSV or MT940 parse
//! back equal.

use bank::{
    balance_check, camt, csv_format, fingerprints_for, mt940, parse_csv, sniff, BankTransaction,
    CsvMapping, Statement,
};
use chrono::NaiveDate;
use journal::Currency;
use proptest::prelude::*;
use rust_decimal::Decimal;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn no_parser_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = sniff(&bytes);
        let _ = camt::parse_camt(bytes.as_slice());
        let _ = mt940::parse_mt940(bytes.as_slice());
        let _ = parse_csv(bytes.as_slice(), &CsvMapping::default());
    }

    /// Near-valid inputs reach deeper: fragments of the formats shuffled together.
    #[test]
    fn no_parser_panics_on_format_fragments(parts in proptest::collection::vec(prop_oneof![
        Just(":20:X\n"), Just(":25:DE89370400440532013000\n"), Just(":60F:C260301EUR1,00\n"),
        Just(":61:2603010301C1,00NTRFNONREF//B\n"), Just(":61:26\n"), Just(":61:260301RD"),
        Just(":86:166?20A?3"), Just("?32\u{e4}\n"), Just(":62F:C260301EUR2,00\n"), Just("-\n"),
        Just("<Document>"), Just("<BkToCstmrStmt>"), Just("<Stmt>"), Just("<Ntry>"), Just("</Ntry>"),
        Just("<Amt Ccy=\"EUR\">1.0</Amt>"), Just("<CdtDbtInd>DBIT</CdtDbtInd>"), Just("<TxDtls>"),
        Just("</TxDtls>"), Just("<BookgDt><Dt>2026-01-01</Dt></BookgDt>"), Just("</Stmt>"),
        Just("<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp>"), Just("</Bal>"), Just("&#xFFFFFF;"),
        Just("Buchungstag;Betrag\n"), Just("01.03.2026;1,00\n"), Just(";\"\n"), Just("\u{feff}"),
    ], 0..40)) {
        let text: String = parts.concat();
        let _ = sniff(text.as_bytes());
        let _ = camt::parse_camt(text.as_bytes());
        if let Ok(st) = mt940::parse_mt940(text.as_bytes()) {
            for s in &st { let _ = balance_check(s); }
        }
        let _ = parse_csv(text.as_bytes(), &CsvMapping::default());
    }

    #[test]
    fn csv_round_trip(st in statement(false)) {
        let text = csv_format::write_csv(&st);
        let back = parse_csv(text.as_bytes(), &CsvMapping::default()).unwrap();
        prop_assert_eq!(back.len(), 1);
        prop_assert_eq!(strip(&back[0]), strip(&st));
    }

    /// Importing a file, then one that overlaps it by whole days, fingerprints each
    /// transaction once: the overlap gives the same fingerprints, the rest new ones.
    #[test]
    fn overlapping_files_fingerprint_each_transaction_once(st in statement(false), cut_a in 0i64..3000, width in 0i64..400) {
        let day0 = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
        let (from, to) = (day0 + chrono::Duration::days(cut_a), day0 + chrono::Duration::days(cut_a + width));
        let first: Vec<BankTransaction> = st.transactions.iter().filter(|t| t.booking_date <= to).cloned().collect();
        let second: Vec<BankTransaction> = st.transactions.iter().filter(|t| t.booking_date >= from).cloned().collect();
        let all: std::collections::HashSet<_> = fingerprints_for("DE89370400440532013000", &st.transactions).into_iter().collect();
        let mut imported = std::collections::HashSet::new();
        imported.extend(fingerprints_for("DE89 3704 0044 0532 0130 00", &first));
        imported.extend(fingerprints_for("de89370400440532013000", &second));
        prop_assert_eq!(all.len(), st.transactions.len());
        prop_assert_eq!(imported, all);
    }

    #[test]
    fn mt940_round_trip(sts in proptest::collection::vec(statement(true), 1..4)) {
        let text = mt940::write_mt940(&sts);
        let back = mt940::parse_mt940(text.as_bytes()).unwrap();
        prop_assert_eq!(back.len(), sts.len());
        for (b, s) in back.iter().zip(&sts) {
            prop_assert_eq!(strip(b), strip(s));
            prop_assert!(balance_check(b).ok);
        }
    }
}

/// Without the raw text (which differs by format) and, for CSV, without balances.
fn strip(s: &Statement) -> Statement {
    let mut s = s.clone();
    for t in &mut s.transactions {
        t.raw.clear();
    }
    s
}

const IBANS: [&str; 3] = [
    "DE89370400440532013000",
    "DE02120300000000202051",
    "DE75512108001245126199",
];

fn text(max: usize) -> impl Strategy<Value = Option<String>> {
    let pattern = format!("[A-Z0-9][A-Z0-9 .]{{0,{max}}}[A-Z0-9]");
    let strings = proptest::string::string_regex(&pattern).expect("a valid pattern");
    proptest::option::of(strings.prop_map(|s| s.split_whitespace().collect::<Vec<_>>().join(" ")))
}

fn transaction(mt940: bool) -> impl Strategy<Value = BankTransaction> {
    (
        0i64..3000,
        0i64..4,
        -10_000_000i64..10_000_000,
        text(20),
        proptest::option::of(0usize..3),
        text(if mt940 { 200 } else { 120 }),
        proptest::option::of("[A-Z0-9]{1,16}"),
        proptest::option::of("[A-Z0-9]{1,16}"),
    )
        .prop_map(
            move |(day, lag, cents, name, iban, remittance, e2e, bref)| {
                let booking =
                    NaiveDate::from_ymd_opt(2020, 1, 1).unwrap() + chrono::Duration::days(day);
                BankTransaction {
                    booking_date: booking,
                    value_date: Some(booking + chrono::Duration::days(lag)),
                    amount: Decimal::new(cents, 2),
                    currency: Currency::EUR,
                    counterparty_name: name,
                    counterparty_iban: iban.map(|i| IBANS[i].to_string()),
                    remittance_info: remittance.filter(|r| !(mt940 && r.contains("EREF"))),
                    end_to_end_id: e2e.filter(|e| e != "NONREF" && e != "NOTPROVIDED"),
                    bank_reference: if mt940 { bref } else { None },
                    exchange: None,
                    raw: String::new(),
                }
            },
        )
}

fn statement(mt940: bool) -> impl Strategy<Value = Statement> {
    (
        // A CSV file without rows has no account to tell.
        proptest::collection::vec(transaction(mt940), if mt940 { 0..8 } else { 1..8 }),
        -1_000_000i64..1_000_000,
        0usize..3,
        "[0-9]{5}/[0-9]{3}",
    )
        .prop_map(move |(mut transactions, opening, iban, id)| {
            transactions.sort_by_key(|t| t.booking_date);
            let opening = Decimal::new(opening, 2);
            let sum: Decimal = transactions.iter().map(|t| t.amount).sum();
            Statement {
                account_iban: Some(IBANS[iban].to_string()),
                account_number: None,
                currency: Currency::EUR,
                statement_id: mt940.then_some(id),
                opening_balance: mt940.then_some(opening),
                closing_balance: mt940.then_some(opening + sum),
                transactions,
            }
        })
}
