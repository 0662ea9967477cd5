//! The JSON API under `/api/v1`. Handlers stay thin: parse, call one service, map the result.

use rocket::fairing::AdHoc;
use rocket::http::{ContentType, Status};
use rocket::serde::json::{Json, Value, json};
use rocket::{Request, State, catch, catchers, get, routes};
use sea_orm::DatabaseConnection;

use crate::db;
use crate::error::{Result, json_body};

/// Answers `{"status": "ok"}` once the database answers; 503 otherwise.
#[get("/health")]
async fn get_health(db: &State<DatabaseConnection>) -> Result<Json<Value>> {
    db::ping(db).await?;
    Ok(Json(json!({ "status": "ok" })))
}

/// Every error under `/api` is JSON in the contract's shape, whatever raised it.
#[catch(default)]
fn api_error(status: Status, request: &Request<'_>) -> (Status, (ContentType, String)) {
    let (code, message) = match status.code {
        400 => ("bad_request", "the request could not be read".to_owned()),
        401 => ("unauthenticated", "authentication required".to_owned()),
        403 => ("forbidden", "your role does not allow this".to_owned()),
        404 => (
            "not_found",
            format!("nothing at {} {}", request.method(), request.uri().path()),
        ),
        413 => (
            "payload_too_large",
            "the request body is too large".to_owned(),
        ),
        422 => (
            "invalid",
            "the request body does not have the expected fields or types".to_owned(),
        ),
        429 => (
            "too_many_requests",
            "too many attempts; try again later".to_owned(),
        ),
        code if code >= 500 => ("internal", "internal error".to_owned()),
        _ => ("error", status.reason_lossy().to_owned()),
    };
    (
        status,
        (ContentType::JSON, json_body(status, code, &message)),
    )
}

pub fn stage() -> AdHoc {
    AdHoc::on_ignite("JSON API", |rocket| async {
        rocket
            .mount("/api/v1", routes![get_health])
            .register("/api", catchers![api_error])
    })
}
