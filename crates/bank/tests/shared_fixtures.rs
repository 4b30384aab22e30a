//! The real bank statements in ../shared/fixtures/statements (outside the repository; see
//! its README). Each: the right count, the right sum, the balance check as the file has it.

use bank::{balance_check, fingerprints, parse, sniff, Format, Statement};
use rust_decimal::Decimal;
use std::path::PathBuf;
use std::str::FromStr;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/statements/"
);

fn load(name: &str) -> Option<Vec<u8>> {
    let path = PathBuf::from(DIR).join(name);
    match std::fs::read(&path) {
        Ok(b) => Some(b),
        Err(_) => {
            println!("skipped: ../shared/fixtures missing ({})", path.display());
            None
        }
    }
}

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn read(name: &str, format: Format) -> Option<Vec<Statement>> {
    let bytes = load(name)?;
    assert_eq!(sniff(&bytes), Some(format), "{name} sniffed");
    let statements =
        parse(bytes.as_slice(), format, None).unwrap_or_else(|e| panic!("{name}: {e}"));
    // Fingerprints are unique within each file.
    for s in &statements {
        let fps = fingerprints(s);
        let mut unique = fps.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), fps.len(), "{name}: fingerprints unique");
    }
    Some(statements)
}

#[test]
fn camt053_v02_debit_viafintech() {
    let Some(st) = read("camt053_v02_debit_viafintech.xml", Format::Camt) else {
        return;
    };
    assert_eq!(st.len(), 1);
    let s = &st[0];
    assert_eq!(s.account_iban.as_deref(), Some("DE14740618130000033626"));
    assert_eq!(s.currency.code(), "EUR");
    assert_eq!(s.statement_id.as_deref(), Some("0352C5320131227220503"));
    // 4 entries, the last a batch of two TxDtls → 5 transactions.
    assert_eq!(s.transactions.len(), 5);
    assert_eq!(s.total().unwrap(), d("-10.00"));
    let amounts: Vec<Decimal> = s.transactions.iter().map(|t| t.amount).collect();
    assert_eq!(
        amounts,
        [d("-2.00"), d("-3.00"), d("1.00"), d("-3.50"), d("-2.50")]
    );
    let t0 = &s.transactions[0];
    assert_eq!(t0.end_to_end_id.as_deref(), Some("EndToEndReference"));
    assert_eq!(t0.bank_reference.as_deref(), Some("BankReference"));
    assert_eq!(t0.counterparty_name.as_deref(), Some("Testkonto Nummer 2"));
    assert_eq!(
        t0.counterparty_iban.as_deref(),
        Some("DE09300606010012345671")
    );
    assert_eq!(
        t0.remittance_info.as_deref(),
        Some("TEST BERWEISUNG MITTELS BLZUND KONTONUMMER - DTA")
    );
    assert!(t0.raw.starts_with("<Ntry>") && t0.raw.ends_with("</Ntry>"));
    let t1 = &s.transactions[1];
    assert_eq!(t1.end_to_end_id, None, "NOTPROVIDED is none");
    assert_eq!(t1.bank_reference.as_deref(), Some("2013122710583600000"));
    // Money in: the debtor is the counterparty; a BBAN is not an IBAN.
    let t2 = &s.transactions[2];
    assert_eq!(t2.counterparty_name.as_deref(), Some("Testkonto Nummer 2"));
    assert_eq!(t2.counterparty_iban, None);
    let t3 = &s.transactions[3];
    assert_eq!(
        t3.end_to_end_id.as_deref(),
        Some("STZV-EtE27122013-11:02-1")
    );
    assert_eq!(
        t3.remittance_info.as_deref(),
        Some("Sammelueberwseisung 2. Zahlung TAN:283044")
    );
    assert!(t3.raw.starts_with("<TxDtls>"));
    // PRCD −33.06, −10.00 → −43.06; the file says CLBD +23.06: the gap is reported.
    let check = balance_check(s);
    assert!(!check.ok);
    assert_eq!(check.opening, Some(d("-33.06")));
    assert_eq!(check.closing, Some(d("23.06")));
    assert_eq!(check.computed_closing, Some(d("-43.06")));
    assert_eq!(check.difference, Some(d("66.12")));
}

#[test]
fn camt053_v02_minimal_genkgo() {
    let Some(st) = read("camt053_v02_minimal_genkgo.xml", Format::Camt) else {
        return;
    };
    assert_eq!(st.len(), 1);
    let s = &st[0];
    assert_eq!(s.account_iban.as_deref(), Some("NL26VAYB8060476890"));
    assert_eq!(s.transactions.len(), 1);
    assert_eq!(s.total().unwrap(), d("8.85"));
    let t = &s.transactions[0];
    assert_eq!(t.booking_date.to_string(), "2014-12-31");
    assert_eq!(
        t.value_date.map(|v| v.to_string()).as_deref(),
        Some("2015-01-02")
    );
    assert_eq!(t.counterparty_name.as_deref(), Some("NAME NAME"));
    assert_eq!(t.remittance_info.as_deref(), Some("4654654654654654"));
    // Its CLBD is in SEK on a EUR account: ignored, so the check reports a gap.
    let check = balance_check(s);
    assert_eq!(check.opening, Some(d("18.15")));
    assert_eq!(check.closing, None);
    assert_eq!(check.computed_closing, Some(d("27.00")));
    assert!(!check.ok);
}

#[test]
fn mt940_commerzbank_jejik() {
    let Some(st) = read("mt940_commerzbank_jejik.sta", Format::Mt940) else {
        return;
    };
    assert_eq!(st.len(), 1);
    let s = &st[0];
    assert_eq!(s.account_number.as_deref(), Some("25040066/0123456789"));
    assert_eq!(s.statement_id.as_deref(), Some("00143/1"));
    assert_eq!(s.transactions.len(), 1);
    assert_eq!(s.total().unwrap(), d("-12.35"));
    let t = &s.transactions[0];
    assert_eq!(t.booking_date.to_string(), "2020-06-08");
    assert_eq!(
        t.value_date.map(|v| v.to_string()).as_deref(),
        Some("2020-06-08")
    );
    assert_eq!(t.bank_reference.as_deref(), Some("2016021783252833"));
    assert_eq!(
        t.end_to_end_id.as_deref(),
        Some("A1.200080779.400143254.4961336")
    );
    assert_eq!(t.counterparty_name.as_deref(), Some("TESTEREL"));
    assert_eq!(
        t.counterparty_iban.as_deref(),
        Some("DE50712345600200691329")
    );
    let r = t.remittance_info.as_deref().unwrap();
    assert!(
        r.starts_with("EREF+A1.200080779.400143254.4961336 KREF+"),
        "{r}"
    );
    assert!(r.contains("ENDABRECHNUNG NR. 500106875"), "{r}");
    // 0,00 − 12,35 ≠ 0,00: reported.
    let check = balance_check(s);
    assert!(!check.ok);
    assert_eq!(check.difference, Some(d("12.35")));
}

#[test]
fn mt940_sparkasse2_jejik() {
    let Some(st) = read("mt940_sparkasse2_jejik.sta", Format::Mt940) else {
        return;
    };
    assert_eq!(st.len(), 1);
    let s = &st[0];
    assert_eq!(s.account_iban.as_deref(), Some("DE11222220220222220200"));
    assert_eq!(s.statement_id.as_deref(), Some("00000/001"));
    assert_eq!(s.transactions.len(), 1);
    // RD: reversal of a debit = money in.
    assert_eq!(s.total().unwrap(), d("1027.25"));
    let t = &s.transactions[0];
    assert_eq!(t.booking_date.to_string(), "2020-02-19");
    assert_eq!(
        t.value_date.map(|v| v.to_string()).as_deref(),
        Some("2020-02-01")
    );
    assert_eq!(
        t.counterparty_name.as_deref(),
        Some("GEBÜHREN MANUELL GG UST-FREI")
    );
    assert_eq!(
        t.remittance_info.as_deref(),
        Some("STORNO RECHNUNGSABSCHLUSSPER 01.02.2020")
    );
    assert_eq!(t.end_to_end_id, None, "NONREF is none");
    let check = balance_check(s);
    assert_eq!(check.opening, Some(d("931052.29")));
    assert_eq!(check.closing, Some(d("931304.50")));
    assert!(!check.ok);
}
