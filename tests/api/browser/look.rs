//! How the pages look and read in a real browser: every main page fits a laptop's and a
//! phone's width, the navigation folds away on a phone and opens from a tap or the keyboard,
//! it marks the current page, the charts keep their text readable and download as SVG files
//! with the session, a failed sign-in says so first, and a debug build lists its demo accounts
//! on the sign-in page.

use fantoccini::Locator;
use naptrack::domain::Role;
use serde_json::Value;

use super::{Browser, PASSWORD, PHONE, WINDOW, browser_programs, server_with_user};
use crate::helpers::TestServer;

/// The main pages, each with the name its screenshots take.
const MAIN_PAGES: [(&str, &str); 10] = [
    ("home", "/"),
    ("dashboard", "/dashboard"),
    ("plan", "/plan"),
    ("flags", "/flags"),
    ("reports-by-activity", "/reports?by=activity"),
    ("reports-by-month", "/reports?by=month"),
    ("results", "/results"),
    ("donor-statement", "/reports/donor?donor=EUROL"),
    ("activity", "/activities/PROT-04"),
    ("disbursement-form", "/disbursements/new"),
];

/// Runs `script` in the page and returns what it returns.
async fn run(browser: &Browser, script: &str) -> Value {
    browser
        .client
        .execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("the script runs: {e}\n{script}"))
}

/// Whether the first element that matches `css` is shown.
async fn shown(browser: &Browser, css: &str) -> bool {
    browser
        .wait_for(css)
        .await
        .is_displayed()
        .await
        .unwrap_or(false)
}

/// The smallest text of every chart of the page, in CSS pixels as the page shows it.
async fn smallest_chart_text_px(browser: &Browser) -> f64 {
    run(
        browser,
        "let least = 1000;
         for (const svg of document.querySelectorAll('svg.chart')) {
           const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
           for (const t of svg.querySelectorAll('text')) {
             if (!t.textContent.trim()) continue;
             least = Math.min(least, parseFloat(t.getAttribute('font-size')) * scale);
           }
         }
         return least;",
    )
    .await
    .as_f64()
    .unwrap_or(0.0)
}

/// Fetches `href` with the page's cookies: its status, content type, disposition and the
/// start of its body.
async fn fetch(browser: &Browser, href: &str) -> Vec<String> {
    let answer = browser
        .client
        .execute_async(
            "const [href, done] = arguments;
             fetch(href, { credentials: 'same-origin' })
               .then(r => r.text().then(body => done([String(r.status),
                   r.headers.get('content-type') || '',
                   r.headers.get('content-disposition') || '',
                   body.slice(0, 200)])))
               .catch(e => done(['error', String(e), '', '']));",
            vec![Value::String(href.to_owned())],
        )
        .await
        .expect("the fetch runs");
    answer
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Saves what the window shows now, without stretching it to the page: `look-<name>.png`,
/// for a phone's first screen.
async fn first_screen(browser: &Browser, name: &str) {
    let png = browser.client.screenshot().await.expect("a screenshot");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(
            || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
            std::path::PathBuf::from,
        );
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).expect("the screenshot folder");
    std::fs::write(dir.join(format!("look-first-screen-{name}.png")), png).expect("saved");
}

/// The elements that reach past the window's right edge and are not inside an element that
/// scrolls sideways, for a failure to name them.
async fn too_wide(browser: &Browser) -> Vec<String> {
    let found = run(
        browser,
        "const out = [];
         const scrolls = e => { for (let p = e.parentElement; p; p = p.parentElement) {
           const o = getComputedStyle(p).overflowX; if (o === 'auto' || o === 'scroll' || o === 'hidden') return true; }
           return false; };
         for (const e of document.querySelectorAll('body *')) {
           const r = e.getBoundingClientRect();
           if (r.width > 0 && r.right > window.innerWidth + 1 && !scrolls(e))
             out.push(e.tagName + '.' + e.className + ' ' + Math.round(r.right));
         }
         return out.slice(0, 8);",
    )
    .await;
    found
        .as_array()
        .map(|a| a.iter().map(|v| v.to_string()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_main_page_fits_a_laptop_and_a_phone() {
    let Some(programs) = browser_programs() else {
        return;
    };
    let server = server_with_user("clerk@ministry.example", Role::Recorder).await;
    let browser = Browser::open(programs, &server, "look").await;
    browser.sign_in("clerk@ministry.example").await;
    for width in [WINDOW.0, PHONE] {
        browser.use_width(width).await;
        for (name, path) in MAIN_PAGES {
            browser.goto(path).await;
            browser.wait_for("main h1").await;
            let wide = too_wide(&browser).await;
            assert!(wide.is_empty(), "{path} at {width} px: {wide:?}");
            browser.assert_fits(&format!("{path} at {width} px")).await;
            if width == PHONE {
                first_screen(&browser, name).await;
            }
            browser.screenshot(&format!("{name}-{width}")).await;
        }
    }
    // Signed out: the sign-in page.
    browser
        .client
        .delete_all_cookies()
        .await
        .expect("signed out");
    for width in [WINDOW.0, PHONE] {
        browser.use_width(width).await;
        browser.goto("/login").await;
        browser.wait_for("#email").await;
        browser.assert_fits(&format!("/login at {width} px")).await;
        browser.screenshot(&format!("login-{width}")).await;
        browser.goto("/").await;
        browser.wait_for("main p.intro").await;
        browser
            .assert_fits(&format!("/ signed out at {width} px"))
            .await;
    }
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_navigation_folds_on_a_phone_opens_and_marks_the_current_page() {
    let Some(programs) = browser_programs() else {
        return;
    };
    let server = server_with_user("clerk@ministry.example", Role::Recorder).await;
    let browser = Browser::open(programs, &server, "nav").await;
    browser.sign_in("clerk@ministry.example").await;

    browser.goto("/flags").await;
    browser.wait_for_text("main h1", "Flags").await;
    let current = browser.texts("header nav a[aria-current=page]").await;
    assert_eq!(current, ["Flags"], "one link, the page's own");
    assert!(shown(&browser, "header nav a[href='/reports']").await);
    assert!(!shown(&browser, "header label.menu-button").await);
    browser.goto("/reports/donor").await;
    browser.wait_for("main h1").await;
    let current = browser.texts("header nav a[aria-current=page]").await;
    assert_eq!(current, ["Donor statement"]);

    browser.use_width(PHONE).await;
    browser.goto("/flags").await;
    browser.wait_for_text("main h1", "Flags").await;
    assert!(!shown(&browser, "header nav a[href='/reports']").await);
    assert!(
        shown(&browser, "header .who").await,
        "who is signed in stays in view"
    );
    let header = run(
        &browser,
        "return document.querySelector('header.site').getBoundingClientRect().height;",
    )
    .await
    .as_f64()
    .unwrap_or(f64::MAX);
    assert!(header <= 120.0, "the header takes {header} px of a phone");
    browser.screenshot("phone-folded").await;

    // A tap opens it, another closes it.
    browser.click("header label.menu-button").await;
    assert!(shown(&browser, "header nav a[href='/reports']").await);
    assert!(shown(&browser, "header form.search input[name=q]").await);
    browser.assert_fits("/flags with the menu open").await;
    browser.screenshot("phone-open").await;
    first_screen(&browser, "menu-open").await;
    browser.click("header label.menu-button").await;
    assert!(!shown(&browser, "header nav a[href='/reports']").await);

    // From the keyboard: the toggle is reached with Tab and opened with Space.
    browser.goto("/flags").await;
    browser.wait_for_text("main h1", "Flags").await;
    let mut reached = false;
    for _ in 0..6 {
        browser
            .client
            .active_element()
            .await
            .expect("the focused element")
            .send_keys("\u{e004}")
            .await
            .expect("Tab");
        let id = run(&browser, "return document.activeElement.id;").await;
        if id == "menu-toggle" {
            reached = true;
            break;
        }
    }
    assert!(reached, "Tab reaches the menu's toggle");
    browser
        .client
        .active_element()
        .await
        .expect("the toggle")
        .send_keys(" ")
        .await
        .expect("Space");
    assert!(shown(&browser, "header nav a[href='/reports']").await);
    browser.click("header nav a[href='/reports']").await;
    browser.wait_for_text("main h1", "Budget execution").await;
    let current = browser.texts("header nav a[aria-current=page]").await;
    assert!(!shown(&browser, "header nav a[href='/reports']").await);
    assert_eq!(current.len(), 1, "{current:?}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_charts_read_at_12_px_use_names_and_a_time_axis_and_download_as_svg() {
    let Some(programs) = browser_programs() else {
        return;
    };
    let server = server_with_user("auditor@court.example", Role::Auditor).await;
    let browser = Browser::open(programs, &server, "look-charts").await;
    browser.sign_in("auditor@court.example").await;

    browser.goto("/reports?by=activity").await;
    browser.wait_for("figure svg.chart").await;
    // Forty activities: horizontal bars, each labelled with its activity's name.
    let names = browser
        .texts("main table tbody tr td[data-label=Name]")
        .await;
    assert!(names.len() > 20, "{names:?}");
    let texts = browser.text_contents("figure svg.chart text").await;
    let shortest = |name: &str| name.chars().take(30).collect::<String>();
    for name in names.iter().filter(|n| !n.is_empty()) {
        assert!(
            texts.iter().any(|t| t.starts_with(&shortest(name))),
            "{name}: {texts:?}"
        );
    }
    let (_, _, _, height) = browser
        .wait_for("figure svg.chart")
        .await
        .rectangle()
        .await
        .expect("the chart's size");
    assert!(
        height > 40.0 * 25.0,
        "the chart grows with its bars: {height}"
    );
    for width in [WINDOW.0, PHONE] {
        browser.use_width(width).await;
        for page in ["/reports?by=activity", "/reports?by=month", "/results"] {
            browser.goto(page).await;
            browser.wait_for("figure svg.chart").await;
            let least = smallest_chart_text_px(&browser).await;
            assert!(least >= 11.99, "{page} at {width} px: {least} px text");
            browser.assert_fits(page).await;
        }
    }
    browser.use_width(WINDOW.0).await;

    // By month: a time axis labelled by year, and the columns of a month.
    browser.goto("/reports?by=month").await;
    browser.wait_for("figure svg.chart").await;
    let texts = browser.text_contents("figure svg.chart text").await;
    for year in ["2016", "2017", "2018"] {
        assert!(texts.iter().any(|t| t == year), "{year}: {texts:?}");
    }
    let headers = browser.texts("main table thead th").await;
    for column in [
        "Disbursed in the month",
        "Disbursed, cumulative",
        "Share of the year's allocation",
        "Remaining of the year's allocation",
    ] {
        assert!(headers.iter().any(|h| h == column), "{column}: {headers:?}");
    }
    let rows = browser.rows("main table tbody tr").await;
    assert!(rows.len() > 12, "{rows:?}");
    browser.screenshot("by-month").await;

    // Each chart downloads as an SVG file, with the session cookie alone.
    let mut links = Vec::new();
    for page in ["/reports?by=activity", "/results"] {
        browser.goto(page).await;
        browser.wait_for("figure svg.chart").await;
        for link in browser.find_all("figcaption a[href*='chart.svg']").await {
            links.push(link.attr("href").await.unwrap().unwrap_or_default());
        }
    }
    assert!(links.len() >= 3, "{links:?}");
    for href in &links {
        let answer = fetch(&browser, href).await;
        assert_eq!(
            answer.first().map(String::as_str),
            Some("200"),
            "{href}: {answer:?}"
        );
        assert!(answer[1].starts_with("image/svg+xml"), "{href}: {answer:?}");
        assert!(
            answer[2].starts_with("attachment; filename=\"NAP-2015")
                && answer[2].ends_with(".svg\""),
            "{href}: {answer:?}"
        );
        assert!(answer[3].starts_with("<svg"), "{href}: {answer:?}");
    }
    browser
        .client
        .delete_all_cookies()
        .await
        .expect("signed out");
    // Without the session: the sign-in page, no chart.
    let answer = fetch(&browser, &links[0]).await;
    assert!(answer[1].starts_with("text/html"), "{answer:?}");
    assert!(!answer[3].starts_with("<svg"), "no chart without a session");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_sign_in_is_summarised_first_and_named_in_the_title() {
    let Some(programs) = browser_programs() else {
        return;
    };
    let server = server_with_user("clerk@ministry.example", Role::Recorder).await;
    let browser = Browser::open(programs, &server, "look-errors").await;
    browser.goto("/login").await;
    browser.fill("#email", "clerk@ministry.example").await;
    browser.fill("#password", "not the password").await;
    browser.click("main form button[type=submit]").await;
    let summary = browser
        .wait_for_text(".error-summary", "The email or the password is not right")
        .await;
    let title = browser.client.title().await.expect("the title");
    assert!(title.starts_with("Error: "), "{title}");
    let focused = run(&browser, "return document.activeElement.className;").await;
    assert_eq!(focused, "error-summary", "the summary takes the focus");
    let link = summary
        .find(Locator::Css("a"))
        .await
        .expect("a link to the field");
    assert_eq!(link.attr("href").await.unwrap().as_deref(), Some("#email"));
    browser.screenshot("login-error").await;
    assert!(
        browser.find_all("section.demo").await.is_empty(),
        "no demo account without the samples"
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_debug_build_lists_its_demo_accounts_on_the_sign_in_page() {
    let Some(programs) = browser_programs() else {
        return;
    };
    // The tests run the debug build, as `cargo run` does; a release build shows no account.
    if !cfg!(debug_assertions) {
        return;
    }
    let server = TestServer::spawn_with_samples().await;
    let browser = Browser::open(programs, &server, "look-demo").await;
    browser.goto("/login").await;
    browser
        .wait_for_text("section.demo", "admin@demo.example")
        .await;
    let accounts = browser.texts("section.demo dt code").await;
    assert_eq!(
        accounts,
        [
            "admin@demo.example",
            "recorder@demo.example",
            "donor@demo.example",
            "auditor@demo.example"
        ]
    );
    browser.screenshot("login").await;
    let passwords = browser.texts("section.demo dd code").await;
    let password = passwords.get(1).expect("the recorder's password").clone();
    assert!(password.starts_with("demo-"), "{passwords:?}");
    assert_ne!(password, PASSWORD);
    browser.fill("#email", "recorder@demo.example").await;
    browser.fill("#password", &password).await;
    browser.click("main form button[type=submit]").await;
    browser
        .wait_for_text("header .who", "recorder@demo.example")
        .await;
    browser.close().await;
}
