//! What the tests of a real `kontor serve` process share: the database, a tenant with a key,
//! starting the server (stderr into a file, extra variables such as the test-only
//! `KONTOR_FAULT`), and a booking body.
#![allow(dead_code)]

use rand::Rng;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use store::tenants::NewTenant;
use store::Store;

pub const SECRET: &str = "ops-test secret, at least 32 characters long!";

pub fn database_url() -> String {
    std::env::var("DATABASE_URL").expect("DATABASE_URL is not set: run the tests with `make test`")
}

pub async fn store() -> Store {
    let pool = store::connect(&database_url(), 4).unwrap();
    let mut client = pool.get().await.unwrap();
    store::migrate::migrate(&mut client).await.unwrap();
    drop(client);
    Store::new(
        pool,
        blake3::derive_key("kontor 2026-11 api key hashing", SECRET.as_bytes()),
    )
}

/// A new tenant (its slug begins with `prefix`) and a full-scope key of it.
pub async fn tenant_with_slug(store: &Store, prefix: &str) -> (uuid::Uuid, String, String) {
    let slug = format!("{prefix}-{:08x}", rand::thread_rng().gen::<u32>());
    let tenant = store
        .create_tenant(NewTenant {
            slug: slug.clone(),
            name: "Betrieb GmbH".into(),
            chart: "skr03".into(),
            fiscal_year_start_month: 1,
            currency: "EUR".into(),
        })
        .await
        .unwrap();
    let (_, token) = store
        .create_api_key(tenant.id, "ops", &["*".to_string()], "unlimited", None)
        .await
        .unwrap();
    (tenant.id, token, slug)
}

/// A new tenant and a full-scope key of it.
pub async fn tenant(store: &Store) -> (uuid::Uuid, String) {
    let (id, token, _) = tenant_with_slug(store, "t").await;
    (id, token)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Server {
    pub child: Child,
    pub address: String,
    pub log: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name}");
    }

    /// Waits (at most `bound`) for the process to exit.
    pub fn wait(&mut self, bound: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + bound;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "kontor serve did not exit within {bound:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap()
    }
}

/// `kontor serve` with stderr into a file (not a terminal), with these extra variables.
pub async fn start(env: &[(&str, &str)]) -> Server {
    let port = free_port();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let log = dir.join(format!("kontor-serve-{port}.log"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kontor"));
    cmd.arg("serve")
        .env("DATABASE_URL", database_url())
        .env("KONTOR_BIND", format!("127.0.0.1:{port}"))
        .env("KONTOR_SECRET", SECRET)
        .env(
            "KONTOR_MAIL_DIR",
            dir.join(format!("kontor-serve-mail-{port}")),
        )
        .env("KONTOR_WORKERS", "2")
        .env("RUST_LOG", "info,tokio_postgres=warn")
        // The tests share one database: a webhook worker in every server would deliver other
        // tests' webhooks. A test that wants one turns it on for its own tenant.
        .env("KONTOR_WEBHOOK_WORKER", "off")
        .env_remove("KONTOR_FAULT")
        .env_remove("KONTOR_LOG_FORMAT")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let server = Server {
        child: cmd.spawn().expect("kontor serve"),
        address: format!("http://127.0.0.1:{port}"),
        log,
    };
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("{}/ready", server.address)).send().await {
            if r.status().is_success() {
                return server;
            }
        }
        assert!(Instant::now() < deadline, "kontor serve did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn sale(i: usize) -> Value {
    json!({
        "booking_date": "2026-03-14",
        "description": format!("Rechnung {i}"),
        "lines": [
            {"account": "1400", "debit": format!("{}.00", 100 + i)},
            {"account": "8400", "credit": format!("{}.00", 100 + i)}
        ]
    })
}
