//! From journal lines to DATEV rows.
//!
//! A DATEV row books one amount between two accounts (Konto, Gegenkonto), and DATEV computes
//! the tax itself from the BU-Schlüssel or from an automatic account. The journal holds the
//! tax as lines of its own. So, per intent:
//!
//! 1. **Fold the tax back.** A line with a tax code and the tax line the service generated for
//!    it (same tax code, same side, the amount `round(amount × rate / 100)`) become one gross
//!    entry when the tax code has a `datev_bu_key` (the entry carries the key) or the line's
//!    account is `datev_automatic` (gross, no key). The self-assessment pair of reverse charge
//!    folds away with it (DATEV books both halves from the key), leaving the net amount.
//!    Without a key or an automatic account, the tax line stays a row of its own. A line on
//!    an automatic account without tax carries the key that switches the automatic off.
//!    DATEV recomputes the tax from the gross: `round(gross × r / (100 + r))`. With
//!    `gross = net + t` and `t = round(net × r / 100)` that is `t − e × 100 / (100 + r)`
//!    rounded, where `|e| ≤ 0.005` is our rounding error: always `t` again. So folding
//!    changes no account's sum.
//! 2. **Pair debits with credits.** Lines of one account without tax are netted first (DATEV
//!    takes no row whose Konto is its Gegenkonto). Each keyed or automatic entry becomes one
//!    row, whole, as the Gegenkonto against one plain entry (the hub: the largest on the
//!    other side): split in two, DATEV would round its tax twice. The plain entries left,
//!    with the hub reduced by what it already booked, are walked in order and matched
//!    greedily (`min` of what is left on either side). So each row's amount is exact and
//!    every entry's rows add up to it. An intent whose every entry carries tax is refused
//!    (`conflicting_tax_keys`): one DATEV row has room for one tax-bearing account.
//! 3. **Signs.** An intent whose lines are all negative is a reversal by negative amounts:
//!    its rows keep the posted sides with positive amounts and carry Generalumkehr. In any
//!    other intent a negative line counts on the other side.
//!
//! Amounts are the base-currency amounts (Umsatz in the header's currency): splitting an
//! intent into pairs is exact there, while foreign-currency amounts would need rounding.

use crate::datev::DatevRow;
use crate::error::ConvertError;
use chrono::NaiveDate;
use journal::{Generated, JournalLine, Side};
use rust_decimal::Decimal;
use std::collections::{HashMap, HashSet};

/// The per-tax-code and per-account facts of the chart the conversion needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatevFacts {
    /// Tax code → its `datev_bu_key`.
    pub bu_keys: HashMap<String, String>,
    /// Accounts flagged `datev_automatic`: DATEV computes their tax without a key.
    pub automatic_accounts: HashSet<String>,
    /// The BU-Schlüssel that switches an automatic account's tax off for one row (DATEV's
    /// "Aufhebung der Automatik"), for lines on an automatic account that carry no tax in
    /// the journal. `None` writes such lines without a key, and DATEV then computes tax.
    pub cancel_automatic_key: Option<String>,
}

/// One intent as the export reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct DatevIntent {
    /// Names the booking (the intent id) in errors.
    pub booking: String,
    pub date: NaiveDate,
    /// The external reference or invoice number (Belegfeld 1).
    pub document_number: Option<String>,
    pub description: Option<String>,
    pub document_link: Option<String>,
    /// The intent's period is locked (Festschreibung).
    pub locked: bool,
    pub lines: Vec<JournalLine>,
}

#[derive(Debug, Clone)]
struct Entry<'a> {
    account: &'a str,
    side: Side,
    amount: Decimal,
    bu_key: Option<&'a str>,
    automatic: bool,
    text: Option<&'a str>,
    cost_center: Option<&'a str>,
}

impl Entry<'_> {
    fn wants_gegenkonto(&self) -> bool {
        self.bu_key.is_some() || self.automatic
    }
}

/// The DATEV rows of one intent.
pub fn intent_rows(
    intent: &DatevIntent,
    facts: &DatevFacts,
) -> Result<Vec<DatevRow>, ConvertError> {
    let reversal = intent.lines.iter().any(|l| l.base_amount < Decimal::ZERO)
        && intent.lines.iter().all(|l| l.base_amount <= Decimal::ZERO);
    let entries = merge(fold_tax(&intent.lines, facts, reversal), reversal);
    let net: Decimal = entries.iter().map(signed).sum();
    if !net.is_zero() {
        return Err(ConvertError::Unbalanced {
            booking: intent.booking.clone(),
        });
    }
    let (keyed, mut plain): (Vec<_>, Vec<_>) = entries
        .into_iter()
        .filter(|e| !e.amount.is_zero())
        .partition(|e| e.wants_gegenkonto());
    let mut rows = Vec::with_capacity(keyed.len() + plain.len());
    if !keyed.is_empty() {
        let hub = hub(&keyed, &plain).ok_or_else(|| ConvertError::ConflictingTaxKeys {
            booking: intent.booking.clone(),
        })?;
        let mut hub_signed = signed(&plain[hub]);
        for k in &keyed {
            let side = k.side.opposite();
            rows.push(row(intent, &plain[hub], side, k, k.amount, reversal));
            hub_signed -= signed_as(side, k.amount);
        }
        let h = &mut plain[hub];
        h.side = side_of(hub_signed, h.side);
        h.amount = hub_signed.abs();
    }
    let (debits, credits): (Vec<_>, Vec<_>) = plain
        .into_iter()
        .filter(|e| !e.amount.is_zero())
        .partition(|e| e.side == Side::Debit);
    pair(intent, &debits, &credits, reversal, &mut rows);
    Ok(rows)
}

/// Lazily converts a stream of intents: one intent's rows at a time in memory.
pub fn datev_rows<'f, I>(
    intents: I,
    facts: &'f DatevFacts,
) -> impl Iterator<Item = Result<DatevRow, ConvertError>> + 'f
where
    I: IntoIterator<Item = DatevIntent>,
    I::IntoIter: 'f,
{
    intents.into_iter().flat_map(move |intent| {
        let rows: Vec<Result<DatevRow, ConvertError>> = match intent_rows(&intent, facts) {
            Ok(rows) => rows.into_iter().map(Ok).collect(),
            Err(e) => vec![Err(e)],
        };
        rows
    })
}

fn fold_tax<'a>(lines: &'a [JournalLine], facts: &'a DatevFacts, reversal: bool) -> Vec<Entry<'a>> {
    let mut used = vec![false; lines.len()];
    let mut entries = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if used[i] {
            continue;
        }
        used[i] = true;
        let mut signed = line.signed_base();
        let mut bu_key = None;
        let mut automatic = false;
        if let (None, Some(code)) = (line.generated, &line.tax_code) {
            let key = facts.bu_keys.get(code).map(String::as_str);
            let is_automatic = facts.automatic_accounts.contains(&line.account);
            if key.is_some() || is_automatic {
                if let Some(tax_lines) = generated_tax(lines, i, code, &used) {
                    for j in tax_lines.into_iter().flatten() {
                        used[j] = true;
                        signed += lines[j].signed_base();
                    }
                    automatic = is_automatic;
                    bu_key = if is_automatic { None } else { key };
                }
            }
        }
        if !automatic && facts.automatic_accounts.contains(&line.account) {
            // DATEV would take tax out of this line, and the journal booked none on it.
            bu_key = facts.cancel_automatic_key.as_deref();
        }
        entries.push(entry(line, signed, bu_key, automatic, reversal));
    }
    entries
}

/// One entry per account (and key): an account booked on both sides of an intent nets out,
/// since DATEV takes no row with Konto = Gegenkonto. A reversal keeps its sides apart.
fn merge(entries: Vec<Entry<'_>>, reversal: bool) -> Vec<Entry<'_>> {
    let mut out: Vec<Entry> = Vec::with_capacity(entries.len());
    for e in entries {
        let same = |o: &Entry| {
            o.account == e.account
                && o.bu_key == e.bu_key
                && o.automatic == e.automatic
                && (!reversal || o.side == e.side)
        };
        let plain = !e.wants_gegenkonto();
        match out.iter_mut().find(|o| plain && same(o)) {
            Some(o) if reversal => o.amount += e.amount,
            Some(o) => {
                let signed = signed(o) + signed(&e);
                o.side = side_of(signed, o.side);
                o.amount = signed.abs();
                o.text = o.text.or(e.text);
                o.cost_center = o.cost_center.or(e.cost_center);
            }
            None => out.push(e),
        }
    }
    out
}

fn signed(e: &Entry) -> Decimal {
    signed_as(e.side, e.amount)
}

/// The generated tax line of `lines[i]` (and the self-assessment line of reverse charge), or
/// `None` when the line should have a tax line and has none: then DATEV must not compute one
/// either, and the line stays net and unkeyed.
fn generated_tax(
    lines: &[JournalLine],
    i: usize,
    code: &str,
    used: &[bool],
) -> Option<[Option<usize>; 2]> {
    let line = &lines[i];
    let rate = line.tax_rate.unwrap_or_default();
    let tax = line
        .currency
        .round(line.amount * rate / Decimal::ONE_HUNDRED);
    if tax.is_zero() {
        return Some([None, None]);
    }
    let find = |kind: Generated, side: Side, skip: Option<usize>| {
        (0..lines.len()).find(|&j| {
            let l = &lines[j];
            !used[j]
                && Some(j) != skip
                && l.generated == Some(kind)
                && l.tax_code.as_deref() == Some(code)
                && l.side == side
                && l.amount == tax
        })
    };
    let tax_line = find(Generated::Tax, line.side, None)?;
    let own = find(
        Generated::SelfAssessment,
        line.side.opposite(),
        Some(tax_line),
    );
    Some([Some(tax_line), own])
}

fn entry<'a>(
    line: &'a JournalLine,
    signed: Decimal,
    bu_key: Option<&'a str>,
    automatic: bool,
    reversal: bool,
) -> Entry<'a> {
    let (side, amount) = if reversal {
        (line.side, signed.abs())
    } else if signed >= Decimal::ZERO {
        (Side::Debit, signed)
    } else {
        (Side::Credit, -signed)
    };
    Entry {
        account: &line.account,
        side,
        amount,
        bu_key,
        automatic,
        text: line.description.as_deref(),
        cost_center: line.cost_center.as_deref(),
    }
}

/// The entry every keyed entry is booked against, whole: a keyed row split in two would let
/// DATEV round its tax twice. The largest plain entry on the other side of the largest keyed
/// one, else the largest plain entry; none when all entries carry tax.
fn hub(keyed: &[Entry], plain: &[Entry]) -> Option<usize> {
    let main = keyed.iter().max_by_key(|e| e.amount)?.side;
    let largest = |other_side: bool| {
        (0..plain.len())
            .filter(|&i| !other_side || plain[i].side != main)
            .max_by_key(|&i| plain[i].amount)
    };
    largest(true).or_else(|| largest(false))
}

fn signed_as(side: Side, amount: Decimal) -> Decimal {
    match side {
        Side::Debit => amount,
        Side::Credit => -amount,
    }
}

/// The side of a signed (debit-positive) amount; zero keeps `default`.
fn side_of(signed: Decimal, default: Side) -> Side {
    if signed > Decimal::ZERO {
        Side::Debit
    } else if signed < Decimal::ZERO {
        Side::Credit
    } else {
        default
    }
}

fn row(
    intent: &DatevIntent,
    konto: &Entry,
    side: Side,
    gegen: &Entry,
    amount: Decimal,
    reversal: bool,
) -> DatevRow {
    DatevRow {
        booking: intent.booking.clone(),
        amount,
        side,
        currency: None,
        fx: None,
        account: konto.account.to_string(),
        contra_account: gegen.account.to_string(),
        bu_key: gegen.bu_key.map(str::to_string),
        date: intent.date,
        document_number: intent.document_number.clone(),
        text: gegen
            .text
            .or(konto.text)
            .or(intent.description.as_deref())
            .map(str::to_string),
        cost_center: gegen.cost_center.or(konto.cost_center).map(str::to_string),
        document_link: intent.document_link.clone(),
        reversal,
        locked: intent.locked,
    }
}

/// Greedy pairing of plain entries: each pair takes what is left on both sides, the smaller of
/// the two; the debit is Konto.
fn pair(
    intent: &DatevIntent,
    debits: &[Entry],
    credits: &[Entry],
    reversal: bool,
    rows: &mut Vec<DatevRow>,
) {
    let (mut i, mut j) = (0, 0);
    let mut left_d = debits.first().map(|e| e.amount).unwrap_or_default();
    let mut left_c = credits.first().map(|e| e.amount).unwrap_or_default();
    while i < debits.len() && j < credits.len() {
        let amount = left_d.min(left_c);
        rows.push(row(
            intent,
            &debits[i],
            Side::Debit,
            &credits[j],
            amount,
            reversal,
        ));
        left_d -= amount;
        left_c -= amount;
        if left_d.is_zero() {
            i += 1;
            left_d = debits.get(i).map(|e| e.amount).unwrap_or_default();
        }
        if left_c.is_zero() {
            j += 1;
            left_c = credits.get(j).map(|e| e.amount).unwrap_or_default();
        }
    }
}
