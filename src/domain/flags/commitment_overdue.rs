//! `COMMITMENT_OVERDUE`: a commitment is past its due date and less than its amount has been
//! disbursed, since the commitment's date, on budget lines of its activity funded by its
//! funding source. The gap is what is still unpaid, in the commitment's currency.

use super::facts::PlanFacts;
use super::finding::{Finding, Severity, Subject, money};

pub const NAME: &str = "COMMITMENT_OVERDUE";
pub const SEVERITY: Severity = Severity::Medium;

pub fn raise(facts: &PlanFacts) -> Vec<Finding> {
    let year = facts.fiscal_year();
    facts
        .commitments
        .iter()
        .filter(|c| c.due_date < facts.as_of && c.disbursed < c.amount)
        .map(|c| {
            let gap = c.amount.checked_sub(c.disbursed).unwrap_or(c.amount);
            let message = format!(
                "Commitment {} of {} from {} for {} was due on {}; {} has been paid.",
                c.reference,
                money(c.amount, c.currency),
                c.source,
                c.activity,
                c.due_date,
                money(c.disbursed, c.currency)
            );
            let subject = Subject::new("commitment", &c.reference, &c.activity);
            Finding::new(subject, year, message).with_gap(Some((gap, c.currency)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::CommitmentFacts;
    use super::super::testing::*;
    use crate::domain::flags::Rule;

    #[test]
    fn a_commitment_due_today_is_not_yet_overdue() {
        let mut f = facts("2016-06-30");
        f.commitments.push(CommitmentFacts {
            reference: "C-1".into(),
            source: "EU grant".into(),
            activity: "Shelters".into(),
            due_date: date("2016-06-30"),
            amount: amount("1000"),
            currency: eur(),
            disbursed: amount("400"),
        });
        assert!(run(&f).is_empty());
        f.as_of = date("2016-07-01");
        let flags = run(&f);
        assert_eq!(rules(&flags), [Rule::CommitmentOverdue]);
        assert_eq!(flags[0].gap, Some(amount("600")));
        f.commitments[0].disbursed = amount("1000");
        assert!(run(&f).is_empty());
    }
}
