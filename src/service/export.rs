//! Exporting the records of one kind as the contract's CSV file.
//!
//! Records are read through [`records`], so each reference comes out as the referenced
//! record's code rather than a surrogate id, and the rows are written to the output one by one
//! as the database returns them: a plan with a million disbursements never sits in memory. The bytes are a function of the stored data alone
//! (byte-wise key order, canonical money text), so export → import → export reproduces the
//! same file on SQLite and on PostgreSQL.

use futures_util::TryStreamExt;
use sea_orm::DatabaseConnection;

use crate::domain::records::RecordKind;
use crate::error::Result;
use crate::service::plans::resolve_plan;
use crate::service::records::{self, Query};

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
///   through [`crate::domain::records::guard_formula`].
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
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(out);
    writer
        .write_record(kind.columns().iter().map(|column| column.name))
        .map_err(std::io::Error::from)?;
    let mut rows = records::stream(db, &Query::all(kind, plan_id)).await?;
    let mut count: u64 = 0;
    while let Some(record) = rows.try_next().await? {
        writer
            .write_record(record.cells.iter().map(|cell| cell.csv_text().into_owned()))
            .map_err(std::io::Error::from)?;
        count += 1;
    }
    writer.flush()?;
    Ok(count)
}
