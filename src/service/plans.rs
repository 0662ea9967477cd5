//! Finding the plan a command or request is about, and its outline of objectives and
//! activities.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

use crate::entity::{activity, objective, plan};
use crate::error::{Error, Result};

/// The plan named by `code`, or the only plan when `code` is `None` and the database holds
/// exactly one.
pub async fn resolve_plan<C: ConnectionTrait>(db: &C, code: Option<&str>) -> Result<plan::Model> {
    match code {
        Some(code) => plan::Entity::find()
            .filter(plan::Column::Code.eq(code))
            .one(db)
            .await?
            .ok_or_else(|| Error::NotFound(format!("there is no plan with code \"{code}\""))),
        None => {
            let count = plan::Entity::find().count(db).await?;
            match count {
                0 => Err(Error::NotFound(
                    "the database holds no plan yet; import plans.csv first".to_owned(),
                )),
                1 => plan::Entity::find()
                    .one(db)
                    .await?
                    .ok_or_else(|| Error::Internal("the only plan vanished".to_owned())),
                n => Err(Error::BadRequest(format!(
                    "the database holds {n} plans; name one with --plan CODE (or ?plan=CODE)"
                ))),
            }
        }
    }
}

/// A plan's objectives and activities, each list by code.
#[derive(Debug, Clone)]
pub struct PlanOutline {
    pub objectives: Vec<objective::Model>,
    pub activities: Vec<activity::Model>,
}

/// The objectives and activities of `plan`, each in code order, for the plan tree.
///
/// Only the plan's own records; codes are unique within a plan, so each code appears once in
/// each list and the order is total.
pub async fn outline<C: ConnectionTrait>(db: &C, plan: &plan::Model) -> Result<PlanOutline> {
    let objectives = objective::Entity::find()
        .filter(objective::Column::PlanId.eq(plan.id))
        .order_by_asc(objective::Column::Code)
        .all(db)
        .await?;
    let activities = activity::Entity::find()
        .filter(activity::Column::PlanId.eq(plan.id))
        .order_by_asc(activity::Column::Code)
        .all(db)
        .await?;
    Ok(PlanOutline {
        objectives,
        activities,
    })
}
