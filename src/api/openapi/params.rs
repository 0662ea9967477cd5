//! The parameters of the fixed routes, as `IntoParams` types that their `#[utoipa::path]`
//! attributes name. The handlers read their query strings through `QueryParams`, which refuses
//! a name it was not asked for, so each list here is every name its route takes.

use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{RefOr, Required};

use super::schema::{code, date, integer, one_of_words, string};
use crate::domain::flags::{Kind, Rule, Severity};
use crate::domain::records::RecordKind;
use crate::service::reports::Dimension;

fn parameter(
    name: &str,
    location: ParameterIn,
    required: bool,
    schema: impl Into<RefOr<Schema>>,
    description: &str,
) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(location)
        .required(if required {
            Required::True
        } else {
            Required::False
        })
        .schema(Some(schema))
        .description(Some(description))
        .build()
}

/// An optional query parameter.
pub fn query(name: &str, schema: impl Into<RefOr<Schema>>, description: &str) -> Parameter {
    parameter(name, ParameterIn::Query, false, schema, description)
}

/// A path parameter: any text, which the route looks up.
pub fn path(name: &str, description: &str) -> Parameter {
    parameter(name, ParameterIn::Path, true, string(), description)
}

/// `?plan=`, which may be left out when the database holds one plan.
pub fn plan() -> Parameter {
    query(
        "plan",
        code(),
        "The plan's code; may be left out when the database holds one plan.",
    )
}

/// `limit` and `offset`: a page of at most `max` items, `default` unless asked.
pub fn paging(what: &str, default: u64, max: u64) -> [Parameter; 2] {
    [
        query(
            "limit",
            integer()
                .minimum(Some(1))
                .maximum(Some(max))
                .default(Some(default.into())),
            &format!("{what} per page."),
        ),
        query(
            "offset",
            integer()
                .minimum(Some(0))
                .maximum(Some(i64::MAX))
                .default(Some(0.into())),
            &format!("{what} to skip."),
        ),
    ]
}

fn format() -> Parameter {
    query(
        "format",
        one_of_words(["json", "csv"]).default(Some("json".into())),
        "JSON or CSV.",
    )
}

macro_rules! params {
    ($($(#[$doc:meta])* $name:ident => $params:expr;)*) => {$(
        $(#[$doc])*
        pub struct $name;

        impl IntoParams for $name {
            fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
                $params
            }
        }
    )*};
}

params! {
    /// `?plan=` alone.
    PlanQuery => vec![plan()];

    /// The record kind of an import or an export, `{entity}` in the path.
    EntityPath => vec![parameter(
        "entity",
        ParameterIn::Path,
        true,
        one_of_words(RecordKind::ALL.iter().map(|kind| kind.name())),
        "The record kind of the file.",
    )];

    /// An import's plan, and whether it only checks.
    ImportQuery => vec![
        plan(),
        query(
            "dry_run",
            utoipa::openapi::schema::ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::Boolean)
                .default(Some(false.into())),
            "Check everything and write nothing.",
        ),
    ];

    /// The flags' plan, date and filters.
    FlagsQuery => vec![
        plan(),
        query("as_of", date(), "The date to evaluate at; today when left out."),
        query(
            "kind",
            one_of_words(Kind::ALL.iter().map(|k| k.as_str())),
            "Only flags of this kind of rule: funding gaps, results or integrity.",
        ),
        query(
            "severity",
            one_of_words(Severity::ALL.iter().map(|s| s.as_str())),
            "Only flags of this severity.",
        ),
        query(
            "rule",
            one_of_words(Rule::ALL.iter().map(|r| r.as_str())),
            "Only flags of this rule.",
        ),
    ];

    /// The execution report's dimension and filters.
    ExecutionQuery => vec![
        plan(),
        parameter(
            "by",
            ParameterIn::Query,
            true,
            one_of_words(Dimension::ALL.iter().map(|d| d.as_str())),
            "The dimension of the rows.",
        ),
        query("fiscal_year", integer(), "Only this fiscal year."),
        query("from", date(), "Only disbursements on or after this day."),
        query("to", date(), "Only disbursements on or before this day."),
        query("funding_source", string(), "Only money from this funding source (code)."),
        query("donor", string(), "Only money from this donor (institution code)."),
        format(),
    ];

    /// The results report's plan and fiscal year.
    ResultsQuery => vec![
        plan(),
        query("fiscal_year", integer(), "Only this fiscal year."),
        format(),
    ];

    /// Whose statement, and as what.
    DonorQuery => vec![
        plan(),
        query("donor", string(), "The donor's institution code (or give funding_source)."),
        query("funding_source", string(), "A funding source's code (or give donor)."),
        format(),
        query(
            "part",
            one_of_words(["activity", "fiscal-year", "disbursements"])
                .default(Some("activity".into())),
            "With CSV, which table.",
        ),
    ];

    /// The audit trail's filters and page.
    AuditQuery => ["actor", "action", "entity", "key"]
        .into_iter()
        .map(|name| query(name, string(), "Only entries with this value."))
        .chain([
            query("from", date(), "Entries recorded on or after this day (UTC)."),
            query("to", date(), "Entries recorded on or before this day (UTC)."),
        ])
        .chain(paging("Entries", 100, 1000))
        .collect();
}
