//! The pure accounting core of kontor.
//!
//! Nothing in here does I/O, reads a clock or generates ids on its own: everything a decision
//! needs (accounts, tax codes, period states, the time, the new intent's id) is passed in, so
//! that the same inputs always give the same events and the same hashes.

pub mod booking;
pub mod calendar;
pub mod canonical;
pub mod chain;
pub mod chart;
pub mod event;
pub mod ledger;
pub mod master_data;
pub mod money;
pub mod rule;

pub use booking::{
    decide_booking, decide_opening_balances, decide_reversal, AccountRef, BookingCommand,
    BookingContext, BookingError, BookingLineInput, Fx, IntentKind, OpeningBalanceCommand,
    OriginalIntent, PostingMode, ReversalCommand, Stamp, TaxCode,
};
pub use calendar::{first_open_after, FiscalCalendar, PeriodId};
pub use chain::{closing_hash, event_hash, Hash32, ZERO_HASH};
pub use event::{Actor, BookedIntent, EventPayload, Generated, JournalLine, PayloadError, Side};
pub use ledger::AccountType;
pub use money::{Currency, MoneyError};
pub use rule::{Rule, RuleKind};
