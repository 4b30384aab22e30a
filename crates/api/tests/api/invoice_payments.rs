//! Payments and write-offs of open items through the API, cash-discount (Skonto) terms on
//! invoices and payments that take a discount (issue 10): booking and applying in one
//! transaction, the invoice's status and open items at once, the VAT correction per rate,
//! and the refusals.

use crate::common::*;
use crate::helpers::*;
use crate::invoices::{create_outgoing, days_ago, invoice, today};
use crate::partners::{customer, vendor};
use reqwest::Method;
use serde_json::{json, Value};

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// 100 net at 19 % and 100 net at 7 %: 226.00 gross, 2 % Skonto within 10 days.
fn two_rate_invoice(customer_id: &str, number: &str, date: &str) -> Value {
    json!({
        "customer_id": customer_id,
        "invoice_number": number,
        "invoice_date": date,
        "cash_discount_percent": "2",
        "cash_discount_days": 10,
        "lines": [
            {"description": "Service", "unit_price": "100.00", "tax_code": "USt19", "account": "8400"},
            {"description": "Books", "unit_price": "100.00", "tax_code": "USt7", "account": "8300"}
        ]
    })
}

#[tokio::test]
async fn invoices_carry_cash_discount_terms_shown_with_amount_and_deadline() {
    let app = spawn_app().await;
    let (cid, _) = customer(&app, "Skonto GmbH").await;
    let date = days_ago(2);
    let inv = create_outgoing(&app, two_rate_invoice(&cid, "SK-1", &date)).await;
    assert_eq!(inv["cash_discount_percent"], "2");
    assert_eq!(inv["cash_discount_days"], 10);
    assert_eq!(inv["cash_discount_amount"], "4.52");
    let deadline = (chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").unwrap()
        + chrono::Duration::days(10))
    .to_string();
    assert_eq!(inv["cash_discount_deadline"], deadline.as_str());
    let items = app.get("/v1/outgoing-invoices/open-items").await;
    let item = items
        .expect(200, None)
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["invoice_number"] == "SK-1")
        .unwrap()
        .clone();
    assert_eq!(item["cash_discount_amount"], "4.52");
    assert_eq!(item["cash_discount_deadline"], deadline.as_str());

    // Without terms: nulls.
    let plain = create_outgoing(&app, invoice(&cid, "SK-2", &date, "10.00")).await;
    assert!(plain["cash_discount_percent"].is_null());
    assert!(plain["cash_discount_amount"].is_null());

    // Refused terms.
    for (body, field) in [
        (
            json!({"cash_discount_percent": "2"}),
            "cash_discount_percent",
        ),
        (json!({"cash_discount_days": 10}), "cash_discount_percent"),
        (
            json!({"cash_discount_percent": "0", "cash_discount_days": 10}),
            "cash_discount_percent",
        ),
        (
            json!({"cash_discount_percent": "100", "cash_discount_days": 10}),
            "cash_discount_percent",
        ),
        (
            json!({"cash_discount_percent": "2", "cash_discount_days": 0}),
            "cash_discount_days",
        ),
        (
            json!({"cash_discount_percent": "2", "cash_discount_days": 400}),
            "cash_discount_days",
        ),
        (
            json!({"cash_discount_percent": "2", "cash_discount_days": 10, "type": "credit_note"}),
            "cash_discount_percent",
        ),
    ] {
        let mut b = invoice(&cid, "SK-X", &date, "10.00");
        for (k, v) in body.as_object().unwrap() {
            b[k] = v.clone();
        }
        let res = app.post("/v1/outgoing-invoices", b).await;
        res.expect(400, Some("invalid_cash_discount"));
        assert_eq!(field_errors(&res.body), vec![field.to_string()], "{body}");
    }
    let res = app
        .post(
            "/v1/outgoing-invoices",
            with(
                invoice(&cid, "SK-X", &date, "10.00"),
                "cash_discount_days",
                json!("ten"),
            ),
        )
        .await;
    assert_eq!(res.status.as_u16(), 400);
}

#[tokio::test]
async fn a_payment_books_applies_and_pays_the_invoice_at_once() {
    let app = spawn_app().await;
    let (cid, debtor) = customer(&app, "Pay GmbH").await;
    let inv = create_outgoing(&app, invoice(&cid, "P-1", &days_ago(3), "100.00")).await;
    let id = id_of(&inv);

    let res = app
        .post(
            &format!("/v1/outgoing-invoices/{id}/payments"),
            json!({"date": days_ago(1), "amount": "19.00", "account": "1000"}),
        )
        .await;
    let body = res.expect(201, None);
    assert_eq!(body["applications"][0]["kind"], "payment");
    assert_eq!(body["applications"][0]["counter_account"], "1000");
    assert_eq!(body["invoice"]["status"], "partially_paid");
    assert_eq!(body["invoice"]["remaining_amount"], "100.00");
    assert_eq!(app.balance("1000").await, "19.00");
    assert_eq!(app.balance(&debtor).await, "100.00");

    let res = app
        .post(
            &format!("/v1/outgoing-invoices/{id}/payments"),
            json!({"date": days_ago(0), "amount": "100.00", "account": "1000"}),
        )
        .await;
    assert_eq!(res.expect(201, None)["invoice"]["status"], "paid");
    let got = app.get(&format!("/v1/outgoing-invoices/{id}")).await;
    let got = got.expect(200, None);
    assert_eq!(got["status"], "paid");
    assert_eq!(got["payments"].as_array().unwrap().len(), 2);
    let items = app.get("/v1/outgoing-invoices/open-items").await;
    assert!(items
        .expect(200, None)
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["invoice_id"] != id.as_str()));

    // Nothing more is open.
    let res = app
        .post(
            &format!("/v1/outgoing-invoices/{id}/payments"),
            json!({"date": days_ago(0), "amount": "0.01", "account": "1000"}),
        )
        .await;
    res.expect(409, Some("overpayment"));
}

#[tokio::test]
async fn a_discount_is_split_over_the_vat_rates_with_its_tax_correction() {
    let app = spawn_app().await;
    let (cid, debtor) = customer(&app, "Skonto AG").await;
    let inv = create_outgoing(&app, two_rate_invoice(&cid, "SK-10", &days_ago(2))).await;
    let id = id_of(&inv);
    // 226.00 − 4.52 = 221.48 paid.
    let res = app
        .post(
            &format!("/v1/outgoing-invoices/{id}/payments"),
            json!({"date": days_ago(0), "amount": "221.48", "account": "1200", "discount": "4.52"}),
        )
        .await;
    let body = res.expect(201, None);
    let kinds: Vec<&str> = body["applications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["payment", "discount"]);
    assert_eq!(
        body["applications"][0]["intent_id"],
        body["applications"][1]["intent_id"]
    );
    assert_eq!(body["invoice"]["status"], "paid");
    assert_eq!(body["invoice"]["remaining_amount"], "0.00");
    assert_eq!(app.balance(&debtor).await, "0.00");
    assert_eq!(app.balance("1200").await, "221.48");
    // 2.38 on 19 %: 2.00 net on 8736 + 0.38 back from 1776; 2.14 on 7 %: 2.00 on 8731 + 0.14 from 1771.
    assert_eq!(app.balance("8736").await, "2.00");
    assert_eq!(app.balance("8731").await, "2.00");
    // Output VAT: 19.00 − 0.38 and 7.00 − 0.14 (credit balances, debit-positive).
    assert_eq!(app.balance("1776").await, "-18.62");
    assert_eq!(app.balance("1771").await, "-6.86");
}

#[tokio::test]
async fn a_discount_received_on_a_vendor_invoice_corrects_the_input_vat() {
    let app = spawn_app().await;
    let (vid, creditor) = vendor(&app, "Lieferant KG").await;
    let body = json!({
        "vendor_id": vid,
        "invoice_number": "L-77",
        "invoice_date": days_ago(1),
        "cash_discount_percent": "3",
        "cash_discount_days": 14,
        "lines": [{"description": "Material", "unit_price": "1000.00", "tax_code": "VSt19", "account": "3400"}]
    });
    let inv = app.post("/v1/invoices", body).await;
    let inv = inv.expect(201, None).clone();
    assert_eq!(inv["cash_discount_amount"], "35.70");
    let id = id_of(&inv);
    let res = app
        .post(
            &format!("/v1/invoices/{id}/payments"),
            json!({"date": days_ago(0), "amount": "1154.30", "account": "1200", "discount": "35.70"}),
        )
        .await;
    assert_eq!(res.expect(201, None)["invoice"]["status"], "paid");
    assert_eq!(app.balance(&creditor).await, "0.00");
    assert_eq!(app.balance("1200").await, "-1154.30");
    // 30.00 net on 3736 (credit), 5.70 off the input VAT.
    assert_eq!(app.balance("3736").await, "-30.00");
    assert_eq!(app.balance("1576").await, "184.30");
}

#[tokio::test]
async fn write_offs_default_to_everything_open_and_need_a_reason() {
    let app = spawn_app().await;
    let (cid, debtor) = customer(&app, "Insolvent GmbH").await;
    let inv = create_outgoing(&app, invoice(&cid, "W-1", &days_ago(40), "100.00")).await;
    let id = id_of(&inv);
    let path = format!("/v1/outgoing-invoices/{id}/write-off");

    let res = app
        .post(&path, json!({"date": days_ago(0), "reason": "  "}))
        .await;
    res.expect(400, Some("invalid_reason"));
    let res = app.post(&path, json!({"date": days_ago(0)})).await;
    assert_eq!(res.status.as_u16(), 400);

    let res = app
        .post(
            &path,
            json!({"date": days_ago(0), "reason": "Customer insolvent", "tax_code": "USt19"}),
        )
        .await;
    let body = res.expect(201, None);
    assert_eq!(body["applications"][0]["kind"], "write_off");
    assert_eq!(body["applications"][0]["amount"], "119.00");
    assert_eq!(body["applications"][0]["counter_account"], "2400");
    assert_eq!(body["invoice"]["status"], "paid");
    assert_eq!(app.balance(&debtor).await, "0.00");
    assert_eq!(app.balance("2400").await, "100.00");
    // The reason is in the booking's description.
    let intent = body["applications"][0]["intent_id"].as_str().unwrap();
    let journal = app.get(&format!("/v1/journal/{intent}")).await;
    let text = journal.expect(200, None).to_string();
    assert!(text.contains("Customer insolvent"), "{text}");

    // Nothing left to write off.
    let res = app
        .post(&path, json!({"date": days_ago(0), "reason": "again"}))
        .await;
    res.expect(409, Some("nothing_open"));
}

#[tokio::test]
async fn payment_refusals() {
    let app = spawn_app().await;
    let (cid, _) = customer(&app, "Refuse GmbH").await;
    let (vid, _) = vendor(&app, "Refuse KG").await;
    let inv = create_outgoing(&app, invoice(&cid, "R-1", &days_ago(3), "100.00")).await;
    let id = id_of(&inv);
    let pay = format!("/v1/outgoing-invoices/{id}/payments");
    let ok = json!({"date": days_ago(0), "amount": "10.00", "account": "1000"});

    // Auth and scope.
    let res = app.send(Method::POST, &pay, None, Some(&ok)).await;
    res.expect(401, None);
    let read_only = app.key_with_scopes(&["invoices:read"]).await;
    let res = app
        .send(Method::POST, &pay, Some(&read_only), Some(&ok))
        .await;
    res.expect(403, None);

    // Another tenant's invoice, the other side's route, an unknown id, a malformed id.
    let other = as_tenant(&app, app.other_tenant().await);
    other.post(&pay, ok.clone()).await.expect(404, None);
    app.post(&format!("/v1/invoices/{id}/payments"), ok.clone())
        .await
        .expect(404, None);
    app.post(
        &format!("/v1/outgoing-invoices/{}/payments", uuid::Uuid::now_v7()),
        ok.clone(),
    )
    .await
    .expect(404, None);
    app.post("/v1/outgoing-invoices/nope/payments", ok.clone())
        .await
        .expect(404, None);

    // Malformed bodies.
    for (body, code) in [
        (json!([days_ago(0), "10.00", "1000"]), None),
        (json!({"date": days_ago(0), "amount": "10.00"}), None),
        (
            json!({"date": days_ago(0), "amount": "10.00", "account": "1000", "extra": 1}),
            Some("unknown_field"),
        ),
        (
            json!({"date": "-0001-01-01", "amount": "10.00", "account": "1000"}),
            None,
        ),
        (
            json!({"date": days_ago(0), "amount": "1e30", "account": "1000"}),
            None,
        ),
        (
            json!({"date": days_ago(0), "amount": "99999999999999999999999999999", "account": "1000"}),
            None,
        ),
        (
            json!({"date": days_ago(0), "amount": "0", "account": "1000"}),
            Some("non_positive_amount"),
        ),
        (
            json!({"date": days_ago(0), "amount": "-5", "account": "1000"}),
            Some("non_positive_amount"),
        ),
        (
            json!({"date": days_ago(0), "amount": "1.001", "account": "1000"}),
            Some("amount_precision"),
        ),
        (
            json!({"date": days_ago(0), "amount": "1.00", "account": "10\u{0}00"}),
            None,
        ),
        (
            json!({"date": days_ago(0), "amount": "1.00", "account": "9999"}),
            Some("unknown_account"),
        ),
        (
            json!({"date": days_ago(0), "amount": "1.00", "account": "1000", "discount": "0"}),
            Some("invalid_discount"),
        ),
        (
            json!({"date": days_ago(0), "amount": "1.00", "account": "1000", "discount": "-1"}),
            Some("invalid_discount"),
        ),
    ] {
        let res = app.post(&pay, body.clone()).await;
        assert_eq!(res.status.as_u16(), 400, "{body}: {}", res.body);
        if let Some(code) = code {
            assert_eq!(res.body["code"], code, "{body}: {}", res.body);
        }
    }
    let res = app
        .raw(
            Method::POST,
            &pay,
            Some(&app.tenant.key),
            "text/plain",
            b"{}".to_vec(),
        )
        .await;
    res.expect(415, None);

    // More than is open, with or without discount.
    app.post(
        &pay,
        json!({"date": days_ago(0), "amount": "119.01", "account": "1000"}),
    )
    .await
    .expect(409, Some("overpayment"));
    app.post(
        &pay,
        json!({"date": days_ago(0), "amount": "118.00", "account": "1000", "discount": "1.01"}),
    )
    .await
    .expect(409, Some("overpayment"));

    // A discount at a rate without a chart role needs discount_account.
    let zero = create_outgoing(
        &app,
        json!({"customer_id": cid, "invoice_number": "R-0", "invoice_date": days_ago(1),
               "lines": [{"unit_price": "100.00", "tax_code": "EXP"}]}),
    )
    .await;
    let zpay = format!("/v1/outgoing-invoices/{}/payments", id_of(&zero));
    let res = app
        .post(
            &zpay,
            json!({"date": days_ago(0), "amount": "98.00", "account": "1000", "discount": "2.00"}),
        )
        .await;
    res.expect(400, Some("unknown_account"));
    assert_eq!(
        field_errors(&res.body),
        vec!["discount_account".to_string()]
    );
    app.post(
        &zpay,
        json!({"date": days_ago(0), "amount": "98.00", "account": "1000", "discount": "2.00", "discount_account": "8730"}),
    )
    .await
    .expect(201, None);

    // A credit note takes no discount.
    let credit = app
        .post(
            "/v1/invoices",
            json!({"vendor_id": vid, "invoice_number": "GS-1", "invoice_date": days_ago(1), "type": "credit_note",
                   "lines": [{"unit_price": "10.00", "tax_code": "VSt19", "account": "3400"}]}),
        )
        .await;
    let credit = credit.expect(201, None).clone();
    app.post(
        &format!("/v1/invoices/{}/payments", id_of(&credit)),
        json!({"date": days_ago(0), "amount": "5.00", "account": "1200", "discount": "1.00"}),
    )
    .await
    .expect(400, Some("discount_on_credit_note"));

    // A cancelled invoice takes nothing.
    let gone = create_outgoing(&app, invoice(&cid, "R-2", &days_ago(1), "10.00")).await;
    let gid = id_of(&gone);
    app.post(&format!("/v1/outgoing-invoices/{gid}/cancel"), json!({}))
        .await
        .expect(200, None);
    app.post(
        &format!("/v1/outgoing-invoices/{gid}/payments"),
        json!({"date": days_ago(0), "amount": "1.00", "account": "1000"}),
    )
    .await
    .expect(409, Some("invoice_cancelled"));
    app.post(
        &format!("/v1/outgoing-invoices/{gid}/write-off"),
        json!({"date": days_ago(0), "reason": "gone"}),
    )
    .await
    .expect(409, Some("invoice_cancelled"));

    // Nothing of the refused requests was booked.
    assert_eq!(app.balance("1000").await, "98.00");
    let _ = today();
}

#[tokio::test]
async fn a_payment_is_idempotent_and_concurrent_payments_never_overpay() {
    let app = spawn_app().await;
    let (cid, debtor) = customer(&app, "Race GmbH").await;
    let inv = create_outgoing(&app, invoice(&cid, "C-1", &days_ago(1), "100.00")).await;
    let pay = format!("/v1/outgoing-invoices/{}/payments", id_of(&inv));
    let body = json!({"date": days_ago(0), "amount": "100.00", "account": "1000"});

    let send = |key: &'static str| {
        let req = app
            .client
            .post(format!("{}{}", app.address, pay))
            .bearer_auth(&app.tenant.key)
            .header("Idempotency-Key", key)
            .json(&body);
        async move { req.send().await.unwrap() }
    };
    let first = send("pay-once").await;
    assert_eq!(first.status().as_u16(), 201);
    let first: Value = first.json().await.unwrap();
    let again = send("pay-once").await;
    assert_eq!(again.status().as_u16(), 201);
    let again: Value = again.json().await.unwrap();
    assert_eq!(first["applications"], again["applications"]);
    assert_eq!(app.balance("1000").await, "100.00");

    // Two payments of everything that is open at once: one wins.
    let inv = create_outgoing(&app, invoice(&cid, "C-2", &days_ago(1), "100.00")).await;
    let pay = format!("/v1/outgoing-invoices/{}/payments", id_of(&inv));
    let body = json!({"date": days_ago(0), "amount": "119.00", "account": "1000"});
    let (a, b) = tokio::join!(app.post(&pay, body.clone()), app.post(&pay, body.clone()));
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, [201, 409]);
    // 19.00 of C-1 is still open; C-2 is paid once.
    assert_eq!(app.balance(&debtor).await, "19.00");
}
