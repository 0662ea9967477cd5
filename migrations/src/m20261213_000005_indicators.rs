//! Results indicators and their values: what the plan's money is meant to achieve, and what it
//! did, year by year.
//!
//! An indicator measures exactly one activity or one objective (a CHECK holds that). Values,
//! like amounts, are `BIGINT` counts of ten-thousandths, so a target or an actual is stored
//! exactly on both backends and never passes through a floating-point type. Each value row is
//! one fiscal year of one indicator, with a target, an actual or both.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The largest value in ten-thousandths: 14 integer and 4 fraction digits, as for amounts.
const MAX_VALUE_UNITS: i64 = 999_999_999_999_999_999;

#[derive(DeriveIden)]
enum Plans {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Objectives {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Activities {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Indicators {
    Table,
    Id,
    PlanId,
    Code,
    Title,
    ObjectiveId,
    ActivityId,
    ResultType,
    Measure,
    Ascending,
    Unit,
    BaselineYear,
    BaselineValue,
}

#[derive(DeriveIden, Clone, Copy)]
enum IndicatorValues {
    Table,
    Id,
    IndicatorId,
    FiscalYear,
    Target,
    Actual,
}

fn value_in_range<C: IntoIden + Clone + 'static>(column: C) -> SimpleExpr {
    Expr::col(column.clone())
        .is_null()
        .or(Expr::col(column).between(-MAX_VALUE_UNITS, MAX_VALUE_UNITS))
}

fn restrict(
    from: (Indicators, Indicators),
    to: (impl IntoIden + 'static, impl IntoIden + 'static),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Restrict)
        .on_update(ForeignKeyAction::Restrict)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Indicators::Table)
                    .col(pk_auto(Indicators::Id))
                    .col(integer(Indicators::PlanId))
                    .col(text(Indicators::Code))
                    .col(text(Indicators::Title))
                    .col(integer_null(Indicators::ObjectiveId))
                    .col(integer_null(Indicators::ActivityId))
                    .col(text(Indicators::ResultType))
                    .col(text(Indicators::Measure))
                    .col(boolean(Indicators::Ascending))
                    .col(text_null(Indicators::Unit))
                    .col(integer_null(Indicators::BaselineYear))
                    .col(big_integer_null(Indicators::BaselineValue))
                    // Exactly one of an objective and an activity.
                    .check(
                        Expr::col(Indicators::ObjectiveId)
                            .is_null()
                            .and(Expr::col(Indicators::ActivityId).is_not_null())
                            .or(Expr::col(Indicators::ObjectiveId)
                                .is_not_null()
                                .and(Expr::col(Indicators::ActivityId).is_null())),
                    )
                    .check(Expr::col(Indicators::ResultType).is_in(["output", "outcome", "impact"]))
                    .check(Expr::col(Indicators::Measure).is_in(["unit", "percentage"]))
                    .check(value_in_range(Indicators::BaselineValue))
                    // A baseline is a value in a year: both or neither.
                    .check(
                        Expr::col(Indicators::BaselineYear)
                            .is_null()
                            .eq(Expr::col(Indicators::BaselineValue).is_null()),
                    )
                    .foreign_key(&mut restrict(
                        (Indicators::Table, Indicators::PlanId),
                        (Plans::Table, Plans::Id),
                    ))
                    .foreign_key(&mut restrict(
                        (Indicators::Table, Indicators::ObjectiveId),
                        (Objectives::Table, Objectives::Id),
                    ))
                    .foreign_key(&mut restrict(
                        (Indicators::Table, Indicators::ActivityId),
                        (Activities::Table, Activities::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_indicators_plan_code")
                    .table(Indicators::Table)
                    .col(Indicators::PlanId)
                    .col(Indicators::Code)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(IndicatorValues::Table)
                    .col(pk_auto(IndicatorValues::Id))
                    .col(integer(IndicatorValues::IndicatorId))
                    .col(integer(IndicatorValues::FiscalYear))
                    .col(big_integer_null(IndicatorValues::Target))
                    .col(big_integer_null(IndicatorValues::Actual))
                    .check(
                        Expr::col(IndicatorValues::Target)
                            .is_not_null()
                            .or(Expr::col(IndicatorValues::Actual).is_not_null()),
                    )
                    .check(value_in_range(IndicatorValues::Target))
                    .check(value_in_range(IndicatorValues::Actual))
                    .foreign_key(
                        ForeignKey::create()
                            .from(IndicatorValues::Table, IndicatorValues::IndicatorId)
                            .to(Indicators::Table, Indicators::Id)
                            .on_delete(ForeignKeyAction::Restrict)
                            .on_update(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_indicator_values_indicator_year")
                    .table(IndicatorValues::Table)
                    .col(IndicatorValues::IndicatorId)
                    .col(IndicatorValues::FiscalYear)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IndicatorValues::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Indicators::Table).to_owned())
            .await
    }
}
