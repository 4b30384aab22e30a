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
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PeriodStatus {
    /// A period without a stored state is open.
    #[default]
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

/// Every period status, in the order of the diagram above.
pub const STATUSES: [PeriodStatus; 4] = [
    PeriodStatus::Open,
    PeriodStatus::SoftLocked,
    PeriodStatus::LockRequested,
    PeriodStatus::Locked,
];

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

    pub fn parse(s: &str) -> Option<PeriodAction> {
        ACTIONS.into_iter().find(|a| a.as_str() == s)
    }
}

impl fmt::Display for PeriodAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every period action.
pub const ACTIONS: [PeriodAction; 5] = [
    PeriodAction::SoftLock,
    PeriodAction::Reopen,
    PeriodAction::RequestLock,
    PeriodAction::Approve,
    PeriodAction::Cancel,
];

/// Where a lock request stands: pending until approved or cancelled, then decided for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestStatus {
    Pending,
    Approved,
    Cancelled,
}

impl RequestStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Approved => "approved",
            RequestStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<RequestStatus> {
        match s {
            "pending" => Some(RequestStatus::Pending),
            "approved" => Some(RequestStatus::Approved),
            "cancelled" => Some(RequestStatus::Cancelled),
            _ => None,
        }
    }
}

impl fmt::Display for RequestStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
    #[error("lock request {request_id} is already {status}")]
    RequestDecided {
        request_id: Uuid,
        status: RequestStatus,
    },
    #[error("lock request {request_id} is not the pending one")]
    NotThePendingRequest { request_id: Uuid },
}

impl PeriodError {
    pub fn code(&self) -> &'static str {
        match self {
            PeriodError::Final { .. } => "period_final",
            PeriodError::InvalidTransition { .. } => "invalid_transition",
            PeriodError::OutOfOrder { .. } => "out_of_order",
            PeriodError::FourEyes { .. } => "four_eyes",
            PeriodError::RequestDecided { .. } | PeriodError::NotThePendingRequest { .. } => {
                "request_not_pending"
            }
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

/// A lock request can be approved or cancelled only while it is pending.
pub fn check_request_pending(request_id: Uuid, status: RequestStatus) -> Result<(), PeriodError> {
    match status {
        RequestStatus::Pending => Ok(()),
        decided => Err(PeriodError::RequestDecided {
            request_id,
            status: decided,
        }),
    }
}

/// A cancel names the request the period is waiting on (`pending`: the period's current
/// request id), not an earlier one.
pub fn check_is_pending_request(
    request_id: Uuid,
    pending: Option<Uuid>,
) -> Result<(), PeriodError> {
    if pending == Some(request_id) {
        Ok(())
    } else {
        Err(PeriodError::NotThePendingRequest { request_id })
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
