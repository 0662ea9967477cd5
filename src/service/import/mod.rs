//! CSV import of the contract's twelve record kinds.
//!
//! Invariants, whichever way a file comes in (CLI, API, web upload):
//! - A file, or a directory of files, is one transaction: it is imported whole or not at all.
//! - Every bad row is reported with its physical line, its column and a message a clerk can
//!   act on; reading goes on after an error so that one run shows every problem.
//! - Importing the same file again changes nothing. A row whose key exists updates that
//!   record, except a disbursement: a recorded disbursement is never changed.
//! - Files are read as streams; disbursements (the only kind that grows to millions of rows)
//!   go to the database in batches, so memory stays flat as the file grows.
//! - A dry run does all of the work, including the writes, inside the transaction and then
//!   rolls it back, so it reports exactly what a real import would.
//! - A record written alone (a JSON `POST`/`PUT`, a web form, a reversal) is read from its
//!   named fields by the same importer as a row of a file, with the same rules, and is never
//!   printed to CSV on the way.
//!
//! Each record kind has a file of its own (`institutions.rs` to `indicator_values.rs`) with a
//! type implementing [`importer::RecordImporter`]; [`import_rows`] below is the list of them.
//! What the rows of a file share is in `context.rs`, the header and typed cells in `cells.rs`,
//! the records referred to by code in `catalog.rs`, and what an import is told and reports in
//! `options.rs` and `report.rs`. None of those files uses another that uses it, nor this one.

mod activities;
mod budget_lines;
mod catalog;
mod cells;
mod commitments;
mod context;
mod disbursements;
mod exchange_rates;
mod funding_sources;
mod importer;
mod indicator_values;
mod indicators;
mod institutions;
mod objectives;
mod obligations;
mod options;
mod plans;
mod report;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, TransactionTrait};
use sha2::{Digest, Sha256};

use crate::db;
use crate::domain::records::RecordKind;
use crate::error::{Error, FieldError, Result};
use crate::service::audit::{self, AuditEvent, hex};
use crate::service::records;
use crate::service::trail;

pub use catalog::CatalogCache;
pub use cells::{FieldValue, MAX_CODE_CHARS, MAX_TEXT_CHARS};
pub use options::{Expect, ImportOptions, NoProgress, Progress, Rights};
pub use report::{FileReport, ImportReport};

use catalog::SharedCatalog;
use cells::Header;
use context::{FileContext, Problems, Rows, SeenKeys};
use importer::RecordImporter;

/// Reads and writes the rows of one file, or of one record, with the importer of its kind.
/// Adding a record kind adds its line here.
async fn import_rows<R: Read + Send>(
    ctx: &mut FileContext<'_>,
    rows: &mut Rows<'_, R>,
) -> Result<()> {
    match ctx.kind {
        RecordKind::Institutions => institutions::Institutions.import_rows(ctx, rows).await,
        RecordKind::FundingSources => funding_sources::FundingSources.import_rows(ctx, rows).await,
        RecordKind::Plans => plans::Plans.import_rows(ctx, rows).await,
        RecordKind::Objectives => {
            objectives::Objectives::default()
                .import_rows(ctx, rows)
                .await
        }
        RecordKind::Activities => activities::Activities.import_rows(ctx, rows).await,
        RecordKind::Obligations => obligations::Obligations.import_rows(ctx, rows).await,
        RecordKind::BudgetLines => budget_lines::BudgetLines.import_rows(ctx, rows).await,
        RecordKind::Commitments => commitments::Commitments.import_rows(ctx, rows).await,
        RecordKind::Disbursements => {
            disbursements::Disbursements::default()
                .import_rows(ctx, rows)
                .await
        }
        RecordKind::ExchangeRates => exchange_rates::ExchangeRates.import_rows(ctx, rows).await,
        RecordKind::Indicators => indicators::Indicators.import_rows(ctx, rows).await,
        RecordKind::IndicatorValues => {
            indicator_values::IndicatorValues
                .import_rows(ctx, rows)
                .await
        }
    }
}

/// Why a user with `rights` may not write records of `kind` at all.
fn refusal(kind: RecordKind, rights: Rights) -> String {
    let what = kind.name().replace('-', " ");
    match rights {
        Rights::Institution(_) => format!(
            "a recorder bound to an institution may not write {what}: only budget lines, \
             commitments, disbursements, reversals and indicator values of the activities \
             the institution leads"
        ),
        _ => format!("your role may not write {what}"),
    }
}

/// Names each row of a file of a kind the importing user may not write at all (the header
/// line when it has none), and writes none of them.
fn refuse_file<R: Read>(
    kind: RecordKind,
    rights: Rights,
    reader: &mut csv::Reader<R>,
    problems: &mut Problems,
) {
    let message = refusal(kind, rights);
    let mut record = csv::ByteRecord::new();
    let mut rows = 0;
    while let Ok(true) = reader.read_byte_record(&mut record) {
        let line = record.position().map_or(0, |p| p.line());
        if line > 1 {
            rows += 1;
            problems.forbid(FieldError::at_line(line, "-", message.clone()));
        }
    }
    if rows == 0 {
        problems.forbid(FieldError::at_line(1, "-", message));
    }
}

/// A CSV file to import: its name for messages, and its bytes.
pub struct Source {
    pub name: String,
    pub reader: Box<dyn Read + Send>,
    pub total_bytes: Option<u64>,
}

impl Source {
    pub fn open(path: &Path) -> Result<Source> {
        let file = File::open(path)
            .map_err(|e| Error::BadRequest(format!("cannot open {}: {e}", path.display())))?;
        let total_bytes = file.metadata().ok().map(|m| m.len());
        Ok(Source {
            name: path.display().to_string(),
            reader: Box::new(BufReader::with_capacity(1 << 16, file)),
            total_bytes,
        })
    }

    pub fn from_bytes(name: &str, bytes: Vec<u8>) -> Source {
        let total_bytes = Some(bytes.len() as u64);
        Source {
            name: name.to_owned(),
            reader: Box::new(std::io::Cursor::new(bytes)),
            total_bytes,
        }
    }
}

/// Imports one file of `kind` as one transaction.
pub async fn import_file(
    db: &DatabaseConnection,
    kind: RecordKind,
    source: Source,
    options: &ImportOptions,
    progress: &dyn Progress,
) -> Result<ImportReport> {
    if options.plan.is_some() && !kind.is_plan_scoped() {
        return Err(Error::BadRequest(format!(
            "{kind} do not belong to a plan; import them without --plan (or ?plan=)"
        )));
    }
    import_sources(db, vec![(kind, source)], options, progress).await
}

/// Writes one record given as contract column names and values (texts, or values parsed
/// already), with every rule of an import: its fields are read as the one row of a file would
/// be, without passing through CSV. Returns its report. The audit trail gets one entry with
/// the record as it was before and as it is after; a row that changes nothing adds none.
pub async fn write_record<V>(
    db: &DatabaseConnection,
    kind: RecordKind,
    fields: &[(String, V)],
    options: &ImportOptions,
) -> Result<FileReport>
where
    V: Clone + Into<FieldValue>,
{
    if !options.rights.may_write(kind) {
        return Err(Error::Forbidden(refusal(kind, options.rights)));
    }
    if fields.is_empty() {
        // No column at all cannot be a header: report the required ones as missing.
        let details = kind
            .columns()
            .iter()
            .filter(|c| c.required)
            .map(|c| FieldError::new(c.name, "a value is required"))
            .collect();
        return Err(Error::invalid(
            "the record is empty; nothing was written",
            details,
        ));
    }
    let names: Vec<&str> = fields.iter().map(|(name, _)| name.as_str()).collect();
    let values: Vec<FieldValue> = fields.iter().map(|(_, v)| v.clone().into()).collect();

    let txn = db::begin_write(db).await?;
    // An empty plan_code names no plan: the request's plan (or the only plan) holds then, as
    // it does for the row itself.
    let plan_code = names
        .iter()
        .zip(&values)
        .find(|(name, value)| **name == "plan_code" && **value != FieldValue::Text(String::new()))
        .map(|(_, value)| value.to_text())
        .or_else(|| options.plan.clone());
    let key: Vec<(&'static str, String)> = records::key_columns(kind)
        .iter()
        .map(|column| {
            let value = names
                .iter()
                .zip(&values)
                .find(|(name, _)| *name == column)
                .map(|(_, v)| v.to_text());
            (*column, value.unwrap_or_default())
        })
        .collect();
    let before = find_record(&txn, kind, plan_code.as_deref(), &key)
        .await?
        .map(|record| record.to_json());
    let mut catalog = match &options.catalog_cache {
        Some(cache) => cache.checkout(&txn).await?,
        None => SharedCatalog::load(&txn).await?,
    };
    let result = write_in(&txn, &mut catalog, kind, &names, &values, options).await;
    let result = match result {
        Ok(report) => {
            audit_record(
                &txn,
                kind,
                plan_code.as_deref(),
                &key,
                before,
                options,
                report,
            )
            .await
        }
        Err(e) => Err(e),
    };
    // The head after this write's own entry, which the catalog is current at once committed.
    let head = match (&result, &options.catalog_cache) {
        (Ok(_), Some(_)) if !options.dry_run => Some(audit::head(&*txn).await?),
        _ => None,
    };
    let report = finish(txn, result, options.dry_run).await?;
    if let (Some(cache), Some(head)) = (&options.catalog_cache, head) {
        cache.keep(head, catalog);
    }
    report
        .files
        .into_iter()
        .next()
        .ok_or_else(|| Error::Internal("no report for the record".to_owned()))
}

/// Applies one record of named fields inside `txn` as a one-row file named "request".
async fn write_in(
    txn: &DatabaseTransaction,
    catalog: &mut SharedCatalog,
    kind: RecordKind,
    names: &[&str],
    values: &[FieldValue],
    options: &ImportOptions,
) -> Result<ImportReport> {
    let name = "request";
    let mut report = FileReport::new(kind, name);
    let mut problems = Problems::default();
    if let Some(error) = unknown_plan(catalog, kind, options) {
        problems.push(error);
    } else {
        match Header::of_fields(kind, names.iter().copied()) {
            Ok(header) => {
                let mut rows: Rows<'_, std::io::Empty> = Rows::Record {
                    values,
                    read: false,
                };
                let mut context = FileContext {
                    txn,
                    catalog,
                    kind,
                    header: &header,
                    options,
                    report: &mut report,
                    problems: &mut problems,
                    progress: &NoProgress,
                    total_bytes: None,
                    seen: SeenKeys::default(),
                    led: None,
                };
                import_rows(&mut context, &mut rows).await?;
            }
            Err(header_errors) => header_errors.into_iter().for_each(|e| problems.push(e)),
        }
    }
    in_file_order(&mut problems, 0, name);
    if !problems.is_empty() {
        return Err(problems_error(problems));
    }
    Ok(ImportReport {
        files: vec![report],
        ignored_files: Vec::new(),
        dry_run: options.dry_run,
    })
}

/// The record of `kind` with `key`, if it exists (and its plan does).
async fn find_record(
    txn: &DatabaseTransaction,
    kind: RecordKind,
    plan_code: Option<&str>,
    key: &[(&'static str, String)],
) -> Result<Option<records::Record>> {
    let plan_id = if kind.is_plan_scoped() {
        match crate::service::plans::resolve_plan(txn, plan_code).await {
            Ok(plan) => Some(plan.id),
            Err(_) => return Ok(None),
        }
    } else {
        None
    };
    let mut query = records::Query::all(kind, plan_id);
    for (column, value) in key {
        if query.filter(column, value).is_err() {
            return Ok(None);
        }
    }
    Ok(records::fetch(txn, &query).await?.into_iter().next())
}

async fn audit_record(
    txn: &DatabaseTransaction,
    kind: RecordKind,
    plan_code: Option<&str>,
    key: &[(&'static str, String)],
    before: Option<serde_json::Value>,
    options: &ImportOptions,
    report: ImportReport,
) -> Result<ImportReport> {
    let Some(file) = report.files.first() else {
        return Ok(report);
    };
    let action = match (file.created, file.updated) {
        (0, 0) => return Ok(report),
        (0, _) => "update",
        _ => "create",
    };
    let Some(after) = find_record(txn, kind, plan_code, key).await? else {
        return Err(Error::Internal(format!(
            "the {} just written cannot be read back",
            kind.name()
        )));
    };
    let key_text = key
        .iter()
        .map(|(_, v)| v.as_str())
        .collect::<Vec<_>>()
        .join("/");
    let stored_plan = after.get("plan_code").map(|p| p.csv_text().into_owned());
    let key_text = match stored_plan {
        Some(plan) if kind.is_plan_scoped() => format!("{plan}/{key_text}"),
        _ => key_text,
    };
    let details = serde_json::json!({
        "before": before,
        "after": after.to_json(),
        "trail_rows": trail::digest_of(&after).to_json(),
    });
    let entry = audit::append(
        txn,
        AuditEvent::new(&options.actor, action, kind.name(), &key_text, details),
    )
    .await?;
    trail::record_one(txn, entry.id, &after).await?;
    Ok(report)
}

/// Imports every contract file found in `dir`, in dependency order, as one transaction.
/// A directory with none of the contract's files is an error.
pub async fn import_dir(
    db: &DatabaseConnection,
    dir: &Path,
    options: &ImportOptions,
    progress: &dyn Progress,
) -> Result<ImportReport> {
    if !dir.is_dir() {
        return Err(Error::BadRequest(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    let mut sources = Vec::new();
    for kind in RecordKind::ALL {
        let path = dir.join(kind.file_name());
        if path.is_file() {
            sources.push((kind, Source::open(&path)?));
        }
    }
    if sources.is_empty() {
        let names: Vec<&str> = RecordKind::ALL.iter().map(|k| k.file_name()).collect();
        return Err(Error::BadRequest(format!(
            "{} holds none of the contract's files ({})",
            dir.display(),
            names.join(", ")
        )));
    }
    let mut report = import_sources(db, sources, options, progress).await?;
    report.ignored_files = stray_csv_files(dir);
    Ok(report)
}

/// The `.csv` files in `dir` that no record kind reads: most likely a misspelt name.
fn stray_csv_files(dir: &Path) -> Vec<String> {
    let known: Vec<&str> = RecordKind::ALL.iter().map(|k| k.file_name()).collect();
    let mut stray: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| {
            name.to_ascii_lowercase().ends_with(".csv") && !known.contains(&name.as_str())
        })
        .collect();
    stray.sort();
    stray
}

async fn import_sources(
    db: &DatabaseConnection,
    sources: Vec<(RecordKind, Source)>,
    options: &ImportOptions,
    progress: &dyn Progress,
) -> Result<ImportReport> {
    let txn = db::begin_write(db).await?;
    let mut catalog = SharedCatalog::load(&txn).await?;
    let result = import_in(&txn, &mut catalog, sources, options, progress, true).await;
    let report = finish(txn, result, options.dry_run).await?;
    vacuum_after_bulk_load(db, &report).await;
    Ok(report)
}

/// A dry run of one file of `kind` for `plan` that also says which flags the file would
/// raise ([`crate::service::flags::raised_by`]): the import is run in a transaction, the flags
/// are evaluated inside it, and it is rolled back. Nothing is written.
pub async fn preview_file(
    db: &DatabaseConnection,
    (kind, source): (RecordKind, Source),
    options: &ImportOptions,
    plan: &crate::entity::plan::Model,
    thresholds: &crate::domain::flags::Thresholds,
) -> Result<(ImportReport, Vec<crate::domain::flags::Flag>)> {
    let options = ImportOptions {
        dry_run: true,
        ..options.clone()
    };
    let txn = db::begin_write(db).await?;
    let mut catalog = SharedCatalog::load(&txn).await?;
    let result = import_in(
        &txn,
        &mut catalog,
        vec![(kind, source)],
        &options,
        &NoProgress,
        true,
    )
    .await;
    let raised = match &result {
        Ok(_) => {
            let today = chrono::Utc::now().date_naive();
            crate::service::flags::raised_by(db, &*txn, plan, today, thresholds).await
        }
        Err(_) => Ok(Vec::new()),
    };
    let report = finish(txn, result, true).await?;
    Ok((report, raised?))
}

/// A file that writes at least this many rows is a bulk load.
const BULK_LOAD_ROWS: u64 = 100_000;

/// On PostgreSQL, `VACUUM (ANALYZE)` of each table a file loaded in bulk, once the import has
/// committed (VACUUM cannot run in a transaction). Until autovacuum comes by, the planner has
/// no statistics for the new rows (it plans for a handful where there are a million) and an
/// index-only scan reads the table for every row it finds, as no page is marked all-visible:
/// a report over a million freshly imported disbursements took 2.7 s instead of 0.5 s. A
/// failure only warns: the import itself stands. (SQLite keeps no visibility map, and its
/// queries are written for its planner without statistics.)
async fn vacuum_after_bulk_load(db: &DatabaseConnection, report: &ImportReport) {
    if report.dry_run || db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return;
    }
    for file in &report.files {
        if file.created + file.updated < BULK_LOAD_ROWS {
            continue;
        }
        let table = file.entity.name().replace('-', "_");
        if let Err(e) = db
            .execute_unprepared(&format!("VACUUM (ANALYZE) {table}"))
            .await
        {
            rocket::warn!("could not vacuum {table} after the import: {e}");
        }
    }
}

/// Commits what an import did, or rolls it back after a dry run or a failure.
async fn finish(
    txn: db::WriteTransaction,
    result: Result<ImportReport>,
    dry_run: bool,
) -> Result<ImportReport> {
    match result {
        Ok(report) if !dry_run => {
            txn.commit().await?;
            Ok(report)
        }
        Ok(report) => {
            txn.rollback().await?;
            Ok(report)
        }
        Err(e) => {
            txn.rollback().await.ok();
            Err(e)
        }
    }
}

/// Imports `sources` inside `txn` without ending it: problems in the data make it an
/// [`Error::Invalid`] listing them all. With `audit_files`, each file adds one entry to the
/// audit trail (its digest and counts, not one per row).
async fn import_in(
    txn: &DatabaseTransaction,
    catalog: &mut SharedCatalog,
    sources: Vec<(RecordKind, Source)>,
    options: &ImportOptions,
    progress: &dyn Progress,
    audit_files: bool,
) -> Result<ImportReport> {
    let mut reports = Vec::new();
    let mut problems = Problems::default();
    for (kind, source) in sources {
        let name = source.name.clone();
        if audit_files {
            trail::ensure_unchanged(txn, kind).await?;
        }
        progress.file_started(&name, source.total_bytes);
        let result = import_one(txn, catalog, kind, source, options, progress, &mut problems).await;
        progress.file_finished();
        let report = result?;
        if audit_files && problems.is_empty() {
            // The rows of the records the file wrote are named with the entry that follows.
            let entry_id = audit::next_id(txn).await?;
            let rows = trail::take_up(txn, kind, entry_id).await?;
            let details = serde_json::json!({
                "sha256": report.sha256,
                "rows": report.rows,
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "plan": options.plan,
                "trail_rows": rows.to_json(),
            });
            let event = AuditEvent::new(
                &options.actor,
                "import",
                kind.name(),
                &file_name(&name),
                details,
            );
            let entry = audit::append(txn, event).await?;
            if entry.id != entry_id {
                return Err(Error::Internal(format!(
                    "the import's audit entry is {} where {entry_id} was expected",
                    entry.id
                )));
            }
        }
        reports.push(report);
    }
    if !problems.is_empty() {
        return Err(problems_error(problems));
    }
    Ok(ImportReport {
        files: reports,
        ignored_files: Vec::new(),
        dry_run: options.dry_run,
    })
}

/// The error that lists every problem an import found.
fn problems_error(problems: Problems) -> Error {
    let count = problems.count();
    let listed = if problems.unlisted > 0 {
        format!(" (the first {} are listed)", problems.listed.len())
    } else {
        String::new()
    };
    let found = if count == 1 {
        "error was"
    } else {
        "errors were"
    };
    if problems.forbidden > 0 {
        let message = match (problems.forbidden, count) {
            (1, 1) => "you may not make this write; nothing was imported".to_owned(),
            (n, c) if n == c => {
                format!("you may not make these {n} writes{listed}; nothing was imported")
            }
            (n, c) => format!(
                "{c} {found} found{listed}, {n} of them {} you may not make; nothing was imported",
                if n == 1 { "a write" } else { "writes" }
            ),
        };
        return Error::ForbiddenRows {
            message,
            details: problems.listed,
        };
    }
    Error::invalid(
        format!("{count} {found} found{listed}; nothing was imported"),
        problems.listed,
    )
}

/// The `--plan` (`?plan=`) of an import of a plan's records when no such plan exists.
fn unknown_plan(
    catalog: &SharedCatalog,
    kind: RecordKind,
    options: &ImportOptions,
) -> Option<FieldError> {
    let code = options
        .plan
        .as_ref()
        .filter(|code| kind.is_plan_scoped() && !catalog.plans.contains_key(*code))?;
    Some(FieldError::at_line(
        1,
        "plan_code",
        format!("there is no plan with code \"{code}\"; import it in plans.csv first"),
    ))
}

/// Puts the problems of one file, from `first_error` on, in the order of its lines (some
/// checks run a batch after the row was read) and names the file in each.
fn in_file_order(problems: &mut Problems, first_error: usize, file: &str) {
    problems.listed[first_error..].sort_by_key(|e| e.line);
    for error in &mut problems.listed[first_error..] {
        error.file = Some(file.to_owned());
    }
}

/// Reads one file and applies its rows; problems with the data go to `problems`, problems with
/// the database end the import.
async fn import_one(
    txn: &DatabaseTransaction,
    catalog: &mut SharedCatalog,
    kind: RecordKind,
    source: Source,
    options: &ImportOptions,
    progress: &dyn Progress,
    problems: &mut Problems,
) -> Result<FileReport> {
    let mut report = FileReport::new(kind, &source.name);
    let first_error = problems.listed.len();
    let digest = std::sync::Arc::new(std::sync::Mutex::new(Sha256::new()));
    let hashed = HashingReader {
        inner: source.reader,
        digest: digest.clone(),
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(cells::CrlfToLf::new(hashed));
    let unknown_plan = unknown_plan(catalog, kind, options);
    if !options.rights.may_write(kind) {
        refuse_file(kind, options.rights, &mut reader, problems);
    } else {
        match (unknown_plan, Header::read(kind, &mut reader)) {
            (Some(error), _) => problems.push(error),
            (None, Ok(Some(header))) => {
                let mut context = FileContext {
                    txn,
                    catalog,
                    kind,
                    header: &header,
                    options,
                    report: &mut report,
                    problems,
                    progress,
                    total_bytes: source.total_bytes,
                    seen: SeenKeys::default(),
                    led: None,
                };
                import_rows(&mut context, &mut Rows::of_csv(&mut reader)).await?;
                if report.rows == 0 && problems.listed.len() == first_error {
                    report.warn(
                        1,
                        "-",
                        "the file has a header but no rows; nothing to import",
                    );
                }
            }
            (None, Ok(None)) => problems.push(FieldError::at_line(
                1,
                "-",
                "the file is empty: it needs a header row naming the columns",
            )),
            (None, Err(header_errors)) => header_errors.into_iter().for_each(|e| problems.push(e)),
        }
    }
    // The csv reader may stop early on an error; the digest covers every byte of the file.
    let mut rest = reader.into_inner();
    std::io::copy(&mut rest, &mut std::io::sink())?;
    if let Ok(digest) = digest.lock() {
        report.sha256 = hex(&digest.clone().finalize());
    }
    in_file_order(problems, first_error, &source.name);
    Ok(report)
}

/// The name of a file without its folders, as the audit trail records it.
fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_owned())
}

/// Feeds every byte read through it to a SHA-256 digest.
struct HashingReader<R> {
    inner: R,
    digest: std::sync::Arc<std::sync::Mutex<Sha256>>,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        if let Ok(mut digest) = self.digest.lock() {
            digest.update(&buf[..read]);
        }
        Ok(read)
    }
}

/// Whether the database holds no records at all (so samples may be loaded into it).
pub async fn database_is_empty(db: &DatabaseConnection) -> Result<bool> {
    use sea_orm::{EntityTrait, PaginatorTrait};
    let txn = db.begin().await?;
    let empty = crate::entity::plan::Entity::find().count(&txn).await? == 0
        && crate::entity::institution::Entity::find()
            .count(&txn)
            .await?
            == 0;
    txn.commit().await?;
    Ok(empty)
}
