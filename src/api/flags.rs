//! `GET /api/v1/flags`: the flags of a plan as of a date.

use rocket::http::Status;
use rocket::{State, get};
use sea_orm::DatabaseConnection;

use super::{JsonResponse, QueryParams};
use crate::auth::Reader;
use crate::config::Settings;
use crate::domain::flags::{Kind, Rule, Severity};
use crate::error::{Error, Result};
use crate::service::flags;
use crate::service::plans::resolve_plan;

/// The flags of `?plan=` (or the only plan) as of `?as_of=` (default today), optionally only
/// those of one `kind`, `severity` or `rule`.
#[utoipa::path(
    get,
    path = "/api/v1/flags",
    summary = "The flags of a plan as of a date: unfunded obligations and activities, overspending, low execution, overdue commitments, inactive institutions",
    params(crate::api::openapi::params::FlagsQuery),
    security(("bearer" = ["admin", "recorder", "donor", "auditor"])),
    responses(
        (status = 200, description = "OK", body = crate::service::flags::FlagReport),
        (status = 400, description = "Bad Request", body = crate::api::openapi::schema::ErrorBody),
        (status = 404, description = "Not Found", body = crate::api::openapi::schema::ErrorBody),
        (status = 422, description = "Unprocessable Entity", body = crate::api::openapi::schema::ErrorBody),
    )
)]
#[get("/flags")]
pub async fn get_flags(
    db: &State<DatabaseConnection>,
    settings: &State<Settings>,
    _caller: Reader,
    mut params: QueryParams,
) -> Result<JsonResponse> {
    let plan = params.take("plan");
    let as_of = params
        .take_date("as_of")?
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    let kind = params
        .take("kind")
        .map(|k| k.parse::<Kind>().map_err(Error::BadRequest))
        .transpose()?;
    let severity = params
        .take("severity")
        .map(|s| s.parse::<Severity>().map_err(Error::BadRequest))
        .transpose()?;
    let rule = params
        .take("rule")
        .map(|r| r.parse::<Rule>().map_err(Error::BadRequest))
        .transpose()?;
    params.finish()?;
    let plan = resolve_plan(db.inner(), plan.as_deref()).await?;
    let mut report = flags::flags(db, &plan, as_of, &settings.flags.thresholds()?).await?;
    report.flags.retain(|f| {
        kind.is_none_or(|k| f.kind == k)
            && severity.is_none_or(|s| f.severity == s)
            && rule.is_none_or(|r| f.rule == r)
    });
    let value = serde_json::to_value(&report).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(JsonResponse::new(Status::Ok, &value))
}
