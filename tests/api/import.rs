//! CSV import: the contract's import rules, each both ways (what must be accepted and what
//! must be refused), through the real binary for what the command line shows (exit status,
//! `FILE:LINE: COLUMN: message` lines, counts) and through the service for the rest.

use std::collections::BTreeSet;
use std::process::Output;

use naptrack::domain::records::RecordKind;
use naptrack::error::{Error, FieldError};
use naptrack::money::Amount;
use naptrack::service::import::{ImportOptions, ImportReport, NoProgress, Source, import_file};
use sea_orm::DatabaseConnection;

use crate::helpers::{
    TestDb, copy_samples, export_everything, naptrack, samples_dir, stderr, stdout, write_file,
};

// ---------------------------------------------------------------------------------------------
// A small plan, imported through the service, that most tests start from.

const INSTITUTIONS_HEADER: &str = "code,name,kind,iati_ref";
const PLANS_HEADER: &str =
    "code,title,country,currency,start_date,end_date,fiscal_year_start_month";
const OBJECTIVES_HEADER: &str = "plan_code,code,title,parent_code";
const ACTIVITIES_HEADER: &str =
    "plan_code,code,title,objective_code,lead_institution_code,start_date,end_date,status";
const BUDGET_LINES_HEADER: &str = "plan_code,code,activity_code,funding_source_code,fiscal_year,category,amount,currency,obligation_code";
const DISBURSEMENTS_HEADER: &str =
    "plan_code,reference,budget_line_code,date,amount,currency,payee_code,description,reverses";

/// Plan `NAP` (2015-2019, calendar fiscal years, EUR) with one objective, one activity, one
/// budget line `BL-1` of 1000.00 in fiscal year 2016 and one disbursement `D-1` of 100.00.
const BASE_PLAN: [(RecordKind, &str); 7] = [
    (
        RecordKind::Institutions,
        "code,name,kind,iati_ref\n\
         MOJ,Ministry of Justice,government,\n\
         NGO-1,Shelter NGO,ngo,\n",
    ),
    (
        RecordKind::FundingSources,
        "code,name,donor_code,kind,currency\n\
         STATE,State budget,,state_budget,EUR\n",
    ),
    (
        RecordKind::Plans,
        "code,title,country,currency,start_date,end_date,fiscal_year_start_month\n\
         NAP,National plan,XK,EUR,2015-01-01,2019-12-31,1\n",
    ),
    (
        RecordKind::Objectives,
        "plan_code,code,title,parent_code\n\
         NAP,PROT,Protection,\n",
    ),
    (
        RecordKind::Activities,
        "plan_code,code,title,objective_code,lead_institution_code,start_date,end_date,status\n\
         NAP,PROT-01,Shelters,PROT,MOJ,2015-01-01,2019-12-31,ongoing\n",
    ),
    (
        RecordKind::BudgetLines,
        "plan_code,code,activity_code,funding_source_code,fiscal_year,category,amount,currency,obligation_code\n\
         NAP,BL-1,PROT-01,STATE,2016,goods_and_services,1000.00,EUR,\n",
    ),
    (
        RecordKind::Disbursements,
        "plan_code,reference,budget_line_code,date,amount,currency,payee_code,description,reverses\n\
         NAP,D-1,BL-1,2016-03-01,100.00,EUR,NGO-1,First instalment,\n",
    ),
];

/// A second plan `NAP-2` whose fiscal year starts in October (so it spans fiscal years 2015
/// to 2020), reusing the codes of the first plan's objective, activity and budget line, with
/// one disbursement `D-OTHER`.
const SECOND_PLAN: [(RecordKind, &str); 5] = [
    (
        RecordKind::Plans,
        "code,title,country,currency,start_date,end_date,fiscal_year_start_month\n\
         NAP-2,Second plan,XK,EUR,2015-01-01,2019-12-31,10\n",
    ),
    (
        RecordKind::Objectives,
        "plan_code,code,title,parent_code\n\
         NAP-2,PROT,Protection,\n",
    ),
    (
        RecordKind::Activities,
        "plan_code,code,title,objective_code,lead_institution_code,start_date,end_date,status\n\
         NAP-2,PROT-01,Shelters,PROT,MOJ,2015-01-01,2019-12-31,ongoing\n",
    ),
    (
        RecordKind::BudgetLines,
        "plan_code,code,activity_code,funding_source_code,fiscal_year,category,amount,currency,obligation_code\n\
         NAP-2,BL-1,PROT-01,STATE,2016,goods_and_services,500.00,EUR,\n",
    ),
    (
        RecordKind::Disbursements,
        "plan_code,reference,budget_line_code,date,amount,currency,payee_code,description,reverses\n\
         NAP-2,D-OTHER,BL-1,2016-03-01,50.00,EUR,,,\n",
    ),
];

async fn base_plan(db: &DatabaseConnection) {
    for (kind, csv) in BASE_PLAN {
        import(db, kind, csv).await.expect("the base plan imports");
    }
}

async fn second_plan(db: &DatabaseConnection) {
    for (kind, csv) in SECOND_PLAN {
        import(db, kind, csv)
            .await
            .expect("the second plan imports");
    }
}

/// A CSV text: the header, then one line per row, each ended by LF.
fn csv(header: &str, rows: &[&str]) -> String {
    let mut text = format!("{header}\n");
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text
}

// ---------------------------------------------------------------------------------------------
// The service.

async fn import(
    db: &DatabaseConnection,
    kind: RecordKind,
    csv: impl Into<Vec<u8>>,
) -> Result<ImportReport, Error> {
    import_with(db, kind, csv, ImportOptions::default()).await
}

async fn import_with(
    db: &DatabaseConnection,
    kind: RecordKind,
    csv: impl Into<Vec<u8>>,
    options: ImportOptions,
) -> Result<ImportReport, Error> {
    let source = Source::from_bytes(kind.file_name(), csv.into());
    import_file(db, kind, source, &options, &NoProgress).await
}

/// The problems of an import that must have been refused for its data.
fn refused(result: Result<ImportReport, Error>) -> Vec<FieldError> {
    match result {
        Err(Error::Invalid { details, .. }) => details,
        other => panic!("expected the import to be refused with details, got {other:?}"),
    }
}

/// Where each problem is: its line and column.
fn places(errors: &[FieldError]) -> Vec<(u64, &str)> {
    errors
        .iter()
        .map(|e| (e.line.unwrap_or(0), e.column.as_str()))
        .collect()
}

/// The message of the one problem at `line` and `column`.
fn message_of(errors: &[FieldError], line: u64, column: &str) -> String {
    let found: Vec<&FieldError> = errors
        .iter()
        .filter(|e| e.line == Some(line) && e.column == column)
        .collect();
    assert_eq!(found.len(), 1, "one problem at {line}/{column}: {errors:?}");
    found[0].message.clone()
}

/// Rows, created, updated and unchanged of a one-file import.
fn counts(report: &ImportReport) -> (u64, u64, u64, u64) {
    assert_eq!(report.files.len(), 1, "{report:?}");
    let file = &report.files[0];
    (file.rows, file.created, file.updated, file.unchanged)
}

async fn export_kind(db: &DatabaseConnection, kind: RecordKind, plan: Option<&str>) -> String {
    let mut out = Vec::new();
    naptrack::service::export::export_csv(db, kind, plan, &mut out)
        .await
        .expect("the kind is exported");
    String::from_utf8(out).expect("UTF-8")
}

/// The cells of every data row of an exported CSV text, read with the csv crate.
fn exported_rows(text: &str) -> Vec<Vec<String>> {
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| {
            r.expect("a valid CSV row")
                .iter()
                .map(String::from)
                .collect()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The binary.

/// Writes `csv` as `file` in the test database's folder and runs
/// `naptrack import KIND FILE ARGS...` there.
fn import_cli(
    test_db: &TestDb,
    kind: &str,
    file: &str,
    csv: impl AsRef<[u8]>,
    args: &[&str],
) -> Output {
    write_file(test_db, file, csv);
    let mut command = vec!["import", kind, file];
    command.extend_from_slice(args);
    naptrack(test_db, &command)
}

/// The line and column of every `FILE:LINE: COLUMN: message` error line the binary printed for
/// `file`, in the order printed (warnings left out).
fn reported(output: &Output, file: &str) -> Vec<(u64, String)> {
    stderr(output)
        .lines()
        .filter(|l| !l.ends_with("(warning)"))
        .filter_map(|l| {
            let rest = l.strip_prefix(file)?.strip_prefix(':')?;
            let (line, rest) = rest.split_once(": ")?;
            let (column, _message) = rest.split_once(": ")?;
            Some((line.parse().ok()?, column.to_owned()))
        })
        .collect()
}

/// The message printed for `file` at `line` and `column`.
fn printed_message(output: &Output, file: &str, line: u64, column: &str) -> String {
    let prefix = format!("{file}:{line}: {column}: ");
    let found: Vec<String> = stderr(output)
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix).map(String::from))
        .collect();
    assert_eq!(found.len(), 1, "one line {prefix}…: {}", stderr(output));
    found[0].clone()
}

/// `(file, rows, created, updated, unchanged)` of each counts line on standard output.
fn printed_counts(output: &Output) -> Vec<(String, u64, u64, u64, u64)> {
    stdout(output)
        .lines()
        .filter_map(|l| {
            let (file, rest) = l.split_once(": ")?;
            let numbers: Vec<u64> = rest
                .split_whitespace()
                .step_by(2)
                .map(|n| n.parse().ok())
                .collect::<Option<_>>()?;
            match numbers[..] {
                [rows, created, updated, unchanged] => {
                    Some((file.to_owned(), rows, created, updated, unchanged))
                }
                _ => None,
            }
        })
        .collect()
}

fn pairs(expected: &[(u64, &str)]) -> Vec<(u64, String)> {
    expected
        .iter()
        .map(|(l, c)| (*l, (*c).to_owned()))
        .collect()
}

/// Asserts a refused import: non-zero exit, no counts on standard output, and exactly the
/// `expected` problems reported for `file`.
fn assert_refused(output: &Output, file: &str, expected: &[(u64, &str)]) {
    assert!(
        !output.status.success(),
        "expected a failure:\n{}",
        stdout(output)
    );
    assert_eq!(stdout(output), "", "a refused import prints no counts");
    assert_eq!(
        reported(output, file),
        pairs(expected),
        "{}",
        stderr(output)
    );
}

/// `(reference, amount)` of every row of a disbursements CSV file.
fn references_and_amounts(bytes: &[u8]) -> BTreeSet<(String, String)> {
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader.headers().expect("a header").clone();
    let position = |name: &str| header.iter().position(|h| h == name).expect(name);
    let (reference, amount) = (position("reference"), position("amount"));
    reader
        .records()
        .map(|r| {
            let r = r.expect("a valid row");
            (r[reference].to_owned(), r[amount].to_owned())
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// 1. The samples.

#[tokio::test]
async fn importing_the_samples_gives_back_every_sample_disbursement_with_identical_amounts() {
    let test_db = TestDb::new().await;
    let samples = samples_dir();
    let sample_disbursements = std::fs::read(samples.join("disbursements.csv")).unwrap();

    let imported = naptrack(&test_db, &["import", samples.to_str().unwrap()]);
    let exported = naptrack(&test_db, &["export", "disbursements"]);

    assert!(imported.status.success(), "{}", stderr(&imported));
    assert!(exported.status.success(), "{}", stderr(&exported));
    let expected = references_and_amounts(&sample_disbursements);
    assert_eq!(expected.len(), 397, "the samples hold 397 disbursements");
    assert_eq!(references_and_amounts(&exported.stdout), expected);
    let disbursements_line = printed_counts(&imported)
        .into_iter()
        .find(|(file, ..)| file.ends_with("disbursements.csv"));
    assert_eq!(
        disbursements_line
            .map(|(_, rows, created, updated, unchanged)| (rows, created, updated, unchanged)),
        Some((397, 397, 0, 0))
    );
}

#[tokio::test]
async fn importing_the_samples_a_second_time_creates_nothing_and_changes_nothing() {
    let test_db = TestDb::new().await;
    let samples = samples_dir();
    let first = naptrack(&test_db, &["import", samples.to_str().unwrap()]);
    assert!(first.status.success(), "{}", stderr(&first));
    let db = test_db.connect().await;
    let before = export_everything(&db).await;

    let second = naptrack(&test_db, &["import", samples.to_str().unwrap()]);

    assert!(second.status.success(), "{}", stderr(&second));
    let counts = printed_counts(&second);
    assert_eq!(
        counts.len(),
        12,
        "one line per sample file: {}",
        stdout(&second)
    );
    for (file, rows, created, updated, unchanged) in counts {
        assert!(rows > 0, "{file}");
        assert_eq!((created, updated, unchanged), (0, 0, rows), "{file}");
    }
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn every_row_of_every_sample_file_loads_through_the_binary_without_an_error_or_a_warning() {
    // The sample generator leaves judging its files to the importer: this is that judgement.
    let test_db = TestDb::new().await;
    let samples = samples_dir();

    let imported = naptrack(&test_db, &["import", samples.to_str().unwrap()]);

    assert!(imported.status.success(), "{}", stderr(&imported));
    assert!(
        !stderr(&imported).contains("(warning)"),
        "{}",
        stderr(&imported)
    );
    let counts = printed_counts(&imported);
    assert_eq!(counts.len(), 12, "{}", stdout(&imported));
    for (file, rows, created, updated, unchanged) in counts {
        let name = std::path::Path::new(&file).file_name().unwrap();
        let records = csv::Reader::from_path(samples.join(name))
            .unwrap()
            .records()
            .count() as u64;
        assert_eq!(
            (rows, created, updated, unchanged),
            (records, records, 0, 0),
            "{file}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Bad input is reported with its line and column and changes nothing.

#[tokio::test]
async fn an_unknown_column_is_reported_on_the_header_line_and_nothing_is_imported() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;

    let output = import_cli(
        &test_db,
        "institutions",
        "institutions.csv",
        "code,name,kind,colour\nNEW,New body,ngo,red\n",
        &[],
    );

    assert_refused(&output, "institutions.csv", &[(1, "colour")]);
    assert!(
        printed_message(&output, "institutions.csv", 1, "colour").contains("unknown column"),
        "{}",
        stderr(&output)
    );
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn a_missing_required_column_is_reported_on_the_header_line_and_nothing_is_imported() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;

    let output = import_cli(
        &test_db,
        "disbursements",
        "disbursements.csv",
        "reference,budget_line_code,date,currency\nD-2,BL-1,2016-03-02,EUR\n",
        &[],
    );

    assert_refused(&output, "disbursements.csv", &[(1, "amount")]);
    assert!(
        printed_message(&output, "disbursements.csv", 1, "amount").contains("missing"),
        "{}",
        stderr(&output)
    );
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn a_row_with_too_few_or_too_many_fields_is_reported_with_its_line() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;

    let output = import_cli(
        &test_db,
        "institutions",
        "institutions.csv",
        csv(
            INSTITUTIONS_HEADER,
            &[
                "GOOD,Good body,ngo,",
                "SHORT,Short row",
                "LONG,Long row,ngo,,extra",
            ],
        ),
        &[],
    );

    assert_refused(&output, "institutions.csv", &[(3, "-"), (4, "-")]);
    assert!(
        printed_message(&output, "institutions.csv", 3, "-").contains("2 fields"),
        "{}",
        stderr(&output)
    );
    assert!(
        printed_message(&output, "institutions.csv", 4, "-").contains("5 fields"),
        "{}",
        stderr(&output)
    );
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn invalid_utf8_in_a_cell_is_reported_with_its_line_and_column() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;
    let mut file = b"code,name,kind,iati_ref\nGOOD,Good body,ngo,\nBAD,Caf".to_vec();
    file.extend_from_slice(b"\xe9 Latin-1,ngo,\n");

    let output = import_cli(&test_db, "institutions", "institutions.csv", file, &[]);

    assert_refused(&output, "institutions.csv", &[(3, "name")]);
    assert!(
        printed_message(&output, "institutions.csv", 3, "name").contains("UTF-8"),
        "{}",
        stderr(&output)
    );
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn an_impossible_date_and_a_date_in_another_format_are_both_reported() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;

    let output = import_cli(
        &test_db,
        "disbursements",
        "disbursements.csv",
        csv(
            DISBURSEMENTS_HEADER,
            &[
                "NAP,D-2,BL-1,2016-02-30,10.00,EUR,,,",
                "NAP,D-3,BL-1,2016/01/05,10.00,EUR,,,",
            ],
        ),
        &[],
    );

    assert_refused(&output, "disbursements.csv", &[(2, "date"), (3, "date")]);
    assert!(
        printed_message(&output, "disbursements.csv", 2, "date").contains("2016-02-30"),
        "{}",
        stderr(&output)
    );
    assert!(
        printed_message(&output, "disbursements.csv", 3, "date").contains("YYYY-MM-DD"),
        "{}",
        stderr(&output)
    );
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn a_leap_day_and_the_last_day_of_a_month_are_accepted_as_dates() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;

    let report = import(
        &db,
        RecordKind::Disbursements,
        csv(
            DISBURSEMENTS_HEADER,
            &[
                "NAP,D-2,BL-1,2016-02-29,10.00,EUR,,,",
                "NAP,D-3,BL-1,2016-12-31,10.00,EUR,,,",
            ],
        ),
    )
    .await
    .unwrap();

    assert_eq!(counts(&report), (2, 2, 0, 0));
    let exported = export_kind(&db, RecordKind::Disbursements, None).await;
    assert!(
        exported.contains("NAP,D-2,BL-1,2016-02-29,10.00,EUR,,,\n"),
        "{exported}"
    );
    assert!(
        exported.contains("NAP,D-3,BL-1,2016-12-31,10.00,EUR,,,\n"),
        "{exported}"
    );
}

#[tokio::test]
async fn every_malformed_amount_is_reported_and_none_is_rounded_or_truncated() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;

    let output = import_cli(
        &test_db,
        "budget-lines",
        "budget_lines.csv",
        csv(
            BUDGET_LINES_HEADER,
            &[
                "NAP,BL-2,PROT-01,STATE,2016,goods_and_services,1.00001,EUR,",
                "NAP,BL-3,PROT-01,STATE,2016,goods_and_services,1e3,EUR,",
                "NAP,BL-4,PROT-01,STATE,2016,goods_and_services,\"1,234.50\",EUR,",
                "NAP,BL-5,PROT-01,STATE,2016,goods_and_services,NaN,EUR,",
                "NAP,BL-6,PROT-01,STATE,2016,goods_and_services,123456789012345,EUR,",
                "NAP,BL-7,PROT-01,STATE,2016,goods_and_services,,EUR,",
                "NAP,BL-8,PROT-01,STATE,2016,goods_and_services, 12.00,EUR,",
            ],
        ),
        &[],
    );

    let file = "budget_lines.csv";
    assert_refused(
        &output,
        file,
        &[
            (2, "amount"),
            (3, "amount"),
            (4, "amount"),
            (5, "amount"),
            (6, "amount"),
            (7, "amount"),
            (8, "amount"),
        ],
    );
    assert!(printed_message(&output, file, 2, "amount").contains("5 fraction digits"));
    assert!(printed_message(&output, file, 3, "amount").contains("exponent"));
    assert!(printed_message(&output, file, 4, "amount").contains("thousands separators"));
    assert!(printed_message(&output, file, 5, "amount").contains("\"NaN\""));
    assert!(printed_message(&output, file, 6, "amount").contains("15 integer digits"));
    assert!(printed_message(&output, file, 7, "amount").contains("required"));
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn the_largest_and_smallest_amounts_are_accepted_and_stored_exactly() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;

    let report = import(
        &db,
        RecordKind::BudgetLines,
        csv(
            BUDGET_LINES_HEADER,
            &[
                "NAP,BL-MAX,PROT-01,STATE,2016,goods_and_services,99999999999999.9999,EUR,",
                "NAP,BL-MIN,PROT-01,STATE,2016,goods_and_services,0.0001,EUR,",
                "NAP,BL-PAD,PROT-01,STATE,2016,goods_and_services,00012345678901234.5678,EUR,",
                "NAP,BL-ZERO,PROT-01,STATE,2016,goods_and_services,0,EUR,",
            ],
        ),
    )
    .await
    .unwrap();

    assert_eq!(counts(&report), (4, 4, 0, 0));
    let amounts: Vec<(String, String)> =
        exported_rows(&export_kind(&db, RecordKind::BudgetLines, None).await)
            .into_iter()
            .map(|row| (row[1].clone(), row[6].clone()))
            .collect();
    assert_eq!(
        amounts,
        [
            ("BL-1".to_owned(), "1000.00".to_owned()),
            ("BL-MAX".to_owned(), "99999999999999.9999".to_owned()),
            ("BL-MIN".to_owned(), "0.0001".to_owned()),
            ("BL-PAD".to_owned(), "12345678901234.5678".to_owned()),
            ("BL-ZERO".to_owned(), "0.00".to_owned()),
        ]
    );
}

#[tokio::test]
async fn malformed_disbursement_amounts_are_all_reported_and_nothing_is_recorded() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;

    let result = import(
        &db,
        RecordKind::Disbursements,
        csv(
            DISBURSEMENTS_HEADER,
            &[
                "NAP,D-2,BL-1,2016-03-02,10.00001,EUR,,,",
                "NAP,D-3,BL-1,2016-03-02,1E2,EUR,,,",
                "NAP,D-4,BL-1,2016-03-02,\"1,234.50\",EUR,,,",
                "NAP,D-5,BL-1,2016-03-02,nan,EUR,,,",
                "NAP,D-6,BL-1,2016-03-02,100000000000000,EUR,,,",
                "NAP,D-7,BL-1,2016-03-02,,EUR,,,",
                "NAP,D-8,BL-1,2016-03-02,0.00,EUR,,,",
            ],
        ),
    )
    .await;

    let errors = refused(result);
    assert_eq!(
        places(&errors),
        [
            (2, "amount"),
            (3, "amount"),
            (4, "amount"),
            (5, "amount"),
            (6, "amount"),
            (7, "amount"),
            (8, "amount"),
        ]
    );
    assert!(message_of(&errors, 8, "amount").contains("zero"));
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn an_unknown_currency_code_is_reported_with_its_line() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;

    let output = import_cli(
        &test_db,
        "disbursements",
        "disbursements.csv",
        csv(
            DISBURSEMENTS_HEADER,
            &[
                "NAP,D-2,BL-1,2016-03-02,10.00,EUR,,,",
                "NAP,D-3,BL-1,2016-03-02,10.00,EUX,,,",
                "NAP,D-4,BL-1,2016-03-02,10.00,eur,,,",
            ],
        ),
        &[],
    );

    assert_refused(
        &output,
        "disbursements.csv",
        &[(3, "currency"), (4, "currency")],
    );
    assert!(printed_message(&output, "disbursements.csv", 3, "currency").contains("EUX"));
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn a_currency_other_than_the_budget_lines_is_accepted_with_a_warning() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;

    let output = import_cli(
        &test_db,
        "disbursements",
        "disbursements.csv",
        csv(
            DISBURSEMENTS_HEADER,
            &["NAP,D-2,BL-1,2016-03-02,10.00,USD,,,"],
        ),
        &[],
    );

    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "disbursements.csv: 1 row: 1 created, 0 updated, 0 unchanged\n"
    );
    assert!(
        stderr(&output).contains("disbursements.csv:2: currency: ")
            && stderr(&output).contains("(warning)"),
        "{}",
        stderr(&output)
    );
    let exported = export_kind(&db, RecordKind::Disbursements, None).await;
    assert!(
        exported.contains("NAP,D-2,BL-1,2016-03-02,10.00,USD,,,\n"),
        "{exported}"
    );
}

#[tokio::test]
async fn references_to_records_that_do_not_exist_are_reported_on_their_lines() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;

    let output = import_cli(
        &test_db,
        "budget-lines",
        "budget_lines.csv",
        csv(
            BUDGET_LINES_HEADER,
            &[
                "NAP,BL-2,PROT-99,STATE,2016,goods_and_services,10.00,EUR,",
                "NAP,BL-3,PROT-01,NOPE,2016,goods_and_services,10.00,EUR,",
                "NAP,BL-4,PROT-01,STATE,2016,goods_and_services,10.00,EUR,OBL-9",
                "NAP,BL-5,prot-01,STATE,2016,goods_and_services,10.00,EUR,",
            ],
        ),
        &[],
    );

    let file = "budget_lines.csv";
    assert_refused(
        &output,
        file,
        &[
            (2, "activity_code"),
            (3, "funding_source_code"),
            (4, "obligation_code"),
            (5, "activity_code"),
        ],
    );
    assert!(printed_message(&output, file, 2, "activity_code").contains("PROT-99"));
    assert!(printed_message(&output, file, 3, "funding_source_code").contains("NOPE"));
    assert!(printed_message(&output, file, 4, "obligation_code").contains("OBL-9"));
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn the_same_code_twice_in_one_file_is_reported_on_the_second_line() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;

    let output = import_cli(
        &test_db,
        "institutions",
        "institutions.csv",
        csv(
            INSTITUTIONS_HEADER,
            &[
                "NEW,New body,ngo,",
                "OTHER,Other body,ngo,",
                "NEW,New body again,ngo,",
            ],
        ),
        &[],
    );

    assert_refused(&output, "institutions.csv", &[(4, "code")]);
    assert!(
        printed_message(&output, "institutions.csv", 4, "code").contains("line 2"),
        "{}",
        stderr(&output)
    );
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn the_same_disbursement_reference_twice_in_one_file_is_reported_on_the_second_line() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;

    let output = import_cli(
        &test_db,
        "disbursements",
        "disbursements.csv",
        csv(
            DISBURSEMENTS_HEADER,
            &[
                "NAP,D-2,BL-1,2016-03-02,10.00,EUR,,,",
                "NAP,D-2,BL-1,2016-03-02,10.00,EUR,,,",
            ],
        ),
        &[],
    );

    assert_refused(&output, "disbursements.csv", &[(3, "reference")]);
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn the_same_code_in_two_plans_is_two_records() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    second_plan(&db).await;

    let report = import(
        &db,
        RecordKind::Objectives,
        csv(
            OBJECTIVES_HEADER,
            &["NAP,PREV,Prevention,", "NAP-2,PREV,Prevention in plan 2,"],
        ),
    )
    .await
    .unwrap();

    assert_eq!(counts(&report), (2, 2, 0, 0));
    assert!(
        export_kind(&db, RecordKind::Objectives, Some("NAP"))
            .await
            .contains("NAP,PREV,Prevention,\n")
    );
    assert!(
        export_kind(&db, RecordKind::Objectives, Some("NAP-2"))
            .await
            .contains("NAP-2,PREV,Prevention in plan 2,\n")
    );
}

#[tokio::test]
async fn a_fiscal_year_outside_the_plans_years_is_reported() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;

    let output = import_cli(
        &test_db,
        "budget-lines",
        "budget_lines.csv",
        csv(
            BUDGET_LINES_HEADER,
            &[
                "NAP,BL-2,PROT-01,STATE,2014,goods_and_services,10.00,EUR,",
                "NAP,BL-3,PROT-01,STATE,2015,goods_and_services,10.00,EUR,",
                "NAP,BL-4,PROT-01,STATE,2020,goods_and_services,10.00,EUR,",
            ],
        ),
        &[],
    );

    assert_refused(
        &output,
        "budget_lines.csv",
        &[(2, "fiscal_year"), (4, "fiscal_year")],
    );
    assert!(
        printed_message(&output, "budget_lines.csv", 4, "fiscal_year").contains("2015 to 2019"),
        "{}",
        stderr(&output)
    );
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn the_first_and_last_fiscal_years_of_a_plan_are_accepted_counting_from_its_start_month() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    second_plan(&db).await;

    // NAP runs in calendar years 2015-2019; NAP-2's years start in October, so its last day,
    // 2019-12-31, falls in fiscal year 2020.
    let report = import(
        &db,
        RecordKind::BudgetLines,
        csv(
            BUDGET_LINES_HEADER,
            &[
                "NAP,BL-2015,PROT-01,STATE,2015,goods_and_services,10.00,EUR,",
                "NAP,BL-2019,PROT-01,STATE,2019,goods_and_services,10.00,EUR,",
                "NAP-2,BL-2015,PROT-01,STATE,2015,goods_and_services,10.00,EUR,",
                "NAP-2,BL-2020,PROT-01,STATE,2020,goods_and_services,10.00,EUR,",
            ],
        ),
    )
    .await
    .unwrap();

    assert_eq!(counts(&report), (4, 4, 0, 0));
    let refused_2021 = refused(
        import(
            &db,
            RecordKind::BudgetLines,
            csv(
                BUDGET_LINES_HEADER,
                &["NAP-2,BL-2021,PROT-01,STATE,2021,wages,10.00,EUR,"],
            ),
        )
        .await,
    );
    assert_eq!(places(&refused_2021), [(2, "fiscal_year")]);
}

#[tokio::test]
async fn an_activity_whose_dates_fall_outside_its_plan_is_reported() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;

    let output = import_cli(
        &test_db,
        "activities",
        "activities.csv",
        csv(
            ACTIVITIES_HEADER,
            &[
                "NAP,EARLY,Starts too early,PROT,MOJ,2014-12-31,2016-12-31,ongoing",
                "NAP,EXACT,Runs the whole plan,PROT,MOJ,2015-01-01,2019-12-31,planned",
                "NAP,LATE,Ends too late,PROT,MOJ,2016-01-01,2020-01-01,ongoing",
                "NAP,BACKWARDS,Ends before it starts,PROT,MOJ,2017-01-01,2016-01-01,ongoing",
            ],
        ),
        &[],
    );

    assert_refused(
        &output,
        "activities.csv",
        &[(2, "start_date"), (4, "end_date"), (5, "end_date")],
    );
    assert!(
        printed_message(&output, "activities.csv", 2, "start_date")
            .contains("2015-01-01 to 2019-12-31"),
        "{}",
        stderr(&output)
    );
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn an_activity_that_runs_exactly_the_plans_period_is_accepted() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;

    let report = import(
        &db,
        RecordKind::Activities,
        csv(
            ACTIVITIES_HEADER,
            &["NAP,EXACT,Runs the whole plan,PROT,MOJ,2015-01-01,2019-12-31,planned"],
        ),
    )
    .await
    .unwrap();

    assert_eq!(counts(&report), (1, 1, 0, 0));
}

#[tokio::test]
async fn narrowing_a_plan_so_that_its_activities_fall_outside_it_is_refused() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;

    // PROT-01 runs 2015-01-01 to 2019-12-31 and BL-1 is in fiscal year 2016.
    let result = import(
        &db,
        RecordKind::Plans,
        csv(
            PLANS_HEADER,
            &["NAP,National plan,XK,EUR,2017-01-01,2017-12-31,1"],
        ),
    )
    .await;

    let errors = refused(result);
    assert!(errors.iter().all(|e| e.line == Some(2)), "{errors:?}");
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn an_empty_file_says_so_and_fails() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;

    let output = import_cli(&test_db, "institutions", "empty.csv", "", &[]);

    assert_refused(&output, "empty.csv", &[(1, "-")]);
    assert!(
        printed_message(&output, "empty.csv", 1, "-").contains("empty"),
        "{}",
        stderr(&output)
    );
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn a_file_with_only_a_header_succeeds_with_a_warning_and_imports_nothing() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;

    let output = import_cli(
        &test_db,
        "disbursements",
        "disbursements.csv",
        format!("{DISBURSEMENTS_HEADER}\n"),
        &[],
    );

    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "disbursements.csv: 0 rows: 0 created, 0 updated, 0 unchanged\n"
    );
    let warning = stderr(&output);
    assert!(
        warning.starts_with("disbursements.csv:1: ")
            && warning.contains("no rows")
            && warning.contains("(warning)"),
        "{warning}"
    );
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn several_bad_rows_are_all_reported_at_their_physical_lines_after_multi_line_fields_and_with_crlf()
 {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;
    let file = [
        "code,name,kind,iati_ref",                             // line 1
        "GOOD-1,\"Line one\r\nline two\r\nline three\",ngo,",  // lines 2-4
        "BAD-1,Bad kind,charity,",                             // line 5
        "GOOD-2,\"A \"\"quoted\"\" name, with a comma\",ngo,", // line 6
        ",Missing code,ngo,",                                  // line 7
        "BAD-3,\"Two\r\nlines\",ngo",                          // lines 8-9: three fields
        "BAD-4,Name,government,,extra",                        // line 10: five fields
        "BAD-5,Name,government,\"IATI\r\nwith a line break\"", // lines 11-12
    ]
    .join("\r\n")
        + "\r\n";

    let output = import_cli(&test_db, "institutions", "institutions.csv", file, &[]);

    assert_refused(
        &output,
        "institutions.csv",
        &[
            (5, "kind"),
            (7, "code"),
            (8, "-"),
            (10, "-"),
            (11, "iati_ref"),
        ],
    );
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn several_bad_disbursements_are_all_reported_in_line_order_including_those_found_when_writing()
 {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;
    let mut file = [
        DISBURSEMENTS_HEADER,                                            // line 1
        "NAP,D-2,BL-1,2016-03-02,10.00,EUR,,\"Two\r\nlines\",",          // lines 2-3
        "NAP,D-3,BL-1,2016-02-30,10.00,EUR,,,",                          // line 4: date
        "NAP,D-4,BL-9,2016-03-02,10.00,EUR,,,",                          // line 5: budget line
        "NAP,D-5,BL-1,2016-03-02,10.00,EUR,,\"three\r\nline\r\ntext\",", // lines 6-8
        "NAP,R-1,BL-1,2016-03-05,-150.00,EUR,,,D-1", // line 9: reverses too much
        "NAP,D-2,BL-1,2016-03-02,10.00,EUR,,,",      // line 10: D-2 again
        "NAP,D-6,BL-1,2016-03-02,10.00,EUR,NOBODY,,", // line 11: payee
    ]
    .join("\r\n")
    .into_bytes();
    file.extend_from_slice(b"\r\nNAP,D-7,BL-1,2016-03-02,10.00,EUR,,\xff\xfe,\r\n"); // line 12

    let result = import(&db, RecordKind::Disbursements, file).await;

    let errors = refused(result);
    assert_eq!(
        places(&errors),
        [
            (4, "date"),
            (5, "budget_line_code"),
            (9, "amount"),
            (10, "reference"),
            (11, "payee_code"),
            (12, "description"),
        ]
    );
    assert!(
        errors
            .iter()
            .all(|e| e.file.as_deref() == Some("disbursements.csv"))
    );
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn a_disbursement_reference_repeated_in_a_later_batch_of_the_file_is_reported() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;
    // D-1 is already recorded. It appears on line 2 and again on line 1003, a thousand rows
    // (one write batch) later.
    let mut rows = vec!["NAP,D-1,BL-1,2016-03-01,100.00,EUR,NGO-1,First instalment,".to_owned()];
    rows.extend((0..1000).map(|i| format!("NAP,F-{i:04},BL-1,2016-03-02,0.01,EUR,,,")));
    rows.push("NAP,D-1,BL-1,2016-03-01,100.00,EUR,NGO-1,First instalment,".to_owned());
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();

    let result = import(
        &db,
        RecordKind::Disbursements,
        csv(DISBURSEMENTS_HEADER, &rows),
    )
    .await;

    let errors = refused(result);
    assert_eq!(places(&errors), [(1003, "reference")]);
    assert_eq!(export_everything(&db).await, before);
}

// ---------------------------------------------------------------------------------------------
// 3. What a spreadsheet program writes is accepted.

#[tokio::test]
async fn a_leading_byte_order_mark_is_accepted_also_before_a_quoted_column_name() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;

    let plain = import(
        &db,
        RecordKind::Institutions,
        "\u{feff}code,name,kind,iati_ref\nMOJ,Ministry of Justice,government,\n",
    )
    .await
    .unwrap();
    let quoted = import(
        &db,
        RecordKind::Institutions,
        "\u{feff}\"code\",\"name\",\"kind\"\n\"NGO-1\",\"Shelter NGO\",\"ngo\"\n",
    )
    .await
    .unwrap();

    assert_eq!(counts(&plain), (1, 1, 0, 0));
    assert_eq!(counts(&quoted), (1, 1, 0, 0));
    assert_eq!(
        export_kind(&db, RecordKind::Institutions, None).await,
        "code,name,kind,iati_ref\nMOJ,Ministry of Justice,government,\nNGO-1,Shelter NGO,ngo,\n"
    );
}

#[tokio::test]
async fn crlf_line_ends_are_accepted_and_not_stored() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;

    let output = import_cli(
        &test_db,
        "institutions",
        "institutions.csv",
        "code,name,kind,iati_ref\r\nMOJ,Ministry of Justice,government,\r\nNGO-1,Shelter NGO,ngo,XM-1\r\n",
        &[],
    );

    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "institutions.csv: 2 rows: 2 created, 0 updated, 0 unchanged\n"
    );
    assert_eq!(
        export_kind(&db, RecordKind::Institutions, None).await,
        "code,name,kind,iati_ref\nMOJ,Ministry of Justice,government,\nNGO-1,Shelter NGO,ngo,XM-1\n"
    );
}

#[tokio::test]
async fn quoted_commas_doubled_quotes_and_line_breaks_are_stored_verbatim() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;

    import(
        &db,
        RecordKind::Disbursements,
        csv(
            DISBURSEMENTS_HEADER,
            &[
                "NAP,D-2,BL-1,2016-03-02,10.00,EUR,,\"Rent, \"\"Hope\"\" shelter\nMarch and April\",",
                "NAP,D-3,BL-1,2016-03-02,10.00,EUR,,\"- final instalment, = 3 \"\"parts\"\"\",",
                "NAP,D-4,BL-1,2016-03-02,10.00,EUR,,Überweisung für Frauenhaus – Приштина,",
            ],
        ),
    )
    .await
    .unwrap();

    let descriptions: Vec<String> =
        exported_rows(&export_kind(&db, RecordKind::Disbursements, None).await)
            .into_iter()
            .map(|row| row[7].clone())
            .collect();
    assert_eq!(
        descriptions,
        [
            "First instalment",
            "Rent, \"Hope\" shelter\nMarch and April",
            // The export guards a leading "-" against spreadsheet formulas.
            "'- final instalment, = 3 \"parts\"",
            "Überweisung für Frauenhaus – Приштина",
        ]
    );
}

#[tokio::test]
async fn columns_in_any_order_are_accepted() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;

    let report = import(
        &db,
        RecordKind::Activities,
        "status,end_date,start_date,lead_institution_code,objective_code,title,code,plan_code\n\
         planned,2018-12-31,2016-01-01,NGO-1,PROT,Hotline,PROT-02,NAP\n",
    )
    .await
    .unwrap();

    assert_eq!(counts(&report), (1, 1, 0, 0));
    assert!(
        export_kind(&db, RecordKind::Activities, None)
            .await
            .contains("NAP,PROT-02,Hotline,PROT,NGO-1,2016-01-01,2018-12-31,planned,\n")
    );
}

#[tokio::test]
async fn optional_columns_and_plan_code_may_be_absent_when_the_database_holds_one_plan() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;

    let output = import_cli(
        &test_db,
        "disbursements",
        "disbursements.csv",
        "reference,budget_line_code,date,amount,currency\nD-2,BL-1,2016-03-02,10.00,EUR\n",
        &[],
    );

    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "disbursements.csv: 1 row: 1 created, 0 updated, 0 unchanged\n"
    );
    assert!(
        export_kind(&db, RecordKind::Disbursements, None)
            .await
            .contains("NAP,D-2,BL-1,2016-03-02,10.00,EUR,,,\n")
    );
}

#[tokio::test]
async fn an_empty_required_cell_is_refused_while_an_empty_optional_cell_is_accepted() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;

    let result = import(
        &db,
        RecordKind::Institutions,
        csv(INSTITUTIONS_HEADER, &["NEW,New body,ngo,", "EMPTY,,ngo,"]),
    )
    .await;

    let errors = refused(result);
    assert_eq!(places(&errors), [(3, "name")]);
    assert!(message_of(&errors, 3, "name").contains("required"));
}

// ---------------------------------------------------------------------------------------------
// 4. Idempotency, updates, and disbursements that are never changed.

#[tokio::test]
async fn importing_the_same_files_again_reports_every_row_unchanged_and_changes_nothing() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;

    let mut again = Vec::new();
    for (kind, csv) in BASE_PLAN {
        again.push((kind, counts(&import(&db, kind, csv).await.unwrap())));
    }

    for (kind, (rows, created, updated, unchanged)) in again {
        assert_eq!((created, updated, unchanged), (0, 0, rows), "{kind}");
    }
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn a_changed_title_updates_the_record_and_is_counted_as_updated() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;

    let report = import(
        &db,
        RecordKind::Activities,
        csv(
            ACTIVITIES_HEADER,
            &[
                "NAP,PROT-01,Shelters for victims,PROT,MOJ,2015-01-01,2019-12-31,ongoing",
                "NAP,PROT-02,Hotline,PROT,MOJ,2015-01-01,2019-12-31,planned",
            ],
        ),
    )
    .await
    .unwrap();
    let again = import(
        &db,
        RecordKind::Activities,
        csv(
            ACTIVITIES_HEADER,
            &["NAP,PROT-01,Shelters for victims,PROT,MOJ,2015-01-01,2019-12-31,ongoing"],
        ),
    )
    .await
    .unwrap();

    assert_eq!(counts(&report), (2, 1, 1, 0));
    assert_eq!(counts(&again), (1, 0, 0, 1));
    assert_eq!(
        export_kind(&db, RecordKind::Activities, None).await,
        format!(
            "{ACTIVITIES_HEADER},sector_code\n\
             NAP,PROT-01,Shelters for victims,PROT,MOJ,2015-01-01,2019-12-31,ongoing,\n\
             NAP,PROT-02,Hotline,PROT,MOJ,2015-01-01,2019-12-31,planned,\n"
        )
    );
}

#[tokio::test]
async fn a_recorded_disbursement_with_another_amount_is_refused_with_a_message_about_reversal() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;

    let output = import_cli(
        &test_db,
        "disbursements",
        "disbursements.csv",
        csv(
            DISBURSEMENTS_HEADER,
            &["NAP,D-1,BL-1,2016-03-01,120.00,EUR,NGO-1,First instalment,"],
        ),
        &[],
    );

    assert_refused(&output, "disbursements.csv", &[(2, "reference")]);
    let message = printed_message(&output, "disbursements.csv", 2, "reference");
    assert!(message.contains("reversal"), "{message}");
    assert!(message.contains("100.00"), "{message}");
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn a_recorded_disbursement_with_the_same_content_is_unchanged() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;

    let report = import(
        &db,
        RecordKind::Disbursements,
        csv(
            DISBURSEMENTS_HEADER,
            &[
                "NAP,D-1,BL-1,2016-03-01,100.0000,EUR,NGO-1,First instalment,",
                "NAP,D-2,BL-1,2016-03-02,5.00,EUR,,,",
            ],
        ),
    )
    .await
    .unwrap();

    assert_eq!(counts(&report), (2, 1, 0, 1));
}

#[tokio::test]
async fn a_reversal_of_a_recorded_disbursement_is_accepted() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;

    let report = import(
        &db,
        RecordKind::Disbursements,
        csv(
            DISBURSEMENTS_HEADER,
            &["NAP,D-1-R,BL-1,2016-04-01,-40.00,EUR,NGO-1,Overpaid,D-1"],
        ),
    )
    .await
    .unwrap();

    assert_eq!(counts(&report), (1, 1, 0, 0));
    assert!(
        export_kind(&db, RecordKind::Disbursements, None)
            .await
            .contains("NAP,D-1-R,BL-1,2016-04-01,-40.00,EUR,NGO-1,Overpaid,D-1\n")
    );
}

#[tokio::test]
async fn a_reversal_of_a_disbursement_recorded_earlier_in_the_same_file_is_accepted() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;

    let report = import(
        &db,
        RecordKind::Disbursements,
        csv(
            DISBURSEMENTS_HEADER,
            &[
                "NAP,D-2,BL-1,2016-05-01,70.00,EUR,,,",
                "NAP,D-2-R,BL-1,2016-05-02,-70.00,EUR,,Entered twice,D-2",
            ],
        ),
    )
    .await
    .unwrap();

    assert_eq!(counts(&report), (2, 2, 0, 0));
}

#[tokio::test]
async fn a_reversal_naming_a_disbursement_that_does_not_exist_is_refused() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;

    let result = import(
        &db,
        RecordKind::Disbursements,
        csv(
            DISBURSEMENTS_HEADER,
            &["NAP,R-1,BL-1,2016-04-01,-10.00,EUR,,,D-404"],
        ),
    )
    .await;

    let errors = refused(result);
    assert_eq!(places(&errors), [(2, "reverses")]);
    assert!(message_of(&errors, 2, "reverses").contains("D-404"));
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn a_reversal_naming_a_disbursement_of_another_plan_is_refused() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    second_plan(&db).await;
    let before = export_everything(&db).await;

    // D-OTHER belongs to NAP-2, whose budget line is also called BL-1.
    let result = import(
        &db,
        RecordKind::Disbursements,
        csv(
            DISBURSEMENTS_HEADER,
            &["NAP,R-1,BL-1,2016-04-01,-10.00,EUR,,,D-OTHER"],
        ),
    )
    .await;

    let errors = refused(result);
    assert_eq!(places(&errors), [(2, "reverses")]);
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn a_reversal_with_a_positive_amount_is_refused() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;

    let result = import(
        &db,
        RecordKind::Disbursements,
        csv(
            DISBURSEMENTS_HEADER,
            &["NAP,R-1,BL-1,2016-04-01,10.00,EUR,,,D-1"],
        ),
    )
    .await;

    let errors = refused(result);
    assert_eq!(places(&errors), [(2, "amount")]);
    assert!(message_of(&errors, 2, "amount").contains("negative"));
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn partial_reversals_that_together_exceed_the_original_are_refused_from_the_one_that_exceeds_it()
 {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;

    let result = import(
        &db,
        RecordKind::Disbursements,
        csv(
            DISBURSEMENTS_HEADER,
            &[
                "NAP,R-1,BL-1,2016-04-01,-60.00,EUR,,,D-1",
                "NAP,R-2,BL-1,2016-04-02,-40.01,EUR,,,D-1",
            ],
        ),
    )
    .await;

    let errors = refused(result);
    assert_eq!(places(&errors), [(3, "amount")]);
    assert!(
        message_of(&errors, 3, "amount").contains("40.00"),
        "{errors:?}"
    );
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn partial_reversals_that_together_equal_the_original_are_accepted() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;

    let report = import(
        &db,
        RecordKind::Disbursements,
        csv(
            DISBURSEMENTS_HEADER,
            &[
                "NAP,R-1,BL-1,2016-04-01,-60.00,EUR,,,D-1",
                "NAP,R-2,BL-1,2016-04-02,-40.00,EUR,,,D-1",
            ],
        ),
    )
    .await
    .unwrap();

    assert_eq!(counts(&report), (2, 2, 0, 0));
}

#[tokio::test]
async fn a_reversal_that_would_exceed_what_earlier_imports_left_of_the_original_is_refused() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    import(
        &db,
        RecordKind::Disbursements,
        csv(
            DISBURSEMENTS_HEADER,
            &["NAP,R-1,BL-1,2016-04-01,-60.00,EUR,,,D-1"],
        ),
    )
    .await
    .unwrap();
    let before = export_everything(&db).await;

    let result = import(
        &db,
        RecordKind::Disbursements,
        csv(
            DISBURSEMENTS_HEADER,
            &["NAP,R-2,BL-1,2016-04-02,-50.00,EUR,,,D-1"],
        ),
    )
    .await;

    let errors = refused(result);
    assert_eq!(places(&errors), [(2, "amount")]);
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn a_negative_amount_without_reverses_is_refused() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;

    let result = import(
        &db,
        RecordKind::Disbursements,
        csv(
            DISBURSEMENTS_HEADER,
            &["NAP,D-2,BL-1,2016-04-01,-10.00,EUR,,,"],
        ),
    )
    .await;

    let errors = refused(result);
    assert_eq!(places(&errors), [(2, "amount")]);
    assert!(message_of(&errors, 2, "amount").contains("reverses"));
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn objectives_whose_parents_would_form_a_cycle_are_refused_even_when_both_exist() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    import(
        &db,
        RecordKind::Objectives,
        csv(OBJECTIVES_HEADER, &["NAP,PROT.1,Shelters,PROT"]),
    )
    .await
    .unwrap();
    let before = export_everything(&db).await;

    // PROT.1's parent is PROT; making PROT a child of PROT.1 closes a loop.
    let result = import(
        &db,
        RecordKind::Objectives,
        csv(OBJECTIVES_HEADER, &["NAP,PROT,Protection,PROT.1"]),
    )
    .await;

    let errors = refused(result);
    assert_eq!(places(&errors), [(2, "parent_code")]);
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn objectives_whose_parents_form_a_cycle_within_one_file_are_refused() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;

    let result = import(
        &db,
        RecordKind::Objectives,
        csv(OBJECTIVES_HEADER, &["NAP,A,First,B", "NAP,B,Second,A"]),
    )
    .await;

    let errors = refused(result);
    assert!(
        errors.iter().all(|e| e.column == "parent_code") && !errors.is_empty(),
        "{errors:?}"
    );
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn a_parent_objective_defined_further_down_the_file_is_accepted() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;

    let report = import(
        &db,
        RecordKind::Objectives,
        csv(
            OBJECTIVES_HEADER,
            &["NAP,PREV.1,Awareness,PREV", "NAP,PREV,Prevention,"],
        ),
    )
    .await
    .unwrap();

    assert_eq!(counts(&report), (2, 2, 0, 0));
    assert!(
        export_kind(&db, RecordKind::Objectives, None)
            .await
            .contains("NAP,PREV.1,Awareness,PREV\n")
    );
}

// ---------------------------------------------------------------------------------------------
// 5. --dry-run and --plan.

#[tokio::test]
async fn a_dry_run_reports_the_counts_a_real_import_would_and_writes_nothing() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;
    let file = csv(
        INSTITUTIONS_HEADER,
        &[
            "MOJ,Ministry of Justice and Law,government,",
            "NGO-1,Shelter NGO,ngo,",
            "NEW,New body,other,",
        ],
    );

    let dry = import_cli(
        &test_db,
        "institutions",
        "institutions.csv",
        &file,
        &["--dry-run"],
    );
    let after_dry_run = export_everything(&db).await;
    let real = import_cli(&test_db, "institutions", "institutions.csv", &file, &[]);

    assert!(dry.status.success(), "{}", stderr(&dry));
    assert_eq!(after_dry_run, before);
    let counts_line = "institutions.csv: 3 rows: 1 created, 1 updated, 1 unchanged\n";
    assert!(stdout(&dry).starts_with(counts_line), "{}", stdout(&dry));
    assert!(stdout(&dry).contains("dry run"), "{}", stdout(&dry));
    assert!(real.status.success(), "{}", stderr(&real));
    assert_eq!(stdout(&real), counts_line);
    assert_ne!(export_everything(&db).await, before);
}

#[tokio::test]
async fn a_dry_run_of_the_samples_directory_checks_every_file_and_writes_nothing() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let before = export_everything(&db).await;
    let samples = samples_dir();

    let output = naptrack(
        &test_db,
        &["import", samples.to_str().unwrap(), "--dry-run"],
    );

    assert!(output.status.success(), "{}", stderr(&output));
    let counts = printed_counts(&output);
    assert_eq!(counts.len(), 12, "{}", stdout(&output));
    assert!(
        counts
            .iter()
            .all(|(_, rows, created, _, _)| rows == created && *rows > 0)
    );
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn a_dry_run_reports_errors_exactly_as_a_real_import_does() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;
    let file = csv(
        DISBURSEMENTS_HEADER,
        &[
            "NAP,D-2,BL-1,2016-03-02,10.00,EUR,,,",
            "NAP,D-3,BL-1,2016-03-02,10.001.0,EUR,,,",
            "NAP,D-1,BL-1,2016-03-01,1.00,EUR,,,",
        ],
    );

    let dry = import_cli(
        &test_db,
        "disbursements",
        "disbursements.csv",
        &file,
        &["--dry-run"],
    );
    let real = import_cli(&test_db, "disbursements", "disbursements.csv", &file, &[]);

    assert_refused(
        &dry,
        "disbursements.csv",
        &[(3, "amount"), (4, "reference")],
    );
    assert_eq!(stderr(&dry), stderr(&real));
    assert_eq!(dry.status.code(), real.status.code());
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn plan_names_the_plan_of_a_file_without_a_plan_code_column() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    second_plan(&db).await;

    let output = import_cli(
        &test_db,
        "objectives",
        "objectives.csv",
        "code,title,parent_code\nPREV,Prevention,\nPREV.1,Awareness,PREV\n",
        &["--plan", "NAP-2"],
    );

    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "objectives.csv: 2 rows: 2 created, 0 updated, 0 unchanged\n"
    );
    assert_eq!(
        export_kind(&db, RecordKind::Objectives, Some("NAP-2")).await,
        format!(
            "{OBJECTIVES_HEADER}\nNAP-2,PREV,Prevention,\nNAP-2,PREV.1,Awareness,PREV\nNAP-2,PROT,Protection,\n"
        )
    );
    assert_eq!(
        export_kind(&db, RecordKind::Objectives, Some("NAP")).await,
        format!("{OBJECTIVES_HEADER}\nNAP,PROT,Protection,\n")
    );
}

#[tokio::test]
async fn a_plan_code_that_agrees_with_plan_is_accepted() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    second_plan(&db).await;

    let output = import_cli(
        &test_db,
        "objectives",
        "objectives.csv",
        csv(OBJECTIVES_HEADER, &["NAP-2,PREV,Prevention,"]),
        &["--plan", "NAP-2"],
    );

    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "objectives.csv: 1 row: 1 created, 0 updated, 0 unchanged\n"
    );
}

#[tokio::test]
async fn a_plan_code_that_contradicts_plan_is_an_error() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    second_plan(&db).await;
    let before = export_everything(&db).await;

    let output = import_cli(
        &test_db,
        "objectives",
        "objectives.csv",
        csv(
            OBJECTIVES_HEADER,
            &["NAP-2,PREV,Prevention,", "NAP,PART,Partnership,"],
        ),
        &["--plan", "NAP-2"],
    );

    assert_refused(&output, "objectives.csv", &[(3, "plan_code")]);
    let message = printed_message(&output, "objectives.csv", 3, "plan_code");
    assert!(
        message.contains("\"NAP\"") && message.contains("\"NAP-2\""),
        "{message}"
    );
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn with_two_plans_a_file_naming_no_plan_is_an_error_on_every_row() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    second_plan(&db).await;
    let before = export_everything(&db).await;

    let output = import_cli(
        &test_db,
        "objectives",
        "objectives.csv",
        "code,title,parent_code\nPREV,Prevention,\nPART,Partnership,\n",
        &[],
    );

    assert_refused(
        &output,
        "objectives.csv",
        &[(2, "plan_code"), (3, "plan_code")],
    );
    assert!(
        printed_message(&output, "objectives.csv", 2, "plan_code").contains("--plan"),
        "{}",
        stderr(&output)
    );
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn plan_naming_a_plan_that_does_not_exist_is_an_error() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;

    let output = import_cli(
        &test_db,
        "objectives",
        "objectives.csv",
        "code,title,parent_code\nPREV,Prevention,\n",
        &["--plan", "NOPE"],
    );

    // The plan is checked once for the whole file, before its rows: reported on the header.
    assert_refused(&output, "objectives.csv", &[(1, "plan_code")]);
    assert!(printed_message(&output, "objectives.csv", 1, "plan_code").contains("NOPE"));
    assert_eq!(export_everything(&db).await, before);
}

// ---------------------------------------------------------------------------------------------
// 6 and 7. One file, or one directory, is one transaction.

#[tokio::test]
async fn a_failed_import_leaves_every_kind_exactly_as_it_was_including_updates_it_would_have_made()
{
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;

    let result = import(
        &db,
        RecordKind::BudgetLines,
        csv(
            BUDGET_LINES_HEADER,
            &[
                "NAP,BL-1,PROT-01,STATE,2016,goods_and_services,2000.00,EUR,",
                "NAP,BL-2,PROT-01,STATE,2017,wages,500.00,EUR,",
                "NAP,BL-3,PROT-01,STATE,2030,wages,500.00,EUR,",
            ],
        ),
    )
    .await;

    assert_eq!(places(&refused(result)), [(4, "fiscal_year")]);
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn a_failed_disbursement_import_records_none_of_its_valid_rows() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let before = export_everything(&db).await;

    let result = import(
        &db,
        RecordKind::Disbursements,
        csv(
            DISBURSEMENTS_HEADER,
            &[
                "NAP,D-2,BL-1,2016-03-02,10.00,EUR,,,",
                "NAP,D-2-R,BL-1,2016-03-03,-10.00,EUR,,,D-2",
                "NAP,D-3,BL-1,2016-03-04,10.00,EUR,,,",
                "NAP,D-4,BL-1,2016-03-05,10.00,XXX1,,,",
            ],
        ),
    )
    .await;

    assert_eq!(places(&refused(result)), [(5, "currency")]);
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn a_failing_row_in_the_last_file_of_a_directory_leaves_the_database_exactly_as_it_was() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let first = naptrack(&test_db, &["import", samples_dir().to_str().unwrap()]);
    assert!(first.status.success(), "{}", stderr(&first));
    let before = export_everything(&db).await;
    let folder = copy_samples(&test_db, "input");
    let institutions = std::fs::read_to_string(folder.join("institutions.csv")).unwrap();
    let institutions = institutions.replace(
        "MOJ,Ministry of Justice,government,",
        "MOJ,Ministry of Justice and Law,government,",
    ) + "NEW,A new institution,other,\n";
    write_file(&test_db, "input/institutions.csv", institutions);
    let rates = std::fs::read_to_string(folder.join("exchange_rates.csv")).unwrap();
    let bad_line = rates.lines().count() as u64 + 1;
    write_file(
        &test_db,
        "input/exchange_rates.csv",
        rates + "2020-01-01,USD,EUR,0.9x\n",
    );

    let output = naptrack(&test_db, &["import", "input"]);

    assert_refused(&output, "input/exchange_rates.csv", &[(bad_line, "rate")]);
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn an_error_in_disbursements_means_nothing_from_the_same_directory_is_stored() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let before = export_everything(&db).await;
    let folder = copy_samples(&test_db, "input");
    let disbursements = std::fs::read_to_string(folder.join("disbursements.csv")).unwrap();
    let bad_line = disbursements.lines().count() as u64 + 1;
    write_file(
        &test_db,
        "input/disbursements.csv",
        disbursements + "NAP-2015,D-2015-9999,BL-2015-032,2015-13-01,1.00,EUR,,,\n",
    );

    let output = naptrack(&test_db, &["import", "input"]);
    let institutions = naptrack(&test_db, &["export", "institutions"]);

    assert_refused(&output, "input/disbursements.csv", &[(bad_line, "date")]);
    assert_eq!(export_everything(&db).await, before);
    assert!(institutions.status.success(), "{}", stderr(&institutions));
    assert_eq!(stdout(&institutions), "code,name,kind,iati_ref\n");
}

#[tokio::test]
async fn errors_in_several_files_of_a_directory_are_all_reported_with_their_files() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let before = export_everything(&db).await;
    let folder = copy_samples(&test_db, "input");
    let institutions = std::fs::read_to_string(folder.join("institutions.csv")).unwrap();
    let institutions_line = institutions.lines().count() as u64 + 1;
    write_file(
        &test_db,
        "input/institutions.csv",
        institutions + "ODD,Odd body,club,\n",
    );
    let commitments = std::fs::read_to_string(folder.join("commitments.csv")).unwrap();
    let commitments_line = commitments.lines().count() as u64 + 1;
    write_file(
        &test_db,
        "input/commitments.csv",
        commitments + "NAP-2015,C-2019-999,SB,PROT-99,2019-01-01,,10.00,EUR\n",
    );

    let output = naptrack(&test_db, &["import", "input"]);

    assert!(!output.status.success());
    assert_eq!(
        reported(&output, "input/institutions.csv"),
        pairs(&[(institutions_line, "kind")])
    );
    assert_eq!(
        reported(&output, "input/commitments.csv"),
        pairs(&[(commitments_line, "activity_code")])
    );
    assert_eq!(export_everything(&db).await, before);
}

// ---------------------------------------------------------------------------------------------
// Further rules of reversals and line numbering.

#[tokio::test]
async fn a_reversal_on_another_budget_line_in_another_currency_or_dated_before_the_original_is_refused()
 {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    import(
        &db,
        RecordKind::BudgetLines,
        csv(
            BUDGET_LINES_HEADER,
            &["NAP,BL-2,PROT-01,STATE,2016,wages,1000.00,EUR,"],
        ),
    )
    .await
    .unwrap();
    let before = export_everything(&db).await;

    // D-1 was paid 100.00 EUR on BL-1 on 2016-03-01.
    let result = import(
        &db,
        RecordKind::Disbursements,
        csv(
            DISBURSEMENTS_HEADER,
            &[
                "NAP,R-1,BL-2,2016-04-01,-10.00,EUR,,,D-1",
                "NAP,R-2,BL-1,2016-04-01,-10.00,USD,,,D-1",
                "NAP,R-3,BL-1,2016-02-01,-10.00,EUR,,,D-1",
            ],
        ),
    )
    .await;

    let errors = refused(result);
    assert_eq!(
        places(&errors),
        [(2, "budget_line_code"), (3, "currency"), (4, "date")]
    );
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn a_reversal_of_a_reversal_is_refused() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    import(
        &db,
        RecordKind::Disbursements,
        csv(
            DISBURSEMENTS_HEADER,
            &["NAP,R-1,BL-1,2016-04-01,-10.00,EUR,,,D-1"],
        ),
    )
    .await
    .unwrap();
    let before = export_everything(&db).await;

    let result = import(
        &db,
        RecordKind::Disbursements,
        csv(
            DISBURSEMENTS_HEADER,
            &["NAP,R-2,BL-1,2016-04-02,-5.00,EUR,,,R-1"],
        ),
    )
    .await;

    let errors = refused(result);
    assert_eq!(places(&errors), [(2, "reverses")]);
    let message = message_of(&errors, 2, "reverses");
    assert!(message.contains("original"), "{message}");
    assert_eq!(export_everything(&db).await, before);
}

#[tokio::test]
async fn rows_of_a_file_with_carriage_return_line_ends_are_reported_at_their_own_lines() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let before = export_everything(&db).await;

    let output = import_cli(
        &test_db,
        "institutions",
        "institutions.csv",
        "code,name,kind,iati_ref\rGOOD,Good body,ngo,\rBAD-1,Bad kind,club,\rBAD-2,Bad kind,club,\r",
        &[],
    );

    assert_refused(&output, "institutions.csv", &[(3, "kind"), (4, "kind")]);
    assert_eq!(export_everything(&db).await, before);
}

// ---------------------------------------------------------------------------------------------
// Large files.

/// The definitions of every index of disbursements, by name.
async fn disbursement_indexes(db: &DatabaseConnection) -> Vec<(String, String)> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT indexname AS name, indexdef AS sql FROM pg_indexes \
             WHERE tablename = 'disbursements' ORDER BY 1"
        }
        _ => {
            "SELECT name, COALESCE(sql, '') AS sql FROM sqlite_master \
             WHERE type = 'index' AND tbl_name = 'disbursements' ORDER BY 1"
        }
    };
    db.query_all_raw(Statement::from_string(backend, sql))
        .await
        .unwrap()
        .iter()
        .map(|row| {
            (
                row.try_get("", "name").unwrap(),
                row.try_get("", "sql").unwrap(),
            )
        })
        .collect()
}

/// The plan's disbursed total, from the execution report.
async fn disbursed(db: &DatabaseConnection) -> Amount {
    use naptrack::service::{plans, reports};
    let plan = plans::resolve_plan(db, None).await.unwrap();
    let filters = reports::Filters::default();
    reports::execution(db, &plan, reports::Dimension::FiscalYear, filters)
        .await
        .unwrap()
        .totals
        .disbursed
}

/// `rows` payments of 0.01 to 0.99 on one sample budget line, about 90 bytes each.
fn many_payments(rows: usize) -> (String, i64) {
    use std::fmt::Write;
    let mut csv = String::from(
        "plan_code,reference,budget_line_code,date,amount,currency,payee_code,description,reverses\n",
    );
    let mut cents = 0;
    for i in 0..rows {
        let amount = 1 + (i % 99) as i64;
        cents += amount;
        writeln!(
            csv,
            "NAP-2015,BULK-{i:07},BL-2015-001,2015-06-01,0.{amount:02},EUR,NCO,Bulk payment {i} of a large treasury file,"
        )
        .unwrap();
    }
    (csv, cents)
}

#[tokio::test]
async fn a_large_file_is_loaded_in_bulk_and_leaves_every_index_as_it_was() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    crate::helpers::import_samples_into(&db).await;
    let indexes = disbursement_indexes(&db).await;
    assert!(indexes.len() >= 5, "{indexes:?}");
    // Over 8 MB: large enough for the bulk path on SQLite.
    let (csv, cents) = many_payments(100_000);
    assert!(csv.len() > 8 << 20, "{}", csv.len());

    // A bad last row: the whole file is refused, nothing is written, the indexes stay.
    let bad = format!("{csv}NAP-2015,BULK-BAD,BL-2015-001,2015-06-01,1.2.3,EUR,,,\n");
    let errors = refused(import(&db, RecordKind::Disbursements, bad).await);
    assert_eq!(places(&errors), vec![(100_002, "amount")]);
    assert_eq!(disbursement_indexes(&db).await, indexes);
    let before = crate::helpers::export_everything(&db).await;
    let disbursed_before = disbursed(&db).await;

    let report = import(&db, RecordKind::Disbursements, csv.clone())
        .await
        .unwrap();
    assert_eq!(counts(&report), (100_000, 100_000, 0, 0));
    assert_eq!(disbursement_indexes(&db).await, indexes);
    let added = Amount::parse(&format!("{}.{:02}", cents / 100, cents % 100)).unwrap();
    assert_eq!(
        disbursed(&db).await,
        disbursed_before.checked_add(added).unwrap()
    );
    assert_ne!(crate::helpers::export_everything(&db).await, before);

    // The same file again changes nothing (each reference is looked up now).
    let again = import(&db, RecordKind::Disbursements, csv).await.unwrap();
    assert_eq!(counts(&again), (100_000, 0, 0, 100_000));
    assert_eq!(disbursement_indexes(&db).await, indexes);
}

#[tokio::test]
async fn a_bulk_load_on_postgresql_leaves_the_table_vacuumed_and_analysed() {
    let test_db = TestDb::new().await;
    if test_db.backend() != sea_orm::DbBackend::Postgres {
        // SQLite keeps no visibility map and the app's queries need no statistics there.
        return;
    }
    let db = test_db.connect().await;
    crate::helpers::import_samples_into(&db).await;
    let mut rows = String::from(
        "plan_code,reference,budget_line_code,date,amount,currency,payee_code,description,reverses\n",
    );
    for i in 0..100_000 {
        rows.push_str(&format!(
            "NAP-2015,D-BULK-{i},BL-2015-036,2015-06-01,1.00,EUR,,,\n"
        ));
    }
    crate::helpers::import_csv(&db, RecordKind::Disbursements, &rows).await;

    use sea_orm::ConnectionTrait;
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT last_vacuum IS NOT NULL AS vacuumed, last_analyze IS NOT NULL AS analysed \
             FROM pg_stat_user_tables WHERE relname = 'disbursements'",
        ))
        .await
        .unwrap()
        .unwrap();
    let vacuumed: bool = row.try_get("", "vacuumed").unwrap();
    let analysed: bool = row.try_get("", "analysed").unwrap();
    assert!(
        vacuumed && analysed,
        "vacuumed {vacuumed}, analysed {analysed}"
    );
}

// ---------------------------------------------------------------------------------------------
// Indicators and their values.

const INDICATORS_HEADER: &str = "plan_code,code,title,objective_code,activity_code,result_type,measure,ascending,unit,baseline_year,baseline_value";
const INDICATOR_VALUES_HEADER: &str = "plan_code,indicator_code,fiscal_year,target,actual";

async fn base_indicators(db: &DatabaseConnection) {
    let indicators = csv(
        INDICATORS_HEADER,
        &[
            "NAP,IND-SHARE,Share of places used,PROT,,output,percentage,true,,2014,58.5",
            "NAP,IND-VICTIMS,Victims identified,,PROT-01,outcome,unit,true,victims,2014,57",
        ],
    );
    import(db, RecordKind::Indicators, indicators)
        .await
        .expect("the indicators import");
}

#[tokio::test]
async fn indicators_and_their_values_are_imported_and_exported_as_written() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let indicators = csv(
        INDICATORS_HEADER,
        &[
            "NAP,IND-SHARE,Share of places used,PROT,,output,percentage,true,,2014,58.5",
            "NAP,IND-VICTIMS,Victims identified,,PROT-01,outcome,unit,false,victims,,",
        ],
    );
    let values = csv(
        INDICATOR_VALUES_HEADER,
        &[
            "NAP,IND-SHARE,2016,100,99.9999",
            "NAP,IND-VICTIMS,2015,,41",
            "NAP,IND-VICTIMS,2016,70,",
        ],
    );

    let indicators_report = import(&db, RecordKind::Indicators, indicators.clone()).await;
    let values_report = import(&db, RecordKind::IndicatorValues, values.clone()).await;

    assert_eq!(counts(&indicators_report.expect("accepted")), (2, 2, 0, 0));
    assert_eq!(counts(&values_report.expect("accepted")), (3, 3, 0, 0));
    assert_eq!(
        export_kind(&db, RecordKind::Indicators, None).await,
        indicators
    );
    assert_eq!(
        export_kind(&db, RecordKind::IndicatorValues, None).await,
        values
    );
}

#[tokio::test]
async fn every_bad_indicator_row_is_named_by_line_and_column_and_nothing_is_stored() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let indicators = csv(
        INDICATORS_HEADER,
        &[
            "NAP,I-BOTH,Both,PROT,PROT-01,output,unit,true,,,",
            "NAP,I-NEITHER,Neither,,,output,unit,true,,,",
            "NAP,I-UNKNOWN,Unknown objective,NOPE,,output,unit,true,,,",
            "NAP,I-TYPE,Bad type,PROT,,result,unit,true,,,",
            "NAP,I-YES,Yes,PROT,,output,unit,yes,,,",
            "NAP,I-PCT,Too much,PROT,,output,percentage,true,,2014,100.5",
            "NAP,I-FIVE,Five digits,PROT,,output,unit,true,,2014,1.00001",
            "NAP,I-HALF,Year without value,PROT,,output,unit,true,,2014,",
            "NAP,I-GOOD,Good,PROT,,output,unit,true,,,",
        ],
    );

    let errors = refused(import(&db, RecordKind::Indicators, indicators).await);

    assert_eq!(
        places(&errors),
        vec![
            (2, "objective_code"),
            (2, "activity_code"),
            (3, "objective_code"),
            (3, "activity_code"),
            (4, "objective_code"),
            (5, "result_type"),
            (6, "ascending"),
            (7, "baseline_value"),
            (8, "baseline_value"),
            (9, "baseline_value"),
        ]
    );
    assert!(message_of(&errors, 6, "ascending").contains("true or false"));
    assert!(message_of(&errors, 7, "baseline_value").contains("between 0 and 100"));
    assert_eq!(
        export_kind(&db, RecordKind::Indicators, None).await,
        format!("{INDICATORS_HEADER}\n")
    );
}

#[tokio::test]
async fn every_bad_indicator_value_row_is_named_by_line_and_column_and_nothing_is_stored() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    base_indicators(&db).await;
    let values = csv(
        INDICATOR_VALUES_HEADER,
        &[
            "NAP,IND-SHARE,2016,100.5,",
            "NAP,IND-VICTIMS,2016,1.00001,",
            "NAP,IND-VICTIMS,2017,,",
            "NAP,IND-NOPE,2016,1,",
            "NAP,IND-VICTIMS,2030,1,",
            "NAP,IND-VICTIMS,2018,60,61",
        ],
    );

    let errors = refused(import(&db, RecordKind::IndicatorValues, values).await);

    assert_eq!(
        places(&errors),
        vec![
            (2, "target"),
            (3, "target"),
            (4, "target"),
            (4, "actual"),
            (5, "indicator_code"),
            (6, "fiscal_year"),
        ]
    );
    assert!(message_of(&errors, 2, "target").contains("between 0 and 100"));
    assert!(message_of(&errors, 6, "fiscal_year").contains("outside plan NAP"));
    assert_eq!(
        export_kind(&db, RecordKind::IndicatorValues, None).await,
        format!("{INDICATOR_VALUES_HEADER}\n")
    );
}

#[tokio::test]
async fn indicator_values_import_again_unchanged_and_a_later_import_replaces_both_values() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    base_indicators(&db).await;
    let first = csv(INDICATOR_VALUES_HEADER, &["NAP,IND-VICTIMS,2016,70,65"]);
    let revised = csv(INDICATOR_VALUES_HEADER, &["NAP,IND-VICTIMS,2016,,66"]);

    import(&db, RecordKind::IndicatorValues, first.clone())
        .await
        .expect("accepted");
    let again = import(&db, RecordKind::IndicatorValues, first).await;
    let dry_run = ImportOptions {
        dry_run: true,
        ..ImportOptions::default()
    };
    let dry = import_with(&db, RecordKind::IndicatorValues, revised.clone(), dry_run).await;
    let after_dry_run = export_kind(&db, RecordKind::IndicatorValues, None).await;
    let update = import(&db, RecordKind::IndicatorValues, revised.clone()).await;

    assert_eq!(counts(&again.expect("accepted")), (1, 0, 0, 1));
    assert_eq!(counts(&dry.expect("accepted")), (1, 0, 1, 0));
    assert_eq!(
        after_dry_run,
        csv(INDICATOR_VALUES_HEADER, &["NAP,IND-VICTIMS,2016,70,65"])
    );
    assert_eq!(counts(&update.expect("accepted")), (1, 0, 1, 0));
    assert_eq!(
        export_kind(&db, RecordKind::IndicatorValues, None).await,
        revised
    );
}

// Sectors.

#[tokio::test]
async fn an_activity_with_a_sector_code_outside_the_codelist_is_refused_at_its_line_and_column() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;

    let errors = refused(
        import(
            &db,
            RecordKind::Activities,
            csv(
                &format!("{ACTIVITIES_HEADER},sector_code"),
                &[
                    "NAP,PROT-02,Hotline,PROT,MOJ,2015-01-01,2019-12-31,planned,16010",
                    "NAP,PROT-03,Legal aid,PROT,MOJ,2015-01-01,2019-12-31,planned,15181",
                ],
            ),
        )
        .await,
    );

    assert_eq!(places(&errors), [(3, "sector_code")]);
    assert!(
        message_of(&errors, 3, "sector_code").contains("15181 is not in the IATI Sector codelist"),
        "{errors:?}"
    );
}

#[tokio::test]
async fn an_activity_keeps_its_sector_through_import_and_export() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    base_plan(&db).await;
    let text = csv(
        &format!("{ACTIVITIES_HEADER},sector_code"),
        &[
            "NAP,PROT-01,Shelters,PROT,MOJ,2015-01-01,2019-12-31,ongoing,16010",
            "NAP,PROT-02,Hotline,PROT,MOJ,2015-01-01,2019-12-31,planned,",
        ],
    );

    import(&db, RecordKind::Activities, text.clone())
        .await
        .unwrap();
    let exported = export_kind(&db, RecordKind::Activities, None).await;
    let again = import(&db, RecordKind::Activities, exported.clone())
        .await
        .unwrap();

    assert_eq!(exported, text);
    assert_eq!(counts(&again), (2, 0, 0, 2));
}
