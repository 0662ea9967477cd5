//! Plans: the national action plans, their period, currency and fiscal year.

use chrono::NaiveDate;
use sea_orm::Set;

use super::cells::Cells;
use super::context::FileContext;
use super::importer::{Keyed, RecordImporter, upsert};
use crate::domain::fiscal::FiscalYearStart;
use crate::entity::plan;
use crate::error::Result;

#[derive(Default)]
pub struct Plans;

impl RecordImporter for Plans {
    type Record = Keyed<String, plan::ActiveModel>;

    fn parse(&mut self, ctx: &mut FileContext<'_>, cells: &mut Cells<'_>) -> Option<Self::Record> {
        let code = cells.code("code");
        let title = cells.text("title");
        let country = cells.country("country");
        let currency = cells.currency("currency");
        let start_date = cells.date("start_date");
        let end_date = cells.date("end_date");
        let start_month = cells.integer("fiscal_year_start_month", 1..=12);
        if let Some(code) = &code {
            ctx.seen.check(cells, "code", code.clone());
        }
        if let (Some(start), Some(end)) = (start_date, end_date)
            && end < start
        {
            cells.error(
                "end_date",
                format!("the plan ends on {end}, before it starts on {start}"),
            );
        }
        let (code, start_date, end_date, start_month) =
            (code?, start_date?, end_date?, start_month?);
        let model = plan::ActiveModel {
            code: Set(code.clone()),
            title: Set(title?),
            country: Set(country?),
            currency: Set(currency?),
            start_date: Set(start_date),
            end_date: Set(end_date),
            fiscal_year_start_month: Set(start_month),
            ..Default::default()
        };
        if !cells.errors.is_empty() {
            return None;
        }
        if let Some(plan) = ctx.catalog.plans.get(&code) {
            check_plan_still_holds(ctx, cells, plan.id, (start_date, end_date), start_month);
        }
        Some(Keyed { key: code, model })
    }

    async fn write(&mut self, ctx: &mut FileContext<'_>, record: Self::Record) -> Result<()> {
        let existing = ctx.catalog.plans.get(&record.key).cloned();
        let model = upsert(ctx, existing, record.model).await?;
        ctx.catalog.plans.insert(record.key, model);
        Ok(())
    }
}

/// The fiscal years a plan spans: those of its first and last day, and all between.
pub fn plan_fiscal_years(plan: &plan::Model) -> Option<(i32, i32)> {
    let start = FiscalYearStart::new(plan.fiscal_year_start_month)?;
    Some((start.year_of(plan.start_date), start.year_of(plan.end_date)))
}

/// A plan's new period must still hold its activities, and its new fiscal years its budget
/// lines: narrowing a plan cannot leave records outside it.
fn check_plan_still_holds(
    ctx: &FileContext<'_>,
    cells: &mut Cells<'_>,
    plan_id: i32,
    (start, end): (NaiveDate, NaiveDate),
    start_month: i32,
) {
    let outside: Vec<&str> = ctx
        .catalog
        .activities
        .values()
        .filter(|a| a.plan_id == plan_id && (a.start_date < start || a.end_date > end))
        .map(|a| a.code.as_str())
        .collect();
    if let Some(first) = outside.iter().min() {
        cells.error(
            if ctx.catalog.activities.values().any(|a| a.plan_id == plan_id && a.start_date < start) { "start_date" } else { "end_date" },
            format!(
                "{} of the plan's activities (such as {first}) would run outside {start} to {end}; change them first",
                outside.len()
            ),
        );
    }
    let Some(fiscal) = FiscalYearStart::new(start_month) else {
        return;
    };
    let years = fiscal.year_of(start)..=fiscal.year_of(end);
    let lines_outside: Vec<&str> = ctx
        .catalog
        .budget_lines
        .values()
        .filter(|b| b.plan_id == plan_id && !years.contains(&b.fiscal_year))
        .map(|b| b.code.as_str())
        .collect();
    if let Some(first) = lines_outside.iter().min() {
        cells.error(
            "end_date",
            format!(
                "{} of the plan's budget lines (such as {first}) would fall outside fiscal years {} to {}; change them first",
                lines_outside.len(),
                years.start(),
                years.end()
            ),
        );
    }
}
