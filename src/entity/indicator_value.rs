//! One fiscal year of one indicator: its target, its actual, or both.

use sea_orm::entity::prelude::*;

use crate::money::Quantity;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "indicator_values")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub indicator_id: i32,
    pub fiscal_year: i32,
    pub target: Option<Quantity>,
    pub actual: Option<Quantity>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
