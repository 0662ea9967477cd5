//! The pages clerks, donors and auditors find things with: the flags on every page they
//! concern (the dashboard names each critical and high one), the budget line, obligation and
//! institution pages, the disbursements page with its filters and pages, the search box, and
//! the form's picker and proposed date. Through Rocket's local client, on the sample plan.

use naptrack::domain::Role;
use rocket::http::Status;

use crate::helpers::TestApp;
use crate::web::{PASSWORD, add_user};

async fn signed_in(role: Role) -> TestApp {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, "user@ministry.example", role).await;
    app.sign_in("user@ministry.example", PASSWORD).await;
    app
}

async fn ok_page(app: &TestApp, uri: &str) -> String {
    let (status, page) = app.page(uri).await;
    assert_eq!(status, Status::Ok, "{uri}: {page}");
    page
}

#[rocket::async_test]
async fn the_unfunded_victim_compensation_fund_is_named_wherever_it_belongs() {
    let app = signed_in(Role::Donor).await;
    let dashboard = ok_page(&app, "/dashboard").await;
    assert!(dashboard.contains("1 critical flag"), "{dashboard}");
    assert!(
        dashboard.contains("OBLIGATION_UNFUNDED") && dashboard.contains("obligation VCF"),
        "the dashboard names the critical flag: {dashboard}"
    );
    assert!(dashboard.contains("href=\"/obligations/VCF?plan=NAP-2015\""));

    // The fund's activity page shows the critical flag of its obligation, not only its own.
    let activity = ok_page(&app, "/activities/PROT-10").await;
    assert!(activity.contains("OBLIGATION_UNFUNDED"), "{activity}");
    assert!(activity.contains("sev-critical"));

    // The obligation's funding across every year of the plan, each year with its flags.
    let obligation = ok_page(&app, "/obligations/VCF").await;
    for year in 2015..=2019 {
        assert!(
            obligation.contains(&format!(">{year}<")),
            "{year}: {obligation}"
        );
    }
    assert!(obligation.contains("250,000.00"), "the annual minimum");
    assert!(obligation.contains("OBLIGATION_UNFUNDED (critical)"));
    let (status, _) = app.page("/obligations/NOPE").await;
    assert_eq!(status, Status::NotFound);

    // The flags page links the obligation to its page.
    let flags = ok_page(&app, "/flags?severity=critical").await;
    assert!(
        flags.contains("href=\"/obligations/VCF?plan=NAP-2015\""),
        "{flags}"
    );
}

#[rocket::async_test]
async fn a_budget_line_page_shows_what_is_left_its_flags_and_its_payments() {
    let app = signed_in(Role::Recorder).await;
    let page = ok_page(&app, "/budget-lines/BL-2016-004").await;
    assert!(page.contains("Left to pay"), "{page}");
    assert!(page.contains("17,400.00"), "the allocation: {page}");
    assert!(page.contains("PART-03"));
    assert!(
        page.contains("/disbursements/new?plan=NAP-2015&#38;line=BL-2016-004"),
        "a recorder logs a payment on this line from here: {page}"
    );
    let (status, _) = app.page("/budget-lines/NO-SUCH-LINE").await;
    assert_eq!(status, Status::NotFound);

    // On that line, the form proposes a date in the line's fiscal year (the plan has ended).
    let form = ok_page(&app, "/disbursements/new?line=BL-2016-004").await;
    assert!(
        form.contains("name=\"date\" type=\"date\" value=\"2016-12-31\""),
        "{form}"
    );
    assert!(form.contains("value=\"BL-2016-004\" selected"));
    // Without a line, a date inside the plan.
    let form = ok_page(&app, "/disbursements/new").await;
    assert!(form.contains("value=\"2019-12-31\""), "{form}");
}

#[rocket::async_test]
async fn the_picker_groups_lines_by_year_and_activity_and_its_search_narrows_it() {
    let app = signed_in(Role::Recorder).await;
    let form = ok_page(&app, "/disbursements/new").await;
    assert!(form.contains("<optgroup label=\"FY 2019"), "{form}");
    assert!(form.matches("<optgroup").count() > 20, "{form}");
    assert!(form.contains("Free 24-hour") || form.contains("PREV-05"));
    let narrowed = ok_page(&app, "/disbursements/new?find=PART-03").await;
    assert!(narrowed.contains("budget lines match"), "{narrowed}");
    assert!(narrowed.contains("BL-2016-004"));
    assert!(!narrowed.contains("value=\"BL-2015-001\""));
    // The payee is chosen by name.
    assert!(form.contains("<select id=\"payee_code\""));
    assert!(form.contains("(MOJ)"));
}

#[rocket::async_test]
async fn the_disbursements_page_filters_searches_and_pages() {
    let app = signed_in(Role::Auditor).await;
    let all = ok_page(&app, "/disbursements").await;
    assert!(all.contains("Rows 1 to 50 of 397."), "{all}");
    assert!(all.contains("rel=\"next\""));
    let second = ok_page(&app, "/disbursements?page=2").await;
    assert!(second.contains("Rows 51 to 100 of 397."), "{second}");
    let last = ok_page(&app, "/disbursements?page=99").await;
    assert!(last.contains("Rows 351 to 397 of 397."), "{last}");

    let printco = ok_page(&app, "/disbursements?payee=PRINTCO").await;
    assert!(
        printco.contains("D-2019-0025") && printco.contains("D-2019-0029"),
        "{printco}"
    );
    let range = ok_page(
        &app,
        "/disbursements?from=2015-01-01&to=2015-01-31&min=12000&max=12000",
    )
    .await;
    assert!(range.contains("D-2015-0002"), "{range}");
    assert!(!range.contains("D-2015-0001"));
    assert!(range.contains("of 1."), "{range}");
    let text = ok_page(&app, "/disbursements?q=operating%20SUBSIDY").await;
    assert!(text.contains("D-2015-0002"), "case is ignored: {text}");
    let activity = ok_page(&app, "/disbursements?activity=PART-03").await;
    assert!(activity.contains("BL-2016-004"), "{activity}");
    assert!(!activity.contains("BL-2015-036"));
    // A LIKE wildcard is a character like any other.
    let wildcard = ok_page(&app, "/disbursements?q=%25").await;
    assert!(wildcard.contains("None."), "{wildcard}");

    let (status, page) = app.page("/disbursements?from=2015-02-30").await;
    assert_eq!(status, Status::UnprocessableEntity, "{page}");
}

#[rocket::async_test]
async fn the_search_box_finds_activities_institutions_and_disbursements() {
    let app = signed_in(Role::Donor).await;
    let found = ok_page(&app, "/search?q=shelter").await;
    assert!(found.contains("SHELTER"), "{found}");
    assert!(
        found.contains("href=\"/obligations/SHELTER?plan=NAP-2015\""),
        "{found}"
    );
    assert!(
        found.contains("href=\"/disbursements/D-2015-0002?plan=NAP-2015\""),
        "{found}"
    );
    assert!(found.contains("href=\"/institutions/"), "{found}");
    let institution = ok_page(&app, "/institutions/PRINTCO").await;
    assert!(institution.contains("D-2019-0025"), "{institution}");
    let nothing = ok_page(&app, "/search?q=zzzz-nothing").await;
    assert!(nothing.contains("No match."));
}

#[rocket::async_test]
async fn the_new_pages_need_a_session() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    for uri in [
        "/disbursements",
        "/search?q=x",
        "/budget-lines/BL-2016-004",
        "/obligations/VCF",
        "/institutions/MOJ",
    ] {
        let response = app.get(uri).await;
        assert_eq!(response.status(), Status::SeeOther, "{uri}");
    }
}

#[rocket::async_test]
async fn the_import_dry_run_lists_payments_to_check_and_the_flags_the_file_would_raise() {
    let app = signed_in(Role::Recorder).await;
    let csrf = app.page_csrf("/import").await;
    // Two payments that together overspend BL-2016-004 (2,053.48 left), one dated outside
    // its line's year, one in another currency than its line's.
    let csv = "reference,budget_line_code,date,amount,currency\n\
               DRY-1,BL-2016-004,2016-06-01,2000.00,EUR\n\
               DRY-2,BL-2016-004,2016-06-02,100.00,EUR\n\
               DRY-3,BL-2016-004,2017-02-01,1.00,EUR\n";
    let boundary = "XBOUNDARYX";
    let response = app
        .client
        .post("/import/preview")
        .header(
            rocket::http::ContentType::new("multipart", "form-data")
                .with_params(("boundary", boundary)),
        )
        .body(crate::web::multipart(
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
    assert_eq!(response.status(), Status::Ok);
    let page = response.into_string().await.unwrap();
    assert!(
        page.contains("payments to check before you import"),
        "{page}"
    );
    assert!(
        page.contains(
            "Line 3, amount: EUR 100.00 is more than the EUR 53.48 left on budget line BL-2016-004"
        ),
        "the rows before count: {page}"
    );
    assert!(
        !page.contains("Line 2, amount"),
        "the first row fits: {page}"
    );
    assert!(
        page.contains("Line 4, date: the date 2017-02-01 is outside fiscal year 2016"),
        "{page}"
    );
    assert!(page.contains("Flags the file would raise"));
    assert!(
        page.contains("OVERSPENT") && page.contains("budget line BL-2016-004"),
        "the dry run names the flag the file raises: {page}"
    );
    let (_, payments) = app.page("/disbursements?q=DRY-").await;
    assert!(payments.contains("None."), "a dry run writes nothing");
}

#[rocket::async_test]
async fn every_download_works_with_the_web_session() {
    let app = signed_in(Role::Donor).await;
    let downloads = ok_page(&app, "/downloads").await;
    for href in [
        "/export/disbursements.csv?plan=NAP-2015",
        "/reports/iati.xml?plan=NAP-2015",
        "/results.csv?plan=NAP-2015",
        "/reports/execution.csv?plan=NAP-2015&#38;by=activity",
    ] {
        assert!(downloads.contains(href), "{href}: {downloads}");
    }
    for uri in [
        "/export/disbursements.csv?plan=NAP-2015",
        "/reports/iati.xml?plan=NAP-2015",
        "/results.csv?plan=NAP-2015",
        "/reports/execution.csv?plan=NAP-2015&by=activity",
        "/reports/donor.csv?plan=NAP-2015&donor=EUROL",
    ] {
        let response = app.get(uri).await;
        assert_eq!(response.status(), Status::Ok, "{uri}");
    }
    let response = app.get("/export/disbursements.csv").await;
    assert_eq!(
        response.headers().get_one("Content-Disposition"),
        Some("attachment; filename=\"NAP-2015-disbursements.csv\"")
    );
    let csv = response.into_bytes().await.unwrap();
    assert!(csv.starts_with(b"plan_code,reference,budget_line_code,"));
    assert_eq!(
        csv.iter().filter(|b| **b == b'\n').count(),
        398,
        "a header and 397 rows"
    );

    // For a spreadsheet: the same file after a UTF-8 byte-order mark.
    let excel = app
        .get("/export/institutions.csv?excel=true")
        .await
        .into_bytes()
        .await
        .unwrap();
    assert!(excel.starts_with(b"\xEF\xBB\xBFcode,name,kind"));
    let (status, _) = app.page("/export/colours.csv").await;
    assert_eq!(status, Status::NotFound);

    let template = app.get("/import/template/budget-lines.csv").await;
    assert_eq!(template.status(), Status::Ok);
    assert_eq!(
        template.into_string().await.unwrap(),
        "plan_code,code,activity_code,funding_source_code,fiscal_year,category,amount,currency,obligation_code\n"
    );

    let anonymous = TestApp::spawn().await;
    let response = anonymous.get("/export/disbursements.csv").await;
    assert_eq!(
        response.status(),
        Status::SeeOther,
        "a download needs a session"
    );
}

#[rocket::async_test]
async fn the_import_page_explains_each_kind_and_names_a_semicolon_file() {
    let app = signed_in(Role::Recorder).await;
    let page = ok_page(&app, "/import").await;
    assert!(
        page.contains("/import/template/disbursements.csv"),
        "{page}"
    );
    assert!(page.contains("Required: a date, YYYY-MM-DD."), "{page}");
    assert!(
        page.contains("Optional: the code of an existing payee."),
        "{page}"
    );

    let csrf = app.page_csrf("/import").await;
    let boundary = "XBOUNDARYX";
    let response = app
        .client
        .post("/import/preview")
        .header(
            rocket::http::ContentType::new("multipart", "form-data")
                .with_params(("boundary", boundary)),
        )
        .body(crate::web::multipart(
            boundary,
            &[
                ("csrf", &csrf),
                ("plan", "NAP-2015"),
                ("entity", "disbursements"),
            ],
            (
                "disbursements.csv",
                "reference;budget_line_code;date;amount;currency\nS-1;BL-2016-004;2016-03-01;12,50;EUR\n",
            ),
        ))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::UnprocessableEntity);
    let page = response.into_string().await.unwrap();
    assert!(page.contains("separated by semicolons"), "{page}");
}

#[rocket::async_test]
async fn a_reversed_payment_shows_its_reversals_and_offers_none_once_nothing_is_left() {
    let app = signed_in(Role::Recorder).await;
    let page = ok_page(&app, "/disbursements/D-2015-0002").await;
    assert!(page.contains("Not reversed. Left:"), "{page}");
    assert!(page.contains("Reverse this disbursement"));
    let csrf = app.page_csrf("/disbursements/D-2015-0002/reversal").await;
    let response = app
        .post_form(
            "/disbursements/D-2015-0002/reversal",
            &[
                ("csrf", &csrf),
                ("plan", "NAP-2015"),
                ("reason", "Paid twice"),
                ("amount", ""),
                ("date", "2015-01-22"),
                ("reference", "D-2015-0002-R"),
            ],
        )
        .await;
    assert_eq!(response.status(), Status::SeeOther);
    let page = ok_page(&app, "/disbursements/D-2015-0002").await;
    assert!(
        page.contains("Reversed by <a href=\"/disbursements/D-2015-0002-R"),
        "{page}"
    );
    assert!(page.contains("nothing is left to reverse"), "{page}");
    assert!(!page.contains("Reverse this disbursement"));
    let form = ok_page(&app, "/disbursements/D-2015-0002/reversal").await;
    assert!(form.contains("Nothing is left to reverse"), "{form}");
    assert!(!form.contains("Record the reversal"));
}

#[rocket::async_test]
async fn the_flags_page_and_the_donor_statement_come_a_page_at_a_time() {
    let app = signed_in(Role::Donor).await;
    let flags = ok_page(&app, "/flags").await;
    assert!(flags.contains("class=\"pager\""), "{flags}");
    let statement = ok_page(&app, "/reports/donor?donor=EUROL").await;
    assert!(statement.contains("Rows 1 to"), "{statement}");
    assert!(statement.contains("Total disbursed, all "), "{statement}");
    let (status, _) = app.page("/reports/donor?donor=EUROL&page=2").await;
    assert_eq!(status, Status::Ok);
}

#[rocket::async_test]
async fn the_donor_statement_s_chart_downloads_as_svg() {
    let app = signed_in(Role::Donor).await;
    let page = ok_page(&app, "/reports/donor?donor=EUROL").await;
    assert!(
        page.contains("/reports/donor/chart.svg?plan=NAP-2015&#38;donor=EUROL"),
        "{page}"
    );
    let response = app
        .get("/reports/donor/chart.svg?plan=NAP-2015&donor=EUROL")
        .await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(
        response.content_type().map(|c| c.to_string()),
        Some("image/svg+xml".to_owned())
    );
    let svg = response.into_string().await.unwrap();
    assert!(svg.contains("<svg") && svg.contains("donor EUROL"), "{svg}");
    let (status, _) = app.page("/reports/donor/chart.svg").await;
    assert_eq!(
        status,
        Status::BadRequest,
        "a donor that is no donor's own names none"
    );
}
