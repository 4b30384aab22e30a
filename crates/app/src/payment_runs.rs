//! Payment runs (issue 11): eligible invoices, creating a run (a planned draft), approving it
//! under four eyes, exporting its SEPA file (pain.001, stored and replayed), completing it
//! (one booking per payment, applied to the open items) and cancelling it.
//!
//! The rules are the `payments` crate's: `plan_run` decides a draft from the candidates
//! loaded here, `transition` every state change, `pain001::write` the file; a completed
//! payment's booking is `receivables::discounted_payment_booking` with its Skonto split over
//! the invoice's VAT rates (`split_discount`). Everything a use case writes is written in its
//! one transaction, with the `Idempotency-Key` answer.

use crate::bookings::AppendCommand;
use crate::{App, AppError, AppResult};
use chrono::{NaiveDate, Timelike};
use journal::{Actor, Currency};
use payments::{
    plan_run, transition, CashDiscount, CreditTransfer, Debtor, Message, OpenInvoice, PainVersion,
    PaymentRunStatus, RunAction, RunError, RunOptions, Skonto, Vendor,
};
use receivables::{
    book_discount, discounted_payment_booking, BookedDiscount, Direction, DiscountedPayment,
    InvoiceType,
};
use rust_decimal::Decimal;
use serde_json::{json, Map};
use std::collections::{HashMap, HashSet};
use store::idempotency::Idempotent;
use store::payment_runs::{
    self as rows, Candidate, ItemRow, NewApplication, NewRun, PaymentRow, StatusChange,
};
pub use store::payment_runs::{PaymentRun, RunFilter, RunRow};
use store::periods::principal_label;
use store::StoreError;
use uuid::Uuid;

/// At most this many invoices are named for one run.
pub const MAX_RUN_INVOICES: usize = 5000;
/// The longest label.
pub const MAX_LABEL: usize = 200;

/// `POST /v1/payment-runs`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPaymentRun {
    pub bank_account_id: Uuid,
    pub execution_date: NaiveDate,
    pub invoice_ids: Vec<Uuid>,
    pub label: Option<String>,
    pub batch_by_vendor: bool,
    /// Partial amounts for some of the invoices (no Skonto on those).
    pub amounts: Vec<(Uuid, Decimal)>,
}

/// An invoice a new run may pay, with what it would pay on the execution date.
#[derive(Debug, Clone, PartialEq)]
pub struct EligibleInvoice {
    pub invoice_id: Uuid,
    pub vendor_id: Uuid,
    pub vendor_name: String,
    pub invoice_number: String,
    pub invoice_date: NaiveDate,
    pub due_date: NaiveDate,
    pub remaining_amount: Decimal,
    pub skonto: Option<Skonto>,
    pub payable_amount: Decimal,
}

/// An exported run and its file.
#[derive(Debug, Clone, PartialEq)]
pub struct Export {
    pub run: PaymentRun,
    pub sepa_xml: String,
    pub message_id: String,
    pub pain_version: String,
    pub number_of_transactions: usize,
    pub control_sum: String,
}

/// The stored file of an exported run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SepaFile {
    pub message_id: String,
    pub pain_version: String,
    pub sepa_xml: String,
}

fn internal(what: impl Into<String>) -> AppError {
    AppError::Store(StoreError::Internal(what.into()))
}

fn status_of(run: &PaymentRun) -> AppResult<PaymentRunStatus> {
    PaymentRunStatus::parse(&run.run.status)
        .ok_or_else(|| internal(format!("payment run status {:?}", run.run.status)))
}

fn not_found(id: Uuid) -> AppError {
    AppError::not_found(format!("payment run {id}"))
}

/// A candidate row as the pure planner sees it.
fn open_invoice(c: &Candidate, amount: Option<Decimal>) -> Result<OpenInvoice, RunError> {
    let currency = Currency::from_code(&c.currency).map_err(|_| RunError::UnsupportedCurrency {
        invoice_id: c.id,
        currency: c.currency.clone(),
    })?;
    let cash_discount = match (c.cash_discount_percent, c.cash_discount_days) {
        (Some(percent), Some(days)) if days > 0 => Some(CashDiscount {
            percent,
            days: days as u32,
        }),
        _ => None,
    };
    Ok(OpenInvoice {
        id: c.id,
        number: c.number.clone(),
        direction: c.direction,
        invoice_type: c.invoice_type,
        currency,
        invoice_date: c.invoice_date,
        due_date: c.due_date.unwrap_or(c.invoice_date),
        open_amount: c.open_amount,
        cash_discount,
        active_run: c.active_run,
        vendor: Vendor {
            id: c.vendor_id,
            name: c.vendor_name.clone(),
            iban: c.vendor_iban.clone(),
            bic: c.vendor_bic.clone(),
        },
        amount,
    })
}

fn check_label(label: Option<&str>) -> AppResult<()> {
    if let Some(l) = label {
        if l.chars().count() > MAX_LABEL || l.chars().any(char::is_control) {
            return Err(AppError::invalid(
                "invalid_label",
                format!("label: at most {MAX_LABEL} characters, no control characters"),
                Some("label"),
            ));
        }
    }
    Ok(())
}

/// The request's own rules, before anything is loaded.
fn check_request(new: &NewPaymentRun) -> AppResult<()> {
    check_label(new.label.as_deref())?;
    if new.invoice_ids.is_empty() {
        return Err(RunError::EmptyRun.into());
    }
    if new.invoice_ids.len() > MAX_RUN_INVOICES {
        return Err(AppError::invalid(
            "too_many_invoices",
            format!("a run takes at most {MAX_RUN_INVOICES} invoices"),
            Some("invoice_ids"),
        ));
    }
    let mut seen = HashSet::new();
    for id in &new.invoice_ids {
        if !seen.insert(*id) {
            return Err(RunError::DuplicateInvoice { invoice_id: *id }.into());
        }
    }
    if let Some((id, _)) = new.amounts.iter().find(|(id, _)| !seen.contains(id)) {
        return Err(AppError::invalid(
            "unknown_invoice",
            format!("amounts names invoice {id}, which is not in invoice_ids"),
            Some("amounts"),
        ));
    }
    Ok(())
}

/// The payments and items of a planned run, numbered from 1, as they are stored.
fn run_rows(planned: &payments::Run) -> AppResult<(Vec<PaymentRow>, Vec<ItemRow>)> {
    let payments = planned
        .transactions
        .iter()
        .enumerate()
        .map(|(k, t)| PaymentRow {
            position: k as i32 + 1,
            end_to_end_id: t.end_to_end_id.clone(),
            vendor_id: t.vendor_id,
            creditor_name: t.creditor_name.clone(),
            creditor_iban: t.creditor_iban.clone(),
            creditor_bic: t.creditor_bic.clone(),
            amount: t.amount,
            remittance: t.remittance.clone(),
            intent_id: None,
        })
        .collect();
    let items = planned
        .items
        .iter()
        .enumerate()
        .map(|(k, i)| {
            Ok(ItemRow {
                position: k as i32 + 1,
                invoice_id: i.invoice_id,
                vendor_id: i.vendor_id,
                invoice_number: i.invoice_number.clone(),
                invoice_type: InvoiceType::parse(i.invoice_type)
                    .ok_or_else(|| internal("planned item type"))?,
                open_amount: i.open_amount,
                amount: i.amount,
                discount: i.discount,
                end_to_end_id: i.end_to_end_id.clone(),
            })
        })
        .collect::<AppResult<_>>()?;
    Ok((payments, items))
}

/// The bank account a run pays from: the tenant's, in EUR.
async fn paying_account(
    tx: &store::Transaction<'_>,
    tenant_id: Uuid,
    id: Uuid,
) -> AppResult<rows::BankAccount> {
    let bank = rows::load_bank_account(tx, tenant_id, id)
        .await?
        .ok_or_else(|| {
            AppError::invalid(
                "unknown_bank_account",
                format!("bank account {id} not found"),
                Some("bank_account_id"),
            )
        })?;
    if bank.currency != "EUR" {
        return Err(AppError::invalid(
            "unsupported_currency",
            format!(
                "the bank account is in {}; SEPA credit transfers are in EUR only",
                bank.currency
            ),
            Some("bank_account_id"),
        ));
    }
    Ok(bank)
}

/// The named invoices, in the order given, then the open credit notes of their vendors to net;
/// as the planner sees them.
async fn load_open_invoices(
    tx: &store::Transaction<'_>,
    tenant_id: Uuid,
    new: &NewPaymentRun,
) -> AppResult<Vec<OpenInvoice>> {
    let candidates = rows::load_candidates(tx, tenant_id, &new.invoice_ids).await?;
    let found: HashSet<Uuid> = candidates.iter().map(|c| c.id).collect();
    if let Some(missing) = new.invoice_ids.iter().find(|id| !found.contains(id)) {
        return Err(AppError::invalid(
            "unknown_invoice",
            format!("invoice {missing} not found"),
            Some("invoice_ids"),
        ));
    }
    let position: HashMap<Uuid, usize> = new
        .invoice_ids
        .iter()
        .enumerate()
        .map(|(k, id)| (*id, k))
        .collect();
    let amounts: HashMap<Uuid, Decimal> = new.amounts.iter().copied().collect();
    let mut ordered: Vec<&Candidate> = candidates.iter().collect();
    ordered.sort_by_key(|c| (position.get(&c.id).copied().unwrap_or(usize::MAX), c.id));
    Ok(ordered
        .iter()
        .map(|c| open_invoice(c, amounts.get(&c.id).copied()))
        .collect::<Result<Vec<_>, _>>()?)
}

impl App {
    /// `GET /v1/payment-runs/eligible-invoices`: open incoming invoices of vendors with a
    /// valid IBAN, due before `due_before`, in no active run, with what each would pay on
    /// `execution_date` (less its Skonto when that date is within the deadline).
    pub async fn eligible_payment_invoices(
        &self,
        tenant_id: Uuid,
        due_before: NaiveDate,
        execution_date: NaiveDate,
    ) -> AppResult<Vec<EligibleInvoice>> {
        let rows = self
            .store()
            .eligible_invoices(tenant_id, due_before)
            .await?;
        let by_id: HashMap<Uuid, &Candidate> = rows.iter().map(|c| (c.id, c)).collect();
        let open: Vec<OpenInvoice> = rows
            .iter()
            .filter_map(|c| open_invoice(c, None).ok())
            .collect();
        Ok(
            payments::eligible_invoices(&open, due_before, execution_date)
                .into_iter()
                .filter_map(|e| {
                    let c = by_id.get(&e.invoice_id)?;
                    Some(EligibleInvoice {
                        invoice_id: e.invoice_id,
                        vendor_id: e.vendor_id,
                        vendor_name: c.vendor_name.clone(),
                        invoice_number: e.invoice_number,
                        invoice_date: c.invoice_date,
                        due_date: e.due_date,
                        remaining_amount: e.open_amount,
                        skonto: e.skonto,
                        payable_amount: e.payable_amount,
                    })
                })
                .collect(),
        )
    }

    /// `POST /v1/payment-runs`: plans a draft and writes it.
    pub async fn create_payment_run(
        &self,
        tenant_id: Uuid,
        new: NewPaymentRun,
        actor: &Actor,
        idempotency: Option<Idempotent<PaymentRun>>,
    ) -> AppResult<PaymentRun> {
        self.in_transaction(async |tx| {
            let run = self
                .create_payment_run_in_tx(tx, tenant_id, &new, actor)
                .await?;
            if let Some(idem) = &idempotency {
                store::idempotency::store_in_tx(tx, &idem.key, &(idem.render)(&run)).await?;
            }
            Ok(run)
        })
        .await
    }

    pub async fn create_payment_run_in_tx(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        new: &NewPaymentRun,
        actor: &Actor,
    ) -> AppResult<PaymentRun> {
        check_request(new)?;
        let info = self.store().tenant_info(tenant_id).await?;
        let bank = paying_account(tx, tenant_id, new.bank_account_id).await?;
        rows::lock_run_creation(tx, tenant_id).await?;
        let open = load_open_invoices(tx, tenant_id, new).await?;
        let run_id = Uuid::now_v7();
        let planned = plan_run(
            &open,
            &RunOptions {
                run_id,
                today: self.today(),
                execution_date: new.execution_date,
                due_before: None,
                batch_by_vendor: new.batch_by_vendor,
                debtor: Debtor {
                    name: info.tenant.name.clone(),
                    iban: bank.iban.clone().unwrap_or_default(),
                    bic: bank.bic.clone(),
                },
            },
        )?;
        let (payments, items) = run_rows(&planned)?;
        let excluded = serde_json::to_value(&planned.excluded)
            .map_err(|e| internal(format!("excluded: {e}")))?;
        let created_by = principal_label(actor);
        rows::insert_run(
            tx,
            tenant_id,
            &NewRun {
                id: run_id,
                label: new.label.as_deref(),
                bank_account_id: bank.id,
                execution_date: planned.execution_date,
                batch_by_vendor: planned.batch_by_vendor,
                total_amount: planned.total_amount,
                invoice_count: i32::try_from(planned.invoice_count)
                    .map_err(|_| internal("invoice count"))?,
                debtor_name: &planned.debtor.name,
                debtor_iban: &planned.debtor.iban,
                debtor_bic: planned.debtor.bic.as_deref(),
                excluded,
                created_by: &created_by,
                created_actor: actor.to_json(),
                payments,
                items,
            },
            self.now(),
        )
        .await?;
        self.read_run_in_tx(tx, tenant_id, run_id).await
    }

    async fn read_run_in_tx(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        id: Uuid,
    ) -> AppResult<PaymentRun> {
        rows::load_run(tx, tenant_id, id, false)
            .await?
            .ok_or_else(|| not_found(id))
    }

    /// Locks the run and checks `action` under the state machine and four eyes.
    async fn lock_for(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        id: Uuid,
        action: RunAction,
        actor: &Actor,
    ) -> AppResult<(PaymentRun, PaymentRunStatus, PaymentRunStatus)> {
        let run = rows::load_run(tx, tenant_id, id, true)
            .await?
            .ok_or_else(|| not_found(id))?;
        let from = status_of(&run)?;
        let to = transition(from, action, &run.run.created_by, &principal_label(actor))?;
        Ok((run, from, to))
    }

    /// `POST /v1/payment-runs/{id}/approve`: by a principal other than the creator.
    pub async fn approve_payment_run(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        actor: &Actor,
        idempotency: Option<Idempotent<PaymentRun>>,
    ) -> AppResult<PaymentRun> {
        self.simple_run_change(tenant_id, id, RunAction::Approve, actor, idempotency)
            .await
    }

    /// `POST /v1/payment-runs/{id}/cancel`: from draft, approved or exported; releases the
    /// invoices, books nothing.
    pub async fn cancel_payment_run(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        actor: &Actor,
        idempotency: Option<Idempotent<PaymentRun>>,
    ) -> AppResult<PaymentRun> {
        self.simple_run_change(tenant_id, id, RunAction::Cancel, actor, idempotency)
            .await
    }

    async fn simple_run_change(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        action: RunAction,
        actor: &Actor,
        idempotency: Option<Idempotent<PaymentRun>>,
    ) -> AppResult<PaymentRun> {
        self.in_transaction(async |tx| {
            let run = match action {
                RunAction::Approve => {
                    self.approve_payment_run_in_tx(tx, tenant_id, id, actor)
                        .await?
                }
                _ => {
                    self.cancel_payment_run_in_tx(tx, tenant_id, id, actor)
                        .await?
                }
            };
            if let Some(idem) = &idempotency {
                store::idempotency::store_in_tx(tx, &idem.key, &(idem.render)(&run)).await?;
            }
            Ok(run)
        })
        .await
    }

    pub async fn approve_payment_run_in_tx(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        id: Uuid,
        actor: &Actor,
    ) -> AppResult<PaymentRun> {
        self.lock_for(tx, tenant_id, id, RunAction::Approve, actor)
            .await?;
        let by = principal_label(actor);
        rows::set_status(tx, tenant_id, id, &StatusChange::Approve, &by, self.now()).await?;
        let run = self.read_run_in_tx(tx, tenant_id, id).await?;
        emit_run(tx, tenant_id, webhooks::EventType::PaymentRunApproved, &run).await?;
        Ok(run)
    }

    pub async fn cancel_payment_run_in_tx(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        id: Uuid,
        actor: &Actor,
    ) -> AppResult<PaymentRun> {
        self.lock_for(tx, tenant_id, id, RunAction::Cancel, actor)
            .await?;
        let by = principal_label(actor);
        rows::set_status(tx, tenant_id, id, &StatusChange::Cancel, &by, self.now()).await?;
        self.read_run_in_tx(tx, tenant_id, id).await
    }

    /// `POST /v1/payment-runs/{id}/export`: writes the pain.001 file (09 unless `version`
    /// says 03) and stores it; exporting an exported run replays the stored file.
    pub async fn export_payment_run(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        version: Option<PainVersion>,
        actor: &Actor,
        idempotency: Option<Idempotent<Export>>,
    ) -> AppResult<Export> {
        self.in_transaction(async |tx| {
            let export = self
                .export_payment_run_in_tx(tx, tenant_id, id, version, actor)
                .await?;
            if let Some(idem) = &idempotency {
                store::idempotency::store_in_tx(tx, &idem.key, &(idem.render)(&export)).await?;
            }
            Ok(export)
        })
        .await
    }

    pub async fn export_payment_run_in_tx(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        id: Uuid,
        version: Option<PainVersion>,
        actor: &Actor,
    ) -> AppResult<Export> {
        let (run, from, _) = self
            .lock_for(tx, tenant_id, id, RunAction::Export, actor)
            .await?;
        if from == PaymentRunStatus::Exported {
            let file = self.stored_file(tx, tenant_id, id).await?;
            return Ok(export_of(run, file));
        }
        // The bank refuses a requested execution date in the past: a run planned earlier
        // and exported late is cancelled and planned again.
        let today = self.today();
        if run.run.execution_date < today {
            return Err(RunError::ExecutionDateInPast {
                execution_date: run.run.execution_date,
                today,
            }
            .into());
        }
        let version = version.unwrap_or_default();
        let message_id = payments::message_id(id);
        let now = self.now().naive_utc();
        let created_at = now.with_nanosecond(0).unwrap_or(now);
        let xml = payments::write(&message_of(&run, message_id.clone(), created_at), version)?;
        rows::set_status(
            tx,
            tenant_id,
            id,
            &StatusChange::Export {
                pain_version: version.name(),
                message_id: &message_id,
                sepa_xml: &xml,
            },
            &principal_label(actor),
            self.now(),
        )
        .await?;
        let run = self.read_run_in_tx(tx, tenant_id, id).await?;
        emit_run(tx, tenant_id, webhooks::EventType::PaymentRunExported, &run).await?;
        Ok(export_of(
            run,
            SepaFile {
                message_id,
                pain_version: version.name().to_string(),
                sepa_xml: xml,
            },
        ))
    }

    async fn stored_file(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        id: Uuid,
    ) -> AppResult<SepaFile> {
        match rows::load_file(tx, tenant_id, id).await? {
            Some((_, Some((message_id, pain_version, sepa_xml)))) => Ok(SepaFile {
                message_id,
                pain_version,
                sepa_xml,
            }),
            _ => Err(internal("an exported run without its file")),
        }
    }

    /// `GET /v1/payment-runs/{id}/file`: the stored file; 409 `not_exported` before the export.
    pub async fn payment_run_file(&self, tenant_id: Uuid, id: Uuid) -> AppResult<SepaFile> {
        match self.store().payment_run_file(tenant_id, id).await? {
            None => Err(not_found(id)),
            Some((_, Some((message_id, pain_version, sepa_xml)))) => Ok(SepaFile {
                message_id,
                pain_version,
                sepa_xml,
            }),
            Some((status, None)) => Err(AppError::conflict(
                "not_exported",
                format!("the payment run is {status}; it has no file before it is exported"),
            )),
        }
    }

    /// `POST /v1/payment-runs/{id}/complete`: books each payment (creditor vs the bank
    /// account's ledger account, Skonto with its VAT correction) and applies it to the open
    /// items, all in one transaction.
    pub async fn complete_payment_run(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        actor: &Actor,
        idempotency: Option<Idempotent<PaymentRun>>,
    ) -> AppResult<PaymentRun> {
        self.in_transaction(async |tx| {
            let run = self
                .complete_payment_run_in_tx(tx, tenant_id, id, actor)
                .await?;
            if let Some(idem) = &idempotency {
                store::idempotency::store_in_tx(tx, &idem.key, &(idem.render)(&run)).await?;
            }
            Ok(run)
        })
        .await
    }

    pub async fn complete_payment_run_in_tx(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        id: Uuid,
        actor: &Actor,
    ) -> AppResult<PaymentRun> {
        let (run, _, _) = self
            .lock_for(tx, tenant_id, id, RunAction::Complete, actor)
            .await?;
        let info = self.store().tenant_info(tenant_id).await?;
        let bank = rows::load_bank_account(tx, tenant_id, run.run.bank_account_id)
            .await?
            .ok_or_else(|| internal("the run's bank account"))?;
        let ids: Vec<Uuid> = run.items.iter().map(|i| i.invoice_id).collect();
        let open = rows::lock_open_items(tx, tenant_id, &ids).await?;
        check_still_open(&run.items, &open)?;
        let discounted: Vec<Uuid> = run
            .items
            .iter()
            .filter(|i| i.discount > Decimal::ZERO)
            .map(|i| i.invoice_id)
            .collect();
        let rates = rows::load_rate_grosses(tx, tenant_id, &discounted).await?;
        let plans = plan_bookings(&run, &open, &rates, &info, &bank.ledger_account)?;
        let mut applications = Vec::new();
        let mut booked = Vec::with_capacity(plans.len());
        for plan in plans {
            let appended = self
                .append_in_tx(
                    tx,
                    tenant_id,
                    &AppendCommand::Booking(plan.cmd.clone()),
                    actor,
                )
                .await?;
            booked.push((plan.position, appended.intent_id));
            applications.extend(plan.applications.into_iter().map(|mut a| {
                a.intent_id = appended.intent_id;
                a
            }));
        }
        rows::set_payment_intents(tx, tenant_id, id, &booked).await?;
        rows::insert_applications(tx, tenant_id, &applications, &actor.to_json()).await?;
        rows::set_status(
            tx,
            tenant_id,
            id,
            &StatusChange::Complete,
            &principal_label(actor),
            self.now(),
        )
        .await?;
        let run = self.read_run_in_tx(tx, tenant_id, id).await?;
        self.emit_paid(tx, tenant_id, &ids).await?;
        emit_run(
            tx,
            tenant_id,
            webhooks::EventType::PaymentRunCompleted,
            &run,
        )
        .await?;
        Ok(run)
    }

    /// One run with its payments and items.
    pub async fn get_payment_run(&self, tenant_id: Uuid, id: Uuid) -> AppResult<PaymentRun> {
        self.store()
            .get_payment_run(tenant_id, id)
            .await?
            .ok_or_else(|| not_found(id))
    }

    /// Runs, newest first, without payments and items.
    pub async fn list_payment_runs(
        &self,
        tenant_id: Uuid,
        filter: &RunFilter,
    ) -> AppResult<(Vec<RunRow>, store::Total, Option<store::ListCursor>)> {
        Ok(self.store().list_payment_runs(tenant_id, filter).await?)
    }
}

fn export_of(run: PaymentRun, file: SepaFile) -> Export {
    let number_of_transactions = run.payments.len();
    let control_sum = Currency::EUR.format(run.payments.iter().map(|p| p.amount).sum());
    Export {
        run,
        sepa_xml: file.sepa_xml,
        message_id: file.message_id,
        pain_version: file.pain_version,
        number_of_transactions,
        control_sum,
    }
}

/// The run's stored payments as a pain.001 message.
fn message_of(run: &PaymentRun, message_id: String, created_at: chrono::NaiveDateTime) -> Message {
    let debtor = Debtor {
        name: run.run.debtor_name.clone(),
        iban: run.run.debtor_iban.clone(),
        bic: run.run.debtor_bic.clone(),
    };
    Message {
        message_id,
        created_at,
        initiating_party: run.run.debtor_name.clone(),
        transfers: run
            .payments
            .iter()
            .map(|p| CreditTransfer {
                end_to_end_id: p.end_to_end_id.clone(),
                execution_date: run.run.execution_date,
                debtor: debtor.clone(),
                amount: p.amount,
                creditor_name: p.creditor_name.clone(),
                creditor_iban: p.creditor_iban.clone(),
                creditor_bic: p.creditor_bic.clone(),
                remittance: p.remittance.clone(),
            })
            .collect(),
    }
}

/// Every item is still open by what the run settles on it: an invoice paid or cancelled in
/// the meantime refuses the completion (nothing is booked then).
fn check_still_open(
    items: &[ItemRow],
    open: &HashMap<Uuid, rows::LockedOpenItem>,
) -> AppResult<()> {
    for item in items {
        let invoice_id = item.invoice_id;
        let Some(o) = open.get(&invoice_id) else {
            return Err(RunError::InvoiceNotOpen { invoice_id }.into());
        };
        let settles = item.amount.abs() + item.discount;
        if o.cancelled || o.open_amount <= Decimal::ZERO {
            return Err(RunError::InvoiceNotOpen { invoice_id }.into());
        }
        if settles > o.open_amount {
            return Err(RunError::AmountExceedsOpen {
                invoice_id,
                amount: settles,
                open: o.open_amount,
            }
            .into());
        }
    }
    Ok(())
}

/// The booking of one payment and its applications (their intent set once booked).
struct BookingPlan {
    position: i32,
    cmd: journal::BookingCommand,
    applications: Vec<NewApplication>,
}

/// The discount of one invoice split over its VAT rates, each part on its account, and the
/// account of the largest part.
fn booked_discounts(
    item: &ItemRow,
    rates: &HashMap<Uuid, Vec<rows::RateGross>>,
    info: &store::tenants::TenantInfo,
) -> AppResult<(Vec<BookedDiscount>, String)> {
    let lines: Vec<receivables::InvoiceRateLine> = rates
        .get(&item.invoice_id)
        .map(|v| {
            v.iter()
                .map(|r| receivables::InvoiceRateLine {
                    tax_code: r.tax_code.clone(),
                    rate: r.rate,
                    self_assessed: r.self_assessed,
                    gross: r.gross,
                })
                .collect()
        })
        .unwrap_or_default();
    let roles: Vec<(&str, &str)> = ["discount_received_19", "discount_received_7"]
        .into_iter()
        .filter_map(|r| info.role(r).map(|n| (r, n)))
        .collect();
    // Rates without a discount role of their own (0 %, other rates) go to the 19 % account:
    // the file is at the bank already, completing must not fail on a missing role.
    let booked = book_discount(
        Direction::Incoming,
        Currency::EUR,
        item.discount,
        &lines,
        &roles,
        None,
        info.role("discount_received_19"),
    )
    .map_err(|_| {
        AppError::conflict(
            "missing_discount_account",
            "the chart has no account for discounts received (role discount_received_19)",
        )
    })?;
    let largest = booked
        .iter()
        .max_by(|a, b| a.part.gross.cmp(&b.part.gross))
        .map(|b| b.account.clone())
        .ok_or_else(|| internal("a discount without parts"))?;
    Ok((booked, largest))
}

/// What every payment of a completion shares.
struct CompletionContext<'a> {
    run_id: Uuid,
    date: NaiveDate,
    bank_account: &'a str,
    open: &'a HashMap<Uuid, rows::LockedOpenItem>,
    rates: &'a HashMap<Uuid, Vec<rows::RateGross>>,
    info: &'a store::tenants::TenantInfo,
}

/// The bookings of a run's payments: one per payment; an item whose share of its vendor's
/// payments was wholly set off by credit notes goes with the vendor's first payment.
fn plan_bookings(
    run: &PaymentRun,
    open: &HashMap<Uuid, rows::LockedOpenItem>,
    rates: &HashMap<Uuid, Vec<rows::RateGross>>,
    info: &store::tenants::TenantInfo,
    bank_account: &str,
) -> AppResult<Vec<BookingPlan>> {
    let ctx = CompletionContext {
        run_id: run.run.id,
        date: run.run.execution_date,
        bank_account,
        open,
        rates,
        info,
    };
    let mut first_of_vendor: HashMap<Uuid, &str> = HashMap::new();
    for p in &run.payments {
        first_of_vendor
            .entry(p.vendor_id)
            .or_insert(p.end_to_end_id.as_str());
    }
    // Each item under the payment that carries it, in the items' order.
    let mut by_payment: HashMap<&str, Vec<&ItemRow>> = HashMap::new();
    for i in &run.items {
        let e2e = i
            .end_to_end_id
            .as_deref()
            .or_else(|| first_of_vendor.get(&i.vendor_id).copied());
        if let Some(e2e) = e2e {
            by_payment.entry(e2e).or_default().push(i);
        }
    }
    run.payments
        .iter()
        .map(|p| {
            let members = by_payment
                .remove(p.end_to_end_id.as_str())
                .unwrap_or_default();
            plan_payment(&ctx, p, &members)
        })
        .collect()
}

/// One payment's booking and applications. The money goes to the payment's invoices in order;
/// what is left of an invoice was set off by the vendor's credit notes (applied with the
/// creditor account as counter account, like the credit notes themselves).
fn plan_payment(
    ctx: &CompletionContext<'_>,
    p: &PaymentRow,
    members: &[&ItemRow],
) -> AppResult<BookingPlan> {
    let partner_account = members
        .first()
        .and_then(|i| ctx.open.get(&i.invoice_id))
        .map(|o| o.partner_account.clone())
        .ok_or_else(|| internal(format!("payment {} without items", p.end_to_end_id)))?;
    let app = |invoice_id, kind, amount, counter_account: &str| NewApplication {
        invoice_id,
        kind,
        amount,
        date: ctx.date,
        counter_account: counter_account.to_string(),
        intent_id: Uuid::nil(),
    };
    let mut discounts = Vec::new();
    let mut applications = Vec::new();
    let mut money_left = p.amount;
    for item in members {
        if item.invoice_type == InvoiceType::CreditNote {
            applications.push(app(
                item.invoice_id,
                "payment",
                -item.amount,
                &partner_account,
            ));
            continue;
        }
        let paid = item.amount.min(money_left);
        money_left -= paid;
        if paid > Decimal::ZERO {
            applications.push(app(item.invoice_id, "payment", paid, ctx.bank_account));
        }
        if item.amount > paid {
            let set_off = item.amount - paid;
            applications.push(app(item.invoice_id, "payment", set_off, &partner_account));
        }
        if item.discount > Decimal::ZERO {
            let (booked, largest) = booked_discounts(item, ctx.rates, ctx.info)?;
            discounts.extend(booked);
            applications.push(app(item.invoice_id, "discount", item.discount, &largest));
        }
    }
    if !money_left.is_zero() {
        return Err(internal(format!(
            "payment {} pays {money_left} more than its invoices",
            p.end_to_end_id
        )));
    }
    let mut cmd = discounted_payment_booking(&DiscountedPayment {
        direction: Direction::Incoming,
        invoice_type: InvoiceType::Invoice,
        invoice_number: &p.remittance,
        partner_account: &partner_account,
        counter_account: ctx.bank_account,
        date: ctx.date,
        amount: p.amount,
        discounts: &discounts,
        currency: Currency::EUR,
    });
    cmd.description = format!("Payment run {}: {}", p.end_to_end_id, p.remittance)
        .chars()
        .take(journal::booking::MAX_DESCRIPTION)
        .collect();
    cmd.external_reference = Some(p.end_to_end_id.clone());
    cmd.skip_duplicate_check = true;
    let mut meta = Map::new();
    meta.insert("end_to_end_id".into(), json!(p.end_to_end_id));
    meta.insert("payment_run_id".into(), json!(ctx.run_id.to_string()));
    cmd.custom_metadata = Some(meta);
    Ok(BookingPlan {
        position: p.position,
        cmd,
        applications,
    })
}

/// payment_run.approved / exported / completed (payload version 1): the run's own row, its
/// invoices and, once completed, the intents of its payments.
async fn emit_run(
    tx: &store::Transaction<'_>,
    tenant_id: Uuid,
    t: webhooks::EventType,
    run: &PaymentRun,
) -> AppResult<()> {
    let r = &run.run;
    let amount = journal::Currency::from_code(&r.currency)
        .map(|c| c.format(r.total_amount))
        .unwrap_or_else(|_| r.total_amount.normalize().to_string());
    let data = serde_json::json!({
        "payment_run_id": r.id,
        "status": r.status,
        "label": r.label,
        "bank_account_id": r.bank_account_id,
        "execution_date": r.execution_date,
        "currency": r.currency,
        "total_amount": amount,
        "invoice_count": r.invoice_count,
        "invoice_ids": run.items.iter().map(|i| i.invoice_id).collect::<Vec<_>>(),
        "payment_intent_ids": run.payments.iter().filter_map(|p| p.intent_id).collect::<Vec<_>>(),
        "message_id": r.message_id,
        "pain_version": r.pain_version,
    });
    crate::webhooks::emit(tx, tenant_id, t, data).await
}
