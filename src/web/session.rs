//! Sign-in, sessions, CSRF tokens and the throttling of failed sign-ins.
//!
//! A session lives on the server ([`web_sessions`]): the browser's cookie carries only a
//! random token, in a Rocket private cookie (encrypted and authenticated with the app's
//! `secret_key`). Every request looks the session up and reads the user again, so signing
//! out, a password change, an admin's "sign out everywhere", a disabled user or a changed role
//! take effect at once, for every copy of the cookie. A session ends 12 hours after sign-in
//! and after `session_idle_minutes` without a request. The cookies are HttpOnly,
//! SameSite=Lax, and Secure when the app serves TLS or, with `trust_proxy_tls`, when a
//! reverse proxy says the browser came over TLS.
//!
//! Every form carries a CSRF token: a random value kept in its own private cookie and echoed
//! in a hidden field; a POST whose field does not match the cookie is refused with 403. A new
//! token is issued at sign-in and removed at sign-out, so it never outlives its session. The
//! API does not accept the session cookie at all (it keeps bearer tokens), so no
//! state-changing API route can be reached with a cookie alone.
//!
//! Every response to a signed-in request is `Cache-Control: no-store` ([`NoStore`]), so that
//! pages and downloads with the plan's money do not stay in a shared computer's cache after
//! sign-out; the public stylesheet and the sign-in page stay cacheable.
//!
//! Failed sign-ins are throttled by [`sessions::sign_in`]: past its limits the answer is 429
//! with `Retry-After`, whatever the password.

use chrono::Utc;
use rocket::fairing::{Fairing, Info, Kind};
use rocket::form::{Form, FromForm};
use rocket::http::uri::fmt::{Formatter, FromUriParam, Query, UriDisplay};
use rocket::http::{Cookie, CookieJar, Header, SameSite, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::content::RawHtml;
use rocket::response::{self, Redirect, Responder};
use rocket::{Response, State, get, post, uri};
use sea_orm::DatabaseConnection;

use super::demo::{DemoLogin, DemoLogins};
use super::{ErrorLink, Nav, WebError, render, urlencode};
use crate::config::SessionSettings;
use crate::domain::Role;
use crate::error::Error;
use crate::service::audit::hex;
use crate::service::sessions::{self, SignIn};
use crate::service::users::Caller;
use crate::service::web_sessions::{self, Lifetime};

const SESSION_COOKIE: &str = "naptrack_session";
const CSRF_COOKIE: &str = "naptrack_csrf";

/// The signed-in user of a web request. A request without a valid session is sent to the
/// sign-in page (see [`WebError::SignIn`]).
#[derive(Debug, Clone)]
pub struct WebUser {
    pub caller: Caller,
    /// The CSRF token that this page's forms carry.
    pub csrf: String,
    /// The path of the page asked for, so the navigation can mark its link as the current one.
    pub path: String,
}

impl WebUser {
    pub fn nav(&self) -> Nav {
        Nav::signed_in(&self.caller, &self.csrf, &self.path)
    }

    /// The donor institution a donor's account is bound to, whose statement is theirs.
    pub fn own_donor(&self) -> Option<String> {
        (self.caller.role == Role::Donor)
            .then(|| self.caller.institution_code.clone())
            .flatten()
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

/// Whether the browser reached the app over TLS, so cookies are marked Secure: the app's own
/// TLS, or, when `trust_proxy_tls` is set, a reverse proxy's `X-Forwarded-Proto: https`.
fn served_over_tls(request: &Request<'_>) -> bool {
    let trust_proxy = request
        .rocket()
        .state::<SessionSettings>()
        .is_some_and(|s| s.trust_proxy_tls);
    request.rocket().config().tls_enabled()
        || (trust_proxy
            && request
                .headers()
                .get_one("X-Forwarded-Proto")
                .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https")))
}

/// Whether this request's cookies are to be marked Secure (see [`served_over_tls`]).
pub struct SecureCookies(bool);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for SecureCookies {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(SecureCookies(served_over_tls(request)))
    }
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

/// The session token in the session cookie, if the cookie is there and was made by this app.
fn session_token(jar: &CookieJar<'_>) -> Option<String> {
    jar.get_private(SESSION_COOKIE)
        .map(|cookie| cookie.value().to_owned())
}

async fn session_caller(request: &Request<'_>) -> Result<Option<Caller>, Error> {
    let Some(token) = session_token(request.cookies()) else {
        return Ok(None);
    };
    let Some(db) = request.rocket().state::<DatabaseConnection>() else {
        return Err(Error::Internal("no database".to_owned()));
    };
    let idle_minutes = request.rocket().state::<SessionSettings>().map_or_else(
        || SessionSettings::default().session_idle_minutes,
        |s| s.session_idle_minutes,
    );
    let lifetime = Lifetime::with_idle_minutes(idle_minutes);
    web_sessions::resume(db, &token, Utc::now().timestamp(), lifetime).await
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
                let user = WebUser {
                    caller,
                    csrf,
                    path: request.uri().path().to_string(),
                };
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
    errors: Vec<ErrorLink>,
    /// The demo accounts, in a debug build only (see [`super::demo`]).
    demo: Vec<DemoLogin>,
}

/// The demo accounts to list on the sign-in page: none unless a debug build made them.
fn demo_logins(demo: &DemoLogins) -> Vec<DemoLogin> {
    demo.0.clone()
}

/// The navigation of the sign-in page.
fn login_nav() -> Nav {
    Nav {
        current: uri!(get_login(next = _)).path().to_string(),
        ..Nav::anonymous()
    }
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
pub fn get_login(
    csrf: CsrfToken,
    demo: &State<DemoLogins>,
    next: Option<&str>,
) -> Result<RawHtml<String>, WebError> {
    render(&LoginPage {
        nav: login_nav(),
        csrf: csrf.0,
        email: String::new(),
        next: safe_next(next),
        error: None,
        errors: Vec::new(),
        demo: demo_logins(demo),
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

/// A refused sign-in: the form again with the email kept and the reason, and for a throttled
/// one the seconds to wait in `Retry-After`.
pub struct LoginRefusal {
    status: Status,
    retry_after_seconds: Option<i64>,
    page: RawHtml<String>,
}

impl<'r> Responder<'r, 'static> for LoginRefusal {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let mut response = (self.status, self.page).respond_to(request)?;
        if let Some(seconds) = self.retry_after_seconds {
            response.set_header(Header::new("Retry-After", seconds.to_string()));
        }
        Ok(response)
    }
}

/// The answer to a sign-in: a redirect to where the user was going, or a refusal.
type LoginOutcome = Result<Redirect, LoginRefusal>;

/// How long to wait, in words.
fn wait_in_words(seconds: i64) -> String {
    match seconds {
        ..=1 => "a second".to_owned(),
        2..=90 => format!("{seconds} seconds"),
        _ => format!("{} minutes", (seconds + 59) / 60),
    }
}

/// `POST /login`: checks the CSRF token, the throttle, then the password, and starts a
/// session. An unknown email, a user without a password and a wrong password get the same
/// answer.
#[post("/login", data = "<form>")]
pub async fn post_login(
    db: &State<DatabaseConnection>,
    jar: &CookieJar<'_>,
    csrf: CsrfToken,
    client: ClientAddress,
    secure: SecureCookies,
    demo: &State<DemoLogins>,
    form: Form<LoginForm>,
) -> Result<LoginOutcome, WebError> {
    check_token(&csrf.0, &form.csrf)?;
    let now = Utc::now().timestamp();
    let refuse = |status: Status,
                  retry_after_seconds: Option<i64>,
                  message: &str|
     -> Result<LoginOutcome, WebError> {
        let page = render(&LoginPage {
            nav: login_nav(),
            csrf: csrf.0.clone(),
            email: form.email.trim().to_owned(),
            next: safe_next(Some(&form.next)),
            error: Some(message.to_owned()),
            errors: vec![ErrorLink::field("email", message)],
            demo: demo_logins(demo),
        })?;
        Ok(Err(LoginRefusal {
            status,
            retry_after_seconds,
            page,
        }))
    };
    match sessions::sign_in(db, &form.email, &form.password, &client.0, now).await? {
        SignIn::SignedIn(caller) => {
            let token = web_sessions::start(db, caller.user_id, now).await?;
            jar.add_private(cookie(SESSION_COOKIE, token, secure.0));
            // A CSRF token of its own for the session: one known before sign-in (to whoever
            // saw the sign-in page of this browser) is not carried into it.
            jar.add_private(cookie(CSRF_COOKIE, random_hex(32)?, secure.0));
            Ok(Ok(Redirect::to(safe_next(Some(&form.next)))))
        }
        SignIn::Throttled {
            retry_after_seconds,
        } => refuse(
            Status::TooManyRequests,
            Some(retry_after_seconds),
            &format!(
                "Too many failed sign-ins. Wait {} and try again.",
                wait_in_words(retry_after_seconds)
            ),
        ),
        SignIn::Refused => refuse(
            Status::Unauthorized,
            None,
            "The email or the password is not right.",
        ),
    }
}

#[derive(FromForm)]
pub struct CsrfForm {
    #[field(default = String::new())]
    csrf: String,
}

/// `POST /logout`: ends the session on the server, so that no copy of the cookie works any
/// more, and removes the cookies (the CSRF token goes with the session).
#[post("/logout", data = "<form>")]
pub async fn post_logout(
    db: &State<DatabaseConnection>,
    jar: &CookieJar<'_>,
    csrf: CsrfToken,
    form: Form<CsrfForm>,
) -> Result<Redirect, WebError> {
    check_token(&csrf.0, &form.csrf)?;
    if let Some(token) = session_token(jar) {
        web_sessions::end(db, &token).await?;
    }
    jar.remove_private(Cookie::from(SESSION_COOKIE));
    jar.remove_private(Cookie::from(CSRF_COOKIE));
    Ok(Redirect::to(uri!(get_login(next = _))))
}

/// `Cache-Control: no-store` on every response to a request that [`WebUser`] signed in:
/// its pages, its downloads and its error pages.
pub struct NoStore;

#[rocket::async_trait]
impl Fairing for NoStore {
    fn info(&self) -> Info {
        Info {
            name: "No caching of signed-in responses",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        if request.local_cache(|| SignedIn(None)).0.is_some() {
            response.set_header(Header::new("Cache-Control", "no-store"));
        }
    }
}
