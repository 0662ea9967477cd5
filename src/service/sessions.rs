//! Signing in to the web UI: the password check behind the throttling of failed sign-ins, and
//! the user a session cookie names.
//!
//! Failed sign-ins are counted in the database (table `login_attempts`), per account and per
//! client address, over a sliding window; past the limit the answer is "throttled" whatever
//! the password, so guessing stops. Nothing is kept in memory between requests, so the limits
//! hold across restarts and across app instances sharing one database.

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Set};

use crate::entity::{login_attempt, user};
use crate::error::Result;
use crate::service::users::{self, Caller};

/// The window over which failed sign-ins are counted.
pub const THROTTLE_WINDOW_SECONDS: i64 = 15 * 60;
/// Failed sign-ins to one account within the window before it is throttled.
pub const MAX_FAILURES_PER_ACCOUNT: u64 = 5;
/// Failed sign-ins from one client address within the window before it is throttled.
pub const MAX_FAILURES_PER_CLIENT: u64 = 20;

/// What became of a sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    /// The email and password are right and the user is not disabled.
    SignedIn(Caller),
    /// An unknown email, a wrong password or a disabled user: the same answer for all three.
    Refused,
    /// Too many failed sign-ins to this account or from this client within the window; the
    /// password was not checked.
    Throttled,
}

/// Checks a sign-in by `email` and `password` from `client_address` at `now` (Unix seconds).
///
/// Invariants: an account with [`MAX_FAILURES_PER_ACCOUNT`] failures, or a client address
/// with [`MAX_FAILURES_PER_CLIENT`], within the last [`THROTTLE_WINDOW_SECONDS`] is
/// [`SignIn::Throttled`] before its password is looked at, so a right password does not get
/// through either. A refusal counts one failure against the account and one against the
/// client (written in one statement, so both count or neither) and forgets failures older
/// than the window; a success forgets the account's failures, not the client's. The email is
/// compared trimmed and in lower case.
pub async fn sign_in(
    db: &DatabaseConnection,
    email: &str,
    password: &str,
    client_address: &str,
    now: i64,
) -> Result<SignIn> {
    let email = email.trim().to_lowercase();
    let account_key = format!("account:{email}");
    let client_key = format!("client:{client_address}");
    if recent_failures(db, &account_key, now).await? >= MAX_FAILURES_PER_ACCOUNT
        || recent_failures(db, &client_key, now).await? >= MAX_FAILURES_PER_CLIENT
    {
        return Ok(SignIn::Throttled);
    }
    match users::authenticate_password(db, &email, password).await? {
        Some(caller) => {
            forget_failures(db, &account_key).await?;
            Ok(SignIn::SignedIn(caller))
        }
        None => {
            record_failure(db, &[&account_key, &client_key], now).await?;
            Ok(SignIn::Refused)
        }
    }
}

/// The caller a session names by `user_id`: `None` when the user no longer exists or has
/// been disabled, so that either takes effect at the next request; a changed role too.
pub async fn session_caller(db: &DatabaseConnection, user_id: i32) -> Result<Option<Caller>> {
    let user = user::Entity::find_by_id(user_id).one(db).await?;
    match user.filter(|u| u.disabled_at.is_none()) {
        Some(user) => Ok(Some(Caller::of(db, user).await?)),
        None => Ok(None),
    }
}

/// Failed sign-ins against `key` within the window before `now`.
async fn recent_failures(db: &DatabaseConnection, key: &str, now: i64) -> Result<u64> {
    Ok(login_attempt::Entity::find()
        .filter(login_attempt::Column::Key.eq(key))
        .filter(login_attempt::Column::AttemptedAt.gt(now - THROTTLE_WINDOW_SECONDS))
        .count(db)
        .await?)
}

/// Records a failed sign-in against each key, and forgets attempts older than the window.
async fn record_failure(db: &DatabaseConnection, keys: &[&str], now: i64) -> Result<()> {
    login_attempt::Entity::delete_many()
        .filter(login_attempt::Column::AttemptedAt.lte(now - THROTTLE_WINDOW_SECONDS))
        .exec(db)
        .await?;
    login_attempt::Entity::insert_many(keys.iter().map(|key| login_attempt::ActiveModel {
        key: Set((*key).to_owned()),
        attempted_at: Set(now),
        ..Default::default()
    }))
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Forgets every failed sign-in against `key`.
async fn forget_failures(db: &DatabaseConnection, key: &str) -> Result<()> {
    login_attempt::Entity::delete_many()
        .filter(login_attempt::Column::Key.eq(key))
        .exec(db)
        .await?;
    Ok(())
}
