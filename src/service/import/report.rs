//! What an import reports: per file, the rows read and what became of them, and warnings.

use serde::Serialize;

use crate::domain::records::RecordKind;
use crate::error::FieldError;

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
    pub(crate) fn new(entity: RecordKind, file: &str) -> Self {
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

    pub(crate) fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Created => self.created += 1,
            Outcome::Updated => self.updated += 1,
            Outcome::Unchanged => self.unchanged += 1,
        }
    }
}

/// What happened to one row.
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
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
