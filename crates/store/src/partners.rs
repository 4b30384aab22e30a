//! Customers and vendors (business partners) with their personal accounts: loads and writes.
//!
//! The rules are `receivables`' (master data: `validate_partner`, `check_default_account`;
//! the personal-account number: `NumberRange`, `next_partner_number`, `lowest_free_number`),
//! and `app::partners` puts them together. Creating a partner inserts its personal account
//! (rolling up into the chart's receivables or payables account, `accounts.collective_account`)
//! and the partner row in one transaction, under a per-tenant advisory lock (`lock_numbers`).

use crate::{Store, StoreError, Transaction};
use chrono::{DateTime, Utc};
use receivables::{Address, NumberRange, PartnerKind, ValidPartner};
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
    /// Keyset paging: the partners after this one by name (`offset` is then ignored).
    pub after: Option<crate::ListCursor>,
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

const INSERT_SQL: &str = "INSERT INTO partners AS p (tenant_id, id, kind, account_number, name, tax_id, vat_id, iban, bic, address,
        default_account, notes)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

const UPDATE_SQL: &str =
    "UPDATE partners AS p SET name = $4, tax_id = $5, vat_id = $6, iban = $7, bic = $8, address = $9,
        default_account = $10, notes = $11, is_active = coalesce($12, is_active), updated_at = now()
  WHERE p.tenant_id = $1 AND p.id = $2 AND p.kind = $3";

/// Serializes number assignment per tenant (one transaction-scoped advisory lock per tenant).
const NUMBER_LOCK_SQL: &str = "SELECT pg_advisory_xact_lock(hashtextextended('kontor.partner_numbers.' || $1::uuid::text, 0))";

/// The highest number in use inside a range of equally long numbers (text order = number order).
const MAX_IN_RANGE_SQL: &str = "SELECT max(number) FROM accounts
  WHERE tenant_id = $1 AND length(number) = length($2) AND number BETWEEN $2 AND $3";

/// The first gap in a range (used once its top is taken).
const FIRST_GAP_SQL: &str = "SELECT lpad(n::text, $4, '0') FROM generate_series($2::bigint, $3::bigint) n
  WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.tenant_id = $1 AND a.number = lpad(n::text, $4, '0'))
  ORDER BY n LIMIT 1";

impl Partner {
    fn from_row(row: &tokio_postgres::Row) -> Result<Partner, StoreError> {
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
}

fn address_json(a: &Option<Address>) -> Option<serde_json::Value> {
    a.as_ref()
        .map(|a| serde_json::to_value(a).expect("an address serializes"))
}

/// A new partner as decided: its id, kind, personal account and validated master data.
#[derive(Debug, Clone)]
pub struct NewPartner<'a> {
    pub id: Uuid,
    pub kind: PartnerKind,
    pub account_number: &'a str,
    /// The collective account the personal account rolls up into.
    pub collective_account: &'a str,
    pub data: &'a ValidPartner,
}

/// Whether `number` is an active account (None: there is no such account).
pub async fn account_is_active(
    tx: &Transaction<'_>,
    tenant_id: Uuid,
    number: &str,
) -> Result<Option<bool>, StoreError> {
    Ok(tx
        .query_opt(
            "SELECT is_active FROM accounts WHERE tenant_id = $1 AND number = $2",
            &[&tenant_id, &number],
        )
        .await?
        .map(|r| r.get(0)))
}

/// Takes the tenant's partner-number lock until the transaction ends.
pub async fn lock_numbers(tx: &Transaction<'_>, tenant_id: Uuid) -> Result<(), StoreError> {
    tx.execute(NUMBER_LOCK_SQL, &[&tenant_id]).await?;
    Ok(())
}

/// The highest account number in use inside `range`.
pub async fn highest_number(
    tx: &Transaction<'_>,
    tenant_id: Uuid,
    range: &NumberRange,
) -> Result<Option<String>, StoreError> {
    Ok(tx
        .query_one(MAX_IN_RANGE_SQL, &[&tenant_id, &range.first, &range.last])
        .await?
        .get(0))
}

/// The lowest account number of `range` not in use.
pub async fn lowest_free_number(
    tx: &Transaction<'_>,
    tenant_id: Uuid,
    range: &NumberRange,
) -> Result<Option<String>, StoreError> {
    let bound = |n: &str| {
        n.parse::<i64>()
            .map_err(|_| StoreError::Internal(format!("account range bound {n:?}")))
    };
    let (first, last) = (bound(&range.first)?, bound(&range.last)?);
    let width = range.first.len() as i32;
    Ok(tx
        .query_opt(FIRST_GAP_SQL, &[&tenant_id, &first, &last, &width])
        .await?
        .map(|r| r.get(0)))
}

/// Inserts the personal account and the partner; returns the partner as written.
pub async fn insert_partner(
    tx: &Transaction<'_>,
    tenant_id: Uuid,
    new: &NewPartner<'_>,
) -> Result<Partner, StoreError> {
    let p = new.data;
    let (account_type, category) = new.kind.personal_account_type();
    let inserted = tx
        .execute(
            INSERT_ACCOUNT_SQL,
            &[
                &tenant_id,
                &new.account_number,
                &p.name,
                &account_type,
                &category,
                &new.collective_account,
            ],
        )
        .await?;
    if inserted != 1 {
        return Err(StoreError::Internal(format!(
            "collective account {} is missing",
            new.collective_account
        )));
    }
    let row = tx
        .query_one(
            &format!("{INSERT_SQL} RETURNING {COLUMNS}, {OPEN_AMOUNT}"),
            &[
                &tenant_id,
                &new.id,
                &new.kind.as_str(),
                &new.account_number,
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
    Partner::from_row(&row)
}

/// Replaces the master data (`is_active` None leaves it) and renames the personal account;
/// returns the partner as written, None when there is no such partner.
pub async fn update_partner(
    tx: &Transaction<'_>,
    tenant_id: Uuid,
    kind: PartnerKind,
    id: Uuid,
    p: &ValidPartner,
    is_active: Option<bool>,
) -> Result<Option<Partner>, StoreError> {
    let Some(row) = tx
        .query_opt(
            &format!("{UPDATE_SQL} RETURNING {COLUMNS}, {OPEN_AMOUNT}"),
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
    else {
        return Ok(None);
    };
    let partner = Partner::from_row(&row)?;
    tx.execute(
        "UPDATE accounts SET name = $3 WHERE tenant_id = $1 AND number = $2",
        &[&tenant_id, &partner.account_number, &p.name],
    )
    .await?;
    Ok(Some(partner))
}

/// Sets `is_active = false`; returns the partner as written, None when there is no such
/// partner.
pub async fn deactivate_partner(
    tx: &Transaction<'_>,
    tenant_id: Uuid,
    kind: PartnerKind,
    id: Uuid,
) -> Result<Option<Partner>, StoreError> {
    tx.query_opt(
        &format!(
            "UPDATE partners AS p SET is_active = false, updated_at = now()
              WHERE p.tenant_id = $1 AND p.id = $2 AND p.kind = $3
             RETURNING {COLUMNS}, {OPEN_AMOUNT}"
        ),
        &[&tenant_id, &id, &kind.as_str()],
    )
    .await?
    .as_ref()
    .map(Partner::from_row)
    .transpose()
}

impl Store {
    pub async fn list_partners(
        &self,
        tenant_id: Uuid,
        kind: PartnerKind,
        f: &PartnerFilter,
    ) -> Result<(Vec<Partner>, crate::Total, Option<crate::ListCursor>), StoreError> {
        let client = self.client().await?;
        let search = f.search.as_deref().map(crate::like_escape);
        let page = crate::keyset_paged(
            &client,
            self.count_cap,
            &format!("{COLUMNS}, {OPEN_AMOUNT}"),
            &format!("FROM partners p WHERE {FILTER}"),
            &crate::Keyset {
                keys: &[("lower(p.name)", "text"), ("p.id", "uuid")],
                descending: false,
            },
            &[&tenant_id, &kind.as_str(), &search, &f.is_active],
            f.limit,
            f.offset,
            f.after.as_ref(),
        )
        .await?;
        let partners = page
            .rows
            .iter()
            .map(Partner::from_row)
            .collect::<Result<_, _>>()?;
        Ok((partners, page.total, page.next))
    }

    /// A partner of `kind`, None when there is none with that id.
    pub async fn get_partner(
        &self,
        tenant_id: Uuid,
        kind: PartnerKind,
        id: Uuid,
    ) -> Result<Option<Partner>, StoreError> {
        let client = self.client().await?;
        client
            .query_opt(
                &format!("SELECT {COLUMNS}, {OPEN_AMOUNT} FROM partners p WHERE p.tenant_id = $1 AND p.id = $2 AND p.kind = $3"),
                &[&tenant_id, &id, &kind.as_str()],
            )
            .await?
            .as_ref()
            .map(Partner::from_row)
            .transpose()
    }
}
