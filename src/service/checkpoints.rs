//! Signed checkpoints of the audit trail.
//!
//! The hash chain of [`crate::service::audit`] shows any change to a past entry, but not a
//! trail cut short at its end, nor one rewritten from some entry on with every later hash
//! recomputed: both leave a valid, different chain. A checkpoint closes that gap. It is the
//! trail's head (its entry count and the hash of its last entry) signed with an Ed25519 key
//! that lives outside the database, in a file named by the `audit_key_file` setting. Once a
//! donor holds a checkpoint (the donor statement and the IATI file carry the latest one), the
//! trail must still hold that head: entry number `entries` must exist, with exactly that
//! hash, at the end of an intact chain. Whoever controls the database but not the key cannot
//! make a new checkpoint for a rewritten trail, and cannot take back the ones given out.
//!
//! The signed bytes are the UTF-8 of
//! `naptrack-checkpoint:v1:{entries}:{head_hash}:{signed_at}` (see [`signed_message`]), so an
//! auditor can check a signature with the public key alone, with any Ed25519 tool.
//!
//! Making a checkpoint writes no audit entry: the entry would move the head it just signed,
//! and a scheduled checkpoint would then never find the head unchanged. The checkpoints table
//! is append-only instead, and every row carries its own signature.

use std::io::Write;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rocket::fairing::AdHoc;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryOrder, Set,
    StreamTrait,
};
use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::entity::audit_checkpoint;
use crate::error::{Error, Result};
use crate::service::audit::{self, Verification, hex};

/// The version tag that begins every signed message; a later format gets a new tag, so a
/// signature can never be read under the wrong format.
pub const SIGNED_PREFIX: &str = "naptrack-checkpoint:v1";

/// The DER prefix of an Ed25519 public key as a SubjectPublicKeyInfo (RFC 8410): followed by
/// the 32 key bytes it makes the key that `openssl pkeyutl -verify -pubin` reads.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// One signed head of the audit trail, as printed, stored and handed to donors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = AuditCheckpoint)]
pub struct Checkpoint {
    /// How many entries the trail held: the head is entry number `entries`.
    pub entries: u64,
    /// The SHA-256 of that entry, lower-case hex.
    pub head_hash: String,
    /// When it was signed, RFC 3339 in UTC, exactly as signed.
    pub signed_at: String,
    /// The Ed25519 public key (32 bytes), lower-case hex.
    pub public_key: String,
    /// The Ed25519 signature (64 bytes) of [`Checkpoint::signed_message`], lower-case hex.
    pub signature: String,
}

/// The text whose UTF-8 bytes a checkpoint signs: the version tag, the entry count in
/// decimal, the head hash in lower-case hex and the signing time, separated by colons. None
/// of the parts can hold a colon except the time, which is last, so the text reads back
/// into exactly one head.
pub fn signed_message(entries: u64, head_hash: &str, signed_at: &str) -> String {
    format!("{SIGNED_PREFIX}:{entries}:{head_hash}:{signed_at}")
}

impl Checkpoint {
    /// The text this checkpoint's signature covers.
    pub fn signed_message(&self) -> String {
        signed_message(self.entries, &self.head_hash, &self.signed_at)
    }

    /// The head it signs.
    pub fn head(&self) -> Head {
        Head {
            entries: self.entries,
            hash: self.head_hash.to_ascii_lowercase(),
        }
    }

    /// The public key as a PEM `PUBLIC KEY` block, for tools such as openssl.
    pub fn public_key_pem(&self) -> Result<String> {
        let key = decode_fixed::<32>("public key", &self.public_key)?;
        let mut der = SPKI_PREFIX.to_vec();
        der.extend_from_slice(&key);
        Ok(format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            base64(&der)
        ))
    }

    /// Checks that the signature is valid for the checkpoint's own public key (by the strict
    /// rules of `verify_strict`, which refuse weak keys and malleable signatures) and, when
    /// `trusted_key` is given (hex), that this is the key. Without a trusted key the
    /// signature only shows that the holder of the printed public key signed it, so a caller
    /// must show that key to be compared.
    pub fn check_signature(&self, trusted_key: Option<&str>) -> Result<()> {
        if let Some(trusted) = trusted_key
            && !trusted.trim().eq_ignore_ascii_case(&self.public_key)
        {
            return Err(Error::BadRequest(format!(
                "the checkpoint is signed by the key {}, not by the trusted key {}",
                self.public_key,
                trusted.trim()
            )));
        }
        Head::parse_hash(&self.head_hash)?;
        let key = VerifyingKey::from_bytes(&decode_fixed::<32>("public key", &self.public_key)?)
            .map_err(|e| {
                Error::BadRequest(format!("the checkpoint's public key is not valid: {e}"))
            })?;
        let signature = Signature::from_bytes(&decode_fixed::<64>("signature", &self.signature)?);
        key.verify_strict(self.signed_message().as_bytes(), &signature)
            .map_err(|_| {
                Error::BadRequest(format!(
                    "the checkpoint's signature does not verify with its public key {}: its \
                     entries, head hash or time were changed, or another key signed it",
                    self.public_key
                ))
            })
    }

    /// Reads a checkpoint as `naptrack audit checkpoint` prints it.
    pub fn from_json(text: &str) -> Result<Checkpoint> {
        serde_json::from_str(text).map_err(|e| {
            Error::BadRequest(format!(
                "not a naptrack checkpoint (JSON with entries, head_hash, signed_at, \
                 public_key, signature): {e}"
            ))
        })
    }

    fn of(model: audit_checkpoint::Model) -> Result<Checkpoint> {
        Ok(Checkpoint {
            entries: u64::try_from(model.entries).map_err(|_| {
                Error::Internal(format!(
                    "checkpoint {} has a negative entry count",
                    model.id
                ))
            })?,
            head_hash: model.head_hash,
            signed_at: model.signed_at,
            public_key: model.public_key,
            signature: model.signature,
        })
    }
}

/// A head of the trail that someone holds: from a checkpoint, or given by a donor as
/// `ENTRIES:HASH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub entries: u64,
    /// Lower-case hex.
    pub hash: String,
}

impl Head {
    fn parse_hash(text: &str) -> Result<String> {
        let hash = text.trim().to_ascii_lowercase();
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::BadRequest(format!(
                "\"{text}\" is not a head hash: 64 hexadecimal digits"
            )));
        }
        Ok(hash)
    }
}

impl FromStr for Head {
    type Err = Error;

    fn from_str(text: &str) -> Result<Head> {
        let refuse = || {
            Error::BadRequest(format!(
                "\"{text}\" is not a head: write ENTRIES:HASH, e.g. 42:{}",
                "0".repeat(64)
            ))
        };
        let (entries, hash) = text.split_once(':').ok_or_else(refuse)?;
        let entries: u64 = entries.trim().parse().map_err(|_| refuse())?;
        if entries == 0 {
            return Err(Error::BadRequest(
                "a head counts at least one entry: an empty trail holds nothing to check"
                    .to_owned(),
            ));
        }
        Ok(Head {
            entries,
            hash: Head::parse_hash(hash)?,
        })
    }
}

/// Writes a new signing key to `path` and returns its public key (hex).
///
/// The file is created, never replaced: an existing file (perhaps the key that signed the
/// checkpoints donors hold) is an error. On Unix it is readable by its owner only (0600).
/// It holds the 32-byte Ed25519 secret in hex, after comment lines naming the public key.
pub fn keygen(path: &Path) -> Result<String> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    let key = SigningKey::from_bytes(&secret);
    secret.fill(0);
    let public = hex(key.verifying_key().as_bytes());
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::Conflict(format!(
                "{} already exists: naptrack never overwrites a signing key (move it away \
                 first if you mean to replace it; keep it to verify what it signed)",
                path.display()
            ))
        } else {
            Error::Config(format!(
                "cannot create the key file {}: {e}",
                path.display()
            ))
        }
    })?;
    let text = format!(
        "# naptrack audit signing key (Ed25519 secret, hex). Keep it secret, outside the \
         database, and backed up apart from it.\n# public key: {public}\n{}\n",
        hex(key.as_bytes())
    );
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(public)
}

/// Reads the signing key in `path`, as [`keygen`] writes it. On Unix a file that others may
/// read is refused: whoever can read the key can sign a rewritten trail.
pub fn load_key(path: &Path) -> Result<SigningKey> {
    let unreadable = |e: std::io::Error| {
        Error::Config(format!(
            "cannot read the audit key file {}: {e}",
            path.display()
        ))
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(unreadable)?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(Error::Config(format!(
                "the audit key file {} may be read by others (mode {:o}): chmod 600 it",
                path.display(),
                mode & 0o777
            )));
        }
    }
    let text = std::fs::read_to_string(path).map_err(unreadable)?;
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'));
    let (Some(line), None) = (lines.next(), lines.next()) else {
        return Err(Error::Config(format!(
            "{} is not a naptrack audit key file (write one with naptrack audit keygen)",
            path.display()
        )));
    };
    let secret = decode_fixed::<32>("secret key", line).map_err(|_| {
        Error::Config(format!(
            "{} does not hold a 32-byte secret key in hex (write one with naptrack audit keygen)",
            path.display()
        ))
    })?;
    Ok(SigningKey::from_bytes(&secret))
}

/// The key of the `audit_key_file` setting; refuses when none is set, since an unsigned
/// checkpoint proves nothing.
pub fn configured_key(settings: &Settings) -> Result<SigningKey> {
    match &settings.audit_key_file {
        Some(path) => load_key(path),
        None => Err(Error::Config(
            "no signing key: set audit_key_file in Rocket.toml (or ROCKET_AUDIT_KEY_FILE) to \
             a key file written by naptrack audit keygen"
                .to_owned(),
        )),
    }
}

/// The public key of `key`, lower-case hex.
pub fn public_key(key: &SigningKey) -> String {
    hex(key.verifying_key().as_bytes())
}

/// Signs the head `entries`, `head_hash` as of `signed_at`.
pub fn sign(key: &SigningKey, entries: u64, head_hash: &str, signed_at: &str) -> Checkpoint {
    let signature = key.sign(signed_message(entries, head_hash, signed_at).as_bytes());
    Checkpoint {
        entries,
        head_hash: head_hash.to_owned(),
        signed_at: signed_at.to_owned(),
        public_key: public_key(key),
        signature: hex(&signature.to_bytes()),
    }
}

/// Signs the trail's current head with `key`, stores the checkpoint and returns it.
///
/// The chain is verified first: a checkpoint vouches for the trail up to its head, so a
/// broken trail is refused, naming the entry. An empty trail has no head to sign.
pub async fn create<C: ConnectionTrait + StreamTrait>(
    conn: &C,
    key: &SigningKey,
) -> Result<Checkpoint> {
    // The chain alone: a checkpoint signs the trail's head, and the records are checked
    // against the trail by `audit verify`, not each time the schedule signs.
    let (entries, head_hash) = match audit::verify_chain(conn).await? {
        Verification::Intact { entries: 0, .. } => {
            return Err(Error::Conflict(
                "the audit trail is empty: there is no head to sign yet".to_owned(),
            ));
        }
        Verification::Intact { entries, head } => (entries, head),
        Verification::Broken { entry, reason } => {
            return Err(Error::Conflict(format!(
                "the audit trail is broken at entry {entry}: {reason}; no checkpoint is signed"
            )));
        }
        Verification::Differs { reason, .. } => {
            return Err(Error::Conflict(format!(
                "the records are not what the audit trail says: {reason}; no checkpoint is \
                 signed"
            )));
        }
    };
    let signed_at = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
    let checkpoint = sign(key, entries, &head_hash, &signed_at);
    audit_checkpoint::ActiveModel {
        entries: Set(i64::try_from(entries)
            .map_err(|_| Error::Internal("the trail has too many entries".to_owned()))?),
        head_hash: Set(checkpoint.head_hash.clone()),
        signed_at: Set(checkpoint.signed_at.clone()),
        public_key: Set(checkpoint.public_key.clone()),
        signature: Set(checkpoint.signature.clone()),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(checkpoint)
}

/// Like [`create`], but only when the head moved since the latest checkpoint (or there is
/// none yet) and the trail is not empty: a schedule signs each head once.
pub async fn create_if_head_moved<C: ConnectionTrait + StreamTrait>(
    conn: &C,
    key: &SigningKey,
) -> Result<Option<Checkpoint>> {
    let Some((entries, hash)) = audit::head(conn).await? else {
        return Ok(None);
    };
    if let Some(latest) = latest(conn).await?
        && i64::try_from(latest.entries).ok() == Some(entries)
        && latest.head_hash == hash
    {
        return Ok(None);
    }
    create(conn, key).await.map(Some)
}

/// The checkpoint signed last, if any.
pub async fn latest<C: ConnectionTrait>(conn: &C) -> Result<Option<Checkpoint>> {
    audit_checkpoint::Entity::find()
        .order_by_desc(audit_checkpoint::Column::Id)
        .one(conn)
        .await?
        .map(Checkpoint::of)
        .transpose()
}

/// Verifies the trail as [`audit::verify`] does and, further, that it still holds `head`:
/// the chain is intact at least up to entry `head.entries`, and that entry has exactly
/// `head.hash`.
///
/// Returns the first bad entry: a break in the chain up to the head; the first missing entry
/// when the trail now ends before the head (it was cut short); the head's entry when its hash
/// differs (the trail was rewritten at or before it, every later hash recomputed); else a
/// break after the head, or the trail's own `Intact`.
pub async fn verify_head<C: ConnectionTrait + StreamTrait>(
    conn: &C,
    head: &Head,
) -> Result<Verification> {
    let trail = audit::verify(conn).await?;
    let wanted = i64::try_from(head.entries)
        .map_err(|_| Error::BadRequest(format!("{} entries is too many", head.entries)))?;
    match &trail {
        Verification::Broken { entry, .. } if *entry <= wanted => return Ok(trail),
        Verification::Intact { entries, .. } if *entries < head.entries => {
            let first_missing = *entries + 1;
            let range = if first_missing == head.entries {
                format!("entry {first_missing} was")
            } else {
                format!("entries {first_missing} to {} were", head.entries)
            };
            return Ok(Verification::Broken {
                entry: i64::try_from(first_missing).unwrap_or(i64::MAX),
                reason: format!(
                    "the trail ends at entry {entries}, but the checkpoint signed entry {} \
                     with hash {}: {range} removed",
                    head.entries, head.hash
                ),
            });
        }
        _ => {}
    }
    match audit::stored_hash(conn, wanted).await? {
        Some(hash) if hash == head.hash => Ok(trail),
        found => Ok(Verification::Broken {
            entry: wanted,
            reason: format!(
                "its hash is {}, but the checkpoint signed {}: the trail was rewritten at or \
                 before entry {wanted}",
                found.as_deref().unwrap_or("missing"),
                head.hash
            ),
        }),
    }
}

/// Makes a checkpoint on the schedule of `audit_checkpoint_interval_minutes` (0, the
/// default, is off) while the server runs: at lift-off and then every interval, each time
/// only when the head moved. With the schedule on, a missing or unreadable key stops the
/// launch instead of leaving donors without checkpoints unnoticed.
pub fn stage() -> AdHoc {
    AdHoc::try_on_ignite("Audit checkpoints", |rocket| async move {
        let Some(settings) = rocket.state::<Settings>().cloned() else {
            return Ok(rocket);
        };
        let minutes = settings.audit_checkpoint_interval_minutes;
        if minutes == 0 {
            return Ok(rocket);
        }
        let key = match configured_key(&settings) {
            Ok(key) => Arc::new(key),
            Err(e) => {
                eprintln!(
                    "naptrack: audit checkpoints are on (every {minutes} minutes) but the signing \
                     key cannot be used: {}",
                    e.log_detail()
                );
                return Err(rocket);
            }
        };
        let every = Duration::from_secs(minutes.saturating_mul(60));
        Ok(rocket.attach(AdHoc::on_liftoff(
            "Audit checkpoint schedule",
            move |rocket| {
                Box::pin(async move {
                    if let Some(db) = rocket.state::<DatabaseConnection>().cloned() {
                        let shutdown = rocket.shutdown();
                        tokio::spawn(async move {
                            tokio::select! {
                                () = run_schedule(db, key, every) => {}
                                _ = shutdown => {}
                            }
                        });
                    }
                })
            },
        )))
    })
}

async fn run_schedule(db: DatabaseConnection, key: Arc<SigningKey>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match create_if_head_moved(&db, &key).await {
            Ok(Some(checkpoint)) => println!(
                "naptrack: signed audit checkpoint: entry {} hash {}",
                checkpoint.entries, checkpoint.head_hash
            ),
            Ok(None) => {}
            Err(e) => eprintln!(
                "naptrack: the scheduled audit checkpoint failed: {}",
                e.log_detail()
            ),
        }
    }
}

/// Exactly `N` bytes from hex.
fn decode_fixed<const N: usize>(what: &str, text: &str) -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    ::hex::decode_to_slice(text.trim(), &mut bytes).map_err(|_| {
        Error::BadRequest(format!(
            "the {what} is not {N} bytes in hexadecimal ({} digits)",
            2 * N
        ))
    })?;
    Ok(bytes)
}

/// Standard base64 with padding (RFC 4648), for the PEM block.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7u8; 32])
    }

    const HASH: &str = "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12";

    #[test]
    fn the_signed_bytes_are_the_tagged_head_and_time() {
        assert_eq!(
            signed_message(42, HASH, "2026-12-04T20:00:00.000000Z"),
            format!("naptrack-checkpoint:v1:42:{HASH}:2026-12-04T20:00:00.000000Z")
        );
    }

    #[test]
    fn a_checkpoint_verifies_with_its_public_key_alone() {
        let checkpoint = sign(&key(), 42, HASH, "2026-12-04T20:00:00.000000Z");
        let public =
            VerifyingKey::from_bytes(&decode_fixed::<32>("k", &checkpoint.public_key).unwrap())
                .unwrap();
        let signature =
            Signature::from_bytes(&decode_fixed::<64>("s", &checkpoint.signature).unwrap());
        let message = format!("naptrack-checkpoint:v1:42:{HASH}:2026-12-04T20:00:00.000000Z");
        assert!(public.verify_strict(message.as_bytes(), &signature).is_ok());
        assert!(checkpoint.check_signature(None).is_ok());
        assert!(
            checkpoint
                .check_signature(Some(&checkpoint.public_key.to_uppercase()))
                .is_ok()
        );
    }

    #[test]
    fn changing_any_signed_field_breaks_the_signature() {
        let checkpoint = sign(&key(), 42, HASH, "2026-12-04T20:00:00.000000Z");
        let mut fewer = checkpoint.clone();
        fewer.entries = 41;
        assert!(fewer.check_signature(None).is_err());
        let mut other_hash = checkpoint.clone();
        other_hash.head_hash = HASH.replace('a', "c");
        assert!(other_hash.check_signature(None).is_err());
        let mut later = checkpoint.clone();
        later.signed_at = "2026-12-04T20:00:01.000000Z".into();
        assert!(later.check_signature(None).is_err());
        let other_key = SigningKey::from_bytes(&[8u8; 32]);
        assert!(
            checkpoint
                .check_signature(Some(&public_key(&other_key)))
                .is_err()
        );
    }

    #[test]
    fn a_head_reads_from_entries_and_hash() {
        let head: Head = format!("42:{}", HASH.to_uppercase()).parse().unwrap();
        assert_eq!(
            head,
            Head {
                entries: 42,
                hash: HASH.to_owned()
            }
        );
        assert!("42".parse::<Head>().is_err());
        assert!(format!("0:{HASH}").parse::<Head>().is_err());
        assert!("42:abc".parse::<Head>().is_err());
        assert!(format!("x:{HASH}").parse::<Head>().is_err());
    }

    #[test]
    fn the_pem_block_is_the_spki_of_the_key() {
        let checkpoint = sign(&SigningKey::from_bytes(&[0u8; 32]), 1, HASH, "t");
        let pem = checkpoint.public_key_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA"));
        assert_eq!(base64(b"foob"), "Zm9vYg==");
        assert_eq!(base64(b"fooba"), "Zm9vYmE=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
