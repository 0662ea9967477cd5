//! The results page: per indicator, a chart of target and actual over the plan's fiscal years
//! beside the money disbursed on what it measures, and a table with the achievement and the
//! cost per unit of result. Read by every role; recorders and admins get a link per year to
//! the form that enters or corrects its target and actual ([`super::results_values`]).

use askama::Template;
use rocket::State;
use rocket::http::ContentType;
use rocket::request::FlashMessage;
use rocket::response::content::RawText;
use rocket::{get, uri};
use sea_orm::DatabaseConnection;

use super::page_plan;
use super::reports::SvgDownload;
use crate::entity::plan;
use crate::service::report_cache::ReportCache;
use crate::service::results::{
    IndicatorResults, PlanCodes, plan_codes, plan_results, scope, write_csv,
};
use crate::web::charts::{YearResult, results_over_years};
use crate::web::session::WebUser;
use crate::web::{Nav, Page, WebError, render, urlencode};

struct YearRow {
    fiscal_year: i32,
    target: String,
    actual: String,
    achievement: String,
    disbursed: String,
    cost_per_unit: String,
    edit_href: String,
}

struct IndicatorView {
    code: String,
    title: String,
    result_type: String,
    direction: &'static str,
    measures: String,
    unit: String,
    baseline: Option<String>,
    chart: String,
    chart_svg_href: String,
    years: Vec<YearRow>,
}

#[derive(Template)]
#[template(path = "results.html")]
struct ResultsPage {
    nav: Nav,
    plan: plan::Model,
    currency: String,
    scope: Option<String>,
    scoped: bool,
    may_record: bool,
    flash: Option<String>,
    csv_href: String,
    indicators: Vec<IndicatorView>,
}

fn or_dash<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "–".to_owned(), |v| v.to_string())
}

/// The unit an indicator is counted in, as its chart's axis says it.
fn unit_of(i: &crate::entity::indicator::Model) -> String {
    match (i.measure, &i.unit) {
        (crate::domain::Measure::Percentage, _) => "%".to_owned(),
        (_, Some(unit)) if !unit.is_empty() => unit.clone(),
        _ => "units".to_owned(),
    }
}

/// The chart of one indicator: target and actual per fiscal year beside the money.
fn indicator_chart(
    plan: &plan::Model,
    result: &IndicatorResults,
    unit: &str,
) -> crate::error::Result<String> {
    let chart_years: Vec<YearResult> = result
        .years
        .iter()
        .map(|y| YearResult {
            year: y.fiscal_year,
            target: y.target,
            actual: y.actual,
            disbursed: y.disbursed,
        })
        .collect();
    results_over_years(
        &result.measured.indicator.title,
        unit,
        plan.currency.code(),
        &chart_years,
    )
}

fn view(
    plan: &plan::Model,
    result: &IndicatorResults,
    codes: &PlanCodes,
) -> crate::error::Result<IndicatorView> {
    let i = &result.measured.indicator;
    let unit = unit_of(i);
    let chart = indicator_chart(plan, result, &unit)?;
    let measures = match (i.activity_id, i.objective_id) {
        (Some(id), _) => format!("activity {}", codes.activity(id)),
        (_, Some(id)) => format!("objective {} and its sub-objectives", codes.objective(id)),
        _ => String::new(),
    };
    Ok(IndicatorView {
        code: i.code.clone(),
        title: i.title.clone(),
        result_type: i.result_type.to_string(),
        direction: if i.ascending {
            "higher is better"
        } else {
            "lower is better"
        },
        measures,
        baseline: i
            .baseline_value
            .zip(i.baseline_year)
            .map(|(value, year)| format!("{value} in {year}")),
        chart,
        chart_svg_href: uri!(get_results_chart_svg(
            plan = Some(plan.code.as_str()),
            indicator = Some(i.code.as_str()),
        ))
        .to_string(),
        unit,
        years: result
            .years
            .iter()
            .map(|y| YearRow {
                fiscal_year: y.fiscal_year,
                target: or_dash(y.target),
                actual: or_dash(y.actual),
                achievement: or_dash(y.achievement.map(|a| format!("{a} %"))),
                disbursed: y.disbursed.grouped(),
                cost_per_unit: or_dash(y.cost_per_unit.map(|c| c.grouped())),
                edit_href: format!(
                    "/results/values?plan={}&indicator={}&fiscal_year={}",
                    urlencode(&plan.code),
                    urlencode(&i.code),
                    y.fiscal_year
                ),
            })
            .collect(),
    })
}

/// `GET /results`: the plan's indicators, or only those measuring one objective's or one
/// activity's work (`objective=`, `activity=`).
#[get("/results?<plan>&<objective>&<activity>")]
pub async fn get_results(
    db: &State<DatabaseConnection>,
    user: WebUser,
    flash: Option<FlashMessage<'_>>,
    plan: Option<&str>,
    objective: Option<&str>,
    activity: Option<&str>,
) -> Page {
    let plan = page_plan(db, plan).await?;
    let objective = objective.filter(|c| !c.is_empty());
    let activity = activity.filter(|c| !c.is_empty());
    let codes = plan_codes(db, &plan).await?;
    let scope_activities = scope(db, &plan, objective, activity).await?;
    let mut indicators = Vec::new();
    for result in plan_results(db, &plan).await? {
        let in_scope = scope_activities
            .as_ref()
            .is_none_or(|ids| !ids.is_disjoint(&result.measured.activity_ids));
        if in_scope {
            indicators.push(view(&plan, &result, &codes)?);
        }
    }
    let scope = match (objective, activity) {
        (_, Some(code)) => Some(format!("indicators that measure activity {code}")),
        (Some(code), None) => Some(format!("indicators that measure objective {code}")),
        _ => None,
    };
    render(&ResultsPage {
        nav: user.nav(),
        currency: plan.currency.to_string(),
        scoped: scope.is_some(),
        scope,
        may_record: user.may_write(),
        flash: flash.map(|f| f.message().to_owned()),
        csv_href: format!("/results.csv?plan={}", urlencode(&plan.code)),
        indicators,
        plan,
    })
}

/// `GET /results.csv`: the results report as the API's CSV, with the session instead of a
/// bearer token.
#[get("/results.csv?<plan>&<fiscal_year>")]
pub async fn get_results_csv(
    db: &State<DatabaseConnection>,
    cache: &State<ReportCache>,
    _user: WebUser,
    plan: Option<&str>,
    fiscal_year: Option<i32>,
) -> Result<(ContentType, RawText<Vec<u8>>), WebError> {
    let plan = page_plan(db, plan).await?;
    let report = cache.results(db, &plan, fiscal_year).await?;
    let mut bytes = Vec::new();
    write_csv(&report, &mut bytes)?;
    Ok((
        ContentType::new("text", "csv").with_params(("charset", "utf-8")),
        RawText(bytes),
    ))
}

/// `GET /results/chart.svg?indicator=CODE`: one indicator's chart as an SVG file, the same
/// drawing as the results page shows, with the session.
#[get("/results/chart.svg?<plan>&<indicator>")]
pub async fn get_results_chart_svg(
    db: &State<DatabaseConnection>,
    _user: WebUser,
    plan: Option<&str>,
    indicator: Option<&str>,
) -> Result<SvgDownload, WebError> {
    let plan = page_plan(db, plan).await?;
    let code = indicator.filter(|c| !c.is_empty()).ok_or_else(|| {
        crate::error::Error::BadRequest("name an indicator (?indicator=CODE)".to_owned())
    })?;
    let result = plan_results(db, &plan)
        .await?
        .into_iter()
        .find(|r| r.measured.indicator.code == code)
        .ok_or_else(|| {
            crate::error::Error::NotFound(format!(
                "plan {} has no indicator with code \"{code}\"",
                plan.code
            ))
        })?;
    let unit = unit_of(&result.measured.indicator);
    let svg = indicator_chart(&plan, &result, &unit)?;
    Ok(SvgDownload::new(svg, &format!("{}-{code}", plan.code)))
}
