//! Obligations: what the law requires the plan to fund, from a date, with an optional annual
//! minimum.

use sea_orm::Set;

use super::cells::Cells;
use super::context::FileContext;
use super::importer::{Keyed, RecordImporter, upsert};
use crate::entity::obligation;
use crate::error::Result;

#[derive(Default)]
pub struct Obligations;

impl RecordImporter for Obligations {
    type Record = Keyed<(i32, String), obligation::ActiveModel>;

    fn parse(&mut self, ctx: &mut FileContext<'_>, cells: &mut Cells<'_>) -> Option<Self::Record> {
        let plan = ctx.plan_for(cells);
        let code = cells.code("code");
        let title = cells.text("title");
        let legal_basis = cells.text("legal_basis");
        let institution_code = cells.code("institution_code");
        let activity_code = cells.optional_code("activity_code");
        let in_force_from = cells.date("in_force_from");
        let annual_minimum = cells.optional_amount("annual_minimum");
        let currency = cells.optional_currency("currency");
        let institution_id =
            institution_code.and_then(|c| ctx.institution_id(cells, "institution_code", &c));
        let plan = plan?;
        ctx.check_plan_key(cells, "code", &plan, code.as_ref());
        let activity_id = match &activity_code {
            Some(c) => ctx
                .activity_in_plan(cells, "activity_code", &plan, c)
                .map(|a| Some(a.id)),
            None => Some(None),
        };
        if let Some(Some(minimum)) = annual_minimum
            && minimum.is_negative()
        {
            cells.error("annual_minimum", "the annual minimum cannot be negative");
        }
        let code = code?;
        Some(Keyed {
            key: (plan.id, code.clone()),
            model: obligation::ActiveModel {
                plan_id: Set(plan.id),
                code: Set(code),
                title: Set(title?),
                legal_basis: Set(legal_basis?),
                institution_id: Set(institution_id?),
                activity_id: Set(activity_id?),
                in_force_from: Set(in_force_from?),
                annual_minimum: Set(annual_minimum?),
                currency: Set(currency?),
                ..Default::default()
            },
        })
    }

    async fn write(&mut self, ctx: &mut FileContext<'_>, record: Self::Record) -> Result<()> {
        let existing = ctx.catalog.obligations.get(&record.key).cloned();
        let model = upsert(ctx, existing, record.model).await?;
        ctx.catalog.obligations.insert(record.key, model);
        Ok(())
    }
}
