//! kontor's reports: the DATEV EXTF writers, the conversion of journal lines into DATEV rows,
//! and the report math (trial balance, profit and loss, balance sheet, VAT return).
//!
//! Pure: no I/O but the `std::io::Write` a caller passes, no clock, no database. Rows come in
//! as iterators and go out as they come, so an export runs in constant memory; the report math
//! takes per-account sums that `store` has already aggregated.

pub mod datev;
pub mod datev_columns;
pub mod datev_partners;
pub mod datev_rows;
pub mod error;
pub mod facts;
pub mod monthly;
pub mod settings;
pub mod statements;
pub mod trial_balance;
pub mod vat;

pub use datev::{write_buchungsstapel, BuchungsstapelWriter, DatevFx, DatevRow, DatevSettings};
pub use datev_partners::{write_partners, AddresseeType, DatevPartner};
pub use datev_rows::{datev_rows, intent_rows, DatevFacts, DatevIntent};
pub use error::{ConvertError, DatevError, ExportError, ReportError};
pub use facts::{check_facts, vat_facts, FactsError, TaxCodeFacts};
pub use monthly::{monthly_revenue_expenses, MonthRow, PeriodMovement};
pub use settings::{decide_settings_change, Settings, SettingsChange, SettingsError, VatMethod};
pub use statements::{
    balance_sheet, balance_sheet_result, financial_statements, profit_and_loss, Section, Span,
    StatementRow,
};
pub use trial_balance::{trial_balance, AccountSums, Report, RowType, TrialBalanceRow};
pub use vat::{vat_return, KennzahlKind, VatCodeSums, VatFacts, VatRow, VatSide};
