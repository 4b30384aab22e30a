//! Reconciling bank transactions: suggestions, reconcile (`linked` or `booked`), unmatch,
//! dismiss, batch-reconcile and match groups.
//!
//! Every write locks the bank transactions it concerns first (`FOR UPDATE`, in id order), so
//! two requests for one transaction run one after the other and the second sees the first's
//! match (409 `already_matched`); the booking, the application to the open item and the
//! match rows are written in that one transaction. `bank::reconcile` decides; store persists.
//!
//! Unmatching a `booked` match reverses its booking through the journal (the reversal use
//! case's command, in the same transaction) and ends the match with the reversal's intent;
//! the open items reopen by themselves, since applications of reversed bookings do not count.
//! Unmatching a dismissed transaction undoes the dismissal.

use crate::bookings::AppendCommand;
use crate::settlements::InvoicePayment;
use crate::{App, AppError, AppResult};
use bank::reconcile::{
    check_unmatched, counter_booking, fx_rate, group_booking, group_fx_rate, invoice_direction,
    money_in_settles, to_base, BookedAdjustment, BookedAllocation, CounterBooking, GroupBooking,
    ReconcileError, TransactionState,
};
use bank::suggest::{Candidates, JournalCandidate, LearnedAccount, SuggestionIndex, Target};
use bank::{check_match_group, BankTransaction, CashDiscount, OpenItem};
use journal::{Actor, Currency, PostingMode, ReversalCommand};
use receivables::{offered_discount, CashDiscountTerms, SettlementError};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use store::bank_match::{self as rows, MatchClash, MatchableTransaction, NewMatch};
use store::idempotency::Idempotent;
use store::invoices::lock_invoice;
use uuid::Uuid;

pub use bank::{Adjustment, Allocation, CandidateKind, Reason};

/// At most this many pairs in one batch-reconcile, transactions, allocations and
/// adjustments in one match group.
pub const MAX_BATCH: usize = 500;
pub const MAX_GROUP_TRANSACTIONS: usize = 100;
pub const MAX_GROUP_ALLOCATIONS: usize = 100;
pub const MAX_GROUP_ADJUSTMENTS: usize = 50;
/// Suggestions consider at most this many open transactions per request.
pub const MAX_SUGGESTION_TRANSACTIONS: i64 = 10_000;
/// From this many open transactions on, suggestions are scored on two threads.
const PARALLEL_FROM: usize = 500;

/// `POST /v1/bank-transactions/{id}/reconcile`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconcileRequest {
    /// `journal_entry`: the booking to link (or `candidate_id`). Open items: optional, must be
    /// the invoice's booking.
    pub intent_id: Option<Uuid>,
    pub candidate_kind: CandidateKind,
    /// Open items: optional, must be the invoice's partner account.
    pub open_item_account: Option<String>,
    /// Open items: the invoice id; journal_entry: the intent id; transfer: the other bank
    /// transaction (optional); account: unused.
    pub candidate_id: Option<String>,
    /// `account`: the account to book to.
    pub account: Option<String>,
    /// `account`: an optional tax code (the amount is gross; the line carries the net).
    pub tax_code: Option<String>,
    /// Foreign-currency bank accounts whose statement gives no rate.
    pub fx_rate: Option<Decimal>,
}

/// How a match was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchMode {
    Linked,
    Booked,
}

impl MatchMode {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchMode::Linked => "linked",
            MatchMode::Booked => "booked",
        }
    }
}

/// A match made.
#[derive(Debug, Clone, PartialEq)]
pub struct Reconciled {
    pub match_id: Uuid,
    pub mode: MatchMode,
    pub intent_id: Uuid,
}

/// What unmatching did.
#[derive(Debug, Clone, PartialEq)]
pub enum Unmatched {
    /// A linked match ended; the booking stays.
    Unlinked { match_id: Uuid, intent_id: Uuid },
    /// A booked match ended; its booking is reversed.
    Reversed {
        match_id: Uuid,
        intent_id: Uuid,
        reversal_intent_id: Uuid,
    },
    /// The transaction was dismissed; it is open again.
    Undismissed,
}

/// One suggestion: exactly what reconcile takes, with its score and reasons.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub bank_transaction_id: Uuid,
    pub candidate_kind: CandidateKind,
    pub candidate_id: String,
    pub intent_id: Option<Uuid>,
    pub open_item_account: Option<String>,
    pub account: Option<String>,
    pub tax_code: Option<String>,
    /// Open items: what the payment settles; others: the amount (signed, bank's view).
    pub amount: Decimal,
    /// The cash discount a payment within its deadline earns (open items only).
    pub discount: Option<Decimal>,
    pub currency: String,
    pub score: f64,
    pub reasons: Vec<Reason>,
}

/// `POST /v1/bank-match-groups`.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchGroupRequest {
    pub bank_transaction_ids: Vec<Uuid>,
    pub allocations: Vec<Allocation>,
    pub adjustments: Vec<Adjustment>,
    /// Foreign-currency bank accounts: units of the account's currency per 1 unit of the
    /// base currency; else the rate the statement gives every transaction alike.
    pub fx_rate: Option<Decimal>,
}

/// What one allocation of a match group settles.
#[derive(Debug, Clone)]
enum GroupTarget {
    /// An open item: booked on the partner's account, applied in the base currency.
    Invoice {
        invoice_id: Uuid,
        account: String,
        base_amount: Decimal,
    },
    /// An account, booked as it is.
    Account(String),
    /// Money in transit, to or from another own bank account.
    Transfer {
        account: String,
        other: Option<Uuid>,
    },
    /// An existing booking on the bank's ledger account: linked, nothing booked.
    Linked(Uuid),
}

fn wrong_direction(what: String, amount: Decimal) -> AppError {
    ReconcileError::WrongDirection {
        what,
        direction: if amount > Decimal::ZERO { "in" } else { "out" },
    }
    .into()
}

/// One refused pair of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchError {
    pub bank_transaction_id: Uuid,
    pub code: &'static str,
    pub error: String,
}

/// What a batch did: the matches made, in request order, and the refused pairs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BatchOutcome {
    pub reconciled: Vec<(Uuid, Reconciled)>,
    pub errors: Vec<BatchError>,
}

fn state(t: &MatchableTransaction) -> TransactionState {
    if t.match_id.is_some() {
        TransactionState::Matched
    } else if t.dismissed {
        TransactionState::Dismissed
    } else {
        TransactionState::Unmatched
    }
}

fn currency(code: &str) -> AppResult<Currency> {
    Currency::from_code(code)
        .map_err(|_| store::StoreError::Internal(format!("currency {code:?} in a bank row")).into())
}

fn parse_id(field: &str, text: &str) -> AppResult<Uuid> {
    Uuid::parse_str(text.trim()).map_err(|_| {
        ReconcileError::InvalidText {
            field: field.to_string(),
            message: format!("{text:?} is not a UUID"),
        }
        .into()
    })
}

fn missing(field: &'static str, kind: CandidateKind) -> AppError {
    ReconcileError::Missing {
        field,
        kind: kind_str(kind).to_string(),
    }
    .into()
}

pub fn kind_str(kind: CandidateKind) -> &'static str {
    match kind {
        CandidateKind::OutgoingInvoice => "outgoing_invoice",
        CandidateKind::IncomingInvoice => "incoming_invoice",
        CandidateKind::JournalEntry => "journal_entry",
        CandidateKind::Account => "account",
        CandidateKind::Transfer => "transfer",
    }
}

fn clash(c: MatchClash, t: &MatchableTransaction, intent: Uuid) -> AppError {
    match c {
        MatchClash::TransactionMatched => ReconcileError::AlreadyMatched(t.id.to_string()).into(),
        MatchClash::IntentLinked => ReconcileError::IntentAlreadyMatched(intent.to_string()).into(),
    }
}

/// The code and message of a refused batch pair (infrastructure errors stay opaque).
pub fn error_code(e: &AppError) -> (&'static str, String) {
    if let Some(rule) = e.rule() {
        return (rule.code(), rule.to_string());
    }
    match e {
        AppError::NotFound { what } => ("not_found", format!("{what} not found")),
        AppError::Invalid { code, message, .. } | AppError::Conflict { code, message } => {
            (code, message.clone())
        }
        other => {
            tracing::error!(error = %other, "batch-reconcile pair failed");
            ("internal", "Internal server error".to_string())
        }
    }
}

impl App {
    // ------------------------------------------------------------ reconcile

    /// `POST /v1/bank-transactions/{id}/reconcile`.
    pub async fn reconcile(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        req: &ReconcileRequest,
        actor: &Actor,
        idempotency: Option<Idempotent<Reconciled>>,
    ) -> AppResult<Reconciled> {
        self.in_transaction(async |tx| {
            let r = self.reconcile_in_tx(tx, tenant_id, id, req, actor).await?;
            if let Some(idem) = &idempotency {
                store::idempotency::store_in_tx(tx, &idem.key, &(idem.render)(&r)).await?;
            }
            Ok(r)
        })
        .await
    }

    pub async fn reconcile_in_tx(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        id: Uuid,
        req: &ReconcileRequest,
        actor: &Actor,
    ) -> AppResult<Reconciled> {
        let t = rows::lock_transactions(tx, tenant_id, &[id])
            .await?
            .pop()
            .ok_or_else(|| AppError::not_found(format!("bank transaction {id}")))?;
        check_unmatched(&id.to_string(), state(&t))?;
        let info = self.store().tenant_info(tenant_id).await?;
        let base = info.base_currency;
        let account_currency = currency(&t.account_currency)?;
        let rate = fx_rate(account_currency, base, t.fx_rate, req.fx_rate)?;
        let mut detail = Map::new();
        detail.insert("candidate_kind".into(), json!(kind_str(req.candidate_kind)));
        if let Some(r) = rate {
            detail.insert("fx_rate".into(), json!(r.to_string()));
        }
        let (mode, intent_id) = match req.candidate_kind {
            CandidateKind::OutgoingInvoice | CandidateKind::IncomingInvoice => {
                let intent = self
                    .reconcile_open_item(tx, tenant_id, &t, req, rate, base, actor, &mut detail)
                    .await?;
                (MatchMode::Booked, intent)
            }
            CandidateKind::JournalEntry => {
                let intent = self
                    .reconcile_journal_entry(tx, tenant_id, &t, req, base, &mut detail)
                    .await?;
                (MatchMode::Linked, intent)
            }
            CandidateKind::Account | CandidateKind::Transfer => {
                let intent = self
                    .reconcile_counter(tx, tenant_id, &t, req, rate, base, actor, &mut detail)
                    .await?;
                (MatchMode::Booked, intent)
            }
        };
        let match_id = Uuid::now_v7();
        let new = NewMatch {
            id: match_id,
            is_group: false,
            mode: mode.as_str(),
            intent_id,
            detail: Value::Object(detail),
            transaction_ids: &[t.id],
            linked_intents: if mode == MatchMode::Linked {
                std::slice::from_ref(&intent_id)
            } else {
                &[]
            },
        };
        rows::insert_match(tx, tenant_id, &new, actor)
            .await?
            .map_err(|c| clash(c, &t, intent_id))?;
        emit_reconciled(
            tx,
            tenant_id,
            match_id,
            mode,
            intent_id,
            &[t.id],
            &new.detail,
        )
        .await?;
        Ok(Reconciled {
            match_id,
            mode,
            intent_id,
        })
    }

    /// An open item: the payment booked (bank ledger vs partner account) and applied through
    /// the settlement use case.
    #[allow(clippy::too_many_arguments)]
    async fn reconcile_open_item(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        t: &MatchableTransaction,
        req: &ReconcileRequest,
        rate: Option<Decimal>,
        base: Currency,
        actor: &Actor,
        detail: &mut Map<String, Value>,
    ) -> AppResult<Uuid> {
        let kind = req.candidate_kind;
        let text = req
            .candidate_id
            .as_deref()
            .ok_or_else(|| missing("candidate_id", kind))?;
        let invoice_id = parse_id("candidate_id", text)?;
        let direction = invoice_direction(kind).ok_or_else(|| missing("candidate_id", kind))?;
        let invoice = lock_invoice(tx, tenant_id, Some(direction), invoice_id)
            .await?
            .ok_or(SettlementError::UnknownInvoice(invoice_id))?;
        if money_in_settles(invoice.direction, invoice.invoice_type) != (t.amount > Decimal::ZERO) {
            return Err(wrong_direction(
                format!("{} {}", kind_str(kind), invoice.invoice_number),
                t.amount,
            ));
        }
        if let Some(given) = &req.open_item_account {
            if given.trim() != invoice.partner_account {
                return Err(ReconcileError::OpenItemAccountMismatch {
                    given: given.clone(),
                    expected: invoice.partner_account.clone(),
                }
                .into());
            }
        }
        if let Some(given) = req.intent_id {
            if given != invoice.intent_id {
                return Err(ReconcileError::IntentMismatch {
                    given: given.to_string(),
                    invoice: invoice.invoice_number.clone(),
                }
                .into());
            }
        }
        let amount = to_base(t.amount.abs(), rate, base).ok_or(ReconcileError::InvalidFxRate)?;
        // Skonto: nothing paid yet, paid by the deadline, exactly the open amount less the
        // discount the terms offer. Then one booking with the discount's tax correction and
        // two applications (payment and discount), through the payments use case.
        let terms = store::invoices::read_invoice(tx, tenant_id, Some(direction), invoice_id)
            .await?
            .cash_discount;
        let discount = terms.as_ref().and_then(|terms| {
            let open = invoice.state.remaining();
            let untouched = invoice.state.settled.is_zero();
            let offered = offered_discount(base, open, invoice.invoice_date, terms);
            (untouched
                && !offered.amount.is_zero()
                && t.booking_date <= offered.deadline
                && open.checked_sub(offered.amount) == Some(amount))
            .then_some(offered.amount)
        });
        let payment = InvoicePayment {
            amount,
            date: t.booking_date,
            account: Some(t.ledger_account.clone()),
            discount,
            discount_account: None,
        };
        let settled = self
            .pay_invoice_in_tx(tx, tenant_id, direction, invoice_id, &payment, actor)
            .await?;
        let intent_id = settled
            .applications
            .first()
            .map(|a| a.intent_id)
            .ok_or_else(|| store::StoreError::Internal("a payment without application".into()))?;
        detail.insert("candidate_id".into(), json!(invoice_id.to_string()));
        detail.insert(
            "open_item_account".into(),
            json!(invoice.partner_account.clone()),
        );
        let mut item = json!({"invoice_id": invoice_id, "amount": base.format(amount)});
        if let Some(d) = discount {
            item["discount"] = json!(base.format(d));
        }
        detail.insert("open_items".into(), json!([item]));
        Ok(intent_id)
    }

    /// An existing booking on the bank's ledger account, linked: nothing is booked.
    async fn reconcile_journal_entry(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        t: &MatchableTransaction,
        req: &ReconcileRequest,
        base: Currency,
        detail: &mut Map<String, Value>,
    ) -> AppResult<Uuid> {
        let kind = req.candidate_kind;
        let intent_id = match (req.intent_id, req.candidate_id.as_deref()) {
            (Some(i), _) => i,
            (None, Some(text)) => parse_id("candidate_id", text)?,
            (None, None) => return Err(missing("intent_id", kind)),
        };
        let account_currency = currency(&t.account_currency)?;
        self.check_linkable(
            tx,
            tenant_id,
            t,
            intent_id,
            t.amount,
            base,
            account_currency,
        )
        .await?;
        detail.insert("candidate_id".into(), json!(intent_id.to_string()));
        detail.insert("open_items".into(), json!([]));
        Ok(intent_id)
    }

    /// `account` (with an optional tax code) or `transfer` (money in transit): one booking.
    #[allow(clippy::too_many_arguments)]
    async fn reconcile_counter(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        t: &MatchableTransaction,
        req: &ReconcileRequest,
        rate: Option<Decimal>,
        base: Currency,
        actor: &Actor,
        detail: &mut Map<String, Value>,
    ) -> AppResult<Uuid> {
        let kind = req.candidate_kind;
        let info = self.store().tenant_info(tenant_id).await?;
        let account_currency = currency(&t.account_currency)?;
        let (counter, tax, description) = if kind == CandidateKind::Transfer {
            let transit = info
                .role("money_in_transit")
                .ok_or(ReconcileError::NoMoneyInTransit)?
                .to_string();
            if let Some(text) = &req.candidate_id {
                let other_id = parse_id("candidate_id", text)?;
                let other = rows::read_transaction(tx, tenant_id, other_id)
                    .await?
                    .ok_or_else(|| AppError::not_found(format!("bank transaction {other_id}")))?;
                if other.bank_account_id == t.bank_account_id {
                    return Err(ReconcileError::TransferSameAccount.into());
                }
                detail.insert("candidate_id".into(), json!(other_id.to_string()));
            }
            (transit, None, "Transfer between own bank accounts")
        } else {
            let account = req
                .account
                .as_deref()
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .ok_or_else(|| missing("account", kind))?
                .to_string();
            let tax = match &req.tax_code {
                None => None,
                Some(code) => {
                    let facts = active_tax_codes(tx, tenant_id, std::slice::from_ref(code)).await?;
                    let (rate, self_assessed) = facts[code];
                    Some((code.as_str(), rate, self_assessed))
                }
            };
            detail.insert("candidate_id".into(), json!(account.clone()));
            (account, tax, "Bank transaction")
        };
        detail.insert("account".into(), json!(counter.clone()));
        detail.insert("tax_code".into(), json!(req.tax_code.clone()));
        detail.insert("open_items".into(), json!([]));
        let mut metadata = Map::new();
        metadata.insert("bank_transaction_id".into(), json!(t.id.to_string()));
        let text = [
            Some(description),
            t.counterparty_name.as_deref(),
            t.remittance_info.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
        let cmd = counter_booking(&CounterBooking {
            ledger_account: &t.ledger_account,
            counter_account: &counter,
            tax,
            amount: t.amount,
            currency: if rate.is_some() {
                account_currency
            } else {
                base
            },
            fx: rate.map(|r| (account_currency, r)),
            date: t.booking_date,
            description: text,
            metadata,
        });
        let appended = self
            .append_in_tx(tx, tenant_id, &AppendCommand::Booking(cmd), actor)
            .await?;
        Ok(appended.intent_id)
    }

    // ------------------------------------------------------------ unmatch, dismiss

    /// `POST /v1/bank-transactions/{id}/unmatch`.
    pub async fn unmatch(&self, tenant_id: Uuid, id: Uuid, actor: &Actor) -> AppResult<Unmatched> {
        self.in_transaction(async |tx| self.unmatch_in_tx(tx, tenant_id, id, actor).await)
            .await
    }

    pub async fn unmatch_in_tx(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        id: Uuid,
        actor: &Actor,
    ) -> AppResult<Unmatched> {
        let t = rows::lock_transactions(tx, tenant_id, &[id])
            .await?
            .pop()
            .ok_or_else(|| AppError::not_found(format!("bank transaction {id}")))?;
        let Some(match_id) = t.match_id else {
            if t.dismissed {
                rows::set_dismissed(tx, tenant_id, id, None).await?;
                return Ok(Unmatched::Undismissed);
            }
            return Err(ReconcileError::NotMatched(id.to_string()).into());
        };
        let m = rows::lock_match(tx, tenant_id, match_id)
            .await?
            .ok_or_else(|| store::StoreError::Internal(format!("bank match {match_id}")))?;
        if m.is_group {
            return Err(ReconcileError::MatchIsGroup(id.to_string()).into());
        }
        self.end_match_in_tx(tx, tenant_id, &m, actor).await
    }

    async fn end_match_in_tx(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        m: &rows::BankMatch,
        actor: &Actor,
    ) -> AppResult<Unmatched> {
        if m.ended {
            return Err(ReconcileError::MatchEnded.into());
        }
        if m.mode == MatchMode::Linked.as_str() {
            rows::end_match(tx, tenant_id, m.id, None, actor).await?;
            return Ok(Unmatched::Unlinked {
                match_id: m.id,
                intent_id: m.intent_id,
            });
        }
        // Reversed meanwhile through the journal: the match ends with that reversal.
        let reversal = match rows::reversal_of(tx, tenant_id, m.intent_id).await? {
            Some(r) => r,
            None => {
                let cmd = ReversalCommand {
                    intent_id: m.intent_id,
                    reason: "Bank match undone".to_string(),
                    posting_mode: PostingMode::Swap,
                };
                self.append_in_tx(tx, tenant_id, &AppendCommand::Reversal(cmd), actor)
                    .await?
                    .intent_id
            }
        };
        rows::end_match(tx, tenant_id, m.id, Some(reversal), actor).await?;
        Ok(Unmatched::Reversed {
            match_id: m.id,
            intent_id: m.intent_id,
            reversal_intent_id: reversal,
        })
    }

    /// `POST /v1/bank-transactions/{id}/dismiss`: only unmatched transactions.
    pub async fn dismiss(&self, tenant_id: Uuid, id: Uuid, actor: &Actor) -> AppResult<()> {
        self.in_transaction(async |tx| {
            let t = rows::lock_transactions(tx, tenant_id, &[id])
                .await?
                .pop()
                .ok_or_else(|| AppError::not_found(format!("bank transaction {id}")))?;
            check_unmatched(&id.to_string(), state(&t))?;
            rows::set_dismissed(tx, tenant_id, id, Some(actor)).await?;
            Ok(())
        })
        .await
    }

    // ------------------------------------------------------------ batch

    /// `POST /v1/bank-transactions/batch-reconcile`: each pair in its own transaction; the
    /// good ones go through.
    pub async fn batch_reconcile(
        &self,
        tenant_id: Uuid,
        pairs: &[(Uuid, ReconcileRequest)],
        actor: &Actor,
    ) -> AppResult<BatchOutcome> {
        if pairs.len() > MAX_BATCH {
            return Err(ReconcileError::TooMany {
                field: "pairs",
                max: MAX_BATCH,
            }
            .into());
        }
        let mut out = BatchOutcome::default();
        for (id, req) in pairs {
            match self.reconcile(tenant_id, *id, req, actor, None).await {
                Ok(r) => out.reconciled.push((*id, r)),
                Err(e) => {
                    let (code, error) = error_code(&e);
                    out.errors.push(BatchError {
                        bank_transaction_id: *id,
                        code,
                        error,
                    });
                }
            }
        }
        Ok(out)
    }

    // ------------------------------------------------------------ match groups

    /// `POST /v1/bank-match-groups`.
    pub async fn create_match_group(
        &self,
        tenant_id: Uuid,
        req: &MatchGroupRequest,
        actor: &Actor,
        idempotency: Option<Idempotent<Reconciled>>,
    ) -> AppResult<Reconciled> {
        self.in_transaction(async |tx| {
            let r = self
                .create_match_group_in_tx(tx, tenant_id, req, actor)
                .await?;
            if let Some(idem) = &idempotency {
                store::idempotency::store_in_tx(tx, &idem.key, &(idem.render)(&r)).await?;
            }
            Ok(r)
        })
        .await
    }

    pub async fn create_match_group_in_tx(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        req: &MatchGroupRequest,
        actor: &Actor,
    ) -> AppResult<Reconciled> {
        check_group_shape(req)?;
        let txs = rows::lock_transactions(tx, tenant_id, &req.bank_transaction_ids).await?;
        if let Some(missing) = req
            .bank_transaction_ids
            .iter()
            .find(|id| !txs.iter().any(|t| t.id == **id))
        {
            return Err(AppError::not_found(format!("bank transaction {missing}")));
        }
        let first = &txs[0];
        if txs
            .iter()
            .any(|t| t.bank_account_id != first.bank_account_id)
        {
            return Err(ReconcileError::MixedBankAccounts.into());
        }
        for t in &txs {
            check_unmatched(&t.id.to_string(), state(t))?;
        }
        let info = self.store().tenant_info(tenant_id).await?;
        let base = info.base_currency;
        let account_currency = currency(&first.account_currency)?;
        let statement_rates: Vec<Option<Decimal>> = txs.iter().map(|t| t.fx_rate).collect();
        let rate = group_fx_rate(account_currency, base, &statement_rates, req.fx_rate)?;
        let amounts: Vec<Decimal> = txs.iter().map(|t| t.amount).collect();
        check_match_group(
            account_currency,
            &amounts,
            &req.allocations,
            &req.adjustments,
        )?;
        let targets = self
            .resolve_allocations(tx, tenant_id, req, first, rate, base, account_currency)
            .await?;
        // The adjustments' tax codes in one query.
        let codes: Vec<String> = req
            .adjustments
            .iter()
            .filter_map(|a| a.tax_code.clone())
            .collect();
        let facts = active_tax_codes(tx, tenant_id, &codes).await?;
        let booked_adjustments: Vec<BookedAdjustment> = req
            .adjustments
            .iter()
            .map(|a| BookedAdjustment {
                adjustment: a,
                tax: a.tax_code.as_ref().map(|code| facts[code]),
            })
            .collect();
        let mut linked_total = Decimal::ZERO;
        let mut linked: Vec<Uuid> = Vec::new();
        let mut allocations: Vec<BookedAllocation> = Vec::new();
        for (a, target) in req.allocations.iter().zip(&targets) {
            match target {
                GroupTarget::Linked(intent) => {
                    linked_total += a.amount;
                    linked.push(*intent);
                }
                GroupTarget::Invoice { account, .. }
                | GroupTarget::Account(account)
                | GroupTarget::Transfer { account, .. } => allocations.push(BookedAllocation {
                    account,
                    amount: a.amount,
                }),
            }
        }
        let date = txs
            .iter()
            .map(|t| t.booking_date)
            .max()
            .unwrap_or_else(|| self.today());
        let total: Decimal = amounts.iter().sum();
        let group_id = Uuid::now_v7();
        let mut metadata = Map::new();
        metadata.insert("bank_match_group_id".into(), json!(group_id.to_string()));
        let description = format!("Bank match group of {} transaction(s)", txs.len());
        let cmd = group_booking(&GroupBooking {
            ledger_account: &first.ledger_account,
            currency: account_currency,
            fx: rate.map(|r| (account_currency, r)),
            transactions_total: total,
            linked_total,
            allocations: &allocations,
            adjustments: &booked_adjustments,
            date,
            description: &description,
            metadata,
        });
        let booked = match cmd {
            Some(cmd) => Some(
                self.append_in_tx(tx, tenant_id, &AppendCommand::Booking(cmd), actor)
                    .await?
                    .intent_id,
            ),
            None => None,
        };
        let (mode, intent_id) = match (booked, linked.first()) {
            (Some(intent), _) => (MatchMode::Booked, intent),
            (None, Some(intent)) => (MatchMode::Linked, *intent),
            (None, None) => {
                return Err(store::StoreError::Internal(
                    "a match group that neither books nor links".into(),
                )
                .into())
            }
        };
        let applications: Vec<rows::GroupApplication> = targets
            .iter()
            .filter_map(|t| match t {
                GroupTarget::Invoice {
                    invoice_id,
                    base_amount,
                    ..
                } => Some(rows::GroupApplication {
                    invoice_id: *invoice_id,
                    amount: *base_amount,
                    date,
                    counter_account: first.ledger_account.clone(),
                }),
                _ => None,
            })
            .collect();
        if !applications.is_empty() {
            rows::insert_group_applications(tx, tenant_id, &applications, intent_id, actor).await?;
            let paid: Vec<Uuid> = applications.iter().map(|a| a.invoice_id).collect();
            self.emit_paid(tx, tenant_id, &paid).await?;
        }
        let detail = json!({
            "candidate_kind": "match_group",
            "currency": account_currency.code(),
            "fx_rate": rate.map(|r| r.normalize().to_string()),
            "allocations": req.allocations.iter().zip(&targets).map(|(a, t)| {
                let mut item = json!({
                    "candidate_kind": kind_str(a.candidate_kind),
                    "candidate_id": a.candidate_id,
                    "amount": account_currency.format(a.amount),
                });
                match t {
                    GroupTarget::Invoice { account, .. } | GroupTarget::Account(account) => {
                        item["account"] = json!(account);
                    }
                    GroupTarget::Transfer { account, other } => {
                        item["account"] = json!(account);
                        item["other_bank_transaction_id"] = json!(other);
                    }
                    GroupTarget::Linked(intent) => item["intent_id"] = json!(intent),
                }
                item
            }).collect::<Vec<_>>(),
            "adjustments": req.adjustments.iter().map(|a| json!({
                "account": a.account,
                "amount": account_currency.format(a.amount),
                "reason": a.reason,
                "tax_code": a.tax_code,
            })).collect::<Vec<_>>(),
            "open_items": applications.iter().map(|a| json!({
                "invoice_id": a.invoice_id,
                "amount": base.format(a.amount),
            })).collect::<Vec<_>>(),
            "linked_intents": linked,
        });
        let ids: Vec<Uuid> = txs.iter().map(|t| t.id).collect();
        let new = NewMatch {
            id: group_id,
            is_group: true,
            mode: mode.as_str(),
            intent_id,
            detail,
            transaction_ids: &ids,
            linked_intents: &linked,
        };
        rows::insert_match(tx, tenant_id, &new, actor)
            .await?
            .map_err(|c| clash(c, first, intent_id))?;
        emit_reconciled(
            tx,
            tenant_id,
            group_id,
            MatchMode::Booked,
            intent_id,
            &ids,
            &new.detail,
        )
        .await?;
        Ok(Reconciled {
            match_id: group_id,
            mode,
            intent_id,
        })
    }

    /// Resolves each allocation of a group, in request order: open items are locked (in id
    /// order) and checked — on the kind's side, not cancelled, the sign settles them, the
    /// allocations to one stay within what is open (in the base currency); `account` names
    /// the account; `transfer` books to money in transit (its `candidate_id`, when given, a
    /// transaction of another own bank account); `journal_entry` links an existing booking on
    /// the bank's ledger account that carries exactly the allocation's amount.
    #[allow(clippy::too_many_arguments)]
    async fn resolve_allocations(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        req: &MatchGroupRequest,
        first: &MatchableTransaction,
        rate: Option<Decimal>,
        base: Currency,
        account_currency: Currency,
    ) -> AppResult<Vec<GroupTarget>> {
        let mut wanted: BTreeMap<Uuid, (receivables::Direction, Decimal)> = BTreeMap::new();
        let mut base_amounts = Vec::with_capacity(req.allocations.len());
        for (i, a) in req.allocations.iter().enumerate() {
            let base_amount =
                to_base(a.amount.abs(), rate, base).ok_or(ReconcileError::InvalidFxRate)?;
            base_amounts.push(base_amount);
            if let Some(direction) = invoice_direction(a.candidate_kind) {
                let id = parse_id(&format!("allocations[{i}].candidate_id"), &a.candidate_id)?;
                let entry = wanted.entry(id).or_insert((direction, Decimal::ZERO));
                entry.1 += base_amount;
            }
        }
        let mut locked = HashMap::new();
        for (id, (direction, total)) in &wanted {
            let invoice = lock_invoice(tx, tenant_id, Some(*direction), *id)
                .await?
                .ok_or(SettlementError::UnknownInvoice(*id))?;
            if invoice.state.cancelled {
                return Err(SettlementError::Cancelled(*id).into());
            }
            let remaining = invoice.state.remaining();
            if *total > remaining {
                return Err(SettlementError::Overpayment {
                    amount: base.format(*total),
                    invoice_number: invoice.invoice_number.clone(),
                    remaining: base.format(remaining),
                }
                .into());
            }
            locked.insert(*id, invoice);
        }
        let info = self.store().tenant_info(tenant_id).await?;
        let mut seen_intents = HashSet::new();
        let mut out = Vec::with_capacity(req.allocations.len());
        for (i, (a, base_amount)) in req.allocations.iter().zip(base_amounts).enumerate() {
            let field = |f: &str| format!("allocations[{i}].{f}");
            let target = match a.candidate_kind {
                CandidateKind::OutgoingInvoice | CandidateKind::IncomingInvoice => {
                    let id = parse_id(&field("candidate_id"), &a.candidate_id)?;
                    let Some(invoice) = locked.get(&id) else {
                        return Err(SettlementError::UnknownInvoice(id).into());
                    };
                    if money_in_settles(invoice.direction, invoice.invoice_type)
                        != (a.amount > Decimal::ZERO)
                    {
                        return Err(wrong_direction(
                            format!("{} {}", kind_str(a.candidate_kind), invoice.invoice_number),
                            a.amount,
                        ));
                    }
                    GroupTarget::Invoice {
                        invoice_id: id,
                        account: invoice.partner_account.clone(),
                        base_amount,
                    }
                }
                CandidateKind::Account => {
                    let account = a.candidate_id.trim();
                    if account.is_empty() {
                        return Err(ReconcileError::InvalidText {
                            field: field("candidate_id"),
                            message: "the account number must not be empty".into(),
                        }
                        .into());
                    }
                    GroupTarget::Account(account.to_string())
                }
                CandidateKind::Transfer => {
                    let account = info
                        .role("money_in_transit")
                        .ok_or(ReconcileError::NoMoneyInTransit)?
                        .to_string();
                    let other = match a.candidate_id.trim() {
                        "" => None,
                        text => {
                            let other_id = parse_id(&field("candidate_id"), text)?;
                            let other = rows::read_transaction(tx, tenant_id, other_id)
                                .await?
                                .ok_or_else(|| {
                                    AppError::not_found(format!("bank transaction {other_id}"))
                                })?;
                            if other.bank_account_id == first.bank_account_id {
                                return Err(ReconcileError::TransferSameAccount.into());
                            }
                            Some(other_id)
                        }
                    };
                    GroupTarget::Transfer { account, other }
                }
                CandidateKind::JournalEntry => {
                    let intent_id = parse_id(&field("candidate_id"), &a.candidate_id)?;
                    if !seen_intents.insert(intent_id) {
                        return Err(ReconcileError::InvalidText {
                            field: field("candidate_id"),
                            message: format!("booking {intent_id} is named twice"),
                        }
                        .into());
                    }
                    self.check_linkable(
                        tx,
                        tenant_id,
                        first,
                        intent_id,
                        a.amount,
                        base,
                        account_currency,
                    )
                    .await?;
                    GroupTarget::Linked(intent_id)
                }
            };
            out.push(target);
        }
        Ok(out)
    }

    /// An existing booking a transaction (or a group's allocation) may link: on the bank's
    /// ledger account, neither reversal nor reversed, not matched yet, carrying exactly
    /// `amount` (the account's currency; bank's view) there.
    #[allow(clippy::too_many_arguments)]
    async fn check_linkable(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        t: &MatchableTransaction,
        intent_id: Uuid,
        amount: Decimal,
        base: Currency,
        account_currency: Currency,
    ) -> AppResult<()> {
        let intent = rows::load_linkable_intent(tx, tenant_id, intent_id, &t.ledger_account)
            .await?
            .ok_or_else(|| AppError::not_found(format!("booking {intent_id}")))?;
        if intent.is_reversal || intent.reversal.is_some() {
            return Err(ReconcileError::IntentReversed(intent_id.to_string()).into());
        }
        if !intent.on_ledger {
            return Err(ReconcileError::NotOnLedgerAccount(intent_id.to_string()).into());
        }
        if intent.matched {
            return Err(ReconcileError::IntentAlreadyMatched(intent_id.to_string()).into());
        }
        let booked = if account_currency == base {
            Some(intent.ledger_base_amount)
        } else if intent.currency == account_currency.code() {
            Some(intent.ledger_amount)
        } else {
            None
        };
        if booked != Some(amount) {
            return Err(ReconcileError::AmountMismatch {
                intent: intent_id.to_string(),
                booked: booked
                    .map(|b| b.normalize().to_string())
                    .unwrap_or_else(|| format!("an amount in {}", intent.currency)),
                amount: amount.normalize().to_string(),
            }
            .into());
        }
        Ok(())
    }

    /// `POST /v1/bank-match-groups/{id}/unmatch`: the group's booking reversed, the match
    /// ended; its transactions are open again.
    pub async fn unmatch_group(
        &self,
        tenant_id: Uuid,
        group_id: Uuid,
        actor: &Actor,
    ) -> AppResult<Unmatched> {
        self.in_transaction(async |tx| {
            // Transactions first, then the match: the same lock order as unmatching one
            // transaction, so the two cannot deadlock.
            let peek = rows::read_match(tx, tenant_id, group_id)
                .await?
                .filter(|m| m.is_group)
                .ok_or_else(|| AppError::not_found(format!("bank match group {group_id}")))?;
            rows::lock_transactions(tx, tenant_id, &peek.transaction_ids).await?;
            let m = rows::lock_match(tx, tenant_id, group_id)
                .await?
                .ok_or_else(|| AppError::not_found(format!("bank match group {group_id}")))?;
            self.end_match_in_tx(tx, tenant_id, &m, actor).await
        })
        .await
    }

    // ------------------------------------------------------------ suggestions

    /// `GET /v1/bank-transactions/suggestions`: for the oldest `limit` open transactions of
    /// the bank account, up to `per_transaction` suggestions each, best first. Reads one
    /// snapshot (repeatable read, read only).
    pub async fn suggestions(
        &self,
        tenant_id: Uuid,
        bank_account_id: Uuid,
        limit: i64,
        per_transaction: usize,
    ) -> AppResult<Vec<Suggestion>> {
        let info = self.store().tenant_info(tenant_id).await?;
        let transit = info.role("money_in_transit").map(str::to_string);
        let data = self
            .in_transaction(async |tx| {
                tx.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .await
                    .map_err(store::StoreError::from)?;
                let (ledger, _) = rows::bank_account(tx, tenant_id, bank_account_id)
                    .await?
                    .ok_or_else(|| {
                        AppError::not_found(format!("bank account {bank_account_id}"))
                    })?;
                let limit = limit.clamp(1, MAX_SUGGESTION_TRANSACTIONS);
                Ok(
                    rows::load_suggestion_data(tx, tenant_id, bank_account_id, &ledger, limit)
                        .await?,
                )
            })
            .await?;
        // CPU work off the async workers.
        tokio::task::spawn_blocking(move || rank(&data, transit.as_deref(), per_transaction))
            .await
            .map_err(|e| store::StoreError::Internal(format!("suggestions task: {e}")).into())
    }
}

/// Limits, duplicates and texts of a match group before anything is loaded.
fn check_group_shape(req: &MatchGroupRequest) -> AppResult<()> {
    let limits = [
        (
            "bank_transaction_ids",
            req.bank_transaction_ids.len(),
            MAX_GROUP_TRANSACTIONS,
        ),
        ("allocations", req.allocations.len(), MAX_GROUP_ALLOCATIONS),
        ("adjustments", req.adjustments.len(), MAX_GROUP_ADJUSTMENTS),
    ];
    for (field, len, max) in limits {
        if len > max {
            return Err(ReconcileError::TooMany { field, max }.into());
        }
    }
    if req.bank_transaction_ids.is_empty() {
        return Err(bank::MatchError::NoTransactions.into());
    }
    let mut seen = HashSet::new();
    for id in &req.bank_transaction_ids {
        if !seen.insert(id) {
            return Err(ReconcileError::DuplicateTransaction(id.to_string()).into());
        }
    }
    for (i, a) in req.adjustments.iter().enumerate() {
        if a.account.trim().is_empty() {
            return Err(ReconcileError::InvalidText {
                field: format!("adjustments[{i}].account"),
                message: "must not be empty".into(),
            }
            .into());
        }
        if a.reason.chars().count() > 500 {
            return Err(ReconcileError::InvalidText {
                field: format!("adjustments[{i}].reason"),
                message: "at most 500 characters".into(),
            }
            .into());
        }
    }
    Ok(())
}

/// The rate and self-assessment of each of `codes`, all active (else `unknown_tax_code`
/// naming the first that is not), in one query.
async fn active_tax_codes(
    tx: &store::Transaction<'_>,
    tenant_id: Uuid,
    codes: &[String],
) -> AppResult<HashMap<String, (Decimal, bool)>> {
    let found = store::invoices::load_tax_codes(tx, tenant_id, codes).await?;
    let mut out = HashMap::new();
    for code in codes {
        match found.get(code) {
            Some(f) if f.is_active => {
                out.insert(code.clone(), (f.rate, f.self_assessed));
            }
            _ => return Err(SettlementError::UnknownTaxCode(code.clone()).into()),
        }
    }
    Ok(out)
}

/// Scores the loaded data: the pure index of `bank::suggest` over every candidate, once.
fn rank(
    data: &rows::SuggestionData,
    transit: Option<&str>,
    per_transaction: usize,
) -> Vec<Suggestion> {
    // Credit notes too: a refund is money the other way (see `OpenItem::settled_by_money_in`).
    let invoices: Vec<&rows::OpenInvoice> = data
        .open_invoices
        .iter()
        .filter(|i| Currency::from_code(&i.currency).is_ok())
        .collect();
    let open_items: Vec<OpenItem> = invoices
        .iter()
        .filter_map(|i| {
            let currency = Currency::from_code(&i.currency).ok()?;
            let credit_note = i.invoice_type == "credit_note";
            let cash_discount = match (i.untouched, i.cash_discount_percent, i.cash_discount_days) {
                (true, Some(percent), Some(days)) if days > 0 => {
                    let o = receivables::offered_discount(
                        currency,
                        i.open_amount,
                        i.invoice_date,
                        &CashDiscountTerms {
                            percent,
                            days: days as u32,
                        },
                    );
                    Some(CashDiscount {
                        amount: o.amount,
                        deadline: o.deadline,
                    })
                }
                _ => None,
            };
            Some(OpenItem {
                kind: if i.direction == "outgoing" {
                    CandidateKind::OutgoingInvoice
                } else {
                    CandidateKind::IncomingInvoice
                },
                invoice_number: i.invoice_number.clone(),
                partner_name: i.partner_name.clone(),
                partner_ibans: i.partner_iban.iter().cloned().collect(),
                open_amount: i.open_amount,
                currency,
                invoice_date: i.invoice_date,
                due_date: i.due_date.unwrap_or(i.invoice_date),
                cash_discount: cash_discount.filter(|_| !credit_note),
                credit_note,
            })
        })
        .collect();
    let journal: Vec<JournalCandidate> = data
        .journal
        .iter()
        .map(|j| JournalCandidate {
            amount: j.amount,
            booking_date: j.booking_date,
            end_to_end_id: j.end_to_end_id.clone(),
            external_reference: j.external_reference.clone(),
        })
        .collect();
    let learned: Vec<LearnedAccount> = data
        .learned
        .iter()
        .map(|l| LearnedAccount {
            counterparty_iban: l.counterparty_iban.clone(),
            counterparty_name: l.counterparty_name.clone(),
            account: l.account.clone(),
            tax_code: l.tax_code.clone(),
        })
        .collect();
    let transfers: Vec<bank::suggest::TransferCandidate> = match transit {
        Some(_) => data
            .transfers
            .iter()
            .map(|t| bank::suggest::TransferCandidate {
                amount: t.amount,
                booking_date: t.booking_date,
                account_iban: t.account_iban.clone(),
            })
            .collect(),
        None => Vec::new(),
    };
    let c = Candidates {
        open_items: &open_items,
        journal: &journal,
        learned: &learned,
        transfers: &transfers,
    };
    let index = SuggestionIndex::build(&c);
    let one = |t: &rows::OpenTransaction| -> Vec<Suggestion> {
        let mut out = Vec::new();
        let Ok(currency) = Currency::from_code(&t.currency) else {
            return out;
        };
        let btx = BankTransaction {
            booking_date: t.booking_date,
            value_date: None,
            amount: t.amount,
            currency,
            counterparty_name: t.counterparty_name.clone(),
            counterparty_iban: t.counterparty_iban.clone(),
            remittance_info: t.remittance_info.clone(),
            end_to_end_id: t.end_to_end_id.clone(),
            bank_reference: None,
            exchange: None,
            raw: String::new(),
        };
        for s in index.suggest(&c, &btx, per_transaction) {
            let base = Suggestion {
                bank_transaction_id: t.id,
                candidate_kind: CandidateKind::Account,
                candidate_id: String::new(),
                intent_id: None,
                open_item_account: None,
                account: None,
                tax_code: None,
                amount: t.amount,
                discount: None,
                currency: t.currency.clone(),
                score: (s.score * 1000.0).round() / 1000.0,
                reasons: s.reasons.clone(),
            };
            let suggestion = match s.target {
                Target::OpenItem(i) => {
                    let inv = invoices[i];
                    Suggestion {
                        candidate_kind: open_items[i].kind,
                        candidate_id: inv.id.to_string(),
                        intent_id: Some(inv.intent_id),
                        open_item_account: Some(inv.partner_account.clone()),
                        amount: s.applied,
                        discount: (!s.discount.is_zero()).then_some(s.discount),
                        ..base
                    }
                }
                Target::JournalEntry(i) => {
                    let j = &data.journal[i];
                    Suggestion {
                        candidate_kind: CandidateKind::JournalEntry,
                        candidate_id: j.intent_id.to_string(),
                        intent_id: Some(j.intent_id),
                        amount: j.amount,
                        ..base
                    }
                }
                Target::Account(i) => {
                    let l = &data.learned[i];
                    Suggestion {
                        candidate_kind: CandidateKind::Account,
                        candidate_id: l.account.clone(),
                        account: Some(l.account.clone()),
                        tax_code: l.tax_code.clone(),
                        ..base
                    }
                }
                Target::Transfer(i) => {
                    let other = &data.transfers[i];
                    Suggestion {
                        candidate_kind: CandidateKind::Transfer,
                        candidate_id: other.id.to_string(),
                        open_item_account: transit.map(str::to_string),
                        ..base
                    }
                }
            };
            out.push(suggestion);
        }
        out
    };
    // Scoring only reads the index: the two halves of the transactions on two threads.
    let txs = &data.transactions;
    if txs.len() < PARALLEL_FROM {
        return txs.iter().flat_map(one).collect();
    }
    let (first, second) = txs.split_at(txs.len() / 2);
    std::thread::scope(|scope| {
        let other = scope.spawn(|| second.iter().flat_map(one).collect::<Vec<_>>());
        let mut out: Vec<Suggestion> = first.iter().flat_map(one).collect();
        match other.join() {
            Ok(rest) => out.extend(rest),
            // Unreachable without a bug; the answer stays complete.
            Err(_) => out.extend(second.iter().flat_map(one)),
        }
        out
    })
}

/// `bank_transaction.reconciled` (payload version 1): the match and what it did.
async fn emit_reconciled(
    tx: &store::Transaction<'_>,
    tenant_id: Uuid,
    match_id: Uuid,
    mode: MatchMode,
    intent_id: Uuid,
    transaction_ids: &[Uuid],
    detail: &Value,
) -> AppResult<()> {
    crate::webhooks::emit(
        tx,
        tenant_id,
        webhooks::EventType::BankTransactionReconciled,
        json!({
            "match_id": match_id,
            "bank_transaction_ids": transaction_ids,
            "mode": mode.as_str(),
            "intent_id": intent_id,
            "detail": detail,
        }),
    )
    .await
}
