//! Given / when / then tables for `decide_booking`, `decide_opening_balances` and
//! `decide_reversal`. No database: the world is in `support`.
//!
//! Every `BookingError` variant has at least one case (`every_variant_has_a_case`).

mod support;

use journal::booking::{
    decide_booking, decide_opening_balances, decide_reversal, BookingCommand, IntentKind,
    OpeningBalanceCommand, OriginalIntent, ReversalCommand, MAX_LINES,
};
use journal::{BookedIntent, BookingError, Generated, PostingMode, Side};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use support::*;
use uuid::Uuid;

enum When {
    Booking(BookingCommand),
    Opening(OpeningBalanceCommand),
    /// The original is decided as a booking in the same world (before `given` closes
    /// periods), then changed by the function, then reversed.
    Reversal(BookingCommand, fn(&mut OriginalIntent), ReversalCommand),
}

enum Then {
    Rejected {
        code: &'static str,
        field: Option<&'static str>,
    },
    Accepted(fn(&BookedIntent)),
}

struct Case {
    name: &'static str,
    given: fn(&mut World),
    when: When,
    then: Then,
}

fn nothing(_: &mut World) {}
fn keep(_: &mut OriginalIntent) {}

fn rejected(code: &'static str, field: Option<&'static str>) -> Then {
    Then::Rejected { code, field }
}

fn case(name: &'static str, given: fn(&mut World), when: When, then: Then) -> Case {
    Case {
        name,
        given,
        when,
        then,
    }
}

/// The name of a variant. The match has no wildcard: a new variant does not compile until it
/// is named here, and `every_variant_has_a_case` then wants a case for it.
fn variant(e: &BookingError) -> &'static str {
    match e {
        BookingError::NoLines => "NoLines",
        BookingError::NoBalances => "NoBalances",
        BookingError::TooManyLines => "TooManyLines",
        BookingError::DebitXorCredit { .. } => "DebitXorCredit",
        BookingError::NonPositiveAmount { .. } => "NonPositiveAmount",
        BookingError::AmountPrecision { .. } => "AmountPrecision",
        BookingError::AmountTooLarge { .. } => "AmountTooLarge",
        BookingError::DescriptionRequired => "DescriptionRequired",
        BookingError::TooLong { .. } => "TooLong",
        BookingError::UnknownAccount { .. } => "UnknownAccount",
        BookingError::UnknownTaxCode { .. } => "UnknownTaxCode",
        BookingError::TaxCodeMisconfigured { .. } => "TaxCodeMisconfigured",
        BookingError::Unbalanced { .. } => "Unbalanced",
        BookingError::UnknownCurrency(_) => "UnknownCurrency",
        BookingError::InvalidFxRate => "InvalidFxRate",
        BookingError::FxAmountRoundsToZero { .. } => "FxAmountRoundsToZero",
        BookingError::FxIsBaseCurrency(_) => "FxIsBaseCurrency",
        BookingError::NoFxRoundingAccount => "NoFxRoundingAccount",
        BookingError::InvalidMetadata(_) => "InvalidMetadata",
        BookingError::UnknownDocument(_) => "UnknownDocument",
        BookingError::PeriodLocked(_) => "PeriodLocked",
        BookingError::Duplicate(_) => "Duplicate",
        BookingError::NoOpeningBalanceAccount => "NoOpeningBalanceAccount",
        BookingError::AlreadyReversed(_) => "AlreadyReversed",
        BookingError::ReversalOfReversal(_) => "ReversalOfReversal",
        BookingError::ReasonRequired => "ReasonRequired",
        BookingError::NoOpenPeriod => "NoOpenPeriod",
    }
}

const ALL_VARIANTS: &[&str] = &[
    "NoLines",
    "NoBalances",
    "TooManyLines",
    "DebitXorCredit",
    "NonPositiveAmount",
    "AmountPrecision",
    "AmountTooLarge",
    "DescriptionRequired",
    "TooLong",
    "UnknownAccount",
    "UnknownTaxCode",
    "TaxCodeMisconfigured",
    "Unbalanced",
    "UnknownCurrency",
    "InvalidFxRate",
    "FxAmountRoundsToZero",
    "FxIsBaseCurrency",
    "NoFxRoundingAccount",
    "InvalidMetadata",
    "UnknownDocument",
    "PeriodLocked",
    "Duplicate",
    "NoOpeningBalanceAccount",
    "AlreadyReversed",
    "ReversalOfReversal",
    "ReasonRequired",
    "NoOpenPeriod",
];

/// The codes clients see (docs/api.md).
const ALL_CODES: &[&str] = &[
    "no_lines",
    "too_many_lines",
    "debit_xor_credit",
    "non_positive_amount",
    "amount_precision",
    "amount_too_large",
    "description_required",
    "too_long",
    "unknown_account",
    "unknown_tax_code",
    "tax_code_misconfigured",
    "unbalanced",
    "unknown_currency",
    "invalid_fx_rate",
    "fx_is_base_currency",
    "no_fx_rounding_account",
    "invalid_metadata",
    "unknown_document",
    "period_locked",
    "duplicate",
    "no_opening_balance_account",
    "already_reversed",
    "reversal_of_reversal",
    "reason_required",
    "no_open_period",
];

fn with(mut cmd: BookingCommand, f: impl FnOnce(&mut BookingCommand)) -> BookingCommand {
    f(&mut cmd);
    cmd
}

fn invoice() -> BookingCommand {
    booking(
        "2026-03-14",
        vec![dr("1400", "119.00"), cr("8400", "100.00").tax("USt19")],
    )
}

fn rent() -> BookingCommand {
    booking(
        "2026-03-14",
        vec![dr("4210", "1200.00"), cr("1200", "1200.00")],
    )
}

fn meta(v: Value) -> Option<Map<String, Value>> {
    match v {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// (account, side, amount, base amount, generated) of each line.
fn lines_of(i: &BookedIntent) -> Vec<(String, Side, String, String, Option<Generated>)> {
    i.lines
        .iter()
        .map(|l| {
            (
                l.account.clone(),
                l.side,
                l.currency.format(l.amount),
                i.base_currency.format(l.base_amount),
                l.generated,
            )
        })
        .collect()
}

fn l(
    account: &str,
    side: Side,
    amount: &str,
    base: &str,
    generated: Option<Generated>,
) -> (String, Side, String, String, Option<Generated>) {
    (account.into(), side, amount.into(), base.into(), generated)
}

use Side::{Credit as C, Debit as D};

fn cases() -> Vec<Case> {
    let long = "x".repeat(501);
    let too_many: Vec<_> = (0..=MAX_LINES).map(|_| dr("4900", "1.00")).collect();
    let many_balances: Vec<_> = (0..=MAX_LINES / 2).map(|_| dr("1200", "1.00")).collect();
    let many_keys: Map<String, Value> = (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
    vec![
        // ---- decide_booking: rejected ----
        case(
            "no lines",
            nothing,
            When::Booking(booking("2026-03-14", vec![])),
            rejected("no_lines", Some("lines")),
        ),
        case(
            "501 lines",
            nothing,
            When::Booking(booking("2026-03-14", too_many)),
            rejected("too_many_lines", Some("lines")),
        ),
        case(
            "debit and credit on one line",
            nothing,
            When::Booking(booking(
                "2026-03-14",
                vec![{
                    let mut x = dr("4900", "1.00");
                    x.credit = Some(dec("1.00"));
                    x
                }],
            )),
            rejected("debit_xor_credit", Some("lines[0]")),
        ),
        case(
            "neither debit nor credit",
            nothing,
            When::Booking(booking(
                "2026-03-14",
                vec![dr("4900", "1.00"), {
                    let mut x = dr("1200", "1.00");
                    x.debit = None;
                    x
                }],
            )),
            rejected("debit_xor_credit", Some("lines[1]")),
        ),
        case(
            "zero amount",
            nothing,
            When::Booking(booking(
                "2026-03-14",
                vec![dr("4900", "0.00"), cr("1200", "0")],
            )),
            rejected("non_positive_amount", Some("lines[0].debit")),
        ),
        case(
            "negative amount",
            nothing,
            When::Booking(booking(
                "2026-03-14",
                vec![dr("4900", "1.00"), cr("1200", "-1.00")],
            )),
            rejected("non_positive_amount", Some("lines[1].credit")),
        ),
        case(
            "three decimals in EUR",
            nothing,
            When::Booking(booking(
                "2026-03-14",
                vec![dr("4900", "1.001"), cr("1200", "1.001")],
            )),
            rejected("amount_precision", Some("lines[0].debit")),
        ),
        case(
            "decimals in JPY",
            nothing,
            When::Booking(with(
                booking("2026-03-14", vec![dr("4900", "100.5"), cr("1200", "100.5")]),
                |c| c.fx = fx("JPY", "160"),
            )),
            rejected("amount_precision", Some("lines[0].debit")),
        ),
        case(
            "above a trillion",
            nothing,
            When::Booking(booking(
                "2026-03-14",
                vec![dr("4900", "1000000000000.01"), cr("1200", "1")],
            )),
            rejected("amount_too_large", Some("lines[0].debit")),
        ),
        case(
            "tiny fx rate: amount / rate overflows (regression: Division overflowed)",
            nothing,
            When::Booking(with(
                booking(
                    "2026-03-14",
                    vec![dr("4900", "100.00"), cr("1600", "100.00")],
                ),
                |c| c.fx = fx("USD", "0.0000000000000000000000000001"),
            )),
            rejected("amount_too_large", Some("lines[0].debit")),
        ),
        case(
            "fx: base amount above the per-line limit",
            nothing,
            When::Booking(with(
                booking(
                    "2026-03-14",
                    vec![dr("4900", "1000000000000"), cr("1600", "1000000000000")],
                ),
                |c| c.fx = fx("USD", "0.5"),
            )),
            rejected("amount_too_large", Some("lines[0].debit")),
        ),
        case(
            "tax of an absurd rate overflows",
            nothing,
            When::Booking(booking(
                "2026-03-14",
                vec![dr("4900", "100.00").tax("Absurd"), cr("1600", "100.00")],
            )),
            rejected("amount_too_large", Some("lines[0].tax_code")),
        ),
        case(
            "blank description",
            nothing,
            When::Booking(with(rent(), |c| c.description = " \t ".into())),
            rejected("description_required", Some("description")),
        ),
        case(
            "description of 501 characters",
            nothing,
            When::Booking(with(rent(), |c| c.description = long.clone())),
            rejected("too_long", Some("description")),
        ),
        case(
            "external reference of 201 characters",
            nothing,
            When::Booking(with(rent(), |c| {
                c.external_reference = Some("r".repeat(201))
            })),
            rejected("too_long", Some("external_reference")),
        ),
        case(
            "line description of 501 characters",
            nothing,
            When::Booking(with(rent(), |c| {
                c.lines[1].description = Some(long.clone())
            })),
            rejected("too_long", Some("lines[1].description")),
        ),
        case(
            "cost center of 41 characters",
            nothing,
            When::Booking(with(rent(), |c| {
                c.lines[0].cost_center = Some("k".repeat(41))
            })),
            rejected("too_long", Some("lines[0].cost_center")),
        ),
        case(
            "account does not exist",
            nothing,
            When::Booking(booking(
                "2026-03-14",
                vec![dr("4901", "1.00"), cr("1200", "1.00")],
            )),
            rejected("unknown_account", Some("lines[0].account")),
        ),
        case(
            "account is inactive",
            nothing,
            When::Booking(booking(
                "2026-03-14",
                vec![dr("4900", "1.00"), cr("4999", "1.00")],
            )),
            rejected("unknown_account", Some("lines[1].account")),
        ),
        case(
            "tax code does not exist",
            nothing,
            When::Booking(booking(
                "2026-03-14",
                vec![dr("4900", "1.00").tax("VSt99"), cr("1200", "1.19")],
            )),
            rejected("unknown_tax_code", Some("lines[0].tax_code")),
        ),
        case(
            "tax code is inactive",
            nothing,
            When::Booking(booking(
                "2026-03-14",
                vec![dr("4900", "1.00").tax("Alt16"), cr("1200", "1.16")],
            )),
            rejected("unknown_tax_code", Some("lines[0].tax_code")),
        ),
        case(
            "tax code without VAT account",
            nothing,
            When::Booking(booking(
                "2026-03-14",
                vec![dr("4900", "1.00").tax("NoAccount"), cr("1200", "1.19")],
            )),
            rejected("tax_code_misconfigured", Some("lines[0].tax_code")),
        ),
        case(
            "tax code's VAT account does not exist",
            nothing,
            When::Booking(booking(
                "2026-03-14",
                vec![dr("4900", "1.00").tax("MissingVat"), cr("1200", "1.19")],
            )),
            rejected("tax_code_misconfigured", Some("lines[0].tax_code")),
        ),
        case(
            "tax code's VAT account is inactive",
            nothing,
            When::Booking(booking(
                "2026-03-14",
                vec![dr("4900", "1.00").tax("InactiveVat"), cr("1200", "1.19")],
            )),
            rejected("tax_code_misconfigured", Some("lines[0].tax_code")),
        ),
        case(
            "tax code's self-assessment account does not exist",
            nothing,
            When::Booking(booking(
                "2026-03-14",
                vec![dr("3425", "1.00").tax("MissingOwn"), cr("1600", "1.00")],
            )),
            rejected("tax_code_misconfigured", Some("lines[0].tax_code")),
        ),
        case(
            "debits differ from credits",
            nothing,
            When::Booking(booking(
                "2026-03-14",
                vec![dr("4900", "100.00"), cr("1200", "90.00")],
            )),
            rejected("unbalanced", None),
        ),
        case(
            "tax is not in the counter line",
            nothing,
            When::Booking(booking(
                "2026-03-14",
                vec![dr("4900", "100.00").tax("VSt19"), cr("1600", "100.00")],
            )),
            rejected("unbalanced", None),
        ),
        case(
            "unknown currency",
            nothing,
            When::Booking(with(rent(), |c| c.fx = fx("XXX", "1.1"))),
            rejected("unknown_currency", Some("fx.currency")),
        ),
        case(
            "fx rate zero",
            nothing,
            When::Booking(with(rent(), |c| c.fx = fx("USD", "0"))),
            rejected("invalid_fx_rate", Some("fx.rate")),
        ),
        case(
            "fx rate negative",
            nothing,
            When::Booking(with(rent(), |c| c.fx = fx("USD", "-1.085"))),
            rejected("invalid_fx_rate", Some("fx.rate")),
        ),
        case(
            "fx rate so large a line is 0.00 in EUR",
            nothing,
            When::Booking(with(
                booking("2026-03-14", vec![dr("4900", "1.00"), cr("1600", "1.00")]),
                |c| c.fx = fx("USD", "1000"),
            )),
            rejected("invalid_fx_rate", Some("lines[0].debit")),
        ),
        case(
            "fx in the base currency",
            nothing,
            When::Booking(with(rent(), |c| c.fx = fx("EUR", "1"))),
            rejected("fx_is_base_currency", Some("fx.currency")),
        ),
        case(
            "fx rounding difference without a rounding account",
            |w| w.fx_rounding_account = None,
            When::Booking(with(
                booking(
                    "2026-03-14",
                    vec![
                        dr("4900", "10.00"),
                        dr("4900", "10.00"),
                        dr("4900", "10.00"),
                        cr("1600", "30.00"),
                    ],
                ),
                |c| c.fx = fx("USD", "3"),
            )),
            rejected("no_fx_rounding_account", None),
        ),
        case(
            "fx rounding account is inactive",
            |w| w.fx_rounding_account = Some("4999".into()),
            When::Booking(with(
                booking(
                    "2026-03-14",
                    vec![
                        dr("4900", "10.00"),
                        dr("4900", "10.00"),
                        dr("4900", "10.00"),
                        cr("1600", "30.00"),
                    ],
                ),
                |c| c.fx = fx("USD", "3"),
            )),
            rejected("unknown_account", Some("fx")),
        ),
        case(
            "51 metadata keys",
            nothing,
            When::Booking(with(rent(), |c| c.custom_metadata = Some(many_keys))),
            rejected("invalid_metadata", Some("custom_metadata")),
        ),
        case(
            "empty metadata key",
            nothing,
            When::Booking(with(rent(), |c| c.custom_metadata = meta(json!({"": "x"})))),
            rejected("invalid_metadata", Some("custom_metadata")),
        ),
        case(
            "metadata value not a string",
            nothing,
            When::Booking(with(rent(), |c| c.custom_metadata = meta(json!({"n": 42})))),
            rejected("invalid_metadata", Some("custom_metadata")),
        ),
        case(
            "metadata value of 501 characters",
            nothing,
            When::Booking(with(rent(), |c| {
                c.custom_metadata = meta(json!({"n": "v".repeat(501)}))
            })),
            rejected("invalid_metadata", Some("custom_metadata")),
        ),
        case(
            "unknown document",
            nothing,
            When::Booking(with(rent(), |c| c.document_id = Some(Uuid::nil()))),
            rejected("unknown_document", Some("document_id")),
        ),
        case(
            "period is closed",
            |w| w.close(&["2026-03"]),
            When::Booking(rent()),
            rejected("period_locked", None),
        ),
        case(
            "adjustment period is closed",
            |w| w.close(&["2026-13"]),
            When::Booking(with(
                booking("2026-12-31", vec![dr("4900", "1.00"), cr("1200", "1.00")]),
                |c| c.adjustment_period = true,
            )),
            rejected("period_locked", None),
        ),
        case(
            "external reference already booked",
            |w| {
                w.booked_external_references.insert("INV-1".into());
            },
            When::Booking(with(invoice(), |c| {
                c.external_reference = Some("INV-1".into())
            })),
            rejected("duplicate", Some("external_reference")),
        ),
        // ---- decide_booking: accepted ----
        case(
            "plain booking",
            nothing,
            When::Booking(with(rent(), |c| {
                c.description = "  Miete März  ".into();
                c.document_id = Some(DOCUMENT);
                c.custom_metadata = meta(json!({"crm_id": "42"}));
            })),
            Then::Accepted(|i| {
                assert_eq!(i.kind, IntentKind::Booking);
                assert_eq!(i.description, "Miete März");
                assert_eq!(i.period.to_string(), "2026-03");
                assert_eq!(
                    lines_of(i),
                    [
                        l("4210", D, "1200.00", "1200.00", None),
                        l("1200", C, "1200.00", "1200.00", None)
                    ]
                );
            }),
        ),
        case(
            "output VAT line",
            nothing,
            When::Booking(invoice()),
            Then::Accepted(|i| {
                assert_eq!(
                    lines_of(i),
                    [
                        l("1400", D, "119.00", "119.00", None),
                        l("8400", C, "100.00", "100.00", None),
                        l("1776", C, "19.00", "19.00", Some(Generated::Tax)),
                    ]
                );
                assert_eq!(i.lines[1].tax_code.as_deref(), Some("USt19"));
                assert_eq!(i.lines[2].tax_rate, Some(dec("19")));
            }),
        ),
        case(
            "tax rounds half away from zero",
            nothing,
            When::Booking(booking(
                "2026-03-14",
                vec![dr("4900", "0.50").tax("VSt7"), cr("1200", "0.54")],
            )),
            Then::Accepted(|i| {
                assert_eq!(
                    lines_of(i)[2],
                    l("1571", D, "0.04", "0.04", Some(Generated::Tax))
                )
            }),
        ),
        case(
            "tax of a 0 % code writes no line",
            nothing,
            When::Booking(booking(
                "2026-03-14",
                vec![dr("4900", "10.00").tax("Frei"), cr("1200", "10.00")],
            )),
            Then::Accepted(|i| assert_eq!(i.lines.len(), 2)),
        ),
        case(
            "reverse charge: input VAT and self-assessed output VAT",
            nothing,
            When::Booking(booking(
                "2026-03-14",
                vec![dr("3425", "100.00").tax("RC19"), cr("1600", "100.00")],
            )),
            Then::Accepted(|i| {
                assert_eq!(
                    lines_of(i),
                    [
                        l("3425", D, "100.00", "100.00", None),
                        l("1600", C, "100.00", "100.00", None),
                        l("1577", D, "19.00", "19.00", Some(Generated::Tax)),
                        l("1787", C, "19.00", "19.00", Some(Generated::SelfAssessment)),
                    ]
                )
            }),
        ),
        case(
            "fx with tax",
            nothing,
            When::Booking(with(
                booking(
                    "2026-03-14",
                    vec![dr("4900", "100.00").tax("VSt19"), cr("1600", "119.00")],
                ),
                |c| c.fx = fx("USD", "1.0850"),
            )),
            Then::Accepted(|i| {
                assert_eq!(i.fx_rate, Some(dec("1.085")));
                assert_eq!(
                    lines_of(i),
                    [
                        l("4900", D, "100.00", "92.17", None),
                        l("1600", C, "119.00", "109.68", None),
                        l("1576", D, "19.00", "17.51", Some(Generated::Tax)),
                    ]
                );
            }),
        ),
        case(
            "fx with a rounding line",
            nothing,
            When::Booking(with(
                booking(
                    "2026-03-14",
                    vec![
                        dr("4900", "10.00"),
                        dr("4900", "10.00"),
                        dr("4900", "10.00"),
                        cr("1600", "30.00"),
                    ],
                ),
                |c| c.fx = fx("USD", "3"),
            )),
            Then::Accepted(|i| {
                assert_eq!(lines_of(i)[3], l("1600", C, "30.00", "10.00", None));
                assert_eq!(
                    lines_of(i)[4],
                    l("2150", D, "0.01", "0.01", Some(Generated::FxRounding))
                );
                assert_eq!(i.lines[4].currency.code(), "EUR");
                assert_eq!(i.total_base_debit(), i.total_base_credit());
            }),
        ),
        case(
            "fx: a generated tax line may be 0.00 in EUR",
            nothing,
            When::Booking(with(
                booking(
                    "2026-03-14",
                    vec![dr("4900", "0.05").tax("VSt19"), cr("1600", "0.06")],
                ),
                |c| c.fx = fx("PLN", "4.3"),
            )),
            Then::Accepted(|i| {
                assert_eq!(
                    lines_of(i)[2],
                    l("1576", D, "0.01", "0.00", Some(Generated::Tax))
                )
            }),
        ),
        case(
            "adjustment period 13 while period 12 is closed",
            |w| w.close(&["2026-12"]),
            When::Booking(with(
                booking("2026-12-31", vec![dr("4900", "1.00"), cr("1200", "1.00")]),
                |c| c.adjustment_period = true,
            )),
            Then::Accepted(|i| {
                assert_eq!(i.period.to_string(), "2026-13");
                assert_eq!(i.booking_date, date("2026-12-31"));
            }),
        ),
        case(
            "shifted fiscal year",
            |w| w.calendar = journal::FiscalCalendar::new(7).unwrap(),
            When::Booking(booking(
                "2027-01-15",
                vec![dr("4900", "1.00"), cr("1200", "1.00")],
            )),
            Then::Accepted(|i| assert_eq!(i.period.to_string(), "2026-07")),
        ),
        case(
            "duplicate reference with skip_duplicate_check",
            |w| {
                w.booked_external_references.insert("INV-1".into());
            },
            When::Booking(with(invoice(), |c| {
                c.external_reference = Some("INV-1".into());
                c.skip_duplicate_check = true;
            })),
            Then::Accepted(|i| assert_eq!(i.external_reference.as_deref(), Some("INV-1"))),
        ),
        // ---- decide_opening_balances ----
        case(
            "no balances",
            nothing,
            When::Opening(opening("2026-01-01", vec![])),
            rejected("no_lines", Some("balances")),
        ),
        case(
            "251 balances are 502 lines",
            nothing,
            When::Opening(opening("2026-01-01", many_balances)),
            rejected("too_many_lines", Some("lines")),
        ),
        case(
            "no opening-balance account",
            |w| w.opening_balance_account = None,
            When::Opening(opening("2026-01-01", vec![dr("1200", "1.00")])),
            rejected("no_opening_balance_account", None),
        ),
        case(
            "opening-balance account inactive",
            |w| w.opening_balance_account = Some("4999".into()),
            When::Opening(opening("2026-01-01", vec![dr("1200", "1.00")])),
            rejected("unknown_account", Some("opening_balance_account")),
        ),
        case(
            "opening balance with a tax code",
            nothing,
            When::Opening(opening("2026-01-01", vec![dr("1200", "1.00").tax("USt19")])),
            rejected("unknown_tax_code", Some("balances[0].tax_code")),
        ),
        case(
            "opening balance without amount",
            nothing,
            When::Opening(opening(
                "2026-01-01",
                vec![{
                    let mut x = dr("1200", "1.00");
                    x.debit = None;
                    x
                }],
            )),
            rejected("debit_xor_credit", Some("balances[0]")),
        ),
        case(
            "opening balance of an unknown account",
            nothing,
            When::Opening(opening("2026-01-01", vec![cr("0800", "1.00")])),
            rejected("unknown_account", Some("balances[0].account")),
        ),
        case(
            "opening balance into a closed period",
            |w| w.close(&["2026-01"]),
            When::Opening(opening("2026-01-01", vec![dr("1200", "1.00")])),
            rejected("period_locked", None),
        ),
        case(
            "opening balance description too long",
            nothing,
            When::Opening(OpeningBalanceCommand {
                description: Some("d".repeat(501)),
                ..opening("2026-01-01", vec![dr("1200", "1.00")])
            }),
            rejected("too_long", Some("description")),
        ),
        case(
            "opening balances",
            nothing,
            When::Opening(opening(
                "2026-01-01",
                vec![dr("1200", "5000.00"), cr("1600", "1200.50")],
            )),
            Then::Accepted(|i| {
                assert_eq!(i.kind, IntentKind::OpeningBalance);
                assert_eq!(i.description, "Saldenvortrag");
                assert_eq!(
                    lines_of(i),
                    [
                        l("1200", D, "5000.00", "5000.00", None),
                        l(
                            "9000",
                            C,
                            "5000.00",
                            "5000.00",
                            Some(Generated::OpeningBalance)
                        ),
                        l("1600", C, "1200.50", "1200.50", None),
                        l(
                            "9000",
                            D,
                            "1200.50",
                            "1200.50",
                            Some(Generated::OpeningBalance)
                        ),
                    ]
                );
            }),
        ),
        // ---- decide_reversal ----
        case(
            "reason blank",
            nothing,
            When::Reversal(
                invoice(),
                keep,
                ReversalCommand {
                    reason: "  ".into(),
                    ..reverse(Uuid::nil(), PostingMode::Swap)
                },
            ),
            rejected("reason_required", Some("reason")),
        ),
        case(
            "reason too long",
            nothing,
            When::Reversal(
                invoice(),
                keep,
                ReversalCommand {
                    reason: "r".repeat(501),
                    ..reverse(Uuid::nil(), PostingMode::Swap)
                },
            ),
            rejected("too_long", Some("reason")),
        ),
        case(
            "reversal of a reversal",
            nothing,
            When::Reversal(
                invoice(),
                |o| o.kind = IntentKind::Reversal,
                reverse(Uuid::nil(), PostingMode::Swap),
            ),
            rejected("reversal_of_reversal", None),
        ),
        case(
            "already reversed",
            nothing,
            When::Reversal(
                invoice(),
                |o| o.already_reversed = true,
                reverse(Uuid::nil(), PostingMode::Negative),
            ),
            rejected("already_reversed", None),
        ),
        case(
            "no open period within 30 years",
            |w| {
                let mut p = period("2026-03");
                w.closed_periods.insert(p);
                for _ in 0..journal::calendar::OPEN_PERIOD_HORIZON {
                    p = p.next_regular().unwrap();
                    w.closed_periods.insert(p);
                }
            },
            When::Reversal(invoice(), keep, reverse(Uuid::nil(), PostingMode::Swap)),
            rejected("no_open_period", None),
        ),
        case(
            "swap in the open original period",
            nothing,
            When::Reversal(invoice(), keep, reverse(Uuid::nil(), PostingMode::Swap)),
            Then::Accepted(|i| {
                assert_eq!(i.kind, IntentKind::Reversal);
                assert_eq!(i.posting_mode, Some(PostingMode::Swap));
                assert_eq!(i.booking_date, date("2026-03-14"));
                assert_eq!(i.description, "Storno: Test booking");
                assert_eq!(i.reason.as_deref(), Some("wrong account"));
                assert_eq!(
                    lines_of(i),
                    [
                        l("1400", C, "119.00", "119.00", None),
                        l("8400", D, "100.00", "100.00", None),
                        l("1776", D, "19.00", "19.00", Some(Generated::Tax)),
                    ]
                );
            }),
        ),
        case(
            "negative in the open original period",
            nothing,
            When::Reversal(invoice(), keep, reverse(Uuid::nil(), PostingMode::Negative)),
            Then::Accepted(|i| {
                assert_eq!(
                    lines_of(i),
                    [
                        l("1400", D, "-119.00", "-119.00", None),
                        l("8400", C, "-100.00", "-100.00", None),
                        l("1776", C, "-19.00", "-19.00", Some(Generated::Tax)),
                    ]
                );
            }),
        ),
        case(
            "original period closed: dated on the first day of the first open period",
            |w| w.close(&["2026-03", "2026-04"]),
            When::Reversal(invoice(), keep, reverse(Uuid::nil(), PostingMode::Swap)),
            Then::Accepted(|i| {
                assert_eq!(i.period.to_string(), "2026-05");
                assert_eq!(i.booking_date, date("2026-05-01"));
            }),
        ),
        case(
            "original period 12 closed: skips period 13 into the next year",
            |w| w.close(&["2026-12"]),
            When::Reversal(
                booking("2026-12-31", vec![dr("4900", "1.00"), cr("1200", "1.00")]),
                keep,
                reverse(Uuid::nil(), PostingMode::Negative),
            ),
            Then::Accepted(|i| {
                assert_eq!(i.period.to_string(), "2027-01");
                assert_eq!(i.booking_date, date("2027-01-01"));
            }),
        ),
        case(
            "original period 13 closed, shifted fiscal year",
            |w| {
                w.calendar = journal::FiscalCalendar::new(7).unwrap();
                w.close(&["2026-13", "2027-01"]);
            },
            When::Reversal(
                with(
                    booking("2027-06-30", vec![dr("4900", "1.00"), cr("1200", "1.00")]),
                    |c| c.adjustment_period = true,
                ),
                keep,
                reverse(Uuid::nil(), PostingMode::Swap),
            ),
            Then::Accepted(|i| {
                assert_eq!(i.period.to_string(), "2027-02");
                assert_eq!(i.booking_date, date("2027-08-01"));
            }),
        ),
        case(
            "fx booking reversed keeps the rate",
            nothing,
            When::Reversal(
                with(
                    booking(
                        "2026-03-14",
                        vec![
                            dr("4900", "10.00"),
                            dr("4900", "10.00"),
                            dr("4900", "10.00"),
                            cr("1600", "30.00"),
                        ],
                    ),
                    |c| c.fx = fx("USD", "3"),
                ),
                keep,
                reverse(Uuid::nil(), PostingMode::Swap),
            ),
            Then::Accepted(|i| {
                assert_eq!(i.fx_rate, Some(dec("3")));
                assert_eq!(
                    lines_of(i)[4],
                    l("2150", C, "0.01", "0.01", Some(Generated::FxRounding))
                );
            }),
        ),
    ]
}

/// Runs one case: the error, or the intent.
fn run(c: &Case) -> Result<BookedIntent, BookingError> {
    let mut world = World::default();
    match &c.when {
        When::Booking(cmd) => {
            (c.given)(&mut world);
            decide_booking(&world.ctx(), cmd, stamp(1))
        }
        When::Opening(cmd) => {
            (c.given)(&mut world);
            decide_opening_balances(&world.ctx(), cmd, stamp(1))
        }
        When::Reversal(original, change, cmd) => {
            let mut w0 = world.clone();
            (c.given)(&mut w0);
            world.calendar = w0.calendar;
            let booked = decide_booking(&world.ctx(), original, stamp(1))
                .unwrap_or_else(|e| panic!("{}: the original is refused: {e}", c.name));
            let mut original = original_of(&booked);
            change(&mut original);
            let cmd = ReversalCommand {
                intent_id: original.intent_id,
                ..cmd.clone()
            };
            decide_reversal(&w0.ctx(), &original, &cmd, stamp(2))
        }
    }
}

#[test]
fn decision_table() {
    let mut failures = Vec::new();
    for c in cases() {
        let result = run(&c);
        match (&c.then, result) {
            (Then::Rejected { code, field }, Err(e)) => {
                if e.code() != *code || e.field().as_deref() != *field {
                    failures.push(format!(
                        "{}: expected {code} at {field:?}, got {} at {:?} ({e})",
                        c.name,
                        e.code(),
                        e.field()
                    ));
                }
            }
            (Then::Rejected { code, .. }, Ok(_)) => {
                failures.push(format!("{}: expected {code}, was accepted", c.name))
            }
            (Then::Accepted(check), Ok(intent)) => {
                assert_eq!(
                    intent.total_base_debit(),
                    intent.total_base_credit(),
                    "{}: unbalanced",
                    c.name
                );
                let name = c.name;
                let check = *check;
                if std::panic::catch_unwind(|| check(&intent)).is_err() {
                    failures.push(format!("{name}: the accepted intent is not as expected"));
                }
            }
            (Then::Accepted(_), Err(e)) => failures.push(format!(
                "{}: expected acceptance, got {} ({e})",
                c.name,
                e.code()
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_variant_has_a_case() {
    let mut variants = BTreeSet::new();
    let mut codes = BTreeSet::new();
    let mut accepted = Vec::new();
    for c in cases() {
        match run(&c) {
            Err(e) => {
                variants.insert(variant(&e));
                codes.insert(e.code());
            }
            Ok(_) => accepted.push(c.name),
        }
    }
    let missing: Vec<_> = ALL_VARIANTS
        .iter()
        .filter(|v| !variants.contains(*v))
        .collect();
    assert!(
        missing.is_empty(),
        "BookingError variants without a table case: {missing:?}"
    );
    let missing: Vec<_> = ALL_CODES.iter().filter(|c| !codes.contains(*c)).collect();
    assert!(
        missing.is_empty(),
        "codes without a table case: {missing:?}"
    );
    let unknown: Vec<_> = codes.iter().filter(|c| !ALL_CODES.contains(c)).collect();
    assert!(
        unknown.is_empty(),
        "codes missing from ALL_CODES: {unknown:?}"
    );
    assert!(accepted.len() >= 15, "accepted cases: {accepted:?}");
}

#[test]
fn is_conflict_for_ledger_state_only() {
    let conflicts: BTreeSet<&str> = cases()
        .iter()
        .filter_map(|c| run(c).err())
        .filter(|e| e.is_conflict())
        .map(|e| e.code())
        .collect();
    assert_eq!(
        conflicts,
        [
            "already_reversed",
            "duplicate",
            "no_open_period",
            "period_locked",
            "reversal_of_reversal"
        ]
        .into_iter()
        .collect()
    );
}
