//! `OBLIGATION_UNFUNDED`: an obligation in force has no budget line with a positive amount
//! linked to it in the fiscal year (the victim compensation fund that the law requires and
//! nobody funds). Its gap is the annual minimum, where the obligation names one.

use super::facts::PlanFacts;
use super::finding::{Finding, Severity};

pub const NAME: &str = "OBLIGATION_UNFUNDED";
pub const SEVERITY: Severity = Severity::Critical;

pub fn raise(facts: &PlanFacts) -> Vec<Finding> {
    let year = facts.fiscal_year();
    facts
        .obligations_in_force()
        .filter(|o| !o.allocated.is_positive())
        .map(|o| {
            let message = format!(
                "{}, required by {}, has no budget in {year}.",
                o.title, o.legal_basis
            );
            Finding::new(o.subject(), year, message)
                .with_legal_basis(&o.legal_basis)
                .with_gap(o.annual_minimum.map(|minimum| (minimum, o.currency)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::Severity;
    use super::super::testing::*;
    use crate::domain::flags::Rule;

    #[test]
    fn an_obligation_in_force_without_budget_is_unfunded_with_its_legal_basis() {
        let mut f = facts("2016-03-01");
        f.obligations.push(obligation("0", "0", Some("250000")));
        let flags = run(&f);
        assert_eq!(rules(&flags), [Rule::ObligationUnfunded]);
        assert_eq!(flags[0].severity, Severity::Critical);
        assert_eq!(
            flags[0].legal_basis.as_deref(),
            Some("Law 04/L-218, Article 27")
        );
        assert_eq!(flags[0].gap, Some(amount("250000")));
        assert_eq!(
            flags[0].message,
            "The victim compensation fund, required by Law 04/L-218, Article 27, has no budget in 2016."
        );
    }

    #[test]
    fn an_obligation_not_yet_in_force_is_not_flagged() {
        let mut f = facts("2016-03-01");
        let mut o = obligation("0", "0", None);
        o.in_force_from = date("2016-03-02");
        f.obligations.push(o);
        assert!(run(&f).is_empty());
    }
}
