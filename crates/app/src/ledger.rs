//! Tenants, accounts, tax codes, documents and journal reads.

use crate::{App, AppResult};
pub use store::tenants::{Tenant, TenantInfo};
use std::sync::Arc;
use uuid::Uuid;

impl App {
    /// The tenant's settings (cached per process: they never change after creation).
    pub async fn tenant_info(&self, tenant_id: Uuid) -> AppResult<Arc<TenantInfo>> {
        Ok(self.store().tenant_info(tenant_id).await?)
    }

    pub async fn tenant(&self, tenant_id: Uuid) -> AppResult<Tenant> {
        Ok(self.tenant_info(tenant_id).await?.tenant.clone())
    }
}
