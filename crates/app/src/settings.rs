//! Tenant settings (`GET`/`PATCH /v1/settings`). The rule of a change is
//! `reports::decide_settings_change`; the settings are read from the database on every
//! request. After a change, this process drops its copy of the tenant's write-path facts; other
//! replicas reload theirs within `store::tenants::TENANT_CACHE_TTL`.

use crate::{App, AppError, AppResult};
use reports::{decide_settings_change, Settings, SettingsChange, VatMethod};
use store::settings::SettingsRecord;
use uuid::Uuid;

pub use store::settings::SettingsRecord as TenantSettings;

fn to_settings(r: &SettingsRecord) -> AppResult<Settings> {
    Ok(Settings {
        datev_consultant_number: r.datev_consultant_number.map(|n| n as u32),
        datev_client_number: r.datev_client_number.map(|n| n as u32),
        account_length: r.account_length as u8,
        vat_method: VatMethod::parse(&r.vat_method).ok_or_else(|| {
            AppError::Store(store::StoreError::Internal(format!(
                "stored vat_method {:?}",
                r.vat_method
            )))
        })?,
        fiscal_year_start_month: r.fiscal_year_start_month as u32,
        chart: r.chart.clone(),
        base_currency: r.base_currency.clone(),
    })
}

impl App {
    /// The settings as they are now (not cached).
    pub async fn settings(&self, tenant_id: Uuid) -> AppResult<TenantSettings> {
        Ok(self.store().settings(tenant_id).await?)
    }

    /// The settings as a report reads them.
    pub(crate) async fn report_settings(&self, tenant_id: Uuid) -> AppResult<Settings> {
        to_settings(&self.store().settings(tenant_id).await?)
    }

    /// `PATCH /v1/settings`.
    pub async fn update_settings(
        &self,
        tenant_id: Uuid,
        change: SettingsChange,
    ) -> AppResult<TenantSettings> {
        let written = self
            .in_transaction(async |tx| self.update_settings_in_tx(tx, tenant_id, &change).await)
            .await?;
        self.store().forget_tenant(tenant_id);
        Ok(written)
    }

    /// Locks the journal head (nothing can be booked meanwhile), decides, replaces the chart when
    /// it changes, and writes.
    pub async fn update_settings_in_tx(
        &self,
        tx: &store::Transaction<'_>,
        tenant_id: Uuid,
        change: &SettingsChange,
    ) -> AppResult<TenantSettings> {
        let current = store::settings::lock_settings(tx, tenant_id).await?;
        let now = to_settings(&current)?;
        let next = decide_settings_change(&now, change, current.booked)?;
        if next.chart != now.chart {
            let chart = store::tenants::chart(&next.chart).ok_or_else(|| {
                AppError::invalid("unknown_chart", "unknown chart", Some("chart"))
            })?;
            store::settings::replace_chart(tx, tenant_id, &chart).await?;
        }
        let record = SettingsRecord {
            datev_consultant_number: next.datev_consultant_number.map(|n| n as i32),
            datev_client_number: next.datev_client_number.map(|n| n as i32),
            account_length: i16::from(next.account_length),
            vat_method: next.vat_method.as_str().to_string(),
            fiscal_year_start_month: next.fiscal_year_start_month as i16,
            chart: next.chart,
            base_currency: next.base_currency,
            ..current
        };
        Ok(store::settings::write_settings(tx, tenant_id, &record).await?)
    }
}
