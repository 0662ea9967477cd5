//! Indicator values: one fiscal year of one indicator, with its target, its actual or both.
//! A row whose key exists replaces both of that year's values (actuals get revised; the
//! audit trail keeps what they were).

use sea_orm::Set;

use super::cells::Cells;
use super::context::FileContext;
use super::importer::{RecordImporter, upsert};
use super::options::Rights;
use super::plans::plan_fiscal_years;
use crate::domain::Measure;
use crate::entity::indicator_value;
use crate::error::Result;

#[derive(Default)]
pub struct IndicatorValues;

impl RecordImporter for IndicatorValues {
    /// The value, found in the catalog by indicator id and fiscal year.
    type Record = ((i32, i32), indicator_value::ActiveModel);

    fn parse(&mut self, ctx: &mut FileContext<'_>, cells: &mut Cells<'_>) -> Option<Self::Record> {
        let plan = ctx.plan_for(cells);
        let indicator_code = cells.code("indicator_code");
        let fiscal_year = cells.integer("fiscal_year", 1900..=2999);
        let target = cells.optional_quantity("target");
        let actual = cells.optional_quantity("actual");
        let plan = plan?;
        if let (Some(code), Some(year)) = (&indicator_code, fiscal_year) {
            ctx.seen.check(
                cells,
                "fiscal_year",
                format!("{}\u{0}{code}\u{0}{year}", plan.code),
            );
        }
        let indicator = indicator_code.and_then(|code| {
            let found = ctx
                .catalog
                .indicators
                .get(&(plan.id, code.clone()))
                .cloned();
            if found.is_none() {
                cells.error(
                    "indicator_code",
                    format!(
                        "there is no indicator with code \"{code}\" in plan {}; \
                         import it in indicators.csv first",
                        plan.code
                    ),
                );
            }
            found
        });
        if let (Some(year), Some((first, last))) = (fiscal_year, plan_fiscal_years(&plan))
            && !(first..=last).contains(&year)
        {
            cells.error(
                "fiscal_year",
                format!(
                    "fiscal year {year} is outside plan {}, which runs from fiscal year {first} to {last}",
                    plan.code
                ),
            );
        }
        let (target, actual) = (target?, actual?);
        if target.is_none() && actual.is_none() {
            for column in ["target", "actual"] {
                cells.error(
                    column,
                    "a value row needs a target, an actual or both; this one has neither",
                );
            }
        }
        let indicator = indicator?;
        match indicator.activity_id {
            Some(activity_id) => ctx.check_leads(cells, "indicator_code", activity_id),
            None if matches!(ctx.options.rights, Rights::Institution(_)) => ctx.forbid(
                cells,
                "indicator_code",
                format!(
                    "indicator {} measures an objective, not an activity: a recorder bound to \
                     an institution may enter values only of indicators of the activities it leads",
                    indicator.code
                ),
            ),
            None => {}
        }
        if indicator.measure == Measure::Percentage {
            for (column, value) in [("target", target), ("actual", actual)] {
                if let Some(value) = value
                    && !value.is_percentage()
                {
                    cells.error(
                        column,
                        format!(
                            "{value} is not a percentage: indicator {} is measured in percent, \
                             between 0 and 100",
                            indicator.code
                        ),
                    );
                }
            }
        }
        let fiscal_year = fiscal_year?;
        Some((
            (indicator.id, fiscal_year),
            indicator_value::ActiveModel {
                indicator_id: Set(indicator.id),
                fiscal_year: Set(fiscal_year),
                target: Set(target),
                actual: Set(actual),
                ..Default::default()
            },
        ))
    }

    async fn write(&mut self, ctx: &mut FileContext<'_>, record: Self::Record) -> Result<()> {
        let (key, model) = record;
        let existing = ctx.catalog.indicator_values.get(&key).cloned();
        let model = upsert(ctx, existing, model).await?;
        ctx.catalog.indicator_values.insert(key, model);
        Ok(())
    }
}
