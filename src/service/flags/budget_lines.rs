//! The budget lines of the fiscal year with what was paid on each up to the as-of date: the
//! facts of `OVERSPENT` and `LOW_EXECUTION`, and what obligations and activities are funded by.

use std::collections::HashMap;

use crate::db::Reader;
use chrono::NaiveDate;

use super::query::{Part, all, read_part, total_in};
use crate::db::{Binds, exact_sum_sql};
use crate::domain::Currency;
use crate::domain::conversion::RateTable;
use crate::domain::flags::BudgetLineFacts;
use crate::entity::plan;
use crate::error::Result;

/// A budget line of the year, with what links it to its obligation and activity.
pub struct Line {
    pub obligation_id: Option<i32>,
    pub activity_id: i32,
    pub facts: BudgetLineFacts,
}

impl Line {
    /// Whether the line holds money: only those fund an obligation or an activity.
    pub fn funds(&self) -> bool {
        self.facts.amount.is_positive()
    }
}

/// The lines of `plan` in fiscal year `year`, each with its payments up to `as_of` in its own
/// currency. Payments in the line's currency are summed whole; the rare others are read again
/// by date, for conversion.
pub async fn gather(
    db: &impl Reader,
    plan: &plan::Model,
    year: i32,
    as_of: NaiveDate,
    rates: &RateTable,
) -> Result<Vec<Line>> {
    let backend = sea_orm::ConnectionTrait::get_database_backend(db);
    let sum = exact_sum_sql("d.amount");
    let mut q = Binds::new(backend);
    let sql = format!(
        "SELECT b.id, b.code, b.amount, b.currency, b.obligation_id, b.activity_id, a.title AS activity_title \
         FROM budget_lines b JOIN activities a ON a.id = b.activity_id \
         WHERE b.plan_id = {} AND b.fiscal_year = {}",
        q.bind(plan.id),
        q.bind(year)
    );
    let line_rows = all(db, q, sql).await?;
    // Summed per line and currency over the covering index, without a join; the rare payments
    // in another currency than their line's are then read again by date, for conversion.
    let mut q = Binds::new(backend);
    let (p1, d1, p2, y) = (
        q.bind(plan.id),
        q.bind(as_of),
        q.bind(plan.id),
        q.bind(year),
    );
    let sql = format!(
        "SELECT d.budget_line_id AS line_id, d.currency AS currency, NULL AS value_date, {sum} AS total \
         FROM disbursements d WHERE d.plan_id = {p1} AND d.date <= {d1} \
         AND d.budget_line_id IN (SELECT id FROM budget_lines WHERE plan_id = {p2} AND fiscal_year = {y}) \
         GROUP BY d.budget_line_id, d.currency"
    );
    let line_currency: HashMap<i32, Currency> = line_rows
        .iter()
        .map(|row| Ok((row.try_get("", "id")?, row.try_get("", "currency")?)))
        .collect::<Result<_>>()?;
    let mut paid: HashMap<i32, Vec<Part>> = HashMap::new();
    for row in all(db, q, sql).await? {
        let line_id: i32 = row.try_get("", "line_id")?;
        let part = read_part(&row)?;
        if line_currency.get(&line_id) == Some(&part.currency) {
            paid.entry(line_id).or_default().push(part);
            continue;
        }
        let mut q = Binds::new(backend);
        let sql = format!(
            "SELECT d.currency AS currency, d.date AS value_date, {sum} AS total FROM disbursements d \
             WHERE d.plan_id = {} AND d.budget_line_id = {} AND d.currency = {} AND d.date <= {} \
             GROUP BY d.currency, d.date",
            q.bind(plan.id),
            q.bind(line_id),
            q.bind(part.currency.code().to_owned()),
            q.bind(as_of)
        );
        for row in all(db, q, sql).await? {
            paid.entry(line_id).or_default().push(read_part(&row)?);
        }
    }

    let mut lines = Vec::with_capacity(line_rows.len());
    for row in line_rows {
        let id: i32 = row.try_get("", "id")?;
        let currency: Currency = row.try_get("", "currency")?;
        let disbursed = total_in(
            rates,
            paid.get(&id).map_or(&[], Vec::as_slice),
            currency,
            as_of,
        )?;
        lines.push(Line {
            obligation_id: row.try_get("", "obligation_id")?,
            activity_id: row.try_get("", "activity_id")?,
            facts: BudgetLineFacts {
                code: row.try_get("", "code")?,
                activity_title: row.try_get("", "activity_title")?,
                amount: row.try_get("", "amount")?,
                currency,
                disbursed,
            },
        });
    }
    Ok(lines)
}
