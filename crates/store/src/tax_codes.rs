//! Tax codes of a tenant: seeded from the chart, editable, deactivated rather than deleted.

use crate::{Store, StoreError};
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
}

#[derive(Debug, Clone, Default)]
pub struct TaxCodeChange {
    pub label: Option<String>,
    pub description: Option<String>,
    pub rate: Option<Decimal>,
    /// Some(None) clears the account.
    pub vat_account: Option<Option<String>>,
    pub self_assess_account: Option<Option<String>>,
    pub is_active: Option<bool>,
}

const COLUMNS: &str =
    "code, label, description, rate, vat_account, self_assess_account, is_system, is_active";

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
    }
}

fn check(record: &TaxCodeRecord) -> Result<(), StoreError> {
    let code_ok = (1..=20).contains(&record.code.len())
        && record
            .code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if !code_ok {
        return Err(StoreError::invalid(
            "invalid_tax_code",
            "code must be 1 to 20 characters of A-Z, a-z, 0-9, _ . -",
            Some("code"),
        ));
    }
    if record.label.trim().is_empty() || record.label.chars().count() > 100 {
        return Err(StoreError::invalid(
            "invalid_label",
            "label must be 1 to 100 characters",
            Some("label"),
        ));
    }
    if record.description.chars().count() > 500 {
        return Err(StoreError::invalid(
            "too_long",
            "description is longer than 500 characters",
            Some("description"),
        ));
    }
    if record.rate < Decimal::ZERO
        || record.rate > Decimal::ONE_HUNDRED
        || record.rate.normalize().scale() > 4
    {
        return Err(StoreError::invalid(
            "invalid_rate",
            "rate must be between 0 and 100 with at most 4 decimals",
            Some("rate"),
        ));
    }
    if !record.rate.is_zero() && record.vat_account.is_none() {
        return Err(StoreError::invalid(
            "vat_account_required",
            "a tax code with a rate above 0 needs a vat_account",
            Some("vat_account"),
        ));
    }
    if record.self_assess_account.is_some() && record.vat_account.is_none() {
        return Err(StoreError::invalid(
            "vat_account_required",
            "self_assess_account needs a vat_account as its counterpart",
            Some("vat_account"),
        ));
    }
    Ok(())
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

    /// Checks that the named accounts exist and are active. Only accounts a request sets are
    /// checked: a code whose account was deactivated later can still be relabelled or
    /// deactivated itself (bookings with it fail with `tax_code_misconfigured` meanwhile).
    async fn check_tax_accounts(
        &self,
        tenant_id: Uuid,
        accounts: [(&str, Option<&String>); 2],
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        for (field, account) in accounts {
            if let Some(number) = account {
                let active: Option<bool> = client
                    .query_opt(
                        "SELECT is_active FROM accounts WHERE tenant_id = $1 AND number = $2",
                        &[&tenant_id, number],
                    )
                    .await?
                    .map(|r| r.get(0));
                match active {
                    Some(true) => {}
                    Some(false) => {
                        return Err(StoreError::invalid(
                            "unknown_account",
                            format!("{field}: account {number} is inactive"),
                            Some(field),
                        ))
                    }
                    None => {
                        return Err(StoreError::invalid(
                            "unknown_account",
                            format!("{field}: account {number} does not exist"),
                            Some(field),
                        ))
                    }
                }
            }
        }
        Ok(())
    }

    pub async fn create_tax_code(
        &self,
        tenant_id: Uuid,
        record: TaxCodeRecord,
    ) -> Result<TaxCodeRecord, StoreError> {
        check(&record)?;
        self.check_tax_accounts(
            tenant_id,
            [
                ("vat_account", record.vat_account.as_ref()),
                ("self_assess_account", record.self_assess_account.as_ref()),
            ],
        )
        .await?;
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "INSERT INTO tax_codes (tenant_id, code, label, description, rate, vat_account, self_assess_account)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, code) DO NOTHING RETURNING {COLUMNS}"
                ),
                &[
                    &tenant_id,
                    &record.code,
                    &record.label.trim(),
                    &record.description,
                    &record.rate,
                    &record.vat_account,
                    &record.self_assess_account,
                ],
            )
            .await?
            .ok_or_else(|| StoreError::conflict("tax_code_exists", format!("tax code {} already exists", record.code)))?;
        Ok(from_row(&row))
    }

    /// Changes a tax code. Bookings already made keep the rate and accounts they were made
    /// with: every journal event records its tax code's rate.
    pub async fn update_tax_code(
        &self,
        tenant_id: Uuid,
        code: &str,
        change: TaxCodeChange,
    ) -> Result<TaxCodeRecord, StoreError> {
        let mut record = self.get_tax_code(tenant_id, code).await?;
        if let Some(v) = change.label {
            record.label = v;
        }
        if let Some(v) = change.description {
            record.description = v;
        }
        if let Some(v) = change.rate {
            record.rate = v;
        }
        let set_vat = change.vat_account.clone().flatten();
        let set_own = change.self_assess_account.clone().flatten();
        if let Some(v) = change.vat_account {
            record.vat_account = v;
        }
        if let Some(v) = change.self_assess_account {
            record.self_assess_account = v;
        }
        if let Some(v) = change.is_active {
            record.is_active = v;
        }
        check(&record)?;
        self.check_tax_accounts(
            tenant_id,
            [
                ("vat_account", set_vat.as_ref()),
                ("self_assess_account", set_own.as_ref()),
            ],
        )
        .await?;
        let client = self.client().await?;
        let row = client
            .query_one(
                &format!(
                    "UPDATE tax_codes SET label = $3, description = $4, rate = $5, vat_account = $6,
                            self_assess_account = $7, is_active = $8, updated_at = now()
                      WHERE tenant_id = $1 AND code = $2 RETURNING {COLUMNS}"
                ),
                &[
                    &tenant_id,
                    &code,
                    &record.label.trim(),
                    &record.description,
                    &record.rate,
                    &record.vat_account,
                    &record.self_assess_account,
                    &record.is_active,
                ],
            )
            .await?;
        Ok(from_row(&row))
    }
}
