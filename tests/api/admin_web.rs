//! Everything a user needs, in the web: admins manage users (add, access, password, status,
//! tokens), recorders create and edit activities, obligations, budget lines and commitments
//! with the import's rules, and the audit trail is filtered, compared and downloaded. Each
//! write is tried by the roles that may not make it, without its CSRF token and with bad
//! input: a refused write stores nothing, not even an audit entry.

use naptrack::domain::Role;
use naptrack::entity::{audit_entry, budget_line, user};
use rocket::http::Status;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

use crate::helpers::TestApp;
use crate::web::{PASSWORD, add_user};

const ADMIN: &str = "admin@ministry.example";
const CLERK: &str = "clerk@ministry.example";

async fn audit_count(app: &TestApp) -> u64 {
    audit_entry::Entity::find().count(&app.db).await.unwrap()
}

async fn user_count(app: &TestApp) -> u64 {
    user::Entity::find().count(&app.db).await.unwrap()
}

async fn last_entry(app: &TestApp) -> audit_entry::Model {
    audit_entry::Entity::find()
        .order_by_desc(audit_entry::Column::Id)
        .one(&app.db)
        .await
        .unwrap()
        .expect("an audit entry")
}

/// The text of the first `<code class="wrap secret">` of a page: a secret shown once.
fn secret_of(page: &str) -> String {
    let marker = "<code class=\"wrap secret\">";
    let start = page.find(marker).expect("a secret on the page") + marker.len();
    let end = page[start..].find('<').expect("the end of the secret") + start;
    page[start..end].to_owned()
}

/// The app with the sample plan and a signed-in admin.
async fn admin_app() -> TestApp {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, ADMIN, Role::Admin).await;
    assert_eq!(app.sign_in(ADMIN, PASSWORD).await, Status::SeeOther);
    app
}

#[rocket::async_test]
async fn an_admin_adds_a_user_with_a_generated_password_that_is_shown_once_and_works() {
    let app = admin_app().await;
    let csrf = app.page_csrf("/users").await;

    let added = app
        .post_form(
            "/users",
            &[
                ("csrf", &csrf),
                ("email", "New.Clerk@Ministry.example"),
                ("role", "recorder"),
                ("institution", "MIA"),
                ("sign_in", "generate"),
                ("password", ""),
            ],
        )
        .await;

    assert_eq!(added.status(), Status::Ok);
    let page = added.into_string().await.unwrap();
    let password = secret_of(&page);
    assert!(password.len() >= 12, "{password}");
    assert!(page.contains("User new.clerk@ministry.example added as recorder"));
    let caller = naptrack::service::users::authenticate_password(
        &app.db,
        "new.clerk@ministry.example",
        &password,
    )
    .await
    .unwrap()
    .expect("the generated password signs in");
    assert_eq!(caller.institution_code.as_deref(), Some("MIA"));
    let entry = last_entry(&app).await;
    assert_eq!(
        (entry.action.as_str(), entry.entity.as_str()),
        ("create", "user")
    );
    assert_eq!(entry.actor, format!("user:{ADMIN}"));
    assert!(!entry.details.contains(&password));
    // The user's page shows it no more.
    let (_, again) = app
        .page("/users/account?email=new.clerk%40ministry.example")
        .await;
    assert!(!again.contains(&password));
}

#[rocket::async_test]
async fn a_user_of_tokens_only_gets_a_first_token_and_no_password() {
    let app = admin_app().await;
    let csrf = app.page_csrf("/users").await;

    let added = app
        .post_form(
            "/users",
            &[
                ("csrf", &csrf),
                ("email", "sync@treasury.example"),
                ("role", "recorder"),
                ("institution", ""),
                ("sign_in", "none"),
            ],
        )
        .await;

    assert_eq!(added.status(), Status::Ok);
    let token = secret_of(&added.into_string().await.unwrap());
    assert!(token.starts_with("napt_"), "{token}");
    let caller = naptrack::service::users::authenticate_token(&app.db, &token)
        .await
        .unwrap();
    assert_eq!(
        caller.map(|c| c.email).as_deref(),
        Some("sync@treasury.example")
    );
    let info = naptrack::service::users::user_info(&app.db, "sync@treasury.example")
        .await
        .unwrap();
    assert!(!info.has_password);
}

#[rocket::async_test]
async fn a_refused_new_user_names_each_field_and_stores_nothing() {
    let app = admin_app().await;
    let csrf = app.page_csrf("/users").await;
    let (users, entries) = (user_count(&app).await, audit_count(&app).await);

    let refused = app
        .post_form(
            "/users",
            &[
                ("csrf", &csrf),
                ("email", "not an email"),
                ("role", "recorder"),
                ("institution", "NOPE"),
                ("sign_in", "password"),
                ("password", "short"),
            ],
        )
        .await;

    assert_eq!(refused.status(), Status::UnprocessableEntity);
    let page = refused.into_string().await.unwrap();
    assert!(page.contains("<title>Error: "), "{page}");
    assert!(page.contains("class=\"error-summary"));
    assert!(page.contains("href=\"#new-email\""));
    assert!(page.contains("href=\"#new-password\""));
    assert!(page.contains("href=\"#new-institution\""));
    assert!(page.contains("at least 12 characters"));
    assert!(page.contains("NOPE"));
    assert!(page.contains("value=\"not an email\""), "the input is kept");
    assert_eq!(user_count(&app).await, users);
    assert_eq!(audit_count(&app).await, entries);

    let taken = app
        .post_form(
            "/users",
            &[
                ("csrf", &csrf),
                ("email", ADMIN),
                ("role", "donor"),
                ("sign_in", "none"),
            ],
        )
        .await;
    assert_eq!(taken.status(), Status::Conflict);
    assert!(
        taken
            .into_string()
            .await
            .unwrap()
            .contains("already exists")
    );
    assert_eq!(user_count(&app).await, users);
    assert_eq!(audit_count(&app).await, entries);
}

#[rocket::async_test]
async fn only_an_admin_with_the_form_s_token_manages_users() {
    let app = admin_app().await;
    add_user(&app, CLERK, Role::Recorder).await;
    let (users, entries) = (user_count(&app).await, audit_count(&app).await);
    let new_user = |csrf| {
        vec![
            ("csrf", csrf),
            ("email", "intruder@ministry.example"),
            ("role", "admin"),
            ("sign_in", "none"),
        ]
    };

    let without_token = app.post_form("/users", &new_user("")).await.status();
    let forged_token = app.post_form("/users", &new_user("forged")).await.status();
    let no_password_reset = app
        .post_form(
            "/users/password",
            &[("csrf", ""), ("email", CLERK), ("mode", "generate")],
        )
        .await
        .status();
    assert_eq!(without_token, Status::Forbidden);
    assert_eq!(forged_token, Status::Forbidden);
    assert_eq!(no_password_reset, Status::Forbidden);

    // A recorder, with a valid token of their own.
    app.sign_in(CLERK, PASSWORD).await;
    let clerk_csrf = app.page_csrf("/dashboard").await;
    let as_recorder = app
        .post_form("/users", &new_user(&clerk_csrf))
        .await
        .status();
    let disable = app
        .post_form(
            "/users/status",
            &[
                ("csrf", &clerk_csrf),
                ("email", ADMIN),
                ("action", "disable"),
            ],
        )
        .await
        .status();
    let page = app
        .page("/users/account?email=admin%40ministry.example")
        .await
        .0;

    assert_eq!(as_recorder, Status::Forbidden);
    assert_eq!(disable, Status::Forbidden);
    assert_eq!(page, Status::Forbidden);
    assert_eq!(user_count(&app).await, users);
    assert_eq!(audit_count(&app).await, entries);
}

#[rocket::async_test]
async fn an_admin_resets_a_password_and_the_old_one_stops_working() {
    let app = admin_app().await;
    add_user(&app, CLERK, Role::Recorder).await;
    let csrf = app.page_csrf("/users").await;

    let short = app
        .post_form(
            "/users/password",
            &[
                ("csrf", &csrf),
                ("email", CLERK),
                ("mode", "password"),
                ("password", "too short"),
            ],
        )
        .await;
    assert_eq!(short.status(), Status::UnprocessableEntity);
    let page = short.into_string().await.unwrap();
    assert!(page.contains("href=\"#password-password\""), "{page}");
    assert!(
        naptrack::service::users::authenticate_password(&app.db, CLERK, PASSWORD)
            .await
            .unwrap()
            .is_some(),
        "a refused reset changes nothing"
    );

    let reset = app
        .post_form(
            "/users/password",
            &[("csrf", &csrf), ("email", CLERK), ("mode", "generate")],
        )
        .await;

    assert_eq!(reset.status(), Status::Ok);
    let page = reset.into_string().await.unwrap();
    let password = secret_of(&page);
    assert!(page.contains("web session(s) ended"));
    let users = naptrack::service::users::authenticate_password;
    assert!(users(&app.db, CLERK, PASSWORD).await.unwrap().is_none());
    assert!(users(&app.db, CLERK, &password).await.unwrap().is_some());
    let entry = last_entry(&app).await;
    assert_eq!(
        (entry.action.as_str(), entry.entity_key.as_str()),
        ("update", CLERK)
    );
    assert!(!entry.details.contains(&password));
}

#[rocket::async_test]
async fn a_disabled_user_cannot_sign_in_nor_use_a_token_until_enabled() {
    let app = admin_app().await;
    let (_, token) = naptrack::service::users::add_user(
        &app.db,
        CLERK,
        Role::Recorder,
        None,
        Some(PASSWORD),
        "test",
    )
    .await
    .unwrap();
    let csrf = app.page_csrf("/users").await;

    let disabled = app
        .post_form(
            "/users/status",
            &[("csrf", &csrf), ("email", CLERK), ("action", "disable")],
        )
        .await
        .status();

    assert_eq!(disabled, Status::SeeOther);
    let auth = naptrack::service::users::authenticate_password(&app.db, CLERK, PASSWORD);
    assert!(auth.await.unwrap().is_none());
    let by_token = naptrack::service::users::authenticate_token(&app.db, &token);
    assert!(by_token.await.unwrap().is_none());
    let (_, page) = app
        .page("/users/account?email=clerk%40ministry.example")
        .await;
    assert!(page.contains("is disabled"), "{page}");
    assert!(page.contains("Enable the user"));
    assert_eq!(last_entry(&app).await.action, "disable");

    let enabled = app
        .post_form(
            "/users/status",
            &[("csrf", &csrf), ("email", CLERK), ("action", "enable")],
        )
        .await
        .status();
    assert_eq!(enabled, Status::SeeOther);
    let auth = naptrack::service::users::authenticate_password(&app.db, CLERK, PASSWORD);
    assert!(auth.await.unwrap().is_some());
}

#[rocket::async_test]
async fn an_admin_cannot_disable_themselves_nor_demote_the_last_admin() {
    let app = admin_app().await;
    let csrf = app.page_csrf("/users").await;
    let entries = audit_count(&app).await;

    let own = app
        .post_form(
            "/users/status",
            &[("csrf", &csrf), ("email", ADMIN), ("action", "disable")],
        )
        .await;
    assert_eq!(own.status(), Status::Conflict);
    assert!(
        own.into_string()
            .await
            .unwrap()
            .contains("your own account")
    );

    let demoted = app
        .post_form(
            "/users/access",
            &[
                ("csrf", &csrf),
                ("email", ADMIN),
                ("role", "auditor"),
                ("institution", ""),
            ],
        )
        .await;
    assert_eq!(demoted.status(), Status::Conflict);
    assert!(
        demoted
            .into_string()
            .await
            .unwrap()
            .contains("last active admin")
    );
    assert_eq!(audit_count(&app).await, entries);
    let info = naptrack::service::users::user_info(&app.db, ADMIN)
        .await
        .unwrap();
    assert_eq!((info.role, info.disabled), (Role::Admin, false));
}

#[rocket::async_test]
async fn a_donor_is_bound_to_its_donor_institution_and_its_statement_opens_on_it() {
    let app = admin_app().await;
    add_user(&app, "donor@partner.example", Role::Donor).await;
    let csrf = app.page_csrf("/users").await;
    let bind = |institution| {
        vec![
            ("csrf", csrf.as_str()),
            ("email", "donor@partner.example"),
            ("role", "donor"),
            ("institution", institution),
        ]
    };

    let refused = app.post_form("/users/access", &bind("MOJ")).await;
    assert_eq!(refused.status(), Status::UnprocessableEntity);
    assert!(
        refused
            .into_string()
            .await
            .unwrap()
            .contains("not the donor of any funding source")
    );
    let bound = app.post_form("/users/access", &bind("PGATO")).await;
    assert_eq!(bound.status(), Status::SeeOther);

    app.sign_in("donor@partner.example", PASSWORD).await;
    let (status, statement) = app.page("/reports/donor").await;
    assert_eq!(status, Status::Ok);
    assert!(statement.contains("donor PGATO"), "{statement}");
}

#[rocket::async_test]
async fn a_long_users_list_is_paged_and_searched() {
    let app = admin_app().await;
    for i in 0..60 {
        let email = format!("clerk{i:02}@ministry.example");
        naptrack::service::users::add_user(&app.db, &email, Role::Recorder, None, None, "test")
            .await
            .unwrap();
    }

    let (_, first) = app.page("/users").await;
    let (_, second) = app.page("/users?offset=50").await;
    let (_, found) = app.page("/users?q=clerk07").await;

    assert!(first.contains("Users 1 to 50 of 61."), "{first}");
    assert!(first.contains("href=\"/users?offset=50\""));
    assert!(second.contains("Users 51 to 61 of 61."));
    assert!(found.contains("clerk07@ministry.example"));
    assert!(!found.contains("clerk08@ministry.example"));
}

// Record forms.

fn budget_line_form<'a>(
    csrf: &'a str,
    code: &'a str,
    activity: &'a str,
    amount: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("plan", "NAP-2015"),
        ("mode", "new"),
        ("code", code),
        ("activity_code", activity),
        ("funding_source_code", "SB"),
        ("fiscal_year", "2017"),
        ("category", "goods_and_services"),
        ("amount", amount),
        ("currency", "EUR"),
        ("obligation_code", ""),
    ]
}

async fn budget_line_exists(app: &TestApp, code: &str) -> bool {
    budget_line::Entity::find()
        .filter(budget_line::Column::Code.eq(code))
        .one(&app.db)
        .await
        .unwrap()
        .is_some()
}

#[rocket::async_test]
async fn a_recorder_creates_and_edits_a_budget_line_through_the_form_with_the_import_s_rules() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, CLERK, Role::Recorder).await;
    app.sign_in(CLERK, PASSWORD).await;
    let (status, form) = app
        .page("/records/budget-lines/new?plan=NAP-2015&activity=PREV-01")
        .await;
    assert_eq!(status, Status::Ok);
    let csrf = crate::web::csrf_of(&form);
    let entries = audit_count(&app).await;

    let bad = app
        .post_form(
            "/records/budget-lines",
            &budget_line_form(&csrf, "BL-WEB-1", "PREV-01", "12,50"),
        )
        .await;
    assert_eq!(bad.status(), Status::UnprocessableEntity);
    let page = bad.into_string().await.unwrap();
    assert!(page.contains("<title>Error: "));
    assert!(page.contains("href=\"#field-amount\""), "{page}");
    assert!(page.contains("value=\"12,50\""), "the input is kept");
    assert!(!budget_line_exists(&app, "BL-WEB-1").await);
    assert_eq!(audit_count(&app).await, entries);

    let unknown = app
        .post_form(
            "/records/budget-lines",
            &budget_line_form(&csrf, "BL-WEB-1", "NOPE-99", "1250.00"),
        )
        .await;
    assert_eq!(unknown.status(), Status::UnprocessableEntity);
    assert!(
        unknown
            .into_string()
            .await
            .unwrap()
            .contains("href=\"#field-activity_code\"")
    );

    let created = app
        .post_form(
            "/records/budget-lines",
            &budget_line_form(&csrf, "BL-WEB-1", "PREV-01", "1250.00"),
        )
        .await;
    assert_eq!(created.status(), Status::SeeOther);
    assert!(budget_line_exists(&app, "BL-WEB-1").await);
    let entry = last_entry(&app).await;
    assert_eq!(
        (
            entry.action.as_str(),
            entry.entity.as_str(),
            entry.entity_key.as_str()
        ),
        ("create", "budget-lines", "NAP-2015/BL-WEB-1")
    );
    assert_eq!(entry.actor, format!("user:{CLERK}"));

    let again = app
        .post_form(
            "/records/budget-lines",
            &budget_line_form(&csrf, "BL-WEB-1", "PREV-01", "1250.00"),
        )
        .await;
    assert_eq!(
        again.status(),
        Status::Conflict,
        "a new record's key is new"
    );

    let mut edit = budget_line_form(&csrf, "BL-WEB-1", "PREV-01", "2500.00");
    edit[2] = ("mode", "edit");
    let edited = app.post_form("/records/budget-lines", &edit).await;
    assert_eq!(edited.status(), Status::SeeOther);
    let (_, form) = app
        .page("/records/budget-lines/edit?plan=NAP-2015&key=BL-WEB-1")
        .await;
    assert!(
        form.contains("value=\"2500.0000\"") || form.contains("value=\"2500.00\""),
        "{form}"
    );
    let entry = last_entry(&app).await;
    assert_eq!(entry.action, "update");
    assert!(entry.details.contains("\"before\""));

    // The audit trail shows the change side by side (an admin reads it).
    add_user(&app, ADMIN, Role::Admin).await;
    app.sign_in(ADMIN, PASSWORD).await;
    let (_, trail) = app.page("/audit?key=BL-WEB-1").await;
    assert!(trail.contains("Matching entries 1 to 2 of 2."), "{trail}");
    assert!(trail.contains(
            "class=\"before\" data-label=\"Before\">1250.00</td><td class=\"after\" data-label=\"After\">2500.00</td>"
        ), "{trail}");
    assert!(trail.contains("href=\"/budget-lines/BL-WEB-1?plan=NAP-2015\""));
}

#[rocket::async_test]
async fn a_bound_recorder_writes_only_for_the_activities_its_institution_leads() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    naptrack::service::users::add_user(
        &app.db,
        CLERK,
        Role::Recorder,
        Some("MIA"),
        Some(PASSWORD),
        "test",
    )
    .await
    .unwrap();
    app.sign_in(CLERK, PASSWORD).await;
    let (_, form) = app.page("/records/budget-lines/new?plan=NAP-2015").await;
    assert!(form.contains("PREV-01 ·"), "its own activity is offered");
    assert!(!form.contains("PREV-02 ·"), "another institution's is not");
    let csrf = crate::web::csrf_of(&form);
    let entries = audit_count(&app).await;

    let other = app
        .post_form(
            "/records/budget-lines",
            &budget_line_form(&csrf, "BL-WEB-2", "PREV-02", "100.00"),
        )
        .await;
    let activities = app.page("/records/activities/new?plan=NAP-2015").await.0;
    let own = app
        .post_form(
            "/records/budget-lines",
            &budget_line_form(&csrf, "BL-WEB-3", "PREV-01", "100.00"),
        )
        .await
        .status();

    assert_eq!(other.status(), Status::Forbidden);
    assert!(!budget_line_exists(&app, "BL-WEB-2").await);
    assert_eq!(activities, Status::Forbidden);
    assert_eq!(own, Status::SeeOther);
    assert_eq!(audit_count(&app).await, entries + 1);
}

#[rocket::async_test]
async fn donors_and_auditors_get_no_record_form_and_no_write() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, "donor@partner.example", Role::Donor).await;
    app.sign_in("donor@partner.example", PASSWORD).await;
    let csrf = app.page_csrf("/dashboard").await;
    let entries = audit_count(&app).await;

    let form = app.page("/records/budget-lines/new?plan=NAP-2015").await.0;
    let list = app.page("/records/commitments?plan=NAP-2015").await.0;
    let write = app
        .post_form(
            "/records/budget-lines",
            &budget_line_form(&csrf, "BL-WEB-4", "PREV-01", "100.00"),
        )
        .await
        .status();
    let unknown_kind = app.page("/records/disbursements/new").await.0;
    // The record's page, which the audit trail links to, is for every reader.
    let home = app
        .get("/records/commitments/at?plan=NAP-2015&key=C-2015-001")
        .await;

    assert_eq!(form, Status::Forbidden);
    assert_eq!(list, Status::Forbidden);
    assert_eq!(write, Status::Forbidden);
    assert_eq!(unknown_kind, Status::NotFound);
    assert_eq!(home.status(), Status::SeeOther);
    assert_eq!(
        home.headers().get_one("Location"),
        Some("/activities/PROT-04?plan=NAP-2015")
    );
    assert!(!budget_line_exists(&app, "BL-WEB-4").await);
    assert_eq!(audit_count(&app).await, entries);
}

#[rocket::async_test]
async fn a_recorder_creates_an_activity_an_obligation_and_a_commitment_through_the_forms() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, CLERK, Role::Recorder).await;
    app.sign_in(CLERK, PASSWORD).await;
    let csrf = app.page_csrf("/records/activities/new?plan=NAP-2015").await;
    let post = |kind: &'static str, fields: Vec<(&'static str, &'static str)>| {
        let mut all: Vec<(&str, &str)> = vec![
            ("csrf", csrf.as_str()),
            ("plan", "NAP-2015"),
            ("mode", "new"),
        ];
        all.extend(fields);
        let app = &app;
        async move {
            app.post_form(&format!("/records/{kind}"), &all)
                .await
                .status()
        }
    };

    let activity = post(
        "activities",
        vec![
            ("code", "PREV-WEB"),
            ("title", "Hotline for migrant workers"),
            ("objective_code", "PREV.1"),
            ("lead_institution_code", "MIA"),
            ("start_date", "2017-01-01"),
            ("end_date", "2018-12-31"),
            ("status", "planned"),
            ("sector_code", "15180"),
        ],
    )
    .await;
    let ends_before_it_starts = post(
        "activities",
        vec![
            ("code", "PREV-WEB2"),
            ("title", "Backwards"),
            ("objective_code", "PREV.1"),
            ("lead_institution_code", "MIA"),
            ("start_date", "2018-01-01"),
            ("end_date", "2017-12-31"),
            ("status", "planned"),
            ("sector_code", ""),
        ],
    )
    .await;
    let obligation = post(
        "obligations",
        vec![
            ("code", "HOTLINE"),
            ("title", "A hotline by law"),
            ("legal_basis", "Law No. 04/L-218, Article 12"),
            ("institution_code", "MIA"),
            ("activity_code", "PREV-WEB"),
            ("in_force_from", "2017-01-01"),
            ("annual_minimum", "20000.00"),
            ("currency", "EUR"),
        ],
    )
    .await;
    let commitment = post(
        "commitments",
        vec![
            ("reference", "C-WEB-1"),
            ("funding_source_code", "SB"),
            ("activity_code", "PREV-WEB"),
            ("date", "2017-02-01"),
            ("due_date", ""),
            ("amount", "20000.00"),
            ("currency", "EUR"),
        ],
    )
    .await;

    assert_eq!(activity, Status::SeeOther);
    assert_eq!(ends_before_it_starts, Status::UnprocessableEntity);
    assert_eq!(obligation, Status::SeeOther);
    assert_eq!(commitment, Status::SeeOther);
    let entities: Vec<String> = audit_entry::Entity::find()
        .filter(audit_entry::Column::Actor.eq(format!("user:{CLERK}")))
        .order_by_asc(audit_entry::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.entity)
        .collect();
    assert_eq!(entities, ["activities", "obligations", "commitments"]);
}

// The audit trail.

#[rocket::async_test]
async fn the_audit_trail_filters_lists_an_import_s_records_and_downloads_as_csv() {
    let app = admin_app().await;
    add_user(&app, CLERK, Role::Recorder).await;
    naptrack::service::users::set_password(
        &app.db,
        CLERK,
        "another good password",
        &format!("user:{ADMIN}"),
    )
    .await
    .unwrap();

    let (status, by_actor) = app.page("/audit?actor=admin%40ministry.example").await;
    assert_eq!(status, Status::Ok);
    assert!(
        by_actor.contains("Matching entries 1 to 1 of 1."),
        "{by_actor}"
    );
    assert!(by_actor.contains("clerk@ministry.example"));

    let (_, imports) = app.page("/audit?entity=budget-lines").await;
    assert!(imports.contains("record(s) written"), "{imports}");
    let import = audit_entry::Entity::find()
        .filter(audit_entry::Column::Action.eq("import"))
        .filter(audit_entry::Column::Entity.eq("budget-lines"))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the samples' import");
    let (status, entry) = app.page(&format!("/audit/{}", import.id)).await;
    assert_eq!(status, Status::Ok);
    assert!(entry.contains("Records this entry wrote"));
    assert!(
        entry.contains("href=\"/budget-lines/BL-2015-001?plan=NAP-2015\""),
        "{entry}"
    );
    assert!(entry.contains("next\""), "a long import is paged");

    let (bad_status, bad) = app.page("/audit?from=2026-02-30").await;
    assert_eq!(bad_status, Status::BadRequest);
    assert!(bad.contains("href=\"#audit-from\""));

    let csv = app.get("/audit.csv?actor=admin%40ministry.example").await;
    assert_eq!(csv.status(), Status::Ok);
    assert_eq!(
        csv.headers().get_one("Content-Type"),
        Some("text/csv; charset=utf-8")
    );
    let body = csv.into_string().await.unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines.len(), 2, "{body}");
    assert!(lines[0].starts_with("sequence,recorded_at,actor,action,entity,key,details"));
    assert!(lines[1].contains("user:admin@ministry.example,update,user,clerk@ministry.example"));

    app.sign_in(CLERK, "another good password").await;
    assert_eq!(app.page("/audit").await.0, Status::Forbidden);
    assert_eq!(app.get("/audit.csv").await.status(), Status::Forbidden);
}

#[tokio::test]
async fn the_command_line_disables_and_enables_a_user_and_binds_a_donor_to_its_donor() {
    use crate::helpers::{TestDb, import_samples_into, naptrack, stderr, stdout};
    let db = TestDb::new().await;
    import_samples_into(&db.connect().await).await;
    let add = naptrack(
        &db,
        &["user", "add", "donor@partner.example", "--role", "donor"],
    );
    assert!(add.status.success(), "{}", stderr(&add));

    let not_a_donor = naptrack(
        &db,
        &[
            "user",
            "set",
            "donor@partner.example",
            "--institution",
            "MOJ",
        ],
    );
    let bound = naptrack(
        &db,
        &[
            "user",
            "set",
            "donor@partner.example",
            "--institution",
            "PGATO",
        ],
    );
    let disabled = naptrack(&db, &["user", "disable", "donor@partner.example"]);
    let listed = stdout(&naptrack(&db, &["user", "list"]));
    let enabled = naptrack(&db, &["user", "enable", "donor@partner.example"]);
    let listed_again = stdout(&naptrack(&db, &["user", "list"]));

    assert!(!not_a_donor.status.success());
    assert!(
        stderr(&not_a_donor).contains("not the donor of any funding source"),
        "{}",
        stderr(&not_a_donor)
    );
    assert!(bound.status.success(), "{}", stderr(&bound));
    assert!(disabled.status.success(), "{}", stderr(&disabled));
    let row = |list: &str| {
        list.lines()
            .find(|l| l.starts_with("donor@partner.example"))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(row(&listed).contains("PGATO"), "{listed}");
    assert!(row(&listed).ends_with("disabled"), "{listed}");
    assert!(enabled.status.success(), "{}", stderr(&enabled));
    assert!(row(&listed_again).ends_with("active"), "{listed_again}");
}
