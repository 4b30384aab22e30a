//! Tenant settings that reports and the DATEV export read, and the rules of changing them.
//!
//! DATEV's Beraternummer and Mandantennummer, the Sachkontenlänge, the VAT method (Soll or Ist,
//! § 20 UStG), and three facts the books are built on: the fiscal year's first month, the chart
//! and the base currency. Those three are read-only once anything is booked, because every
//! booked period id, account and amount depends on them.

use journal::{Rule, RuleKind};
use serde::Serialize;

/// When VAT is owed: on the invoice (`soll`, the default) or on payment (`ist`, § 20 UStG).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VatMethod {
    Soll,
    Ist,
}

impl VatMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            VatMethod::Soll => "soll",
            VatMethod::Ist => "ist",
        }
    }

    pub fn parse(s: &str) -> Option<VatMethod> {
        match s {
            "soll" => Some(VatMethod::Soll),
            "ist" => Some(VatMethod::Ist),
            _ => None,
        }
    }
}

/// A tenant's settings as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub datev_consultant_number: Option<u32>,
    pub datev_client_number: Option<u32>,
    pub account_length: u8,
    pub vat_method: VatMethod,
    pub fiscal_year_start_month: u32,
    /// `skr03` or `skr04`.
    pub chart: String,
    pub base_currency: String,
}

/// A `PATCH /v1/settings`: each field absent keeps its value; for the DATEV numbers, `Some(None)`
/// clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsChange {
    pub datev_consultant_number: Option<Option<i64>>,
    pub datev_client_number: Option<Option<i64>>,
    pub account_length: Option<i64>,
    pub vat_method: Option<String>,
    pub fiscal_year_start_month: Option<i64>,
    pub chart: Option<String>,
    pub base_currency: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("{field}: {reason}")]
    Invalid {
        field: &'static str,
        reason: &'static str,
    },
    /// The fiscal calendar, the chart or the base currency after something was booked.
    #[error("{field} cannot change once anything is booked")]
    ReadOnly { field: &'static str },
}

impl Rule for SettingsError {
    fn code(&self) -> &'static str {
        match self {
            SettingsError::Invalid { .. } => "invalid_setting",
            SettingsError::ReadOnly { .. } => "setting_read_only",
        }
    }

    fn kind(&self) -> RuleKind {
        match self {
            SettingsError::Invalid { .. } => RuleKind::Invalid,
            SettingsError::ReadOnly { .. } => RuleKind::Conflict,
        }
    }

    fn field(&self) -> Option<String> {
        match self {
            SettingsError::Invalid { field, .. } | SettingsError::ReadOnly { field } => {
                Some((*field).to_string())
            }
        }
    }
}

/// What the settings become, or the first rule the change breaks. `booked`: the tenant's
/// journal has at least one event. A field set to its current value is no change.
pub fn decide_settings_change(
    current: &Settings,
    change: &SettingsChange,
    booked: bool,
) -> Result<Settings, SettingsError> {
    let invalid = |field, reason| SettingsError::Invalid { field, reason };
    let mut next = current.clone();
    if let Some(v) = change.datev_consultant_number {
        next.datev_consultant_number = v.and_then(|n| in_range(n, 1001, 9_999_999));
        if v.is_some() && next.datev_consultant_number.is_none() {
            return Err(invalid(
                "datev_consultant_number",
                "must be 1001 to 9999999",
            ));
        }
    }
    if let Some(v) = change.datev_client_number {
        next.datev_client_number = v.and_then(|n| in_range(n, 1, 99_999));
        if v.is_some() && next.datev_client_number.is_none() {
            return Err(invalid("datev_client_number", "must be 1 to 99999"));
        }
    }
    if let Some(n) = change.account_length {
        next.account_length = in_range(n, 4, 8)
            .map(|n| n as u8)
            .ok_or_else(|| invalid("account_length", "must be 4 to 8"))?;
    }
    if let Some(m) = &change.vat_method {
        next.vat_method =
            VatMethod::parse(m).ok_or_else(|| invalid("vat_method", "must be soll or ist"))?;
    }
    if let Some(m) = change.fiscal_year_start_month {
        next.fiscal_year_start_month = in_range(m, 1, 12)
            .ok_or_else(|| invalid("fiscal_year_start_month", "must be 1 to 12"))?;
    }
    if let Some(c) = &change.chart {
        if c != "skr03" && c != "skr04" {
            return Err(invalid("chart", "must be skr03 or skr04"));
        }
        next.chart = c.clone();
    }
    if let Some(c) = &change.base_currency {
        if journal::Currency::from_code(c).is_err() {
            return Err(invalid(
                "base_currency",
                "must be a known ISO 4217 currency code",
            ));
        }
        next.base_currency = c.clone();
    }
    if booked {
        let fixed = [
            (
                "fiscal_year_start_month",
                next.fiscal_year_start_month != current.fiscal_year_start_month,
            ),
            ("chart", next.chart != current.chart),
            ("base_currency", next.base_currency != current.base_currency),
        ];
        if let Some((field, _)) = fixed.iter().find(|(_, changed)| *changed) {
            return Err(SettingsError::ReadOnly { field });
        }
    }
    Ok(next)
}

fn in_range(n: i64, lo: u32, hi: u32) -> Option<u32> {
    (i64::from(lo)..=i64::from(hi))
        .contains(&n)
        .then_some(n as u32)
}
