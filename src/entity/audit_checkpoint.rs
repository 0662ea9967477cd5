//! One signed checkpoint of the audit trail: the head it signs (entry count and last hash),
//! when it was signed, and the Ed25519 public key and signature, in lower-case hex. See
//! [`crate::service::checkpoints`] for the signed bytes.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_checkpoints")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub entries: i64,
    pub head_hash: String,
    /// RFC 3339 in UTC, kept as text: these are the bytes that were signed.
    pub signed_at: String,
    pub public_key: String,
    pub signature: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
