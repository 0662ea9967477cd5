//! History that cannot be moved, and two integrity rules of single records (issue #20, points
//! 2 and 5), each both ways, through HTTP and through the import command:
//! - a budget line that carries disbursements keeps its activity, funding source, fiscal year
//!   and currency, while its amount and category may change;
//! - an institution's `iati_ref` is an IATI organisation identifier;
//! - a lone carriage return in a JSON text field is refused, a CRLF stored as LF.

use std::process::Output;

use naptrack::domain::Role;
use rocket::http::{Method, Status};
use rocket::local::asynchronous::LocalResponse;
use serde_json::Value;

use crate::helpers::{
    TestApp, TestDb, export_everything, import_samples_into, naptrack, stderr, stdout, write_file,
};

const BUDGET_LINES_HEADER: &str = "plan_code,code,activity_code,funding_source_code,fiscal_year,category,amount,currency,obligation_code";

/// Sample line BL-2016-003 as the samples hold it; it carries two disbursements.
const SAMPLE_LINE: [&str; 9] = [
    "NAP-2015",
    "BL-2016-003",
    "PART-02",
    "SB",
    "2016",
    "goods_and_services",
    "29400.00",
    "EUR",
    "",
];

/// What a refusal of `column` on BL-2016-003 says, for `what` the column holds.
fn pinned_message(what: &str) -> String {
    format!(
        "budget line BL-2016-003 carries disbursements: its {what} cannot change; create a new \
         line and move the money with reversals"
    )
}

/// The sample line with the cell of `column` (a header name) replaced by `value`.
fn sample_line_with(column: &str, value: &str) -> Vec<String> {
    let position = BUDGET_LINES_HEADER
        .split(',')
        .position(|c| c == column)
        .expect(column);
    let mut cells: Vec<String> = SAMPLE_LINE.iter().map(|c| (*c).to_owned()).collect();
    cells[position] = value.to_owned();
    cells
}

/// The changes a line with disbursements must refuse: column, new value, what it holds.
const PINNED_CHANGES: [(&str, &str, &str); 4] = [
    ("activity_code", "PART-03", "activity"),
    ("funding_source_code", "EU-2016", "funding source"),
    ("fiscal_year", "2017", "fiscal year"),
    ("currency", "USD", "currency"),
];

// ---------------------------------------------------------------------------------------------
// HTTP.

async fn sample_app() -> (TestApp, String) {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    let admin = app.token_for("admin@example.org", Role::Admin).await;
    (app, admin)
}

/// A JSON object of the header's columns and `cells`.
fn json_record(header: &str, cells: &[String]) -> String {
    let object: serde_json::Map<String, Value> = header
        .split(',')
        .zip(cells)
        .map(|(name, value)| (name.to_owned(), Value::String(value.clone())))
        .collect();
    Value::Object(object).to_string()
}

async fn json_of(response: LocalResponse<'_>) -> (Status, Value) {
    let status = response.status();
    let text = response.into_string().await.unwrap_or_default();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("a {status} answer is not JSON ({e}): {text:?}"));
    (status, body)
}

/// `(column, message)` of every detail of an error body.
fn error_details(body: &Value) -> Vec<(String, String)> {
    body["error"]["details"]
        .as_array()
        .unwrap_or_else(|| panic!("the details are not an array: {body}"))
        .iter()
        .map(|d| {
            (
                d["column"].as_str().unwrap_or_default().to_owned(),
                d["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

async fn put_budget_line(app: &TestApp, token: &str, cells: &[String]) -> (Status, Value) {
    let body = json_record(BUDGET_LINES_HEADER, cells);
    json_of(
        app.put_record_request(token, "budget-lines", &cells[1], &body)
            .dispatch()
            .await,
    )
    .await
}

#[tokio::test]
async fn a_budget_line_with_disbursements_takes_a_new_amount_and_category_over_http() {
    let (app, admin) = sample_app().await;
    let mut cells = sample_line_with("amount", "30000.00");
    cells[5] = "wages".to_owned();

    let (status, body) = put_budget_line(&app, &admin, &cells).await;

    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!(body["amount"], "30000.00", "{body}");
    assert_eq!(body["category"], "wages", "{body}");
}

#[tokio::test]
async fn a_budget_line_with_disbursements_keeps_what_they_were_recorded_against_over_http() {
    let (app, admin) = sample_app().await;
    let before = export_everything(&app.db).await;

    for (column, value, what) in PINNED_CHANGES {
        let (status, body) = put_budget_line(&app, &admin, &sample_line_with(column, value)).await;

        assert_eq!(status, Status::UnprocessableEntity, "{column}: {body}");
        assert_eq!(
            error_details(&body),
            [(column.to_owned(), pinned_message(what))],
            "{body}"
        );
    }
    assert_eq!(export_everything(&app.db).await, before, "nothing changed");
}

#[tokio::test]
async fn a_budget_line_without_disbursements_may_change_everything_over_http() {
    let (app, admin) = sample_app().await;
    let mut cells: Vec<String> = SAMPLE_LINE.iter().map(|c| (*c).to_owned()).collect();
    cells[1] = "BL-NEW".to_owned();
    let created = app
        .request(
            Method::Post,
            "/api/v1/budget-lines",
            Some(&admin),
            Some(&json_record(BUDGET_LINES_HEADER, &cells)),
        )
        .dispatch()
        .await;
    assert_eq!(created.status(), Status::Created);
    cells[2] = "PART-03".to_owned();
    cells[3] = "EU-2016".to_owned();
    cells[4] = "2017".to_owned();
    cells[7] = "USD".to_owned();

    let (status, body) = put_budget_line(&app, &admin, &cells).await;

    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!(body["activity_code"], "PART-03", "{body}");
    assert_eq!(body["funding_source_code"], "EU-2016", "{body}");
    assert_eq!(body["currency"], "USD", "{body}");
    assert_eq!(
        body["fiscal_year"].to_string().trim_matches('"'),
        "2017",
        "{body}"
    );
}

async fn post_institution(
    app: &TestApp,
    token: &str,
    code: &str,
    name: &str,
    iati_ref: &str,
) -> (Status, Value) {
    let body = serde_json::json!({"code": code, "name": name, "kind": "ngo", "iati_ref": iati_ref})
        .to_string();
    json_of(
        app.request(
            Method::Post,
            "/api/v1/institutions",
            Some(token),
            Some(&body),
        )
        .dispatch()
        .await,
    )
    .await
}

#[tokio::test]
async fn an_iati_ref_that_is_not_an_organisation_identifier_is_refused_over_http() {
    let (app, admin) = sample_app().await;

    for bad in ["XM DAC 41114", "XM/DAC", "A&B", "A|B", "A?B"] {
        let (status, body) = post_institution(&app, &admin, "NEW-1", "New body", bad).await;

        assert_eq!(status, Status::UnprocessableEntity, "{bad}: {body}");
        let columns: Vec<String> = error_details(&body).into_iter().map(|(c, _)| c).collect();
        assert_eq!(columns, ["iati_ref"], "{body}");
    }
    let (status, body) = post_institution(&app, &admin, "NEW-1", "New body", "XM-DAC-41114").await;
    assert_eq!(status, Status::Created, "{body}");
    assert_eq!(body["iati_ref"], "XM-DAC-41114", "{body}");
}

#[tokio::test]
async fn a_lone_carriage_return_in_a_json_text_field_is_refused_naming_the_field() {
    let (app, admin) = sample_app().await;
    let before = export_everything(&app.db).await;

    for name in [
        "Ministry\rof Justice",
        "Ministry\r",
        "Ministry\r\r\nof Justice",
    ] {
        let (status, body) = post_institution(&app, &admin, "NEW-1", name, "").await;

        assert_eq!(status, Status::UnprocessableEntity, "{name:?}: {body}");
        let columns: Vec<String> = error_details(&body).into_iter().map(|(c, _)| c).collect();
        assert_eq!(columns, ["name"], "{body}");
    }
    assert_eq!(export_everything(&app.db).await, before, "nothing changed");
}

#[tokio::test]
async fn a_crlf_in_a_json_text_field_is_stored_as_lf() {
    let (app, admin) = sample_app().await;

    let (status, body) =
        post_institution(&app, &admin, "NEW-1", "Ministry\r\nof Justice", "").await;

    assert_eq!(status, Status::Created, "{body}");
    assert_eq!(body["name"], "Ministry\nof Justice", "{body}");
}

// ---------------------------------------------------------------------------------------------
// The import command.

/// A database holding the sample plan.
async fn sample_db() -> TestDb {
    let test_db = TestDb::new().await;
    import_samples_into(&test_db.connect().await).await;
    test_db
}

/// Writes `header` and `rows` (cells joined by commas) as `file` and imports it as `kind`.
fn import_rows(
    test_db: &TestDb,
    kind: &str,
    file: &str,
    header: &str,
    rows: &[Vec<String>],
) -> Output {
    let mut text = format!("{header}\n");
    for row in rows {
        text.push_str(&row.join(","));
        text.push('\n');
    }
    write_file(test_db, file, text);
    naptrack(test_db, &["import", kind, file])
}

/// The `FILE:LINE: COLUMN: message` error lines printed (warnings left out).
fn error_lines(output: &Output) -> Vec<String> {
    stderr(output)
        .lines()
        .filter(|l| l.contains(".csv:") && !l.ends_with("(warning)"))
        .map(String::from)
        .collect()
}

#[tokio::test]
async fn a_budget_line_with_disbursements_takes_a_new_amount_and_category_on_import() {
    let test_db = sample_db().await;
    let mut cells = sample_line_with("amount", "30000.00");
    cells[5] = "wages".to_owned();

    let output = import_rows(
        &test_db,
        "budget-lines",
        "budget_lines.csv",
        BUDGET_LINES_HEADER,
        &[cells],
    );

    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("1 updated"), "{}", stdout(&output));
}

#[tokio::test]
async fn a_budget_line_with_disbursements_keeps_what_they_were_recorded_against_on_import() {
    let test_db = sample_db().await;
    let db = test_db.connect().await;
    let before = export_everything(&db).await;

    for (column, value, what) in PINNED_CHANGES {
        let output = import_rows(
            &test_db,
            "budget-lines",
            "budget_lines.csv",
            BUDGET_LINES_HEADER,
            &[sample_line_with(column, value)],
        );

        assert!(!output.status.success(), "{column}: {}", stdout(&output));
        assert_eq!(
            error_lines(&output),
            [format!(
                "budget_lines.csv:2: {column}: {}",
                pinned_message(what)
            )],
            "{}",
            stderr(&output)
        );
    }
    assert_eq!(export_everything(&db).await, before, "nothing changed");
}

#[tokio::test]
async fn a_budget_line_without_disbursements_may_change_everything_on_import() {
    let test_db = sample_db().await;
    let mut cells: Vec<String> = SAMPLE_LINE.iter().map(|c| (*c).to_owned()).collect();
    cells[1] = "BL-NEW".to_owned();
    let first = import_rows(
        &test_db,
        "budget-lines",
        "new.csv",
        BUDGET_LINES_HEADER,
        &[cells.clone()],
    );
    assert!(first.status.success(), "{}", stderr(&first));
    cells[2] = "PART-03".to_owned();
    cells[3] = "EU-2016".to_owned();
    cells[4] = "2017".to_owned();
    cells[7] = "USD".to_owned();

    let output = import_rows(
        &test_db,
        "budget-lines",
        "moved.csv",
        BUDGET_LINES_HEADER,
        &[cells],
    );

    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("1 updated"), "{}", stdout(&output));
}

#[tokio::test]
async fn an_iati_ref_that_is_not_an_organisation_identifier_is_refused_by_line_and_column() {
    let test_db = sample_db().await;
    let rows: Vec<Vec<String>> = [
        "NEW-1,Good body,ngo,XM-DAC-41114",
        "NEW-2,Spaced body,ngo,XM DAC 41114",
        "NEW-3,Slashed body,ngo,XM/DAC",
        "NEW-4,Asked body,ngo,XM?DAC",
    ]
    .iter()
    .map(|r| vec![(*r).to_owned()])
    .collect();

    let output = import_rows(
        &test_db,
        "institutions",
        "institutions.csv",
        "code,name,kind,iati_ref",
        &rows,
    );

    assert!(!output.status.success(), "{}", stdout(&output));
    let lines: Vec<String> = error_lines(&output)
        .iter()
        .map(|l| l.split(": ").take(2).collect::<Vec<_>>().join(": "))
        .collect();
    assert_eq!(
        lines,
        [
            "institutions.csv:3: iati_ref",
            "institutions.csv:4: iati_ref",
            "institutions.csv:5: iati_ref"
        ],
        "{}",
        stderr(&output)
    );

    let good = import_rows(
        &test_db,
        "institutions",
        "good.csv",
        "code,name,kind,iati_ref",
        &rows[..1],
    );
    assert!(good.status.success(), "{}", stderr(&good));
}
