//! A binding promise of money (a signed grant, a contract) for an activity.

use sea_orm::entity::prelude::*;

use crate::domain::Currency;
use crate::money::Amount;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "commitments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub plan_id: i32,
    pub reference: String,
    pub funding_source_id: i32,
    pub activity_id: i32,
    pub date: Date,
    pub due_date: Option<Date>,
    pub amount: Amount,
    pub currency: Currency,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
