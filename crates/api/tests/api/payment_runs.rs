//! Payment runs (issue 11) over HTTP: eligible invoices, the state machine with every refusal,
//! four eyes, the SEPA file validated against the ISO XSD with xmllint, completion (bookings
//! with Skonto and its VAT correction, applied to the open items), cancellation, netting and
//! batching, concurrency, scopes, tenants and hostile bodies.

use crate::common::*;
use crate::helpers::*;
use chrono::{Duration, NaiveDate, Utc};
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;
use uuid::Uuid;

const BANK_IBAN: &str = "DE44500105175407324931";
const IBAN_A: &str = "DE89370400440532013000";
const IBAN_B: &str = "DE02120300000000202051";

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

fn day(offset: i64) -> String {
    (today() + Duration::days(offset)).to_string()
}

/// A bank account of the tenant (its endpoints are another issue's): written directly.
async fn bank_account(app: &TestApp, iban: Option<&str>, currency: &str, ledger: &str) -> String {
    let id = Uuid::now_v7();
    sql()
        .await
        .execute(
            "INSERT INTO bank_accounts (tenant_id, id, name, iban, bic, currency, ledger_account, created_by)
             VALUES ($1, $2, 'Hausbank', $3, 'COBADEFFXXX', $4, $5, '{\"kind\":\"system\",\"id\":\"test\"}')",
            &[&app.tenant.id, &id, &iban, &currency, &ledger],
        )
        .await
        .expect("bank account");
    id.to_string()
}

async fn eur_bank(app: &TestApp) -> String {
    bank_account(app, Some(BANK_IBAN), "EUR", "1200").await
}

/// A vendor with an IBAN (or none); returns (id, creditor account).
async fn vendor(app: &TestApp, name: &str, iban: Option<&str>) -> (String, String) {
    let mut body = json!({"name": name});
    if let Some(i) = iban {
        body["iban"] = json!(i);
    }
    let res = app.post("/v1/vendors", body).await;
    let v = res.expect(201, None);
    (
        v["id"].as_str().unwrap().to_string(),
        v["account_number"].as_str().unwrap().to_string(),
    )
}

/// An incoming invoice (or credit note) of `net` at VSt19, dated `date`, due `due`.
async fn incoming(
    app: &TestApp,
    vendor_id: &str,
    number: &str,
    date: &str,
    due: &str,
    net: &str,
    credit_note: bool,
) -> String {
    let res = app
        .post(
            "/v1/invoices",
            json!({
                "vendor_id": vendor_id, "invoice_number": number, "invoice_date": date, "due_date": due,
                "type": if credit_note { "credit_note" } else { "invoice" },
                "lines": [{"description": "Material", "unit_price": net, "tax_code": "VSt19", "account": "3400"}]
            }),
        )
        .await;
    res.expect(201, None)["id"].as_str().unwrap().to_string()
}

/// An incoming invoice of `net` at VSt19 with cash-discount terms: `percent` within `days`.
async fn incoming_with_skonto(
    app: &TestApp,
    vendor_id: &str,
    number: &str,
    date: &str,
    due: &str,
    net: &str,
    (percent, days): (&str, i64),
) -> String {
    let res = app
        .post(
            "/v1/invoices",
            json!({
                "vendor_id": vendor_id, "invoice_number": number, "invoice_date": date, "due_date": due,
                "cash_discount_percent": percent, "cash_discount_days": days,
                "lines": [{"description": "Material", "unit_price": net, "tax_code": "VSt19", "account": "3400"}]
            }),
        )
        .await;
    res.expect(201, None)["id"].as_str().unwrap().to_string()
}

fn run_body(bank: &str, ids: &[&str]) -> Value {
    json!({"bank_account_id": bank, "execution_date": day(1), "invoice_ids": ids, "label": "Zahllauf"})
}

async fn create_run(app: &TestApp, body: Value) -> Value {
    app.post("/v1/payment-runs", body)
        .await
        .expect(201, None)
        .clone()
}

/// The same tenant's second principal: four eyes need one.
async fn approver(app: &TestApp) -> String {
    app.key_with_scopes(&["payments:read", "payments:write"])
        .await
}

async fn post_as(app: &TestApp, key: &str, path: &str) -> Res {
    app.send(Method::POST, path, Some(key), None).await
}

fn xsd(version: &str) -> Option<PathBuf> {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/xsd"
    ))
    .join(format!("{version}.xsd"));
    if path.is_file() {
        Some(path)
    } else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "skipped XSD validation: ../shared/fixtures/xsd missing ({})",
            path.display()
        );
        None
    }
}

/// Validates an exported file against the ISO XSD of its version with xmllint; `Some(false)`
/// when it does not validate, `None` when the schema is missing (the skip is printed).
fn xmllint(xml: &str, version: &str) -> Option<Result<(), String>> {
    let schema = xsd(version)?;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("api-payment-runs");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{}.xml", Uuid::now_v7()));
    std::fs::write(&file, xml).unwrap();
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(&file)
        .output()
        .expect("xmllint (libxml2-utils) must be installed");
    Some(if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    })
}

#[track_caller]
fn assert_valid(xml: &str, version: &str) {
    if let Some(Err(e)) = xmllint(xml, version) {
        panic!("the exported file does not validate against {version}: {e}\n{xml}");
    }
}

/// The texts of every `<tag>…</tag>` (one element per line in the writer's output).
fn texts(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    xml.lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l.strip_prefix(&open)?;
            Some(rest.strip_suffix(&close)?.to_string())
        })
        .collect()
}

async fn intent_metadata(intent_id: &str) -> Value {
    let id: Uuid = intent_id.parse().unwrap();
    sql()
        .await
        .query_one(
            "SELECT custom_metadata FROM intents WHERE intent_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get::<_, Option<Value>>(0)
        .unwrap_or(Value::Null)
}

async fn intent_count(app: &TestApp) -> i64 {
    sql()
        .await
        .query_one(
            "SELECT count(*) FROM intents WHERE tenant_id = $1",
            &[&app.tenant.id],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_run_goes_from_draft_through_export_to_completion_with_skonto() {
    let app = spawn_app().await;
    let bank = eur_bank(&app).await;
    let (va, creditor_a) = vendor(&app, "Müller & Söhne Großhandel GmbH", Some(IBAN_A)).await;
    let (vb, creditor_b) = vendor(&app, "Bürobedarf Weiß KG", Some(IBAN_B)).await;
    let a1 = incoming_with_skonto(
        &app,
        &va,
        "RE-2026/001",
        &day(-2),
        &day(3),
        "100.00",
        ("2", 10),
    )
    .await;
    let b1 = incoming(&app, &vb, "B-77", &day(-5), &day(5), "50.00", false).await;
    let late = incoming(&app, &vb, "B-78", &day(-1), &day(30), "10.00", false).await;

    // Eligible: due within a week, with the Skonto offered and what a run would pay.
    let res = app
        .get(&format!(
            "/v1/payment-runs/eligible-invoices?execution_date={}",
            day(1)
        ))
        .await;
    let list = res.expect(200, None).as_array().unwrap().clone();
    assert_eq!(res.headers["x-total-count"], "2");
    let ids: Vec<&str> = list
        .iter()
        .map(|e| e["invoice_id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&a1.as_str()) && ids.contains(&b1.as_str()));
    assert!(
        !ids.contains(&late.as_str()),
        "due in 30 days is not due within 7"
    );
    let ea = list
        .iter()
        .find(|e| e["invoice_id"] == a1.as_str())
        .unwrap();
    assert_eq!(ea["remaining_amount"], "119.00");
    assert_eq!(ea["skonto_amount"], "2.38");
    assert_eq!(ea["skonto_deadline"], day(8));
    assert_eq!(ea["payable_amount"], "116.62");
    assert_eq!(ea["vendor_name"], "Müller & Söhne Großhandel GmbH");
    let eb = list
        .iter()
        .find(|e| e["invoice_id"] == b1.as_str())
        .unwrap();
    assert!(eb["skonto_amount"].is_null());
    assert_eq!(eb["payable_amount"], "59.50");
    // due_before widens the window.
    let res = app
        .get(&format!(
            "/v1/payment-runs/eligible-invoices?due_before={}",
            day(31)
        ))
        .await;
    assert_eq!(res.expect(200, None).as_array().unwrap().len(), 3);

    // Draft: one payment per invoice, Skonto taken within its deadline.
    let run = create_run(&app, run_body(&bank, &[&a1, &b1])).await;
    let run_id = run["id"].as_str().unwrap().to_string();
    assert_eq!(run["status"], "draft");
    assert_eq!(run["label"], "Zahllauf");
    assert_eq!(run["bank_account_id"], bank.as_str());
    assert_eq!(run["execution_date"], day(1));
    assert_eq!(run["total_amount"], "176.12");
    assert_eq!(run["invoice_count"], 2);
    assert_eq!(run["transaction_count"], 2);
    let items = run["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let ia = items
        .iter()
        .find(|i| i["invoice_id"] == a1.as_str())
        .unwrap();
    assert_eq!(ia["amount"], "116.62");
    assert_eq!(ia["discount"], "2.38");
    assert_eq!(ia["vendor_id"], va.as_str());
    assert_eq!(ia["invoice_number"], "RE-2026/001");
    let e2e_a = ia["end_to_end_id"].as_str().unwrap().to_string();
    // In an active run, the invoices are no longer eligible.
    let res = app.get("/v1/payment-runs/eligible-invoices").await;
    assert_eq!(res.expect(200, None).as_array().unwrap().len(), 0);

    // The state machine: nothing before approval; the creator cannot approve.
    let path = format!("/v1/payment-runs/{run_id}");
    app.post(&format!("{path}/export"), json!({}))
        .await
        .expect(409, Some("invalid_transition"));
    app.post(&format!("{path}/complete"), json!({}))
        .await
        .expect(409, Some("invalid_transition"));
    app.get(&format!("{path}/file"))
        .await
        .expect(409, Some("not_exported"));
    app.post(&format!("{path}/approve"), json!({}))
        .await
        .expect(409, Some("four_eyes"));
    let second = approver(&app).await;
    let approved = post_as(&app, &second, &format!("{path}/approve")).await;
    let approved = approved.expect(200, None);
    assert_eq!(approved["status"], "approved");
    assert!(approved["approved_by"]
        .as_str()
        .unwrap()
        .starts_with("api_key:"));
    post_as(&app, &second, &format!("{path}/approve"))
        .await
        .expect(409, Some("invalid_transition"));
    app.post(&format!("{path}/complete"), json!({}))
        .await
        .expect(409, Some("invalid_transition"));

    // Export: pain.001.001.09, valid against the ISO schema, stored and replayed.
    let res = app.post(&format!("{path}/export"), json!({})).await;
    let ex = res.expect(200, None).clone();
    assert_eq!(ex["run"]["status"], "exported");
    assert_eq!(ex["pain_version"], "pain.001.001.09");
    assert_eq!(ex["number_of_transactions"], 2);
    assert_eq!(ex["control_sum"], "176.12");
    let xml = ex["sepa_xml"].as_str().unwrap().to_string();
    assert_valid(&xml, "pain.001.001.09");
    assert!(xml.contains("urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"));
    assert_eq!(
        texts(&xml, "MsgId"),
        vec![ex["message_id"].as_str().unwrap()]
    );
    assert_eq!(texts(&xml, "CtrlSum")[0], "176.12");
    assert_eq!(texts(&xml, "BtchBookg"), vec!["false"]);
    assert!(texts(&xml, "EndToEndId").contains(&e2e_a));
    assert!(texts(&xml, "Ustrd").contains(&"RE-2026/001".to_string()));
    // The debtor is the tenant with the bank account's IBAN; names in the SEPA set.
    assert!(texts(&xml, "Nm").contains(&"Test GmbH".to_string()));
    assert!(texts(&xml, "IBAN").contains(&BANK_IBAN.to_string()));
    assert!(texts(&xml, "Nm").contains(&"Mueller + Soehne Grosshandel GmbH".to_string()));
    let again = app
        .post(&format!("{path}/export?version=03"), json!({}))
        .await;
    assert_eq!(
        again.expect(200, None)["sepa_xml"],
        xml.as_str(),
        "replayed"
    );
    let file = app.get(&format!("{path}/file")).await;
    file.expect(200, None);
    assert_eq!(file.bytes, xml.as_bytes());
    assert!(file.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/xml"));
    let cd = file.headers["content-disposition"].to_str().unwrap();
    assert!(cd.starts_with("attachment") && cd.contains(".xml"), "{cd}");

    // Complete: one booking per payment, applied to the open items.
    let before_bank = dec(&app.balance("1200").await);
    let done = app.post(&format!("{path}/complete"), json!({})).await;
    let done = done.expect(200, None).clone();
    assert_eq!(done["status"], "completed");
    assert!(done["completed_at"].is_string());
    let pays = done["payments"].as_array().unwrap();
    assert!(pays.iter().all(|p| p["intent_id"].is_string()));
    assert_eq!(
        dec(&app.balance("1200").await) - before_bank,
        dec("-176.12")
    );
    assert_eq!(app.balance(&creditor_a).await, "0.00");
    // B-78 (11.90) was not in the run.
    assert_eq!(app.balance(&creditor_b).await, "-11.90");
    // Skonto: 2.00 net on the discount account, 0.38 input VAT corrected.
    assert_eq!(app.balance("3736").await, "-2.00");
    assert_eq!(
        dec(&app.balance("1576").await),
        // The input VAT of the three invoices (B-78 too), less the correction.
        dec("19.00") + dec("9.50") + dec("1.90") - dec("0.38")
    );
    for inv in [&a1, &b1] {
        let i = app.get(&format!("/v1/invoices/{inv}")).await;
        let i = i.expect(200, None);
        assert_eq!(i["status"], "paid", "{i}");
        assert_eq!(i["remaining_amount"], "0.00");
    }
    let res = app.get("/v1/invoices/open-items").await;
    let open: Vec<Value> = res.expect(200, None).as_array().unwrap().clone();
    assert!(open
        .iter()
        .all(|o| o["invoice_id"] != a1.as_str() && o["invoice_id"] != b1.as_str()));
    assert!(open.iter().any(|o| o["invoice_id"] == late.as_str()));
    // Payment plus discount: two applications with the same booking.
    let a1_id: Uuid = a1.parse().unwrap();
    let rows = sql()
        .await
        .query(
            "SELECT kind, amount, counter_account, intent_id FROM open_item_applications
              WHERE invoice_id = $1 ORDER BY kind DESC",
            &[&a1_id],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].get::<_, String>("kind"), "payment");
    assert_eq!(rows[0].get::<_, Decimal>("amount"), dec("116.62"));
    assert_eq!(rows[0].get::<_, String>("counter_account"), "1200");
    assert_eq!(rows[1].get::<_, String>("kind"), "discount");
    assert_eq!(rows[1].get::<_, Decimal>("amount"), dec("2.38"));
    assert_eq!(rows[1].get::<_, String>("counter_account"), "3736");
    assert_eq!(
        rows[0].get::<_, Uuid>("intent_id"),
        rows[1].get::<_, Uuid>("intent_id")
    );
    // The booking carries the end-to-end id and the run (bank reconciliation finds it so).
    let pa = pays
        .iter()
        .find(|p| p["end_to_end_id"] == e2e_a.as_str())
        .unwrap();
    let meta = intent_metadata(pa["intent_id"].as_str().unwrap()).await;
    assert_eq!(meta["end_to_end_id"], e2e_a.as_str());
    assert_eq!(meta["payment_run_id"], run_id.as_str());

    // A completed run is final.
    for action in ["cancel", "complete", "approve", "export"] {
        post_as(&app, &second, &format!("{path}/{action}"))
            .await
            .expect(409, Some("invalid_transition"));
    }
    let got = app.get(&path).await;
    assert_eq!(got.expect(200, None)["status"], "completed");
    // Listed with a status filter, without items.
    let res = app.get("/v1/payment-runs?status=completed").await;
    let l = res.expect(200, None).as_array().unwrap().clone();
    assert_eq!(l.len(), 1);
    assert!(l[0].get("items").is_none());
    assert_eq!(res.headers["x-total-count"], "1");
    let res = app.get("/v1/payment-runs?status=draft,approved").await;
    assert_eq!(res.expect(200, None).as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn cancelling_releases_the_invoices_and_books_nothing() {
    let app = spawn_app().await;
    let bank = eur_bank(&app).await;
    let (v, _) = vendor(&app, "Lieferant", Some(IBAN_A)).await;
    let inv = incoming(&app, &v, "L-1", &day(-3), &day(2), "40.00", false).await;
    let second = approver(&app).await;
    // From draft, approved and exported alike.
    for upto in ["draft", "approved", "exported"] {
        let run = create_run(&app, run_body(&bank, &[&inv])).await;
        let path = format!("/v1/payment-runs/{}", run["id"].as_str().unwrap());
        if upto != "draft" {
            post_as(&app, &second, &format!("{path}/approve"))
                .await
                .expect(200, None);
        }
        if upto == "exported" {
            let ex = app
                .post(&format!("{path}/export?version=03"), json!({}))
                .await;
            let ex = ex.expect(200, None);
            assert_eq!(ex["pain_version"], "pain.001.001.03");
            assert_valid(ex["sepa_xml"].as_str().unwrap(), "pain.001.001.03");
        }
        let intents = intent_count(&app).await;
        let res = app.post(&format!("{path}/cancel"), json!({})).await;
        let c = res.expect(200, None);
        assert_eq!(c["status"], "cancelled");
        assert!(c["cancelled_at"].is_string());
        assert_eq!(intent_count(&app).await, intents, "cancel books nothing");
        app.post(&format!("{path}/cancel"), json!({}))
            .await
            .expect(409, Some("invalid_transition"));
        app.post(&format!("{path}/complete"), json!({}))
            .await
            .expect(409, Some("invalid_transition"));
        // Released: eligible again.
        let res = app.get("/v1/payment-runs/eligible-invoices").await;
        assert_eq!(res.expect(200, None).as_array().unwrap().len(), 1);
    }
    let i = app.get(&format!("/v1/invoices/{inv}")).await;
    assert_eq!(i.expect(200, None)["remaining_amount"], "47.60");
}

#[tokio::test]
async fn creating_a_run_refuses_by_rule() {
    let app = spawn_app().await;
    let bank = eur_bank(&app).await;
    let (v, _) = vendor(&app, "Mit IBAN", Some(IBAN_A)).await;
    let (nv, _) = vendor(&app, "Ohne IBAN", None).await;
    let inv = incoming(&app, &v, "R-1", &day(-3), &day(2), "100.00", false).await;
    let other = incoming(&app, &v, "R-2", &day(-3), &day(2), "10.00", false).await;
    let no_iban = incoming(&app, &nv, "N-1", &day(-3), &day(2), "10.00", false).await;

    let refuse = async |body: Value, status: u16, code: &str| {
        let res = app.post("/v1/payment-runs", body).await;
        res.expect(status, Some(code)).clone()
    };
    refuse(run_body(&bank, &[&no_iban]), 400, "vendor_without_iban").await;
    // An outgoing invoice is not an open incoming invoice.
    let (c, _) = crate::partners::customer(&app, "Kunde").await;
    let out = app
        .post(
            "/v1/outgoing-invoices",
            json!({"customer_id": c, "invoice_number": "A-1", "invoice_date": day(-1),
                   "lines": [{"unit_price": "10", "tax_code": "USt19"}]}),
        )
        .await;
    let out = out.expect(201, None)["id"].as_str().unwrap().to_string();
    refuse(run_body(&bank, &[&out]), 409, "invoice_not_open").await;
    // Paid in full: not open.
    let paid = incoming(&app, &v, "R-3", &day(-3), &day(2), "5.00", false).await;
    app.store
        .apply_payment(
            app.tenant.id,
            paid.parse().unwrap(),
            dec("5.95"),
            today(),
            None,
            &journal::Actor::system("test"),
        )
        .await
        .unwrap();
    refuse(run_body(&bank, &[&paid]), 409, "invoice_not_open").await;
    let mut body = run_body(&bank, &[&inv]);
    body["amounts"] = json!([{"invoice_id": inv, "amount": "119.01"}]);
    refuse(body.clone(), 409, "amount_exceeds_open").await;
    body["amounts"] = json!([{"invoice_id": inv, "amount": "0"}]);
    refuse(body.clone(), 400, "invalid_amount").await;
    body["amounts"] = json!([{"invoice_id": other, "amount": "1"}]);
    refuse(body, 400, "unknown_invoice").await;
    let mut body = run_body(&bank, &[&inv]);
    body["execution_date"] = json!(day(-1));
    refuse(body, 400, "execution_date_in_past").await;
    let no_iban_bank = bank_account(&app, None, "EUR", "1210").await;
    refuse(
        run_body(&no_iban_bank, &[&inv]),
        400,
        "bank_account_without_iban",
    )
    .await;
    let usd = bank_account(&app, Some(IBAN_B), "USD", "1000").await;
    refuse(run_body(&usd, &[&inv]), 400, "unsupported_currency").await;
    refuse(
        run_body(&Uuid::now_v7().to_string(), &[&inv]),
        400,
        "unknown_bank_account",
    )
    .await;
    refuse(
        run_body(&bank, &[&Uuid::now_v7().to_string()]),
        400,
        "unknown_invoice",
    )
    .await;
    refuse(run_body(&bank, &[&inv, &inv]), 400, "duplicate_invoice").await;
    refuse(run_body(&bank, &[]), 400, "empty_run").await;
    // Nothing of that wrote a run.
    let res = app.get("/v1/payment-runs").await;
    assert_eq!(res.expect(200, None).as_array().unwrap().len(), 0);

    // In an active run: the second run is refused, naming the first.
    let first = create_run(&app, run_body(&bank, &[&inv])).await;
    let first_id = first["id"].as_str().unwrap();
    let e = refuse(
        run_body(&bank, &[&other, &inv]),
        409,
        "invoice_in_active_run",
    )
    .await;
    assert!(e["error"].as_str().unwrap().contains(first_id), "{e}");
    assert_eq!(
        e["details"]["field_errors"]["invoice_ids"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn two_runs_claiming_one_invoice_at_once_get_one_conflict_naming_the_other() {
    let app = spawn_app().await;
    let bank = eur_bank(&app).await;
    let (v, _) = vendor(&app, "Lieferant", Some(IBAN_A)).await;
    let inv = incoming(&app, &v, "C-1", &day(-3), &day(2), "100.00", false).await;
    for _ in 0..3 {
        let (r1, r2) = tokio::join!(
            app.post("/v1/payment-runs", run_body(&bank, &[&inv])),
            app.post("/v1/payment-runs", run_body(&bank, &[&inv])),
        );
        let (won, lost) = match (r1.status.as_u16(), r2.status.as_u16()) {
            (201, 409) => (r1, r2),
            (409, 201) => (r2, r1),
            other => panic!(
                "expected one 201 and one 409, got {other:?}: {} {}",
                r1.body, r2.body
            ),
        };
        lost.expect(409, Some("invoice_in_active_run"));
        let won_id = won.body["id"].as_str().unwrap();
        assert!(
            lost.body["error"].as_str().unwrap().contains(won_id),
            "{}",
            lost.body
        );
        app.post(&format!("/v1/payment-runs/{won_id}/cancel"), json!({}))
            .await
            .expect(200, None);
    }
}

#[tokio::test]
async fn credit_notes_are_netted_and_vendors_batched() {
    let app = spawn_app().await;
    let bank = eur_bank(&app).await;
    let (va, creditor_a) = vendor(&app, "Netto AG", Some(IBAN_A)).await;
    let (vb, _) = vendor(&app, "Stapel GmbH", Some(IBAN_B)).await;
    let a1 = incoming(&app, &va, "NA-1", &day(-3), &day(2), "100.00", false).await;
    let a2 = incoming(&app, &va, "NA-2", &day(-3), &day(2), "50.00", false).await;
    let cn = incoming(&app, &va, "NA-G1", &day(-2), &day(-2), "20.00", true).await;
    let b1 = incoming(&app, &vb, "SB-1", &day(-3), &day(2), "10.00", false).await;
    let b2 = incoming(&app, &vb, "SB-2", &day(-3), &day(2), "20.00", false).await;
    let mut body = run_body(&bank, &[&a1, &a2, &b1, &b2]);
    body["batch_by_vendor"] = json!(true);
    let run = create_run(&app, body).await;
    // 119 + 59.50 - 23.80 for A, 11.90 + 23.80 for B: two payments.
    assert_eq!(run["total_amount"], "190.40");
    assert_eq!(run["invoice_count"], 4);
    assert_eq!(run["transaction_count"], 2);
    let items = run["items"].as_array().unwrap();
    let c = items
        .iter()
        .find(|i| i["invoice_id"] == cn.as_str())
        .unwrap();
    assert_eq!(c["invoice_type"], "credit_note");
    assert_eq!(c["amount"], "-23.80");
    let pays = run["payments"].as_array().unwrap();
    let pa = pays.iter().find(|p| p["vendor_id"] == va.as_str()).unwrap();
    assert_eq!(pa["amount"], "154.70");
    assert_eq!(pa["remittance"], "NA-1, NA-2, NA-G1");
    let path = format!("/v1/payment-runs/{}", run["id"].as_str().unwrap());
    let second = approver(&app).await;
    post_as(&app, &second, &format!("{path}/approve"))
        .await
        .expect(200, None);
    let ex = post_as(&app, &second, &format!("{path}/export")).await;
    let ex = ex.expect(200, None);
    assert_eq!(ex["number_of_transactions"], 2);
    assert_valid(ex["sepa_xml"].as_str().unwrap(), "pain.001.001.09");
    let done = post_as(&app, &second, &format!("{path}/complete")).await;
    done.expect(200, None);
    // The vendor's account is settled, credit note included.
    assert_eq!(app.balance(&creditor_a).await, "0.00");
    for id in [&a1, &a2, &cn, &b1, &b2] {
        let i = app.get(&format!("/v1/invoices/{id}")).await;
        assert_eq!(i.expect(200, None)["remaining_amount"], "0.00", "{id}");
    }

    // A vendor whose credit notes outweigh its invoices is left out, with the reason.
    let (vc, _) = vendor(&app, "Gutschrift GmbH", Some(IBAN_B)).await;
    let c1 = incoming(&app, &vc, "GC-1", &day(-3), &day(2), "10.00", false).await;
    incoming(&app, &vc, "GC-G", &day(-3), &day(-3), "30.00", true).await;
    let a3 = incoming(&app, &va, "NA-3", &day(-3), &day(2), "10.00", false).await;
    let run = create_run(&app, run_body(&bank, &[&c1, &a3])).await;
    assert_eq!(run["invoice_count"], 1);
    let excluded = run["excluded"].as_array().unwrap();
    assert!(excluded
        .iter()
        .any(|e| e["invoice_id"] == c1.as_str() && e["reason"] == "net_not_positive"));
}

#[tokio::test]
async fn completion_is_refused_when_an_invoice_was_paid_meanwhile() {
    let app = spawn_app().await;
    let bank = eur_bank(&app).await;
    let (v, _) = vendor(&app, "Lieferant", Some(IBAN_A)).await;
    let inv = incoming(&app, &v, "P-1", &day(-3), &day(2), "100.00", false).await;
    let run = create_run(&app, run_body(&bank, &[&inv])).await;
    let path = format!("/v1/payment-runs/{}", run["id"].as_str().unwrap());
    let second = approver(&app).await;
    post_as(&app, &second, &format!("{path}/approve"))
        .await
        .expect(200, None);
    app.post(&format!("{path}/export"), json!({}))
        .await
        .expect(200, None);
    // Paid in part outside the run.
    let inv_id: Uuid = inv.parse().unwrap();
    app.store
        .apply_payment(
            app.tenant.id,
            inv_id,
            dec("10.00"),
            today(),
            None,
            &journal::Actor::system("test"),
        )
        .await
        .unwrap();
    let intents = intent_count(&app).await;
    app.post(&format!("{path}/complete"), json!({}))
        .await
        .expect(409, Some("amount_exceeds_open"));
    assert_eq!(intent_count(&app).await, intents, "nothing booked");
    let got = app.get(&path).await;
    assert_eq!(got.expect(200, None)["status"], "exported");
}

#[tokio::test]
async fn payment_runs_need_keys_scopes_and_their_own_tenant() {
    let app = spawn_app().await;
    let bank = eur_bank(&app).await;
    let (v, _) = vendor(&app, "Lieferant", Some(IBAN_A)).await;
    let inv = incoming(&app, &v, "S-1", &day(-3), &day(2), "100.00", false).await;
    let run = create_run(&app, run_body(&bank, &[&inv])).await;
    let id = run["id"].as_str().unwrap();
    // No credentials.
    for (m, p) in [
        (Method::GET, "/v1/payment-runs".to_string()),
        (
            Method::GET,
            "/v1/payment-runs/eligible-invoices".to_string(),
        ),
        (Method::POST, "/v1/payment-runs".to_string()),
        (Method::GET, format!("/v1/payment-runs/{id}")),
        (Method::POST, format!("/v1/payment-runs/{id}/approve")),
        (Method::POST, format!("/v1/payment-runs/{id}/export")),
        (Method::GET, format!("/v1/payment-runs/{id}/file")),
        (Method::POST, format!("/v1/payment-runs/{id}/complete")),
        (Method::POST, format!("/v1/payment-runs/{id}/cancel")),
    ] {
        app.send(m, &p, None, None).await.expect(401, None);
    }
    // Read scope only: reads work, writes are 403; another resource's scope: 403.
    let reader = app.key_with_scopes(&["payments:read"]).await;
    app.send(
        Method::GET,
        &format!("/v1/payment-runs/{id}"),
        Some(&reader),
        None,
    )
    .await
    .expect(200, None);
    for action in ["approve", "cancel", "export", "complete"] {
        post_as(&app, &reader, &format!("/v1/payment-runs/{id}/{action}"))
            .await
            .expect(403, Some("scope_missing"));
    }
    app.send(
        Method::POST,
        "/v1/payment-runs",
        Some(&reader),
        Some(&run_body(&bank, &[&inv])),
    )
    .await
    .expect(403, Some("scope_missing"));
    let invoices_only = app
        .key_with_scopes(&["invoices:read", "invoices:write"])
        .await;
    app.send(Method::GET, "/v1/payment-runs", Some(&invoices_only), None)
        .await
        .expect(403, Some("scope_missing"));
    // Another tenant sees nothing of it, and cannot use its bank account or invoices.
    let other = as_tenant(&app, app.other_tenant().await);
    other
        .get(&format!("/v1/payment-runs/{id}"))
        .await
        .expect(404, Some("not_found"));
    other
        .get(&format!("/v1/payment-runs/{id}/file"))
        .await
        .expect(404, Some("not_found"));
    for action in ["approve", "cancel", "export", "complete"] {
        other
            .post(&format!("/v1/payment-runs/{id}/{action}"), json!({}))
            .await
            .expect(404, Some("not_found"));
    }
    let res = other.get("/v1/payment-runs").await;
    assert_eq!(res.expect(200, None).as_array().unwrap().len(), 0);
    let res = other.get("/v1/payment-runs/eligible-invoices").await;
    assert_eq!(res.expect(200, None).as_array().unwrap().len(), 0);
    other
        .post("/v1/payment-runs", run_body(&bank, &[&inv]))
        .await
        .expect(400, Some("unknown_bank_account"));
    let other_bank = eur_bank(&other).await;
    other
        .post("/v1/payment-runs", run_body(&other_bank, &[&inv]))
        .await
        .expect(400, Some("unknown_invoice"));
    app.get("/v1/payment-runs/not-a-uuid")
        .await
        .expect(404, Some("not_found"));
    app.get(&format!("/v1/payment-runs/{}", Uuid::now_v7()))
        .await
        .expect(404, Some("not_found"));
    // The run is untouched.
    assert_eq!(
        app.get(&format!("/v1/payment-runs/{id}")).await.body["status"],
        "draft"
    );
}

#[tokio::test]
async fn hostile_bodies_and_parameters_are_refused_cleanly() {
    let app = spawn_app().await;
    let bank = eur_bank(&app).await;
    let (v, _) = vendor(&app, "Lieferant", Some(IBAN_A)).await;
    let inv = incoming(&app, &v, "H-1", &day(-3), &day(2), "100.00", false).await;
    let ok = run_body(&bank, &[&inv]);
    let bad = |f: &dyn Fn(&mut Value)| {
        let mut b = ok.clone();
        f(&mut b);
        b
    };
    for body in [
        json!([ok.clone()]),
        json!("run"),
        json!(null),
        bad(&|b| b["invoice_ids"] = json!({"0": inv})),
        bad(&|b| b["invoice_ids"] = json!(["not-a-uuid"])),
        bad(&|b| b["bank_account_id"] = json!(12)),
        bad(&|b| b["execution_date"] = json!("9999-12-31")),
        bad(&|b| b["execution_date"] = json!("2026-02-30")),
        bad(&|b| b["execution_date"] = json!(20261127)),
        bad(&|b| b["batch_by_vendor"] = json!("yes")),
        bad(&|b| b["unknown"] = json!(1)),
        bad(&|b| b["amounts"] = json!([{"invoice_id": inv, "amount": "1e400"}])),
        bad(&|b| b["amounts"] = json!([{"invoice_id": inv, "amount": 1e300}])),
        bad(&|b| b["amounts"] = json!({"invoice_id": inv})),
        bad(&|b| b["label"] = json!("Zahl\u{0}lauf")),
        bad(&|b| b["label"] = json!("x".repeat(201))),
        bad(&|b| b["label"] = json!(["a"])),
    ] {
        let res = app.post("/v1/payment-runs", body.clone()).await;
        assert_eq!(res.status.as_u16(), 400, "{body}: {}", res.body);
        assert!(res.body["code"].is_string());
    }
    let res = app
        .post(
            "/v1/payment-runs",
            bad(&|b| {
                b["amounts"] = json!([{"invoice_id": inv, "amount": "99999999999999999999.99"}])
            }),
        )
        .await;
    assert!(matches!(res.status.as_u16(), 400 | 409), "{}", res.body);
    // Not JSON.
    let res = app
        .raw(
            Method::POST,
            "/v1/payment-runs",
            Some(&app.tenant.key),
            "text/plain",
            b"x".to_vec(),
        )
        .await;
    assert_eq!(res.status.as_u16(), 415);
    // A bad export version is 400; the run stays as it was.
    let run = create_run(&app, ok.clone()).await;
    let path = format!("/v1/payment-runs/{}", run["id"].as_str().unwrap());
    let second = approver(&app).await;
    post_as(&app, &second, &format!("{path}/approve"))
        .await
        .expect(200, None);
    app.post(&format!("{path}/export?version=07"), json!({}))
        .await
        .expect(400, Some("invalid_version"));
    assert_eq!(app.get(&path).await.body["status"], "approved");
    // An execution date that passed before the first export is refused (the date is moved
    // back past the trigger that keeps it fixed).
    let c = sql().await;
    c.batch_execute("SET session_replication_role = replica")
        .await
        .unwrap();
    let run_id: Uuid = run["id"].as_str().unwrap().parse().unwrap();
    let yesterday = today() - Duration::days(1);
    c.execute(
        "UPDATE payment_runs SET execution_date = $2 WHERE id = $1",
        &[&run_id, &yesterday],
    )
    .await
    .unwrap();
    app.post(&format!("{path}/export"), json!({}))
        .await
        .expect(400, Some("execution_date_in_past"));
    assert_eq!(app.get(&path).await.body["status"], "approved");
    // Malformed list parameters fall back to their defaults.
    let res = app
        .get("/v1/payment-runs?status=bogus&limit=abc&offset=-3")
        .await;
    assert_eq!(res.expect(200, None).as_array().unwrap().len(), 1);
    let res = app
        .get("/v1/payment-runs/eligible-invoices?due_before=31.12.2026&execution_date=x&limit=0")
        .await;
    res.expect(200, None);
}

#[tokio::test]
async fn idempotency_keys_replay_creation_and_transitions() {
    let app = spawn_app().await;
    let bank = eur_bank(&app).await;
    let (v, _) = vendor(&app, "Lieferant", Some(IBAN_A)).await;
    let inv = incoming(&app, &v, "I-1", &day(-3), &day(2), "100.00", false).await;
    let body = run_body(&bank, &[&inv]);
    let post = async |key: &str, body: &Value| {
        let r = app
            .client
            .post(format!("{}/v1/payment-runs", app.address))
            .bearer_auth(&app.tenant.key)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json::<Value>().await.unwrap())
    };
    let (s1, r1) = post("run-1", &body).await;
    let (s2, r2) = post("run-1", &body).await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(r1, r2, "the replay is the first answer");
    let res = app.get("/v1/payment-runs").await;
    assert_eq!(res.expect(200, None).as_array().unwrap().len(), 1);
    let mut other = body.clone();
    other["label"] = json!("anders");
    let (s3, r3) = post("run-1", &other).await;
    assert_eq!(s3, 409);
    assert_eq!(r3["code"], "idempotency_conflict");
}

#[tokio::test]
async fn skonto_is_taken_only_within_its_deadline() {
    let app = spawn_app().await;
    let bank = eur_bank(&app).await;
    let (v, creditor) = vendor(&app, "Skonto KG", Some(IBAN_A)).await;
    // Dated 20 days ago with 10 days: the deadline has passed.
    let old = incoming_with_skonto(&app, &v, "SK-1", &day(-20), &day(2), "100.00", ("3", 10)).await;
    // Dated today with 2 days: an execution in 3 days is too late, tomorrow is not.
    let fresh = incoming_with_skonto(&app, &v, "SK-2", &day(0), &day(5), "200.00", ("2", 2)).await;
    let res = app
        .get(&format!(
            "/v1/payment-runs/eligible-invoices?execution_date={}",
            day(3)
        ))
        .await;
    let list = res.expect(200, None).as_array().unwrap().clone();
    let e_old = list
        .iter()
        .find(|e| e["invoice_id"] == old.as_str())
        .unwrap();
    assert_eq!(e_old["skonto_amount"], "3.57");
    assert_eq!(e_old["skonto_deadline"], day(-10));
    assert_eq!(e_old["payable_amount"], "119.00", "deadline passed");
    let e_fresh = list
        .iter()
        .find(|e| e["invoice_id"] == fresh.as_str())
        .unwrap();
    assert_eq!(e_fresh["skonto_amount"], "4.76");
    assert_eq!(
        e_fresh["payable_amount"], "238.00",
        "executed after the deadline"
    );
    // A partial amount takes no Skonto either.
    let mut body = run_body(&bank, &[&old, &fresh]);
    body["amounts"] = json!([{"invoice_id": fresh, "amount": "100.00"}]);
    let run = create_run(&app, body).await;
    let items = run["items"].as_array().unwrap();
    assert!(items.iter().all(|i| i["discount"] == "0.00"), "{run}");
    assert_eq!(run["total_amount"], "219.00");
    let path = format!("/v1/payment-runs/{}", run["id"].as_str().unwrap());
    app.post(&format!("{path}/cancel"), json!({}))
        .await
        .expect(200, None);
    // Executed tomorrow, the fresh one is paid less its Skonto; the old one in full.
    let run = create_run(&app, run_body(&bank, &[&old, &fresh])).await;
    assert_eq!(run["total_amount"], "352.24");
    let path = format!("/v1/payment-runs/{}", run["id"].as_str().unwrap());
    let second = approver(&app).await;
    post_as(&app, &second, &format!("{path}/approve"))
        .await
        .expect(200, None);
    post_as(&app, &second, &format!("{path}/export"))
        .await
        .expect(200, None);
    post_as(&app, &second, &format!("{path}/complete"))
        .await
        .expect(200, None);
    assert_eq!(app.balance(&creditor).await, "0.00");
    assert_eq!(app.balance("3736").await, "-4.00");
}

#[tokio::test]
async fn the_database_holds_an_invoice_in_one_active_run_at_most() {
    let app = spawn_app().await;
    let bank = eur_bank(&app).await;
    let (v, _) = vendor(&app, "Lieferant", Some(IBAN_A)).await;
    let inv = incoming(&app, &v, "DB-1", &day(-3), &day(2), "100.00", false).await;
    let run = create_run(&app, run_body(&bank, &[&inv])).await;
    let run_id: Uuid = run["id"].as_str().unwrap().parse().unwrap();
    let inv_id: Uuid = inv.parse().unwrap();
    let vendor_id: Uuid = v.parse().unwrap();
    let c = sql().await;
    // A second active item for the invoice, past the application: the unique index refuses.
    let second = create_run(&app, {
        let (v2, _) = vendor(&app, "Anderer", Some(IBAN_B)).await;
        let other = incoming(&app, &v2, "DB-2", &day(-3), &day(2), "10.00", false).await;
        run_body(&bank, &[&other])
    })
    .await;
    let second_id: Uuid = second["id"].as_str().unwrap().parse().unwrap();
    let err = c
        .execute(
            "INSERT INTO payment_run_items (tenant_id, run_id, position, invoice_id, vendor_id, invoice_number,
                 invoice_type, open_amount, amount, discount)
             VALUES ($1, $2, 99, $3, $4, 'DB-1', 'invoice', 119, 119, 0)",
            &[&app.tenant.id, &second_id, &inv_id, &vendor_id],
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.as_db_error().and_then(|d| d.constraint()),
        Some("payment_run_items_one_active")
    );
    // Items are fixed, runs are not deleted, and four eyes hold in the database too.
    assert!(c
        .execute(
            "DELETE FROM payment_run_items WHERE run_id = $1",
            &[&run_id]
        )
        .await
        .is_err());
    assert!(c
        .execute("DELETE FROM payment_runs WHERE id = $1", &[&run_id])
        .await
        .is_err());
    assert!(c
        .execute(
            "UPDATE payment_runs SET status = 'approved', approved_by = created_by, approved_at = now() WHERE id = $1",
            &[&run_id],
        )
        .await
        .is_err());
    // Once cancelled, the invoice is free again.
    app.post(&format!("/v1/payment-runs/{run_id}/cancel"), json!({}))
        .await
        .expect(200, None);
    c.execute(
        "INSERT INTO payment_run_items (tenant_id, run_id, position, invoice_id, vendor_id, invoice_number,
             invoice_type, open_amount, amount, discount, active)
         VALUES ($1, $2, 99, $3, $4, 'DB-1', 'invoice', 119, 119, 0, false)",
        &[&app.tenant.id, &second_id, &inv_id, &vendor_id],
    )
    .await
    .unwrap();
}
