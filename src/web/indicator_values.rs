//! The form to enter or correct one fiscal year's target and actual of an indicator.
//!
//! The POST checks the CSRF token and the role before anything else (a donor or an auditor
//! gets a 403 page), then writes the year as a one-row `indicator-values` import, so every
//! rule of the import holds for the form too; an error shows the form again with the
//! importer's message and the input kept (422).

use askama::Template;
use rocket::form::{Form, FromForm};
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::response::content::RawHtml;
use rocket::{State, get, post, uri};
use sea_orm::DatabaseConnection;

use super::pages::{page_plan, results::get_results};
use super::forms::Field;
use super::session::WebUser;
use super::{Nav, Page, WebError};
use crate::auth;
use crate::domain::Measure;
use crate::domain::records::RecordKind;
use crate::entity::{indicator, plan};
use crate::error::{Error, FieldError};
use crate::service::import::{self, Expect, ImportOptions};
use crate::service::results::indicator_year;

#[derive(Template)]
#[template(path = "indicator_value_form.html")]
struct IndicatorValueFormPage {
    nav: Nav,
    plan_code: String,
    indicator: indicator::Model,
    fiscal_year: i32,
    percentage: bool,
    target: Field,
    actual: Field,
    errors: Vec<String>,
    back_href: String,
}

#[derive(FromForm, Default)]
pub struct IndicatorValueForm {
    #[field(default = String::new())]
    csrf: String,
    #[field(default = String::new())]
    plan: String,
    #[field(default = String::new())]
    indicator: String,
    #[field(default = String::new())]
    fiscal_year: String,
    #[field(default = String::new())]
    target: String,
    #[field(default = String::new())]
    actual: String,
}

/// The results page of `plan` at the section of indicator `code`.
fn results_href(plan: &plan::Model, code: &str) -> String {
    format!(
        "{}#{code}",
        uri!(get_results(
            plan = Some(plan.code.as_str()),
            objective = _,
            activity = _,
        ))
    )
}

/// Each error as a line of the error summary, named by the form's label for its field.
fn summary(errors: &[FieldError]) -> Vec<String> {
    errors
        .iter()
        .map(|e| match e.column.as_str() {
            "target" => format!("Target: {}", e.message),
            "actual" => format!("Actual: {}", e.message),
            other => format!("{other}: {}", e.message),
        })
        .collect()
}

fn form_page(
    user: &WebUser,
    plan: &plan::Model,
    indicator: indicator::Model,
    fiscal_year: i32,
    (target, actual): (String, String),
    errors: &[FieldError],
) -> Result<String, WebError> {
    let field = |name: &str, value: String| {
        let messages: Vec<&str> = errors
            .iter()
            .filter(|e| e.column == name)
            .map(|e| e.message.as_str())
            .collect();
        Field {
            value,
            error: (!messages.is_empty()).then(|| messages.join("; ")),
        }
    };
    let back_href = results_href(plan, &indicator.code);
    super::render_text(&IndicatorValueFormPage {
        nav: user.nav(),
        plan_code: plan.code.clone(),
        percentage: indicator.measure == Measure::Percentage,
        indicator,
        fiscal_year,
        target: field("target", target),
        actual: field("actual", actual),
        errors: summary(errors),
        back_href,
    })
}

/// `GET /results/values`: the form for one indicator's fiscal year, prefilled with the
/// values stored now (recorders and admins).
#[get("/results/values?<plan>&<indicator>&<fiscal_year>")]
pub async fn get_indicator_value(
    db: &State<DatabaseConnection>,
    user: WebUser,
    plan: Option<&str>,
    indicator: &str,
    fiscal_year: i32,
) -> Page {
    user.require(auth::Writer::ROLES)?;
    let plan = page_plan(db, plan).await?;
    let (indicator, value) = indicator_year(db, &plan, indicator, fiscal_year).await?;
    let text = |q: Option<crate::money::Quantity>| q.map(|q| q.to_string()).unwrap_or_default();
    let values = value.map_or_else(Default::default, |v| (text(v.target), text(v.actual)));
    let page = form_page(&user, &plan, indicator, fiscal_year, values, &[])?;
    Ok(RawHtml(page))
}

/// `POST /results/values`: stores the year's target and actual and goes back to the
/// indicator on the results page, or shows the form again with the errors (422).
#[post("/results/values", data = "<form>")]
pub async fn post_indicator_value(
    db: &State<DatabaseConnection>,
    user: WebUser,
    form: Form<IndicatorValueForm>,
) -> Result<Result<Redirect, (Status, RawHtml<String>)>, WebError> {
    user.check_csrf(&form.csrf)?;
    user.require(auth::Writer::ROLES)?;
    let plan = page_plan(db, Some(&form.plan)).await?;
    let fiscal_year: i32 = form.fiscal_year.trim().parse().map_err(|_| {
        Error::invalid(
            "fiscal_year must be a year such as 2017",
            vec![FieldError::new("fiscal_year", "must be a year")],
        )
    })?;
    let code = form.indicator.trim();
    // The indicator is looked up first so that an unknown one is a 404, not a form.
    let (indicator, _) = indicator_year(db, &plan, code, fiscal_year).await?;
    let fields: Vec<(String, String)> = [
        ("plan_code", plan.code.as_str()),
        ("indicator_code", code),
        ("fiscal_year", form.fiscal_year.trim()),
        ("target", form.target.trim()),
        ("actual", form.actual.trim()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let options = ImportOptions {
        plan: Some(plan.code.clone()),
        actor: user.caller.actor(),
        expect: Expect::Any,
        recorded_by: Some(user.caller.user_id),
        ..ImportOptions::default()
    };
    match import::write_record(db, RecordKind::IndicatorValues, &fields, &options).await {
        Ok(_) => Ok(Ok(Redirect::to(results_href(&plan, &indicator.code)))),
        Err(Error::Invalid { details, message }) => {
            let details = if details.is_empty() {
                vec![FieldError::new("record", message)]
            } else {
                details
            };
            let input = (form.target.clone(), form.actual.clone());
            let page = form_page(&user, &plan, indicator, fiscal_year, input, &details)?;
            Ok(Err((Status::UnprocessableEntity, RawHtml(page))))
        }
        Err(e) => Err(e.into()),
    }
}

