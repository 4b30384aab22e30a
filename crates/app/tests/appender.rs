//! The pipelined write path (`store::appender`) against the real PostgreSQL: an appender
//! decides its next batch from the head it keeps in memory while the batch before commits, and
//! the database only confirms the head (`kontor_append_batch`, schema/0018). These tests hold
//! it to the guarantees of the serial path:
//!
//! - two processes (two `Store`s with pools and appenders of their own) and a use case's own
//!   transactions writing one tenant at once: `seq` gapless, the chain linear and every hash
//!   recomputable, the projections equal to the entries, one feed event per intent;
//! - what a batch in flight books (an external reference, a reversal) is seen by the batch
//!   decided while it commits;
//! - a period closed while a decided batch waits for the head makes that batch decide again
//!   (the head's `epoch`), so nothing is booked into a closed period.
//!
//! Needs DATABASE_URL (`scripts/test.sh -p app` starts a throwaway cluster).
mod common;

use common::*;

use app::{App, AppError};
use chrono::NaiveDate;
use journal::chain::ChainVerifier;
use journal::{Actor, BookingCommand, BookingLineInput, PostingMode, ReversalCommand};
use periods::{PeriodAction, PeriodStatus};
use rust_decimal::Decimal;
use store::appender::AppendCommand;
use store::periods::{self as db, PeriodState, StateChange};
use store::Store;
use uuid::Uuid;

fn booking(date: NaiveDate, cents: i64, reference: Option<String>) -> BookingCommand {
    let amount = Decimal::new(cents, 2);
    let line = |account: &str, debit: Option<Decimal>, credit: Option<Decimal>| BookingLineInput {
        account: account.into(),
        debit,
        credit,
        tax_code: None,
        description: None,
        cost_center: None,
    };
    BookingCommand {
        booking_date: date,
        description: format!("pipelined {cents}"),
        lines: vec![
            line("1200", Some(amount), None),
            line("8400", None, Some(amount)),
        ],
        skip_duplicate_check: false,
        adjustment_period: false,
        fx: None,
        external_reference: reference,
        custom_metadata: None,
        document_id: None,
    }
}

fn date(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, m, d).unwrap()
}

fn rule_code(e: &AppError) -> &'static str {
    e.rule().map(|r| r.code()).unwrap_or("other")
}

/// The whole journal of the tenant: gapless, linked and every hash recomputed from its payload;
/// entries, both balance projections and the feed agree with it. Returns the number of events.
async fn check_journal(store: &Store, tenant_id: Uuid) -> i64 {
    let client = store.client().await.unwrap();
    let rows = client
        .query(
            "SELECT seq, prev_hash, hash, payload FROM journal_events WHERE tenant_id = $1 ORDER BY seq",
            &[&tenant_id],
        )
        .await
        .unwrap();
    let mut chain = ChainVerifier::default();
    for r in &rows {
        let prev: Vec<u8> = r.get(1);
        let hash: Vec<u8> = r.get(2);
        let payload: serde_json::Value = r.get(3);
        chain
            .check(
                r.get(0),
                &prev.try_into().unwrap(),
                &hash.try_into().unwrap(),
                &payload,
            )
            .unwrap_or_else(|b| panic!("chain broken: {b}"));
    }
    let n = rows.len() as i64;
    let head = client
        .query_one(
            "SELECT last_seq, last_hash FROM journal_heads WHERE tenant_id = $1",
            &[&tenant_id],
        )
        .await
        .unwrap();
    assert_eq!(head.get::<_, i64>(0), n, "the head is the last event");
    if let Some(last) = rows.last() {
        assert_eq!(head.get::<_, Vec<u8>>(1), last.get::<_, Vec<u8>>(2));
    }
    let agree = client
        .query_one(
            "SELECT (SELECT count(*) FROM entries WHERE tenant_id = $1),
                    (SELECT coalesce(sum(event_count), 0)::bigint FROM intents WHERE tenant_id = $1),
                    (SELECT count(*) FROM intents WHERE tenant_id = $1),
                    (SELECT count(*) FROM feed_events WHERE tenant_id = $1 AND event IN ('booking.created', 'journal.reversed')),
                    (SELECT count(*) FROM (
                        SELECT account, period, sum(debit) d, sum(credit) c, count(*) n FROM entries WHERE tenant_id = $1 GROUP BY 1, 2
                        EXCEPT SELECT account, period, debit, credit, entry_count FROM account_balances WHERE tenant_id = $1) x),
                    (SELECT count(*) FROM (
                        SELECT account, booking_date, period, sum(debit) d, sum(credit) c, count(*) n FROM entries WHERE tenant_id = $1 GROUP BY 1, 2, 3
                        EXCEPT SELECT account, booking_date, period, debit, credit, entry_count FROM account_day_balances WHERE tenant_id = $1) y)",
            &[&tenant_id],
        )
        .await
        .unwrap();
    assert_eq!(agree.get::<_, i64>(0), n, "one entry per event");
    assert_eq!(agree.get::<_, i64>(1), n, "the intents count the events");
    assert_eq!(
        agree.get::<_, i64>(3),
        agree.get::<_, i64>(2),
        "one feed event per intent"
    );
    assert_eq!(agree.get::<_, i64>(4), 0, "account_balances = entries");
    assert_eq!(agree.get::<_, i64>(5), 0, "account_day_balances = entries");
    n
}

#[tokio::test]
async fn two_processes_and_own_transactions_keep_one_gapless_chain() {
    let (a, b) = (store_with_pool(6).await, store_with_pool(6).await);
    let t = tenant(&a, "skr03", 1).await;
    let (app_a, app_b) = (App::new(a.clone()), App::new(b.clone()));
    let mut tasks = Vec::new();
    for i in 0..240i64 {
        let app = if i % 2 == 0 {
            app_a.clone()
        } else {
            app_b.clone()
        };
        // Every fourth booking names one of 12 references that both processes send.
        let reference = (i % 4 == 0).then(|| format!("shared-{}", (i / 4) % 12));
        tasks.push(tokio::spawn(async move {
            app.book(
                t,
                booking(date(3, 1 + (i % 28) as u32), 100 + i, reference.clone()),
                Actor::system("load"),
                None,
            )
            .await
            .map(|_| ())
            .map_err(|e| (reference, rule_code(&e)))
        }));
    }
    // A use case's own transactions (as an invoice's) in between, on process b.
    let own = {
        let b = b.clone();
        tokio::spawn(async move {
            for i in 0..10 {
                let mut client = b.client().await.unwrap();
                let tx = client.transaction().await.unwrap();
                b.append_in_tx(
                    &tx,
                    t,
                    &AppendCommand::Booking(booking(date(4, 2), 9_000 + i, None)),
                    &Actor::system("own"),
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
                tokio::task::yield_now().await;
            }
        })
    };
    let mut booked = 0;
    let mut refused: std::collections::HashMap<String, usize> = Default::default();
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => booked += 1,
            Err((Some(reference), "duplicate")) => *refused.entry(reference).or_default() += 1,
            Err(other) => panic!("a booking failed: {other:?}"),
        }
    }
    own.await.unwrap();
    // 60 bookings name one of 12 references, 5 each: one of each five is booked.
    assert_eq!(refused.len(), 12);
    assert!(refused.values().all(|&n| n == 4), "{refused:?}");
    assert_eq!(booked, 240 - 48);
    assert_eq!(check_journal(&a, t).await, 2 * (booked + 10));
}

#[tokio::test]
async fn a_batch_decided_while_another_commits_sees_what_that_one_books() {
    let store = store_with_pool(6).await;
    let t = tenant(&store, "skr03", 1).await;
    let app = App::new(store.clone());
    let original = app
        .book(
            t,
            booking(date(5, 4), 4_711, None),
            Actor::system("a"),
            None,
        )
        .await
        .unwrap();
    // The first command of a burst goes alone; the others are decided while it commits.
    let mut tasks = Vec::new();
    for i in 0..40 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            app.book(
                t,
                booking(date(5, 5), 1_000 + i, Some("one-reference".into())),
                Actor::system("a"),
                None,
            )
            .await
        }));
    }
    for _ in 0..10 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            app.reverse(
                t,
                ReversalCommand {
                    intent_id: original.intent_id,
                    reason: "double".into(),
                    posting_mode: PostingMode::Swap,
                },
                Actor::system("a"),
                None,
            )
            .await
        }));
    }
    let (mut ok, mut duplicate, mut reversed) = (0, 0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) if rule_code(&e) == "duplicate" => duplicate += 1,
            Err(e) if rule_code(&e) == "already_reversed" => reversed += 1,
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!((ok, duplicate, reversed), (2, 39, 9));
    assert_eq!(check_journal(&store, t).await, 6);
}

#[tokio::test]
async fn a_period_closed_under_a_waiting_batch_is_not_booked_into() {
    let store = store_with_pool(6).await;
    let t = tenant(&store, "skr03", 1).await;
    let app = App::new(store.clone());
    let jan = "2026-01".parse().unwrap();
    // The appender now knows the head (and its epoch).
    app.book(t, booking(date(1, 10), 100, None), Actor::system("a"), None)
        .await
        .unwrap();

    // Another process holds the head row while it soft-locks January.
    let mut client = store.client().await.unwrap();
    let tx = client.transaction().await.unwrap();
    db::lock_head(&tx, t).await.unwrap();
    let waiting = {
        let app = app.clone();
        tokio::spawn(async move {
            app.book(t, booking(date(1, 11), 200, None), Actor::system("a"), None)
                .await
        })
    };
    // The booking reads January as open, is decided and waits for the head row.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert!(!waiting.is_finished(), "the booking waits for the head row");
    let soft = PeriodState {
        status: PeriodStatus::SoftLocked,
        locked_by: Some("system:b".into()),
        locked_at: Some(chrono::Utc::now()),
        ..PeriodState::default()
    };
    db::write_state(
        &tx,
        &StateChange {
            tenant_id: t,
            period: jan,
            action: PeriodAction::SoftLock,
            from: PeriodStatus::Open,
            to: &soft,
            request_id: None,
            actor: "system:b",
            at: chrono::Utc::now(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let err = waiting.await.unwrap().unwrap_err();
    assert_eq!(rule_code(&err), "period_locked", "{err:?}");
    assert_eq!(check_journal(&store, t).await, 2);
    // February is still open, and the appender goes on from the new head.
    app.book(t, booking(date(2, 1), 300, None), Actor::system("a"), None)
        .await
        .unwrap();
    assert_eq!(check_journal(&store, t).await, 4);
}
