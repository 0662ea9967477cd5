//! CSV import of the contract's ten record kinds.
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

mod catalog;
mod cells;
pub use cells::{MAX_CODE_CHARS, MAX_TEXT_CHARS};
mod disbursements;
mod rows;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, TransactionTrait};
use serde::Serialize;

use crate::db;
use crate::domain::records::RecordKind;
use crate::error::{Error, FieldError, Result};
use crate::service::audit::{self, AuditEvent, hex};
use crate::service::records;
use sha2::{Digest, Sha256};

pub use catalog::CatalogCache;
use catalog::SharedCatalog;
use cells::Header;
use rows::Problems;

/// What an import is told besides its files.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The plan for rows without a `plan_code` column (`--plan`, `?plan=`).
    pub plan: Option<String>,
    /// Check everything and write nothing.
    pub dry_run: bool,
    /// Who imports, as the audit trail names them (`cli:alice`, `user:clerk@example.org`).
    pub actor: String,
    /// Whether rows must create records, must update them, or may do either.
    pub expect: Expect,
    /// The user recorded as having entered new disbursements.
    pub recorded_by: Option<i32>,
    /// Where a write of one record finds the catalog of the write before it (the API's);
    /// without one, the catalog is loaded for each write.
    pub catalog_cache: Option<CatalogCache>,
}

/// What a row is allowed to do to the record with its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Expect {
    /// Create it or update it (an import).
    #[default]
    Any,
    /// Create it; an existing record is a conflict (`POST` of one record).
    New,
    /// Update it; a missing record is not found (`PUT` of one record).
    Existing,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            plan: None,
            dry_run: false,
            actor: "system".to_owned(),
            expect: Expect::Any,
            recorded_by: None,
            catalog_cache: None,
        }
    }
}

/// The outcome of one file.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileReport {
    pub entity: RecordKind,
    pub file: String,
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub warnings: Vec<FieldError>,
    /// The SHA-256 of the file's bytes, as recorded in the audit trail.
    pub sha256: String,
}

impl FileReport {
    fn new(entity: RecordKind, file: &str) -> Self {
        FileReport {
            entity,
            file: file.to_owned(),
            rows: 0,
            created: 0,
            updated: 0,
            unchanged: 0,
            warnings: Vec::new(),
            sha256: String::new(),
        }
    }

    pub(crate) fn warn(&mut self, line: u64, column: &str, message: impl Into<String>) {
        let mut warning = FieldError::at_line(line, column, message);
        warning.file = Some(self.file.clone());
        self.warnings.push(warning);
    }
}

impl Serialize for RecordKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// The outcome of an import: one report per file, in the order they were imported.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ImportReport {
    pub files: Vec<FileReport>,
    /// CSV files of a directory that are none of the contract's, and so were not read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored_files: Vec<String>,
    pub dry_run: bool,
}

/// Told how far an import has read, for a progress bar on a terminal.
pub trait Progress: Send + Sync {
    fn file_started(&self, _file: &str, _total_bytes: Option<u64>) {}
    fn advanced(&self, _bytes_read: u64) {}
    fn file_finished(&self) {}
}

/// Progress that nobody watches.
pub struct NoProgress;

impl Progress for NoProgress {}

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

/// Writes one record given as contract column names and cell texts, with every rule of an
/// import (it is imported as a one-row file), and returns its report. The audit trail gets
/// one entry with the record as it was before and as it is after; a row that changes
/// nothing adds none.
pub async fn write_record(
    db: &DatabaseConnection,
    kind: RecordKind,
    fields: &[(String, String)],
    options: &ImportOptions,
) -> Result<FileReport> {
    if fields.is_empty() {
        // No column at all cannot be a CSV header: report the required ones as missing.
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
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let io = |e: csv::Error| Error::Internal(format!("cannot build the record: {e}"));
    writer
        .write_record(fields.iter().map(|(name, _)| name))
        .map_err(io)?;
    writer
        .write_record(fields.iter().map(|(_, value)| value))
        .map_err(io)?;
    let bytes = writer
        .into_inner()
        .map_err(|e| Error::Internal(format!("cannot build the record: {e}")))?;
    let source = Source::from_bytes("request", bytes);

    let txn = db::begin_write(db).await?;
    let plan_code = fields
        .iter()
        .find(|(name, _)| name == "plan_code" && !name.is_empty())
        .map(|(_, value)| value.clone())
        .or_else(|| options.plan.clone());
    let key: Vec<(&'static str, String)> = records::key_columns(kind)
        .iter()
        .map(|column| {
            let value = fields
                .iter()
                .find(|(name, _)| name == column)
                .map(|(_, v)| v.clone());
            (*column, value.unwrap_or_default())
        })
        .collect();
    let before = find_record(&txn, kind, plan_code.as_deref(), &key).await?;
    let mut catalog = match &options.catalog_cache {
        Some(cache) => cache.checkout(&txn).await?,
        None => SharedCatalog::load(&txn).await?,
    };
    let sources = vec![(kind, source)];
    let result = import_in(&txn, &mut catalog, sources, options, &NoProgress, false).await;
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

/// The record of `kind` with `key`, as JSON, if it exists (and its plan does).
async fn find_record(
    txn: &DatabaseTransaction,
    kind: RecordKind,
    plan_code: Option<&str>,
    key: &[(&'static str, String)],
) -> Result<Option<serde_json::Value>> {
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
    Ok(records::fetch(txn, &query)
        .await?
        .first()
        .map(records::Record::to_json))
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
    let after = find_record(txn, kind, plan_code, key).await?;
    let key_text = key
        .iter()
        .map(|(_, v)| v.as_str())
        .collect::<Vec<_>>()
        .join("/");
    let stored_plan = after
        .as_ref()
        .and_then(|record| record.get("plan_code"))
        .and_then(|p| p.as_str());
    let key_text = match stored_plan {
        Some(plan) => format!("{plan}/{key_text}"),
        None => key_text,
    };
    let details = serde_json::json!({ "before": before, "after": after });
    audit::append(
        txn,
        AuditEvent::new(&options.actor, action, kind.name(), &key_text, details),
    )
    .await?;
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
        progress.file_started(&name, source.total_bytes);
        let result = import_one(txn, catalog, kind, source, options, progress, &mut problems).await;
        progress.file_finished();
        let report = result?;
        if audit_files && problems.is_empty() {
            let details = serde_json::json!({
                "sha256": report.sha256,
                "rows": report.rows,
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "plan": options.plan,
            });
            let event = AuditEvent::new(
                &options.actor,
                "import",
                kind.name(),
                &file_name(&name),
                details,
            );
            audit::append(txn, event).await?;
        }
        reports.push(report);
    }
    if !problems.is_empty() {
        let count = problems.count();
        let listed = if problems.unlisted > 0 {
            format!(" (the first {} are listed)", problems.listed.len())
        } else {
            String::new()
        };
        return Err(Error::invalid(
            format!(
                "{count} {} found{listed}; nothing was imported",
                if count == 1 {
                    "error was"
                } else {
                    "errors were"
                }
            ),
            problems.listed,
        ));
    }
    Ok(ImportReport {
        files: reports,
        ignored_files: Vec::new(),
        dry_run: options.dry_run,
    })
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
    let unknown_plan = options
        .plan
        .as_ref()
        .filter(|code| kind.is_plan_scoped() && !catalog.plans.contains_key(*code));
    match Header::read(kind, &mut reader) {
        _ if unknown_plan.is_some() => problems.push(FieldError::at_line(
            1,
            "plan_code",
            format!(
                "there is no plan with code \"{}\"; import it in plans.csv first",
                unknown_plan.map(String::as_str).unwrap_or_default()
            ),
        )),
        Ok(Some(header)) => {
            let mut context = rows::FileContext {
                txn,
                catalog,
                kind,
                header: &header,
                options,
                report: &mut report,
                problems,
                progress,
                total_bytes: source.total_bytes,
            };
            rows::import_rows(&mut context, &mut reader).await?;
            if report.rows == 0 && problems.listed.len() == first_error {
                report.warn(
                    1,
                    "-",
                    "the file has a header but no rows; nothing to import",
                );
            }
        }
        Ok(None) => problems.push(FieldError::at_line(
            1,
            "-",
            "the file is empty: it needs a header row naming the columns",
        )),
        Err(header_errors) => header_errors.into_iter().for_each(|e| problems.push(e)),
    }
    // The csv reader may stop early on an error; the digest covers every byte of the file.
    let mut rest = reader.into_inner();
    std::io::copy(&mut rest, &mut std::io::sink())?;
    if let Ok(digest) = digest.lock() {
        report.sha256 = hex(&digest.clone().finalize());
    }
    // Some checks run a batch after the row was read; the report reads in file order.
    problems.listed[first_error..].sort_by_key(|e| e.line);
    for error in &mut problems.listed[first_error..] {
        error.file = Some(source.name.clone());
    }
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
