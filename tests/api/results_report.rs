//! The results report through the real binary (`naptrack report results`) and HTTP
//! (`GET /api/v1/reports/results`), on the sample plan: a EUR plan with USD disbursements.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};
use std::str::FromStr;

use naptrack::domain::{Measure, ResultType, Role};
use naptrack::entity::{activity, indicator, indicator_value, objective, plan};
use naptrack::money::Quantity;
use rocket::http::Status;
use rust_decimal::{Decimal, RoundingStrategy};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use serde_json::Value;

use crate::helpers::{TestApp, naptrack, samples_dir, stdout};

const COLUMNS: &str = "indicator,title,result_type,measure,ascending,unit,fiscal_year,baseline,\
                       target,actual,achievement,disbursed,cost_per_unit";

fn sample_rows(name: &str) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(samples_dir().join(name)).unwrap();
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

fn quantity(text: &str) -> Option<Quantity> {
    (!text.is_empty()).then(|| Quantity::parse(text).unwrap())
}

/// The sample indicators and their values, written unless an importer already did.
async fn sample_indicators(db: &DatabaseConnection) {
    let plan = plan::Entity::find().one(db).await.unwrap().unwrap();
    if indicator::Entity::find()
        .filter(indicator::Column::PlanId.eq(plan.id))
        .one(db)
        .await
        .unwrap()
        .is_some()
    {
        return;
    }
    let objectives: HashMap<String, i32> = objective::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|o| (o.code, o.id))
        .collect();
    let activities: HashMap<String, i32> = activity::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.code, a.id))
        .collect();
    let mut ids = HashMap::new();
    for row in sample_rows("indicators.csv") {
        let model = indicator::ActiveModel {
            plan_id: Set(plan.id),
            code: Set(row["code"].clone()),
            title: Set(row["title"].clone()),
            objective_id: Set(objectives.get(&row["objective_code"]).copied()),
            activity_id: Set(activities.get(&row["activity_code"]).copied()),
            result_type: Set(ResultType::from_str(&row["result_type"]).unwrap()),
            measure: Set(Measure::from_str(&row["measure"]).unwrap()),
            ascending: Set(row["ascending"] == "true"),
            unit: Set(Some(row["unit"].clone()).filter(|u| !u.is_empty())),
            baseline_year: Set(row["baseline_year"].parse().ok()),
            baseline_value: Set(quantity(&row["baseline_value"])),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
        ids.insert(model.code.clone(), model.id);
    }
    for row in sample_rows("indicator_values.csv") {
        indicator_value::ActiveModel {
            indicator_id: Set(ids[&row["indicator_code"]]),
            fiscal_year: Set(row["fiscal_year"].parse().unwrap()),
            target: Set(quantity(&row["target"])),
            actual: Set(quantity(&row["actual"])),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
    }
}

async fn sample_app() -> (TestApp, String) {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    sample_indicators(&app.db).await;
    let token = app.token_for("donor@example.org", Role::Donor).await;
    (app, token)
}

async fn get(app: &TestApp, token: &str, uri: &str) -> (Status, String) {
    let response = app.get_with(Some(token), uri).await;
    let status = response.status();
    (status, response.into_string().await.unwrap_or_default())
}

fn decimal(value: &Value) -> Option<Decimal> {
    value.as_str().map(|s| Decimal::from_str(s).unwrap())
}

/// The activity codes each indicator measures: its activity, or every activity of its
/// objective and of the objective's descendants (read from the sample files).
fn measured_activities() -> HashMap<String, BTreeSet<String>> {
    let parents: HashMap<String, String> = sample_rows("objectives.csv")
        .into_iter()
        .map(|r| (r["code"].clone(), r["parent_code"].clone()))
        .collect();
    let under = |objective: &str, root: &str| {
        let mut at = objective.to_owned();
        loop {
            if at == root {
                return true;
            }
            match parents.get(&at) {
                Some(parent) if !parent.is_empty() => at = parent.clone(),
                _ => return false,
            }
        }
    };
    let activities = sample_rows("activities.csv");
    sample_rows("indicators.csv")
        .into_iter()
        .map(|i| {
            let mut codes: BTreeSet<String> = BTreeSet::new();
            if !i["activity_code"].is_empty() {
                codes.insert(i["activity_code"].clone());
            }
            if !i["objective_code"].is_empty() {
                codes.extend(
                    activities
                        .iter()
                        .filter(|a| under(&a["objective_code"], &i["objective_code"]))
                        .map(|a| a["code"].clone()),
                );
            }
            (i["code"].clone(), codes)
        })
        .collect()
}

#[rocket::async_test]
async fn the_report_has_every_figure_of_the_execution_report_and_the_contract_s_rounding() {
    let (app, token) = sample_app().await;
    let measured = measured_activities();
    assert!(
        measured["IND-PROSECUTED"].len() > measured["IND-HEARING"].len(),
        "PROS includes its sub-objectives' activities"
    );
    let output = naptrack(app.test_db(), &["report", "results", "--format", "json"]);
    assert!(output.status.success(), "{output:?}");
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["plan"], "NAP-2015");
    assert_eq!(report["currency"], "EUR");
    assert_eq!(report["fiscal_year"], Value::Null);
    let rows = report["rows"].as_array().unwrap();
    // Every sample value row with a target or an actual.
    assert_eq!(rows.len(), sample_rows("indicator_values.csv").len());

    let mut by_year: HashMap<i64, HashMap<String, Decimal>> = HashMap::new();
    let (mut descending, mut percentage, mut costed) = (0, 0, 0);
    for row in rows {
        let keys: Vec<&str> = row
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.join(","), COLUMNS);
        let year = row["fiscal_year"]
            .as_i64()
            .expect("fiscal_year is a number");
        if let Entry::Vacant(slot) = by_year.entry(year) {
            let (status, text) = get(
                &app,
                &token,
                &format!("/api/v1/reports/execution?by=activity&fiscal_year={year}"),
            )
            .await;
            assert_eq!(status, Status::Ok);
            let execution: Value = serde_json::from_str(&text).unwrap();
            let money = execution["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let key = r["key"].as_str().unwrap().to_owned();
                    (key, decimal(&r["disbursed"]).unwrap())
                })
                .collect();
            slot.insert(money);
        }
        let code = row["indicator"].as_str().unwrap();
        let expected_disbursed: Decimal = measured[code]
            .iter()
            .filter_map(|a| by_year[&year].get(a))
            .sum();
        let disbursed = row["disbursed"].as_str().expect("disbursed is a string");
        assert_eq!(
            Decimal::from_str(disbursed).unwrap(),
            expected_disbursed,
            "{row}"
        );
        assert_eq!(disbursed.split('.').nth(1).map(str::len), Some(2), "{row}");

        let ascending = row["ascending"].as_bool().expect("ascending is a bool");
        assert!(["output", "outcome", "impact"].contains(&row["result_type"].as_str().unwrap()));
        let target = decimal(&row["target"]);
        let actual = decimal(&row["actual"]);
        let expected_achievement = target.zip(actual).map(|(t, a)| {
            let (numerator, denominator) = if ascending { (a, t) } else { (t, a) };
            (numerator * Decimal::from(100) / denominator)
                .round_dp_with_strategy(1, RoundingStrategy::MidpointNearestEven)
        });
        assert_eq!(decimal(&row["achievement"]), expected_achievement, "{row}");
        if let Some(text) = row["achievement"].as_str() {
            assert_eq!(text.split('.').nth(1).map(str::len), Some(1), "{row}");
        }
        if !ascending {
            descending += 1;
        }

        let expected_cost = actual
            .filter(|a| row["measure"] == "unit" && a.is_sign_positive() && !a.is_zero())
            .map(|a| {
                (expected_disbursed / a)
                    .round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven)
            });
        assert_eq!(decimal(&row["cost_per_unit"]), expected_cost, "{row}");
        if row["measure"] == "percentage" {
            percentage += 1;
            assert_eq!(row["cost_per_unit"], Value::Null);
            assert_eq!(row["unit"], Value::Null);
        }
        if let Some(text) = row["cost_per_unit"].as_str() {
            costed += 1;
            assert_eq!(text.split('.').nth(1).map(str::len), Some(2), "{row}");
        }
        if row["actual"].is_null() {
            assert_eq!(row["achievement"], Value::Null);
            assert_eq!(row["cost_per_unit"], Value::Null);
        }
    }
    assert!(descending > 0 && percentage > 0 && costed > 0);

    // The API's JSON is the command's.
    let (status, text) = get(&app, &token, "/api/v1/reports/results").await;
    assert_eq!(status, Status::Ok);
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), report);
}

#[rocket::async_test]
async fn a_fiscal_year_keeps_its_rows_and_the_csv_has_the_contract_s_columns() {
    let (app, token) = sample_app().await;
    let all = naptrack(app.test_db(), &["report", "results", "--format", "json"]);
    let all: Value = serde_json::from_str(&stdout(&all)).unwrap();
    let output = naptrack(
        app.test_db(),
        &[
            "report",
            "results",
            "--plan",
            "NAP-2015",
            "--fiscal-year",
            "2017",
            "--format",
            "json",
        ],
    );
    assert!(output.status.success(), "{output:?}");
    let year: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(year["fiscal_year"], 2017);
    let expected: Vec<&Value> = all["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["fiscal_year"] == 2017)
        .collect();
    let rows: Vec<&Value> = year["rows"].as_array().unwrap().iter().collect();
    assert_eq!(rows, expected);
    assert!(!rows.is_empty());

    let csv = naptrack(
        app.test_db(),
        &[
            "report",
            "results",
            "--fiscal-year",
            "2017",
            "--format",
            "csv",
        ],
    );
    assert!(csv.status.success(), "{csv:?}");
    let csv = stdout(&csv);
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(COLUMNS));
    assert_eq!(lines.count(), rows.len());
    let (status, api_csv) = get(
        &app,
        &token,
        "/api/v1/reports/results?plan=NAP-2015&fiscal_year=2017&format=csv",
    )
    .await;
    assert_eq!(status, Status::Ok);
    assert_eq!(api_csv, csv);
    let calls = csv.lines().find(|l| l.starts_with("IND-CALLS,")).unwrap();
    let cells: Vec<&str> = calls.split(',').collect();
    assert_eq!(
        &cells[2..10],
        [
            "output", "unit", "true", "calls", "2017", "1180", "1450", "1096"
        ]
    );

    let table = naptrack(
        app.test_db(),
        &["report", "results", "--fiscal-year", "2017"],
    );
    assert!(table.status.success(), "{table:?}");
    assert!(stdout(&table).contains("IND-CALLS"));
}

#[rocket::async_test]
async fn an_unknown_plan_is_404_and_a_write_between_two_requests_shows() {
    let (app, token) = sample_app().await;
    let (status, _) = get(&app, &token, "/api/v1/reports/results?plan=NOPE").await;
    assert_eq!(status, Status::NotFound);
    let output = naptrack(app.test_db(), &["report", "results", "--plan", "NOPE"]);
    assert!(!output.status.success());
    let (status, _) = get(&app, &token, "/api/v1/reports/results?format=xml").await;
    assert_eq!(status, Status::BadRequest);

    // A write between two requests shows: a disbursement on a budget line of 2015.
    let uri = "/api/v1/reports/results?fiscal_year=2015";
    let (_, first) = get(&app, &token, uri).await;
    assert_eq!(get(&app, &token, uri).await.1, first);
    let first: Value = serde_json::from_str(&first).unwrap();
    let recorder = app.token_for("recorder@example.org", Role::Recorder).await;
    let posted = app
        .post_disbursement(
            &recorder,
            r#"{"reference": "D-RESULTS-1", "budget_line_code": "BL-2015-036", "date": "2015-06-01", "amount": "12.34", "currency": "EUR", "payee_code": "SHELTER-A"}"#,
        )
        .await;
    assert_eq!(posted.status(), Status::Created);
    let (_, second) = get(&app, &token, uri).await;
    let second: Value = serde_json::from_str(&second).unwrap();
    let activity = sample_rows("budget_lines.csv")
        .into_iter()
        .find(|l| l["code"] == "BL-2015-036")
        .unwrap()["activity_code"]
        .clone();
    let measured = measured_activities();
    let (before, after) = (
        first["rows"].as_array().unwrap(),
        second["rows"].as_array().unwrap(),
    );
    assert_eq!(before.len(), after.len());
    let mut moved = 0;
    for (b, a) in before.iter().zip(after) {
        let rise = decimal(&a["disbursed"]).unwrap() - decimal(&b["disbursed"]).unwrap();
        if measured[b["indicator"].as_str().unwrap()].contains(&activity) {
            moved += 1;
            assert_eq!(rise, Decimal::from_str("12.34").unwrap(), "{a}");
        } else {
            assert_eq!(rise, Decimal::ZERO, "{a}");
        }
    }
    assert!(moved > 0);
}
