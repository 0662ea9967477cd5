//! A covering index of a plan's disbursements in date order, for the report by month: the
//! database sums each day's payments walking the index, instead of sorting every payment by
//! month.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Disbursements {
    Table,
    PlanId,
    Date,
    Currency,
    Amount,
}

const NAME: &str = "ix_disbursements_plan_date_cover";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NAME)
                    .table(Disbursements::Table)
                    .col(Disbursements::PlanId)
                    .col(Disbursements::Date)
                    .col(Disbursements::Currency)
                    .col(Disbursements::Amount)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(NAME)
                    .table(Disbursements::Table)
                    .to_owned(),
            )
            .await
    }
}
