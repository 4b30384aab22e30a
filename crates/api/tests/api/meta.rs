//! The OpenAPI document describes every route the server has, and the health check.

use crate::common::*;
use reqwest::Method;

/// (method, path) of every `/v1` route registered in routes/mod.rs.
fn registered_routes() -> Vec<(String, String)> {
    // Whitespace removed, so that however rustfmt wraps a `.route(` call it reads the same.
    let source: String = include_str!("../../src/routes/mod.rs")
        .split_whitespace()
        .collect();
    source
        .split(".route(\"")
        .skip(1)
        .filter_map(|rest| {
            let (path, rest) = rest.split_once('"')?;
            let method = rest.strip_prefix(",web::")?.split('(').next()?;
            Some((method.to_string(), format!("/v1{path}")))
        })
        .filter(|(_, p)| p != "/v1/openapi.json")
        .collect()
}

#[tokio::test]
async fn openapi_describes_every_route() {
    let app = spawn_app().await;
    let public = app.send(Method::GET, "/openapi.json", None, None).await;
    let doc = public.expect(200, None).clone();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let routes = registered_routes();
    assert!(routes.len() >= 40, "routes parsed: {}", routes.len());
    for (method, path) in routes {
        let op = &doc["paths"][&path][&method];
        assert!(
            op.is_object(),
            "{method} {path} is not in the OpenAPI document"
        );
        assert!(
            op["responses"].is_object(),
            "{method} {path} has no responses"
        );
    }
    // The same document under /v1 needs a key.
    app.send(Method::GET, "/v1/openapi.json", None, None)
        .await
        .expect(401, Some("unauthenticated"));
    let res = app.get("/v1/openapi.json").await;
    assert_eq!(res.expect(200, None)["paths"], doc["paths"]);
}

#[tokio::test]
async fn health_reports_the_database() {
    let app = spawn_app().await;
    let res = app.send(Method::GET, "/health", None, None).await;
    assert_eq!(res.expect(200, None)["status"], "ok");
}
