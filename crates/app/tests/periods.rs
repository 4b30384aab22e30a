//! The period use cases against the real PostgreSQL: each returns what it wrote (the same as a
//! later read), and the database's own refusals come back as the period rules they back.
//!
//! Needs DATABASE_URL (`scripts/test.sh -p app` starts a throwaway cluster).

mod common;

use common::*;

use app::periods::{LockRequest, PeriodView};
use app::{App, AppError};
use journal::{Actor, PeriodId, Rule};
use periods::{PeriodAction, PeriodStatus, RequestStatus};
use store::periods::{self as db, NewClosing, PeriodState, StateChange};
use store::{Store, StoreError};
use uuid::Uuid;

async fn setup() -> (Store, App, Uuid) {
    let store = test_store().await;
    let tenant = tenant(&store, "skr03", 1).await;
    (store.clone(), App::new(store), tenant)
}

fn p(s: &str) -> PeriodId {
    s.parse().unwrap()
}

fn same_view(a: &PeriodView, b: &PeriodView) {
    assert_eq!(
        (a.period, a.start_date, a.end_date, a.status),
        (b.period, b.start_date, b.end_date, b.status)
    );
    assert_eq!(
        (&a.locked_by, a.locked_at, &a.closing_hash),
        (&b.locked_by, b.locked_at, &b.closing_hash)
    );
}

fn code(e: &AppError) -> &'static str {
    match e {
        AppError::Conflict { code, .. } | AppError::Invalid { code, .. } => code,
        other => other.rule().map(Rule::code).unwrap_or("other"),
    }
}

#[tokio::test]
async fn each_use_case_returns_what_a_later_read_shows() {
    let (_, app, t) = setup().await;
    let (alice, bob) = (Actor::system("alice"), Actor::system("bob"));
    let jan = p("2026-01");

    let soft = app.soft_lock_period(t, jan, &alice).await.unwrap();
    assert_eq!(soft.status, PeriodStatus::SoftLocked);
    assert_eq!(soft.locked_by.as_deref(), Some("system:alice"));
    same_view(&soft, &app.get_period(t, jan).await.unwrap());

    let open = app.reopen_period(t, jan, &bob).await.unwrap();
    assert_eq!(open.status, PeriodStatus::Open);
    same_view(&open, &app.get_period(t, jan).await.unwrap());

    app.soft_lock_period(t, jan, &alice).await.unwrap();
    let request = app.request_period_lock(t, jan, &alice).await.unwrap();
    assert_eq!(request.status, RequestStatus::Pending);
    let pending: Option<LockRequest> = app.pending_lock_request(t, jan).await.unwrap();
    assert_eq!(pending.as_ref(), Some(&request));
    // who soft-locked it stays recorded while the lock is requested
    let requested = app.get_period(t, jan).await.unwrap();
    assert_eq!(requested.status, PeriodStatus::LockRequested);
    assert_eq!(requested.locked_by.as_deref(), Some("system:alice"));

    let err = app
        .approve_period_lock(t, jan, request.id, &alice)
        .await
        .unwrap_err();
    assert_eq!(code(&err), "four_eyes");

    let cancelled = app
        .cancel_period_lock(t, jan, request.id, &bob)
        .await
        .unwrap();
    assert_eq!(cancelled.status, RequestStatus::Cancelled);
    assert_eq!(
        app.get_period(t, jan).await.unwrap().status,
        PeriodStatus::SoftLocked,
        "back to the state before the request"
    );
    let again = app
        .cancel_period_lock(t, jan, request.id, &bob)
        .await
        .unwrap_err();
    assert_eq!(code(&again), "request_not_pending");

    let request = app.request_period_lock(t, jan, &alice).await.unwrap();
    let closing = app
        .approve_period_lock(t, jan, request.id, &bob)
        .await
        .unwrap();
    assert_eq!(closing.approved_by, "system:bob");
    assert_eq!(closing.view.locked_by.as_deref(), Some("system:alice"));
    same_view(&closing.view, &app.get_period(t, jan).await.unwrap());
    let closings = app.closings(t).await.unwrap();
    assert_eq!(closings.len(), 1);
    assert_eq!(
        Some(closings[0].closing_hash.clone()),
        closing.view.closing_hash
    );
    assert_eq!(closings[0].shown_closing_hash, closing.view.closing_hash);

    let listed = app.list_periods(t, Some(2026)).await.unwrap();
    assert_eq!(listed.len(), 13);
    same_view(&listed[0], &closing.view);

    let err = app.reopen_period(t, jan, &bob).await.unwrap_err();
    assert_eq!(code(&err), "period_final");
    let err = app
        .request_period_lock(t, p("2026-03"), &bob)
        .await
        .unwrap_err();
    assert_eq!(code(&err), "out_of_order");
    let err = app.soft_lock_period(t, p("2026-02"), &bob).await;
    assert!(err.is_ok());
    let err = app
        .soft_lock_period(t, p("2026-02"), &bob)
        .await
        .unwrap_err();
    assert_eq!(code(&err), "invalid_transition");
    let err = app
        .approve_period_lock(t, jan, Uuid::now_v7(), &bob)
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn the_database_refusals_come_back_as_period_rules() {
    let (store, app, t) = setup().await;
    let jan = p("2026-01");
    let request = app
        .request_period_lock(t, jan, &Actor::system("alice"))
        .await
        .unwrap();
    app.approve_period_lock(t, jan, request.id, &Actor::system("bob"))
        .await
        .unwrap();

    // A locked period's row is final (trigger), whatever the application decided.
    let mut client = store.client().await.unwrap();
    let tx = client.transaction().await.unwrap();
    let open = PeriodState::default();
    let change = StateChange {
        tenant_id: t,
        period: jan,
        action: PeriodAction::Reopen,
        from: PeriodStatus::Locked,
        to: &open,
        request_id: None,
        actor: "system:mallory",
        at: chrono::Utc::now(),
    };
    let err = db::write_state(&tx, &change).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                code: "period_final",
                ..
            }
        ),
        "{err:?}"
    );
    drop(tx);

    // Four eyes, again in the database.
    let tx = client.transaction().await.unwrap();
    let request = LockRequest {
        id: Uuid::now_v7(),
        period: p("2026-02"),
        status: RequestStatus::Approved,
        requested_by: "system:alice".into(),
        created_at: chrono::Utc::now(),
    };
    db::insert_lock_request(&tx, t, &request).await.unwrap();
    let closing = NewClosing {
        period: p("2026-02"),
        lock_seq: 2,
        previous_period: Some(jan),
        previous_closing_hash: [0; 32],
        closing_hash: [1; 32],
        event_count: 0,
        request,
        approved_by: "system:alice".into(),
        locked_at: chrono::Utc::now(),
    };
    let err = db::insert_closing(&tx, t, &closing).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                code: "four_eyes",
                ..
            }
        ),
        "{err:?}"
    );
}
