//! One entry of the tamper-evident audit trail. Each entry's hash covers its content and
//! the previous entry's hash, so changing or removing any entry breaks the chain.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// RFC 3339 in UTC, kept as text so the hashed bytes are the same on every backend.
    pub recorded_at: String,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_key: String,
    /// JSON.
    pub details: String,
    pub prev_hash: String,
    #[sea_orm(unique)]
    pub hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
