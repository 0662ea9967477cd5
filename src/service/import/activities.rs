//! Activities: what the plan does, under an objective, led by an institution, within the
//! plan's period.

use sea_orm::Set;

use super::cells::Cells;
use super::context::FileContext;
use super::importer::{Keyed, RecordImporter, upsert};
use crate::domain::ActivityStatus;
use crate::domain::sector::Sector;
use crate::entity::{activity, plan};
use crate::error::Result;

#[derive(Default)]
pub struct Activities;

impl RecordImporter for Activities {
    type Record = Keyed<(i32, String), activity::ActiveModel>;

    fn parse(&mut self, ctx: &mut FileContext<'_>, cells: &mut Cells<'_>) -> Option<Self::Record> {
        let plan = ctx.plan_for(cells);
        let code = cells.code("code");
        let title = cells.text("title");
        let objective_code = cells.code("objective_code");
        let lead_code = cells.code("lead_institution_code");
        let start_date = cells.date("start_date");
        let end_date = cells.date("end_date");
        let status = cells.word::<ActivityStatus>("status");
        let sector = sector(cells);
        let lead_id =
            lead_code.and_then(|c| ctx.institution_id(cells, "lead_institution_code", &c));
        let plan = plan?;
        ctx.check_plan_key(cells, "code", &plan, code.as_ref());
        let objective_id = objective_code.and_then(|c| {
            let found = ctx
                .catalog
                .objectives
                .get(&(plan.id, c.clone()))
                .map(|o| o.id);
            if found.is_none() {
                cells.error(
                    "objective_code",
                    format!(
                        "there is no objective with code \"{c}\" in plan {}",
                        plan.code
                    ),
                );
            }
            found
        });
        if let (Some(start), Some(end)) = (start_date, end_date) {
            check_period(cells, &plan, start, end);
        }
        let code = code?;
        check_lead_change(ctx, cells, plan.id, &code, lead_id);
        Some(Keyed {
            key: (plan.id, code.clone()),
            model: activity::ActiveModel {
                plan_id: Set(plan.id),
                code: Set(code),
                title: Set(title?),
                objective_id: Set(objective_id?),
                lead_institution_id: Set(lead_id?),
                start_date: Set(start_date?),
                end_date: Set(end_date?),
                status: Set(status?),
                sector_code: Set(sector?.map(|s| s.code().to_owned())),
                ..Default::default()
            },
        })
    }

    async fn write(&mut self, ctx: &mut FileContext<'_>, record: Self::Record) -> Result<()> {
        let existing = ctx.catalog.activities.get(&record.key).cloned();
        let model = upsert(ctx, existing, record.model).await?;
        ctx.catalog.activities.insert(record.key, model);
        Ok(())
    }
}

/// Refuses a change of an existing activity's lead institution by anyone but an admin: the
/// activity's money is the lead institution's to record, so who leads it is not a recorder's
/// to change.
fn check_lead_change(
    ctx: &mut FileContext<'_>,
    cells: &mut Cells<'_>,
    plan_id: i32,
    code: &str,
    lead_id: Option<i32>,
) {
    if ctx.options.rights.may_change_lead_institution() {
        return;
    }
    let Some(stored) = ctx.catalog.activities.get(&(plan_id, code.to_owned())) else {
        return;
    };
    if lead_id.is_some_and(|lead| lead != stored.lead_institution_id) {
        let current = ctx
            .catalog
            .institution_by_id(stored.lead_institution_id)
            .map_or_else(String::new, |i| format!(" ({})", i.code));
        ctx.forbid(
            cells,
            "lead_institution_code",
            format!("only an admin may change the lead institution of activity {code}{current}"),
        );
    }
}

/// The optional sector: empty is none; anything else must be an active code of IATI's Sector
/// codelist. `None` when the cell is an error.
fn sector(cells: &mut Cells<'_>) -> Option<Option<Sector>> {
    let Some(code) = cells.optional_text("sector_code") else {
        return Some(None);
    };
    match Sector::parse(&code) {
        Ok(sector) => Some(Some(sector)),
        Err(error) => {
            cells.error("sector_code", error.to_string());
            None
        }
    }
}

/// An activity ends after it starts, within its plan's period.
fn check_period(
    cells: &mut Cells<'_>,
    plan: &plan::Model,
    start: chrono::NaiveDate,
    end: chrono::NaiveDate,
) {
    if end < start {
        cells.error(
            "end_date",
            format!("the activity ends on {end}, before it starts on {start}"),
        );
    } else if start < plan.start_date || end > plan.end_date {
        let column = if start < plan.start_date {
            "start_date"
        } else {
            "end_date"
        };
        cells.error(
            column,
            format!(
                "the activity runs from {start} to {end}, outside its plan's period {} to {}",
                plan.start_date, plan.end_date
            ),
        );
    }
}
