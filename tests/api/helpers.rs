//! Helpers that spawn the real app on a fresh database.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use naptrack::config::Settings;
use rocket::figment::Figment;
use rocket::http::{ContentType, Header, Method};
use rocket::local::asynchronous::{Client, LocalRequest, LocalResponse};
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
            flags: Default::default(),
            iati: Default::default(),
            audit_key_file: None,
            audit_checkpoint_interval_minutes: 0,
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
        Self::spawn_on(TestDb::new().await).await
    }

    /// The app on `test_db`, which the test may also hand to the real binary (through
    /// [`TestApp::test_db`]) so that the command line and the server share one database.
    pub async fn spawn_on(test_db: TestDb) -> TestApp {
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

    /// The database this app runs on, for the real binary ([`naptrack`]).
    pub fn test_db(&self) -> &TestDb {
        &self._test_db
    }

    /// Imports the sample plan (`samples/`), as the command line would.
    pub async fn import_samples(&self) {
        use naptrack::service::import::{ImportOptions, NoProgress, import_dir};
        import_dir(
            &self.db,
            &samples_dir(),
            &ImportOptions::default(),
            &NoProgress,
        )
        .await
        .expect("the samples import");
    }

    /// A new user with `role` and their first API token.
    pub async fn token_for(&self, email: &str, role: naptrack::domain::Role) -> String {
        naptrack::service::users::add_user(&self.db, email, role, None, None, "test")
            .await
            .expect("the user is created")
            .1
    }

    /// Any request, with a bearer token when one is given and a JSON body when one is given.
    pub fn request(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> LocalRequest<'_> {
        let mut request = self.client.req(method, uri.to_owned());
        if let Some(token) = token {
            request.add_header(Header::new("Authorization", format!("Bearer {token}")));
        }
        if let Some(body) = body {
            request.add_header(ContentType::JSON);
            request.set_body(body);
        }
        request
    }

    pub async fn get_with(&self, token: Option<&str>, uri: &str) -> LocalResponse<'_> {
        self.request(Method::Get, uri, token, None).dispatch().await
    }

    /// `POST /api/v1/disbursements`, not yet sent, with an `Idempotency-Key` when one is
    /// given: for tests that send several at once.
    pub fn post_disbursement_request(
        &self,
        token: &str,
        idempotency_key: Option<&str>,
        body: &str,
    ) -> LocalRequest<'_> {
        let mut request = self.request(
            Method::Post,
            "/api/v1/disbursements",
            Some(token),
            Some(body),
        );
        if let Some(key) = idempotency_key {
            request.add_header(Header::new("Idempotency-Key", key.to_owned()));
        }
        request
    }

    pub async fn post_disbursement(&self, token: &str, body: &str) -> LocalResponse<'_> {
        self.post_disbursement_request(token, None, body)
            .dispatch()
            .await
    }

    pub async fn post_disbursement_with_key(
        &self,
        token: &str,
        idempotency_key: &str,
        body: &str,
    ) -> LocalResponse<'_> {
        self.post_disbursement_request(token, Some(idempotency_key), body)
            .dispatch()
            .await
    }

    pub async fn get_disbursement(&self, token: &str, reference: &str) -> LocalResponse<'_> {
        self.get_with(Some(token), &format!("/api/v1/disbursements/{reference}"))
            .await
    }

    /// `GET /api/v1/disbursements?QUERY`.
    pub async fn list_disbursements(&self, token: &str, query: &str) -> LocalResponse<'_> {
        self.get_with(Some(token), &format!("/api/v1/disbursements?{query}"))
            .await
    }

    /// `PUT`, `PATCH` or `DELETE /api/v1/disbursements/{reference}`, which are refused.
    pub async fn change_disbursement(
        &self,
        method: Method,
        token: &str,
        reference: &str,
        body: &str,
    ) -> LocalResponse<'_> {
        let uri = format!("/api/v1/disbursements/{reference}");
        self.request(method, &uri, Some(token), Some(body))
            .dispatch()
            .await
    }

    /// `POST /api/v1/disbursements/{reference}/reversal`, not yet sent.
    pub fn post_reversal_request(
        &self,
        token: &str,
        reference: &str,
        body: &str,
    ) -> LocalRequest<'_> {
        let uri = format!("/api/v1/disbursements/{reference}/reversal");
        self.request(Method::Post, &uri, Some(token), Some(body))
    }

    pub async fn post_reversal(
        &self,
        token: &str,
        reference: &str,
        body: &str,
    ) -> LocalResponse<'_> {
        self.post_reversal_request(token, reference, body)
            .dispatch()
            .await
    }

    /// `PUT /api/v1/{kind}/{key}` with a JSON record, not yet sent.
    pub fn put_record_request(
        &self,
        token: &str,
        kind: &str,
        key: &str,
        body: &str,
    ) -> LocalRequest<'_> {
        let uri = format!("/api/v1/{kind}/{key}");
        self.request(Method::Put, &uri, Some(token), Some(body))
    }

    /// `POST /api/v1/import/{entity}?QUERY` with a CSV file as the body, not yet sent.
    pub fn post_import_request(
        &self,
        token: &str,
        entity: &str,
        query: &str,
        csv: &str,
    ) -> LocalRequest<'_> {
        let uri = if query.is_empty() {
            format!("/api/v1/import/{entity}")
        } else {
            format!("/api/v1/import/{entity}?{query}")
        };
        self.client
            .post(uri)
            .header(Header::new("Authorization", format!("Bearer {token}")))
            .header(ContentType::new("text", "csv"))
            .body(csv)
    }

    pub async fn post_import(
        &self,
        token: &str,
        entity: &str,
        query: &str,
        csv: &str,
    ) -> LocalResponse<'_> {
        self.post_import_request(token, entity, query, csv)
            .dispatch()
            .await
    }

    pub async fn get_export(&self, token: &str, entity: &str) -> LocalResponse<'_> {
        self.get_with(Some(token), &format!("/api/v1/export/{entity}"))
            .await
    }

    /// `GET /api/v1/audit?QUERY`.
    pub async fn get_audit(&self, token: &str, query: &str) -> LocalResponse<'_> {
        self.get_with(Some(token), &format!("/api/v1/audit?{query}"))
            .await
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

/// Runs the real `naptrack` binary on `db` with `input` on its standard input.
pub fn naptrack_with_input(db: &TestDb, args: &[&str], input: &str) -> Output {
    use std::io::Write;
    use std::process::Stdio;

    let mut child = Command::new(env!("CARGO_BIN_EXE_naptrack"))
        .args(args)
        .current_dir(db.dir.path())
        .env("DATABASE_URL", &db.url)
        .env("ROCKET_PROFILE", "release")
        .env("ROCKET_LOG_LEVEL", "off")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the naptrack binary starts");
    child
        .stdin
        .take()
        .expect("a standard input")
        .write_all(input.as_bytes())
        .expect("the input is written");
    child.wait_with_output().expect("the naptrack binary runs")
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

/// Imports the repository's sample plan into `db`.
pub async fn import_samples_into(db: &DatabaseConnection) {
    use naptrack::service::import::{ImportOptions, NoProgress, import_dir};
    import_dir(db, &samples_dir(), &ImportOptions::default(), &NoProgress)
        .await
        .expect("the samples import");
}

/// Imports one CSV text of `kind` into `db`, which must accept it.
pub async fn import_csv(
    db: &DatabaseConnection,
    kind: naptrack::domain::records::RecordKind,
    csv: &str,
) {
    use naptrack::service::import::{ImportOptions, NoProgress, Source, import_file};
    let source = Source::from_bytes("test.csv", csv.as_bytes().to_vec());
    import_file(db, kind, source, &ImportOptions::default(), &NoProgress)
        .await
        .expect("the CSV import");
}

/// The real server on a loopback port of its own (the operating system picks it), on a fresh
/// database, for clients that speak HTTP themselves (a browser). It stops when dropped.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base_url: String,
    pub db: DatabaseConnection,
    shutdown: rocket::Shutdown,
    /// Kept so the database outlives the server; dropped last.
    _test_db: TestDb,
}

impl TestServer {
    pub async fn spawn() -> TestServer {
        Self::spawn_configured(false).await
    }

    /// The server as the `debug` profile runs it, with `load_samples` on: the sample plan and
    /// the demo accounts are created at start.
    pub async fn spawn_with_samples() -> TestServer {
        Self::spawn_configured(true).await
    }

    async fn spawn_configured(load_samples: bool) -> TestServer {
        use rocket::fairing::AdHoc;

        let test_db = TestDb::new().await;
        let figment = Figment::from(rocket::Config::figment())
            .merge(("database_url", test_db.url.clone()))
            .merge(("load_samples", load_samples))
            .merge(("samples_dir", samples_dir()))
            .merge(("log_level", "off"))
            .merge(("address", "127.0.0.1"))
            .merge(("port", 0))
            // The test process's signals are the test harness's, not this server's.
            .merge(("shutdown.ctrlc", false))
            .merge(("shutdown.signals", Vec::<String>::new()))
            .merge(("shutdown.grace", 1))
            .merge(("shutdown.mercy", 1));
        // Rocket binds the port before lift-off and records the one it got in its config.
        let (port_tx, port_rx) = tokio::sync::oneshot::channel();
        let rocket = naptrack::build(figment)
            .attach(AdHoc::on_liftoff("Report the port", move |rocket| {
                Box::pin(async move {
                    let _ = port_tx.send(rocket.config().port);
                })
            }))
            .ignite()
            .await
            .expect("the app ignites");
        let shutdown = rocket.shutdown();
        let db = rocket
            .state::<DatabaseConnection>()
            .expect("the database state")
            .clone();
        let server = tokio::spawn(rocket.launch());
        let port = match tokio::time::timeout(std::time::Duration::from_secs(30), port_rx).await {
            Ok(Ok(port)) => port,
            _ => {
                let ended = server.await;
                panic!("the server did not start listening: {ended:?}");
            }
        };
        TestServer {
            base_url: format!("http://127.0.0.1:{port}"),
            db,
            shutdown,
            _test_db: test_db,
        }
    }

    /// The folder of this server's database, for files a test hands to a client.
    pub fn dir(&self) -> &Path {
        self._test_db.dir.path()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.clone().notify();
    }
}
