//! Execution reports computed before, served again for as long as nothing has been written.
//!
//! Every write appends an audit entry in its own transaction ([`audit::append`]), so the head
//! of the trail names the version of the data: a report kept with the head it was computed
//! after is still exact while the head is unchanged. A request reads the head (one row, by the
//! primary key) and either finds its report or computes it. This holds on any number of app
//! instances sharing one PostgreSQL database: each reads the head from the database, never
//! from memory.
//!
//! A write that commits between reading the head and computing the report makes the kept
//! report newer than its head, never older; the next request sees the new head and computes
//! again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use sea_orm::DatabaseConnection;

use crate::entity::plan;
use crate::error::Result;
use crate::service::audit;
use crate::service::reports::{self, Dimension, ExecutionReport, Filters};

/// At most this many reports are kept; when full, every report of an older head is dropped,
/// and if none is, all of them.
const CAPACITY: usize = 256;

type Key = (i32, Dimension, Filters);
type Head = Option<(i64, String)>;

/// The reports kept, managed as Rocket state.
#[derive(Default)]
pub struct ReportCache {
    kept: Mutex<HashMap<Key, (Head, Arc<ExecutionReport>)>>,
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
        let head = audit::head(db).await?;
        let key = (plan.id, dimension, filters);
        if let Some((kept_head, report)) = self.lock().get(&key)
            && *kept_head == head
        {
            return Ok(Arc::clone(report));
        }
        let report = Arc::new(reports::execution(db, plan, dimension, key.2.clone()).await?);
        let mut kept = self.lock();
        if kept.len() >= CAPACITY && !kept.contains_key(&key) {
            kept.retain(|_, (kept_head, _)| *kept_head == head);
            if kept.len() >= CAPACITY {
                kept.clear();
            }
        }
        kept.insert(key, (head, Arc::clone(&report)));
        Ok(report)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, (Head, Arc<ExecutionReport>)>> {
        // A panic while holding the lock leaves a map that is still whole.
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
