//! Money allocated to one activity for one fiscal year from one funding source.

use sea_orm::entity::prelude::*;

use crate::domain::Currency;
use crate::money::Amount;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "budget_lines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub plan_id: i32,
    pub code: String,
    pub activity_id: i32,
    pub funding_source_id: i32,
    pub fiscal_year: i32,
    /// The economic category: wages, goods and services, subsidies and transfers, capital.
    pub category: String,
    pub amount: Amount,
    pub currency: Currency,
    /// The obligation this line funds, if any.
    pub obligation_id: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
