//! The disbursements page: every payment of the plan, searched and filtered by reference or
//! description, payee, budget line, activity, dates and amounts, a page at a time. The filters
//! are a plain GET form, so a search works without JavaScript and can be bookmarked.

use askama::Template;
use rocket::{FromForm, State, get};
use sea_orm::DatabaseConnection;

use super::{Pager, Table, page_plan, record_table, text_of};
use crate::domain::records::RecordKind;
use crate::entity::plan;
use crate::error::Result;
use crate::service::records::{self, Query};
use crate::web::session::WebUser;
use crate::web::{Nav, Page, render, urlencode};

/// The filters of the disbursements page, as its form sends them; an empty field is no filter.
#[derive(Debug, Default, FromForm)]
pub struct Filters {
    pub q: Option<String>,
    pub payee: Option<String>,
    pub line: Option<String>,
    pub activity: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub min: Option<String>,
    pub max: Option<String>,
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl Filters {
    /// The query string of these filters (without the page), for the pager's links.
    fn query_string(&self) -> String {
        [
            ("q", &self.q),
            ("payee", &self.payee),
            ("line", &self.line),
            ("activity", &self.activity),
            ("from", &self.from),
            ("to", &self.to),
            ("min", &self.min),
            ("max", &self.max),
        ]
        .into_iter()
        .filter_map(|(name, value)| given(value).map(|v| format!("&{name}={}", urlencode(v))))
        .collect()
    }

    /// The disbursements of `plan` these filters select.
    async fn query(&self, db: &DatabaseConnection, plan: &plan::Model) -> Result<Query> {
        let mut query = Query::all(RecordKind::Disbursements, Some(plan.id));
        if let Some(text) = given(&self.q) {
            query.search(&["reference", "description"], text)?;
        }
        if let Some(payee) = given(&self.payee) {
            query.filter("payee_code", payee)?;
        }
        if let Some(line) = given(&self.line) {
            query.filter("budget_line_code", line)?;
        }
        if let Some(activity) = given(&self.activity) {
            let mut lines = Query::all(RecordKind::BudgetLines, Some(plan.id));
            lines.filter("activity_code", activity)?;
            let codes = records::fetch(db, &lines)
                .await?
                .iter()
                .map(|line| text_of(line, "code"))
                .collect();
            query.one_of("budget_line_code", codes)?;
        }
        if let Some(from) = given(&self.from) {
            query.at_least("date", from)?;
        }
        if let Some(to) = given(&self.to) {
            query.at_most("date", to)?;
        }
        if let Some(min) = given(&self.min) {
            query.at_least("amount", min)?;
        }
        if let Some(max) = given(&self.max) {
            query.at_most("amount", max)?;
        }
        Ok(query)
    }
}

#[derive(Template)]
#[template(path = "disbursements.html")]
struct DisbursementsPage {
    nav: Nav,
    plan: plan::Model,
    filters: Filters,
    /// The activities to filter by: code and title.
    activities: Vec<(String, String)>,
    /// The institutions a payment may go to: code and name.
    payees: Vec<(String, String)>,
    table: Table,
    pager: Pager,
}

/// Codes and names of the records of `kind` (activities: code and title), in code order.
pub async fn choices(
    db: &DatabaseConnection,
    plan: &plan::Model,
    kind: RecordKind,
    name_column: &str,
) -> Result<Vec<(String, String)>> {
    let records = records::fetch(db, &Query::all(kind, Some(plan.id))).await?;
    Ok(records
        .iter()
        .map(|r| (text_of(r, "code"), text_of(r, name_column)))
        .collect())
}

/// `GET /disbursements`: the plan's disbursements, filtered and a page at a time.
#[get("/disbursements?<plan>&<page>&<filters..>")]
pub async fn get_disbursements(
    db: &State<DatabaseConnection>,
    user: WebUser,
    plan: Option<&str>,
    page: Option<u64>,
    filters: Filters,
) -> Page {
    let plan = page_plan(db, plan).await?;
    let query = filters.query(db, &plan).await?;
    let (rows, page, total) = super::fetch_page(db, query, page).await?;
    let base = format!(
        "/disbursements?plan={}{}",
        urlencode(&plan.code),
        filters.query_string()
    );
    let pager = Pager::new(page, total, |n| format!("{base}&page={n}"));
    render(&DisbursementsPage {
        nav: user.nav(),
        activities: choices(db, &plan, RecordKind::Activities, "title").await?,
        payees: choices(db, &plan, RecordKind::Institutions, "name").await?,
        table: record_table(
            &format!("Disbursements of {} that match", plan.code),
            RecordKind::Disbursements,
            &rows,
        )
        .link_disbursements(&plan.code),
        pager,
        filters,
        plan,
    })
}
