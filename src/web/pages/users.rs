//! The users and tokens pages (admins): the list of users with a search and pages, a form to
//! add one, and each user's own page where an admin changes their role and institution,
//! resets their password, disables or enables them, signs them out everywhere and manages
//! their API tokens.
//!
//! Every POST checks the CSRF token and the admin role before anything else, and writes
//! through [`crate::service::users`], as the command line does, so every change is in the
//! audit trail. A refused write stores nothing and shows the form again with each error
//! beside its field (422, or 409 for a taken email or the last admin). A password or a token
//! made here is shown once, on the page that answers the POST, and never again.

use askama::Template;
use rocket::form::{Form, FromForm};
use rocket::http::Status;
use rocket::request::FlashMessage;
use rocket::response::content::RawHtml;
use rocket::response::{Flash, Redirect};
use rocket::{State, get, post, uri};
use sea_orm::{DatabaseConnection, EntityTrait, QueryOrder};

use crate::domain::Role;
use crate::entity::institution;
use crate::error::{Error, FieldError};
use crate::service::users::{self, AccessChange, NewUser, TokenInfo, UserInfo};
use crate::web::forms::Field;
use crate::web::session::WebUser;
use crate::web::{Nav, Page, WebError, render_text};

/// Users a page of the list holds.
const USERS_PAGE: u64 = 50;
/// Tokens a page of a token list holds.
const TOKENS_PAGE: u64 = 50;

/// The roles an admin may give, in the order the form offers them.
pub const ROLES: [Role; 4] = [Role::Admin, Role::Recorder, Role::Donor, Role::Auditor];

/// The answer of a POST: somewhere to go next, or the page again with its status.
type Answer<R> = Result<Result<R, (Status, RawHtml<String>)>, WebError>;

pub struct UserRow {
    pub email: String,
    pub href: String,
    pub role: Role,
    pub institution: String,
    pub password: bool,
    pub disabled: bool,
}

impl UserRow {
    fn of(user: UserInfo) -> UserRow {
        UserRow {
            href: account_href(&user.email),
            email: user.email,
            role: user.role,
            institution: user.institution.unwrap_or_default(),
            password: user.has_password,
            disabled: user.disabled,
        }
    }
}

pub struct TokenRow {
    pub id: i32,
    pub email: String,
    pub label: String,
    pub created_at: String,
    pub last_used_at: String,
    pub revoked: String,
}

impl TokenRow {
    fn of(t: TokenInfo) -> TokenRow {
        let time = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
        TokenRow {
            id: t.id,
            email: t.email,
            label: t.label.unwrap_or_default(),
            created_at: time(t.created_at),
            last_used_at: t.last_used_at.map(time).unwrap_or_default(),
            revoked: t.revoked_at.map(time).unwrap_or_default(),
        }
    }
}

/// An institution a user may be bound to, as the pickers offer it.
pub struct InstitutionChoice {
    pub code: String,
    pub label: String,
}

/// Links to the previous and next page of a list, keeping its query.
#[derive(Default)]
pub struct Pager {
    /// "Users 1 to 50 of 230".
    pub summary: String,
    pub previous: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    pub(crate) fn new(
        what: &str,
        total: u64,
        offset: u64,
        size: u64,
        href: impl Fn(u64) -> String,
    ) -> Pager {
        let last = (offset + size).min(total);
        Pager {
            summary: if total == 0 {
                format!("No {what}.")
            } else {
                format!("{} {} to {last} of {total}.", capitalised(what), offset + 1)
            },
            previous: (offset > 0).then(|| href(offset.saturating_sub(size))),
            next: (offset + size < total).then(|| href(offset + size)),
        }
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

pub use crate::web::ErrorLink;

/// The fields of the add-a-user form, as entered, with their errors.
#[derive(Default)]
pub struct NewUserFields {
    pub email: Field,
    pub role: Field,
    pub institution: Field,
    pub sign_in: Field,
    pub password: Field,
    pub errors: Vec<ErrorLink>,
}

/// A secret made by the last POST, shown once.
pub struct Secret {
    pub what: String,
    pub value: String,
}

#[derive(Template)]
#[template(path = "users.html")]
pub struct UsersPage {
    pub nav: Nav,
    pub search: String,
    pub users: Vec<UserRow>,
    pub users_pager: Pager,
    pub tokens: Vec<TokenRow>,
    pub tokens_pager: Pager,
    pub secrets: Vec<Secret>,
    pub error: Option<String>,
    pub roles: [Role; 4],
    pub institutions: Vec<InstitutionChoice>,
    pub new_user: NewUserFields,
}

/// The institutions by code, each with its name and kind.
async fn institution_choices(db: &DatabaseConnection) -> Result<Vec<InstitutionChoice>, Error> {
    Ok(institution::Entity::find()
        .order_by_asc(institution::Column::Code)
        .all(db)
        .await?
        .into_iter()
        .map(|i| InstitutionChoice {
            label: format!("{} · {} ({})", i.code, i.name, i.kind),
            code: i.code,
        })
        .collect())
}

/// What the users list shows: the search and the pages of users and of tokens.
#[derive(Default, Clone)]
pub struct ListQuery {
    search: String,
    offset: u64,
    tokens_offset: u64,
}

impl ListQuery {
    fn href(&self, offset: u64, tokens_offset: u64) -> String {
        let mut parts = Vec::new();
        if !self.search.is_empty() {
            parts.push(format!("q={}", crate::web::urlencode(&self.search)));
        }
        if offset > 0 {
            parts.push(format!("offset={offset}"));
        }
        if tokens_offset > 0 {
            parts.push(format!("tokens_offset={tokens_offset}"));
        }
        if parts.is_empty() {
            "/users".to_owned()
        } else {
            format!("/users?{}", parts.join("&"))
        }
    }
}

/// The list's query, read from the request: `q`, `offset` and `tokens_offset`, each
/// optional (a page number that is not a number is the first page). A guard rather than
/// route parameters so that `uri!(get_users)` names the plain list.
#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for ListQuery {
    type Error = std::convert::Infallible;

    async fn from_request(
        request: &'r rocket::Request<'_>,
    ) -> rocket::request::Outcome<Self, Self::Error> {
        let text = |name: &str| {
            request
                .query_value::<String>(name)
                .and_then(Result::ok)
                .unwrap_or_default()
        };
        let number = |name: &str| text(name).trim().parse().unwrap_or(0);
        rocket::request::Outcome::Success(ListQuery {
            search: text("q").trim().to_owned(),
            offset: number("offset"),
            tokens_offset: number("tokens_offset"),
        })
    }
}

async fn list_page(
    db: &DatabaseConnection,
    user: &WebUser,
    query: &ListQuery,
    secrets: Vec<Secret>,
    error: Option<String>,
    new_user: NewUserFields,
) -> Result<String, WebError> {
    user.require(crate::auth::Admin::ROLES)?;
    let search = Some(query.search.as_str()).filter(|s| !s.trim().is_empty());
    let (total, users) = users::list_users_page(db, search, USERS_PAGE, query.offset).await?;
    let (tokens_total, tokens) =
        users::list_tokens_page(db, None, TOKENS_PAGE, query.tokens_offset).await?;
    let what = if search.is_some() {
        "matching users"
    } else {
        "users"
    };
    render_text(&UsersPage {
        nav: user.nav(),
        search: query.search.clone(),
        users: users.into_iter().map(UserRow::of).collect(),
        users_pager: Pager::new(what, total, query.offset, USERS_PAGE, |o| {
            query.href(o, query.tokens_offset)
        }),
        tokens: tokens.into_iter().map(TokenRow::of).collect(),
        tokens_pager: Pager::new(
            "tokens",
            tokens_total,
            query.tokens_offset,
            TOKENS_PAGE,
            |o| query.href(query.offset, o),
        ),
        secrets,
        error,
        roles: ROLES,
        institutions: institution_choices(db).await?,
        new_user,
    })
}

/// The users and tokens page, with a token just created shown once (the token forms answer
/// with it).
pub async fn users_page(
    db: &DatabaseConnection,
    user: &WebUser,
    new_token: Option<(String, String)>,
    error: Option<String>,
) -> Page {
    let secrets = new_token
        .map(|(email, token)| Secret {
            what: format!("New API token for {email}"),
            value: token,
        })
        .into_iter()
        .collect();
    let page = list_page(
        db,
        user,
        &ListQuery::default(),
        secrets,
        error,
        NewUserFields::default(),
    )
    .await?;
    Ok(RawHtml(page))
}

/// `GET /users?q=&offset=&tokens_offset=`: users (searched by email) and API tokens, a page
/// of each (admin).
#[get("/users")]
pub async fn get_users(db: &State<DatabaseConnection>, user: WebUser, query: ListQuery) -> Page {
    let page = list_page(
        db,
        &user,
        &query,
        Vec::new(),
        None,
        NewUserFields::default(),
    )
    .await?;
    Ok(RawHtml(page))
}

/// The address of a user's own page.
fn account_href(email: &str) -> String {
    uri!(get_account(email = email, tokens_offset = _)).to_string()
}

/// The field `name` as entered, with the messages of `errors` about it.
fn field(name: &str, value: &str, errors: &[FieldError]) -> Field {
    let messages: Vec<&str> = errors
        .iter()
        .filter(|e| e.column == name)
        .map(|e| e.message.as_str())
        .collect();
    Field {
        value: value.to_owned(),
        error: (!messages.is_empty()).then(|| messages.join("; ")),
    }
}

/// The error summary of a form whose fields have ids `<prefix>-<name>`: each error a link
/// to its field, or to the form when it is about no field of it.
fn error_links(prefix: &str, known: &[&str], errors: &[FieldError]) -> Vec<ErrorLink> {
    errors
        .iter()
        .map(|e| {
            let id = if known.contains(&e.column.as_str()) {
                format!("{prefix}-{}", e.column)
            } else {
                format!("{prefix}-form")
            };
            ErrorLink {
                field: Some(id),
                message: e.message.clone(),
            }
        })
        .collect()
}

/// How a form's error becomes field errors: the details of an invalid input, else the
/// message on `field`.
fn field_errors(error: &Error, field: &str) -> Vec<FieldError> {
    if error.details().is_empty() {
        vec![FieldError::new(
            field,
            crate::web::sentence(&error.user_message()),
        )]
    } else {
        error.details().to_vec()
    }
}

/// Whether an error is the user's to correct on the form (shown there), not a failure.
fn is_form_error(error: &Error) -> bool {
    matches!(
        error,
        Error::Invalid { .. } | Error::NotFound(_) | Error::Conflict(_) | Error::BadRequest(_)
    )
}

#[derive(FromForm)]
pub struct NewUserForm {
    #[field(default = String::new())]
    csrf: String,
    #[field(default = String::new())]
    email: String,
    #[field(default = String::new())]
    role: String,
    #[field(default = String::new())]
    institution: String,
    /// `password` (the admin types one), `generate` (one is made and shown once) or `none`
    /// (API tokens only: a first token is made and shown once).
    #[field(default = String::new())]
    sign_in: String,
    #[field(default = String::new())]
    password: String,
}

const NEW_USER_FIELDS: [&str; 5] = ["email", "role", "institution", "sign_in", "password"];

/// `POST /users`: an admin adds a user, with a password they type, a generated one (shown
/// once) or none (API tokens only; a first token is shown once).
#[post("/users", data = "<form>")]
pub async fn post_user(
    db: &State<DatabaseConnection>,
    user: WebUser,
    form: Form<NewUserForm>,
) -> Answer<RawHtml<String>> {
    user.check_csrf(&form.csrf)?;
    user.require(crate::auth::Admin::ROLES)?;
    let institution = Some(form.institution.trim()).filter(|c| !c.is_empty());
    let role = form.role.trim().parse::<Role>();
    let generated = match form.sign_in.as_str() {
        "generate" => Some(users::generate_password()?),
        _ => None,
    };
    let password = match form.sign_in.as_str() {
        "password" => Ok(Some(form.password.as_str())),
        "generate" => Ok(generated.as_deref()),
        "none" => Ok(None),
        _ => Err(FieldError::new(
            "sign_in",
            "choose how the user signs in: a password, a generated one, or API tokens only",
        )),
    };
    let created = match (role, password) {
        (Ok(role), Ok(password)) => {
            let new = NewUser {
                email: &form.email,
                role,
                institution,
                password,
                with_token: password.is_none(),
            };
            users::create_user(db, new, &user.caller.actor()).await
        }
        (role, password) => {
            let mut details: Vec<FieldError> = role
                .err()
                .map(|e| FieldError::new("role", e.to_string()))
                .into_iter()
                .collect();
            details.extend(password.err());
            Err(Error::invalid("the user is not valid", details))
        }
    };
    match created {
        Ok((created, token)) => {
            let mut secrets = Vec::new();
            if let Some(password) = generated {
                secrets.push(Secret {
                    what: format!("Password of {} (generated)", created.email),
                    value: password,
                });
            }
            if let Some(token) = token {
                secrets.push(Secret {
                    what: format!("First API token of {}", created.email),
                    value: token,
                });
            }
            let flash = format!("User {} added as {}.", created.email, created.role);
            let page = account_page(db, &user, &created.email, 0, secrets, Some(flash)).await?;
            Ok(Ok(RawHtml(page)))
        }
        Err(e) if is_form_error(&e) => {
            let status = e.status();
            let errors = field_errors(&e, "email");
            let new_user = NewUserFields {
                email: field("email", &form.email, &errors),
                role: field("role", &form.role, &errors),
                institution: field("institution", &form.institution, &errors),
                sign_in: field("sign_in", &form.sign_in, &errors),
                // A password is never sent back to the browser.
                password: field("password", "", &errors),
                errors: error_links("new", &NEW_USER_FIELDS, &errors),
            };
            let page =
                list_page(db, &user, &ListQuery::default(), Vec::new(), None, new_user).await?;
            Ok(Err((status, RawHtml(page))))
        }
        Err(e) => Err(e.into()),
    }
}

/// The forms of a user's page as entered, with their errors, when one was refused.
#[derive(Default)]
pub struct AccountFields {
    pub role: Field,
    pub institution: Field,
    pub password: Field,
    /// Which form the errors are about: `access`, `password`, `status` or `sessions`.
    pub form: String,
    pub errors: Vec<ErrorLink>,
}

#[derive(Template)]
#[template(path = "user_account.html")]
pub struct AccountPage {
    pub nav: Nav,
    pub account: UserInfo,
    /// The audit trail of changes to the user.
    pub audit_href: String,
    pub is_self: bool,
    pub roles: [Role; 4],
    pub institutions: Vec<InstitutionChoice>,
    pub tokens: Vec<TokenRow>,
    pub tokens_pager: Pager,
    pub secrets: Vec<Secret>,
    pub flash: Option<String>,
    pub fields: AccountFields,
}

async fn account_page(
    db: &DatabaseConnection,
    user: &WebUser,
    email: &str,
    tokens_offset: u64,
    secrets: Vec<Secret>,
    flash: Option<String>,
) -> Result<String, WebError> {
    account_page_with(db, user, email, tokens_offset, secrets, flash, None).await
}

async fn account_page_with(
    db: &DatabaseConnection,
    user: &WebUser,
    email: &str,
    tokens_offset: u64,
    secrets: Vec<Secret>,
    flash: Option<String>,
    fields: Option<AccountFields>,
) -> Result<String, WebError> {
    user.require(crate::auth::Admin::ROLES)?;
    let account = users::user_info(db, email).await?;
    let (total, tokens) =
        users::list_tokens_page(db, Some(&account.email), TOKENS_PAGE, tokens_offset).await?;
    let fields = fields.unwrap_or_else(|| AccountFields {
        role: field("role", &account.role.to_string(), &[]),
        institution: field(
            "institution",
            account.institution.as_deref().unwrap_or_default(),
            &[],
        ),
        ..AccountFields::default()
    });
    let email = account.email.clone();
    render_text(&AccountPage {
        nav: user.nav(),
        is_self: account.email == user.caller.email,
        audit_href: format!(
            "/audit?entity=user&key={}",
            crate::web::urlencode(&account.email)
        ),
        tokens: tokens.into_iter().map(TokenRow::of).collect(),
        tokens_pager: Pager::new("tokens", total, tokens_offset, TOKENS_PAGE, |o| {
            uri!(get_account(email = &email, tokens_offset = Some(o))).to_string()
        }),
        account,
        roles: ROLES,
        institutions: institution_choices(db).await?,
        secrets,
        flash,
        fields,
    })
}

/// `GET /users/account?email=`: one user's page (admin).
#[get("/users/account?<email>&<tokens_offset>")]
pub async fn get_account(
    db: &State<DatabaseConnection>,
    user: WebUser,
    email: &str,
    tokens_offset: Option<u64>,
    flash: Option<FlashMessage<'_>>,
) -> Page {
    let flash = flash.map(|f| f.message().to_owned());
    let page = account_page(
        db,
        &user,
        email,
        tokens_offset.unwrap_or(0),
        Vec::new(),
        flash,
    )
    .await?;
    Ok(RawHtml(page))
}

/// The user's page again after a refused form, with its errors (or, for a user that does
/// not exist, the users list with the error).
async fn refused_on_account(
    db: &DatabaseConnection,
    user: &WebUser,
    email: &str,
    error: Error,
    mut fields: AccountFields,
    known: &[&str],
    default_field: &str,
) -> Result<(Status, RawHtml<String>), WebError> {
    let status = error.status();
    if let Error::NotFound(_) = error {
        let page = list_page(
            db,
            user,
            &ListQuery::default(),
            Vec::new(),
            Some(crate::web::sentence(&error.user_message())),
            NewUserFields::default(),
        )
        .await?;
        return Ok((status, RawHtml(page)));
    }
    let errors = field_errors(&error, default_field);
    fields.role.error = field("role", "", &errors).error;
    fields.institution.error = field("institution", "", &errors).error;
    fields.password.error = field("password", "", &errors).error;
    fields.errors = error_links(&fields.form, known, &errors);
    let page = account_page_with(db, user, email, 0, Vec::new(), None, Some(fields)).await?;
    Ok((status, RawHtml(page)))
}

fn to_account(email: &str, message: String) -> Flash<Redirect> {
    Flash::success(Redirect::to(account_href(email)), message)
}

#[derive(FromForm)]
pub struct AccessForm {
    #[field(default = String::new())]
    csrf: String,
    #[field(default = String::new())]
    email: String,
    #[field(default = String::new())]
    role: String,
    #[field(default = String::new())]
    institution: String,
}

/// `POST /users/access`: an admin changes a user's role and institution (an empty institution
/// unbinds; a donor's is the donor whose statement they see); recorded in the audit trail.
#[post("/users/access", data = "<form>")]
pub async fn post_access(
    db: &State<DatabaseConnection>,
    user: WebUser,
    form: Form<AccessForm>,
) -> Answer<Flash<Redirect>> {
    user.check_csrf(&form.csrf)?;
    user.require(crate::auth::Admin::ROLES)?;
    let institution = Some(form.institution.trim().to_owned()).filter(|c| !c.is_empty());
    let changed = match form.role.trim().parse::<Role>() {
        Ok(role) => {
            let change = AccessChange {
                role: Some(role),
                institution: Some(institution),
            };
            users::change_access(db, &form.email, change, &user.caller.actor()).await
        }
        Err(e) => Err(Error::invalid(
            e.to_string(),
            vec![FieldError::new("role", e.to_string())],
        )),
    };
    match changed {
        Ok(info) => Ok(Ok(to_account(
            &info.email,
            format!(
                "{} now has role {} and institution {}.",
                info.email,
                info.role,
                info.institution.as_deref().unwrap_or("none")
            ),
        ))),
        Err(e) if is_form_error(&e) => {
            let fields = AccountFields {
                role: field("role", &form.role, &[]),
                institution: field("institution", &form.institution, &[]),
                form: "access".to_owned(),
                ..AccountFields::default()
            };
            let page = refused_on_account(
                db,
                &user,
                &form.email,
                e,
                fields,
                &["role", "institution"],
                "role",
            )
            .await?;
            Ok(Err(page))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(FromForm)]
pub struct PasswordForm {
    #[field(default = String::new())]
    csrf: String,
    #[field(default = String::new())]
    email: String,
    /// `password` (the admin types the new one) or `generate` (one is made and shown once).
    #[field(default = String::new())]
    mode: String,
    #[field(default = String::new())]
    password: String,
}

/// `POST /users/password`: an admin sets a new password for a user, typed or generated (then
/// shown once on the page that answers); every web session of the user ends. Recorded in the
/// audit trail, without the password.
#[post("/users/password", data = "<form>")]
pub async fn post_password(
    db: &State<DatabaseConnection>,
    user: WebUser,
    form: Form<PasswordForm>,
) -> Answer<RawHtml<String>> {
    user.check_csrf(&form.csrf)?;
    user.require(crate::auth::Admin::ROLES)?;
    let generated = (form.mode == "generate")
        .then(users::generate_password)
        .transpose()?;
    let password = generated.as_deref().unwrap_or(&form.password);
    match users::set_password(db, &form.email, password, &user.caller.actor()).await {
        Ok(ended) => {
            let info = users::user_info(db, &form.email).await?;
            let secrets = generated
                .map(|value| Secret {
                    what: format!("New password of {}", info.email),
                    value,
                })
                .into_iter()
                .collect();
            let flash = format!(
                "The password of {} is set; {ended} web session(s) ended.",
                info.email
            );
            let page = account_page(db, &user, &info.email, 0, secrets, Some(flash)).await?;
            Ok(Ok(RawHtml(page)))
        }
        Err(e) if is_form_error(&e) => {
            let fields = AccountFields {
                form: "password".to_owned(),
                ..AccountFields::default()
            };
            let page =
                refused_on_account(db, &user, &form.email, e, fields, &["password"], "password")
                    .await?;
            Ok(Err(page))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(FromForm)]
pub struct StatusForm {
    #[field(default = String::new())]
    csrf: String,
    #[field(default = String::new())]
    email: String,
    /// `disable` or `enable`.
    #[field(default = String::new())]
    action: String,
}

/// `POST /users/status`: an admin disables a user (they cannot sign in, their tokens stop
/// working and their web sessions end) or enables them again. An admin cannot disable
/// themselves, nor anyone disable the last active admin.
#[post("/users/status", data = "<form>")]
pub async fn post_status(
    db: &State<DatabaseConnection>,
    user: WebUser,
    form: Form<StatusForm>,
) -> Answer<Flash<Redirect>> {
    user.check_csrf(&form.csrf)?;
    user.require(crate::auth::Admin::ROLES)?;
    let disabled = match form.action.as_str() {
        "disable" => Ok(true),
        "enable" => Ok(false),
        other => Err(Error::BadRequest(format!(
            "\"{other}\" is not an action: disable or enable"
        ))),
    };
    let own = form.email.trim().eq_ignore_ascii_case(&user.caller.email);
    let changed = match disabled {
        Ok(true) if own => Err(Error::Conflict(
            "you cannot disable your own account: ask another admin".to_owned(),
        )),
        Ok(disabled) => users::set_disabled(db, &form.email, disabled, &user.caller.actor()).await,
        Err(e) => Err(e),
    };
    match changed {
        Ok(info) => {
            let message = if info.disabled {
                format!(
                    "{} is disabled: they cannot sign in and their API tokens do not work.",
                    info.email
                )
            } else {
                format!("{} is enabled again.", info.email)
            };
            Ok(Ok(to_account(&info.email, message)))
        }
        Err(e) if is_form_error(&e) => {
            let fields = AccountFields {
                form: "status".to_owned(),
                ..AccountFields::default()
            };
            let page = refused_on_account(db, &user, &form.email, e, fields, &[], "status").await?;
            Ok(Err(page))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(FromForm)]
pub struct SignOutForm {
    #[field(default = String::new())]
    csrf: String,
    #[field(default = String::new())]
    email: String,
}

/// `POST /users/sessions/end`: an admin signs a user out everywhere: every browser that user
/// is signed in on (a stolen cookie's too) must sign in again. Recorded in the audit trail.
#[post("/users/sessions/end", data = "<form>")]
pub async fn post_sign_out_everywhere(
    db: &State<DatabaseConnection>,
    user: WebUser,
    form: Form<SignOutForm>,
) -> Answer<Flash<Redirect>> {
    user.check_csrf(&form.csrf)?;
    user.require(crate::auth::Admin::ROLES)?;
    match users::sign_out_everywhere(db, &form.email, &user.caller.actor()).await {
        Ok(ended) => Ok(Ok(to_account(
            &form.email.trim().to_lowercase(),
            format!("{ended} web session(s) ended."),
        ))),
        Err(e @ Error::NotFound(_)) => {
            let fields = AccountFields {
                form: "sessions".to_owned(),
                ..AccountFields::default()
            };
            let page =
                refused_on_account(db, &user, &form.email, e, fields, &[], "sessions").await?;
            Ok(Err(page))
        }
        Err(e) => Err(e.into()),
    }
}
