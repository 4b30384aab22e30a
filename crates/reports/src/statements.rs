//! Profit and loss (HGB §275 Abs. 2, total-cost format) and balance sheet (HGB §266), by the
//! accounts' `report_group`.
//!
//! An account belongs to the P&L when its group starts with `pl.`, to the balance sheet when
//! it starts with `bs.aktiva.` or `bs.passiva.`; an account with neither goes by its type to
//! `pl.unassigned`, `bs.aktiva.unassigned` or `bs.passiva.unassigned`, so nothing falls out
//! of the sums. Groups that add up to zero are not listed.

use crate::error::ReportError;
use crate::trial_balance::{index, AccountSums, Report, RowType};
use journal::AccountType;
use rust_decimal::Decimal;
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// Which movement the P&L adds up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// `start..=end`.
    Period,
    /// The fiscal year's first day to `end`: what the balance sheet's result is.
    YearToDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    ProfitAndLoss,
    Assets,
    LiabilitiesAndEquity,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementRow {
    pub row_type: RowType,
    pub section: Section,
    /// The report group (`pl.1`, `bs.aktiva.B.IV`, …); empty on totals.
    pub report_group: String,
    pub label: String,
    /// P&L: credit-positive (revenue positive, expenses negative, so profit is positive).
    /// Assets: debit-positive. Liabilities and equity: credit-positive.
    pub amount: Decimal,
}

/// The P&L group of the current year's result, and of prior years' unclosed results.
pub const RESULT_GROUP: &str = "bs.passiva.A.V";
pub const RETAINED_GROUP: &str = "bs.passiva.A.IV";

enum Place {
    Pl(String),
    Assets(String),
    Liabilities(String),
}

fn place(a: &AccountSums) -> Place {
    match a.report_group.as_deref() {
        Some(g) if g.starts_with("pl.") => Place::Pl(g.into()),
        Some(g) if g.starts_with("bs.aktiva.") => Place::Assets(g.into()),
        Some(g) if g.starts_with("bs.passiva.") => Place::Liabilities(g.into()),
        _ => match a.account_type {
            AccountType::Revenue | AccountType::Expense => Place::Pl("pl.unassigned".into()),
            AccountType::Asset => Place::Assets("bs.aktiva.unassigned".into()),
            AccountType::Liability | AccountType::Equity => {
                Place::Liabilities("bs.passiva.unassigned".into())
            }
        },
    }
}

/// The P&L: one row per report group in §275 order, credit-positive; the totals row is the
/// Jahresüberschuss/-fehlbetrag (profit positive).
pub fn profit_and_loss(
    accounts: &[AccountSums],
    labels: &BTreeMap<String, String>,
    span: Span,
) -> Result<Report<StatementRow>, ReportError> {
    index(accounts)?;
    let mut groups: BTreeMap<GroupKey, Decimal> = BTreeMap::new();
    for a in accounts {
        if let Place::Pl(g) = place(a) {
            let movement = match span {
                Span::Period => a.period_debit - a.period_credit,
                Span::YearToDate => a.ytd_debit - a.ytd_credit,
            };
            *groups.entry(GroupKey(g)).or_default() -= movement;
        }
    }
    let rows: Vec<StatementRow> = groups
        .into_iter()
        .filter(|(_, amount)| !amount.is_zero())
        .map(|(g, amount)| row(RowType::Group, Section::ProfitAndLoss, g.0, labels, amount))
        .collect();
    let result = rows.iter().map(|r| r.amount).sum();
    Ok(Report {
        rows,
        totals: StatementRow {
            row_type: RowType::Total,
            section: Section::ProfitAndLoss,
            report_group: String::new(),
            label: "Jahresüberschuss/Jahresfehlbetrag".into(),
            amount: result,
        },
        balanced: true,
    })
}

/// The balance sheet at `end`: assets debit-positive, liabilities and equity credit-positive.
/// The P&L accounts' balances enter equity: their year-to-date movement as the result
/// (`bs.passiva.A.V`), a balance carried in from earlier years as Gewinn-/Verlustvortrag
/// (`bs.passiva.A.IV`). Balanced when the assets equal liabilities and equity; the totals row
/// carries the assets.
pub fn balance_sheet(
    accounts: &[AccountSums],
    labels: &BTreeMap<String, String>,
) -> Result<Report<StatementRow>, ReportError> {
    index(accounts)?;
    let mut assets: BTreeMap<GroupKey, Decimal> = BTreeMap::new();
    let mut passiva: BTreeMap<GroupKey, Decimal> = BTreeMap::new();
    for a in accounts {
        match place(a) {
            Place::Assets(g) => *assets.entry(GroupKey(g)).or_default() += a.closing(),
            Place::Liabilities(g) => *passiva.entry(GroupKey(g)).or_default() -= a.closing(),
            Place::Pl(_) => {
                *passiva.entry(GroupKey(RESULT_GROUP.into())).or_default() -=
                    a.ytd_debit - a.ytd_credit;
                if !a.opening.is_zero() {
                    *passiva.entry(GroupKey(RETAINED_GROUP.into())).or_default() -= a.opening;
                }
            }
        }
    }
    let total_assets: Decimal = assets.values().copied().sum();
    let total_passiva: Decimal = passiva.values().copied().sum();
    let mut rows: Vec<StatementRow> = assets
        .into_iter()
        .filter(|(_, v)| !v.is_zero())
        .map(|(g, v)| row(RowType::Group, Section::Assets, g.0, labels, v))
        .collect();
    rows.push(subtotal(Section::Assets, "Summe Aktiva", total_assets));
    rows.extend(
        passiva
            .into_iter()
            .filter(|(_, v)| !v.is_zero())
            .map(|(g, v)| {
                row(
                    RowType::Group,
                    Section::LiabilitiesAndEquity,
                    g.0,
                    labels,
                    v,
                )
            }),
    );
    rows.push(subtotal(
        Section::LiabilitiesAndEquity,
        "Summe Passiva",
        total_passiva,
    ));
    Ok(Report {
        rows,
        totals: StatementRow {
            row_type: RowType::Total,
            section: Section::Assets,
            report_group: String::new(),
            label: "Bilanzsumme".into(),
            amount: total_assets,
        },
        balanced: total_assets == total_passiva,
    })
}

/// The current year's result as the balance sheet shows it (`bs.passiva.A.V`).
pub fn balance_sheet_result(bs: &Report<StatementRow>) -> Decimal {
    bs.rows
        .iter()
        .filter(|r| r.report_group == RESULT_GROUP)
        .map(|r| r.amount)
        .sum()
}

/// Both statements over the fiscal year to `end`, each `balanced` only when the balance sheet
/// balances and the P&L result equals the balance sheet's result.
pub fn financial_statements(
    accounts: &[AccountSums],
    labels: &BTreeMap<String, String>,
) -> Result<(Report<StatementRow>, Report<StatementRow>), ReportError> {
    let mut pl = profit_and_loss(accounts, labels, Span::YearToDate)?;
    let mut bs = balance_sheet(accounts, labels)?;
    let ok = bs.balanced && pl.totals.amount == balance_sheet_result(&bs);
    pl.balanced = ok;
    bs.balanced = ok;
    Ok((pl, bs))
}

fn row(
    row_type: RowType,
    section: Section,
    group: String,
    labels: &BTreeMap<String, String>,
    amount: Decimal,
) -> StatementRow {
    let label = labels
        .get(&group)
        .cloned()
        .unwrap_or_else(|| match group.as_str() {
            RESULT_GROUP => "Jahresüberschuss/Jahresfehlbetrag".into(),
            RETAINED_GROUP => "Gewinnvortrag/Verlustvortrag".into(),
            g if g.ends_with(".unassigned") => "Nicht zugeordnet".into(),
            g => g.into(),
        });
    StatementRow {
        row_type,
        section,
        report_group: group,
        label,
        amount,
    }
}

fn subtotal(section: Section, label: &str, amount: Decimal) -> StatementRow {
    StatementRow {
        row_type: RowType::Subtotal,
        section,
        report_group: String::new(),
        label: label.into(),
        amount,
    }
}

/// Orders report groups as the law lists them: `pl.5a` after `pl.4` and before `pl.11`,
/// `A.II` after `A.I`, `unassigned` last.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GroupKey(String);

impl Ord for GroupKey {
    fn cmp(&self, other: &Self) -> Ordering {
        let a = self.0.split('.').map(segment_key);
        let b = other.0.split('.').map(segment_key);
        a.cmp(b).then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for GroupKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn segment_key(s: &str) -> (u8, u32, String) {
    if s == "unassigned" {
        return (2, 0, String::new());
    }
    if !s.is_empty() && s.chars().all(|c| matches!(c, 'I' | 'V' | 'X')) {
        return (0, roman(s), String::new());
    }
    let digits: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
    match digits.parse::<u32>() {
        Ok(n) => (0, n, s[digits.len()..].to_string()),
        Err(_) => (1, 0, s.to_string()),
    }
}

fn roman(s: &str) -> u32 {
    let value = |c| match c {
        'I' => 1,
        'V' => 5,
        _ => 10,
    };
    let v: Vec<u32> = s.chars().map(value).collect();
    (0..v.len())
        .map(|i| {
            if i + 1 < v.len() && v[i] < v[i + 1] {
                0u32.wrapping_sub(v[i])
            } else {
                v[i]
            }
        })
        .fold(0u32, u32::wrapping_add)
}
