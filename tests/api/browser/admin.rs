//! In the browser, at a laptop's and a phone's width: an admin adds a user and resets a
//! password, a recorder creates a budget line through the form, and the audit trail is
//! filtered. No page is wider than the window.

use naptrack::domain::Role;
use naptrack::entity::budget_line;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::{Browser, PHONE, WINDOW, browser_programs, server_with_user};

/// Looks at the page at both widths: it fits each, and a screenshot of each is saved.
async fn at_both_widths(browser: &Browser, page: &str) {
    for (width, suffix) in [(WINDOW.0, "laptop"), (PHONE, "phone")] {
        browser.use_width(width).await;
        browser.assert_fits(&format!("{page} at {width} px")).await;
        browser.screenshot(&format!("{page}-{suffix}")).await;
    }
    browser.use_width(WINDOW.0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_adds_a_user_and_resets_their_password_in_the_browser() {
    let Some(programs) = browser_programs() else {
        return;
    };
    let server = server_with_user("admin@ministry.example", Role::Admin).await;
    let browser = Browser::open(programs, &server, "admin-users").await;
    browser.sign_in("admin@ministry.example").await;

    browser.goto("/users").await;
    browser.wait_for_text("main h1", "Users and tokens").await;
    at_both_widths(&browser, "users").await;

    browser.fill("#new-email", "clerk@mia.example").await;
    browser.set_value("#new-role", "recorder").await;
    browser.set_value("#new-institution", "MIA").await;
    browser.click("input[name=sign_in][value=generate]").await;
    browser.click("#new-form button[type=submit]").await;
    browser
        .wait_for_text("main .ok", "User clerk@mia.example added as recorder")
        .await;
    let first = browser
        .wait_for("main code.secret")
        .await
        .text()
        .await
        .unwrap();
    assert!(first.len() >= 12, "{first}");
    at_both_widths(&browser, "user-added").await;

    browser.click("#password-form button[type=submit]").await;
    browser
        .wait_for_text("main .ok", "New password of clerk@mia.example")
        .await;
    let second = browser
        .wait_for("main code.secret")
        .await
        .text()
        .await
        .unwrap();
    assert_ne!(first, second);
    let users = naptrack::service::users::authenticate_password;
    assert!(
        users(&server.db, "clerk@mia.example", &first)
            .await
            .unwrap()
            .is_none()
    );
    let clerk = users(&server.db, "clerk@mia.example", &second)
        .await
        .unwrap();
    assert_eq!(
        clerk.and_then(|c| c.institution_code).as_deref(),
        Some("MIA")
    );
    at_both_widths(&browser, "password-reset").await;

    // A refused form says so at the top and beside its field.
    browser.goto("/users").await;
    browser.fill("#new-email", "not-an-email").await;
    browser.click("input[name=sign_in][value=none]").await;
    browser.click("#new-form button[type=submit]").await;
    browser
        .wait_for_text(".error-summary", "is not an email address")
        .await;
    let title = browser.client.title().await.unwrap();
    assert!(title.starts_with("Error: "), "{title}");
    at_both_widths(&browser, "user-refused").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorder_creates_a_budget_line_through_the_form_in_the_browser() {
    let Some(programs) = browser_programs() else {
        return;
    };
    let server = server_with_user("clerk@ministry.example", Role::Recorder).await;
    let browser = Browser::open(programs, &server, "admin-records").await;
    browser.sign_in("clerk@ministry.example").await;

    browser.goto("/activities/PREV-01?plan=NAP-2015").await;
    browser.click("a[href*='/records/budget-lines?']").await;
    browser
        .wait_for_text("main h1", "Budget lines of activity PREV-01")
        .await;
    at_both_widths(&browser, "budget-lines").await;
    browser.click("main a.button").await;
    browser.wait_for_text("main h1", "New budget line").await;
    at_both_widths(&browser, "budget-line-new").await;

    browser.fill("#field-code", "BL-BROWSER-1").await;
    browser.set_value("#field-funding_source_code", "SB").await;
    browser.fill("#field-fiscal_year", "2017").await;
    browser.fill("#field-category", "goods_and_services").await;
    browser.fill("#field-amount", "4800,00").await;
    browser.click("#record-form button[type=submit]").await;
    browser.wait_for_text(".error-summary", "Amount:").await;
    at_both_widths(&browser, "budget-line-refused").await;

    browser.fill("#field-amount", "4800.00").await;
    browser.click("#record-form button[type=submit]").await;
    browser
        .wait_for_text("main .ok", "Budget line BL-BROWSER-1 created.")
        .await;
    let stored = budget_line::Entity::find()
        .filter(budget_line::Column::Code.eq("BL-BROWSER-1"))
        .one(&server.db)
        .await
        .unwrap()
        .expect("the budget line is stored");
    assert_eq!(stored.fiscal_year, 2017);
    at_both_widths(&browser, "budget-line-created").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_trail_filters_and_compares_in_the_browser() {
    let Some(programs) = browser_programs() else {
        return;
    };
    let server = server_with_user("auditor@court.example", Role::Auditor).await;
    naptrack::service::users::add_user(
        &server.db,
        "clerk@ministry.example",
        Role::Recorder,
        None,
        None,
        "user:admin@ministry.example",
    )
    .await
    .unwrap();
    naptrack::service::users::change_access(
        &server.db,
        "clerk@ministry.example",
        naptrack::service::users::AccessChange {
            role: None,
            institution: Some(Some("MIA".to_owned())),
        },
        "user:admin@ministry.example",
    )
    .await
    .unwrap();
    let browser = Browser::open(programs, &server, "admin-audit").await;
    browser.sign_in("auditor@court.example").await;

    browser.goto("/audit").await;
    browser.wait_for_text("main h1", "Audit trail").await;
    at_both_widths(&browser, "audit").await;

    browser.fill("#audit-actor", "admin@ministry.example").await;
    browser.set_value("#audit-entity", "user").await;
    browser
        .click("main form[role=search] button[type=submit]")
        .await;
    browser
        .wait_for_text("main p", "Matching entries 1 to 2 of 2.")
        .await;
    let after = browser.texts("table.diff td.after").await;
    assert!(after.iter().any(|t| t == "MIA"), "{after:?}");
    // The optional script adds the browser's local time beside UTC.
    browser.wait_for("span.local-time").await;
    at_both_widths(&browser, "audit-filtered").await;

    browser.click("table.audit tbody th a").await;
    browser.wait_for_text("main h1", "Audit entry").await;
    at_both_widths(&browser, "audit-entry").await;
    browser.close().await;
}
