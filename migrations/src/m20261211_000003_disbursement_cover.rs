//! A covering index for the reports and flags: every column they aggregate over a plan's
//! disbursements, in the order they group by. With it a report over a million disbursements
//! reads the index alone, in budget-line order, instead of visiting each row.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Disbursements {
    Table,
    PlanId,
    BudgetLineId,
    Currency,
    Date,
    Amount,
    PayeeId,
}

const NAME: &str = "ix_disbursements_plan_line_cover";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(NAME)
                    .table(Disbursements::Table)
                    .col(Disbursements::PlanId)
                    .col(Disbursements::BudgetLineId)
                    .col(Disbursements::Currency)
                    .col(Disbursements::Date)
                    .col(Disbursements::Amount)
                    .col(Disbursements::PayeeId)
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
