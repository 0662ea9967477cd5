//! Gathers the facts the flag rules read, with aggregate queries (the database sums; no
//! disbursement is loaded one by one), and evaluates the rules of [`crate::domain::flags`].
//!
//! Money is compared in the currency it was promised in: an obligation's allocation in the
//! obligation's currency (the plan's when it names none), a budget line's payments in the
//! line's currency, a commitment's in the commitment's. Amounts in another currency are
//! converted by [`RateTable`]: budget lines at the first day of their fiscal year,
//! disbursements at their own date.

use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, DatabaseConnection, QueryResult};
use serde::Serialize;

use crate::db::{Binds, exact_sum_sql};
use crate::domain::conversion::RateTable;
use crate::domain::fiscal::FiscalYearStart;
use crate::domain::flags::{
    self, ActivityFacts, BudgetLineFacts, CommitmentFacts, Flag, InstitutionFacts, ObligationFacts,
    PlanFacts, Thresholds,
};
use crate::domain::{ActivityStatus, Currency};
use crate::entity::plan;
use crate::error::{Error, Result};
use crate::money::Amount;
use crate::service::rates::rate_table;

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

/// Runs a statement built with [`Binds`].
async fn all(db: &DatabaseConnection, binds: Binds, sql: String) -> Result<Vec<QueryResult>> {
    Ok(db.query_all_raw(binds.statement(sql)).await?)
}

/// Sums of money in one currency, with the day to convert on when it is not the target's.
struct Part {
    currency: Currency,
    value_date: Option<NaiveDate>,
    total: Amount,
}

fn read_part(row: &QueryResult) -> Result<Part> {
    Ok(Part {
        currency: row.try_get("", "currency")?,
        value_date: row.try_get("", "value_date")?,
        total: row.try_get("", "total")?,
    })
}

/// The parts converted to `to` (each at its own date, or at `default_date`) and summed.
fn total_in(
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

/// Reads everything the rules need about `plan` on `as_of`.
pub async fn gather(
    db: &DatabaseConnection,
    plan: &plan::Model,
    as_of: NaiveDate,
) -> Result<PlanFacts> {
    let backend = db.get_database_backend();
    let start = FiscalYearStart::new(plan.fiscal_year_start_month).ok_or_else(|| {
        Error::Internal(format!("plan {} has no valid fiscal year start", plan.code))
    })?;
    let year = start.year_of(as_of);
    let (year_start, _) = start.bounds(year).ok_or_else(|| {
        Error::BadRequest(format!("{as_of} is outside the calendar naptrack handles"))
    })?;
    let rates = rate_table(db).await?;
    let sum = exact_sum_sql("d.amount");

    // Budget lines of the year, and what was paid on each up to the date. Payments in the
    // line's own currency are summed whole; others are kept apart by date for conversion.
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

    struct Line {
        obligation_id: Option<i32>,
        activity_id: i32,
        facts: BudgetLineFacts,
    }
    let mut lines = Vec::with_capacity(line_rows.len());
    for row in line_rows {
        let id: i32 = row.try_get("", "id")?;
        let currency: Currency = row.try_get("", "currency")?;
        let disbursed = total_in(
            &rates,
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

    // Obligations, with the positive lines linked to them this year.
    let mut q = Binds::new(backend);
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
            .filter(|l| l.obligation_id == Some(id) && l.facts.amount.is_positive())
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

    // Activities, with whether a positive line funds them this year.
    let mut q = Binds::new(backend);
    let sql = format!(
        "SELECT a.id, a.code, a.title, a.start_date, a.end_date, a.status, a.lead_institution_id, \
         i.code AS lead_code, i.name AS lead_name \
         FROM activities a JOIN institutions i ON i.id = a.lead_institution_id \
         WHERE a.plan_id = {}",
        q.bind(plan.id)
    );
    let activity_rows = all(db, q, sql).await?;
    let mut activities = Vec::with_capacity(activity_rows.len());
    let mut leaders: HashMap<i32, InstitutionFacts> = HashMap::new();
    for row in &activity_rows {
        let id: i32 = row.try_get("", "id")?;
        let status: ActivityStatus = row.try_get("", "status")?;
        let start_date: NaiveDate = row.try_get("", "start_date")?;
        let lead_id: i32 = row.try_get("", "lead_institution_id")?;
        activities.push(ActivityFacts {
            code: row.try_get("", "code")?,
            title: row.try_get("", "title")?,
            lead: row.try_get("", "lead_name")?,
            start_date,
            end_date: row.try_get("", "end_date")?,
            planned_or_ongoing: matches!(status, ActivityStatus::Planned | ActivityStatus::Ongoing),
            funded: lines
                .iter()
                .any(|l| l.activity_id == id && l.facts.amount.is_positive()),
        });
        if status == ActivityStatus::Ongoing && start_date <= as_of {
            let entry = leaders.entry(lead_id).or_insert(InstitutionFacts {
                code: row.try_get("", "lead_code")?,
                name: row.try_get("", "lead_name")?,
                last_disbursement: None,
                active_since: start_date,
            });
            entry.active_since = entry.active_since.min(start_date);
        }
    }

    // The last payment of each leading institution: on activities it leads, or to it. One
    // pass over the covering index gives the last payment per line and payee; reversals
    // (the only negative amounts) are no sign of activity.
    if !leaders.is_empty() {
        let mut q = Binds::new(backend);
        let sql = format!(
            "SELECT b.id AS line_id, b.activity_id AS activity_id FROM budget_lines b WHERE b.plan_id = {}",
            q.bind(plan.id)
        );
        let mut activity_of_line: HashMap<i32, i32> = HashMap::new();
        for row in all(db, q, sql).await? {
            activity_of_line.insert(row.try_get("", "line_id")?, row.try_get("", "activity_id")?);
        }
        let mut lead_of_activity: HashMap<i32, i32> = HashMap::new();
        for row in &activity_rows {
            lead_of_activity.insert(
                row.try_get("", "id")?,
                row.try_get("", "lead_institution_id")?,
            );
        }
        // Two walks over covering indexes in their own order: the last payment per line, and
        // the last payment per payee.
        let mut last_by_line = Binds::new(backend);
        let sql = format!(
            "SELECT d.budget_line_id AS id, MAX(d.date) AS last_date FROM disbursements d \
             WHERE d.plan_id = {} AND d.date <= {} AND d.amount > 0 GROUP BY d.budget_line_id",
            last_by_line.bind(plan.id),
            last_by_line.bind(as_of)
        );
        let by_line = all(db, last_by_line, sql).await?;
        let mut last_by_payee = Binds::new(backend);
        let sql = format!(
            "SELECT d.payee_id AS id, MAX(d.date) AS last_date FROM disbursements d \
             WHERE d.plan_id = {} AND d.payee_id IS NOT NULL AND d.date <= {} AND d.amount > 0 \
             GROUP BY d.payee_id",
            last_by_payee.bind(plan.id),
            last_by_payee.bind(as_of)
        );
        let by_payee = all(db, last_by_payee, sql).await?;
        let mut note = |institution: Option<i32>, last: NaiveDate| {
            if let Some(leader) = institution.and_then(|i| leaders.get_mut(&i)) {
                leader.last_disbursement =
                    Some(leader.last_disbursement.map_or(last, |d| d.max(last)));
            }
        };
        for row in by_line {
            let line_id: i32 = row.try_get("", "id")?;
            let lead = activity_of_line
                .get(&line_id)
                .and_then(|a| lead_of_activity.get(a))
                .copied();
            note(lead, row.try_get("", "last_date")?);
        }
        for row in by_payee {
            note(Some(row.try_get("", "id")?), row.try_get("", "last_date")?);
        }
    }
    let mut institutions: Vec<InstitutionFacts> = leaders.into_values().collect();
    institutions.sort_by(|a, b| a.code.cmp(&b.code));

    // Commitments past due, with what was paid since they were made on lines of their
    // activity funded by their source.
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
    // One small query per overdue commitment: the lines of its activity and source, over the
    // covering index, from its date to the as-of date.
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
            &rates,
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

    Ok(PlanFacts {
        plan_code: plan.code.clone(),
        plan_currency: plan.currency,
        fiscal_year_start: start,
        as_of,
        obligations,
        activities,
        budget_lines: lines.into_iter().map(|l| l.facts).collect(),
        commitments,
        institutions,
    })
}
