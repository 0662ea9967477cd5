//! naptrack: a national action plan funding tracker.
//!
//! The library builds the whole app; `main.rs` only parses the command line and calls in, so
//! the tests exercise exactly the app that runs. Each feature is a `stage()` that attaches its
//! routes, state and fairings.

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod entity;
pub mod error;
pub mod headers;
pub mod money;
pub mod service;
pub mod web;

use rocket::figment::Figment;
use rocket::{Build, Rocket};

pub use error::{Error, Result};

/// The web app (UI and API) on the configuration in `figment`; see [`config::figment`].
pub fn build(figment: Figment) -> Rocket<Build> {
    rocket::custom(figment)
        .attach(db::stage())
        .manage(service::report_cache::ReportCache::default())
        .manage(service::import::CatalogCache::default())
        .attach(service::samples::stage())
        .attach(service::checkpoints::stage())
        .attach(api::stage())
        .attach(web::stage())
        .attach(headers::stage())
}
