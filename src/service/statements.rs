//! The donor statement: what one donor (or one funding source) committed, what was allocated
//! from its money and what was paid out, by activity and by fiscal year, with the list of the
//! disbursements themselves, all in the plan's currency by the report rules of
//! [`crate::service::reports`].

use chrono::NaiveDate;
use futures_util::TryStreamExt;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, Statement, StreamTrait, Value,
};
use serde::Serialize;

use crate::domain::Currency;
use crate::domain::conversion::RateTable;
use crate::domain::fiscal::FiscalYearStart;
use crate::domain::flags::{Flag, Thresholds};
use crate::domain::records::guard_formula;
use crate::entity::{funding_source, institution, plan};
use crate::error::{Error, Result};
use crate::money::Amount;
use crate::service::checkpoints::{self, Checkpoint};
use crate::service::flags::{self, Scope};
use crate::service::rates::rate_table;
use crate::service::reports::{self, Dimension, ExecutionReport, Filters};

/// Whose money the statement follows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Giver {
    Donor(String),
    FundingSource(String),
}

/// One payment made from the giver's money.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PaymentLine {
    pub reference: String,
    pub date: NaiveDate,
    pub budget_line_code: String,
    pub activity_code: String,
    pub funding_source_code: String,
    #[schema(value_type = String)]
    pub amount: Amount,
    #[schema(value_type = String)]
    pub currency: Currency,
    /// The amount in the plan's currency, converted at the rate of its date.
    #[schema(value_type = String)]
    pub plan_amount: Amount,
    pub reverses: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DonorStatement {
    pub plan: String,
    #[schema(value_type = String)]
    pub currency: Currency,
    pub giver: Giver,
    pub by_activity: ExecutionReport,
    pub by_fiscal_year: ExecutionReport,
    pub disbursements: Vec<PaymentLine>,
    /// The sum of `plan_amount` over the disbursements: equal to the disbursed totals.
    #[schema(value_type = String)]
    pub disbursed: Amount,
    /// The red flags (the integrity rules) of the payments made from this money, each fiscal
    /// year of the plan as of its last day (today in the current year): year by year, most
    /// urgent first within a year.
    pub red_flags: Vec<Flag>,
    /// The latest signed checkpoint of the audit trail, so that every donor keeps a head the
    /// trail must go on holding (see [`crate::service::checkpoints`]); none before the first.
    pub checkpoint: Option<Checkpoint>,
}

/// The statement of `giver`'s money in `plan`, with the red flags of its payments under
/// `thresholds`. An unknown donor or funding source is an error, not an empty statement.
pub async fn donor_statement(
    db: &DatabaseConnection,
    plan: &plan::Model,
    giver: Giver,
    thresholds: &Thresholds,
) -> Result<DonorStatement> {
    let backend = db.get_database_backend();
    let (table, code) = match &giver {
        Giver::Donor(code) => ("institutions", code),
        Giver::FundingSource(code) => ("funding_sources", code),
    };
    let placeholder = if backend == DbBackend::Postgres {
        "$1"
    } else {
        "?1"
    };
    let exists = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            format!("SELECT COUNT(*) AS n FROM {table} WHERE code = {placeholder}"),
            [Value::from(code.clone())],
        ))
        .await?
        .map(|row| row.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    if exists == 0 {
        let what = if table == "institutions" {
            "donor"
        } else {
            "funding source"
        };
        return Err(Error::NotFound(format!(
            "there is no {what} with code \"{code}\""
        )));
    }
    let filters = match &giver {
        Giver::Donor(code) => Filters {
            donor: Some(code.clone()),
            ..Filters::default()
        },
        Giver::FundingSource(code) => Filters {
            funding_source: Some(code.clone()),
            ..Filters::default()
        },
    };
    let by_activity = reports::execution(db, plan, Dimension::Activity, filters.clone()).await?;
    let by_fiscal_year = reports::execution(db, plan, Dimension::FiscalYear, filters).await?;
    let rates = rate_table(db).await?;
    let disbursements = payments(db, plan, &giver, &rates).await?;
    let disbursed = Amount::checked_sum(disbursements.iter().map(|p| p.plan_amount))?;
    let sources = funding_sources_of(db, &giver).await?;
    let red_flags = red_flags(db, plan, (&sources, &rates), thresholds).await?;
    let checkpoint = checkpoints::latest(db).await?;
    Ok(DonorStatement {
        plan: plan.code.clone(),
        currency: plan.currency,
        giver,
        by_activity,
        by_fiscal_year,
        disbursements,
        disbursed,
        red_flags,
        checkpoint,
    })
}

/// The ids of the funding sources that carry `giver`'s money.
async fn funding_sources_of(db: &DatabaseConnection, giver: &Giver) -> Result<Vec<i32>> {
    let sources = match giver {
        Giver::FundingSource(code) => {
            funding_source::Entity::find()
                .filter(funding_source::Column::Code.eq(code.as_str()))
                .all(db)
                .await?
        }
        Giver::Donor(code) => {
            let Some(donor) = institution::Entity::find()
                .filter(institution::Column::Code.eq(code.as_str()))
                .one(db)
                .await?
            else {
                return Ok(Vec::new());
            };
            funding_source::Entity::find()
                .filter(funding_source::Column::DonorId.eq(donor.id))
                .all(db)
                .await?
        }
    };
    Ok(sources.into_iter().map(|s| s.id).collect())
}

/// The integrity flags of the payments on `sources`' budget lines: each fiscal year from the
/// plan's first to the one after its last (whose evaluation holds the last year's
/// `YEAR_END_SPIKE`), as of the year's last day or today, whichever comes first; years that
/// have not begun are left out.
async fn red_flags(
    db: &DatabaseConnection,
    plan: &plan::Model,
    (sources, rates): (&[i32], &RateTable),
    thresholds: &Thresholds,
) -> Result<Vec<Flag>> {
    let Some(start) = FiscalYearStart::new(plan.fiscal_year_start_month) else {
        return Ok(Vec::new());
    };
    let today = chrono::Utc::now().date_naive();
    let mut found = Vec::new();
    for year in start.year_of(plan.start_date)..=start.year_of(plan.end_date) + 1 {
        let Some((first, last)) = start.bounds(year) else {
            continue;
        };
        if first > today {
            break;
        }
        let as_of = last.min(today);
        let scope = Scope::FundingSources(sources);
        let year_flags = flags::integrity_flags(db, plan, (as_of, rates), thresholds, scope);
        found.extend(year_flags.await?);
    }
    Ok(found)
}

async fn payments(
    db: &DatabaseConnection,
    plan: &plan::Model,
    giver: &Giver,
    rates: &RateTable,
) -> Result<Vec<PaymentLine>> {
    let backend = db.get_database_backend();
    let (p1, p2) = if backend == DbBackend::Postgres {
        ("$1", "$2")
    } else {
        ("?1", "?2")
    };
    let condition = match giver {
        Giver::Donor(_) => format!("f.donor_id IN (SELECT id FROM institutions WHERE code = {p2})"),
        Giver::FundingSource(_) => format!("f.code = {p2}"),
    };
    let code = match giver {
        Giver::Donor(code) | Giver::FundingSource(code) => code.clone(),
    };
    let sql = format!(
        "SELECT d.reference, d.date, b.code AS budget_line_code, a.code AS activity_code, \
         f.code AS funding_source_code, d.amount, d.currency, r.reference AS reverses, d.description \
         FROM disbursements d JOIN budget_lines b ON b.id = d.budget_line_id \
         JOIN activities a ON a.id = b.activity_id JOIN funding_sources f ON f.id = b.funding_source_id \
         LEFT JOIN disbursements r ON r.id = d.reverses_id \
         WHERE d.plan_id = {p1} AND {condition} ORDER BY d.date, d.id"
    );
    let mut rows = db
        .stream_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [Value::from(plan.id), Value::from(code)],
        ))
        .await?;
    let mut lines = Vec::new();
    while let Some(row) = rows.try_next().await? {
        let amount: Amount = row.try_get("", "amount")?;
        let currency: Currency = row.try_get("", "currency")?;
        let date: NaiveDate = row.try_get("", "date")?;
        lines.push(PaymentLine {
            reference: row.try_get("", "reference")?,
            date,
            budget_line_code: row.try_get("", "budget_line_code")?,
            activity_code: row.try_get("", "activity_code")?,
            funding_source_code: row.try_get("", "funding_source_code")?,
            amount,
            currency,
            plan_amount: rates.convert(amount, currency, plan.currency, date)?,
            reverses: row.try_get("", "reverses")?,
            description: row.try_get("", "description")?,
        });
    }
    Ok(lines)
}

/// Which part of the statement a CSV file holds (a CSV file holds one table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Activity,
    FiscalYear,
    Disbursements,
}

impl std::str::FromStr for Part {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        match text {
            "activity" => Ok(Part::Activity),
            "fiscal-year" => Ok(Part::FiscalYear),
            "disbursements" => Ok(Part::Disbursements),
            other => Err(Error::BadRequest(format!(
                "\"{other}\" is not a part of the statement; use activity, fiscal-year or disbursements"
            ))),
        }
    }
}

/// One part of the statement as CSV.
pub fn write_csv<W: std::io::Write>(statement: &DonorStatement, part: Part, out: W) -> Result<()> {
    match part {
        Part::Activity => reports::write_csv(&statement.by_activity, out),
        Part::FiscalYear => reports::write_csv(&statement.by_fiscal_year, out),
        Part::Disbursements => {
            let mut writer = csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(out);
            let io = |e: csv::Error| Error::Io(std::io::Error::other(e));
            let plan_column = format!("amount_{}", statement.currency.code().to_lowercase());
            writer
                .write_record([
                    "reference",
                    "date",
                    "budget_line_code",
                    "activity_code",
                    "funding_source_code",
                    "amount",
                    "currency",
                    plan_column.as_str(),
                    "reverses",
                    "description",
                ])
                .map_err(io)?;
            for p in &statement.disbursements {
                writer
                    .write_record([
                        guard_formula(&p.reference).as_ref(),
                        &p.date.to_string(),
                        guard_formula(&p.budget_line_code).as_ref(),
                        guard_formula(&p.activity_code).as_ref(),
                        guard_formula(&p.funding_source_code).as_ref(),
                        &p.amount.to_string(),
                        p.currency.code(),
                        &p.plan_amount.to_string(),
                        guard_formula(p.reverses.as_deref().unwrap_or_default()).as_ref(),
                        guard_formula(p.description.as_deref().unwrap_or_default()).as_ref(),
                    ])
                    .map_err(io)?;
            }
            writer.flush()?;
            Ok(())
        }
    }
}

/// A donor or funding source a statement can be asked for: its code and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GiverChoice {
    pub code: String,
    pub name: String,
}

/// Whose statements there are: the donors and the funding sources, each by code.
#[derive(Debug, Clone, Default)]
pub struct Givers {
    /// The institutions that give money through at least one funding source.
    pub donors: Vec<GiverChoice>,
    /// Every funding source, with or without a donor.
    pub funding_sources: Vec<GiverChoice>,
}

/// The donors and funding sources whose statement can be asked for, each list by code.
///
/// An institution is a donor here only when some funding source names it as its donor, so
/// every donor listed has money that a statement can follow.
pub async fn givers(db: &DatabaseConnection) -> Result<Givers> {
    let sources = funding_source::Entity::find()
        .order_by_asc(funding_source::Column::Code)
        .all(db)
        .await?;
    let donors = institution::Entity::find()
        .order_by_asc(institution::Column::Code)
        .all(db)
        .await?
        .into_iter()
        .filter(|i| sources.iter().any(|s| s.donor_id == Some(i.id)))
        .map(|i| GiverChoice {
            code: i.code,
            name: i.name,
        })
        .collect();
    let funding_sources = sources
        .into_iter()
        .map(|s| GiverChoice {
            code: s.code,
            name: s.name,
        })
        .collect();
    Ok(Givers {
        donors,
        funding_sources,
    })
}
