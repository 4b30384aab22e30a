//! Tenant settings (`GET`/`PATCH /v1/settings`): the DATEV numbers, the Sachkontenlänge, the VAT
//! method, and the fiscal calendar, chart and base currency. Read from the database on every
//! request, never cached: a change shows on every replica at once (the write path's copy of
//! the calendar and currency is cached for `tenants::TENANT_CACHE_TTL`).

use crate::{Store, StoreError, Transaction};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The settings as stored, and whether anything is booked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsRecord {
    pub datev_consultant_number: Option<i32>,
    pub datev_client_number: Option<i32>,
    pub account_length: i16,
    pub vat_method: String,
    pub fiscal_year_start_month: i16,
    pub chart: String,
    pub base_currency: String,
    /// The journal has at least one event.
    pub booked: bool,
    pub updated_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT t.datev_consultant_number, t.datev_client_number, t.account_length, t.vat_method,
        t.fiscal_year_start_month, t.chart, t.base_currency, t.settings_updated_at, h.last_seq > 0 AS booked
   FROM tenants t JOIN journal_heads h ON h.tenant_id = t.id
  WHERE t.id = $1";

fn from_row(r: &tokio_postgres::Row) -> SettingsRecord {
    SettingsRecord {
        datev_consultant_number: r.get("datev_consultant_number"),
        datev_client_number: r.get("datev_client_number"),
        account_length: r.get("account_length"),
        vat_method: r.get("vat_method"),
        fiscal_year_start_month: r.get("fiscal_year_start_month"),
        chart: r.get("chart"),
        base_currency: r.get("base_currency"),
        booked: r.get("booked"),
        updated_at: r.get("settings_updated_at"),
    }
}

impl Store {
    pub async fn settings(&self, tenant_id: Uuid) -> Result<SettingsRecord, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(SELECT, &[&tenant_id])
            .await?
            .ok_or_else(|| StoreError::not_found("tenant"))?;
        Ok(from_row(&row))
    }
}

/// The settings, with the tenant's journal head locked first (as appends lock it): while the
/// transaction lasts nothing can be booked, so "nothing is booked" stays true until it commits.
pub async fn lock_settings(
    tx: &Transaction<'_>,
    tenant_id: Uuid,
) -> Result<SettingsRecord, StoreError> {
    crate::periods::lock_head(tx, tenant_id).await?;
    let row = tx
        .query_opt(&format!("{SELECT} FOR UPDATE OF t"), &[&tenant_id])
        .await?
        .ok_or_else(|| StoreError::not_found("tenant"))?;
    Ok(from_row(&row))
}

/// Writes decided settings; returns them as stored.
pub async fn write_settings(
    tx: &Transaction<'_>,
    tenant_id: Uuid,
    s: &SettingsRecord,
) -> Result<SettingsRecord, StoreError> {
    tx.execute(
        "UPDATE tenants SET datev_consultant_number = $2, datev_client_number = $3, account_length = $4,
                vat_method = $5, fiscal_year_start_month = $6, chart = $7, base_currency = $8,
                settings_version = settings_version + 1, settings_updated_at = now()
          WHERE id = $1",
        &[
            &tenant_id,
            &s.datev_consultant_number,
            &s.datev_client_number,
            &s.account_length,
            &s.vat_method,
            &s.fiscal_year_start_month,
            &s.chart,
            &s.base_currency,
        ],
    )
    .await?;
    let row = tx.query_one(SELECT, &[&tenant_id]).await?;
    Ok(from_row(&row))
}

/// Replaces the chart of a tenant that has booked nothing: its system accounts, roles and tax
/// codes go, the new chart's come. Anything that refers to an old account (a partner's personal
/// account, an account created by hand and used since) or an account created by hand under a
/// number of the new chart stops it with 409 `chart_in_use`; the caller's transaction is then
/// rolled back.
pub async fn replace_chart(
    tx: &Transaction<'_>,
    tenant_id: Uuid,
    chart: &journal::chart::Chart,
) -> Result<(), StoreError> {
    let in_use = |e: tokio_postgres::Error| {
        let code = e.code();
        if code == Some(&tokio_postgres::error::SqlState::FOREIGN_KEY_VIOLATION)
            || code == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
        {
            StoreError::conflict(
                "chart_in_use",
                "the chart cannot change: partners, tax codes or other rows refer to its accounts",
            )
        } else {
            StoreError::Db(e)
        }
    };
    let deleted = async {
        tx.execute(
            "DELETE FROM account_roles WHERE tenant_id = $1",
            &[&tenant_id],
        )
        .await?;
        tx.execute("DELETE FROM tax_codes WHERE tenant_id = $1", &[&tenant_id])
            .await?;
        tx.execute(
            "DELETE FROM accounts WHERE tenant_id = $1 AND is_system",
            &[&tenant_id],
        )
        .await
    }
    .await;
    deleted.map_err(in_use)?;
    crate::tenants::seed_chart(tx, tenant_id, chart)
        .await
        .map_err(|e| match e {
            StoreError::Db(e) => in_use(e),
            other => other,
        })
}
