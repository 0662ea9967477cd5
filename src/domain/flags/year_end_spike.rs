//! `YEAR_END_SPIKE`: in the fiscal year before the one containing the as-of date, more than
//! `percent` (40 by default) of a budget line's disbursed money is dated in that year's final
//! month: money rushed out before the year closes. The subject is the budget line; amounts are
//! in the plan currency.

use rust_decimal::Decimal;

use super::facts::PlanFacts;
use super::finding::{Finding, Severity, Subject, money, percent};

pub const NAME: &str = "YEAR_END_SPIKE";
pub const SEVERITY: Severity = Severity::Low;

/// The share of a year's payments in its final month above which it is a spike
/// (`year_end_spike_percent`, from 0 to 100).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub percent: Decimal,
}

impl Default for Share {
    fn default() -> Self {
        Share {
            percent: Decimal::from(40),
        }
    }
}

impl Share {
    pub fn check(&self) -> Result<(), String> {
        if self.percent < Decimal::ZERO || self.percent >= Decimal::from(100) {
            return Err("flags.year_end_spike_percent must be from 0 to less than 100".to_owned());
        }
        Ok(())
    }
}

pub fn raise(facts: &PlanFacts, share: &Share) -> Vec<Finding> {
    let year = facts.reporting_year();
    let Some(last) = facts.reporting_year_end() else {
        return Vec::new();
    };
    let month = last.format("%B %Y");
    let currency = facts.plan_currency;
    let mut found = Vec::new();
    for line in &facts.payments.year_end {
        if !line.disbursed.is_positive() {
            continue;
        }
        let total = line.disbursed.to_decimal();
        let in_month = line.final_month.to_decimal();
        if in_month * Decimal::from(100) <= share.percent * total {
            continue;
        }
        let message = format!(
            "Budget line {} ({}) paid {}% of its {} of fiscal year {year} in the year's final month, {month}: {}. Check that what was paid for was delivered in that year.",
            line.code,
            line.activity_title,
            percent(in_month / total),
            money(line.disbursed, currency),
            money(line.final_month, currency)
        );
        found.push(Finding::new(
            Subject::new("budget_line", &line.code, &line.activity_title),
            year,
            message,
        ));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::YearEndFacts;
    use crate::domain::fiscal::FiscalYearStart;
    use super::*;
    use crate::domain::flags::Rule;

    fn spent(code: &str, disbursed: &str, final_month: &str) -> YearEndFacts {
        YearEndFacts {
            code: code.into(),
            activity_title: "Shelters".into(),
            disbursed: amount(disbursed),
            final_month: amount(final_month),
        }
    }

    #[test]
    fn exactly_40_percent_in_the_final_month_is_not_a_spike_and_just_above_is() {
        let mut f = facts("2016-03-31");
        f.payments.year_end = vec![
            spent("BL-40", "1000.00", "400.00"),
            spent("BL-ABOVE", "1000.00", "400.01"),
            spent("BL-NONE", "0", "0"),
        ];
        let flags = run(&f);
        assert_eq!(rules(&flags), [Rule::YearEndSpike]);
        assert_eq!(flags[0].subject.code, "BL-ABOVE");
        assert_eq!(flags[0].subject.kind, "budget_line");
        assert_eq!(flags[0].fiscal_year, 2015);
        assert_eq!(
            flags[0].message,
            "Budget line BL-ABOVE (Shelters) paid 40% of its 1,000.00 EUR of fiscal year 2015 in \
             the year's final month, December 2015: 400.01 EUR. Check that what was paid for was \
             delivered in that year."
        );
    }

    #[test]
    fn the_final_month_of_an_october_fiscal_year_is_september() {
        let mut f = facts("2016-12-01");
        f.fiscal_year_start = FiscalYearStart::new(10).unwrap();
        f.payments.year_end = vec![spent("BL-1", "100", "50")];
        let flags = run(&f);
        assert_eq!(flags[0].fiscal_year, 2016);
        assert!(flags[0].message.contains("final month, September 2016: 50.00 EUR"));
        assert!(flags[0].message.contains("paid 50% of its"));
    }

    #[test]
    fn the_share_is_checked() {
        assert!(Share::default().check().is_ok());
        assert!(Share { percent: Decimal::from(100) }.check().is_err());
        assert!(Share { percent: Decimal::from(-1) }.check().is_err());
    }
}
