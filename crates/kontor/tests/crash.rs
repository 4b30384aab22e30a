//! An `Idempotency-Key` survives a crash between the commit and the answer.
//!
//! The server runs as its own process (`kontor serve`) with the test-only fault hook
//! `KONTOR_FAULT=after_append_commit`: it aborts right after the write path committed a batch,
//! before any client got its answer, as `kill -9` would. The clients retry against a fresh
//! server: every booking exists exactly once and every retry gets the original 201 body.

mod common;

use common::*;
use serde_json::{json, Value};
use std::process::Command;

async fn post(
    client: &reqwest::Client,
    server: &Server,
    key: &str,
    token: &str,
    i: usize,
) -> reqwest::Result<reqwest::Response> {
    client
        .post(format!("{}/v1/bookings", server.address))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&sale(i))
        .send()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_after_a_crash_between_commit_and_answer_book_once_and_replay_the_original() {
    let store = store().await;
    let (tenant_id, token, _) = tenant_with_slug(&store, "crash").await;
    let client = reqwest::Client::new();

    // 16 requests in flight; the server dies right after the first batch commits.
    let doomed = start(&[("KONTOR_FAULT", "after_append_commit")]).await;
    let keys: Vec<String> = (0..16).map(|i| format!("crash-{i}")).collect();
    let first = futures_util::future::join_all(
        keys.iter()
            .enumerate()
            .map(|(i, k)| post(&client, &doomed, k, &token, i)),
    )
    .await;
    assert!(
        first.iter().all(|r| r.is_err()),
        "no request may have been answered: the server aborted after the commit"
    );
    let mut doomed = doomed;
    let status = doomed.child.wait().unwrap();
    assert!(!status.success(), "the fault hook aborted the server");
    let db = store.client().await.unwrap();
    let committed: i64 = db
        .query_one(
            "SELECT count(*) FROM intents WHERE tenant_id = $1",
            &[&tenant_id],
        )
        .await
        .unwrap()
        .get(0);
    assert!(committed >= 1, "the first batch committed before the abort");

    // Every client retries against a fresh server.
    let server = start(&[]).await;
    let mut replayed = 0;
    let mut ids = std::collections::BTreeMap::new();
    for (i, k) in keys.iter().enumerate() {
        let res = post(&client, &server, k, &token, i).await.unwrap();
        assert_eq!(res.status().as_u16(), 201, "retry of {k}");
        if res.headers().get("idempotent-replayed").is_some() {
            replayed += 1;
        }
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["event_count"], 2);
        ids.insert(k.clone(), body["intent_id"].as_str().unwrap().to_string());
    }
    assert_eq!(
        replayed, committed,
        "exactly the committed bookings are replayed, the rest booked now"
    );
    let intents: Vec<String> = db
        .query(
            "SELECT intent_id::text FROM intents WHERE tenant_id = $1",
            &[&tenant_id],
        )
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(intents.len(), 16, "each request booked exactly once");
    let answered: std::collections::BTreeSet<&String> = ids.values().collect();
    assert_eq!(answered.len(), 16);
    for id in &intents {
        assert!(answered.contains(id), "intent {id} answered to its client");
    }

    // A second retry replays the same original answer byte for byte.
    let again = post(&client, &server, &keys[0], &token, 0).await.unwrap();
    assert_eq!(again.status().as_u16(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["intent_id"].as_str().unwrap(), ids[&keys[0]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_answer_concurrent_duplicates_with_one_booking() {
    let store = store().await;
    let (tenant_id, token, _) = tenant_with_slug(&store, "replica").await;
    let client = reqwest::Client::new();
    let (a, b) = (start(&[]).await, start(&[]).await);
    for round in 0..5 {
        let key = format!("double-click-{round}");
        // The same request to both replicas at once, several times: the in-process wait on the
        // key does not span replicas; the key's primary key does (the later transaction fails on
        // it and its request replays the stored answer).
        let answers = futures_util::future::join_all((0..8).map(|i| {
            let server = if i % 2 == 0 { &a } else { &b };
            post(&client, server, &key, &token, round)
        }))
        .await;
        let mut ids = std::collections::BTreeSet::new();
        for r in answers {
            let r = r.unwrap();
            assert_eq!(r.status().as_u16(), 201);
            let body: Value = r.json().await.unwrap();
            ids.insert(body["intent_id"].as_str().unwrap().to_string());
        }
        assert_eq!(ids.len(), 1, "round {round}: one booking answered to all");
    }
    let db = store.client().await.unwrap();
    let n: i64 = db
        .query_one(
            "SELECT count(*) FROM intents WHERE tenant_id = $1",
            &[&tenant_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 5, "one booking per key across both replicas");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_decision_fails_its_own_request_and_no_other() {
    let store = store().await;
    let (tenant_id, token, _) = tenant_with_slug(&store, "poison").await;
    let client = reqwest::Client::new();
    // With the test-only hook, the decision of a booking described "poison" panics.
    let server = start(&[("KONTOR_FAULT", "panic_in_decision")]).await;
    let send = |i: usize| {
        let mut body = sale(i);
        if i == 37 {
            body["description"] = json!("poison");
        }
        client
            .post(format!("{}/v1/bookings", server.address))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    // A hundred at once: they share batches with the poisoned one.
    let answers = futures_util::future::join_all((0..100).map(send)).await;
    let mut statuses = std::collections::BTreeMap::new();
    for (i, r) in answers.into_iter().enumerate() {
        let r = r.expect("every request is answered");
        let status = r.status().as_u16();
        *statuses.entry(status).or_insert(0) += 1;
        if i == 37 {
            assert_eq!(status, 500);
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["code"], "internal");
            assert!(body["request_id"].as_str().is_some_and(|s| !s.is_empty()));
        } else {
            assert_eq!(status, 201, "request {i}");
        }
    }
    assert_eq!(statuses[&201], 99);
    // The appender lives on.
    let after = send(200).await.unwrap();
    assert_eq!(after.status().as_u16(), 201);
    let n: i64 = store
        .client()
        .await
        .unwrap()
        .query_one(
            "SELECT count(*) FROM intents WHERE tenant_id = $1",
            &[&tenant_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 100, "99 of the hundred and the one after");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_booking_for_one_tenant_keep_one_gapless_chain() {
    let store = store().await;
    let (tenant_id, token, slug) = tenant_with_slug(&store, "chain").await;
    let client = reqwest::Client::new();
    let (a, b) = (start(&[]).await, start(&[]).await);
    // Each replica has its own appender for the tenant; the journal head's row lock
    // serializes them.
    let answers = futures_util::future::join_all((0..200).map(|i| {
        let server = if i % 2 == 0 { &a } else { &b };
        let body = sale(i);
        let client = &client;
        let token = &token;
        async move {
            client
                .post(format!("{}/v1/bookings", server.address))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    }))
    .await;
    assert!(answers.iter().all(|s| *s == 201), "{answers:?}");
    let db = store.client().await.unwrap();
    let row = db
        .query_one(
            "SELECT count(*), min(seq), max(seq), count(DISTINCT seq) FROM journal_events WHERE tenant_id = $1",
            &[&tenant_id],
        )
        .await
        .unwrap();
    let (n, min, max, distinct): (i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(
        (n, min, max, distinct),
        (400, 1, 400, 400),
        "two events per booking, seq 1..400 without a gap"
    );
    let intents: i64 = db
        .query_one(
            "SELECT count(*) FROM intents WHERE tenant_id = $1",
            &[&tenant_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(intents, 200, "no booking twice, none lost");
    // The chain verifies end to end.
    let out = Command::new(env!("CARGO_BIN_EXE_kontor"))
        .args(["verify", "--tenant", &slug])
        .env("DATABASE_URL", database_url())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
