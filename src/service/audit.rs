//! The tamper-evident audit trail.
//!
//! Every write (an API call, an import, a change to users or tokens) appends one entry in the
//! same transaction as the write, so an entry exists exactly when its write was committed.
//! Each entry carries the SHA-256 of the previous entry and its own SHA-256 over its sequence
//! number, time, actor, action, record type, key, details and that previous hash. Changing,
//! inserting or deleting any past entry breaks the chain, and `verify` names the first entry
//! where it breaks. (Removing entries from the end, or rewriting the trail from some entry on
//! with every later hash recomputed, leaves a valid chain; signed checkpoints of the head,
//! [`crate::service::checkpoints`], catch both.)
//!
//! Appends are serialised: SQLite has one writer at a time, and on PostgreSQL the app's write
//! lock (see [`crate::db::lock_writers`]) is held to the end of the transaction; a unique index
//! on the previous hash makes a fork impossible either way.

use chrono::{NaiveDate, SecondsFormat, Utc};
use futures_util::TryStreamExt;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, StreamTrait,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use std::collections::HashMap;

use crate::entity::audit_entry;
use crate::error::Result;
use crate::service::trail;

/// The previous hash of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One thing that happened, before it is chained.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub key: String,
    pub details: serde_json::Value,
}

impl AuditEvent {
    pub fn new(
        actor: &str,
        action: &str,
        entity: &str,
        key: &str,
        details: serde_json::Value,
    ) -> Self {
        AuditEvent {
            actor: actor.to_owned(),
            action: action.to_owned(),
            entity: entity.to_owned(),
            key: key.to_owned(),
            details,
        }
    }
}

/// The hash of an entry: SHA-256 over its fields, separated by a byte that text fields of
/// the app cannot end with unnoticed (the unit separator), in a fixed order.
fn entry_hash(entry: &audit_entry::Model) -> String {
    let mut hasher = Sha256::new();
    for field in [
        entry.id.to_string().as_str(),
        &entry.recorded_at,
        &entry.actor,
        &entry.action,
        &entry.entity,
        &entry.entity_key,
        &entry.details,
        &entry.prev_hash,
    ] {
        hasher.update(field.len().to_string().as_bytes());
        hasher.update(b"\x1f");
        hasher.update(field.as_bytes());
        hasher.update(b"\x1e");
    }
    hex(&hasher.finalize())
}

/// Lower-case hexadecimal of `bytes`, as hashes and tokens are written.
pub fn hex(bytes: &[u8]) -> String {
    ::hex::encode(bytes)
}

/// The last entry's sequence number and hash: which version of the data the database holds.
/// Every write appends an entry, so the head changes exactly when something was written; the
/// hash covers the entry's time, so a restore that brings back an older trail and appends to
/// it gives a head never seen before.
pub async fn head<C: ConnectionTrait>(conn: &C) -> Result<Option<(i64, String)>> {
    Ok(audit_entry::Entity::find()
        .select_only()
        .column(audit_entry::Column::Id)
        .column(audit_entry::Column::Hash)
        .order_by_desc(audit_entry::Column::Id)
        .into_tuple()
        .one(conn)
        .await?)
}

/// The stored hash of entry `id`, when the trail holds that entry.
///
/// Read as stored, not recomputed: it means what the entry says only once [`verify`] has
/// found the chain up to `id` intact (a signed checkpoint is compared with it that way).
pub async fn stored_hash<C: ConnectionTrait>(conn: &C, id: i64) -> Result<Option<String>> {
    Ok(audit_entry::Entity::find_by_id(id)
        .select_only()
        .column(audit_entry::Column::Hash)
        .into_tuple()
        .one(conn)
        .await?)
}

/// Appends `event` to the trail inside the caller's transaction.
///
/// Call it in the transaction of the write it records, after the write succeeded, so the
/// entry commits or rolls back with it.
pub async fn append<C: ConnectionTrait>(conn: &C, event: AuditEvent) -> Result<audit_entry::Model> {
    crate::db::lock_writers(conn).await?;
    let (id, prev_hash) = match head(conn).await? {
        Some((id, hash)) => (id + 1, hash),
        None => (1, GENESIS_HASH.to_owned()),
    };
    let mut entry = audit_entry::Model {
        id,
        recorded_at: Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true),
        actor: event.actor,
        action: event.action,
        entity: event.entity,
        entity_key: event.key,
        details: event.details.to_string(),
        prev_hash,
        hash: String::new(),
    };
    entry.hash = entry_hash(&entry);
    let model = audit_entry::ActiveModel {
        id: Set(entry.id),
        recorded_at: Set(entry.recorded_at.clone()),
        actor: Set(entry.actor.clone()),
        action: Set(entry.action.clone()),
        entity: Set(entry.entity.clone()),
        entity_key: Set(entry.entity_key.clone()),
        details: Set(entry.details.clone()),
        prev_hash: Set(entry.prev_hash.clone()),
        hash: Set(entry.hash.clone()),
    };
    Ok(model.insert(conn).await?)
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
#[schema(as = AuditVerification)]
pub enum Verification {
    /// Every entry checks out; `head` is the last entry's hash (the genesis hash if none).
    Intact { entries: u64, head: String },
    /// The first entry where the chain breaks, and why.
    Broken { entry: i64, reason: String },
    /// The chain is intact, but a record is not what the trail says it is: the first such
    /// record (its kind and key), the entry that last wrote it, and why.
    Differs {
        kind: String,
        key: String,
        entry: Option<i64>,
        reason: String,
    },
}

/// Walks the whole trail in sequence order and checks every link, streaming the entries;
/// then checks the rows of records the entries wrote against their digests, and the records
/// themselves against the last rows the trail holds for them ([`trail::verify_records`]).
pub async fn verify<C: ConnectionTrait + StreamTrait>(conn: &C) -> Result<Verification> {
    let (chain, expected) = chain_and_digests(conn).await?;
    if !matches!(chain, Verification::Intact { .. }) {
        return Ok(chain);
    }
    if let Some((entry, reason)) = trail::verify_rows(conn, expected).await? {
        return Ok(Verification::Broken { entry, reason });
    }
    if let Some(difference) = trail::verify_records(conn).await? {
        return Ok(Verification::Differs {
            kind: difference.kind,
            key: difference.key,
            entry: difference.entry,
            reason: difference.reason,
        });
    }
    Ok(chain)
}

/// The chain's verdict alone, without the records: what a checkpoint vouches for.
pub async fn verify_chain<C: ConnectionTrait + StreamTrait>(conn: &C) -> Result<Verification> {
    Ok(chain_and_digests(conn).await?.0)
}

/// The chain's verdict, and the digest of the records each entry wrote (from its details).
async fn chain_and_digests<C: ConnectionTrait + StreamTrait>(
    conn: &C,
) -> Result<(Verification, HashMap<i64, trail::RowsDigest>)> {
    let mut digests = HashMap::new();
    let mut entries = audit_entry::Entity::find()
        .order_by_asc(audit_entry::Column::Id)
        .stream(conn)
        .await?;
    let mut expected_id: i64 = 1;
    let mut prev_hash = GENESIS_HASH.to_owned();
    while let Some(entry) = entries.try_next().await? {
        if entry.id != expected_id {
            let reason = if entry.id > expected_id {
                format!(
                    "entry {expected_id} is missing: the next entry is {}",
                    entry.id
                )
            } else {
                format!("entry {} is out of sequence", entry.id)
            };
            return Ok((
                Verification::Broken {
                    entry: expected_id,
                    reason,
                },
                digests,
            ));
        }
        if entry.prev_hash != prev_hash {
            return Ok((
                Verification::Broken {
                    entry: entry.id,
                    reason: "its link to the previous entry does not match: an earlier entry was changed, removed or inserted".to_owned(),
                },
                digests,
            ));
        }
        if entry_hash(&entry) != entry.hash {
            return Ok((
                Verification::Broken {
                    entry: entry.id,
                    reason: "its content does not match its hash: the entry was changed".to_owned(),
                },
                digests,
            ));
        }
        if let Some(digest) = rows_digest(&entry.details) {
            digests.insert(entry.id, digest);
        }
        prev_hash = entry.hash;
        expected_id += 1;
    }
    Ok((
        Verification::Intact {
            entries: (expected_id - 1) as u64,
            head: prev_hash,
        },
        digests,
    ))
}

/// The digest of the records an entry wrote, from its details' `trail_rows`.
fn rows_digest(details: &str) -> Option<trail::RowsDigest> {
    if !details.contains("trail_rows") {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(details).ok()?;
    let rows = value.get("trail_rows")?;
    Some(trail::RowsDigest {
        count: rows.get("count")?.as_u64()?,
        sha256: rows.get("sha256")?.as_str()?.to_owned(),
    })
}

/// The sequence number the next entry will get, with the writers' lock taken: an import
/// that writes the rows of its records before its entry names them with it.
pub async fn next_id<C: ConnectionTrait>(conn: &C) -> Result<i64> {
    crate::db::lock_writers(conn).await?;
    Ok(head(conn).await?.map_or(1, |(id, _)| id + 1))
}

/// Which entries of the trail to list: each field given must match exactly, and `from` and
/// `to` bound the day of `recorded_at` (both days included).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub entity: Option<String>,
    pub key: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// A record's key as the trail names it (`NAP-2015/BL-2016-001`) or its last part alone
    /// (`BL-2016-001`, the code without its plan).
    pub record: Option<String>,
}

/// The order entries are listed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditOrder {
    /// In sequence order, as the chain runs.
    OldestFirst,
    /// The latest first, as a reader of recent activity wants.
    NewestFirst,
}

/// One page of a listing of the trail.
#[derive(Debug, Clone)]
pub struct AuditPage {
    /// How many entries match the filter, over every page.
    pub total: u64,
    pub entries: Vec<audit_entry::Model>,
}

/// The entries that match `filter`, in `order`, at most `limit` of them after skipping
/// `offset`, with the number that match in all.
///
/// Read-only. Entries are ordered by sequence number, which is unique, so pages neither
/// overlap nor skip an entry while the trail is unchanged. `recorded_at` is RFC 3339 text in
/// UTC, so the day bounds compare it as text.
pub async fn entries<C: ConnectionTrait>(
    conn: &C,
    filter: &AuditFilter,
    order: AuditOrder,
    limit: u64,
    offset: u64,
) -> Result<AuditPage> {
    let mut query = audit_entry::Entity::find();
    for (value, column) in [
        (&filter.actor, audit_entry::Column::Actor),
        (&filter.action, audit_entry::Column::Action),
        (&filter.entity, audit_entry::Column::Entity),
        (&filter.key, audit_entry::Column::EntityKey),
    ] {
        if let Some(value) = value {
            query = query.filter(column.eq(value.as_str()));
        }
    }
    if let Some(record) = &filter.record {
        query = query.filter(
            Condition::any()
                .add(audit_entry::Column::EntityKey.eq(record.as_str()))
                .add(audit_entry::Column::EntityKey.ends_with(format!("/{record}"))),
        );
    }
    if let Some(from) = filter.from {
        query =
            query.filter(audit_entry::Column::RecordedAt.gte(from.format("%Y-%m-%d").to_string()));
    }
    if let Some(to) = filter.to {
        let next = to.succ_opt().unwrap_or(to);
        query =
            query.filter(audit_entry::Column::RecordedAt.lt(next.format("%Y-%m-%d").to_string()));
    }
    let total = query.clone().count(conn).await?;
    let query = match order {
        AuditOrder::OldestFirst => query.order_by_asc(audit_entry::Column::Id),
        AuditOrder::NewestFirst => query.order_by_desc(audit_entry::Column::Id),
    };
    let entries = query.limit(limit).offset(offset).all(conn).await?;
    Ok(AuditPage { total, entries })
}

/// Entry `id`, if the trail holds it.
pub async fn entry<C: ConnectionTrait>(conn: &C, id: i64) -> Result<Option<audit_entry::Model>> {
    Ok(audit_entry::Entity::find_by_id(id).one(conn).await?)
}

/// The actors and the record types the trail names, each sorted, at most `limit` of each:
/// what a filter of the trail offers to pick from.
pub async fn names<C: ConnectionTrait>(conn: &C, limit: u64) -> Result<(Vec<String>, Vec<String>)> {
    let mut lists = Vec::new();
    for column in [audit_entry::Column::Actor, audit_entry::Column::Entity] {
        let names: Vec<String> = audit_entry::Entity::find()
            .select_only()
            .column(column)
            .distinct()
            .order_by_asc(column)
            .limit(limit)
            .into_tuple()
            .all(conn)
            .await?;
        lists.push(names);
    }
    let entities = lists.pop().unwrap_or_default();
    let actors = lists.pop().unwrap_or_default();
    Ok((actors, entities))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> audit_entry::Model {
        audit_entry::Model {
            id: 1,
            recorded_at: "2026-01-01T00:00:00.000000Z".into(),
            actor: "cli".into(),
            action: "import".into(),
            entity: "disbursements".into(),
            entity_key: "d.csv".into(),
            details: "{}".into(),
            prev_hash: GENESIS_HASH.into(),
            hash: String::new(),
        }
    }

    #[test]
    fn the_hash_covers_every_field() {
        let original = entry_hash(&entry());
        let mut changed = entry();
        changed.details = "{ }".into();
        assert_ne!(entry_hash(&changed), original);
        let mut changed = entry();
        changed.id = 2;
        assert_ne!(entry_hash(&changed), original);
        let mut changed = entry();
        changed.prev_hash = "1".repeat(64);
        assert_ne!(entry_hash(&changed), original);
    }

    #[test]
    fn moving_text_between_fields_changes_the_hash() {
        let mut a = entry();
        a.actor = "ab".into();
        a.action = "c".into();
        let mut b = entry();
        b.actor = "a".into();
        b.action = "bc".into();
        assert_ne!(entry_hash(&a), entry_hash(&b));
    }
}
