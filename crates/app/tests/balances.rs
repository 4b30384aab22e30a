//! Differential test against the real PostgreSQL: the balance of an account at a date
//! (`Store::account_balance_through`: whole periods from `account_balances`, the entries of the
//! date's month, the early period-13 entries of its fiscal year) equals the plain sum of that
//! account's `entries` up to the date; for a collective account, its own entries and those of
//! its personal accounts.
//!
//! The same comparison for the trial balance's read (`Store::sums_through`: every account's
//! debit and credit through a date, not rolled up), and a check that the day projection
//! (`account_day_balances`) is the entries aggregated per account, date and period. The dates
//! compared: every month start and month end of the range (29 February 2024 among them),
//! random days, and days before the first and after the last booking; the book has period-13
//! bookings dated in earlier months, personal accounts under 1400 and 1600, and reversals
//! (both posting modes).
//!
//! Needs DATABASE_URL (`scripts/test.sh -p app` starts a throwaway cluster). The seed is
//! printed; `BALANCES_SEED=<n>` replays a run.
mod common;

use common::*;

use app::App;
use chrono::{Datelike, Duration, NaiveDate};
use journal::{Actor, BookingCommand, BookingLineInput};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use receivables::{PartnerInput, PartnerKind};
use rust_decimal::Decimal;
use uuid::Uuid;

fn line(account: &str, debit: Option<Decimal>, credit: Option<Decimal>) -> BookingLineInput {
    BookingLineInput {
        account: account.into(),
        debit,
        credit,
        tax_code: None,
        description: None,
        cost_center: None,
    }
}

fn amount(rng: &mut StdRng) -> Decimal {
    Decimal::new(rng.gen_range(1..=100_000), 2)
}

fn random_date(rng: &mut StdRng, from: NaiveDate, to: NaiveDate) -> NaiveDate {
    from + Duration::days(rng.gen_range(0..=(to - from).num_days()))
}

/// One balanced booking: two or three lines on random accounts, now and then into period 13.
fn random_booking(rng: &mut StdRng, accounts: &[String], date: NaiveDate) -> BookingCommand {
    let mut pick = || accounts[rng.gen_range(0..accounts.len())].clone();
    let (a, b, c) = (pick(), pick(), pick());
    let x = amount(rng);
    let lines = if rng.gen_bool(0.3) {
        let y = amount(rng);
        vec![
            line(&a, Some(x), None),
            line(&b, Some(y), None),
            line(&c, None, Some(x + y)),
        ]
    } else if rng.gen_bool(0.5) {
        vec![line(&a, Some(x), None), line(&b, None, Some(x))]
    } else {
        vec![line(&a, None, Some(x)), line(&b, Some(x), None)]
    };
    BookingCommand {
        booking_date: date,
        description: format!("random booking of {date}"),
        lines,
        skip_duplicate_check: false,
        adjustment_period: rng.gen_bool(0.15),
        fx: None,
        external_reference: None,
        custom_metadata: None,
        document_id: None,
    }
}

/// The plain sum (debit − credit) of the entries of `account` (with its personal accounts)
/// dated up to `through`.
async fn plain_sum(
    client: &tokio_postgres::Client,
    tenant_id: Uuid,
    account: &str,
    through: NaiveDate,
) -> Decimal {
    client
        .query_one(
            "SELECT coalesce(sum(debit - credit), 0) FROM entries
              WHERE tenant_id = $1 AND booking_date <= $3
                AND (account = $2 OR account IN (SELECT number FROM accounts
                                                  WHERE tenant_id = $1 AND collective_account = $2))",
            &[&tenant_id, &account, &through],
        )
        .await
        .unwrap()
        .get(0)
}

/// The plain debit and credit sums of every account's own entries dated up to `through`.
async fn plain_sums(
    client: &tokio_postgres::Client,
    tenant_id: Uuid,
    through: NaiveDate,
) -> std::collections::BTreeMap<String, (Decimal, Decimal)> {
    client
        .query(
            "SELECT account, sum(debit), sum(credit) FROM entries
              WHERE tenant_id = $1 AND booking_date <= $2 GROUP BY account",
            &[&tenant_id, &through],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect()
}

async fn differential(fiscal_year_start_month: u32, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let store = test_store().await;
    let app = App::new(store.clone());
    let tenant_id = tenant(&store, "skr03", fiscal_year_start_month).await;

    // Personal accounts rolled into 1400 (receivables) and 1600 (payables).
    let mut personal = Vec::new();
    for (i, kind) in [
        PartnerKind::Customer,
        PartnerKind::Customer,
        PartnerKind::Customer,
        PartnerKind::Vendor,
        PartnerKind::Vendor,
    ]
    .into_iter()
    .enumerate()
    {
        let input = PartnerInput {
            name: format!("Partner {i}"),
            ..Default::default()
        };
        let p = app
            .create_partner(tenant_id, kind, input, None)
            .await
            .expect("partner");
        personal.push(p.account_number);
    }
    let collective = ["1400".to_string(), "1600".to_string()];
    let plain = ["1000", "1200", "4900", "8400", "0800", "1576"].map(String::from);
    let accounts: Vec<String> = plain
        .iter()
        .chain(&collective)
        .chain(&personal)
        .cloned()
        .collect();

    let (first, last) = (
        NaiveDate::from_ymd_opt(2023, 12, 1).unwrap(),
        NaiveDate::from_ymd_opt(2027, 2, 28).unwrap(),
    );
    let bookings = 160;
    for _ in 0..bookings {
        // Month ends and fiscal-year boundaries are where the three parts meet.
        let date = if rng.gen_bool(0.2) {
            let d = random_date(&mut rng, first, last);
            let next_month = NaiveDate::from_ymd_opt(
                d.year() + i32::from(d.month() == 12),
                d.month() % 12 + 1,
                1,
            )
            .unwrap();
            next_month - Duration::days(rng.gen_range(0..=1))
        } else {
            random_date(&mut rng, first, last)
        };
        let cmd = random_booking(&mut rng, &accounts, date);
        app.book(tenant_id, cmd, Actor::system("balances"), None)
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: booking of {date} refused: {e}"));
    }

    // A leap day, in period 13 too, and reversals of some bookings in both posting modes.
    let leap = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    let mut reversible = Vec::new();
    for adjustment in [false, true, false] {
        let mut cmd = random_booking(&mut rng, &accounts, leap);
        cmd.adjustment_period = adjustment;
        let booked = app
            .book(tenant_id, cmd, Actor::system("balances"), None)
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: booking of {leap} refused: {e}"));
        reversible.push(booked.intent_id);
    }
    for _ in 0..6 {
        let date = random_date(&mut rng, first, last);
        let mut cmd = random_booking(&mut rng, &accounts, date);
        cmd.adjustment_period = rng.gen_bool(0.5);
        let booked = app
            .book(tenant_id, cmd, Actor::system("balances"), None)
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: booking of {date} refused: {e}"));
        reversible.push(booked.intent_id);
    }
    for (k, intent_id) in reversible.into_iter().enumerate() {
        let cmd = journal::ReversalCommand {
            intent_id,
            reason: "Storno".into(),
            posting_mode: if k % 2 == 0 {
                journal::PostingMode::Swap
            } else {
                journal::PostingMode::Negative
            },
        };
        app.reverse(tenant_id, cmd, Actor::system("balances"), None)
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: reversal refused: {e}"));
    }

    let client = store.client().await.unwrap();
    // The day projection is the entries aggregated per account, date and period.
    let mismatched: i64 = client
        .query_one(
            "SELECT count(*) FROM (
                 SELECT account, booking_date, period, sum(debit) AS d, sum(credit) AS c, count(*) AS n
                   FROM entries WHERE tenant_id = $1 GROUP BY account, booking_date, period) e
               FULL JOIN (SELECT * FROM account_day_balances WHERE tenant_id = $1) b
                 USING (account, booking_date, period)
              WHERE e.d IS DISTINCT FROM b.debit OR e.c IS DISTINCT FROM b.credit
                 OR e.n IS DISTINCT FROM b.entry_count",
            &[&tenant_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        mismatched, 0,
        "seed {seed}: account_day_balances differs from entries"
    );
    let spread: (i64, i64, i64) = {
        let r = client
            .query_one(
                "SELECT count(*) FILTER (WHERE period LIKE '%-13'), count(DISTINCT left(period, 4)),
                        count(*) FILTER (WHERE account IN (SELECT number FROM accounts WHERE tenant_id = $1 AND collective_account IS NOT NULL))
                   FROM entries WHERE tenant_id = $1",
                &[&tenant_id],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    assert!(spread.0 > 0, "seed {seed}: no period-13 entries");
    assert!(spread.1 >= 3, "seed {seed}: fewer than 3 fiscal years");
    assert!(spread.2 > 0, "seed {seed}: no entries on personal accounts");
    let mut checks = 0;
    let mut dates: Vec<NaiveDate> = (0..60)
        .map(|_| {
            random_date(
                &mut rng,
                first - Duration::days(40),
                last + Duration::days(40),
            )
        })
        .collect();
    // Every month end and month start of the range, too, and the days around the leap day.
    dates.extend(
        ["2024-02-28", "2024-02-29", "2024-03-01"].map(|d| d.parse::<NaiveDate>().unwrap()),
    );
    let mut d = NaiveDate::from_ymd_opt(2023, 11, 1).unwrap();
    while d <= last {
        dates.push(d);
        dates.push(d - Duration::days(1));
        d = NaiveDate::from_ymd_opt(d.year() + i32::from(d.month() == 12), d.month() % 12 + 1, 1)
            .unwrap();
    }
    let calendar = journal::FiscalCalendar::new(fiscal_year_start_month).unwrap();
    for through in dates {
        // The trial balance's read: every account, not rolled up.
        let sums = store
            .sums_through(&client, tenant_id, &calendar, through)
            .await
            .unwrap();
        let plain = plain_sums(&client, tenant_id, through).await;
        let nonzero: std::collections::BTreeMap<String, (Decimal, Decimal)> = sums
            .into_iter()
            .map(|(a, s)| (a, (s.debit, s.credit)))
            .filter(|(a, s)| plain.contains_key(a) || *s != (Decimal::ZERO, Decimal::ZERO))
            .collect();
        assert_eq!(
            nonzero, plain,
            "seed {seed}, fiscal year from month {fiscal_year_start_month}: sums through {through}"
        );
        for account in &accounts {
            let fast = store
                .account_balance_through(&client, tenant_id, account, Some(through))
                .await
                .unwrap();
            let sum = plain_sum(&client, tenant_id, account, through).await;
            assert_eq!(
                fast, sum,
                "seed {seed}, fiscal year from month {fiscal_year_start_month}: balance of {account} through {through}"
            );
            checks += 1;
        }
    }
    // Without a date: everything.
    for account in &accounts {
        let all = store
            .account_balance_through(&client, tenant_id, account, None)
            .await
            .unwrap();
        assert_eq!(
            all,
            plain_sum(&client, tenant_id, account, last + Duration::days(3650)).await
        );
    }
    // The collective accounts really roll up: their balance is theirs plus their personal
    // accounts'.
    let receivables_total: Decimal = {
        let mut t = Decimal::ZERO;
        for a in std::iter::once(&collective[0]).chain(&personal[..3]) {
            let own: Decimal = client
                .query_one(
                    "SELECT coalesce(sum(debit - credit), 0) FROM entries WHERE tenant_id = $1 AND account = $2",
                    &[&tenant_id, a],
                )
                .await
                .unwrap()
                .get(0);
            t += own;
        }
        t
    };
    assert_eq!(
        store
            .account_balance_through(&client, tenant_id, "1400", None)
            .await
            .unwrap(),
        receivables_total,
        "seed {seed}"
    );
    assert!(checks > 1000, "{checks} comparisons");
}

fn seed() -> u64 {
    let seed = std::env::var("BALANCES_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen());
    eprintln!("BALANCES_SEED={seed}");
    seed
}

#[tokio::test]
async fn balance_at_a_date_is_the_sum_of_entries_calendar_year() {
    differential(1, seed()).await;
}

#[tokio::test]
async fn balance_at_a_date_is_the_sum_of_entries_fiscal_year_from_july() {
    differential(7, seed()).await;
}
