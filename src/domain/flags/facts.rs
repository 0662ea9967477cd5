//! Everything the rules read about one plan on one date. The flags service gathers each kind
//! of fact once per evaluation; every rule that needs a kind reads the same list.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::finding::Subject;
use crate::domain::Currency;
use crate::domain::fiscal::FiscalYearStart;
use crate::money::{Amount, Quantity};

/// A legal obligation, with the money linked to it in the fiscal year, in `currency`.
#[derive(Debug, Clone)]
pub struct ObligationFacts {
    pub code: String,
    pub title: String,
    pub legal_basis: String,
    pub in_force_from: NaiveDate,
    pub annual_minimum: Option<Amount>,
    pub currency: Currency,
    /// The sum of the positive linked budget lines of the year.
    pub allocated: Amount,
    /// Paid on those lines up to the as-of date.
    pub disbursed: Amount,
}

impl ObligationFacts {
    pub fn subject(&self) -> Subject {
        Subject::new("obligation", &self.code, &self.title)
    }
}

#[derive(Debug, Clone)]
pub struct ActivityFacts {
    pub code: String,
    pub title: String,
    pub lead: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub planned_or_ongoing: bool,
    /// Whether some budget line with a positive amount funds it in the fiscal year.
    pub funded: bool,
}

/// A budget line of the fiscal year, with what was paid on it, in its own currency.
#[derive(Debug, Clone)]
pub struct BudgetLineFacts {
    pub code: String,
    pub activity_title: String,
    pub amount: Amount,
    pub currency: Currency,
    pub disbursed: Amount,
}

impl BudgetLineFacts {
    pub fn subject(&self) -> Subject {
        Subject::new("budget_line", &self.code, &self.activity_title)
    }
}

#[derive(Debug, Clone)]
pub struct CommitmentFacts {
    pub reference: String,
    pub source: String,
    pub activity: String,
    pub due_date: NaiveDate,
    pub amount: Amount,
    pub currency: Currency,
    /// Paid since the commitment's date on lines of its activity and funding source.
    pub disbursed: Amount,
}

/// An institution that leads at least one ongoing activity.
#[derive(Debug, Clone)]
pub struct InstitutionFacts {
    pub code: String,
    pub name: String,
    /// Its last disbursement (on activities it leads or paid to it) on or before the date.
    pub last_disbursement: Option<NaiveDate>,
    /// The first day of its ongoing activities: the clock starts there when nothing was paid.
    pub active_since: NaiveDate,
}

/// A results indicator in the reporting year (the fiscal year before the evaluated one), with
/// what it is compared with: the year before's actual, its baseline, and the money of both
/// years. Money is the indicator's money (disbursed up to the as-of date on budget lines of
/// that fiscal year of the activities it measures), in the plan's currency.
#[derive(Debug, Clone)]
pub struct IndicatorFacts {
    pub code: String,
    pub title: String,
    /// True when a higher value is better.
    pub ascending: bool,
    pub target: Option<Quantity>,
    pub actual: Option<Quantity>,
    /// The actual of the year before the reporting year.
    pub previous_actual: Option<Quantity>,
    pub baseline_year: Option<i32>,
    pub baseline_value: Option<Quantity>,
    /// The indicator's money in the reporting year.
    pub money: Amount,
    /// The indicator's money in the year before the reporting year.
    pub previous_money: Amount,
}

impl IndicatorFacts {
    pub fn subject(&self) -> Subject {
        Subject::new("indicator", &self.code, &self.title)
    }
}

/// Everything the rules read about one plan on one date.
#[derive(Debug, Clone)]
pub struct PlanFacts {
    pub plan_code: String,
    pub plan_currency: Currency,
    pub fiscal_year_start: FiscalYearStart,
    pub as_of: NaiveDate,
    pub obligations: Vec<ObligationFacts>,
    pub activities: Vec<ActivityFacts>,
    pub budget_lines: Vec<BudgetLineFacts>,
    pub commitments: Vec<CommitmentFacts>,
    pub institutions: Vec<InstitutionFacts>,
    /// The plan's indicators in the reporting year, in code order.
    pub indicators: Vec<IndicatorFacts>,
    /// What the integrity rules read: the year's payments and last year's final month.
    pub payments: PaymentFacts,
}

impl PlanFacts {
    /// The fiscal year that contains the as-of date: the year the rules evaluate.
    pub fn fiscal_year(&self) -> i32 {
        self.fiscal_year_start.year_of(self.as_of)
    }

    /// The first and last day of [`Self::fiscal_year`] (the as-of date twice outside the
    /// calendar naptrack handles).
    pub fn year_bounds(&self) -> (NaiveDate, NaiveDate) {
        self.fiscal_year_start
            .bounds(self.fiscal_year())
            .unwrap_or((self.as_of, self.as_of))
    }

    /// The fiscal year the results rules look at: the one before [`Self::fiscal_year`].
    pub fn reporting_year(&self) -> i32 {
        self.fiscal_year() - 1
    }

    /// The last day of [`Self::reporting_year`] (`None` outside the calendar naptrack handles).
    pub fn reporting_year_end(&self) -> Option<NaiveDate> {
        self.fiscal_year_start
            .bounds(self.reporting_year())
            .map(|(_, last)| last)
    }

    /// The share of [`Self::fiscal_year`] elapsed at the end of the as-of date.
    pub fn elapsed_share(&self) -> Decimal {
        elapsed_share(self.fiscal_year_start, self.fiscal_year(), self.as_of)
    }

    /// The obligations in force on the as-of date.
    pub fn obligations_in_force(&self) -> impl Iterator<Item = &ObligationFacts> {
        self.obligations
            .iter()
            .filter(|o| o.in_force_from <= self.as_of)
    }
}

/// Whom a payment went to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayeeFacts {
    pub code: String,
    pub name: String,
}

/// The budget line a payment was made on, with the activity it pays for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidLineFacts {
    pub code: String,
    pub activity_code: String,
    pub activity_title: String,
    pub activity_start: NaiveDate,
    pub activity_end: NaiveDate,
}

/// One disbursement the integrity rules look at: dated in the fiscal year, on or before the
/// as-of date, neither a reversal nor reversed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentFact {
    pub reference: String,
    pub date: NaiveDate,
    /// As recorded, in its own currency.
    pub amount: Amount,
    pub currency: Currency,
    /// The amount in the plan currency (the same amount when it is in it).
    pub in_plan_currency: Amount,
    /// An index into [`PaymentFacts::payees`].
    pub payee: Option<usize>,
    /// An index into [`PaymentFacts::lines`].
    pub line: usize,
}

/// What a budget line paid in the fiscal year before the evaluated one, in the plan currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearEndFacts {
    pub code: String,
    pub activity_title: String,
    /// Everything dated in that year (reversals and reversed payments left out).
    pub disbursed: Amount,
    /// The part of it dated in the year's final month.
    pub final_month: Amount,
}

/// The facts of the integrity rules.
#[derive(Debug, Clone, Default)]
pub struct PaymentFacts {
    pub payees: Vec<PayeeFacts>,
    pub lines: Vec<PaidLineFacts>,
    /// In date order, then in the order they were recorded.
    pub payments: Vec<PaymentFact>,
    /// The budget lines that paid anything in the year before, in code order.
    pub year_end: Vec<YearEndFacts>,
}

impl PaymentFacts {
    pub fn payee(&self, payment: &PaymentFact) -> Option<&PayeeFacts> {
        payment.payee.and_then(|i| self.payees.get(i))
    }

    pub fn line(&self, payment: &PaymentFact) -> &PaidLineFacts {
        &self.lines[payment.line]
    }

    /// Whom a payment went to, as a sentence names it: the payee, or "a payee not recorded".
    pub fn payee_name(&self, payment: &PaymentFact) -> &str {
        self.payee(payment)
            .map_or("a payee not recorded", |p| p.name.as_str())
    }

    /// What a disbursement is, as a flag's subject.
    pub fn subject(&self, payment: &PaymentFact) -> Subject {
        Subject::new(
            "disbursement",
            &payment.reference,
            &self.line(payment).activity_title,
        )
    }
}

/// The share of fiscal year `year` elapsed at the end of `as_of`, from 0 to 1: the as-of day
/// counts as elapsed, so on the last day of the year the share is 1.
pub fn elapsed_share(start: FiscalYearStart, year: i32, as_of: NaiveDate) -> Decimal {
    let Some((first, last)) = start.bounds(year) else {
        return Decimal::ZERO;
    };
    let length = (last - first).num_days() + 1;
    let elapsed = ((as_of - first).num_days() + 1).clamp(0, length);
    Decimal::from(elapsed) / Decimal::from(length)
}

#[cfg(test)]
mod tests {
    use super::super::testing::date;
    use super::*;

    #[test]
    fn october_fiscal_years_count_elapsed_time_from_october() {
        let start = FiscalYearStart::new(10).unwrap();
        assert_eq!(
            elapsed_share(start, 2016, date("2015-09-30")),
            Decimal::ZERO
        );
        assert_eq!(elapsed_share(start, 2016, date("2016-09-30")), Decimal::ONE);
        // 2015-10-01 to 2016-03-31 is 183 of the year's 366 days.
        assert_eq!(
            elapsed_share(start, 2016, date("2016-03-31")),
            Decimal::new(5, 1)
        );
    }
}
