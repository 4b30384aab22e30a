//! The period rules as given/when/then tables: every status under every action, every error
//! code, the lock order and the four-eyes rule.

use journal::PeriodId;
use periods::{
    check_four_eyes, check_is_pending_request, check_lock_order, check_request_pending, transition,
    PeriodAction as A, PeriodError, PeriodStatus as S, RequestStatus, ACTIONS, STATUSES,
};
use uuid::Uuid;

fn p(s: &str) -> PeriodId {
    s.parse().unwrap()
}

/// What `transition` answers: the new status, or the code of the broken rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Then {
    To(S),
    Refused(&'static str),
}

fn when(from: S, action: A, before_request: Option<S>) -> Then {
    match transition(p("2026-03"), from, action, before_request) {
        Ok(to) => Then::To(to),
        Err(e) => Then::Refused(e.code()),
    }
}

const FINAL: Then = Then::Refused("period_final");
const INVALID: Then = Then::Refused("invalid_transition");

#[test]
fn every_status_under_every_action() {
    use Then::To;
    // given the status (row) when the action (column) then …
    let table: [(S, [Then; 5]); 4] = [
        //                  soft_lock         reopen    request_lock          approve          cancel
        (
            S::Open,
            [
                To(S::SoftLocked),
                INVALID,
                To(S::LockRequested),
                INVALID,
                INVALID,
            ],
        ),
        (
            S::SoftLocked,
            [INVALID, To(S::Open), To(S::LockRequested), INVALID, INVALID],
        ),
        (
            S::LockRequested,
            [INVALID, INVALID, INVALID, To(S::Locked), To(S::SoftLocked)],
        ),
        (S::Locked, [FINAL, FINAL, FINAL, FINAL, FINAL]),
    ];
    assert_eq!(table.map(|(s, _)| s), STATUSES, "every status has a row");
    for (from, row) in table {
        for (action, then) in ACTIONS.into_iter().zip(row) {
            assert_eq!(when(from, action, None), then, "given {from} when {action}");
        }
    }
}

#[test]
fn the_action_columns_are_every_action_in_order() {
    assert_eq!(
        ACTIONS,
        [
            A::SoftLock,
            A::Reopen,
            A::RequestLock,
            A::Approve,
            A::Cancel
        ]
    );
    for a in ACTIONS {
        assert_eq!(A::parse(a.as_str()), Some(a));
    }
    for s in STATUSES {
        assert_eq!(S::parse(s.as_str()), Some(s));
        assert_eq!(s.is_closed(), s != S::Open, "{s}");
    }
    assert_eq!(S::parse("closed"), None);
}

#[test]
fn cancel_returns_to_the_status_before_the_request() {
    // given a pending request made from `before` when cancelled then …
    let table = [
        (Some(S::Open), S::Open),
        (Some(S::SoftLocked), S::SoftLocked),
        // unknown or impossible: the safe side, still closed for bookings
        (None, S::SoftLocked),
        (Some(S::LockRequested), S::SoftLocked),
        (Some(S::Locked), S::SoftLocked),
    ];
    for (before, then) in table {
        assert_eq!(
            when(S::LockRequested, A::Cancel, before),
            Then::To(then),
            "before {before:?}"
        );
    }
}

#[test]
fn before_request_matters_only_to_cancel() {
    for from in STATUSES {
        for action in ACTIONS.into_iter().filter(|a| *a != A::Cancel) {
            for before in [None, Some(S::Open), Some(S::SoftLocked)] {
                assert_eq!(
                    when(from, action, before),
                    when(from, action, None),
                    "{from} {action}"
                );
            }
        }
    }
}

#[test]
fn a_locked_period_is_final_whatever_was_before() {
    for action in ACTIONS {
        let e = transition(p("2026-13"), S::Locked, action, Some(S::Open)).unwrap_err();
        assert_eq!(
            e,
            PeriodError::Final {
                period: p("2026-13")
            }
        );
        assert_eq!(
            e.to_string(),
            "Period 2026-13 is locked; a locked period is final"
        );
    }
}

#[test]
fn an_invalid_transition_names_status_and_action() {
    let e = transition(p("2026-03"), S::Open, A::Reopen, None).unwrap_err();
    assert_eq!(
        e,
        PeriodError::InvalidTransition {
            period: p("2026-03"),
            from: S::Open,
            action: "reopen"
        }
    );
    assert_eq!(e.to_string(), "Period 2026-03 is open; cannot reopen");
}

#[test]
fn lock_order_within_the_fiscal_year() {
    // given the statuses of the fiscal year (by period number) when `period` locks then …
    struct Case {
        given_locked_through: u8,
        given_other: S,
        period: &'static str,
        then_earlier: Option<(&'static str, S)>,
    }
    let cases = [
        Case {
            given_locked_through: 0,
            given_other: S::Open,
            period: "2026-01",
            then_earlier: None,
        },
        Case {
            given_locked_through: 0,
            given_other: S::Open,
            period: "2026-02",
            then_earlier: Some(("2026-01", S::Open)),
        },
        Case {
            given_locked_through: 1,
            given_other: S::Open,
            period: "2026-03",
            then_earlier: Some(("2026-02", S::Open)),
        },
        Case {
            given_locked_through: 1,
            given_other: S::SoftLocked,
            period: "2026-03",
            then_earlier: Some(("2026-02", S::SoftLocked)),
        },
        Case {
            given_locked_through: 1,
            given_other: S::LockRequested,
            period: "2026-03",
            then_earlier: Some(("2026-02", S::LockRequested)),
        },
        Case {
            given_locked_through: 2,
            given_other: S::Open,
            period: "2026-03",
            then_earlier: None,
        },
        Case {
            given_locked_through: 11,
            given_other: S::SoftLocked,
            period: "2026-12",
            then_earlier: None,
        },
        Case {
            given_locked_through: 11,
            given_other: S::SoftLocked,
            period: "2026-13",
            then_earlier: Some(("2026-12", S::SoftLocked)),
        },
        Case {
            given_locked_through: 12,
            given_other: S::Open,
            period: "2026-13",
            then_earlier: None,
        },
        // later periods do not matter
        Case {
            given_locked_through: 0,
            given_other: S::Locked,
            period: "2026-01",
            then_earlier: None,
        },
    ];
    for c in cases {
        let status_of = |q: PeriodId| {
            assert_eq!(q.fiscal_year, 2026, "asks only about its own fiscal year");
            if q.number <= c.given_locked_through {
                S::Locked
            } else {
                c.given_other
            }
        };
        let period = p(c.period);
        let then = check_lock_order(period, status_of);
        match c.then_earlier {
            None => assert_eq!(then, Ok(()), "{}", c.period),
            Some((earlier, status)) => {
                let e = then.unwrap_err();
                assert_eq!(e.code(), "out_of_order");
                assert_eq!(
                    e,
                    PeriodError::OutOfOrder {
                        period,
                        earlier: p(earlier),
                        status
                    },
                    "{}",
                    c.period
                );
            }
        }
    }
}

#[test]
fn the_first_unlocked_earlier_period_is_named() {
    let e = check_lock_order(p("2026-05"), |q| {
        if q.number == 3 {
            S::Locked
        } else {
            S::SoftLocked
        }
    })
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Period 2026-05 cannot be locked before 2026-01, which is soft_locked"
    );
}

#[test]
fn four_eyes() {
    let march = p("2026-03");
    let cases = [
        ("api_key:a", "api_key:a", Some("four_eyes")),
        ("user:u1", "user:u1", Some("four_eyes")),
        ("api_key:a", "api_key:b", None),
        ("api_key:a", "user:a", None),
    ];
    for (requested_by, approver, then) in cases {
        let got = check_four_eyes(march, requested_by, approver).err();
        assert_eq!(
            got.as_ref().map(PeriodError::code),
            then,
            "{requested_by} / {approver}"
        );
    }
}

#[test]
fn only_the_pending_request_is_decided() {
    let id = Uuid::now_v7();
    let other = Uuid::now_v7();
    let status_cases = [
        (RequestStatus::Pending, None),
        (RequestStatus::Approved, Some("request_not_pending")),
        (RequestStatus::Cancelled, Some("request_not_pending")),
    ];
    for (status, then) in status_cases {
        let got = check_request_pending(id, status).err();
        assert_eq!(got.as_ref().map(PeriodError::code), then, "{status}");
        assert_eq!(RequestStatus::parse(status.as_str()), Some(status));
    }
    assert_eq!(
        check_request_pending(id, RequestStatus::Approved)
            .unwrap_err()
            .to_string(),
        format!("lock request {id} is already approved")
    );
    let pending_cases = [
        (Some(id), None),
        (Some(other), Some("request_not_pending")),
        (None, Some("request_not_pending")),
    ];
    for (pending, then) in pending_cases {
        let got = check_is_pending_request(id, pending).err();
        assert_eq!(got.as_ref().map(PeriodError::code), then, "{pending:?}");
    }
}

#[test]
fn every_error_code_is_a_conflict() {
    use journal::{Rule, RuleKind};
    let march = p("2026-03");
    let id = Uuid::nil();
    let errors = [
        (PeriodError::Final { period: march }, "period_final"),
        (
            PeriodError::InvalidTransition {
                period: march,
                from: S::Open,
                action: "reopen",
            },
            "invalid_transition",
        ),
        (
            PeriodError::OutOfOrder {
                period: march,
                earlier: p("2026-01"),
                status: S::Open,
            },
            "out_of_order",
        ),
        (
            PeriodError::FourEyes {
                period: march,
                requested_by: "api_key:a".into(),
            },
            "four_eyes",
        ),
        (
            PeriodError::RequestDecided {
                request_id: id,
                status: RequestStatus::Cancelled,
            },
            "request_not_pending",
        ),
        (
            PeriodError::NotThePendingRequest { request_id: id },
            "request_not_pending",
        ),
    ];
    for (e, code) in errors {
        assert_eq!(Rule::code(&e), code);
        assert_eq!(e.kind(), RuleKind::Conflict, "{code}");
        assert_eq!(e.field(), None);
        assert!(!e.to_string().is_empty());
    }
}
