use journal::{Rule, RuleKind};
use payments::status::{ACTIONS, STATUSES};
use payments::{transition, PaymentRunStatus as S, RunAction as A, RunError};

/// Every status × action, by someone other than the creator.
#[test]
fn every_status_and_action() {
    let table: &[(S, A, Option<S>)] = &[
        (S::Draft, A::Approve, Some(S::Approved)),
        (S::Draft, A::Export, None),
        (S::Draft, A::Complete, None),
        (S::Draft, A::Cancel, Some(S::Cancelled)),
        (S::Approved, A::Approve, None),
        (S::Approved, A::Export, Some(S::Exported)),
        (S::Approved, A::Complete, None),
        (S::Approved, A::Cancel, Some(S::Cancelled)),
        (S::Exported, A::Approve, None),
        (S::Exported, A::Export, Some(S::Exported)),
        (S::Exported, A::Complete, Some(S::Completed)),
        (S::Exported, A::Cancel, Some(S::Cancelled)),
        (S::Completed, A::Approve, None),
        (S::Completed, A::Export, None),
        (S::Completed, A::Complete, None),
        (S::Completed, A::Cancel, None),
        (S::Cancelled, A::Approve, None),
        (S::Cancelled, A::Export, None),
        (S::Cancelled, A::Complete, None),
        (S::Cancelled, A::Cancel, None),
    ];
    assert_eq!(table.len(), STATUSES.len() * ACTIONS.len());
    for &(from, action, to) in table {
        let got = transition(from, action, "alice", "bob");
        match to {
            Some(to) => assert_eq!(got, Ok(to), "{from} × {action}"),
            None => {
                let e = got.expect_err(&format!("{from} × {action} must be refused"));
                assert_eq!(e, RunError::InvalidTransition { from, action });
                assert_eq!(Rule::code(&e), "invalid_transition");
                assert_eq!(e.kind(), RuleKind::Conflict);
            }
        }
    }
}

#[test]
fn the_creator_cannot_approve() {
    let e = transition(S::Draft, A::Approve, "alice", "alice").unwrap_err();
    assert_eq!(Rule::code(&e), "four_eyes");
    assert_eq!(e.kind(), RuleKind::Conflict);
    assert!(e.to_string().contains("alice"));
    // The creator may do everything else the state allows.
    assert_eq!(
        transition(S::Draft, A::Cancel, "alice", "alice"),
        Ok(S::Cancelled)
    );
    assert_eq!(
        transition(S::Approved, A::Export, "alice", "alice"),
        Ok(S::Exported)
    );
    // State first: approving an approved run is invalid_transition, whoever asks.
    let e = transition(S::Approved, A::Approve, "alice", "alice").unwrap_err();
    assert_eq!(Rule::code(&e), "invalid_transition");
}

#[test]
fn names_round_trip_and_active_states() {
    for s in STATUSES {
        assert_eq!(S::parse(s.as_str()), Some(s));
    }
    for a in ACTIONS {
        assert_eq!(A::parse(a.as_str()), Some(a));
    }
    let active: Vec<S> = STATUSES.into_iter().filter(|s| s.is_active()).collect();
    assert_eq!(active, [S::Draft, S::Approved, S::Exported]);
    assert_eq!(S::parse("paid"), None);
}
