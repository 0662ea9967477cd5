//! The three results rules and the results report through the real binary (`naptrack flags`,
//! `naptrack report results`) and the API (`GET /api/v1/flags`, `GET /api/v1/reports/results`)
//! on a small plan built here, at each rule's boundaries, with money in two currencies.
//!
//! The plan (EUR, calendar fiscal years 2015 to 2017) has two objectives, each with a
//! sub-objective, and one activity on each of the four objectives:
//!
//! | activity | objective | 2015 | 2016 |
//! | --- | --- | --- | --- |
//! | A1 | PROT | 100.00 EUR | 125.02 USD at 0.8 = 100.016, so 100.02 |
//! | A2 | PROT.1 (under PROT) | 100.00 EUR | 120.00 USD at 0.8 = 96.00 |
//! | A3 | PREV | 50.00 EUR | 50.00 EUR |
//! | A4 | PREV.1 (under PREV) | 20.01 USD at 0.5 = 10.005, so 10.00 (half to even), and 0.07 USD = 0.035, so 0.04 | 25.00 USD = 20.00 |
//!
//! So PROT's money (A1 + A2) falls from 200.00 to 196.02 while A1's alone rises, and PREV's
//! (A3 + A4) rises from 60.04 to 70.00 while A3's alone stays flat. A2's money rises in USD
//! (100 to 120) and falls in EUR: only the conversion keeps it from being flagged.

use std::collections::BTreeMap;

use naptrack::domain::Role;
use naptrack::domain::records::RecordKind;
use naptrack::entity::{indicator, indicator_value};
use naptrack::money::Quantity;
use rocket::http::Status;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use serde_json::{Value, json};

use crate::helpers::{TestApp, import_csv, naptrack, stdout};

const RESULTS_RULES: [&str; 3] = [
    "INDICATOR_NOT_REPORTED",
    "INDICATOR_OFF_TRACK",
    "RESULTS_FALL_AS_SPENDING_RISES",
];

async fn results_plan(db: &DatabaseConnection) {
    import_csv(
        db,
        RecordKind::Institutions,
        "code,name,kind\nMOJ,Ministry of Justice,government\n",
    )
    .await;
    import_csv(
        db,
        RecordKind::FundingSources,
        "code,name,kind,currency\nSB,State budget,state_budget,EUR\nUS,Partner grant,donor_grant,USD\n",
    )
    .await;
    import_csv(
        db,
        RecordKind::Plans,
        "code,title,country,currency,start_date,end_date,fiscal_year_start_month\nNAP,Plan,XK,EUR,2015-01-01,2017-12-31,1\n",
    )
    .await;
    import_csv(
        db,
        RecordKind::Objectives,
        "code,title,parent_code\nPROT,Protection,\nPROT.1,Identification,PROT\nPREV,Prevention,\nPREV.1,Awareness,PREV\n",
    )
    .await;
    let mut activities =
        "code,title,objective_code,lead_institution_code,start_date,end_date,status\n".to_owned();
    for (code, objective) in [
        ("A1", "PROT"),
        ("A2", "PROT.1"),
        ("A3", "PREV"),
        ("A4", "PREV.1"),
    ] {
        activities.push_str(&format!(
            "{code},Activity {code},{objective},MOJ,2015-01-01,2017-12-31,ongoing\n"
        ));
    }
    import_csv(db, RecordKind::Activities, &activities).await;
    import_csv(
        db,
        RecordKind::ExchangeRates,
        "date,currency,quote_currency,rate\n2015-01-01,USD,EUR,0.5\n2016-01-01,USD,EUR,0.8\n",
    )
    .await;
    let mut lines =
        "code,activity_code,funding_source_code,fiscal_year,category,amount,currency\n".to_owned();
    for activity in ["A1", "A2", "A3", "A4"] {
        for year in [2015, 2016] {
            lines.push_str(&format!(
                "{activity}-{year}-EUR,{activity},SB,{year},goods_and_services,100000.00,EUR\n\
                 {activity}-{year}-USD,{activity},US,{year},goods_and_services,100000.00,USD\n"
            ));
        }
    }
    import_csv(db, RecordKind::BudgetLines, &lines).await;
    import_csv(
        db,
        RecordKind::Disbursements,
        "reference,budget_line_code,date,amount,currency\n\
         D1,A1-2015-EUR,2015-03-01,100.00,EUR\n\
         D2,A1-2016-USD,2016-03-01,125.02,USD\n\
         D3,A2-2015-EUR,2015-03-01,100.00,EUR\n\
         D4,A2-2016-USD,2016-03-01,120.00,USD\n\
         D5,A3-2015-EUR,2015-03-01,50.00,EUR\n\
         D6,A3-2016-EUR,2016-03-01,50.00,EUR\n\
         D7,A4-2015-USD,2015-03-01,20.01,USD\n\
         D8,A4-2015-USD,2015-03-02,0.07,USD\n\
         D9,A4-2016-USD,2016-03-01,25.00,USD\n",
    )
    .await;
    // code, measures (objective, activity), ascending, baseline (year, value)
    let indicators = [
        ("OT-UP-EXACT", ("", "A3"), true, ""),
        ("OT-UP-OVER", ("", "A3"), true, ""),
        ("OT-DOWN-EXACT", ("", "A3"), false, ""),
        ("OT-DOWN-OVER", ("", "A3"), false, ""),
        ("FALL-RISING-MONEY", ("", "A1"), true, ""),
        ("FALL-FALLING-MONEY", ("", "A2"), true, ""),
        ("FALL-EQUAL-MONEY", ("", "A3"), true, ""),
        ("RISE-DESCENDING", ("", "A1"), false, ""),
        ("RISE-ASCENDING", ("", "A1"), true, ""),
        ("FALL-DESCENDING", ("", "A1"), false, ""),
        ("FALL-FROM-BASELINE", ("", "A1"), true, "2015,50"),
        ("OBJ-PROT", ("PROT", ""), true, ""),
        ("OBJ-PREV", ("PREV", ""), true, ""),
        ("NOT-REPORTED", ("", "A3"), true, ""),
        ("COST-TIE", ("", "A3"), true, ""),
    ];
    let mut csv = "code,title,objective_code,activity_code,result_type,measure,ascending,unit,baseline_year,baseline_value\n".to_owned();
    for (code, (objective, activity), ascending, baseline) in indicators {
        let baseline = if baseline.is_empty() { "," } else { baseline };
        csv.push_str(&format!(
            "{code},Indicator {code},{objective},{activity},outcome,unit,{ascending},cases,{baseline}\n"
        ));
    }
    import_csv(db, RecordKind::Indicators, &csv).await;
    import_csv(
        db,
        RecordKind::IndicatorValues,
        "indicator_code,fiscal_year,target,actual\n\
         OT-UP-EXACT,2016,80,60\n\
         OT-UP-OVER,2016,80,59\n\
         OT-DOWN-EXACT,2016,80,100\n\
         OT-DOWN-OVER,2016,80,101\n\
         FALL-RISING-MONEY,2015,,50\n\
         FALL-RISING-MONEY,2016,,40\n\
         FALL-FALLING-MONEY,2015,,50\n\
         FALL-FALLING-MONEY,2016,,40\n\
         FALL-EQUAL-MONEY,2015,,50\n\
         FALL-EQUAL-MONEY,2016,,40\n\
         RISE-DESCENDING,2015,,30\n\
         RISE-DESCENDING,2016,,31\n\
         RISE-ASCENDING,2015,,40\n\
         RISE-ASCENDING,2016,,50\n\
         FALL-DESCENDING,2015,,31\n\
         FALL-DESCENDING,2016,,30\n\
         FALL-FROM-BASELINE,2016,,49\n\
         OBJ-PROT,2015,,50\n\
         OBJ-PROT,2016,,40\n\
         OBJ-PREV,2015,,50\n\
         OBJ-PREV,2016,,40\n\
         NOT-REPORTED,2016,10,\n\
         COST-TIE,2015,,16\n\
         COST-TIE,2016,256,16\n",
    )
    .await;
}

async fn results_app() -> (TestApp, String) {
    let app = TestApp::spawn().await;
    results_plan(&app.db).await;
    let token = app.token_for("donor@example.org", Role::Donor).await;
    (app, token)
}

/// The results flags of the API's answer: rule, then the codes of its subjects with messages.
fn results_flags(body: &Value) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut by_rule: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for rule in RESULTS_RULES {
        by_rule.insert(rule.to_owned(), BTreeMap::new());
    }
    for flag in body["flags"].as_array().expect("a list of flags") {
        let rule = flag["rule"].as_str().unwrap();
        if let Some(codes) = by_rule.get_mut(rule) {
            assert_eq!(flag["subject"]["type"], "indicator", "{flag}");
            assert_eq!(flag["fiscal_year"], 2016, "the reporting year: {flag}");
            codes.insert(
                flag["subject"]["code"].as_str().unwrap().to_owned(),
                flag["message"].as_str().unwrap().to_owned(),
            );
        }
    }
    by_rule
}

async fn api_flags(app: &TestApp, token: &str, as_of: &str) -> Value {
    let response = app
        .get_with(Some(token), &format!("/api/v1/flags?as_of={as_of}"))
        .await;
    assert_eq!(response.status(), Status::Ok);
    let body: Value = response.into_json().await.unwrap();
    assert_eq!(body["as_of"], as_of);
    body
}

fn codes(flags: &BTreeMap<String, BTreeMap<String, String>>, rule: &str) -> Vec<String> {
    flags[rule].keys().cloned().collect()
}

#[rocket::async_test]
async fn off_track_starts_one_unit_beyond_25_percent_of_the_target_in_either_direction() {
    let (app, token) = results_app().await;

    let flags = results_flags(&api_flags(&app, &token, "2017-06-30").await);

    // 60 is exactly 25 % below 80 and 100 exactly 25 % above it: on track. 59 and 101 are not;
    // COST-TIE (16 of 256) is far off.
    assert_eq!(
        codes(&flags, "INDICATOR_OFF_TRACK"),
        ["COST-TIE", "OT-DOWN-OVER", "OT-UP-OVER"]
    );
    let off = &flags["INDICATOR_OFF_TRACK"];
    assert_eq!(
        off["OT-UP-OVER"],
        "Indicator OT-UP-OVER reached 59 in 2016 against a target of 80 (73.8 %)."
    );
    assert_eq!(
        off["OT-DOWN-OVER"],
        "Indicator OT-DOWN-OVER reached 101 in 2016 against a target of 80 (79.2 %)."
    );
    let body = api_flags(&app, &token, "2017-06-30").await;
    let flag = body["flags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["subject"]["code"] == "OT-UP-OVER")
        .unwrap();
    assert_eq!(flag["severity"], "high");
}

#[rocket::async_test]
async fn a_result_that_moves_the_wrong_way_is_flagged_only_while_its_converted_money_rises() {
    let (app, token) = results_app().await;

    let flags = results_flags(&api_flags(&app, &token, "2017-06-30").await);

    // Not flagged: FALL-FALLING-MONEY (96.00 EUR after 100.00, though 120 USD after 100 EUR),
    // FALL-EQUAL-MONEY (50.00 both years), RISE-ASCENDING and FALL-DESCENDING (the right way),
    // OBJ-PROT (its sub-objective's money makes PROT's fall), COST-TIE (unchanged).
    assert_eq!(
        codes(&flags, "RESULTS_FALL_AS_SPENDING_RISES"),
        [
            "FALL-FROM-BASELINE",
            "FALL-RISING-MONEY",
            "OBJ-PREV",
            "RISE-DESCENDING"
        ]
    );
    let fall = &flags["RESULTS_FALL_AS_SPENDING_RISES"];
    assert_eq!(
        fall["FALL-RISING-MONEY"],
        "Indicator FALL-RISING-MONEY fell from 50 to 40 in 2016 while spending on what it \
         measures rose from 100.00 EUR to 100.02 EUR."
    );
    assert_eq!(
        fall["RISE-DESCENDING"],
        "Indicator RISE-DESCENDING rose from 30 to 31 in 2016 while spending on what it \
         measures rose from 100.00 EUR to 100.02 EUR."
    );
    assert_eq!(
        fall["FALL-FROM-BASELINE"],
        "Indicator FALL-FROM-BASELINE fell from its 2015 baseline of 50 to 49 in 2016 while \
         spending on what it measures rose from 100.00 EUR to 100.02 EUR."
    );
    // PREV's money is A3's flat 50.00 plus its sub-objective's A4: 10.04, then 20.00.
    assert_eq!(
        fall["OBJ-PREV"],
        "Indicator OBJ-PREV fell from 50 to 40 in 2016 while spending on what it measures \
         rose from 60.04 EUR to 70.00 EUR."
    );
}

#[rocket::async_test]
async fn a_missing_actual_is_not_reported_on_the_91st_day_after_the_year_not_the_90th() {
    let (app, token) = results_app().await;

    // 2016 ended on 31 December; 31 March 2017 is the 90th day after it.
    let day_90 = results_flags(&api_flags(&app, &token, "2017-03-31").await);
    let day_91 = results_flags(&api_flags(&app, &token, "2017-04-01").await);
    let cli = naptrack(
        app.test_db(),
        &["flags", "--as-of", "2017-04-01", "--format", "json"],
    );

    assert!(day_90["INDICATOR_NOT_REPORTED"].is_empty(), "{day_90:?}");
    assert_eq!(codes(&day_91, "INDICATOR_NOT_REPORTED"), ["NOT-REPORTED"]);
    assert_eq!(
        day_91["INDICATOR_NOT_REPORTED"]["NOT-REPORTED"],
        "No actual has been reported for Indicator NOT-REPORTED in 2016, 91 days after the \
         year ended."
    );
    assert!(cli.status.success(), "{cli:?}");
    let cli: Value = serde_json::from_str(&stdout(&cli)).unwrap();
    assert_eq!(
        results_flags(&cli),
        day_91,
        "the command line says the same"
    );
}

/// The results report's rows of `year` by indicator code.
fn rows_by_code(report: &Value) -> BTreeMap<String, Value> {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["indicator"].as_str().unwrap().to_owned(), r.clone()))
        .collect()
}

/// The figures of a row: target, actual, achievement, disbursed, cost per unit.
fn figures(row: &Value) -> Value {
    json!([
        row["target"],
        row["actual"],
        row["achievement"],
        row["disbursed"],
        row["cost_per_unit"]
    ])
}

#[rocket::async_test]
async fn the_results_report_s_figures_are_exact_to_the_last_digit_on_money_in_two_currencies() {
    let (app, token) = results_app().await;

    let output = naptrack(app.test_db(), &["report", "results", "--format", "json"]);
    assert!(output.status.success(), "{output:?}");
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let api = app.get_with(Some(&token), "/api/v1/reports/results").await;
    assert_eq!(api.status(), Status::Ok);
    assert_eq!(api.into_json::<Value>().await.unwrap(), report);
    assert_eq!(report["currency"], "EUR");

    let year = |y: i64| -> BTreeMap<String, Value> {
        let rows = json!({"rows": report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["fiscal_year"] == y)
            .cloned()
            .collect::<Vec<_>>()});
        rows_by_code(&rows)
    };
    let (y2015, y2016) = (year(2015), year(2016));
    let expected_2016 = [
        // 59 of 80: 73.75, half to even 73.8; 50.00 / 59 = 0.847…, 0.85.
        ("OT-UP-OVER", json!(["80", "59", "73.8", "50.00", "0.85"])),
        // Lower is better: 80 / 101 = 79.207…; 50.00 / 101 = 0.49504…, 0.50.
        (
            "OT-DOWN-OVER",
            json!(["80", "101", "79.2", "50.00", "0.50"]),
        ),
        // 125.02 USD at 0.8 = 100.016, 100.02; 100.02 / 40 = 2.5005, 2.50.
        (
            "FALL-RISING-MONEY",
            json!([null, "40", null, "100.02", "2.50"]),
        ),
        // 120.00 USD at 0.8.
        (
            "FALL-FALLING-MONEY",
            json!([null, "40", null, "96.00", "2.40"]),
        ),
        // An objective with its sub-objective: A1 + A2 = 100.02 + 96.00; / 40 = 4.9005, 4.90.
        ("OBJ-PROT", json!([null, "40", null, "196.02", "4.90"])),
        ("OBJ-PREV", json!([null, "40", null, "70.00", "1.75"])),
        // 16 of 256 = 6.25 %, half to even 6.2; 50.00 / 16 = 3.125, half to even 3.12.
        ("COST-TIE", json!(["256", "16", "6.2", "50.00", "3.12"])),
        ("NOT-REPORTED", json!(["10", null, null, "50.00", null])),
    ];
    for (code, expected) in expected_2016 {
        assert_eq!(figures(&y2016[code]), expected, "{code} 2016");
    }
    let expected_2015 = [
        (
            "FALL-RISING-MONEY",
            json!([null, "50", null, "100.00", "2.00"]),
        ),
        // 200.00 / 50.
        ("OBJ-PROT", json!([null, "50", null, "200.00", "4.00"])),
        // A3 50.00 + A4 (20.01 USD at 0.5 = 10.005, 10.00; 0.07 USD = 0.035, 0.04) = 60.04;
        // / 50 = 1.2008, 1.20.
        ("OBJ-PREV", json!([null, "50", null, "60.04", "1.20"])),
        ("COST-TIE", json!([null, "16", null, "50.00", "3.12"])),
    ];
    for (code, expected) in expected_2015 {
        assert_eq!(figures(&y2015[code]), expected, "{code} 2015");
    }
    // Only the years with a target or an actual: FALL-FROM-BASELINE has 2016 alone.
    assert!(!y2015.contains_key("FALL-FROM-BASELINE"));
    assert_eq!(y2016["FALL-FROM-BASELINE"]["baseline"], "50");
    assert_eq!(report["rows"].as_array().unwrap().len(), 24);
}

async fn report_2016(app: &TestApp, token: &str) -> BTreeMap<String, Value> {
    let response = app
        .get_with(Some(token), "/api/v1/reports/results?fiscal_year=2016")
        .await;
    assert_eq!(response.status(), Status::Ok);
    rows_by_code(&response.into_json::<Value>().await.unwrap())
}

#[rocket::async_test]
async fn the_results_report_is_served_from_the_cache_until_a_write() {
    let (app, token) = results_app().await;
    let first = report_2016(&app, &token).await;
    assert_eq!(first["OT-UP-OVER"]["actual"], "59");

    // A change behind the application's back (no write through it, so no audit entry): the
    // kept report is served as it was.
    let indicator = indicator::Entity::find()
        .filter(indicator::Column::Code.eq("OT-UP-OVER"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let value = indicator_value::Entity::find()
        .filter(indicator_value::Column::IndicatorId.eq(indicator.id))
        .filter(indicator_value::Column::FiscalYear.eq(2016))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let original = value.actual;
    let mut changed: indicator_value::ActiveModel = value.into();
    changed.actual = Set(Some(Quantity::parse("70").unwrap()));
    let changed = changed.update(&app.db).await.unwrap();
    let cached = report_2016(&app, &token).await;
    assert_eq!(cached, first, "served from the cache");
    // Put back, or the import below would be refused: the record would differ from the
    // audit trail.
    let mut restored: indicator_value::ActiveModel = changed.into();
    restored.actual = Set(original);
    restored.update(&app.db).await.unwrap();

    // A write through the application invalidates it.
    let recorder = app.token_for("recorder@example.org", Role::Recorder).await;
    let imported = app
        .post_import(
            &recorder,
            "indicator-values",
            "",
            "indicator_code,fiscal_year,target,actual\nOT-UP-OVER,2016,80,61\n",
        )
        .await;
    assert_eq!(imported.status(), Status::Ok);
    let after = report_2016(&app, &token).await;
    // 61 of 80 = 76.25 %, half to even 76.2.
    assert_eq!(
        figures(&after["OT-UP-OVER"]),
        json!(["80", "61", "76.2", "50.00", "0.82"])
    );
    assert_eq!(after["OT-DOWN-OVER"], first["OT-DOWN-OVER"]);
}
