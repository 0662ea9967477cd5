//! `INSTITUTION_INACTIVE`: an institution that leads an ongoing activity has had no
//! disbursement, on the activities it leads or paid to it, for a set number of days
//! (`inactive_days`, 180 by default). With no payment at all, the days count from the start of
//! its first ongoing activity.

use super::facts::PlanFacts;
use super::finding::{Finding, Severity, Subject};

pub const NAME: &str = "INSTITUTION_INACTIVE";
pub const SEVERITY: Severity = Severity::Medium;

/// How many days without a disbursement make a leading institution inactive
/// (`inactive_days`, at least 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    pub days: i64,
}

impl Default for After {
    fn default() -> Self {
        After { days: 180 }
    }
}

impl After {
    pub fn check(&self) -> Result<(), String> {
        if self.days < 1 {
            return Err("flags.inactive_days must be at least 1".to_owned());
        }
        Ok(())
    }
}

pub fn raise(facts: &PlanFacts, after: &After) -> Vec<Finding> {
    let year = facts.fiscal_year();
    let mut found = Vec::new();
    for i in &facts.institutions {
        let since = i.last_disbursement.unwrap_or(i.active_since);
        let days = (facts.as_of - since).num_days();
        if days < after.days {
            continue;
        }
        let message = match i.last_disbursement {
            Some(last) => format!(
                "{} leads ongoing activities but has had no disbursement for {days} days, since {last}.",
                i.name
            ),
            None => format!(
                "{} leads ongoing activities but has had no disbursement at all in {days} days.",
                i.name
            ),
        };
        found.push(Finding::new(
            Subject::new("institution", &i.code, &i.name),
            year,
            message,
        ));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::super::InstitutionFacts;
    use super::super::testing::*;
    use crate::domain::flags::Rule;

    #[test]
    fn an_institution_without_a_disbursement_for_the_set_period_is_inactive() {
        let mut f = facts("2016-07-10");
        f.institutions.push(InstitutionFacts {
            code: "NATA".into(),
            name: "The national anti-trafficking agency".into(),
            last_disbursement: Some(date("2016-01-12")),
            active_since: date("2015-01-01"),
        });
        // 2016-01-12 to 2016-07-10 is 180 days.
        assert_eq!(rules(&run(&f)), [Rule::InstitutionInactive]);
        f.as_of = date("2016-07-09");
        assert!(run(&f).is_empty());
    }
}
