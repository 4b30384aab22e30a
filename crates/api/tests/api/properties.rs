//! Property tests: random valid bookings keep the books balanced and every account's balance
//! equal to the sum of its entries; concurrent posting keeps `seq` gapless and the chain valid.

use crate::common::*;
use crate::helpers::*;
use futures_util::StreamExt;
use journal::chain::{ChainVerifier, Hash32};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Active SKR03 accounts the random bookings use.
const ACCOUNTS: [&str; 12] = [
    "1000", "1200", "1400", "1600", "4210", "4920", "4930", "3400", "8400", "8300", "0800", "2650",
];

/// (code, rate, vat account, self-assessment account) as seeded for SKR03; None = no tax code.
type SeededCode = Option<(&'static str, i64, &'static str, Option<&'static str>)>;

const CODES: [SeededCode; 9] = [
    None,
    None,
    Some(("USt19", 19, "1776", None)),
    Some(("USt7", 7, "1771", None)),
    Some(("VSt19", 19, "1576", None)),
    Some(("VSt7", 7, "1571", None)),
    Some(("RC19", 19, "1577", Some("1787"))),
    Some(("IGE19", 19, "1574", Some("1774"))),
    Some(("USt0", 0, "", None)),
];

#[derive(Debug, Clone)]
struct Leg {
    account: usize,
    cents: i64,
    code: usize,
}

#[derive(Debug, Clone)]
struct RandomBooking {
    legs: Vec<Leg>,
    counter: usize,
    legs_on_debit: bool,
    month: u32,
    day: u32,
    adjustment: bool,
}

fn booking_strategy() -> impl Strategy<Value = RandomBooking> {
    let leg =
        (0..ACCOUNTS.len(), 1i64..5_000_000, 0..CODES.len()).prop_map(|(account, cents, code)| {
            Leg {
                account,
                cents,
                code,
            }
        });
    (
        prop::collection::vec(leg, 1..4),
        0..ACCOUNTS.len(),
        any::<bool>(),
        1u32..=12,
        1u32..=28,
        prop::bool::weighted(0.15),
    )
        .prop_map(
            |(legs, counter, legs_on_debit, month, day, adjustment)| RandomBooking {
                legs,
                counter,
                legs_on_debit,
                month,
                day,
                adjustment,
            },
        )
}

fn money(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

fn round2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

impl RandomBooking {
    fn date(&self) -> String {
        format!("2026-{:02}-{:02}", self.month, self.day)
    }

    /// The request body, the number of lines the service should write, and what each account
    /// should move by (debit-positive).
    fn expand(&self) -> (Value, usize, BTreeMap<&'static str, Decimal>) {
        let sign = if self.legs_on_debit {
            Decimal::ONE
        } else {
            -Decimal::ONE
        };
        let side = if self.legs_on_debit {
            "debit"
        } else {
            "credit"
        };
        let other = if self.legs_on_debit {
            "credit"
        } else {
            "debit"
        };
        let mut moves: BTreeMap<&'static str, Decimal> = BTreeMap::new();
        let mut lines = Vec::new();
        let mut count = 0;
        let mut counter_amount = Decimal::ZERO;
        for leg in &self.legs {
            let net = money(leg.cents);
            let mut line = json!({"account": ACCOUNTS[leg.account], side: net.to_string()});
            *moves.entry(ACCOUNTS[leg.account]).or_default() += sign * net;
            counter_amount += net;
            count += 1;
            if let Some((code, rate, vat, own)) = CODES[leg.code] {
                line["tax_code"] = json!(code);
                let tax = round2(net * Decimal::from(rate) / Decimal::ONE_HUNDRED);
                if !tax.is_zero() {
                    *moves.entry(vat).or_default() += sign * tax;
                    count += 1;
                    match own {
                        Some(own) => {
                            *moves.entry(own).or_default() -= sign * tax;
                            count += 1;
                        }
                        None => counter_amount += tax,
                    }
                }
            }
            lines.push(line);
        }
        lines.push(json!({"account": ACCOUNTS[self.counter], other: counter_amount.to_string()}));
        *moves.entry(ACCOUNTS[self.counter]).or_default() -= sign * counter_amount;
        count += 1;
        let mut body = booking(&self.date(), Value::Array(lines));
        if self.adjustment {
            body["adjustment_period"] = json!(true);
        }
        (body, count, moves)
    }
}

async fn check_case(
    app: &TestApp,
    bookings: Vec<RandomBooking>,
    range: (u32, u32),
) -> Result<(), TestCaseError> {
    let app = as_tenant(app, app.other_tenant().await);
    let mut model: BTreeMap<&'static str, Decimal> = BTreeMap::new();
    let mut lines = 0;
    for b in &bookings {
        let (body, count, moves) = b.expand();
        let res = app.post("/v1/bookings", body.clone()).await;
        prop_assert_eq!(res.status.as_u16(), 201, "{} for {}", res.body, body);
        prop_assert_eq!(
            res.body["event_count"].as_u64(),
            Some(count as u64),
            "{}",
            body
        );
        lines += count;
        for (account, amount) in moves {
            *model.entry(account).or_default() += amount;
        }
    }

    let db = sql().await;
    let row = db
        .query_one(
            "SELECT (SELECT coalesce(sum(debit - credit), 0) FROM account_balances WHERE tenant_id = $1),
                    (SELECT coalesce(sum(debit), 0) FROM entries WHERE tenant_id = $1),
                    (SELECT coalesce(sum(credit), 0) FROM entries WHERE tenant_id = $1),
                    (SELECT count(*) FROM entries WHERE tenant_id = $1),
                    (SELECT coalesce(array_agg(seq ORDER BY seq), '{}') FROM journal_events WHERE tenant_id = $1)",
            &[&app.tenant.id],
        )
        .await
        .unwrap();
    prop_assert_eq!(
        row.get::<_, Decimal>(0),
        Decimal::ZERO,
        "trial balance is not zero"
    );
    prop_assert_eq!(
        row.get::<_, Decimal>(1),
        row.get::<_, Decimal>(2),
        "entries: debit != credit"
    );
    prop_assert_eq!(row.get::<_, i64>(3), lines as i64);
    prop_assert_eq!(
        row.get::<_, Vec<i64>>(4),
        (1..=lines as i64).collect::<Vec<_>>()
    );

    let stored: BTreeMap<String, Decimal> = db
        .query(
            "SELECT account, sum(debit - credit) FROM account_balances WHERE tenant_id = $1 GROUP BY account",
            &[&app.tenant.id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let (start, end) = (
        format!("2026-{:02}-01", range.0),
        format!("2026-{:02}-15", range.1),
    );
    for (account, expected) in &model {
        prop_assert_eq!(
            stored.get(*account).copied().unwrap_or_default(),
            *expected,
            "account_balances of {}",
            account
        );
        let (all, balance) = entries(&app, account, "limit=500").await;
        prop_assert_eq!(balance, *expected, "balance of {}", account);
        prop_assert_eq!(sum_entries(&all), balance, "entries of {}", account);
        let (some, balance) = entries(
            &app,
            account,
            &format!("startDate={start}&endDate={end}&limit=500"),
        )
        .await;
        prop_assert_eq!(
            sum_entries(&some),
            balance,
            "entries of {} from {} to {}",
            account,
            start,
            end
        );
    }
    Ok(())
}

#[test]
fn random_valid_bookings_keep_the_books_balanced() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = rt.block_on(spawn_app());
    let mut runner = TestRunner::new(Config {
        cases: 16,
        max_shrink_iters: 64,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        prop::collection::vec(booking_strategy(), 1..=10),
        (1u32..=12).prop_flat_map(|s| (Just(s), s..=12)),
    );
    let result = runner.run(&strategy, |(bookings, range)| {
        rt.block_on(check_case(&app, bookings, range))
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

fn hash32(bytes: &[u8]) -> Hash32 {
    bytes.try_into().expect("32-byte hash")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_posting_keeps_seq_gapless_and_the_chain_valid() {
    let app = spawn_app_with(
        api::ApiConfig {
            workers: 2,
            ..Default::default()
        },
        "skr03",
    )
    .await;
    let bodies: Vec<Value> = (0..200)
        .map(|i| {
            let date = format!("2026-{:02}-{:02}", i % 12 + 1, i % 28 + 1);
            let cents = 100 + i as i64;
            let mut body = match i % 3 {
                0 => transfer(&date, "1200", "8400", &money(cents).to_string()),
                1 => {
                    let net = money(cents);
                    let gross = net + round2(net * Decimal::from(19) / Decimal::ONE_HUNDRED);
                    sale(&date, &net.to_string(), &gross.to_string())
                }
                _ => booking(
                    &date,
                    json!([{"account": "3125", "debit": money(cents).to_string(), "tax_code": "RC19"},
                           {"account": "1600", "credit": money(cents).to_string()}]),
                ),
            };
            body["external_reference"] = json!(format!("C-{i}"));
            body
        })
        .collect();
    let results: Vec<Res> =
        futures_util::stream::iter(bodies.into_iter().map(|b| app.post("/v1/bookings", b)))
            .buffer_unordered(32)
            .collect()
            .await;
    let mut total = 0i64;
    for r in &results {
        total += r.expect(201, None)["event_count"].as_i64().unwrap();
    }
    // 67 transfers (2 lines), 67 sales (3 lines), 66 reverse-charge purchases (4 lines).
    assert_eq!(total, 67 * 2 + 67 * 3 + 66 * 4);

    let db = sql().await;
    let seqs: Vec<i64> = db
        .query(
            "SELECT seq FROM journal_events WHERE tenant_id = $1 ORDER BY seq",
            &[&app.tenant.id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(seqs, (1..=total).collect::<Vec<_>>());
    let head = db
        .query_one(
            "SELECT last_seq, last_hash FROM journal_heads WHERE tenant_id = $1",
            &[&app.tenant.id],
        )
        .await
        .unwrap();
    assert_eq!(head.get::<_, i64>(0), total);

    let events = app.store.events(app.tenant.id, 1, 10_000).await.unwrap();
    assert_eq!(events.len() as i64, total);
    let mut verifier = ChainVerifier::default();
    for e in &events {
        assert_eq!(e.payload["seq"].as_i64(), Some(e.seq));
        verifier
            .check(e.seq, &hash32(&e.prev_hash), &hash32(&e.hash), &e.payload)
            .unwrap_or_else(|b| panic!("chain breaks: {b}"));
    }
    assert_eq!(verifier.verified(), total);
    assert_eq!(head.get::<_, Vec<u8>>(1), events.last().unwrap().hash);

    // Each intent got one contiguous block of seqs, and the books balance.
    let intents = db
        .query(
            "SELECT i.first_seq, i.event_count, min(j.seq), max(j.seq), count(*) FROM intents i
               JOIN journal_events j ON j.tenant_id = i.tenant_id AND j.intent_id = i.intent_id
              WHERE i.tenant_id = $1 GROUP BY i.intent_id, i.first_seq, i.event_count",
            &[&app.tenant.id],
        )
        .await
        .unwrap();
    assert_eq!(intents.len(), 200);
    for r in &intents {
        let (first, count): (i64, i32) = (r.get(0), r.get(1));
        assert_eq!(
            (r.get::<_, i64>(2), r.get::<_, i64>(3), r.get::<_, i64>(4)),
            (first, first + count as i64 - 1, count as i64)
        );
    }
    let zero: Decimal = db
        .query_one(
            "SELECT coalesce(sum(debit - credit), 0) FROM account_balances WHERE tenant_id = $1",
            &[&app.tenant.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(zero, Decimal::ZERO);
}
