//! Disbursements: the one kind that grows to millions of rows, so it is read in batches and
//! written with multi-row inserts, and checked against the database a batch at a time rather
//! than held in memory.
//!
//! A recorded disbursement is never changed: the same reference with the same content is
//! unchanged, with other content an error that says to record a reversal. A reversal names
//! an earlier disbursement of the same plan and budget line, takes money back (a negative
//! amount), and the reversals of one disbursement never exceed it.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::io::Read;

use chrono::{NaiveDate, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, QueryFilter,
    QuerySelect, Statement, Value,
};

use super::cells::Cells;
use super::context::{FileContext, Rows};
use super::importer::RecordImporter;
use super::options::Expect;
use super::report::Outcome;
use crate::db::{self, Binds, exact_sum_sql};
use crate::domain::Currency;
use crate::entity::disbursement;
use crate::error::{Error, FieldError, Result};
use crate::money::Amount;

/// Rows per multi-row INSERT and per look-up of existing references: as many as fit in the
/// bound parameters of one statement.
const BATCH_ROWS: usize = db::MAX_BIND_PARAMETERS / INSERT_COLUMNS.len();

/// One valid row, its codes resolved.
pub struct Row {
    line: u64,
    plan_id: i32,
    reference: String,
    budget_line_id: i32,
    budget_line_currency: Currency,
    date: NaiveDate,
    amount: Amount,
    currency: Currency,
    payee_id: Option<i32>,
    description: Option<String>,
    reverses: Option<String>,
}

#[derive(Default)]
pub struct Disbursements {
    recorded: RecordedPlans,
}

impl RecordImporter for Disbursements {
    type Record = Row;

    fn parse(&mut self, ctx: &mut FileContext<'_>, cells: &mut Cells<'_>) -> Option<Row> {
        parse(ctx, cells)
    }

    /// Writes one disbursement as the last batch of a file is written.
    async fn write(&mut self, ctx: &mut FileContext<'_>, row: Row) -> Result<()> {
        let Sorted {
            new_rows,
            reversals,
        } = sort_batch(ctx, &mut self.recorded, vec![row]).await?;
        let statements = insert_statements(ctx, new_rows, |_| None);
        ctx.report.created += execute_all(ctx.txn, statements).await?;
        write_reversals(ctx, reversals).await
    }

    /// Reads, checks and writes the rows a batch at a time. The new payments of one batch are
    /// written by the database while the next batch is read and parsed, so that parsing and
    /// writing overlap.
    async fn import_rows<R: Read + Send>(
        mut self,
        ctx: &mut FileContext<'_>,
        rows: &mut Rows<'_, R>,
    ) -> Result<()> {
        let rebuild = BulkIndexes::suspend_for(ctx).await?;
        let txn = ctx.txn;
        let mut batch = self.read_batch(ctx, rows);
        while !batch.is_empty() {
            let Sorted {
                new_rows,
                reversals,
            } = sort_batch(ctx, &mut self.recorded, batch).await?;
            let statements = insert_statements(ctx, new_rows, |_| None);
            let (written, next) = tokio::join!(execute_all(txn, statements), async {
                self.read_batch(ctx, rows)
            });
            ctx.report.created += written?;
            write_reversals(ctx, reversals).await?;
            batch = next;
        }
        rebuild.restore(ctx).await
    }
}

impl Disbursements {
    /// The next [`BATCH_ROWS`] valid rows (fewer at the end of the file); invalid rows are
    /// reported on the way.
    fn read_batch<R: Read>(
        &mut self,
        ctx: &mut FileContext<'_>,
        rows: &mut Rows<'_, R>,
    ) -> Vec<Row> {
        // Grown as rows come: a record posted alone needs room for one, not for a batch.
        let mut batch = Vec::new();
        while batch.len() < BATCH_ROWS {
            let Some(mut cells) = rows.next(ctx) else {
                break;
            };
            match self.parse(ctx, &mut cells) {
                Some(row) if cells.errors.is_empty() => batch.push(row),
                _ => ctx.reject(cells.errors),
            }
        }
        batch
    }
}

/// Checks each reversal against the disbursement it names, one by one, and writes the valid.
async fn write_reversals(ctx: &mut FileContext<'_>, reversals: Vec<Row>) -> Result<()> {
    for row in reversals {
        if let Some(original_id) = check_reversal(ctx, &row).await? {
            let statements = insert_statements(ctx, vec![row], |_| Some(original_id));
            ctx.report.created += execute_all(ctx.txn, statements).await?;
        }
    }
    Ok(())
}

/// The secondary indexes of disbursements whose entries arrive in random order (by budget line,
/// payee, date). Inserting a million rows into them one by one costs a random page access
/// each, several times the cost of the rows themselves; building them afresh, from one sorted
/// pass, costs a fraction of it. The unique index of references (checked on every row) and the
/// index of reversals (checked by each reversal) stay in place.
const BULK_REBUILT_INDEXES: [&str; 4] = [
    "ix_disbursements_budget_line_date",
    "ix_disbursements_plan_line_cover",
    "ix_disbursements_plan_payee_cover",
    "ix_disbursements_plan_month_cover",
];

/// A file of at least this many bytes (about 100,000 rows) may be loaded in bulk.
const BULK_MIN_BYTES: u64 = 8 << 20;

/// Indexes dropped for a bulk load, with the SQL that creates them again.
struct BulkIndexes(Vec<String>);

impl BulkIndexes {
    /// On SQLite, for a large file and a table that holds at most twice as many rows as the
    /// file brings, drops [`BULK_REBUILT_INDEXES`] for the rest of the transaction. DDL is
    /// transactional in SQLite: a failed import rolls the drop back with everything else, and
    /// readers keep reading the last committed state, indexes included, meanwhile.
    /// (PostgreSQL would lock the table against readers for the whole import: not there.)
    async fn suspend_for(ctx: &FileContext<'_>) -> Result<BulkIndexes> {
        let backend = ctx.txn.get_database_backend();
        let bytes = ctx.total_bytes.unwrap_or(0);
        if backend != DbBackend::Sqlite || bytes < BULK_MIN_BYTES {
            return Ok(BulkIndexes(Vec::new()));
        }
        // A row of the contract's file is some 80 bytes; the largest id bounds the rows.
        let incoming = bytes / 80;
        let stored: Option<i64> = ctx
            .txn
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT MAX(id) AS n FROM disbursements",
            ))
            .await?
            .map(|row| row.try_get::<Option<i64>>("", "n"))
            .transpose()?
            .flatten();
        if u64::try_from(stored.unwrap_or(0)).unwrap_or(0) > incoming.saturating_mul(2) {
            return Ok(BulkIndexes(Vec::new()));
        }
        let mut q = Binds::new(backend);
        let names = BULK_REBUILT_INDEXES.map(|name| q.bind(name)).join(", ");
        let found = ctx
            .txn
            .query_all_raw(q.statement(format!(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' \
                 AND tbl_name = 'disbursements' AND name IN ({names})"
            )))
            .await?;
        let mut create = Vec::new();
        for row in found {
            let name: String = row.try_get("", "name")?;
            create.push(row.try_get("", "sql")?);
            ctx.txn
                .execute_unprepared(&format!("DROP INDEX \"{name}\""))
                .await?;
        }
        Ok(BulkIndexes(create))
    }

    /// Creates the dropped indexes again, in the same transaction.
    async fn restore(self, ctx: &FileContext<'_>) -> Result<()> {
        for sql in self.0 {
            ctx.txn.execute_unprepared(&sql).await?;
        }
        Ok(())
    }
}

fn parse(ctx: &mut FileContext<'_>, cells: &mut Cells<'_>) -> Option<Row> {
    let plan = ctx.plan_for(cells);
    let reference = cells.code("reference");
    let budget_line_code = cells.code("budget_line_code");
    let date = cells.date("date");
    let amount = cells.amount("amount");
    let currency = cells.currency("currency");
    let payee_code = cells.optional_code("payee_code");
    let description = cells.optional_text("description");
    let reverses = cells.optional_code("reverses");
    let payee_id = match &payee_code {
        Some(code) => ctx.institution_id(cells, "payee_code", code).map(Some),
        None => Some(None),
    };
    let plan = plan?;
    ctx.check_plan_key(cells, "reference", &plan, reference.as_ref());
    let budget_line = budget_line_code.and_then(|code| {
        let found = ctx
            .catalog
            .budget_lines
            .get(&(plan.id, code.clone()))
            .map(|line| (line.id, line.currency, line.activity_id));
        if found.is_none() {
            cells.error(
                "budget_line_code",
                format!(
                    "there is no budget line with code \"{code}\" in plan {}",
                    plan.code
                ),
            );
        }
        found
    });
    if let Some((_, _, activity_id)) = budget_line {
        ctx.check_leads(cells, "budget_line_code", activity_id);
    }
    match (amount, &reverses) {
        (Some(amount), None) if amount.is_negative() => cells.error(
            "amount",
            "a negative amount is a reversal: name the disbursement it reverses in the reverses column",
        ),
        (Some(amount), None) if amount.is_zero() => {
            cells.error("amount", "a disbursement of zero records nothing")
        }
        (Some(amount), Some(_)) if amount.is_zero() => {
            cells.error("amount", "a reversal of zero reverses nothing")
        }
        (Some(amount), Some(_)) if amount.is_positive() => cells.error(
            "amount",
            "a reversal takes money back: its amount must be negative",
        ),
        _ => {}
    }
    let description = match description {
        Some(text) if text.is_empty() => None,
        other => other,
    };
    Some(Row {
        line: cells.line,
        plan_id: plan.id,
        reference: reference?,
        budget_line_id: budget_line?.0,
        budget_line_currency: budget_line?.1,
        date: date?,
        amount: amount?,
        currency: currency?,
        payee_id: payee_id?,
        description,
        reverses,
    })
}

/// A batch's rows that are to be written: new payments, and reversals (checked one by one).
struct Sorted {
    new_rows: Vec<Row>,
    reversals: Vec<Row>,
}

/// Compares a batch with what is recorded: a row already recorded the same is unchanged, a
/// row recorded otherwise is an error, the rest are to be written.
async fn sort_batch(
    ctx: &mut FileContext<'_>,
    recorded: &mut RecordedPlans,
    batch: Vec<Row>,
) -> Result<Sorted> {
    let existing = existing_by_reference(ctx, recorded, &batch).await?;
    let mut new_rows = Vec::new();
    let mut reversals = Vec::new();
    for row in batch {
        match existing.get(&(row.plan_id, row.reference.clone())) {
            Some(_) if ctx.options.expect == Expect::New => {
                return Err(Error::Conflict(format!(
                    "disbursement {} is already recorded; a recorded disbursement is never changed (record a reversal)",
                    row.reference
                )));
            }
            Some(stored) => match differences(ctx, &row, stored).await? {
                None => ctx.report.count(Outcome::Unchanged),
                Some(difference) => ctx.reject(vec![FieldError::at_line(
                    row.line,
                    "reference",
                    format!(
                        "disbursement {} is already recorded with {difference}; a recorded disbursement is never changed: record a reversal, then a new disbursement",
                        row.reference
                    ),
                )]),
            },
            None if row.reverses.is_some() => reversals.push(row),
            None => new_rows.push(row),
        }
    }
    warn_on_currency(ctx, new_rows.iter().chain(reversals.iter()));
    Ok(Sorted {
        new_rows,
        reversals,
    })
}

fn warn_on_currency<'r>(ctx: &mut FileContext<'_>, rows: impl Iterator<Item = &'r Row>) {
    for row in rows {
        if row.currency != row.budget_line_currency {
            ctx.report.warn(
                row.line,
                "currency",
                format!(
                    "paid in {} against a budget line in {}; reports convert it at the rate of {}",
                    row.currency, row.budget_line_currency, row.date
                ),
            );
        }
    }
}

/// A plan with at most this many disbursements before the file has them all read up front.
const PRELOAD_MAX_ROWS: i64 = 50_000;

/// What each plan of the file held before the file, for finding rows already recorded.
///
/// The file's own duplicates are caught as they are read, so only rows recorded before the
/// import need looking up. A file of one batch (a form, an API call, a treasury's daily file)
/// is looked up through the unique index, once. In a larger file, a plan that had no
/// disbursements (the first import of a ledger) needs no look-up; one that had few has them
/// all read once, by reference; only a plan with many is looked up batch by batch. (Looking up
/// a small plan batch by batch would be quadratic on PostgreSQL: its planner, which cannot see
/// the rows this transaction inserts, scans the growing table for every batch.)
#[derive(Default)]
struct RecordedPlans(HashMap<i32, Recorded>);

enum Recorded {
    Few(HashMap<String, disbursement::Model>),
    Many,
}

impl RecordedPlans {
    /// Asked before the first row of `plan_id` is written, with the size of the first batch.
    async fn of(&mut self, ctx: &FileContext<'_>, plan_id: i32, batch: usize) -> Result<&Recorded> {
        let slot = match self.0.entry(plan_id) {
            Entry::Occupied(known) => return Ok(known.into_mut()),
            Entry::Vacant(slot) => slot,
        };
        if batch < BATCH_ROWS {
            // The only batch of the file, or its last: looking up is cheapest.
            return Ok(slot.insert(Recorded::Many));
        }
        // Counted in the database, up to one past the bound.
        let mut q = Binds::new(ctx.txn.get_database_backend());
        let sql = format!(
            "SELECT COUNT(*) AS n FROM \
             (SELECT 1 FROM disbursements WHERE plan_id = {} LIMIT {}) AS prior",
            q.bind(plan_id),
            q.bind(PRELOAD_MAX_ROWS + 1)
        );
        let count: i64 = match ctx.txn.query_one_raw(q.statement(sql)).await? {
            Some(row) => row.try_get("", "n")?,
            None => 0,
        };
        let recorded = if count > PRELOAD_MAX_ROWS {
            Recorded::Many
        } else if count == 0 {
            Recorded::Few(HashMap::new())
        } else {
            let all = disbursement::Entity::find()
                .filter(disbursement::Column::PlanId.eq(plan_id))
                .all(ctx.txn)
                .await?;
            Recorded::Few(all.into_iter().map(|d| (d.reference.clone(), d)).collect())
        };
        Ok(slot.insert(recorded))
    }
}

async fn existing_by_reference(
    ctx: &FileContext<'_>,
    recorded: &mut RecordedPlans,
    batch: &[Row],
) -> Result<HashMap<(i32, String), disbursement::Model>> {
    let mut by_plan: HashMap<i32, Vec<String>> = HashMap::new();
    for row in batch {
        by_plan
            .entry(row.plan_id)
            .or_default()
            .push(row.reference.clone());
    }
    let mut existing = HashMap::new();
    for (plan_id, references) in by_plan {
        let found = match recorded.of(ctx, plan_id, batch.len()).await? {
            Recorded::Few(by_reference) => references
                .iter()
                .filter_map(|r| by_reference.get(r).cloned())
                .collect(),
            Recorded::Many => {
                disbursement::Entity::find()
                    .filter(disbursement::Column::PlanId.eq(plan_id))
                    .filter(disbursement::Column::Reference.is_in(references))
                    .all(ctx.txn)
                    .await?
            }
        };
        existing.extend(
            found
                .into_iter()
                .map(|d| ((d.plan_id, d.reference.clone()), d)),
        );
    }
    Ok(existing)
}

/// How a row differs from the recorded disbursement of the same reference, in words.
async fn differences(
    ctx: &FileContext<'_>,
    row: &Row,
    stored: &disbursement::Model,
) -> Result<Option<String>> {
    let mut differences = Vec::new();
    if stored.budget_line_id != row.budget_line_id {
        let code = ctx.catalog.budget_line_codes.get(&stored.budget_line_id);
        differences.push(format!("budget line {}", code.map_or("?", |c| c.as_str())));
    }
    if stored.date != row.date {
        differences.push(format!("date {}", stored.date));
    }
    if stored.amount != row.amount || stored.currency != row.currency {
        differences.push(format!("amount {} {}", stored.amount, stored.currency));
    }
    if stored.payee_id != row.payee_id {
        let payee = stored
            .payee_id
            .and_then(|id| ctx.catalog.institution_by_id(id));
        differences.push(format!(
            "payee {}",
            payee.map_or("(none)", |p| p.code.as_str())
        ));
    }
    if stored.description != row.description {
        differences.push("another description".to_owned());
    }
    let reverses = match stored.reverses_id {
        Some(id) => reference_of(ctx, id).await?,
        None => None,
    };
    if reverses != row.reverses {
        differences.push(format!(
            "reverses {}",
            reverses.as_deref().unwrap_or("(nothing)")
        ));
    }
    Ok((!differences.is_empty()).then(|| differences.join(", ")))
}

async fn reference_of(ctx: &FileContext<'_>, id: i64) -> Result<Option<String>> {
    let found = disbursement::Entity::find_by_id(id)
        .select_only()
        .column(disbursement::Column::Reference)
        .into_tuple::<String>()
        .one(ctx.txn)
        .await?;
    Ok(found)
}

/// Checks a reversal against the disbursement it names; the original's id when it is valid.
async fn check_reversal(ctx: &mut FileContext<'_>, row: &Row) -> Result<Option<i64>> {
    let Some(reverses) = &row.reverses else {
        return Ok(None);
    };
    let original = disbursement::Entity::find()
        .filter(disbursement::Column::PlanId.eq(row.plan_id))
        .filter(disbursement::Column::Reference.eq(reverses.as_str()))
        .one(ctx.txn)
        .await?;
    let reject = |ctx: &mut FileContext<'_>, column: &str, message: String| {
        ctx.reject(vec![FieldError::at_line(row.line, column, message)]);
        Ok(None)
    };
    let Some(original) = original else {
        return reject(
            ctx,
            "reverses",
            format!("there is no disbursement {reverses} in this plan to reverse"),
        );
    };
    if original.reverses_id.is_some() {
        return reject(
            ctx,
            "reverses",
            format!("{reverses} is itself a reversal; reverse the original disbursement"),
        );
    }
    if original.budget_line_id != row.budget_line_id {
        return reject(
            ctx,
            "budget_line_code",
            format!(
                "a reversal goes on the budget line of the disbursement it reverses ({reverses})"
            ),
        );
    }
    if original.currency != row.currency {
        return reject(
            ctx,
            "currency",
            format!(
                "{reverses} was paid in {}; reverse it in the same currency",
                original.currency
            ),
        );
    }
    if row.date < original.date {
        return reject(
            ctx,
            "date",
            format!(
                "the reversal is dated before {reverses}, which was paid on {}",
                original.date
            ),
        );
    }
    let sql = format!(
        "SELECT {} AS reversed FROM disbursements WHERE reverses_id = {}",
        exact_sum_sql("amount"),
        original.id
    );
    let reversed: Amount = match ctx
        .txn
        .query_one_raw(Statement::from_string(ctx.txn.get_database_backend(), sql))
        .await?
    {
        Some(result) => result.try_get("", "reversed")?,
        None => Amount::ZERO,
    };
    let within_original = reversed
        .checked_add(row.amount)
        .is_ok_and(|total| total.negated() <= original.amount);
    if !within_original {
        let already = reversed.negated();
        return reject(
            ctx,
            "amount",
            format!(
                "{reverses} paid {}; with {} already reversed, at most {} more can be reversed",
                original.amount,
                already,
                original.amount.checked_sub(already).unwrap_or(Amount::ZERO)
            ),
        );
    }
    Ok(Some(original.id))
}

/// The columns a disbursement is inserted with, in the order of [`insert_statements`]'s values.
const INSERT_COLUMNS: [&str; 11] = [
    "plan_id",
    "reference",
    "budget_line_id",
    "date",
    "amount",
    "currency",
    "payee_id",
    "description",
    "reverses_id",
    "recorded_at",
    "recorded_by",
];

/// Multi-row INSERTs of at most [`BATCH_ROWS`] rows for `rows`, their values bound as
/// parameters. Batches of the full size share one SQL text, which the driver prepares once.
///
/// Valid rows are written even after another row failed (the transaction is rolled back at
/// the end), so later rows that refer to them are not reported as errors too.
fn insert_statements(
    ctx: &FileContext<'_>,
    rows: Vec<Row>,
    reverses_id: impl Fn(&Row) -> Option<i64>,
) -> Vec<Statement> {
    let backend = ctx.txn.get_database_backend();
    let recorded_at = Utc::now();
    let mut statements = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut values = Vec::with_capacity(rows.len().min(BATCH_ROWS) * INSERT_COLUMNS.len());
        for row in rows.by_ref().take(BATCH_ROWS) {
            let reverses = reverses_id(&row);
            values.extend([
                Value::from(row.plan_id),
                Value::from(row.reference),
                Value::from(row.budget_line_id),
                Value::from(row.date),
                Value::from(row.amount),
                Value::from(row.currency),
                Value::from(row.payee_id),
                Value::from(row.description),
                Value::from(reverses),
                Value::from(recorded_at),
                Value::from(ctx.options.recorded_by),
            ]);
        }
        let count = values.len() / INSERT_COLUMNS.len();
        let sql = db::insert_sql(backend, "disbursements", &INSERT_COLUMNS, count);
        statements.push(Statement::from_sql_and_values(backend, sql, values));
    }
    statements
}

/// Runs the INSERTs; the number of rows they wrote.
async fn execute_all(txn: &DatabaseTransaction, statements: Vec<Statement>) -> Result<u64> {
    let mut written = 0;
    for statement in statements {
        written += txn.execute_raw(statement).await?.rows_affected();
    }
    Ok(written)
}
