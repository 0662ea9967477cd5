//! A minimal plan written straight through the entities, for tests of the storage layer.

use chrono::{NaiveDate, Utc};
use naptrack::domain::{ActivityStatus, Currency, FundingSourceKind, InstitutionKind};
use naptrack::entity::{
    activity, budget_line, disbursement, funding_source, institution, objective, plan,
};
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

/// An institution of `kind` with no IATI reference.
pub async fn institution(
    db: &DatabaseConnection,
    code: &str,
    kind: InstitutionKind,
) -> institution::Model {
    institution::ActiveModel {
        code: Set(code.into()),
        name: Set(format!("Institution {code}")),
        kind: Set(kind),
        iati_ref: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
}

/// Another one-activity plan in EUR, sharing the institution and funding source of `base`
/// (whose codes are unique across plans) and reusing the objective and activity codes (which
/// are unique only within a plan).
pub async fn another_plan(db: &DatabaseConnection, base: &MiniPlan, code: &str) -> MiniPlan {
    let plan = plan::ActiveModel {
        code: Set(code.into()),
        title: Set(format!("Plan {code}")),
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
        lead_institution_id: Set(base.institution_id),
        start_date: Set(date("2015-01-01")),
        end_date: Set(date("2019-12-31")),
        status: Set(ActivityStatus::Ongoing),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap();
    MiniPlan {
        institution_id: base.institution_id,
        funding_source_id: base.funding_source_id,
        plan_id: plan.id,
        objective_id: objective.id,
        activity_id: activity.id,
    }
}

/// An unsaved disbursement of `amount` on `line`, dated 2016-03-01, with no payee or
/// description; set more fields before inserting it. Disbursements are append-only, so every
/// field must be right at insertion.
pub fn new_disbursement(
    line: &budget_line::Model,
    reference: &str,
    amount: Amount,
) -> disbursement::ActiveModel {
    disbursement::ActiveModel {
        plan_id: Set(line.plan_id),
        reference: Set(reference.into()),
        budget_line_id: Set(line.id),
        date: Set(date("2016-03-01")),
        amount: Set(amount),
        currency: Set(line.currency),
        payee_id: Set(None),
        description: Set(None),
        reverses_id: Set(None),
        recorded_at: Set(now()),
        recorded_by: Set(None),
        ..Default::default()
    }
}

/// An unsaved reversal that takes `amount` (given as a positive amount) back from `original`,
/// on the same budget line, dated 2016-04-01.
pub fn new_reversal(
    original: &disbursement::Model,
    reference: &str,
    amount: Amount,
) -> disbursement::ActiveModel {
    disbursement::ActiveModel {
        plan_id: Set(original.plan_id),
        reference: Set(reference.into()),
        budget_line_id: Set(original.budget_line_id),
        date: Set(date("2016-04-01")),
        amount: Set(amount.negated()),
        currency: Set(original.currency),
        payee_id: Set(None),
        description: Set(None),
        reverses_id: Set(Some(original.id)),
        recorded_at: Set(now()),
        recorded_by: Set(None),
        ..Default::default()
    }
}
