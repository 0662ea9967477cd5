//! The dashboard: a plan's execution by objective as a chart, and its flags by severity and by
//! kind (funding gaps, results, integrity).

use askama::Template;
use chrono::NaiveDate;
use rocket::{State, get, uri};
use sea_orm::DatabaseConnection;

use super::{ReportView, bar_groups, default_as_of, page_plan, plan_flags, severity_counts};
use crate::config::Settings;
use crate::domain::flags::{Kind, Severity};
use crate::entity::plan;
use crate::service::report_cache::ReportCache;
use crate::service::reports::{Dimension, Filters};
use crate::web::charts;
use crate::web::session::WebUser;
use crate::web::{Nav, Page, render};

struct SeverityLink {
    severity: String,
    count: usize,
    href: String,
}

struct KindLink {
    label: &'static str,
    count: usize,
    href: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    nav: Nav,
    plan: plan::Model,
    currency: String,
    report: ReportView,
    chart: String,
    as_of: NaiveDate,
    severities: Vec<SeverityLink>,
    kinds: Vec<KindLink>,
    flags_href: String,
    results_href: String,
    /// Every critical and high flag, named.
    serious: Vec<super::FlagLine>,
    critical: usize,
    high: usize,
}

/// `GET /dashboard`: the plan's totals, execution by objective as a chart, flags by
/// severity and by kind.
#[get("/dashboard?<plan>")]
pub async fn get_dashboard(
    db: &State<DatabaseConnection>,
    cache: &State<ReportCache>,
    settings: &State<Settings>,
    user: WebUser,
    plan: Option<&str>,
) -> Page {
    let plan = page_plan(db, plan).await?;
    let report = cache
        .execution(db, &plan, Dimension::Objective, Filters::default())
        .await?;
    let currency = plan.currency.to_string();
    let chart = charts::allocated_vs_disbursed(
        &format!("Execution by objective, all years ({currency})"),
        &currency,
        &bar_groups(&report),
    )?;
    let as_of = default_as_of(&plan);
    let flags = plan_flags(db, settings, &plan, as_of).await?;
    let as_of_text = as_of.to_string();
    let flags_uri = |kind: Option<&str>, severity: Option<&str>| {
        uri!(super::flags::get_flags(
            plan = Some(plan.code.as_str()),
            kind = kind,
            severity = severity,
            rule = _,
            as_of = Some(as_of_text.as_str()),
            page = _,
        ))
        .to_string()
    };
    let severities = severity_counts(&flags.flags)
        .into_iter()
        .map(|(severity, count)| SeverityLink {
            severity: severity.to_string(),
            count,
            href: flags_uri(None, Some(severity.as_str())),
        })
        .collect();
    let kinds = Kind::ALL
        .into_iter()
        .map(|kind| KindLink {
            label: kind.label(),
            count: flags.flags.iter().filter(|f| f.kind == kind).count(),
            href: flags_uri(Some(kind.as_str()), None),
        })
        .collect();
    let flags_href = flags_uri(None, None);
    let serious: Vec<super::FlagLine> = flags
        .flags
        .iter()
        .filter(|f| matches!(f.severity, Severity::Critical | Severity::High))
        .map(|f| super::FlagLine::of(&plan.code, f))
        .collect();
    let critical = flags
        .flags
        .iter()
        .filter(|f| f.severity == Severity::Critical)
        .count();
    let high = serious.len() - critical;
    let results_href = uri!(super::results::get_results(
        plan = Some(plan.code.as_str()),
        objective = _,
        activity = _,
    ))
    .to_string();
    render(&DashboardPage {
        nav: user.nav(),
        currency,
        report: ReportView::of(&report),
        chart,
        as_of,
        severities,
        kinds,
        flags_href,
        results_href,
        serious,
        critical,
        high,
        plan,
    })
}
