//! The budget line page: a line's facts, what is left on it, its flags in its fiscal year and
//! its disbursements, a page at a time.

use askama::Template;
use rocket::{State, get, uri};
use sea_orm::DatabaseConnection;

use super::{
    FlagLine, Pager, Table, one_record, page_plan, plan_flags, record_table, subject_href, text_of,
};
use crate::config::Settings;
use crate::domain::flags::Subject;
use crate::domain::records::RecordKind;
use crate::entity::plan;
use crate::error::Error;
use crate::service::flags::{LineStanding, line_standing};
use crate::service::records::Query;
use crate::web::session::WebUser;
use crate::web::{Nav, Page, render};

#[derive(Template)]
#[template(path = "budget_line.html")]
struct BudgetLinePage {
    nav: Nav,
    plan: plan::Model,
    line: LineStanding,
    /// Each fact's name, text and the page it links to.
    facts: Vec<(&'static str, String, Option<String>)>,
    flags: Vec<FlagLine>,
    disbursements: Table,
    pager: Pager,
    log_href: Option<String>,
}

/// `GET /budget-lines/<code>`: a budget line, what is left on it, its flags as of the end of
/// its fiscal year (or today) and its disbursements.
#[get("/budget-lines/<code>?<plan>&<page>")]
pub async fn get_budget_line(
    db: &State<DatabaseConnection>,
    settings: &State<Settings>,
    user: WebUser,
    code: &str,
    plan: Option<&str>,
    page: Option<u64>,
) -> Page {
    let plan = page_plan(db, plan).await?;
    let record = one_record(db, RecordKind::BudgetLines, &plan, "code", code).await?;
    let line = line_standing(db, &plan, code)
        .await?
        .ok_or_else(|| Error::NotFound(format!("there is no budget line {code}")))?;
    let as_of = super::default_as_of(&plan).min(line.year.1);
    let report = plan_flags(db, settings, &plan, as_of).await?;
    let flags = report
        .flags
        .iter()
        .filter(|f| f.subject.kind == "budget_line" && f.subject.code == code)
        .map(|f| FlagLine::of(&plan.code, f))
        .collect();

    let mut query = Query::all(RecordKind::Disbursements, Some(plan.id));
    query.filter("budget_line_code", code)?;
    let (rows, page, total) = super::fetch_page(db, query, page).await?;
    let pager = Pager::new(page, total, |n| {
        uri!(get_budget_line(
            code = code,
            plan = Some(plan.code.as_str()),
            page = Some(n)
        ))
        .to_string()
    });
    let link =
        |kind: &'static str, value: &str| subject_href(&plan.code, &Subject::new(kind, value, ""));
    let activity = text_of(&record, "activity_code");
    let obligation = text_of(&record, "obligation_code");
    let facts = vec![
        (
            "activity",
            format!("{activity}: {}", line.activity_title),
            link("activity", &activity),
        ),
        (
            "funding source",
            text_of(&record, "funding_source_code"),
            None,
        ),
        (
            "fiscal year",
            format!("{} ({} to {})", line.fiscal_year, line.year.0, line.year.1),
            None,
        ),
        ("category", text_of(&record, "category"), None),
        (
            "obligation",
            if obligation.is_empty() {
                "none".to_owned()
            } else {
                obligation.clone()
            },
            (!obligation.is_empty())
                .then(|| link("obligation", &obligation))
                .flatten(),
        ),
    ];
    render(&BudgetLinePage {
        nav: user.nav(),
        facts,
        flags,
        disbursements: record_table(
            &format!("Disbursements on {code}"),
            RecordKind::Disbursements,
            &rows,
        )
        .link_disbursements(&plan.code),
        pager,
        log_href: user.may_write().then(|| {
            uri!(crate::web::payment_form::get_new_disbursement(
                plan = Some(plan.code.as_str()),
                line = Some(code),
                find = _,
            ))
            .to_string()
        }),
        line,
        plan,
    })
}
