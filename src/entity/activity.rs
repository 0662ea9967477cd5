//! An activity of a plan, under one objective, led by one institution.

use sea_orm::entity::prelude::*;

use crate::domain::ActivityStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "activities")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub plan_id: i32,
    pub code: String,
    pub title: String,
    pub objective_id: i32,
    pub lead_institution_id: i32,
    pub start_date: Date,
    pub end_date: Date,
    pub status: ActivityStatus,
    /// A code of IATI's Sector codelist (vocabulary 1); checked on import.
    pub sector_code: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
