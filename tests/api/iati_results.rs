//! Results in the IATI export: each indicator goes out as a `result` on the activity it
//! measures, or, for an objective's indicator, on the first activity (by code) of the
//! objective and its sub-objectives; one `period` per fiscal year with a target or an actual,
//! bounded by that fiscal year's first and last days; exact values; the XSD and every rule of
//! the ruleset still met.

use naptrack::config::IatiSettings;
use naptrack::domain::records::RecordKind;
use roxmltree::{Document, Node};

use crate::helpers::{TestDb, import_csv, import_samples_into, naptrack, stderr};
use crate::iati::{SAMPLE_PLAN, assert_schema_valid, export_to_file, generate_plan, today};
use crate::iati_rules::{Severity, violations};

/// The activity whose identifier ends with `-{code}`.
fn activity<'a, 'i>(document: &'a Document<'i>, code: &str) -> Node<'a, 'i> {
    let suffix = format!("-{code}");
    document
        .descendants()
        .filter(|n| n.has_tag_name("iati-activity"))
        .find(|a| {
            child(*a, "iati-identifier")
                .text()
                .is_some_and(|t| t.ends_with(&suffix))
        })
        .unwrap_or_else(|| panic!("no activity {code}"))
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Node<'a, 'i> {
    node.children()
        .find(|c| c.has_tag_name(name))
        .unwrap_or_else(|| panic!("no {name} in {}", node.tag_name().name()))
}

fn children<'a, 'i>(node: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(move |c| c.has_tag_name(name))
}

fn narrative<'a>(node: Node<'a, '_>) -> &'a str {
    child(node, "narrative").text().unwrap_or_default()
}

/// The `result` of an activity whose indicator has the title `title`.
fn result<'a, 'i>(activity: Node<'a, 'i>, title: &str) -> Node<'a, 'i> {
    children(activity, "result")
        .find(|r| narrative(child(child(*r, "indicator"), "title")) == title)
        .unwrap_or_else(|| panic!("no result {title:?}"))
}

/// Each period of an indicator as (start, end, target, actual).
type Period<'a> = (&'a str, &'a str, Option<&'a str>, Option<&'a str>);

fn periods<'a>(indicator: Node<'a, '_>) -> Vec<Period<'a>> {
    children(indicator, "period")
        .map(|p| {
            let date = |name| child(p, name).attribute("iso-date").unwrap_or_default();
            let value = |name| {
                p.children()
                    .find(|c| c.has_tag_name(name))
                    .and_then(|c| c.attribute("value"))
            };
            (
                date("period-start"),
                date("period-end"),
                value("target"),
                value("actual"),
            )
        })
        .collect()
}

/// The names of the element children of `node`, in order.
fn element_names<'a>(node: Node<'a, '_>) -> Vec<&'a str> {
    node.children()
        .filter(|c| c.is_element())
        .map(|c| c.tag_name().name())
        .collect()
}

/// Violations of severity error or warning.
fn serious(xml: &str) -> Vec<String> {
    violations(xml)
        .into_iter()
        .filter(|v| matches!(v.severity, Severity::Error | Severity::Warning))
        .map(|v| v.to_string())
        .collect()
}

#[tokio::test]
async fn the_sample_plans_indicators_go_out_as_results_on_their_activities() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;
    let file = test_db.dir.path().join("samples.xml");
    let summary = export_to_file(&db, SAMPLE_PLAN, &IatiSettings::default(), today(), &file).await;
    let xml = std::fs::read_to_string(&file).unwrap();
    assert_schema_valid(&file);
    assert_eq!(serious(&xml), Vec::<String>::new());
    assert_eq!((summary.results, summary.results_left_out.len()), (6, 0));
    let document = Document::parse(&xml).unwrap();

    // An activity's indicator: on its activity, after the transactions, output, unit.
    let helpline = activity(&document, "PREV-05");
    let names = element_names(helpline);
    assert_eq!(names.last(), Some(&"result"), "{names:?}");
    let calls = result(helpline, "Calls to the 24-hour helpline");
    assert_eq!(calls.attribute("type"), Some("1"));
    assert_eq!(
        narrative(child(calls, "title")),
        "Calls to the 24-hour helpline"
    );
    let indicator = child(calls, "indicator");
    assert_eq!(
        (
            indicator.attribute("measure"),
            indicator.attribute("ascending")
        ),
        (Some("1"), Some("1"))
    );
    assert_eq!(
        element_names(indicator),
        [
            "title",
            "description",
            "baseline",
            "period",
            "period",
            "period",
            "period",
            "period"
        ]
    );
    let baseline = child(indicator, "baseline");
    assert_eq!(
        (
            baseline.attribute("year"),
            baseline.attribute("iso-date"),
            baseline.attribute("value")
        ),
        (Some("2014"), Some("2014-12-31"), Some("1180"))
    );
    let calls_periods = periods(indicator);
    assert_eq!(
        calls_periods[0],
        ("2015-01-01", "2015-12-31", Some("1250"), Some("1302"))
    );
    // A year with a target and no actual yet has no actual.
    assert_eq!(
        calls_periods[4],
        ("2019-01-01", "2019-12-31", Some("1650"), None)
    );

    // A percentage whose baseline has a fraction, kept exactly.
    let shelter = document
        .descendants()
        .filter(|n| n.has_tag_name("result"))
        .find(|r| narrative(child(*r, "title")) == "Share of licensed shelter places used")
        .expect("the shelter indicator");
    let indicator = child(shelter, "indicator");
    assert_eq!(indicator.attribute("measure"), Some("2"));
    assert_eq!(
        child(indicator, "baseline").attribute("value"),
        Some("58.5")
    );

    // Lower is better: ascending 0.
    let hearing = document
        .descendants()
        .filter(|n| n.has_tag_name("result"))
        .find(|r| narrative(child(*r, "title")).starts_with("Days from indictment"))
        .expect("the hearing indicator");
    assert_eq!(
        child(hearing, "indicator").attribute("ascending"),
        Some("0")
    );
    assert_eq!(hearing.attribute("type"), Some("2"));
}

#[tokio::test]
async fn an_objectives_indicator_goes_on_the_first_activity_of_the_objective_and_its_sub_objectives()
 {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;
    let file = test_db.dir.path().join("samples.xml");
    export_to_file(&db, SAMPLE_PLAN, &IatiSettings::default(), today(), &file).await;
    let xml = std::fs::read_to_string(&file).unwrap();
    let document = Document::parse(&xml).unwrap();

    // IND-PROSECUTED measures objective PROS, whose activities are those of PROS.1 and
    // PROS.2: PROS-01 is the first by code, and no other activity carries it.
    let title = "Suspects prosecuted for trafficking";
    let carriers: Vec<String> = document
        .descendants()
        .filter(|n| n.has_tag_name("iati-activity"))
        .filter(|a| {
            children(*a, "result")
                .any(|r| narrative(child(child(r, "indicator"), "title")) == title)
        })
        .map(|a| {
            child(a, "iati-identifier")
                .text()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(carriers, ["XI-IATI-EXAMPLE-NAP-2015-PROS-01"]);
    let prosecuted = result(activity(&document, "PROS-01"), title);
    assert_eq!(prosecuted.attribute("type"), Some("2"));
    let description = narrative(child(prosecuted, "description"));
    assert!(
        description.starts_with("Result of objective PROS: Prosecution of traffickers.")
            && description.contains("PROS-01, PROS-02"),
        "{description}"
    );
}

/// Adds to a generated plan an objective with a sub-objective and two activities under it,
/// an empty objective, and three indicators: a percentage of the objective where lower is
/// better (a target without an actual in one year, an actual without a target in another), a
/// unit indicator of the second activity, and one of the empty objective.
async fn add_results(db: &sea_orm::DatabaseConnection, plan: &str) {
    let objectives = format!(
        "plan_code,code,title,parent_code\n\
         {plan},R,Results & learning,\n\
         {plan},R.1,Studies,R\n\
         {plan},EMPTY,Nothing yet,\n"
    );
    import_csv(db, RecordKind::Objectives, &objectives).await;
    let activities = format!(
        "plan_code,code,title,objective_code,lead_institution_code,start_date,end_date,status,sector_code\n\
         {plan},R-02,Second study,R.1,GOV,2015-01-01,2019-12-31,ongoing,15130\n\
         {plan},R-01,First study,R.1,NGO,2015-01-01,2019-12-31,ongoing,15180\n"
    );
    import_csv(db, RecordKind::Activities, &activities).await;
    let indicators = format!(
        "plan_code,code,title,objective_code,activity_code,result_type,measure,ascending,unit,baseline_year,baseline_value\n\
         {plan},I-SHARE,Share of cases dropped,R,,impact,percentage,false,,2015,40.25\n\
         {plan},I-STUDY,Studies published,,R-02,output,unit,true,studies,,\n\
         {plan},I-NONE,Nothing measured,EMPTY,,outcome,unit,true,,,\n"
    );
    import_csv(db, RecordKind::Indicators, &indicators).await;
    let values = format!(
        "plan_code,indicator_code,fiscal_year,target,actual\n\
         {plan},I-SHARE,2016,35,36.5\n\
         {plan},I-SHARE,2017,30,\n\
         {plan},I-SHARE,2018,,0.0001\n\
         {plan},I-STUDY,2016,2,3\n\
         {plan},I-NONE,2016,1,1\n"
    );
    import_csv(db, RecordKind::IndicatorValues, &values).await;
}

#[tokio::test]
async fn results_of_plans_with_other_fiscal_years_meet_the_schema_and_every_rule() {
    // Seeds 1, 2 and 3 start their fiscal years in October, July and January.
    let first_days = [
        (1_u64, "10-01", "09-30"),
        (2, "07-01", "06-30"),
        (3, "01-01", "12-31"),
    ];
    for (seed, start, end) in first_days {
        let test_db = TestDb::new().await;
        let db = test_db.connect().await;
        let plan = generate_plan(&db, seed).await;
        add_results(&db, &plan).await;
        let file = test_db.dir.path().join(format!("{plan}.xml"));
        let publisher = IatiSettings {
            reporting_org_ref: "XM-DAC-12345".into(),
            ..IatiSettings::default()
        };
        let summary = export_to_file(&db, &plan, &publisher, today(), &file).await;
        let xml = std::fs::read_to_string(&file).unwrap();
        assert_schema_valid(&file);
        assert_eq!(serious(&xml), Vec::<String>::new(), "{plan}");
        // The empty objective's indicator has no activity to go on: left out, by name.
        assert_eq!(summary.results, 2, "{plan}");
        assert_eq!(summary.results_left_out, ["I-NONE"], "{plan}");
        assert!(!xml.contains("Nothing measured"), "{plan}");

        let document = Document::parse(&xml).unwrap();
        // The objective's indicator is on R-01, the first of R's activities by code, though
        // R-02 was imported first.
        let first = activity(&document, "R-01");
        let share = result(first, "Share of cases dropped");
        assert_eq!(share.attribute("type"), Some("3"));
        assert!(narrative(child(share, "description")).contains("(R-01, R-02)"));
        let indicator = child(share, "indicator");
        assert_eq!(
            (
                indicator.attribute("measure"),
                indicator.attribute("ascending")
            ),
            (Some("2"), Some("0"))
        );
        // No unit: no description; the baseline at the last day of its fiscal year.
        assert_eq!(element_names(indicator)[..2], ["title", "baseline"]);
        let baseline = child(indicator, "baseline");
        assert_eq!(baseline.attribute("year"), Some("2015"));
        assert_eq!(
            baseline.attribute("iso-date"),
            Some(format!("2015-{end}").as_str())
        );
        assert_eq!(baseline.attribute("value"), Some("40.25"));
        let before = |year: i32| if start == "01-01" { year } else { year - 1 };
        let expected = [
            (before(2016), 2016, Some("35"), Some("36.5")),
            (before(2017), 2017, Some("30"), None),
            (before(2018), 2018, None, Some("0.0001")),
        ];
        let found = periods(indicator);
        assert_eq!(found.len(), expected.len(), "{plan}");
        for ((from, to, target, actual), (start_year, end_year, t, a)) in found.iter().zip(expected)
        {
            assert_eq!(*from, format!("{start_year}-{start}"), "{plan}");
            assert_eq!(*to, format!("{end_year}-{end}"), "{plan}");
            assert_eq!((*target, *actual), (t, a), "{plan}");
        }

        // The activity's own indicator is on R-02 only, without a baseline.
        let second = activity(&document, "R-02");
        let study = result(second, "Studies published");
        assert_eq!(children(first, "result").count(), 1);
        let indicator = child(study, "indicator");
        assert_eq!(element_names(indicator), ["title", "description", "period"]);
        assert_eq!(
            narrative(child(indicator, "description")),
            "Indicator I-STUDY, counted in studies."
        );
    }
}

#[tokio::test]
async fn the_cli_names_each_indicator_it_leaves_out_and_still_writes_the_file() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let plan = generate_plan(&db, 3).await;
    add_results(&db, &plan).await;

    let output = naptrack(
        &test_db,
        &["export", "iati", "--plan", &plan, "-o", "results.xml"],
    );

    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(
            "warning: indicators I-NONE were left out: their objectives have no activity to carry them"
        ),
        "{}",
        stderr(&output)
    );
    let file = test_db.dir.path().join("results.xml");
    assert_schema_valid(&file);
    let xml = std::fs::read_to_string(&file).unwrap();
    assert!(xml.contains("Share of cases dropped"));
    assert!(!xml.contains("Nothing measured"));
}
