//! The broken rules of reports and the DATEV export, each implementing `journal::Rule`.

use journal::{Rule, RuleKind};

/// A broken rule of the DATEV export: its settings, its range, or one of its rows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatevError {
    /// A header value outside what DATEV accepts (Beraternummer 1001–9999999,
    /// Mandantennummer 1–99999, Sachkontenlänge 4–8, Sachkontenrahmen "03"/"04", …).
    #[error("{field} is outside what DATEV accepts: {reason}")]
    InvalidSettings {
        field: &'static str,
        reason: &'static str,
    },
    #[error("startDate must not be after endDate")]
    InvalidDateRange,
    /// DATEV takes one fiscal year per Buchungsstapel.
    #[error("the range {from} to {to} crosses the start of a fiscal year")]
    RangeCrossesFiscalYear { from: String, to: String },
    /// DATEV's amount fields hold at most ten integer digits.
    #[error("booking {booking}: {column} {amount} has more than ten integer digits")]
    AmountTooLarge {
        booking: String,
        column: &'static str,
        amount: String,
    },
    #[error("booking {booking}: Belegdatum {date} is outside the exported range")]
    BookingOutsideRange { booking: String, date: String },
    /// A row value DATEV cannot take (zero amount, account not 1–9 digits, BU-Schlüssel
    /// not 1–4 digits, exchange rate outside 5,6).
    #[error("booking {booking}: {column} {reason}")]
    InvalidField {
        booking: String,
        column: &'static str,
        reason: &'static str,
    },
}

impl Rule for DatevError {
    fn code(&self) -> &'static str {
        match self {
            DatevError::InvalidSettings { .. } => "invalid_datev_settings",
            DatevError::InvalidDateRange => "invalid_date_range",
            DatevError::RangeCrossesFiscalYear { .. } => "range_crosses_fiscal_year",
            DatevError::AmountTooLarge { .. } => "amount_too_large",
            DatevError::BookingOutsideRange { .. } => "booking_outside_range",
            DatevError::InvalidField { .. } => "invalid_datev_field",
        }
    }

    fn kind(&self) -> RuleKind {
        RuleKind::Invalid
    }

    fn field(&self) -> Option<String> {
        match self {
            DatevError::InvalidSettings { field, .. } => Some((*field).to_string()),
            DatevError::InvalidDateRange | DatevError::RangeCrossesFiscalYear { .. } => {
                Some("endDate".into())
            }
            DatevError::AmountTooLarge { .. }
            | DatevError::BookingOutsideRange { .. }
            | DatevError::InvalidField { .. } => None,
        }
    }
}

/// Writing an export either breaks a rule or fails to write (the client went away, the disk
/// is full): the second is no rule, and `api` treats it as infrastructure.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Rule(#[from] DatevError),
    #[error("writing the export failed: {0}")]
    Io(#[from] std::io::Error),
}

impl From<csv::Error> for ExportError {
    fn from(e: csv::Error) -> Self {
        match e.into_kind() {
            csv::ErrorKind::Io(io) => ExportError::Io(io),
            other => ExportError::Io(std::io::Error::other(format!("{other:?}"))),
        }
    }
}

/// A booking the conversion to DATEV rows cannot take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    #[error("booking {booking}: its lines do not balance")]
    Unbalanced { booking: String },
    /// Every line carries tax (a BU-Schlüssel or an automatic account), and one DATEV row has
    /// room for one such account.
    #[error("booking {booking}: two tax-bearing lines would share one DATEV row")]
    ConflictingTaxKeys { booking: String },
}

impl Rule for ConvertError {
    fn code(&self) -> &'static str {
        match self {
            ConvertError::Unbalanced { .. } => "unbalanced",
            ConvertError::ConflictingTaxKeys { .. } => "conflicting_tax_keys",
        }
    }

    fn kind(&self) -> RuleKind {
        RuleKind::Invalid
    }
}

/// A broken rule of the report math.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// A personal account names a collective account that is not among the accounts, or
    /// that is itself a personal account.
    #[error("account {account}: collective account {collective} {reason}")]
    UnknownCollectiveAccount {
        account: String,
        collective: String,
        reason: &'static str,
    },
    #[error("account {account} appears twice")]
    DuplicateAccount { account: String },
    /// The VAT return got sums of a tax code without Kennzahlen.
    #[error("tax code {code} has no VAT return facts")]
    UnknownTaxCode { code: String },
}

impl Rule for ReportError {
    fn code(&self) -> &'static str {
        match self {
            ReportError::UnknownCollectiveAccount { .. } => "unknown_collective_account",
            ReportError::DuplicateAccount { .. } => "duplicate_account",
            ReportError::UnknownTaxCode { .. } => "unknown_tax_code",
        }
    }

    fn kind(&self) -> RuleKind {
        RuleKind::Invalid
    }

    fn field(&self) -> Option<String> {
        Some(
            match self {
                ReportError::UnknownTaxCode { .. } => "tax_code",
                _ => "account",
            }
            .into(),
        )
    }
}
