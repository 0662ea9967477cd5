//! The form to enter or correct one fiscal year's target and actual of an indicator
//! (`GET/POST /results/values`).
//!
//! The POST checks the CSRF token and the role before anything else (a donor or an auditor
//! gets a 403 page and nothing is stored), then writes the year as a one-row
//! `indicator-values` record through the import service, so every rule of the import holds
//! for the form too. An error shows the form again with the importer's message beside its
//! field and the input kept as typed (422); success goes back to the indicator on the results
//! page with a flash message.

use askama::Template;
use rocket::form::{Form, FromForm};
use rocket::http::Status;
use rocket::response::content::RawHtml;
use rocket::response::{Flash, Redirect};
use rocket::{State, get, post, uri};
use sea_orm::DatabaseConnection;

use super::page_plan;
use super::results;
use crate::auth;
use crate::domain::Measure;
use crate::domain::records::RecordKind;
use crate::entity::{indicator, plan};
use crate::error::{Error, FieldError};
use crate::money::Quantity;
use crate::service::import::{self, Expect, ImportOptions};
use crate::service::results::indicator_year;
use crate::web::forms::Field;
use crate::web::session::WebUser;
use crate::web::{ErrorLink, Nav, Page, WebError};

/// The form's own fields; an error about any other column is shown above the form.
const FIELDS: [&str; 2] = ["target", "actual"];

#[derive(Template)]
#[template(path = "results_values.html")]
struct ValuesFormPage {
    nav: Nav,
    plan_code: String,
    indicator: indicator::Model,
    fiscal_year: i32,
    percentage: bool,
    target: Field,
    actual: Field,
    other_errors: Vec<String>,
    /// Every error, for the summary above the form.
    errors: Vec<ErrorLink>,
    back_href: String,
}

#[derive(FromForm, Default)]
pub struct ValuesForm {
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

/// How the form writes for the signed-in `user`: as one record of `plan` that may create the
/// year or update it, in the user's name. The one place the caller's rights become import
/// options (a recorder bound to an institution is limited here too).
fn import_options(user: &WebUser, plan: &plan::Model) -> ImportOptions {
    ImportOptions {
        plan: Some(plan.code.clone()),
        expect: Expect::Any,
        ..user.caller.import_options()
    }
}

/// The results page of `plan` at the section of indicator `code`.
fn results_href(plan: &plan::Model, code: &str) -> String {
    format!(
        "{}#{code}",
        uri!(results::get_results(
            plan = Some(plan.code.as_str()),
            objective = _,
            activity = _,
        ))
    )
}

/// The field `name` as entered, with the messages of `errors` about it.
fn field(name: &str, value: &str, errors: &[FieldError]) -> Field {
    let messages: Vec<&str> = errors
        .iter()
        .filter(|e| e.column == name)
        .map(|e| e.message.as_str())
        .collect();
    Field {
        value: value.to_owned(),
        error: (!messages.is_empty()).then(|| messages.join("; ")),
    }
}

fn form_page(
    user: &WebUser,
    plan: &plan::Model,
    indicator: indicator::Model,
    fiscal_year: i32,
    (target, actual): (&str, &str),
    errors: &[FieldError],
) -> Result<String, WebError> {
    let back_href = results_href(plan, &indicator.code);
    crate::web::render_text(&ValuesFormPage {
        nav: user.nav(),
        plan_code: plan.code.clone(),
        percentage: indicator.measure == Measure::Percentage,
        indicator,
        fiscal_year,
        target: field("target", target, errors),
        actual: field("actual", actual, errors),
        other_errors: errors
            .iter()
            .filter(|e| !FIELDS.contains(&e.column.as_str()))
            .map(|e| format!("{}: {}", e.column, e.message))
            .collect(),
        errors: errors
            .iter()
            .map(|e| {
                if FIELDS.contains(&e.column.as_str()) {
                    ErrorLink::field(
                        &e.column,
                        &format!("{}: {}", label_of(&e.column), e.message),
                    )
                } else {
                    ErrorLink::general(&format!("{}: {}", e.column, e.message))
                }
            })
            .collect(),
        back_href,
    })
}

/// How the form labels its field `name`.
fn label_of(name: &str) -> &str {
    match name {
        "target" => "Target",
        "actual" => "Actual",
        other => other,
    }
}

/// `GET /results/values`: the form for one indicator's fiscal year, prefilled with the
/// values stored now (recorders and admins).
#[get("/results/values?<plan>&<indicator>&<fiscal_year>")]
pub async fn get_values(
    db: &State<DatabaseConnection>,
    user: WebUser,
    plan: Option<&str>,
    indicator: &str,
    fiscal_year: i32,
) -> Page {
    user.require(auth::Writer::ROLES)?;
    let plan = page_plan(db, plan).await?;
    let (indicator, value) = indicator_year(db, &plan, indicator, fiscal_year).await?;
    let text = |q: Option<Quantity>| q.map(|q| q.to_string()).unwrap_or_default();
    let (target, actual) =
        value.map_or_else(Default::default, |v| (text(v.target), text(v.actual)));
    let page = form_page(
        &user,
        &plan,
        indicator,
        fiscal_year,
        (&target, &actual),
        &[],
    )?;
    Ok(RawHtml(page))
}

/// `POST /results/values`: stores the year's target and actual and goes back to the
/// indicator on the results page, or shows the form again with the errors (422).
#[post("/results/values", data = "<form>")]
pub async fn post_values(
    db: &State<DatabaseConnection>,
    user: WebUser,
    form: Form<ValuesForm>,
) -> Result<Result<Flash<Redirect>, (Status, RawHtml<String>)>, WebError> {
    user.check_csrf(&form.csrf)?;
    user.require(auth::Writer::ROLES)?;
    let plan = page_plan(db, Some(&form.plan)).await?;
    let fiscal_year: i32 = form.fiscal_year.trim().parse().map_err(|_| {
        Error::invalid(
            "the fiscal year must be a year such as 2017",
            vec![FieldError::new(
                "fiscal_year",
                "must be a year such as 2017",
            )],
        )
    })?;
    // The indicator is looked up first so that an unknown one is a 404, not a form.
    let (indicator, _) = indicator_year(db, &plan, form.indicator.trim(), fiscal_year).await?;
    let year = fiscal_year.to_string();
    // The values go to the importer as typed (trimmed): it reads them as exact decimals.
    let fields: Vec<(String, String)> = [
        ("plan_code", plan.code.as_str()),
        ("indicator_code", indicator.code.as_str()),
        ("fiscal_year", year.as_str()),
        ("target", form.target.trim()),
        ("actual", form.actual.trim()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let options = import_options(&user, &plan);
    match import::write_record(db, RecordKind::IndicatorValues, &fields, &options).await {
        Ok(_) => {
            let message = format!(
                "Fiscal year {fiscal_year} of {} stored: target {}, actual {}.",
                indicator.code,
                or_none(form.target.trim()),
                or_none(form.actual.trim()),
            );
            Ok(Ok(Flash::success(
                Redirect::to(results_href(&plan, &indicator.code)),
                message,
            )))
        }
        Err(e @ (Error::Invalid { .. } | Error::ForbiddenRows { .. })) => {
            let status = e.status();
            let details = if e.details().is_empty() {
                vec![FieldError::new("record", e.to_string())]
            } else {
                e.details().to_vec()
            };
            let input = (form.target.as_str(), form.actual.as_str());
            let page = form_page(&user, &plan, indicator, fiscal_year, input, &details)?;
            Ok(Err((status, RawHtml(page))))
        }
        Err(e) => Err(e.into()),
    }
}

fn or_none(value: &str) -> &str {
    if value.is_empty() { "none" } else { value }
}
