//! `kontor inbox deliver`: a real RFC 822 message with attachments through stdin, as an MTA
//! pipes it; the exit codes an MTA understands (0 delivered, 65 not a message, 67 unknown
//! recipient, 75 try again later).

mod common;

use common::*;
use std::io::Write;
use std::process::{Command, Stdio};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/einvoices/");

fn base64(data: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for (i, chunk) in data.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.push_str("\r\n");
        }
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = ((b[0] as u32) << 16) | ((b[1] as u32) << 8) | b[2] as u32;
        for j in 0..4 {
            if j <= chunk.len() {
                out.push(T[((n >> (18 - 6 * j)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn message(to: &str, attachments: &[(&str, &str)]) -> Vec<u8> {
    let mut m = format!(
        "From: Buchhaltung Schmidt <rechnung@schmidt.example>\r\nTo: {to}\r\nSubject: Rechnung R-2026-0042\r\nMessage-ID: <1@schmidt.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAnbei unsere Rechnung.\r\n"
    );
    for (name, mime) in attachments {
        let content = std::fs::read(format!("{FIXTURES}{name}")).unwrap();
        m.push_str(&format!(
            "--b1\r\nContent-Type: {mime}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            base64(&content)
        ));
    }
    m.push_str("--b1--\r\n");
    m.into_bytes()
}

fn deliver(args: &[&str], stdin: &[u8], database_url: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kontor"))
        .args(["inbox", "deliver"])
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("KONTOR_SECRET", SECRET)
        .env("KONTOR_LOG_FORMAT", "text")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn deliver_puts_each_attachment_into_the_tenants_inbox() {
    let store = store().await;
    let (tenant_id, _key, slug) = tenant_with_slug(&store, "mail").await;
    let app = app::App::new(store.clone());
    let address = app.inbox_address(tenant_id).await.unwrap();
    let msg = message(
        "Acme Eingang <someone@example.com>",
        &[
            ("xrechnung-ubl.xml", "application/xml"),
            ("text-layer.pdf", "application/pdf"),
        ],
    );
    // The envelope recipient decides, as the MTA passes it.
    let (code, out, err) = deliver(&["--recipient", &address], &msg, &database_url());
    assert_eq!(code, 0, "{out}{err}");
    let answer: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(answer["items"].as_array().unwrap().len(), 2, "{answer}");
    let (items, _, _) = app.list_inbox(tenant_id, None, 10, 0, None).await.unwrap();
    assert_eq!(items.len(), 2);
    for item in &items {
        assert_eq!(item.status, "extracted");
        assert_eq!(item.channel, "email");
        assert_eq!(
            item.source_email.as_deref(),
            Some("rechnung@schmidt.example")
        );
        assert_eq!(item.source_subject.as_deref(), Some("Rechnung R-2026-0042"));
        assert!(item.review_case_id.is_some());
    }
    // The same message again: recognised, nothing extracted twice.
    let (code, out, _) = deliver(&["--recipient", &address], &msg, &database_url());
    assert_eq!(code, 0);
    assert!(out.contains("\"duplicate\":true"), "{out}");
    assert_eq!(
        app.list_inbox(tenant_id, None, 10, 0, None)
            .await
            .unwrap()
            .0
            .len(),
        2
    );
    // Without --recipient the To header decides; --tenant overrides everything.
    let one = message(&address, &[("xrechnung-cii.xml", "application/xml")]);
    let (code, _, err) = deliver(&[], &one, &database_url());
    assert_eq!(code, 0, "{err}");
    let zf = message(
        "nobody@example.com",
        &[("zugferd-en16931.pdf", "application/pdf")],
    );
    let (code, _, err) = deliver(&["--tenant", &slug], &zf, &database_url());
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        app.list_inbox(tenant_id, None, 10, 0, None)
            .await
            .unwrap()
            .0
            .len(),
        4
    );
}

#[tokio::test]
async fn deliver_answers_with_the_exit_codes_an_mta_understands() {
    let store = store().await;
    let (tenant_id, _key, _slug) = tenant_with_slug(&store, "mailx").await;
    let app = app::App::new(store.clone());
    let address = app.inbox_address(tenant_id).await.unwrap();
    let msg = message(&address, &[("xrechnung-ubl.xml", "application/xml")]);
    // Unknown recipient: 67, the MTA bounces.
    let (code, _, err) = deliver(
        &["--recipient", "nobody.abc@inbox.localhost"],
        &msg,
        &database_url(),
    );
    assert_eq!(code, 67, "{err}");
    let (code, _, _) = deliver(&["--recipient", "x@other.example"], &msg, &database_url());
    assert_eq!(code, 67);
    let (code, _, _) = deliver(&["--tenant", "no-such-tenant-xyz"], &msg, &database_url());
    assert_eq!(code, 67);
    // The database is unreachable: 75, the MTA keeps the message and tries again.
    let port = free_port();
    let (code, _, err) = deliver(
        &["--recipient", &address],
        &msg,
        &format!("postgres://kontor@127.0.0.1:{port}/kontor?connect_timeout=2"),
    );
    assert_eq!(code, 75, "{err}");
    // Nothing was delivered by any of these.
    assert!(app
        .list_inbox(tenant_id, None, 10, 0, None)
        .await
        .unwrap()
        .0
        .is_empty());
    // A broken attachment of a delivered mail is kept as a failed item (the original stays).
    let broken = format!(
        "From: a@b.example\r\nTo: {address}\r\nSubject: kaputt\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"x\"\r\n\r\n--x\r\nContent-Type: application/xml\r\nContent-Disposition: attachment; filename=\"bad.xml\"\r\n\r\n<Invoice><ID>1\r\n--x--\r\n"
    );
    let (code, _, err) = deliver(&[], broken.as_bytes(), &database_url());
    assert_eq!(code, 0, "{err}");
    let (items, _, _) = app
        .list_inbox(tenant_id, Some("failed"), 10, 0, None)
        .await
        .unwrap();
    assert_eq!(items.len(), 1);
    assert!(
        items[0].failure.as_deref().unwrap().contains("XML"),
        "{:?}",
        items[0].failure
    );
}
