//! The execution report: exact totals in the plan's currency, per-record conversion, every
//! dimension, filters, and the same numbers from SQLite and PostgreSQL.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::NaiveDate;
use naptrack::config::Settings;
use naptrack::domain::Currency;
use naptrack::domain::conversion::RateTable;
use naptrack::domain::fiscal::FiscalYearStart;
use naptrack::domain::records::RecordKind;
use naptrack::money::{Amount, Rate};
use naptrack::service::export::export_csv;
use naptrack::service::plans::resolve_plan;
use naptrack::service::reports::{self, Dimension, ExecutionReport, Filters};
use proptest::prelude::*;
use sea_orm::DatabaseConnection;

use crate::helpers::{TestDb, import_csv, import_samples_into, naptrack, stdout};

async fn report(db: &DatabaseConnection, by: Dimension, filters: Filters) -> ExecutionReport {
    let plan = resolve_plan(db, None).await.unwrap();
    reports::execution(db, &plan, by, filters).await.unwrap()
}

fn assert_totals_are_sums(report: &ExecutionReport) {
    let sum = |f: fn(&reports::ReportRow) -> Amount| {
        Amount::checked_sum(report.rows.iter().map(f)).unwrap()
    };
    assert_eq!(
        report.totals.allocated,
        sum(|r| r.allocated),
        "{}",
        report.by
    );
    assert_eq!(
        report.totals.committed,
        sum(|r| r.committed),
        "{}",
        report.by
    );
    assert_eq!(
        report.totals.disbursed,
        sum(|r| r.disbursed),
        "{}",
        report.by
    );
    assert_eq!(
        report.totals.remaining,
        sum(|r| r.remaining),
        "{}",
        report.by
    );
    for row in &report.rows {
        assert_eq!(
            row.remaining,
            row.allocated.checked_sub(row.disbursed).unwrap()
        );
    }
}

/// The grand totals computed independently of the report: every record exported, converted
/// on its own and rounded, then summed.
async fn independent_totals(db: &DatabaseConnection) -> (Amount, Amount, Amount) {
    let plan = resolve_plan(db, None).await.unwrap();
    let fiscal = FiscalYearStart::new(plan.fiscal_year_start_month).unwrap();
    let rows = |kind: RecordKind| async move {
        let mut out = Vec::new();
        export_csv(db, kind, None, &mut out).await.unwrap();
        let mut reader = csv::Reader::from_reader(out.as_slice());
        let headers = reader.headers().unwrap().clone();
        reader
            .records()
            .map(|r| {
                let r = r.unwrap();
                headers
                    .iter()
                    .zip(r.iter())
                    .map(|(h, v)| (h.to_owned(), v.to_owned()))
                    .collect::<std::collections::HashMap<_, _>>()
            })
            .collect::<Vec<_>>()
    };
    let rates = RateTable::new(rows(RecordKind::ExchangeRates).await.into_iter().map(|r| {
        (
            NaiveDate::parse_from_str(&r["date"], "%Y-%m-%d").unwrap(),
            r["currency"].parse::<Currency>().unwrap(),
            r["quote_currency"].parse::<Currency>().unwrap(),
            Rate::parse(&r["rate"]).unwrap(),
        )
    }));
    let convert = |amount: &str, currency: &str, date: NaiveDate| {
        rates
            .convert(
                Amount::parse(amount).unwrap(),
                currency.parse().unwrap(),
                plan.currency,
                date,
            )
            .unwrap()
    };
    let date = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
    let allocated = Amount::checked_sum(rows(RecordKind::BudgetLines).await.iter().map(|r| {
        let year: i32 = r["fiscal_year"].parse().unwrap();
        convert(&r["amount"], &r["currency"], fiscal.bounds(year).unwrap().0)
    }))
    .unwrap();
    let committed = Amount::checked_sum(
        rows(RecordKind::Commitments)
            .await
            .iter()
            .map(|r| convert(&r["amount"], &r["currency"], date(&r["date"]))),
    )
    .unwrap();
    let disbursed = Amount::checked_sum(
        rows(RecordKind::Disbursements)
            .await
            .iter()
            .map(|r| convert(&r["amount"], &r["currency"], date(&r["date"]))),
    )
    .unwrap();
    (allocated, committed, disbursed)
}

#[tokio::test]
async fn every_dimension_of_the_sample_plan_has_totals_equal_to_the_sum_of_its_rows() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;
    let expected = independent_totals(&db).await;

    for by in Dimension::ALL {
        let report = report(&db, by, Filters::default()).await;

        assert_totals_are_sums(&report);
        assert_eq!(
            (
                report.totals.allocated,
                report.totals.committed,
                report.totals.disbursed
            ),
            expected,
            "{by}"
        );
    }
}

#[tokio::test]
async fn the_cli_prints_every_dimension_in_all_three_formats() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;

    for by in Dimension::ALL {
        for format in ["table", "json", "csv"] {
            let output = naptrack(
                &test_db,
                &[
                    "report",
                    "execution",
                    "--by",
                    by.as_str(),
                    "--format",
                    format,
                ],
            );
            assert!(output.status.success(), "{by} {format}");
            let text = stdout(&output);
            match format {
                "json" => {
                    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
                    assert!(
                        json["rows"].as_array().is_some_and(|rows| !rows.is_empty()),
                        "{by}"
                    );
                    assert!(json["totals"]["disbursed"].as_str().is_some());
                }
                "csv" => {
                    assert!(text.starts_with(
                        "key,label,allocated,committed,disbursed,remaining,execution_rate\n"
                    ));
                    assert!(text.lines().last().unwrap().starts_with("TOTAL,Total,"));
                }
                _ => assert!(text.contains("TOTAL")),
            }
        }
    }
}

/// A plan in EUR with a fiscal year starting in `start_month`, a USD grant, rates, and the
/// given budget lines, commitments and disbursements.
async fn plan_with(
    db: &DatabaseConnection,
    start_month: u32,
    lines: &str,
    commitments: &str,
    disbursements: &str,
) {
    import_csv(
        db,
        RecordKind::Institutions,
        "code,name,kind\nMOJ,Ministry of Justice,government\nUSG,Partner government,donor\n",
    )
    .await;
    import_csv(db, RecordKind::FundingSources, "code,name,donor_code,kind,currency\nSB,State budget,,state_budget,EUR\nUS,Partner grant,USG,donor_grant,USD\n").await;
    import_csv(
        db,
        RecordKind::Plans,
        &format!("code,title,country,currency,start_date,end_date,fiscal_year_start_month\nNAP,Plan,XK,EUR,2014-10-01,2017-09-30,{start_month}\n"),
    )
    .await;
    import_csv(db, RecordKind::Objectives, "code,title\nPROT,Protection\n").await;
    import_csv(
        db,
        RecordKind::Activities,
        "code,title,objective_code,lead_institution_code,start_date,end_date,status\nA1,Shelters,PROT,MOJ,2014-10-01,2017-09-30,ongoing\n",
    )
    .await;
    import_csv(
        db,
        RecordKind::ExchangeRates,
        "date,currency,quote_currency,rate\n2014-10-01,USD,EUR,0.8\n2015-10-01,USD,EUR,0.9\n2016-01-01,EUR,USD,1.25\n",
    )
    .await;
    import_csv(
        db,
        RecordKind::BudgetLines,
        &format!(
            "code,activity_code,funding_source_code,fiscal_year,category,amount,currency\n{lines}"
        ),
    )
    .await;
    if !commitments.is_empty() {
        import_csv(
            db,
            RecordKind::Commitments,
            &format!(
                "reference,funding_source_code,activity_code,date,amount,currency\n{commitments}"
            ),
        )
        .await;
    }
    if !disbursements.is_empty() {
        import_csv(
            db,
            RecordKind::Disbursements,
            &format!("reference,budget_line_code,date,amount,currency,reverses\n{disbursements}"),
        )
        .await;
    }
}

fn row<'r>(report: &'r ExecutionReport, key: &str) -> &'r reports::ReportRow {
    report
        .rows
        .iter()
        .find(|r| r.key == key)
        .unwrap_or_else(|| panic!("no row {key} in {:?}", report.rows))
}

#[tokio::test]
async fn an_october_fiscal_year_puts_2015_10_01_into_fiscal_year_2016() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    plan_with(
        &db,
        10,
        "L15,A1,SB,2015,wages,100.00,EUR\nL16,A1,SB,2016,wages,200.00,EUR\n",
        "C1,SB,A1,2015-10-01,50.00,EUR\nC0,SB,A1,2015-09-30,7.00,EUR\n",
        "D1,L16,2015-10-01,20.00,EUR,\n",
    )
    .await;

    let report = report(&db, Dimension::FiscalYear, Filters::default()).await;

    assert_eq!(row(&report, "2016").committed.to_string(), "50.00");
    assert_eq!(row(&report, "2015").committed.to_string(), "7.00");
    assert_eq!(row(&report, "2016").disbursed.to_string(), "20.00");
    assert_eq!(row(&report, "2016").allocated.to_string(), "200.00");
}

#[tokio::test]
async fn each_foreign_amount_is_converted_and_rounded_on_its_own() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    // Two payments of 0.05 USD at 0.9 are 0.045 EUR each, rounded half-to-even to 0.04:
    // 0.08 EUR in all, where converting their sum (0.10 USD = 0.09 EUR) would give 0.09.
    plan_with(
        &db,
        1,
        "L,A1,US,2015,wages,10.00,USD\n",
        "",
        "D1,L,2015-10-02,0.05,USD,\nD2,L,2015-10-03,0.05,USD,\n",
    )
    .await;

    let report = report(&db, Dimension::Activity, Filters::default()).await;

    assert_eq!(report.totals.disbursed.to_string(), "0.08");
    // The budget line converts at the first day of its fiscal year 2015: 10 USD at 0.8.
    assert_eq!(report.totals.allocated.to_string(), "8.00");
}

#[tokio::test]
async fn a_rate_quoted_the_other_way_round_is_inverted() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    // On 2016-02-01 the latest quote is 1 EUR = 1.25 USD, so 100 USD is 80 EUR.
    plan_with(
        &db,
        1,
        "L,A1,US,2016,wages,1000.00,USD\n",
        "",
        "D1,L,2016-02-01,100.00,USD,\n",
    )
    .await;

    let report = report(&db, Dimension::Activity, Filters::default()).await;

    assert_eq!(report.totals.disbursed.to_string(), "80.00");
}

#[tokio::test]
async fn a_reversal_nets_out_to_zero() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    plan_with(
        &db,
        1,
        "L,A1,US,2015,wages,1000.00,USD\n",
        "",
        "D1,L,2015-11-02,123.45,USD,\nR1,L,2015-11-03,-123.45,USD,D1\n",
    )
    .await;

    let report = report(&db, Dimension::Month, Filters::default()).await;

    assert_eq!(report.totals.disbursed, Amount::ZERO);
}

#[tokio::test]
async fn a_missing_rate_is_an_error_naming_the_currency_and_date() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    plan_with(&db, 1, "L,A1,SB,2015,wages,10.00,EUR\n", "", "").await;
    import_csv(
        &db,
        RecordKind::Disbursements,
        "reference,budget_line_code,date,amount,currency\nD1,L,2014-01-05,5.00,USD\n",
    )
    .await;

    let plan = resolve_plan(&db, None).await.unwrap();
    let error = reports::execution(&db, &plan, Dimension::Activity, Filters::default())
        .await
        .unwrap_err();

    let message = error.to_string();
    assert!(
        message.contains("USD") && message.contains("2014-01-05"),
        "{message}"
    );
}

#[tokio::test]
async fn filters_narrow_every_column_they_apply_to() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    plan_with(
        &db,
        1,
        "L1,A1,SB,2015,wages,100.00,EUR\nL2,A1,US,2015,capital,100.00,USD\nL3,A1,SB,2016,wages,50.00,EUR\n",
        "C1,US,A1,2015-03-01,40.00,USD\n",
        "D1,L1,2015-03-01,10.00,EUR,\nD2,L1,2015-06-01,20.00,EUR,\nD3,L3,2016-02-01,5.00,EUR,\n",
    )
    .await;

    let year = report(
        &db,
        Dimension::Activity,
        Filters {
            fiscal_year: Some(2016),
            ..Filters::default()
        },
    )
    .await;
    assert_eq!(
        (
            year.totals.allocated.to_string(),
            year.totals.disbursed.to_string()
        ),
        ("50.00".into(), "5.00".into())
    );
    let dates = Filters {
        from: Some(NaiveDate::from_ymd_opt(2015, 4, 1).unwrap()),
        to: Some(NaiveDate::from_ymd_opt(2015, 12, 31).unwrap()),
        ..Filters::default()
    };
    assert_eq!(
        report(&db, Dimension::Activity, dates)
            .await
            .totals
            .disbursed
            .to_string(),
        "20.00"
    );
    let donor = report(
        &db,
        Dimension::Category,
        Filters {
            donor: Some("USG".into()),
            ..Filters::default()
        },
    )
    .await;
    assert_eq!(donor.totals.allocated.to_string(), "80.00");
    assert_eq!(donor.totals.committed.to_string(), "32.00");
    assert_eq!(donor.totals.disbursed, Amount::ZERO);
    let source = report(
        &db,
        Dimension::FundingSource,
        Filters {
            funding_source: Some("SB".into()),
            ..Filters::default()
        },
    )
    .await;
    assert_eq!(source.rows.len(), 1);
    assert_eq!(source.totals.disbursed.to_string(), "35.00");
}

/// A migrated SQLite database in `dir`, whatever the suite's backend.
async fn sqlite_in(dir: &tempfile::TempDir) -> DatabaseConnection {
    let settings = Settings {
        database_url: format!("sqlite://{}", dir.path().join("side.db").display()),
        load_samples: false,
        samples_dir: PathBuf::from("samples"),
        database_max_connections: None,
        flags: Default::default(),
        iati: Default::default(),
        audit_key_file: None,
        audit_checkpoint_interval_minutes: 0,
    };
    naptrack::db::connect_and_migrate(&settings).await.unwrap()
}

#[tokio::test]
async fn sqlite_and_the_suites_backend_give_identical_reports() {
    // With NAPTRACK_TEST_POSTGRES_URL set the suite's database is PostgreSQL, and this
    // compares it with SQLite; on SQLite alone it compares two SQLite databases.
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let dir = tempfile::tempdir().unwrap();
    let sqlite = sqlite_in(&dir).await;
    import_samples_into(&db).await;
    import_samples_into(&sqlite).await;

    for by in Dimension::ALL {
        let a = serde_json::to_value(report(&db, by, Filters::default()).await).unwrap();
        let b = serde_json::to_value(report(&sqlite, by, Filters::default()).await).unwrap();
        assert_eq!(a, b, "{by}");
    }
}

/// Each row's disbursed money by its key, rows without any left out.
fn disbursed_by_key(report: &ExecutionReport) -> BTreeMap<String, Amount> {
    report
        .rows
        .iter()
        .filter(|row| row.disbursed != Amount::ZERO)
        .map(|row| (row.key.clone(), row.disbursed))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Random lines, commitments and payments in three currencies: for every dimension the
    /// totals are the exact sums of the rows and equal the record-by-record computation.
    #[test]
    fn random_money_in_several_currencies_adds_up_exactly_in_every_dimension(
        lines in prop::collection::vec((0..3usize, 2015..=2016i32, 0u64..10_000_000_000, 0..3usize), 1..8),
        payments in prop::collection::vec((0..8usize, 1..=700i64, 1u64..100_000_000, prop_oneof![4 => Just(0usize), 1 => 1..3usize], any::<bool>()), 0..25),
    ) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let test_db = TestDb::new().await;
            let db = test_db.connect().await;
            let currencies = ["EUR", "USD", "JPY"];
            let sources = ["SB", "US", "JP"];
            let categories = ["wages", "capital", "goods_and_services"];
            let mut line_csv = String::new();
            for (i, (c, year, units, category)) in lines.iter().enumerate() {
                // Whole units, so a line is valid in every currency.
                let amount = Amount::from_units((units / 10_000 * 10_000) as i64);
                line_csv.push_str(&format!("L{i},A1,{},{year},{},{amount},{}\n", sources[*c], categories[*category], currencies[*c]));
            }
            let mut pay_csv = String::new();
            for (i, (line, day, units, in_own_currency, reverse)) in payments.iter().enumerate() {
                let line = line % lines.len();
                // Most payments are in the line's currency; some in another one.
                let currency = (lines[line].0 + in_own_currency) % 3;
                let date = NaiveDate::from_ymd_opt(2015, 1, 1).unwrap() + chrono::Duration::days(*day);
                let amount = Amount::from_units((*units as i64) / 100 * 100);
                pay_csv.push_str(&format!("P{i},L{line},{date},{amount},{},\n", currencies[currency]));
                if *reverse {
                    pay_csv.push_str(&format!("R{i},L{line},{date},{},{},P{i}\n", amount.negated(), currencies[currency]));
                }
            }
            import_csv(&db, RecordKind::Institutions, "code,name,kind\nMOJ,Ministry,government\n").await;
            import_csv(&db, RecordKind::FundingSources, "code,name,kind,currency\nSB,State,state_budget,EUR\nUS,US grant,donor_grant,USD\nJP,JP grant,donor_grant,JPY\n").await;
            import_csv(&db, RecordKind::Plans, "code,title,country,currency,start_date,end_date,fiscal_year_start_month\nNAP,Plan,XK,EUR,2015-01-01,2016-12-31,1\n").await;
            import_csv(&db, RecordKind::Objectives, "code,title\nPROT,Protection\n").await;
            import_csv(&db, RecordKind::Activities, "code,title,objective_code,lead_institution_code,start_date,end_date,status\nA1,Shelters,PROT,MOJ,2015-01-01,2016-12-31,ongoing\n").await;
            import_csv(&db, RecordKind::ExchangeRates, "date,currency,quote_currency,rate\n2015-01-01,USD,EUR,0.8765432101\n2015-06-01,USD,EUR,0.91\n2015-01-01,EUR,JPY,133.33\n2016-01-01,JPY,EUR,0.0071234567\n").await;
            import_csv(&db, RecordKind::BudgetLines, &format!("code,activity_code,funding_source_code,fiscal_year,category,amount,currency\n{line_csv}")).await;
            if !pay_csv.is_empty() {
                import_csv(&db, RecordKind::Disbursements, &format!("reference,budget_line_code,date,amount,currency,reverses\n{pay_csv}")).await;
            }
            let expected = independent_totals(&db).await;
            for by in Dimension::ALL {
                let report = report(&db, by, Filters::default()).await;
                assert_totals_are_sums(&report);
                assert_eq!((report.totals.allocated, report.totals.committed, report.totals.disbursed), expected, "{by}");
            }
            // By month over every line (summed day by day) and fiscal year by fiscal year
            // (summed by line and month) agree month by month.
            let all = disbursed_by_key(&report(&db, Dimension::Month, Filters::default()).await);
            let mut per_year = BTreeMap::new();
            for year in [2015, 2016] {
                let filters = Filters { fiscal_year: Some(year), ..Filters::default() };
                for (key, amount) in disbursed_by_key(&report(&db, Dimension::Month, filters).await) {
                    let sum: &mut Amount = per_year.entry(key).or_insert(Amount::ZERO);
                    *sum = sum.checked_add(amount).unwrap();
                }
            }
            per_year.retain(|_, amount| *amount != Amount::ZERO);
            assert_eq!(all, per_year);
        });
    }
}

#[tokio::test]
async fn a_donor_statement_follows_the_money_from_commitment_to_payment() {
    use naptrack::service::statements::{Giver, donor_statement};
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;
    let plan = resolve_plan(&db, None).await.unwrap();

    let statement = donor_statement(
        &db,
        &plan,
        Giver::Donor("PGATO".into()),
        &Default::default(),
    )
    .await
    .unwrap();

    assert!(!statement.disbursements.is_empty());
    assert!(
        statement
            .disbursements
            .iter()
            .all(|p| p.funding_source_code.starts_with("PG-"))
    );
    assert_eq!(statement.disbursed, statement.by_activity.totals.disbursed);
    assert_eq!(
        statement.by_activity.totals.disbursed,
        statement.by_fiscal_year.totals.disbursed
    );
    assert_eq!(
        statement.by_activity.totals.committed,
        statement.by_fiscal_year.totals.committed
    );
    assert!(statement.by_activity.totals.committed.is_positive());
    let unknown = donor_statement(
        &db,
        &plan,
        Giver::FundingSource("NOPE".into()),
        &Default::default(),
    )
    .await;
    assert!(matches!(unknown, Err(naptrack::Error::NotFound(_))));
}

#[tokio::test]
async fn the_cli_writes_each_part_of_a_donor_statement_as_csv() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_samples_into(&db).await;

    for (part, header) in [
        (
            "activity",
            "key,label,allocated,committed,disbursed,remaining,execution_rate",
        ),
        (
            "fiscal-year",
            "key,label,allocated,committed,disbursed,remaining,execution_rate",
        ),
        (
            "disbursements",
            "reference,date,budget_line_code,activity_code,funding_source_code,amount,currency,amount_eur,reverses,description",
        ),
    ] {
        let output = naptrack(
            &test_db,
            &[
                "report", "donor", "--donor", "EUROL", "--format", "csv", "--part", part,
            ],
        );
        assert!(output.status.success(), "{part}");
        assert_eq!(stdout(&output).lines().next(), Some(header));
    }
}
