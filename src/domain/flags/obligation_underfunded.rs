//! `OBLIGATION_UNDERFUNDED`: an obligation in force has a budget in the fiscal year, but less
//! than its `annual_minimum`; the gap is the difference. (Without any budget it is
//! `OBLIGATION_UNFUNDED` instead.)

use super::facts::PlanFacts;
use super::finding::{Finding, Severity, money};

pub const NAME: &str = "OBLIGATION_UNDERFUNDED";
pub const SEVERITY: Severity = Severity::High;

pub fn raise(facts: &PlanFacts) -> Vec<Finding> {
    let year = facts.fiscal_year();
    let mut found = Vec::new();
    for o in facts
        .obligations_in_force()
        .filter(|o| o.allocated.is_positive())
    {
        let Some(minimum) = o.annual_minimum.filter(|minimum| o.allocated < *minimum) else {
            continue;
        };
        let gap = minimum.checked_sub(o.allocated).unwrap_or(minimum);
        let message = format!(
            "{}, required by {}, has {} budgeted in {year}: {} short of the {} required.",
            o.title,
            o.legal_basis,
            money(o.allocated, o.currency),
            money(gap, o.currency),
            money(minimum, o.currency)
        );
        found.push(
            Finding::new(o.subject(), year, message)
                .with_legal_basis(&o.legal_basis)
                .with_gap(Some((gap, o.currency))),
        );
    }
    found
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::domain::flags::Rule;

    #[test]
    fn an_allocation_below_the_minimum_is_underfunded_by_the_difference() {
        let mut f = facts("2016-03-01");
        f.obligations
            .push(obligation("24000", "100", Some("30000")));
        let flags = run(&f);
        assert_eq!(rules(&flags), [Rule::ObligationUnderfunded]);
        assert_eq!(flags[0].gap, Some(amount("6000")));
    }

    #[test]
    fn an_allocation_at_the_minimum_is_not_underfunded() {
        let mut f = facts("2016-03-01");
        f.obligations
            .push(obligation("30000", "100", Some("30000")));
        assert!(run(&f).is_empty());
    }
}
