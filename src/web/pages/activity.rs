//! The activity page: an activity's budget lines, commitments, disbursements, obligations
//! and flags.

use askama::Template;
use rocket::{State, get, uri};
use sea_orm::DatabaseConnection;

use super::{Table, default_as_of, page_plan, plan_flags, record_table, text_of};
use crate::config::Settings;
use crate::domain::records::RecordKind;
use crate::domain::sector::Sector;
use crate::entity::plan;
use crate::error::{Error, Result};
use crate::service::records::{self, Query, Record};
use crate::web::session::WebUser;
use crate::web::{Nav, Page, render};

#[derive(Template)]
#[template(path = "activity.html")]
struct ActivityPage {
    nav: Nav,
    plan: plan::Model,
    facts: Vec<(String, String)>,
    title: String,
    status: String,
    /// The sector's code and its codelist name; none when the activity has no sector yet.
    sector: Option<(String, String)>,
    tables: Vec<Table>,
    flags: Vec<super::FlagLine>,
    log_href: Option<String>,
    results_href: String,
    payment_count: usize,
    all_payments_href: String,
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

/// The activity's sector code with the codelist's name for it. The importer admits only codes
/// of the codelist, so a code without a name is shown by its code alone.
fn sector_of(activity: &Record) -> Option<(String, String)> {
    let code = text_of(activity, "sector_code");
    if code.is_empty() {
        return None;
    }
    let name = Sector::parse(&code)
        .map(|s| s.name().to_owned())
        .unwrap_or_default();
    Some((code, name))
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
    let obligation_codes: Vec<String> = obligations.iter().map(|o| text_of(o, "code")).collect();
    let commitment_refs: Vec<String> = commitments
        .iter()
        .map(|c| text_of(c, "reference"))
        .collect();
    let payment_refs: Vec<String> = disbursements
        .iter()
        .map(|d| text_of(d, "reference"))
        .collect();
    let report = plan_flags(db, settings, &plan, default_as_of(&plan)).await?;
    // The activity's own flags, and those of everything that belongs to it.
    let flags = report
        .flags
        .iter()
        .filter(|f| {
            let code_in = |codes: &[String]| codes.contains(&f.subject.code);
            match f.subject.kind {
                "activity" => f.subject.code == code,
                "budget_line" => code_in(&line_codes),
                "obligation" => code_in(&obligation_codes),
                "commitment" => code_in(&commitment_refs),
                "disbursement" => code_in(&payment_refs),
                _ => false,
            }
        })
        .map(|f| super::FlagLine::of(&plan.code, f))
        .collect();
    let may_write = user.may_write();
    // The latest payments; all of them are on the disbursements page.
    let payment_count = disbursements.len();
    let latest: Vec<Record> = disbursements
        .iter()
        .rev()
        .take(usize::try_from(super::PAGE_SIZE).unwrap_or(usize::MAX))
        .cloned()
        .collect();
    let all_payments_href = format!(
        "/disbursements?plan={}&activity={}",
        crate::web::urlencode(&plan.code),
        crate::web::urlencode(code)
    );
    let link = |kind: &'static str| {
        let plan_code = plan.code.clone();
        move |code: &str| {
            super::subject_href(
                &plan_code,
                &crate::domain::flags::Subject::new(kind, code, ""),
            )
        }
    };
    let tables = vec![
        record_table("Budget lines", RecordKind::BudgetLines, &lines)
            .link_column("code", link("budget_line")),
        record_table("Commitments", RecordKind::Commitments, &commitments),
        record_table(
            &format!(
                "The latest {} of {payment_count} disbursements",
                latest.len()
            ),
            RecordKind::Disbursements,
            &latest,
        )
        .link_disbursements(&plan.code),
        record_table("Obligations", RecordKind::Obligations, &obligations)
            .link_column("code", link("obligation"))
            .link_column("institution code", link("institution")),
    ];
    render(&ActivityPage {
        nav: user.nav(),
        title: text_of(&activity, "title"),
        status: text_of(&activity, "status"),
        sector: sector_of(&activity),
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
        log_href: may_write.then(|| {
            uri!(crate::web::payment_form::get_new_disbursement(
                plan = Some(plan.code.as_str()),
                line = _,
                find = _,
            ))
            .to_string()
        }),
        results_href: uri!(super::results::get_results(
            plan = Some(plan.code.as_str()),
            objective = _,
            activity = Some(code),
        ))
        .to_string(),
        payment_count,
        all_payments_href,
        plan,
    })
}
