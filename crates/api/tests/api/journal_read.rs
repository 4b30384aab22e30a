//! Reading the journal: GET /v1/journal with its filters, GET /v1/journal/{intent_id}.

use crate::common::*;
use crate::helpers::*;
use serde_json::{json, Value};

/// Four intents over three months with references and searchable descriptions.
async fn some_bookings(app: &TestApp) -> Vec<String> {
    let mut ids = Vec::new();
    for (date, description, reference, amount) in [
        ("2026-01-10", "Miete Januar", "RENT-01", "800.00"),
        ("2026-02-10", "Miete Februar", "RENT-02", "800.00"),
        ("2026-02-20", "Büromaterial Schreibwaren", "PO-7", "59.50"),
        ("2026-03-05", "Telefon März", "TEL-03", "40.00"),
    ] {
        let account = if description.starts_with("Miete") {
            "4210"
        } else if description.starts_with("Telefon") {
            "4920"
        } else {
            "4930"
        };
        let mut body = transfer(date, account, "1200", amount);
        body["description"] = json!(description);
        body["external_reference"] = json!(reference);
        ids.push(app.book_ok(body).await);
    }
    ids
}

fn pairs(body: &Value) -> Vec<(String, String)> {
    body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["booking_date"].as_str().unwrap().to_string(),
                e["account"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn p(date: &str, account: &str) -> (String, String) {
    (date.into(), account.into())
}

#[tokio::test]
async fn list_newest_first_with_total_header() {
    let app = spawn_app().await;
    some_bookings(&app).await;
    let res = app.get("/v1/journal").await;
    let body = res.expect(200, None);
    assert_eq!(res.headers["x-total-count"], "8");
    assert_eq!(body["total"], 8);
    assert_eq!(
        pairs(body),
        [
            p("2026-03-05", "1200"),
            p("2026-03-05", "4920"),
            p("2026-02-20", "1200"),
            p("2026-02-20", "4930"),
            p("2026-02-10", "1200"),
            p("2026-02-10", "4210"),
            p("2026-01-10", "1200"),
            p("2026-01-10", "4210"),
        ]
    );
    let e = &body["entries"][1];
    assert_eq!(e["debit"], "40.00");
    assert_eq!(e["credit"], Value::Null);
    assert_eq!(e["description"], "Telefon März");
    assert_eq!(e["external_reference"], "TEL-03");
    assert_eq!(e["currency"], "EUR");
    assert_eq!(e["amount"], "40.00");
    assert_eq!(e["line"], 1);
}

#[tokio::test]
async fn filters_account_dates_search_reference_and_limit() {
    let app = spawn_app().await;
    some_bookings(&app).await;
    let cases: Vec<(&str, Vec<(String, String)>)> = vec![
        (
            "account=4210",
            vec![p("2026-02-10", "4210"), p("2026-01-10", "4210")],
        ),
        (
            "startDate=2026-02-15",
            vec![
                p("2026-03-05", "1200"),
                p("2026-03-05", "4920"),
                p("2026-02-20", "1200"),
                p("2026-02-20", "4930"),
            ],
        ),
        (
            "endDate=2026-01-31",
            vec![p("2026-01-10", "1200"), p("2026-01-10", "4210")],
        ),
        (
            "startDate=2026-02-10&endDate=2026-02-10&account=1200",
            vec![p("2026-02-10", "1200")],
        ),
        (
            "search=miete&account=4210",
            vec![p("2026-02-10", "4210"), p("2026-01-10", "4210")],
        ),
        (
            "search=SCHREIB",
            vec![p("2026-02-20", "1200"), p("2026-02-20", "4930")],
        ),
        (
            "search=tel-0",
            vec![p("2026-03-05", "1200"), p("2026-03-05", "4920")],
        ),
        ("search=%25", vec![]),
        (
            "externalReference=RENT-02",
            vec![p("2026-02-10", "1200"), p("2026-02-10", "4210")],
        ),
        ("externalReference=RENT", vec![]),
        ("account=9999", vec![]),
    ];
    for (query, expected) in cases {
        let res = app.get(&format!("/v1/journal?{query}")).await;
        let body = res.expect(200, None);
        assert_eq!(pairs(body), expected, "{query}");
        assert_eq!(
            res.headers["x-total-count"],
            expected.len().to_string().as_str(),
            "{query}"
        );
    }
    let res = app.get("/v1/journal?limit=3").await;
    let body = res.expect(200, None);
    assert_eq!(body["entries"].as_array().unwrap().len(), 3);
    assert_eq!(res.headers["x-total-count"], "8");
    assert_eq!(body["limit"], 3);
    let res = app.get("/v1/journal?limit=3&offset=6").await;
    assert_eq!(
        pairs(res.expect(200, None)),
        [p("2026-01-10", "1200"), p("2026-01-10", "4210")]
    );
    // A page past the end is empty, the total stays.
    let res = app.get("/v1/journal?offset=100").await;
    let body = res.expect(200, None);
    assert_eq!(body["entries"], json!([]));
    assert_eq!(res.headers["x-total-count"], "8");
    assert_eq!(body["total"], 8);
    for q in ["limit=0", "limit=abc", "limit=501"] {
        let res = app.get(&format!("/v1/journal?{q}")).await;
        assert_eq!(res.expect(200, None)["limit"], 100, "{q}");
        assert_eq!(res.body["entries"].as_array().unwrap().len(), 8);
    }
}

#[tokio::test]
async fn one_intent_with_entries_summary_and_metadata() {
    let app = spawn_app().await;
    let mut body = sale("2026-03-14", "100.00", "119.00");
    body["external_reference"] = json!("INV-1");
    body["description"] = json!("  Invoice 1  ");
    body["lines"][1]["description"] = json!("Beratung");
    body["lines"][1]["cost_center"] = json!("KST-1");
    let first = app
        .book_ok(transfer("2026-03-01", "1200", "8400", "1.00"))
        .await;
    let id = app.book_ok(body).await;
    let res = app.get(&format!("/v1/journal/{id}")).await;
    let body = res.expect(200, None);
    assert_eq!(body["intent_id"], json!(id));
    let entries = body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    let seqs: Vec<i64> = entries.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [3, 4, 5]);
    assert_eq!(entries[1]["line_description"], "Beratung");
    assert_eq!(entries[1]["cost_center"], "KST-1");
    assert_eq!(entries[1]["tax_code"], "USt19");
    assert_eq!(entries[2]["cost_center"], "KST-1");
    assert_eq!(entries[2]["generated"], "tax");
    let s = &body["summary"];
    assert_eq!(
        s,
        &json!({"kind": "booking", "booking_date": "2026-03-14", "period": "2026-03", "description": "Invoice 1",
                "external_reference": "INV-1", "currency": "EUR", "fx_rate": null, "total_debit": "119.00",
                "total_credit": "119.00", "event_count": 3, "first_seq": 3, "last_seq": 5, "reversed": false,
                "reversal_of": null, "posting_mode": null, "reason": null})
    );
    assert_eq!(body["linked_intents"], json!([]));
    let m = &body["metadata"];
    assert_eq!(
        m["created_by"],
        json!({"kind": "api_key", "id": owner_key_id(&app).await})
    );
    assert!(m["created_at"].as_str().unwrap().ends_with('Z'), "{m}");
    assert_eq!(m["custom_metadata"], Value::Null);
    assert_eq!(m["document_id"], Value::Null);
    let hashes: Vec<(i64, String)> = m["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["seq"].as_i64().unwrap(),
                e["hash"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let stored = app.store.events(app.tenant.id, 3, 3).await.unwrap();
    assert_eq!(
        hashes,
        stored
            .iter()
            .map(|e| (e.seq, hex::encode(&e.hash)))
            .collect::<Vec<_>>()
    );
    assert!(hashes.iter().all(|(_, h)| h.len() == 64
        && h.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())));

    // A key's own id: a second key shows up as the creator of what it books.
    let key = app
        .key_with_scopes(&["journal:write", "journal:read"])
        .await;
    let res = app
        .send(
            reqwest::Method::POST,
            "/v1/bookings",
            Some(&key),
            Some(&transfer("2026-03-02", "1200", "8400", "1.00")),
        )
        .await;
    let second = res.expect(201, None)["intent_id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = app.get(&format!("/v1/journal/{second}")).await;
    let by = &res.expect(200, None)["metadata"]["created_by"];
    assert_eq!(by["kind"], "api_key");
    assert_ne!(by["id"], json!(owner_key_id(&app).await));
    let res = app.get(&format!("/v1/journal/{first}")).await;
    assert_eq!(res.expect(200, None)["summary"]["first_seq"], 1);
}

#[tokio::test]
async fn unknown_malformed_and_other_tenants_intents_are_not_found() {
    let app = spawn_app().await;
    let other = as_tenant(&app, app.other_tenant().await);
    let theirs = other
        .book_ok(transfer("2026-03-14", "1200", "8400", "1.00"))
        .await;
    app.get(&format!("/v1/journal/{theirs}"))
        .await
        .expect(404, Some("not_found"));
    other
        .get(&format!("/v1/journal/{theirs}"))
        .await
        .expect(200, None);
    app.get(&format!("/v1/journal/{}", uuid::Uuid::now_v7()))
        .await
        .expect(404, Some("not_found"));
    for bad in ["not-a-uuid", "123", "01a2-xyz"] {
        app.get(&format!("/v1/journal/{bad}"))
            .await
            .expect(404, Some("not_found"));
    }
    // Their lines are not in my journal.
    let res = app.get("/v1/journal").await;
    assert_eq!(res.expect(200, None)["total"], 0);
}
