//! Open items: what is still owed on an invoice, its status, and how late it is.
//!
//! The state is derived, never stored: from the invoice's gross amount, the payments and
//! write-offs applied to it (whose bookings are not reversed), whether its own booking is
//! reversed, its due date and the day it is looked at.

use chrono::NaiveDate;
use rust_decimal::Decimal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvoiceStatus {
    /// Nothing applied yet, not past due.
    Open,
    /// Something applied, the rest not yet due.
    PartiallyPaid,
    /// Nothing left to pay.
    Paid,
    /// Past its due date with an amount left (whether or not something was paid).
    Overdue,
    /// Its booking is reversed.
    Cancelled,
}

impl InvoiceStatus {
    pub const ALL: [InvoiceStatus; 5] = [
        InvoiceStatus::Open,
        InvoiceStatus::PartiallyPaid,
        InvoiceStatus::Paid,
        InvoiceStatus::Overdue,
        InvoiceStatus::Cancelled,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            InvoiceStatus::Open => "open",
            InvoiceStatus::PartiallyPaid => "partially_paid",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Overdue => "overdue",
            InvoiceStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<InvoiceStatus> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// What the status of one invoice is derived from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenItemState {
    /// The invoice's total gross (positive for invoices and credit notes alike).
    pub gross: Decimal,
    /// Payments and write-offs applied (positive), reversed ones left out.
    pub settled: Decimal,
    pub due_date: Option<NaiveDate>,
    /// The invoice's booking is reversed.
    pub cancelled: bool,
}

impl OpenItemState {
    /// What is still open: the gross (nothing once cancelled, as its booking is gone) less what
    /// was applied. Negative only when something was applied to an invoice that was cancelled
    /// afterwards: then the partner has a credit.
    pub fn remaining(&self) -> Decimal {
        let gross = if self.cancelled {
            Decimal::ZERO
        } else {
            self.gross
        };
        gross - self.settled
    }

    /// Days past due on `today` while something is open (0 when not due, paid or cancelled).
    pub fn days_overdue(&self, today: NaiveDate) -> i64 {
        if self.cancelled || self.remaining() <= Decimal::ZERO {
            return 0;
        }
        self.due_date.map(|d| days_overdue(d, today)).unwrap_or(0)
    }

    pub fn status(&self, today: NaiveDate) -> InvoiceStatus {
        derive_status(self, today)
    }
}

/// Days from `due_date` to `today`, 0 when not yet past due. An invoice due today is not late.
pub fn days_overdue(due_date: NaiveDate, today: NaiveDate) -> i64 {
    (today - due_date).num_days().max(0)
}

/// The status on `today`, in this order: cancelled (booking reversed); paid (nothing left);
/// overdue (past the due date); partially_paid (something applied); open. An invoice without
/// a due date is never overdue. Mirrored in SQL by `store::invoices` for the status filter.
pub fn derive_status(s: &OpenItemState, today: NaiveDate) -> InvoiceStatus {
    if s.cancelled {
        InvoiceStatus::Cancelled
    } else if s.remaining() <= Decimal::ZERO {
        InvoiceStatus::Paid
    } else if s.due_date.is_some_and(|d| d < today) {
        InvoiceStatus::Overdue
    } else if s.settled > Decimal::ZERO {
        InvoiceStatus::PartiallyPaid
    } else {
        InvoiceStatus::Open
    }
}

/// Aging buckets of open items by days past due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AgingBucket {
    /// Not past due.
    Current,
    Days1To30,
    Days31To60,
    Days61To90,
    Over90,
}

impl AgingBucket {
    pub const ALL: [AgingBucket; 5] = [
        AgingBucket::Current,
        AgingBucket::Days1To30,
        AgingBucket::Days31To60,
        AgingBucket::Days61To90,
        AgingBucket::Over90,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            AgingBucket::Current => "current",
            AgingBucket::Days1To30 => "1_30",
            AgingBucket::Days31To60 => "31_60",
            AgingBucket::Days61To90 => "61_90",
            AgingBucket::Over90 => "over_90",
        }
    }

    pub fn parse(s: &str) -> Option<AgingBucket> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

pub fn aging_bucket(days_overdue: i64) -> AgingBucket {
    match days_overdue {
        i64::MIN..=0 => AgingBucket::Current,
        1..=30 => AgingBucket::Days1To30,
        31..=60 => AgingBucket::Days31To60,
        61..=90 => AgingBucket::Days61To90,
        _ => AgingBucket::Over90,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn state(gross: i64, settled: i64, due: Option<&str>, cancelled: bool) -> OpenItemState {
        OpenItemState {
            gross: Decimal::new(gross, 2),
            settled: Decimal::new(settled, 2),
            due_date: due.map(date),
            cancelled,
        }
    }

    #[test]
    fn statuses_over_an_invoices_life() {
        let today = date("2026-03-31");
        assert_eq!(
            state(11900, 0, Some("2026-04-14"), false).status(today),
            InvoiceStatus::Open
        );
        assert_eq!(
            state(11900, 0, Some("2026-03-31"), false).status(today),
            InvoiceStatus::Open
        );
        assert_eq!(
            state(11900, 5000, Some("2026-04-14"), false).status(today),
            InvoiceStatus::PartiallyPaid
        );
        assert_eq!(
            state(11900, 5000, Some("2026-03-30"), false).status(today),
            InvoiceStatus::Overdue
        );
        assert_eq!(
            state(11900, 0, Some("2026-03-30"), false).status(today),
            InvoiceStatus::Overdue
        );
        assert_eq!(
            state(11900, 11900, Some("2026-03-01"), false).status(today),
            InvoiceStatus::Paid
        );
        assert_eq!(
            state(11900, 0, None, false).status(today),
            InvoiceStatus::Open
        );
        assert_eq!(
            state(11900, 0, Some("2026-03-01"), true).status(today),
            InvoiceStatus::Cancelled
        );
    }

    #[test]
    fn remaining_and_days() {
        let today = date("2026-03-31");
        let s = state(11900, 1900, Some("2026-03-01"), false);
        assert_eq!(s.remaining(), Decimal::new(10000, 2));
        assert_eq!(s.days_overdue(today), 30);
        assert_eq!(
            state(11900, 11900, Some("2026-03-01"), false).days_overdue(today),
            0
        );
        // Cancelled after a payment: the payment is a credit of the partner.
        assert_eq!(
            state(11900, 1000, None, true).remaining(),
            Decimal::new(-1000, 2)
        );
    }

    #[test]
    fn bucket_edges() {
        let cases = [
            (0, "current"),
            (1, "1_30"),
            (30, "1_30"),
            (31, "31_60"),
            (60, "31_60"),
            (61, "61_90"),
            (90, "61_90"),
            (91, "over_90"),
        ];
        for (days, bucket) in cases {
            assert_eq!(aging_bucket(days).as_str(), bucket, "{days}");
            assert_eq!(AgingBucket::parse(bucket), Some(aging_bucket(days)));
        }
        assert_eq!(days_overdue(date("2026-01-31"), date("2026-03-01")), 29);
        assert_eq!(days_overdue(date("2026-03-02"), date("2026-03-01")), 0);
    }

    proptest! {
        /// Exactly one status; paid iff nothing remains; overdue only with an amount open past the due date.
        #[test]
        fn status_is_consistent(gross in 1i64..1_000_000, settled in 0i64..1_000_000, due in proptest::option::of(-200i64..200), cancelled in any::<bool>()) {
            let today = date("2026-06-15");
            let s = OpenItemState {
                gross: Decimal::new(gross, 2),
                settled: Decimal::new(settled.min(gross), 2),
                due_date: due.map(|d| today + chrono::Duration::days(d)),
                cancelled,
            };
            let status = s.status(today);
            prop_assert_eq!(status == InvoiceStatus::Cancelled, cancelled);
            if !cancelled {
                prop_assert_eq!(status == InvoiceStatus::Paid, s.remaining().is_zero());
                prop_assert_eq!(status == InvoiceStatus::Overdue, s.days_overdue(today) > 0);
            }
            prop_assert!(s.days_overdue(today) >= 0);
            let bucket = aging_bucket(s.days_overdue(today));
            prop_assert_eq!(bucket == AgingBucket::Current, s.days_overdue(today) == 0);
        }
    }
}
