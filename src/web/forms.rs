//! The pages that write: log a disbursement, reverse one, import a CSV file, create and
//! revoke API tokens. Every POST checks the CSRF token and the role before anything else;
//! a donor or an auditor gets a 403 page, never a form.
//!
//! Writes go through the import service as the API's do (a disbursement is a one-row file
//! with `Expect::New`), so every rule of an import holds for the forms too.

use askama::Template;
use rocket::form::{Form, FromForm};
use rocket::fs::TempFile;
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::response::content::RawHtml;
use rocket::{State, get, post, uri};
use sea_orm::DatabaseConnection;
use tokio::io::AsyncReadExt;

use super::pages::{self, Table, page_plan, record_table, text_of};
use super::session::WebUser;
use super::{Nav, Page, WebError, render, urlencode};
use crate::auth;
use crate::config::Settings;
use crate::domain::records::RecordKind;
use crate::error::{Error, FieldError};
use crate::service::import::{self, ImportOptions, NoProgress, Source};
use crate::service::ledger::{self, ReversalRequest, Reversible};
use crate::service::records::{self, Cell, Query};
use crate::service::{users, warnings};

/// A page that may come with a status other than 200 (a form with errors is 422).
pub type StatusPage = Result<(Status, RawHtml<String>), WebError>;

#[derive(FromForm)]
pub struct TokenForm {
    #[field(default = String::new())]
    csrf: String,
    #[field(default = String::new())]
    email: String,
    #[field(default = String::new())]
    label: String,
}

/// `POST /users/tokens`: a new token for a user, shown once.
#[post("/users/tokens", data = "<form>")]
pub async fn post_token(
    db: &State<DatabaseConnection>,
    user: WebUser,
    form: Form<TokenForm>,
) -> Page {
    user.check_csrf(&form.csrf)?;
    user.require(auth::Admin::ROLES)?;
    let label = Some(form.label.trim()).filter(|l| !l.is_empty());
    match users::create_token(db, form.email.trim(), label, &user.caller.actor()).await {
        Ok(token) => {
            pages::users_page(db, &user, Some((form.email.trim().to_owned(), token)), None).await
        }
        Err(e @ (Error::NotFound(_) | Error::Invalid { .. })) => {
            pages::users_page(db, &user, None, Some(e.user_message())).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(FromForm)]
pub struct CsrfOnly {
    #[field(default = String::new())]
    csrf: String,
}

/// `POST /users/tokens/<id>/revocation`: revokes a token.
#[post("/users/tokens/<id>/revocation", data = "<form>")]
pub async fn post_token_revocation(
    db: &State<DatabaseConnection>,
    user: WebUser,
    id: i32,
    form: Form<CsrfOnly>,
) -> Result<Redirect, WebError> {
    user.check_csrf(&form.csrf)?;
    user.require(auth::Admin::ROLES)?;
    users::revoke_token(db, id, &user.caller.actor()).await?;
    Ok(Redirect::to(uri!(pages::users::get_users)))
}

/// One field of a form as shown again: the user's input and the error beside it.
#[derive(Default, Clone)]
pub struct Field {
    pub value: String,
    pub error: Option<String>,
}

impl Field {
    /// The input `value` of the field `name`, with the messages of `errors` about it.
    pub fn of(name: &str, value: &str, errors: &[FieldError]) -> Field {
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
}

#[derive(Template)]
#[template(path = "disbursement.html")]
struct DisbursementPage {
    nav: Nav,
    plan_code: String,
    reference: String,
    recorded: bool,
    table: Table,
    reversal_href: Option<String>,
    /// For a payment (not a reversal): its reversals and what is left of it.
    reversals: Option<(Table, String)>,
}

async fn find_disbursement(
    db: &DatabaseConnection,
    plan_id: i32,
    plan_code: &str,
    reference: &str,
) -> Result<records::Record, Error> {
    let mut query = Query::all(RecordKind::Disbursements, Some(plan_id));
    query.filter("reference", reference)?;
    records::fetch(db, &query).await?.pop().ok_or_else(|| {
        Error::NotFound(format!(
            "there is no disbursement {reference} in plan {plan_code}"
        ))
    })
}

/// `GET /disbursements/<reference>`: one disbursement; after logging, the confirmation.
#[get("/disbursements/<reference>?<plan>&<recorded>", rank = 3)]
pub async fn get_disbursement(
    db: &State<DatabaseConnection>,
    user: WebUser,
    reference: &str,
    plan: Option<&str>,
    recorded: Option<bool>,
) -> Page {
    let plan = page_plan(db, plan).await?;
    let record = find_disbursement(db, plan.id, &plan.code, reference).await?;
    let is_reversal = !matches!(record.get("reverses"), Some(Cell::Empty) | None);
    let (reversals, left) = if is_reversal {
        (None, None)
    } else {
        let standing = ledger::reversible(db, &plan, reference).await?;
        let mut query = Query::all(RecordKind::Disbursements, Some(plan.id));
        query.filter("reverses", reference)?;
        let rows = records::fetch(db.inner(), &query).await?;
        let table = record_table(
            &format!("Reversals of {reference}"),
            RecordKind::Disbursements,
            &rows,
        )
        .link_disbursements(&plan.code);
        (
            Some((table, standing.remaining.grouped())),
            Some(standing.remaining),
        )
    };
    render(&DisbursementPage {
        nav: user.nav(),
        plan_code: plan.code.clone(),
        reference: reference.to_owned(),
        recorded: recorded.unwrap_or(false),
        table: record_table(
            &format!("Disbursement {reference}"),
            RecordKind::Disbursements,
            std::slice::from_ref(&record),
        )
        .link_disbursements(&plan.code),
        // Nothing is offered once nothing is left to reverse.
        reversal_href: (user.may_write() && left.is_some_and(|l| l.is_positive())).then(|| {
            uri!(get_reversal(
                reference = reference,
                plan = Some(plan.code.as_str())
            ))
            .to_string()
        }),
        reversals,
    })
}

#[derive(Template)]
#[template(path = "reversal_form.html")]
struct ReversalFormPage {
    nav: Nav,
    plan_code: String,
    reference: String,
    original: Table,
    remaining: String,
    reason: Field,
    amount: Field,
    date: Field,
    new_reference: Field,
    /// Whether everything paid has been reversed already: no form then.
    nothing_left: bool,
    /// Each error, for the summary at the top.
    summary: Vec<super::ErrorLink>,
}

#[derive(FromForm, Default)]
pub struct ReversalForm {
    #[field(default = String::new())]
    csrf: String,
    #[field(default = String::new())]
    plan: String,
    #[field(default = String::new())]
    reason: String,
    #[field(default = String::new())]
    amount: String,
    #[field(default = String::new())]
    date: String,
    #[field(default = String::new())]
    reference: String,
}

async fn reversal_form(
    db: &DatabaseConnection,
    user: &WebUser,
    plan: &crate::entity::plan::Model,
    reference: &str,
    form: &ReversalForm,
    errors: &[FieldError],
) -> Result<String, WebError> {
    let Reversible {
        original,
        remaining,
        ..
    } = ledger::reversible(db, plan, reference).await?;
    let field = |name: &str, value: &str| Field::of(name, value, errors);
    let known = ["reason", "amount", "date", "reference", "description"];
    let mut reason = field("reason", &form.reason);
    if reason.error.is_none() {
        reason.error = errors
            .iter()
            .find(|e| e.column == "description")
            .map(|e| e.message.clone());
    }
    let page = ReversalFormPage {
        nav: user.nav(),
        plan_code: plan.code.clone(),
        reference: reference.to_owned(),
        original: record_table(
            "The disbursement to reverse",
            RecordKind::Disbursements,
            std::slice::from_ref(&original),
        ),
        remaining: remaining.grouped(),
        reason,
        amount: field("amount", &form.amount),
        date: field("date", &form.date),
        new_reference: field("reference", &form.reference),
        nothing_left: !remaining.is_positive(),
        summary: error_summary(errors, &known, "reason"),
    };
    super::render_text(&page)
}

/// `GET /disbursements/<reference>/reversal`: the reversal form.
#[get("/disbursements/<reference>/reversal?<plan>")]
pub async fn get_reversal(
    db: &State<DatabaseConnection>,
    user: WebUser,
    reference: &str,
    plan: Option<&str>,
) -> Page {
    user.require(auth::Writer::ROLES)?;
    let plan = page_plan(db, plan).await?;
    let form = ReversalForm {
        date: chrono::Utc::now().date_naive().to_string(),
        ..<ReversalForm as Default>::default()
    };
    Ok(RawHtml(
        reversal_form(db, &user, &plan, reference, &form, &[]).await?,
    ))
}

/// `POST /disbursements/<reference>/reversal`: records a reversal of the remaining amount or
/// of the amount given, with its reason; the same rules as the API's reversal.
#[post("/disbursements/<reference>/reversal", data = "<form>")]
pub async fn post_reversal(
    db: &State<DatabaseConnection>,
    user: WebUser,
    reference: &str,
    form: Form<ReversalForm>,
) -> Result<Result<Redirect, (Status, RawHtml<String>)>, WebError> {
    user.check_csrf(&form.csrf)?;
    user.require(auth::Writer::ROLES)?;
    let plan = page_plan(db, Some(&form.plan)).await?;
    let (user_ref, plan_ref, form_ref) = (&user, &plan, &*form);
    let show = |errors: Vec<FieldError>, status: Status| async move {
        let page = reversal_form(db, user_ref, plan_ref, reference, form_ref, &errors).await?;
        Ok::<_, WebError>(Err((status, RawHtml(page))))
    };
    let request = match ReversalRequest::parse(
        &form.reason,
        form.amount.trim(),
        form.reference.trim(),
        form.date.trim(),
    ) {
        Ok(request) => request,
        Err(errors) => return show(errors, Status::UnprocessableEntity).await,
    };
    let options = user.caller.import_options();
    match ledger::reverse(db, &plan, reference, request, options).await {
        Ok(record) => Ok(Ok(Redirect::to(format!(
            "/disbursements/{}?plan={}&recorded=true",
            urlencode(&text_of(&record, "reference")),
            urlencode(&plan.code)
        )))),
        Err(e @ (Error::Invalid { .. } | Error::ForbiddenRows { .. })) => {
            let status = e.status();
            show(record_errors(e), status).await
        }
        Err(Error::Conflict(message)) => {
            show(
                vec![FieldError::new("reference", message)],
                Status::Conflict,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    nav: Nav,
    plan_code: String,
    entities: Vec<&'static str>,
    entity: String,
    csv: String,
    /// Errors by line and column, when the dry run found any.
    errors: Vec<FieldError>,
    /// The counts of a clean dry run, or of the import once done.
    counts: Option<(u64, u64, u64, u64)>,
    warnings: Vec<FieldError>,
    /// What looks wrong about the file's payments (a dry run of disbursements).
    payment_warnings: Vec<FieldError>,
    /// The flags the file would raise (a dry run).
    raised: Vec<pages::FlagLine>,
    /// What each kind's file holds, with its template.
    guides: Vec<super::downloads::ImportGuide>,
    message: Option<String>,
    done: bool,
}

#[derive(FromForm)]
pub struct ImportForm<'r> {
    #[field(default = String::new())]
    csrf: String,
    #[field(default = String::new())]
    plan: String,
    #[field(default = String::new())]
    entity: String,
    /// The uploaded file (the first step).
    file: Option<TempFile<'r>>,
    /// The file's text carried from the preview to the confirmation, or pasted.
    #[field(default = String::new())]
    csv: String,
}

fn entity_kind(name: &str) -> Result<RecordKind, Error> {
    RecordKind::ALL
        .into_iter()
        .find(|k| k.name() == name)
        .ok_or_else(|| {
            Error::invalid(
                "choose what the file holds",
                vec![FieldError::new(
                    "entity",
                    format!("\"{name}\" is not a record kind"),
                )],
            )
        })
}

fn import_page(user: &WebUser, plan_code: &str, entity: &str, csv: String) -> ImportPage {
    ImportPage {
        nav: user.nav(),
        plan_code: plan_code.to_owned(),
        entities: RecordKind::ALL.iter().map(|k| k.name()).collect(),
        entity: entity.to_owned(),
        csv,
        errors: Vec::new(),
        counts: None,
        warnings: Vec::new(),
        payment_warnings: Vec::new(),
        raised: Vec::new(),
        guides: super::downloads::import_guides(),
        message: None,
        done: false,
    }
}

/// `GET /import`: choose a record kind and a file.
#[get("/import?<plan>")]
pub async fn get_import(db: &State<DatabaseConnection>, user: WebUser, plan: Option<&str>) -> Page {
    user.require(auth::Writer::ROLES)?;
    let plan = page_plan(db, plan).await?;
    render(&import_page(
        &user,
        &plan.code,
        "disbursements",
        String::new(),
    ))
}

/// The file's text: the upload when there is one, else the carried or pasted text.
async fn uploaded_text(form: &ImportForm<'_>) -> Result<String, Error> {
    if let Some(file) = form.file.as_ref().filter(|f| f.len() > 0) {
        let mut bytes = Vec::new();
        file.open().await?.read_to_end(&mut bytes).await?;
        return String::from_utf8(bytes).map_err(|_| {
            Error::invalid(
                "the file is not UTF-8 text",
                vec![FieldError::new(
                    "file",
                    "save the file as CSV in UTF-8 (in Excel: \"CSV UTF-8 (Comma delimited)\") \
                     and upload it again",
                )],
            )
        });
    }
    Ok(form.csv.clone())
}

async fn run_import(
    db: &DatabaseConnection,
    settings: &Settings,
    user: &WebUser,
    form: &ImportForm<'_>,
    dry_run: bool,
) -> StatusPage {
    user.check_csrf(&form.csrf)?;
    user.require(auth::Writer::ROLES)?;
    let plan = page_plan(db, Some(&form.plan)).await?;
    let mut page = import_page(user, &plan.code, &form.entity, String::new());
    let kind = match entity_kind(&form.entity) {
        Ok(kind) => kind,
        Err(e) => {
            page.errors = e.details().to_vec();
            return Ok((Status::UnprocessableEntity, render(&page)?));
        }
    };
    let text = match uploaded_text(form).await {
        Ok(text) => text,
        Err(e) => {
            page.errors = e.details().to_vec();
            page.message = Some(e.user_message());
            return Ok((Status::UnprocessableEntity, render(&page)?));
        }
    };
    if text.trim().is_empty() {
        page.errors = vec![FieldError::new("file", "choose a CSV file to upload")];
        return Ok((Status::UnprocessableEntity, render(&page)?));
    }
    page.csv = text.clone();
    let options = ImportOptions {
        plan: kind.is_plan_scoped().then(|| plan.code.clone()),
        dry_run,
        ..user.caller.import_options()
    };
    let source = Source::from_bytes(kind.file_name(), text.into_bytes());
    let result = match dry_run {
        true => {
            let thresholds = settings.flags.thresholds()?;
            import::preview_file(db, (kind, source), &options, &plan, &thresholds).await
        }
        false => import::import_file(db, kind, source, &options, &NoProgress)
            .await
            .map(|report| (report, Vec::new())),
    };
    match result {
        Ok((report, raised)) => {
            if let Some(file) = report.files.first() {
                page.counts = Some((file.rows, file.created, file.updated, file.unchanged));
                page.warnings = file.warnings.clone();
            }
            if dry_run && kind == RecordKind::Disbursements {
                page.payment_warnings = warnings::file_warnings(db, &plan, &page.csv).await?;
            }
            page.raised = raised
                .iter()
                .map(|f| pages::FlagLine::of(&plan.code, f))
                .collect();
            page.done = !dry_run;
            Ok((Status::Ok, render(&page)?))
        }
        Err(e @ (Error::Invalid { .. } | Error::ForbiddenRows { .. })) => {
            let status = e.status();
            page.message = Some(e.to_string());
            page.errors = e.details().to_vec();
            Ok((status, render(&page)?))
        }
        Err(e @ (Error::BadRequest(_) | Error::NotFound(_) | Error::Conflict(_))) => {
            page.message = Some(e.user_message());
            Ok((e.status(), render(&page)?))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /import/preview`: a dry run of the uploaded file: every error by line and column,
/// or the counts that would change, with a button to confirm.
#[post("/import/preview", data = "<form>")]
pub async fn post_import_preview(
    db: &State<DatabaseConnection>,
    settings: &State<Settings>,
    user: WebUser,
    form: Form<ImportForm<'_>>,
) -> StatusPage {
    run_import(db, settings, &user, &form, true).await
}

/// `POST /import`: imports the previewed file for real, as one transaction.
#[post("/import", data = "<form>")]
pub async fn post_import(
    db: &State<DatabaseConnection>,
    settings: &State<Settings>,
    user: WebUser,
    form: Form<ImportForm<'_>>,
) -> StatusPage {
    run_import(db, settings, &user, &form, false).await
}

/// A text cell of a record, empty when absent.
/// Each error as the summary at the top of a form lists it: linked to the field it is about
/// (`fallback` for an error about none of the form's `fields`), with the field's name first.
pub fn error_summary(
    errors: &[FieldError],
    fields: &[&str],
    fallback: &str,
) -> Vec<super::ErrorLink> {
    errors
        .iter()
        .map(|e| {
            let id = match e.column.as_str() {
                column if fields.contains(&column) && column != "description" => column,
                _ => fallback,
            };
            let message = format!("{}: {}", e.column.replace('_', " "), e.message);
            super::ErrorLink::field(id, &message)
        })
        .collect()
}

/// The problems of a refused one-record write, each on its field; a problem with no field
/// goes on the record as a whole.
pub fn record_errors(error: Error) -> Vec<FieldError> {
    if error.details().is_empty() {
        vec![FieldError::new("record", error.to_string())]
    } else {
        error.details().to_vec()
    }
}
