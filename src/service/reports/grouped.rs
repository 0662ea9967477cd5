//! Money aggregated by the report's dimension in the database: allocations (budget lines) and
//! commitments in one GROUP BY each, and the conversion of a group of records in another
//! currency, record by record, into the plan's currency.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sea_orm::{DbBackend, QueryResult};

use super::model::{Dimension, Filters, Measure};
use crate::db::{Binds, exact_sum_sql};
use crate::domain::Currency;
use crate::domain::conversion::RateTable;
use crate::domain::fiscal::FiscalYearStart;
use crate::entity::plan;
use crate::error::{Error, Result};
use crate::money::Amount;

/// The SQL expression of the dimension for one measure's records, as text (or NULL when the
/// measure cannot be split by it).
fn dimension_sql(backend: DbBackend, dimension: Dimension, measure: Measure) -> &'static str {
    let month = match (backend, measure) {
        (_, Measure::Allocated) => "NULL",
        (DbBackend::Postgres, Measure::Committed) => "to_char(c.date, 'YYYY-MM')",
        (DbBackend::Postgres, Measure::Disbursed) => "to_char(d.date, 'YYYY-MM')",
        (_, Measure::Committed) => "substr(c.date, 1, 7)",
        (_, Measure::Disbursed) => "substr(d.date, 1, 7)",
    };
    match (dimension, measure) {
        (Dimension::Objective, _) => "CAST(a.objective_id AS TEXT)",
        (Dimension::Activity, _) => "CAST(a.id AS TEXT)",
        (Dimension::FundingSource, _) => "CAST(f.id AS TEXT)",
        (Dimension::Donor, _) => "CAST(f.donor_id AS TEXT)",
        (Dimension::Institution, _) => "CAST(a.lead_institution_id AS TEXT)",
        (Dimension::Category, Measure::Committed) => "NULL",
        (Dimension::Category, _) => "b.category",
        // A commitment's fiscal year follows from its date, which Rust maps to a year.
        (Dimension::FiscalYear, Measure::Committed) => "NULL",
        (Dimension::FiscalYear, _) => "CAST(b.fiscal_year AS TEXT)",
        (Dimension::Month, _) => month,
    }
}

/// One aggregate of money: amounts in the plan's currency summed; others by value date and
/// amount, with their count.
pub(super) struct Group {
    pub(super) key: Option<String>,
    pub(super) currency: Currency,
    pub(super) value_date: Option<NaiveDate>,
    pub(super) fiscal_year: Option<i32>,
    pub(super) amount: Option<Amount>,
    pub(super) total: Amount,
    pub(super) count: i64,
}

/// The groups of `measure` (allocated or committed) for `dimension`: one per dimension value
/// and currency, and for other currencies per value date and amount.
pub(super) async fn groups(
    db: &impl crate::db::Reader,
    plan: &plan::Model,
    fiscal: FiscalYearStart,
    dimension: Dimension,
    measure: Measure,
    filters: &Filters,
) -> Result<Vec<Group>> {
    let backend = sea_orm::ConnectionTrait::get_database_backend(db);
    let mut q = Binds::new(backend);
    let plan_currency = q.bind(plan.currency.code().to_owned());
    let dim = dimension_sql(backend, dimension, measure);
    let (table, from, date_column) = match measure {
        Measure::Allocated => (
            "b",
            "FROM budget_lines b JOIN activities a ON a.id = b.activity_id \
             JOIN funding_sources f ON f.id = b.funding_source_id",
            None,
        ),
        Measure::Committed => (
            "c",
            "FROM commitments c JOIN activities a ON a.id = c.activity_id \
             JOIN funding_sources f ON f.id = c.funding_source_id",
            Some("c.date"),
        ),
        Measure::Disbursed => (
            "d",
            "FROM disbursements d JOIN budget_lines b ON b.id = d.budget_line_id \
             JOIN activities a ON a.id = b.activity_id \
             JOIN funding_sources f ON f.id = b.funding_source_id",
            Some("d.date"),
        ),
    };
    let mut conditions = vec![format!("{table}.plan_id = {}", q.bind(plan.id))];
    if let Some(year) = filters.fiscal_year {
        match measure {
            Measure::Committed => {
                let (first, last) = fiscal.bounds(year).ok_or_else(|| {
                    Error::BadRequest(format!("fiscal year {year} is out of range"))
                })?;
                conditions.push(format!(
                    "c.date >= {} AND c.date <= {}",
                    q.bind(first),
                    q.bind(last)
                ));
            }
            _ => conditions.push(format!("b.fiscal_year = {}", q.bind(year))),
        }
    }
    if measure == Measure::Disbursed {
        if let Some(from) = filters.from {
            conditions.push(format!("d.date >= {}", q.bind(from)));
        }
        if let Some(to) = filters.to {
            conditions.push(format!("d.date <= {}", q.bind(to)));
        }
    }
    if let Some(code) = &filters.funding_source {
        conditions.push(format!("f.code = {}", q.bind(code.clone())));
    }
    if let Some(code) = &filters.donor {
        conditions.push(format!(
            "f.donor_id IN (SELECT id FROM institutions WHERE code = {})",
            q.bind(code.clone())
        ));
    }
    let foreign = format!("{table}.currency <> {plan_currency}");
    let value_date = match date_column {
        Some(column) if dimension == Dimension::FiscalYear && measure == Measure::Committed => {
            column.to_owned()
        }
        Some(column) => format!("CASE WHEN {foreign} THEN {column} END"),
        None => "NULL".to_owned(),
    };
    let year = match measure {
        Measure::Committed => "NULL".to_owned(),
        _ => format!("CASE WHEN {foreign} THEN b.fiscal_year END"),
    };
    let amount = format!("CASE WHEN {foreign} THEN {table}.amount END");
    let sum = exact_sum_sql(&format!("{table}.amount"));
    let sql = format!(
        "SELECT {dim} AS dim, {table}.currency AS currency, {value_date} AS value_date, \
         {year} AS fiscal_year, {amount} AS amount, \
         {sum} AS total, COUNT(*) AS n \
         {from} WHERE {} \
         GROUP BY 1, 2, 3, 4, 5",
        conditions.join(" AND ")
    );
    let rows = db.query_all_raw(q.statement(sql)).await?;
    rows.iter().map(read_group).collect()
}

fn read_group(row: &QueryResult) -> Result<Group> {
    Ok(Group {
        key: row.try_get("", "dim")?,
        currency: row.try_get("", "currency")?,
        value_date: row.try_get("", "value_date")?,
        fiscal_year: row.try_get("", "fiscal_year")?,
        amount: row.try_get("", "amount")?,
        total: row.try_get("", "total")?,
        count: row.try_get("", "n")?,
    })
}

/// A group's money in the plan's currency: as it is, or each record converted and rounded.
pub(super) fn convert(
    group: &Group,
    rates: &RateTable,
    to: Currency,
    fiscal: FiscalYearStart,
) -> Result<Amount> {
    if group.currency == to {
        return Ok(group.total);
    }
    let date = match (group.value_date, group.fiscal_year) {
        (Some(date), _) => date,
        (None, Some(year)) => fiscal
            .bounds(year)
            .map(|(first, _)| first)
            .ok_or_else(|| Error::Internal(format!("fiscal year {year} out of range")))?,
        (None, None) => {
            return Err(Error::Internal(
                "a foreign amount without a value date".to_owned(),
            ));
        }
    };
    let each = group.amount.unwrap_or(group.total);
    let converted = rates.convert(each, group.currency, to, date)?;
    Amount::from_units(converted.units())
        .to_decimal()
        .checked_mul(Decimal::from(group.count))
        .and_then(Amount::from_decimal)
        .ok_or_else(|| Error::Internal("a converted total overflows".to_owned()))
}
