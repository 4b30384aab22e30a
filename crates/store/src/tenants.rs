//! Tenants: one company's books, created with a chart of accounts and its tax codes.

use crate::{Store, StoreError};
use chrono::{DateTime, Utc};
use journal::chart::Chart;
use journal::{Currency, FiscalCalendar};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use uuid::Uuid;

pub const SKR03: &str = include_str!("../../../fixtures/charts/skr03.json");
pub const SKR04: &str = include_str!("../../../fixtures/charts/skr04.json");

pub fn chart(name: &str) -> Option<Chart> {
    // Parsed once per process: reports and partner creation ask for it on every request.
    static CHARTS: std::sync::LazyLock<[Chart; 2]> = std::sync::LazyLock::new(|| {
        [SKR03, SKR04]
            .map(|text| Chart::parse(text).expect("charts in fixtures/charts are checked by tests"))
    });
    match name {
        "skr03" => Some(CHARTS[0].clone()),
        "skr04" => Some(CHARTS[1].clone()),
        _ => None,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Tenant {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub chart: String,
    pub base_currency: String,
    pub fiscal_year_start_month: i16,
    pub created_at: DateTime<Utc>,
}

/// What the write path needs to know about a tenant. Its calendar, currency and chart can change
/// only while nothing is booked (`PATCH /v1/settings`): it is cached per process once the
/// tenant has booked, for [`TENANT_CACHE_TTL`] (role accounts may still change).
#[derive(Debug, Clone)]
pub struct TenantInfo {
    pub tenant: Tenant,
    pub base_currency: Currency,
    pub calendar: FiscalCalendar,
    pub roles: HashMap<String, String>,
}

impl TenantInfo {
    pub fn id(&self) -> Uuid {
        self.tenant.id
    }
    pub fn role(&self, role: &str) -> Option<&str> {
        self.roles.get(role).map(String::as_str)
    }
}

/// How long a replica keeps its copy of a tenant's facts.
pub const TENANT_CACHE_TTL: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct TenantCache(RwLock<HashMap<Uuid, (Arc<TenantInfo>, Instant)>>);

#[derive(Debug, Clone)]
pub struct NewTenant {
    pub slug: String,
    pub name: String,
    pub chart: String,
    pub fiscal_year_start_month: u32,
    pub currency: String,
}

fn tenant_from_row(row: &tokio_postgres::Row) -> Tenant {
    Tenant {
        id: row.get("id"),
        slug: row.get("slug"),
        name: row.get("name"),
        chart: row.get("chart"),
        base_currency: row.get("base_currency"),
        fiscal_year_start_month: row.get("fiscal_year_start_month"),
        created_at: row.get("created_at"),
    }
}

const TENANT_COLUMNS: &str =
    "id, slug, name, chart, base_currency, fiscal_year_start_month, created_at";

impl Store {
    /// Creates a tenant with its chart's accounts, roles and tax codes and its journal head.
    pub async fn create_tenant(&self, new: NewTenant) -> Result<Tenant, StoreError> {
        // The application checked the slug, name, month and currency (`app::identity`).
        let chart = chart(&new.chart).ok_or_else(|| {
            StoreError::invalid(
                "unknown_chart",
                format!("unknown chart {:?} (skr03 or skr04)", new.chart),
                Some("chart"),
            )
        })?;

        let id = Uuid::now_v7();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let row = tx
            .query_opt(
                &format!(
                    "INSERT INTO tenants (id, slug, name, chart, base_currency, fiscal_year_start_month)
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (slug) DO NOTHING
                     RETURNING {TENANT_COLUMNS}"
                ),
                &[
                    &id,
                    &new.slug,
                    &new.name,
                    &new.chart,
                    &new.currency,
                    &(new.fiscal_year_start_month as i16),
                ],
            )
            .await?
            .ok_or_else(|| StoreError::conflict("slug_taken", format!("a tenant with slug {:?} exists", new.slug)))?;
        tx.execute("INSERT INTO journal_heads (tenant_id) VALUES ($1)", &[&id])
            .await?;

        seed_chart(&tx, id, &chart).await?;
        tx.commit().await?;
        Ok(tenant_from_row(&row))
    }

    pub async fn tenant_by_slug(&self, slug: &str) -> Result<Tenant, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE slug = $1"),
                &[&slug],
            )
            .await?
            .ok_or_else(|| StoreError::not_found(format!("tenant {slug}")))?;
        Ok(tenant_from_row(&row))
    }

    /// The write-path view of a tenant, cached for [`TENANT_CACHE_TTL`].
    pub async fn tenant_info(&self, tenant_id: Uuid) -> Result<Arc<TenantInfo>, StoreError> {
        if let Some((info, at)) = self.tenants.0.read().expect("tenant cache").get(&tenant_id) {
            if at.elapsed() < TENANT_CACHE_TTL {
                return Ok(info.clone());
            }
        }
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {TENANT_COLUMNS},
                            EXISTS (SELECT 1 FROM journal_heads h WHERE h.tenant_id = tenants.id AND h.last_seq > 0) AS booked
                       FROM tenants WHERE id = $1"
                ),
                &[&tenant_id],
            )
            .await?
            .ok_or_else(|| StoreError::not_found("tenant"))?;
        let tenant = tenant_from_row(&row);
        // Until the first booking the calendar, chart and currency may still change
        // (`PATCH /v1/settings`): such a tenant's facts are read afresh every time.
        let booked: bool = row.get("booked");
        let roles = client
            .query(
                "SELECT role, number FROM account_roles WHERE tenant_id = $1",
                &[&tenant_id],
            )
            .await?
            .into_iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1)))
            .collect();
        let info = Arc::new(TenantInfo {
            base_currency: Currency::from_code(&tenant.base_currency)
                .map_err(|e| StoreError::Internal(e.to_string()))?,
            calendar: FiscalCalendar::new(tenant.fiscal_year_start_month as u32)
                .ok_or_else(|| StoreError::Internal("bad fiscal year start".into()))?,
            tenant,
            roles,
        });
        if !booked {
            return Ok(info);
        }
        self.tenants
            .0
            .write()
            .expect("tenant cache")
            .insert(tenant_id, (info.clone(), Instant::now()));
        Ok(info)
    }

    /// Drops this process's copy of a tenant's facts (after its settings changed here).
    pub fn forget_tenant(&self, tenant_id: Uuid) {
        self.tenants
            .0
            .write()
            .expect("tenant cache")
            .remove(&tenant_id);
    }
}

impl Store {
    /// Every tenant's id and slug (or the one with `slug`), ordered by slug.
    pub async fn tenant_slugs(
        &self,
        slug: Option<&str>,
    ) -> Result<Vec<(Uuid, String)>, StoreError> {
        let client = self.client().await?;
        Ok(client
            .query(
                "SELECT id, slug FROM tenants WHERE $1::text IS NULL OR slug = $1 ORDER BY slug",
                &[&slug],
            )
            .await?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }
}

/// Inserts a chart's accounts, roles and tax codes for a tenant.
pub(crate) async fn seed_chart(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    chart: &Chart,
) -> Result<(), StoreError> {
    let numbers: Vec<&str> = chart.accounts.iter().map(|a| a.number.as_str()).collect();
    let names: Vec<&str> = chart.accounts.iter().map(|a| a.name.as_str()).collect();
    let types: Vec<&str> = chart
        .accounts
        .iter()
        .map(|a| a.account_type.as_str())
        .collect();
    let categories: Vec<&str> = chart.accounts.iter().map(|a| a.category.as_str()).collect();
    let groups: Vec<&str> = chart
        .accounts
        .iter()
        .map(|a| a.report_group.as_str())
        .collect();
    let automatic: Vec<bool> = chart.accounts.iter().map(|a| a.datev_automatic).collect();
    tx.execute(
            "INSERT INTO accounts (tenant_id, number, name, type, category, report_group, datev_automatic, is_system)
             SELECT $1, * , true FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bool[])",
            &[&tenant_id, &numbers, &names, &types, &categories, &groups, &automatic],
        )
        .await?;
    for (role, value) in &chart.roles {
        if let Some(number) = value.as_str() {
            tx.execute(
                "INSERT INTO account_roles (tenant_id, role, number) VALUES ($1, $2, $3)",
                &[&tenant_id, role, &number],
            )
            .await?;
        }
    }
    for tc in &chart.tax_codes {
        tx.execute(
                "INSERT INTO tax_codes (tenant_id, code, label, description, rate, vat_account, self_assess_account, is_system,
                                        vat_side, base_kennzahl, tax_kennzahl, input_tax_kennzahl, datev_bu_key)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, true, $8, $9, $10, $11, $12)",
                &[&tenant_id, &tc.code, &tc.label, &tc.description, &tc.rate, &tc.vat_account, &tc.self_assess_account,
                  &tc.vat_side, &tc.base_kennzahl, &tc.tax_kennzahl, &tc.input_tax_kennzahl, &tc.datev_bu_key],
            )
            .await?;
    }
    Ok(())
}
