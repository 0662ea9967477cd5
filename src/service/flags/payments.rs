//! The facts of the integrity rules: the fiscal year's payments up to the as-of date, read in
//! one pass in date order (reversals and every payment reversed on or before the as-of date
//! left out), each converted to the plan currency at its own date; and, for `YEAR_END_SPIKE`,
//! what each budget line paid in the year before and in that year's final month, read in one
//! pass too and summed here.

use std::collections::HashMap;

use crate::db::Reader;
use chrono::{Datelike, NaiveDate};
use futures_util::TryStreamExt;
use sea_orm::DbBackend;

use super::query::{Part, all, total_in};
use crate::db::Binds;
use crate::domain::Currency;
use crate::domain::conversion::RateTable;
use crate::domain::fiscal::FiscalYearStart;
use crate::domain::flags::{PaidLineFacts, PayeeFacts, PaymentFact, PaymentFacts, YearEndFacts};
use crate::entity::plan;
use crate::error::{Error, Result};
use crate::money::Amount;

/// A budget line's place in [`PaymentFacts::lines`], by its id.
type LineIndex = HashMap<i32, usize>;

/// Whose payments the integrity rules look at.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// Every payment of the plan.
    Plan,
    /// Only the payments on budget lines of these funding sources (by id): one donor's or
    /// one funding source's money.
    FundingSources(&'a [i32]),
}

impl Scope<'_> {
    /// The condition on `d`, the disbursement, that keeps the payments in scope.
    fn condition(self, q: &mut Binds) -> String {
        match self {
            Scope::Plan => "1 = 1".to_owned(),
            Scope::FundingSources([]) => "1 = 0".to_owned(),
            Scope::FundingSources(ids) => {
                let ids: Vec<String> = ids.iter().map(|id| q.bind(*id)).collect();
                format!(
                    "d.budget_line_id IN (SELECT s.id FROM budget_lines s \
                     WHERE s.funding_source_id IN ({}))",
                    ids.join(", ")
                )
            }
        }
    }
}

/// The integrity facts of `plan` in fiscal year `year` as of `as_of`, of the payments in
/// `scope`.
pub async fn gather(
    db: &impl Reader,
    plan: &plan::Model,
    (start, year): (FiscalYearStart, i32),
    as_of: NaiveDate,
    rates: &RateTable,
    scope: Scope<'_>,
) -> Result<PaymentFacts> {
    let backend = sea_orm::ConnectionTrait::get_database_backend(db);
    let (lines, line_index) = paid_lines(db, plan).await?;
    let (payees, payee_index) = payees(db, backend).await?;
    let mut facts = PaymentFacts {
        payees,
        lines,
        payments: Vec::new(),
        year_end: Vec::new(),
    };
    if let Some((first, _)) = start.bounds(year) {
        let indexes = (&line_index, &payee_index);
        facts.payments = payments(db, plan, (first, as_of), rates, indexes, scope).await?;
    }
    if let Some(bounds) = start.bounds(year - 1) {
        let lines = (facts.lines.as_slice(), &line_index);
        facts.year_end = year_end(db, plan, bounds, as_of, rates, lines, scope).await?;
    }
    Ok(facts)
}

/// Every budget line of the plan, with its activity's code, title and dates.
async fn paid_lines(
    db: &impl Reader,
    plan: &plan::Model,
) -> Result<(Vec<PaidLineFacts>, LineIndex)> {
    let mut q = Binds::new(sea_orm::ConnectionTrait::get_database_backend(db));
    let sql = format!(
        "SELECT b.id, b.code, a.code AS activity_code, a.title, a.start_date, a.end_date \
         FROM budget_lines b JOIN activities a ON a.id = b.activity_id WHERE b.plan_id = {} \
         ORDER BY b.code",
        q.bind(plan.id)
    );
    let mut lines = Vec::new();
    let mut index = HashMap::new();
    for row in all(db, q, sql).await? {
        index.insert(row.try_get::<i32>("", "id")?, lines.len());
        lines.push(PaidLineFacts {
            code: row.try_get("", "code")?,
            activity_code: row.try_get("", "activity_code")?,
            activity_title: row.try_get("", "title")?,
            activity_start: row.try_get("", "start_date")?,
            activity_end: row.try_get("", "end_date")?,
        });
    }
    Ok((lines, index))
}

/// Every institution, as a payee.
async fn payees(
    db: &impl Reader,
    backend: DbBackend,
) -> Result<(Vec<PayeeFacts>, HashMap<i32, usize>)> {
    let sql = "SELECT id, code, name FROM institutions ORDER BY code".to_owned();
    let mut payees = Vec::new();
    let mut index = HashMap::new();
    for row in all(db, Binds::new(backend), sql).await? {
        index.insert(row.try_get::<i32>("", "id")?, payees.len());
        payees.push(PayeeFacts {
            code: row.try_get("", "code")?,
            name: row.try_get("", "name")?,
        });
    }
    Ok((payees, index))
}

/// The condition on `d` that leaves out reversals and every payment reversed on or before
/// `as_of`. Written so that SQLite, which keeps no statistics, still reads the year's payments
/// through the index on (budget line, date): `+` keeps it from choosing the index on
/// `reverses_id` for the many rows where it is null, and `> 0` lets the reversals be found by
/// a range of that index.
fn neither_reversal_nor_reversed(q: &mut Binds, as_of: NaiveDate) -> String {
    format!(
        "+d.reverses_id IS NULL AND d.id NOT IN (SELECT r.reverses_id FROM disbursements r \
         WHERE r.reverses_id > 0 AND r.date <= {})",
        q.bind(as_of)
    )
}

/// The condition on `d` that keeps the payments on the plan's budget lines: a look-up of each
/// line's date range in the index on (budget line, date), rather than a scan of the plan.
fn on_the_plans_lines(q: &mut Binds, plan: &plan::Model) -> String {
    format!(
        "d.budget_line_id IN (SELECT b.id FROM budget_lines b WHERE b.plan_id = {})",
        q.bind(plan.id)
    )
}

/// The payments dated from `first` to `last` (the as-of date), in date order, then in the
/// order they were recorded.
async fn payments(
    db: &impl Reader,
    plan: &plan::Model,
    (first, last): (NaiveDate, NaiveDate),
    rates: &RateTable,
    (lines, payees): (&LineIndex, &HashMap<i32, usize>),
    scope: Scope<'_>,
) -> Result<Vec<PaymentFact>> {
    let mut q = Binds::new(sea_orm::ConnectionTrait::get_database_backend(db));
    let sql = format!(
        "SELECT d.reference, d.date, d.amount, d.currency, d.budget_line_id, d.payee_id \
         FROM disbursements d WHERE {} AND d.date >= {} AND d.date <= {} AND {} \
         AND {} ORDER BY d.date, d.id",
        on_the_plans_lines(&mut q, plan),
        q.bind(first),
        q.bind(last),
        neither_reversal_nor_reversed(&mut q, last),
        scope.condition(&mut q)
    );
    let rows = all(db, q, sql).await?;
    let mut payments = Vec::with_capacity(rows.len());
    for row in rows {
        let line_id: i32 = row.try_get("", "budget_line_id")?;
        let Some(&line) = lines.get(&line_id) else {
            continue;
        };
        let payee: Option<i32> = row.try_get("", "payee_id")?;
        let date: NaiveDate = row.try_get("", "date")?;
        let amount = row.try_get("", "amount")?;
        let currency: Currency = row.try_get("", "currency")?;
        payments.push(PaymentFact {
            reference: row.try_get("", "reference")?,
            date,
            amount,
            currency,
            in_plan_currency: rates.convert(amount, currency, plan.currency, date)?,
            payee: payee.and_then(|id| payees.get(&id).copied()),
            line,
        });
    }
    Ok(payments)
}

/// What each budget line paid in the year `(first, last)` and in its final month, in the plan
/// currency: the year's payments read once through the index on (budget line, date) and summed
/// here per line, currency and part of the year (and per day for the rare payments in another
/// currency, to convert them at their date). Summing here rather than with GROUP BY spares
/// SQLite a temporary B-tree on disk for the year's rows.
async fn year_end(
    db: &impl Reader,
    plan: &plan::Model,
    (first, last): (NaiveDate, NaiveDate),
    as_of: NaiveDate,
    rates: &RateTable,
    (lines, index): (&[PaidLineFacts], &LineIndex),
    scope: Scope<'_>,
) -> Result<Vec<YearEndFacts>> {
    let month_start = last.with_day(1).unwrap_or(last);
    let mut q = Binds::new(sea_orm::ConnectionTrait::get_database_backend(db));
    let sql = format!(
        "SELECT d.budget_line_id AS line_id, d.currency AS currency, d.date AS date, \
         d.amount AS amount FROM disbursements d WHERE {} AND d.date >= {} AND d.date <= {} \
         AND {} AND {}",
        on_the_plans_lines(&mut q, plan),
        q.bind(first),
        q.bind(last),
        neither_reversal_nor_reversed(&mut q, as_of),
        scope.condition(&mut q),
    );
    // (line, currency, the day to convert on when not the plan's, in the final month) → sum.
    let mut sums: HashMap<(usize, Currency, Option<NaiveDate>, bool), Amount> = HashMap::new();
    let rows = db.stream_raw(q.statement(sql)).await?;
    let mut rows = std::pin::pin!(rows);
    while let Some(row) = rows.try_next().await? {
        let line_id: i32 = row.try_get("", "line_id")?;
        let Some(&line) = index.get(&line_id) else {
            continue;
        };
        let currency: Currency = row.try_get("", "currency")?;
        let date: NaiveDate = row.try_get("", "date")?;
        let amount: Amount = row.try_get("", "amount")?;
        let value_date = (currency != plan.currency).then_some(date);
        let sum = sums
            .entry((line, currency, value_date, date >= month_start))
            .or_insert(Amount::ZERO);
        *sum = sum
            .checked_add(amount)
            .map_err(|e| Error::Internal(e.to_string()))?;
    }
    // Per line: the parts of the whole year, and those of its final month.
    let mut parts: HashMap<usize, (Vec<Part>, Vec<Part>)> = HashMap::new();
    for ((line, currency, value_date, in_final_month), total) in sums {
        let part = || Part {
            currency,
            value_date,
            total,
        };
        let entry = parts.entry(line).or_default();
        if in_final_month {
            entry.1.push(part());
        }
        entry.0.push(part());
    }
    let mut facts = Vec::with_capacity(parts.len());
    for (line, (year, month)) in parts {
        facts.push(YearEndFacts {
            code: lines[line].code.clone(),
            activity_title: lines[line].activity_title.clone(),
            disbursed: total_in(rates, &year, plan.currency, last)?,
            final_month: total_in(rates, &month, plan.currency, last)?,
        });
    }
    facts.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(facts)
}
