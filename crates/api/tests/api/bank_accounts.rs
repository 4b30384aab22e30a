//! Bank accounts over real HTTP: creation rules (IBAN, BIC, ledger account), reads with their
//! counts, renaming, the balance history; every refusal.

use crate::bank_import::{account_sum, bank_account, camt, import_file};
use crate::common::*;
use crate::helpers::*;
use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};

const IBAN: &str = "DE89370400440532013000";
const IBAN2: &str = "DE44500105175407324931";

#[tokio::test]
async fn the_first_bank_account_posts_to_the_charts_bank_account_and_later_ones_name_theirs() {
    let app = spawn_app().await;
    let res = app
        .post("/v1/bank-accounts", json!({"name": " Giro ", "iban": "de89 3704 0044 0532 0130 00", "bic": "cobadeffxxx", "account_number": "532013000"}))
        .await;
    let a = res.expect(201, None).clone();
    assert_eq!(a["name"], "Giro");
    assert_eq!(a["iban"], IBAN);
    assert_eq!(a["bic"], "COBADEFFXXX");
    assert_eq!(a["currency"], "EUR");
    assert_eq!(a["ledger_account"], "1200");
    assert_eq!(a["tx_count"], 0);
    assert!(a["last_tx_date"].is_null());
    // A second one must name its ledger account: an unused asset account.
    app.post(
        "/v1/bank-accounts",
        json!({"name": "Tagesgeld", "iban": IBAN2}),
    )
    .await
    .expect(400, Some("ledger_account_required"));
    app.post(
        "/v1/bank-accounts",
        json!({"name": "Tagesgeld", "iban": IBAN2, "ledger_account": "1200"}),
    )
    .await
    .expect(409, Some("ledger_account_taken"));
    let res = app
        .post(
            "/v1/bank-accounts",
            json!({"name": "Tagesgeld", "iban": IBAN2, "ledger_account": "8400"}),
        )
        .await;
    res.expect(400, Some("ledger_account_not_asset"));
    assert_eq!(field_errors(&res.body), ["ledger_account"]);
    app.post(
        "/v1/bank-accounts",
        json!({"name": "Tagesgeld", "iban": IBAN2, "ledger_account": "99999"}),
    )
    .await
    .expect(400, Some("unknown_account"));
    app.post(
        "/v1/bank-accounts",
        json!({"name": "Doppelt", "iban": IBAN, "ledger_account": "1210"}),
    )
    .await
    .expect(409, Some("duplicate_iban"));
    let res = app
        .post(
            "/v1/bank-accounts",
            json!({"name": "USD", "iban": IBAN2, "ledger_account": "1210", "currency": "USD"}),
        )
        .await;
    let b = res.expect(201, None).clone();
    assert_eq!(b["currency"], "USD");
    let list = app.get("/v1/bank-accounts").await;
    let items = list.expect(200, None).as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    assert_eq!(list.headers["x-total-count"], "2");
    assert_eq!(items[0]["id"], a["id"]);
    // Renaming is the only change.
    let path = format!("/v1/bank-accounts/{}", a["id"].as_str().unwrap());
    let put = |body: Value| {
        let (path, app) = (path.clone(), &app);
        async move {
            app.send(
                Method::PUT,
                &path,
                Some(app.tenant.key.as_str()),
                Some(&body),
            )
            .await
        }
    };
    let res = put(json!({"name": "Hauptkonto"})).await;
    assert_eq!(res.expect(200, None)["name"], "Hauptkonto");
    assert_eq!(app.get(&path).await.expect(200, None)["name"], "Hauptkonto");
    put(json!({"name": "x", "iban": IBAN2}))
        .await
        .expect(400, Some("unknown_field"));
    put(json!({"name": "  "}))
        .await
        .expect(400, Some("invalid_name"));
    put(json!({"name": "x".repeat(201)}))
        .await
        .expect(400, Some("invalid_name"));
    put(json!(["x"])).await.expect(400, None);
    put(json!({"name": "a\u{0}"}))
        .await
        .expect(400, Some("invalid_character"));
}

#[tokio::test]
async fn bank_account_refusals() {
    let app = spawn_app().await;
    let post = |b: Value| app.post("/v1/bank-accounts", b);
    post(json!({"name": "x", "iban": "DE00370400440532013000"}))
        .await
        .expect(400, Some("invalid_iban"));
    post(json!({"name": "x", "bic": "NOPE"}))
        .await
        .expect(400, Some("invalid_bic"));
    post(json!({"name": "x", "currency": "XXX"}))
        .await
        .expect(400, Some("invalid_currency"));
    post(json!({"name": "x", "account_number": "12<script>"}))
        .await
        .expect(400, Some("invalid_account_number"));
    post(json!({"name": ""}))
        .await
        .expect(400, Some("invalid_name"));
    post(json!({"iban": IBAN}))
        .await
        .expect(400, Some("invalid_field"));
    post(json!({"name": "x", "colour": "red"}))
        .await
        .expect(400, Some("unknown_field"));
    post(json!(["x"])).await.expect(400, None);
    post(json!({"name": 1e300}))
        .await
        .expect(400, Some("invalid_field"));
    post(json!({"name": "a\u{0}"}))
        .await
        .expect(400, Some("invalid_character"));
    json_text(
        &app,
        Method::POST,
        "/v1/bank-accounts",
        Some(&app.tenant.key),
        "{\"name\": ",
    )
    .await
    .expect(400, Some("malformed_json"));
    app.raw(
        Method::POST,
        "/v1/bank-accounts",
        Some(&app.tenant.key),
        "text/plain",
        b"x".to_vec(),
    )
    .await
    .expect(415, Some("unsupported_media_type"));
    app.send(
        Method::POST,
        "/v1/bank-accounts",
        None,
        Some(&json!({"name": "x"})),
    )
    .await
    .expect(401, None);
    let reader = app.key_with_scopes(&["bank:read"]).await;
    app.send(
        Method::POST,
        "/v1/bank-accounts",
        Some(&reader),
        Some(&json!({"name": "x"})),
    )
    .await
    .expect(403, Some("scope_missing"));
    let other_scope = app.key_with_scopes(&["journal:read"]).await;
    app.send(Method::GET, "/v1/bank-accounts", Some(&other_scope), None)
        .await
        .expect(403, Some("scope_missing"));
    // Nothing was created by the refusals; the reader may read.
    let list = app
        .send(Method::GET, "/v1/bank-accounts", Some(&reader), None)
        .await;
    assert_eq!(list.expect(200, None), &json!([]));
    // Another tenant's account is not found, for every route.
    let id = bank_account(&app, json!({"name": "Giro", "iban": IBAN})).await;
    let other = as_tenant(&app, app.other_tenant().await);
    other
        .get(&format!("/v1/bank-accounts/{id}"))
        .await
        .expect(404, None);
    other
        .send(
            Method::PUT,
            &format!("/v1/bank-accounts/{id}"),
            Some(other.tenant.key.as_str()),
            Some(&json!({"name": "mine"})),
        )
        .await
        .expect(404, None);
    other
        .get(&format!(
            "/v1/bank-accounts/balance-history?bank_account_id={id}"
        ))
        .await
        .expect(404, None);
    assert_eq!(
        other.get("/v1/bank-accounts").await.expect(200, None),
        &json!([])
    );
    // The other tenant may use the same IBAN for its own account.
    bank_account(&other, json!({"name": "Giro", "iban": IBAN})).await;
    app.get(&format!("/v1/bank-accounts/{}", uuid::Uuid::now_v7()))
        .await
        .expect(404, None);
    assert_eq!(
        app.get(&format!("/v1/bank-accounts/{id}"))
            .await
            .expect(200, None)["name"],
        "Giro"
    );
    // The same Idempotency-Key replays the first answer and creates nothing more.
    let send = || {
        app.client
            .post(format!("{}/v1/bank-accounts", app.address))
            .bearer_auth(app.tenant.key.clone())
            .header("Idempotency-Key", "bank-2")
            .json(&json!({"name": "Zweit", "ledger_account": "1210"}))
            .send()
    };
    let first = into_res(send().await.unwrap()).await;
    let first = first.expect(201, None).clone();
    let again = into_res(send().await.unwrap()).await;
    assert_eq!(again.expect(201, None), &first);
    assert_eq!(
        app.get("/v1/bank-accounts")
            .await
            .expect(200, None)
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

fn day(offset: i64) -> String {
    (Utc::now().date_naive() + Duration::days(offset)).to_string()
}

#[tokio::test]
async fn the_balance_history_follows_statements_and_transactions() {
    let app = spawn_app().await;
    let giro = bank_account(&app, json!({"name": "Giro", "iban": IBAN})).await;
    let usd = bank_account(
        &app,
        json!({"name": "USD", "iban": IBAN2, "ledger_account": "1210", "currency": "USD"}),
    )
    .await;
    // A statement: opening 1000.00 the day before 5 days ago, +200 five days ago, −50 three
    // days ago, closing 1150.00; then a JSON row yesterday (+25).
    let (d5, d3, d1) = (day(-5), day(-3), day(-1));
    let file = camt(
        IBAN,
        "1000.00",
        &[(&d5, "200.00", "A"), (&d3, "-50.00", "B")],
    );
    let res = import_file(&app, &giro, file, "").await;
    assert_eq!(
        res.expect(201, None)["statements"][0]["balance_check"]["ok"],
        true
    );
    app.post(
        "/v1/bank-transactions",
        json!({"bank_account_id": giro, "transactions": [
        {"booking_date": d1, "amount": "25.00", "currency": "EUR"}]}),
    )
    .await
    .expect(201, None);
    app.post(
        "/v1/bank-transactions",
        json!({"bank_account_id": usd, "transactions": [
        {"booking_date": d1, "amount": "99.00", "currency": "USD"}]}),
    )
    .await
    .expect(201, None);
    let res = app.get("/v1/bank-accounts/balance-history?days=7").await;
    let h = res.expect(200, None).clone();
    let history = h["history"].as_array().unwrap();
    assert_eq!(history.len(), 7);
    assert_eq!(history[6]["date"], day(0));
    assert_eq!(history[0]["date"], day(-6));
    let at = |offset: i64| {
        history
            .iter()
            .find(|p| p["date"] == day(offset))
            .map(|p| p["balance"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(
        at(-6),
        "1000.00",
        "before the statement: its opening balance"
    );
    assert_eq!(at(-5), "1200.00");
    assert_eq!(at(-4), "1200.00");
    assert_eq!(at(-3), "1150.00");
    assert_eq!(at(-1), "1175.00");
    assert_eq!(h["currentBalance"], "1175.00");
    assert_eq!(h["startBalance"], "1000.00");
    assert_eq!(h["currency"], "EUR");
    // Only the base-currency accounts are summed; one account on its own in its currency.
    let res = app
        .get(&format!(
            "/v1/bank-accounts/balance-history?days=3&bank_account_id={usd}"
        ))
        .await;
    let u = res.expect(200, None);
    assert_eq!(u["currentBalance"], "99.00");
    assert_eq!(u["currency"], "USD");
    assert_eq!(u["history"].as_array().unwrap().len(), 3);
    // Malformed days fall back to 30.
    let res = app.get("/v1/bank-accounts/balance-history?days=abc").await;
    assert_eq!(
        res.expect(200, None)["history"].as_array().unwrap().len(),
        30
    );
    let res = app
        .get("/v1/bank-accounts/balance-history?days=100000")
        .await;
    assert_eq!(
        res.expect(200, None)["history"].as_array().unwrap().len(),
        30
    );
    app.get("/v1/bank-accounts/balance-history?bank_account_id=nope")
        .await
        .expect(404, None);
    app.send(Method::GET, "/v1/bank-accounts/balance-history", None, None)
        .await
        .expect(401, None);
    // The account's counts and the reconciliation view with a statement.
    let a = app.get(&format!("/v1/bank-accounts/{giro}")).await;
    let a = a.expect(200, None);
    assert_eq!(a["tx_count"], 3);
    assert_eq!(a["unreconciled_count"], 3);
    assert_eq!(a["incomplete_statements"], 0);
    assert_eq!(a["last_tx_date"], d1);
    let r = app
        .get(&format!("/v1/bank-accounts/{giro}/reconciliation"))
        .await;
    let r = r.expect(200, None);
    assert_eq!(r["bank"]["balance"], "1175.00");
    assert_eq!(r["bank"]["source"], "statement");
    assert_eq!(r["open"]["count"], 3);
    assert_eq!(r["open"]["amount"], "175.00");
    assert_eq!(r["ledger"]["amount"], "0.00");
    // The foreign-currency account: no rate known, so no base amount for its bank side.
    let r = app
        .get(&format!("/v1/bank-accounts/{usd}/reconciliation"))
        .await;
    let r = r.expect(200, None);
    assert_eq!(r["currency"], "USD");
    assert_eq!(r["base_currency"], "EUR");
    assert!(r["bank"]["base_amount"].is_null());
    assert_eq!(r["bank"]["balance"], "99.00");
    assert_eq!(account_sum(&app, &usd).await.0, 1);
    let unreconciled = app.get("/v1/bank-transactions/unreconciled-count").await;
    assert_eq!(unreconciled.expect(200, None)["count"], 4);
}

#[tokio::test]
async fn every_bank_route_needs_credentials_and_its_scope() {
    let app = spawn_app().await;
    let id = bank_account(&app, json!({"name": "Giro", "iban": IBAN})).await;
    let tx = uuid::Uuid::now_v7();
    let reads = [
        "/v1/bank-accounts".to_string(),
        format!("/v1/bank-accounts/{id}"),
        format!("/v1/bank-accounts/{id}/reconciliation"),
        "/v1/bank-accounts/balance-history".to_string(),
        "/v1/bank-transactions".to_string(),
        "/v1/bank-transactions/unreconciled-count".to_string(),
        format!("/v1/bank-transactions/{tx}"),
        format!("/v1/bank-transactions/{tx}/evidence"),
    ];
    let invoices_only = app
        .key_with_scopes(&["invoices:read", "invoices:write"])
        .await;
    let reader = app.key_with_scopes(&["bank:read"]).await;
    for path in &reads {
        app.send(Method::GET, path, None, None)
            .await
            .expect(401, None);
        app.send(Method::GET, path, Some(&invoices_only), None)
            .await
            .expect(403, Some("scope_missing"));
        let res = app.send(Method::GET, path, Some(&reader), None).await;
        assert!(
            matches!(res.status.as_u16(), 200 | 404),
            "{path}: {}",
            res.body
        );
    }
    // Well-formed bodies: a malformed one is refused before the scope is looked at.
    let writes = [
        (
            Method::POST,
            "/v1/bank-accounts".to_string(),
            json!({"name": "x", "ledger_account": "1210"}),
        ),
        (
            Method::PUT,
            format!("/v1/bank-accounts/{id}"),
            json!({"name": "x"}),
        ),
        (
            Method::POST,
            "/v1/bank-transactions".to_string(),
            json!({"bank_account_id": id, "transactions": [{"booking_date": "2026-03-01", "amount": "1", "currency": "EUR"}]}),
        ),
        (
            Method::PUT,
            format!("/v1/bank-transactions/{tx}/evidence"),
            json!({"evidence_type": "note"}),
        ),
    ];
    for (method, path, body) in &writes {
        app.send(method.clone(), path, None, Some(body))
            .await
            .expect(401, None);
        app.send(method.clone(), path, Some(&reader), Some(body))
            .await
            .expect(403, Some("scope_missing"));
    }
    // The reader changed nothing.
    assert_eq!(
        app.get(&format!("/v1/bank-accounts/{id}"))
            .await
            .expect(200, None)["name"],
        "Giro"
    );
}
