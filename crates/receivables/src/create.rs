//! Creating an invoice: the input rules, the default accounts, the computed lines and the
//! booking (or the check of the booking it links), decided from what was loaded beforehand.
//!
//! `decide_invoice` is the one decision: it takes the request and a [`CreateContext`] (the
//! partner, the tax codes and accounts the lines name, an invoice with the same number, the
//! linked booking) and returns the [`DecidedInvoice`] to write, or the first rule it breaks.

use crate::booking::{
    check_linked_booking, invoice_booking, invoice_metadata, BookedLine, InvoiceBooking, LinkedLine,
};
use crate::discount::{validate_cash_discount, CashDiscountError, CashDiscountTerms};
use crate::invoice::{
    compute_invoice, Direction, GivenTotals, InvoiceError, InvoiceType, LineInput, Totals,
};
use crate::partner::PartnerKind;
use chrono::NaiveDate;
use journal::{BookingCommand, BookingError, Currency, Rule, RuleKind};
use rust_decimal::Decimal;
use std::collections::HashMap;
use uuid::Uuid;

pub const MAX_INVOICE_NUMBER: usize = 100;
pub const MAX_NOTES: usize = 2000;
pub const MAX_LINE_DESCRIPTION: usize = 500;

/// One line of a new invoice, as the client sends it.
#[derive(Debug, Clone, Default)]
pub struct NewInvoiceLine {
    pub description: Option<String>,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub tax_code: Option<String>,
    /// Defaults to the partner's default_account, then the chart's revenue / expense account.
    pub account: Option<String>,
    /// Stated amounts, checked against the computed ones.
    pub net: Option<Decimal>,
    pub tax: Option<Decimal>,
    pub gross: Option<Decimal>,
}

/// A new invoice, as the client sends it.
#[derive(Debug, Clone)]
pub struct NewInvoice {
    pub direction: Direction,
    pub invoice_type: InvoiceType,
    pub partner_id: Uuid,
    pub document_id: Option<Uuid>,
    pub invoice_number: String,
    pub invoice_date: NaiveDate,
    pub due_date: Option<NaiveDate>,
    pub totals: GivenTotals,
    /// The tenant's base currency when None; another currency is refused.
    pub currency: Option<String>,
    /// Link this existing booking instead of booking the invoice.
    pub intent_id: Option<Uuid>,
    pub notes: Option<String>,
    pub lines: Vec<NewInvoiceLine>,
    /// Cash-discount terms (Skonto): both or neither; invoices only.
    pub cash_discount_percent: Option<Decimal>,
    pub cash_discount_days: Option<i64>,
}

/// An invoice line as written: its amounts computed, its account and tax rate resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct InvoiceLine {
    pub line_no: i32,
    pub description: String,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub tax_code: Option<String>,
    pub tax_rate: Decimal,
    pub self_assessed: bool,
    pub account: String,
    pub net: Decimal,
    pub tax: Decimal,
    pub gross: Decimal,
}

/// The partner an invoice names, as far as creating it needs to know.
#[derive(Debug, Clone, PartialEq)]
pub struct PartnerFacts {
    pub name: String,
    /// The personal (debtor / creditor) account.
    pub account_number: String,
    pub default_account: Option<String>,
    pub is_active: bool,
}

/// A tax code, as far as an invoice line or a write-off needs to know.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaxCodeFacts {
    pub rate: Decimal,
    pub self_assessed: bool,
    pub is_active: bool,
}

/// An existing booking that an invoice is to be linked to.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkedIntent {
    /// The intent is itself a reversal.
    pub is_reversal: bool,
    /// The intent is reversed.
    pub reversed: bool,
    /// The invoice it carries already.
    pub linked_to: Option<Uuid>,
    pub lines: Vec<LinkedLine>,
}

/// Everything `decide_invoice` needs, loaded beforehand.
#[derive(Debug, Clone)]
pub struct CreateContext<'a> {
    /// The new invoice's id.
    pub invoice_id: Uuid,
    pub base: Currency,
    /// The partner of the invoice's side, when it exists.
    pub partner: Option<&'a PartnerFacts>,
    /// The document `document_id` names exists (ignored without one).
    pub document_exists: bool,
    /// An invoice of the same side with the same number (of the same vendor for incoming).
    pub existing_number: Option<Uuid>,
    /// The tax codes the lines name, by code (missing: unknown).
    pub tax_codes: &'a HashMap<String, TaxCodeFacts>,
    /// The accounts the lines are booked on, with `is_active` (missing: unknown).
    pub accounts: &'a HashMap<String, bool>,
    /// The chart's role for the side: `revenue_default` / `expense_default`.
    pub chart_default_account: Option<&'a str>,
    /// The booking `intent_id` names, when it exists.
    pub linked: Option<&'a LinkedIntent>,
}

/// How the invoice gets its booking.
#[derive(Debug, Clone, PartialEq)]
pub enum InvoiceBookingPlan {
    /// Link the existing booking (checked).
    Link(Uuid),
    /// Book this command; `origin[i]` is the invoice line booking line `i` comes from (None:
    /// the partner line).
    Book {
        cmd: BookingCommand,
        origin: Vec<Option<usize>>,
    },
}

/// A decided invoice: what to write.
#[derive(Debug, Clone, PartialEq)]
pub struct DecidedInvoice {
    pub id: Uuid,
    pub direction: Direction,
    pub invoice_type: InvoiceType,
    pub partner_id: Uuid,
    pub partner_name: String,
    pub partner_account: String,
    pub invoice_number: String,
    pub invoice_date: NaiveDate,
    pub due_date: Option<NaiveDate>,
    pub currency: Currency,
    pub totals: Totals,
    pub document_id: Option<Uuid>,
    pub notes: Option<String>,
    pub lines: Vec<InvoiceLine>,
    pub booking: InvoiceBookingPlan,
    pub cash_discount: Option<CashDiscountTerms>,
}

/// The partner kind of a side: customers for outgoing, vendors for incoming invoices.
pub fn partner_kind(direction: Direction) -> PartnerKind {
    match direction {
        Direction::Outgoing => PartnerKind::Customer,
        Direction::Incoming => PartnerKind::Vendor,
    }
}

/// The body field naming the partner (`customer_id` / `vendor_id`).
pub fn partner_field(direction: Direction) -> &'static str {
    match direction {
        Direction::Outgoing => "customer_id",
        Direction::Incoming => "vendor_id",
    }
}

/// The chart role of the default account of an invoice line.
pub fn default_account_role(direction: Direction) -> &'static str {
    match direction {
        Direction::Outgoing => "revenue_default",
        Direction::Incoming => "expense_default",
    }
}

/// Trimmed, empty as None.
pub fn clean(text: Option<&str>) -> Option<String> {
    text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
}

/// The invoice number as stored: trimmed.
pub fn invoice_number(new: &NewInvoice) -> String {
    new.invoice_number.trim().to_string()
}

/// The account each line is booked on: its own, else the partner's default, else the chart's.
/// None where none of them names one.
pub fn line_accounts(
    new: &NewInvoice,
    partner_default: Option<&str>,
    chart_default: Option<&str>,
) -> Vec<Option<String>> {
    let fallback = partner_default.or(chart_default).map(str::to_string);
    new.lines
        .iter()
        .map(|l| clean(l.account.as_deref()).or_else(|| fallback.clone()))
        .collect()
}

/// A rule broken by a new invoice.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CreateInvoiceError {
    #[error("invoices are kept in the tenant's base currency {base}; {given:?} is not supported")]
    UnsupportedCurrency { given: String, base: String },
    #[error("invoice_number must be 1 to {MAX_INVOICE_NUMBER} characters")]
    InvalidInvoiceNumber,
    #[error("due_date {due_date} is before the invoice_date {invoice_date}")]
    InvalidDueDate {
        due_date: NaiveDate,
        invoice_date: NaiveDate,
    },
    #[error("notes is longer than {MAX_NOTES} characters")]
    NotesTooLong,
    #[error(transparent)]
    CashDiscount(#[from] CashDiscountError),
    #[error("a credit note carries no cash-discount terms")]
    CashDiscountOnCreditNote,
    #[error("lines[{line}].description is longer than {MAX_LINE_DESCRIPTION} characters")]
    DescriptionTooLong { line: usize },
    #[error("{}: {} {partner_id} does not exist", partner_field(*direction), partner_kind(*direction).as_str())]
    UnknownPartner {
        direction: Direction,
        partner_id: Uuid,
    },
    #[error("{} {partner_id} is deactivated; reactivate it to invoice", partner_kind(*direction).as_str())]
    PartnerInactive {
        direction: Direction,
        partner_id: Uuid,
    },
    #[error("document {0} does not exist")]
    UnknownDocument(Uuid),
    #[error("{} numbered {number:?} exists{}", number_scope(*direction), existing.map(|id| format!(" ({id})")).unwrap_or_default())]
    DuplicateNumber {
        direction: Direction,
        number: String,
        existing: Option<Uuid>,
    },
    #[error("lines[{line}].tax_code: tax code {code} {}", if *inactive { "is inactive" } else { "does not exist" })]
    UnknownTaxCode {
        line: usize,
        code: String,
        inactive: bool,
    },
    #[error("lines[{line}].account is required: neither the {} nor the chart names a default", partner_kind(*direction).as_str())]
    AccountRequired { line: usize, direction: Direction },
    #[error("lines[{line}].account: account {account} {}", if *inactive { "is inactive" } else { "does not exist" })]
    UnknownAccount {
        line: usize,
        account: String,
        inactive: bool,
    },
    /// The lines' arithmetic or the stated totals.
    #[error(transparent)]
    Lines(InvoiceError),
    /// The booking `intent_id` names cannot carry the invoice.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// The journal refused the invoice's booking; told in terms of the invoice.
    #[error(transparent)]
    Booking(Box<InvoiceBookingError>),
}

fn number_scope(direction: Direction) -> &'static str {
    match direction {
        Direction::Outgoing => "an outgoing invoice",
        Direction::Incoming => "an incoming invoice of this vendor",
    }
}

impl Rule for CreateInvoiceError {
    fn code(&self) -> &'static str {
        use CreateInvoiceError as E;
        match self {
            E::UnsupportedCurrency { .. } => "unsupported_currency",
            E::InvalidInvoiceNumber => "invalid_invoice_number",
            E::InvalidDueDate { .. } => "invalid_due_date",
            E::NotesTooLong | E::DescriptionTooLong { .. } => "too_long",
            E::CashDiscount(e) => e.code(),
            E::CashDiscountOnCreditNote => "invalid_cash_discount",
            E::UnknownPartner { direction, .. } => match direction {
                Direction::Outgoing => "unknown_customer",
                Direction::Incoming => "unknown_vendor",
            },
            E::PartnerInactive { direction, .. } => match direction {
                Direction::Outgoing => "customer_inactive",
                Direction::Incoming => "vendor_inactive",
            },
            E::UnknownDocument(_) => "unknown_document",
            E::DuplicateNumber { .. } => "duplicate_invoice_number",
            E::UnknownTaxCode { .. } => "unknown_tax_code",
            E::AccountRequired { .. } | E::UnknownAccount { .. } => "unknown_account",
            E::Lines(e) => e.code(),
            E::Link(e) => e.code(),
            E::Booking(e) => e.code(),
        }
    }

    fn kind(&self) -> RuleKind {
        use CreateInvoiceError as E;
        match self {
            E::PartnerInactive { .. } | E::DuplicateNumber { .. } => RuleKind::Conflict,
            E::Lines(e) => Rule::kind(e),
            E::Link(e) => e.kind(),
            E::Booking(e) => e.kind(),
            _ => RuleKind::Invalid,
        }
    }

    fn field(&self) -> Option<String> {
        use CreateInvoiceError as E;
        match self {
            E::UnsupportedCurrency { .. } => Some("currency".into()),
            E::InvalidInvoiceNumber => Some("invoice_number".into()),
            E::InvalidDueDate { .. } => Some("due_date".into()),
            E::NotesTooLong => Some("notes".into()),
            E::CashDiscount(e) => e.field(),
            E::CashDiscountOnCreditNote => Some("cash_discount_percent".into()),
            E::DescriptionTooLong { line } => Some(format!("lines[{line}].description")),
            E::UnknownPartner { direction, .. } => Some(partner_field(*direction).into()),
            E::PartnerInactive { .. } | E::DuplicateNumber { .. } => None,
            E::UnknownDocument(_) => Some("document_id".into()),
            E::UnknownTaxCode { line, .. } => Some(format!("lines[{line}].tax_code")),
            E::AccountRequired { line, .. } | E::UnknownAccount { line, .. } => {
                Some(format!("lines[{line}].account"))
            }
            E::Lines(e) => Rule::field(e),
            E::Link(e) => e.field(),
            E::Booking(e) => e.field(),
        }
    }
}

/// Why an existing booking cannot carry an invoice.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LinkError {
    #[error("intent {0} does not exist")]
    UnknownIntent(Uuid),
    #[error("intent {0} is a reversal and cannot carry an invoice")]
    IsReversal(Uuid),
    #[error("intent {0} is reversed")]
    Reversed(Uuid),
    #[error("intent {intent_id} already carries {}", match invoice { Some(id) => format!("invoice {id}"), None => "an invoice".into() })]
    AlreadyLinked {
        intent_id: Uuid,
        invoice: Option<Uuid>,
    },
    /// Its amounts do not match the invoice (`intent_mismatch`).
    #[error(transparent)]
    Mismatch(InvoiceError),
}

impl Rule for LinkError {
    fn code(&self) -> &'static str {
        match self {
            LinkError::UnknownIntent(_) => "unknown_intent",
            LinkError::IsReversal(_) => "intent_mismatch",
            LinkError::Reversed(_) => "already_reversed",
            LinkError::AlreadyLinked { .. } => "intent_already_linked",
            LinkError::Mismatch(e) => e.code(),
        }
    }

    fn kind(&self) -> RuleKind {
        match self {
            LinkError::Reversed(_) | LinkError::AlreadyLinked { .. } => RuleKind::Conflict,
            _ => RuleKind::Invalid,
        }
    }

    fn field(&self) -> Option<String> {
        match self {
            LinkError::Reversed(_) | LinkError::AlreadyLinked { .. } => None,
            _ => Some("intent_id".into()),
        }
    }
}

/// What the booking an invoice is linked to must carry.
#[derive(Debug, Clone, Copy)]
pub struct LinkExpectation<'a> {
    pub direction: Direction,
    pub invoice_type: InvoiceType,
    pub partner_account: &'a str,
    pub gross: Decimal,
    pub tax: Decimal,
    pub currency: Currency,
}

/// Checks that the booking `intent_id` (loaded as `linked`, None when it does not exist) may
/// carry the invoice: it exists, is no reversal, is not reversed, carries no other invoice, and
/// moves the partner's account by the gross and the VAT lines by the tax.
pub fn check_link(
    intent_id: Uuid,
    linked: Option<&LinkedIntent>,
    expect: &LinkExpectation<'_>,
) -> Result<(), LinkError> {
    let linked = linked.ok_or(LinkError::UnknownIntent(intent_id))?;
    if linked.is_reversal {
        return Err(LinkError::IsReversal(intent_id));
    }
    if linked.reversed {
        return Err(LinkError::Reversed(intent_id));
    }
    if let Some(other) = linked.linked_to {
        return Err(LinkError::AlreadyLinked {
            intent_id,
            invoice: Some(other),
        });
    }
    check_linked_booking(
        expect.direction,
        expect.invoice_type,
        expect.partner_account,
        expect.gross,
        expect.tax,
        &linked.lines,
        expect.currency,
    )
    .map_err(LinkError::Mismatch)
}

/// A journal rule broken by the booking of an invoice, told in terms of the invoice: a booking
/// line's field (`lines[k].account`) becomes the field of the invoice line it comes from
/// (`lines[i].account`), and the partner line's becomes `customer_id` / `vendor_id`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{located}")]
pub struct InvoiceBookingError {
    /// The error as the journal raised it on the booking.
    pub booked: BookingError,
    /// The same error with the invoice's field.
    pub located: BookingError,
    /// The partner line broke the rule: reported against the partner field, always invalid.
    pub on_partner: bool,
}

/// Where a booking line's field points in the invoice.
fn booking_line(field: &str) -> Option<(usize, &str)> {
    let rest = field.strip_prefix("lines[")?;
    let (index, tail) = rest.split_once(']')?;
    Some((index.parse().ok()?, tail))
}

/// The same error with its `field` member replaced.
fn with_field(e: &BookingError, field: String) -> BookingError {
    use BookingError as B;
    match e.clone() {
        B::DebitXorCredit { .. } => B::DebitXorCredit { field },
        B::NonPositiveAmount { .. } => B::NonPositiveAmount { field },
        B::AmountPrecision {
            currency, decimals, ..
        } => B::AmountPrecision {
            field,
            currency,
            decimals,
        },
        B::AmountTooLarge { .. } => B::AmountTooLarge { field },
        B::TooLong { max, .. } => B::TooLong { field, max },
        B::UnknownAccount {
            account, reason, ..
        } => B::UnknownAccount {
            field,
            account,
            reason,
        },
        B::UnknownTaxCode { code, reason, .. } => B::UnknownTaxCode {
            field,
            code,
            reason,
        },
        B::TaxCodeMisconfigured {
            code,
            account,
            reason,
            ..
        } => B::TaxCodeMisconfigured {
            field,
            code,
            account,
            reason,
        },
        other => other,
    }
}

impl InvoiceBookingError {
    /// Locates `e`, raised on the booking whose lines come from `origin` (see
    /// [`InvoiceBookingPlan::Book`]). Errors not about a booking line stay as they are.
    pub fn locate(e: BookingError, origin: &[Option<usize>], direction: Direction) -> Self {
        let field = e.field();
        let Some((index, tail)) = field.as_deref().and_then(booking_line) else {
            return InvoiceBookingError {
                located: e.clone(),
                booked: e,
                on_partner: false,
            };
        };
        let (located, on_partner) = match origin.get(index).copied() {
            Some(Some(line)) => (with_field(&e, format!("lines[{line}]{tail}")), false),
            _ => (with_field(&e, partner_field(direction).to_string()), true),
        };
        InvoiceBookingError {
            booked: e,
            located,
            on_partner,
        }
    }
}

impl Rule for InvoiceBookingError {
    fn code(&self) -> &'static str {
        self.located.code()
    }
    fn kind(&self) -> RuleKind {
        if self.on_partner {
            RuleKind::Invalid
        } else {
            Rule::kind(&self.located)
        }
    }
    fn field(&self) -> Option<String> {
        if !self.on_partner && self.located.is_conflict() {
            return None;
        }
        self.located.field()
    }
}

/// The checks of the request alone, before anything is loaded.
pub fn check_new_invoice(new: &NewInvoice, base: Currency) -> Result<(), CreateInvoiceError> {
    if let Some(c) = &new.currency {
        if c.trim().to_ascii_uppercase() != base.code() {
            return Err(CreateInvoiceError::UnsupportedCurrency {
                given: c.clone(),
                base: base.to_string(),
            });
        }
    }
    let number = invoice_number(new);
    if number.is_empty() || number.chars().count() > MAX_INVOICE_NUMBER {
        return Err(CreateInvoiceError::InvalidInvoiceNumber);
    }
    check_due_date(new.invoice_date, new.due_date)?;
    check_notes(clean(new.notes.as_deref()).as_deref())?;
    let terms = validate_cash_discount(new.cash_discount_percent, new.cash_discount_days)?;
    if terms.is_some() && new.invoice_type == InvoiceType::CreditNote {
        return Err(CreateInvoiceError::CashDiscountOnCreditNote);
    }
    for (line, l) in new.lines.iter().enumerate() {
        if l.description
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_LINE_DESCRIPTION)
        {
            return Err(CreateInvoiceError::DescriptionTooLong { line });
        }
    }
    Ok(())
}

/// A due date is not before the invoice date.
pub fn check_due_date(
    invoice_date: NaiveDate,
    due_date: Option<NaiveDate>,
) -> Result<(), CreateInvoiceError> {
    match due_date {
        Some(d) if d < invoice_date => Err(CreateInvoiceError::InvalidDueDate {
            due_date: d,
            invoice_date,
        }),
        _ => Ok(()),
    }
}

/// Notes have at most `MAX_NOTES` characters.
pub fn check_notes(notes: Option<&str>) -> Result<(), CreateInvoiceError> {
    match notes {
        Some(n) if n.chars().count() > MAX_NOTES => Err(CreateInvoiceError::NotesTooLong),
        _ => Ok(()),
    }
}

/// Decides a new invoice: checks the request against the context, resolves each line's tax
/// rate and account (the partner's default, then the chart's), computes the lines and totals,
/// and builds the invoice's booking — or checks the booking it links.
pub fn decide_invoice(
    new: &NewInvoice,
    ctx: &CreateContext<'_>,
) -> Result<DecidedInvoice, CreateInvoiceError> {
    check_new_invoice(new, ctx.base)?;
    let number = invoice_number(new);
    let partner = ctx.partner.ok_or(CreateInvoiceError::UnknownPartner {
        direction: new.direction,
        partner_id: new.partner_id,
    })?;
    if !partner.is_active {
        return Err(CreateInvoiceError::PartnerInactive {
            direction: new.direction,
            partner_id: new.partner_id,
        });
    }
    if let Some(doc) = new.document_id {
        if !ctx.document_exists {
            return Err(CreateInvoiceError::UnknownDocument(doc));
        }
    }
    if let Some(existing) = ctx.existing_number {
        return Err(CreateInvoiceError::DuplicateNumber {
            direction: new.direction,
            number,
            existing: Some(existing),
        });
    }
    let accounts = line_accounts(
        new,
        partner.default_account.as_deref(),
        ctx.chart_default_account,
    );
    let mut resolved = Vec::with_capacity(new.lines.len());
    let mut inputs = Vec::with_capacity(new.lines.len());
    for (i, (l, account)) in new.lines.iter().zip(accounts).enumerate() {
        let (rate, self_assessed) = match &l.tax_code {
            None => (Decimal::ZERO, false),
            Some(code) => match ctx.tax_codes.get(code) {
                Some(t) if t.is_active => (t.rate, t.self_assessed),
                found => {
                    return Err(CreateInvoiceError::UnknownTaxCode {
                        line: i,
                        code: code.clone(),
                        inactive: found.is_some(),
                    })
                }
            },
        };
        let account = account.ok_or(CreateInvoiceError::AccountRequired {
            line: i,
            direction: new.direction,
        })?;
        resolved.push(account);
        inputs.push(LineInput {
            quantity: l.quantity,
            unit_price: l.unit_price,
            rate,
            self_assessed,
            net: l.net,
            tax: l.tax,
            gross: l.gross,
        });
    }
    let computed =
        compute_invoice(ctx.base, &inputs, &new.totals).map_err(CreateInvoiceError::Lines)?;
    for (line, a) in resolved.iter().enumerate() {
        match ctx.accounts.get(a) {
            Some(true) => {}
            found => {
                return Err(CreateInvoiceError::UnknownAccount {
                    line,
                    account: a.clone(),
                    inactive: found.is_some(),
                })
            }
        }
    }
    let totals = computed.totals;
    let lines: Vec<InvoiceLine> = new
        .lines
        .iter()
        .zip(&inputs)
        .zip(&computed.lines)
        .zip(resolved)
        .enumerate()
        .map(|(i, (((l, input), amounts), account))| InvoiceLine {
            line_no: i as i32 + 1,
            description: clean(l.description.as_deref()).unwrap_or_default(),
            quantity: l.quantity,
            unit_price: l.unit_price,
            tax_code: l.tax_code.clone(),
            tax_rate: input.rate,
            self_assessed: input.self_assessed,
            account,
            net: amounts.net,
            tax: amounts.tax,
            gross: amounts.gross,
        })
        .collect();
    let booking = match new.intent_id {
        Some(intent_id) => {
            check_link(
                intent_id,
                ctx.linked,
                &LinkExpectation {
                    direction: new.direction,
                    invoice_type: new.invoice_type,
                    partner_account: &partner.account_number,
                    gross: totals.gross,
                    tax: totals.tax,
                    currency: ctx.base,
                },
            )?;
            InvoiceBookingPlan::Link(intent_id)
        }
        None => {
            let booked: Vec<BookedLine> = new
                .lines
                .iter()
                .zip(&lines)
                .map(|(l, line)| BookedLine {
                    account: line.account.clone(),
                    tax_code: line.tax_code.clone(),
                    description: clean(l.description.as_deref()),
                    net: line.net,
                })
                .collect();
            let (mut cmd, origin) = invoice_booking(&InvoiceBooking {
                direction: new.direction,
                invoice_type: new.invoice_type,
                invoice_number: &number,
                partner_name: &partner.name,
                partner_account: &partner.account_number,
                invoice_date: new.invoice_date,
                gross: totals.gross,
                lines: &booked,
            });
            cmd.document_id = new.document_id;
            cmd.custom_metadata = Some(invoice_metadata(ctx.invoice_id, None));
            InvoiceBookingPlan::Book { cmd, origin }
        }
    };
    Ok(DecidedInvoice {
        id: ctx.invoice_id,
        direction: new.direction,
        invoice_type: new.invoice_type,
        partner_id: new.partner_id,
        partner_name: partner.name.clone(),
        partner_account: partner.account_number.clone(),
        invoice_number: number,
        invoice_date: new.invoice_date,
        due_date: new.due_date,
        currency: ctx.base,
        totals,
        document_id: new.document_id,
        notes: clean(new.notes.as_deref()),
        lines,
        booking,
        cash_discount: validate_cash_discount(new.cash_discount_percent, new.cash_discount_days)?,
    })
}
