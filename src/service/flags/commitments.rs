//! The commitments past due, with what was paid since each was made on lines of its activity
//! funded by its source: the facts of `COMMITMENT_OVERDUE`.

use std::collections::HashMap;

use crate::db::Reader;
use chrono::NaiveDate;

use super::query::{Part, all, read_part, total_in};
use crate::db::{Binds, exact_sum_sql};
use crate::domain::Currency;
use crate::domain::conversion::RateTable;
use crate::domain::flags::CommitmentFacts;
use crate::entity::plan;
use crate::error::Result;

/// The commitments of `plan` due before `as_of`, each with its payments up to `as_of`
/// converted to its own currency. One small query per overdue commitment: the lines of its
/// activity and source, over the covering index, from its date to the as-of date.
pub async fn gather(
    db: &impl Reader,
    plan: &plan::Model,
    as_of: NaiveDate,
    rates: &RateTable,
) -> Result<Vec<CommitmentFacts>> {
    let backend = sea_orm::ConnectionTrait::get_database_backend(db);
    let sum = exact_sum_sql("d.amount");
    let mut q = Binds::new(backend);
    let sql = format!(
        "SELECT c.id, c.reference, c.date, c.due_date, c.amount, c.currency, c.activity_id, \
         c.funding_source_id, f.name AS source_name, a.title AS activity_title \
         FROM commitments c JOIN funding_sources f ON f.id = c.funding_source_id \
         JOIN activities a ON a.id = c.activity_id \
         WHERE c.plan_id = {} AND c.due_date < {}",
        q.bind(plan.id),
        q.bind(as_of)
    );
    let commitment_rows = all(db, q, sql).await?;
    let mut commitment_paid: HashMap<i32, Vec<Part>> = HashMap::new();
    for row in &commitment_rows {
        let id: i32 = row.try_get("", "id")?;
        let currency: Currency = row.try_get("", "currency")?;
        let made: NaiveDate = row.try_get("", "date")?;
        let activity_id: i32 = row.try_get("", "activity_id")?;
        let source_id: i32 = row.try_get("", "funding_source_id")?;
        let mut q = Binds::new(backend);
        let own = q.bind(currency.code().to_owned());
        let sql = format!(
            "SELECT d.currency AS currency, CASE WHEN d.currency = {own} THEN NULL ELSE d.date END AS value_date, \
             {sum} AS total FROM disbursements d WHERE d.plan_id = {p} AND d.budget_line_id IN \
             (SELECT id FROM budget_lines WHERE activity_id = {a} AND funding_source_id = {f}) \
             AND d.date >= {from} AND d.date <= {to} GROUP BY 1, 2",
            p = q.bind(plan.id),
            a = q.bind(activity_id),
            f = q.bind(source_id),
            from = q.bind(made),
            to = q.bind(as_of)
        );
        for part in all(db, q, sql).await? {
            commitment_paid
                .entry(id)
                .or_default()
                .push(read_part(&part)?);
        }
    }
    let mut commitments = Vec::with_capacity(commitment_rows.len());
    for row in commitment_rows {
        let id: i32 = row.try_get("", "id")?;
        let currency: Currency = row.try_get("", "currency")?;
        let disbursed = total_in(
            rates,
            commitment_paid.get(&id).map_or(&[], Vec::as_slice),
            currency,
            as_of,
        )?;
        commitments.push(CommitmentFacts {
            reference: row.try_get("", "reference")?,
            source: row.try_get("", "source_name")?,
            activity: row.try_get("", "activity_title")?,
            due_date: row.try_get("", "due_date")?,
            amount: row.try_get("", "amount")?,
            currency,
            disbursed,
        });
    }
    Ok(commitments)
}
