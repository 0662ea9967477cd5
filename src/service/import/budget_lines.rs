//! Budget lines: money allocated to an activity from a funding source for one fiscal year,
//! optionally toward an obligation.

use sea_orm::Set;

use super::cells::Cells;
use super::context::FileContext;
use super::importer::{Keyed, RecordImporter, upsert};
use super::plans::plan_fiscal_years;
use crate::entity::budget_line;
use crate::error::Result;

#[derive(Default)]
pub struct BudgetLines;

impl RecordImporter for BudgetLines {
    type Record = Keyed<(i32, String), budget_line::ActiveModel>;

    fn parse(&mut self, ctx: &mut FileContext<'_>, cells: &mut Cells<'_>) -> Option<Self::Record> {
        let plan = ctx.plan_for(cells);
        let code = cells.code("code");
        let activity_code = cells.code("activity_code");
        let source_code = cells.code("funding_source_code");
        let fiscal_year = cells.integer("fiscal_year", 1900..=2999);
        let category = cells.text("category");
        let amount = cells.amount("amount");
        let currency = cells.currency("currency");
        let obligation_code = cells.optional_code("obligation_code");
        let source = source_code.and_then(|c| ctx.funding_source(cells, &c));
        let plan = plan?;
        ctx.check_plan_key(cells, "code", &plan, code.as_ref());
        let activity =
            activity_code.and_then(|c| ctx.activity_in_plan(cells, "activity_code", &plan, &c));
        let obligation_id = match &obligation_code {
            Some(c) => {
                let found = ctx
                    .catalog
                    .obligations
                    .get(&(plan.id, c.clone()))
                    .map(|o| Some(o.id));
                if found.is_none() {
                    cells.error(
                        "obligation_code",
                        format!(
                            "there is no obligation with code \"{c}\" in plan {}",
                            plan.code
                        ),
                    );
                }
                found
            }
            None => Some(None),
        };
        if let (Some(year), Some((first, last))) = (fiscal_year, plan_fiscal_years(&plan))
            && !(first..=last).contains(&year)
        {
            cells.error(
                "fiscal_year",
                format!("fiscal year {year} is outside plan {}, which runs from fiscal year {first} to {last}", plan.code),
            );
        }
        if let Some(amount) = amount
            && amount.is_negative()
        {
            cells.error("amount", "a budget line's amount cannot be negative");
        }
        if let Some(category) = &category
            && category.trim().is_empty()
        {
            cells.error("category", "a value is required");
        }
        let (code, source, currency) = (code?, source?, currency?);
        let model = budget_line::ActiveModel {
            plan_id: Set(plan.id),
            code: Set(code.clone()),
            activity_id: Set(activity?.id),
            funding_source_id: Set(source.id),
            fiscal_year: Set(fiscal_year?),
            category: Set(category?),
            amount: Set(amount?),
            currency: Set(currency),
            obligation_id: Set(obligation_id?),
            ..Default::default()
        };
        if !cells.errors.is_empty() {
            return None;
        }
        ctx.warn_on_source_currency(cells.line, "line", currency, &source);
        Some(Keyed {
            key: (plan.id, code),
            model,
        })
    }

    async fn write(&mut self, ctx: &mut FileContext<'_>, record: Self::Record) -> Result<()> {
        let existing = ctx.catalog.budget_lines.get(&record.key).cloned();
        let model = upsert(ctx, existing, record.model).await?;
        ctx.catalog
            .budget_line_codes
            .insert(model.id, model.code.clone());
        ctx.catalog.budget_lines.insert(record.key, model);
        Ok(())
    }
}
