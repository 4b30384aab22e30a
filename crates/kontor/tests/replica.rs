//! Reads from a streaming replica (`KONTOR_READ_DATABASE_URL`) and the statement timeout
//! (`KONTOR_STATEMENT_TIMEOUT_SECS`), against a real `kontor serve` process: a real standby
//! made by `pg_basebackup -R` beside the test cluster (scripts/pg.sh standby).

mod common;

use common::*;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

fn scripts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg.sh")
}

/// A standby of the test cluster, stopped (by its pid file, through pg.sh) when dropped.
struct Standby {
    dir: PathBuf,
    url: String,
}

impl Standby {
    fn start() -> Standby {
        let dir =
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("standby-{}", free_port()));
        let out = Command::new(scripts())
            .args(["standby", &database_url(), dir.to_str().unwrap()])
            .output()
            .expect("scripts/pg.sh standby");
        assert!(
            out.status.success(),
            "pg.sh standby failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8(out.stdout).unwrap().trim().to_string();
        Standby { dir, url }
    }
}

impl Drop for Standby {
    fn drop(&mut self) {
        let _ = Command::new(scripts())
            .args(["stop", self.dir.to_str().unwrap()])
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn get(client: &reqwest::Client, server: &Server, key: &str, path: &str) -> Value {
    let res = client
        .get(format!("{}{path}", server.address))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200, "GET {path}");
    res.json().await.unwrap()
}

/// The events of the audit export (NDJSON, one per line).
async fn audit_count(client: &reqwest::Client, server: &Server, key: &str) -> usize {
    let res = client
        .get(format!("{}/v1/audit/events?limit=1000", server.address))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200, "GET /v1/audit/events");
    res.text().await.unwrap().lines().count()
}

async fn journal_count(client: &reqwest::Client, server: &Server, key: &str) -> usize {
    get(client, server, key, "/v1/journal?limit=100").await["entries"]
        .as_array()
        .map_or(0, Vec::len)
}

/// The year's debits of 1400 in the trial balance (a report: read where reports are routed).
async fn receivables_debit(client: &reqwest::Client, server: &Server, key: &str) -> String {
    let rows = get(
        client,
        server,
        key,
        "/v1/reports?type=trial_balance&startDate=2026-01-01&endDate=2026-12-31",
    )
    .await;
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["account"] == "1400")
        .map(|r| r["period_debit"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default()
}

async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    // Generous: a loaded CI machine replays slowly; the wait ends as soon as it is there.
    let deadline = Instant::now() + Duration::from_secs(90);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_export_reads_from_the_standby_and_writes_stay_on_the_primary() {
    let store = store().await;
    let standby = Standby::start();
    let replica = store::connect(&standby.url, 1).unwrap();
    let in_recovery: bool = replica
        .get()
        .await
        .unwrap()
        .query_one("SELECT pg_is_in_recovery()", &[])
        .await
        .unwrap()
        .get(0);
    assert!(in_recovery, "the standby is a standby");

    let (tenant_id, key) = tenant(&store).await;
    // Default routes: reports, exports, audit — not the journal.
    let server = start(&[("KONTOR_READ_DATABASE_URL", &standby.url)]).await;
    let client = reqwest::Client::new();
    let book = |i: usize| {
        let req = client
            .post(format!("{}/v1/bookings", server.address))
            .bearer_auth(&key)
            .json(&sale(i));
        async move {
            let res = req.send().await.unwrap();
            assert_eq!(res.status().as_u16(), 201, "bookings go to the primary");
        }
    };
    book(1).await;
    eventually("the standby to replay the first booking", || async {
        audit_count(&client, &server, &key).await == 2
    })
    .await;

    // Stop replay on the standby: what is booked now is on the primary only.
    let standby_client = replica.get().await.unwrap();
    standby_client
        .execute("SELECT pg_wal_replay_pause()", &[])
        .await
        .unwrap();
    book(2).await;
    // The journal list reads the primary: both bookings.
    assert_eq!(journal_count(&client, &server, &key).await, 4);
    // The audit export reads the standby: still the first booking only.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(audit_count(&client, &server, &key).await, 2);
    // So do the reports: the trial balance knows the first sale (101.00) only.
    assert_eq!(receivables_debit(&client, &server, &key).await, "101.00");

    standby_client
        .execute("SELECT pg_wal_replay_resume()", &[])
        .await
        .unwrap();
    eventually("the standby to catch up", || async {
        audit_count(&client, &server, &key).await == 4
    })
    .await;
    assert_eq!(receivables_debit(&client, &server, &key).await, "203.00");
    let _ = tenant_id;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_can_be_routed_to_the_standby_too() {
    let store = store().await;
    let standby = Standby::start();
    let replica = store::connect(&standby.url, 1).unwrap();
    let (_, key) = tenant(&store).await;
    let server = start(&[
        ("KONTOR_READ_DATABASE_URL", &standby.url),
        ("KONTOR_READ_DATABASE_ROUTES", "journal, audit"),
    ])
    .await;
    let client = reqwest::Client::new();
    let standby_client = replica.get().await.unwrap();
    // The tenant exists on the standby before replay stops.
    eventually("the standby to know the tenant", || async {
        client
            .get(format!("{}/v1/journal", server.address))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    })
    .await;
    standby_client
        .execute("SELECT pg_wal_replay_pause()", &[])
        .await
        .unwrap();
    let res = client
        .post(format!("{}/v1/bookings", server.address))
        .bearer_auth(&key)
        .json(&sale(1))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        journal_count(&client, &server, &key).await,
        0,
        "read on the paused standby"
    );
    standby_client
        .execute("SELECT pg_wal_replay_resume()", &[])
        .await
        .unwrap();
    eventually("the journal on the standby", || async {
        journal_count(&client, &server, &key).await == 2
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_read_routes_stop_the_server_at_start() {
    let out = Command::new(env!("CARGO_BIN_EXE_kontor"))
        .arg("serve")
        .env("DATABASE_URL", database_url())
        .env("KONTOR_BIND", format!("127.0.0.1:{}", free_port()))
        .env("KONTOR_READ_DATABASE_URL", database_url())
        .env("KONTOR_READ_DATABASE_ROUTES", "reports,bookings")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("KONTOR_READ_DATABASE_ROUTES"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_past_the_timeout_is_cancelled_with_503_and_others_are_served() {
    let store = store().await;
    let (tenant_id, key) = tenant(&store).await;
    let server = start(&[("KONTOR_STATEMENT_TIMEOUT_SECS", "1")]).await;
    let client = reqwest::Client::new();
    // Hold a lock that the account list must wait for, longer than the timeout.
    let pool = store::connect(&database_url(), 1).unwrap();
    let mut locker = pool.get().await.unwrap();
    let tx = locker.transaction().await.unwrap();
    tx.execute(
        "SELECT 1 FROM accounts WHERE tenant_id = $1 FOR UPDATE",
        &[&tenant_id],
    )
    .await
    .unwrap();
    tx.batch_execute("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let started = Instant::now();
    let res = client
        .get(format!("{}/v1/accounts", server.address))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 503);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "statement_timeout", "{body}");
    assert!(started.elapsed() < Duration::from_secs(20));
    // Another request meanwhile is served.
    let res = client
        .get(format!("{}/health", server.address))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    tx.rollback().await.unwrap();
    let res = client
        .get(format!("{}/v1/accounts", server.address))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
}
