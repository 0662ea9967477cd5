//! The initial schema: the plan's records, users and tokens, idempotency keys and the audit
//! trail.
//!
//! Money columns are `BIGINT`: amounts in ten-thousandths, rates in 10⁻¹⁰ units (see the
//! app's `money` module for why). Keys, uniqueness, foreign keys and the closed vocabularies of
//! the contract are enforced here, by the database, so no code path can store what the
//! contract forbids. Recorded disbursements and audit entries are append-only: triggers refuse
//! any UPDATE or DELETE on them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The largest number of ten-thousandths an amount may hold: 14 integer and 4 fraction digits.
const MAX_AMOUNT_UNITS: i64 = 999_999_999_999_999_999;

#[derive(DeriveIden)]
enum Institutions {
    Table,
    Id,
    Code,
    Name,
    Kind,
    IatiRef,
}

#[derive(DeriveIden)]
enum FundingSources {
    Table,
    Id,
    Code,
    Name,
    DonorId,
    Kind,
    Currency,
}

#[derive(DeriveIden)]
enum Plans {
    Table,
    Id,
    Code,
    Title,
    Country,
    Currency,
    StartDate,
    EndDate,
    FiscalYearStartMonth,
}

#[derive(DeriveIden)]
enum Objectives {
    Table,
    Id,
    PlanId,
    Code,
    Title,
    ParentId,
}

#[derive(DeriveIden)]
enum Activities {
    Table,
    Id,
    PlanId,
    Code,
    Title,
    ObjectiveId,
    LeadInstitutionId,
    StartDate,
    EndDate,
    Status,
}

#[derive(DeriveIden)]
enum Obligations {
    Table,
    Id,
    PlanId,
    Code,
    Title,
    LegalBasis,
    InstitutionId,
    ActivityId,
    InForceFrom,
    AnnualMinimum,
    Currency,
}

#[derive(DeriveIden)]
enum BudgetLines {
    Table,
    Id,
    PlanId,
    Code,
    ActivityId,
    FundingSourceId,
    FiscalYear,
    Category,
    Amount,
    Currency,
    ObligationId,
}

#[derive(DeriveIden)]
enum Commitments {
    Table,
    Id,
    PlanId,
    Reference,
    FundingSourceId,
    ActivityId,
    Date,
    DueDate,
    Amount,
    Currency,
}

#[derive(DeriveIden)]
enum Disbursements {
    Table,
    Id,
    PlanId,
    Reference,
    BudgetLineId,
    Date,
    Amount,
    Currency,
    PayeeId,
    Description,
    ReversesId,
    RecordedAt,
    RecordedBy,
}

#[derive(DeriveIden)]
enum ExchangeRates {
    Table,
    Id,
    Date,
    Currency,
    QuoteCurrency,
    Rate,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    Role,
    InstitutionId,
    PasswordHash,
    CreatedAt,
    DisabledAt,
}

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Id,
    UserId,
    TokenHash,
    Label,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Id,
    UserId,
    Key,
    RequestHash,
    StatusCode,
    ResponseBody,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    RecordedAt,
    Actor,
    Action,
    Entity,
    EntityKey,
    Details,
    PrevHash,
    Hash,
}

/// `column IN ('a', 'b', …)`: a closed vocabulary of the contract.
fn one_of<C: IntoIden + 'static>(column: C, words: &[&str]) -> SimpleExpr {
    Expr::col(column).is_in(words.iter().map(|w| String::from(*w)))
}

fn amount_in_range<C: IntoIden + 'static>(column: C) -> SimpleExpr {
    Expr::col(column).between(-MAX_AMOUNT_UNITS, MAX_AMOUNT_UNITS)
}

fn currency_code<C: IntoIden + 'static>(column: C) -> SimpleExpr {
    Expr::expr(Func::char_length(Expr::col(column))).eq(3)
}

fn fk<T: IntoIden + 'static, C: IntoIden + 'static, P: IntoIden + 'static>(
    table: T,
    column: C,
    parent: P,
    parent_id: impl IntoIden + 'static,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, column)
        .to(parent, parent_id)
        .on_delete(ForeignKeyAction::Restrict)
        .on_update(ForeignKeyAction::Restrict)
        .to_owned()
}

fn unique_index<T: IntoIden + 'static>(
    name: &str,
    table: T,
    columns: Vec<DynIden>,
) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table).unique();
    for column in columns {
        index.col(column);
    }
    index.to_owned()
}

fn index<T: IntoIden + 'static>(
    name: &str,
    table: T,
    columns: Vec<DynIden>,
) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(column);
    }
    index.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Institutions::Table)
                    .col(pk_auto(Institutions::Id))
                    .col(text_uniq(Institutions::Code))
                    .col(text(Institutions::Name))
                    .col(text(Institutions::Kind))
                    .col(text_null(Institutions::IatiRef))
                    .check(one_of(
                        Institutions::Kind,
                        &[
                            "government",
                            "ngo",
                            "donor",
                            "multilateral",
                            "private",
                            "other",
                        ],
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(FundingSources::Table)
                    .col(pk_auto(FundingSources::Id))
                    .col(text_uniq(FundingSources::Code))
                    .col(text(FundingSources::Name))
                    .col(integer_null(FundingSources::DonorId))
                    .col(text(FundingSources::Kind))
                    .col(text(FundingSources::Currency))
                    .check(one_of(
                        FundingSources::Kind,
                        &["state_budget", "donor_grant", "loan", "other"],
                    ))
                    .check(currency_code(FundingSources::Currency))
                    .foreign_key(&mut fk(
                        FundingSources::Table,
                        FundingSources::DonorId,
                        Institutions::Table,
                        Institutions::Id,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Plans::Table)
                    .col(pk_auto(Plans::Id))
                    .col(text_uniq(Plans::Code))
                    .col(text(Plans::Title))
                    .col(text(Plans::Country))
                    .col(text(Plans::Currency))
                    .col(date(Plans::StartDate))
                    .col(date(Plans::EndDate))
                    .col(integer(Plans::FiscalYearStartMonth))
                    .check(currency_code(Plans::Currency))
                    .check(Expr::expr(Func::char_length(Expr::col(Plans::Country))).eq(2))
                    .check(Expr::col(Plans::FiscalYearStartMonth).between(1, 12))
                    .check(Expr::col(Plans::StartDate).lte(Expr::col(Plans::EndDate)))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Objectives::Table)
                    .col(pk_auto(Objectives::Id))
                    .col(integer(Objectives::PlanId))
                    .col(text(Objectives::Code))
                    .col(text(Objectives::Title))
                    .col(integer_null(Objectives::ParentId))
                    .foreign_key(&mut fk(
                        Objectives::Table,
                        Objectives::PlanId,
                        Plans::Table,
                        Plans::Id,
                    ))
                    .foreign_key(&mut fk(
                        Objectives::Table,
                        Objectives::ParentId,
                        Objectives::Table,
                        Objectives::Id,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Activities::Table)
                    .col(pk_auto(Activities::Id))
                    .col(integer(Activities::PlanId))
                    .col(text(Activities::Code))
                    .col(text(Activities::Title))
                    .col(integer(Activities::ObjectiveId))
                    .col(integer(Activities::LeadInstitutionId))
                    .col(date(Activities::StartDate))
                    .col(date(Activities::EndDate))
                    .col(text(Activities::Status))
                    .check(one_of(
                        Activities::Status,
                        &["planned", "ongoing", "completed", "cancelled"],
                    ))
                    .check(Expr::col(Activities::StartDate).lte(Expr::col(Activities::EndDate)))
                    .foreign_key(&mut fk(
                        Activities::Table,
                        Activities::PlanId,
                        Plans::Table,
                        Plans::Id,
                    ))
                    .foreign_key(&mut fk(
                        Activities::Table,
                        Activities::ObjectiveId,
                        Objectives::Table,
                        Objectives::Id,
                    ))
                    .foreign_key(&mut fk(
                        Activities::Table,
                        Activities::LeadInstitutionId,
                        Institutions::Table,
                        Institutions::Id,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Obligations::Table)
                    .col(pk_auto(Obligations::Id))
                    .col(integer(Obligations::PlanId))
                    .col(text(Obligations::Code))
                    .col(text(Obligations::Title))
                    .col(text(Obligations::LegalBasis))
                    .col(integer(Obligations::InstitutionId))
                    .col(integer_null(Obligations::ActivityId))
                    .col(date(Obligations::InForceFrom))
                    .col(big_integer_null(Obligations::AnnualMinimum))
                    .col(text_null(Obligations::Currency))
                    .check(
                        Expr::col(Obligations::AnnualMinimum)
                            .is_null()
                            .or(Expr::col(Obligations::AnnualMinimum).between(0, MAX_AMOUNT_UNITS)),
                    )
                    .check(
                        Expr::col(Obligations::Currency)
                            .is_null()
                            .or(currency_code(Obligations::Currency)),
                    )
                    .foreign_key(&mut fk(
                        Obligations::Table,
                        Obligations::PlanId,
                        Plans::Table,
                        Plans::Id,
                    ))
                    .foreign_key(&mut fk(
                        Obligations::Table,
                        Obligations::InstitutionId,
                        Institutions::Table,
                        Institutions::Id,
                    ))
                    .foreign_key(&mut fk(
                        Obligations::Table,
                        Obligations::ActivityId,
                        Activities::Table,
                        Activities::Id,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(BudgetLines::Table)
                    .col(pk_auto(BudgetLines::Id))
                    .col(integer(BudgetLines::PlanId))
                    .col(text(BudgetLines::Code))
                    .col(integer(BudgetLines::ActivityId))
                    .col(integer(BudgetLines::FundingSourceId))
                    .col(integer(BudgetLines::FiscalYear))
                    .col(text(BudgetLines::Category))
                    .col(big_integer(BudgetLines::Amount))
                    .col(text(BudgetLines::Currency))
                    .col(integer_null(BudgetLines::ObligationId))
                    .check(Expr::col(BudgetLines::Amount).between(0, MAX_AMOUNT_UNITS))
                    .check(currency_code(BudgetLines::Currency))
                    .check(Expr::col(BudgetLines::FiscalYear).between(1900, 2999))
                    .foreign_key(&mut fk(
                        BudgetLines::Table,
                        BudgetLines::PlanId,
                        Plans::Table,
                        Plans::Id,
                    ))
                    .foreign_key(&mut fk(
                        BudgetLines::Table,
                        BudgetLines::ActivityId,
                        Activities::Table,
                        Activities::Id,
                    ))
                    .foreign_key(&mut fk(
                        BudgetLines::Table,
                        BudgetLines::FundingSourceId,
                        FundingSources::Table,
                        FundingSources::Id,
                    ))
                    .foreign_key(&mut fk(
                        BudgetLines::Table,
                        BudgetLines::ObligationId,
                        Obligations::Table,
                        Obligations::Id,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Commitments::Table)
                    .col(pk_auto(Commitments::Id))
                    .col(integer(Commitments::PlanId))
                    .col(text(Commitments::Reference))
                    .col(integer(Commitments::FundingSourceId))
                    .col(integer(Commitments::ActivityId))
                    .col(date(Commitments::Date))
                    .col(date_null(Commitments::DueDate))
                    .col(big_integer(Commitments::Amount))
                    .col(text(Commitments::Currency))
                    .check(amount_in_range(Commitments::Amount))
                    .check(currency_code(Commitments::Currency))
                    .foreign_key(&mut fk(
                        Commitments::Table,
                        Commitments::PlanId,
                        Plans::Table,
                        Plans::Id,
                    ))
                    .foreign_key(&mut fk(
                        Commitments::Table,
                        Commitments::FundingSourceId,
                        FundingSources::Table,
                        FundingSources::Id,
                    ))
                    .foreign_key(&mut fk(
                        Commitments::Table,
                        Commitments::ActivityId,
                        Activities::Table,
                        Activities::Id,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(pk_auto(Users::Id))
                    .col(text_uniq(Users::Email))
                    .col(text(Users::Role))
                    .col(integer_null(Users::InstitutionId))
                    .col(text_null(Users::PasswordHash))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone_null(Users::DisabledAt))
                    .check(one_of(
                        Users::Role,
                        &["admin", "recorder", "donor", "auditor"],
                    ))
                    .foreign_key(&mut fk(
                        Users::Table,
                        Users::InstitutionId,
                        Institutions::Table,
                        Institutions::Id,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Disbursements::Table)
                    .col(big_pk_auto(Disbursements::Id))
                    .col(integer(Disbursements::PlanId))
                    .col(text(Disbursements::Reference))
                    .col(integer(Disbursements::BudgetLineId))
                    .col(date(Disbursements::Date))
                    .col(big_integer(Disbursements::Amount))
                    .col(text(Disbursements::Currency))
                    .col(integer_null(Disbursements::PayeeId))
                    .col(text_null(Disbursements::Description))
                    .col(big_integer_null(Disbursements::ReversesId))
                    .col(timestamp_with_time_zone(Disbursements::RecordedAt))
                    .col(integer_null(Disbursements::RecordedBy))
                    .check(amount_in_range(Disbursements::Amount))
                    .check(Expr::col(Disbursements::Amount).ne(0))
                    .check(currency_code(Disbursements::Currency))
                    // A reversal takes money back: its amount is negative, and only a reversal's is.
                    .check(
                        Expr::col(Disbursements::ReversesId)
                            .is_null()
                            .and(Expr::col(Disbursements::Amount).gt(0))
                            .or(Expr::col(Disbursements::ReversesId)
                                .is_not_null()
                                .and(Expr::col(Disbursements::Amount).lt(0))),
                    )
                    .foreign_key(&mut fk(
                        Disbursements::Table,
                        Disbursements::PlanId,
                        Plans::Table,
                        Plans::Id,
                    ))
                    .foreign_key(&mut fk(
                        Disbursements::Table,
                        Disbursements::BudgetLineId,
                        BudgetLines::Table,
                        BudgetLines::Id,
                    ))
                    .foreign_key(&mut fk(
                        Disbursements::Table,
                        Disbursements::PayeeId,
                        Institutions::Table,
                        Institutions::Id,
                    ))
                    .foreign_key(&mut fk(
                        Disbursements::Table,
                        Disbursements::ReversesId,
                        Disbursements::Table,
                        Disbursements::Id,
                    ))
                    .foreign_key(&mut fk(
                        Disbursements::Table,
                        Disbursements::RecordedBy,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ExchangeRates::Table)
                    .col(pk_auto(ExchangeRates::Id))
                    .col(date(ExchangeRates::Date))
                    .col(text(ExchangeRates::Currency))
                    .col(text(ExchangeRates::QuoteCurrency))
                    .col(big_integer(ExchangeRates::Rate))
                    .check(Expr::col(ExchangeRates::Rate).gt(0))
                    .check(currency_code(ExchangeRates::Currency))
                    .check(currency_code(ExchangeRates::QuoteCurrency))
                    .check(
                        Expr::col(ExchangeRates::Currency)
                            .ne(Expr::col(ExchangeRates::QuoteCurrency)),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .col(pk_auto(ApiTokens::Id))
                    .col(integer(ApiTokens::UserId))
                    .col(text_uniq(ApiTokens::TokenHash))
                    .col(text_null(ApiTokens::Label))
                    .col(timestamp_with_time_zone(ApiTokens::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiTokens::LastUsedAt))
                    .col(timestamp_with_time_zone_null(ApiTokens::RevokedAt))
                    .foreign_key(&mut fk(
                        ApiTokens::Table,
                        ApiTokens::UserId,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(pk_auto(IdempotencyKeys::Id))
                    .col(integer(IdempotencyKeys::UserId))
                    .col(text(IdempotencyKeys::Key))
                    .col(text(IdempotencyKeys::RequestHash))
                    .col(integer_null(IdempotencyKeys::StatusCode))
                    .col(text_null(IdempotencyKeys::ResponseBody))
                    .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                    .foreign_key(&mut fk(
                        IdempotencyKeys::Table,
                        IdempotencyKeys::UserId,
                        Users::Table,
                        Users::Id,
                    ))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(big_pk_auto(AuditLog::Id))
                    .col(text(AuditLog::RecordedAt))
                    .col(text(AuditLog::Actor))
                    .col(text(AuditLog::Action))
                    .col(text(AuditLog::Entity))
                    .col(text(AuditLog::EntityKey))
                    .col(text(AuditLog::Details))
                    // Unique, so two writers can never fork the chain from the same entry.
                    .col(text_uniq(AuditLog::PrevHash))
                    .col(text_uniq(AuditLog::Hash))
                    .to_owned(),
            )
            .await?;

        let unique = [
            unique_index(
                "ux_objectives_plan_code",
                Objectives::Table,
                vec![Objectives::PlanId.into_iden(), Objectives::Code.into_iden()],
            ),
            unique_index(
                "ux_activities_plan_code",
                Activities::Table,
                vec![Activities::PlanId.into_iden(), Activities::Code.into_iden()],
            ),
            unique_index(
                "ux_obligations_plan_code",
                Obligations::Table,
                vec![
                    Obligations::PlanId.into_iden(),
                    Obligations::Code.into_iden(),
                ],
            ),
            unique_index(
                "ux_budget_lines_plan_code",
                BudgetLines::Table,
                vec![
                    BudgetLines::PlanId.into_iden(),
                    BudgetLines::Code.into_iden(),
                ],
            ),
            unique_index(
                "ux_commitments_plan_reference",
                Commitments::Table,
                vec![
                    Commitments::PlanId.into_iden(),
                    Commitments::Reference.into_iden(),
                ],
            ),
            unique_index(
                "ux_disbursements_plan_reference",
                Disbursements::Table,
                vec![
                    Disbursements::PlanId.into_iden(),
                    Disbursements::Reference.into_iden(),
                ],
            ),
            unique_index(
                "ux_exchange_rates_date_pair",
                ExchangeRates::Table,
                vec![
                    ExchangeRates::Currency.into_iden(),
                    ExchangeRates::QuoteCurrency.into_iden(),
                    ExchangeRates::Date.into_iden(),
                ],
            ),
            unique_index(
                "ux_idempotency_keys_user_key",
                IdempotencyKeys::Table,
                vec![
                    IdempotencyKeys::UserId.into_iden(),
                    IdempotencyKeys::Key.into_iden(),
                ],
            ),
        ];
        // The reports aggregate disbursements by budget line and by date, and budget lines by
        // activity, funding source and fiscal year.
        let reporting = [
            index(
                "ix_disbursements_budget_line_date",
                Disbursements::Table,
                vec![
                    Disbursements::BudgetLineId.into_iden(),
                    Disbursements::Date.into_iden(),
                ],
            ),
            index(
                "ix_disbursements_plan_date",
                Disbursements::Table,
                vec![
                    Disbursements::PlanId.into_iden(),
                    Disbursements::Date.into_iden(),
                ],
            ),
            index(
                "ix_disbursements_reverses",
                Disbursements::Table,
                vec![Disbursements::ReversesId.into_iden()],
            ),
            index(
                "ix_budget_lines_activity",
                BudgetLines::Table,
                vec![
                    BudgetLines::ActivityId.into_iden(),
                    BudgetLines::FiscalYear.into_iden(),
                ],
            ),
            index(
                "ix_budget_lines_funding_source",
                BudgetLines::Table,
                vec![
                    BudgetLines::FundingSourceId.into_iden(),
                    BudgetLines::FiscalYear.into_iden(),
                ],
            ),
            index(
                "ix_budget_lines_plan_year",
                BudgetLines::Table,
                vec![
                    BudgetLines::PlanId.into_iden(),
                    BudgetLines::FiscalYear.into_iden(),
                ],
            ),
            index(
                "ix_commitments_activity",
                Commitments::Table,
                vec![
                    Commitments::ActivityId.into_iden(),
                    Commitments::FundingSourceId.into_iden(),
                ],
            ),
            index(
                "ix_api_tokens_user",
                ApiTokens::Table,
                vec![ApiTokens::UserId.into_iden()],
            ),
        ];
        for statement in unique.into_iter().chain(reporting) {
            manager.create_index(statement).await?;
        }

        for table in ["disbursements", "audit_log"] {
            for sql in append_only_triggers(manager.get_database_backend(), table) {
                manager
                    .get_connection()
                    .execute_raw(Statement::from_string(manager.get_database_backend(), sql))
                    .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        if backend == DbBackend::Postgres {
            for table in ["disbursements", "audit_log"] {
                manager
                    .get_connection()
                    .execute_raw(Statement::from_string(
                        backend,
                        format!("DROP TRIGGER IF EXISTS {table}_append_only ON {table}"),
                    ))
                    .await?;
            }
        }
        for table in [
            AuditLog::Table.into_iden(),
            IdempotencyKeys::Table.into_iden(),
            ApiTokens::Table.into_iden(),
            ExchangeRates::Table.into_iden(),
            Disbursements::Table.into_iden(),
            Users::Table.into_iden(),
            Commitments::Table.into_iden(),
            BudgetLines::Table.into_iden(),
            Obligations::Table.into_iden(),
            Activities::Table.into_iden(),
            Objectives::Table.into_iden(),
            Plans::Table.into_iden(),
            FundingSources::Table.into_iden(),
            Institutions::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        if backend == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_raw(Statement::from_string(
                    backend,
                    "DROP FUNCTION IF EXISTS naptrack_append_only()".to_owned(),
                ))
                .await?;
        }
        Ok(())
    }
}

/// Triggers that refuse any UPDATE or DELETE on `table`: a ledger corrects by new entries.
fn append_only_triggers(backend: DbBackend, table: &str) -> Vec<String> {
    let message = format!("{table} is append-only: recorded entries are never changed or deleted");
    match backend {
        DbBackend::Postgres => vec![
            format!(
                "CREATE OR REPLACE FUNCTION naptrack_append_only() RETURNS trigger \
                 LANGUAGE plpgsql AS $$ BEGIN \
                 RAISE EXCEPTION '% is append-only: recorded entries are never changed or deleted', \
                 TG_TABLE_NAME USING ERRCODE = 'restrict_violation'; END $$"
            ),
            format!(
                "CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION naptrack_append_only()"
            ),
        ],
        _ => vec![
            format!(
                "CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} \
                 BEGIN SELECT RAISE(ABORT, '{message}'); END"
            ),
            format!(
                "CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} \
                 BEGIN SELECT RAISE(ABORT, '{message}'); END"
            ),
        ],
    }
}
