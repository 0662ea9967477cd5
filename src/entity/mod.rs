//! SeaORM entities, one file per table. Foreign keys live in the database (see the
//! migrations); the services join explicitly, so the entities carry only the one relation a
//! service navigates (an API token to its user).

pub mod activity;
pub mod api_token;
pub mod audit_checkpoint;
pub mod audit_entry;
pub mod budget_line;
pub mod commitment;
pub mod disbursement;
pub mod exchange_rate;
pub mod funding_source;
pub mod idempotency_key;
pub mod indicator;
pub mod indicator_value;
pub mod institution;
pub mod login_attempt;
pub mod objective;
pub mod obligation;
pub mod plan;
pub mod user;
pub mod web_session;
