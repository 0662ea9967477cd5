//! Sign-in, sessions, CSRF tokens and the throttling of failed sign-ins.
//!
//! The session is a Rocket private cookie (encrypted and authenticated with the app's
//! `secret_key`): it holds the user's id and when they signed in, nothing else. Every request
//! reads the user again from the database, so a disabled user or a changed role takes effect
//! at once. The cookie is HttpOnly, SameSite=Lax, and Secure when the app serves TLS.
//!
//! Every form carries a CSRF token: a random value kept in its own private cookie and echoed
//! in a hidden field; a POST whose field does not match the cookie is refused with 403. The
//! API does not accept the session cookie at all (it keeps bearer tokens), so no state-changing
//! API route can be reached with a cookie alone.
//!
//! Failed sign-ins are throttled by [`sessions::sign_in`]: past its limits the answer is 429
//! whatever the password, so guessing stops.

use chrono::Utc;
use rocket::form::{Form, FromForm};
use rocket::http::uri::fmt::{Formatter, FromUriParam, Query, UriDisplay};
use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::Redirect;
use rocket::response::content::RawHtml;
use rocket::{State, get, post, uri};
use sea_orm::DatabaseConnection;

use super::{Nav, WebError, render, urlencode};
use crate::domain::Role;
use crate::error::Error;
use crate::service::audit::hex;
use crate::service::sessions::{self, SignIn};
use crate::service::users::Caller;

const SESSION_COOKIE: &str = "naptrack_session";
const CSRF_COOKIE: &str = "naptrack_csrf";
/// How long a session lasts after sign-in.
const SESSION_SECONDS: i64 = 12 * 60 * 60;

/// The signed-in user of a web request. A request without a valid session is sent to the
/// sign-in page (see [`WebError::SignIn`]).
#[derive(Debug, Clone)]
pub struct WebUser {
    pub caller: Caller,
    /// The CSRF token that this page's forms carry.
    pub csrf: String,
}

impl WebUser {
    pub fn nav(&self) -> Nav {
        Nav::signed_in(&self.caller, &self.csrf)
    }

    pub fn may_write(&self) -> bool {
        crate::auth::Writer::ROLES.contains(&self.caller.role)
    }

    /// Refuses roles outside `roles` with a 403 page.
    pub fn require(&self, roles: &[Role]) -> Result<(), WebError> {
        if roles.contains(&self.caller.role) {
            Ok(())
        } else {
            Err(WebError::from(Error::Forbidden(
                "your role does not allow this page or action".to_owned(),
            )))
        }
    }

    /// Refuses a POST whose CSRF field does not match the cookie.
    pub fn check_csrf(&self, field: &str) -> Result<(), WebError> {
        check_token(&self.csrf, field)
    }
}

fn check_token(expected: &str, field: &str) -> Result<(), WebError> {
    // Compared in constant time, so the comparison does not leak how much matched; an empty
    // token matches nothing.
    if crate::auth::same_secret(expected, field) {
        Ok(())
    } else {
        Err(WebError::from(Error::Forbidden(
            "the form has expired or did not come from this site; reload the page and try again"
                .to_owned(),
        )))
    }
}

fn random_hex(bytes: usize) -> Result<String, Error> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    Ok(hex(&buffer))
}

/// Whether the app answers over TLS, so cookies are marked Secure.
fn served_over_tls(request: &Request<'_>) -> bool {
    request.rocket().config().tls_enabled()
}

fn cookie(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/")
        .build()
}

/// The CSRF token of this browser, created (and set as a cookie) on first use.
fn csrf_token(request: &Request<'_>) -> Result<String, Error> {
    let jar = request.cookies();
    if let Some(existing) = jar.get_private(CSRF_COOKIE) {
        return Ok(existing.value().to_owned());
    }
    // A cookie set earlier in this same request is pending, not yet readable as private.
    if let Some(pending) = jar.get_pending(CSRF_COOKIE) {
        return Ok(pending.value().to_owned());
    }
    let token = random_hex(32)?;
    jar.add_private(cookie(CSRF_COOKIE, token.clone(), served_over_tls(request)));
    Ok(token)
}

/// The CSRF token for pages shown to anyone (the sign-in page).
pub struct CsrfToken(pub String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for CsrfToken {
    type Error = Error;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        match csrf_token(request) {
            Ok(token) => Outcome::Success(CsrfToken(token)),
            Err(e) => Outcome::Error((Status::InternalServerError, e)),
        }
    }
}

/// The user id and sign-in time in the session cookie: `"<id>:<unix seconds>"`.
fn read_session(jar: &CookieJar<'_>) -> Option<i32> {
    let cookie = jar.get_private(SESSION_COOKIE)?;
    let (id, since) = cookie.value().split_once(':')?;
    let since: i64 = since.parse().ok()?;
    let now = Utc::now().timestamp();
    (now >= since && now - since < SESSION_SECONDS)
        .then(|| id.parse().ok())
        .flatten()
}

async fn session_caller(request: &Request<'_>) -> Result<Option<Caller>, Error> {
    let Some(user_id) = read_session(request.cookies()) else {
        return Ok(None);
    };
    let Some(db) = request.rocket().state::<DatabaseConnection>() else {
        return Err(Error::Internal("no database".to_owned()));
    };
    sessions::session_caller(db, user_id).await
}

/// The signed-in user of this request once [`WebUser`] has read the session, kept for the
/// error pages, which show the same navigation as the page that failed.
pub struct SignedIn(pub Option<WebUser>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for WebUser {
    type Error = WebError;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let caller = match session_caller(request).await {
            Ok(Some(caller)) => caller,
            Ok(None) => {
                let next = request.uri().to_string();
                return Outcome::Error((Status::Unauthorized, WebError::SignIn(next)));
            }
            Err(e) => return Outcome::Error((e.status(), WebError::from(e))),
        };
        match csrf_token(request) {
            Ok(csrf) => {
                let user = WebUser { caller, csrf };
                request.local_cache(|| SignedIn(Some(user.clone())));
                Outcome::Success(user)
            }
            Err(e) => Outcome::Error((e.status(), WebError::from(e))),
        }
    }
}

#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage {
    nav: Nav,
    csrf: String,
    email: String,
    next: String,
    error: Option<String>,
}

/// Only a local path is followed after sign-in, never another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_owned()
        }
        _ => uri!(super::pages::dashboard::get_dashboard(plan = _)).to_string(),
    }
}

/// The page to come back to after sign-in, as the `next` of a link to [`get_login`]. It is
/// written with [`urlencode`], which keeps a path's slashes, so the address reads
/// `/login?next=/dashboard` rather than `/login?next=%2Fdashboard`.
pub struct ReturnTo<'a>(pub &'a str);

impl UriDisplay<Query> for ReturnTo<'_> {
    fn fmt(&self, f: &mut Formatter<'_, Query>) -> std::fmt::Result {
        f.write_raw(urlencode(self.0))
    }
}

impl<'a> FromUriParam<Query, ReturnTo<'a>> for Option<&str> {
    type Target = ReturnTo<'a>;

    fn from_uri_param(param: ReturnTo<'a>) -> ReturnTo<'a> {
        param
    }
}

/// `GET /login`: the sign-in form.
#[get("/login?<next>")]
pub fn get_login(csrf: CsrfToken, next: Option<&str>) -> Result<RawHtml<String>, WebError> {
    render(&LoginPage {
        nav: Nav::anonymous(),
        csrf: csrf.0,
        email: String::new(),
        next: safe_next(next),
        error: None,
    })
}

#[derive(FromForm)]
pub struct LoginForm {
    #[field(default = String::new())]
    email: String,
    #[field(default = String::new())]
    password: String,
    #[field(default = String::new())]
    csrf: String,
    #[field(default = String::new())]
    next: String,
}

/// The client address for throttling; requests without one share a key.
pub struct ClientAddress(String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientAddress {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let address = request
            .client_ip()
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        Outcome::Success(ClientAddress(address))
    }
}

/// The answer to a sign-in: a redirect to where the user was going, or the form again with
/// the email kept and the reason.
type LoginOutcome = Result<Redirect, (Status, RawHtml<String>)>;

/// `POST /login`: checks the CSRF token, the throttle, then the password. An unknown email
/// and a wrong password get the same answer.
#[post("/login", data = "<form>")]
pub async fn post_login(
    db: &State<DatabaseConnection>,
    jar: &CookieJar<'_>,
    csrf: CsrfToken,
    client: ClientAddress,
    config: &rocket::Config,
    form: Form<LoginForm>,
) -> Result<LoginOutcome, WebError> {
    check_token(&csrf.0, &form.csrf)?;
    let now = Utc::now().timestamp();
    let refuse = |status: Status, message: &str| -> Result<LoginOutcome, WebError> {
        let page = render(&LoginPage {
            nav: Nav::anonymous(),
            csrf: csrf.0.clone(),
            email: form.email.trim().to_owned(),
            next: safe_next(Some(&form.next)),
            error: Some(message.to_owned()),
        })?;
        Ok(Err((status, page)))
    };
    match sessions::sign_in(db, &form.email, &form.password, &client.0, now).await? {
        SignIn::SignedIn(caller) => {
            jar.add_private(cookie(
                SESSION_COOKIE,
                format!("{}:{now}", caller.user_id),
                config.tls_enabled(),
            ));
            Ok(Ok(Redirect::to(safe_next(Some(&form.next)))))
        }
        SignIn::Throttled => refuse(
            Status::TooManyRequests,
            "Too many failed sign-ins. Wait 15 minutes and try again.",
        ),
        SignIn::Refused => refuse(
            Status::Unauthorized,
            "The email or the password is not right.",
        ),
    }
}

#[derive(FromForm)]
pub struct CsrfForm {
    #[field(default = String::new())]
    csrf: String,
}

/// `POST /logout`: ends the session (the CSRF token goes with it).
#[post("/logout", data = "<form>")]
pub fn post_logout(
    jar: &CookieJar<'_>,
    csrf: CsrfToken,
    form: Form<CsrfForm>,
) -> Result<Redirect, WebError> {
    check_token(&csrf.0, &form.csrf)?;
    jar.remove_private(Cookie::from(SESSION_COOKIE));
    jar.remove_private(Cookie::from(CSRF_COOKIE));
    Ok(Redirect::to(uri!(get_login(next = _))))
}
