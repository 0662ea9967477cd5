//! Online backups and restores.
//!
//! On SQLite, `VACUUM INTO` writes a consistent copy of the database as of one read
//! transaction, while the app goes on reading and writing: every write committed before the
//! copy began is in it, none after. A restore checks the backup (its integrity, its schema,
//! its audit chain) on a scratch copy, brings that copy's schema up to date, keeps the current
//! database aside when it holds anything, and replaces the contents of every table in one
//! write transaction: a running server sees the old data or the restored data, never a mix,
//! and nothing is lost if any step fails. On PostgreSQL the server's own tools do both
//! (`pg_dump`, `pg_restore`), and the README says how.

use std::path::{Path, PathBuf};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, Statement, Value};

use crate::config::Settings;
use crate::db;
use crate::entity::audit_entry;
use crate::error::{Error, Result};
use crate::service::audit::{self, AuditEvent, Verification};

/// Writes a consistent copy of the database to `target`, which must not exist yet.
pub async fn backup(db: &DatabaseConnection, target: &Path) -> Result<()> {
    if db.get_database_backend() != DbBackend::Sqlite {
        return Err(Error::BadRequest(
            "naptrack backup copies SQLite databases; back up PostgreSQL with pg_dump \
             (see the README)"
                .to_owned(),
        ));
    }
    if target.exists() {
        return Err(Error::BadRequest(format!(
            "{} already exists; a backup never overwrites a file",
            target.display()
        )));
    }
    vacuum_into(db, target).await
}

async fn vacuum_into<C: ConnectionTrait>(db: &C, target: &Path) -> Result<()> {
    let path = utf8(target)?;
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "VACUUM INTO ?",
        [Value::from(path.to_owned())],
    ))
    .await
    .map_err(|e| Error::BadRequest(format!("cannot write the copy {path}: {e}")))?;
    Ok(())
}

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    /// The audit entries the backup held (the restore appends one more).
    pub audit_entries: u64,
    /// The backup's audit head hash, for the auditor's notes.
    pub head: String,
    /// Where the database as it was before the restore was kept, when it held anything.
    pub kept_aside: Option<PathBuf>,
}

/// Replaces the contents of the database of `settings` with those of the backup `source`.
///
/// The backup must be a naptrack SQLite database whose integrity check and audit chain pass;
/// an older schema is migrated (on a scratch copy: `source` itself is only read). When the
/// database holds any audit entry, a copy of it is written beside it first, as
/// `{file}.before-restore-{UTC time}`.
pub async fn restore(settings: &Settings, source: &Path, actor: &str) -> Result<Restored> {
    let target = sqlite_file(&settings.database_url)?;
    if !source.is_file() {
        return Err(Error::BadRequest(format!(
            "{} is not a file",
            source.display()
        )));
    }
    let scratch = tempfile::Builder::new()
        .prefix(".naptrack-restore-")
        .suffix(".db")
        .tempfile_in(target.parent().unwrap_or(Path::new(".")))?
        .into_temp_path();
    std::fs::copy(source, &scratch)
        .map_err(|e| Error::BadRequest(format!("cannot read {}: {e}", source.display())))?;
    let (audit_entries, head) = check_backup(source, &scratch).await?;

    // One connection, so that the attached backup and the transaction share it. Foreign keys
    // are checked once, over the whole result, before the commit.
    let conn = db::connect(&settings.database_url, Some(1)).await?;
    db::migrate(&conn).await?;
    let kept_aside = if holds_audit_entries(&conn).await? {
        let aside = aside_path(&target);
        vacuum_into(&conn, &aside).await?;
        Some(aside)
    } else {
        None
    };
    conn.execute_unprepared("PRAGMA foreign_keys = OFF").await?;
    conn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "ATTACH DATABASE ? AS backup",
        [Value::from(utf8(&scratch)?.to_owned())],
    ))
    .await?;
    let replaced = replace_contents(&conn, source, actor, kept_aside.as_deref()).await;
    conn.execute_unprepared("DETACH DATABASE backup").await.ok();
    conn.close().await.ok();
    replaced?;
    Ok(Restored {
        audit_entries,
        head,
        kept_aside,
    })
}

/// Checks the scratch copy of the backup `source` and migrates it; returns its audit count and
/// head hash.
async fn check_backup(source: &Path, scratch: &Path) -> Result<(u64, String)> {
    let name = source.display();
    let mut header = [0; 16];
    let read = std::io::Read::read_exact(&mut std::fs::File::open(scratch)?, &mut header);
    if read.is_err() || &header != b"SQLite format 3\0" {
        return Err(Error::BadRequest(format!(
            "{name} is not an SQLite database (write backups with naptrack backup)"
        )));
    }
    let url = format!("sqlite://{}", utf8(scratch)?);
    let copy = db::connect(&url, Some(1)).await?;
    let integrity = copy
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA integrity_check",
        ))
        .await?
        .map(|row| row.try_get_by_index::<String>(0))
        .transpose()?;
    if integrity.as_deref() != Some("ok") {
        return Err(Error::BadRequest(format!(
            "{name} is damaged: {}",
            integrity.unwrap_or_default()
        )));
    }
    let is_naptrack = copy
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'seaql_migrations'",
        ))
        .await?
        .is_some();
    if !is_naptrack {
        copy.close().await.ok();
        return Err(Error::BadRequest(format!(
            "{name} is an SQLite database but not a naptrack backup"
        )));
    }
    db::migrate(&copy).await.map_err(|e| {
        Error::BadRequest(format!(
            "{name} cannot be brought up to this version's schema: {}",
            e.log_detail()
        ))
    })?;
    let verification = audit::verify(&copy).await;
    copy.close().await.ok();
    match verification? {
        Verification::Intact { entries, head } => Ok((entries, head)),
        Verification::Broken { entry, reason } => Err(Error::BadRequest(format!(
            "{name} fails the audit check at entry {entry}: {reason}; it is not restored"
        ))),
        Verification::Differs { reason, .. } => Err(Error::BadRequest(format!(
            "{name} fails the audit check: {reason}; it is not restored"
        ))),
    }
}

/// Empties every table of the database and fills it from the attached `backup`, in one write
/// transaction, and appends an audit entry that names the backup.
async fn replace_contents(
    conn: &DatabaseConnection,
    source: &Path,
    actor: &str,
    kept_aside: Option<&Path>,
) -> Result<()> {
    let txn = db::begin_write(conn).await?;
    let tables = names(
        &*txn,
        "SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         ORDER BY name",
    )
    .await?;
    // The append-only triggers refuse the deletes; they are dropped and created again inside
    // the transaction.
    let triggers = names(
        &*txn,
        "SELECT sql FROM main.sqlite_master WHERE type = 'trigger' AND sql IS NOT NULL",
    )
    .await?;
    for name in names(
        &*txn,
        "SELECT name FROM main.sqlite_master WHERE type = 'trigger'",
    )
    .await?
    {
        txn.execute_unprepared(&format!("DROP TRIGGER main.{}", quoted(&name)))
            .await?;
    }
    for table in &tables {
        txn.execute_unprepared(&format!("DELETE FROM main.{}", quoted(table)))
            .await?;
    }
    for table in &tables {
        let columns = names(
            &*txn,
            &format!(
                "SELECT name FROM pragma_table_info({}, 'main') ORDER BY cid",
                literal(table)
            ),
        )
        .await?
        .iter()
        .map(|c| quoted(c))
        .collect::<Vec<_>>()
        .join(", ");
        txn.execute_unprepared(&format!(
            "INSERT INTO main.{table} ({columns}) SELECT {columns} FROM backup.{table}",
            table = quoted(table)
        ))
        .await?;
    }
    txn.execute_unprepared(
        "DELETE FROM main.sqlite_sequence; \
         INSERT INTO main.sqlite_sequence SELECT * FROM backup.sqlite_sequence",
    )
    .await?;
    for sql in &triggers {
        txn.execute_unprepared(sql).await?;
    }
    if txn
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA main.foreign_key_check",
        ))
        .await?
        .is_some()
    {
        return Err(Error::BadRequest(format!(
            "{} holds rows whose references are missing; it is not restored",
            source.display()
        )));
    }
    audit::append(
        &*txn,
        AuditEvent::new(
            actor,
            "restore",
            "database",
            &source.display().to_string(),
            serde_json::json!({
                "kept_aside": kept_aside.map(|p| p.display().to_string()),
            }),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

async fn holds_audit_entries(db: &DatabaseConnection) -> Result<bool> {
    Ok(audit_entry::Entity::find().one(db).await?.is_some())
}

/// The first column of every row of `sql`, as text.
async fn names<C: ConnectionTrait>(conn: &C, sql: &str) -> Result<Vec<String>> {
    conn.query_all_raw(Statement::from_string(DbBackend::Sqlite, sql))
        .await?
        .iter()
        .map(|row| row.try_get_by_index::<String>(0).map_err(Error::from))
        .collect()
}

/// An SQL identifier, double-quoted.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// An SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The file of an SQLite URL (`sqlite://naptrack.db?mode=rwc` → `naptrack.db`).
fn sqlite_file(url: &str) -> Result<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| {
            Error::BadRequest(
                "naptrack restore loads SQLite databases; restore PostgreSQL with pg_restore \
                 or psql (see the README)"
                    .to_owned(),
            )
        })?;
    let file = rest.split('?').next().unwrap_or_default();
    if file.is_empty() || file == ":memory:" {
        return Err(Error::BadRequest(format!(
            "the database URL {url} names no file to restore into"
        )));
    }
    Ok(PathBuf::from(file))
}

/// `{file}.before-restore-{UTC time}`.
fn aside_path(target: &Path) -> PathBuf {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let mut name = target.as_os_str().to_owned();
    name.push(format!(".before-restore-{stamp}"));
    PathBuf::from(name)
}

fn utf8(path: &Path) -> Result<&str> {
    path.to_str()
        .ok_or_else(|| Error::BadRequest(format!("{} is not UTF-8", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_of_an_sqlite_url() {
        assert_eq!(
            sqlite_file("sqlite://data/naptrack.db?mode=rwc").ok(),
            Some(PathBuf::from("data/naptrack.db"))
        );
        assert_eq!(
            sqlite_file("sqlite:/var/naptrack.db").ok(),
            Some(PathBuf::from("/var/naptrack.db"))
        );
        assert!(sqlite_file("sqlite::memory:").is_err());
        assert!(sqlite_file("postgres://db/naptrack").is_err());
    }

    #[test]
    fn identifiers_and_literals_are_quoted() {
        assert_eq!(quoted("a\"b"), "\"a\"\"b\"");
        assert_eq!(literal("it's"), "'it''s'");
    }
}
