//! `ACTIVITY_UNFUNDED`: a planned or ongoing activity that runs in the fiscal year has no
//! budget line with a positive amount for it in that year.

use super::facts::PlanFacts;
use super::finding::{Finding, Severity, Subject};

pub const NAME: &str = "ACTIVITY_UNFUNDED";
pub const SEVERITY: Severity = Severity::Medium;

pub fn raise(facts: &PlanFacts) -> Vec<Finding> {
    let year = facts.fiscal_year();
    let (year_start, year_end) = facts.year_bounds();
    facts
        .activities
        .iter()
        .filter(|a| a.planned_or_ongoing && !a.funded)
        .filter(|a| a.start_date <= year_end && a.end_date >= year_start)
        .map(|a| {
            let message = format!(
                "Activity {} \u{201c}{}\u{201d}, led by {}, has no budget in {year}.",
                a.code, a.title, a.lead
            );
            Finding::new(Subject::new("activity", &a.code, &a.title), year, message)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::ActivityFacts;
    use super::super::testing::*;
    use crate::domain::flags::Rule;

    #[test]
    fn a_planned_or_ongoing_activity_of_the_year_without_budget_is_unfunded() {
        let mut f = facts("2016-03-01");
        let activity = ActivityFacts {
            code: "PROT-10".into(),
            title: "Compensation fund".into(),
            lead: "Ministry of Justice".into(),
            start_date: date("2015-01-01"),
            end_date: date("2019-12-31"),
            planned_or_ongoing: true,
            funded: false,
        };
        f.activities.push(activity.clone());
        assert_eq!(rules(&run(&f)), [Rule::ActivityUnfunded]);
        f.activities[0].funded = true;
        assert!(run(&f).is_empty());
        f.activities[0] = ActivityFacts {
            planned_or_ongoing: false,
            ..activity.clone()
        };
        assert!(run(&f).is_empty());
        f.activities[0] = ActivityFacts {
            end_date: date("2015-12-31"),
            ..activity
        };
        assert!(run(&f).is_empty());
    }
}
