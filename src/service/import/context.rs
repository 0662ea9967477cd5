//! What the rows of one file share: the transaction and catalog, the header, the report and
//! the problems found so far, the keys already seen, and the reading of the next row.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::io::Read;

use sea_orm::DatabaseTransaction;

use super::catalog::SharedCatalog;
use super::cells::{Cells, FieldValue, Header, RowValues, csv_error_message, row_too_long};
use super::options::{ImportOptions, Progress, Rights};
use super::report::FileReport;
use crate::domain::Currency;
use crate::domain::records::RecordKind;
use crate::entity::{activity, funding_source, plan};
use crate::error::FieldError;

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
    /// The keys of the rows read so far.
    pub seen: SeenKeys,
    /// The activities the importing recorder's institution leads, once a row has asked.
    pub led: Option<HashSet<i32>>,
}

/// The problems an import found: listed up to [`MAX_REPORTED_ERRORS`], counted past it.
#[derive(Debug, Default)]
pub struct Problems {
    pub listed: Vec<FieldError>,
    pub unlisted: u64,
    /// How many of them are writes the importing user may not make (which makes the import
    /// forbidden rather than invalid).
    pub forbidden: u64,
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

    /// Records a write the importing user may not make.
    pub fn forbid(&mut self, error: FieldError) {
        self.forbidden += 1;
        self.push(error);
    }
}

impl FileContext<'_> {
    pub fn reject(&mut self, errors: Vec<FieldError>) {
        for error in errors {
            self.problems.push(error);
        }
    }

    /// Records the key of a row of `plan`, `code` in `column`: a key seen before is an error.
    pub fn check_plan_key(
        &mut self,
        cells: &mut Cells<'_>,
        column: &str,
        plan: &plan::Model,
        code: Option<&String>,
    ) {
        if let Some(code) = code {
            self.seen
                .check(cells, column, format!("{}\u{0}{code}", plan.code));
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

    /// The id of the institution `code` names, or an error on `column`.
    pub fn institution_id(&self, cells: &mut Cells<'_>, column: &str, code: &str) -> Option<i32> {
        match self.catalog.institutions.get(code) {
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

    /// The funding source `code` names, or an error on `funding_source_code`.
    pub fn funding_source(
        &self,
        cells: &mut Cells<'_>,
        code: &str,
    ) -> Option<funding_source::Model> {
        let found = self.catalog.funding_sources.get(code).cloned();
        if found.is_none() {
            cells.error(
                "funding_source_code",
                format!("there is no funding source with code \"{code}\""),
            );
        }
        found
    }

    /// Warns when a row (`the line`, `the commitment`) in `currency` draws on a funding source
    /// that gives another: allowed, but most often a slip.
    pub fn warn_on_source_currency(
        &mut self,
        line: u64,
        row: &str,
        currency: Currency,
        source: &funding_source::Model,
    ) {
        if source.currency != currency {
            self.report.warn(
                line,
                "currency",
                format!(
                    "the {row} is in {currency} but funding source {} gives {}",
                    source.code, source.currency
                ),
            );
        }
    }

    /// Refuses the row, as a forbidden write on `column`, when the importing recorder is bound
    /// to an institution that does not lead the activity `activity_id`.
    pub fn check_leads(&mut self, cells: &mut Cells<'_>, column: &str, activity_id: i32) {
        if let Some(message) = self.not_led(activity_id) {
            self.forbid(cells, column, message);
        }
    }

    /// Refuses the row, as a write the importing user may not make, with `message` on `column`.
    pub fn forbid(&mut self, cells: &mut Cells<'_>, column: &str, message: impl Into<String>) {
        self.problems.forbidden += 1;
        cells.error(column, message);
    }

    /// Why the importing user may not write for the activity `activity_id`, if they may not.
    pub fn not_led(&mut self, activity_id: i32) -> Option<String> {
        let Rights::Institution(institution_id) = self.options.rights else {
            return None;
        };
        let catalog = &self.catalog;
        let led = self.led.get_or_insert_with(|| {
            catalog
                .activities
                .values()
                .filter(|a| a.lead_institution_id == institution_id)
                .map(|a| a.id)
                .collect()
        });
        if led.contains(&activity_id) {
            return None;
        }
        let code_of = |id: i32| {
            self.catalog
                .institution_by_id(id)
                .map_or_else(|| id.to_string(), |i| i.code.clone())
        };
        let own = code_of(institution_id);
        let activity = self
            .catalog
            .activities
            .values()
            .find(|a| a.id == activity_id);
        Some(match activity {
            Some(activity) => format!(
                "activity {} is led by {}, not by {own}: you may write only for the activities {own} leads",
                activity.code,
                code_of(activity.lead_institution_id)
            ),
            None => format!("you may write only for the activities {own} leads"),
        })
    }

    /// The activity `code` names in `plan`, or an error on `column`.
    pub fn activity_in_plan(
        &self,
        cells: &mut Cells<'_>,
        column: &str,
        plan: &plan::Model,
        code: &str,
    ) -> Option<activity::Model> {
        let found = self
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

/// The line a record written alone is reported on, as if it were the one row of a file.
const RECORD_LINE: u64 = 2;

/// The rows of one import: the records of a CSV file after its header, or the one record of
/// a write of named fields.
pub enum Rows<'r, R> {
    Csv {
        reader: &'r mut csv::Reader<R>,
        record: csv::ByteRecord,
    },
    Record {
        values: &'r [FieldValue],
        read: bool,
    },
}

impl<'r, R: Read> Rows<'r, R> {
    pub fn of_csv(reader: &'r mut csv::Reader<R>) -> Self {
        Rows::Csv {
            reader,
            record: csv::ByteRecord::new(),
        }
    }

    /// Reads the next row with as many fields as the header and returns its cells, counting it
    /// and reporting progress; a row with another number of fields is reported and skipped.
    /// `None` at the end, or after an error that stops reading (reported).
    pub fn next<'s, 'a: 's>(&'s mut self, ctx: &mut FileContext<'a>) -> Option<Cells<'s>> {
        let header = ctx.header;
        match self {
            Rows::Csv { reader, record } => {
                let line = next_csv_row(ctx, reader, record)?;
                Some(Cells::new(header, RowValues::Csv(record), line))
            }
            Rows::Record { values, read } => {
                if std::mem::replace(read, true) {
                    return None;
                }
                ctx.report.rows += 1;
                Some(Cells::new(header, RowValues::Fields(values), RECORD_LINE))
            }
        }
    }
}

/// Reads the next CSV row with as many fields as the header into `record` and returns its line.
fn next_csv_row<R: Read>(
    ctx: &mut FileContext<'_>,
    reader: &mut csv::Reader<R>,
    record: &mut csv::ByteRecord,
) -> Option<u64> {
    loop {
        match reader.read_byte_record(record) {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => {
                let line = row_too_long(&e)
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
