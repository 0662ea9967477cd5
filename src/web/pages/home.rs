//! The home page: every plan with its totals and flag counts.

use askama::Template;
use rocket::{State, get};
use sea_orm::DatabaseConnection;

use super::{default_as_of, plan_flags, severity_counts};
use crate::config::Settings;
use crate::service::summary::{self, CurrencyTotals};
use crate::web::session::WebUser;
use crate::web::{Nav, Page, render};

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
    let nav = user.map_or_else(
        || Nav {
            current: "/".to_owned(),
            ..Nav::anonymous()
        },
        |u| u.nav(),
    );
    render(&HomePage { nav, plans })
}
