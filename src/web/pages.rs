//! The pages that read: home, dashboard, flags, reports, the plan tree, an activity, the
//! audit trail and the users and tokens. Each parses its query into domain terms, calls the
//! services and renders.

use std::collections::HashMap;

use askama::Template;
use chrono::NaiveDate;
use rocket::http::ContentType;
use rocket::{State, get};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, QuerySelect};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

use super::charts::{self, BarGroup};
use super::session::WebUser;
use super::{Nav, Page, WebError, render, urlencode};
use crate::config::Settings;
use crate::domain::Role;
use crate::domain::flags::{Flag, Rule, Severity};
use crate::domain::records::RecordKind;
use crate::entity::{activity, audit_entry, objective, plan, user};
use crate::error::{Error, Result};
use crate::money::Amount;
use crate::service::flags::{self, FlagReport};
use crate::service::plans::resolve_plan;
use crate::service::records::{self, Cell, Query, Record};
use crate::service::report_cache::ReportCache;
use crate::service::reports::{self, Dimension, ExecutionReport, Filters, ReportRow};
use crate::service::summary::{self, CurrencyTotals};
use crate::service::users;

/// A table as pages show it: text cells, amounts right-aligned.
pub struct Table {
    pub caption: String,
    pub headers: Vec<(String, bool)>,
    pub rows: Vec<Vec<TableCell>>,
}

pub struct TableCell {
    pub text: String,
    pub numeric: bool,
    /// A code, reference or date, kept on one line.
    pub code: bool,
    pub link: Option<String>,
}

impl TableCell {
    pub fn text(text: impl Into<String>) -> Self {
        TableCell {
            text: text.into(),
            numeric: false,
            code: false,
            link: None,
        }
    }

    /// A code, reference or date, which a table does not break across lines.
    pub fn code(text: impl Into<String>) -> Self {
        TableCell {
            code: true,
            ..TableCell::text(text)
        }
    }

    pub fn amount(amount: Amount) -> Self {
        TableCell {
            text: amount.grouped(),
            numeric: true,
            code: false,
            link: None,
        }
    }
}

/// Whether a contract column holds codes, references or dates: text that reads wrong when a
/// narrow column breaks it at a hyphen.
fn is_code_column(name: &str) -> bool {
    name == "reference"
        || name == "reverses"
        || name == "in_force_from"
        || name == "currency"
        || name.ends_with("code")
        || name.ends_with("date")
}

/// The records as a table, every contract column but the plan's code, amounts grouped.
pub fn record_table(caption: &str, kind: RecordKind, rows: &[Record]) -> Table {
    let columns: Vec<_> = kind
        .columns()
        .iter()
        .enumerate()
        .filter(|(_, c)| c.name != "plan_code")
        .collect();
    Table {
        caption: caption.to_owned(),
        headers: columns
            .iter()
            .map(|(_, c)| (c.name.replace('_', " "), c.numeric))
            .collect(),
        rows: rows
            .iter()
            .map(|record| {
                columns
                    .iter()
                    .map(|(i, column)| {
                        let text = |text: String| {
                            if is_code_column(column.name) {
                                TableCell::code(text)
                            } else {
                                TableCell::text(text)
                            }
                        };
                        match record.cells.get(*i) {
                            Some(Cell::Amount(amount)) => TableCell::amount(*amount),
                            Some(Cell::Empty) | None => TableCell::text(""),
                            Some(Cell::Text(value)) => text(value.clone()),
                            Some(other) => text(other.csv_text().into_owned()),
                        }
                    })
                    .collect()
            })
            .collect(),
    }
}

pub fn percent(rate: Option<Decimal>) -> String {
    rate.map(|r| format!("{}%", (r * Decimal::from(100)).round_dp(1)))
        .unwrap_or_else(|| "—".to_owned())
}

/// The plan a page is about: `?plan=CODE`, or the only one.
pub async fn page_plan(db: &DatabaseConnection, code: Option<&str>) -> Result<plan::Model> {
    resolve_plan(db, code.filter(|c| !c.is_empty())).await
}

/// Today, or the last day of a plan that has ended: the date flags are shown for by default.
pub fn default_as_of(plan: &plan::Model) -> NaiveDate {
    chrono::Utc::now().date_naive().min(plan.end_date)
}

async fn plan_flags(
    db: &DatabaseConnection,
    settings: &Settings,
    plan: &plan::Model,
    as_of: NaiveDate,
) -> Result<FlagReport> {
    flags::flags(db, plan, as_of, &settings.flags.thresholds()?).await
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

struct PlanRow {
    code: String,
    title: String,
    country: String,
    currency: String,
    period: String,
    allocated: Vec<String>,
    committed: Vec<String>,
    disbursed: Vec<String>,
    flags: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    nav: Nav,
    plans: Vec<PlanRow>,
}

fn severity_counts(flags: &[Flag]) -> Vec<(Severity, usize)> {
    Severity::ALL
        .iter()
        .map(|s| (*s, flags.iter().filter(|f| f.severity == *s).count()))
        .collect()
}

/// The home page: every plan with its totals and flag counts. It shows only totals, which
/// the plan's publication makes public; everything else needs a sign-in.
#[get("/", rank = 2)]
pub async fn get_home(
    db: &State<DatabaseConnection>,
    settings: &State<Settings>,
    user: Option<WebUser>,
) -> Page {
    let mut plans = Vec::new();
    for s in summary::plan_summaries(db).await? {
        let as_of = default_as_of(&s.plan);
        let flags = match plan_flags(db, settings, &s.plan, as_of).await {
            Ok(report) if report.flags.is_empty() => "none".to_owned(),
            Ok(report) => severity_counts(&report.flags)
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(s, n)| format!("{n} {s}"))
                .collect::<Vec<_>>()
                .join(", "),
            Err(e) => format!("not available: {}", e.user_message()),
        };
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
    let nav = user.map_or_else(Nav::anonymous, |u| u.nav());
    render(&HomePage { nav, plans })
}

struct SeverityLink {
    severity: String,
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
    flags_href: String,
}

/// A report as the pages show it: grouped amounts and percentages.
pub struct ReportView {
    /// What the table says it holds.
    pub caption: String,
    pub rows: Vec<[String; 7]>,
    pub totals: [String; 5],
}

impl ReportView {
    pub fn of(report: &ExecutionReport) -> ReportView {
        let row = |r: &ReportRow| {
            [
                r.key.clone(),
                r.label.clone(),
                r.allocated.grouped(),
                r.committed.grouped(),
                r.disbursed.grouped(),
                r.remaining.grouped(),
                percent(r.execution_rate),
            ]
        };
        let t = &report.totals;
        ReportView {
            caption: format!("Budget execution by {}, in {}", report.by, report.currency),
            rows: report.rows.iter().map(row).collect(),
            totals: [
                t.allocated.grouped(),
                t.committed.grouped(),
                t.disbursed.grouped(),
                t.remaining.grouped(),
                percent(t.execution_rate),
            ],
        }
    }
}

fn bar_groups(report: &ExecutionReport) -> Vec<BarGroup> {
    report
        .rows
        .iter()
        .filter(|r| !r.key.is_empty())
        .map(|r| BarGroup {
            label: r.key.clone(),
            allocated: r.allocated,
            disbursed: r.disbursed,
        })
        .collect()
}

fn plan_query(plan: &plan::Model) -> String {
    format!("plan={}", urlencode(&plan.code))
}

/// `GET /dashboard`: the plan's totals, execution by objective as a chart, flags by
/// severity.
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
    let query = plan_query(&plan);
    let severities = severity_counts(&flags.flags)
        .into_iter()
        .map(|(severity, count)| SeverityLink {
            severity: severity.to_string(),
            count,
            href: format!("/flags?{query}&severity={severity}&as_of={as_of}"),
        })
        .collect();
    render(&DashboardPage {
        nav: user.nav(),
        currency,
        report: ReportView::of(&report),
        chart,
        as_of,
        severities,
        flags_href: format!("/flags?{query}&as_of={as_of}"),
        plan,
    })
}

struct FlagRow {
    rule: String,
    severity: String,
    subject: String,
    subject_href: Option<String>,
    fiscal_year: i32,
    message: String,
    legal_basis: String,
    gap: String,
}

#[derive(Template)]
#[template(path = "flags.html")]
struct FlagsPage {
    nav: Nav,
    plan: plan::Model,
    as_of: NaiveDate,
    fiscal_year: i32,
    severity: String,
    rule: String,
    severities: Vec<&'static str>,
    rules: Vec<&'static str>,
    flags: Vec<FlagRow>,
}

fn parse_date(name: &str, text: &str) -> Result<NaiveDate> {
    crate::domain::IsoDate::parse(text.trim())
        .map(NaiveDate::from)
        .map_err(|e| Error::BadRequest(e.for_parameter(name)))
}

/// `GET /flags`: the flags of the plan as of a date (today, or the plan's last day), filtered
/// by severity and rule.
#[get("/flags?<plan>&<severity>&<rule>&<as_of>")]
pub async fn get_flags(
    db: &State<DatabaseConnection>,
    settings: &State<Settings>,
    user: WebUser,
    plan: Option<&str>,
    severity: Option<&str>,
    rule: Option<&str>,
    as_of: Option<&str>,
) -> Page {
    let plan = page_plan(db, plan).await?;
    let severity_filter: Option<Severity> = severity
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(Error::BadRequest))
        .transpose()?;
    let rule_filter: Option<Rule> = rule
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(Error::BadRequest))
        .transpose()?;
    let as_of = match as_of.filter(|s| !s.is_empty()) {
        Some(text) => parse_date("as_of", text)?,
        None => default_as_of(&plan),
    };
    let report = plan_flags(db, settings, &plan, as_of).await?;
    let query = plan_query(&plan);
    let flags = report
        .flags
        .iter()
        .filter(|f| severity_filter.is_none_or(|s| f.severity == s))
        .filter(|f| rule_filter.is_none_or(|r| f.rule == r))
        .map(|f| FlagRow {
            rule: f.rule.to_string(),
            severity: f.severity.to_string(),
            subject: format!("{} {}: {}", f.subject.kind, f.subject.code, f.subject.title),
            subject_href: (f.subject.kind == "activity")
                .then(|| format!("/activities/{}?{query}", urlencode(&f.subject.code))),
            fiscal_year: f.fiscal_year,
            message: f.message.clone(),
            legal_basis: f.legal_basis.clone().unwrap_or_default(),
            gap: match (f.gap, f.currency) {
                (Some(gap), Some(currency)) => format!("{currency} {}", gap.grouped()),
                (Some(gap), None) => gap.grouped(),
                _ => String::new(),
            },
        })
        .collect();
    render(&FlagsPage {
        nav: user.nav(),
        as_of,
        fiscal_year: report.fiscal_year,
        severity: severity_filter.map(|s| s.to_string()).unwrap_or_default(),
        rule: rule_filter.map(|r| r.to_string()).unwrap_or_default(),
        severities: Severity::ALL.iter().map(|s| s.as_str()).collect(),
        rules: Rule::ALL.iter().map(|r| r.as_str()).collect(),
        flags,
        plan,
    })
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
    bars: String,
    over_time: String,
    csv_href: String,
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
    let csv_href = format!(
        "/reports/execution.csv?{}&by={by}&fiscal_year={fiscal_year}",
        plan_query(&plan)
    );
    render(&ReportsPage {
        nav: user.nav(),
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

struct TreeRow {
    depth: usize,
    is_objective: bool,
    code: String,
    title: String,
    href: Option<String>,
    money: [String; 5],
}

#[derive(Template)]
#[template(path = "plan.html")]
struct PlanPage {
    nav: Nav,
    plan: plan::Model,
    currency: String,
    rows: Vec<TreeRow>,
    totals: [String; 5],
}

fn money_of(row: Option<&ReportRow>) -> [String; 5] {
    match row {
        Some(r) => [
            r.allocated.grouped(),
            r.committed.grouped(),
            r.disbursed.grouped(),
            r.remaining.grouped(),
            percent(r.execution_rate),
        ],
        None => [
            Amount::ZERO.grouped(),
            Amount::ZERO.grouped(),
            Amount::ZERO.grouped(),
            Amount::ZERO.grouped(),
            percent(None),
        ],
    }
}

/// `GET /plan`: objectives and their activities as a tree, with money columns in the plan's
/// currency. An objective's row counts the activities directly under it.
#[get("/plan?<plan>")]
pub async fn get_plan(
    db: &State<DatabaseConnection>,
    cache: &State<ReportCache>,
    user: WebUser,
    plan: Option<&str>,
) -> Page {
    let plan = page_plan(db, plan).await?;
    let by_objective = cache
        .execution(db, &plan, Dimension::Objective, Filters::default())
        .await?;
    let by_activity = cache
        .execution(db, &plan, Dimension::Activity, Filters::default())
        .await?;
    let objectives = objective::Entity::find()
        .filter(objective::Column::PlanId.eq(plan.id))
        .order_by_asc(objective::Column::Code)
        .all(db.inner())
        .await?;
    let activities = activity::Entity::find()
        .filter(activity::Column::PlanId.eq(plan.id))
        .order_by_asc(activity::Column::Code)
        .all(db.inner())
        .await?;
    let objective_money: HashMap<&str, &ReportRow> = by_objective
        .rows
        .iter()
        .map(|r| (r.key.as_str(), r))
        .collect();
    let activity_money: HashMap<&str, &ReportRow> = by_activity
        .rows
        .iter()
        .map(|r| (r.key.as_str(), r))
        .collect();
    let query = plan_query(&plan);
    let mut rows = Vec::new();
    let emit = |o: &objective::Model, depth: usize, rows: &mut Vec<TreeRow>| {
        rows.push(TreeRow {
            depth,
            is_objective: true,
            code: o.code.clone(),
            title: o.title.clone(),
            href: None,
            money: money_of(objective_money.get(o.code.as_str()).copied()),
        });
        for a in activities.iter().filter(|a| a.objective_id == o.id) {
            rows.push(TreeRow {
                depth: depth + 1,
                is_objective: false,
                code: a.code.clone(),
                title: format!("{} ({})", a.title, a.status),
                href: Some(format!("/activities/{}?{query}", urlencode(&a.code))),
                money: money_of(activity_money.get(a.code.as_str()).copied()),
            });
        }
    };
    // Objectives in pre-order, each once, so a parent cycle in the data cannot loop.
    fn walk<'a>(
        objectives: &'a [objective::Model],
        parent: Option<i32>,
        depth: usize,
        seen: &mut std::collections::HashSet<i32>,
        out: &mut Vec<(&'a objective::Model, usize)>,
    ) {
        for o in objectives.iter().filter(|o| o.parent_id == parent) {
            if seen.insert(o.id) {
                out.push((o, depth));
                walk(objectives, Some(o.id), depth + 1, seen, out);
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    let mut preorder = Vec::new();
    walk(&objectives, None, 0, &mut seen, &mut preorder);
    for (o, depth) in preorder {
        emit(o, depth, &mut rows);
    }
    let t = &by_activity.totals;
    let totals = [
        t.allocated.grouped(),
        t.committed.grouped(),
        t.disbursed.grouped(),
        t.remaining.grouped(),
        percent(t.execution_rate),
    ];
    render(&PlanPage {
        nav: user.nav(),
        currency: plan.currency.to_string(),
        rows,
        totals,
        plan,
    })
}

#[derive(Template)]
#[template(path = "activity.html")]
struct ActivityPage {
    nav: Nav,
    plan: plan::Model,
    facts: Vec<(String, String)>,
    title: String,
    status: String,
    tables: Vec<Table>,
    flags: Vec<String>,
    log_href: Option<String>,
    reversal_links: Vec<(String, String)>,
}

async fn fetch_where(
    db: &DatabaseConnection,
    kind: RecordKind,
    plan_id: i32,
    column: &str,
    value: &str,
) -> Result<Vec<Record>> {
    let mut query = Query::all(kind, Some(plan_id));
    query.filter(column, value)?;
    records::fetch(db, &query).await
}

fn text_of(record: &Record, column: &str) -> String {
    match record.get(column) {
        Some(Cell::Text(text)) => text.clone(),
        Some(Cell::Empty) | None => String::new(),
        Some(other) => other.csv_text().into_owned(),
    }
}

/// `GET /activities/<code>`: an activity's budget lines, commitments, disbursements,
/// obligations and flags.
#[get("/activities/<code>?<plan>")]
pub async fn get_activity(
    db: &State<DatabaseConnection>,
    settings: &State<Settings>,
    user: WebUser,
    code: &str,
    plan: Option<&str>,
) -> Page {
    let plan = page_plan(db, plan).await?;
    let activity = fetch_where(db, RecordKind::Activities, plan.id, "code", code)
        .await?
        .pop()
        .ok_or_else(|| {
            Error::NotFound(format!("there is no activity {code} in plan {}", plan.code))
        })?;
    let lines = fetch_where(db, RecordKind::BudgetLines, plan.id, "activity_code", code).await?;
    let commitments =
        fetch_where(db, RecordKind::Commitments, plan.id, "activity_code", code).await?;
    let obligations =
        fetch_where(db, RecordKind::Obligations, plan.id, "activity_code", code).await?;
    let mut disbursements = Vec::new();
    for line in &lines {
        let line_code = text_of(line, "code");
        disbursements.extend(
            fetch_where(
                db,
                RecordKind::Disbursements,
                plan.id,
                "budget_line_code",
                &line_code,
            )
            .await?,
        );
    }
    disbursements.sort_by_key(|d| (text_of(d, "date"), text_of(d, "reference")));
    let line_codes: Vec<String> = lines.iter().map(|l| text_of(l, "code")).collect();
    let report = plan_flags(db, settings, &plan, default_as_of(&plan)).await?;
    let flags = report
        .flags
        .iter()
        .filter(|f| {
            (f.subject.kind == "activity" && f.subject.code == code)
                || (f.subject.kind == "budget_line" && line_codes.contains(&f.subject.code))
        })
        .map(|f| format!("{} ({}): {}", f.rule, f.severity, f.message))
        .collect();
    let query = plan_query(&plan);
    let may_write = user.may_write();
    let reversal_links = if may_write {
        disbursements
            .iter()
            .filter(|d| text_of(d, "reverses").is_empty())
            .map(|d| {
                let reference = text_of(d, "reference");
                let href = format!("/disbursements/{}/reversal?{query}", urlencode(&reference));
                (reference, href)
            })
            .collect()
    } else {
        Vec::new()
    };
    let tables = vec![
        record_table("Budget lines", RecordKind::BudgetLines, &lines),
        record_table("Commitments", RecordKind::Commitments, &commitments),
        record_table("Disbursements", RecordKind::Disbursements, &disbursements),
        record_table("Obligations", RecordKind::Obligations, &obligations),
    ];
    render(&ActivityPage {
        nav: user.nav(),
        title: text_of(&activity, "title"),
        status: text_of(&activity, "status"),
        facts: [
            "code",
            "objective_code",
            "lead_institution_code",
            "start_date",
            "end_date",
        ]
        .iter()
        .map(|c| (c.replace('_', " "), text_of(&activity, c)))
        .collect(),
        tables,
        flags,
        log_href: may_write.then(|| format!("/disbursements/new?{query}")),
        reversal_links,
        plan,
    })
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    nav: Nav,
    entries: Vec<audit_entry::Model>,
    total: u64,
    offset: u64,
    next: Option<u64>,
    previous: Option<u64>,
    verification: String,
}

const AUDIT_PAGE: u64 = 100;

/// `GET /audit`: the trail, newest first, a hundred entries a page, with the chain's check.
#[get("/audit?<offset>")]
pub async fn get_audit(db: &State<DatabaseConnection>, user: WebUser, offset: Option<u64>) -> Page {
    user.require(crate::auth::AuditReader::ROLES)?;
    let offset = offset.unwrap_or(0);
    let total = audit_entry::Entity::find().count(db.inner()).await?;
    let entries = audit_entry::Entity::find()
        .order_by_desc(audit_entry::Column::Id)
        .limit(AUDIT_PAGE)
        .offset(offset)
        .all(db.inner())
        .await?;
    let verification = match crate::service::audit::verify(db.inner()).await? {
        crate::service::audit::Verification::Intact { entries, head } => {
            format!("Intact: {entries} entries, head hash {head}.")
        }
        broken => format!(
            "BROKEN: {}",
            serde_json::to_string(&broken).unwrap_or_default()
        ),
    };
    render(&AuditPage {
        nav: user.nav(),
        entries,
        total,
        offset,
        next: (offset + AUDIT_PAGE < total).then_some(offset + AUDIT_PAGE),
        previous: (offset > 0).then(|| offset.saturating_sub(AUDIT_PAGE)),
        verification,
    })
}

pub struct UserRow {
    pub email: String,
    pub role: Role,
    pub password: bool,
    pub disabled: bool,
}

pub struct TokenRow {
    pub id: i32,
    pub email: String,
    pub label: String,
    pub created_at: String,
    pub last_used_at: String,
    pub revoked: String,
}

#[derive(Template)]
#[template(path = "users.html")]
pub struct UsersPage {
    pub nav: Nav,
    pub users: Vec<UserRow>,
    pub tokens: Vec<TokenRow>,
    pub new_token: Option<(String, String)>,
    pub error: Option<String>,
}

/// The users and tokens page, with a token just created shown once.
pub async fn users_page(
    db: &DatabaseConnection,
    user: &WebUser,
    new_token: Option<(String, String)>,
    error: Option<String>,
) -> Page {
    user.require(crate::auth::Admin::ROLES)?;
    let users = user::Entity::find()
        .order_by_asc(user::Column::Email)
        .all(db)
        .await?
        .into_iter()
        .map(|u| UserRow {
            email: u.email,
            role: u.role,
            password: u.password_hash.is_some(),
            disabled: u.disabled_at.is_some(),
        })
        .collect();
    let time = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    let tokens = users::list_tokens(db, None)
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            email: t.email,
            label: t.label.unwrap_or_default(),
            created_at: time(t.created_at),
            last_used_at: t.last_used_at.map(time).unwrap_or_default(),
            revoked: t.revoked_at.map(time).unwrap_or_default(),
        })
        .collect();
    render(&UsersPage {
        nav: user.nav(),
        users,
        tokens,
        new_token,
        error,
    })
}

/// `GET /users`: users and API tokens (admin).
#[get("/users")]
pub async fn get_users(db: &State<DatabaseConnection>, user: WebUser) -> Page {
    users_page(db, &user, None, None).await
}
