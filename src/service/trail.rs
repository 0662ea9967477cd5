//! What the audit trail says each record is, and whether the records still are that.
//!
//! Every entry that writes records also writes, in the same transaction, one row of the table
//! `audit_rows` per record it created or changed: the record's key and the SHA-256 of the
//! record as the contract shows it (its CSV cells, references as codes). The entry's details
//! carry the count and a digest of those rows (`trail_rows`), so the rows are covered by the
//! hash chain: a row changed, added or removed in `audit_rows` breaks its entry's digest.
//!
//! [`verify_records`] then checks the records against the trail in one streaming pass per
//! kind: every record must be exactly what the last row the trail holds for it says, and
//! nothing may exist that the trail does not know, nor be missing that it does. It names the
//! first record that differs, and the entry that last wrote it.
//!
//! A file import does not know the canonical form of each record it wrote until it reads them
//! back, so it compares the whole kind with the trail once before it writes (refusing to build
//! on records that already differ, which would otherwise be taken up as if the import had
//! written them) and once after, taking up as its own rows exactly the records that changed.
//! A record written alone (API, web form, reversal) is read back and hashed by itself.

use std::collections::HashMap;

use futures_util::TryStreamExt;
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder, Statement, StreamTrait, Value};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::db::{self, Binds};
use crate::domain::records::RecordKind;
use crate::entity::plan;
use crate::error::{Error, Result};
use crate::service::audit::hex;
use crate::service::records::{self, Query, Record};

/// The key that names a record in the trail: its plan's code (for kinds of a plan) and its
/// key columns, joined by `/` (`NAP-2015/D-2016-0001`).
pub fn record_key(record: &Record) -> String {
    let mut parts = Vec::new();
    if record.kind.is_plan_scoped()
        && let Some(plan) = record.get("plan_code")
    {
        parts.push(plan.csv_text().into_owned());
    }
    for column in records::key_columns(record.kind) {
        if let Some(cell) = record.get(column) {
            parts.push(cell.csv_text().into_owned());
        }
    }
    parts.join("/")
}

/// The SHA-256 of a record as the contract shows it: its kind and each cell's CSV text, each
/// preceded by its length, so that no two different records hash alike by moving text from
/// one cell to the next.
pub fn record_hash(record: &Record) -> String {
    hex(&record_hash_bytes(record))
}

/// [`record_hash`] as its 32 bytes.
fn record_hash_bytes(record: &Record) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(record.kind.name().as_bytes());
    for cell in &record.cells {
        let text = cell.csv_text();
        hasher.update(b"\x1e");
        hasher.update(text.len().to_string().as_bytes());
        hasher.update(b"\x1f");
        hasher.update(text.as_bytes());
    }
    hasher.finalize().into()
}

/// The count and digest of the rows an entry wrote, as its details carry them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RowsDigest {
    pub count: u64,
    pub sha256: String,
}

/// Folds an entry's rows, in the order they were written, into its [`RowsDigest`].
#[derive(Default)]
struct DigestBuilder {
    count: u64,
    hasher: Sha256,
}

impl DigestBuilder {
    fn add(&mut self, key: &str, hash: &str) {
        self.count += 1;
        self.hasher.update(key.len().to_string().as_bytes());
        self.hasher.update(b"\x1f");
        self.hasher.update(key.as_bytes());
        self.hasher.update(b"\x1e");
        self.hasher.update(hash.as_bytes());
        self.hasher.update(b"\x1e");
    }

    fn finish(self) -> RowsDigest {
        RowsDigest {
            count: self.count,
            sha256: hex(&self.hasher.finalize()),
        }
    }
}

impl RowsDigest {
    /// The digest as an entry's details carry it, under `trail_rows`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"count": self.count, "sha256": self.sha256})
    }
}

/// Rows per multi-row INSERT into `audit_rows` (4 values a row).
const BATCH_ROWS: usize = db::MAX_BIND_PARAMETERS / 4;

/// Writes the trail's rows for entry `entry_id` in batches, and digests them in that order.
struct RowWriter<'a, C> {
    conn: &'a C,
    entry_id: i64,
    entity: &'static str,
    pending: Vec<(String, String)>,
    digest: DigestBuilder,
}

impl<'a, C: ConnectionTrait> RowWriter<'a, C> {
    fn new(conn: &'a C, entry_id: i64, kind: RecordKind) -> Self {
        RowWriter {
            conn,
            entry_id,
            entity: kind.name(),
            pending: Vec::new(),
            digest: DigestBuilder::default(),
        }
    }

    async fn push(&mut self, key: String, hash: String) -> Result<()> {
        self.digest.add(&key, &hash);
        self.pending.push((key, hash));
        if self.pending.len() >= BATCH_ROWS {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let backend = self.conn.get_database_backend();
        let rows = std::mem::take(&mut self.pending);
        let sql = db::insert_sql(
            backend,
            "audit_rows",
            &["entry_id", "entity", "entity_key", "row_hash"],
            rows.len(),
        );
        let mut values = Vec::with_capacity(rows.len() * 4);
        for (key, hash) in rows {
            values.push(Value::from(self.entry_id));
            values.push(Value::from(self.entity));
            values.push(Value::from(key));
            values.push(Value::from(hash));
        }
        self.conn
            .execute_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
        Ok(())
    }

    async fn finish(mut self) -> Result<RowsDigest> {
        self.flush().await?;
        Ok(self.digest.finish())
    }
}

/// Writes the trail's row for one record written alone, by entry `entry_id`.
pub async fn record_one<C: ConnectionTrait>(
    conn: &C,
    entry_id: i64,
    record: &Record,
) -> Result<RowsDigest> {
    let mut writer = RowWriter::new(conn, entry_id, record.kind);
    writer.push(record_key(record), record_hash(record)).await?;
    writer.finish().await
}

/// The digest of one record's row, before it is written: for the details of the entry that
/// writes it.
pub fn digest_of(record: &Record) -> RowsDigest {
    let mut digest = DigestBuilder::default();
    digest.add(&record_key(record), &record_hash(record));
    digest.finish()
}

/// One record an entry wrote, as the trail names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenRow {
    /// The record kind (`budget-lines`).
    pub entity: String,
    /// The record's key (`NAP-2015/BL-2016-001`).
    pub key: String,
    /// The SHA-256 of the record as it was written.
    pub row_hash: String,
}

/// A page of the records entry `entry_id` wrote (an import's can be millions), in the order
/// it wrote them, with how many it wrote in all.
pub async fn rows_of_entry<C: ConnectionTrait>(
    conn: &C,
    entry_id: i64,
    limit: u64,
    offset: u64,
) -> Result<(u64, Vec<WrittenRow>)> {
    let backend = conn.get_database_backend();
    let mut q = Binds::new(backend);
    let entry = q.bind(entry_id);
    let count_sql = format!("SELECT COUNT(*) AS n FROM audit_rows WHERE entry_id = {entry}");
    let total: i64 = match conn.query_one_raw(q.statement(count_sql)).await? {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    let mut q = Binds::new(backend);
    let entry = q.bind(entry_id);
    let limit = q.bind(i64::try_from(limit).unwrap_or(i64::MAX));
    let offset = q.bind(i64::try_from(offset).unwrap_or(i64::MAX));
    let sql = format!(
        "SELECT entity, entity_key, row_hash FROM audit_rows WHERE entry_id = {entry} \
         ORDER BY id LIMIT {limit} OFFSET {offset}"
    );
    let rows = conn
        .query_all_raw(q.statement(sql))
        .await?
        .iter()
        .map(|row| {
            Ok(WrittenRow {
                entity: row.try_get("", "entity")?,
                key: row.try_get("", "entity_key")?,
                row_hash: row.try_get("", "row_hash")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((u64::try_from(total).unwrap_or(0), rows))
}

/// The last row the trail holds for each record of `kind`: key → (hash, entry).
async fn trail_state<C: ConnectionTrait + StreamTrait>(
    conn: &C,
    kind: RecordKind,
) -> Result<HashMap<String, ([u8; 32], i64)>> {
    let mut q = Binds::new(ConnectionTrait::get_database_backend(conn));
    let sql = format!(
        "SELECT entity_key, row_hash, entry_id FROM audit_rows WHERE entity = {} ORDER BY id",
        q.bind(kind.name())
    );
    let rows = conn.stream_raw(q.statement(sql)).await?;
    let mut rows = std::pin::pin!(rows);
    let mut state = HashMap::new();
    while let Some(row) = rows.try_next().await? {
        let key: String = row.try_get("", "entity_key")?;
        let text: String = row.try_get("", "row_hash")?;
        let entry: i64 = row.try_get("", "entry_id")?;
        // A row hash that is not 32 bytes of hex matches no record: it is reported as such.
        let mut hash = [0u8; 32];
        if ::hex::decode_to_slice(&text, &mut hash).is_err() {
            hash = [0xff; 32];
        }
        state.insert(key, (hash, entry));
    }
    Ok(state)
}

/// How a record differs from what the trail says it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RecordDifference {
    /// The record kind (`disbursements`).
    pub kind: String,
    /// The record's key (`NAP-2015/D-2016-0001`).
    pub key: String,
    /// The entry that last wrote the record, when the trail knows it.
    pub entry: Option<i64>,
    pub reason: String,
}

/// The plans' ids, for the kinds that are read one plan at a time.
async fn plan_ids<C: ConnectionTrait>(conn: &C) -> Result<Vec<i32>> {
    Ok(plan::Entity::find()
        .order_by_asc(plan::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect())
}

/// A record the trail does not hold as it is: new (no entry) or changed since `entry`.
struct Unknown {
    key: String,
    hash: [u8; 32],
    entry: Option<i64>,
}

/// Compares the records of `kind` with the trail, streaming them in key order: calls `each`
/// with every record whose content is not the last row the trail holds for it, and stops at
/// the first difference `each` returns. Without one, the result is the first record the trail
/// holds that no longer exists, if any.
async fn compare<C: ConnectionTrait + StreamTrait>(
    conn: &C,
    kind: RecordKind,
    mut each: impl FnMut(Unknown) -> Option<RecordDifference>,
) -> Result<Option<RecordDifference>> {
    let mut state = trail_state(conn, kind).await?;
    let scopes: Vec<Option<i32>> = if kind.is_plan_scoped() {
        plan_ids(conn).await?.into_iter().map(Some).collect()
    } else {
        vec![None]
    };
    for plan_id in scopes {
        let records = records::stream(conn, &Query::all(kind, plan_id)).await?;
        let mut records = std::pin::pin!(records);
        while let Some(record) = records.try_next().await? {
            let key = record_key(&record);
            let hash = record_hash_bytes(&record);
            let entry = match state.remove(&key) {
                Some((known, _)) if known == hash => continue,
                Some((_, entry)) => Some(entry),
                None => None,
            };
            if let Some(stop) = each(Unknown { key, hash, entry }) {
                return Ok(Some(stop));
            }
        }
    }
    let first_missing = state.into_iter().min_by(|a, b| a.0.cmp(&b.0));
    Ok(first_missing.map(|(key, (_, entry))| RecordDifference {
        kind: kind.name().to_owned(),
        reason: format!(
            "{} {key} is in the audit trail (entry {entry}) but no longer in the database: \
             it was deleted outside naptrack",
            kind.one()
        ),
        key,
        entry: Some(entry),
    }))
}

/// The first record of `kind` that is not what the trail says, if any.
pub async fn first_difference<C: ConnectionTrait + StreamTrait>(
    conn: &C,
    kind: RecordKind,
) -> Result<Option<RecordDifference>> {
    compare(conn, kind, |unknown| {
        let what = kind.one();
        let key = unknown.key;
        let reason = match unknown.entry {
            Some(entry) => format!(
                "{what} {key} is not what the audit trail last recorded for it (entry {entry}): \
                 it was changed outside naptrack"
            ),
            None => {
                format!("{what} {key} is not in the audit trail: it was added outside naptrack")
            }
        };
        Some(RecordDifference {
            kind: kind.name().to_owned(),
            key,
            entry: unknown.entry,
            reason,
        })
    })
    .await
}

/// Refuses to write records of `kind` on top of records that already differ from the trail:
/// the import would take them up as if it had written them.
pub async fn ensure_unchanged<C: ConnectionTrait + StreamTrait>(
    conn: &C,
    kind: RecordKind,
) -> Result<()> {
    match first_difference(conn, kind).await? {
        None => Ok(()),
        Some(difference) => Err(Error::Conflict(format!(
            "nothing was imported: {}; run `naptrack audit verify` and have the records \
             checked before importing more {}",
            difference.reason,
            kind.name().replace('-', " ")
        ))),
    }
}

/// Takes up, as rows of entry `entry_id`, every record of `kind` that an import just created
/// or changed (every record the trail does not yet hold as it is), and returns their digest.
/// An import never deletes: a record the trail holds that is gone is an error. The rows are
/// collected first and written once the records have been read: a transaction's connection
/// serves one statement at a time, so nothing can be written while the records stream from it.
pub async fn take_up<C: ConnectionTrait + StreamTrait>(
    conn: &C,
    kind: RecordKind,
    entry_id: i64,
) -> Result<RowsDigest> {
    let mut taken: Vec<(String, [u8; 32])> = Vec::new();
    let missing = compare(conn, kind, |unknown| {
        taken.push((unknown.key, unknown.hash));
        None
    })
    .await?;
    if let Some(missing) = missing {
        return Err(Error::Internal(missing.reason));
    }
    let mut writer = RowWriter::new(conn, entry_id, kind);
    for (key, hash) in taken {
        writer.push(key, hex(&hash)).await?;
    }
    writer.finish().await
}

/// Checks that the rows of `audit_rows` are exactly those the entries' details digest
/// (`expected`: entry → digest), streaming them in entry order; the first entry whose rows
/// differ, and why.
pub async fn verify_rows<C: ConnectionTrait + StreamTrait>(
    conn: &C,
    mut expected: HashMap<i64, RowsDigest>,
) -> Result<Option<(i64, String)>> {
    let backend = ConnectionTrait::get_database_backend(conn);
    let rows = conn
        .stream_raw(Statement::from_string(
            backend,
            "SELECT entry_id, entity_key, row_hash FROM audit_rows ORDER BY entry_id, id",
        ))
        .await?;
    let mut rows = std::pin::pin!(rows);
    let mut current: Option<(i64, DigestBuilder)> = None;
    loop {
        let row = rows.try_next().await?;
        let entry = match &row {
            Some(row) => Some(row.try_get::<i64>("", "entry_id")?),
            None => None,
        };
        // An entry's rows end where the next entry's begin, or at the end of the table.
        if current.as_ref().map(|(id, _)| Some(*id)) != Some(entry)
            && let Some((id, builder)) = current.take()
        {
            let digest = builder.finish();
            let problem = match expected.remove(&id) {
                Some(want) if want == digest => None,
                Some(_) => Some("the records it wrote, as the trail holds them, were changed"),
                None => Some("the trail holds records for it that it did not write"),
            };
            if let Some(problem) = problem {
                return Ok(Some((id, problem.to_owned())));
            }
        }
        let (Some(row), Some(entry)) = (row, entry) else {
            break;
        };
        let key: String = row.try_get("", "entity_key")?;
        let hash: String = row.try_get("", "row_hash")?;
        current
            .get_or_insert_with(|| (entry, DigestBuilder::default()))
            .1
            .add(&key, &hash);
    }
    let first_lost = expected
        .into_iter()
        .filter(|(_, digest)| digest.count > 0)
        .map(|(entry, _)| entry)
        .min();
    Ok(first_lost.map(|entry| {
        (
            entry,
            "the records it wrote are missing from the trail".to_owned(),
        )
    }))
}

/// The first record of any kind that is not what the trail says, in the contract's order of
/// kinds and each kind's key order.
pub async fn verify_records<C: ConnectionTrait + StreamTrait>(
    conn: &C,
) -> Result<Option<RecordDifference>> {
    for kind in RecordKind::ALL {
        if let Some(difference) = first_difference(conn, kind).await? {
            return Ok(Some(difference));
        }
    }
    Ok(None)
}

/// Takes up, once, the records of a database that predates the trail's record rows (its
/// `audit_rows` empty while records exist): one entry per kind, `adopt`, states that the
/// records as they stood then are the trail's starting point. A database whose trail already
/// holds rows, or that holds no record, is left alone.
pub async fn adopt_untracked(db: &sea_orm::DatabaseConnection) -> Result<()> {
    let backend = ConnectionTrait::get_database_backend(db);
    let has_rows = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM audit_rows LIMIT 1) t",
        ))
        .await?
        .map(|row| row.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0)
        > 0;
    if has_rows || plan_ids(db).await?.is_empty() && !has_global_records(db).await? {
        return Ok(());
    }
    let txn = db::begin_write(db).await?;
    for kind in RecordKind::ALL {
        let entry_id = crate::service::audit::next_id(&*txn).await?;
        let rows = take_up(&*txn, kind, entry_id).await?;
        if rows.count == 0 {
            continue;
        }
        let details = serde_json::json!({
            "reason": "the records as they stood when the trail began to record each record",
            "trail_rows": rows.to_json(),
        });
        let event = crate::service::audit::AuditEvent::new(
            "system:migration",
            "adopt",
            kind.name(),
            "",
            details,
        );
        let entry = crate::service::audit::append(&*txn, event).await?;
        if entry.id != entry_id {
            return Err(Error::Internal(
                "the trail moved while adopting records".into(),
            ));
        }
    }
    txn.commit().await?;
    Ok(())
}

/// Whether any record of a kind outside plans exists (institutions, funding sources, rates).
async fn has_global_records(db: &sea_orm::DatabaseConnection) -> Result<bool> {
    for kind in RecordKind::ALL {
        if !kind.is_plan_scoped() && records::count(db, &Query::all(kind, None)).await? > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}
