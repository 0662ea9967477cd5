//! The plan as an IATI 2.03 activity file: one `iati-activity` per plan activity, with its
//! funders and lead institution, status, planned dates, recipient country, sector, a budget per
//! fiscal year, its commitments and disbursements as transactions, and its indicators as
//! results (see [`results`] for where an objective's indicator goes).
//!
//! The file is written as a stream. What every activity needs and what is small (the plan's
//! institutions, funding sources, objectives, activities, indicators and their values, and the
//! budgets, which are a few per activity and year) is read first, so that a bad plan or a missing exchange rate fails
//! before a byte is written. The transactions are then streamed from the database one
//! activity at a time and written as they arrive: a plan with a million disbursements never
//! sits in memory.
//!
//! Transactions keep the currency and the exact amount they were recorded in (the stored
//! decimal text), with their own date as value date. A budget is one figure for a fiscal year,
//! so budget lines in other currencies are converted to the plan's currency by the report
//! rules (rate of the first day of the fiscal year, rounded half-to-even per line): each
//! budget equals the allocation the execution report shows for that activity and year.
//!
//! Right after the XML declaration, a comment carries the audit trail's latest signed
//! checkpoint (see [`checkpoints`]), so every donor who downloads the file keeps a head that
//! the ministry's trail must go on holding.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use futures_util::TryStreamExt;
use quick_xml::Writer;
use quick_xml::escape::partial_escape;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryResult,
    StreamTrait,
};

use crate::config::IatiSettings;
use crate::db::Binds;
use crate::domain::Currency;
use crate::domain::conversion::RateTable;
use crate::domain::fiscal::FiscalYearStart;
use crate::domain::iati::{self, xml_safe};
use crate::entity::{activity, budget_line, funding_source, institution, objective, plan};
use crate::error::{Error, FieldError, Result};
use crate::money::Amount;
use crate::service::checkpoints::{self, Checkpoint};
use crate::service::plans::resolve_plan;
use crate::service::rates::rate_table;
use crate::service::records::collate_bytewise;

mod results;

use results::Results;

/// What the export needs besides the data.
#[derive(Debug, Clone)]
pub struct IatiOptions<'a> {
    /// The publisher: reporting organisation and language.
    pub publisher: &'a IatiSettings,
    /// Transactions dated after this day are left out: IATI does not accept transactions
    /// dated in the future, and a payment dated tomorrow has not been made.
    pub as_of: NaiveDate,
    /// Written as the file's `generated-datetime`.
    pub generated_at: DateTime<Utc>,
}

impl<'a> IatiOptions<'a> {
    /// Options for a file generated now, with the transactions up to today.
    pub fn now(publisher: &'a IatiSettings) -> Self {
        let generated_at = Utc::now();
        IatiOptions {
            publisher,
            as_of: generated_at.date_naive(),
            generated_at,
        }
    }
}

/// What the file holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IatiSummary {
    pub activities: u64,
    pub commitments: u64,
    pub disbursements: u64,
    /// Commitments and disbursements dated after `as_of`, which the file leaves out.
    pub left_out: u64,
    /// Indicators written as `result` elements.
    pub results: u64,
    /// Codes of the indicators of objectives that have no activity (nor their
    /// sub-objectives), which have no activity to go on and are left out.
    pub results_left_out: Vec<String>,
}

/// Writes the IATI file of `plan` to an anonymous temporary file and hands it back rewound,
/// for a server to stream: nothing reaches the client unless the whole export succeeded.
pub async fn export_to_tempfile(
    db: &DatabaseConnection,
    plan: Option<&str>,
    options: &IatiOptions<'_>,
) -> Result<(std::fs::File, IatiSummary)> {
    use std::io::Seek;
    let mut file = tempfile::tempfile()?;
    let summary = export_iati(db, plan, options, std::io::BufWriter::new(&mut file)).await?;
    file.rewind()?;
    Ok((file, summary))
}

/// Writes the plan that [`resolve_plan`] finds for `plan` as an IATI 2.03 `iati-activities`
/// document to `out` and says what it holds.
///
/// Invariants of the output:
/// - Elements come in the order the schema's sequences require; dates are ISO `YYYY-MM-DD`.
/// - One `iati-activity` per activity of the plan, in byte order of the activity codes, each
///   identified as `{reporting_org_ref}-{plan code}-{activity code}`.
/// - Every transaction value is the stored amount's canonical text in its own currency; no
///   amount passes through a binary floating-point number.
/// - The type-3 values of an activity, converted by the report rules, add up to what the
///   execution report by activity shows as disbursed up to `as_of`; each budget equals the
///   report's allocation of that activity and fiscal year.
/// - No transaction is dated after `as_of`.
///
/// An unknown plan, a plan without activities (the schema requires at least one activity), an
/// activity without a sector (named, each, in the error's details) and a budget line whose conversion lacks a rate are errors before anything is written. A
/// database or write error while the transactions stream leaves a partial document in `out`.
pub async fn export_iati<W: Write>(
    db: &DatabaseConnection,
    plan: Option<&str>,
    options: &IatiOptions<'_>,
    out: W,
) -> Result<IatiSummary> {
    let plan = resolve_plan(db, plan).await?;
    let context = Context::load(db, &plan, options).await?;
    let mut summary = IatiSummary {
        left_out: count_after(db, &plan, options.as_of).await?,
        results: context.results.count(),
        results_left_out: context.results.left_out.clone(),
        ..IatiSummary::default()
    };
    let checkpoint = checkpoints::latest(db).await?;
    let mut xml = Writer::new_with_indent(out, b' ', 2);
    xml.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    if let Some(checkpoint) = checkpoint {
        xml.write_event(Event::Comment(BytesText::from_escaped(checkpoint_comment(
            &checkpoint,
        )?)))?;
    }
    let generated = options
        .generated_at
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    xml.write_event(Event::Start(
        BytesStart::new("iati-activities").with_attributes([
            ("version", iati::VERSION),
            ("generated-datetime", generated.as_str()),
        ]),
    ))?;
    for activity in &context.activities {
        let (commitments, disbursements) =
            write_activity(db, &mut xml, &context, activity, options).await?;
        summary.activities += 1;
        summary.commitments += commitments;
        summary.disbursements += disbursements;
    }
    xml.write_event(Event::End(BytesEnd::new("iati-activities")))?;
    xml.get_mut().write_all(b"\n")?;
    xml.into_inner().flush()?;
    Ok(summary)
}

/// The text of the comment that carries the latest audit checkpoint: its JSON on one line,
/// as `naptrack audit verify --checkpoint` reads it. A comment leaves the document as valid
/// as before, and every field is digits, hex or an RFC 3339 time, so the JSON never holds
/// the `--` a comment may not contain.
fn checkpoint_comment(checkpoint: &Checkpoint) -> Result<String> {
    let json = serde_json::to_string(checkpoint).map_err(|e| Error::Internal(e.to_string()))?;
    if json.contains("--") {
        return Err(Error::Internal(
            "the audit checkpoint cannot be written as an XML comment".to_owned(),
        ));
    }
    Ok(format!(" naptrack audit checkpoint: {json} "))
}

/// An organisation as IATI names it: its identifier where known, its type where one fits, and
/// its name.
#[derive(Debug, Clone)]
struct Org {
    reference: Option<String>,
    type_code: Option<&'static str>,
    name: String,
}

impl Org {
    fn of_institution(institution: &institution::Model) -> Self {
        Org {
            reference: institution
                .iati_ref
                .as_ref()
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty()),
            type_code: iati::organisation_type_code(institution.kind),
            name: institution.name.clone(),
        }
    }
}

/// Whose money a funding source is: its donor institution, or, for the state budget and other
/// sources without a donor, the source itself. The key orders and deduplicates funders (two
/// grants of one donor are one funder).
#[derive(Debug, Clone)]
struct Funder {
    key: (u8, String),
    org: Org,
}

/// Everything small that the activities refer to, read before writing.
struct Context {
    plan: plan::Model,
    publisher: IatiSettings,
    /// The publisher as an organisation; its type is the configured code.
    reporting_org: Org,
    institutions: HashMap<i32, Org>,
    funders: HashMap<i32, Funder>,
    objectives: HashMap<i32, (String, String)>,
    /// The plan's activities in byte order of their codes.
    activities: Vec<activity::Model>,
    /// Per activity: the funding sources of its budget lines and commitments.
    funding: HashMap<i32, BTreeSet<i32>>,
    /// Per activity and fiscal year: the allocation in the plan's currency.
    budgets: BTreeMap<(i32, i32), Amount>,
    fiscal: FiscalYearStart,
    /// The indicators, by the activity each goes on.
    results: Results,
}

impl Context {
    async fn load(
        db: &DatabaseConnection,
        plan: &plan::Model,
        options: &IatiOptions<'_>,
    ) -> Result<Self> {
        let fiscal = FiscalYearStart::new(plan.fiscal_year_start_month).ok_or_else(|| {
            Error::Internal(format!("plan {} has no valid fiscal year start", plan.code))
        })?;
        let mut activities = activity::Entity::find()
            .filter(activity::Column::PlanId.eq(plan.id))
            .all(db)
            .await?;
        if activities.is_empty() {
            return Err(Error::invalid(
                format!(
                    "plan {} has no activities, and an IATI file must hold at least one; \
                     import activities.csv first",
                    plan.code
                ),
                Vec::new(),
            ));
        }
        // Rust compares strings byte by byte, the order of every export.
        activities.sort_by(|a, b| a.code.cmp(&b.code));
        refuse_activities_without_sector(plan, &activities)?;
        let institutions: HashMap<i32, institution::Model> = institution::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|i| (i.id, i))
            .collect();
        let funders = funding_source::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|source| (source.id, funder(&source, &institutions)))
            .collect();
        let objectives: HashMap<i32, (String, String)> = objective::Entity::find()
            .filter(objective::Column::PlanId.eq(plan.id))
            .all(db)
            .await?
            .into_iter()
            .map(|o| (o.id, (o.code, o.title)))
            .collect();
        let results = Results::load(db, plan, &activities, &objectives).await?;
        let rates = rate_table(db).await?;
        let (budgets, mut funding) = budgets(db, plan, fiscal, &rates).await?;
        for (activity_id, source_id) in committed_sources(db, plan).await? {
            funding.entry(activity_id).or_default().insert(source_id);
        }
        Ok(Context {
            plan: plan.clone(),
            publisher: options.publisher.clone(),
            reporting_org: Org {
                reference: Some(options.publisher.reporting_org_ref.clone()),
                type_code: None,
                name: options.publisher.reporting_org_name.clone(),
            },
            institutions: institutions
                .values()
                .map(|i| (i.id, Org::of_institution(i)))
                .collect(),
            funders,
            objectives,
            activities,
            funding,
            budgets,
            fiscal,
            results,
        })
    }

    fn funder(&self, funding_source_id: i32) -> Result<&Funder> {
        self.funders
            .get(&funding_source_id)
            .ok_or_else(|| Error::Internal(format!("funding source {funding_source_id} vanished")))
    }

    fn institution(&self, id: i32) -> Result<&Org> {
        self.institutions
            .get(&id)
            .ok_or_else(|| Error::Internal(format!("institution {id} vanished")))
    }
}

fn funder(
    source: &funding_source::Model,
    institutions: &HashMap<i32, institution::Model>,
) -> Funder {
    match source.donor_id.and_then(|id| institutions.get(&id)) {
        Some(donor) => Funder {
            key: (0, donor.code.clone()),
            org: Org::of_institution(donor),
        },
        None => Funder {
            key: (1, source.code.clone()),
            org: Org {
                reference: None,
                type_code: iati::funding_source_type_code(source.kind),
                name: source.name.clone(),
            },
        },
    }
}

/// The allocation of each activity and fiscal year in the plan's currency, each budget line
/// converted on its own at the first day of its fiscal year as the execution report does;
/// and the funding sources of each activity's budget lines. Lines are streamed; only the sums
/// are kept.
async fn budgets(
    db: &DatabaseConnection,
    plan: &plan::Model,
    fiscal: FiscalYearStart,
    rates: &RateTable,
) -> Result<(BTreeMap<(i32, i32), Amount>, HashMap<i32, BTreeSet<i32>>)> {
    let mut budgets: BTreeMap<(i32, i32), Amount> = BTreeMap::new();
    let mut funding: HashMap<i32, BTreeSet<i32>> = HashMap::new();
    let mut lines = budget_line::Entity::find()
        .filter(budget_line::Column::PlanId.eq(plan.id))
        .stream(db)
        .await?;
    while let Some(line) = lines.try_next().await? {
        let (first_day, _) = fiscal.bounds(line.fiscal_year).ok_or_else(|| {
            Error::Internal(format!("fiscal year {} out of range", line.fiscal_year))
        })?;
        let amount = rates.convert(line.amount, line.currency, plan.currency, first_day)?;
        let total = budgets
            .entry((line.activity_id, line.fiscal_year))
            .or_insert(Amount::ZERO);
        *total = total.checked_add(amount)?;
        funding
            .entry(line.activity_id)
            .or_default()
            .insert(line.funding_source_id);
    }
    Ok((budgets, funding))
}

/// The (activity, funding source) pairs of the plan's commitments.
async fn committed_sources(db: &DatabaseConnection, plan: &plan::Model) -> Result<Vec<(i32, i32)>> {
    let mut q = Binds::new(db.get_database_backend());
    let sql = format!(
        "SELECT DISTINCT activity_id, funding_source_id FROM commitments WHERE plan_id = {}",
        q.bind(plan.id)
    );
    db.query_all_raw(q.statement(sql))
        .await?
        .iter()
        .map(|row| Ok((row.try_get_by_index(0)?, row.try_get_by_index(1)?)))
        .collect()
}

/// IATI's rules 6.2.2 and 6.7.2 want a sector on every activity (or on all of its
/// transactions, which naptrack does not record): an export with an activity that has none
/// cannot be valid, so it is refused, naming each such activity, before a byte is written.
fn refuse_activities_without_sector(
    plan: &plan::Model,
    activities: &[activity::Model],
) -> Result<()> {
    let missing: Vec<&activity::Model> = activities
        .iter()
        .filter(|a| a.sector_code.as_deref().is_none_or(|c| c.trim().is_empty()))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let lacks = |a: &activity::Model| format!("activity {} has no sector_code", a.code);
    let message = format!(
        "plan {} cannot be exported to IATI, which requires a sector on every activity: {}; \
         give each a sector_code in activities.csv and import it again",
        plan.code,
        missing
            .iter()
            .map(|a| lacks(a))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let details = missing
        .iter()
        .map(|a| FieldError::new("sector_code", lacks(a)))
        .collect();
    Err(Error::invalid(message, details))
}

/// How many commitments and disbursements of the plan are dated after `as_of`.
async fn count_after(db: &DatabaseConnection, plan: &plan::Model, as_of: NaiveDate) -> Result<u64> {
    let mut total = 0;
    for table in ["commitments", "disbursements"] {
        let mut q = Binds::new(db.get_database_backend());
        let sql = format!(
            "SELECT COUNT(*) FROM {table} WHERE plan_id = {} AND date > {}",
            q.bind(plan.id),
            q.bind(as_of)
        );
        if let Some(row) = db.query_one_raw(q.statement(sql)).await? {
            total += u64::try_from(row.try_get_by_index::<i64>(0)?).unwrap_or(0);
        }
    }
    Ok(total)
}

type Xml<W> = Writer<W>;

/// Writes one `iati-activity`, in the order of the schema's sequence, and returns how many
/// commitments and disbursements it holds.
async fn write_activity<W: Write>(
    db: &DatabaseConnection,
    xml: &mut Xml<W>,
    context: &Context,
    activity: &activity::Model,
    options: &IatiOptions<'_>,
) -> Result<(u64, u64)> {
    let plan = &context.plan;
    let publisher = &context.publisher;
    xml.write_event(Event::Start(
        BytesStart::new("iati-activity").with_attributes([
            ("xml:lang", publisher.language.as_str()),
            ("default-currency", plan.currency.code()),
        ]),
    ))?;
    let identifier =
        iati::activity_identifier(&publisher.reporting_org_ref, &plan.code, &activity.code);
    xml.create_element("iati-identifier")
        .write_text_content(text(&identifier))?;
    write_org(
        xml,
        "reporting-org",
        &context.reporting_org,
        &[("type", publisher.reporting_org_type.as_str())],
    )?;
    write_narrative(xml, "title", &[], &activity.title)?;
    write_narrative(
        xml,
        "description",
        &[("type", iati::DESCRIPTION_GENERAL)],
        &describe(context, activity)?,
    )?;
    write_participants(xml, context, activity)?;
    xml.create_element("activity-status")
        .with_attribute(("code", iati::activity_status_code(activity.status)))
        .write_empty()?;
    for (date_type, date) in [
        (iati::DATE_PLANNED_START, activity.start_date),
        (iati::DATE_PLANNED_END, activity.end_date),
    ] {
        xml.create_element("activity-date")
            .with_attribute(("type", date_type))
            .with_attribute(("iso-date", iso(date).as_str()))
            .write_empty()?;
    }
    xml.create_element("recipient-country")
        .with_attribute(("code", xml_safe(&plan.country).as_ref()))
        .write_empty()?;
    // The load refused activities without a sector; one sector needs no percentage.
    if let Some(sector) = &activity.sector_code {
        xml.create_element("sector")
            .with_attribute(("vocabulary", iati::SECTOR_VOCABULARY_DAC))
            .with_attribute(("code", xml_safe(sector).as_ref()))
            .write_empty()?;
    }
    write_budgets(xml, context, activity)?;
    let commitments = write_commitments(db, xml, context, activity, options.as_of).await?;
    let disbursements = write_disbursements(db, xml, context, activity, options.as_of).await?;
    context.results.write(xml, activity, context.fiscal)?;
    xml.write_event(Event::End(BytesEnd::new("iati-activity")))?;
    Ok((commitments, disbursements))
}

/// The description IATI requires: the activity has only a title, so the description places
/// it in the plan (plan, objective, lead institution), which a reader of one activity lacks.
fn describe(context: &Context, activity: &activity::Model) -> Result<String> {
    let plan = &context.plan;
    let (objective_code, objective_title) = context
        .objectives
        .get(&activity.objective_id)
        .ok_or_else(|| Error::Internal(format!("objective {} vanished", activity.objective_id)))?;
    let lead = context.institution(activity.lead_institution_id)?;
    Ok(format!(
        "Activity {} of {} ({}), under objective {objective_code}: {objective_title}. \
         Led by {}.",
        activity.code, plan.title, plan.code, lead.name
    ))
}

/// The funders (role 1) of the activity's budget lines and commitments, each once, in order
/// of their codes; then the lead institution (role 4), which the schema's minimum of one
/// participating organisation always finds.
fn write_participants<W: Write>(
    xml: &mut Xml<W>,
    context: &Context,
    activity: &activity::Model,
) -> Result<()> {
    let mut funders: BTreeMap<&(u8, String), &Org> = BTreeMap::new();
    for source_id in context.funding.get(&activity.id).into_iter().flatten() {
        let funder = context.funder(*source_id)?;
        funders.insert(&funder.key, &funder.org);
    }
    for org in funders.values() {
        write_org(
            xml,
            "participating-org",
            org,
            &[("role", iati::ROLE_FUNDING)],
        )?;
    }
    let lead = context.institution(activity.lead_institution_id)?;
    write_org(
        xml,
        "participating-org",
        lead,
        &[("role", iati::ROLE_IMPLEMENTING)],
    )?;
    Ok(())
}

/// One `budget` per fiscal year with budget lines: original, committed, the fiscal year as its
/// period, the allocation in the plan's currency valued at the first day of the year (the
/// date its conversion used).
fn write_budgets<W: Write>(
    xml: &mut Xml<W>,
    context: &Context,
    activity: &activity::Model,
) -> Result<()> {
    for (&(_, year), &amount) in context
        .budgets
        .range((activity.id, i32::MIN)..=(activity.id, i32::MAX))
    {
        let (first, last) = context
            .fiscal
            .bounds(year)
            .ok_or_else(|| Error::Internal(format!("fiscal year {year} out of range")))?;
        xml.create_element("budget")
            .with_attribute(("type", iati::BUDGET_ORIGINAL))
            .with_attribute(("status", iati::BUDGET_COMMITTED))
            .write_inner_content(|xml| {
                xml.create_element("period-start")
                    .with_attribute(("iso-date", iso(first).as_str()))
                    .write_empty()?;
                xml.create_element("period-end")
                    .with_attribute(("iso-date", iso(last).as_str()))
                    .write_empty()?;
                write_value(xml, amount, context.plan.currency, first)
            })?;
    }
    Ok(())
}

/// One transaction as it is written.
struct Transaction<'a> {
    reference: String,
    type_code: &'static str,
    date: NaiveDate,
    amount: Amount,
    currency: Currency,
    description: Option<String>,
    provider: &'a Org,
    receiver: Option<&'a Org>,
}

/// The activity's commitments up to `as_of` as type-2 transactions, by date and reference.
/// naptrack records no recipient for a commitment, so they have no receiver-org.
async fn write_commitments<W: Write>(
    db: &DatabaseConnection,
    xml: &mut Xml<W>,
    context: &Context,
    activity: &activity::Model,
    as_of: NaiveDate,
) -> Result<u64> {
    let backend = db.get_database_backend();
    let mut q = Binds::new(backend);
    let sql = format!(
        "SELECT c.reference, c.date, c.amount, c.currency, c.funding_source_id \
         FROM commitments c WHERE c.activity_id = {} AND c.date <= {} \
         ORDER BY c.date, c.reference{}",
        q.bind(activity.id),
        q.bind(as_of),
        collate_bytewise(backend)
    );
    let mut rows = db.stream_raw(q.statement(sql)).await?;
    let mut count = 0;
    while let Some(row) = rows.try_next().await? {
        let transaction = Transaction {
            reference: row.try_get_by_index(0)?,
            type_code: iati::TRANSACTION_COMMITMENT,
            date: row.try_get_by_index(1)?,
            amount: row.try_get_by_index(2)?,
            currency: row.try_get_by_index(3)?,
            description: None,
            provider: &context.funder(row.try_get_by_index(4)?)?.org,
            receiver: None,
        };
        write_transaction(xml, &transaction)?;
        count += 1;
    }
    Ok(count)
}

/// The disbursements on the activity's budget lines up to `as_of` as type-3 transactions, by
/// date and reference; a reversal is one with a negative value.
async fn write_disbursements<W: Write>(
    db: &DatabaseConnection,
    xml: &mut Xml<W>,
    context: &Context,
    activity: &activity::Model,
    as_of: NaiveDate,
) -> Result<u64> {
    let backend = db.get_database_backend();
    let mut q = Binds::new(backend);
    let sql = format!(
        "SELECT d.reference, d.date, d.amount, d.currency, b.funding_source_id, d.payee_id, \
         d.description, r.reference \
         FROM budget_lines b JOIN disbursements d ON d.budget_line_id = b.id \
         LEFT JOIN disbursements r ON r.id = d.reverses_id \
         WHERE b.activity_id = {} AND d.date <= {} ORDER BY d.date, d.reference{}",
        q.bind(activity.id),
        q.bind(as_of),
        collate_bytewise(backend)
    );
    let mut rows = db.stream_raw(q.statement(sql)).await?;
    let mut count = 0;
    while let Some(row) = rows.try_next().await? {
        write_transaction(xml, &disbursement(context, &row)?)?;
        count += 1;
    }
    Ok(count)
}

fn disbursement<'a>(context: &'a Context, row: &QueryResult) -> Result<Transaction<'a>> {
    let payee: Option<i32> = row.try_get_by_index(5)?;
    let description: Option<String> = row.try_get_by_index(6)?;
    let reverses: Option<String> = row.try_get_by_index(7)?;
    // A reversal without a description of its own still says what it reverses.
    let description = description
        .filter(|d| !d.trim().is_empty())
        .or_else(|| reverses.map(|original| format!("Reversal of {original}")));
    Ok(Transaction {
        reference: row.try_get_by_index(0)?,
        type_code: iati::TRANSACTION_DISBURSEMENT,
        date: row.try_get_by_index(1)?,
        amount: row.try_get_by_index(2)?,
        currency: row.try_get_by_index(3)?,
        description,
        provider: &context.funder(row.try_get_by_index(4)?)?.org,
        receiver: payee.map(|id| context.institution(id)).transpose()?,
    })
}

/// A `transaction` in the schema's order: type, date, value, description, provider,
/// receiver.
fn write_transaction<W: Write>(xml: &mut Xml<W>, transaction: &Transaction<'_>) -> Result<()> {
    xml.create_element("transaction")
        .with_attribute(("ref", xml_safe(&transaction.reference).as_ref()))
        .write_inner_content(|xml| {
            xml.create_element("transaction-type")
                .with_attribute(("code", transaction.type_code))
                .write_empty()?;
            xml.create_element("transaction-date")
                .with_attribute(("iso-date", iso(transaction.date).as_str()))
                .write_empty()?;
            write_value(
                xml,
                transaction.amount,
                transaction.currency,
                transaction.date,
            )?;
            if let Some(description) = &transaction.description {
                write_narrative(xml, "description", &[], description)?;
            }
            write_org(xml, "provider-org", transaction.provider, &[])?;
            if let Some(receiver) = transaction.receiver {
                write_org(xml, "receiver-org", receiver, &[])?;
            }
            Ok(())
        })?;
    Ok(())
}

/// A `value`: the amount's canonical text, exactly as stored, with its currency and the date
/// its value is given at.
fn write_value<W: Write>(
    xml: &mut Xml<W>,
    amount: Amount,
    currency: Currency,
    value_date: NaiveDate,
) -> std::io::Result<()> {
    xml.create_element("value")
        .with_attribute(("currency", currency.code()))
        .with_attribute(("value-date", iso(value_date).as_str()))
        .write_text_content(BytesText::new(&amount.to_string()))?;
    Ok(())
}

/// An organisation element: `ref` and `type` where known, then the extra attributes (the
/// role), then the name as narrative.
fn write_org<W: Write>(
    xml: &mut Xml<W>,
    element: &str,
    org: &Org,
    extra: &[(&str, &str)],
) -> std::io::Result<()> {
    let mut start = BytesStart::new(element);
    if let Some(reference) = &org.reference {
        start.push_attribute(("ref", xml_safe(reference).as_ref()));
    }
    if let Some(type_code) = org.type_code {
        start.push_attribute(("type", type_code));
    }
    for attribute in extra {
        start.push_attribute(*attribute);
    }
    xml.write_event(Event::Start(start))?;
    write_narrative_only(xml, &org.name)?;
    xml.write_event(Event::End(BytesEnd::new(element)))
}

/// `<element attributes><narrative>text</narrative></element>`.
fn write_narrative<W: Write>(
    xml: &mut Xml<W>,
    element: &str,
    attributes: &[(&str, &str)],
    text: &str,
) -> std::io::Result<()> {
    xml.create_element(element)
        .with_attributes(attributes.iter().copied())
        .write_inner_content(|xml| write_narrative_only(xml, text))?;
    Ok(())
}

fn write_narrative_only<W: Write>(xml: &mut Xml<W>, text: &str) -> std::io::Result<()> {
    xml.create_element("narrative")
        .write_text_content(self::text(text))?;
    Ok(())
}

/// Element text: characters XML forbids replaced, and only `<`, `>` and `&` escaped, which
/// is all that text content needs (quotes stay readable).
fn text(raw: &str) -> BytesText<'static> {
    BytesText::from_escaped(partial_escape(xml_safe(raw).as_ref()).into_owned())
}

fn iso(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}
