//! The forms that create and edit activities, obligations, budget lines and commitments
//! (`/records/<kind>`), with a paged list of each kind to pick the record to edit.
//!
//! A form is the kind's contract columns, with pickers (names, grouped) for the records it
//! refers to. The POST checks the CSRF token and the role before anything else, then writes
//! the record as one row through [`import::write_record`], as the API's `POST`/`PUT` and the
//! CSV import do: every rule of the import holds (references, dates, money, the institution
//! a bound recorder may write for), the write is in the audit trail with before and after,
//! and the reports computed before it are not served again (they are kept by the trail's
//! head). A refused write stores nothing and shows the form again with each error beside its
//! field and the input kept (422, 403 for a record outside a bound recorder's institution,
//! 409 for a key that exists).

use std::collections::HashMap;

use askama::Template;
use rocket::form::Form;
use rocket::http::Status;
use rocket::request::{FlashMessage, FromParam};
use rocket::response::content::RawHtml;
use rocket::response::{Flash, Redirect};
use rocket::{State, get, post};
use sea_orm::DatabaseConnection;

use super::users::{ErrorLink, Pager};
use super::{Table, TableCell, page_plan, record_table};
use crate::domain::Role;
use crate::domain::records::RecordKind;
use crate::entity::plan;
use crate::error::{Error, FieldError};
use crate::service::import::{self, Expect, ImportOptions};
use crate::service::records::{self, Cell, Query, Record};
use crate::web::session::WebUser;
use crate::web::{Nav, Page, WebError, render, render_text, urlencode};

/// Records a page of a list holds.
const LIST_PAGE: u64 = 50;

/// A record kind the web forms write, from the path (`budget-lines`); any other is 404.
#[derive(Debug, Clone, Copy)]
pub struct FormKind(RecordKind);

impl<'a> FromParam<'a> for FormKind {
    type Error = &'a str;

    fn from_param(param: &'a str) -> Result<Self, Self::Error> {
        match param.parse::<RecordKind>() {
            Ok(
                kind @ (RecordKind::Activities
                | RecordKind::Obligations
                | RecordKind::BudgetLines
                | RecordKind::Commitments),
            ) => Ok(FormKind(kind)),
            _ => Err(param),
        }
    }
}

/// The kind of a path, or a 404 page for any other.
fn form_kind(kind: Result<FormKind, &str>) -> Result<RecordKind, WebError> {
    kind.map(|k| k.0).map_err(|other| {
        WebError::from(Error::NotFound(format!(
            "there is no form for \"{other}\": activities, obligations, budget-lines and commitments have one"
        )))
    })
}

/// What a field of a form is called, and what it asks for.
fn label_of(column: &str) -> &'static str {
    match column {
        "code" => "Code",
        "reference" => "Reference",
        "title" => "Title",
        "objective_code" => "Objective",
        "lead_institution_code" => "Lead institution",
        "institution_code" => "Responsible institution",
        "activity_code" => "Activity",
        "funding_source_code" => "Funding source",
        "obligation_code" => "Obligation it funds",
        "legal_basis" => "Legal basis",
        "in_force_from" => "In force from",
        "annual_minimum" => "Annual minimum",
        "fiscal_year" => "Fiscal year",
        "category" => "Category",
        "amount" => "Amount",
        "currency" => "Currency",
        "start_date" => "Start date",
        "end_date" => "End date",
        "date" => "Date",
        "due_date" => "Due date",
        "status" => "Status",
        "sector_code" => "Sector",
        _ => "Value",
    }
}

/// The help under a field, where its format is not obvious.
fn hint_of(column: &str) -> Option<&'static str> {
    match column {
        "amount" | "annual_minimum" => {
            Some("Digits, a point and at most four decimals, no separators: 12500.00")
        }
        "currency" => Some("ISO 4217 code: EUR, USD"),
        "fiscal_year" => Some("The calendar year the fiscal year ends in: 2017"),
        "sector_code" => Some(
            "OECD DAC 5-digit purpose code, e.g. 15180 ending violence against women and girls, 15130 legal and judicial development, 16010 social protection",
        ),
        "in_force_from" => Some("The day the obligation binds the plan"),
        _ => None,
    }
}

/// How a field is entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Text,
    Decimal,
    Year,
    Date,
    Select,
}

/// A group of choices of a picker (`<optgroup>`); an empty label is no group.
pub struct ChoiceGroup {
    pub label: String,
    pub choices: Vec<(String, String)>,
}

/// One field of the form, as shown.
pub struct FormField {
    pub name: &'static str,
    pub id: String,
    pub label: &'static str,
    pub required: bool,
    pub input: Input,
    pub groups: Vec<ChoiceGroup>,
    pub value: String,
    pub error: Option<String>,
    pub hint: Option<&'static str>,
    /// The key of a record being edited, which cannot change.
    pub fixed: bool,
}

impl FormField {
    pub fn is_select(&self) -> bool {
        self.input == Input::Select
    }

    pub fn input_type(&self) -> &'static str {
        match self.input {
            Input::Date => "date",
            _ => "text",
        }
    }

    pub fn input_mode(&self) -> &'static str {
        match self.input {
            Input::Decimal => "decimal",
            Input::Year => "numeric",
            _ => "text",
        }
    }
}

#[derive(Template)]
#[template(path = "record_form.html")]
struct RecordFormPage {
    nav: Nav,
    plan_code: String,
    kind: &'static str,
    /// "budget line".
    one: String,
    editing: bool,
    key: String,
    fields: Vec<FormField>,
    errors: Vec<ErrorLink>,
    flash: Option<String>,
    back: (String, String),
    list_href: String,
    history_href: Option<String>,
}

/// The record kind in words, singular: "budget line".
fn one_of(kind: RecordKind) -> String {
    kind.one().replace(['-', '_'], " ")
}

/// The text a form shows for a stored cell: money and dates as the contract writes them
/// (never grouped), text as stored.
fn cell_text(cell: Option<&Cell>) -> String {
    match cell {
        Some(Cell::Text(text)) => text.clone(),
        Some(Cell::Empty) | None => String::new(),
        Some(other) => other.csv_text().into_owned(),
    }
}

fn text(record: &Record, column: &str) -> String {
    cell_text(record.get(column))
}

/// The pickers a form of `kind` needs, each as groups of (code, label), keyed by column.
/// A recorder bound to an institution is offered only the activities it leads.
async fn pickers(
    db: &DatabaseConnection,
    user: &WebUser,
    kind: RecordKind,
    plan: &plan::Model,
) -> Result<HashMap<&'static str, Vec<ChoiceGroup>>, Error> {
    let columns: Vec<&str> = kind.columns().iter().map(|c| c.name).collect();
    let needs = |c: &str| columns.contains(&c);
    let fetch = |kind: RecordKind| {
        let plan_id = kind.is_plan_scoped().then_some(plan.id);
        async move { records::fetch(db, &Query::all(kind, plan_id)).await }
    };
    let one_group = |choices: Vec<(String, String)>| {
        vec![ChoiceGroup {
            label: String::new(),
            choices,
        }]
    };
    let mut pickers = HashMap::new();
    if needs("activity_code") {
        let bound = match (&user.caller.institution_code, user.caller.role) {
            (Some(code), Role::Recorder) => Some(code.clone()),
            _ => None,
        };
        let activities = fetch(RecordKind::Activities).await?;
        let mut groups: Vec<ChoiceGroup> = Vec::new();
        for activity in activities.iter().filter(|a| {
            bound
                .as_ref()
                .is_none_or(|code| &text(a, "lead_institution_code") == code)
        }) {
            let objective = format!("Objective {}", text(activity, "objective_code"));
            let choice = (
                text(activity, "code"),
                format!("{} · {}", text(activity, "code"), text(activity, "title")),
            );
            match groups.iter_mut().find(|g| g.label == objective) {
                Some(group) => group.choices.push(choice),
                None => groups.push(ChoiceGroup {
                    label: objective,
                    choices: vec![choice],
                }),
            }
        }
        groups.sort_by(|a, b| a.label.cmp(&b.label));
        pickers.insert("activity_code", groups);
    }
    if needs("objective_code") {
        let objectives = fetch(RecordKind::Objectives).await?;
        let choices = objectives
            .iter()
            .map(|o| {
                (
                    text(o, "code"),
                    format!("{} · {}", text(o, "code"), text(o, "title")),
                )
            })
            .collect();
        pickers.insert("objective_code", one_group(choices));
    }
    if needs("lead_institution_code") || needs("institution_code") {
        let institutions = fetch(RecordKind::Institutions).await?;
        let choices: Vec<(String, String)> = institutions
            .iter()
            .map(|i| {
                (
                    text(i, "code"),
                    format!("{} · {}", text(i, "code"), text(i, "name")),
                )
            })
            .collect();
        for column in ["lead_institution_code", "institution_code"] {
            if needs(column) {
                pickers.insert(column, one_group(choices.clone()));
            }
        }
    }
    if needs("funding_source_code") {
        let sources = fetch(RecordKind::FundingSources).await?;
        let choices = sources
            .iter()
            .map(|f| {
                (
                    text(f, "code"),
                    format!(
                        "{} · {} ({})",
                        text(f, "code"),
                        text(f, "name"),
                        text(f, "currency")
                    ),
                )
            })
            .collect();
        pickers.insert("funding_source_code", one_group(choices));
    }
    if needs("obligation_code") {
        let obligations = fetch(RecordKind::Obligations).await?;
        let choices = obligations
            .iter()
            .map(|o| {
                (
                    text(o, "code"),
                    format!("{} · {}", text(o, "code"), text(o, "title")),
                )
            })
            .collect();
        pickers.insert("obligation_code", one_group(choices));
    }
    if needs("status") {
        let choices = ["planned", "ongoing", "completed", "cancelled"]
            .iter()
            .map(|s| ((*s).to_owned(), (*s).to_owned()))
            .collect();
        pickers.insert("status", one_group(choices));
    }
    Ok(pickers)
}

/// The form's fields, valued from `values` (column → text), with the messages of `errors`.
fn form_fields(
    kind: RecordKind,
    editing: bool,
    values: &HashMap<String, String>,
    errors: &[FieldError],
    mut pickers: HashMap<&'static str, Vec<ChoiceGroup>>,
) -> Vec<FormField> {
    let key = records::key_columns(kind);
    kind.columns()
        .iter()
        .filter(|c| c.name != "plan_code")
        .map(|column| {
            let name = column.name;
            let messages: Vec<&str> = errors
                .iter()
                .filter(|e| e.column == name)
                .map(|e| e.message.as_str())
                .collect();
            let groups = pickers.remove(name).unwrap_or_default();
            let input = if !groups.is_empty() || name == "status" {
                Input::Select
            } else {
                match records::cell_type(column) {
                    records::CellType::Date => Input::Date,
                    records::CellType::Integer => Input::Year,
                    records::CellType::Amount => Input::Decimal,
                    _ => Input::Text,
                }
            };
            FormField {
                name,
                id: format!("field-{name}"),
                label: label_of(name),
                required: column.required,
                input,
                groups,
                value: values.get(name).cloned().unwrap_or_default(),
                error: (!messages.is_empty()).then(|| messages.join("; ")),
                hint: hint_of(name),
                fixed: editing && key.contains(&name),
            }
        })
        .collect()
}

/// The key of a record of `kind` as the form has it: its code or reference.
fn key_column(kind: RecordKind) -> &'static str {
    records::key_columns(kind)
        .first()
        .copied()
        .unwrap_or("code")
}

/// The page to go back to from a record: its activity, or the plan.
fn back_of(
    kind: RecordKind,
    plan: &plan::Model,
    values: &HashMap<String, String>,
) -> (String, String) {
    let activity = match kind {
        RecordKind::Activities => values.get("code"),
        _ => values.get("activity_code"),
    }
    .filter(|a| !a.is_empty());
    match activity {
        Some(code) => (
            format!(
                "/activities/{}?plan={}",
                urlencode(code),
                urlencode(&plan.code)
            ),
            format!("Back to activity {code}"),
        ),
        None => (
            format!("/plan?plan={}", urlencode(&plan.code)),
            format!("Back to plan {}", plan.code),
        ),
    }
}

fn list_href(kind: RecordKind, plan: &plan::Model, activity: Option<&str>) -> String {
    let mut href = format!("/records/{}?plan={}", kind.name(), urlencode(&plan.code));
    if let Some(activity) = activity.filter(|a| !a.is_empty()) {
        href.push_str(&format!("&activity={}", urlencode(activity)));
    }
    href
}

fn edit_href(kind: RecordKind, plan: &plan::Model, key: &str) -> String {
    format!(
        "/records/{}/edit?plan={}&key={}",
        kind.name(),
        urlencode(&plan.code),
        urlencode(key)
    )
}

/// The error summary: each error a link to its field (`#field-<column>`), or to the form.
fn error_links(kind: RecordKind, errors: &[FieldError]) -> Vec<ErrorLink> {
    errors
        .iter()
        .map(|e| {
            let known = kind.column(&e.column).is_some() && e.column != "plan_code";
            if known {
                ErrorLink {
                    field: Some(format!("field-{}", e.column)),
                    message: format!("{}: {}", label_of(&e.column), e.message),
                }
            } else {
                ErrorLink {
                    field: Some("record-form".to_owned()),
                    message: e.message.clone(),
                }
            }
        })
        .collect()
}

/// Refuses a user who may not write records of `kind` at all (donors, auditors, and bound
/// recorders for activities and obligations) with a 403 page, before a form is shown.
fn require_rights(user: &WebUser, kind: RecordKind) -> Result<(), WebError> {
    user.require(crate::auth::Writer::ROLES)?;
    if user.caller.rights().may_write(kind) {
        Ok(())
    } else {
        Err(WebError::from(Error::Forbidden(format!(
            "your account may not write {}: a recorder bound to an institution writes only budget lines, commitments, disbursements and indicator values of the activities it leads",
            kind.name().replace('-', " ")
        ))))
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "the page's parts, each from its own source"
)]
async fn form_page(
    db: &DatabaseConnection,
    user: &WebUser,
    kind: RecordKind,
    plan: &plan::Model,
    editing: bool,
    values: &HashMap<String, String>,
    errors: &[FieldError],
    flash: Option<String>,
) -> Result<String, WebError> {
    let pickers = pickers(db, user, kind, plan).await?;
    let key = values.get(key_column(kind)).cloned().unwrap_or_default();
    let history_href = (editing && !key.is_empty()).then(|| {
        format!(
            "/audit?entity={}&key={}",
            kind.name(),
            urlencode(&format!("{}/{key}", plan.code))
        )
    });
    let page = RecordFormPage {
        nav: user.nav(),
        plan_code: plan.code.clone(),
        kind: kind.name(),
        one: one_of(kind),
        editing,
        fields: form_fields(kind, editing, values, errors, pickers),
        errors: error_links(kind, errors),
        flash,
        back: back_of(kind, plan, values),
        list_href: list_href(kind, plan, values.get("activity_code").map(String::as_str)),
        history_href,
        key,
    };
    render_text(&page)
}

/// `GET /records/<kind>/new?plan=&activity=`: the form for a new record, with the activity
/// (for a budget line, a commitment or an obligation) and the plan's currency filled in.
#[get("/records/<kind>/new?<plan>&<activity>")]
pub async fn get_new_record(
    db: &State<DatabaseConnection>,
    user: WebUser,
    kind: Result<FormKind, &str>,
    plan: Option<&str>,
    activity: Option<&str>,
) -> Page {
    let kind = form_kind(kind)?;
    require_rights(&user, kind)?;
    let plan = page_plan(db, plan).await?;
    let mut values = HashMap::new();
    if kind.column("activity_code").is_some()
        && let Some(activity) = activity
    {
        values.insert("activity_code".to_owned(), activity.to_owned());
    }
    if kind.column("currency").is_some() && kind != RecordKind::Obligations {
        values.insert("currency".to_owned(), plan.currency.code().to_owned());
    }
    if kind == RecordKind::Activities {
        values.insert("status".to_owned(), "planned".to_owned());
    }
    let page = form_page(db, &user, kind, &plan, false, &values, &[], None).await?;
    Ok(RawHtml(page))
}

/// The stored record of `kind` with key `key` in `plan`, as the form's values.
async fn stored_values(
    db: &DatabaseConnection,
    kind: RecordKind,
    plan: &plan::Model,
    key: &str,
) -> Result<HashMap<String, String>, Error> {
    let mut query = Query::all(kind, Some(plan.id));
    query.filter(key_column(kind), key)?;
    let record = records::fetch(db, &query).await?.pop().ok_or_else(|| {
        Error::NotFound(format!(
            "there is no {} {key} in plan {}",
            one_of(kind),
            plan.code
        ))
    })?;
    Ok(kind
        .columns()
        .iter()
        .map(|c| (c.name.to_owned(), text(&record, c.name)))
        .collect())
}

/// `GET /records/<kind>/edit?plan=&key=`: the form to edit a record, filled with what is
/// stored now.
#[get("/records/<kind>/edit?<plan>&<key>")]
pub async fn get_edit_record(
    db: &State<DatabaseConnection>,
    user: WebUser,
    kind: Result<FormKind, &str>,
    plan: Option<&str>,
    key: &str,
    flash: Option<FlashMessage<'_>>,
) -> Page {
    let kind = form_kind(kind)?;
    require_rights(&user, kind)?;
    let plan = page_plan(db, plan).await?;
    let values = stored_values(db, kind, &plan, key).await?;
    let flash = flash.map(|f| f.message().to_owned());
    let page = form_page(db, &user, kind, &plan, true, &values, &[], flash).await?;
    Ok(RawHtml(page))
}

/// `POST /records/<kind>`: creates the record (`mode=new`) or updates it (`mode=edit`) and
/// goes to its form with a message, or shows the form again with the errors.
#[post("/records/<kind>", data = "<form>")]
pub async fn post_record(
    db: &State<DatabaseConnection>,
    user: WebUser,
    kind: Result<FormKind, &str>,
    form: Form<HashMap<String, String>>,
) -> Result<Result<Flash<Redirect>, (Status, RawHtml<String>)>, WebError> {
    let kind = form_kind(kind)?;
    let given = |name: &str| form.get(name).map(|v| v.trim()).unwrap_or_default();
    user.check_csrf(given("csrf"))?;
    require_rights(&user, kind)?;
    let plan = page_plan(db, Some(given("plan"))).await?;
    let editing = given("mode") == "edit";
    let mut values: HashMap<String, String> = kind
        .columns()
        .iter()
        .filter(|c| c.name != "plan_code")
        .map(|c| (c.name.to_owned(), given(c.name).to_owned()))
        .collect();
    let mut fields: Vec<(String, String)> = kind
        .columns()
        .iter()
        .map(|c| {
            (
                c.name.to_owned(),
                values.get(c.name).cloned().unwrap_or_default(),
            )
        })
        .collect();
    if let Some(plan_code) = fields.iter_mut().find(|(name, _)| name == "plan_code") {
        plan_code.1 = plan.code.clone();
    }
    let options = ImportOptions {
        plan: Some(plan.code.clone()),
        expect: if editing {
            Expect::Existing
        } else {
            Expect::New
        },
        ..user.caller.import_options()
    };
    let key = values.get(key_column(kind)).cloned().unwrap_or_default();
    match import::write_record(db, kind, &fields, &options).await {
        Ok(report) => {
            let what = format!("{} {key}", capitalised(&one_of(kind)));
            let mut message = match (report.created, report.updated) {
                (0, 0) => format!("{what}: nothing changed."),
                (0, _) => format!("{what} saved."),
                _ => format!("{what} created."),
            };
            for warning in &report.warnings {
                message.push_str(&format!(" Note: {}: {}.", warning.column, warning.message));
            }
            Ok(Ok(Flash::success(
                Redirect::to(edit_href(kind, &plan, &key)),
                message,
            )))
        }
        Err(e) => {
            let (status, errors) = match e {
                Error::Invalid { .. } | Error::ForbiddenRows { .. } => {
                    (e.status(), e.details().to_vec())
                }
                Error::Conflict(message) => (
                    Status::Conflict,
                    vec![FieldError::new(key_column(kind), message)],
                ),
                Error::NotFound(message) => (
                    Status::NotFound,
                    vec![FieldError::new(key_column(kind), message)],
                ),
                other => return Err(other.into()),
            };
            let errors = if errors.is_empty() {
                vec![FieldError::new("record", "the record was refused")]
            } else {
                errors
            };
            values.insert("plan_code".to_owned(), plan.code.clone());
            let page = form_page(db, &user, kind, &plan, editing, &values, &errors, None).await?;
            Ok(Err((status, RawHtml(page))))
        }
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

#[derive(Template)]
#[template(path = "record_list.html")]
struct RecordListPage {
    nav: Nav,
    one: String,
    table: Table,
    pager: Pager,
    new_href: String,
    back: (String, String),
}

/// `GET /records/<kind>?plan=&activity=&offset=`: a page of the records of `kind`, of one
/// activity when given, each code a link to its form.
#[get("/records/<kind>?<plan>&<activity>&<offset>")]
pub async fn get_records(
    db: &State<DatabaseConnection>,
    user: WebUser,
    kind: Result<FormKind, &str>,
    plan: Option<&str>,
    activity: Option<&str>,
    offset: Option<u64>,
) -> Page {
    let kind = form_kind(kind)?;
    require_rights(&user, kind)?;
    let plan = page_plan(db, plan).await?;
    let activity = activity.map(str::trim).filter(|a| !a.is_empty());
    let mut query = Query::all(kind, Some(plan.id));
    if let Some(activity) = activity {
        let column = if kind == RecordKind::Activities {
            "code"
        } else {
            "activity_code"
        };
        query.filter(column, activity)?;
    }
    let total = records::count(db.inner(), &query).await?;
    let offset = offset.unwrap_or(0);
    query.limit = Some(LIST_PAGE);
    query.offset = offset;
    let rows = records::fetch(db.inner(), &query).await?;
    let plural = kind.name().replace('-', " ");
    let caption = match activity {
        Some(a) => format!(
            "{} of activity {a}, plan {}",
            capitalised(&plural),
            plan.code
        ),
        None => format!("{} of plan {}", capitalised(&plural), plan.code),
    };
    let mut table = record_table(&caption, kind, &rows);
    let key = key_column(kind);
    let key_index = kind
        .columns()
        .iter()
        .filter(|c| c.name != "plan_code")
        .position(|c| c.name == key);
    if let Some(i) = key_index {
        for (row, record) in table.rows.iter_mut().zip(&rows) {
            if let Some(cell) = row.get_mut(i) {
                *cell = TableCell {
                    link: Some(edit_href(kind, &plan, &text(record, key))),
                    ..TableCell::code(text(record, key))
                };
            }
        }
    }
    let base = list_href(kind, &plan, activity);
    let mut new_href = format!(
        "/records/{}/new?plan={}",
        kind.name(),
        urlencode(&plan.code)
    );
    if let Some(activity) = activity {
        new_href.push_str(&format!("&activity={}", urlencode(activity)));
    }
    let mut back_values = HashMap::new();
    if let Some(activity) = activity {
        back_values.insert("activity_code".to_owned(), activity.to_owned());
    }
    render(&RecordListPage {
        nav: user.nav(),
        one: one_of(kind),
        table,
        pager: Pager::new(&plural, total, offset, LIST_PAGE, |o| {
            format!("{base}&offset={o}")
        }),
        new_href,
        back: back_of(RecordKind::BudgetLines, &plan, &back_values),
    })
}

/// `GET /records/<kind>/at?plan=&key=`: the page that shows a budget line, a commitment or an
/// obligation, for every role: its activity's (or, for an obligation of no activity, the
/// plan's). The audit trail links records here by their key alone.
#[get("/records/<kind>/at?<plan>&<key>")]
pub async fn get_record_home(
    db: &State<DatabaseConnection>,
    user: WebUser,
    kind: Result<FormKind, &str>,
    plan: Option<&str>,
    key: &str,
) -> Result<Redirect, WebError> {
    let kind = form_kind(kind)?;
    user.require(crate::auth::Reader::ROLES)?;
    let plan = page_plan(db, plan).await?;
    let values = stored_values(db, kind, &plan, key).await?;
    Ok(Redirect::to(back_of(kind, &plan, &values).0))
}
