//! `GET /api/v1/export/iati?plan=CODE` (the contract's route) and
//! `GET /api/v1/plans/{code}/iati.xml`: the plan as an IATI 2.03 activity file.

use rocket::http::ContentType;
use rocket::{State, get};
use sea_orm::DatabaseConnection;

use super::QueryParams;
use crate::auth::Reader;
use crate::config::Settings;
use crate::error::Result;
use crate::service::iati::{self, IatiOptions};

/// The plan `code` as `application/xml`, with the transactions up to today. 404 for an
/// unknown plan; 422 when the plan has no activity or a budget needs a missing rate.
#[utoipa::path(
    get,
    path = "/api/v1/plans/{code}/iati.xml",
    summary = "The plan as an IATI 2.03 activity file (iati-activities): one iati-activity per activity, with its budgets per fiscal year and its commitments and disbursements up to today as transactions",
    params(("code" = String, Path, description = "The plan's code.")),
    security(("bearer" = ["admin", "recorder", "donor", "auditor"])),
    responses(
        (status = 200, description = "OK", body = crate::api::openapi::schema::IatiFile, content_type = "application/xml"),
        (status = 400, description = "Bad Request", body = crate::api::openapi::schema::ErrorBody),
        (status = 404, description = "Not Found", body = crate::api::openapi::schema::ErrorBody),
        (status = 422, description = "Unprocessable Entity", body = crate::api::openapi::schema::ErrorBody),
    )
)]
#[get("/plans/<code>/iati.xml")]
pub async fn get_iati(
    db: &State<DatabaseConnection>,
    settings: &State<Settings>,
    _caller: Reader,
    code: &str,
    params: QueryParams,
) -> Result<(ContentType, tokio::fs::File)> {
    params.finish()?;
    iati_file(db, settings, Some(code)).await
}

/// The plan named by `plan` (or the only plan) as `application/xml`, like
/// `GET /api/v1/plans/{code}/iati.xml`.
#[utoipa::path(
    get,
    path = "/api/v1/export/iati",
    summary = "The plan as an IATI 2.03 activity file, as GET /api/v1/plans/{code}/iati.xml gives it",
    params(crate::api::openapi::params::PlanQuery),
    security(("bearer" = ["admin", "recorder", "donor", "auditor"])),
    responses(
        (status = 200, description = "OK", body = crate::api::openapi::schema::IatiFile, content_type = "application/xml"),
        (status = 400, description = "Bad Request", body = crate::api::openapi::schema::ErrorBody),
        (status = 404, description = "Not Found", body = crate::api::openapi::schema::ErrorBody),
        (status = 422, description = "Unprocessable Entity", body = crate::api::openapi::schema::ErrorBody),
    )
)]
#[get("/export/iati")]
pub async fn get_export_iati(
    db: &State<DatabaseConnection>,
    settings: &State<Settings>,
    _caller: Reader,
    mut params: QueryParams,
) -> Result<(ContentType, tokio::fs::File)> {
    let plan = params.take("plan");
    params.finish()?;
    iati_file(db, settings, plan.as_deref()).await
}

/// The IATI file of `plan`, written to an unnamed temporary file first, so that an error is
/// still a clean JSON error, and so that a plan with a million disbursements streams from
/// disk, not memory.
async fn iati_file(
    db: &DatabaseConnection,
    settings: &Settings,
    plan: Option<&str>,
) -> Result<(ContentType, tokio::fs::File)> {
    let options = IatiOptions::now(&settings.iati);
    let (file, _) = iati::export_to_tempfile(db, plan, &options).await?;
    let xml = ContentType::new("application", "xml").with_params(("charset", "utf-8"));
    Ok((xml, tokio::fs::File::from_std(file)))
}
