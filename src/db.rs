//! The database connection: embedded SQLite by default, PostgreSQL for deployments with
//! several app instances. Migrations run on every start, of the server and of the CLI.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::config::Settings;
use crate::error::Error;

/// How long an SQLite writer waits for another to finish before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Opens the database named by `settings` and brings its schema up to date.
///
/// A migration that fails stops here with [`Error::Migration`]: the app never runs on a
/// schema it does not know.
pub async fn connect_and_migrate(settings: &Settings) -> Result<DatabaseConnection, Error> {
    let db = connect(&settings.database_url, settings.database_max_connections).await?;
    migrate(&db).await?;
    Ok(db)
}

/// Applies the migrations that `db` lacks; records stored before the trail recorded what each
/// record is are then taken up by the trail once ([`crate::service::trail::adopt_untracked`]).
pub async fn migrate(db: &DatabaseConnection) -> Result<(), Error> {
    Migrator::up(db, None)
        .await
        .map_err(|e| Error::Migration(e.to_string()))?;
    crate::service::trail::adopt_untracked(db).await
}

/// Opens a pool on `url` (`sqlite://…` or `postgres://…`).
///
/// SQLite: the file is created when missing; WAL lets readers run beside the one writer; a
/// busy timeout makes writers queue instead of failing with "database is locked"; foreign
/// keys are enforced (SQLite leaves them off unless asked); `synchronous = NORMAL`, which in
/// WAL mode keeps every committed transaction across a crash of the process (`kill -9`) and
/// the file consistent across a power cut, without an fsync per commit (a power cut may undo
/// the last commits before a checkpoint, never half of one).
pub async fn connect(url: &str, max_connections: Option<u32>) -> Result<DatabaseConnection, Error> {
    let backend = backend_of(url)?;
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        // Also the deadline of the first connection: an unreachable server fails in 15 s.
        .acquire_timeout(Duration::from_secs(15));
    match backend {
        DbBackend::Sqlite => {
            options
                .max_connections(max_connections.unwrap_or(8))
                .min_connections(1)
                .map_sqlx_sqlite_opts(|opts| {
                    opts.create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                        .busy_timeout(SQLITE_BUSY_TIMEOUT)
                        .foreign_keys(true)
                        // Reports scan millions of index entries: reading the file through a
                        // memory map and a larger page cache spares a system call per page.
                        .pragma("mmap_size", "1073741824")
                        .pragma("cache_size", "-16384")
                });
        }
        _ => {
            options.max_connections(max_connections.unwrap_or(16));
        }
    }
    Database::connect(options).await.map_err(|e| {
        Error::DatabaseUnavailable(format!("cannot open the database at {}: {e}", redact(url)))
    })
}

fn backend_of(url: &str) -> Result<DbBackend, Error> {
    if url.starts_with("sqlite:") {
        Ok(DbBackend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(DbBackend::Postgres)
    } else {
        Err(Error::Config(format!(
            "the database URL \"{}\" is neither sqlite://… nor postgres://…",
            redact(url)
        )))
    }
}

/// The URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Starts a transaction that will write. On SQLite it begins IMMEDIATE, taking the write lock
/// up front: a deferred transaction that reads first and then writes cannot wait for another
/// writer and fails with "database is locked" instead. Writers of this process first wait
/// for their turn in [`WriterQueue`].
///
/// On PostgreSQL it takes the app's write lock (a transaction-scoped advisory lock), so that
/// writers that check before they write (the reversals of a disbursement never exceed it, a
/// key is new) see each other's commits, across every app instance sharing the database, as
/// SQLite's single writer does. Every write appends to the audit trail, which is one chain
/// and so takes this lock anyway; taking it first costs no concurrency.
pub async fn begin_write(db: &DatabaseConnection) -> Result<WriteTransaction, Error> {
    let turn = match db.get_database_backend() {
        DbBackend::Sqlite => Some(WriterQueue::of(db).lock_owned().await),
        _ => None,
    };
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    let txn = db.begin_with_options(options).await?;
    lock_writers(&txn).await?;
    Ok(WriteTransaction { txn, _turn: turn })
}

/// The writers of one SQLite file in this process, in the order they asked.
///
/// SQLite makes a writer that finds the file locked sleep and retry (its busy timeout, in
/// steps of up to 100 ms), so with dozens of concurrent writers most of their time went to
/// sleeping past the moment the lock came free. Here they wait on an async mutex instead, each
/// woken as the one before it finishes; only writers of other processes (the command line
/// beside a server) still meet the busy timeout.
struct WriterQueue;

impl WriterQueue {
    fn of(db: &DatabaseConnection) -> Arc<tokio::sync::Mutex<()>> {
        static QUEUES: LazyLock<Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> =
            LazyLock::new(Mutex::default);
        let file = db
            .get_sqlite_connection_pool()
            .connect_options()
            .get_filename()
            .to_path_buf();
        let mut queues = QUEUES.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(queues.entry(file).or_default())
    }
}

/// A transaction that writes, holding its writer's turn until it commits or rolls back.
pub struct WriteTransaction {
    // Declared first, dropped first: a transaction dropped unfinished rolls back before the
    // next writer's turn.
    txn: DatabaseTransaction,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl std::ops::Deref for WriteTransaction {
    type Target = DatabaseTransaction;
    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

impl WriteTransaction {
    pub async fn commit(self) -> Result<(), sea_orm::DbErr> {
        self.txn.commit().await
    }

    pub async fn rollback(self) -> Result<(), sea_orm::DbErr> {
        self.txn.rollback().await
    }
}

/// The advisory lock that orders writers on PostgreSQL (an arbitrary constant of this app).
const WRITE_LOCK: i64 = 0x6e61_7074_7261_636b;

/// Takes the write lock for the rest of the transaction; nothing to do on SQLite, where a
/// write transaction already excludes every other writer.
pub async fn lock_writers<C: ConnectionTrait>(txn: &C) -> Result<(), Error> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({WRITE_LOCK})"))
            .await?;
    }
    Ok(())
}

/// The SQL for an exact sum of a money column on either backend.
///
/// PostgreSQL sums `BIGINT` as `NUMERIC`; casting back to `BIGINT` raises "bigint out of
/// range" on overflow. SQLite's `SUM` over integers raises "integer overflow" itself. Either
/// way an overflow is an error, never a rounded or wrapped total. `COALESCE` makes the sum of
/// no rows zero.
pub fn exact_sum_sql(column: &str) -> String {
    format!("CAST(COALESCE(SUM({column}), 0) AS BIGINT)")
}

/// Values bound to a statement being written, with the placeholder syntax of the backend:
/// `$1, $2…` on PostgreSQL, `?1, ?2…` on SQLite. Numbered placeholders let one value be used
/// at several places of the SQL.
pub struct Binds {
    backend: DbBackend,
    values: Vec<sea_orm::Value>,
}

impl Binds {
    pub fn new(backend: DbBackend) -> Self {
        Binds {
            backend,
            values: Vec::new(),
        }
    }

    /// Binds `value` and returns its placeholder.
    pub fn bind(&mut self, value: impl Into<sea_orm::Value>) -> String {
        self.values.push(value.into());
        match self.backend {
            DbBackend::Postgres => format!("${}", self.values.len()),
            _ => format!("?{}", self.values.len()),
        }
    }

    pub fn statement(self, sql: String) -> sea_orm::Statement {
        sea_orm::Statement::from_sql_and_values(self.backend, sql, self.values)
    }
}

/// The most values one statement may bind on SQLite (PostgreSQL takes 65,535): multi-row
/// INSERTs are sized to it.
pub const MAX_BIND_PARAMETERS: usize = 32_766;

/// `INSERT INTO table (columns) VALUES (…), (…)` for `rows` rows, its values bound row by row,
/// column by column.
///
/// SQLite gets anonymous `?` placeholders: the driver looks up the name of every numbered
/// one with a linear search, which makes a statement of thousands of `?NNN` quadratic.
pub fn insert_sql(backend: DbBackend, table: &str, columns: &[&str], rows: usize) -> String {
    use std::fmt::Write;
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    let mut n = 0;
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns.len() {
            n += 1;
            let separator = if column == 0 { "" } else { ", " };
            let _ = match backend {
                DbBackend::Postgres => write!(sql, "{separator}${n}"),
                _ => write!(sql, "{separator}?"),
            };
        }
        sql.push(')');
    }
    sql
}

/// Answers whether the database responds, for the health check.
pub async fn ping(db: &DatabaseConnection) -> Result<(), Error> {
    db.execute_unprepared("SELECT 1")
        .await
        .map(|_| ())
        .map_err(|e| Error::DatabaseUnavailable(e.to_string()))
}

/// The database stage: opens the pool, migrates, and manages the connection and settings as
/// state. A failure stops the launch with the reason on standard error.
pub fn stage() -> rocket::fairing::AdHoc {
    rocket::fairing::AdHoc::try_on_ignite("Database", |rocket| async move {
        let settings = match Settings::from_figment(rocket.figment()) {
            Ok(settings) => settings,
            Err(e) => {
                eprintln!("naptrack: {e}");
                return Err(rocket);
            }
        };
        match connect_and_migrate(&settings).await {
            Ok(db) => Ok(rocket.manage(db).manage(settings)),
            Err(e) => {
                eprintln!("naptrack: {}", e.log_detail());
                Err(rocket)
            }
        }
    })
}

/// What reads the database: a connection, or a transaction that sees its own writes (an
/// import's dry run evaluates the flags its file would raise this way).
pub trait Reader:
    sea_orm::ConnectionTrait
    + sea_orm::StreamTrait
    + sea_orm::TransactionTrait<Transaction = sea_orm::DatabaseTransaction>
    + Sync
{
}

impl<T> Reader for T where
    T: sea_orm::ConnectionTrait
        + sea_orm::StreamTrait
        + sea_orm::TransactionTrait<Transaction = sea_orm::DatabaseTransaction>
        + Sync
{
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_insert_numbers_its_placeholders_row_by_row() {
        assert_eq!(
            insert_sql(DbBackend::Sqlite, "t", &["a", "b"], 2),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)"
        );
        assert_eq!(
            insert_sql(DbBackend::Postgres, "t", &["a"], 2),
            "INSERT INTO t (a) VALUES ($1), ($2)"
        );
    }

    #[test]
    fn a_password_in_the_url_is_redacted() {
        assert_eq!(
            redact("postgres://app:secret@db:5432/naptrack"),
            "postgres://app:***@db:5432/naptrack"
        );
        assert_eq!(redact("sqlite://naptrack.db"), "sqlite://naptrack.db");
        assert_eq!(
            redact("postgres://app@db/naptrack"),
            "postgres://app@db/naptrack"
        );
    }

    #[test]
    fn an_unknown_database_scheme_is_refused() {
        assert!(backend_of("mysql://localhost/x").is_err());
        assert_eq!(backend_of("sqlite::memory:").ok(), Some(DbBackend::Sqlite));
    }
}
