//! Changes to an existing invoice: payments and write-offs (settlement), cancellation and
//! `PATCH`. Each command is decided from the invoice as locked (`FOR UPDATE`) with its derived
//! state, and whatever else was loaded beforehand.

use crate::booking::{invoice_metadata, settlement_booking, SettlementBooking, SettlementKind};
use crate::create::{
    check_due_date, check_link, check_notes, clean, CreateInvoiceError, LinkError, LinkExpectation,
    LinkedIntent, TaxCodeFacts,
};
use crate::invoice::{Direction, InvoiceType};
use crate::status::OpenItemState;
use chrono::NaiveDate;
use journal::{BookingCommand, Currency, PostingMode, ReversalCommand, Rule, RuleKind};
use rust_decimal::Decimal;
use uuid::Uuid;

/// An invoice as locked for a change, with its state as far as everything booked goes.
#[derive(Debug, Clone, PartialEq)]
pub struct LockedInvoice {
    pub id: Uuid,
    pub direction: Direction,
    pub invoice_type: InvoiceType,
    pub invoice_number: String,
    pub invoice_date: NaiveDate,
    pub total_gross: Decimal,
    pub total_tax: Decimal,
    /// The invoice's booking.
    pub intent_id: Uuid,
    pub due_date: Option<NaiveDate>,
    pub notes: Option<String>,
    /// The partner's personal account.
    pub partner_account: String,
    pub state: OpenItemState,
}

// ---------------------------------------------------------------- settlement

/// A payment or write-off to apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Settlement {
    pub kind: SettlementKind,
    /// In the base currency, > 0, at most what is open.
    pub amount: Decimal,
    pub date: NaiveDate,
    /// Counter account; defaults per kind (see [`SettlementRoles`]).
    pub account: Option<String>,
    /// Write-offs only: the VAT correction's tax code.
    pub tax_code: Option<String>,
}

/// The chart's role accounts a settlement defaults to.
#[derive(Debug, Clone, Copy, Default)]
pub struct SettlementRoles<'a> {
    /// `bank`: payments.
    pub bank: Option<&'a str>,
    /// `write_off_receivables`: write-offs of outgoing invoices (Forderungsverluste).
    pub write_off_receivables: Option<&'a str>,
    /// `write_off_payables`: write-offs of incoming invoices (other operating income).
    pub write_off_payables: Option<&'a str>,
}

/// Everything `decide_settlement` needs, loaded beforehand.
#[derive(Debug, Clone)]
pub struct SettleContext<'a> {
    /// The new application's id.
    pub application_id: Uuid,
    pub base: Currency,
    /// The invoice the settlement names, locked; None when it does not exist.
    pub invoice: Option<&'a LockedInvoice>,
    /// The id the settlement names.
    pub invoice_id: Uuid,
    pub roles: SettlementRoles<'a>,
    /// The write-off's tax code, when it names one and it exists.
    pub tax_code: Option<&'a TaxCodeFacts>,
}

/// A decided payment or write-off: its booking and the application row to record.
#[derive(Debug, Clone, PartialEq)]
pub struct DecidedSettlement {
    pub application_id: Uuid,
    pub invoice_id: Uuid,
    pub kind: SettlementKind,
    pub amount: Decimal,
    pub date: NaiveDate,
    pub counter_account: String,
    pub cmd: BookingCommand,
}

/// A rule broken by a payment or write-off.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SettlementError {
    #[error("amount must be > 0")]
    NonPositiveAmount,
    #[error("{currency} amounts have at most {decimals} decimals")]
    AmountPrecision { currency: String, decimals: u32 },
    #[error("invoice {0} not found")]
    UnknownInvoice(Uuid),
    #[error("invoice {0} is cancelled (its booking is reversed)")]
    Cancelled(Uuid),
    #[error("{amount} exceeds what is open on invoice {invoice_number}: {remaining}")]
    Overpayment {
        amount: String,
        invoice_number: String,
        remaining: String,
    },
    #[error("the chart names no bank account")]
    NoBankAccount,
    #[error("name the write-off account")]
    NoWriteOffAccount,
    #[error("tax code {0} does not exist, is inactive or is self-assessed")]
    UnknownTaxCode(String),
    /// The journal refused the counter account.
    #[error("account {0} does not exist or is inactive")]
    UnknownCounterAccount(String),
    #[error("nothing is open on invoice {0}")]
    NothingOpen(String),
    #[error("discount must be > 0 with at most the currency's decimals")]
    InvalidDiscount,
    #[error("a cash discount is taken on invoices, not on credit notes")]
    DiscountOnCreditNote,
    #[error("the chart names no discount account for {rate} % VAT; name discount_account")]
    NoDiscountAccount { rate: String },
}

impl Rule for SettlementError {
    fn code(&self) -> &'static str {
        match self {
            SettlementError::NonPositiveAmount => "non_positive_amount",
            SettlementError::AmountPrecision { .. } => "amount_precision",
            SettlementError::UnknownInvoice(_) => "not_found",
            SettlementError::Cancelled(_) => "invoice_cancelled",
            SettlementError::Overpayment { .. } => "overpayment",
            SettlementError::NoBankAccount
            | SettlementError::NoWriteOffAccount
            | SettlementError::UnknownCounterAccount(_) => "unknown_account",
            SettlementError::UnknownTaxCode(_) => "unknown_tax_code",
            SettlementError::InvalidDiscount => "invalid_discount",
            SettlementError::NothingOpen(_) => "nothing_open",
            SettlementError::DiscountOnCreditNote => "discount_on_credit_note",
            SettlementError::NoDiscountAccount { .. } => "unknown_account",
        }
    }

    fn kind(&self) -> RuleKind {
        match self {
            SettlementError::UnknownInvoice(_) => RuleKind::NotFound,
            SettlementError::Cancelled(_)
            | SettlementError::Overpayment { .. }
            | SettlementError::NothingOpen(_) => RuleKind::Conflict,
            _ => RuleKind::Invalid,
        }
    }

    fn field(&self) -> Option<String> {
        match self {
            SettlementError::NonPositiveAmount | SettlementError::AmountPrecision { .. } => {
                Some("amount".into())
            }
            SettlementError::NoBankAccount
            | SettlementError::NoWriteOffAccount
            | SettlementError::UnknownCounterAccount(_) => Some("account".into()),
            SettlementError::UnknownTaxCode(_) => Some("tax_code".into()),
            SettlementError::InvalidDiscount | SettlementError::DiscountOnCreditNote => {
                Some("discount".into())
            }
            SettlementError::NoDiscountAccount { .. } => Some("discount_account".into()),
            _ => None,
        }
    }
}

/// The amount checks of a settlement, before anything is loaded: > 0, in the currency's
/// minor units.
pub fn check_settlement_amount(amount: Decimal, base: Currency) -> Result<(), SettlementError> {
    if amount <= Decimal::ZERO {
        return Err(SettlementError::NonPositiveAmount);
    }
    if !base.fits(amount) {
        return Err(SettlementError::AmountPrecision {
            currency: base.to_string(),
            decimals: base.minor_units(),
        });
    }
    Ok(())
}

/// Decides a payment or write-off: the amount is positive and at most what is open on an
/// invoice that is not cancelled; the counter account defaults to the chart's bank (payments)
/// or write-off account of the invoice's side; a write-off's tax code must be active and not
/// self-assessed. Returns the booking (partner vs counter account, with the VAT correction)
/// and the application to record.
pub fn decide_settlement(
    s: &Settlement,
    ctx: &SettleContext<'_>,
) -> Result<DecidedSettlement, SettlementError> {
    let base = ctx.base;
    check_settlement_amount(s.amount, base)?;
    let amount = base.round(s.amount);
    let invoice = ctx
        .invoice
        .ok_or(SettlementError::UnknownInvoice(ctx.invoice_id))?;
    if invoice.state.cancelled {
        return Err(SettlementError::Cancelled(invoice.id));
    }
    let remaining = invoice.state.remaining();
    if amount > remaining {
        return Err(SettlementError::Overpayment {
            amount: base.format(amount),
            invoice_number: invoice.invoice_number.clone(),
            remaining: base.format(remaining),
        });
    }
    let counter = match (&s.account, s.kind) {
        (Some(a), _) => a.trim().to_string(),
        (None, SettlementKind::Payment) => ctx
            .roles
            .bank
            .ok_or(SettlementError::NoBankAccount)?
            .to_string(),
        // A discount is decided with its payment (discount::decide_discounted_payment).
        (None, SettlementKind::Discount) => return Err(SettlementError::InvalidDiscount),
        (None, SettlementKind::WriteOff) => match invoice.direction {
            Direction::Outgoing => ctx.roles.write_off_receivables,
            Direction::Incoming => ctx.roles.write_off_payables,
        }
        .ok_or(SettlementError::NoWriteOffAccount)?
        .to_string(),
    };
    let tax = match &s.tax_code {
        None => None,
        Some(code) => match ctx.tax_code {
            Some(t) if t.is_active && !t.self_assessed => Some((code.as_str(), t.rate)),
            _ => return Err(SettlementError::UnknownTaxCode(code.clone())),
        },
    };
    let mut cmd = settlement_booking(&SettlementBooking {
        kind: s.kind,
        direction: invoice.direction,
        invoice_type: invoice.invoice_type,
        invoice_number: &invoice.invoice_number,
        partner_account: &invoice.partner_account,
        counter_account: &counter,
        date: s.date,
        amount,
        tax,
        currency: base,
    });
    cmd.custom_metadata = Some(invoice_metadata(
        invoice.id,
        Some((s.kind, ctx.application_id)),
    ));
    Ok(DecidedSettlement {
        application_id: ctx.application_id,
        invoice_id: invoice.id,
        kind: s.kind,
        amount,
        date: s.date,
        counter_account: counter,
        cmd,
    })
}

// ---------------------------------------------------------------- cancel

pub const DEFAULT_CANCEL_REASON: &str = "Invoice cancelled";

/// Cancelling an invoice: reversing its booking (Storno).
#[derive(Debug, Clone, PartialEq)]
pub struct Cancel {
    /// Why (GoBD); "Invoice cancelled" when blank.
    pub reason: Option<String>,
    pub posting_mode: PostingMode,
}

/// A rule broken by a cancellation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CancelError {
    #[error("invoice {0} not found")]
    UnknownInvoice(Uuid),
    /// The invoice's booking is reversed already.
    #[error("intent {0} is already reversed")]
    AlreadyReversed(Uuid),
    #[error(
        "payments or write-offs are applied to this invoice; reverse them before cancelling it"
    )]
    HasPayments,
}

impl Rule for CancelError {
    fn code(&self) -> &'static str {
        match self {
            CancelError::UnknownInvoice(_) => "not_found",
            CancelError::AlreadyReversed(_) => "already_reversed",
            CancelError::HasPayments => "invoice_has_payments",
        }
    }
    fn kind(&self) -> RuleKind {
        match self {
            CancelError::UnknownInvoice(_) => RuleKind::NotFound,
            _ => RuleKind::Conflict,
        }
    }
}

/// Decides a cancellation: the invoice (locked; None when it does not exist) is not cancelled
/// and nothing is applied to it. Returns the reversal of its booking.
pub fn decide_cancel(
    id: Uuid,
    invoice: Option<&LockedInvoice>,
    c: &Cancel,
) -> Result<ReversalCommand, CancelError> {
    let invoice = invoice.ok_or(CancelError::UnknownInvoice(id))?;
    if invoice.state.cancelled {
        return Err(CancelError::AlreadyReversed(invoice.intent_id));
    }
    if invoice.state.settled > Decimal::ZERO {
        return Err(CancelError::HasPayments);
    }
    Ok(ReversalCommand {
        intent_id: invoice.intent_id,
        reason: clean(c.reason.as_deref()).unwrap_or_else(|| DEFAULT_CANCEL_REASON.to_string()),
        posting_mode: c.posting_mode,
    })
}

// ---------------------------------------------------------------- update (PATCH)

/// PATCH: None leaves a field alone; Some(None) clears notes / due_date.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InvoiceChange {
    pub intent_id: Option<Uuid>,
    pub notes: Option<Option<String>>,
    pub due_date: Option<Option<NaiveDate>>,
}

/// Everything `decide_update` needs, loaded beforehand.
#[derive(Debug, Clone)]
pub struct UpdateContext<'a> {
    pub id: Uuid,
    pub base: Currency,
    /// The invoice, locked; None when it does not exist.
    pub invoice: Option<&'a LockedInvoice>,
    /// The booking the change links, when it names another one and that exists.
    pub linked: Option<&'a LinkedIntent>,
}

/// One changed field, for the `invoice_changes` log.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldChange {
    Notes {
        from: Option<String>,
        to: Option<String>,
    },
    DueDate {
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    },
    IntentId {
        from: Uuid,
        to: Uuid,
    },
}

/// The invoice's changeable fields after the change, and what changed. Nothing is written when
/// `changes` is empty.
#[derive(Debug, Clone, PartialEq)]
pub struct DecidedUpdate {
    pub id: Uuid,
    pub notes: Option<String>,
    pub due_date: Option<NaiveDate>,
    pub intent_id: Uuid,
    pub changes: Vec<FieldChange>,
}

/// A rule broken by a `PATCH`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UpdateError {
    #[error("invoice {0} not found")]
    UnknownInvoice(Uuid),
    /// `notes` too long, or `due_date` before the invoice date: the same rules as on creation.
    #[error(transparent)]
    Field(CreateInvoiceError),
    #[error("the invoice is booked by intent {0}; cancel it (reverse that booking) before linking another")]
    InvoiceBooked(Uuid),
    #[error(transparent)]
    Link(#[from] LinkError),
}

impl Rule for UpdateError {
    fn code(&self) -> &'static str {
        match self {
            UpdateError::UnknownInvoice(_) => "not_found",
            UpdateError::Field(e) => e.code(),
            UpdateError::InvoiceBooked(_) => "invoice_booked",
            UpdateError::Link(e) => e.code(),
        }
    }
    fn kind(&self) -> RuleKind {
        match self {
            UpdateError::UnknownInvoice(_) => RuleKind::NotFound,
            UpdateError::Field(e) => e.kind(),
            UpdateError::InvoiceBooked(_) => RuleKind::Conflict,
            UpdateError::Link(e) => e.kind(),
        }
    }
    fn field(&self) -> Option<String> {
        match self {
            UpdateError::Field(e) => e.field(),
            UpdateError::Link(e) => e.field(),
            _ => None,
        }
    }
}

/// The booking a change asks to link, when it differs from the invoice's current one: only
/// then does it need loading.
pub fn intent_to_link(change: &InvoiceChange, invoice: &LockedInvoice) -> Option<Uuid> {
    change.intent_id.filter(|i| *i != invoice.intent_id)
}

/// Decides a `PATCH`: notes (trimmed, at most `MAX_NOTES`), a due date not before the invoice
/// date, and another booking only once the current one is reversed, carrying the invoice's
/// totals.
pub fn decide_update(
    change: &InvoiceChange,
    ctx: &UpdateContext<'_>,
) -> Result<DecidedUpdate, UpdateError> {
    let invoice = ctx.invoice.ok_or(UpdateError::UnknownInvoice(ctx.id))?;
    let mut changes = Vec::new();
    let notes = change.notes.as_ref().map(|n| clean(n.as_deref()));
    if let Some(n) = &notes {
        check_notes(n.as_deref()).map_err(UpdateError::Field)?;
        if invoice.notes != *n {
            changes.push(FieldChange::Notes {
                from: invoice.notes.clone(),
                to: n.clone(),
            });
        }
    }
    if let Some(d) = change.due_date {
        check_due_date(invoice.invoice_date, d).map_err(UpdateError::Field)?;
        if invoice.due_date != d {
            changes.push(FieldChange::DueDate {
                from: invoice.due_date,
                to: d,
            });
        }
    }
    let intent_id = match intent_to_link(change, invoice) {
        Some(new_intent) => {
            if !invoice.state.cancelled {
                return Err(UpdateError::InvoiceBooked(invoice.intent_id));
            }
            check_link(
                new_intent,
                ctx.linked,
                &LinkExpectation {
                    direction: invoice.direction,
                    invoice_type: invoice.invoice_type,
                    partner_account: &invoice.partner_account,
                    gross: invoice.total_gross,
                    tax: invoice.total_tax,
                    currency: ctx.base,
                },
            )?;
            changes.push(FieldChange::IntentId {
                from: invoice.intent_id,
                to: new_intent,
            });
            new_intent
        }
        None => invoice.intent_id,
    };
    Ok(DecidedUpdate {
        id: invoice.id,
        notes: notes.unwrap_or_else(|| invoice.notes.clone()),
        due_date: change.due_date.unwrap_or(invoice.due_date),
        intent_id,
        changes,
    })
}
