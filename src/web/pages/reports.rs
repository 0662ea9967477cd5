//! The reports page: budget execution by a dimension and fiscal year, with its charts, and
//! the same report as a CSV download.

use askama::Template;
use rocket::http::ContentType;
use rocket::{State, get, uri};
use sea_orm::DatabaseConnection;

use super::{ReportView, bar_groups, page_plan};
use crate::config::Settings;
use crate::entity::plan;
use crate::error::{Error, Result};
use crate::money::Amount;
use crate::service::iati::{self, IatiOptions};
use crate::service::report_cache::ReportCache;
use crate::service::reports::{self, Dimension, Filters};
use crate::web::charts;
use crate::web::session::WebUser;
use crate::web::{Nav, Page, WebError, render};

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    nav: Nav,
    plan: plan::Model,
    currency: String,
    by: String,
    fiscal_year: String,
    dimensions: Vec<&'static str>,
    years: Vec<i32>,
    report: ReportView,
    bars: String,
    over_time: String,
    csv_href: String,
    iati_href: String,
}

fn parse_report_query(by: Option<&str>, fiscal_year: Option<&str>) -> Result<(Dimension, Filters)> {
    let by = match by.filter(|s| !s.is_empty()) {
        Some(text) => text.parse()?,
        None => Dimension::Objective,
    };
    let fiscal_year = fiscal_year
        .filter(|s| !s.is_empty())
        .map(|y| {
            y.trim().parse::<i32>().map_err(|_| {
                Error::BadRequest(format!("the fiscal year must be a year, not \"{y}\""))
            })
        })
        .transpose()?;
    Ok((
        by,
        Filters {
            fiscal_year,
            ..Filters::default()
        },
    ))
}

/// `GET /reports`: the execution report by a dimension and fiscal year, with its charts and
/// a CSV download.
#[get("/reports?<plan>&<by>&<fiscal_year>")]
pub async fn get_reports(
    db: &State<DatabaseConnection>,
    cache: &State<ReportCache>,
    user: WebUser,
    plan: Option<&str>,
    by: Option<&str>,
    fiscal_year: Option<&str>,
) -> Page {
    let plan = page_plan(db, plan).await?;
    let (by, filters) = parse_report_query(by, fiscal_year)?;
    let report = cache.execution(db, &plan, by, filters.clone()).await?;
    let monthly = cache
        .execution(db, &plan, Dimension::Month, filters.clone())
        .await?;
    let currency = plan.currency.to_string();
    let year_text = filters
        .fiscal_year
        .map_or_else(|| "all years".to_owned(), |y| format!("fiscal year {y}"));
    let bars = charts::allocated_vs_disbursed(
        &format!("Allocated and disbursed by {by}, {year_text} ({currency})"),
        &currency,
        &bar_groups(&report),
    )?;
    let months: Vec<(String, Amount)> = monthly
        .rows
        .iter()
        .filter(|r| !r.key.is_empty())
        .map(|r| (r.key.clone(), r.disbursed))
        .collect();
    let over_time = charts::disbursed_over_time(
        &format!("Disbursements by month, {year_text} ({currency})"),
        &currency,
        &months,
    )?;
    let first = plan
        .start_date
        .format("%Y")
        .to_string()
        .parse()
        .unwrap_or(2000);
    let last: i32 = plan
        .end_date
        .format("%Y")
        .to_string()
        .parse()
        .unwrap_or(first);
    let fiscal_year = filters
        .fiscal_year
        .map(|y| y.to_string())
        .unwrap_or_default();
    let csv_href = uri!(get_report_csv(
        plan = Some(plan.code.as_str()),
        by = Some(by.as_str()),
        fiscal_year = Some(fiscal_year.as_str()),
    ))
    .to_string();
    let iati_href = uri!(get_iati_xml(plan = Some(plan.code.as_str()))).to_string();
    render(&ReportsPage {
        nav: user.nav(),
        iati_href,
        currency,
        by: by.to_string(),
        fiscal_year,
        dimensions: Dimension::ALL.iter().map(|d| d.as_str()).collect(),
        years: (first..=last + 1).collect(),
        report: ReportView::of(&report),
        bars,
        over_time,
        csv_href,
        plan,
    })
}

/// `GET /reports/execution.csv`: the report as the API's CSV, with the session instead of a
/// bearer token.
#[get("/reports/execution.csv?<plan>&<by>&<fiscal_year>")]
pub async fn get_report_csv(
    db: &State<DatabaseConnection>,
    cache: &State<ReportCache>,
    _user: WebUser,
    plan: Option<&str>,
    by: Option<&str>,
    fiscal_year: Option<&str>,
) -> Result<(ContentType, rocket::response::content::RawText<Vec<u8>>), WebError> {
    let plan = page_plan(db, plan).await?;
    let (by, filters) = parse_report_query(by, fiscal_year)?;
    let report = cache.execution(db, &plan, by, filters).await?;
    let mut bytes = Vec::new();
    reports::write_csv(&report, &mut bytes)?;
    Ok((
        ContentType::new("text", "csv").with_params(("charset", "utf-8")),
        rocket::response::content::RawText(bytes),
    ))
}

/// A file downloaded under its own name.
#[derive(rocket::Responder)]
pub struct FileDownload {
    body: (ContentType, tokio::fs::File),
    disposition: rocket::http::Header<'static>,
}

/// `GET /reports/iati.xml`: the plan's IATI 2.03 activity file, the same file as the API's
/// `GET /api/v1/export/iati`, with the session instead of a bearer token. An export that
/// cannot be valid (an activity with no sector) is refused with the API's message, naming
/// each activity, and nothing is downloaded.
#[get("/reports/iati.xml?<plan>")]
pub async fn get_iati_xml(
    db: &State<DatabaseConnection>,
    settings: &State<Settings>,
    _user: WebUser,
    plan: Option<&str>,
) -> Result<FileDownload, WebError> {
    let plan = page_plan(db, plan).await?;
    let options = IatiOptions::now(&settings.iati);
    let (file, _) = iati::export_to_tempfile(db, Some(&plan.code), &options).await?;
    let name = crate::web::statement::file_name_part(&plan.code);
    Ok(FileDownload {
        body: (
            ContentType::new("application", "xml").with_params(("charset", "utf-8")),
            tokio::fs::File::from_std(file),
        ),
        disposition: rocket::http::Header::new(
            "Content-Disposition",
            format!("attachment; filename=\"{name}-iati.xml\""),
        ),
    })
}
