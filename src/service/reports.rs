//! The budget-execution report: allocated, committed, disbursed, remaining and execution rate
//! of a plan, by one dimension, in the plan's currency.
//!
//! The database aggregates (GROUP BY over the exact integer money columns); no record is
//! loaded one by one. Conversion follows the contract record by record: each amount in another
//! currency is converted at the rate of its value date and rounded half-to-even to the plan
//! currency's minor unit. To do that without loading the records, foreign-currency amounts
//! are grouped by (row, currency, value date, amount) with a count: every record of such a
//! group converts to the same rounded amount, which is then multiplied by the count. Amounts
//! already in the plan's currency are summed as they are. Every total is the exact sum of the
//! rows shown.
//!
//! Value dates: a budget line converts at the first day of its fiscal year, a commitment at its
//! date, a disbursement at its date. A disbursement counts toward the fiscal year of its budget
//! line; a commitment toward the fiscal year that contains its date.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use futures_util::TryStreamExt;
use rust_decimal::{Decimal, RoundingStrategy};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryResult, StreamTrait,
    TransactionTrait,
};
use serde::Serialize;

use crate::db::{Binds, exact_sum_sql};
use crate::domain::Currency;
use crate::domain::conversion::{Quote, RateTable, integer_factors};
use crate::domain::fiscal::FiscalYearStart;
use crate::domain::records::guard_formula;
use crate::entity::{activity, funding_source, institution, objective, plan};
use crate::error::{Error, Result};
use crate::money::Amount;
use crate::service::rates::rate_table;

/// What the rows of a report are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Dimension {
    Objective,
    Activity,
    FundingSource,
    Donor,
    Institution,
    Category,
    FiscalYear,
    Month,
}

impl Dimension {
    pub const ALL: [Dimension; 8] = [
        Dimension::Objective,
        Dimension::Activity,
        Dimension::FundingSource,
        Dimension::Donor,
        Dimension::Institution,
        Dimension::Category,
        Dimension::FiscalYear,
        Dimension::Month,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Objective => "objective",
            Dimension::Activity => "activity",
            Dimension::FundingSource => "funding-source",
            Dimension::Donor => "donor",
            Dimension::Institution => "institution",
            Dimension::Category => "category",
            Dimension::FiscalYear => "fiscal-year",
            Dimension::Month => "month",
        }
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Dimension {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        Dimension::ALL
            .into_iter()
            .find(|d| d.as_str() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Dimension::ALL.iter().map(|d| d.as_str()).collect();
                Error::BadRequest(format!(
                    "\"{text}\" is not a dimension; use one of: {}",
                    names.join(", ")
                ))
            })
    }
}

/// Which records a report covers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
pub struct Filters {
    pub fiscal_year: Option<i32>,
    /// Disbursements dated on or after this day.
    pub from: Option<NaiveDate>,
    /// Disbursements dated on or before this day.
    pub to: Option<NaiveDate>,
    /// Only money from this funding source (its code).
    pub funding_source: Option<String>,
    /// Only money from this donor (an institution code).
    pub donor: Option<String>,
}

/// One row: a value of the dimension and its money, in the plan's currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReportRow {
    pub key: String,
    pub label: String,
    #[schema(value_type = String)]
    pub allocated: Amount,
    #[schema(value_type = String)]
    pub committed: Amount,
    #[schema(value_type = String)]
    pub disbursed: Amount,
    #[schema(value_type = String)]
    pub remaining: Amount,
    /// Disbursed ÷ allocated, to four decimals; none when nothing is allocated.
    #[schema(value_type = Option<String>)]
    pub execution_rate: Option<Decimal>,
}

/// The totals row: the exact sums of the rows' columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Totals {
    #[schema(value_type = String)]
    pub allocated: Amount,
    #[schema(value_type = String)]
    pub committed: Amount,
    #[schema(value_type = String)]
    pub disbursed: Amount,
    #[schema(value_type = String)]
    pub remaining: Amount,
    #[schema(value_type = Option<String>)]
    pub execution_rate: Option<Decimal>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExecutionReport {
    pub plan: String,
    #[schema(value_type = String)]
    pub currency: Currency,
    pub by: Dimension,
    pub filters: Filters,
    pub rows: Vec<ReportRow>,
    pub totals: Totals,
}

/// Disbursed ÷ allocated to four decimals, half-to-even; none without an allocation.
pub fn execution_rate(disbursed: Amount, allocated: Amount) -> Option<Decimal> {
    allocated.is_positive().then(|| {
        (disbursed.to_decimal() / allocated.to_decimal())
            .round_dp_with_strategy(4, RoundingStrategy::MidpointNearestEven)
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Measure {
    Allocated,
    Committed,
    Disbursed,
}

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
struct Group {
    key: Option<String>,
    currency: Currency,
    value_date: Option<NaiveDate>,
    fiscal_year: Option<i32>,
    amount: Option<Amount>,
    total: Amount,
    count: i64,
}

async fn groups(
    db: &DatabaseConnection,
    plan: &plan::Model,
    fiscal: FiscalYearStart,
    dimension: Dimension,
    measure: Measure,
    filters: &Filters,
) -> Result<Vec<Group>> {
    let backend = db.get_database_backend();
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
fn convert(
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
async fn disbursed_groups(
    db: &DatabaseConnection,
    plan: &plan::Model,
    rates: &RateTable,
    dimension: Dimension,
    filters: &Filters,
    add: &mut impl FnMut(Group) -> Result<()>,
) -> Result<()> {
    let backend = db.get_database_backend();
    let mut q = Binds::new(backend);
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
        let mut rows = db.stream_raw(q.statement(sql)).await?;
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

/// How the scans of disbursements group payments before they are placed in the report's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grouping {
    /// By budget line, for every dimension but months: a line's row follows from the line.
    Line,
    /// By budget line and month: a report by month that selects some lines (by fiscal year,
    /// funding source or donor).
    LineAndMonth,
    /// By month alone: a report by month over all the plan's lines. On SQLite the scan walks
    /// the index in month order (`ix_disbursements_plan_month_cover`) instead of sorting
    /// every payment.
    Month,
}

impl Grouping {
    fn of(dimension: Dimension, filters: &Filters) -> Grouping {
        let some_lines = filters.fiscal_year.is_some()
            || filters.funding_source.is_some()
            || filters.donor.is_some();
        match dimension {
            Dimension::Month if some_lines => Grouping::LineAndMonth,
            Dimension::Month => Grouping::Month,
            _ => Grouping::Line,
        }
    }

    /// The SQL of the line and month columns, and the terms to group by. A constant is never
    /// a grouping term: SQLite would sort instead of walking the index in order.
    fn sql(self, backend: DbBackend) -> (&'static str, &'static str, String) {
        // On SQLite, the expression of the month index, exactly.
        let month = match backend {
            DbBackend::Postgres => "to_char(d.date, 'YYYY-MM')",
            _ => "substr(d.date, 1, 7)",
        };
        match self {
            Grouping::Line => ("d.budget_line_id", "NULL", "d.budget_line_id".to_owned()),
            Grouping::LineAndMonth => (
                "d.budget_line_id",
                month,
                format!("d.budget_line_id, {month}"),
            ),
            Grouping::Month => ("CAST(NULL AS INTEGER)", month, month.to_owned()),
        }
    }
}

/// At most this many days of conversion factors (a year before the plan to a year after it, for
/// each currency with a direct rate into the plan's) are computed for one report.
const MAX_RATE_DAYS: usize = 100_000;

/// The columns of the temporary table of conversion factors.
const RATE_DAY_COLUMNS: [&str; 4] = ["currency", "day", "multiplier", "divisor"];

/// The plan's payments in other currencies, each converted and rounded half to even in the
/// database with exact integer arithmetic, summed per budget line (and month): the figures of
/// converting each payment here, without reading each payment.
///
/// The factors of each currency and day, from a year before the plan starts to a year after it
/// ends, go into a temporary table keyed by currency and day, inside a transaction of their
/// own that is rolled back afterwards (nothing is written to the database). A payment whose day
/// has no factor (no rate yet, a reverse rate nearer the day, a date outside that span) or whose
/// amount could overflow the product is counted instead of converted; if there is any, the
/// answer is `None` and the caller converts record by record, which also names a missing rate.
async fn foreign_converted_in_sql(
    db: &DatabaseConnection,
    plan: &plan::Model,
    rates: &RateTable,
    grouping: Grouping,
    filters: &Filters,
) -> Result<Option<Vec<(Option<i32>, Option<String>, Amount)>>> {
    let to = plan.currency;
    let minor = to.minor_units();
    let (Some(first), Some(last)) = (
        plan.start_date.checked_sub_days(chrono::Days::new(366)),
        plan.end_date.checked_add_days(chrono::Days::new(366)),
    ) else {
        return Ok(None);
    };
    let mut factors = Vec::new();
    for currency in rates.quoted_in(to) {
        for day in first.iter_days().take_while(|day| *day <= last) {
            if let Some(Quote::Multiply(rate)) = rates.quote(currency, to, day)
                && let Some((multiplier, divisor)) = integer_factors(rate, minor)
            {
                factors.push((currency, day, multiplier, divisor));
            }
        }
        if factors.len() > MAX_RATE_DAYS {
            return Ok(None);
        }
    }
    if factors.is_empty() {
        // Every foreign payment would be left unconverted: go straight to the other path.
        return Ok(None);
    }
    let backend = db.get_database_backend();
    let txn = db.begin().await?;
    let day_type = if backend == DbBackend::Postgres {
        "DATE"
    } else {
        "TEXT"
    };
    txn.execute_unprepared(&format!(
        "CREATE TEMPORARY TABLE report_rate_days (currency TEXT NOT NULL, day {day_type} NOT NULL, \
         multiplier BIGINT NOT NULL, divisor BIGINT NOT NULL, PRIMARY KEY (currency, day))"
    ))
    .await?;
    let per_statement = crate::db::MAX_BIND_PARAMETERS / RATE_DAY_COLUMNS.len();
    for chunk in factors.chunks(per_statement) {
        let sql =
            crate::db::insert_sql(backend, "report_rate_days", &RATE_DAY_COLUMNS, chunk.len());
        let mut values = Vec::with_capacity(chunk.len() * RATE_DAY_COLUMNS.len());
        for (currency, day, multiplier, divisor) in chunk {
            values.extend([
                sea_orm::Value::from(currency.code().to_owned()),
                sea_orm::Value::from(*day),
                sea_orm::Value::from(*multiplier),
                sea_orm::Value::from(*divisor),
            ]);
        }
        txn.execute_raw(sea_orm::Statement::from_sql_and_values(
            backend, sql, values,
        ))
        .await?;
    }
    let mut q = Binds::new(backend);
    let scale = q.bind(10_i64.pow(4_u32.saturating_sub(minor)));
    let mut conditions = vec![
        format!("d.plan_id = {}", q.bind(plan.id)),
        format!("d.currency <> {}", q.bind(to.code().to_owned())),
    ];
    if let Some(from) = filters.from {
        conditions.push(format!("d.date >= {}", q.bind(from)));
    }
    if let Some(until) = filters.to {
        conditions.push(format!("d.date <= {}", q.bind(until)));
    }
    // p = amount × multiplier, exact where |amount| ≤ i64::MAX / multiplier; its quotient by
    // the divisor truncates toward zero on both backends; the remainder decides the rounding,
    // half to even.
    let fits = "f.multiplier IS NOT NULL AND ABS(d.amount) <= 9223372036854775807 / f.multiplier";
    let p = "(d.amount * f.multiplier)";
    let quotient = format!("({p} / f.divisor)");
    let twice_remainder = format!("(2 * ABS({p} - {quotient} * f.divisor))");
    let rounded = format!(
        "({quotient} + CASE WHEN {twice_remainder} > f.divisor \
         OR ({twice_remainder} = f.divisor AND {quotient} % 2 <> 0) \
         THEN CASE WHEN d.amount < 0 THEN -1 ELSE 1 END ELSE 0 END)"
    );
    let converted = exact_sum_sql(&format!("CASE WHEN {fits} THEN {rounded} * {scale} END"));
    let (line, month, group_by) = grouping.sql(backend);
    let sql = format!(
        "SELECT {line} AS line_id, {month} AS month, {converted} AS total, \
         SUM(CASE WHEN {fits} THEN 0 ELSE 1 END) AS unconverted \
         FROM disbursements d \
         LEFT JOIN report_rate_days f ON f.currency = d.currency AND f.day = d.date \
         WHERE {} GROUP BY {group_by}",
        conditions.join(" AND ")
    );
    let rows = txn.query_all_raw(q.statement(sql)).await;
    // Rolled back: the temporary table goes with the transaction.
    txn.rollback().await?;
    let mut sums = Vec::new();
    for row in rows? {
        let unconverted: i64 = row.try_get_by_index(3)?;
        if unconverted > 0 {
            return Ok(None);
        }
        sums.push((
            row.try_get_by_index(0)?,
            row.try_get_by_index(1)?,
            row.try_get_by_index(2)?,
        ));
    }
    Ok(Some(sums))
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

/// Names of the records the dimension keys refer to.
async fn labels(
    db: &DatabaseConnection,
    dimension: Dimension,
) -> Result<HashMap<String, (String, String)>> {
    let map = match dimension {
        Dimension::Objective => objective::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|o| (o.id.to_string(), (o.code, o.title)))
            .collect(),
        Dimension::Activity => activity::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|a| (a.id.to_string(), (a.code, a.title)))
            .collect(),
        Dimension::FundingSource => funding_source::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|f| (f.id.to_string(), (f.code, f.name)))
            .collect(),
        Dimension::Donor | Dimension::Institution => institution::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|i| (i.id.to_string(), (i.code, i.name)))
            .collect(),
        Dimension::Category | Dimension::FiscalYear | Dimension::Month => HashMap::new(),
    };
    Ok(map)
}

/// The execution report of `plan` by `dimension`.
///
/// Invariants: every amount is in the plan's currency; each total is the exact sum of its
/// column; a rate that a conversion needs and that is missing is an error naming the currency
/// and date, never a zero.
pub async fn execution(
    db: &DatabaseConnection,
    plan: &plan::Model,
    dimension: Dimension,
    filters: Filters,
) -> Result<ExecutionReport> {
    let fiscal = FiscalYearStart::new(plan.fiscal_year_start_month).ok_or_else(|| {
        Error::Internal(format!("plan {} has no valid fiscal year start", plan.code))
    })?;
    let rates = rate_table(db).await?;
    let names = labels(db, dimension).await?;
    // key → (allocated, committed, disbursed); the empty key holds money the dimension
    // cannot split (commitments have no category; allocations have no month).
    let mut sums: BTreeMap<String, [Amount; 3]> = BTreeMap::new();
    for (index, measure) in [Measure::Allocated, Measure::Committed, Measure::Disbursed]
        .into_iter()
        .enumerate()
    {
        let mut add = |group: Group| -> Result<()> {
            let money = convert(&group, &rates, plan.currency, fiscal)?;
            let key = match (dimension, measure, group.value_date) {
                (Dimension::FiscalYear, Measure::Committed, Some(date)) => {
                    fiscal.year_of(date).to_string()
                }
                _ => group.key.unwrap_or_default(),
            };
            let entry = sums.entry(key).or_insert([Amount::ZERO; 3]);
            entry[index] = entry[index]
                .checked_add(money)
                .map_err(|e| Error::Internal(e.to_string()))?;
            Ok(())
        };
        match measure {
            Measure::Disbursed => {
                disbursed_groups(db, plan, &rates, dimension, &filters, &mut add).await?
            }
            _ => {
                for group in groups(db, plan, fiscal, dimension, measure, &filters).await? {
                    add(group)?;
                }
            }
        }
    }
    let mut rows: Vec<ReportRow> = sums
        .into_iter()
        .map(|(key, [allocated, committed, disbursed])| {
            let (key, label) = match names.get(&key) {
                Some((code, name)) => (code.clone(), name.clone()),
                None if key.is_empty() => (String::new(), unsplit_label(dimension)),
                None => (key.clone(), key),
            };
            let remaining = allocated
                .checked_sub(disbursed)
                .map_err(|e| Error::Internal(e.to_string()))?;
            Ok(ReportRow {
                key,
                label,
                allocated,
                committed,
                disbursed,
                remaining,
                execution_rate: execution_rate(disbursed, allocated),
            })
        })
        .collect::<Result<_>>()?;
    // Codes in byte order, the row without a key last.
    rows.sort_by(|a, b| (a.key.is_empty(), &a.key).cmp(&(b.key.is_empty(), &b.key)));
    let total = |column: fn(&ReportRow) -> Amount| {
        Amount::checked_sum(rows.iter().map(column)).map_err(|e| Error::Internal(e.to_string()))
    };
    let (allocated, committed, disbursed) = (
        total(|r| r.allocated)?,
        total(|r| r.committed)?,
        total(|r| r.disbursed)?,
    );
    let totals = Totals {
        allocated,
        committed,
        disbursed,
        remaining: total(|r| r.remaining)?,
        execution_rate: execution_rate(disbursed, allocated),
    };
    Ok(ExecutionReport {
        plan: plan.code.clone(),
        currency: plan.currency,
        by: dimension,
        filters,
        rows,
        totals,
    })
}

/// The report as CSV: one row per value of the dimension, then a `TOTAL` row.
pub fn write_csv<W: std::io::Write>(report: &ExecutionReport, out: W) -> Result<()> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(out);
    let io = |e: csv::Error| Error::Io(std::io::Error::other(e));
    let rate = |r: Option<Decimal>| r.map(|r| r.to_string()).unwrap_or_default();
    writer
        .write_record([
            "key",
            "label",
            "allocated",
            "committed",
            "disbursed",
            "remaining",
            "execution_rate",
        ])
        .map_err(io)?;
    for row in &report.rows {
        writer
            .write_record([
                guard_formula(&row.key).as_ref(),
                guard_formula(&row.label).as_ref(),
                &row.allocated.to_string(),
                &row.committed.to_string(),
                &row.disbursed.to_string(),
                &row.remaining.to_string(),
                &rate(row.execution_rate),
            ])
            .map_err(io)?;
    }
    let t = &report.totals;
    writer
        .write_record([
            "TOTAL",
            "Total",
            &t.allocated.to_string(),
            &t.committed.to_string(),
            &t.disbursed.to_string(),
            &t.remaining.to_string(),
            &rate(t.execution_rate),
        ])
        .map_err(io)?;
    writer.flush()?;
    Ok(())
}

/// The report as an aligned text table for a terminal, with thousands separators.
pub fn write_table<W: std::io::Write>(report: &ExecutionReport, mut out: W) -> Result<()> {
    let percent = |r: Option<Decimal>| {
        r.map(|r| format!("{}%", (r * Decimal::from(100)).round_dp(1)))
            .unwrap_or_else(|| "-".to_owned())
    };
    let mut lines: Vec<[String; 7]> = report
        .rows
        .iter()
        .map(|row| {
            [
                row.key.clone(),
                row.label.chars().take(48).collect(),
                row.allocated.grouped(),
                row.committed.grouped(),
                row.disbursed.grouped(),
                row.remaining.grouped(),
                percent(row.execution_rate),
            ]
        })
        .collect();
    let t = &report.totals;
    lines.push([
        "TOTAL".to_owned(),
        String::new(),
        t.allocated.grouped(),
        t.committed.grouped(),
        t.disbursed.grouped(),
        t.remaining.grouped(),
        percent(t.execution_rate),
    ]);
    let header = [
        "key",
        "label",
        "allocated",
        "committed",
        "disbursed",
        "remaining",
        "rate",
    ]
    .map(str::to_owned);
    let widths: Vec<usize> = (0..7)
        .map(|i| {
            lines
                .iter()
                .chain([&header])
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    writeln!(
        out,
        "Budget execution of plan {} by {}, in {}",
        report.plan, report.by, report.currency
    )?;
    for (n, line) in [&header].into_iter().chain(lines.iter()).enumerate() {
        if n == lines.len() {
            writeln!(out, "{}", "-".repeat(widths.iter().sum::<usize>() + 12))?;
        }
        writeln!(
            out,
            "{:<w0$}  {:<w1$}  {:>w2$}  {:>w3$}  {:>w4$}  {:>w5$}  {:>w6$}",
            line[0],
            line[1],
            line[2],
            line[3],
            line[4],
            line[5],
            line[6],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
            w4 = widths[4],
            w5 = widths[5],
            w6 = widths[6]
        )?;
    }
    Ok(())
}

fn unsplit_label(dimension: Dimension) -> String {
    match dimension {
        Dimension::Category => "Commitments (they have no category)".to_owned(),
        Dimension::Month => "Allocations (budget lines have no month)".to_owned(),
        Dimension::Donor => "No donor (state budget and own funds)".to_owned(),
        _ => "(none)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dimension_parses_from_its_name() {
        for dimension in Dimension::ALL {
            assert_eq!(
                dimension.as_str().parse::<Dimension>().ok(),
                Some(dimension)
            );
        }
        assert!("pillar".parse::<Dimension>().is_err());
    }

    #[test]
    fn the_execution_rate_is_rounded_to_four_decimals_and_absent_without_allocation() {
        let a = |t: &str| Amount::parse(t).unwrap();
        assert_eq!(execution_rate(a("1"), a("3")), Some(Decimal::new(3333, 4)));
        assert_eq!(execution_rate(a("2"), a("3")), Some(Decimal::new(6667, 4)));
        assert_eq!(execution_rate(a("5"), a("0")), None);
    }
}
