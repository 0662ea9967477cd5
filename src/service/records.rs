//! Reading records of the contract's twelve kinds as the contract shows them: each reference as
//! the referenced record's code, never a surrogate id, columns in the contract's order. The
//! CSV export and the JSON API both read through here, so a record looks the same in both.
//!
//! Every kind is one SQL query joining the tables it refers to, wrapped so that any contract
//! column can be filtered on with bound values, sorted by the kind's key in byte order (on
//! PostgreSQL too), and paged. Rows can be streamed, so a million disbursements never sit in
//! memory.

use std::borrow::Cow;

use chrono::NaiveDate;
use futures_util::{Stream, StreamExt, TryStreamExt};
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Statement, StreamTrait, Value};

use crate::domain::IsoDate;
use crate::domain::records::{ColumnSpec, RecordKind, guard_formula};
use crate::error::{Error, FieldError, Result};
use crate::money::{Amount, Quantity, Rate};

/// One cell of a record, with its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Empty,
    Text(String),
    Date(NaiveDate),
    Integer(i32),
    Amount(Amount),
    Rate(Rate),
    /// An indicator's baseline, target or actual.
    Quantity(Quantity),
}

impl Cell {
    /// The cell as CSV text: canonical money and dates; text guarded against formulas.
    pub fn csv_text(&self) -> Cow<'_, str> {
        match self {
            Cell::Empty => Cow::Borrowed(""),
            Cell::Text(text) => guard_formula(text),
            Cell::Date(date) => Cow::Owned(date.format("%Y-%m-%d").to_string()),
            Cell::Integer(n) => Cow::Owned(n.to_string()),
            Cell::Amount(amount) => Cow::Owned(amount.to_string()),
            Cell::Rate(rate) => Cow::Owned(rate.to_string()),
            Cell::Quantity(quantity) => Cow::Owned(quantity.to_string()),
        }
    }

    /// The cell as JSON: money as strings (`"1500.00"`), whole numbers as numbers, an empty
    /// optional cell as null.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Cell::Empty => serde_json::Value::Null,
            Cell::Text(text) => serde_json::Value::String(text.clone()),
            Cell::Date(date) => serde_json::Value::String(date.format("%Y-%m-%d").to_string()),
            Cell::Integer(n) => serde_json::Value::from(*n),
            Cell::Amount(amount) => serde_json::Value::String(amount.to_string()),
            Cell::Rate(rate) => serde_json::Value::String(rate.to_string()),
            Cell::Quantity(quantity) => serde_json::Value::String(quantity.to_string()),
        }
    }
}

/// A record: one cell per contract column of its kind, in the contract's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub kind: RecordKind,
    pub cells: Vec<Cell>,
}

impl Record {
    pub fn to_json(&self) -> serde_json::Value {
        let object = self
            .kind
            .columns()
            .iter()
            .zip(&self.cells)
            .map(|(column, cell)| (column.name.to_owned(), cell.to_json()))
            .collect();
        serde_json::Value::Object(object)
    }

    pub fn get(&self, column: &str) -> Option<&Cell> {
        let position = self.kind.columns().iter().position(|c| c.name == column)?;
        self.cells.get(position)
    }
}

/// How a column's value is read from the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellType {
    Text,
    Date,
    Integer,
    Amount,
    Rate,
    Quantity,
}

/// The contract uses each column name with one meaning across all kinds (`date` is always a
/// date, `amount` always an amount), so the type follows from the name. A unit test checks
/// that this agrees with the contract's `numeric` flag.
pub fn cell_type(column: &ColumnSpec) -> CellType {
    match column.name {
        "amount" | "annual_minimum" => CellType::Amount,
        "rate" => CellType::Rate,
        "baseline_value" | "target" | "actual" => CellType::Quantity,
        "start_date" | "end_date" | "in_force_from" | "date" | "due_date" => CellType::Date,
        "fiscal_year" | "fiscal_year_start_month" | "baseline_year" => CellType::Integer,
        _ => CellType::Text,
    }
}

/// What to read: one kind, optionally one plan, filtered, paged.
#[derive(Debug, Clone)]
pub struct Query {
    pub kind: RecordKind,
    /// The plan whose records to read; required for plan-scoped kinds. For `plans`, only
    /// this plan.
    pub plan_id: Option<i32>,
    /// Contract column = value, all of which must hold.
    pub filters: Vec<(&'static str, Cell)>,
    /// `date` on or after this day.
    pub from: Option<NaiveDate>,
    /// `date` on or before this day.
    pub to: Option<NaiveDate>,
    /// Text that one of these columns must contain, ignoring ASCII case: a search.
    pub contains: Option<(Vec<&'static str>, String)>,
    /// Contract column >= value (an amount, a date, a number).
    pub at_least: Vec<(&'static str, Cell)>,
    /// Contract column <= value.
    pub at_most: Vec<(&'static str, Cell)>,
    /// Contract column is one of these texts (an empty list selects nothing).
    pub one_of: Vec<(&'static str, Vec<String>)>,
    pub limit: Option<u64>,
    pub offset: u64,
}

impl Query {
    pub fn all(kind: RecordKind, plan_id: Option<i32>) -> Self {
        Query {
            kind,
            plan_id,
            filters: Vec::new(),
            from: None,
            to: None,
            contains: None,
            at_least: Vec::new(),
            at_most: Vec::new(),
            one_of: Vec::new(),
            limit: None,
            offset: 0,
        }
    }

    /// Reads `text` as a value of `column`, as [`Query::filter`] does, for a bound.
    fn value_of(&self, column: &str, text: &str) -> Result<(&'static str, Cell)> {
        let mut probe = Query::all(self.kind, self.plan_id);
        probe.filter(column, text)?;
        probe
            .filters
            .pop()
            .ok_or_else(|| Error::Internal("a filter without a value".to_owned()))
    }

    /// Adds `column >= text`.
    pub fn at_least(&mut self, column: &str, text: &str) -> Result<()> {
        let bound = self.value_of(column, text)?;
        self.at_least.push(bound);
        Ok(())
    }

    /// Adds `column <= text`.
    pub fn at_most(&mut self, column: &str, text: &str) -> Result<()> {
        let bound = self.value_of(column, text)?;
        self.at_most.push(bound);
        Ok(())
    }

    /// Keeps the records where one of `columns` contains `text` (ignoring ASCII case).
    pub fn search(&mut self, columns: &[&str], text: &str) -> Result<()> {
        let columns = columns
            .iter()
            .map(|column| {
                self.kind
                    .column(column)
                    .map(|spec| spec.name)
                    .ok_or_else(|| {
                        Error::BadRequest(format!("{} has no column {column} to search", self.kind))
                    })
            })
            .collect::<Result<_>>()?;
        self.contains = Some((columns, text.to_owned()));
        Ok(())
    }

    /// Keeps the records whose `column` is one of `values`.
    pub fn one_of(&mut self, column: &str, values: Vec<String>) -> Result<()> {
        let spec = self.kind.column(column).ok_or_else(|| {
            Error::BadRequest(format!("{} has no column {column} to filter on", self.kind))
        })?;
        self.one_of.push((spec.name, values));
        Ok(())
    }

    /// Adds `column = text`, the text parsed by the column's type: a filter on a date or an
    /// amount compares values, not text.
    pub fn filter(&mut self, column: &str, text: &str) -> Result<()> {
        let spec = self.kind.column(column).ok_or_else(|| {
            Error::BadRequest(format!("{} has no column {column} to filter on", self.kind))
        })?;
        let invalid = |message: String| {
            Error::invalid(
                format!("the filter on {column} is not valid"),
                vec![FieldError::new(column, message)],
            )
        };
        let value = match cell_type(spec) {
            CellType::Text => Cell::Text(text.to_owned()),
            CellType::Date => Cell::Date(
                IsoDate::parse(text)
                    .map(NaiveDate::from)
                    .map_err(|e| invalid(e.to_string()))?,
            ),
            CellType::Integer => Cell::Integer(
                text.parse()
                    .map_err(|_| invalid(format!("\"{text}\" is not a whole number")))?,
            ),
            CellType::Amount => {
                Cell::Amount(Amount::parse(text).map_err(|e| invalid(e.to_string()))?)
            }
            CellType::Rate => Cell::Rate(Rate::parse(text).map_err(|e| invalid(e.to_string()))?),
            CellType::Quantity => {
                Cell::Quantity(Quantity::parse(text).map_err(|e| invalid(e.to_string()))?)
            }
        };
        self.filters.push((spec.name, value));
        Ok(())
    }

    fn has_date(&self) -> bool {
        self.kind.column("date").is_some()
    }

    /// The statement that selects the records, and one that counts them.
    fn statements(&self, backend: DbBackend) -> Result<(Statement, Statement)> {
        if (self.from.is_some() || self.to.is_some()) && !self.has_date() {
            return Err(Error::BadRequest(format!(
                "{} have no date to filter by",
                self.kind
            )));
        }
        let base = base_sql(self.kind, self.plan_id);
        let mut conditions = Vec::new();
        let mut values: Vec<Value> = Vec::new();
        let mut placeholder = |value: Value| {
            values.push(value);
            match backend {
                DbBackend::Postgres => format!("${}", values.len()),
                _ => format!("?{}", values.len()),
            }
        };
        let bounds = self
            .filters
            .iter()
            .map(|(column, cell)| ("=", column, cell))
            .chain(
                self.at_least
                    .iter()
                    .map(|(column, cell)| (">=", column, cell)),
            )
            .chain(
                self.at_most
                    .iter()
                    .map(|(column, cell)| ("<=", column, cell)),
            );
        for (operator, column, cell) in bounds {
            let value = match cell {
                Cell::Empty => {
                    conditions.push(format!("r.{column} IS NULL"));
                    continue;
                }
                Cell::Text(text) => Value::from(text.clone()),
                Cell::Date(date) => Value::from(*date),
                Cell::Integer(n) => Value::from(*n),
                Cell::Amount(amount) => Value::from(amount.units()),
                Cell::Rate(rate) => Value::from(rate.units()),
                Cell::Quantity(quantity) => Value::from(quantity.units()),
            };
            conditions.push(format!("r.{column} {operator} {}", placeholder(value)));
        }
        if let Some((columns, text)) = &self.contains {
            let pattern = format!("%{}%", like_escaped(&text.to_lowercase()));
            let any = columns
                .iter()
                .map(|column| {
                    format!(
                        "LOWER(r.{column}) LIKE {} ESCAPE '\\'",
                        placeholder(Value::from(pattern.clone()))
                    )
                })
                .collect::<Vec<_>>()
                .join(" OR ");
            conditions.push(format!("({any})"));
        }
        for (column, texts) in &self.one_of {
            if texts.is_empty() {
                conditions.push("1 = 0".to_owned());
                continue;
            }
            let list = texts
                .iter()
                .map(|text| placeholder(Value::from(text.clone())))
                .collect::<Vec<_>>()
                .join(", ");
            conditions.push(format!("r.{column} IN ({list})"));
        }
        if let Some(from) = self.from {
            conditions.push(format!("r.date >= {}", placeholder(Value::from(from))));
        }
        if let Some(to) = self.to {
            conditions.push(format!("r.date <= {}", placeholder(Value::from(to))));
        }
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let c = collate_bytewise(backend);
        let order = key_columns(self.kind)
            .iter()
            .map(|column| match self.kind.column(column).map(cell_type) {
                Some(CellType::Text) => format!("r.{column}{c}"),
                _ => format!("r.{column}"),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let page = match self.limit {
            Some(limit) => format!(" LIMIT {limit} OFFSET {}", self.offset),
            None if self.offset > 0 => match backend {
                DbBackend::Postgres => format!(" OFFSET {}", self.offset),
                _ => format!(" LIMIT -1 OFFSET {}", self.offset),
            },
            None => String::new(),
        };
        let select = format!("SELECT * FROM ({base}) r{where_clause} ORDER BY {order}{page}");
        let count = format!("SELECT COUNT(*) AS n FROM ({base}) r{where_clause}");
        Ok((
            Statement::from_sql_and_values(backend, select, values.clone()),
            Statement::from_sql_and_values(backend, count, values),
        ))
    }
}

/// `text` with LIKE's wildcards and its escape character escaped by a backslash.
fn like_escaped(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// The records `query` selects, streamed in key order.
pub async fn stream<'a, C: ConnectionTrait + StreamTrait>(
    db: &'a C,
    query: &Query,
) -> Result<impl Stream<Item = Result<Record>> + 'a> {
    let (select, _) = query.statements(ConnectionTrait::get_database_backend(db))?;
    let kind = query.kind;
    let rows = db.stream_raw(select).await?;
    Ok(rows.map(move |row| read_record(kind, &row?)))
}

/// The records `query` selects (use [`stream`] for unbounded reads).
pub async fn fetch<C: ConnectionTrait + StreamTrait>(db: &C, query: &Query) -> Result<Vec<Record>> {
    stream(db, query).await?.try_collect().await
}

/// How many records `query` selects, ignoring its page.
pub async fn count<C: ConnectionTrait>(db: &C, query: &Query) -> Result<u64> {
    let (_, count) = query.statements(db.get_database_backend())?;
    let row = db.query_one_raw(count).await?;
    let n: i64 = match row {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The columns that identify a record of `kind`, in sort order.
pub fn key_columns(kind: RecordKind) -> &'static [&'static str] {
    match kind {
        RecordKind::Commitments | RecordKind::Disbursements => &["reference"],
        RecordKind::ExchangeRates => &["date", "currency", "quote_currency"],
        RecordKind::IndicatorValues => &["indicator_code", "fiscal_year"],
        _ => &["code"],
    }
}

fn read_record(kind: RecordKind, row: &QueryResult) -> Result<Record> {
    let cells = kind
        .columns()
        .iter()
        .map(|column| read_cell(row, column))
        .collect::<Result<Vec<_>>>()?;
    Ok(Record { kind, cells })
}

/// Reads one cell. A required column is read as non-null, so a NULL where the contract
/// requires a value is an error rather than a silently empty cell.
fn read_cell(row: &QueryResult, column: &ColumnSpec) -> Result<Cell> {
    let name = column.name;
    let cell = match cell_type(column) {
        CellType::Text if column.required => Cell::Text(row.try_get("", name)?),
        CellType::Text => row
            .try_get::<Option<String>>("", name)?
            .map_or(Cell::Empty, Cell::Text),
        CellType::Date if column.required => Cell::Date(row.try_get("", name)?),
        CellType::Date => row
            .try_get::<Option<NaiveDate>>("", name)?
            .map_or(Cell::Empty, Cell::Date),
        CellType::Integer if column.required => Cell::Integer(row.try_get("", name)?),
        CellType::Integer => row
            .try_get::<Option<i32>>("", name)?
            .map_or(Cell::Empty, Cell::Integer),
        CellType::Amount if column.required => Cell::Amount(row.try_get("", name)?),
        CellType::Amount => row
            .try_get::<Option<Amount>>("", name)?
            .map_or(Cell::Empty, Cell::Amount),
        CellType::Rate => Cell::Rate(row.try_get("", name)?),
        CellType::Quantity => row
            .try_get::<Option<Quantity>>("", name)?
            .map_or(Cell::Empty, Cell::Quantity),
    };
    Ok(cell)
}

/// The collation suffix that makes text sort byte by byte. PostgreSQL sorts by the database's
/// locale unless told otherwise ("a" before "B" under en_US); SQLite's default BINARY
/// collation already compares bytes.
pub fn collate_bytewise(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => " COLLATE \"C\"",
        _ => "",
    }
}

/// The query for `kind`, each result column named after its contract column.
///
/// Only constants and `plan_id`, an integer read from the database, are formatted into the
/// SQL; values from users are bound by [`Query::statements`].
fn base_sql(kind: RecordKind, plan_id: Option<i32>) -> String {
    // Plan-scoped kinds always have a plan id; `plans` has one only when a plan was named.
    let in_plan = |table: &str| match plan_id {
        Some(id) => format!(" WHERE {table}.plan_id = {id}"),
        None => String::new(),
    };
    match kind {
        RecordKind::Institutions => "SELECT i.code AS code, i.name AS name, i.kind AS kind, \
             i.iati_ref AS iati_ref FROM institutions i"
            .to_owned(),
        RecordKind::FundingSources => "SELECT f.code AS code, f.name AS name, \
             donor.code AS donor_code, f.kind AS kind, f.currency AS currency \
             FROM funding_sources f LEFT JOIN institutions donor ON donor.id = f.donor_id"
            .to_owned(),
        RecordKind::Plans => format!(
            "SELECT p.code AS code, p.title AS title, p.country AS country, \
             p.currency AS currency, p.start_date AS start_date, p.end_date AS end_date, \
             p.fiscal_year_start_month AS fiscal_year_start_month FROM plans p{}",
            match plan_id {
                Some(id) => format!(" WHERE p.id = {id}"),
                None => String::new(),
            }
        ),
        RecordKind::Objectives => format!(
            "SELECT p.code AS plan_code, o.code AS code, o.title AS title, \
             parent.code AS parent_code \
             FROM objectives o JOIN plans p ON p.id = o.plan_id \
             LEFT JOIN objectives parent ON parent.id = o.parent_id{}",
            in_plan("o")
        ),
        RecordKind::Activities => format!(
            "SELECT p.code AS plan_code, a.code AS code, a.title AS title, \
             o.code AS objective_code, lead.code AS lead_institution_code, \
             a.start_date AS start_date, a.end_date AS end_date, a.status AS status, \
             a.sector_code AS sector_code \
             FROM activities a JOIN plans p ON p.id = a.plan_id \
             JOIN objectives o ON o.id = a.objective_id \
             JOIN institutions lead ON lead.id = a.lead_institution_id{}",
            in_plan("a")
        ),
        RecordKind::Obligations => format!(
            "SELECT p.code AS plan_code, ob.code AS code, ob.title AS title, \
             ob.legal_basis AS legal_basis, i.code AS institution_code, \
             a.code AS activity_code, ob.in_force_from AS in_force_from, \
             ob.annual_minimum AS annual_minimum, ob.currency AS currency \
             FROM obligations ob JOIN plans p ON p.id = ob.plan_id \
             JOIN institutions i ON i.id = ob.institution_id \
             LEFT JOIN activities a ON a.id = ob.activity_id{}",
            in_plan("ob")
        ),
        RecordKind::BudgetLines => format!(
            "SELECT p.code AS plan_code, b.code AS code, a.code AS activity_code, \
             f.code AS funding_source_code, b.fiscal_year AS fiscal_year, \
             b.category AS category, b.amount AS amount, b.currency AS currency, \
             ob.code AS obligation_code \
             FROM budget_lines b JOIN plans p ON p.id = b.plan_id \
             JOIN activities a ON a.id = b.activity_id \
             JOIN funding_sources f ON f.id = b.funding_source_id \
             LEFT JOIN obligations ob ON ob.id = b.obligation_id{}",
            in_plan("b")
        ),
        RecordKind::Commitments => format!(
            "SELECT p.code AS plan_code, cm.reference AS reference, \
             f.code AS funding_source_code, a.code AS activity_code, cm.date AS date, \
             cm.due_date AS due_date, cm.amount AS amount, cm.currency AS currency \
             FROM commitments cm JOIN plans p ON p.id = cm.plan_id \
             JOIN funding_sources f ON f.id = cm.funding_source_id \
             JOIN activities a ON a.id = cm.activity_id{}",
            in_plan("cm")
        ),
        RecordKind::Disbursements => format!(
            "SELECT p.code AS plan_code, d.reference AS reference, \
             b.code AS budget_line_code, d.date AS date, d.amount AS amount, \
             d.currency AS currency, payee.code AS payee_code, \
             d.description AS description, reversed.reference AS reverses \
             FROM disbursements d JOIN plans p ON p.id = d.plan_id \
             JOIN budget_lines b ON b.id = d.budget_line_id \
             LEFT JOIN institutions payee ON payee.id = d.payee_id \
             LEFT JOIN disbursements reversed ON reversed.id = d.reverses_id{}",
            in_plan("d")
        ),
        RecordKind::ExchangeRates => "SELECT e.date AS date, e.currency AS currency, \
             e.quote_currency AS quote_currency, e.rate AS rate FROM exchange_rates e"
            .to_owned(),
        // `ascending` is stored as a boolean (an integer on SQLite) and shown as the contract's
        // words, the same on both backends.
        RecordKind::Indicators => format!(
            "SELECT p.code AS plan_code, n.code AS code, n.title AS title, \
             o.code AS objective_code, a.code AS activity_code, \
             n.result_type AS result_type, n.measure AS measure, \
             CASE WHEN n.ascending THEN 'true' ELSE 'false' END AS ascending, \
             n.unit AS unit, n.baseline_year AS baseline_year, \
             n.baseline_value AS baseline_value \
             FROM indicators n JOIN plans p ON p.id = n.plan_id \
             LEFT JOIN objectives o ON o.id = n.objective_id \
             LEFT JOIN activities a ON a.id = n.activity_id{}",
            in_plan("n")
        ),
        RecordKind::IndicatorValues => format!(
            "SELECT p.code AS plan_code, n.code AS indicator_code, \
             v.fiscal_year AS fiscal_year, v.target AS target, v.actual AS actual \
             FROM indicator_values v JOIN indicators n ON n.id = v.indicator_id \
             JOIN plans p ON p.id = n.plan_id{}",
            in_plan("n")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_amount_rate_and_quantity_columns_are_numeric() {
        for kind in RecordKind::ALL {
            for column in kind.columns() {
                let money = matches!(
                    cell_type(column),
                    CellType::Amount | CellType::Rate | CellType::Quantity
                );
                assert_eq!(money, column.numeric, "{kind} {}", column.name);
            }
        }
    }

    #[test]
    fn every_query_names_each_contract_column() {
        for kind in RecordKind::ALL {
            let sql = base_sql(kind, Some(1));
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
            let sql = base_sql(kind, Some(7));
            assert_eq!(
                sql.contains("plan_id = 7"),
                kind.is_plan_scoped(),
                "{kind}: {sql}"
            );
        }
    }

    #[test]
    fn postgres_sorts_text_keys_byte_wise_and_binds_filters() {
        let mut query = Query::all(RecordKind::ExchangeRates, None);
        query.filter("currency", "USD").ok();
        let (select, _) = query.statements(DbBackend::Postgres).ok().unzip();
        let sql = select.map(|s| s.sql).unwrap_or_default();
        assert!(sql.contains("r.currency = $1"), "{sql}");
        assert!(
            sql.ends_with(
                "ORDER BY r.date, r.currency COLLATE \"C\", r.quote_currency COLLATE \"C\""
            ),
            "{sql}"
        );
        assert_eq!(collate_bytewise(DbBackend::Sqlite), "");
    }

    #[test]
    fn a_filter_on_an_unknown_column_or_a_bad_value_is_refused() {
        let mut query = Query::all(RecordKind::Disbursements, Some(1));
        assert!(query.filter("colour", "red").is_err());
        assert!(query.filter("amount", "1e3").is_err());
        assert!(query.filter("date", "2016-02-30").is_err());
        assert!(query.filter("amount", "10.5").is_ok());
    }
}
