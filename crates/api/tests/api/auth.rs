//! Failure paths of every endpoint: credentials, scopes, other tenants' ids, malformed bodies,
//! content types, body size, unknown routes, request ids.

use crate::common::*;
use crate::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};

/// One endpoint of routes/mod.rs with a body that is valid for it.
struct Endpoint {
    method: Method,
    path: String,
    scope: Option<&'static str>,
    body: Body,
}

#[derive(Clone)]
enum Body {
    Empty,
    Json(Value),
    Document,
}

fn ep(
    method: Method,
    path: impl Into<String>,
    scope: Option<&'static str>,
    body: Body,
) -> Endpoint {
    Endpoint {
        method,
        path: path.into(),
        scope,
        body,
    }
}

/// Every /v1 endpoint of this issue, with ids that exist for `app`'s tenant.
async fn endpoints(app: &TestApp) -> Vec<Endpoint> {
    let intent = app
        .book_ok(transfer("2026-03-14", "1400", "8400", "1.00"))
        .await;
    let doc = upload_pdf(app, "a.pdf").await;
    use Body::{Document, Empty, Json};
    vec![
        ep(Method::GET, "/v1/openapi.json", None, Empty),
        ep(Method::GET, "/v1/accounts", Some("accounts:read"), Empty),
        ep(
            Method::POST,
            "/v1/accounts",
            Some("accounts:write"),
            Json(json!({"number": "4990", "name": "x", "type": "expense"})),
        ),
        ep(
            Method::GET,
            "/v1/accounts/search?q=12",
            Some("accounts:read"),
            Empty,
        ),
        ep(
            Method::GET,
            "/v1/accounts/1200",
            Some("accounts:read"),
            Empty,
        ),
        ep(
            Method::PATCH,
            "/v1/accounts/1200",
            Some("accounts:write"),
            Json(json!({"name": "Bank"})),
        ),
        ep(
            Method::GET,
            "/v1/accounts/1200/entries",
            Some("journal:read"),
            Empty,
        ),
        ep(
            Method::POST,
            "/v1/bookings",
            Some("journal:write"),
            Json(transfer("2026-03-14", "1400", "8400", "1.00")),
        ),
        ep(
            Method::POST,
            "/v1/bookings/opening-balances",
            Some("journal:write"),
            Json(
                json!({"booking_date": "2026-01-01", "balances": [{"account": "1200", "debit": "1.00"}]}),
            ),
        ),
        ep(Method::GET, "/v1/journal", Some("journal:read"), Empty),
        ep(
            Method::GET,
            format!("/v1/journal/{intent}"),
            Some("journal:read"),
            Empty,
        ),
        ep(Method::GET, "/v1/tax-codes", Some("tax_codes:read"), Empty),
        ep(
            Method::POST,
            "/v1/tax-codes",
            Some("tax_codes:write"),
            Json(json!({"code": "T1", "label": "x", "rate": "0"})),
        ),
        ep(
            Method::GET,
            "/v1/tax-codes/USt19",
            Some("tax_codes:read"),
            Empty,
        ),
        ep(
            Method::PATCH,
            "/v1/tax-codes/USt19",
            Some("tax_codes:write"),
            Json(json!({"label": "USt"})),
        ),
        ep(
            Method::DELETE,
            "/v1/tax-codes/EXP",
            Some("tax_codes:write"),
            Empty,
        ),
        ep(
            Method::POST,
            "/v1/documents",
            Some("documents:write"),
            Document,
        ),
        ep(
            Method::GET,
            format!("/v1/documents/{doc}"),
            Some("documents:read"),
            Empty,
        ),
        ep(
            Method::GET,
            format!("/v1/documents/{doc}/file"),
            Some("documents:read"),
            Empty,
        ),
        ep(
            Method::GET,
            format!("/v1/documents/{doc}/preview"),
            Some("documents:read"),
            Empty,
        ),
    ]
}

async fn call(app: &TestApp, e: &Endpoint, key: Option<&str>) -> Res {
    match &e.body {
        Body::Empty => app.send(e.method.clone(), &e.path, key, None).await,
        Body::Json(v) => app.send(e.method.clone(), &e.path, key, Some(v)).await,
        Body::Document => {
            upload_part(app, key, "file", pdf("scoped"), "s.pdf", "application/pdf").await
        }
    }
}

/// Every scope of the resources this issue has, except `but`.
fn all_scopes_but(but: &str) -> Vec<&'static str> {
    ["accounts", "journal", "tax_codes", "documents"]
        .iter()
        .flat_map(|r| [format!("{r}:read"), format!("{r}:write")])
        .filter(|s| s != but)
        .map(|s| &*Box::leak(s.into_boxed_str()))
        .collect()
}

#[tokio::test]
async fn every_endpoint_needs_a_valid_key() {
    let app = spawn_app().await;
    let endpoints = endpoints(&app).await;
    let revoked = app.key_with_scopes(&["*"]).await;
    sql()
        .await
        .execute(
            "UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1 AND name = 'scoped'",
            &[&app.tenant.id],
        )
        .await
        .unwrap();
    let unknown = format!("kt_{}", "ab".repeat(24));
    for e in &endpoints {
        let res = call(&app, e, None).await;
        res.expect(401, Some("unauthenticated"));
        assert_eq!(
            res.headers["www-authenticate"], "Bearer realm=\"kontor\"",
            "{}",
            e.path
        );
        for key in [
            unknown.as_str(),
            "nope",
            "kt_",
            revoked.as_str(),
            &format!("{}0", app.tenant.key),
        ] {
            let res = call(&app, e, Some(key)).await;
            assert_eq!(
                res.status.as_u16(),
                401,
                "{} {} with {key}: {}",
                e.method,
                e.path,
                res.body
            );
            res.expect(401, Some("unauthenticated"));
        }
        // Another scheme than Bearer.
        let res = app
            .client
            .request(e.method.clone(), format!("{}{}", app.address, e.path))
            .header("authorization", format!("Basic {}", app.tenant.key))
            .send()
            .await
            .unwrap();
        into_res(res).await.expect(401, Some("unauthenticated"));
    }
    // The scheme is case-insensitive.
    let res = app
        .client
        .get(format!("{}/v1/accounts/1200", app.address))
        .header("authorization", format!("bearer {}", app.tenant.key))
        .send()
        .await
        .unwrap();
    into_res(res).await.expect(200, None);
}

#[tokio::test]
async fn every_endpoint_checks_its_scope() {
    let app = spawn_app().await;
    let endpoints = endpoints(&app).await;
    for e in endpoints.iter().filter(|e| e.scope.is_some()) {
        let scope = e.scope.unwrap();
        let key = app.key_with_scopes(&all_scopes_but(scope)).await;
        let res = call(&app, e, Some(&key)).await;
        assert_eq!(
            res.status.as_u16(),
            403,
            "{} {}: {}",
            e.method,
            e.path,
            res.body
        );
        res.expect(403, Some("scope_missing"));
        assert_eq!(
            res.body["details"]["field_errors"]["scope"],
            json!([scope]),
            "{}",
            e.path
        );
    }
    // Nothing was written by the refused requests.
    assert_eq!(app.get("/v1/journal").await.expect(200, None)["total"], 2);
    app.get("/v1/accounts/4990")
        .await
        .expect(404, Some("not_found"));

    for e in &endpoints {
        let scopes: Vec<&str> = e.scope.into_iter().collect();
        let key = if scopes.is_empty() {
            app.key_with_scopes(&["documents:read"]).await
        } else {
            app.key_with_scopes(&scopes).await
        };
        let res = call(&app, e, Some(&key)).await;
        assert!(
            res.status.is_success(),
            "{} {} with only {scopes:?}: {} {}",
            e.method,
            e.path,
            res.status,
            res.body
        );
        // resource:* and * allow it too.
        let resource = e
            .scope
            .map(|s| s.split(':').next().unwrap())
            .unwrap_or("documents");
        for wide in [format!("{resource}:*"), "*".to_string()] {
            if e.method != Method::GET {
                continue; // writes were checked once; keep the data as it is
            }
            let key = app.key_with_scopes(&[wide.as_str()]).await;
            let res = call(&app, e, Some(&key)).await;
            assert!(
                res.status.is_success(),
                "{} {} with {wide}: {}",
                e.method,
                e.path,
                res.body
            );
        }
    }
    // :write does not include :read.
    let key = app.key_with_scopes(&["journal:write"]).await;
    let res = app.send(Method::GET, "/v1/journal", Some(&key), None).await;
    res.expect(403, Some("scope_missing"));
}

#[tokio::test]
async fn other_tenants_ids_are_not_found() {
    let app = spawn_app().await;
    let other = as_tenant(&app, app.other_tenant().await);
    other
        .post(
            "/v1/accounts",
            json!({"number": "4991", "name": "Nur bei denen", "type": "expense"}),
        )
        .await
        .expect(201, None);
    other
        .post(
            "/v1/tax-codes",
            json!({"code": "THEIRS", "label": "x", "rate": "0"}),
        )
        .await
        .expect(201, None);
    let intent = other
        .book_ok(transfer("2026-03-14", "4991", "1200", "5.00"))
        .await;
    let doc = upload_pdf(&other, "theirs.pdf").await;

    for (method, path, body) in [
        (Method::GET, "/v1/accounts/4991".to_string(), None),
        (
            Method::PATCH,
            "/v1/accounts/4991".to_string(),
            Some(json!({"is_active": false})),
        ),
        (Method::GET, "/v1/accounts/4991/entries".to_string(), None),
        (Method::GET, format!("/v1/journal/{intent}"), None),
        (Method::GET, "/v1/tax-codes/THEIRS".to_string(), None),
        (
            Method::PATCH,
            "/v1/tax-codes/THEIRS".to_string(),
            Some(json!({"label": "mine"})),
        ),
        (Method::DELETE, "/v1/tax-codes/THEIRS".to_string(), None),
        (Method::GET, format!("/v1/documents/{doc}"), None),
        (Method::GET, format!("/v1/documents/{doc}/file"), None),
        (Method::GET, format!("/v1/documents/{doc}/preview"), None),
    ] {
        let res = app
            .send(method.clone(), &path, Some(&app.tenant.key), body.as_ref())
            .await;
        assert_eq!(res.status.as_u16(), 404, "{method} {path}: {}", res.body);
        res.expect(404, Some("not_found"));
    }
    // Their things in my bookings are unknown to me.
    app.post(
        "/v1/bookings",
        transfer("2026-03-14", "4991", "1200", "1.00"),
    )
    .await
    .expect(400, Some("unknown_account"));
    let body = booking(
        "2026-03-14",
        json!([{"account": "1400", "debit": "1.00"}, {"account": "8400", "credit": "1.00", "tax_code": "THEIRS"}]),
    );
    app.post("/v1/bookings", body)
        .await
        .expect(400, Some("unknown_tax_code"));
    // Lists and searches show none of it.
    let res = app.get("/v1/accounts/search?q=Nur bei").await;
    assert_eq!(res.expect(200, None)["accounts"], json!([]));
    let res = app.get("/v1/tax-codes?include_inactive=true").await;
    assert!(!res.expect(200, None).to_string().contains("THEIRS"));
    assert_eq!(app.get("/v1/journal").await.expect(200, None)["total"], 0);
    // And their data is untouched.
    let res = other.get("/v1/accounts/4991").await;
    assert_eq!(res.expect(200, None)["is_active"], true);
    let res = other.get("/v1/tax-codes/THEIRS").await;
    assert_eq!(res.expect(200, None)["label"], "x");
    assert_eq!(res.body["is_active"], true);
    assert_eq!(other.balance("4991").await, "5.00");
}

/// The JSON endpoints with a valid body each.
fn json_endpoints() -> Vec<(Method, &'static str, Value)> {
    vec![
        (
            Method::POST,
            "/v1/accounts",
            json!({"number": "4990", "name": "x", "type": "expense"}),
        ),
        (Method::PATCH, "/v1/accounts/1200", json!({"name": "Bank"})),
        (
            Method::POST,
            "/v1/bookings",
            transfer("2026-03-14", "1400", "8400", "1.00"),
        ),
        (
            Method::POST,
            "/v1/bookings/opening-balances",
            json!({"booking_date": "2026-01-01", "balances": [{"account": "1200", "debit": "1.00"}]}),
        ),
        (
            Method::POST,
            "/v1/tax-codes",
            json!({"code": "T1", "label": "x", "rate": "0"}),
        ),
        (
            Method::PATCH,
            "/v1/tax-codes/USt19",
            json!({"label": "USt"}),
        ),
    ]
}

#[tokio::test]
async fn malformed_json_unknown_fields_and_wrong_types() {
    let app = spawn_app().await;
    let key = Some(app.tenant.key.as_str());
    for (method, path, valid) in json_endpoints() {
        for text in ["{\"a\":", "", "{} x", "[1,2", "nul", "{'a': 1}"] {
            let res = json_text(&app, method.clone(), path, key, text).await;
            assert_eq!(
                res.status.as_u16(),
                400,
                "{method} {path} {text:?}: {}",
                res.body
            );
            res.expect(400, Some("malformed_json"));
        }
        let res = app
            .send(
                method.clone(),
                path,
                key,
                Some(&with(valid.clone(), "bogus_field", json!(1))),
            )
            .await;
        assert_eq!(
            res.body["code"], "unknown_field",
            "{method} {path}: {}",
            res.body
        );
        res.expect(400, Some("unknown_field"));
        assert!(
            res.body["error"].as_str().unwrap().contains("bogus_field"),
            "{}",
            res.body
        );
        assert!(!field_errors(&res.body).is_empty(), "{}", res.body);
        // A JSON value that is not an object.
        let res = app
            .send(method.clone(), path, key, Some(&json!([valid.clone()])))
            .await;
        res.expect(400, Some("invalid_field"));
    }
    // Wrong types name the field.
    let cases = [
        (
            "/v1/accounts",
            Method::POST,
            json!({"number": 4990, "name": "x", "type": "expense"}),
            "number",
        ),
        (
            "/v1/accounts/1200",
            Method::PATCH,
            json!({"is_active": "no"}),
            "is_active",
        ),
        (
            "/v1/bookings",
            Method::POST,
            with(
                transfer("2026-03-14", "1400", "8400", "1.00"),
                "lines",
                json!("none"),
            ),
            "lines",
        ),
        (
            "/v1/bookings",
            Method::POST,
            with(
                transfer("2026-03-14", "1400", "8400", "1.00"),
                "skip_duplicate_check",
                json!("yes"),
            ),
            "skip_duplicate_check",
        ),
        (
            "/v1/bookings",
            Method::POST,
            booking("2026-03-14", json!([{"account": 1400, "debit": "1"}])),
            "lines[0].account",
        ),
        (
            "/v1/bookings",
            Method::POST,
            with(
                transfer("2026-03-14", "1400", "8400", "1.00"),
                "fx",
                json!({"currency": "USD", "rate": "x"}),
            ),
            "fx.rate",
        ),
        (
            "/v1/tax-codes",
            Method::POST,
            json!({"code": "T1", "label": "x", "rate": [19]}),
            "rate",
        ),
        (
            "/v1/tax-codes/USt19",
            Method::PATCH,
            json!({"is_active": 1}),
            "is_active",
        ),
    ];
    for (path, method, body, field) in cases {
        let res = app.send(method.clone(), path, key, Some(&body)).await;
        assert_eq!(
            res.body["code"], "invalid_field",
            "{method} {path}: {}",
            res.body
        );
        res.expect(400, Some("invalid_field"));
        assert_eq!(
            field_errors(&res.body),
            [field],
            "{method} {path}: {}",
            res.body
        );
        let messages = &res.body["details"]["field_errors"][field];
        assert!(
            messages[0].as_str().is_some_and(|m| !m.is_empty()),
            "{}",
            res.body
        );
    }
    // A date that does not exist: the date rule's own code (CONTRACT.md), on the field.
    let res = app
        .send(
            Method::POST,
            "/v1/bookings",
            key,
            Some(&with(
                transfer("2026-03-14", "1400", "8400", "1.00"),
                "booking_date",
                json!("2026-02-30"),
            )),
        )
        .await;
    res.expect(400, Some("invalid_date"));
    assert_eq!(field_errors(&res.body), ["booking_date"], "{}", res.body);
    let res = app
        .send(
            Method::POST,
            "/v1/bookings/opening-balances",
            key,
            Some(&json!({"booking_date": "1.1.2026", "balances": []})),
        )
        .await;
    res.expect(400, Some("invalid_date"));
    assert_eq!(field_errors(&res.body), ["booking_date"], "{}", res.body);
    // A missing required field.
    let res = app
        .post(
            "/v1/bookings",
            json!({"booking_date": "2026-03-14", "lines": []}),
        )
        .await;
    res.expect(400, Some("invalid_field"));
    assert!(
        res.body["error"].as_str().unwrap().contains("description"),
        "{}",
        res.body
    );
    // Nothing was booked or created.
    assert_eq!(app.get("/v1/journal").await.expect(200, None)["total"], 0);
    app.get("/v1/accounts/4990")
        .await
        .expect(404, Some("not_found"));
}

#[tokio::test]
async fn unknown_nested_fields_are_rejected() {
    let app = spawn_app().await;
    let line = booking(
        "2026-03-14",
        json!([{"account": "1400", "debit": "1.00", "amount": "1.00"}, {"account": "8400", "credit": "1.00"}]),
    );
    let res = app.post("/v1/bookings", line).await;
    res.expect(400, Some("unknown_field"));
    assert!(
        field_errors(&res.body)[0].starts_with("lines[0]"),
        "{}",
        res.body
    );
    let fx = with(
        transfer("2026-03-14", "1200", "8400", "1.00"),
        "fx",
        json!({"currency": "USD", "rate": "1.1", "date": "x"}),
    );
    app.post("/v1/bookings", fx)
        .await
        .expect(400, Some("unknown_field"));
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let app = spawn_app().await;
    let key = Some(app.tenant.key.as_str());
    for (method, path, valid) in json_endpoints() {
        for ct in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/jsonx",
            "",
        ] {
            let res = app
                .raw(
                    method.clone(),
                    path,
                    key,
                    ct,
                    valid.to_string().into_bytes(),
                )
                .await;
            assert_eq!(
                res.status.as_u16(),
                415,
                "{method} {path} {ct:?}: {}",
                res.body
            );
            res.expect(415, Some("unsupported_media_type"));
        }
        // Parameters and case do not matter.
        let res = app
            .raw(
                method.clone(),
                path,
                key,
                "Application/JSON; charset=utf-8",
                valid.to_string().into_bytes(),
            )
            .await;
        assert!(res.status.is_success(), "{method} {path}: {}", res.body);
    }
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let app = spawn_app_with(
        api::ApiConfig {
            workers: 1,
            max_json_bytes: 512,
            ..Default::default()
        },
        "skr03",
    )
    .await;
    let key = Some(app.tenant.key.as_str());
    for (method, path, valid) in json_endpoints() {
        let padded = with(valid.clone(), "description", json!("x".repeat(1000)));
        let res = app.send(method.clone(), path, key, Some(&padded)).await;
        assert_eq!(res.status.as_u16(), 413, "{method} {path}: {}", res.body);
        res.expect(413, Some("payload_too_large"));
    }
    // Below the limit the same endpoint works.
    app.book_ok(transfer("2026-03-14", "1400", "8400", "1.00"))
        .await;
    assert_eq!(app.get("/v1/journal").await.expect(200, None)["total"], 2);
}

#[tokio::test]
async fn unauthenticated_requests_get_401_whatever_their_body() {
    let app = spawn_app_with(
        api::ApiConfig {
            workers: 1,
            max_json_bytes: 512,
            ..Default::default()
        },
        "skr03",
    )
    .await;
    let unknown = format!("kt_{}", "cd".repeat(24));
    for (method, path, _) in json_endpoints() {
        for key in [None, Some(unknown.as_str())] {
            for (ct, body) in [
                ("application/json", b"{\"a\":".to_vec()),
                ("application/json", b"{\"bogus\": 1}".to_vec()),
                ("text/plain", b"hello".to_vec()),
                ("application/json", vec![b' '; 2048]),
            ] {
                let res = app.raw(method.clone(), path, key, ct, body).await;
                assert_eq!(
                    res.status.as_u16(),
                    401,
                    "{method} {path} key {key:?} {ct}: {}",
                    res.body
                );
                res.expect(401, Some("unauthenticated"));
            }
        }
    }
}

#[tokio::test]
async fn unknown_routes_are_404_envelopes() {
    let app = spawn_app().await;
    for (method, path) in [
        (Method::GET, "/v1/nope"),
        (Method::GET, "/nope"),
        (Method::GET, "/v2/accounts"),
        (Method::DELETE, "/v1/accounts"),
        (Method::POST, "/v1/accounts/1200/entries"),
        (Method::PUT, "/v1/tax-codes/USt19"),
        (Method::GET, "/v1/bookings"),
    ] {
        for key in [Some(app.tenant.key.as_str()), None] {
            let res = app.send(method.clone(), path, key, None).await;
            assert_eq!(res.status.as_u16(), 404, "{method} {path}: {}", res.body);
            res.expect(404, Some("not_found"));
        }
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let endpoints = endpoints(&app).await;
    let mut seen = std::collections::HashSet::new();
    for e in &endpoints {
        for key in [Some(app.tenant.key.as_str()), None] {
            let res = call(&app, e, key).await;
            let id = res
                .headers
                .get("x-request-id")
                .unwrap_or_else(|| panic!("{} {}: no X-Request-Id", e.method, e.path));
            assert!(
                seen.insert(id.to_str().unwrap().to_string()),
                "request ids repeat"
            );
            if !res.status.is_success() {
                assert_eq!(res.body["request_id"], id.to_str().unwrap());
            }
        }
    }
    for path in ["/health", "/openapi.json", "/v1/nope"] {
        let res = app.send(Method::GET, path, None, None).await;
        assert!(res.headers.contains_key("x-request-id"), "{path}");
    }
    // A client's own id is echoed, in the header and the envelope.
    let res = app
        .client
        .get(format!("{}/v1/accounts/8888", app.address))
        .bearer_auth(&app.tenant.key)
        .header("x-request-id", "client-trace-42")
        .send()
        .await
        .unwrap();
    let res = into_res(res).await;
    res.expect(404, Some("not_found"));
    assert_eq!(res.headers["x-request-id"], "client-trace-42");
    assert_eq!(res.body["request_id"], "client-trace-42");
}

#[tokio::test]
async fn openapi_documents_every_endpoint() {
    let app = spawn_app().await;
    let public = app.send(Method::GET, "/openapi.json", None, None).await;
    let doc = public.expect(200, None);
    let key = app.key_with_scopes(&["documents:read"]).await;
    let authed = app
        .send(Method::GET, "/v1/openapi.json", Some(&key), None)
        .await;
    assert_eq!(authed.expect(200, None), doc);
    for (method, path) in [
        ("get", "/v1/accounts"),
        ("post", "/v1/accounts"),
        ("get", "/v1/accounts/search"),
        ("get", "/v1/accounts/{number}"),
        ("patch", "/v1/accounts/{number}"),
        ("get", "/v1/accounts/{number}/entries"),
        ("post", "/v1/bookings"),
        ("post", "/v1/bookings/opening-balances"),
        ("get", "/v1/journal"),
        ("get", "/v1/journal/{intent_id}"),
        ("get", "/v1/tax-codes"),
        ("post", "/v1/tax-codes"),
        ("get", "/v1/tax-codes/{code}"),
        ("patch", "/v1/tax-codes/{code}"),
        ("delete", "/v1/tax-codes/{code}"),
        ("post", "/v1/documents"),
        ("get", "/v1/documents/{id}"),
        ("get", "/v1/documents/{id}/file"),
        ("get", "/v1/documents/{id}/preview"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is not in the OpenAPI document"
        );
    }
}
