//! The command line's shape: help for every contract command, and usage for an unknown one.

use crate::helpers::{TestDb, naptrack, stderr, stdout};

#[tokio::test]
async fn help_lists_every_contract_command() {
    let db = TestDb::new().await;

    let output = naptrack(&db, &["--help"]);

    assert!(output.status.success());
    let help = stdout(&output);
    for command in [
        "serve", "import", "export", "flags", "report", "user", "audit",
    ] {
        assert!(help.contains(command), "{command} missing from:\n{help}");
    }
}

#[tokio::test]
async fn an_unknown_command_is_refused_with_usage() {
    let db = TestDb::new().await;

    let output = naptrack(&db, &["frobnicate"]);

    assert!(!output.status.success());
    assert!(stderr(&output).contains("Usage"), "{}", stderr(&output));
}

#[tokio::test]
async fn a_backup_is_a_consistent_copy_that_passes_the_audit_check() {
    use naptrack::domain::records::RecordKind;
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    crate::helpers::import_samples_into(&db).await;
    let target = test_db.dir.path().join("backup.db");
    let target_text = target.to_str().unwrap();
    let output = naptrack(&test_db, &["backup", target_text]);
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        // PostgreSQL is backed up with pg_dump: the command says so and writes nothing.
        assert!(!output.status.success());
        assert!(stderr(&output).contains("pg_dump"), "{}", stderr(&output));
        assert!(!target.exists());
        return;
    }
    assert!(output.status.success(), "{}", stderr(&output));
    // Written after the backup: not in it.
    crate::helpers::import_csv(
        &db,
        RecordKind::Disbursements,
        "reference,budget_line_code,date,amount,currency\nD-AFTER,BL-2015-001,2015-06-01,10.00,EUR\n",
    )
    .await;

    let url = format!("sqlite://{target_text}");
    let dir = test_db.dir.path();
    let verify = crate::helpers::naptrack_in(dir, &url, &["audit", "verify"]);
    assert!(verify.status.success(), "{}", stderr(&verify));
    let copied = stdout(&crate::helpers::naptrack_in(
        dir,
        &url,
        &["export", "disbursements"],
    ));
    let live = stdout(&naptrack(&test_db, &["export", "disbursements"]));
    assert!(!copied.contains("D-AFTER"));
    assert!(live.contains("D-AFTER"));
    assert_eq!(copied.lines().count() + 1, live.lines().count());

    // A backup never overwrites a file.
    let again = naptrack(&test_db, &["backup", target_text]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
}

#[tokio::test]
async fn a_backup_whose_audit_trail_was_changed_is_not_restored() {
    use sea_orm::ConnectionTrait;
    let test_db = TestDb::new().await;
    if test_db.backend() == sea_orm::DbBackend::Postgres {
        return; // PostgreSQL is restored with pg_restore; naptrack restore refuses it.
    }
    let db = test_db.connect().await;
    crate::helpers::import_samples_into(&db).await;
    let before = crate::helpers::export_everything(&db).await;
    let backup = test_db.dir.path().join("backup.db");
    let backup_text = backup.to_str().unwrap();
    assert!(
        naptrack(&test_db, &["backup", backup_text])
            .status
            .success()
    );
    // Someone edits an audit entry in the backup (dropping the trigger that forbids it).
    let url = format!("sqlite://{backup_text}");
    let copy = naptrack::db::connect(&url, Some(1)).await.unwrap();
    copy.execute_unprepared(
        "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'nobody' WHERE id = 1",
    )
    .await
    .unwrap();
    copy.close().await.unwrap();

    let output = naptrack(&test_db, &["restore", backup_text]);

    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("fails the audit check at entry 1"),
        "{}",
        stderr(&output)
    );
    assert!(crate::helpers::export_everything(&db).await == before);
    let junk = crate::helpers::write_file(&test_db, "junk.db", "not a database");
    let output = naptrack(&test_db, &["restore", junk.to_str().unwrap()]);
    assert!(
        stderr(&output).contains("is not an SQLite database"),
        "{}",
        stderr(&output)
    );
}
