//! Charts of accounts (SKR03, SKR04) as shipped in `fixtures/charts/`.

use crate::ledger::AccountType;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
pub struct ChartAccount {
    pub number: String,
    pub name: String,
    #[serde(rename = "type")]
    pub account_type: AccountType,
    pub category: String,
    pub report_group: String,
    /// DATEV computes this account's tax itself (an automatic account, AM).
    #[serde(default)]
    pub datev_automatic: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ChartTaxCode {
    pub code: String,
    pub label: String,
    pub description: String,
    pub rate: Decimal,
    pub vat_account: Option<String>,
    pub self_assess_account: Option<String>,
    /// `sales` or `purchase`: which side of the VAT return the code's sums go to.
    #[serde(default)]
    pub vat_side: Option<String>,
    /// UStVA Kennzahl of the base (net) amount.
    #[serde(default)]
    pub base_kennzahl: Option<String>,
    /// UStVA Kennzahl of the tax owed (self-assessed for purchases).
    #[serde(default)]
    pub tax_kennzahl: Option<String>,
    /// UStVA Kennzahl of the deductible input tax.
    #[serde(default)]
    pub input_tax_kennzahl: Option<String>,
    /// DATEV BU-Schlüssel: DATEV computes the tax of a row that carries it.
    #[serde(default)]
    pub datev_bu_key: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Chart {
    pub chart: String,
    pub name: String,
    pub report_groups: BTreeMap<String, String>,
    pub roles: BTreeMap<String, serde_json::Value>,
    pub tax_codes: Vec<ChartTaxCode>,
    pub accounts: Vec<ChartAccount>,
}

impl Chart {
    pub fn parse(json: &str) -> Result<Chart, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// The account number a role names (`opening_balance`, `fx_rounding`, `receivables` …).
    pub fn role(&self, role: &str) -> Option<&str> {
        self.roles.get(role).and_then(|v| v.as_str())
    }
}
