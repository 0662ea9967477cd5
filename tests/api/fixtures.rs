//! A minimal plan written straight through the entities, for tests of the storage layer.

use chrono::{NaiveDate, Utc};
use naptrack::domain::{ActivityStatus, Currency, FundingSourceKind, InstitutionKind};
use naptrack::entity::{activity, budget_line, funding_source, institution, objective, plan};
use naptrack::money::Amount;
use sea_orm::{ActiveModelTrait, DatabaseConnection, Set};

pub fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

pub fn eur() -> Currency {
    "EUR".parse().unwrap()
}

/// The ids of a one-activity plan in EUR.
pub struct MiniPlan {
    pub institution_id: i32,
    pub funding_source_id: i32,
    pub plan_id: i32,
    pub objective_id: i32,
    pub activity_id: i32,
}

pub async fn mini_plan(db: &DatabaseConnection) -> MiniPlan {
    let institution = institution::ActiveModel {
        code: Set("MOJ".into()),
        name: Set("Ministry of Justice".into()),
        kind: Set(InstitutionKind::Government),
        iati_ref: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    let funding_source = funding_source::ActiveModel {
        code: Set("STATE".into()),
        name: Set("State budget".into()),
        donor_id: Set(None),
        kind: Set(FundingSourceKind::StateBudget),
        currency: Set(eur()),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    let plan = plan::ActiveModel {
        code: Set("NAP".into()),
        title: Set("Plan".into()),
        country: Set("XK".into()),
        currency: Set(eur()),
        start_date: Set(date("2015-01-01")),
        end_date: Set(date("2019-12-31")),
        fiscal_year_start_month: Set(1),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    let objective = objective::ActiveModel {
        plan_id: Set(plan.id),
        code: Set("PROT".into()),
        title: Set("Protection".into()),
        parent_id: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    let activity = activity::ActiveModel {
        plan_id: Set(plan.id),
        code: Set("PROT-01".into()),
        title: Set("Shelters".into()),
        objective_id: Set(objective.id),
        lead_institution_id: Set(institution.id),
        start_date: Set(date("2015-01-01")),
        end_date: Set(date("2019-12-31")),
        status: Set(ActivityStatus::Ongoing),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    MiniPlan {
        institution_id: institution.id,
        funding_source_id: funding_source.id,
        plan_id: plan.id,
        objective_id: objective.id,
        activity_id: activity.id,
    }
}

pub async fn budget_line(
    db: &DatabaseConnection,
    plan: &MiniPlan,
    code: &str,
    amount: Amount,
) -> Result<budget_line::Model, sea_orm::DbErr> {
    budget_line::ActiveModel {
        plan_id: Set(plan.plan_id),
        code: Set(code.into()),
        activity_id: Set(plan.activity_id),
        funding_source_id: Set(plan.funding_source_id),
        fiscal_year: Set(2016),
        category: Set("goods_and_services".into()),
        amount: Set(amount),
        currency: Set(eur()),
        obligation_id: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
}

pub fn now() -> chrono::DateTime<Utc> {
    Utc::now()
}
