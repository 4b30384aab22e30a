//! The journal bookings of invoices, payments and write-offs.
//!
//! Outgoing invoice: debtor debit gross / revenue credit net per line with its tax code (the
//! journal adds the VAT lines). Incoming invoice: expense debit net per line with its input-VAT
//! code / creditor credit gross. A credit note is the mirror image. A payment or write-off
//! takes the partner line's opposite side: a customer's payment credits the debtor account.

use crate::invoice::{split_gross, Direction, InvoiceError, InvoiceType};
use chrono::NaiveDate;
use journal::event::Side;
use journal::{BookingCommand, BookingLineInput, Currency};
use rust_decimal::Decimal;

/// The side the partner's personal account takes in the invoice's booking.
pub fn partner_side(direction: Direction, invoice_type: InvoiceType) -> Side {
    match (direction, invoice_type) {
        (Direction::Outgoing, InvoiceType::Invoice)
        | (Direction::Incoming, InvoiceType::CreditNote) => Side::Debit,
        (Direction::Outgoing, InvoiceType::CreditNote)
        | (Direction::Incoming, InvoiceType::Invoice) => Side::Credit,
    }
}

/// One invoice line as booked: its account, tax code and net (negative for a discount).
#[derive(Debug, Clone, PartialEq)]
pub struct BookedLine {
    pub account: String,
    pub tax_code: Option<String>,
    pub description: Option<String>,
    pub net: Decimal,
}

/// What an invoice booking is made of.
#[derive(Debug, Clone)]
pub struct InvoiceBooking<'a> {
    pub direction: Direction,
    pub invoice_type: InvoiceType,
    pub invoice_number: &'a str,
    pub partner_name: &'a str,
    pub partner_account: &'a str,
    pub invoice_date: NaiveDate,
    pub gross: Decimal,
    pub lines: &'a [BookedLine],
}

fn line(
    account: &str,
    side: Side,
    amount: Decimal,
    tax_code: Option<String>,
    description: Option<String>,
) -> BookingLineInput {
    let (debit, credit) = match side {
        Side::Debit => (Some(amount), None),
        Side::Credit => (None, Some(amount)),
    };
    BookingLineInput {
        account: account.to_string(),
        debit,
        credit,
        tax_code,
        description,
        cost_center: None,
    }
}

fn description(parts: &[&str]) -> String {
    let text = parts
        .iter()
        .filter(|p| !p.trim().is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    text.chars()
        .take(journal::booking::MAX_DESCRIPTION)
        .collect()
}

fn label(direction: Direction, invoice_type: InvoiceType) -> &'static str {
    match (direction, invoice_type) {
        (Direction::Outgoing, InvoiceType::Invoice) => "Invoice",
        (Direction::Outgoing, InvoiceType::CreditNote) => "Credit note",
        (Direction::Incoming, InvoiceType::Invoice) => "Vendor invoice",
        (Direction::Incoming, InvoiceType::CreditNote) => "Vendor credit note",
    }
}

/// The booking of an invoice, and for each booking line the index of the invoice line it
/// comes from (None for the partner line). Lines with a net of zero are not booked.
/// `external_reference` is the invoice number; the duplicate check is left to the invoice
/// number's own uniqueness (a vendor's number may equal one of ours).
pub fn invoice_booking(b: &InvoiceBooking<'_>) -> (BookingCommand, Vec<Option<usize>>) {
    let partner = partner_side(b.direction, b.invoice_type);
    let mut lines = Vec::with_capacity(b.lines.len() + 1);
    let mut origin = Vec::with_capacity(b.lines.len() + 1);
    for (i, l) in b.lines.iter().enumerate() {
        if l.net.is_zero() {
            continue;
        }
        let side = if l.net > Decimal::ZERO {
            partner.opposite()
        } else {
            partner
        };
        lines.push(line(
            &l.account,
            side,
            l.net.abs(),
            l.tax_code.clone(),
            l.description.clone(),
        ));
        origin.push(Some(i));
    }
    lines.push(line(b.partner_account, partner, b.gross, None, None));
    origin.push(None);
    let cmd = BookingCommand {
        booking_date: b.invoice_date,
        description: description(&[
            label(b.direction, b.invoice_type),
            b.invoice_number,
            b.partner_name,
        ]),
        lines,
        skip_duplicate_check: true,
        adjustment_period: false,
        fx: None,
        external_reference: Some(
            b.invoice_number
                .chars()
                .take(journal::booking::MAX_EXTERNAL_REFERENCE)
                .collect(),
        ),
        custom_metadata: None,
        document_id: None,
    };
    (cmd, origin)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettlementKind {
    Payment,
    WriteOff,
    /// A cash discount (Skonto) taken with a payment: booked with it, applied beside it.
    Discount,
}

impl SettlementKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            SettlementKind::Payment => "payment",
            SettlementKind::WriteOff => "write_off",
            SettlementKind::Discount => "discount",
        }
    }

    pub fn parse(s: &str) -> Option<SettlementKind> {
        match s {
            "payment" => Some(SettlementKind::Payment),
            "write_off" => Some(SettlementKind::WriteOff),
            "discount" => Some(SettlementKind::Discount),
            _ => None,
        }
    }
}

/// The journal's link back to the invoice, and to the payment or write-off a booking records
/// (custom_metadata holds strings only).
pub fn invoice_metadata(
    invoice_id: uuid::Uuid,
    application: Option<(SettlementKind, uuid::Uuid)>,
) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::Value;
    let mut m = serde_json::Map::new();
    m.insert("invoice_id".into(), Value::String(invoice_id.to_string()));
    if let Some((kind, id)) = application {
        m.insert(
            "application".into(),
            Value::String(kind.as_str().to_string()),
        );
        m.insert("application_id".into(), Value::String(id.to_string()));
    }
    m
}

/// A payment or write-off of (part of) an open item.
#[derive(Debug, Clone)]
pub struct SettlementBooking<'a> {
    pub kind: SettlementKind,
    pub direction: Direction,
    pub invoice_type: InvoiceType,
    pub invoice_number: &'a str,
    pub partner_account: &'a str,
    /// Bank or cash for a payment; the loss (or, for a payable, income) account for a write-off.
    pub counter_account: &'a str,
    pub date: NaiveDate,
    pub amount: Decimal,
    /// A write-off's VAT correction (§ 17 UStG): the code and its rate. The gross amount is
    /// split so that net + tax (+ an unreachable cent without tax) = amount.
    pub tax: Option<(&'a str, Decimal)>,
    pub currency: Currency,
}

pub fn settlement_booking(s: &SettlementBooking<'_>) -> BookingCommand {
    let invoice_side = partner_side(s.direction, s.invoice_type);
    let mut lines = vec![line(
        s.partner_account,
        invoice_side.opposite(),
        s.amount,
        None,
        None,
    )];
    match s.tax {
        Some((code, rate)) => {
            let (net, _tax, rest) = split_gross(s.currency, s.amount, rate);
            if net > Decimal::ZERO {
                lines.push(line(
                    s.counter_account,
                    invoice_side,
                    net,
                    Some(code.to_string()),
                    None,
                ));
            }
            if rest > Decimal::ZERO {
                lines.push(line(s.counter_account, invoice_side, rest, None, None));
            }
        }
        None => lines.push(line(s.counter_account, invoice_side, s.amount, None, None)),
    }
    let what = match s.kind {
        SettlementKind::Payment => "Payment",
        SettlementKind::WriteOff => "Write-off",
        SettlementKind::Discount => "Cash discount",
    };
    BookingCommand {
        booking_date: s.date,
        description: description(&[what, label(s.direction, s.invoice_type), s.invoice_number]),
        lines,
        skip_duplicate_check: true,
        adjustment_period: false,
        fx: None,
        external_reference: Some(
            s.invoice_number
                .chars()
                .take(journal::booking::MAX_EXTERNAL_REFERENCE)
                .collect(),
        ),
        custom_metadata: None,
        document_id: None,
    }
}

/// A line of an existing booking, as far as linking it to an invoice needs.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkedLine {
    pub account: String,
    /// `tax` or `self_assessment` for lines the journal generated; None otherwise.
    pub generated: Option<String>,
    pub debit: Decimal,
    pub credit: Decimal,
}

/// Checks that an existing booking carries the invoice: the partner's personal account moves
/// by the gross on the partner side, and the VAT lines (self-assessed pairs cancel out) by the
/// tax on the other side.
pub fn check_linked_booking(
    direction: Direction,
    invoice_type: InvoiceType,
    partner_account: &str,
    gross: Decimal,
    tax: Decimal,
    lines: &[LinkedLine],
    currency: Currency,
) -> Result<(), InvoiceError> {
    let sign = match partner_side(direction, invoice_type) {
        Side::Debit => Decimal::ONE,
        Side::Credit => Decimal::NEGATIVE_ONE,
    };
    let on_partner: Decimal = lines
        .iter()
        .filter(|l| l.account == partner_account)
        .map(|l| l.debit - l.credit)
        .sum();
    let on_tax: Decimal = lines
        .iter()
        .filter(|l| matches!(l.generated.as_deref(), Some("tax" | "self_assessment")))
        .map(|l| l.debit - l.credit)
        .sum();
    if on_partner != sign * gross {
        return Err(InvoiceError::IntentMismatch(format!(
            "the booking moves the personal account {partner_account} by {} (debit-positive), the invoice needs {}",
            currency.format(on_partner),
            currency.format(sign * gross)
        )));
    }
    if on_tax != -sign * tax {
        return Err(InvoiceError::IntentMismatch(format!(
            "the booking's VAT lines come to {} (debit-positive), the invoice's total_tax needs {}",
            currency.format(on_tax),
            currency.format(-sign * tax)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn date() -> NaiveDate {
        "2026-03-14".parse().unwrap()
    }

    fn sides(cmd: &BookingCommand) -> Vec<(String, &'static str, Decimal)> {
        cmd.lines
            .iter()
            .map(|l| match (l.debit, l.credit) {
                (Some(a), None) => (l.account.clone(), "debit", a),
                (None, Some(a)) => (l.account.clone(), "credit", a),
                _ => panic!("one side"),
            })
            .collect()
    }

    #[test]
    fn invoices_and_credit_notes_mirror_each_other() {
        let lines = [
            BookedLine {
                account: "8400".into(),
                tax_code: Some("USt19".into()),
                description: None,
                net: d("100.00"),
            },
            BookedLine {
                account: "8400".into(),
                tax_code: None,
                description: None,
                net: d("0.00"),
            },
            BookedLine {
                account: "8400".into(),
                tax_code: Some("USt19".into()),
                description: None,
                net: d("-10.00"),
            },
        ];
        let b = InvoiceBooking {
            direction: Direction::Outgoing,
            invoice_type: InvoiceType::Invoice,
            invoice_number: "2026-0042",
            partner_name: "Acme",
            partner_account: "10000",
            invoice_date: date(),
            gross: d("107.10"),
            lines: &lines,
        };
        let (cmd, origin) = invoice_booking(&b);
        assert_eq!(origin, vec![Some(0), Some(2), None]);
        assert_eq!(
            sides(&cmd),
            vec![
                ("8400".into(), "credit", d("100.00")),
                ("8400".into(), "debit", d("10.00")),
                ("10000".into(), "debit", d("107.10"))
            ]
        );
        assert_eq!(cmd.description, "Invoice 2026-0042 Acme");
        assert_eq!(cmd.external_reference.as_deref(), Some("2026-0042"));
        let (cn, _) = invoice_booking(&InvoiceBooking {
            invoice_type: InvoiceType::CreditNote,
            ..b.clone()
        });
        assert_eq!(sides(&cn)[0].1, "debit");
        assert_eq!(sides(&cn)[2], ("10000".into(), "credit", d("107.10")));
        let (inc, _) = invoice_booking(&InvoiceBooking {
            direction: Direction::Incoming,
            partner_account: "70000",
            ..b
        });
        assert_eq!(sides(&inc)[0].1, "debit");
        assert_eq!(sides(&inc)[2], ("70000".into(), "credit", d("107.10")));
    }

    #[test]
    fn settlements_take_the_opposite_side() {
        let s = SettlementBooking {
            kind: SettlementKind::Payment,
            direction: Direction::Outgoing,
            invoice_type: InvoiceType::Invoice,
            invoice_number: "1",
            partner_account: "10000",
            counter_account: "1200",
            date: date(),
            amount: d("50.00"),
            tax: None,
            currency: Currency::EUR,
        };
        assert_eq!(
            sides(&settlement_booking(&s)),
            vec![
                ("10000".into(), "credit", d("50.00")),
                ("1200".into(), "debit", d("50.00"))
            ]
        );
        let w = SettlementBooking {
            kind: SettlementKind::WriteOff,
            counter_account: "2400",
            tax: Some(("USt19", d("19"))),
            amount: d("11.90"),
            ..s
        };
        let cmd = settlement_booking(&w);
        assert_eq!(
            sides(&cmd),
            vec![
                ("10000".into(), "credit", d("11.90")),
                ("2400".into(), "debit", d("10.00"))
            ]
        );
        assert_eq!(cmd.lines[1].tax_code.as_deref(), Some("USt19"));
        assert!(cmd.description.starts_with("Write-off Invoice 1"));
        let v = SettlementBooking {
            direction: Direction::Incoming,
            partner_account: "70000",
            ..s
        };
        assert_eq!(
            sides(&settlement_booking(&v)),
            vec![
                ("70000".into(), "debit", d("50.00")),
                ("1200".into(), "credit", d("50.00"))
            ]
        );
    }

    #[test]
    fn linked_bookings_must_carry_the_invoice() {
        let lines = vec![
            LinkedLine {
                account: "10000".into(),
                generated: None,
                debit: d("119.00"),
                credit: d("0"),
            },
            LinkedLine {
                account: "8400".into(),
                generated: None,
                debit: d("0"),
                credit: d("100.00"),
            },
            LinkedLine {
                account: "1776".into(),
                generated: Some("tax".into()),
                debit: d("0"),
                credit: d("19.00"),
            },
        ];
        let ok = check_linked_booking(
            Direction::Outgoing,
            InvoiceType::Invoice,
            "10000",
            d("119.00"),
            d("19.00"),
            &lines,
            Currency::EUR,
        );
        assert!(ok.is_ok());
        let e = check_linked_booking(
            Direction::Outgoing,
            InvoiceType::Invoice,
            "10001",
            d("119.00"),
            d("19.00"),
            &lines,
            Currency::EUR,
        )
        .unwrap_err();
        assert_eq!(e.code(), "intent_mismatch");
        let e = check_linked_booking(
            Direction::Outgoing,
            InvoiceType::Invoice,
            "10000",
            d("119.00"),
            d("18.00"),
            &lines,
            Currency::EUR,
        )
        .unwrap_err();
        assert!(e.to_string().contains("VAT"));
        let e = check_linked_booking(
            Direction::Outgoing,
            InvoiceType::CreditNote,
            "10000",
            d("119.00"),
            d("19.00"),
            &lines,
            Currency::EUR,
        );
        assert!(e.is_err());
    }
}
