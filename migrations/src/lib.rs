//! The naptrack schema, one migration per change. This crate knows nothing of the app's
//! entities, so that an old migration keeps meaning what it meant when it ran.

pub use sea_orm_migration::prelude::*;

mod m20261129_000001_initial;
mod m20261210_000002_login_attempts;
mod m20261211_000003_disbursement_cover;
mod m20261212_000004_disbursement_month;
mod m20261213_000005_indicators;
mod m20261214_000006_activity_sector;
mod m20261215_000007_audit_rows;
mod m20261216_000008_web_sessions;
mod m20261217_000009_audit_checkpoints;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261129_000001_initial::Migration),
            Box::new(m20261210_000002_login_attempts::Migration),
            Box::new(m20261211_000003_disbursement_cover::Migration),
            Box::new(m20261212_000004_disbursement_month::Migration),
            Box::new(m20261213_000005_indicators::Migration),
            Box::new(m20261214_000006_activity_sector::Migration),
            Box::new(m20261215_000007_audit_rows::Migration),
            Box::new(m20261216_000008_web_sessions::Migration),
            Box::new(m20261217_000009_audit_checkpoints::Migration),
        ]
    }
}
