//! `naptrack audit`: verify the trail (against a signed checkpoint or a head a donor holds),
//! write a signing key, sign a checkpoint.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use sea_orm::DatabaseConnection;

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::service::audit::{self, Verification};
use crate::service::checkpoints::{self, Checkpoint, Head};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit trail's hash chain; exit 0 when intact. With a checkpoint (or a head),
    /// also check that the trail still holds that head.
    Verify(VerifyArgs),
    /// Write a new Ed25519 signing key file for checkpoints and print its public key.
    Keygen(KeygenArgs),
    /// Sign the trail's head with the key of audit_key_file, store and print the checkpoint.
    Checkpoint,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A checkpoint as `naptrack audit checkpoint` prints it (JSON): its signature is checked
    /// and the trail must still hold its head.
    #[arg(long, conflicts_with = "head")]
    pub checkpoint: Option<PathBuf>,
    /// With --checkpoint: the public key (hex) the checkpoint must be signed by.
    #[arg(long, requires = "checkpoint")]
    pub public_key: Option<String>,
    /// A head given by a donor, ENTRIES:HASH: the trail must still hold it.
    #[arg(long)]
    pub head: Option<String>,
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// The key file to write; it must not exist. Default: the audit_key_file setting.
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
}

pub async fn run(
    db: &DatabaseConnection,
    settings: &Settings,
    command: AuditCommand,
) -> Result<ExitCode> {
    match command {
        AuditCommand::Verify(args) => verify(db, args).await,
        AuditCommand::Keygen(args) => keygen(settings, args),
        AuditCommand::Checkpoint => checkpoint(db, settings).await,
    }
}

async fn verify(db: &DatabaseConnection, args: VerifyArgs) -> Result<ExitCode> {
    let checkpoint = match &args.checkpoint {
        Some(file) => {
            let text = std::fs::read_to_string(file).map_err(|e| {
                Error::BadRequest(format!(
                    "cannot read the checkpoint {}: {e}",
                    file.display()
                ))
            })?;
            let checkpoint = Checkpoint::from_json(&text)?;
            checkpoint.check_signature(args.public_key.as_deref())?;
            Some(checkpoint)
        }
        None => None,
    };
    let head = match (&checkpoint, &args.head) {
        (Some(checkpoint), _) => Some(checkpoint.head()),
        (None, Some(text)) => Some(text.parse::<Head>()?),
        (None, None) => None,
    };
    let verification = match &head {
        Some(head) => checkpoints::verify_head(db, head).await?,
        None => audit::verify(db).await?,
    };
    match verification {
        Verification::Intact {
            entries,
            head: hash,
        } => {
            println!("the audit trail is intact: {entries} entries; head hash {hash}");
            if let Some(checkpoint) = &checkpoint {
                let trusted = if args.public_key.is_some() {
                    "the trusted key"
                } else {
                    "the public key"
                };
                println!(
                    "it holds the checkpoint signed at {} by {trusted} {}: entry {} with hash {}",
                    checkpoint.signed_at,
                    checkpoint.public_key,
                    checkpoint.entries,
                    checkpoint.head_hash
                );
                if args.public_key.is_none() {
                    println!(
                        "compare that key with the one the ministry published, or pass it \
                         with --public-key to have it checked"
                    );
                }
            } else if let Some(head) = &head {
                println!(
                    "it holds the head entry {} with hash {}",
                    head.entries, head.hash
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Verification::Broken { entry, reason } => {
            eprintln!("naptrack: the audit trail is broken at entry {entry}: {reason}");
            Ok(ExitCode::FAILURE)
        }
        Verification::Differs { reason, .. } => {
            eprintln!(
                "naptrack: the audit trail is intact, but the records are not what it says: \
                 {reason}"
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

fn keygen(settings: &Settings, args: KeygenArgs) -> Result<ExitCode> {
    let Some(path) = args.output.or_else(|| settings.audit_key_file.clone()) else {
        return Err(Error::BadRequest(
            "name the key file: naptrack audit keygen -o FILE, or set audit_key_file".to_owned(),
        ));
    };
    let public_key = checkpoints::keygen(&path)?;
    println!(
        "wrote a new signing key to {} (readable by its owner only); keep it outside the \
         database and back it up apart from it",
        path.display()
    );
    println!("public key: {public_key}");
    Ok(ExitCode::SUCCESS)
}

async fn checkpoint(db: &DatabaseConnection, settings: &Settings) -> Result<ExitCode> {
    let key = checkpoints::configured_key(settings)?;
    let checkpoint = checkpoints::create(db, &key).await?;
    let json =
        serde_json::to_string_pretty(&checkpoint).map_err(|e| Error::Internal(e.to_string()))?;
    println!("{json}");
    Ok(ExitCode::SUCCESS)
}
