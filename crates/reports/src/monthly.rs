//! Revenue, expenses and result per period of a fiscal year.

use journal::{FiscalCalendar, PeriodId};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::HashMap;

/// What `store` adds up per period (1..=13) for the revenue and the expense accounts:
/// debit-positive movements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PeriodMovement {
    pub revenue: Decimal,
    pub expenses: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthRow {
    /// `YYYY-PP`.
    pub period: String,
    pub fiscal_year: i32,
    pub period_number: u32,
    pub start_date: chrono::NaiveDate,
    pub end_date: chrono::NaiveDate,
    /// Credit-positive: revenue less its reductions.
    pub revenue: Decimal,
    /// Debit-positive.
    pub expenses: Decimal,
    /// `revenue - expenses`: profit positive.
    pub result: Decimal,
}

/// The twelve periods of `fiscal_year` in order, each with its revenue, expenses and result. A
/// period-13 movement (year-end adjustments) is not a month of its own: it is returned
/// separately, so that the twelve months plus it add up to the year's P&L result.
pub fn monthly_revenue_expenses(
    calendar: &FiscalCalendar,
    fiscal_year: i32,
    movements: &HashMap<u32, PeriodMovement>,
) -> (Vec<MonthRow>, PeriodMovement) {
    let rows = (1..=12)
        .filter_map(|n| {
            let period = PeriodId {
                fiscal_year,
                number: n as u8,
            };
            let (start, end) = calendar.checked_bounds(period)?;
            let m = movements.get(&n).copied().unwrap_or_default();
            let revenue = -m.revenue;
            Some(MonthRow {
                period: period.to_string(),
                fiscal_year,
                period_number: n,
                start_date: start,
                end_date: end,
                revenue,
                expenses: m.expenses,
                result: revenue - m.expenses,
            })
        })
        .collect();
    (rows, movements.get(&13).copied().unwrap_or_default())
}
