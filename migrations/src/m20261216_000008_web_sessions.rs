//! Server-side sessions of the web UI, so that signing out, a password change and an admin's
//! "sign out everywhere" end a session at once: a copy of the cookie taken before is worth
//! nothing after, which a self-contained cookie could not promise before it expired.
//!
//! Each row is one signed-in browser. The cookie carries a random token; only its SHA-256 is
//! stored, so a copy of the database does not give anyone a working session. Times are whole
//! seconds since the Unix epoch, which both backends compare as plain integers. An ended
//! session's row is deleted; a user's rows go with the user.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebSessions {
    Table,
    Id,
    UserId,
    TokenHash,
    CreatedAt,
    LastSeenAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WebSessions::Table)
                    .col(big_pk_auto(WebSessions::Id))
                    .col(integer(WebSessions::UserId))
                    .col(text_uniq(WebSessions::TokenHash))
                    .col(big_integer(WebSessions::CreatedAt))
                    .col(big_integer(WebSessions::LastSeenAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebSessions::Table, WebSessions::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_web_sessions_user")
                    .table(WebSessions::Table)
                    .col(WebSessions::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WebSessions::Table).to_owned())
            .await
    }
}
