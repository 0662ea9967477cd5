//! CSV export: the contract's headers, references as codes, exact money, byte-wise key order,
//! formula guarding, and the choice of plan.

use std::io::Write;

use naptrack::domain::records::RecordKind;
use naptrack::domain::{Currency, FundingSourceKind, InstitutionKind};
use naptrack::entity::{
    budget_line, commitment, exchange_rate, funding_source, institution, objective, obligation,
};
use naptrack::error::Error;
use naptrack::money::{Amount, Rate};
use naptrack::service::export::export_csv;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbBackend, Set, Statement};

use crate::fixtures::{
    MiniPlan, another_plan, budget_line, date, eur, institution, mini_plan, new_disbursement,
    new_reversal,
};
use crate::helpers::TestDb;

fn amount(text: &str) -> Amount {
    Amount::parse(text).unwrap()
}

fn currency(code: &str) -> Currency {
    code.parse().unwrap()
}

/// Exports `kind` into memory, returning the text and the row count.
async fn export(
    db: &DatabaseConnection,
    kind: RecordKind,
    plan: Option<&str>,
) -> Result<(String, u64), Error> {
    let mut out = Vec::new();
    let rows = export_csv(db, kind, plan, &mut out).await?;
    Ok((String::from_utf8(out).unwrap(), rows))
}

/// Exports `kind`, expecting success, and returns just the text.
async fn export_text(db: &DatabaseConnection, kind: RecordKind, plan: Option<&str>) -> String {
    export(db, kind, plan).await.unwrap().0
}

/// A budget line of `plan` with its category and funding source chosen by the test.
async fn budget_line_with(
    db: &DatabaseConnection,
    plan: &MiniPlan,
    code: &str,
    category: &str,
    amount: Amount,
) -> budget_line::Model {
    budget_line::ActiveModel {
        plan_id: Set(plan.plan_id),
        code: Set(code.into()),
        activity_id: Set(plan.activity_id),
        funding_source_id: Set(plan.funding_source_id),
        fiscal_year: Set(2016),
        category: Set(category.into()),
        amount: Set(amount),
        currency: Set(eur()),
        obligation_id: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
}

/// The headers as the contract writes them, typed out here rather than taken from the code, so
/// a column that drifts from the contract fails this test.
const CONTRACT_HEADERS: [(RecordKind, &str); 10] = [
    (RecordKind::Institutions, "code,name,kind,iati_ref"),
    (
        RecordKind::FundingSources,
        "code,name,donor_code,kind,currency",
    ),
    (
        RecordKind::Plans,
        "code,title,country,currency,start_date,end_date,fiscal_year_start_month",
    ),
    (RecordKind::Objectives, "plan_code,code,title,parent_code"),
    (
        RecordKind::Activities,
        "plan_code,code,title,objective_code,lead_institution_code,start_date,end_date,status,sector_code",
    ),
    (
        RecordKind::Obligations,
        "plan_code,code,title,legal_basis,institution_code,activity_code,in_force_from,annual_minimum,currency",
    ),
    (
        RecordKind::BudgetLines,
        "plan_code,code,activity_code,funding_source_code,fiscal_year,category,amount,currency,obligation_code",
    ),
    (
        RecordKind::Commitments,
        "plan_code,reference,funding_source_code,activity_code,date,due_date,amount,currency",
    ),
    (
        RecordKind::Disbursements,
        "plan_code,reference,budget_line_code,date,amount,currency,payee_code,description,reverses",
    ),
    (
        RecordKind::ExchangeRates,
        "date,currency,quote_currency,rate",
    ),
];

#[tokio::test]
async fn a_kind_outside_any_plan_is_written_with_the_contract_header_even_without_rows() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;

    for (kind, header) in CONTRACT_HEADERS {
        if kind.is_plan_scoped() {
            continue;
        }
        let (text, rows) = export(&db, kind, None).await.unwrap();

        assert_eq!(text, format!("{header}\n"), "{kind}");
        assert_eq!(rows, 0, "{kind}");
    }
}

#[tokio::test]
async fn a_plan_scoped_kind_of_an_empty_plan_is_written_with_the_contract_header() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let base = mini_plan(&db).await;
    another_plan(&db, &base, "EMPTY").await;

    for (kind, header) in CONTRACT_HEADERS {
        if !kind.is_plan_scoped() {
            continue;
        }
        let (text, rows) = export(&db, kind, Some("EMPTY")).await.unwrap();

        let expected = match kind {
            // `another_plan` gives the plan one objective and one activity.
            RecordKind::Objectives => format!("{header}\nEMPTY,PROT,Protection,\n"),
            RecordKind::Activities => {
                format!(
                    "{header}\nEMPTY,PROT-01,Shelters,PROT,MOJ,2015-01-01,2019-12-31,ongoing,\n"
                )
            }
            _ => format!("{header}\n"),
        };
        assert_eq!(text, expected, "{kind}");
        assert_eq!(rows, u64::from(text.lines().count() > 1), "{kind}");
    }
}

#[tokio::test]
async fn a_plan_scoped_kind_on_an_empty_database_is_an_error_saying_no_plan_exists() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let mut out = Vec::new();

    let result = export_csv(&db, RecordKind::BudgetLines, None, &mut out).await;

    match result {
        Err(Error::NotFound(message)) => assert!(message.contains("no plan"), "{message}"),
        other => panic!("expected a not-found error, got {other:?}"),
    }
    assert!(
        out.is_empty(),
        "nothing is written before the plan is known"
    );
}

#[tokio::test]
async fn budget_lines_are_written_with_codes_and_exact_amounts() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let plan = mini_plan(&db).await;
    budget_line(&db, &plan, "BL-MAX", amount("99999999999999.9999"))
        .await
        .unwrap();
    budget_line(&db, &plan, "BL-MIN", amount("0.0001"))
        .await
        .unwrap();

    let (text, rows) = export(&db, RecordKind::BudgetLines, None).await.unwrap();

    assert_eq!(
        text,
        "plan_code,code,activity_code,funding_source_code,fiscal_year,category,amount,currency,obligation_code\n\
         NAP,BL-MAX,PROT-01,STATE,2016,goods_and_services,99999999999999.9999,EUR,\n\
         NAP,BL-MIN,PROT-01,STATE,2016,goods_and_services,0.0001,EUR,\n"
    );
    assert_eq!(rows, 2);
}

#[tokio::test]
async fn rows_come_in_byte_wise_key_order() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let plan = mini_plan(&db).await;
    if db.get_database_backend() == DbBackend::Postgres {
        // This server's databases may sort by the C locale already, which would hide a missing
        // COLLATE "C". A linguistic collation on the column stands in for a server whose
        // default is en_US, where "a" sorts before "B" and "A-10" after "A-2".
        use_linguistic_collation(&db, "budget_lines", "code").await;
    }
    for code in ["B", "a", "A-2", "A-10"] {
        budget_line(&db, &plan, code, amount("1")).await.unwrap();
    }

    let text = export_text(&db, RecordKind::BudgetLines, None).await;

    let codes: Vec<&str> = text
        .lines()
        .skip(1)
        .filter_map(|line| line.split(',').nth(1))
        .collect();
    assert_eq!(codes, ["A-10", "A-2", "B", "a"]);
}

/// Gives `table.column` PostgreSQL's ICU English collation, when the server has it.
async fn use_linguistic_collation(db: &DatabaseConnection, table: &str, column: &str) {
    let backend = db.get_database_backend();
    let available = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT 1 AS present FROM pg_collation WHERE collname = 'en-x-icu'",
        ))
        .await
        .unwrap()
        .is_some();
    if available {
        db.execute_unprepared(&format!(
            "ALTER TABLE {table} ALTER COLUMN {column} TYPE text COLLATE \"en-x-icu\""
        ))
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn a_text_cell_starting_with_a_formula_character_is_guarded_but_a_negative_amount_is_not() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let plan = mini_plan(&db).await;
    let line = budget_line_with(&db, &plan, "+BL", "=1+2", amount("5")).await;
    let mut original = new_disbursement(&line, "-D", amount("5"));
    original.description = Set(Some("@SUM(A1)".into()));
    let original = original.insert(&db).await.unwrap();
    new_reversal(&original, "R-1", amount("5"))
        .insert(&db)
        .await
        .unwrap();

    let budget_lines = export_text(&db, RecordKind::BudgetLines, None).await;
    let disbursements = export_text(&db, RecordKind::Disbursements, None).await;

    assert_eq!(
        budget_lines.lines().nth(1),
        Some("NAP,'+BL,PROT-01,STATE,2016,'=1+2,5.00,EUR,")
    );
    assert_eq!(
        disbursements.lines().skip(1).collect::<Vec<_>>(),
        [
            "NAP,'-D,'+BL,2016-03-01,5.00,EUR,,'@SUM(A1),",
            "NAP,R-1,'+BL,2016-04-01,-5.00,EUR,,,'-D",
        ]
    );
}

#[tokio::test]
async fn a_reversal_names_the_original_reference_and_the_payee_code() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let plan = mini_plan(&db).await;
    let payee = institution(&db, "NGO-1", InstitutionKind::Ngo).await;
    let line = budget_line(&db, &plan, "BL", amount("1000")).await.unwrap();
    let mut original = new_disbursement(&line, "D-100", amount("100"));
    original.payee_id = Set(Some(payee.id));
    let original = original.insert(&db).await.unwrap();
    let mut reversal = new_reversal(&original, "D-101", amount("40"));
    reversal.payee_id = Set(Some(payee.id));
    reversal.insert(&db).await.unwrap();

    let (text, rows) = export(&db, RecordKind::Disbursements, None).await.unwrap();

    assert_eq!(
        text,
        "plan_code,reference,budget_line_code,date,amount,currency,payee_code,description,reverses\n\
         NAP,D-100,BL,2016-03-01,100.00,EUR,NGO-1,,\n\
         NAP,D-101,BL,2016-04-01,-40.00,EUR,NGO-1,,D-100\n"
    );
    assert_eq!(rows, 2);
}

#[tokio::test]
async fn a_plan_scoped_export_with_two_plans_and_no_plan_named_is_an_error() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let base = mini_plan(&db).await;
    another_plan(&db, &base, "NAP-2").await;
    let mut out = Vec::new();

    let result = export_csv(&db, RecordKind::Activities, None, &mut out).await;

    match result {
        Err(Error::BadRequest(message)) => assert!(message.contains("--plan"), "{message}"),
        other => panic!("expected a bad-request error, got {other:?}"),
    }
    assert!(out.is_empty());
}

#[tokio::test]
async fn naming_one_of_two_plans_exports_only_that_plans_rows() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let first = mini_plan(&db).await;
    let second = another_plan(&db, &first, "NAP-2").await;
    budget_line(&db, &first, "BL-FIRST", amount("10"))
        .await
        .unwrap();
    let line = budget_line(&db, &second, "BL-SECOND", amount("20"))
        .await
        .unwrap();
    new_disbursement(&line, "D-SECOND", amount("20"))
        .insert(&db)
        .await
        .unwrap();

    let budget_lines = export_text(&db, RecordKind::BudgetLines, Some("NAP-2")).await;
    let disbursements = export_text(&db, RecordKind::Disbursements, Some("NAP")).await;
    let plans = export_text(&db, RecordKind::Plans, Some("NAP-2")).await;
    let all_plans = export_text(&db, RecordKind::Plans, None).await;

    assert_eq!(
        budget_lines.lines().skip(1).collect::<Vec<_>>(),
        ["NAP-2,BL-SECOND,PROT-01,STATE,2016,goods_and_services,20.00,EUR,"]
    );
    assert_eq!(
        disbursements.lines().count(),
        1,
        "only the header: {disbursements}"
    );
    assert_eq!(
        plans.lines().skip(1).collect::<Vec<_>>(),
        ["NAP-2,Plan NAP-2,XK,EUR,2015-01-01,2019-12-31,1"]
    );
    assert_eq!(all_plans.lines().count(), 3, "{all_plans}");
}

#[tokio::test]
async fn an_unknown_plan_is_not_found_for_plan_scoped_kinds_and_for_plans() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    mini_plan(&db).await;

    for kind in [RecordKind::Commitments, RecordKind::Plans] {
        let mut out = Vec::new();
        let result = export_csv(&db, kind, Some("NOPE"), &mut out).await;

        match result {
            Err(Error::NotFound(message)) => assert!(message.contains("NOPE"), "{message}"),
            other => panic!("{kind}: expected a not-found error, got {other:?}"),
        }
        assert!(out.is_empty(), "{kind}");
    }
}

#[tokio::test]
async fn every_kind_is_written_in_full_with_references_as_codes() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let plan = mini_plan(&db).await;
    full_plan(&db, &plan).await;

    let expected: [(RecordKind, &str); 10] = [
        (
            RecordKind::Institutions,
            "code,name,kind,iati_ref\n\
             EU,\"European Union, \"\"DG INTPA\"\"\",donor,XI-IATI-EC_INTPA\n\
             MOJ,Ministry of Justice,government,\n",
        ),
        (
            RecordKind::FundingSources,
            "code,name,donor_code,kind,currency\n\
             EU-GRANT,EU grant,EU,donor_grant,EUR\n\
             STATE,State budget,,state_budget,EUR\n",
        ),
        (
            RecordKind::Plans,
            "code,title,country,currency,start_date,end_date,fiscal_year_start_month\n\
             NAP,Plan,XK,EUR,2015-01-01,2019-12-31,1\n",
        ),
        (
            RecordKind::Objectives,
            "plan_code,code,title,parent_code\n\
             NAP,PROT,Protection,\n\
             NAP,PROT-1,Shelters and hotlines,PROT\n",
        ),
        (
            RecordKind::Activities,
            "plan_code,code,title,objective_code,lead_institution_code,start_date,end_date,status,sector_code\n\
             NAP,PROT-01,Shelters,PROT,MOJ,2015-01-01,2019-12-31,ongoing,\n",
        ),
        (
            RecordKind::Obligations,
            "plan_code,code,title,legal_basis,institution_code,activity_code,in_force_from,annual_minimum,currency\n\
             NAP,OBL-1,Victim compensation fund,\"Law 05/L-019, Art. 12\",MOJ,PROT-01,2015-06-01,250000.00,EUR\n\
             NAP,OBL-2,Hotline,Plan 2015,MOJ,,2016-01-01,,\n",
        ),
        (
            RecordKind::BudgetLines,
            "plan_code,code,activity_code,funding_source_code,fiscal_year,category,amount,currency,obligation_code\n\
             NAP,BL-1,PROT-01,STATE,2016,goods_and_services,150000.00,EUR,\n\
             NAP,BL-2,PROT-01,EU-GRANT,2017,subsidies_and_transfers,250000.00,EUR,OBL-1\n",
        ),
        (
            RecordKind::Commitments,
            "plan_code,reference,funding_source_code,activity_code,date,due_date,amount,currency\n\
             NAP,C-1,EU-GRANT,PROT-01,2016-01-15,2016-06-30,500000.50,EUR\n\
             NAP,C-2,STATE,PROT-01,2016-02-01,,1000.00,EUR\n",
        ),
        (
            RecordKind::Disbursements,
            "plan_code,reference,budget_line_code,date,amount,currency,payee_code,description,reverses\n\
             NAP,D-1,BL-1,2016-03-01,120000.00,EUR,MOJ,\"Shelter running costs, Q1\",\n\
             NAP,D-1-R,BL-1,2016-04-01,-20000.00,EUR,MOJ,Duplicate payment,D-1\n",
        ),
        (
            RecordKind::ExchangeRates,
            "date,currency,quote_currency,rate\n\
             2016-01-01,EUR,USD,1.1096\n\
             2016-01-01,USD,EUR,0.9012\n\
             2016-02-01,EUR,USD,1.0850000001\n",
        ),
    ];
    for (kind, csv) in expected {
        let (text, rows) = export(&db, kind, None).await.unwrap();

        assert_eq!(text, csv, "{kind}");
        assert_eq!(rows, csv.lines().count() as u64 - 1, "{kind}");
    }
}

/// Adds to the mini plan one record of every kind with its optional values set, and one with
/// them left out, inserted out of key order.
async fn full_plan(db: &DatabaseConnection, plan: &MiniPlan) {
    let donor = institution::ActiveModel {
        code: Set("EU".into()),
        name: Set("European Union, \"DG INTPA\"".into()),
        kind: Set(InstitutionKind::Donor),
        iati_ref: Set(Some("XI-IATI-EC_INTPA".into())),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    let grant = funding_source::ActiveModel {
        code: Set("EU-GRANT".into()),
        name: Set("EU grant".into()),
        donor_id: Set(Some(donor.id)),
        kind: Set(FundingSourceKind::DonorGrant),
        currency: Set(eur()),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    objective::ActiveModel {
        plan_id: Set(plan.plan_id),
        code: Set("PROT-1".into()),
        title: Set("Shelters and hotlines".into()),
        parent_id: Set(Some(plan.objective_id)),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    obligation::ActiveModel {
        plan_id: Set(plan.plan_id),
        code: Set("OBL-2".into()),
        title: Set("Hotline".into()),
        legal_basis: Set("Plan 2015".into()),
        institution_id: Set(plan.institution_id),
        activity_id: Set(None),
        in_force_from: Set(date("2016-01-01")),
        annual_minimum: Set(None),
        currency: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    let fund = obligation::ActiveModel {
        plan_id: Set(plan.plan_id),
        code: Set("OBL-1".into()),
        title: Set("Victim compensation fund".into()),
        legal_basis: Set("Law 05/L-019, Art. 12".into()),
        institution_id: Set(plan.institution_id),
        activity_id: Set(Some(plan.activity_id)),
        in_force_from: Set(date("2015-06-01")),
        annual_minimum: Set(Some(amount("250000"))),
        currency: Set(Some(eur())),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    budget_line::ActiveModel {
        plan_id: Set(plan.plan_id),
        code: Set("BL-2".into()),
        activity_id: Set(plan.activity_id),
        funding_source_id: Set(grant.id),
        fiscal_year: Set(2017),
        category: Set("subsidies_and_transfers".into()),
        amount: Set(amount("250000")),
        currency: Set(eur()),
        obligation_id: Set(Some(fund.id)),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    let line = budget_line(db, plan, "BL-1", amount("150000"))
        .await
        .unwrap();
    for (reference, funding_source_id, day, due, value) in [
        ("C-2", plan.funding_source_id, "2016-02-01", None, "1000"),
        (
            "C-1",
            grant.id,
            "2016-01-15",
            Some("2016-06-30"),
            "500000.5",
        ),
    ] {
        commitment::ActiveModel {
            plan_id: Set(plan.plan_id),
            reference: Set(reference.into()),
            funding_source_id: Set(funding_source_id),
            activity_id: Set(plan.activity_id),
            date: Set(date(day)),
            due_date: Set(due.map(date)),
            amount: Set(amount(value)),
            currency: Set(eur()),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
    }
    let mut paid = new_disbursement(&line, "D-1", amount("120000"));
    paid.payee_id = Set(Some(plan.institution_id));
    paid.description = Set(Some("Shelter running costs, Q1".into()));
    let paid = paid.insert(db).await.unwrap();
    let mut reversal = new_reversal(&paid, "D-1-R", amount("20000"));
    reversal.payee_id = Set(Some(plan.institution_id));
    reversal.description = Set(Some("Duplicate payment".into()));
    reversal.insert(db).await.unwrap();
    for (day, from, to, rate) in [
        ("2016-02-01", "EUR", "USD", "1.0850000001"),
        ("2016-01-01", "USD", "EUR", "0.9012"),
        ("2016-01-01", "EUR", "USD", "1.1096"),
    ] {
        exchange_rate::ActiveModel {
            date: Set(date(day)),
            currency: Set(currency(from)),
            quote_currency: Set(currency(to)),
            rate: Set(Rate::parse(rate).unwrap()),
            ..Default::default()
        }
        .insert(db)
        .await
        .unwrap();
    }
}

/// A writer that keeps only the number of lines and the last complete line, so a test can
/// export many rows without holding the file.
#[derive(Default)]
struct LineCounter {
    lines: u64,
    current: Vec<u8>,
    last: Vec<u8>,
}

impl Write for LineCounter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        for &byte in bytes {
            if byte == b'\n' {
                self.lines += 1;
                self.last = std::mem::take(&mut self.current);
            } else {
                self.current.push(byte);
            }
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_hundred_thousand_disbursements_are_all_streamed_out() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let plan = mini_plan(&db).await;
    let line = budget_line(&db, &plan, "BL", amount("1000000"))
        .await
        .unwrap();
    let backend = db.get_database_backend();
    let (numbers, day, now) = match backend {
        DbBackend::Postgres => (
            "SELECT generate_series(1, 100000) AS n",
            "DATE '2016-03-01'",
            "now()",
        ),
        _ => (
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 100000) SELECT n FROM s",
            "'2016-03-01'",
            "'2026-01-01T00:00:00+00:00'",
        ),
    };
    db.execute_raw(Statement::from_string(
        backend,
        format!(
            "INSERT INTO disbursements (plan_id, reference, budget_line_id, date, amount, currency, recorded_at) \
             SELECT {p}, 'D' || n, {l}, {day}, 100, 'EUR', {now} FROM ({numbers}) AS numbers",
            p = plan.plan_id,
            l = line.id,
        ),
    ))
    .await
    .unwrap();
    let mut out = LineCounter::default();

    let rows = export_csv(&db, RecordKind::Disbursements, None, &mut out)
        .await
        .unwrap();

    assert_eq!(rows, 100_000);
    assert_eq!(out.lines, 100_001);
    // "D99999" is the greatest reference byte by byte ("D100000" sorts after "D1").
    assert_eq!(
        String::from_utf8_lossy(&out.last),
        "NAP,D99999,BL,2016-03-01,0.01,EUR,,,"
    );
}
