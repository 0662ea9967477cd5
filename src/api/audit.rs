//! The audit trail, for auditors and admins.

use rocket::http::Status;
use rocket::serde::json::json;
use rocket::{State, get};
use sea_orm::DatabaseConnection;

use super::{JsonResponse, QueryParams};
use crate::auth::AuditReader;
use crate::error::{Error, Result};
use crate::service::audit::{self, AuditFilter, AuditOrder, AuditPage};

/// `GET /api/v1/audit`: entries in sequence order, filtered by `actor`, `action`, `entity`,
/// `key`, `from` and `to` (dates of `recorded_at`), paged with `limit` and `offset`.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    summary = "Audit trail entries in sequence order",
    params(crate::api::openapi::params::AuditQuery),
    security(("bearer" = ["admin", "auditor"])),
    responses(
        (status = 200, description = "OK", body = crate::api::openapi::schema::AuditPage),
        (status = 400, description = "Bad Request", body = crate::api::openapi::schema::ErrorBody),
    )
)]
#[get("/audit")]
pub async fn get_audit(
    db: &State<DatabaseConnection>,
    _caller: AuditReader,
    mut params: QueryParams,
) -> Result<JsonResponse> {
    let filter = AuditFilter {
        actor: params.take("actor"),
        action: params.take("action"),
        entity: params.take("entity"),
        key: params.take("key"),
        from: params.take_date("from")?,
        to: params.take_date("to")?,
        ..AuditFilter::default()
    };
    let limit = params.take_u64("limit")?.unwrap_or(100);
    if limit == 0 || limit > 1000 {
        return Err(Error::BadRequest("limit must be from 1 to 1000".to_owned()));
    }
    let offset = params.take_u64("offset")?.unwrap_or(0);
    params.finish()?;
    let AuditPage { total, entries } =
        audit::entries(db.inner(), &filter, AuditOrder::OldestFirst, limit, offset).await?;
    let items: Vec<_> = entries
        .into_iter()
        .map(|e| {
            let details: serde_json::Value = serde_json::from_str(&e.details)
                .unwrap_or(serde_json::Value::String(e.details.clone()));
            json!({
                "sequence": e.id,
                "recorded_at": e.recorded_at,
                "actor": e.actor,
                "action": e.action,
                "entity": e.entity,
                "key": e.entity_key,
                "details": details,
                "prev_hash": e.prev_hash,
                "hash": e.hash,
            })
        })
        .collect();
    Ok(JsonResponse::new(
        Status::Ok,
        &json!({ "items": items, "total": total, "limit": limit, "offset": offset }),
    ))
}

/// `GET /api/v1/audit/verification`: checks the whole chain, as `naptrack audit verify` does.
#[utoipa::path(
    get,
    path = "/api/v1/audit/verification",
    summary = "Check the audit trail's hash chain",
    security(("bearer" = ["admin", "auditor"])),
    responses((status = 200, description = "OK", body = crate::service::audit::Verification))
)]
#[get("/audit/verification")]
pub async fn get_audit_verification(
    db: &State<DatabaseConnection>,
    _caller: AuditReader,
) -> Result<JsonResponse> {
    let verification = audit::verify(db.inner()).await?;
    let value = serde_json::to_value(&verification).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(JsonResponse::new(Status::Ok, &value))
}
