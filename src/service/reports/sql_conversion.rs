//! The fast path of a report's foreign-currency payments: each converted and rounded in the
//! database with exact integer arithmetic, from a temporary table of conversion factors per
//! currency and day. When any payment cannot be converted there, the caller takes the record
//! by record path instead (see `disbursed`).

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend};

use super::grouping::Grouping;
use super::model::Filters;
use crate::db::{Binds, exact_sum_sql};
use crate::domain::Currency;
use crate::domain::conversion::{Quote, RateTable, integer_factors};
use crate::entity::plan;
use crate::error::Result;
use crate::money::Amount;

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
pub(super) async fn foreign_converted_in_sql(
    db: &impl crate::db::Reader,
    plan: &plan::Model,
    rates: &RateTable,
    grouping: Grouping,
    filters: &Filters,
) -> Result<Option<Vec<(Option<i32>, Option<String>, Amount)>>> {
    let to = plan.currency;
    let minor = to.minor_units();
    let Some(factors) = rate_days(plan, rates) else {
        return Ok(None);
    };
    if factors.is_empty() {
        // Every foreign payment would be left unconverted: go straight to the other path.
        return Ok(None);
    }
    let backend = sea_orm::ConnectionTrait::get_database_backend(db);
    let txn = db.begin().await?;
    create_rate_days(&txn, backend, &factors).await?;
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

/// One day's conversion factors of one currency into the plan's: an amount converts to
/// `amount × multiplier / divisor` minor units, rounded half to even.
type RateDay = (Currency, NaiveDate, i64, i64);

/// The factors of each currency with a direct rate into the plan's currency, for each day from
/// a year before the plan starts to a year after it ends on which that rate applies and fits
/// exact integer arithmetic; `None` when the span cannot be computed or holds more than
/// [`MAX_RATE_DAYS`].
fn rate_days(plan: &plan::Model, rates: &RateTable) -> Option<Vec<RateDay>> {
    let to = plan.currency;
    let minor = to.minor_units();
    let first = plan.start_date.checked_sub_days(chrono::Days::new(366))?;
    let last = plan.end_date.checked_add_days(chrono::Days::new(366))?;
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
            return None;
        }
    }
    Some(factors)
}

/// Creates the temporary table `report_rate_days` in `txn` and fills it with `factors`.
async fn create_rate_days(
    txn: &DatabaseTransaction,
    backend: DbBackend,
    factors: &[RateDay],
) -> Result<()> {
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
    Ok(())
}
