//! Money is exact in storage and in sums, on SQLite and on PostgreSQL.

use naptrack::entity::budget_line;
use naptrack::money::Amount;
use naptrack::service::summary;
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, Statement};

use crate::fixtures::{budget_line, mini_plan};
use crate::helpers::TestDb;

fn amount(text: &str) -> Amount {
    Amount::parse(text).unwrap()
}

#[tokio::test]
async fn extreme_amounts_round_trip_through_the_database_exactly() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let plan = mini_plan(&db).await;
    for (i, text) in [
        "99999999999999.9999",
        "12345678901234.5678",
        "0.0001",
        "0.00",
    ]
    .iter()
    .enumerate()
    {
        let stored = budget_line(&db, &plan, &format!("BL-{i}"), amount(text))
            .await
            .unwrap();
        let read = budget_line::Entity::find_by_id(stored.id)
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read.amount.to_string(), amount(text).to_string(), "{text}");
    }
}

#[tokio::test]
async fn a_negative_ten_thousandth_round_trips_through_the_database() {
    // Disbursement reversals are the records that carry negative amounts.
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let plan = mini_plan(&db).await;
    let line = budget_line(&db, &plan, "BL", amount("1")).await.unwrap();
    let backend = db.get_database_backend();
    let now = now_sql(backend);
    db.execute_raw(Statement::from_string(
        backend,
        format!(
            "INSERT INTO disbursements (plan_id, reference, budget_line_id, date, amount, currency, recorded_at) \
             VALUES ({p}, 'D1', {l}, {d}, 1, 'EUR', {now})",
            p = plan.plan_id,
            l = line.id,
            d = date_sql(backend, "2016-01-01")
        ),
    ))
    .await
    .unwrap();
    db.execute_raw(Statement::from_string(
        backend,
        format!(
            "INSERT INTO disbursements (plan_id, reference, budget_line_id, date, amount, currency, reverses_id, recorded_at) \
             VALUES ({p}, 'D2', {l}, {d}, -1, 'EUR', (SELECT id FROM disbursements WHERE reference = 'D1'), {now})",
            p = plan.plan_id,
            l = line.id,
            d = date_sql(backend, "2016-01-02")
        ),
    ))
    .await
    .unwrap();
    let rows = naptrack::entity::disbursement::Entity::find()
        .all(&db)
        .await
        .unwrap();
    let amounts: Vec<String> = rows.iter().map(|d| d.amount.to_string()).collect();
    assert_eq!(amounts, ["0.0001", "-0.0001"]);
}

fn date_sql(backend: DbBackend, text: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("DATE '{text}'"),
        _ => format!("'{text}'"),
    }
}

fn now_sql(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "now()",
        _ => "'2026-01-01T00:00:00+00:00'",
    }
}

#[tokio::test]
async fn a_million_cents_sum_to_exactly_ten_thousand() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let plan = mini_plan(&db).await;
    let line = budget_line(&db, &plan, "BL", amount("20000"))
        .await
        .unwrap();
    let backend = db.get_database_backend();
    let numbers = match backend {
        DbBackend::Postgres => "SELECT generate_series(1, 1000000) AS n".to_owned(),
        _ => "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1000000) SELECT n FROM s".to_owned(),
    };
    let sql = format!(
        "INSERT INTO disbursements (plan_id, reference, budget_line_id, date, amount, currency, recorded_at) \
         SELECT {p}, 'D' || n, {l}, {d}, 100, 'EUR', {now} FROM ({numbers}) AS numbers",
        p = plan.plan_id,
        l = line.id,
        d = date_sql(backend, "2016-03-01"),
        now = now_sql(backend),
    );
    db.execute_raw(Statement::from_string(backend, sql))
        .await
        .unwrap();

    let summaries = summary::plan_summaries(&db).await.unwrap();

    let disbursed = summaries[0].disbursed.0.get("EUR").copied();
    assert_eq!(
        disbursed.map(|a| a.to_string()),
        Some("10000.00".to_owned())
    );
}

#[tokio::test]
async fn a_sum_beyond_the_storage_range_is_an_error_not_a_wrong_total() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let plan = mini_plan(&db).await;
    for i in 0..10 {
        budget_line(
            &db,
            &plan,
            &format!("BL-{i}"),
            amount("99999999999999.9999"),
        )
        .await
        .unwrap();
    }

    let result = summary::plan_summaries(&db).await;

    assert!(
        result.is_err(),
        "ten maximal amounts overflow an i64: {result:?}"
    );
}

#[tokio::test]
async fn nine_maximal_amounts_still_sum_exactly() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let plan = mini_plan(&db).await;
    for i in 0..9 {
        budget_line(
            &db,
            &plan,
            &format!("BL-{i}"),
            amount("99999999999999.9999"),
        )
        .await
        .unwrap();
    }

    let summaries = summary::plan_summaries(&db).await.unwrap();

    let allocated = summaries[0].allocated.0.get("EUR").copied();
    assert_eq!(
        allocated.map(|a| a.to_string()),
        Some("899999999999999.9991".to_owned())
    );
}

#[tokio::test]
async fn no_column_is_stored_as_a_floating_point_or_decimal_type() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let backend = db.get_database_backend();
    let columns: Vec<(String, String, String)> = match backend {
        DbBackend::Postgres => db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS ty \
                 FROM information_schema.columns WHERE table_schema = 'public'",
            ))
            .await
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r.try_get("", "t").unwrap(),
                    r.try_get("", "c").unwrap(),
                    r.try_get("", "ty").unwrap(),
                )
            })
            .collect(),
        _ => db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT m.name AS t, p.name AS c, p.type AS ty FROM sqlite_master m \
                 JOIN pragma_table_info(m.name) p WHERE m.type = 'table'",
            ))
            .await
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r.try_get("", "t").unwrap(),
                    r.try_get("", "c").unwrap(),
                    r.try_get("", "ty").unwrap(),
                )
            })
            .collect(),
    };
    assert!(
        columns
            .iter()
            .any(|(t, c, _)| t == "disbursements" && c == "amount")
    );
    let floating: Vec<_> = columns
        .iter()
        .filter(|(_, _, ty)| {
            let ty = ty.to_ascii_lowercase();
            ["real", "float", "double", "numeric", "decimal"]
                .iter()
                .any(|f| ty.contains(f))
        })
        .collect();
    assert!(
        floating.is_empty(),
        "floating or decimal columns: {floating:?}"
    );
    for (table, column) in [
        ("budget_lines", "amount"),
        ("commitments", "amount"),
        ("disbursements", "amount"),
        ("obligations", "annual_minimum"),
        ("exchange_rates", "rate"),
    ] {
        let ty = &columns
            .iter()
            .find(|(t, c, _)| t == table && c == column)
            .unwrap()
            .2;
        // SQLite's INTEGER is a 64-bit integer; PostgreSQL's is 32 bits, so there it is BIGINT.
        let ty = ty.to_ascii_lowercase();
        let exact = match test_db.backend() {
            DbBackend::Postgres => ty == "bigint",
            _ => ty == "bigint" || ty == "integer",
        };
        assert!(exact, "{table}.{column} is {ty}");
    }
}
