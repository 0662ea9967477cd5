//! The records an import refers to by code, loaded once per import and kept current as the
//! import writes. Every kind except disbursements and commitments stays small (thousands of
//! rows at most), so holding them in memory makes reference checks free.
//!
//! Writes of one record at a time (the API) would load the whole catalog for every record;
//! [`CatalogCache`] keeps the catalog of the last such write for the next one instead, for as
//! long as the audit trail shows that nothing else was written in between.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use sea_orm::{DatabaseTransaction, EntityTrait};

use crate::entity::{
    activity, budget_line, exchange_rate, funding_source, indicator, indicator_value, institution,
    objective, obligation, plan,
};
use crate::error::Result;
use crate::service::audit;

/// Records keyed by plan id and code.
pub type PlanScoped<M> = HashMap<(i32, String), M>;

#[derive(Clone)]
pub struct Catalog {
    pub institutions: HashMap<String, institution::Model>,
    pub funding_sources: HashMap<String, funding_source::Model>,
    pub plans: HashMap<String, plan::Model>,
    pub objectives: PlanScoped<objective::Model>,
    pub activities: PlanScoped<activity::Model>,
    pub obligations: PlanScoped<obligation::Model>,
    pub budget_lines: PlanScoped<budget_line::Model>,
    /// Budget lines by id, for disbursements that reverse others.
    pub budget_line_codes: HashMap<i32, String>,
    pub exchange_rates: HashMap<(chrono::NaiveDate, String, String), exchange_rate::Model>,
    pub indicators: PlanScoped<indicator::Model>,
    /// Indicator values by indicator id and fiscal year.
    pub indicator_values: HashMap<(i32, i32), indicator_value::Model>,
}

impl Catalog {
    pub async fn load(txn: &DatabaseTransaction) -> Result<Catalog> {
        let institutions = institution::Entity::find().all(txn).await?;
        let funding_sources = funding_source::Entity::find().all(txn).await?;
        let plans = plan::Entity::find().all(txn).await?;
        let objectives = objective::Entity::find().all(txn).await?;
        let activities = activity::Entity::find().all(txn).await?;
        let obligations = obligation::Entity::find().all(txn).await?;
        let budget_lines = budget_line::Entity::find().all(txn).await?;
        let exchange_rates = exchange_rate::Entity::find().all(txn).await?;
        let indicators = indicator::Entity::find().all(txn).await?;
        let indicator_values = indicator_value::Entity::find().all(txn).await?;
        Ok(Catalog {
            institutions: institutions
                .into_iter()
                .map(|m| (m.code.clone(), m))
                .collect(),
            funding_sources: funding_sources
                .into_iter()
                .map(|m| (m.code.clone(), m))
                .collect(),
            plans: plans.into_iter().map(|m| (m.code.clone(), m)).collect(),
            objectives: objectives
                .into_iter()
                .map(|m| ((m.plan_id, m.code.clone()), m))
                .collect(),
            activities: activities
                .into_iter()
                .map(|m| ((m.plan_id, m.code.clone()), m))
                .collect(),
            obligations: obligations
                .into_iter()
                .map(|m| ((m.plan_id, m.code.clone()), m))
                .collect(),
            budget_line_codes: budget_lines
                .iter()
                .map(|m| (m.id, m.code.clone()))
                .collect(),
            budget_lines: budget_lines
                .into_iter()
                .map(|m| ((m.plan_id, m.code.clone()), m))
                .collect(),
            exchange_rates: exchange_rates
                .into_iter()
                .map(|m| {
                    (
                        (m.date, m.currency.to_string(), m.quote_currency.to_string()),
                        m,
                    )
                })
                .collect(),
            indicators: indicators
                .into_iter()
                .map(|m| ((m.plan_id, m.code.clone()), m))
                .collect(),
            indicator_values: indicator_values
                .into_iter()
                .map(|m| ((m.indicator_id, m.fiscal_year), m))
                .collect(),
        })
    }

    pub fn institution_by_id(&self, id: i32) -> Option<&institution::Model> {
        self.institutions.values().find(|i| i.id == id)
    }
}

/// A catalog as an import holds it: shared with [`CatalogCache`] until the import changes it,
/// when it becomes a copy of its own.
pub struct SharedCatalog(Arc<Catalog>);

impl SharedCatalog {
    /// The catalog loaded afresh, shared with nobody yet.
    pub async fn load(txn: &DatabaseTransaction) -> Result<SharedCatalog> {
        Ok(SharedCatalog(Arc::new(Catalog::load(txn).await?)))
    }
}

impl std::ops::Deref for SharedCatalog {
    type Target = Catalog;
    fn deref(&self) -> &Catalog {
        &self.0
    }
}

impl std::ops::DerefMut for SharedCatalog {
    fn deref_mut(&mut self) -> &mut Catalog {
        Arc::make_mut(&mut self.0)
    }
}

/// The head of the audit trail (sequence number and hash; none when it is empty).
type Head = Option<(i64, String)>;

/// A catalog and the head it is current at.
type Kept = Option<(Head, Arc<Catalog>)>;

/// The catalog as of a head of the audit trail, kept between writes of one record.
///
/// Every write appends an audit entry in its transaction, and a write transaction holds the
/// writers' lock (SQLite's single writer; the advisory lock on PostgreSQL) from its start: a
/// head read inside it shows exactly whether anything was written since the catalog was kept,
/// by this app instance or any other. A write that only added disbursements or commitments
/// leaves the catalog as it was, and the catalog is kept again at the head after its own entry.
/// A write that changed the catalog keeps its changed copy; a write that failed keeps nothing.
#[derive(Clone, Default)]
pub struct CatalogCache {
    kept: Arc<Mutex<Kept>>,
}

impl std::fmt::Debug for CatalogCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CatalogCache")
    }
}

impl CatalogCache {
    /// The catalog as `txn` sees it: the kept one if the audit trail has not moved since it
    /// was kept, else loaded afresh.
    pub async fn checkout(&self, txn: &DatabaseTransaction) -> Result<SharedCatalog> {
        let head = audit::head(txn).await?;
        if let Some((kept_head, catalog)) = self.lock().as_ref()
            && *kept_head == head
        {
            return Ok(SharedCatalog(Arc::clone(catalog)));
        }
        SharedCatalog::load(txn).await
    }

    /// Keeps `catalog` as of `head`; call it once the write that read it has committed.
    pub fn keep(&self, head: Head, catalog: SharedCatalog) {
        *self.lock() = Some((head, catalog.0));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        // A panic while holding the lock leaves a value that is still whole.
        self.kept.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
