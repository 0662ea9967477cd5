//! Fiscal years. Fiscal year N is the twelve months that end in calendar year N, starting on
//! the first day of the plan's `fiscal_year_start_month` (1 = the calendar year; 10 = October
//! to September, so 2015-10-01 falls in fiscal year 2016).

use chrono::{Datelike, NaiveDate};

/// A month from 1 to 12 on which a plan's fiscal year starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FiscalYearStart(u32);

impl FiscalYearStart {
    pub fn new(month: i32) -> Option<Self> {
        u32::try_from(month)
            .ok()
            .filter(|m| (1..=12).contains(m))
            .map(FiscalYearStart)
    }

    pub fn month(self) -> u32 {
        self.0
    }

    /// The fiscal year that contains `date`.
    pub fn year_of(self, date: NaiveDate) -> i32 {
        if self.0 == 1 || date.month() < self.0 {
            date.year()
        } else {
            date.year() + 1
        }
    }

    /// The first and last day of fiscal year `year`, or `None` outside chrono's calendar.
    pub fn bounds(self, year: i32) -> Option<(NaiveDate, NaiveDate)> {
        let start = if self.0 == 1 {
            NaiveDate::from_ymd_opt(year, 1, 1)?
        } else {
            NaiveDate::from_ymd_opt(year - 1, self.0, 1)?
        };
        let next_start = if self.0 == 1 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)?
        } else {
            NaiveDate::from_ymd_opt(year, self.0, 1)?
        };
        Some((start, next_start.pred_opt()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn a_calendar_fiscal_year_is_the_calendar_year() {
        let start = FiscalYearStart::new(1);
        assert_eq!(start.map(|s| s.year_of(date("2016-01-01"))), Some(2016));
        assert_eq!(start.map(|s| s.year_of(date("2016-12-31"))), Some(2016));
        assert_eq!(
            start.and_then(|s| s.bounds(2016)),
            Some((date("2016-01-01"), date("2016-12-31")))
        );
    }

    #[test]
    fn an_october_fiscal_year_is_named_after_the_year_it_ends_in() {
        let start = FiscalYearStart::new(10);
        assert_eq!(start.map(|s| s.year_of(date("2015-10-01"))), Some(2016));
        assert_eq!(start.map(|s| s.year_of(date("2015-09-30"))), Some(2015));
        assert_eq!(
            start.and_then(|s| s.bounds(2016)),
            Some((date("2015-10-01"), date("2016-09-30")))
        );
    }

    #[test]
    fn a_start_month_outside_one_to_twelve_is_refused() {
        assert_eq!(FiscalYearStart::new(0), None);
        assert_eq!(FiscalYearStart::new(13), None);
    }
}
