//! `GET`/`PATCH /v1/settings` over HTTP (issue 12).

use crate::common::*;
use crate::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery staple";

/// A session of a user of the app's tenant with `role`.
async fn session(app: &TestApp, role: &str) -> String {
    let email = format!("{}-{}@acme.test", role, Uuid::now_v7().simple());
    let member = app
        .store
        .invite_user(app.tenant.id, &email, "Sam Test", role)
        .await
        .unwrap();
    let hash = api::passwords::hash_blocking(PASSWORD).unwrap();
    app.store.set_password(member.id, &hash).await.unwrap();
    let res = app
        .send(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(&json!({"email": email, "password": PASSWORD})),
        )
        .await;
    res.expect(200, None)["token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_new_tenant_has_default_settings() {
    let app = spawn_app().await;
    let res = app.get("/v1/settings").await;
    let s = res.expect(200, None);
    assert_eq!(s["datev_consultant_number"], Value::Null);
    assert_eq!(s["datev_client_number"], Value::Null);
    assert_eq!(s["account_length"], 4);
    assert_eq!(s["vat_method"], "soll");
    assert_eq!(s["fiscal_year_start_month"], 1);
    assert_eq!(s["chart"], "skr03");
    assert_eq!(s["base_currency"], "EUR");
    assert_eq!(s["read_only"], json!([]));
}

#[tokio::test]
async fn datev_numbers_and_the_vat_method_change_and_show_at_once() {
    let app = spawn_app().await;
    let res = app
        .patch(
            "/v1/settings",
            json!({"datev_consultant_number": 1234567, "datev_client_number": 10001,
                   "account_length": 5, "vat_method": "ist"}),
        )
        .await;
    let s = res.expect(200, None);
    assert_eq!(s["datev_consultant_number"], 1234567);
    assert_eq!(s["account_length"], 5);
    let s = app.get("/v1/settings").await;
    let s = s.expect(200, None);
    assert_eq!(s["datev_client_number"], 10001);
    assert_eq!(s["vat_method"], "ist");
    // null clears a number; the others stay.
    let res = app
        .patch("/v1/settings", json!({"datev_client_number": null}))
        .await;
    let s = res.expect(200, None);
    assert_eq!(s["datev_client_number"], Value::Null);
    assert_eq!(s["datev_consultant_number"], 1234567);
}

#[tokio::test]
async fn bad_values_are_refused_naming_the_field() {
    let app = spawn_app().await;
    for (body, field) in [
        (
            json!({"datev_consultant_number": 999}),
            "datev_consultant_number",
        ),
        (
            json!({"datev_client_number": 100000}),
            "datev_client_number",
        ),
        (json!({"account_length": 9}), "account_length"),
        (json!({"vat_method": "cash"}), "vat_method"),
        (
            json!({"fiscal_year_start_month": 0}),
            "fiscal_year_start_month",
        ),
        (json!({"chart": "skr99"}), "chart"),
        (json!({"base_currency": "XXXX"}), "base_currency"),
    ] {
        let res = app.patch("/v1/settings", body.clone()).await;
        let b = res.expect(400, Some("invalid_setting"));
        assert_eq!(field_errors(b), vec![field.to_string()], "{body}");
    }
    let res = app.patch("/v1/settings", json!({"datev_number": 1})).await;
    assert_eq!(res.status.as_u16(), 400, "{}", res.body);
    let res = app
        .patch("/v1/settings", json!({"account_length": "five"}))
        .await;
    assert_eq!(res.status.as_u16(), 400, "{}", res.body);
    // Nothing changed.
    assert_eq!(
        app.get("/v1/settings").await.expect(200, None)["account_length"],
        4
    );
}

#[tokio::test]
async fn calendar_chart_and_currency_change_only_before_the_first_booking() {
    let app = spawn_app().await;
    // Before any booking: the fiscal year moves to July, and the periods follow at once.
    let res = app
        .patch("/v1/settings", json!({"fiscal_year_start_month": 7}))
        .await;
    res.expect(200, None);
    let res = app.get("/v1/periods?fiscal_year=2026").await;
    let periods = res.expect(200, None);
    let first = &periods.as_array().unwrap()[0];
    assert_eq!(first["start_date"], "2026-07-01", "{periods}");
    // The chart can change too: SKR04's accounts and tax codes replace SKR03's.
    let res = app.patch("/v1/settings", json!({"chart": "skr04"})).await;
    res.expect(200, None);
    app.get("/v1/accounts/4400").await.expect(200, None);
    app.get("/v1/accounts/8400").await.expect(404, None);
    let tc = app.get("/v1/tax-codes/USt19").await;
    let tc = tc.expect(200, None);
    assert_eq!(tc["vat_account"], "3806");
    assert_eq!(tc["base_kennzahl"], "81");
    // The first booking makes them read-only.
    app.book_ok(json!({
        "booking_date": "2026-08-03", "description": "Kasse an Bank",
        "lines": [{"account": "1600", "debit": "10.00"}, {"account": "1800", "credit": "10.00"}]
    }))
    .await;
    for (body, field) in [
        (
            json!({"fiscal_year_start_month": 1}),
            "fiscal_year_start_month",
        ),
        (json!({"chart": "skr03"}), "chart"),
        (json!({"base_currency": "USD"}), "base_currency"),
    ] {
        let res = app.patch("/v1/settings", body).await;
        let b = res.expect(409, Some("setting_read_only"));
        assert_eq!(field_errors(b), vec![field.to_string()]);
    }
    let s = app.get("/v1/settings").await;
    let s = s.expect(200, None);
    assert_eq!(
        s["read_only"],
        json!(["fiscal_year_start_month", "chart", "base_currency"])
    );
    // The DATEV numbers still change.
    let res = app
        .patch("/v1/settings", json!({"datev_consultant_number": 1001}))
        .await;
    res.expect(200, None);
}

#[tokio::test]
async fn a_chart_that_partners_refer_to_stays() {
    let app = spawn_app().await;
    app.post("/v1/customers", json!({"name": "Kunde AG"}))
        .await
        .expect(201, None);
    let res = app.patch("/v1/settings", json!({"chart": "skr04"})).await;
    res.expect(409, Some("chart_in_use"));
    assert_eq!(
        app.get("/v1/settings").await.expect(200, None)["chart"],
        "skr03"
    );
    app.get("/v1/accounts/8400").await.expect(200, None);
}

#[tokio::test]
async fn who_may_read_and_change_settings() {
    let app = spawn_app().await;
    // No credentials.
    let res = app.send(Method::GET, "/v1/settings", None, None).await;
    res.expect(401, None);
    let res = app
        .send(
            Method::PATCH,
            "/v1/settings",
            None,
            Some(&json!({"account_length": 5})),
        )
        .await;
    res.expect(401, None);
    // A key without the scope, a key that may only read.
    let journal = app.key_with_scopes(&["journal:read"]).await;
    let res = app
        .send(Method::GET, "/v1/settings", Some(&journal), None)
        .await;
    res.expect(403, Some("scope_missing"));
    let reader = app.key_with_scopes(&["settings:read"]).await;
    app.send(Method::GET, "/v1/settings", Some(&reader), None)
        .await
        .expect(200, None);
    let res = app
        .send(
            Method::PATCH,
            "/v1/settings",
            Some(&reader),
            Some(&json!({"account_length": 5})),
        )
        .await;
    res.expect(403, Some("scope_missing"));
    // Sessions: owners and accountants; auditors and viewers not even to read.
    for role in ["auditor", "viewer"] {
        let token = session(&app, role).await;
        let res = app
            .send(Method::GET, "/v1/settings", Some(&token), None)
            .await;
        res.expect(403, Some("role_forbidden"));
    }
    let accountant = session(&app, "accountant").await;
    let res = app
        .send(
            Method::PATCH,
            "/v1/settings",
            Some(&accountant),
            Some(&json!({"account_length": 6})),
        )
        .await;
    assert_eq!(res.expect(200, None)["account_length"], 6);
    // Another tenant's settings are its own.
    let other = as_tenant(&app, app.other_tenant().await);
    let s = other.get("/v1/settings").await;
    assert_eq!(s.expect(200, None)["account_length"], 4);
}

#[tokio::test]
async fn tax_codes_carry_their_kennzahlen_and_bu_keys() {
    let app = spawn_app().await;
    let res = app.get("/v1/tax-codes").await;
    let list = res.expect(200, None);
    let by_code = |code: &str| {
        list["tax_codes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["code"] == code)
            .cloned()
            .unwrap()
    };
    let rc = by_code("RC19");
    assert_eq!(rc["vat_side"], "purchase");
    assert_eq!(rc["base_kennzahl"], "46");
    assert_eq!(rc["tax_kennzahl"], "47");
    assert_eq!(rc["input_tax_kennzahl"], "67");
    assert_eq!(rc["datev_bu_key"], "94");
    let other = by_code("RC19DE");
    assert_eq!(other["base_kennzahl"], "84");
    assert_eq!(other["tax_kennzahl"], "85");
    assert_eq!(by_code("USt19")["datev_bu_key"], "3");
    assert_eq!(by_code("IGE19")["base_kennzahl"], "89");
    // USt0 gets a Kennzahl by PATCH; a bad one is refused with the field.
    let res = app
        .patch("/v1/tax-codes/USt0", json!({"base_kennzahl": "48"}))
        .await;
    assert_eq!(res.expect(200, None)["base_kennzahl"], "48");
    let res = app
        .patch("/v1/tax-codes/USt0", json!({"base_kennzahl": "4x"}))
        .await;
    let b = res.expect(400, Some("invalid_tax_code_facts"));
    assert_eq!(field_errors(b), vec!["base_kennzahl".to_string()]);
    let res = app
        .patch(
            "/v1/tax-codes/USt19",
            json!({"datev_bu_key": null, "label": "USt 19"}),
        )
        .await;
    let t = res.expect(200, None);
    assert_eq!(t["datev_bu_key"], Value::Null);
    assert_eq!(t["label"], "USt 19");
}
