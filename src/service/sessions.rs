//! Signing in to the web UI: the password check behind the throttling of failed sign-ins.
//!
//! Failed sign-ins are counted in the database (table `login_attempts`) over a sliding window
//! of [`THROTTLE_WINDOW_SECONDS`], against three keys at once, each with its own rule:
//!
//! - the account and client address together (`pair:<email>|<address>`): after
//!   [`FREE_FAILURES_PER_PAIR`] failures the pair must wait before its next try, 5 seconds and
//!   twice as long after each further failure, up to [`MAX_PAIR_DELAY_SECONDS`]. This slows a
//!   guesser down without touching anyone else: the account's owner, signing in from their own
//!   address, is not held back by a stranger's failures elsewhere.
//! - the client address (`client:<address>`): [`MAX_FAILURES_PER_CLIENT`] failures, whatever
//!   accounts they name, stop that address for the rest of the window.
//! - the account (`account:<email>`): a generous ceiling, [`MAX_FAILURES_PER_ACCOUNT`],
//!   against guessing spread over many addresses. Reaching it takes at least five addresses
//!   each at its own limit, so no single stranger can lock a user out.
//!
//! A throttled sign-in is refused before its password is looked at, so a right password does
//! not get through either, and the answer says how long to wait. Nothing is kept in memory
//! between requests, so the limits hold across restarts and across app instances sharing one
//! database.

use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, Set,
};

use crate::entity::login_attempt;
use crate::error::Result;
use crate::service::users::{self, Caller};

/// The window over which failed sign-ins are counted.
pub const THROTTLE_WINDOW_SECONDS: i64 = 15 * 60;
/// Failed sign-ins of one account from one address before that pair has to wait.
pub const FREE_FAILURES_PER_PAIR: u64 = 3;
/// The wait after the first failure past [`FREE_FAILURES_PER_PAIR`]; it doubles with each
/// further failure.
pub const FIRST_PAIR_DELAY_SECONDS: i64 = 5;
/// The longest wait between two tries of one pair.
pub const MAX_PAIR_DELAY_SECONDS: i64 = 5 * 60;
/// Failed sign-ins from one client address within the window before it is throttled.
pub const MAX_FAILURES_PER_CLIENT: u64 = 20;
/// Failed sign-ins to one account, from all addresses, within the window before it is
/// throttled.
pub const MAX_FAILURES_PER_ACCOUNT: u64 = 100;

/// What became of a sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    /// The email and password are right and the user is not disabled.
    SignedIn(Caller),
    /// An unknown email, a user without a password, a wrong password or a disabled user: the
    /// same answer, after the same work, for all four.
    Refused,
    /// Too many failed sign-ins for this pair, this client or this account; the password was
    /// not checked. The client may try again after `retry_after_seconds`.
    Throttled { retry_after_seconds: i64 },
}

/// The wait a pair with `failures` recent failures owes after its last one, if any.
pub fn pair_delay_seconds(failures: u64) -> Option<i64> {
    let past_free = failures.checked_sub(FREE_FAILURES_PER_PAIR)?;
    // 5 · 2^9 already exceeds the cap, so the shift never overflows.
    let doublings = u32::try_from(past_free.min(9)).unwrap_or(9);
    Some((FIRST_PAIR_DELAY_SECONDS << doublings).min(MAX_PAIR_DELAY_SECONDS))
}

/// Checks a sign-in by `email` and `password` from `client_address` at `now` (Unix seconds).
///
/// Invariants: the limits of the module's comment are checked first, and a throttled sign-in
/// is [`SignIn::Throttled`] whatever its password. Otherwise the password is hashed in every
/// case (see [`users::authenticate_password`]). A refusal counts one failure against the
/// pair, the client and the account (written in one statement, so all count or none) and
/// forgets failures older than the window; a success forgets the pair's failures, not the
/// client's nor the account's, so that signing in does not reset a guesser's count. The email
/// is compared trimmed and in lower case.
pub async fn sign_in(
    db: &DatabaseConnection,
    email: &str,
    password: &str,
    client_address: &str,
    now: i64,
) -> Result<SignIn> {
    let email = email.trim().to_lowercase();
    let pair_key = format!("pair:{email}|{client_address}");
    let client_key = format!("client:{client_address}");
    let account_key = format!("account:{email}");
    for (key, limit) in [
        (&client_key, MAX_FAILURES_PER_CLIENT),
        (&account_key, MAX_FAILURES_PER_ACCOUNT),
    ] {
        let (failures, oldest, _) = recent_failures(db, key, now).await?;
        if failures >= limit {
            let retry_after_seconds = (oldest + THROTTLE_WINDOW_SECONDS - now).max(1);
            return Ok(SignIn::Throttled {
                retry_after_seconds,
            });
        }
    }
    let (failures, _, latest) = recent_failures(db, &pair_key, now).await?;
    if let Some(delay) = pair_delay_seconds(failures) {
        let wait = latest + delay - now;
        if wait > 0 {
            return Ok(SignIn::Throttled {
                retry_after_seconds: wait,
            });
        }
    }
    match users::authenticate_password(db, &email, password).await? {
        Some(caller) => {
            forget_failures(db, &pair_key).await?;
            Ok(SignIn::SignedIn(caller))
        }
        None => {
            record_failure(db, &[&pair_key, &client_key, &account_key], now).await?;
            Ok(SignIn::Refused)
        }
    }
}

/// The failed sign-ins against `key` within the window before `now`: how many, and when the
/// oldest and the latest were (both 0 when there are none).
async fn recent_failures(db: &DatabaseConnection, key: &str, now: i64) -> Result<(u64, i64, i64)> {
    let recent = || {
        login_attempt::Entity::find()
            .filter(login_attempt::Column::Key.eq(key))
            .filter(login_attempt::Column::AttemptedAt.gt(now - THROTTLE_WINDOW_SECONDS))
    };
    let failures = recent().count(db).await?;
    if failures == 0 {
        return Ok((0, 0, 0));
    }
    let span: Option<(Option<i64>, Option<i64>)> = recent()
        .select_only()
        .column_as(login_attempt::Column::AttemptedAt.min(), "oldest")
        .column_as(login_attempt::Column::AttemptedAt.max(), "latest")
        .into_tuple()
        .one(db)
        .await?;
    let (oldest, latest) = span.unwrap_or_default();
    Ok((failures, oldest.unwrap_or(now), latest.unwrap_or(now)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_waits_only_past_its_free_failures_and_the_wait_doubles_up_to_the_cap() {
        assert_eq!(pair_delay_seconds(0), None);
        assert_eq!(pair_delay_seconds(FREE_FAILURES_PER_PAIR - 1), None);
        assert_eq!(pair_delay_seconds(FREE_FAILURES_PER_PAIR), Some(5));
        assert_eq!(pair_delay_seconds(FREE_FAILURES_PER_PAIR + 1), Some(10));
        assert_eq!(pair_delay_seconds(FREE_FAILURES_PER_PAIR + 5), Some(160));
        assert_eq!(pair_delay_seconds(FREE_FAILURES_PER_PAIR + 6), Some(300));
        assert_eq!(pair_delay_seconds(u64::MAX), Some(MAX_PAIR_DELAY_SECONDS));
    }
}
