//! End-to-end tests in headless Chromium, driven through WebDriver (fantoccini and
//! chromedriver) against the real server on a loopback port: sign in, log a disbursement and
//! find it in the reports, import a CSV file with errors and see each one, a donor sees no
//! write action, a chart renders. Each test saves screenshots of the pages it visits under
//! `target/screenshots/` (or `$CARGO_TARGET_DIR/screenshots/`).
//!
//! Each test has its own server, database, chromedriver (on a port the operating system picks)
//! and browser profile, so they run in parallel with the rest of the suite. Every wait polls
//! for what the page must show, up to a deadline; none sleeps for a fixed time. Without
//! Chromium or chromedriver the tests say so and pass: `apt-get install chromium
//! chromium-driver` (`.ci/run` does).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use naptrack::domain::Role;
use naptrack::money::Amount;
use serde_json::json;

use crate::helpers::{TestServer, import_samples_into};

pub(crate) const PASSWORD: &str = "correct horse battery staple";
/// How long a page may take to show what a test waits for.
pub(crate) const WAIT: Duration = Duration::from_secs(30);
/// How often a wait looks again.
pub(crate) const POLL: Duration = Duration::from_millis(50);
/// The width of the window (a laptop's), and its height before a screenshot stretches it to
/// the page.
pub(crate) const WINDOW: (u32, u32) = (1366, 900);
/// A phone's width.
pub(crate) const PHONE: u32 = 390;

/// Chromium's command line: headless, and nothing that would reach for the network or a
/// desktop. `--disable-dev-shm-usage` keeps it alive where `/dev/shm` is small (containers);
/// `--hide-scrollbars` keeps scroll bars out of the screenshots.
const CHROMIUM_ARGS: [&str; 10] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1366,900",
    "--hide-scrollbars",
];

/// A program named by an environment variable, else the first of `names` on the `PATH`.
fn program(variable: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(variable).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Chromium and chromedriver, or `None` after saying why the test is skipped.
pub(crate) fn browser_programs() -> Option<(PathBuf, PathBuf)> {
    let chromium = program("NAPTRACK_CHROMIUM", &["chromium", "chromium-browser"]);
    let chromedriver = program("NAPTRACK_CHROMEDRIVER", &["chromedriver"]);
    match (chromium, chromedriver) {
        (Some(chromium), Some(chromedriver)) => Some((chromium, chromedriver)),
        _ => {
            eprintln!(
                "skipping browser test: chromium/chromedriver not found (apt-get install chromium chromium-driver)"
            );
            None
        }
    }
}

/// Where screenshots go: `screenshots/` in the target folder that cargo builds into.
fn screenshot_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = match std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => manifest.join(dir),
        None => manifest.join("target"),
    };
    target.join("screenshots")
}

/// The port in chromedriver's line "ChromeDriver was started successfully on port 41234."
fn reported_port(line: &str) -> Option<u16> {
    let (_, rest) = line.split_once("started successfully on port ")?;
    rest.trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()
}

/// A chromedriver of this test's own, in a process group of its own, so that dropping it ends
/// it and any browser it started, whatever state the test left them in.
struct ChromeDriver {
    child: Child,
    port: u16,
    /// The WebDriver session, while one is open.
    session: Option<String>,
}

impl ChromeDriver {
    async fn start(program: &Path) -> ChromeDriver {
        let mut command = Command::new(program);
        command
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.spawn().expect("chromedriver starts");
        let stdout = child.stdout.take().expect("chromedriver's output");
        // chromedriver says which port it got; the reader keeps draining its output afterwards
        // so that it never blocks on a full pipe.
        let (port_tx, port_rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut port_tx = Some(port_tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(port) = reported_port(&line)
                    && let Some(tx) = port_tx.take()
                {
                    let _ = tx.send(port);
                }
            }
        });
        let mut driver = ChromeDriver {
            child,
            port: 0,
            session: None,
        };
        match tokio::time::timeout(WAIT, port_rx).await {
            Ok(Ok(port)) => driver.port = port,
            _ => panic!("chromedriver did not report its port within {WAIT:?}"),
        }
        driver
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Ends the session over plain HTTP, without the async client (which may be gone with a
    /// failed test's runtime), so that chromedriver closes the browser itself.
    fn delete_session(&mut self, session: &str) {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
        let request = format!(
            "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            self.port
        );
        if stream.write_all(request.as_bytes()).is_ok() {
            let mut answer = Vec::new();
            let _ = stream.read_to_end(&mut answer);
        }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            self.delete_session(&session);
        }
        // The process group is chromedriver's own (see `start`): this ends it and anything
        // it left behind, and nothing else.
        #[cfg(unix)]
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium with a fresh profile, driven through its own chromedriver.
pub(crate) struct Browser {
    pub(crate) client: Client,
    base_url: String,
    name: &'static str,
    /// The window's width: [`WINDOW`]'s, or a phone's after [`Browser::use_width`].
    width: std::sync::atomic::AtomicU32,
    /// Dropped after the client, so chromedriver outlives the session.
    driver: ChromeDriver,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A browser on `server`, with the programs of [`browser_programs`]. `name` prefixes the
    /// test's screenshots.
    pub(crate) async fn open(
        (chromium, chromedriver): (PathBuf, PathBuf),
        server: &TestServer,
        name: &'static str,
    ) -> Browser {
        let mut driver = ChromeDriver::start(&chromedriver).await;
        let profile = tempfile::tempdir().expect("a profile folder");
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| (*a).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let capabilities: fantoccini::wd::Capabilities = serde_json::from_value(json!({
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "goog:chromeOptions": {
                "binary": chromium.display().to_string(),
                "args": args,
            },
        }))
        .expect("the capabilities are an object");
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&driver.url())
            .await
            .expect("a WebDriver session in headless Chromium");
        driver.session = client.session_id().await.ok().flatten();
        client
            .set_window_size(WINDOW.0, WINDOW.1)
            .await
            .expect("the window is sized");
        Browser {
            client,
            base_url: server.base_url.clone(),
            name,
            width: std::sync::atomic::AtomicU32::new(WINDOW.0),
            driver,
            _profile: profile,
        }
    }

    /// Sets the window's width for the pages that follow ([`PHONE`] for a phone), keeping
    /// [`WINDOW`]'s height.
    pub(crate) async fn use_width(&self, width: u32) {
        self.width
            .store(width, std::sync::atomic::Ordering::Relaxed);
        self.client
            .set_window_size(width, WINDOW.1)
            .await
            .expect("the window is resized");
    }

    fn window_width(&self) -> u32 {
        self.width.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Fails when the page is wider than the window: nothing may scroll sideways.
    pub(crate) async fn assert_fits(&self, page: &str) {
        let widths = self
            .client
            .execute(
                "return [document.documentElement.scrollWidth, window.innerWidth];",
                vec![],
            )
            .await
            .expect("the page's width");
        let width = |i: usize| widths.get(i).and_then(|n| n.as_u64()).unwrap_or(0);
        assert!(
            width(0) <= width(1),
            "{page} is {} px wide in a {} px window",
            width(0),
            width(1)
        );
    }

    /// Ends the session, which closes the browser.
    pub(crate) async fn close(mut self) {
        self.client.clone().close().await.expect("the session ends");
        self.driver.session = None;
    }

    pub(crate) async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base_url))
            .await
            .unwrap_or_else(|e| panic!("{path} loads: {e}"));
    }

    /// The first element that matches `css` and whose text contains `text`, once the page
    /// shows it.
    pub(crate) async fn wait_for_text(&self, css: &str, text: &str) -> Element {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(elements) = self.client.find_all(Locator::Css(css)).await {
                for element in elements {
                    // An element of the page being left may be gone by now: look again.
                    if let Ok(shown) = element.text().await
                        && shown.contains(text)
                    {
                        return element;
                    }
                }
            }
            if Instant::now() >= deadline {
                let url = self.client.current_url().await.ok();
                let source = self.client.source().await.unwrap_or_default();
                panic!("no {css} with \"{text}\" within {WAIT:?} on {url:?}:\n{source}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    pub(crate) async fn wait_for(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(WAIT)
            .every(POLL)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} appears: {e}"))
    }

    pub(crate) async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
    }

    pub(crate) async fn texts(&self, css: &str) -> Vec<String> {
        let mut texts = Vec::new();
        for element in self.find_all(css).await {
            texts.push(element.text().await.expect("an element's text"));
        }
        texts
    }

    /// The text content of every element that matches `css`, as the DOM holds it (also for
    /// SVG, where the rendered text of WebDriver may be empty), trimmed.
    pub(crate) async fn text_contents(&self, css: &str) -> Vec<String> {
        let mut texts = Vec::new();
        for element in self.find_all(css).await {
            let text = element.prop("textContent").await.expect("a text content");
            texts.push(text.unwrap_or_default().trim().to_owned());
        }
        texts
    }

    /// The text of each cell of each row that matches `css`.
    pub(crate) async fn rows(&self, css: &str) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        for row in self.find_all(css).await {
            let mut cells = Vec::new();
            for cell in row.find_all(Locator::Css("th, td")).await.expect("cells") {
                cells.push(cell.text().await.expect("a cell's text"));
            }
            rows.push(cells);
        }
        rows
    }

    pub(crate) async fn fill(&self, css: &str, value: &str) {
        let field = self.wait_for(css).await;
        field.clear().await.expect("the field clears");
        field
            .send_keys(value)
            .await
            .expect("the field takes the text");
    }

    /// Sets a field's value as a script would: date inputs take typed keys in the order of
    /// the browser's locale, which a test should not depend on.
    pub(crate) async fn set_value(&self, css: &str, value: &str) {
        let field = self.wait_for(css).await;
        let element = serde_json::to_value(&field).expect("an element reference");
        self.client
            .execute(
                "arguments[0].value = arguments[1];",
                vec![element, json!(value)],
            )
            .await
            .expect("the value is set");
    }

    pub(crate) async fn click(&self, css: &str) {
        self.wait_for(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("{css} is clicked: {e}"));
    }

    pub(crate) async fn sign_in(&self, email: &str) {
        self.goto("/login?next=/dashboard").await;
        self.fill("#email", email).await;
        self.fill("#password", PASSWORD).await;
        self.click("main form button[type=submit]").await;
        self.wait_for_text("header .who", email).await;
        self.wait_for_text("main h1", "National Action Plan").await;
    }

    /// Saves the whole page as `<test>-<page>.png`, from the top and without a focused field:
    /// the window is stretched to the page's height first (plus what the window itself takes),
    /// since WebDriver captures only what the window shows.
    pub(crate) async fn screenshot(&self, page: &str) {
        let sizes = self
            .client
            .execute(
                "window.scrollTo(0, 0);
                 if (document.activeElement) { document.activeElement.blur(); }
                 return [document.documentElement.scrollHeight,
                         window.outerHeight - window.innerHeight];",
                vec![],
            )
            .await
            .expect("the page's height");
        let number = |i: usize| {
            sizes
                .get(i)
                .and_then(|n| n.as_u64())
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0)
        };
        let height = (number(0) + number(1)).clamp(WINDOW.1, 12_000);
        self.client
            .set_window_size(self.window_width(), height)
            .await
            .expect("the window stretches");
        let png = self.client.screenshot().await.expect("a screenshot");
        self.client
            .set_window_size(self.window_width(), WINDOW.1)
            .await
            .expect("the window shrinks back");
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("the screenshot folder");
        let path = dir.join(format!("{}-{page}.png", self.name));
        std::fs::write(&path, png).expect("the screenshot is saved");
    }
}

/// The server with the sample plan and one user of `role` who signs in with [`PASSWORD`].
pub(crate) async fn server_with_user(email: &str, role: Role) -> TestServer {
    let server = TestServer::spawn().await;
    import_samples_into(&server.db).await;
    naptrack::service::users::add_user(&server.db, email, role, None, Some(PASSWORD), "test")
        .await
        .expect("the user is created");
    server
}

/// An amount as a page shows it (`98,765.4321`), read back exactly.
pub(crate) fn shown_amount(text: &str) -> Amount {
    Amount::parse(&text.trim().replace(',', ""))
        .unwrap_or_else(|e| panic!("\"{text}\" is an amount: {e}"))
}

/// The disbursed column of an activity's row in the execution report by activity.
async fn disbursed_on_report(browser: &Browser, activity: &str) -> Amount {
    browser.goto("/reports?by=activity&fiscal_year=2016").await;
    let row = browser.wait_for_text("main table tbody tr", activity).await;
    let cells = row
        .find_all(Locator::Css("td"))
        .await
        .expect("the row's cells");
    // Name, allocated, committed, disbursed, remaining, execution.
    let disbursed = cells.get(3).expect("a disbursed cell");
    shown_amount(&disbursed.text().await.expect("the cell's text"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorder_signs_in_logs_a_disbursement_and_finds_it_in_the_reports() {
    let Some(programs) = browser_programs() else {
        return;
    };
    let server = server_with_user("clerk@ministry.example", Role::Recorder).await;
    let browser = Browser::open(programs, &server, "recorder").await;
    browser.goto("/login").await;
    browser.wait_for("#email").await;
    browser.screenshot("login").await;
    browser.sign_in("clerk@ministry.example").await;
    browser.screenshot("dashboard").await;
    let before = disbursed_on_report(&browser, "PART-03").await;

    browser
        .click("header nav a[href='/disbursements/new']")
        .await;
    browser.wait_for_text("main h1", "Log a disbursement").await;
    let picker = browser.wait_for("#budget_line_code").await;
    picker
        .select_by_value("BL-2016-004")
        .await
        .expect("the budget line is chosen");
    browser.fill("#reference", "E2E-0001").await;
    browser.set_value("#date", "2016-05-03").await;
    browser.fill("#amount", "98765.4321").await;
    browser.fill("#currency", "EUR").await;
    browser
        .fill("#description", "Hotline, second quarter")
        .await;
    browser.screenshot("disbursement-form").await;
    browser.click("main form.stack button[type=submit]").await;

    // 98,765.4321 is more than the 17,400.00 of the line: the form asks first, naming it.
    let confirm = browser
        .wait_for_text("main .confirm", "more than the EUR")
        .await;
    let text = confirm.text().await.unwrap();
    assert!(text.contains("budget line BL-2016-004"), "{text}");
    assert!(text.contains("Nothing has been recorded yet"), "{text}");
    let title = browser.client.title().await.unwrap();
    assert!(title.starts_with("Check: "), "{title}");
    browser.screenshot("disbursement-confirm").await;
    browser.click("#confirm-anyway").await;

    browser
        .wait_for_text("main h1", "Disbursement E2E-0001 recorded")
        .await;
    browser.wait_for_text("main td", "98,765.4321").await;
    browser.screenshot("disbursement-recorded").await;
    let after = disbursed_on_report(&browser, "PART-03").await;
    assert_eq!(
        after,
        before
            .checked_add(Amount::parse("98765.4321").unwrap())
            .unwrap(),
        "the execution report counts the disbursement to the last digit"
    );
    browser.goto("/reports/donor?donor=EUROL").await;
    let row = browser
        .wait_for_text("main table tbody tr", "E2E-0001")
        .await;
    let row_text = row.text().await.unwrap();
    assert!(row_text.contains("2016-05-03"), "{row_text}");
    assert!(row_text.contains("98,765.4321"), "{row_text}");
    browser.screenshot("donor-statement").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_with_errors_shows_each_error_in_the_browser_and_writes_nothing() {
    let Some(programs) = browser_programs() else {
        return;
    };
    let server = server_with_user("clerk@ministry.example", Role::Recorder).await;
    let browser = Browser::open(programs, &server, "import").await;
    let file = server.dir().join("treasury.csv");
    std::fs::write(
        &file,
        "reference,budget_line_code,date,amount,currency\n\
         E2E-IMP-1,BL-2016-004,2016-03-01,100.00,EUR\n\
         E2E-IMP-2,BL-2016-004,2016-03-01,1e3,EUR\n\
         E2E-IMP-3,NO-SUCH-LINE,2016-03-01,5.00,EUR\n\
         E2E-IMP-4,BL-2016-004,2016-02-30,5.00,EUR\n",
    )
    .expect("the CSV file is written");
    browser.sign_in("clerk@ministry.example").await;

    browser.click("header nav a[href='/import']").await;
    browser.wait_for_text("main h1", "Import a CSV file").await;
    browser
        .wait_for("#entity")
        .await
        .select_by_value("disbursements")
        .await
        .expect("the kind of file is chosen");
    browser
        .wait_for("#file")
        .await
        .send_keys(&file.display().to_string())
        .await
        .expect("the file is chosen");
    browser.click("main form.stack button[type=submit]").await;

    browser
        .wait_for_text("table.errors-table caption", "3 problems found")
        .await;
    // Each row: the line, the column, what is wrong.
    let rows = browser.rows("table.errors-table tbody tr").await;
    let places: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect();
    assert_eq!(
        places,
        [("3", "amount"), ("4", "budget_line_code"), ("5", "date")],
        "{rows:?}"
    );
    assert!(rows.iter().all(|r| !r[2].is_empty()), "{rows:?}");
    browser.screenshot("errors").await;
    browser.close().await;
    let mut export = Vec::new();
    naptrack::service::export::export_csv(
        &server.db,
        naptrack::domain::records::RecordKind::Disbursements,
        Some("NAP-2015"),
        &mut export,
    )
    .await
    .unwrap();
    assert!(!String::from_utf8(export).unwrap().contains("E2E-IMP-1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_donor_sees_no_write_action_in_the_browser() {
    let Some(programs) = browser_programs() else {
        return;
    };
    let server = server_with_user("donor@embassy.example", Role::Donor).await;
    let browser = Browser::open(programs, &server, "donor").await;
    browser.sign_in("donor@embassy.example").await;

    let nav = browser.texts("header nav a").await;
    assert!(nav.iter().any(|l| l == "Donor statement"), "{nav:?}");
    for forbidden in [
        "Log a disbursement",
        "Import",
        "Audit trail",
        "Users and tokens",
    ] {
        assert!(!nav.iter().any(|l| l == forbidden), "{forbidden}: {nav:?}");
    }
    for page in [
        "/dashboard",
        "/plan",
        "/activities/PROT-04",
        "/disbursements/D-2015-0002",
        "/reports/donor?donor=PGATO",
    ] {
        browser.goto(page).await;
        browser.wait_for("main h1").await;
        let writes = browser
            .find_all("a[href*='/disbursements/new'], a[href*='/reversal'], a[href^='/import'], main form[method=post]")
            .await;
        assert!(writes.is_empty(), "{page} offers a donor a write action");
    }
    browser.goto("/activities/PROT-04").await;
    browser.wait_for("main h1").await;
    browser.screenshot("activity").await;
    browser.goto("/disbursements/new").await;
    browser.wait_for_text("main h1", "403").await;
    browser.screenshot("forbidden").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_charts_render_in_the_browser() {
    let Some(programs) = browser_programs() else {
        return;
    };
    let server = server_with_user("auditor@court.example", Role::Auditor).await;
    let browser = Browser::open(programs, &server, "charts").await;
    browser.sign_in("auditor@court.example").await;

    browser.goto("/reports?by=objective").await;
    let chart = browser.wait_for("figure svg.chart").await;
    assert!(chart.is_displayed().await.unwrap());
    let (_, _, width, height) = chart.rectangle().await.unwrap();
    assert!(width > 600.0 && height > 300.0, "{width} × {height}");
    let label = chart.attr("aria-label").await.unwrap().unwrap_or_default();
    assert!(label.contains("by objective"), "{label}");
    let texts = browser.text_contents("figure svg.chart text").await;
    for expected in ["Amount (EUR)", "Allocated (EUR)", "Disbursed (EUR)"] {
        assert!(texts.iter().any(|t| t == expected), "{expected}: {texts:?}");
    }
    // Each objective of the table has its bars; past eight they lie horizontally, labelled
    // with the objective's name.
    let names = browser.texts("main table tbody td[data-label=Name]").await;
    assert!(names.len() > 8, "{names:?}");
    for name in names.iter().filter(|n| !n.is_empty()) {
        assert!(texts.contains(name), "{name}: {texts:?}");
    }
    // Two bars per objective, the legend's keys and the frame: more than a handful of shapes.
    assert!(browser.find_all("figure svg.chart rect").await.len() > 8);
    browser.screenshot("reports").await;

    browser.goto("/reports/donor?funding_source=PG-2015").await;
    let chart = browser.wait_for("figure svg.chart").await;
    assert!(chart.is_displayed().await.unwrap());
    let texts = browser.text_contents("figure svg.chart text").await;
    assert!(texts.iter().any(|t| t == "2016"), "{texts:?}");
    assert!(
        texts
            .iter()
            .any(|t| t.contains("Allocated and disbursed by fiscal year, funding source PG-2015")),
        "{texts:?}"
    );
    browser.screenshot("donor-statement").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_results_page_shows_its_charts_and_a_recorder_corrects_an_actual_through_the_form() {
    use rust_decimal::{Decimal, RoundingStrategy};
    let Some(programs) = browser_programs() else {
        return;
    };
    let server = server_with_user("clerk@ministry.example", Role::Recorder).await;
    let browser = Browser::open(programs, &server, "results").await;
    browser.sign_in("clerk@ministry.example").await;

    browser.goto("/results?plan=NAP-2015").await;
    let chart = browser.wait_for("section#IND-CALLS figure svg.chart").await;
    assert!(chart.is_displayed().await.unwrap());
    let (_, _, width, height) = chart.rectangle().await.unwrap();
    assert!(width > 600.0 && height > 300.0, "{width} × {height}");
    assert!(
        browser
            .find_all("section.indicator figure svg.chart")
            .await
            .len()
            >= 6
    );
    // Both axes labelled: the indicator's unit and the money in the plan's currency.
    let texts = browser
        .text_contents("section#IND-CALLS figure svg text")
        .await;
    for expected in [
        "Fiscal year",
        "calls",
        "Disbursed (EUR)",
        "Target",
        "Actual",
        "2017",
    ] {
        assert!(texts.iter().any(|t| t == expected), "{expected}: {texts:?}");
    }
    // 2017: 1096 calls of a target of 1450 is 75.6 %; the cost per call is the year's money
    // divided by 1096, to the cent, half to even.
    let row = browser
        .wait_for_text("section#IND-CALLS tbody tr", "1450")
        .await;
    let cells: Vec<String> = {
        let mut texts = Vec::new();
        for cell in row.find_all(Locator::Css("th, td")).await.unwrap() {
            texts.push(cell.text().await.unwrap());
        }
        texts
    };
    assert_eq!(cells[0], "2017", "{cells:?}");
    assert_eq!(cells[3], "75.6 %", "{cells:?}");
    let disbursed = shown_amount(&cells[4]).to_decimal();
    let expected = (disbursed / Decimal::from(1096))
        .round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven);
    assert_eq!(shown_amount(&cells[5]).to_decimal(), expected, "{cells:?}");
    browser.screenshot("page").await;

    browser
        .click("section#IND-CALLS a[href*='fiscal_year=2017']")
        .await;
    browser.wait_for_text("main h1", "IND-CALLS").await;
    browser.fill("#actual", "1402,5").await;
    browser.click("main form button[type=submit]").await;
    browser.wait_for("#actual-error").await;
    browser.screenshot("form-error").await;
    browser.fill("#actual", "1402.5").await;
    browser.click("main form button[type=submit]").await;

    browser
        .wait_for_text("main p.ok", "Fiscal year 2017 of IND-CALLS stored")
        .await;
    let row = browser
        .wait_for_text("section#IND-CALLS tbody tr", "1402.5")
        .await;
    let year = row.find(Locator::Css("th")).await.unwrap();
    assert_eq!(year.text().await.unwrap(), "2017");
    browser.screenshot("corrected").await;
    browser.close().await;
}

#[test]
fn chromedriver_s_port_is_read_from_its_greeting() {
    assert_eq!(
        reported_port("ChromeDriver was started successfully on port 41234."),
        Some(41234)
    );
    assert_eq!(reported_port("Only local connections are allowed."), None);
}
mod clerk;

mod admin;
mod look;
