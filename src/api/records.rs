//! List, get, create and update records of every kind. Creating and updating go through the
//! import service's importers, as the one row of a file would, so every rule of a CSV import
//! holds for the API too.
//! Recorded disbursements are never updated or deleted: those routes answer 405.

use rocket::data::{Data, Limits};
use rocket::http::Status;
use rocket::serde::json::{Value, json};
use rocket::{State, delete, get, patch, post, put};
use sea_orm::DatabaseConnection;

use super::{
    IdempotencyKey, JsonResponse, KindParam, QueryParams, idempotent, read_body, record_fields,
    without_lines,
};
use crate::auth::{Reader, Writer};
use crate::domain::records::RecordKind;
use crate::error::{Error, FieldError, Result};
use crate::service::import::{self, CatalogCache, Expect, ImportOptions};
use crate::service::plans::resolve_plan;
use crate::service::records::{self, Query, key_columns};

/// The most records one page holds.
pub const MAX_PAGE: u64 = 1000;
/// The records a page holds when `limit` is not given.
pub const DEFAULT_PAGE: u64 = 100;

/// The plan id a query on `kind` needs: plan-scoped kinds always have one (`?plan=` or the
/// only plan); `plans` only when one is named.
async fn plan_id(
    db: &DatabaseConnection,
    kind: RecordKind,
    plan: Option<&str>,
) -> Result<Option<i32>> {
    if kind.is_plan_scoped() || (kind == RecordKind::Plans && plan.is_some()) {
        Ok(Some(resolve_plan(db, plan).await?.id))
    } else {
        Ok(None)
    }
}

/// `GET /api/v1/{kind}`: a page of records in key order, filtered by any contract column
/// (`?activity_code=PREV-01`) and, for dated kinds, by `from` and `to`.
#[get("/<kind>", rank = 10)]
pub async fn list_records(
    db: &State<DatabaseConnection>,
    kind: KindParam,
    caller: Result<Reader, Error>,
    mut params: QueryParams,
) -> Result<JsonResponse> {
    let kind = kind.kind()?;
    caller?;
    let plan = params.take("plan");
    let limit = params.take_u64("limit")?.unwrap_or(DEFAULT_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(Error::BadRequest(format!(
            "limit must be from 1 to {MAX_PAGE}"
        )));
    }
    let offset = params.take_u64("offset")?.unwrap_or(0);
    let mut query = Query::all(kind, plan_id(db, kind, plan.as_deref()).await?);
    query.from = params.take_date("from")?;
    query.to = params.take_date("to")?;
    for column in kind.columns().iter().filter(|c| c.name != "plan_code") {
        if let Some(value) = params.take(column.name) {
            query.filter(column.name, &value)?;
        }
    }
    params.finish()?;
    let total = records::count(db.inner(), &query).await?;
    query.limit = Some(limit);
    query.offset = offset;
    let items: Vec<Value> = records::fetch(db.inner(), &query)
        .await?
        .iter()
        .map(|record| record.to_json())
        .collect();
    Ok(JsonResponse::new(
        Status::Ok,
        &json!({ "items": items, "total": total, "limit": limit, "offset": offset }),
    ))
}

/// The one record of `kind` whose key is `key`.
async fn find_record(
    db: &DatabaseConnection,
    kind: RecordKind,
    plan_id: Option<i32>,
    key: &str,
) -> Result<Value> {
    let [key_column] = key_columns(kind) else {
        return Err(Error::NotFound(format!(
            "{kind} have a composite key; list them with filters instead"
        )));
    };
    let mut query = Query::all(kind, plan_id);
    query.filter(key_column, key)?;
    records::fetch(db, &query)
        .await?
        .first()
        .map(|record| record.to_json())
        .ok_or_else(|| {
            Error::NotFound(format!(
                "there is no record of {kind} with {key_column} \"{key}\""
            ))
        })
}

/// `GET /api/v1/{kind}/{key}`: one record by its code or reference.
#[get("/<kind>/<key>", rank = 10)]
pub async fn get_record(
    db: &State<DatabaseConnection>,
    kind: KindParam,
    caller: Result<Reader, Error>,
    key: &str,
    mut params: QueryParams,
) -> Result<JsonResponse> {
    let plan = params.take("plan");
    let plan = plan.as_deref();
    params.finish()?;
    let kind = kind.kind()?;
    caller?;
    let plan_id = if kind.is_plan_scoped() {
        Some(resolve_plan(db.inner(), plan).await?.id)
    } else {
        None
    };
    Ok(JsonResponse::new(
        Status::Ok,
        &find_record(db, kind, plan_id, key).await?,
    ))
}

/// Writes one record from a JSON body through the import service and answers with it as
/// stored.
async fn write_one(
    db: &DatabaseConnection,
    catalog: &CatalogCache,
    caller: &Writer,
    kind: RecordKind,
    plan: Option<String>,
    mut fields: Vec<(String, String)>,
    expect: Expect,
) -> Result<JsonResponse> {
    if kind.is_plan_scoped()
        && !fields.iter().any(|(name, _)| name == "plan_code")
        && let Some(plan) = &plan
    {
        fields.push(("plan_code".to_owned(), plan.clone()));
    }
    let mut options = ImportOptions {
        plan: plan.clone(),
        expect,
        catalog_cache: Some(catalog.clone()),
        ..caller.0.import_options()
    };
    // Unknown fields are reported together with every other problem of the record, which a
    // dry run of the known fields finds.
    let (known, unknown): (Vec<_>, Vec<_>) = fields
        .into_iter()
        .partition(|(name, _)| kind.column(name).is_some());
    fields = known;
    if !unknown.is_empty() {
        options.dry_run = true;
        let mut details: Vec<FieldError> = unknown
            .iter()
            .map(|(name, _)| FieldError::new(name.as_str(), format!("unknown field for {kind}")))
            .collect();
        match import::write_record(db, kind, &fields, &options)
            .await
            .map_err(without_lines)
        {
            Err(Error::Invalid { details: more, .. }) => details.extend(more),
            Err(forbidden @ Error::ForbiddenRows { .. }) => return Err(forbidden),
            _ => {}
        }
        return Err(Error::invalid(
            "the record is not valid; nothing was written",
            details,
        ));
    }
    import::write_record(db, kind, &fields, &options)
        .await
        .map_err(without_lines)?;
    // An empty plan_code names no plan: the request's plan holds, as it did for the write.
    let plan_code = fields
        .iter()
        .find(|(name, value)| name == "plan_code" && !value.is_empty())
        .map(|(_, value)| value.clone())
        .or(plan);
    let plan_id = if kind.is_plan_scoped() {
        Some(resolve_plan(db, plan_code.as_deref()).await?.id)
    } else {
        None
    };
    let record = match key_columns(kind) {
        [key] => {
            let value = fields
                .iter()
                .find(|(name, _)| name == key)
                .map(|(_, v)| v.as_str())
                .unwrap_or("");
            find_record(db, kind, plan_id, value).await?
        }
        _ => Value::Object(
            fields
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        ),
    };
    let status = match expect {
        Expect::New => Status::Created,
        Expect::Existing | Expect::Any => Status::Ok,
    };
    Ok(JsonResponse::new(status, &record))
}

/// `POST /api/v1/{kind}`: creates one record (409 if its key exists). For disbursements this
/// is the contract's `POST /api/v1/disbursements`.
#[allow(
    clippy::too_many_arguments,
    reason = "Rocket hands each request guard over as an argument"
)]
#[post("/<kind>", data = "<body>", rank = 10)]
pub async fn post_record(
    db: &State<DatabaseConnection>,
    catalog: &State<CatalogCache>,
    kind: KindParam,
    limits: &Limits,
    caller: Result<Writer, Error>,
    key: IdempotencyKey,
    mut params: QueryParams,
    body: Data<'_>,
) -> Result<JsonResponse> {
    let kind = kind.kind()?;
    let caller = caller?;
    let plan = params.take("plan");
    params.finish()?;
    let bytes = read_body(body, limits, "json").await?;
    let path = format!(
        "/api/v1/{kind}?plan={}",
        plan.as_deref().unwrap_or_default()
    );
    idempotent(db, &caller.0, &key, ("POST", &path, &bytes), || async {
        let fields = record_fields(&bytes)?;
        write_one(db, catalog, &caller, kind, plan, fields, Expect::New).await
    })
    .await
}

/// `PUT /api/v1/{kind}/{key}`: replaces the record with this key (404 if there is none);
/// optional fields left out become empty. Disbursements are never changed (405).
#[allow(
    clippy::too_many_arguments,
    reason = "Rocket hands each request guard over as an argument"
)]
#[put("/<kind>/<key>", data = "<body>", rank = 10)]
pub async fn put_record(
    db: &State<DatabaseConnection>,
    catalog: &State<CatalogCache>,
    kind: KindParam,
    limits: &Limits,
    caller: Result<Writer, Error>,
    key: &str,
    mut params: QueryParams,
    body: Data<'_>,
) -> Result<JsonResponse> {
    let plan = params.take("plan");
    params.finish()?;
    let kind = kind.kind()?;
    let caller = caller?;
    if kind == RecordKind::Disbursements {
        return Err(disbursement_immutable());
    }
    let [key_column] = key_columns(kind) else {
        return Err(Error::BadRequest(format!(
            "{kind} have a composite key; change them by import"
        )));
    };
    let bytes = read_body(body, limits, "json").await?;
    let mut fields = record_fields(&bytes)?;
    match fields.iter().find(|(name, _)| name == key_column) {
        Some((_, value)) if value != key => {
            return Err(Error::invalid(
                "the key in the body differs from the key in the path",
                vec![FieldError::new(
                    *key_column,
                    "a record's key cannot be changed",
                )],
            ));
        }
        Some(_) => {}
        None => fields.push(((*key_column).to_owned(), key.to_owned())),
    }
    write_one(db, catalog, &caller, kind, plan, fields, Expect::Existing).await
}

fn disbursement_immutable() -> Error {
    Error::MethodNotAllowed(
        "a recorded disbursement is never changed or deleted; post a reversal to /api/v1/disbursements/{reference}/reversal"
            .to_owned(),
    )
}

/// Recorded disbursements cannot be edited: corrections are reversals.
#[utoipa::path(
    patch,
    path = "/api/v1/disbursements/{reference}",
    summary = "Refused: a recorded disbursement is never changed or deleted; post a reversal",
    params(("reference" = String, Path, description = "The record's key.")),
    security(("bearer" = ["admin", "recorder"])),
    responses((status = 405, description = "Method Not Allowed", body = crate::api::openapi::schema::ErrorBody))
)]
#[patch("/disbursements/<_reference>")]
pub async fn refuse_disbursement_edit(_caller: Writer, _reference: &str) -> Result<JsonResponse> {
    Err(disbursement_immutable())
}

/// Recorded disbursements cannot be deleted: corrections are reversals.
#[utoipa::path(
    delete,
    path = "/api/v1/disbursements/{reference}",
    summary = "Refused: a recorded disbursement is never changed or deleted; post a reversal",
    params(("reference" = String, Path, description = "The record's key.")),
    security(("bearer" = ["admin", "recorder"])),
    responses((status = 405, description = "Method Not Allowed", body = crate::api::openapi::schema::ErrorBody))
)]
#[delete("/disbursements/<_reference>")]
pub async fn refuse_disbursement_delete(_caller: Writer, _reference: &str) -> Result<JsonResponse> {
    Err(disbursement_immutable())
}
