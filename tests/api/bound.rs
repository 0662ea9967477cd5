//! Recorders bound to an institution (issue #20, point 1), through the API, the import and the
//! command line, on the sample plan: a recorder of the Ministry of Internal Affairs (MIA, which
//! leads PREV-01 and its line BL-2016-011) is refused, with nothing stored, everywhere outside
//! MIA's activities, and allowed inside them; a recorder of no institution keeps every right
//! but an activity's lead institution, which only an admin changes. (The web forms are in
//! `web.rs`.)

use naptrack::domain::Role;
use rocket::http::{Method, Status};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb, import_samples_into, naptrack, stderr, stdout};

/// The sample plan, an admin's token, and the token of a recorder bound to MIA.
async fn sample_app() -> (TestApp, String, String) {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    let admin = app.token_for("admin@example.org", Role::Admin).await;
    let mia = bound_token(&app, "clerk@mia.example", "MIA").await;
    (app, admin, mia)
}

async fn bound_token(app: &TestApp, email: &str, institution: &str) -> String {
    naptrack::service::users::add_user(
        &app.db,
        email,
        Role::Recorder,
        Some(institution),
        None,
        "test",
    )
    .await
    .expect("the user is created")
    .1
}

async fn body_of(response: rocket::local::asynchronous::LocalResponse<'_>) -> Value {
    let text = response.into_string().await.unwrap_or_default();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// Every record of the sample plan, as the exports write them: what "nothing stored" compares.
async fn everything(app: &TestApp) -> String {
    crate::helpers::export_everything(&app.db).await
}

fn disbursement(reference: &str, line: &str) -> String {
    json!({
        "plan_code": "NAP-2015",
        "reference": reference,
        "budget_line_code": line,
        "date": "2016-09-01",
        "amount": "100.00",
        "currency": "EUR",
        "payee_code": "PRINTCO",
        "description": "",
        "reverses": "",
    })
    .to_string()
}

/// The lines the details of a refusal name.
fn lines_of(body: &Value) -> Vec<u64> {
    body["error"]["details"]
        .as_array()
        .map(|details| details.iter().filter_map(|d| d["line"].as_u64()).collect())
        .unwrap_or_default()
}

#[rocket::async_test]
async fn a_bound_recorder_records_a_disbursement_only_on_a_line_its_institution_leads() {
    let (app, _admin, mia) = sample_app().await;
    let before = everything(&app).await;

    let refused = app
        .post_disbursement(&mia, &disbursement("D-X-1", "BL-2016-001"))
        .await;
    assert_eq!(refused.status(), Status::Forbidden);
    let body = body_of(refused).await;
    assert_eq!(body["error"]["code"], "forbidden");
    let detail = body["error"]["details"][0].clone();
    assert_eq!(detail["column"], "budget_line_code", "{body}");
    let message = detail["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("PART-01") && message.contains("NCO") && message.contains("MIA"),
        "{message}"
    );
    assert_eq!(
        everything(&app).await,
        before,
        "a refused write stores nothing"
    );

    let allowed = app
        .post_disbursement(&mia, &disbursement("D-X-2", "BL-2016-011"))
        .await;
    assert_eq!(allowed.status(), Status::Created);
}

#[rocket::async_test]
async fn a_bound_recorder_import_with_any_row_outside_is_refused_whole_naming_each_row() {
    let (app, _admin, mia) = sample_app().await;
    let before = everything(&app).await;
    let header =
        "plan_code,reference,budget_line_code,date,amount,currency,payee_code,description,reverses";
    let csv = format!(
        "{header}\n\
         NAP-2015,D-X-1,BL-2016-011,2016-09-01,10.00,EUR,PRINTCO,,\n\
         NAP-2015,D-X-2,BL-2016-001,2016-09-01,10.00,EUR,NCO,,\n\
         NAP-2015,D-X-3,BL-2016-002,2016-09-01,10.00,EUR,NCO,,\n"
    );

    let refused = app.post_import(&mia, "disbursements", "", &csv).await;

    assert_eq!(refused.status(), Status::Forbidden);
    let body = body_of(refused).await;
    assert_eq!(body["error"]["code"], "forbidden");
    assert_eq!(lines_of(&body), [3, 4], "{body}");
    assert_eq!(
        everything(&app).await,
        before,
        "not even the allowed row is stored"
    );

    let own = format!("{header}\nNAP-2015,D-X-1,BL-2016-011,2016-09-01,10.00,EUR,PRINTCO,,\n");
    let allowed = app.post_import(&mia, "disbursements", "", &own).await;
    assert_eq!(allowed.status(), Status::Ok);
    assert_eq!(body_of(allowed).await["created"], 1);
}

#[rocket::async_test]
async fn a_bound_recorder_writes_no_institutions_plans_or_activities() {
    let (app, _admin, mia) = sample_app().await;
    let before = everything(&app).await;

    let institutions = "code,name,kind,iati_ref\n\
                        MOF,Ministry of Finance and Shells,government,\n\
                        SHELL,Shell Co,private,\n";
    let refused = app
        .post_import(&mia, "institutions", "", institutions)
        .await;
    assert_eq!(refused.status(), Status::Forbidden);
    let body = body_of(refused).await;
    assert_eq!(lines_of(&body), [2, 3], "{body}");

    let plan = app
        .request(
            Method::Put,
            "/api/v1/plans/NAP-2015",
            Some(&mia),
            Some(r#"{"code":"NAP-2015","title":"Retitled","country":"XK","currency":"EUR","start_date":"2015-01-01","end_date":"2019-12-31","fiscal_year_start_month":"1"}"#),
        )
        .dispatch()
        .await;
    assert_eq!(plan.status(), Status::Forbidden);
    assert_eq!(body_of(plan).await["error"]["code"], "forbidden");

    let activity = app
        .request(
            Method::Post,
            "/api/v1/activities?plan=NAP-2015",
            Some(&mia),
            Some(r#"{"code":"PREV-99","title":"Mine","objective_code":"PREV.1","lead_institution_code":"MIA","start_date":"2016-01-01","end_date":"2016-12-31","status":"planned"}"#),
        )
        .dispatch()
        .await;
    assert_eq!(activity.status(), Status::Forbidden);
    assert_eq!(everything(&app).await, before);
}

/// The JSON of sample line BL-2016-001 (PART-01, led by NCO) or BL-2016-011 (PREV-01, MIA),
/// with `amount` and `activity`.
fn line(code: &str, activity: &str, amount: &str) -> String {
    json!({
        "plan_code": "NAP-2015",
        "code": code,
        "activity_code": activity,
        "funding_source_code": "SB",
        "fiscal_year": "2016",
        "category": "goods_and_services",
        "amount": amount,
        "currency": "EUR",
        "obligation_code": "",
    })
    .to_string()
}

#[rocket::async_test]
async fn a_bound_recorder_neither_cuts_another_ministrys_line_nor_takes_one() {
    let (app, _admin, mia) = sample_app().await;
    let before = everything(&app).await;
    let put = |code: &'static str, body: String| {
        let app = &app;
        let mia = mia.clone();
        async move {
            app.put_record_request(&mia, "budget-lines", code, &body)
                .dispatch()
                .await
                .status()
        }
    };

    assert_eq!(
        put("BL-2016-001", line("BL-2016-001", "PART-01", "1.00")).await,
        Status::Forbidden,
        "another ministry's line cut to 1.00"
    );
    assert_eq!(
        put("BL-2016-001", line("BL-2016-001", "PREV-01", "15100.00")).await,
        Status::Forbidden,
        "another ministry's line moved onto MIA's activity"
    );
    assert_eq!(
        put("BL-2016-011", line("BL-2016-011", "PART-01", "26400.00")).await,
        Status::Forbidden,
        "MIA's line given to another ministry's activity"
    );
    assert_eq!(everything(&app).await, before);

    assert_eq!(
        put("BL-2016-011", line("BL-2016-011", "PREV-01", "27000.00")).await,
        Status::Ok,
        "MIA's own line"
    );
}

#[rocket::async_test]
async fn a_bound_recorder_reverses_only_disbursements_on_its_own_lines() {
    let (app, _admin, mia) = sample_app().await;
    let before = everything(&app).await;
    let reason = r#"{"reason": "paid twice"}"#;

    let refused = app.post_reversal(&mia, "D-2016-0026", reason).await;
    assert_eq!(refused.status(), Status::Forbidden);
    assert_eq!(everything(&app).await, before);

    let allowed = app.post_reversal(&mia, "D-2016-0052", reason).await;
    assert_eq!(allowed.status(), Status::Created);
}

#[rocket::async_test]
async fn a_bound_recorder_enters_values_only_of_indicators_of_activities_it_leads() {
    let (app, _admin, mia) = sample_app().await;
    let helpline = bound_token(&app, "clerk@shelter-b.example", "SHELTER-B").await;
    let before = everything(&app).await;
    let header = "plan_code,indicator_code,fiscal_year,target,actual";
    let calls = format!("{header}\nNAP-2015,IND-CALLS,2016,1500,1499\n");

    let refused = app.post_import(&mia, "indicator-values", "", &calls).await;
    assert_eq!(
        refused.status(),
        Status::Forbidden,
        "IND-CALLS measures SHELTER-B's PREV-05"
    );
    let objective = format!("{header}\nNAP-2015,IND-VICTIMS,2016,70,1\n");
    let refused = app
        .post_import(&helpline, "indicator-values", "", &objective)
        .await;
    assert_eq!(
        refused.status(),
        Status::Forbidden,
        "IND-VICTIMS measures an objective"
    );
    let body = body_of(refused).await;
    assert!(
        body["error"]["details"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("objective")),
        "{body}"
    );
    assert_eq!(everything(&app).await, before);

    let allowed = app
        .post_import(&helpline, "indicator-values", "", &calls)
        .await;
    assert_eq!(allowed.status(), Status::Ok);
}

#[rocket::async_test]
async fn only_an_admin_changes_an_activitys_lead_institution_and_the_trail_shows_it() {
    let (app, admin, _mia) = sample_app().await;
    let coordinator = app.token_for("clerk@nco.example", Role::Recorder).await;
    let activity = |lead: &str| {
        json!({
            "plan_code": "NAP-2015",
            "code": "PREV-01",
            "title": "National awareness campaign on trafficking risks",
            "objective_code": "PREV.1",
            "lead_institution_code": lead,
            "start_date": "2015-03-01",
            "end_date": "2019-12-31",
            "status": "ongoing",
            "sector_code": "15180",
        })
        .to_string()
    };
    let before = everything(&app).await;

    let refused = app
        .put_record_request(&coordinator, "activities", "PREV-01", &activity("MOF"))
        .dispatch()
        .await;
    assert_eq!(refused.status(), Status::Forbidden);
    let body = body_of(refused).await;
    assert_eq!(
        body["error"]["details"][0]["column"],
        "lead_institution_code"
    );
    assert_eq!(everything(&app).await, before);

    let retitled = json!({
        "plan_code": "NAP-2015", "code": "PREV-01", "title": "Awareness campaign",
        "objective_code": "PREV.1", "lead_institution_code": "MIA", "start_date": "2015-03-01",
        "end_date": "2019-12-31", "status": "ongoing", "sector_code": "15180",
    })
    .to_string();
    let allowed = app
        .put_record_request(&coordinator, "activities", "PREV-01", &retitled)
        .dispatch()
        .await;
    assert_eq!(
        allowed.status(),
        Status::Ok,
        "the rest of the activity is the recorder's"
    );

    let moved = app
        .put_record_request(&admin, "activities", "PREV-01", &activity("MOF"))
        .dispatch()
        .await;
    assert_eq!(moved.status(), Status::Ok);
    let audit = body_of(app.get_audit(&admin, "entity=activities").await).await;
    let text = audit.to_string();
    assert!(
        text.contains("\"lead_institution_code\":\"MIA\"")
            && text.contains("\"lead_institution_code\":\"MOF\""),
        "the change is audited with before and after: {text}"
    );
}

#[tokio::test]
async fn the_command_line_shows_and_changes_a_users_institution_and_audits_the_change() {
    let db = TestDb::new().await;
    import_samples_into(&db.connect().await).await;

    let add = naptrack(
        &db,
        &[
            "user",
            "add",
            "clerk@mia.example",
            "--role",
            "recorder",
            "--institution",
            "MIA",
        ],
    );
    assert!(add.status.success(), "{}", stderr(&add));
    assert!(stdout(&add).contains("institution MIA"), "{}", stdout(&add));
    let list = stdout(&naptrack(&db, &["user", "list"]));
    let row = list
        .lines()
        .find(|l| l.starts_with("clerk@mia.example"))
        .unwrap_or_default();
    assert!(row.contains("recorder") && row.contains("MIA"), "{list}");

    let set = naptrack(
        &db,
        &["user", "set", "clerk@mia.example", "--institution", "MOJ"],
    );
    assert!(set.status.success(), "{}", stderr(&set));
    let list = stdout(&naptrack(&db, &["user", "list"]));
    assert!(
        list.lines()
            .any(|l| l.starts_with("clerk@mia.example") && l.contains("MOJ")),
        "{list}"
    );
    let unknown = naptrack(
        &db,
        &["user", "set", "clerk@mia.example", "--institution", "NOPE"],
    );
    assert!(!unknown.status.success());
    assert!(stderr(&unknown).contains("NOPE"), "{}", stderr(&unknown));
    let nothing = naptrack(&db, &["user", "set", "clerk@mia.example"]);
    assert!(!nothing.status.success());

    let unbind = naptrack(
        &db,
        &[
            "user",
            "set",
            "clerk@mia.example",
            "--no-institution",
            "--role",
            "donor",
        ],
    );
    assert!(unbind.status.success(), "{}", stderr(&unbind));
    let list = stdout(&naptrack(&db, &["user", "list"]));
    let row = list
        .lines()
        .find(|l| l.starts_with("clerk@mia.example"))
        .unwrap_or_default();
    assert!(row.contains("donor") && !row.contains("MOJ"), "{list}");

    let trail: Vec<String> = {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        naptrack::entity::audit_entry::Entity::find()
            .filter(naptrack::entity::audit_entry::Column::Entity.eq("user"))
            .all(&db.connect().await)
            .await
            .expect("the trail")
            .into_iter()
            .map(|e| e.details)
            .collect()
    };
    let changed = trail.iter().any(|details| {
        let details: Value = serde_json::from_str(details).unwrap_or_default();
        details["before"] == json!({"institution": "MIA", "role": "recorder"})
            && details["after"] == json!({"institution": "MOJ", "role": "recorder"})
    });
    assert!(changed, "the change is in the trail: {trail:?}");
}
