//! Customers and vendors (issue 5): master data validated for real, personal accounts that
//! roll up into the collective account, deactivation, scopes and tenant isolation. The helpers
//! at the top are shared with the invoice tests.

use crate::common::*;
use crate::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};

pub const IBAN: &str = "DE89 3704 0044 0532 0130 00";

/// Creates a customer named `name`; returns (id, debtor account number).
pub async fn customer(app: &TestApp, name: &str) -> (String, String) {
    let res = app.post("/v1/customers", json!({"name": name})).await;
    let body = res.expect(201, None);
    (
        body["id"].as_str().unwrap().to_string(),
        body["account_number"].as_str().unwrap().to_string(),
    )
}

/// Creates a vendor named `name`; returns (id, creditor account number).
pub async fn vendor(app: &TestApp, name: &str) -> (String, String) {
    let res = app.post("/v1/vendors", json!({"name": name})).await;
    let body = res.expect(201, None);
    (
        body["id"].as_str().unwrap().to_string(),
        body["account_number"].as_str().unwrap().to_string(),
    )
}

fn full_customer() -> Value {
    json!({
        "name": "  Acme GmbH ",
        "tax_id": "143/123/45678",
        "vat_id": "de 123 456 789",
        "iban": IBAN,
        "bic": "cobadeffxxx",
        "address": {"street": "Hauptstraße 1", "postal_code": "10115", "city": "Berlin", "country": "de"},
        "default_account": "8400",
        "notes": "pays late"
    })
}

#[tokio::test]
async fn a_customer_gets_a_debtor_account_and_normalized_master_data() {
    let app = spawn_app().await;
    let res = app.post("/v1/customers", full_customer()).await;
    let c = res.expect(201, None).clone();
    assert_eq!(c["name"], "Acme GmbH");
    assert_eq!(c["account_number"], "10000");
    assert_eq!(c["vat_id"], "DE123456789");
    assert_eq!(c["iban"], "DE89370400440532013000");
    assert_eq!(c["bic"], "COBADEFFXXX");
    assert_eq!(c["address"]["country"], "DE");
    assert_eq!(c["address"]["city"], "Berlin");
    assert_eq!(c["default_account"], "8400");
    assert_eq!(c["is_active"], true);
    assert_eq!(c["open_amount"], "0.00");
    // The debtor account is a real account, named after the customer.
    let account = app.get("/v1/accounts/10000").await;
    let account = account.expect(200, None);
    assert_eq!(account["name"], "Acme GmbH");
    assert_eq!(account["type"], "asset");
    assert_eq!(account["report_group"], "bs.aktiva.B.II.1");
    // Numbers are handed out in order.
    let (_, second) = customer(&app, "Beta AG").await;
    assert_eq!(second, "10001");
    let (_, creditor) = vendor(&app, "Lieferant KG").await;
    assert_eq!(creditor, "70000");

    let id = c["id"].as_str().unwrap();
    let res = app.get(&format!("/v1/customers/{id}")).await;
    assert_eq!(res.expect(200, None)["open_amount"], "0.00");
}

#[tokio::test]
async fn customers_are_listed_searched_and_filtered() {
    let app = spawn_app().await;
    let (a, _) = customer(&app, "Acme GmbH").await;
    customer(&app, "Beta AG").await;
    customer(&app, "Gamma acme Ltd").await;
    let res = app.get("/v1/customers").await;
    let list = res.expect(200, None).as_array().unwrap().clone();
    assert_eq!(res.headers["x-total-count"], "3");
    assert_eq!(list.len(), 3);
    assert_eq!(list[0]["name"], "Acme GmbH");
    assert_eq!(list[0]["open_amount"], "0.00");

    let res = app.get("/v1/customers?search=ACME").await;
    assert_eq!(res.expect(200, None).as_array().unwrap().len(), 2);
    let res = app.get("/v1/customers?search=10001").await;
    assert_eq!(res.expect(200, None)[0]["name"], "Beta AG");
    let res = app.get("/v1/customers?limit=1&offset=1").await;
    assert_eq!(res.expect(200, None).as_array().unwrap().len(), 1);
    assert_eq!(res.headers["x-total-count"], "3");

    app.delete(&format!("/v1/customers/{a}"))
        .await
        .expect(200, None);
    let res = app.get("/v1/customers?is_active=true").await;
    assert_eq!(res.expect(200, None).as_array().unwrap().len(), 2);
    let res = app.get("/v1/customers?is_active=false").await;
    assert_eq!(res.expect(200, None)[0]["id"], a.as_str());
    // A malformed parameter falls back to its default.
    let res = app.get("/v1/customers?is_active=maybe&limit=abc").await;
    assert_eq!(res.expect(200, None).as_array().unwrap().len(), 3);
    // Vendors are a list of their own.
    let res = app.get("/v1/vendors").await;
    assert_eq!(res.expect(200, None).as_array().unwrap().len(), 0);
    assert_eq!(res.headers["x-total-count"], "0");
}

#[tokio::test]
async fn put_replaces_master_data_and_renames_the_account() {
    let app = spawn_app().await;
    let res = app.post("/v1/customers", full_customer()).await;
    let id = res.expect(201, None)["id"].as_str().unwrap().to_string();
    let res = app
        .send(
            Method::PUT,
            &format!("/v1/customers/{id}"),
            Some(&app.tenant.key),
            Some(&json!({"name": "Acme Holding GmbH", "vat_id": "ATU12345678"})),
        )
        .await;
    let c = res.expect(200, None);
    assert_eq!(c["name"], "Acme Holding GmbH");
    assert_eq!(c["vat_id"], "ATU12345678");
    assert_eq!(c["account_number"], "10000");
    // A full update: what was left out is cleared.
    assert!(c["iban"].is_null());
    assert!(c["address"].is_null());
    assert!(c["default_account"].is_null());
    let account = app.get("/v1/accounts/10000").await;
    assert_eq!(account.expect(200, None)["name"], "Acme Holding GmbH");
    // Validation applies as on POST.
    let res = app
        .send(
            Method::PUT,
            &format!("/v1/customers/{id}"),
            Some(&app.tenant.key),
            Some(&json!({"name": "X", "iban": "DE00"})),
        )
        .await;
    res.expect(400, Some("invalid_iban"));
    // Unknown id.
    let res = app
        .send(
            Method::PUT,
            &format!("/v1/customers/{}", uuid::Uuid::now_v7()),
            Some(&app.tenant.key),
            Some(&json!({"name": "X"})),
        )
        .await;
    res.expect(404, Some("not_found"));
}

#[tokio::test]
async fn delete_deactivates_and_history_stays() {
    let app = spawn_app().await;
    let (id, _) = customer(&app, "Acme GmbH").await;
    let res = app.delete(&format!("/v1/customers/{id}")).await;
    let c = res.expect(200, None);
    assert_eq!(c["is_active"], false);
    assert_eq!(c["name"], "Acme GmbH");
    let res = app.get(&format!("/v1/customers/{id}")).await;
    assert_eq!(res.expect(200, None)["is_active"], false);
    // The account stays active so open items can still be paid.
    let account = app.get("/v1/accounts/10000").await;
    assert_eq!(account.expect(200, None)["is_active"], true);
    // Deleting again is harmless; a PUT with is_active reactivates.
    app.delete(&format!("/v1/customers/{id}"))
        .await
        .expect(200, None);
    let res = app
        .send(
            Method::PUT,
            &format!("/v1/customers/{id}"),
            Some(&app.tenant.key),
            Some(&json!({"name": "Acme GmbH", "is_active": true})),
        )
        .await;
    assert_eq!(res.expect(200, None)["is_active"], true);
    // The row is never removed, not even by SQL.
    let err = sql()
        .await
        .execute(
            "DELETE FROM partners WHERE id = $1",
            &[&id.parse::<uuid::Uuid>().unwrap()],
        )
        .await;
    assert!(err.is_err());
}

#[tokio::test]
async fn master_data_is_validated_with_field_errors() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({"name": "A", "iban": "DE88 3704 0044 0532 0130 00"}),
            "invalid_iban",
            "iban",
        ),
        (
            json!({"name": "A", "iban": "DE89 3704 0044 0532 0130"}),
            "invalid_iban",
            "iban",
        ),
        (
            json!({"name": "A", "iban": "XX89370400440532013000"}),
            "invalid_iban",
            "iban",
        ),
        (json!({"name": "A", "bic": "COBADEF"}), "invalid_bic", "bic"),
        (
            json!({"name": "A", "bic": "C0BADEFF"}),
            "invalid_bic",
            "bic",
        ),
        (
            json!({"name": "A", "vat_id": "DE12345678"}),
            "invalid_vat_id",
            "vat_id",
        ),
        (
            json!({"name": "A", "vat_id": "NL123456789A01"}),
            "invalid_vat_id",
            "vat_id",
        ),
        (
            json!({"name": "A", "vat_id": "US123456789"}),
            "invalid_vat_id",
            "vat_id",
        ),
        (
            json!({"name": "A", "tax_id": "12#34"}),
            "invalid_tax_id",
            "tax_id",
        ),
        (json!({"name": "  "}), "invalid_name", "name"),
        (
            json!({"name": "A", "default_account": "4711"}),
            "unknown_account",
            "default_account",
        ),
        (
            json!({"name": "A", "default_account": "12"}),
            "unknown_account",
            "default_account",
        ),
        (
            json!({"name": "A", "address": {"country": "DEU"}}),
            "invalid_country",
            "address.country",
        ),
        (
            json!({"name": "A", "notes": "x".repeat(2001)}),
            "too_long",
            "notes",
        ),
    ];
    for (body, code, field) in cases {
        let res = app.post("/v1/customers", body.clone()).await;
        let b = res.expect(400, Some(code));
        assert_eq!(field_errors(b), vec![field.to_string()], "{body}");
    }
    // Body shape errors.
    app.post("/v1/customers", json!({"name": "A", "email": "a@b.c"}))
        .await
        .expect(400, Some("unknown_field"));
    app.post(
        "/v1/customers",
        json!({"name": "A", "address": "Hauptstr. 1"}),
    )
    .await
    .expect(400, Some("invalid_field"));
    app.post(
        "/v1/customers",
        json!({"name": "A", "address": {"zip": "1"}}),
    )
    .await
    .expect(400, Some("unknown_field"));
    app.post("/v1/customers", json!({}))
        .await
        .expect(400, Some("invalid_field"));
    let key = app.tenant.key.clone();
    json_text(
        &app,
        Method::POST,
        "/v1/customers",
        Some(&key),
        "{\"name\": ",
    )
    .await
    .expect(400, Some("malformed_json"));
    app.raw(
        Method::POST,
        "/v1/customers",
        Some(&key),
        "text/plain",
        b"name=A".to_vec(),
    )
    .await
    .expect(415, Some("unsupported_media_type"));
    // An inactive default account is refused too.
    app.patch("/v1/accounts/8300", json!({"is_active": false}))
        .await
        .expect(200, None);
    let res = app
        .post(
            "/v1/customers",
            json!({"name": "A", "default_account": "8300"}),
        )
        .await;
    res.expect(400, Some("unknown_account"));
    // Nothing was created by any of this.
    let res = app.get("/v1/customers").await;
    assert_eq!(res.expect(200, None).as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn partners_need_keys_scopes_and_their_own_tenant() {
    let app = spawn_app().await;
    let (id, _) = customer(&app, "Acme GmbH").await;
    let (vid, _) = vendor(&app, "Lieferant KG").await;
    app.send(Method::GET, "/v1/customers", None, None)
        .await
        .expect(401, Some("unauthenticated"));
    app.send(
        Method::POST,
        "/v1/vendors",
        None,
        Some(&json!({"name": "X"})),
    )
    .await
    .expect(401, Some("unauthenticated"));

    let read = app.key_with_scopes(&["customers:read"]).await;
    app.send(Method::GET, "/v1/customers", Some(&read), None)
        .await
        .expect(200, None);
    app.send(
        Method::GET,
        &format!("/v1/customers/{id}"),
        Some(&read),
        None,
    )
    .await
    .expect(200, None);
    app.send(
        Method::POST,
        "/v1/customers",
        Some(&read),
        Some(&json!({"name": "X"})),
    )
    .await
    .expect(403, Some("scope_missing"));
    app.send(
        Method::DELETE,
        &format!("/v1/customers/{id}"),
        Some(&read),
        None,
    )
    .await
    .expect(403, Some("scope_missing"));
    app.send(Method::GET, "/v1/vendors", Some(&read), None)
        .await
        .expect(403, Some("scope_missing"));
    let vendors = app.key_with_scopes(&["vendors:*"]).await;
    app.send(
        Method::POST,
        "/v1/vendors",
        Some(&vendors),
        Some(&json!({"name": "Y"})),
    )
    .await
    .expect(201, None);
    app.send(
        Method::PUT,
        &format!("/v1/customers/{id}"),
        Some(&vendors),
        Some(&json!({"name": "Z"})),
    )
    .await
    .expect(403, Some("scope_missing"));

    // A customer is not a vendor, and ids of another tenant do not exist here.
    app.get(&format!("/v1/vendors/{id}"))
        .await
        .expect(404, Some("not_found"));
    app.get(&format!("/v1/customers/{vid}"))
        .await
        .expect(404, Some("not_found"));
    app.get("/v1/customers/not-a-uuid")
        .await
        .expect(404, Some("not_found"));
    let other = as_tenant(&app, app.other_tenant().await);
    other
        .get(&format!("/v1/customers/{id}"))
        .await
        .expect(404, Some("not_found"));
    other
        .delete(&format!("/v1/customers/{id}"))
        .await
        .expect(404, Some("not_found"));
    other
        .send(
            Method::PUT,
            &format!("/v1/customers/{id}"),
            Some(&other.tenant.key),
            Some(&json!({"name": "Hijack"})),
        )
        .await
        .expect(404, Some("not_found"));
    let res = other.get("/v1/customers").await;
    assert_eq!(res.expect(200, None).as_array().unwrap().len(), 0);
    // Each tenant numbers its own debtors.
    let (_, n) = customer(&other, "Other").await;
    assert_eq!(n, "10000");
}

#[tokio::test]
async fn personal_accounts_roll_up_into_the_collective_account() {
    let app = spawn_app().await;
    let (_, a) = customer(&app, "Acme GmbH").await;
    let (_, b) = customer(&app, "Beta AG").await;
    let (_, v) = vendor(&app, "Lieferant KG").await;
    app.book_ok(booking("2026-03-10", json!([{"account": a, "debit": "119.00"}, {"account": "8400", "credit": "100.00", "tax_code": "USt19"}])))
        .await;
    app.book_ok(booking(
        "2026-04-10",
        json!([{"account": b, "debit": "50.00"}, {"account": "8400", "credit": "50.00"}]),
    ))
    .await;
    app.book_ok(booking(
        "2026-04-11",
        json!([{"account": "1400", "debit": "10.00"}, {"account": "8400", "credit": "10.00"}]),
    ))
    .await;
    app.book_ok(booking(
        "2026-04-12",
        json!([{"account": "4900", "debit": "30.00"}, {"account": v, "credit": "30.00"}]),
    ))
    .await;
    assert_eq!(app.balance(&a).await, "119.00");
    assert_eq!(app.balance(&b).await, "50.00");
    // 1400 = its own postings + every debtor account; entries show the debtor lines.
    let (lines, balance) = entries(&app, "1400", "").await;
    assert_eq!(balance, dec("179.00"));
    assert_eq!(sum_entries(&lines), balance);
    let accounts: Vec<&str> = lines
        .iter()
        .map(|e| e["account"].as_str().unwrap())
        .collect();
    assert_eq!(accounts, vec![a.as_str(), b.as_str(), "1400"]);
    // Date ranges work on the rolled-up view too.
    let (lines, balance) = entries(&app, "1400", "startDate=2026-04-01&endDate=2026-04-30").await;
    assert_eq!(balance, dec("60.00"));
    assert_eq!(lines.len(), 2);
    let (_, balance) = entries(&app, "1400", "endDate=2026-03-31").await;
    assert_eq!(balance, dec("119.00"));
    // Payables likewise; other accounts are untouched.
    assert_eq!(app.balance("1600").await, "-30.00");
    assert_eq!(app.balance("8400").await, "-160.00");
    // The trial balance over the general ledger still sums to zero (personal accounts are
    // inside their collective accounts, not counted again).
    let mut sum = rust_decimal::Decimal::ZERO;
    for account in ["1400", "1600", "8400", "1776", "4900"] {
        sum += dec(&app.balance(account).await);
    }
    assert!(sum.is_zero(), "{sum}");
}

#[tokio::test]
async fn skr04_uses_its_own_collective_accounts() {
    let app = spawn_app_with(
        api::ApiConfig {
            workers: 1,
            ..Default::default()
        },
        "skr04",
    )
    .await;
    let (_, a) = customer(&app, "Acme GmbH").await;
    let (_, v) = vendor(&app, "Lieferant KG").await;
    assert_eq!((a.as_str(), v.as_str()), ("10000", "70000"));
    app.book_ok(booking(
        "2026-03-10",
        json!([{"account": a, "debit": "20.00"}, {"account": v, "credit": "20.00"}]),
    ))
    .await;
    assert_eq!(app.balance("1200").await, "20.00");
    assert_eq!(app.balance("3300").await, "-20.00");
}

#[tokio::test]
async fn creating_a_partner_under_an_idempotency_key_creates_it_once() {
    let app = spawn_app().await;
    let body = json!({"name": "Einmal GmbH"});
    let requests = (0..8).map(|_| {
        app.client
            .post(format!("{}/v1/customers", app.address))
            .bearer_auth(&app.tenant.key)
            .header("idempotency-key", "new-customer-1")
            .json(&body)
            .send()
    });
    let mut answers = std::collections::BTreeSet::new();
    for r in futures_util::future::join_all(requests).await {
        let r = r.unwrap();
        assert_eq!(r.status().as_u16(), 201);
        answers.insert(r.text().await.unwrap());
    }
    assert_eq!(
        answers.len(),
        1,
        "one customer, its answer replayed byte for byte"
    );
    let list = app.get("/v1/customers?search=Einmal").await;
    assert_eq!(list.expect(200, None).as_array().unwrap().len(), 1);
    // The stored answer is the one the first request got.
    let stored: Value = serde_json::from_str(answers.first().unwrap()).unwrap();
    assert_eq!(stored["name"], "Einmal GmbH");
    assert_eq!(stored["account_number"], "10000");
    assert_eq!(stored["open_amount"], "0.00");
}
