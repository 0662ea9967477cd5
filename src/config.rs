//! Configuration: `Rocket.toml` (profiles `default`, `debug`, `release`), `ROCKET_*`
//! environment variables as Rocket reads them, and `DATABASE_URL`, which wins over the file.

use std::path::PathBuf;

use rocket::figment::Figment;
use rocket::figment::providers::Serialized;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::domain::flags::{
    Thresholds, duplicate_payment, indicator_not_reported, indicator_off_track,
    institution_inactive, low_execution, obligation_undisbursed, split_payments, year_end_spike,
};
use crate::money::Amount;

/// The database used when neither `DATABASE_URL` nor `Rocket.toml` names one: an embedded
/// SQLite file in the working directory, created when missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://naptrack.db";

/// naptrack's own settings, read from the same figment as Rocket's.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    #[serde(default = "default_database_url")]
    pub database_url: String,
    /// Fill an empty database from `samples_dir` at start-up (the `debug` profile does).
    #[serde(default)]
    pub load_samples: bool,
    #[serde(default = "default_samples_dir")]
    pub samples_dir: PathBuf,
    /// The largest pool of database connections; the default suits each backend.
    #[serde(default)]
    pub database_max_connections: Option<u32>,
    /// The thresholds of the flag rules (`[default.flags]`).
    #[serde(default)]
    pub flags: FlagSettings,
    /// The publisher named in the IATI export (`[default.iati]`).
    #[serde(default)]
    pub iati: IatiSettings,
    /// The Ed25519 key file that signs audit checkpoints (`naptrack audit keygen` writes
    /// one). It lives outside the database on purpose: whoever can change the database must
    /// not also be able to sign a rewritten trail. No key, no checkpoints.
    #[serde(default)]
    pub audit_key_file: Option<PathBuf>,
    /// How often the server signs a checkpoint of the audit trail, in minutes, when the head
    /// moved; 0 (the default) leaves it to `naptrack audit checkpoint`.
    #[serde(default)]
    pub audit_checkpoint_interval_minutes: u64,
}

/// Who publishes the IATI file. Every activity's identifier begins with `reporting_org_ref`,
/// and IATI requires an identifier never to change once published, so the reference must be
/// the organisation's registered IATI identifier before a file leaves the ministry. The
/// defaults are placeholders that validate but name no real organisation.
#[derive(Debug, Clone, Deserialize)]
pub struct IatiSettings {
    /// The organisation identifier, `{RegistrationAgency}-{RegistrationNumber}`.
    #[serde(default = "default_iati_ref")]
    pub reporting_org_ref: String,
    #[serde(default = "default_iati_name")]
    pub reporting_org_name: String,
    /// A code of IATI's OrganisationType list (10 = government).
    #[serde(default = "default_iati_type")]
    pub reporting_org_type: String,
    /// The language of the titles and names (ISO 639-1), written as the activities' xml:lang.
    #[serde(default = "default_iati_language")]
    pub language: String,
}

impl Default for IatiSettings {
    fn default() -> Self {
        IatiSettings {
            reporting_org_ref: default_iati_ref(),
            reporting_org_name: default_iati_name(),
            reporting_org_type: default_iati_type(),
            language: default_iati_language(),
        }
    }
}

fn default_iati_ref() -> String {
    "XI-IATI-EXAMPLE".to_owned()
}

fn default_iati_name() -> String {
    "Example reporting organisation (set iati.reporting_org_name)".to_owned()
}

fn default_iati_type() -> String {
    "10".to_owned()
}

fn default_iati_language() -> String {
    "en".to_owned()
}

impl IatiSettings {
    /// Refuses settings that would make every exported identifier or the reporting-org
    /// element wrong: an identifier with spaces or slashes cannot be looked up in the IATI
    /// registry, and the organisation type and language are codes.
    pub fn check(&self) -> Result<(), crate::error::Error> {
        let reference = &self.reporting_org_ref;
        if !crate::domain::iati::is_organisation_identifier(reference) {
            return Err(crate::error::Error::Config(format!(
                "iati.reporting_org_ref must be an IATI organisation identifier such as \
                 \"XM-DAC-41114\", without spaces or / & | ?; not \"{reference}\""
            )));
        }
        if self.reporting_org_name.trim().is_empty() {
            return Err(crate::error::Error::Config(
                "iati.reporting_org_name must name the reporting organisation".to_owned(),
            ));
        }
        let code = &self.reporting_org_type;
        if code.len() != 2 || !code.chars().all(|c| c.is_ascii_digit()) {
            return Err(crate::error::Error::Config(format!(
                "iati.reporting_org_type must be a two-digit code of IATI's OrganisationType \
                 list (10 government, 40 multilateral, ...), not \"{code}\""
            )));
        }
        let language = &self.language;
        if language.len() != 2 || !language.chars().all(|c| c.is_ascii_lowercase()) {
            return Err(crate::error::Error::Config(format!(
                "iati.language must be a two-letter ISO 639-1 code such as \"en\", not \"{language}\""
            )));
        }
        Ok(())
    }
}

/// The flag thresholds as configured; each rule's file in `domain/flags/` says what its
/// thresholds mean and which values it accepts.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FlagSettings {
    #[serde(default)]
    pub low_execution_tolerance_points: Option<DecimalSetting>,
    #[serde(default)]
    pub inactive_days: Option<i64>,
    #[serde(default)]
    pub undisbursed_after_fraction: Option<DecimalSetting>,
    #[serde(default)]
    pub not_reported_grace_days: Option<i64>,
    #[serde(default)]
    pub off_track_tolerance_percent: Option<DecimalSetting>,
    #[serde(default)]
    pub duplicate_within_days: Option<i64>,
    #[serde(default)]
    pub split_payments_count: Option<usize>,
    /// Money: a string (`"10000.00"`) or a whole number, never a binary fraction.
    #[serde(default)]
    pub split_review_threshold: Option<DecimalSetting>,
    #[serde(default)]
    pub split_within_days: Option<i64>,
    #[serde(default)]
    pub year_end_spike_percent: Option<DecimalSetting>,
}

/// A decimal setting written as a string (`"0.5"`) or a number (`0.5`, `25`). A number is
/// read from its shortest text, so `0.5` is exactly one half. (These are shares of time and
/// points of percentage, never money.)
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum DecimalSetting {
    Integer(i64),
    Number(f64),
    Text(String),
}

impl DecimalSetting {
    fn value(&self, name: &str) -> Result<Decimal, crate::error::Error> {
        let parsed = match self {
            DecimalSetting::Integer(n) => Ok(Decimal::from(*n)),
            DecimalSetting::Number(n) => Decimal::from_str(&n.to_string()),
            DecimalSetting::Text(text) => Decimal::from_str(text.trim()),
        };
        parsed.map_err(|_| {
            crate::error::Error::Config(format!("flags.{name} is not a decimal number"))
        })
    }
}

impl DecimalSetting {
    /// An amount of money: a whole number or a string in the contract's amount syntax. A
    /// number with a fraction is refused: money never passes through a binary fraction.
    fn amount(&self, name: &str) -> Result<Amount, crate::error::Error> {
        let text = match self {
            DecimalSetting::Integer(n) => n.to_string(),
            DecimalSetting::Text(text) => text.trim().to_owned(),
            DecimalSetting::Number(_) => {
                return Err(crate::error::Error::Config(format!(
                    "flags.{name} is money: write it as a string (\"10000.00\") or a whole number"
                )));
            }
        };
        Amount::parse(&text)
            .map_err(|e| crate::error::Error::Config(format!("flags.{name} is not an amount: {e}")))
    }
}

impl FlagSettings {
    /// The thresholds, with the contract's defaults for what is not configured.
    pub fn thresholds(&self) -> Result<Thresholds, crate::error::Error> {
        let defaults = Thresholds::default();
        let points = match &self.low_execution_tolerance_points {
            Some(setting) => setting.value("low_execution_tolerance_points")?,
            None => defaults.low_execution.points,
        };
        let fraction = match &self.undisbursed_after_fraction {
            Some(setting) => setting.value("undisbursed_after_fraction")?,
            None => defaults.obligation_undisbursed.fraction,
        };
        let off_track = match &self.off_track_tolerance_percent {
            Some(setting) => setting.value("off_track_tolerance_percent")?,
            None => defaults.indicator_off_track.percent,
        };
        let thresholds = Thresholds {
            low_execution: low_execution::Tolerance { points },
            obligation_undisbursed: obligation_undisbursed::After { fraction },
            institution_inactive: institution_inactive::After {
                days: self
                    .inactive_days
                    .unwrap_or(defaults.institution_inactive.days),
            },
            indicator_not_reported: indicator_not_reported::Grace {
                days: self
                    .not_reported_grace_days
                    .unwrap_or(defaults.indicator_not_reported.days),
            },
            indicator_off_track: indicator_off_track::Tolerance { percent: off_track },
            duplicate_payment: duplicate_payment::Within {
                days: self
                    .duplicate_within_days
                    .unwrap_or(defaults.duplicate_payment.days),
            },
            split_payments: split_payments::Limits {
                count: self
                    .split_payments_count
                    .unwrap_or(defaults.split_payments.count),
                threshold: match &self.split_review_threshold {
                    Some(setting) => setting.amount("split_review_threshold")?,
                    None => defaults.split_payments.threshold,
                },
                days: self
                    .split_within_days
                    .unwrap_or(defaults.split_payments.days),
            },
            year_end_spike: year_end_spike::Share {
                percent: match &self.year_end_spike_percent {
                    Some(setting) => setting.value("year_end_spike_percent")?,
                    None => defaults.year_end_spike.percent,
                },
            },
        };
        thresholds.check().map_err(crate::error::Error::Config)?;
        Ok(thresholds)
    }
}

/// The web sign-in's sessions and cookies, read from the same figment as Rocket's
/// (`session_idle_minutes`, `trust_proxy_tls` at the top of a profile).
#[derive(Debug, Clone, Deserialize)]
pub struct SessionSettings {
    /// A session ends after this many minutes without a request; 0 leaves only the absolute
    /// limit of 12 hours after sign-in, which always holds.
    #[serde(default = "default_session_idle_minutes")]
    pub session_idle_minutes: u32,
    /// Mark cookies `Secure` when a reverse proxy says, with `X-Forwarded-Proto: https`, that
    /// the browser reached it over TLS. Off by default: a client that reaches the app directly
    /// could send the header itself, so turn it on only when the app is reachable through the
    /// proxy alone. Over the app's own TLS cookies are always `Secure`.
    #[serde(default)]
    pub trust_proxy_tls: bool,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            session_idle_minutes: default_session_idle_minutes(),
            trust_proxy_tls: false,
        }
    }
}

fn default_session_idle_minutes() -> u32 {
    60
}

impl SessionSettings {
    /// The settings, or a configuration error naming what is wrong.
    pub fn from_figment(figment: &Figment) -> Result<Self, crate::error::Error> {
        figment
            .extract()
            .map_err(|e| crate::error::Error::Config(e.to_string()))
    }
}

fn default_database_url() -> String {
    DEFAULT_DATABASE_URL.to_owned()
}

fn default_samples_dir() -> PathBuf {
    PathBuf::from("samples")
}

/// Rocket's figment with `DATABASE_URL` merged over it when that variable is set.
pub fn figment() -> Figment {
    let figment = rocket::Config::figment();
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => {
            figment.merge(Serialized::default("database_url", url.trim().to_owned()))
        }
        _ => figment,
    }
}

impl Settings {
    /// The settings, checked: a bad threshold stops the program at start, not at first use.
    pub fn from_figment(figment: &Figment) -> Result<Self, crate::error::Error> {
        let settings: Settings = figment
            .extract()
            .map_err(|e| crate::error::Error::Config(e.to_string()))?;
        settings.flags.thresholds()?;
        settings.iati.check()?;
        Ok(settings)
    }
}
