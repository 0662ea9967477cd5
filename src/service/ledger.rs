//! Reversals: the only way to correct a recorded disbursement. The API and the web form both
//! come here, so a reversal means the same whichever way it is made.

use chrono::NaiveDate;

use crate::domain::IsoDate;
use crate::domain::records::RecordKind;
use crate::entity::plan;
use crate::error::{Error, FieldError, Result};
use crate::money::Amount;
use crate::service::import::{self, Expect, FieldValue, ImportOptions};
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
/// amount is taken as the part to take back. Made by [`ReversalRequest::parse`] only, so a
/// request always has a reason.
#[derive(Debug, Clone)]
pub struct ReversalRequest {
    reason: String,
    amount: Option<Amount>,
    reference: Option<String>,
    date: Option<NaiveDate>,
}

impl ReversalRequest {
    /// Reads a reversal request from the texts of a form or a JSON body, collecting every
    /// problem; an empty amount, reference or date is left out. The rules of the reversal
    /// itself (not zero, not more than remains, not before the original) are the importer's,
    /// checked when it is written.
    pub fn parse(
        reason: &str,
        amount: &str,
        reference: &str,
        date: &str,
    ) -> std::result::Result<ReversalRequest, Vec<FieldError>> {
        let mut errors = Vec::new();
        let amount = match amount {
            "" => None,
            text => Amount::parse(text)
                .map_err(|e| errors.push(FieldError::new("amount", e.to_string())))
                .ok(),
        };
        let date = match date {
            "" => None,
            text => IsoDate::parse(text)
                .map(NaiveDate::from)
                .map_err(|e| errors.push(FieldError::new("date", e.to_string())))
                .ok(),
        };
        if reason.trim().is_empty() {
            errors.push(FieldError::new(
                "reason",
                "say why the disbursement is reversed",
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ReversalRequest {
            reason: reason.trim().to_owned(),
            amount,
            reference: Some(reference.to_owned()).filter(|r| !r.is_empty()),
            date,
        })
    }
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

/// Records a reversal of the disbursement `reference`, written with `options` (the caller's:
/// who records it and what they may write), and returns it as stored.
///
/// The reversal goes on the original's budget line, in its currency, to its payee, with the
/// reason as its description; the import rules then check it as they check a reversal in a
/// file: that it is not zero, not dated before the original, and that the reversals never
/// exceed it (the check and the write are one write
/// transaction, so two concurrent reversals cannot both pass).
pub async fn reverse(
    db: &sea_orm::DatabaseConnection,
    plan: &plan::Model,
    reference: &str,
    request: ReversalRequest,
    options: ImportOptions,
) -> Result<Record> {
    let Reversible {
        original,
        remaining,
        reversals,
    } = reversible(db, plan, reference).await?;
    // A zero amount goes to the importer as it is, which refuses it.
    let amount = match request.amount {
        Some(amount) if amount.is_negative() || amount.is_zero() => amount,
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
    let cell_text = |column: &str| match original.get(column) {
        Some(Cell::Text(text)) => text.clone(),
        Some(Cell::Empty) | None => String::new(),
        Some(other) => other.csv_text().into_owned(),
    };
    let date = request
        .date
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    let text = |value: String| FieldValue::from(value);
    let fields = vec![
        ("plan_code".to_owned(), text(plan.code.clone())),
        ("reference".to_owned(), text(new_reference.clone())),
        (
            "budget_line_code".to_owned(),
            text(cell_text("budget_line_code")),
        ),
        ("date".to_owned(), FieldValue::Date(date)),
        ("amount".to_owned(), FieldValue::Amount(amount)),
        ("currency".to_owned(), text(cell_text("currency"))),
        ("payee_code".to_owned(), text(cell_text("payee_code"))),
        ("description".to_owned(), text(request.reason)),
        ("reverses".to_owned(), text(reference.to_owned())),
    ];
    let options = ImportOptions {
        plan: Some(plan.code.clone()),
        expect: Expect::New,
        ..options
    };
    import::write_record(db, RecordKind::Disbursements, &fields, &options).await?;
    let mut stored = Query::all(RecordKind::Disbursements, Some(plan.id));
    stored.filter("reference", &new_reference)?;
    records::fetch(db, &stored)
        .await?
        .pop()
        .ok_or_else(|| Error::Internal("the reversal was not stored".to_owned()))
}
