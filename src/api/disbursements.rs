//! Reversals: the only way to correct a recorded disbursement.

use rocket::data::{Data, Limits};
use rocket::http::Status;
use rocket::{State, post};
use sea_orm::DatabaseConnection;

use super::{
    IdempotencyKey, JsonResponse, QueryParams, idempotent, read_body, record_fields, without_lines,
};
use crate::auth::Writer;
use crate::error::{Error, FieldError, Result};
use crate::service::ledger::{self, ReversalRequest};
use crate::service::plans::resolve_plan;

/// The reversal a JSON body asks for; unknown fields are reported with every other problem.
fn parse_request(body: &[u8]) -> Result<ReversalRequest> {
    let mut errors = Vec::new();
    let (mut reason, mut amount, mut reference, mut date) =
        (String::new(), String::new(), String::new(), String::new());
    for (name, value) in record_fields(body)? {
        match name.as_str() {
            "reason" => reason = value,
            "amount" => amount = value,
            "reference" => reference = value,
            "date" => date = value,
            other => errors.push(FieldError::new(
                other,
                "unknown field; a reversal takes reason, and optionally amount, reference and date",
            )),
        }
    }
    match ReversalRequest::parse(&reason, &amount, &reference, &date) {
        Ok(request) if errors.is_empty() => Ok(request),
        Ok(_) => Err(Error::invalid("the reversal request is not valid", errors)),
        Err(more) => {
            errors.extend(more);
            Err(Error::invalid("the reversal request is not valid", errors))
        }
    }
}

/// `POST /api/v1/disbursements/{reference}/reversal`: records a reversal of the disbursement
/// `reference`, of its whole remaining amount or of `amount`, with a required `reason`
/// (stored as the reversal's description). 201 with the reversal as stored.
#[utoipa::path(
    post,
    path = "/api/v1/disbursements/{reference}/reversal",
    summary = "Reverse a disbursement, wholly or in part, with a reason",
    params(("reference" = String, Path, description = "The disbursement to reverse."), crate::api::openapi::params::PlanQuery),
    request_body(content = crate::api::openapi::schema::ReversalInput, content_type = "application/json"),
    security(("bearer" = ["admin", "recorder"])),
    responses(
        (status = 201, description = "Created", body = ref("#/components/schemas/Disbursements")),
        (status = 400, description = "Bad Request", body = crate::api::openapi::schema::ErrorBody),
        (status = 404, description = "Not Found", body = crate::api::openapi::schema::ErrorBody),
        (status = 409, description = "Conflict", body = crate::api::openapi::schema::ErrorBody),
        (status = 413, description = "Payload Too Large", body = crate::api::openapi::schema::ErrorBody),
        (status = 422, description = "Unprocessable Entity", body = crate::api::openapi::schema::ErrorBody),
    )
)]
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
        let options = caller.0.import_options();
        let record = ledger::reverse(db, &plan, reference, request, options)
            .await
            .map_err(without_lines)?;
        Ok(JsonResponse::new(Status::Created, &record.to_json()))
    })
    .await
}
