//! Field heuristics over plain text (a PDF's text layer or Tesseract's output): IBAN with its
//! checksum, VAT ids with their check, German and ISO dates, amounts with a decimal comma,
//! "Rechnungsnummer", totals that add up.

use crate::model::{Extraction, LineItem, Source, VatBreakdown};
use chrono::NaiveDate;
use regex::Regex;
use rust_decimal::Decimal;
use std::str::FromStr;
use std::sync::OnceLock;

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("valid regex"))
}

/// Parses `1.234,56`, `1234,56`, `1,234.56`, `1234.56`, `-12,00` into a decimal.
pub fn parse_amount(s: &str) -> Option<Decimal> {
    let s = s.trim().trim_end_matches(['€', ' ']).trim();
    if s.is_empty() || s.len() > 24 {
        return None;
    }
    let last_comma = s.rfind(',');
    let last_dot = s.rfind('.');
    let normalized = match (last_comma, last_dot) {
        (Some(c), Some(d)) if c > d => s.replace('.', "").replace(',', "."),
        (Some(_), Some(_)) => s.replace(',', ""),
        (Some(c), None) if s.len() - c - 1 == 2 => s.replace(',', "."),
        (Some(_), None) => s.replace(',', ""),
        (None, Some(d)) if s.len() - d - 1 == 3 && s.matches('.').count() >= 1 && s.len() > 4 => {
            s.replace('.', "")
        }
        _ => s.to_string(),
    };
    let normalized = normalized.replace(' ', "");
    Decimal::from_str(&normalized).ok()
}

/// `14.03.2026`, `14.3.26`, `2026-03-14`, `14/03/2026`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    for f in ["%d.%m.%Y", "%Y-%m-%d", "%d/%m/%Y", "%d.%m.%y"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            if (1900..=2199).contains(&chrono::Datelike::year(&d)) {
                return Some(d);
            }
        }
    }
    None
}

const DATE: &str = r"(\d{1,2}\.\d{1,2}\.\d{2,4}|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4})";
const AMOUNT: &str =
    r"(-?\d{1,3}(?:[.\s]\d{3})*,\d{2}|-?\d+,\d{2}|-?\d{1,3}(?:,\d{3})*\.\d{2}|-?\d+\.\d{2})";

/// The German USt-IdNr. check digit (ISO 7064 MOD 11,10); other countries: format only.
pub fn vat_id_checks(id: &str) -> bool {
    if receivables::validate_vat_id(id).is_err() {
        return false;
    }
    if let Some(digits) = id.strip_prefix("DE") {
        let d: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
        if d.len() != 9 {
            return false;
        }
        let mut product = 10;
        for &x in &d[..8] {
            let mut sum = (x + product) % 10;
            if sum == 0 {
                sum = 10;
            }
            product = (2 * sum) % 11;
        }
        let check = (11 - product) % 10;
        return check == d[8];
    }
    true
}

fn first_date_after(text: &str, labels: &str) -> Option<NaiveDate> {
    let r = Regex::new(&format!(r"(?i)(?:{labels})[^0-9\n]{{0,30}}{DATE}")).ok()?;
    let found = r.captures_iter(text).find_map(|c| parse_date(&c[1]));
    found
}

fn amount_after(text: &str, labels: &str) -> Option<Decimal> {
    let r = Regex::new(&format!(r"(?im)(?:{labels})[^0-9\n-]{{0,40}}{AMOUNT}")).ok()?;
    // The last occurrence: the totals block comes after the lines.
    let found = r
        .captures_iter(text)
        .filter_map(|c| parse_amount(&c[1]))
        .last();
    found
}

/// Rows of a line table: `[pos] description quantity unit_price total`, where quantity ×
/// unit price = total (to the cent). Returns (description, quantity, unit price, total).
fn table_rows(lines: &[&str]) -> Vec<(String, Decimal, Decimal, Decimal)> {
    static ROW: OnceLock<Regex> = OnceLock::new();
    let row = re(
        &ROW,
        &format!(
            r"^(?:\d{{1,3}}\s+)?(.+?)\s+(\d+(?:,\d+)?)\s+(?:[A-Za-z.]+\s+)?{AMOUNT}\s*(?:EUR|€)?\s+{AMOUNT}\s*(?:EUR|€)?$"
        ),
    );
    let mut out = Vec::new();
    for l in lines {
        let Some(c) = row.captures(l) else { continue };
        let (Ok(q), Some(p), Some(t)) = (
            Decimal::from_str(&c[2].replace(',', ".")),
            parse_amount(&c[3]),
            parse_amount(&c[4]),
        ) else {
            continue;
        };
        let computed =
            (q * p).round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        if q > Decimal::ZERO && (computed - t).abs() <= Decimal::new(1, 2) {
            out.push((c[1].trim().to_string(), q.normalize(), p, t));
        }
    }
    out
}

/// Reads an invoice from plain text.
pub fn extract_text(text: &str, source: Source) -> Extraction {
    static IBAN: OnceLock<Regex> = OnceLock::new();
    static VAT: OnceLock<Regex> = OnceLock::new();
    static NUMBER: OnceLock<Regex> = OnceLock::new();
    static RATE: OnceLock<Regex> = OnceLock::new();
    static SKONTO: OnceLock<Regex> = OnceLock::new();
    static TAXNO: OnceLock<Regex> = OnceLock::new();
    let text: String = text.replace('\0', " ").chars().take(200_000).collect();
    let mut x = Extraction::empty(source);
    let base = if source == Source::Ocr { 0.6 } else { 0.75 };
    x.raw_markdown = text.clone();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();

    // Vendor: the letterhead's first line, the address the lines after it up to a postcode.
    if let Some(first) = lines.first() {
        x.vendor_name = Some(first.to_string());
        static POSTCODE: OnceLock<Regex> = OnceLock::new();
        let postcode = re(&POSTCODE, r"\b\d{5}\b");
        let mut addr = Vec::new();
        for l in lines.iter().skip(1).take(3) {
            addr.push(l.to_string());
            if postcode.is_match(l) {
                break;
            }
        }
        if !addr.is_empty() {
            x.vendor_address = Some(addr.join(", "));
        }
    }
    // IBAN with its checksum. Groups may be split by a space, or by a dot or dash where OCR
    // read one into a gap; the checksum keeps out what is not an IBAN.
    let iban = re(
        &IBAN,
        r"\b([A-Z]{2}\d{2}(?:[ .\-]?[A-Z0-9]{4}){2,7}(?:[ .\-]?[A-Z0-9]{1,3})?)\b",
    );
    for c in iban.captures_iter(&text.to_ascii_uppercase()) {
        let mut compact: String = c[1].chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        // A group of the text after it may have been taken along: the country's length decides.
        if let Some(len) = receivables::iban::iban_length(&compact[..2]) {
            compact.truncate(len.min(compact.len()));
        }
        if let Ok(v) = receivables::validate_iban(&compact) {
            x.vendor_iban = Some(v);
            x.confidence.insert("vendor_iban".into(), 0.95);
            break;
        }
    }
    if x.vendor_iban.is_none() && iban.is_match(&text.to_ascii_uppercase()) {
        x.warnings
            .push("an IBAN-like number fails its checksum and was not taken".into());
    }
    // VAT id with its check.
    let vat = re(
        &VAT,
        r"\b((?:DE|AT|FR|NL|BE|IT|ES|PL|LU|DK|CZ)[ ]?U?[0-9A-Z]{2,3}[ ]?[0-9A-Z]{3}[ ]?[0-9A-Z]{3,6})\b",
    );
    for c in vat.captures_iter(&text) {
        let id: String = c[1].chars().filter(|c| !c.is_whitespace()).collect();
        if vat_id_checks(&id) {
            x.vendor_vat_id = Some(id);
            x.confidence.insert("vendor_vat_id".into(), 0.95);
            break;
        }
    }
    let taxno = re(
        &TAXNO,
        r"(?i)Steuer-?\s?(?:nummer|nr\.?)\s*:?\s*(\d{2,3}/\d{3,4}/\d{4,5})",
    );
    x.vendor_tax_number = taxno.captures(&text).map(|c| c[1].to_string());
    // Invoice number.
    let number = re(
        &NUMBER,
        r"(?i)(?:Rechnungs-?\s?(?:nummer|nr\.?)|Rechnung\s+Nr\.?|Invoice\s*(?:No\.?|Number|#))\s*[:#]?\s*([A-Z0-9][A-Z0-9\-/._]{1,30})",
    );
    x.invoice_number = number.captures(&text).map(|c| c[1].to_string());
    // The specific labels first: "Datum" is also the end of "Leistungsdatum".
    x.invoice_date = first_date_after(&text, r"Rechnungsdatum|Invoice date")
        .or_else(|| first_date_after(&text, r"\bDatum\b|\bDate\b"));
    x.service_date = first_date_after(
        &text,
        r"Leistungsdatum|Lieferdatum|Leistungszeitraum|Service date",
    );
    x.due_date = first_date_after(
        &text,
        r"[Ff]ällig(?:keit)?(?:\s*am)?|zahlbar bis|Zahlungsziel|Due date",
    );
    if x.invoice_date.is_none() {
        let r = Regex::new(DATE).expect("valid");
        x.invoice_date = r.captures_iter(&text).find_map(|c| parse_date(&c[1]));
        if x.invoice_date.is_some() {
            x.confidence.insert("invoice_date".into(), base * 0.6);
        }
    }
    x.total_net = amount_after(
        &text,
        r"Summe netto|Nettobetrag|Netto|Zwischensumme|Net total|Subtotal",
    );
    x.total_tax = amount_after(
        &text,
        r"zzgl\.?\s*(?:MwSt|USt)[^\n]*?|MwSt\.?[^\n]*?|USt\.?[^\n]*?|Umsatzsteuer[^\n]*?|VAT[^\n]*?",
    );
    x.total_gross = amount_after(
        &text,
        r"Gesamtbetrag|Rechnungsbetrag|Bruttobetrag|Summe brutto|Brutto|Gesamtsumme|Zu zahlen|Total",
    );
    x.currency = if text.contains("EUR") || text.contains('€') {
        Some("EUR".into())
    } else {
        None
    };
    // The VAT rate stated next to the tax.
    let rate = re(
        &RATE,
        r"(?i)(?:MwSt|USt|Umsatzsteuer|VAT)\.?\s*(\d{1,2}(?:,\d+)?)\s*%",
    );
    let rate = rate
        .captures(&text)
        .and_then(|c| Decimal::from_str(&c[1].replace(',', ".")).ok())
        .map(|r| r.normalize());
    // A tax read from the rate's own figure ("MwSt 19,00 %: 64,60"): when net and gross
    // are there and their difference is the tax at the stated rate, that difference is it.
    if let (Some(n), Some(t), Some(g), Some(r)) = (x.total_net, x.total_tax, x.total_gross, rate) {
        let at_rate = (n * r / Decimal::ONE_HUNDRED)
            .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        if n + t != g && g - n == at_rate {
            x.total_tax = Some(at_rate);
            x.confidence.insert("total_tax".into(), base * 0.8);
            x.warnings.push(format!(
                "the tax was read as {t}; net {n} and gross {g} at {r} % give {at_rate}, which was taken"
            ));
        }
    }
    // Totals that are missing but follow from the others.
    match (x.total_net, x.total_tax, x.total_gross) {
        (Some(n), Some(t), None) => {
            x.total_gross = Some(n + t);
            x.confidence.insert("total_gross".into(), base * 0.6);
        }
        (Some(n), None, Some(g)) => {
            x.total_tax = Some(g - n);
            x.confidence.insert("total_tax".into(), base * 0.6);
        }
        (None, Some(t), Some(g)) => {
            x.total_net = Some(g - t);
            x.confidence.insert("total_net".into(), base * 0.6);
        }
        _ => {}
    }
    if let (Some(n), Some(r)) = (x.total_net, rate) {
        let cat = if r.is_zero() { "E" } else { "S" };
        x.vat_breakdown.push(VatBreakdown {
            vat_category: Some(cat.into()),
            rate: Some(r),
            taxable: Some(n),
            tax: x.total_tax,
            tax_code: crate::tax::tax_code(cat, Some(r)),
        });
        let rows = table_rows(&lines);
        let sum: Decimal = rows.iter().map(|r| r.3).sum();
        if !rows.is_empty() && (sum - n).abs() <= Decimal::new(1, 2) {
            // The table's rows add up to the net total: they are the lines.
            for (description, quantity, price, total) in rows {
                x.line_items.push(LineItem {
                    description: Some(description),
                    quantity: Some(quantity),
                    unit_price: Some(price),
                    net: Some(total),
                    tax_rate: Some(r),
                    vat_category: Some(cat.into()),
                    tax_code: crate::tax::tax_code(cat, Some(r)),
                });
            }
        } else {
            x.line_items.push(LineItem {
                description: Some(format!(
                    "Rechnung {}",
                    x.invoice_number.clone().unwrap_or_default()
                )),
                quantity: Some(Decimal::ONE),
                unit_price: Some(n),
                net: Some(n),
                tax_rate: Some(r),
                vat_category: Some(cat.into()),
                tax_code: crate::tax::tax_code(cat, Some(r)),
            });
            x.warnings.push(
                "the invoice lines were not read one by one: one line with the net total stands for them".into(),
            );
        }
    }
    // Payment terms and cash discount ("2 % Skonto bei Zahlung innerhalb von 14 Tagen").
    x.payment_terms = lines
        .iter()
        .find(|l| {
            let l = l.to_lowercase();
            l.contains("zahlbar") || l.contains("zahlungsziel") || l.contains("skonto")
        })
        .map(|l| l.to_string());
    let skonto = re(
        &SKONTO,
        r"(?i)(\d{1,2}(?:[.,]\d{1,2})?)\s*%\s*Skonto[^0-9\n]{0,40}?(\d{1,3})\s*Tage",
    );
    if let Some(c) = skonto.captures(&text) {
        if let (Some(p), Ok(d)) = (
            Decimal::from_str(&c[1].replace(',', ".")).ok(),
            c[2].parse::<i64>(),
        ) {
            if p > Decimal::ZERO && p < Decimal::ONE_HUNDRED && (1..=366).contains(&d) {
                x.cash_discount_percent = Some(p);
                x.cash_discount_days = Some(d);
            }
        }
    }
    static REFERENCE: OnceLock<Regex> = OnceLock::new();
    let reference = re(
        &REFERENCE,
        r"(?i)(?:Verwendungszweck|Referenz|Ihre Bestellung|Bestellnummer)\s*:?\s*([^\n]{1,80})",
    );
    x.reference_text = reference.captures(&text).map(|c| c[1].trim().to_string());
    crate::checks::check_totals(&mut x);
    // Totals that add up back each other.
    if let (Some(n), Some(t), Some(g)) = (x.total_net, x.total_tax, x.total_gross) {
        if n + t == g {
            for f in ["total_net", "total_tax", "total_gross"] {
                let e = x.confidence.entry(f.into()).or_insert(0.9);
                if *e < 0.9 && *e > 0.31 {
                    *e = 0.9;
                }
            }
        }
    }
    x.set_found_confidence(base);
    if !x.holds_invoice() {
        x.warnings
            .push("no invoice number and no total found: is this an invoice?".into());
    }
    x
}
