//! The plan page: objectives and their activities as a tree, with money columns.

use std::collections::HashMap;

use askama::Template;
use rocket::{State, get, uri};
use sea_orm::DatabaseConnection;

use super::{page_plan, percent};
use crate::entity::{objective, plan};
use crate::money::Amount;
use crate::service::plans::{self, PlanOutline};
use crate::service::report_cache::ReportCache;
use crate::service::reports::{Dimension, Filters, ReportRow};
use crate::web::session::WebUser;
use crate::web::{Nav, Page, render};

struct TreeRow {
    depth: usize,
    is_objective: bool,
    code: String,
    title: String,
    href: Option<String>,
    /// The results page scoped to this objective (objectives only).
    results_href: Option<String>,
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
    let PlanOutline {
        objectives,
        activities,
    } = plans::outline(db.inner(), &plan).await?;
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
    let mut rows = Vec::new();
    let emit = |o: &objective::Model, depth: usize, rows: &mut Vec<TreeRow>| {
        rows.push(TreeRow {
            depth,
            is_objective: true,
            code: o.code.clone(),
            title: o.title.clone(),
            href: None,
            results_href: Some(
                uri!(super::results::get_results(
                    plan = Some(plan.code.as_str()),
                    objective = Some(o.code.as_str()),
                    activity = _,
                ))
                .to_string(),
            ),
            money: money_of(objective_money.get(o.code.as_str()).copied()),
        });
        for a in activities.iter().filter(|a| a.objective_id == o.id) {
            rows.push(TreeRow {
                depth: depth + 1,
                is_objective: false,
                code: a.code.clone(),
                title: format!("{} ({})", a.title, a.status),
                href: Some(
                    uri!(super::activity::get_activity(
                        code = a.code.as_str(),
                        plan = Some(plan.code.as_str()),
                    ))
                    .to_string(),
                ),
                results_href: None,
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
