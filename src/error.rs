//! One error type for the whole app, with one exhaustive mapping to an HTTP status: a new
//! variant does not compile until it has a status. What a user sees (`Display`) is kept apart
//! from what goes to the log ([`Error::log_detail`]).

use rocket::http::{ContentType, Status};
use rocket::response::{self, Responder};
use rocket::{Request, Response};
use sea_orm::{DbErr, SqlErr};
use serde::Serialize;
use std::io::Cursor;

use crate::money::MoneyError;

/// One problem with one field of the input: a CSV cell, a JSON member or a form field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The file, when one request or command reads several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    pub column: String,
    pub message: String,
}

impl FieldError {
    pub fn new(column: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            file: None,
            line: None,
            column: bounded(column.into()),
            message: bounded(message.into()),
        }
    }

    pub fn at_line(line: u64, column: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            line: Some(line),
            ..FieldError::new(column, message)
        }
    }

    /// `FILE:LINE: COLUMN: message`, as the command line prints it.
    pub fn to_line(&self) -> String {
        let file = self.file.as_deref().unwrap_or("-");
        match self.line {
            Some(line) => format!("{file}:{line}: {}: {}", self.column, self.message),
            None => format!("{file}: {}: {}", self.column, self.message),
        }
    }
}

/// The most characters of a message kept at either end when a message quotes a huge input.
const MESSAGE_END_CHARS: usize = 150;

/// `text` with its middle cut out when it is long: messages quote the cell they are about, and
/// a cell of a hostile file may hold a megabyte. The start and the end (where the explanation
/// is) are kept.
fn bounded(text: String) -> String {
    let chars = text.chars().count();
    if chars <= 3 * MESSAGE_END_CHARS {
        return text;
    }
    let head: String = text.chars().take(MESSAGE_END_CHARS).collect();
    let tail: String = text.chars().skip(chars - MESSAGE_END_CHARS).collect();
    format!(
        "{head}[… {} characters left out …]{tail}",
        chars - 2 * MESSAGE_END_CHARS
    )
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request itself is malformed (bad query parameter, unreadable body).
    #[error("{0}")]
    BadRequest(String),
    /// The input was read but breaks the rules; `details` says where and why.
    #[error("{message}")]
    Invalid {
        message: String,
        details: Vec<FieldError>,
    },
    #[error("authentication required")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    /// Rows (or fields) of the input that the caller may not write; `details` names each.
    #[error("{message}")]
    ForbiddenRows {
        message: String,
        details: Vec<FieldError>,
    },
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with what is stored (a duplicate key, a reused idempotency key).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("the request body is larger than the limit of {0}")]
    PayloadTooLarge(String),
    #[error("too many attempts; try again later")]
    TooManyRequests,
    /// A command or route that a later version delivers.
    #[error("{0} is not available yet")]
    NotAvailableYet(&'static str),
    #[error("configuration error: {0}")]
    Config(String),
    #[error("the database schema could not be brought up to date: {0}")]
    Migration(String),
    #[error("the database is not available")]
    DatabaseUnavailable(String),
    #[error("the database could not complete the request")]
    Database(#[from] DbErr),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("the server could not start: {0}")]
    Launch(String),
    #[error("internal error")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A conversion that cannot be made (a missing rate) is a problem with the data a user can
/// fix, so it is 422 with the message naming the currencies and the date.
impl From<crate::domain::conversion::ConversionError> for Error {
    fn from(e: crate::domain::conversion::ConversionError) -> Self {
        Error::invalid(e.to_string(), Vec::new())
    }
}

/// A money error is the user's when it is about what they wrote (an empty, malformed or too
/// precise amount, a rate that is not positive): 422 with its message, which tells what to
/// write instead. An overflow, or a rounding that cannot be represented, comes from arithmetic
/// over amounts already stored (a report's sums): that is internal.
impl From<MoneyError> for Error {
    fn from(e: MoneyError) -> Self {
        match e {
            MoneyError::Empty
            | MoneyError::Malformed(_)
            | MoneyError::TooManyFractionDigits { .. }
            | MoneyError::TooManyIntegerDigits { .. }
            | MoneyError::RateNotPositive(_) => Error::invalid(e.to_string(), Vec::new()),
            MoneyError::Overflow | MoneyError::Rounding(..) => Error::Internal(e.to_string()),
        }
    }
}

/// Whether the database refused a write because of a key: a duplicate, or a reference to a
/// record that does not exist (or one still referred to).
fn is_conflict(e: &DbErr) -> bool {
    matches!(
        e.sql_err(),
        Some(SqlErr::UniqueConstraintViolation(_) | SqlErr::ForeignKeyConstraintViolation(_))
    )
}

impl Error {
    pub fn invalid(message: impl Into<String>, details: Vec<FieldError>) -> Self {
        Error::Invalid {
            message: message.into(),
            details,
        }
    }

    pub fn status(&self) -> Status {
        match self {
            Error::BadRequest(_) => Status::BadRequest,
            Error::Invalid { .. } => Status::UnprocessableEntity,
            Error::Unauthenticated => Status::Unauthorized,
            Error::Forbidden(_) | Error::ForbiddenRows { .. } => Status::Forbidden,
            Error::NotFound(_) => Status::NotFound,
            Error::Conflict(_) => Status::Conflict,
            Error::MethodNotAllowed(_) => Status::MethodNotAllowed,
            Error::PayloadTooLarge(_) => Status::PayloadTooLarge,
            Error::TooManyRequests => Status::TooManyRequests,
            Error::NotAvailableYet(_) => Status::NotImplemented,
            Error::DatabaseUnavailable(_) => Status::ServiceUnavailable,
            Error::Database(e) if is_conflict(e) => Status::Conflict,
            Error::Database(_) => Status::InternalServerError,
            Error::Config(_)
            | Error::Migration(_)
            | Error::Io(_)
            | Error::Launch(_)
            | Error::Internal(_) => Status::InternalServerError,
        }
    }

    /// A stable, machine-readable name for the kind of error, one per variant (a new variant
    /// does not compile until it has one); a database conflict is a `conflict`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadRequest(_) => "bad_request",
            Error::Invalid { .. } => "invalid",
            Error::Unauthenticated => "unauthenticated",
            Error::Forbidden(_) | Error::ForbiddenRows { .. } => "forbidden",
            Error::NotFound(_) => "not_found",
            Error::Conflict(_) => "conflict",
            Error::MethodNotAllowed(_) => "method_not_allowed",
            Error::PayloadTooLarge(_) => "payload_too_large",
            Error::TooManyRequests => "too_many_requests",
            Error::NotAvailableYet(_) => "not_available_yet",
            Error::DatabaseUnavailable(_) => "unavailable",
            Error::Database(e) if is_conflict(e) => "conflict",
            Error::Database(_)
            | Error::Config(_)
            | Error::Migration(_)
            | Error::Io(_)
            | Error::Launch(_)
            | Error::Internal(_) => "internal",
        }
    }

    /// The same error with each of its details passed through `f`.
    pub fn map_details(self, f: impl FnMut(FieldError) -> FieldError) -> Self {
        match self {
            Error::Invalid { message, details } => Error::Invalid {
                message,
                details: details.into_iter().map(f).collect(),
            },
            Error::ForbiddenRows { message, details } => Error::ForbiddenRows {
                message,
                details: details.into_iter().map(f).collect(),
            },
            other => other,
        }
    }

    pub fn details(&self) -> &[FieldError] {
        match self {
            Error::Invalid { details, .. } | Error::ForbiddenRows { details, .. } => details,
            _ => &[],
        }
    }

    /// What the log gets: the full cause, which may name tables, paths or SQL that a user
    /// should not see.
    pub fn log_detail(&self) -> String {
        match self {
            Error::Database(e) => format!("database error: {e}"),
            Error::DatabaseUnavailable(detail) => {
                format!("the database is not available: {detail}")
            }
            Error::Internal(detail) => format!("internal error: {detail}"),
            other => other.to_string(),
        }
    }

    /// The message for a user: for a database conflict, what the database said about it
    /// without the SQL; for anything internal, a plain sentence.
    pub fn user_message(&self) -> String {
        match self {
            Error::Database(e) => match e.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => {
                    "a record with the same key already exists".to_owned()
                }
                Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
                    "the record refers to a record that does not exist, or is still referred to"
                        .to_owned()
                }
                _ => self.to_string(),
            },
            other => other.to_string(),
        }
    }

    pub fn body(&self) -> ErrorBody<'_> {
        ErrorBody {
            error: ErrorPayload {
                code: self.code(),
                message: self.user_message(),
                details: self.details(),
            },
        }
    }
}

/// The contract's error body: `{"error": {"code", "message", "details"}}`.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    pub error: ErrorPayload<'a>,
}

#[derive(Debug, Serialize)]
pub struct ErrorPayload<'a> {
    pub code: &'static str,
    pub message: String,
    pub details: &'a [FieldError],
}

/// A JSON error body for `status` with no details, for catchers.
pub fn json_body(status: Status, code: &'static str, message: &str) -> String {
    let body = ErrorBody {
        error: ErrorPayload {
            code,
            message: message.to_owned(),
            details: &[],
        },
    };
    serde_json::to_string(&body).unwrap_or_else(|_| {
        format!(
            r#"{{"error":{{"code":"{code}","message":"{}","details":[]}}}}"#,
            status.code
        )
    })
}

impl<'r> Responder<'r, 'static> for Error {
    fn respond_to(self, _request: &'r Request<'_>) -> response::Result<'static> {
        let status = self.status();
        if status.code >= 500 {
            rocket::error!("{}: {}", status, self.log_detail());
        }
        let body = serde_json::to_string(&self.body())
            .unwrap_or_else(|_| json_body(status, self.code(), "internal error"));
        let mut response = Response::build();
        response
            .status(status)
            .header(ContentType::JSON)
            .sized_body(body.len(), Cursor::new(body));
        if status == Status::Unauthorized {
            response.header(rocket::http::Header::new("WWW-Authenticate", "Bearer"));
        }
        response.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_quoting_a_huge_cell_keeps_its_start_and_its_explanation() {
        let message = format!("\"{}\" has 100000 integer digits", "9".repeat(100_000));
        let error = FieldError::at_line(2, "amount", message);
        assert!(error.message.chars().count() < 400, "{}", error.message);
        assert!(error.message.starts_with("\"999"));
        assert!(error.message.ends_with("\" has 100000 integer digits"));
        assert!(error.message.contains("characters left out"));
        let short = FieldError::new("amount", "\"x\" is not a number");
        assert_eq!(short.message, "\"x\" is not a number");
    }

    #[test]
    fn every_variant_has_its_code_and_status() {
        let cases = [
            (Error::BadRequest("x".into()), "bad_request", 400),
            (Error::invalid("x", Vec::new()), "invalid", 422),
            (Error::Unauthenticated, "unauthenticated", 401),
            (Error::Forbidden("x".into()), "forbidden", 403),
            (Error::NotFound("x".into()), "not_found", 404),
            (Error::Conflict("x".into()), "conflict", 409),
            (
                Error::MethodNotAllowed("x".into()),
                "method_not_allowed",
                405,
            ),
            (
                Error::PayloadTooLarge("1 MiB".into()),
                "payload_too_large",
                413,
            ),
            (Error::TooManyRequests, "too_many_requests", 429),
            (Error::NotAvailableYet("x"), "not_available_yet", 501),
            (Error::Config("x".into()), "internal", 500),
            (Error::Migration("x".into()), "internal", 500),
            (Error::DatabaseUnavailable("x".into()), "unavailable", 503),
            (Error::Database(DbErr::Custom("x".into())), "internal", 500),
            (Error::Io(std::io::Error::other("x")), "internal", 500),
            (Error::Launch("x".into()), "internal", 500),
            (Error::Internal("x".into()), "internal", 500),
        ];
        for (error, code, status) in cases {
            assert_eq!(
                (error.code(), error.status().code),
                (code, status),
                "{error:?}"
            );
        }
    }

    #[test]
    fn a_bad_amount_is_the_users_error_and_an_overflow_is_internal() {
        for bad_input in [
            MoneyError::Empty,
            MoneyError::Malformed("1,5".into()),
            MoneyError::TooManyFractionDigits {
                text: "1.00001".into(),
                digits: 5,
                max: 4,
            },
            MoneyError::TooManyIntegerDigits {
                text: "1".repeat(15),
                digits: 15,
                max: 14,
            },
            MoneyError::RateNotPositive("0".into()),
        ] {
            let message = bad_input.to_string();
            let error = Error::from(bad_input);
            assert_eq!(error.status(), Status::UnprocessableEntity, "{message}");
            assert_eq!(error.user_message(), message);
        }
        for internal in [MoneyError::Overflow, MoneyError::Rounding("1e20".into(), 2)] {
            let error = Error::from(internal);
            assert_eq!(error.status(), Status::InternalServerError);
            assert_eq!(error.user_message(), "internal error");
        }
    }
}
