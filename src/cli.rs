//! The command line. Every command opens the database named by the configuration and brings
//! its schema up to date first, exactly as the server does.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use sea_orm::DatabaseConnection;

use crate::config::{self, Settings};
use crate::db;
use crate::error::{Error, Result};

/// naptrack: track the funding of a national action plan and flag unfunded obligations.
///
/// The database is `DATABASE_URL` when set, else `database_url` in Rocket.toml, else the
/// SQLite file naptrack.db in the working directory.
#[derive(Debug, Parser)]
#[command(name = "naptrack", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the web server (UI and JSON API). The default when no command is given.
    Serve,
    /// Import one CSV file of ENTITY, or every contract file found in a directory.
    ///
    /// `naptrack import activities activities.csv` imports one file;
    /// `naptrack import samples/` imports a directory in dependency order, as one transaction.
    Import(ImportArgs),
    /// Write one entity as CSV, to standard output or to a file.
    Export(ExportArgs),
    /// Print the flags: unfunded obligations and activities, overspending, low execution,
    /// overdue commitments, inactive institutions.
    Flags(FlagsArgs),
    /// Print a report.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Work with the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The entity (institutions, funding-sources, plans, objectives, activities, obligations,
    /// budget-lines, commitments, disbursements, exchange-rates), or a directory.
    pub entity_or_dir: String,
    /// The CSV file, when an entity is named.
    pub file: Option<PathBuf>,
    /// The plan the rows belong to, when the file has no plan_code column.
    #[arg(long)]
    pub plan: Option<String>,
    /// Check everything and write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The entity to export.
    pub entity: String,
    /// The plan to export, when the database holds more than one.
    #[arg(long)]
    pub plan: Option<String>,
    /// The file to write; standard output when left out.
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct FlagsArgs {
    #[arg(long)]
    pub plan: Option<String>,
    /// The date to evaluate at (YYYY-MM-DD); today when left out.
    #[arg(long)]
    pub as_of: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Budget execution: allocated, committed, disbursed, remaining and execution rate.
    Execution(ExecutionArgs),
}

#[derive(Debug, Args)]
pub struct ExecutionArgs {
    #[arg(long)]
    pub plan: Option<String>,
    /// objective, activity, funding-source, donor, institution, category, fiscal-year or month.
    #[arg(long)]
    pub by: String,
    #[arg(long)]
    pub fiscal_year: Option<i32>,
    #[arg(long)]
    pub from: Option<String>,
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user and print a new API token as the last line.
    Add(UserAddArgs),
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    pub email: String,
    /// admin, recorder, donor or auditor.
    #[arg(long)]
    pub role: String,
    /// The code of the institution the user works for.
    #[arg(long)]
    pub institution: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit trail's hash chain; exit 0 when intact.
    Verify,
}

/// Runs the command line: the server, or one command. Errors go to standard error and make
/// the exit status non-zero.
pub async fn run(cli: Cli) -> ExitCode {
    match execute(cli).await {
        Ok(code) => code,
        Err(e) => {
            // The operator at the terminal gets the full cause, not the sentence for web users.
            eprintln!("naptrack: {}", e.log_detail());
            ExitCode::FAILURE
        }
    }
}

async fn execute(cli: Cli) -> Result<ExitCode> {
    let figment = config::figment();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(figment).await,
        command => {
            let settings = Settings::from_figment(&figment)?;
            let db = db::connect_and_migrate(&settings).await?;
            run_command(&db, command).await
        }
    }
}

async fn serve(figment: rocket::figment::Figment) -> Result<ExitCode> {
    match crate::build(figment).launch().await {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(e) => Err(Error::Launch(e.to_string())),
    }
}

async fn run_command(_db: &DatabaseConnection, command: Command) -> Result<ExitCode> {
    match command {
        Command::Serve => Err(Error::Internal(
            "serve is handled before connecting".to_owned(),
        )),
        Command::Import(_) => Err(Error::NotAvailableYet("naptrack import")),
        Command::Export(_) => Err(Error::NotAvailableYet("naptrack export")),
        Command::Flags(_) => Err(Error::NotAvailableYet("naptrack flags")),
        Command::Report(ReportCommand::Execution(_)) => {
            Err(Error::NotAvailableYet("naptrack report execution"))
        }
        Command::User(UserCommand::Add(_)) => Err(Error::NotAvailableYet("naptrack user add")),
        Command::Audit(AuditCommand::Verify) => {
            Err(Error::NotAvailableYet("naptrack audit verify"))
        }
    }
}
