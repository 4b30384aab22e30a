//! What every broken domain rule tells the layers above it.
//!
//! Each domain crate has its own error enum (`BookingError`, `PeriodError`, `PartnerError`,
//! `InvoiceError`, …). They share this trait so that `api` maps any of them to HTTP by the
//! variant's own code, kind and field, never by reading the message.

/// How a broken rule relates to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// The input itself is wrong (HTTP 400).
    Invalid,
    /// The input conflicts with the ledger's current state (HTTP 409).
    Conflict,
    /// The input names something that does not exist (HTTP 404).
    NotFound,
}

/// A broken domain rule: a stable machine code, its kind, and the body field it is about.
pub trait Rule: std::error::Error {
    /// What clients branch on, for example `unbalanced` or `four_eyes`.
    fn code(&self) -> &'static str;
    fn kind(&self) -> RuleKind;
    /// The body field the rule is about, for `details.field_errors`.
    fn field(&self) -> Option<String> {
        None
    }
}
