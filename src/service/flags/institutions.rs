//! The institutions that lead an ongoing activity, with their last payment: the facts of
//! `INSTITUTION_INACTIVE`.

use std::collections::HashMap;

use crate::db::Reader;
use chrono::NaiveDate;

use super::activities::Activity;
use super::query::all;
use crate::db::Binds;
use crate::domain::ActivityStatus;
use crate::domain::flags::InstitutionFacts;
use crate::entity::plan;
use crate::error::Result;

/// The leaders of the ongoing activities of `activities` begun by `as_of`, sorted by code,
/// each with its last payment up to `as_of`: on activities it leads, or to it. Reversals (the
/// only negative amounts) are no sign of activity.
pub async fn gather(
    db: &impl Reader,
    plan: &plan::Model,
    as_of: NaiveDate,
    activities: &[Activity],
) -> Result<Vec<InstitutionFacts>> {
    let mut leaders: HashMap<i32, InstitutionFacts> = HashMap::new();
    for a in activities
        .iter()
        .filter(|a| a.status == ActivityStatus::Ongoing && a.start_date <= as_of)
    {
        let entry = leaders.entry(a.lead_id).or_insert(InstitutionFacts {
            code: a.lead_code.clone(),
            name: a.lead_name.clone(),
            last_disbursement: None,
            active_since: a.start_date,
        });
        entry.active_since = entry.active_since.min(a.start_date);
    }
    if !leaders.is_empty() {
        note_last_payments(db, plan, as_of, activities, &mut leaders).await?;
    }
    let mut institutions: Vec<InstitutionFacts> = leaders.into_values().collect();
    institutions.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(institutions)
}

/// Sets each leader's last payment. Two walks over covering indexes in their own order give
/// the last payment per line and the last payment per payee; the lines' activities say who
/// leads them.
async fn note_last_payments(
    db: &impl Reader,
    plan: &plan::Model,
    as_of: NaiveDate,
    activities: &[Activity],
    leaders: &mut HashMap<i32, InstitutionFacts>,
) -> Result<()> {
    let backend = sea_orm::ConnectionTrait::get_database_backend(db);
    let mut q = Binds::new(backend);
    let sql = format!(
        "SELECT b.id AS line_id, b.activity_id AS activity_id FROM budget_lines b WHERE b.plan_id = {}",
        q.bind(plan.id)
    );
    let mut activity_of_line: HashMap<i32, i32> = HashMap::new();
    for row in all(db, q, sql).await? {
        activity_of_line.insert(row.try_get("", "line_id")?, row.try_get("", "activity_id")?);
    }
    let lead_of_activity: HashMap<i32, i32> =
        activities.iter().map(|a| (a.id, a.lead_id)).collect();
    let mut last_by_line = Binds::new(backend);
    let sql = format!(
        "SELECT d.budget_line_id AS id, MAX(d.date) AS last_date FROM disbursements d \
         WHERE d.plan_id = {} AND d.date <= {} AND d.amount > 0 GROUP BY d.budget_line_id",
        last_by_line.bind(plan.id),
        last_by_line.bind(as_of)
    );
    let by_line = all(db, last_by_line, sql).await?;
    let mut last_by_payee = Binds::new(backend);
    let sql = format!(
        "SELECT d.payee_id AS id, MAX(d.date) AS last_date FROM disbursements d \
         WHERE d.plan_id = {} AND d.payee_id IS NOT NULL AND d.date <= {} AND d.amount > 0 \
         GROUP BY d.payee_id",
        last_by_payee.bind(plan.id),
        last_by_payee.bind(as_of)
    );
    let by_payee = all(db, last_by_payee, sql).await?;
    let mut note = |institution: Option<i32>, last: NaiveDate| {
        if let Some(leader) = institution.and_then(|i| leaders.get_mut(&i)) {
            leader.last_disbursement = Some(leader.last_disbursement.map_or(last, |d| d.max(last)));
        }
    };
    for row in by_line {
        let line_id: i32 = row.try_get("", "id")?;
        let lead = activity_of_line
            .get(&line_id)
            .and_then(|a| lead_of_activity.get(a))
            .copied();
        note(lead, row.try_get("", "last_date")?);
    }
    for row in by_payee {
        note(Some(row.try_get("", "id")?), row.try_get("", "last_date")?);
    }
    Ok(())
}
