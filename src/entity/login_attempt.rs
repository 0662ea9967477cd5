//! One failed sign-in of the web UI against one key: `account:<email>` or
//! `client:<address>`. Rows older than the throttling window are deleted as new failures come
//! in; the table is never read for anything but counting recent failures.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_attempts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub key: String,
    /// Whole seconds since the Unix epoch, which both backends compare as plain integers.
    pub attempted_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
