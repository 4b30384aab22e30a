//! Periods: every transition and every refusal (issue 3).

use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

/// A second principal of the same tenant, for four eyes.
async fn second_key(app: &TestApp) -> String {
    app.key_with_scopes(&["*"]).await
}

async fn post_as(app: &TestApp, key: &str, path: &str) -> Res {
    app.send(Method::POST, path, Some(key), None).await
}

async fn request_lock(app: &TestApp, period: &str) -> String {
    let res = app
        .send(
            Method::POST,
            &format!("/v1/periods/{period}/lock"),
            Some(&app.tenant.key.clone()),
            None,
        )
        .await;
    let body = res.expect(201, None);
    assert_eq!(body["status"], "pending");
    assert_eq!(body["period"], period);
    assert!(body["message"].as_str().is_some());
    body["request_id"].as_str().unwrap().to_string()
}

/// Requests with the tenant's key, approves with `approver`; returns the approve response body.
async fn lock(app: &TestApp, approver: &str, period: &str) -> Value {
    let id = request_lock(app, period).await;
    let res = post_as(
        app,
        approver,
        &format!("/v1/periods/{period}/lock/{id}/approve"),
    )
    .await;
    res.expect(200, None).clone()
}

fn period_of<'a>(list: &'a Value, period: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|p| p["period"] == period)
        .expect("period listed")
}

#[tokio::test]
async fn periods_exist_without_being_created() {
    let app = spawn_app().await;
    let res = app.get("/v1/periods?fiscal_year=2026").await;
    let list = res.expect(200, None);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 13);
    assert_eq!(list[0]["period"], "2026-01");
    assert_eq!(list[0]["start_date"], "2026-01-01");
    assert_eq!(list[1]["end_date"], "2026-02-28");
    assert_eq!(list[12]["period"], "2026-13");
    assert_eq!(list[12]["period_number"], 13);
    assert!(list
        .iter()
        .all(|p| p["status"] == "open" && p["closing_hash"].is_null()));

    // Without fiscal_year: every year with bookings, and the current one.
    app.book_ok(sale("2024-05-02", "10.00", "11.90")).await;
    let res = app.get("/v1/periods").await;
    let all = res.expect(200, None).as_array().unwrap().clone();
    let years: std::collections::BTreeSet<i64> = all
        .iter()
        .map(|p| p["fiscal_year"].as_i64().unwrap())
        .collect();
    assert!(years.contains(&2024));
    assert!(years.contains(
        &(chrono::Utc::now()
            .format("%Y")
            .to_string()
            .parse::<i64>()
            .unwrap())
    ));
    assert_eq!(all.len(), years.len() * 13);
}

#[tokio::test]
async fn soft_lock_refuses_bookings_and_reopen_allows_them_again() {
    let app = spawn_app().await;
    let res = app.post("/v1/periods/2026-02/soft-lock", json!(null)).await;
    let body = res.expect(200, None);
    assert_eq!(body["status"], "soft_locked");
    assert_eq!(body["period_number"], 2);
    assert!(body["locked_by"].as_str().unwrap().starts_with("api_key:"));

    let refused = app
        .post("/v1/bookings", sale("2026-02-10", "10.00", "11.90"))
        .await;
    refused.expect(409, Some("period_locked"));
    // Soft-locking twice is not a transition.
    app.post("/v1/periods/2026-02/soft-lock", json!(null))
        .await
        .expect(409, Some("invalid_transition"));

    let res = app.post("/v1/periods/2026-02/reopen", json!(null)).await;
    assert_eq!(res.expect(200, None)["status"], "open");
    app.book_ok(sale("2026-02-10", "10.00", "11.90")).await;
    // Reopening an open period is refused.
    app.post("/v1/periods/2026-02/reopen", json!(null))
        .await
        .expect(409, Some("invalid_transition"));
}

#[tokio::test]
async fn lock_needs_four_eyes_and_stores_the_closing_hash() {
    let app = spawn_app().await;
    let other = second_key(&app).await;
    app.book_ok(sale("2026-01-15", "100.00", "119.00")).await;

    let id = request_lock(&app, "2026-01").await;
    let status = app.get("/v1/periods/2026-01/lock/status").await;
    let status = status.expect(200, None);
    assert_eq!(status["has_pending_request"], true);
    assert_eq!(status["request_id"], id);
    assert!(status["requested_by"]
        .as_str()
        .unwrap()
        .starts_with("api_key:"));

    // Booking while the lock is requested is refused.
    app.post("/v1/bookings", sale("2026-01-20", "1.00", "1.19"))
        .await
        .expect(409, Some("period_locked"));
    // The requester cannot approve.
    let own = app
        .post(
            &format!("/v1/periods/2026-01/lock/{id}/approve"),
            json!(null),
        )
        .await;
    own.expect(409, Some("four_eyes"));

    let res = post_as(
        &app,
        &other,
        &format!("/v1/periods/2026-01/lock/{id}/approve"),
    )
    .await;
    let body = res.expect(200, None);
    assert_eq!(body["status"], "locked");
    assert_eq!(body["request_id"], id);
    assert_ne!(body["approved_by"], body["locked_by"]);
    let hash = body["closing_hash"].as_str().unwrap().to_string();
    assert_eq!(hash.len(), 64);

    // The closing hash is blake3(zero hash || "2026-01" || the period's event hashes).
    let events = app.store.events(app.tenant.id, 1, 100).await.unwrap();
    let mut input = vec![0u8; 32];
    input.extend_from_slice(b"2026-01");
    for e in events.iter().filter(|e| e.period == "2026-01") {
        input.extend_from_slice(&e.hash);
    }
    assert_eq!(hash, blake3::hash(&input).to_hex().to_string());

    let list = app.get("/v1/periods?fiscal_year=2026").await;
    let list = list.expect(200, None);
    assert_eq!(period_of(list, "2026-01")["closing_hash"], hash.as_str());
    assert_eq!(period_of(list, "2026-01")["status"], "locked");
    let status = app.get("/v1/periods/2026-01/lock/status").await;
    assert_eq!(status.expect(200, None)["has_pending_request"], false);

    // Locked is final.
    app.post("/v1/periods/2026-01/reopen", json!(null))
        .await
        .expect(409, Some("period_final"));
    app.post("/v1/periods/2026-01/soft-lock", json!(null))
        .await
        .expect(409, Some("period_final"));
    app.post("/v1/periods/2026-01/lock", json!(null))
        .await
        .expect(409, Some("period_final"));
    app.post("/v1/bookings", sale("2026-01-31", "1.00", "1.19"))
        .await
        .expect(409, Some("period_locked"));
    // Approving the same request again.
    post_as(
        &app,
        &other,
        &format!("/v1/periods/2026-01/lock/{id}/approve"),
    )
    .await
    .expect(409, Some("request_not_pending"));
}

#[tokio::test]
async fn closing_hashes_chain_from_one_locked_period_to_the_next() {
    let app = spawn_app().await;
    let other = second_key(&app).await;
    app.book_ok(sale("2026-01-05", "10.00", "11.90")).await;
    app.book_ok(sale("2026-02-05", "20.00", "23.80")).await;
    let jan = lock(&app, &other, "2026-01").await;
    let feb = lock(&app, &other, "2026-02").await;
    let jan_hash = hex::decode(jan["closing_hash"].as_str().unwrap()).unwrap();
    let events = app.store.events(app.tenant.id, 1, 100).await.unwrap();
    let mut input = jan_hash.clone();
    input.extend_from_slice(b"2026-02");
    for e in events.iter().filter(|e| e.period == "2026-02") {
        input.extend_from_slice(&e.hash);
    }
    assert_eq!(
        feb["closing_hash"],
        blake3::hash(&input).to_hex().to_string()
    );
    // A period without events locks too; its hash covers the previous closing and its id.
    let mar = lock(&app, &other, "2026-03").await;
    let mut input = hex::decode(feb["closing_hash"].as_str().unwrap()).unwrap();
    input.extend_from_slice(b"2026-03");
    assert_eq!(
        mar["closing_hash"],
        blake3::hash(&input).to_hex().to_string()
    );
}

#[tokio::test]
async fn periods_lock_in_order_within_a_fiscal_year() {
    let app = spawn_app().await;
    let other = second_key(&app).await;
    let res = app.post("/v1/periods/2026-03/lock", json!(null)).await;
    res.expect(409, Some("out_of_order"));
    assert!(res.body["error"].as_str().unwrap().contains("2026-01"));
    lock(&app, &other, "2026-01").await;
    app.post("/v1/periods/2026-03/lock", json!(null))
        .await
        .expect(409, Some("out_of_order"));
    // Period 13 only after 12.
    app.post("/v1/periods/2026-13/lock", json!(null))
        .await
        .expect(409, Some("out_of_order"));
    // Another fiscal year is independent.
    lock(&app, &other, "2027-01").await;
}

#[tokio::test]
async fn cancel_returns_the_period_to_its_state_before_the_request() {
    let app = spawn_app().await;
    let other = second_key(&app).await;
    app.post("/v1/periods/2026-01/soft-lock", json!(null))
        .await
        .expect(200, None);
    let id = request_lock(&app, "2026-01").await;
    // A second request while one is pending.
    app.post("/v1/periods/2026-01/lock", json!(null))
        .await
        .expect(409, Some("invalid_transition"));
    let res = post_as(
        &app,
        &other,
        &format!("/v1/periods/2026-01/lock/{id}/cancel"),
    )
    .await;
    let body = res.expect(200, None);
    assert_eq!(body["ok"], true);
    assert_eq!(body["status"], "cancelled");
    let list = app.get("/v1/periods?fiscal_year=2026").await;
    let jan = period_of(list.expect(200, None), "2026-01");
    assert_eq!(jan["status"], "soft_locked");
    // Who soft-locked it, and when, survives the cancelled request.
    assert!(jan["locked_by"].as_str().unwrap().starts_with("api_key:"));
    assert!(jan["locked_at"].as_str().is_some());
    // The cancelled request cannot be approved or cancelled again.
    post_as(
        &app,
        &other,
        &format!("/v1/periods/2026-01/lock/{id}/approve"),
    )
    .await
    .expect(409, Some("request_not_pending"));
    app.post(
        &format!("/v1/periods/2026-01/lock/{id}/cancel"),
        json!(null),
    )
    .await
    .expect(409, Some("request_not_pending"));

    // From open, cancel goes back to open and bookings are accepted again.
    let id = request_lock(&app, "2027-01").await;
    app.post(
        &format!("/v1/periods/2027-01/lock/{id}/cancel"),
        json!(null),
    )
    .await
    .expect(200, None);
    app.book_ok(sale("2027-01-10", "10.00", "11.90")).await;
}

#[tokio::test]
async fn lock_requests_are_refused_for_wrong_ids_scopes_and_tenants() {
    let app = spawn_app().await;
    let id = request_lock(&app, "2026-01").await;
    // Unknown request id, a non-UUID, and the request under another period.
    let unknown = uuid::Uuid::now_v7();
    app.post(
        &format!("/v1/periods/2026-01/lock/{unknown}/approve"),
        json!(null),
    )
    .await
    .expect(404, Some("not_found"));
    app.post("/v1/periods/2026-01/lock/not-a-uuid/approve", json!(null))
        .await
        .expect(404, Some("not_found"));
    app.post(
        &format!("/v1/periods/2026-02/lock/{id}/approve"),
        json!(null),
    )
    .await
    .expect(404, Some("not_found"));
    // Malformed period.
    app.post("/v1/periods/2026-14/soft-lock", json!(null))
        .await
        .expect(400, Some("invalid_period"));
    app.get("/v1/periods/26-1/lock/status")
        .await
        .expect(400, Some("invalid_period"));

    // Another tenant's key cannot see or approve the request.
    let other = app.other_tenant().await;
    let res = app
        .send(
            Method::POST,
            &format!("/v1/periods/2026-01/lock/{id}/approve"),
            Some(&other.key),
            None,
        )
        .await;
    res.expect(404, Some("not_found"));
    let res = app
        .send(
            Method::GET,
            "/v1/periods/2026-01/lock/status",
            Some(&other.key),
            None,
        )
        .await;
    assert_eq!(res.expect(200, None)["has_pending_request"], false);

    // Scopes: periods:read for GET, periods:write for soft-lock/reopen, periods:lock for lock.
    let reader = app.key_with_scopes(&["periods:read"]).await;
    let writer = app.key_with_scopes(&["periods:write"]).await;
    app.send(Method::GET, "/v1/periods", Some(&reader), None)
        .await
        .expect(200, None);
    app.send(
        Method::POST,
        "/v1/periods/2026-05/soft-lock",
        Some(&reader),
        None,
    )
    .await
    .expect(403, Some("scope_missing"));
    app.send(
        Method::POST,
        "/v1/periods/2026-05/soft-lock",
        Some(&writer),
        None,
    )
    .await
    .expect(200, None);
    app.send(
        Method::POST,
        "/v1/periods/2026-05/lock",
        Some(&writer),
        None,
    )
    .await
    .expect(403, Some("scope_missing"));
    app.send(
        Method::POST,
        &format!("/v1/periods/2026-01/lock/{id}/approve"),
        Some(&writer),
        None,
    )
    .await
    .expect(403, Some("scope_missing"));
    app.send(Method::GET, "/v1/periods", Some(&writer), None)
        .await
        .expect(403, Some("scope_missing"));
    // No credentials.
    app.send(Method::GET, "/v1/periods", None, None)
        .await
        .expect(401, Some("unauthenticated"));
    app.send(Method::POST, "/v1/periods/2026-05/reopen", None, None)
        .await
        .expect(401, Some("unauthenticated"));
}

#[tokio::test]
async fn adjustment_period_13_is_separate_from_period_12() {
    let app = spawn_app().await;
    let mut body = sale("2026-12-31", "50.00", "59.50");
    body["adjustment_period"] = json!(true);
    let id = app.book_ok(body).await;
    let intent = app.get(&format!("/v1/journal/{id}")).await;
    assert_eq!(intent.expect(200, None)["summary"]["period"], "2026-13");
    app.post("/v1/periods/2026-12/soft-lock", json!(null))
        .await
        .expect(200, None);
    // December is closed, period 13 still takes adjustments.
    app.post("/v1/bookings", sale("2026-12-31", "1.00", "1.19"))
        .await
        .expect(409, Some("period_locked"));
    let mut adj = sale("2026-12-31", "1.00", "1.19");
    adj["adjustment_period"] = json!(true);
    app.book_ok(adj).await;
    app.post("/v1/periods/2026-13/soft-lock", json!(null))
        .await
        .expect(200, None);
    let mut adj = sale("2026-12-31", "1.00", "1.19");
    adj["adjustment_period"] = json!(true);
    app.post("/v1/bookings", adj)
        .await
        .expect(409, Some("period_locked"));
}
