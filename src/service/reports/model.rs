//! What an execution report is: the dimension its rows split by, the filters it applies, its
//! rows and totals, and the measures (allocated, committed, disbursed) its queries aggregate.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use crate::domain::Currency;
use crate::error::{Error, Result};
use crate::money::Amount;

/// What the rows of a report are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Dimension {
    Objective,
    Activity,
    FundingSource,
    Donor,
    Institution,
    Category,
    FiscalYear,
    Month,
}

impl Dimension {
    pub const ALL: [Dimension; 8] = [
        Dimension::Objective,
        Dimension::Activity,
        Dimension::FundingSource,
        Dimension::Donor,
        Dimension::Institution,
        Dimension::Category,
        Dimension::FiscalYear,
        Dimension::Month,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Objective => "objective",
            Dimension::Activity => "activity",
            Dimension::FundingSource => "funding-source",
            Dimension::Donor => "donor",
            Dimension::Institution => "institution",
            Dimension::Category => "category",
            Dimension::FiscalYear => "fiscal-year",
            Dimension::Month => "month",
        }
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Dimension {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        Dimension::ALL
            .into_iter()
            .find(|d| d.as_str() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Dimension::ALL.iter().map(|d| d.as_str()).collect();
                Error::BadRequest(format!(
                    "\"{text}\" is not a dimension; use one of: {}",
                    names.join(", ")
                ))
            })
    }
}

/// Which records a report covers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
pub struct Filters {
    pub fiscal_year: Option<i32>,
    /// Disbursements dated on or after this day.
    pub from: Option<NaiveDate>,
    /// Disbursements dated on or before this day.
    pub to: Option<NaiveDate>,
    /// Only money from this funding source (its code).
    pub funding_source: Option<String>,
    /// Only money from this donor (an institution code).
    pub donor: Option<String>,
}

/// One row: a value of the dimension and its money, in the plan's currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReportRow {
    pub key: String,
    pub label: String,
    #[schema(value_type = String)]
    pub allocated: Amount,
    #[schema(value_type = String)]
    pub committed: Amount,
    #[schema(value_type = String)]
    pub disbursed: Amount,
    #[schema(value_type = String)]
    pub remaining: Amount,
    /// Disbursed ÷ allocated, to four decimals; none when nothing is allocated.
    #[schema(value_type = Option<String>)]
    pub execution_rate: Option<Decimal>,
}

/// The totals row: the exact sums of the rows' columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Totals {
    #[schema(value_type = String)]
    pub allocated: Amount,
    #[schema(value_type = String)]
    pub committed: Amount,
    #[schema(value_type = String)]
    pub disbursed: Amount,
    #[schema(value_type = String)]
    pub remaining: Amount,
    #[schema(value_type = Option<String>)]
    pub execution_rate: Option<Decimal>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExecutionReport {
    pub plan: String,
    #[schema(value_type = String)]
    pub currency: Currency,
    pub by: Dimension,
    pub filters: Filters,
    pub rows: Vec<ReportRow>,
    pub totals: Totals,
}

/// Disbursed ÷ allocated to four decimals, half-to-even; none without an allocation.
pub fn execution_rate(disbursed: Amount, allocated: Amount) -> Option<Decimal> {
    allocated.is_positive().then(|| {
        (disbursed.to_decimal() / allocated.to_decimal())
            .round_dp_with_strategy(4, RoundingStrategy::MidpointNearestEven)
    })
}

/// The money a query aggregates: one column of the report.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Measure {
    Allocated,
    Committed,
    Disbursed,
}
