//! Reports and the DATEV export against the real PostgreSQL.
//!
//! - The per-account sums of a range (`App::account_sums`: whole months from `account_balances`,
//!   partial months and early period-13 entries from `entries`) equal plain sums over `entries`,
//!   on random books with period-13 bookings across three fiscal years.
//! - The DATEV file of a small book, byte for byte (the clock is fixed).
//! - The DATEV file of a larger random book, rule by rule: 125 fields per row, positive amounts
//!   with S/H, and per account the rows add up to the trial balance's movements.
//!
//! Needs DATABASE_URL (`scripts/test.sh -p app`). `REPORTS_SEED=<n>` replays a run.
mod common;

use common::*;

use app::reports::{DatevFormat, Range};
use app::App;
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use journal::{Actor, BookingCommand, BookingLineInput};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::io::Read;
use std::str::FromStr;
use store::Store;
use uuid::Uuid;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
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

fn booking(
    date: NaiveDate,
    text: &str,
    reference: Option<&str>,
    lines: Vec<BookingLineInput>,
) -> BookingCommand {
    BookingCommand {
        booking_date: date,
        description: text.into(),
        lines,
        skip_duplicate_check: false,
        adjustment_period: false,
        fx: None,
        external_reference: reference.map(str::to_string),
        custom_metadata: None,
        document_id: None,
    }
}

async fn set_datev_numbers(app: &App, tenant_id: Uuid) {
    app.update_settings(
        tenant_id,
        reports::SettingsChange {
            datev_consultant_number: Some(Some(1_234_567)),
            datev_client_number: Some(Some(10_001)),
            ..Default::default()
        },
    )
    .await
    .expect("settings");
}

async fn export_text(app: &App, tenant_id: Uuid, range: Range) -> (Vec<u8>, u64) {
    let mut export = app
        .datev_export(tenant_id, range, DatevFormat::Bookings)
        .await
        .expect("export");
    let mut bytes = Vec::new();
    export.file.read_to_end(&mut bytes).unwrap();
    assert_eq!(bytes.len() as u64, export.len);
    (bytes, export.rows)
}

#[tokio::test]
async fn datev_file_of_a_small_book_byte_for_byte() {
    let store = test_store().await;
    let clock = Utc.with_ymd_and_hms(2026, 4, 2, 9, 30, 15).unwrap();
    let app = App::new(store.clone()).with_clock(std::sync::Arc::new(move || clock));
    let tenant_id = tenant(&store, "skr03", 1).await;
    set_datev_numbers(&app, tenant_id).await;
    let actor = Actor::system("reports test");
    // A sale with 19 % (8400 is an automatic account: gross, no key), a purchase with 19 %
    // input VAT on 4900 (keyed 9), and a transfer without tax.
    app.book(
        tenant_id,
        booking(
            date("2026-03-14"),
            "Rechnung Müller & Söhne",
            Some("RE-2026/0042"),
            vec![
                line("1400", Some(d("119.00")), None, None),
                line("8400", None, Some(d("100.00")), Some("USt19")),
            ],
        ),
        actor.clone(),
        None,
    )
    .await
    .unwrap();
    app.book(
        tenant_id,
        booking(
            date("2026-03-20"),
            "Büromaterial \"Premium\"",
            Some("ER-7"),
            vec![
                line("4900", Some(d("50.00")), None, Some("VSt19")),
                line("1600", None, Some(d("59.50")), None),
            ],
        ),
        actor.clone(),
        None,
    )
    .await
    .unwrap();
    app.book(
        tenant_id,
        booking(
            date("2026-03-31"),
            "Zahlung",
            None,
            vec![
                line("1200", Some(d("119.00")), None, None),
                line("1400", None, Some(d("119.00")), None),
            ],
        ),
        actor,
        None,
    )
    .await
    .unwrap();
    let range = Range::new(date("2026-03-01"), date("2026-03-31")).unwrap();
    let (bytes, rows) = export_text(&app, tenant_id, range).await;
    assert_eq!(rows, 3);
    let empty = |n: usize| vec!["\"\""; n].join(";");
    let tail = |locked: &str| {
        // Columns 15..125 after Buchungstext: texts quoted empty, numbers empty;
        // Festschreibung (114) and Generalumkehr (118) set.
        let kinds = reports::datev_columns::BUCHUNGSSTAPEL_IS_TEXT;
        (14..125)
            .map(|i| match i {
                113 => locked.to_string(),
                117 => "\"0\"".to_string(),
                _ if kinds[i] => "\"\"".to_string(),
                _ => String::new(),
            })
            .collect::<Vec<_>>()
            .join(";")
    };
    let row = |amount: &str,
               sh: &str,
               konto: &str,
               gegen: &str,
               bu: &str,
               datum: &str,
               beleg: &str,
               text: &str| {
        let mut f = vec![
            amount.to_string(),
            format!("\"{sh}\""),
            "\"\"".into(),
            String::new(),
            String::new(),
            "\"\"".into(),
            konto.into(),
            gegen.into(),
            if bu.is_empty() {
                "\"\"".into()
            } else {
                format!("\"{bu}\"")
            },
            datum.into(),
            format!("\"{beleg}\""),
            "\"\"".into(),
            String::new(),
            format!("\"{text}\""),
        ];
        f.push(tail("0"));
        f.join(";")
    };
    let _ = empty;
    let header = "\"EXTF\";700;21;\"Buchungsstapel\";13;20260402093015000;;\"\";\"kontor\";\"\";1234567;10001;20260101;4;20260301;20260331;\"Buchungen 20260301-20260331\";\"\";1;0;0;\"EUR\";;\"\";;;\"03\";;;;\"\"";
    let columns = reports::datev_columns::BUCHUNGSSTAPEL_COLUMNS.join(";");
    let expected = [
        header.to_string(),
        columns,
        row(
            "119,00",
            "S",
            "1400",
            "8400",
            "",
            "1403",
            "RE-2026/0042",
            "Rechnung Müller & Söhne",
        ),
        row(
            "59,50",
            "H",
            "1600",
            "4900",
            "9",
            "2003",
            "ER-7",
            "Büromaterial \"\"Premium\"\"",
        ),
        row("119,00", "S", "1200", "1400", "", "3103", "", "Zahlung"),
    ];
    let mut want = Vec::new();
    for l in expected {
        want.extend(reports::datev::cp1252(&l));
        want.extend(b"\r\n");
    }
    // Belegfeld 1 of the payment is empty (no reference): written as "".
    if bytes != want {
        let got = encoding_rs::WINDOWS_1252.decode(&bytes).0.into_owned();
        let exp = encoding_rs::WINDOWS_1252.decode(&want).0.into_owned();
        for (g, e) in got.split("\r\n").zip(exp.split("\r\n")) {
            assert_eq!(g, e);
        }
        assert_eq!(got, exp);
    }
}

/// Random bookings: plain transfers, sales and purchases with tax codes, and reversals.
async fn random_book(
    app: &App,
    tenant_id: Uuid,
    rng: &mut StdRng,
    n: usize,
    from: NaiveDate,
    to: NaiveDate,
) {
    // No automatic account among the plain transfers: two of them in one booking without tax
    // would need two BU-Schlüssel in one DATEV row (refused as conflicting_tax_keys).
    let plain = ["1000", "1200", "4900", "0800", "1400", "1600", "4200"];
    let actor = Actor::system("reports test");
    let mut booked = Vec::new();
    for i in 0..n {
        let day = from + Duration::days(rng.gen_range(0..=(to - from).num_days()));
        let x = Decimal::new(rng.gen_range(1..=500_000), 2);
        let mut pick = || plain[rng.gen_range(0..plain.len())];
        let (a, b) = (pick(), pick());
        let kind = rng.gen_range(0..10);
        let lines = match kind {
            0..=2 => {
                let tax = x * d("0.19");
                let tax = tax.round_dp_with_strategy(
                    2,
                    rust_decimal::RoundingStrategy::MidpointAwayFromZero,
                );
                vec![
                    line("1400", Some(x + tax), None, None),
                    line("8400", None, Some(x), Some("USt19")),
                ]
            }
            3..=4 => {
                let tax = (x * d("0.07")).round_dp_with_strategy(
                    2,
                    rust_decimal::RoundingStrategy::MidpointAwayFromZero,
                );
                vec![
                    line("4900", Some(x), None, Some("VSt7")),
                    line("1600", None, Some(x + tax), None),
                ]
            }
            5 => vec![
                line("4200", Some(x), None, Some("RC19")),
                line("1200", None, Some(x), None),
            ],
            _ => {
                if a == b {
                    continue;
                }
                let y = Decimal::new(rng.gen_range(1..=500_000), 2);
                vec![
                    line(a, Some(x), None, None),
                    line("1000", Some(y), None, None),
                    line(b, None, Some(x + y), None),
                ]
            }
        };
        let mut cmd = booking(day, &format!("Buchung {i}"), Some(&format!("B-{i}")), lines);
        cmd.adjustment_period = rng.gen_bool(0.05);
        let appended = app
            .book(tenant_id, cmd, actor.clone(), None)
            .await
            .unwrap_or_else(|e| panic!("booking {i} refused: {e}"));
        booked.push(appended.intent_id);
    }
    // Some reversals, both ways.
    for (k, id) in booked.iter().take(12).enumerate() {
        let mode = if k % 2 == 0 {
            journal::PostingMode::Swap
        } else {
            journal::PostingMode::Negative
        };
        let cmd = journal::ReversalCommand {
            intent_id: *id,
            reason: "Storno".into(),
            posting_mode: mode,
        };
        app.reverse(tenant_id, cmd, actor.clone(), None)
            .await
            .unwrap_or_else(|e| panic!("reversal refused: {e}"));
    }
}

async fn plain_sums(
    store: &Store,
    tenant_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> BTreeMap<String, (Decimal, Decimal)> {
    let client = store.client().await.unwrap();
    client
        .query(
            "SELECT account, coalesce(sum(debit), 0), coalesce(sum(credit), 0) FROM entries
              WHERE tenant_id = $1 AND booking_date >= $2 AND booking_date <= $3 GROUP BY account",
            &[&tenant_id, &from, &to],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect()
}

#[tokio::test]
async fn account_sums_equal_plain_sums_of_the_entries() {
    let seed = std::env::var("REPORTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen());
    println!("REPORTS_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let store = test_store().await;
    let app = App::new(store.clone());
    let tenant_id = tenant(&store, "skr03", 4).await;
    random_book(
        &app,
        tenant_id,
        &mut rng,
        150,
        date("2025-01-15"),
        date("2027-02-27"),
    )
    .await;
    let calendar = journal::FiscalCalendar::new(4).unwrap();
    for _ in 0..12 {
        let a = date("2025-01-01") + Duration::days(rng.gen_range(0..800));
        let b = date("2025-01-01") + Duration::days(rng.gen_range(0..800));
        // Whole months now and then: those read no entry at all.
        let (start, end) = if rng.gen_bool(0.3) {
            let s = a - Duration::days(i64::from(chrono::Datelike::day(&a)) - 1);
            let e = s
                .checked_add_months(chrono::Months::new(rng.gen_range(1..4)))
                .unwrap()
                - Duration::days(1);
            (s, e)
        } else {
            (a.min(b), a.max(b))
        };
        let sums = app
            .account_sums(tenant_id, Range::new(start, end).unwrap())
            .await
            .unwrap();
        let fy_start = calendar.fiscal_year_start(calendar.fiscal_year_of(end));
        let period = plain_sums(&store, tenant_id, start, end).await;
        let ytd = plain_sums(&store, tenant_id, fy_start, end).await;
        let before = plain_sums(
            &store,
            tenant_id,
            date("1900-01-01"),
            fy_start - Duration::days(1),
        )
        .await;
        for s in &sums {
            let get = |m: &BTreeMap<String, (Decimal, Decimal)>| {
                m.get(&s.number).copied().unwrap_or_default()
            };
            let ctx = format!("seed {seed}, {} in {start}..{end}", s.number);
            assert_eq!(
                (s.period_debit, s.period_credit),
                get(&period),
                "period {ctx}"
            );
            assert_eq!((s.ytd_debit, s.ytd_credit), get(&ytd), "ytd {ctx}");
            let (bd, bc) = get(&before);
            assert_eq!(s.opening, bd - bc, "opening {ctx}");
        }
        let tb = reports::trial_balance(&sums).unwrap();
        assert!(
            tb.balanced,
            "seed {seed}: trial balance {start}..{end} not balanced"
        );
    }
}

#[tokio::test]
async fn datev_file_of_a_larger_book_rule_by_rule() {
    let seed = std::env::var("REPORTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen());
    println!("REPORTS_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let store = test_store().await;
    let app = App::new(store.clone());
    let tenant_id = tenant(&store, "skr03", 1).await;
    set_datev_numbers(&app, tenant_id).await;
    random_book(
        &app,
        tenant_id,
        &mut rng,
        250,
        date("2026-01-01"),
        date("2026-12-31"),
    )
    .await;
    let range = Range::new(date("2026-01-01"), date("2026-12-31")).unwrap();
    let (bytes, rows) = export_text(&app, tenant_id, range).await;
    let text = encoding_rs::WINDOWS_1252.decode(&bytes).0.into_owned();
    assert!(text.ends_with("\r\n"));
    let lines: Vec<&str> = text.trim_end_matches("\r\n").split("\r\n").collect();
    assert_eq!(lines.len() as u64, rows + 2, "seed {seed}");
    assert!(lines[0].starts_with("\"EXTF\";700;21;\"Buchungsstapel\";13;"));
    let mut by_account: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut reversal_rows = 0;
    for l in &lines[2..] {
        let fields = split_fields(l);
        assert_eq!(fields.len(), 125, "seed {seed}: {l}");
        let amount = Decimal::from_str(&fields[0].replace(',', ".")).unwrap();
        assert!(amount > Decimal::ZERO, "seed {seed}: {l}");
        assert_eq!(fields[0].split(',').nth(1).map(str::len), Some(2));
        let sign = match fields[1].as_str() {
            "\"S\"" => Decimal::ONE,
            "\"H\"" => -Decimal::ONE,
            other => panic!("seed {seed}: Soll/Haben {other}"),
        };
        let gu = fields[117] == "\"1\"";
        if gu {
            reversal_rows += 1;
        }
        // Generalumkehr: the posted sides with negative amounts.
        let signed = if gu { -sign * amount } else { sign * amount };
        *by_account.entry(fields[6].clone()).or_default() += signed;
        *by_account.entry(fields[7].clone()).or_default() -= signed;
    }
    assert!(reversal_rows > 0, "seed {seed}: no Generalumkehr rows");
    // Folded tax: the VAT accounts' amounts live inside the gross rows on 8400 (automatic) and
    // the keyed rows; add them to the account DATEV books them on before comparing.
    let tb = app.trial_balance(tenant_id, range).await.unwrap();
    let mut journal_net: BTreeMap<String, Decimal> = BTreeMap::new();
    for r in tb
        .rows
        .iter()
        .filter(|r| r.row_type == reports::RowType::Account)
    {
        let net = r.period_debit - r.period_credit;
        if !net.is_zero() {
            journal_net.insert(r.account.clone().unwrap(), net);
        }
    }
    // Move the tax accounts' movements onto the lines they were folded into: every tax line
    // of this book belongs to a line on 8400 (USt19), 4900 (VSt7) or 4200 (RC19, nets out).
    for (vat, base) in [("1776", "8400"), ("1571", "4900")] {
        if let Some(v) = journal_net.remove(vat) {
            *journal_net.entry(base.into()).or_default() += v;
        }
    }
    for self_assessed in ["1577", "1787"] {
        journal_net.remove(self_assessed);
    }
    by_account.retain(|_, v| !v.is_zero());
    journal_net.retain(|_, v| !v.is_zero());
    assert_eq!(by_account, journal_net, "seed {seed}");
}

/// Splits an EXTF line at `;` outside quotes.
fn split_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ';' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

#[tokio::test]
async fn export_refusals_come_before_the_file() {
    let store = test_store().await;
    let app = App::new(store.clone());
    let tenant_id = tenant(&store, "skr03", 1).await;
    let range = Range::new(date("2026-01-01"), date("2026-01-31")).unwrap();
    let code = |e: app::AppError| e.rule().map(|r| r.code().to_string()).unwrap_or_default();
    // No DATEV numbers yet.
    let e = app
        .datev_export(tenant_id, range, DatevFormat::Bookings)
        .await
        .unwrap_err();
    assert_eq!(code(e), "invalid_datev_settings");
    set_datev_numbers(&app, tenant_id).await;
    // A range across the fiscal year.
    let across = Range::new(date("2025-12-01"), date("2026-01-31")).unwrap();
    let e = app
        .datev_export(tenant_id, across, DatevFormat::Zip)
        .await
        .unwrap_err();
    assert_eq!(code(e), "range_crosses_fiscal_year");
    // A booking beyond DATEV's ten integer digits is named.
    let big = app
        .book(
            tenant_id,
            booking(
                date("2026-01-10"),
                "Grundstück",
                None,
                vec![
                    line("0800", Some(d("10000000000.00")), None, None),
                    line("1200", None, Some(d("10000000000.00")), None),
                ],
            ),
            Actor::system("reports test"),
            None,
        )
        .await
        .unwrap();
    let e = app
        .datev_export(tenant_id, range, DatevFormat::Bookings)
        .await
        .unwrap_err();
    let rule = e.rule().unwrap();
    assert_eq!(rule.code(), "amount_too_large");
    assert!(
        rule.to_string().contains(&big.intent_id.to_string()),
        "{rule}"
    );
}
