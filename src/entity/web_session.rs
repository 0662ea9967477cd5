//! A signed-in browser of the web UI. The cookie carries a random token; only its SHA-256
//! (hex) is stored. Times are whole seconds since the Unix epoch. A row is deleted when its
//! session ends (sign-out, a password change, "sign out everywhere") or is found expired.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "web_sessions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i32,
    #[sea_orm(unique)]
    pub token_hash: String,
    /// When the user signed in: the session ends 12 hours later whatever happens.
    pub created_at: i64,
    /// The last request seen, to at most a minute: the idle timeout counts from here.
    pub last_seen_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
