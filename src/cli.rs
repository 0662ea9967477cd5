//! The command line. Every command opens the database named by the configuration and brings
//! its schema up to date first, exactly as the server does.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use sea_orm::DatabaseConnection;

use crate::config::{self, Settings};
use crate::db;
use crate::domain::IsoDate;
use crate::domain::flags::Kind;
use crate::domain::records::guard_formula;
use crate::domain::records::{RecordKind, UnknownRecordKind};
use crate::error::{Error, Result};
use crate::service::export;
use crate::service::flags;
use crate::service::iati;
use crate::service::import::{self, ImportOptions, Progress, Source};
use crate::service::plans::resolve_plan;
use crate::service::reports;
use crate::service::results;
use crate::service::statements;
use std::io::Write;

mod audit;
mod user;

pub use audit::{AuditCommand, KeygenArgs, VerifyArgs};
pub use user::{TokenCommand, UserAddArgs, UserCommand, UserSetArgs};

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
    /// Write one entity as CSV, or the plan as an IATI 2.03 XML file (`export iati`), to
    /// standard output or to a file.
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
    /// Write a consistent copy of the SQLite database to FILE while the app runs.
    ///
    /// PostgreSQL databases are backed up with pg_dump (see the README).
    Backup(BackupArgs),
    /// Replace the contents of the SQLite database with a backup written by `naptrack backup`.
    ///
    /// The backup is checked first (integrity, schema, audit chain) and is only read; a
    /// database that holds anything is first copied to `FILE.before-restore-TIME` beside it.
    /// PostgreSQL databases are restored with pg_restore (see the README).
    Restore(RestoreArgs),
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup to load.
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The file to write; it must not exist.
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The entity (institutions, funding-sources, plans, objectives, activities, obligations,
    /// budget-lines, commitments, disbursements, exchange-rates, indicators, indicator-values),
    /// or a directory.
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
    /// The entity to export (institutions, funding-sources, plans, objectives, activities,
    /// obligations, budget-lines, commitments, disbursements, exchange-rates, indicators,
    /// indicator-values), or iati.
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
    /// Only flags of this kind of rule: funding_gaps, results or integrity.
    #[arg(long)]
    pub kind: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Budget execution: allocated, committed, disbursed, remaining and execution rate.
    Execution(ExecutionArgs),
    /// A donor's (or funding source's) money from commitment to disbursement.
    Donor(DonorArgs),
    /// Results: each indicator's target, actual and achievement by fiscal year, the money
    /// disbursed on what it measures and the cost per unit.
    Results(ResultsArgs),
}

#[derive(Debug, Args)]
pub struct ResultsArgs {
    #[arg(long)]
    pub plan: Option<String>,
    /// Only this fiscal year.
    #[arg(long)]
    pub fiscal_year: Option<i32>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct DonorArgs {
    #[arg(long)]
    pub plan: Option<String>,
    /// The donor's institution code.
    #[arg(
        long,
        conflicts_with = "funding_source",
        required_unless_present = "funding_source"
    )]
    pub donor: Option<String>,
    /// A funding source's code, instead of a donor.
    #[arg(long)]
    pub funding_source: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// With --format csv, which table to write: activity, fiscal-year or disbursements.
    #[arg(long, default_value = "activity")]
    pub part: String,
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
    /// Only money from this funding source (its code).
    #[arg(long)]
    pub funding_source: Option<String>,
    /// Only money from this donor (an institution code).
    #[arg(long)]
    pub donor: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Runs the command line: the server, or one command. Errors go to standard error and make
/// the exit status non-zero.
pub async fn run(cli: Cli) -> ExitCode {
    match execute(cli).await {
        Ok(code) => code,
        Err(e) => {
            for detail in e.details() {
                eprintln!("{}", detail.to_line());
            }
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
        Command::Restore(args) => restore(&Settings::from_figment(&figment)?, &args.file).await,
        command => {
            let settings = Settings::from_figment(&figment)?;
            let db = db::connect_and_migrate(&settings).await?;
            run_command(&db, &settings, command).await
        }
    }
}

async fn serve(figment: rocket::figment::Figment) -> Result<ExitCode> {
    match crate::build(figment).launch().await {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(e) => Err(Error::Launch(e.to_string())),
    }
}

async fn run_command(
    db: &DatabaseConnection,
    settings: &Settings,
    command: Command,
) -> Result<ExitCode> {
    match command {
        Command::Serve | Command::Restore(_) => Err(Error::Internal(
            "serve and restore are handled before connecting".to_owned(),
        )),
        Command::Import(args) => import(db, args).await,
        Command::Export(args) => export(db, settings, args).await,
        Command::Flags(args) => print_flags(db, settings, args).await,
        Command::Report(ReportCommand::Execution(args)) => print_execution(db, args).await,
        Command::Report(ReportCommand::Donor(args)) => {
            print_donor_statement(db, settings, args).await
        }
        Command::Report(ReportCommand::Results(args)) => print_results(db, args).await,
        Command::User(command) => user::run(db, command).await,
        Command::Audit(command) => audit::run(db, settings, command).await,
        Command::Backup(args) => {
            crate::service::backup::backup(db, &args.file).await?;
            println!("backup written to {}", args.file.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `naptrack restore FILE`: the database opens only after the backup has been checked.
async fn restore(settings: &Settings, file: &Path) -> Result<ExitCode> {
    let restored = crate::service::backup::restore(settings, file, &cli_actor()).await?;
    if let Some(aside) = &restored.kept_aside {
        println!("the database as it was is kept in {}", aside.display());
    }
    println!(
        "restored {}: {} audit entries, head hash {}; the restore is entry {}",
        file.display(),
        restored.audit_entries,
        restored.head,
        restored.audit_entries + 1
    );
    Ok(ExitCode::SUCCESS)
}

async fn import(db: &DatabaseConnection, args: ImportArgs) -> Result<ExitCode> {
    let options = ImportOptions {
        plan: args.plan,
        dry_run: args.dry_run,
        actor: cli_actor(),
        ..ImportOptions::default()
    };
    let progress = TerminalProgress::new();
    let report = match args.file {
        Some(file) => {
            let kind: RecordKind = args
                .entity_or_dir
                .parse()
                .map_err(|e: UnknownRecordKind| Error::BadRequest(e.to_string()))?;
            import::import_file(db, kind, Source::open(&file)?, &options, &progress).await?
        }
        None => {
            let dir = PathBuf::from(&args.entity_or_dir);
            if !dir.is_dir() && args.entity_or_dir.parse::<RecordKind>().is_ok() {
                return Err(Error::BadRequest(format!(
                    "name the file to import: naptrack import {} FILE",
                    args.entity_or_dir
                )));
            }
            import::import_dir(db, &dir, &options, &progress).await?
        }
    };
    for file in &report.files {
        for warning in &file.warnings {
            eprintln!("{} (warning)", warning.to_line());
        }
        println!(
            "{}: {} {}: {} created, {} updated, {} unchanged",
            file.file,
            file.rows,
            if file.rows == 1 { "row" } else { "rows" },
            file.created,
            file.updated,
            file.unchanged
        );
    }
    for name in &report.ignored_files {
        eprintln!("warning: {name} was not read: it is not one of the contract's file names");
    }
    if report.dry_run {
        println!("dry run: every row was checked and nothing was written");
    }
    Ok(ExitCode::SUCCESS)
}

async fn export(
    db: &DatabaseConnection,
    settings: &Settings,
    args: ExportArgs,
) -> Result<ExitCode> {
    if args.entity == "iati" {
        return export_iati(db, settings, args).await;
    }
    let kind: RecordKind = args.entity.parse().map_err(|e: UnknownRecordKind| {
        Error::BadRequest(format!("{e}; or iati for the plan as an IATI XML file"))
    })?;
    let plan = args.plan.as_deref();
    match args.output {
        Some(path) => {
            write_into_place(&path, "csv.partial", |file| {
                export::export_csv(db, kind, plan, file)
            })
            .await?;
        }
        None => {
            let stdout = std::io::stdout();
            export::export_csv(db, kind, plan, std::io::BufWriter::new(stdout)).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `naptrack export iati`: the plan as an IATI 2.03 activity file, with the transactions up
/// to today.
async fn export_iati(
    db: &DatabaseConnection,
    settings: &Settings,
    args: ExportArgs,
) -> Result<ExitCode> {
    let options = iati::IatiOptions::now(&settings.iati);
    let plan = args.plan.as_deref();
    let summary = match &args.output {
        Some(path) => {
            let summary = write_into_place(path, "xml.partial", |file| {
                iati::export_iati(db, plan, &options, file)
            })
            .await?;
            println!(
                "{}: {} activities, {} commitments, {} disbursements, {} results",
                path.display(),
                summary.activities,
                summary.commitments,
                summary.disbursements,
                summary.results
            );
            summary
        }
        None => {
            let stdout = std::io::BufWriter::new(std::io::stdout());
            iati::export_iati(db, plan, &options, stdout).await?
        }
    };
    if summary.left_out > 0 {
        eprintln!(
            "warning: {} commitments and disbursements dated after {} were left out: IATI does \
             not accept transactions dated in the future",
            summary.left_out, options.as_of
        );
    }
    if !summary.results_left_out.is_empty() {
        eprintln!(
            "warning: indicators {} were left out: their objectives have no activity to carry \
             them",
            summary.results_left_out.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `write` on a buffered file beside `path` (its extension replaced by
/// `partial_extension`) and renames that file into place once `write` succeeds, so a failed
/// export never leaves a truncated file where a good one was. On failure the partial file is
/// removed.
async fn write_into_place<T, F, Fut>(
    path: &std::path::Path,
    partial_extension: &str,
    write: F,
) -> Result<T>
where
    F: FnOnce(std::io::BufWriter<std::fs::File>) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let partial = path.with_extension(partial_extension);
    let file = std::fs::File::create(&partial)
        .map_err(|e| Error::BadRequest(format!("cannot write {}: {e}", partial.display())))?;
    match write(std::io::BufWriter::new(file)).await {
        Ok(value) => {
            std::fs::rename(&partial, path)?;
            Ok(value)
        }
        Err(e) => {
            std::fs::remove_file(&partial).ok();
            Err(e)
        }
    }
}

/// A date given on the command line.
fn parse_date(name: &str, text: &str) -> Result<chrono::NaiveDate> {
    IsoDate::parse(text)
        .map(chrono::NaiveDate::from)
        .map_err(|e| Error::BadRequest(e.for_parameter(name)))
}

async fn print_flags(
    db: &DatabaseConnection,
    settings: &Settings,
    args: FlagsArgs,
) -> Result<ExitCode> {
    let plan = resolve_plan(db, args.plan.as_deref()).await?;
    let as_of = match &args.as_of {
        Some(text) => parse_date("--as-of", text)?,
        None => chrono::Utc::now().date_naive(),
    };
    let kind = args
        .kind
        .as_deref()
        .map(|k| k.parse::<Kind>().map_err(Error::BadRequest))
        .transpose()?;
    let mut report = flags::flags(db, &plan, as_of, &settings.flags.thresholds()?).await?;
    report.flags.retain(|f| kind.is_none_or(|k| f.kind == k));
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            let json = serde_json::to_string_pretty(&report)
                .map_err(|e| Error::Internal(e.to_string()))?;
            writeln!(out, "{json}")?;
        }
        Format::Csv => {
            let mut writer = csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(out);
            let io = |e: csv::Error| Error::Io(std::io::Error::other(e));
            writer
                .write_record([
                    "rule",
                    "severity",
                    "subject_type",
                    "subject_code",
                    "subject_title",
                    "fiscal_year",
                    "gap",
                    "currency",
                    "legal_basis",
                    "message",
                ])
                .map_err(io)?;
            for flag in &report.flags {
                let gap = flag.gap.map(|g| g.to_string()).unwrap_or_default();
                let currency = flag.currency.map(|c| c.to_string()).unwrap_or_default();
                writer
                    .write_record([
                        flag.rule.as_str(),
                        flag.severity.as_str(),
                        flag.subject.kind,
                        &guard_formula(&flag.subject.code),
                        &guard_formula(&flag.subject.title),
                        &flag.fiscal_year.to_string(),
                        &gap,
                        &currency,
                        &guard_formula(flag.legal_basis.as_deref().unwrap_or_default()),
                        &guard_formula(&flag.message),
                    ])
                    .map_err(io)?;
            }
            writer.flush()?;
        }
        Format::Table => {
            writeln!(
                out,
                "Flags of plan {} as of {} (fiscal year {}): {}",
                report.plan,
                report.as_of,
                report.fiscal_year,
                if report.flags.is_empty() {
                    "none".to_owned()
                } else {
                    report.flags.len().to_string()
                }
            )?;
            for flag in &report.flags {
                let gap = match (flag.gap, flag.currency) {
                    (Some(gap), Some(currency)) => format!("  gap {} {currency}", gap.grouped()),
                    _ => String::new(),
                };
                writeln!(out)?;
                writeln!(
                    out,
                    "{:<8}  {:<22}  {} {}{gap}",
                    flag.severity.as_str().to_uppercase(),
                    flag.rule.as_str(),
                    flag.subject.kind.replace('_', " "),
                    flag.subject.code
                )?;
                writeln!(out, "          {}", flag.message)?;
                if let Some(basis) = &flag.legal_basis {
                    writeln!(out, "          Legal basis: {basis}")?;
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn print_execution(db: &DatabaseConnection, args: ExecutionArgs) -> Result<ExitCode> {
    let plan = resolve_plan(db, args.plan.as_deref()).await?;
    let dimension: reports::Dimension = args.by.parse()?;
    let filters = reports::Filters {
        fiscal_year: args.fiscal_year,
        from: args
            .from
            .as_deref()
            .map(|d| parse_date("--from", d))
            .transpose()?,
        to: args
            .to
            .as_deref()
            .map(|d| parse_date("--to", d))
            .transpose()?,
        funding_source: args.funding_source,
        donor: args.donor,
    };
    let report = reports::execution(db, &plan, dimension, filters).await?;
    let out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            let json = serde_json::to_string_pretty(&report)
                .map_err(|e| Error::Internal(e.to_string()))?;
            let mut out = out;
            writeln!(out, "{json}")?;
        }
        Format::Csv => reports::write_csv(&report, out)?,
        Format::Table => reports::write_table(&report, out)?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn print_results(db: &DatabaseConnection, args: ResultsArgs) -> Result<ExitCode> {
    let plan = resolve_plan(db, args.plan.as_deref()).await?;
    let report = results::results(db, &plan, args.fiscal_year).await?;
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            let json = serde_json::to_string_pretty(&report)
                .map_err(|e| Error::Internal(e.to_string()))?;
            writeln!(out, "{json}")?;
        }
        Format::Csv => results::write_csv(&report, out)?,
        Format::Table => results::write_table(&report, out)?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn print_donor_statement(
    db: &DatabaseConnection,
    settings: &Settings,
    args: DonorArgs,
) -> Result<ExitCode> {
    let plan = resolve_plan(db, args.plan.as_deref()).await?;
    let giver = match (args.donor, args.funding_source) {
        (Some(donor), _) => statements::Giver::Donor(donor),
        (None, Some(source)) => statements::Giver::FundingSource(source),
        (None, None) => {
            return Err(Error::BadRequest(
                "name --donor or --funding-source".to_owned(),
            ));
        }
    };
    let part: statements::Part = args.part.parse()?;
    let thresholds = settings.flags.thresholds()?;
    let statement = statements::donor_statement(db, &plan, giver, &thresholds).await?;
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            let json = serde_json::to_string_pretty(&statement)
                .map_err(|e| Error::Internal(e.to_string()))?;
            writeln!(out, "{json}")?;
        }
        Format::Csv => statements::write_csv(&statement, part, out)?,
        Format::Table => {
            reports::write_table(&statement.by_activity, &mut out)?;
            writeln!(out)?;
            reports::write_table(&statement.by_fiscal_year, &mut out)?;
            writeln!(out)?;
            writeln!(out, "Disbursements ({}):", statement.disbursements.len())?;
            for p in &statement.disbursements {
                writeln!(
                    out,
                    "{}  {:<16}  {:<14}  {:>16} {}  {:>16} {}{}",
                    p.date,
                    p.reference,
                    p.activity_code,
                    p.amount.grouped(),
                    p.currency,
                    p.plan_amount.grouped(),
                    statement.currency,
                    p.reverses
                        .as_ref()
                        .map(|r| format!("  reverses {r}"))
                        .unwrap_or_default()
                )?;
            }
            writeln!(
                out,
                "Total disbursed: {} {}",
                statement.disbursed.grouped(),
                statement.currency
            )?;
            writeln!(out)?;
            writeln!(out, "Red flags ({}):", statement.red_flags.len())?;
            for flag in &statement.red_flags {
                writeln!(
                    out,
                    "{}  {:<8}  {:<24}  {}",
                    flag.fiscal_year, flag.severity, flag.rule, flag.message
                )?;
            }
            writeln!(out)?;
            match &statement.checkpoint {
                Some(c) => writeln!(
                    out,
                    "Audit checkpoint: entry {} with hash {}, signed at {} by public key {}; \
                     signature {}",
                    c.entries, c.head_hash, c.signed_at, c.public_key, c.signature
                )?,
                None => writeln!(out, "Audit checkpoint: none signed yet")?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// How the person at the terminal is named in the audit trail.
fn cli_actor() -> String {
    let name = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "operator".to_owned());
    format!("cli:{name}")
}

/// A progress bar on standard error, drawn only when it is a terminal.
struct TerminalProgress {
    bar: indicatif::ProgressBar,
}

impl TerminalProgress {
    fn new() -> Self {
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        TerminalProgress { bar }
    }
}

impl Progress for TerminalProgress {
    fn file_started(&self, file: &str, total_bytes: Option<u64>) {
        self.bar.reset();
        self.bar.set_length(total_bytes.unwrap_or(0));
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {bytes}/{total_bytes} ({eta} left)",
        ) {
            self.bar.set_style(style.progress_chars("=> "));
        }
        self.bar.set_message(file.to_owned());
    }

    fn advanced(&self, bytes_read: u64) {
        // Drawing is rate-limited by indicatif; setting the position is cheap.
        self.bar.set_position(bytes_read);
    }

    fn file_finished(&self) {
        self.bar.finish_and_clear();
    }
}
