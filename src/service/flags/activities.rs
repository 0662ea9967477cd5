//! The activities of the plan with their lead institution: the facts of `ACTIVITY_UNFUNDED`,
//! and who leads what for `INSTITUTION_INACTIVE`.

use crate::db::Reader;
use chrono::NaiveDate;

use super::budget_lines::Line;
use super::query::all;
use crate::db::Binds;
use crate::domain::ActivityStatus;
use crate::domain::flags::ActivityFacts;
use crate::entity::plan;
use crate::error::Result;

/// An activity as the flag rules read it.
pub struct Activity {
    pub id: i32,
    pub code: String,
    pub title: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub status: ActivityStatus,
    pub lead_id: i32,
    pub lead_code: String,
    pub lead_name: String,
}

/// Every activity of `plan`, with its lead institution, in one query.
pub async fn gather(db: &impl Reader, plan: &plan::Model) -> Result<Vec<Activity>> {
    let mut q = Binds::new(sea_orm::ConnectionTrait::get_database_backend(db));
    let sql = format!(
        "SELECT a.id, a.code, a.title, a.start_date, a.end_date, a.status, a.lead_institution_id, \
         i.code AS lead_code, i.name AS lead_name \
         FROM activities a JOIN institutions i ON i.id = a.lead_institution_id \
         WHERE a.plan_id = {}",
        q.bind(plan.id)
    );
    all(db, q, sql)
        .await?
        .iter()
        .map(|row| {
            Ok(Activity {
                id: row.try_get("", "id")?,
                code: row.try_get("", "code")?,
                title: row.try_get("", "title")?,
                start_date: row.try_get("", "start_date")?,
                end_date: row.try_get("", "end_date")?,
                status: row.try_get("", "status")?,
                lead_id: row.try_get("", "lead_institution_id")?,
                lead_code: row.try_get("", "lead_code")?,
                lead_name: row.try_get("", "lead_name")?,
            })
        })
        .collect()
}

/// The activities as facts, each funded when a positive line of the year is for it.
pub fn facts(activities: &[Activity], lines: &[Line]) -> Vec<ActivityFacts> {
    activities
        .iter()
        .map(|a| ActivityFacts {
            code: a.code.clone(),
            title: a.title.clone(),
            lead: a.lead_name.clone(),
            start_date: a.start_date,
            end_date: a.end_date,
            planned_or_ongoing: matches!(
                a.status,
                ActivityStatus::Planned | ActivityStatus::Ongoing
            ),
            funded: lines.iter().any(|l| l.activity_id == a.id && l.funds()),
        })
        .collect()
}
