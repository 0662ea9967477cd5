//! The JSON API under `/api/v1`. Handlers stay thin: a guard says who is calling and what
//! they may do, the input is parsed into domain terms, one service function does the work,
//! and the result is mapped to JSON. Every error is JSON in the contract's shape.

mod audit;
mod disbursements;
mod flags;
mod iati;
pub mod openapi;
mod records;
mod reports;
mod transfer;

use std::future::Future;
use std::io::Cursor;

use rocket::data::{Data, Limits, ToByteUnit};
use rocket::fairing::AdHoc;
use rocket::http::{ContentType, Header, Status};
use rocket::request::{self, FromParam, FromRequest, Request};
use rocket::response::{self, Responder, Response};
use rocket::serde::json::{Json, Value, json};
use rocket::{State, catch, catchers, get, routes};
use sea_orm::DatabaseConnection;

use crate::db;
use crate::domain::records::RecordKind;
use crate::error::{Error, FieldError, Result, json_body};
use crate::service::idempotency::{self, Claim, StoredResponse};
use crate::service::users::Caller;

/// A JSON response with a status, as handlers build it and as idempotency replays it.
#[derive(Debug, Clone)]
pub struct JsonResponse {
    pub status: Status,
    pub body: String,
}

impl JsonResponse {
    pub fn new(status: Status, value: &Value) -> Self {
        JsonResponse {
            status,
            body: value.to_string(),
        }
    }
}

impl<'r> Responder<'r, 'static> for JsonResponse {
    fn respond_to(self, _request: &'r Request<'_>) -> response::Result<'static> {
        Response::build()
            .status(self.status)
            .header(ContentType::JSON)
            .sized_body(self.body.len(), Cursor::new(self.body))
            .ok()
    }
}

/// A record kind named in a path (`/api/v1/budget-lines`). Parsing never fails, so that
/// Rocket does not answer an unknown kind with its 422 for a failed parameter; [`Self::kind`]
/// turns an unknown name into a 404.
pub struct KindParam(Option<RecordKind>, String);

impl KindParam {
    pub fn kind(&self) -> Result<RecordKind> {
        self.0
            .ok_or_else(|| Error::NotFound(format!("there is nothing at /api/v1/{}", self.1)))
    }
}

impl<'a> FromParam<'a> for KindParam {
    type Error = std::convert::Infallible;

    fn from_param(param: &'a str) -> std::result::Result<Self, Self::Error> {
        let kind = RecordKind::ALL
            .into_iter()
            .find(|kind| kind.name() == param);
        Ok(KindParam(kind, param.to_owned()))
    }
}

/// The query string as decoded name and value pairs, for routes that accept open-ended
/// filters; each route checks the names it knows.
pub struct QueryParams(pub Vec<(String, String)>);

impl QueryParams {
    pub fn take(&mut self, name: &str) -> Option<String> {
        let position = self.0.iter().position(|(n, _)| n == name)?;
        Some(self.0.remove(position).1)
    }

    /// A whole number from 0 to 2^63 − 1, the range the databases page by.
    pub fn take_u64(&mut self, name: &str) -> Result<Option<u64>> {
        self.take(name)
            .map(|text| {
                text.parse::<u64>()
                    .ok()
                    .filter(|n| i64::try_from(*n).is_ok())
                    .ok_or_else(|| {
                        Error::BadRequest(format!(
                            "{name} must be a whole number from 0 to {}, not \"{text}\"",
                            i64::MAX
                        ))
                    })
            })
            .transpose()
    }

    pub fn take_bool(&mut self, name: &str) -> Result<bool> {
        match self.take(name).as_deref() {
            None | Some("false") | Some("0") => Ok(false),
            Some("true") | Some("1") | Some("") => Ok(true),
            Some(other) => Err(Error::BadRequest(format!(
                "{name} must be true or false, not \"{other}\""
            ))),
        }
    }

    pub fn take_date(&mut self, name: &str) -> Result<Option<chrono::NaiveDate>> {
        self.take(name)
            .map(|text| {
                crate::domain::IsoDate::parse(&text)
                    .map(chrono::NaiveDate::from)
                    .map_err(|e| Error::BadRequest(e.for_parameter(name)))
            })
            .transpose()
    }

    /// Refuses parameters no route took: a misspelt filter must not silently match all.
    pub fn finish(self) -> Result<()> {
        match self.0.first() {
            None => Ok(()),
            Some((name, _)) => Err(Error::BadRequest(format!(
                "unknown query parameter \"{name}\""
            ))),
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for QueryParams {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        let pairs = request
            .uri()
            .query()
            .map(|query| {
                query
                    .segments()
                    .map(|(name, value)| (name.to_owned(), value.to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        request::Outcome::Success(QueryParams(pairs))
    }
}

/// The `Idempotency-Key` header, if sent.
pub struct IdempotencyKey(pub Option<String>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for IdempotencyKey {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        let key = request
            .headers()
            .get_one("Idempotency-Key")
            .map(str::to_owned);
        request::Outcome::Success(IdempotencyKey(key))
    }
}

/// The body, read up to the limit named `limit` in Rocket.toml (`json`, `file`); a larger
/// body is 413, never truncated.
pub async fn read_body(data: Data<'_>, limits: &Limits, limit: &str) -> Result<Vec<u8>> {
    let cap = limits.get(limit).unwrap_or_else(|| 1.mebibytes());
    let capped = data.open(cap).into_bytes().await?;
    if !capped.is_complete() {
        return Err(Error::PayloadTooLarge(cap.to_string()));
    }
    Ok(capped.into_inner())
}

/// A JSON object of contract columns as cell texts. Strings and numbers are taken as they
/// were written (numbers from their text, never through a float); null is an empty cell.
pub fn record_fields(body: &[u8]) -> Result<Vec<(String, String)>> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| Error::BadRequest(format!("the body is not valid JSON: {e}")))?;
    let serde_json::Value::Object(object) = value else {
        return Err(Error::invalid(
            "the body must be a JSON object of the record's fields",
            Vec::new(),
        ));
    };
    let mut fields = Vec::with_capacity(object.len());
    let mut errors = Vec::new();
    for (name, value) in object {
        let text = match value {
            serde_json::Value::String(text) => text,
            serde_json::Value::Number(number) => number.to_string(),
            serde_json::Value::Null => String::new(),
            serde_json::Value::Bool(_)
            | serde_json::Value::Array(_)
            | serde_json::Value::Object(_) => {
                errors.push(FieldError::new(
                    name.as_str(),
                    "must be a string or a number",
                ));
                continue;
            }
        };
        fields.push((name, text));
    }
    if errors.is_empty() {
        Ok(fields)
    } else {
        Err(Error::invalid("some fields have the wrong type", errors))
    }
}

/// The errors of a one-record import, without the file and line of the one-row file it was.
pub fn without_lines(error: Error) -> Error {
    error.map_details(|detail| FieldError {
        file: None,
        line: None,
        ..detail
    })
}

/// Runs `work` once per `Idempotency-Key`: a retry of the same request gets the stored
/// response; without a key, `work` just runs.
pub async fn idempotent<F, Fut>(
    db: &DatabaseConnection,
    caller: &Caller,
    key: &IdempotencyKey,
    request: (&str, &str, &[u8]),
    work: F,
) -> Result<JsonResponse>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<JsonResponse>>,
{
    let Some(key) = key.0.as_deref() else {
        return work().await;
    };
    let (method, path, body) = request;
    let hash = idempotency::request_hash(method, path, body);
    match idempotency::claim(db, caller.user_id, key, &hash).await? {
        Claim::Replay(stored) => Ok(JsonResponse {
            status: Status::from_code(stored.status).unwrap_or(Status::Ok),
            body: stored.body,
        }),
        Claim::Owned => match work().await {
            Ok(response) => {
                let stored = StoredResponse {
                    status: response.status.code,
                    body: response.body.clone(),
                };
                idempotency::complete(db, caller.user_id, key, &stored).await?;
                Ok(response)
            }
            Err(e) => {
                idempotency::release(db, caller.user_id, key).await?;
                Err(e)
            }
        },
    }
}

/// Answers `{"status": "ok"}` once the database answers; 503 otherwise.
#[utoipa::path(
    get,
    path = "/api/v1/health",
    summary = "Whether the server and its database answer",
    security(()),
    responses(
        (status = 200, description = "OK", body = crate::api::openapi::schema::Health),
        (status = 503, description = "Service Unavailable", body = crate::api::openapi::schema::ErrorBody),
    )
)]
#[get("/health")]
async fn get_health(db: &State<DatabaseConnection>) -> Result<Json<Value>> {
    db::ping(db).await?;
    Ok(Json(json!({ "status": "ok" })))
}

/// Every error under `/api` is JSON in the contract's shape, whatever raised it.
#[catch(default)]
fn api_error(status: Status, request: &Request<'_>) -> CaughtError {
    let (code, message) = match status.code {
        400 => ("bad_request", "the request could not be read".to_owned()),
        401 => (
            "unauthenticated",
            "authentication required: send Authorization: Bearer <token>".to_owned(),
        ),
        403 => ("forbidden", "your role does not allow this".to_owned()),
        404 => (
            "not_found",
            format!("nothing at {} {}", request.method(), request.uri().path()),
        ),
        405 => (
            "method_not_allowed",
            "this method is not allowed here".to_owned(),
        ),
        413 => (
            "payload_too_large",
            "the request body is too large".to_owned(),
        ),
        422 => (
            "invalid",
            "the request does not have the expected fields or types".to_owned(),
        ),
        429 => (
            "too_many_requests",
            "too many attempts; try again later".to_owned(),
        ),
        code if code >= 500 => ("internal", "internal error".to_owned()),
        _ => ("error", status.reason_lossy().to_owned()),
    };
    CaughtError {
        status,
        body: json_body(status, code, &message),
    }
}

/// A caught error's JSON body; a 401 also says how to authenticate.
struct CaughtError {
    status: Status,
    body: String,
}

impl<'r> Responder<'r, 'static> for CaughtError {
    fn respond_to(self, _request: &'r Request<'_>) -> response::Result<'static> {
        let mut response = Response::build();
        response
            .status(self.status)
            .header(ContentType::JSON)
            .sized_body(self.body.len(), Cursor::new(self.body));
        if self.status == Status::Unauthorized {
            response.header(Header::new("WWW-Authenticate", "Bearer"));
        }
        response.ok()
    }
}

pub fn stage() -> AdHoc {
    AdHoc::on_ignite("JSON API", |rocket| async {
        rocket
            .mount(
                "/api/v1",
                routes![
                    get_health,
                    openapi::get_openapi,
                    records::list_records,
                    records::get_record,
                    records::post_record,
                    records::put_record,
                    records::refuse_disbursement_edit,
                    records::refuse_disbursement_delete,
                    disbursements::post_reversal,
                    transfer::post_import,
                    transfer::get_export,
                    iati::get_iati,
                    iati::get_export_iati,
                    flags::get_flags,
                    reports::get_execution,
                    reports::get_results,
                    reports::get_donor_statement,
                    audit::get_audit,
                    audit::get_audit_verification,
                ],
            )
            .register("/api", catchers![api_error])
    })
}
