//! What an import is told besides its rows: the plan, whether it is a dry run, who imports,
//! what a row may do to the record with its key, and who watches its progress.

use super::catalog::CatalogCache;
use crate::domain::Role;
use crate::domain::records::RecordKind;

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
    /// What the importing user may write; the command line and the sample loader, run by the
    /// machine's operator, may write everything.
    pub rights: Rights,
}

/// What a user may write, per the contract's role table. Every write path (API, import, web
/// form, reversal) reaches the importer with the caller's rights, and the importer checks them
/// row by row, so no route can skip the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rights {
    /// An admin (or the operator at the command line): everything.
    #[default]
    Everything,
    /// A recorder not bound to an institution (the national coordinator's office): every record
    /// kind, but not a change of an activity's lead institution, which is an admin's.
    Recorder,
    /// A recorder bound to the institution with this id: budget lines, commitments,
    /// disbursements, reversals and indicator values of the activities it leads; nothing else.
    Institution(i32),
    /// Donors and auditors: nothing (their routes never write; this keeps it so).
    Nothing,
}

impl Rights {
    /// The rights of a user with `role`, bound to `institution_id` when it has one.
    pub fn of(role: Role, institution_id: Option<i32>) -> Rights {
        match (role, institution_id) {
            (Role::Admin, _) => Rights::Everything,
            (Role::Recorder, None) => Rights::Recorder,
            (Role::Recorder, Some(id)) => Rights::Institution(id),
            (Role::Donor | Role::Auditor, _) => Rights::Nothing,
        }
    }

    /// Whether records of `kind` may be written at all (some only for some activities).
    pub fn may_write(self, kind: RecordKind) -> bool {
        match self {
            Rights::Everything | Rights::Recorder => true,
            Rights::Institution(_) => matches!(
                kind,
                RecordKind::BudgetLines
                    | RecordKind::Commitments
                    | RecordKind::Disbursements
                    | RecordKind::IndicatorValues
            ),
            Rights::Nothing => false,
        }
    }

    /// Whether an activity's lead institution may be changed.
    pub fn may_change_lead_institution(self) -> bool {
        self == Rights::Everything
    }
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
            rights: Rights::Everything,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_has_the_rights_of_the_contract_s_role_table() {
        assert_eq!(Rights::of(Role::Admin, Some(3)), Rights::Everything);
        assert_eq!(Rights::of(Role::Recorder, None), Rights::Recorder);
        assert_eq!(Rights::of(Role::Recorder, Some(3)), Rights::Institution(3));
        assert_eq!(Rights::of(Role::Donor, None), Rights::Nothing);
        assert_eq!(Rights::of(Role::Auditor, Some(3)), Rights::Nothing);
    }

    #[test]
    fn a_bound_recorder_writes_money_and_values_only() {
        let bound = Rights::Institution(3);
        let allowed: Vec<RecordKind> = RecordKind::ALL
            .iter()
            .copied()
            .filter(|kind| bound.may_write(*kind))
            .collect();
        assert_eq!(
            allowed,
            [
                RecordKind::BudgetLines,
                RecordKind::Commitments,
                RecordKind::Disbursements,
                RecordKind::IndicatorValues
            ]
        );
        assert!(
            RecordKind::ALL
                .iter()
                .all(|k| Rights::Recorder.may_write(*k))
        );
        assert!(
            !RecordKind::ALL
                .iter()
                .any(|k| Rights::Nothing.may_write(*k))
        );
        assert!(Rights::Everything.may_change_lead_institution());
        assert!(!Rights::Recorder.may_change_lead_institution());
    }
}
