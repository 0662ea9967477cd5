//! Sessions that end and sign-in throttling without lock-out (issue #21, points 3 and 4),
//! against the real `naptrack` binary over HTTP: a browser here is a cookie jar over raw
//! HTTP/1.1 from a loopback address of its own, so a copied cookie is just a string sent
//! again, and two browsers can come from two addresses. The session rules that depend on the
//! clock (idle timeout, 12 hours) are also tested on the service with times handed in.
//! The timing test prints its figures; RELIABILITY.md lists them.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use naptrack::domain::Role;
use naptrack::entity::{audit_entry, disbursement, web_session};
use naptrack::service::web_sessions::{self, Lifetime, MAX_SESSION_SECONDS};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};

use crate::helpers::{TestDb, import_samples_into, naptrack_with_input, stderr};
use crate::reliability::Server;
use crate::web::{PASSWORD, csrf_of, form_body};

/// One HTTP answer: status, headers, body.
struct Answer {
    status: u16,
    headers: hyper::HeaderMap,
    body: String,
}

impl Answer {
    /// The `Set-Cookie` line for cookie `name`, if the answer sets it.
    fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|line| line.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn location(&self) -> &str {
        self.header("location").unwrap_or_default()
    }
}

/// A browser: a cookie jar, from its own loopback address, to one server.
struct Browser {
    http: Client<HttpConnector, Full<Bytes>>,
    base_url: String,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    fn new(server: &Server, from: &str) -> Browser {
        let mut connector = HttpConnector::new();
        connector.set_local_address(Some(from.parse::<IpAddr>().expect("an address")));
        Browser {
            http: Client::builder(TokioExecutor::new()).build(connector),
            base_url: server.url(""),
            cookies: BTreeMap::new(),
        }
    }

    /// The `Cookie` header this browser sends: a copy of it is a stolen session.
    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send_with(
        &mut self,
        method: &str,
        path: &str,
        cookie: Option<String>,
        form: Option<&[(&str, &str)]>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let cookie = cookie.unwrap_or_else(|| self.cookie_header());
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base_url))
            .header("Cookie", cookie);
        if form.is_some() {
            request = request.header("Content-Type", "application/x-www-form-urlencoded");
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = form.map(form_body).unwrap_or_default();
        let response = self
            .http
            .request(request.body(Full::new(Bytes::from(body))).unwrap())
            .await
            .expect("an HTTP answer");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let answer = Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        for line in answer.headers.get_all("set-cookie") {
            let line = line.to_str().unwrap_or_default();
            let pair = line.split(';').next().unwrap_or_default();
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if value.is_empty() || line.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        answer
    }

    async fn get(&mut self, path: &str) -> Answer {
        self.send_with("GET", path, None, None, &[]).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        self.send_with("POST", path, None, Some(fields), &[]).await
    }

    /// The CSRF token of the page at `path`.
    async fn csrf(&mut self, path: &str) -> String {
        csrf_of(&self.get(path).await.body)
    }

    /// Opens the sign-in page, then signs in, with `headers` on both requests.
    async fn sign_in_with(
        &mut self,
        email: &str,
        password: &str,
        headers: &[(&str, &str)],
    ) -> Answer {
        let page = self.send_with("GET", "/login", None, None, headers).await;
        let csrf = csrf_of(&page.body);
        let fields = [("email", email), ("password", password), ("csrf", &csrf)];
        self.send_with("POST", "/login", None, Some(&fields), headers)
            .await
    }

    async fn sign_in(&mut self, email: &str, password: &str) -> Answer {
        self.sign_in_with(email, password, &[]).await
    }
}

/// The disbursement form's fields for a payment with `reference`.
fn disbursement_form<'a>(csrf: &'a str, reference: &'a str) -> [(&'a str, &'a str); 7] {
    [
        ("csrf", csrf),
        ("plan", "NAP-2015"),
        ("budget_line_code", "BL-2015-001"),
        ("reference", reference),
        ("date", "2015-06-01"),
        ("amount", "10.00"),
        ("currency", "EUR"),
    ]
}

async fn is_recorded(db: &DatabaseConnection, reference: &str) -> bool {
    disbursement::Entity::find()
        .filter(disbursement::Column::Reference.eq(reference))
        .count(db)
        .await
        .unwrap()
        > 0
}

async fn add_user(db: &DatabaseConnection, email: &str, role: Role, password: Option<&str>) {
    naptrack::service::users::add_user(db, email, role, None, password, "test")
        .await
        .expect("the user is created");
}

/// A database with the sample plan, a recorder and an admin, and the binary serving it.
async fn sample_server(env: &[(&str, &str)]) -> (TestDb, DatabaseConnection, Server) {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;
    add_user(
        &db,
        "clerk@ministry.example",
        Role::Recorder,
        Some(PASSWORD),
    )
    .await;
    add_user(&db, "admin@ministry.example", Role::Admin, Some(PASSWORD)).await;
    let server = Server::start_with(&test_db, "sessions", env).await;
    (test_db, db, server)
}

/// Posts a disbursement with the cookies `cookie` and the form's CSRF token: what a thief who
/// copied both cookies and read the token from a page would send.
async fn post_disbursement_as(
    browser: &mut Browser,
    cookie: &str,
    csrf: &str,
    reference: &str,
) -> Answer {
    let form = disbursement_form(csrf, reference);
    browser
        .send_with(
            "POST",
            "/disbursements/new",
            Some(cookie.to_owned()),
            Some(&form),
            &[],
        )
        .await
}

#[tokio::test]
async fn a_copied_session_cookie_records_nothing_after_sign_out() {
    let (_test_db, db, server) = sample_server(&[]).await;
    let mut clerk = Browser::new(&server, "127.0.0.2");
    let mut thief = Browser::new(&server, "127.0.0.3");
    assert_eq!(
        clerk
            .sign_in("clerk@ministry.example", PASSWORD)
            .await
            .status,
        303
    );
    let csrf = clerk.csrf("/disbursements/new").await;
    let stolen = clerk.cookie_header();
    // The copy works while the session lasts, so what follows is a real refusal.
    let before = post_disbursement_as(&mut thief, &stolen, &csrf, "WEB-COPY-1").await;
    assert_eq!(before.status, 303, "{}", before.body);
    assert!(is_recorded(&db, "WEB-COPY-1").await);

    let signed_out = clerk.post("/logout", &[("csrf", &csrf)]).await;
    let after = post_disbursement_as(&mut thief, &stolen, &csrf, "WEB-COPY-2").await;
    let page = thief
        .send_with("GET", "/dashboard", Some(stolen.clone()), None, &[])
        .await;

    assert_eq!(signed_out.status, 303);
    assert_eq!(after.status, 303, "{}", after.body);
    assert!(
        after.location().starts_with("/login"),
        "{}",
        after.location()
    );
    assert!(!is_recorded(&db, "WEB-COPY-2").await);
    assert_eq!(page.status, 303);
    assert!(page.location().starts_with("/login?next=/dashboard"));
    assert_eq!(web_session::Entity::find().count(&db).await.unwrap(), 0);
}

#[tokio::test]
async fn an_admin_s_sign_out_everywhere_ends_every_session_of_the_user() {
    let (_test_db, db, server) = sample_server(&[]).await;
    let mut office = Browser::new(&server, "127.0.0.2");
    let mut home = Browser::new(&server, "127.0.0.3");
    let mut admin = Browser::new(&server, "127.0.0.4");
    office.sign_in("clerk@ministry.example", PASSWORD).await;
    home.sign_in("clerk@ministry.example", PASSWORD).await;
    admin.sign_in("admin@ministry.example", PASSWORD).await;
    let csrf = office.csrf("/disbursements/new").await;
    let stolen = office.cookie_header();
    // A recorder may not sign anyone out.
    let refused = office
        .post(
            "/users/sessions/end",
            &[("csrf", &csrf), ("email", "admin@ministry.example")],
        )
        .await;
    assert_eq!(refused.status, 403);

    let admin_csrf = admin.csrf("/users").await;
    let ended = admin
        .post(
            "/users/sessions/end",
            &[("csrf", &admin_csrf), ("email", "Clerk@Ministry.example")],
        )
        .await;
    let copy = post_disbursement_as(&mut home, &stolen, &csrf, "WEB-EVERYWHERE").await;

    assert_eq!(ended.status, 303);
    assert_eq!(copy.status, 303);
    assert!(copy.location().starts_with("/login"));
    assert!(!is_recorded(&db, "WEB-EVERYWHERE").await);
    assert_eq!(
        home.get("/dashboard").await.status,
        303,
        "the other browser too"
    );
    assert_eq!(
        admin.get("/users").await.status,
        200,
        "the admin's own session stays"
    );
    let audited = audit_entry::Entity::find()
        .filter(audit_entry::Column::Action.eq("sign_out_everywhere"))
        .all(&db)
        .await
        .unwrap();
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].actor, "user:admin@ministry.example");
    assert!(
        audited[0].details.contains("\"sessions_ended\":2"),
        "{}",
        audited[0].details
    );
}

#[tokio::test]
async fn a_new_password_ends_every_session_of_the_user() {
    let (test_db, db, server) = sample_server(&[]).await;
    let mut clerk = Browser::new(&server, "127.0.0.2");
    clerk.sign_in("clerk@ministry.example", PASSWORD).await;
    let csrf = clerk.csrf("/disbursements/new").await;
    let stolen = clerk.cookie_header();

    let new_password = "a new and longer passphrase";
    let output = naptrack_with_input(
        &test_db,
        &[
            "user",
            "password",
            "clerk@ministry.example",
            "--password-stdin",
        ],
        &format!("{new_password}\n"),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let copy = post_disbursement_as(&mut clerk, &stolen, &csrf, "WEB-NEWPASS").await;
    let mut again = Browser::new(&server, "127.0.0.3");
    let old = again.sign_in("clerk@ministry.example", PASSWORD).await;
    let new = again.sign_in("clerk@ministry.example", new_password).await;

    assert_eq!(copy.status, 303);
    assert!(copy.location().starts_with("/login"));
    assert!(!is_recorded(&db, "WEB-NEWPASS").await);
    assert_eq!(old.status, 401);
    assert_eq!(new.status, 303);
}

/// Moves every session's times back by `seconds`, as if that much time had passed.
async fn age_sessions(db: &DatabaseConnection, created_seconds: i64, seen_seconds: i64) {
    web_session::Entity::update_many()
        .col_expr(
            web_session::Column::CreatedAt,
            Expr::col(web_session::Column::CreatedAt).sub(created_seconds),
        )
        .col_expr(
            web_session::Column::LastSeenAt,
            Expr::col(web_session::Column::LastSeenAt).sub(seen_seconds),
        )
        .exec(db)
        .await
        .unwrap();
}

/// Waits until the server has recorded a request of every session (it writes `last_seen_at`
/// in the background, at most once a minute).
async fn wait_until_seen(db: &DatabaseConnection) {
    for _ in 0..200 {
        let recent = chrono::Utc::now().timestamp() - 30;
        let stale = web_session::Entity::find()
            .filter(web_session::Column::LastSeenAt.lt(recent))
            .count(db)
            .await
            .unwrap();
        if stale == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the server did not record the request");
}

#[tokio::test]
async fn a_session_idle_past_the_configured_minutes_is_refused_by_the_server() {
    let (_test_db, db, server) = sample_server(&[("ROCKET_SESSION_IDLE_MINUTES", "30")]).await;
    let mut clerk = Browser::new(&server, "127.0.0.2");
    clerk.sign_in("clerk@ministry.example", PASSWORD).await;
    age_sessions(&db, 29 * 60, 29 * 60).await;
    assert_eq!(clerk.get("/dashboard").await.status, 200, "29 minutes idle");
    wait_until_seen(&db).await;
    age_sessions(&db, 29 * 60, 29 * 60).await;
    assert_eq!(
        clerk.get("/dashboard").await.status,
        200,
        "58 minutes after sign-in, 29 idle: the request before moved the limit on"
    );
    wait_until_seen(&db).await;

    age_sessions(&db, 30 * 60, 30 * 60).await;
    let idle = clerk.get("/dashboard").await;

    assert_eq!(idle.status, 303);
    assert!(idle.location().starts_with("/login"));
    assert_eq!(web_session::Entity::find().count(&db).await.unwrap(), 0);
}

#[tokio::test]
async fn without_an_idle_limit_a_session_still_ends_twelve_hours_after_sign_in() {
    let (_test_db, db, server) = sample_server(&[("ROCKET_SESSION_IDLE_MINUTES", "0")]).await;
    let mut clerk = Browser::new(&server, "127.0.0.2");
    clerk.sign_in("clerk@ministry.example", PASSWORD).await;
    age_sessions(&db, 11 * 3600, 11 * 3600).await;
    assert_eq!(clerk.get("/dashboard").await.status, 200, "11 hours idle");

    age_sessions(&db, 3600, 0).await;
    let expired = clerk.get("/dashboard").await;

    assert_eq!(expired.status, 303);
    assert!(expired.location().starts_with("/login"));
}

#[tokio::test]
async fn signed_in_pages_and_downloads_are_not_stored_but_the_stylesheet_may_be() {
    let (_test_db, _db, server) = sample_server(&[]).await;
    let mut clerk = Browser::new(&server, "127.0.0.2");
    let login = clerk.get("/login").await;
    clerk.sign_in("clerk@ministry.example", PASSWORD).await;

    let dashboard = clerk.get("/dashboard").await;
    let download = clerk
        .get("/reports/execution.csv?plan=NAP-2015&by=activity")
        .await;
    let forbidden = clerk.get("/users").await;
    let stylesheet = clerk.get("/static/app.css").await;

    assert_eq!(dashboard.status, 200);
    assert_eq!(dashboard.header("cache-control"), Some("no-store"));
    assert_eq!(download.status, 200, "{}", download.body);
    assert_eq!(download.header("cache-control"), Some("no-store"));
    assert_eq!(forbidden.status, 403);
    assert_eq!(forbidden.header("cache-control"), Some("no-store"));
    assert_eq!(stylesheet.status, 200);
    assert_eq!(stylesheet.header("cache-control"), None);
    assert_eq!(login.header("cache-control"), None);
}

#[tokio::test]
async fn cookies_are_secure_behind_a_trusted_tls_proxy_and_only_then() {
    let proxied = [("X-Forwarded-Proto", "https")];
    let (test_db, _db, trusting) = sample_server(&[("ROCKET_TRUST_PROXY_TLS", "true")]).await;
    let untrusting = Server::start_with(&test_db, "untrusting", &[]).await;

    let mut behind_proxy = Browser::new(&trusting, "127.0.0.2");
    let secure = behind_proxy
        .sign_in_with("clerk@ministry.example", PASSWORD, &proxied)
        .await;
    let mut plain_http = Browser::new(&trusting, "127.0.0.3");
    let plain = plain_http.sign_in("clerk@ministry.example", PASSWORD).await;
    let mut forged = Browser::new(&untrusting, "127.0.0.4");
    let not_trusted = forged
        .sign_in_with("clerk@ministry.example", PASSWORD, &proxied)
        .await;

    for answer in [&secure, &plain, &not_trusted] {
        assert_eq!(answer.status, 303, "{}", answer.body);
    }
    let session = |a: &Answer| a.set_cookie("naptrack_session").expect("a session cookie");
    let csrf = |a: &Answer| a.set_cookie("naptrack_csrf").expect("a CSRF cookie");
    assert!(
        session(&secure).contains("; Secure"),
        "{}",
        session(&secure)
    );
    assert!(csrf(&secure).contains("; Secure"), "{}", csrf(&secure));
    assert!(session(&secure).contains("HttpOnly"));
    assert!(!session(&plain).contains("Secure"), "{}", session(&plain));
    assert!(
        !session(&not_trusted).contains("Secure"),
        "{}",
        session(&not_trusted)
    );
    assert!(!csrf(&not_trusted).contains("Secure"));
}

#[tokio::test]
async fn a_stranger_s_wrong_passwords_do_not_lock_the_user_out_of_their_own_address() {
    let (_test_db, _db, server) = sample_server(&[]).await;
    // The stranger guesses from three addresses until each is made to wait.
    let mut statuses = Vec::new();
    for from in ["127.0.0.2", "127.0.0.3", "127.0.0.4"] {
        let mut stranger = Browser::new(&server, from);
        for _ in 0..6 {
            let answer = stranger
                .sign_in("clerk@ministry.example", "guess guess guess")
                .await;
            statuses.push(answer.status);
        }
    }
    let mut clerk = Browser::new(&server, "127.0.0.9");
    let own = clerk.sign_in("clerk@ministry.example", PASSWORD).await;

    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        9,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        9,
        "{statuses:?}"
    );
    assert_eq!(own.status, 303, "{}", own.body);
    assert_eq!(clerk.get("/dashboard").await.status, 200);
}

#[tokio::test]
async fn an_account_and_address_pair_waits_longer_after_each_failure_then_signs_in() {
    let (_test_db, _db, server) = sample_server(&[]).await;
    let mut clerk = Browser::new(&server, "127.0.0.2");
    for _ in 0..3 {
        let answer = clerk
            .sign_in("clerk@ministry.example", "guess guess guess")
            .await;
        assert_eq!(answer.status, 401);
    }

    let throttled = clerk.sign_in("clerk@ministry.example", PASSWORD).await;
    let retry_after: u64 = throttled
        .header("retry-after")
        .expect("a Retry-After header")
        .parse()
        .expect("seconds");
    println!("pair delay after 3 failures: Retry-After {retry_after} s");
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    let after_waiting = clerk.sign_in("clerk@ministry.example", PASSWORD).await;

    assert_eq!(throttled.status, 429);
    assert!((1..=5).contains(&retry_after), "{retry_after}");
    assert!(
        throttled.body.contains("Too many failed sign-ins. Wait"),
        "{}",
        throttled.body
    );
    assert_eq!(after_waiting.status, 303, "{}", after_waiting.body);
}

#[tokio::test]
async fn one_address_that_fails_twenty_times_is_stopped_whatever_account_it_names() {
    let (_test_db, _db, server) = sample_server(&[]).await;
    let mut guesser = Browser::new(&server, "127.0.0.2");
    for n in 0..20 {
        let answer = guesser
            .sign_in(&format!("guess{n}@ministry.example"), "guess guess guess")
            .await;
        assert_eq!(answer.status, 401, "guess {n}");
    }

    let stopped = guesser.sign_in("clerk@ministry.example", PASSWORD).await;
    let mut clerk = Browser::new(&server, "127.0.0.3");
    let elsewhere = clerk.sign_in("clerk@ministry.example", PASSWORD).await;

    assert_eq!(stopped.status, 429);
    let retry_after: i64 = stopped.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=15 * 60).contains(&retry_after), "{retry_after}");
    assert_eq!(elsewhere.status, 303);
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

#[tokio::test]
async fn an_unknown_email_a_user_without_a_password_and_a_wrong_password_take_the_same_time() {
    const TRIES: u8 = 9;
    let (_test_db, db, server) = sample_server(&[]).await;
    add_user(&db, "script@ministry.example", Role::Recorder, None).await;
    let cases = [
        ("unknown email", "nobody@ministry.example"),
        ("user without a password", "script@ministry.example"),
        ("wrong password", "clerk@ministry.example"),
    ];
    // The cases take turns, so that whatever else loads the machine meanwhile weighs on each
    // alike.
    let mut times = vec![Vec::new(); cases.len()];
    for n in 0..TRIES {
        for (case_index, (case, email)) in cases.iter().enumerate() {
            // Each try from an address of its own, so that no throttle answers instead.
            let from = format!("127.0.{}.{}", case_index + 1, n + 1);
            let mut browser = Browser::new(&server, &from);
            let csrf = browser.csrf("/login").await;
            let fields = [
                ("email", *email),
                ("password", "guess guess guess"),
                ("csrf", &csrf),
            ];
            let started = Instant::now();
            let answer = browser.post("/login", &fields).await;
            times[case_index].push(started.elapsed());
            assert_eq!(answer.status, 401, "{case}");
            assert!(
                answer
                    .body
                    .contains("The email or the password is not right.")
            );
        }
    }
    let mut medians = Vec::new();
    for ((case, _), times) in cases.iter().zip(times) {
        let median = median(times);
        println!(
            "sign-in refusal, {case}: median {:.1} ms over {TRIES} tries",
            median.as_secs_f64() * 1000.0
        );
        medians.push(median);
    }
    let fastest = *medians.iter().min().unwrap();
    let slowest = *medians.iter().max().unwrap();
    println!(
        "slowest / fastest median: {:.2}",
        slowest.as_secs_f64() / fastest.as_secs_f64()
    );
    assert!(slowest < fastest * 3, "{medians:?}");
}

/// The service's session rules with the clock handed in, on the test's backend.
mod clock {
    use super::*;

    async fn user_id(db: &DatabaseConnection) -> i32 {
        add_user(db, "clerk@ministry.example", Role::Recorder, Some(PASSWORD)).await;
        naptrack::entity::user::Entity::find()
            .one(db)
            .await
            .unwrap()
            .unwrap()
            .id
    }

    #[tokio::test]
    async fn a_session_ends_after_the_idle_time_and_each_request_extends_it() {
        let test_db = TestDb::new().await;
        let db = test_db.connect().await;
        let user = user_id(&db).await;
        let lifetime = Lifetime::with_idle_minutes(60);
        let t0 = 1_800_000_000;
        let left = web_sessions::start(&db, user, t0).await.unwrap();
        let used = web_sessions::start(&db, user, t0).await.unwrap();
        let idle = web_sessions::start(&db, user, t0).await.unwrap();

        let just_before = web_sessions::resume(&db, &left, t0 + 3599, lifetime)
            .await
            .unwrap();
        let at_the_limit = web_sessions::resume(&db, &idle, t0 + 3600, lifetime)
            .await
            .unwrap();
        // A request half way through moves the idle limit on (written in the background).
        assert!(
            web_sessions::resume(&db, &used, t0 + 1800, lifetime)
                .await
                .unwrap()
                .is_some()
        );
        for _ in 0..100 {
            let seen = web_session::Entity::find()
                .filter(web_session::Column::LastSeenAt.eq(t0 + 1800))
                .count(&db)
                .await
                .unwrap();
            if seen == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let later = web_sessions::resume(&db, &used, t0 + 1800 + 3599, lifetime)
            .await
            .unwrap();

        assert!(just_before.is_some());
        assert!(at_the_limit.is_none());
        assert!(
            later.is_some(),
            "the request at 30 minutes extended the session"
        );
        assert!(
            web_sessions::resume(&db, &idle, t0, lifetime)
                .await
                .unwrap()
                .is_none(),
            "an ended session stays ended"
        );
    }

    #[tokio::test]
    async fn a_busy_session_ends_twelve_hours_after_sign_in() {
        let test_db = TestDb::new().await;
        let db = test_db.connect().await;
        let user = user_id(&db).await;
        let lifetime = Lifetime::with_idle_minutes(0);
        let t0 = 1_800_000_000;
        let token = web_sessions::start(&db, user, t0).await.unwrap();

        let last_second = web_sessions::resume(&db, &token, t0 + MAX_SESSION_SECONDS - 1, lifetime)
            .await
            .unwrap();
        let twelve_hours = web_sessions::resume(&db, &token, t0 + MAX_SESSION_SECONDS, lifetime)
            .await
            .unwrap();

        assert!(last_second.is_some());
        assert!(twelve_hours.is_none());
        assert_eq!(
            web_session::Entity::find().count(&db).await.unwrap(),
            0,
            "the row is gone"
        );
    }

    #[tokio::test]
    async fn only_the_hash_of_a_session_token_is_stored() {
        let test_db = TestDb::new().await;
        let db = test_db.connect().await;
        let user = user_id(&db).await;
        let token = web_sessions::start(&db, user, 1_800_000_000).await.unwrap();

        let stored = web_session::Entity::find().one(&db).await.unwrap().unwrap();

        assert_eq!(token.len(), 64);
        assert_ne!(stored.token_hash, token);
        assert_eq!(stored.token_hash.len(), 64);
        assert!(
            web_sessions::resume(
                &db,
                &stored.token_hash,
                1_800_000_000,
                Lifetime::with_idle_minutes(60)
            )
            .await
            .unwrap()
            .is_none()
        );
    }
}

/// The sign-in throttle with the clock handed in, on the test's backend.
mod throttle {
    use super::*;
    use naptrack::service::sessions::{
        MAX_FAILURES_PER_ACCOUNT, SignIn, THROTTLE_WINDOW_SECONDS, sign_in,
    };

    const GUESS: &str = "guess guess guess";

    #[tokio::test]
    async fn each_further_failure_of_a_pair_doubles_its_wait() {
        let test_db = TestDb::new().await;
        let db = test_db.connect().await;
        add_user(
            &db,
            "clerk@ministry.example",
            Role::Recorder,
            Some(PASSWORD),
        )
        .await;
        let email = "clerk@ministry.example";
        let t0 = 1_800_000_000;
        for n in 0..3 {
            assert_eq!(
                sign_in(&db, email, GUESS, "192.0.2.1", t0 + n)
                    .await
                    .unwrap(),
                SignIn::Refused
            );
        }

        let first = sign_in(&db, email, GUESS, "192.0.2.1", t0 + 2)
            .await
            .unwrap();
        let fourth = sign_in(&db, email, GUESS, "192.0.2.1", t0 + 7)
            .await
            .unwrap();
        let second = sign_in(&db, email, GUESS, "192.0.2.1", t0 + 8)
            .await
            .unwrap();
        let other_address = sign_in(&db, email, PASSWORD, "192.0.2.2", t0 + 8)
            .await
            .unwrap();

        assert_eq!(
            first,
            SignIn::Throttled {
                retry_after_seconds: 5
            }
        );
        assert_eq!(fourth, SignIn::Refused, "after the 5 seconds");
        assert_eq!(
            second,
            SignIn::Throttled {
                retry_after_seconds: 9
            },
            "10 s after the 4th"
        );
        assert!(matches!(other_address, SignIn::SignedIn(_)));
    }

    #[tokio::test]
    async fn guessing_spread_over_a_hundred_addresses_reaches_the_account_s_ceiling_for_the_window()
    {
        let test_db = TestDb::new().await;
        let db = test_db.connect().await;
        add_user(
            &db,
            "clerk@ministry.example",
            Role::Recorder,
            Some(PASSWORD),
        )
        .await;
        let email = "clerk@ministry.example";
        let t0 = 1_800_000_000;
        for n in 0..MAX_FAILURES_PER_ACCOUNT {
            let address = format!("198.51.{}.{}", n / 200, n % 200);
            assert_eq!(
                sign_in(&db, email, GUESS, &address, t0).await.unwrap(),
                SignIn::Refused
            );
        }

        let ceiling = sign_in(&db, email, PASSWORD, "203.0.113.1", t0 + 60)
            .await
            .unwrap();
        let after_the_window = sign_in(
            &db,
            email,
            PASSWORD,
            "203.0.113.1",
            t0 + THROTTLE_WINDOW_SECONDS,
        )
        .await
        .unwrap();

        assert_eq!(
            ceiling,
            SignIn::Throttled {
                retry_after_seconds: THROTTLE_WINDOW_SECONDS - 60
            }
        );
        assert!(matches!(after_the_window, SignIn::SignedIn(_)));
    }
}
