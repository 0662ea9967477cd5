//! `LOW_EXECUTION`: a budget line's execution rate (paid over amount) trails the share of the
//! fiscal year elapsed by more than a set tolerance. The gap is what would have been paid at
//! the elapsed share, less what was. An overspent line is `OVERSPENT` instead.

use rust_decimal::Decimal;

use super::facts::PlanFacts;
use super::finding::{Finding, Severity, money, percent};
use crate::money::Amount;

pub const NAME: &str = "LOW_EXECUTION";
pub const SEVERITY: Severity = Severity::Medium;

/// How many percentage points a budget line's execution may trail the elapsed share of the
/// year (`low_execution_tolerance_points`, from 0 to 100).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tolerance {
    pub points: Decimal,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            points: Decimal::from(25),
        }
    }
}

impl Tolerance {
    pub fn check(&self) -> Result<(), String> {
        if self.points < Decimal::ZERO || self.points > Decimal::from(100) {
            return Err("flags.low_execution_tolerance_points must be from 0 to 100".to_owned());
        }
        Ok(())
    }
}

pub fn raise(facts: &PlanFacts, tolerance: &Tolerance) -> Vec<Finding> {
    let year = facts.fiscal_year();
    let elapsed = facts.elapsed_share();
    let tolerance = tolerance.points / Decimal::from(100);
    let mut found = Vec::new();
    for line in &facts.budget_lines {
        if line.disbursed > line.amount || !line.amount.is_positive() {
            continue;
        }
        let rate = line.disbursed.to_decimal() / line.amount.to_decimal();
        if elapsed - rate <= tolerance {
            continue;
        }
        let expected = Amount::from_decimal_rounded(
            line.amount.to_decimal() * elapsed,
            line.currency.minor_units(),
        )
        .unwrap_or(line.amount);
        let gap = expected
            .checked_sub(line.disbursed)
            .ok()
            .filter(|g| g.is_positive());
        let message = format!(
            "Budget line {} ({}) has paid out {}% of its {} with {}% of {year} gone.",
            line.code,
            line.activity_title,
            percent(rate),
            money(line.amount, line.currency),
            percent(elapsed)
        );
        found.push(
            Finding::new(line.subject(), year, message)
                .with_gap(gap.map(|g| (g, line.currency))),
        );
    }
    found
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::domain::flags::Rule;

    #[test]
    fn execution_exactly_at_the_tolerance_is_not_low() {
        // The end of 1 July 2016 is half the year: 50% elapsed, 25% paid is exactly 25 points.
        let mut f = facts("2016-07-01");
        f.budget_lines.push(line("1000", "250"));
        assert!(run(&f).is_empty());
        f.budget_lines[0] = line("1000", "249.99");
        let flags = run(&f);
        assert_eq!(rules(&flags), [Rule::LowExecution]);
        assert_eq!(flags[0].gap, Some(amount("250.01")));
    }
}
