//! Webhooks and the event feed, the pure part (issue 15): which events exist and the version of
//! each payload, the signature a receiver verifies, the retry schedule, which addresses a
//! webhook may reach (no request forgery into the operator's network), and when a webhook that
//! keeps failing is disabled.
//!
//! Nothing in here does I/O or reads a clock: the time, the resolved addresses and the
//! outcomes of earlier deliveries come in as arguments. `app` writes the events in the
//! transaction of the change (the outbox), and its delivery worker posts them.

pub mod address;
pub mod event;
pub mod retry;
pub mod signature;

pub use address::{check_resolved, check_url, is_forbidden, pick_address, Target};
pub use event::{validate_events, EventType, ALL_EVENTS};
pub use retry::{should_disable, RetrySchedule, Settled, DISABLE_AFTER};
pub use signature::{sign, signature_header, verify, SignatureError, REPLAY_WINDOW_SECS};

use journal::{Rule, RuleKind};

/// A broken webhook rule (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("url: {reason}")]
    InvalidUrl { reason: String },
    #[error("url {host} resolves to {address}, a loopback, link-local or private address; webhooks may only reach public addresses")]
    UrlForbidden { host: String, address: String },
    #[error("unknown event {name:?}; known events: {known}")]
    UnknownEvent { name: String, known: String },
    #[error("events must name at least one event, or be [\"*\"] for all")]
    NoEvents,
    #[error("description must be at most 500 characters")]
    DescriptionTooLong,
}

impl Rule for WebhookError {
    fn code(&self) -> &'static str {
        match self {
            WebhookError::InvalidUrl { .. } => "invalid_webhook_url",
            WebhookError::UrlForbidden { .. } => "webhook_url_forbidden",
            WebhookError::UnknownEvent { .. } => "unknown_event",
            WebhookError::NoEvents => "invalid_events",
            WebhookError::DescriptionTooLong => "invalid_description",
        }
    }

    fn kind(&self) -> RuleKind {
        RuleKind::Invalid
    }

    fn field(&self) -> Option<String> {
        Some(
            match self {
                WebhookError::InvalidUrl { .. } | WebhookError::UrlForbidden { .. } => "url",
                WebhookError::UnknownEvent { .. } | WebhookError::NoEvents => "events",
                WebhookError::DescriptionTooLong => "description",
            }
            .to_string(),
        )
    }
}

/// A description a webhook may carry.
pub fn check_description(description: Option<&str>) -> Result<(), WebhookError> {
    match description {
        Some(d) if d.chars().count() > 500 => Err(WebhookError::DescriptionTooLong),
        _ => Ok(()),
    }
}
