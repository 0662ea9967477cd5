//! Server-side sessions of the web UI (table `web_sessions`).
//!
//! A sign-in starts a session: 256 random bits that the browser keeps in its encrypted session
//! cookie, of which only the SHA-256 is stored. Every signed-in request looks the session up,
//! so ending it (sign-out, a password change, an admin's "sign out everywhere") refuses every
//! copy of the cookie at once, which a cookie that carried the user's id alone could not do
//! before it expired. A session also ends after [`MAX_SESSION_SECONDS`] whatever happens, and
//! after an idle time without requests when one is configured (`session_idle_minutes`).
//!
//! This is bookkeeping, not a change to the plan's records: nothing here writes to the audit
//! trail. The service that ends sessions because of an audited change (a password, an admin's
//! "sign out everywhere") records that change itself. Times are Unix seconds handed in by the
//! caller, so the rules can be tested at any moment without waiting for it.

use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};

use crate::entity::{user, web_session};
use crate::error::{Error, Result};
use crate::service::users::Caller;

/// How long a session lasts after sign-in, however busy it is.
pub const MAX_SESSION_SECONDS: i64 = 12 * 60 * 60;
/// How stale `last_seen_at` may grow before a request writes it again: the idle timeout is
/// counted to within this, and a busy browser does not turn every page into a write.
pub const TOUCH_EVERY_SECONDS: i64 = 60;
/// The length of a session token in hexadecimal digits (256 bits).
const TOKEN_HEX_DIGITS: usize = 64;

/// How long sessions live: the absolute limit and the idle timeout (`None`: no idle limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    pub max_seconds: i64,
    pub idle_seconds: Option<i64>,
}

impl Lifetime {
    /// The 12-hour limit and an idle timeout of `minutes` (0: none), as configured.
    pub fn with_idle_minutes(minutes: u32) -> Lifetime {
        Lifetime {
            max_seconds: MAX_SESSION_SECONDS,
            idle_seconds: (minutes > 0).then(|| i64::from(minutes) * 60),
        }
    }

    /// Whether a session started at `created_at` and last seen at `last_seen_at` has ended
    /// by `now`.
    pub fn has_ended(&self, created_at: i64, last_seen_at: i64, now: i64) -> bool {
        now - created_at >= self.max_seconds
            || now < created_at
            || self
                .idle_seconds
                .is_some_and(|idle| now - last_seen_at >= idle)
    }
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Starts a session for `user_id` at `now` and returns its token, which is not stored (only
/// its hash is). Sessions of any user that are past the absolute limit are deleted on the way,
/// so the table holds no more than 12 hours of sign-ins.
pub async fn start(db: &DatabaseConnection, user_id: i32, now: i64) -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    let token = hex::encode(bytes);
    web_session::Entity::delete_many()
        .filter(web_session::Column::CreatedAt.lte(now - MAX_SESSION_SECONDS))
        .exec(db)
        .await?;
    web_session::Entity::insert(web_session::ActiveModel {
        user_id: Set(user_id),
        token_hash: Set(token_hash(&token)),
        created_at: Set(now),
        last_seen_at: Set(now),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await?;
    Ok(token)
}

/// The caller whose session `token` is at `now`; `None` when there is no such session, when
/// it has ended by `lifetime` (its row is then deleted), or when its user no longer exists or
/// has been disabled. A role changed since sign-in applies at once: the user is read anew.
///
/// `last_seen_at` is written at most once per [`TOUCH_EVERY_SECONDS`], in the background, so
/// that a page never waits behind a long import's write lock for this bookkeeping.
pub async fn resume(
    db: &DatabaseConnection,
    token: &str,
    now: i64,
    lifetime: Lifetime,
) -> Result<Option<Caller>> {
    if token.len() != TOKEN_HEX_DIGITS || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let Some(session) = web_session::Entity::find()
        .filter(web_session::Column::TokenHash.eq(token_hash(token)))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if lifetime.has_ended(session.created_at, session.last_seen_at, now) {
        web_session::Entity::delete_by_id(session.id)
            .exec(db)
            .await?;
        return Ok(None);
    }
    let user = user::Entity::find_by_id(session.user_id).one(db).await?;
    let Some(user) = user.filter(|u| u.disabled_at.is_none()) else {
        return Ok(None);
    };
    if now - session.last_seen_at >= TOUCH_EVERY_SECONDS {
        let db = db.clone();
        tokio::spawn(async move {
            let touched = web_session::Entity::update_many()
                .col_expr(
                    web_session::Column::LastSeenAt,
                    sea_orm::sea_query::Expr::value(now),
                )
                .filter(web_session::Column::Id.eq(session.id))
                .exec(&db)
                .await;
            if let Err(e) = touched {
                rocket::warn!("could not record when session {} was seen: {e}", session.id);
            }
        });
    }
    Ok(Some(Caller::of(db, user).await?))
}

/// Ends the session `token`, if there is one: every copy of its cookie is refused from now.
pub async fn end(db: &DatabaseConnection, token: &str) -> Result<()> {
    web_session::Entity::delete_many()
        .filter(web_session::Column::TokenHash.eq(token_hash(token)))
        .exec(db)
        .await?;
    Ok(())
}

/// Ends every session of `user_id` and says how many there were. Takes any connection, so a
/// change that ends sessions (a new password) does it in its own transaction.
pub async fn end_all(conn: &impl ConnectionTrait, user_id: i32) -> Result<u64> {
    Ok(web_session::Entity::delete_many()
        .filter(web_session::Column::UserId.eq(user_id))
        .exec(conn)
        .await?
        .rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_ends_twelve_hours_after_sign_in_however_busy() {
        let lifetime = Lifetime::with_idle_minutes(60);
        let start = 1_000_000;
        let busy = start + MAX_SESSION_SECONDS - 1;
        assert!(!lifetime.has_ended(start, busy, start + MAX_SESSION_SECONDS - 1));
        assert!(lifetime.has_ended(start, busy, start + MAX_SESSION_SECONDS));
    }

    #[test]
    fn a_session_ends_after_the_idle_time_and_not_before() {
        let lifetime = Lifetime::with_idle_minutes(30);
        let start = 1_000_000;
        assert!(!lifetime.has_ended(start, start + 60, start + 60 + 30 * 60 - 1));
        assert!(lifetime.has_ended(start, start + 60, start + 60 + 30 * 60));
    }

    #[test]
    fn no_idle_limit_leaves_only_the_absolute_one() {
        let lifetime = Lifetime::with_idle_minutes(0);
        let start = 1_000_000;
        assert!(!lifetime.has_ended(start, start, start + MAX_SESSION_SECONDS - 1));
        assert!(lifetime.has_ended(start, start, start + MAX_SESSION_SECONDS));
    }

    #[test]
    fn a_session_from_the_future_is_refused() {
        let lifetime = Lifetime::with_idle_minutes(60);
        assert!(lifetime.has_ended(2_000, 2_000, 1_999));
    }
}
