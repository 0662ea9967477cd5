//! The obligation page: what a law requires, and its funding in every fiscal year of the plan
//! with the flags each year raises. This is where an unfunded fund shows as what it is.

use askama::Template;
use rocket::{State, get};
use sea_orm::DatabaseConnection;

use super::{
    FlagLine, Table, TableCell, one_record, page_plan, record_table, subject_href, text_of,
};
use crate::config::Settings;
use crate::domain::flags::Subject;
use crate::domain::records::RecordKind;
use crate::entity::plan;
use crate::service::flags::obligation_years;
use crate::service::records::{self, Query};
use crate::web::session::WebUser;
use crate::web::{Nav, Page, render};

#[derive(Template)]
#[template(path = "obligation.html")]
struct ObligationPage {
    nav: Nav,
    plan: plan::Model,
    code: String,
    title: String,
    legal_basis: String,
    facts: Vec<(&'static str, String, Option<String>)>,
    years: Table,
    flags: Vec<FlagLine>,
    lines: Table,
}

/// `GET /obligations/<code>`: an obligation, its funding in each fiscal year of the plan up to
/// today (the annual minimum, the linked budget lines' allocation and payments) and the flags
/// of each year.
#[get("/obligations/<code>?<plan>")]
pub async fn get_obligation(
    db: &State<DatabaseConnection>,
    settings: &State<Settings>,
    user: WebUser,
    code: &str,
    plan: Option<&str>,
) -> Page {
    let plan = page_plan(db, plan).await?;
    let record = one_record(db, RecordKind::Obligations, &plan, "code", code).await?;
    let today = chrono::Utc::now().date_naive();
    let years = obligation_years(db, &plan, code, today, &settings.flags.thresholds()?).await?;
    let link =
        |kind: &'static str, value: &str| subject_href(&plan.code, &Subject::new(kind, value, ""));
    let activity = text_of(&record, "activity_code");
    let institution = text_of(&record, "institution_code");
    let facts = vec![
        (
            "institution",
            institution.clone(),
            link("institution", &institution),
        ),
        (
            "activity",
            if activity.is_empty() {
                "none".to_owned()
            } else {
                activity.clone()
            },
            (!activity.is_empty())
                .then(|| link("activity", &activity))
                .flatten(),
        ),
        ("in force from", text_of(&record, "in_force_from"), None),
    ];
    let mut flags = Vec::new();
    let rows = years
        .iter()
        .map(|y| {
            flags.extend(y.flags.iter().map(|f| FlagLine::of(&plan.code, f)));
            let f = &y.facts;
            let in_force = f.in_force_from <= y.as_of;
            vec![
                TableCell::code(y.fiscal_year.to_string()),
                TableCell::text(if in_force { "yes" } else { "not yet" }),
                f.annual_minimum
                    .map_or_else(|| TableCell::text("none set"), TableCell::amount),
                TableCell::amount(f.allocated),
                TableCell::amount(f.disbursed),
                TableCell::text(match y.flags.len() {
                    0 => "none".to_owned(),
                    _ => y
                        .flags
                        .iter()
                        .map(|flag| format!("{} ({})", flag.rule, flag.severity))
                        .collect::<Vec<_>>()
                        .join(", "),
                }),
            ]
        })
        .collect();
    let currency = years
        .first()
        .map(|y| y.facts.currency.to_string())
        .unwrap_or_else(|| plan.currency.to_string());
    let table = Table {
        caption: format!("Funding of {code} by fiscal year, in {currency}"),
        headers: vec![
            ("Fiscal year".to_owned(), false),
            ("In force".to_owned(), false),
            ("Annual minimum".to_owned(), true),
            ("Allocated".to_owned(), true),
            ("Disbursed".to_owned(), true),
            ("Flags as of the year's end".to_owned(), false),
        ],
        rows,
    };
    let mut query = Query::all(RecordKind::BudgetLines, Some(plan.id));
    query.filter("obligation_code", code)?;
    let lines = records::fetch(db.inner(), &query).await?;
    render(&ObligationPage {
        nav: user.nav(),
        code: code.to_owned(),
        title: text_of(&record, "title"),
        legal_basis: text_of(&record, "legal_basis"),
        facts,
        years: table,
        flags,
        lines: record_table(
            &format!("Budget lines linked to {code}"),
            RecordKind::BudgetLines,
            &lines,
        )
        .link_column("code", |c| link("budget_line", c))
        .link_column("activity code", |c| link("activity", c)),
        plan,
    })
}
