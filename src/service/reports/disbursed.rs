//! The disbursed column: payments aggregated over a covering index without a join, placed in
//! the report's rows from the plan's budget lines held in memory. Payments in the plan's
//! currency are summed; the others are converted in the database when they can be
//! (`sql_conversion`), else read per line, currency, date and amount and converted record by
//! record.

use std::collections::HashMap;

use futures_util::TryStreamExt;

use super::grouped::Group;
use super::grouping::Grouping;
use super::model::{Dimension, Filters};
use super::sql_conversion::foreign_converted_in_sql;
use crate::db::{Binds, exact_sum_sql};
use crate::domain::conversion::RateTable;
use crate::entity::plan;
use crate::error::Result;

/// What the report needs to know of a budget line to place its disbursements.
struct LineInfo {
    keys: [Option<String>; 7],
    selected: bool,
}

/// The disbursements, aggregated without a join: over a covering index, once for the plan's
/// currency (summed per group) and once for the rest (per group, currency, date and amount,
/// for conversion record by record). The groups are budget lines, walking the index of plan,
/// line, currency, date, amount, or months for a report by month over all lines; see
/// [`Grouping`]. Each line's group is then placed in its row, and the filters on fiscal year,
/// funding source and donor applied, from the plan's budget lines held in memory. The groups
/// are streamed to `add` as the database returns them, never held all at once.
///
/// Payments in other currencies are converted in the database when every one of them has a
/// direct rate and fits exact integer arithmetic ([`foreign_converted_in_sql`]); otherwise
/// they are read per line, currency, date and amount and converted here.
pub(super) async fn disbursed_groups(
    db: &impl crate::db::Reader,
    plan: &plan::Model,
    rates: &RateTable,
    dimension: Dimension,
    filters: &Filters,
    add: &mut impl FnMut(Group) -> Result<()>,
) -> Result<()> {
    let backend = sea_orm::ConnectionTrait::get_database_backend(db);
    let lines = budget_lines(db, plan, filters).await?;
    let grouping = Grouping::of(dimension, filters);
    let key_of = |line_id: Option<i32>, month: Option<String>| -> Option<Option<String>> {
        let Some(line_id) = line_id else {
            // Grouped by month alone: every line of the plan is selected.
            return Some(month);
        };
        let line = lines.get(&line_id).filter(|l| l.selected)?;
        Some(match dimension_index(dimension) {
            Some(i) => line.keys[i].clone(),
            None => month,
        })
    };
    let mut scans = vec![false, true];
    if let Some(converted) = foreign_converted_in_sql(db, plan, rates, grouping, filters).await? {
        scans.pop();
        for (line_id, month, total) in converted {
            if let Some(key) = key_of(line_id, month) {
                add(Group {
                    key,
                    currency: plan.currency,
                    value_date: None,
                    fiscal_year: None,
                    amount: None,
                    total,
                    count: 1,
                })?;
            }
        }
    }
    for foreign in scans {
        let mut q = Binds::new(backend);
        let mut conditions = vec![
            format!("d.plan_id = {}", q.bind(plan.id)),
            format!(
                "d.currency {} {}",
                if foreign { "<>" } else { "=" },
                q.bind(plan.currency.code().to_owned())
            ),
        ];
        if let Some(from) = filters.from {
            conditions.push(format!("d.date >= {}", q.bind(from)));
        }
        if let Some(to) = filters.to {
            conditions.push(format!("d.date <= {}", q.bind(to)));
        }
        let (line, month, group_by) = grouping.sql(backend);
        let (columns, group_by) = if foreign {
            (
                "d.currency AS currency, d.date AS value_date, d.amount AS amount",
                // In the order of the index the scan walks.
                format!("{group_by}, d.currency, d.date, d.amount"),
            )
        } else {
            (
                "MIN(d.currency) AS currency, NULL AS value_date, NULL AS amount",
                group_by,
            )
        };
        let sum = exact_sum_sql("d.amount");
        let sql = format!(
            "SELECT {line} AS line_id, {month} AS month, {columns}, \
             {sum} AS total, COUNT(*) AS n \
             FROM disbursements d WHERE {} GROUP BY {group_by}",
            conditions.join(" AND ")
        );
        // Read by position: a foreign-currency scan returns a row per distinct payment.
        let rows = db.stream_raw(q.statement(sql)).await?;
        let mut rows = std::pin::pin!(rows);
        while let Some(row) = rows.try_next().await? {
            let Some(key) = key_of(row.try_get_by_index(0)?, row.try_get_by_index(1)?) else {
                continue;
            };
            add(Group {
                key,
                currency: row.try_get_by_index(2)?,
                value_date: row.try_get_by_index(3)?,
                fiscal_year: None,
                amount: row.try_get_by_index(4)?,
                total: row.try_get_by_index(5)?,
                count: row.try_get_by_index(6)?,
            })?;
        }
    }
    Ok(())
}

/// Where a budget line's key for `dimension` sits in [`LineInfo::keys`]; `None` for months,
/// which come from the disbursements.
fn dimension_index(dimension: Dimension) -> Option<usize> {
    match dimension {
        Dimension::Objective => Some(0),
        Dimension::Activity => Some(1),
        Dimension::FundingSource => Some(2),
        Dimension::Donor => Some(3),
        Dimension::Institution => Some(4),
        Dimension::Category => Some(5),
        Dimension::FiscalYear => Some(6),
        Dimension::Month => None,
    }
}

/// The plan's budget lines by id: each line's key for every dimension, and whether the
/// filters on fiscal year, funding source and donor select it.
async fn budget_lines(
    db: &impl crate::db::Reader,
    plan: &plan::Model,
    filters: &Filters,
) -> Result<HashMap<i32, LineInfo>> {
    let mut q = Binds::new(sea_orm::ConnectionTrait::get_database_backend(db));
    let sql = format!(
        "SELECT b.id AS line_id, b.category AS category, CAST(b.fiscal_year AS TEXT) AS fiscal_year, \
         CAST(a.id AS TEXT) AS activity, CAST(a.objective_id AS TEXT) AS objective, \
         CAST(a.lead_institution_id AS TEXT) AS lead, CAST(f.id AS TEXT) AS source, \
         CAST(f.donor_id AS TEXT) AS donor, f.code AS source_code, donor.code AS donor_code \
         FROM budget_lines b JOIN activities a ON a.id = b.activity_id \
         JOIN funding_sources f ON f.id = b.funding_source_id \
         LEFT JOIN institutions donor ON donor.id = f.donor_id WHERE b.plan_id = {}",
        q.bind(plan.id)
    );
    let mut lines: HashMap<i32, LineInfo> = HashMap::new();
    for row in db.query_all_raw(q.statement(sql)).await? {
        let fiscal_year: String = row.try_get("", "fiscal_year")?;
        let source_code: String = row.try_get("", "source_code")?;
        let donor_code: Option<String> = row.try_get("", "donor_code")?;
        let selected = filters
            .fiscal_year
            .is_none_or(|y| y.to_string() == fiscal_year)
            && filters
                .funding_source
                .as_ref()
                .is_none_or(|c| *c == source_code)
            && filters
                .donor
                .as_ref()
                .is_none_or(|c| donor_code.as_ref() == Some(c));
        // In the order of `dimension_index`.
        let keys = [
            row.try_get("", "objective")?,
            row.try_get("", "activity")?,
            row.try_get("", "source")?,
            row.try_get("", "donor")?,
            row.try_get("", "lead")?,
            row.try_get("", "category")?,
            Some(fiscal_year),
        ];
        lines.insert(row.try_get("", "line_id")?, LineInfo { keys, selected });
    }
    Ok(lines)
}
