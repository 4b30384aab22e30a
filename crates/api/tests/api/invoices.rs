//! Outgoing and incoming invoices (issue 5): booking on creation, totals and rounding, linked
//! bookings, statuses over time, payments and write-offs, cancellation, credit notes, open
//! items and aging, scopes and tenant isolation.

use crate::common::*;
use crate::helpers::*;
use crate::partners::{customer, vendor};
use chrono::{Duration, NaiveDate, Utc};
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use store::StoreError;
use uuid::Uuid;

pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

pub fn days_ago(n: i64) -> String {
    (today() - Duration::days(n)).to_string()
}

pub fn actor() -> journal::Actor {
    journal::Actor::system("test-bank")
}

/// A one-line outgoing invoice body: `net` at USt19.
pub fn invoice(customer_id: &str, number: &str, date: &str, net: &str) -> Value {
    json!({
        "customer_id": customer_id,
        "invoice_number": number,
        "invoice_date": date,
        "lines": [{"description": "Consulting", "quantity": "1", "unit_price": net, "tax_code": "USt19"}]
    })
}

/// Posts an outgoing invoice and asserts 201; returns the body.
pub async fn create_outgoing(app: &TestApp, body: Value) -> Value {
    let res = app.post("/v1/outgoing-invoices", body).await;
    res.expect(201, None).clone()
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

fn uuid(v: &Value) -> Uuid {
    v["id"].as_str().unwrap().parse().unwrap()
}

async fn journal_line_count(app: &TestApp) -> usize {
    app.store
        .events(app.tenant.id, 1, 100_000)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn an_outgoing_invoice_is_booked_with_its_lines() {
    let app = spawn_app().await;
    let (cid, debtor) = customer(&app, "Acme GmbH").await;
    let body = json!({
        "customer_id": cid,
        "invoice_number": "2026-0042",
        "invoice_date": "2026-03-14",
        "due_date": "2026-03-28",
        "currency": "EUR",
        "type": "invoice",
        "notes": "Thank you",
        "total_net": "110.00", "total_tax": "19.70", "total_gross": 129.70,
        "lines": [
            {"description": "Consulting", "quantity": 2, "unit_price": "50", "tax_code": "USt19", "account": "8400"},
            {"description": "Book", "quantity": "1", "unit_price": "10.00", "tax_code": "USt7", "account": "8300",
             "net": "10.00", "tax": "0.70", "gross": "10.70"}
        ]
    });
    let inv = create_outgoing(&app, body).await;
    assert_eq!(inv["customer_id"], cid.as_str());
    assert_eq!(inv["customer_name"], "Acme GmbH");
    assert_eq!(inv["account_number"], debtor.as_str());
    assert_eq!(inv["type"], "invoice");
    assert_eq!(
        inv["status"],
        if today() > "2026-03-28".parse().unwrap() {
            "overdue"
        } else {
            "open"
        }
    );
    assert_eq!(inv["total_net"], "110.00");
    assert_eq!(inv["total_tax"], "19.70");
    assert_eq!(inv["total_gross"], "129.70");
    assert_eq!(inv["paid_amount"], "0.00");
    assert_eq!(inv["remaining_amount"], "129.70");
    assert_eq!(inv["notes"], "Thank you");
    let lines = inv["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["quantity"], "2");
    assert_eq!(lines[0]["unit_price"], "50.00");
    assert_eq!(lines[0]["tax_rate"], "19.00");
    assert_eq!(
        (
            lines[0]["net"].as_str(),
            lines[0]["tax"].as_str(),
            lines[0]["gross"].as_str()
        ),
        (Some("100.00"), Some("19.00"), Some("119.00"))
    );
    assert_eq!(lines[1]["gross"], "10.70");
    assert_eq!(lines[1]["account"], "8300");
    assert_eq!(inv["payments"], json!([]));

    // The booking: debtor debit gross / revenue credit net per line + output VAT.
    let intent = inv["intent_id"].as_str().unwrap();
    let j = app.get(&format!("/v1/journal/{intent}")).await;
    let j = j.expect(200, None);
    let mut lines: Vec<(String, String, String)> = j["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let side = if e["debit"].is_null() {
                "credit"
            } else {
                "debit"
            };
            (
                e["account"].as_str().unwrap().to_string(),
                side.to_string(),
                e[side].as_str().unwrap().to_string(),
            )
        })
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        vec![
            (debtor.clone(), "debit".into(), "129.70".into()),
            ("1771".into(), "credit".into(), "0.70".into()),
            ("1776".into(), "credit".into(), "19.00".into()),
            ("8300".into(), "credit".into(), "10.00".into()),
            ("8400".into(), "credit".into(), "100.00".into()),
        ]
    );
    assert_eq!(j["summary"]["external_reference"], "2026-0042");
    assert_eq!(j["metadata"]["custom_metadata"]["invoice_id"], inv["id"]);
    assert_eq!(app.balance("1400").await, "129.70");
    let c = app.get(&format!("/v1/customers/{cid}")).await;
    assert_eq!(c.expect(200, None)["open_amount"], "129.70");

    // GET one is the same document.
    let id = id_of(&inv);
    let res = app.get(&format!("/v1/outgoing-invoices/{id}")).await;
    let got = res.expect(200, None);
    assert_eq!(got["lines"], inv["lines"]);
    assert_eq!(got["remaining_amount"], "129.70");
    // It is not an incoming invoice.
    app.get(&format!("/v1/invoices/{id}"))
        .await
        .expect(404, Some("not_found"));
}

#[tokio::test]
async fn line_and_total_rounding_is_per_line() {
    let app = spawn_app().await;
    let (cid, _) = customer(&app, "Acme GmbH").await;
    // 3 × 0.125 = 0.375 → 0.38 net; 0.0722 → 0.07 tax; three lines of 1.04 at 19 %: 0.20 tax
    // each = 0.60 (19 % of the sum 3.12 would be 0.59).
    let body = json!({
        "customer_id": cid, "invoice_number": "R-1", "invoice_date": "2026-03-14",
        "total_net": "3.50", "total_tax": "0.67", "total_gross": "4.17",
        "lines": [
            {"quantity": "3", "unit_price": "0.125", "tax_code": "USt19"},
            {"unit_price": "1.04", "tax_code": "USt19"},
            {"unit_price": "1.04", "tax_code": "USt19"},
            {"unit_price": "1.04", "tax_code": "USt19"}
        ]
    });
    let inv = create_outgoing(&app, body.clone()).await;
    assert_eq!(inv["lines"][0]["net"], "0.38");
    assert_eq!(inv["lines"][0]["tax"], "0.07");
    assert_eq!(inv["lines"][0]["unit_price"], "0.125");
    assert_eq!(inv["total_gross"], "4.17");
    // The journal agrees to the cent.
    assert_eq!(app.balance("1776").await, "-0.67");
    // Totals computed from the sum would be refused.
    let res = app
        .post(
            "/v1/outgoing-invoices",
            with(
                with(body, "invoice_number", json!("R-2")),
                "total_tax",
                json!("0.66"),
            ),
        )
        .await;
    let b = res.expect(400, Some("totals_mismatch"));
    assert_eq!(field_errors(b), vec!["total_tax"]);
    assert!(b["error"].as_str().unwrap().contains("0.67"));
}

#[tokio::test]
async fn mismatching_totals_and_bad_lines_are_refused_without_a_trace() {
    let app = spawn_app().await;
    let (cid, _) = customer(&app, "Acme GmbH").await;
    let before = journal_line_count(&app).await;
    let base = invoice(&cid, "R-1", "2026-03-14", "100.00");
    let cases: Vec<(Value, u16, &str, Option<&str>)> = vec![
        (
            with(base.clone(), "total_gross", json!("119.01")),
            400,
            "totals_mismatch",
            Some("total_gross"),
        ),
        (
            with(base.clone(), "total_net", json!("99.99")),
            400,
            "totals_mismatch",
            Some("total_net"),
        ),
        (
            with(
                base.clone(),
                "lines",
                json!([{"unit_price": "100", "tax_code": "USt19", "gross": "119.10"}]),
            ),
            400,
            "totals_mismatch",
            Some("lines[0].gross"),
        ),
        (
            with(base.clone(), "lines", json!([])),
            400,
            "no_lines",
            Some("lines"),
        ),
        (
            with(
                base.clone(),
                "lines",
                json!([{"quantity": "0", "unit_price": "1"}]),
            ),
            400,
            "invalid_quantity",
            Some("lines[0].quantity"),
        ),
        (
            with(base.clone(), "lines", json!([{"unit_price": "1.0000001"}])),
            400,
            "amount_precision",
            Some("lines[0].unit_price"),
        ),
        (
            with(base.clone(), "lines", json!([{"unit_price": "-5"}])),
            400,
            "non_positive_total",
            Some("total_gross"),
        ),
        (
            with(
                base.clone(),
                "lines",
                json!([{"unit_price": "5", "tax_code": "XX99"}]),
            ),
            400,
            "unknown_tax_code",
            Some("lines[0].tax_code"),
        ),
        (
            with(
                base.clone(),
                "lines",
                json!([{"unit_price": "5"}, {"unit_price": "5", "account": "4711"}]),
            ),
            400,
            "unknown_account",
            Some("lines[1].account"),
        ),
        (
            with(base.clone(), "due_date", json!("2026-03-01")),
            400,
            "invalid_due_date",
            Some("due_date"),
        ),
        (
            with(base.clone(), "currency", json!("USD")),
            400,
            "unsupported_currency",
            Some("currency"),
        ),
        (
            with(base.clone(), "invoice_number", json!(" ")),
            400,
            "invalid_invoice_number",
            Some("invoice_number"),
        ),
        (
            with(base.clone(), "document_id", json!(Uuid::now_v7())),
            400,
            "unknown_document",
            Some("document_id"),
        ),
        (
            with(base.clone(), "intent_id", json!(Uuid::now_v7())),
            400,
            "unknown_intent",
            Some("intent_id"),
        ),
        (
            with(base.clone(), "customer_id", json!(Uuid::now_v7())),
            400,
            "unknown_customer",
            Some("customer_id"),
        ),
        (
            with(base.clone(), "type", json!("proforma")),
            400,
            "invalid_field",
            Some("type"),
        ),
        (
            with(base.clone(), "status", json!("paid")),
            400,
            "unknown_field",
            None,
        ),
        (
            with(
                base.clone(),
                "lines",
                json!([{"unit_price": "5", "tax_rate": 19}]),
            ),
            400,
            "unknown_field",
            None,
        ),
        (
            with(base.clone(), "invoice_date", json!("14.03.2026")),
            400,
            "invalid_date",
            Some("invoice_date"),
        ),
    ];
    for (body, status, code, field) in cases {
        let res = app.post("/v1/outgoing-invoices", body.clone()).await;
        let b = res.expect(status, Some(code));
        if let Some(f) = field {
            assert_eq!(field_errors(b), vec![f.to_string()], "{body}");
        }
    }
    let key = app.tenant.key.clone();
    json_text(
        &app,
        Method::POST,
        "/v1/outgoing-invoices",
        Some(&key),
        "{\"customer_id\":",
    )
    .await
    .expect(400, Some("malformed_json"));
    assert_eq!(
        journal_line_count(&app).await,
        before,
        "a refused invoice books nothing"
    );
    let res = app.get("/v1/outgoing-invoices").await;
    assert_eq!(res.expect(200, None).as_array().unwrap().len(), 0);
    // The same body is fine once corrected.
    create_outgoing(&app, base).await;
}

#[tokio::test]
async fn invoice_numbers_are_unique_per_side() {
    let app = spawn_app().await;
    let (c1, _) = customer(&app, "Acme GmbH").await;
    let (c2, _) = customer(&app, "Beta AG").await;
    create_outgoing(&app, invoice(&c1, "2026-0001", "2026-03-14", "10")).await;
    let before = journal_line_count(&app).await;
    let res = app
        .post(
            "/v1/outgoing-invoices",
            invoice(&c2, "2026-0001", "2026-03-15", "20"),
        )
        .await;
    res.expect(409, Some("duplicate_invoice_number"));
    assert_eq!(journal_line_count(&app).await, before);
    // Incoming invoices carry the vendor's numbers: unique per vendor, independent of ours.
    let (v1, _) = vendor(&app, "Lieferant KG").await;
    let (v2, _) = vendor(&app, "Zulieferer GmbH").await;
    let inc = |v: &str| {
        json!({"vendor_id": v, "invoice_number": "2026-0001", "invoice_date": "2026-03-14",
                                "lines": [{"unit_price": "10", "tax_code": "VSt19"}]})
    };
    app.post("/v1/invoices", inc(&v1)).await.expect(201, None);
    app.post("/v1/invoices", inc(&v2)).await.expect(201, None);
    app.post("/v1/invoices", inc(&v1))
        .await
        .expect(409, Some("duplicate_invoice_number"));
    // Another tenant has its own numbers.
    let other = as_tenant(&app, app.other_tenant().await);
    let (oc, _) = customer(&other, "Other").await;
    create_outgoing(&other, invoice(&oc, "2026-0001", "2026-03-14", "10")).await;
}

#[tokio::test]
async fn partners_must_exist_be_active_and_be_of_the_right_kind() {
    let app = spawn_app().await;
    let (cid, _) = customer(&app, "Acme GmbH").await;
    let (vid, _) = vendor(&app, "Lieferant KG").await;
    // A vendor is no customer and vice versa.
    let res = app
        .post(
            "/v1/outgoing-invoices",
            invoice(&vid, "R-1", "2026-03-14", "10"),
        )
        .await;
    assert_eq!(
        field_errors(res.expect(400, Some("unknown_customer"))),
        vec!["customer_id"]
    );
    let res = app
        .post("/v1/invoices", json!({"vendor_id": cid, "invoice_number": "1", "invoice_date": "2026-03-14", "lines": [{"unit_price": "1"}]}))
        .await;
    res.expect(400, Some("unknown_vendor"));
    // Another tenant's customer does not exist here.
    let other = as_tenant(&app, app.other_tenant().await);
    let (foreign, _) = customer(&other, "Foreign").await;
    app.post(
        "/v1/outgoing-invoices",
        invoice(&foreign, "R-1", "2026-03-14", "10"),
    )
    .await
    .expect(400, Some("unknown_customer"));
    // A deactivated customer takes no new invoices.
    app.delete(&format!("/v1/customers/{cid}"))
        .await
        .expect(200, None);
    app.post(
        "/v1/outgoing-invoices",
        invoice(&cid, "R-1", "2026-03-14", "10"),
    )
    .await
    .expect(409, Some("customer_inactive"));
}

#[tokio::test]
async fn line_accounts_default_to_the_partner_then_the_chart() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/v1/customers",
            json!({"name": "Buchhandel", "default_account": "8300"}),
        )
        .await;
    let with_default = id_of(res.expect(201, None));
    let (plain, _) = customer(&app, "Plain").await;
    let inv = create_outgoing(&app, invoice(&with_default, "R-1", "2026-03-14", "10")).await;
    assert_eq!(inv["lines"][0]["account"], "8300");
    let inv = create_outgoing(&app, invoice(&plain, "R-2", "2026-03-14", "10")).await;
    assert_eq!(inv["lines"][0]["account"], "8400");
    let (vid, _) = vendor(&app, "Lieferant KG").await;
    let res = app
        .post("/v1/invoices", json!({"vendor_id": vid, "invoice_number": "1", "invoice_date": "2026-03-14", "lines": [{"unit_price": "10", "tax_code": "VSt19"}]}))
        .await;
    assert_eq!(res.expect(201, None)["lines"][0]["account"], "4900");
    // An explicit account wins; an inactive one is refused.
    app.patch("/v1/accounts/8300", json!({"is_active": false}))
        .await
        .expect(200, None);
    let res = app
        .post(
            "/v1/outgoing-invoices",
            invoice(&with_default, "R-3", "2026-03-14", "10"),
        )
        .await;
    assert_eq!(
        field_errors(res.expect(400, Some("unknown_account"))),
        vec!["lines[0].account"]
    );
    let body = with(
        invoice(&with_default, "R-3", "2026-03-14", "10"),
        "lines",
        json!([{"unit_price": "10", "account": "8400"}]),
    );
    create_outgoing(&app, body).await;
}

#[tokio::test]
async fn skr04_books_on_its_accounts() {
    let app = spawn_app_with(
        api::ApiConfig {
            workers: 1,
            ..Default::default()
        },
        "skr04",
    )
    .await;
    let (cid, debtor) = customer(&app, "Acme GmbH").await;
    let inv = create_outgoing(&app, invoice(&cid, "R-1", "2026-03-14", "100")).await;
    assert_eq!(inv["lines"][0]["account"], "4400");
    assert_eq!(app.balance(&debtor).await, "119.00");
    assert_eq!(app.balance("1200").await, "119.00");
    assert_eq!(app.balance("3806").await, "-19.00");
    // Payments go to SKR04's bank account 1800 by default.
    app.store
        .apply_payment(
            app.tenant.id,
            uuid(&inv),
            dec("119.00"),
            "2026-03-20".parse().unwrap(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    assert_eq!(app.balance("1800").await, "119.00");
    assert_eq!(app.balance("1200").await, "0.00");
}

#[tokio::test]
async fn an_existing_booking_can_carry_the_invoice() {
    let app = spawn_app().await;
    let (cid, debtor) = customer(&app, "Acme GmbH").await;
    let intent = app
        .book_ok(booking("2026-03-14", json!([{"account": debtor, "debit": "119.00"}, {"account": "8400", "credit": "100.00", "tax_code": "USt19"}])))
        .await;
    let before = journal_line_count(&app).await;
    // A booking with other amounts does not match.
    let other = app
        .book_ok(booking("2026-03-14", json!([{"account": debtor, "debit": "100.00"}, {"account": "8400", "credit": "100.00"}])))
        .await;
    let res = app
        .post(
            "/v1/outgoing-invoices",
            with(
                invoice(&cid, "R-1", "2026-03-14", "100.00"),
                "intent_id",
                json!(other),
            ),
        )
        .await;
    let b = res.expect(400, Some("intent_mismatch"));
    assert_eq!(field_errors(b), vec!["intent_id"]);
    // Booked on the collective account instead of the debtor's: no match either.
    let on_1400 = app.book_ok(sale("2026-03-14", "100.00", "119.00")).await;
    let res = app
        .post(
            "/v1/outgoing-invoices",
            with(
                invoice(&cid, "R-1", "2026-03-14", "100.00"),
                "intent_id",
                json!(on_1400),
            ),
        )
        .await;
    res.expect(400, Some("intent_mismatch"));

    let body = with(
        invoice(&cid, "R-1", "2026-03-14", "100.00"),
        "intent_id",
        json!(intent),
    );
    let inv = create_outgoing(&app, body).await;
    assert_eq!(inv["intent_id"], intent.as_str());
    assert_eq!(inv["remaining_amount"], "119.00");
    // No new booking for the linked invoice (the two test bookings above only).
    assert_eq!(journal_line_count(&app).await, before + 2 + 3);
    // One booking, one invoice.
    let res = app
        .post(
            "/v1/outgoing-invoices",
            with(
                invoice(&cid, "R-2", "2026-03-14", "100.00"),
                "intent_id",
                json!(intent),
            ),
        )
        .await;
    res.expect(409, Some("intent_already_linked"));
    // A reversed booking cannot be linked.
    app.post(
        "/v1/journal/reverse",
        json!({"intent_id": other, "reason": "wrong"}),
    )
    .await
    .expect(201, None);
    let res = app
        .post(
            "/v1/outgoing-invoices",
            with(
                invoice(&cid, "R-3", "2026-03-14", "100.00"),
                "intent_id",
                json!(other),
            ),
        )
        .await;
    res.expect(409, Some("already_reversed"));
}

#[tokio::test]
async fn statuses_follow_payments_and_the_due_date() {
    let app = spawn_app().await;
    let (cid, debtor) = customer(&app, "Acme GmbH").await;
    let tenant = app.tenant.id;
    // Due in the future: open → partially_paid → paid.
    let due = (today() + Duration::days(14)).to_string();
    let inv = create_outgoing(
        &app,
        with(
            invoice(&cid, "R-1", &days_ago(1), "100.00"),
            "due_date",
            json!(due),
        ),
    )
    .await;
    assert_eq!(inv["status"], "open");
    let id = uuid(&inv);
    let path = format!("/v1/outgoing-invoices/{id}");
    let p = app
        .store
        .apply_payment(tenant, id, dec("50.00"), today(), None, &actor())
        .await
        .unwrap();
    assert_eq!(p.kind, "payment");
    assert_eq!(p.counter_account, "1200");
    let got = app.get(&path).await;
    let got = got.expect(200, None);
    assert_eq!(got["status"], "partially_paid");
    assert_eq!(got["paid_amount"], "50.00");
    assert_eq!(got["remaining_amount"], "69.00");
    assert_eq!(got["payments"][0]["amount"], "50.00");
    assert_eq!(got["payments"][0]["kind"], "payment");
    assert_eq!(app.balance(&debtor).await, "69.00");
    assert_eq!(app.balance("1200").await, "50.00");
    // Over-payment is refused and books nothing.
    let before = journal_line_count(&app).await;
    let err = app
        .store
        .apply_payment(tenant, id, dec("69.01"), today(), None, &actor())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                code: "overpayment",
                ..
            }
        ),
        "{err:?}"
    );
    let err = app
        .store
        .apply_payment(tenant, id, dec("0"), today(), None, &actor())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Invalid {
                code: "non_positive_amount",
                ..
            }
        ),
        "{err:?}"
    );
    let err = app
        .store
        .apply_payment(tenant, id, dec("1.001"), today(), None, &actor())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Invalid {
                code: "amount_precision",
                ..
            }
        ),
        "{err:?}"
    );
    let err = app
        .store
        .apply_payment(tenant, id, dec("1"), today(), Some("4711"), &actor())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Invalid {
                code: "unknown_account",
                ..
            }
        ),
        "{err:?}"
    );
    let err = app
        .store
        .apply_payment(tenant, Uuid::now_v7(), dec("1"), today(), None, &actor())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert_eq!(journal_line_count(&app).await, before);
    // Paid to the cent, into the cash account this time.
    app.store
        .apply_payment(tenant, id, dec("69.00"), today(), Some("1000"), &actor())
        .await
        .unwrap();
    let got = app.get(&path).await;
    let got = got.expect(200, None);
    assert_eq!(got["status"], "paid");
    assert_eq!(got["remaining_amount"], "0.00");
    assert_eq!(got["days_overdue"], 0);
    assert_eq!(app.balance(&debtor).await, "0.00");
    assert_eq!(app.balance("1400").await, "0.00");
    let err = app
        .store
        .apply_payment(tenant, id, dec("0.01"), today(), None, &actor())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::Conflict {
            code: "overpayment",
            ..
        }
    ));

    // Past due: overdue, also when partly paid.
    let late = create_outgoing(
        &app,
        with(
            invoice(&cid, "R-2", &days_ago(40), "100.00"),
            "due_date",
            json!(days_ago(10)),
        ),
    )
    .await;
    assert_eq!(late["status"], "overdue");
    assert_eq!(late["days_overdue"], 10);
    app.store
        .apply_payment(tenant, uuid(&late), dec("19.00"), today(), None, &actor())
        .await
        .unwrap();
    let got = app
        .get(&format!("/v1/outgoing-invoices/{}", id_of(&late)))
        .await;
    assert_eq!(got.expect(200, None)["status"], "overdue");
    // Without a due date an invoice is never overdue.
    let undated = create_outgoing(&app, invoice(&cid, "R-3", &days_ago(400), "10")).await;
    assert_eq!(undated["status"], "open");
    // Reversing a payment's booking takes it back.
    let pay = app
        .store
        .apply_payment(tenant, uuid(&undated), dec("5.00"), today(), None, &actor())
        .await
        .unwrap();
    app.post(
        "/v1/journal/reverse",
        json!({"intent_id": pay.intent_id, "reason": "bounced"}),
    )
    .await
    .expect(201, None);
    let got = app
        .get(&format!("/v1/outgoing-invoices/{}", id_of(&undated)))
        .await;
    let got = got.expect(200, None);
    assert_eq!(got["status"], "open");
    assert_eq!(got["remaining_amount"], "11.90");
    assert_eq!(got["payments"][0]["reversed"], true);
}

#[tokio::test]
async fn list_filters_by_customer_status_type_and_date() {
    let app = spawn_app().await;
    let tenant = app.tenant.id;
    let (c1, _) = customer(&app, "Acme GmbH").await;
    let (c2, _) = customer(&app, "Beta AG").await;
    let a = create_outgoing(&app, invoice(&c1, "A", "2026-01-10", "10")).await;
    let b = create_outgoing(
        &app,
        with(
            invoice(&c1, "B", "2026-02-10", "10"),
            "due_date",
            json!("2026-02-11"),
        ),
    )
    .await;
    let c = create_outgoing(
        &app,
        with(
            invoice(&c2, "C", "2026-03-10", "10"),
            "type",
            json!("credit_note"),
        ),
    )
    .await;
    let d = create_outgoing(&app, invoice(&c2, "D", "2026-04-10", "10")).await;
    app.store
        .apply_payment(
            tenant,
            uuid(&a),
            dec("11.90"),
            "2026-01-20".parse().unwrap(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    app.store
        .apply_payment(
            tenant,
            uuid(&d),
            dec("1.00"),
            "2026-04-20".parse().unwrap(),
            None,
            &actor(),
        )
        .await
        .unwrap();

    let numbers = |res: &Res| -> Vec<String> {
        res.expect(200, None)
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["invoice_number"].as_str().unwrap().to_string())
            .collect()
    };
    let res = app.get("/v1/outgoing-invoices").await;
    assert_eq!(numbers(&res), vec!["D", "C", "B", "A"]);
    assert_eq!(res.headers["x-total-count"], "4");
    assert!(res.body[0].get("lines").is_none(), "lists leave lines out");
    let res = app
        .get(&format!("/v1/outgoing-invoices?customer_id={c1}"))
        .await;
    assert_eq!(numbers(&res), vec!["B", "A"]);
    let res = app.get("/v1/outgoing-invoices?status=paid").await;
    assert_eq!(numbers(&res), vec!["A"]);
    let res = app
        .get("/v1/outgoing-invoices?status=overdue,partially_paid")
        .await;
    let mut got = numbers(&res);
    got.sort();
    assert_eq!(got, vec!["B", "D"]);
    let res = app.get("/v1/outgoing-invoices?type=credit_note").await;
    assert_eq!(numbers(&res), vec!["C"]);
    let res = app
        .get("/v1/outgoing-invoices?start_date=2026-02-01&end_date=2026-03-31")
        .await;
    assert_eq!(numbers(&res), vec!["C", "B"]);
    let res = app.get("/v1/outgoing-invoices?limit=2&offset=3").await;
    assert_eq!(numbers(&res), vec!["A"]);
    assert_eq!(res.headers["x-total-count"], "4");
    let res = app.get("/v1/outgoing-invoices?offset=10").await;
    assert_eq!(numbers(&res), Vec::<String>::new());
    assert_eq!(res.headers["x-total-count"], "4");
    // The status shown equals the status filtered on.
    for status in ["open", "partially_paid", "paid", "overdue", "cancelled"] {
        let res = app
            .get(&format!("/v1/outgoing-invoices?status={status}"))
            .await;
        for i in res.expect(200, None).as_array().unwrap() {
            assert_eq!(i["status"], status);
        }
    }
    // Malformed filters fall back to their defaults.
    let res = app
        .get("/v1/outgoing-invoices?status=bogus&customer_id=xyz&start_date=yesterday")
        .await;
    assert_eq!(numbers(&res).len(), 4);
    // Incoming invoices are another list.
    let res = app.get("/v1/invoices").await;
    assert_eq!(numbers(&res).len(), 0);
    let _ = (b, c);
}

#[tokio::test]
async fn credit_notes_book_the_mirror_image_and_reduce_the_open_amount() {
    let app = spawn_app().await;
    let (cid, debtor) = customer(&app, "Acme GmbH").await;
    create_outgoing(&app, invoice(&cid, "R-1", "2026-03-14", "100.00")).await;
    let cn = create_outgoing(
        &app,
        with(
            invoice(&cid, "G-1", "2026-03-20", "20.00"),
            "type",
            json!("credit_note"),
        ),
    )
    .await;
    assert_eq!(cn["type"], "credit_note");
    assert_eq!(cn["total_gross"], "23.80");
    assert_eq!(cn["remaining_amount"], "23.80");
    let j = app
        .get(&format!(
            "/v1/journal/{}",
            cn["intent_id"].as_str().unwrap()
        ))
        .await;
    let entries = j.expect(200, None)["entries"].as_array().unwrap().clone();
    let debtor_line = entries
        .iter()
        .find(|e| e["account"] == debtor.as_str())
        .unwrap();
    assert_eq!(debtor_line["credit"], "23.80");
    let revenue = entries.iter().find(|e| e["account"] == "8400").unwrap();
    assert_eq!(revenue["debit"], "20.00");
    let vat = entries.iter().find(|e| e["account"] == "1776").unwrap();
    assert_eq!(vat["debit"], "3.80");

    let c = app.get(&format!("/v1/customers/{cid}")).await;
    assert_eq!(c.expect(200, None)["open_amount"], "95.20");
    assert_eq!(app.balance(&debtor).await, "95.20");
    let res = app
        .get(&format!(
            "/v1/outgoing-invoices/open-items?customer_id={cid}"
        ))
        .await;
    let items = res.expect(200, None).as_array().unwrap().clone();
    let sum: Decimal = items.iter().map(|i| dec_of(&i["open_amount"])).sum();
    assert_eq!(sum, dec("95.20"));
    let cn_item = items.iter().find(|i| i["invoice_number"] == "G-1").unwrap();
    assert_eq!(cn_item["type"], "credit_note");
    assert_eq!(cn_item["remaining_amount"], "23.80");
    assert_eq!(cn_item["open_amount"], "-23.80");
    // Refunding the credit note closes it: bank credit, debtor debit.
    app.store
        .apply_payment(
            app.tenant.id,
            uuid(&cn),
            dec("23.80"),
            "2026-03-25".parse().unwrap(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    assert_eq!(app.balance("1200").await, "-23.80");
    let c = app.get(&format!("/v1/customers/{cid}")).await;
    assert_eq!(c.expect(200, None)["open_amount"], "119.00");
}

#[tokio::test]
async fn cancelling_reverses_the_booking() {
    let app = spawn_app().await;
    let (cid, debtor) = customer(&app, "Acme GmbH").await;
    let inv = create_outgoing(&app, invoice(&cid, "R-1", "2026-03-14", "100.00")).await;
    let id = id_of(&inv);
    let res = app
        .post(
            &format!("/v1/outgoing-invoices/{id}/cancel"),
            json!({"reason": "wrong customer"}),
        )
        .await;
    let c = res.expect(200, None);
    assert_eq!(c["status"], "cancelled");
    assert_eq!(c["remaining_amount"], "0.00");
    let rev = c["cancellation_intent_id"].as_str().unwrap().to_string();
    for account in [debtor.as_str(), "1400", "8400", "1776"] {
        assert_eq!(app.balance(account).await, "0.00", "{account}");
    }
    let j = app.get(&format!("/v1/journal/{rev}")).await;
    let j = j.expect(200, None);
    assert_eq!(j["summary"]["reversal_of"], inv["intent_id"]);
    assert_eq!(j["summary"]["reason"], "wrong customer");
    // Twice is refused; so is a payment on a cancelled invoice.
    app.post(&format!("/v1/outgoing-invoices/{id}/cancel"), json!(null))
        .await
        .expect(409, Some("already_reversed"));
    let err = app
        .store
        .apply_payment(app.tenant.id, uuid(&inv), dec("1"), today(), None, &actor())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::Conflict {
            code: "invoice_cancelled",
            ..
        }
    ));
    // Cancelled invoices are no open items and show in the cancelled list.
    let res = app.get("/v1/outgoing-invoices/open-items").await;
    assert_eq!(res.expect(200, None).as_array().unwrap().len(), 0);
    let res = app.get("/v1/outgoing-invoices?status=cancelled").await;
    assert_eq!(res.expect(200, None).as_array().unwrap().len(), 1);

    // A corrected booking can be linked to the cancelled invoice: it is open again.
    let corrected = app
        .book_ok(booking("2026-03-15", json!([{"account": debtor, "debit": "119.00"}, {"account": "8400", "credit": "100.00", "tax_code": "USt19"}])))
        .await;
    let res = app
        .patch(
            &format!("/v1/outgoing-invoices/{id}"),
            json!({"intent_id": corrected}),
        )
        .await;
    let p = res.expect(200, None);
    assert_eq!(p["intent_id"], corrected.as_str());
    assert!(p["cancellation_intent_id"].is_null());
    assert_ne!(p["status"], "cancelled");

    // With a payment applied, cancelling is refused; negative posting mode and no body work.
    let inv2 = create_outgoing(&app, invoice(&cid, "R-2", "2026-03-14", "10.00")).await;
    app.store
        .apply_payment(
            app.tenant.id,
            uuid(&inv2),
            dec("1.00"),
            today(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    app.post(
        &format!("/v1/outgoing-invoices/{}/cancel", id_of(&inv2)),
        json!({}),
    )
    .await
    .expect(409, Some("invoice_has_payments"));
    let inv3 = create_outgoing(&app, invoice(&cid, "R-3", "2026-03-14", "10.00")).await;
    app.post(
        &format!("/v1/outgoing-invoices/{}/cancel", id_of(&inv3)),
        json!({"posting_mode": "sideways"}),
    )
    .await
    .expect(400, Some("invalid_field"));
    app.post(
        &format!("/v1/outgoing-invoices/{}/cancel", id_of(&inv3)),
        json!({"reason": "x", "extra": 1}),
    )
    .await
    .expect(400, Some("unknown_field"));
    let key = app.tenant.key.clone();
    let res = app
        .send(
            Method::POST,
            &format!("/v1/outgoing-invoices/{}/cancel", id_of(&inv3)),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(res.expect(200, None)["status"], "cancelled");
    let inv4 = create_outgoing(&app, invoice(&cid, "R-4", "2026-03-14", "10.00")).await;
    let res = app
        .post(
            &format!("/v1/outgoing-invoices/{}/cancel", id_of(&inv4)),
            json!({"posting_mode": "negative"}),
        )
        .await;
    let rev = res.expect(200, None)["cancellation_intent_id"]
        .as_str()
        .unwrap()
        .to_string();
    let j = app.get(&format!("/v1/journal/{rev}")).await;
    assert_eq!(j.expect(200, None)["summary"]["posting_mode"], "negative");
    app.post(
        &format!("/v1/outgoing-invoices/{}/cancel", Uuid::now_v7()),
        json!(null),
    )
    .await
    .expect(404, Some("not_found"));
}

#[tokio::test]
async fn patch_changes_notes_due_date_and_the_link_only() {
    let app = spawn_app().await;
    let (cid, debtor) = customer(&app, "Acme GmbH").await;
    let inv = create_outgoing(
        &app,
        with(
            invoice(&cid, "R-1", "2026-03-14", "100.00"),
            "notes",
            json!("first"),
        ),
    )
    .await;
    let id = id_of(&inv);
    let path = format!("/v1/outgoing-invoices/{id}");
    let res = app
        .patch(&path, json!({"notes": "second", "due_date": "2026-04-30"}))
        .await;
    let p = res.expect(200, None);
    assert_eq!(p["notes"], "second");
    assert_eq!(p["due_date"], "2026-04-30");
    assert_eq!(p["total_gross"], "119.00");
    let res = app
        .patch(&path, json!({"notes": null, "due_date": null}))
        .await;
    let p = res.expect(200, None);
    assert!(p["notes"].is_null() && p["due_date"].is_null());
    app.patch(&path, json!({"due_date": "2026-03-01"}))
        .await
        .expect(400, Some("invalid_due_date"));
    app.patch(&path, json!({"total_gross": "1.00"}))
        .await
        .expect(400, Some("unknown_field"));
    app.patch(&path, json!({"notes": "x".repeat(2001)}))
        .await
        .expect(400, Some("too_long"));
    // While the invoice's booking stands, another one cannot be linked.
    let other = app
        .book_ok(booking("2026-03-14", json!([{"account": debtor, "debit": "119.00"}, {"account": "8400", "credit": "100.00", "tax_code": "USt19"}])))
        .await;
    app.patch(&path, json!({"intent_id": other}))
        .await
        .expect(409, Some("invoice_booked"));
    // The same link again is no change.
    app.patch(&path, json!({"intent_id": inv["intent_id"]}))
        .await
        .expect(200, None);
    app.patch(
        &format!("/v1/outgoing-invoices/{}", Uuid::now_v7()),
        json!({"notes": "x"}),
    )
    .await
    .expect(404, Some("not_found"));
    // Changes are logged; the amounts cannot change, not even by SQL.
    let db = sql().await;
    let logged: i64 = db
        .query_one(
            "SELECT count(*) FROM invoice_changes WHERE invoice_id = $1",
            &[&uuid(&inv)],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(logged, 2);
    let err = db
        .execute(
            "UPDATE invoices SET total_gross = 1 WHERE id = $1",
            &[&uuid(&inv)],
        )
        .await;
    assert!(err.is_err());
    let err = db
        .execute(
            "DELETE FROM invoice_lines WHERE invoice_id = $1",
            &[&uuid(&inv)],
        )
        .await;
    assert!(err.is_err());
}

#[tokio::test]
async fn incoming_invoices_book_expense_input_vat_and_the_creditor() {
    let app = spawn_app().await;
    let (vid, creditor) = vendor(&app, "Lieferant KG").await;
    let body = json!({
        "vendor_id": vid, "invoice_number": "LK-2026-17", "invoice_date": "2026-03-02", "due_date": "2026-03-16",
        "total_net": "100.00", "total_tax": "19.00", "total_gross": "119.00",
        "lines": [{"description": "Paper", "quantity": 4, "unit_price": "25", "tax_code": "VSt19", "account": "4930"}]
    });
    let res = app.post("/v1/invoices", body).await;
    let inv = res.expect(201, None).clone();
    assert_eq!(inv["vendor_id"], vid.as_str());
    assert_eq!(inv["vendor_name"], "Lieferant KG");
    assert!(inv.get("customer_id").is_none());
    assert_eq!(inv["remaining_amount"], "119.00");
    assert_eq!(app.balance(&creditor).await, "-119.00");
    assert_eq!(app.balance("1600").await, "-119.00");
    assert_eq!(app.balance("1576").await, "19.00");
    assert_eq!(app.balance("4930").await, "100.00");
    let v = app.get(&format!("/v1/vendors/{vid}")).await;
    assert_eq!(v.expect(200, None)["open_amount"], "119.00");
    // Paying it: creditor debit, bank credit.
    app.store
        .apply_payment(
            app.tenant.id,
            uuid(&inv),
            dec("119.00"),
            "2026-03-10".parse().unwrap(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    assert_eq!(app.balance("1600").await, "0.00");
    assert_eq!(app.balance("1200").await, "-119.00");
    let res = app.get(&format!("/v1/invoices/{}", id_of(&inv))).await;
    assert_eq!(res.expect(200, None)["status"], "paid");

    // Reverse charge: no VAT on the invoice, input and output VAT self-assessed in the booking.
    let rc = json!({"vendor_id": vid, "invoice_number": "RC-1", "invoice_date": "2026-03-05",
                    "total_tax": "0", "total_gross": "200.00",
                    "lines": [{"unit_price": "200", "tax_code": "RC19"}]});
    let res = app.post("/v1/invoices", rc).await;
    let inv = res.expect(201, None).clone();
    assert_eq!(inv["lines"][0]["self_assessed"], true);
    assert_eq!(inv["lines"][0]["tax"], "0.00");
    assert_eq!(app.balance("1577").await, "38.00");
    assert_eq!(app.balance("1787").await, "-38.00");
    assert_eq!(app.balance("1600").await, "-200.00");
    // An incoming credit note: creditor debit.
    let cn = json!({"vendor_id": vid, "invoice_number": "GS-1", "invoice_date": "2026-03-06", "type": "credit_note",
                    "lines": [{"unit_price": "50", "tax_code": "VSt19"}]});
    app.post("/v1/invoices", cn).await.expect(201, None);
    assert_eq!(app.balance("1600").await, "-140.50");
    let res = app
        .get(&format!("/v1/invoices/open-items?vendor_id={vid}"))
        .await;
    let items = res.expect(200, None).as_array().unwrap().clone();
    let sum: Decimal = items.iter().map(|i| dec_of(&i["open_amount"])).sum();
    assert_eq!(
        sum,
        dec("140.50"),
        "vendor open items = creditor balance, credit-positive"
    );
    // Cancel works on this side too.
    let res = app
        .post(&format!("/v1/invoices/{}/cancel", id_of(&inv)), json!(null))
        .await;
    assert_eq!(res.expect(200, None)["status"], "cancelled");
    assert_eq!(app.balance("1577").await, "0.00");
    let res = app
        .patch(
            &format!("/v1/invoices/{}", id_of(&inv)),
            json!({"notes": "storniert"}),
        )
        .await;
    assert_eq!(res.expect(200, None)["notes"], "storniert");
    let res = app.get("/v1/invoices?status=cancelled").await;
    assert_eq!(res.expect(200, None).as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn write_offs_settle_with_vat_correction() {
    let app = spawn_app().await;
    let (cid, debtor) = customer(&app, "Acme GmbH").await;
    let inv = create_outgoing(&app, invoice(&cid, "R-1", "2026-03-14", "100.00")).await;
    let id = uuid(&inv);
    app.store
        .apply_payment(
            app.tenant.id,
            id,
            dec("59.50"),
            "2026-04-01".parse().unwrap(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    let w = app
        .store
        .write_off(
            app.tenant.id,
            id,
            dec("59.50"),
            "2026-06-30".parse().unwrap(),
            None,
            Some("USt19"),
            &actor(),
        )
        .await
        .unwrap();
    assert_eq!(w.kind, "write_off");
    assert_eq!(w.counter_account, "2400");
    assert_eq!(app.balance(&debtor).await, "0.00");
    assert_eq!(app.balance("2400").await, "50.00");
    // Output VAT corrected by 9.50 (§ 17 UStG).
    assert_eq!(app.balance("1776").await, "-9.50");
    let res = app.get(&format!("/v1/outgoing-invoices/{id}")).await;
    let got = res.expect(200, None);
    assert_eq!(got["status"], "paid");
    assert_eq!(got["payments"][1]["kind"], "write_off");
    // Without a tax code the gross goes to the write-off account; bad codes are refused.
    let inv = create_outgoing(&app, invoice(&cid, "R-2", "2026-03-14", "10.00")).await;
    let err = app
        .store
        .write_off(
            app.tenant.id,
            uuid(&inv),
            dec("1"),
            today(),
            None,
            Some("RC19"),
            &actor(),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::Invalid {
            code: "unknown_tax_code",
            ..
        }
    ));
    app.store
        .write_off(
            app.tenant.id,
            uuid(&inv),
            dec("11.90"),
            today(),
            Some("2406"),
            None,
            &actor(),
        )
        .await
        .unwrap();
    assert_eq!(app.balance("2406").await, "11.90");
    assert_eq!(app.balance(&debtor).await, "0.00");
}

#[tokio::test]
async fn a_locked_period_refuses_the_invoice_and_its_booking() {
    let app = spawn_app().await;
    let (cid, _) = customer(&app, "Acme GmbH").await;
    soft_lock(app.tenant.id, "2026-02").await;
    let before = journal_line_count(&app).await;
    app.post(
        "/v1/outgoing-invoices",
        invoice(&cid, "R-1", "2026-02-14", "10"),
    )
    .await
    .expect(409, Some("period_locked"));
    assert_eq!(journal_line_count(&app).await, before);
    let res = app.get("/v1/outgoing-invoices").await;
    assert_eq!(res.expect(200, None).as_array().unwrap().len(), 0);
    // The number is still free.
    create_outgoing(&app, invoice(&cid, "R-1", "2026-03-14", "10")).await;
}

#[tokio::test]
async fn open_items_are_aged_in_buckets() {
    let app = spawn_app().await;
    let (cid, _) = customer(&app, "Acme GmbH").await;
    let (c2, _) = customer(&app, "Beta AG").await;
    let mut expected = Vec::new();
    for (n, due_days_ago, bucket) in [
        (1, -5, "current"),
        (2, 0, "current"),
        (3, 1, "1_30"),
        (4, 30, "1_30"),
        (5, 31, "31_60"),
        (6, 75, "61_90"),
        (7, 91, "over_90"),
    ] {
        let body = with(
            invoice(&cid, &format!("R-{n}"), &days_ago(200), "10.00"),
            "due_date",
            json!(days_ago(due_days_ago)),
        );
        create_outgoing(&app, body).await;
        expected.push((format!("R-{n}"), due_days_ago.max(0), bucket));
    }
    // Paid items are no open items; another customer's are filtered out.
    let paid = create_outgoing(&app, invoice(&cid, "P-1", &days_ago(10), "10.00")).await;
    app.store
        .apply_payment(
            app.tenant.id,
            uuid(&paid),
            dec("11.90"),
            today(),
            None,
            &actor(),
        )
        .await
        .unwrap();
    create_outgoing(&app, invoice(&c2, "X-1", &days_ago(10), "10.00")).await;

    let res = app
        .get(&format!(
            "/v1/outgoing-invoices/open-items?customer_id={cid}"
        ))
        .await;
    let items = res.expect(200, None).as_array().unwrap().clone();
    assert_eq!(res.headers["x-total-count"], "7");
    // Oldest due first.
    let got: Vec<(String, i64, String)> = items
        .iter()
        .map(|i| {
            (
                i["invoice_number"].as_str().unwrap().to_string(),
                i["days_overdue"].as_i64().unwrap(),
                i["aging_bucket"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut want: Vec<(String, i64, String)> = expected
        .into_iter()
        .map(|(n, d, b)| (n, d, b.to_string()))
        .collect();
    want.reverse();
    assert_eq!(got, want);
    for i in &items {
        assert_eq!(i["remaining_amount"], "11.90");
        assert_eq!(i["customer_name"], "Acme GmbH");
        assert_eq!(
            i["status"],
            if i["days_overdue"].as_i64().unwrap() > 0 {
                "overdue"
            } else {
                "open"
            }
        );
    }
    let res = app
        .get("/v1/outgoing-invoices/open-items?limit=2&offset=7")
        .await;
    assert_eq!(res.expect(200, None).as_array().unwrap().len(), 1);
    assert_eq!(res.headers["x-total-count"], "8");
    // as_of: the books at the end of that day, aged against it. The paid invoice was still
    // open yesterday; the invoices dated 200 days ago did not exist 201 days ago.
    let yesterday = days_ago(1);
    let res = app
        .get(&format!(
            "/v1/outgoing-invoices/open-items?customer_id={cid}&as_of={yesterday}"
        ))
        .await;
    let items = res.expect(200, None).as_array().unwrap().clone();
    assert_eq!(items.len(), 8);
    let r7 = items.iter().find(|i| i["invoice_number"] == "R-7").unwrap();
    assert_eq!(r7["days_overdue"], 90);
    assert_eq!(r7["aging_bucket"], "61_90");
    let res = app
        .get(&format!(
            "/v1/outgoing-invoices/open-items?as_of={}",
            days_ago(201)
        ))
        .await;
    assert_eq!(res.expect(200, None).as_array().unwrap().len(), 0);
    // Incoming open items are separate.
    let res = app.get("/v1/invoices/open-items").await;
    assert_eq!(res.expect(200, None).as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_document_links_the_pdf() {
    let app = spawn_app().await;
    let (cid, _) = customer(&app, "Acme GmbH").await;
    let doc = upload_pdf(&app, "R-1.pdf").await;
    let inv = create_outgoing(
        &app,
        with(
            invoice(&cid, "R-1", "2026-03-14", "10"),
            "document_id",
            json!(doc),
        ),
    )
    .await;
    assert_eq!(inv["document_id"], doc.as_str());
    let j = app
        .get(&format!(
            "/v1/journal/{}",
            inv["intent_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(j.expect(200, None)["metadata"]["document_id"], doc.as_str());
    // Another tenant's document does not exist here.
    let other = as_tenant(&app, app.other_tenant().await);
    let foreign = upload_pdf(&other, "x.pdf").await;
    let res = app
        .post(
            "/v1/outgoing-invoices",
            with(
                invoice(&cid, "R-2", "2026-03-14", "10"),
                "document_id",
                json!(foreign),
            ),
        )
        .await;
    res.expect(400, Some("unknown_document"));
}

#[tokio::test]
async fn invoices_need_keys_scopes_and_their_own_tenant() {
    let app = spawn_app().await;
    let (cid, _) = customer(&app, "Acme GmbH").await;
    let inv = create_outgoing(&app, invoice(&cid, "R-1", "2026-03-14", "10")).await;
    let id = id_of(&inv);
    for (method, path) in [
        (Method::GET, "/v1/outgoing-invoices".to_string()),
        (Method::POST, "/v1/outgoing-invoices".to_string()),
        (Method::GET, "/v1/outgoing-invoices/open-items".to_string()),
        (Method::GET, format!("/v1/outgoing-invoices/{id}")),
        (Method::PATCH, format!("/v1/outgoing-invoices/{id}")),
        (Method::POST, format!("/v1/outgoing-invoices/{id}/cancel")),
        (Method::GET, "/v1/invoices".to_string()),
        (Method::POST, "/v1/invoices".to_string()),
        (Method::GET, "/v1/invoices/open-items".to_string()),
    ] {
        app.send(method, &path, None, Some(&json!({})))
            .await
            .expect(401, Some("unauthenticated"));
    }
    let customers_only = app.key_with_scopes(&["customers:*"]).await;
    app.send(
        Method::GET,
        "/v1/outgoing-invoices",
        Some(&customers_only),
        None,
    )
    .await
    .expect(403, Some("scope_missing"));
    app.send(
        Method::POST,
        "/v1/outgoing-invoices",
        Some(&customers_only),
        Some(&invoice(&cid, "R-2", "2026-03-14", "10")),
    )
    .await
    .expect(403, Some("scope_missing"));
    let read = app.key_with_scopes(&["invoices:read"]).await;
    app.send(
        Method::GET,
        &format!("/v1/outgoing-invoices/{id}"),
        Some(&read),
        None,
    )
    .await
    .expect(200, None);
    app.send(Method::GET, "/v1/invoices/open-items", Some(&read), None)
        .await
        .expect(200, None);
    app.send(
        Method::PATCH,
        &format!("/v1/outgoing-invoices/{id}"),
        Some(&read),
        Some(&json!({"notes": "x"})),
    )
    .await
    .expect(403, Some("scope_missing"));
    app.send(
        Method::POST,
        &format!("/v1/outgoing-invoices/{id}/cancel"),
        Some(&read),
        None,
    )
    .await
    .expect(403, Some("scope_missing"));
    let write = app.key_with_scopes(&["invoices:write"]).await;
    app.send(
        Method::POST,
        "/v1/outgoing-invoices",
        Some(&write),
        Some(&invoice(&cid, "R-2", "2026-03-14", "10")),
    )
    .await
    .expect(201, None);

    let other = as_tenant(&app, app.other_tenant().await);
    other
        .get(&format!("/v1/outgoing-invoices/{id}"))
        .await
        .expect(404, Some("not_found"));
    other
        .patch(
            &format!("/v1/outgoing-invoices/{id}"),
            json!({"notes": "x"}),
        )
        .await
        .expect(404, Some("not_found"));
    other
        .post(&format!("/v1/outgoing-invoices/{id}/cancel"), json!(null))
        .await
        .expect(404, Some("not_found"));
    let res = other.get("/v1/outgoing-invoices").await;
    assert_eq!(res.expect(200, None).as_array().unwrap().len(), 0);
    let res = other.get("/v1/outgoing-invoices/open-items").await;
    assert_eq!(res.expect(200, None).as_array().unwrap().len(), 0);
    let err = app
        .store
        .apply_payment(
            other.tenant.id,
            uuid(&inv),
            dec("1"),
            today(),
            None,
            &actor(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }));
    app.get("/v1/outgoing-invoices/123")
        .await
        .expect(404, Some("not_found"));
}

#[tokio::test]
async fn booking_rules_are_reported_on_the_invoice_fields() {
    let app = spawn_app().await;
    let (cid, debtor) = customer(&app, "Acme GmbH").await;
    // The tax code's VAT account is inactive: the journal refuses the line. A free line (net 0)
    // is not booked, so the booking's first line is the invoice's second.
    app.patch("/v1/accounts/1771", json!({"is_active": false}))
        .await
        .expect(200, None);
    let body = with(
        invoice(&cid, "R-1", "2026-03-14", "10"),
        "lines",
        json!([{"description": "free sample", "unit_price": "0"}, {"unit_price": "10", "tax_code": "USt7"}]),
    );
    let res = app.post("/v1/outgoing-invoices", body).await;
    let b = res.expect(400, Some("tax_code_misconfigured"));
    assert_eq!(field_errors(b), vec!["lines[1].tax_code"]);
    assert!(
        b["error"]
            .as_str()
            .unwrap()
            .starts_with("lines[1].tax_code"),
        "{b}"
    );
    app.patch("/v1/accounts/1771", json!({"is_active": true}))
        .await
        .expect(200, None);
    // The personal account itself was deactivated by hand: named as the customer.
    app.patch(
        &format!("/v1/accounts/{debtor}"),
        json!({"is_active": false}),
    )
    .await
    .expect(200, None);
    let res = app
        .post(
            "/v1/outgoing-invoices",
            invoice(&cid, "R-1", "2026-03-14", "10"),
        )
        .await;
    assert_eq!(
        field_errors(res.expect(400, Some("unknown_account"))),
        vec!["customer_id"]
    );
    app.patch(
        &format!("/v1/accounts/{debtor}"),
        json!({"is_active": true}),
    )
    .await
    .expect(200, None);
    let inv = create_outgoing(&app, invoice(&cid, "R-1", "2026-03-14", "10")).await;
    assert_eq!(inv["lines"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn creating_an_invoice_under_an_idempotency_key_books_it_once() {
    let app = spawn_app().await;
    let (cid, _) = customer(&app, "Wiederholer GmbH").await;
    let body = invoice(&cid, "2026-0777", "2026-03-14", "100.00");
    let requests = (0..8).map(|_| {
        app.client
            .post(format!("{}/v1/outgoing-invoices", app.address))
            .bearer_auth(&app.tenant.key)
            .header("idempotency-key", "invoice-777")
            .json(&body)
            .send()
    });
    let mut answers = std::collections::BTreeSet::new();
    let mut replayed = 0;
    for r in futures_util::future::join_all(requests).await {
        let r = r.unwrap();
        assert_eq!(r.status().as_u16(), 201);
        if r.headers().contains_key("idempotent-replayed") {
            replayed += 1;
        }
        answers.insert(r.text().await.unwrap());
    }
    assert_eq!(
        answers.len(),
        1,
        "one invoice, its answer replayed byte for byte"
    );
    assert_eq!(replayed, 7);
    let list = app.get("/v1/outgoing-invoices").await;
    assert_eq!(list.expect(200, None).as_array().unwrap().len(), 1);
    assert_eq!(
        journal_line_count(&app).await,
        3,
        "one booking: debtor, revenue, VAT"
    );
    // A refusal is replayed too, and a different body under the same key conflicts.
    let other = invoice(&cid, "2026-0778", "2026-03-14", "5.00");
    let res = app
        .client
        .post(format!("{}/v1/outgoing-invoices", app.address))
        .bearer_auth(&app.tenant.key)
        .header("idempotency-key", "invoice-777")
        .json(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 409);
}
