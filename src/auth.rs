//! Request guards: who is calling, and what may they do. Every route that needs a caller
//! takes one of these guards, so the rules of the contract's role table live here alone.
//!
//! A missing, unknown or revoked credential is 401; a known caller whose role does not allow
//! the route is 403.

use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use sea_orm::DatabaseConnection;

use crate::domain::Role;
use crate::error::Error;
use crate::service::users::{self, Caller};

/// The caller of this request, looked up once and cached for the request.
async fn caller(request: &Request<'_>) -> Result<Caller, Status> {
    let cached = request
        .local_cache_async(async {
            let Some(db) = request.rocket().state::<DatabaseConnection>() else {
                return Err(Status::InternalServerError);
            };
            let Some(token) = bearer_token(request) else {
                return Err(Status::Unauthorized);
            };
            match users::authenticate_token(db, token).await {
                Ok(Some(caller)) => Ok(caller),
                Ok(None) => Err(Status::Unauthorized),
                Err(e) => Err(e.status()),
            }
        })
        .await;
    cached.clone()
}

fn bearer_token<'r>(request: &'r Request<'_>) -> Option<&'r str> {
    let header = request.headers().get_one("Authorization")?;
    let (scheme, token) = header.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Caller {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        match caller(request).await {
            Ok(caller) => Outcome::Success(caller),
            Err(status) => Outcome::Error((status, ())),
        }
    }
}

fn forbidden() -> Error {
    Error::Forbidden("your role does not allow this".to_owned())
}

fn unauthenticated(status: Status) -> Error {
    if status == Status::Unauthorized {
        Error::Unauthenticated
    } else {
        Error::Internal(format!("authentication failed with {status}"))
    }
}

/// A guard that admits callers with one of `roles`.
///
/// Rocket runs request guards before it parses path parameters, so a route whose path
/// parameter may not match (a record kind) takes `Result<Guard, Error>` and applies it with
/// `?` in its body: an unknown path is then 404 for everyone, not 401.
macro_rules! role_guard {
    ($(#[$meta:meta])* $name:ident: $($role:ident),+) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub struct $name(pub Caller);

        impl $name {
            pub const ROLES: &'static [Role] = &[$(Role::$role),+];
        }

        #[rocket::async_trait]
        impl<'r> FromRequest<'r> for $name {
            type Error = Error;

            async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
                match caller(request).await {
                    Ok(caller) if Self::ROLES.contains(&caller.role) => Outcome::Success($name(caller)),
                    Ok(_) => Outcome::Error((Status::Forbidden, forbidden())),
                    Err(status) => Outcome::Error((status, unauthenticated(status))),
                }
            }
        }
    };
}

role_guard!(
    /// Any signed-in role: reads plan data, reports, flags and exports.
    Reader: Admin, Recorder, Donor, Auditor
);
role_guard!(
    /// Ministry staff and admins: create and import plan data, disbursements and reversals.
    Writer: Admin, Recorder
);
role_guard!(
    /// Auditors and admins: the audit trail.
    AuditReader: Admin, Auditor
);
role_guard!(
    /// Admins: users and tokens.
    Admin: Admin
);

/// Whether `given` is the secret `expected` (a CSRF token, a session value), compared in
/// constant time so the time taken does not tell how much of it matched. The length is not
/// secret. An empty secret matches nothing, not even an empty answer.
pub fn same_secret(expected: &str, given: &str) -> bool {
    use subtle::ConstantTimeEq;
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::same_secret;

    #[test]
    fn a_secret_matches_only_itself() {
        let secret = "3f2a9c0e5b7d41a8";
        assert!(same_secret(secret, "3f2a9c0e5b7d41a8"));
        assert!(!same_secret(secret, "3f2a9c0e5b7d41a9"));
        assert!(!same_secret(secret, "3f2a9c0e5b7d41a"));
        assert!(!same_secret(secret, "3f2a9c0e5b7d41a80"));
        assert!(!same_secret(secret, ""));
    }

    #[test]
    fn an_empty_secret_matches_nothing() {
        assert!(!same_secret("", ""));
        assert!(!same_secret("", "x"));
    }
}
