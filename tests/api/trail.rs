//! `naptrack audit verify` checks the records, not only the chain: tampering done with write
//! access to the database (the append-only triggers dropped first, as someone who owns the
//! file can) is caught and named, through the real binary, on both backends.

use naptrack::domain::Role;
use rocket::http::Status;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};

use crate::helpers::{TestApp, TestDb, naptrack, samples_dir, stderr, stdout};

/// Imports the samples with the command line, as a ministry would.
fn import_samples(test_db: &TestDb) {
    let output = naptrack(test_db, &["import", samples_dir().to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
}

/// Drops the append-only triggers of `table`, as someone with the database file can.
async fn drop_triggers(db: &DatabaseConnection, table: &str) {
    let statements = match db.get_database_backend() {
        DbBackend::Postgres => vec![format!(
            "DROP TRIGGER IF EXISTS {table}_append_only ON {table}"
        )],
        _ => vec![
            format!("DROP TRIGGER IF EXISTS {table}_no_update"),
            format!("DROP TRIGGER IF EXISTS {table}_no_delete"),
        ],
    };
    for sql in statements {
        db.execute_unprepared(&sql).await.unwrap();
    }
}

/// `naptrack audit verify`: whether it passed, and what it printed on stderr.
fn verify(test_db: &TestDb) -> (bool, String) {
    let output = naptrack(test_db, &["audit", "verify"]);
    (output.status.success(), stderr(&output))
}

#[tokio::test]
async fn the_imported_samples_verify_and_a_disbursement_multiplied_by_100_is_named() {
    let test_db = TestDb::new().await;
    import_samples(&test_db);
    let output = naptrack(&test_db, &["audit", "verify"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("intact"));

    let db = test_db.connect().await;
    drop_triggers(&db, "disbursements").await;
    db.execute_unprepared(
        "UPDATE disbursements SET amount = amount * 100 WHERE reference = 'D-2016-0052'",
    )
    .await
    .unwrap();

    let (ok, message) = verify(&test_db);
    assert!(!ok);
    assert!(
        message.contains(
            "disbursement NAP-2015/D-2016-0052 is not what the audit trail last recorded for it"
        ),
        "{message}"
    );
    assert!(message.contains("changed outside naptrack"), "{message}");
}

#[tokio::test]
async fn a_deleted_disbursement_and_a_budget_line_added_behind_the_trail_are_named() {
    let test_db = TestDb::new().await;
    import_samples(&test_db);
    let db = test_db.connect().await;
    drop_triggers(&db, "disbursements").await;
    db.execute_unprepared("DELETE FROM disbursements WHERE reference = 'D-2019-0029'")
        .await
        .unwrap();

    let (ok, message) = verify(&test_db);
    assert!(!ok);
    assert!(
        message.contains("disbursement NAP-2015/D-2019-0029 is in the audit trail")
            && message.contains("deleted outside naptrack"),
        "{message}"
    );

    // A budget line added by SQL, a copy of a real one under a new code: the trail never
    // heard of it.
    let test_db = TestDb::new().await;
    import_samples(&test_db);
    let db = test_db.connect().await;
    db.execute_unprepared(
        "INSERT INTO budget_lines (plan_id, code, activity_id, funding_source_id, fiscal_year, \
         category, amount, currency) SELECT plan_id, 'BL-SHADOW', activity_id, \
         funding_source_id, fiscal_year, category, amount, currency FROM budget_lines \
         WHERE code = 'BL-2016-001'",
    )
    .await
    .unwrap();
    let (ok, message) = verify(&test_db);
    assert!(!ok);
    assert!(
        message.contains("budget line NAP-2015/BL-SHADOW is not in the audit trail"),
        "{message}"
    );
}

#[tokio::test]
async fn changed_rows_of_the_trail_itself_break_the_entry_that_wrote_them() {
    let test_db = TestDb::new().await;
    import_samples(&test_db);
    let db = test_db.connect().await;
    // Change a budget line and "fix" the trail's row for it to match.
    db.execute_unprepared("UPDATE budget_lines SET amount = 100 WHERE code = 'BL-2016-001'")
        .await
        .unwrap();
    let (ok, message) = verify(&test_db);
    assert!(
        !ok && message.contains("budget line NAP-2015/BL-2016-001"),
        "{message}"
    );
    drop_triggers(&db, "audit_rows").await;
    db.execute_unprepared(
        "UPDATE audit_rows SET row_hash = 'f00d' WHERE entity_key = 'NAP-2015/BL-2016-001'",
    )
    .await
    .unwrap();

    let (ok, message) = verify(&test_db);
    assert!(!ok);
    assert!(
        message.contains("the audit trail is broken at entry")
            && message.contains("the records it wrote, as the trail holds them, were changed"),
        "{message}"
    );
}

#[rocket::async_test]
async fn an_import_onto_records_changed_behind_the_trail_is_refused_and_stores_nothing() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    let token = app.token_for("clerk@example.org", Role::Recorder).await;
    app.db
        .execute_unprepared("UPDATE budget_lines SET amount = 100 WHERE code = 'BL-2016-001'")
        .await
        .unwrap();
    let before = naptrack::service::audit::head(&app.db).await.unwrap();

    let response = app
        .post_import(
            &token,
            "budget-lines",
            "",
            "plan_code,code,activity_code,funding_source_code,fiscal_year,category,amount,currency\n\
             NAP-2015,BL-NEW,PREV-01,SB,2016,goods_and_services,10.00,EUR\n",
        )
        .await;

    assert_eq!(response.status(), Status::Conflict);
    let body: serde_json::Value = response.into_json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("budget line NAP-2015/BL-2016-001"),
        "{body}"
    );
    assert_eq!(
        naptrack::service::audit::head(&app.db).await.unwrap(),
        before
    );

    let auditor = app.token_for("auditor@example.org", Role::Auditor).await;
    let verification = app
        .get_with(Some(&auditor), "/api/v1/audit/verification")
        .await;
    let body: serde_json::Value = verification.into_json().await.unwrap();
    assert_eq!(body["status"], "differs", "{body}");
    assert_eq!(body["key"], "NAP-2015/BL-2016-001", "{body}");
}

#[rocket::async_test]
async fn records_written_one_at_a_time_and_updated_by_files_verify() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    let token = app.token_for("clerk@example.org", Role::Recorder).await;
    let created = app
        .post_disbursement(
            &token,
            r#"{"plan_code": "NAP-2015", "reference": "D-TRAIL-1", "budget_line_code": "BL-2016-001", "date": "2016-06-01", "amount": "12.34", "currency": "EUR"}"#,
        )
        .await;
    assert_eq!(created.status(), Status::Created);
    let update = app
        .post_import(
            &token,
            "budget-lines",
            "",
            "plan_code,code,activity_code,funding_source_code,fiscal_year,category,amount,currency\n\
             NAP-2015,BL-2016-001,PART-01,SB,2016,goods_and_services,15200.00,EUR\n",
        )
        .await;
    assert_eq!(update.status(), Status::Ok);

    let verification = naptrack::service::audit::verify(&app.db).await.unwrap();
    assert!(
        matches!(
            verification,
            naptrack::service::audit::Verification::Intact { .. }
        ),
        "{verification:?}"
    );
}
