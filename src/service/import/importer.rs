//! The one trait every record kind's importer implements, the row-by-row loop most kinds
//! share, and the create-update-or-leave step that writes their records.

use std::io::Read;

use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, DatabaseTransaction, EntityName, EntityTrait,
    IdenStatic, IntoActiveModel, Iterable, PrimaryKeyToColumn,
};

use super::cells::Cells;
use super::context::{FileContext, Rows};
use super::options::Expect;
use super::report::Outcome;
use crate::error::{Error, Result};

/// The rows of one record kind: how the cells of a row become a typed record, checked by
/// every rule of the contract that the row and the catalog can tell, and how a record is
/// written. The columns a kind reads are its `RecordKind::columns()`.
///
/// The same rules hold for a file, a form and a JSON body: all of them come here as [`Rows`].
pub trait RecordImporter: Default + Send {
    /// What one valid row becomes.
    type Record: Send;

    /// Reads the cells of one row into a record; `None` when a cell is missing or breaks a
    /// rule, each such problem recorded in `cells`. Records the row's key in `ctx.seen`, so
    /// that a key repeated in the file is an error.
    fn parse(&mut self, ctx: &mut FileContext<'_>, cells: &mut Cells<'_>) -> Option<Self::Record>;

    /// Writes one valid record (creates it, updates it, or leaves it as it stands) and counts
    /// it in the report.
    fn write(
        &mut self,
        ctx: &mut FileContext<'_>,
        record: Self::Record,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Runs once every row is written: checks that need the whole file.
    fn finish(self, _ctx: &mut FileContext<'_>) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// Reads every row and writes the valid ones, one by one.
    fn import_rows<R: Read + Send>(
        mut self,
        ctx: &mut FileContext<'_>,
        rows: &mut Rows<'_, R>,
    ) -> impl Future<Output = Result<()>> + Send {
        async move {
            while let Some(mut cells) = rows.next(ctx) {
                match self.parse(ctx, &mut cells) {
                    Some(record) if cells.errors.is_empty() => self.write(ctx, record).await?,
                    _ => ctx.reject(cells.errors),
                }
            }
            self.finish(ctx).await
        }
    }
}

/// Creates `candidate`, or, when a record with its key `existing`ly stands, updates it to
/// `candidate` when some column differs and leaves it alone when none does; counts what it
/// did in the report and returns the record as stored.
///
/// `candidate` sets every column but the primary key, so comparing column by column says
/// exactly whether the row changes anything.
pub async fn upsert<A>(
    ctx: &mut FileContext<'_>,
    existing: Option<<A::Entity as EntityTrait>::Model>,
    candidate: A,
) -> Result<<A::Entity as EntityTrait>::Model>
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    let (model, outcome) = upsert_in(ctx.txn, ctx.options.expect, existing, candidate).await?;
    ctx.report.count(outcome);
    Ok(model)
}

async fn upsert_in<A>(
    txn: &DatabaseTransaction,
    expect: Expect,
    existing: Option<<A::Entity as EntityTrait>::Model>,
    mut candidate: A,
) -> Result<(<A::Entity as EntityTrait>::Model, Outcome)>
where
    A: ActiveModelTrait + ActiveModelBehavior + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    let table = <A::Entity as Default>::default()
        .table_name()
        .replace('_', " ");
    match (&existing, expect) {
        (Some(_), Expect::New) => {
            return Err(Error::Conflict(format!(
                "this record of {table} already exists"
            )));
        }
        (None, Expect::Existing) => {
            return Err(Error::NotFound(format!(
                "there is no such record of {table}"
            )));
        }
        _ => {}
    }
    let Some(existing) = existing else {
        return Ok((candidate.insert(txn).await?, Outcome::Created));
    };
    let stored = existing.clone().into_active_model();
    let keys: Vec<_> = <A::Entity as EntityTrait>::PrimaryKey::iter()
        .map(|key| key.into_column())
        .collect();
    let mut changed = false;
    for column in <A::Entity as EntityTrait>::Column::iter() {
        let stored_value = stored.get(column).into_value();
        if keys.iter().any(|key| key.as_str() == column.as_str()) {
            if let Some(value) = stored_value {
                candidate.set(column, value);
            }
        } else if candidate.get(column).into_value() != stored_value {
            changed = true;
        }
    }
    if !changed {
        return Ok((existing, Outcome::Unchanged));
    }
    for key in keys {
        // The key identifies the row to update; it is not itself a change.
        candidate.reset(key);
    }
    Ok((candidate.update(txn).await?, Outcome::Updated))
}

/// A record to store, with the key its kind's catalog finds it under.
pub struct Keyed<K, A> {
    pub key: K,
    pub model: A,
}
