//! On SQLite, a covering index of a plan's disbursements in month order, for the report by
//! month: the database sums each month walking the index, instead of sorting every payment by
//! month. It is an index on the month expression, not on the date: an index that leads with
//! the plan and the date would tempt SQLite's planner, which has no statistics, into scanning a
//! date range of the whole plan where a query names a few budget lines (the flags do).
//! PostgreSQL sums by month with a hash aggregate and needs no such index.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const NAME: &str = "ix_disbursements_plan_month_cover";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        // The expression is written exactly as the report's query writes it.
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "CREATE INDEX {NAME} ON disbursements \
                 (plan_id, substr(date, 1, 7), currency, date, amount)"
            ))
            .await
            .map(|_| ())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Sqlite {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared(&format!("DROP INDEX {NAME}"))
            .await
            .map(|_| ())
    }
}
