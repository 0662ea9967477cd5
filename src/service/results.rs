//! The results report: for each indicator and fiscal year, its baseline, target and actual,
//! how much of the target was achieved, the money disbursed on what it measures, and what one
//! unit of result cost.
//!
//! The money of an indicator in a fiscal year is the disbursed money of the execution report
//! (by activity, that fiscal year) summed over the activities it measures: its activity, or
//! every activity of its objective and of the objective's sub-objectives. So it is converted
//! and rounded by the same rules, and a donor finds the same figures in both reports.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde::Serialize;

use crate::domain::fiscal::FiscalYearStart;
use crate::domain::records::guard_formula;
use crate::domain::results::{achievement, cost_per_unit};
use crate::domain::{Currency, Measure, ResultType};
use crate::entity::{activity, indicator, indicator_value, objective, plan};
use crate::error::{Error, Result};
use crate::money::{Amount, Quantity};
use crate::service::reports::{self, Dimension, Filters};

/// One indicator in one fiscal year. In JSON every number but `fiscal_year` is an exact
/// decimal string and every absent value is null, as the contract's results report says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ResultsRow {
    pub indicator: String,
    pub title: String,
    /// output, outcome or impact.
    #[schema(value_type = String)]
    pub result_type: ResultType,
    /// unit or percentage.
    #[schema(value_type = String)]
    pub measure: Measure,
    /// Whether a higher actual is better.
    pub ascending: bool,
    pub unit: Option<String>,
    pub fiscal_year: i32,
    #[schema(value_type = Option<String>)]
    pub baseline: Option<Quantity>,
    #[schema(value_type = Option<String>)]
    pub target: Option<Quantity>,
    #[schema(value_type = Option<String>)]
    pub actual: Option<Quantity>,
    /// Percent of the target achieved, one decimal, 100 = on target, higher = better.
    #[schema(value_type = Option<String>)]
    pub achievement: Option<Decimal>,
    /// The indicator's money in that year, in the plan's currency.
    #[schema(value_type = String)]
    pub disbursed: Amount,
    /// `disbursed ÷ actual`, for `unit` indicators with a positive actual.
    #[schema(value_type = Option<String>)]
    pub cost_per_unit: Option<Amount>,
}

/// The results report of one plan, in its currency; `fiscal_year` is the year asked for.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ResultsReport {
    pub plan: String,
    pub fiscal_year: Option<i32>,
    #[schema(value_type = String)]
    pub currency: Currency,
    pub rows: Vec<ResultsRow>,
}

/// An indicator with the activities whose money it measures.
pub struct MeasuredIndicator {
    pub indicator: indicator::Model,
    pub activity_ids: BTreeSet<i32>,
}

/// The indicators of `plan` in code order, each with the ids of the activities it measures:
/// its own activity, or every activity of its objective and of that objective's descendants.
pub async fn measured_indicators(
    db: &impl crate::db::Reader,
    plan: &plan::Model,
) -> Result<Vec<MeasuredIndicator>> {
    let indicators = indicator::Entity::find()
        .filter(indicator::Column::PlanId.eq(plan.id))
        .all(db)
        .await?;
    let (objectives, activities) = plan_tree(db, plan).await?;
    let mut activities_of: HashMap<i32, Vec<i32>> = HashMap::new();
    for a in &activities {
        activities_of.entry(a.objective_id).or_default().push(a.id);
    }
    let tree: Vec<(i32, Option<i32>)> = objectives.iter().map(|o| (o.id, o.parent_id)).collect();
    let mut measured: Vec<MeasuredIndicator> = indicators
        .into_iter()
        .map(|indicator| {
            let mut activity_ids: BTreeSet<i32> = indicator.activity_id.into_iter().collect();
            if let Some(root) = indicator.objective_id {
                for objective_id in descendants(root, tree.iter().copied()) {
                    activity_ids.extend(activities_of.get(&objective_id).into_iter().flatten());
                }
            }
            MeasuredIndicator {
                indicator,
                activity_ids,
            }
        })
        .collect();
    // Byte order of the codes on every backend (PostgreSQL's ORDER BY follows a collation).
    measured.sort_by(|a, b| a.indicator.code.cmp(&b.indicator.code));
    Ok(measured)
}

/// The disbursed money of each activity (by id) in fiscal year `year`, in the plan's
/// currency, counting disbursements dated on or before `to` when given.
pub async fn disbursed_by_activity(
    db: &impl crate::db::Reader,
    plan: &plan::Model,
    year: i32,
    to: Option<NaiveDate>,
) -> Result<HashMap<i32, Amount>> {
    let filters = Filters {
        fiscal_year: Some(year),
        to,
        ..Filters::default()
    };
    let report = reports::execution(db, plan, Dimension::Activity, filters).await?;
    let ids: HashMap<String, i32> = activity::Entity::find()
        .filter(activity::Column::PlanId.eq(plan.id))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.code, a.id))
        .collect();
    Ok(report
        .rows
        .into_iter()
        .filter_map(|row| ids.get(&row.key).map(|id| (*id, row.disbursed)))
        .collect())
}

/// The money of `measured` given each activity's disbursed money of one year: the exact sum
/// over the activities it measures.
pub fn money_of(
    measured: &MeasuredIndicator,
    by_activity: &HashMap<i32, Amount>,
) -> Result<Amount> {
    Amount::checked_sum(
        measured
            .activity_ids
            .iter()
            .filter_map(|id| by_activity.get(id).copied()),
    )
    .map_err(|e| Error::Internal(e.to_string()))
}

/// The values of the indicators of `plan`, by indicator id and fiscal year.
pub async fn values(
    db: &impl crate::db::Reader,
    indicator_ids: impl IntoIterator<Item = i32>,
) -> Result<BTreeMap<(i32, i32), indicator_value::Model>> {
    let ids: Vec<i32> = indicator_ids.into_iter().collect();
    Ok(indicator_value::Entity::find()
        .filter(indicator_value::Column::IndicatorId.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|v| ((v.indicator_id, v.fiscal_year), v))
        .collect())
}

/// The indicator `code` of `plan` with its stored target and actual for `fiscal_year`, if
/// it has any; what the form to enter or correct a year's values starts from. An unknown
/// indicator is not found.
pub async fn indicator_year(
    db: &DatabaseConnection,
    plan: &plan::Model,
    code: &str,
    fiscal_year: i32,
) -> Result<(indicator::Model, Option<indicator_value::Model>)> {
    let indicator = indicator::Entity::find()
        .filter(indicator::Column::PlanId.eq(plan.id))
        .filter(indicator::Column::Code.eq(code))
        .one(db)
        .await?
        .ok_or_else(|| {
            Error::NotFound(format!(
                "there is no indicator {code} in plan {}",
                plan.code
            ))
        })?;
    let value = indicator_value::Entity::find()
        .filter(indicator_value::Column::IndicatorId.eq(indicator.id))
        .filter(indicator_value::Column::FiscalYear.eq(fiscal_year))
        .one(db)
        .await?;
    Ok((indicator, value))
}

/// One fiscal year of one indicator, with the money disbursed on what it measures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicatorYear {
    pub fiscal_year: i32,
    pub target: Option<Quantity>,
    pub actual: Option<Quantity>,
    pub achievement: Option<Decimal>,
    pub disbursed: Amount,
    pub cost_per_unit: Option<Amount>,
}

/// An indicator with every fiscal year of its plan (and any other year it has values for).
pub struct IndicatorResults {
    pub measured: MeasuredIndicator,
    pub years: Vec<IndicatorYear>,
}

/// The fiscal years of `plan`, from the one containing its start date to the one containing
/// its end date.
pub fn plan_years(plan: &plan::Model) -> Result<Vec<i32>> {
    let fiscal = FiscalYearStart::new(plan.fiscal_year_start_month).ok_or_else(|| {
        Error::Internal(format!("plan {} has no valid fiscal year start", plan.code))
    })?;
    Ok((fiscal.year_of(plan.start_date)..=fiscal.year_of(plan.end_date)).collect())
}

/// Every indicator of `plan` in code order with each of the plan's fiscal years: target,
/// actual, achievement, the money disbursed on what it measures, and the cost per unit.
///
/// Invariants: achievement and cost per unit are computed exactly from the stored values and
/// rounded half-to-even once (one decimal; the currency's minor unit); the money is the sum of
/// the execution report's disbursed money over the activities the indicator measures.
pub async fn plan_results(
    db: &DatabaseConnection,
    plan: &plan::Model,
) -> Result<Vec<IndicatorResults>> {
    let measured = measured_indicators(db, plan).await?;
    let values = values(db, measured.iter().map(|m| m.indicator.id)).await?;
    let mut years: BTreeSet<i32> = plan_years(plan)?.into_iter().collect();
    years.extend(values.keys().map(|(_, year)| *year));
    let mut money_by_year = HashMap::new();
    if !measured.is_empty() {
        for year in &years {
            money_by_year.insert(*year, disbursed_by_activity(db, plan, *year, None).await?);
        }
    }
    let minor_units = plan.currency.minor_units();
    measured
        .into_iter()
        .map(|m| {
            let i = &m.indicator;
            let years = years
                .iter()
                .map(|year| {
                    let value = values.get(&(i.id, *year));
                    let (target, actual) =
                        (value.and_then(|v| v.target), value.and_then(|v| v.actual));
                    let disbursed = money_by_year
                        .get(year)
                        .map_or(Ok(Amount::ZERO), |by_activity| money_of(&m, by_activity))?;
                    Ok(IndicatorYear {
                        fiscal_year: *year,
                        target,
                        actual,
                        achievement: target
                            .zip(actual)
                            .and_then(|(t, a)| achievement(t, a, i.ascending)),
                        disbursed,
                        cost_per_unit: actual
                            .filter(|_| i.measure == Measure::Unit)
                            .and_then(|a| cost_per_unit(disbursed, a, minor_units)),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(IndicatorResults { measured: m, years })
        })
        .collect()
}

/// The results report of `plan`: one row per indicator and fiscal year that has a target or
/// an actual (only `fiscal_year` when given), in indicator code and year order, computed as
/// [`plan_results`] computes them.
pub async fn results(
    db: &DatabaseConnection,
    plan: &plan::Model,
    fiscal_year: Option<i32>,
) -> Result<ResultsReport> {
    let mut rows = Vec::new();
    for result in plan_results(db, plan).await? {
        let i = &result.measured.indicator;
        for year in result.years {
            if year.target.is_none() && year.actual.is_none() {
                continue;
            }
            if fiscal_year.is_some_and(|wanted| wanted != year.fiscal_year) {
                continue;
            }
            rows.push(ResultsRow {
                indicator: i.code.clone(),
                title: i.title.clone(),
                result_type: i.result_type,
                measure: i.measure,
                ascending: i.ascending,
                unit: i.unit.clone(),
                fiscal_year: year.fiscal_year,
                baseline: i.baseline_value,
                target: year.target,
                actual: year.actual,
                achievement: year.achievement,
                disbursed: year.disbursed,
                cost_per_unit: year.cost_per_unit,
            });
        }
    }
    Ok(ResultsReport {
        plan: plan.code.clone(),
        fiscal_year,
        currency: plan.currency,
        rows,
    })
}

/// The CSV and JSON columns of the report, in the contract's order.
pub const COLUMNS: [&str; 13] = [
    "indicator",
    "title",
    "result_type",
    "measure",
    "ascending",
    "unit",
    "fiscal_year",
    "baseline",
    "target",
    "actual",
    "achievement",
    "disbursed",
    "cost_per_unit",
];

fn text<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// The row's cells in the order of [`COLUMNS`], exact and locale-free.
fn cells(row: &ResultsRow) -> [String; 13] {
    [
        row.indicator.clone(),
        row.title.clone(),
        row.result_type.to_string(),
        row.measure.to_string(),
        row.ascending.to_string(),
        row.unit.clone().unwrap_or_default(),
        row.fiscal_year.to_string(),
        text(row.baseline),
        text(row.target),
        text(row.actual),
        text(row.achievement),
        row.disbursed.to_string(),
        text(row.cost_per_unit),
    ]
}

/// The report as CSV: the header of [`COLUMNS`], then one line per row; text cells guarded
/// against formulas like every export, numbers written plain.
pub fn write_csv<W: std::io::Write>(report: &ResultsReport, out: W) -> Result<()> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(out);
    let io = |e: csv::Error| Error::Io(std::io::Error::other(e));
    writer.write_record(COLUMNS).map_err(io)?;
    for row in &report.rows {
        let mut cells = cells(row);
        // Text cells are guarded; numbers (which may start with "-") are written plain.
        for text in [0, 1, 5] {
            cells[text] = guard_formula(&cells[text]).into_owned();
        }
        writer.write_record(&cells).map_err(io)?;
    }
    writer.flush()?;
    Ok(())
}

/// The report as an aligned text table for a terminal.
pub fn write_table<W: std::io::Write>(report: &ResultsReport, mut out: W) -> Result<()> {
    let header = [
        "indicator",
        "year",
        "baseline",
        "target",
        "actual",
        "achieved",
        "disbursed",
        "per unit",
    ];
    let lines: Vec<[String; 8]> = report
        .rows
        .iter()
        .map(|row| {
            [
                row.indicator.clone(),
                row.fiscal_year.to_string(),
                text(row.baseline),
                text(row.target),
                text(row.actual),
                row.achievement
                    .map(|a| format!("{a}%"))
                    .unwrap_or_else(|| "-".to_owned()),
                row.disbursed.grouped(),
                row.cost_per_unit
                    .map(Amount::grouped)
                    .unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let year = report
        .fiscal_year
        .map(|y| format!(", fiscal year {y}"))
        .unwrap_or_default();
    writeln!(
        out,
        "Results of plan {}{year}, money in {}",
        report.plan, report.currency
    )?;
    let print = |out: &mut W, cells: &[String]| -> std::io::Result<()> {
        let line: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, width))| {
                if i == 0 {
                    format!("{cell:<width$}")
                } else {
                    format!("{cell:>width$}")
                }
            })
            .collect();
        writeln!(out, "{}", line.join("  "))
    };
    print(&mut out, &header.map(str::to_owned))?;
    for line in &lines {
        print(&mut out, line)?;
    }
    Ok(())
}

/// The codes of a plan's activities and of its objectives, by id.
pub struct PlanCodes {
    pub activities: HashMap<i32, String>,
    pub objectives: HashMap<i32, String>,
}

impl PlanCodes {
    pub fn activity(&self, id: i32) -> &str {
        self.activities.get(&id).map_or("", String::as_str)
    }

    pub fn objective(&self, id: i32) -> &str {
        self.objectives.get(&id).map_or("", String::as_str)
    }
}

/// The codes of `plan`'s activities and objectives.
pub async fn plan_codes(db: &DatabaseConnection, plan: &plan::Model) -> Result<PlanCodes> {
    let (objectives, activities) = plan_tree(db, plan).await?;
    Ok(PlanCodes {
        activities: activities.into_iter().map(|a| (a.id, a.code)).collect(),
        objectives: objectives.into_iter().map(|o| (o.id, o.code)).collect(),
    })
}

/// The ids of the activities that one activity's or one objective's work covers (the
/// objective's and its sub-objectives' activities); `None` when neither is named. An unknown
/// code is not found.
pub async fn scope(
    db: &DatabaseConnection,
    plan: &plan::Model,
    objective: Option<&str>,
    activity: Option<&str>,
) -> Result<Option<BTreeSet<i32>>> {
    let codes = plan_codes(db, plan).await?;
    let find = |map: &HashMap<i32, String>, code: &str, what: &str| {
        map.iter()
            .find(|(_, c)| c.as_str() == code)
            .map(|(id, _)| *id)
            .ok_or_else(|| {
                Error::NotFound(format!("there is no {what} {code} in plan {}", plan.code))
            })
    };
    if let Some(code) = activity {
        return Ok(Some(BTreeSet::from([find(
            &codes.activities,
            code,
            "activity",
        )?])));
    }
    let Some(code) = objective else {
        return Ok(None);
    };
    let root = find(&codes.objectives, code, "objective")?;
    let (objectives, activities) = plan_tree(db, plan).await?;
    let covered = descendants(root, objectives.iter().map(|o| (o.id, o.parent_id)));
    Ok(Some(
        activities
            .iter()
            .filter(|a| covered.contains(&a.objective_id))
            .map(|a| a.id)
            .collect(),
    ))
}

/// `root` and every objective below it, given each objective's id and parent.
fn descendants(root: i32, tree: impl Iterator<Item = (i32, Option<i32>)>) -> BTreeSet<i32> {
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for (id, parent) in tree {
        if let Some(parent) = parent {
            children.entry(parent).or_default().push(id);
        }
    }
    // The import refuses cycles; `covered` keeps this finite even so.
    let mut covered = BTreeSet::new();
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        if covered.insert(id) {
            stack.extend(children.get(&id).into_iter().flatten());
        }
    }
    covered
}

/// The objectives and activities of `plan`.
async fn plan_tree(
    db: &impl crate::db::Reader,
    plan: &plan::Model,
) -> Result<(Vec<objective::Model>, Vec<activity::Model>)> {
    let objectives = objective::Entity::find()
        .filter(objective::Column::PlanId.eq(plan.id))
        .all(db)
        .await?;
    let activities = activity::Entity::find()
        .filter(activity::Column::PlanId.eq(plan.id))
        .all(db)
        .await?;
    Ok((objectives, activities))
}
