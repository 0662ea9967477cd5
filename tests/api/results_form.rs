//! The form that enters or corrects one fiscal year's target and actual of an indicator
//! (`/results/values`), through the web UI with a session like `web.rs`: who may use it, CSRF,
//! the importer's rules and messages, and that a refused write stores nothing.

use naptrack::domain::Role;
use naptrack::domain::records::RecordKind;
use naptrack::entity::plan;
use naptrack::money::Quantity;
use naptrack::service::import::{ImportOptions, write_record};
use rocket::http::Status;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::helpers::TestApp;
use crate::web::{PASSWORD, add_user, csrf_of};

const CALLS_2017: &str = "/results/values?plan=NAP-2015&indicator=IND-CALLS&fiscal_year=2017";

/// The stored target and actual of one sample indicator's fiscal year, as text.
async fn stored_values(app: &TestApp, indicator: &str, fiscal_year: i32) -> (String, String) {
    let plan = plan::Entity::find()
        .filter(plan::Column::Code.eq("NAP-2015"))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the sample plan");
    let (_, value) =
        naptrack::service::results::indicator_year(&app.db, &plan, indicator, fiscal_year)
            .await
            .expect("the indicator exists");
    let text = |q: Option<Quantity>| q.map(|q| q.to_string()).unwrap_or_default();
    value.map_or_else(Default::default, |v| (text(v.target), text(v.actual)))
}

/// A message as askama shows it in a page.
fn html_escaped(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

async fn sign_out(app: &TestApp) {
    let csrf = app.page_csrf("/").await;
    app.post_form("/logout", &[("csrf", &csrf)]).await;
}

/// The importer's message about `column` for one indicator-values record, written without
/// the form.
async fn importer_message(app: &TestApp, fields: &[(&str, &str)], column: &str) -> String {
    let record: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let options = ImportOptions {
        dry_run: true,
        ..Default::default()
    };
    let error = write_record(&app.db, RecordKind::IndicatorValues, &record, &options)
        .await
        .expect_err("the importer refuses the record");
    error
        .details()
        .iter()
        .find(|e| e.column == column)
        .unwrap_or_else(|| panic!("an error about {column}: {error:?}"))
        .message
        .clone()
}

#[rocket::async_test]
async fn the_results_page_links_each_year_to_the_form_for_those_who_may_write() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    for (email, role, may_record) in [
        ("admin@ministry.example", Role::Admin, true),
        ("clerk@ministry.example", Role::Recorder, true),
        ("donor@embassy.example", Role::Donor, false),
        ("auditor@court.example", Role::Auditor, false),
    ] {
        add_user(&app, email, role).await;
        app.sign_in(email, PASSWORD).await;

        let (status, page) = app.page("/results").await;

        assert_eq!(status, Status::Ok, "{role}");
        assert_eq!(
            page.contains(
                "href=\"/results/values?plan=NAP-2015&#38;indicator=IND-CALLS&#38;fiscal_year=2017\""
            ),
            may_record,
            "{role}: the link to the form"
        );
        assert_eq!(page.contains("Enter or correct"), may_record, "{role}");
        sign_out(&app).await;
    }
}

#[rocket::async_test]
async fn the_form_is_prefilled_with_the_stored_values_and_an_unknown_indicator_is_404() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, "clerk@ministry.example", Role::Recorder).await;
    app.sign_in("clerk@ministry.example", PASSWORD).await;

    let (status, form) = app.page(CALLS_2017).await;
    let (unknown, _) = app
        .page("/results/values?plan=NAP-2015&indicator=IND-NOPE&fiscal_year=2017")
        .await;
    let (unknown_plan, _) = app
        .page("/results/values?plan=NOPE&indicator=IND-CALLS&fiscal_year=2017")
        .await;

    assert_eq!(status, Status::Ok);
    assert!(form.contains("IND-CALLS"), "{form}");
    assert!(
        form.contains(
            "id=\"target\" name=\"target\" type=\"text\" inputmode=\"decimal\" value=\"1450\""
        ),
        "{form}"
    );
    assert!(
        form.contains(
            "id=\"actual\" name=\"actual\" type=\"text\" inputmode=\"decimal\" value=\"1096\""
        ),
        "{form}"
    );
    assert!(form.contains("name=\"csrf\""));
    assert_eq!(unknown, Status::NotFound);
    assert_eq!(unknown_plan, Status::NotFound);
}

#[rocket::async_test]
async fn the_form_is_refused_without_the_csrf_token_and_to_donors_and_auditors() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    let fields = [
        ("plan", "NAP-2015"),
        ("indicator", "IND-CALLS"),
        ("fiscal_year", "2017"),
        ("target", "1450"),
        ("actual", "9999"),
    ];
    add_user(&app, "clerk@ministry.example", Role::Recorder).await;
    app.sign_in("clerk@ministry.example", PASSWORD).await;
    let without_csrf = app.post_form("/results/values", &fields).await.status();
    let mut wrong_csrf = vec![("csrf", "not-the-token")];
    wrong_csrf.extend(fields);
    let wrong_csrf = app.post_form("/results/values", &wrong_csrf).await.status();
    sign_out(&app).await;

    let mut refused = Vec::new();
    for (email, role) in [
        ("donor@embassy.example", Role::Donor),
        ("auditor@court.example", Role::Auditor),
    ] {
        add_user(&app, email, role).await;
        app.sign_in(email, PASSWORD).await;
        let csrf = app.page_csrf("/results").await;
        let form = app.page(CALLS_2017).await.0;
        let mut with_csrf = vec![("csrf", csrf.as_str())];
        with_csrf.extend(fields);
        let post = app.post_form("/results/values", &with_csrf).await.status();
        refused.push((role, form, post));
        sign_out(&app).await;
    }

    assert_eq!(without_csrf, Status::Forbidden);
    assert_eq!(wrong_csrf, Status::Forbidden);
    for (role, form, post) in refused {
        assert_eq!(form, Status::Forbidden, "{role}");
        assert_eq!(post, Status::Forbidden, "{role}");
    }
    assert_eq!(
        stored_values(&app, "IND-CALLS", 2017).await,
        ("1450".to_owned(), "1096".to_owned())
    );
}

#[rocket::async_test]
async fn a_bad_value_shows_the_importer_s_message_beside_its_field_keeps_the_input_and_stores_nothing()
 {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, "clerk@ministry.example", Role::Recorder).await;
    app.sign_in("clerk@ministry.example", PASSWORD).await;
    let csrf = csrf_of(&app.page(CALLS_2017).await.1);
    // A decimal comma in the actual of a unit indicator; a share above 100 % in the target of
    // a percentage indicator; five fraction digits.
    for (indicator, target, actual, column) in [
        ("IND-CALLS", "1450", "1096,5", "actual"),
        ("IND-SHELTER", "100.5", "70", "target"),
        ("IND-CALLS", "1450", "1096.00001", "actual"),
    ] {
        let (before_target, before_actual) = stored_values(&app, indicator, 2017).await;
        let message = importer_message(
            &app,
            &[
                ("plan_code", "NAP-2015"),
                ("indicator_code", indicator),
                ("fiscal_year", "2017"),
                ("target", target),
                ("actual", actual),
            ],
            column,
        )
        .await;

        let response = app
            .post_form(
                "/results/values",
                &[
                    ("csrf", &csrf),
                    ("plan", "NAP-2015"),
                    ("indicator", indicator),
                    ("fiscal_year", "2017"),
                    ("target", target),
                    ("actual", actual),
                ],
            )
            .await;

        assert_eq!(
            response.status(),
            Status::UnprocessableEntity,
            "{indicator}"
        );
        let page = response.into_string().await.unwrap();
        let beside = format!(
            "<p class=\"field-error\" id=\"{column}-error\">{}</p>",
            html_escaped(&message)
        );
        assert!(page.contains(&beside), "{beside}: {page}");
        assert!(
            page.contains(&format!("value=\"{target}\"")),
            "the target is kept"
        );
        assert!(
            page.contains(&format!("value=\"{actual}\"")),
            "the actual is kept"
        );
        assert_eq!(
            stored_values(&app, indicator, 2017).await,
            (before_target, before_actual),
            "{indicator}: nothing is stored"
        );
    }
}

#[rocket::async_test]
async fn a_recorder_corrects_an_actual_and_sees_it_with_a_message_on_the_results_page() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, "clerk@ministry.example", Role::Recorder).await;
    app.sign_in("clerk@ministry.example", PASSWORD).await;
    let csrf = csrf_of(&app.page(CALLS_2017).await.1);

    let response = app
        .post_form(
            "/results/values",
            &[
                ("csrf", &csrf),
                ("plan", "NAP-2015"),
                ("indicator", "IND-CALLS"),
                ("fiscal_year", "2017"),
                ("target", " 1450 "),
                ("actual", "1402.5001"),
            ],
        )
        .await;

    assert_eq!(response.status(), Status::SeeOther);
    let location = response.headers().get_one("Location").unwrap().to_owned();
    assert_eq!(location, "/results?plan=NAP-2015#IND-CALLS");
    assert_eq!(
        stored_values(&app, "IND-CALLS", 2017).await,
        ("1450".to_owned(), "1402.5001".to_owned()),
        "the value as typed, exactly"
    );
    let (_, page) = app.page("/results?plan=NAP-2015").await;
    assert!(
        page.contains("Fiscal year 2017 of IND-CALLS stored: target 1450, actual 1402.5001."),
        "the flash message: {page}"
    );
    assert!(
        page.contains("<td class=\"num\" data-label=\"Actual\">1402.5001</td>"),
        "{page}"
    );
    // The message is shown once.
    let (_, again) = app.page("/results?plan=NAP-2015").await;
    assert!(!again.contains("stored: target"));

    // The audit trail has the correction with the value before and after.
    let admin = app.token_for("admin@example.org", Role::Admin).await;
    let audit = app.get_audit(&admin, "").await.into_string().await.unwrap();
    assert!(audit.contains("user:clerk@ministry.example"), "{audit}");
    assert!(
        audit.contains("1402.5001") && audit.contains("1096"),
        "{audit}"
    );
}

#[rocket::async_test]
async fn an_admin_enters_the_missing_actual_of_the_last_year() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, "admin@ministry.example", Role::Admin).await;
    app.sign_in("admin@ministry.example", PASSWORD).await;
    let uri = "/results/values?plan=NAP-2015&indicator=IND-SHELTER&fiscal_year=2019";
    let (status, form) = app.page(uri).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(
        stored_values(&app, "IND-SHELTER", 2019).await,
        ("85".to_owned(), String::new())
    );

    let response = app
        .post_form(
            "/results/values",
            &[
                ("csrf", &csrf_of(&form)),
                ("plan", "NAP-2015"),
                ("indicator", "IND-SHELTER"),
                ("fiscal_year", "2019"),
                ("target", "85"),
                ("actual", "83.75"),
            ],
        )
        .await;

    assert_eq!(response.status(), Status::SeeOther);
    assert_eq!(
        stored_values(&app, "IND-SHELTER", 2019).await,
        ("85".to_owned(), "83.75".to_owned())
    );
}

#[rocket::async_test]
async fn a_recorder_bound_to_an_institution_enters_values_only_of_its_activities_indicators() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    for (email, institution) in [
        ("clerk@mia.example", "MIA"),
        ("clerk@shelter-b.example", "SHELTER-B"),
    ] {
        naptrack::service::users::add_user(
            &app.db,
            email,
            Role::Recorder,
            Some(institution),
            Some(PASSWORD),
            "test",
        )
        .await
        .expect("the user is created");
    }
    let before = stored_values(&app, "IND-CALLS", 2017).await;
    let post = |email: &'static str| {
        let app = &app;
        async move {
            app.sign_in(email, PASSWORD).await;
            let csrf = app.page_csrf("/results").await;
            let status = app
                .post_form(
                    "/results/values",
                    &[
                        ("csrf", csrf.as_str()),
                        ("plan", "NAP-2015"),
                        ("indicator", "IND-CALLS"),
                        ("fiscal_year", "2017"),
                        ("target", "1500"),
                        ("actual", "1234"),
                    ],
                )
                .await
                .status();
            sign_out(app).await;
            status
        }
    };

    assert_eq!(
        post("clerk@mia.example").await,
        Status::Forbidden,
        "IND-CALLS is SHELTER-B's"
    );
    assert_eq!(
        stored_values(&app, "IND-CALLS", 2017).await,
        before,
        "nothing stored"
    );
    assert_eq!(post("clerk@shelter-b.example").await, Status::SeeOther);
    assert_eq!(
        stored_values(&app, "IND-CALLS", 2017).await,
        ("1500".to_owned(), "1234".to_owned())
    );
}
