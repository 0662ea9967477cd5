//! A results indicator: what one activity, or one objective with its sub-objectives'
//! activities, is meant to change, and in which direction is better.

use sea_orm::entity::prelude::*;

use crate::domain::{Measure, ResultType};
use crate::money::Quantity;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "indicators")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub plan_id: i32,
    pub code: String,
    pub title: String,
    /// Set when the indicator measures an objective; then `activity_id` is not.
    pub objective_id: Option<i32>,
    /// Set when the indicator measures an activity; then `objective_id` is not.
    pub activity_id: Option<i32>,
    pub result_type: ResultType,
    pub measure: Measure,
    /// True when a higher value is better (victims identified).
    pub ascending: bool,
    /// What one unit is (victims, cases, days); free text.
    pub unit: Option<String>,
    pub baseline_year: Option<i32>,
    pub baseline_value: Option<Quantity>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
