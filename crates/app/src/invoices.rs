//! Outgoing and incoming invoices: create (booked or linked to an existing booking), `PATCH`,
//! cancel (Storno), and the reads.
//!
//! Each write use case loads what its decision needs through `store::invoices` inside its
//! transaction, decides with `receivables` (`decide_invoice`, `decide_update`,
//! `decide_cancel`), books with `append_in_tx`, writes what was decided and returns it.

use crate::bookings::AppendCommand;
use crate::{App, AppError, AppResult};
use chrono::NaiveDate;
use journal::Actor;
use receivables::change::{decide_cancel, decide_update, intent_to_link, UpdateContext};
use receivables::create::{
    check_new_invoice, decide_invoice, default_account_role, invoice_number, line_accounts,
    partner_kind, CreateContext, InvoiceBookingPlan,
};
use receivables::{
    Cancel, CreateInvoiceError, Direction, InvoiceBookingError, InvoiceChange, LinkError,
    NewInvoice, UpdateError,
};
use store::idempotency::Idempotent;
use store::invoices::{self as rows, CreateQuery, InvoiceClash};
pub use store::invoices::{
    Application, Invoice, InvoiceFilter, InvoiceLine, OpenItem, OpenItemFilter,
};
use uuid::Uuid;

impl App {
    /// `POST /v1/outgoing-invoices`, `POST /v1/invoices`: creates the invoice and books it (or
    /// links the booking `intent_id` names) in one transaction; returns it as written.
    pub async fn create_invoice(
        &self,
        tenant_id: Uuid,
        new: NewInvoice,
        actor: &Actor,
        idempotency: Option<Idempotent<Invoice>>,
    ) -> AppResult<Invoice> {
        self.in_transaction(async |tx| {
            let invoice = self
                .create_invoice_in_tx(tx, tenant_id, &new, actor)
                .await?;
            if let Some(idem) = &idempotency {
                store::idempotency::store_in_tx(tx, &idem.key, &(idem.render)(&invoice)).await?;
            }
            Ok(invoice)
        })
        .await
    }

    pub async fn create_invoice_in_tx(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        new: &NewInvoice,
        actor: &Actor,
    ) -> AppResult<Invoice> {
        let info = self.store().tenant_info(tenant_id).await?;
        let base = info.base_currency;
        check_new_invoice(new, base)?;
        let partner =
            rows::load_partner(tx, tenant_id, partner_kind(new.direction), new.partner_id).await?;
        let chart_default = info.role(default_account_role(new.direction));
        let partner_default = partner.as_ref().and_then(|p| p.default_account.as_deref());
        let number = invoice_number(new);
        let facts = rows::load_create_facts(
            tx,
            tenant_id,
            &CreateQuery {
                direction: new.direction,
                partner_id: new.partner_id,
                invoice_number: &number,
                document_id: new.document_id,
                tax_codes: new
                    .lines
                    .iter()
                    .filter_map(|l| l.tax_code.clone())
                    .collect(),
                accounts: line_accounts(new, partner_default, chart_default)
                    .into_iter()
                    .flatten()
                    .collect(),
                intent_id: new.intent_id,
            },
        )
        .await?;
        let decided = decide_invoice(
            new,
            &CreateContext {
                invoice_id: Uuid::now_v7(),
                base,
                partner: partner.as_ref(),
                document_exists: facts.document_exists,
                existing_number: facts.existing_number,
                tax_codes: &facts.tax_codes,
                accounts: &facts.accounts,
                chart_default_account: chart_default,
                linked: facts.linked.as_ref(),
            },
        )?;
        let intent_id = match &decided.booking {
            InvoiceBookingPlan::Link(intent_id) => *intent_id,
            InvoiceBookingPlan::Book { cmd, origin } => {
                let cmd = AppendCommand::Booking(cmd.clone());
                match self.append_in_tx(tx, tenant_id, &cmd, actor).await {
                    Ok(appended) => appended.intent_id,
                    Err(AppError::Booking(b)) => {
                        let located = InvoiceBookingError::locate(b, origin, new.direction);
                        return Err(CreateInvoiceError::Booking(Box::new(located)).into());
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        match rows::insert_invoice(tx, tenant_id, &decided, intent_id, actor).await? {
            Ok(invoice) => {
                self.emit_invoice(tx, tenant_id, webhooks::EventType::InvoiceCreated, &invoice)
                    .await?;
                Ok(invoice)
            }
            // A lost race with a concurrent request: the same booking, or the same number.
            Err(InvoiceClash::Intent) => Err(CreateInvoiceError::Link(LinkError::AlreadyLinked {
                intent_id,
                invoice: None,
            })
            .into()),
            Err(InvoiceClash::Number) => Err(CreateInvoiceError::DuplicateNumber {
                direction: new.direction,
                number,
                existing: None,
            }
            .into()),
        }
    }

    /// `PATCH`: notes, due_date, or another booking once the current one is reversed. Each
    /// change is logged in `invoice_changes`. Returns the invoice after the change.
    pub async fn update_invoice(
        &self,
        tenant_id: Uuid,
        direction: Direction,
        id: Uuid,
        change: InvoiceChange,
        actor: &Actor,
    ) -> AppResult<Invoice> {
        self.in_transaction(async |tx| {
            self.update_invoice_in_tx(tx, tenant_id, direction, id, &change, actor)
                .await
        })
        .await
    }

    pub async fn update_invoice_in_tx(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        direction: Direction,
        id: Uuid,
        change: &InvoiceChange,
        actor: &Actor,
    ) -> AppResult<Invoice> {
        let info = self.store().tenant_info(tenant_id).await?;
        let locked = rows::lock_invoice(tx, tenant_id, Some(direction), id).await?;
        let linked = match locked.as_ref().and_then(|l| intent_to_link(change, l)) {
            Some(intent_id) => rows::load_linked_intent(tx, tenant_id, intent_id).await?,
            None => None,
        };
        let decided = decide_update(
            change,
            &UpdateContext {
                id,
                base: info.base_currency,
                invoice: locked.as_ref(),
                linked: linked.as_ref(),
            },
        )?;
        if !decided.changes.is_empty() {
            if let Err(InvoiceClash::Intent | InvoiceClash::Number) =
                rows::update_invoice(tx, tenant_id, &decided, actor).await?
            {
                return Err(UpdateError::Link(LinkError::AlreadyLinked {
                    intent_id: decided.intent_id,
                    invoice: None,
                })
                .into());
            }
        }
        Ok(rows::read_invoice(tx, tenant_id, Some(direction), id).await?)
    }

    /// `POST …/{id}/cancel`: reverses the invoice's booking. Refused while payments or
    /// write-offs are applied, or when already reversed. Returns the cancelled invoice.
    pub async fn cancel_invoice(
        &self,
        tenant_id: Uuid,
        direction: Direction,
        id: Uuid,
        cancel: &Cancel,
        actor: &Actor,
    ) -> AppResult<Invoice> {
        self.in_transaction(async |tx| {
            self.cancel_invoice_in_tx(tx, tenant_id, direction, id, cancel, actor)
                .await
        })
        .await
    }

    pub async fn cancel_invoice_in_tx(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        direction: Direction,
        id: Uuid,
        cancel: &Cancel,
        actor: &Actor,
    ) -> AppResult<Invoice> {
        let locked = rows::lock_invoice(tx, tenant_id, Some(direction), id).await?;
        let reversal = decide_cancel(id, locked.as_ref(), cancel)?;
        self.append_in_tx(tx, tenant_id, &AppendCommand::Reversal(reversal), actor)
            .await?;
        let invoice = rows::read_invoice(tx, tenant_id, Some(direction), id).await?;
        self.emit_invoice(
            tx,
            tenant_id,
            webhooks::EventType::InvoiceCancelled,
            &invoice,
        )
        .await?;
        Ok(invoice)
    }

    /// One invoice with its lines and applications. `direction` None finds either side.
    pub async fn get_invoice(
        &self,
        tenant_id: Uuid,
        direction: Option<Direction>,
        id: Uuid,
    ) -> AppResult<Invoice> {
        Ok(self.store().get_invoice(tenant_id, direction, id).await?)
    }

    /// Invoices of one side, newest first, with the total; statuses as on `today`.
    pub async fn list_invoices(
        &self,
        tenant_id: Uuid,
        direction: Direction,
        filter: &InvoiceFilter,
        today: NaiveDate,
    ) -> AppResult<(Vec<Invoice>, store::Total, Option<store::ListCursor>)> {
        Ok(self
            .store()
            .list_invoices(tenant_id, direction, filter, today)
            .await?)
    }

    /// Open items of one side, aged against `today`, with the total.
    pub async fn open_items(
        &self,
        tenant_id: Uuid,
        direction: Direction,
        filter: &OpenItemFilter,
        today: NaiveDate,
    ) -> AppResult<(Vec<OpenItem>, store::Total, Option<store::ListCursor>)> {
        Ok(self
            .store()
            .open_items(tenant_id, direction, filter, today)
            .await?)
    }
}
