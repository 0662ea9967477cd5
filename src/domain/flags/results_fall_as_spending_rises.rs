//! `RESULTS_FALL_AS_SPENDING_RISES`: the reporting year's actual moved the wrong way (down when
//! higher is better, up when lower is better) from the year before, while the indicator's money
//! strictly rose from that year to the reporting year.
//!
//! The year before's value is its actual; when it has none, the baseline stands in for it if
//! the baseline's year is the year before. With neither, there is nothing to compare with and
//! nothing is flagged. An unchanged value, or unchanged money, is not flagged.

use super::facts::PlanFacts;
use super::finding::{Finding, Severity, money};
use crate::domain::results::moved_the_wrong_way;

pub const NAME: &str = "RESULTS_FALL_AS_SPENDING_RISES";
pub const SEVERITY: Severity = Severity::High;

pub fn raise(facts: &PlanFacts) -> Vec<Finding> {
    let year = facts.reporting_year();
    let currency = facts.plan_currency;
    let mut found = Vec::new();
    for i in &facts.indicators {
        let Some(actual) = i.actual else {
            continue;
        };
        let (before, from) = match (i.previous_actual, i.baseline_value) {
            (Some(previous), _) => (previous, format!("{previous}")),
            (None, Some(baseline)) if i.baseline_year == Some(year - 1) => {
                (baseline, format!("its {} baseline of {baseline}", year - 1))
            }
            _ => continue,
        };
        if !moved_the_wrong_way(before, actual, i.ascending) || i.money <= i.previous_money {
            continue;
        }
        let moved = if i.ascending { "fell" } else { "rose" };
        let message = format!(
            "{} {moved} from {from} to {actual} in {year} while spending on what it measures rose from {} to {}.",
            i.title,
            money(i.previous_money, currency),
            money(i.money, currency)
        );
        found.push(Finding::new(i.subject(), year, message));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::domain::flags::{IndicatorFacts, Rule};

    fn fell(previous_money: &str, money: &str) -> IndicatorFacts {
        IndicatorFacts {
            previous_actual: Some(quantity("54")),
            money: amount(money),
            previous_money: amount(previous_money),
            ..indicator(None, Some("47"))
        }
    }

    #[test]
    fn a_fall_while_spending_rises_is_flagged_with_both_years_figures() {
        let mut f = facts("2018-06-30");
        f.indicators.push(fell("56900.12", "59530"));
        let flags = run(&f);
        assert_eq!(rules(&flags), [Rule::ResultsFallAsSpendingRises]);
        assert_eq!(flags[0].fiscal_year, 2017);
        assert_eq!(flags[0].gap, None);
        assert_eq!(
            flags[0].message,
            "Victims identified fell from 54 to 47 in 2017 while spending on what it measures \
             rose from 56,900.12 EUR to 59,530.00 EUR."
        );
    }

    #[test]
    fn a_fall_with_flat_or_falling_spending_is_not_flagged() {
        let mut f = facts("2018-06-30");
        f.indicators.push(fell("59530", "59530"));
        f.indicators.push(fell("59530", "56900.12"));
        assert!(run(&f).is_empty());
    }

    #[test]
    fn an_unchanged_or_better_value_is_not_flagged() {
        let mut f = facts("2018-06-30");
        f.indicators.push(IndicatorFacts {
            actual: Some(quantity("54")),
            ..fell("100", "200")
        });
        f.indicators.push(IndicatorFacts {
            ascending: false,
            ..fell("100", "200")
        });
        assert!(run(&f).is_empty());
    }

    #[test]
    fn the_baseline_stands_in_only_when_its_year_is_the_year_before() {
        let mut f = facts("2018-06-30");
        let from_baseline = |year| IndicatorFacts {
            previous_actual: None,
            baseline_year: Some(year),
            baseline_value: Some(quantity("57")),
            ..fell("100", "200")
        };
        f.indicators.push(from_baseline(2015));
        assert!(run(&f).is_empty());
        f.indicators[0] = from_baseline(2016);
        let flags = run(&f);
        assert_eq!(rules(&flags), [Rule::ResultsFallAsSpendingRises]);
        assert!(
            flags[0]
                .message
                .starts_with("Victims identified fell from its 2016 baseline of 57 to 47 in 2017")
        );
    }

    #[test]
    fn the_previous_actual_wins_over_a_baseline_of_the_year_before() {
        let mut f = facts("2018-06-30");
        f.indicators.push(IndicatorFacts {
            baseline_year: Some(2016),
            baseline_value: Some(quantity("40")),
            ..fell("100", "200")
        });
        assert!(run(&f)[0].message.starts_with("Victims identified fell from 54 to 47"));
    }

    #[test]
    fn with_nothing_to_compare_with_nothing_is_flagged() {
        let mut f = facts("2018-06-30");
        f.indicators.push(IndicatorFacts {
            previous_actual: None,
            ..fell("100", "200")
        });
        assert!(run(&f).is_empty());
    }
}
