//! Async functions over a database connection: the app's use cases. The CLI, the API and the
//! web UI all call these, so every rule holds whichever way the data comes in.

pub mod audit;
pub mod backup;
pub mod checkpoints;
pub mod export;
pub mod flags;
pub mod iati;
pub mod idempotency;
pub mod import;
pub mod ledger;
pub mod plans;
pub mod rates;
pub mod records;
pub mod report_cache;
pub mod reports;
pub mod results;
pub mod samples;
pub mod sessions;
pub mod statements;
pub mod summary;
pub mod trail;
pub mod users;
pub mod warnings;
pub mod web_sessions;
