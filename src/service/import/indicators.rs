//! Indicators: what one activity, or one objective with its sub-objectives' activities, is
//! meant to change, how it is measured and which direction is better.

use sea_orm::Set;

use super::cells::Cells;
use super::context::FileContext;
use super::importer::{Keyed, RecordImporter, upsert};
use crate::domain::{Measure, ResultType};
use crate::entity::{indicator, plan};
use crate::error::Result;
use crate::money::Quantity;

#[derive(Default)]
pub struct Indicators;

impl RecordImporter for Indicators {
    type Record = Keyed<(i32, String), indicator::ActiveModel>;

    fn parse(&mut self, ctx: &mut FileContext<'_>, cells: &mut Cells<'_>) -> Option<Self::Record> {
        let plan = ctx.plan_for(cells);
        let code = cells.code("code");
        let title = cells.text("title");
        let objective_code = cells.optional_code("objective_code");
        let activity_code = cells.optional_code("activity_code");
        let result_type = cells.word::<ResultType>("result_type");
        let measure = cells.word::<Measure>("measure");
        let ascending = cells.boolean("ascending");
        let unit = cells.optional_text("unit");
        let baseline_year = cells.optional_integer("baseline_year", 1900..=2999);
        let baseline_value = cells.optional_quantity("baseline_value");
        let plan = plan?;
        ctx.check_plan_key(cells, "code", &plan, code.as_ref());
        let subject = subject(ctx, cells, &plan, objective_code, activity_code);
        let baseline = baseline(cells, baseline_year, baseline_value, measure);
        if let Some(title) = &title
            && title.trim().is_empty()
        {
            cells.error("title", "a value is required");
        }
        let ((objective_id, activity_id), (baseline_year, baseline_value)) = (subject?, baseline?);
        let code = code?;
        Some(Keyed {
            key: (plan.id, code.clone()),
            model: indicator::ActiveModel {
                plan_id: Set(plan.id),
                code: Set(code),
                title: Set(title?),
                objective_id: Set(objective_id),
                activity_id: Set(activity_id),
                result_type: Set(result_type?),
                measure: Set(measure?),
                ascending: Set(ascending?),
                unit: Set(unit.filter(|u| !u.is_empty())),
                baseline_year: Set(baseline_year),
                baseline_value: Set(baseline_value),
                ..Default::default()
            },
        })
    }

    async fn write(&mut self, ctx: &mut FileContext<'_>, record: Self::Record) -> Result<()> {
        let existing = ctx.catalog.indicators.get(&record.key).cloned();
        let model = upsert(ctx, existing, record.model).await?;
        ctx.catalog.indicators.insert(record.key, model);
        Ok(())
    }
}

/// What the indicator measures: exactly one of an objective and an activity of `plan`, as
/// (objective id, activity id).
fn subject(
    ctx: &FileContext<'_>,
    cells: &mut Cells<'_>,
    plan: &plan::Model,
    objective_code: Option<String>,
    activity_code: Option<String>,
) -> Option<(Option<i32>, Option<i32>)> {
    // A cell that could not be read has its error already; it is not "neither" then.
    let unreadable = cells
        .errors
        .iter()
        .any(|e| e.column == "objective_code" || e.column == "activity_code");
    match (objective_code, activity_code) {
        (Some(_), Some(_)) => {
            for column in ["objective_code", "activity_code"] {
                cells.error(
                    column,
                    "an indicator measures an objective or an activity, not both: \
                     fill in only one of objective_code and activity_code",
                );
            }
            None
        }
        (None, None) if unreadable => None,
        (None, None) => {
            for column in ["objective_code", "activity_code"] {
                cells.error(
                    column,
                    "an indicator measures an objective or an activity: \
                     fill in one of objective_code and activity_code",
                );
            }
            None
        }
        (Some(code), None) => {
            let found = ctx
                .catalog
                .objectives
                .get(&(plan.id, code.clone()))
                .map(|o| (Some(o.id), None));
            if found.is_none() {
                cells.error(
                    "objective_code",
                    format!(
                        "there is no objective with code \"{code}\" in plan {}",
                        plan.code
                    ),
                );
            }
            found
        }
        (None, Some(code)) => ctx
            .activity_in_plan(cells, "activity_code", plan, &code)
            .map(|a| (None, Some(a.id))),
    }
}

/// The baseline: a value in a year, both or neither; a percentage lies between 0 and 100.
fn baseline(
    cells: &mut Cells<'_>,
    year: Option<Option<i32>>,
    value: Option<Option<Quantity>>,
    measure: Option<Measure>,
) -> Option<(Option<i32>, Option<Quantity>)> {
    let (year, value) = (year?, value?);
    match (year, value) {
        (Some(_), None) => {
            cells.error(
                "baseline_value",
                "a baseline year needs a baseline value: give both or neither",
            );
            None
        }
        (None, Some(_)) => {
            cells.error(
                "baseline_year",
                "a baseline value needs the year it was measured in: give both or neither",
            );
            None
        }
        (_, Some(value)) if measure == Some(Measure::Percentage) && !value.is_percentage() => {
            cells.error(
                "baseline_value",
                format!("{value} is not a percentage: it must lie between 0 and 100"),
            );
            None
        }
        _ => Some((year, value)),
    }
}
