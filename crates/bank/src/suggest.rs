//! Suggestions: for each open bank transaction, the best candidates to reconcile it with.
//!
//! Four kinds of candidates, scored 0..1 (see [`Reason::weight`]):
//!
//! - open items (outgoing / incoming invoices): [`score_candidate`];
//! - journal entries on the bank's ledger account not matched yet: the SEPA end-to-end id
//!   (`EndToEndId`, 1.0), else the same amount (`AmountExact`), booked within 3 days
//!   (`DateNear`) or 14 days (`DateClose`), the entry's external reference in the remittance
//!   text (`ReferenceInRemittance`);
//! - accounts learned from earlier reconciliations: the same counterparty IBAN
//!   (`LearnedFromIban`) or, without one, the same counterparty name (`LearnedFromName`);
//! - transfers: the opposite amount on another own bank account (`OppositeAmount`), within 3
//!   (`DateNear`) or 5 days (`DateClose`), the counterparty IBAN being that account's
//!   (`OwnAccountIban`).
//!
//! Nothing is scored pairwise: [`SuggestionIndex::build`] indexes the candidates once by amount,
//! IBAN, partner name, invoice-number tokens and end-to-end id, and a transaction only scores the candidates
//! it shares a key with. A key shared by more than [`MAX_POSTINGS`] candidates (a year, a
//! common amount) stops being a key, so one transaction never scores thousands.

use crate::matching::{
    letters_digits, name_words, score_prepared, OpenItem, PreparedItem, PreparedTx, Reason,
};
use crate::statement::BankTransaction;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::HashMap;

/// Candidates scoring below this are not suggested.
pub const MIN_SCORE: f64 = 0.3;
/// A key with more candidates than this is too common to tell candidates apart.
pub const MAX_POSTINGS: usize = 64;
/// At most this many candidates are scored per transaction.
pub const MAX_SCORED: usize = 256;

/// An existing booking on the bank's ledger account that no match names yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalCandidate {
    /// Its net amount on the ledger account from the bank's view (debit = money in = +).
    pub amount: Decimal,
    pub booking_date: NaiveDate,
    pub end_to_end_id: Option<String>,
    pub external_reference: Option<String>,
}

/// What an earlier reconciliation booked a counterparty to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnedAccount {
    pub counterparty_iban: Option<String>,
    pub counterparty_name: Option<String>,
    pub account: String,
    pub tax_code: Option<String>,
}

/// An open transaction of another own bank account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferCandidate {
    pub amount: Decimal,
    pub booking_date: NaiveDate,
    /// The other bank account's IBAN.
    pub account_iban: Option<String>,
}

/// Everything a transaction may be matched with. The caller keeps the ids; suggestions name
/// candidates by their index in these slices.
#[derive(Debug, Clone, Copy, Default)]
pub struct Candidates<'a> {
    pub open_items: &'a [OpenItem],
    pub journal: &'a [JournalCandidate],
    /// Newest first: the first entry of an IBAN or name is the one learned.
    pub learned: &'a [LearnedAccount],
    pub transfers: &'a [TransferCandidate],
}

/// The candidate a suggestion names, by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    OpenItem(usize),
    JournalEntry(usize),
    Account(usize),
    Transfer(usize),
}

/// One suggestion for a transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub target: Target,
    pub score: f64,
    pub reasons: Vec<Reason>,
    /// What reconciling it settles of an open item (0 for other kinds).
    pub applied: Decimal,
    /// The cash discount (Skonto) the payment earns, when it earns one.
    pub discount: Decimal,
}

/// The candidates indexed by the keys a transaction can share with them.
#[derive(Debug, Default)]
pub struct SuggestionIndex {
    /// (money in, amount) → open items, by open amount and by open amount less Skonto.
    items_by_amount: HashMap<(bool, Decimal), Vec<usize>>,
    items_by_iban: HashMap<String, Vec<usize>>,
    items_by_token: HashMap<String, Vec<usize>>,
    items_by_name: HashMap<String, Vec<usize>>,
    journal_by_amount: HashMap<Decimal, Vec<usize>>,
    journal_by_e2e: HashMap<String, Vec<usize>>,
    learned_by_iban: HashMap<String, usize>,
    learned_by_name: HashMap<String, usize>,
    transfers_by_amount: HashMap<Decimal, Vec<usize>>,
    /// The open items' texts, normalized once.
    prepared: Vec<PreparedItem>,
}

fn key(amount: Decimal) -> Decimal {
    amount.normalize()
}

fn iban_key(iban: &str) -> Option<String> {
    let k = letters_digits(iban);
    (k.len() >= 5).then_some(k)
}

fn name_key(name: &str) -> Option<String> {
    let words = name_words(name);
    (!words.is_empty()).then(|| words.join(" "))
}

/// The tokens of a text that can be (part of) an invoice number: its letter-digit runs with a
/// digit, at least 3 long, and each run of digits within them.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        if word.chars().count() < 3 || !word.chars().any(|c| c.is_ascii_digit()) {
            continue;
        }
        out.push(word.to_uppercase());
        for digits in word.split(|c: char| !c.is_ascii_digit()) {
            if digits.len() >= 3 && digits.len() < word.len() {
                out.push(digits.to_string());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn push<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Vec<usize>>, k: K, i: usize) {
    map.entry(k).or_default().push(i);
}

impl SuggestionIndex {
    /// Indexes the candidates once; O(candidates).
    pub fn build(c: &Candidates<'_>) -> SuggestionIndex {
        let mut ix = SuggestionIndex {
            prepared: c.open_items.iter().map(PreparedItem::new).collect(),
            ..Default::default()
        };
        for (i, item) in c.open_items.iter().enumerate() {
            let money_in = item.settled_by_money_in();
            push(
                &mut ix.items_by_amount,
                (money_in, key(item.open_amount)),
                i,
            );
            if let Some(d) = &item.cash_discount {
                if let Some(net) = item.open_amount.checked_sub(d.amount) {
                    push(&mut ix.items_by_amount, (money_in, key(net)), i);
                }
            }
            for iban in &item.partner_ibans {
                if let Some(k) = iban_key(iban) {
                    push(&mut ix.items_by_iban, k, i);
                }
            }
            for t in tokens(&item.invoice_number) {
                push(&mut ix.items_by_token, t, i);
            }
            if let Some(k) = name_key(&item.partner_name) {
                push(&mut ix.items_by_name, k, i);
            }
        }
        for (i, j) in c.journal.iter().enumerate() {
            push(&mut ix.journal_by_amount, key(j.amount), i);
            if let Some(e2e) = j.end_to_end_id.as_deref().map(str::trim) {
                if !e2e.is_empty() && !e2e.eq_ignore_ascii_case("NOTPROVIDED") {
                    push(&mut ix.journal_by_e2e, e2e.to_string(), i);
                }
            }
        }
        for (i, l) in c.learned.iter().enumerate() {
            if let Some(k) = l.counterparty_iban.as_deref().and_then(iban_key) {
                ix.learned_by_iban.entry(k).or_insert(i);
            }
            if let Some(k) = l.counterparty_name.as_deref().and_then(name_key) {
                ix.learned_by_name.entry(k).or_insert(i);
            }
        }
        for (i, t) in c.transfers.iter().enumerate() {
            push(&mut ix.transfers_by_amount, key(t.amount), i);
        }
        ix
    }

    /// The best `limit` suggestions for `tx`, best first (ties: open items, journal entries,
    /// accounts, transfers, each in the order given), only those scoring at least
    /// [`MIN_SCORE`].
    pub fn suggest(
        &self,
        c: &Candidates<'_>,
        tx: &BankTransaction,
        limit: usize,
    ) -> Vec<Suggestion> {
        let mut out = Vec::new();
        if tx.amount.is_zero() || limit == 0 {
            return out;
        }
        self.open_items(c, tx, &mut out);
        self.journal(c, tx, &mut out);
        self.learned(c, tx, &mut out);
        self.transfers(c, tx, &mut out);
        out.retain(|s| s.score >= MIN_SCORE);
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.target.cmp(&b.target)));
        out.truncate(limit);
        out
    }

    fn open_items(&self, c: &Candidates<'_>, tx: &BankTransaction, out: &mut Vec<Suggestion>) {
        let mut found: Vec<usize> = Vec::new();
        let mut add = |list: Option<&Vec<usize>>| {
            if let Some(list) = list.filter(|l| l.len() <= MAX_POSTINGS) {
                found.extend_from_slice(list);
            }
        };
        add(self
            .items_by_amount
            .get(&(tx.amount > Decimal::ZERO, key(tx.amount.abs()))));
        if let Some(k) = tx.counterparty_iban.as_deref().and_then(iban_key) {
            add(self.items_by_iban.get(&k));
        }
        for t in tokens(tx.remittance_info.as_deref().unwrap_or("")) {
            add(self.items_by_token.get(&t));
        }
        if let Some(k) = tx.counterparty_name.as_deref().and_then(name_key) {
            add(self.items_by_name.get(&k));
        }
        found.sort_unstable();
        found.dedup();
        found.truncate(MAX_SCORED);
        if found.is_empty() {
            return;
        }
        let ptx = PreparedTx::new(tx);
        for i in found {
            let (Some(item), Some(pitem)) = (c.open_items.get(i), self.prepared.get(i)) else {
                continue;
            };
            let s = score_prepared(tx, &ptx, item, pitem);
            out.push(Suggestion {
                target: Target::OpenItem(i),
                score: s.score,
                reasons: s.reasons,
                applied: s.applied,
                discount: s.discount,
            });
        }
    }

    fn journal(&self, c: &Candidates<'_>, tx: &BankTransaction, out: &mut Vec<Suggestion>) {
        let mut found: Vec<usize> = Vec::new();
        if let Some(e2e) = tx.end_to_end_id.as_deref().map(str::trim) {
            if let Some(list) = self.journal_by_e2e.get(e2e) {
                found.extend_from_slice(list);
            }
        }
        if let Some(list) = self.journal_by_amount.get(&key(tx.amount)) {
            found.extend(list.iter().take(MAX_POSTINGS));
        }
        found.sort_unstable();
        found.dedup();
        for i in found {
            if let Some(j) = c.journal.get(i) {
                let (score, reasons) = score_journal_entry(tx, j);
                out.push(Suggestion {
                    target: Target::JournalEntry(i),
                    score,
                    reasons,
                    applied: Decimal::ZERO,
                    discount: Decimal::ZERO,
                });
            }
        }
    }

    fn learned(&self, c: &Candidates<'_>, tx: &BankTransaction, out: &mut Vec<Suggestion>) {
        let by_iban = tx
            .counterparty_iban
            .as_deref()
            .and_then(iban_key)
            .and_then(|k| self.learned_by_iban.get(&k));
        let (i, reason) = match by_iban {
            Some(i) => (*i, Reason::LearnedFromIban),
            None => match tx
                .counterparty_name
                .as_deref()
                .and_then(name_key)
                .and_then(|k| self.learned_by_name.get(&k))
            {
                Some(i) => (*i, Reason::LearnedFromName),
                None => return,
            },
        };
        if c.learned.get(i).is_some() {
            out.push(Suggestion {
                target: Target::Account(i),
                score: reason.weight(),
                reasons: vec![reason],
                applied: Decimal::ZERO,
                discount: Decimal::ZERO,
            });
        }
    }

    fn transfers(&self, c: &Candidates<'_>, tx: &BankTransaction, out: &mut Vec<Suggestion>) {
        let Some(list) = self.transfers_by_amount.get(&key(-tx.amount)) else {
            return;
        };
        for &i in list.iter().take(MAX_POSTINGS) {
            let Some(t) = c.transfers.get(i) else {
                continue;
            };
            if let Some((score, reasons)) = score_transfer(tx, t) {
                out.push(Suggestion {
                    target: Target::Transfer(i),
                    score,
                    reasons,
                    applied: Decimal::ZERO,
                    discount: Decimal::ZERO,
                });
            }
        }
    }
}

fn total(reasons: &[Reason]) -> f64 {
    reasons
        .iter()
        .map(|r| r.weight())
        .sum::<f64>()
        .clamp(0.0, 1.0)
}

/// Scores a transaction against an unmatched journal entry of the bank's ledger account.
pub fn score_journal_entry(tx: &BankTransaction, j: &JournalCandidate) -> (f64, Vec<Reason>) {
    let mut reasons = Vec::new();
    let e2e = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case("NOTPROVIDED"))
            .map(str::to_string)
    };
    if e2e(&tx.end_to_end_id).is_some() && e2e(&tx.end_to_end_id) == e2e(&j.end_to_end_id) {
        reasons.push(Reason::EndToEndId);
    }
    if j.amount == tx.amount {
        reasons.push(Reason::AmountExact);
    } else {
        reasons.push(Reason::AmountDiffers);
    }
    let days = (tx.booking_date - j.booking_date).num_days().abs();
    if days <= 3 {
        reasons.push(Reason::DateNear);
    } else if days <= 14 {
        reasons.push(Reason::DateClose);
    } else if days > 90 {
        reasons.push(Reason::DateFar);
    }
    if let Some(reference) = &j.external_reference {
        let reference = letters_digits(reference);
        let remittance = letters_digits(tx.remittance_info.as_deref().unwrap_or(""));
        if reference.chars().count() >= 3 && remittance.contains(&reference) {
            reasons.push(Reason::ReferenceInRemittance);
        }
    }
    (total(&reasons), reasons)
}

/// Scores a transaction against an open transaction of another own bank account: None unless
/// the amounts are opposite and at most 5 days apart.
pub fn score_transfer(tx: &BankTransaction, t: &TransferCandidate) -> Option<(f64, Vec<Reason>)> {
    if tx.amount.is_zero() || t.amount != -tx.amount {
        return None;
    }
    let days = (tx.booking_date - t.booking_date).num_days().abs();
    if days > 5 {
        return None;
    }
    let mut reasons = vec![Reason::OppositeAmount];
    reasons.push(if days <= 3 {
        Reason::DateNear
    } else {
        Reason::DateClose
    });
    if let (Some(a), Some(b)) = (&tx.counterparty_iban, &t.account_iban) {
        if letters_digits(a) == letters_digits(b) {
            reasons.push(Reason::OwnAccountIban);
        }
    }
    Some((total(&reasons), reasons))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::{rank_candidates, CandidateKind, CashDiscount};
    use journal::Currency;
    use proptest::prelude::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }
    fn day(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, n).unwrap()
    }
    fn tx(amount: &str, date: u32, remittance: &str, iban: Option<&str>) -> BankTransaction {
        BankTransaction {
            booking_date: day(date),
            value_date: None,
            amount: d(amount),
            currency: Currency::EUR,
            counterparty_name: Some("Acme GmbH".into()),
            counterparty_iban: iban.map(str::to_string),
            remittance_info: Some(remittance.into()),
            end_to_end_id: None,
            bank_reference: None,
            exchange: None,
            raw: String::new(),
        }
    }
    fn item(kind: CandidateKind, number: &str, open: &str, iban: &str) -> OpenItem {
        OpenItem {
            kind,
            invoice_number: number.into(),
            partner_name: "Acme GmbH".into(),
            partner_ibans: vec![iban.into()],
            open_amount: d(open),
            currency: Currency::EUR,
            invoice_date: day(1),
            due_date: day(15),
            cash_discount: None,
            credit_note: false,
        }
    }

    #[test]
    fn tokens_take_numbers_and_their_digit_runs() {
        assert_eq!(
            tokens("RE2026-0042, Kd 77"),
            vec!["0042".to_string(), "2026".into(), "RE2026".into()]
        );
        assert!(tokens("Miete Maerz").is_empty());
    }

    #[test]
    fn the_invoice_named_in_the_remittance_wins() {
        let items = vec![
            item(CandidateKind::OutgoingInvoice, "2026-0041", "119.00", "DE1"),
            item(CandidateKind::OutgoingInvoice, "2026-0042", "119.00", "DE2"),
            item(CandidateKind::IncomingInvoice, "E-9", "119.00", "DE3"),
        ];
        let c = Candidates {
            open_items: &items,
            ..Default::default()
        };
        let ix = SuggestionIndex::build(&c);
        let got = ix.suggest(&c, &tx("119.00", 14, "Rechnung 2026-0042", None), 5);
        assert_eq!(got[0].target, Target::OpenItem(1));
        assert!(got[0].reasons.contains(&Reason::InvoiceNumberInRemittance));
        // The incoming invoice is the wrong direction for money in.
        assert!(got.iter().all(|s| s.target != Target::OpenItem(2)));
    }

    #[test]
    fn skonto_within_its_deadline_is_found_by_the_discounted_amount() {
        let mut it = item(CandidateKind::OutgoingInvoice, "R-7", "119.00", "DE1");
        it.cash_discount = Some(CashDiscount {
            amount: d("2.38"),
            deadline: day(11),
        });
        let items = vec![it];
        let c = Candidates {
            open_items: &items,
            ..Default::default()
        };
        let ix = SuggestionIndex::build(&c);
        let got = ix.suggest(&c, &tx("116.62", 10, "", None), 5);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].discount, d("2.38"));
        assert!(got[0].reasons.contains(&Reason::CashDiscount));
        // After the deadline: no discount; the amount alone scores too little.
        let late = ix.suggest(&c, &tx("116.62", 20, "", None), 5);
        assert!(late.iter().all(|s| s.discount.is_zero()));
    }

    #[test]
    fn journal_entries_by_end_to_end_id_score_one() {
        let journal = vec![
            JournalCandidate {
                amount: d("-50"),
                booking_date: day(1),
                end_to_end_id: Some("RUN-1-7".into()),
                external_reference: None,
            },
            JournalCandidate {
                amount: d("-50"),
                booking_date: day(10),
                end_to_end_id: None,
                external_reference: Some("LS-99".into()),
            },
        ];
        let c = Candidates {
            journal: &journal,
            ..Default::default()
        };
        let ix = SuggestionIndex::build(&c);
        let mut t = tx("-50.00", 10, "LS-99", None);
        t.end_to_end_id = Some("RUN-1-7".into());
        let got = ix.suggest(&c, &t, 5);
        assert_eq!(got[0].target, Target::JournalEntry(0));
        assert_eq!(got[0].score, 1.0);
        assert_eq!(got[1].target, Target::JournalEntry(1));
        assert!(got[1].reasons.contains(&Reason::ReferenceInRemittance));
    }

    #[test]
    fn learned_accounts_by_iban_before_name_and_newest_first() {
        let learned = vec![
            LearnedAccount {
                counterparty_iban: Some("DE02120300000000202051".into()),
                counterparty_name: None,
                account: "4210".into(),
                tax_code: None,
            },
            LearnedAccount {
                counterparty_iban: Some("DE02120300000000202051".into()),
                counterparty_name: Some("Acme GmbH".into()),
                account: "4000".into(),
                tax_code: None,
            },
        ];
        let c = Candidates {
            learned: &learned,
            ..Default::default()
        };
        let ix = SuggestionIndex::build(&c);
        let got = ix.suggest(
            &c,
            &tx("-800", 3, "Miete", Some("DE02 1203 0000 0000 2020 51")),
            5,
        );
        assert_eq!(got[0].target, Target::Account(0));
        assert_eq!(got[0].reasons, vec![Reason::LearnedFromIban]);
        let by_name = ix.suggest(&c, &tx("-800", 3, "Miete", None), 5);
        assert_eq!(by_name[0].target, Target::Account(1));
        assert_eq!(by_name[0].reasons, vec![Reason::LearnedFromName]);
    }

    #[test]
    fn transfers_need_the_opposite_amount_within_five_days() {
        let transfers = vec![
            TransferCandidate {
                amount: d("1000"),
                booking_date: day(2),
                account_iban: Some("DE89370400440532013000".into()),
            },
            TransferCandidate {
                amount: d("1000"),
                booking_date: day(20),
                account_iban: None,
            },
        ];
        let c = Candidates {
            transfers: &transfers,
            ..Default::default()
        };
        let ix = SuggestionIndex::build(&c);
        let got = ix.suggest(
            &c,
            &tx("-1000.00", 3, "Umbuchung", Some("DE89370400440532013000")),
            5,
        );
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].target, Target::Transfer(0));
        assert_eq!(got[0].score, 1.0);
    }

    fn arb_items() -> impl Strategy<Value = Vec<OpenItem>> {
        proptest::collection::vec((any::<bool>(), 1i64..5_000, 0u32..50, 0usize..4), 0..40)
            .prop_map(|v| {
                v.into_iter()
                    .map(|(out, cents, n, iban)| {
                        let kind = if out {
                            CandidateKind::OutgoingInvoice
                        } else {
                            CandidateKind::IncomingInvoice
                        };
                        let mut it = item(
                            kind,
                            &format!("RE-{n:04}"),
                            "1",
                            &format!("DE{iban:02}000000"),
                        );
                        it.open_amount = Decimal::new(cents, 2);
                        it
                    })
                    .collect()
            })
    }

    proptest! {
        /// The index finds every candidate that pairwise scoring rates by amount, IBAN or
        /// invoice number (above the threshold), with the same score.
        #[test]
        fn index_agrees_with_pairwise_ranking(
            items in arb_items(),
            cents in -5_000i64..5_000,
            n in 0u32..50,
            iban in 0usize..4,
        ) {
            let c = Candidates { open_items: &items, ..Default::default() };
            let ix = SuggestionIndex::build(&c);
            let t = tx(&Decimal::new(cents, 2).to_string(), 14, &format!("RE-{n:04}"),
                       Some(&format!("DE{iban:02}000000")));
            let got = ix.suggest(&c, &t, usize::MAX);
            let pairwise: Vec<(usize, f64)> = rank_candidates(&t, &items)
                .into_iter()
                .filter(|(_, s)| s.score >= MIN_SCORE)
                .map(|(i, s)| (i, s.score))
                .collect();
            let indexed: Vec<(usize, f64)> = got
                .iter()
                .map(|s| match s.target { Target::OpenItem(i) => (i, s.score), _ => (usize::MAX, 0.0) })
                .collect();
            // Every key here has at most 40 postings, so nothing is cut off.
            let mut a = pairwise.clone();
            let mut b = indexed.clone();
            a.sort_by_key(|x| x.0);
            b.sort_by_key(|x| x.0);
            prop_assert_eq!(a, b);
            for s in &got {
                prop_assert!((0.0..=1.0).contains(&s.score));
            }
        }
    }
}
