//! The audit event stream and the property that everything always verifies (issue 3).

use crate::common::*;
use journal::chain::{from_hex, ChainVerifier};
use proptest::prelude::*;
use reqwest::Method;
use serde_json::{json, Value};

fn parse_ndjson(bytes: &[u8]) -> Vec<Value> {
    std::str::from_utf8(bytes)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn audit_events_stream_the_chain_as_ndjson_in_pages() {
    let app = spawn_app().await;
    app.book_ok(sale("2026-03-14", "100.00", "119.00")).await;
    app.book_ok(sale("2026-03-15", "10.00", "11.90")).await;
    let res = app.get("/v1/audit/events?limit=4").await;
    res.expect(200, None);
    assert_eq!(res.headers["content-type"], "application/x-ndjson");
    assert_eq!(res.headers["x-next-from-seq"], "5");
    let first = parse_ndjson(&res.bytes);
    assert_eq!(first.len(), 4);
    let res = app.get("/v1/audit/events?from_seq=5&limit=4").await;
    let second = parse_ndjson(&res.bytes);
    assert_eq!(second.len(), 2);
    let mut verifier = ChainVerifier::default();
    for e in first.iter().chain(&second) {
        let prev = from_hex(e["prev_hash"].as_str().unwrap()).unwrap();
        let hash = from_hex(e["hash"].as_str().unwrap()).unwrap();
        verifier
            .check(e["seq"].as_i64().unwrap(), &prev, &hash, &e["payload"])
            .unwrap();
        assert_eq!(e["payload"]["actor"]["kind"], "api_key");
        assert!(e["payload"]["recorded_at"].as_str().unwrap().ends_with('Z'));
    }
    assert_eq!(verifier.verified(), 6);
    assert_eq!(first[0]["prev_hash"], "0".repeat(64));
    // A malformed from_seq falls back to 1.
    let res = app.get("/v1/audit/events?from_seq=abc").await;
    assert_eq!(parse_ndjson(&res.bytes).len(), 6);
}

#[tokio::test]
async fn audit_events_need_the_audit_scope_and_stay_within_the_tenant() {
    let app = spawn_app().await;
    app.book_ok(sale("2026-03-14", "100.00", "119.00")).await;
    let other = app.other_tenant().await;
    let res = app
        .send(Method::GET, "/v1/audit/events", Some(&other.key), None)
        .await;
    res.expect(200, None);
    assert!(parse_ndjson(&res.bytes).is_empty());
    let journal_only = app.key_with_scopes(&["journal:read"]).await;
    app.send(Method::GET, "/v1/audit/events", Some(&journal_only), None)
        .await
        .expect(403, Some("scope_missing"));
    app.send(Method::GET, "/v1/audit/events", None, None)
        .await
        .expect(401, Some("unauthenticated"));
    let auditor = app.key_with_scopes(&["audit:read"]).await;
    app.send(Method::GET, "/v1/audit/events", Some(&auditor), None)
        .await
        .expect(200, None);
}

#[derive(Debug, Clone)]
enum Step {
    Book { month: u32, net: u32 },
    Reverse { which: usize, negative: bool },
    SoftLock { month: u32 },
    Lock,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (1u32..=6, 1u32..100_000).prop_map(|(month, net)| Step::Book { month, net }),
        2 => (0usize..50, any::<bool>()).prop_map(|(which, negative)| Step::Reverse { which, negative }),
        1 => (1u32..=6).prop_map(|month| Step::SoftLock { month }),
        1 => Just(Step::Lock),
    ]
}

/// Any sequence of bookings, reversals, soft locks and locks leaves a ledger whose events and
/// closing hashes all verify, with the trial balance at zero.
#[test]
fn random_histories_always_verify() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: 8,
        ..Default::default()
    });
    runner
        .run(&proptest::collection::vec(step(), 5..25), |steps| {
            runtime.block_on(async {
                let app = spawn_app().await;
                let approver = app.key_with_scopes(&["*"]).await;
                let mut intents: Vec<String> = Vec::new();
                let mut next_lock = 1u32;
                for s in &steps {
                    match s {
                        Step::Book { month, net } => {
                            let net = format!("{}.{:02}", net / 100, net % 100);
                            let body = json!({"booking_date": format!("2026-{month:02}-10"), "description": "p",
                                "lines": [{"account": "1400", "debit": net}, {"account": "8400", "credit": net}]});
                            let res = app.post("/v1/bookings", body).await;
                            match res.status.as_u16() {
                                201 => intents.push(res.body["intent_id"].as_str().unwrap().to_string()),
                                409 => assert_eq!(res.body["code"], "period_locked"),
                                s => panic!("booking: {s} {}", res.body),
                            }
                        }
                        Step::Reverse { which, negative } if !intents.is_empty() => {
                            let id = &intents[which % intents.len()];
                            let mode = if *negative { "negative" } else { "swap" };
                            let res = app.post("/v1/journal/reverse", json!({"intent_id": id, "reason": "p", "posting_mode": mode})).await;
                            assert!(
                                matches!(res.status.as_u16(), 201 | 409),
                                "reverse: {} {}",
                                res.status,
                                res.body
                            );
                        }
                        Step::Reverse { .. } => {}
                        Step::SoftLock { month } => {
                            let res = app.post(&format!("/v1/periods/2026-{month:02}/soft-lock"), json!(null)).await;
                            assert!(matches!(res.status.as_u16(), 200 | 409), "soft-lock: {}", res.body);
                        }
                        Step::Lock if next_lock <= 6 => {
                            let res = app.post(&format!("/v1/periods/2026-{next_lock:02}/lock"), json!(null)).await;
                            let id = res.expect(201, None)["request_id"].as_str().unwrap().to_string();
                            let res = app
                                .send(Method::POST, &format!("/v1/periods/2026-{next_lock:02}/lock/{id}/approve"), Some(&approver), None)
                                .await;
                            res.expect(200, None);
                            next_lock += 1;
                        }
                        Step::Lock => {}
                    }
                }
                // Every event and closing hash verifies.
                let events = app.store.events(app.tenant.id, 1, 100_000).await.unwrap();
                let mut verifier = ChainVerifier::default();
                for e in &events {
                    let prev: [u8; 32] = e.prev_hash.clone().try_into().unwrap();
                    let hash: [u8; 32] = e.hash.clone().try_into().unwrap();
                    verifier.check(e.seq, &prev, &hash, &e.payload).unwrap();
                }
                let mut previous = [0u8; 32];
                for c in app.store.closings(app.tenant.id).await.unwrap() {
                    let hashes: Vec<[u8; 32]> = events
                        .iter()
                        .filter(|e| e.payload["period"] == c.period.as_str())
                        .map(|e| e.hash.clone().try_into().unwrap())
                        .collect();
                    let computed = journal::chain::closing_hash(&previous, &c.period, &hashes);
                    assert_eq!(computed.to_vec(), c.closing_hash, "closing hash of {}", c.period);
                    previous = computed;
                }
                // The trial balance is zero.
                let a = app.balance("1400").await;
                let b = app.balance("8400").await;
                let a: rust_decimal::Decimal = a.parse().unwrap();
                let b: rust_decimal::Decimal = b.parse().unwrap();
                assert!((a + b).is_zero());
            });
            Ok(())
        })
        .unwrap();
}
