//! The reports bench (`benches/reports.sh`): loads a tenant's journal through the appender,
//! then times the DATEV export and the trial balance through the use cases. One operation per
//! process, so that `/usr/bin/time -v` gives each its own peak memory.
//!
//! ```text
//! reports_bench load <slug> <lines>      # a tenant with <lines> journal lines in 2026
//! reports_bench export <slug>            # DATEV Buchungsstapel of 2026 into a temporary file
//! reports_bench trial-balance <slug>     # Summen- und Saldenliste: the year, a month, a partial month
//! reports_bench balance <slug> <account> # the balance of one account at several dates
//! reports_bench explain <slug> <account> # EXPLAIN (ANALYZE, BUFFERS) of the balance and sums reads
//! ```
//!
//! Reads DATABASE_URL. Prints one JSON object per operation on stdout.

use app::reports::{DatevFormat, Range};
use app::App;
use chrono::{Duration, NaiveDate};
use journal::{Actor, BookingCommand, BookingLineInput};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use std::time::Instant;
use store::tenants::NewTenant;
use store::Store;

/// Concurrent appenders' clients: enough to fill the appender's batches of 256.
const WRITERS: usize = 256;

async fn open() -> Store {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let pool = store::connect(&url, 16).expect("pool");
    let mut client = pool.get().await.expect("connection");
    store::migrate::migrate(&mut client).await.expect("migrate");
    drop(client);
    Store::new(pool, [7u8; 32])
}

fn line(
    account: &str,
    debit: Option<Decimal>,
    credit: Option<Decimal>,
    tax: Option<&str>,
) -> BookingLineInput {
    BookingLineInput {
        account: account.into(),
        debit,
        credit,
        tax_code: tax.map(str::to_string),
        description: None,
        cost_center: None,
    }
}

/// A booking of 2 to 10 lines (4 on average with the generated tax lines): sales with 19 %
/// VAT, purchases with input VAT, and multi-line transfers.
fn booking(rng: &mut StdRng, n: u64) -> (BookingCommand, u64) {
    let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + Duration::days(rng.gen_range(0..365));
    let amount = Decimal::new(rng.gen_range(100..=1_000_000), 2);
    let tax = |rate: &str| {
        (amount * Decimal::from_str_exact(rate).unwrap())
            .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
    };
    let (lines, count) = match rng.gen_range(0..4) {
        0 => (
            vec![
                line("1400", Some(amount + tax("0.19")), None, None),
                line("8400", None, Some(amount), Some("USt19")),
            ],
            3,
        ),
        1 => (
            vec![
                line("4900", Some(amount), None, Some("VSt19")),
                line("1600", None, Some(amount + tax("0.19")), None),
            ],
            3,
        ),
        2 => (
            vec![
                line("1200", Some(amount), None, None),
                line("1400", None, Some(amount), None),
            ],
            2,
        ),
        _ => {
            let parts = rng.gen_range(2..=9u64);
            let mut lines: Vec<BookingLineInput> = (0..parts)
                .map(|i| {
                    let acc = [
                        "4200", "4210", "4930", "4980", "4500", "4600", "4650", "4800", "4900",
                    ][i as usize];
                    line(acc, Some(amount), None, None)
                })
                .collect();
            lines.push(line(
                "1200",
                None,
                Some(amount * Decimal::from(parts)),
                None,
            ));
            (lines, parts + 1)
        }
    };
    let cmd = BookingCommand {
        booking_date: day,
        description: format!("Bench {n}"),
        lines,
        skip_duplicate_check: true,
        adjustment_period: false,
        fx: None,
        external_reference: Some(format!("B-{n}")),
        custom_metadata: None,
        document_id: None,
    };
    (cmd, count)
}

async fn load(slug: &str, lines: u64) {
    let store = open().await;
    let app = App::new(store.clone());
    let tenant = store
        .create_tenant(NewTenant {
            slug: slug.into(),
            name: "Bench GmbH".into(),
            chart: "skr03".into(),
            fiscal_year_start_month: 1,
            currency: "EUR".into(),
        })
        .await
        .expect("tenant (the slug must be new)");
    app.update_settings(
        tenant.id,
        reports::SettingsChange {
            datev_consultant_number: Some(Some(1_234_567)),
            datev_client_number: Some(Some(10_001)),
            ..Default::default()
        },
    )
    .await
    .expect("settings");
    let started = Instant::now();
    let per_writer = lines / WRITERS as u64;
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let app = app.clone();
        let tenant_id = tenant.id;
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(w as u64);
            let mut written = 0u64;
            let mut n = 0u64;
            while written < per_writer {
                let (cmd, count) = booking(&mut rng, (w as u64) << 40 | n);
                app.book(tenant_id, cmd, Actor::system("bench"), None)
                    .await
                    .expect("booking");
                written += count;
                n += 1;
            }
            (written, n)
        }));
    }
    let (mut total, mut bookings) = (0u64, 0u64);
    for t in tasks {
        let (l, b) = t.await.expect("writer");
        total += l;
        bookings += b;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{{\"op\":\"load\",\"tenant\":\"{slug}\",\"lines\":{total},\"bookings\":{bookings},\"seconds\":{secs:.1},\"lines_per_second\":{:.0}}}",
        total as f64 / secs
    );
}

async fn tenant_id(store: &Store, slug: &str) -> uuid::Uuid {
    store.tenant_by_slug(slug).await.expect("tenant").id
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

async fn export(slug: &str) {
    let store = open().await;
    let app = App::new(store.clone());
    let id = tenant_id(&store, slug).await;
    let range = Range::new(date("2026-01-01"), date("2026-12-31")).unwrap();
    let started = Instant::now();
    let export = app
        .datev_export(id, range, DatevFormat::Bookings)
        .await
        .expect("export");
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{{\"op\":\"datev_export\",\"rows\":{},\"bytes\":{},\"seconds\":{secs:.2}}}",
        export.rows, export.len
    );
}

async fn trial_balance(slug: &str) {
    let store = open().await;
    let app = App::new(store.clone());
    let id = tenant_id(&store, slug).await;
    for (name, from, to) in [
        ("year", "2026-01-01", "2026-12-31"),
        ("month", "2026-06-01", "2026-06-30"),
        ("partial_month", "2026-06-01", "2026-06-17"),
    ] {
        let range = Range::new(date(from), date(to)).unwrap();
        // The first run warms the caches; the second is reported.
        app.trial_balance(id, range).await.expect("trial balance");
        let started = Instant::now();
        let tb = app.trial_balance(id, range).await.expect("trial balance");
        let secs = started.elapsed().as_secs_f64();
        assert!(tb.balanced, "trial balance {name} not balanced");
        println!(
            "{{\"op\":\"trial_balance\",\"range\":\"{name}\",\"rows\":{},\"period_debit\":\"{}\",\"seconds\":{secs:.3}}}",
            tb.rows.len(),
            tb.totals.period_debit
        );
    }
}

/// The dates of the balance bench: a month end, mid-month, the first of a month, the day
/// before the year's last, the year end.
const BALANCE_DATES: [(&str, &str); 5] = [
    ("month_end", "2026-06-30"),
    ("mid_month", "2026-06-17"),
    ("month_first", "2026-07-01"),
    ("dec_30", "2026-12-30"),
    ("year_end", "2026-12-31"),
];

/// `Store::balance_at` (a pooled connection, `account_balance_through`) at each of
/// `BALANCE_DATES`: warmed up, then the mean and the fastest of `CALLS` calls one after the other.
async fn balance(slug: &str, account: &str) {
    const CALLS: u32 = 50;
    let store = open().await;
    let id = tenant_id(&store, slug).await;
    for (name, day) in BALANCE_DATES {
        let d = date(day);
        let mut value = Decimal::ZERO;
        for _ in 0..3 {
            value = store.balance_at(id, account, d).await.expect("balance");
        }
        let mut best = f64::MAX;
        let started = Instant::now();
        for _ in 0..CALLS {
            let t = Instant::now();
            let v = store.balance_at(id, account, d).await.expect("balance");
            best = best.min(t.elapsed().as_secs_f64());
            assert_eq!(v, value);
        }
        let mean = started.elapsed().as_secs_f64() / f64::from(CALLS);
        println!(
            "{{\"op\":\"balance\",\"at\":\"{name}\",\"date\":\"{day}\",\"account\":\"{account}\",\"balance\":\"{value}\",\"calls\":{CALLS},\"mean_ms\":{:.3},\"min_ms\":{:.3}}}",
            mean * 1e3,
            best * 1e3
        );
    }
}

/// The plans of the reads, with the parameters the store binds: the balance of `account` at
/// each of `BALANCE_DATES` and the trial balance's sums through 17 June and through the year
/// end.
async fn explain(slug: &str, account: &str) {
    let store = open().await;
    let id = tenant_id(&store, slug).await;
    let calendar = store.tenant_info(id).await.expect("tenant").calendar;
    let client = store.client().await.expect("connection");
    let print = |title: String, rows: Vec<tokio_postgres::Row>| {
        println!("--- {title}");
        for r in rows {
            println!("{}", r.get::<_, String>(0));
        }
    };
    for (name, day) in BALANCE_DATES {
        let d = date(day);
        let cut = store::reports::Cut::of(&calendar, d);
        let sql = store::accounts::BALANCE_THROUGH_SQL.replace("{account}", "account = $2");
        let rows = client
            .query(
                &format!("EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) {sql}"),
                &[
                    &id,
                    &account,
                    &cut.cut,
                    &d,
                    &cut.adjustment,
                    &cut.add_adjustment,
                ],
            )
            .await
            .expect("explain");
        print(format!("balance of {account} through {day} ({name})"), rows);
    }
    for day in ["2026-06-17", "2026-05-31", "2026-12-31"] {
        let d = date(day);
        let cut = store::reports::Cut::of(&calendar, d);
        let rows = client
            .query(
                &format!(
                    "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) {}",
                    store::reports::SUMS_THROUGH_SQL
                ),
                &[&id, &cut.cut, &d, &cut.adjustment, &cut.add_adjustment],
            )
            .await
            .expect("explain");
        print(
            format!("trial balance: sums of every account through {day}"),
            rows,
        );
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("load") => {
            let lines = args.get(3).and_then(|n| n.parse().ok()).expect("lines");
            load(&args[2], lines).await
        }
        Some("export") => export(&args[2]).await,
        Some("trial-balance") => trial_balance(&args[2]).await,
        Some("balance") => balance(&args[2], &args[3]).await,
        Some("explain") => explain(&args[2], &args[3]).await,
        _ => {
            eprintln!(
                "usage: reports_bench load <slug> <lines> | export <slug> | trial-balance <slug> \
                 | balance <slug> <account> | explain <slug> <account>"
            );
            std::process::exit(2);
        }
    }
}
