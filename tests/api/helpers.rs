//! Helpers that spawn the real app on a fresh database.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use naptrack::config::Settings;
use rocket::figment::Figment;
use rocket::local::asynchronous::{Client, LocalResponse};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend};

/// The server that `NAPTRACK_TEST_POSTGRES_URL` names, if any (a URL to any database on it,
/// e.g. `postgres://postgres@127.0.0.1:5432/postgres`).
fn postgres_admin_url() -> Option<String> {
    std::env::var("NAPTRACK_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
}

/// A database that lives as long as the test: a temporary SQLite file, or a PostgreSQL
/// database that is dropped when this value is.
pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let dir = tempfile::tempdir().expect("a temporary folder");
        match postgres_admin_url() {
            Some(admin_url) => {
                static COUNTER: AtomicU32 = AtomicU32::new(0);
                let nanos = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .subsec_nanos();
                let name = format!(
                    "naptrack_test_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::Relaxed),
                    nanos
                );
                let admin = Database::connect(&admin_url)
                    .await
                    .expect("the PostgreSQL server");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("a fresh test database");
                admin.close().await.ok();
                let url = replace_database(&admin_url, &name);
                TestDb {
                    url,
                    dir,
                    postgres: Some((admin_url, name)),
                }
            }
            None => {
                let url = format!("sqlite://{}", dir.path().join("naptrack.db").display());
                TestDb {
                    url,
                    dir,
                    postgres: None,
                }
            }
        }
    }

    pub fn backend(&self) -> DbBackend {
        if self.postgres.is_some() {
            DbBackend::Postgres
        } else {
            DbBackend::Sqlite
        }
    }

    /// A migrated connection, as the app opens it.
    pub async fn connect(&self) -> DatabaseConnection {
        let settings = Settings {
            database_url: self.url.clone(),
            load_samples: false,
            samples_dir: PathBuf::from("samples"),
            database_max_connections: None,
        };
        naptrack::db::connect_and_migrate(&settings)
            .await
            .expect("a migrated database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = self.postgres.take() {
            // Drop runs outside any runtime the test may still be using, so the database is
            // dropped from a thread with a runtime of its own.
            let handle = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(runtime) = runtime {
                    runtime.block_on(async {
                        if let Ok(admin) = Database::connect(&admin_url).await {
                            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                            let _ = admin.execute_unprepared(&sql).await;
                            admin.close().await.ok();
                        }
                    });
                }
            });
            let _ = handle.join();
        }
    }
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    format!("{base}/{name}{query}")
}

/// The app on a fresh database, driven through Rocket's local client.
pub struct TestApp {
    pub client: Client,
    pub db: DatabaseConnection,
    /// Kept so the database outlives the app; dropped last.
    pub _test_db: TestDb,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        let test_db = TestDb::new().await;
        let figment = Figment::from(rocket::Config::figment())
            .merge(("database_url", test_db.url.clone()))
            .merge(("load_samples", false))
            .merge(("log_level", "off"));
        let client = Client::tracked(naptrack::build(figment))
            .await
            .expect("the app launches");
        let db = client
            .rocket()
            .state::<DatabaseConnection>()
            .expect("the database state")
            .clone();
        TestApp {
            client,
            db,
            _test_db: test_db,
        }
    }

    pub async fn get(&self, uri: &str) -> LocalResponse<'_> {
        self.client.get(uri.to_owned()).dispatch().await
    }

    pub async fn get_health(&self) -> LocalResponse<'_> {
        self.get("/api/v1/health").await
    }
}

/// Runs the real `naptrack` binary on `db`, in `db`'s temporary folder.
pub fn naptrack(db: &TestDb, args: &[&str]) -> Output {
    naptrack_in(db.dir.path(), &db.url, args)
}

pub fn naptrack_in(dir: &Path, database_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_naptrack"))
        .args(args)
        .current_dir(dir)
        .env("DATABASE_URL", database_url)
        .env("ROCKET_PROFILE", "release")
        .env("ROCKET_LOG_LEVEL", "off")
        .output()
        .expect("the naptrack binary runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The repository's sample plan (`samples/`).
pub fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// Writes `bytes` to `name` (which may name a subfolder) inside the test database's temporary
/// folder, where [`naptrack`] runs, and returns the full path.
pub fn write_file(db: &TestDb, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = db.dir.path().join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("a folder for the file");
    }
    std::fs::write(&path, bytes).expect("the file is written");
    path
}

/// Copies the sample files into `folder` inside the test database's temporary folder, so a
/// test can change one of them, and returns the folder's path.
pub fn copy_samples(db: &TestDb, folder: &str) -> PathBuf {
    for entry in std::fs::read_dir(samples_dir()).expect("the samples folder") {
        let path = entry.expect("a sample file").path();
        if path.extension().is_some_and(|e| e == "csv") {
            let name = path.file_name().expect("a file name").to_string_lossy();
            let bytes = std::fs::read(&path).expect("the sample file is read");
            write_file(db, &format!("{folder}/{name}"), bytes);
        }
    }
    db.dir.path().join(folder)
}

/// Every record of every kind as the export writes it, plan by plan. Two databases hold the
/// same records exactly when these texts are equal, so a test that compares this before and
/// after an operation sees any change to any kind.
pub async fn export_everything(db: &DatabaseConnection) -> String {
    use naptrack::domain::records::RecordKind;
    use naptrack::entity::plan;
    use naptrack::service::export::export_csv;
    use sea_orm::{EntityTrait, QueryOrder};

    let plans: Vec<String> = plan::Entity::find()
        .order_by_asc(plan::Column::Code)
        .all(db)
        .await
        .expect("the plans are read")
        .into_iter()
        .map(|p| p.code)
        .collect();
    let mut everything = Vec::new();
    for kind in RecordKind::ALL {
        let scopes: Vec<Option<&str>> = if kind.is_plan_scoped() {
            plans.iter().map(|p| Some(p.as_str())).collect()
        } else {
            vec![None]
        };
        for plan in scopes {
            everything.extend_from_slice(format!("== {kind} {plan:?}\n").as_bytes());
            export_csv(db, kind, plan, &mut everything)
                .await
                .expect("the kind is exported");
        }
    }
    String::from_utf8(everything).expect("exports are UTF-8")
}
