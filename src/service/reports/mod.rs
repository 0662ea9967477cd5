//! The budget-execution report: allocated, committed, disbursed, remaining and execution rate
//! of a plan, by one dimension, in the plan's currency.
//!
//! The database aggregates (GROUP BY over the exact integer money columns); no record is
//! loaded one by one. Conversion follows the contract record by record: each amount in another
//! currency is converted at the rate of its value date and rounded half-to-even to the plan
//! currency's minor unit. To do that without loading the records, foreign-currency amounts
//! are grouped by (row, currency, value date, amount) with a count: every record of such a
//! group converts to the same rounded amount, which is then multiplied by the count. Amounts
//! already in the plan's currency are summed as they are. Every total is the exact sum of the
//! rows shown.
//!
//! Value dates: a budget line converts at the first day of its fiscal year, a commitment at its
//! date, a disbursement at its date. A disbursement counts toward the fiscal year of its budget
//! line; a commitment toward the fiscal year that contains its date.
//!
//! The module follows those seams: `model` (what a report is), `grouped` (allocations and
//! commitments by dimension, and the conversion of a group), `disbursed` with `grouping` (the
//! payments, over covering indexes), `sql_conversion` (their conversion in the database) and
//! `output` (CSV and text). This file puts the columns together into rows and totals.

mod disbursed;
mod grouped;
mod grouping;
mod model;
mod output;
mod sql_conversion;

use std::collections::{BTreeMap, HashMap};

use sea_orm::EntityTrait;

use self::disbursed::disbursed_groups;
use self::grouped::{Group, convert, groups};
use self::model::Measure;
pub use self::model::{Dimension, ExecutionReport, Filters, ReportRow, Totals, execution_rate};
pub use self::output::{write_csv, write_table};
use crate::domain::fiscal::FiscalYearStart;
use crate::entity::{activity, funding_source, institution, objective, plan};
use crate::error::{Error, Result};
use crate::money::Amount;
use crate::service::rates::rate_table;

/// Names of the records the dimension keys refer to.
async fn labels(
    db: &impl crate::db::Reader,
    dimension: Dimension,
) -> Result<HashMap<String, (String, String)>> {
    let map = match dimension {
        Dimension::Objective => objective::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|o| (o.id.to_string(), (o.code, o.title)))
            .collect(),
        Dimension::Activity => activity::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|a| (a.id.to_string(), (a.code, a.title)))
            .collect(),
        Dimension::FundingSource => funding_source::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|f| (f.id.to_string(), (f.code, f.name)))
            .collect(),
        Dimension::Donor | Dimension::Institution => institution::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|i| (i.id.to_string(), (i.code, i.name)))
            .collect(),
        Dimension::Category | Dimension::FiscalYear | Dimension::Month => HashMap::new(),
    };
    Ok(map)
}

/// The execution report of `plan` by `dimension`.
///
/// Invariants: every amount is in the plan's currency; each total is the exact sum of its
/// column; a rate that a conversion needs and that is missing is an error naming the currency
/// and date, never a zero.
pub async fn execution(
    db: &impl crate::db::Reader,
    plan: &plan::Model,
    dimension: Dimension,
    filters: Filters,
) -> Result<ExecutionReport> {
    let fiscal = FiscalYearStart::new(plan.fiscal_year_start_month).ok_or_else(|| {
        Error::Internal(format!("plan {} has no valid fiscal year start", plan.code))
    })?;
    let rates = rate_table(db).await?;
    let names = labels(db, dimension).await?;
    // key → (allocated, committed, disbursed); the empty key holds money the dimension
    // cannot split (commitments have no category; allocations have no month).
    let mut sums: BTreeMap<String, [Amount; 3]> = BTreeMap::new();
    for (index, measure) in [Measure::Allocated, Measure::Committed, Measure::Disbursed]
        .into_iter()
        .enumerate()
    {
        let mut add = |group: Group| -> Result<()> {
            let money = convert(&group, &rates, plan.currency, fiscal)?;
            let key = match (dimension, measure, group.value_date) {
                (Dimension::FiscalYear, Measure::Committed, Some(date)) => {
                    fiscal.year_of(date).to_string()
                }
                _ => group.key.unwrap_or_default(),
            };
            let entry = sums.entry(key).or_insert([Amount::ZERO; 3]);
            entry[index] = entry[index].checked_add(money)?;
            Ok(())
        };
        match measure {
            Measure::Disbursed => {
                disbursed_groups(db, plan, &rates, dimension, &filters, &mut add).await?
            }
            _ => {
                for group in groups(db, plan, fiscal, dimension, measure, &filters).await? {
                    add(group)?;
                }
            }
        }
    }
    let mut rows: Vec<ReportRow> = sums
        .into_iter()
        .map(|(key, [allocated, committed, disbursed])| {
            let (key, label) = match names.get(&key) {
                Some((code, name)) => (code.clone(), name.clone()),
                None if key.is_empty() => (String::new(), unsplit_label(dimension)),
                None => (key.clone(), key),
            };
            let remaining = allocated.checked_sub(disbursed)?;
            Ok(ReportRow {
                key,
                label,
                allocated,
                committed,
                disbursed,
                remaining,
                execution_rate: execution_rate(disbursed, allocated),
            })
        })
        .collect::<Result<_>>()?;
    // Codes in byte order, the row without a key last.
    rows.sort_by(|a, b| (a.key.is_empty(), &a.key).cmp(&(b.key.is_empty(), &b.key)));
    let total = |column: fn(&ReportRow) -> Amount| {
        Amount::checked_sum(rows.iter().map(column)).map_err(Error::from)
    };
    let (allocated, committed, disbursed) = (
        total(|r| r.allocated)?,
        total(|r| r.committed)?,
        total(|r| r.disbursed)?,
    );
    let totals = Totals {
        allocated,
        committed,
        disbursed,
        remaining: total(|r| r.remaining)?,
        execution_rate: execution_rate(disbursed, allocated),
    };
    Ok(ExecutionReport {
        plan: plan.code.clone(),
        currency: plan.currency,
        by: dimension,
        filters,
        rows,
        totals,
    })
}

fn unsplit_label(dimension: Dimension) -> String {
    match dimension {
        Dimension::Category => "Commitments (they have no category)".to_owned(),
        Dimension::Month => "Allocations (budget lines have no month)".to_owned(),
        Dimension::Donor => "No donor (state budget and own funds)".to_owned(),
        _ => "(none)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;

    #[test]
    fn every_dimension_parses_from_its_name() {
        for dimension in Dimension::ALL {
            assert_eq!(
                dimension.as_str().parse::<Dimension>().ok(),
                Some(dimension)
            );
        }
        assert!("pillar".parse::<Dimension>().is_err());
    }

    #[test]
    fn the_execution_rate_is_rounded_to_four_decimals_and_absent_without_allocation() {
        let a = |t: &str| Amount::parse(t).unwrap();
        assert_eq!(execution_rate(a("1"), a("3")), Some(Decimal::new(3333, 4)));
        assert_eq!(execution_rate(a("2"), a("3")), Some(Decimal::new(6667, 4)));
        assert_eq!(execution_rate(a("5"), a("0")), None);
    }
}
