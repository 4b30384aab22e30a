//! Customers and vendors (partners): list, read, create with a personal account, update,
//! deactivate.
//!
//! The rules are `receivables`': master data (`validate_partner`, `check_default_account`)
//! and the personal-account number (`NumberRange::of`, `next_partner_number`,
//! `lowest_free_number`). `store::partners` takes the per-tenant number lock, loads the
//! highest number in use (and the lowest free one once the top is taken) and writes.

use crate::{App, AppError, AppResult};
use receivables::{
    check_default_account, lowest_free_number, next_partner_number, validate_partner, NextNumber,
    NumberRange, PartnerInput, PartnerKind, ValidPartner,
};
use store::idempotency::{store_in_tx, Idempotent};
use store::partners::{self as db, NewPartner};
pub use store::partners::{Partner, PartnerFilter};
use store::Transaction;
use uuid::Uuid;

fn not_found(kind: PartnerKind, id: Uuid) -> AppError {
    AppError::not_found(format!("{} {id}", kind.as_str()))
}

impl App {
    /// One page of a kind's partners, and how many match the filter.
    pub async fn list_partners(
        &self,
        tenant_id: Uuid,
        kind: PartnerKind,
        filter: &PartnerFilter,
    ) -> AppResult<(Vec<Partner>, store::Total, Option<store::ListCursor>)> {
        Ok(self.store().list_partners(tenant_id, kind, filter).await?)
    }

    pub async fn get_partner(
        &self,
        tenant_id: Uuid,
        kind: PartnerKind,
        id: Uuid,
    ) -> AppResult<Partner> {
        self.store()
            .get_partner(tenant_id, kind, id)
            .await?
            .ok_or_else(|| not_found(kind, id))
    }

    /// `POST /v1/customers`, `POST /v1/vendors`: the partner and its personal account (the
    /// next number of the chart's debtor or creditor range), and the `Idempotency-Key` answer,
    /// in one transaction.
    pub async fn create_partner(
        &self,
        tenant_id: Uuid,
        kind: PartnerKind,
        input: PartnerInput,
        idempotency: Option<Idempotent<Partner>>,
    ) -> AppResult<Partner> {
        self.in_transaction(async |tx| {
            let partner = self
                .create_partner_in_tx(tx, tenant_id, kind, input)
                .await?;
            if let Some(i) = &idempotency {
                store_in_tx(tx, &i.key, &(i.render)(&partner)).await?;
            }
            Ok(partner)
        })
        .await
    }

    pub async fn create_partner_in_tx(
        &self,
        tx: &Transaction<'_>,
        tenant_id: Uuid,
        kind: PartnerKind,
        input: PartnerInput,
    ) -> AppResult<Partner> {
        let data = validate_partner(input)?;
        let info = self.tenant_info(tenant_id).await?;
        let collective = info.role(kind.collective_role()).ok_or_else(|| {
            store::StoreError::Internal(format!(
                "the chart has no {} account",
                kind.collective_role()
            ))
        })?;
        let chart = store::tenants::chart(&info.tenant.chart);
        let range = NumberRange::of(kind, chart.as_ref());
        require_default_account(tx, tenant_id, &data).await?;
        db::lock_numbers(tx, tenant_id).await?;
        let highest = db::highest_number(tx, tenant_id, &range).await?;
        let number = match next_partner_number(&range, highest.as_deref()) {
            NextNumber::Take(n) => n,
            NextNumber::LowestFree => {
                let free = db::lowest_free_number(tx, tenant_id, &range).await?;
                lowest_free_number(&range, free)?
            }
        };
        let new = NewPartner {
            id: Uuid::now_v7(),
            kind,
            account_number: &number,
            collective_account: collective,
            data: &data,
        };
        let partner = db::insert_partner(tx, tenant_id, &new).await?;
        emit_partner(tx, tenant_id, &partner, true).await?;
        Ok(partner)
    }

    /// `PUT`: replaces the master data (absent fields become empty); the personal account
    /// keeps its number and takes the new name. `is_active` None leaves it as it is.
    pub async fn update_partner(
        &self,
        tenant_id: Uuid,
        kind: PartnerKind,
        id: Uuid,
        input: PartnerInput,
        is_active: Option<bool>,
    ) -> AppResult<Partner> {
        self.in_transaction(async |tx| {
            self.update_partner_in_tx(tx, tenant_id, kind, id, input, is_active)
                .await
        })
        .await
    }

    pub async fn update_partner_in_tx(
        &self,
        tx: &Transaction<'_>,
        tenant_id: Uuid,
        kind: PartnerKind,
        id: Uuid,
        input: PartnerInput,
        is_active: Option<bool>,
    ) -> AppResult<Partner> {
        let data = validate_partner(input)?;
        require_default_account(tx, tenant_id, &data).await?;
        let partner = db::update_partner(tx, tenant_id, kind, id, &data, is_active)
            .await?
            .ok_or_else(|| not_found(kind, id))?;
        emit_partner(tx, tenant_id, &partner, false).await?;
        Ok(partner)
    }

    /// `DELETE`: deactivates the partner. No new invoices; open items can still be paid, and
    /// its history and personal account stay.
    pub async fn deactivate_partner(
        &self,
        tenant_id: Uuid,
        kind: PartnerKind,
        id: Uuid,
    ) -> AppResult<Partner> {
        self.in_transaction(async |tx| self.deactivate_partner_in_tx(tx, tenant_id, kind, id).await)
            .await
    }

    pub async fn deactivate_partner_in_tx(
        &self,
        tx: &Transaction<'_>,
        tenant_id: Uuid,
        kind: PartnerKind,
        id: Uuid,
    ) -> AppResult<Partner> {
        let partner = db::deactivate_partner(tx, tenant_id, kind, id)
            .await?
            .ok_or_else(|| not_found(kind, id))?;
        emit_partner(tx, tenant_id, &partner, false).await?;
        Ok(partner)
    }
}

/// The default account, if the partner names one, must exist and be active.
async fn require_default_account(
    tx: &Transaction<'_>,
    tenant_id: Uuid,
    data: &ValidPartner,
) -> AppResult<()> {
    if let Some(number) = &data.default_account {
        let active = db::account_is_active(tx, tenant_id, number).await?;
        check_default_account(number, active)?;
    }
    Ok(())
}

/// customer.created / updated, vendor.created / updated (payload version 1): the master data
/// as written.
async fn emit_partner(
    tx: &Transaction<'_>,
    tenant_id: Uuid,
    p: &Partner,
    created: bool,
) -> AppResult<()> {
    use webhooks::EventType::*;
    let event = match (p.kind, created) {
        (PartnerKind::Customer, true) => CustomerCreated,
        (PartnerKind::Customer, false) => CustomerUpdated,
        (PartnerKind::Vendor, true) => VendorCreated,
        (PartnerKind::Vendor, false) => VendorUpdated,
    };
    let data = serde_json::json!({
        "id": p.id,
        "kind": p.kind.as_str(),
        "account_number": p.account_number,
        "name": p.name,
        "tax_id": p.tax_id,
        "vat_id": p.vat_id,
        "iban": p.iban,
        "bic": p.bic,
        "address": p.address,
        "default_account": p.default_account,
        "is_active": p.is_active,
        "updated_at": crate::webhooks::rfc3339(p.updated_at),
    });
    crate::webhooks::emit(tx, tenant_id, event, data).await
}
