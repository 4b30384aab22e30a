//! `POST /v1/bookings/bulk` (issue 13) over real HTTP: atomic and not, the same rules, events
//! and hashes as single bookings, limits, Idempotency-Key, and the refusals of every kind.

use crate::common::*;
use crate::helpers::*;
use journal::chain::ChainVerifier;
use reqwest::Method;
use serde_json::{json, Value};

const BULK: &str = "/v1/bookings/bulk";

fn sale_of(n: usize) -> Value {
    let net = format!("{}.{:02}", 10 + n / 100, n % 100);
    json!({"booking_date": "2026-03-10", "description": format!("Sale {n}"),
           "external_reference": format!("BULK-{n}"),
           "lines": [{"account": "1400", "debit": net}, {"account": "8400", "credit": net}]})
}

/// Every event of the tenant verifies, seq 1..n without a gap; returns n.
async fn verified_events(app: &TestApp) -> usize {
    let events = app.store.events(app.tenant.id, 1, 1_000_000).await.unwrap();
    let mut verifier = ChainVerifier::default();
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.seq, i as i64 + 1, "gapless");
        let prev: [u8; 32] = e.prev_hash.clone().try_into().unwrap();
        let hash: [u8; 32] = e.hash.clone().try_into().unwrap();
        verifier.check(e.seq, &prev, &hash, &e.payload).unwrap();
    }
    events.len()
}

#[tokio::test]
async fn an_atomic_bulk_books_everything_with_the_same_events_and_hashes() {
    let app = spawn_app().await;
    // A single booking first: the bulk continues its chain.
    app.book_ok(sale_of(9999)).await;
    let bookings: Vec<Value> = (0..600).map(sale_of).collect();
    let res = app.post(BULK, json!({"bookings": bookings})).await;
    let body = res.expect(201, None).clone();
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 600);
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["index"], i);
        assert_eq!(r["event_count"], 2);
        // Each intent is readable like a single booking's.
        if i % 199 == 0 {
            let one = app
                .get(&format!("/v1/journal/{}", r["intent_id"].as_str().unwrap()))
                .await;
            let one = one.expect(200, None).clone();
            assert_eq!(
                one["summary"]["external_reference"],
                format!("BULK-{i}"),
                "{one}"
            );
        }
    }
    // Events = lines, chained without a gap.
    assert_eq!(verified_events(&app).await, 2 + 1200);
    // A tax code adds its tax line, as for single bookings.
    let taxed = json!({"bookings": [{"booking_date": "2026-03-11", "description": "taxed",
        "lines": [{"account": "1400", "debit": "119.00"}, {"account": "8400", "credit": "100.00", "tax_code": "USt19"}]}]});
    let res = app.post(BULK, taxed).await;
    assert_eq!(res.expect(201, None)["results"][0]["event_count"], 3);
    assert_eq!(verified_events(&app).await, 1205);
}

#[tokio::test]
async fn an_atomic_bulk_with_a_refused_booking_books_nothing_and_names_every_refusal() {
    let app = spawn_app().await;
    let before = app.balance("1400").await;
    let mut bookings: Vec<Value> = (0..300).map(sale_of).collect();
    // 3: unbalanced; 150: unknown account; 299: a duplicate external reference of booking 0;
    // 200: malformed (amount no number); 250: not an object.
    bookings[3]["lines"][1]["credit"] = json!("1.00");
    bookings[150]["lines"][0]["account"] = json!("99999");
    bookings[299]["external_reference"] = json!("BULK-0");
    bookings[200]["lines"][0]["debit"] = json!("abc");
    bookings[250] = json!([1, 2]);
    let res = app
        .post(BULK, json!({"atomic": true, "bookings": bookings}))
        .await;
    let body = res.expect(400, Some("bulk_refused")).clone();
    let items = body["details"]["items"].as_array().unwrap().clone();
    let by_index: Vec<(u64, &str)> = items
        .iter()
        .map(|i| (i["index"].as_u64().unwrap(), i["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        by_index,
        vec![
            (3, "unbalanced"),
            (150, "unknown_account"),
            (200, "invalid_field"),
            (250, "invalid_field"),
            (299, "duplicate"),
        ],
        "{body}"
    );
    assert!(items[2]["error"]
        .as_str()
        .unwrap()
        .starts_with("bookings[200]"));
    assert_eq!(app.balance("1400").await, before);
    assert_eq!(verified_events(&app).await, 0, "nothing written");
}

#[tokio::test]
async fn a_bulk_that_is_not_atomic_books_the_good_ones_in_request_order() {
    let app = spawn_app().await;
    let mut bookings: Vec<Value> = (0..5).map(sale_of).collect();
    bookings[1]["lines"][1]["credit"] = json!("1.00");
    bookings[3]["external_reference"] = json!("BULK-0");
    bookings[4]["booking_date"] = json!("2026-02-30");
    let res = app
        .post(BULK, json!({"atomic": false, "bookings": bookings}))
        .await;
    let body = res.expect(200, None).clone();
    let r = body["results"].as_array().unwrap();
    let statuses: Vec<u64> = r.iter().map(|x| x["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, vec![201, 400, 201, 409, 400], "{body}");
    assert_eq!(r[1]["code"], "unbalanced");
    assert_eq!(r[3]["code"], "duplicate");
    assert_eq!(r[4]["code"], "invalid_date");
    assert!(r[0]["intent_id"].is_string() && r[0]["code"].is_null());
    assert_eq!(verified_events(&app).await, 4);
    // All refused: nothing booked, still 200 with every refusal.
    let res = app
        .post(BULK, json!({"atomic": false, "bookings": [sale_of(0)]}))
        .await;
    assert_eq!(res.expect(200, None)["results"][0]["status"], 409);
    assert_eq!(verified_events(&app).await, 4);
}

#[tokio::test]
async fn a_later_slice_sees_the_references_of_the_slices_before_it() {
    // Slices of 256 are decided while the slice before is written: what those book is not
    // committed yet and must still count as booked.
    let app = spawn_app().await;
    let mut bookings: Vec<Value> = (0..520).map(sale_of).collect();
    bookings[300]["external_reference"] = json!("BULK-5");
    bookings[515]["external_reference"] = json!("BULK-290");
    let res = app
        .post(BULK, json!({"atomic": false, "bookings": bookings}))
        .await;
    let body = res.expect(200, None).clone();
    let refused: Vec<(usize, &str)> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, r)| r["status"] != 201)
        .map(|(i, r)| (i, r["code"].as_str().unwrap()))
        .collect();
    assert_eq!(refused, vec![(300, "duplicate"), (515, "duplicate")]);
    assert_eq!(verified_events(&app).await, 2 * 518);
}

#[tokio::test]
async fn a_bulk_is_booked_once_under_an_idempotency_key() {
    let app = spawn_app().await;
    let key = app.tenant.key.clone();
    let send = |b: Value, k: &'static str| {
        app.client
            .post(format!("{}{BULK}", app.address))
            .bearer_auth(key.clone())
            .header("Idempotency-Key", k)
            .json(&b)
            .send()
    };
    let body = json!({"bookings": [sale_of(1), sale_of(2)]});
    let first = into_res(send(body.clone(), "bulk-1").await.unwrap()).await;
    let first = first.expect(201, None).clone();
    let again = into_res(send(body.clone(), "bulk-1").await.unwrap()).await;
    assert_eq!(again.expect(201, None), &first);
    assert_eq!(verified_events(&app).await, 4);
    // The same key with another body is a conflict; a refused atomic bulk replays its 400.
    let other = into_res(
        send(json!({"bookings": [sale_of(3)]}), "bulk-1")
            .await
            .unwrap(),
    )
    .await;
    other.expect(409, Some("idempotency_conflict"));
    let bad =
        json!({"bookings": [{"booking_date": "2026-03-01", "description": "x", "lines": []}]});
    let refused = into_res(send(bad.clone(), "bulk-2").await.unwrap()).await;
    let refused = refused.expect(400, Some("bulk_refused")).clone();
    let replay = into_res(send(bad, "bulk-2").await.unwrap()).await;
    assert_eq!(
        replay.expect(400, Some("bulk_refused"))["details"],
        refused["details"]
    );
}

#[tokio::test]
async fn bulk_limits_and_refusals() {
    let app = spawn_app_with(
        api::ApiConfig {
            workers: 1,
            max_bulk_bytes: 64 * 1024,
            ..Default::default()
        },
        "skr03",
    )
    .await;
    let key = app.tenant.key.clone();
    // Credentials and scope.
    app.send(
        Method::POST,
        BULK,
        None,
        Some(&json!({"bookings": [sale_of(0)]})),
    )
    .await
    .expect(401, None);
    let reader = app.key_with_scopes(&["journal:read"]).await;
    app.send(
        Method::POST,
        BULK,
        Some(&reader),
        Some(&json!({"bookings": [sale_of(0)]})),
    )
    .await
    .expect(403, None);
    // Another tenant's document is unknown here.
    let other = app.other_tenant().await;
    let mut foreign = sale_of(0);
    foreign["document_id"] = json!(uuid::Uuid::now_v7());
    let res = app
        .post(BULK, json!({"atomic": false, "bookings": [foreign]}))
        .await;
    assert_eq!(
        res.expect(200, None)["results"][0]["code"],
        "unknown_document"
    );
    drop(other);
    // Shapes.
    app.post(BULK, json!({"bookings": []}))
        .await
        .expect(400, Some("no_bookings"));
    app.post(BULK, json!({"bookings": {"a": 1}}))
        .await
        .expect(400, Some("invalid_field"));
    app.post(BULK, json!([sale_of(0)]))
        .await
        .expect(400, Some("invalid_field"));
    app.post(BULK, json!({"bookings": [sale_of(0)], "extra": 1}))
        .await
        .expect(400, Some("unknown_field"));
    app.post(BULK, json!({"atomic": "yes", "bookings": [sale_of(0)]}))
        .await
        .expect(400, Some("invalid_field"));
    let res = app
        .raw(
            Method::POST,
            BULK,
            Some(&key),
            "application/json",
            b"{\"bookings\": [".to_vec(),
        )
        .await;
    res.expect(400, Some("malformed_json"));
    let res = app
        .raw(Method::POST, BULK, Some(&key), "text/plain", b"{}".to_vec())
        .await;
    res.expect(415, Some("unsupported_media_type"));
    let nul = br#"{"bookings": [{"booking_date": "2026-03-01", "description": "a\u0000b", "lines": []}]}"#;
    let res = app
        .raw(
            Method::POST,
            BULK,
            Some(&key),
            "application/json",
            nul.to_vec(),
        )
        .await;
    res.expect(400, Some("invalid_character"));
    // Sizes: more than 10,000 bookings; a body over KONTOR_MAX_BULK_BYTES.
    let tiny: Vec<Value> = (0..10_001).map(|_| json!({})).collect();
    let body = serde_json::to_vec(&json!({"bookings": tiny})).unwrap();
    assert!(body.len() < 64 * 1024);
    let res = app
        .raw(Method::POST, BULK, Some(&key), "application/json", body)
        .await;
    res.expect(400, Some("too_many_bookings"));
    let big: Vec<Value> = (0..1_000).map(sale_of).collect();
    let res = app.post(BULK, json!({"bookings": big})).await;
    res.expect(413, Some("payload_too_large"));
    assert_eq!(verified_events(&app).await, 0);
}

#[tokio::test]
async fn too_many_lines_are_refused_before_anything_is_decided() {
    let app = spawn_app().await;
    let line = json!({"account": "1400", "debit": "1.00"});
    let lines: Vec<Value> = (0..1_001).map(|_| line.clone()).collect();
    let one = json!({"booking_date": "2026-03-01", "description": "x", "lines": lines});
    let bookings: Vec<Value> = (0..200).map(|_| one.clone()).collect();
    let res = app.post(BULK, json!({"bookings": bookings})).await;
    res.expect(400, Some("too_many_lines"));
    assert_eq!(app.balance("1400").await, "0.00");
}

#[tokio::test]
async fn a_bulk_writes_one_event_per_intent_into_the_feed_and_a_refused_one_none() {
    let app = spawn_app().await;
    let bookings: Vec<Value> = (0..300).map(sale_of).collect();
    let res = app.post(BULK, json!({"bookings": bookings})).await;
    let ids: Vec<String> = res.expect(201, None)["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["intent_id"].as_str().unwrap().to_string())
        .collect();
    // A refused atomic bulk writes no event either.
    let mut bad: Vec<Value> = (300..310).map(sale_of).collect();
    bad[9]["lines"][0]["account"] = json!("99999");
    app.post(BULK, json!({"bookings": bad}))
        .await
        .expect(400, Some("bulk_refused"));
    let mut events: Vec<Value> = Vec::new();
    let mut path = "/v1/events?limit=100".to_string();
    loop {
        let page = app.get(&path).await.expect(200, None).clone();
        let got = page["events"].as_array().unwrap().clone();
        if got.is_empty() {
            break;
        }
        events.extend(got);
        path = format!(
            "/v1/events?limit=100&cursor={}",
            page["next_cursor"].as_str().unwrap()
        );
    }
    assert_eq!(events.len(), 300, "one booking.created per intent");
    for (e, id) in events.iter().zip(&ids) {
        assert_eq!(e["event"], "booking.created");
        assert_eq!(e["data"]["intent_id"], id.as_str(), "{e}");
    }
}
