//! Structured e-invoices read exactly: XRechnung / EN 16931 in UBL 2.1 (Invoice, CreditNote)
//! and in UN/CEFACT CII (CrossIndustryInvoice, also the XML inside ZUGFeRD / Factur-X PDFs).

use crate::model::{Extraction, LineItem, Source, VatBreakdown};
use crate::tax::tax_code;
use crate::xml::{self, Node};
use crate::ExtractError;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::str::FromStr;

/// How the error of an XML document of another kind begins.
pub const UNKNOWN_DOCUMENT: &str = "unknown XML document";

/// Reads a UBL or CII e-invoice. Anything else (another root element, malformed XML) is an
/// error, never a guess.
pub fn parse_einvoice(bytes: &[u8]) -> Result<Extraction, ExtractError> {
    let root = xml::parse(bytes)?;
    let mut x = match root.name.as_str() {
        "Invoice" | "CreditNote" => ubl(&root)?,
        "CrossIndustryInvoice" => cii(&root)?,
        other => {
            return Err(ExtractError::Xml(format!(
                "{UNKNOWN_DOCUMENT} <{other}>: kontor reads XRechnung / EN 16931 as UBL Invoice or CreditNote and UN/CEFACT CrossIndustryInvoice"
            )))
        }
    };
    x.raw_markdown = markdown(&x);
    crate::checks::check_totals(&mut x);
    x.set_found_confidence(1.0);
    Ok(x)
}

fn amount(n: Option<String>, what: &str) -> Result<Option<Decimal>, ExtractError> {
    match n {
        None => Ok(None),
        Some(t) => {
            if t.len() > 40 {
                return Err(ExtractError::Xml(format!("{what}: number too long")));
            }
            Decimal::from_str(t.trim())
                .map(Some)
                .map_err(|_| ExtractError::Xml(format!("{what}: {t:?} is not a decimal amount")))
        }
    }
}

fn iso_date(t: Option<String>, what: &str) -> Result<Option<NaiveDate>, ExtractError> {
    match t {
        None => Ok(None),
        Some(t) => {
            let t = t.trim();
            NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .or_else(|_| NaiveDate::parse_from_str(t, "%Y%m%d"))
                .map(Some)
                .map_err(|_| ExtractError::Xml(format!("{what}: {t:?} is not a date")))
        }
    }
}

fn join_address(parts: &[Option<String>]) -> Option<String> {
    let v: Vec<&str> = parts.iter().flatten().map(|s| s.as_str()).collect();
    if v.is_empty() {
        None
    } else {
        Some(v.join(", "))
    }
}

fn normalize_id(s: String) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// `#SKONTO#TAGE=14#PROZENT=2.00#` (XRechnung's structured cash discount, in the payment
/// terms' text): the first such term.
pub fn skonto(terms: &str) -> Option<(Decimal, i64)> {
    for line in terms.split('\n') {
        let l = line.trim();
        if !l.to_ascii_uppercase().starts_with("#SKONTO#") {
            continue;
        }
        let mut days = None;
        let mut pct = None;
        for part in l.split('#') {
            if let Some((k, v)) = part.split_once('=') {
                match k.trim().to_ascii_uppercase().as_str() {
                    "TAGE" => days = v.trim().parse::<i64>().ok(),
                    "PROZENT" => pct = Decimal::from_str(v.trim()).ok(),
                    _ => {}
                }
            }
        }
        if let (Some(d), Some(p)) = (days, pct) {
            if (1..=366).contains(&d) && p > Decimal::ZERO && p < Decimal::ONE_HUNDRED {
                return Some((p, d));
            }
        }
    }
    None
}

fn ubl(root: &Node) -> Result<Extraction, ExtractError> {
    let mut x = Extraction::empty(Source::Xml);
    x.syntax = Some("ubl".into());
    x.profile = root.text_at("CustomizationID");
    x.document_type = if root.name == "CreditNote" {
        "credit_note".into()
    } else {
        "invoice".into()
    };
    x.invoice_number = root.text_at("ID");
    x.invoice_date = iso_date(root.text_at("IssueDate"), "IssueDate")?;
    x.due_date = iso_date(root.text_at("DueDate"), "DueDate")?;
    x.currency = root.text_at("DocumentCurrencyCode");
    x.reference_text = root.text_at("BuyerReference");
    let supplier = root.at("AccountingSupplierParty/Party");
    if let Some(p) = supplier {
        x.vendor_name = p
            .text_at("PartyLegalEntity/RegistrationName")
            .or_else(|| p.text_at("PartyName/Name"));
        for ts in p.children_named("PartyTaxScheme") {
            let id = ts.text_at("CompanyID");
            let scheme = ts.text_at("TaxScheme/ID").unwrap_or_default();
            if scheme == "VAT" {
                x.vendor_vat_id = id.map(normalize_id);
            } else if id.is_some() {
                x.vendor_tax_number = id;
            }
        }
        x.vendor_address = p.at("PostalAddress").and_then(ubl_address);
    }
    if let Some(p) = root.at("AccountingCustomerParty/Party") {
        x.buyer_name = p
            .text_at("PartyLegalEntity/RegistrationName")
            .or_else(|| p.text_at("PartyName/Name"));
        x.buyer_address = p.at("PostalAddress").and_then(ubl_address);
    }
    x.service_date = iso_date(
        root.text_at("Delivery/ActualDeliveryDate"),
        "ActualDeliveryDate",
    )?
    .or(iso_date(
        root.text_at("InvoicePeriod/EndDate"),
        "InvoicePeriod",
    )?);
    for pm in root.children_named("PaymentMeans") {
        if let Some(iban) = pm.text_at("PayeeFinancialAccount/ID") {
            x.vendor_iban = Some(normalize_id(iban));
            break;
        }
    }
    let terms: Vec<String> = root
        .children_named("PaymentTerms")
        .filter_map(|t| t.text_at("Note"))
        .collect();
    if !terms.is_empty() {
        let t = terms.join("\n");
        if let Some((p, d)) = skonto(&t) {
            x.cash_discount_percent = Some(p);
            x.cash_discount_days = Some(d);
        }
        x.payment_terms = Some(t);
    }
    if let Some(tt) = root.child("TaxTotal") {
        x.total_tax = amount(tt.text_at("TaxAmount"), "TaxTotal/TaxAmount")?;
        for st in tt.children_named("TaxSubtotal") {
            let cat = st.text_at("TaxCategory/ID");
            let rate = amount(st.text_at("TaxCategory/Percent"), "TaxCategory/Percent")?;
            x.vat_breakdown.push(VatBreakdown {
                tax_code: cat.as_deref().and_then(|c| tax_code(c, rate)),
                vat_category: cat,
                rate,
                taxable: amount(st.text_at("TaxableAmount"), "TaxableAmount")?,
                tax: amount(st.text_at("TaxAmount"), "TaxSubtotal/TaxAmount")?,
            });
        }
    }
    if let Some(m) = root.child("LegalMonetaryTotal") {
        x.total_net = amount(m.text_at("TaxExclusiveAmount"), "TaxExclusiveAmount")?;
        x.total_gross = amount(m.text_at("TaxInclusiveAmount"), "TaxInclusiveAmount")?;
    }
    let line_tag = if root.name == "CreditNote" {
        ("CreditNoteLine", "CreditedQuantity")
    } else {
        ("InvoiceLine", "InvoicedQuantity")
    };
    for l in root.children_named(line_tag.0) {
        let cat = l.text_at("Item/ClassifiedTaxCategory/ID");
        let rate = amount(
            l.text_at("Item/ClassifiedTaxCategory/Percent"),
            "ClassifiedTaxCategory/Percent",
        )?;
        x.line_items.push(LineItem {
            description: l.text_at("Item/Name"),
            quantity: amount(l.text_at(line_tag.1), line_tag.1)?,
            unit_price: amount(l.text_at("Price/PriceAmount"), "PriceAmount")?,
            net: amount(l.text_at("LineExtensionAmount"), "LineExtensionAmount")?,
            tax_rate: rate,
            tax_code: cat.as_deref().and_then(|c| tax_code(c, rate)),
            vat_category: cat,
        });
    }
    Ok(x)
}

fn ubl_address(a: &Node) -> Option<String> {
    join_address(&[
        a.text_at("StreetName"),
        a.text_at("AdditionalStreetName"),
        match (a.text_at("PostalZone"), a.text_at("CityName")) {
            (Some(z), Some(c)) => Some(format!("{z} {c}")),
            (z, c) => z.or(c),
        },
        a.text_at("Country/IdentificationCode"),
    ])
}

fn cii_date(n: Option<&Node>, what: &str) -> Result<Option<NaiveDate>, ExtractError> {
    iso_date(n.and_then(|n| n.text_at("DateTimeString")), what)
}

fn cii(root: &Node) -> Result<Extraction, ExtractError> {
    let mut x = Extraction::empty(Source::Xml);
    x.syntax = Some("cii".into());
    x.profile =
        root.text_at("ExchangedDocumentContext/GuidelineSpecifiedDocumentContextParameter/ID");
    let doc = root.child("ExchangedDocument");
    x.invoice_number = doc.and_then(|d| d.text_at("ID"));
    x.document_type = match doc.and_then(|d| d.text_at("TypeCode")).as_deref() {
        Some("381") => "credit_note".into(),
        _ => "invoice".into(),
    };
    x.invoice_date = cii_date(doc.and_then(|d| d.at("IssueDateTime")), "IssueDateTime")?;
    let tx = root.child("SupplyChainTradeTransaction").ok_or_else(|| {
        ExtractError::Xml("CrossIndustryInvoice without SupplyChainTradeTransaction".into())
    })?;
    let agreement = tx.child("ApplicableHeaderTradeAgreement");
    if let Some(a) = agreement {
        x.reference_text = a.text_at("BuyerReference");
        if let Some(s) = a.child("SellerTradeParty") {
            x.vendor_name = s.text_at("Name");
            for reg in s.children_named("SpecifiedTaxRegistration") {
                let id = reg.child("ID");
                match id.and_then(|i| i.attr("schemeID")) {
                    Some("VA") => x.vendor_vat_id = id.map(|i| normalize_id(i.text.clone())),
                    Some("FC") => x.vendor_tax_number = id.map(|i| i.text.trim().to_string()),
                    _ => {}
                }
            }
            x.vendor_address = s.at("PostalTradeAddress").and_then(cii_address);
        }
        if let Some(b) = a.child("BuyerTradeParty") {
            x.buyer_name = b.text_at("Name");
            x.buyer_address = b.at("PostalTradeAddress").and_then(cii_address);
        }
    }
    x.service_date = cii_date(
        tx.at("ApplicableHeaderTradeDelivery/ActualDeliverySupplyChainEvent/OccurrenceDateTime"),
        "OccurrenceDateTime",
    )?;
    if let Some(s) = tx.child("ApplicableHeaderTradeSettlement") {
        x.currency = s.text_at("InvoiceCurrencyCode");
        for pm in s.children_named("SpecifiedTradeSettlementPaymentMeans") {
            if let Some(iban) = pm.text_at("PayeePartyCreditorFinancialAccount/IBANID") {
                x.vendor_iban = Some(normalize_id(iban));
                break;
            }
        }
        for t in s.children_named("ApplicableTradeTax") {
            let cat = t.text_at("CategoryCode");
            let rate = amount(t.text_at("RateApplicablePercent"), "RateApplicablePercent")?;
            x.vat_breakdown.push(VatBreakdown {
                tax_code: cat.as_deref().and_then(|c| tax_code(c, rate)),
                vat_category: cat,
                rate,
                taxable: amount(t.text_at("BasisAmount"), "BasisAmount")?,
                tax: amount(t.text_at("CalculatedAmount"), "CalculatedAmount")?,
            });
        }
        let mut terms = Vec::new();
        for pt in s.children_named("SpecifiedTradePaymentTerms") {
            if let Some(d) = pt.text_at("Description") {
                terms.push(d);
            }
            if x.due_date.is_none() {
                x.due_date = cii_date(pt.at("DueDateDateTime"), "DueDateDateTime")?;
            }
        }
        if !terms.is_empty() {
            let t = terms.join("\n");
            if let Some((p, d)) = skonto(&t) {
                x.cash_discount_percent = Some(p);
                x.cash_discount_days = Some(d);
            }
            x.payment_terms = Some(t);
        }
        if let Some(m) = s.child("SpecifiedTradeSettlementHeaderMonetarySummation") {
            x.total_net = amount(m.text_at("TaxBasisTotalAmount"), "TaxBasisTotalAmount")?;
            // TaxTotalAmount may appear twice (in invoice and accounting currency): the first.
            x.total_tax = amount(m.text_at("TaxTotalAmount"), "TaxTotalAmount")?;
            x.total_gross = amount(m.text_at("GrandTotalAmount"), "GrandTotalAmount")?;
        }
    }
    for l in tx.children_named("IncludedSupplyChainTradeLineItem") {
        let tax = l.at("SpecifiedLineTradeSettlement/ApplicableTradeTax");
        let cat = tax.and_then(|t| t.text_at("CategoryCode"));
        let rate = amount(
            tax.and_then(|t| t.text_at("RateApplicablePercent")),
            "RateApplicablePercent",
        )?;
        x.line_items.push(LineItem {
            description: l.text_at("SpecifiedTradeProduct/Name"),
            quantity: amount(
                l.text_at("SpecifiedLineTradeDelivery/BilledQuantity"),
                "BilledQuantity",
            )?,
            unit_price: amount(
                l.text_at("SpecifiedLineTradeAgreement/NetPriceProductTradePrice/ChargeAmount"),
                "ChargeAmount",
            )?,
            net: amount(
                l.text_at(
                    "SpecifiedLineTradeSettlement/SpecifiedTradeSettlementLineMonetarySummation/LineTotalAmount",
                ),
                "LineTotalAmount",
            )?,
            tax_rate: rate,
            tax_code: cat.as_deref().and_then(|c| tax_code(c, rate)),
            vat_category: cat,
        });
    }
    if let Some(p) = x.profile.clone() {
        let pl = p.to_ascii_lowercase();
        if pl.contains("minimum") || pl.contains("basicwl") {
            x.warnings.push(format!(
                "profile {p} (ZUGFeRD MINIMUM / BASIC-WL) is not an e-invoice in the sense of § 14 UStG: it carries no invoice lines and is a booking aid only"
            ));
        }
    }
    Ok(x)
}

fn cii_address(a: &Node) -> Option<String> {
    join_address(&[
        a.text_at("LineOne"),
        a.text_at("LineTwo"),
        match (a.text_at("PostcodeCode"), a.text_at("CityName")) {
            (Some(z), Some(c)) => Some(format!("{z} {c}")),
            (z, c) => z.or(c),
        },
        a.text_at("CountryID"),
    ])
}

/// A readable rendering of what was read (`raw_markdown`).
pub fn markdown(x: &Extraction) -> String {
    let mut s = String::new();
    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
    s.push_str(&format!(
        "# {} {}\n\n",
        if x.document_type == "credit_note" {
            "Gutschrift"
        } else {
            "Rechnung"
        },
        opt(&x.invoice_number)
    ));
    s.push_str(&format!(
        "**Lieferant:** {}  \n{}\n\n",
        opt(&x.vendor_name),
        opt(&x.vendor_address)
    ));
    if let Some(d) = x.invoice_date {
        s.push_str(&format!("**Rechnungsdatum:** {d}  \n"));
    }
    if let Some(d) = x.service_date {
        s.push_str(&format!("**Leistungsdatum:** {d}  \n"));
    }
    if !x.line_items.is_empty() {
        s.push_str("\n| Beschreibung | Menge | Preis | Netto | USt |\n|---|---|---|---|---|\n");
        for l in &x.line_items {
            let d = |v: Option<Decimal>| v.map(|v| v.to_string()).unwrap_or_default();
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                l.description.clone().unwrap_or_default().replace('|', "/"),
                d(l.quantity),
                d(l.unit_price),
                d(l.net),
                d(l.tax_rate)
            ));
        }
    }
    let d = |v: Option<Decimal>| v.map(|v| v.to_string()).unwrap_or_default();
    s.push_str(&format!(
        "\nNetto {} · USt {} · Brutto {} {}\n",
        d(x.total_net),
        d(x.total_tax),
        d(x.total_gross),
        opt(&x.currency)
    ));
    s
}
