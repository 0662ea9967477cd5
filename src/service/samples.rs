//! The illustrative sample plan, loaded into an empty database when `load_samples` is on
//! (the `debug` profile, so `cargo run` shows a working plan on a fresh machine).

use std::path::Path;

use rocket::fairing::AdHoc;
use sea_orm::DatabaseConnection;

use crate::config::Settings;
use crate::error::Result;
use crate::service::import::{self, ImportOptions, ImportReport, NoProgress};

/// Imports `dir` when the database holds no plan and no institution; `None` when it already
/// holds data, which is never touched.
pub async fn load_if_empty(db: &DatabaseConnection, dir: &Path) -> Result<Option<ImportReport>> {
    if !import::database_is_empty(db).await? {
        return Ok(None);
    }
    let options = ImportOptions {
        actor: "system:samples".to_owned(),
        ..ImportOptions::default()
    };
    let report = import::import_dir(db, dir, &options, &NoProgress).await?;
    Ok(Some(report))
}

/// Loads the samples at ignition when the configuration asks for it. A missing samples
/// folder is a warning (the server still starts); a sample file that fails to import stops
/// the launch, since it means the samples and the code disagree.
pub fn stage() -> AdHoc {
    AdHoc::try_on_ignite("Sample plan", |rocket| async move {
        let (Some(settings), Some(db)) = (
            rocket.state::<Settings>().cloned(),
            rocket.state::<DatabaseConnection>().cloned(),
        ) else {
            return Ok(rocket);
        };
        if !settings.load_samples {
            return Ok(rocket);
        }
        if !settings.samples_dir.is_dir() {
            eprintln!(
                "naptrack: warning: load_samples is on but {} is not a folder; starting without samples",
                settings.samples_dir.display()
            );
            return Ok(rocket);
        }
        match load_if_empty(&db, &settings.samples_dir).await {
            Ok(Some(report)) => {
                let rows: u64 = report.files.iter().map(|f| f.created).sum();
                println!(
                    "naptrack: loaded the illustrative sample plan from {} ({rows} records; the figures are invented)",
                    settings.samples_dir.display()
                );
                Ok(rocket)
            }
            Ok(None) => Ok(rocket),
            Err(e) => {
                for detail in e.details() {
                    eprintln!("{}", detail.to_line());
                }
                eprintln!(
                    "naptrack: the sample plan could not be loaded: {}",
                    e.log_detail()
                );
                Err(rocket)
            }
        }
    })
}
