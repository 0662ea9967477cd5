//! The schemas the document shares: the limits of codes and texts as the importer checks
//! them, dates, pages, errors, and the fixed request and response bodies that no service type
//! carries (the handlers build them), each a `ToSchema` type.

#![allow(dead_code)] // The types below describe bodies; the document reads them, nothing builds them.

use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::schema::AdditionalProperties;
use utoipa::openapi::schema::{
    AllOfBuilder, ArrayBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, Ref, Schema,
    SchemaFormat, Type,
};
use utoipa::openapi::{ContentBuilder, RefOr, Response, ResponseBuilder};

use crate::service::import::{MAX_CODE_CHARS, MAX_TEXT_CHARS};

/// Characters a code or a text may not hold: Unicode's control characters.
const CONTROL: &str = "\\u0000-\\u001F\\u007F-\\u009F";

/// A reference to a schema of the document's components.
pub fn schema_ref(name: &str) -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(name))
}

pub fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

pub fn integer() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Integer)
}

pub fn null() -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::Null).into()
}

/// A string that is one of `words`.
pub fn one_of_words<'a>(words: impl IntoIterator<Item = &'a str>) -> ObjectBuilder {
    string().enum_values(Some(words))
}

/// One of `schemas`, exactly.
pub fn one_of(schemas: impl IntoIterator<Item = RefOr<Schema>>) -> RefOr<Schema> {
    schemas
        .into_iter()
        .fold(OneOfBuilder::new(), OneOfBuilder::item)
        .into()
}

/// `schema`, with a description of its own.
pub fn described(schema: RefOr<Schema>, description: &str) -> RefOr<Schema> {
    AllOfBuilder::new()
        .item(schema)
        .description(Some(description))
        .into()
}

pub fn date() -> ObjectBuilder {
    string().format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
}

/// A code or reference, as the import checks it: 1 to 100 characters, no control
/// characters, no spaces at either end.
pub fn code() -> ObjectBuilder {
    string()
        .min_length(Some(1))
        .max_length(Some(MAX_CODE_CHARS))
        .pattern(Some(format!(
            "^[^\\s{CONTROL}]([^{CONTROL}]{{0,{}}}[^\\s{CONTROL}])?$",
            MAX_CODE_CHARS - 2
        )))
        .description(Some(
            "A code: case-sensitive, without spaces at either end.",
        ))
}

/// Free text (a name, a title): no control characters but tab and line breaks; a required
/// text cannot be empty.
pub fn text(required: bool) -> ObjectBuilder {
    string()
        .min_length(Some(usize::from(required)))
        .max_length(Some(MAX_TEXT_CHARS))
        .pattern(Some(
            "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$",
        ))
}

/// A page of a list: the items, how many there are in all, and the window asked for.
pub fn page(item: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .property("items", ArrayBuilder::new().items(schema_ref(item)))
        .property("total", integer())
        .property("limit", integer())
        .property("offset", integer())
        .required("items")
        .required("total")
        .required("limit")
        .required("offset")
        .into()
}

/// An object that refuses members it does not name.
pub fn closed(object: ObjectBuilder) -> ObjectBuilder {
    object.additional_properties(Some(AdditionalProperties::FreeForm(false)))
}

/// The contract's error body: `{"error": {"code", "message", "details"}}`, as
/// `crate::error::ErrorBody` writes it.
#[derive(Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    pub error: ErrorPayload,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorPayload {
    pub code: String,
    pub message: String,
    #[schema(inline)]
    pub details: Vec<ErrorDetail>,
}

/// One problem with one field of the input (`crate::error::FieldError`).
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// The line of the file, for a CSV row.
    #[schema(value_type = i64, required = false)]
    pub line: Option<u64>,
    pub column: String,
    pub message: String,
}

/// `{"status": "ok"}`, once the database answers.
#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(inline)]
    pub status: HealthStatus,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Ok,
}

/// The body of a reversal: why, and optionally how much, under which reference, on which day.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReversalInput {
    #[schema(min_length = 1)]
    pub reason: String,
    /// The part to reverse; the whole remaining amount when left out.
    #[schema(schema_with = amount_or_number)]
    pub amount: Option<String>,
    /// The reversal's own reference; REFERENCE-R1, -R2… when left out.
    pub reference: Option<String>,
    /// Today when left out.
    pub date: Option<chrono::NaiveDate>,
}

/// An amount as a string, or a JSON number read from its text, or null.
fn amount_or_number() -> RefOr<Schema> {
    described(
        one_of([
            string().into(),
            ObjectBuilder::new().schema_type(Type::Number).into(),
            null(),
        ]),
        "The part to reverse; the whole remaining amount when left out.",
    )
}

/// What `POST /api/v1/import/{entity}` answers: the counts of the one file.
#[derive(Serialize, ToSchema)]
pub struct ImportResult {
    pub entity: String,
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub dry_run: bool,
    /// Problems that did not stop the import, in the shape of the error details.
    #[schema(inline)]
    pub warnings: Vec<ErrorDetail>,
}

/// One entry of the audit trail, as `GET /api/v1/audit` lists it.
#[derive(Serialize, ToSchema)]
pub struct AuditEntry {
    pub sequence: i64,
    pub recorded_at: chrono::DateTime<chrono::Utc>,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub key: String,
    /// The record before and after, or the file's hash and counts, as the entry stored them.
    pub details: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

/// The reason phrase of `status`, the description of its response.
pub fn reason(status: u16) -> &'static str {
    rocket::http::Status::from_code(status).map_or("Error", |s| s.reason_lossy())
}

/// A JSON response of `status` with a body of `schema`.
pub fn response(status: u16, schema: RefOr<Schema>) -> Response {
    ResponseBuilder::new()
        .description(reason(status))
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(schema)).build(),
        )
        .build()
}

/// An error response of `status`, in the contract's shape.
pub fn error_response(status: u16) -> Response {
    response(status, schema_ref("Error"))
}

/// A page of the audit trail.
#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    pub total: u64,
    pub limit: u64,
    pub offset: u64,
}

/// A CSV file of the contract (UTF-8, a header row); for a report, its rows and a TOTAL row.
#[derive(Serialize, ToSchema)]
pub struct CsvFile(String);

/// An IATI 2.03 activity file, valid against the iati-activities schema.
#[derive(Serialize, ToSchema)]
pub struct IatiFile(String);

/// The errors a report route answers with: a bad parameter (400), an unknown plan, donor or
/// funding source (404), input that cannot be used (422); each with the contract's error body.
#[derive(utoipa::IntoResponses)]
pub enum ReportErrors {
    #[response(status = 400, description = "Bad Request")]
    BadRequest(ErrorBody),
    #[response(status = 404, description = "Not Found")]
    NotFound(ErrorBody),
    #[response(status = 422, description = "Unprocessable Entity")]
    UnprocessableEntity(ErrorBody),
}
