//! The trial balance (Summen- und Saldenliste) from per-account sums.

use crate::error::ReportError;
use journal::AccountType;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// What `store` aggregates per account for a range `start..=end` (all amounts in the base
/// currency; balances debit-positive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSums {
    pub number: String,
    pub name: String,
    pub account_type: AccountType,
    /// The chart's `report_group` (`pl.1`, `bs.aktiva.B.II.1`, …).
    pub report_group: Option<String>,
    /// For a personal account: the collective account it rolls up into.
    pub collective_account: Option<String>,
    /// The balance carried into the fiscal year of `start` (before its first day).
    pub opening: Decimal,
    /// Debits and credits from `start` to `end`.
    pub period_debit: Decimal,
    pub period_credit: Decimal,
    /// Debits and credits from the fiscal year's first day to `end` (including the period).
    pub ytd_debit: Decimal,
    pub ytd_credit: Decimal,
}

impl AccountSums {
    /// The balance at `end`.
    pub fn closing(&self) -> Decimal {
        self.opening + self.ytd_debit - self.ytd_credit
    }
}

/// What a row of a report is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowType {
    /// An account (a collective account includes its personal accounts).
    Account,
    /// A personal account, listed under its collective account; not counted in the totals.
    Personal,
    /// A line of a statement (a report group, or a Kennzahl of the VAT return).
    Group,
    /// A subtotal inside a statement (Summe Aktiva, Summe Passiva).
    Subtotal,
    /// The balance an account statement starts from.
    Opening,
    /// A journal line of an account statement.
    Entry,
    /// An open item (an invoice or credit note with an amount left).
    Item,
    Total,
}

/// A report: its rows, the totals row and whether its self-checks hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report<R> {
    pub rows: Vec<R>,
    pub totals: R,
    pub balanced: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrialBalanceRow {
    pub row_type: RowType,
    /// The account number; `None` on the totals row.
    pub account: Option<String>,
    pub name: String,
    pub collective_account: Option<String>,
    pub opening_balance: Decimal,
    pub period_debit: Decimal,
    pub period_credit: Decimal,
    pub ytd_debit: Decimal,
    pub ytd_credit: Decimal,
    pub closing_balance: Decimal,
}

impl TrialBalanceRow {
    fn of(a: &AccountSums, row_type: RowType) -> Self {
        TrialBalanceRow {
            row_type,
            account: Some(a.number.clone()),
            name: a.name.clone(),
            collective_account: a.collective_account.clone(),
            opening_balance: a.opening,
            period_debit: a.period_debit,
            period_credit: a.period_credit,
            ytd_debit: a.ytd_debit,
            ytd_credit: a.ytd_credit,
            closing_balance: a.closing(),
        }
    }

    /// Neither a balance nor a movement: not listed.
    fn is_empty(&self) -> bool {
        [
            self.opening_balance,
            self.period_debit,
            self.period_credit,
            self.ytd_debit,
            self.ytd_credit,
            self.closing_balance,
        ]
        .iter()
        .all(|v| v.is_zero())
    }

    fn add(&mut self, o: &TrialBalanceRow) {
        self.opening_balance += o.opening_balance;
        self.period_debit += o.period_debit;
        self.period_credit += o.period_credit;
        self.ytd_debit += o.ytd_debit;
        self.ytd_credit += o.ytd_credit;
        self.closing_balance += o.closing_balance;
    }
}

/// The Summen- und Saldenliste: one row per account in number order (accounts without a
/// balance or a movement are left out). A collective account's
/// row includes its personal accounts, which follow it as `personal` rows; the totals add the
/// `account` rows only, so no entry counts twice. Balanced when period and year-to-date
/// debits equal credits and the opening and closing balances each add up to zero.
pub fn trial_balance(accounts: &[AccountSums]) -> Result<Report<TrialBalanceRow>, ReportError> {
    let by_number = index(accounts)?;
    let mut personal: BTreeMap<&str, Vec<&AccountSums>> = BTreeMap::new();
    for a in accounts {
        if let Some(c) = &a.collective_account {
            let reason = match by_number.get(c.as_str()) {
                None => Some("does not exist"),
                Some(col) if col.collective_account.is_some() => Some("is a personal account"),
                Some(_) => None,
            };
            if let Some(reason) = reason {
                return Err(ReportError::UnknownCollectiveAccount {
                    account: a.number.clone(),
                    collective: c.clone(),
                    reason,
                });
            }
            personal.entry(c.as_str()).or_default().push(a);
        }
    }
    let mut top: Vec<&AccountSums> = accounts
        .iter()
        .filter(|a| a.collective_account.is_none())
        .collect();
    top.sort_by(|a, b| a.number.cmp(&b.number));
    let mut totals = TrialBalanceRow {
        row_type: RowType::Total,
        account: None,
        name: "Summe".into(),
        collective_account: None,
        opening_balance: Decimal::ZERO,
        period_debit: Decimal::ZERO,
        period_credit: Decimal::ZERO,
        ytd_debit: Decimal::ZERO,
        ytd_credit: Decimal::ZERO,
        closing_balance: Decimal::ZERO,
    };
    let mut rows = Vec::with_capacity(accounts.len());
    for a in top {
        let mut row = TrialBalanceRow::of(a, RowType::Account);
        let mut children: Vec<TrialBalanceRow> = personal
            .get(a.number.as_str())
            .map(|v| {
                v.iter()
                    .map(|p| TrialBalanceRow::of(p, RowType::Personal))
                    .collect()
            })
            .unwrap_or_default();
        children.sort_by(|x, y| x.account.cmp(&y.account));
        children.retain(|c| !c.is_empty());
        for c in &children {
            row.add(c);
        }
        if row.is_empty() && children.is_empty() {
            continue;
        }
        totals.add(&row);
        rows.push(row);
        rows.extend(children);
    }
    let balanced = totals.period_debit == totals.period_credit
        && totals.ytd_debit == totals.ytd_credit
        && totals.opening_balance.is_zero()
        && totals.closing_balance.is_zero();
    Ok(Report {
        rows,
        totals,
        balanced,
    })
}

pub(crate) fn index(accounts: &[AccountSums]) -> Result<HashMap<&str, &AccountSums>, ReportError> {
    let mut by_number = HashMap::with_capacity(accounts.len());
    for a in accounts {
        if by_number.insert(a.number.as_str(), a).is_some() {
            return Err(ReportError::DuplicateAccount {
                account: a.number.clone(),
            });
        }
    }
    Ok(by_number)
}
