//! Demo accounts for the sample plan: with `load_samples` on (the `debug` profile, so
//! `cargo run`) and no user in the database yet, one user of each role is created with a
//! random password, and the accounts are printed to the console once. Never in `release`,
//! where `load_samples` is off.

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
    let (Some(settings), Some(db)) = (
        rocket.state::<Settings>(),
        rocket.state::<DatabaseConnection>(),
    ) else {
        return rocket;
    };
    if !settings.load_samples {
        return rocket;
    }
    match create(db).await {
        Ok(created) if created.is_empty() => {}
        Ok(created) => {
            println!(
                "naptrack: demo accounts for the sample plan (shown once; sign in at /login):"
            );
            for (email, role, password) in created {
                println!("    {:<9} {email:<24} password: {password}", role.as_str());
            }
        }
        Err(e) => eprintln!(
            "naptrack: warning: the demo accounts could not be created: {}",
            e.log_detail()
        ),
    }
    rocket
}
