//! Configuration: `Rocket.toml` (profiles `default`, `debug`, `release`), `ROCKET_*`
//! environment variables as Rocket reads them, and `DATABASE_URL`, which wins over the file.

use std::path::PathBuf;

use rocket::figment::Figment;
use rocket::figment::providers::Serialized;
use serde::Deserialize;

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
    pub fn from_figment(figment: &Figment) -> Result<Self, crate::error::Error> {
        figment
            .extract()
            .map_err(|e| crate::error::Error::Config(e.to_string()))
    }
}
