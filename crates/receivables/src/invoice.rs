//! Invoice arithmetic: line amounts, totals, and the check of the totals a client sends.
//!
//! Rounding rule (the same as the journal's tax lines, so an invoice and its booking agree to
//! the cent): per line, `net = quantity × unit_price` rounded to the currency's minor unit half
//! away from zero; `tax = net × rate / 100` rounded the same way; `gross = net + tax`. Totals
//! are the sums of the rounded line amounts — never a rate applied to a sum.

use journal::booking::max_amount;
use journal::Currency;
use rust_decimal::Decimal;

pub const MAX_LINES: usize = 500;
/// Quantities and unit prices may be finer than the currency (0.125 h, 0.0450 €/kWh).
pub const MAX_INPUT_DECIMALS: u32 = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Our invoice to a customer (Ausgangsrechnung): receivable.
    Outgoing,
    /// A vendor's invoice to us (Eingangsrechnung): payable.
    Incoming,
}

impl Direction {
    pub fn as_str(&self) -> &'static str {
        match self {
            Direction::Outgoing => "outgoing",
            Direction::Incoming => "incoming",
        }
    }

    pub fn parse(s: &str) -> Option<Direction> {
        match s {
            "outgoing" => Some(Direction::Outgoing),
            "incoming" => Some(Direction::Incoming),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvoiceType {
    Invoice,
    /// Gutschrift / Rechnungskorrektur: amounts are positive, the booking is the mirror image.
    CreditNote,
}

impl InvoiceType {
    pub fn as_str(&self) -> &'static str {
        match self {
            InvoiceType::Invoice => "invoice",
            InvoiceType::CreditNote => "credit_note",
        }
    }

    pub fn parse(s: &str) -> Option<InvoiceType> {
        match s {
            "invoice" => Some(InvoiceType::Invoice),
            "credit_note" => Some(InvoiceType::CreditNote),
            _ => None,
        }
    }

    /// +1 for an invoice, −1 for a credit note: the sign of the item in the partner's open amount.
    pub fn sign(&self) -> Decimal {
        match self {
            InvoiceType::Invoice => Decimal::ONE,
            InvoiceType::CreditNote => Decimal::NEGATIVE_ONE,
        }
    }
}

/// One line as far as the arithmetic is concerned.
#[derive(Debug, Clone, PartialEq)]
pub struct LineInput {
    pub quantity: Decimal,
    pub unit_price: Decimal,
    /// Percent of the line's tax code (0 without one).
    pub rate: Decimal,
    /// Reverse charge / intra-EU acquisition: the recipient owes the tax, so the invoice itself
    /// shows none (the booking still self-assesses it).
    pub self_assessed: bool,
    /// Amounts the client states for the line; each must equal the computed one.
    pub net: Option<Decimal>,
    pub tax: Option<Decimal>,
    pub gross: Option<Decimal>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineAmounts {
    pub net: Decimal,
    pub tax: Decimal,
    pub gross: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    pub net: Decimal,
    pub tax: Decimal,
    pub gross: Decimal,
}

/// The totals a client states for the invoice (`total_net`, `total_tax`, `total_gross`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GivenTotals {
    pub net: Option<Decimal>,
    pub tax: Option<Decimal>,
    pub gross: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComputedInvoice {
    pub lines: Vec<LineAmounts>,
    pub totals: Totals,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvoiceError {
    #[error("an invoice needs at least one line")]
    NoLines,
    #[error("an invoice may have at most {MAX_LINES} lines")]
    TooManyLines,
    #[error("{field} must be > 0")]
    NonPositiveQuantity { field: String },
    #[error("{field} has more than {MAX_INPUT_DECIMALS} decimals")]
    InputPrecision { field: String },
    #[error("{field}: amount exceeds the limit of 1000000000000")]
    AmountTooLarge { field: String },
    #[error("{field} is {given} but the lines give {expected} (per line: net = quantity × unit_price, tax = net × rate / 100, each rounded half away from zero to the currency's minor unit; totals are the sums of the lines)")]
    TotalsMismatch {
        field: String,
        expected: String,
        given: String,
    },
    #[error(
        "the invoice's total_gross must be > 0 (it is {0}); use type credit_note for a credit"
    )]
    NonPositiveTotal(String),
    #[error("intent_id: the booking does not match the invoice: {0}")]
    IntentMismatch(String),
}

impl InvoiceError {
    pub fn code(&self) -> &'static str {
        match self {
            InvoiceError::NoLines => "no_lines",
            InvoiceError::TooManyLines => "too_many_lines",
            InvoiceError::NonPositiveQuantity { .. } => "invalid_quantity",
            InvoiceError::InputPrecision { .. } => "amount_precision",
            InvoiceError::AmountTooLarge { .. } => "amount_too_large",
            InvoiceError::TotalsMismatch { .. } => "totals_mismatch",
            InvoiceError::NonPositiveTotal(_) => "non_positive_total",
            InvoiceError::IntentMismatch(_) => "intent_mismatch",
        }
    }

    pub fn field(&self) -> String {
        match self {
            InvoiceError::NoLines | InvoiceError::TooManyLines => "lines".into(),
            InvoiceError::NonPositiveQuantity { field }
            | InvoiceError::InputPrecision { field }
            | InvoiceError::AmountTooLarge { field }
            | InvoiceError::TotalsMismatch { field, .. } => field.clone(),
            InvoiceError::NonPositiveTotal(_) => "total_gross".into(),
            InvoiceError::IntentMismatch(_) => "intent_id".into(),
        }
    }
}

/// The amounts of one line (no checks).
pub fn line_amounts(
    currency: Currency,
    quantity: Decimal,
    unit_price: Decimal,
    rate: Decimal,
    self_assessed: bool,
) -> LineAmounts {
    let net = currency.round(quantity * unit_price);
    let tax = if self_assessed {
        currency.round(Decimal::ZERO)
    } else {
        currency.round(net * rate / Decimal::ONE_HUNDRED)
    };
    LineAmounts {
        net,
        tax,
        gross: net + tax,
    }
}

fn precision(field: String, value: Decimal) -> Result<(), InvoiceError> {
    if value.normalize().scale() > MAX_INPUT_DECIMALS {
        Err(InvoiceError::InputPrecision { field })
    } else {
        Ok(())
    }
}

fn agree(
    currency: Currency,
    field: String,
    expected: Decimal,
    given: Option<Decimal>,
) -> Result<(), InvoiceError> {
    match given {
        Some(g) if g != expected => Err(InvoiceError::TotalsMismatch {
            field,
            expected: currency.format(expected),
            given: g.normalize().to_string(),
        }),
        _ => Ok(()),
    }
}

/// Computes every line and the totals, and checks what the client stated against them: a
/// stated line net / tax / gross or total that differs is `totals_mismatch` naming the field.
/// A line may be negative (a discount) as long as the invoice's gross stays positive.
pub fn compute_invoice(
    currency: Currency,
    lines: &[LineInput],
    given: &GivenTotals,
) -> Result<ComputedInvoice, InvoiceError> {
    if lines.is_empty() {
        return Err(InvoiceError::NoLines);
    }
    if lines.len() > MAX_LINES {
        return Err(InvoiceError::TooManyLines);
    }
    let limit = max_amount();
    let mut out = Vec::with_capacity(lines.len());
    let mut totals = Totals {
        net: currency.round(Decimal::ZERO),
        tax: currency.round(Decimal::ZERO),
        gross: currency.round(Decimal::ZERO),
    };
    for (i, l) in lines.iter().enumerate() {
        let f = |name: &str| format!("lines[{i}].{name}");
        if l.quantity <= Decimal::ZERO {
            return Err(InvoiceError::NonPositiveQuantity {
                field: f("quantity"),
            });
        }
        precision(f("quantity"), l.quantity)?;
        precision(f("unit_price"), l.unit_price)?;
        if l.quantity > limit {
            return Err(InvoiceError::AmountTooLarge {
                field: f("quantity"),
            });
        }
        if l.unit_price.abs() > limit {
            return Err(InvoiceError::AmountTooLarge {
                field: f("unit_price"),
            });
        }
        let product = l
            .quantity
            .checked_mul(l.unit_price)
            .filter(|p| p.abs() <= limit)
            .ok_or_else(|| InvoiceError::AmountTooLarge { field: f("net") })?;
        let a = line_amounts(currency, Decimal::ONE, product, l.rate, l.self_assessed);
        agree(currency, f("net"), a.net, l.net)?;
        agree(currency, f("tax"), a.tax, l.tax)?;
        agree(currency, f("gross"), a.gross, l.gross)?;
        totals.net += a.net;
        totals.tax += a.tax;
        totals.gross += a.gross;
        out.push(a);
    }
    if totals.gross.abs() > limit {
        return Err(InvoiceError::AmountTooLarge {
            field: "total_gross".into(),
        });
    }
    agree(currency, "total_net".into(), totals.net, given.net)?;
    agree(currency, "total_tax".into(), totals.tax, given.tax)?;
    agree(currency, "total_gross".into(), totals.gross, given.gross)?;
    if totals.gross <= Decimal::ZERO {
        return Err(InvoiceError::NonPositiveTotal(
            currency.format(totals.gross),
        ));
    }
    Ok(ComputedInvoice { lines: out, totals })
}

/// Splits a gross amount at `rate` into the largest `net` whose tax (rounded as on a line)
/// still fits, the tax, and the rest (0 or a few minor units that no net can reach, because
/// net steps of one cent move the gross by one or two cents). Used to write off a gross
/// amount with its VAT correction (§ 17 UStG): net and tax on the tax code, the rest without.
pub fn split_gross(
    currency: Currency,
    gross: Decimal,
    rate: Decimal,
) -> (Decimal, Decimal, Decimal) {
    let unit = Decimal::new(1, currency.minor_units());
    let tax_of = |net: Decimal| currency.round(net * rate / Decimal::ONE_HUNDRED);
    let hundred = Decimal::ONE_HUNDRED;
    let mut net = currency.round(gross * hundred / (hundred + rate));
    while net > Decimal::ZERO && net + tax_of(net) > gross {
        net -= unit;
    }
    while net + unit + tax_of(net + unit) <= gross {
        net += unit;
    }
    let net = net.max(currency.round(Decimal::ZERO));
    let tax = tax_of(net);
    (net, tax, gross - net - tax)
}

impl journal::Rule for InvoiceError {
    fn code(&self) -> &'static str {
        InvoiceError::code(self)
    }
    fn kind(&self) -> journal::RuleKind {
        journal::RuleKind::Invalid
    }
    fn field(&self) -> Option<String> {
        Some(InvoiceError::field(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn line(q: &str, p: &str, rate: &str) -> LineInput {
        LineInput {
            quantity: d(q),
            unit_price: d(p),
            rate: d(rate),
            self_assessed: false,
            net: None,
            tax: None,
            gross: None,
        }
    }

    const EUR: Currency = Currency::EUR;

    #[test]
    fn rounds_each_line_half_away_from_zero() {
        // 3 × 0.125 = 0.375 → 0.38; tax 0.0722 → 0.07.
        let a = line_amounts(EUR, d("3"), d("0.125"), d("19"), false);
        assert_eq!((a.net, a.tax, a.gross), (d("0.38"), d("0.07"), d("0.45")));
        // 2.5 × 0.05 = 0.125 → 0.13; 7 % of 0.13 = 0.0091 → 0.01.
        let a = line_amounts(EUR, d("2.5"), d("0.05"), d("7"), false);
        assert_eq!((a.net, a.tax), (d("0.13"), d("0.01")));
        // A discount rounds away from zero too.
        let a = line_amounts(EUR, d("1"), d("-0.125"), d("0"), false);
        assert_eq!(a.net, d("-0.13"));
        assert_eq!(a.net.to_string(), "-0.13");
    }

    #[test]
    fn totals_are_sums_of_rounded_lines() {
        // 0.05 at 19 %: 0.0095 → 0.01 per line.
        let lines = vec![
            line("1", "0.05", "19"),
            line("1", "0.05", "19"),
            line("1", "0.05", "19"),
        ];
        let c = compute_invoice(EUR, &lines, &GivenTotals::default()).unwrap();
        assert_eq!(
            c.totals,
            Totals {
                net: d("0.15"),
                tax: d("0.03"),
                gross: d("0.18")
            }
        );
        // 1.04 at 19 %: 0.1976 → 0.20 per line, three lines 0.60; on the sum 3.12 it would be 0.59.
        let lines = vec![
            line("1", "1.04", "19"),
            line("1", "1.04", "19"),
            line("1", "1.04", "19"),
        ];
        let c = compute_invoice(EUR, &lines, &GivenTotals::default()).unwrap();
        assert_eq!(c.totals.tax, d("0.60"));
        assert_eq!(c.totals.gross.to_string(), "3.72");
    }

    #[test]
    fn stated_totals_must_agree() {
        let lines = vec![line("2", "50", "19"), line("1", "10", "7")];
        let ok = GivenTotals {
            net: Some(d("110")),
            tax: Some(d("19.70")),
            gross: Some(d("129.7")),
        };
        assert!(compute_invoice(EUR, &lines, &ok).is_ok());
        let bad = GivenTotals {
            tax: Some(d("19.71")),
            ..ok
        };
        let e = compute_invoice(EUR, &lines, &bad).unwrap_err();
        assert_eq!(
            (e.code(), e.field()),
            ("totals_mismatch", "total_tax".to_string())
        );
        assert!(e.to_string().contains("19.70"));
        let mut with_line = lines.clone();
        with_line[1].gross = Some(d("10.71"));
        let e = compute_invoice(EUR, &with_line, &GivenTotals::default()).unwrap_err();
        assert_eq!(e.field(), "lines[1].gross");
    }

    #[test]
    fn refuses_bad_lines() {
        let e = compute_invoice(EUR, &[], &GivenTotals::default()).unwrap_err();
        assert_eq!(e.code(), "no_lines");
        let e = compute_invoice(EUR, &[line("0", "1", "0")], &GivenTotals::default()).unwrap_err();
        assert_eq!(
            (e.code(), e.field().as_str()),
            ("invalid_quantity", "lines[0].quantity")
        );
        let many = vec![line("1", "1", "0"); MAX_LINES + 1];
        let e = compute_invoice(EUR, &many, &GivenTotals::default()).unwrap_err();
        assert_eq!((e.code(), e.field().as_str()), ("too_many_lines", "lines"));
        assert!(compute_invoice(EUR, &many[..MAX_LINES], &GivenTotals::default()).is_ok());
        let e = compute_invoice(EUR, &[line("1", "0.0000001", "0")], &GivenTotals::default())
            .unwrap_err();
        assert_eq!(e.code(), "amount_precision");
        let e = compute_invoice(
            EUR,
            &[line("1", "10", "0"), line("1", "-20", "0")],
            &GivenTotals::default(),
        )
        .unwrap_err();
        assert_eq!(e.code(), "non_positive_total");
        let e = compute_invoice(
            EUR,
            &[line("1000000", "10000000", "0")],
            &GivenTotals::default(),
        )
        .unwrap_err();
        assert_eq!(e.code(), "amount_too_large");
    }

    #[test]
    fn self_assessed_lines_show_no_tax() {
        let mut l = line("1", "100", "19");
        l.self_assessed = true;
        let c = compute_invoice(EUR, &[l], &GivenTotals::default()).unwrap();
        assert_eq!(
            c.totals,
            Totals {
                net: d("100"),
                tax: d("0"),
                gross: d("100")
            }
        );
    }

    #[test]
    fn splits_gross_amounts() {
        assert_eq!(
            split_gross(EUR, d("119.00"), d("19")),
            (d("100.00"), d("19.00"), d("0.00"))
        );
        assert_eq!(
            split_gross(EUR, d("10.00"), d("19")),
            (d("8.40"), d("1.60"), d("0.00"))
        );
        // At 19 % a net of 0.10 gives 0.12 and 0.11 gives 0.13: whatever is unreachable stays as the rest.
        let (net, tax, rest) = split_gross(EUR, d("0.13"), d("19"));
        assert_eq!(net + tax + rest, d("0.13"));
        assert!(rest >= Decimal::ZERO);
        assert_eq!(
            split_gross(EUR, d("5.00"), d("0")),
            (d("5.00"), d("0.00"), d("0.00"))
        );
    }

    fn cents() -> impl Strategy<Value = Decimal> {
        (-100_000i64..10_000_000).prop_map(|c| Decimal::new(c, 2))
    }

    fn rate() -> impl Strategy<Value = Decimal> {
        prop_oneof![
            Just(d("0")),
            Just(d("7")),
            Just(d("19")),
            (0u32..=2500).prop_map(|r| Decimal::new(r.into(), 2))
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Per line and in sum: net + tax = gross, every amount on the cent, tax within half a cent of the exact rate.
        #[test]
        fn line_and_total_arithmetic(lines in proptest::collection::vec((1u32..1000, cents(), rate()), 1..20)) {
            let inputs: Vec<LineInput> = lines
                .iter()
                .map(|(q, p, r)| LineInput {
                    quantity: Decimal::new((*q).into(), 1),
                    unit_price: *p,
                    rate: *r,
                    self_assessed: false,
                    net: None,
                    tax: None,
                    gross: None,
                })
                .collect();
            match compute_invoice(EUR, &inputs, &GivenTotals::default()) {
                Ok(c) => {
                    let mut sum = Totals::default();
                    for (l, a) in inputs.iter().zip(&c.lines) {
                        prop_assert_eq!(a.net + a.tax, a.gross);
                        prop_assert!(a.net.scale() == 2 && a.tax.scale() == 2);
                        prop_assert!((a.net - l.quantity * l.unit_price).abs() <= d("0.005"));
                        prop_assert!((a.tax - a.net * l.rate / Decimal::ONE_HUNDRED).abs() <= d("0.005"));
                        // Symmetric: the booking rounds |net|, the invoice rounds net.
                        prop_assert_eq!(a.tax.abs(), EUR.round(a.net.abs() * l.rate / Decimal::ONE_HUNDRED));
                        sum.net += a.net;
                        sum.tax += a.tax;
                        sum.gross += a.gross;
                    }
                    prop_assert_eq!(sum, c.totals);
                    prop_assert_eq!(c.totals.net + c.totals.tax, c.totals.gross);
                    // Stating the computed totals is always accepted.
                    let given = GivenTotals { net: Some(c.totals.net), tax: Some(c.totals.tax), gross: Some(c.totals.gross) };
                    prop_assert!(compute_invoice(EUR, &inputs, &given).is_ok());
                    // One cent off anywhere is not.
                    let off = GivenTotals { gross: Some(c.totals.gross + d("0.01")), ..given };
                    prop_assert_eq!(compute_invoice(EUR, &inputs, &off).unwrap_err().code(), "totals_mismatch");
                }
                Err(e) => prop_assert_eq!(e.code(), "non_positive_total"),
            }
        }

        #[test]
        fn split_gross_adds_up(gross in (1i64..10_000_000).prop_map(|c| Decimal::new(c, 2)), rate in rate()) {
            let (net, tax, rest) = split_gross(EUR, gross, rate);
            prop_assert_eq!(net + tax + rest, gross);
            prop_assert_eq!(tax, EUR.round(net * rate / Decimal::ONE_HUNDRED));
            prop_assert!(rest >= Decimal::ZERO && rest <= d("0.01"));
            // No larger net fits.
            let next = net + d("0.01");
            prop_assert!(next + EUR.round(next * rate / Decimal::ONE_HUNDRED) > gross);
        }
    }
}
