//! Downloads with the web session: every record kind as the contract's CSV (optionally with
//! a UTF-8 byte-order mark, so that a spreadsheet shows ë and ç), a template per kind for an
//! import, and a page that lists every file naptrack gives (records, reports, results, the
//! donor statement, IATI XML) with what each column of an import means.

use std::io::{Seek, Write};

use askama::Template;
use rocket::http::{ContentType, Header};
use rocket::{State, get};
use sea_orm::DatabaseConnection;

use super::pages::page_plan;
use super::session::WebUser;
use super::statement::file_name_part;
use super::{Nav, Page, WebError, render, urlencode};
use crate::domain::records::RecordKind;
use crate::entity::plan;
use crate::error::Error;
use crate::service::export;
use crate::service::records::{CellType, cell_type};

/// The UTF-8 byte-order mark: spreadsheet programs read a CSV file as UTF-8 only after it.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A CSV file downloaded under its own name.
#[derive(rocket::Responder)]
pub struct CsvDownload {
    body: (ContentType, tokio::fs::File),
    disposition: Header<'static>,
}

fn csv_download(file: std::fs::File, name: &str) -> CsvDownload {
    CsvDownload {
        body: (
            ContentType::new("text", "csv").with_params(("charset", "utf-8")),
            tokio::fs::File::from_std(file),
        ),
        disposition: Header::new(
            "Content-Disposition",
            format!("attachment; filename=\"{name}\""),
        ),
    }
}

fn record_kind(name: &str) -> Result<RecordKind, Error> {
    RecordKind::ALL
        .into_iter()
        .find(|k| k.name() == name)
        .ok_or_else(|| Error::NotFound(format!("there is no record kind {name}")))
}

/// `GET /export/<kind>.csv`: the kind's records as the contract's CSV, the same file as the
/// API's `GET /api/v1/export/<kind>`, with the session instead of a bearer token; `excel=true`
/// puts a UTF-8 byte-order mark first.
#[get("/export/<kind>?<plan>&<excel>")]
pub async fn get_export(
    db: &State<DatabaseConnection>,
    _user: WebUser,
    kind: &str,
    plan: Option<&str>,
    excel: Option<bool>,
) -> Result<CsvDownload, WebError> {
    let name = kind.strip_suffix(".csv").unwrap_or(kind);
    let kind = record_kind(name)?;
    let plan = page_plan(db, plan).await?;
    let mut file = tempfile::tempfile().map_err(Error::from)?;
    if excel.unwrap_or(false) {
        file.write_all(BOM).map_err(Error::from)?;
    }
    export::export_csv(
        db,
        kind,
        Some(plan.code.as_str()).filter(|_| kind.is_plan_scoped() || kind == RecordKind::Plans),
        std::io::BufWriter::new(&mut file),
    )
    .await?;
    file.rewind().map_err(Error::from)?;
    let prefix = if kind.is_plan_scoped() {
        format!("{}-", file_name_part(&plan.code))
    } else {
        String::new()
    };
    Ok(csv_download(file, &format!("{prefix}{}", kind.file_name())))
}

/// `GET /import/template/<kind>.csv`: an empty file of the kind with the contract's header, to
/// fill in and import.
#[get("/import/template/<kind>")]
pub async fn get_template(_user: WebUser, kind: &str) -> Result<CsvDownload, WebError> {
    let kind = record_kind(kind.strip_suffix(".csv").unwrap_or(kind))?;
    let mut file = tempfile::tempfile().map_err(Error::from)?;
    let header: Vec<&str> = kind.columns().iter().map(|c| c.name).collect();
    writeln!(file, "{}", header.join(",")).map_err(Error::from)?;
    file.rewind().map_err(Error::from)?;
    Ok(csv_download(file, kind.file_name()))
}

/// What a column of an import holds, in a sentence.
pub fn column_meaning(kind: RecordKind, name: &str) -> String {
    let Some(spec) = kind.column(name) else {
        return String::new();
    };
    let what = match (name, cell_type(spec)) {
        ("plan_code", _) => {
            "the plan's code; may be left out when the import names the plan".to_owned()
        }
        ("currency" | "quote_currency", _) => "an ISO 4217 code such as EUR".to_owned(),
        ("country", _) => "an ISO 3166-1 two-letter code such as XK".to_owned(),
        ("reverses", _) => {
            "the reference of the disbursement this one reverses (its amount negative)".to_owned()
        }
        ("sector_code", _) => "an OECD DAC five-digit purpose code, such as 15180".to_owned(),
        (_, CellType::Date) => "a date, YYYY-MM-DD".to_owned(),
        (_, CellType::Amount) => {
            "an amount: digits, a point and at most four decimals, no separators (12500.00)"
                .to_owned()
        }
        (_, CellType::Rate) => "a rate: digits and a point (1.0825)".to_owned(),
        (_, CellType::Quantity) => "a number: digits and a point, at most four decimals".to_owned(),
        (_, CellType::Integer) => "a whole number".to_owned(),
        (column, CellType::Text) if column.ends_with("_code") && column != "code" => format!(
            "the code of an existing {}",
            column.trim_end_matches("_code").replace('_', " ")
        ),
        ("code" | "reference", _) => "this record's own code, unique in the plan".to_owned(),
        _ => "text".to_owned(),
    };
    if spec.required {
        format!("Required: {what}.")
    } else {
        format!("Optional: {what}.")
    }
}

struct Download {
    title: String,
    href: String,
    excel_href: Option<String>,
}

#[derive(Template)]
#[template(path = "downloads.html")]
struct DownloadsPage {
    nav: Nav,
    plan: plan::Model,
    records: Vec<Download>,
    reports: Vec<Download>,
}

/// `GET /downloads`: every file of the plan to download, with the session.
#[get("/downloads?<plan>")]
pub async fn get_downloads(
    db: &State<DatabaseConnection>,
    user: WebUser,
    plan: Option<&str>,
) -> Page {
    let plan = page_plan(db, plan).await?;
    let code = urlencode(&plan.code);
    let records = RecordKind::ALL
        .into_iter()
        .map(|kind| {
            let href = format!("/export/{}.csv?plan={code}", kind.name());
            Download {
                title: format!("{} ({})", kind.name().replace('-', " "), kind.file_name()),
                excel_href: Some(format!("{href}&excel=true")),
                href,
            }
        })
        .collect();
    let report = |title: &str, href: String| Download {
        title: title.to_owned(),
        href,
        excel_href: None,
    };
    let reports = vec![
        report(
            "Budget execution by activity (CSV)",
            format!("/reports/execution.csv?plan={code}&by=activity"),
        ),
        report(
            "Results: indicators beside spend (CSV)",
            format!("/results.csv?plan={code}"),
        ),
        report(
            "Donor statement: one donor's money, with its CSV downloads",
            format!("/reports/donor?plan={code}"),
        ),
        report(
            "IATI 2.03 activity file (XML)",
            format!("/reports/iati.xml?plan={code}"),
        ),
    ];
    render(&DownloadsPage {
        nav: user.nav(),
        records,
        reports,
        plan,
    })
}

/// One record kind as the import page explains it: its file, its template and its columns.
pub struct ImportGuide {
    pub kind: &'static str,
    pub file: &'static str,
    pub template_href: String,
    pub columns: Vec<(&'static str, String)>,
}

/// The guide of every record kind, in import order.
pub fn import_guides() -> Vec<ImportGuide> {
    RecordKind::ALL
        .into_iter()
        .map(|kind| ImportGuide {
            kind: kind.name(),
            file: kind.file_name(),
            template_href: format!("/import/template/{}.csv", kind.name()),
            columns: kind
                .columns()
                .iter()
                .map(|c| (c.name, column_meaning(kind, c.name)))
                .collect(),
        })
        .collect()
}
