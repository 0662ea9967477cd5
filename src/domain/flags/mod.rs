//! The flag rules of the contract, as pure functions from a plan's facts at a date to a list
//! of flags. No I/O: the flags service gathers the facts with aggregate queries and converts
//! money to the currency each comparison is made in; everything here is arithmetic on exact
//! amounts and dates, unit-tested on its own.
//!
//! Each rule is one file of this folder: its name in the contract, its severity, its
//! thresholds (when it has any) and the function that raises its findings. The list in
//! `rules!` below names them all once; it makes the [`Rule`] enum, the order in which ties
//! between flags sort, and what [`evaluate`] runs. The facts the rules read are in [`facts`],
//! gathered once per evaluation and shared by every rule that needs them.

use std::cmp::Reverse;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::domain::Currency;
use crate::money::Amount;

mod facts;
mod finding;
mod thresholds;

#[cfg(test)]
mod testing;

pub use facts::{
    ActivityFacts, BudgetLineFacts, CommitmentFacts, IndicatorFacts, InstitutionFacts,
    ObligationFacts, PaidLineFacts, PayeeFacts, PaymentFact, PaymentFacts, PlanFacts, YearEndFacts,
    elapsed_share,
};
pub use finding::{Finding, Severity, Subject};
pub use thresholds::Thresholds;

/// Declares the rule files, the [`Rule`] enum and what a rule means, from one list: each entry
/// is a variant, the module of the rule (which holds its `NAME`, `SEVERITY` and `raise`) and,
/// in parentheses, the field of [`Thresholds`] it reads, when it reads one.
macro_rules! rules {
    ($($(#[$doc:meta])* $variant:ident => $module:ident $(($thresholds:ident))?,)*) => {
        $(pub mod $module;)*

        /// The rules, in the contract's words. Their order is the order in which flags of the
        /// same severity and gap sort.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Rule {
            $($(#[$doc])* $variant,)*
        }

        impl Rule {
            pub const ALL: [Rule; [$(stringify!($variant)),*].len()] = [$(Rule::$variant),*];

            /// The rule's name in the contract (`OBLIGATION_UNFUNDED`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Rule::$variant => $module::NAME,)*
                }
            }

            pub fn severity(self) -> Severity {
                match self {
                    $(Rule::$variant => $module::SEVERITY,)*
                }
            }

            /// What the rule finds in `facts`, with the thresholds it owns.
            fn raise(self, facts: &PlanFacts, thresholds: &Thresholds) -> Vec<Finding> {
                match self {
                    $(Rule::$variant => $module::raise(facts $(, &thresholds.$thresholds)?),)*
                }
            }
        }
    };
}

rules! {
    /// An obligation in force has no positive budget line in the fiscal year.
    ObligationUnfunded => obligation_unfunded,
    /// An obligation's allocation is below its annual minimum.
    ObligationUnderfunded => obligation_underfunded,
    /// An obligation's money is allocated but nothing is paid late in the year.
    ObligationUndisbursed => obligation_undisbursed (obligation_undisbursed),
    /// A planned or ongoing activity of the year has no budget.
    ActivityUnfunded => activity_unfunded,
    /// A budget line has paid out more than its amount.
    Overspent => overspent,
    /// A budget line's execution trails the elapsed share of the year.
    LowExecution => low_execution (low_execution),
    /// A commitment is past due and not fully paid.
    CommitmentOverdue => commitment_overdue,
    /// An institution leading an ongoing activity has had no disbursement for a while.
    InstitutionInactive => institution_inactive (institution_inactive),
    /// An indicator has a target for the reporting year but no actual, well after it ended.
    IndicatorNotReported => indicator_not_reported (indicator_not_reported),
    /// The reporting year's actual misses its target by more than a set share of it.
    IndicatorOffTrack => indicator_off_track (indicator_off_track),
    /// An indicator moved the wrong way while the money spent on what it measures rose.
    ResultsFallAsSpendingRises => results_fall_as_spending_rises,
    /// A payment repeats an earlier one of the same amount to the same payee within days.
    DuplicatePayment => duplicate_payment (duplicate_payment),
    /// Several payments to one payee, each under the review threshold, reach it together.
    SplitPayments => split_payments (split_payments),
    /// A payment is dated before its activity started or after it ended.
    PaymentOutsideActivity => payment_outside_activity,
    /// Much of a budget line's money of last year was paid in the year's final month.
    YearEndSpike => year_end_spike (year_end_spike),
}

/// The three kinds of rules, as the contract groups them and the web filters them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The contract's "Flags": money promised and not given, or not spent.
    FundingGaps,
    /// The results rules: the reporting year's indicators.
    Results,
    /// The integrity rules: red flags in the year's payments.
    Integrity,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::FundingGaps, Kind::Results, Kind::Integrity];

    /// The name used in URLs and JSON (`funding_gaps`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::FundingGaps => "funding_gaps",
            Kind::Results => "results",
            Kind::Integrity => "integrity",
        }
    }

    /// The name people read (`Funding gaps`).
    pub fn label(self) -> &'static str {
        match self {
            Kind::FundingGaps => "Funding gaps",
            Kind::Results => "Results",
            Kind::Integrity => "Integrity",
        }
    }
}

impl std::str::FromStr for Kind {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| {
                format!("\"{text}\" is not a kind of flag (funding_gaps, results, integrity)")
            })
    }
}

impl Rule {
    /// The kind of rule this is.
    pub fn kind(self) -> Kind {
        match self {
            Rule::IndicatorNotReported
            | Rule::IndicatorOffTrack
            | Rule::ResultsFallAsSpendingRises => Kind::Results,
            Rule::DuplicatePayment
            | Rule::SplitPayments
            | Rule::PaymentOutsideActivity
            | Rule::YearEndSpike => Kind::Integrity,
            Rule::ObligationUnfunded
            | Rule::ObligationUnderfunded
            | Rule::ObligationUndisbursed
            | Rule::ActivityUnfunded
            | Rule::Overspent
            | Rule::LowExecution
            | Rule::CommitmentOverdue
            | Rule::InstitutionInactive => Kind::FundingGaps,
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

/// A rule is written as its contract name, in JSON as in CSV.
impl Serialize for Rule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// In the OpenAPI document, a rule is one of the contract's names.
impl utoipa::PartialSchema for Rule {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(Rule::ALL.iter().map(|rule| rule.as_str())))
            .into()
    }
}

impl utoipa::ToSchema for Rule {}

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One flag: what a rule found, under the rule's name and severity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Flag {
    pub rule: Rule,
    /// The kind of its rule: `funding_gaps`, `results` or `integrity`.
    pub kind: Kind,
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

impl Flag {
    fn new(rule: Rule, finding: Finding) -> Flag {
        Flag {
            rule,
            kind: rule.kind(),
            severity: rule.severity(),
            subject: finding.subject,
            fiscal_year: finding.fiscal_year,
            message: finding.message,
            legal_basis: finding.legal_basis,
            gap: finding.gap.map(|(amount, _)| amount),
            currency: finding.gap.map(|(_, currency)| currency),
        }
    }

    /// Most urgent first: by severity, then by the size of the gap (largest first, none
    /// last), then by rule and subject.
    fn urgency(&self) -> (Severity, Reverse<Option<i64>>, Rule, &str) {
        (
            self.severity,
            Reverse(self.gap.map(Amount::units)),
            self.rule,
            &self.subject.code,
        )
    }
}

/// Every flag the rules raise for `facts`, most urgent first: by severity, then by the size
/// of the gap (largest first, none last), then by rule and subject. Flags that tie on all of
/// these keep the order of the facts they came from.
pub fn evaluate(facts: &PlanFacts, thresholds: &Thresholds) -> Vec<Flag> {
    let mut flags: Vec<Flag> = Rule::ALL
        .into_iter()
        .flat_map(|rule| {
            rule.raise(facts, thresholds)
                .into_iter()
                .map(move |finding| Flag::new(rule, finding))
        })
        .collect();
    flags.sort_by(|a, b| a.urgency().cmp(&b.urgency()));
    flags
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

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

    #[test]
    fn every_rule_reads_back_from_its_name_and_serializes_as_it() {
        for rule in Rule::ALL {
            assert_eq!(rule.as_str().parse::<Rule>(), Ok(rule));
            assert_eq!(
                serde_json::to_value(rule).unwrap(),
                serde_json::Value::String(rule.as_str().to_owned())
            );
        }
        assert_eq!(Rule::ALL.len(), 15);
        let integrity = Rule::ALL.iter().filter(|r| r.kind() == Kind::Integrity);
        assert_eq!(integrity.count(), 4);
        let results = Rule::ALL.iter().filter(|r| r.kind() == Kind::Results);
        assert_eq!(results.count(), 3);
        assert!("OBLIGATION".parse::<Rule>().is_err());
    }
}
