//! Tax codes of a tenant: seeded from the chart, editable, deactivated rather than deleted.

use crate::{Store, StoreError};
use journal::master_data::TaxCodeDefinition;
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize)]
pub struct TaxCodeRecord {
    pub code: String,
    pub label: String,
    pub description: String,
    pub rate: Decimal,
    pub vat_account: Option<String>,
    pub self_assess_account: Option<String>,
    pub is_system: bool,
    pub is_active: bool,
    /// The VAT-return and DATEV facts (migration 0012).
    pub facts: TaxCodeFacts,
}

/// What the VAT return and the DATEV export know of a tax code: the side of the return, its
/// UStVA Kennzahlen and its DATEV BU-Schlüssel. Each may be unset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TaxCodeFacts {
    /// `sales` or `purchase`.
    pub vat_side: Option<String>,
    pub base_kennzahl: Option<String>,
    pub tax_kennzahl: Option<String>,
    pub input_tax_kennzahl: Option<String>,
    pub datev_bu_key: Option<String>,
}

const COLUMNS: &str =
    "code, label, description, rate, vat_account, self_assess_account, is_system, is_active,
     vat_side, base_kennzahl, tax_kennzahl, input_tax_kennzahl, datev_bu_key";

fn from_row(row: &tokio_postgres::Row) -> TaxCodeRecord {
    TaxCodeRecord {
        code: row.get("code"),
        label: row.get("label"),
        description: row.get("description"),
        rate: row.get("rate"),
        vat_account: row.get("vat_account"),
        self_assess_account: row.get("self_assess_account"),
        is_system: row.get("is_system"),
        is_active: row.get("is_active"),
        facts: TaxCodeFacts {
            vat_side: row.get("vat_side"),
            base_kennzahl: row.get("base_kennzahl"),
            tax_kennzahl: row.get("tax_kennzahl"),
            input_tax_kennzahl: row.get("input_tax_kennzahl"),
            datev_bu_key: row.get("datev_bu_key"),
        },
    }
}

impl TaxCodeRecord {
    /// The rule-relevant part, for `journal::master_data`.
    pub fn definition(&self) -> TaxCodeDefinition {
        TaxCodeDefinition {
            code: self.code.clone(),
            label: self.label.clone(),
            description: self.description.clone(),
            rate: self.rate,
            vat_account: self.vat_account.clone(),
            self_assess_account: self.self_assess_account.clone(),
            is_active: self.is_active,
        }
    }
}

impl Store {
    pub async fn list_tax_codes(
        &self,
        tenant_id: Uuid,
        include_inactive: bool,
    ) -> Result<Vec<TaxCodeRecord>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!("SELECT {COLUMNS} FROM tax_codes WHERE tenant_id = $1 AND (is_active OR $2) ORDER BY code"),
                &[&tenant_id, &include_inactive],
            )
            .await?;
        Ok(rows.iter().map(from_row).collect())
    }

    pub async fn get_tax_code(
        &self,
        tenant_id: Uuid,
        code: &str,
    ) -> Result<TaxCodeRecord, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {COLUMNS} FROM tax_codes WHERE tenant_id = $1 AND code = $2"),
                &[&tenant_id, &code],
            )
            .await?
            .ok_or_else(|| StoreError::not_found(format!("tax code {code}")))?;
        Ok(from_row(&row))
    }

    /// Inserts a tax code decided by `journal::master_data::decide_new_tax_code`.
    pub async fn create_tax_code(
        &self,
        tenant_id: Uuid,
        d: &TaxCodeDefinition,
    ) -> Result<TaxCodeRecord, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "INSERT INTO tax_codes (tenant_id, code, label, description, rate, vat_account, self_assess_account, is_active)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (tenant_id, code) DO NOTHING RETURNING {COLUMNS}"
                ),
                &[
                    &tenant_id,
                    &d.code,
                    &d.label,
                    &d.description,
                    &d.rate,
                    &d.vat_account,
                    &d.self_assess_account,
                    &d.is_active,
                ],
            )
            .await?
            .ok_or_else(|| {
                StoreError::conflict(
                    "tax_code_exists",
                    format!("tax code {} already exists", d.code),
                )
            })?;
        Ok(from_row(&row))
    }
}

/// The tax code, its row locked until the transaction ends (a change reads, decides, writes).
pub async fn lock_tax_code(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    code: &str,
) -> Result<TaxCodeRecord, StoreError> {
    let row = tx
        .query_opt(
            &format!(
                "SELECT {COLUMNS} FROM tax_codes WHERE tenant_id = $1 AND code = $2 FOR UPDATE"
            ),
            &[&tenant_id, &code],
        )
        .await?
        .ok_or_else(|| StoreError::not_found(format!("tax code {code}")))?;
    Ok(from_row(&row))
}

/// Writes a tax code as decided by `journal::master_data::decide_tax_code_change`.
pub async fn update_tax_code(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    d: &TaxCodeDefinition,
) -> Result<TaxCodeRecord, StoreError> {
    let row = tx
        .query_opt(
            &format!(
                "UPDATE tax_codes SET label = $3, description = $4, rate = $5, vat_account = $6,
                        self_assess_account = $7, is_active = $8, updated_at = now()
                  WHERE tenant_id = $1 AND code = $2 RETURNING {COLUMNS}"
            ),
            &[
                &tenant_id,
                &d.code,
                &d.label,
                &d.description,
                &d.rate,
                &d.vat_account,
                &d.self_assess_account,
                &d.is_active,
            ],
        )
        .await?
        .ok_or_else(|| StoreError::not_found(format!("tax code {}", d.code)))?;
    Ok(from_row(&row))
}

/// Writes a tax code's VAT-return and DATEV facts (checked by `reports::facts`).
pub async fn write_tax_code_facts(
    tx: &crate::Transaction<'_>,
    tenant_id: Uuid,
    code: &str,
    f: &TaxCodeFacts,
) -> Result<TaxCodeRecord, StoreError> {
    let row = tx
        .query_opt(
            &format!(
                "UPDATE tax_codes SET vat_side = $3, base_kennzahl = $4, tax_kennzahl = $5,
                        input_tax_kennzahl = $6, datev_bu_key = $7, updated_at = now()
                  WHERE tenant_id = $1 AND code = $2 RETURNING {COLUMNS}"
            ),
            &[
                &tenant_id,
                &code,
                &f.vat_side,
                &f.base_kennzahl,
                &f.tax_kennzahl,
                &f.input_tax_kennzahl,
                &f.datev_bu_key,
            ],
        )
        .await?
        .ok_or_else(|| StoreError::not_found(format!("tax code {code}")))?;
    Ok(from_row(&row))
}
