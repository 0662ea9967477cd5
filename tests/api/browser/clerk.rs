//! A clerk and a donor finding things in Chromium: the search page, the disbursements page's
//! filters and pages, the obligation behind the critical flag, downloads with the session, and
//! the new pages at a laptop's and a phone's width, none wider than the window.

use naptrack::domain::Role;
use serde_json::json;

use super::{Browser, PHONE, WINDOW, browser_programs, server_with_user};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clerk_searches_filters_the_disbursements_and_opens_the_unfunded_fund() {
    let Some(programs) = browser_programs() else {
        return;
    };
    let server = server_with_user("clerk@ministry.example", Role::Recorder).await;
    let browser = Browser::open(programs, &server, "clerk").await;
    browser.sign_in("clerk@ministry.example").await;

    // The dashboard names the critical flag and leads to the obligation's years.
    browser
        .wait_for_text("main .flag-list li", "OBLIGATION_UNFUNDED")
        .await;
    browser
        .click("main .flag-list a[href^='/obligations/VCF']")
        .await;
    browser
        .wait_for_text("main h1", "State fund for compensating victims")
        .await;
    browser
        .wait_for_text("main td", "OBLIGATION_UNFUNDED")
        .await;
    browser.screenshot("obligation").await;

    // The search page finds a payee and its payments.
    browser.goto("/search").await;
    browser.fill("#search-q", "printco").await;
    browser
        .click("main form[role=search] button[type=submit]")
        .await;
    browser.wait_for_text("main h2", "Institutions").await;
    browser.screenshot("search").await;
    browser.click("main a[href^='/institutions/PRINTCO']").await;
    browser.wait_for_text("main table", "D-2019-0025").await;

    // The disbursements page: filter by payee and amount, through the form.
    browser.goto("/disbursements").await;
    browser.wait_for_text("main .pager", "of 397").await;
    browser
        .wait_for("#f-payee")
        .await
        .select_by_value("PRINTCO")
        .await
        .expect("the payee is chosen");
    browser.click("main form.filters button[type=submit]").await;
    browser.wait_for_text("main table", "D-2019-0029").await;
    let shown = browser.texts("main table tbody tr").await;
    assert!(
        shown.iter().all(|row| row.contains("PRINTCO")),
        "only PRINTCO's payments: {shown:?}"
    );
    browser.screenshot("disbursements").await;
    browser
        .click("main table a[href^='/disbursements/D-2019-0029']")
        .await;
    browser
        .wait_for_text("main h1", "Disbursement D-2019-0029")
        .await;
    browser.wait_for_text("main p", "Not reversed").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_donor_downloads_every_file_with_the_session() {
    let Some(programs) = browser_programs() else {
        return;
    };
    let server = server_with_user("donor@eu.example", Role::Donor).await;
    let browser = Browser::open(programs, &server, "downloads").await;
    browser.sign_in("donor@eu.example").await;
    browser.goto("/downloads").await;
    browser.wait_for_text("main h1", "Downloads").await;
    browser.screenshot("downloads").await;
    let hrefs: Vec<String> = {
        let mut hrefs = Vec::new();
        for link in browser.find_all("main a").await {
            if let Some(href) = link.attr("href").await.expect("an href") {
                hrefs.push(href);
            }
        }
        hrefs
    };
    assert!(hrefs.iter().any(|h| h.starts_with("/reports/iati.xml")));
    // Each file is fetched by the page itself, with the session cookie and nothing else.
    for href in hrefs.iter().filter(|h| !h.starts_with("/reports/donor?")) {
        let answer = browser
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 fetch(arguments[0], {credentials: 'same-origin'})
                   .then(r => r.text().then(t => done([r.status, r.headers.get('content-type') || '', t.slice(0, 40)])))
                   .catch(e => done([0, String(e), '']));",
                vec![json!(href)],
            )
            .await
            .expect("the download is fetched");
        let status = answer.get(0).and_then(|s| s.as_u64()).unwrap_or(0);
        let kind = answer.get(1).and_then(|s| s.as_str()).unwrap_or_default();
        assert_eq!(status, 200, "{href}: {answer:?}");
        assert!(
            kind.starts_with("text/csv") || kind.starts_with("application/xml"),
            "{href} is a file, not a page: {answer:?}"
        );
    }
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clerk_pages_fit_a_laptop_and_a_phone() {
    let Some(programs) = browser_programs() else {
        return;
    };
    let server = server_with_user("clerk@ministry.example", Role::Recorder).await;
    let browser = Browser::open(programs, &server, "clerk-widths").await;
    browser.sign_in("clerk@ministry.example").await;
    let pages = [
        ("payment-form", "/disbursements/new", "Log a disbursement"),
        ("disbursements", "/disbursements", "Disbursements"),
        ("search", "/search?q=shelter", "Search"),
        ("budget-line", "/budget-lines/BL-2016-004", "Budget line"),
        ("obligation", "/obligations/VCF", "State fund"),
        ("institution", "/institutions/MOJ", "Justice"),
        ("downloads", "/downloads", "Downloads"),
        ("import", "/import", "Import"),
    ];
    for (width, suffix) in [(WINDOW.0, "laptop"), (PHONE, "phone")] {
        browser.use_width(width).await;
        for (name, path, heading) in pages {
            browser.goto(path).await;
            browser.wait_for_text("main h1", heading).await;
            browser.assert_fits(&format!("{path} at {width} px")).await;
            browser.screenshot(&format!("{name}-{suffix}")).await;
        }
    }
    browser.close().await;
}
