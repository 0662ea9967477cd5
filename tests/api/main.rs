//! The integration suite: one binary, one module per feature. Every test gets its own fresh
//! database: an SQLite file in a temporary folder, or, when `NAPTRACK_TEST_POSTGRES_URL` names
//! a PostgreSQL server, a database created for the test and dropped after it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod admin_web;
mod bound;
mod browser;
mod checkpoints;
mod clerk_pages;
mod cli;
mod dates;
mod export;
mod fixtures;
mod flags;
mod foundation;
mod history;
mod hostile;
mod http;
mod iati;
mod iati_results;
mod iati_rules;
mod import;
mod money;
mod red_flags;
mod reliability;
mod reports;
mod results_form;
mod results_report;
mod results_rules;
mod roundtrip;
mod sessions;
mod trail;
mod web;
