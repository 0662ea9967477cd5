//! Money paid out against a budget line. Append-only: the database refuses updates and
//! deletes, and a mistake is corrected by a reversal (a new, negative disbursement).

use sea_orm::entity::prelude::*;

use crate::domain::Currency;
use crate::money::Amount;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "disbursements")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub plan_id: i32,
    pub reference: String,
    pub budget_line_id: i32,
    pub date: Date,
    pub amount: Amount,
    pub currency: Currency,
    pub payee_id: Option<i32>,
    pub description: Option<String>,
    /// The disbursement this one reverses; its amount is then negative.
    pub reverses_id: Option<i64>,
    pub recorded_at: DateTimeUtc,
    pub recorded_by: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
