//! CSV import and export over HTTP: thin over the CSV services, with the same rules.

use std::io::{Seek, Write};

use rocket::data::{Data, Limits, ToByteUnit};
use rocket::http::{ContentType, Status};
use rocket::serde::json::json;
use rocket::{State, get, post};
use sea_orm::DatabaseConnection;

use super::{IdempotencyKey, JsonResponse, KindParam, QueryParams, idempotent};
use crate::auth::{Reader, Writer};
use crate::domain::records::RecordKind;
use crate::error::{Error, FieldError, Result};
use crate::service::export;
use crate::service::import::{self, ImportOptions, NoProgress, Source};

/// `POST /api/v1/import/{entity}?plan=CODE&dry_run=BOOL`: the body is one CSV file, imported
/// whole or not at all. 200 with the counts; 422 with every error by line and column.
#[utoipa::path(
    post,
    path = "/api/v1/import/{entity}",
    summary = "Import one CSV file, whole or not at all",
    params(crate::api::openapi::params::EntityPath, crate::api::openapi::params::ImportQuery),
    request_body(content = String, content_type = "text/csv"),
    security(("bearer" = ["admin", "recorder"])),
    responses(
        (status = 200, description = "OK", body = crate::api::openapi::schema::ImportResult),
        (status = 400, description = "Bad Request", body = crate::api::openapi::schema::ErrorBody),
        (status = 404, description = "Not Found", body = crate::api::openapi::schema::ErrorBody),
        (status = 409, description = "Conflict", body = crate::api::openapi::schema::ErrorBody),
        (status = 413, description = "Payload Too Large", body = crate::api::openapi::schema::ErrorBody),
        (status = 422, description = "Unprocessable Entity", body = crate::api::openapi::schema::ErrorBody),
    )
)]
#[post("/import/<kind>", data = "<body>")]
pub async fn post_import(
    db: &State<DatabaseConnection>,
    kind: KindParam,
    limits: &Limits,
    caller: Result<Writer, Error>,
    key: IdempotencyKey,
    mut params: QueryParams,
    body: Data<'_>,
) -> Result<JsonResponse> {
    let kind = kind.kind()?;
    let caller = caller?;
    let plan = params.take("plan");
    let dry_run = params.take_bool("dry_run")?;
    params.finish()?;
    // The body goes to an unnamed temporary file, so a large file is streamed, not held in
    // memory; the file disappears when it is closed.
    let cap = limits.get("file").unwrap_or_else(|| 64.mebibytes());
    let mut file = tokio::fs::File::from_std(tempfile::tempfile()?);
    let written = body.open(cap).stream_to(&mut file).await?;
    if !written.complete {
        return Err(Error::PayloadTooLarge(cap.to_string()));
    }
    let mut file = file.into_std().await;
    file.flush()?;
    file.rewind()?;
    // A retry with the same Idempotency-Key is recognised by the file's digest, not its bytes.
    let digest = {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        std::io::copy(&mut file, &mut hasher)?;
        file.rewind()?;
        crate::service::audit::hex(&hasher.finalize())
    };
    let path = format!(
        "/api/v1/import/{}?plan={}&dry_run={dry_run}",
        kind.name(),
        plan.as_deref().unwrap_or_default()
    );
    idempotent(
        db,
        &caller.0,
        &key,
        ("POST", &path, digest.as_bytes()),
        || import_body(db, &caller, kind, plan, dry_run, file, written.written),
    )
    .await
}

/// Imports the uploaded file and answers with the contract's counts.
async fn import_body(
    db: &DatabaseConnection,
    caller: &Writer,
    kind: RecordKind,
    plan: Option<String>,
    dry_run: bool,
    file: std::fs::File,
    total_bytes: u64,
) -> Result<JsonResponse> {
    let source = Source {
        name: format!("{}.csv", kind.name().replace('-', "_")),
        reader: Box::new(std::io::BufReader::new(file)),
        total_bytes: Some(total_bytes),
    };
    let options = ImportOptions {
        plan,
        dry_run,
        ..caller.0.import_options()
    };
    let report = import::import_file(db, kind, source, &options, &NoProgress)
        .await
        .map_err(|e| e.map_details(|d| FieldError { file: None, ..d }))?;
    let file = report.files.first();
    let warnings: Vec<_> = file
        .map(|f| {
            f.warnings
                .iter()
                .map(|w| FieldError {
                    file: None,
                    ..w.clone()
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(JsonResponse::new(
        Status::Ok,
        &json!({
            "entity": kind.name(),
            "rows": file.map_or(0, |f| f.rows),
            "created": file.map_or(0, |f| f.created),
            "updated": file.map_or(0, |f| f.updated),
            "unchanged": file.map_or(0, |f| f.unchanged),
            "dry_run": dry_run,
            "warnings": warnings,
        }),
    ))
}

/// `GET /api/v1/export/{entity}?plan=CODE`: the contract's CSV file.
#[utoipa::path(
    get,
    path = "/api/v1/export/{entity}",
    summary = "Export one record kind as the contract's CSV file",
    params(crate::api::openapi::params::EntityPath, crate::api::openapi::params::PlanQuery),
    security(("bearer" = ["admin", "recorder", "donor", "auditor"])),
    responses(
        (status = 200, description = "OK", body = String, content_type = "text/csv"),
        (status = 400, description = "Bad Request", body = crate::api::openapi::schema::ErrorBody),
        (status = 404, description = "Not Found", body = crate::api::openapi::schema::ErrorBody),
    )
)]
#[get("/export/<kind>")]
pub async fn get_export(
    db: &State<DatabaseConnection>,
    kind: KindParam,
    caller: Result<Reader, Error>,
    mut params: QueryParams,
) -> Result<(ContentType, tokio::fs::File)> {
    let kind = kind.kind()?;
    caller?;
    let plan = params.take("plan");
    params.finish()?;
    // Written to an unnamed temporary file first, so an error is still a clean JSON error
    // and a large export is streamed from disk rather than memory.
    let mut file = tempfile::tempfile()?;
    export::export_csv(
        db,
        kind,
        plan.as_deref(),
        std::io::BufWriter::new(&mut file),
    )
    .await?;
    file.rewind()?;
    let csv = ContentType::new("text", "csv").with_params(("charset", "utf-8"));
    Ok((csv, tokio::fs::File::from_std(file)))
}
