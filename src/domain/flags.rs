//! The flag rules of the contract, as a pure function from a plan's facts at a date to a list
//! of flags. No I/O: the flags service gathers the facts with aggregate queries and converts
//! money to the currency each comparison is made in; everything here is arithmetic on exact
//! amounts and dates, unit-tested on its own.

use std::cmp::Reverse;
use std::fmt;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::Currency;
use crate::domain::fiscal::FiscalYearStart;
use crate::money::Amount;

/// The rules, in the contract's words.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Rule {
    ObligationUnfunded,
    ObligationUnderfunded,
    ObligationUndisbursed,
    ActivityUnfunded,
    Overspent,
    LowExecution,
    CommitmentOverdue,
    InstitutionInactive,
}

impl Rule {
    pub const ALL: [Rule; 8] = [
        Rule::ObligationUnfunded,
        Rule::ObligationUnderfunded,
        Rule::ObligationUndisbursed,
        Rule::ActivityUnfunded,
        Rule::Overspent,
        Rule::LowExecution,
        Rule::CommitmentOverdue,
        Rule::InstitutionInactive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Rule::ObligationUnfunded => "OBLIGATION_UNFUNDED",
            Rule::ObligationUnderfunded => "OBLIGATION_UNDERFUNDED",
            Rule::ObligationUndisbursed => "OBLIGATION_UNDISBURSED",
            Rule::ActivityUnfunded => "ACTIVITY_UNFUNDED",
            Rule::Overspent => "OVERSPENT",
            Rule::LowExecution => "LOW_EXECUTION",
            Rule::CommitmentOverdue => "COMMITMENT_OVERDUE",
            Rule::InstitutionInactive => "INSTITUTION_INACTIVE",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            Rule::ObligationUnfunded => Severity::Critical,
            Rule::ObligationUnderfunded | Rule::ObligationUndisbursed | Rule::Overspent => {
                Severity::High
            }
            Rule::ActivityUnfunded
            | Rule::LowExecution
            | Rule::CommitmentOverdue
            | Rule::InstitutionInactive => Severity::Medium,
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Rule {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Rule::ALL
            .into_iter()
            .find(|rule| rule.as_str() == text)
            .ok_or_else(|| format!("\"{text}\" is not a flag rule"))
    }
}

/// How urgent a flag is; `Critical` sorts first.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| format!("\"{text}\" is not a severity (critical, high, medium, low)"))
    }
}

/// What a flag is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Subject {
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: &'static str,
    pub code: String,
    pub title: String,
}

/// One flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Flag {
    pub rule: Rule,
    pub severity: Severity,
    pub subject: Subject,
    pub fiscal_year: i32,
    pub message: String,
    pub legal_basis: Option<String>,
    /// The money missing or in excess, where it can be computed.
    #[schema(value_type = Option<String>)]
    pub gap: Option<Amount>,
    /// The currency of `gap`.
    #[schema(value_type = Option<String>)]
    pub currency: Option<Currency>,
}

/// The configurable thresholds (`[default.flags]` in Rocket.toml).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thresholds {
    /// How many percentage points a budget line's execution may trail the elapsed share of
    /// the year before `LOW_EXECUTION`.
    pub low_execution_tolerance_points: Decimal,
    /// How many days without a disbursement make a leading institution inactive.
    pub inactive_days: i64,
    /// The share of the fiscal year after which allocated but unpaid obligation money is
    /// flagged.
    pub undisbursed_after_fraction: Decimal,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            low_execution_tolerance_points: Decimal::from(25),
            inactive_days: 180,
            undisbursed_after_fraction: Decimal::new(5, 1),
        }
    }
}

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
}

impl PlanFacts {
    pub fn fiscal_year(&self) -> i32 {
        self.fiscal_year_start.year_of(self.as_of)
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

fn percent(share: Decimal) -> String {
    (share * Decimal::from(100))
        .round_dp(1)
        .normalize()
        .to_string()
}

fn money(amount: Amount, currency: Currency) -> String {
    format!("{} {currency}", amount.grouped())
}

/// Every flag the rules raise for `facts`, most urgent first: by severity, then by the size
/// of the gap (largest first, none last), then by rule and subject.
pub fn evaluate(facts: &PlanFacts, thresholds: &Thresholds) -> Vec<Flag> {
    let year = facts.fiscal_year();
    let elapsed = elapsed_share(facts.fiscal_year_start, year, facts.as_of);
    let mut flags = Vec::new();
    let flag = |rule: Rule,
                subject: Subject,
                message: String,
                legal_basis: Option<String>,
                gap: Option<(Amount, Currency)>| Flag {
        rule,
        severity: rule.severity(),
        subject,
        fiscal_year: year,
        message,
        legal_basis,
        gap: gap.map(|(amount, _)| amount),
        currency: gap.map(|(_, currency)| currency),
    };

    for o in facts
        .obligations
        .iter()
        .filter(|o| o.in_force_from <= facts.as_of)
    {
        let subject = Subject {
            kind: "obligation",
            code: o.code.clone(),
            title: o.title.clone(),
        };
        let basis = Some(o.legal_basis.clone());
        if !o.allocated.is_positive() {
            flags.push(flag(
                Rule::ObligationUnfunded,
                subject,
                format!(
                    "{}, required by {}, has no budget in {year}.",
                    o.title, o.legal_basis
                ),
                basis,
                o.annual_minimum.map(|minimum| (minimum, o.currency)),
            ));
            continue;
        }
        if let Some(minimum) = o.annual_minimum
            && o.allocated < minimum
        {
            let gap = minimum.checked_sub(o.allocated).unwrap_or(minimum);
            flags.push(flag(
                Rule::ObligationUnderfunded,
                subject.clone(),
                format!(
                    "{}, required by {}, has {} budgeted in {year}: {} short of the {} required.",
                    o.title,
                    o.legal_basis,
                    money(o.allocated, o.currency),
                    money(gap, o.currency),
                    money(minimum, o.currency)
                ),
                basis.clone(),
                Some((gap, o.currency)),
            ));
        }
        if o.disbursed.is_zero() && elapsed >= thresholds.undisbursed_after_fraction {
            flags.push(flag(
                Rule::ObligationUndisbursed,
                subject,
                format!(
                    "{} has {} budgeted in {year} but nothing has been paid out, with {}% of the year gone.",
                    o.title,
                    money(o.allocated, o.currency),
                    percent(elapsed)
                ),
                basis,
                Some((o.allocated, o.currency)),
            ));
        }
    }

    let (year_start, year_end) = facts
        .fiscal_year_start
        .bounds(year)
        .unwrap_or((facts.as_of, facts.as_of));
    for a in &facts.activities {
        let runs_in_year = a.start_date <= year_end && a.end_date >= year_start;
        if a.planned_or_ongoing && runs_in_year && !a.funded {
            flags.push(flag(
                Rule::ActivityUnfunded,
                Subject {
                    kind: "activity",
                    code: a.code.clone(),
                    title: a.title.clone(),
                },
                format!(
                    "Activity {} \u{201c}{}\u{201d}, led by {}, has no budget in {year}.",
                    a.code, a.title, a.lead
                ),
                None,
                None,
            ));
        }
    }

    let tolerance = thresholds.low_execution_tolerance_points / Decimal::from(100);
    for line in &facts.budget_lines {
        let subject = Subject {
            kind: "budget_line",
            code: line.code.clone(),
            title: line.activity_title.clone(),
        };
        if line.disbursed > line.amount {
            let gap = line
                .disbursed
                .checked_sub(line.amount)
                .unwrap_or(line.disbursed);
            flags.push(flag(
                Rule::Overspent,
                subject,
                format!(
                    "Budget line {} ({}) has paid out {}, {} more than its {}.",
                    line.code,
                    line.activity_title,
                    money(line.disbursed, line.currency),
                    money(gap, line.currency),
                    money(line.amount, line.currency)
                ),
                None,
                Some((gap, line.currency)),
            ));
            continue;
        }
        if !line.amount.is_positive() {
            continue;
        }
        let rate = line.disbursed.to_decimal() / line.amount.to_decimal();
        if elapsed - rate > tolerance {
            let expected = Amount::from_decimal_rounded(
                line.amount.to_decimal() * elapsed,
                line.currency.minor_units(),
            )
            .unwrap_or(line.amount);
            let gap = expected
                .checked_sub(line.disbursed)
                .ok()
                .filter(|g| g.is_positive());
            flags.push(flag(
                Rule::LowExecution,
                subject,
                format!(
                    "Budget line {} ({}) has paid out {}% of its {} with {}% of {year} gone.",
                    line.code,
                    line.activity_title,
                    percent(rate),
                    money(line.amount, line.currency),
                    percent(elapsed)
                ),
                None,
                gap.map(|g| (g, line.currency)),
            ));
        }
    }

    for c in &facts.commitments {
        if c.due_date < facts.as_of && c.disbursed < c.amount {
            let gap = c.amount.checked_sub(c.disbursed).unwrap_or(c.amount);
            flags.push(flag(
                Rule::CommitmentOverdue,
                Subject {
                    kind: "commitment",
                    code: c.reference.clone(),
                    title: c.activity.clone(),
                },
                format!(
                    "Commitment {} of {} from {} for {} was due on {}; {} has been paid.",
                    c.reference,
                    money(c.amount, c.currency),
                    c.source,
                    c.activity,
                    c.due_date,
                    money(c.disbursed, c.currency)
                ),
                None,
                Some((gap, c.currency)),
            ));
        }
    }

    for i in &facts.institutions {
        let since = i.last_disbursement.unwrap_or(i.active_since);
        let days = (facts.as_of - since).num_days();
        if days >= thresholds.inactive_days {
            let message = match i.last_disbursement {
                Some(last) => format!(
                    "{} leads ongoing activities but has had no disbursement for {days} days, since {last}.",
                    i.name
                ),
                None => format!(
                    "{} leads ongoing activities but has had no disbursement at all in {days} days.",
                    i.name
                ),
            };
            flags.push(flag(
                Rule::InstitutionInactive,
                Subject {
                    kind: "institution",
                    code: i.code.clone(),
                    title: i.name.clone(),
                },
                message,
                None,
                None,
            ));
        }
    }

    flags.sort_by(|a, b| {
        (
            a.severity,
            Reverse(a.gap.map(Amount::units)),
            a.rule,
            &a.subject.code,
        )
            .cmp(&(
                b.severity,
                Reverse(b.gap.map(Amount::units)),
                b.rule,
                &b.subject.code,
            ))
    });
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn amount(text: &str) -> Amount {
        Amount::parse(text).unwrap()
    }

    fn eur() -> Currency {
        "EUR".parse().unwrap()
    }

    fn facts(as_of: &str) -> PlanFacts {
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
        }
    }

    fn obligation(allocated: &str, disbursed: &str, minimum: Option<&str>) -> ObligationFacts {
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

    fn line(amount_text: &str, disbursed: &str) -> BudgetLineFacts {
        BudgetLineFacts {
            code: "BL-1".into(),
            activity_title: "Shelters".into(),
            amount: amount(amount_text),
            currency: eur(),
            disbursed: amount(disbursed),
        }
    }

    fn rules(flags: &[Flag]) -> Vec<Rule> {
        flags.iter().map(|f| f.rule).collect()
    }

    fn run(facts: &PlanFacts) -> Vec<Flag> {
        evaluate(facts, &Thresholds::default())
    }

    #[test]
    fn an_obligation_in_force_without_budget_is_unfunded_with_its_legal_basis() {
        let mut f = facts("2016-03-01");
        f.obligations.push(obligation("0", "0", Some("250000")));
        let flags = run(&f);
        assert_eq!(rules(&flags), [Rule::ObligationUnfunded]);
        assert_eq!(flags[0].severity, Severity::Critical);
        assert_eq!(
            flags[0].legal_basis.as_deref(),
            Some("Law 04/L-218, Article 27")
        );
        assert_eq!(flags[0].gap, Some(amount("250000")));
        assert_eq!(
            flags[0].message,
            "The victim compensation fund, required by Law 04/L-218, Article 27, has no budget in 2016."
        );
    }

    #[test]
    fn an_obligation_not_yet_in_force_is_not_flagged() {
        let mut f = facts("2016-03-01");
        let mut o = obligation("0", "0", None);
        o.in_force_from = date("2016-03-02");
        f.obligations.push(o);
        assert!(run(&f).is_empty());
    }

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

    #[test]
    fn a_planned_or_ongoing_activity_of_the_year_without_budget_is_unfunded() {
        let mut f = facts("2016-03-01");
        let activity = ActivityFacts {
            code: "PROT-10".into(),
            title: "Compensation fund".into(),
            lead: "Ministry of Justice".into(),
            start_date: date("2015-01-01"),
            end_date: date("2019-12-31"),
            planned_or_ongoing: true,
            funded: false,
        };
        f.activities.push(activity.clone());
        assert_eq!(rules(&run(&f)), [Rule::ActivityUnfunded]);
        f.activities[0].funded = true;
        assert!(run(&f).is_empty());
        f.activities[0] = ActivityFacts {
            planned_or_ongoing: false,
            ..activity.clone()
        };
        assert!(run(&f).is_empty());
        f.activities[0] = ActivityFacts {
            end_date: date("2015-12-31"),
            ..activity
        };
        assert!(run(&f).is_empty());
    }

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

    #[test]
    fn an_institution_without_a_disbursement_for_the_set_period_is_inactive() {
        let mut f = facts("2016-07-10");
        f.institutions.push(InstitutionFacts {
            code: "NATA".into(),
            name: "The national anti-trafficking agency".into(),
            last_disbursement: Some(date("2016-01-12")),
            active_since: date("2015-01-01"),
        });
        // 2016-01-12 to 2016-07-10 is 180 days.
        assert_eq!(rules(&run(&f)), [Rule::InstitutionInactive]);
        f.as_of = date("2016-07-09");
        assert!(run(&f).is_empty());
    }

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

    #[test]
    fn flags_sort_by_severity_then_by_gap() {
        let mut f = facts("2016-07-01");
        f.budget_lines.push(BudgetLineFacts {
            code: "BL-2".into(),
            ..line("10", "20")
        });
        f.budget_lines.push(line("1000", "2000"));
        f.obligations.push(obligation("0", "0", Some("5")));
        let flags = run(&f);
        assert_eq!(
            rules(&flags),
            [Rule::ObligationUnfunded, Rule::Overspent, Rule::Overspent]
        );
        assert_eq!(flags[1].subject.code, "BL-1");
    }
}
