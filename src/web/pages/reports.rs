//! The reports page: budget execution by a dimension and fiscal year, with its charts, and
//! the same report as a CSV download.

use askama::Template;
use rocket::http::ContentType;
use rocket::{State, get, uri};
use sea_orm::DatabaseConnection;

use chrono::Datelike;

use super::{ReportView, bar_groups, page_plan, percent};
use crate::config::Settings;
use crate::domain::fiscal::FiscalYearStart;
use crate::entity::plan;
use crate::error::{Error, Result};
use crate::money::Amount;
use crate::service::iati::{self, IatiOptions};
use crate::service::report_cache::ReportCache;
use crate::service::reports::{self, Dimension, ExecutionReport, Filters};
use crate::web::charts;
use crate::web::session::WebUser;
use crate::web::{Nav, Page, WebError, render};

/// One month of the report by month: what was paid in it, what had been paid up to it, and
/// how far that went into the allocation of the fiscal year the month falls in.
struct MonthRow {
    month: String,
    fiscal_year: i32,
    committed: String,
    disbursed: String,
    /// Disbursed from the report's first month to this one.
    cumulative: String,
    /// Disbursed from the first month of the fiscal year in the report to this one.
    year_to_date: String,
    /// The fiscal year's allocation.
    year_allocated: String,
    /// Year to date ÷ the fiscal year's allocation.
    year_share: String,
    /// The fiscal year's allocation less the year to date.
    year_remaining: String,
}

/// The report by month as its table shows it.
struct MonthView {
    caption: String,
    rows: Vec<MonthRow>,
    /// The money the months cannot split (allocations: budget lines have no month).
    allocated: String,
    committed: String,
    disbursed: String,
}

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
    months: Option<MonthView>,
    /// The bars by the chosen dimension, none by month (the monthly chart is that chart).
    bars: Option<String>,
    over_time: String,
    bars_svg_href: String,
    over_time_svg_href: String,
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

/// The two charts of the reports page.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ReportChart {
    /// Allocated and disbursed by the chosen dimension.
    Bars,
    /// Disbursed by month, on a time axis.
    Months,
}

impl ReportChart {
    fn parse(text: Option<&str>) -> Result<ReportChart> {
        match text.unwrap_or("bars") {
            "bars" => Ok(ReportChart::Bars),
            "months" => Ok(ReportChart::Months),
            other => Err(Error::BadRequest(format!(
                "\"{other}\" is not a chart of the reports; use bars or months"
            ))),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            ReportChart::Bars => "bars",
            ReportChart::Months => "months",
        }
    }
}

fn year_text(filters: &Filters) -> String {
    filters
        .fiscal_year
        .map_or_else(|| "all years".to_owned(), |y| format!("fiscal year {y}"))
}

/// The bar chart of `report` by its dimension.
fn bars_chart(report: &ExecutionReport, filters: &Filters) -> Result<String> {
    let currency = report.currency.to_string();
    charts::allocated_vs_disbursed(
        &format!(
            "Allocated and disbursed by {}, {} ({currency})",
            report.by,
            year_text(filters)
        ),
        &currency,
        &bar_groups(report),
    )
}

/// The monthly chart of the report by month.
fn months_chart(monthly: &ExecutionReport, filters: &Filters) -> Result<String> {
    let currency = monthly.currency.to_string();
    let months: Vec<(charts::Month, Amount)> = monthly
        .rows
        .iter()
        .filter_map(|r| charts::Month::parse(&r.key).map(|m| (m, r.disbursed)))
        .collect();
    charts::disbursed_over_time(
        &format!(
            "Disbursements by month, {} ({currency})",
            year_text(filters)
        ),
        &currency,
        &months,
    )
}

/// The rows of the report by month beside the allocation of each month's fiscal year
/// (`by_year`, the same report by fiscal year). Months come in order; the year to date starts
/// again with each fiscal year. Every figure is exact.
fn month_view(
    monthly: &ExecutionReport,
    by_year: &ExecutionReport,
    fiscal: FiscalYearStart,
) -> Result<MonthView> {
    let allocation = |year: i32| {
        let key = year.to_string();
        by_year
            .rows
            .iter()
            .find(|r| r.key == key)
            .map_or(Amount::ZERO, |r| r.allocated)
    };
    let mut rows = Vec::new();
    let mut cumulative = Amount::ZERO;
    let mut year_to_date = Amount::ZERO;
    let mut current_year = None;
    let mut unsplit = Amount::ZERO;
    for row in &monthly.rows {
        let Some(month) = charts::Month::parse(&row.key) else {
            unsplit = unsplit.checked_add(row.allocated)?;
            continue;
        };
        let first_day = chrono::NaiveDate::from_ymd_opt(month.year, month.month, 1)
            .ok_or_else(|| Error::Internal(format!("{month} is not a month")))?;
        let fiscal_year = fiscal.year_of(first_day);
        if current_year != Some(fiscal_year) {
            current_year = Some(fiscal_year);
            year_to_date = Amount::ZERO;
        }
        cumulative = cumulative.checked_add(row.disbursed)?;
        year_to_date = year_to_date.checked_add(row.disbursed)?;
        let allocated = allocation(fiscal_year);
        let (year_allocated, year_share, year_remaining) = if allocated.is_zero() {
            ("—".to_owned(), "—".to_owned(), "—".to_owned())
        } else {
            (
                allocated.grouped(),
                percent(reports::execution_rate(year_to_date, allocated)),
                allocated.checked_sub(year_to_date)?.grouped(),
            )
        };
        rows.push(MonthRow {
            month: month.to_string(),
            fiscal_year,
            committed: row.committed.grouped(),
            disbursed: row.disbursed.grouped(),
            cumulative: cumulative.grouped(),
            year_to_date: year_to_date.grouped(),
            year_allocated,
            year_share,
            year_remaining,
        });
    }
    Ok(MonthView {
        caption: format!(
            "Money by month, in {}; a month counts toward the fiscal year its days fall in",
            monthly.currency
        ),
        rows,
        allocated: unsplit.grouped(),
        committed: monthly.totals.committed.grouped(),
        disbursed: monthly.totals.disbursed.grouped(),
    })
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
    let (bars, months) = if by == Dimension::Month {
        let fiscal = FiscalYearStart::new(plan.fiscal_year_start_month).ok_or_else(|| {
            Error::Internal(format!("plan {} has no valid fiscal year start", plan.code))
        })?;
        let by_year = cache
            .execution(db, &plan, Dimension::FiscalYear, filters.clone())
            .await?;
        (None, Some(month_view(&monthly, &by_year, fiscal)?))
    } else {
        (Some(bars_chart(&report, &filters)?), None)
    };
    let over_time = months_chart(&monthly, &filters)?;
    let first = plan.start_date.year();
    let last = plan.end_date.year();
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
    let svg_href = |chart: ReportChart| {
        uri!(get_report_chart_svg(
            plan = Some(plan.code.as_str()),
            by = Some(by.as_str()),
            fiscal_year = Some(fiscal_year.as_str()),
            chart = Some(chart.as_str()),
        ))
        .to_string()
    };
    let bars_svg_href = svg_href(ReportChart::Bars);
    let over_time_svg_href = svg_href(ReportChart::Months);
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
        months,
        bars,
        over_time,
        bars_svg_href,
        over_time_svg_href,
        csv_href,
        plan,
    })
}

/// A chart to save as an SVG file, under its own name.
#[derive(rocket::Responder)]
pub struct SvgDownload {
    body: (ContentType, String),
    disposition: rocket::http::Header<'static>,
}

impl SvgDownload {
    /// `svg` to be saved as `<name>.svg`; `name` keeps only the characters safe in a file name.
    pub fn new(svg: String, name: &str) -> SvgDownload {
        let name = crate::web::statement::file_name_part(name);
        SvgDownload {
            body: (ContentType::SVG, svg),
            disposition: rocket::http::Header::new(
                "Content-Disposition",
                format!("attachment; filename=\"{name}.svg\""),
            ),
        }
    }
}

/// `GET /reports/chart.svg?chart=bars|months`: a chart of the reports page as an SVG file,
/// the same drawing as the page shows, with the session.
#[get("/reports/chart.svg?<plan>&<by>&<fiscal_year>&<chart>")]
pub async fn get_report_chart_svg(
    db: &State<DatabaseConnection>,
    cache: &State<ReportCache>,
    _user: WebUser,
    plan: Option<&str>,
    by: Option<&str>,
    fiscal_year: Option<&str>,
    chart: Option<&str>,
) -> Result<SvgDownload, WebError> {
    let plan = page_plan(db, plan).await?;
    let (by, filters) = parse_report_query(by, fiscal_year)?;
    let chart = ReportChart::parse(chart.filter(|c| !c.is_empty()))?;
    let year = filters
        .fiscal_year
        .map_or_else(|| "all-years".to_owned(), |y| y.to_string());
    let (svg, name) = match chart {
        ReportChart::Bars => {
            let report = cache.execution(db, &plan, by, filters.clone()).await?;
            (
                bars_chart(&report, &filters)?,
                format!("{}-by-{by}-{year}", plan.code),
            )
        }
        ReportChart::Months => {
            let monthly = cache
                .execution(db, &plan, Dimension::Month, filters.clone())
                .await?;
            (
                months_chart(&monthly, &filters)?,
                format!("{}-by-month-{year}", plan.code),
            )
        }
    };
    Ok(SvgDownload::new(svg, &name))
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
