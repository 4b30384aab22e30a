//! The VAT-return and DATEV facts of a tax code (`vat_side`, the UStVA Kennzahlen,
//! `datev_bu_key`): the rule a change of them must keep, and their use by the VAT return.

use crate::vat::{VatFacts, VatSide};
use journal::{Rule, RuleKind};

/// A tax code's facts as stored and sent: each may be unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaxCodeFacts {
    pub vat_side: Option<String>,
    pub base_kennzahl: Option<String>,
    pub tax_kennzahl: Option<String>,
    pub input_tax_kennzahl: Option<String>,
    pub datev_bu_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FactsError {
    pub field: &'static str,
    pub reason: &'static str,
}

impl Rule for FactsError {
    fn code(&self) -> &'static str {
        "invalid_tax_code_facts"
    }

    fn kind(&self) -> RuleKind {
        RuleKind::Invalid
    }

    fn field(&self) -> Option<String> {
        Some(self.field.to_string())
    }
}

/// Checks facts before they are stored: the side is `sales` or `purchase` and is set when a
/// Kennzahl is; Kennzahlen are two digits; the BU-Schlüssel is one to four digits; a sales code
/// has no input-tax Kennzahl.
pub fn check_facts(f: &TaxCodeFacts) -> Result<(), FactsError> {
    let bad = |field, reason| Err(FactsError { field, reason });
    let side = match f.vat_side.as_deref() {
        None => None,
        Some("sales") => Some(VatSide::Sales),
        Some("purchase") => Some(VatSide::Purchase),
        Some(_) => return bad("vat_side", "must be sales or purchase"),
    };
    let kennzahlen = [
        ("base_kennzahl", &f.base_kennzahl),
        ("tax_kennzahl", &f.tax_kennzahl),
        ("input_tax_kennzahl", &f.input_tax_kennzahl),
    ];
    for (field, k) in kennzahlen {
        if let Some(k) = k {
            if k.len() != 2 || !k.bytes().all(|b| b.is_ascii_digit()) {
                return bad(field, "must be a two-digit Kennzahl");
            }
            if side.is_none() {
                return bad("vat_side", "must be set when the code has a Kennzahl");
            }
        }
    }
    if side == Some(VatSide::Sales) && f.input_tax_kennzahl.is_some() {
        return bad("input_tax_kennzahl", "a sales code has no input tax");
    }
    if let Some(key) = &f.datev_bu_key {
        if key.is_empty() || key.len() > 4 || !key.bytes().all(|b| b.is_ascii_digit()) {
            return bad("datev_bu_key", "must be 1 to 4 digits");
        }
    }
    Ok(())
}

/// The VAT return's view of a code; `None` for a code without a side (it is not part of the
/// return).
pub fn vat_facts(f: &TaxCodeFacts) -> Option<VatFacts> {
    let side = match f.vat_side.as_deref()? {
        "sales" => VatSide::Sales,
        "purchase" => VatSide::Purchase,
        _ => return None,
    };
    Some(VatFacts {
        side,
        base_kz: f.base_kennzahl.clone(),
        tax_kz: f.tax_kennzahl.clone(),
        input_tax_kz: f.input_tax_kennzahl.clone(),
    })
}
