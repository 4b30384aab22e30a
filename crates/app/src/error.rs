use journal::master_data::MasterDataError;
use journal::{BookingError, Rule, RuleKind};
use periods::PeriodError;
use receivables::{
    CancelError, CreateInvoiceError, InvoiceError, PartnerError, PartnerNumberError,
    SettlementError, UpdateError,
};
use store::StoreError;

/// What a use case can fail with. Domain rules keep their own typed errors; everything the
/// infrastructure can fail with stays a `StoreError`. Only `api` maps these to HTTP.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Booking(#[from] BookingError),
    #[error(transparent)]
    Period(#[from] PeriodError),
    #[error(transparent)]
    Partner(#[from] PartnerError),
    #[error(transparent)]
    PartnerNumber(#[from] PartnerNumberError),
    #[error(transparent)]
    Invoice(#[from] InvoiceError),
    #[error(transparent)]
    MasterData(#[from] MasterDataError),
    #[error(transparent)]
    CreateInvoice(#[from] CreateInvoiceError),
    #[error(transparent)]
    UpdateInvoice(#[from] UpdateError),
    #[error(transparent)]
    CancelInvoice(#[from] CancelError),
    #[error(transparent)]
    Settlement(#[from] SettlementError),
    #[error(transparent)]
    Report(#[from] reports::ReportError),
    #[error(transparent)]
    Datev(#[from] reports::DatevError),
    #[error(transparent)]
    DatevConvert(#[from] reports::ConvertError),
    #[error(transparent)]
    Settings(#[from] reports::SettingsError),
    #[error(transparent)]
    TaxCodeFacts(#[from] reports::FactsError),
    // Bank accounts and statement imports (issue 10, part 1).
    #[error(transparent)]
    BankAccount(#[from] bank::account::BankAccountError),
    #[error(transparent)]
    BankImport(#[from] bank::account::ImportError),
    #[error(transparent)]
    StatementParse(#[from] bank::ParseError),
    #[error(transparent)]
    PaymentRun(#[from] payments::RunError),
    #[error(transparent)]
    PaymentExport(#[from] payments::ExportError),
    #[error(transparent)]
    Reconcile(#[from] bank::ReconcileError),
    #[error(transparent)]
    MatchGroup(#[from] bank::MatchError),
    #[error(transparent)]
    Webhook(webhooks::WebhookError),
    #[error("{what} not found")]
    NotFound { what: String },
    /// Input that breaks a rule outside the domain crates (400).
    #[error("{message}")]
    Invalid {
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    /// A conflict with the current state (409).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// Missing, wrong or expired credentials (401).
    #[error("{message}")]
    Unauthenticated { code: &'static str, message: String },
    /// The credentials are valid but do not allow this (403).
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// Too many attempts (429); worth retrying after `retry_after` seconds.
    #[error("{message}")]
    TooMany {
        code: &'static str,
        message: String,
        retry_after: u64,
    },
    /// A service outside kontor failed, e.g. the mail server (502).
    #[error("{message}")]
    Upstream { code: &'static str, message: String },
    /// Another request with the same `Idempotency-Key` committed first: replay its response.
    #[error("a request with this Idempotency-Key was answered already")]
    IdempotencyReplay,
    /// Infrastructure: the database, the pool, configuration. Opaque to clients (500).
    #[error(transparent)]
    Store(StoreError),
}

impl AppError {
    /// The database cancelled a statement that ran past the statement timeout.
    pub fn is_statement_timeout(&self) -> bool {
        matches!(self, AppError::Store(e) if e.is_query_canceled())
    }

    pub fn not_found(what: impl Into<String>) -> AppError {
        AppError::NotFound { what: what.into() }
    }

    pub fn invalid(
        code: &'static str,
        message: impl Into<String>,
        field: Option<&str>,
    ) -> AppError {
        AppError::Invalid {
            code,
            message: message.into(),
            field: field.map(str::to_string),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> AppError {
        AppError::Conflict {
            code,
            message: message.into(),
        }
    }

    /// The broken domain rule, when this is one.
    pub fn rule(&self) -> Option<&dyn Rule> {
        match self {
            AppError::Booking(e) => Some(e),
            AppError::Period(e) => Some(e),
            AppError::Partner(e) => Some(e),
            AppError::PartnerNumber(e) => Some(e),
            AppError::Invoice(e) => Some(e),
            AppError::MasterData(e) => Some(e),
            AppError::CreateInvoice(e) => Some(e),
            AppError::UpdateInvoice(e) => Some(e),
            AppError::CancelInvoice(e) => Some(e),
            AppError::Settlement(e) => Some(e),
            AppError::Report(e) => Some(e),
            AppError::Datev(e) => Some(e),
            AppError::DatevConvert(e) => Some(e),
            AppError::Settings(e) => Some(e),
            AppError::TaxCodeFacts(e) => Some(e),
            AppError::BankAccount(e) => Some(e),
            AppError::BankImport(e) => Some(e),
            AppError::StatementParse(e) => Some(e),
            AppError::PaymentRun(e) => Some(e),
            AppError::PaymentExport(e) => Some(e),
            AppError::Reconcile(e) => Some(e),
            AppError::MatchGroup(e) => Some(e),
            AppError::Webhook(e) => Some(e),
            _ => None,
        }
    }

    /// The HTTP-independent kind of the error; `None` for infrastructure errors.
    pub fn kind(&self) -> Option<RuleKind> {
        match self {
            AppError::NotFound { .. } => Some(RuleKind::NotFound),
            AppError::Invalid { .. } => Some(RuleKind::Invalid),
            AppError::Conflict { .. } => Some(RuleKind::Conflict),
            AppError::IdempotencyReplay | AppError::Store(_) => None,
            other => other.rule().map(Rule::kind),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        match e {
            StoreError::Booking(b) => AppError::Booking(b),
            StoreError::NotFound { what } => AppError::NotFound { what },
            StoreError::Invalid {
                code,
                message,
                field,
            } => AppError::Invalid {
                code,
                message,
                field,
            },
            StoreError::Conflict { code, message } => AppError::Conflict { code, message },
            StoreError::IdempotencyTaken => AppError::IdempotencyReplay,
            other => AppError::Store(other),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;
