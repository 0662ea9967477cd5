//! Facts to build the rules' unit tests from: a 2016 calendar-year plan in EUR, and one
//! obligation and budget line to vary.

use chrono::NaiveDate;

use super::{
    BudgetLineFacts, Flag, IndicatorFacts, ObligationFacts, PaidLineFacts, PayeeFacts, PaymentFact,
    PaymentFacts, PlanFacts, Rule, Thresholds, evaluate,
};
use crate::domain::Currency;
use crate::domain::fiscal::FiscalYearStart;
use crate::money::{Amount, Quantity};

pub fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

pub fn amount(text: &str) -> Amount {
    Amount::parse(text).unwrap()
}

pub fn eur() -> Currency {
    "EUR".parse().unwrap()
}

pub fn facts(as_of: &str) -> PlanFacts {
    PlanFacts {
        plan_code: "NAP".into(),
        plan_currency: eur(),
        fiscal_year_start: FiscalYearStart::new(1).unwrap(),
        as_of: date(as_of),
        obligations: vec![],
        activities: vec![],
        budget_lines: vec![],
        commitments: vec![],
        institutions: vec![],
        indicators: vec![],
        payments: PaymentFacts::default(),
    }
}

pub fn obligation(allocated: &str, disbursed: &str, minimum: Option<&str>) -> ObligationFacts {
    ObligationFacts {
        code: "VCF".into(),
        title: "The victim compensation fund".into(),
        legal_basis: "Law 04/L-218, Article 27".into(),
        in_force_from: date("2015-01-01"),
        annual_minimum: minimum.map(amount),
        currency: eur(),
        allocated: amount(allocated),
        disbursed: amount(disbursed),
    }
}

pub fn line(amount_text: &str, disbursed: &str) -> BudgetLineFacts {
    BudgetLineFacts {
        code: "BL-1".into(),
        activity_title: "Shelters".into(),
        amount: amount(amount_text),
        currency: eur(),
        disbursed: amount(disbursed),
    }
}

pub fn quantity(text: &str) -> Quantity {
    Quantity::parse(text).unwrap()
}

/// "Victims identified", higher is better, with a target and an actual in the reporting year
/// and no year before, no baseline and no money.
pub fn indicator(target: Option<&str>, actual: Option<&str>) -> IndicatorFacts {
    IndicatorFacts {
        code: "IND-VICTIMS".into(),
        title: "Victims identified".into(),
        ascending: true,
        target: target.map(quantity),
        actual: actual.map(quantity),
        previous_actual: None,
        baseline_year: None,
        baseline_value: None,
        money: Amount::ZERO,
        previous_money: Amount::ZERO,
    }
}

pub fn rules(flags: &[Flag]) -> Vec<Rule> {
    flags.iter().map(|f| f.rule).collect()
}

/// Every rule with the contract's thresholds, as the service runs them.
pub fn run(facts: &PlanFacts) -> Vec<Flag> {
    evaluate(facts, &Thresholds::default())
}

/// Records a payment of `amount_text` EUR on budget line `line_code` (of the activity
/// "Awareness campaign", 2016-03-01 to 2016-10-31) to the payee `payee` (named "the {payee}"),
/// or to nobody recorded. Payments must be added in date order, as the service reads them.
pub fn pay(
    f: &mut PlanFacts,
    reference: &str,
    on: &str,
    amount_text: &str,
    payee: Option<&str>,
    line_code: &str,
) {
    let facts = &mut f.payments;
    let payee = payee.map(|code| {
        facts
            .payees
            .iter()
            .position(|p| p.code == code)
            .unwrap_or_else(|| {
                facts.payees.push(PayeeFacts {
                    code: code.into(),
                    name: format!("the {code}"),
                });
                facts.payees.len() - 1
            })
    });
    let line = facts
        .lines
        .iter()
        .position(|l| l.code == line_code)
        .unwrap_or_else(|| {
            facts.lines.push(PaidLineFacts {
                code: line_code.into(),
                activity_code: "AWARE".into(),
                activity_title: "Awareness campaign".into(),
                activity_start: date("2016-03-01"),
                activity_end: date("2016-10-31"),
            });
            facts.lines.len() - 1
        });
    facts.payments.push(PaymentFact {
        reference: reference.into(),
        date: date(on),
        amount: amount(amount_text),
        currency: eur(),
        in_plan_currency: amount(amount_text),
        payee,
        line,
    });
}
