//! Users, passwords and API tokens.
//!
//! Passwords are hashed with argon2id (PHC string with its own random salt). API tokens are
//! 256 random bits shown once; only their SHA-256 is stored, so a copy of the database does
//! not give anyone a working token. Every change is written to the audit trail.

use std::collections::HashMap;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::db;
use crate::domain::Role;
use crate::entity::{api_token, funding_source, institution, user};
use crate::error::{Error, FieldError, Result};
use crate::service::audit::{self, AuditEvent};
use crate::service::import::{ImportOptions, Rights};
use crate::service::web_sessions;

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// What every token starts with, so a leaked one is easy to recognise in logs and scanners.
const TOKEN_PREFIX: &str = "napt_";

/// Who is calling: the user behind a token or a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Caller {
    pub user_id: i32,
    pub email: String,
    pub role: Role,
    /// The institution a recorder is bound to, if any: then they write only for the
    /// activities it leads.
    pub institution_id: Option<i32>,
    /// That institution's code, to show.
    pub institution_code: Option<String>,
}

impl Caller {
    /// The caller `user` is, with the code of their institution looked up when they have one.
    pub async fn of(db: &impl ConnectionTrait, user: user::Model) -> Result<Caller> {
        let institution_code = match user.institution_id {
            Some(id) => institution::Entity::find_by_id(id)
                .one(db)
                .await?
                .map(|i| i.code),
            None => None,
        };
        Ok(Caller {
            user_id: user.id,
            email: user.email,
            role: user.role,
            institution_id: user.institution_id,
            institution_code,
        })
    }

    /// How the caller is named in the audit trail.
    pub fn actor(&self) -> String {
        format!("user:{}", self.email)
    }

    /// What the caller may write.
    pub fn rights(&self) -> Rights {
        Rights::of(self.role, self.institution_id)
    }

    /// What a write of this caller's tells the importer: who writes, who is recorded as having
    /// entered it, and what the caller may write.
    pub fn import_options(&self) -> ImportOptions {
        ImportOptions {
            actor: self.actor(),
            recorded_by: Some(self.user_id),
            rights: self.rights(),
            ..ImportOptions::default()
        }
    }
}

/// A token as listed: never the token itself.
#[derive(Debug, Clone, Serialize)]
pub struct TokenInfo {
    pub id: i32,
    pub email: String,
    pub label: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

fn argon2id() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// An argon2id PHC string for `password`, refusing passwords that are too short.
pub fn hash_password(password: &str) -> Result<String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::invalid(
            "the password is too short",
            vec![FieldError::new(
                "password",
                format!("a password has at least {MIN_PASSWORD_CHARS} characters"),
            )],
        ));
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Internal(e.to_string()))?;
    argon2id()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
}

/// Whether `password` matches the stored PHC string.
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|hash| {
            argon2id()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        })
        .unwrap_or(false)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    Ok(format!("{TOKEN_PREFIX}{}", hex::encode(bytes)))
}

fn check_email(email: &str) -> Result<String> {
    let email = email.trim();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email.to_lowercase())
    } else {
        Err(Error::invalid(
            "the email address is not valid",
            vec![FieldError::new(
                "email",
                format!("\"{email}\" is not an email address"),
            )],
        ))
    }
}

/// Creates a user and a first API token, which is returned (and never stored).
///
/// The email is stored in lower case and must be new; the institution, when given, must
/// exist; a password, when given, is hashed with argon2id.
pub async fn add_user(
    db: &DatabaseConnection,
    email: &str,
    role: Role,
    institution_code: Option<&str>,
    password: Option<&str>,
    actor: &str,
) -> Result<(user::Model, String)> {
    let new = NewUser {
        email,
        role,
        institution: institution_code,
        password,
        with_token: true,
    };
    let (user, token) = create_user(db, new, actor).await?;
    let token = token.ok_or_else(|| Error::Internal("no token was issued".to_owned()))?;
    Ok((user, token))
}

/// What an admin gives a new user.
#[derive(Debug, Clone, Copy)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub role: Role,
    /// The code of the institution the user is bound to (a donor's: the donor whose money
    /// the donor statement shows).
    pub institution: Option<&'a str>,
    /// The web sign-in password; none for a user of API tokens only.
    pub password: Option<&'a str>,
    /// Whether to issue a first API token.
    pub with_token: bool,
}

/// Creates a user, and a first API token when asked, which is returned (and never stored).
///
/// Every problem of the input is reported at once, each on its field: the email must be an
/// address and new (a taken one is a conflict), the password long enough, the institution
/// known and, for a donor, the donor of some funding source. Nothing is stored unless all
/// of it holds. Recorded in the audit trail, without the password or its hash.
pub async fn create_user(
    db: &DatabaseConnection,
    new: NewUser<'_>,
    actor: &str,
) -> Result<(user::Model, Option<String>)> {
    let mut problems = Vec::new();
    let email = check_email(new.email).map_err(|e| problems.extend(e.details().to_vec()));
    let password_hash = new
        .password
        .map(hash_password)
        .transpose()
        .map_err(|e| problems.extend(e.details().to_vec()));
    let txn = db::begin_write(db).await?;
    let institution_id = match new.institution {
        Some(code) => match institution_id_of(&*txn, code).await {
            Ok(id) => match check_binding(&*txn, new.role, Some(id), code).await {
                Ok(()) => Some(id),
                Err(e) => {
                    problems.extend(e.details().to_vec());
                    None
                }
            },
            Err(e @ Error::Invalid { .. }) => {
                problems.extend(e.details().to_vec());
                None
            }
            Err(e) => return Err(e),
        },
        None => None,
    };
    let (Ok(email), Ok(password_hash), true) = (email, password_hash, problems.is_empty()) else {
        return Err(Error::invalid(
            "the user is not valid; nothing was stored",
            problems,
        ));
    };
    if user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(&*txn)
        .await?
        .is_some()
    {
        return Err(Error::Conflict(format!(
            "a user with email {email} already exists"
        )));
    }
    let user = user::ActiveModel {
        email: Set(email.clone()),
        role: Set(new.role),
        institution_id: Set(institution_id),
        password_hash: Set(password_hash),
        created_at: Set(Utc::now()),
        disabled_at: Set(None),
        ..Default::default()
    }
    .insert(&*txn)
    .await?;
    audit::append(
        &*txn,
        AuditEvent::new(
            actor,
            "create",
            "user",
            &email,
            json!({ "after": { "email": email, "role": new.role, "institution": new.institution, "password": user.password_hash.is_some() } }),
        ),
    )
    .await?;
    let token = if new.with_token {
        Some(issue_token(&*txn, &user, Some("created with the user"), actor).await?)
    } else {
        None
    };
    txn.commit().await?;
    Ok((user, token))
}

/// Refuses to bind a donor's account to an institution that gave no money: a donor's
/// institution is the donor of a funding source, whose money the donor statement shows.
async fn check_binding(
    db: &impl ConnectionTrait,
    role: Role,
    institution_id: Option<i32>,
    code: &str,
) -> Result<()> {
    let Some(id) = institution_id.filter(|_| role == Role::Donor) else {
        return Ok(());
    };
    let funds = funding_source::Entity::find()
        .filter(funding_source::Column::DonorId.eq(id))
        .count(db)
        .await?;
    if funds > 0 {
        return Ok(());
    }
    let message = format!(
        "\"{code}\" is not the donor of any funding source: a donor's account is bound to the \
         institution whose money its donor statement shows"
    );
    Err(Error::invalid(
        message.clone(),
        vec![FieldError::new("institution", message)],
    ))
}

/// A new password of 20 random characters (about 98 bits) in groups of four, without the
/// letters and digits that are easily mistaken for each other, for an admin to hand over
/// once.
pub fn generate_password() -> Result<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut password = String::new();
    while password.chars().filter(|c| *c != '-').count() < 20 {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
        // 256 is not a multiple of 31: bytes past the last whole multiple are skipped so that
        // every character is equally likely.
        for b in bytes.into_iter().filter(|b| usize::from(*b) < 248) {
            let count = password.chars().filter(|c| *c != '-').count();
            if count == 20 {
                break;
            }
            if count > 0 && count % 4 == 0 && !password.ends_with('-') {
                password.push('-');
            }
            password.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
        }
    }
    Ok(password)
}

async fn issue_token<C: ConnectionTrait>(
    conn: &C,
    user: &user::Model,
    label: Option<&str>,
    actor: &str,
) -> Result<String> {
    let token = new_token()?;
    let stored = api_token::ActiveModel {
        user_id: Set(user.id),
        token_hash: Set(token_hash(&token)),
        label: Set(label.map(str::to_owned)),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
        revoked_at: Set(None),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    audit::append(
        conn,
        AuditEvent::new(
            actor,
            "create",
            "api_token",
            &stored.id.to_string(),
            json!({ "after": { "user": user.email, "label": label } }),
        ),
    )
    .await?;
    Ok(token)
}

async fn find_user<C: ConnectionTrait>(conn: &C, email: &str) -> Result<user::Model> {
    let email = email.trim().to_lowercase();
    user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(conn)
        .await?
        .ok_or_else(|| Error::NotFound(format!("there is no user with email {email}")))
}

/// A new API token for an existing user.
pub async fn create_token(
    db: &DatabaseConnection,
    email: &str,
    label: Option<&str>,
    actor: &str,
) -> Result<String> {
    let txn = db::begin_write(db).await?;
    let user = find_user(&*txn, email).await?;
    let token = issue_token(&*txn, &user, label, actor).await?;
    txn.commit().await?;
    Ok(token)
}

impl TokenInfo {
    /// A token as listed, with the email of its user.
    fn of((token, user): (api_token::Model, Option<user::Model>)) -> TokenInfo {
        TokenInfo {
            id: token.id,
            email: user.map(|u| u.email).unwrap_or_default(),
            label: token.label,
            created_at: token.created_at,
            last_used_at: token.last_used_at,
            revoked_at: token.revoked_at,
        }
    }
}

/// Every token, or those of one user, newest first.
pub async fn list_tokens(db: &DatabaseConnection, email: Option<&str>) -> Result<Vec<TokenInfo>> {
    let mut query = api_token::Entity::find()
        .find_also_related(user::Entity)
        .order_by_desc(api_token::Column::Id);
    if let Some(email) = email {
        let user = find_user(db, email).await?;
        query = query.filter(api_token::Column::UserId.eq(user.id));
    }
    Ok(query
        .all(db)
        .await?
        .into_iter()
        .map(TokenInfo::of)
        .collect())
}

/// Revokes token `id`; a revoked token never authenticates again.
pub async fn revoke_token(db: &DatabaseConnection, id: i32, actor: &str) -> Result<()> {
    let txn = db::begin_write(db).await?;
    let token = api_token::Entity::find_by_id(id)
        .one(&*txn)
        .await?
        .ok_or_else(|| Error::NotFound(format!("there is no token {id}")))?;
    if token.revoked_at.is_some() {
        return Err(Error::Conflict(format!("token {id} is already revoked")));
    }
    let mut model = token.into_active_model();
    model.revoked_at = Set(Some(Utc::now()));
    model.update(&*txn).await?;
    audit::append(
        &*txn,
        AuditEvent::new(actor, "revoke", "api_token", &id.to_string(), json!({})),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// The caller a bearer token belongs to; `None` for an unknown, revoked or disabled one.
pub async fn authenticate_token(db: &DatabaseConnection, token: &str) -> Result<Option<Caller>> {
    if !token.starts_with(TOKEN_PREFIX) || token.len() > 128 {
        return Ok(None);
    }
    let found = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(token_hash(token)))
        .filter(api_token::Column::RevokedAt.is_null())
        .find_also_related(user::Entity)
        .one(db)
        .await?;
    let Some((token, Some(user))) = found else {
        return Ok(None);
    };
    if user.disabled_at.is_some() {
        return Ok(None);
    }
    // Recorded at most once a minute, so a busy script does not turn every read into a write,
    // and in the background: a request never waits behind a long import for this bookkeeping.
    let now = Utc::now();
    if token
        .last_used_at
        .is_none_or(|last| now - last > chrono::Duration::minutes(1))
    {
        let db = db.clone();
        tokio::spawn(async move {
            let updated = api_token::Entity::update_many()
                .col_expr(
                    api_token::Column::LastUsedAt,
                    sea_orm::sea_query::Expr::value(now),
                )
                .filter(api_token::Column::Id.eq(token.id))
                .exec(&db)
                .await;
            if let Err(e) = updated {
                rocket::warn!(
                    "could not record when token {} was last used: {e}",
                    token.id
                );
            }
        });
    }
    Ok(Some(Caller::of(db, user).await?))
}

/// A hash of no one's password with the same parameters as every stored one, made once: the
/// sign-ins that have no hash to check (an unknown email, a user without a password) check
/// this instead, so that they take as long as a wrong password does.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("no one's password, for timing only").unwrap_or_default())
}

/// The caller whose email and password these are; `None` for an unknown email, a user
/// without a password, a wrong password and a disabled user alike, so the answer does not
/// tell which. One argon2 verification runs in every case, so the time does not tell either.
pub async fn authenticate_password(
    db: &DatabaseConnection,
    email: &str,
    password: &str,
) -> Result<Option<Caller>> {
    let email = email.trim().to_lowercase();
    let user = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(db)
        .await?;
    let stored = user
        .as_ref()
        .and_then(|u| u.password_hash.as_deref())
        .unwrap_or_else(|| dummy_hash());
    let matches = verify_password(password, stored);
    match user {
        Some(user) if matches && user.password_hash.is_some() && user.disabled_at.is_none() => {
            Ok(Some(Caller::of(db, user).await?))
        }
        _ => Ok(None),
    }
}

/// Sets a new password for the user with `email` and ends every web session of theirs, in
/// one transaction, so that a session signed in with the old password (or stolen with it)
/// does not outlive it. Recorded in the audit trail, without the password or its hash.
/// Returns how many sessions were ended.
pub async fn set_password(
    db: &DatabaseConnection,
    email: &str,
    password: &str,
    actor: &str,
) -> Result<u64> {
    let password_hash = hash_password(password)?;
    let txn = db::begin_write(db).await?;
    let stored = find_user(&*txn, email).await?;
    let email = stored.email.clone();
    let user_id = stored.id;
    let had_password = stored.password_hash.is_some();
    let mut active = stored.into_active_model();
    active.password_hash = Set(Some(password_hash));
    active.update(&*txn).await?;
    let ended = web_sessions::end_all(&*txn, user_id).await?;
    audit::append(
        &*txn,
        AuditEvent::new(
            actor,
            "update",
            "user",
            &email,
            json!({ "before": { "password": had_password }, "after": { "password": true }, "sessions_ended": ended }),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(ended)
}

/// Ends every web session of the user with `email` ("sign out everywhere"): each browser
/// they are signed in on must sign in again. Recorded in the audit trail. Returns how many
/// sessions were ended.
pub async fn sign_out_everywhere(db: &DatabaseConnection, email: &str, actor: &str) -> Result<u64> {
    let txn = db::begin_write(db).await?;
    let stored = find_user(&*txn, email).await?;
    let ended = web_sessions::end_all(&*txn, stored.id).await?;
    audit::append(
        &*txn,
        AuditEvent::new(
            actor,
            "sign_out_everywhere",
            "user",
            &stored.email,
            json!({ "sessions_ended": ended }),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(ended)
}

/// The id of the institution with `code`; an unknown code is an error on `institution`.
async fn institution_id_of(db: &impl ConnectionTrait, code: &str) -> Result<i32> {
    let found = institution::Entity::find()
        .filter(institution::Column::Code.eq(code))
        .one(db)
        .await?;
    found.map(|i| i.id).ok_or_else(|| {
        let message = format!("there is no institution with code \"{code}\"");
        Error::invalid(
            message.clone(),
            vec![FieldError::new("institution", message)],
        )
    })
}

/// What an admin changes of a user's access: a new role, a new institution (`Some(None)`
/// unbinds), or both.
#[derive(Debug, Clone, Default)]
pub struct AccessChange {
    pub role: Option<Role>,
    pub institution: Option<Option<String>>,
}

/// Changes a user's role or institution, takes effect at their next request, and records the
/// change in the audit trail with before and after. Returns the user as listed after it.
pub async fn change_access(
    db: &DatabaseConnection,
    email: &str,
    change: AccessChange,
    actor: &str,
) -> Result<UserInfo> {
    let email = email.trim().to_lowercase();
    let txn = db::begin_write(db).await?;
    let stored = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(&*txn)
        .await?
        .ok_or_else(|| Error::NotFound(format!("there is no user with email {email}")))?;
    let institution_id = match &change.institution {
        Some(Some(code)) => Some(institution_id_of(&*txn, code).await?),
        Some(None) => None,
        None => stored.institution_id,
    };
    let role = change.role.unwrap_or(stored.role);
    if role == stored.role && institution_id == stored.institution_id {
        txn.commit().await?;
        return info_of(db, stored).await;
    }
    if let (Some(Some(code)), Some(id)) = (&change.institution, institution_id) {
        check_binding(&*txn, role, Some(id), code).await?;
    }
    if stored.role == Role::Admin && role != Role::Admin {
        ensure_another_admin(&*txn, stored.id).await?;
    }
    let codes = institution_codes(&*txn).await?;
    let access = |role: Role, id: Option<i32>| json!({ "role": role, "institution": id.and_then(|id| codes.get(&id)) });
    let details = json!({
        "before": access(stored.role, stored.institution_id),
        "after": access(role, institution_id),
    });
    let mut active = stored.into_active_model();
    active.role = Set(role);
    active.institution_id = Set(institution_id);
    let updated = active.update(&*txn).await?;
    audit::append(
        &*txn,
        AuditEvent::new(actor, "update", "user", &email, details),
    )
    .await?;
    txn.commit().await?;
    info_of(db, updated).await
}

/// Refuses to take the admin role away from the last active admin (by demotion or by
/// disabling): nobody could manage users in the web afterwards.
async fn ensure_another_admin(db: &impl ConnectionTrait, user_id: i32) -> Result<()> {
    let others = user::Entity::find()
        .filter(user::Column::Role.eq(Role::Admin))
        .filter(user::Column::DisabledAt.is_null())
        .filter(user::Column::Id.ne(user_id))
        .count(db)
        .await?;
    if others == 0 {
        return Err(Error::Conflict(
            "this is the last active admin: make another user an admin first".to_owned(),
        ));
    }
    Ok(())
}

/// Disables the user with `email` (`disabled`) or enables them again. A disabled user cannot
/// sign in, none of their API tokens authenticates, and every web session of theirs ends in
/// the same transaction. The last active admin cannot be disabled. Recorded in the audit
/// trail with before and after; a request that changes nothing writes nothing.
pub async fn set_disabled(
    db: &DatabaseConnection,
    email: &str,
    disabled: bool,
    actor: &str,
) -> Result<UserInfo> {
    let txn = db::begin_write(db).await?;
    let stored = find_user(&*txn, email).await?;
    if stored.disabled_at.is_some() == disabled {
        txn.commit().await?;
        return info_of(db, stored).await;
    }
    if disabled && stored.role == Role::Admin {
        ensure_another_admin(&*txn, stored.id).await?;
    }
    let user_id = stored.id;
    let email = stored.email.clone();
    let mut active = stored.into_active_model();
    active.disabled_at = Set(disabled.then(Utc::now));
    let updated = active.update(&*txn).await?;
    let ended = if disabled {
        web_sessions::end_all(&*txn, user_id).await?
    } else {
        0
    };
    audit::append(
        &*txn,
        AuditEvent::new(
            actor,
            if disabled { "disable" } else { "enable" },
            "user",
            &email,
            json!({ "before": { "disabled": !disabled }, "after": { "disabled": disabled }, "sessions_ended": ended }),
        ),
    )
    .await?;
    txn.commit().await?;
    info_of(db, updated).await
}

/// The user with `email`, as listed.
pub async fn user_info(db: &DatabaseConnection, email: &str) -> Result<UserInfo> {
    let stored = find_user(db, email).await?;
    info_of(db, stored).await
}

/// One page of the users whose email contains `search` (every user without one), by email,
/// with how many match in all.
pub async fn list_users_page(
    db: &DatabaseConnection,
    search: Option<&str>,
    limit: u64,
    offset: u64,
) -> Result<(u64, Vec<UserInfo>)> {
    let mut query = user::Entity::find().order_by_asc(user::Column::Email);
    if let Some(search) = search.map(str::trim).filter(|s| !s.is_empty()) {
        query = query.filter(user::Column::Email.contains(search.to_lowercase()));
    }
    let total = query.clone().count(db).await?;
    let codes = institution_codes(db).await?;
    let users = query
        .limit(limit)
        .offset(offset)
        .all(db)
        .await?
        .into_iter()
        .map(|u| UserInfo::of(u, &codes))
        .collect();
    Ok((total, users))
}

/// One page of the tokens, or of one user's, newest first, with how many there are in all.
pub async fn list_tokens_page(
    db: &DatabaseConnection,
    email: Option<&str>,
    limit: u64,
    offset: u64,
) -> Result<(u64, Vec<TokenInfo>)> {
    let mut query = api_token::Entity::find().order_by_desc(api_token::Column::Id);
    if let Some(email) = email {
        let user = find_user(db, email).await?;
        query = query.filter(api_token::Column::UserId.eq(user.id));
    }
    let total = query.clone().count(db).await?;
    let tokens = query
        .find_also_related(user::Entity)
        .limit(limit)
        .offset(offset)
        .all(db)
        .await?
        .into_iter()
        .map(TokenInfo::of)
        .collect();
    Ok((total, tokens))
}

/// Institution codes by id.
async fn institution_codes(db: &impl ConnectionTrait) -> Result<HashMap<i32, String>> {
    Ok(institution::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|i| (i.id, i.code))
        .collect())
}

async fn info_of(db: &DatabaseConnection, user: user::Model) -> Result<UserInfo> {
    let codes = institution_codes(db).await?;
    Ok(UserInfo::of(user, &codes))
}

/// A user as listed: never the password hash, only whether there is one.
#[derive(Debug, Clone, Serialize)]
pub struct UserInfo {
    pub email: String,
    pub role: Role,
    /// Whether the user can sign in to the web UI with a password.
    pub has_password: bool,
    pub disabled: bool,
    /// The code of the institution the user is bound to, if any.
    pub institution: Option<String>,
}

impl UserInfo {
    fn of(user: user::Model, codes: &HashMap<i32, String>) -> UserInfo {
        UserInfo {
            institution: user.institution_id.and_then(|id| codes.get(&id).cloned()),
            email: user.email,
            role: user.role,
            has_password: user.password_hash.is_some(),
            disabled: user.disabled_at.is_some(),
        }
    }
}

/// Every user, by email, disabled ones included.
pub async fn list_users(db: &DatabaseConnection) -> Result<Vec<UserInfo>> {
    let codes = institution_codes(db).await?;
    Ok(user::Entity::find()
        .order_by_asc(user::Column::Email)
        .all(db)
        .await?
        .into_iter()
        .map(|u| UserInfo::of(u, &codes))
        .collect())
}

/// Whether the database holds any user, disabled ones included.
pub async fn has_users(db: &DatabaseConnection) -> Result<bool> {
    Ok(user::Entity::find().count(db).await? > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let hash = hash_password("correct horse battery").unwrap_or_default();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse battery!", &hash));
    }

    #[test]
    fn a_short_password_is_refused() {
        assert!(hash_password("short").is_err());
    }

    #[test]
    fn tokens_carry_256_random_bits() {
        let a = new_token().unwrap_or_default();
        let b = new_token().unwrap_or_default();
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 64);
        assert_ne!(a, b);
    }

    #[test]
    fn emails_are_checked_and_lowercased() {
        assert_eq!(
            check_email(" Clerk@Ministry.gov ").ok(),
            Some("clerk@ministry.gov".to_owned())
        );
        assert!(check_email("clerk").is_err());
        assert!(check_email("clerk@localhost").is_err());
        assert!(check_email("a b@x.org").is_err());
    }
}
