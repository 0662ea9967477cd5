//! Demo accounts for the sample plan: with `load_samples` on (the `debug` profile, so
//! `cargo run`) and no user in the database yet, one user of each role is created with a
//! random password, and the accounts are printed to the console once. Never in `release`,
//! where `load_samples` is off.
//!
//! In a debug build the sign-in page lists them too ([`DemoLogins`]), with their passwords
//! when this run created them, so a newcomer can sign in without reading the console. A
//! release build never keeps them, whatever its configuration says.

use rocket::{Build, Rocket};
use sea_orm::DatabaseConnection;

use crate::config::Settings;
use crate::domain::Role;
use crate::error::Result;
use crate::service::audit::hex;
use crate::service::users;

/// The demo accounts: email and role.
const ACCOUNTS: [(&str, Role); 4] = [
    ("admin@demo.example", Role::Admin),
    ("recorder@demo.example", Role::Recorder),
    ("donor@demo.example", Role::Donor),
    ("auditor@demo.example", Role::Auditor),
];

fn random_password() -> Result<String> {
    let mut bytes = [0u8; 9];
    getrandom::fill(&mut bytes)
        .map_err(|e| crate::error::Error::Internal(format!("no randomness: {e}")))?;
    Ok(format!("demo-{}", hex(&bytes)))
}

/// A demo account as the sign-in page shows it: the password only when this run created it
/// (it is stored hashed, so a later run cannot show it).
#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub email: String,
    pub role: String,
    pub password: Option<String>,
}

/// The demo accounts of a debug build, managed by [`create_demo_users`]; always empty in a
/// release build (`cfg!(debug_assertions)` off).
pub struct DemoLogins(pub Vec<DemoLogin>);

/// The demo accounts that an earlier run created, without their passwords.
async fn existing(db: &DatabaseConnection) -> Result<Vec<DemoLogin>> {
    Ok(users::list_users(db)
        .await?
        .into_iter()
        .filter(|u| !u.disabled && u.has_password)
        .filter(|u| ACCOUNTS.iter().any(|(email, _)| *email == u.email))
        .map(|u| DemoLogin {
            email: u.email,
            role: u.role.to_string(),
            password: None,
        })
        .collect())
}

async fn create(db: &DatabaseConnection) -> Result<Vec<(String, Role, String)>> {
    if users::has_users(db).await? {
        return Ok(Vec::new());
    }
    let mut created = Vec::new();
    for (email, role) in ACCOUNTS {
        let password = random_password()?;
        users::add_user(db, email, role, None, Some(&password), "system:demo").await?;
        created.push((email.to_owned(), role, password));
    }
    Ok(created)
}

/// Creates and prints the demo accounts when the configuration loads samples and the
/// database has no user. A failure is printed and the server starts without them.
pub async fn create_demo_users(rocket: Rocket<Build>) -> Rocket<Build> {
    let logins = demo_logins(&rocket).await;
    rocket.manage(DemoLogins(shown(cfg!(debug_assertions), logins)))
}

/// The demo accounts the sign-in page lists: those of a debug build; a release build keeps
/// none, whatever its configuration says.
fn shown(debug_build: bool, logins: Vec<DemoLogin>) -> Vec<DemoLogin> {
    if debug_build { logins } else { Vec::new() }
}

async fn demo_logins(rocket: &Rocket<Build>) -> Vec<DemoLogin> {
    let (Some(settings), Some(db)) = (
        rocket.state::<Settings>(),
        rocket.state::<DatabaseConnection>(),
    ) else {
        return Vec::new();
    };
    if !settings.load_samples {
        return Vec::new();
    }
    match create(db).await {
        Ok(created) if created.is_empty() => existing(db).await.unwrap_or_default(),
        Ok(created) => {
            println!(
                "naptrack: demo accounts for the sample plan (shown once; sign in at /login):"
            );
            for (email, role, password) in &created {
                println!("    {:<9} {email:<24} password: {password}", role.as_str());
            }
            created
                .into_iter()
                .map(|(email, role, password)| DemoLogin {
                    email,
                    role: role.to_string(),
                    password: Some(password),
                })
                .collect()
        }
        Err(e) => {
            eprintln!(
                "naptrack: warning: the demo accounts could not be created: {}",
                e.log_detail()
            );
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{DemoLogin, shown};

    #[test]
    fn a_release_build_lists_no_demo_account() {
        let logins = || {
            vec![DemoLogin {
                email: "admin@demo.example".to_owned(),
                role: "admin".to_owned(),
                password: Some("made up at start".to_owned()),
            }]
        };
        assert!(shown(false, logins()).is_empty());
        assert_eq!(shown(true, logins()).len(), 1);
    }
}
