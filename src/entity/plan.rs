//! A national action plan. Keyed by its code.

use sea_orm::entity::prelude::*;

use crate::domain::Currency;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "plans")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub code: String,
    pub title: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// The currency every report of the plan is in.
    pub currency: Currency,
    pub start_date: Date,
    pub end_date: Date,
    /// 1 to 12; see `domain::fiscal`.
    pub fiscal_year_start_month: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
