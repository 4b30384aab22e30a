//! Properties of the decisions and of the event payload, over random input.

mod support;

use chrono::{DateTime, NaiveDate, SecondsFormat};
use journal::booking::{
    decide_booking, decide_opening_balances, decide_reversal, max_amount, BookingCommand,
    BookingLineInput, Fx, IntentKind, OpeningBalanceCommand, OriginalIntent, ReversalCommand,
    TaxCode,
};
use journal::calendar::first_open_after;
use journal::canonical::canonical_bytes;
use journal::{
    Actor, BookedIntent, Currency, EventPayload, Generated, JournalLine, PeriodId, PostingMode,
    Side,
};
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
use support::*;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// The event payload
// ---------------------------------------------------------------------------------------------

/// The payload exactly as `BookedIntent::event_payload` built it with `json!` before
/// `EventPayload` existed (commit 5ca3964). The typed payload must give the same JSON for every
/// intent.
fn legacy_payload(i: &BookedIntent, tenant_id: Uuid, first_seq: i64, index: usize) -> Value {
    let line = &i.lines[index];
    let base = i.base_currency;
    json!({
        "type": "journal_line",
        "version": 1,
        "tenant_id": tenant_id.to_string(),
        "seq": first_seq + index as i64,
        "intent_id": i.intent_id.to_string(),
        "intent_kind": i.kind.as_str(),
        "line": index + 1,
        "line_count": i.lines.len(),
        "booking_date": i.booking_date.to_string(),
        "period": i.period.to_string(),
        "account": line.account,
        "side": line.side.as_str(),
        "amount": line.currency.format(line.amount),
        "currency": line.currency.code(),
        "base_amount": base.format(line.base_amount),
        "base_currency": base.code(),
        "fx_rate": i.fx_rate.map(|r| r.normalize().to_string()),
        "tax_code": line.tax_code,
        "tax_rate": line.tax_rate.map(|r| r.normalize().to_string()),
        "generated": line.generated.map(|g| g.as_str()),
        "description": i.description,
        "line_description": line.description,
        "cost_center": line.cost_center,
        "external_reference": i.external_reference,
        "document_id": i.document_id.map(|d| d.to_string()),
        "custom_metadata": i.custom_metadata.clone().map(Value::Object),
        "reversal_of": i.reversal_of.map(|r| r.to_string()),
        "posting_mode": i.posting_mode.map(|m| m.as_str()),
        "reason": i.reason,
        "actor": i.actor.to_json(),
        "recorded_at": i.recorded_at.to_rfc3339_opts(SecondsFormat::Micros, true),
    })
}

fn currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(vec!["EUR", "USD", "JPY", "KWD", "CHF"])
        .prop_map(|c| Currency::from_code(c).unwrap())
}

/// A positive rate with up to 28 decimals.
fn rate() -> impl Strategy<Value = Decimal> {
    (1i64..=i64::MAX, 0u32..=28).prop_map(|(m, s)| Decimal::new(m, s))
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9 äöüß€\"\\\\/\\n\\t\\x00-\\x1f\\x7f]{0,20}"
    ]
}

fn uuid() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(Uuid::from_u128)
}

fn side() -> impl Strategy<Value = Side> {
    prop::sample::select(vec![Side::Debit, Side::Credit])
}

fn journal_line(base: Currency) -> impl Strategy<Value = JournalLine> {
    (
        (
            currency(),
            -(10i64.pow(15))..10i64.pow(15),
            -(10i64.pow(15))..10i64.pow(15),
        ),
        "[0-9]{4,9}",
        side(),
        prop::option::of(text()),
        prop::option::of(rate()),
        prop::option::of(prop::sample::select(vec![
            Generated::Tax,
            Generated::SelfAssessment,
            Generated::FxRounding,
            Generated::OpeningBalance,
        ])),
        prop::option::of(text()),
        prop::option::of(text()),
    )
        .prop_map(
            move |(
                (currency, amount, base_amount),
                account,
                side,
                tax_code,
                tax_rate,
                generated,
                description,
                cost_center,
            )| {
                JournalLine {
                    account,
                    side,
                    amount: Decimal::new(amount, currency.minor_units()),
                    currency,
                    base_amount: Decimal::new(base_amount, base.minor_units()),
                    tax_code,
                    tax_rate,
                    generated,
                    description,
                    cost_center,
                }
            },
        )
}

fn metadata() -> impl Strategy<Value = Option<Map<String, Value>>> {
    prop::option::of(
        prop::collection::btree_map(text(), text(), 0..4)
            .prop_map(|m| m.into_iter().map(|(k, v)| (k, Value::String(v))).collect()),
    )
}

fn booked_intent() -> impl Strategy<Value = BookedIntent> {
    currency().prop_flat_map(|base| {
        (
            (
                uuid(),
                prop::sample::select(vec![
                    IntentKind::Booking,
                    IntentKind::OpeningBalance,
                    IntentKind::Reversal,
                ]),
                (1000i32..=9999, 1u32..=366).prop_map(|(y, d)| {
                    NaiveDate::from_yo_opt(y, d).unwrap_or(NaiveDate::from_yo_opt(y, 1).unwrap())
                }),
                (1000i32..=9999, 1u8..=13).prop_map(|(fiscal_year, number)| PeriodId {
                    fiscal_year,
                    number,
                }),
                text(),
                prop::option::of(text()),
                prop::option::of(uuid()),
                metadata(),
            ),
            (
                prop::option::of(rate()),
                prop::option::of(uuid()),
                prop::option::of(prop::sample::select(vec![
                    PostingMode::Swap,
                    PostingMode::Negative,
                ])),
                prop::option::of(text()),
                (
                    prop::sample::select(vec!["api_key", "user", "system"]),
                    text(),
                )
                    .prop_map(|(kind, id)| Actor {
                        kind: kind.into(),
                        id,
                    }),
                // Up to 9999-12-31, with nanoseconds (written as microseconds).
                (0i64..253_402_300_800, 0u32..1_000_000_000)
                    .prop_map(|(s, n)| DateTime::from_timestamp(s, n).unwrap()),
                prop::collection::vec(journal_line(base), 1..5),
            ),
        )
            .prop_map(
                move |(
                    (
                        intent_id,
                        kind,
                        booking_date,
                        period,
                        description,
                        external_reference,
                        document_id,
                        custom_metadata,
                    ),
                    (fx_rate, reversal_of, posting_mode, reason, actor, recorded_at, lines),
                )| BookedIntent {
                    intent_id,
                    kind,
                    booking_date,
                    period,
                    description,
                    external_reference,
                    document_id,
                    custom_metadata,
                    base_currency: base,
                    fx_rate,
                    reversal_of,
                    posting_mode,
                    reason,
                    actor,
                    recorded_at,
                    lines,
                },
            )
    })
}

proptest! {
    /// intent → payload → JSON → canonical bytes → parsed → payload: nothing is lost, the
    /// bytes are those of the former `json!` payload, and the line comes back unchanged.
    #[test]
    fn payload_round_trip(intent in booked_intent(), tenant in uuid(), first_seq in 1i64..i64::MAX / 2, pick in any::<prop::sample::Index>()) {
        let index = pick.index(intent.lines.len());
        let payload = intent.payload(tenant, first_seq, index).unwrap();
        let value = payload.to_value();
        prop_assert_eq!(&value, &intent.event_payload(tenant, first_seq, index));
        let bytes = canonical_bytes(&value);
        prop_assert_eq!(&bytes, &canonical_bytes(&legacy_payload(&intent, tenant, first_seq, index)));

        let parsed: Value = serde_json::from_slice(&bytes).unwrap();
        prop_assert_eq!(&canonical_bytes(&parsed), &bytes);
        let decoded = EventPayload::from_value(&parsed).unwrap();
        prop_assert_eq!(&decoded, &payload);
        prop_assert_eq!(&canonical_bytes(&decoded.to_value()), &bytes);
        prop_assert_eq!(decoded.line(), intent.lines[index].clone());
    }

    /// A stored payload with one value replaced by something else is refused or read, never a
    /// panic.
    #[test]
    fn decoding_never_panics(intent in booked_intent(), key in 0usize..32, junk in prop_oneof![
        Just(Value::Null), Just(json!(-1)), Just(json!(1.5)), Just(json!("x")), Just(json!("-0.00")),
        Just(json!("1e3")), Just(json!([])), Just(json!({})), Just(json!(true)), Just(json!(u64::MAX)),
        Just(json!("2026-13-40")), Just(json!("9999-14")),
    ]) {
        let mut value = intent.event_payload(Uuid::nil(), 1, 0);
        let map = value.as_object_mut().unwrap();
        let k = map.keys().nth(key % map.len()).unwrap().clone();
        map.insert(k, junk);
        let _ = EventPayload::from_value(&value);
        map_remove_any(&mut value);
        let _ = EventPayload::from_value(&value);
    }
}

fn map_remove_any(v: &mut Value) {
    if let Some(m) = v.as_object_mut() {
        if let Some(k) = m.keys().next().cloned() {
            m.remove(&k);
        }
    }
}

#[test]
fn decoding_refuses_other_versions_and_types() {
    let intent = support_intent();
    let mut v = intent.event_payload(Uuid::nil(), 1, 0);
    v["version"] = json!(2);
    assert!(EventPayload::from_value(&v).is_err());
    let mut v = intent.event_payload(Uuid::nil(), 1, 0);
    v["type"] = json!("period_lock");
    assert!(EventPayload::from_value(&v).is_err());
    let mut v = intent.event_payload(Uuid::nil(), 1, 0);
    v["currency"] = json!("XXX");
    assert!(EventPayload::from_value(&v).is_err());
}

fn support_intent() -> BookedIntent {
    let w = World::default();
    decide_booking(
        &w.ctx(),
        &booking(
            "2026-03-14",
            vec![dr("1400", "119.00"), cr("8400", "100.00").tax("USt19")],
        ),
        stamp(1),
    )
    .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Decisions
// ---------------------------------------------------------------------------------------------

const ACCOUNTS: &[&str] = &[
    "1000", "1200", "1400", "1600", "3425", "4210", "4900", "8400",
];
/// Tax codes of the world, plus "Rand" whose rate each case picks.
const TAX_CODES: &[&str] = &["VSt19", "VSt7", "USt19", "RC19", "Frei", "Rand"];

#[derive(Debug, Clone)]
struct GenLine {
    account: &'static str,
    debit: bool,
    /// In minor units of the booking's currency.
    minor: i64,
    tax: Option<&'static str>,
}

#[derive(Debug, Clone)]
struct GenBooking {
    lines: Vec<GenLine>,
    fx: Option<(Currency, Decimal)>,
    /// The rate of "Rand" in units of 0.0001 %.
    rand_rate_e4: i64,
    adjustment: bool,
    day: u32,
}

fn gen_booking() -> impl Strategy<Value = GenBooking> {
    let line = (
        prop::sample::select(ACCOUNTS),
        any::<bool>(),
        1i64..=100_000_000_000,
        prop::option::of(prop::sample::select(TAX_CODES)),
    )
        .prop_map(|(account, debit, minor, tax)| GenLine {
            account,
            debit,
            minor,
            tax,
        });
    (
        prop::collection::vec(line, 1..7),
        prop::option::of((
            prop::sample::select(vec!["USD", "JPY", "KWD", "GBP", "CHF"])
                .prop_map(|c| Currency::from_code(c).unwrap()),
            prop_oneof![
                (1i64..=10_000_000_000, 0u32..=8).prop_map(|(m, s)| Decimal::new(m, s)),
                (1i64..=i64::MAX, 0u32..=28).prop_map(|(m, s)| Decimal::new(m, s)),
                // Tiny rates: amount / rate leaves Decimal's range.
                (1i64..=1000, 18u32..=28).prop_map(|(m, s)| Decimal::new(m, s)),
                Just(Decimal::new(1, 28)),
            ],
        )),
        0i64..=1_000_000,
        any::<bool>(),
        0u32..365,
    )
        .prop_map(|(lines, fx, rand_rate_e4, adjustment, day)| GenBooking {
            lines,
            fx,
            rand_rate_e4,
            adjustment,
            day,
        })
}

/// The rate of a tax code in units of 0.0001 %.
fn rate_e4(g: &GenBooking, code: &str) -> i64 {
    match code {
        "VSt19" | "USt19" | "RC19" => 190_000,
        "VSt7" => 70_000,
        "Frei" => 0,
        "Rand" => g.rand_rate_e4,
        _ => unreachable!(),
    }
}

/// net × rate / 100, half away from zero, in minor units: integer arithmetic, independent of
/// the code under test.
fn expected_tax(net_minor: i64, rate_e4: i64) -> i64 {
    let t = i128::from(net_minor) * i128::from(rate_e4);
    let (q, r) = (t / 1_000_000, t % 1_000_000);
    (q + i128::from(2 * r >= 1_000_000)) as i64
}

/// The world and the command of a generated booking. A last line on 1200 balances it.
fn build(g: &GenBooking) -> (World, BookingCommand) {
    let mut world = World::default();
    world.tax_codes.insert(
        "Rand".into(),
        TaxCode {
            code: "Rand".into(),
            rate: Decimal::new(g.rand_rate_e4, 4),
            vat_account: Some("1576".into()),
            self_assess_account: None,
            is_active: true,
        },
    );
    let currency = g.fx.map(|(c, _)| c).unwrap_or(Currency::EUR);
    let scale = currency.minor_units();
    let mut sum: i64 = 0;
    let mut lines = Vec::new();
    for l in &g.lines {
        let tax = l
            .tax
            .map(|c| expected_tax(l.minor, rate_e4(g, c)))
            .unwrap_or(0);
        let own = l.tax == Some("RC19");
        let gross = l.minor + if own { 0 } else { tax };
        sum += if l.debit { gross } else { -gross };
        let amount = Decimal::new(l.minor, scale).to_string();
        let mut input = if l.debit {
            dr(l.account, &amount)
        } else {
            cr(l.account, &amount)
        };
        input.tax_code = l.tax.map(str::to_string);
        lines.push(input);
    }
    if sum != 0 {
        let amount = Decimal::new(sum.abs(), scale).to_string();
        lines.push(if sum > 0 {
            cr("1200", &amount)
        } else {
            dr("1200", &amount)
        });
    }
    let on = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(u64::from(g.day));
    let mut cmd = booking(&on.to_string(), lines);
    cmd.adjustment_period = g.adjustment;
    cmd.fx = g.fx.map(|(c, rate)| Fx {
        currency: c.code().into(),
        rate,
    });
    (world, cmd)
}

fn assert_balanced(i: &BookedIntent) -> Result<(), TestCaseError> {
    prop_assert_eq!(i.total_base_debit(), i.total_base_credit());
    // In the booking's own currency, without the base-currency rounding line.
    let (mut d, mut c) = (Decimal::ZERO, Decimal::ZERO);
    for l in i
        .lines
        .iter()
        .filter(|l| l.generated != Some(Generated::FxRounding))
    {
        match l.side {
            Side::Debit => d += l.amount,
            Side::Credit => c += l.amount,
        }
    }
    prop_assert_eq!(d, c);
    for l in &i.lines {
        prop_assert!(l.base_amount.abs() <= max_amount());
        prop_assert!(l.amount.abs() <= max_amount());
        prop_assert!(i.base_currency.fits(l.base_amount));
        prop_assert!(l.currency.fits(l.amount));
    }
    Ok(())
}

proptest! {
    /// Every accepted booking balances, in the base currency and in its own. Only extreme FX
    /// rates may refuse a balanced booking, with a typed error.
    #[test]
    fn accepted_bookings_balance(g in gen_booking()) {
        let (world, cmd) = build(&g);
        match decide_booking(&world.ctx(), &cmd, stamp(1)) {
            Ok(intent) => assert_balanced(&intent)?,
            Err(e) => {
                prop_assert!(g.fx.is_some(), "refused without fx: {e}");
                prop_assert!(["amount_too_large", "invalid_fx_rate"].contains(&e.code()), "{e}");
            }
        }
    }

    /// Generated tax lines are net × rate / 100, rounded half away from zero to the minor unit,
    /// on the code's VAT account (and, for reverse charge, the same amount on the other side
    /// of the self-assessment account).
    #[test]
    fn tax_lines_are_rounded_net_times_rate(g in gen_booking()) {
        let (world, cmd) = build(&g);
        let Ok(intent) = decide_booking(&world.ctx(), &cmd, stamp(1)) else {
            return Ok(());
        };
        let scale = intent.lines[0].currency.minor_units();
        let mut expected = Vec::new();
        for l in &g.lines {
            let Some(code) = l.tax else { continue };
            let tax = expected_tax(l.minor, rate_e4(&g, code));
            if tax == 0 {
                continue;
            }
            let tc = &world.tax_codes[code];
            let side = if l.debit { Side::Debit } else { Side::Credit };
            expected.push((tc.vat_account.clone().unwrap(), side, Decimal::new(tax, scale), Generated::Tax));
            if let Some(own) = &tc.self_assess_account {
                expected.push((own.clone(), side.opposite(), Decimal::new(tax, scale), Generated::SelfAssessment));
            }
        }
        let got: Vec<_> = intent
            .lines
            .iter()
            .filter(|l| matches!(l.generated, Some(Generated::Tax | Generated::SelfAssessment)))
            .map(|l| (l.account.clone(), l.side, l.amount, l.generated.unwrap()))
            .collect();
        prop_assert_eq!(got, expected);
    }

    /// Original plus reversal leave every account where it was, in the base currency and in
    /// the line's currency, in both posting modes; the reversal is dated into an open period.
    #[test]
    fn reversal_restores_every_balance(
        g in gen_booking(),
        negative in any::<bool>(),
        closed in prop::collection::btree_set((2026i32..=2027, 1u8..=13), 0..12),
    ) {
        let (mut world, cmd) = build(&g);
        let Ok(original) = decide_booking(&world.ctx(), &cmd, stamp(1)) else {
            return Ok(());
        };
        world.closed_periods = closed
            .into_iter()
            .map(|(fiscal_year, number)| PeriodId { fiscal_year, number })
            .collect();
        let mode = if negative { PostingMode::Negative } else { PostingMode::Swap };
        let reversal = decide_reversal(&world.ctx(), &original_of(&original), &reverse(original.intent_id, mode), stamp(2)).unwrap();
        assert_balanced(&reversal)?;
        prop_assert!(!world.closed_periods.contains(&reversal.period));
        prop_assert!(reversal.booking_date >= original.booking_date);
        prop_assert_eq!(world.calendar.period_of(reversal.booking_date).fiscal_year, reversal.period.fiscal_year);
        for (account, sum) in balances([&original, &reversal]) {
            prop_assert!(sum.is_zero(), "account {} is off by {}", account, sum);
        }
        let mut own: HashMap<(String, &str), Decimal> = HashMap::new();
        for l in original.lines.iter().chain(&reversal.lines) {
            let signed = if l.side == Side::Debit { l.amount } else { -l.amount };
            *own.entry((l.account.clone(), l.currency.code())).or_default() += signed;
        }
        prop_assert!(own.values().all(|v| v.is_zero()), "{:?}", own);
    }

    /// The dating rule: the earliest regular period after p that is not closed.
    #[test]
    fn dating_rule(
        closed in prop::collection::btree_set((2024i32..=2027, 1u8..=13), 0..60),
        p in (2024i32..=2027, 1u8..=13),
    ) {
        let closed: HashSet<PeriodId> = closed
            .into_iter()
            .map(|(fiscal_year, number)| PeriodId { fiscal_year, number })
            .collect();
        let p = PeriodId { fiscal_year: p.0, number: p.1 };
        let r = first_open_after(&closed, p).unwrap();
        prop_assert!(!closed.contains(&r));
        prop_assert!((1..=12).contains(&r.number));
        prop_assert!(r > p);
        let mut q = p.next_regular().unwrap();
        while q < r {
            prop_assert!(closed.contains(&q), "{} is open and before {}", q, r);
            q = q.next_regular().unwrap();
        }
    }
}

#[test]
fn dating_rule_at_the_edges() {
    let none = HashSet::new();
    let max = PeriodId {
        fiscal_year: i32::MAX,
        number: 12,
    };
    assert_eq!(first_open_after(&none, max), None);
    let p = PeriodId {
        fiscal_year: 2026,
        number: 13,
    };
    assert_eq!(first_open_after(&none, p).unwrap().to_string(), "2027-01");
}

// ---------------------------------------------------------------------------------------------
// Nothing panics
// ---------------------------------------------------------------------------------------------

/// Any Decimal, from its raw parts.
fn any_decimal() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        (
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            any::<bool>(),
            0u32..=28
        )
            .prop_map(|(lo, mid, hi, neg, scale)| Decimal::from_parts(lo, mid, hi, neg, scale)),
        (any::<i64>(), 0u32..=28).prop_map(|(m, s)| Decimal::new(m, s)),
        Just(Decimal::MAX),
        Just(Decimal::MIN),
        Just(Decimal::new(1, 28)),
        Just(Decimal::ZERO),
    ]
}

fn any_input() -> impl Strategy<Value = BookingLineInput> {
    (
        prop::sample::select(vec!["1200", "1600", "3425", "4900", "4999", "0000"]),
        prop::option::of(any_decimal()),
        prop::option::of(any_decimal()),
        prop::option::of(prop::sample::select(vec![
            "VSt19",
            "RC19",
            "Absurd",
            "Rand",
            "Alt16",
            "NoAccount",
            "MissingOwn",
            "Nope",
        ])),
    )
        .prop_map(|(account, debit, credit, tax)| BookingLineInput {
            account: account.into(),
            debit,
            credit,
            tax_code: tax.map(str::to_string),
            description: None,
            cost_center: None,
        })
}

fn any_period() -> impl Strategy<Value = PeriodId> {
    prop_oneof![
        (any::<i32>(), any::<u8>()),
        (-5000i32..=300_000, 0u8..=14),
        (262_140i32..=262_145, 1u8..=13),
    ]
    .prop_map(|(fiscal_year, number)| PeriodId {
        fiscal_year,
        number,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Any command, any amounts, any rate: a typed result, never a panic. What is accepted
    /// balances and stays within the per-line limit.
    #[test]
    fn decisions_never_panic(
        inputs in prop::collection::vec(any_input(), 0..6),
        fx in prop::option::of((prop::sample::select(vec!["USD", "JPY", "KWD", "EUR", "XXX"]), any_decimal())),
        rand_rate in any_decimal(),
        date in (-200_000i32..=200_000, 1u32..=366),
        first_month in 1u32..=12,
        adjustment in any::<bool>(),
        fx_rounding in any::<bool>(),
        closed in prop::collection::vec(any_period(), 0..4),
        original_period in any_period(),
        negative in any::<bool>(),
    ) {
        let mut world = World {
            calendar: journal::FiscalCalendar::new(first_month).unwrap(),
            ..World::default()
        };
        world.tax_codes.insert("Rand".into(), TaxCode {
            code: "Rand".into(),
            rate: rand_rate,
            vat_account: Some("1576".into()),
            self_assess_account: Some("1787".into()),
            is_active: true,
        });
        if !fx_rounding {
            world.fx_rounding_account = None;
        }
        world.closed_periods = closed.iter().copied().collect();
        let on = NaiveDate::from_yo_opt(date.0, date.1)
            .or_else(|| NaiveDate::from_yo_opt(date.0, 1))
            .unwrap_or(NaiveDate::MAX);
        let mut cmd = booking("2026-01-01", inputs.clone());
        cmd.booking_date = on;
        cmd.adjustment_period = adjustment;
        cmd.fx = fx.map(|(currency, rate)| Fx { currency: currency.into(), rate });
        if let Ok(intent) = decide_booking(&world.ctx(), &cmd, stamp(1)) {
            assert_balanced(&intent)?;
            // The payload of every line encodes and decodes.
            for i in 0..intent.lines.len() {
                let p = intent.payload(Uuid::nil(), 1, i).unwrap();
                let _ = EventPayload::from_value(&p.to_value());
            }
        }
        let ob = OpeningBalanceCommand { booking_date: on, description: None, balances: inputs.clone() };
        if let Ok(intent) = decide_opening_balances(&world.ctx(), &ob, stamp(1)) {
            assert_balanced(&intent)?;
        }

        // A reversal of whatever lines, in whatever period.
        let lines: Vec<JournalLine> = inputs
            .iter()
            .map(|l| JournalLine {
                account: l.account.clone(),
                side: if l.debit.is_some() { Side::Debit } else { Side::Credit },
                amount: l.debit.or(l.credit).unwrap_or_default(),
                currency: Currency::EUR,
                base_amount: l.credit.or(l.debit).unwrap_or_default(),
                tax_code: None,
                tax_rate: None,
                generated: None,
                description: None,
                cost_center: None,
            })
            .collect();
        world.closed_periods.insert(original_period);
        let original = OriginalIntent {
            intent_id: Uuid::nil(),
            kind: IntentKind::Booking,
            booking_date: on,
            period: original_period,
            description: "x".repeat(600),
            fx_rate: None,
            already_reversed: false,
            lines,
        };
        let mode = if negative { PostingMode::Negative } else { PostingMode::Swap };
        let cmd = ReversalCommand { intent_id: Uuid::nil(), reason: "r".into(), posting_mode: mode };
        let _ = decide_reversal(&world.ctx(), &original, &cmd, stamp(2));
        let _ = first_open_after(&world.closed_periods, original_period);
        let _ = world.calendar.checked_bounds(original_period);
    }
}
