//! The flag rules on real data: the facts gathered from the database, on both backends. The
//! rules' arithmetic and boundaries are unit-tested in `domain::flags`; here each rule is
//! raised, and not raised, by records stored through the import service.

use chrono::NaiveDate;
use naptrack::domain::flags::{Flag, Rule, Thresholds};
use naptrack::domain::records::RecordKind;
use naptrack::service::flags;
use naptrack::service::plans::resolve_plan;
use rocket::http::{Header, Status};
use sea_orm::DatabaseConnection;

use crate::helpers::{TestApp, TestDb, import_csv, import_samples_into, naptrack, stdout};

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

async fn flags_on(db: &DatabaseConnection, as_of: &str) -> Vec<Flag> {
    let plan = resolve_plan(db, None).await.unwrap();
    flags::flags(db, &plan, date(as_of), &Thresholds::default())
        .await
        .unwrap()
        .flags
}

fn raised(flags: &[Flag], rule: Rule, code: &str) -> bool {
    flags
        .iter()
        .any(|f| f.rule == rule && f.subject.code == code)
}

/// A one-activity plan for 2016 in EUR, with an obligation and the given budget lines.
async fn mini_plan(db: &DatabaseConnection, start_month: u32, budget_lines: &str) {
    import_csv(
        db,
        RecordKind::Institutions,
        "code,name,kind\nMOJ,Ministry of Justice,government\n",
    )
    .await;
    import_csv(db, RecordKind::FundingSources, "code,name,kind,currency\nSB,State budget,state_budget,EUR\nUS,Partner grant,donor_grant,USD\n").await;
    import_csv(
        db,
        RecordKind::Plans,
        &format!("code,title,country,currency,start_date,end_date,fiscal_year_start_month\nNAP,Plan,XK,EUR,2015-01-01,2017-12-31,{start_month}\n"),
    )
    .await;
    import_csv(db, RecordKind::Objectives, "code,title\nPROT,Protection\n").await;
    import_csv(
        db,
        RecordKind::Activities,
        "code,title,objective_code,lead_institution_code,start_date,end_date,status\nA1,Compensation,PROT,MOJ,2015-12-01,2017-12-31,ongoing\n",
    )
    .await;
    import_csv(
        db,
        RecordKind::Obligations,
        "code,title,legal_basis,institution_code,in_force_from,annual_minimum,currency\nVCF,The compensation fund,Law 1 Art. 2,MOJ,2015-01-01,1000.00,EUR\n",
    )
    .await;
    import_csv(
        db,
        RecordKind::ExchangeRates,
        "date,currency,quote_currency,rate\n2015-01-01,USD,EUR,0.5\n2016-01-01,USD,EUR,0.8\n",
    )
    .await;
    if !budget_lines.is_empty() {
        import_csv(
            db,
            RecordKind::BudgetLines,
            &format!("code,activity_code,funding_source_code,fiscal_year,category,amount,currency,obligation_code\n{budget_lines}"),
        )
        .await;
    }
}

#[tokio::test]
async fn the_sample_plan_flags_the_unfunded_victim_compensation_fund_first_and_the_inactive_agency()
{
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;

    let flags = flags_on(&db, "2016-09-30").await;

    assert_eq!(flags[0].rule, Rule::ObligationUnfunded);
    assert_eq!(flags[0].subject.code, "VCF");
    assert!(
        flags[0]
            .legal_basis
            .as_deref()
            .unwrap()
            .contains("Article 27")
    );
    assert_eq!(
        flags[0].gap.map(|g| g.to_string()),
        Some("250000.00".to_owned())
    );
    assert!(raised(&flags, Rule::InstitutionInactive, "NATA"));
    assert!(raised(&flags, Rule::ActivityUnfunded, "PROT-10"));
    assert!(raised(&flags, Rule::CommitmentOverdue, "C-2016-001"));
    assert!(raised(&flags, Rule::LowExecution, "BL-2016-019"));
}

#[tokio::test]
async fn a_budget_line_linked_to_the_fund_removes_the_unfunded_flag() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;

    import_csv(
        &db,
        RecordKind::BudgetLines,
        "plan_code,code,activity_code,funding_source_code,fiscal_year,category,amount,currency,obligation_code\n\
         NAP-2015,BL-VCF-2016,PROT-10,SB,2016,subsidies_and_transfers,250000.00,EUR,VCF\n",
    )
    .await;
    let flags = flags_on(&db, "2016-09-30").await;

    assert!(!raised(&flags, Rule::ObligationUnfunded, "VCF"));
    assert!(!raised(&flags, Rule::ObligationUnderfunded, "VCF"));
    assert!(!raised(&flags, Rule::ActivityUnfunded, "PROT-10"));
    // Allocated and unpaid with three quarters of the year gone.
    assert!(raised(&flags, Rule::ObligationUndisbursed, "VCF"));
}

#[tokio::test]
async fn the_agency_is_active_early_in_the_year_and_inactive_after_its_long_silence() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;

    assert!(!raised(
        &flags_on(&db, "2016-03-31").await,
        Rule::InstitutionInactive,
        "NATA"
    ));
    assert!(raised(
        &flags_on(&db, "2016-07-20").await,
        Rule::InstitutionInactive,
        "NATA"
    ));
    assert!(!raised(
        &flags_on(&db, "2016-12-31").await,
        Rule::InstitutionInactive,
        "NATA"
    ));
}

#[tokio::test]
async fn a_commitment_is_overdue_after_its_due_date_not_on_it() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;

    assert!(!raised(
        &flags_on(&db, "2016-06-30").await,
        Rule::CommitmentOverdue,
        "C-2016-001"
    ));
    assert!(raised(
        &flags_on(&db, "2016-07-01").await,
        Rule::CommitmentOverdue,
        "C-2016-001"
    ));
}

#[tokio::test]
async fn the_deliberately_overspent_line_is_flagged_with_its_excess() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;

    let flags = flags_on(&db, "2018-12-31").await;
    let overspent: Vec<_> = flags.iter().filter(|f| f.rule == Rule::Overspent).collect();

    assert_eq!(overspent.len(), 1);
    assert_eq!(overspent[0].subject.code, "BL-2018-035");
    assert_eq!(
        overspent[0].gap.map(|g| g.to_string()),
        Some("1240.50".to_owned())
    );
    assert!(
        !flags_on(&db, "2017-12-31")
            .await
            .iter()
            .any(|f| f.rule == Rule::Overspent)
    );
}

#[tokio::test]
async fn low_execution_waits_until_the_year_has_run_past_the_tolerance() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;

    assert!(
        !flags_on(&db, "2016-01-31")
            .await
            .iter()
            .any(|f| f.rule == Rule::LowExecution)
    );
    assert!(raised(
        &flags_on(&db, "2016-09-30").await,
        Rule::LowExecution,
        "BL-2016-019"
    ));
}

#[tokio::test]
async fn an_allocation_below_the_minimum_is_underfunded_and_at_it_is_not() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    mini_plan(&db, 1, "BL-1,A1,SB,2016,wages,999.99,EUR,VCF\n").await;

    let flags = flags_on(&db, "2016-02-01").await;
    assert!(raised(&flags, Rule::ObligationUnderfunded, "VCF"));
    assert_eq!(flags[0].gap.map(|g| g.to_string()), Some("0.01".to_owned()));

    import_csv(&db, RecordKind::BudgetLines, "code,activity_code,funding_source_code,fiscal_year,category,amount,currency,obligation_code\nBL-1,A1,SB,2016,wages,1000.00,EUR,VCF\n").await;
    assert!(flags_on(&db, "2016-02-01").await.is_empty());
}

#[tokio::test]
async fn a_linked_line_in_another_currency_counts_at_the_rate_of_the_first_day_of_its_year() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    // 1250 USD at 0.8 (the rate of 2016-01-01) is exactly the 1000 EUR minimum.
    mini_plan(&db, 1, "BL-1,A1,US,2016,wages,1250.00,USD,VCF\n").await;
    assert!(flags_on(&db, "2016-02-01").await.is_empty());

    // 1249.99 USD is 999.99 EUR after rounding half-to-even: one cent short.
    import_csv(&db, RecordKind::BudgetLines, "code,activity_code,funding_source_code,fiscal_year,category,amount,currency,obligation_code\nBL-1,A1,US,2016,wages,1249.99,USD,VCF\n").await;
    let flags = flags_on(&db, "2016-02-01").await;
    assert_eq!(flags.len(), 1);
    assert_eq!(flags[0].rule, Rule::ObligationUnderfunded);
    assert_eq!(flags[0].gap.map(|g| g.to_string()), Some("0.01".to_owned()));
}

#[tokio::test]
async fn an_october_fiscal_year_puts_2015_10_15_in_fiscal_year_2016() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    mini_plan(&db, 10, "BL-1,A1,SB,2016,wages,1000.00,EUR,VCF\n").await;

    let plan = resolve_plan(&db, None).await.unwrap();
    let report = flags::flags(&db, &plan, date("2015-10-15"), &Thresholds::default())
        .await
        .unwrap();

    assert_eq!(report.fiscal_year, 2016);
    assert!(report.flags.is_empty(), "{:?}", report.flags);
    // On 2015-09-30 the year is fiscal 2015, which has no line.
    let report = flags::flags(&db, &plan, date("2015-09-30"), &Thresholds::default())
        .await
        .unwrap();
    assert_eq!(report.fiscal_year, 2015);
    assert!(raised(&report.flags, Rule::ObligationUnfunded, "VCF"));
}

#[tokio::test]
async fn unpaid_obligation_money_is_flagged_once_half_the_year_has_passed() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    mini_plan(&db, 1, "BL-1,A1,SB,2016,wages,1000.00,EUR,VCF\n").await;

    assert!(!raised(
        &flags_on(&db, "2016-06-30").await,
        Rule::ObligationUndisbursed,
        "VCF"
    ));
    assert!(raised(
        &flags_on(&db, "2016-07-01").await,
        Rule::ObligationUndisbursed,
        "VCF"
    ));

    import_csv(
        &db,
        RecordKind::Disbursements,
        "reference,budget_line_code,date,amount,currency\nD-1,BL-1,2016-03-01,10.00,EUR\n",
    )
    .await;
    assert!(!raised(
        &flags_on(&db, "2016-07-01").await,
        Rule::ObligationUndisbursed,
        "VCF"
    ));
}

#[tokio::test]
async fn only_disbursements_up_to_the_date_count() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    mini_plan(&db, 1, "BL-1,A1,SB,2016,wages,1000.00,EUR,VCF\n").await;
    import_csv(&db, RecordKind::Disbursements, "reference,budget_line_code,date,amount,currency\nD-1,BL-1,2016-03-01,600.00,EUR\nD-2,BL-1,2016-05-01,600.00,EUR\n").await;

    assert!(!raised(
        &flags_on(&db, "2016-04-30").await,
        Rule::Overspent,
        "BL-1"
    ));
    assert!(raised(
        &flags_on(&db, "2016-05-01").await,
        Rule::Overspent,
        "BL-1"
    ));
}

#[tokio::test]
async fn the_cli_prints_the_fund_first_in_every_format() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;

    let table = naptrack(&test_db, &["flags", "--as-of", "2016-09-30"]);
    let json = naptrack(
        &test_db,
        &["flags", "--as-of", "2016-09-30", "--format", "json"],
    );
    let csv = naptrack(
        &test_db,
        &["flags", "--as-of", "2016-09-30", "--format", "csv"],
    );

    assert!(table.status.success() && json.status.success() && csv.status.success());
    let table = stdout(&table);
    let first = table.lines().find(|l| l.starts_with("CRITICAL")).unwrap();
    assert!(
        first.contains("OBLIGATION_UNFUNDED") && first.contains("VCF"),
        "{table}"
    );
    assert!(table.contains("Legal basis: Law No. 04/L-218"));
    let json: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(json["as_of"], "2016-09-30");
    assert_eq!(json["flags"][0]["rule"], "OBLIGATION_UNFUNDED");
    assert_eq!(json["flags"][0]["subject"]["type"], "obligation");
    assert_eq!(json["flags"][0]["gap"], "250000.00");
    let csv = stdout(&csv);
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .starts_with("OBLIGATION_UNFUNDED,critical,obligation,VCF,")
    );
}

#[tokio::test]
async fn a_bad_date_is_refused_by_the_cli() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;

    let output = naptrack(&test_db, &["flags", "--as-of", "2016-02-30"]);

    assert!(!output.status.success());
}

#[rocket::async_test]
async fn the_api_returns_the_same_flags_as_the_service() {
    let app = TestApp::spawn().await;
    import_samples_into(&app.db).await;
    let (_, token) = naptrack::service::users::add_user(
        &app.db,
        "donor@example.org",
        naptrack::domain::Role::Donor,
        None,
        None,
        "test",
    )
    .await
    .unwrap();
    let auth = Header::new("Authorization", format!("Bearer {token}"));

    let response = app
        .client
        .get("/api/v1/flags?as_of=2016-09-30")
        .header(auth.clone())
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    let body: serde_json::Value = response.into_json().await.unwrap();
    let expected = flags_on(&app.db, "2016-09-30").await;

    let rules: Vec<&str> = body["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        expected.iter().map(|f| f.rule.as_str()).collect::<Vec<_>>()
    );
    assert_eq!(
        body["flags"][0]["legal_basis"],
        expected[0].legal_basis.clone().unwrap().as_str()
    );

    let critical = app
        .client
        .get("/api/v1/flags?as_of=2016-09-30&severity=critical")
        .header(auth.clone())
        .dispatch()
        .await;
    let critical: serde_json::Value = critical.into_json().await.unwrap();
    assert_eq!(critical["flags"].as_array().unwrap().len(), 1);

    let bad = app
        .client
        .get("/api/v1/flags?as_of=2016-02-30")
        .header(auth)
        .dispatch()
        .await;
    assert_eq!(bad.status(), Status::BadRequest);
}
