//! Reversals: the only way to correct a recorded disbursement.

use rocket::data::{Data, Limits};
use rocket::http::Status;
use rocket::{State, post};
use sea_orm::DatabaseConnection;

use super::{
    IdempotencyKey, JsonResponse, QueryParams, idempotent, read_body, record_fields, without_lines,
};
use crate::auth::Writer;
use crate::domain::records::RecordKind;
use crate::error::{Error, FieldError, Result};
use crate::money::Amount;
use crate::service::import::{self, Expect, ImportOptions};
use crate::service::plans::resolve_plan;
use crate::service::records::{self, Cell, Query};

/// The fields a reversal request may carry.
struct ReversalRequest {
    reason: String,
    amount: Option<Amount>,
    reference: Option<String>,
    date: Option<chrono::NaiveDate>,
}

fn parse_request(body: &[u8]) -> Result<ReversalRequest> {
    let mut errors = Vec::new();
    let mut request = ReversalRequest {
        reason: String::new(),
        amount: None,
        reference: None,
        date: None,
    };
    for (name, value) in record_fields(body)? {
        match name.as_str() {
            "reason" => request.reason = value,
            "amount" if value.is_empty() => {}
            "amount" => match Amount::parse(&value) {
                Ok(amount) if !amount.is_zero() => request.amount = Some(amount),
                Ok(_) => errors.push(FieldError::new(
                    "amount",
                    "a reversal of zero reverses nothing",
                )),
                Err(e) => errors.push(FieldError::new("amount", e.to_string())),
            },
            "reference" if !value.is_empty() => request.reference = Some(value),
            "reference" => {}
            "date" if value.is_empty() => {}
            "date" => match chrono::NaiveDate::parse_from_str(&value, "%Y-%m-%d") {
                Ok(date) => request.date = Some(date),
                Err(_) => errors.push(FieldError::new(
                    "date",
                    format!("\"{value}\" is not a date (YYYY-MM-DD)"),
                )),
            },
            other => errors.push(FieldError::new(
                other,
                "unknown field; a reversal takes reason, and optionally amount, reference and date",
            )),
        }
    }
    if request.reason.trim().is_empty() {
        errors.push(FieldError::new(
            "reason",
            "say why the disbursement is reversed",
        ));
    }
    if errors.is_empty() {
        Ok(request)
    } else {
        Err(Error::invalid("the reversal request is not valid", errors))
    }
}

/// `POST /api/v1/disbursements/{reference}/reversal`: records a reversal of the disbursement
/// `reference`, of its whole remaining amount or of `amount`, with a required `reason`
/// (stored as the reversal's description). 201 with the reversal as stored.
#[post("/disbursements/<reference>/reversal", data = "<body>")]
pub async fn post_reversal(
    db: &State<DatabaseConnection>,
    limits: &Limits,
    caller: Writer,
    key: IdempotencyKey,
    reference: &str,
    mut params: QueryParams,
    body: Data<'_>,
) -> Result<JsonResponse> {
    let plan = params.take("plan");
    params.finish()?;
    let bytes = read_body(body, limits, "json").await?;
    let path = format!("/api/v1/disbursements/{reference}/reversal");
    idempotent(db, &caller.0, &key, ("POST", &path, &bytes), || async {
        let request = parse_request(&bytes)?;
        let plan = resolve_plan(db.inner(), plan.as_deref()).await?;
        let mut query = Query::all(RecordKind::Disbursements, Some(plan.id));
        query.filter("reference", reference)?;
        let original = records::fetch(db.inner(), &query)
            .await?
            .pop()
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "there is no disbursement {reference} in plan {}",
                    plan.code
                ))
            })?;
        let mut reversals = Query::all(RecordKind::Disbursements, Some(plan.id));
        reversals.filter("reverses", reference)?;
        let earlier = records::fetch(db.inner(), &reversals).await?;
        let reversed = Amount::checked_sum(earlier.iter().filter_map(|r| match r.get("amount") {
            Some(Cell::Amount(amount)) => Some(*amount),
            _ => None,
        }))
        .map_err(|e| Error::Internal(e.to_string()))?;
        let Some(Cell::Amount(paid)) = original.get("amount") else {
            return Err(Error::Internal(
                "a disbursement without an amount".to_owned(),
            ));
        };
        let remaining = paid
            .checked_add(reversed)
            .map_err(|e| Error::Internal(e.to_string()))?;
        let amount = match request.amount {
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
            .unwrap_or_else(|| format!("{reference}-R{}", earlier.len() + 1));
        let text = |column: &str| {
            original.get(column).map(|cell| match cell {
                Cell::Text(text) => text.clone(),
                Cell::Empty => String::new(),
                other => other.csv_text().into_owned(),
            })
        };
        let date = request
            .date
            .unwrap_or_else(|| chrono::Utc::now().date_naive());
        let fields = vec![
            ("plan_code".to_owned(), plan.code.clone()),
            ("reference".to_owned(), new_reference.clone()),
            (
                "budget_line_code".to_owned(),
                text("budget_line_code").unwrap_or_default(),
            ),
            ("date".to_owned(), date.format("%Y-%m-%d").to_string()),
            ("amount".to_owned(), amount.to_string()),
            ("currency".to_owned(), text("currency").unwrap_or_default()),
            (
                "payee_code".to_owned(),
                text("payee_code").unwrap_or_default(),
            ),
            ("description".to_owned(), request.reason.clone()),
            ("reverses".to_owned(), reference.to_owned()),
        ];
        let options = ImportOptions {
            plan: Some(plan.code.clone()),
            actor: caller.0.actor(),
            expect: Expect::New,
            recorded_by: Some(caller.0.user_id),
            ..ImportOptions::default()
        };
        import::write_record(db, RecordKind::Disbursements, &fields, &options)
            .await
            .map_err(without_lines)?;
        let mut stored = Query::all(RecordKind::Disbursements, Some(plan.id));
        stored.filter("reference", &new_reference)?;
        let record = records::fetch(db.inner(), &stored)
            .await?
            .pop()
            .ok_or_else(|| Error::Internal("the reversal was not stored".to_owned()))?;
        Ok(JsonResponse::new(Status::Created, &record.to_json()))
    })
    .await
}
