//! The institution page: an institution, the activities it leads, the payments it received
//! (a page at a time) and its flags.

use askama::Template;
use rocket::{State, get, uri};
use sea_orm::DatabaseConnection;

use super::{
    FlagLine, Pager, Table, default_as_of, one_record, page_plan, plan_flags, record_table,
    subject_href, text_of,
};
use crate::config::Settings;
use crate::domain::flags::Subject;
use crate::domain::records::RecordKind;
use crate::entity::plan;
use crate::service::records::{self, Query};
use crate::web::session::WebUser;
use crate::web::{Nav, Page, render};

#[derive(Template)]
#[template(path = "institution.html")]
struct InstitutionPage {
    nav: Nav,
    plan: plan::Model,
    code: String,
    name: String,
    facts: Vec<(&'static str, String)>,
    flags: Vec<FlagLine>,
    activities: Table,
    payments: Table,
    pager: Pager,
}

/// `GET /institutions/<code>`: an institution, the plan's activities it leads, the payments
/// made to it and its flags as of today (or the plan's last day).
#[get("/institutions/<code>?<plan>&<page>")]
pub async fn get_institution(
    db: &State<DatabaseConnection>,
    settings: &State<Settings>,
    user: WebUser,
    code: &str,
    plan: Option<&str>,
    page: Option<u64>,
) -> Page {
    let plan = page_plan(db, plan).await?;
    let record = one_record(db, RecordKind::Institutions, &plan, "code", code).await?;
    let report = plan_flags(db, settings, &plan, default_as_of(&plan)).await?;
    let flags = report
        .flags
        .iter()
        .filter(|f| f.subject.kind == "institution" && f.subject.code == code)
        .map(|f| FlagLine::of(&plan.code, f))
        .collect();
    let mut led = Query::all(RecordKind::Activities, Some(plan.id));
    led.filter("lead_institution_code", code)?;
    let activities = records::fetch(db.inner(), &led).await?;

    let mut paid = Query::all(RecordKind::Disbursements, Some(plan.id));
    paid.filter("payee_code", code)?;
    let (payments, page, total) = super::fetch_page(db, paid, page).await?;
    let pager = Pager::new(page, total, |n| {
        uri!(get_institution(
            code = code,
            plan = Some(plan.code.as_str()),
            page = Some(n)
        ))
        .to_string()
    });
    render(&InstitutionPage {
        nav: user.nav(),
        code: code.to_owned(),
        name: text_of(&record, "name"),
        facts: vec![
            ("code", code.to_owned()),
            ("kind", text_of(&record, "kind")),
            ("IATI identifier", text_of(&record, "iati_ref")),
        ],
        flags,
        activities: record_table(
            &format!("Activities of {} that {code} leads", plan.code),
            RecordKind::Activities,
            &activities,
        )
        .link_column("code", |c| {
            subject_href(&plan.code, &Subject::new("activity", c, ""))
        }),
        payments: record_table(
            &format!("Payments to {code}"),
            RecordKind::Disbursements,
            &payments,
        )
        .link_disbursements(&plan.code),
        pager,
        plan,
    })
}
