//! Totals that must add up, and what § 14 Abs. 4 UStG requires of an invoice.

use crate::model::{Extraction, Source};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// net + tax = gross, the lines' sum = net, the breakdown's tax = tax. Each mismatch lowers
/// the confidence of the totals and says why in `warnings`.
pub fn check_totals(x: &mut Extraction) {
    let cent = Decimal::new(1, 2);
    if let (Some(n), Some(t), Some(g)) = (x.total_net, x.total_tax, x.total_gross) {
        if (n + t - g).abs() > cent {
            x.warnings.push(format!(
                "totals do not add up: net {n} + tax {t} = {} != gross {g}",
                n + t
            ));
            for f in ["total_net", "total_tax", "total_gross"] {
                x.lower(f, 0.3);
            }
        }
    }
    if let Some(n) = x.total_net {
        let nets: Vec<Decimal> = x.line_items.iter().filter_map(|l| l.net).collect();
        if !nets.is_empty() && nets.len() == x.line_items.len() {
            let sum: Decimal = nets.iter().sum();
            if (sum - n).abs() > cent {
                x.warnings.push(format!(
                    "the lines add up to {sum}, the invoice states net {n}"
                ));
                x.lower("total_net", 0.3);
                x.lower("line_items", 0.3);
            }
        }
    }
    if let Some(t) = x.total_tax {
        let taxes: Vec<Decimal> = x.vat_breakdown.iter().filter_map(|b| b.tax).collect();
        if !taxes.is_empty() {
            let sum: Decimal = taxes.iter().sum();
            if (sum - t).abs() > cent {
                x.warnings.push(format!(
                    "the VAT breakdown adds up to {sum}, the invoice states tax {t}"
                ));
                x.lower("total_tax", 0.3);
            }
        }
    }
    for b in &x.vat_breakdown {
        if let Some(c) = &b.vat_category {
            if b.tax_code.is_none() && !crate::tax::is_zero_category(c) {
                x.warnings.push(format!(
                    "VAT category {c} at {} % has no tax code in kontor's charts: choose one in the review case",
                    b.rate.map(|r| r.normalize().to_string()).unwrap_or_default()
                ));
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Requirement {
    pub field: String,
    /// What § 14 Abs. 4 UStG asks for.
    pub label: String,
    pub present: bool,
    /// False where the extraction cannot tell (the buyer is not read from text or OCR): such a
    /// requirement is listed but neither counted as missing nor as present.
    pub verifiable: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComplianceCheck {
    /// Every verifiable requirement of § 14 Abs. 4 UStG is present.
    pub compliant: bool,
    /// A structured e-invoice (EN 16931: XRechnung, ZUGFeRD from profile EN 16931 / BASIC)
    /// in the sense of § 14 Abs. 1 UStG since 2025.
    pub e_invoice: bool,
    pub requirements: Vec<Requirement>,
    /// The labels of what is missing.
    pub missing: Vec<String>,
}

/// The mandatory contents of an invoice (§ 14 Abs. 4 UStG) and whether each was found.
pub fn compliance_check(x: &Extraction) -> ComplianceCheck {
    let has_lines = x
        .line_items
        .iter()
        .any(|l| l.description.is_some() && l.quantity.is_some());
    let has_rates =
        !x.vat_breakdown.is_empty() || x.line_items.iter().any(|l| l.tax_rate.is_some());
    let reqs = vec![
        (
            "vendor_name",
            "Name des leistenden Unternehmers (Nr. 1)",
            x.vendor_name.is_some(),
        ),
        (
            "vendor_address",
            "Anschrift des leistenden Unternehmers (Nr. 1)",
            x.vendor_address.is_some(),
        ),
        (
            "buyer_name",
            "Name des Leistungsempfängers (Nr. 1)",
            x.buyer_name.is_some() || x.source != Source::Xml,
        ),
        (
            "vendor_vat_id",
            "USt-IdNr. oder Steuernummer des Unternehmers (Nr. 2)",
            x.vendor_vat_id.is_some() || x.vendor_tax_number.is_some(),
        ),
        (
            "invoice_date",
            "Ausstellungsdatum (Nr. 3)",
            x.invoice_date.is_some(),
        ),
        (
            "invoice_number",
            "fortlaufende Rechnungsnummer (Nr. 4)",
            x.invoice_number.is_some(),
        ),
        (
            "line_items",
            "Menge und Art der Lieferung oder Leistung (Nr. 5)",
            has_lines,
        ),
        (
            "service_date",
            "Zeitpunkt der Lieferung oder Leistung (Nr. 6)",
            x.service_date.is_some(),
        ),
        (
            "total_net",
            "Entgelt nach Steuersätzen (Nr. 7)",
            x.total_net.is_some(),
        ),
        (
            "tax_rate",
            "Steuersatz oder Hinweis auf die Steuerbefreiung (Nr. 8)",
            has_rates,
        ),
        ("total_tax", "Steuerbetrag (Nr. 8)", x.total_tax.is_some()),
    ];
    let requirements: Vec<Requirement> = reqs
        .into_iter()
        .map(|(f, l, p)| Requirement {
            field: f.into(),
            label: l.into(),
            present: p,
            // Text and OCR reads look for neither the buyer nor the single lines.
            verifiable: x.source == Source::Xml || !matches!(f, "buyer_name" | "line_items"),
        })
        .collect();
    let missing: Vec<String> = requirements
        .iter()
        .filter(|r| r.verifiable && !r.present)
        .map(|r| r.label.clone())
        .collect();
    let profile = x.profile.clone().unwrap_or_default().to_ascii_lowercase();
    let e_invoice =
        x.source == Source::Xml && !(profile.contains("minimum") || profile.contains("basicwl"));
    ComplianceCheck {
        compliant: missing.is_empty(),
        e_invoice,
        requirements,
        missing,
    }
}
