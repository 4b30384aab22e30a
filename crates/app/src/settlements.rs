//! Payments and write-offs applied to open items.
//!
//! The invoice row is locked (`FOR UPDATE`), so concurrent applications to one invoice cannot
//! together exceed what is open; `receivables::decide_settlement` decides, the booking goes
//! through `append_in_tx`, and the application row is written in the same transaction.

use crate::bookings::AppendCommand;
use crate::invoices::Application;
use crate::{App, AppError, AppResult};
use chrono::NaiveDate;
use journal::{Actor, BookingError};
use receivables::booking::SettlementKind;
use receivables::change::{check_settlement_amount, SettleContext, SettlementRoles};
use receivables::{
    decide_discounted_payment, decide_settlement, Direction, DiscountContext,
    DiscountedPaymentRequest, Settlement, SettlementError,
};

/// The chart roles of discount accounts (receivables::discount_role).
const DISCOUNT_ROLES: [&str; 4] = [
    "discount_granted_19",
    "discount_granted_7",
    "discount_received_19",
    "discount_received_7",
];
use rust_decimal::Decimal;
use store::idempotency::Idempotent;
use store::invoices as rows;
use uuid::Uuid;

/// A payment of (part of) an open item.
#[derive(Debug, Clone, PartialEq)]
pub struct Payment {
    pub amount: Decimal,
    pub date: NaiveDate,
    /// Bank or cash; the chart's bank account when None.
    pub account: Option<String>,
}

/// A write-off of (part of) an open item.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteOff {
    pub amount: Decimal,
    pub date: NaiveDate,
    /// The chart's write-off account of the invoice's side when None.
    pub account: Option<String>,
    /// The VAT correction's tax code (§ 17 UStG).
    pub tax_code: Option<String>,
}

/// A payment of an open item as the API takes it: the money on `account` (bank, cash, a
/// clearing account), optionally taking a cash discount (Skonto).
#[derive(Debug, Clone, PartialEq)]
pub struct InvoicePayment {
    pub amount: Decimal,
    pub date: NaiveDate,
    pub account: Option<String>,
    /// The discount taken (gross), booked with its tax correction per VAT rate.
    pub discount: Option<Decimal>,
    /// Books the discount on this account instead of the chart's discount account per rate.
    pub discount_account: Option<String>,
}

/// A write-off as the API takes it: `amount` None writes off everything open; `reason` goes
/// into the booking's description (GoBD: why).
#[derive(Debug, Clone, PartialEq)]
pub struct InvoiceWriteOff {
    pub amount: Option<Decimal>,
    pub date: NaiveDate,
    pub reason: String,
    pub account: Option<String>,
    pub tax_code: Option<String>,
}

/// What a payment or write-off through the API wrote, and the invoice as it is afterwards
/// (read inside the same transaction).
#[derive(Debug, Clone)]
pub struct Settled {
    pub applications: Vec<Application>,
    pub invoice: crate::invoices::Invoice,
}

/// The longest write-off reason.
pub const MAX_REASON: usize = 300;

impl From<Payment> for Settlement {
    fn from(p: Payment) -> Settlement {
        Settlement {
            kind: SettlementKind::Payment,
            amount: p.amount,
            date: p.date,
            account: p.account,
            tax_code: None,
        }
    }
}

impl From<WriteOff> for Settlement {
    fn from(w: WriteOff) -> Settlement {
        Settlement {
            kind: SettlementKind::WriteOff,
            amount: w.amount,
            date: w.date,
            account: w.account,
            tax_code: w.tax_code,
        }
    }
}

impl App {
    /// Applies a payment to an open item: books partner vs counter account and records the
    /// application, in one transaction.
    pub async fn apply_payment(
        &self,
        tenant_id: Uuid,
        invoice_id: Uuid,
        payment: Payment,
        actor: &Actor,
        idempotency: Option<Idempotent<Application>>,
    ) -> AppResult<Application> {
        self.settle(tenant_id, invoice_id, payment.into(), actor, idempotency)
            .await
    }

    /// Writes off (part of) an open item, with the VAT correction of its tax code when given.
    pub async fn write_off(
        &self,
        tenant_id: Uuid,
        invoice_id: Uuid,
        write_off: WriteOff,
        actor: &Actor,
        idempotency: Option<Idempotent<Application>>,
    ) -> AppResult<Application> {
        self.settle(tenant_id, invoice_id, write_off.into(), actor, idempotency)
            .await
    }

    pub async fn apply_payment_in_tx(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        invoice_id: Uuid,
        payment: Payment,
        actor: &Actor,
    ) -> AppResult<Application> {
        self.settle_in_tx(tx, tenant_id, invoice_id, &payment.into(), actor)
            .await
    }

    pub async fn write_off_in_tx(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        invoice_id: Uuid,
        write_off: WriteOff,
        actor: &Actor,
    ) -> AppResult<Application> {
        self.settle_in_tx(tx, tenant_id, invoice_id, &write_off.into(), actor)
            .await
    }

    /// Pays (part of) an open item on `direction`'s side, with a cash discount when given: one
    /// booking, the applications, and the invoice as it is afterwards, in one transaction.
    pub async fn pay_invoice(
        &self,
        tenant_id: Uuid,
        direction: Direction,
        invoice_id: Uuid,
        payment: InvoicePayment,
        actor: &Actor,
        idempotency: Option<Idempotent<Settled>>,
    ) -> AppResult<Settled> {
        self.in_transaction(async |tx| {
            let settled = self
                .pay_invoice_in_tx(tx, tenant_id, direction, invoice_id, &payment, actor)
                .await?;
            if let Some(idem) = &idempotency {
                store::idempotency::store_in_tx(tx, &idem.key, &(idem.render)(&settled)).await?;
            }
            Ok(settled)
        })
        .await
    }

    pub async fn pay_invoice_in_tx(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        direction: Direction,
        invoice_id: Uuid,
        p: &InvoicePayment,
        actor: &Actor,
    ) -> AppResult<Settled> {
        let info = self.store().tenant_info(tenant_id).await?;
        check_settlement_amount(p.amount, info.base_currency)?;
        let locked = rows::lock_invoice(tx, tenant_id, Some(direction), invoice_id)
            .await?
            .ok_or_else(|| AppError::not_found(format!("invoice {invoice_id}")))?;
        let applications = match p.discount {
            None => {
                let s = Settlement {
                    kind: SettlementKind::Payment,
                    amount: p.amount,
                    date: p.date,
                    account: p.account.clone(),
                    tax_code: None,
                };
                vec![
                    self.settle_locked(tx, tenant_id, invoice_id, Some(&locked), &s, actor, None)
                        .await?,
                ]
            }
            Some(discount) => {
                let lines = rows::load_rate_lines(tx, tenant_id, invoice_id).await?;
                let roles: Vec<(&str, &str)> = DISCOUNT_ROLES
                    .iter()
                    .filter_map(|r| info.role(r).map(|n| (*r, n)))
                    .collect();
                let decided = decide_discounted_payment(
                    &DiscountedPaymentRequest {
                        amount: p.amount,
                        discount,
                        date: p.date,
                        account: p.account.clone(),
                        discount_account: p.discount_account.clone(),
                    },
                    &DiscountContext {
                        payment_id: Uuid::now_v7(),
                        discount_id: Uuid::now_v7(),
                        base: info.base_currency,
                        invoice: Some(&locked),
                        invoice_id,
                        bank: info.role("bank"),
                        lines: &lines,
                        discount_roles: &roles,
                    },
                )?;
                let cmd = AppendCommand::Booking(decided.cmd.clone());
                let appended = match self.append_in_tx(tx, tenant_id, &cmd, actor).await {
                    Err(AppError::Booking(BookingError::UnknownAccount { account, .. })) => {
                        return Err(SettlementError::UnknownCounterAccount(account).into());
                    }
                    other => other?,
                };
                let mut written = Vec::with_capacity(2);
                for s in [&decided.payment, &decided.discount] {
                    written.push(
                        rows::insert_application(tx, tenant_id, s, appended.intent_id, actor)
                            .await?,
                    );
                }
                written
            }
        };
        let invoice = rows::read_invoice(tx, tenant_id, Some(direction), invoice_id).await?;
        self.emit_paid(tx, tenant_id, &[invoice_id]).await?;
        Ok(Settled {
            applications,
            invoice,
        })
    }

    /// Writes off (part of) an open item on `direction`'s side: by default everything open, on
    /// the chart's write-off account of the side, with the VAT correction when a tax code is
    /// named; the reason goes into the booking's description.
    pub async fn write_off_invoice(
        &self,
        tenant_id: Uuid,
        direction: Direction,
        invoice_id: Uuid,
        w: InvoiceWriteOff,
        actor: &Actor,
        idempotency: Option<Idempotent<Settled>>,
    ) -> AppResult<Settled> {
        let reason = w.reason.split_whitespace().collect::<Vec<_>>().join(" ");
        if reason.is_empty() || reason.chars().count() > MAX_REASON {
            return Err(AppError::invalid(
                "invalid_reason",
                format!("reason: say why, in 1 to {MAX_REASON} characters"),
                Some("reason"),
            ));
        }
        self.in_transaction(async |tx| {
            let locked = rows::lock_invoice(tx, tenant_id, Some(direction), invoice_id)
                .await?
                .ok_or_else(|| AppError::not_found(format!("invoice {invoice_id}")))?;
            let amount = match w.amount {
                Some(a) => a,
                None if locked.state.cancelled => {
                    return Err(SettlementError::Cancelled(invoice_id).into())
                }
                None if locked.state.remaining() <= Decimal::ZERO => {
                    return Err(SettlementError::NothingOpen(locked.invoice_number.clone()).into())
                }
                None => locked.state.remaining(),
            };
            let s = Settlement {
                kind: SettlementKind::WriteOff,
                amount,
                date: w.date,
                account: w.account.clone(),
                tax_code: w.tax_code.clone(),
            };
            let applied = self
                .settle_locked(
                    tx,
                    tenant_id,
                    invoice_id,
                    Some(&locked),
                    &s,
                    actor,
                    Some(&reason),
                )
                .await?;
            let invoice = rows::read_invoice(tx, tenant_id, Some(direction), invoice_id).await?;
            self.emit_paid(tx, tenant_id, &[invoice_id]).await?;
            let settled = Settled {
                applications: vec![applied],
                invoice,
            };
            if let Some(idem) = &idempotency {
                store::idempotency::store_in_tx(tx, &idem.key, &(idem.render)(&settled)).await?;
            }
            Ok(settled)
        })
        .await
    }

    async fn settle(
        &self,
        tenant_id: Uuid,
        invoice_id: Uuid,
        settlement: Settlement,
        actor: &Actor,
        idempotency: Option<Idempotent<Application>>,
    ) -> AppResult<Application> {
        self.in_transaction(async |tx| {
            let applied = self
                .settle_in_tx(tx, tenant_id, invoice_id, &settlement, actor)
                .await?;
            if let Some(idem) = &idempotency {
                store::idempotency::store_in_tx(tx, &idem.key, &(idem.render)(&applied)).await?;
            }
            Ok(applied)
        })
        .await
    }

    /// A payment or write-off inside the caller's transaction (a bank match records its own
    /// rows with it). Returns the application as written.
    pub async fn settle_in_tx(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        invoice_id: Uuid,
        s: &Settlement,
        actor: &Actor,
    ) -> AppResult<Application> {
        let applied = self
            .settle_locked(tx, tenant_id, invoice_id, None, s, actor, None)
            .await?;
        self.emit_paid(tx, tenant_id, &[invoice_id]).await?;
        Ok(applied)
    }

    /// A settlement of an invoice the caller has locked already (`locked`), or that is locked
    /// here (None); `reason` is added to the booking's description.
    #[allow(clippy::too_many_arguments)]
    async fn settle_locked(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        invoice_id: Uuid,
        locked: Option<&rows::LockedInvoice>,
        s: &Settlement,
        actor: &Actor,
        reason: Option<&str>,
    ) -> AppResult<Application> {
        let info = self.store().tenant_info(tenant_id).await?;
        check_settlement_amount(s.amount, info.base_currency)?;
        let locked = match locked {
            Some(l) => Some(l.clone()),
            None => rows::lock_invoice(tx, tenant_id, None, invoice_id).await?,
        };
        let tax_code = match &s.tax_code {
            Some(code) => rows::load_tax_codes(tx, tenant_id, std::slice::from_ref(code))
                .await?
                .remove(code),
            None => None,
        };
        let decided = decide_settlement(
            s,
            &SettleContext {
                application_id: Uuid::now_v7(),
                base: info.base_currency,
                invoice: locked.as_ref(),
                invoice_id,
                roles: SettlementRoles {
                    bank: info.role("bank"),
                    write_off_receivables: info.role("write_off_receivables"),
                    write_off_payables: info.role("write_off_payables"),
                },
                tax_code: tax_code.as_ref(),
            },
        )?;
        let mut booking = decided.cmd.clone();
        if let Some(reason) = reason {
            booking.description = format!("{}: {reason}", booking.description)
                .chars()
                .take(journal::booking::MAX_DESCRIPTION)
                .collect();
        }
        let cmd = AppendCommand::Booking(booking);
        let appended = match self.append_in_tx(tx, tenant_id, &cmd, actor).await {
            Err(AppError::Booking(BookingError::UnknownAccount { .. })) => {
                let account = decided.counter_account.clone();
                return Err(SettlementError::UnknownCounterAccount(account).into());
            }
            other => other?,
        };
        Ok(rows::insert_application(tx, tenant_id, &decided, appended.intent_id, actor).await?)
    }
}
