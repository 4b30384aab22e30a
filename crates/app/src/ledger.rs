//! Tenants, accounts, tax codes, documents and the journal's reads.
//!
//! The rules of accounts and tax codes are `journal::master_data`'s; store loads and writes.

use crate::{App, AppResult};
use journal::master_data::{
    decide_account_name, decide_new_account, decide_new_tax_code, decide_tax_code_change,
    TaxCodeChange, TaxCodeDefinition,
};
use journal::{AccountType, Actor};
use std::sync::Arc;
pub use store::journal::RawEvent;
use uuid::Uuid;

pub use journal::master_data::NewAccount;
pub use store::accounts::{Account, AccountEntries};
pub use store::documents::Document;
pub use store::journal::{
    IntentDetail, JournalCursor, JournalEntry, JournalFilter, JournalPage, StoredEvent,
};
pub use store::tax_codes::TaxCodeRecord;
pub use store::tenants::{Tenant, TenantInfo};

pub use store::Total;

/// A page of a list and the size of the whole list (exact up to 10,000, see [`Total`]).
pub type Page<T> = (Vec<T>, Total);

impl App {
    /// The tenant's settings (cached per process: they never change after creation).
    pub async fn tenant_info(&self, tenant_id: Uuid) -> AppResult<Arc<TenantInfo>> {
        Ok(self.store().tenant_info(tenant_id).await?)
    }

    pub async fn tenant(&self, tenant_id: Uuid) -> AppResult<Tenant> {
        Ok(self.tenant_info(tenant_id).await?.tenant.clone())
    }

    // Accounts

    pub async fn list_accounts(
        &self,
        tenant_id: Uuid,
        limit: i64,
        offset: i64,
        after: Option<&store::ListCursor>,
    ) -> AppResult<(Vec<Account>, Total, Option<store::ListCursor>)> {
        Ok(self
            .store()
            .list_accounts(tenant_id, limit, offset, after)
            .await?)
    }

    pub async fn search_accounts(
        &self,
        tenant_id: Uuid,
        q: &str,
        account_type: Option<AccountType>,
        limit: i64,
    ) -> AppResult<Vec<Account>> {
        Ok(self
            .store()
            .search_accounts(tenant_id, q, account_type, limit)
            .await?)
    }

    pub async fn get_account(&self, tenant_id: Uuid, number: &str) -> AppResult<Account> {
        Ok(self.store().get_account(tenant_id, number).await?)
    }

    /// `POST /v1/accounts`.
    pub async fn create_account(&self, tenant_id: Uuid, new: NewAccount) -> AppResult<Account> {
        let new = decide_new_account(new)?;
        Ok(self.store().create_account(tenant_id, &new).await?)
    }

    /// `PATCH /v1/accounts/{number}`: rename and/or (de)activate.
    pub async fn update_account(
        &self,
        tenant_id: Uuid,
        number: &str,
        name: Option<&str>,
        is_active: Option<bool>,
    ) -> AppResult<Account> {
        let name = name.map(decide_account_name).transpose()?;
        Ok(self
            .store()
            .update_account(tenant_id, number, name.as_deref(), is_active)
            .await?)
    }

    /// The entries of an account in a date range (a page) and the balance of the whole range.
    pub async fn account_entries(
        &self,
        tenant_id: Uuid,
        number: &str,
        range: (Option<chrono::NaiveDate>, Option<chrono::NaiveDate>),
        limit: i64,
        offset: i64,
        after: Option<JournalCursor>,
    ) -> AppResult<AccountEntries> {
        Ok(self
            .store()
            .account_entries(tenant_id, number, range.0, range.1, limit, offset, after)
            .await?)
    }

    // Tax codes

    pub async fn list_tax_codes(
        &self,
        tenant_id: Uuid,
        include_inactive: bool,
    ) -> AppResult<Vec<TaxCodeRecord>> {
        Ok(self
            .store()
            .list_tax_codes(tenant_id, include_inactive)
            .await?)
    }

    pub async fn get_tax_code(&self, tenant_id: Uuid, code: &str) -> AppResult<TaxCodeRecord> {
        Ok(self.store().get_tax_code(tenant_id, code).await?)
    }

    /// `POST /v1/tax-codes`.
    pub async fn create_tax_code(
        &self,
        tenant_id: Uuid,
        new: TaxCodeDefinition,
    ) -> AppResult<TaxCodeRecord> {
        let named: Vec<&str> = new.accounts().into_iter().map(|(_, a)| a).collect();
        let accounts = self.store().account_refs(tenant_id, &named).await?;
        let new = decide_new_tax_code(new.clone(), &accounts)?;
        Ok(self.store().create_tax_code(tenant_id, &new).await?)
    }

    /// `PATCH /v1/tax-codes/{code}` and `DELETE` (deactivation). Bookings already made keep
    /// the rate and accounts they were made with.
    pub async fn update_tax_code(
        &self,
        tenant_id: Uuid,
        code: &str,
        change: TaxCodeChange,
    ) -> AppResult<TaxCodeRecord> {
        self.in_transaction(async |tx| {
            self.update_tax_code_in_tx(tx, tenant_id, code, &change)
                .await
        })
        .await
    }

    pub async fn update_tax_code_in_tx(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        code: &str,
        change: &TaxCodeChange,
    ) -> AppResult<TaxCodeRecord> {
        let current = store::tax_codes::lock_tax_code(tx, tenant_id, code).await?;
        let named: Vec<&str> = change.set_accounts().into_iter().map(|(_, a)| a).collect();
        let accounts = store::accounts::account_refs(&**tx, tenant_id, &named).await?;
        let next = decide_tax_code_change(&current.definition(), change, &accounts)?;
        Ok(store::tax_codes::update_tax_code(tx, tenant_id, &next).await?)
    }

    // Documents

    /// Stores an uploaded file (deduplicated by its blake3 hash).
    pub async fn store_document(
        &self,
        tenant_id: Uuid,
        content: &[u8],
        mime_type: &str,
        original_name: &str,
        actor: &Actor,
    ) -> AppResult<Document> {
        Ok(self
            .store()
            .store_document(tenant_id, content, mime_type, original_name, actor)
            .await?)
    }

    pub async fn get_document(&self, tenant_id: Uuid, id: Uuid) -> AppResult<(Document, Vec<u8>)> {
        Ok(self.store().get_document(tenant_id, id).await?)
    }

    // The journal

    pub async fn list_journal(
        &self,
        tenant_id: Uuid,
        filter: &JournalFilter,
    ) -> AppResult<JournalPage> {
        Ok(self.store().list_journal(tenant_id, filter).await?)
    }

    pub async fn get_intent(&self, tenant_id: Uuid, intent_id: Uuid) -> AppResult<IntentDetail> {
        Ok(self.store().get_intent(tenant_id, intent_id).await?)
    }

    /// Journal events from `from_seq` on, in order, for the audit stream.
    pub async fn events(
        &self,
        tenant_id: Uuid,
        from_seq: i64,
        limit: i64,
    ) -> AppResult<Vec<StoredEvent>> {
        Ok(self.store().events(tenant_id, from_seq, limit).await?)
    }

    /// Events with their payload as JSON text (`kontor verify`).
    pub async fn events_raw(
        &self,
        tenant_id: Uuid,
        from_seq: i64,
        limit: i64,
    ) -> AppResult<Vec<RawEvent>> {
        Ok(self.store().events_raw(tenant_id, from_seq, limit).await?)
    }
}
