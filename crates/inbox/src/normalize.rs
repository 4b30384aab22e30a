//! The normalized invoice of a review case: the body of POST /v1/invoices without vendor_id,
//! drafted from an extraction, edited by PATCH, booked by approve.

use crate::model::Extraction;
use chrono::NaiveDate;
use receivables::{Direction, GivenTotals, InvoiceType, NewInvoice, NewInvoiceLine};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use std::str::FromStr;
use uuid::Uuid;

/// A decimal from a JSON string or number.
fn opt_dec<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Decimal::from_str(s.trim())
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("{s:?} is not a decimal number"))),
        Some(serde_json::Value::Number(n)) => Decimal::from_str(&n.to_string())
            .or_else(|_| Decimal::from_scientific(&n.to_string()))
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("{n} is not a decimal number"))),
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected a decimal string or number, got {other}"
        ))),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormalizedLine {
    pub description: Option<String>,
    #[serde(default, deserialize_with = "opt_dec")]
    pub quantity: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_dec")]
    pub unit_price: Option<Decimal>,
    /// VSt19, VSt7, RC19, IGE19 (from the EN 16931 VAT category), or null for 0 %.
    pub tax_code: Option<String>,
    pub account: Option<String>,
    #[serde(default, deserialize_with = "opt_dec")]
    pub net: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_dec")]
    pub tax: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_dec")]
    pub gross: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormalizedInvoice {
    pub document_id: Option<Uuid>,
    pub invoice_number: Option<String>,
    pub invoice_date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    #[serde(default, deserialize_with = "opt_dec")]
    pub total_net: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_dec")]
    pub total_tax: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_dec")]
    pub total_gross: Option<Decimal>,
    pub currency: Option<String>,
    /// invoice or credit_note
    #[serde(rename = "type", default)]
    pub invoice_type: Option<String>,
    pub intent_id: Option<Uuid>,
    pub notes: Option<String>,
    #[serde(default, deserialize_with = "opt_dec")]
    pub cash_discount_percent: Option<Decimal>,
    pub cash_discount_days: Option<i64>,
    #[serde(default)]
    pub lines: Vec<NormalizedLine>,
}

/// Why a normalized invoice cannot be booked yet: (field, message).
pub type Missing = (String, String);

impl NormalizedInvoice {
    /// The draft of an extraction: its lines with their tax codes, else one line per VAT rate.
    pub fn from_extraction(x: &Extraction, document_id: Option<Uuid>) -> NormalizedInvoice {
        let mut lines: Vec<NormalizedLine> = x
            .line_items
            .iter()
            .map(|l| {
                let qty = l.quantity.filter(|q| !q.is_zero()).unwrap_or(Decimal::ONE);
                let price = l.unit_price.or_else(|| l.net.map(|n| n / qty));
                NormalizedLine {
                    description: l.description.clone(),
                    quantity: Some(qty),
                    unit_price: price,
                    tax_code: l.tax_code.clone(),
                    account: None,
                    net: l.net,
                    tax: None,
                    gross: None,
                }
            })
            .collect();
        if lines.is_empty() {
            lines = x
                .vat_breakdown
                .iter()
                .filter_map(|b| {
                    b.taxable.map(|t| NormalizedLine {
                        description: Some(format!(
                            "{} {} %",
                            x.invoice_number.clone().unwrap_or_default(),
                            b.rate
                                .map(|r| r.normalize().to_string())
                                .unwrap_or_default()
                        )),
                        quantity: Some(Decimal::ONE),
                        unit_price: Some(t),
                        tax_code: b.tax_code.clone(),
                        account: None,
                        net: None,
                        tax: None,
                        gross: None,
                    })
                })
                .collect();
        }
        NormalizedInvoice {
            document_id,
            invoice_number: x.invoice_number.clone(),
            invoice_date: x.invoice_date,
            due_date: x
                .due_date
                .filter(|d| x.invoice_date.is_none_or(|i| *d >= i)),
            total_net: x.total_net,
            total_tax: x.total_tax,
            total_gross: x.total_gross,
            currency: x.currency.clone(),
            invoice_type: Some(x.document_type.clone()),
            intent_id: None,
            notes: x.service_date.map(|d| format!("Leistungsdatum {d}")),
            cash_discount_percent: x.cash_discount_percent,
            cash_discount_days: x.cash_discount_days,
            lines,
        }
    }

    /// The incoming invoice to create for `vendor_id`, or the first field that is missing.
    pub fn to_new_invoice(&self, vendor_id: Uuid) -> Result<NewInvoice, Missing> {
        let missing = |f: &str, m: &str| (f.to_string(), m.to_string());
        let number = self
            .invoice_number
            .clone()
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| missing("normalized_invoice.invoice_number", "required"))?;
        let date = self
            .invoice_date
            .ok_or_else(|| missing("normalized_invoice.invoice_date", "required"))?;
        if self.lines.is_empty() {
            return Err(missing("normalized_invoice.lines", "at least one line"));
        }
        let invoice_type = match self.invoice_type.as_deref() {
            None | Some("invoice") => InvoiceType::Invoice,
            Some("credit_note") => InvoiceType::CreditNote,
            Some(_) => return Err(missing("normalized_invoice.type", "invoice or credit_note")),
        };
        let mut lines = Vec::new();
        for (i, l) in self.lines.iter().enumerate() {
            let price = l.unit_price.ok_or_else(|| {
                missing(
                    &format!("normalized_invoice.lines[{i}].unit_price"),
                    "required",
                )
            })?;
            lines.push(NewInvoiceLine {
                description: l.description.clone(),
                quantity: l.quantity.unwrap_or(Decimal::ONE),
                unit_price: price,
                tax_code: l.tax_code.clone(),
                account: l.account.clone(),
                net: l.net,
                tax: l.tax,
                gross: l.gross,
            });
        }
        Ok(NewInvoice {
            direction: Direction::Incoming,
            invoice_type,
            partner_id: vendor_id,
            document_id: self.document_id,
            invoice_number: number,
            invoice_date: date,
            due_date: self.due_date,
            totals: GivenTotals {
                net: self.total_net,
                tax: self.total_tax,
                gross: self.total_gross,
            },
            currency: self.currency.clone(),
            intent_id: self.intent_id,
            notes: self.notes.clone(),
            lines,
            cash_discount_percent: self.cash_discount_percent,
            cash_discount_days: self.cash_discount_days,
        })
    }
}
