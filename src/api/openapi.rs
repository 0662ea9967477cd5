//! The OpenAPI 3 document, generated from the same definitions the API runs on: the route
//! table below (who may call what), and the record kinds with their contract columns (the
//! shapes of records). A test checks that every route Rocket mounts under `/api/v1` is in
//! the table and the other way round, and the role-matrix test walks the table.

use rocket::get;
use rocket::http::Status;
use serde_json::{Map, Value, json};

use super::JsonResponse;
use super::records::{DEFAULT_PAGE, MAX_PAGE};
use crate::auth::{AuditReader, Reader, Writer};
use crate::domain::Role;
use crate::domain::currency::Currency;
use crate::domain::records::RecordKind;
use crate::domain::vocabulary::{ActivityStatus, FundingSourceKind, InstitutionKind};
use crate::service::import::{MAX_CODE_CHARS, MAX_TEXT_CHARS};
use crate::service::records::{CellType, cell_type, key_columns};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Anyone,
    Roles(&'static [Role]),
}

/// The body a route takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    None,
    /// A JSON record of this kind.
    Record(RecordKind),
    /// A JSON record of this kind that replaces the one its path names: the key may be left
    /// out of the body.
    Replacement(RecordKind),
    Reversal,
    /// A CSV file of this kind.
    Csv(RecordKind),
}

/// A query or path parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub location: &'static str,
    pub required: bool,
    pub schema: Value,
    pub description: String,
}

fn param(
    name: &str,
    location: &'static str,
    required: bool,
    schema: Value,
    description: &str,
) -> Param {
    Param {
        name: name.to_owned(),
        location,
        required,
        schema,
        description: description.to_owned(),
    }
}

/// One route of the API.
#[derive(Debug, Clone)]
pub struct RouteDoc {
    pub method: &'static str,
    /// The OpenAPI path, parameters in braces.
    pub path: String,
    pub summary: String,
    pub access: Access,
    pub params: Vec<Param>,
    pub body: Body,
    /// The success status and what it returns, in each media type the route answers with.
    pub success: (u16, Vec<(&'static str, Value)>),
    /// The error statuses a caller can meet besides 401 and 403.
    pub errors: Vec<u16>,
}

fn plan_param() -> Param {
    param(
        "plan",
        "query",
        false,
        code_schema(),
        "The plan's code; may be left out when the database holds one plan.",
    )
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn record_schema_name(kind: RecordKind) -> String {
    kind.name()
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<String>()
}

/// Characters a code or a text may not hold: Unicode's control characters.
const CONTROL: &str = "\\u0000-\\u001F\\u007F-\\u009F";

/// A code or reference, as the import checks it: 1 to 100 characters, no control
/// characters, no spaces at either end.
fn code_schema() -> Value {
    json!({
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_CODE_CHARS,
        "pattern": format!("^[^\\s{CONTROL}]([^{CONTROL}]{{0,{}}}[^\\s{CONTROL}])?$", MAX_CODE_CHARS - 2),
        "description": "A code: case-sensitive, without spaces at either end."
    })
}

/// Free text (a name, a title): no control characters but tab and line breaks; a required
/// text cannot be empty.
fn text_schema(required: bool) -> Value {
    json!({
        "type": "string",
        "minLength": usize::from(required),
        "maxLength": MAX_TEXT_CHARS,
        "pattern": "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    })
}

fn column_schema(kind: RecordKind, name: &str) -> Value {
    let Some(column) = kind.column(name) else {
        return json!({"type": "string"});
    };
    match cell_type(column) {
        CellType::Text => match (kind, name) {
            (RecordKind::Institutions, "kind") => {
                json!({"type": "string", "enum": InstitutionKind::WORDS})
            }
            (RecordKind::FundingSources, "kind") => {
                json!({"type": "string", "enum": FundingSourceKind::WORDS})
            }
            (RecordKind::Activities, "status") => {
                json!({"type": "string", "enum": ActivityStatus::WORDS})
            }
            (_, "currency" | "quote_currency") => json!({
                "type": "string",
                "enum": Currency::codes().collect::<Vec<_>>(),
                "description": "An active ISO 4217 currency code."
            }),
            (_, "country") => json!({
                "type": "string",
                "pattern": "^[A-Z]{2}$",
                "description": "An ISO 3166-1 alpha-2 country code."
            }),
            (_, "code" | "reference" | "reverses" | "iati_ref") => code_schema(),
            (_, name) if name.ends_with("_code") => code_schema(),
            _ => text_schema(column.required),
        },
        CellType::Date => json!({"type": "string", "format": "date"}),
        CellType::Integer => match name {
            "fiscal_year_start_month" => json!({"type": "integer", "minimum": 1, "maximum": 12}),
            _ => json!({"type": "integer", "minimum": 1900, "maximum": 2999}),
        },
        CellType::Amount => json!({
            "type": "string",
            "pattern": "^-?[0-9]{1,14}(\\.[0-9]{1,4})?$",
            "description": "An exact amount as a string; requests may also send a JSON number, read from its text."
        }),
        CellType::Rate => json!({
            "type": "string",
            "pattern": "^[0-9]{1,8}(\\.[0-9]{1,10})?$",
            "description": "An exchange rate as a string."
        }),
    }
}

/// Every route of the API, as it is mounted.
pub fn routes() -> Vec<RouteDoc> {
    let readers = Access::Roles(Reader::ROLES);
    let writers = Access::Roles(Writer::ROLES);
    let page = |name: &str| {
        json!({
            "type": "object",
            "required": ["items", "total", "limit", "offset"],
            "properties": {
                "items": {"type": "array", "items": schema_ref(name)},
                "total": {"type": "integer"},
                "limit": {"type": "integer"},
                "offset": {"type": "integer"}
            }
        })
    };
    let mut routes = vec![
        RouteDoc {
            method: "get",
            path: "/api/v1/health".to_owned(),
            summary: "Whether the server and its database answer".to_owned(),
            access: Access::Anyone,
            params: vec![],
            body: Body::None,
            success: (
                200,
                json_only(
                    json!({"type": "object", "properties": {"status": {"type": "string", "enum": ["ok"]}}}),
                ),
            ),
            errors: vec![503],
        },
        RouteDoc {
            method: "get",
            path: "/api/v1/openapi.json".to_owned(),
            summary: "This document".to_owned(),
            access: Access::Anyone,
            params: vec![],
            body: Body::None,
            success: (200, json_only(json!({"type": "object"}))),
            errors: vec![],
        },
    ];
    for kind in RecordKind::ALL {
        let name = record_schema_name(kind);
        let mut list_params = vec![
            param(
                "limit",
                "query",
                false,
                json!({"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": DEFAULT_PAGE}),
                "Records per page.",
            ),
            param(
                "offset",
                "query",
                false,
                json!({"type": "integer", "minimum": 0, "maximum": i64::MAX, "default": 0}),
                "Records to skip.",
            ),
        ];
        if kind.is_plan_scoped() || kind == RecordKind::Plans {
            list_params.insert(0, plan_param());
        }
        if kind.column("date").is_some() {
            list_params.push(param(
                "from",
                "query",
                false,
                json!({"type": "string", "format": "date"}),
                "Only records dated on or after this day.",
            ));
            list_params.push(param(
                "to",
                "query",
                false,
                json!({"type": "string", "format": "date"}),
                "Only records dated on or before this day.",
            ));
        }
        for column in kind.columns().iter().filter(|c| c.name != "plan_code") {
            list_params.push(param(
                column.name,
                "query",
                false,
                column_schema(kind, column.name),
                "Only records with this value.",
            ));
        }
        routes.push(RouteDoc {
            method: "get",
            path: format!("/api/v1/{}", kind.name()),
            summary: format!(
                "List {} in key order, filtered and paged",
                kind.name().replace('-', " ")
            ),
            access: readers,
            params: list_params,
            body: Body::None,
            success: (200, json_only(page(&name))),
            errors: vec![400, 404, 422],
        });
        routes.push(RouteDoc {
            method: "post",
            path: format!("/api/v1/{}", kind.name()),
            summary: if kind == RecordKind::Disbursements {
                "Record a disbursement (201 with the stored record); send Idempotency-Key to make retries safe".to_owned()
            } else {
                format!("Create one record of {}", kind.name().replace('-', " "))
            },
            access: writers,
            params: if kind.is_plan_scoped() { vec![plan_param()] } else { vec![] },
            body: Body::Record(kind),
            success: (201, json_only(schema_ref(&name))),
            errors: vec![400, 404, 409, 413, 422],
        });
        if let [key] = key_columns(kind) {
            let key_param = param(
                key,
                "path",
                true,
                json!({"type": "string"}),
                "The record's key.",
            );
            let mut params = vec![key_param.clone()];
            if kind.is_plan_scoped() {
                params.push(plan_param());
            }
            routes.push(RouteDoc {
                method: "get",
                path: format!("/api/v1/{}/{{{key}}}", kind.name()),
                summary: format!(
                    "One record of {} by its {key}",
                    kind.name().replace('-', " ")
                ),
                access: readers,
                params: params.clone(),
                body: Body::None,
                success: (200, json_only(schema_ref(&name))),
                errors: vec![400, 404],
            });
            if kind == RecordKind::Disbursements {
                for method in ["put", "patch", "delete"] {
                    routes.push(RouteDoc {
                        method,
                        path: format!("/api/v1/{}/{{{key}}}", kind.name()),
                        summary: "Refused: a recorded disbursement is never changed or deleted; post a reversal".to_owned(),
                        access: writers,
                        params: vec![key_param.clone()],
                        body: Body::None,
                        success: (405, json_only(schema_ref("Error"))),
                        errors: vec![],
                    });
                }
            } else {
                routes.push(RouteDoc {
                    method: "put",
                    path: format!("/api/v1/{}/{{{key}}}", kind.name()),
                    summary: format!(
                        "Replace one record of {}; optional fields left out become empty",
                        kind.name().replace('-', " ")
                    ),
                    access: writers,
                    params,
                    body: Body::Replacement(kind),
                    success: (200, json_only(schema_ref(&name))),
                    errors: vec![400, 404, 413, 422],
                });
            }
        }
    }
    routes.extend([
        RouteDoc {
            method: "post",
            path: "/api/v1/disbursements/{reference}/reversal".to_owned(),
            summary: "Reverse a disbursement, wholly or in part, with a reason".to_owned(),
            access: writers,
            params: vec![
                param(
                    "reference",
                    "path",
                    true,
                    json!({"type": "string"}),
                    "The disbursement to reverse.",
                ),
                plan_param(),
            ],
            body: Body::Reversal,
            success: (201, json_only(schema_ref("Disbursements"))),
            errors: vec![400, 404, 409, 413, 422],
        },
        RouteDoc {
            method: "post",
            path: "/api/v1/import/{entity}".to_owned(),
            summary: "Import one CSV file, whole or not at all".to_owned(),
            access: writers,
            params: vec![
                param(
                    "entity",
                    "path",
                    true,
                    entity_schema(),
                    "The record kind of the file.",
                ),
                plan_param(),
                param(
                    "dry_run",
                    "query",
                    false,
                    json!({"type": "boolean", "default": false}),
                    "Check everything and write nothing.",
                ),
            ],
            body: Body::Csv(RecordKind::Disbursements),
            success: (200, json_only(schema_ref("ImportResult"))),
            errors: vec![400, 404, 409, 413, 422],
        },
        RouteDoc {
            method: "get",
            path: "/api/v1/export/{entity}".to_owned(),
            summary: "Export one record kind as the contract's CSV file".to_owned(),
            access: readers,
            params: vec![
                param(
                    "entity",
                    "path",
                    true,
                    entity_schema(),
                    "The record kind to export.",
                ),
                plan_param(),
            ],
            body: Body::None,
            success: (200, vec![("text/csv", csv_file("The contract's CSV file of the entity."))]),
            errors: vec![400, 404],
        },
        RouteDoc {
            method: "get",
            path: "/api/v1/plans/{code}/iati.xml".to_owned(),
            summary: "The plan as an IATI 2.03 activity file (iati-activities): one iati-activity per activity, with its budgets per fiscal year and its commitments and disbursements up to today as transactions".to_owned(),
            access: readers,
            params: vec![param(
                "code",
                "path",
                true,
                json!({"type": "string"}),
                "The plan's code.",
            )],
            body: Body::None,
            success: (
                200,
                vec![(
                    "application/xml",
                    json!({"type": "string", "description": "Valid against the IATI 2.03 iati-activities schema."}),
                )],
            ),
            errors: vec![400, 404, 422],
        },
        RouteDoc {
            method: "get",
            path: "/api/v1/flags".to_owned(),
            summary: "The flags of a plan as of a date: unfunded obligations and activities, overspending, low execution, overdue commitments, inactive institutions".to_owned(),
            access: readers,
            params: vec![
                plan_param(),
                param("as_of", "query", false, json!({"type": "string", "format": "date"}), "The date to evaluate at; today when left out."),
                param("severity", "query", false, json!({"type": "string", "enum": ["critical", "high", "medium", "low"]}), "Only flags of this severity."),
                param("rule", "query", false, json!({"type": "string", "enum": crate::domain::flags::Rule::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>()}), "Only flags of this rule."),
            ],
            body: Body::None,
            success: (200, json_only(schema_ref("FlagReport"))),
            errors: vec![400, 404, 422],
        },
        RouteDoc {
            method: "get",
            path: "/api/v1/reports/execution".to_owned(),
            summary: "Budget execution by a dimension, in the plan's currency: allocated, committed, disbursed, remaining, execution rate, and exact totals".to_owned(),
            access: readers,
            params: vec![
                plan_param(),
                param("by", "query", true, json!({"type": "string", "enum": crate::service::reports::Dimension::ALL.iter().map(|d| d.as_str()).collect::<Vec<_>>()}), "The dimension of the rows."),
                param("fiscal_year", "query", false, json!({"type": "integer"}), "Only this fiscal year."),
                param("from", "query", false, json!({"type": "string", "format": "date"}), "Only disbursements on or after this day."),
                param("to", "query", false, json!({"type": "string", "format": "date"}), "Only disbursements on or before this day."),
                param("funding_source", "query", false, json!({"type": "string"}), "Only money from this funding source (code)."),
                param("donor", "query", false, json!({"type": "string"}), "Only money from this donor (institution code)."),
                param("format", "query", false, json!({"type": "string", "enum": ["json", "csv"], "default": "json"}), "JSON or CSV."),
            ],
            body: Body::None,
            success: (
                200,
                vec![
                    ("application/json", schema_ref("ExecutionReport")),
                    ("text/csv", csv_file("With format=csv: the rows and a TOTAL row.")),
                ],
            ),
            errors: vec![400, 404, 422],
        },
        RouteDoc {
            method: "get",
            path: "/api/v1/reports/donor".to_owned(),
            summary: "A donor's or funding source's money from commitment to disbursement: by activity, by fiscal year, and every payment".to_owned(),
            access: readers,
            params: vec![
                plan_param(),
                param("donor", "query", false, json!({"type": "string"}), "The donor's institution code (or give funding_source)."),
                param("funding_source", "query", false, json!({"type": "string"}), "A funding source's code (or give donor)."),
                param("format", "query", false, json!({"type": "string", "enum": ["json", "csv"], "default": "json"}), "JSON or CSV."),
                param("part", "query", false, json!({"type": "string", "enum": ["activity", "fiscal-year", "disbursements"], "default": "activity"}), "With CSV, which table."),
            ],
            body: Body::None,
            success: (200, vec![
                ("application/json", json!({"type": "object", "required": ["by_activity", "by_fiscal_year", "disbursements"], "properties": {
                    "plan": {"type": "string"}, "currency": {"type": "string"}, "giver": {"type": "object"},
                    "by_activity": schema_ref("ExecutionReport"), "by_fiscal_year": schema_ref("ExecutionReport"),
                    "disbursements": {"type": "array", "items": {"type": "object"}},
                    "disbursed": {"type": "string"}
                }})),
                ("text/csv", csv_file("With format=csv: the table that `part` names.")),
            ]),
            errors: vec![400, 404, 422],
        },
        RouteDoc {
            method: "get",
            path: "/api/v1/audit".to_owned(),
            summary: "Audit trail entries in sequence order".to_owned(),
            access: Access::Roles(AuditReader::ROLES),
            params: ["actor", "action", "entity", "key"]
                .iter()
                .map(|name| {
                    param(
                        name,
                        "query",
                        false,
                        json!({"type": "string"}),
                        "Only entries with this value.",
                    )
                })
                .chain([
                    param(
                        "from",
                        "query",
                        false,
                        json!({"type": "string", "format": "date"}),
                        "Entries recorded on or after this day (UTC).",
                    ),
                    param(
                        "to",
                        "query",
                        false,
                        json!({"type": "string", "format": "date"}),
                        "Entries recorded on or before this day (UTC).",
                    ),
                    param(
                        "limit",
                        "query",
                        false,
                        json!({"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}),
                        "Entries per page.",
                    ),
                    param(
                        "offset",
                        "query",
                        false,
                        json!({"type": "integer", "minimum": 0, "maximum": i64::MAX, "default": 0}),
                        "Entries to skip.",
                    ),
                ])
                .collect(),
            body: Body::None,
            success: (200, json_only(page("AuditEntry"))),
            errors: vec![400],
        },
        RouteDoc {
            method: "get",
            path: "/api/v1/audit/verification".to_owned(),
            summary: "Check the audit trail's hash chain".to_owned(),
            access: Access::Roles(AuditReader::ROLES),
            params: vec![],
            body: Body::None,
            success: (200, json_only(schema_ref("AuditVerification"))),
            errors: vec![],
        },
    ]);
    routes
}

/// A success body that is JSON only.
fn json_only(schema: Value) -> Vec<(&'static str, Value)> {
    vec![("application/json", schema)]
}

/// A CSV file as a response body.
fn csv_file(description: &str) -> Value {
    json!({"type": "string", "description": description})
}

fn entity_schema() -> Value {
    json!({"type": "string", "enum": RecordKind::ALL.iter().map(|k| k.name()).collect::<Vec<_>>()})
}

fn error_response(status: u16) -> Value {
    let description = Status::from_code(status).map_or("Error", |s| s.reason_lossy());
    json!({
        "description": description,
        "content": {"application/json": {"schema": schema_ref("Error")}}
    })
}

fn operation(route: &RouteDoc) -> Value {
    let mut responses = Map::new();
    let (code, bodies) = &route.success;
    let content: Map<String, Value> = bodies
        .iter()
        .map(|(media_type, schema)| ((*media_type).to_owned(), json!({"schema": schema})))
        .collect();
    responses.insert(
        code.to_string(),
        json!({"description": Status::from_code(*code).map_or("OK", |s| s.reason_lossy()), "content": content}),
    );
    let mut errors = route.errors.clone();
    if let Access::Roles(_) = route.access {
        errors.extend([401, 403]);
    }
    errors.push(500);
    for status in errors {
        responses.insert(status.to_string(), error_response(status));
    }
    let parameters: Vec<Value> = route
        .params
        .iter()
        .map(|p| json!({"name": p.name, "in": p.location, "required": p.required, "schema": p.schema, "description": p.description}))
        .chain((route.method == "post").then(|| json!({
            "name": "Idempotency-Key",
            "in": "header",
            "required": false,
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
            "description": "Makes a retry return the first response; the same key with another body is 409."
        })))
        .collect();
    let mut op = json!({
        "summary": route.summary,
        "operationId": operation_id(route.method, &route.path),
        "parameters": parameters,
        "responses": responses,
    });
    match route.access {
        Access::Anyone => op["security"] = json!([]),
        Access::Roles(roles) => {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            op["description"] = Value::String(format!("Roles: {}.", names.join(", ")));
        }
    }
    let body = match &route.body {
        Body::None => None,
        Body::Record(kind) => Some(
            json!({"required": true, "content": {"application/json": {"schema": schema_ref(&format!("{}Input", record_schema_name(*kind)))}}}),
        ),
        Body::Replacement(kind) => Some(
            json!({"required": true, "content": {"application/json": {"schema": schema_ref(&format!("{}Replacement", record_schema_name(*kind)))}}}),
        ),
        Body::Reversal => Some(
            json!({"required": true, "content": {"application/json": {"schema": schema_ref("ReversalInput")}}}),
        ),
        Body::Csv(_) => {
            Some(json!({"required": true, "content": {"text/csv": {"schema": {"type": "string"}}}}))
        }
    };
    if let Some(body) = body {
        op["requestBody"] = body;
    }
    op
}

fn schemas() -> Map<String, Value> {
    let mut schemas = Map::new();
    schemas.insert(
        "Error".to_owned(),
        json!({
            "type": "object",
            "required": ["error"],
            "properties": {"error": {
                "type": "object",
                "required": ["code", "message", "details"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "details": {"type": "array", "items": {
                        "type": "object",
                        "required": ["column", "message"],
                        "properties": {
                            "line": {"type": "integer"},
                            "column": {"type": "string"},
                            "message": {"type": "string"}
                        }
                    }}
                }
            }}
        }),
    );
    for kind in RecordKind::ALL {
        let name = record_schema_name(kind);
        let properties: Map<String, Value> = kind
            .columns()
            .iter()
            .map(|c| {
                let mut schema = column_schema(kind, c.name);
                if !c.required {
                    schema = json!({"oneOf": [schema, {"type": "null"}]});
                }
                (c.name.to_owned(), schema)
            })
            .collect();
        let all: Vec<&str> = kind.columns().iter().map(|c| c.name).collect();
        schemas.insert(
            name.clone(),
            json!({"type": "object", "required": all, "properties": properties}),
        );
        let input: Map<String, Value> = kind
            .columns()
            .iter()
            .map(|c| {
                // Amounts and rates may come as JSON numbers, read from their text. A
                // required field cannot be null; an optional one may be, which leaves it empty.
                let mut forms = vec![column_schema(kind, c.name)];
                if matches!(cell_type(c), CellType::Amount | CellType::Rate) {
                    forms.push(json!({"type": "number"}));
                }
                if !c.required {
                    forms.push(json!({"type": "null"}));
                }
                let schema = match <[Value; 1]>::try_from(forms) {
                    Ok([only]) => only,
                    Err(forms) => json!({ "oneOf": forms }),
                };
                (c.name.to_owned(), schema)
            })
            .collect();
        let required: Vec<&str> = kind
            .columns()
            .iter()
            .filter(|c| c.required)
            .map(|c| c.name)
            .collect();
        schemas.insert(
            format!("{name}Input"),
            json!({"type": "object", "required": required, "properties": input, "additionalProperties": false}),
        );
        // A replacement (PUT; never of a disbursement) takes its key from the path: the body
        // may leave it out, and a key that differs from the path's is refused (422), since a
        // key never changes.
        if let ([key], false) = (key_columns(kind), kind == RecordKind::Disbursements) {
            let required: Vec<&str> = required.into_iter().filter(|c| c != key).collect();
            let mut properties = input;
            if let Some(schema) = properties.get_mut(*key) {
                *schema = json!({"allOf": [schema.clone()], "description": "The key in the path, if given at all."});
            }
            schemas.insert(
                format!("{name}Replacement"),
                json!({"type": "object", "required": required, "properties": properties, "additionalProperties": false}),
            );
        }
    }
    schemas.insert(
        "ReversalInput".to_owned(),
        json!({
            "type": "object",
            "required": ["reason"],
            "additionalProperties": false,
            "properties": {
                "reason": {"type": "string", "minLength": 1},
                "amount": {"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "null"}], "description": "The part to reverse; the whole remaining amount when left out."},
                "reference": {"type": ["string", "null"], "description": "The reversal's own reference; REFERENCE-R1, -R2… when left out."},
                "date": {"oneOf": [{"type": "string", "format": "date"}, {"type": "null"}], "description": "Today when left out."}
            }
        }),
    );
    schemas.insert(
        "ImportResult".to_owned(),
        json!({
            "type": "object",
            "required": ["entity", "rows", "created", "updated", "unchanged", "dry_run", "warnings"],
            "properties": {
                "entity": {"type": "string"},
                "rows": {"type": "integer"},
                "created": {"type": "integer"},
                "updated": {"type": "integer"},
                "unchanged": {"type": "integer"},
                "dry_run": {"type": "boolean"},
                "warnings": {"type": "array", "items": {"type": "object"}}
            }
        }),
    );
    schemas.insert(
        "FlagReport".to_owned(),
        json!({
            "type": "object",
            "required": ["as_of", "flags"],
            "properties": {
                "plan": {"type": "string"},
                "as_of": {"type": "string", "format": "date"},
                "fiscal_year": {"type": "integer"},
                "flags": {"type": "array", "items": {
                    "type": "object",
                    "required": ["rule", "severity", "subject", "fiscal_year", "message", "legal_basis", "gap"],
                    "properties": {
                        "rule": {"type": "string"},
                        "severity": {"type": "string", "enum": ["critical", "high", "medium", "low"]},
                        "subject": {"type": "object", "required": ["type", "code"], "properties": {
                            "type": {"type": "string"}, "code": {"type": "string"}, "title": {"type": "string"}
                        }},
                        "fiscal_year": {"type": "integer"},
                        "message": {"type": "string"},
                        "legal_basis": {"type": ["string", "null"]},
                        "gap": {"type": ["string", "null"], "description": "An exact amount, in `currency`."},
                        "currency": {"type": ["string", "null"]}
                    }
                }}
            }
        }),
    );
    let money = json!({"type": "string", "description": "An exact amount in the plan's currency."});
    let rate = json!({"type": ["string", "null"], "description": "Disbursed ÷ allocated, to four decimals."});
    schemas.insert(
        "ExecutionReport".to_owned(),
        json!({
            "type": "object",
            "required": ["rows", "totals"],
            "properties": {
                "plan": {"type": "string"},
                "currency": {"type": "string"},
                "by": {"type": "string"},
                "filters": {"type": "object"},
                "rows": {"type": "array", "items": {
                    "type": "object",
                    "required": ["key", "label", "allocated", "committed", "disbursed", "remaining", "execution_rate"],
                    "properties": {
                        "key": {"type": "string"}, "label": {"type": "string"},
                        "allocated": money, "committed": money, "disbursed": money, "remaining": money,
                        "execution_rate": rate
                    }
                }},
                "totals": {
                    "type": "object",
                    "required": ["allocated", "committed", "disbursed", "remaining", "execution_rate"],
                    "properties": {"allocated": money, "committed": money, "disbursed": money, "remaining": money, "execution_rate": rate}
                }
            }
        }),
    );
    schemas.insert(
        "AuditEntry".to_owned(),
        json!({
            "type": "object",
            "properties": {
                "sequence": {"type": "integer"},
                "recorded_at": {"type": "string", "format": "date-time"},
                "actor": {"type": "string"},
                "action": {"type": "string"},
                "entity": {"type": "string"},
                "key": {"type": "string"},
                "details": {},
                "prev_hash": {"type": "string"},
                "hash": {"type": "string"}
            }
        }),
    );
    schemas.insert(
        "AuditVerification".to_owned(),
        json!({
            "type": "object",
            "required": ["status"],
            "properties": {
                "status": {"type": "string", "enum": ["intact", "broken"]},
                "entries": {"type": "integer"},
                "head": {"type": "string"},
                "entry": {"type": "integer"},
                "reason": {"type": "string"}
            }
        }),
    );
    schemas
}

fn operation_id(method: &str, path: &str) -> String {
    let path = path.trim_start_matches("/api/v1/");
    format!("{method}_{}", path.replace(['/', '{', '}', '-', '.'], "_"))
}

/// The kind of the record a route answers with when it writes one: a create, a replacement
/// or a reversal.
fn written_record(route: &RouteDoc) -> Option<RecordKind> {
    RecordKind::ALL.into_iter().find(|kind| {
        let base = format!("/api/v1/{}", kind.name());
        match (route.method, key_columns(*kind)) {
            ("post", _) if route.path == base => true,
            ("post", [key]) => route.path == format!("{base}/{{{key}}}/reversal"),
            ("put", [key]) => route.path == format!("{base}/{{{key}}}"),
            _ => false,
        }
    })
}

/// Links from a written record to the routes that read, replace or reverse it, its key (and
/// plan) taken from the answer. A reader learns what to call next, and schemathesis's
/// stateful phase follows them from one request to the next.
fn links(route: &RouteDoc, routes: &[RouteDoc]) -> Map<String, Value> {
    let mut links = Map::new();
    let Some(kind) = written_record(route) else {
        return links;
    };
    let [key] = key_columns(kind) else {
        return links;
    };
    let record = format!("/api/v1/{}/{{{key}}}", kind.name());
    let targets = [
        ("Read", "get", record.clone()),
        ("Replace", "put", record.clone()),
        ("Reverse", "post", format!("{record}/reversal")),
    ];
    for (name, method, path) in targets {
        let Some(target) = routes.iter().find(|r| r.method == method && r.path == path) else {
            continue;
        };
        // A disbursement's PUT is documented only to say it is refused.
        if target.body == Body::None && method == "put" {
            continue;
        }
        let mut parameters = json!({ *key: format!("$response.body#/{key}") });
        if target.params.iter().any(|p| p.name == "plan") && kind.is_plan_scoped() {
            parameters["plan"] = json!("$response.body#/plan_code");
        }
        links.insert(
            name.to_owned(),
            json!({"operationId": operation_id(target.method, &target.path), "parameters": parameters}),
        );
    }
    links
}

/// The whole OpenAPI document.
pub fn document() -> Value {
    let routes = routes();
    let mut paths: Map<String, Value> = Map::new();
    for route in &routes {
        let mut operation = operation(route);
        let links = links(route, &routes);
        if !links.is_empty() {
            operation["responses"][route.success.0.to_string()]["links"] = Value::Object(links);
        }
        let item = paths.entry(route.path.clone()).or_insert_with(|| json!({}));
        item[route.method] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "naptrack API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "National action plan funding tracker: activities, budget lines, commitments, disbursements, obligations. Amounts are exact decimal strings."
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "A token from `naptrack user add`."}},
            "schemas": schemas()
        }
    })
}

/// `GET /api/v1/openapi.json`.
#[get("/openapi.json")]
pub fn get_openapi() -> JsonResponse {
    JsonResponse::new(Status::Ok, &document())
}
