//! The users and tokens page (admins).

use askama::Template;
use rocket::{State, get};
use sea_orm::DatabaseConnection;

use crate::domain::Role;
use crate::service::users;
use crate::web::session::WebUser;
use crate::web::{Nav, Page, render};

pub struct UserRow {
    pub email: String,
    pub role: Role,
    pub password: bool,
    pub disabled: bool,
}

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
    })
}

/// `GET /users`: users and API tokens (admin).
#[get("/users")]
pub async fn get_users(db: &State<DatabaseConnection>, user: WebUser) -> Page {
    users_page(db, &user, None, None).await
}
