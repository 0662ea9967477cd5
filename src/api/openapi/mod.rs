//! The OpenAPI 3.1 document of `/api/v1`, derived with utoipa from the code the API runs on:
//! the `#[utoipa::path]` attributes on the handlers of the fixed routes and the `ToSchema`
//! types they answer with; the record routes from the record kinds and their contract
//! columns (`records`); and, for every operation, the rules that hold for all of them
//! (`finish`): the errors any caller can meet, `Idempotency-Key` on every POST, the roles,
//! and the links from a written record to the routes that read, replace or reverse it.
//!
//! Tests check that every route Rocket mounts under `/api/v1` is in the document and the
//! other way round, and the role-matrix test walks [`routes`], which is read back from the
//! document itself.

pub(crate) mod params;
mod records;
pub(crate) mod schema;

use rocket::get;
use rocket::http::Status;
use serde_json::Value;
use utoipa::OpenApi;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{RefOr, Required};

use super::JsonResponse;
use crate::auth::{AuditReader, Reader, Writer};
use crate::domain::Role;
use crate::domain::records::RecordKind;
use crate::service::records::key_columns;
use schema::{error_response, string};

/// The roles of a route, as the operation's security requirement names them (OpenAPI 3.1
/// allows role names as the "scopes" of a bearer scheme).
fn security(roles: &[Role]) -> SecurityRequirement {
    SecurityRequirement::new("bearer", roles.iter().map(|role| role.as_str()))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "naptrack API",
        description = "National action plan funding tracker: activities, budget lines, commitments, disbursements, obligations. Amounts are exact decimal strings."
    ),
    servers((url = "/")),
    security(("bearer" = [])),
    paths(
        super::get_health,
        get_openapi,
        super::records::refuse_disbursement_edit,
        super::records::refuse_disbursement_delete,
        super::disbursements::post_reversal,
        super::transfer::post_import,
        super::transfer::get_export,
        super::iati::get_iati,
        super::iati::get_export_iati,
        super::flags::get_flags,
        super::reports::get_execution,
        super::reports::get_results,
        super::reports::get_donor_statement,
        super::audit::get_audit,
        super::audit::get_audit_verification,
    ),
    components(schemas(schema::ErrorBody)),
    modifiers(&Bearer)
)]
struct ApiDoc;

/// The bearer scheme every protected route takes.
struct Bearer;

impl utoipa::Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = Http::builder()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("A token from `naptrack user add`."))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// The operations of a path item, by method.
fn operations(item: &mut PathItem) -> [(&'static str, &mut Option<Operation>); 5] {
    [
        ("get", &mut item.get),
        ("put", &mut item.put),
        ("post", &mut item.post),
        ("delete", &mut item.delete),
        ("patch", &mut item.patch),
    ]
}

fn operation_id(method: &str, path: &str) -> String {
    let path = path.trim_start_matches("/api/v1/");
    format!("{method}_{}", path.replace(['/', '{', '}', '-', '.'], "_"))
}

/// The role names an operation's security requirement lists; `None` for a route anyone may
/// call (an empty requirement).
fn roles(operation: &Operation) -> Option<Vec<String>> {
    let security = serde_json::to_value(&operation.security).unwrap_or_default();
    let names: Vec<String> = security
        .get(0)?
        .get("bearer")?
        .as_array()?
        .iter()
        .filter_map(|name| name.as_str().map(str::to_owned))
        .collect();
    Some(names)
}

/// What holds for every operation: its id, the roles in its description, 401 and 403 when
/// it needs a token, 500 always, and `Idempotency-Key` on a POST.
fn finish_operation(method: &str, path: &str, operation: &mut Operation) {
    operation.operation_id = Some(operation_id(method, path));
    operation.tags = None;
    let names = roles(operation);
    let responses = &mut operation.responses.responses;
    match names {
        Some(names) => {
            operation.description = Some(format!("Roles: {}.", names.join(", ")));
            for status in [401, 403] {
                responses.insert(status.to_string(), error_response(status).into());
            }
        }
        None => {
            operation.description = None;
            operation.security = Some(Vec::new());
        }
    }
    responses.insert("500".to_owned(), error_response(500).into());
    if method == "post" {
        let key = ParameterBuilder::new()
            .name("Idempotency-Key")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .schema(Some(
                string()
                    .min_length(Some(1))
                    .max_length(Some(255))
                    .pattern(Some("^[!-~]+$")),
            ))
            .description(Some(
                "Makes a retry return the first response; the same key with another body is 409.",
            ))
            .build();
        operation
            .parameters
            .get_or_insert_with(Vec::new)
            .push(RefOr::T(key));
    }
}

/// The kind of the record a route answers with when it writes one: a create, a replacement
/// or a reversal.
fn written_record(method: &str, path: &str) -> Option<RecordKind> {
    RecordKind::ALL.into_iter().find(|kind| {
        let base = format!("/api/v1/{}", kind.name());
        match (method, key_columns(*kind)) {
            ("post", _) if path == base => true,
            ("post", [key]) => path == format!("{base}/{{{key}}}/reversal"),
            ("put", [key]) => {
                path == format!("{base}/{{{key}}}") && *kind != RecordKind::Disbursements
            }
            _ => false,
        }
    })
}

/// Links from a written record to the routes that read, replace or reverse it, its key (and
/// plan) taken from the answer. A reader learns what to call next, and schemathesis's
/// stateful phase follows them from one request to the next.
fn add_links(document: &mut utoipa::openapi::OpenApi) {
    // What each operation is and whether it takes `?plan=`, read before anything is changed.
    let mut targets = Vec::new();
    for (path, item) in document.paths.paths.iter_mut() {
        for (method, operation) in operations(item) {
            if let Some(operation) = operation {
                let takes_plan = serde_json::to_value(&operation.parameters)
                    .unwrap_or_default()
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|p| p["name"] == "plan"));
                // A disbursement's PUT is documented only to say it is refused.
                let refused = operation.request_body.is_none() && method == "put";
                targets.push((method, path.clone(), takes_plan, refused));
            }
        }
    }
    for (path, item) in document.paths.paths.iter_mut() {
        for (method, operation) in operations(item) {
            let (Some(operation), Some(kind)) = (operation, written_record(method, path)) else {
                continue;
            };
            let [key] = key_columns(kind) else {
                continue;
            };
            let record = format!("/api/v1/{}/{{{key}}}", kind.name());
            let links = [
                ("Read", "get", record.clone()),
                ("Replace", "put", record.clone()),
                ("Reverse", "post", format!("{record}/reversal")),
            ];
            let status = if method == "put" { "200" } else { "201" };
            let Some(RefOr::T(success)) = operation.responses.responses.get_mut(status) else {
                continue;
            };
            for (name, target_method, target_path) in links {
                let Some((_, _, takes_plan, refused)) = targets
                    .iter()
                    .find(|(m, p, _, _)| *m == target_method && *p == target_path)
                else {
                    continue;
                };
                if *refused {
                    continue;
                }
                let mut link = LinkBuilder::new()
                    .operation_id(operation_id(target_method, &target_path))
                    .parameter(*key, format!("$response.body#/{key}"));
                if *takes_plan && kind.is_plan_scoped() {
                    link = link.parameter("plan", "$response.body#/plan_code");
                }
                success.links.insert(name.to_owned(), link.build().into());
            }
        }
    }
}

/// The whole OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    records::add_paths(&mut document.paths);
    records::add_schemas(document.components.get_or_insert_with(Default::default));
    for (path, item) in document.paths.paths.iter_mut() {
        for (method, operation) in operations(item) {
            if let Some(operation) = operation {
                finish_operation(method, path, operation);
            }
        }
    }
    add_links(&mut document);
    document
}

/// The document as JSON, as `GET /api/v1/openapi.json` serves it.
pub fn document_json() -> Value {
    serde_json::to_value(document()).unwrap_or_default()
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    summary = "This document",
    security(()),
    responses((status = 200, description = "OK", body = Object, content_type = "application/json"))
)]
#[get("/openapi.json")]
pub fn get_openapi() -> JsonResponse {
    JsonResponse::new(Status::Ok, &document_json())
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Anyone,
    Roles(&'static [Role]),
}

impl Access {
    /// The guard whose roles are `names`; a list no guard has admits no one, so that the
    /// role-matrix test names the route.
    fn of(names: Option<Vec<String>>) -> Access {
        let Some(names) = names else {
            return Access::Anyone;
        };
        let same = |roles: &[Role]| {
            roles.len() == names.len()
                && roles.iter().all(|r| names.iter().any(|n| n == r.as_str()))
        };
        [Reader::ROLES, Writer::ROLES, AuditReader::ROLES]
            .into_iter()
            .find(|roles| same(roles))
            .map_or(Access::Roles(&[]), Access::Roles)
    }
}

/// A query, path or header parameter of a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub location: String,
    pub required: bool,
}

/// One operation of the document: what the role-matrix and route-table tests walk.
#[derive(Debug, Clone)]
pub struct RouteDoc {
    pub method: &'static str,
    /// The OpenAPI path, parameters in braces.
    pub path: String,
    pub access: Access,
    pub params: Vec<Param>,
}

/// Every operation of the document, as the document states it.
pub fn routes() -> Vec<RouteDoc> {
    let mut document = document();
    let mut routes = Vec::new();
    for (path, item) in document.paths.paths.iter_mut() {
        for (method, operation) in operations(item) {
            let Some(operation) = operation else {
                continue;
            };
            let params = serde_json::to_value(&operation.parameters).unwrap_or_default();
            let params = params
                .as_array()
                .map(|params| {
                    params
                        .iter()
                        .map(|p| Param {
                            name: p["name"].as_str().unwrap_or_default().to_owned(),
                            location: p["in"].as_str().unwrap_or_default().to_owned(),
                            required: p["required"] == true,
                        })
                        .collect()
                })
                .unwrap_or_default();
            routes.push(RouteDoc {
                method,
                path: path.clone(),
                access: Access::of(roles(operation)),
                params,
            });
        }
    }
    routes
}
