//! The IATI 2.03 export: the sample plan and generated plans (several currencies, reversals,
//! awkward names) are valid against the schema in `tests/standards/iati-2.03/`, use codes of
//! the IATI code lists, date no transaction in the future, and disburse per activity exactly
//! what the execution report shows; the API route and the command line deliver the same file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{Days, NaiveDate, Utc};
use naptrack::config::{IatiSettings, Settings};
use naptrack::domain::records::RecordKind;
use naptrack::domain::{ActivityStatus, Currency, Role};
use naptrack::entity::activity;
use naptrack::money::Amount;
use naptrack::service::iati::{IatiOptions, IatiSummary, export_iati};
use naptrack::service::plans::resolve_plan;
use naptrack::service::rates::rate_table;
use naptrack::service::reports::{self, Dimension, Filters};
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use rocket::http::{ContentType, Status};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::helpers::{
    TestApp, TestDb, import_csv, import_samples_into, naptrack, samples_dir, stderr, stdout,
    write_file,
};

/// The sample plan's code and its number of activities, commitments and disbursements.
pub(crate) const SAMPLE_PLAN: &str = "NAP-2015";
const SAMPLE_ACTIVITIES: usize = 40;
const SAMPLE_COMMITMENTS: u64 = 36;
const SAMPLE_DISBURSEMENTS: u64 = 397;

// --- Reading the file back --------------------------------------------------------------

/// An element of a parsed document: as much of a DOM as the checks need.
#[derive(Debug, Default)]
struct Node {
    name: String,
    attributes: BTreeMap<String, String>,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(String::as_str)
    }

    /// An attribute the schema requires; its absence fails the test.
    fn required(&self, name: &str) -> &str {
        self.attr(name)
            .unwrap_or_else(|| panic!("<{}> has no {name}: {:?}", self.name, self.attributes))
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    fn one(&self, name: &str) -> &Node {
        let found: Vec<&Node> = self.children.iter().filter(|c| c.name == name).collect();
        assert_eq!(
            found.len(),
            1,
            "<{}> has {} <{name}>",
            self.name,
            found.len()
        );
        found[0]
    }

    /// The text of the element's first narrative.
    fn narrative(&self) -> &str {
        &self.one("narrative").text
    }
}

fn node_of(start: &BytesStart<'_>) -> Node {
    let attributes = start
        .attributes()
        .map(|attribute| {
            let attribute = attribute.expect("a well-formed attribute");
            let value = attribute
                .normalized_value(XmlVersion::Explicit1_0)
                .expect("an attribute value with known entities");
            (attribute.key.as_ref().to_owned(), value.into_owned())
        })
        .collect();
    Node {
        name: start.name().as_ref().to_owned(),
        attributes,
        ..Node::default()
    }
}

/// Parses a whole document with quick-xml's reader into its root element.
fn parse(xml: &str) -> Node {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack = vec![Node::default()];
    loop {
        let event = reader
            .read_event()
            .unwrap_or_else(|e| panic!("not well-formed at {}: {e}", reader.error_position()));
        let top = stack.len() - 1;
        match event {
            Event::Start(start) => stack.push(node_of(&start)),
            Event::Empty(start) => stack[top].children.push(node_of(&start)),
            Event::End(_) => {
                let done = stack.pop().expect("an open element");
                stack.last_mut().expect("a parent").children.push(done);
            }
            Event::Text(text) => stack[top].text.push_str(&text.xml10_content()),
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref().expect("a character") {
                    Some(c) => c.to_string(),
                    None => quick_xml::escape::resolve_predefined_entity(&reference)
                        .unwrap_or_else(|| panic!("unknown entity &{};", &*reference))
                        .to_owned(),
                };
                stack[top].text.push_str(&resolved);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut document = stack.pop().expect("the document");
    assert_eq!(document.children.len(), 1, "one root element");
    document.children.remove(0)
}

// --- Checks -----------------------------------------------------------------------------

/// The schema in the repository, which CI has on a clean clone.
fn schema() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/standards/iati-2.03/iati-activities-schema.xsd")
}

/// Validates `file` against the IATI 2.03 activity schema with xmllint. Without xmllint the
/// validation is skipped with a message and the other checks still run.
pub(crate) fn assert_schema_valid(file: &Path) {
    let output = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(schema())
        .arg(file)
        .output();
    match output {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!(
                "skipping: xmllint not found (Debian package libxml2-utils); {} was not \
                 validated against the IATI schema",
                file.display()
            );
        }
        Err(e) => panic!("xmllint could not run: {e}"),
        Ok(output) => assert!(
            output.status.success(),
            "{} is not valid against the IATI 2.03 schema:\n{}",
            file.display(),
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

/// Codes of the IATI 2.03 code lists the file may use.
const ACTIVITY_STATUS_CODES: [&str; 6] = ["1", "2", "3", "4", "5", "6"];
const TRANSACTION_TYPE_CODES: [&str; 13] = [
    "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13",
];
const ORGANISATION_ROLE_CODES: [&str; 4] = ["1", "2", "3", "4"];
const ORGANISATION_TYPE_CODES: [&str; 16] = [
    "10", "11", "15", "21", "22", "23", "24", "30", "40", "60", "70", "71", "72", "73", "80", "90",
];

fn expected_status_code(status: ActivityStatus) -> &'static str {
    match status {
        ActivityStatus::Planned => "1",
        ActivityStatus::Ongoing => "2",
        ActivityStatus::Completed => "3",
        ActivityStatus::Cancelled => "5",
    }
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .unwrap_or_else(|_| panic!("\"{text}\" is not an ISO date"))
}

fn amount(text: &str) -> Amount {
    Amount::parse(text).unwrap_or_else(|e| panic!("\"{text}\" is not an exact amount: {e}"))
}

fn currency(text: &str) -> Currency {
    text.parse()
        .unwrap_or_else(|_| panic!("\"{text}\" is not ISO 4217"))
}

/// The money of one activity in the file, each value converted to the plan's currency by the
/// report rules and summed.
#[derive(Debug, Default, PartialEq, Eq)]
struct Money {
    allocated: Amount,
    committed: Amount,
    disbursed: Amount,
}

fn add(total: &mut Amount, amount: Amount) {
    *total = total.checked_add(amount).expect("no overflow");
}

/// Checks everything the schema cannot about `root`, the export of `plan_code` up to
/// `as_of`, and returns the parsed activities by identifier:
/// - one activity per plan activity, in code order, identified `{ref}-{plan}-{activity}`;
/// - the reporting organisation as configured;
/// - codes from the IATI code lists, activity status mapped from the activity's;
/// - no transaction after `as_of`; each value dated at its transaction's date;
/// - budgets, commitments and disbursements per activity equal the execution report's
///   allocated, committed and disbursed (disbursements up to `as_of`), converted the report's
///   way; budgets in the plan's currency, one per fiscal year.
async fn check_export(
    db: &DatabaseConnection,
    plan_code: &str,
    publisher: &IatiSettings,
    as_of: NaiveDate,
    root: &Node,
) {
    assert_eq!(root.name, "iati-activities");
    assert_eq!(root.required("version"), "2.03");
    let plan = resolve_plan(db, Some(plan_code)).await.unwrap();
    let mut activities = activity::Entity::find()
        .filter(activity::Column::PlanId.eq(plan.id))
        .all(db)
        .await
        .unwrap();
    activities.sort_by(|a, b| a.code.cmp(&b.code));
    let written: Vec<&Node> = root.all("iati-activity").collect();
    let identifiers: Vec<&str> = written
        .iter()
        .map(|a| a.one("iati-identifier").text.as_str())
        .collect();
    let expected: Vec<String> = activities
        .iter()
        .map(|a| format!("{}-{}-{}", publisher.reporting_org_ref, plan.code, a.code))
        .collect();
    assert_eq!(
        identifiers, expected,
        "one activity per plan activity, in code order"
    );

    let rates = rate_table(db).await.unwrap();
    let to_plan = |value: &Node| {
        let text = value.text.as_str();
        let from = currency(value.required("currency"));
        let value_date = date(value.required("value-date"));
        rates
            .convert(amount(text), from, plan.currency, value_date)
            .unwrap()
    };
    let mut money: BTreeMap<String, Money> = BTreeMap::new();
    let mut budget_years: BTreeMap<(String, i32), Amount> = BTreeMap::new();
    for (model, node) in activities.iter().zip(&written) {
        assert_eq!(node.required("default-currency"), plan.currency.code());
        let reporting = node.one("reporting-org");
        assert_eq!(reporting.required("ref"), publisher.reporting_org_ref);
        assert_eq!(reporting.required("type"), publisher.reporting_org_type);
        assert_eq!(reporting.narrative(), publisher.reporting_org_name);
        assert_eq!(node.one("title").narrative(), model.title);
        assert!(!node.one("description").narrative().is_empty());
        let status = node.one("activity-status").required("code");
        assert!(ACTIVITY_STATUS_CODES.contains(&status), "status {status}");
        assert_eq!(status, expected_status_code(model.status), "{}", model.code);
        let dates: Vec<(&str, &str)> = node
            .all("activity-date")
            .map(|d| (d.required("type"), d.required("iso-date")))
            .collect();
        let (start, end) = (model.start_date.to_string(), model.end_date.to_string());
        assert_eq!(dates, [("1", start.as_str()), ("3", end.as_str())]);
        assert_eq!(node.one("recipient-country").required("code"), plan.country);
        let sector = node.one("sector");
        assert_eq!(sector.required("vocabulary"), "1");
        assert_eq!(Some(sector.required("code")), model.sector_code.as_deref());
        for org in node.all("participating-org") {
            assert!(ORGANISATION_ROLE_CODES.contains(&org.required("role")));
            if let Some(code) = org.attr("type") {
                assert!(ORGANISATION_TYPE_CODES.contains(&code), "type {code}");
            }
            assert!(!org.narrative().is_empty());
        }
        let implementers = node
            .all("participating-org")
            .filter(|o| o.attr("role") == Some("4"))
            .count();
        assert_eq!(implementers, 1, "the lead institution of {}", model.code);

        let totals = money.entry(model.code.clone()).or_default();
        for budget in node.all("budget") {
            assert_eq!(budget.required("type"), "1");
            assert_eq!(budget.required("status"), "2");
            let start = date(budget.one("period-start").required("iso-date"));
            let end = date(budget.one("period-end").required("iso-date"));
            assert!(start < end && end < start.checked_add_days(Days::new(366)).unwrap());
            let value = budget.one("value");
            assert_eq!(value.required("currency"), plan.currency.code());
            assert_eq!(date(value.required("value-date")), start);
            let year = end.format("%Y").to_string().parse::<i32>().unwrap();
            let converted = to_plan(value);
            add(&mut totals.allocated, converted);
            let previous = budget_years.insert((model.code.clone(), year), converted);
            assert!(
                previous.is_none(),
                "two budgets for {} in {year}",
                model.code
            );
        }
        for transaction in node.all("transaction") {
            let kind = transaction.one("transaction-type").required("code");
            assert!(TRANSACTION_TYPE_CODES.contains(&kind), "type {kind}");
            let day = date(transaction.one("transaction-date").required("iso-date"));
            assert!(day <= as_of, "a transaction dated {day}, after {as_of}");
            let value = transaction.one("value");
            assert_eq!(date(value.required("value-date")), day);
            assert!(!transaction.one("provider-org").narrative().is_empty());
            match kind {
                "2" => add(&mut totals.committed, to_plan(value)),
                "3" => add(&mut totals.disbursed, to_plan(value)),
                other => panic!("naptrack writes no transaction of type {other}"),
            }
        }
    }

    let by_activity = |report: &reports::ExecutionReport| -> BTreeMap<String, Money> {
        report
            .rows
            .iter()
            .map(|row| {
                let money = Money {
                    allocated: row.allocated,
                    committed: row.committed,
                    disbursed: row.disbursed,
                };
                (row.key.clone(), money)
            })
            .collect()
    };
    let filters = Filters {
        to: Some(as_of),
        ..Filters::default()
    };
    let report = reports::execution(db, &plan, Dimension::Activity, filters)
        .await
        .unwrap();
    let mut expected = by_activity(&report);
    for code in money.keys() {
        expected.entry(code.clone()).or_default();
    }
    assert_eq!(
        money, expected,
        "the file's money per activity against the report"
    );
    // Each budget is the allocation of its own fiscal year.
    let years: BTreeSet<i32> = budget_years.keys().map(|(_, year)| *year).collect();
    for year in years {
        let filters = Filters {
            fiscal_year: Some(year),
            ..Filters::default()
        };
        let report = reports::execution(db, &plan, Dimension::Activity, filters)
            .await
            .unwrap();
        for row in report.rows.iter().filter(|r| r.allocated != Amount::ZERO) {
            assert_eq!(
                budget_years.get(&(row.key.clone(), year)),
                Some(&row.allocated),
                "the {year} budget of {}",
                row.key
            );
        }
    }
}

/// Exports `plan` with `publisher` up to `as_of` into `file` inside the test's folder.
pub(crate) async fn export_to_file(
    db: &DatabaseConnection,
    plan: &str,
    publisher: &IatiSettings,
    as_of: NaiveDate,
    file: &Path,
) -> IatiSummary {
    let options = IatiOptions {
        publisher,
        as_of,
        generated_at: Utc::now(),
    };
    let out = std::io::BufWriter::new(std::fs::File::create(file).unwrap());
    export_iati(db, Some(plan), &options, out).await.unwrap()
}

pub(crate) fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// Every transaction of the file by its reference.
fn transactions(root: &Node) -> BTreeMap<String, &Node> {
    root.all("iati-activity")
        .flat_map(|a| a.all("transaction"))
        .map(|t| (t.required("ref").to_owned(), t))
        .collect()
}

// --- The sample plan --------------------------------------------------------------------

#[tokio::test]
async fn the_sample_plan_exports_as_a_valid_iati_file_that_matches_the_execution_report() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;
    let publisher = IatiSettings::default();
    let file = test_db.dir.path().join("samples.xml");

    let summary = export_to_file(&db, SAMPLE_PLAN, &publisher, today(), &file).await;

    assert_eq!(
        summary,
        IatiSummary {
            activities: SAMPLE_ACTIVITIES as u64,
            commitments: SAMPLE_COMMITMENTS,
            disbursements: SAMPLE_DISBURSEMENTS,
            left_out: 0,
            results: 6,
            results_left_out: Vec::new(),
        }
    );
    assert_schema_valid(&file);
    let root = parse(&std::fs::read_to_string(&file).unwrap());
    check_export(&db, SAMPLE_PLAN, &publisher, today(), &root).await;
}

#[tokio::test]
async fn sample_transactions_keep_their_currency_amount_parties_and_reversals() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;
    let file = test_db.dir.path().join("samples.xml");
    export_to_file(&db, SAMPLE_PLAN, &IatiSettings::default(), today(), &file).await;
    let root = parse(&std::fs::read_to_string(&file).unwrap());
    let transactions = transactions(&root);

    // A USD disbursement of the UN grant: its own currency and exact amount, the donor as
    // provider with its IATI reference, the payee as receiver.
    let paid = transactions["D-2015-0003"];
    assert_eq!(paid.one("transaction-type").required("code"), "3");
    let value = paid.one("value");
    assert_eq!(
        (
            value.text.as_str(),
            value.required("currency"),
            value.required("value-date")
        ),
        ("7814.13", "USD", "2015-01-24")
    );
    assert_eq!(
        paid.one("receiver-org").narrative(),
        "Office of the State Prosecutor"
    );
    assert_eq!(paid.one("receiver-org").attr("type"), Some("10"));
    // A partial reversal is a negative disbursement with its own description.
    let reversal = transactions["D-2016-0034"];
    assert_eq!(reversal.one("transaction-type").required("code"), "3");
    assert_eq!(reversal.one("value").text, "-4500.00");
    assert_eq!(
        reversal.one("description").narrative(),
        "Partial reversal: unspent training advance refunded"
    );
    // The state budget has no donor institution: it provides as itself, the government.
    let state = transactions["D-2015-0002"].one("provider-org");
    assert_eq!(
        (state.attr("ref"), state.attr("type"), state.narrative()),
        (None, Some("10"), "State budget")
    );
    // A commitment of the UN grant: type 2, in USD, provided by the UN agency.
    let commitment = transactions["C-2015-003"];
    assert_eq!(commitment.one("transaction-type").required("code"), "2");
    assert_eq!(commitment.one("value").text, "81800.00");
    assert_eq!(commitment.one("value").required("currency"), "USD");
    let provider = commitment.one("provider-org");
    assert_eq!(provider.attr("ref"), Some("XM-DAC-90002"));
    assert_eq!(provider.narrative(), "UN Migration Agency, Country Office");
}

#[tokio::test]
async fn the_funders_of_an_activity_take_part_once_each_and_its_lead_implements_it() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;
    let file = test_db.dir.path().join("samples.xml");
    export_to_file(&db, SAMPLE_PLAN, &IatiSettings::default(), today(), &file).await;
    let root = parse(&std::fs::read_to_string(&file).unwrap());

    let mut funded = 0;
    for activity in root.all("iati-activity") {
        let funders: Vec<&str> = activity
            .all("participating-org")
            .filter(|o| o.attr("role") == Some("1"))
            .map(|o| o.narrative())
            .collect();
        let unique: BTreeSet<&str> = funders.iter().copied().collect();
        assert_eq!(unique.len(), funders.len(), "a funder twice: {funders:?}");
        // Every provider of a transaction is one of the activity's funders.
        for transaction in activity.all("transaction") {
            let provider = transaction.one("provider-org").narrative();
            assert!(
                unique.contains(provider),
                "{provider} is not among {funders:?}"
            );
        }
        funded += usize::from(!funders.is_empty());
    }
    assert!(funded > 30, "only {funded} activities have a funder");

    // The victim compensation fund's activity is planned, unfunded, led by the ministry of
    // justice.
    let fund = root
        .all("iati-activity")
        .find(|a| a.one("iati-identifier").text.ends_with("-NAP-2015-PROT-10"))
        .expect("PROT-10");
    assert_eq!(fund.one("activity-status").required("code"), "1");
    assert_eq!(fund.all("budget").count(), 0);
    assert_eq!(fund.all("transaction").count(), 0);
    let lead = fund.one("participating-org");
    assert_eq!(lead.required("role"), "4");
    assert_eq!(lead.narrative(), "Ministry of Justice");
}

#[tokio::test]
async fn a_transaction_dated_after_today_is_left_out_and_counted() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;
    let tomorrow = today().checked_add_days(Days::new(1)).unwrap();
    import_csv(
        &db,
        RecordKind::Disbursements,
        &format!(
            "plan_code,reference,budget_line_code,date,amount,currency\n\
             NAP-2015,D-FUTURE-1,BL-2019-001,{tomorrow},100.00,EUR\n"
        ),
    )
    .await;
    let file = test_db.dir.path().join("samples.xml");

    let summary = export_to_file(&db, SAMPLE_PLAN, &IatiSettings::default(), today(), &file).await;

    assert_eq!(summary.left_out, 1);
    assert_eq!(summary.disbursements, SAMPLE_DISBURSEMENTS);
    let root = parse(&std::fs::read_to_string(&file).unwrap());
    assert!(!transactions(&root).contains_key("D-FUTURE-1"));
    check_export(&db, SAMPLE_PLAN, &IatiSettings::default(), today(), &root).await;
}

#[tokio::test]
async fn a_plan_without_activities_is_refused_before_anything_is_written() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let plans = std::fs::read_to_string(samples_dir().join("plans.csv")).unwrap();
    import_csv(&db, RecordKind::Plans, &plans).await;
    let publisher = IatiSettings::default();
    let mut out = Vec::new();

    let result = export_iati(&db, None, &IatiOptions::now(&publisher), &mut out).await;

    let message = result.map(|_| ()).unwrap_err().to_string();
    assert!(message.contains("no activities"), "{message}");
    assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
}

/// Takes the sector off the sample activities `codes`, as a plan imported before sectors.
async fn clear_sectors(db: &DatabaseConnection, codes: &[&str]) {
    use sea_orm::sea_query::Expr;
    activity::Entity::update_many()
        .col_expr(
            activity::Column::SectorCode,
            Expr::value(Option::<String>::None),
        )
        .filter(activity::Column::Code.is_in(codes.iter().copied()))
        .exec(db)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_export_with_activities_without_a_sector_is_refused_naming_each_before_anything_is_written()
 {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;
    clear_sectors(&db, &["PREV-01", "PART-09"]).await;
    let publisher = IatiSettings::default();
    let mut out = Vec::new();

    let result = export_iati(&db, None, &IatiOptions::now(&publisher), &mut out).await;

    let Err(naptrack::error::Error::Invalid { message, details }) = result else {
        panic!("expected the export to be refused, got {result:?}");
    };
    assert!(
        message
            .contains("activity PART-09 has no sector_code; activity PREV-01 has no sector_code"),
        "{message}"
    );
    let named: Vec<(&str, &str)> = details
        .iter()
        .map(|d| (d.column.as_str(), d.message.as_str()))
        .collect();
    assert_eq!(
        named,
        [
            ("sector_code", "activity PART-09 has no sector_code"),
            ("sector_code", "activity PREV-01 has no sector_code"),
        ]
    );
    assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
}

// --- Generated plans --------------------------------------------------------------------

/// A small deterministic generator (xorshift64*), so that a failing seed can be rerun.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A positive amount with 0 to 4 fraction digits, as text.
    fn amount(&mut self, max_units: u64) -> String {
        let units = 1 + self.below(max_units);
        match self.below(5) {
            0 => units.to_string(),
            digits => format!(
                "{units}.{:0width$}",
                self.below(10u64.pow(digits as u32)),
                width = digits as usize
            ),
        }
    }

    fn date(&mut self, from: NaiveDate, days: u64) -> NaiveDate {
        from.checked_add_days(Days::new(self.below(days))).unwrap()
    }
}

/// CSV text with a header, quoted where needed.
fn csv_text(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(header).unwrap();
    for row in rows {
        writer.write_record(row).unwrap();
    }
    String::from_utf8(writer.into_inner().unwrap()).unwrap()
}

/// Rows of literal cells.
fn text_rows<const N: usize>(rows: &[[&str; N]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|row| row.iter().map(|cell| cell.to_string()).collect())
        .collect()
}

/// A name no XML writer may take literally.
const AWKWARD_NAME: &str = "<Safe> Home & \"Friends\" 'Shelter'";
/// An amount with every digit the contract allows, paid in the plan's currency.
const BIG_AMOUNT: &str = "12345678901234.5678";

/// Rough value of one unit in ten-thousandths of a common measure, to make plausible rates.
fn unit_value(code: &str) -> u64 {
    match code {
        "EUR" => 11_000,
        "USD" => 10_000,
        "GBP" => 13_000,
        "JPY" => 85,
        _ => 10_500,
    }
}

/// A rate as the contract writes it, from millionths.
fn rate_text(micros: u64) -> String {
    format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

/// Imports a random plan `GEN-{seed}` with activities of every status, budget lines,
/// commitments and disbursements in several currencies, reversals, payees with and without
/// IATI references, and rates in both directions; returns the plan's code.
pub(crate) async fn generate_plan(db: &DatabaseConnection, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let plan_currency = ["EUR", "USD", "JPY"][(seed % 3) as usize];
    let start_month = ["1", "10", "7"][(seed % 3) as usize];
    let others: Vec<&str> = ["EUR", "USD", "GBP", "JPY", "CHF"]
        .into_iter()
        .filter(|c| *c != plan_currency)
        .collect();
    let plan = format!("GEN-{seed}");

    let institutions = text_rows(&[
        ["GOV", "Ministry of Interior", "government", ""],
        ["NGO", AWKWARD_NAME, "ngo", ""],
        [
            "DON-A",
            "Partner Government Aid Office",
            "donor",
            "XI-IATI-GEN-A",
        ],
        ["DON-B", "Multilateral Fund", "multilateral", "XM-DAC-99999"],
        ["CO", "Print & Co LLC", "private", ""],
        ["BAR", "Legal aid panel", "other", ""],
    ]);
    import_csv(
        db,
        RecordKind::Institutions,
        &csv_text(&["code", "name", "kind", "iati_ref"], &institutions),
    )
    .await;
    let sources = [
        ("STATE", "State budget", "", "state_budget", plan_currency),
        ("GRANT-A", "Grant A", "DON-A", "donor_grant", others[0]),
        ("GRANT-B", "Grant B", "DON-B", "donor_grant", plan_currency),
        ("LOAN-A", "Loan A", "DON-A", "loan", others[1]),
        ("OWN", "Own revenue", "", "other", others[2]),
    ];
    let rows: Vec<Vec<String>> = sources
        .iter()
        .map(|(code, name, donor, kind, currency)| {
            [*code, *name, *donor, *kind, *currency]
                .map(str::to_owned)
                .to_vec()
        })
        .collect();
    import_csv(
        db,
        RecordKind::FundingSources,
        &csv_text(&["code", "name", "donor_code", "kind", "currency"], &rows),
    )
    .await;
    let plan_row = vec![vec![
        plan.clone(),
        format!("Generated plan {seed} & <friends>"),
        "XK".into(),
        plan_currency.into(),
        "2015-01-01".into(),
        "2019-12-31".into(),
        start_month.into(),
    ]];
    import_csv(
        db,
        RecordKind::Plans,
        &csv_text(
            &[
                "code",
                "title",
                "country",
                "currency",
                "start_date",
                "end_date",
                "fiscal_year_start_month",
            ],
            &plan_row,
        ),
    )
    .await;

    // Rates on the 1st and the 15th of every month from 2014, each currency against the
    // plan's, every other one quoted the other way round. Integer arithmetic throughout.
    let mut rates = Vec::new();
    for (index, other) in others.iter().enumerate() {
        for month in 0..74 {
            let first = date("2014-01-01")
                .checked_add_months(chrono::Months::new(month))
                .unwrap();
            for day in [first, first.checked_add_days(Days::new(14)).unwrap()] {
                let jitter = 9_000 + rng.below(2_000);
                let micros =
                    unit_value(other) * 1_000_000 * jitter / (unit_value(plan_currency) * 10_000);
                let row = if index % 2 == 0 {
                    vec![
                        day.to_string(),
                        other.to_string(),
                        plan_currency.into(),
                        rate_text(micros),
                    ]
                } else {
                    let inverse = 1_000_000_000_000 / micros;
                    vec![
                        day.to_string(),
                        plan_currency.into(),
                        other.to_string(),
                        rate_text(inverse),
                    ]
                };
                rates.push(row);
            }
        }
    }
    import_csv(
        db,
        RecordKind::ExchangeRates,
        &csv_text(&["date", "currency", "quote_currency", "rate"], &rates),
    )
    .await;

    let objectives = vec![
        vec![
            plan.clone(),
            "O1".into(),
            "Prevention".into(),
            String::new(),
        ],
        vec![
            plan.clone(),
            "O2".into(),
            "Protection & care".into(),
            String::new(),
        ],
    ];
    import_csv(
        db,
        RecordKind::Objectives,
        &csv_text(&["plan_code", "code", "title", "parent_code"], &objectives),
    )
    .await;
    let statuses = ["planned", "ongoing", "completed", "cancelled"];
    let leads = ["GOV", "NGO", "DON-A", "DON-B", "CO", "BAR"];
    let activity_count = 6;
    let activities: Vec<Vec<String>> = (0..activity_count)
        .map(|i| {
            vec![
                plan.clone(),
                format!("A-{i:02}"),
                format!("Activity {i} <{}> & more", rng.below(100)),
                rng.pick(&["O1", "O2"]).to_string(),
                rng.pick(&leads).to_string(),
                rng.date(date("2015-01-01"), 300).to_string(),
                rng.date(date("2018-06-01"), 500).to_string(),
                statuses[i % statuses.len()].to_string(),
                ["15180", "16010", "15130", "15210"][i % 4].to_string(),
            ]
        })
        .collect();
    import_csv(
        db,
        RecordKind::Activities,
        &csv_text(
            &[
                "plan_code",
                "code",
                "title",
                "objective_code",
                "lead_institution_code",
                "start_date",
                "end_date",
                "status",
                "sector_code",
            ],
            &activities,
        ),
    )
    .await;

    // Budget lines for every activity but the last, which has no money at all.
    let mut lines = Vec::new();
    for i in 0..activity_count - 1 {
        for year in 2016..=2018 {
            for n in 0..1 + rng.below(2) {
                let (source, _, _, _, currency) = *rng.pick(&sources);
                lines.push(vec![
                    plan.clone(),
                    format!("BL-{i}-{year}-{n}"),
                    format!("A-{i:02}"),
                    source.to_owned(),
                    year.to_string(),
                    rng.pick(&["wages", "goods_and_services", "capital"])
                        .to_string(),
                    rng.amount(2_000_000),
                    currency.to_owned(),
                ]);
            }
        }
    }
    let line_header = [
        "plan_code",
        "code",
        "activity_code",
        "funding_source_code",
        "fiscal_year",
        "category",
        "amount",
        "currency",
    ];
    import_csv(db, RecordKind::BudgetLines, &csv_text(&line_header, &lines)).await;

    let mut commitments = Vec::new();
    for i in 0..activity_count - 1 {
        for n in 0..rng.below(4) {
            let (source, _, _, _, currency) = *rng.pick(&sources);
            commitments.push(vec![
                plan.clone(),
                format!("C-{i}-{n}"),
                source.to_owned(),
                format!("A-{i:02}"),
                rng.date(date("2015-01-01"), 1500).to_string(),
                String::new(),
                rng.amount(5_000_000),
                currency.to_owned(),
            ]);
        }
    }
    import_csv(
        db,
        RecordKind::Commitments,
        &csv_text(
            &[
                "plan_code",
                "reference",
                "funding_source_code",
                "activity_code",
                "date",
                "due_date",
                "amount",
                "currency",
            ],
            &commitments,
        ),
    )
    .await;

    // Disbursements, mostly in their line's currency, some in another; then reversals of
    // some of them, whole or in part, on or after the original's date.
    let payees = ["", "GOV", "NGO", "CO", "BAR", "DON-B"];
    let mut disbursements = Vec::new();
    for n in 0..150 {
        let line = rng.pick(&lines).clone();
        let paid_in = if rng.chance(20) {
            rng.pick(&others).to_string()
        } else {
            line[7].clone()
        };
        disbursements.push(vec![
            plan.clone(),
            format!("D-{n:04}"),
            line[1].clone(),
            rng.date(date("2015-01-01"), 1800).to_string(),
            rng.amount(80_000),
            paid_in,
            rng.pick(&payees).to_string(),
            if rng.chance(50) {
                format!("Payment {n} for <materials> & \"services\"")
            } else {
                String::new()
            },
            String::new(),
        ]);
    }
    let big_line = lines
        .iter()
        .find(|l| l[7] == plan_currency)
        .expect("a line in the plan's currency");
    disbursements.push(vec![
        plan.clone(),
        "D-BIG".into(),
        big_line[1].clone(),
        "2017-05-05".into(),
        BIG_AMOUNT.into(),
        plan_currency.into(),
        "NGO".into(),
        String::new(),
        String::new(),
    ]);
    let originals = disbursements.clone();
    for (n, original) in originals.iter().enumerate().filter(|(n, _)| n % 9 == 4) {
        // A part is the whole units of the original, a whole reversal all of it.
        let whole = rng.chance(50);
        let units = amount(&original[4]).to_string();
        let units = units.split('.').next().unwrap_or_default();
        let taken = if whole || units == "0" {
            original[4].as_str()
        } else {
            units
        };
        let later = date(&original[3])
            .checked_add_days(Days::new(rng.below(60)))
            .unwrap()
            .min(today());
        disbursements.push(vec![
            plan.clone(),
            format!("R-{n:04}"),
            original[2].clone(),
            later.to_string(),
            format!("-{taken}"),
            original[5].clone(),
            original[6].clone(),
            if whole {
                String::new()
            } else {
                "Partial refund".into()
            },
            original[1].clone(),
        ]);
    }
    import_csv(
        db,
        RecordKind::Disbursements,
        &csv_text(
            &[
                "plan_code",
                "reference",
                "budget_line_code",
                "date",
                "amount",
                "currency",
                "payee_code",
                "description",
                "reverses",
            ],
            &disbursements,
        ),
    )
    .await;
    plan
}

#[tokio::test]
async fn generated_plans_in_several_currencies_export_valid_files_that_match_the_report() {
    for seed in [1_u64, 2, 3] {
        let test_db = TestDb::new().await;
        let db = test_db.connect().await;
        let plan = generate_plan(&db, seed).await;
        let publisher = IatiSettings {
            reporting_org_ref: "XM-DAC-12345".into(),
            reporting_org_name: "Ministry of Finance & <Economy>".into(),
            reporting_org_type: "10".into(),
            language: "sq".into(),
        };
        let file = test_db.dir.path().join(format!("{plan}.xml"));

        let summary = export_to_file(&db, &plan, &publisher, today(), &file).await;

        assert_eq!(summary.activities, 6, "seed {seed}");
        assert!(summary.disbursements > 151, "seed {seed}: {summary:?}");
        assert_eq!(summary.left_out, 0);
        assert_schema_valid(&file);
        let root = parse(&std::fs::read_to_string(&file).unwrap());
        check_export(&db, &plan, &publisher, today(), &root).await;

        let first = root.all("iati-activity").next().unwrap();
        assert_eq!(first.required("xml:lang"), "sq");
        let transactions = transactions(&root);
        let big = transactions["D-BIG"];
        assert_eq!(big.one("value").text, BIG_AMOUNT, "seed {seed}");
        assert_eq!(big.one("receiver-org").narrative(), AWKWARD_NAME);
        assert_eq!(big.one("receiver-org").attr("type"), Some("22"));
        let reversals: Vec<&&Node> = transactions
            .iter()
            .filter(|(reference, _)| reference.starts_with("R-"))
            .map(|(_, t)| t)
            .collect();
        assert!(!reversals.is_empty());
        for reversal in reversals {
            assert_eq!(reversal.one("transaction-type").required("code"), "3");
            assert!(reversal.one("value").text.starts_with('-'));
            let said = reversal.one("description").narrative();
            assert!(
                said == "Partial refund" || said.starts_with("Reversal of D-"),
                "{said}"
            );
        }
        let currencies: BTreeSet<&str> = transactions
            .values()
            .map(|t| t.one("value").required("currency"))
            .collect();
        assert!(currencies.len() >= 3, "seed {seed}: only {currencies:?}");
        // The last activity has no money: no funder, budget or transaction, only its lead.
        let idle = root.all("iati-activity").last().unwrap();
        assert_eq!(idle.all("participating-org").count(), 1);
        assert_eq!(
            idle.all("budget").count() + idle.all("transaction").count(),
            0
        );
        // A donor's grant names the donor by its IATI reference wherever it provides money.
        let refs: BTreeSet<&str> = transactions
            .values()
            .filter_map(|t| t.one("provider-org").attr("ref"))
            .collect();
        assert!(
            refs.is_subset(&BTreeSet::from(["XI-IATI-GEN-A", "XM-DAC-99999"])),
            "{refs:?}"
        );
    }
}

// --- The API route ----------------------------------------------------------------------

#[rocket::async_test]
async fn every_role_downloads_the_plan_as_application_xml() {
    let app = TestApp::spawn().await;
    app.import_samples().await;

    for role in [Role::Admin, Role::Recorder, Role::Donor, Role::Auditor] {
        let token = app.token_for(&format!("{role}@example.org"), role).await;
        let response = app
            .get_with(Some(&token), "/api/v1/plans/NAP-2015/iati.xml")
            .await;

        assert_eq!(response.status(), Status::Ok, "{role}");
        let content_type = response.content_type().expect("a content type");
        assert!(
            content_type.top() == "application" && content_type.sub() == "xml",
            "{role}: {content_type}"
        );
        let body = response.into_string().await.unwrap();
        let root = parse(&body);
        assert_eq!(root.all("iati-activity").count(), SAMPLE_ACTIVITIES);
        if role == Role::Donor {
            let file = write_file(app.test_db(), "api.xml", &body);
            assert_schema_valid(&file);
            // The publisher is whatever the app was configured with (Rocket.toml).
            let settings = app
                .client
                .rocket()
                .state::<Settings>()
                .expect("the settings");
            check_export(&app.db, SAMPLE_PLAN, &settings.iati, today(), &root).await;
        }
    }
}

#[rocket::async_test]
async fn the_contract_s_export_route_gives_the_same_file_and_names_an_unknown_plan() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    let token = app.token_for("donor@example.org", Role::Donor).await;

    for uri in ["/api/v1/export/iati?plan=NAP-2015", "/api/v1/export/iati"] {
        let response = app.get_with(Some(&token), uri).await;
        assert_eq!(response.status(), Status::Ok, "{uri}");
        let content_type = response.content_type().expect("a content type");
        assert!(
            content_type.top() == "application" && content_type.sub() == "xml",
            "{content_type}"
        );
        let body = response.into_string().await.unwrap();
        assert_eq!(parse(&body).all("iati-activity").count(), SAMPLE_ACTIVITIES);
        assert_schema_valid(&write_file(app.test_db(), "export.xml", &body));
    }
    let unknown = app
        .get_with(Some(&token), "/api/v1/export/iati?plan=NOPE")
        .await;
    assert_eq!(unknown.status(), Status::NotFound);
    assert_eq!(
        app.get_with(None, "/api/v1/export/iati").await.status(),
        Status::Unauthorized
    );
}

#[rocket::async_test]
async fn the_xml_route_answers_an_unknown_plan_with_404_and_no_token_with_401() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    let token = app.token_for("donor@example.org", Role::Donor).await;

    let unknown = app
        .get_with(Some(&token), "/api/v1/plans/NOPE/iati.xml")
        .await;
    assert_eq!(unknown.status(), Status::NotFound);
    assert_eq!(unknown.content_type(), Some(ContentType::JSON));
    let body: serde_json::Value =
        serde_json::from_str(&unknown.into_string().await.unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("NOPE"),
        "{body}"
    );

    let anonymous = app.get_with(None, "/api/v1/plans/NAP-2015/iati.xml").await;
    assert_eq!(anonymous.status(), Status::Unauthorized);
}

#[rocket::async_test]
async fn the_xml_route_refuses_activities_without_a_sector_with_422_naming_each() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    clear_sectors(&app.db, &["PROT-04"]).await;
    let token = app.token_for("donor@example.org", Role::Donor).await;

    let response = app
        .get_with(Some(&token), "/api/v1/plans/NAP-2015/iati.xml")
        .await;

    assert_eq!(response.status(), Status::UnprocessableEntity);
    assert_eq!(response.content_type(), Some(ContentType::JSON));
    let body: serde_json::Value =
        serde_json::from_str(&response.into_string().await.unwrap()).unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("activity PROT-04 has no sector_code"),
        "{body}"
    );
    assert_eq!(
        body["error"]["details"],
        serde_json::json!([{"column": "sector_code", "message": "activity PROT-04 has no sector_code"}]),
        "{body}"
    );
}

#[rocket::async_test]
async fn a_signed_in_browser_downloads_the_iati_file_from_the_reports_page_or_reads_why_not() {
    use crate::web::{PASSWORD, add_user};
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, "donor@embassy.example", Role::Donor).await;
    app.sign_in("donor@embassy.example", PASSWORD).await;

    let (_, reports) = app.page("/reports?plan=NAP-2015").await;
    assert!(
        reports.contains("href=\"/reports/iati.xml?plan=NAP-2015\""),
        "{reports}"
    );
    let response = app.get("/reports/iati.xml?plan=NAP-2015").await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(
        response.headers().get_one("Content-Disposition"),
        Some("attachment; filename=\"NAP-2015-iati.xml\"")
    );
    let xml = response.into_string().await.unwrap();
    let root = parse(&xml);
    assert_eq!(root.all("iati-activity").count(), 40);

    clear_sectors(&app.db, &["PROT-04"]).await;
    let (status, page) = app.page("/reports/iati.xml?plan=NAP-2015").await;
    assert_eq!(status, Status::UnprocessableEntity);
    assert!(
        page.contains("activity PROT-04 has no sector_code"),
        "{page}"
    );
}

// --- The command line -------------------------------------------------------------------

fn import_samples_cli(db: &TestDb) {
    let dir = samples_dir();
    let output = naptrack(db, &["import", dir.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
}

#[tokio::test]
async fn export_iati_writes_the_file_into_place_with_a_summary() {
    let test_db = TestDb::new().await;
    import_samples_cli(&test_db);

    let output = naptrack(&test_db, &["export", "iati", "-o", "plan.xml"]);

    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("40 activities, 36 commitments, 397 disbursements, 6 results"),
        "{}",
        stdout(&output)
    );
    let file = test_db.dir.path().join("plan.xml");
    assert!(!test_db.dir.path().join("plan.xml.partial").exists());
    assert_schema_valid(&file);
    let root = parse(&std::fs::read_to_string(&file).unwrap());
    let db = test_db.connect().await;
    check_export(&db, SAMPLE_PLAN, &IatiSettings::default(), today(), &root).await;
}

#[tokio::test]
async fn export_iati_without_a_file_writes_the_document_to_standard_output() {
    let test_db = TestDb::new().await;
    import_samples_cli(&test_db);

    let output = naptrack(&test_db, &["export", "iati", "--plan", SAMPLE_PLAN]);

    assert!(output.status.success(), "{}", stderr(&output));
    let root = parse(&stdout(&output));
    assert_eq!(root.all("iati-activity").count(), SAMPLE_ACTIVITIES);
}

#[tokio::test]
async fn export_iati_of_an_unknown_plan_fails_with_a_message_and_leaves_no_file() {
    let test_db = TestDb::new().await;
    import_samples_cli(&test_db);

    let output = naptrack(
        &test_db,
        &["export", "iati", "--plan", "NOPE", "-o", "plan.xml"],
    );

    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("there is no plan with code \"NOPE\""),
        "{}",
        stderr(&output)
    );
    assert!(!test_db.dir.path().join("plan.xml").exists());
    assert!(!test_db.dir.path().join("plan.xml.partial").exists());
}

#[tokio::test]
async fn export_iati_of_a_plan_with_an_activity_without_a_sector_fails_and_leaves_no_file() {
    let test_db = TestDb::new().await;
    import_samples_cli(&test_db);
    clear_sectors(&test_db.connect().await, &["PROS-02"]).await;

    let output = naptrack(&test_db, &["export", "iati", "-o", "plan.xml"]);

    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("activity PROS-02 has no sector_code"),
        "{}",
        stderr(&output)
    );
    assert!(!test_db.dir.path().join("plan.xml").exists());
    assert!(!test_db.dir.path().join("plan.xml.partial").exists());
}

#[tokio::test]
async fn the_reporting_organisation_comes_from_rocket_toml() {
    let test_db = TestDb::new().await;
    import_samples_cli(&test_db);
    write_file(
        &test_db,
        "Rocket.toml",
        "[default.iati]\nreporting_org_ref = \"XM-DAC-41114\"\n\
         reporting_org_name = \"Ministry of Finance\"\nreporting_org_type = \"10\"\n",
    );

    let output = naptrack(&test_db, &["export", "iati", "-o", "plan.xml"]);

    assert!(output.status.success(), "{}", stderr(&output));
    let root = parse(&std::fs::read_to_string(test_db.dir.path().join("plan.xml")).unwrap());
    let publisher = IatiSettings {
        reporting_org_ref: "XM-DAC-41114".into(),
        reporting_org_name: "Ministry of Finance".into(),
        ..IatiSettings::default()
    };
    let db = test_db.connect().await;
    check_export(&db, SAMPLE_PLAN, &publisher, today(), &root).await;
}

#[tokio::test]
async fn a_reporting_organisation_reference_with_a_space_stops_the_command() {
    let test_db = TestDb::new().await;
    write_file(
        &test_db,
        "Rocket.toml",
        "[default.iati]\nreporting_org_ref = \"Ministry of Finance\"\n",
    );

    let output = naptrack(&test_db, &["export", "iati"]);

    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("iati.reporting_org_ref"),
        "{}",
        stderr(&output)
    );
}
