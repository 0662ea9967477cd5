//! `INDICATOR_NOT_REPORTED`: an indicator has a target for the reporting year (the fiscal year
//! before the evaluated one) but no actual, and more than a grace period (`not_reported_grace_days`,
//! 90 by default) has passed since that year ended. On the 90th day after the last day it is not
//! yet late; on the 91st it is.

use super::facts::PlanFacts;
use super::finding::{Finding, Severity};

pub const NAME: &str = "INDICATOR_NOT_REPORTED";
pub const SEVERITY: Severity = Severity::Medium;

/// How many days after the reporting year ends an actual may still be missing
/// (`not_reported_grace_days`, at least 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grace {
    pub days: i64,
}

impl Default for Grace {
    fn default() -> Self {
        Grace { days: 90 }
    }
}

impl Grace {
    pub fn check(&self) -> Result<(), String> {
        if self.days < 0 {
            return Err("flags.not_reported_grace_days must be at least 0".to_owned());
        }
        Ok(())
    }
}

pub fn raise(facts: &PlanFacts, grace: &Grace) -> Vec<Finding> {
    let year = facts.reporting_year();
    let Some(year_end) = facts.reporting_year_end() else {
        return Vec::new();
    };
    let days = (facts.as_of - year_end).num_days();
    if days <= grace.days {
        return Vec::new();
    }
    facts
        .indicators
        .iter()
        .filter(|i| i.target.is_some() && i.actual.is_none())
        .map(|i| {
            let message = format!(
                "No actual has been reported for {} in {year}, {days} days after the year ended.",
                i.title
            );
            Finding::new(i.subject(), year, message)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::domain::flags::Rule;

    #[test]
    fn a_missing_actual_is_flagged_only_after_the_grace_days() {
        // Fiscal 2016 ended on 2016-12-31: 2017-03-31 is 90 days after, 2017-04-01 is 91.
        let mut f = facts("2017-03-31");
        f.indicators.push(indicator(Some("75"), None));
        assert!(run(&f).is_empty());
        f.as_of = date("2017-04-01");
        let flags = run(&f);
        assert_eq!(rules(&flags), [Rule::IndicatorNotReported]);
        assert_eq!(flags[0].fiscal_year, 2016);
        assert_eq!(flags[0].subject.kind, "indicator");
        assert_eq!(flags[0].subject.code, "IND-VICTIMS");
        assert_eq!(flags[0].gap, None);
        assert_eq!(
            flags[0].message,
            "No actual has been reported for Victims identified in 2016, 91 days after the year ended."
        );
    }

    #[test]
    fn an_indicator_without_a_target_or_with_an_actual_is_not_flagged() {
        let mut f = facts("2017-06-30");
        f.indicators.push(indicator(None, None));
        f.indicators.push(indicator(Some("75"), Some("80")));
        assert!(run(&f).is_empty());
    }
}
