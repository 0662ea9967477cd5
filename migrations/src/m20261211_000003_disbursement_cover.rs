//! Covering indexes for the reports and flags: every column they aggregate over a plan's
//! disbursements, in the order they group by. With them a report over a million disbursements
//! reads an index alone, in budget-line (or payee) order, instead of visiting each row.

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
const PAYEE: &str = "ix_disbursements_plan_payee_cover";
const PLAN_DATE: &str = "ix_disbursements_plan_date";

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
            .await?;
        // The plan-and-date index of the first migration is superseded: the covering index
        // leads with the plan too, and SQLite's planner, without statistics, would pick the
        // date range over the budget lines a query names.
        manager
            .drop_index(
                Index::drop()
                    .name(PLAN_DATE)
                    .table(Disbursements::Table)
                    .to_owned(),
            )
            .await?;
        // The last payment to each payee, for the inactive-institution flag.
        manager
            .create_index(
                Index::create()
                    .name(PAYEE)
                    .table(Disbursements::Table)
                    .col(Disbursements::PlanId)
                    .col(Disbursements::PayeeId)
                    .col(Disbursements::Date)
                    .col(Disbursements::Amount)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(PAYEE)
                    .table(Disbursements::Table)
                    .to_owned(),
            )
            .await?;
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
