//! Tax codes: the seeded German codes per chart, create, update, deactivate, and their effect
//! on bookings.

use crate::common::*;
use crate::helpers::*;
use serde_json::{json, Value};

fn by_code(body: &Value) -> std::collections::BTreeMap<String, Value> {
    body["tax_codes"]
        .as_array()
        .expect("tax_codes")
        .iter()
        .map(|t| (t["code"].as_str().unwrap().to_string(), t.clone()))
        .collect()
}

const SEEDED: [&str; 11] = [
    "EXP", "IGE19", "IGL", "RC19", "RC19DE", "USt0", "USt19", "USt7", "VSt0", "VSt19", "VSt7",
];

async fn check_seeded(app: &TestApp, expected: &[(&str, &str, Option<&str>, Option<&str>)]) {
    let res = app.get("/v1/tax-codes").await;
    let codes = by_code(res.expect(200, None));
    assert_eq!(codes.keys().map(String::as_str).collect::<Vec<_>>(), SEEDED);
    for (code, rate, vat, own) in expected {
        let t = &codes[*code];
        assert_eq!(t["rate"], *rate, "{code}");
        assert_eq!(t["vat_account"].as_str(), *vat, "{code}");
        assert_eq!(t["self_assess_account"].as_str(), *own, "{code}");
        assert_eq!(
            (t["is_system"].as_bool(), t["is_active"].as_bool()),
            (Some(true), Some(true)),
            "{code}"
        );
        assert!(!t["label"].as_str().unwrap().is_empty(), "{code}");
    }
}

#[tokio::test]
async fn seeded_codes_for_skr03() {
    let app = spawn_app().await;
    check_seeded(
        &app,
        &[
            ("USt19", "19.00", Some("1776"), None),
            ("USt7", "7.00", Some("1771"), None),
            ("USt0", "0.00", None, None),
            ("VSt19", "19.00", Some("1576"), None),
            ("VSt7", "7.00", Some("1571"), None),
            ("RC19", "19.00", Some("1577"), Some("1787")),
            ("RC19DE", "19.00", Some("1577"), Some("1787")),
            ("IGE19", "19.00", Some("1574"), Some("1774")),
            ("IGL", "0.00", None, None),
            ("EXP", "0.00", None, None),
        ],
    )
    .await;
    let res = app.get("/v1/tax-codes/RC19").await;
    assert_eq!(res.expect(200, None)["self_assess_account"], "1787");
    app.get("/v1/tax-codes/XX99")
        .await
        .expect(404, Some("not_found"));
    // Codes are case-sensitive.
    app.get("/v1/tax-codes/ust19")
        .await
        .expect(404, Some("not_found"));
}

#[tokio::test]
async fn seeded_codes_for_skr04() {
    let app = spawn_app_with(
        api::ApiConfig {
            workers: 1,
            ..Default::default()
        },
        "skr04",
    )
    .await;
    check_seeded(
        &app,
        &[
            ("USt19", "19.00", Some("3806"), None),
            ("USt7", "7.00", Some("3801"), None),
            ("VSt19", "19.00", Some("1406"), None),
            ("VSt7", "7.00", Some("1401"), None),
            ("RC19", "19.00", Some("1407"), Some("3837")),
            ("RC19DE", "19.00", Some("1407"), Some("3837")),
            ("IGE19", "19.00", Some("1404"), Some("3804")),
            ("IGL", "0.00", None, None),
        ],
    )
    .await;
}

#[tokio::test]
async fn create_a_tax_code_and_book_with_it() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/v1/tax-codes",
            json!({"code": "USt10.7", "label": "Land- und Forstwirtschaft", "rate": "10.7", "vat_account": "1770"}),
        )
        .await;
    let body = res.expect(201, None);
    assert_eq!(
        body,
        &json!({"code": "USt10.7", "label": "Land- und Forstwirtschaft", "description": "", "rate": "10.70",
                "vat_account": "1770", "self_assess_account": null, "is_system": false, "is_active": true,
                "vat_side": null, "base_kennzahl": null, "tax_kennzahl": null, "input_tax_kennzahl": null,
                "datev_bu_key": null})
    );
    let res = app.get("/v1/tax-codes/USt10.7").await;
    assert_eq!(res.expect(200, None)["rate"], "10.70");
    // 33.33 × 10.7 % = 3.56631 → 3.57
    let body = booking(
        "2026-03-14",
        json!([{"account": "1400", "debit": "36.90"}, {"account": "8200", "credit": "33.33", "tax_code": "USt10.7"}]),
    );
    app.book_ok(body).await;
    assert_eq!(app.balance("1770").await, "-3.57");
    // A rate as a JSON number and with four decimals.
    let res = app
        .post(
            "/v1/tax-codes",
            json!({"code": "X1", "label": "x", "rate": 5.5, "vat_account": "1770"}),
        )
        .await;
    assert_eq!(res.expect(201, None)["rate"], "5.50");
    let res = app
        .post(
            "/v1/tax-codes",
            json!({"code": "X2", "label": "x", "rate": "2.1234", "vat_account": "1770"}),
        )
        .await;
    assert_eq!(res.expect(201, None)["rate"], "2.1234");
    // A 0 % code needs no account.
    let res = app
        .post(
            "/v1/tax-codes",
            json!({"code": "FREI", "label": "steuerfrei", "rate": "0"}),
        )
        .await;
    assert_eq!(res.expect(201, None)["vat_account"], Value::Null);
}

#[tokio::test]
async fn create_errors() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/v1/tax-codes",
            json!({"code": "USt19", "label": "again", "rate": "19", "vat_account": "1776"}),
        )
        .await;
    res.expect(409, Some("tax_code_exists"));
    for rate in [json!("-1"), json!("100.01"), json!("19.12345"), json!(101)] {
        let res = app
            .post(
                "/v1/tax-codes",
                json!({"code": "BAD", "label": "x", "rate": rate, "vat_account": "1776"}),
            )
            .await;
        res.expect(400, Some("invalid_rate"));
        assert_eq!(field_errors(&res.body), ["rate"], "{rate}");
    }
    let res = app
        .post(
            "/v1/tax-codes",
            json!({"code": "BAD", "label": "x", "rate": "abc", "vat_account": "1776"}),
        )
        .await;
    res.expect(400, Some("invalid_field"));
    assert_eq!(field_errors(&res.body), ["rate"]);
    let res = app
        .post(
            "/v1/tax-codes",
            json!({"code": "BAD", "label": "x", "rate": "19"}),
        )
        .await;
    res.expect(400, Some("vat_account_required"));
    assert_eq!(field_errors(&res.body), ["vat_account"]);
    let res = app
        .post(
            "/v1/tax-codes",
            json!({"code": "BAD", "label": "x", "rate": "19", "vat_account": "8888"}),
        )
        .await;
    res.expect(400, Some("unknown_account"));
    assert_eq!(field_errors(&res.body), ["vat_account"]);
    let res = app
        .post(
            "/v1/tax-codes",
            json!({"code": "BAD", "label": "x", "rate": "19", "vat_account": "1776", "self_assess_account": "8888"}),
        )
        .await;
    res.expect(400, Some("unknown_account"));
    assert_eq!(field_errors(&res.body), ["self_assess_account"]);
    for code in ["", "with space", "ä19", "x".repeat(21).as_str()] {
        let res = app
            .post(
                "/v1/tax-codes",
                json!({"code": code, "label": "x", "rate": "0"}),
            )
            .await;
        res.expect(400, Some("invalid_tax_code"));
    }
    app.post(
        "/v1/tax-codes",
        json!({"code": "OK", "label": " ", "rate": "0"}),
    )
    .await
    .expect(400, Some("invalid_label"));
    app.post("/v1/tax-codes", json!({"code": "OK", "label": "x"}))
        .await
        .expect(400, Some("invalid_field"));
    let res = app.get("/v1/tax-codes").await;
    assert_eq!(by_code(res.expect(200, None)).len(), SEEDED.len());
}

#[tokio::test]
async fn patch_label_rate_active_and_clear_an_account() {
    let app = spawn_app().await;
    let res = app
        .patch(
            "/v1/tax-codes/USt7",
            json!({"label": "Ermäßigt", "description": "halber Satz"}),
        )
        .await;
    let body = res.expect(200, None);
    assert_eq!(
        (body["label"].as_str(), body["rate"].as_str()),
        (Some("Ermäßigt"), Some("7.00"))
    );
    assert_eq!(body["description"], "halber Satz");
    assert_eq!(body["vat_account"], "1771");

    let res = app.patch("/v1/tax-codes/USt7", json!({"rate": "5"})).await;
    assert_eq!(res.expect(200, None)["rate"], "5.00");
    assert_eq!(res.body["label"], "Ermäßigt");

    let res = app
        .patch("/v1/tax-codes/USt7", json!({"is_active": false}))
        .await;
    assert_eq!(res.expect(200, None)["is_active"], false);
    let res = app
        .patch("/v1/tax-codes/USt7", json!({"is_active": true}))
        .await;
    assert_eq!(res.expect(200, None)["is_active"], true);

    // Explicit null clears an account; absent leaves it.
    let res = app
        .patch("/v1/tax-codes/RC19", json!({"label": "RC"}))
        .await;
    assert_eq!(res.expect(200, None)["self_assess_account"], "1787");
    let res = app
        .patch("/v1/tax-codes/RC19", json!({"self_assess_account": null}))
        .await;
    let body = res.expect(200, None);
    assert_eq!(
        (
            body["vat_account"].as_str(),
            body["self_assess_account"].clone()
        ),
        (Some("1577"), Value::Null)
    );
    let rc = booking(
        "2026-03-14",
        json!([{"account": "3125", "debit": "100.00", "tax_code": "RC19"}, {"account": "1600", "credit": "119.00"}]),
    );
    assert_eq!(
        app.post("/v1/bookings", rc).await.expect(201, None)["event_count"],
        3
    );
    let res = app
        .patch("/v1/tax-codes/IGL", json!({"vat_account": "1770"}))
        .await;
    assert_eq!(res.expect(200, None)["vat_account"], "1770");
    let res = app
        .patch("/v1/tax-codes/IGL", json!({"vat_account": null}))
        .await;
    assert_eq!(res.expect(200, None)["vat_account"], Value::Null);

    // A rate above 0 keeps needing its account.
    app.patch("/v1/tax-codes/USt19", json!({"vat_account": null}))
        .await
        .expect(400, Some("vat_account_required"));
    app.patch("/v1/tax-codes/USt19", json!({"vat_account": "8888"}))
        .await
        .expect(400, Some("unknown_account"));
    app.patch("/v1/tax-codes/USt19", json!({"rate": "120"}))
        .await
        .expect(400, Some("invalid_rate"));
    app.patch("/v1/tax-codes/USt19", json!({"code": "X"}))
        .await
        .expect(400, Some("unknown_field"));
    app.patch("/v1/tax-codes/NOPE", json!({"label": "x"}))
        .await
        .expect(404, Some("not_found"));
    let res = app.get("/v1/tax-codes/USt19").await;
    assert_eq!(res.expect(200, None)["vat_account"], "1776");
}

#[tokio::test]
async fn delete_deactivates_and_include_inactive_shows_it() {
    let app = spawn_app().await;
    app.book_ok(sale("2026-03-14", "100.00", "119.00")).await;
    let res = app.delete("/v1/tax-codes/USt19").await;
    assert_eq!(
        res.expect(200, None),
        &json!({"code": "USt19", "is_active": false})
    );
    let res = app.get("/v1/tax-codes").await;
    assert!(!by_code(res.expect(200, None)).contains_key("USt19"));
    for q in ["true", "1"] {
        let res = app
            .get(&format!("/v1/tax-codes?include_inactive={q}"))
            .await;
        let codes = by_code(res.expect(200, None));
        assert_eq!(codes["USt19"]["is_active"], false);
        assert_eq!(codes.len(), SEEDED.len());
    }
    let res = app.get("/v1/tax-codes/USt19").await;
    assert_eq!(res.expect(200, None)["is_active"], false);
    // The booking made with it stays.
    assert_eq!(app.balance("1776").await, "-19.00");
    app.post("/v1/bookings", sale("2026-03-15", "100.00", "119.00"))
        .await
        .expect(400, Some("unknown_tax_code"));
    // Deleting twice is harmless; an unknown code is 404.
    app.delete("/v1/tax-codes/USt19").await.expect(200, None);
    app.delete("/v1/tax-codes/NOPE")
        .await
        .expect(404, Some("not_found"));
}

#[tokio::test]
async fn a_tax_code_can_be_deactivated_after_its_account() {
    let app = spawn_app().await;
    app.patch("/v1/accounts/1771", json!({"is_active": false}))
        .await
        .expect(200, None);
    let res = app.delete("/v1/tax-codes/USt7").await;
    assert_eq!(res.expect(200, None)["is_active"], false);
    // Changing only the label does not re-check an account the code already had.
    app.patch("/v1/tax-codes/USt7", json!({"label": "alt"}))
        .await
        .expect(200, None);
    // Setting it explicitly is checked.
    app.patch("/v1/tax-codes/USt7", json!({"vat_account": "1771"}))
        .await
        .expect(400, Some("unknown_account"));
    app.patch("/v1/tax-codes/USt7", json!({"is_active": true}))
        .await
        .expect(200, None);
    let body = booking(
        "2026-03-14",
        json!([{"account": "1400", "debit": "107.00"}, {"account": "8300", "credit": "100.00", "tax_code": "USt7"}]),
    );
    app.post("/v1/bookings", body)
        .await
        .expect(400, Some("tax_code_misconfigured"));
}

#[tokio::test]
async fn a_changed_rate_applies_to_new_bookings_only() {
    let app = spawn_app().await;
    let old = app.book_ok(sale("2026-03-14", "100.00", "119.00")).await;
    app.patch("/v1/tax-codes/USt19", json!({"rate": "16"}))
        .await
        .expect(200, None);
    let new = app.book_ok(sale("2026-07-01", "100.00", "116.00")).await;
    app.post("/v1/bookings", sale("2026-07-02", "100.00", "119.00"))
        .await
        .expect(400, Some("unbalanced"));
    let old = app.get(&format!("/v1/journal/{old}")).await;
    assert_eq!(old.expect(200, None)["entries"][2]["credit"], "19.00");
    assert_eq!(old.body["summary"]["total_debit"], "119.00");
    let new = app.get(&format!("/v1/journal/{new}")).await;
    assert_eq!(new.expect(200, None)["entries"][2]["credit"], "16.00");
    assert_eq!(app.balance("1776").await, "-35.00");
    // The rate each line was booked with is in its event.
    let rates: Vec<String> = sql()
        .await
        .query(
            "SELECT payload->>'tax_rate' FROM journal_events WHERE tenant_id = $1 AND payload->>'generated' = 'tax' ORDER BY seq",
            &[&app.tenant.id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(rates, ["19", "16"]);
}
