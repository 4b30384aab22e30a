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
use receivables::{decide_settlement, Settlement, SettlementError};
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
        let info = self.store().tenant_info(tenant_id).await?;
        check_settlement_amount(s.amount, info.base_currency)?;
        let locked = rows::lock_invoice(tx, tenant_id, None, invoice_id).await?;
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
        let cmd = AppendCommand::Booking(decided.cmd.clone());
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
