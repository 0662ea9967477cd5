//! The pages that read, one file per page or page group: home, dashboard, flags, reports,
//! the plan tree, an activity, the audit trail and the users and tokens. Each parses its query
//! into domain terms, calls the services and renders. This module holds what several of them
//! show: tables of records, a report's rows and the plan a page is about.

pub mod activity;
pub mod audit;
pub mod dashboard;
pub mod flags;
pub mod home;
pub mod plan_tree;
pub mod reports;
pub mod results;
pub mod results_values;
pub mod users;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sea_orm::DatabaseConnection;

use super::charts::BarGroup;
use crate::config::Settings;
use crate::domain::flags::{Flag, Severity};
use crate::domain::records::RecordKind;
use crate::entity::plan;
use crate::error::Result;
use crate::money::Amount;
use crate::service::flags::FlagReport;
use crate::service::plans::resolve_plan;
use crate::service::records::{Cell, Record};
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
