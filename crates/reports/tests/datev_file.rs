//! Byte-for-byte tests of small EXTF files, and the rules of every row.

use chrono::{NaiveDate, NaiveDateTime};
use journal::{FiscalCalendar, Rule, RuleKind, Side};
use reports::datev::belegfeld1;
use reports::{
    write_buchungsstapel, write_partners, AddresseeType, BuchungsstapelWriter, DatevError, DatevFx,
    DatevPartner, DatevRow, DatevSettings, ExportError,
};
use rust_decimal::Decimal;
use std::str::FromStr;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn date(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn settings() -> DatevSettings {
    DatevSettings {
        consultant_number: 1001,
        client_number: 1,
        account_length: 4,
        calendar: FiscalCalendar::new(1).unwrap(),
        chart: "03".into(),
        currency: "EUR".into(),
        date_from: date(2024, 1, 1),
        date_to: date(2024, 1, 31),
        description: "Buchungen Januar".into(),
        dictation_code: String::new(),
        locked: false,
        created_at: NaiveDateTime::parse_from_str(
            "2024-02-01 12:30:45.123",
            "%Y-%m-%d %H:%M:%S%.3f",
        )
        .unwrap(),
    }
}

fn row(amount: &str, side: Side, account: &str, contra: &str) -> DatevRow {
    DatevRow {
        booking: "0190a1b2-0000-7000-8000-000000000001".into(),
        amount: d(amount),
        side,
        currency: None,
        fx: None,
        account: account.into(),
        contra_account: contra.into(),
        bu_key: None,
        date: date(2024, 1, 15),
        document_number: None,
        text: None,
        cost_center: None,
        document_link: None,
        reversal: false,
        locked: false,
    }
}

/// Fields 15–125 of a row (field 15, Postensperre, is empty: the string starts with the `;` after it) that fills none of them (Festschreibung 0, Generalumkehr "0").
const TAIL: &str = ";\"\";;;;\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";;\"\";;\"\";;;;;;\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";\"\";;;;\"\";;;;\"\";\"\";;\"\";;;;\"\";\"\";;\"\";;\"\";;\"\";\"\";;\"\";;0;;;;\"0\";;\"\";\"\";;\"\";;";

const HEADER: &[u8] = b"\"EXTF\";700;21;\"Buchungsstapel\";13;20240201123045123;;\"\";\"kontor\";\"\";1001;1;20240101;4;20240101;20240131;\"Buchungen Januar\";\"\";1;0;0;\"EUR\";;\"\";;;\"03\";;;;\"\"\r\n";

fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    assert_eq!(out.pop(), Some(&b""[..]), "the file ends with CRLF");
    for l in &out {
        assert_eq!(l.last(), Some(&b'\r'), "every line ends with CRLF");
    }
    out.into_iter().map(|l| &l[..l.len() - 1]).collect()
}

/// Splits a line at `;` outside quotes.
fn fields(line: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![Vec::new()];
    let mut quoted = false;
    for &b in line {
        match b {
            b'"' => {
                quoted = !quoted;
                out.last_mut().unwrap().push(b);
            }
            b';' if !quoted => out.push(Vec::new()),
            _ => out.last_mut().unwrap().push(b),
        }
    }
    out
}

fn export(rows: Vec<DatevRow>) -> Vec<u8> {
    let (count, out) = write_buchungsstapel(Vec::new(), &settings(), rows.clone()).unwrap();
    assert_eq!(count, rows.len() as u64);
    out
}

#[test]
fn header_line_is_byte_for_byte() {
    let out = export(vec![]);
    assert!(out.starts_with(HEADER));
    let l = lines(&out);
    assert_eq!(l.len(), 2);
    assert_eq!(fields(l[0]).len(), 31);
}

#[test]
fn column_line_has_125_names_in_windows_1252() {
    let out = export(vec![]);
    let l = lines(&out);
    assert!(l[1].starts_with(
        b"Umsatz (ohne Soll/Haben-Kz);Soll/Haben-Kennzeichen;WKZ Umsatz;Kurs;Basis-Umsatz;WKZ Basis-Umsatz;Konto;Gegenkonto (ohne BU-Schl\xfcssel);BU-Schl\xfcssel;Belegdatum;Belegfeld 1;"
    ));
    assert!(l[1].ends_with(b";EU-Steuersatz (Ursprung);Abw. Skontokonto"));
    assert_eq!(fields(l[1]).len(), 125);
}

#[test]
fn a_plain_row_byte_for_byte() {
    let mut r = row("1190", Side::Debit, "10000", "8400");
    r.document_number = Some("RE-2024-001".into());
    r.text = Some("Rechnung".into());
    let out = export(vec![r]);
    let expected = format!(
        "1190,00;\"S\";\"\";;;\"\";10000;8400;\"\";1501;\"RE-2024-001\";\"\";;\"Rechnung\";{TAIL}\r\n"
    );
    let after_header = &out[HEADER.len()..];
    let columns_end = after_header.iter().position(|b| *b == b'\n').unwrap() + 1;
    assert_eq!(&after_header[columns_end..], expected.as_bytes());
}

#[test]
fn umlauts_euro_and_quotes_in_windows_1252() {
    let mut r = row("0.5", Side::Credit, "1200", "4930");
    r.text = Some("Bär \"ÖL\" für Straße 5 € → 漢".into());
    let out = export(vec![r]);
    let l = lines(&out);
    let f = fields(l[2]);
    assert_eq!(f[0], b"0,50");
    assert_eq!(f[1], b"\"H\"");
    assert_eq!(
        f[13],
        b"\"B\xe4r \"\"\xd6L\"\" f\xfcr Stra\xdfe 5 \x80 ? ?\""
    );
}

#[test]
fn every_row_has_125_fields_and_the_optional_columns() {
    let mut a = row("1234567890.12", Side::Debit, "1200", "8400");
    a.bu_key = Some("3".into());
    a.currency = Some("USD".into());
    a.fx = Some(DatevFx {
        rate: d("1.0856"),
        base_amount: d("-1137.21"),
        base_currency: "EUR".into(),
    });
    a.document_link = Some("https://kontor.example/documents/42".into());
    a.cost_center = Some("KST;1".into());
    a.reversal = true;
    a.locked = true;
    a.date = date(2024, 1, 31);
    let b = row("0.01", Side::Credit, "1600", "70001");
    let out = export(vec![a, b]);
    let l = lines(&out);
    assert_eq!(l.len(), 4);
    for line in &l[2..] {
        assert_eq!(fields(line).len(), 125);
    }
    let f = fields(l[2]);
    assert_eq!(f[0], b"1234567890,12");
    assert_eq!(f[2], b"\"USD\"");
    assert_eq!(f[3], b"1,085600");
    assert_eq!(f[4], b"1137,21");
    assert_eq!(f[5], b"\"EUR\"");
    assert_eq!(f[8], b"\"3\"");
    assert_eq!(f[9], b"3101");
    assert_eq!(f[19], b"\"https://kontor.example/documents/42\"");
    assert_eq!(f[36], b"\"KST;1\"");
    assert_eq!(f[113], b"1");
    assert_eq!(f[117], b"\"1\"");
    let f = fields(l[3]);
    assert_eq!(f[0], b"0,01");
    assert_eq!(f[6], b"1600");
    assert_eq!(f[7], b"70001");
}

#[test]
fn texts_are_cut_to_their_lengths() {
    let mut r = row("1", Side::Debit, "1200", "8400");
    r.text = Some("x".repeat(80));
    r.document_number = Some(format!("Rechnung Nr. {}", "1".repeat(40)));
    let out = export(vec![r]);
    let f = fields(lines(&out)[2]);
    assert_eq!(f[13].len(), 60 + 2);
    assert_eq!(f[10], format!("\"{}\"", "1".repeat(36)).as_bytes());
}

#[test]
fn belegfeld1_keeps_datevs_character_set() {
    assert_eq!(belegfeld1("RE 2024/001"), "RE-2024/001");
    assert_eq!(belegfeld1("Größe_1.ä"), "Groesse-1-ae");
    assert_eq!(belegfeld1("$&%*+-/aZ9"), "$&%*+-/aZ9");
    let long = format!("A{}", "0123456789".repeat(4));
    assert_eq!(belegfeld1(&long).len(), 36);
    assert!(belegfeld1(&long).ends_with("0123456789"));
}

#[test]
fn the_writer_streams_row_by_row() {
    let mut w = BuchungsstapelWriter::new(Vec::new(), &settings()).unwrap();
    for i in 1..=1000 {
        w.write_row(&row(&format!("{i}.5"), Side::Debit, "1200", "8400"))
            .unwrap();
    }
    assert_eq!(w.rows_written(), 1000);
    let out = w.finish().unwrap();
    assert_eq!(lines(&out).len(), 1002);
}

/// A change that breaks one rule.
type Change<T> = fn(&mut T);

fn rule_of(e: ExportError) -> DatevError {
    match e {
        ExportError::Rule(r) => r,
        ExportError::Io(e) => panic!("io: {e}"),
    }
}

fn refused(s: DatevSettings, rows: Vec<DatevRow>) -> DatevError {
    rule_of(write_buchungsstapel(Vec::new(), &s, rows).unwrap_err())
}

#[test]
fn amount_beyond_ten_integer_digits_names_the_booking() {
    let e = refused(
        settings(),
        vec![row("10000000000", Side::Debit, "1200", "8400")],
    );
    assert_eq!(e.code(), "amount_too_large");
    assert_eq!(e.kind(), RuleKind::Invalid);
    assert!(e
        .to_string()
        .contains("0190a1b2-0000-7000-8000-000000000001"));
    // the largest amount that fits
    export(vec![row("9999999999.99", Side::Debit, "1200", "8400")]);
}

#[test]
fn a_range_crossing_a_fiscal_year_is_refused() {
    let mut s = settings();
    s.date_to = date(2025, 1, 1);
    let e = refused(s.clone(), vec![]);
    assert_eq!(e.code(), "range_crosses_fiscal_year");
    assert_eq!(e.field().as_deref(), Some("endDate"));
    // a fiscal year from July: July to June is one year, June to July is not
    s.calendar = FiscalCalendar::new(7).unwrap();
    s.date_from = date(2024, 7, 1);
    s.date_to = date(2025, 6, 30);
    let (_, out) = write_buchungsstapel(Vec::new(), &s, vec![]).unwrap();
    assert!(fields(lines(&out)[0])[12] == b"20240701");
    s.date_from = date(2024, 6, 30);
    assert_eq!(refused(s, vec![]).code(), "range_crosses_fiscal_year");
}

#[test]
fn a_reversed_range_is_refused() {
    let mut s = settings();
    s.date_from = date(2024, 2, 1);
    assert_eq!(refused(s, vec![]).code(), "invalid_date_range");
}

#[test]
fn settings_outside_datevs_limits_are_refused() {
    let cases: Vec<(Change<DatevSettings>, &str)> = vec![
        (|s| s.consultant_number = 1000, "datev_consultant_number"),
        (
            |s| s.consultant_number = 10_000_000,
            "datev_consultant_number",
        ),
        (|s| s.client_number = 0, "datev_client_number"),
        (|s| s.client_number = 100_000, "datev_client_number"),
        (|s| s.account_length = 3, "account_length"),
        (|s| s.account_length = 9, "account_length"),
        (|s| s.chart = "05".into(), "chart"),
        (|s| s.currency = "eur".into(), "currency"),
    ];
    for (change, field) in cases {
        let mut s = settings();
        change(&mut s);
        let e = refused(s, vec![]);
        assert_eq!(e.code(), "invalid_datev_settings");
        assert_eq!(e.field().as_deref(), Some(field));
    }
}

#[test]
fn a_row_outside_the_range_is_refused() {
    let mut r = row("1", Side::Debit, "1200", "8400");
    r.date = date(2024, 2, 1);
    let e = refused(settings(), vec![r]);
    assert_eq!(e.code(), "booking_outside_range");
    assert!(e.to_string().contains("0190a1b2"));
}

#[test]
fn invalid_row_fields_are_refused() {
    let cases: Vec<(Change<DatevRow>, &str)> = vec![
        (|r| r.amount = Decimal::ZERO, "Umsatz"),
        (|r| r.amount = d("-1"), "Umsatz"),
        (|r| r.account = "12a0".into(), "Konto"),
        (|r| r.contra_account = "1234567890".into(), "Gegenkonto"),
        (|r| r.bu_key = Some("12345".into()), "BU-Schlüssel"),
        (
            |r| {
                r.fx = Some(DatevFx {
                    rate: d("100000"),
                    base_amount: d("1"),
                    base_currency: "EUR".into(),
                })
            },
            "Kurs",
        ),
    ];
    for (change, column) in cases {
        let mut r = row("1", Side::Debit, "1200", "8400");
        change(&mut r);
        match refused(settings(), vec![r]) {
            e @ DatevError::InvalidField { column: c, .. } => {
                assert_eq!(c, column);
                assert_eq!(e.code(), "invalid_datev_field");
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn a_failing_writer_is_an_io_error_not_a_rule() {
    struct Broken;
    impl std::io::Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("client went away"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Err(std::io::Error::other("client went away"))
        }
    }
    let rows = (0..10_000).map(|_| row("1", Side::Debit, "1200", "8400"));
    match write_buchungsstapel(Broken, &settings(), rows) {
        Err(ExportError::Io(_)) => {}
        other => panic!("{:?}", other.map(|(n, _)| n)),
    }
}

fn partner() -> DatevPartner {
    DatevPartner {
        account: "10001".into(),
        addressee_type: AddresseeType::Company,
        name: "Müller & Söhne \"GmbH\"".into(),
        first_name: None,
        short_name: Some("Müller".into()),
        vat_id: Some("DE 123456789".into()),
        street: Some("Hauptstraße 1".into()),
        postal_code: Some("10115".into()),
        city: Some("Berlin".into()),
        country: Some("DE".into()),
        phone: None,
        email: Some("buchhaltung@mueller.example".into()),
        website: None,
        iban: Some("DE89370400440532013000".into()),
        bic: Some("COBADEFFXXX".into()),
        partner_number: Some("K-1".into()),
        tax_number: None,
    }
}

#[test]
fn debitoren_kreditoren_file() {
    let mut person = partner();
    person.account = "70001".into();
    person.addressee_type = AddresseeType::Person;
    person.name = "Weiß".into();
    person.first_name = Some("Jörg".into());
    person.vat_id = None;
    person.iban = None;
    let mut out = Vec::new();
    let n = write_partners(&mut out, &settings(), vec![partner(), person]).unwrap();
    assert_eq!(n, 2);
    let l = lines(&out);
    assert_eq!(
        l[0],
        &b"\"EXTF\";700;16;\"Debitoren/Kreditoren\";5;20240201123045123;;\"\";\"kontor\";\"\";1001;1;20240101;4;;;\"Buchungen Januar\";\"\";;;;\"\";;\"\";;;\"03\";;;;\"\""[..]
    );
    assert!(l[1].starts_with(b"Konto;Name (Adressattyp Unternehmen);Unternehmensgegenstand;Name (Adressattyp nat\xfcrl. Person);"));
    assert_eq!(fields(l[1]).len(), 100);
    let f = fields(l[2]);
    assert_eq!(f.len(), 100);
    assert_eq!(f[0], b"10001");
    assert_eq!(f[1], b"\"M\xfcller & S\xf6hne \"\"GmbH\"\"\"");
    assert_eq!(f[3], b"\"\"");
    assert_eq!(f[6], b"\"2\"");
    assert_eq!(f[8], b"\"DE\"");
    assert_eq!(f[9], b"\"123456789\"");
    assert_eq!(f[14], b"\"STR\"");
    assert_eq!(f[15], b"\"Hauptstra\xdfe 1\"");
    assert_eq!(f[44], b"\"DE89370400440532013000\"");
    assert_eq!(f[46], b"\"COBADEFFXXX\"");
    assert_eq!(f[48], b"1");
    assert_eq!(f[98], b"\"K-1\"");
    assert_eq!(f[99], b"\"\"");
    let f = fields(l[3]);
    assert_eq!(f[1], b"\"\"");
    assert_eq!(f[3], b"\"Wei\xdf\"");
    assert_eq!(f[4], b"\"J\xf6rg\"");
    assert_eq!(f[6], b"\"1\"");
    assert_eq!(f[48], b"");
}

#[test]
fn a_partner_without_a_valid_account_is_refused() {
    let mut p = partner();
    p.account = "K1".into();
    let e = rule_of(write_partners(Vec::new(), &settings(), vec![p]).unwrap_err());
    assert_eq!(e.code(), "invalid_datev_field");
}
