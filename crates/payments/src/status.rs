//! The states of a payment run and the actions between them.
//!
//! ```text
//!   draft ──approve──▶ approved ──export──▶ exported ──complete──▶ completed (final)
//!     │                   │                 │  ▲
//!     │                   │                 └──┘ export again: the stored file is replayed
//!     └──────cancel───────┴──────cancel─────┴──▶ cancelled (final)
//! ```
//! Approval is under four eyes: whoever created the run cannot approve it. Cancelling releases
//! the run's invoices; it is refused once the run is completed, since its payments are booked.

use crate::RunError;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentRunStatus {
    Draft,
    Approved,
    Exported,
    Completed,
    Cancelled,
}

/// Every run status, in the order of the diagram above.
pub const STATUSES: [PaymentRunStatus; 5] = [
    PaymentRunStatus::Draft,
    PaymentRunStatus::Approved,
    PaymentRunStatus::Exported,
    PaymentRunStatus::Completed,
    PaymentRunStatus::Cancelled,
];

impl PaymentRunStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            PaymentRunStatus::Draft => "draft",
            PaymentRunStatus::Approved => "approved",
            PaymentRunStatus::Exported => "exported",
            PaymentRunStatus::Completed => "completed",
            PaymentRunStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<PaymentRunStatus> {
        STATUSES.into_iter().find(|st| st.as_str() == s)
    }

    /// An active run holds its invoices: no other run may take them.
    pub fn is_active(&self) -> bool {
        matches!(
            self,
            PaymentRunStatus::Draft | PaymentRunStatus::Approved | PaymentRunStatus::Exported
        )
    }
}

impl fmt::Display for PaymentRunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunAction {
    Approve,
    Export,
    Complete,
    Cancel,
}

/// Every run action.
pub const ACTIONS: [RunAction; 4] = [
    RunAction::Approve,
    RunAction::Export,
    RunAction::Complete,
    RunAction::Cancel,
];

impl RunAction {
    pub fn as_str(&self) -> &'static str {
        match self {
            RunAction::Approve => "approve",
            RunAction::Export => "export",
            RunAction::Complete => "complete",
            RunAction::Cancel => "cancel",
        }
    }

    pub fn parse(s: &str) -> Option<RunAction> {
        ACTIONS.into_iter().find(|a| a.as_str() == s)
    }
}

impl fmt::Display for RunAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The status a run moves to under `action`, taken by `actor`; `created_by` is the run's
/// creator (four eyes on approval). The state is checked before the four-eyes rule, so an
/// approval of a run that is not a draft is `invalid_transition` whoever asks.
///
/// Exporting an exported run is allowed and keeps it exported: the caller replays the stored
/// file instead of writing a new one.
pub fn transition(
    from: PaymentRunStatus,
    action: RunAction,
    created_by: &str,
    actor: &str,
) -> Result<PaymentRunStatus, RunError> {
    use PaymentRunStatus as S;
    use RunAction as A;
    match (from, action) {
        (S::Draft, A::Approve) => {
            if created_by == actor {
                Err(RunError::FourEyes {
                    created_by: created_by.to_string(),
                })
            } else {
                Ok(S::Approved)
            }
        }
        (S::Approved | S::Exported, A::Export) => Ok(S::Exported),
        (S::Exported, A::Complete) => Ok(S::Completed),
        (S::Draft | S::Approved | S::Exported, A::Cancel) => Ok(S::Cancelled),
        _ => Err(RunError::InvalidTransition { from, action }),
    }
}
