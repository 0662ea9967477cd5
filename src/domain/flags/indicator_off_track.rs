//! `INDICATOR_OFF_TRACK`: the reporting year's actual misses its target by more than a set
//! share of the target (`off_track_tolerance_percent`, 25 by default): below target × 0.75 when
//! higher is better, above target × 1.25 when lower is better. Missing it by exactly the
//! tolerance is still on track ([`is_off_track`]).

use rust_decimal::Decimal;

use super::facts::PlanFacts;
use super::finding::{Finding, Severity};
use crate::domain::results::{achievement, is_off_track};

pub const NAME: &str = "INDICATOR_OFF_TRACK";
pub const SEVERITY: Severity = Severity::High;

/// How far, in percent of the target, an actual may miss it (`off_track_tolerance_percent`,
/// from 0 to 100).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tolerance {
    pub percent: Decimal,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            percent: Decimal::from(25),
        }
    }
}

impl Tolerance {
    pub fn check(&self) -> Result<(), String> {
        if self.percent < Decimal::ZERO || self.percent > Decimal::ONE_HUNDRED {
            return Err("flags.off_track_tolerance_percent must be from 0 to 100".to_owned());
        }
        Ok(())
    }
}

pub fn raise(facts: &PlanFacts, tolerance: &Tolerance) -> Vec<Finding> {
    let year = facts.reporting_year();
    let mut found = Vec::new();
    for i in &facts.indicators {
        let (Some(target), Some(actual)) = (i.target, i.actual) else {
            continue;
        };
        if !is_off_track(target, actual, i.ascending, tolerance.percent) {
            continue;
        }
        let achieved = achievement(target, actual, i.ascending)
            .map(|percent| format!(" ({percent} %)"))
            .unwrap_or_default();
        let message = format!(
            "{} reached {actual} in {year} against a target of {target}{achieved}.",
            i.title
        );
        found.push(Finding::new(i.subject(), year, message));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::domain::flags::{IndicatorFacts, Rule};

    #[test]
    fn exactly_the_tolerance_short_of_the_target_is_not_off_track() {
        let mut f = facts("2017-06-30");
        f.indicators.push(indicator(Some("80"), Some("60")));
        assert!(run(&f).is_empty());
        f.indicators[0] = indicator(Some("80"), Some("59.9999"));
        let flags = run(&f);
        assert_eq!(rules(&flags), [Rule::IndicatorOffTrack]);
        assert_eq!(flags[0].fiscal_year, 2016);
        assert_eq!(flags[0].gap, None);
    }

    #[test]
    fn the_message_gives_the_actual_the_target_and_the_achievement() {
        let mut f = facts("2018-06-30");
        f.indicators.push(indicator(Some("75"), Some("47")));
        let flags = run(&f);
        assert_eq!(
            flags[0].message,
            "Victims identified reached 47 in 2017 against a target of 75 (62.7 %)."
        );
    }

    #[test]
    fn when_lower_is_better_exceeding_the_target_by_more_than_the_tolerance_is_off_track() {
        let mut f = facts("2017-06-30");
        let days = |target, actual| IndicatorFacts {
            ascending: false,
            ..indicator(Some(target), Some(actual))
        };
        f.indicators.push(days("120", "150"));
        assert!(run(&f).is_empty());
        f.indicators[0] = days("120", "150.0001");
        assert_eq!(rules(&run(&f)), [Rule::IndicatorOffTrack]);
    }
}
