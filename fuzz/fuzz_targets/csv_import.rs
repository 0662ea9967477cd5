//! Fuzzes the CSV import: any bytes, as a file of one record kind, imported as a dry run into a
//! real SQLite database that holds the sample plan.
//!
//! The input is a disbursements file, unless its first byte is an ASCII digit or one of the
//! letters `A` to `J`: then it picks the record kind (`RecordKind::ALL[digit]`, `8` being
//! disbursements; a letter picks the same way and imports with `--plan NAP-2015`, for files
//! without a `plan_code` column) and the rest is the file. Whatever the bytes, the import must
//! not panic; when it fails, the error must be
//! one a clerk can act on (invalid data, a bad request, a file too large), never an internal or
//! raw database error; every problem it lists must name its file and line; and the dry run must
//! leave the database as it was.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use naptrack::Error;
use naptrack::domain::records::RecordKind;
use naptrack::service::import::{ImportOptions, NoProgress, Source, import_dir, import_file};
use sea_orm::{ConnectionTrait, DatabaseConnection};

fuzz_target!(|data: &[u8]| {
    let (kind, plan, csv) = match data.split_first() {
        Some((first @ b'0'..=b'9', rest)) => {
            (RecordKind::ALL[usize::from(first - b'0')], None, rest)
        }
        Some((first @ b'A'..=b'J', rest)) => (
            RecordKind::ALL[usize::from(first - b'A')],
            Some(SAMPLE_PLAN),
            rest,
        ),
        _ => (RecordKind::Disbursements, None, data),
    };
    HARNESS.check_import(kind, plan, csv);
});

/// The plan of the samples.
const SAMPLE_PLAN: &str = "NAP-2015";

/// The longest message of a problem: messages quote cells, but keep only their ends
/// (`error::bounded`), so a hostile cell cannot make a report huge.
const MAX_MESSAGE_CHARS: usize = 500;

/// One runtime and one database for the whole run: setting them up takes far longer than an
/// import, and a dry run leaves the database as it found it.
static HARNESS: LazyLock<Harness> = LazyLock::new(Harness::set_up);

struct Harness {
    runtime: tokio::runtime::Runtime,
    db: DatabaseConnection,
    /// The row counts of every table after the samples were imported.
    counts: Vec<i64>,
}

/// Every table an import may write, the audit trail included.
const TABLES: [&str; 11] = [
    "institutions",
    "funding_sources",
    "plans",
    "objectives",
    "activities",
    "obligations",
    "budget_lines",
    "commitments",
    "disbursements",
    "exchange_rates",
    "audit_log",
];

impl Harness {
    fn set_up() -> Harness {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let dir = database_dir();
        let url = format!("sqlite://{}", dir.join("naptrack.db").display());
        let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples");
        let db = runtime.block_on(async {
            let db = naptrack::db::connect(&url, None)
                .await
                .expect("the fuzz database");
            naptrack::db::migrate(&db).await.expect("the migrations");
            import_dir(&db, &samples, &ImportOptions::default(), &NoProgress)
                .await
                .expect("the samples import");
            db
        });
        let counts = runtime.block_on(table_counts(&db));
        assert!(
            counts.iter().all(|&count| count > 0),
            "the samples fill every table"
        );
        Harness {
            runtime,
            db,
            counts,
        }
    }

    fn check_import(&self, kind: RecordKind, plan: Option<&str>, csv: &[u8]) {
        let name = kind.file_name();
        let options = ImportOptions {
            plan: plan.map(str::to_owned),
            dry_run: true,
            actor: "fuzz".to_owned(),
            ..ImportOptions::default()
        };
        let source = Source::from_bytes(name, csv.to_vec());
        let result =
            self.runtime
                .block_on(import_file(&self.db, kind, source, &options, &NoProgress));
        match result {
            Ok(report) => {
                assert!(report.dry_run);
                let [file] = report.files.as_slice() else {
                    panic!("one file imported, {} reported", report.files.len());
                };
                assert_eq!(file.entity, kind);
                assert_eq!(
                    file.rows,
                    file.created + file.updated + file.unchanged,
                    "every row of an accepted file is created, updated or unchanged: {file:?}"
                );
                assert_eq!(file.sha256.len(), 64);
            }
            Err(error) => check_user_facing(&error, name),
        }
        let counts = self.runtime.block_on(table_counts(&self.db));
        assert_eq!(counts, self.counts, "a dry run changed the database");
    }
}

/// The error is one a user can act on, and its problems say where they are.
fn check_user_facing(error: &Error, file: &str) {
    match error {
        Error::Invalid { details, .. } => {
            assert!(!details.is_empty(), "an invalid file lists no problem");
            for problem in details {
                assert_eq!(problem.file.as_deref(), Some(file), "{problem:?}");
                assert!(problem.line.is_some_and(|line| line >= 1), "{problem:?}");
                assert!(
                    problem.message.chars().count() <= MAX_MESSAGE_CHARS
                        && problem.column.chars().count() <= MAX_MESSAGE_CHARS,
                    "{problem:?}"
                );
            }
        }
        Error::BadRequest(_) | Error::PayloadTooLarge(_) => {}
        other => panic!(
            "the import failed with an error that is not the user's to fix ({}): {}",
            other.status(),
            other.log_detail()
        ),
    }
}

async fn table_counts(db: &DatabaseConnection) -> Vec<i64> {
    let sql = TABLES
        .iter()
        .map(|table| format!("(SELECT COUNT(*) FROM {table})"))
        .collect::<Vec<_>>()
        .join(", ");
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!("SELECT {sql}"),
        ))
        .await
        .expect("the row counts")
        .expect("one row");
    (0..TABLES.len())
        .map(|i| row.try_get_by_index::<i64>(i).expect("a count"))
        .collect()
}

/// A new folder for this process's database. Statics are never dropped, so a run cannot remove
/// its own folder when libFuzzer exits; instead each run removes those of runs that ended.
fn database_dir() -> PathBuf {
    const PREFIX: &str = "naptrack-fuzz-";
    let temp = std::env::temp_dir();
    for entry in std::fs::read_dir(&temp).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let ended = name
            .strip_prefix(PREFIX)
            .and_then(|pid| pid.parse::<u32>().ok())
            .is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists());
        if ended {
            std::fs::remove_dir_all(entry.path()).ok();
        }
    }
    let dir = temp.join(format!("{PREFIX}{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).expect("a folder for the fuzz database");
    dir
}
