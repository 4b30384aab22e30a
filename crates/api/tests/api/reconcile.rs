//! Reconciliation (issue 10, part 2): suggestions, reconcile (linked / booked), unmatch,
//! dismiss, batch-reconcile, match groups; refusals, concurrency, and the property that
//! reconcile + unmatch leaves every balance and open item as before.
//!
//! Bank accounts and transactions are written with direct SQL (`bank_account`, `bank_tx`)
//! as schema/0009_bank.sql defines them, so these tests do not depend on the import API.

use crate::common::*;
use crate::helpers::*;
use crate::partners::{customer, vendor};
use proptest::prelude::*;
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use uuid::Uuid;

/// A bank account of the app's tenant (and its import batch, for its transactions).
#[derive(Clone, Copy)]
pub struct Bank {
    pub id: Uuid,
    pub batch: Uuid,
    pub tenant: Uuid,
}

/// Creates a bank account on `ledger` in `currency` with `iban`.
pub async fn bank_account(tenant: Uuid, ledger: &str, currency: &str, iban: Option<&str>) -> Bank {
    let db = sql().await;
    let (id, batch) = (Uuid::now_v7(), Uuid::now_v7());
    db.execute(
        "INSERT INTO bank_accounts (tenant_id, id, name, iban, currency, ledger_account, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, '{\"kind\":\"system\",\"id\":\"test\"}')",
        &[&tenant, &id, &format!("Bank {ledger}"), &iban, &currency, &ledger],
    )
    .await
    .expect("bank account");
    db.execute(
        "INSERT INTO bank_import_batches (tenant_id, id, bank_account_id, format, total_rows, imported,
            skipped_duplicates, actor)
         VALUES ($1, $2, $3, 'json', 0, 0, 0, '{\"kind\":\"system\",\"id\":\"test\"}')",
        &[&tenant, &batch, &id],
    )
    .await
    .expect("batch");
    Bank { id, batch, tenant }
}

/// Writes a bank transaction; `extra` may name counterparty_name, counterparty_iban,
/// remittance_info, end_to_end_id, currency and fx_rate.
pub async fn bank_tx(bank: &Bank, date: &str, amount: &str, extra: Value) -> Uuid {
    let id = Uuid::now_v7();
    let fingerprint: [u8; 32] = rand::random();
    let text = |k: &str| extra[k].as_str().map(str::to_string);
    let currency = text("currency").unwrap_or_else(|| "EUR".into());
    let fx: Option<Decimal> = text("fx_rate").map(|r| dec(&r));
    let date: chrono::NaiveDate = date.parse().unwrap();
    sql()
        .await
        .execute(
            "INSERT INTO bank_transactions (tenant_id, id, bank_account_id, batch_id, fingerprint, booking_date,
                amount, currency, fx_rate, counterparty_name, counterparty_iban, remittance_info, end_to_end_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            &[
                &bank.tenant,
                &id,
                &bank.id,
                &bank.batch,
                &fingerprint.as_slice(),
                &date,
                &dec(amount),
                &currency,
                &fx,
                &text("counterparty_name"),
                &text("counterparty_iban"),
                &text("remittance_info"),
                &text("end_to_end_id"),
            ],
        )
        .await
        .expect("bank transaction");
    id
}

async fn outgoing(app: &TestApp, customer_id: &str, number: &str, net: &str) -> Value {
    let res = app
        .post(
            "/v1/outgoing-invoices",
            json!({"customer_id": customer_id, "invoice_number": number, "invoice_date": "2026-03-01",
                   "due_date": "2026-03-15",
                   "lines": [{"description": "Work", "unit_price": net, "tax_code": "USt19"}]}),
        )
        .await;
    res.expect(201, None).clone()
}

async fn incoming(app: &TestApp, vendor_id: &str, number: &str, net: &str) -> Value {
    let res = app
        .post(
            "/v1/invoices",
            json!({"vendor_id": vendor_id, "invoice_number": number, "invoice_date": "2026-03-01",
                   "due_date": "2026-03-15",
                   "lines": [{"description": "Goods", "unit_price": net, "tax_code": "VSt19"}]}),
        )
        .await;
    res.expect(201, None).clone()
}

async fn remaining(app: &TestApp, path: &str) -> String {
    let res = app.get(path).await;
    res.expect(200, None)["remaining_amount"]
        .as_str()
        .unwrap()
        .to_string()
}

fn reconcile_path(id: Uuid) -> String {
    format!("/v1/bank-transactions/{id}/reconcile")
}

async fn suggestions(app: &TestApp, bank: &Bank) -> Vec<Value> {
    let res = app
        .get(&format!(
            "/v1/bank-transactions/suggestions?bank_account_id={}&per_transaction=5",
            bank.id
        ))
        .await;
    res.expect(200, None).as_array().unwrap().clone()
}

/// The suggestion as a reconcile body: exactly the fields reconcile takes.
fn as_body(s: &Value) -> Value {
    let mut b = json!({"candidate_kind": s["candidate_kind"]});
    for k in [
        "intent_id",
        "open_item_account",
        "candidate_id",
        "account",
        "tax_code",
    ] {
        if !s[k].is_null() {
            b[k] = s[k].clone();
        }
    }
    b
}

#[tokio::test]
async fn an_open_item_is_suggested_reconciled_and_unmatched() {
    let app = spawn_app().await;
    let bank = bank_account(app.tenant.id, "1200", "EUR", None).await;
    let (cid, debtor) = customer(&app, "Acme GmbH").await;
    let inv = outgoing(&app, &cid, "2026-0042", "100.00").await;
    let other = outgoing(&app, &cid, "2026-0043", "100.00").await;
    let inv_id = inv["id"].as_str().unwrap();
    let t = bank_tx(
        &bank,
        "2026-03-10",
        "119.00",
        json!({"counterparty_name": "ACME GMBH", "remittance_info": "Rechnung 2026-0042 danke"}),
    )
    .await;

    let found = suggestions(&app, &bank).await;
    let best = &found[0];
    assert_eq!(best["bank_transaction_id"], t.to_string());
    assert_eq!(best["candidate_kind"], "outgoing_invoice");
    assert_eq!(best["candidate_id"], inv_id);
    assert_eq!(best["intent_id"], inv["intent_id"]);
    assert_eq!(best["open_item_account"], debtor.as_str());
    assert_eq!(best["amount"], "119.00");
    assert!(best["score"].as_f64().unwrap() >= 0.8, "{best}");
    let reasons: Vec<&str> = best["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(reasons.contains(&"amount_exact") && reasons.contains(&"invoice_number_in_remittance"));
    // The other invoice of the same amount ranks lower.
    let second = found
        .iter()
        .find(|s| s["candidate_id"] == other["id"])
        .expect("the other invoice is suggested too");
    assert!(second["score"].as_f64() < best["score"].as_f64());

    let res = app.post(&reconcile_path(t), as_body(best)).await;
    let done = res.expect(200, None).clone();
    assert_eq!(done["ok"], true);
    assert_eq!(done["mode"], "booked");
    let intent = done["intent_id"].as_str().unwrap().to_string();
    let path = format!("/v1/outgoing-invoices/{inv_id}");
    assert_eq!(remaining(&app, &path).await, "0.00");
    assert_eq!(app.balance("1200").await, "119.00");
    assert_eq!(app.balance(&debtor).await, "119.00"); // the other invoice is still open
                                                      // The booking is bank vs debtor.
    let booking = app.get(&format!("/v1/journal/{intent}")).await;
    let accounts: Vec<String> = booking.expect(200, None)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["account"].as_str().unwrap().to_string())
        .collect();
    assert!(accounts.contains(&"1200".to_string()) && accounts.contains(&debtor));

    // Matched: nothing more to suggest for it; reconcile and dismiss refuse.
    assert!(suggestions(&app, &bank).await.is_empty());
    app.post(&reconcile_path(t), as_body(best))
        .await
        .expect(409, Some("already_matched"));
    app.post(&format!("/v1/bank-transactions/{t}/dismiss"), json!({}))
        .await
        .expect(409, Some("already_matched"));

    // Unmatch: the booking is reversed, the invoice open again.
    let res = app
        .post(&format!("/v1/bank-transactions/{t}/unmatch"), json!({}))
        .await;
    let undone = res.expect(200, None).clone();
    assert_eq!(undone["action"], "reversed");
    assert_eq!(undone["intent_id"], intent.as_str());
    assert!(undone["reversal_intent_id"].is_string());
    assert_eq!(remaining(&app, &path).await, "119.00");
    assert_eq!(app.balance("1200").await, "0.00");
    app.post(&format!("/v1/bank-transactions/{t}/unmatch"), json!({}))
        .await
        .expect(409, Some("not_matched"));
    // And it can be matched again.
    app.post(&reconcile_path(t), as_body(best))
        .await
        .expect(200, None);
    assert_eq!(remaining(&app, &path).await, "0.00");
}

#[tokio::test]
async fn a_skonto_payment_within_its_deadline_takes_the_discount() {
    let app = spawn_app().await;
    let bank = bank_account(app.tenant.id, "1200", "EUR", None).await;
    let (cid, debtor) = customer(&app, "Skonto GmbH").await;
    let res = app
        .post(
            "/v1/outgoing-invoices",
            json!({"customer_id": cid, "invoice_number": "SK-1", "invoice_date": "2026-03-01",
                   "due_date": "2026-03-31", "cash_discount_percent": "2", "cash_discount_days": 10,
                   "lines": [{"description": "Work", "unit_price": "100.00", "tax_code": "USt19"}]}),
        )
        .await;
    let inv = res.expect(201, None).clone();
    let path = format!("/v1/outgoing-invoices/{}", inv["id"].as_str().unwrap());
    let t = bank_tx(
        &bank,
        "2026-03-09",
        "116.62",
        json!({"remittance_info": "SK-1 abzgl. Skonto"}),
    )
    .await;
    let found = suggestions(&app, &bank).await;
    assert_eq!(found[0]["candidate_id"], inv["id"]);
    assert_eq!(found[0]["discount"], "2.38");
    assert!(found[0]["reasons"]
        .as_array()
        .unwrap()
        .contains(&json!("cash_discount")));
    let res = app.post(&reconcile_path(t), as_body(&found[0])).await;
    res.expect(200, None);
    assert_eq!(remaining(&app, &path).await, "0.00");
    assert_eq!(app.balance("1200").await, "116.62");
    assert_eq!(app.balance(&debtor).await, "0.00");
    assert_eq!(app.balance("8736").await, "2.00");
    let kinds: Vec<String> = app.get(&path).await.body["payments"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| p["kind"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(kinds.len(), 2, "payment and discount applications");
    // Undone: the one booking reversed, both applications stop counting.
    app.post(&format!("/v1/bank-transactions/{t}/unmatch"), json!({}))
        .await
        .expect(200, None);
    assert_eq!(remaining(&app, &path).await, "119.00");
    assert_eq!(app.balance("8736").await, "0.00");
    // After the deadline the same amount is a partial payment.
    let late = bank_tx(&bank, "2026-03-20", "116.62", json!({})).await;
    app.post(
        &reconcile_path(late),
        json!({"candidate_kind": "outgoing_invoice", "candidate_id": inv["id"]}),
    )
    .await
    .expect(200, None);
    assert_eq!(remaining(&app, &path).await, "2.38");
}

#[tokio::test]
async fn open_item_refusals() {
    let app = spawn_app().await;
    let bank = bank_account(app.tenant.id, "1200", "EUR", None).await;
    let (cid, debtor) = customer(&app, "Acme GmbH").await;
    let (vid, _) = vendor(&app, "Supplier AG").await;
    let inv = outgoing(&app, &cid, "R-1", "100.00").await;
    let bill = incoming(&app, &vid, "E-1", "100.00").await;
    let too_much = bank_tx(&bank, "2026-03-10", "150.00", json!({})).await;
    let money_out = bank_tx(&bank, "2026-03-10", "-119.00", json!({})).await;
    let body = |kind: &str, id: &Value| json!({"candidate_kind": kind, "candidate_id": id});
    app.post(
        &reconcile_path(too_much),
        body("outgoing_invoice", &inv["id"]),
    )
    .await
    .expect(409, Some("overpayment"));
    app.post(
        &reconcile_path(money_out),
        body("outgoing_invoice", &inv["id"]),
    )
    .await
    .expect(400, Some("wrong_direction"));
    // An incoming invoice is paid with money out; named as an outgoing one it is not found.
    app.post(
        &reconcile_path(money_out),
        body("outgoing_invoice", &bill["id"]),
    )
    .await
    .expect(404, Some("not_found"));
    let mut wrong_account = body("incoming_invoice", &bill["id"]);
    wrong_account["open_item_account"] = json!(debtor);
    app.post(&reconcile_path(money_out), wrong_account)
        .await
        .expect(400, Some("open_item_account_mismatch"));
    let mut wrong_intent = body("incoming_invoice", &bill["id"]);
    wrong_intent["intent_id"] = inv["intent_id"].clone();
    app.post(&reconcile_path(money_out), wrong_intent)
        .await
        .expect(400, Some("intent_mismatch"));
    app.post(
        &reconcile_path(money_out),
        json!({"candidate_kind": "incoming_invoice"}),
    )
    .await
    .expect(400, Some("missing_field"));
    app.post(
        &reconcile_path(money_out),
        json!({"candidate_kind": "incoming_invoice", "candidate_id": "not-a-uuid"}),
    )
    .await
    .expect(400, Some("invalid_field"));
    // Partial payment of the incoming invoice is fine.
    let partial = bank_tx(&bank, "2026-03-11", "-19.00", json!({})).await;
    app.post(
        &reconcile_path(partial),
        body("incoming_invoice", &bill["id"]),
    )
    .await
    .expect(200, None);
    assert_eq!(
        remaining(
            &app,
            &format!("/v1/invoices/{}", bill["id"].as_str().unwrap())
        )
        .await,
        "100.00"
    );
    // A cancelled invoice cannot be settled.
    app.post(
        &format!(
            "/v1/outgoing-invoices/{}/cancel",
            inv["id"].as_str().unwrap()
        ),
        json!({}),
    )
    .await
    .expect(200, None);
    let t = bank_tx(&bank, "2026-03-12", "119.00", json!({})).await;
    app.post(&reconcile_path(t), body("outgoing_invoice", &inv["id"]))
        .await
        .expect(409, Some("invoice_cancelled"));
}

#[tokio::test]
async fn journal_entries_are_linked_by_end_to_end_id_and_unlinked() {
    let app = spawn_app().await;
    let bank = bank_account(app.tenant.id, "1200", "EUR", None).await;
    let mut paid = transfer("2026-03-05", "4970", "1200", "50.00");
    paid["custom_metadata"] =
        json!({"end_to_end_id": "RUN-7-1", "payment_run_id": Uuid::now_v7().to_string()});
    let intent = app.book_ok(paid).await;
    let elsewhere = app
        .book_ok(transfer("2026-03-05", "4970", "1000", "50.00"))
        .await;
    let t = bank_tx(
        &bank,
        "2026-03-07",
        "-50.00",
        json!({"end_to_end_id": "RUN-7-1"}),
    )
    .await;
    let found = suggestions(&app, &bank).await;
    assert_eq!(found[0]["candidate_kind"], "journal_entry");
    assert_eq!(found[0]["intent_id"], intent.as_str());
    assert_eq!(found[0]["score"], 1.0);
    assert!(found[0]["reasons"]
        .as_array()
        .unwrap()
        .contains(&json!("end_to_end_id")));

    // Refusals first: not on the bank account, amount differs, reversed.
    app.post(
        &reconcile_path(t),
        json!({"candidate_kind": "journal_entry", "intent_id": elsewhere}),
    )
    .await
    .expect(400, Some("not_on_bank_account"));
    let other_amount = app
        .book_ok(transfer("2026-03-05", "4970", "1200", "49.99"))
        .await;
    app.post(
        &reconcile_path(t),
        json!({"candidate_kind": "journal_entry", "intent_id": other_amount}),
    )
    .await
    .expect(400, Some("amount_mismatch"));
    let reversed = app
        .book_ok(transfer("2026-03-05", "4970", "1200", "50.00"))
        .await;
    app.post(
        "/v1/journal/reverse",
        json!({"intent_id": reversed, "reason": "wrong", "posting_mode": "swap"}),
    )
    .await
    .expect(201, None);
    app.post(
        &reconcile_path(t),
        json!({"candidate_kind": "journal_entry", "intent_id": reversed}),
    )
    .await
    .expect(409, Some("intent_reversed"));
    app.post(
        &reconcile_path(t),
        json!({"candidate_kind": "journal_entry", "intent_id": Uuid::now_v7()}),
    )
    .await
    .expect(404, Some("not_found"));

    let before = app.balance("1200").await;
    let res = app.post(&reconcile_path(t), as_body(&found[0])).await;
    let done = res.expect(200, None).clone();
    assert_eq!(done["mode"], "linked");
    assert_eq!(done["intent_id"], intent.as_str());
    assert_eq!(app.balance("1200").await, before, "linking books nothing");
    // The same booking cannot be linked to a second transaction.
    let twin = bank_tx(&bank, "2026-03-07", "-50.00", json!({})).await;
    app.post(
        &reconcile_path(twin),
        json!({"candidate_kind": "journal_entry", "intent_id": intent}),
    )
    .await
    .expect(409, Some("intent_already_matched"));
    let res = app
        .post(&format!("/v1/bank-transactions/{t}/unmatch"), json!({}))
        .await;
    assert_eq!(res.expect(200, None)["action"], "unlinked");
    assert_eq!(
        app.balance("1200").await,
        before,
        "unlinking reverses nothing"
    );
    // Free again: the twin may take it.
    app.post(
        &reconcile_path(twin),
        json!({"candidate_kind": "journal_entry", "candidate_id": intent}),
    )
    .await
    .expect(200, None);
}

#[tokio::test]
async fn account_bookings_carry_the_net_and_are_learned() {
    let app = spawn_app().await;
    let bank = bank_account(app.tenant.id, "1200", "EUR", None).await;
    let landlord = json!({"counterparty_name": "Haus KG", "counterparty_iban": "DE02120300000000202051",
                          "remittance_info": "Miete Maerz"});
    let t = bank_tx(&bank, "2026-03-01", "-1190.00", landlord.clone()).await;
    app.post(&reconcile_path(t), json!({"candidate_kind": "account"}))
        .await
        .expect(400, Some("missing_field"));
    app.post(
        &reconcile_path(t),
        json!({"candidate_kind": "account", "account": "0000"}),
    )
    .await
    .expect(400, Some("unknown_account"));
    app.post(
        &reconcile_path(t),
        json!({"candidate_kind": "account", "account": "4210", "tax_code": "NOPE"}),
    )
    .await
    .expect(400, Some("unknown_tax_code"));
    let res = app
        .post(
            &reconcile_path(t),
            json!({"candidate_kind": "account", "account": "4210", "tax_code": "VSt19"}),
        )
        .await;
    assert_eq!(res.expect(200, None)["mode"], "booked");
    assert_eq!(app.balance("4210").await, "1000.00");
    assert_eq!(app.balance("1576").await, "190.00");
    assert_eq!(app.balance("1200").await, "-1190.00");

    // Next month, the same landlord: the account and tax code are suggested.
    let april = bank_tx(&bank, "2026-04-01", "-1190.00", landlord).await;
    let found = suggestions(&app, &bank).await;
    let s = found
        .iter()
        .find(|s| s["bank_transaction_id"] == april.to_string())
        .expect("a suggestion for April");
    assert_eq!(s["candidate_kind"], "account");
    assert_eq!(s["account"], "4210");
    assert_eq!(s["tax_code"], "VSt19");
    assert_eq!(s["reasons"], json!(["learned_from_iban"]));
    app.post(&reconcile_path(april), as_body(s))
        .await
        .expect(200, None);
    assert_eq!(app.balance("4210").await, "2000.00");
}

#[tokio::test]
async fn transfers_go_through_money_in_transit() {
    let app = spawn_app().await;
    let a = bank_account(app.tenant.id, "1200", "EUR", Some("DE89370400440532013000")).await;
    let b = bank_account(app.tenant.id, "1210", "EUR", Some("DE02120300000000202051")).await;
    let out = bank_tx(
        &a,
        "2026-03-02",
        "-1000.00",
        json!({"counterparty_iban": "DE02120300000000202051"}),
    )
    .await;
    let inn = bank_tx(&b, "2026-03-03", "1000.00", json!({})).await;
    let found = suggestions(&app, &a).await;
    let s = found
        .iter()
        .find(|s| s["candidate_kind"] == "transfer")
        .expect("a transfer suggestion");
    assert_eq!(s["candidate_id"], inn.to_string());
    assert_eq!(s["open_item_account"], "1360");
    assert!(s["score"].as_f64().unwrap() >= 0.9);
    // The other transaction must be on another account.
    let same = bank_tx(&a, "2026-03-02", "1000.00", json!({})).await;
    app.post(
        &reconcile_path(out),
        json!({"candidate_kind": "transfer", "candidate_id": same}),
    )
    .await
    .expect(400, Some("transfer_same_account"));
    app.post(&reconcile_path(out), as_body(s))
        .await
        .expect(200, None);
    assert_eq!(app.balance("1360").await, "1000.00");
    app.post(
        &reconcile_path(inn),
        json!({"candidate_kind": "transfer", "candidate_id": out}),
    )
    .await
    .expect(200, None);
    assert_eq!(app.balance("1360").await, "0.00");
    assert_eq!(app.balance("1200").await, "-1000.00");
    assert_eq!(app.balance("1210").await, "1000.00");
}

#[tokio::test]
async fn dismissing_and_undismissing() {
    let app = spawn_app().await;
    let bank = bank_account(app.tenant.id, "1200", "EUR", None).await;
    let t = bank_tx(&bank, "2026-03-02", "-3.00", json!({})).await;
    let dismiss = format!("/v1/bank-transactions/{t}/dismiss");
    // No body at all is fine too.
    let res = app
        .send(Method::POST, &dismiss, Some(&app.tenant.key.clone()), None)
        .await;
    assert_eq!(res.expect(200, None)["ok"], true);
    app.post(&dismiss, json!({}))
        .await
        .expect(409, Some("transaction_dismissed"));
    app.post(
        &reconcile_path(t),
        json!({"candidate_kind": "account", "account": "4970"}),
    )
    .await
    .expect(409, Some("transaction_dismissed"));
    let res = app
        .post(&format!("/v1/bank-transactions/{t}/unmatch"), json!({}))
        .await;
    assert_eq!(res.expect(200, None)["action"], "undismissed");
    app.post(
        &reconcile_path(t),
        json!({"candidate_kind": "account", "account": "4970"}),
    )
    .await
    .expect(200, None);
    app.post(&dismiss, json!({"reason": "x"}))
        .await
        .expect(400, Some("unknown_field"));
}

#[tokio::test]
async fn a_match_group_books_once_and_unmatches_as_a_whole() {
    let app = spawn_app().await;
    let bank = bank_account(app.tenant.id, "1200", "EUR", None).await;
    let (cid, debtor) = customer(&app, "Acme GmbH").await;
    let a = outgoing(&app, &cid, "G-1", "100.00").await; // 119.00
    let b = outgoing(&app, &cid, "G-2", "200.00").await; // 238.00
    let t1 = bank_tx(&bank, "2026-03-05", "200.00", json!({})).await;
    let t2 = bank_tx(&bank, "2026-03-06", "152.12", json!({})).await;
    let group = |alloc_b: &str| {
        json!({
            "bank_transaction_ids": [t1, t2],
            "allocations": [
                {"candidate_kind": "outgoing_invoice", "candidate_id": a["id"], "amount": "119.00"},
                {"candidate_kind": "outgoing_invoice", "candidate_id": b["id"], "amount": alloc_b}
            ],
            "adjustments": [
                {"account": "8736", "amount": "-2.38", "reason": "Skonto 2 %", "tax_code": "USt19"},
                {"account": "4970", "amount": "-2.50", "reason": "Bank fee"}
            ]
        })
    };
    let res = app.post("/v1/bank-match-groups", group("238.01")).await;
    res.expect(400, Some("match_not_balanced"));
    let res = app.post("/v1/bank-match-groups", group("238.00")).await;
    let done = res.expect(201, None).clone();
    assert_eq!(done["ok"], true);
    assert_eq!(done["mode"], "booked");
    let gid = done["match_group_id"].as_str().unwrap().to_string();
    for inv in [&a, &b] {
        let path = format!("/v1/outgoing-invoices/{}", inv["id"].as_str().unwrap());
        assert_eq!(remaining(&app, &path).await, "0.00");
    }
    assert_eq!(app.balance("1200").await, "352.12");
    assert_eq!(app.balance(&debtor).await, "0.00");
    assert_eq!(app.balance("8736").await, "2.00");
    assert_eq!(app.balance("4970").await, "2.50");
    // Its transactions are matched; one of them alone cannot be unmatched.
    app.post(
        &reconcile_path(t1),
        json!({"candidate_kind": "account", "account": "4970"}),
    )
    .await
    .expect(409, Some("already_matched"));
    app.post(&format!("/v1/bank-transactions/{t1}/unmatch"), json!({}))
        .await
        .expect(409, Some("match_is_group"));
    let again = app.post("/v1/bank-match-groups", group("238.00")).await;
    again.expect(409, Some("already_matched"));

    let res = app
        .post(&format!("/v1/bank-match-groups/{gid}/unmatch"), json!({}))
        .await;
    let undone = res.expect(200, None).clone();
    assert!(undone["reversal_intent_id"].is_string());
    assert_eq!(app.balance("1200").await, "0.00");
    assert_eq!(app.balance(&debtor).await, "357.00");
    assert_eq!(app.balance("8736").await, "0.00");
    app.post(&format!("/v1/bank-match-groups/{gid}/unmatch"), json!({}))
        .await
        .expect(409, Some("match_ended"));
    app.post(
        &format!("/v1/bank-match-groups/{}/unmatch", Uuid::now_v7()),
        json!({}),
    )
    .await
    .expect(404, Some("not_found"));
    // Both transactions are open again: one pays more than A is open.
    let over = json!({
        "bank_transaction_ids": [t1],
        "allocations": [{"candidate_kind": "outgoing_invoice", "candidate_id": a["id"], "amount": "200.00"}]
    });
    app.post("/v1/bank-match-groups", over)
        .await
        .expect(409, Some("overpayment"));
    let wrong_sign = json!({
        "bank_transaction_ids": [t1],
        "allocations": [{"candidate_kind": "outgoing_invoice", "candidate_id": a["id"], "amount": "119.00"},
                        {"candidate_kind": "outgoing_invoice", "candidate_id": b["id"], "amount": "-100.00"}],
        "adjustments": [{"account": "4970", "amount": "181.00", "reason": "x"}]
    });
    app.post("/v1/bank-match-groups", wrong_sign)
        .await
        .expect(400, Some("wrong_direction"));
    let journal = json!({
        "bank_transaction_ids": [t1],
        "allocations": [{"candidate_kind": "journal_entry", "candidate_id": Uuid::now_v7(), "amount": "200.00"}]
    });
    app.post("/v1/bank-match-groups", journal)
        .await
        .expect(404, Some("not_found"));
    let dup = json!({"bank_transaction_ids": [t1, t1], "adjustments": [{"account": "4970", "amount": "400", "reason": "x"}]});
    app.post("/v1/bank-match-groups", dup)
        .await
        .expect(400, Some("duplicate_bank_transaction"));
    let none = json!({"bank_transaction_ids": [], "adjustments": []});
    app.post("/v1/bank-match-groups", none)
        .await
        .expect(400, Some("no_transactions"));
    let nothing = json!({"bank_transaction_ids": [t1]});
    app.post("/v1/bank-match-groups", nothing)
        .await
        .expect(400, Some("nothing_allocated"));
    let other_bank = bank_account(app.tenant.id, "1210", "EUR", None).await;
    let t3 = bank_tx(&other_bank, "2026-03-06", "1.00", json!({})).await;
    let mixed = json!({"bank_transaction_ids": [t1, t3], "adjustments": [{"account": "4970", "amount": "201", "reason": "x"}]});
    app.post("/v1/bank-match-groups", mixed)
        .await
        .expect(400, Some("mixed_bank_accounts"));
    // A group of payments of one vendor invoice, money out.
    let (vid, _) = vendor(&app, "Supplier AG").await;
    let bill = incoming(&app, &vid, "E-7", "100.00").await;
    let p1 = bank_tx(&bank, "2026-03-07", "-100.00", json!({})).await;
    let p2 = bank_tx(&bank, "2026-03-08", "-19.00", json!({})).await;
    let res = app
        .post(
            "/v1/bank-match-groups",
            json!({"bank_transaction_ids": [p1, p2],
                   "allocations": [{"candidate_kind": "incoming_invoice", "candidate_id": bill["id"], "amount": "-119.00"}]}),
        )
        .await;
    res.expect(201, None);
    let path = format!("/v1/invoices/{}", bill["id"].as_str().unwrap());
    assert_eq!(remaining(&app, &path).await, "0.00");
}

#[tokio::test]
async fn batch_reconcile_lets_the_good_pairs_through() {
    let app = spawn_app().await;
    let bank = bank_account(app.tenant.id, "1200", "EUR", None).await;
    let good = bank_tx(&bank, "2026-03-02", "-5.00", json!({})).await;
    let taken = bank_tx(&bank, "2026-03-02", "-6.00", json!({})).await;
    app.post(
        &reconcile_path(taken),
        json!({"candidate_kind": "account", "account": "4970"}),
    )
    .await
    .expect(200, None);
    let unknown = Uuid::now_v7();
    let res = app
        .post(
            "/v1/bank-transactions/batch-reconcile",
            json!({"pairs": [
                {"bank_transaction_id": good, "candidate_kind": "account", "account": "4970"},
                {"bank_transaction_id": taken, "candidate_kind": "account", "account": "4970"},
                {"bank_transaction_id": unknown, "candidate_kind": "account", "account": "4970"},
                {"bank_transaction_id": good, "candidate_kind": "account", "account": "4970"}
            ]}),
        )
        .await;
    let body = res.expect(200, None).clone();
    assert_eq!(body["reconciled"], 1);
    assert_eq!(body["results"][0]["bank_transaction_id"], good.to_string());
    let codes: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        vec!["already_matched", "not_found", "already_matched"]
    );
    assert_eq!(
        body["errors"][1]["bank_transaction_id"],
        unknown.to_string()
    );
    assert_eq!(app.balance("4970").await, "11.00");
    app.post(
        "/v1/bank-transactions/batch-reconcile",
        json!({"pairs": []}),
    )
    .await
    .expect(400, Some("no_pairs"));
    let many: Vec<Value> = (0..501)
        .map(|_| json!({"bank_transaction_id": unknown, "candidate_kind": "transfer"}))
        .collect();
    app.post(
        "/v1/bank-transactions/batch-reconcile",
        json!({"pairs": many}),
    )
    .await
    .expect(400, Some("too_many"));
}

#[tokio::test]
async fn two_reconciles_of_one_transaction_at_once_one_wins() {
    let app = spawn_app().await;
    let bank = bank_account(app.tenant.id, "1200", "EUR", None).await;
    let t = bank_tx(&bank, "2026-03-02", "-7.00", json!({})).await;
    let body = json!({"candidate_kind": "account", "account": "4970"});
    let path = reconcile_path(t);
    let (a, b, c) = tokio::join!(
        app.post(&path, body.clone()),
        app.post(&path, body.clone()),
        app.post(&path, body.clone())
    );
    let statuses = [a.status.as_u16(), b.status.as_u16(), c.status.as_u16()];
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    for r in [&a, &b, &c] {
        if r.status.as_u16() != 200 {
            r.expect(409, Some("already_matched"));
        }
    }
    assert_eq!(app.balance("4970").await, "7.00", "booked once");
}

#[tokio::test]
async fn foreign_currency_accounts_need_a_rate() {
    let app = spawn_app().await;
    let usd = bank_account(app.tenant.id, "1210", "USD", None).await;
    let t = bank_tx(&usd, "2026-03-02", "-108.50", json!({"currency": "USD"})).await;
    let body = json!({"candidate_kind": "account", "account": "4970"});
    app.post(&reconcile_path(t), body.clone())
        .await
        .expect(400, Some("fx_rate_required"));
    let mut bad = body.clone();
    bad["fx_rate"] = json!("0");
    app.post(&reconcile_path(t), bad)
        .await
        .expect(400, Some("invalid_fx_rate"));
    let mut with_rate = body.clone();
    with_rate["fx_rate"] = json!("1.085");
    app.post(&reconcile_path(t), with_rate)
        .await
        .expect(200, None);
    assert_eq!(app.balance("1210").await, "-100.00");
    assert_eq!(app.balance("4970").await, "100.00");
    // The statement's rate is taken when it gives one.
    let s = bank_tx(
        &usd,
        "2026-03-03",
        "-217.00",
        json!({"currency": "USD", "fx_rate": "1.085"}),
    )
    .await;
    app.post(&reconcile_path(s), body).await.expect(200, None);
    assert_eq!(app.balance("4970").await, "300.00");
}

#[tokio::test]
async fn refusals_auth_scope_tenant_and_malformed_bodies() {
    let app = spawn_app().await;
    let bank = bank_account(app.tenant.id, "1200", "EUR", None).await;
    let t = bank_tx(&bank, "2026-03-02", "-5.00", json!({})).await;
    let body = json!({"candidate_kind": "account", "account": "4970"});
    let group_body = json!({"bank_transaction_ids": [t], "adjustments": [{"account": "4970", "amount": "-5", "reason": "x"}]});
    let batch_body = json!({"pairs": [{"bank_transaction_id": t, "candidate_kind": "account", "account": "4970"}]});
    let paths = [
        (reconcile_path(t), body.clone()),
        (format!("/v1/bank-transactions/{t}/unmatch"), json!({})),
        (format!("/v1/bank-transactions/{t}/dismiss"), json!({})),
        (
            "/v1/bank-transactions/batch-reconcile".to_string(),
            batch_body,
        ),
        ("/v1/bank-match-groups".to_string(), group_body),
        (
            format!("/v1/bank-match-groups/{}/unmatch", Uuid::now_v7()),
            json!({}),
        ),
    ];
    let suggest = format!(
        "/v1/bank-transactions/suggestions?bank_account_id={}",
        bank.id
    );
    // No credentials.
    for (p, b) in &paths {
        app.send(Method::POST, p, None, Some(b))
            .await
            .expect(401, Some("unauthenticated"));
    }
    app.send(Method::GET, &suggest, None, None)
        .await
        .expect(401, Some("unauthenticated"));
    // bank:read may read suggestions but not write; journal:* neither.
    let reader = app.key_with_scopes(&["bank:read"]).await;
    for (p, b) in &paths {
        app.send(Method::POST, p, Some(&reader), Some(b))
            .await
            .expect(403, Some("scope_missing"));
    }
    app.send(Method::GET, &suggest, Some(&reader), None)
        .await
        .expect(200, None);
    let journal = app
        .key_with_scopes(&["journal:read", "journal:write"])
        .await;
    app.send(Method::GET, &suggest, Some(&journal), None)
        .await
        .expect(403, Some("scope_missing"));
    // Another tenant sees nothing of ours.
    let other = as_tenant(&app, app.other_tenant().await);
    other
        .post(&reconcile_path(t), body.clone())
        .await
        .expect(404, Some("not_found"));
    other
        .post(&format!("/v1/bank-transactions/{t}/unmatch"), json!({}))
        .await
        .expect(404, Some("not_found"));
    other
        .post(&format!("/v1/bank-transactions/{t}/dismiss"), json!({}))
        .await
        .expect(404, Some("not_found"));
    other.get(&suggest).await.expect(404, Some("not_found"));
    let res = other
        .post(
            "/v1/bank-match-groups",
            json!({"bank_transaction_ids": [t], "adjustments": [{"account": "4970", "amount": "-5", "reason": "x"}]}),
        )
        .await;
    res.expect(404, Some("not_found"));
    let res = other
        .post(
            "/v1/bank-transactions/batch-reconcile",
            json!({"pairs": [{"bank_transaction_id": t, "candidate_kind": "account", "account": "4970"}]}),
        )
        .await;
    assert_eq!(res.expect(200, None)["errors"][0]["code"], "not_found");
    // Malformed: arrays for objects, NUL bytes, extreme numbers, unknown kinds and fields.
    app.post(&reconcile_path(t), json!([body.clone()]))
        .await
        .expect(400, None);
    app.post(
        &reconcile_path(t),
        json!({"candidate_kind": "account", "account": "49\u{0}70"}),
    )
    .await
    .expect(400, Some("invalid_character"));
    let huge = app
        .raw(
            Method::POST,
            &reconcile_path(t),
            Some(&app.tenant.key.clone()),
            "application/json",
            br#"{"candidate_kind": "account", "account": "4970", "fx_rate": 1e400}"#.to_vec(),
        )
        .await;
    huge.expect(400, None);
    app.post(&reconcile_path(t), json!({"candidate_kind": "bogus"}))
        .await
        .expect(400, Some("invalid_field"));
    app.post(
        &reconcile_path(t),
        json!({"candidate_kind": "account", "amount": "5"}),
    )
    .await
    .expect(400, Some("unknown_field"));
    app.post("/v1/bank-transactions/not-a-uuid/reconcile", body.clone())
        .await
        .expect(404, Some("not_found"));
    let group = json!({"bank_transaction_ids": [t],
        "adjustments": [{"account": "4970", "amount": "-99999999999999999999999999999", "reason": "x"}]});
    app.post("/v1/bank-match-groups", group)
        .await
        .expect(400, None);
    let group = json!({"bank_transaction_ids": [t],
        "adjustments": [{"account": "4970", "amount": "-5.001", "reason": "x"}]});
    app.post("/v1/bank-match-groups", group)
        .await
        .expect(400, Some("amount_precision"));
    app.post(
        "/v1/bank-match-groups",
        json!({"bank_transaction_ids": "x"}),
    )
    .await
    .expect(400, Some("invalid_field"));
    app.get("/v1/bank-transactions/suggestions")
        .await
        .expect(400, Some("missing_parameter"));
    app.get("/v1/bank-transactions/suggestions?bank_account_id=nope")
        .await
        .expect(404, Some("not_found"));
    // Nothing of the above booked anything.
    assert_eq!(app.balance("4970").await, "0.00");
}

#[tokio::test]
async fn idempotency_keys_replay_reconcile() {
    let app = spawn_app().await;
    let bank = bank_account(app.tenant.id, "1200", "EUR", None).await;
    let t = bank_tx(&bank, "2026-03-02", "-5.00", json!({})).await;
    let send = |body: Value| {
        let app = &app;
        let path = reconcile_path(t);
        async move {
            let r = app
                .client
                .post(format!("{}{}", app.address, path))
                .bearer_auth(&app.tenant.key)
                .header("Idempotency-Key", "rec-1")
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let replayed = r.headers().contains_key("idempotent-replayed");
            let body: Value = r.json().await.unwrap();
            (status, replayed, body)
        }
    };
    let body = json!({"candidate_kind": "account", "account": "4970"});
    let first = send(body.clone()).await;
    let second = send(body.clone()).await;
    assert_eq!(first.0, 200);
    assert_eq!((second.0, second.1), (200, true));
    assert_eq!(first.2, second.2);
    let other = send(json!({"candidate_kind": "account", "account": "4900"})).await;
    assert_eq!(
        (other.0, other.2["code"].as_str()),
        (409, Some("idempotency_conflict"))
    );
    assert_eq!(app.balance("4970").await, "5.00");
}

// ------------------------------------------------------------------ property

#[derive(Debug, Clone)]
enum Choice {
    Invoice,
    Account { taxed: bool },
    Transfer,
    Group,
}

fn choice() -> impl Strategy<Value = Choice> {
    prop_oneof![
        3 => Just(Choice::Invoice),
        2 => any::<bool>().prop_map(|taxed| Choice::Account { taxed }),
        1 => Just(Choice::Transfer),
        1 => Just(Choice::Group),
    ]
}

/// Every account's balance, and every invoice's remaining amount.
async fn books(tenant: Uuid) -> (Vec<(String, Decimal)>, Vec<(Uuid, Decimal)>) {
    let db = sql().await;
    let balances = db
        .query(
            "SELECT account, sum(debit - credit) FROM entries WHERE tenant_id = $1 GROUP BY account
              HAVING sum(debit - credit) <> 0 ORDER BY account",
            &[&tenant],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let open = db
        .query(
            "SELECT id, total_gross - kontor_invoice_settled(tenant_id, id, NULL) FROM invoices
              WHERE tenant_id = $1 ORDER BY id",
            &[&tenant],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    (balances, open)
}

/// Reconcile + unmatch leaves every account balance and every open item as before, for any
/// mix of open-item payments (full and partial), account bookings with and without tax,
/// transfers and match groups.
#[test]
fn reconcile_then_unmatch_leaves_the_books_as_before() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: 6,
        ..Default::default()
    });
    runner
        .run(
            &proptest::collection::vec((choice(), 1i64..100_000, 1i64..=100), 1..6),
            |steps| {
                runtime.block_on(async {
                    let app = spawn_app().await;
                    let bank = bank_account(app.tenant.id, "1200", "EUR", None).await;
                    let other = bank_account(app.tenant.id, "1210", "EUR", None).await;
                    let (cid, _) = customer(&app, "Prop GmbH").await;
                    // Some history that must survive unchanged.
                    let inv = outgoing(&app, &cid, "P-0", "10.00").await;
                    let before = books(app.tenant.id).await;
                    let mut matched: Vec<Value> = Vec::new();
                    for (n, (c, cents, percent)) in steps.iter().enumerate() {
                        let amount = Decimal::new(*cents, 2);
                        match c {
                            Choice::Invoice => {
                                let i = outgoing(&app, &cid, &format!("P-{}", n + 1), &amount.to_string()).await;
                                let gross = dec_of(&i["total_gross"]);
                                let paid = (gross * Decimal::new(*percent, 2)).round_dp(2).max(Decimal::new(1, 2));
                                let t = bank_tx(&bank, "2026-03-10", &paid.to_string(), json!({})).await;
                                let res = app.post(&reconcile_path(t), json!({"candidate_kind": "outgoing_invoice", "candidate_id": i["id"]})).await;
                                res.expect(200, None);
                                matched.push(json!({"tx": t}));
                            }
                            Choice::Account { taxed } => {
                                let t = bank_tx(&bank, "2026-03-11", &(-amount).to_string(), json!({})).await;
                                let mut body = json!({"candidate_kind": "account", "account": "4210"});
                                if *taxed { body["tax_code"] = json!("VSt19"); }
                                app.post(&reconcile_path(t), body).await.expect(200, None);
                                matched.push(json!({"tx": t}));
                            }
                            Choice::Transfer => {
                                let t = bank_tx(&other, "2026-03-12", &amount.to_string(), json!({})).await;
                                app.post(&reconcile_path(t), json!({"candidate_kind": "transfer"})).await.expect(200, None);
                                matched.push(json!({"tx": t}));
                            }
                            Choice::Group => {
                                let t1 = bank_tx(&bank, "2026-03-13", &(dec_of(&inv["total_gross"]) - Decimal::new(50, 2)).to_string(), json!({})).await;
                                let res = app.post("/v1/bank-match-groups", json!({
                                    "bank_transaction_ids": [t1],
                                    "allocations": [{"candidate_kind": "outgoing_invoice", "candidate_id": inv["id"], "amount": inv["total_gross"]}],
                                    "adjustments": [{"account": "4970", "amount": "-0.50", "reason": "fee"}]
                                })).await;
                                if res.status.as_u16() == 201 {
                                    matched.push(json!({"group": res.body["match_group_id"]}));
                                } else {
                                    // P-0 is settled by an earlier group of this case.
                                    res.expect(409, Some("overpayment"));
                                }
                            }
                        }
                    }
                    for m in matched.iter().rev() {
                        let path = match m.get("group") {
                            Some(g) => format!("/v1/bank-match-groups/{}/unmatch", g.as_str().unwrap()),
                            None => format!("/v1/bank-transactions/{}/unmatch", m["tx"].as_str().unwrap()),
                        };
                        app.post(&path, json!({})).await.expect(200, None);
                    }
                    let after = books(app.tenant.id).await;
                    // New invoices were booked in between: compare the invoices and accounts
                    // as they were, then the new invoices' open items against their gross.
                    let mut expected = before.clone();
                    let new_invoices: Vec<(Uuid, Decimal)> = after.1.iter().filter(|(id, _)| !before.1.iter().any(|(b, _)| b == id)).cloned().collect();
                    let db = sql().await;
                    for (id, open) in &new_invoices {
                        let gross: Decimal = db.query_one("SELECT total_gross FROM invoices WHERE tenant_id = $1 AND id = $2", &[&app.tenant.id, id]).await.unwrap().get(0);
                        prop_assert_eq!(*open, gross, "invoice {} reopened in full", id);
                    }
                    expected.1.extend(new_invoices.iter().cloned());
                    expected.1.sort();
                    let mut got_open = after.1.clone();
                    got_open.sort();
                    prop_assert_eq!(&expected.1, &got_open);
                    // Balances: the new invoices' bookings are the only difference.
                    let invoice_effect = db.query(
                        "SELECT e.account, sum(e.debit - e.credit) FROM entries e JOIN invoices i
                            ON i.tenant_id = e.tenant_id AND i.intent_id = e.intent_id
                          WHERE e.tenant_id = $1 AND i.id = ANY($2) GROUP BY e.account",
                        &[&app.tenant.id, &new_invoices.iter().map(|(id, _)| *id).collect::<Vec<_>>()],
                    ).await.unwrap();
                    let mut want: std::collections::BTreeMap<String, Decimal> = before.0.iter().cloned().collect();
                    for r in &invoice_effect {
                        *want.entry(r.get(0)).or_default() += r.get::<_, Decimal>(1);
                    }
                    want.retain(|_, v| !v.is_zero());
                    let got: std::collections::BTreeMap<String, Decimal> = after.0.iter().cloned().collect();
                    prop_assert_eq!(want, got);
                    Ok(())
                })
            },
        )
        .unwrap();
}

/// End to end through the API only: a bank account and a statement line imported over HTTP,
/// the suggestion for the open item, reconcile, the transaction shows its match, unmatch.
#[tokio::test]
async fn an_imported_line_is_reconciled_and_shows_its_match() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/v1/bank-accounts",
            json!({"name": "Giro", "iban": "DE89370400440532013000", "currency": "EUR"}),
        )
        .await;
    let account = res.expect(201, None)["id"].as_str().unwrap().to_string();
    let (cid, debtor) = customer(&app, "Muster AG").await;
    let inv = outgoing(&app, &cid, "RE-77", "100.00").await;
    let res = app
        .post(
            "/v1/bank-transactions",
            json!({"bank_account_id": account, "transactions": [{
                "booking_date": "2026-03-10", "value_date": "2026-03-10", "amount": "119.00",
                "currency": "EUR", "counterparty_name": "Muster AG",
                "remittance_info": "RE-77", "end_to_end_id": null, "bank_reference": null}]}),
        )
        .await;
    assert_eq!(res.expect(201, None)["imported"], 1);
    let list = app
        .get(&format!("/v1/bank-transactions?bank_account_id={account}"))
        .await;
    let tx = list.expect(200, None)["transactions"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = app
        .get(&format!(
            "/v1/bank-transactions/suggestions?bank_account_id={account}"
        ))
        .await;
    let suggestions = res.expect(200, None).as_array().unwrap().clone();
    let best = suggestions
        .iter()
        .find(|s| s["bank_transaction_id"] == tx.as_str() && s["candidate_id"] == inv["id"])
        .expect("the invoice is suggested")
        .clone();
    assert_eq!(best["candidate_kind"], "outgoing_invoice");
    let res = app
        .post(
            &format!("/v1/bank-transactions/{tx}/reconcile"),
            as_body(&best),
        )
        .await;
    assert_eq!(res.expect(200, None)["mode"], "booked");
    let got = app.get(&format!("/v1/bank-transactions/{tx}")).await;
    let t = got.expect(200, None)["transaction"].clone();
    assert_eq!(t["status"], "matched");
    assert_eq!(t["match"]["mode"], "booked");
    assert_eq!(t["match"]["candidate_kind"], "outgoing_invoice");
    assert_eq!(t["match"]["candidate_id"], inv["id"]);
    assert_eq!(app.balance(&debtor).await, "0.00");
    let count = app.get("/v1/bank-transactions/unreconciled-count").await;
    assert_eq!(count.expect(200, None)["count"], 0);
    app.post(&format!("/v1/bank-transactions/{tx}/unmatch"), json!({}))
        .await
        .expect(200, None);
    let got = app.get(&format!("/v1/bank-transactions/{tx}")).await;
    assert_eq!(got.expect(200, None)["transaction"]["status"], "unmatched");
    assert_eq!(app.balance(&debtor).await, "119.00");
}

/// A customer's credit note refunded by transfer (money out) is suggested and reconciled.
#[tokio::test]
async fn a_refunded_credit_note_is_suggested_and_reconciled() {
    let app = spawn_app().await;
    let bank = bank_account(app.tenant.id, "1200", "EUR", None).await;
    let (cid, debtor) = customer(&app, "Refund GmbH").await;
    let res = app
        .post(
            "/v1/outgoing-invoices",
            json!({"customer_id": cid, "invoice_number": "GS-1", "invoice_date": "2026-03-01",
                   "type": "credit_note",
                   "lines": [{"description": "Return", "unit_price": "100.00", "tax_code": "USt19"}]}),
        )
        .await;
    let note = res.expect(201, None).clone();
    assert_eq!(app.balance(&debtor).await, "-119.00");
    let t = bank_tx(
        &bank,
        "2026-03-05",
        "-119.00",
        json!({"counterparty_name": "Refund GmbH", "remittance_info": "Gutschrift GS-1"}),
    )
    .await;
    let found = suggestions(&app, &bank)
        .await
        .into_iter()
        .find(|s| {
            s["bank_transaction_id"] == t.to_string().as_str() && s["candidate_id"] == note["id"]
        })
        .expect("the credit note is suggested");
    assert_eq!(found["candidate_kind"], "outgoing_invoice");
    let res = app.post(&reconcile_path(t), as_body(&found)).await;
    assert_eq!(res.expect(200, None)["mode"], "booked");
    assert_eq!(app.balance(&debtor).await, "0.00");
    let path = format!("/v1/outgoing-invoices/{}", note["id"].as_str().unwrap());
    assert_eq!(remaining(&app, &path).await, "0.00");
}

#[tokio::test]
async fn match_groups_link_bookings_book_accounts_and_transfers() {
    let app = spawn_app().await;
    let bank = bank_account(app.tenant.id, "1200", "EUR", None).await;
    let other = bank_account(app.tenant.id, "1210", "EUR", None).await;
    // A payment booked by hand, paid by the bank in two parts.
    let paid = app
        .book_ok(transfer("2026-03-05", "4970", "1200", "50.00"))
        .await;
    let p1 = bank_tx(&bank, "2026-03-06", "-30.00", json!({})).await;
    let p2 = bank_tx(&bank, "2026-03-06", "-20.00", json!({})).await;
    let link = |amount: &str| {
        json!({"bank_transaction_ids": [p1, p2],
               "allocations": [{"candidate_kind": "journal_entry", "candidate_id": paid, "amount": amount}]})
    };
    app.post("/v1/bank-match-groups", link("-49.99"))
        .await
        .expect(400, Some("match_not_balanced"));
    let res = app.post("/v1/bank-match-groups", link("-50.00")).await;
    let done = res.expect(201, None).clone();
    assert_eq!(done["mode"], "linked", "{done}");
    assert_eq!(done["intent_id"], paid.as_str());
    assert_eq!(app.balance("1200").await, "-50.00", "nothing booked");
    // The booking is taken: neither a single reconcile nor another group links it again.
    let p3 = bank_tx(&bank, "2026-03-07", "-50.00", json!({})).await;
    app.post(
        &reconcile_path(p3),
        json!({"candidate_kind": "journal_entry", "intent_id": paid}),
    )
    .await
    .expect(409, Some("intent_already_matched"));
    let shown = app.get(&format!("/v1/bank-transactions/{p1}")).await;
    let shown = shown.expect(200, None).clone();
    assert_eq!(shown["transaction"]["status"], "matched", "{shown}");
    // Unmatching a group of links reverses nothing; the booking can be linked again.
    let gid = done["match_group_id"].as_str().unwrap();
    let undone = app
        .post(&format!("/v1/bank-match-groups/{gid}/unmatch"), json!({}))
        .await;
    assert_eq!(undone.expect(200, None)["reversal_intent_id"], Value::Null);
    assert_eq!(app.balance("1200").await, "-50.00");
    app.post(
        &reconcile_path(p3),
        json!({"candidate_kind": "journal_entry", "intent_id": paid}),
    )
    .await
    .expect(200, None);
    app.post(&format!("/v1/bank-transactions/{p3}/unmatch"), json!({}))
        .await
        .expect(200, None);

    // A mixed group: the hand-booked payment linked, a fee to an account, money from the
    // other own bank account through money in transit.
    let fee = bank_tx(&bank, "2026-03-08", "-10.00", json!({})).await;
    let incoming = bank_tx(&bank, "2026-03-08", "1000.00", json!({})).await;
    let sent = bank_tx(&other, "2026-03-07", "-1000.00", json!({})).await;
    let mixed = |transfer_id: Value| {
        json!({"bank_transaction_ids": [p1, p2, fee, incoming],
               "allocations": [
                   {"candidate_kind": "journal_entry", "candidate_id": paid, "amount": "-50.00"},
                   {"candidate_kind": "account", "candidate_id": "4970", "amount": "-10.00"},
                   {"candidate_kind": "transfer", "candidate_id": transfer_id, "amount": "1000.00"}]})
    };
    app.post("/v1/bank-match-groups", mixed(json!(p1)))
        .await
        .expect(400, Some("transfer_same_account"));
    app.post("/v1/bank-match-groups", mixed(json!(Uuid::now_v7())))
        .await
        .expect(404, Some("not_found"));
    let res = app.post("/v1/bank-match-groups", mixed(json!(sent))).await;
    let done = res.expect(201, None).clone();
    assert_eq!(done["mode"], "booked", "{done}");
    assert_ne!(done["intent_id"], paid.as_str());
    // The bank's ledger account moves by the bank's 940.00 in all: 50 were booked already.
    assert_eq!(app.balance("1200").await, "940.00");
    assert_eq!(app.balance("4970").await, "60.00");
    assert_eq!(app.balance("1360").await, "-1000.00");
    // The transfer's other half clears money in transit.
    app.post(
        &reconcile_path(sent),
        json!({"candidate_kind": "transfer", "candidate_id": incoming}),
    )
    .await
    .expect(200, None);
    assert_eq!(app.balance("1360").await, "0.00");
    // Unmatching reverses the group's booking and frees the linked one.
    let gid = done["match_group_id"].as_str().unwrap();
    let undone = app
        .post(&format!("/v1/bank-match-groups/{gid}/unmatch"), json!({}))
        .await;
    assert!(undone.expect(200, None)["reversal_intent_id"].is_string());
    assert_eq!(app.balance("1200").await, "-50.00");
    assert_eq!(app.balance("4970").await, "50.00");

    // Refusals of journal_entry allocations.
    let twice = json!({"bank_transaction_ids": [p1, p2, p3],
        "allocations": [
            {"candidate_kind": "journal_entry", "candidate_id": paid, "amount": "-50.00"},
            {"candidate_kind": "journal_entry", "candidate_id": paid, "amount": "-50.00"}]});
    app.post("/v1/bank-match-groups", twice)
        .await
        .expect(400, Some("invalid_field"));
    let elsewhere = app
        .book_ok(transfer("2026-03-05", "4970", "1000", "50.00"))
        .await;
    let off_ledger = json!({"bank_transaction_ids": [p3],
        "allocations": [{"candidate_kind": "journal_entry", "candidate_id": elsewhere, "amount": "-50.00"}]});
    app.post("/v1/bank-match-groups", off_ledger)
        .await
        .expect(400, Some("not_on_bank_account"));
    let no_account = json!({"bank_transaction_ids": [p3],
        "allocations": [{"candidate_kind": "account", "candidate_id": " ", "amount": "-50.00"}]});
    app.post("/v1/bank-match-groups", no_account)
        .await
        .expect(400, Some("invalid_field"));
    let unknown_account = json!({"bank_transaction_ids": [p3],
        "allocations": [{"candidate_kind": "account", "candidate_id": "9999999", "amount": "-50.00"}]});
    app.post("/v1/bank-match-groups", unknown_account)
        .await
        .expect(400, Some("unknown_account"));
    // Nothing of the refused groups was written.
    assert_eq!(app.balance("1200").await, "-50.00");
}

#[tokio::test]
async fn match_groups_on_foreign_currency_accounts_convert_at_one_rate() {
    let app = spawn_app().await;
    let usd = bank_account(app.tenant.id, "1210", "USD", None).await;
    let (cid, debtor) = customer(&app, "Acme Inc.").await;
    let inv = outgoing(&app, &cid, "FX-1", "100.00").await; // 119.00 EUR
                                                            // Two payments in dollars, the statement's rate on both.
    let rated = json!({"currency": "USD", "fx_rate": "1.085"});
    let t1 = bank_tx(&usd, "2026-03-05", "100.00", rated.clone()).await;
    let t2 = bank_tx(&usd, "2026-03-06", "29.12", rated).await;
    let group = json!({"bank_transaction_ids": [t1, t2],
        "allocations": [{"candidate_kind": "outgoing_invoice", "candidate_id": inv["id"], "amount": "129.12"}]});
    let res = app.post("/v1/bank-match-groups", group).await;
    res.expect(201, None);
    // 129.12 USD at 1.085 = 119.00 EUR: the invoice is paid.
    let path = format!("/v1/outgoing-invoices/{}", inv["id"].as_str().unwrap());
    assert_eq!(remaining(&app, &path).await, "0.00");
    assert_eq!(app.balance("1210").await, "119.00");
    assert_eq!(app.balance(&debtor).await, "0.00");
    // Different rates on the transactions: the request must choose one.
    let t3 = bank_tx(
        &usd,
        "2026-03-07",
        "-11.00",
        json!({"currency": "USD", "fx_rate": "1.1"}),
    )
    .await;
    let t4 = bank_tx(
        &usd,
        "2026-03-07",
        "-12.00",
        json!({"currency": "USD", "fx_rate": "1.2"}),
    )
    .await;
    let mut fees = json!({"bank_transaction_ids": [t3, t4],
        "adjustments": [{"account": "4970", "amount": "-23.00", "reason": "Fees"}]});
    app.post("/v1/bank-match-groups", fees.clone())
        .await
        .expect(400, Some("fx_rate_required"));
    fees["fx_rate"] = json!("0");
    app.post("/v1/bank-match-groups", fees.clone())
        .await
        .expect(400, Some("invalid_fx_rate"));
    fees["fx_rate"] = json!("1.15");
    app.post("/v1/bank-match-groups", fees)
        .await
        .expect(201, None);
    assert_eq!(app.balance("4970").await, "20.00");
    assert_eq!(app.balance("1210").await, "99.00");
}
