//! `naptrack user`: users, their access and their API tokens.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use sea_orm::DatabaseConnection;

use super::cli_actor;
use crate::domain::Role;
use crate::domain::vocabulary::UnknownWord;
use crate::error::{Error, Result};
use crate::service::users;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user and print a new API token as the last line.
    Add(UserAddArgs),
    /// List users with their role and institution.
    List,
    /// Change a user's role or institution (recorded in the audit trail).
    Set(UserSetArgs),
    /// Set a user's web sign-in password, read from the first line of standard input; every
    /// web session of theirs ends (recorded in the audit trail).
    Password(UserPasswordArgs),
    /// Disable a user: they cannot sign in, their API tokens stop working and their web
    /// sessions end (recorded in the audit trail).
    Disable { email: String },
    /// Enable a disabled user again (recorded in the audit trail).
    Enable { email: String },
    /// Create, list and revoke API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a new API token for a user and print it as the last line.
    Create {
        email: String,
        /// A note to recognise the token by (the script or machine that uses it).
        #[arg(long)]
        label: Option<String>,
    },
    /// List tokens (never the tokens themselves), newest first.
    List {
        /// Only this user's tokens.
        #[arg(long)]
        email: Option<String>,
    },
    /// Revoke a token by its id (from `user token list`).
    Revoke { id: i32 },
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    pub email: String,
    /// admin, recorder, donor or auditor.
    #[arg(long)]
    pub role: String,
    /// The code of the institution the user works for: a bound recorder writes only for the
    /// activities it leads; a donor's is the donor institution whose money its statement shows.
    #[arg(long)]
    pub institution: Option<String>,
    /// Read a password for the web sign-in from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct UserSetArgs {
    pub email: String,
    /// The new role: admin, recorder, donor or auditor.
    #[arg(long)]
    pub role: Option<String>,
    /// Bind the user to the institution with this code (a bound recorder writes only for the
    /// activities it leads; a donor sees the statement of the donor institution).
    #[arg(long, conflicts_with = "no_institution")]
    pub institution: Option<String>,
    /// Unbind the user from any institution.
    #[arg(long)]
    pub no_institution: bool,
}

#[derive(Debug, Args)]
pub struct UserPasswordArgs {
    pub email: String,
    /// Read the new password from the first line of standard input (the only way: a password
    /// on the command line would be seen by every user of the machine).
    #[arg(long, required = true)]
    pub password_stdin: bool,
}

/// The first line of standard input, without its line ending.
fn password_from_stdin() -> Result<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

/// Runs one `naptrack user` command.
pub async fn run(db: &DatabaseConnection, command: UserCommand) -> Result<ExitCode> {
    let actor = cli_actor();
    match command {
        UserCommand::Add(args) => {
            let role: Role = args
                .role
                .parse()
                .map_err(|e: UnknownWord| Error::BadRequest(e.to_string()))?;
            let password = if args.password_stdin {
                Some(password_from_stdin()?)
            } else {
                None
            };
            let (user, token) = users::add_user(
                db,
                &args.email,
                role,
                args.institution.as_deref(),
                password.as_deref(),
                &actor,
            )
            .await?;
            match &args.institution {
                Some(code) => println!(
                    "created user {} with role {}, institution {code}",
                    user.email, user.role
                ),
                None => println!("created user {} with role {}", user.email, user.role),
            }
            println!("API token (shown once; keep it secret):");
            println!("{token}");
        }
        UserCommand::List => {
            println!(
                "{:<40}  {:<9}  {:<14}  {:<8}  status",
                "email", "role", "institution", "password"
            );
            for user in users::list_users(db).await? {
                println!(
                    "{:<40}  {:<9}  {:<14}  {:<8}  {}",
                    user.email,
                    user.role.to_string(),
                    user.institution.as_deref().unwrap_or("-"),
                    if user.has_password { "yes" } else { "no" },
                    if user.disabled { "disabled" } else { "active" }
                );
            }
        }
        UserCommand::Set(args) => {
            let role = args
                .role
                .as_deref()
                .map(|r| r.parse::<Role>())
                .transpose()
                .map_err(|e: UnknownWord| Error::BadRequest(e.to_string()))?;
            let institution = match (args.institution, args.no_institution) {
                (Some(code), _) => Some(Some(code)),
                (None, true) => Some(None),
                (None, false) => None,
            };
            if role.is_none() && institution.is_none() {
                return Err(Error::BadRequest(
                    "say what to change: --role, --institution or --no-institution".to_owned(),
                ));
            }
            let change = users::AccessChange { role, institution };
            let user = users::change_access(db, &args.email, change, &actor).await?;
            println!(
                "user {} now has role {} and institution {}",
                user.email,
                user.role,
                user.institution.as_deref().unwrap_or("none")
            );
        }
        UserCommand::Password(args) => {
            let password = password_from_stdin()?;
            let ended = users::set_password(db, &args.email, &password, &actor).await?;
            println!(
                "the password of {} is set; {ended} web session(s) ended",
                args.email.trim().to_lowercase()
            );
        }
        UserCommand::Disable { email } => {
            let user = users::set_disabled(db, &email, true, &actor).await?;
            println!("user {} is disabled", user.email);
        }
        UserCommand::Enable { email } => {
            let user = users::set_disabled(db, &email, false, &actor).await?;
            println!("user {} is enabled", user.email);
        }
        UserCommand::Token(TokenCommand::Create { email, label }) => {
            let token = users::create_token(db, &email, label.as_deref(), &actor).await?;
            println!(
                "API token for {} (shown once; keep it secret):",
                email.trim().to_lowercase()
            );
            println!("{token}");
        }
        UserCommand::Token(TokenCommand::List { email }) => {
            let tokens = users::list_tokens(db, email.as_deref()).await?;
            println!(
                "{:>5}  {:<32}  {:<20}  {:<20}  {:<20}  label",
                "id", "user", "created", "last used", "revoked"
            );
            let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
                t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_else(|| "-".to_owned())
            };
            for token in tokens {
                println!(
                    "{:>5}  {:<32}  {:<20}  {:<20}  {:<20}  {}",
                    token.id,
                    token.email,
                    when(Some(token.created_at)),
                    when(token.last_used_at),
                    when(token.revoked_at),
                    token.label.unwrap_or_default()
                );
            }
        }
        UserCommand::Token(TokenCommand::Revoke { id }) => {
            users::revoke_token(db, id, &actor).await?;
            println!("token {id} is revoked");
        }
    }
    Ok(ExitCode::SUCCESS)
}
