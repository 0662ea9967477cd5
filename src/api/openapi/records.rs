//! The record routes, one set per record kind. Rocket mounts `/api/v1/<kind>` once for every
//! kind, so these operations cannot come from attributes on the handlers: they are built here
//! from the record kinds, and their schemas from the column list the importer checks rows
//! against (`RecordKind::columns()`), so that a column and its limits are documented as the
//! import applies them.

use utoipa::openapi::path::{HttpMethod, Operation, OperationBuilder, Parameter};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::{Components, ContentBuilder, Paths, RefOr, Required};

use super::params::{paging, path, plan, query};
use super::schema::{
    closed, code, date, described, error_response, integer, null, one_of, one_of_words, page,
    response, schema_ref, string, text,
};
use super::security;
use crate::api::records::{DEFAULT_PAGE, MAX_PAGE};
use crate::auth::{Reader, Writer};
use crate::domain::currency::Currency;
use crate::domain::records::{ColumnSpec, RecordKind};
use crate::domain::vocabulary::{
    ActivityStatus, FundingSourceKind, InstitutionKind, Measure, ResultType,
};
use crate::service::records::{CellType, cell_type, key_columns};

/// The name of a kind's record schema: `BudgetLines` for `budget-lines`.
pub fn record_schema_name(kind: RecordKind) -> String {
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

/// The schema of one column's value, with the limits the import checks.
fn column_schema(kind: RecordKind, column: &ColumnSpec) -> ObjectBuilder {
    let name = column.name;
    match cell_type(column) {
        CellType::Text => match (kind, name) {
            (RecordKind::Institutions, "kind") => one_of_words(InstitutionKind::WORDS.iter().copied()),
            (RecordKind::FundingSources, "kind") => {
                one_of_words(FundingSourceKind::WORDS.iter().copied())
            }
            (RecordKind::Activities, "status") => one_of_words(ActivityStatus::WORDS.iter().copied()),
            (RecordKind::Indicators, "result_type") => {
                one_of_words(ResultType::WORDS.iter().copied())
            }
            (RecordKind::Indicators, "measure") => one_of_words(Measure::WORDS.iter().copied()),
            (RecordKind::Indicators, "ascending") => one_of_words(["true", "false"]),
            (_, "currency" | "quote_currency") => one_of_words(Currency::codes())
                .description(Some("An active ISO 4217 currency code.")),
            (_, "country") => string()
                .pattern(Some("^[A-Z]{2}$"))
                .description(Some("An ISO 3166-1 alpha-2 country code.")),
            (_, "code" | "reference" | "reverses" | "iati_ref") => code(),
            (_, name) if name.ends_with("_code") => code(),
            _ => text(column.required),
        },
        CellType::Date => date(),
        CellType::Integer => match name {
            "fiscal_year_start_month" => integer().minimum(Some(1)).maximum(Some(12)),
            _ => integer().minimum(Some(1900)).maximum(Some(2999)),
        },
        CellType::Amount => string()
            .pattern(Some("^-?[0-9]{1,14}(\\.[0-9]{1,4})?$"))
            .description(Some(
                "An exact amount as a string; requests may also send a JSON number, read from its text.",
            )),
        CellType::Rate => string()
            .pattern(Some("^[0-9]{1,8}(\\.[0-9]{1,10})?$"))
            .description(Some("An exchange rate as a string.")),
        CellType::Quantity => string()
            .pattern(Some("^-?[0-9]{1,14}(\\.[0-9]{1,4})?$"))
            .description(Some(
                "An exact value as a string (at most 4 fraction digits; a percentage lies \
                 between 0 and 100); requests may also send a JSON number, read from its text.",
            )),
    }
}

/// A record as the API answers with it: every column, the optional ones possibly null.
fn record_schema(kind: RecordKind) -> RefOr<Schema> {
    kind.columns()
        .iter()
        .fold(ObjectBuilder::new(), |object, column| {
            let schema: RefOr<Schema> = column_schema(kind, column).into();
            let schema = if column.required {
                schema
            } else {
                one_of([schema, null()])
            };
            object.property(column.name, schema).required(column.name)
        })
        .into()
}

/// A column as a request may send it: amounts and rates also as JSON numbers, read from
/// their text. A required field cannot be null; an optional one may be, which leaves it empty.
fn input_schema(kind: RecordKind, column: &ColumnSpec) -> RefOr<Schema> {
    let mut forms: Vec<RefOr<Schema>> = vec![column_schema(kind, column).into()];
    if matches!(
        cell_type(column),
        CellType::Amount | CellType::Rate | CellType::Quantity
    ) {
        forms.push(ObjectBuilder::new().schema_type(Type::Number).into());
    }
    if !column.required {
        forms.push(null());
    }
    match <[RefOr<Schema>; 1]>::try_from(forms) {
        Ok([only]) => only,
        Err(forms) => one_of(forms),
    }
}

/// The body that creates a record (`without` is `None`), or that replaces the one its path
/// names (`without` is the key, which the body may then leave out).
fn input(kind: RecordKind, without: Option<&str>) -> RefOr<Schema> {
    kind.columns()
        .iter()
        .fold(closed(ObjectBuilder::new()), |object, column| {
            let mut schema = input_schema(kind, column);
            let is_key = without == Some(column.name);
            if is_key {
                schema = described(schema, "The key in the path, if given at all.");
            }
            let object = object.property(column.name, schema);
            if column.required && !is_key {
                object.required(column.name)
            } else {
                object
            }
        })
        .into()
}

/// The schemas of every kind: the record, the body that creates one, and the body that
/// replaces one. A replacement (PUT; never of a disbursement) takes its key from the path:
/// a key that differs from the path's is refused (422), since a key never changes.
pub fn add_schemas(components: &mut Components) {
    for kind in RecordKind::ALL {
        let name = record_schema_name(kind);
        components
            .schemas
            .insert(format!("{name}Input"), input(kind, None));
        if let ([key], false) = (key_columns(kind), kind == RecordKind::Disbursements) {
            components
                .schemas
                .insert(format!("{name}Replacement"), input(kind, Some(key)));
        }
        components.schemas.insert(name, record_schema(kind));
    }
}

fn json_body(schema: &str) -> utoipa::openapi::request_body::RequestBody {
    RequestBodyBuilder::new()
        .required(Some(Required::True))
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(schema_ref(schema)))
                .build(),
        )
        .build()
}

/// One operation: its summary, who may call it, its parameters and body, its answer and the
/// errors a caller can meet besides those of every route.
struct Op {
    summary: String,
    writes: bool,
    params: Vec<Parameter>,
    body: Option<String>,
    success: (u16, RefOr<Schema>),
    errors: &'static [u16],
}

impl Op {
    fn build(self) -> Operation {
        let roles = if self.writes {
            Writer::ROLES
        } else {
            Reader::ROLES
        };
        let mut operation = OperationBuilder::new()
            .summary(Some(self.summary))
            .parameters(Some(self.params))
            .security(security(roles))
            .response(
                self.success.0.to_string(),
                response(self.success.0, self.success.1),
            );
        for &status in self.errors {
            operation = operation.response(status.to_string(), error_response(status));
        }
        if let Some(body) = self.body {
            operation = operation.request_body(Some(json_body(&body)));
        }
        operation.build()
    }
}

/// The list, create, read and replace routes of every kind, and the refused replacement of a
/// disbursement.
pub fn add_paths(paths: &mut Paths) {
    for kind in RecordKind::ALL {
        let name = record_schema_name(kind);
        let words = kind.name().replace('-', " ");
        let base = format!("/api/v1/{}", kind.name());
        let plan_scoped = || kind.is_plan_scoped().then(plan);

        let mut list_params: Vec<Parameter> = (kind.is_plan_scoped() || kind == RecordKind::Plans)
            .then(plan)
            .into_iter()
            .chain(paging("Records", DEFAULT_PAGE, MAX_PAGE))
            .collect();
        if kind.column("date").is_some() {
            list_params.push(query(
                "from",
                date(),
                "Only records dated on or after this day.",
            ));
            list_params.push(query(
                "to",
                date(),
                "Only records dated on or before this day.",
            ));
        }
        for column in kind.columns().iter().filter(|c| c.name != "plan_code") {
            list_params.push(query(
                column.name,
                column_schema(kind, column),
                "Only records with this value.",
            ));
        }
        let list = Op {
            summary: format!("List {words} in key order, filtered and paged"),
            writes: false,
            params: list_params,
            body: None,
            success: (200, page(&name)),
            errors: &[400, 404, 422],
        };
        let create = Op {
            summary: if kind == RecordKind::Disbursements {
                "Record a disbursement (201 with the stored record); send Idempotency-Key to make retries safe".to_owned()
            } else {
                format!("Create one record of {words}")
            },
            writes: true,
            params: plan_scoped().into_iter().collect(),
            body: Some(format!("{name}Input")),
            success: (201, schema_ref(&name)),
            errors: &[400, 404, 409, 413, 422],
        };
        paths.add_path_operation(&base, vec![HttpMethod::Get], list.build());
        paths.add_path_operation(&base, vec![HttpMethod::Post], create.build());

        let [key] = key_columns(kind) else {
            continue;
        };
        let record = format!("{base}/{{{key}}}");
        let key_param = || path(key, "The record's key.");
        let read = Op {
            summary: format!("One record of {words} by its {key}"),
            writes: false,
            params: std::iter::once(key_param()).chain(plan_scoped()).collect(),
            body: None,
            success: (200, schema_ref(&name)),
            errors: &[400, 404],
        };
        let replace = if kind == RecordKind::Disbursements {
            Op {
                summary:
                    "Refused: a recorded disbursement is never changed or deleted; post a reversal"
                        .to_owned(),
                writes: true,
                params: vec![key_param()],
                body: None,
                success: (405, schema_ref("Error")),
                errors: &[],
            }
        } else {
            Op {
                summary: format!(
                    "Replace one record of {words}; optional fields left out become empty"
                ),
                writes: true,
                params: std::iter::once(key_param()).chain(plan_scoped()).collect(),
                body: Some(format!("{name}Replacement")),
                success: (200, schema_ref(&name)),
                errors: &[400, 404, 413, 422],
            }
        };
        paths.add_path_operation(&record, vec![HttpMethod::Get], read.build());
        paths.add_path_operation(&record, vec![HttpMethod::Put], replace.build());
    }
}
