//! `OVERSPENT`: the disbursements on a budget line of the fiscal year exceed its amount; the
//! gap is the excess, in the line's currency.

use super::facts::PlanFacts;
use super::finding::{Finding, Severity, money};

pub const NAME: &str = "OVERSPENT";
pub const SEVERITY: Severity = Severity::High;

pub fn raise(facts: &PlanFacts) -> Vec<Finding> {
    let year = facts.fiscal_year();
    facts
        .budget_lines
        .iter()
        .filter(|line| line.disbursed > line.amount)
        .map(|line| {
            let gap = line
                .disbursed
                .checked_sub(line.amount)
                .unwrap_or(line.disbursed);
            let message = format!(
                "Budget line {} ({}) has paid out {}, {} more than its {}.",
                line.code,
                line.activity_title,
                money(line.disbursed, line.currency),
                money(gap, line.currency),
                money(line.amount, line.currency)
            );
            Finding::new(line.subject(), year, message).with_gap(Some((gap, line.currency)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::domain::flags::Rule;

    #[test]
    fn paying_more_than_a_line_holds_is_overspent_by_the_excess() {
        let mut f = facts("2016-03-01");
        f.budget_lines.push(line("1000", "1240.50"));
        let flags = run(&f);
        assert_eq!(rules(&flags), [Rule::Overspent]);
        assert_eq!(flags[0].gap, Some(amount("240.50")));
        f.budget_lines[0] = line("1000", "1000");
        assert!(run(&f).is_empty());
    }
}
