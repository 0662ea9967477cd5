//! `DUPLICATE_PAYMENT`: a disbursement has the same amount and currency as an earlier one to
//! the same payee (with no payee: on the same budget line), dated within a set number of days
//! of it (`duplicate_within_days`, 7 by default). The subject is the later disbursement, the
//! gap its amount. Reversals and reversed disbursements are not among the facts: a duplicate
//! that was reversed is not flagged.

use std::collections::HashMap;

use super::facts::{PaymentFact, PlanFacts};
use super::finding::{Finding, Severity, money};
use crate::domain::Currency;
use crate::money::Amount;

pub const NAME: &str = "DUPLICATE_PAYMENT";
pub const SEVERITY: Severity = Severity::High;

/// How many days apart two equal payments may be and still be a duplicate
/// (`duplicate_within_days`, from 0, the same day only, to 366).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Within {
    pub days: i64,
}

impl Default for Within {
    fn default() -> Self {
        Within { days: 7 }
    }
}

impl Within {
    pub fn check(&self) -> Result<(), String> {
        if !(0..=366).contains(&self.days) {
            return Err("flags.duplicate_within_days must be from 0 to 366".to_owned());
        }
        Ok(())
    }
}

/// Who was paid: the payee, or the budget line when no payee is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum PaidTo {
    Payee(usize),
    Line(usize),
}

pub fn raise(facts: &PlanFacts, within: &Within) -> Vec<Finding> {
    let year = facts.fiscal_year();
    let mut latest: HashMap<(PaidTo, Amount, Currency), &PaymentFact> = HashMap::new();
    let mut found = Vec::new();
    // The payments are in date order: the one a key last held is the nearest earlier one.
    for payment in &facts.payments.payments {
        let to = payment
            .payee
            .map_or(PaidTo::Line(payment.line), PaidTo::Payee);
        let key = (to, payment.amount, payment.currency);
        if let Some(earlier) = latest.insert(key, payment) {
            let days = (payment.date - earlier.date).num_days();
            if days <= within.days {
                found.push(finding(facts, year, earlier, payment, days));
            }
        }
    }
    found
}

fn finding(
    facts: &PlanFacts,
    year: i32,
    earlier: &PaymentFact,
    later: &PaymentFact,
    days: i64,
) -> Finding {
    let p = &facts.payments;
    let amount = money(later.amount, later.currency);
    let when = match days {
        0 => "twice on the same day".to_owned(),
        1 => "twice within 1 day".to_owned(),
        n => format!("twice within {n} days"),
    };
    let pair = format!(
        "{} on {} and {} on {}",
        earlier.reference, earlier.date, later.reference, later.date
    );
    let line = p.line(later);
    let message = match p.payee(later) {
        Some(payee) => format!(
            "{} was paid {amount} {when}: {pair}, on budget line {} ({}). Check that the second payment is not a duplicate, or reverse it.",
            payee.name, line.code, line.activity_title
        ),
        None => format!(
            "Budget line {} ({}) paid {amount} {when} to no recorded payee: {pair}. Check that the second payment is not a duplicate, or reverse it.",
            line.code, line.activity_title
        ),
    };
    Finding::new(p.subject(later), year, message).with_gap(Some((later.amount, later.currency)))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;
    use crate::domain::flags::{Rule, evaluate};

    fn duplicates(f: &PlanFacts) -> Vec<String> {
        run(f)
            .into_iter()
            .filter(|flag| flag.rule == Rule::DuplicatePayment)
            .map(|flag| flag.subject.code)
            .collect()
    }

    #[test]
    fn the_same_amount_to_the_same_payee_7_days_apart_is_a_duplicate_and_8_is_not() {
        let mut f = facts("2016-12-31");
        pay(&mut f, "P-1", "2016-05-09", "8400.00", Some("PRINT"), "BL-1");
        pay(&mut f, "P-2", "2016-05-16", "8400.00", Some("PRINT"), "BL-2");
        pay(&mut f, "P-3", "2016-06-01", "8400.00", Some("PRINT"), "BL-1");
        pay(&mut f, "P-4", "2016-06-09", "8400.00", Some("PRINT"), "BL-1");
        let flags = run(&f);
        assert_eq!(duplicates(&f), ["P-2"]);
        let flag = flags.iter().find(|f| f.subject.code == "P-2").unwrap();
        assert_eq!(flag.subject.kind, "disbursement");
        assert_eq!(flag.gap, Some(amount("8400")));
        assert_eq!(
            flag.message,
            "the PRINT was paid 8,400.00 EUR twice within 7 days: P-1 on 2016-05-09 and P-2 on \
             2016-05-16, on budget line BL-2 (Awareness campaign). Check that the second payment \
             is not a duplicate, or reverse it."
        );
    }

    #[test]
    fn another_amount_payee_or_currency_is_no_duplicate() {
        let mut f = facts("2016-12-31");
        pay(&mut f, "P-1", "2016-05-09", "8400.00", Some("PRINT"), "BL-1");
        pay(&mut f, "P-2", "2016-05-09", "8400.01", Some("PRINT"), "BL-1");
        pay(&mut f, "P-3", "2016-05-09", "8400.00", Some("CATER"), "BL-1");
        pay(&mut f, "P-4", "2016-05-09", "8400.00", None, "BL-1");
        pay(&mut f, "P-5", "2016-05-09", "8400.00", Some("PRINT"), "BL-1");
        f.payments.payments[4].currency = "USD".parse().unwrap();
        assert!(duplicates(&f).is_empty());
    }

    #[test]
    fn with_no_payee_the_same_budget_line_is_the_same_payee() {
        let mut f = facts("2016-12-31");
        pay(&mut f, "P-1", "2016-05-09", "120.00", None, "BL-1");
        pay(&mut f, "P-2", "2016-05-09", "120.00", None, "BL-2");
        pay(&mut f, "P-3", "2016-05-10", "120.00", None, "BL-1");
        assert_eq!(duplicates(&f), ["P-3"]);
        let flags = run(&f);
        assert!(flags[0].message.starts_with(
            "Budget line BL-1 (Awareness campaign) paid 120.00 EUR twice within 1 day to no recorded payee: P-1 on 2016-05-09 and P-3 on 2016-05-10."
        ));
    }

    #[test]
    fn a_third_equal_payment_is_flagged_against_the_nearest_earlier_one() {
        let mut f = facts("2016-12-31");
        pay(&mut f, "P-1", "2016-05-01", "50.00", Some("PRINT"), "BL-1");
        pay(&mut f, "P-2", "2016-05-06", "50.00", Some("PRINT"), "BL-1");
        pay(&mut f, "P-3", "2016-05-12", "50.00", Some("PRINT"), "BL-1");
        assert_eq!(duplicates(&f), ["P-2", "P-3"]);
        assert!(run(&f)[1].message.contains("P-2 on 2016-05-06 and P-3 on 2016-05-12"));
    }

    #[test]
    fn the_window_is_configurable() {
        let mut f = facts("2016-12-31");
        pay(&mut f, "P-1", "2016-05-01", "50.00", Some("PRINT"), "BL-1");
        pay(&mut f, "P-2", "2016-05-02", "50.00", Some("PRINT"), "BL-1");
        let thresholds = Thresholds {
            duplicate_payment: Within { days: 0 },
            ..Thresholds::default()
        };
        assert!(evaluate(&f, &thresholds).is_empty());
        assert!(Within { days: -1 }.check().is_err());
        assert!(Within { days: 0 }.check().is_ok());
    }

    use super::super::Thresholds;
}
