//! The web UI through Rocket's tracked local client, which keeps cookies between requests
//! like a browser: sign-in, sessions, CSRF, throttling, roles, and the pages that write.

use naptrack::domain::Role;
use rocket::http::{ContentType, Status};

use crate::helpers::TestApp;

pub(crate) const PASSWORD: &str = "correct horse battery staple";

pub(crate) async fn add_user(app: &TestApp, email: &str, role: Role) {
    naptrack::service::users::add_user(&app.db, email, role, None, Some(PASSWORD), "test")
        .await
        .expect("the user is created");
}

/// The value of the first hidden `csrf` field of a page.
pub(crate) fn csrf_of(page: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).expect("a CSRF field") + marker.len();
    let end = page[start..].find('"').expect("the end of the field") + start;
    page[start..end].to_owned()
}

/// The value of the hidden field `name` of a page.
pub(crate) fn value_of(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).expect("the field") + marker.len();
    let end = page[start..].find('"').expect("the end of the field") + start;
    page[start..end].to_owned()
}

pub(crate) fn form_body(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}", naptrack_urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn naptrack_urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl TestApp {
    /// The CSRF token of the sign-in page, which also sets the CSRF cookie.
    pub(crate) async fn login_csrf(&self) -> String {
        let page = self.get("/login").await.into_string().await.unwrap();
        csrf_of(&page)
    }

    pub(crate) async fn post_form(
        &self,
        uri: &str,
        fields: &[(&str, &str)],
    ) -> rocket::local::asynchronous::LocalResponse<'_> {
        self.client
            .post(uri.to_owned())
            .header(ContentType::Form)
            .body(form_body(fields))
            .dispatch()
            .await
    }

    pub(crate) async fn sign_in(&self, email: &str, password: &str) -> Status {
        let csrf = self.login_csrf().await;
        self.post_form(
            "/login",
            &[("email", email), ("password", password), ("csrf", &csrf)],
        )
        .await
        .status()
    }

    /// A sign-in from the client at `address`, which also sends an `X-Real-IP` header of its
    /// choosing (`forged`), as a client that hopes to pass for another would.
    async fn sign_in_from(
        &self,
        address: &str,
        forged: &str,
        email: &str,
        password: &str,
    ) -> Status {
        let csrf = self.login_csrf().await;
        self.client
            .post("/login")
            .remote(address.parse().unwrap())
            .header(ContentType::Form)
            .header(rocket::http::Header::new("X-Real-IP", forged.to_owned()))
            .body(form_body(&[
                ("email", email),
                ("password", password),
                ("csrf", &csrf),
            ]))
            .dispatch()
            .await
            .status()
    }

    /// The CSRF token that a signed-in page carries.
    pub(crate) async fn page_csrf(&self, uri: &str) -> String {
        let page = self.get(uri).await.into_string().await.unwrap();
        csrf_of(&page)
    }

    pub(crate) async fn page(&self, uri: &str) -> (Status, String) {
        let response = self.get(uri).await;
        let status = response.status();
        (status, response.into_string().await.unwrap_or_default())
    }
}

#[rocket::async_test]
async fn a_user_signs_in_with_email_and_password_and_sees_the_dashboard() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, "clerk@ministry.example", Role::Recorder).await;

    let status = app.sign_in("Clerk@Ministry.example", PASSWORD).await;

    assert_eq!(status, Status::SeeOther);
    let (status, page) = app.page("/dashboard").await;
    assert_eq!(status, Status::Ok);
    assert!(page.contains("clerk@ministry.example"), "{page}");
    assert!(page.contains("recorder"));
}

#[rocket::async_test]
async fn the_session_cookie_is_http_only_and_same_site() {
    let app = TestApp::spawn().await;
    add_user(&app, "clerk@ministry.example", Role::Recorder).await;
    let csrf = app.login_csrf().await;

    let response = app
        .post_form(
            "/login",
            &[
                ("email", "clerk@ministry.example"),
                ("password", PASSWORD),
                ("csrf", &csrf),
            ],
        )
        .await;

    let cookie = response
        .headers()
        .get("Set-Cookie")
        .find(|c| c.starts_with("naptrack_session="))
        .expect("a session cookie")
        .to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    let value = cookie
        .trim_start_matches("naptrack_session=")
        .split(';')
        .next()
        .unwrap_or_default();
    assert!(
        !value.contains("%3A") && !value.contains(':'),
        "the cookie is encrypted: {cookie}"
    );
}

#[rocket::async_test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let app = TestApp::spawn().await;
    add_user(&app, "clerk@ministry.example", Role::Recorder).await;

    let csrf = app.login_csrf().await;
    let wrong = app
        .post_form(
            "/login",
            &[
                ("email", "clerk@ministry.example"),
                ("password", "not the password"),
                ("csrf", &csrf),
            ],
        )
        .await;
    let wrong_status = wrong.status();
    let wrong_page = wrong.into_string().await.unwrap();
    let unknown = app
        .post_form(
            "/login",
            &[
                ("email", "nobody@ministry.example"),
                ("password", "not the password"),
                ("csrf", &csrf),
            ],
        )
        .await;
    let unknown_status = unknown.status();
    let unknown_page = unknown.into_string().await.unwrap();

    assert_eq!(wrong_status, Status::Unauthorized);
    assert_eq!(unknown_status, Status::Unauthorized);
    let message = "The email or the password is not right.";
    assert!(wrong_page.contains(message), "{wrong_page}");
    assert!(unknown_page.contains(message), "{unknown_page}");
    assert_eq!(app.page("/dashboard").await.0, Status::SeeOther);
}

#[rocket::async_test]
async fn repeated_failed_sign_ins_from_one_address_make_it_wait_even_with_the_right_password() {
    // After three failures (service/sessions.rs) the account and address pair must wait.
    let app = TestApp::spawn().await;
    add_user(&app, "clerk@ministry.example", Role::Recorder).await;

    for _ in 0..3 {
        let status = app
            .sign_in("clerk@ministry.example", "guess guess guess")
            .await;
        assert_eq!(status, Status::Unauthorized);
    }
    let status = app.sign_in("clerk@ministry.example", PASSWORD).await;

    assert_eq!(status, Status::TooManyRequests);
}

#[rocket::async_test]
async fn failed_sign_ins_from_one_address_are_throttled_whatever_account_or_header_they_name() {
    // The limit per client address (service/sessions.rs), whatever accounts it names.
    const MAX_FAILURES_PER_CLIENT: i64 = 20;
    let app = TestApp::spawn().await;
    add_user(&app, "clerk@ministry.example", Role::Recorder).await;

    // Each guess names another account, so no account reaches its own limit.
    for n in 0..MAX_FAILURES_PER_CLIENT {
        let status = app
            .sign_in_from(
                "192.0.2.7:40000",
                &format!("198.51.100.{n}"),
                &format!("guess{n}@ministry.example"),
                "guess guess guess",
            )
            .await;
        assert_eq!(status, Status::Unauthorized);
    }
    let from_same = app
        .sign_in_from(
            "192.0.2.7:40001",
            "203.0.113.9",
            "clerk@ministry.example",
            PASSWORD,
        )
        .await;
    let from_other = app
        .sign_in_from(
            "192.0.2.8:40000",
            "192.0.2.7",
            "clerk@ministry.example",
            PASSWORD,
        )
        .await;

    assert_eq!(from_same, Status::TooManyRequests);
    assert_eq!(from_other, Status::SeeOther);
}

#[rocket::async_test]
async fn a_sign_in_without_the_csrf_token_is_refused() {
    let app = TestApp::spawn().await;
    add_user(&app, "clerk@ministry.example", Role::Recorder).await;
    app.login_csrf().await;

    let missing = app
        .post_form(
            "/login",
            &[("email", "clerk@ministry.example"), ("password", PASSWORD)],
        )
        .await
        .status();
    let wrong = app
        .post_form(
            "/login",
            &[
                ("email", "clerk@ministry.example"),
                ("password", PASSWORD),
                ("csrf", "forged"),
            ],
        )
        .await
        .status();

    assert_eq!(missing, Status::Forbidden);
    assert_eq!(wrong, Status::Forbidden);
}

#[rocket::async_test]
async fn a_page_without_a_session_sends_the_user_to_sign_in() {
    let app = TestApp::spawn().await;

    let response = app.get("/dashboard").await;

    assert_eq!(response.status(), Status::SeeOther);
    let location = response.headers().get_one("Location").unwrap_or_default();
    assert!(location.starts_with("/login?next=/dashboard"), "{location}");
}

#[rocket::async_test]
async fn signing_out_ends_the_session() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, "clerk@ministry.example", Role::Recorder).await;
    app.sign_in("clerk@ministry.example", PASSWORD).await;
    let csrf = app.page_csrf("/dashboard").await;

    let status = app.post_form("/logout", &[("csrf", &csrf)]).await.status();

    assert_eq!(status, Status::SeeOther);
    assert_eq!(app.page("/dashboard").await.0, Status::SeeOther);
}

#[rocket::async_test]
async fn the_dashboard_shows_totals_an_svg_chart_and_flag_counts() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, "donor@embassy.example", Role::Donor).await;
    app.sign_in("donor@embassy.example", PASSWORD).await;

    let (status, page) = app.page("/dashboard").await;

    assert_eq!(status, Status::Ok);
    assert!(page.contains("<svg"), "{page}");
    assert!(page.contains("Execution by objective"));
    assert!(page.contains("Amount (EUR)"));
    assert!(page.contains("critical"));
    assert!(page.contains("severity=critical"), "{page}");
}

#[rocket::async_test]
async fn the_unfunded_victim_compensation_fund_is_on_the_flags_page() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, "donor@embassy.example", Role::Donor).await;
    app.sign_in("donor@embassy.example", PASSWORD).await;

    let (status, page) = app.page("/flags?severity=critical&as_of=2016-06-30").await;

    assert_eq!(status, Status::Ok);
    assert!(page.contains("OBLIGATION_UNFUNDED"), "{page}");
    assert!(page.contains("VCF"));
    assert!(!page.contains("<th scope=\"row\">LOW_EXECUTION"));
}

#[rocket::async_test]
async fn a_bad_filter_is_a_400_page_not_a_500() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, "donor@embassy.example", Role::Donor).await;
    app.sign_in("donor@embassy.example", PASSWORD).await;

    let (status, page) = app.page("/flags?as_of=2016-02-30").await;
    let (report_status, _) = app.page("/reports?by=pillar").await;

    assert_eq!(status, Status::BadRequest);
    assert!(page.contains("as_of must be a date"), "{page}");
    assert_eq!(report_status, Status::BadRequest);
}

#[rocket::async_test]
async fn the_reports_page_has_two_charts_and_a_csv_download_that_works_with_the_session() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, "donor@embassy.example", Role::Donor).await;
    app.sign_in("donor@embassy.example", PASSWORD).await;

    let (status, page) = app
        .page("/reports?by=funding-source&fiscal_year=2016")
        .await;
    let csv = app
        .get("/reports/execution.csv?by=funding-source&fiscal_year=2016")
        .await;

    assert_eq!(status, Status::Ok);
    assert_eq!(page.matches("<svg").count(), 2, "{page}");
    assert!(page.contains("Disbursements by month"));
    assert_eq!(csv.status(), Status::Ok);
    let text = csv.into_string().await.unwrap();
    assert!(text.starts_with("key,label,allocated,committed,disbursed,remaining,execution_rate\n"));
    assert!(text.contains("\nTOTAL,Total,"));
}

#[rocket::async_test]
async fn a_donor_sees_no_write_forms_and_the_write_routes_refuse_them() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, "donor@embassy.example", Role::Donor).await;
    app.sign_in("donor@embassy.example", PASSWORD).await;
    let csrf = app.page_csrf("/dashboard").await;

    let (_, dashboard) = app.page("/dashboard").await;
    let (_, activity) = app.page("/activities/PROT-04").await;
    let form = app.page("/disbursements/new").await.0;
    let import = app.page("/import").await.0;
    let post = app
        .post_form(
            "/disbursements/new",
            &[
                ("csrf", &csrf),
                ("plan", "NAP-2015"),
                ("budget_line_code", "BL-2015-001"),
                ("reference", "DONOR-1"),
                ("date", "2015-06-01"),
                ("amount", "10.00"),
                ("currency", "EUR"),
            ],
        )
        .await
        .status();

    assert!(!dashboard.contains("Log a disbursement"));
    assert!(!dashboard.contains("/import"));
    assert!(!activity.contains("Reverse"));
    assert_eq!(form, Status::Forbidden);
    assert_eq!(import, Status::Forbidden);
    assert_eq!(post, Status::Forbidden);
    assert!(!naptrack_export(&app).await.contains("DONOR-1"));
}

async fn naptrack_export(app: &TestApp) -> String {
    let mut out = Vec::new();
    naptrack::service::export::export_csv(
        &app.db,
        naptrack::domain::records::RecordKind::Disbursements,
        Some("NAP-2015"),
        &mut out,
    )
    .await
    .unwrap();
    String::from_utf8(out).unwrap()
}

#[rocket::async_test]
async fn a_recorder_logs_a_disbursement_through_the_form_and_finds_it_on_the_activity_page() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, "clerk@ministry.example", Role::Recorder).await;
    app.sign_in("clerk@ministry.example", PASSWORD).await;
    let (status, form) = app.page("/disbursements/new").await;
    assert_eq!(status, Status::Ok);
    assert!(
        form.contains("BL-2015-001"),
        "the picker lists the budget lines"
    );
    let csrf = csrf_of(&form);
    let fields = [
        ("csrf", csrf.as_str()),
        ("plan", "NAP-2015"),
        ("budget_line_code", "BL-2015-001"),
        ("reference", "WEB-0001"),
        ("date", "2015-06-01"),
        ("amount", "1234567.8901"),
        ("currency", "EUR"),
        ("description", "Printing of leaflets"),
    ];

    // More than is left on the line: the form names the problem and stores nothing yet.
    let response = app.post_form("/disbursements/new", &fields).await;
    assert_eq!(response.status(), Status::Ok);
    let check = response.into_string().await.unwrap();
    assert!(
        check.contains(
            "EUR 1,234,567.8901 is more than the EUR 2,497.89 left on budget line BL-2015-001 (15,300.00 allocated, 12,802.11 paid)"
        ),
        "{check}"
    );
    assert!(!naptrack_export(&app).await.contains("WEB-0001"));
    let confirm_for = value_of(&check, "confirm_for");
    let mut confirmed = fields.to_vec();
    confirmed.extend([("confirm", "yes"), ("confirm_for", confirm_for.as_str())]);
    // A confirmation holds for the values it was shown for, not for others.
    let mut changed = confirmed.clone();
    changed[5] = ("amount", "2234567.8901");
    let response = app.post_form("/disbursements/new", &changed).await;
    assert_eq!(
        response.status(),
        Status::Ok,
        "changed values are checked again"
    );
    let response = app.post_form("/disbursements/new", &confirmed).await;

    assert_eq!(response.status(), Status::SeeOther);
    let location = response.headers().get_one("Location").unwrap().to_owned();
    let (status, confirmation) = app.page(&location).await;
    assert_eq!(status, Status::Ok);
    assert!(confirmation.contains("WEB-0001 recorded"), "{confirmation}");
    assert!(confirmation.contains("1,234,567.8901"));
    let (_, activity) = app.page("/activities/PART-01").await;
    assert!(activity.contains("WEB-0001"));
    assert!(
        naptrack_export(&app)
            .await
            .contains("WEB-0001,BL-2015-001,2015-06-01,1234567.8901,EUR")
    );
}

#[rocket::async_test]
async fn a_disbursement_form_with_errors_shows_each_beside_its_field_and_keeps_the_input() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, "clerk@ministry.example", Role::Recorder).await;
    app.sign_in("clerk@ministry.example", PASSWORD).await;
    let csrf = app.page_csrf("/disbursements/new").await;

    let response = app
        .post_form(
            "/disbursements/new",
            &[
                ("csrf", &csrf),
                ("plan", "NAP-2015"),
                ("budget_line_code", "BL-2015-001"),
                ("reference", "WEB-0002"),
                ("date", "2015-06-01"),
                ("amount", "12,50"),
                ("currency", "EUR"),
            ],
        )
        .await;

    assert_eq!(response.status(), Status::UnprocessableEntity);
    let page = response.into_string().await.unwrap();
    assert!(page.contains("id=\"amount-error\""), "{page}");
    assert!(page.contains("value=\"12,50\""));
    assert!(page.contains("value=\"WEB-0002\""));
    assert!(!naptrack_export(&app).await.contains("WEB-0002"));
}

#[rocket::async_test]
async fn a_disbursement_without_the_csrf_token_is_refused_and_not_recorded() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, "clerk@ministry.example", Role::Recorder).await;
    app.sign_in("clerk@ministry.example", PASSWORD).await;

    let status = app
        .post_form(
            "/disbursements/new",
            &[
                ("plan", "NAP-2015"),
                ("budget_line_code", "BL-2015-001"),
                ("reference", "WEB-0003"),
                ("date", "2015-06-01"),
                ("amount", "10.00"),
                ("currency", "EUR"),
            ],
        )
        .await
        .status();

    assert_eq!(status, Status::Forbidden);
    assert!(!naptrack_export(&app).await.contains("WEB-0003"));
}

#[rocket::async_test]
async fn a_recorder_reverses_a_disbursement_through_the_form() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, "clerk@ministry.example", Role::Recorder).await;
    app.sign_in("clerk@ministry.example", PASSWORD).await;
    let (status, form) = app.page("/disbursements/D-2015-0002/reversal").await;
    assert_eq!(status, Status::Ok, "{form}");
    let csrf = csrf_of(&form);

    let response = app
        .post_form(
            "/disbursements/D-2015-0002/reversal",
            &[
                ("csrf", &csrf),
                ("plan", "NAP-2015"),
                ("reason", "Paid twice"),
                ("amount", "2000.00"),
                ("date", "2015-02-01"),
            ],
        )
        .await;

    assert_eq!(response.status(), Status::SeeOther);
    let export = naptrack_export(&app).await;
    assert!(
        export.contains("D-2015-0002-R1,BL-2015-036,2015-02-01,-2000.00,EUR"),
        "{export}"
    );
}

pub(crate) fn multipart(boundary: &str, fields: &[(&str, &str)], file: (&str, &str)) -> String {
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: text/csv\r\n\r\n{}\r\n--{boundary}--\r\n",
        file.0, file.1
    ));
    body
}

#[rocket::async_test]
async fn the_import_preview_lists_every_error_by_line_and_column_and_writes_nothing() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, "clerk@ministry.example", Role::Recorder).await;
    app.sign_in("clerk@ministry.example", PASSWORD).await;
    let csrf = app.page_csrf("/import").await;
    let csv = "reference,budget_line_code,date,amount,currency\n\
               IMP-1,BL-2015-001,2015-03-01,100.00,EUR\n\
               IMP-2,BL-2015-001,2015-03-01,1e3,EUR\n\
               IMP-3,NO-SUCH-LINE,2015-03-01,5.00,EUR\n";
    let boundary = "XBOUNDARYX";

    let response = app
        .client
        .post("/import/preview")
        .header(ContentType::new("multipart", "form-data").with_params(("boundary", boundary)))
        .body(multipart(
            boundary,
            &[
                ("csrf", &csrf),
                ("plan", "NAP-2015"),
                ("entity", "disbursements"),
            ],
            ("disbursements.csv", csv),
        ))
        .dispatch()
        .await;

    assert_eq!(response.status(), Status::UnprocessableEntity);
    let page = response.into_string().await.unwrap();
    assert!(
        page.contains("<td class=\"num\">3</td><th scope=\"row\">amount</th>"),
        "{page}"
    );
    assert!(
        page.contains("<td class=\"num\">4</td><th scope=\"row\">budget_line_code</th>"),
        "{page}"
    );
    assert!(!naptrack_export(&app).await.contains("IMP-1"));
}

#[rocket::async_test]
async fn a_clean_import_is_previewed_with_its_counts_then_confirmed() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, "clerk@ministry.example", Role::Recorder).await;
    app.sign_in("clerk@ministry.example", PASSWORD).await;
    let csrf = app.page_csrf("/import").await;
    let csv = "reference,budget_line_code,date,amount,currency\nIMP-1,BL-2015-001,2015-03-01,100.00,EUR\n";
    let boundary = "XBOUNDARYX";
    let fields = [
        ("csrf", csrf.as_str()),
        ("plan", "NAP-2015"),
        ("entity", "disbursements"),
    ];

    let preview = app
        .client
        .post("/import/preview")
        .header(ContentType::new("multipart", "form-data").with_params(("boundary", boundary)))
        .body(multipart(boundary, &fields, ("disbursements.csv", csv)))
        .dispatch()
        .await;
    assert_eq!(preview.status(), Status::Ok);
    let page = preview.into_string().await.unwrap();
    assert!(page.contains("1 created"), "{page}");
    assert!(!naptrack_export(&app).await.contains("IMP-1"));

    let mut confirm_fields = fields.to_vec();
    confirm_fields.push(("csv", csv));
    let confirm = app
        .client
        .post("/import")
        .header(ContentType::new("multipart", "form-data").with_params(("boundary", boundary)))
        .body(multipart(boundary, &confirm_fields, ("", "")))
        .dispatch()
        .await;

    assert_eq!(confirm.status(), Status::Ok);
    assert!(naptrack_export(&app).await.contains("IMP-1,BL-2015-001"));
}

#[rocket::async_test]
async fn the_audit_trail_is_for_auditors_and_admins_only() {
    let app = TestApp::spawn().await;
    add_user(&app, "auditor@court.example", Role::Auditor).await;
    add_user(&app, "donor@embassy.example", Role::Donor).await;

    app.sign_in("donor@embassy.example", PASSWORD).await;
    let donor = app.page("/audit").await.0;
    let csrf = app.page_csrf("/").await;
    app.post_form("/logout", &[("csrf", &csrf)]).await;
    app.sign_in("auditor@court.example", PASSWORD).await;
    let (auditor, page) = app.page("/audit").await;

    assert_eq!(donor, Status::Forbidden);
    assert_eq!(auditor, Status::Ok);
    assert!(page.contains("Intact"), "{page}");
    assert!(page.contains("user:test") || page.contains("test"));
}

#[rocket::async_test]
async fn an_admin_creates_and_revokes_a_token_on_the_users_page() {
    let app = TestApp::spawn().await;
    add_user(&app, "admin@ministry.example", Role::Admin).await;
    app.sign_in("admin@ministry.example", PASSWORD).await;
    let csrf = app.page_csrf("/users").await;

    let created = app
        .post_form(
            "/users/tokens",
            &[
                ("csrf", &csrf),
                ("email", "admin@ministry.example"),
                ("label", "treasury sync"),
            ],
        )
        .await;
    assert_eq!(created.status(), Status::Ok);
    let page = created.into_string().await.unwrap();
    assert!(page.contains("napt_"), "{page}");
    assert!(page.contains("treasury sync"));
    let tokens = naptrack::service::users::list_tokens(&app.db, None)
        .await
        .unwrap();
    let id = tokens
        .iter()
        .find(|t| t.label.as_deref() == Some("treasury sync"))
        .unwrap()
        .id;

    let revoked = app
        .post_form(
            &format!("/users/tokens/{id}/revocation"),
            &[("csrf", &csrf)],
        )
        .await
        .status();

    assert_eq!(revoked, Status::SeeOther);
    let tokens = naptrack::service::users::list_tokens(&app.db, None)
        .await
        .unwrap();
    assert!(
        tokens
            .iter()
            .find(|t| t.id == id)
            .unwrap()
            .revoked_at
            .is_some()
    );
}

#[rocket::async_test]
async fn the_plan_page_shows_the_tree_with_exact_money() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, "donor@embassy.example", Role::Donor).await;
    app.sign_in("donor@embassy.example", PASSWORD).await;

    let (status, page) = app.page("/plan").await;

    assert_eq!(status, Status::Ok);
    assert!(page.contains("PREV"));
    assert!(page.contains("/activities/PREV-01"));
    assert!(page.contains("<th scope=\"col\" class=\"num\">Allocated</th>"));
}

/// Records a disbursement of the EU instrument's money (EUROL, through EU-2016, in EUR) with
/// every fraction digit an amount may have.
async fn record_eu_disbursement(app: &TestApp) {
    crate::helpers::import_csv(
        &app.db,
        naptrack::domain::records::RecordKind::Disbursements,
        "reference,budget_line_code,date,amount,currency,description\n\
         WEB-EU-1,BL-2016-004,2016-05-02,1234567.8901,EUR,Hotline campaign\n",
    )
    .await;
}

async fn eurol_statement(app: &TestApp) -> naptrack::service::statements::DonorStatement {
    use naptrack::service::statements::{Giver, donor_statement};
    let plan = naptrack::service::plans::resolve_plan(&app.db, None)
        .await
        .unwrap();
    donor_statement(
        &app.db,
        &plan,
        Giver::Donor("EUROL".into()),
        &Default::default(),
    )
    .await
    .unwrap()
}

#[rocket::async_test]
async fn the_donor_statement_page_offers_donors_and_funding_sources_in_labelled_selects() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, "donor@embassy.example", Role::Donor).await;
    app.sign_in("donor@embassy.example", PASSWORD).await;

    let (status, page) = app.page("/reports/donor").await;
    let (_, reports) = app.page("/reports").await;

    assert_eq!(status, Status::Ok);
    assert!(
        page.contains("<label for=\"donor\">Donor</label>"),
        "{page}"
    );
    assert!(page.contains("<select id=\"donor\" name=\"donor\">"));
    assert!(page.contains("<option value=\"PGATO\">"));
    assert!(
        !page.contains("<option value=\"MOJ\">"),
        "only institutions that give money are donors"
    );
    assert!(page.contains("<label for=\"funding_source\">Funding source</label>"));
    assert!(page.contains("<option value=\"PG-2015\">"));
    assert!(page.contains("method=\"get\" action=\"/reports/donor\""));
    assert!(!page.contains("<svg"), "no statement before a choice");
    assert!(reports.contains("href=\"/reports/donor?plan=NAP-2015\""));
    assert!(reports.contains("<a href=\"/reports/donor\">Donor statement</a>"));
}

#[rocket::async_test]
async fn a_donor_reads_the_statement_of_a_donor_with_exact_amounts_by_activity_and_year() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    let before = eurol_statement(&app).await.disbursed;
    record_eu_disbursement(&app).await;
    let statement = eurol_statement(&app).await;
    add_user(&app, "donor@embassy.example", Role::Donor).await;
    app.sign_in("donor@embassy.example", PASSWORD).await;

    let (status, page) = app.page("/reports/donor?donor=EUROL").await;

    assert_eq!(status, Status::Ok, "{page}");
    assert!(
        page.contains("<h1>Donor statement: donor EUROL</h1>"),
        "{page}"
    );
    assert!(page.contains("EU Rule of Law Support Instrument"));
    assert!(page.contains("<option value=\"EUROL\" selected>"));
    // The new payment, in its own currency and in the plan's, to the last digit.
    assert!(page.contains("<a href=\"/disbursements/WEB-EU-1?plan=NAP-2015\">WEB-EU-1</a>"));
    assert_eq!(
        page.matches("<td class=\"num\" data-label=\"Amount\">1,234,567.8901</td>")
            .count()
            + page
                .matches("<td class=\"num\" data-label=\"Amount in EUR\">1,234,567.8901</td>")
                .count(),
        2,
        "{page}"
    );
    // The total disbursed is the exact sum: what was there before plus the new payment.
    let expected = before
        .checked_add(naptrack::money::Amount::parse("1234567.8901").unwrap())
        .unwrap();
    assert_eq!(statement.disbursed, expected);
    assert!(page.contains("<th scope=\"row\" colspan=\"7\">Total disbursed, all "));
    assert!(page.contains(&format!(
        " disbursements</th><td class=\"num\" data-label=\"Amount in EUR\">{}</td>",
        expected.grouped()
    )));
    assert!(page.contains(&format!("EUR {}", expected.grouped())));
    assert!(page.contains("Money of donor EUROL by activity, in EUR"));
    assert!(page.contains("Money of donor EUROL by fiscal year, in EUR"));
    assert!(page.contains("<th scope=\"row\" class=\"code\">PART-03</th>"));
    assert!(page.contains("<th scope=\"row\" class=\"code\">2016</th>"));
    assert!(page.contains("<th scope=\"col\" class=\"num\">Amount in EUR</th>"));
    // The chart names what it shows and its unit.
    assert_eq!(page.matches("<svg").count(), 1);
    assert!(page.contains("Allocated and disbursed by fiscal year, donor EUROL (EUR)"));
    assert!(page.contains("Amount (EUR)"));
    assert!(
        !page.contains("Log a disbursement"),
        "a donor has no write link"
    );
}

#[rocket::async_test]
async fn each_part_of_the_donor_statement_downloads_as_the_statement_csv() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    record_eu_disbursement(&app).await;
    let statement = eurol_statement(&app).await;
    add_user(&app, "donor@embassy.example", Role::Donor).await;
    app.sign_in("donor@embassy.example", PASSWORD).await;
    let (_, page) = app.page("/reports/donor?donor=EUROL").await;

    for (part, parsed) in [
        ("activity", naptrack::service::statements::Part::Activity),
        (
            "fiscal-year",
            naptrack::service::statements::Part::FiscalYear,
        ),
        (
            "disbursements",
            naptrack::service::statements::Part::Disbursements,
        ),
    ] {
        let href = format!("/reports/donor.csv?plan=NAP-2015&donor=EUROL&part={part}");
        assert!(
            page.contains(&format!("href=\"{}\"", href.replace('&', "&#38;"))),
            "{part}: {page}"
        );
        let response = app.get(&href).await;
        assert_eq!(response.status(), Status::Ok, "{part}");
        assert_eq!(
            response.content_type(),
            Some(ContentType::new("text", "csv").with_params(("charset", "utf-8")))
        );
        let disposition = response
            .headers()
            .get_one("Content-Disposition")
            .unwrap()
            .to_owned();
        assert_eq!(
            disposition,
            format!("attachment; filename=\"statement-NAP-2015-EUROL-{part}.csv\"")
        );
        let mut expected = Vec::new();
        naptrack::service::statements::write_csv(&statement, parsed, &mut expected).unwrap();
        assert_eq!(
            response.into_bytes().await.unwrap(),
            expected,
            "{part}: the same bytes as the command line and the API"
        );
    }
    let disbursements = app
        .get("/reports/donor.csv?donor=EUROL&part=disbursements")
        .await
        .into_string()
        .await
        .unwrap();
    assert!(
        disbursements.contains(
            "\nWEB-EU-1,2016-05-02,BL-2016-004,PART-03,EU-2016,1234567.8901,EUR,1234567.8901,,Hotline campaign\n"
        ),
        "{disbursements}"
    );
}

#[rocket::async_test]
async fn a_funding_source_statement_shows_only_that_source() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, "auditor@court.example", Role::Auditor).await;
    app.sign_in("auditor@court.example", PASSWORD).await;

    let (status, page) = app.page("/reports/donor?funding_source=PG-2015").await;

    assert_eq!(status, Status::Ok, "{page}");
    assert!(page.contains("<h1>Donor statement: funding source PG-2015</h1>"));
    let source =
        |code: &str| format!("<td class=\"code\" data-label=\"Funding source\">{code}</td>");
    assert!(page.contains(&source("PG-2015")));
    assert!(!page.contains(&source("PG-2018")), "{page}");
    assert!(!page.contains(&source("SB")));
}

#[rocket::async_test]
async fn an_unknown_donor_or_funding_source_is_a_404_page_and_both_at_once_a_400() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, "donor@embassy.example", Role::Donor).await;
    app.sign_in("donor@embassy.example", PASSWORD).await;

    let (donor, donor_page) = app.page("/reports/donor?donor=NOBODY").await;
    let (source, source_page) = app.page("/reports/donor?funding_source=NOPE").await;
    let csv = app.page("/reports/donor.csv?donor=NOBODY").await.0;
    let (both, both_page) = app
        .page("/reports/donor?donor=PGATO&funding_source=PG-2015")
        .await;
    let bad_part = app
        .page("/reports/donor.csv?donor=PGATO&part=everything")
        .await
        .0;

    assert_eq!(donor, Status::NotFound);
    assert!(donor_page.contains("There is no donor"), "{donor_page}");
    assert!(donor_page.contains("NOBODY"));
    assert!(
        donor_page.contains("<title>404"),
        "an HTML error page: {donor_page}"
    );
    assert!(
        donor_page.contains("donor@embassy.example"),
        "the error page keeps the signed-in navigation: {donor_page}"
    );
    assert_eq!(source, Status::NotFound);
    assert!(source_page.contains("no funding source"), "{source_page}");
    assert_eq!(csv, Status::NotFound);
    assert_eq!(both, Status::BadRequest);
    assert!(both_page.contains("not both"), "{both_page}");
    assert_eq!(bad_part, Status::BadRequest);
}

#[rocket::async_test]
async fn every_response_carries_the_security_headers() {
    assert!(naptrack::headers::CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
    let app = TestApp::spawn().await;
    for uri in [
        "/login",
        "/api/v1/health",
        "/no-such-page",
        "/static/app.css",
    ] {
        let response = app.get(uri).await;
        let headers = response.headers();
        assert_eq!(
            headers.get_one("Content-Security-Policy"),
            Some(naptrack::headers::CONTENT_SECURITY_POLICY),
            "{uri}"
        );
        assert_eq!(
            headers.get_one("X-Content-Type-Options"),
            Some("nosniff"),
            "{uri}"
        );
        assert_eq!(headers.get_one("X-Frame-Options"), Some("DENY"), "{uri}");
        assert_eq!(
            headers.get_one("Referrer-Policy"),
            Some("same-origin"),
            "{uri}"
        );
    }
}

#[rocket::async_test]
async fn a_date_without_two_digit_month_and_day_is_refused_by_the_flags_page_and_the_reversal_form()
{
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, "clerk@ministry.example", Role::Recorder).await;
    app.sign_in("clerk@ministry.example", PASSWORD).await;
    let before = naptrack_export(&app).await;

    let (flags_status, flags_page) = app.page("/flags?as_of=2016-3-5").await;
    let csrf = app.page_csrf("/disbursements/D-2015-0002/reversal").await;
    let reversal = app
        .post_form(
            "/disbursements/D-2015-0002/reversal",
            &[
                ("csrf", &csrf),
                ("plan", "NAP-2015"),
                ("reason", "Paid twice"),
                ("amount", "2000.00"),
                ("date", "2015-2-1"),
            ],
        )
        .await;
    let reversal_status = reversal.status();
    let reversal_page = reversal.into_string().await.unwrap_or_default();

    assert_eq!(flags_status, Status::BadRequest);
    assert!(flags_page.contains("as_of must be a date"), "{flags_page}");
    assert!(
        flags_page.contains("is not a date; write YYYY-MM-DD, for example 2016-03-31"),
        "{flags_page}"
    );
    assert_eq!(reversal_status, Status::UnprocessableEntity);
    assert!(
        reversal_page.contains("is not a date; write YYYY-MM-DD, for example 2016-03-31"),
        "{reversal_page}"
    );
    assert_eq!(naptrack_export(&app).await, before);
}

#[rocket::async_test]
async fn the_dashboard_the_plan_and_an_activity_link_to_their_results() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, "donor@embassy.example", Role::Donor).await;
    app.sign_in("donor@embassy.example", PASSWORD).await;

    let (_, dashboard) = app.page("/dashboard").await;
    let (_, plan) = app.page("/plan").await;
    let (_, activity) = app.page("/activities/PREV-05").await;
    let (status, _scoped) = app.page("/results?plan=NAP-2015&activity=PREV-05").await;
    let (objective_status, _objective) = app.page("/results?plan=NAP-2015&objective=PROS").await;

    assert!(
        dashboard.contains("href=\"/results?plan=NAP-2015\""),
        "{dashboard}"
    );
    assert!(
        plan.contains("href=\"/results?plan=NAP-2015&#38;objective=PROS\""),
        "{plan}"
    );
    assert!(activity.contains("href=\"/results?plan=NAP-2015&#38;activity=PREV-05\""));
    assert_eq!(status, Status::Ok);
    assert_eq!(objective_status, Status::Ok);
}

#[rocket::async_test]
async fn a_bound_recorder_s_forms_offer_and_accept_only_its_institution_s_lines() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    naptrack::service::users::add_user(
        &app.db,
        "clerk@mia.example",
        Role::Recorder,
        Some("MIA"),
        Some(PASSWORD),
        "test",
    )
    .await
    .expect("the user is created");
    app.sign_in("clerk@mia.example", PASSWORD).await;
    let (status, form) = app.page("/disbursements/new").await;
    assert_eq!(status, Status::Ok);
    assert!(
        form.contains("recorder · MIA"),
        "the header names the institution"
    );
    assert!(
        form.contains("BL-2016-011"),
        "MIA's own line (PREV-01) is offered"
    );
    assert!(
        !form.contains("BL-2016-001"),
        "NCO's line (PART-01) is not offered"
    );
    let csrf = csrf_of(&form);
    let before = naptrack_export(&app).await;
    let post = |line: &'static str, reference: &'static str| {
        let app = &app;
        let csrf = csrf.clone();
        async move {
            let response = app
                .post_form(
                    "/disbursements/new",
                    &[
                        ("csrf", &csrf),
                        ("plan", "NAP-2015"),
                        ("budget_line_code", line),
                        ("reference", reference),
                        ("date", "2016-09-01"),
                        ("amount", "100.00"),
                        ("currency", "EUR"),
                        ("description", ""),
                    ],
                )
                .await;
            let status = response.status();
            (status, response.into_string().await.unwrap_or_default())
        }
    };

    let (status, page) = post("BL-2016-001", "WEB-NCO").await;
    assert_eq!(status, Status::Forbidden);
    assert!(page.contains("led by NCO, not by MIA"), "{page}");
    assert_eq!(naptrack_export(&app).await, before, "nothing is stored");

    let reversal_csrf = app.page_csrf("/disbursements/D-2016-0026/reversal").await;
    let reversal = app
        .post_form(
            "/disbursements/D-2016-0026/reversal",
            &[
                ("csrf", &reversal_csrf),
                ("plan", "NAP-2015"),
                ("reason", "paid twice"),
            ],
        )
        .await;
    assert_eq!(reversal.status(), Status::Forbidden, "NCO's payment");
    assert_eq!(naptrack_export(&app).await, before);

    let (status, _) = post("BL-2016-011", "WEB-MIA").await;
    assert_eq!(status, Status::SeeOther);
    assert!(naptrack_export(&app).await.contains("WEB-MIA,BL-2016-011"));
}

#[rocket::async_test]
async fn an_admin_changes_a_user_s_role_and_institution_on_the_users_page() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, "admin@ministry.example", Role::Admin).await;
    add_user(&app, "clerk@ministry.example", Role::Recorder).await;
    app.sign_in("admin@ministry.example", PASSWORD).await;
    let csrf = app.page_csrf("/users").await;

    let unknown = app
        .post_form(
            "/users/access",
            &[
                ("csrf", &csrf),
                ("email", "clerk@ministry.example"),
                ("role", "recorder"),
                ("institution", "NOPE"),
            ],
        )
        .await;
    assert_eq!(unknown.status(), Status::UnprocessableEntity);
    assert!(
        unknown
            .into_string()
            .await
            .unwrap_or_default()
            .contains("NOPE")
    );

    let changed = app
        .post_form(
            "/users/access",
            &[
                ("csrf", &csrf),
                ("email", "clerk@ministry.example"),
                ("role", "recorder"),
                ("institution", "MOJ"),
            ],
        )
        .await;
    assert_eq!(changed.status(), Status::SeeOther);
    let (_, users) = app.page("/users").await;
    let row = users
        .lines()
        .find(|l| l.contains("clerk@ministry.example"))
        .unwrap_or_default();
    assert!(row.contains(">MOJ</td>"), "{row}");
    let users = naptrack::service::users::list_users(&app.db).await.unwrap();
    let clerk = users.iter().find(|u| u.email == "clerk@ministry.example");
    assert_eq!(clerk.and_then(|u| u.institution.as_deref()), Some("MOJ"));
}
