//! The audit trail pages, for auditors and admins: the trail filtered by actor, record type,
//! record and days, a page at a time, each change shown as before and after side by side;
//! one entry on a page of its own, with the records it wrote (an import's, a page at a time);
//! and the filtered trail as a CSV file.
//!
//! Times are stored and shown in UTC. The server cannot know the browser's time zone without
//! a script, so each time is a `<time datetime>` in UTC, and a small optional script
//! (`/static/local-time.js`, the only script of the app, allowed by the `'self'` content
//! security policy) adds the browser's local time beside it. Without JavaScript the page
//! shows UTC alone and lacks nothing else.

use askama::Template;
use chrono::NaiveDate;
use rocket::http::{ContentType, Header, Status};
use rocket::response::content::RawHtml;
use rocket::{Request, Responder, State, get};
use sea_orm::DatabaseConnection;
use serde_json::Value;

use super::users::{ErrorLink, Pager};
use crate::domain::IsoDate;
use crate::domain::records::RecordKind;
use crate::entity::audit_entry;
use crate::error::{Error, Result};
use crate::service::audit::{self, AuditFilter, AuditOrder, AuditPage, Verification};
use crate::service::trail;
use crate::web::session::WebUser;
use crate::web::{Nav, WebError, render_text, urlencode};

/// Entries a page holds.
const AUDIT_PAGE: u64 = 100;
/// Records of one entry a page holds.
const ROWS_PAGE: u64 = 100;
/// Entries the CSV download reads from the database at a time.
const CSV_BATCH: u64 = 1000;

const LOCAL_TIME_SCRIPT: &str = include_str!("../../../static/local-time.js");

/// One field of a change: its value before and after, and whether it changed.
pub struct Change {
    pub field: String,
    pub before: String,
    pub after: String,
    pub changed: bool,
}

/// An entry as the pages show it.
pub struct EntryView {
    pub id: i64,
    pub href: String,
    /// RFC 3339 in UTC, for `<time datetime>`.
    pub recorded_at: String,
    /// `2026-12-06 20:43:53 UTC`.
    pub utc: String,
    pub actor: String,
    pub actor_href: String,
    pub action: String,
    pub entity: String,
    pub key: String,
    /// The page of the record the entry is about, where there is one.
    pub record_href: Option<String>,
    /// Every field of before and after.
    pub changes: Vec<Change>,
    /// How many records the entry wrote, by the digest its details carry.
    pub rows_written: Option<u64>,
    /// Other facts of the details (an import's counts, sessions ended).
    pub facts: Vec<(String, String)>,
    pub details: String,
}

impl EntryView {
    /// Whether any field is shown as before and after.
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    /// The fields that changed (all of them for a new record).
    pub fn changed(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.changed)
    }

    pub fn unchanged_count(&self) -> usize {
        self.changes.iter().filter(|c| !c.changed).count()
    }
}

/// A JSON value as a cell shows it: text as it is, nothing for null.
fn value_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

/// The fields of `before` and `after`, in the order the record lists them (after's, then
/// any that only before has).
fn changes_of(details: &Value) -> Vec<Change> {
    let empty = serde_json::Map::new();
    let object = |name: &str| details.get(name).and_then(Value::as_object);
    let (before, after) = (object("before"), object("after"));
    if before.is_none() && after.is_none() {
        return Vec::new();
    }
    let (before, after) = (before.unwrap_or(&empty), after.unwrap_or(&empty));
    let mut fields: Vec<&String> = after.keys().collect();
    fields.extend(before.keys().filter(|k| !after.contains_key(*k)));
    fields
        .into_iter()
        .map(|field| {
            let (b, a) = (before.get(field), after.get(field));
            Change {
                field: field.replace('_', " "),
                before: value_text(b),
                after: value_text(a),
                changed: b.unwrap_or(&Value::Null) != a.unwrap_or(&Value::Null),
            }
        })
        .collect()
}

/// The facts of the details besides before, after and the rows' digest.
fn facts_of(details: &Value) -> Vec<(String, String)> {
    details
        .as_object()
        .map(|object| {
            object
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "before" | "after" | "trail_rows"))
                .map(|(k, v)| (k.replace('_', " "), value_text(Some(v))))
                .collect()
        })
        .unwrap_or_default()
}

/// `2026-12-06T20:43:53.123456Z` as `2026-12-06 20:43:53 UTC`.
fn utc_text(recorded_at: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(recorded_at) {
        Ok(time) => time
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string(),
        Err(_) => recorded_at.to_owned(),
    }
}

/// A plan-scoped key `PLAN/CODE` split into its plan and its code.
fn plan_and_code(key: &str) -> Option<(&str, &str)> {
    key.split_once('/')
}

/// The page of a record the trail names, for a reader of the trail: `entity` is the record
/// type, `key` the trail's key of the record. Users' pages are for admins only.
pub fn record_href(entity: &str, key: &str, is_admin: bool) -> Option<String> {
    if entity == "user" {
        return is_admin.then(|| format!("/users/account?email={}", urlencode(key)));
    }
    let kind: RecordKind = entity.parse().ok()?;
    let plan_query = |plan: &str| format!("plan={}", urlencode(plan));
    match kind {
        RecordKind::Plans => Some(format!("/plan?{}", plan_query(key))),
        RecordKind::Objectives => {
            plan_and_code(key).map(|(plan, _)| format!("/plan?{}", plan_query(plan)))
        }
        RecordKind::Activities => plan_and_code(key)
            .map(|(plan, code)| format!("/activities/{}?{}", urlencode(code), plan_query(plan))),
        RecordKind::Disbursements => plan_and_code(key).map(|(plan, reference)| {
            format!(
                "/disbursements/{}?{}",
                urlencode(reference),
                plan_query(plan)
            )
        }),
        RecordKind::BudgetLines => plan_and_code(key)
            .map(|(plan, code)| format!("/budget-lines/{}?{}", urlencode(code), plan_query(plan))),
        RecordKind::Obligations => plan_and_code(key)
            .map(|(plan, code)| format!("/obligations/{}?{}", urlencode(code), plan_query(plan))),
        RecordKind::Institutions => Some(format!("/institutions/{}", urlencode(key))),
        RecordKind::Commitments => plan_and_code(key).map(|(plan, code)| {
            format!(
                "/records/{}/at?{}&key={}",
                kind.name(),
                plan_query(plan),
                urlencode(code)
            )
        }),
        RecordKind::Indicators | RecordKind::IndicatorValues => {
            plan_and_code(key).map(|(plan, _)| format!("/results?{}", plan_query(plan)))
        }
        RecordKind::FundingSources | RecordKind::ExchangeRates => None,
    }
}

fn entry_view(entry: audit_entry::Model, is_admin: bool, filter_href: &AuditQuery) -> EntryView {
    let details: Value = serde_json::from_str(&entry.details).unwrap_or(Value::Null);
    let rows_written = details
        .get("trail_rows")
        .and_then(|r| r.get("count"))
        .and_then(Value::as_u64);
    // An import's key is its file, not a record: its records are listed on its own page.
    let record_href = if entry.action == "import" {
        None
    } else {
        record_href(&entry.entity, &entry.entity_key, is_admin)
    };
    EntryView {
        id: entry.id,
        href: format!("/audit/{}", entry.id),
        utc: utc_text(&entry.recorded_at),
        actor_href: AuditQuery {
            actor: entry.actor.clone(),
            ..filter_href.clone()
        }
        .href(0),
        changes: changes_of(&details),
        facts: facts_of(&details),
        rows_written,
        record_href,
        details: entry.details,
        recorded_at: entry.recorded_at,
        actor: entry.actor,
        action: entry.action,
        entity: entry.entity,
        key: entry.entity_key,
    }
}

/// The trail's filters as the form has them, as typed.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub actor: String,
    pub entity: String,
    pub key: String,
    pub from: String,
    pub to: String,
}

impl AuditQuery {
    fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("actor", self.actor.as_str()),
            ("entity", self.entity.as_str()),
            ("key", self.key.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect()
    }

    fn query_string(&self) -> String {
        self.pairs()
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The trail page with these filters, from entry `offset` on.
    pub fn href(&self, offset: u64) -> String {
        let mut query = self.query_string();
        if offset > 0 {
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str(&format!("offset={offset}"));
        }
        if query.is_empty() {
            "/audit".to_owned()
        } else {
            format!("/audit?{query}")
        }
    }

    pub fn csv_href(&self) -> String {
        let query = self.query_string();
        if query.is_empty() {
            "/audit.csv".to_owned()
        } else {
            format!("/audit.csv?{query}")
        }
    }

    pub fn is_filtered(&self) -> bool {
        !self.pairs().is_empty()
    }

    /// The filter of the service, with each problem of the input on its field. An actor
    /// without a scheme is a user's email (`clerk@…` means `user:clerk@…`).
    fn filter(&self) -> std::result::Result<AuditFilter, Vec<ErrorLink>> {
        let mut errors = Vec::new();
        let mut date = |name: &str, text: &str| -> Option<NaiveDate> {
            if text.is_empty() {
                return None;
            }
            match IsoDate::parse(text) {
                Ok(date) => Some(date.into()),
                Err(e) => {
                    let label = if name == "from" { "From" } else { "To" };
                    errors.push(ErrorLink {
                        field: Some(format!("audit-{name}")),
                        message: format!("{label}: {e}"),
                    });
                    None
                }
            }
        };
        let from = date("from", &self.from);
        let to = date("to", &self.to);
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            errors.push(ErrorLink {
                field: Some("audit-to".to_owned()),
                message: "To: the last day comes before the first".to_owned(),
            });
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let given = |text: &str| Some(text.to_owned()).filter(|t| !t.is_empty());
        let actor = given(&self.actor).map(|actor| {
            if actor.contains(':') || actor == "system" {
                actor
            } else {
                format!("user:{actor}")
            }
        });
        Ok(AuditFilter {
            actor,
            entity: given(&self.entity),
            record: given(&self.key),
            from,
            to,
            ..AuditFilter::default()
        })
    }
}

/// The filters and page of the request, read from its query: each optional, so that the
/// plain `/audit` is every entry.
#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for AuditQuery {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> rocket::request::Outcome<Self, Self::Error> {
        let text = |name: &str| {
            request
                .query_value::<String>(name)
                .and_then(std::result::Result::ok)
                .map(|v| v.trim().to_owned())
                .unwrap_or_default()
        };
        rocket::request::Outcome::Success(AuditQuery {
            actor: text("actor"),
            entity: text("entity"),
            key: text("key"),
            from: text("from"),
            to: text("to"),
        })
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditTrailPage {
    nav: Nav,
    query: AuditQuery,
    errors: Vec<ErrorLink>,
    actors: Vec<String>,
    entities: Vec<String>,
    entries: Vec<EntryView>,
    pager: Pager,
    csv_href: String,
    verification: String,
    /// The head hash of an intact chain.
    head: Option<String>,
    intact: bool,
}

/// The chain's check as the page says it: whether it is intact, the sentence, and the head
/// hash of an intact chain.
async fn verification_text(db: &DatabaseConnection) -> Result<(bool, String, Option<String>)> {
    Ok(match audit::verify(db).await? {
        Verification::Intact { entries, head } => {
            (true, format!("Intact: {entries} entries."), Some(head))
        }
        Verification::Broken { entry, reason } => {
            (false, format!("BROKEN at entry {entry}: {reason}."), None)
        }
        Verification::Differs { reason, .. } => (
            false,
            format!("The chain is intact, but the records are not what it says: {reason}."),
            None,
        ),
    })
}

/// `GET /audit?actor=&entity=&key=&from=&to=&offset=`: the trail, newest first, a hundred
/// entries a page, filtered, with the chain's check. A filter that cannot be read is shown
/// with its error (400) and nothing is listed.
#[get("/audit?<offset>")]
pub async fn get_audit(
    db: &State<DatabaseConnection>,
    user: WebUser,
    query: AuditQuery,
    offset: Option<u64>,
) -> std::result::Result<(Status, RawHtml<String>), WebError> {
    user.require(crate::auth::AuditReader::ROLES)?;
    let offset = offset.unwrap_or(0);
    let (actors, entities) = audit::names(db.inner(), 500).await?;
    let (intact, verification, head) = verification_text(db).await?;
    let is_admin = user.caller.role == crate::domain::Role::Admin;
    let (status, errors, total, entries) = match query.filter() {
        Ok(filter) => {
            let AuditPage { total, entries } = audit::entries(
                db.inner(),
                &filter,
                AuditOrder::NewestFirst,
                AUDIT_PAGE,
                offset,
            )
            .await?;
            let entries = entries
                .into_iter()
                .map(|e| entry_view(e, is_admin, &query))
                .collect();
            (Status::Ok, Vec::new(), total, entries)
        }
        Err(errors) => (Status::BadRequest, errors, 0, Vec::new()),
    };
    let what = if query.is_filtered() {
        "matching entries"
    } else {
        "entries"
    };
    let page = render_text(&AuditTrailPage {
        nav: user.nav(),
        errors,
        actors,
        entities,
        entries,
        pager: Pager::new(what, total, offset, AUDIT_PAGE, |o| query.href(o)),
        csv_href: query.csv_href(),
        verification,
        head,
        intact,
        query,
    })?;
    Ok((status, RawHtml(page)))
}

/// One record an entry wrote, as its page lists it.
pub struct WrittenView {
    pub entity: String,
    pub key: String,
    pub href: Option<String>,
    pub row_hash: String,
}

#[derive(Template)]
#[template(path = "audit_entry.html")]
struct AuditEntryPage {
    nav: Nav,
    entry: EntryView,
    hash: String,
    prev_hash: String,
    rows: Vec<WrittenView>,
    rows_pager: Pager,
}

/// `GET /audit/<id>?offset=`: one entry, its change as before and after, and the records it
/// wrote, a hundred a page.
#[get("/audit/<id>?<offset>")]
pub async fn get_audit_entry(
    db: &State<DatabaseConnection>,
    user: WebUser,
    id: i64,
    offset: Option<u64>,
) -> std::result::Result<RawHtml<String>, WebError> {
    user.require(crate::auth::AuditReader::ROLES)?;
    let entry = audit::entry(db.inner(), id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("the audit trail has no entry {id}")))?;
    let offset = offset.unwrap_or(0);
    let (total, rows) = trail::rows_of_entry(db.inner(), id, ROWS_PAGE, offset).await?;
    let is_admin = user.caller.role == crate::domain::Role::Admin;
    let (hash, prev_hash) = (entry.hash.clone(), entry.prev_hash.clone());
    let page = render_text(&AuditEntryPage {
        nav: user.nav(),
        entry: entry_view(entry, is_admin, &AuditQuery::default()),
        hash,
        prev_hash,
        rows: rows
            .into_iter()
            .map(|r| WrittenView {
                href: record_href(&r.entity, &r.key, is_admin),
                entity: r.entity,
                key: r.key,
                row_hash: r.row_hash,
            })
            .collect(),
        rows_pager: Pager::new("records written", total, offset, ROWS_PAGE, |o| {
            format!("/audit/{id}?offset={o}#written")
        }),
    })?;
    Ok(RawHtml(page))
}

/// A CSV file to save, with its file name.
#[derive(Responder)]
pub struct CsvFile {
    body: (ContentType, Vec<u8>),
    disposition: Header<'static>,
}

/// `GET /audit.csv?actor=&entity=&key=&from=&to=`: the filtered trail as CSV, oldest first
/// (the chain's order), every column of each entry including its hashes, so that a copy can
/// be checked outside the app. Text that a spreadsheet would run as a formula is guarded.
#[get("/audit.csv")]
pub async fn get_audit_csv(
    db: &State<DatabaseConnection>,
    user: WebUser,
    query: AuditQuery,
) -> std::result::Result<CsvFile, WebError> {
    user.require(crate::auth::AuditReader::ROLES)?;
    let filter = query.filter().map_err(|errors| {
        let details = errors
            .into_iter()
            .map(|e| {
                let field = e.field.unwrap_or_default();
                crate::error::FieldError::new(field.trim_start_matches("audit-"), e.message)
            })
            .collect();
        Error::invalid("the filter is not valid", details)
    })?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| Error::Internal(format!("CSV: {e}"));
    writer
        .write_record([
            "sequence",
            "recorded_at",
            "actor",
            "action",
            "entity",
            "key",
            "details",
            "prev_hash",
            "hash",
        ])
        .map_err(io)?;
    let mut offset = 0;
    loop {
        let AuditPage { entries, .. } = audit::entries(
            db.inner(),
            &filter,
            AuditOrder::OldestFirst,
            CSV_BATCH,
            offset,
        )
        .await?;
        let read = entries.len() as u64;
        for e in entries {
            let guard = |t: &str| crate::domain::records::guard_formula(t).into_owned();
            writer
                .write_record([
                    e.id.to_string(),
                    e.recorded_at,
                    guard(&e.actor),
                    guard(&e.action),
                    guard(&e.entity),
                    guard(&e.entity_key),
                    guard(&e.details),
                    e.prev_hash,
                    e.hash,
                ])
                .map_err(io)?;
        }
        if read < CSV_BATCH {
            break;
        }
        offset += read;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| Error::Internal(format!("CSV: {e}")))?;
    Ok(CsvFile {
        body: (
            ContentType::new("text", "csv").with_params(("charset", "utf-8")),
            bytes,
        ),
        disposition: Header::new(
            "Content-Disposition",
            "attachment; filename=\"audit-trail.csv\"",
        ),
    })
}

/// `GET /static/local-time.js`: adds the browser's local time beside each UTC time.
#[get("/static/local-time.js")]
pub fn get_local_time_script() -> (ContentType, &'static str) {
    (ContentType::JavaScript, LOCAL_TIME_SCRIPT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_lists_each_field_before_and_after() {
        let details = serde_json::json!({
            "before": {"code": "BL-1", "amount": "100.00", "obligation_code": null},
            "after": {"code": "BL-1", "amount": "250.00", "obligation_code": "OB-1"},
        });
        let changes = changes_of(&details);
        let changed: Vec<&str> = changes
            .iter()
            .filter(|c| c.changed)
            .map(|c| c.field.as_str())
            .collect();
        assert_eq!(changed, ["amount", "obligation code"]);
        assert_eq!(changes[1].before, "100.00");
        assert_eq!(changes[1].after, "250.00");
    }

    #[test]
    fn a_new_record_has_every_field_changed_and_an_import_none() {
        let created = serde_json::json!({"before": null, "after": {"code": "A"}});
        assert!(changes_of(&created).iter().all(|c| c.changed));
        let import = serde_json::json!({"rows": 3, "trail_rows": {"count": 3}});
        assert!(changes_of(&import).is_empty());
        assert_eq!(facts_of(&import), [("rows".to_owned(), "3".to_owned())]);
    }

    #[test]
    fn a_record_links_to_its_page_and_a_user_only_for_admins() {
        assert_eq!(
            record_href("disbursements", "NAP/D-1", false).as_deref(),
            Some("/disbursements/D-1?plan=NAP")
        );
        assert_eq!(
            record_href("commitments", "NAP/C 1", false).as_deref(),
            Some("/records/commitments/at?plan=NAP&key=C%201")
        );
        assert_eq!(record_href("user", "a@b.org", false), None);
        assert!(record_href("user", "a@b.org", true).is_some());
        assert_eq!(record_href("exchange-rates", "x", true), None);
    }

    #[test]
    fn a_filter_reads_an_email_as_a_user_and_refuses_a_bad_day() {
        let query = AuditQuery {
            actor: "clerk@x.org".into(),
            ..AuditQuery::default()
        };
        assert_eq!(
            query.filter().ok().and_then(|f| f.actor).as_deref(),
            Some("user:clerk@x.org")
        );
        let bad = AuditQuery {
            from: "2026-02-30".into(),
            ..AuditQuery::default()
        };
        assert!(bad.filter().is_err());
        assert_eq!(
            AuditQuery {
                key: "BL 1".into(),
                ..AuditQuery::default()
            }
            .href(100),
            "/audit?key=BL%201&offset=100"
        );
    }
}
