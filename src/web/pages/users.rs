//! The users and tokens page (admins).

use askama::Template;
use rocket::form::{Form, FromForm};
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::response::content::RawHtml;
use rocket::{State, get, post, uri};
use sea_orm::DatabaseConnection;

use crate::domain::Role;
use crate::error::Error;
use crate::service::users::{self, AccessChange};
use crate::web::WebError;
use crate::web::session::WebUser;
use crate::web::{Nav, Page, render};

pub struct UserRow {
    pub email: String,
    pub role: Role,
    pub institution: String,
    pub password: bool,
    pub disabled: bool,
}

/// The roles an admin may give, in the order the form offers them.
pub const ROLES: [Role; 4] = [Role::Admin, Role::Recorder, Role::Donor, Role::Auditor];

pub struct TokenRow {
    pub id: i32,
    pub email: String,
    pub label: String,
    pub created_at: String,
    pub last_used_at: String,
    pub revoked: String,
}

#[derive(Template)]
#[template(path = "users.html")]
pub struct UsersPage {
    pub nav: Nav,
    pub users: Vec<UserRow>,
    pub tokens: Vec<TokenRow>,
    pub new_token: Option<(String, String)>,
    pub error: Option<String>,
    pub roles: [Role; 4],
}

/// The users and tokens page, with a token just created shown once.
pub async fn users_page(
    db: &DatabaseConnection,
    user: &WebUser,
    new_token: Option<(String, String)>,
    error: Option<String>,
) -> Page {
    user.require(crate::auth::Admin::ROLES)?;
    let users = users::list_users(db)
        .await?
        .into_iter()
        .map(|u| UserRow {
            email: u.email,
            role: u.role,
            institution: u.institution.unwrap_or_default(),
            password: u.has_password,
            disabled: u.disabled,
        })
        .collect();
    let time = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    let tokens = users::list_tokens(db, None)
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            email: t.email,
            label: t.label.unwrap_or_default(),
            created_at: time(t.created_at),
            last_used_at: t.last_used_at.map(time).unwrap_or_default(),
            revoked: t.revoked_at.map(time).unwrap_or_default(),
        })
        .collect();
    render(&UsersPage {
        nav: user.nav(),
        users,
        tokens,
        new_token,
        error,
        roles: ROLES,
    })
}

/// `GET /users`: users and API tokens (admin).
#[get("/users")]
pub async fn get_users(db: &State<DatabaseConnection>, user: WebUser) -> Page {
    users_page(db, &user, None, None).await
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
/// unbinds); recorded in the audit trail.
#[post("/users/access", data = "<form>")]
pub async fn post_access(
    db: &State<DatabaseConnection>,
    user: WebUser,
    form: Form<AccessForm>,
) -> Result<Result<Redirect, (Status, RawHtml<String>)>, WebError> {
    user.check_csrf(&form.csrf)?;
    user.require(crate::auth::Admin::ROLES)?;
    let institution = Some(form.institution.trim().to_owned()).filter(|c| !c.is_empty());
    let changed = match form.role.trim().parse::<Role>() {
        Ok(role) => {
            let change = AccessChange {
                role: Some(role),
                institution: Some(institution),
            };
            users::change_access(db, &form.email, change, &user.caller.actor())
                .await
                .map(drop)
        }
        Err(e) => Err(Error::invalid(e.to_string(), Vec::new())),
    };
    match changed {
        Ok(()) => Ok(Ok(Redirect::to(uri!(get_users)))),
        Err(e @ (Error::NotFound(_) | Error::Invalid { .. })) => {
            let page = users_page(db, &user, None, Some(e.user_message())).await?;
            Ok(Err((Status::UnprocessableEntity, page)))
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
) -> Result<Result<Redirect, (Status, RawHtml<String>)>, WebError> {
    user.check_csrf(&form.csrf)?;
    user.require(crate::auth::Admin::ROLES)?;
    match users::sign_out_everywhere(db, &form.email, &user.caller.actor()).await {
        Ok(_) => Ok(Ok(Redirect::to(uri!(get_users)))),
        Err(e @ Error::NotFound(_)) => {
            let page = users_page(db, &user, None, Some(e.user_message())).await?;
            Ok(Err((Status::UnprocessableEntity, page)))
        }
        Err(e) => Err(e.into()),
    }
}
