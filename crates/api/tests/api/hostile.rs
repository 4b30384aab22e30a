//! Input as a hostile client sends it: serde's positional form of objects, U+0000 in query
//! parameters, FX rates and amounts at the edges of `Decimal`. Each gets a clear 400 and
//! leaves nothing written; none of them disturbs the requests around it.

use crate::common::*;
use serde_json::{json, Value};

fn sale() -> Value {
    json!({
        "booking_date": "2026-03-14",
        "description": "Rechnung 1",
        "lines": [{"account": "1400", "debit": "119.00"}, {"account": "8400", "credit": "119.00"}]
    })
}

#[tokio::test]
async fn arrays_are_refused_where_objects_are_expected() {
    let app = spawn_app().await;
    let positional = [
        // The whole body in field order.
        json!(["2026-03-14", "Rechnung", [{"account": "1400", "debit": "1.00"}]]),
        // A line as an array.
        json!({"booking_date": "2026-03-14", "description": "x",
               "lines": [["1400", "1.00", null], {"account": "8400", "credit": "1.00"}]}),
        // fx as an array.
        json!({"booking_date": "2026-03-14", "description": "x", "fx": ["USD", "1.1"],
               "lines": [{"account": "1400", "debit": "1.00"}, {"account": "8400", "credit": "1.00"}]}),
    ];
    for body in positional {
        let res = app.post("/v1/bookings", body.clone()).await;
        res.expect(400, Some("invalid_field"));
        assert!(
            res.body["error"]
                .as_str()
                .unwrap()
                .contains("expected an object"),
            "{body}: {}",
            res.body
        );
    }
    // Other endpoints go through the same extractor.
    app.post("/v1/customers", json!(["Acme GmbH"]))
        .await
        .expect(400, Some("invalid_field"));
    assert_eq!(app.get("/v1/journal").await.expect(200, None)["total"], 0);
}

#[tokio::test]
async fn u0000_in_any_query_parameter_is_refused() {
    let app = spawn_app().await;
    for path in [
        "/v1/journal?search=a%00b",
        "/v1/journal?externalReference=%00",
        "/v1/accounts/search?q=12%00",
        "/v1/customers?search=%00",
        "/v1/journal?limit=10&x%00=1",
    ] {
        let res = app.get(path).await;
        res.expect(400, Some("invalid_character"));
    }
    // The same parameters without it.
    app.get("/v1/journal?search=ab").await.expect(200, None);
}

#[tokio::test]
async fn extreme_fx_rates_and_base_amounts_are_refused_and_harm_nobody_else() {
    let app = spawn_app().await;
    let fx = |rate: &str, amount: &str| {
        json!({
            "booking_date": "2026-03-14",
            "description": "USD",
            "fx": {"currency": "USD", "rate": rate},
            "lines": [{"account": "1200", "debit": amount}, {"account": "8400", "credit": amount}]
        })
    };
    let hostile = [
        fx("0.0000000000000000000000000001", "1.00"),
        fx("0.000001", "1000000000000"),
        fx("79228162514264337593543950335", "1.00"),
    ];
    // Hostile and innocent requests at once, so they share the appender's batches.
    let app = &app;
    let mut requests = Vec::new();
    for i in 0..30 {
        let body = if i % 10 == 3 {
            hostile[i / 10].clone()
        } else {
            sale()
        };
        requests.push(async move {
            let res = app
                .client
                .post(format!("{}/v1/bookings", app.address))
                .bearer_auth(&app.tenant.key)
                .json(&body)
                .send()
                .await
                .unwrap();
            (i, res.status().as_u16(), res.json::<Value>().await.unwrap())
        });
    }
    let mut booked = 0;
    for (i, status, body) in futures_util::future::join_all(requests).await {
        if i % 10 == 3 {
            assert_eq!(status, 400, "hostile {i}: {body}");
            assert!(
                ["amount_too_large", "invalid_fx_rate"].contains(&body["code"].as_str().unwrap()),
                "{body}"
            );
        } else {
            assert_eq!(status, 201, "innocent {i}: {body}");
            booked += 1;
        }
    }
    assert_eq!(booked, 27);
    // The accounts stay readable.
    app.get("/v1/accounts/1200/entries").await.expect(200, None);
    let entries = app.get("/v1/accounts/1400/entries").await;
    assert_eq!(entries.expect(200, None)["total"], 27);
}

#[tokio::test]
async fn dates_are_strictly_yyyy_mm_dd_from_1900_to_2199() {
    let app = spawn_app().await;
    for bad in [
        "-0001-01-01",
        "0000-01-01",
        "1000-01-01",
        "1899-12-31",
        "2200-01-01",
        "+2026-03-14",
        " 2026-03-14",
        "2026-3-14",
        "2026-03-14T00:00:00",
        "2026-02-30",
        "14.03.2026",
    ] {
        let mut body = sale();
        body["booking_date"] = json!(bad);
        let res = app.post("/v1/bookings", body).await;
        res.expect(400, Some("invalid_date"));
        assert!(
            res.body["details"]["field_errors"]["booking_date"].is_array(),
            "{bad}: {}",
            res.body
        );
        let res = app
            .post(
                "/v1/bookings/opening-balances",
                json!({"booking_date": bad, "balances": [{"account": "1200", "debit": "1.00"}]}),
            )
            .await;
        res.expect(400, Some("invalid_date"));
        // A list parameter falls back to its default instead (CONTRACT.md): no date filter.
        let path = format!(
            "/v1/journal?startDate={}",
            bad.replace('+', "%2B").replace(' ', "%20")
        );
        app.get(&path).await.expect(200, None);
    }
    // A number is not a date either.
    let mut body = sale();
    body["booking_date"] = json!(20260314);
    app.post("/v1/bookings", body)
        .await
        .expect(400, Some("invalid_date"));
    // The edges are fine.
    for good in ["1900-01-01", "2199-12-31"] {
        let mut body = sale();
        body["booking_date"] = json!(good);
        app.post("/v1/bookings", body).await.expect(201, None);
    }
    // Invoices' dates go through the same rule.
    let customer = app
        .post("/v1/customers", json!({"name": "Datum GmbH"}))
        .await;
    let cid = customer.expect(201, None)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = app
        .post(
            "/v1/outgoing-invoices",
            json!({"customer_id": cid, "invoice_number": "D-1", "invoice_date": "0000-01-01",
                   "lines": [{"description": "x", "quantity": "1", "unit_price": "1.00"}]}),
        )
        .await;
    res.expect(400, Some("invalid_date"));
    // Period ids of years nobody books in are refused.
    for period in ["0000-01", "1000-01", "2200-13"] {
        app.post(&format!("/v1/periods/{period}/soft-lock"), json!({}))
            .await
            .expect(400, Some("invalid_period"));
    }
}

/// Sends `head` and the first bytes of a body that never completes; returns the answer.
async fn stall(address: &str, head: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    stream
        .write_all(format!("{head}Content-Length: 100\r\n\r\n{{\"booking_").as_bytes())
        .await
        .unwrap();
    let mut answer = Vec::new();
    // A generous guard: the server's own timeout (1 s here) must end the request long before.
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("the server answers a stalled body instead of waiting for ever")
    .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_stalled_body_gets_408_and_holds_up_nobody() {
    let app = spawn_app_with(
        api::ApiConfig {
            workers: 1,
            request_timeout: std::time::Duration::from_secs(1),
            ..Default::default()
        },
        "skr03",
    )
    .await;
    let head = |extra: &str| {
        format!(
            "POST /v1/bookings HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\n{extra}",
            app.tenant.key
        )
    };
    let plain = head("");
    let keyed = head("Idempotency-Key: stalled-1\r\n");
    let (a, b, c) = tokio::join!(
        stall(&app.address, &plain),
        stall(&app.address, &keyed),
        // Meanwhile, on the same single worker, an ordinary booking goes through.
        async {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            app.post("/v1/bookings", sale()).await
        }
    );
    for answer in [a, b] {
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("request_timeout"), "{answer}");
    }
    c.expect(201, None);
    assert_eq!(app.get("/v1/journal").await.expect(200, None)["total"], 2);
}

#[tokio::test]
async fn a_web_page_is_no_document_and_documents_run_no_script() {
    let app = spawn_app().await;
    for (page, mime) in [
        (&b"<html><body><script>alert(document.cookie)</script></body></html>"[..], "text/html"),
        (
            &b"<?xml version=\"1.0\"?><page xmlns=\"http://www.w3.org/1999/xhtml\"><script>alert(1)</script></page>"[..],
            "application/xml",
        ),
        (&b"<Invoice><broken></Invoice>"[..], "application/xml"),
    ] {
        crate::helpers::upload(&app, page.to_vec(), "page.xml", mime)
            .await
            .expect(415, Some("unsupported_media_type"));
    }
    // A real e-invoice is kept and served with a policy that runs nothing.
    let xml = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><rsm:CrossIndustryInvoice xmlns:rsm=\"urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100\"><rsm:ExchangedDocument/></rsm:CrossIndustryInvoice>";
    let res = crate::helpers::upload(&app, xml.to_vec(), "x-rechnung.xml", "application/xml").await;
    let id = res.expect(201, None)["id"].as_str().unwrap().to_string();
    for suffix in ["file", "preview"] {
        let res = app.get(&format!("/v1/documents/{id}/{suffix}")).await;
        res.expect(200, None);
        assert_eq!(res.headers["x-content-type-options"], "nosniff");
        assert_eq!(
            res.headers["content-security-policy"],
            "sandbox; default-src 'none'"
        );
    }
}

#[tokio::test]
async fn amounts_have_one_grammar() {
    let app = spawn_app().await;
    for bad in [
        "+5.00", " 5.00", "5.00 ", ".5", "5.", "1e3", "5,00", "0x10", "",
    ] {
        let mut body = sale();
        body["lines"][0]["debit"] = json!(bad);
        body["lines"][1]["credit"] = json!(bad);
        let res = app.post("/v1/bookings", body).await;
        res.expect(400, Some("invalid_field"));
        assert!(
            res.body["details"]["field_errors"]["lines[0].debit"].is_array(),
            "{bad:?}: {}",
            res.body
        );
    }
    // Also for rates.
    let res = app
        .post(
            "/v1/bookings",
            json!({"booking_date": "2026-03-14", "description": "USD", "fx": {"currency": "USD", "rate": "+1.1"},
                   "lines": [{"account": "1200", "debit": "1.00"}, {"account": "8400", "credit": "1.00"}]}),
        )
        .await;
    res.expect(400, Some("invalid_field"));
    // Plain decimals, as strings or numbers, are fine.
    let mut body = sale();
    body["lines"][0]["debit"] = json!(119.5);
    body["lines"][1]["credit"] = json!("119.50");
    app.post("/v1/bookings", body).await.expect(201, None);
}
