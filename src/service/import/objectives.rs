//! Objectives: the plan's tree of aims. A parent may be defined further down the file than its
//! children, so parent links are completed, and checked for cycles, once the file is read.

use std::collections::HashMap;

use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};

use super::cells::Cells;
use super::context::FileContext;
use super::importer::{Keyed, RecordImporter, upsert};
use crate::entity::objective;
use crate::error::{FieldError, Result};

#[derive(Default)]
pub struct Objectives {
    /// The parent links of the file, to complete and check once it is read.
    pending: Vec<PendingParent>,
}

/// A parent objective named by a row: linked (if it was defined further down) and checked
/// for cycles when the whole file is read.
struct PendingParent {
    objective_id: i32,
    plan_id: i32,
    parent_code: String,
    line: u64,
}

pub struct ObjectiveRecord {
    stored: Keyed<(i32, String), objective::ActiveModel>,
    parent_code: Option<String>,
    line: u64,
}

impl RecordImporter for Objectives {
    type Record = ObjectiveRecord;

    fn parse(&mut self, ctx: &mut FileContext<'_>, cells: &mut Cells<'_>) -> Option<Self::Record> {
        let plan = ctx.plan_for(cells);
        let code = cells.code("code");
        let title = cells.text("title");
        let parent_code = cells.optional_code("parent_code");
        let (Some(plan), Some(code), Some(title)) = (plan, code, title) else {
            return None;
        };
        ctx.check_plan_key(cells, "code", &plan, Some(&code));
        if parent_code.as_deref() == Some(code.as_str()) {
            cells.error("parent_code", "an objective cannot be its own parent");
        }
        if !cells.errors.is_empty() {
            return None;
        }
        // A parent defined further down the file is linked once the whole file is read.
        let parent_id = parent_code.as_ref().and_then(|parent| {
            ctx.catalog
                .objectives
                .get(&(plan.id, parent.clone()))
                .map(|p| p.id)
        });
        Some(ObjectiveRecord {
            stored: Keyed {
                key: (plan.id, code.clone()),
                model: objective::ActiveModel {
                    plan_id: Set(plan.id),
                    code: Set(code),
                    title: Set(title),
                    parent_id: Set(parent_id),
                    ..Default::default()
                },
            },
            parent_code,
            line: cells.line,
        })
    }

    async fn write(&mut self, ctx: &mut FileContext<'_>, record: Self::Record) -> Result<()> {
        let Keyed { key, model } = record.stored;
        let existing = ctx.catalog.objectives.get(&key).cloned();
        let model = upsert(ctx, existing, model).await?;
        // Every parent link of the file is checked for cycles once the file is read; links to
        // parents defined further down are made then too.
        if let Some(parent_code) = record.parent_code {
            self.pending.push(PendingParent {
                objective_id: model.id,
                plan_id: key.0,
                parent_code,
                line: record.line,
            });
        }
        ctx.catalog.objectives.insert(key, model);
        Ok(())
    }

    /// Links the parents named before they were defined, then refuses any cycle through a
    /// parent this file set.
    async fn finish(self, ctx: &mut FileContext<'_>) -> Result<()> {
        let mut lines_by_objective = HashMap::new();
        for link in self.pending {
            let parent = ctx
                .catalog
                .objectives
                .get(&(link.plan_id, link.parent_code.clone()))
                .map(|p| p.id);
            let Some(parent_id) = parent else {
                ctx.reject(vec![FieldError::at_line(
                    link.line,
                    "parent_code",
                    format!(
                        "there is no objective with code \"{}\" in this plan",
                        link.parent_code
                    ),
                )]);
                continue;
            };
            let Some(child) = ctx
                .catalog
                .objectives
                .values()
                .find(|o| o.id == link.objective_id)
                .cloned()
            else {
                continue;
            };
            lines_by_objective.insert(child.id, link.line);
            if child.parent_id == Some(parent_id) {
                continue;
            }
            let mut model = child.into_active_model();
            model.parent_id = Set(Some(parent_id));
            let updated = model.update(ctx.txn).await?;
            ctx.catalog
                .objectives
                .insert((updated.plan_id, updated.code.clone()), updated);
        }
        refuse_cycles(ctx, &lines_by_objective);
        Ok(())
    }
}

/// A cycle can only pass through an objective whose parent this file set.
fn refuse_cycles(ctx: &mut FileContext<'_>, lines_by_objective: &HashMap<i32, u64>) {
    let parents: HashMap<i32, Option<i32>> = ctx
        .catalog
        .objectives
        .values()
        .map(|o| (o.id, o.parent_id))
        .collect();
    for (id, line) in lines_by_objective {
        let mut current = parents.get(id).copied().flatten();
        let mut steps = 0;
        while let Some(next) = current {
            if next == *id || steps > parents.len() {
                ctx.reject(vec![FieldError::at_line(
                    *line,
                    "parent_code",
                    "the parents of this objective form a cycle",
                )]);
                break;
            }
            current = parents.get(&next).copied().flatten();
            steps += 1;
        }
    }
}
