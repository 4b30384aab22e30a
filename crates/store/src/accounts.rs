//! The chart of accounts of a tenant and the account views (entries, balance).

use crate::journal::{entry_from_row, JournalEntry, ENTRY_COLUMNS};
use crate::{Store, StoreError};
use chrono::NaiveDate;
use journal::ledger::AccountType;
use journal::AccountRef;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize)]
pub struct Account {
    pub number: String,
    pub name: String,
    #[serde(rename = "type")]
    pub account_type: AccountType,
    pub category: String,
    pub report_group: String,
    pub is_system: bool,
    pub is_active: bool,
}

pub use journal::master_data::NewAccount;

const ACCOUNT_COLUMNS: &str = "number, name, type, category, report_group, is_system, is_active";

fn account_from_row(row: &tokio_postgres::Row) -> Result<Account, StoreError> {
    let account_type: &str = row.get("type");
    Ok(Account {
        number: row.get("number"),
        name: row.get("name"),
        account_type: account_type
            .parse()
            .map_err(|e| StoreError::Internal(format!("stored account type: {e}")))?,
        category: row.get("category"),
        report_group: row.get("report_group"),
        is_system: row.get("is_system"),
        is_active: row.get("is_active"),
    })
}

/// The entries of an account in a date range and the balance of the whole range.
#[derive(Debug, Clone)]
pub struct AccountEntries {
    pub entries: Vec<JournalEntry>,
    pub total: crate::Total,
    /// Where the next page starts; None on the last page.
    pub next: Option<crate::journal::JournalCursor>,
    pub balance: Decimal,
}

/// The condition on `column` that selects account $2's lines: only its own, or for a
/// collective account (Sammelkonto, e.g. 1400) also those of the personal accounts that roll up
/// into it (`accounts.collective_account`, schema/0004). The plain form keeps the index order
/// for ordinary accounts.
fn account_condition(column: &str, rolled_up: bool) -> String {
    if rolled_up {
        format!(
            "{column} IN (SELECT $2::text UNION ALL
                          SELECT r.number FROM accounts r WHERE r.tenant_id = $1 AND r.collective_account = $2)"
        )
    } else {
        format!("{column} = $2")
    }
}

/// The balance through a day by [`crate::reports::Cut`] ($3 the cut, $4 the day, $5 the
/// adjustment period, $6 whether its early day rows count); `{account}` is the account
/// condition of [`account_condition`].
pub const BALANCE_THROUGH_SQL: &str =
    "SELECT (SELECT coalesce(sum(debit - credit), 0) FROM account_balances
              WHERE tenant_id = $1 AND {account} AND month_start < $3)
          + (SELECT coalesce(sum(debit - credit), 0) FROM account_day_balances
              WHERE tenant_id = $1 AND {account} AND booking_date >= $3 AND booking_date <= $4)
          + (SELECT coalesce(sum(debit - credit), 0) FROM account_day_balances
              WHERE $6 AND tenant_id = $1 AND period = $5 AND period LIKE '%-13'
                AND {account} AND booking_date < $3)";

/// True when personal accounts roll up into `number`.
async fn has_personal_accounts(
    client: &tokio_postgres::Client,
    tenant_id: Uuid,
    number: &str,
) -> Result<bool, StoreError> {
    let row = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM accounts WHERE tenant_id = $1 AND collective_account = $2)",
            &[&tenant_id, &number],
        )
        .await?;
    Ok(row.get(0))
}

impl Store {
    /// One page of the chart by number: from `offset`, or after the account `after` (keyset).
    pub async fn list_accounts(
        &self,
        tenant_id: Uuid,
        limit: i64,
        offset: i64,
        after: Option<&crate::ListCursor>,
    ) -> Result<(Vec<Account>, crate::Total, Option<crate::ListCursor>), StoreError> {
        let client = self.read_client(crate::ReadRoute::Accounts).await?;
        let page = crate::keyset_paged(
            &client,
            self.count_cap,
            ACCOUNT_COLUMNS,
            "FROM accounts WHERE tenant_id = $1",
            &crate::Keyset {
                keys: &[("number", "text")],
                descending: false,
            },
            &[&tenant_id],
            limit,
            offset,
            after,
        )
        .await?;
        Ok((
            page.rows
                .iter()
                .map(account_from_row)
                .collect::<Result<_, _>>()?,
            page.total,
            page.next,
        ))
    }

    /// Accounts whose number starts with `q` or whose name contains it (case-insensitive).
    pub async fn search_accounts(
        &self,
        tenant_id: Uuid,
        q: &str,
        account_type: Option<AccountType>,
        limit: i64,
    ) -> Result<Vec<Account>, StoreError> {
        let client = self.read_client(crate::ReadRoute::Accounts).await?;
        let escaped = crate::like_escape(q);
        let rows = client
            .query(
                &format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM accounts
                      WHERE tenant_id = $1 AND ($2 = '' OR number LIKE $2 || '%' OR lower(name) LIKE '%' || lower($2) || '%')
                        AND ($3::text IS NULL OR type = $3)
                      ORDER BY (number LIKE $2 || '%') DESC, number LIMIT $4"
                ),
                &[&tenant_id, &escaped, &account_type.map(|t| t.as_str()), &limit],
            )
            .await?;
        rows.iter().map(account_from_row).collect()
    }

    pub async fn get_account(&self, tenant_id: Uuid, number: &str) -> Result<Account, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE tenant_id = $1 AND number = $2"
                ),
                &[&tenant_id, &number],
            )
            .await?
            .ok_or_else(|| StoreError::not_found(format!("account {number}")))?;
        account_from_row(&row)
    }

    /// Inserts an account decided by `journal::master_data::decide_new_account`.
    pub async fn create_account(
        &self,
        tenant_id: Uuid,
        new: &NewAccount,
    ) -> Result<Account, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "INSERT INTO accounts (tenant_id, number, name, type, category, report_group)
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, number) DO NOTHING
                     RETURNING {ACCOUNT_COLUMNS}"
                ),
                &[
                    &tenant_id,
                    &new.number,
                    &new.name,
                    &new.account_type.as_str(),
                    &new.category,
                    &new.report_group,
                ],
            )
            .await?
            .ok_or_else(|| {
                StoreError::conflict(
                    "account_exists",
                    format!("account {} already exists", new.number),
                )
            })?;
        account_from_row(&row)
    }

    /// Renames or (de)activates an account (a name decided by
    /// `journal::master_data::decide_account_name`). Its number and type never change.
    pub async fn update_account(
        &self,
        tenant_id: Uuid,
        number: &str,
        name: Option<&str>,
        is_active: Option<bool>,
    ) -> Result<Account, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "UPDATE accounts SET name = coalesce($3, name), is_active = coalesce($4, is_active)
                      WHERE tenant_id = $1 AND number = $2 RETURNING {ACCOUNT_COLUMNS}"
                ),
                &[&tenant_id, &number, &name, &is_active],
            )
            .await?
            .ok_or_else(|| StoreError::not_found(format!("account {number}")))?;
        account_from_row(&row)
    }

    /// The named accounts that exist, with their active flag, for a decision to check.
    pub async fn account_refs(
        &self,
        tenant_id: Uuid,
        numbers: &[&str],
    ) -> Result<HashMap<String, AccountRef>, StoreError> {
        account_refs(&**self.client().await?, tenant_id, numbers).await
    }

    /// Debit-positive balance of an account over all bookings dated on or before `through`
    /// (all bookings when None). A collective account's balance includes its personal accounts.
    ///
    /// Read from the projections only, by the rule of [`crate::reports::Cut`]: the account's
    /// whole periods from `account_balances` before the cut (the first of `through`'s month, or
    /// of the next month when `through` ends a month), its `account_day_balances` rows from the
    /// cut through `through` (at most a month's days), and the day rows of `through`'s fiscal
    /// year's period 13 dated before the cut (that period's row sits on the year's last month,
    /// its bookings on any day of the year; schema/0020 indexes them). The cost is the
    /// account's periods plus at most 31 days, not its entries.
    pub async fn account_balance_through(
        &self,
        client: &tokio_postgres::Client,
        tenant_id: Uuid,
        number: &str,
        through: Option<NaiveDate>,
    ) -> Result<Decimal, StoreError> {
        let rolled_up = has_personal_accounts(client, tenant_id, number).await?;
        let account = account_condition("account", rolled_up);
        let row = match through {
            None => {
                client
                    .query_one(
                        &format!("SELECT coalesce(sum(debit - credit), 0) FROM account_balances WHERE tenant_id = $1 AND {account}"),
                        &[&tenant_id, &number],
                    )
                    .await?
            }
            Some(d) => {
                let calendar = self.tenant_info(tenant_id).await?.calendar;
                let cut = crate::reports::Cut::of(&calendar, d);
                client
                    .query_one(
                        &BALANCE_THROUGH_SQL.replace("{account}", &account),
                        &[&tenant_id, &number, &cut.cut, &d, &cut.adjustment, &cut.add_adjustment],
                    )
                    .await?
            }
        };
        Ok(row.get(0))
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn account_entries(
        &self,
        tenant_id: Uuid,
        number: &str,
        start: Option<NaiveDate>,
        end: Option<NaiveDate>,
        limit: i64,
        offset: i64,
        after: Option<crate::journal::JournalCursor>,
    ) -> Result<AccountEntries, StoreError> {
        let client = self.read_client(crate::ReadRoute::Accounts).await?;
        client
            .query_opt(
                "SELECT 1 FROM accounts WHERE tenant_id = $1 AND number = $2",
                &[&tenant_id, &number],
            )
            .await?
            .ok_or_else(|| StoreError::not_found(format!("account {number}")))?;
        // A collective account lists its personal accounts' lines too, so that its balance
        // stays the sum of its entries.
        let account = account_condition(
            "account",
            has_personal_accounts(&client, tenant_id, number).await?,
        );
        let from_where = format!(
            "FROM entries WHERE tenant_id = $1 AND {account}
               AND ($3::date IS NULL OR booking_date >= $3) AND ($4::date IS NULL OR booking_date <= $4)"
        );
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
            [&tenant_id, &number, &start, &end];
        // One row more than the page tells whether a next page exists. By cursor, the page
        // starts after the cursor's line by keyset, oldest first.
        let fetch = limit + 1;
        let mut all = params.to_vec();
        let sql = match &after {
            Some(after) => {
                all.extend([
                    &after.booking_date as &(dyn tokio_postgres::types::ToSql + Sync),
                    &after.seq,
                    &fetch,
                ]);
                format!(
                    "SELECT {ENTRY_COLUMNS} {from_where} AND (booking_date, seq) > ($5, $6)
                      ORDER BY booking_date, seq LIMIT $7"
                )
            }
            None => {
                all.extend([
                    &fetch as &(dyn tokio_postgres::types::ToSql + Sync),
                    &offset,
                ]);
                format!(
                    "SELECT {ENTRY_COLUMNS} {from_where}
                      ORDER BY booking_date, seq LIMIT $5 OFFSET $6"
                )
            }
        };
        // The page, its capped count and the balances are pipelined on the connection.
        let day_before = start.and_then(|s| s.pred_opt());
        let (rows, count, through_end, before_start) = futures_util::try_join!(
            async { client.query(&sql, &all).await.map_err(StoreError::from) },
            crate::capped_count(&client, self.count_cap, &from_where, &params),
            self.account_balance_through(&client, tenant_id, number, end),
            async {
                match day_before {
                    Some(d) => {
                        self.account_balance_through(&client, tenant_id, number, Some(d))
                            .await
                    }
                    None => Ok(Decimal::ZERO),
                }
            },
        )?;
        let mut entries = rows
            .iter()
            .map(entry_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let more = entries.len() as i64 > limit;
        entries.truncate(limit.max(0) as usize);
        let next = match entries.last() {
            Some(last) if more => Some(crate::journal::JournalCursor {
                booking_date: last.booking_date,
                seq: last.seq,
            }),
            _ => None,
        };
        let seen = match (after.is_some(), entries.is_empty()) {
            (_, true) => 0,
            (true, false) => entries.len() as i64,
            (false, false) => offset + entries.len() as i64,
        };
        let total =
            crate::total_of(&client, count, self.count_cap, &from_where, &params, seen).await?;
        Ok(AccountEntries {
            entries,
            total,
            next,
            balance: through_end - before_start,
        })
    }
}

/// The named accounts that exist, with their active flag, read on `client` (a transaction's
/// connection too).
pub async fn account_refs(
    client: &impl tokio_postgres::GenericClient,
    tenant_id: Uuid,
    numbers: &[&str],
) -> Result<HashMap<String, AccountRef>, StoreError> {
    let numbers: Vec<&str> = numbers.to_vec();
    let rows = client
        .query(
            "SELECT number, is_active FROM accounts WHERE tenant_id = $1 AND number = ANY($2)",
            &[&tenant_id, &numbers],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let number: String = r.get(0);
            (
                number.clone(),
                AccountRef {
                    number,
                    is_active: r.get(1),
                },
            )
        })
        .collect())
}
