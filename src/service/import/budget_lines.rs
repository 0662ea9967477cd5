//! Budget lines: money allocated to an activity from a funding source for one fiscal year,
//! optionally toward an obligation.
//!
//! A line that carries disbursements keeps its activity, funding source, fiscal year and
//! currency: the money already spent was spent on them. Its amount, category and obligation
//! may still change; moving money elsewhere is a new line and reversals.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};

use super::cells::Cells;
use super::context::FileContext;
use super::importer::{Keyed, RecordImporter, upsert};
use super::plans::plan_fiscal_years;
use crate::domain::Currency;
use crate::entity::{budget_line, disbursement};
use crate::error::{FieldError, Result};

#[derive(Default)]
pub struct BudgetLines;

/// A budget line to store, with the line of the row it came from and the columns that
/// disbursements pin.
pub struct BudgetLineRecord {
    keyed: Keyed<(i32, String), budget_line::ActiveModel>,
    line: u64,
    pinned: Pinned,
}

/// What the disbursements of a line were recorded against, and so cannot change once any is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pinned {
    activity_id: i32,
    funding_source_id: i32,
    fiscal_year: i32,
    currency: Currency,
}

impl Pinned {
    fn of(line: &budget_line::Model) -> Self {
        Pinned {
            activity_id: line.activity_id,
            funding_source_id: line.funding_source_id,
            fiscal_year: line.fiscal_year,
            currency: line.currency,
        }
    }

    /// The columns (and what they hold, in words) in which `self` differs from `stored`.
    fn moved_from(&self, stored: &Pinned) -> Vec<(&'static str, &'static str)> {
        [
            (
                self.activity_id != stored.activity_id,
                ("activity_code", "activity"),
            ),
            (
                self.funding_source_id != stored.funding_source_id,
                ("funding_source_code", "funding source"),
            ),
            (
                self.fiscal_year != stored.fiscal_year,
                ("fiscal_year", "fiscal year"),
            ),
            (self.currency != stored.currency, ("currency", "currency")),
        ]
        .into_iter()
        .filter_map(|(moved, column)| moved.then_some(column))
        .collect()
    }
}

impl RecordImporter for BudgetLines {
    type Record = BudgetLineRecord;

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
        if let Some(activity) = &activity {
            ctx.check_leads(cells, "activity_code", activity.id);
        }
        let (code, source, currency) = (code?, source?, currency?);
        let pinned = Pinned {
            activity_id: activity?.id,
            funding_source_id: source.id,
            fiscal_year: fiscal_year?,
            currency,
        };
        let model = budget_line::ActiveModel {
            plan_id: Set(plan.id),
            code: Set(code.clone()),
            activity_id: Set(pinned.activity_id),
            funding_source_id: Set(pinned.funding_source_id),
            fiscal_year: Set(pinned.fiscal_year),
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
        Some(BudgetLineRecord {
            keyed: Keyed {
                key: (plan.id, code),
                model,
            },
            line: cells.line,
            pinned,
        })
    }

    /// Refuses, as errors of the row, a change of what a line's disbursements pin; the
    /// disbursements are looked up only when the row would change one of those columns.
    async fn write(&mut self, ctx: &mut FileContext<'_>, record: Self::Record) -> Result<()> {
        let BudgetLineRecord {
            keyed: record,
            line,
            pinned,
        } = record;
        let existing = ctx.catalog.budget_lines.get(&record.key).cloned();
        if let Some(message) = existing.as_ref().and_then(|s| ctx.not_led(s.activity_id)) {
            let message = format!("budget line {}: {message}", record.key.1);
            ctx.problems
                .forbid(FieldError::at_line(line, "code", message));
            return Ok(());
        }
        if let Some(stored) = &existing {
            let moved = pinned.moved_from(&Pinned::of(stored));
            if !moved.is_empty() && carries_disbursements(ctx, stored.id).await? {
                let errors = moved
                    .into_iter()
                    .map(|(column, what)| {
                        FieldError::at_line(
                            line,
                            column,
                            format!(
                                "budget line {} carries disbursements: its {what} cannot \
                                 change; create a new line and move the money with reversals",
                                stored.code
                            ),
                        )
                    })
                    .collect();
                ctx.reject(errors);
                return Ok(());
            }
        }
        let model = upsert(ctx, existing, record.model).await?;
        ctx.catalog
            .budget_line_codes
            .insert(model.id, model.code.clone());
        ctx.catalog.budget_lines.insert(record.key, model);
        Ok(())
    }
}

/// Whether any disbursement (or reversal) is recorded on the budget line `id`.
async fn carries_disbursements(ctx: &FileContext<'_>, id: i32) -> Result<bool> {
    Ok(disbursement::Entity::find()
        .filter(disbursement::Column::BudgetLineId.eq(id))
        .one(ctx.txn)
        .await?
        .is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pinned() -> Pinned {
        Pinned {
            activity_id: 1,
            funding_source_id: 2,
            fiscal_year: 2016,
            currency: "EUR".parse().unwrap(),
        }
    }

    #[test]
    fn a_line_that_keeps_what_it_was_recorded_against_moves_nothing() {
        assert!(pinned().moved_from(&pinned()).is_empty());
    }

    #[test]
    fn every_pinned_column_that_changes_is_named() {
        let moved = Pinned {
            activity_id: 9,
            funding_source_id: 9,
            fiscal_year: 2017,
            currency: "USD".parse().unwrap(),
        };
        let columns: Vec<&str> = moved
            .moved_from(&pinned())
            .into_iter()
            .map(|(column, _)| column)
            .collect();
        assert_eq!(
            columns,
            [
                "activity_code",
                "funding_source_code",
                "fiscal_year",
                "currency"
            ]
        );
    }
}
