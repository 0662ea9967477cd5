//! One unit of `currency` is worth `rate` units of `quote_currency` on `date`.

use sea_orm::entity::prelude::*;

use crate::domain::Currency;
use crate::money::Rate;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "exchange_rates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub date: Date,
    pub currency: Currency,
    pub quote_currency: Currency,
    pub rate: Rate,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
