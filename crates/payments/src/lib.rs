//! Payment runs: which vendor invoices to pay, how (Skonto, netting, batching), and the SEPA
//! credit transfer file (pain.001) that tells the bank.
//!
//! Like the other domain crates, nothing in here does I/O or reads a clock: the run's id, the
//! day, the execution date and the file's creation time come in as arguments, so the same
//! inputs always give the same run and the same bytes. `app` loads the invoices, vendors and
//! the bank account, calls [`plan_run`] and [`transition`], and stores what they decide;
//! [`pain001::write`] renders an exported run.

pub mod charset;
pub mod pain001;
pub mod run;
pub mod status;

pub use charset::{
    is_sepa_id, remittance_chunks, sepa_name, sepa_text, transliterate, RemittanceError, MAX_NAME,
    MAX_REMITTANCE,
};
pub use pain001::{write, CreditTransfer, Debtor, ExportError, Message, PainVersion};
pub use run::{
    eligible_invoices, end_to_end_id, id_base, message_id, plan_run, skonto, CashDiscount,
    Eligible, Excluded, ExclusionReason, Item, OpenInvoice, Run, RunOptions, Skonto, Transaction,
    Vendor,
};
pub use status::{transition, PaymentRunStatus, RunAction};

use journal::{Rule, RuleKind};
use rust_decimal::Decimal;
use uuid::Uuid;

/// A broken payment-run rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error("the run is {from}; cannot {action}")]
    InvalidTransition {
        from: PaymentRunStatus,
        action: RunAction,
    },
    #[error("the run was created by {created_by}; a different principal must approve it")]
    FourEyes { created_by: String },
    #[error("vendor {vendor_id} of invoice {invoice_id} has no IBAN")]
    VendorWithoutIban { invoice_id: Uuid, vendor_id: Uuid },
    #[error("vendor {vendor_id} of invoice {invoice_id} has an invalid IBAN: {reason}")]
    VendorIbanInvalid {
        invoice_id: Uuid,
        vendor_id: Uuid,
        reason: String,
    },
    #[error("invoice {invoice_id} is not an open incoming invoice")]
    InvoiceNotOpen { invoice_id: Uuid },
    #[error("{amount} exceeds the {open} still open on invoice {invoice_id}")]
    AmountExceedsOpen {
        invoice_id: Uuid,
        amount: Decimal,
        open: Decimal,
    },
    #[error("the amount for invoice {invoice_id} must be positive with at most 2 decimals")]
    InvalidAmount { invoice_id: Uuid },
    #[error("invoice {invoice_id} is already in the active payment run {run_id}")]
    InvoiceInActiveRun { invoice_id: Uuid, run_id: Uuid },
    #[error("the bank account has no valid IBAN")]
    BankAccountWithoutIban,
    #[error("the bank account's BIC is invalid: {reason}")]
    BankAccountBicInvalid { reason: String },
    #[error("invoice {invoice_id} is in {currency}; SEPA credit transfers are in EUR only")]
    UnsupportedCurrency { invoice_id: Uuid, currency: String },
    #[error("the execution date {execution_date} is in the past (today is {today})")]
    ExecutionDateInPast {
        execution_date: chrono::NaiveDate,
        today: chrono::NaiveDate,
    },
    #[error("invoice {invoice_id} is named twice")]
    DuplicateInvoice { invoice_id: Uuid },
    #[error("invoice number {number:?} does not fit into one remittance (140 characters)")]
    InvoiceNumberTooLong { invoice_id: Uuid, number: String },
    #[error("the run has nothing to pay")]
    EmptyRun,
}

impl RunError {
    pub fn code(&self) -> &'static str {
        match self {
            RunError::InvalidTransition { .. } => "invalid_transition",
            RunError::FourEyes { .. } => "four_eyes",
            RunError::VendorWithoutIban { .. } => "vendor_without_iban",
            RunError::VendorIbanInvalid { .. } => "vendor_iban_invalid",
            RunError::InvoiceNotOpen { .. } => "invoice_not_open",
            RunError::AmountExceedsOpen { .. } => "amount_exceeds_open",
            RunError::InvalidAmount { .. } => "invalid_amount",
            RunError::InvoiceInActiveRun { .. } => "invoice_in_active_run",
            RunError::BankAccountWithoutIban => "bank_account_without_iban",
            RunError::BankAccountBicInvalid { .. } => "bank_account_bic_invalid",
            RunError::UnsupportedCurrency { .. } => "unsupported_currency",
            RunError::ExecutionDateInPast { .. } => "execution_date_in_past",
            RunError::DuplicateInvoice { .. } => "duplicate_invoice",
            RunError::InvoiceNumberTooLong { .. } => "invoice_number_too_long",
            RunError::EmptyRun => "empty_run",
        }
    }
}

impl Rule for RunError {
    fn code(&self) -> &'static str {
        RunError::code(self)
    }

    fn kind(&self) -> RuleKind {
        match self {
            RunError::InvalidTransition { .. }
            | RunError::FourEyes { .. }
            | RunError::InvoiceNotOpen { .. }
            | RunError::AmountExceedsOpen { .. }
            | RunError::InvoiceInActiveRun { .. } => RuleKind::Conflict,
            RunError::VendorWithoutIban { .. }
            | RunError::VendorIbanInvalid { .. }
            | RunError::InvalidAmount { .. }
            | RunError::BankAccountWithoutIban
            | RunError::BankAccountBicInvalid { .. }
            | RunError::UnsupportedCurrency { .. }
            | RunError::ExecutionDateInPast { .. }
            | RunError::DuplicateInvoice { .. }
            | RunError::InvoiceNumberTooLong { .. }
            | RunError::EmptyRun => RuleKind::Invalid,
        }
    }

    fn field(&self) -> Option<String> {
        match self {
            RunError::InvalidTransition { .. } | RunError::FourEyes { .. } => None,
            RunError::VendorWithoutIban { .. }
            | RunError::VendorIbanInvalid { .. }
            | RunError::InvoiceNotOpen { .. }
            | RunError::InvoiceInActiveRun { .. }
            | RunError::UnsupportedCurrency { .. }
            | RunError::DuplicateInvoice { .. }
            | RunError::InvoiceNumberTooLong { .. }
            | RunError::EmptyRun => Some("invoice_ids".into()),
            RunError::AmountExceedsOpen { .. } | RunError::InvalidAmount { .. } => {
                Some("amount".into())
            }
            RunError::BankAccountWithoutIban | RunError::BankAccountBicInvalid { .. } => {
                Some("bank_account_id".into())
            }
            RunError::ExecutionDateInPast { .. } => Some("execution_date".into()),
        }
    }
}
