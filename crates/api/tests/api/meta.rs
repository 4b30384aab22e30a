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

/// A server of its own on `url` (not migrated by the harness).
async fn spawn_on(url: &str) -> String {
    let pool = store::connect(url, 2).expect("pool");
    let store = store::Store::new(pool, [7; 32]);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = format!("http://{}", listener.local_addr().unwrap());
    let config = api::ApiConfig {
        workers: 1,
        mail: app::mailer::MailConfig {
            dir: std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("kontor-mail-ready"),
            ..Default::default()
        },
        ..Default::default()
    };
    let server = api::serve(
        listener,
        api::AppState::new(app::App::new(store), config).expect("state"),
    )
    .expect("server");
    tokio::spawn(server);
    address
}

async fn status_of(address: &str, path: &str) -> (u16, serde_json::Value) {
    let res = reqwest::get(format!("{address}{path}")).await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or_default())
}

#[tokio::test]
async fn ready_needs_the_database_and_every_migration_with_its_checksum() {
    // The migrated test database is ready, without credentials.
    let app = spawn_app().await;
    let res = app.send(Method::GET, "/ready", None, None).await;
    assert_eq!(res.expect(200, None)["status"], "ready");

    // A fresh, empty database answers but is not migrated: alive, not ready.
    let url = database_url();
    let (base, _) = url
        .rsplit_once('/')
        .expect("DATABASE_URL ends in /database");
    let name = format!("kontor_ready_{:08x}", rand::random::<u32>());
    let admin = app.store.client().await.unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let fresh_url = format!("{base}/{name}");
    let fresh = spawn_on(&fresh_url).await;
    assert_eq!(status_of(&fresh, "/health").await.0, 200);
    let (status, body) = status_of(&fresh, "/ready").await;
    assert_eq!((status, body["status"].as_str()), (503, Some("not ready")));

    // Migrated: ready.
    let (mut client, connection) = tokio_postgres::connect(&fresh_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    store::migrate::migrate(&mut client).await.unwrap();
    assert_eq!(status_of(&fresh, "/ready").await.0, 200);

    // A migration applied with another checksum, or one missing: not ready.
    client
        .batch_execute(
            "UPDATE schema_migrations SET checksum = 'changed' WHERE version = '0001_foundation'",
        )
        .await
        .unwrap();
    assert_eq!(status_of(&fresh, "/ready").await.0, 503);
    let last = store::migrate::MIGRATIONS.last().unwrap().0;
    client
        .execute(
            "UPDATE schema_migrations SET checksum = $1 WHERE version = '0001_foundation'",
            &[&blake3::hash(store::migrate::MIGRATIONS[0].1.as_bytes())
                .to_hex()
                .to_string()],
        )
        .await
        .unwrap();
    assert_eq!(status_of(&fresh, "/ready").await.0, 200);
    client
        .execute("DELETE FROM schema_migrations WHERE version = $1", &[&last])
        .await
        .unwrap();
    assert_eq!(status_of(&fresh, "/ready").await.0, 503);

    // No database at all: neither alive-with-database nor ready.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gone = spawn_on(&format!("postgres://postgres@127.0.0.1:{port}/kontor")).await;
    assert_eq!(status_of(&gone, "/ready").await.0, 503);
    assert_eq!(status_of(&gone, "/health").await.0, 503);
    drop(client);
    admin
        .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .unwrap();
}

/// The value of one sample line of a Prometheus text scrape (`name{labels} value`).
fn sample(scrape: &str, line_start: &str) -> f64 {
    scrape
        .lines()
        .find(|l| l.starts_with(line_start))
        .unwrap_or_else(|| panic!("no {line_start} in\n{scrape}"))
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_the_bookings_appended() {
    let app = spawn_app().await;
    let scrape = |app: &TestApp| {
        let url = format!("{}/metrics", app.address);
        async move {
            let res = reqwest::get(url).await.unwrap();
            assert_eq!(res.status().as_u16(), 200, "no credentials needed");
            assert!(res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain; version=0.0.4"));
            res.text().await.unwrap()
        }
    };
    let before = scrape(&app).await;
    let booked = |s: &str| {
        s.lines()
            .find(|l| l.starts_with("kontor_bookings_appended_total "))
            .map_or(0.0, |l| l.rsplit(' ').next().unwrap().parse().unwrap())
    };
    app.book_ok(sale("2026-03-14", "100.00", "119.00")).await;
    app.get("/v1/accounts/1400/entries").await.expect(200, None);
    let after = scrape(&app).await;
    // Other tests of this process book too: the counter grew by at least this booking.
    assert!(booked(&after) >= booked(&before) + 1.0, "{after}");
    assert!(
        sample(
            &after,
            r#"kontor_http_requests_total{method="POST",route="/v1/bookings",status="201"}"#
        ) >= 1.0
    );
    // By route pattern, not by path.
    assert!(
        after.contains(r#"route="/v1/accounts/{number}/entries""#),
        "{after}"
    );
    assert!(!after.contains(r#"route="/v1/accounts/1400/entries""#));
    assert!(
        sample(
            &after,
            r#"kontor_http_request_duration_seconds_count{method="POST",route="/v1/bookings"}"#
        ) >= 1.0
    );
    assert!(sample(&after, "kontor_append_batch_size_count") >= 1.0);
    assert!(sample(&after, "kontor_append_commit_seconds_count") >= 1.0);
    assert!(sample(&after, r#"kontor_append_batch_size_bucket{le="256"}"#) >= 1.0);
    assert_eq!(
        sample(&after, r#"kontor_db_pool_connections{state="max"}"#),
        8.0
    );
    assert!(sample(&after, r#"kontor_db_pool_connections{state="idle"}"#) >= 1.0);
    assert_eq!(sample(&after, "kontor_db_pool_waiting "), 0.0);
}

#[tokio::test]
async fn the_interactive_reference_is_served_from_the_binary_at_docs() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client
        .get(format!("{}/docs", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 308);
    assert_eq!(res.headers()["location"], "/docs/");
    // No credentials needed; every asset comes from the binary.
    let page = reqwest::get(format!("{}/docs/", app.address))
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(
        !html.contains("https://"),
        "no asset from the network: {html}"
    );
    for asset in [
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-initializer.js",
    ] {
        let res = reqwest::get(format!("{}/docs/{asset}", app.address))
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200, "{asset}");
        assert!(!res.bytes().await.unwrap().is_empty());
    }
    let init = reqwest::get(format!("{}/docs/swagger-initializer.js", app.address))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(init.contains("/docs/openapi.json"), "{init}");
    let doc: serde_json::Value = reqwest::get(format!("{}/docs/openapi.json", app.address))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let public: serde_json::Value = reqwest::get(format!("{}/openapi.json", app.address))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc, public);
}
