//! How the scans of disbursements group payments: by budget line, by line and month, or by
//! month alone. The SQL of each grouping is shaped so that the database walks an index in order.

use sea_orm::DbBackend;

use super::model::{Dimension, Filters};

/// How the scans of disbursements group payments before they are placed in the report's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Grouping {
    /// By budget line, for every dimension but months: a line's row follows from the line.
    Line,
    /// By budget line and month: a report by month that selects some lines (by fiscal year,
    /// funding source or donor).
    LineAndMonth,
    /// By month alone: a report by month over all the plan's lines. On SQLite the scan walks
    /// the index in month order (`ix_disbursements_plan_month_cover`) instead of sorting
    /// every payment.
    Month,
}

impl Grouping {
    pub(super) fn of(dimension: Dimension, filters: &Filters) -> Grouping {
        let some_lines = filters.fiscal_year.is_some()
            || filters.funding_source.is_some()
            || filters.donor.is_some();
        match dimension {
            Dimension::Month if some_lines => Grouping::LineAndMonth,
            Dimension::Month => Grouping::Month,
            _ => Grouping::Line,
        }
    }

    /// The SQL of the line and month columns, and the terms to group by. A constant is never
    /// a grouping term: SQLite would sort instead of walking the index in order.
    pub(super) fn sql(self, backend: DbBackend) -> (&'static str, &'static str, String) {
        // On SQLite, the expression of the month index, exactly.
        let month = match backend {
            DbBackend::Postgres => "to_char(d.date, 'YYYY-MM')",
            _ => "substr(d.date, 1, 7)",
        };
        match self {
            Grouping::Line => ("d.budget_line_id", "NULL", "d.budget_line_id".to_owned()),
            Grouping::LineAndMonth => (
                "d.budget_line_id",
                month,
                format!("d.budget_line_id, {month}"),
            ),
            Grouping::Month => ("CAST(NULL AS INTEGER)", month, month.to_owned()),
        }
    }
}
