//! The OpenAPI document against a real `kontor serve`: a Python client generated from it
//! (openapi-python-client) books, reads, reverses and lists periods; schemathesis fuzzes every
//! operation with an API key and with an owner's session, following the document's links, and
//! finds no server error and no answer that contradicts the document. Both tools come from PyPI;
//! `make test` (scripts/test.sh) installs them.

mod common;

use common::*;
use std::path::PathBuf;
use std::process::Command;

fn scripts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts")
}

fn tool(name: &str) -> String {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "{name} is not installed: run the tests with `make test`, which installs it from PyPI"
    );
    name.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_python_client_books_reads_reverses_and_lists_periods() {
    tool("openapi-python-client");
    let store = store().await;
    let (_, key) = tenant(&store).await;
    let server = start(&[]).await;
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("client-{}", free_port()));
    let out = Command::new("python3")
        .arg(scripts().join("api_client_check.py"))
        .args([&server.address, &key, work.to_str().unwrap()])
        .output()
        .expect("python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the generated client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let steps: serde_json::Value = serde_json::from_str(stdout.trim()).expect("steps as JSON");
    assert_eq!(steps["listJournal"], 3);
    let _ = std::fs::remove_dir_all(&work);
}

/// Runs schemathesis over the whole document with `authorization`; returns its output.
fn schemathesis(server: &Server, authorization: &str, exclude: &[&str]) -> String {
    let mut cmd = Command::new(tool("st"));
    cmd.arg("run")
        .arg(format!("{}/openapi.json", server.address))
        .args(["-H", &format!("Authorization: Bearer {authorization}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance",
        ])
        // Bounded: about a minute per run on the CI machine.
        // One worker: CPython 3.11's parser is not safe across the threads schemathesis would use.
        .args(["--max-examples", "10", "--workers", "1", "--no-color"])
        .args(["--seed", "20261125"])
        .current_dir(env!("CARGO_TARGET_TMPDIR"));
    for op in exclude {
        cmd.args(["--exclude-operation-id", op]);
    }
    let out = cmd.output().expect("st run");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "schemathesis found failures:\n{text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_contradiction_with_the_document() {
    let store = store().await;
    let (tenant_id, key, slug) = tenant_with_slug(&store, "st").await;
    let server = start(&[]).await;

    // With an API key: every business operation, following the links (bookings are created).
    let text = schemathesis(&server, &key, &[]);
    assert!(text.contains("Stateful"), "{text}");
    let pool = store::connect(&database_url(), 1).unwrap();
    let client = pool.get().await.unwrap();
    let bookings: i64 = client
        .query_one(
            "SELECT count(*) FROM intents WHERE tenant_id = $1 AND kind = 'booking'",
            &[&tenant_id],
        )
        .await
        .unwrap()
        .get(0);
    assert!(bookings >= 1, "schemathesis created no booking:\n{text}");

    // With an owner's session: the user and key routes too. Logging out would end the
    // session for the rest of the run.
    let email = format!("owner-{slug}@example.com");
    let password = "correct horse battery staple";
    let created = Command::new(env!("CARGO_BIN_EXE_kontor"))
        .args(["admin", "create-user", "--tenant", &slug, "--email", &email])
        .args(["--password", password])
        .env("DATABASE_URL", database_url())
        .env("KONTOR_SECRET", SECRET)
        .output()
        .unwrap();
    assert!(created.status.success(), "{created:?}");
    let login: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/v1/auth/login", server.address))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"]
        .as_str()
        .expect("a session token")
        .to_string();
    schemathesis(&server, &token, &["logout"]);
}
