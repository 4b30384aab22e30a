//! The parsers against kontor's own fixtures (fixtures/statements) and table tests of their
//! rules and errors.

use bank::{
    balance_check, camt, fingerprints, mt940, parse, parse_csv, sniff, CsvMapping, Format,
    ParseError,
};
use journal::Rule;
use rust_decimal::Decimal;
use std::str::FromStr;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../fixtures/statements/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

#[test]
fn camt_v08_multi_statement() {
    let bytes = fixture("camt053_v08_multi.xml");
    assert_eq!(sniff(&bytes), Some(Format::Camt));
    let st = camt::parse_camt(bytes.as_slice()).unwrap();
    assert_eq!(st.len(), 2);
    let s = &st[0];
    assert_eq!(s.account_iban.as_deref(), Some("DE89370400440532013000"));
    // 1190 in, a batch of 30 + 20 out split in two, 4.55 fee; the pending entry left out.
    assert_eq!(s.transactions.len(), 4);
    assert_eq!(s.total().unwrap(), d("1135.45"));
    assert!(balance_check(s).ok);
    let t = &s.transactions[0];
    assert_eq!(t.counterparty_name.as_deref(), Some("Müller & Söhne GmbH"));
    assert_eq!(
        t.counterparty_iban.as_deref(),
        Some("DE02120300000000202051")
    );
    assert_eq!(
        t.remittance_info.as_deref(),
        Some("Rechnung RE-2026-0042 Kunde 10001")
    );
    assert_eq!(t.end_to_end_id.as_deref(), Some("RE-2026-0042"));
    assert_eq!(t.bank_reference.as_deref(), Some("E-0001"));
    let b1 = &s.transactions[1];
    assert_eq!(b1.amount, d("-30.00"));
    assert_eq!(b1.booking_date.to_string(), "2026-03-02");
    assert_eq!(b1.counterparty_name.as_deref(), Some("Papier Meier"));
    assert_eq!(b1.bank_reference.as_deref(), Some("T-0002-1"));
    assert!(
        b1.raw.starts_with("<TxDtls>") && b1.raw.contains("PAY-1") && !b1.raw.contains("PAY-2")
    );
    let fee = &s.transactions[3];
    assert_eq!(fee.amount, d("-4.55"));
    assert_eq!(fee.value_date, None);
    assert_eq!(fee.counterparty_name, None);
    assert_eq!(
        fee.remittance_info.as_deref(),
        Some("Kontofuehrung"),
        "AddtlNtryInf"
    );
    let s2 = &st[1];
    assert_eq!(s2.opening_balance, Some(d("-10.00")));
    assert_eq!(s2.transactions.len(), 1);
    assert!(balance_check(s2).ok);
}

#[test]
fn mt940_multi_account_with_gap() {
    let bytes = fixture("mt940_gap_multi.sta");
    assert_eq!(sniff(&bytes), Some(Format::Mt940));
    let st = mt940::parse_mt940(bytes.as_slice()).unwrap();
    assert_eq!(st.len(), 2);
    let (a, b) = (&st[0], &st[1]);
    assert_eq!(a.account_number.as_deref(), Some("10020030/1234567890"));
    assert_eq!(b.account_iban.as_deref(), Some("DE89370400440532013000"));
    assert_eq!(a.transactions.len(), 2);
    assert_eq!(a.total().unwrap(), d("29.50"));
    assert!(balance_check(a).ok);
    let t = &a.transactions[0];
    assert_eq!(t.amount, d("50.00"), "RC… no: CR is C with funds code R");
    assert_eq!(t.end_to_end_id.as_deref(), Some("RE-7"));
    assert_eq!(
        t.remittance_info.as_deref(),
        Some("EREF+RE-7 SVWZ+Rechnung RE-7 danke")
    );
    assert_eq!(
        t.counterparty_name.as_deref(),
        Some("Müller GmbH"),
        "Latin-1 decoded"
    );
    assert_eq!(
        t.counterparty_iban.as_deref(),
        Some("DE02120300000000202051")
    );
    assert_eq!(t.bank_reference.as_deref(), Some("B-1"));
    assert_eq!(
        a.transactions[1].remittance_info.as_deref(),
        Some("Kontofuehrungsgebuehr")
    );
    // The second statement (60M/62M) misses 5,00: reported, not hidden.
    let check = balance_check(b);
    assert!(!check.ok);
    assert_eq!(check.computed_closing, Some(d("-5.00")));
    assert_eq!(check.difference, Some(d("5.00")));
    assert_eq!(
        b.transactions[0].booking_date,
        b.transactions[0].value_date.unwrap()
    );
}

#[test]
fn csv_sparkasse_default_mapping() {
    let bytes = fixture("sparkasse_csv_camt_v2.csv");
    assert_eq!(sniff(&bytes), Some(Format::Csv));
    let st = parse(bytes.as_slice(), Format::Csv, None).unwrap();
    assert_eq!(st.len(), 1);
    let s = &st[0];
    assert_eq!(s.account_iban.as_deref(), Some("DE89370400440532013000"));
    assert_eq!(s.transactions.len(), 3);
    assert_eq!(s.total().unwrap(), d("335.45"));
    let t = &s.transactions[0];
    assert_eq!(t.booking_date.to_string(), "2026-03-02");
    assert_eq!(t.amount, d("1190.00"));
    assert_eq!(t.counterparty_name.as_deref(), Some("Müller & Söhne GmbH"));
    assert_eq!(t.end_to_end_id.as_deref(), Some("RE-2026-0042"));
    assert_eq!(s.transactions[1].end_to_end_id, None);
    assert!(s.transactions[1]
        .raw
        .starts_with("\"DE89370400440532013000\";\"02.03.26\""));
    assert!(
        s.transactions[1].raw.ends_with("\"Umsatz gebucht\""),
        "the row as it stands"
    );
    let check = balance_check(s);
    assert!(check.ok && check.opening.is_none());
}

#[test]
fn csv_deutsche_bank_debit_credit_preamble_footer() {
    let bytes = fixture("deutsche_bank.csv");
    let st = parse(bytes.as_slice(), Format::Csv, None).unwrap();
    let s = &st[0];
    assert_eq!(s.transactions.len(), 2);
    assert_eq!(s.transactions[0].amount, d("-30.00"));
    assert_eq!(s.transactions[1].amount, d("2380.00"));
    assert_eq!(
        s.transactions[1].counterparty_name.as_deref(),
        Some("Kunde AG")
    );
    assert_eq!(s.transactions[0].end_to_end_id.as_deref(), Some("PAY-1"));
}

#[test]
fn csv_mapping_from_json() {
    let mapping: CsvMapping = serde_json::from_str(
        r#"{"delimiter": ",", "decimal_comma": false, "booking_date": "Date",
            "amount": ["Amount", "Betrag"], "counterparty_name": "Payee", "remittance": "Memo"}"#,
    )
    .unwrap();
    let text = "Date,Payee,Memo,Amount\n2026-03-01,ACME,\"Invoice 7, thanks\",\"1,234.50\"\n01.03.2026,X,,-2\n";
    let st = parse_csv(text.as_bytes(), &mapping).unwrap();
    let t = &st[0].transactions;
    assert_eq!(t.len(), 2);
    assert_eq!(t[0].amount, d("1234.50"));
    assert_eq!(t[0].remittance_info.as_deref(), Some("Invoice 7, thanks"));
    assert_eq!(t[1].amount, d("-2"));
    // Unknown fields are refused, so a typo does not silently use the default.
    assert!(serde_json::from_str::<CsvMapping>(r#"{"bookingdate": "x"}"#).is_err());
}

#[test]
fn re_import_gives_the_same_fingerprints_and_identical_lines_stay_two() {
    let bytes = fixture("camt053_v08_multi.xml");
    let a = camt::parse_camt(bytes.as_slice()).unwrap();
    let b = camt::parse_camt(bytes.as_slice()).unwrap();
    assert_eq!(fingerprints(&a[0]), fingerprints(&b[0]));
    let text =
        "Buchungstag;Betrag;Verwendungszweck\n01.03.2026;-1,00;Kaffee\n01.03.2026;-1,00;Kaffee\n";
    let st = parse(text.as_bytes(), Format::Csv, None).unwrap();
    let fps = fingerprints(&st[0]);
    assert_ne!(fps[0], fps[1]);
    // A later file that overlaps (the same day again, plus one more line) repeats them.
    let more = format!("{text}02.03.2026;-3,00;Tee\n");
    let st2 = parse(more.as_bytes(), Format::Csv, None).unwrap();
    assert_eq!(&fingerprints(&st2[0])[..2], &fps[..]);
    assert_eq!(fps[0].to_hex().len(), 64);
}

/// Each malformed input fails with a typed error naming where.
#[test]
fn errors_name_the_line_or_element() {
    let mt = |s: &str| mt940::parse_mt940(s.as_bytes()).unwrap_err();
    let head = ":20:X\n:25:DE89370400440532013000\n:60F:C260301EUR1,00\n";
    let cases: Vec<(ParseError, &str)> = vec![
        (
            mt(&format!(
                "{head}:61:2603010301X1,00NTRFNONREF\n:62F:C260301EUR1,00\n"
            )),
            "line 4",
        ),
        (
            mt(&format!(
                "{head}:61:2603010301C1.00NTRFNONREF\n:62F:C260301EUR1,00\n"
            )),
            "line 4",
        ),
        (
            mt(&format!(
                "{head}:61:2603010301C1,001NTRFNONREF\n:62F:C260301EUR1,00\n"
            )),
            "line 4",
        ),
        (
            mt(&format!(
                "{head}:61:2613010301C1,00NTRFNONREF\n:62F:C260301EUR1,00\n"
            )),
            "line 4",
        ),
        (
            mt(":20:X\n:25:A\n:60F:C260301XXX1,00\n:62F:C260301XXX1,00\n"),
            "line 3",
        ),
        (
            mt(":20:X\n:25:A\n:61:2603010301C1,00NTRFNONREF\n"),
            "line 3",
        ),
        (mt(&format!("{head}-\n")), "line 1"),
        (
            mt(":20:X\n:60F:C260301EUR1,00\n:62F:C260301EUR1,00\n"),
            "line 1",
        ),
        (mt("hello\n:20:X\n"), "line 1"),
    ];
    for (e, at) in &cases {
        assert!(matches!(e, ParseError::Mt940 { .. }), "{e}");
        assert_eq!(e.location().as_deref(), Some(*at), "{e}");
        assert_eq!(e.code(), "malformed_statement");
        assert_eq!(e.field().as_deref(), Some("file"));
    }

    let camt = |body: &str| {
        let xml = format!(
            "<Document><BkToCstmrStmt><Stmt><Id>S</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>{body}</Stmt></BkToCstmrStmt></Document>"
        );
        camt::parse_camt(xml.as_bytes())
    };
    let ntry = |amt: &str, ind: &str| {
        format!("<Ntry><Amt Ccy=\"EUR\">{amt}</Amt><CdtDbtInd>{ind}</CdtDbtInd><BookgDt><Dt>2026-03-01</Dt></BookgDt></Ntry>")
    };
    let ok = camt(&ntry("1.50", "CRDT")).unwrap();
    assert_eq!(ok[0].transactions[0].amount, d("1.50"));
    let cases = [
        (ntry("-1.50", "CRDT"), "Stmt[1]/Ntry[1]/Amt"),
        (ntry("1,50", "CRDT"), "Stmt[1]/Ntry[1]/Amt"),
        (ntry("1.505", "CRDT"), "Stmt[1]/Ntry[1]"),
        (ntry("1.50", "CRED"), "Stmt[1]/Ntry[1]"),
        (ntry("", "CRDT"), "Stmt[1]/Ntry[1]/Amt"),
        ("<Ntry><Amt Ccy=\"USD\">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-03-01</Dt></BookgDt></Ntry>".to_string(), "Stmt[1]/Ntry[1]"),
        ("<Ntry><Amt>1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></Ntry>".to_string(), "Stmt[1]/Ntry[1]"),
        ("<Ntry><Amt>1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>01.03.2026</Dt></BookgDt></Ntry>".to_string(), "Stmt[1]/Ntry[1]/BookgDt/Dt"),
        ("<Ntry><Amt>1.00</Ntry>".to_string(), "Stmt[1]/Ntry[1]/Amt"),
    ];
    for (body, at) in &cases {
        let e = camt(body).unwrap_err();
        let ParseError::Camt { element, .. } = &e else {
            panic!("{e}")
        };
        assert!(element.ends_with(at), "{body}: {e}");
        assert_eq!(e.code(), "malformed_statement");
    }
    // Not camt.053 at all, and a truncated file.
    for xml in [
        "<Document><BkToCstmrAcctRpt/></Document>",
        "<Other/>",
        "<Document><BkToCstmrStmt><Stmt>",
    ] {
        assert!(
            matches!(
                camt::parse_camt(xml.as_bytes()),
                Err(ParseError::Camt { .. })
            ),
            "{xml}"
        );
    }

    let csv = |text: &str| parse(text.as_bytes(), Format::Csv, None).unwrap_err();
    let cases = [
        (
            csv("Buchungstag;Betrag\n01.13.2026;1,00\n"),
            "line 2, column Buchungstag",
        ),
        (
            csv("Buchungstag;Betrag\n01.03.2026;1,001\n"),
            "line 2, column Betrag",
        ),
        (
            csv("Buchungstag;Betrag\n01.03.2026;1.2,00\n"),
            "line 2, column Betrag",
        ),
        (
            csv("Buchungstag;Betrag\n01.03.2026;abc\n"),
            "line 2, column Betrag",
        ),
        (
            csv("Buchungstag;Betrag;Waehrung\n01.03.2026;1,00;XYZ\n"),
            "line 2, column Waehrung",
        ),
        (
            csv("Buchungstag;Betrag\n01.03.2026;\n"),
            "line 2, column Betrag",
        ),
        (csv("Datum;Wert\n01.03.2026;1,00\n"), "line 1"),
    ];
    for (e, at) in &cases {
        assert_eq!(e.location().as_deref(), Some(*at), "{e}");
    }
}

#[test]
fn mt940_line_61_variants() {
    let run = |line: &str| {
        let text = format!(":20:X\n:25:DE89370400440532013000\n:60F:C251230EUR0,00\n:61:{line}\n:62F:C260105EUR0,00\n");
        mt940::parse_mt940(text.as_bytes())
            .unwrap()
            .remove(0)
            .transactions
            .remove(0)
    };
    // (line, booking date, value date, amount, customer ref, bank ref)
    let cases = [
        (
            "2601021231D12,35NTRFNONREF//B",
            "2025-12-31",
            "2026-01-02",
            "-12.35",
            None,
            Some("B"),
        ),
        (
            "2512310102C1,NTRFREF1",
            "2026-01-02",
            "2025-12-31",
            "1",
            Some("REF1"),
            None,
        ),
        (
            "260105RC0,99NCHGNONREF",
            "2026-01-05",
            "2026-01-05",
            "-0.99",
            None,
            None,
        ),
        (
            "260105RDR7,NCHGABC//XYZ",
            "2026-01-05",
            "2026-01-05",
            "7",
            Some("ABC"),
            Some("XYZ"),
        ),
        (
            "2601050105D 3,00 NMSCK",
            "2026-01-05",
            "2026-01-05",
            "-3.00",
            Some("K"),
            None,
        ),
    ];
    for (line, booking, value, amount, cref, bref) in cases {
        let t = run(line);
        assert_eq!(t.booking_date.to_string(), booking, "{line}");
        assert_eq!(t.value_date.unwrap().to_string(), value, "{line}");
        assert_eq!(t.amount, d(amount), "{line}");
        assert_eq!(t.end_to_end_id.as_deref(), cref, "{line}");
        assert_eq!(t.bank_reference.as_deref(), bref, "{line}");
    }
}

#[test]
fn sniff_table() {
    let cases: [(&[u8], Option<Format>); 8] = [
        (b"\xEF\xBB\xBF<?xml version=\"1.0\"?><Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\">", Some(Format::Camt)),
        (b"  <Document><BkToCstmrStmt>", Some(Format::Camt)),
        (b"<Document><BkToCstmrAcctRpt>", None),
        (b":20:STARTUMSE\r\n:25:X\r\n", Some(Format::Mt940)),
        (b"{1:F01BANK}{2:O940}{4:\n:20:X\n:25:Y\n", Some(Format::Mt940)),
        (b"Buchungstag;Betrag\n", Some(Format::Csv)),
        (b"", None),
        (b"hello world", None),
    ];
    for (bytes, want) in cases {
        assert_eq!(sniff(bytes), want, "{}", String::from_utf8_lossy(bytes));
    }
    assert_eq!("MT940".parse::<Format>().unwrap(), Format::Mt940);
    assert_eq!(
        "x".parse::<Format>().unwrap_err().code(),
        "unknown_statement_format"
    );
}

/// 100,000 camt entries stream through in well under the import budget (run with
/// `cargo test -p bank -- --ignored large` for the timing).
#[test]
#[ignore]
fn large_camt_streams() {
    let mut xml = String::from("<Document><BkToCstmrStmt><Stmt><Id>S</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>");
    xml.push_str("<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">0.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></Bal>");
    xml.push_str("<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">100000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></Bal>");
    for i in 0..100_000 {
        xml.push_str(&format!("<Ntry><Amt Ccy=\"EUR\">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-03-01</Dt></BookgDt><ValDt><Dt>2026-03-01</Dt></ValDt><AcctSvcrRef>R{i}</AcctSvcrRef><NtryDtls><TxDtls><Refs><EndToEndId>E{i}</EndToEndId></Refs><RltdPties><Dbtr><Pty><Nm>Kunde {i}</Nm></Pty></Dbtr><DbtrAcct><Id><IBAN>DE02120300000000202051</IBAN></Id></DbtrAcct></RltdPties><RmtInf><Ustrd>Rechnung {i}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"));
    }
    xml.push_str("</Stmt></BkToCstmrStmt></Document>");
    let started = std::time::Instant::now();
    let st = camt::parse_camt(std::io::BufReader::new(xml.as_bytes())).unwrap();
    let parsed = started.elapsed();
    let fps = fingerprints(&st[0]);
    println!(
        "{} MB: parsed in {parsed:?}, fingerprinted in {:?}",
        xml.len() / 1_000_000,
        started.elapsed() - parsed
    );
    assert_eq!(fps.len(), 100_000);
    assert!(balance_check(&st[0]).ok);
}

#[test]
fn transactions_from_json_rows() {
    let t: bank::BankTransaction = serde_json::from_str(
        r#"{"booking_date": "2026-03-02", "amount": "-12.35", "currency": "EUR", "remittance_info": "Miete"}"#,
    )
    .unwrap();
    assert_eq!(t.amount, d("-12.35"));
    assert_eq!((t.value_date, t.raw.as_str()), (None, ""));
    assert!(serde_json::from_str::<bank::BankTransaction>(
        r#"{"booking_date": "2026-03-02", "amount": "1", "currency": "XXX"}"#
    )
    .is_err());
}

#[test]
fn camt_balance_codes() {
    let bal = |cd: &str, amt: &str, ind: &str| {
        format!("<Bal><Tp><CdOrPrtry><Cd>{cd}</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">{amt}</Amt><CdtDbtInd>{ind}</CdtDbtInd></Bal>")
    };
    let doc = |bals: &[String]| {
        format!(
            "<Document><BkToCstmrStmt><Stmt><Acct><Id><Othr><Id>12345</Id></Othr></Id><Ccy>EUR</Ccy></Acct>{}</Stmt></BkToCstmrStmt></Document>",
            bals.concat()
        )
    };
    // (balances, opening, closing)
    let cases = [
        (
            vec![
                bal("PRCD", "1.00", "CRDT"),
                bal("OPBD", "2.00", "DBIT"),
                bal("CLBD", "3.00", "CRDT"),
            ],
            Some("-2.00"),
            Some("3.00"),
        ),
        (
            vec![bal("ITBD", "1.00", "CRDT"), bal("ITBD", "4.00", "CRDT")],
            Some("1.00"),
            Some("4.00"),
        ),
        (
            vec![bal("PRCD", "1.00", "CRDT"), bal("ITBD", "4.00", "DBIT")],
            Some("1.00"),
            Some("-4.00"),
        ),
        (
            vec![
                bal("CLBD", "5.00", "CRDT"),
                bal("ITBD", "1.00", "CRDT"),
                bal("ITBD", "4.00", "CRDT"),
            ],
            Some("1.00"),
            Some("5.00"),
        ),
        (
            vec![bal("OPAV", "1.00", "CRDT"), bal("CLAV", "4.00", "CRDT")],
            None,
            None,
        ),
    ];
    for (bals, opening, closing) in cases {
        let st = camt::parse_camt(doc(&bals).as_bytes()).unwrap();
        assert_eq!(st[0].account_number.as_deref(), Some("12345"));
        assert_eq!(st[0].opening_balance, opening.map(d), "{bals:?}");
        assert_eq!(st[0].closing_balance, closing.map(d), "{bals:?}");
    }
}

#[test]
fn camt_exchange_rates() {
    use bank::Exchange;
    use journal::Currency;
    let st = camt::parse_camt(fixture("camt053_v02_usd_fx.xml").as_slice()).unwrap();
    let s = &st[0];
    assert!(balance_check(s).ok);
    let usd = Currency::from_code("USD").unwrap();
    let eur = Currency::from_code("EUR").unwrap();
    let gbp = Currency::from_code("GBP").unwrap();
    assert_eq!(s.transactions.len(), 3);
    // Unit EUR: 1 EUR = 1.085 USD, the transaction's own rate.
    assert_eq!(
        s.transactions[0].exchange,
        Some(Exchange {
            against: Some(eur),
            rate: d("1.085")
        })
    );
    assert_eq!(
        s.transactions[0].exchange.unwrap().base_rate(usd, eur),
        Some(d("1.085"))
    );
    // Unit USD on the entry: 1 USD = 0.8 EUR → 1.25 USD per EUR.
    assert_eq!(
        s.transactions[1].exchange.unwrap().base_rate(usd, eur),
        Some(d("1.25"))
    );
    // Against pounds: kept, but no rate of the base currency.
    let x = s.transactions[2].exchange.unwrap();
    assert_eq!(x.against, Some(gbp));
    assert_eq!(x.base_rate(usd, eur), None);
    // A euro account has no rate to use.
    assert_eq!(x.base_rate(eur, eur), None);
}

#[test]
fn exchange_from_camt_table() {
    use bank::Exchange;
    use journal::Currency;
    let c = |s: &str| Currency::from_code(s).unwrap();
    let usd = c("USD");
    // (source, target, unit, rate) → rate of USD per 1 unit of the other currency.
    type Case<'a> = (
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        &'a str,
        Option<(&'a str, &'a str)>,
    );
    let cases: &[Case] = &[
        (Some("EUR"), Some("USD"), None, "1.1", Some(("EUR", "1.1"))),
        (
            Some("EUR"),
            Some("USD"),
            Some("EUR"),
            "1.1",
            Some(("EUR", "1.1")),
        ),
        (Some("USD"), Some("EUR"), None, "0.8", Some(("EUR", "1.25"))),
        (
            Some("USD"),
            Some("EUR"),
            Some("EUR"),
            "1.25",
            Some(("EUR", "1.25")),
        ),
        (
            Some("USD"),
            Some("EUR"),
            Some("USD"),
            "3",
            Some(("EUR", "0.3333333333")),
        ),
        (Some("USD"), Some("USD"), None, "1", None),
        (Some("GBP"), Some("EUR"), None, "1.2", None),
        (Some("EUR"), Some("USD"), Some("GBP"), "1.1", None),
        (Some("EUR"), None, None, "1.1", None),
        (Some("XXX"), Some("USD"), None, "1.1", None),
        (Some("EUR"), Some("USD"), None, "0", None),
    ];
    for (i, (src, trgt, unit, rate, want)) in cases.iter().enumerate() {
        let got = Exchange::from_camt(usd, *src, *trgt, *unit, d(rate));
        let want = want.map(|(cur, r)| Exchange {
            against: Some(c(cur)),
            rate: d(r),
        });
        assert_eq!(got, want, "case {i}");
    }
}

#[test]
fn camt_bad_exchange_rate_fails_the_file() {
    let xml = String::from_utf8(fixture("camt053_v02_usd_fx.xml"))
        .unwrap()
        .replace("<XchgRate>0.8</XchgRate>", "<XchgRate>-0,8</XchgRate>");
    let e = camt::parse_camt(xml.as_bytes()).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("exchange rate") && text.contains("Ntry[2]"),
        "{text}"
    );
}

#[test]
fn csv_exchange_rate_column() {
    let csv = "Buchungstag;Betrag;Waehrung;Kurs;Verwendungszweck\n\
               03.03.2026;1.085,00;USD;1,085;Invoice 1\n\
               04.03.2026;-10,00;USD;;Fee\n";
    let mapping = CsvMapping {
        default_currency: "USD".into(),
        ..Default::default()
    };
    let st = parse_csv(csv.as_bytes(), &mapping).unwrap();
    let t = &st[0].transactions;
    assert_eq!(
        t[0].exchange.map(|x| (x.against, x.rate)),
        Some((None, d("1.085")))
    );
    assert_eq!(t[1].exchange, None);
    let bad = csv.replace("1,085", "abc");
    let e = parse_csv(bad.as_bytes(), &mapping).unwrap_err();
    assert!(e.to_string().contains("Kurs"), "{e}");
}
