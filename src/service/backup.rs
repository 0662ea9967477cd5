//! Online backups. On SQLite, `VACUUM INTO` writes a consistent copy of the database as of
//! one read transaction, while the app goes on reading and writing: every write committed
//! before the copy began is in it, none after. On PostgreSQL the server's own tool does this
//! (`pg_dump`), and the README says how.

use std::path::Path;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value};

use crate::error::{Error, Result};

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
    let path = target
        .to_str()
        .ok_or_else(|| Error::BadRequest(format!("{} is not UTF-8", target.display())))?;
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "VACUUM INTO ?",
        [Value::from(path.to_owned())],
    ))
    .await
    .map_err(|e| Error::BadRequest(format!("cannot write the backup {path}: {e}")))?;
    Ok(())
}
