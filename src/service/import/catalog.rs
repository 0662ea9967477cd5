//! The records an import refers to by code, loaded once per import and kept current as the
//! import writes. Every kind except disbursements and commitments stays small (thousands of
//! rows at most), so holding them in memory makes reference checks free.

use std::collections::HashMap;

use sea_orm::{DatabaseTransaction, EntityTrait};

use crate::entity::{
    activity, budget_line, exchange_rate, funding_source, institution, objective, obligation, plan,
};
use crate::error::Result;

/// Records keyed by plan id and code.
pub type PlanScoped<M> = HashMap<(i32, String), M>;

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
        })
    }

    pub fn institution_by_id(&self, id: i32) -> Option<&institution::Model> {
        self.institutions.values().find(|i| i.id == id)
    }
}
