//! The plan's indicators in the reporting year (the fiscal year before the evaluated one): the
//! facts of the results rules. A plan without indicators costs one small query; otherwise the
//! money is read with two execution reports by activity (the reporting year and the year
//! before, each up to the as-of date), never once per indicator.

use crate::db::Reader;
use chrono::NaiveDate;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::domain::flags::IndicatorFacts;
use crate::entity::{indicator, plan};
use crate::error::Result;
use crate::service::results::{disbursed_by_activity, measured_indicators, money_of, values};

/// The indicators of `plan` in code order, with their values of `reporting_year` and of the
/// year before, and their money in both years: disbursed on or before `as_of` on budget lines
/// of that fiscal year of the activities each measures, in the plan's currency.
pub async fn gather(
    db: &impl Reader,
    plan: &plan::Model,
    reporting_year: i32,
    as_of: NaiveDate,
) -> Result<Vec<IndicatorFacts>> {
    let count = indicator::Entity::find()
        .filter(indicator::Column::PlanId.eq(plan.id))
        .count(db)
        .await?;
    if count == 0 {
        return Ok(Vec::new());
    }
    let previous_year = reporting_year - 1;
    let measured = measured_indicators(db, plan).await?;
    let values = values(db, measured.iter().map(|m| m.indicator.id)).await?;
    let money = disbursed_by_activity(db, plan, reporting_year, Some(as_of)).await?;
    let previous_money = disbursed_by_activity(db, plan, previous_year, Some(as_of)).await?;
    measured
        .iter()
        .map(|m| {
            let i = &m.indicator;
            let this_year = values.get(&(i.id, reporting_year));
            let year_before = values.get(&(i.id, previous_year));
            Ok(IndicatorFacts {
                code: i.code.clone(),
                title: i.title.clone(),
                ascending: i.ascending,
                target: this_year.and_then(|v| v.target),
                actual: this_year.and_then(|v| v.actual),
                previous_actual: year_before.and_then(|v| v.actual),
                baseline_year: i.baseline_year,
                baseline_value: i.baseline_value,
                money: money_of(m, &money)?,
                previous_money: money_of(m, &previous_money)?,
            })
        })
        .collect()
}
