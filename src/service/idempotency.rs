//! `Idempotency-Key`: a client that retries a POST (after a timeout, a dropped connection)
//! gets the first response again instead of a second record.
//!
//! The key is claimed in the database before the work is done, so two concurrent requests
//! with one key cannot both do it: the second waits for the first to finish and then replays
//! its response. The same key with a different request is a conflict. Only successful
//! responses are kept; a request that failed releases its key, so the client can fix the
//! request and send it again with the same key. The app itself holds no state, so this works
//! across several app instances sharing one database.

use std::time::Duration;

use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value};
use sha2::{Digest, Sha256};

use crate::db;
use crate::error::{Error, FieldError, Result};

/// How long a claim may go without a response before another request may take it over
/// (the first request's process died mid-way).
const STALE_CLAIM: chrono::Duration = chrono::Duration::seconds(60);
/// How long a request waits for a concurrent one with the same key to finish.
const WAIT_FOR_FIRST: Duration = Duration::from_secs(15);

/// A stored response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This request holds the key and does the work.
    Owned,
    /// The key was used for the same request before: answer with this.
    Replay(StoredResponse),
}

/// The fingerprint of a request: method, path and body.
pub fn request_hash(method: &str, path: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(method.as_bytes());
    hasher.update(b" ");
    hasher.update(path.as_bytes());
    hasher.update(b"\n");
    hasher.update(body);
    hex::encode(hasher.finalize())
}

/// Checks the form of a key: 1 to 255 visible ASCII characters.
pub fn check_key(key: &str) -> Result<()> {
    if !key.is_empty() && key.len() <= 255 && key.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(Error::invalid(
            "the Idempotency-Key header is not valid",
            vec![FieldError::new(
                "Idempotency-Key",
                "use 1 to 255 visible ASCII characters, for example a UUID",
            )],
        ))
    }
}

fn placeholders(backend: DbBackend, count: usize) -> Vec<String> {
    (1..=count)
        .map(|i| match backend {
            DbBackend::Postgres => format!("${i}"),
            _ => format!("?{i}"),
        })
        .collect()
}

/// Claims `key` for `user_id`'s request with fingerprint `hash`, waiting for a concurrent
/// request with the same key to finish.
pub async fn claim(db: &DatabaseConnection, user_id: i32, key: &str, hash: &str) -> Result<Claim> {
    check_key(key)?;
    let backend = db.get_database_backend();
    let deadline = tokio::time::Instant::now() + WAIT_FOR_FIRST;
    loop {
        let txn = db::begin_write(db).await?;
        let p = placeholders(backend, 4);
        let inserted = txn
            .execute_raw(Statement::from_sql_and_values(
                backend,
                format!(
                    "INSERT INTO idempotency_keys (user_id, key, request_hash, created_at) \
                     VALUES ({}, {}, {}, {}) ON CONFLICT (user_id, key) DO NOTHING",
                    p[0], p[1], p[2], p[3]
                ),
                [
                    Value::from(user_id),
                    Value::from(key),
                    Value::from(hash),
                    Value::from(Utc::now()),
                ],
            ))
            .await?
            .rows_affected();
        if inserted == 1 {
            txn.commit().await?;
            return Ok(Claim::Owned);
        }
        let p = placeholders(backend, 2);
        let row = txn
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                format!(
                    "SELECT request_hash, status_code, response_body, created_at \
                     FROM idempotency_keys WHERE user_id = {} AND key = {}",
                    p[0], p[1]
                ),
                [Value::from(user_id), Value::from(key)],
            ))
            .await?
            .ok_or_else(|| Error::Internal("an idempotency key vanished".to_owned()))?;
        let stored_hash: String = row.try_get("", "request_hash")?;
        let status: Option<i32> = row.try_get("", "status_code")?;
        let body: Option<String> = row.try_get("", "response_body")?;
        let created_at: chrono::DateTime<Utc> = row.try_get("", "created_at")?;
        if stored_hash != hash {
            return Err(Error::Conflict(
                "this Idempotency-Key was already used for a different request".to_owned(),
            ));
        }
        if let (Some(status), Some(body)) = (status, body) {
            let status = u16::try_from(status).unwrap_or(200);
            return Ok(Claim::Replay(StoredResponse { status, body }));
        }
        if Utc::now() - created_at > STALE_CLAIM {
            // The first request died before answering; this one takes the key over.
            let p = placeholders(backend, 3);
            txn.execute_raw(Statement::from_sql_and_values(
                backend,
                format!(
                    "UPDATE idempotency_keys SET created_at = {} WHERE user_id = {} AND key = {}",
                    p[0], p[1], p[2]
                ),
                [
                    Value::from(Utc::now()),
                    Value::from(user_id),
                    Value::from(key),
                ],
            ))
            .await?;
            txn.commit().await?;
            return Ok(Claim::Owned);
        }
        txn.commit().await?;
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::Conflict(
                "a request with this Idempotency-Key is still being processed; retry later"
                    .to_owned(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Stores the response to the request that owns `key`.
pub async fn complete(
    db: &DatabaseConnection,
    user_id: i32,
    key: &str,
    response: &StoredResponse,
) -> Result<()> {
    let backend = db.get_database_backend();
    let p = placeholders(backend, 4);
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        format!(
            "UPDATE idempotency_keys SET status_code = {}, response_body = {} \
             WHERE user_id = {} AND key = {}",
            p[0], p[1], p[2], p[3]
        ),
        [
            Value::from(i32::from(response.status)),
            Value::from(response.body.as_str()),
            Value::from(user_id),
            Value::from(key),
        ],
    ))
    .await?;
    Ok(())
}

/// Releases `key` after its request failed, so it can be used again.
pub async fn release(db: &DatabaseConnection, user_id: i32, key: &str) -> Result<()> {
    let backend = db.get_database_backend();
    let p = placeholders(backend, 2);
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        format!(
            "DELETE FROM idempotency_keys WHERE user_id = {} AND key = {} AND status_code IS NULL",
            p[0], p[1]
        ),
        [Value::from(user_id), Value::from(key)],
    ))
    .await?;
    Ok(())
}
