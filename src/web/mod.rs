//! The HTML pages. Rendered on the server with askama's compile-time checked templates; they
//! work without JavaScript.
//!
//! Web routes authenticate with the session cookie of [`session`] and never with a bearer
//! token; the JSON API never with the cookie. Every error a user can cause is an HTML page
//! with its status (see [`WebError`]); an unauthenticated request is sent to the sign-in page.

mod charts;
mod demo;
mod downloads;
mod forms;
mod pages;
mod payment_form;
mod session;
mod statement;

use askama::Template;
use rocket::fairing::AdHoc;
use rocket::http::{ContentType, Status};
use rocket::response::content::RawHtml;
use rocket::response::{self, Redirect, Responder};
use rocket::{Request, catch, catchers, get, routes, uri};

use crate::domain::Role;
use crate::error::Error;
use crate::service::users::Caller;

const STYLESHEET: &str = include_str!("../../static/app.css");
const FAVICON: &str = include_str!("../../static/favicon.svg");

/// What the navigation bar shows: who is signed in, and the links their role may follow.
#[derive(Debug, Clone, Default)]
pub struct Nav {
    pub email: Option<String>,
    pub role: String,
    pub csrf: String,
    pub may_write: bool,
    pub may_audit: bool,
    pub is_admin: bool,
    /// The path of the page shown, whose link the navigation marks with `aria-current`.
    pub current: String,
}

impl Nav {
    pub fn anonymous() -> Nav {
        Nav::default()
    }

    pub fn signed_in(caller: &Caller, csrf: &str, current: &str) -> Nav {
        Nav {
            email: Some(caller.email.clone()),
            role: match &caller.institution_code {
                Some(code) => format!("{} · {code}", caller.role),
                None => caller.role.to_string(),
            },
            csrf: csrf.to_owned(),
            may_write: crate::auth::Writer::ROLES.contains(&caller.role),
            may_audit: crate::auth::AuditReader::ROLES.contains(&caller.role),
            is_admin: caller.role == Role::Admin,
            current: current.to_owned(),
        }
    }

    /// Whether the navigation link to `href` is the page shown.
    pub fn is_current(&self, href: &str) -> bool {
        self.current == href
    }
}

/// One error in a form's summary (the `error_summary` macro of `templates/macros.html`): what
/// is wrong, and the id of the field it is about, which the summary links to.
#[derive(Debug, Clone)]
pub struct ErrorLink {
    pub field: Option<String>,
    pub message: String,
}

impl ErrorLink {
    /// An error about the field whose `id` is given.
    pub fn field(id: &str, message: &str) -> ErrorLink {
        ErrorLink {
            field: Some(id.to_owned()),
            message: message.to_owned(),
        }
    }

    /// An error about no field in particular.
    pub fn general(message: &str) -> ErrorLink {
        ErrorLink {
            field: None,
            message: message.to_owned(),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    nav: Nav,
    status: Status,
    message: &'a str,
    details: &'a [crate::error::FieldError],
}

/// An error of a web route: an HTML page with the error's status, or, for a request without
/// a session, a redirect to the sign-in page that comes back here afterwards.
#[derive(Debug)]
pub enum WebError {
    SignIn(String),
    Page(Error),
}

impl From<Error> for WebError {
    fn from(error: Error) -> Self {
        WebError::Page(error)
    }
}

impl From<sea_orm::DbErr> for WebError {
    fn from(error: sea_orm::DbErr) -> Self {
        WebError::Page(Error::from(error))
    }
}

/// The navigation for an error page: the signed-in user's, when the request got as far as
/// reading the session, so that a refusal does not look like being signed out.
fn error_nav(request: &Request<'_>) -> Nav {
    request
        .local_cache(|| session::SignedIn(None))
        .0
        .as_ref()
        .map_or_else(Nav::anonymous, session::WebUser::nav)
}

fn error_page(
    nav: Nav,
    status: Status,
    message: &str,
    details: &[crate::error::FieldError],
) -> String {
    ErrorPage {
        nav,
        status,
        message,
        details,
    }
    .render()
    .unwrap_or_else(|_| format!("<h1>{status}</h1>"))
}

impl<'r> Responder<'r, 'static> for WebError {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        match self {
            WebError::SignIn(next) => {
                Redirect::to(uri!(session::get_login(next = session::ReturnTo(&next))))
                    .respond_to(request)
            }
            WebError::Page(error) => {
                let status = error.status();
                if status.code >= 500 {
                    rocket::error!("{}: {}", status, error.log_detail());
                }
                let message = if status.code >= 500 {
                    "Something went wrong on our side. The error has been logged.".to_owned()
                } else {
                    sentence(&error.user_message())
                };
                (
                    status,
                    RawHtml(error_page(
                        error_nav(request),
                        status,
                        &message,
                        error.details(),
                    )),
                )
                    .respond_to(request)
            }
        }
    }
}

/// A message as a sentence on a page: a capital letter and a full stop. A message that begins
/// with a field's name, such as `as_of`, or a code keeps its first word as it is.
fn sentence(message: &str) -> String {
    let first_word = message.split_whitespace().next().unwrap_or_default();
    let mut text = if first_word.chars().all(|c| c.is_ascii_lowercase()) {
        let mut chars = message.chars();
        chars.next().map_or_else(String::new, |first| {
            first.to_uppercase().chain(chars).collect()
        })
    } else {
        message.to_owned()
    };
    if !text.ends_with(['.', '!', '?']) {
        text.push('.');
    }
    text
}

/// Percent-encodes a query value.
pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub type Page = Result<RawHtml<String>, WebError>;

fn render(template: &impl Template) -> Page {
    render_text(template).map(RawHtml)
}

/// The page as text, for handlers that return it with another status or type.
fn render_text(template: &impl Template) -> Result<String, WebError> {
    template
        .render()
        .map_err(|e| WebError::Page(Error::Internal(format!("template: {e}"))))
}

#[get("/static/app.css")]
fn get_stylesheet() -> (ContentType, &'static str) {
    (ContentType::CSS, STYLESHEET)
}

/// The icon of the site's tabs and bookmarks: naptrack's mark, as SVG.
#[get("/static/favicon.svg")]
fn get_favicon() -> (ContentType, &'static str) {
    (ContentType::SVG, FAVICON)
}

/// Every error outside `/api` is an HTML page; a page that needs a session sends the user to
/// sign in and back.
#[catch(default)]
fn html_error(
    status: Status,
    request: &Request<'_>,
) -> Result<Redirect, (Status, RawHtml<String>)> {
    if status == Status::Unauthorized {
        let next = request.uri().to_string();
        return Ok(Redirect::to(uri!(session::get_login(
            next = session::ReturnTo(&next)
        ))));
    }
    let message = match status.code {
        401 => "Sign in to see this page.",
        403 => "Your role does not allow this page or action.",
        404 => "There is no page at this address.",
        413 => "The file or form is larger than the limit.",
        422 => "The form could not be read. Go back and check what you entered.",
        code if code >= 500 => "Something went wrong on our side. The error has been logged.",
        _ => status.reason_lossy(),
    };
    Err((
        status,
        RawHtml(error_page(error_nav(request), status, message, &[])),
    ))
}

pub fn stage() -> AdHoc {
    AdHoc::try_on_ignite("Web UI", |rocket| async {
        let settings = match crate::config::SessionSettings::from_figment(rocket.figment()) {
            Ok(settings) => settings,
            Err(e) => {
                eprintln!("naptrack: {e}");
                return Err(rocket);
            }
        };
        let rocket = demo::create_demo_users(rocket).await;
        Ok(rocket
            .manage(settings)
            .attach(session::NoStore)
            .mount(
                "/",
                routes![
                    get_stylesheet,
                    get_favicon,
                    session::get_login,
                    session::post_login,
                    session::post_logout,
                    pages::home::get_home,
                    pages::dashboard::get_dashboard,
                    pages::flags::get_flags,
                    pages::reports::get_reports,
                    pages::reports::get_report_csv,
                    pages::reports::get_iati_xml,
                    pages::reports::get_report_chart_svg,
                    pages::results::get_results_chart_svg,
                    pages::results::get_results,
                    pages::results::get_results_csv,
                    pages::results_values::get_values,
                    pages::results_values::post_values,
                    statement::get_donor_statement,
                    statement::get_donor_statement_csv,
                    statement::get_donor_chart_svg,
                    pages::plan_tree::get_plan,
                    pages::activity::get_activity,
                    pages::budget_line::get_budget_line,
                    pages::obligation::get_obligation,
                    pages::institution::get_institution,
                    pages::disbursements::get_disbursements,
                    pages::search::get_search,
                    downloads::get_downloads,
                    downloads::get_export,
                    downloads::get_template,
                    pages::audit::get_audit,
                    pages::audit::get_audit_entry,
                    pages::audit::get_audit_csv,
                    pages::audit::get_local_time_script,
                    pages::users::get_users,
                    pages::users::post_user,
                    pages::users::get_account,
                    pages::users::post_password,
                    pages::users::post_status,
                    pages::record_forms::get_records,
                    pages::record_forms::get_new_record,
                    pages::record_forms::get_edit_record,
                    pages::record_forms::post_record,
                    pages::record_forms::get_record_home,
                    pages::users::post_access,
                    pages::users::post_sign_out_everywhere,
                    forms::post_token,
                    forms::post_token_revocation,
                    payment_form::get_new_disbursement,
                    payment_form::post_disbursement,
                    forms::get_disbursement,
                    forms::get_reversal,
                    forms::post_reversal,
                    forms::get_import,
                    forms::post_import_preview,
                    forms::post_import,
                ],
            )
            .register("/", catchers![html_error]))
    })
}

#[cfg(test)]
mod tests {
    use super::sentence;

    #[test]
    fn a_message_becomes_a_sentence_but_a_field_name_keeps_its_case() {
        assert_eq!(
            sentence("there is no donor with code \"X\""),
            "There is no donor with code \"X\"."
        );
        assert_eq!(
            sentence("as_of must be a date YYYY-MM-DD"),
            "as_of must be a date YYYY-MM-DD."
        );
        assert_eq!(sentence("PG-2015 is closed!"), "PG-2015 is closed!");
    }
}
