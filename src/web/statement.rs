//! The donor statement page: what one donor (or one funding source) committed, what was
//! allocated from its money and what was paid out, by activity and by fiscal year, with the
//! payments themselves and a CSV download of each part. The figures are those of
//! [`statements::donor_statement`], the same as the command line and the API show.

use askama::Template;
use rocket::http::{ContentType, Header};
use rocket::{Responder, State, get, uri};
use sea_orm::DatabaseConnection;

use super::charts::{self, BarGroup};
use super::pages::{PAGE_SIZE, Pager, ReportView, page_plan};
use super::session::WebUser;
use super::{Nav, Page, WebError, render};
use crate::config::Settings;
use crate::entity::plan;
use crate::error::{Error, Result};
use crate::service::checkpoints::Checkpoint;
use crate::service::statements::{self, DonorStatement, Giver, GiverChoice, Givers, Part};

/// One payment as the page shows it.
struct PaymentRow {
    date: String,
    reference: String,
    reference_href: String,
    activity: String,
    activity_href: String,
    budget_line: String,
    funding_source: String,
    amount: String,
    currency: String,
    plan_amount: String,
    reverses: String,
    description: String,
}

/// One red flag of the giver's payments as the page shows it.
struct RedFlagRow {
    fiscal_year: i32,
    severity: String,
    rule: String,
    message: String,
}

/// The statement of one giver, ready to render.
struct StatementView {
    /// "donor PGATO" or "funding source PG-2015".
    whose: String,
    /// The giver's name.
    name: String,
    /// Allocated, committed, disbursed, remaining and the execution rate, over everything.
    totals: [String; 5],
    by_activity: ReportView,
    by_fiscal_year: ReportView,
    chart: String,
    /// One page of the payments, and where it is among them.
    payments: Vec<PaymentRow>,
    pager: Pager,
    disbursed: String,
    red_flags: Vec<RedFlagRow>,
    /// The chart as an SVG file.
    chart_href: String,
    /// Each part's CSV download: what it holds and its address.
    downloads: Vec<(&'static str, String)>,
    /// The latest signed checkpoint of the audit trail, with its JSON for an auditor to copy.
    checkpoint: Option<CheckpointView>,
}

/// The audit checkpoint as the page shows it.
struct CheckpointView {
    checkpoint: Checkpoint,
    json: String,
    public_key_pem: String,
}

#[derive(Template)]
#[template(path = "donor_statement.html")]
struct DonorStatementPage {
    nav: Nav,
    plan: plan::Model,
    currency: String,
    donors: Vec<GiverChoice>,
    sources: Vec<GiverChoice>,
    donor: String,
    funding_source: String,
    statement: Option<StatementView>,
}

/// The giver a query names: `donor` or `funding_source`, not both; none when neither is
/// given (the picker alone). Empty values count as absent, as a form sends them.
fn giver_of(donor: Option<&str>, funding_source: Option<&str>) -> Result<Option<Giver>> {
    let given = |value: Option<&str>| {
        value
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    match (given(donor), given(funding_source)) {
        (None, None) => Ok(None),
        (Some(donor), None) => Ok(Some(Giver::Donor(donor))),
        (None, Some(source)) => Ok(Some(Giver::FundingSource(source))),
        (Some(_), Some(_)) => Err(Error::BadRequest(
            "choose a donor or a funding source, not both".to_owned(),
        )),
    }
}

/// The statement's chart: allocated and disbursed by fiscal year, in the plan's currency.
fn statement_chart(plan: &plan::Model, statement: &DonorStatement, whose: &str) -> Result<String> {
    let currency = plan.currency.to_string();
    let groups: Vec<BarGroup> = statement
        .by_fiscal_year
        .rows
        .iter()
        .filter(|r| !r.key.is_empty())
        .map(|r| BarGroup {
            label: r.key.clone(),
            name: r.label.clone(),
            allocated: r.allocated,
            disbursed: r.disbursed,
        })
        .collect();
    charts::allocated_vs_disbursed(
        &format!("Allocated and disbursed by fiscal year, {whose} ({currency})"),
        &currency,
        &groups,
    )
}

fn whose_of(giver: &Giver) -> String {
    match giver {
        Giver::Donor(code) => format!("donor {code}"),
        Giver::FundingSource(code) => format!("funding source {code}"),
    }
}

/// `GET /reports/donor/chart.svg`: the statement's chart as an SVG file, the same drawing as
/// the page shows, with the session.
#[get("/reports/donor/chart.svg?<plan>&<donor>&<funding_source>")]
pub async fn get_donor_chart_svg(
    db: &State<DatabaseConnection>,
    settings: &State<Settings>,
    user: WebUser,
    plan: Option<&str>,
    donor: Option<&str>,
    funding_source: Option<&str>,
) -> Result<super::pages::reports::SvgDownload, WebError> {
    let plan = page_plan(db, plan).await?;
    let giver = giver_of(donor, funding_source)?
        .or_else(|| user.own_donor().map(Giver::Donor))
        .ok_or_else(|| Error::BadRequest("name a donor or a funding source".to_owned()))?;
    let thresholds = settings.flags.thresholds()?;
    let statement = statements::donor_statement(db, &plan, giver.clone(), &thresholds).await?;
    let whose = whose_of(&giver);
    let svg = statement_chart(&plan, &statement, &whose)?;
    Ok(super::pages::reports::SvgDownload::new(
        svg,
        &format!("{}-{}-by-fiscal-year", plan.code, whose.replace(' ', "-")),
    ))
}

fn statement_view(
    plan: &plan::Model,
    statement: &DonorStatement,
    name: String,
    page: Option<u64>,
) -> Result<StatementView> {
    let currency = plan.currency.to_string();
    let whose = whose_of(&statement.giver);
    let chart = statement_chart(plan, statement, &whose)?;
    let (donor, funding_source) = match &statement.giver {
        Giver::Donor(code) => (Some(code.as_str()), None),
        Giver::FundingSource(code) => (None, Some(code.as_str())),
    };
    let total = u64::try_from(statement.disbursements.len()).unwrap_or(u64::MAX);
    let page = Pager::page_within(page, total);
    let pager = Pager::new(page, total, |n| {
        format!(
            "{}#payments",
            uri!(get_donor_statement(
                plan = Some(plan.code.as_str()),
                donor = donor,
                funding_source = funding_source,
                page = Some(n),
            ))
        )
    });
    let skip = usize::try_from(Pager::offset(page)).unwrap_or(usize::MAX);
    let take = usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX);
    let payments = statement
        .disbursements
        .iter()
        .skip(skip)
        .take(take)
        .map(|p| PaymentRow {
            date: p.date.to_string(),
            reference_href: uri!(super::forms::get_disbursement(
                reference = p.reference.as_str(),
                plan = Some(plan.code.as_str()),
                recorded = _,
            ))
            .to_string(),
            reference: p.reference.clone(),
            activity_href: uri!(super::pages::activity::get_activity(
                code = p.activity_code.as_str(),
                plan = Some(plan.code.as_str()),
            ))
            .to_string(),
            activity: p.activity_code.clone(),
            budget_line: p.budget_line_code.clone(),
            funding_source: p.funding_source_code.clone(),
            amount: p.amount.grouped(),
            currency: p.currency.to_string(),
            plan_amount: p.plan_amount.grouped(),
            reverses: p.reverses.clone().unwrap_or_default(),
            description: p.description.clone().unwrap_or_default(),
        })
        .collect();
    let downloads = [
        ("Money by activity", "activity"),
        ("Money by fiscal year", "fiscal-year"),
        ("The disbursements", "disbursements"),
    ]
    .into_iter()
    .map(|(what, part)| {
        let href = uri!(get_donor_statement_csv(
            plan = Some(plan.code.as_str()),
            donor = donor,
            funding_source = funding_source,
            part = Some(part),
        ));
        (what, href.to_string())
    })
    .collect();
    let mut by_activity = ReportView::of(&statement.by_activity);
    by_activity.caption = format!("Money of {whose} by activity, in {currency}");
    let mut by_fiscal_year = ReportView::of(&statement.by_fiscal_year);
    by_fiscal_year.caption = format!("Money of {whose} by fiscal year, in {currency}");
    Ok(StatementView {
        whose,
        name,
        totals: by_activity.totals.clone(),
        by_activity,
        by_fiscal_year,
        chart,
        chart_href: uri!(get_donor_chart_svg(
            plan = Some(plan.code.as_str()),
            donor = donor,
            funding_source = funding_source,
        ))
        .to_string(),
        payments,
        pager,
        disbursed: statement.disbursed.grouped(),
        red_flags: statement
            .red_flags
            .iter()
            .map(|f| RedFlagRow {
                fiscal_year: f.fiscal_year,
                severity: f.severity.to_string(),
                rule: f.rule.to_string(),
                message: f.message.clone(),
            })
            .collect(),
        downloads,
        checkpoint: statement
            .checkpoint
            .as_ref()
            .map(|checkpoint| -> Result<CheckpointView> {
                Ok(CheckpointView {
                    json: serde_json::to_string_pretty(checkpoint)
                        .map_err(|e| Error::Internal(e.to_string()))?,
                    public_key_pem: checkpoint.public_key_pem()?,
                    checkpoint: checkpoint.clone(),
                })
            })
            .transpose()?,
    })
}

/// `GET /reports/donor`: the picker of donors and funding sources and, once one is chosen,
/// its statement. Every signed-in role may read it.
#[get("/reports/donor?<plan>&<donor>&<funding_source>&<page>")]
pub async fn get_donor_statement(
    db: &State<DatabaseConnection>,
    settings: &State<Settings>,
    user: WebUser,
    plan: Option<&str>,
    donor: Option<&str>,
    funding_source: Option<&str>,
    page: Option<u64>,
) -> Page {
    let plan = page_plan(db, plan).await?;
    // A donor's account bound to its donor institution opens on its own money.
    let giver = giver_of(donor, funding_source)?.or_else(|| user.own_donor().map(Giver::Donor));
    let Givers {
        donors,
        funding_sources: sources,
    } = statements::givers(db).await?;
    let statement = match &giver {
        None => None,
        Some(giver) => {
            let thresholds = settings.flags.thresholds()?;
            let statement =
                statements::donor_statement(db, &plan, giver.clone(), &thresholds).await?;
            let name = match giver {
                Giver::Donor(code) => donors.iter().find(|c| &c.code == code),
                Giver::FundingSource(code) => sources.iter().find(|c| &c.code == code),
            }
            .map(|c| c.name.clone())
            .unwrap_or_default();
            Some(statement_view(&plan, &statement, name, page)?)
        }
    };
    let (donor, funding_source) = match giver {
        Some(Giver::Donor(code)) => (code, String::new()),
        Some(Giver::FundingSource(code)) => (String::new(), code),
        None => (String::new(), String::new()),
    };
    render(&DonorStatementPage {
        nav: user.nav(),
        currency: plan.currency.to_string(),
        donors,
        sources,
        donor,
        funding_source,
        statement,
        plan,
    })
}

/// A CSV file to save, with its file name.
#[derive(Responder)]
pub struct CsvDownload {
    body: (ContentType, Vec<u8>),
    disposition: Header<'static>,
}

/// Keeps the characters that are safe in a file name (letters, digits, `-` and `_`).
pub(crate) fn file_name_part(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `GET /reports/donor.csv?donor=CODE&part=activity|fiscal-year|disbursements`: one part of
/// the statement as the same CSV that the API and the command line write.
#[get("/reports/donor.csv?<plan>&<donor>&<funding_source>&<part>")]
pub async fn get_donor_statement_csv(
    db: &State<DatabaseConnection>,
    settings: &State<Settings>,
    _user: WebUser,
    plan: Option<&str>,
    donor: Option<&str>,
    funding_source: Option<&str>,
    part: Option<&str>,
) -> std::result::Result<CsvDownload, WebError> {
    let plan = page_plan(db, plan).await?;
    let giver = giver_of(donor, funding_source)?.ok_or_else(|| {
        Error::BadRequest("name a donor (?donor=) or a funding source (?funding_source=)".into())
    })?;
    let part_name = part.filter(|p| !p.is_empty()).unwrap_or("activity");
    let parsed: Part = part_name.parse()?;
    let code = match &giver {
        Giver::Donor(code) | Giver::FundingSource(code) => code.clone(),
    };
    let thresholds = settings.flags.thresholds()?;
    let statement = statements::donor_statement(db, &plan, giver, &thresholds).await?;
    let mut bytes = Vec::new();
    statements::write_csv(&statement, parsed, &mut bytes)?;
    let file_name = format!(
        "statement-{}-{}-{}.csv",
        file_name_part(&plan.code),
        file_name_part(&code),
        part_name
    );
    Ok(CsvDownload {
        body: (
            ContentType::new("text", "csv").with_params(("charset", "utf-8")),
            bytes,
        ),
        disposition: Header::new(
            "Content-Disposition",
            format!("attachment; filename=\"{file_name}\""),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_names_a_donor_or_a_funding_source_but_not_both() {
        assert!(matches!(giver_of(None, Some("")), Ok(None)));
        assert!(matches!(
            giver_of(Some("PGATO"), Some("")),
            Ok(Some(Giver::Donor(code))) if code == "PGATO"
        ));
        assert!(matches!(
            giver_of(None, Some("PG-2015")),
            Ok(Some(Giver::FundingSource(code))) if code == "PG-2015"
        ));
        assert!(matches!(
            giver_of(Some("PGATO"), Some("PG-2015")),
            Err(Error::BadRequest(_))
        ));
    }

    #[test]
    fn a_file_name_keeps_only_safe_characters() {
        assert_eq!(file_name_part("PG-2015"), "PG-2015");
        assert_eq!(file_name_part("a\"b/c"), "a_b_c");
    }
}
