//! Period states and the rules for moving between them.
//!
//! ```text
//!   open ──soft-lock──▶ soft_locked ──lock──▶ lock_requested ──approve──▶ locked (final)
//!    ▲  ◀──reopen────────┘   ▲                     │
//!    └──────lock─────────────┼─────────────────────┤ cancel: back to the state before the request
//! ```
//! Bookings are refused in every state but `open`. A period locks only when every earlier
//! period of its fiscal year is locked (13 after 12), and the lock must be approved by a
//! different principal than the one who requested it.

use journal::PeriodId;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodStatus {
    Open,
    SoftLocked,
    LockRequested,
    Locked,
}

impl PeriodStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            PeriodStatus::Open => "open",
            PeriodStatus::SoftLocked => "soft_locked",
            PeriodStatus::LockRequested => "lock_requested",
            PeriodStatus::Locked => "locked",
        }
    }

    pub fn parse(s: &str) -> Option<PeriodStatus> {
        match s {
            "open" => Some(PeriodStatus::Open),
            "soft_locked" => Some(PeriodStatus::SoftLocked),
            "lock_requested" => Some(PeriodStatus::LockRequested),
            "locked" => Some(PeriodStatus::Locked),
            _ => None,
        }
    }

    /// True when bookings dated in the period are refused.
    pub fn is_closed(&self) -> bool {
        *self != PeriodStatus::Open
    }
}

impl fmt::Display for PeriodStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodAction {
    SoftLock,
    Reopen,
    RequestLock,
    Approve,
    Cancel,
}

impl PeriodAction {
    pub fn as_str(&self) -> &'static str {
        match self {
            PeriodAction::SoftLock => "soft_lock",
            PeriodAction::Reopen => "reopen",
            PeriodAction::RequestLock => "request_lock",
            PeriodAction::Approve => "approve_lock",
            PeriodAction::Cancel => "cancel_lock",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("Period {period} is locked; a locked period is final")]
    Final { period: PeriodId },
    #[error("Period {period} is {from}; cannot {action}")]
    InvalidTransition {
        period: PeriodId,
        from: PeriodStatus,
        action: &'static str,
    },
    #[error("Period {period} cannot be locked before {earlier}, which is {status}")]
    OutOfOrder {
        period: PeriodId,
        earlier: PeriodId,
        status: PeriodStatus,
    },
    #[error("The lock of {period} was requested by {requested_by}; a different principal must approve it")]
    FourEyes {
        period: PeriodId,
        requested_by: String,
    },
}

impl PeriodError {
    pub fn code(&self) -> &'static str {
        match self {
            PeriodError::Final { .. } => "period_final",
            PeriodError::InvalidTransition { .. } => "invalid_transition",
            PeriodError::OutOfOrder { .. } => "out_of_order",
            PeriodError::FourEyes { .. } => "four_eyes",
        }
    }
}

/// The state a period moves to under `action`. `before_request` is the state the period had
/// when its pending lock was requested (used by cancel).
pub fn transition(
    period: PeriodId,
    from: PeriodStatus,
    action: PeriodAction,
    before_request: Option<PeriodStatus>,
) -> Result<PeriodStatus, PeriodError> {
    use PeriodAction as A;
    use PeriodStatus as S;
    if from == S::Locked {
        return Err(PeriodError::Final { period });
    }
    let invalid = || PeriodError::InvalidTransition {
        period,
        from,
        action: action.as_str(),
    };
    match (from, action) {
        (S::Open, A::SoftLock) => Ok(S::SoftLocked),
        (S::SoftLocked, A::Reopen) => Ok(S::Open),
        (S::Open | S::SoftLocked, A::RequestLock) => Ok(S::LockRequested),
        (S::LockRequested, A::Approve) => Ok(S::Locked),
        (S::LockRequested, A::Cancel) => Ok(before_request
            .filter(|s| *s != S::LockRequested && *s != S::Locked)
            .unwrap_or(S::SoftLocked)),
        _ => Err(invalid()),
    }
}

/// Every earlier period of the same fiscal year must be locked before `period` locks.
/// `status_of` answers for periods of that fiscal year.
pub fn check_lock_order(
    period: PeriodId,
    status_of: impl Fn(PeriodId) -> PeriodStatus,
) -> Result<(), PeriodError> {
    for number in 1..period.number {
        let earlier = PeriodId {
            fiscal_year: period.fiscal_year,
            number,
        };
        let status = status_of(earlier);
        if status != PeriodStatus::Locked {
            return Err(PeriodError::OutOfOrder {
                period,
                earlier,
                status,
            });
        }
    }
    Ok(())
}

/// The approver of a lock must not be its requester.
pub fn check_four_eyes(
    period: PeriodId,
    requested_by: &str,
    approver: &str,
) -> Result<(), PeriodError> {
    if requested_by == approver {
        Err(PeriodError::FourEyes {
            period,
            requested_by: requested_by.to_string(),
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PeriodAction as A;
    use PeriodStatus as S;

    fn p(s: &str) -> PeriodId {
        s.parse().unwrap()
    }

    #[test]
    fn allowed_transitions() {
        let march = p("2026-03");
        assert_eq!(
            transition(march, S::Open, A::SoftLock, None),
            Ok(S::SoftLocked)
        );
        assert_eq!(
            transition(march, S::SoftLocked, A::Reopen, None),
            Ok(S::Open)
        );
        assert_eq!(
            transition(march, S::SoftLocked, A::RequestLock, None),
            Ok(S::LockRequested)
        );
        assert_eq!(
            transition(march, S::Open, A::RequestLock, None),
            Ok(S::LockRequested)
        );
        assert_eq!(
            transition(march, S::LockRequested, A::Approve, None),
            Ok(S::Locked)
        );
        assert_eq!(
            transition(march, S::LockRequested, A::Cancel, Some(S::Open)),
            Ok(S::Open)
        );
        assert_eq!(
            transition(march, S::LockRequested, A::Cancel, Some(S::SoftLocked)),
            Ok(S::SoftLocked)
        );
    }

    #[test]
    fn refused_transitions() {
        let march = p("2026-03");
        assert_eq!(
            transition(march, S::Locked, A::Reopen, None)
                .unwrap_err()
                .code(),
            "period_final"
        );
        assert_eq!(
            transition(march, S::Open, A::Reopen, None)
                .unwrap_err()
                .code(),
            "invalid_transition"
        );
        assert_eq!(
            transition(march, S::SoftLocked, A::SoftLock, None)
                .unwrap_err()
                .code(),
            "invalid_transition"
        );
        assert_eq!(
            transition(march, S::LockRequested, A::Reopen, None)
                .unwrap_err()
                .code(),
            "invalid_transition"
        );
        assert_eq!(
            transition(march, S::Open, A::Approve, None)
                .unwrap_err()
                .code(),
            "invalid_transition"
        );
    }

    #[test]
    fn locks_in_order_and_under_four_eyes() {
        let march = p("2026-03");
        let jan_locked = |q: PeriodId| if q.number == 1 { S::Locked } else { S::Open };
        let err = check_lock_order(march, jan_locked).unwrap_err();
        assert!(matches!(err, PeriodError::OutOfOrder { earlier, .. } if earlier == p("2026-02")));
        assert!(check_lock_order(p("2026-01"), |_| S::Open).is_ok());
        assert!(check_lock_order(p("2026-13"), |_| S::Locked).is_ok());
        assert_eq!(
            check_four_eyes(march, "api_key:a", "api_key:a")
                .unwrap_err()
                .code(),
            "four_eyes"
        );
        assert!(check_four_eyes(march, "api_key:a", "user:b").is_ok());
    }
}

impl journal::Rule for PeriodError {
    fn code(&self) -> &'static str {
        PeriodError::code(self)
    }
    /// Every period rule is a conflict with the period's current state.
    fn kind(&self) -> journal::RuleKind {
        journal::RuleKind::Conflict
    }
}
