//! Commitments: what a funding source has promised for an activity, by a date. They are not
//! kept in the catalog (nothing refers to them by reference), so each is looked up by its key.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};

use super::cells::Cells;
use super::context::FileContext;
use super::importer::{Keyed, RecordImporter, upsert};
use crate::entity::commitment;
use crate::error::{FieldError, Result};

#[derive(Default)]
pub struct Commitments;

impl RecordImporter for Commitments {
    /// The commitment, with the line of its row.
    type Record = (Keyed<(i32, String), commitment::ActiveModel>, u64);

    fn parse(&mut self, ctx: &mut FileContext<'_>, cells: &mut Cells<'_>) -> Option<Self::Record> {
        let plan = ctx.plan_for(cells);
        let reference = cells.code("reference");
        let source_code = cells.code("funding_source_code");
        let activity_code = cells.code("activity_code");
        let date = cells.date("date");
        let due_date = cells.optional_date("due_date");
        let amount = cells.amount("amount");
        let currency = cells.currency("currency");
        let source = source_code.and_then(|c| ctx.funding_source(cells, &c));
        let plan = plan?;
        ctx.check_plan_key(cells, "reference", &plan, reference.as_ref());
        let activity =
            activity_code.and_then(|c| ctx.activity_in_plan(cells, "activity_code", &plan, &c));
        if let (Some(date), Some(Some(due))) = (date, due_date)
            && due < date
        {
            cells.error(
                "due_date",
                format!("the commitment is due on {due}, before it was made on {date}"),
            );
        }
        if let Some(amount) = amount
            && !amount.is_positive()
        {
            cells.error("amount", "a commitment's amount must be greater than zero");
        }
        if let Some(activity) = &activity {
            ctx.check_leads(cells, "activity_code", activity.id);
        }
        let (reference, source, currency) = (reference?, source?, currency?);
        let model = commitment::ActiveModel {
            plan_id: Set(plan.id),
            reference: Set(reference.clone()),
            funding_source_id: Set(source.id),
            activity_id: Set(activity?.id),
            date: Set(date?),
            due_date: Set(due_date?),
            amount: Set(amount?),
            currency: Set(currency),
            ..Default::default()
        };
        if !cells.errors.is_empty() {
            return None;
        }
        ctx.warn_on_source_currency(cells.line, "commitment", currency, &source);
        Some((
            Keyed {
                key: (plan.id, reference),
                model,
            },
            cells.line,
        ))
    }

    async fn write(&mut self, ctx: &mut FileContext<'_>, record: Self::Record) -> Result<()> {
        let (record, line) = record;
        let (plan_id, reference) = record.key;
        let existing = commitment::Entity::find()
            .filter(commitment::Column::PlanId.eq(plan_id))
            .filter(commitment::Column::Reference.eq(reference.as_str()))
            .one(ctx.txn)
            .await?;
        if let Some(message) = existing.as_ref().and_then(|c| ctx.not_led(c.activity_id)) {
            let message = format!("commitment {reference}: {message}");
            ctx.problems
                .forbid(FieldError::at_line(line, "reference", message));
            return Ok(());
        }
        upsert(ctx, existing, record.model).await?;
        Ok(())
    }
}
