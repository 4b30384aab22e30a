//! `kontor verify` against a real database: an event or closing changed behind the service's
//! back (as the database superuser, bypassing the append-only triggers) is named exactly.

use journal::{Actor, BookingCommand, BookingLineInput, PeriodId};
use rand::Rng;
use rust_decimal::Decimal;
use std::process::Command;
use store::appender::{AppendCommand, AppendRequest};
use store::tenants::NewTenant;
use store::Store;

fn database_url() -> String {
    std::env::var("DATABASE_URL").expect("DATABASE_URL is not set: run the tests with `make test`")
}

async fn store() -> Store {
    let pool = store::connect(&database_url(), 4).unwrap();
    let mut client = pool.get().await.unwrap();
    store::migrate::migrate(&mut client).await.unwrap();
    drop(client);
    Store::new(pool, rand::thread_rng().gen())
}

/// A tenant with a few bookings in January and February and January locked.
async fn ledger(store: &Store) -> (uuid::Uuid, String) {
    let slug = format!("verify-{:08x}", rand::thread_rng().gen::<u32>());
    let tenant = store
        .create_tenant(NewTenant {
            slug: slug.clone(),
            name: "Prüfung GmbH".into(),
            chart: "skr03".into(),
            fiscal_year_start_month: 1,
            currency: "EUR".into(),
        })
        .await
        .unwrap();
    for (date, amount) in [
        ("2026-01-10", "119.00"),
        ("2026-01-20", "59.50"),
        ("2026-02-03", "238.00"),
    ] {
        let net = (amount.parse::<Decimal>().unwrap() / Decimal::new(119, 2)).round_dp(2);
        let cmd = BookingCommand {
            booking_date: date.parse().unwrap(),
            description: format!("Rechnung vom {date}"),
            lines: vec![
                BookingLineInput {
                    account: "1400".into(),
                    debit: Some(amount.parse().unwrap()),
                    credit: None,
                    tax_code: None,
                    description: None,
                    cost_center: None,
                },
                BookingLineInput {
                    account: "8400".into(),
                    debit: None,
                    credit: Some(net),
                    tax_code: Some("USt19".into()),
                    description: None,
                    cost_center: None,
                },
            ],
            skip_duplicate_check: false,
            adjustment_period: false,
            fx: None,
            external_reference: None,
            custom_metadata: None,
            document_id: None,
        };
        store
            .append(
                tenant.id,
                AppendRequest {
                    cmd: AppendCommand::Booking(cmd),
                    actor: Actor::system("test"),
                    idempotency: None,
                },
            )
            .await
            .unwrap();
    }
    let jan: PeriodId = "2026-01".parse().unwrap();
    let request = store
        .request_period_lock(tenant.id, jan, &Actor::system("requester"))
        .await
        .unwrap();
    store
        .approve_period_lock(tenant.id, jan, request.id, &Actor::system("approver"))
        .await
        .unwrap();
    (tenant.id, slug)
}

fn verify(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kontor"))
        .arg("verify")
        .args(args)
        .env("DATABASE_URL", database_url())
        .output()
        .expect("run kontor verify");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

async fn superuser() -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(&database_url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}

#[tokio::test]
async fn verify_names_exactly_the_event_changed_behind_the_services_back() {
    let store = store().await;
    let (tenant_id, slug) = ledger(&store).await;
    let (ok, out) = verify(&["--tenant", &slug]);
    assert!(ok, "{out}");
    assert!(
        out.contains("9 events, chain intact; 1 closing hashes match"),
        "{out}"
    );

    let db = superuser().await;
    // The service's own connection may not change an event.
    let refused = db
        .execute(
            "UPDATE journal_events SET payload = payload WHERE tenant_id = $1 AND seq = 5",
            &[&tenant_id],
        )
        .await;
    let refused = refused.unwrap_err();
    assert!(
        refused
            .as_db_error()
            .unwrap()
            .message()
            .contains("append-only"),
        "{refused:?}"
    );
    // A superuser can, by switching triggers off for the session: change one amount.
    db.batch_execute("SET session_replication_role = replica")
        .await
        .unwrap();
    db.execute(
        "UPDATE journal_events SET payload = jsonb_set(payload, '{amount}', '\"50.01\"') WHERE tenant_id = $1 AND seq = 5",
        &[&tenant_id],
    )
    .await
    .unwrap();
    let (ok, out) = verify(&["--tenant", &slug]);
    assert!(!ok, "verify must fail: {out}");
    assert!(out.contains("MISMATCH at event seq 5:"), "{out}");
}

#[tokio::test]
async fn verify_names_a_changed_closing_hash_and_a_broken_link() {
    let store = store().await;
    let (tenant_id, slug) = ledger(&store).await;
    let db = superuser().await;
    db.batch_execute("SET session_replication_role = replica")
        .await
        .unwrap();
    db.execute(
        "UPDATE period_closings SET closing_hash = decode(repeat('ab', 32), 'hex') WHERE tenant_id = $1 AND period = '2026-01'",
        &[&tenant_id],
    )
    .await
    .unwrap();
    let (ok, out) = verify(&["--tenant", &slug]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("period 2026-01: stored closing hash abab"),
        "{out}"
    );

    // Removing an event leaves a gap that is named.
    let (tenant_id, slug) = ledger(&store).await;
    db.execute(
        "DELETE FROM entries WHERE tenant_id = $1 AND seq = 3",
        &[&tenant_id],
    )
    .await
    .unwrap();
    db.execute(
        "DELETE FROM journal_events WHERE tenant_id = $1 AND seq = 3",
        &[&tenant_id],
    )
    .await
    .unwrap();
    let (ok, out) = verify(&["--tenant", &slug]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("MISMATCH at event seq 4: expected seq 3"),
        "{out}"
    );
}

#[tokio::test]
async fn verify_checks_an_ndjson_export_and_its_closing_hashes() {
    let store = store().await;
    let (tenant_id, _) = ledger(&store).await;
    let events = store.events(tenant_id, 1, 1000).await.unwrap();
    let lines: Vec<String> = events
        .iter()
        .map(|e| {
            serde_json::json!({"seq": e.seq, "prev_hash": hex::encode(&e.prev_hash), "hash": hex::encode(&e.hash),
                               "payload": e.payload})
            .to_string()
        })
        .collect();
    let jan = store
        .get_period(tenant_id, "2026-01".parse().unwrap())
        .await
        .unwrap();
    let periods = serde_json::json!([{"period": "2026-01", "status": "locked",
        "locked_at": jan.locked_at.unwrap().to_rfc3339(), "closing_hash": hex::encode(jan.closing_hash.unwrap())}]);
    let dir =
        std::env::temp_dir().join(format!("kontor-verify-{}", rand::thread_rng().gen::<u32>()));
    std::fs::create_dir_all(&dir).unwrap();
    let export = dir.join("export.ndjson");
    let periods_file = dir.join("periods.json");
    std::fs::write(&export, lines.join("\n")).unwrap();
    std::fs::write(&periods_file, periods.to_string()).unwrap();

    let (ok, out) = verify(&[
        "--file",
        export.to_str().unwrap(),
        "--periods",
        periods_file.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    assert!(
        out.contains("9 events, chain intact; 1 closing hashes match"),
        "{out}"
    );

    // Change the description of event 2 in the file.
    let tampered: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if i == 1 {
                l.replace("Rechnung vom", "Gutschrift vom")
            } else {
                l.clone()
            }
        })
        .collect();
    std::fs::write(&export, tampered.join("\n")).unwrap();
    let (ok, out) = verify(&["--file", export.to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(out.contains("MISMATCH at event seq 2:"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}
