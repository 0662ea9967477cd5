//! Reports (execution and results) computed before, served again for as long as nothing has been written.
//!
//! Every write appends an audit entry in its own transaction ([`audit::append`]), so the head
//! of the trail names the version of the data: a report kept with the head it was computed
//! after is still exact while the head is unchanged. A request reads the head (one row, by the
//! primary key) and either finds its report or computes it. This holds on any number of app
//! instances sharing one PostgreSQL database: each reads the head from the database, never
//! from memory.
//!
//! Requests for the same report that arrive together while it is not kept compute it once:
//! the first computes, the others wait for its result.
//!
//! A write that commits between reading the head and computing the report makes the kept
//! report newer than its head, never older; the next request sees the new head and computes
//! again.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use sea_orm::DatabaseConnection;

use crate::entity::plan;
use crate::error::Result;
use crate::service::audit;
use crate::service::reports::{self, Dimension, ExecutionReport, Filters};
use crate::service::results::{self, ResultsReport};

/// At most this many reports are kept; when full, every report of an older head is dropped,
/// and if none is, all of them.
const CAPACITY: usize = 256;

/// Which report, of which plan (by id), with which parameters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    Execution(i32, Dimension, Filters),
    Results(i32, Option<i32>),
}

type Head = Option<(i64, String)>;
/// A kept report; its type follows from its key's variant.
type Kept = Arc<dyn Any + Send + Sync>;

/// A report and the head it was computed after, or, while it is being computed, the turn that
/// requests for it wait on.
#[derive(Default)]
struct Entry {
    kept: Option<(Head, Kept)>,
    /// Requests that miss together wait here for the first one's result instead of each
    /// computing the same report.
    turn: Arc<tokio::sync::Mutex<()>>,
}

/// The reports kept, managed as Rocket state.
#[derive(Default)]
pub struct ReportCache {
    entries: Mutex<HashMap<Key, Entry>>,
}

impl ReportCache {
    /// The execution report of `plan` by `dimension`: the one kept if nothing was written
    /// since it was computed, else computed (and kept).
    pub async fn execution(
        &self,
        db: &DatabaseConnection,
        plan: &plan::Model,
        dimension: Dimension,
        filters: Filters,
    ) -> Result<Arc<ExecutionReport>> {
        let key = Key::Execution(plan.id, dimension, filters.clone());
        self.kept_or(db, key, reports::execution(db, plan, dimension, filters))
            .await
    }

    /// The results report of `plan` (one fiscal year or all), kept like the execution report.
    pub async fn results(
        &self,
        db: &DatabaseConnection,
        plan: &plan::Model,
        fiscal_year: Option<i32>,
    ) -> Result<Arc<ResultsReport>> {
        let key = Key::Results(plan.id, fiscal_year);
        self.kept_or(db, key, results::results(db, plan, fiscal_year))
            .await
    }

    /// The report kept for `key` at the current head, or else `compute`'s, then kept.
    async fn kept_or<T: Any + Send + Sync>(
        &self,
        db: &DatabaseConnection,
        key: Key,
        compute: impl Future<Output = Result<T>>,
    ) -> Result<Arc<T>> {
        let head = audit::head(db).await?;
        let turn = match self.kept(&key, &head) {
            Ok(report) => return downcast(report),
            Err(turn) => turn,
        };
        let _turn = turn.lock().await;
        // Computed by the request this one waited for?
        let turn = match self.kept(&key, &head) {
            Ok(report) => return downcast(report),
            Err(turn) => turn,
        };
        let report = Arc::new(compute.await?);
        let mut entries = self.lock();
        if entries.len() >= CAPACITY && !entries.contains_key(&key) {
            entries.retain(|_, entry| entry.kept.as_ref().is_some_and(|(h, _)| *h == head));
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        let kept: Kept = report.clone();
        entries.insert(
            key,
            Entry {
                kept: Some((head, kept)),
                turn,
            },
        );
        Ok(report)
    }

    /// The report kept for `key` at `head`, or else the turn to wait on to compute it.
    fn kept(
        &self,
        key: &Key,
        head: &Head,
    ) -> std::result::Result<Kept, Arc<tokio::sync::Mutex<()>>> {
        let mut entries = self.lock();
        let entry = entries.entry(key.clone()).or_default();
        match &entry.kept {
            Some((kept_head, report)) if kept_head == head => Ok(Arc::clone(report)),
            _ => Err(Arc::clone(&entry.turn)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        // A panic while holding the lock leaves a map that is still whole.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A kept report as the type its key's variant names.
fn downcast<T: Any + Send + Sync>(report: Kept) -> Result<Arc<T>> {
    report
        .downcast::<T>()
        .map_err(|_| crate::error::Error::Internal("a kept report of another kind".to_owned()))
}
