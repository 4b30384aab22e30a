//! Planning a payment run: which invoices, how much (Skonto, partial amounts, netting), in
//! which transactions, with which end-to-end ids.
//!
//! - **Eligible** are open incoming invoices (not credit notes) in EUR of vendors with a valid
//!   IBAN, due before a date, that no active run holds ([`eligible_invoices`]).
//! - **Skonto**: an invoice with cash-discount terms (percent, days) may be paid less its
//!   discount (the percent of the open amount, rounded to the cent) until its deadline
//!   (invoice date + days). The run pays the discounted amount when its execution date is on
//!   or before the deadline, and only when the whole open amount is paid.
//! - **Netting**: a vendor's open credit notes among the candidates are set off against its
//!   invoices in the run. A vendor whose invoices net to zero or less is left out with the
//!   reason [`ExclusionReason::NetNotPositive`]; a credit note whose vendor has no invoice in
//!   the run, that another run holds, or that is not an open incoming EUR credit note is left
//!   out too. A vendor with a credit note is paid in one payment (as with
//!   `batch_by_vendor`), so the netted amount arrives as one transfer.
//! - **Transactions**: one per invoice by default, its remittance the invoice number;
//!   `batch_by_vendor` groups a vendor's invoices into one. The remittance carries every
//!   invoice number of the transaction in full: numbers that do not fit into 140 characters
//!   go into the vendor's next transaction (see [`crate::remittance_chunks`]).
//! - **Ids**: the end-to-end ids are the run id (base 36) and the transaction's number, so the
//!   same run gives the same ids, and two runs never share one. No clock, no randomness.

use crate::charset::{remittance_chunks, sepa_name, sepa_text, RemittanceError, MAX_REMITTANCE};
use crate::pain001::{CreditTransfer, Debtor, Message};
use crate::RunError;
use chrono::{NaiveDate, NaiveDateTime};
use journal::Currency;
use receivables::{validate_bic, validate_iban, Direction, InvoiceType};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashSet};
use uuid::Uuid;

/// Cash-discount terms of an invoice: `percent` off when paid within `days` of its date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CashDiscount {
    pub percent: Decimal,
    pub days: u32,
}

/// The discount an invoice offers and the last day it may be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Skonto {
    pub amount: Decimal,
    pub deadline: NaiveDate,
}

/// The Skonto of `open_amount` under `terms` for an invoice dated `invoice_date`: the rule of
/// `receivables::offered_discount` (the percent of the open amount, rounded to the cent; the
/// invoice date + days).
pub fn skonto(open_amount: Decimal, invoice_date: NaiveDate, terms: &CashDiscount) -> Skonto {
    let offered = receivables::offered_discount(
        Currency::EUR,
        open_amount,
        invoice_date,
        &receivables::CashDiscountTerms {
            percent: terms.percent,
            days: terms.days,
        },
    );
    Skonto {
        amount: offered.amount,
        deadline: offered.deadline,
    }
}

/// A vendor as the run needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vendor {
    pub id: Uuid,
    pub name: String,
    pub iban: Option<String>,
    pub bic: Option<String>,
}

/// An invoice or credit note as it stands, loaded for the run.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenInvoice {
    pub id: Uuid,
    pub number: String,
    pub direction: Direction,
    pub invoice_type: InvoiceType,
    pub currency: Currency,
    pub invoice_date: NaiveDate,
    pub due_date: NaiveDate,
    /// What is still open (the gross total less settled payments and write-offs).
    pub open_amount: Decimal,
    pub cash_discount: Option<CashDiscount>,
    /// The active run that holds the invoice, if any.
    pub active_run: Option<Uuid>,
    pub vendor: Vendor,
    /// A partial amount to pay instead of the open amount (no Skonto then).
    pub amount: Option<Decimal>,
}

/// An invoice that a new run may take, with what it would pay on `execution_date`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Eligible {
    pub invoice_id: Uuid,
    pub vendor_id: Uuid,
    pub invoice_number: String,
    pub due_date: NaiveDate,
    pub open_amount: Decimal,
    pub skonto: Option<Skonto>,
    /// The open amount less the Skonto when the execution date is within its deadline.
    pub payable_amount: Decimal,
}

fn vendor_iban_ok(v: &Vendor) -> bool {
    v.iban.as_deref().is_some_and(|i| validate_iban(i).is_ok())
}

fn is_payable_invoice(i: &OpenInvoice) -> bool {
    i.direction == Direction::Incoming
        && i.invoice_type == InvoiceType::Invoice
        && i.open_amount > Decimal::ZERO
}

/// The discount taken when `invoice` is paid in full on `execution_date` (zero otherwise).
fn discount_taken(invoice: &OpenInvoice, execution_date: NaiveDate) -> (Option<Skonto>, Decimal) {
    let s = invoice
        .cash_discount
        .as_ref()
        .map(|t| skonto(invoice.open_amount, invoice.invoice_date, t));
    let taken = match s {
        Some(s) if invoice.amount.is_none() && execution_date <= s.deadline => s.amount,
        _ => Decimal::ZERO,
    };
    (s, taken)
}

/// Open incoming invoices in EUR of vendors with a valid IBAN, due before `due_before`, held
/// by no active run; by due date and number.
pub fn eligible_invoices(
    invoices: &[OpenInvoice],
    due_before: NaiveDate,
    execution_date: NaiveDate,
) -> Vec<Eligible> {
    let mut out: Vec<Eligible> = invoices
        .iter()
        .filter(|i| {
            is_payable_invoice(i)
                && i.currency == Currency::EUR
                && i.active_run.is_none()
                && i.due_date < due_before
                && vendor_iban_ok(&i.vendor)
        })
        .map(|i| {
            let full = OpenInvoice {
                amount: None,
                ..i.clone()
            };
            let (skonto, taken) = discount_taken(&full, execution_date);
            Eligible {
                invoice_id: i.id,
                vendor_id: i.vendor.id,
                invoice_number: i.number.clone(),
                due_date: i.due_date,
                open_amount: i.open_amount,
                skonto,
                payable_amount: i.open_amount - taken,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        (a.due_date, &a.invoice_number, a.invoice_id).cmp(&(
            b.due_date,
            &b.invoice_number,
            b.invoice_id,
        ))
    });
    out
}

/// What a run is planned with; everything that would otherwise come from a clock or the
/// database is in here.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    /// The run's id (a UUID v7 chosen by the caller): the base of its end-to-end ids.
    pub run_id: Uuid,
    pub today: NaiveDate,
    pub execution_date: NaiveDate,
    /// Invoices due on or after this day are left out (`None`: no limit).
    pub due_before: Option<NaiveDate>,
    pub batch_by_vendor: bool,
    /// The paying bank account and the tenant's name.
    pub debtor: Debtor,
}

/// Why a candidate is not in the run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum ExclusionReason {
    /// The vendor's credit notes outweigh its invoices in the run.
    NetNotPositive { net: Decimal },
    /// Due on or after the run's `due_before`.
    NotDue { due_date: NaiveDate },
    /// A credit note whose vendor has no invoice in the run.
    NoInvoiceToNet,
    /// A credit note another active run holds.
    InActiveRun { run_id: Uuid },
    /// A credit note that cannot be set off: not incoming, not open, or not in EUR.
    NotNettable,
}

impl ExclusionReason {
    pub fn code(&self) -> &'static str {
        match self {
            ExclusionReason::NetNotPositive { .. } => "net_not_positive",
            ExclusionReason::NotDue { .. } => "not_due",
            ExclusionReason::NoInvoiceToNet => "no_invoice_to_net",
            ExclusionReason::InActiveRun { .. } => "invoice_in_active_run",
            ExclusionReason::NotNettable => "not_nettable",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Excluded {
    pub invoice_id: Uuid,
    pub vendor_id: Uuid,
    #[serde(flatten)]
    pub reason: ExclusionReason,
}

/// One invoice or credit note of the run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Item {
    pub invoice_id: Uuid,
    pub vendor_id: Uuid,
    pub invoice_number: String,
    pub invoice_type: &'static str,
    pub open_amount: Decimal,
    /// The Skonto taken (zero when none).
    pub discount: Decimal,
    /// What the run settles on the item: positive for an invoice (paid), negative for a
    /// credit note (set off). The items' sum is the run's total.
    pub amount: Decimal,
    /// The transaction that carries the item's number; `None` for a credit note or an
    /// invoice whose share of the vendor's payment was wholly set off by credit notes.
    pub end_to_end_id: Option<String>,
}

/// One SEPA credit transfer of the run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Transaction {
    pub end_to_end_id: String,
    pub vendor_id: Uuid,
    /// In the SEPA set, at most 70 characters.
    pub creditor_name: String,
    pub creditor_iban: String,
    pub creditor_bic: Option<String>,
    pub amount: Decimal,
    /// The invoice numbers, in the SEPA set, at most 140 characters.
    pub remittance: String,
    pub invoice_ids: Vec<Uuid>,
}

/// A planned run: what a draft stores.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Run {
    pub id: Uuid,
    pub execution_date: NaiveDate,
    pub batch_by_vendor: bool,
    pub debtor: Debtor,
    pub items: Vec<Item>,
    pub transactions: Vec<Transaction>,
    pub excluded: Vec<Excluded>,
    /// The sum of the transactions (= the sum of the items).
    pub total_amount: Decimal,
    /// Invoices paid (credit notes not counted).
    pub invoice_count: usize,
    pub transaction_count: usize,
    /// What the file's `CtrlSum` says: the total with two decimals.
    pub control_sum: String,
}

/// The run id in base 36 (25 upper-case characters): the stem of every id of the run.
pub fn id_base(run_id: Uuid) -> String {
    const DIGITS: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut n = run_id.as_u128();
    let mut out = [b'0'; 25];
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(n % 36) as usize];
        n /= 36;
    }
    String::from_utf8(out.to_vec()).expect("ASCII digits")
}

/// The end-to-end id of the run's `n`th transaction (from 1): at most 34 characters.
pub fn end_to_end_id(run_id: Uuid, n: usize) -> String {
    format!("{}-{n}", id_base(run_id))
}

/// The message id of the run's file: 26 characters.
pub fn message_id(run_id: Uuid) -> String {
    format!("M{}", id_base(run_id))
}

/// A credit note that can be set off against its vendor's invoices (the vendor's IBAN is
/// checked on the invoices).
fn nettable(c: &OpenInvoice) -> bool {
    c.direction == Direction::Incoming
        && c.open_amount > Decimal::ZERO
        && c.currency == Currency::EUR
        && Currency::EUR.fits(c.open_amount)
}

/// Checks an invoice named for the run: the first rule it breaks.
fn check_invoice(i: &OpenInvoice) -> Result<(), RunError> {
    let invoice_id = i.id;
    if i.direction != Direction::Incoming || i.open_amount <= Decimal::ZERO {
        return Err(RunError::InvoiceNotOpen { invoice_id });
    }
    if i.currency != Currency::EUR {
        return Err(RunError::UnsupportedCurrency {
            invoice_id,
            currency: i.currency.code().to_string(),
        });
    }
    if let Some(run_id) = i.active_run {
        return Err(RunError::InvoiceInActiveRun { invoice_id, run_id });
    }
    match i.vendor.iban.as_deref().map(str::trim) {
        None | Some("") => {
            return Err(RunError::VendorWithoutIban {
                invoice_id,
                vendor_id: i.vendor.id,
            })
        }
        Some(iban) => {
            validate_iban(iban).map_err(|e| RunError::VendorIbanInvalid {
                invoice_id,
                vendor_id: i.vendor.id,
                reason: e.to_string(),
            })?;
        }
    }
    if let Some(amount) = i.amount {
        if amount <= Decimal::ZERO || !Currency::EUR.fits(amount) {
            return Err(RunError::InvalidAmount { invoice_id });
        }
        if amount > i.open_amount {
            return Err(RunError::AmountExceedsOpen {
                invoice_id,
                amount,
                open: i.open_amount,
            });
        }
    }
    Ok(())
}

fn remittance_reference(i: &OpenInvoice) -> Result<String, RunError> {
    let r = sepa_text(&i.number);
    if r.len() > MAX_REMITTANCE {
        return Err(RunError::InvoiceNumberTooLong {
            invoice_id: i.id,
            number: i.number.clone(),
        });
    }
    Ok(if r.is_empty() {
        "NOTPROVIDED".into()
    } else {
        r
    })
}

fn eur(amount: Decimal) -> Decimal {
    Currency::EUR.round(amount)
}

/// Plans a run over `candidates`: the invoices named for it and the open credit notes of
/// their vendors. Refuses with the first broken rule; leaves out, with a reason, what is not
/// due, vendors whose net is not positive, and credit notes with nothing to net.
pub fn plan_run(candidates: &[OpenInvoice], options: &RunOptions) -> Result<Run, RunError> {
    let debtor_iban =
        validate_iban(&options.debtor.iban).map_err(|_| RunError::BankAccountWithoutIban)?;
    let debtor_bic = match options.debtor.bic.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(b) => Some(
            validate_bic(b).map_err(|e| RunError::BankAccountBicInvalid {
                reason: e.to_string(),
            })?,
        ),
    };
    if options.execution_date < options.today {
        return Err(RunError::ExecutionDateInPast {
            execution_date: options.execution_date,
            today: options.today,
        });
    }
    let mut seen = HashSet::new();
    for c in candidates {
        if !seen.insert(c.id) {
            return Err(RunError::DuplicateInvoice { invoice_id: c.id });
        }
        if c.invoice_type == InvoiceType::Invoice {
            check_invoice(c)?;
        }
        remittance_reference(c)?;
    }

    let mut excluded = Vec::new();
    let mut invoices: Vec<&OpenInvoice> = Vec::new();
    let mut credits: Vec<&OpenInvoice> = Vec::new();
    for c in candidates {
        match c.invoice_type {
            InvoiceType::Invoice => match options.due_before {
                Some(d) if c.due_date >= d => excluded.push(Excluded {
                    invoice_id: c.id,
                    vendor_id: c.vendor.id,
                    reason: ExclusionReason::NotDue {
                        due_date: c.due_date,
                    },
                }),
                _ => invoices.push(c),
            },
            InvoiceType::CreditNote if !nettable(c) => excluded.push(Excluded {
                invoice_id: c.id,
                vendor_id: c.vendor.id,
                reason: ExclusionReason::NotNettable,
            }),
            InvoiceType::CreditNote => match c.active_run {
                Some(run_id) => excluded.push(Excluded {
                    invoice_id: c.id,
                    vendor_id: c.vendor.id,
                    reason: ExclusionReason::InActiveRun { run_id },
                }),
                None => credits.push(c),
            },
        }
    }
    invoices.sort_by(|a, b| (a.due_date, &a.number, a.id).cmp(&(b.due_date, &b.number, b.id)));
    credits
        .sort_by(|a, b| (a.invoice_date, &a.number, a.id).cmp(&(b.invoice_date, &b.number, b.id)));

    // Vendors in the order of their first invoice.
    let mut vendor_order: Vec<Uuid> = Vec::new();
    let mut by_vendor: BTreeMap<Uuid, (Vec<&OpenInvoice>, Vec<&OpenInvoice>)> = BTreeMap::new();
    for i in &invoices {
        if !by_vendor.contains_key(&i.vendor.id) {
            vendor_order.push(i.vendor.id);
        }
        by_vendor.entry(i.vendor.id).or_default().0.push(i);
    }
    for c in &credits {
        match by_vendor.get_mut(&c.vendor.id) {
            Some((_, cs)) => cs.push(c),
            None => excluded.push(Excluded {
                invoice_id: c.id,
                vendor_id: c.vendor.id,
                reason: ExclusionReason::NoInvoiceToNet,
            }),
        }
    }

    let mut items = Vec::new();
    let mut transactions: Vec<Transaction> = Vec::new();
    for vendor_id in vendor_order {
        let (vinv, vcred) = &by_vendor[&vendor_id];
        let paid: Vec<(Decimal, Decimal)> = vinv
            .iter()
            .map(|i| {
                let (_, taken) = discount_taken(i, options.execution_date);
                (taken, eur(i.amount.unwrap_or(i.open_amount) - taken))
            })
            .collect();
        let credit: Decimal = vcred.iter().map(|c| eur(c.open_amount)).sum();
        let net = paid.iter().map(|(_, p)| *p).sum::<Decimal>() - credit;
        if net <= Decimal::ZERO {
            for i in vinv.iter().chain(vcred.iter()) {
                excluded.push(Excluded {
                    invoice_id: i.id,
                    vendor_id,
                    reason: ExclusionReason::NetNotPositive { net },
                });
            }
            continue;
        }
        let vendor = &vinv[0].vendor;
        let creditor_iban = validate_iban(vendor.iban.as_deref().unwrap_or_default())
            .expect("checked by check_invoice");
        let creditor_bic = vendor.bic.as_deref().and_then(|b| validate_bic(b).ok());
        let creditor_name = sepa_name(&vendor.name);

        // Groups of invoices paid together: the vendor's all, or one each.
        let groups: Vec<Vec<usize>> = if options.batch_by_vendor || !vcred.is_empty() {
            vec![(0..vinv.len()).collect()]
        } else {
            (0..vinv.len()).map(|k| vec![k]).collect()
        };
        let first_item = items.len();
        for (k, i) in vinv.iter().enumerate() {
            items.push(Item {
                invoice_id: i.id,
                vendor_id,
                invoice_number: i.number.clone(),
                invoice_type: InvoiceType::Invoice.as_str(),
                open_amount: i.open_amount,
                discount: paid[k].0,
                amount: paid[k].1,
                end_to_end_id: None,
            });
        }
        for c in vcred {
            items.push(Item {
                invoice_id: c.id,
                vendor_id,
                invoice_number: c.number.clone(),
                invoice_type: InvoiceType::CreditNote.as_str(),
                open_amount: c.open_amount,
                discount: Decimal::ZERO,
                amount: -eur(c.open_amount),
                end_to_end_id: None,
            });
        }
        let mut remaining_credit = credit;
        for group in groups {
            // References: the group's invoices, then (netting) the credit notes.
            // Item positions (within the vendor's items) and their references.
            let mut refs: Vec<(String, usize)> = Vec::new();
            for &k in &group {
                refs.push((remittance_reference(vinv[k])?, k));
            }
            if group.len() == vinv.len() {
                for (j, c) in vcred.iter().enumerate() {
                    refs.push((remittance_reference(c)?, vinv.len() + j));
                }
            }
            let texts: Vec<String> = refs.iter().map(|(t, _)| t.clone()).collect();
            let chunks = remittance_chunks(&texts, MAX_REMITTANCE).map_err(|e| match e {
                RemittanceError::Empty { index } | RemittanceError::TooLong { index, .. } => {
                    RunError::InvoiceNumberTooLong {
                        invoice_id: items[first_item + refs[index].1].invoice_id,
                        number: texts[index].clone(),
                    }
                }
            })?;
            // The invoices' sum per chunk, then the credit set off chunk by chunk: first
            // leaving each chunk at least a cent, then, if still needed, down to zero.
            let sums: Vec<Decimal> = chunks
                .iter()
                .map(|(_, members)| {
                    members
                        .iter()
                        .map(|m| refs[*m].1)
                        .filter(|k| *k < vinv.len())
                        .map(|k| paid[k].1)
                        .sum()
                })
                .collect();
            let mut amounts = sums.clone();
            for floor in [Decimal::new(1, 2), Decimal::ZERO] {
                for a in amounts.iter_mut() {
                    let room = (*a - floor).max(Decimal::ZERO);
                    let take = room.min(remaining_credit);
                    *a -= take;
                    remaining_credit -= take;
                }
            }
            for ((text, members), amount) in chunks.into_iter().zip(amounts) {
                if amount <= Decimal::ZERO {
                    continue;
                }
                let e2e = end_to_end_id(options.run_id, transactions.len() + 1);
                let mut invoice_ids = Vec::new();
                for m in members {
                    let item = first_item + refs[m].1;
                    items[item].end_to_end_id = Some(e2e.clone());
                    invoice_ids.push(items[item].invoice_id);
                }
                transactions.push(Transaction {
                    end_to_end_id: e2e,
                    vendor_id,
                    creditor_name: creditor_name.clone(),
                    creditor_iban: creditor_iban.clone(),
                    creditor_bic: creditor_bic.clone(),
                    amount,
                    remittance: text,
                    invoice_ids,
                });
            }
        }
    }
    if transactions.is_empty() {
        return Err(RunError::EmptyRun);
    }
    let total_amount: Decimal = transactions.iter().map(|t| t.amount).sum();
    let invoice_count = items
        .iter()
        .filter(|i| i.invoice_type == InvoiceType::Invoice.as_str())
        .count();
    Ok(Run {
        id: options.run_id,
        execution_date: options.execution_date,
        batch_by_vendor: options.batch_by_vendor,
        debtor: Debtor {
            name: options.debtor.name.clone(),
            iban: debtor_iban,
            bic: debtor_bic,
        },
        items,
        transaction_count: transactions.len(),
        transactions,
        excluded,
        total_amount,
        invoice_count,
        control_sum: Currency::EUR.format(total_amount),
    })
}

impl Run {
    /// The run's transfers as a pain.001 message: `message_id` (see [`message_id`]), the
    /// creation time and the initiating party (the tenant's name) come from the caller.
    pub fn message(
        &self,
        message_id: String,
        created_at: NaiveDateTime,
        initiating_party: &str,
    ) -> Message {
        Message {
            message_id,
            created_at,
            initiating_party: initiating_party.to_string(),
            transfers: self
                .transactions
                .iter()
                .map(|t| CreditTransfer {
                    end_to_end_id: t.end_to_end_id.clone(),
                    execution_date: self.execution_date,
                    debtor: self.debtor.clone(),
                    amount: t.amount,
                    creditor_name: t.creditor_name.clone(),
                    creditor_iban: t.creditor_iban.clone(),
                    creditor_bic: t.creditor_bic.clone(),
                    remittance: t.remittance.clone(),
                })
                .collect(),
        }
    }
}
