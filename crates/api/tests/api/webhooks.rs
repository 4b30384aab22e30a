//! Webhooks and the event feed (issue 15), against a real local HTTP receiver: registration
//! and its refusals, signed deliveries, retries after 500s and timeouts, exhaustion, the
//! failed-deliveries list and redelivery, disabling with a mail to the owners, a rolled-back
//! change that sends nothing, SSRF refusals at registration and at delivery, and the feed.

use crate::common::*;
use crate::helpers::*;
use crate::invoices::{create_outgoing, days_ago, invoice};
use crate::partners::customer;
use actix_web::{web, HttpRequest, HttpResponse};
use rand::Rng;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery staple";

// ------------------------------------------------------------------ a real receiver

#[derive(Debug, Clone)]
struct Received {
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }
}

/// What the receiver answers, in order; 200 once the script is used up.
#[derive(Debug, Clone, Copy)]
enum Reply {
    Status(u16),
    /// Answers 200 only after this long (longer than the worker's timeout).
    Slow(Duration),
}

#[derive(Clone, Default)]
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<Reply>>>,
}

impl Receiver {
    async fn start(script: &[Reply]) -> Receiver {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let r = Receiver {
            url,
            received: Arc::default(),
            script: Arc::new(Mutex::new(script.iter().copied().collect())),
        };
        let data = web::Data::new(r.clone());
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        r
    }

    fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits (at most `bound`) until `n` requests arrived.
    async fn wait_for(&self, n: usize, bound: Duration) -> Vec<Received> {
        let deadline = Instant::now() + bound;
        loop {
            let all = self.all();
            if all.len() >= n {
                return all;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {n} requests arrived: {all:?}",
                all.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn receive(req: HttpRequest, body: web::Bytes, r: web::Data<Receiver>) -> HttpResponse {
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                v.to_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    r.received.lock().unwrap().push(Received {
        headers,
        body: body.to_vec(),
    });
    let reply = r.script.lock().unwrap().pop_front();
    match reply {
        None => HttpResponse::Ok().finish(),
        Some(Reply::Status(code)) => {
            HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap()).finish()
        }
        Some(Reply::Slow(d)) => {
            tokio::time::sleep(d).await;
            HttpResponse::Ok().finish()
        }
    }
}

// ------------------------------------------------------------------ the app under test

/// Fast test settings: private addresses allowed, these retry delays (seconds), quick polls,
/// a 1 s timeout; the worker serves only `tenant` (the tests share one database).
fn config(retries: &str, tenant: Uuid) -> app::webhooks::WebhookConfig {
    app::webhooks::WebhookConfig {
        retry_schedule: webhooks::RetrySchedule::parse(retries).unwrap(),
        allow_private: true,
        poll_interval: Duration::from_millis(50),
        timeout: Duration::from_secs(1),
        tenants: Some(vec![tenant]),
    }
}

/// A server whose App has these webhook settings (`tenant` None: this test's tenant), and,
/// with `worker`, its delivery worker running.
async fn spawn_webhook_app(
    retries: &str,
    allow_private: bool,
    worker: bool,
) -> (TestApp, app::App) {
    let mail_dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "kontor-mail-{:016x}",
        rand::thread_rng().gen::<u64>()
    ));
    let mut api_config = api::ApiConfig {
        workers: 1,
        ..Default::default()
    };
    api_config.mail.dir = mail_dir.clone();
    api_config.login_failures_per_address = 1_000_000;
    let store = test_store().await;
    let tenant = create_tenant(&store, "skr03").await;
    let mut cfg = config(retries, tenant.id);
    cfg.allow_private = allow_private;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let state =
        api::AppState::new(app::App::new(store.clone()).with_webhooks(cfg), api_config).unwrap();
    let app = state.app.clone();
    tokio::spawn(api::serve(listener, state).unwrap());
    if worker {
        tokio::spawn(app.clone().run_webhook_worker());
    }
    (
        TestApp {
            address,
            mail_dir,
            store,
            tenant,
            client: reqwest::Client::new(),
        },
        app,
    )
}

/// A logged-in user of the app's tenant with this role; returns (session token, email).
async fn session(app: &TestApp, role: &str) -> (String, String) {
    let email = format!("{}-{}@acme.test", role, Uuid::now_v7().simple());
    let member = app
        .store
        .invite_user(app.tenant.id, &email, "Olga Owner", role)
        .await
        .unwrap();
    let hash = api::passwords::hash_blocking(PASSWORD).unwrap();
    app.store.set_password(member.id, &hash).await.unwrap();
    let res = app
        .send(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(&json!({"email": email, "password": PASSWORD})),
        )
        .await;
    let token = res.expect(200, None)["token"].as_str().unwrap().to_string();
    (token, email)
}

async fn owner(app: &TestApp) -> String {
    session(app, "owner").await.0
}

async fn call(app: &TestApp, token: &str, method: Method, path: &str, body: Option<Value>) -> Res {
    app.send(method, path, Some(token), body.as_ref()).await
}

/// Registers a webhook for `events`; returns (id, secret).
async fn register(app: &TestApp, token: &str, url: &str, events: Value) -> (String, String) {
    let res = call(
        app,
        token,
        Method::POST,
        "/v1/webhooks",
        Some(json!({"url": url, "events": events, "description": "test receiver"})),
    )
    .await;
    let b = res.expect(201, None);
    (
        b["id"].as_str().unwrap().to_string(),
        b["secret"].as_str().unwrap().to_string(),
    )
}

async fn deliveries(app: &TestApp, token: &str, id: &str, which: &str) -> Vec<Value> {
    call(
        app,
        token,
        Method::GET,
        &format!("/v1/webhooks/{id}/{which}"),
        None,
    )
    .await
    .expect(200, None)
    .as_array()
    .unwrap()
    .clone()
}

/// Waits until the webhook's newest delivery has this status.
async fn wait_status(app: &TestApp, token: &str, id: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let all = deliveries(app, token, id, "deliveries").await;
        if let Some(d) = all.first().filter(|d| d["status"] == status) {
            return d.clone();
        }
        assert!(Instant::now() < deadline, "no {status} delivery: {all:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn sale_booking() -> Value {
    transfer("2026-03-14", "1400", "8400", "119.00")
}

// ------------------------------------------------------------------ the tests

#[tokio::test]
async fn webhook_endpoints_need_an_owner_session() {
    let (app, _) = spawn_webhook_app("1", true, false).await;
    let id = Uuid::now_v7();
    let endpoints: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::POST,
            "/v1/webhooks".into(),
            Some(json!({"url": "https://hooks.example.com/", "events": ["*"]})),
        ),
        (Method::GET, "/v1/webhooks".into(), None),
        (Method::GET, format!("/v1/webhooks/{id}"), None),
        (
            Method::PATCH,
            format!("/v1/webhooks/{id}"),
            Some(json!({"active": false})),
        ),
        (Method::DELETE, format!("/v1/webhooks/{id}"), None),
        (
            Method::POST,
            format!("/v1/webhooks/{id}/rotate-secret"),
            None,
        ),
        (Method::GET, format!("/v1/webhooks/{id}/deliveries"), None),
        (
            Method::GET,
            format!("/v1/webhooks/{id}/failed_deliveries"),
            None,
        ),
        (
            Method::POST,
            format!("/v1/webhooks/{id}/deliveries/{}/redeliver", Uuid::now_v7()),
            None,
        ),
    ];
    let (accountant, _) = session(&app, "accountant").await;
    for (method, path, body) in &endpoints {
        // An API key, even the owner's full-scope one: 403 owner_session_required.
        app.send(method.clone(), path, Some(&app.tenant.key), body.as_ref())
            .await
            .expect(403, Some("owner_session_required"));
        // No credentials: 401.
        app.send(method.clone(), path, None, body.as_ref())
            .await
            .expect(401, Some("unauthenticated"));
        // Another role's session: 403 role_forbidden.
        app.send(method.clone(), path, Some(&accountant), body.as_ref())
            .await
            .expect(403, Some("role_forbidden"));
    }
}

#[tokio::test]
async fn webhooks_are_registered_changed_rotated_and_deleted() {
    let (app, _) = spawn_webhook_app("1", true, false).await;
    let token = owner(&app).await;
    let res = call(
        &app,
        &token,
        Method::POST,
        "/v1/webhooks",
        Some(json!({"url": "https://hooks.example.com/kontor", "events": ["invoice.paid", "booking.created"]})),
    )
    .await;
    let created = res.expect(201, None).clone();
    let id = created["id"].as_str().unwrap().to_string();
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(
        secret.starts_with("whsec_") && secret.len() > 30,
        "{secret}"
    );
    assert_eq!(
        created["events"],
        json!(["invoice.paid", "booking.created"])
    );
    assert_eq!(created["active"], true);
    assert!(created["description"].is_null());
    assert!(created["created_at"].is_string());

    // Lists and reads never show the secret.
    let list = call(&app, &token, Method::GET, "/v1/webhooks", None).await;
    let list = list.expect(200, None).clone();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0].get("secret").is_none());
    let got = call(
        &app,
        &token,
        Method::GET,
        &format!("/v1/webhooks/{id}"),
        None,
    )
    .await;
    assert!(got.expect(200, None).get("secret").is_none());
    assert!(!got.body.to_string().contains(&secret));

    // PATCH: each field, description cleared with null.
    let patched = call(
        &app,
        &token,
        Method::PATCH,
        &format!("/v1/webhooks/{id}"),
        Some(json!({"events": ["*"], "description": "ERP", "active": false, "url": "https://other.example.com/x"})),
    )
    .await;
    let p = patched.expect(200, None);
    assert_eq!(p["events"], json!(["*"]));
    assert_eq!(p["description"], "ERP");
    assert_eq!(p["active"], false);
    assert_eq!(p["url"], "https://other.example.com/x");
    let cleared = call(
        &app,
        &token,
        Method::PATCH,
        &format!("/v1/webhooks/{id}"),
        Some(json!({"description": null})),
    )
    .await;
    assert!(cleared.expect(200, None)["description"].is_null());
    assert_eq!(cleared.body["events"], json!(["*"]));

    // Rotation: a new secret, once.
    let rotated = call(
        &app,
        &token,
        Method::POST,
        &format!("/v1/webhooks/{id}/rotate-secret"),
        None,
    )
    .await;
    let new_secret = rotated.expect(200, None)["secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(new_secret.starts_with("whsec_"));
    assert_ne!(new_secret, secret);

    // Bad bodies: 400 with the field.
    for (body, code) in [
        (
            json!({"url": "ftp://hooks.example.com/", "events": ["*"]}),
            "invalid_webhook_url",
        ),
        (
            json!({"url": "not a url", "events": ["*"]}),
            "invalid_webhook_url",
        ),
        (
            json!({"url": "https://u:p@hooks.example.com/", "events": ["*"]}),
            "invalid_webhook_url",
        ),
        (
            json!({"url": "https://hooks.example.com/", "events": ["invoice.deleted"]}),
            "unknown_event",
        ),
        (
            json!({"url": "https://hooks.example.com/", "events": ["*", "invoice.paid"]}),
            "unknown_event",
        ),
        (
            json!({"url": "https://hooks.example.com/", "events": []}),
            "invalid_events",
        ),
        (
            json!({"url": "https://hooks.example.com/", "events": ["*"], "description": "x".repeat(501)}),
            "invalid_description",
        ),
    ] {
        let res = call(
            &app,
            &token,
            Method::POST,
            "/v1/webhooks",
            Some(body.clone()),
        )
        .await;
        res.expect(400, Some(code));
        assert!(!field_errors(&res.body).is_empty(), "{body}: {}", res.body);
    }
    for body in [
        json!({"url": "https://hooks.example.com/", "events": ["*"], "secret": "mine"}),
        json!({"events": ["*"]}),
        json!({"url": "https://hooks.example.com/", "events": "invoice.paid"}),
    ] {
        call(&app, &token, Method::POST, "/v1/webhooks", Some(body))
            .await
            .expect(400, None);
    }
    let malformed = app
        .client
        .post(format!("{}/v1/webhooks", app.address))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"url\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    call(
        &app,
        &token,
        Method::PATCH,
        &format!("/v1/webhooks/{id}"),
        Some(json!({"events": ["nope"]})),
    )
    .await
    .expect(400, Some("unknown_event"));
    call(
        &app,
        &token,
        Method::PATCH,
        &format!("/v1/webhooks/{id}"),
        Some(json!({"colour": "red"})),
    )
    .await
    .expect(400, None);

    // Another tenant's owner sees none of it: 404.
    let other = as_tenant(&app, app.other_tenant().await);
    let other_token = owner(&other).await;
    for (method, path) in [
        (Method::GET, format!("/v1/webhooks/{id}")),
        (Method::DELETE, format!("/v1/webhooks/{id}")),
        (Method::POST, format!("/v1/webhooks/{id}/rotate-secret")),
        (Method::GET, format!("/v1/webhooks/{id}/deliveries")),
        (Method::GET, format!("/v1/webhooks/{id}/failed_deliveries")),
        (Method::GET, "/v1/webhooks/not-a-uuid".to_string()),
    ] {
        call(&other, &other_token, method, &path, None)
            .await
            .expect(404, Some("not_found"));
    }
    call(
        &other,
        &other_token,
        Method::PATCH,
        &format!("/v1/webhooks/{id}"),
        Some(json!({"active": true})),
    )
    .await
    .expect(404, Some("not_found"));
    let listed = call(&other, &other_token, Method::GET, "/v1/webhooks", None).await;
    assert_eq!(listed.expect(200, None), &json!([]));

    // Delete: gone.
    call(
        &app,
        &token,
        Method::DELETE,
        &format!("/v1/webhooks/{id}"),
        None,
    )
    .await
    .expect(200, None);
    call(
        &app,
        &token,
        Method::GET,
        &format!("/v1/webhooks/{id}"),
        None,
    )
    .await
    .expect(404, Some("not_found"));
}

#[tokio::test]
async fn webhook_urls_into_private_networks_are_refused() {
    // KONTOR_WEBHOOKS_ALLOW_PRIVATE off, as in production.
    let (app, _) = spawn_webhook_app("1", false, false).await;
    let token = owner(&app).await;
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/",
        "http://192.168.1.1/",
        "http://172.16.3.4/",
        "http://[fe80::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://2130706433/",
    ] {
        let res = call(
            &app,
            &token,
            Method::POST,
            "/v1/webhooks",
            Some(json!({"url": url, "events": ["*"]})),
        )
        .await;
        res.expect(400, Some("webhook_url_forbidden"));
        assert_eq!(field_errors(&res.body), vec!["url".to_string()], "{url}");
    }
    // A name is resolved at registration: this machine's own host name points to a loopback
    // address (on machines where it resolves so; a name that does not resolve yet is
    // accepted, and every delivery checks again).
    let me = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let me = me.trim();
    if let Ok(addresses) = tokio::net::lookup_host((me, 80)).await {
        let addresses: Vec<std::net::IpAddr> = addresses.map(|a| a.ip()).collect();
        if !addresses.is_empty() && addresses.iter().all(|a| webhooks::is_forbidden(*a)) {
            call(
                &app,
                &token,
                Method::POST,
                "/v1/webhooks",
                Some(json!({"url": format!("http://{me}:9999/hook"), "events": ["*"]})),
            )
            .await
            .expect(400, Some("webhook_url_forbidden"));
        }
    }
    // A public address is fine; changing it to a private one is refused too.
    let (id, _) = register(&app, &token, "https://93.184.216.34/hook", json!(["*"])).await;
    call(
        &app,
        &token,
        Method::PATCH,
        &format!("/v1/webhooks/{id}"),
        Some(json!({"url": "http://127.0.0.1/"})),
    )
    .await
    .expect(400, Some("webhook_url_forbidden"));
}

#[tokio::test]
async fn the_resolved_address_is_checked_again_at_delivery() {
    // Registered where private addresses were allowed; the worker that delivers refuses them
    // (as after a DNS change): nothing reaches the receiver, the attempt says why.
    let (app, registering) = spawn_webhook_app("", true, false).await;
    let receiver = Receiver::start(&[]).await;
    let token = owner(&app).await;
    let (id, _) = register(&app, &token, &receiver.url, json!(["*"])).await;
    app.book_ok(sale_booking()).await;
    let mut strict = registering.webhook_config().clone();
    strict.allow_private = false;
    let worker = registering.with_webhooks(strict);
    let deadline = Instant::now() + Duration::from_secs(20);
    while worker.deliver_due().await.unwrap() == 0 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let d = wait_status(&app, &token, &id, "failed").await;
    assert!(d["last_status_code"].is_null());
    let error = d["last_error"].as_str().unwrap();
    assert!(error.contains("127.0.0.1"), "{error}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(receiver.all().is_empty(), "a refused address was contacted");
}

#[tokio::test]
async fn deliveries_are_signed_and_carry_the_event() {
    let (app, _) = spawn_webhook_app("1,1", true, true).await;
    let receiver = Receiver::start(&[]).await;
    let token = owner(&app).await;
    let (id, secret) = register(&app, &token, &receiver.url, json!(["*"])).await;
    let intent = app.book_ok(sale_booking()).await;
    let got = receiver.wait_for(1, Duration::from_secs(20)).await;
    let r = &got[0];
    // The signature verifies with the secret, over "<t>.<raw body>", within the window.
    let sig = r.header("x-kontor-signature");
    let now = chrono::Utc::now().timestamp();
    assert_eq!(
        webhooks::verify(sig, &secret, &r.body, now, webhooks::REPLAY_WINDOW_SECS),
        Ok(())
    );
    assert_eq!(
        webhooks::verify(
            sig,
            "whsec_wrong",
            &r.body,
            now,
            webhooks::REPLAY_WINDOW_SECS
        ),
        Err(webhooks::SignatureError::Mismatch)
    );
    // The same computation a receiver does by hand (docs/api.md).
    let (t, v1) = sig.split_once(',').unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let v1 = v1.strip_prefix("v1=").unwrap();
    assert_eq!(v1, webhooks::sign(&secret, t.parse().unwrap(), &r.body));
    assert!((now - t.parse::<i64>().unwrap()).abs() < 60);

    let body = r.json();
    assert_eq!(body["event"], "booking.created");
    assert_eq!(body["version"], 1);
    assert_eq!(body["sequence"], 1);
    assert_eq!(body["tenant"], app.tenant.slug);
    assert_eq!(body["data"]["intent_id"], intent);
    assert_eq!(body["data"]["total_debit"], "119.00");
    assert!(body["id"].as_str().unwrap().parse::<Uuid>().is_ok());
    assert!(body["created_at"].is_string());
    assert_eq!(r.header("x-kontor-event"), "booking.created");
    assert_eq!(r.header("content-type"), "application/json");
    let delivery = r.header("x-kontor-delivery").to_string();
    assert_eq!(r.header("idempotency-key"), delivery);

    // Recorded as delivered, with the attempt.
    let d = wait_status(&app, &token, &id, "delivered").await;
    assert_eq!(d["id"], delivery);
    assert_eq!(d["event_id"], body["id"]);
    assert_eq!(d["attempts"], 1);
    assert_eq!(d["attempt_log"][0]["status_code"], 200);
    assert!(d["attempt_log"][0]["duration_ms"].is_number());
    assert!(deliveries(&app, &token, &id, "failed_deliveries")
        .await
        .is_empty());

    // The feed shows the same event.
    let feed = app.get("/v1/events").await;
    let feed = feed.expect(200, None);
    assert_eq!(feed["events"][0], body);
    assert!(feed["next_cursor"].is_string());
}

#[tokio::test]
async fn deliveries_are_retried_after_500s_and_timeouts() {
    let (app, _) = spawn_webhook_app("1,1,1", true, true).await;
    // 500, then no answer within the 1 s timeout, then 200.
    let receiver =
        Receiver::start(&[Reply::Status(500), Reply::Slow(Duration::from_secs(3))]).await;
    let token = owner(&app).await;
    let (id, secret) = register(&app, &token, &receiver.url, json!(["booking.created"])).await;
    app.book_ok(sale_booking()).await;
    let got = receiver.wait_for(3, Duration::from_secs(30)).await;
    // One delivery id across the retries, a fresh valid signature each time, the same body.
    let delivery = got[0].header("x-kontor-delivery").to_string();
    for r in &got {
        assert_eq!(r.header("x-kontor-delivery"), delivery);
        assert_eq!(r.header("idempotency-key"), delivery);
        assert_eq!(r.body, got[0].body);
        let now = chrono::Utc::now().timestamp();
        assert_eq!(
            webhooks::verify(r.header("x-kontor-signature"), &secret, &r.body, now, 300),
            Ok(())
        );
    }
    let d = wait_status(&app, &token, &id, "delivered").await;
    assert_eq!(d["attempts"], 3);
    let log = d["attempt_log"].as_array().unwrap();
    assert_eq!(log[0]["status_code"], 500);
    assert_eq!(log[0]["error"], "HTTP 500");
    assert!(log[1]["status_code"].is_null());
    assert!(
        log[1]["error"].as_str().unwrap().contains("timeout"),
        "{}",
        log[1]
    );
    assert_eq!(log[2]["status_code"], 200);
    assert!(log[2]["error"].is_null());
}

#[tokio::test]
async fn an_exhausted_delivery_is_listed_and_can_be_redelivered() {
    let (app, _) = spawn_webhook_app("1", true, true).await;
    let receiver = Receiver::start(&[Reply::Status(500), Reply::Status(503)]).await;
    let token = owner(&app).await;
    let (id, _) = register(&app, &token, &receiver.url, json!(["*"])).await;
    app.book_ok(sale_booking()).await;
    let failed = wait_status(&app, &token, &id, "failed").await;
    assert_eq!(failed["attempts"], 2);
    assert_eq!(failed["last_status_code"], 503);
    assert!(failed["next_attempt_at"].is_null());
    let listed = deliveries(&app, &token, &id, "failed_deliveries").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], failed["id"]);
    let delivery = failed["id"].as_str().unwrap();

    // Redelivery: the same delivery id, a new attempt, this time received.
    let res = call(
        &app,
        &token,
        Method::POST,
        &format!("/v1/webhooks/{id}/deliveries/{delivery}/redeliver"),
        None,
    )
    .await;
    assert_eq!(res.expect(202, None)["status"], "pending");
    let d = wait_status(&app, &token, &id, "delivered").await;
    assert_eq!(d["attempts"], 3);
    let got = receiver.wait_for(3, Duration::from_secs(5)).await;
    assert_eq!(got[2].header("x-kontor-delivery"), delivery);
    assert!(deliveries(&app, &token, &id, "failed_deliveries")
        .await
        .is_empty());
    // An unknown delivery: 404.
    call(
        &app,
        &token,
        Method::POST,
        &format!("/v1/webhooks/{id}/deliveries/{}/redeliver", Uuid::now_v7()),
        None,
    )
    .await
    .expect(404, Some("not_found"));
}

#[tokio::test]
async fn a_webhook_whose_last_five_events_failed_is_disabled_and_the_owner_mailed() {
    // No retries: each event fails at its first attempt.
    let (app, _) = spawn_webhook_app("", true, true).await;
    let receiver = Receiver::start(&[Reply::Status(500); 20]).await;
    let (token, email) = session(&app, "owner").await;
    let (id, _) = register(&app, &token, &receiver.url, json!(["booking.created"])).await;
    for _ in 0..4 {
        app.book_ok(sale_booking()).await;
    }
    receiver.wait_for(4, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let hook = call(
        &app,
        &token,
        Method::GET,
        &format!("/v1/webhooks/{id}"),
        None,
    )
    .await;
    assert_eq!(
        hook.expect(200, None)["active"],
        true,
        "four failures are not five"
    );
    app.book_ok(sale_booking()).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let hook = call(
            &app,
            &token,
            Method::GET,
            &format!("/v1/webhooks/{id}"),
            None,
        )
        .await;
        if hook.body["active"] == false {
            assert!(
                hook.body["disabled_reason"]
                    .as_str()
                    .unwrap()
                    .contains("five")
                    || hook.body["disabled_reason"].as_str().unwrap().contains('5')
            );
            break;
        }
        assert!(Instant::now() < deadline, "not disabled: {}", hook.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The owner got a mail naming the webhook.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mail = loop {
        let mails: Vec<String> = std::fs::read_dir(&app.mail_dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default();
        if let Some(m) = mails.into_iter().find(|m| m.contains("disabled")) {
            break m;
        }
        assert!(Instant::now() < deadline, "no mail");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(mail.contains(&email), "{mail}");
    assert!(mail.replace("=\r\n", "").contains(&id), "{mail}");
    // Disabled: events are not posted to it until the owner turns it on again.
    let before = receiver.all().len();
    app.book_ok(sale_booking()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.all().len(), before);
    let on = call(
        &app,
        &token,
        Method::PATCH,
        &format!("/v1/webhooks/{id}"),
        Some(json!({"active": true})),
    )
    .await;
    assert!(on.expect(200, None)["disabled_reason"].is_null());
    app.book_ok(sale_booking()).await;
    let got = receiver.wait_for(before + 1, Duration::from_secs(20)).await;
    assert_eq!(got[before].json()["sequence"], 7);
}

#[tokio::test]
async fn a_change_that_rolls_back_sends_nothing() {
    let (app, _) = spawn_webhook_app("1", true, true).await;
    let receiver = Receiver::start(&[]).await;
    let token = owner(&app).await;
    register(&app, &token, &receiver.url, json!(["*"])).await;
    // An event written in a transaction that then rolls back (as any use case's does when a
    // later step fails).
    {
        let mut client = app.store.client().await.unwrap();
        let tx = client.transaction().await.unwrap();
        store::webhooks::insert_events(
            &tx,
            app.tenant.id,
            &[store::webhooks::NewEvent::new(
                "customer.created",
                1,
                json!({"rolled": "back"}),
            )],
        )
        .await
        .unwrap();
        tx.rollback().await.unwrap();
    }
    // A change whose commit fails after its event and deliveries were written: a deferred
    // constraint trigger (test-only, for this one customer name) refuses the commit.
    let db = sql().await;
    db.batch_execute(
        "CREATE OR REPLACE FUNCTION kontor_test_refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'test: the commit fails'; END $$;
         DROP TRIGGER IF EXISTS kontor_test_refuse_commit ON feed_events;
         CREATE CONSTRAINT TRIGGER kontor_test_refuse_commit AFTER INSERT ON feed_events
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
             WHEN (NEW.data->>'name' = 'Rollback im Commit GmbH')
             EXECUTE FUNCTION kontor_test_refuse_commit();",
    )
    .await
    .unwrap();
    let failed = app
        .post("/v1/customers", json!({"name": "Rollback im Commit GmbH"}))
        .await;
    db.batch_execute("DROP TRIGGER kontor_test_refuse_commit ON feed_events")
        .await
        .unwrap();
    failed.expect(500, None);
    // Refused changes write nothing either.
    app.post(
        "/v1/bookings",
        transfer("2026-03-14", "1400", "8400", "0.00"),
    )
    .await
    .expect(400, None);
    app.post("/v1/customers", json!({"name": ""}))
        .await
        .expect(400, None);
    // The next committed change is number 1: nothing was sent, and the feed has no gap.
    app.book_ok(sale_booking()).await;
    let got = receiver.wait_for(1, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got_after = receiver.all();
    assert_eq!(got_after.len(), 1, "{got:?}");
    assert_eq!(got_after[0].json()["event"], "booking.created");
    assert_eq!(got_after[0].json()["sequence"], 1);
    let feed = app.get("/v1/events").await;
    let events = feed.expect(200, None)["events"].as_array().unwrap().clone();
    assert_eq!(events.len(), 1);
}

#[tokio::test]
async fn the_event_feed_is_gapless_in_commit_order_and_paged_by_cursor() {
    let (app, _) = spawn_webhook_app("1", true, false).await;
    let (customer_id, _) = customer(&app, "Kunde GmbH").await;
    app.book_ok(sale_booking()).await;
    let inv = create_outgoing(&app, invoice(&customer_id, "R-1", &days_ago(1), "100.00")).await;
    let inv_id = inv["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/v1/outgoing-invoices/{inv_id}/payments"),
        json!({"date": days_ago(0), "amount": "119.00", "account": "1200"}),
    )
    .await
    .expect(201, None);
    app.send(
        Method::PUT,
        &format!("/v1/customers/{customer_id}"),
        Some(&app.tenant.key),
        Some(&json!({"name": "Kunde AG"})),
    )
    .await
    .expect(200, None);
    // Concurrent bookings: numbered without gaps, in commit order.
    let mut handles = Vec::new();
    for _ in 0..10 {
        let (client, address, key) = (
            app.client.clone(),
            app.address.clone(),
            app.tenant.key.clone(),
        );
        handles.push(tokio::spawn(async move {
            let r = client
                .post(format!("{address}/v1/bookings"))
                .bearer_auth(key)
                .json(&sale_booking())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/events?limit=3&cursor={c}"),
            None => "/v1/events?limit=3".to_string(),
        };
        let page = app.get(&path).await.expect(200, None).clone();
        let events = page["events"].as_array().unwrap().clone();
        cursor = page["next_cursor"].as_str().map(str::to_string);
        if events.is_empty() {
            break;
        }
        all.extend(events);
    }
    let names: Vec<&str> = all.iter().map(|e| e["event"].as_str().unwrap()).collect();
    let sequences: Vec<i64> = all
        .iter()
        .map(|e| e["sequence"].as_i64().unwrap())
        .collect();
    assert_eq!(
        sequences,
        (1..=all.len() as i64).collect::<Vec<_>>(),
        "{names:?}"
    );
    // customer.created, booking.created, the invoice's booking and invoice.created, the
    // payment's booking and invoice.paid, customer.updated, ten bookings.
    assert_eq!(
        &names[..7],
        &[
            "customer.created",
            "booking.created",
            "booking.created",
            "invoice.created",
            "booking.created",
            "invoice.paid",
            "customer.updated"
        ]
    );
    assert_eq!(names.len(), 17, "{names:?}");
    assert_eq!(all[3]["data"]["invoice_id"], inv_id.as_str());
    assert_eq!(all[5]["data"]["status"], "paid");
    assert_eq!(all[5]["data"]["remaining_amount"], "0.00");
    assert_eq!(all[6]["data"]["name"], "Kunde AG");
    // The cursor of the last page stays usable: polling with it returns what comes next.
    let last = cursor.expect("a cursor at the end");
    app.book_ok(sale_booking()).await;
    let next = app.get(&format!("/v1/events?cursor={last}")).await;
    let next = next.expect(200, None);
    assert_eq!(next["events"][0]["sequence"], 18);
    // A malformed cursor starts from the beginning.
    let first = app.get("/v1/events?cursor=nonsense&limit=1").await;
    assert_eq!(first.expect(200, None)["events"][0]["sequence"], 1);

    // Scope journal:read; other tenants see their own (empty) feed.
    let no_read = app.key_with_scopes(&["bank:read"]).await;
    app.send(Method::GET, "/v1/events", Some(&no_read), None)
        .await
        .expect(403, Some("scope_missing"));
    let reader = app.key_with_scopes(&["journal:read"]).await;
    app.send(Method::GET, "/v1/events", Some(&reader), None)
        .await
        .expect(200, None);
    app.send(Method::GET, "/v1/events", None, None)
        .await
        .expect(401, Some("unauthenticated"));
    let other = app.other_tenant().await;
    let theirs = app
        .send(Method::GET, "/v1/events", Some(&other.key), None)
        .await;
    assert_eq!(theirs.expect(200, None)["events"], json!([]));
    assert!(theirs.body["next_cursor"].is_null());
}

#[tokio::test]
async fn period_events_and_invoice_overdue_once() {
    let (app, worker) = spawn_webhook_app("1", true, false).await;
    let (customer_id, _) = customer(&app, "Spät GmbH").await;
    let mut body = invoice(&customer_id, "R-9", &days_ago(20), "100.00");
    body["due_date"] = json!(days_ago(2));
    let inv = create_outgoing(&app, body).await;
    // The job emits invoice.overdue once, however often it runs.
    assert!(worker.emit_overdue_invoices().await.unwrap() >= 1);
    assert_eq!(worker.emit_overdue_invoices().await.unwrap(), 0);
    app.post("/v1/periods/2026-03/soft-lock", json!({}))
        .await
        .expect(200, None);
    app.post("/v1/periods/2026-03/reopen", json!({}))
        .await
        .expect(200, None);
    let feed = app.get("/v1/events?limit=500").await;
    let events = feed.expect(200, None)["events"].as_array().unwrap().clone();
    let overdue: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "invoice.overdue")
        .collect();
    assert_eq!(overdue.len(), 1, "{events:?}");
    assert_eq!(overdue[0]["data"]["invoice_id"], inv["id"]);
    assert_eq!(overdue[0]["data"]["status"], "overdue");
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert!(
        names.ends_with(&["period.soft_locked", "period.reopened"]),
        "{names:?}"
    );
    let soft = &events[events.len() - 2];
    assert_eq!(soft["data"]["period"], "2026-03");
    assert_eq!(soft["data"]["status"], "soft_locked");
}

#[tokio::test]
async fn several_workers_post_each_delivery_once_in_sequence_order() {
    // Three workers on one database (as three replicas): each webhook is leased by one worker
    // at a time, so every delivery goes out once, and each webhook's in sequence order.
    let (app, worker) = spawn_webhook_app("1", true, true).await;
    for _ in 0..2 {
        tokio::spawn(worker.clone().run_webhook_worker());
    }
    let (first, second) = (Receiver::start(&[]).await, Receiver::start(&[]).await);
    let token = owner(&app).await;
    register(&app, &token, &first.url, json!(["booking.created"])).await;
    register(&app, &token, &second.url, json!(["*"])).await;
    let mut handles = Vec::new();
    for _ in 0..20 {
        let (client, address, key) = (
            app.client.clone(),
            app.address.clone(),
            app.tenant.key.clone(),
        );
        handles.push(tokio::spawn(async move {
            let r = client
                .post(format!("{address}/v1/bookings"))
                .bearer_auth(key)
                .json(&sale_booking())
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    for receiver in [&first, &second] {
        receiver.wait_for(20, Duration::from_secs(30)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for receiver in [&first, &second] {
        let got = receiver.all();
        assert_eq!(got.len(), 20, "each event once per webhook");
        let sequences: Vec<i64> = got
            .iter()
            .map(|r| r.json()["sequence"].as_i64().unwrap())
            .collect();
        assert_eq!(sequences, (1..=20).collect::<Vec<_>>(), "in sequence order");
    }
}

#[tokio::test]
async fn bank_imports_reconciliation_and_reversals_are_events() {
    let (app, _) = spawn_webhook_app("1", true, false).await;
    let account = crate::bank_import::bank_account(
        &app,
        json!({"name": "Giro", "iban": "DE89370400440532013000"}),
    )
    .await;
    let row = |amount: &str, reference: &str| {
        json!({"booking_date": "2026-03-02", "value_date": "2026-03-02", "amount": amount,
               "currency": "EUR", "counterparty_name": "Haus KG",
               "remittance_info": format!("Miete {reference}"), "end_to_end_id": reference})
    };
    let body = json!({"bank_account_id": account,
                      "transactions": [row("-1190.00", "M-1"), row("-50.00", "M-2")]});
    app.post("/v1/bank-transactions", body.clone())
        .await
        .expect(201, None);
    // A re-import that brings nothing new is no event.
    app.post("/v1/bank-transactions", body)
        .await
        .expect(201, None);
    let events = app.get("/v1/events").await.expect(200, None)["events"].clone();
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["event"], "bank_transaction.imported");
    let data = &events[0]["data"];
    assert_eq!(data["imported"], 2);
    assert_eq!(data["bank_account_id"], account.as_str());
    let ids = data["bank_transaction_ids"].as_array().unwrap().clone();
    assert_eq!(ids.len(), 2);

    let t = ids[0].as_str().unwrap();
    let res = app
        .post(
            &format!("/v1/bank-transactions/{t}/reconcile"),
            json!({"candidate_kind": "account", "account": "4210"}),
        )
        .await;
    let intent = res.expect(200, None)["intent_id"]
        .as_str()
        .unwrap()
        .to_string();
    app.post(
        "/v1/journal/reverse",
        json!({"intent_id": intent, "reason": "wrong account", "posting_mode": "swap"}),
    )
    .await
    .expect(201, None);
    let events = app.get("/v1/events").await.expect(200, None)["events"].clone();
    let names: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "bank_transaction.imported",
            "booking.created",
            "bank_transaction.reconciled",
            "journal.reversed"
        ]
    );
    assert_eq!(events[2]["data"]["bank_transaction_ids"], json!([t]));
    assert_eq!(events[2]["data"]["intent_id"], intent.as_str());
    assert_eq!(events[3]["data"]["reversal_of"], intent.as_str());
    assert_eq!(events[3]["data"]["kind"], "reversal");
}

#[tokio::test]
async fn payment_runs_and_period_locks_are_events() {
    let (app, _) = spawn_webhook_app("1", true, false).await;
    let bank = Uuid::now_v7();
    sql()
        .await
        .execute(
            "INSERT INTO bank_accounts (tenant_id, id, name, iban, bic, currency, ledger_account, created_by)
             VALUES ($1, $2, 'Hausbank', 'DE44500105175407324931', 'COBADEFFXXX', 'EUR', '1200',
                     '{\"kind\":\"system\",\"id\":\"test\"}')",
            &[&app.tenant.id, &bank],
        )
        .await
        .unwrap();
    let vendor = app
        .post(
            "/v1/vendors",
            json!({"name": "Lieferant GmbH", "iban": "DE89370400440532013000"}),
        )
        .await;
    let vendor_id = vendor.expect(201, None)["id"].as_str().unwrap().to_string();
    let today = chrono::Utc::now().date_naive();
    let invoice = app
        .post(
            "/v1/invoices",
            json!({"vendor_id": vendor_id, "invoice_number": "ER-1", "invoice_date": today.to_string(),
                   "due_date": (today + chrono::Duration::days(10)).to_string(),
                   "lines": [{"description": "Material", "unit_price": "100.00", "tax_code": "VSt19", "account": "3400"}]}),
        )
        .await;
    let invoice_id = invoice.expect(201, None)["id"]
        .as_str()
        .unwrap()
        .to_string();
    let run = app
        .post(
            "/v1/payment-runs",
            json!({"bank_account_id": bank, "execution_date": (today + chrono::Duration::days(1)).to_string(),
                   "invoice_ids": [invoice_id]}),
        )
        .await;
    let run_id = run.expect(201, None)["id"].as_str().unwrap().to_string();
    let path = format!("/v1/payment-runs/{run_id}");
    let second = app.key_with_scopes(&["*"]).await;
    app.send(
        Method::POST,
        &format!("{path}/approve"),
        Some(&second),
        None,
    )
    .await
    .expect(200, None);
    app.post(&format!("{path}/export"), json!({}))
        .await
        .expect(200, None);
    app.post(&format!("{path}/complete"), json!({}))
        .await
        .expect(200, None);

    // A lock requested by one principal and approved by another.
    let request = app.post("/v1/periods/2025-01/lock", json!({})).await;
    let request_id = request.expect(201, None)["request_id"]
        .as_str()
        .unwrap()
        .to_string();
    app.send(
        Method::POST,
        &format!("/v1/periods/2025-01/lock/{request_id}/approve"),
        Some(&second),
        None,
    )
    .await
    .expect(200, None);

    let events = app.get("/v1/events").await.expect(200, None)["events"].clone();
    let events = events.as_array().unwrap();
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "vendor.created",
            "booking.created",
            "invoice.created",
            "payment_run.approved",
            "payment_run.exported",
            "booking.created",
            "invoice.paid",
            "payment_run.completed",
            "period.lock_requested",
            "period.locked"
        ],
    );
    assert_eq!(events[3]["data"]["payment_run_id"], run_id.as_str());
    assert_eq!(events[4]["data"]["status"], "exported");
    assert_eq!(events[6]["data"]["invoice_id"], invoice_id.as_str());
    let completed = &events[7]["data"];
    assert_eq!(completed["status"], "completed");
    assert_eq!(completed["invoice_ids"], json!([invoice_id]));
    assert_eq!(
        completed["payment_intent_ids"][0],
        events[5]["data"]["intent_id"]
    );
    assert_eq!(events[8]["data"]["request_id"], request_id.as_str());
    let locked = &events[9]["data"];
    assert_eq!(locked["status"], "locked");
    assert_eq!(locked["closing_hash"].as_str().unwrap().len(), 64);
}
