//! An execution report written out: as CSV (the contract's columns and a `TOTAL` row) and as
//! an aligned text table for a terminal.

use rust_decimal::Decimal;

use super::model::ExecutionReport;
use crate::domain::records::guard_formula;
use crate::error::{Error, Result};

/// The report as CSV: one row per value of the dimension, then a `TOTAL` row.
pub fn write_csv<W: std::io::Write>(report: &ExecutionReport, out: W) -> Result<()> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(out);
    let io = |e: csv::Error| Error::Io(std::io::Error::other(e));
    let rate = |r: Option<Decimal>| r.map(|r| r.to_string()).unwrap_or_default();
    writer
        .write_record([
            "key",
            "label",
            "allocated",
            "committed",
            "disbursed",
            "remaining",
            "execution_rate",
        ])
        .map_err(io)?;
    for row in &report.rows {
        writer
            .write_record([
                guard_formula(&row.key).as_ref(),
                guard_formula(&row.label).as_ref(),
                &row.allocated.to_string(),
                &row.committed.to_string(),
                &row.disbursed.to_string(),
                &row.remaining.to_string(),
                &rate(row.execution_rate),
            ])
            .map_err(io)?;
    }
    let t = &report.totals;
    writer
        .write_record([
            "TOTAL",
            "Total",
            &t.allocated.to_string(),
            &t.committed.to_string(),
            &t.disbursed.to_string(),
            &t.remaining.to_string(),
            &rate(t.execution_rate),
        ])
        .map_err(io)?;
    writer.flush()?;
    Ok(())
}

/// The report as an aligned text table for a terminal, with thousands separators.
pub fn write_table<W: std::io::Write>(report: &ExecutionReport, mut out: W) -> Result<()> {
    let percent = |r: Option<Decimal>| {
        r.map(|r| format!("{}%", (r * Decimal::from(100)).round_dp(1)))
            .unwrap_or_else(|| "-".to_owned())
    };
    let mut lines: Vec<[String; 7]> = report
        .rows
        .iter()
        .map(|row| {
            [
                row.key.clone(),
                row.label.chars().take(48).collect(),
                row.allocated.grouped(),
                row.committed.grouped(),
                row.disbursed.grouped(),
                row.remaining.grouped(),
                percent(row.execution_rate),
            ]
        })
        .collect();
    let t = &report.totals;
    lines.push([
        "TOTAL".to_owned(),
        String::new(),
        t.allocated.grouped(),
        t.committed.grouped(),
        t.disbursed.grouped(),
        t.remaining.grouped(),
        percent(t.execution_rate),
    ]);
    let header = [
        "key",
        "label",
        "allocated",
        "committed",
        "disbursed",
        "remaining",
        "rate",
    ]
    .map(str::to_owned);
    let widths: Vec<usize> = (0..7)
        .map(|i| {
            lines
                .iter()
                .chain([&header])
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    writeln!(
        out,
        "Budget execution of plan {} by {}, in {}",
        report.plan, report.by, report.currency
    )?;
    for (n, line) in [&header].into_iter().chain(lines.iter()).enumerate() {
        if n == lines.len() {
            writeln!(out, "{}", "-".repeat(widths.iter().sum::<usize>() + 12))?;
        }
        writeln!(
            out,
            "{:<w0$}  {:<w1$}  {:>w2$}  {:>w3$}  {:>w4$}  {:>w5$}  {:>w6$}",
            line[0],
            line[1],
            line[2],
            line[3],
            line[4],
            line[5],
            line[6],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
            w4 = widths[4],
            w5 = widths[5],
            w6 = widths[6]
        )?;
    }
    Ok(())
}
