//! The flags page: a plan's flags as of a date, filtered by kind, severity and rule.

use askama::Template;
use chrono::NaiveDate;
use rocket::{State, get, uri};
use sea_orm::DatabaseConnection;

use super::{default_as_of, page_plan, plan_flags};
use crate::config::Settings;
use crate::domain::flags::{Kind, Rule, Severity};
use crate::entity::plan;
use crate::error::{Error, Result};
use crate::web::session::WebUser;
use crate::web::{Nav, Page, render};

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
    kind: String,
    severity: String,
    rule: String,
    kinds: Vec<(&'static str, &'static str)>,
    severities: Vec<&'static str>,
    rules: Vec<&'static str>,
    flags: Vec<FlagRow>,
    pager: super::Pager,
}

fn parse_date(name: &str, text: &str) -> Result<NaiveDate> {
    crate::domain::IsoDate::parse(text.trim())
        .map(NaiveDate::from)
        .map_err(|e| Error::BadRequest(e.for_parameter(name)))
}

/// `GET /flags`: the flags of the plan as of a date (today, or the plan's last day), filtered
/// by kind (funding gaps, results, integrity), severity and rule.
#[get("/flags?<plan>&<kind>&<severity>&<rule>&<as_of>&<page>")]
// A route's query parameters are its arguments, one each, as Rocket reads them.
#[allow(clippy::too_many_arguments)]
pub async fn get_flags(
    db: &State<DatabaseConnection>,
    settings: &State<Settings>,
    user: WebUser,
    plan: Option<&str>,
    kind: Option<&str>,
    severity: Option<&str>,
    rule: Option<&str>,
    as_of: Option<&str>,
    page: Option<u64>,
) -> Page {
    let plan = page_plan(db, plan).await?;
    let kind_filter: Option<Kind> = kind
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(Error::BadRequest))
        .transpose()?;
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
    let matching: Vec<_> = report
        .flags
        .iter()
        .filter(|f| kind_filter.is_none_or(|k| f.kind == k))
        .filter(|f| severity_filter.is_none_or(|s| f.severity == s))
        .filter(|f| rule_filter.is_none_or(|r| f.rule == r))
        .collect();
    let total = u64::try_from(matching.len()).unwrap_or(u64::MAX);
    let page = super::Pager::page_within(page, total);
    let kind_text = kind_filter
        .map(|k| k.as_str().to_owned())
        .unwrap_or_default();
    let severity_text = severity_filter.map(|s| s.to_string()).unwrap_or_default();
    let rule_text = rule_filter.map(|r| r.to_string()).unwrap_or_default();
    let as_of_text = as_of.to_string();
    let pager = super::Pager::new(page, total, |n| {
        uri!(get_flags(
            plan = Some(plan.code.as_str()),
            kind = Some(kind_text.as_str()).filter(|t| !t.is_empty()),
            severity = Some(severity_text.as_str()).filter(|t| !t.is_empty()),
            rule = Some(rule_text.as_str()).filter(|t| !t.is_empty()),
            as_of = Some(as_of_text.as_str()),
            page = Some(n),
        ))
        .to_string()
    });
    let skip = usize::try_from(super::Pager::offset(page)).unwrap_or(usize::MAX);
    let take = usize::try_from(super::PAGE_SIZE).unwrap_or(usize::MAX);
    let flags = matching
        .into_iter()
        .skip(skip)
        .take(take)
        .map(|f| FlagRow {
            rule: f.rule.to_string(),
            severity: f.severity.to_string(),
            subject: format!("{} {}: {}", f.subject.kind, f.subject.code, f.subject.title),
            subject_href: super::subject_href(&plan.code, &f.subject),
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
        kind: kind_text,
        kinds: Kind::ALL.iter().map(|k| (k.as_str(), k.label())).collect(),
        severity: severity_text,
        rule: rule_text,
        severities: Severity::ALL.iter().map(|s| s.as_str()).collect(),
        rules: Rule::ALL.iter().map(|r| r.as_str()).collect(),
        flags,
        pager,
        plan,
    })
}
