//! What an import is told besides its rows: the plan, whether it is a dry run, who imports,
//! what a row may do to the record with its key, and who watches its progress.

use super::catalog::CatalogCache;

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

/// Told how far an import has read, for a progress bar on a terminal.
pub trait Progress: Send + Sync {
    fn file_started(&self, _file: &str, _total_bytes: Option<u64>) {}
    fn advanced(&self, _bytes_read: u64) {}
    fn file_finished(&self) {}
}

/// Progress that nobody watches.
pub struct NoProgress;

impl Progress for NoProgress {}
