//! The rules of reconciling bank transactions: which transaction may be matched, which
//! candidate fits it, and the bookings a match makes (`booked` mode). Pure: the application
//! layer loads the transaction, the candidate and the chart's roles first.
//!
//! Amounts are signed from the bank's view (+ = money in). The bank's ledger account is
//! debited with money in and credited with money out; the other side of a booking is the
//! partner's account (open items), the chosen account (with an optional tax code: the line
//! carries the net, the journal adds the VAT), or money in transit (transfers between own
//! bank accounts).

use crate::matching::{Adjustment, CandidateKind};
use chrono::NaiveDate;
use journal::{BookingCommand, BookingLineInput, Currency, Fx, Rule, RuleKind};
use receivables::{split_gross, Direction, InvoiceType};
use rust_decimal::Decimal;

/// A transaction's state as far as matching goes (derived, never stored: see schema 0009).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionState {
    Unmatched,
    Matched,
    Dismissed,
}

/// A broken rule of reconciling.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReconcileError {
    #[error("bank transaction {0} is matched already; unmatch it first")]
    AlreadyMatched(String),
    #[error("bank transaction {0} is dismissed; unmatch it to undo the dismissal first")]
    Dismissed(String),
    #[error("bank transaction {0} is neither matched nor dismissed")]
    NotMatched(String),
    #[error("bank transaction {0} is matched in a match group; unmatch the group (POST /v1/bank-match-groups/{{id}}/unmatch)")]
    MatchIsGroup(String),
    #[error("the match has been undone already")]
    MatchEnded,
    #[error("{field} is required for candidate_kind {kind}")]
    Missing { field: &'static str, kind: String },
    #[error("{what}: money {direction} cannot settle it")]
    WrongDirection {
        what: String,
        direction: &'static str,
    },
    #[error("open_item_account {given} is not the invoice's partner account {expected}")]
    OpenItemAccountMismatch { given: String, expected: String },
    #[error("intent_id {given} is not the booking of invoice {invoice}")]
    IntentMismatch { given: String, invoice: String },
    #[error("booking {0} does not post to the bank's ledger account")]
    NotOnLedgerAccount(String),
    #[error(
        "booking {intent} moves {booked} on the bank's ledger account, the transaction {amount}"
    )]
    AmountMismatch {
        intent: String,
        booked: String,
        amount: String,
    },
    #[error("booking {0} is a reversal or reversed")]
    IntentReversed(String),
    #[error("booking {0} is matched with another bank transaction already")]
    IntentAlreadyMatched(String),
    #[error("the bank account is in {0} and the statement gives no rate: fx_rate is required")]
    FxRateRequired(String),
    #[error("fx_rate must be > 0 with at most 10 decimals")]
    InvalidFxRate,
    #[error("the chart has no money-in-transit account (role money_in_transit)")]
    NoMoneyInTransit,
    #[error("the transfer's other transaction must be on another bank account")]
    TransferSameAccount,
    #[error("all transactions of a match group must be on one bank account")]
    MixedBankAccounts,
    #[error("bank transaction {0} is named twice")]
    DuplicateTransaction(String),
    #[error("{field}: at most {max} entries")]
    TooMany { field: &'static str, max: usize },
    #[error("{field}: {message}")]
    InvalidText { field: String, message: String },
}

impl Rule for ReconcileError {
    fn code(&self) -> &'static str {
        use ReconcileError::*;
        match self {
            AlreadyMatched(_) => "already_matched",
            Dismissed(_) => "transaction_dismissed",
            NotMatched(_) => "not_matched",
            MatchIsGroup(_) => "match_is_group",
            MatchEnded => "match_ended",
            Missing { .. } => "missing_field",
            WrongDirection { .. } => "wrong_direction",
            OpenItemAccountMismatch { .. } => "open_item_account_mismatch",
            IntentMismatch { .. } => "intent_mismatch",
            NotOnLedgerAccount(_) => "not_on_bank_account",
            AmountMismatch { .. } => "amount_mismatch",
            IntentReversed(_) => "intent_reversed",
            IntentAlreadyMatched(_) => "intent_already_matched",
            FxRateRequired(_) => "fx_rate_required",
            InvalidFxRate => "invalid_fx_rate",
            NoMoneyInTransit => "unknown_account",
            TransferSameAccount => "transfer_same_account",
            MixedBankAccounts => "mixed_bank_accounts",
            DuplicateTransaction(_) => "duplicate_bank_transaction",
            TooMany { .. } => "too_many",
            InvalidText { .. } => "invalid_field",
        }
    }

    fn kind(&self) -> RuleKind {
        use ReconcileError::*;
        match self {
            AlreadyMatched(_)
            | Dismissed(_)
            | NotMatched(_)
            | MatchIsGroup(_)
            | MatchEnded
            | IntentReversed(_)
            | IntentAlreadyMatched(_) => RuleKind::Conflict,
            _ => RuleKind::Invalid,
        }
    }

    fn field(&self) -> Option<String> {
        use ReconcileError::*;
        Some(match self {
            Missing { field, .. } | TooMany { field, .. } => field.to_string(),
            WrongDirection { .. } | NoMoneyInTransit => "candidate_kind".into(),
            OpenItemAccountMismatch { .. } => "open_item_account".into(),
            IntentMismatch { .. } | NotOnLedgerAccount(_) | AmountMismatch { .. } => {
                "intent_id".into()
            }
            FxRateRequired(_) | InvalidFxRate => "fx_rate".into(),
            TransferSameAccount => "candidate_id".into(),
            MixedBankAccounts | DuplicateTransaction(_) => "bank_transaction_ids".into(),
            InvalidText { field, .. } => field.clone(),
            _ => return None,
        })
    }
}

/// A transaction may be matched (or dismissed) only while it is unmatched.
pub fn check_unmatched(id: &str, state: TransactionState) -> Result<(), ReconcileError> {
    match state {
        TransactionState::Unmatched => Ok(()),
        TransactionState::Matched => Err(ReconcileError::AlreadyMatched(id.to_string())),
        TransactionState::Dismissed => Err(ReconcileError::Dismissed(id.to_string())),
    }
}

/// Whether money in (+) settles an invoice of this side and type: a customer pays our
/// invoice, we pay a vendor's; credit notes the other way round.
pub fn money_in_settles(direction: Direction, invoice_type: InvoiceType) -> bool {
    matches!(
        (direction, invoice_type),
        (Direction::Outgoing, InvoiceType::Invoice)
            | (Direction::Incoming, InvoiceType::CreditNote)
    )
}

/// The side of an open-item candidate kind.
pub fn invoice_direction(kind: CandidateKind) -> Option<Direction> {
    match kind {
        CandidateKind::OutgoingInvoice => Some(Direction::Outgoing),
        CandidateKind::IncomingInvoice => Some(Direction::Incoming),
        _ => None,
    }
}

/// The rate of a foreign-currency account: the statement's, else the request's (required).
/// `None` for accounts in the base currency.
pub fn fx_rate(
    account_currency: Currency,
    base: Currency,
    statement_rate: Option<Decimal>,
    requested: Option<Decimal>,
) -> Result<Option<Decimal>, ReconcileError> {
    if account_currency == base {
        return Ok(None);
    }
    let rate = statement_rate
        .or(requested)
        .ok_or_else(|| ReconcileError::FxRateRequired(account_currency.to_string()))?;
    if rate <= Decimal::ZERO || rate.scale() > 10 {
        return Err(ReconcileError::InvalidFxRate);
    }
    Ok(Some(rate))
}

/// An amount of the account's currency in the base currency at `rate` (units of the foreign
/// currency per 1 unit of the base currency), rounded to the base currency's minor unit.
pub fn to_base(amount: Decimal, rate: Option<Decimal>, base: Currency) -> Option<Decimal> {
    match rate {
        None => Some(amount),
        Some(r) => amount.checked_div(r).map(|a| base.round(a)),
    }
}

/// A booking line of `amount` (> 0 after the sign is taken) on the given side.
fn line(account: &str, debit: bool, amount: Decimal, tax_code: Option<String>) -> BookingLineInput {
    BookingLineInput {
        account: account.to_string(),
        debit: debit.then_some(amount),
        credit: (!debit).then_some(amount),
        tax_code,
        description: None,
        cost_center: None,
    }
}

/// The lines of a counter entry of `amount` (signed from the bank's view: + is credited to
/// the counter account) with an optional tax code at `rate` (the line carries the net; what no
/// net reaches goes on a line without tax). Self-assessed codes carry the whole amount.
fn counter_lines(
    currency: Currency,
    account: &str,
    amount: Decimal,
    tax: Option<(&str, Decimal, bool)>,
) -> Vec<BookingLineInput> {
    let debit = amount < Decimal::ZERO;
    let gross = amount.abs();
    match tax {
        Some((code, rate, self_assessed)) if !self_assessed && !rate.is_zero() => {
            let (net, _tax, rest) = split_gross(currency, gross, rate);
            let mut out = Vec::new();
            if net > Decimal::ZERO {
                out.push(line(account, debit, net, Some(code.to_string())));
            }
            if rest > Decimal::ZERO {
                out.push(line(account, debit, rest, None));
            }
            out
        }
        Some((code, _, _)) => vec![line(account, debit, gross, Some(code.to_string()))],
        None => vec![line(account, debit, gross, None)],
    }
}

/// What a single transaction is booked against (`account` and `transfer` candidates).
#[derive(Debug, Clone)]
pub struct CounterBooking<'a> {
    pub ledger_account: &'a str,
    /// The chosen account, or money in transit for a transfer.
    pub counter_account: &'a str,
    /// The tax code with its rate and whether it is self-assessed.
    pub tax: Option<(&'a str, Decimal, bool)>,
    /// In the bank account's currency, signed.
    pub amount: Decimal,
    pub currency: Currency,
    /// The bank account's currency and rate when it is not the base currency.
    pub fx: Option<(Currency, Decimal)>,
    pub date: NaiveDate,
    pub description: String,
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

/// The booking of a transaction against an account: the ledger account for the money, the
/// counter account (net with tax code) for the other side.
pub fn counter_booking(b: &CounterBooking<'_>) -> BookingCommand {
    let money_in = b.amount > Decimal::ZERO;
    let mut lines = vec![line(b.ledger_account, money_in, b.amount.abs(), None)];
    lines.extend(counter_lines(
        b.currency,
        b.counter_account,
        b.amount,
        b.tax,
    ));
    BookingCommand {
        booking_date: b.date,
        description: clip(&b.description, journal::booking::MAX_DESCRIPTION),
        lines,
        skip_duplicate_check: true,
        adjustment_period: false,
        fx: b.fx.map(|(c, rate)| Fx {
            currency: c.code().to_string(),
            rate,
        }),
        external_reference: None,
        custom_metadata: Some(b.metadata.clone()),
        document_id: None,
    }
}

fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// One allocation of a match group as booked: the account it credits (money in) or debits
/// (money out) — the partner's account of an open item, the chosen account, or money in
/// transit for a transfer. Allocations to existing bookings (`journal_entry`) book nothing:
/// they are `GroupBooking::linked_total`.
#[derive(Debug, Clone)]
pub struct BookedAllocation<'a> {
    pub account: &'a str,
    pub amount: Decimal,
}

/// One adjustment of a match group with its tax code's rate (and whether self-assessed).
#[derive(Debug, Clone)]
pub struct BookedAdjustment<'a> {
    pub adjustment: &'a Adjustment,
    pub tax: Option<(Decimal, bool)>,
}

/// What a match group books.
#[derive(Debug, Clone)]
pub struct GroupBooking<'a> {
    pub ledger_account: &'a str,
    /// The bank account's currency: every amount is in it.
    pub currency: Currency,
    /// The bank account's currency and rate when it is not the base currency.
    pub fx: Option<(Currency, Decimal)>,
    /// Σ of the transactions' amounts (bank's view).
    pub transactions_total: Decimal,
    /// Σ of the allocations to existing bookings, which are on the ledger account already.
    pub linked_total: Decimal,
    pub allocations: &'a [BookedAllocation<'a>],
    pub adjustments: &'a [BookedAdjustment<'a>],
    pub date: NaiveDate,
    pub description: &'a str,
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

/// The one booking of a match group: the ledger account for Σ transactions less what
/// existing bookings carry, each allocation on its account, each adjustment on its account
/// (net with its tax code). Balanced whenever `check_match_group` holds. Lines on the same
/// account and side stay separate, so the journal shows each allocation. `None` when the
/// group only links existing bookings: nothing to book.
pub fn group_booking(g: &GroupBooking<'_>) -> Option<BookingCommand> {
    let GroupBooking {
        ledger_account,
        currency,
        transactions_total,
        linked_total,
        allocations,
        adjustments,
        date,
        description,
        ..
    } = *g;
    let mut lines = Vec::new();
    let ledger = transactions_total - linked_total;
    if !ledger.is_zero() {
        lines.push(line(
            ledger_account,
            ledger > Decimal::ZERO,
            ledger.abs(),
            None,
        ));
    }
    for a in allocations {
        lines.extend(counter_lines(currency, a.account, a.amount, None));
    }
    for a in adjustments {
        let adj = a.adjustment;
        let tax = match (&adj.tax_code, a.tax) {
            (Some(code), Some((rate, self_assessed))) => Some((code.as_str(), rate, self_assessed)),
            _ => None,
        };
        lines.extend(counter_lines(currency, &adj.account, adj.amount, tax));
    }
    if lines.is_empty() {
        return None;
    }
    Some(BookingCommand {
        booking_date: date,
        description: clip(description, journal::booking::MAX_DESCRIPTION),
        lines,
        skip_duplicate_check: true,
        adjustment_period: false,
        fx: g.fx.map(|(c, rate)| Fx {
            currency: c.code().to_string(),
            rate,
        }),
        external_reference: None,
        custom_metadata: Some(g.metadata.clone()),
        document_id: None,
    })
}

/// The rate of a match group on a foreign-currency account: the request's, else the rate
/// the statement gives every transaction of the group alike; `None` for base-currency
/// accounts.
pub fn group_fx_rate(
    account_currency: Currency,
    base: Currency,
    statement_rates: &[Option<Decimal>],
    requested: Option<Decimal>,
) -> Result<Option<Decimal>, ReconcileError> {
    let common = match statement_rates.split_first() {
        Some((first, rest)) if rest.iter().all(|r| r == first) => *first,
        _ => None,
    };
    // The request wins here: the transactions of a group may carry different rates.
    fx_rate(account_currency, base, requested.or(common), None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::check_match_group;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }
    fn sums(cmd: &BookingCommand) -> (Decimal, Decimal) {
        (
            cmd.lines.iter().filter_map(|l| l.debit).sum(),
            cmd.lines.iter().filter_map(|l| l.credit).sum(),
        )
    }

    #[test]
    fn states() {
        assert_eq!(check_unmatched("t", TransactionState::Unmatched), Ok(()));
        assert_eq!(
            check_unmatched("t", TransactionState::Matched)
                .unwrap_err()
                .code(),
            "already_matched"
        );
        let e = check_unmatched("t", TransactionState::Dismissed).unwrap_err();
        assert_eq!(
            (e.code(), e.kind()),
            ("transaction_dismissed", RuleKind::Conflict)
        );
    }

    #[test]
    fn directions() {
        assert!(money_in_settles(Direction::Outgoing, InvoiceType::Invoice));
        assert!(!money_in_settles(
            Direction::Outgoing,
            InvoiceType::CreditNote
        ));
        assert!(!money_in_settles(Direction::Incoming, InvoiceType::Invoice));
        assert!(money_in_settles(
            Direction::Incoming,
            InvoiceType::CreditNote
        ));
    }

    #[test]
    fn fx_rates() {
        let usd = Currency::from_code("USD").unwrap();
        assert_eq!(fx_rate(Currency::EUR, Currency::EUR, None, None), Ok(None));
        assert_eq!(
            fx_rate(usd, Currency::EUR, None, None).unwrap_err().code(),
            "fx_rate_required"
        );
        assert_eq!(
            fx_rate(usd, Currency::EUR, Some(d("1.1")), Some(d("2"))),
            Ok(Some(d("1.1")))
        );
        assert_eq!(
            fx_rate(usd, Currency::EUR, None, Some(d("0"))).unwrap_err(),
            ReconcileError::InvalidFxRate
        );
        assert_eq!(
            to_base(d("108.50"), Some(d("1.085")), Currency::EUR),
            Some(d("100.00"))
        );
    }

    #[test]
    fn rent_with_input_vat_books_the_net() {
        let cmd = counter_booking(&CounterBooking {
            ledger_account: "1200",
            counter_account: "4210",
            tax: Some(("VSt19", d("19"), false)),
            amount: d("-119.00"),
            currency: Currency::EUR,
            fx: None,
            date: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            description: "Rent".into(),
            metadata: Default::default(),
        });
        assert_eq!(cmd.lines[0].credit, Some(d("119.00")));
        assert_eq!(cmd.lines[1].debit, Some(d("100.00")));
        assert_eq!(cmd.lines[1].tax_code.as_deref(), Some("VSt19"));
    }

    proptest! {
        /// A group that passes the balance rule books a balanced booking (tax lines aside:
        /// net + tax + rest = gross on every taxed adjustment); allocations to existing
        /// bookings stay off it, and a group of links only books nothing.
        #[test]
        fn balanced_groups_book_balanced(
            allocs in proptest::collection::vec((-100_000i64..100_000, any::<bool>()), 1..5),
            adjs in proptest::collection::vec((-10_000i64..10_000, any::<bool>()), 0..3),
        ) {
            let allocations: Vec<crate::Allocation> = allocs.iter().filter(|(c, _)| *c != 0).map(|(c, linked)| crate::Allocation {
                candidate_kind: if *linked { CandidateKind::JournalEntry } else { CandidateKind::OutgoingInvoice },
                candidate_id: "x".into(),
                amount: Decimal::new(*c, 2),
            }).collect();
            let adjustments: Vec<Adjustment> = adjs.iter().filter(|(c, _)| *c != 0).map(|(c, taxed)| Adjustment {
                account: "4970".into(),
                amount: Decimal::new(*c, 2),
                reason: "fee".into(),
                tax_code: taxed.then(|| "VSt19".to_string()),
            }).collect();
            let total: Decimal = allocations.iter().map(|a| a.amount).chain(adjustments.iter().map(|a| a.amount)).sum();
            prop_assume!(!allocations.is_empty() || !adjustments.is_empty());
            prop_assert!(check_match_group(Currency::EUR, &[total], &allocations, &adjustments).is_ok());
            let linked = |a: &&crate::Allocation| a.candidate_kind == CandidateKind::JournalEntry;
            let linked_total: Decimal = allocations.iter().filter(linked).map(|a| a.amount).sum();
            let booked: Vec<BookedAllocation> = allocations.iter().filter(|a| !linked(a)).map(|a| BookedAllocation { account: "10000", amount: a.amount }).collect();
            let adj: Vec<BookedAdjustment> = adjustments.iter().map(|a| BookedAdjustment { adjustment: a, tax: a.tax_code.as_ref().map(|_| (d("19"), false)) }).collect();
            let cmd = group_booking(&GroupBooking {
                ledger_account: "1200",
                currency: Currency::EUR,
                fx: None,
                transactions_total: total,
                linked_total,
                allocations: &booked,
                adjustments: &adj,
                date: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
                description: "g",
                metadata: Default::default(),
            });
            let Some(cmd) = cmd else {
                prop_assert!(booked.is_empty() && adjustments.is_empty() && total == linked_total);
                return Ok(());
            };
            // Add the VAT the journal will add for taxed lines.
            let mut debit = Decimal::ZERO;
            let mut credit = Decimal::ZERO;
            let mut ledger = Decimal::ZERO;
            for l in &cmd.lines {
                let tax = if l.tax_code.is_some() { Currency::EUR.round(l.debit.or(l.credit).unwrap() * d("19") / d("100")) } else { Decimal::ZERO };
                if let Some(x) = l.debit { debit += x + tax; prop_assert!(x > Decimal::ZERO); }
                if let Some(x) = l.credit { credit += x + tax; prop_assert!(x > Decimal::ZERO); }
                if l.account == "1200" { ledger += l.debit.unwrap_or_default() - l.credit.unwrap_or_default(); }
            }
            prop_assert_eq!(debit, credit);
            // The ledger account moves by what the links do not carry already.
            prop_assert_eq!(ledger, total - linked_total);
            let _ = sums(&cmd);
        }

        /// A group's rate: the request's, else one the statement gives all transactions.
        #[test]
        fn group_rates(rates in proptest::collection::vec(proptest::option::of(1u32..4), 1..4), requested in proptest::option::of(1u32..4)) {
            let usd = Currency::from_code("USD").unwrap();
            let rates: Vec<Option<Decimal>> = rates.into_iter().map(|r| r.map(Decimal::from)).collect();
            let requested = requested.map(Decimal::from);
            let got = group_fx_rate(usd, Currency::EUR, &rates, requested);
            let all_same = rates.iter().all(|r| *r == rates[0]);
            match (requested, all_same.then_some(rates[0]).flatten()) {
                (Some(r), _) | (None, Some(r)) => prop_assert_eq!(got, Ok(Some(r))),
                (None, None) => prop_assert_eq!(got.unwrap_err().code(), "fx_rate_required"),
            }
            prop_assert_eq!(group_fx_rate(Currency::EUR, Currency::EUR, &rates, requested), Ok(None));
        }
    }
}
