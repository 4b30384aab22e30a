//! The VAT return (Umsatzsteuer-Voranmeldung): Kennzahlen from per-tax-code sums.
//!
//! Each tax code carries its Kennzahlen (chart fixtures, tax-code API), so nothing is guessed
//! here: a base Kennzahl (81, 86, 35, 41, 43, 21, 89, 93, 46, 84, …), a Kennzahl of the tax
//! owed (36, 47, 85, …; none for 81/86, whose tax the form computes) and one of the tax
//! deductible (66, 61, 67, …). Kennzahl 83 is what is owed less what is deductible.
//!
//! **Soll-Versteuerung** (the default): `store` adds up the lines by booking date in the
//! range. **Ist-Versteuerung** (§ 20 UStG, `vat_method: ist`) changes only which sums come in:
//! for sales codes, the base and tax of an invoice count in the period its payments are
//! booked, pro rata to the share of the gross that was paid (payments and write-offs of the
//! invoice's open item, by settlement date); purchases stay by booking date. The function
//! below is the same for both.

use crate::error::ReportError;
use crate::trial_balance::{Report, RowType};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Whether a tax code is for sales (revenue credited) or purchases (expense debited).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VatSide {
    Sales,
    Purchase,
}

/// A tax code's Kennzahlen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VatFacts {
    pub side: VatSide,
    /// Kennzahl of the base (net) amount.
    pub base_kz: Option<String>,
    /// Kennzahl of the tax owed: sales tax, or the self-assessed tax of a purchase.
    pub tax_kz: Option<String>,
    /// Kennzahl of the deductible input tax.
    pub input_tax_kz: Option<String>,
}

/// What `store` adds up per tax code for the range, debit-positive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VatCodeSums {
    pub code: String,
    /// The lines that carry the tax code and were not generated.
    pub base: Decimal,
    /// The generated tax lines (on the tax code's `vat_account`).
    pub tax: Decimal,
    /// The generated self-assessment lines (on its `self_assess_account`).
    pub self_assessed: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KennzahlKind {
    Base,
    Tax,
    InputTax,
    Payable,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VatRow {
    pub row_type: RowType,
    pub kennzahl: String,
    pub kind: KennzahlKind,
    /// Exact, to the cent.
    pub amount: Decimal,
    /// As the form takes it: bases in whole euros (cents dropped), tax to the cent.
    pub reported: Decimal,
}

/// The Kennzahl of the payable (Umsatzsteuer-Vorauszahlung / Überschuss).
pub const PAYABLE_KZ: &str = "83";

/// The return in Kennzahl order with Kennzahl 83 as the totals row. `vat_accounts_movement` is
/// the debit-positive net movement of all VAT accounts over the range: balanced when Kennzahl
/// 83 equals what those accounts owe (a manual booking on a VAT account shows here).
pub fn vat_return(
    sums: &[VatCodeSums],
    facts: &HashMap<String, VatFacts>,
    vat_accounts_movement: Decimal,
) -> Result<Report<VatRow>, ReportError> {
    let mut kz: BTreeMap<(u32, String), (KennzahlKind, Decimal)> = BTreeMap::new();
    let mut add = |k: &Option<String>, kind, amount: Decimal| {
        if let Some(k) = k {
            let key = (k.parse::<u32>().unwrap_or(u32::MAX), k.clone());
            kz.entry(key).or_insert((kind, Decimal::ZERO)).1 += amount;
        }
    };
    let mut payable = Decimal::ZERO;
    for s in sums {
        let f = facts
            .get(&s.code)
            .ok_or_else(|| ReportError::UnknownTaxCode {
                code: s.code.clone(),
            })?;
        let (base, owed, deductible) = match f.side {
            VatSide::Sales => (-s.base, -s.tax, Decimal::ZERO),
            VatSide::Purchase => (s.base, -s.self_assessed, s.tax),
        };
        add(&f.base_kz, KennzahlKind::Base, base);
        add(&f.tax_kz, KennzahlKind::Tax, owed);
        add(&f.input_tax_kz, KennzahlKind::InputTax, deductible);
        payable += owed - deductible;
    }
    let rows = kz
        .into_iter()
        .map(|((_, k), (kind, amount))| VatRow {
            row_type: RowType::Group,
            kennzahl: k,
            kind,
            amount,
            reported: if kind == KennzahlKind::Base {
                amount.trunc()
            } else {
                amount
            },
        })
        .collect();
    Ok(Report {
        rows,
        totals: VatRow {
            row_type: RowType::Total,
            kennzahl: PAYABLE_KZ.into(),
            kind: KennzahlKind::Payable,
            amount: payable,
            reported: payable,
        },
        balanced: payable == -vat_accounts_movement,
    })
}
