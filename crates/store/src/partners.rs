//! Customers and vendors (business partners) with their personal accounts.
//!
//! Creating a partner creates its personal account in the same transaction: the next free
//! number of the chart's debtor or creditor range, named after the partner, rolling up into
//! the chart's receivables or payables account (`accounts.collective_account`).

use crate::{Store, StoreError};
use chrono::{DateTime, Utc};
use receivables::{validate_partner, Address, PartnerInput, PartnerKind, ValidPartner};
use rust_decimal::Decimal;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct Partner {
    pub id: Uuid,
    pub kind: PartnerKind,
    /// The personal (debtor / creditor) account.
    pub account_number: String,
    pub name: String,
    pub tax_id: Option<String>,
    pub vat_id: Option<String>,
    pub iban: Option<String>,
    pub bic: Option<String>,
    pub address: Option<Address>,
    pub default_account: Option<String>,
    pub notes: Option<String>,
    pub is_active: bool,
    /// What the partner owes us (customer) or we owe the partner (vendor): open invoices less
    /// open credit notes. Equals the personal account's balance (debit-positive for a
    /// customer, credit-positive for a vendor) as long as nothing is booked on it by hand.
    pub open_amount: Decimal,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct PartnerFilter {
    /// Part of the name, VAT ID or IBAN, or the start of the account number.
    pub search: Option<String>,
    pub is_active: Option<bool>,
    pub limit: i64,
    pub offset: i64,
}

/// The open amount of partner `p` (see `Partner::open_amount`): per invoice, what is left of
/// its gross (nothing once its booking is reversed) less what was applied, credit notes
/// counting negative.
const OPEN_AMOUNT: &str = "(SELECT coalesce(sum(CASE WHEN i.type = 'invoice' THEN 1 ELSE -1 END
        * ((CASE WHEN kontor_is_reversed(i.tenant_id, i.intent_id, NULL) THEN 0 ELSE i.total_gross END)
           - kontor_invoice_settled(i.tenant_id, i.id, NULL))), 0)
      FROM invoices i WHERE i.tenant_id = p.tenant_id AND i.partner_id = p.id) AS open_amount";

const COLUMNS: &str =
    "p.id, p.kind, p.account_number, p.name, p.tax_id, p.vat_id, p.iban, p.bic, p.address,
    p.default_account, p.notes, p.is_active, p.created_at, p.updated_at";

/// The list filter: $1 tenant, $2 kind, $3 search (LIKE-escaped), $4 is_active.
const FILTER: &str = "p.tenant_id = $1 AND p.kind = $2
    AND ($3::text IS NULL OR lower(p.name) LIKE '%' || lower($3) || '%' OR p.account_number LIKE $3 || '%'
         OR p.vat_id LIKE '%' || upper($3) || '%' OR p.iban LIKE '%' || upper($3) || '%')
    AND ($4::boolean IS NULL OR p.is_active = $4)";

const INSERT_ACCOUNT_SQL: &str = "INSERT INTO accounts (tenant_id, number, name, type, category, report_group, collective_account)
     SELECT $1, $2, $3, $4, $5, c.report_group, c.number FROM accounts c WHERE c.tenant_id = $1 AND c.number = $6";

const INSERT_SQL: &str = "INSERT INTO partners (tenant_id, id, kind, account_number, name, tax_id, vat_id, iban, bic, address,
        default_account, notes)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

const UPDATE_SQL: &str =
    "UPDATE partners SET name = $4, tax_id = $5, vat_id = $6, iban = $7, bic = $8, address = $9,
        default_account = $10, notes = $11, is_active = coalesce($12, is_active), updated_at = now()
  WHERE tenant_id = $1 AND id = $2 AND kind = $3 RETURNING account_number";

/// Serializes number assignment per tenant (one transaction-scoped advisory lock per tenant).
const NUMBER_LOCK_SQL: &str = "SELECT pg_advisory_xact_lock(hashtextextended('kontor.partner_numbers.' || $1::uuid::text, 0))";

/// The highest number in use inside a range of equally long numbers (text order = number order).
const MAX_IN_RANGE_SQL: &str = "SELECT max(number) FROM accounts
  WHERE tenant_id = $1 AND length(number) = length($2) AND number BETWEEN $2 AND $3";

/// The first gap in a range once its top is taken.
const FIRST_GAP_SQL: &str = "SELECT n::text FROM generate_series($2::bigint, $3::bigint) n
  WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.tenant_id = $1 AND a.number = n::text) ORDER BY n LIMIT 1";

fn partner_from_row(row: &tokio_postgres::Row) -> Result<Partner, StoreError> {
    let kind: String = row.get("kind");
    let address: Option<serde_json::Value> = row.get("address");
    Ok(Partner {
        id: row.get("id"),
        kind: PartnerKind::parse(&kind)
            .ok_or_else(|| StoreError::Internal(format!("partner kind {kind:?}")))?,
        account_number: row.get("account_number"),
        name: row.get("name"),
        tax_id: row.get("tax_id"),
        vat_id: row.get("vat_id"),
        iban: row.get("iban"),
        bic: row.get("bic"),
        address: address
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| StoreError::Internal(format!("stored address: {e}")))?,
        default_account: row.get("default_account"),
        notes: row.get("notes"),
        is_active: row.get("is_active"),
        open_amount: row.get("open_amount"),
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    })
}

fn invalid(e: receivables::PartnerError) -> StoreError {
    StoreError::invalid(e.code(), e.to_string(), Some(e.field()))
}

fn address_json(a: &Option<Address>) -> Option<serde_json::Value> {
    a.as_ref()
        .map(|a| serde_json::to_value(a).expect("an address serializes"))
}

/// The personal-account range of a chart role such as `["10000", "69999"]`.
fn range_of(chart: &str, kind: PartnerKind) -> (String, String) {
    let (lo, hi) = kind.default_range();
    crate::tenants::chart(chart)
        .and_then(|c| c.roles.get(kind.range_role()).cloned())
        .and_then(|v| {
            let a = v.as_array()?;
            Some((
                a.first()?.as_str()?.to_string(),
                a.get(1)?.as_str()?.to_string(),
            ))
        })
        .filter(|(a, b)| a.len() == b.len() && a <= b)
        .unwrap_or_else(|| (lo.to_string(), hi.to_string()))
}

fn next_number(max: &str) -> Option<String> {
    let n: u64 = max.parse().ok()?;
    let next = (n + 1).to_string();
    (next.len() == max.len()).then_some(next)
}

impl Store {
    /// Checks that `number` names an active account (400 `unknown_account` on `field`).
    pub(crate) async fn require_active_account(
        &self,
        client: &tokio_postgres::Client,
        tenant_id: Uuid,
        number: &str,
        field: &str,
    ) -> Result<(), StoreError> {
        let row = client
            .query_opt(
                "SELECT is_active FROM accounts WHERE tenant_id = $1 AND number = $2",
                &[&tenant_id, &number],
            )
            .await?;
        match row.map(|r| r.get::<_, bool>(0)) {
            Some(true) => Ok(()),
            Some(false) => Err(StoreError::invalid(
                "unknown_account",
                format!("{field}: account {number} is inactive"),
                Some(field),
            )),
            None => Err(StoreError::invalid(
                "unknown_account",
                format!("{field}: account {number} does not exist"),
                Some(field),
            )),
        }
    }

    pub async fn list_partners(
        &self,
        tenant_id: Uuid,
        kind: PartnerKind,
        f: &PartnerFilter,
    ) -> Result<(Vec<Partner>, i64), StoreError> {
        let client = self.client().await?;
        let search = f.search.as_ref().map(|s| {
            s.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        });
        let (rows, total) = crate::paged(
            &client,
            &format!("{COLUMNS}, {OPEN_AMOUNT}"),
            &format!("FROM partners p WHERE {FILTER}"),
            "lower(p.name), p.id",
            &[&tenant_id, &kind.as_str(), &search, &f.is_active],
            f.limit,
            f.offset,
        )
        .await?;
        let partners = rows
            .iter()
            .map(partner_from_row)
            .collect::<Result<_, _>>()?;
        Ok((partners, total))
    }

    pub async fn get_partner(
        &self,
        tenant_id: Uuid,
        kind: PartnerKind,
        id: Uuid,
    ) -> Result<Partner, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!("SELECT {COLUMNS}, {OPEN_AMOUNT} FROM partners p WHERE p.tenant_id = $1 AND p.id = $2 AND p.kind = $3"),
                &[&tenant_id, &id, &kind.as_str()],
            )
            .await?
            .ok_or_else(|| StoreError::not_found(format!("{} {id}", kind.as_str())))?;
        partner_from_row(&row)
    }

    /// Creates a partner and its personal account (the next free number of the range).
    pub async fn create_partner(
        &self,
        tenant_id: Uuid,
        kind: PartnerKind,
        input: PartnerInput,
    ) -> Result<Partner, StoreError> {
        let p: ValidPartner = validate_partner(input).map_err(invalid)?;
        let info = self.tenant_info(tenant_id).await?;
        let collective = info.role(kind.collective_role()).ok_or_else(|| {
            StoreError::Internal(format!(
                "the chart has no {} account",
                kind.collective_role()
            ))
        })?;
        let (lo, hi) = range_of(&info.tenant.chart, kind);
        let id = Uuid::now_v7();
        let mut client = self.client().await?;
        if let Some(a) = &p.default_account {
            self.require_active_account(&client, tenant_id, a, "default_account")
                .await?;
        }
        let tx = client.transaction().await?;
        tx.execute(NUMBER_LOCK_SQL, &[&tenant_id]).await?;
        let max: Option<String> = tx
            .query_one(MAX_IN_RANGE_SQL, &[&tenant_id, &lo, &hi])
            .await?
            .get(0);
        let candidate = match max {
            None => Some(lo.clone()),
            Some(m) => next_number(&m).filter(|n| *n <= hi),
        };
        let number = match candidate {
            Some(n) => n,
            None => {
                let (a, b): (i64, i64) = (
                    lo.parse()
                        .map_err(|_| StoreError::Internal("range".into()))?,
                    hi.parse()
                        .map_err(|_| StoreError::Internal("range".into()))?,
                );
                tx.query_opt(FIRST_GAP_SQL, &[&tenant_id, &a, &b])
                    .await?
                    .map(|r| r.get::<_, String>(0))
                    .ok_or_else(|| {
                        StoreError::conflict(
                            "account_range_exhausted",
                            format!("every account number from {lo} to {hi} is taken"),
                        )
                    })?
            }
        };
        let (account_type, category) = match kind {
            PartnerKind::Customer => ("asset", "debtors"),
            PartnerKind::Vendor => ("liability", "creditors"),
        };
        let inserted = tx
            .execute(
                INSERT_ACCOUNT_SQL,
                &[
                    &tenant_id,
                    &number,
                    &p.name,
                    &account_type,
                    &category,
                    &collective,
                ],
            )
            .await?;
        if inserted != 1 {
            return Err(StoreError::Internal(format!(
                "collective account {collective} is missing"
            )));
        }
        tx.execute(
            INSERT_SQL,
            &[
                &tenant_id,
                &id,
                &kind.as_str(),
                &number,
                &p.name,
                &p.tax_id,
                &p.vat_id,
                &p.iban,
                &p.bic,
                &address_json(&p.address),
                &p.default_account,
                &p.notes,
            ],
        )
        .await?;
        tx.commit().await?;
        drop(client);
        self.get_partner(tenant_id, kind, id).await
    }

    /// Replaces the master data (a full update: absent fields become empty). The personal
    /// account keeps its number and takes the new name. `is_active` None leaves it as it is.
    pub async fn update_partner(
        &self,
        tenant_id: Uuid,
        kind: PartnerKind,
        id: Uuid,
        input: PartnerInput,
        is_active: Option<bool>,
    ) -> Result<Partner, StoreError> {
        let p = validate_partner(input).map_err(invalid)?;
        let mut client = self.client().await?;
        if let Some(a) = &p.default_account {
            self.require_active_account(&client, tenant_id, a, "default_account")
                .await?;
        }
        let tx = client.transaction().await?;
        let row = tx
            .query_opt(
                UPDATE_SQL,
                &[
                    &tenant_id,
                    &id,
                    &kind.as_str(),
                    &p.name,
                    &p.tax_id,
                    &p.vat_id,
                    &p.iban,
                    &p.bic,
                    &address_json(&p.address),
                    &p.default_account,
                    &p.notes,
                    &is_active,
                ],
            )
            .await?
            .ok_or_else(|| StoreError::not_found(format!("{} {id}", kind.as_str())))?;
        let number: String = row.get(0);
        tx.execute(
            "UPDATE accounts SET name = $3 WHERE tenant_id = $1 AND number = $2",
            &[&tenant_id, &number, &p.name],
        )
        .await?;
        tx.commit().await?;
        drop(client);
        self.get_partner(tenant_id, kind, id).await
    }

    /// Deactivates a partner: no new invoices; open items can still be paid, and its history
    /// and personal account stay.
    pub async fn deactivate_partner(
        &self,
        tenant_id: Uuid,
        kind: PartnerKind,
        id: Uuid,
    ) -> Result<Partner, StoreError> {
        let client = self.client().await?;
        let n = client
            .execute(
                "UPDATE partners SET is_active = false, updated_at = now() WHERE tenant_id = $1 AND id = $2 AND kind = $3",
                &[&tenant_id, &id, &kind.as_str()],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::not_found(format!("{} {id}", kind.as_str())));
        }
        drop(client);
        self.get_partner(tenant_id, kind, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_come_from_the_chart() {
        assert_eq!(
            range_of("skr03", PartnerKind::Customer),
            ("10000".into(), "69999".into())
        );
        assert_eq!(
            range_of("skr04", PartnerKind::Vendor),
            ("70000".into(), "99999".into())
        );
        assert_eq!(next_number("10009").as_deref(), Some("10010"));
        assert_eq!(next_number("99999"), None);
    }
}
