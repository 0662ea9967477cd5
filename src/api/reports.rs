//! `GET /api/v1/reports/execution`, `/reports/results` and `/reports/donor`: the reports, as
//! JSON or CSV.

use rocket::http::{ContentType, Status};
use rocket::response::Responder;
use rocket::{State, get};
use sea_orm::DatabaseConnection;

use super::{JsonResponse, QueryParams};
use crate::auth::Reader;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::service::plans::resolve_plan;
use crate::service::report_cache::ReportCache;
use crate::service::reports::{self, Dimension, Filters};
use crate::service::results;
use crate::service::statements::{self, Giver, Part};

/// JSON, or the CSV file a donor downloads.
#[derive(Responder)]
pub enum ReportResponse {
    Json(JsonResponse),
    Csv((ContentType, Vec<u8>)),
}

/// The execution report of `?plan=` by `?by=`, filtered by `fiscal_year`, `from`, `to`
/// (disbursement dates), `funding_source` and `donor`; `format=json` (default) or `csv`.
#[utoipa::path(
    get,
    path = "/api/v1/reports/execution",
    summary = "Budget execution by a dimension, in the plan's currency: allocated, committed, disbursed, remaining, execution rate, and exact totals",
    params(crate::api::openapi::params::ExecutionQuery),
    security(("bearer" = ["admin", "recorder", "donor", "auditor"])),
    responses(
        (status = 200, description = "OK", content(
            (crate::service::reports::ExecutionReport = "application/json"),
            (crate::api::openapi::schema::CsvFile = "text/csv"),
        )),
        crate::api::openapi::schema::ReportErrors,
    )
)]
#[get("/reports/execution")]
pub async fn get_execution(
    db: &State<DatabaseConnection>,
    cache: &State<ReportCache>,
    _caller: Reader,
    mut params: QueryParams,
) -> Result<ReportResponse> {
    let plan = params.take("plan");
    let by: Dimension = params
        .take("by")
        .ok_or_else(|| Error::BadRequest("name the dimension with ?by=".to_owned()))?
        .parse()?;
    let fiscal_year = take_fiscal_year(&mut params)?;
    let filters = Filters {
        fiscal_year,
        from: params.take_date("from")?,
        to: params.take_date("to")?,
        funding_source: params.take("funding_source"),
        donor: params.take("donor"),
    };
    let format = params.take("format").unwrap_or_else(|| "json".to_owned());
    params.finish()?;
    let plan = resolve_plan(db.inner(), plan.as_deref()).await?;
    let report = cache.execution(db, &plan, by, filters).await?;
    respond(&format, &*report, |report, out| {
        reports::write_csv(report, out)
    })
}

/// The results report of `?plan=`: one row per indicator and fiscal year with a target or an
/// actual, only `fiscal_year` when given; `format=json` (default) or `csv`.
#[utoipa::path(
    get,
    path = "/api/v1/reports/results",
    summary = "Results by indicator and fiscal year: baseline, target, actual, achievement, the money disbursed on what each measures, and the cost per unit, in the plan's currency",
    params(crate::api::openapi::params::ResultsQuery),
    security(("bearer" = ["admin", "recorder", "donor", "auditor"])),
    responses(
        (status = 200, description = "OK", content(
            (crate::service::results::ResultsReport = "application/json"),
            (crate::api::openapi::schema::CsvFile = "text/csv"),
        )),
        crate::api::openapi::schema::ReportErrors,
    )
)]
#[get("/reports/results")]
pub async fn get_results(
    db: &State<DatabaseConnection>,
    cache: &State<ReportCache>,
    _caller: Reader,
    mut params: QueryParams,
) -> Result<ReportResponse> {
    let plan = params.take("plan");
    let fiscal_year = take_fiscal_year(&mut params)?;
    let format = params.take("format").unwrap_or_else(|| "json".to_owned());
    params.finish()?;
    if !matches!(format.as_str(), "json" | "csv") {
        return Err(Error::BadRequest(format!(
            "format must be json or csv, not \"{format}\""
        )));
    }
    let plan = resolve_plan(db.inner(), plan.as_deref()).await?;
    let report = cache.results(db, &plan, fiscal_year).await?;
    respond(&format, &*report, |report, out| {
        results::write_csv(report, out)
    })
}

/// `fiscal_year=` as a year, when given.
fn take_fiscal_year(params: &mut QueryParams) -> Result<Option<i32>> {
    params
        .take("fiscal_year")
        .map(|y| {
            y.parse::<i32>()
                .map_err(|_| Error::BadRequest(format!("fiscal_year must be a year, not \"{y}\"")))
        })
        .transpose()
}

/// `report` as JSON, or as the CSV `write_csv` writes, by `format`.
fn respond<T: serde::Serialize>(
    format: &str,
    report: &T,
    write_csv: impl FnOnce(&T, &mut Vec<u8>) -> Result<()>,
) -> Result<ReportResponse> {
    match format {
        "json" => {
            let value = serde_json::to_value(report).map_err(|e| Error::Internal(e.to_string()))?;
            Ok(ReportResponse::Json(JsonResponse::new(Status::Ok, &value)))
        }
        "csv" => {
            let mut bytes = Vec::new();
            write_csv(report, &mut bytes)?;
            Ok(ReportResponse::Csv((
                ContentType::new("text", "csv").with_params(("charset", "utf-8")),
                bytes,
            )))
        }
        other => Err(Error::BadRequest(format!(
            "format must be json or csv, not \"{other}\""
        ))),
    }
}

/// `GET /api/v1/reports/donor?donor=CODE` (or `funding_source=CODE`): the donor statement,
/// as JSON, or one `part` of it (activity, fiscal-year, disbursements) as CSV.
#[utoipa::path(
    get,
    path = "/api/v1/reports/donor",
    summary = "A donor's or funding source's money from commitment to disbursement: by activity, by fiscal year, and every payment",
    params(crate::api::openapi::params::DonorQuery),
    security(("bearer" = ["admin", "recorder", "donor", "auditor"])),
    responses(
        (status = 200, description = "OK", content(
            (crate::service::statements::DonorStatement = "application/json"),
            (crate::api::openapi::schema::CsvFile = "text/csv"),
        )),
        crate::api::openapi::schema::ReportErrors,
    )
)]
#[get("/reports/donor")]
pub async fn get_donor_statement(
    db: &State<DatabaseConnection>,
    settings: &State<Settings>,
    _caller: Reader,
    mut params: QueryParams,
) -> Result<ReportResponse> {
    let plan = params.take("plan");
    let giver = match (params.take("donor"), params.take("funding_source")) {
        (Some(donor), None) => Giver::Donor(donor),
        (None, Some(source)) => Giver::FundingSource(source),
        _ => {
            return Err(Error::BadRequest(
                "name exactly one of ?donor= or ?funding_source=".to_owned(),
            ));
        }
    };
    let format = params.take("format").unwrap_or_else(|| "json".to_owned());
    let part: Part = params
        .take("part")
        .as_deref()
        .unwrap_or("activity")
        .parse()?;
    params.finish()?;
    let plan = resolve_plan(db.inner(), plan.as_deref()).await?;
    let thresholds = settings.flags.thresholds()?;
    let statement = statements::donor_statement(db, &plan, giver, &thresholds).await?;
    match format.as_str() {
        "json" => {
            let value =
                serde_json::to_value(&statement).map_err(|e| Error::Internal(e.to_string()))?;
            Ok(ReportResponse::Json(JsonResponse::new(Status::Ok, &value)))
        }
        "csv" => {
            let mut bytes = Vec::new();
            statements::write_csv(&statement, part, &mut bytes)?;
            Ok(ReportResponse::Csv((
                ContentType::new("text", "csv").with_params(("charset", "utf-8")),
                bytes,
            )))
        }
        other => Err(Error::BadRequest(format!(
            "format must be json or csv, not \"{other}\""
        ))),
    }
}
