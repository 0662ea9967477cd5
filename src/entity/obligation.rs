//! Something a law or the plan requires to exist and be funded every year.

use sea_orm::entity::prelude::*;

use crate::domain::Currency;
use crate::money::Amount;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "obligations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub plan_id: i32,
    pub code: String,
    pub title: String,
    /// The law and article that create the obligation.
    pub legal_basis: String,
    pub institution_id: i32,
    pub activity_id: Option<i32>,
    pub in_force_from: Date,
    /// The least that must be allocated each fiscal year, in `currency`.
    pub annual_minimum: Option<Amount>,
    pub currency: Option<Currency>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
