//! Operations of a real `kontor serve` process: its log lines, its graceful shutdown on SIGTERM
//! and SIGINT, and `kontor serve --help`.

mod common;

use common::*;
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_are_json_lines_with_request_id_method_path_status_and_tenant() {
    let store = store().await;
    let (tenant_id, token) = tenant(&store).await;
    let mut server = start(&[]).await;
    let res = reqwest::Client::new()
        .post(format!("{}/v1/bookings", server.address))
        .bearer_auth(&token)
        .header("x-request-id", "ops-log-1")
        .json(&sale(1))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    server.signal("TERM");
    assert!(server.wait(Duration::from_secs(30)).success());
    let log = server.log();
    assert!(!log.contains('\u{1b}'), "no ANSI escapes in a log file");
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let request = lines
        .iter()
        .find(|l| l["request_id"] == "ops-log-1")
        .unwrap_or_else(|| panic!("no line of the request in\n{log}"));
    assert_eq!(request["level"], "INFO");
    assert_eq!(request["method"], "POST");
    assert_eq!(request["path"], "/v1/bookings");
    assert_eq!(request["status"], 201);
    assert_eq!(request["tenant"], tenant_id.to_string());
    assert!(lines.iter().any(|l| l["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("shutting down"))));

    // KONTOR_LOG_FORMAT=text overrides: plain text lines, still without escapes off a terminal.
    let mut server = start(&[("KONTOR_LOG_FORMAT", "text")]).await;
    server.signal("INT");
    assert!(server.wait(Duration::from_secs(30)).success());
    let log = server.log();
    assert!(log.contains("kontor listening"), "{log}");
    assert!(!log.contains('\u{1b}'), "{log}");
    assert!(log.lines().all(|l| !l.starts_with('{')), "{log}");
}

/// SIGTERM (and SIGINT) while bookings are in flight: each request is answered 201 or failed
/// to connect before it was accepted; every 201 is in the journal; the process exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_on_sigterm_and_sigint_under_load_answers_every_accepted_request_and_exits_0() {
    let store = store().await;
    for signal in ["TERM", "INT"] {
        let (tenant_id, token) = tenant(&store).await;
        let mut server = start(&[("KONTOR_SHUTDOWN_TIMEOUT_SECS", "20")]).await;
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        // Ten bookings certainly in flight: headers and half the body sent before the signal,
        // the rest after it.
        let (go, _) = tokio::sync::broadcast::channel::<()>(1);
        let mut slow = Vec::new();
        for i in 50..60 {
            let mut stream =
                tokio::net::TcpStream::connect(server.address.trim_start_matches("http://"))
                    .await
                    .unwrap();
            let body = sale(i).to_string();
            let head = format!(
                "POST /v1/bookings HTTP/1.1\r\nHost: kontor\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let mut go = go.subscribe();
            slow.push(tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let (first, rest) = body.split_at(body.len() / 2);
                stream.write_all(head.as_bytes()).await.unwrap();
                stream.write_all(first.as_bytes()).await.unwrap();
                go.recv().await.unwrap();
                stream.write_all(rest.as_bytes()).await.unwrap();
                let mut answer = String::new();
                stream.read_to_string(&mut answer).await.unwrap();
                answer
            }));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut requests = Vec::new();
        for i in 0..50 {
            let (client, token) = (client.clone(), token.clone());
            let url = format!("{}/v1/bookings", server.address);
            requests.push(tokio::spawn(async move {
                client
                    .post(url)
                    .bearer_auth(token)
                    .json(&sale(i))
                    .send()
                    .await
            }));
            if i == 25 {
                server.signal(signal);
                tokio::time::sleep(Duration::from_millis(100)).await;
                go.send(()).unwrap();
            }
        }
        let mut booked = Vec::new();
        for answer in slow {
            let answer = answer.await.unwrap();
            assert!(answer.starts_with("HTTP/1.1 201"), "SIG{signal}: {answer}");
            let (_, body) = answer.split_once("\r\n\r\n").unwrap();
            let body: Value = serde_json::from_str(body).unwrap();
            booked.push(body["intent_id"].as_str().unwrap().to_string());
        }
        let mut refused = 0;
        for r in requests {
            match r.await.unwrap() {
                Ok(res) => {
                    assert_eq!(res.status().as_u16(), 201, "SIG{signal}");
                    let body: Value = res.json().await.expect("a whole answer");
                    booked.push(body["intent_id"].as_str().unwrap().to_string());
                }
                // Refused, or accepted by the kernel (or the acceptor) but closed unread once
                // the server stopped accepting: the log below shows the server served none of
                // them.
                Err(e) => {
                    assert!(e.is_connect() || e.is_request(), "SIG{signal}: {e:?}");
                    refused += 1;
                }
            }
        }
        let status = server.wait(Duration::from_secs(30));
        assert!(status.success(), "SIG{signal}: exit status {status:?}");
        // Every request the server served is logged with its status, and reached its client.
        let served: Vec<Value> = server
            .log()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|l| l["path"] == "/v1/bookings")
            .collect();
        assert!(
            served.iter().all(|l| l["status"] == 201),
            "SIG{signal}: {served:?}"
        );
        assert_eq!(
            served.len(),
            booked.len(),
            "SIG{signal}: every request served was answered"
        );
        let db = store.client().await.unwrap();
        let journal: std::collections::BTreeSet<String> = db
            .query(
                "SELECT intent_id::text FROM intents WHERE tenant_id = $1",
                &[&tenant_id],
            )
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.get(0))
            .collect();
        for id in &booked {
            assert!(journal.contains(id), "SIG{signal}: answered {id} is booked");
        }
        assert_eq!(
            journal.len(),
            booked.len(),
            "SIG{signal}: nothing booked without an answer ({refused} refused)"
        );
    }
}

/// `kontor serve --help` lists every variable of the table in docs/operations.md with the
/// default the table gives.
#[test]
fn serve_help_lists_every_setting_of_the_docs_with_its_default() {
    let docs = include_str!("../../../docs/operations.md");
    let table = docs
        .split("## Configuration")
        .nth(1)
        .expect("a Configuration section")
        .lines()
        .skip_while(|l| !l.starts_with("| variable |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'));
    let rows: Vec<(String, String)> = table
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (cells[1].replace('`', ""), cells[2].replace('`', ""))
        })
        .collect();
    assert!(rows.len() >= 20, "rows parsed: {rows:?}");
    let out = Command::new(env!("CARGO_BIN_EXE_kontor"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for (name, default) in &rows {
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} is not in `kontor serve --help`:\n{help}"));
        assert!(
            line.contains(&format!("(default: {default})")),
            "{name}: the docs say the default is {default:?}, --help says {line:?}"
        );
    }
    // And nothing in --help that the docs do not list.
    let listed = help
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("      "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.starts_with("KONTOR_") || *w == "DATABASE_URL" || *w == "RUST_LOG")
        .count();
    assert_eq!(listed, rows.len(), "{help}");
}

/// With `KONTOR_METRICS_BIND`, `/metrics` is served there alone, not on `KONTOR_BIND`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_on_their_own_address_with_kontor_metrics_bind() {
    let store = store().await;
    let (_, token) = tenant(&store).await;
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let mut server = start(&[("KONTOR_METRICS_BIND", bind.as_str())]).await;
    let client = reqwest::Client::new();
    let res = client
        .post(format!("{}/v1/bookings", server.address))
        .bearer_auth(&token)
        .json(&sale(7))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let main = client
        .get(format!("{}/metrics", server.address))
        .send()
        .await
        .unwrap();
    assert_eq!(main.status().as_u16(), 404);
    let own = client
        .get(format!("http://{bind}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status().as_u16(), 200);
    let text = own.text().await.unwrap();
    assert!(text.contains("kontor_bookings_appended_total 1"), "{text}");
    assert!(
        text.contains(
            r#"kontor_http_requests_total{method="POST",route="/v1/bookings",status="201"} 1"#
        ),
        "{text}"
    );
    drop(client);
    server.signal("TERM");
    assert!(server.wait(Duration::from_secs(30)).success());
}
