//! Signed checkpoints of the audit trail, through the real binary: `naptrack audit keygen`,
//! `naptrack audit checkpoint` and `naptrack audit verify --checkpoint FILE | --head N:HASH`,
//! on a trail cut short below a checkpoint and on one rewritten from the middle with every
//! later hash recomputed (both invisible to the hash chain alone), and the latest checkpoint
//! in the donor statement and the IATI file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use naptrack::entity::{audit_checkpoint, audit_entry};
use naptrack::service::audit;
use rocket::figment::Figment;
use rocket::http::Status;
use rocket::local::asynchronous::Client;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryOrder, Set,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, TestDb, import_samples_into, stderr, stdout};

/// Runs the real binary on `db`, with `ROCKET_AUDIT_KEY_FILE` set to `key` when given and
/// unset otherwise (an auditor's machine holds no key).
fn naptrack_with_key(db: &TestDb, key: Option<&Path>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_naptrack"));
    command
        .args(args)
        .current_dir(db.dir.path())
        .env("DATABASE_URL", &db.url)
        .env("ROCKET_PROFILE", "release")
        .env("ROCKET_LOG_LEVEL", "off")
        .env_remove("ROCKET_AUDIT_KEY_FILE");
    if let Some(key) = key {
        command.env("ROCKET_AUDIT_KEY_FILE", key);
    }
    command.output().expect("the naptrack binary runs")
}

fn run(db: &TestDb, args: &[&str]) -> Output {
    naptrack_with_key(db, None, args)
}

/// The sample plan and a few users, each a write of the trail: a trail of some length.
async fn audited_db() -> (TestDb, DatabaseConnection) {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;
    for n in 0..4 {
        add_user(&test_db, n);
    }
    let entries = trail_length(&db).await;
    assert!(entries >= 6, "only {entries} audit entries");
    (test_db, db)
}

/// One more entry of the trail, through the binary.
fn add_user(db: &TestDb, n: u32) {
    let email = format!("clerk{n}-{}@ministry.example", rand::random::<u32>());
    let output = run(db, &["user", "add", &email, "--role", "recorder"]);
    assert!(output.status.success(), "{}", stderr(&output));
}

async fn trail_length(db: &DatabaseConnection) -> i64 {
    audit::head(db)
        .await
        .unwrap()
        .map(|(id, _)| id)
        .unwrap_or(0)
}

/// Writes a new key with `naptrack audit keygen -o` and returns its path and public key.
fn keygen(db: &TestDb) -> (PathBuf, String) {
    let path = db
        .dir
        .path()
        .join(format!("audit-{}.key", rand::random::<u32>()));
    let output = run(db, &["audit", "keygen", "-o", path.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let printed = stdout(&output);
    let public_key = printed
        .lines()
        .last()
        .and_then(|line| line.strip_prefix("public key: "))
        .unwrap_or_else(|| panic!("no public key in {printed}"))
        .to_owned();
    (path, public_key)
}

/// Signs a checkpoint with `key`, writes its JSON to a file beside the database and returns
/// both.
fn checkpoint(db: &TestDb, key: &Path) -> (PathBuf, Value) {
    let output = naptrack_with_key(db, Some(key), &["audit", "checkpoint"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: Value = serde_json::from_str(&stdout(&output)).expect("the checkpoint is JSON");
    let path = db
        .dir
        .path()
        .join(format!("checkpoint-{}.json", rand::random::<u32>()));
    std::fs::write(&path, stdout(&output)).unwrap();
    (path, json)
}

/// `naptrack audit verify --checkpoint FILE --public-key KEY` on a machine without the key.
fn verify_checkpoint(db: &TestDb, file: &Path, public_key: &str) -> Output {
    run(
        db,
        &[
            "audit",
            "verify",
            "--checkpoint",
            file.to_str().unwrap(),
            "--public-key",
            public_key,
        ],
    )
}

fn assert_fails_naming(output: &Output, entry: i64, why: &str) {
    assert!(!output.status.success(), "{}", stdout(output));
    let message = stderr(output);
    assert!(
        message.contains(&format!("broken at entry {entry}:")),
        "{message}"
    );
    assert!(message.contains(why), "{message}");
}

/// Drops the triggers that keep the trail append-only (the initial migration's), as the
/// database's owner could.
async fn drop_append_only_triggers(db: &DatabaseConnection) {
    let statements: &[&str] = match db.get_database_backend() {
        DbBackend::Postgres => &["DROP TRIGGER audit_log_append_only ON audit_log"],
        _ => &[
            "DROP TRIGGER audit_log_no_update",
            "DROP TRIGGER audit_log_no_delete",
        ],
    };
    for sql in statements {
        db.execute_unprepared(sql).await.unwrap();
    }
}

/// The hash of an entry, by the algorithm of `src/service/audit.rs` (`entry_hash`): SHA-256
/// over each field's length in decimal, a unit separator, the field and a record separator.
fn entry_hash(entry: &audit_entry::Model) -> String {
    let mut hasher = Sha256::new();
    for field in [
        entry.id.to_string().as_str(),
        &entry.recorded_at,
        &entry.actor,
        &entry.action,
        &entry.entity,
        &entry.entity_key,
        &entry.details,
        &entry.prev_hash,
    ] {
        hasher.update(field.len().to_string().as_bytes());
        hasher.update(b"\x1f");
        hasher.update(field.as_bytes());
        hasher.update(b"\x1e");
    }
    hex::encode(hasher.finalize())
}

/// Forges entry `from`'s details and recomputes its hash and every later entry's link and
/// hash, as someone who knows the algorithm (it is no secret) would: the chain stays valid.
/// The forger keeps the digest of the records the entry wrote (`trail_rows`), so that the
/// records still match the trail and only a checkpoint can tell.
async fn rehash_from(db: &DatabaseConnection, from: i64) {
    let entries = audit_entry::Entity::find()
        .order_by_asc(audit_entry::Column::Id)
        .all(db)
        .await
        .unwrap();
    let mut prev_hash: Option<String> = None;
    for mut entry in entries.into_iter().filter(|e| e.id >= from) {
        if entry.id == from {
            let mut details: Value = serde_json::from_str(&entry.details).unwrap();
            details["forged"] = Value::Bool(true);
            entry.details = details.to_string();
        }
        if let Some(prev) = prev_hash.take() {
            entry.prev_hash = prev;
        }
        entry.hash = entry_hash(&entry);
        prev_hash = Some(entry.hash.clone());
        let mut model = entry.clone().into_active_model();
        model.details = Set(entry.details.clone());
        model.prev_hash = Set(entry.prev_hash.clone());
        model.hash = Set(entry.hash.clone());
        model.update(db).await.unwrap();
    }
}

fn text(json: &Value, field: &str) -> String {
    json[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {json}"))
        .to_owned()
}

fn is_hex(text: &str, digits: usize) -> bool {
    text.len() == digits && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

// --- Keys --------------------------------------------------------------------------------

#[tokio::test]
async fn keygen_writes_an_owner_only_key_file_prints_its_public_key_and_never_overwrites_it() {
    let test_db = TestDb::new().await;

    let (path, public_key) = keygen(&test_db);
    let written = std::fs::read(&path).unwrap();
    let again = run(&test_db, &["audit", "keygen", "-o", path.to_str().unwrap()]);

    assert!(is_hex(&public_key, 64), "{public_key}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        written,
        "the key was replaced"
    );
}

#[tokio::test]
async fn keygen_writes_the_audit_key_file_setting_when_no_file_is_named() {
    let test_db = TestDb::new().await;
    let path = test_db.dir.path().join("configured.key");

    let output = naptrack_with_key(&test_db, Some(&path), &["audit", "keygen"]);

    assert!(output.status.success(), "{}", stderr(&output));
    assert!(path.is_file());
    assert!(stdout(&output).contains("public key: "));
}

#[tokio::test]
async fn a_checkpoint_is_refused_without_a_key_and_nothing_is_stored() {
    let (test_db, db) = audited_db().await;

    let output = run(&test_db, &["audit", "checkpoint"]);

    assert!(!output.status.success(), "{}", stdout(&output));
    assert!(stdout(&output).is_empty(), "{}", stdout(&output));
    assert!(
        stderr(&output).contains("no signing key: set audit_key_file"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        audit_checkpoint::Entity::find().count(&db).await.unwrap(),
        0
    );
}

#[tokio::test]
async fn a_checkpoint_is_refused_with_a_key_file_that_others_may_read() {
    let (test_db, db) = audited_db().await;
    let (key, _) = keygen(&test_db);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();

        let output = naptrack_with_key(&test_db, Some(&key), &["audit", "checkpoint"]);

        assert!(!output.status.success());
        assert!(stderr(&output).contains("chmod 600"), "{}", stderr(&output));
        assert_eq!(
            audit_checkpoint::Entity::find().count(&db).await.unwrap(),
            0
        );
    }
}

// --- Checkpoints -------------------------------------------------------------------------

#[tokio::test]
async fn a_checkpoint_prints_and_stores_the_signed_head_of_the_trail() {
    let (test_db, db) = audited_db().await;
    let (key, public_key) = keygen(&test_db);
    let (entries, head) = audit::head(&db).await.unwrap().unwrap();

    let (_, json) = checkpoint(&test_db, &key);

    assert_eq!(json["entries"].as_i64(), Some(entries));
    assert_eq!(text(&json, "head_hash"), head);
    assert_eq!(text(&json, "public_key"), public_key);
    assert!(is_hex(&text(&json, "signature"), 128), "{json}");
    let signed_at = text(&json, "signed_at");
    assert!(
        chrono::DateTime::parse_from_rfc3339(&signed_at).is_ok(),
        "{signed_at}"
    );
    let stored = audit_checkpoint::Entity::find().all(&db).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].entries, entries);
    assert_eq!(stored[0].head_hash, head);
    assert_eq!(stored[0].signed_at, signed_at);
    assert_eq!(stored[0].signature, text(&json, "signature"));
    // Signing writes no audit entry: the head it signed is still the head.
    assert_eq!(trail_length(&db).await, entries);
}

#[tokio::test]
async fn stored_checkpoints_cannot_be_changed_or_deleted() {
    let (test_db, db) = audited_db().await;
    let (key, _) = keygen(&test_db);
    checkpoint(&test_db, &key);

    let update = db
        .execute_unprepared("UPDATE audit_checkpoints SET entries = 1")
        .await;
    let delete = db.execute_unprepared("DELETE FROM audit_checkpoints").await;

    assert!(update.is_err(), "the UPDATE went through");
    assert!(delete.is_err(), "the DELETE went through");
    assert_eq!(
        audit_checkpoint::Entity::find().count(&db).await.unwrap(),
        1
    );
}

#[tokio::test]
async fn verify_with_a_checkpoint_and_only_the_public_key_passes_on_an_intact_trail() {
    let (test_db, _db) = audited_db().await;
    let (key, public_key) = keygen(&test_db);
    let (file, json) = checkpoint(&test_db, &key);
    // The trail goes on growing after the checkpoint.
    add_user(&test_db, 10);
    add_user(&test_db, 11);

    let output = verify_checkpoint(&test_db, &file, &public_key);

    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains(&format!(
            "it holds the checkpoint signed at {} by the trusted key {public_key}: entry {} with hash {}",
            text(&json, "signed_at"),
            json["entries"],
            text(&json, "head_hash")
        )),
        "{}",
        stdout(&output)
    );
}

#[tokio::test]
async fn verify_with_a_checkpoint_names_the_first_missing_entry_when_the_trail_was_cut_below_it() {
    let (test_db, db) = audited_db().await;
    let (key, public_key) = keygen(&test_db);
    let (file, json) = checkpoint(&test_db, &key);
    let signed = json["entries"].as_i64().unwrap();
    add_user(&test_db, 10);
    add_user(&test_db, 11);
    let kept = signed - 3;
    drop_append_only_triggers(&db).await;

    db.execute_unprepared(&format!("DELETE FROM audit_log WHERE id > {kept}"))
        .await
        .unwrap();

    // The chain alone cannot tell: a shorter trail is a valid chain.
    let plain = run(&test_db, &["audit", "verify"]);
    assert!(plain.status.success(), "{}", stderr(&plain));
    let output = verify_checkpoint(&test_db, &file, &public_key);
    assert_fails_naming(
        &output,
        kept + 1,
        &format!(
            "the trail ends at entry {kept}, but the checkpoint signed entry {signed} with hash {}: entries {} to {signed} were removed",
            text(&json, "head_hash"),
            kept + 1
        ),
    );
}

#[tokio::test]
async fn verify_with_a_checkpoint_names_its_entry_when_the_trail_was_rehashed_from_the_middle() {
    let (test_db, db) = audited_db().await;
    let (key, public_key) = keygen(&test_db);
    let (file, json) = checkpoint(&test_db, &key);
    let signed = json["entries"].as_i64().unwrap();
    add_user(&test_db, 10);
    drop_append_only_triggers(&db).await;

    rehash_from(&db, signed / 2).await;

    let plain = run(&test_db, &["audit", "verify"]);
    assert!(plain.status.success(), "{}", stderr(&plain));
    let output = verify_checkpoint(&test_db, &file, &public_key);
    assert_fails_naming(
        &output,
        signed,
        &format!(
            "but the checkpoint signed {}: the trail was rewritten at or before entry {signed}",
            text(&json, "head_hash")
        ),
    );
}

#[tokio::test]
async fn a_rehash_after_the_checkpoint_leaves_the_signed_head_in_place() {
    let (test_db, db) = audited_db().await;
    let (key, public_key) = keygen(&test_db);
    let (file, json) = checkpoint(&test_db, &key);
    let signed = json["entries"].as_i64().unwrap();
    add_user(&test_db, 10);
    add_user(&test_db, 11);
    drop_append_only_triggers(&db).await;

    rehash_from(&db, signed + 1).await;

    // What was signed is still there; later entries are for the next checkpoint to vouch for.
    let output = verify_checkpoint(&test_db, &file, &public_key);
    assert!(output.status.success(), "{}", stderr(&output));
}

#[tokio::test]
async fn a_checkpoint_whose_head_or_signature_was_changed_or_whose_key_is_not_trusted_is_refused() {
    let (test_db, _db) = audited_db().await;
    let (key, public_key) = keygen(&test_db);
    let (_, json) = checkpoint(&test_db, &key);
    let (_, other_key) = keygen(&test_db);
    let write = |json: &Value| {
        let path = test_db
            .dir
            .path()
            .join(format!("forged-{}.json", rand::random::<u32>()));
        std::fs::write(&path, json.to_string()).unwrap();
        path
    };
    let mut fewer = json.clone();
    fewer["entries"] = Value::from(json["entries"].as_i64().unwrap() - 1);
    let mut signature = json.clone();
    let forged = text(&json, "signature");
    let flipped = if forged.starts_with('0') { "1" } else { "0" };
    signature["signature"] = Value::from(format!("{flipped}{}", &forged[1..]));

    for (what, file, trusted) in [
        ("fewer entries", write(&fewer), public_key.as_str()),
        ("another signature", write(&signature), public_key.as_str()),
        ("an untrusted key", write(&json), other_key.as_str()),
    ] {
        let output = verify_checkpoint(&test_db, &file, trusted);

        assert!(!output.status.success(), "{what}: {}", stdout(&output));
        let message = stderr(&output);
        assert!(
            message.contains("does not verify") || message.contains("not by the trusted key"),
            "{what}: {message}"
        );
    }
}

#[tokio::test]
async fn verify_with_a_head_given_by_a_donor_passes_until_the_trail_is_rewritten() {
    let (test_db, db) = audited_db().await;
    let (entries, hash) = audit::head(&db).await.unwrap().unwrap();
    let head = format!("{entries}:{hash}");

    let intact = run(&test_db, &["audit", "verify", "--head", &head]);
    let malformed = run(&test_db, &["audit", "verify", "--head", "12"]);
    drop_append_only_triggers(&db).await;
    rehash_from(&db, 2).await;
    let rewritten = run(&test_db, &["audit", "verify", "--head", &head]);

    assert!(intact.status.success(), "{}", stderr(&intact));
    assert!(
        stdout(&intact).contains(&format!(
            "it holds the head entry {entries} with hash {hash}"
        )),
        "{}",
        stdout(&intact)
    );
    assert!(!malformed.status.success());
    assert!(
        stderr(&malformed).contains("ENTRIES:HASH"),
        "{}",
        stderr(&malformed)
    );
    assert_fails_naming(&rewritten, entries, "the trail was rewritten");
}

// --- The schedule ------------------------------------------------------------------------

fn scheduled_figment(test_db: &TestDb, key: Option<&Path>) -> Figment {
    let figment = Figment::from(rocket::Config::figment())
        .merge(("database_url", test_db.url.clone()))
        .merge(("load_samples", false))
        .merge(("log_level", "off"))
        .merge(("audit_checkpoint_interval_minutes", 60));
    match key {
        Some(key) => figment.merge(("audit_key_file", key.to_str().unwrap())),
        None => figment,
    }
}

#[tokio::test]
async fn the_server_on_a_schedule_signs_the_moved_head_at_liftoff() {
    let (test_db, db) = audited_db().await;
    let (key, public_key) = keygen(&test_db);
    let (entries, head) = audit::head(&db).await.unwrap().unwrap();

    let client = Client::tracked(naptrack::build(scheduled_figment(&test_db, Some(&key))))
        .await
        .expect("the app launches");
    let mut stored = Vec::new();
    for _ in 0..100 {
        stored = audit_checkpoint::Entity::find().all(&db).await.unwrap();
        if !stored.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    drop(client);

    assert_eq!(stored.len(), 1, "one checkpoint at liftoff");
    assert_eq!(stored[0].entries, entries);
    assert_eq!(stored[0].head_hash, head);
    assert_eq!(stored[0].public_key, public_key);
}

#[tokio::test]
async fn the_server_on_a_schedule_does_not_launch_without_a_key() {
    let test_db = TestDb::new().await;

    let launched = Client::tracked(naptrack::build(scheduled_figment(&test_db, None))).await;

    // Reading the error's kind marks it handled (Rocket panics over an unread one).
    let failed_fairing = launched
        .err()
        .map(|e| matches!(e.kind(), rocket::error::ErrorKind::FailedFairings(_)));
    assert_eq!(
        failed_fairing,
        Some(true),
        "the server launched without a signing key"
    );
}

// --- What donors hold --------------------------------------------------------------------

#[tokio::test]
async fn the_donor_statement_carries_the_latest_checkpoint() {
    let (test_db, _db) = audited_db().await;
    let (key, _) = keygen(&test_db);
    let statement = |format: &str| {
        let output = run(
            &test_db,
            &["report", "donor", "--donor", "EUROL", "--format", format],
        );
        assert!(output.status.success(), "{}", stderr(&output));
        stdout(&output)
    };
    let before: Value = serde_json::from_str(&statement("json")).unwrap();
    checkpoint(&test_db, &key);
    add_user(&test_db, 10);
    let (_, latest) = checkpoint(&test_db, &key);

    let after: Value = serde_json::from_str(&statement("json")).unwrap();
    let table = statement("table");

    assert_eq!(before["checkpoint"], Value::Null);
    assert_eq!(after["checkpoint"], latest);
    assert!(
        table.contains(&format!(
            "Audit checkpoint: entry {} with hash {}, signed at {} by public key {}",
            latest["entries"],
            text(&latest, "head_hash"),
            text(&latest, "signed_at"),
            text(&latest, "public_key")
        )),
        "{table}"
    );
}

#[rocket::async_test]
async fn the_donor_statement_page_and_api_show_the_latest_checkpoint_with_its_public_key() {
    use crate::web::{PASSWORD, add_user as add_web_user};
    use naptrack::domain::Role;

    let app = TestApp::spawn().await;
    app.import_samples().await;
    let (key, public_key) = keygen(app.test_db());
    let (_, json) = checkpoint(app.test_db(), &key);
    add_web_user(&app, "donor@embassy.example", Role::Donor).await;
    app.sign_in("donor@embassy.example", PASSWORD).await;

    let (status, page) = app.page("/reports/donor?donor=EUROL").await;

    assert_eq!(status, Status::Ok, "{page}");
    assert!(page.contains("<h2>Audit checkpoint</h2>"), "{page}");
    assert!(
        page.contains(&format!("<dd class=\"code\">{public_key}</dd>")),
        "{page}"
    );
    assert!(page.contains(&format!(
        "<dd class=\"code\">{}</dd>",
        text(&json, "head_hash")
    )));
    assert!(page.contains(&format!(
        "<dd class=\"code\">{}</dd>",
        text(&json, "signature")
    )));
    assert!(page.contains("-----BEGIN PUBLIC KEY-----"));
    // The API's statement carries the same checkpoint.
    let token = app.token_for("reader@embassy.example", Role::Donor).await;
    let response = app
        .get_with(Some(&token), "/api/v1/reports/donor?donor=EUROL")
        .await;
    assert_eq!(response.status(), Status::Ok);
    let body: Value = serde_json::from_str(&response.into_string().await.unwrap()).unwrap();
    assert_eq!(body["checkpoint"], json);
}

#[tokio::test]
async fn the_iati_file_carries_the_latest_checkpoint_in_a_comment_after_the_declaration() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;
    let (key, public_key) = keygen(&test_db);
    let (_, json) = checkpoint(&test_db, &key);
    let file = test_db.dir.path().join("plan.xml");

    let output = run(&test_db, &["export", "iati", "-o", file.to_str().unwrap()]);

    assert!(output.status.success(), "{}", stderr(&output));
    let xml = std::fs::read_to_string(&file).unwrap();
    let mut lines = xml.lines();
    assert_eq!(
        lines.next(),
        Some(r#"<?xml version="1.0" encoding="UTF-8"?>"#)
    );
    let comment = lines.next().unwrap();
    let carried = comment
        .strip_prefix("<!-- naptrack audit checkpoint: ")
        .and_then(|rest| rest.strip_suffix(" -->"))
        .unwrap_or_else(|| panic!("no checkpoint comment: {comment}"));
    assert_eq!(serde_json::from_str::<Value>(carried).unwrap(), json);
    // What a donor copies out of the file verifies with the public key alone.
    let copied = test_db.dir.path().join("from-iati.json");
    std::fs::write(&copied, carried).unwrap();
    let verified = verify_checkpoint(&test_db, &copied, &public_key);
    assert!(verified.status.success(), "{}", stderr(&verified));
    // The comment changes nothing for IATI: the file is valid and breaks no rule.
    crate::iati::assert_schema_valid(&file);
    let broken: Vec<_> = crate::iati_rules::violations(&xml)
        .into_iter()
        .filter(|v| {
            matches!(
                v.severity,
                crate::iati_rules::Severity::Error | crate::iati_rules::Severity::Warning
            )
        })
        .collect();
    assert!(broken.is_empty(), "{broken:?}");
}
