//! The obligations of the plan, with the money of the positive lines linked to them in the
//! fiscal year: the facts of the three `OBLIGATION_*` rules.

use crate::db::Reader;
use chrono::NaiveDate;

use super::budget_lines::Line;
use super::query::all;
use crate::db::Binds;
use crate::domain::Currency;
use crate::domain::conversion::RateTable;
use crate::domain::flags::ObligationFacts;
use crate::entity::plan;
use crate::error::{Error, Result};
use crate::money::Amount;

/// Every obligation of `plan`, its allocation and payments from `lines` converted to the
/// obligation's currency (the plan's when it names none) at `year_start`.
pub async fn gather(
    db: &impl Reader,
    plan: &plan::Model,
    lines: &[Line],
    rates: &RateTable,
    year_start: NaiveDate,
) -> Result<Vec<ObligationFacts>> {
    let mut q = Binds::new(sea_orm::ConnectionTrait::get_database_backend(db));
    let sql = format!(
        "SELECT id, code, title, legal_basis, in_force_from, annual_minimum, currency \
         FROM obligations WHERE plan_id = {}",
        q.bind(plan.id)
    );
    let mut obligations = Vec::new();
    for row in all(db, q, sql).await? {
        let id: i32 = row.try_get("", "id")?;
        let currency: Option<Currency> = row.try_get("", "currency")?;
        let currency = currency.unwrap_or(plan.currency);
        let mut allocated = Amount::ZERO;
        let mut disbursed = Amount::ZERO;
        for line in lines
            .iter()
            .filter(|l| l.obligation_id == Some(id) && l.funds())
        {
            let add = |total: Amount, amount: Amount| -> Result<Amount> {
                let converted = rates.convert(amount, line.facts.currency, currency, year_start)?;
                total
                    .checked_add(converted)
                    .map_err(|e| Error::Internal(e.to_string()))
            };
            allocated = add(allocated, line.facts.amount)?;
            disbursed = add(disbursed, line.facts.disbursed)?;
        }
        obligations.push(ObligationFacts {
            code: row.try_get("", "code")?,
            title: row.try_get("", "title")?,
            legal_basis: row.try_get("", "legal_basis")?,
            in_force_from: row.try_get("", "in_force_from")?,
            annual_minimum: row.try_get("", "annual_minimum")?,
            currency,
            allocated,
            disbursed,
        });
    }
    Ok(obligations)
}
