//! The fiscal calendar: which period a booking date belongs to.
//!
//! A fiscal year is named by the calendar year in which it starts (a year from July 2026 to
//! June 2027 is fiscal year 2026). It has twelve monthly periods `01..12` and an adjustment
//! period `13` for year-end bookings, which shares its dates with period 12.

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CalendarRepr", into = "CalendarRepr")]
pub struct FiscalCalendar {
    first_month: u32,
}

/// The serialized form of a calendar, checked on the way in.
#[derive(Serialize, Deserialize)]
struct CalendarRepr {
    first_month: u32,
}

impl TryFrom<CalendarRepr> for FiscalCalendar {
    type Error = String;
    fn try_from(r: CalendarRepr) -> Result<Self, Self::Error> {
        FiscalCalendar::new(r.first_month)
            .ok_or_else(|| format!("first_month {} is not 1..12", r.first_month))
    }
}

impl From<FiscalCalendar> for CalendarRepr {
    fn from(c: FiscalCalendar) -> Self {
        CalendarRepr {
            first_month: c.first_month,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeriodId {
    pub fiscal_year: i32,
    pub number: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a period (expected YYYY-PP with PP 01..13)")]
pub struct BadPeriod(pub String);

impl FiscalCalendar {
    /// `first_month` is 1 (January) to 12.
    pub fn new(first_month: u32) -> Option<FiscalCalendar> {
        (1..=12)
            .contains(&first_month)
            .then_some(FiscalCalendar { first_month })
    }

    pub fn first_month(&self) -> u32 {
        self.first_month
    }

    pub fn fiscal_year_of(&self, date: NaiveDate) -> i32 {
        if date.month() >= self.first_month {
            date.year()
        } else {
            date.year() - 1
        }
    }

    /// The monthly period (01..12) that `date` falls in.
    pub fn period_of(&self, date: NaiveDate) -> PeriodId {
        let fy = self.fiscal_year_of(date);
        let number = ((date.month() + 12 - self.first_month) % 12 + 1) as u8;
        PeriodId {
            fiscal_year: fy,
            number,
        }
    }

    /// Period 13 of the fiscal year that `date` falls in.
    pub fn adjustment_period_of(&self, date: NaiveDate) -> PeriodId {
        PeriodId {
            fiscal_year: self.fiscal_year_of(date),
            number: 13,
        }
    }

    pub fn fiscal_year_start(&self, fiscal_year: i32) -> NaiveDate {
        NaiveDate::from_ymd_opt(fiscal_year, self.first_month, 1).expect("valid first month")
    }

    pub fn fiscal_year_end(&self, fiscal_year: i32) -> NaiveDate {
        self.fiscal_year_start(fiscal_year + 1)
            .pred_opt()
            .expect("date in range")
    }

    /// First and last day of a period. Period 13 covers the last month of the fiscal year.
    ///
    /// Panics for a period outside the dates `chrono` can represent; see
    /// [`FiscalCalendar::checked_bounds`].
    pub fn bounds(&self, p: PeriodId) -> (NaiveDate, NaiveDate) {
        self.checked_bounds(p).expect("date in range")
    }

    /// First and last day of a period, `None` if they are outside the dates `chrono` can
    /// represent (or the period number is not 01..13).
    pub fn checked_bounds(&self, p: PeriodId) -> Option<(NaiveDate, NaiveDate)> {
        if !(1..=13).contains(&p.number) {
            return None;
        }
        let month_index = u32::from(p.number.min(12)) - 1;
        let start = NaiveDate::from_ymd_opt(p.fiscal_year, self.first_month, 1)?
            .checked_add_months(Months::new(month_index))?;
        let end = start.checked_add_months(Months::new(1))?.pred_opt()?;
        Some((start, end))
    }

    /// The periods of a fiscal year in order, 01..13.
    pub fn periods_of_year(&self, fiscal_year: i32) -> impl Iterator<Item = PeriodId> {
        (1..=13u8).map(move |number| PeriodId {
            fiscal_year,
            number,
        })
    }
}

impl Default for FiscalCalendar {
    fn default() -> Self {
        FiscalCalendar { first_month: 1 }
    }
}

impl PeriodId {
    pub fn is_adjustment(&self) -> bool {
        self.number == 13
    }

    /// The regular period (01..12) that follows this one: the next month, or period 01 of the
    /// next fiscal year after period 12 or 13. `None` past the last representable year.
    pub fn next_regular(&self) -> Option<PeriodId> {
        if self.number >= 12 {
            Some(PeriodId {
                fiscal_year: self.fiscal_year.checked_add(1)?,
                number: 1,
            })
        } else {
            Some(PeriodId {
                fiscal_year: self.fiscal_year,
                number: self.number + 1,
            })
        }
    }
}

/// How far [`first_open_after`] looks ahead: 30 fiscal years.
pub const OPEN_PERIOD_HORIZON: usize = 13 * 30;

/// The dating rule of a reversal whose original period is closed: the earliest regular period
/// (01..12, never the adjustment period 13) after `p` that is not in `closed`, looking at most
/// [`OPEN_PERIOD_HORIZON`] periods ahead. `None` if every one of them is closed. The reversal is
/// then dated on that period's first day.
pub fn first_open_after(closed: &HashSet<PeriodId>, p: PeriodId) -> Option<PeriodId> {
    let mut next = p;
    for _ in 0..OPEN_PERIOD_HORIZON {
        next = next.next_regular()?;
        if !closed.contains(&next) {
            return Some(next);
        }
    }
    None
}

impl fmt::Display for PeriodId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.fiscal_year, self.number)
    }
}

/// A period is written as `YYYY-PP`.
impl Serialize for PeriodId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PeriodId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl FromStr for PeriodId {
    type Err = BadPeriod;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadPeriod(s.to_string());
        let (y, p) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || p.len() != 2 || !y.bytes().chain(p.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let fiscal_year: i32 = y.parse().map_err(|_| bad())?;
        let number: u8 = p.parse().map_err(|_| bad())?;
        if !(1..=13).contains(&number) {
            return Err(bad());
        }
        Ok(PeriodId {
            fiscal_year,
            number,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn calendar_year() {
        let c = FiscalCalendar::default();
        assert_eq!(c.period_of(d("2026-03-14")).to_string(), "2026-03");
        assert_eq!(
            c.adjustment_period_of(d("2026-12-31")).to_string(),
            "2026-13"
        );
        assert_eq!(
            c.bounds("2026-02".parse().unwrap()),
            (d("2026-02-01"), d("2026-02-28"))
        );
        assert_eq!(
            c.bounds("2026-13".parse().unwrap()),
            (d("2026-12-01"), d("2026-12-31"))
        );
    }

    #[test]
    fn shifted_fiscal_year() {
        let c = FiscalCalendar::new(7).unwrap();
        assert_eq!(c.period_of(d("2026-07-01")).to_string(), "2026-01");
        assert_eq!(c.period_of(d("2027-06-30")).to_string(), "2026-12");
        assert_eq!(c.period_of(d("2027-01-15")).to_string(), "2026-07");
        assert_eq!(c.fiscal_year_end(2026), d("2027-06-30"));
        assert_eq!(
            c.bounds("2026-08".parse().unwrap()),
            (d("2027-02-01"), d("2027-02-28"))
        );
    }

    #[test]
    fn parses_period_ids() {
        assert!("2026-00".parse::<PeriodId>().is_err());
        assert!("2026-14".parse::<PeriodId>().is_err());
        assert!("2026-3".parse::<PeriodId>().is_err());
        assert_eq!("2026-13".parse::<PeriodId>().unwrap().number, 13);
    }
}
