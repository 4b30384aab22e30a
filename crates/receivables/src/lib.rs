//! Receivables and payables: the pure rules behind customers, vendors, invoices and open items.
//!
//! Like `journal`, nothing in here does I/O or reads a clock: the date an open item is aged
//! against comes in as an argument, so the same inputs always give the same status.

pub mod bic;
pub mod booking;
pub mod change;
pub mod create;
pub mod discount;
pub mod iban;
pub mod invoice;
pub mod partner;
pub mod status;
pub mod vat_id;

pub use bic::{validate_bic, BicError};
pub use change::{
    decide_cancel, decide_settlement, decide_update, Cancel, CancelError, DecidedSettlement,
    DecidedUpdate, InvoiceChange, LockedInvoice, Settlement, SettlementError, UpdateError,
};
pub use create::{
    decide_invoice, CreateContext, CreateInvoiceError, DecidedInvoice, InvoiceBookingError,
    LinkError, NewInvoice, NewInvoiceLine,
};
pub use discount::{
    book_discount, decide_discounted_payment, discount_role, discounted_payment_booking,
    offered_discount, split_discount, validate_cash_discount, BookedDiscount, CashDiscountError,
    CashDiscountTerms, DecidedDiscountedPayment, DiscountContext, DiscountPart, DiscountedPayment,
    DiscountedPaymentRequest, InvoiceRateLine, OfferedDiscount, RateShare,
};
pub use iban::{validate_iban, IbanError};
pub use invoice::{
    compute_invoice, line_amounts, split_gross, ComputedInvoice, Direction, GivenTotals,
    InvoiceError, InvoiceType, LineAmounts, LineInput, Totals,
};
pub use partner::{
    check_default_account, lowest_free_number, next_partner_number, validate_partner, Address,
    NextNumber, NumberRange, PartnerError, PartnerInput, PartnerKind, PartnerNumberError,
    ValidPartner,
};
pub use status::{
    aging_bucket, days_overdue, derive_status, AgingBucket, InvoiceStatus, OpenItemState,
};
pub use vat_id::{validate_vat_id, VatIdError};
