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
}

#[derive(Debug, Clone, Deserialize)]
pub struct ChartTaxCode {
    pub code: String,
    pub label: String,
    pub description: String,
    pub rate: Decimal,
    pub vat_account: Option<String>,
    pub self_assess_account: Option<String>,
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
