//! The rows of each record kind: parse the cells, resolve the codes they refer to, check the
//! rules of the contract, then create, update or leave the record.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::io::Read;

use chrono::NaiveDate;

use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, DatabaseTransaction, EntityName, EntityTrait,
    IdenStatic, IntoActiveModel, Iterable, PrimaryKeyToColumn, Set,
};

use super::catalog::SharedCatalog;
use super::cells::{Cells, Header, csv_error_message};
use super::{Expect, FileReport, ImportOptions, Progress};
use crate::domain::fiscal::FiscalYearStart;
use crate::domain::records::RecordKind;
use crate::domain::{ActivityStatus, FundingSourceKind, InstitutionKind};
use crate::entity::{
    activity, budget_line, commitment, exchange_rate, funding_source, institution, objective,
    obligation, plan,
};
use crate::error::{Error, FieldError, Result};

/// The most problems kept for one import; past it they are counted, not stored, so a hostile
/// or badly broken file cannot exhaust memory.
pub const MAX_REPORTED_ERRORS: usize = 1000;

/// Everything the rows of one file need.
pub struct FileContext<'a> {
    pub txn: &'a DatabaseTransaction,
    pub catalog: &'a mut SharedCatalog,
    pub kind: RecordKind,
    pub header: &'a Header,
    pub options: &'a ImportOptions,
    pub report: &'a mut FileReport,
    pub problems: &'a mut Problems,
    pub progress: &'a dyn Progress,
    /// The size of the file, when known: large files are loaded in bulk.
    pub total_bytes: Option<u64>,
}

/// The problems an import found: listed up to [`MAX_REPORTED_ERRORS`], counted past it.
#[derive(Debug, Default)]
pub struct Problems {
    pub listed: Vec<FieldError>,
    pub unlisted: u64,
}

impl Problems {
    pub fn push(&mut self, error: FieldError) {
        if self.listed.len() < MAX_REPORTED_ERRORS {
            self.listed.push(error);
        } else {
            self.unlisted += 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.listed.is_empty()
    }

    pub fn count(&self) -> u64 {
        self.listed.len() as u64 + self.unlisted
    }
}

impl FileContext<'_> {
    pub fn reject(&mut self, errors: Vec<FieldError>) {
        for error in errors {
            self.problems.push(error);
        }
    }

    /// The plan a row belongs to: its `plan_code` cell, else `--plan`, else the only plan.
    pub fn plan_for(&self, cells: &mut Cells<'_>) -> Option<plan::Model> {
        let from_row = cells.optional_code("plan_code");
        let named = self.options.plan.as_deref();
        match (from_row.as_deref(), named) {
            (Some(row), Some(named)) if row != named => {
                cells.error(
                    "plan_code",
                    format!("the row names plan \"{row}\" but the import is for plan \"{named}\""),
                );
                None
            }
            (Some(code), _) | (None, Some(code)) => {
                match self.catalog.plans.get(code) {
                    Some(plan) => Some(plan.clone()),
                    None => {
                        cells.error(
                        "plan_code",
                        format!("there is no plan with code \"{code}\"; import it in plans.csv first"),
                    );
                        None
                    }
                }
            }
            (None, None) if cells.errors.iter().any(|e| e.column == "plan_code") => None,
            (None, None) => match self.catalog.plans.len() {
                1 => self.catalog.plans.values().next().cloned(),
                0 => {
                    cells.error("plan_code", "no plan exists yet; import plans.csv first");
                    None
                }
                n => {
                    cells.error(
                        "plan_code",
                        format!("{n} plans exist; name one in a plan_code column or with --plan"),
                    );
                    None
                }
            },
        }
    }
}

/// Keys already seen in this file, with the line they were first seen on.
///
/// A key is held as a 128-bit fingerprint (two independently keyed SipHash values), not as
/// text, so a million-row file costs some tens of megabytes here; two different keys share a
/// fingerprint with a probability far below one in 10^20.
pub struct SeenKeys {
    lines: HashMap<u128, u64, BuildHasherDefault<FingerprintHasher>>,
    seeds: (RandomState, RandomState),
}

impl Default for SeenKeys {
    fn default() -> Self {
        SeenKeys {
            lines: HashMap::default(),
            seeds: (RandomState::new(), RandomState::new()),
        }
    }
}

impl SeenKeys {
    /// Records `key` on `line`; a key seen before is an error on `column`.
    pub fn check(&mut self, cells: &mut Cells<'_>, column: &str, key: String) {
        let fingerprint = (u128::from(self.seeds.0.hash_one(&key)) << 64)
            | u128::from(self.seeds.1.hash_one(&key));
        match self.lines.get(&fingerprint) {
            Some(first) => cells.error(
                column,
                format!("this key already appears on line {first} of the file"),
            ),
            None => {
                self.lines.insert(fingerprint, cells.line);
            }
        }
    }
}

/// Hashes a fingerprint, which is already uniformly spread, by taking its low bits.
#[derive(Default)]
pub struct FingerprintHasher(u64);

impl Hasher for FingerprintHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes.iter().take(8) {
            self.0 = (self.0 << 8) | u64::from(byte);
        }
    }
}

/// What happened to one row.
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
}

impl FileReport {
    pub fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Created => self.created += 1,
            Outcome::Updated => self.updated += 1,
            Outcome::Unchanged => self.unchanged += 1,
        }
    }
}

/// Creates `candidate`, or, when a record with its key `existing`ly stands, updates it to
/// `candidate` when some column differs and leaves it alone when none does.
///
/// `candidate` sets every column but the primary key, so comparing column by column says
/// exactly whether the row changes anything.
async fn upsert<A>(
    txn: &DatabaseTransaction,
    expect: Expect,
    existing: Option<<A::Entity as EntityTrait>::Model>,
    mut candidate: A,
) -> Result<(<A::Entity as EntityTrait>::Model, Outcome)>
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    let table = <A::Entity as Default>::default()
        .table_name()
        .replace('_', " ");
    match (&existing, expect) {
        (Some(_), Expect::New) => {
            return Err(Error::Conflict(format!(
                "this record of {table} already exists"
            )));
        }
        (None, Expect::Existing) => {
            return Err(Error::NotFound(format!(
                "there is no such record of {table}"
            )));
        }
        _ => {}
    }
    let Some(existing) = existing else {
        return Ok((candidate.insert(txn).await?, Outcome::Created));
    };
    let stored = existing.clone().into_active_model();
    let keys: Vec<_> = <A::Entity as EntityTrait>::PrimaryKey::iter()
        .map(|key| key.into_column())
        .collect();
    let mut changed = false;
    for column in <A::Entity as EntityTrait>::Column::iter() {
        let stored_value = stored.get(column).into_value();
        if keys.iter().any(|key| key.as_str() == column.as_str()) {
            if let Some(value) = stored_value {
                candidate.set(column, value);
            }
        } else if candidate.get(column).into_value() != stored_value {
            changed = true;
        }
    }
    if !changed {
        return Ok((existing, Outcome::Unchanged));
    }
    for key in keys {
        // The key identifies the row to update; it is not itself a change.
        candidate.reset(key);
    }
    Ok((candidate.update(txn).await?, Outcome::Updated))
}

/// A parent objective named by a row: linked (if it was defined further down) and checked
/// for cycles when the whole file is read.
struct PendingParent {
    objective_id: i32,
    plan_id: i32,
    parent_code: String,
    line: u64,
}

/// Reads the next row with as many fields as the header into `record` and returns its line,
/// counting it and reporting progress; a row with another number of fields is reported and
/// skipped. `None` at the end of the file, or after an error that stops reading (reported).
pub fn next_row<R: Read>(
    ctx: &mut FileContext<'_>,
    reader: &mut csv::Reader<R>,
    record: &mut csv::ByteRecord,
) -> Option<u64> {
    loop {
        match reader.read_byte_record(record) {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => {
                let line = super::cells::row_too_long(&e)
                    .map(|row| row.line)
                    .or_else(|| e.position().map(|p| p.line()))
                    .unwrap_or(0);
                ctx.reject(vec![FieldError::at_line(line, "-", csv_error_message(&e))]);
                return None;
            }
        }
        let (line, byte) = record.position().map_or((0, 0), |p| (p.line(), p.byte()));
        ctx.report.rows += 1;
        ctx.progress.advanced(byte);
        if record.len() == ctx.header.len() {
            return Some(line);
        }
        ctx.reject(vec![FieldError::at_line(
            line,
            "-",
            format!(
                "this row has {} fields but the header has {}",
                record.len(),
                ctx.header.len()
            ),
        )]);
    }
}

/// Reads every row of the file and applies the valid ones.
pub async fn import_rows<R: Read>(
    ctx: &mut FileContext<'_>,
    reader: &mut csv::Reader<R>,
) -> Result<()> {
    if ctx.kind == RecordKind::Disbursements {
        return super::disbursements::import_rows(ctx, reader).await;
    }
    let mut seen = SeenKeys::default();
    let mut pending_parents = Vec::new();
    let mut record = csv::ByteRecord::new();
    while let Some(line) = next_row(ctx, reader, &mut record) {
        let mut cells = Cells::new(ctx.header, &record, line);
        let outcome = match ctx.kind {
            RecordKind::Institutions => institution_row(ctx, &mut cells, &mut seen).await?,
            RecordKind::FundingSources => funding_source_row(ctx, &mut cells, &mut seen).await?,
            RecordKind::Plans => plan_row(ctx, &mut cells, &mut seen).await?,
            RecordKind::Objectives => {
                objective_row(ctx, &mut cells, &mut seen, &mut pending_parents).await?
            }
            RecordKind::Activities => activity_row(ctx, &mut cells, &mut seen).await?,
            RecordKind::Obligations => obligation_row(ctx, &mut cells, &mut seen).await?,
            RecordKind::BudgetLines => budget_line_row(ctx, &mut cells, &mut seen).await?,
            RecordKind::Commitments => commitment_row(ctx, &mut cells, &mut seen).await?,
            RecordKind::ExchangeRates => exchange_rate_row(ctx, &mut cells, &mut seen).await?,
            RecordKind::Disbursements => None,
        };
        match outcome {
            Some(outcome) if cells.errors.is_empty() => ctx.report.count(outcome),
            _ => ctx.reject(cells.errors),
        }
    }
    resolve_parents(ctx, pending_parents).await
}

async fn institution_row(
    ctx: &mut FileContext<'_>,
    cells: &mut Cells<'_>,
    seen: &mut SeenKeys,
) -> Result<Option<Outcome>> {
    let code = cells.code("code");
    let name = cells.text("name");
    let kind = cells.word::<InstitutionKind>("kind");
    let iati_ref = cells.optional_code("iati_ref");
    if let Some(code) = &code {
        seen.check(cells, "code", code.clone());
    }
    let (Some(code), Some(name), Some(kind)) = (code, name, kind) else {
        return Ok(None);
    };
    if !cells.errors.is_empty() {
        return Ok(None);
    }
    let existing = ctx.catalog.institutions.get(&code).cloned();
    let candidate = institution::ActiveModel {
        code: Set(code),
        name: Set(name),
        kind: Set(kind),
        iati_ref: Set(iati_ref),
        ..Default::default()
    };
    let (model, outcome) = upsert(ctx.txn, ctx.options.expect, existing, candidate).await?;
    ctx.catalog.institutions.insert(model.code.clone(), model);
    Ok(Some(outcome))
}

/// The id of the institution `code` names, or an error on `column`.
fn institution_id(
    ctx: &FileContext<'_>,
    cells: &mut Cells<'_>,
    column: &str,
    code: &str,
) -> Option<i32> {
    match ctx.catalog.institutions.get(code) {
        Some(institution) => Some(institution.id),
        None => {
            cells.error(
                column,
                format!("there is no institution with code \"{code}\""),
            );
            None
        }
    }
}

fn funding_source<'c>(
    ctx: &'c FileContext<'_>,
    cells: &mut Cells<'_>,
    code: &str,
) -> Option<&'c funding_source::Model> {
    let found = ctx.catalog.funding_sources.get(code);
    if found.is_none() {
        cells.error(
            "funding_source_code",
            format!("there is no funding source with code \"{code}\""),
        );
    }
    found
}

fn activity_in_plan(
    ctx: &FileContext<'_>,
    cells: &mut Cells<'_>,
    column: &str,
    plan: &plan::Model,
    code: &str,
) -> Option<activity::Model> {
    let found = ctx
        .catalog
        .activities
        .get(&(plan.id, code.to_owned()))
        .cloned();
    if found.is_none() {
        cells.error(
            column,
            format!(
                "there is no activity with code \"{code}\" in plan {}",
                plan.code
            ),
        );
    }
    found
}

async fn funding_source_row(
    ctx: &mut FileContext<'_>,
    cells: &mut Cells<'_>,
    seen: &mut SeenKeys,
) -> Result<Option<Outcome>> {
    let code = cells.code("code");
    let name = cells.text("name");
    let donor_code = cells.optional_code("donor_code");
    let kind = cells.word::<FundingSourceKind>("kind");
    let currency = cells.currency("currency");
    if let Some(code) = &code {
        seen.check(cells, "code", code.clone());
    }
    let donor_id = match &donor_code {
        Some(donor) => institution_id(ctx, cells, "donor_code", donor),
        None => None,
    };
    let (Some(code), Some(name), Some(kind), Some(currency)) = (code, name, kind, currency) else {
        return Ok(None);
    };
    if !cells.errors.is_empty() {
        return Ok(None);
    }
    let existing = ctx.catalog.funding_sources.get(&code).cloned();
    let candidate = funding_source::ActiveModel {
        code: Set(code),
        name: Set(name),
        donor_id: Set(donor_id),
        kind: Set(kind),
        currency: Set(currency),
        ..Default::default()
    };
    let (model, outcome) = upsert(ctx.txn, ctx.options.expect, existing, candidate).await?;
    ctx.catalog
        .funding_sources
        .insert(model.code.clone(), model);
    Ok(Some(outcome))
}

async fn plan_row(
    ctx: &mut FileContext<'_>,
    cells: &mut Cells<'_>,
    seen: &mut SeenKeys,
) -> Result<Option<Outcome>> {
    let code = cells.code("code");
    let title = cells.text("title");
    let country = cells.country("country");
    let currency = cells.currency("currency");
    let start_date = cells.date("start_date");
    let end_date = cells.date("end_date");
    let start_month = cells.integer("fiscal_year_start_month", 1..=12);
    if let Some(code) = &code {
        seen.check(cells, "code", code.clone());
    }
    if let (Some(start), Some(end)) = (start_date, end_date)
        && end < start
    {
        cells.error(
            "end_date",
            format!("the plan ends on {end}, before it starts on {start}"),
        );
    }
    let (
        Some(code),
        Some(title),
        Some(country),
        Some(currency),
        Some(start_date),
        Some(end_date),
        Some(start_month),
    ) = (
        code,
        title,
        country,
        currency,
        start_date,
        end_date,
        start_month,
    )
    else {
        return Ok(None);
    };
    if !cells.errors.is_empty() {
        return Ok(None);
    }
    let existing = ctx.catalog.plans.get(&code).cloned();
    if let Some(plan) = &existing {
        check_plan_still_holds(ctx, cells, plan.id, (start_date, end_date), start_month);
        if !cells.errors.is_empty() {
            return Ok(None);
        }
    }
    let candidate = plan::ActiveModel {
        code: Set(code),
        title: Set(title),
        country: Set(country),
        currency: Set(currency),
        start_date: Set(start_date),
        end_date: Set(end_date),
        fiscal_year_start_month: Set(start_month),
        ..Default::default()
    };
    let (model, outcome) = upsert(ctx.txn, ctx.options.expect, existing, candidate).await?;
    ctx.catalog.plans.insert(model.code.clone(), model);
    Ok(Some(outcome))
}

/// A plan's new period must still hold its activities, and its new fiscal years its budget
/// lines: narrowing a plan cannot leave records outside it.
fn check_plan_still_holds(
    ctx: &FileContext<'_>,
    cells: &mut Cells<'_>,
    plan_id: i32,
    (start, end): (NaiveDate, NaiveDate),
    start_month: i32,
) {
    let outside: Vec<&str> = ctx
        .catalog
        .activities
        .values()
        .filter(|a| a.plan_id == plan_id && (a.start_date < start || a.end_date > end))
        .map(|a| a.code.as_str())
        .collect();
    if let Some(first) = outside.iter().min() {
        cells.error(
            if ctx.catalog.activities.values().any(|a| a.plan_id == plan_id && a.start_date < start) { "start_date" } else { "end_date" },
            format!(
                "{} of the plan's activities (such as {first}) would run outside {start} to {end}; change them first",
                outside.len()
            ),
        );
    }
    let Some(fiscal) = FiscalYearStart::new(start_month) else {
        return;
    };
    let years = fiscal.year_of(start)..=fiscal.year_of(end);
    let lines_outside: Vec<&str> = ctx
        .catalog
        .budget_lines
        .values()
        .filter(|b| b.plan_id == plan_id && !years.contains(&b.fiscal_year))
        .map(|b| b.code.as_str())
        .collect();
    if let Some(first) = lines_outside.iter().min() {
        cells.error(
            "end_date",
            format!(
                "{} of the plan's budget lines (such as {first}) would fall outside fiscal years {} to {}; change them first",
                lines_outside.len(),
                years.start(),
                years.end()
            ),
        );
    }
}

async fn objective_row(
    ctx: &mut FileContext<'_>,
    cells: &mut Cells<'_>,
    seen: &mut SeenKeys,
    pending: &mut Vec<PendingParent>,
) -> Result<Option<Outcome>> {
    let plan = ctx.plan_for(cells);
    let code = cells.code("code");
    let title = cells.text("title");
    let parent_code = cells.optional_code("parent_code");
    let (Some(plan), Some(code), Some(title)) = (plan, code, title) else {
        return Ok(None);
    };
    seen.check(cells, "code", format!("{}\u{0}{code}", plan.code));
    if parent_code.as_deref() == Some(code.as_str()) {
        cells.error("parent_code", "an objective cannot be its own parent");
    }
    if !cells.errors.is_empty() {
        return Ok(None);
    }
    // A parent defined further down the file is linked once the whole file is read.
    let parent_id = parent_code.as_ref().and_then(|parent| {
        ctx.catalog
            .objectives
            .get(&(plan.id, parent.clone()))
            .map(|p| p.id)
    });
    let key = (plan.id, code.clone());
    let existing = ctx.catalog.objectives.get(&key).cloned();
    let candidate = objective::ActiveModel {
        plan_id: Set(plan.id),
        code: Set(code),
        title: Set(title),
        parent_id: Set(parent_id),
        ..Default::default()
    };
    let (model, outcome) = upsert(ctx.txn, ctx.options.expect, existing, candidate).await?;
    // Every parent link of the file is checked for cycles once the file is read; links to
    // parents defined further down are made then too.
    if let Some(parent_code) = parent_code {
        pending.push(PendingParent {
            objective_id: model.id,
            plan_id: plan.id,
            parent_code,
            line: cells.line,
        });
    }
    ctx.catalog.objectives.insert(key, model);
    Ok(Some(outcome))
}

/// Links the parents named before they were defined, then refuses any cycle through a parent
/// this file set.
async fn resolve_parents(ctx: &mut FileContext<'_>, pending: Vec<PendingParent>) -> Result<()> {
    let mut lines_by_objective = HashMap::new();
    for link in pending {
        let parent = ctx
            .catalog
            .objectives
            .get(&(link.plan_id, link.parent_code.clone()))
            .map(|p| p.id);
        let Some(parent_id) = parent else {
            ctx.reject(vec![FieldError::at_line(
                link.line,
                "parent_code",
                format!(
                    "there is no objective with code \"{}\" in this plan",
                    link.parent_code
                ),
            )]);
            continue;
        };
        let Some(child) = ctx
            .catalog
            .objectives
            .values()
            .find(|o| o.id == link.objective_id)
            .cloned()
        else {
            continue;
        };
        lines_by_objective.insert(child.id, link.line);
        if child.parent_id == Some(parent_id) {
            continue;
        }
        let mut model = child.into_active_model();
        model.parent_id = Set(Some(parent_id));
        let updated = model.update(ctx.txn).await?;
        ctx.catalog
            .objectives
            .insert((updated.plan_id, updated.code.clone()), updated);
    }
    // A cycle can only pass through an objective whose parent this file set.
    let parents: HashMap<i32, Option<i32>> = ctx
        .catalog
        .objectives
        .values()
        .map(|o| (o.id, o.parent_id))
        .collect();
    for (id, line) in &lines_by_objective {
        let mut current = parents.get(id).copied().flatten();
        let mut steps = 0;
        while let Some(next) = current {
            if next == *id || steps > parents.len() {
                ctx.reject(vec![FieldError::at_line(
                    *line,
                    "parent_code",
                    "the parents of this objective form a cycle",
                )]);
                break;
            }
            current = parents.get(&next).copied().flatten();
            steps += 1;
        }
    }
    Ok(())
}

async fn activity_row(
    ctx: &mut FileContext<'_>,
    cells: &mut Cells<'_>,
    seen: &mut SeenKeys,
) -> Result<Option<Outcome>> {
    let plan = ctx.plan_for(cells);
    let code = cells.code("code");
    let title = cells.text("title");
    let objective_code = cells.code("objective_code");
    let lead_code = cells.code("lead_institution_code");
    let start_date = cells.date("start_date");
    let end_date = cells.date("end_date");
    let status = cells.word::<ActivityStatus>("status");
    let lead_id = lead_code.and_then(|c| institution_id(ctx, cells, "lead_institution_code", &c));
    let Some(plan) = plan else { return Ok(None) };
    if let Some(code) = &code {
        seen.check(cells, "code", format!("{}\u{0}{code}", plan.code));
    }
    let objective_id = objective_code.and_then(|c| {
        let found = ctx
            .catalog
            .objectives
            .get(&(plan.id, c.clone()))
            .map(|o| o.id);
        if found.is_none() {
            cells.error(
                "objective_code",
                format!(
                    "there is no objective with code \"{c}\" in plan {}",
                    plan.code
                ),
            );
        }
        found
    });
    if let (Some(start), Some(end)) = (start_date, end_date) {
        if end < start {
            cells.error(
                "end_date",
                format!("the activity ends on {end}, before it starts on {start}"),
            );
        } else if start < plan.start_date || end > plan.end_date {
            let column = if start < plan.start_date {
                "start_date"
            } else {
                "end_date"
            };
            cells.error(
                column,
                format!(
                    "the activity runs from {start} to {end}, outside its plan's period {} to {}",
                    plan.start_date, plan.end_date
                ),
            );
        }
    }
    let (
        Some(code),
        Some(title),
        Some(objective_id),
        Some(lead_id),
        Some(start_date),
        Some(end_date),
        Some(status),
    ) = (
        code,
        title,
        objective_id,
        lead_id,
        start_date,
        end_date,
        status,
    )
    else {
        return Ok(None);
    };
    if !cells.errors.is_empty() {
        return Ok(None);
    }
    let key = (plan.id, code.clone());
    let existing = ctx.catalog.activities.get(&key).cloned();
    let candidate = activity::ActiveModel {
        plan_id: Set(plan.id),
        code: Set(code),
        title: Set(title),
        objective_id: Set(objective_id),
        lead_institution_id: Set(lead_id),
        start_date: Set(start_date),
        end_date: Set(end_date),
        status: Set(status),
        ..Default::default()
    };
    let (model, outcome) = upsert(ctx.txn, ctx.options.expect, existing, candidate).await?;
    ctx.catalog.activities.insert(key, model);
    Ok(Some(outcome))
}

async fn obligation_row(
    ctx: &mut FileContext<'_>,
    cells: &mut Cells<'_>,
    seen: &mut SeenKeys,
) -> Result<Option<Outcome>> {
    let plan = ctx.plan_for(cells);
    let code = cells.code("code");
    let title = cells.text("title");
    let legal_basis = cells.text("legal_basis");
    let institution_code = cells.code("institution_code");
    let activity_code = cells.optional_code("activity_code");
    let in_force_from = cells.date("in_force_from");
    let annual_minimum = cells.optional_amount("annual_minimum");
    let currency = cells.optional_currency("currency");
    let institution_id =
        institution_code.and_then(|c| institution_id(ctx, cells, "institution_code", &c));
    let Some(plan) = plan else { return Ok(None) };
    if let Some(code) = &code {
        seen.check(cells, "code", format!("{}\u{0}{code}", plan.code));
    }
    let activity_id = match &activity_code {
        Some(c) => activity_in_plan(ctx, cells, "activity_code", &plan, c).map(|a| Some(a.id)),
        None => Some(None),
    };
    if let Some(Some(minimum)) = annual_minimum
        && minimum.is_negative()
    {
        cells.error("annual_minimum", "the annual minimum cannot be negative");
    }
    let (
        Some(code),
        Some(title),
        Some(legal_basis),
        Some(institution_id),
        Some(activity_id),
        Some(in_force_from),
        Some(annual_minimum),
        Some(currency),
    ) = (
        code,
        title,
        legal_basis,
        institution_id,
        activity_id,
        in_force_from,
        annual_minimum,
        currency,
    )
    else {
        return Ok(None);
    };
    if !cells.errors.is_empty() {
        return Ok(None);
    }
    let key = (plan.id, code.clone());
    let existing = ctx.catalog.obligations.get(&key).cloned();
    let candidate = obligation::ActiveModel {
        plan_id: Set(plan.id),
        code: Set(code),
        title: Set(title),
        legal_basis: Set(legal_basis),
        institution_id: Set(institution_id),
        activity_id: Set(activity_id),
        in_force_from: Set(in_force_from),
        annual_minimum: Set(annual_minimum),
        currency: Set(currency),
        ..Default::default()
    };
    let (model, outcome) = upsert(ctx.txn, ctx.options.expect, existing, candidate).await?;
    ctx.catalog.obligations.insert(key, model);
    Ok(Some(outcome))
}

/// The fiscal years a plan spans: those of its first and last day, and all between.
pub fn plan_fiscal_years(plan: &plan::Model) -> Option<(i32, i32)> {
    let start = FiscalYearStart::new(plan.fiscal_year_start_month)?;
    Some((start.year_of(plan.start_date), start.year_of(plan.end_date)))
}

async fn budget_line_row(
    ctx: &mut FileContext<'_>,
    cells: &mut Cells<'_>,
    seen: &mut SeenKeys,
) -> Result<Option<Outcome>> {
    let plan = ctx.plan_for(cells);
    let code = cells.code("code");
    let activity_code = cells.code("activity_code");
    let source_code = cells.code("funding_source_code");
    let fiscal_year = cells.integer("fiscal_year", 1900..=2999);
    let category = cells.text("category");
    let amount = cells.amount("amount");
    let currency = cells.currency("currency");
    let obligation_code = cells.optional_code("obligation_code");
    let source = source_code.and_then(|c| funding_source(ctx, cells, &c).cloned());
    let Some(plan) = plan else { return Ok(None) };
    if let Some(code) = &code {
        seen.check(cells, "code", format!("{}\u{0}{code}", plan.code));
    }
    let activity =
        activity_code.and_then(|c| activity_in_plan(ctx, cells, "activity_code", &plan, &c));
    let obligation_id = match &obligation_code {
        Some(c) => {
            let found = ctx
                .catalog
                .obligations
                .get(&(plan.id, c.clone()))
                .map(|o| Some(o.id));
            if found.is_none() {
                cells.error(
                    "obligation_code",
                    format!(
                        "there is no obligation with code \"{c}\" in plan {}",
                        plan.code
                    ),
                );
            }
            found
        }
        None => Some(None),
    };
    if let (Some(year), Some((first, last))) = (fiscal_year, plan_fiscal_years(&plan))
        && !(first..=last).contains(&year)
    {
        cells.error(
            "fiscal_year",
            format!("fiscal year {year} is outside plan {}, which runs from fiscal year {first} to {last}", plan.code),
        );
    }
    if let Some(amount) = amount
        && amount.is_negative()
    {
        cells.error("amount", "a budget line's amount cannot be negative");
    }
    if let Some(category) = &category
        && category.trim().is_empty()
    {
        cells.error("category", "a value is required");
    }
    let (
        Some(code),
        Some(activity),
        Some(source),
        Some(fiscal_year),
        Some(category),
        Some(amount),
        Some(currency),
        Some(obligation_id),
    ) = (
        code,
        activity,
        source,
        fiscal_year,
        category,
        amount,
        currency,
        obligation_id,
    )
    else {
        return Ok(None);
    };
    if !cells.errors.is_empty() {
        return Ok(None);
    }
    if source.currency != currency {
        ctx.report.warn(
            cells.line,
            "currency",
            format!(
                "the line is in {currency} but funding source {} gives {}",
                source.code, source.currency
            ),
        );
    }
    let key = (plan.id, code.clone());
    let existing = ctx.catalog.budget_lines.get(&key).cloned();
    let candidate = budget_line::ActiveModel {
        plan_id: Set(plan.id),
        code: Set(code),
        activity_id: Set(activity.id),
        funding_source_id: Set(source.id),
        fiscal_year: Set(fiscal_year),
        category: Set(category),
        amount: Set(amount),
        currency: Set(currency),
        obligation_id: Set(obligation_id),
        ..Default::default()
    };
    let (model, outcome) = upsert(ctx.txn, ctx.options.expect, existing, candidate).await?;
    ctx.catalog
        .budget_line_codes
        .insert(model.id, model.code.clone());
    ctx.catalog.budget_lines.insert(key, model);
    Ok(Some(outcome))
}

async fn commitment_row(
    ctx: &mut FileContext<'_>,
    cells: &mut Cells<'_>,
    seen: &mut SeenKeys,
) -> Result<Option<Outcome>> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let plan = ctx.plan_for(cells);
    let reference = cells.code("reference");
    let source_code = cells.code("funding_source_code");
    let activity_code = cells.code("activity_code");
    let date = cells.date("date");
    let due_date = cells.optional_date("due_date");
    let amount = cells.amount("amount");
    let currency = cells.currency("currency");
    let source = source_code.and_then(|c| funding_source(ctx, cells, &c).cloned());
    let Some(plan) = plan else { return Ok(None) };
    if let Some(reference) = &reference {
        seen.check(cells, "reference", format!("{}\u{0}{reference}", plan.code));
    }
    let activity =
        activity_code.and_then(|c| activity_in_plan(ctx, cells, "activity_code", &plan, &c));
    if let (Some(date), Some(Some(due))) = (date, due_date)
        && due < date
    {
        cells.error(
            "due_date",
            format!("the commitment is due on {due}, before it was made on {date}"),
        );
    }
    if let Some(amount) = amount
        && !amount.is_positive()
    {
        cells.error("amount", "a commitment's amount must be greater than zero");
    }
    let (
        Some(reference),
        Some(source),
        Some(activity),
        Some(date),
        Some(due_date),
        Some(amount),
        Some(currency),
    ) = (
        reference, source, activity, date, due_date, amount, currency,
    )
    else {
        return Ok(None);
    };
    if !cells.errors.is_empty() {
        return Ok(None);
    }
    if source.currency != currency {
        ctx.report.warn(
            cells.line,
            "currency",
            format!(
                "the commitment is in {currency} but funding source {} gives {}",
                source.code, source.currency
            ),
        );
    }
    let existing = commitment::Entity::find()
        .filter(commitment::Column::PlanId.eq(plan.id))
        .filter(commitment::Column::Reference.eq(reference.as_str()))
        .one(ctx.txn)
        .await?;
    let candidate = commitment::ActiveModel {
        plan_id: Set(plan.id),
        reference: Set(reference),
        funding_source_id: Set(source.id),
        activity_id: Set(activity.id),
        date: Set(date),
        due_date: Set(due_date),
        amount: Set(amount),
        currency: Set(currency),
        ..Default::default()
    };
    let (_, outcome) = upsert(ctx.txn, ctx.options.expect, existing, candidate).await?;
    Ok(Some(outcome))
}

async fn exchange_rate_row(
    ctx: &mut FileContext<'_>,
    cells: &mut Cells<'_>,
    seen: &mut SeenKeys,
) -> Result<Option<Outcome>> {
    let date = cells.date("date");
    let currency = cells.currency("currency");
    let quote_currency = cells.currency("quote_currency");
    let rate = cells.rate("rate");
    if let (Some(date), Some(currency), Some(quote)) = (date, currency, quote_currency) {
        seen.check(cells, "date", format!("{date}\u{0}{currency}\u{0}{quote}"));
        if currency == quote {
            cells.error(
                "quote_currency",
                "a rate converts between two different currencies",
            );
        }
    }
    let (Some(date), Some(currency), Some(quote_currency), Some(rate)) =
        (date, currency, quote_currency, rate)
    else {
        return Ok(None);
    };
    if !cells.errors.is_empty() {
        return Ok(None);
    }
    let key = (date, currency.to_string(), quote_currency.to_string());
    let existing = ctx.catalog.exchange_rates.get(&key).cloned();
    let candidate = exchange_rate::ActiveModel {
        date: Set(date),
        currency: Set(currency),
        quote_currency: Set(quote_currency),
        rate: Set(rate),
        ..Default::default()
    };
    let (model, outcome) = upsert(ctx.txn, ctx.options.expect, existing, candidate).await?;
    ctx.catalog.exchange_rates.insert(key, model);
    Ok(Some(outcome))
}
