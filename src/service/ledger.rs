//! Reversals: the only way to correct a recorded disbursement. The API and the web form both
//! come here, so a reversal means the same whichever way it is made.

use chrono::NaiveDate;

use crate::domain::records::RecordKind;
use crate::entity::plan;
use crate::error::{Error, FieldError, Result};
use crate::money::Amount;
use crate::service::import::{self, Expect, ImportOptions};
use crate::service::records::{self, Cell, Query, Record};

/// A disbursement and what is left of it to reverse.
#[derive(Debug, Clone)]
pub struct Reversible {
    pub original: Record,
    /// The amount paid less everything reversed so far.
    pub remaining: Amount,
    /// How many reversals it has.
    pub reversals: usize,
}

/// What a reversal asks for. Without an amount the whole remainder is reversed; a positive
/// amount is taken as the part to take back.
#[derive(Debug, Clone, Default)]
pub struct ReversalRequest {
    pub reason: String,
    pub amount: Option<Amount>,
    pub reference: Option<String>,
    pub date: Option<NaiveDate>,
}

/// Who records a reversal.
pub struct Recorder<'a> {
    pub actor: &'a str,
    pub user_id: Option<i32>,
}

fn amount_of(record: &Record) -> Option<Amount> {
    match record.get("amount") {
        Some(Cell::Amount(amount)) => Some(*amount),
        _ => None,
    }
}

/// The disbursement `reference` of `plan`, with what remains of it; 404 when there is none.
pub async fn reversible(
    db: &sea_orm::DatabaseConnection,
    plan: &plan::Model,
    reference: &str,
) -> Result<Reversible> {
    let mut query = Query::all(RecordKind::Disbursements, Some(plan.id));
    query.filter("reference", reference)?;
    let original = records::fetch(db, &query).await?.pop().ok_or_else(|| {
        Error::NotFound(format!(
            "there is no disbursement {reference} in plan {}",
            plan.code
        ))
    })?;
    let mut earlier = Query::all(RecordKind::Disbursements, Some(plan.id));
    earlier.filter("reverses", reference)?;
    let earlier = records::fetch(db, &earlier).await?;
    let reversed = Amount::checked_sum(earlier.iter().filter_map(amount_of))
        .map_err(|e| Error::Internal(e.to_string()))?;
    let paid = amount_of(&original)
        .ok_or_else(|| Error::Internal("a disbursement without an amount".to_owned()))?;
    let remaining = paid
        .checked_add(reversed)
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(Reversible {
        original,
        remaining,
        reversals: earlier.len(),
    })
}

/// Records a reversal of the disbursement `reference` and returns it as stored.
///
/// The reversal goes on the original's budget line, in its currency, to its payee, with the
/// reason as its description; the import rules then check that it is not dated before the
/// original and that the reversals never exceed it (the check and the write are one write
/// transaction, so two concurrent reversals cannot both pass).
pub async fn reverse(
    db: &sea_orm::DatabaseConnection,
    plan: &plan::Model,
    reference: &str,
    request: ReversalRequest,
    recorder: Recorder<'_>,
) -> Result<Record> {
    if request.reason.trim().is_empty() {
        return Err(Error::invalid(
            "the reversal is not valid",
            vec![FieldError::new(
                "reason",
                "say why the disbursement is reversed",
            )],
        ));
    }
    let Reversible {
        original,
        remaining,
        reversals,
    } = reversible(db, plan, reference).await?;
    let amount = match request.amount {
        Some(amount) if amount.is_zero() => {
            return Err(Error::invalid(
                "the reversal is not valid",
                vec![FieldError::new(
                    "amount",
                    "a reversal of zero reverses nothing",
                )],
            ));
        }
        Some(amount) if amount.is_negative() => amount,
        Some(amount) => amount.negated(),
        None if remaining.is_positive() => remaining.negated(),
        None => {
            return Err(Error::Conflict(format!(
                "disbursement {reference} is already fully reversed"
            )));
        }
    };
    let new_reference = request
        .reference
        .unwrap_or_else(|| format!("{reference}-R{}", reversals + 1));
    let text = |column: &str| match original.get(column) {
        Some(Cell::Text(text)) => text.clone(),
        Some(Cell::Empty) | None => String::new(),
        Some(other) => other.csv_text().into_owned(),
    };
    let date = request
        .date
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    let fields = vec![
        ("plan_code".to_owned(), plan.code.clone()),
        ("reference".to_owned(), new_reference.clone()),
        ("budget_line_code".to_owned(), text("budget_line_code")),
        ("date".to_owned(), date.format("%Y-%m-%d").to_string()),
        ("amount".to_owned(), amount.to_string()),
        ("currency".to_owned(), text("currency")),
        ("payee_code".to_owned(), text("payee_code")),
        ("description".to_owned(), request.reason.trim().to_owned()),
        ("reverses".to_owned(), reference.to_owned()),
    ];
    let options = ImportOptions {
        plan: Some(plan.code.clone()),
        actor: recorder.actor.to_owned(),
        expect: Expect::New,
        recorded_by: recorder.user_id,
        ..ImportOptions::default()
    };
    import::write_record(db, RecordKind::Disbursements, &fields, &options).await?;
    let mut stored = Query::all(RecordKind::Disbursements, Some(plan.id));
    stored.filter("reference", &new_reference)?;
    records::fetch(db, &stored)
        .await?
        .pop()
        .ok_or_else(|| Error::Internal("the reversal was not stored".to_owned()))
}
