//! The search page: one box for activities, institutions, budget lines, obligations and
//! disbursements, each group with its first matches and a link to the rest.

use askama::Template;
use rocket::{State, get};
use sea_orm::DatabaseConnection;

use super::{page_plan, subject_href, text_of};
use crate::domain::flags::Subject;
use crate::domain::records::RecordKind;
use crate::entity::plan;
use crate::error::Result;
use crate::service::records::{self, Query};
use crate::web::session::WebUser;
use crate::web::{Nav, Page, render, urlencode};

/// How many matches of each kind the page lists.
const SHOWN: u64 = 20;

struct Hit {
    code: String,
    text: String,
    href: Option<String>,
}

struct Group {
    title: &'static str,
    total: u64,
    hits: Vec<Hit>,
    /// Where all the matches are listed, for the kinds that have such a page.
    more_href: Option<String>,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    nav: Nav,
    plan: plan::Model,
    q: String,
    groups: Vec<Group>,
}

/// What to search: the kind, the subject kind its pages link by, the columns searched and the
/// column that names a match.
const SEARCHED: [(&str, RecordKind, &str, &[&str], &str); 5] = [
    (
        "Activities",
        RecordKind::Activities,
        "activity",
        &["code", "title"],
        "title",
    ),
    (
        "Institutions",
        RecordKind::Institutions,
        "institution",
        &["code", "name"],
        "name",
    ),
    (
        "Obligations",
        RecordKind::Obligations,
        "obligation",
        &["code", "title", "legal_basis"],
        "title",
    ),
    (
        "Budget lines",
        RecordKind::BudgetLines,
        "budget_line",
        &["code", "activity_code"],
        "activity_code",
    ),
    (
        "Disbursements",
        RecordKind::Disbursements,
        "disbursement",
        &["reference", "description"],
        "description",
    ),
];

async fn group(
    db: &DatabaseConnection,
    plan: &plan::Model,
    q: &str,
    (title, kind, subject, columns, name): (&'static str, RecordKind, &'static str, &[&str], &str),
) -> Result<Group> {
    let mut query = Query::all(kind, Some(plan.id));
    query.search(columns, q)?;
    let total = records::count(db, &query).await?;
    query.limit = Some(SHOWN);
    let key = records::key_columns(kind).last().copied().unwrap_or("code");
    let hits = records::fetch(db, &query)
        .await?
        .iter()
        .map(|r| {
            let code = text_of(r, key);
            Hit {
                href: subject_href(&plan.code, &Subject::new(subject, &code, "")),
                text: text_of(r, name),
                code,
            }
        })
        .collect();
    Ok(Group {
        title,
        total,
        hits,
        more_href: (kind == RecordKind::Disbursements && total > SHOWN).then(|| {
            format!(
                "/disbursements?plan={}&q={}",
                urlencode(&plan.code),
                urlencode(q)
            )
        }),
    })
}

/// `GET /search?q=`: the plan's activities, institutions, obligations, budget lines and
/// disbursements whose code, name or description contains `q` (ignoring case).
#[get("/search?<q>&<plan>")]
pub async fn get_search(
    db: &State<DatabaseConnection>,
    user: WebUser,
    q: Option<&str>,
    plan: Option<&str>,
) -> Page {
    let plan = page_plan(db, plan).await?;
    let q = q.unwrap_or_default().trim().to_owned();
    let mut groups = Vec::new();
    if !q.is_empty() {
        for searched in SEARCHED {
            groups.push(group(db, &plan, &q, searched).await?);
        }
    }
    render(&SearchPage {
        nav: user.nav(),
        q,
        groups,
        plan,
    })
}
