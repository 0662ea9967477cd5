//! Gathers the facts the flag rules read, with aggregate queries (the database sums; no
//! disbursement is loaded one by one), and evaluates the rules of [`crate::domain::flags`].
//!
//! Each kind of fact has its own gathering file here, run once per evaluation and shared by
//! every rule that reads it: the budget lines of the year (which obligations and activities
//! are funded by, too), obligations, activities, the institutions that lead them, and
//! commitments, and the indicators of the reporting year for the results rules, and the
//! year's payments for the integrity rules (read in one pass, in date order).
//!
//! Money is compared in the currency it was promised in: an obligation's allocation in the
//! obligation's currency (the plan's when it names none), a budget line's payments in the
//! line's currency, a commitment's in the commitment's. Amounts in another currency are
//! converted by [`crate::domain::conversion::RateTable`]: budget lines at the first day of
//! their fiscal year, disbursements at their own date.

use chrono::NaiveDate;
use sea_orm::DatabaseConnection;
use serde::Serialize;

use crate::domain::conversion::RateTable;
use crate::domain::fiscal::FiscalYearStart;
use crate::domain::flags::{self, Flag, Kind, PlanFacts, Thresholds};
use crate::entity::plan;
use crate::error::{Error, Result};
use crate::service::rates::rate_table;

mod activities;
mod budget_lines;
mod commitments;
mod indicators;
mod institutions;
mod obligations;
mod payments;
mod query;

pub use payments::Scope;

/// The flags of one plan on one date.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FlagReport {
    pub plan: String,
    pub as_of: NaiveDate,
    pub fiscal_year: i32,
    pub flags: Vec<Flag>,
}

/// The flags of `plan` as of `as_of`, for the fiscal year that contains that date.
pub async fn flags(
    db: &DatabaseConnection,
    plan: &plan::Model,
    as_of: NaiveDate,
    thresholds: &Thresholds,
) -> Result<FlagReport> {
    let facts = gather(db, plan, as_of).await?;
    Ok(FlagReport {
        plan: plan.code.clone(),
        as_of,
        fiscal_year: facts.fiscal_year(),
        flags: flags::evaluate(&facts, thresholds),
    })
}

/// The integrity flags (the red flags of [`Kind::Integrity`]) of the payments in `scope` as of
/// `as_of`: the rules read only those payments, so that a donor's statement shows what its
/// own money's payments raise. `rates` are the exchange rates ([`rate_table`]), read once by
/// a caller that asks for several dates.
pub async fn integrity_flags(
    db: &DatabaseConnection,
    plan: &plan::Model,
    (as_of, rates): (NaiveDate, &RateTable),
    thresholds: &Thresholds,
    scope: Scope<'_>,
) -> Result<Vec<Flag>> {
    let start = fiscal_year_start(plan)?;
    let year = start.year_of(as_of);
    let payments = payments::gather(db, plan, (start, year), as_of, rates, scope).await?;
    let facts = PlanFacts {
        plan_code: plan.code.clone(),
        plan_currency: plan.currency,
        fiscal_year_start: start,
        as_of,
        obligations: Vec::new(),
        activities: Vec::new(),
        budget_lines: Vec::new(),
        commitments: Vec::new(),
        institutions: Vec::new(),
        indicators: Vec::new(),
        payments,
    };
    let mut found = flags::evaluate(&facts, thresholds);
    found.retain(|flag| flag.kind == Kind::Integrity);
    Ok(found)
}

fn fiscal_year_start(plan: &plan::Model) -> Result<FiscalYearStart> {
    FiscalYearStart::new(plan.fiscal_year_start_month).ok_or_else(|| {
        Error::Internal(format!("plan {} has no valid fiscal year start", plan.code))
    })
}

/// Reads everything the rules need about `plan` on `as_of`: each kind of fact once, with the
/// exchange rates read once for all of them.
pub async fn gather(
    db: &DatabaseConnection,
    plan: &plan::Model,
    as_of: NaiveDate,
) -> Result<PlanFacts> {
    let start = fiscal_year_start(plan)?;
    let year = start.year_of(as_of);
    let (year_start, _) = start.bounds(year).ok_or_else(|| {
        Error::BadRequest(format!("{as_of} is outside the calendar naptrack handles"))
    })?;
    let rates = rate_table(db).await?;

    let lines = budget_lines::gather(db, plan, year, as_of, &rates).await?;
    let obligations = obligations::gather(db, plan, &lines, &rates, year_start).await?;
    let activity_list = activities::gather(db, plan).await?;
    let institutions = institutions::gather(db, plan, as_of, &activity_list).await?;
    let commitments = commitments::gather(db, plan, as_of, &rates).await?;
    let indicators = indicators::gather(db, plan, year - 1, as_of).await?;
    let payments = payments::gather(db, plan, (start, year), as_of, &rates, Scope::Plan).await?;

    Ok(PlanFacts {
        plan_code: plan.code.clone(),
        plan_currency: plan.currency,
        fiscal_year_start: start,
        as_of,
        obligations,
        activities: activities::facts(&activity_list, &lines),
        budget_lines: lines.into_iter().map(|line| line.facts).collect(),
        commitments,
        institutions,
        indicators,
        payments,
    })
}
