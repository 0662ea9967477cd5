//! The audit trail page, for auditors and admins.

use askama::Template;
use rocket::{State, get};
use sea_orm::DatabaseConnection;

use crate::entity::audit_entry;
use crate::service::audit::{self, AuditFilter, AuditOrder, AuditPage, Verification};
use crate::web::session::WebUser;
use crate::web::{Nav, Page, render};

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditTrailPage {
    nav: Nav,
    entries: Vec<audit_entry::Model>,
    total: u64,
    offset: u64,
    next: Option<u64>,
    previous: Option<u64>,
    verification: String,
}

const AUDIT_PAGE: u64 = 100;

/// `GET /audit`: the trail, newest first, a hundred entries a page, with the chain's check.
#[get("/audit?<offset>")]
pub async fn get_audit(db: &State<DatabaseConnection>, user: WebUser, offset: Option<u64>) -> Page {
    user.require(crate::auth::AuditReader::ROLES)?;
    let offset = offset.unwrap_or(0);
    let AuditPage { total, entries } = audit::entries(
        db.inner(),
        &AuditFilter::default(),
        AuditOrder::NewestFirst,
        AUDIT_PAGE,
        offset,
    )
    .await?;
    let verification = match audit::verify(db.inner()).await? {
        Verification::Intact { entries, head } => {
            format!("Intact: {entries} entries, head hash {head}.")
        }
        Verification::Broken { entry, reason } => {
            format!("BROKEN at entry {entry}: {reason}.")
        }
        Verification::Differs { reason, .. } => {
            format!("The chain is intact, but the records are not what it says: {reason}.")
        }
    };
    render(&AuditTrailPage {
        nav: user.nav(),
        entries,
        total,
        offset,
        next: (offset + AUDIT_PAGE < total).then_some(offset + AUDIT_PAGE),
        previous: (offset > 0).then(|| offset.saturating_sub(AUDIT_PAGE)),
        verification,
    })
}
