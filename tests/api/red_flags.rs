//! The integrity rules (red flags on payments) through the real binary and the server, on both
//! backends: each rule at its boundaries on a small plan, the sample plan's four red flags, the
//! filter by kind in the command line, the API and the web, the dashboard's counts and the
//! donor statement's red flags.

use naptrack::domain::Role;
use naptrack::domain::records::RecordKind;
use rocket::http::{Header, Status};
use serde_json::Value;

use crate::helpers::{TestApp, TestDb, import_csv, import_samples_into, naptrack, stdout};
use crate::web::{PASSWORD, add_user};

/// A plan of 2015-2017 in EUR with two activities (`A1` all along; `PILOT` from 2016-01-01 to
/// 2016-06-30), two payees, and a 2016 line on each activity, one of them a donor's.
async fn red_plan(db: &sea_orm::DatabaseConnection) {
    import_csv(
        db,
        RecordKind::Institutions,
        "code,name,kind\nMOJ,Ministry of Justice,government\nPRINT,Print House,private\n\
         CATER,Catering Ltd,private\nDON,Partner donor,donor\n",
    )
    .await;
    import_csv(
        db,
        RecordKind::FundingSources,
        "code,name,donor_code,kind,currency\nSB,State budget,,state_budget,EUR\n\
         GR,Partner grant,DON,donor_grant,EUR\n",
    )
    .await;
    import_csv(
        db,
        RecordKind::Plans,
        "code,title,country,currency,start_date,end_date,fiscal_year_start_month\n\
         NAP,Plan,XK,EUR,2015-01-01,2017-12-31,1\n",
    )
    .await;
    import_csv(db, RecordKind::Objectives, "code,title\nPROT,Protection\n").await;
    import_csv(
        db,
        RecordKind::Activities,
        "code,title,objective_code,lead_institution_code,start_date,end_date,status\n\
         A1,Legal aid,PROT,MOJ,2015-01-01,2017-12-31,ongoing\n\
         PILOT,Pilot outreach,PROT,MOJ,2016-01-01,2016-06-30,completed\n",
    )
    .await;
    import_csv(
        db,
        RecordKind::BudgetLines,
        "code,activity_code,funding_source_code,fiscal_year,category,amount,currency\n\
         BL-1,A1,SB,2016,goods_and_services,900000.00,EUR\n\
         BL-G,A1,GR,2016,goods_and_services,900000.00,EUR\n\
         BL-P,PILOT,SB,2016,goods_and_services,900000.00,EUR\n",
    )
    .await;
}

/// Imports disbursements (`reference,budget_line_code,date,amount,payee_code,reverses`).
async fn pay(db: &sea_orm::DatabaseConnection, rows: &str) {
    let csv = format!(
        "reference,budget_line_code,date,amount,currency,payee_code,reverses\n{}",
        rows.lines()
            .map(|row| {
                let cells: Vec<&str> = row.split(',').collect();
                format!(
                    "{},{},{},{},EUR,{},{}\n",
                    cells[0],
                    cells[1],
                    cells[2],
                    cells[3],
                    cells.get(4).copied().unwrap_or(""),
                    cells.get(5).copied().unwrap_or("")
                )
            })
            .collect::<String>()
    );
    import_csv(db, RecordKind::Disbursements, &csv).await;
}

/// The integrity flags the command line prints as JSON as of `as_of`.
fn red_flags(test_db: &TestDb, as_of: &str) -> Vec<Value> {
    let output = naptrack(
        test_db,
        &[
            "flags",
            "--as-of",
            as_of,
            "--kind",
            "integrity",
            "--format",
            "json",
        ],
    );
    assert!(output.status.success(), "{output:?}");
    let json: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let flags = json["flags"].as_array().unwrap().clone();
    assert!(flags.iter().all(|f| f["kind"] == "integrity"), "{json}");
    flags
}

/// The subjects of the flags of `rule`.
fn subjects(flags: &[Value], rule: &str) -> Vec<String> {
    flags
        .iter()
        .filter(|f| f["rule"] == rule)
        .map(|f| f["subject"]["code"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn equal_payments_seven_days_apart_are_a_duplicate_and_eight_days_apart_are_not() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    red_plan(&db).await;
    pay(
        &db,
        "D-1,BL-1,2016-03-01,500.00,PRINT\n\
         D-2,BL-1,2016-03-08,500.00,PRINT\n\
         D-3,BL-1,2016-05-01,700.00,PRINT\n\
         D-4,BL-1,2016-05-09,700.00,PRINT\n\
         D-5,BL-1,2016-07-01,300.00\n\
         D-6,BL-1,2016-07-02,300.00\n\
         D-7,BL-G,2016-07-02,300.00\n\
         D-8,BL-1,2016-09-01,400.00,PRINT\n\
         D-9,BL-1,2016-09-01,400.00,CATER\n",
    )
    .await;

    let flags = red_flags(&test_db, "2016-12-31");

    // Seven days apart, and with no payee the same line the same day; not eight days apart,
    // not on another line, not to another payee.
    assert_eq!(
        subjects(&flags, "DUPLICATE_PAYMENT"),
        ["D-2", "D-6"],
        "{flags:?}"
    );
    let d2 = flags
        .iter()
        .find(|f| f["subject"]["code"] == "D-2")
        .unwrap();
    assert_eq!(d2["severity"], "high");
    assert_eq!(d2["gap"], "500.00");
    assert_eq!(d2["currency"], "EUR");
    let message = d2["message"].as_str().unwrap();
    assert!(
        message.starts_with("Print House was paid") && message.contains("twice within 7 days"),
        "{message}"
    );
    assert!(
        message.contains("D-1 on 2016-03-01") && message.contains("D-2 on 2016-03-08"),
        "{message}"
    );
}

#[tokio::test]
async fn a_reversed_duplicate_is_not_flagged_once_the_reversal_is_dated() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    red_plan(&db).await;
    pay(
        &db,
        "D-1,BL-1,2016-03-01,500.00,PRINT\n\
         D-2,BL-1,2016-03-04,500.00,PRINT\n\
         R-2,BL-1,2016-03-20,-500.00,PRINT,D-2\n",
    )
    .await;

    assert_eq!(
        subjects(&red_flags(&test_db, "2016-03-19"), "DUPLICATE_PAYMENT"),
        ["D-2"]
    );
    assert!(subjects(&red_flags(&test_db, "2016-03-20"), "DUPLICATE_PAYMENT").is_empty());
    assert!(subjects(&red_flags(&test_db, "2016-12-31"), "DUPLICATE_PAYMENT").is_empty());
}

#[tokio::test]
async fn split_payments_that_together_reach_the_threshold_exactly_are_flagged() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    red_plan(&db).await;
    pay(
        &db,
        // CATER: three under 10000.00 within 14 days, exactly 10000.00 together.
        "S-1,BL-1,2016-04-01,3000.00,CATER\n\
         S-2,BL-1,2016-04-08,3000.00,CATER\n\
         S-3,BL-1,2016-04-15,4000.00,CATER\n\
         T-1,BL-1,2016-06-01,3000.00,PRINT\n\
         T-2,BL-1,2016-06-08,3000.00,PRINT\n\
         T-3,BL-1,2016-06-15,3999.99,PRINT\n\
         U-1,BL-1,2016-09-01,3000.00,MOJ\n\
         U-2,BL-1,2016-09-08,3000.00,MOJ\n\
         U-3,BL-1,2016-09-16,4000.00,MOJ\n",
    )
    .await;

    let flags = red_flags(&test_db, "2016-12-31");

    // PRINT's three reach only 9999.99; MOJ's third is 15 days after the first.
    assert_eq!(subjects(&flags, "SPLIT_PAYMENTS"), ["CATER"], "{flags:?}");
    let split = flags
        .iter()
        .find(|f| f["rule"] == "SPLIT_PAYMENTS")
        .unwrap();
    assert_eq!(split["subject"]["type"], "institution");
    assert_eq!(split["severity"], "medium");
    assert_eq!(split["gap"], "10000.00");
    let message = split["message"].as_str().unwrap();
    assert!(
        message.contains("S-1") && message.contains("S-2") && message.contains("S-3"),
        "{message}"
    );
}

#[tokio::test]
async fn a_payment_on_the_activitys_last_day_is_inside_and_the_day_after_is_outside() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    red_plan(&db).await;
    pay(
        &db,
        "P-0,BL-P,2015-12-31,100.00,PRINT\n\
         P-1,BL-P,2016-01-01,110.00,PRINT\n\
         P-2,BL-P,2016-06-30,120.00,PRINT\n\
         P-3,BL-P,2016-07-01,130.00,PRINT\n",
    )
    .await;

    let flags = red_flags(&test_db, "2016-12-31");

    assert_eq!(
        subjects(&flags, "PAYMENT_OUTSIDE_ACTIVITY"),
        ["P-3"],
        "{flags:?}"
    );
    let late = &flags[0];
    assert_eq!(late["gap"], "130.00");
    assert!(
        late["message"]
            .as_str()
            .unwrap()
            .contains("1 day after the activity \"Pilot outreach\" (PILOT) ended on 2016-06-30"),
        "{late}"
    );
    // The day before the first day is outside too, in its own fiscal year.
    assert_eq!(
        subjects(
            &red_flags(&test_db, "2015-12-31"),
            "PAYMENT_OUTSIDE_ACTIVITY"
        ),
        ["P-0"]
    );
}

#[tokio::test]
async fn a_final_month_of_exactly_forty_percent_is_no_spike_and_more_is() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    red_plan(&db).await;
    pay(
        &db,
        // BL-1: 40% in December exactly; BL-G: 40.01%.
        "Y-1,BL-1,2016-03-01,600.00,MOJ\n\
         Y-2,BL-1,2016-12-01,400.00,MOJ\n\
         Z-1,BL-G,2016-03-01,599.90,MOJ\n\
         Z-2,BL-G,2016-12-31,400.10,MOJ\n",
    )
    .await;

    // The rule looks at the year before the as-of date's.
    assert!(subjects(&red_flags(&test_db, "2016-12-31"), "YEAR_END_SPIKE").is_empty());
    let flags = red_flags(&test_db, "2017-03-31");
    assert_eq!(subjects(&flags, "YEAR_END_SPIKE"), ["BL-G"], "{flags:?}");
    let spike = &flags[0];
    assert_eq!(spike["severity"], "low");
    assert_eq!(spike["fiscal_year"], 2016);
}

#[tokio::test]
async fn the_sample_plan_shows_one_red_flag_of_each_rule_on_its_last_day() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;

    let flags = red_flags(&test_db, "2019-12-31");

    let found: Vec<(&str, &str)> = flags
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap(),
                f["subject"]["code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("DUPLICATE_PAYMENT", "D-2019-0029"),
            ("SPLIT_PAYMENTS", "CATERCO"),
            ("PAYMENT_OUTSIDE_ACTIVITY", "D-2019-0001"),
            ("YEAR_END_SPIKE", "BL-2018-024"),
        ],
        "{flags:?}"
    );
    let duplicate = flags[0]["message"].as_str().unwrap();
    assert!(
        duplicate.contains("D-2019-0025 on 2019-05-09")
            && duplicate.contains("D-2019-0029 on 2019-05-12"),
        "{duplicate}"
    );
    assert_eq!(flags[1]["gap"], "29510.00");
}

#[rocket::async_test]
async fn the_api_filters_flags_by_kind_and_refuses_an_unknown_kind() {
    let app = TestApp::spawn().await;
    import_samples_into(&app.db).await;
    let token = app.token_for("auditor@example.org", Role::Auditor).await;
    let auth = Header::new("Authorization", format!("Bearer {token}"));
    let get = |query: &'static str| {
        let auth = auth.clone();
        let client = &app.client;
        async move {
            let response = client
                .get(format!("/api/v1/flags?as_of=2019-12-31{query}"))
                .header(auth)
                .dispatch()
                .await;
            let status = response.status();
            (status, response.into_json::<Value>().await.unwrap())
        }
    };

    let (status, all) = get("").await;
    assert_eq!(status, Status::Ok);
    let (_, integrity) = get("&kind=integrity").await;
    let (_, gaps) = get("&kind=funding_gaps").await;
    let (_, results) = get("&kind=results").await;
    let count = |v: &Value| v["flags"].as_array().unwrap().len();
    assert_eq!(count(&integrity), 4);
    assert!(count(&gaps) > 0);
    assert_eq!(
        count(&all),
        count(&integrity) + count(&gaps) + count(&results)
    );
    for (body, kind) in [
        (&integrity, "integrity"),
        (&gaps, "funding_gaps"),
        (&results, "results"),
    ] {
        assert!(
            body["flags"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f["kind"] == kind)
        );
    }
    let (status, bad) = get("&kind=fraud").await;
    assert_eq!(status, Status::BadRequest);
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap()
            .contains("funding_gaps"),
        "{bad}"
    );
}

#[tokio::test]
async fn the_cli_refuses_an_unknown_kind() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;

    let output = naptrack(&test_db, &["flags", "--kind", "fraud"]);

    assert!(!output.status.success());
    assert!(
        crate::helpers::stderr(&output).contains("is not a kind of flag"),
        "{output:?}"
    );
}

#[rocket::async_test]
async fn the_web_flags_page_filters_by_kind_and_the_dashboard_counts_each_kind() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, "auditor@audit.example", Role::Auditor).await;
    app.sign_in("auditor@audit.example", PASSWORD).await;

    let (status, page) = app
        .page("/flags?plan=NAP-2015&kind=integrity&as_of=2019-12-31")
        .await;

    assert_eq!(status, Status::Ok, "{page}");
    assert!(
        page.contains("<option value=\"integrity\" selected>Integrity</option>"),
        "{page}"
    );
    for rule in [
        "DUPLICATE_PAYMENT",
        "SPLIT_PAYMENTS",
        "PAYMENT_OUTSIDE_ACTIVITY",
        "YEAR_END_SPIKE",
    ] {
        assert!(page.contains(rule), "{rule}");
    }
    assert!(!page.contains("<th scope=\"row\">OBLIGATION_UNFUNDED</th>"));
    // A red flag on a payment opens the disbursement.
    assert!(
        page.contains("href=\"/disbursements/D-2019-0029?plan=NAP-2015\""),
        "{page}"
    );
    let (status, _) = app.page("/flags?kind=fraud").await;
    assert_eq!(status, Status::BadRequest);

    let (_, dashboard) = app.page("/dashboard").await;
    assert!(
        dashboard.contains("kind=integrity") && dashboard.contains("Integrity: <strong>4</strong>"),
        "{dashboard}"
    );
}

#[rocket::async_test]
async fn a_donor_statement_shows_the_red_flags_of_its_own_moneys_payments() {
    let app = TestApp::spawn().await;
    app.import_samples().await;
    add_user(&app, "donor@embassy.example", Role::Donor).await;
    app.sign_in("donor@embassy.example", PASSWORD).await;
    let token = app
        .token_for("donor-api@embassy.example", Role::Donor)
        .await;

    let (status, page) = app.page("/reports/donor?donor=EUROL").await;

    // The EU grant pays the split catering and the December rush, not the printing twice.
    assert_eq!(status, Status::Ok, "{page}");
    assert!(page.contains("<h2>Red flags</h2>"), "{page}");
    assert!(page.contains("SPLIT_PAYMENTS") && page.contains("YEAR_END_SPIKE"));
    assert!(!page.contains("DUPLICATE_PAYMENT"));
    let response = app
        .get_with(Some(&token), "/api/v1/reports/donor?funding_source=SB")
        .await;
    assert_eq!(response.status(), Status::Ok);
    let body: Value = response.into_json().await.unwrap();
    let rules: Vec<&str> = body["red_flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"DUPLICATE_PAYMENT"), "{rules:?}");
    assert!(rules.contains(&"PAYMENT_OUTSIDE_ACTIVITY"), "{rules:?}");
    assert!(!rules.contains(&"SPLIT_PAYMENTS"), "{rules:?}");
}
