//! Pins the bytes that are hashed.
//!
//! Every hash already stored in a database depends on the payload `BookedIntent::event_payload`
//! builds and on `canonical_bytes`. These tests fix the event hashes of a few intents. The
//! constants were recorded from the code as it was before the payload became a typed struct
//! (commit "Pin event hashes"), and the worked example is the one of `docs/audit.md`. If one of
//! them fails, the change would make `kontor verify` reject existing journals: do not update the
//! constants, fix the change.

use chrono::{DateTime, NaiveDate, Utc};
use journal::booking::{
    decide_booking, BookingCommand, BookingContext, BookingLineInput, IntentKind, PostingMode,
    Stamp, TaxCode,
};
use journal::canonical::canonical_bytes;
use journal::chain::{closing_hash, event_hash, to_hex, Hash32, ZERO_HASH};
use journal::{
    AccountRef, Actor, BookedIntent, Currency, FiscalCalendar, Generated, JournalLine, Side,
};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use uuid::Uuid;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn uuid(s: &str) -> Uuid {
    Uuid::parse_str(s).unwrap()
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn meta(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

fn line(account: &str, side: Side, amount: &str, currency: Currency, base: &str) -> JournalLine {
    JournalLine {
        account: account.into(),
        side,
        amount: dec(amount),
        currency,
        base_amount: dec(base),
        tax_code: None,
        tax_rate: None,
        generated: None,
        description: None,
        cost_center: None,
    }
}

/// The hex hashes of the intent's events, chained from `prev`, with the first at `first_seq`.
fn chain(prev: Hash32, tenant: Uuid, first_seq: i64, intent: &BookedIntent) -> Vec<String> {
    let mut last = prev;
    (0..intent.lines.len())
        .map(|i| {
            let payload = intent.event_payload(tenant, first_seq, i);
            last = event_hash(&last, &payload);
            to_hex(&last)
        })
        .collect()
}

const TENANT: &str = "0190a000-0000-7000-8000-000000000001";

fn plain_booking() -> BookedIntent {
    let eur = Currency::EUR;
    BookedIntent {
        intent_id: uuid("0190a000-0000-7000-8000-0000000000a1"),
        kind: IntentKind::Booking,
        booking_date: date("2026-01-31"),
        period: "2026-01".parse().unwrap(),
        description: "Miete Januar".into(),
        external_reference: None,
        document_id: None,
        custom_metadata: None,
        base_currency: eur,
        fx_rate: None,
        reversal_of: None,
        posting_mode: None,
        reason: None,
        actor: Actor::api_key(uuid("0190a000-0000-7000-8000-0000000000f1")),
        recorded_at: at("2026-02-01T08:00:00Z"),
        lines: vec![
            line("4210", Side::Debit, "1200", eur, "1200"),
            line("1200", Side::Credit, "1200.00", eur, "1200.00"),
        ],
    }
}

fn fx_booking() -> BookedIntent {
    let eur = Currency::EUR;
    let usd = Currency::from_code("USD").unwrap();
    let mut net = line("4900", Side::Debit, "100.00", usd, "92.17");
    net.tax_code = Some("VSt19".into());
    net.tax_rate = Some(dec("19.00"));
    net.description = Some("Software-Abo \"Pro\"\n2026/07".into());
    net.cost_center = Some("KST-100".into());
    let mut tax = line("1576", Side::Debit, "19.00", usd, "17.51");
    tax.tax_code = Some("VSt19".into());
    tax.tax_rate = Some(dec("19.00"));
    tax.generated = Some(Generated::Tax);
    tax.cost_center = Some("KST-100".into());
    let mut rounding = line("2150", Side::Debit, "0.01", eur, "0.01");
    rounding.generated = Some(Generated::FxRounding);
    BookedIntent {
        intent_id: uuid("0190a000-0000-7000-8000-0000000000a2"),
        kind: IntentKind::Booking,
        booking_date: date("2026-07-15"),
        period: "2026-07".parse().unwrap(),
        description: "Software-Abo Juli".into(),
        external_reference: Some("US-INV-77".into()),
        document_id: Some(uuid("0190a000-0000-7000-8000-0000000000d1")),
        custom_metadata: Some(meta(json!({"vendor": "ACME Inc.", "b": "2", "a": "1"}))),
        base_currency: eur,
        fx_rate: Some(dec("1.08500")),
        reversal_of: None,
        posting_mode: None,
        reason: None,
        actor: Actor::user(uuid("0190a000-0000-7000-8000-0000000000f2")),
        recorded_at: at("2026-07-15T12:34:56.789012Z"),
        lines: vec![
            net,
            tax,
            line("1600", Side::Credit, "119.00", usd, "109.68"),
            rounding,
        ],
    }
}

fn negative_reversal() -> BookedIntent {
    let eur = Currency::EUR;
    let mut net = line("8400", Side::Credit, "-100.00", eur, "-100.00");
    net.tax_code = Some("USt19".into());
    net.tax_rate = Some(dec("19"));
    let mut tax = line("1776", Side::Credit, "-19.00", eur, "-19.00");
    tax.tax_code = Some("USt19".into());
    tax.tax_rate = Some(dec("19"));
    tax.generated = Some(Generated::Tax);
    BookedIntent {
        intent_id: uuid("0190a000-0000-7000-8000-0000000000a3"),
        kind: IntentKind::Reversal,
        booking_date: date("2026-04-01"),
        period: "2026-04".parse().unwrap(),
        description: "Storno: Rechnung 2026-0042 Müller GmbH — Grüße ✓".into(),
        external_reference: None,
        document_id: None,
        custom_metadata: None,
        base_currency: eur,
        fx_rate: None,
        reversal_of: Some(uuid("0190a000-0000-7000-8000-0000000000a0")),
        posting_mode: Some(PostingMode::Negative),
        reason: Some("falscher Kunde\t(Tippfehler) \u{1}\u{7f}/".into()),
        actor: Actor::system("migration"),
        recorded_at: at("2026-04-02T00:00:00.000001Z"),
        lines: vec![
            line("1400", Side::Debit, "-119.00", eur, "-119.00"),
            net,
            tax,
        ],
    }
}

fn swap_reversal_adjustment_jpy() -> BookedIntent {
    let eur = Currency::EUR;
    let jpy = Currency::from_code("JPY").unwrap();
    let mut ob = line("9000", Side::Debit, "5000", eur, "5000");
    ob.generated = Some(Generated::OpeningBalance);
    ob.description = Some("Saldenvortrag Kasse".into());
    let mut a = line("1000", Side::Credit, "5000", jpy, "31.25");
    a.description = Some(String::new());
    BookedIntent {
        intent_id: uuid("0190a000-0000-7000-8000-0000000000a4"),
        kind: IntentKind::Reversal,
        booking_date: date("2026-12-31"),
        period: "2026-13".parse().unwrap(),
        description: "Storno: Saldenvortrag".into(),
        external_reference: Some("".into()),
        document_id: None,
        custom_metadata: Some(Map::new()),
        base_currency: eur,
        fx_rate: Some(dec("160")),
        reversal_of: Some(uuid("0190a000-0000-7000-8000-0000000000a5")),
        posting_mode: Some(PostingMode::Swap),
        reason: Some("doppelt".into()),
        actor: Actor::api_key(uuid("0190a000-0000-7000-8000-0000000000f1")),
        recorded_at: at("2026-12-31T23:59:59.999999Z"),
        lines: vec![a, ob],
    }
}

fn opening_balance() -> BookedIntent {
    let eur = Currency::EUR;
    let mut bank = line("1200", Side::Debit, "12345.67", eur, "12345.67");
    bank.description = Some("Bank".into());
    let mut ob = line("9000", Side::Credit, "12345.67", eur, "12345.67");
    ob.description = Some("Bank".into());
    ob.generated = Some(Generated::OpeningBalance);
    BookedIntent {
        intent_id: uuid("0190a000-0000-7000-8000-0000000000a6"),
        kind: IntentKind::OpeningBalance,
        booking_date: date("2026-01-01"),
        period: "2026-01".parse().unwrap(),
        description: "Saldenvortrag".into(),
        external_reference: None,
        document_id: None,
        custom_metadata: None,
        base_currency: eur,
        fx_rate: None,
        reversal_of: None,
        posting_mode: None,
        reason: None,
        actor: Actor::user(uuid("0190a000-0000-7000-8000-0000000000f2")),
        recorded_at: at("2026-01-01T00:00:00.5Z"),
        lines: vec![bank, ob],
    }
}

#[test]
fn pinned_event_hashes() {
    let tenant = uuid(TENANT);
    let cases: Vec<(&str, BookedIntent, Hash32, i64, &[&str])> = vec![
        ("plain booking", plain_booking(), ZERO_HASH, 1, PLAIN),
        ("fx booking", fx_booking(), [0x11; 32], 3, FX),
        (
            "negative reversal",
            negative_reversal(),
            [0xab; 32],
            7,
            NEGATIVE,
        ),
        (
            "swap reversal",
            swap_reversal_adjustment_jpy(),
            [0x00; 32],
            1_000_000_000_001,
            SWAP,
        ),
        (
            "opening balance",
            opening_balance(),
            [0xff; 32],
            42,
            OPENING,
        ),
    ];
    let mut failures = Vec::new();
    for (name, intent, prev, first_seq, want) in cases {
        let got = chain(prev, tenant, first_seq, &intent);
        if got != want {
            eprintln!("{name}: got {got:?}");
        }
        if got != want {
            failures.push(name);
        }
    }
    assert!(failures.is_empty(), "hashes changed for {failures:?}");
}

#[test]
fn pinned_canonical_text() {
    let tenant = uuid(TENANT);
    let text = String::from_utf8(canonical_bytes(
        &negative_reversal().event_payload(tenant, 7, 0),
    ))
    .unwrap();
    assert_eq!(text, NEGATIVE_LINE_1);
    let text =
        String::from_utf8(canonical_bytes(&fx_booking().event_payload(tenant, 3, 1))).unwrap();
    assert_eq!(text, FX_LINE_2);
}

// Recorded from the code before the typed payload (commit "Pin event hashes").
const PLAIN: &[&str] = &[
    "7a0c63196a94942ab2fdd80fcbb56053551065f81c100fe294abc610e83b0403",
    "5a10b80be942244bb1e8338c972f9573c10225323b481c88bb325431a5aacd75",
];
const FX: &[&str] = &[
    "b434b9a37fb2e2393bee1a49be3fdebd0a5ba32837f8cd1b37f3d90c94c87312",
    "bc2269cf073057378f6c19e30b55abec33b91c55a513b74ed9f660fecc400e41",
    "25aea15e609a54822bb75fb3f1d87a5c1dc28ef82c1cce47e62129dcc00224ae",
    "b4d75dad9aca0357bc3c70b287058f6f26e8890b0c23545abc1a73277138fd6a",
];
const NEGATIVE: &[&str] = &[
    "c626208d07d57b75ed209f6ad198538af33f10c986f1d2234ff68c6900fb90a9",
    "0a3f495b3642889062286725de0e6fd4044d8e7367fd3d9ce2d4a774bb2fed82",
    "8de070a52ef14cdffe6d4ae1d57398420c9939567ba8b4104f6b5cf702edbb85",
];
const SWAP: &[&str] = &[
    "ed9aa7b75d1bd3b8d58a6cc864209e45eb7f6254ecee24ec4adfd006c2915fc1",
    "30ee5e615abac75f048b60ee14d21fc90eb3320d39185d9b4e8145287743cfa8",
];
const OPENING: &[&str] = &[
    "908d1e52ab09f87bc00272903ca34ff7a9209c9660af551ee372785ac447dd3e",
    "1e5ed520d0ccddbc36db024752bb99994f4e040121c8338b6c25e159b5856180",
];
const NEGATIVE_LINE_1: &str = "{\"account\":\"1400\",\"actor\":{\"id\":\"migration\",\"kind\":\"system\"},\"amount\":\"-119.00\",\"base_amount\":\"-119.00\",\"base_currency\":\"EUR\",\"booking_date\":\"2026-04-01\",\"cost_center\":null,\"currency\":\"EUR\",\"custom_metadata\":null,\"description\":\"Storno: Rechnung 2026-0042 Müller GmbH — Grüße ✓\",\"document_id\":null,\"external_reference\":null,\"fx_rate\":null,\"generated\":null,\"intent_id\":\"0190a000-0000-7000-8000-0000000000a3\",\"intent_kind\":\"reversal\",\"line\":1,\"line_count\":3,\"line_description\":null,\"period\":\"2026-04\",\"posting_mode\":\"negative\",\"reason\":\"falscher Kunde\\t(Tippfehler) \\u0001\u{7f}/\",\"recorded_at\":\"2026-04-02T00:00:00.000001Z\",\"reversal_of\":\"0190a000-0000-7000-8000-0000000000a0\",\"seq\":7,\"side\":\"debit\",\"tax_code\":null,\"tax_rate\":null,\"tenant_id\":\"0190a000-0000-7000-8000-000000000001\",\"type\":\"journal_line\",\"version\":1}";
const FX_LINE_2: &str = "{\"account\":\"1576\",\"actor\":{\"id\":\"0190a000-0000-7000-8000-0000000000f2\",\"kind\":\"user\"},\"amount\":\"19.00\",\"base_amount\":\"17.51\",\"base_currency\":\"EUR\",\"booking_date\":\"2026-07-15\",\"cost_center\":\"KST-100\",\"currency\":\"USD\",\"custom_metadata\":{\"a\":\"1\",\"b\":\"2\",\"vendor\":\"ACME Inc.\"},\"description\":\"Software-Abo Juli\",\"document_id\":\"0190a000-0000-7000-8000-0000000000d1\",\"external_reference\":\"US-INV-77\",\"fx_rate\":\"1.085\",\"generated\":\"tax\",\"intent_id\":\"0190a000-0000-7000-8000-0000000000a2\",\"intent_kind\":\"booking\",\"line\":2,\"line_count\":4,\"line_description\":null,\"period\":\"2026-07\",\"posting_mode\":null,\"reason\":null,\"recorded_at\":\"2026-07-15T12:34:56.789012Z\",\"reversal_of\":null,\"seq\":4,\"side\":\"debit\",\"tax_code\":\"VSt19\",\"tax_rate\":\"19\",\"tenant_id\":\"0190a000-0000-7000-8000-000000000001\",\"type\":\"journal_line\",\"version\":1}";

// ---- the worked example of docs/audit.md ----

const AUDIT_TENANT: &str = "01a20143-538e-70ca-8495-1bd71a4d5bb8";
const AUDIT_LINE_1: &str = r#"{"account":"1400","actor":{"id":"01a20143-539c-7459-ac11-a914a34fc063","kind":"api_key"},"amount":"119.00","base_amount":"119.00","base_currency":"EUR","booking_date":"2026-03-14","cost_center":null,"currency":"EUR","custom_metadata":{"crm_id":"42"},"description":"Rechnung 2026-0042 Müller GmbH","document_id":null,"external_reference":"INV-2026-0042","fx_rate":null,"generated":null,"intent_id":"01a20143-bc4e-758e-a15d-ded2d5dc0be0","intent_kind":"booking","line":1,"line_count":3,"line_description":null,"period":"2026-03","posting_mode":null,"reason":null,"recorded_at":"2026-11-22T03:19:06.062782Z","reversal_of":null,"seq":1,"side":"debit","tax_code":null,"tax_rate":null,"tenant_id":"01a20143-538e-70ca-8495-1bd71a4d5bb8","type":"journal_line","version":1}"#;

/// The booking of docs/audit.md, decided as the service decided it (SKR03, USt19 → 1776).
fn audit_intent() -> BookedIntent {
    let accounts: HashMap<String, AccountRef> = ["1400", "8400", "1776"]
        .into_iter()
        .map(|n| {
            (
                n.to_string(),
                AccountRef {
                    number: n.into(),
                    is_active: true,
                },
            )
        })
        .collect();
    let tax_codes: HashMap<String, TaxCode> = [(
        "USt19".to_string(),
        TaxCode {
            code: "USt19".into(),
            rate: dec("19.00"),
            vat_account: Some("1776".into()),
            self_assess_account: None,
            is_active: true,
        },
    )]
    .into();
    let empty_p = HashSet::new();
    let empty_s = HashSet::new();
    let empty_d = HashSet::new();
    let ctx = BookingContext {
        base_currency: Currency::EUR,
        calendar: FiscalCalendar::default(),
        accounts: &accounts,
        tax_codes: &tax_codes,
        closed_periods: &empty_p,
        booked_external_references: &empty_s,
        documents: &empty_d,
        fx_rounding_account: Some("2150"),
        opening_balance_account: Some("9000"),
    };
    let input = |account: &str, debit: Option<&str>, credit: Option<&str>, tax: Option<&str>| {
        BookingLineInput {
            account: account.into(),
            debit: debit.map(dec),
            credit: credit.map(dec),
            tax_code: tax.map(str::to_string),
            description: None,
            cost_center: None,
        }
    };
    let cmd = BookingCommand {
        booking_date: date("2026-03-14"),
        description: "Rechnung 2026-0042 Müller GmbH".into(),
        lines: vec![
            input("1400", Some("119.00"), None, None),
            input("8400", None, Some("100.00"), Some("USt19")),
        ],
        skip_duplicate_check: false,
        adjustment_period: false,
        fx: None,
        external_reference: Some("INV-2026-0042".into()),
        custom_metadata: Some(meta(json!({"crm_id": "42"}))),
        document_id: None,
    };
    decide_booking(
        &ctx,
        &cmd,
        Stamp {
            intent_id: uuid("01a20143-bc4e-758e-a15d-ded2d5dc0be0"),
            actor: Actor::api_key(uuid("01a20143-539c-7459-ac11-a914a34fc063")),
            recorded_at: at("2026-11-22T03:19:06.062782Z"),
        },
    )
    .unwrap()
}

#[test]
fn audit_worked_example() {
    let tenant = uuid(AUDIT_TENANT);
    let intent = audit_intent();
    assert_eq!(intent.lines.len(), 3);

    // Step 2: the canonical bytes of seq 1, 765 bytes.
    let bytes = canonical_bytes(&intent.event_payload(tenant, 1, 0));
    assert_eq!(bytes.len(), 765);
    assert_eq!(String::from_utf8(bytes.clone()).unwrap(), AUDIT_LINE_1);

    // Step 2 also holds for the payload as PostgreSQL's jsonb returns it (other key order,
    // spaces), read back through serde_json.
    let from_db: Value = serde_json::from_str(
        r#"{"seq": 1, "line": 1, "side": "debit", "type": "journal_line", "actor": {"id": "01a20143-539c-7459-ac11-a914a34fc063", "kind": "api_key"}, "amount": "119.00", "period": "2026-03", "reason": null, "account": "1400", "fx_rate": null, "version": 1, "currency": "EUR", "tax_code": null, "tax_rate": null, "generated": null, "intent_id": "01a20143-bc4e-758e-a15d-ded2d5dc0be0", "tenant_id": "01a20143-538e-70ca-8495-1bd71a4d5bb8", "line_count": 3, "base_amount": "119.00", "cost_center": null, "description": "Rechnung 2026-0042 Müller GmbH", "document_id": null, "intent_kind": "booking", "recorded_at": "2026-11-22T03:19:06.062782Z", "reversal_of": null, "booking_date": "2026-03-14", "posting_mode": null, "base_currency": "EUR", "custom_metadata": {"crm_id": "42"}, "line_description": null, "external_reference": "INV-2026-0042"}"#,
    )
    .unwrap();
    assert_eq!(canonical_bytes(&from_db), bytes);

    // Step 3: blake3(32 zero bytes ‖ the 765 bytes).
    let mut input = vec![0u8; 32];
    input.extend_from_slice(&bytes);
    assert_eq!(input.len(), 797);
    assert_eq!(
        blake3::hash(&input).to_hex().as_str(),
        "2f322c028a541979d4071ec5e2f1f7242e2b95b08054939dd6bb01b71e942c92"
    );

    // Step 4: the chain of seq 1 to 3.
    let hashes = chain(ZERO_HASH, tenant, 1, &intent);
    assert_eq!(
        hashes,
        [
            "2f322c028a541979d4071ec5e2f1f7242e2b95b08054939dd6bb01b71e942c92",
            "1b040999efe1d1567ab9f49bb453e9748a707f62684db3bceaa93e9ee7d0d8b0",
            "80dd5717fe4a24c7bc2c6793565b1129bf44ed1d1995a1f6ab4f77c39464df6f",
        ]
    );

    // Step 5: closing hashes of 2026-01 (empty), 2026-02 (empty), 2026-03 (seq 1 to 3).
    let c1 = closing_hash(&ZERO_HASH, "2026-01", []);
    let c2 = closing_hash(&c1, "2026-02", []);
    let march: Vec<Hash32> = hashes
        .iter()
        .map(|h| journal::chain::from_hex(h).unwrap())
        .collect();
    let c3 = closing_hash(&c2, "2026-03", &march);
    assert_eq!(
        [to_hex(&c1), to_hex(&c2), to_hex(&c3)],
        [
            "3c12e4b843f09bdf8996e0aacab0aa0f79ff04ee1ff8dc29f9ddce3173353f81",
            "4c20fbdbd5a9ceeac21ca294fa4020859b31ab79ab74c76e1136cb88f34c105e",
            "bb44df47c37259a82498347019497441137ca5e4d88e0ae2ce8c8a29ba7a3a9c",
        ]
    );
}
