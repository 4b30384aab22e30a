use crate::common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn a_sale_with_tax_code_writes_three_lines() {
    let app = spawn_app().await;
    let res = app
        .post("/v1/bookings", sale("2026-03-14", "100.00", "119.00"))
        .await;
    let body = res.expect(201, None);
    assert_eq!(body["event_count"], 3);
    assert_eq!(app.balance("1400").await, "119.00");
    assert_eq!(app.balance("8400").await, "-100.00");
    assert_eq!(app.balance("1776").await, "-19.00");
}

#[tokio::test]
async fn an_unbalanced_booking_is_refused_and_writes_nothing() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/v1/bookings",
            json!({"booking_date": "2026-03-14", "description": "x",
                   "lines": [{"account": "1400", "debit": "119.00"}, {"account": "8400", "credit": "100.00"}]}),
        )
        .await;
    res.expect(400, Some("unbalanced"));
    assert_eq!(app.balance("1400").await, "0.00");
    let journal = app.get("/v1/journal").await;
    assert_eq!(journal.expect(200, None)["total"], 0);
}

// ---- booking rules, one test per code -------------------------------------------------------

use crate::helpers::*;
use reqwest::Method;

const D: &str = "2026-03-14";

#[tokio::test]
async fn no_lines() {
    let app = spawn_app().await;
    let res = app.post("/v1/bookings", booking(D, json!([]))).await;
    res.expect(400, Some("no_lines"));
    assert_eq!(field_errors(&res.body), ["lines"]);
}

#[tokio::test]
async fn too_many_lines_and_the_limit_itself() {
    let app = spawn_app().await;
    let mut lines: Vec<Value> = (0..500)
        .map(|_| json!({"account": "1400", "debit": "1.00"}))
        .collect();
    lines.push(json!({"account": "8400", "credit": "500.00"}));
    let res = app
        .post("/v1/bookings", booking(D, Value::Array(lines)))
        .await;
    res.expect(400, Some("too_many_lines"));

    let mut lines: Vec<Value> = (0..499)
        .map(|_| json!({"account": "1400", "debit": "1.00"}))
        .collect();
    lines.push(json!({"account": "8400", "credit": "499.00"}));
    let res = app
        .post("/v1/bookings", booking(D, Value::Array(lines)))
        .await;
    assert_eq!(res.expect(201, None)["event_count"], 500);
    assert_eq!(app.balance("1400").await, "499.00");
}

#[tokio::test]
async fn debit_xor_credit_both_and_neither() {
    let app = spawn_app().await;
    let both = booking(
        D,
        json!([{"account": "1400", "debit": "10.00", "credit": "10.00"}, {"account": "8400", "credit": "0.01"}]),
    );
    let res = app.post("/v1/bookings", both).await;
    res.expect(400, Some("debit_xor_credit"));
    assert_eq!(field_errors(&res.body), ["lines[0]"]);

    let neither = booking(
        D,
        json!([{"account": "1400", "debit": "10.00"}, {"account": "8400"}]),
    );
    let res = app.post("/v1/bookings", neither).await;
    res.expect(400, Some("debit_xor_credit"));
    assert_eq!(field_errors(&res.body), ["lines[1]"]);

    let nulls = booking(
        D,
        json!([{"account": "1400", "debit": null, "credit": null}, {"account": "8400", "credit": "1"}]),
    );
    app.post("/v1/bookings", nulls)
        .await
        .expect(400, Some("debit_xor_credit"));
}

#[tokio::test]
async fn non_positive_amount_zero_and_negative() {
    let app = spawn_app().await;
    let res = app
        .post("/v1/bookings", transfer(D, "1400", "8400", "0.00"))
        .await;
    res.expect(400, Some("non_positive_amount"));
    assert_eq!(field_errors(&res.body), ["lines[0].debit"]);

    let negative = booking(
        D,
        json!([{"account": "1400", "credit": "-5.00"}, {"account": "8400", "credit": "5.00"}]),
    );
    let res = app.post("/v1/bookings", negative).await;
    res.expect(400, Some("non_positive_amount"));
    assert_eq!(field_errors(&res.body), ["lines[0].credit"]);
    assert_eq!(app.get("/v1/journal").await.expect(200, None)["total"], 0);
}

#[tokio::test]
async fn amount_precision_in_eur_and_in_jpy() {
    let app = spawn_app().await;
    let res = app
        .post("/v1/bookings", transfer(D, "1400", "8400", "10.001"))
        .await;
    res.expect(400, Some("amount_precision"));
    assert_eq!(field_errors(&res.body), ["lines[0].debit"]);
    // Trailing zeros are not extra precision.
    app.book_ok(transfer(D, "1400", "8400", "10.0000")).await;
    assert_eq!(app.balance("1400").await, "10.00");

    let jpy = with(
        transfer(D, "1200", "8400", "1000.5"),
        "fx",
        json!({"currency": "JPY", "rate": "160"}),
    );
    let res = app.post("/v1/bookings", jpy).await;
    res.expect(400, Some("amount_precision"));
    assert!(
        res.body["error"].as_str().unwrap().contains("JPY"),
        "{}",
        res.body
    );

    let jpy = with(
        transfer(D, "1200", "8400", "16000"),
        "fx",
        json!({"currency": "JPY", "rate": "160"}),
    );
    app.book_ok(jpy).await;
    assert_eq!(app.balance("1200").await, "100.00");
}

#[tokio::test]
async fn amount_too_large() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/v1/bookings",
            transfer(D, "1400", "8400", "1000000000000.01"),
        )
        .await;
    res.expect(400, Some("amount_too_large"));
    assert_eq!(field_errors(&res.body), ["lines[0].debit"]);
    // The limit itself is allowed.
    app.book_ok(transfer(D, "1400", "8400", "1000000000000"))
        .await;
    assert_eq!(app.balance("1400").await, "1000000000000.00");
}

#[tokio::test]
async fn description_required() {
    let app = spawn_app().await;
    for d in ["", "   "] {
        let body = with(transfer(D, "1400", "8400", "1.00"), "description", json!(d));
        let res = app.post("/v1/bookings", body).await;
        res.expect(400, Some("description_required"));
        assert_eq!(field_errors(&res.body), ["description"]);
    }
}

#[tokio::test]
async fn too_long_description_reference_and_line_fields() {
    let app = spawn_app().await;
    let long = |n: usize| "x".repeat(n);
    let res = app
        .post(
            "/v1/bookings",
            with(
                transfer(D, "1400", "8400", "1.00"),
                "description",
                json!(long(501)),
            ),
        )
        .await;
    res.expect(400, Some("too_long"));
    assert_eq!(field_errors(&res.body), ["description"]);

    let res = app
        .post(
            "/v1/bookings",
            with(
                transfer(D, "1400", "8400", "1.00"),
                "external_reference",
                json!(long(201)),
            ),
        )
        .await;
    res.expect(400, Some("too_long"));
    assert_eq!(field_errors(&res.body), ["external_reference"]);

    let line = booking(
        D,
        json!([{"account": "1400", "debit": "1.00", "description": long(501)}, {"account": "8400", "credit": "1.00"}]),
    );
    let res = app.post("/v1/bookings", line).await;
    res.expect(400, Some("too_long"));
    assert_eq!(field_errors(&res.body), ["lines[0].description"]);

    // Characters, not bytes: 500 umlauts are fine.
    let body = with(
        transfer(D, "1400", "8400", "1.00"),
        "description",
        json!("ä".repeat(500)),
    );
    app.book_ok(body).await;
}

#[tokio::test]
async fn unknown_account_missing_and_inactive() {
    let app = spawn_app().await;
    let res = app
        .post("/v1/bookings", transfer(D, "1400", "8888", "1.00"))
        .await;
    res.expect(400, Some("unknown_account"));
    assert_eq!(field_errors(&res.body), ["lines[1].account"]);

    app.patch("/v1/accounts/4930", json!({"is_active": false}))
        .await
        .expect(200, None);
    let res = app
        .post("/v1/bookings", transfer(D, "4930", "1200", "1.00"))
        .await;
    res.expect(400, Some("unknown_account"));
    assert!(
        res.body["error"].as_str().unwrap().contains("inactive"),
        "{}",
        res.body
    );

    app.patch("/v1/accounts/4930", json!({"is_active": true}))
        .await
        .expect(200, None);
    app.book_ok(transfer(D, "4930", "1200", "1.00")).await;
    assert_eq!(app.balance("4930").await, "1.00");
}

#[tokio::test]
async fn unknown_tax_code_missing_and_inactive() {
    let app = spawn_app().await;
    let res = app
        .post("/v1/bookings", sale_with(D, "100.00", "119.00", "UST19"))
        .await;
    res.expect(400, Some("unknown_tax_code"));
    assert_eq!(field_errors(&res.body), ["lines[1].tax_code"]);

    app.delete("/v1/tax-codes/USt19").await.expect(200, None);
    let res = app
        .post("/v1/bookings", sale("2026-03-14", "100.00", "119.00"))
        .await;
    res.expect(400, Some("unknown_tax_code"));
    assert!(
        res.body["error"].as_str().unwrap().contains("inactive"),
        "{}",
        res.body
    );
    assert_eq!(app.balance("1400").await, "0.00");
}

fn sale_with(date: &str, net: &str, gross: &str, code: &str) -> Value {
    booking(
        date,
        json!([{"account": "1400", "debit": gross}, {"account": "8400", "credit": net, "tax_code": code}]),
    )
}

#[tokio::test]
async fn tax_code_misconfigured_when_its_account_is_inactive() {
    let app = spawn_app().await;
    app.patch("/v1/accounts/1776", json!({"is_active": false}))
        .await
        .expect(200, None);
    let res = app.post("/v1/bookings", sale(D, "100.00", "119.00")).await;
    res.expect(400, Some("tax_code_misconfigured"));
    assert_eq!(field_errors(&res.body), ["lines[1].tax_code"]);
    assert!(
        res.body["error"].as_str().unwrap().contains("1776"),
        "{}",
        res.body
    );
}

#[tokio::test]
async fn unbalanced_after_tax_expansion() {
    let app = spawn_app().await;
    // 100 net + 19 tax on the credit side against a debit of only 100.
    let res = app.post("/v1/bookings", sale(D, "100.00", "100.00")).await;
    res.expect(400, Some("unbalanced"));
    assert_eq!(
        res.body["error"],
        "Booking is not balanced: debit 100.00 != credit 119.00"
    );
}

#[tokio::test]
async fn fx_rules_unknown_currency_invalid_rate_and_base_currency() {
    let app = spawn_app().await;
    let fx = |currency: &str, rate: Value| {
        with(
            transfer(D, "1200", "8400", "10.00"),
            "fx",
            json!({"currency": currency, "rate": rate}),
        )
    };
    let res = app.post("/v1/bookings", fx("XYZ", json!("1.1"))).await;
    res.expect(400, Some("unknown_currency"));
    assert_eq!(field_errors(&res.body), ["fx.currency"]);
    for rate in [json!("0"), json!("-1.5"), json!(0)] {
        let res = app.post("/v1/bookings", fx("USD", rate)).await;
        res.expect(400, Some("invalid_fx_rate"));
        assert_eq!(field_errors(&res.body), ["fx.rate"]);
    }
    let res = app.post("/v1/bookings", fx("EUR", json!("1"))).await;
    res.expect(400, Some("fx_is_base_currency"));
    assert_eq!(app.get("/v1/journal").await.expect(200, None)["total"], 0);
}

#[tokio::test]
async fn invalid_metadata() {
    let app = spawn_app().await;
    let meta = |m: Value| with(transfer(D, "1400", "8400", "1.00"), "custom_metadata", m);
    let res = app.post("/v1/bookings", meta(json!({"crm_id": 42}))).await;
    res.expect(400, Some("invalid_metadata"));
    assert_eq!(field_errors(&res.body), ["custom_metadata"]);

    let many: serde_json::Map<String, Value> =
        (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
    app.post("/v1/bookings", meta(Value::Object(many)))
        .await
        .expect(400, Some("invalid_metadata"));
    let fifty: serde_json::Map<String, Value> =
        (0..50).map(|i| (format!("k{i}"), json!("v"))).collect();
    app.book_ok(meta(Value::Object(fifty))).await;

    let mut long_key = serde_json::Map::new();
    long_key.insert("k".repeat(41), json!("v"));
    app.post("/v1/bookings", meta(Value::Object(long_key)))
        .await
        .expect(400, Some("invalid_metadata"));
    app.post("/v1/bookings", meta(json!({"": "v"})))
        .await
        .expect(400, Some("invalid_metadata"));
    app.post("/v1/bookings", meta(json!({"note": "v".repeat(501)})))
        .await
        .expect(400, Some("invalid_metadata"));
    app.post("/v1/bookings", meta(json!({"nested": {"a": "b"}})))
        .await
        .expect(400, Some("invalid_metadata"));
    // Not an object at all is a type error of the body.
    let res = app.post("/v1/bookings", meta(json!(["a"]))).await;
    res.expect(400, Some("invalid_field"));
    assert_eq!(field_errors(&res.body), ["custom_metadata"]);
}

#[tokio::test]
async fn unknown_document() {
    let app = spawn_app().await;
    let body = with(
        transfer(D, "1400", "8400", "1.00"),
        "document_id",
        json!(uuid::Uuid::now_v7().to_string()),
    );
    let res = app.post("/v1/bookings", body).await;
    res.expect(400, Some("unknown_document"));
    assert_eq!(field_errors(&res.body), ["document_id"]);
    let res = app
        .post(
            "/v1/bookings",
            with(
                transfer(D, "1400", "8400", "1.00"),
                "document_id",
                json!("not-a-uuid"),
            ),
        )
        .await;
    res.expect(400, Some("invalid_field"));
    assert_eq!(field_errors(&res.body), ["document_id"]);
}

#[tokio::test]
async fn another_tenants_document_is_unknown() {
    let app = spawn_app().await;
    let other = as_tenant(&app, app.other_tenant().await);
    let doc = upload_pdf(&other, "other.pdf").await;
    let body = with(
        transfer(D, "1400", "8400", "1.00"),
        "document_id",
        json!(doc),
    );
    app.post("/v1/bookings", body.clone())
        .await
        .expect(400, Some("unknown_document"));
    other.book_ok(body).await;
}

#[tokio::test]
async fn duplicate_external_reference_and_skip_duplicate_check() {
    let app = spawn_app().await;
    let body = with(
        transfer(D, "1400", "8400", "1.00"),
        "external_reference",
        json!("INV-2026-0042"),
    );
    app.book_ok(body.clone()).await;
    let res = app.post("/v1/bookings", body.clone()).await;
    res.expect(409, Some("duplicate"));
    assert_eq!(field_errors(&res.body), ["external_reference"]);
    app.book_ok(with(body.clone(), "skip_duplicate_check", json!(true)))
        .await;
    assert_eq!(app.balance("1400").await, "2.00");
    // Another tenant may use the same reference.
    let other = as_tenant(&app, app.other_tenant().await);
    other.book_ok(body).await;
}

#[tokio::test]
async fn duplicate_within_concurrent_requests_books_once() {
    let app = spawn_app().await;
    let body = with(
        transfer(D, "1400", "8400", "1.00"),
        "external_reference",
        json!("RACE-1"),
    );
    let results =
        futures_util::future::join_all((0..16).map(|_| app.post("/v1/bookings", body.clone())))
            .await;
    let created = results.iter().filter(|r| r.status.as_u16() == 201).count();
    assert_eq!(created, 1);
    for r in results.iter().filter(|r| r.status.as_u16() != 201) {
        r.expect(409, Some("duplicate"));
    }
    assert_eq!(app.balance("1400").await, "1.00");
}

#[tokio::test]
async fn amounts_as_json_numbers_and_strings() {
    let app = spawn_app().await;
    let text = r#"{"booking_date": "2026-03-14", "description": "numbers",
        "lines": [{"account": "1400", "debit": 119.00}, {"account": "8400", "credit": 100, "tax_code": "USt19"}]}"#;
    let res = json_text(
        &app,
        Method::POST,
        "/v1/bookings",
        Some(&app.tenant.key),
        text,
    )
    .await;
    assert_eq!(res.expect(201, None)["event_count"], 3);
    // A number with more precision than a float holds is taken exactly.
    let text = r#"{"booking_date": "2026-03-14", "description": "precise",
        "lines": [{"account": "1400", "debit": 12345678901.23}, {"account": "8400", "credit": "12345678901.23"}]}"#;
    json_text(
        &app,
        Method::POST,
        "/v1/bookings",
        Some(&app.tenant.key),
        text,
    )
    .await
    .expect(201, None);
    assert_eq!(app.balance("1400").await, "12345679020.23");
    for bad in [r#"1e2"#, r#""12,50""#, r#""abc""#, r#"true"#] {
        let text = format!(
            r#"{{"booking_date": "2026-03-14", "description": "x", "lines": [{{"account": "1400", "debit": {bad}}}, {{"account": "8400", "credit": "100"}}]}}"#
        );
        let res = json_text(
            &app,
            Method::POST,
            "/v1/bookings",
            Some(&app.tenant.key),
            &text,
        )
        .await;
        res.expect(400, Some("invalid_field"));
        assert_eq!(field_errors(&res.body), ["lines[0].debit"], "{bad}");
    }
}

// ---- what a valid booking writes ------------------------------------------------------------

/// The lines of an intent as (account, debit, credit, generated).
async fn lines_of(app: &TestApp, intent: &str) -> Vec<(String, String, String, String)> {
    let res = app.get(&format!("/v1/journal/{intent}")).await;
    let body = res.expect(200, None);
    body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["account"].as_str().unwrap().to_string(),
                e["debit"].as_str().unwrap_or("").to_string(),
                e["credit"].as_str().unwrap_or("").to_string(),
                e["generated"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn line(
    account: &str,
    debit: &str,
    credit: &str,
    generated: &str,
) -> (String, String, String, String) {
    (
        account.into(),
        debit.into(),
        credit.into(),
        generated.into(),
    )
}

#[tokio::test]
async fn tax_is_rounded_half_away_from_zero_per_line() {
    let app = spawn_app().await;
    // 0.05 × 19 % = 0.0095 → 0.01
    let id = app.book_ok(sale(D, "0.05", "0.06")).await;
    assert_eq!(
        lines_of(&app, &id).await,
        [
            line("1400", "0.06", "", ""),
            line("8400", "", "0.05", ""),
            line("1776", "", "0.01", "tax")
        ]
    );
    // 10.50 × 7 % = 0.735 → 0.74
    let body = booking(
        D,
        json!([{"account": "1400", "debit": "11.24"}, {"account": "8300", "credit": "10.50", "tax_code": "USt7"}]),
    );
    let id = app.book_ok(body).await;
    assert_eq!(
        lines_of(&app, &id).await[2],
        line("1771", "", "0.74", "tax")
    );
    assert_eq!(app.balance("1771").await, "-0.74");
    // Per line, not per booking: 2 × round(0.03 × 19 %) = 0.02, while round(0.06 × 19 %) would be 0.01.
    let body = booking(
        D,
        json!([{"account": "1400", "debit": "0.08"},
               {"account": "8400", "credit": "0.03", "tax_code": "USt19"},
               {"account": "8400", "credit": "0.03", "tax_code": "USt19"}]),
    );
    let res = app.post("/v1/bookings", body).await;
    assert_eq!(res.expect(201, None)["event_count"], 5);
    assert_eq!(app.balance("1776").await, "-0.03");
    // Input VAT on the debit side.
    let body = booking(
        D,
        json!([{"account": "4930", "debit": "10.50", "tax_code": "VSt19"}, {"account": "1600", "credit": "12.50"}]),
    );
    let id = app.book_ok(body).await;
    assert_eq!(
        lines_of(&app, &id).await[2],
        line("1576", "2.00", "", "tax")
    );
}

#[tokio::test]
async fn reverse_charge_books_input_and_self_assessed_output_vat() {
    let app = spawn_app().await;
    let body = booking(
        D,
        json!([{"account": "3125", "debit": "1000.00", "tax_code": "RC19"}, {"account": "1600", "credit": "1000.00"}]),
    );
    let res = app.post("/v1/bookings", body).await;
    assert_eq!(res.expect(201, None)["event_count"], 4);
    let id = res.body["intent_id"].as_str().unwrap();
    assert_eq!(
        lines_of(&app, id).await,
        [
            line("3125", "1000.00", "", ""),
            line("1600", "", "1000.00", ""),
            line("1577", "190.00", "", "tax"),
            line("1787", "", "190.00", "self_assessment"),
        ]
    );
    assert_eq!(app.balance("1577").await, "190.00");
    assert_eq!(app.balance("1787").await, "-190.00");
    assert_eq!(app.balance("1600").await, "-1000.00");

    let body = booking(
        D,
        json!([{"account": "3425", "debit": "200.00", "tax_code": "IGE19"}, {"account": "1600", "credit": "200.00"}]),
    );
    let res = app.post("/v1/bookings", body).await;
    assert_eq!(res.expect(201, None)["event_count"], 4);
    assert_eq!(app.balance("1574").await, "38.00");
    assert_eq!(app.balance("1774").await, "-38.00");
    assert_eq!(app.balance("3425").await, "200.00");
}

#[tokio::test]
async fn zero_rate_codes_write_no_tax_line() {
    let app = spawn_app().await;
    for (account, code) in [("8125", "IGL"), ("8120", "EXP"), ("8100", "USt0")] {
        let body = sale_with(D, "100.00", "100.00", code)
            .to_string()
            .replace("8400", account);
        let res = app
            .post("/v1/bookings", serde_json::from_str(&body).unwrap())
            .await;
        assert_eq!(res.expect(201, None)["event_count"], 2, "{code}");
        let id = res.body["intent_id"].as_str().unwrap();
        let lines = app.get(&format!("/v1/journal/{id}")).await;
        assert_eq!(lines.body["entries"][1]["tax_code"], code);
    }
    assert_eq!(app.balance("1400").await, "300.00");
}

#[tokio::test]
async fn fx_booking_rounds_base_amounts_onto_the_fx_rounding_account() {
    let app = spawn_app().await;
    let body = with(
        booking(
            D,
            json!([{"account": "1200", "debit": "100.00"},
                   {"account": "8400", "credit": "50.00"},
                   {"account": "8300", "credit": "50.00"}]),
        ),
        "fx",
        json!({"currency": "USD", "rate": "1.0850"}),
    );
    let res = app.post("/v1/bookings", body).await;
    assert_eq!(res.expect(201, None)["event_count"], 4);
    let id = res.body["intent_id"].as_str().unwrap().to_string();
    // 100 / 1.085 = 92.17, 50 / 1.085 = 46.08 twice: 0.01 short on the credit side.
    assert_eq!(
        lines_of(&app, &id).await,
        [
            line("1200", "92.17", "", ""),
            line("8400", "", "46.08", ""),
            line("8300", "", "46.08", ""),
            line("2150", "", "0.01", "fx_rounding"),
        ]
    );
    let intent = app.get(&format!("/v1/journal/{id}")).await;
    let s = &intent.expect(200, None)["summary"];
    assert_eq!(s["currency"], "USD");
    assert_eq!(s["fx_rate"], "1.085");
    assert_eq!(s["total_debit"], "92.17");
    assert_eq!(s["total_credit"], "92.17");
    let e = &intent.body["entries"][0];
    assert_eq!(
        (e["currency"].as_str(), e["amount"].as_str()),
        (Some("USD"), Some("100.00"))
    );
    assert_eq!(app.balance("2150").await, "-0.01");
    assert_eq!(app.balance("1200").await, "92.17");
    // Without a rounding difference, no rounding line.
    let body = with(
        transfer(D, "1200", "8400", "10.85"),
        "fx",
        json!({"currency": "USD", "rate": "1.0850"}),
    );
    let res = app.post("/v1/bookings", body).await;
    assert_eq!(res.expect(201, None)["event_count"], 2);
    assert_eq!(app.balance("1200").await, "102.17");
}

#[tokio::test]
async fn adjustment_period_books_into_period_13() {
    let app = spawn_app().await;
    let id = app
        .book_ok(with(
            transfer("2026-12-31", "4930", "1200", "5.00"),
            "adjustment_period",
            json!(true),
        ))
        .await;
    let res = app.get(&format!("/v1/journal/{id}")).await;
    let body = res.expect(200, None);
    assert_eq!(body["summary"]["period"], "2026-13");
    assert_eq!(body["summary"]["booking_date"], "2026-12-31");
    assert_eq!(body["entries"][0]["period"], "2026-13");
    let id = app
        .book_ok(transfer("2026-12-31", "4930", "1200", "5.00"))
        .await;
    let res = app.get(&format!("/v1/journal/{id}")).await;
    assert_eq!(res.expect(200, None)["summary"]["period"], "2026-12");
}

#[tokio::test]
async fn opening_balances_are_booked_against_9000() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/v1/bookings/opening-balances",
            json!({"booking_date": "2026-01-01",
                   "balances": [{"account": "1200", "debit": "5000.00"},
                                {"account": "1000", "debit": 250.5},
                                {"account": "1600", "credit": "1200.50"}]}),
        )
        .await;
    let body = res.expect(201, None);
    assert_eq!(body["event_count"], 6);
    assert_eq!(body["total_debit"], "5250.50");
    assert_eq!(body["total_credit"], "1200.50");
    let id = body["intent_id"].as_str().unwrap().to_string();
    assert_eq!(
        lines_of(&app, &id).await,
        [
            line("1200", "5000.00", "", ""),
            line("9000", "", "5000.00", "opening_balance"),
            line("1000", "250.50", "", ""),
            line("9000", "", "250.50", "opening_balance"),
            line("1600", "", "1200.50", ""),
            line("9000", "1200.50", "", "opening_balance"),
        ]
    );
    assert_eq!(app.balance("9000").await, "-4050.00");
    assert_eq!(app.balance("1200").await, "5000.00");
    let intent = app.get(&format!("/v1/journal/{id}")).await;
    assert_eq!(intent.body["summary"]["kind"], "opening_balance");
    assert_eq!(intent.body["summary"]["description"], "Saldenvortrag");
}

#[tokio::test]
async fn opening_balance_errors() {
    let app = spawn_app().await;
    let ob = |balances: Value| json!({"booking_date": "2026-01-01", "balances": balances});
    let path = "/v1/bookings/opening-balances";
    app.post(path, ob(json!([])))
        .await
        .expect(400, Some("no_lines"));
    let res = app
        .post(path, ob(json!([{"account": "8888", "debit": "1.00"}])))
        .await;
    res.expect(400, Some("unknown_account"));
    assert_eq!(field_errors(&res.body), ["balances[0].account"]);
    app.post(
        path,
        ob(json!([{"account": "1200", "debit": "1.00", "credit": "1.00"}])),
    )
    .await
    .expect(400, Some("debit_xor_credit"));
    app.post(path, ob(json!([{"account": "1200", "debit": "-1.00"}])))
        .await
        .expect(400, Some("non_positive_amount"));
    app.post(path, ob(json!([{"account": "1200", "debit": "1.001"}])))
        .await
        .expect(400, Some("amount_precision"));
    app.post(
        path,
        ob(json!([{"account": "1200", "debit": "1.00", "tax_code": "USt19"}])),
    )
    .await
    .expect(400, Some("unknown_tax_code"));
    app.post(
        path,
        ob(json!([{"account": "1200", "debit": "1.00", "foo": 1}])),
    )
    .await
    .expect(400, Some("unknown_field"));
    let too_many: Vec<Value> = (0..251)
        .map(|_| json!({"account": "1200", "debit": "1.00"}))
        .collect();
    app.post(path, ob(Value::Array(too_many)))
        .await
        .expect(400, Some("too_many_lines"));
    app.post(
        path,
        json!({"balances": [{"account": "1200", "debit": "1.00"}]}),
    )
    .await
    .expect(400, Some("invalid_field"));
    soft_lock(app.tenant.id, "2026-01").await;
    app.post(path, ob(json!([{"account": "1200", "debit": "1.00"}])))
        .await
        .expect(409, Some("period_locked"));
    assert_eq!(app.balance("9000").await, "0.00");
}

#[tokio::test]
async fn custom_metadata_and_document_id_are_kept_with_the_intent() {
    let app = spawn_app().await;
    let doc = upload_pdf(&app, "rechnung-42.pdf").await;
    let body = json!({
        "booking_date": D, "description": "Invoice 2026-0042 Acme",
        "lines": [{"account": "1400", "debit": "119.00"}, {"account": "8400", "credit": "100.00", "tax_code": "USt19"}],
        "external_reference": "INV-2026-0042", "document_id": doc, "custom_metadata": {"crm_id": "42", "Kunde": "Müller"}
    });
    let id = app.book_ok(body).await;
    let res = app.get(&format!("/v1/journal/{id}")).await;
    let m = &res.expect(200, None)["metadata"];
    assert_eq!(
        m["custom_metadata"],
        json!({"crm_id": "42", "Kunde": "Müller"})
    );
    assert_eq!(m["document_id"], json!(doc));
    assert_eq!(res.body["summary"]["external_reference"], "INV-2026-0042");
}

#[tokio::test]
async fn period_locked() {
    let app = spawn_app().await;
    soft_lock(app.tenant.id, "2026-02").await;
    let res = app
        .post(
            "/v1/bookings",
            transfer("2026-02-10", "1400", "8400", "1.00"),
        )
        .await;
    res.expect(409, Some("period_locked"));
    assert!(
        res.body["error"].as_str().unwrap().contains("2026-02"),
        "{}",
        res.body
    );
    // Neighbouring periods stay open; an adjustment booking of a locked period 13 does not.
    app.book_ok(transfer("2026-03-01", "1400", "8400", "1.00"))
        .await;
    app.book_ok(transfer("2026-01-31", "1400", "8400", "1.00"))
        .await;
    soft_lock(app.tenant.id, "2026-13").await;
    let res = app
        .post(
            "/v1/bookings",
            with(
                transfer("2026-12-31", "1400", "8400", "1.00"),
                "adjustment_period",
                json!(true),
            ),
        )
        .await;
    res.expect(409, Some("period_locked"));
    app.book_ok(transfer("2026-12-31", "1400", "8400", "1.00"))
        .await;
    assert_eq!(app.balance("1400").await, "3.00");
}

#[tokio::test]
async fn skr04_books_with_its_own_tax_accounts() {
    let app = spawn_app_with(
        api::ApiConfig {
            workers: 1,
            ..Default::default()
        },
        "skr04",
    )
    .await;
    let body = booking(
        D,
        json!([{"account": "1200", "debit": "119.00"}, {"account": "4400", "credit": "100.00", "tax_code": "USt19"}]),
    );
    app.book_ok(body).await;
    assert_eq!(app.balance("3806").await, "-19.00");
    assert_eq!(app.balance("1200").await, "119.00");
    let fx = with(
        booking(
            D,
            json!([{"account": "1800", "debit": "100.00"}, {"account": "4400", "credit": "50.00"}, {"account": "4300", "credit": "50.00"}]),
        ),
        "fx",
        json!({"currency": "USD", "rate": "1.0850"}),
    );
    app.book_ok(fx).await;
    assert_eq!(app.balance("6880").await, "-0.01");
    let res = app
        .post("/v1/bookings/opening-balances", json!({"booking_date": "2026-01-01", "balances": [{"account": "1800", "debit": "10.00"}]}))
        .await;
    res.expect(201, None);
    assert_eq!(app.balance("9000").await, "-10.00");
}
