//! Per-field accuracy and time per document of each extraction path on the fixtures of
//! `fixtures/einvoices/` (`benches/inbox.sh`; figures in benches/README.md).
//!
//!     cargo run -p inbox --example accuracy [-- ROUNDS]
//!
//! xml: the UBL and CII XRechnung and the ZUGFeRD PDF; text: the text-layer PDF; ocr: the PNG
//! rendered from it and a degraded photo-like JPEG of it (110 dpi, rotated, noise, blur),
//! read by `tesseract stdin stdout -l deu+eng --psm 4` (as kontor runs it).

use inbox::{Extraction, Read};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Instant;

fn dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/einvoices")
}

fn fields(x: &Extraction) -> Vec<(&'static str, String)> {
    let s = |o: &Option<String>| o.clone().unwrap_or_default();
    let d =
        |o: Option<rust_decimal::Decimal>| o.map(|v| v.normalize().to_string()).unwrap_or_default();
    let t = |o: Option<chrono::NaiveDate>| o.map(|v| v.to_string()).unwrap_or_default();
    vec![
        ("vendor_name", s(&x.vendor_name)),
        ("vendor_vat_id", s(&x.vendor_vat_id)),
        ("vendor_iban", s(&x.vendor_iban)),
        ("invoice_number", s(&x.invoice_number)),
        ("invoice_date", t(x.invoice_date)),
        ("due_date", t(x.due_date)),
        ("service_date", t(x.service_date)),
        ("total_net", d(x.total_net)),
        ("total_tax", d(x.total_tax)),
        ("total_gross", d(x.total_gross)),
        ("currency", s(&x.currency)),
        ("cash_discount_percent", d(x.cash_discount_percent)),
        (
            "cash_discount_days",
            x.cash_discount_days
                .map(|v| v.to_string())
                .unwrap_or_default(),
        ),
        // The lines by their net amounts, in order.
        (
            "line_items",
            x.line_items
                .iter()
                .map(|l| d(l.net))
                .collect::<Vec<_>>()
                .join("+"),
        ),
    ]
}

fn truth(name: &str) -> Vec<&'static str> {
    match name {
        "xrechnung-ubl.xml" => vec![
            "Bürobedarf Schmidt GmbH",
            "DE136695976",
            "DE89370400440532013000",
            "R-2026-0042",
            "2026-03-02",
            "2026-03-30",
            "2026-02-27",
            "190",
            "33.7",
            "223.7",
            "EUR",
            "2",
            "14",
            "45+125+20",
        ],
        "xrechnung-cii.xml" | "zugferd-en16931.pdf" => vec![
            "IT-Service Weber GmbH",
            "DE136695976",
            "DE02120300000000202051",
            if name.ends_with(".xml") {
                "CII-2026-0107"
            } else {
                "ZF-2026-0001"
            },
            "2026-03-05",
            "2026-04-04",
            "2026-03-31",
            "760",
            "144.4",
            "904.4",
            "EUR",
            "3",
            "10",
            "760",
        ],
        _ => vec![
            "Druckerei Lehmann GmbH",
            "DE136695976",
            "DE89370400440532013000",
            "DL-2026-311",
            "2026-03-12",
            "2026-03-26",
            "2026-03-10",
            "340",
            "64.6",
            "404.6",
            "EUR",
            "2",
            "10",
            "250+90",
        ],
    }
}

fn ocr(image: &[u8]) -> String {
    let mut child = Command::new("tesseract")
        .args(["stdin", "stdout", "-l", "deu+eng", "--psm", "4"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("tesseract (apt-get install tesseract-ocr tesseract-ocr-deu)");
    child.stdin.take().unwrap().write_all(image).unwrap();
    String::from_utf8_lossy(&child.wait_with_output().unwrap().stdout).into_owned()
}

fn extract(bytes: &[u8]) -> Extraction {
    match inbox::read(bytes).expect("readable") {
        Read::Done(x) => *x,
        Read::NeedsOcr => inbox::from_ocr_text(&ocr(bytes)),
        Read::ScannedPdf { pages, .. } => {
            let text: Vec<String> = pages.iter().map(|p| ocr(p)).collect();
            inbox::from_ocr_text(&text.join("\n\n"))
        }
    }
}

fn main() {
    let rounds: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let docs = [
        ("xml", "xrechnung-ubl.xml"),
        ("xml", "xrechnung-cii.xml"),
        ("xml", "zugferd-en16931.pdf"),
        ("text", "text-layer.pdf"),
        ("ocr", "scan.png"),
        ("ocr", "scan-photo.jpg"),
        ("ocr", "scan.pdf"),
    ];
    println!("| path | document | fields right | wrong or missing | ms per document |");
    println!("|---|---|---|---|---|");
    let mut per_path: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    for (path, name) in docs {
        let bytes = std::fs::read(dir().join(name)).expect(name);
        let n = if path == "ocr" { rounds.min(3) } else { rounds };
        let start = Instant::now();
        let mut x = extract(&bytes);
        for _ in 1..n {
            x = extract(&bytes);
        }
        let ms = start.elapsed().as_secs_f64() * 1000.0 / n as f64;
        let got = fields(&x);
        let want = truth(name);
        let mut wrong = Vec::new();
        for ((field, value), expected) in got.iter().zip(want.iter()) {
            if value != expected {
                wrong.push(format!("{field} ({value:?})"));
            }
        }
        let right = got.len() - wrong.len();
        let e = per_path.entry(path).or_default();
        e.0 += right;
        e.1 += got.len();
        println!(
            "| {path} | {name} | {right}/{} | {} | {ms:.1} |",
            got.len(),
            if wrong.is_empty() {
                "—".to_string()
            } else {
                wrong.join(", ")
            }
        );
    }
    println!();
    for (path, (right, all)) in per_path {
        println!(
            "{path}: {right}/{all} fields right ({:.0} %)",
            100.0 * right as f64 / all as f64
        );
    }
    std::io::stdout().flush().unwrap();
}
