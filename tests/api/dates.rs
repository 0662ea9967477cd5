//! One date rule everywhere: exactly `YYYY-MM-DD` naming a real day, as a CSV date cell must
//! be. A date option of the command line and a date parameter of the API that is not of that
//! shape (`2016-3-5`) is refused with the importer's message, naming the option.

use naptrack::domain::Role;
use rocket::http::Status;
use serde_json::Value;

use crate::helpers::{TestApp, TestDb, import_samples_into, naptrack, stderr, stdout};

const HOW_TO_WRITE: &str = "\"2016-3-5\" is not a date; write YYYY-MM-DD, for example 2016-03-31";

#[tokio::test]
async fn the_cli_refuses_a_date_without_two_digit_month_and_day_and_says_how_to_write_it() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;

    let flags = naptrack(&test_db, &["flags", "--as-of", "2016-3-5"]);
    let from = naptrack(
        &test_db,
        &[
            "report",
            "execution",
            "--by",
            "activity",
            "--from",
            "2016-3-5",
        ],
    );
    let to = naptrack(
        &test_db,
        &[
            "report",
            "execution",
            "--by",
            "activity",
            "--to",
            "2016-3-5",
        ],
    );

    for (output, option) in [(&flags, "--as-of"), (&from, "--from"), (&to, "--to")] {
        assert!(!output.status.success(), "{option}: {}", stdout(output));
        assert!(
            stderr(output).contains(&format!("{option} must be a date: {HOW_TO_WRITE}")),
            "{option}: {}",
            stderr(output)
        );
        assert!(stdout(output).is_empty(), "{option}: {}", stdout(output));
    }
}

#[tokio::test]
async fn the_cli_refuses_a_day_the_calendar_does_not_have_and_accepts_a_real_one() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;

    let missing_day = naptrack(&test_db, &["flags", "--as-of", "2016-02-30"]);
    let real_day = naptrack(&test_db, &["flags", "--as-of", "2016-02-29"]);

    assert!(!missing_day.status.success());
    assert!(
        stderr(&missing_day)
            .contains("--as-of must be a date: \"2016-02-30\" is not a date of the calendar"),
        "{}",
        stderr(&missing_day)
    );
    assert!(real_day.status.success(), "{}", stderr(&real_day));
}

/// The status and JSON body of `GET uri` with a donor's token.
async fn donor_get(app: &TestApp, token: &str, uri: &str) -> (Status, Value) {
    let response = app.get_with(Some(token), uri).await;
    let status = response.status();
    let text = response.into_string().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, body)
}

#[rocket::async_test]
async fn the_api_refuses_a_date_parameter_without_two_digit_month_and_day_with_a_400() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    let token = app.token_for("donor@example.org", Role::Donor).await;

    for (uri, name) in [
        ("/api/v1/flags?as_of=2016-3-5", "as_of"),
        (
            "/api/v1/reports/execution?by=activity&from=2016-3-5",
            "from",
        ),
        ("/api/v1/reports/execution?by=activity&to=2016-3-5", "to"),
    ] {
        let (status, body) = donor_get(&app, &token, uri).await;

        assert_eq!(status, Status::BadRequest, "{uri}: {body}");
        assert_eq!(body["error"]["code"], "bad_request", "{uri}: {body}");
        assert_eq!(
            body["error"]["message"],
            format!("{name} must be a date: {HOW_TO_WRITE}"),
            "{uri}"
        );
    }
    let (status, body) = donor_get(&app, &token, "/api/v1/flags?as_of=2016-03-05").await;
    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!(body["as_of"], "2016-03-05");
}
