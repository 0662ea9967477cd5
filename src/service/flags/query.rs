//! What every gathering of flag facts shares: running a statement, and sums of money kept
//! apart by currency (and by day, where they must be converted) until they are converted to
//! the currency a rule compares them in.

use crate::db::Reader;
use chrono::NaiveDate;
use sea_orm::QueryResult;

use crate::db::Binds;
use crate::domain::Currency;
use crate::domain::conversion::RateTable;
use crate::error::{Error, Result};
use crate::money::Amount;

/// Runs a statement built with [`Binds`].
pub async fn all(db: &impl Reader, binds: Binds, sql: String) -> Result<Vec<QueryResult>> {
    Ok(db.query_all_raw(binds.statement(sql)).await?)
}

/// Sums of money in one currency, with the day to convert on when it is not the target's.
pub struct Part {
    pub currency: Currency,
    pub value_date: Option<NaiveDate>,
    pub total: Amount,
}

/// A [`Part`] from a row with the columns `currency`, `value_date` and `total`.
pub fn read_part(row: &QueryResult) -> Result<Part> {
    Ok(Part {
        currency: row.try_get("", "currency")?,
        value_date: row.try_get("", "value_date")?,
        total: row.try_get("", "total")?,
    })
}

/// The parts converted to `to` (each at its own date, or at `default_date`) and summed.
pub fn total_in(
    rates: &RateTable,
    parts: &[Part],
    to: Currency,
    default_date: NaiveDate,
) -> Result<Amount> {
    let mut total = Amount::ZERO;
    for part in parts {
        let converted = rates.convert(
            part.total,
            part.currency,
            to,
            part.value_date.unwrap_or(default_date),
        )?;
        total = total
            .checked_add(converted)
            .map_err(|e| Error::Internal(e.to_string()))?;
    }
    Ok(total)
}
