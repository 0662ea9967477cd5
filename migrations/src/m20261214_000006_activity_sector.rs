//! The sector of an activity: a DAC 5-digit purpose code of IATI's Sector codelist
//! (vocabulary 1), which the IATI export needs on every activity. The column is nullable, so
//! that plans imported before sectors existed keep loading; the export refuses an activity
//! without one.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Activities {
    Table,
    SectorCode,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Activities::Table)
                    .add_column(ColumnDef::new(Activities::SectorCode).text().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Activities::Table)
                    .drop_column(Activities::SectorCode)
                    .to_owned(),
            )
            .await
    }
}
