//! The extraction (seed 003's fields of POST /v1/ocr/extract, flat) and its parts.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How an extraction was made: `xml` (a structured e-invoice, read exactly), `text` (a PDF's
/// text layer with heuristics), `ocr` (Tesseract on an image, with the same heuristics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Xml,
    Text,
    Ocr,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Xml => "xml",
            Source::Text => "text",
            Source::Ocr => "ocr",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LineItem {
    pub description: Option<String>,
    #[serde(with = "rust_decimal::serde::str_option", default)]
    pub quantity: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option", default)]
    pub unit_price: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option", default)]
    pub net: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option", default)]
    pub tax_rate: Option<Decimal>,
    /// EN 16931 VAT category (S, AE, K, E, Z, G, O, L, M).
    pub vat_category: Option<String>,
    /// The tax code of the tenant's chart the category maps to (VSt19, VSt7, RC19, IGE19), None
    /// for 0 % without input VAT.
    pub tax_code: Option<String>,
}

/// One VAT rate of the invoice's breakdown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VatBreakdown {
    pub vat_category: Option<String>,
    #[serde(with = "rust_decimal::serde::str_option", default)]
    pub rate: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option", default)]
    pub taxable: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option", default)]
    pub tax: Option<Decimal>,
    pub tax_code: Option<String>,
}

/// What an invoice says, as far as it could be read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Extraction {
    pub vendor_name: Option<String>,
    pub vendor_vat_id: Option<String>,
    pub vendor_tax_number: Option<String>,
    pub vendor_iban: Option<String>,
    pub vendor_address: Option<String>,
    pub buyer_name: Option<String>,
    pub buyer_address: Option<String>,
    pub invoice_number: Option<String>,
    pub invoice_date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    /// Leistungsdatum (§ 14 Abs. 4 Nr. 6 UStG).
    pub service_date: Option<NaiveDate>,
    #[serde(with = "rust_decimal::serde::str_option", default)]
    pub total_net: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option", default)]
    pub total_tax: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option", default)]
    pub total_gross: Option<Decimal>,
    pub currency: Option<String>,
    /// `invoice` or `credit_note`.
    pub document_type: String,
    pub line_items: Vec<LineItem>,
    pub vat_breakdown: Vec<VatBreakdown>,
    pub payment_terms: Option<String>,
    #[serde(with = "rust_decimal::serde::str_option", default)]
    pub cash_discount_percent: Option<Decimal>,
    pub cash_discount_days: Option<i64>,
    pub reference_text: Option<String>,
    pub raw_markdown: String,
    pub source: Source,
    /// The e-invoice's syntax and profile (`ubl`, `cii`; `urn:cen.eu:en16931:2017#…`).
    pub syntax: Option<String>,
    pub profile: Option<String>,
    /// field → 0..1
    pub confidence: BTreeMap<String, f64>,
    pub warnings: Vec<String>,
}

impl Extraction {
    pub fn empty(source: Source) -> Extraction {
        Extraction {
            vendor_name: None,
            vendor_vat_id: None,
            vendor_tax_number: None,
            vendor_iban: None,
            vendor_address: None,
            buyer_name: None,
            buyer_address: None,
            invoice_number: None,
            invoice_date: None,
            due_date: None,
            service_date: None,
            total_net: None,
            total_tax: None,
            total_gross: None,
            currency: None,
            document_type: "invoice".into(),
            line_items: Vec::new(),
            vat_breakdown: Vec::new(),
            payment_terms: None,
            cash_discount_percent: None,
            cash_discount_days: None,
            reference_text: None,
            raw_markdown: String::new(),
            source,
            syntax: None,
            profile: None,
            confidence: BTreeMap::new(),
            warnings: Vec::new(),
        }
    }

    /// True when it looks like an invoice at all (a number, a date or a total was found).
    pub fn holds_invoice(&self) -> bool {
        self.invoice_number.is_some() || self.total_gross.is_some()
    }

    /// The fields that were found, each with `base` confidence, unless already set.
    pub(crate) fn set_found_confidence(&mut self, base: f64) {
        let found: Vec<(&str, bool)> = vec![
            ("vendor_name", self.vendor_name.is_some()),
            ("vendor_vat_id", self.vendor_vat_id.is_some()),
            ("vendor_iban", self.vendor_iban.is_some()),
            ("vendor_address", self.vendor_address.is_some()),
            ("invoice_number", self.invoice_number.is_some()),
            ("invoice_date", self.invoice_date.is_some()),
            ("due_date", self.due_date.is_some()),
            ("service_date", self.service_date.is_some()),
            ("total_net", self.total_net.is_some()),
            ("total_tax", self.total_tax.is_some()),
            ("total_gross", self.total_gross.is_some()),
            ("currency", self.currency.is_some()),
            ("line_items", !self.line_items.is_empty()),
            ("payment_terms", self.payment_terms.is_some()),
        ];
        for (field, present) in found {
            let c = if present { base } else { 0.0 };
            self.confidence.entry(field.to_string()).or_insert(c);
        }
    }

    pub(crate) fn lower(&mut self, field: &str, to: f64) {
        let e = self.confidence.entry(field.to_string()).or_insert(to);
        if *e > to {
            *e = to;
        }
    }
}
