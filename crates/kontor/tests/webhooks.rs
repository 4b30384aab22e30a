//! Webhook retries survive a restart (issue 15): a real `kontor serve` process posts to a
//! local receiver that answers 500, is killed between two attempts, and a new process goes on
//! with the retry schedule kept in the database, with the same delivery id, until the receiver
//! answers 200.

mod common;

use common::*;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One request as the receiver saw it: (X-Kontor-Delivery, body).
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A minimal HTTP/1.1 receiver on 127.0.0.1: answers 500 to the first `failures` requests,
/// then 200; each connection is closed after its answer.
async fn receiver(failures: usize) -> (String, Seen) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Headers, then Content-Length bytes of body.
                let (head_end, length) = loop {
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (i + 4, length);
                    }
                };
                while buf.len() < head_end + length {
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let delivery = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("x-kontor-delivery")
                            .then(|| v.trim().to_string())
                    })
                    .unwrap_or_default();
                let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
                let n = {
                    let mut seen = log.lock().unwrap();
                    seen.push((delivery, body));
                    seen.len()
                };
                let status = if n <= failures {
                    "500 Internal Server Error"
                } else {
                    "200 OK"
                };
                let answer =
                    format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (url, seen)
}

/// The delivery's status and attempts; the status is "leased" while a worker holds the
/// webhook (between claiming and releasing it).
async fn delivery_state(store: &store::Store, tenant: uuid::Uuid) -> Option<(String, i32)> {
    let db = store.client().await.unwrap();
    db.query_opt(
        "SELECT CASE WHEN w.delivering_until > now() THEN 'leased' ELSE d.status END, d.attempts
           FROM webhook_deliveries d JOIN webhooks w ON w.tenant_id = d.tenant_id AND w.id = d.webhook_id
          WHERE d.tenant_id = $1",
        &[&tenant],
    )
    .await
    .unwrap()
    .map(|r| (r.get(0), r.get(1)))
}

async fn wait_until<F: Fn(&Option<(String, i32)>) -> bool>(
    store: &store::Store,
    tenant: uuid::Uuid,
    what: &str,
    ok: F,
) -> Option<(String, i32)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let state = delivery_state(store, tenant).await;
        if ok(&state) {
            return state;
        }
        assert!(Instant::now() < deadline, "{what}: {state:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_retries_survive_a_server_restart() {
    let store = store().await;
    let (tenant_id, token, slug) = tenant_with_slug(&store, "hooks").await;
    let (url, seen) = receiver(2).await;
    let secret = "whsec_restart_test";
    store
        .create_webhook(
            tenant_id,
            &store::webhooks::NewWebhookRow {
                id: uuid::Uuid::now_v7(),
                url: &url,
                events: &["*".to_string()],
                description: None,
                secret,
                created_by: "test",
            },
        )
        .await
        .unwrap();
    let tenants = tenant_id.to_string();
    let env = [
        ("KONTOR_WEBHOOK_WORKER", "on"),
        ("KONTOR_WEBHOOK_TENANTS", tenants.as_str()),
        ("KONTOR_WEBHOOKS_ALLOW_PRIVATE", "1"),
        ("KONTOR_WEBHOOK_RETRY_SCHEDULE", "2,2,2"),
        ("KONTOR_WEBHOOK_POLL_MS", "100"),
    ];
    let first = start(&env).await;
    let client = reqwest::Client::new();
    let res = client
        .post(format!("{}/v1/bookings", first.address))
        .bearer_auth(&token)
        .json(&sale(1))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);

    // The first attempt fails (500) and is recorded with its retry, the worker lets go of the
    // webhook; then the process dies.
    wait_until(
        &store,
        tenant_id,
        "first attempt recorded",
        |s| matches!(s, Some((status, 1)) if status == "pending"),
    )
    .await;
    drop(first); // kill -9
    assert_eq!(seen.lock().unwrap().len(), 1);

    // A new process takes over the retries from the database.
    let second = start(&env).await;
    let state = wait_until(
        &store,
        tenant_id,
        "delivered after the restart",
        |s| matches!(s, Some((status, _)) if status == "delivered"),
    )
    .await;
    assert_eq!(state, Some(("delivered".to_string(), 3)));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "{seen:?}");
    // One delivery id across the processes, the same signed body.
    assert!(!seen[0].0.is_empty());
    assert!(seen.iter().all(|(d, b)| d == &seen[0].0 && b == &seen[0].1));
    let body: serde_json::Value = serde_json::from_str(&seen[0].1).unwrap();
    assert_eq!(body["event"], "booking.created");
    assert_eq!(body["tenant"], slug);
    assert_eq!(body["sequence"], 1);
    assert!(second.log().contains("webhook attempt"));
}
