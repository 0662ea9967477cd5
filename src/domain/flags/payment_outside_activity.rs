//! `PAYMENT_OUTSIDE_ACTIVITY`: a disbursement is dated before its activity's start date or
//! after its end date (both days belong to the activity). The subject is the disbursement,
//! the gap its amount.

use super::facts::PlanFacts;
use super::finding::{Finding, Severity, money};

pub const NAME: &str = "PAYMENT_OUTSIDE_ACTIVITY";
pub const SEVERITY: Severity = Severity::Medium;

pub fn raise(facts: &PlanFacts) -> Vec<Finding> {
    let year = facts.fiscal_year();
    let p = &facts.payments;
    let mut found = Vec::new();
    for payment in &p.payments {
        let line = p.line(payment);
        let when = if payment.date < line.activity_start {
            let days = (line.activity_start - payment.date).num_days();
            format!(
                "{} before the activity \"{}\" ({}) started on {}",
                days_text(days),
                line.activity_title,
                line.activity_code,
                line.activity_start
            )
        } else if payment.date > line.activity_end {
            let days = (payment.date - line.activity_end).num_days();
            format!(
                "{} after the activity \"{}\" ({}) ended on {}",
                days_text(days),
                line.activity_title,
                line.activity_code,
                line.activity_end
            )
        } else {
            continue;
        };
        let message = format!(
            "{} of {} to {} on {}, on budget line {}, was paid {when}. Check what it paid for.",
            payment.reference,
            money(payment.amount, payment.currency),
            p.payee_name(payment),
            payment.date,
            line.code
        );
        found.push(
            Finding::new(p.subject(payment), year, message)
                .with_gap(Some((payment.amount, payment.currency))),
        );
    }
    found
}

fn days_text(days: i64) -> String {
    match days {
        1 => "1 day".to_owned(),
        n => format!("{n} days"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::domain::flags::Rule;

    #[test]
    fn the_first_and_last_days_of_the_activity_are_inside_and_the_days_around_them_outside() {
        // The activity runs from 2016-03-01 to 2016-10-31.
        let mut f = facts("2016-12-31");
        pay(&mut f, "P-1", "2016-02-29", "100", Some("PRINT"), "BL-1");
        pay(&mut f, "P-2", "2016-03-01", "101", Some("PRINT"), "BL-1");
        pay(&mut f, "P-3", "2016-10-31", "102", Some("PRINT"), "BL-1");
        pay(&mut f, "P-4", "2016-11-01", "250.50", None, "BL-1");
        let flags = run(&f);
        assert_eq!(
            rules(&flags),
            [Rule::PaymentOutsideActivity, Rule::PaymentOutsideActivity]
        );
        let codes: Vec<&str> = flags.iter().map(|f| f.subject.code.as_str()).collect();
        assert_eq!(codes, ["P-4", "P-1"], "the larger gap first");
        assert_eq!(flags[0].gap, Some(amount("250.50")));
        assert_eq!(
            flags[0].message,
            "P-4 of 250.50 EUR to a payee not recorded on 2016-11-01, on budget line BL-1, was \
             paid 1 day after the activity \"Awareness campaign\" (AWARE) ended on 2016-10-31. \
             Check what it paid for."
        );
        assert!(flags[1].message.contains("1 day before the activity"));
    }
}
