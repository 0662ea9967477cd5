//! Signed checkpoints of the audit trail: each row is one head of the trail (its entry count
//! and the hash of its last entry), the time it was signed, the Ed25519 public key that signed
//! it and the signature, all as text so that the signed bytes read back the same on every
//! backend. The table is append-only like the trail itself: a checkpoint once handed to a
//! donor is never changed or withdrawn. (The signature, not the table, is what makes a
//! checkpoint trustworthy: the signing key lives outside the database.)

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditCheckpoints {
    Table,
    Id,
    Entries,
    HeadHash,
    SignedAt,
    PublicKey,
    Signature,
}

const TABLE: &str = "audit_checkpoints";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditCheckpoints::Table)
                    .col(big_pk_auto(AuditCheckpoints::Id))
                    .col(big_integer(AuditCheckpoints::Entries))
                    .col(text(AuditCheckpoints::HeadHash))
                    .col(text(AuditCheckpoints::SignedAt))
                    .col(text(AuditCheckpoints::PublicKey))
                    .col(text(AuditCheckpoints::Signature))
                    .to_owned(),
            )
            .await?;
        let backend = manager.get_database_backend();
        for sql in append_only_triggers(backend) {
            manager
                .get_connection()
                .execute_raw(Statement::from_string(backend, sql))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The triggers go with the table; the PostgreSQL function stays, the initial
        // migration's tables still use it.
        manager
            .drop_table(Table::drop().table(AuditCheckpoints::Table).to_owned())
            .await
    }
}

/// Triggers that refuse any UPDATE or DELETE of a checkpoint, as the initial migration's do
/// for the trail. On PostgreSQL they reuse its `naptrack_append_only()` function.
fn append_only_triggers(backend: DbBackend) -> Vec<String> {
    let message = format!("{TABLE} is append-only: recorded entries are never changed or deleted");
    match backend {
        DbBackend::Postgres => vec![format!(
            "CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} \
             FOR EACH ROW EXECUTE FUNCTION naptrack_append_only()"
        )],
        _ => vec![
            format!(
                "CREATE TRIGGER {TABLE}_no_update BEFORE UPDATE ON {TABLE} \
                 BEGIN SELECT RAISE(ABORT, '{message}'); END"
            ),
            format!(
                "CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE} \
                 BEGIN SELECT RAISE(ABORT, '{message}'); END"
            ),
        ],
    }
}
