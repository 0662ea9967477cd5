//! `OBLIGATION_UNDISBURSED`: money is allocated to an obligation in force but nothing has been
//! paid on it once a set share of the fiscal year has passed (`undisbursed_after_fraction`,
//! half by default). The gap is the whole allocation.

use rust_decimal::Decimal;

use super::facts::PlanFacts;
use super::finding::{Finding, Severity, money, percent};

pub const NAME: &str = "OBLIGATION_UNDISBURSED";
pub const SEVERITY: Severity = Severity::High;

/// The share of the fiscal year after which allocated but unpaid obligation money is flagged
/// (`undisbursed_after_fraction`, from 0 to 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    pub fraction: Decimal,
}

impl Default for After {
    fn default() -> Self {
        After {
            fraction: Decimal::new(5, 1),
        }
    }
}

impl After {
    pub fn check(&self) -> Result<(), String> {
        if self.fraction < Decimal::ZERO || self.fraction > Decimal::ONE {
            return Err("flags.undisbursed_after_fraction must be from 0 to 1".to_owned());
        }
        Ok(())
    }
}

pub fn raise(facts: &PlanFacts, after: &After) -> Vec<Finding> {
    let year = facts.fiscal_year();
    let elapsed = facts.elapsed_share();
    if elapsed < after.fraction {
        return Vec::new();
    }
    facts
        .obligations_in_force()
        .filter(|o| o.allocated.is_positive() && o.disbursed.is_zero())
        .map(|o| {
            let message = format!(
                "{} has {} budgeted in {year} but nothing has been paid out, with {}% of the year gone.",
                o.title,
                money(o.allocated, o.currency),
                percent(elapsed)
            );
            Finding::new(o.subject(), year, message)
                .with_legal_basis(&o.legal_basis)
                .with_gap(Some((o.allocated, o.currency)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::domain::flags::Rule;

    #[test]
    fn unpaid_obligation_money_is_flagged_from_exactly_half_the_year() {
        // 2016 has 366 days; the end of 1 July is day 183, exactly half.
        let mut f = facts("2016-07-01");
        f.obligations.push(obligation("50000", "0", None));
        assert_eq!(rules(&run(&f)), [Rule::ObligationUndisbursed]);
        f.as_of = date("2016-06-30");
        assert!(run(&f).is_empty());
        f.as_of = date("2016-07-01");
        f.obligations[0].disbursed = amount("0.01");
        assert!(run(&f).is_empty());
    }
}
