//! Finding the plan a command or request is about.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};

use crate::entity::plan;
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
