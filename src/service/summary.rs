//! Plan summaries for the home page: each plan with its money totals.

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, QueryOrder, Statement};

use crate::db::exact_sum_sql;
use crate::entity::plan;
use crate::error::Result;
use crate::money::Amount;

/// Totals in each currency the records were made in (conversion to the plan's currency is
/// the reports' job).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CurrencyTotals(pub BTreeMap<String, Amount>);

#[derive(Debug, Clone)]
pub struct PlanSummary {
    pub plan: plan::Model,
    pub allocated: CurrencyTotals,
    pub committed: CurrencyTotals,
    pub disbursed: CurrencyTotals,
}

/// Every plan, by code, with its allocated, committed and disbursed totals per currency,
/// each summed exactly by the database.
pub async fn plan_summaries(db: &DatabaseConnection) -> Result<Vec<PlanSummary>> {
    let plans = plan::Entity::find()
        .order_by_asc(plan::Column::Code)
        .all(db)
        .await?;
    let allocated = totals_by_plan(db, "budget_lines").await?;
    let committed = totals_by_plan(db, "commitments").await?;
    let disbursed = totals_by_plan(db, "disbursements").await?;
    Ok(plans
        .into_iter()
        .map(|plan| PlanSummary {
            allocated: allocated.get(&plan.id).cloned().unwrap_or_default(),
            committed: committed.get(&plan.id).cloned().unwrap_or_default(),
            disbursed: disbursed.get(&plan.id).cloned().unwrap_or_default(),
            plan,
        })
        .collect())
}

async fn totals_by_plan(
    db: &DatabaseConnection,
    table: &'static str,
) -> Result<BTreeMap<i32, CurrencyTotals>> {
    let sql = format!(
        "SELECT plan_id, currency, {} AS total FROM {table} GROUP BY plan_id, currency",
        exact_sum_sql("amount")
    );
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    let mut totals: BTreeMap<i32, CurrencyTotals> = BTreeMap::new();
    for row in rows {
        let plan_id: i32 = row.try_get("", "plan_id")?;
        let currency: String = row.try_get("", "currency")?;
        let total: Amount = row.try_get("", "total")?;
        totals.entry(plan_id).or_default().0.insert(currency, total);
    }
    Ok(totals)
}
