//! The server answers, the schema enforces the contract's keys and rules by itself, and a
//! failed migration stops the program.

use naptrack::domain::ActivityStatus;
use naptrack::entity::{activity, disbursement};
use naptrack::money::Amount;
use rocket::http::{ContentType, Status};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set, Statement};

use crate::fixtures::{budget_line, date, eur, mini_plan, now};
use crate::helpers::{TestApp, TestDb, naptrack_in, stderr};

#[rocket::async_test]
async fn the_health_check_answers_ok_once_the_database_answers() {
    let app = TestApp::spawn().await;

    let response = app.get_health().await;

    assert_eq!(response.status(), Status::Ok);
    assert_eq!(response.content_type(), Some(ContentType::JSON));
    assert_eq!(response.into_string().await.unwrap(), r#"{"status":"ok"}"#);
}

#[rocket::async_test]
async fn an_unknown_api_route_is_a_json_404_in_the_contract_shape() {
    let app = TestApp::spawn().await;

    let response = app.get("/api/v1/no-such-thing").await;

    assert_eq!(response.status(), Status::NotFound);
    let body: serde_json::Value = response.into_json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/api/v1/no-such-thing")
    );
    assert!(body["error"]["details"].is_array());
}

#[rocket::async_test]
async fn an_unknown_page_is_an_html_404() {
    let app = TestApp::spawn().await;

    let response = app.get("/no-such-page").await;

    assert_eq!(response.status(), Status::NotFound);
    assert_eq!(response.content_type(), Some(ContentType::HTML));
}

#[rocket::async_test]
async fn the_home_page_lists_each_plan_with_its_exact_totals() {
    let app = TestApp::spawn().await;
    let plan = mini_plan(&app.db).await;
    budget_line(&app.db, &plan, "BL-1", Amount::parse("1234567.8").unwrap())
        .await
        .unwrap();
    budget_line(&app.db, &plan, "BL-2", Amount::parse("0.0001").unwrap())
        .await
        .unwrap();

    let response = app.get("/").await;

    assert_eq!(response.status(), Status::Ok);
    let page = response.into_string().await.unwrap();
    assert!(page.contains("NAP"), "{page}");
    assert!(page.contains("EUR 1,234,567.8001"), "{page}");
}

#[rocket::async_test]
async fn the_home_page_says_when_there_is_no_plan() {
    let app = TestApp::spawn().await;

    let page = app.get("/").await.into_string().await.unwrap();

    assert!(page.contains("No plan has been recorded yet"));
}

#[rocket::async_test]
async fn the_database_refuses_a_second_activity_with_the_same_code_in_a_plan() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let plan = mini_plan(&db).await;

    let duplicate = activity::ActiveModel {
        plan_id: Set(plan.plan_id),
        code: Set("PROT-01".into()),
        title: Set("Again".into()),
        objective_id: Set(plan.objective_id),
        lead_institution_id: Set(plan.institution_id),
        start_date: Set(date("2015-01-01")),
        end_date: Set(date("2015-12-31")),
        status: Set(ActivityStatus::Planned),
        ..Default::default()
    }
    .insert(&db)
    .await;

    assert!(duplicate.is_err());
}

#[rocket::async_test]
async fn the_database_refuses_a_reference_to_a_record_that_does_not_exist() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let plan = mini_plan(&db).await;

    let orphan = activity::ActiveModel {
        plan_id: Set(plan.plan_id),
        code: Set("PROT-02".into()),
        title: Set("Orphan".into()),
        objective_id: Set(9999),
        lead_institution_id: Set(plan.institution_id),
        start_date: Set(date("2015-01-01")),
        end_date: Set(date("2015-12-31")),
        status: Set(ActivityStatus::Planned),
        ..Default::default()
    }
    .insert(&db)
    .await;

    assert!(orphan.is_err());
}

#[rocket::async_test]
async fn the_database_refuses_a_word_outside_a_closed_vocabulary() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    mini_plan(&db).await;
    let backend = db.get_database_backend();

    let result = db
        .execute_raw(Statement::from_string(
            backend,
            "UPDATE activities SET status = 'abandoned'",
        ))
        .await;

    assert!(result.is_err());
}

#[rocket::async_test]
async fn a_recorded_disbursement_cannot_be_changed_or_deleted() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let plan = mini_plan(&db).await;
    let line = budget_line(&db, &plan, "BL", Amount::parse("100").unwrap())
        .await
        .unwrap();
    let recorded = disbursement::ActiveModel {
        plan_id: Set(plan.plan_id),
        reference: Set("D-1".into()),
        budget_line_id: Set(line.id),
        date: Set(date("2016-02-01")),
        amount: Set(Amount::parse("40").unwrap()),
        currency: Set(eur()),
        payee_id: Set(None),
        description: Set(None),
        reverses_id: Set(None),
        recorded_at: Set(now()),
        recorded_by: Set(None),
        ..Default::default()
    }
    .insert(&db)
    .await
    .unwrap();
    let backend = db.get_database_backend();

    let update = db
        .execute_raw(Statement::from_string(
            backend,
            "UPDATE disbursements SET amount = 1",
        ))
        .await;
    let delete = db
        .execute_raw(Statement::from_string(backend, "DELETE FROM disbursements"))
        .await;

    assert!(update.is_err() && delete.is_err());
    let kept = disbursement::Entity::find_by_id(recorded.id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.amount.to_string(), "40.00");
}

#[rocket::async_test]
async fn a_failed_migration_stops_the_cli_and_the_server_with_a_clear_message() {
    // A database that already holds an `institutions` table of another shape, with no record
    // of naptrack's migrations: the first migration cannot create its tables.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("foreign.db").display());
    let foreign = naptrack::db::connect(&url, None).await.unwrap();
    foreign
        .execute_unprepared("CREATE TABLE institutions (something_else TEXT)")
        .await
        .unwrap();
    foreign.close().await.unwrap();

    let cli = naptrack_in(dir.path(), &url, &["flags"]);
    let server = naptrack_in(dir.path(), &url, &["serve"]);

    for output in [cli, server] {
        assert!(!output.status.success());
        assert!(
            stderr(&output).contains("the database schema could not be brought up to date"),
            "{}",
            stderr(&output)
        );
    }
}

#[rocket::async_test]
async fn an_unreachable_database_stops_the_cli_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();

    let output = naptrack_in(
        dir.path(),
        "postgres://nobody:secret@127.0.0.1:1/none",
        &["flags"],
    );

    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("cannot open the database"), "{message}");
    assert!(!message.contains("secret"), "the password leaks: {message}");
}
