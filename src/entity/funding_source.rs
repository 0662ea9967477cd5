//! A source of money: the state budget, a donor grant, a loan. Keyed by its code.

use sea_orm::entity::prelude::*;

use crate::domain::{Currency, FundingSourceKind};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "funding_sources")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub code: String,
    pub name: String,
    /// The institution that gives the money, for donor grants and loans.
    pub donor_id: Option<i32>,
    pub kind: FundingSourceKind,
    pub currency: Currency,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
