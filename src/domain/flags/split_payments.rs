//! `SPLIT_PAYMENTS`: `count` or more disbursements to one payee (3 by default), each below the
//! review threshold (10000 in the plan currency by default), dated within `days` (14 by
//! default) of the first of them, together reach the threshold. Raised once per payee, whose
//! institution is the subject; the gap is the largest such sum, in the plan currency.
//! Payments without a payee are not counted: nobody can be said to have been paid in parts.

use std::collections::HashMap;

use super::facts::{PaymentFact, PlanFacts};
use super::finding::{Finding, Severity, Subject, money};
use crate::money::Amount;

pub const NAME: &str = "SPLIT_PAYMENTS";
pub const SEVERITY: Severity = Severity::Medium;

/// At most this many of the payments are named in a message; the others are counted.
const NAMED: usize = 10;

/// `split_payments_count` (at least 2), `split_review_threshold` (an amount in the plan
/// currency, above zero) and `split_within_days` (0 to 366).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub count: usize,
    pub threshold: Amount,
    pub days: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            count: 3,
            threshold: Amount::from_units(10_000 * 10_000),
            days: 14,
        }
    }
}

impl Limits {
    pub fn check(&self) -> Result<(), String> {
        if self.count < 2 {
            return Err("flags.split_payments_count must be at least 2".to_owned());
        }
        if !self.threshold.is_positive() {
            return Err("flags.split_review_threshold must be above zero".to_owned());
        }
        if !(0..=366).contains(&self.days) {
            return Err("flags.split_within_days must be from 0 to 366".to_owned());
        }
        Ok(())
    }
}

/// The payments of one window: where it starts and ends in the payee's list, and their sum.
struct Window {
    first: usize,
    end: usize,
    sum: i128,
}

pub fn raise(facts: &PlanFacts, limits: &Limits) -> Vec<Finding> {
    let year = facts.fiscal_year();
    let threshold = i128::from(limits.threshold.units());
    // Each payee's payments below the threshold, in date order.
    let mut by_payee: HashMap<usize, Vec<&PaymentFact>> = HashMap::new();
    for payment in &facts.payments.payments {
        if let Some(payee) = payment.payee
            && payment.in_plan_currency.is_positive()
            && payment.in_plan_currency < limits.threshold
        {
            by_payee.entry(payee).or_default().push(payment);
        }
    }
    let mut payees: Vec<_> = by_payee.into_iter().collect();
    payees.sort_by_key(|(payee, _)| *payee);
    let mut found = Vec::new();
    for (payee, payments) in payees {
        if let Some(window) = largest_window(&payments, limits)
            && window.sum >= threshold
        {
            found.push(finding(facts, year, payee, &payments, &window, limits));
        }
    }
    found
}

/// The window of at least `count` payments, each dated within `days` of the window's first,
/// with the largest sum (the earliest of equal ones). Every window is taken whole from its
/// first payment on, with two cursors over the payee's payments: one pass.
fn largest_window(payments: &[&PaymentFact], limits: &Limits) -> Option<Window> {
    let mut best: Option<Window> = None;
    let mut end = 0;
    let mut sum: i128 = 0;
    for first in 0..payments.len() {
        while end < payments.len()
            && (payments[end].date - payments[first].date).num_days() <= limits.days
        {
            sum += i128::from(payments[end].in_plan_currency.units());
            end += 1;
        }
        if end - first >= limits.count && best.as_ref().is_none_or(|b| sum > b.sum) {
            best = Some(Window { first, end, sum });
        }
        sum -= i128::from(payments[first].in_plan_currency.units());
    }
    best
}

fn finding(
    facts: &PlanFacts,
    year: i32,
    payee: usize,
    payments: &[&PaymentFact],
    window: &Window,
    limits: &Limits,
) -> Finding {
    let currency = facts.plan_currency;
    let payee = &facts.payments.payees[payee];
    let parts = &payments[window.first..window.end];
    let total = Amount::from_units(i64::try_from(window.sum).unwrap_or(i64::MAX));
    let span = (parts[parts.len() - 1].date - parts[0].date).num_days();
    let mut named: Vec<String> = parts
        .iter()
        .take(NAMED)
        .map(|p| {
            format!(
                "{} on {} ({})",
                p.reference,
                p.date,
                money(p.in_plan_currency, currency)
            )
        })
        .collect();
    if parts.len() > NAMED {
        named.push(format!("{} more", parts.len() - NAMED));
    }
    let message = format!(
        "{} received {} payments within {}, each under the review threshold of {} but {} together: {}. Check whether one purchase was split to stay under review.",
        payee.name,
        parts.len(),
        match span {
            0 => "the same day".to_owned(),
            1 => "1 day".to_owned(),
            n => format!("{n} days"),
        },
        money(limits.threshold, currency),
        money(total, currency),
        named.join(", ")
    );
    Finding::new(
        Subject::new("institution", &payee.code, &payee.name),
        year,
        message,
    )
    .with_gap(Some((total, currency)))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{Flag, PlanFacts, Rule, Thresholds, evaluate};
    use super::*;

    fn splits(f: &PlanFacts) -> Vec<Flag> {
        run(f)
            .into_iter()
            .filter(|flag| flag.rule == Rule::SplitPayments)
            .collect()
    }

    #[test]
    fn three_payments_below_the_threshold_reaching_it_exactly_together_are_flagged() {
        let mut f = facts("2016-12-31");
        pay(&mut f, "P-1", "2016-03-01", "3333.33", Some("CATER"), "BL-1");
        pay(&mut f, "P-2", "2016-03-08", "3333.33", Some("CATER"), "BL-2");
        pay(&mut f, "P-3", "2016-03-15", "3333.34", Some("CATER"), "BL-1");
        let flags = splits(&f);
        assert_eq!(flags.len(), 1);
        assert_eq!(flags[0].subject.kind, "institution");
        assert_eq!(flags[0].subject.code, "CATER");
        assert_eq!(flags[0].gap, Some(amount("10000")));
        assert_eq!(
            flags[0].message,
            "the CATER received 3 payments within 14 days, each under the review threshold of \
             10,000.00 EUR but 10,000.00 EUR together: P-1 on 2016-03-01 (3,333.33 EUR), P-2 on \
             2016-03-08 (3,333.33 EUR), P-3 on 2016-03-15 (3,333.34 EUR). Check whether one \
             purchase was split to stay under review."
        );

        f.payments.payments[2].in_plan_currency = amount("3333.33");
        assert!(splits(&f).is_empty(), "9,999.99 together does not reach it");
    }

    #[test]
    fn the_third_payment_must_be_within_14_days_of_the_first() {
        let mut f = facts("2016-12-31");
        pay(&mut f, "P-1", "2016-03-01", "5000", Some("CATER"), "BL-1");
        pay(&mut f, "P-2", "2016-03-02", "5000", Some("CATER"), "BL-1");
        pay(&mut f, "P-3", "2016-03-16", "5000", Some("CATER"), "BL-1");
        assert!(splits(&f).is_empty());
        f.payments.payments[2].date = date("2016-03-15");
        assert_eq!(splits(&f).len(), 1);
    }

    #[test]
    fn a_payment_at_the_threshold_is_not_a_part_and_two_parts_are_not_enough() {
        let mut f = facts("2016-12-31");
        pay(&mut f, "P-1", "2016-03-01", "10000", Some("CATER"), "BL-1");
        pay(&mut f, "P-2", "2016-03-02", "9000", Some("CATER"), "BL-1");
        pay(&mut f, "P-3", "2016-03-03", "9000.01", Some("CATER"), "BL-1");
        assert!(splits(&f).is_empty());
        let thresholds = Thresholds {
            split_payments: Limits {
                count: 2,
                ..Limits::default()
            },
            ..Thresholds::default()
        };
        let flags = evaluate(&f, &thresholds);
        assert_eq!(rules(&flags), [Rule::SplitPayments]);
        assert_eq!(flags[0].gap, Some(amount("18000.01")));
    }

    #[test]
    fn one_flag_per_payee_with_its_largest_sum_and_none_without_a_payee() {
        let mut f = facts("2016-12-31");
        for (n, day) in ["01", "02", "03"].iter().enumerate() {
            pay(&mut f, &format!("A-{n}"), &format!("2016-03-{day}"), "4000", Some("CATER"), "BL-1");
        }
        for (n, day) in ["01", "05", "09", "12"].iter().enumerate() {
            pay(&mut f, &format!("B-{n}"), &format!("2016-06-{day}"), "4000", Some("CATER"), "BL-1");
            pay(&mut f, &format!("C-{n}"), &format!("2016-06-{day}"), "4000", None, "BL-1");
        }
        f.payments.payments.sort_by_key(|p| p.date);
        let flags = splits(&f);
        assert_eq!(flags.len(), 1);
        assert_eq!(flags[0].gap, Some(amount("16000")));
        assert!(flags[0].message.contains("4 payments within 11 days"));
        assert!(!flags[0].message.contains("A-0"));
    }

    #[test]
    fn amounts_are_compared_in_the_plan_currency() {
        let mut f = facts("2016-12-31");
        for (n, day) in ["01", "02", "03"].iter().enumerate() {
            pay(&mut f, &format!("P-{n}"), &format!("2016-03-{day}"), "12000", Some("CATER"), "BL-1");
            let p = f.payments.payments.last_mut().unwrap();
            p.currency = "USD".parse().unwrap();
            p.in_plan_currency = amount("3400");
        }
        assert_eq!(splits(&f)[0].gap, Some(amount("10200")));
    }

    #[test]
    fn the_limits_are_checked() {
        assert!(Limits::default().check().is_ok());
        let bad = [
            Limits { count: 1, ..Limits::default() },
            Limits { threshold: Amount::ZERO, ..Limits::default() },
            Limits { days: 367, ..Limits::default() },
        ];
        assert!(bad.iter().all(|l| l.check().is_err()));
    }
}
