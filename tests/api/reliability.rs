//! Reliability under load and faults, against the real `naptrack` binary: concurrent writers
//! and readers (two server processes sharing the database on PostgreSQL), `kill -9` of an
//! import half way through a million rows and of the server under write load, and a backup
//! taken under write load, restored. Each test prints its figures; RELIABILITY.md lists them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use naptrack::domain::Role;
use naptrack::entity::disbursement;
use naptrack::service::audit::{self, Verification};
use rust_decimal::Decimal;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QuerySelect,
};

use crate::helpers::{TestDb, import_samples_into, naptrack, naptrack_in, stderr, stdout};

/// The budget lines of the sample plan that the load spreads its payments over.
const LINES: u32 = 46;

type Http = Client<HttpConnector, Full<Bytes>>;

fn http() -> Http {
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(64)
        .build_http()
}

/// Sends one request; `Err` when no HTTP answer came (the server is down).
async fn send(
    http: &Http,
    method: &str,
    url: &str,
    token: &str,
    body: Option<String>,
) -> Result<(u16, String), String> {
    let request = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| e.to_string())?;
    let response = http.request(request).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// The `naptrack` server as a process of its own, on a loopback port, with the repository's
/// Rocket.toml and the release profile. Killed (SIGKILL) when dropped.
pub(crate) struct Server {
    child: Child,
    base_url: String,
}

impl Server {
    async fn start(test_db: &TestDb, name: &str) -> Server {
        Server::start_with(test_db, name, &[]).await
    }

    /// The server with extra environment variables (`ROCKET_*` settings).
    pub(crate) async fn start_with(test_db: &TestDb, name: &str, env: &[(&str, &str)]) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log = std::fs::File::create(test_db.dir.path().join(format!("{name}.log")))
            .expect("a log file");
        let child = Command::new(env!("CARGO_BIN_EXE_naptrack"))
            .arg("serve")
            .current_dir(test_db.dir.path())
            .env(
                "ROCKET_CONFIG",
                Path::new(env!("CARGO_MANIFEST_DIR")).join("Rocket.toml"),
            )
            .env("ROCKET_PROFILE", "release")
            .env("ROCKET_PORT", port.to_string())
            .env("ROCKET_LOG_LEVEL", "critical")
            // A key for this test only: the release profile refuses to start without one.
            .env(
                "ROCKET_SECRET_KEY",
                "hPRYyVRiMyxpw5sBB1XeCMN1kFsDCqKvBi2QJxBVHQk=",
            )
            .env("DATABASE_URL", &test_db.url)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the naptrack binary starts");
        let mut server = Server {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
        };
        let http = http();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let health = send(&http, "GET", &server.url("/api/v1/health"), "-", None).await;
            if matches!(health, Ok((200, _))) {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("the server {name} exited with {status}");
            }
            assert!(Instant::now() < deadline, "the server {name} did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// `kill -9`: no shutdown, no flush, nothing of the app runs.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A JSON disbursement of the sample plan, its amount and line varied by `n`.
fn disbursement(reference: &str, n: u32) -> (String, Decimal) {
    let amount = format!("{}.{:02}", n % 9973 + 1, n % 100);
    let body = format!(
        r#"{{"reference": "{reference}", "budget_line_code": "BL-2015-{:03}", "date": "2015-{:02}-{:02}", "amount": "{amount}", "currency": "EUR", "description": "load"}}"#,
        n % LINES + 1,
        n % 12 + 1,
        n % 28 + 1,
    );
    (body, amount.parse().expect("a decimal"))
}

/// Writers posting disbursements to the servers in turn, each its own client.
struct Load {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<String>>>,
    failures: Arc<Mutex<Vec<String>>>,
    writers: Vec<tokio::task::JoinHandle<Decimal>>,
}

impl Load {
    /// `writers` clients, each posting up to `per_writer` disbursements `{prefix}-{w}-{i}`.
    /// A writer whose server stops answering ends quietly when `until_down` is set (the test
    /// killed it); otherwise that is a failure.
    fn start(
        urls: Vec<String>,
        token: &str,
        prefix: &str,
        writers: u32,
        per_writer: u32,
        until_down: bool,
    ) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(Vec::new()));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let handles = (0..writers)
            .map(|w| {
                let (stop, acked, failures) = (stop.clone(), acked.clone(), failures.clone());
                let url = format!("{}/api/v1/disbursements", urls[w as usize % urls.len()]);
                let (token, prefix) = (token.to_owned(), prefix.to_owned());
                tokio::spawn(async move {
                    let http = http();
                    let mut sum = Decimal::ZERO;
                    for i in 0..per_writer {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let reference = format!("{prefix}-{w:02}-{i:05}");
                        let (body, amount) = disbursement(&reference, w * per_writer + i);
                        match send(&http, "POST", &url, &token, Some(body)).await {
                            Ok((201, _)) => {
                                sum += amount;
                                acked.lock().unwrap().push(reference);
                            }
                            Ok((status, body)) => failures
                                .lock()
                                .unwrap()
                                .push(format!("{reference}: {status} {body}")),
                            Err(_) if until_down => break,
                            Err(e) => failures.lock().unwrap().push(format!("{reference}: {e}")),
                        }
                    }
                    sum
                })
            })
            .collect();
        Load {
            stop,
            acked,
            failures,
            writers: handles,
        }
    }

    fn acked_count(&self) -> usize {
        self.acked.lock().unwrap().len()
    }

    fn acked(&self) -> Vec<String> {
        self.acked.lock().unwrap().clone()
    }

    async fn wait_for_acks(&self, count: usize) {
        let deadline = Instant::now() + Duration::from_secs(300);
        while self.acked_count() < count {
            assert!(
                Instant::now() < deadline,
                "the load stalled at {}",
                self.acked_count()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops the writers (or waits for them to finish) and returns the sum they got acked.
    async fn finish(self, stop: bool) -> (Vec<String>, Decimal, Vec<String>) {
        if stop {
            self.stop.store(true, Ordering::Relaxed);
        }
        let mut sum = Decimal::ZERO;
        for writer in self.writers {
            sum += writer.await.expect("a writer ends");
        }
        let acked = self.acked.lock().unwrap().clone();
        let failures = self.failures.lock().unwrap().clone();
        (acked, sum, failures)
    }
}

async fn token(db: &DatabaseConnection, email: &str, role: Role) -> String {
    naptrack::service::users::add_user(db, email, role, None, None, "test")
        .await
        .expect("the user is created")
        .1
}

/// The references stored that begin with `prefix`.
async fn stored_references(db: &DatabaseConnection, prefix: &str) -> HashSet<String> {
    disbursement::Entity::find()
        .select_only()
        .column(disbursement::Column::Reference)
        .filter(disbursement::Column::Reference.starts_with(prefix))
        .into_tuple::<String>()
        .all(db)
        .await
        .expect("the references are read")
        .into_iter()
        .collect()
}

/// The sample plan's disbursed total, as the execution report computes it.
async fn disbursed(db: &DatabaseConnection) -> Decimal {
    use naptrack::service::plans::resolve_plan;
    use naptrack::service::reports::{Dimension, Filters, execution};
    let plan = resolve_plan(db, None).await.expect("the plan");
    let report = execution(db, &plan, Dimension::Activity, Filters::default())
        .await
        .expect("the report");
    report
        .totals
        .disbursed
        .to_string()
        .parse()
        .expect("a decimal")
}

async fn audit_entries(db: &DatabaseConnection) -> u64 {
    match audit::verify(db).await.expect("the trail is read") {
        Verification::Intact { entries, .. } => entries,
        Verification::Broken { entry, reason } => {
            panic!("the audit trail breaks at {entry}: {reason}")
        }
        Verification::Differs { reason, .. } => panic!("the records differ: {reason}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_clients_store_twenty_thousand_disbursements_while_others_read_reports() {
    const WRITERS: u32 = 16;
    const PER_WRITER: u32 = 1250;
    const READERS: usize = 4;
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;
    let writer = token(&db, "clerk@ministry.example", Role::Recorder).await;
    let reader = token(&db, "donor@embassy.example", Role::Donor).await;
    let disbursed_before = disbursed(&db).await;
    let entries_before = audit_entries(&db).await;
    // PostgreSQL: two app instances share the database, the clients alternate between them.
    let instances = if test_db.backend() == DbBackend::Postgres {
        2
    } else {
        1
    };
    let mut servers = Vec::new();
    for i in 0..instances {
        servers.push(Server::start(&test_db, &format!("server-{i}")).await);
    }
    let urls: Vec<String> = servers.iter().map(|s| s.base_url.clone()).collect();

    let started = Instant::now();
    let load = Load::start(urls.clone(), &writer, "C", WRITERS, PER_WRITER, false);
    let reading = Arc::new(AtomicBool::new(true));
    let readers: Vec<_> = (0..READERS)
        .map(|r| {
            let url = format!("{}/api/v1/reports/execution?by=month", urls[r % urls.len()]);
            let (reader, reading) = (reader.clone(), reading.clone());
            tokio::spawn(async move {
                let http = http();
                let (mut reads, mut failures) = (0, Vec::new());
                while reading.load(Ordering::Relaxed) {
                    match send(&http, "GET", &url, &reader, None).await {
                        Ok((200, _)) => reads += 1,
                        Ok((status, body)) => failures.push(format!("{status} {body}")),
                        Err(e) => failures.push(e),
                    }
                    // A donor reads now and then; the writers get most of the machine.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                (reads, failures)
            })
        })
        .collect();
    let (acked, sum, failures) = load.finish(false).await;
    let elapsed = started.elapsed();
    reading.store(false, Ordering::Relaxed);
    let mut reads = 0;
    for reader in readers {
        let (count, read_failures) = reader.await.expect("a reader ends");
        assert!(read_failures.is_empty(), "reads failed: {read_failures:?}");
        reads += count;
    }

    assert!(
        failures.is_empty(),
        "{} posts failed, first: {:?}",
        failures.len(),
        failures.first()
    );
    let total = (WRITERS * PER_WRITER) as usize;
    assert_eq!(acked.len(), total);
    assert_eq!(stored_references(&db, "C-").await.len(), total);
    assert_eq!(
        disbursed(&db).await - disbursed_before,
        sum,
        "the report's total moved by the exact sum"
    );
    assert_eq!(audit_entries(&db).await, entries_before + total as u64);
    println!(
        "{:?}, {instances} server(s): {total} disbursements from {WRITERS} clients in {:.1} s ({:.0}/s), {reads} reports read by {READERS} clients, sum {sum}",
        test_db.backend(),
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_killed_under_write_load_keeps_every_acknowledged_disbursement() {
    const WRITERS: u32 = 8;
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;
    let writer = token(&db, "clerk@ministry.example", Role::Recorder).await;
    let mut server = Server::start(&test_db, "before-kill").await;

    let load = Load::start(
        vec![server.base_url.clone()],
        &writer,
        "K",
        WRITERS,
        100_000,
        true,
    );
    load.wait_for_acks(1500).await;
    server.kill();
    let (acked, _, failures) = load.finish(false).await;
    assert!(
        failures.is_empty(),
        "posts failed before the kill: {failures:?}"
    );

    // The database opens cleanly on restart, and every 201 is there.
    let _restarted = Server::start(&test_db, "after-kill").await;
    let stored = stored_references(&db, "K-").await;
    let lost: Vec<&String> = acked.iter().filter(|r| !stored.contains(*r)).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged disbursements lost: {lost:?}",
        lost.len()
    );
    // At most one request per writer was in flight: stored but never acknowledged.
    assert!(stored.len() <= acked.len() + WRITERS as usize);
    let verify = naptrack(&test_db, &["audit", "verify"]);
    assert!(verify.status.success(), "{}", stderr(&verify));
    println!(
        "{:?}: killed with SIGKILL after {} acknowledged writes from {WRITERS} clients; {} stored after restart, none lost; {}",
        test_db.backend(),
        acked.len(),
        stored.len(),
        stdout(&verify).trim()
    );
}

/// Writes `rows` disbursements of the sample plan as a contract CSV file.
fn million_rows(path: &Path, rows: u32) {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("the file"));
    writeln!(file, "reference,budget_line_code,date,amount,currency").unwrap();
    for n in 0..rows {
        writeln!(
            file,
            "M-{n:07},BL-2015-{:03},2015-{:02}-{:02},{}.{:02},EUR",
            n % LINES + 1,
            n % 12 + 1,
            n % 28 + 1,
            n % 99_991 + 1,
            n % 100
        )
        .unwrap();
    }
    file.flush().unwrap();
}

/// How far the process `pid` has read the file `path`: the offset of its descriptor (Linux).
fn read_offset(pid: u32, path: &Path) -> Option<u64> {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    for fd in fds.flatten() {
        if std::fs::read_link(fd.path()).ok().as_deref() == Some(path) {
            let info = std::fs::read_to_string(format!(
                "/proc/{pid}/fdinfo/{}",
                fd.file_name().to_string_lossy()
            ))
            .ok()?;
            return info
                .lines()
                .find_map(|l| l.strip_prefix("pos:"))?
                .trim()
                .parse()
                .ok();
        }
    }
    None
}

#[tokio::test]
async fn an_import_killed_half_way_through_a_million_rows_leaves_none_of_them() {
    const ROWS: u32 = 1_000_000;
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;
    let before = crate::helpers::export_everything(&db).await;
    let file: PathBuf = test_db.dir.path().join("million.csv");
    million_rows(&file, ROWS);
    let size = std::fs::metadata(&file).unwrap().len();

    let mut import = Command::new(env!("CARGO_BIN_EXE_naptrack"))
        .args(["import", "disbursements"])
        .arg(&file)
        .current_dir(test_db.dir.path())
        .env("DATABASE_URL", &test_db.url)
        .env("ROCKET_PROFILE", "release")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the import starts");
    let started = Instant::now();
    let offset = loop {
        if let Some(offset) = read_offset(import.id(), &file).filter(|o| *o >= size / 2) {
            import.kill().expect("SIGKILL");
            break offset;
        }
        assert!(
            import.try_wait().unwrap().is_none(),
            "the import ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    import.wait().unwrap();
    let killed_after = started.elapsed();

    // The database opens (and migrates) cleanly and holds exactly what it held before.
    let reopened = test_db.connect().await;
    if test_db.backend() == DbBackend::Sqlite {
        let check = reopened
            .query_one_raw(sea_orm::Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA integrity_check",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(check.try_get_by_index::<String>(0).unwrap(), "ok");
    }
    assert!(
        crate::helpers::export_everything(&reopened).await == before,
        "the killed import left rows"
    );
    let verify = naptrack(&test_db, &["audit", "verify"]);
    assert!(verify.status.success(), "{}", stderr(&verify));

    let started = Instant::now();
    let again = naptrack(
        &test_db,
        &["import", "disbursements", file.to_str().unwrap()],
    );
    assert!(again.status.success(), "{}", stderr(&again));
    let imported_in = started.elapsed();
    assert_eq!(
        stored_references(&reopened, "M-").await.len(),
        ROWS as usize
    );
    println!(
        "{:?}: import of {ROWS} rows ({} MB) killed with SIGKILL at byte {offset} after {:.1} s; nothing of it stored; the same import then took {:.1} s",
        test_db.backend(),
        size / 1_000_000,
        killed_after.as_secs_f64(),
        imported_in.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_under_write_load_restores_every_write_acknowledged_before_it() {
    const WRITERS: u32 = 8;
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;
    let writer = token(&db, "clerk@ministry.example", Role::Recorder).await;
    let server = Server::start(&test_db, "live").await;
    let load = Load::start(
        vec![server.base_url.clone()],
        &writer,
        "B",
        WRITERS,
        100_000,
        false,
    );
    load.wait_for_acks(500).await;

    // Every write acknowledged before the backup starts must be in it.
    let acked_before = load.acked();
    let backup = test_db.dir.path().join("backup");
    let restored_db = TestDb::new().await;
    let backed_up = match test_db.backend() {
        DbBackend::Postgres => Command::new("pg_dump")
            .args(["--format=custom", "--no-owner", "--file"])
            .arg(&backup)
            .arg(&test_db.url)
            .output()
            .expect("pg_dump runs"),
        _ => naptrack(&test_db, &["backup", backup.to_str().unwrap()]),
    };
    assert!(backed_up.status.success(), "{}", stderr(&backed_up));
    let restored_url = restored_db.url.clone();
    load.wait_for_acks(acked_before.len() + 200).await;
    let (acked, _, failures) = load.finish(true).await;
    assert!(failures.is_empty(), "posts failed: {failures:?}");

    // Restored into a database of its own: the audit chain holds, and it has every write
    // acknowledged before the backup began and nothing that was never sent.
    let restored = match test_db.backend() {
        DbBackend::Postgres => {
            let output = Command::new("pg_restore")
                .args(["--no-owner", "--dbname"])
                .arg(&restored_url)
                .arg(&backup)
                .output()
                .expect("pg_restore runs");
            assert!(output.status.success(), "{}", stderr(&output));
            // naptrack restore says how PostgreSQL is restored, and changes nothing.
            let refused = naptrack(&test_db, &["restore", backup.to_str().unwrap()]);
            assert!(!refused.status.success());
            assert!(
                stderr(&refused).contains("pg_restore"),
                "{}",
                stderr(&refused)
            );
            restored_db.connect().await
        }
        _ => {
            let output = naptrack_in(
                restored_db.dir.path(),
                &restored_url,
                &["restore", backup.to_str().unwrap()],
            );
            assert!(output.status.success(), "{}", stderr(&output));
            restored_db.connect().await
        }
    };
    let verify = naptrack_in(restored_db.dir.path(), &restored_url, &["audit", "verify"]);
    assert!(verify.status.success(), "{}", stderr(&verify));
    let in_backup = stored_references(&restored, "B-").await;
    let missing: Vec<&String> = acked_before
        .iter()
        .filter(|r| !in_backup.contains(*r))
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged before the backup, not in it: {missing:?}"
    );
    let sent: HashSet<String> = acked.iter().cloned().collect();
    assert!(
        in_backup
            .iter()
            .all(|r| sent.contains(r) || r.starts_with("B-"))
    );
    assert!(
        in_backup.len() < acked.len(),
        "writes after the backup are not in it"
    );
    println!(
        "{:?}: backup under load from {WRITERS} clients: {} writes acknowledged before it, {} in it, {} acknowledged by the end; restored, audit intact",
        test_db.backend(),
        acked_before.len(),
        in_backup.len(),
        acked.len()
    );

    // On SQLite, `naptrack restore` also loads the backup into the live database while the
    // server runs: the server then answers from the backup, and the database as it was is
    // kept aside.
    if test_db.backend() == DbBackend::Sqlite {
        let output = naptrack(&test_db, &["restore", backup.to_str().unwrap()]);
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(stdout(&output).contains("kept in"), "{}", stdout(&output));
        assert_eq!(stored_references(&db, "B-").await, in_backup);
        let later = acked
            .iter()
            .find(|r| !in_backup.contains(*r))
            .expect("a later write");
        let (status, _) = send(
            &http(),
            "GET",
            &server.url(&format!("/api/v1/disbursements/{later}")),
            &writer,
            None,
        )
        .await
        .expect("the server answers");
        assert_eq!(status, 404);
        let verify = naptrack(&test_db, &["audit", "verify"]);
        assert!(verify.status.success(), "{}", stderr(&verify));
    }
}
