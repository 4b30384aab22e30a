//! The inbox (issue 14): POST /v1/ocr/extract on the e-invoice, text-PDF and scan fixtures,
//! uploads with items, review cases, approve through the incoming-invoice use case, confirm and
//! reject, duplicates, the ingestion log, the inbox address, hostile files, every failure path
//! of approve.

use crate::common::*;
use crate::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/einvoices/");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}{name}")).expect(name)
}

fn mime_of(name: &str) -> &'static str {
    if name.ends_with(".xml") {
        "application/xml"
    } else if name.ends_with(".pdf") {
        "application/pdf"
    } else {
        "image/png"
    }
}

/// A multipart upload of `content` to `path` with `key`.
async fn post_file(
    app: &TestApp,
    path: &str,
    key: Option<&str>,
    content: Vec<u8>,
    name: &str,
) -> Res {
    let part = reqwest::multipart::Part::bytes(content)
        .file_name(name.to_string())
        .mime_str(mime_of(name))
        .unwrap();
    let form = reqwest::multipart::Form::new().part("file", part);
    let mut req = app
        .client
        .post(format!("{}{path}", app.address))
        .multipart(form);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    into_res(req.send().await.expect("request")).await
}

async fn extract(app: &TestApp, name: &str) -> Value {
    let key = app.tenant.key.clone();
    post_file(app, "/v1/ocr/extract", Some(&key), fixture(name), name)
        .await
        .expect(200, None)
        .clone()
}

async fn inbox_upload(app: &TestApp, content: Vec<u8>, name: &str) -> Res {
    let key = app.tenant.key.clone();
    post_file(app, "/v1/inbox", Some(&key), content, name).await
}

async fn vendor_with_vat(app: &TestApp, name: &str, vat_id: &str) -> String {
    let res = app
        .post("/v1/vendors", json!({"name": name, "vat_id": vat_id}))
        .await;
    res.expect(201, None)["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn ocr_extract_reads_ubl_cii_and_zugferd_exactly() {
    let app = spawn_app().await;
    let x = extract(&app, "xrechnung-ubl.xml").await;
    assert_eq!(x["source"], "xml");
    assert_eq!(x["vendor_name"], "Bürobedarf Schmidt GmbH");
    assert_eq!(x["vendor_vat_id"], "DE136695976");
    assert_eq!(x["vendor_iban"], "DE89370400440532013000");
    assert_eq!(x["invoice_number"], "R-2026-0042");
    assert_eq!(x["invoice_date"], "2026-03-02");
    assert_eq!(x["due_date"], "2026-03-30");
    assert_eq!(x["service_date"], "2026-02-27");
    assert_eq!(x["total_net"], "190.00");
    assert_eq!(x["total_tax"], "33.70");
    assert_eq!(x["total_gross"], "223.70");
    assert_eq!(x["currency"], "EUR");
    assert_eq!(x["line_items"].as_array().unwrap().len(), 3);
    assert_eq!(x["line_items"][2]["tax_code"], "VSt7");
    assert_eq!(x["cash_discount_days"], 14);
    assert!(x["raw_markdown"].as_str().unwrap().contains("R-2026-0042"));
    assert_eq!(x["confidence"]["total_gross"], 1.0);
    assert_eq!(x["warnings"], json!([]));

    let x = extract(&app, "xrechnung-cii.xml").await;
    assert_eq!(
        (x["invoice_number"].as_str(), x["total_gross"].as_str()),
        (Some("CII-2026-0107"), Some("904.40"))
    );
    assert_eq!(x["vendor_iban"], "DE02120300000000202051");

    let x = extract(&app, "zugferd-en16931.pdf").await;
    assert_eq!(x["source"], "xml");
    assert_eq!(x["invoice_number"], "ZF-2026-0001");
    assert_eq!(x["total_tax"], "144.40");
}

#[tokio::test]
async fn ocr_extract_reads_a_text_pdf_and_a_scan_with_heuristics() {
    let app = spawn_app().await;
    for (name, source) in [
        ("text-layer.pdf", "text"),
        ("scan.png", "ocr"),
        ("scan.pdf", "ocr"),
    ] {
        let x = extract(&app, name).await;
        assert_eq!(x["source"], source, "{name}");
        assert_eq!(x["invoice_number"], "DL-2026-311", "{name}");
        assert_eq!(x["invoice_date"], "2026-03-12", "{name}");
        assert_eq!(x["vendor_vat_id"], "DE136695976", "{name}");
        assert_eq!(x["vendor_iban"], "DE89370400440532013000", "{name}");
        assert_eq!(x["total_net"], "340.00", "{name}");
        assert_eq!(x["total_tax"], "64.60", "{name}");
        assert_eq!(x["total_gross"], "404.60", "{name}");
        assert!(x["confidence"]["invoice_number"].as_f64().unwrap() < 1.0);
        // A scanned PDF says how it was read.
        let said = x["warnings"].to_string().contains("scanned PDF");
        assert_eq!(said, name == "scan.pdf", "{name}: {}", x["warnings"]);
    }
}

#[tokio::test]
async fn hostile_files_get_a_clear_400_and_nothing_is_kept() {
    let app = spawn_app().await;
    let key = app.tenant.key.clone();
    let bomb = b"<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]><Invoice>&lol2;</Invoice>".to_vec();
    let pdf = fixture("zugferd-en16931.pdf");
    let cases: Vec<(Vec<u8>, &str, u16, &str)> = vec![
        (bomb, "bomb.xml", 400, "invalid_xml"),
        (b"<Invoice><ID>1</ID>".to_vec(), "cut.xml", 400, "invalid_xml"),
        (b"<?xml version=\"1.0\"?><Order><ID>1</ID></Order>".to_vec(), "order.xml", 400, "invalid_xml"),
        (b"<html><body>hi</body></html>".to_vec(), "page.xml", 415, "unsupported_media_type"),
        (
            b"<Invoice><LegalMonetaryTotal><TaxInclusiveAmount>9999999999999999999999999999999999</TaxInclusiveAmount></LegalMonetaryTotal></Invoice>".to_vec(),
            "huge.xml", 400, "invalid_xml",
        ),
        (pdf[..pdf.len() / 3].to_vec(), "cut.pdf", 400, "invalid_pdf"),
        (b"%PDF-1.7\n\0\0\0garbage".to_vec(), "nul.pdf", 400, "invalid_pdf"),
        (b"\0\0\0\0 just bytes".to_vec(), "x.pdf", 415, "unsupported_media_type"),
    ];
    for path in ["/v1/ocr/extract", "/v1/inbox"] {
        for (content, name, status, code) in &cases {
            let res = post_file(&app, path, Some(&key), content.clone(), name).await;
            assert_eq!(res.status.as_u16(), *status, "{path} {name}: {}", res.body);
            assert_eq!(res.body["code"], *code, "{path} {name}");
        }
    }
    let items = app.get("/v1/inbox").await;
    assert_eq!(items.expect(200, None), &json!([]));
    let db = sql().await;
    let docs: i64 = db
        .query_one(
            "SELECT count(*) FROM documents WHERE tenant_id = $1",
            &[&app.tenant.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(docs, 0, "no document kept of a refused upload");
    let log = app.get("/v1/payables/ingestion-log?outcome=failed").await;
    assert!(log.expect(200, None).as_array().unwrap().len() >= 5);
}

#[tokio::test]
async fn an_upload_becomes_an_item_with_a_review_case_and_approve_books_the_invoice() {
    let app = spawn_app().await;
    let vendor = vendor_with_vat(&app, "Bürobedarf Schmidt GmbH", "DE136695976").await;
    let res = inbox_upload(&app, fixture("xrechnung-ubl.xml"), "xrechnung-ubl.xml").await;
    let item = res.expect(201, None).clone();
    assert_eq!(item["status"], "extracted");
    assert_eq!(item["original_name"], "xrechnung-ubl.xml");
    assert_eq!(item["ocr_extraction"]["invoice_number"], "R-2026-0042");
    assert_eq!(item["vendor_match"]["vendor_id"], vendor.as_str());
    assert_eq!(
        item["vendor_match"]["candidates"][0]["reasons"][0],
        "vat_id"
    );
    assert_eq!(item["compliance_check"]["compliant"], true);
    assert_eq!(item["compliance_check"]["e_invoice"], true);
    let item_id = item["id"].as_str().unwrap().to_string();
    let case_id = item["review_case_id"].as_str().unwrap().to_string();
    // The original is kept unchanged.
    let doc_id = item["document_id"].as_str().unwrap();
    let file = app.get(&format!("/v1/documents/{doc_id}/file")).await;
    assert_eq!(file.bytes, fixture("xrechnung-ubl.xml"));

    let listed = app
        .get("/v1/invoice-review-cases?queue_state=needs_review")
        .await;
    assert_eq!(listed.headers["x-total-count"], "1");
    let case = app
        .get(&format!("/v1/invoice-review-cases/{case_id}"))
        .await;
    let case = case.expect(200, None);
    assert_eq!(case["queue_state"], "needs_review");
    assert_eq!(case["normalized_invoice"]["lines"][0]["tax_code"], "VSt19");
    assert_eq!(case["normalized_invoice"]["document_id"], doc_id);

    let res = app
        .post(
            &format!("/v1/invoice-review-cases/{case_id}/approve"),
            json!({}),
        )
        .await;
    let approved = res.expect(200, None).clone();
    assert_eq!(approved["reviewCaseId"], case_id.as_str());
    let invoice_id = approved["invoiceId"].as_str().unwrap();
    let invoice = app.get(&format!("/v1/invoices/{invoice_id}")).await;
    let invoice = invoice.expect(200, None);
    assert_eq!(invoice["invoice_number"], "R-2026-0042");
    assert_eq!(invoice["total_gross"], "223.70");
    assert_eq!(invoice["intent_id"], approved["intentId"]);
    assert_eq!(invoice["document_id"], doc_id);
    assert_eq!(dec_of(&invoice["cash_discount_percent"]), dec("2"));
    assert_eq!(invoice["cash_discount_days"], 14);

    let item = app.get(&format!("/v1/inbox/{item_id}")).await;
    assert_eq!(item.expect(200, None)["status"], "confirmed");
    let case = app
        .get(&format!("/v1/invoice-review-cases/{case_id}"))
        .await;
    assert_eq!(case.expect(200, None)["queue_state"], "approved");
    // Not open any more.
    let again = app
        .post(
            &format!("/v1/invoice-review-cases/{case_id}/approve"),
            json!({}),
        )
        .await;
    again.expect(409, Some("review_case_not_open"));
    let log = app.get("/v1/payables/ingestion-log").await;
    let outcomes: Vec<&str> = log
        .expect(200, None)
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["approved", "extracted"]);
}

#[tokio::test]
async fn a_duplicate_is_recognised_and_not_extracted_twice() {
    let app = spawn_app().await;
    let first = inbox_upload(&app, fixture("xrechnung-cii.xml"), "a.xml").await;
    let first = first.expect(201, None).clone();
    let second = inbox_upload(&app, fixture("xrechnung-cii.xml"), "b.xml").await;
    let second = second.expect(200, None);
    assert_eq!(second["id"], first["id"]);
    assert_eq!(second["original_name"], "a.xml");
    let items = app.get("/v1/inbox").await;
    assert_eq!(items.headers["x-total-count"], "1");
    let dup = app
        .get("/v1/payables/ingestion-log?outcome=duplicate")
        .await;
    assert_eq!(dup.expect(200, None)[0]["inbox_item_id"], first["id"]);
}

#[tokio::test]
async fn approve_refuses_with_the_right_status_on_every_failure_path() {
    let app = spawn_app().await;
    let item = inbox_upload(&app, fixture("xrechnung-ubl.xml"), "r.xml").await;
    let case_id = item.expect(201, None)["review_case_id"]
        .as_str()
        .unwrap()
        .to_string();
    let approve = format!("/v1/invoice-review-cases/{case_id}/approve");
    // No vendor matched (none exists): 400.
    app.post(&approve, json!({}))
        .await
        .expect(400, Some("vendor_required"));
    // No auth, wrong scope, other tenant.
    app.send(Method::POST, &approve, None, None)
        .await
        .expect(401, None);
    let read = app.key_with_scopes(&["inbox:read"]).await;
    app.send(Method::POST, &approve, Some(&read), None)
        .await
        .expect(403, Some("scope_missing"));
    let other = as_tenant(&app, app.other_tenant().await);
    other.post(&approve, json!({})).await.expect(404, None);
    other
        .get(&format!("/v1/invoice-review-cases/{case_id}"))
        .await
        .expect(404, None);
    // An unknown vendor is refused by PATCH.
    let bogus = uuid::Uuid::now_v7();
    app.patch(
        &format!("/v1/invoice-review-cases/{case_id}"),
        json!({"vendor_id": bogus}),
    )
    .await
    .expect(400, Some("unknown_vendor"));
    app.patch(
        &format!("/v1/invoice-review-cases/{case_id}"),
        json!({"vendor": bogus}),
    )
    .await
    .expect(400, Some("unknown_field"));
    // Totals that do not balance: 400, the case is posting_failed with the error.
    let vendor = vendor_with_vat(&app, "Schmidt", "DE136695976").await;
    let case = app
        .get(&format!("/v1/invoice-review-cases/{case_id}"))
        .await;
    let mut normalized = case.expect(200, None)["normalized_invoice"].clone();
    normalized["total_gross"] = json!("999.00");
    let patched = app
        .patch(
            &format!("/v1/invoice-review-cases/{case_id}"),
            json!({"vendor_id": vendor, "normalized_invoice": normalized}),
        )
        .await;
    assert_eq!(patched.expect(200, None)["vendor_id"], vendor.as_str());
    app.post(&approve, json!({}))
        .await
        .expect(400, Some("totals_mismatch"));
    let case = app
        .get(&format!("/v1/invoice-review-cases/{case_id}"))
        .await;
    let case = case.expect(200, None);
    assert_eq!(case["queue_state"], "posting_failed");
    assert_eq!(case["posting_errors"][0]["code"], "totals_mismatch");
    let invoices = app.get("/v1/invoices").await;
    assert_eq!(
        invoices.expect(200, None),
        &json!([]),
        "nothing half-written"
    );
    // The number booked already for this vendor: 409.
    normalized["total_gross"] = json!("223.70");
    app.patch(
        &format!("/v1/invoice-review-cases/{case_id}"),
        json!({"normalized_invoice": normalized}),
    )
    .await
    .expect(200, None);
    let mut direct = normalized.clone();
    direct["vendor_id"] = json!(vendor);
    direct.as_object_mut().unwrap().remove("document_id");
    app.post("/v1/invoices", direct).await.expect(201, None);
    app.post(&approve, json!({}))
        .await
        .expect(409, Some("duplicate_invoice_number"));
    // Rejected: not open any more.
    let rejected = app
        .post(
            &format!("/v1/invoice-review-cases/{case_id}/reject"),
            json!({"reason": "booked by hand"}),
        )
        .await;
    assert_eq!(rejected.expect(200, None)["queue_state"], "rejected");
    app.post(&approve, json!({}))
        .await
        .expect(409, Some("review_case_not_open"));
    let item_id = case["inbox_item_id"].as_str().unwrap();
    let item = app.get(&format!("/v1/inbox/{item_id}")).await;
    assert_eq!(item.expect(200, None)["status"], "rejected");
}

#[tokio::test]
async fn confirm_and_reject_inbox_items() {
    let app = spawn_app().await;
    vendor_with_vat(&app, "IT-Service Weber GmbH", "DE136695976").await;
    let item = inbox_upload(&app, fixture("zugferd-en16931.pdf"), "zf.pdf").await;
    let id = item.expect(201, None)["id"].as_str().unwrap().to_string();
    let res = app
        .post(&format!("/v1/inbox/{id}/confirm"), json!({}))
        .await;
    let body = res.expect(200, None);
    assert_eq!(
        (body["confirmed"].as_bool(), body["inbox_id"].as_str()),
        (Some(true), Some(id.as_str()))
    );
    app.post(&format!("/v1/inbox/{id}/confirm"), json!({}))
        .await
        .expect(409, Some("inbox_item_not_open"));
    app.post(&format!("/v1/inbox/{id}/reject"), json!({}))
        .await
        .expect(409, Some("inbox_item_not_open"));

    let item = inbox_upload(&app, fixture("xrechnung-cii.xml"), "cii.xml").await;
    let item = item.expect(201, None).clone();
    let id = item["id"].as_str().unwrap();
    let res = app
        .post(&format!("/v1/inbox/{id}/reject"), json!({"reason": "spam"}))
        .await;
    assert_eq!(
        res.expect(200, None),
        &json!({"rejected": true, "inbox_id": id})
    );
    let case = app
        .get(&format!(
            "/v1/invoice-review-cases/{}",
            item["review_case_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(case.expect(200, None)["queue_state"], "rejected");
    let listed = app.get("/v1/inbox?status=rejected").await;
    assert_eq!(listed.expect(200, None).as_array().unwrap().len(), 1);
    let read = app.key_with_scopes(&["inbox:read"]).await;
    app.send(
        Method::POST,
        &format!("/v1/inbox/{id}/reject"),
        Some(&read),
        None,
    )
    .await
    .expect(403, Some("scope_missing"));
}

#[tokio::test]
async fn each_tenant_has_an_inbox_address_that_cannot_be_guessed() {
    let app = spawn_app().await;
    let a = app.get("/v1/inbox/address").await;
    let a = a.expect(200, None)["inbox_address"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(a.ends_with("@inbox.localhost"), "{a}");
    assert!(a.starts_with(&app.tenant.slug), "{a}");
    assert!(a.len() > app.tenant.slug.len() + 10 + "@inbox.localhost".len());
    let again = app.get("/v1/inbox/address").await;
    assert_eq!(again.expect(200, None)["inbox_address"], a.as_str());
    let other = as_tenant(&app, app.other_tenant().await);
    let b = other.get("/v1/inbox/address").await;
    assert_ne!(b.expect(200, None)["inbox_address"], a.as_str());
    app.send(Method::GET, "/v1/inbox/address", None, None)
        .await
        .expect(401, None);
}

#[tokio::test]
async fn inbox_lists_page_by_cursor_like_by_offset() {
    let app = spawn_app().await;
    // Three different documents: three items, three review cases, three log entries.
    for name in [
        "xrechnung-ubl.xml",
        "xrechnung-cii.xml",
        "zugferd-en16931.pdf",
    ] {
        inbox_upload(&app, fixture(name), name)
            .await
            .expect(201, None);
    }
    for list in [
        "/v1/inbox",
        "/v1/invoice-review-cases",
        "/v1/payables/ingestion-log",
    ] {
        let all: Vec<Value> = app
            .get(list)
            .await
            .expect(200, None)
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(all.len(), 3, "{list}");
        let mut walked = Vec::new();
        let mut url = format!("{list}?limit=2");
        loop {
            let page = app.get(&url).await;
            assert_eq!(page.headers["x-total-count"], "3", "{list}");
            walked.extend(
                page.expect(200, None)
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v["id"].clone()),
            );
            match page.headers.get("x-next-cursor") {
                Some(c) => url = format!("{list}?limit=2&cursor={}", c.to_str().unwrap()),
                None => break,
            }
        }
        let ids: Vec<Value> = all.iter().map(|v| v["id"].clone()).collect();
        assert_eq!(
            walked, ids,
            "{list}: the cursor walks the list in its order"
        );
        // By offset: the same order.
        let second = app.get(&format!("{list}?limit=1&offset=1")).await;
        assert_eq!(second.expect(200, None)[0]["id"], ids[1], "{list}");
        // A cursor of another shape is ignored: the first page.
        let first = app.get(&format!("{list}?limit=1&cursor=c1zz")).await;
        assert_eq!(first.expect(200, None)[0]["id"], ids[0], "{list}");
    }
}
