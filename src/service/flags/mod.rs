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

use crate::db::{Binds, Reader};
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
    flags_in(db, plan, as_of, thresholds).await
}

/// [`flags`] as `db` sees the data: a transaction's flags include its own writes.
pub async fn flags_in(
    db: &impl Reader,
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

/// One fiscal year of an obligation: its money in that year and the `OBLIGATION_*` flags
/// it raises as of the year's last day (or `today`, in the year that holds it).
pub struct ObligationYear {
    pub fiscal_year: i32,
    pub as_of: NaiveDate,
    pub facts: flags::ObligationFacts,
    pub flags: Vec<Flag>,
}

/// The obligation `code` of `plan` in every fiscal year of the plan up to `today`: the view
/// of one obligation's funding across the plan's years.
pub async fn obligation_years(
    db: &DatabaseConnection,
    plan: &plan::Model,
    code: &str,
    today: NaiveDate,
    thresholds: &Thresholds,
) -> Result<Vec<ObligationYear>> {
    let start = fiscal_year_start(plan)?;
    let rates = rate_table(db).await?;
    let last = plan.end_date.min(today).max(plan.start_date);
    let mut years = Vec::new();
    for year in start.year_of(plan.start_date)..=start.year_of(last) {
        let Some((year_start, year_end)) = start.bounds(year) else {
            continue;
        };
        let as_of = year_end.min(last);
        let lines = budget_lines::gather(db, plan, year, as_of, &rates).await?;
        let mut obligations = obligations::gather(db, plan, &lines, &rates, year_start).await?;
        obligations.retain(|o| o.code == code);
        let Some(facts) = obligations.first().cloned() else {
            return Err(Error::NotFound(format!(
                "there is no obligation {code} in plan {}",
                plan.code
            )));
        };
        let plan_facts = PlanFacts {
            plan_code: plan.code.clone(),
            plan_currency: plan.currency,
            fiscal_year_start: start,
            as_of,
            obligations,
            activities: Vec::new(),
            budget_lines: Vec::new(),
            commitments: Vec::new(),
            institutions: Vec::new(),
            indicators: Vec::new(),
            payments: Default::default(),
        };
        years.push(ObligationYear {
            fiscal_year: year,
            as_of,
            facts,
            flags: flags::evaluate(&plan_facts, thresholds),
        });
    }
    Ok(years)
}

/// A budget line with everything paid on it, whatever the date, in its own currency: what is
/// left to pay before it is overspent.
#[derive(Debug, Clone)]
pub struct LineStanding {
    pub code: String,
    pub activity_title: String,
    pub fiscal_year: i32,
    /// The first and last day of the line's fiscal year.
    pub year: (NaiveDate, NaiveDate),
    pub amount: crate::money::Amount,
    pub currency: crate::domain::Currency,
    pub disbursed: crate::money::Amount,
    pub remaining: crate::money::Amount,
}

/// The standing of the budget line `code` of `plan`; `None` when the plan has no such line.
pub async fn line_standing(
    db: &DatabaseConnection,
    plan: &plan::Model,
    code: &str,
) -> Result<Option<LineStanding>> {
    let mut q = Binds::new(sea_orm::ConnectionTrait::get_database_backend(db));
    let sql = format!(
        "SELECT fiscal_year FROM budget_lines WHERE plan_id = {} AND code = {}",
        q.bind(plan.id),
        q.bind(code.to_owned())
    );
    let Some(row) = query::all(db, q, sql).await?.into_iter().next() else {
        return Ok(None);
    };
    let fiscal_year: i32 = row.try_get("", "fiscal_year")?;
    let start = fiscal_year_start(plan)?;
    let Some(year) = start.bounds(fiscal_year) else {
        return Ok(None);
    };
    let rates = rate_table(db).await?;
    let every_day = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX);
    let lines = budget_lines::gather(db, plan, fiscal_year, every_day, &rates).await?;
    let Some(line) = lines.into_iter().find(|l| l.facts.code == code) else {
        return Ok(None);
    };
    let facts = line.facts;
    let remaining = facts
        .amount
        .checked_sub(facts.disbursed)
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(Some(LineStanding {
        code: facts.code,
        activity_title: facts.activity_title,
        fiscal_year,
        year,
        amount: facts.amount,
        currency: facts.currency,
        disbursed: facts.disbursed,
        remaining,
    }))
}

/// The flags that `after` (a transaction holding an import not yet committed) raises and
/// `before` (the committed data) does not: in each fiscal year of the plan up to `today`, as of
/// the year's last day (or `today`, in the year that holds it). A flag counts as the same when
/// its rule, subject and year are; a changed message or gap is not a new flag.
pub async fn raised_by(
    before: &DatabaseConnection,
    after: &impl Reader,
    plan: &plan::Model,
    today: NaiveDate,
    thresholds: &Thresholds,
) -> Result<Vec<Flag>> {
    let start = fiscal_year_start(plan)?;
    let last = plan.end_date.min(today).max(plan.start_date);
    let key = |f: &Flag| {
        (
            f.rule,
            f.subject.kind,
            f.subject.code.clone(),
            f.fiscal_year,
        )
    };
    let mut raised = Vec::new();
    for year in start.year_of(plan.start_date)..=start.year_of(last) {
        let Some((_, year_end)) = start.bounds(year) else {
            continue;
        };
        let as_of = year_end.min(last);
        let old: Vec<_> = flags_in(before, plan, as_of, thresholds)
            .await?
            .flags
            .iter()
            .map(key)
            .collect();
        raised.extend(
            flags_in(after, plan, as_of, thresholds)
                .await?
                .flags
                .into_iter()
                .filter(|f| !old.contains(&key(f))),
        );
    }
    Ok(raised)
}

fn fiscal_year_start(plan: &plan::Model) -> Result<FiscalYearStart> {
    FiscalYearStart::new(plan.fiscal_year_start_month).ok_or_else(|| {
        Error::Internal(format!("plan {} has no valid fiscal year start", plan.code))
    })
}

/// Reads everything the rules need about `plan` on `as_of`: each kind of fact once, with the
/// exchange rates read once for all of them.
pub async fn gather(db: &impl Reader, plan: &plan::Model, as_of: NaiveDate) -> Result<PlanFacts> {
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
