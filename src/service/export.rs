//! Exporting the records of one kind as the contract's CSV file.
//!
//! Every kind is read with one SQL query that joins the referenced tables, so each reference
//! comes out as the referenced record's code rather than a surrogate id, and the rows are
//! written to the output one by one as the database returns them: a plan with a million
//! disbursements never sits in memory. The bytes are a function of the stored data alone
//! (byte-wise key order, canonical money text), so export → import → export reproduces the
//! same file on SQLite and on PostgreSQL.

use chrono::NaiveDate;
use futures_util::TryStreamExt;
use sea_orm::{DatabaseConnection, DbBackend, QueryResult, Statement, StreamTrait};

use crate::domain::records::{ColumnSpec, RecordKind, guard_formula};
use crate::error::Result;
use crate::money::{Amount, Rate};
use crate::service::plans::resolve_plan;

/// Writes `kind` as the contract's CSV to `out` and returns the number of data rows.
///
/// Invariants of the output:
/// - The header names `kind.columns()` in the contract's order, also when there are no rows.
/// - Plan-scoped kinds hold the rows of the one plan that [`resolve_plan`] finds for `plan`,
///   with `plan_code` filled in; `plans` holds every plan, or only the named one; the other
///   kinds hold every row and ignore `plan`.
/// - References are written as the referenced record's code (an absent optional one as an
///   empty cell), never as a surrogate id.
/// - Rows come in byte-wise order of their key on every backend.
/// - Amounts and rates are their canonical text and are never altered; every text cell goes
///   through [`guard_formula`].
/// - LF line endings, RFC 4180 quoting only where a field needs it.
///
/// A plan that cannot be resolved is an error before anything is written. A database or write
/// error in the middle of the rows leaves a partial file in `out`, because rows are streamed
/// rather than collected first.
pub async fn export_csv<W: std::io::Write>(
    db: &DatabaseConnection,
    kind: RecordKind,
    plan: Option<&str>,
    out: W,
) -> Result<u64> {
    // The plan is resolved before the header is written, so a bad `--plan` leaves no output.
    let plan_id = if kind.is_plan_scoped() || (kind == RecordKind::Plans && plan.is_some()) {
        Some(resolve_plan(db, plan).await?.id)
    } else {
        None
    };
    let backend = db.get_database_backend();
    let sql = select_sql(kind, plan_id, collate_bytewise(backend));

    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(out);
    writer
        .write_record(kind.columns().iter().map(|column| column.name))
        .map_err(std::io::Error::from)?;

    let mut rows = db.stream_raw(Statement::from_string(backend, sql)).await?;
    let mut record = csv::StringRecord::with_capacity(256, kind.columns().len());
    let mut count: u64 = 0;
    while let Some(row) = rows.try_next().await? {
        record.clear();
        for column in kind.columns() {
            push_cell(&mut record, &row, column)?;
        }
        writer.write_record(&record).map_err(std::io::Error::from)?;
        count += 1;
    }
    writer.flush()?;
    Ok(count)
}

/// How a column's value is read from the database and written as text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CellType {
    /// Codes, references, names, vocabulary words, currency and country codes: guarded.
    Text,
    Date,
    Integer,
    Amount,
    Rate,
}

/// The contract uses each column name with one meaning across all kinds (`date` is always a
/// date, `amount` always an amount), so the type follows from the name. A unit test checks
/// that this agrees with the contract's `numeric` flag, and the integration tests export every
/// kind on both backends, where a date or number read as text would fail on PostgreSQL.
fn cell_type(column: &ColumnSpec) -> CellType {
    match column.name {
        "amount" | "annual_minimum" => CellType::Amount,
        "rate" => CellType::Rate,
        "start_date" | "end_date" | "in_force_from" | "date" | "due_date" => CellType::Date,
        "fiscal_year" | "fiscal_year_start_month" => CellType::Integer,
        _ => CellType::Text,
    }
}

/// Appends the text of one cell to `record`. The query names each result column after its
/// contract column. A required column is read as non-null, so a NULL where the contract
/// requires a value is an error rather than a silently empty cell; an optional one is empty
/// when NULL.
fn push_cell(record: &mut csv::StringRecord, row: &QueryResult, column: &ColumnSpec) -> Result<()> {
    let name = column.name;
    match (cell_type(column), column.required) {
        (CellType::Text, true) => {
            record.push_field(&guard_formula(&row.try_get::<String>("", name)?));
        }
        (CellType::Text, false) => {
            let text = row.try_get::<Option<String>>("", name)?;
            record.push_field(&guard_formula(text.as_deref().unwrap_or_default()));
        }
        (CellType::Date, true) => {
            record.push_field(&date_text(row.try_get::<NaiveDate>("", name)?));
        }
        (CellType::Date, false) => {
            let date = row.try_get::<Option<NaiveDate>>("", name)?;
            record.push_field(&date.map(date_text).unwrap_or_default());
        }
        (CellType::Integer, _) => {
            record.push_field(&row.try_get::<i32>("", name)?.to_string());
        }
        (CellType::Amount, true) => {
            record.push_field(&row.try_get::<Amount>("", name)?.to_string());
        }
        (CellType::Amount, false) => {
            let amount = row.try_get::<Option<Amount>>("", name)?;
            record.push_field(&amount.map(|a| a.to_string()).unwrap_or_default());
        }
        (CellType::Rate, _) => {
            record.push_field(&row.try_get::<Rate>("", name)?.to_string());
        }
    }
    Ok(())
}

fn date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// The collation suffix that makes text sort byte by byte. PostgreSQL sorts by the database's
/// locale unless told otherwise ("a" before "B" under en_US); SQLite's default BINARY
/// collation already compares bytes.
fn collate_bytewise(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => " COLLATE \"C\"",
        _ => "",
    }
}

/// The query for `kind`, each result column named after its contract column, in key order.
///
/// Only constants and `plan_id`, an integer read from the database, are formatted into the
/// SQL; nothing a user typed reaches it.
fn select_sql(kind: RecordKind, plan_id: Option<i32>, c: &str) -> String {
    // Plan-scoped kinds always have a plan id; `plans` has one only when a plan was named.
    let in_plan = |table: &str| match plan_id {
        Some(id) => format!("WHERE {table}.plan_id = {id}"),
        None => String::new(),
    };
    match kind {
        RecordKind::Institutions => format!(
            "SELECT i.code AS code, i.name AS name, i.kind AS kind, i.iati_ref AS iati_ref \
             FROM institutions i \
             ORDER BY i.code{c}"
        ),
        RecordKind::FundingSources => format!(
            "SELECT f.code AS code, f.name AS name, donor.code AS donor_code, f.kind AS kind, \
             f.currency AS currency \
             FROM funding_sources f \
             LEFT JOIN institutions donor ON donor.id = f.donor_id \
             ORDER BY f.code{c}"
        ),
        RecordKind::Plans => format!(
            "SELECT p.code AS code, p.title AS title, p.country AS country, \
             p.currency AS currency, p.start_date AS start_date, p.end_date AS end_date, \
             p.fiscal_year_start_month AS fiscal_year_start_month \
             FROM plans p {where_clause} \
             ORDER BY p.code{c}",
            where_clause = match plan_id {
                Some(id) => format!("WHERE p.id = {id}"),
                None => String::new(),
            }
        ),
        RecordKind::Objectives => format!(
            "SELECT p.code AS plan_code, o.code AS code, o.title AS title, \
             parent.code AS parent_code \
             FROM objectives o \
             JOIN plans p ON p.id = o.plan_id \
             LEFT JOIN objectives parent ON parent.id = o.parent_id \
             {where_clause} \
             ORDER BY o.code{c}",
            where_clause = in_plan("o")
        ),
        RecordKind::Activities => format!(
            "SELECT p.code AS plan_code, a.code AS code, a.title AS title, \
             o.code AS objective_code, lead.code AS lead_institution_code, \
             a.start_date AS start_date, a.end_date AS end_date, a.status AS status \
             FROM activities a \
             JOIN plans p ON p.id = a.plan_id \
             JOIN objectives o ON o.id = a.objective_id \
             JOIN institutions lead ON lead.id = a.lead_institution_id \
             {where_clause} \
             ORDER BY a.code{c}",
            where_clause = in_plan("a")
        ),
        RecordKind::Obligations => format!(
            "SELECT p.code AS plan_code, ob.code AS code, ob.title AS title, \
             ob.legal_basis AS legal_basis, i.code AS institution_code, \
             a.code AS activity_code, ob.in_force_from AS in_force_from, \
             ob.annual_minimum AS annual_minimum, ob.currency AS currency \
             FROM obligations ob \
             JOIN plans p ON p.id = ob.plan_id \
             JOIN institutions i ON i.id = ob.institution_id \
             LEFT JOIN activities a ON a.id = ob.activity_id \
             {where_clause} \
             ORDER BY ob.code{c}",
            where_clause = in_plan("ob")
        ),
        RecordKind::BudgetLines => format!(
            "SELECT p.code AS plan_code, b.code AS code, a.code AS activity_code, \
             f.code AS funding_source_code, b.fiscal_year AS fiscal_year, \
             b.category AS category, b.amount AS amount, b.currency AS currency, \
             ob.code AS obligation_code \
             FROM budget_lines b \
             JOIN plans p ON p.id = b.plan_id \
             JOIN activities a ON a.id = b.activity_id \
             JOIN funding_sources f ON f.id = b.funding_source_id \
             LEFT JOIN obligations ob ON ob.id = b.obligation_id \
             {where_clause} \
             ORDER BY b.code{c}",
            where_clause = in_plan("b")
        ),
        RecordKind::Commitments => format!(
            "SELECT p.code AS plan_code, cm.reference AS reference, \
             f.code AS funding_source_code, a.code AS activity_code, cm.date AS date, \
             cm.due_date AS due_date, cm.amount AS amount, cm.currency AS currency \
             FROM commitments cm \
             JOIN plans p ON p.id = cm.plan_id \
             JOIN funding_sources f ON f.id = cm.funding_source_id \
             JOIN activities a ON a.id = cm.activity_id \
             {where_clause} \
             ORDER BY cm.reference{c}",
            where_clause = in_plan("cm")
        ),
        RecordKind::Disbursements => format!(
            "SELECT p.code AS plan_code, d.reference AS reference, \
             b.code AS budget_line_code, d.date AS date, d.amount AS amount, \
             d.currency AS currency, payee.code AS payee_code, \
             d.description AS description, reversed.reference AS reverses \
             FROM disbursements d \
             JOIN plans p ON p.id = d.plan_id \
             JOIN budget_lines b ON b.id = d.budget_line_id \
             LEFT JOIN institutions payee ON payee.id = d.payee_id \
             LEFT JOIN disbursements reversed ON reversed.id = d.reverses_id \
             {where_clause} \
             ORDER BY d.reference{c}",
            where_clause = in_plan("d")
        ),
        RecordKind::ExchangeRates => format!(
            "SELECT e.date AS date, e.currency AS currency, \
             e.quote_currency AS quote_currency, e.rate AS rate \
             FROM exchange_rates e \
             ORDER BY e.date, e.currency{c}, e.quote_currency{c}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_amount_and_rate_columns_are_numeric() {
        for kind in RecordKind::ALL {
            for column in kind.columns() {
                let money = matches!(cell_type(column), CellType::Amount | CellType::Rate);
                assert_eq!(money, column.numeric, "{kind} {}", column.name);
            }
        }
    }

    #[test]
    fn every_query_names_each_contract_column() {
        for kind in RecordKind::ALL {
            let sql = select_sql(kind, Some(1), "");
            for column in kind.columns() {
                assert!(
                    sql.contains(&format!(" AS {},", column.name))
                        || sql.contains(&format!(" AS {} ", column.name)),
                    "{kind} does not select {}",
                    column.name
                );
            }
        }
    }

    #[test]
    fn plan_scoped_queries_are_filtered_by_the_plan() {
        for kind in RecordKind::ALL {
            let sql = select_sql(kind, Some(7), "");
            assert_eq!(
                sql.contains("plan_id = 7"),
                kind.is_plan_scoped(),
                "{kind}: {sql}"
            );
        }
    }

    #[test]
    fn postgres_sorts_text_keys_byte_wise() {
        let sql = select_sql(
            RecordKind::ExchangeRates,
            None,
            collate_bytewise(DbBackend::Postgres),
        );
        assert!(sql.ends_with(
            "ORDER BY e.date, e.currency COLLATE \"C\", e.quote_currency COLLATE \"C\""
        ));
        assert_eq!(collate_bytewise(DbBackend::Sqlite), "");
    }
}
