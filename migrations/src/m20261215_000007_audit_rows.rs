//! What the audit trail says each record is: one row per record an audit entry wrote, with the
//! SHA-256 of the record as the contract shows it. The entry that wrote the rows carries a
//! digest of them in its details, so the rows are covered by the hash chain; `audit verify`
//! compares the records as they are with the last row the trail holds for each of them.
//!
//! Append-only, like the trail itself: triggers refuse any UPDATE or DELETE.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditRows {
    Table,
    Id,
    EntryId,
    Entity,
    EntityKey,
    RowHash,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditRows::Table)
                    .col(big_pk_auto(AuditRows::Id))
                    .col(big_integer(AuditRows::EntryId))
                    .col(text(AuditRows::Entity))
                    .col(text(AuditRows::EntityKey))
                    .col(text(AuditRows::RowHash))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_rows_entry")
                    .table(AuditRows::Table)
                    .col(AuditRows::EntryId)
                    .col(AuditRows::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_audit_rows_entity")
                    .table(AuditRows::Table)
                    .col(AuditRows::Entity)
                    .col(AuditRows::Id)
                    .to_owned(),
            )
            .await?;
        let backend = manager.get_database_backend();
        let message = "audit_rows is append-only: recorded entries are never changed or deleted";
        let statements = match backend {
            DbBackend::Postgres => vec![
                "CREATE TRIGGER audit_rows_append_only BEFORE UPDATE OR DELETE ON audit_rows \
                 FOR EACH ROW EXECUTE FUNCTION naptrack_append_only()"
                    .to_owned(),
            ],
            _ => vec![
                format!(
                    "CREATE TRIGGER audit_rows_no_update BEFORE UPDATE ON audit_rows \
                     BEGIN SELECT RAISE(ABORT, '{message}'); END"
                ),
                format!(
                    "CREATE TRIGGER audit_rows_no_delete BEFORE DELETE ON audit_rows \
                     BEGIN SELECT RAISE(ABORT, '{message}'); END"
                ),
            ],
        };
        for sql in statements {
            manager
                .get_connection()
                .execute_raw(Statement::from_string(backend, sql))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_raw(Statement::from_string(
                    DbBackend::Postgres,
                    "DROP TRIGGER IF EXISTS audit_rows_append_only ON audit_rows".to_owned(),
                ))
                .await?;
        }
        manager
            .drop_table(Table::drop().table(AuditRows::Table).to_owned())
            .await
    }
}
