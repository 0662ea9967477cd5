//! The HTML pages. Rendered on the server with askama's compile-time checked templates; they
//! work without JavaScript.

use askama::Template;
use rocket::fairing::AdHoc;
use rocket::http::{ContentType, Status};
use rocket::response::content::RawHtml;
use rocket::{Request, State, catch, catchers, get, routes};
use sea_orm::DatabaseConnection;

use crate::config::Settings;
use crate::domain::flags::Severity;
use crate::entity::plan;
use crate::error::{Error, Result};
use crate::service::flags;
use crate::service::summary::{self, CurrencyTotals};

const STYLESHEET: &str = include_str!("../../static/app.css");

struct PlanRow {
    code: String,
    title: String,
    country: String,
    currency: String,
    period: String,
    allocated: Vec<String>,
    committed: Vec<String>,
    disbursed: Vec<String>,
    /// "1 critical, 2 high" as of today, or why flags could not be computed.
    flags: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    plans: Vec<PlanRow>,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: Status,
    message: &'a str,
}

fn lines(totals: &CurrencyTotals) -> Vec<String> {
    if totals.0.is_empty() {
        return vec!["—".to_owned()];
    }
    totals
        .0
        .iter()
        .map(|(currency, amount)| format!("{currency} {}", amount.grouped()))
        .collect()
}

fn render(template: &impl Template) -> Result<RawHtml<String>> {
    template
        .render()
        .map(RawHtml)
        .map_err(|e| Error::Internal(format!("template: {e}")))
}

/// Flag counts by severity, most severe first: "1 critical, 2 medium", as of today or, for a
/// plan that has ended, its last day.
async fn flag_counts(db: &DatabaseConnection, settings: &Settings, plan: &plan::Model) -> String {
    let today = chrono::Utc::now().date_naive().min(plan.end_date);
    let report = match settings.flags.thresholds() {
        Ok(thresholds) => flags::flags(db, plan, today, &thresholds).await,
        Err(e) => Err(e),
    };
    match report {
        Ok(report) if report.flags.is_empty() => "none".to_owned(),
        Ok(report) => Severity::ALL
            .iter()
            .filter_map(|severity| {
                let n = report
                    .flags
                    .iter()
                    .filter(|f| f.severity == *severity)
                    .count();
                (n > 0).then(|| format!("{n} {severity}"))
            })
            .collect::<Vec<_>>()
            .join(", "),
        Err(e) => format!("not available: {}", e.user_message()),
    }
}

/// The home page: every plan with its totals and flag counts.
#[get("/")]
async fn get_home(
    db: &State<DatabaseConnection>,
    settings: &State<Settings>,
) -> Result<RawHtml<String>> {
    let mut plans = Vec::new();
    for s in summary::plan_summaries(db).await? {
        let flags = flag_counts(db, settings, &s.plan).await;
        plans.push(PlanRow {
            code: s.plan.code.clone(),
            title: s.plan.title.clone(),
            country: s.plan.country.clone(),
            currency: s.plan.currency.to_string(),
            period: format!("{} to {}", s.plan.start_date, s.plan.end_date),
            allocated: lines(&s.allocated),
            committed: lines(&s.committed),
            disbursed: lines(&s.disbursed),
            flags,
        });
    }
    render(&HomePage { plans })
}

#[get("/static/app.css")]
fn get_stylesheet() -> (ContentType, &'static str) {
    (ContentType::CSS, STYLESHEET)
}

#[catch(default)]
fn html_error(status: Status, _request: &Request<'_>) -> (Status, RawHtml<String>) {
    let message = match status.code {
        404 => "There is no page at this address.",
        code if code >= 500 => "Something went wrong on our side. The error has been logged.",
        _ => status.reason_lossy(),
    };
    let page = ErrorPage { status, message }
        .render()
        .unwrap_or_else(|_| format!("<h1>{status}</h1>"));
    (status, RawHtml(page))
}

pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Web UI", |rocket| async {
        rocket
            .mount("/", routes![get_home, get_stylesheet])
            .register("/", catchers![html_error])
    })
}
