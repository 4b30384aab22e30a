//! Builders of runs for the tests, and XSD validation with xmllint.
#![allow(dead_code)]

use chrono::NaiveDate;
use journal::Currency;
use payments::{Debtor, OpenInvoice, PainVersion, RunOptions, Vendor};
use receivables::iban::check_digits;
use receivables::{Direction, InvoiceType};
use rust_decimal::Decimal;
use std::path::PathBuf;
use std::process::Command;
use std::str::FromStr;
use uuid::Uuid;

pub fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

pub fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

pub fn today() -> NaiveDate {
    d(2026, 11, 25)
}

/// A valid German IBAN from a number.
pub fn de_iban(n: u64) -> String {
    let bban = format!("{:018}", n);
    format!("DE{}{}", check_digits("DE", &bban), bban)
}

pub fn uuid(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

pub fn vendor(n: u128, name: &str) -> Vendor {
    Vendor {
        id: uuid(0x1000 + n),
        name: name.to_string(),
        iban: Some(de_iban(n as u64 + 1)),
        bic: None,
    }
}

pub fn invoice(id: u128, v: &Vendor, number: &str, open: &str, due: NaiveDate) -> OpenInvoice {
    OpenInvoice {
        id: uuid(id),
        number: number.to_string(),
        direction: Direction::Incoming,
        invoice_type: InvoiceType::Invoice,
        currency: Currency::EUR,
        invoice_date: d(2026, 11, 1),
        due_date: due,
        open_amount: dec(open),
        cash_discount: None,
        active_run: None,
        vendor: v.clone(),
        amount: None,
    }
}

pub fn credit_note(id: u128, v: &Vendor, number: &str, open: &str) -> OpenInvoice {
    OpenInvoice {
        invoice_type: InvoiceType::CreditNote,
        ..invoice(id, v, number, open, d(2026, 11, 20))
    }
}

pub fn debtor() -> Debtor {
    Debtor {
        name: "Müller & Söhne GmbH".into(),
        iban: "DE89 3704 0044 0532 0130 00".into(),
        bic: Some("COBADEFFXXX".into()),
    }
}

pub fn options(run: u128) -> RunOptions {
    RunOptions {
        run_id: uuid(run),
        today: today(),
        execution_date: d(2026, 11, 27),
        due_before: None,
        batch_by_vendor: false,
        debtor: debtor(),
    }
}

/// The XSD of `version` in ../shared/fixtures, or `None` (printing that the check is
/// skipped) when the fixtures are not there.
pub fn xsd(version: PainVersion) -> Option<PathBuf> {
    let path = PathBuf::from(match version {
        PainVersion::V09 => concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/fixtures/xsd/pain.001.001.09.xsd"
        ),
        PainVersion::V03 => concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/fixtures/xsd/pain.001.001.03.xsd"
        ),
    });
    if path.is_file() {
        Some(path)
    } else {
        // Straight to stderr, past the test harness's capture, so the skip is seen.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "skipped: ../shared/fixtures missing ({})",
            path.display()
        );
        None
    }
}

/// Runs `xmllint --noout --schema` on `xml` against the real XSD of `version`: `None` when
/// the fixtures are missing (the skip is printed), else whether it validates, with xmllint's
/// complaint.
pub fn xmllint(xml: &str, version: PainVersion, name: &str) -> Option<Result<(), String>> {
    let schema = xsd(version)?;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("payments-xsd");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{name}-{}.xml", version.name()));
    std::fs::write(&file, xml).unwrap();
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "xmllint could not run ({e}): install libxml2-utils (scripts/test.sh does as root)"
            )
        });
    Some(if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} does not validate against {}:\n{}",
            file.display(),
            version.name(),
            String::from_utf8_lossy(&out.stderr)
        ))
    })
}

/// Validates `xml` against the real XSD of `version`; false (after printing the skip) when
/// the fixtures are missing; panics with xmllint's complaint when the document is invalid.
pub fn validate(xml: &str, version: PainVersion, name: &str) -> bool {
    match xmllint(xml, version, name) {
        None => false,
        Some(Ok(())) => true,
        Some(Err(e)) => panic!("{e}\n{xml}"),
    }
}
