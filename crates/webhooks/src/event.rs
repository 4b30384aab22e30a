//! The events a webhook can subscribe to, with the version of each payload.
//!
//! A payload's version changes only when a field is removed or changes its meaning; adding a
//! field keeps it. The payloads are documented in the OpenAPI document's `webhooks` section.

use crate::WebhookError;

/// Every event, with the version of its payload and what it tells.
pub const ALL_EVENTS: &[(EventType, u32, &str)] = &[
    (EventType::BookingCreated, 1, "an intent was booked (a booking, opening balances, or the booking of an invoice, payment, write-off, bank match or payment run)"),
    (EventType::JournalReversed, 1, "an intent was reversed; `data` is the reversing intent"),
    (EventType::PeriodSoftLocked, 1, "a period was soft-locked"),
    (EventType::PeriodLockRequested, 1, "a lock of a period was requested (four eyes)"),
    (EventType::PeriodLocked, 1, "a period was locked, with its closing hash"),
    (EventType::PeriodReopened, 1, "a soft-locked period was reopened"),
    (EventType::InvoiceCreated, 1, "an invoice (incoming or outgoing) was created"),
    (EventType::InvoicePaid, 1, "an invoice was settled in full (payment, write-off, bank match, payment run)"),
    (EventType::InvoiceOverdue, 1, "derived: an open invoice is past its due date (once per invoice, on the first day)"),
    (EventType::InvoiceCancelled, 1, "an invoice was cancelled"),
    (EventType::CustomerCreated, 1, "a customer was created"),
    (EventType::CustomerUpdated, 1, "a customer was changed or deactivated"),
    (EventType::VendorCreated, 1, "a vendor was created"),
    (EventType::VendorUpdated, 1, "a vendor was changed or deactivated"),
    (EventType::BankTransactionImported, 1, "bank transactions were imported (one event per import)"),
    (EventType::BankTransactionReconciled, 1, "a bank transaction was reconciled"),
    (EventType::PaymentRunApproved, 1, "a payment run was approved"),
    (EventType::PaymentRunExported, 1, "a payment run was exported (pain.001)"),
    (EventType::PaymentRunCompleted, 1, "a payment run was completed and its payments booked"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    BookingCreated,
    JournalReversed,
    PeriodSoftLocked,
    PeriodLockRequested,
    PeriodLocked,
    PeriodReopened,
    InvoiceCreated,
    InvoicePaid,
    InvoiceOverdue,
    InvoiceCancelled,
    CustomerCreated,
    CustomerUpdated,
    VendorCreated,
    VendorUpdated,
    BankTransactionImported,
    BankTransactionReconciled,
    PaymentRunApproved,
    PaymentRunExported,
    PaymentRunCompleted,
}

impl EventType {
    pub fn name(self) -> &'static str {
        match self {
            EventType::BookingCreated => "booking.created",
            EventType::JournalReversed => "journal.reversed",
            EventType::PeriodSoftLocked => "period.soft_locked",
            EventType::PeriodLockRequested => "period.lock_requested",
            EventType::PeriodLocked => "period.locked",
            EventType::PeriodReopened => "period.reopened",
            EventType::InvoiceCreated => "invoice.created",
            EventType::InvoicePaid => "invoice.paid",
            EventType::InvoiceOverdue => "invoice.overdue",
            EventType::InvoiceCancelled => "invoice.cancelled",
            EventType::CustomerCreated => "customer.created",
            EventType::CustomerUpdated => "customer.updated",
            EventType::VendorCreated => "vendor.created",
            EventType::VendorUpdated => "vendor.updated",
            EventType::BankTransactionImported => "bank_transaction.imported",
            EventType::BankTransactionReconciled => "bank_transaction.reconciled",
            EventType::PaymentRunApproved => "payment_run.approved",
            EventType::PaymentRunExported => "payment_run.exported",
            EventType::PaymentRunCompleted => "payment_run.completed",
        }
    }

    /// The version of this event's payload.
    pub fn version(self) -> u32 {
        ALL_EVENTS
            .iter()
            .find(|(e, _, _)| *e == self)
            .map(|(_, v, _)| *v)
            .expect("every event is listed in ALL_EVENTS")
    }

    pub fn parse(name: &str) -> Option<EventType> {
        ALL_EVENTS
            .iter()
            .map(|(e, _, _)| *e)
            .find(|e| e.name() == name)
    }
}

/// The events of a subscription: `["*"]` (all, also those added later) or known names, each
/// once, in the order given.
pub fn validate_events(events: &[String]) -> Result<Vec<String>, WebhookError> {
    if events.is_empty() {
        return Err(WebhookError::NoEvents);
    }
    if events.iter().any(|e| e == "*") {
        return if events.len() == 1 {
            Ok(vec!["*".into()])
        } else {
            Err(WebhookError::UnknownEvent {
                name: "*".into(),
                known: "\"*\" stands alone".into(),
            })
        };
    }
    let mut out: Vec<String> = Vec::new();
    for name in events {
        if EventType::parse(name).is_none() {
            return Err(WebhookError::UnknownEvent {
                name: name.clone(),
                known: ALL_EVENTS
                    .iter()
                    .map(|(e, _, _)| e.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        if !out.contains(name) {
            out.push(name.clone());
        }
    }
    Ok(out)
}

/// True when a subscription to `events` receives `event`.
pub fn subscribed(events: &[String], event: &str) -> bool {
    events.iter().any(|e| e == "*" || e == event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for (e, v, _) in ALL_EVENTS {
            assert_eq!(EventType::parse(e.name()), Some(*e));
            assert!(seen.insert(e.name()), "{} twice", e.name());
            assert!(*v >= 1);
        }
        assert_eq!(EventType::parse("invoice.deleted"), None);
    }

    #[test]
    fn subscriptions() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        for (input, want) in [
            (s(&["*"]), Ok(s(&["*"]))),
            (
                s(&["invoice.paid", "booking.created", "invoice.paid"]),
                Ok(s(&["invoice.paid", "booking.created"])),
            ),
            (s(&[]), Err("invalid_events")),
            (s(&["*", "invoice.paid"]), Err("unknown_event")),
            (s(&["invoice.deleted"]), Err("unknown_event")),
            (s(&["Invoice.Paid"]), Err("unknown_event")),
        ] {
            use journal::Rule;
            let got = validate_events(&input).map_err(|e| e.code());
            assert_eq!(got, want, "{input:?}");
        }
        assert!(subscribed(&s(&["*"]), "invoice.paid"));
        assert!(subscribed(&s(&["invoice.paid"]), "invoice.paid"));
        assert!(!subscribed(&s(&["invoice.paid"]), "invoice.created"));
    }
}
