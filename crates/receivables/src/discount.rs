//! Cash discount (Skonto): its terms on an invoice, the amount and deadline, the split of a
//! discount taken over the invoice's VAT rates with the tax correction (§ 17 UStG), the chart
//! role of each rate's discount account, and the booking of a payment that takes a discount.
//!
//! A discount reduces the consideration, so the VAT on it is corrected too: a 2 % discount on
//! an invoice of 100 net + 19 VAT (119 gross) takes 2.38 gross, of which 2.00 reduces the
//! revenue (or the expense) and 0.38 the output (or input) VAT. An invoice with several rates
//! has its discount split in proportion to the gross of each rate; the booking carries each
//! part's net on the rate's discount account with the tax code, and the journal adds the VAT
//! lines as it does for any booking.

use crate::booking::{invoice_metadata, partner_side, SettlementKind};
use crate::change::{check_settlement_amount, DecidedSettlement, LockedInvoice, SettlementError};
use crate::invoice::{split_gross, Direction, InvoiceType};
use chrono::{Days, NaiveDate};
use journal::event::Side;
use journal::{BookingCommand, BookingLineInput, Currency};
use rust_decimal::Decimal;
use uuid::Uuid;

/// The cash-discount terms of an invoice: `percent` off when paid within `days` of its date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CashDiscountTerms {
    pub percent: Decimal,
    pub days: u32,
}

/// Why cash-discount terms are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CashDiscountError {
    #[error("cash_discount_percent must be above 0 and below 100, with at most 4 decimal places")]
    Percent,
    #[error("cash_discount_days must be between 1 and 366")]
    Days,
    #[error("cash_discount_percent and cash_discount_days come together")]
    Incomplete,
}

impl journal::Rule for CashDiscountError {
    fn code(&self) -> &'static str {
        "invalid_cash_discount"
    }
    fn kind(&self) -> journal::RuleKind {
        journal::RuleKind::Invalid
    }
    fn field(&self) -> Option<String> {
        Some(
            match self {
                CashDiscountError::Percent | CashDiscountError::Incomplete => {
                    "cash_discount_percent"
                }
                CashDiscountError::Days => "cash_discount_days",
            }
            .to_string(),
        )
    }
}

/// Checks cash-discount terms as a request gives them (both or neither).
pub fn validate_cash_discount(
    percent: Option<Decimal>,
    days: Option<i64>,
) -> Result<Option<CashDiscountTerms>, CashDiscountError> {
    match (percent, days) {
        (None, None) => Ok(None),
        (Some(p), Some(d)) => {
            if p <= Decimal::ZERO || p >= Decimal::ONE_HUNDRED || p.normalize().scale() > 4 {
                return Err(CashDiscountError::Percent);
            }
            if !(1..=366).contains(&d) {
                return Err(CashDiscountError::Days);
            }
            Ok(Some(CashDiscountTerms {
                percent: p.normalize(),
                days: d as u32,
            }))
        }
        _ => Err(CashDiscountError::Incomplete),
    }
}

/// The discount an invoice offers on its open amount and the last day it may be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfferedDiscount {
    pub amount: Decimal,
    pub deadline: NaiveDate,
}

/// The discount of `open_amount` under `terms` for an invoice dated `invoice_date`: the
/// percent of the open amount, rounded to the currency's minor unit.
pub fn offered_discount(
    currency: Currency,
    open_amount: Decimal,
    invoice_date: NaiveDate,
    terms: &CashDiscountTerms,
) -> OfferedDiscount {
    let amount = currency.round(open_amount * terms.percent / Decimal::ONE_HUNDRED);
    let deadline = invoice_date
        .checked_add_days(Days::new(u64::from(terms.days)))
        .unwrap_or(NaiveDate::MAX);
    OfferedDiscount { amount, deadline }
}

/// One VAT rate's part of an invoice: the base a discount is split by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateShare {
    /// The tax code of the invoice's lines at this rate (`None`: lines without tax).
    pub tax_code: Option<String>,
    pub rate: Decimal,
    /// The gross of the invoice's lines at this rate (positive).
    pub gross: Decimal,
}

/// One part of a discount: its gross and how it splits into net and tax at its rate. `rest`
/// is what no net can reach at the rate (0 or a cent; see [`split_gross`]) and is booked
/// without tax, so that net + tax + rest = gross exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscountPart {
    pub tax_code: Option<String>,
    pub rate: Decimal,
    pub gross: Decimal,
    pub net: Decimal,
    pub tax: Decimal,
    pub rest: Decimal,
}

/// Splits a discount (gross, positive) over the invoice's rates in proportion to each rate's
/// gross, each part rounded to the currency's minor unit; the largest share takes the rounding
/// remainder, so the parts add up to the discount exactly. Shares with the same tax code and
/// rate are merged first; shares of zero or negative gross are left out. No shares (or a
/// zero discount): no parts.
pub fn split_discount(
    currency: Currency,
    discount: Decimal,
    shares: &[RateShare],
) -> Vec<DiscountPart> {
    let mut merged: Vec<RateShare> = Vec::new();
    for s in shares.iter().filter(|s| s.gross > Decimal::ZERO) {
        match merged
            .iter_mut()
            .find(|m| m.tax_code == s.tax_code && m.rate == s.rate)
        {
            Some(m) => m.gross += s.gross,
            None => merged.push(s.clone()),
        }
    }
    let total: Decimal = merged.iter().map(|s| s.gross).sum();
    if merged.is_empty() || discount.is_zero() || total.is_zero() {
        return Vec::new();
    }
    let mut grosses: Vec<Decimal> = merged
        .iter()
        .map(|s| currency.round(discount * s.gross / total))
        .collect();
    let remainder = discount - grosses.iter().copied().sum::<Decimal>();
    let largest = merged
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.gross.cmp(&b.1.gross).then(b.0.cmp(&a.0)))
        .map(|(i, _)| i)
        .unwrap_or(0);
    grosses[largest] += remainder;
    merged
        .into_iter()
        .zip(grosses)
        .filter(|(_, gross)| !gross.is_zero())
        .map(|(share, gross)| {
            let (net, tax, rest) = if share.tax_code.is_some() && !share.rate.is_zero() {
                split_gross(currency, gross, share.rate)
            } else {
                (gross, Decimal::ZERO, Decimal::ZERO)
            };
            DiscountPart {
                tax_code: share.tax_code,
                rate: share.rate,
                gross,
                net,
                tax,
                rest,
            }
        })
        .collect()
}

/// The chart role of the discount account for an invoice's side and VAT rate: discounts we
/// grant (outgoing invoices) and discounts we receive (incoming invoices), at 19 % and 7 %.
/// `None` for other rates: the request has to name the account then.
pub fn discount_role(direction: Direction, rate: Decimal) -> Option<&'static str> {
    let rate = rate.normalize();
    match direction {
        Direction::Outgoing if rate == Decimal::from(19) => Some("discount_granted_19"),
        Direction::Outgoing if rate == Decimal::from(7) => Some("discount_granted_7"),
        Direction::Incoming if rate == Decimal::from(19) => Some("discount_received_19"),
        Direction::Incoming if rate == Decimal::from(7) => Some("discount_received_7"),
        _ => None,
    }
}

/// A discount part with the account it is booked to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookedDiscount {
    pub part: DiscountPart,
    pub account: String,
}

/// What a payment that takes a discount is made of.
#[derive(Debug, Clone)]
pub struct DiscountedPayment<'a> {
    pub direction: Direction,
    pub invoice_type: InvoiceType,
    pub invoice_number: &'a str,
    pub partner_account: &'a str,
    /// The bank, cash or clearing account the money moved on.
    pub counter_account: &'a str,
    pub date: NaiveDate,
    /// The money paid (positive).
    pub amount: Decimal,
    pub discounts: &'a [BookedDiscount],
    pub currency: Currency,
}

/// The booking of a payment with its discount: the partner's account for payment + discount
/// on the side opposite to its invoice, the money on the counter account, and each discount
/// part's net (with its tax code; the journal adds the VAT correction) and rest on its
/// discount account, on the invoice's side.
pub fn discounted_payment_booking(p: &DiscountedPayment<'_>) -> BookingCommand {
    let invoice_side = partner_side(p.direction, p.invoice_type);
    let discount_total: Decimal = p.discounts.iter().map(|d| d.part.gross).sum();
    let mut lines = vec![
        line(
            p.partner_account,
            invoice_side.opposite(),
            p.amount + discount_total,
            None,
        ),
        line(p.counter_account, invoice_side, p.amount, None),
    ];
    for d in p.discounts {
        if d.part.net > Decimal::ZERO {
            lines.push(line(
                &d.account,
                invoice_side,
                d.part.net,
                d.part.tax_code.clone(),
            ));
        }
        if d.part.rest > Decimal::ZERO {
            lines.push(line(&d.account, invoice_side, d.part.rest, None));
        }
    }
    let what = match (p.direction, p.invoice_type) {
        (Direction::Outgoing, InvoiceType::Invoice) => "outgoing invoice",
        (Direction::Outgoing, InvoiceType::CreditNote) => "outgoing credit note",
        (Direction::Incoming, InvoiceType::Invoice) => "incoming invoice",
        (Direction::Incoming, InvoiceType::CreditNote) => "incoming credit note",
    };
    BookingCommand {
        booking_date: p.date,
        description: format!("Payment with cash discount {what} {}", p.invoice_number)
            .chars()
            .take(journal::booking::MAX_DESCRIPTION)
            .collect(),
        lines,
        skip_duplicate_check: true,
        adjustment_period: false,
        fx: None,
        external_reference: Some(
            p.invoice_number
                .chars()
                .take(journal::booking::MAX_EXTERNAL_REFERENCE)
                .collect(),
        ),
        custom_metadata: None,
        document_id: None,
    }
}

fn line(account: &str, side: Side, amount: Decimal, tax_code: Option<String>) -> BookingLineInput {
    let (debit, credit) = match side {
        Side::Debit => (Some(amount), None),
        Side::Credit => (None, Some(amount)),
    };
    BookingLineInput {
        account: account.to_string(),
        debit,
        credit,
        tax_code,
        description: None,
        cost_center: None,
    }
}

/// One line of an invoice as a discount split needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceRateLine {
    pub tax_code: Option<String>,
    pub rate: Decimal,
    /// Reverse charge / intra-EU acquisition: no tax on the invoice, the journal self-assesses
    /// it from the tax code, so the discount part keeps the code and has no tax of its own.
    pub self_assessed: bool,
    pub gross: Decimal,
}

/// A payment that takes a cash discount, as requested.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscountedPaymentRequest {
    /// The money paid (> 0).
    pub amount: Decimal,
    /// The discount taken (gross, > 0).
    pub discount: Decimal,
    pub date: NaiveDate,
    /// Bank, cash or clearing account; the chart's bank account when None.
    pub account: Option<String>,
    /// Books every part of the discount on this account instead of the chart's discount
    /// account of its rate.
    pub discount_account: Option<String>,
}

/// What [`decide_discounted_payment`] needs, loaded beforehand.
#[derive(Debug, Clone)]
pub struct DiscountContext<'a> {
    pub payment_id: Uuid,
    pub discount_id: Uuid,
    pub base: Currency,
    pub invoice: Option<&'a LockedInvoice>,
    pub invoice_id: Uuid,
    /// The chart's `bank` account.
    pub bank: Option<&'a str>,
    /// The invoice's lines.
    pub lines: &'a [InvoiceRateLine],
    /// The chart's role accounts (`discount_granted_19`, …) by role.
    pub discount_roles: &'a [(&'a str, &'a str)],
}

/// Splits a discount (gross) of an invoice with `lines` over its VAT rates
/// ([`split_discount`]; self-assessed lines keep their code, so the self-assessment is
/// corrected too; an invoice without lines to split by gets the whole discount without tax)
/// and puts each part on its account: `account` for every part when given, else the chart's
/// discount account of the side and the code's real rate (`roles`, see [`discount_role`]),
/// else `fallback`, else `NoDiscountAccount` naming the rate.
pub fn book_discount(
    direction: Direction,
    currency: Currency,
    discount: Decimal,
    lines: &[InvoiceRateLine],
    roles: &[(&str, &str)],
    account: Option<&str>,
    fallback: Option<&str>,
) -> Result<Vec<BookedDiscount>, SettlementError> {
    let shares: Vec<RateShare> = lines
        .iter()
        .map(|l| RateShare {
            tax_code: l.tax_code.clone(),
            rate: if l.self_assessed {
                Decimal::ZERO
            } else {
                l.rate
            },
            gross: l.gross,
        })
        .collect();
    let mut parts = split_discount(currency, discount, &shares);
    if parts.is_empty() {
        // An invoice without positive lines (only possible for linked bookings): the whole
        // discount without tax.
        parts.push(DiscountPart {
            tax_code: None,
            rate: Decimal::ZERO,
            gross: discount,
            net: discount,
            tax: Decimal::ZERO,
            rest: Decimal::ZERO,
        });
    }
    let mut booked = Vec::with_capacity(parts.len());
    for part in parts {
        // The role follows the code's real rate, also for self-assessed lines.
        let rate = lines
            .iter()
            .find(|l| l.tax_code == part.tax_code)
            .map(|l| l.rate)
            .unwrap_or(part.rate);
        let account = match account {
            Some(a) => a.trim().to_string(),
            None => discount_role(direction, rate)
                .and_then(|role| roles.iter().find(|(name, _)| *name == role))
                .map(|(_, number)| *number)
                .or(fallback)
                .map(str::to_string)
                .ok_or_else(|| SettlementError::NoDiscountAccount {
                    rate: rate.normalize().to_string(),
                })?,
        };
        booked.push(BookedDiscount { part, account });
    }
    Ok(booked)
}

/// A decided payment with discount: one booking, two applications (the payment and the
/// discount) with the same booking.
#[derive(Debug, Clone, PartialEq)]
pub struct DecidedDiscountedPayment {
    pub payment: DecidedSettlement,
    pub discount: DecidedSettlement,
    pub parts: Vec<BookedDiscount>,
    pub cmd: BookingCommand,
}

/// Decides a payment that takes a cash discount: the invoice is open and not a credit note;
/// amount and discount are positive, in the currency's minor units, and together at most what
/// is open. The discount is split over the invoice's VAT rates ([`split_discount`]) and each
/// part booked on its rate's discount account (or `discount_account`) with the tax correction.
/// The deadline of the invoice's terms is not enforced here: a late discount the partner
/// accepts is still a discount; payment runs and suggestions offer it only within it.
pub fn decide_discounted_payment(
    r: &DiscountedPaymentRequest,
    ctx: &DiscountContext<'_>,
) -> Result<DecidedDiscountedPayment, SettlementError> {
    let base = ctx.base;
    check_settlement_amount(r.amount, base)?;
    if r.discount <= Decimal::ZERO || !base.fits(r.discount) {
        return Err(SettlementError::InvalidDiscount);
    }
    let invoice = ctx
        .invoice
        .ok_or(SettlementError::UnknownInvoice(ctx.invoice_id))?;
    if invoice.state.cancelled {
        return Err(SettlementError::Cancelled(invoice.id));
    }
    if invoice.invoice_type == InvoiceType::CreditNote {
        return Err(SettlementError::DiscountOnCreditNote);
    }
    let (amount, discount) = (base.round(r.amount), base.round(r.discount));
    let remaining = invoice.state.remaining();
    let total = amount
        .checked_add(discount)
        .ok_or(SettlementError::InvalidDiscount)?;
    if total > remaining {
        return Err(SettlementError::Overpayment {
            amount: base.format(total),
            invoice_number: invoice.invoice_number.clone(),
            remaining: base.format(remaining),
        });
    }
    let counter = match &r.account {
        Some(a) => a.trim().to_string(),
        None => ctx.bank.ok_or(SettlementError::NoBankAccount)?.to_string(),
    };
    let booked = book_discount(
        invoice.direction,
        base,
        discount,
        ctx.lines,
        ctx.discount_roles,
        r.discount_account.as_deref(),
        None,
    )?;
    let mut cmd = discounted_payment_booking(&DiscountedPayment {
        direction: invoice.direction,
        invoice_type: invoice.invoice_type,
        invoice_number: &invoice.invoice_number,
        partner_account: &invoice.partner_account,
        counter_account: &counter,
        date: r.date,
        amount,
        discounts: &booked,
        currency: base,
    });
    let mut metadata =
        invoice_metadata(invoice.id, Some((SettlementKind::Payment, ctx.payment_id)));
    metadata.insert(
        "discount_application_id".into(),
        serde_json::Value::String(ctx.discount_id.to_string()),
    );
    cmd.custom_metadata = Some(metadata);
    let largest = booked
        .iter()
        .max_by(|a, b| a.part.gross.cmp(&b.part.gross))
        .map(|b| b.account.clone())
        .unwrap_or_default();
    let settlement = |id, kind, amount, counter_account| DecidedSettlement {
        application_id: id,
        invoice_id: invoice.id,
        kind,
        amount,
        date: r.date,
        counter_account,
        cmd: cmd.clone(),
    };
    Ok(DecidedDiscountedPayment {
        payment: settlement(ctx.payment_id, SettlementKind::Payment, amount, counter),
        discount: settlement(ctx.discount_id, SettlementKind::Discount, discount, largest),
        parts: booked,
        cmd: cmd.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }
    fn share(code: Option<&str>, rate: &str, gross: &str) -> RateShare {
        RateShare {
            tax_code: code.map(str::to_string),
            rate: d(rate),
            gross: d(gross),
        }
    }

    #[test]
    fn one_rate_splits_into_net_and_tax() {
        let parts = split_discount(
            Currency::EUR,
            d("2.38"),
            &[share(Some("USt19"), "19", "119")],
        );
        assert_eq!(parts.len(), 1);
        assert_eq!(
            (parts[0].net, parts[0].tax, parts[0].rest),
            (d("2.00"), d("0.38"), d("0"))
        );
    }

    #[test]
    fn two_rates_split_in_proportion_and_add_up() {
        // 100 net at 19 % (119) and 100 net at 7 % (107): 2 % of 226 = 4.52.
        let parts = split_discount(
            Currency::EUR,
            d("4.52"),
            &[
                share(Some("USt19"), "19", "119"),
                share(Some("USt7"), "7", "107"),
            ],
        );
        assert_eq!(parts[0].gross, d("2.38"));
        assert_eq!(parts[1].gross, d("2.14"));
        assert_eq!((parts[0].net, parts[0].tax), (d("2.00"), d("0.38")));
        assert_eq!((parts[1].net, parts[1].tax), (d("2.00"), d("0.14")));
    }

    #[test]
    fn shares_of_one_code_merge_and_untaxed_parts_have_no_tax() {
        let parts = split_discount(
            Currency::EUR,
            d("3"),
            &[
                share(None, "0", "50"),
                share(None, "0", "100"),
                share(None, "0", "0"),
            ],
        );
        assert_eq!(parts.len(), 1);
        assert_eq!(
            (parts[0].gross, parts[0].net, parts[0].tax),
            (d("3"), d("3"), d("0"))
        );
        assert!(split_discount(Currency::EUR, d("0"), &[share(None, "0", "1")]).is_empty());
        assert!(split_discount(Currency::EUR, d("1"), &[]).is_empty());
    }

    #[test]
    fn terms_are_validated() {
        assert_eq!(validate_cash_discount(None, None), Ok(None));
        assert_eq!(
            validate_cash_discount(Some(d("2")), Some(10)),
            Ok(Some(CashDiscountTerms {
                percent: d("2"),
                days: 10
            }))
        );
        assert_eq!(
            validate_cash_discount(Some(d("2")), None),
            Err(CashDiscountError::Incomplete)
        );
        assert_eq!(
            validate_cash_discount(Some(d("0")), Some(10)),
            Err(CashDiscountError::Percent)
        );
        assert_eq!(
            validate_cash_discount(Some(d("100")), Some(10)),
            Err(CashDiscountError::Percent)
        );
        assert_eq!(
            validate_cash_discount(Some(d("1.00001")), Some(1)),
            Err(CashDiscountError::Percent)
        );
        assert_eq!(
            validate_cash_discount(Some(d("3")), Some(0)),
            Err(CashDiscountError::Days)
        );
        assert_eq!(
            validate_cash_discount(Some(d("3")), Some(367)),
            Err(CashDiscountError::Days)
        );
    }

    #[test]
    fn offered_discount_rounds_and_dates() {
        let terms = CashDiscountTerms {
            percent: d("2"),
            days: 14,
        };
        let date = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let o = offered_discount(Currency::EUR, d("1190.55"), date, &terms);
        assert_eq!(o.amount, d("23.81"));
        assert_eq!(o.deadline, NaiveDate::from_ymd_opt(2026, 3, 15).unwrap());
    }

    #[test]
    fn roles_per_side_and_rate() {
        assert_eq!(
            discount_role(Direction::Outgoing, d("19.00")),
            Some("discount_granted_19")
        );
        assert_eq!(
            discount_role(Direction::Incoming, d("7")),
            Some("discount_received_7")
        );
        assert_eq!(discount_role(Direction::Incoming, d("0")), None);
    }

    #[test]
    fn discounted_payment_balances() {
        let parts = split_discount(
            Currency::EUR,
            d("2.38"),
            &[share(Some("USt19"), "19", "119")],
        );
        let discounts: Vec<BookedDiscount> = parts
            .into_iter()
            .map(|part| BookedDiscount {
                part,
                account: "8736".into(),
            })
            .collect();
        let cmd = discounted_payment_booking(&DiscountedPayment {
            direction: Direction::Outgoing,
            invoice_type: InvoiceType::Invoice,
            invoice_number: "RE-1",
            partner_account: "10000",
            counter_account: "1200",
            date: NaiveDate::from_ymd_opt(2026, 3, 5).unwrap(),
            amount: d("116.62"),
            discounts: &discounts,
            currency: Currency::EUR,
        });
        // Debtor credited with 119, bank debited 116.62, 8736 debited 2.00 net with USt19
        // (the journal adds 0.38 on the VAT account).
        assert_eq!(cmd.lines[0].credit, Some(d("119.00")));
        assert_eq!(cmd.lines[1].debit, Some(d("116.62")));
        assert_eq!(cmd.lines[2].debit, Some(d("2.00")));
        assert_eq!(cmd.lines[2].tax_code.as_deref(), Some("USt19"));
    }

    proptest! {
        #[test]
        fn parts_add_up_to_the_discount(
            cents in 1i64..10_000_000,
            grosses in proptest::collection::vec((1i64..100_000_000, 0usize..3), 1..5),
        ) {
            let discount = Decimal::new(cents, 2);
            let rates = ["19", "7", "0"];
            let codes = [Some("USt19"), Some("USt7"), None];
            let shares: Vec<RateShare> = grosses
                .iter()
                .map(|(g, r)| share(codes[*r], rates[*r], &Decimal::new(*g, 2).to_string()))
                .collect();
            let parts = split_discount(Currency::EUR, discount, &shares);
            let sum: Decimal = parts.iter().map(|p| p.gross).sum();
            prop_assert_eq!(sum, discount);
            for p in &parts {
                prop_assert_eq!(p.net + p.tax + p.rest, p.gross);
                prop_assert!(p.rest >= Decimal::ZERO && p.rest <= d("0.01"));
            }
        }
    }
}
