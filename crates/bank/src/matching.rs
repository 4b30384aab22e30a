//! Matching bank transactions with open items: the candidate score, and the balance rule of
//! a match group.
//!
//! Score of a transaction against an open item (0..1, the sum of the reasons' weights,
//! capped at 1; 0 when the direction or the currency is wrong):
//!
//! | reason | weight |
//! |---|---|
//! | `amount_exact`: the amount is the open amount | 0.45 |
//! | `cash_discount`: the amount is the open amount less the Skonto, paid by its deadline | 0.40 |
//! | `partial_payment`: less than the open amount | 0.15 |
//! | `amount_differs`: more than the open amount, or Skonto after its deadline | 0.00 |
//! | `invoice_number_in_remittance` (letters and digits compared, case-insensitive) | 0.35 |
//! | `iban_match`: the counterparty IBAN is one of the partner's | 0.25 |
//! | `name_match`: the counterparty name and the partner's name agree | 0.15 |
//! | `partner_in_remittance`: the partner's name appears in the remittance | 0.10 |
//! | `date_close`: booked within 14 days of the due date (or after the invoice date, before due) | 0.05 |
//! | `date_far`: more than 90 days from the due date | −0.05 |
//!
//! Direction: an outgoing invoice (a customer pays us) is paid with money in, an incoming one
//! (we pay a vendor) with money out.

use crate::statement::BankTransaction;
use chrono::NaiveDate;
use journal::{Currency, Rule, RuleKind};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// What a transaction can be matched with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CandidateKind {
    OutgoingInvoice,
    IncomingInvoice,
    JournalEntry,
    Account,
    Transfer,
}

/// A cash discount (Skonto) granted on an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashDiscount {
    /// The discount amount (positive), on the invoice's gross amount.
    pub amount: Decimal,
    /// The last day a payment earns it.
    pub deadline: NaiveDate,
}

/// An open item as the scoring needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenItem {
    pub kind: CandidateKind,
    pub invoice_number: String,
    pub partner_name: String,
    /// The partner's IBANs (electronic form).
    pub partner_ibans: Vec<String>,
    /// What is still open (positive).
    pub open_amount: Decimal,
    pub currency: Currency,
    pub invoice_date: NaiveDate,
    pub due_date: NaiveDate,
    /// Only when nothing has been paid yet and the invoice grants one.
    pub cash_discount: Option<CashDiscount>,
    /// A credit note: settled by money the other way (a refund to a customer is money out,
    /// one from a vendor money in).
    pub credit_note: bool,
}

impl OpenItem {
    /// Whether money in (a positive bank amount) settles this item.
    pub fn settled_by_money_in(&self) -> bool {
        match self.kind {
            CandidateKind::IncomingInvoice => self.credit_note,
            _ => !self.credit_note,
        }
    }
}

/// Why a candidate scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    AmountExact,
    CashDiscount,
    PartialPayment,
    AmountDiffers,
    InvoiceNumberInRemittance,
    IbanMatch,
    NameMatch,
    PartnerInRemittance,
    DateClose,
    DateFar,
    WrongDirection,
    CurrencyDiffers,
    /// A journal entry carries the transaction's SEPA end-to-end id (a payment-run payment).
    EndToEndId,
    /// Booked within 3 days of the transaction (journal entries, transfers).
    DateNear,
    /// The journal entry's external reference appears in the remittance text.
    ReferenceInRemittance,
    /// An earlier reconciliation of the same counterparty IBAN was booked to this account.
    LearnedFromIban,
    /// An earlier reconciliation of the same counterparty name was booked to this account.
    LearnedFromName,
    /// Another own bank account shows the opposite amount (a transfer).
    OppositeAmount,
    /// The counterparty IBAN is the other own bank account's.
    OwnAccountIban,
}

impl Reason {
    pub fn weight(self) -> f64 {
        match self {
            Reason::AmountExact => 0.45,
            Reason::CashDiscount => 0.40,
            Reason::PartialPayment => 0.15,
            Reason::InvoiceNumberInRemittance => 0.35,
            Reason::IbanMatch => 0.25,
            Reason::NameMatch => 0.15,
            Reason::PartnerInRemittance => 0.10,
            Reason::DateClose => 0.05,
            Reason::DateFar => -0.05,
            Reason::EndToEndId => 1.0,
            Reason::DateNear => 0.25,
            Reason::ReferenceInRemittance => 0.2,
            Reason::LearnedFromIban => 0.6,
            Reason::LearnedFromName => 0.4,
            Reason::OppositeAmount => 0.5,
            Reason::OwnAccountIban => 0.25,
            Reason::AmountDiffers | Reason::WrongDirection | Reason::CurrencyDiffers => 0.0,
        }
    }
}

/// A candidate's score (0..1) and its reasons.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    pub score: f64,
    pub reasons: Vec<Reason>,
    /// What the payment settles of the item: the amount, and the Skonto when it earns one.
    pub applied: Decimal,
    pub discount: Decimal,
}

/// Upper-case letters and digits only.
pub(crate) fn letters_digits(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_uppercase)
        .collect()
}

/// Words of a name without legal forms, upper case, umlauts spelled out (`Müller` and
/// `MUELLER` agree, as bank files often drop umlauts).
pub(crate) fn name_words(s: &str) -> Vec<String> {
    const FORMS: [&str; 9] = ["GMBH", "AG", "KG", "OHG", "UG", "EK", "CO", "MBH", "GBR"];
    let spelled: String = s
        .chars()
        .flat_map(|c| match c {
            'ä' | 'Ä' => vec!['A', 'E'],
            'ö' | 'Ö' => vec!['O', 'E'],
            'ü' | 'Ü' => vec!['U', 'E'],
            'ß' => vec!['S', 'S'],
            c => vec![c],
        })
        .collect();
    spelled
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_uppercase())
        .filter(|w| !FORMS.contains(&w.as_str()))
        .collect()
}

fn words_agree(a: &[String], b: &[String]) -> bool {
    if a.is_empty() || b.is_empty() {
        return false;
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    short.iter().all(|w| long.contains(w))
}

/// A transaction's texts normalized once, for scoring it against many open items.
#[derive(Debug, Clone, Default)]
pub struct PreparedTx {
    remittance: String,
    remittance_words: Vec<String>,
    name_words: Vec<String>,
    iban: Option<String>,
}

impl PreparedTx {
    pub fn new(tx: &BankTransaction) -> PreparedTx {
        let remittance = tx.remittance_info.as_deref().unwrap_or("");
        PreparedTx {
            remittance: letters_digits(remittance),
            remittance_words: name_words(remittance),
            name_words: tx
                .counterparty_name
                .as_deref()
                .map(name_words)
                .unwrap_or_default(),
            iban: tx.counterparty_iban.as_deref().map(letters_digits),
        }
    }
}

/// An open item's texts normalized once.
#[derive(Debug, Clone, Default)]
pub struct PreparedItem {
    number: String,
    partner_words: Vec<String>,
    ibans: Vec<String>,
}

impl PreparedItem {
    pub fn new(item: &OpenItem) -> PreparedItem {
        PreparedItem {
            number: letters_digits(&item.invoice_number),
            partner_words: name_words(&item.partner_name),
            ibans: item
                .partner_ibans
                .iter()
                .map(|i| letters_digits(i))
                .collect(),
        }
    }
}

/// Scores a transaction against one open item.
pub fn score_candidate(tx: &BankTransaction, item: &OpenItem) -> Score {
    score_prepared(tx, &PreparedTx::new(tx), item, &PreparedItem::new(item))
}

/// [`score_candidate`] with the texts normalized beforehand (the same rules, without
/// normalizing the same texts again for every pair).
pub fn score_prepared(
    tx: &BankTransaction,
    ptx: &PreparedTx,
    item: &OpenItem,
    pitem: &PreparedItem,
) -> Score {
    let zero = |reason| Score {
        score: 0.0,
        reasons: vec![reason],
        applied: Decimal::ZERO,
        discount: Decimal::ZERO,
    };
    if tx.currency != item.currency {
        return zero(Reason::CurrencyDiffers);
    }
    let money_in = tx.amount > Decimal::ZERO;
    let expects_in = match item.kind {
        CandidateKind::OutgoingInvoice | CandidateKind::IncomingInvoice => {
            item.settled_by_money_in()
        }
        _ => money_in,
    };
    if tx.amount.is_zero() || money_in != expects_in {
        return zero(Reason::WrongDirection);
    }
    let paid = tx.amount.abs();
    let mut reasons = Vec::new();
    let mut applied = paid.min(item.open_amount);
    let mut discount = Decimal::ZERO;
    if paid == item.open_amount {
        reasons.push(Reason::AmountExact);
    } else if let Some(d) = item
        .cash_discount
        .as_ref()
        .filter(|d| Some(paid) == item.open_amount.checked_sub(d.amount) && !d.amount.is_zero())
    {
        if tx.booking_date <= d.deadline {
            reasons.push(Reason::CashDiscount);
            discount = d.amount;
            applied = paid;
        } else {
            reasons.push(Reason::AmountDiffers);
        }
    } else if paid < item.open_amount {
        reasons.push(Reason::PartialPayment);
    } else {
        reasons.push(Reason::AmountDiffers);
    }
    if pitem.number.chars().count() >= 3 && ptx.remittance.contains(&pitem.number) {
        reasons.push(Reason::InvoiceNumberInRemittance);
    }
    if let Some(iban) = &ptx.iban {
        if pitem.ibans.iter().any(|p| p == iban) {
            reasons.push(Reason::IbanMatch);
        }
    }
    if words_agree(&ptx.name_words, &pitem.partner_words) {
        reasons.push(Reason::NameMatch);
    }
    if !pitem.partner_words.is_empty()
        && pitem
            .partner_words
            .iter()
            .all(|w| ptx.remittance_words.contains(w))
    {
        reasons.push(Reason::PartnerInRemittance);
    }
    let days = (tx.booking_date - item.due_date).num_days();
    if days.abs() <= 14 || (tx.booking_date >= item.invoice_date && days <= 0) {
        reasons.push(Reason::DateClose);
    } else if days.abs() > 90 {
        reasons.push(Reason::DateFar);
    }
    let score: f64 = reasons.iter().map(|r| r.weight()).sum();
    Score {
        score: score.clamp(0.0, 1.0),
        reasons,
        applied,
        discount,
    }
}

/// Ranks open items for a transaction: indices into `items` with their scores, best first,
/// only those scoring above 0.
pub fn rank_candidates(tx: &BankTransaction, items: &[OpenItem]) -> Vec<(usize, Score)> {
    let mut ranked: Vec<(usize, Score)> = items
        .iter()
        .enumerate()
        .map(|(i, item)| (i, score_candidate(tx, item)))
        .filter(|(_, s)| s.score > 0.0)
        .collect();
    ranked.sort_by(|a, b| b.1.score.total_cmp(&a.1.score).then(a.0.cmp(&b.0)));
    ranked
}

/// One allocation of a match group: the part of the money that settles a candidate. Signed
/// from the bank's view (+ = money in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    pub candidate_kind: CandidateKind,
    pub candidate_id: String,
    pub amount: Decimal,
}

/// One adjustment of a match group: bank fees, Skonto, small differences, booked to an
/// account. Signed from the bank's view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjustment {
    pub account: String,
    pub amount: Decimal,
    pub reason: String,
    #[serde(default)]
    pub tax_code: Option<String>,
}

/// A broken rule of a match group.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatchError {
    #[error("a match group needs at least one bank transaction")]
    NoTransactions,
    #[error("a match group needs at least one allocation or adjustment")]
    NothingAllocated,
    #[error("{field} must not be zero")]
    ZeroAmount { field: String },
    #[error("{field} has more decimals than {currency} allows")]
    AmountPrecision { field: String, currency: Currency },
    #[error("{field} is too large")]
    TooLarge { field: String },
    #[error("the transactions sum to {transactions}, allocations and adjustments to {allocated} (difference {difference})")]
    NotBalanced {
        transactions: Decimal,
        allocated: Decimal,
        difference: Decimal,
    },
}

impl Rule for MatchError {
    fn code(&self) -> &'static str {
        match self {
            MatchError::NoTransactions => "no_transactions",
            MatchError::NothingAllocated => "nothing_allocated",
            MatchError::ZeroAmount { .. } => "zero_amount",
            MatchError::AmountPrecision { .. } => "amount_precision",
            MatchError::TooLarge { .. } => "amount_too_large",
            MatchError::NotBalanced { .. } => "match_not_balanced",
        }
    }
    fn kind(&self) -> RuleKind {
        RuleKind::Invalid
    }
    fn field(&self) -> Option<String> {
        Some(match self {
            MatchError::NoTransactions => "bank_transaction_ids".to_string(),
            MatchError::NothingAllocated | MatchError::NotBalanced { .. } => {
                "allocations".to_string()
            }
            MatchError::ZeroAmount { field }
            | MatchError::AmountPrecision { field, .. }
            | MatchError::TooLarge { field } => field.clone(),
        })
    }
}

/// The balance rule of a match group: Σ transaction amounts = Σ allocations + Σ
/// adjustments, all signed from the bank's view and in the account's currency.
pub fn check_match_group(
    currency: Currency,
    transaction_amounts: &[Decimal],
    allocations: &[Allocation],
    adjustments: &[Adjustment],
) -> Result<(), MatchError> {
    if transaction_amounts.is_empty() {
        return Err(MatchError::NoTransactions);
    }
    if allocations.is_empty() && adjustments.is_empty() {
        return Err(MatchError::NothingAllocated);
    }
    let amounts = allocations
        .iter()
        .enumerate()
        .map(|(i, a)| (format!("allocations[{i}].amount"), a.amount))
        .chain(
            adjustments
                .iter()
                .enumerate()
                .map(|(i, a)| (format!("adjustments[{i}].amount"), a.amount)),
        );
    let mut allocated = Decimal::ZERO;
    for (field, amount) in amounts {
        if amount.is_zero() {
            return Err(MatchError::ZeroAmount { field });
        }
        if !currency.fits(amount) {
            return Err(MatchError::AmountPrecision { field, currency });
        }
        // Each amount within the journal's bound, so that no sum over them can overflow
        // (up to 100 allocations add their absolute values per invoice).
        if amount.abs() > journal::booking::max_amount() {
            return Err(MatchError::TooLarge { field });
        }
        allocated = allocated
            .checked_add(amount)
            .ok_or(MatchError::TooLarge { field })?;
    }
    let transactions = transaction_amounts
        .iter()
        .try_fold(Decimal::ZERO, |acc, a| acc.checked_add(*a))
        .ok_or_else(|| MatchError::TooLarge {
            field: "bank_transaction_ids".to_string(),
        })?;
    if transactions != allocated {
        return Err(MatchError::NotBalanced {
            transactions,
            allocated,
            difference: transactions - allocated,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }
    fn day(m: u32, n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, n).unwrap()
    }
    fn item() -> OpenItem {
        OpenItem {
            kind: CandidateKind::OutgoingInvoice,
            invoice_number: "RE-2026-0042".into(),
            partner_name: "Müller GmbH".into(),
            partner_ibans: vec!["DE89 3704 0044 0532 0130 00".into()],
            open_amount: d("119.00"),
            currency: Currency::EUR,
            invoice_date: day(3, 1),
            due_date: day(3, 15),
            cash_discount: Some(CashDiscount {
                amount: d("2.38"),
                deadline: day(3, 11),
            }),
            credit_note: false,
        }
    }
    fn tx(amount: &str, date: NaiveDate) -> BankTransaction {
        BankTransaction {
            booking_date: date,
            value_date: None,
            amount: d(amount),
            currency: Currency::EUR,
            counterparty_name: None,
            counterparty_iban: None,
            remittance_info: None,
            end_to_end_id: None,
            bank_reference: None,
            exchange: None,
            raw: String::new(),
        }
    }

    /// (amount, date, name, iban, remittance) → reasons.
    type Case = (
        &'static str,
        NaiveDate,
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
        Vec<Reason>,
    );

    #[test]
    fn reasons_table() {
        use Reason::*;
        let cases: Vec<Case> = vec![
            (
                "119.00",
                day(3, 14),
                None,
                None,
                None,
                vec![AmountExact, DateClose],
            ),
            (
                "116.62",
                day(3, 10),
                None,
                None,
                None,
                vec![CashDiscount, DateClose],
            ),
            (
                "116.62",
                day(3, 12),
                None,
                None,
                None,
                vec![AmountDiffers, DateClose],
            ),
            (
                "50.00",
                day(3, 14),
                None,
                None,
                None,
                vec![PartialPayment, DateClose],
            ),
            (
                "150.00",
                day(9, 1),
                None,
                None,
                None,
                vec![AmountDiffers, DateFar],
            ),
            (
                "119.00",
                day(3, 14),
                Some("MUELLER GMBH"),
                Some("DE89370400440532013000"),
                Some("re 2026/0042 Mueller"),
                vec![
                    AmountExact,
                    InvoiceNumberInRemittance,
                    IbanMatch,
                    NameMatch,
                    PartnerInRemittance,
                    DateClose,
                ],
            ),
            (
                "119.00",
                day(5, 1),
                Some("Schulz AG"),
                Some("DE02120300000000202051"),
                Some("RE-42"),
                vec![AmountExact],
            ),
        ];
        for (amount, date, name, iban, remittance, want) in cases {
            let mut t = tx(amount, date);
            t.counterparty_name = name.map(str::to_string);
            t.counterparty_iban = iban.map(str::to_string);
            t.remittance_info = remittance.map(str::to_string);
            let s = score_candidate(&t, &item());
            assert_eq!(s.reasons, want, "{amount} {date} {name:?} {remittance:?}");
            let sum: f64 = want.iter().map(|r| r.weight()).sum();
            assert_eq!(s.score, sum.clamp(0.0, 1.0));
        }
    }

    #[test]
    fn direction_and_currency_score_zero() {
        let s = score_candidate(&tx("-119.00", day(3, 14)), &item());
        assert_eq!((s.score, s.reasons), (0.0, vec![Reason::WrongDirection]));
        let mut usd = tx("119.00", day(3, 14));
        usd.currency = Currency::from_code("USD").unwrap();
        assert_eq!(
            score_candidate(&usd, &item()).reasons,
            vec![Reason::CurrencyDiffers]
        );
        let mut incoming = item();
        incoming.kind = CandidateKind::IncomingInvoice;
        assert_eq!(
            score_candidate(&tx("-119.00", day(3, 14)), &incoming).reasons[0],
            Reason::AmountExact
        );
    }

    #[test]
    fn match_group_rules() {
        let alloc = |a: &str| Allocation {
            candidate_kind: CandidateKind::OutgoingInvoice,
            candidate_id: "x".into(),
            amount: d(a),
        };
        let adj = |a: &str| Adjustment {
            account: "4970".into(),
            amount: d(a),
            reason: "fee".into(),
            tax_code: None,
        };
        assert!(check_match_group(
            Currency::EUR,
            &[d("100"), d("17")],
            &[alloc("119")],
            &[adj("-2")]
        )
        .is_ok());
        let e = check_match_group(Currency::EUR, &[d("100")], &[alloc("119")], &[]).unwrap_err();
        assert_eq!(e.code(), "match_not_balanced");
        assert_eq!(
            check_match_group(Currency::EUR, &[], &[alloc("1")], &[]),
            Err(MatchError::NoTransactions)
        );
        assert_eq!(
            check_match_group(Currency::EUR, &[d("1")], &[], &[]),
            Err(MatchError::NothingAllocated)
        );
        assert_eq!(
            check_match_group(Currency::EUR, &[d("0")], &[alloc("0")], &[])
                .unwrap_err()
                .code(),
            "zero_amount"
        );
        assert_eq!(
            check_match_group(Currency::EUR, &[d("1.001")], &[alloc("1.001")], &[])
                .unwrap_err()
                .code(),
            "amount_precision"
        );
        let huge = Decimal::MAX;
        assert_eq!(
            check_match_group(
                Currency::EUR,
                &[d("1")],
                &[alloc(&huge.to_string()), alloc(&huge.to_string())],
                &[]
            )
            .unwrap_err()
            .code(),
            "amount_too_large"
        );
    }

    proptest! {
        #[test]
        fn scores_stay_in_range_and_never_apply_more_than_open(
            cents in -1_000_000i64..1_000_000,
            open in 1i64..1_000_000,
            day_of in 1u32..28,
            month in 1u32..12,
        ) {
            let mut it = item();
            it.open_amount = Decimal::new(open, 2);
            let t = tx(&Decimal::new(cents, 2).to_string(), day(month, day_of));
            let s = score_candidate(&t, &it);
            prop_assert!((0.0..=1.0).contains(&s.score));
            prop_assert!(s.applied <= it.open_amount);
            prop_assert!(s.applied >= Decimal::ZERO);
            if cents <= 0 {
                prop_assert_eq!(s.score, 0.0);
            }
            if !s.discount.is_zero() {
                prop_assert_eq!(s.applied + s.discount, it.open_amount);
            }
        }
    }
}
