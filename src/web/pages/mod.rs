//! The pages that read, one file per page or page group: home, dashboard, flags, reports,
//! the plan tree, an activity, the audit trail and the users and tokens. Each parses its query
//! into domain terms, calls the services and renders. This module holds what several of them
//! show: tables of records, a report's rows and the plan a page is about.

pub mod activity;
pub mod audit;
pub mod budget_line;
pub mod dashboard;
pub mod disbursements;
pub mod flags;
pub mod home;
pub mod institution;
pub mod obligation;
pub mod plan_tree;
pub mod record_forms;
pub mod reports;
pub mod results;
pub mod results_values;
pub mod search;
pub mod users;

use chrono::NaiveDate;
use rocket::uri;
use rust_decimal::Decimal;
use sea_orm::DatabaseConnection;

use super::charts::BarGroup;
use crate::config::Settings;
use crate::domain::flags::{Flag, Severity, Subject};
use crate::domain::records::RecordKind;
use crate::entity::plan;
use crate::error::{Error, Result};
use crate::money::Amount;
use crate::service::flags::FlagReport;
use crate::service::plans::resolve_plan;
use crate::service::records::{self, Cell, Query, Record};
use crate::service::reports::{ExecutionReport, ReportRow};

pub use users::users_page;

/// A table as pages show it: text cells, amounts right-aligned.
pub struct Table {
    pub caption: String,
    pub headers: Vec<(String, bool)>,
    pub rows: Vec<Vec<TableCell>>,
}

impl Table {
    /// The header of column `i`, which a stacked row shows beside the cell.
    pub fn label(&self, i: impl std::borrow::Borrow<usize>) -> &str {
        self.headers
            .get(*i.borrow())
            .map_or("", |(header, _)| header.as_str())
    }
}

pub struct TableCell {
    pub text: String,
    pub numeric: bool,
    /// A code, reference or date, kept on one line.
    pub code: bool,
    pub link: Option<String>,
}

impl TableCell {
    pub fn text(text: impl Into<String>) -> Self {
        TableCell {
            text: text.into(),
            numeric: false,
            code: false,
            link: None,
        }
    }

    /// A code, reference or date, which a table does not break across lines.
    pub fn code(text: impl Into<String>) -> Self {
        TableCell {
            code: true,
            ..TableCell::text(text)
        }
    }

    pub fn amount(amount: Amount) -> Self {
        TableCell {
            text: amount.grouped(),
            numeric: true,
            code: false,
            link: None,
        }
    }
}

/// Whether a contract column holds codes, references or dates: text that reads wrong when a
/// narrow column breaks it at a hyphen.
fn is_code_column(name: &str) -> bool {
    name == "reference"
        || name == "reverses"
        || name == "in_force_from"
        || name == "currency"
        || name.ends_with("code")
        || name.ends_with("date")
}

/// The records as a table, every contract column but the plan's code, amounts grouped.
pub fn record_table(caption: &str, kind: RecordKind, rows: &[Record]) -> Table {
    let columns: Vec<_> = kind
        .columns()
        .iter()
        .enumerate()
        .filter(|(_, c)| c.name != "plan_code")
        .collect();
    Table {
        caption: caption.to_owned(),
        headers: columns
            .iter()
            .map(|(_, c)| (c.name.replace('_', " "), c.numeric))
            .collect(),
        rows: rows
            .iter()
            .map(|record| {
                columns
                    .iter()
                    .map(|(i, column)| {
                        let text = |text: String| {
                            if is_code_column(column.name) {
                                TableCell::code(text)
                            } else {
                                TableCell::text(text)
                            }
                        };
                        match record.cells.get(*i) {
                            Some(Cell::Amount(amount)) => TableCell::amount(*amount),
                            Some(Cell::Empty) | None => TableCell::text(""),
                            Some(Cell::Text(value)) => text(value.clone()),
                            Some(other) => text(other.csv_text().into_owned()),
                        }
                    })
                    .collect()
            })
            .collect(),
    }
}

impl Table {
    /// Links each cell of the column headed `header` to `href(its text)`.
    pub fn link_column(mut self, header: &str, href: impl Fn(&str) -> Option<String>) -> Table {
        if let Some(index) = self.headers.iter().position(|(h, _)| h == header) {
            for row in &mut self.rows {
                if let Some(cell) = row.get_mut(index)
                    && !cell.text.is_empty()
                {
                    cell.link = href(&cell.text);
                }
            }
        }
        self
    }

    /// Links the references of a table of disbursements (and what they reverse) to their
    /// pages.
    pub fn link_disbursements(self, plan_code: &str) -> Table {
        let href =
            |reference: &str| subject_href(plan_code, &Subject::new("disbursement", reference, ""));
        self.link_column("reference", href)
            .link_column("reverses", href)
            .link_column("budget line code", |code| {
                subject_href(plan_code, &Subject::new("budget_line", code, ""))
            })
            .link_column("payee code", |code| {
                subject_href(plan_code, &Subject::new("institution", code, ""))
            })
    }
}

pub fn percent(rate: Option<Decimal>) -> String {
    rate.map(|r| format!("{}%", (r * Decimal::from(100)).round_dp(1)))
        .unwrap_or_else(|| "—".to_owned())
}

/// The plan a page is about: `?plan=CODE`, or the only one.
pub async fn page_plan(db: &DatabaseConnection, code: Option<&str>) -> Result<plan::Model> {
    resolve_plan(db, code.filter(|c| !c.is_empty())).await
}

/// Today, or the last day of a plan that has ended: the date flags are shown for by default.
pub fn default_as_of(plan: &plan::Model) -> NaiveDate {
    chrono::Utc::now().date_naive().min(plan.end_date)
}

async fn plan_flags(
    db: &DatabaseConnection,
    settings: &Settings,
    plan: &plan::Model,
    as_of: NaiveDate,
) -> Result<FlagReport> {
    crate::service::flags::flags(db, plan, as_of, &settings.flags.thresholds()?).await
}

fn severity_counts(flags: &[Flag]) -> Vec<(Severity, usize)> {
    Severity::ALL
        .iter()
        .map(|s| (*s, flags.iter().filter(|f| f.severity == *s).count()))
        .collect()
}

/// A report as the pages show it: grouped amounts and percentages.
pub struct ReportView {
    /// What the table says it holds.
    pub caption: String,
    pub rows: Vec<[String; 7]>,
    pub totals: [String; 5],
}

impl ReportView {
    pub fn of(report: &ExecutionReport) -> ReportView {
        let row = |r: &ReportRow| {
            [
                r.key.clone(),
                r.label.clone(),
                r.allocated.grouped(),
                r.committed.grouped(),
                r.disbursed.grouped(),
                r.remaining.grouped(),
                percent(r.execution_rate),
            ]
        };
        let t = &report.totals;
        ReportView {
            caption: format!("Budget execution by {}, in {}", report.by, report.currency),
            rows: report.rows.iter().map(row).collect(),
            totals: [
                t.allocated.grouped(),
                t.committed.grouped(),
                t.disbursed.grouped(),
                t.remaining.grouped(),
                percent(t.execution_rate),
            ],
        }
    }
}

fn bar_groups(report: &ExecutionReport) -> Vec<BarGroup> {
    report
        .rows
        .iter()
        .filter(|r| !r.key.is_empty())
        .map(|r| BarGroup {
            label: r.key.clone(),
            name: r.label.clone(),
            allocated: r.allocated,
            disbursed: r.disbursed,
        })
        .collect()
}

/// The page of a flag's subject, where it has one: an activity, budget line, obligation,
/// institution, disbursement, or an indicator's section of the results page.
pub fn subject_href(plan_code: &str, subject: &Subject) -> Option<String> {
    let plan = Some(plan_code);
    let code = subject.code.as_str();
    Some(match subject.kind {
        "activity" => uri!(activity::get_activity(code = code, plan = plan)).to_string(),
        "budget_line" => uri!(budget_line::get_budget_line(
            code = code,
            plan = plan,
            page = _
        ))
        .to_string(),
        "obligation" => uri!(obligation::get_obligation(code = code, plan = plan)).to_string(),
        "institution" => uri!(institution::get_institution(
            code = code,
            plan = plan,
            page = _
        ))
        .to_string(),
        // A red flag on a payment opens the disbursement, with its reversal form.
        "disbursement" => uri!(crate::web::forms::get_disbursement(
            reference = code,
            plan = plan,
            recorded = _,
        ))
        .to_string(),
        // A results flag names an indicator: its section of the results page.
        "indicator" => format!(
            "{}#{code}",
            uri!(results::get_results(
                plan = plan,
                objective = _,
                activity = _
            ))
        ),
        _ => return None,
    })
}

/// A flag as a page lists it under its subject.
pub struct FlagLine {
    pub severity: String,
    pub rule: String,
    pub subject: String,
    pub subject_href: Option<String>,
    pub message: String,
}

impl FlagLine {
    pub fn of(plan_code: &str, flag: &Flag) -> FlagLine {
        FlagLine {
            severity: flag.severity.to_string(),
            rule: flag.rule.to_string(),
            subject: format!(
                "{} {}",
                flag.subject.kind.replace('_', " "),
                flag.subject.code
            ),
            subject_href: subject_href(plan_code, &flag.subject),
            message: flag.message.clone(),
        }
    }
}

/// A record's cell as text.
pub fn text_of(record: &Record, column: &str) -> String {
    match record.get(column) {
        Some(Cell::Text(text)) => text.clone(),
        Some(Cell::Empty) | None => String::new(),
        Some(other) => other.csv_text().into_owned(),
    }
}

/// The one record of `kind` whose `column` is `value`, or a 404 naming what is missing.
pub async fn one_record(
    db: &DatabaseConnection,
    kind: RecordKind,
    plan: &plan::Model,
    column: &str,
    value: &str,
) -> Result<Record> {
    let mut query = Query::all(kind, Some(plan.id));
    query.filter(column, value)?;
    records::fetch(db, &query).await?.pop().ok_or_else(|| {
        Error::NotFound(format!(
            "there is no {} {value} in plan {}",
            kind.one(),
            plan.code
        ))
    })
}

/// How many rows a long table shows at once.
pub const PAGE_SIZE: u64 = 50;

/// Where a long table is: which rows of how many, and the links to the pages before and after.
pub struct Pager {
    pub first: u64,
    pub last: u64,
    pub total: u64,
    pub previous: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// Page `page` (from 1) of `total` rows; `href(n)` is the address of page n.
    pub fn new(page: u64, total: u64, href: impl Fn(u64) -> String) -> Pager {
        let pages = total.div_ceil(PAGE_SIZE).max(1);
        let page = page.clamp(1, pages);
        Pager {
            first: if total == 0 {
                0
            } else {
                (page - 1) * PAGE_SIZE + 1
            },
            last: (page * PAGE_SIZE).min(total),
            total,
            previous: (page > 1).then(|| href(page - 1)),
            next: (page < pages).then(|| href(page + 1)),
        }
    }

    /// `page` (from 1, as asked) brought within the pages that `total` rows fill.
    pub fn page_within(page: Option<u64>, total: u64) -> u64 {
        page.unwrap_or(1).clamp(1, total.div_ceil(PAGE_SIZE).max(1))
    }

    /// The offset of page `page`'s first row.
    pub fn offset(page: u64) -> u64 {
        page.max(1).saturating_sub(1).saturating_mul(PAGE_SIZE)
    }
}

/// Page `page` (from 1) of the records `query` selects: the rows, the page they are (brought
/// within the pages there are) and how many records there are in all.
pub async fn fetch_page(
    db: &DatabaseConnection,
    mut query: Query,
    page: Option<u64>,
) -> Result<(Vec<Record>, u64, u64)> {
    let total = records::count(db, &query).await?;
    let page = Pager::page_within(page, total);
    query.offset = Pager::offset(page);
    query.limit = Some(PAGE_SIZE);
    Ok((records::fetch(db, &query).await?, page, total))
}
