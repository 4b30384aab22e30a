//! Reversals (Storno): swap and negative, dating, links, refusals (issue 3).

use crate::common::*;
use reqwest::Method;
use serde_json::json;

async fn reverse(app: &TestApp, id: &str, mode: &str) -> Res {
    app.post(
        "/v1/journal/reverse",
        json!({"intent_id": id, "reason": "wrong customer", "posting_mode": mode}),
    )
    .await
}

#[tokio::test]
async fn swap_reversal_restores_balances_and_links_both_sides() {
    let app = spawn_app().await;
    let id = app.book_ok(sale("2026-03-14", "100.00", "119.00")).await;
    let res = reverse(&app, &id, "swap").await;
    let body = res.expect(201, None).clone();
    assert_eq!(body["original_intent_id"], id.as_str());
    assert_eq!(body["event_count"], 3);
    let rev = body["reversal_intent_id"].as_str().unwrap();
    for account in ["1400", "8400", "1776"] {
        assert_eq!(app.balance(account).await, "0.00", "account {account}");
    }
    let original = app.get(&format!("/v1/journal/{id}")).await;
    let original = original.expect(200, None);
    assert_eq!(original["summary"]["reversed"], true);
    assert_eq!(original["linked_intents"][0]["intent_id"], rev);
    assert_eq!(original["linked_intents"][0]["relation"], "reversed_by");
    let reversal = app.get(&format!("/v1/journal/{rev}")).await;
    let reversal = reversal.expect(200, None);
    assert_eq!(reversal["summary"]["kind"], "reversal");
    assert_eq!(reversal["summary"]["reversal_of"], id.as_str());
    assert_eq!(reversal["summary"]["reason"], "wrong customer");
    assert_eq!(reversal["summary"]["posting_mode"], "swap");
    assert_eq!(reversal["summary"]["booking_date"], "2026-03-14");
    assert_eq!(reversal["linked_intents"][0]["relation"], "reverses");
    assert_eq!(reversal["linked_intents"][0]["intent_id"], id.as_str());
    // Swapped sides: the 1400 line is now a credit.
    let line = reversal["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["account"] == "1400")
        .unwrap();
    assert_eq!(line["credit"], "119.00");
    assert!(line["debit"].is_null());
    assert!(reversal["metadata"]["created_by"]["id"].as_str().is_some());
}

#[tokio::test]
async fn negative_reversal_keeps_sides_with_negative_amounts() {
    let app = spawn_app().await;
    let id = app.book_ok(sale("2026-03-14", "100.00", "119.00")).await;
    let res = reverse(&app, &id, "negative").await;
    let rev = res.expect(201, None)["reversal_intent_id"]
        .as_str()
        .unwrap()
        .to_string();
    for account in ["1400", "8400", "1776"] {
        assert_eq!(app.balance(account).await, "0.00", "account {account}");
    }
    let reversal = app.get(&format!("/v1/journal/{rev}")).await;
    let reversal = reversal.expect(200, None);
    let line = reversal["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["account"] == "1400")
        .unwrap();
    assert_eq!(line["debit"], "-119.00");
    assert_eq!(line["amount"], "-119.00");
    assert_eq!(reversal["summary"]["posting_mode"], "negative");
    assert_eq!(reversal["summary"]["total_debit"], "-119.00");
}

#[tokio::test]
async fn reversing_twice_or_a_reversal_is_refused() {
    let app = spawn_app().await;
    let id = app.book_ok(sale("2026-03-14", "100.00", "119.00")).await;
    let rev = reverse(&app, &id, "swap").await;
    let rev = rev.expect(201, None)["reversal_intent_id"]
        .as_str()
        .unwrap()
        .to_string();
    reverse(&app, &id, "negative")
        .await
        .expect(409, Some("already_reversed"));
    reverse(&app, &rev, "swap")
        .await
        .expect(409, Some("reversal_of_reversal"));
    assert_eq!(app.balance("1400").await, "0.00");
}

#[tokio::test]
async fn concurrent_reversals_of_one_intent_make_exactly_one() {
    let app = spawn_app().await;
    let id = app.book_ok(sale("2026-03-14", "100.00", "119.00")).await;
    let results = futures_util::future::join_all((0..10).map(|_| reverse(&app, &id, "swap"))).await;
    let created = results.iter().filter(|r| r.status.as_u16() == 201).count();
    let refused = results
        .iter()
        .filter(|r| r.status.as_u16() == 409 && r.body["code"] == "already_reversed")
        .count();
    assert_eq!((created, refused), (1, 9));
    assert_eq!(app.balance("1400").await, "0.00");
}

#[tokio::test]
async fn reversal_of_a_closed_period_is_dated_in_the_first_open_period() {
    let app = spawn_app().await;
    let id = app.book_ok(sale("2026-01-20", "100.00", "119.00")).await;
    app.post("/v1/periods/2026-01/soft-lock", json!(null))
        .await
        .expect(200, None);
    app.post("/v1/periods/2026-02/soft-lock", json!(null))
        .await
        .expect(200, None);
    let res = reverse(&app, &id, "swap").await;
    let rev = res.expect(201, None)["reversal_intent_id"]
        .as_str()
        .unwrap()
        .to_string();
    let reversal = app.get(&format!("/v1/journal/{rev}")).await;
    let summary = &reversal.expect(200, None)["summary"];
    assert_eq!(summary["booking_date"], "2026-03-01");
    assert_eq!(summary["period"], "2026-03");
    assert_eq!(app.balance("1400").await, "0.00");
    // Balance through February still shows the original.
    let res = app
        .get("/v1/accounts/1400/entries?endDate=2026-02-28")
        .await;
    assert_eq!(res.expect(200, None)["balance"], "119.00");
}

#[tokio::test]
async fn reversal_failure_paths() {
    let app = spawn_app().await;
    let id = app.book_ok(sale("2026-03-14", "100.00", "119.00")).await;
    // Unknown intent, another tenant's intent.
    reverse(&app, &uuid::Uuid::now_v7().to_string(), "swap")
        .await
        .expect(404, Some("not_found"));
    let other = app.other_tenant().await;
    let res = app
        .send(
            Method::POST,
            "/v1/journal/reverse",
            Some(&other.key),
            Some(&json!({"intent_id": id, "reason": "x"})),
        )
        .await;
    res.expect(404, Some("not_found"));
    // Missing reason, empty reason, bad mode, unknown field, malformed JSON.
    app.post("/v1/journal/reverse", json!({"intent_id": id}))
        .await
        .expect(400, Some("invalid_field"));
    app.post(
        "/v1/journal/reverse",
        json!({"intent_id": id, "reason": "  "}),
    )
    .await
    .expect(400, Some("reason_required"));
    reverse(&app, &id, "sideways")
        .await
        .expect(400, Some("invalid_field"));
    app.post(
        "/v1/journal/reverse",
        json!({"intent_id": id, "reason": "x", "mode": "swap"}),
    )
    .await
    .expect(400, Some("unknown_field"));
    app.raw(
        Method::POST,
        "/v1/journal/reverse",
        Some(&app.tenant.key),
        "application/json",
        b"{".to_vec(),
    )
    .await
    .expect(400, Some("malformed_json"));
    // Scope and credentials.
    let reader = app.key_with_scopes(&["journal:read"]).await;
    let res = app
        .send(
            Method::POST,
            "/v1/journal/reverse",
            Some(&reader),
            Some(&json!({"intent_id": id, "reason": "x"})),
        )
        .await;
    res.expect(403, Some("scope_missing"));
    app.send(
        Method::POST,
        "/v1/journal/reverse",
        None,
        Some(&json!({"intent_id": id, "reason": "x"})),
    )
    .await
    .expect(401, Some("unauthenticated"));
    // Nothing was reversed by any of that.
    assert_eq!(app.balance("1400").await, "119.00");
}
