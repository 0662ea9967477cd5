//! The form to log a disbursement. The budget-line picker groups the lines by fiscal year and
//! activity, with names, and a search that works without JavaScript; the payee is chosen by
//! name. A payment that the rules allow but that looks wrong (more than is left on its line,
//! a date outside the line's fiscal year or the plan, another currency than the line's) is
//! stored only after the clerk confirms it, on a page that names each problem.
//!
//! The write goes through the import service as the API's does (a one-row file with
//! `Expect::New`), so every rule of an import holds here too.

use askama::Template;
use chrono::NaiveDate;
use rocket::form::{Form, FromForm};
use rocket::http::Status;
use rocket::response::Redirect;
use rocket::response::content::RawHtml;
use rocket::{State, get, post, uri};
use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};

use super::forms::{Field, record_errors};
use super::pages::{page_plan, text_of};
use super::session::WebUser;
use super::{Nav, Page, WebError};
use crate::auth;
use crate::domain::records::RecordKind;
use crate::domain::{Currency, IsoDate};
use crate::entity::plan;
use crate::error::{Error, FieldError};
use crate::money::Amount;
use crate::service::flags::line_standing;
use crate::service::import::{self, Expect, ImportOptions};
use crate::service::records::{self, Query, Record};
use crate::service::warnings::{Lines, Payment};

/// One budget line in the picker.
struct LineOption {
    code: String,
    text: String,
}

/// The lines of one activity in one fiscal year: an `<optgroup>` of the picker.
struct LineGroup {
    label: String,
    lines: Vec<LineOption>,
}

#[derive(Template)]
#[template(path = "disbursement_form.html")]
struct DisbursementFormPage {
    nav: Nav,
    plan_code: String,
    /// The picker's search, and how many lines it left of how many.
    find: String,
    shown: usize,
    of: usize,
    groups: Vec<LineGroup>,
    /// Institutions a payment may go to: code and name.
    payees: Vec<(String, String)>,
    budget_line_code: Field,
    reference: Field,
    date: Field,
    amount: Field,
    currency_field: Field,
    payee_code: Field,
    description: Field,
    /// Each error, for the summary at the top.
    summary: Vec<super::ErrorLink>,
    /// What looks wrong about the payment, for the clerk to confirm.
    warnings: Vec<String>,
    /// The fingerprint of the values the warnings are about: a confirmation holds for them.
    confirm_for: String,
}

#[derive(FromForm, Default)]
pub struct DisbursementForm {
    #[field(default = String::new())]
    csrf: String,
    #[field(default = String::new())]
    plan: String,
    #[field(default = String::new())]
    budget_line_code: String,
    #[field(default = String::new())]
    reference: String,
    #[field(default = String::new())]
    date: String,
    #[field(default = String::new())]
    amount: String,
    #[field(default = String::new())]
    currency: String,
    #[field(default = String::new())]
    payee_code: String,
    #[field(default = String::new())]
    description: String,
    /// "yes" when the clerk confirms the warnings shown for `confirm_for`.
    #[field(default = String::new())]
    confirm: String,
    #[field(default = String::new())]
    confirm_for: String,
}

const FIELDS: [&str; 7] = [
    "budget_line_code",
    "reference",
    "date",
    "amount",
    "currency",
    "payee_code",
    "description",
];

impl DisbursementForm {
    /// A fingerprint of the values a confirmation is about: changing any of them asks again.
    fn fingerprint(&self) -> String {
        let mut hash = Sha256::new();
        for value in [
            &self.plan,
            &self.budget_line_code,
            &self.reference,
            &self.date,
            &self.amount,
            &self.currency,
            &self.payee_code,
        ] {
            hash.update(value.trim().as_bytes());
            hash.update([0x1f]);
        }
        hex::encode(hash.finalize())
    }

    fn confirmed(&self) -> bool {
        self.confirm == "yes" && self.confirm_for == self.fingerprint()
    }

    /// The payment the form describes, when its line, date, amount and currency read; the
    /// import's rules report whatever does not.
    fn payment(&self) -> Option<Payment> {
        Some(Payment {
            budget_line_code: self.budget_line_code.trim().to_owned(),
            date: IsoDate::parse(self.date.trim()).ok()?.into(),
            amount: Amount::parse(self.amount.trim()).ok()?,
            currency: self.currency.trim().parse::<Currency>().ok()?,
        })
    }
}

/// The budget lines the user may pay from, as the picker groups them: by fiscal year (latest
/// first), then objective and activity, each line with its funding source and amount. A
/// recorder bound to an institution sees only the lines of the activities it leads. `find`
/// keeps the lines whose code, activity, objective or funding source contains it.
async fn line_groups(
    db: &DatabaseConnection,
    user: &WebUser,
    plan: &plan::Model,
    find: &str,
) -> Result<(Vec<LineGroup>, usize, usize), Error> {
    let fetch = |kind| async move { records::fetch(db, &Query::all(kind, Some(plan.id))).await };
    let lines = fetch(RecordKind::BudgetLines).await?;
    let activities = fetch(RecordKind::Activities).await?;
    let objectives = fetch(RecordKind::Objectives).await?;
    let sources = fetch(RecordKind::FundingSources).await?;
    let name_of = |records: &[Record], code: &str, column: &str| {
        records
            .iter()
            .find(|r| text_of(r, "code") == code)
            .map(|r| text_of(r, column))
            .unwrap_or_default()
    };
    let bound = match &user.caller.institution_code {
        Some(code) if user.caller.role == crate::domain::Role::Recorder => Some(code.clone()),
        _ => None,
    };
    let find = find.trim().to_lowercase();
    let mut rows: Vec<(i64, String, String, String, LineOption)> = Vec::new();
    let mut of = 0;
    for line in &lines {
        let activity = text_of(line, "activity_code");
        let Some(activity_record) = activities.iter().find(|a| text_of(a, "code") == activity)
        else {
            continue;
        };
        if bound
            .as_ref()
            .is_some_and(|code| text_of(activity_record, "lead_institution_code") != *code)
        {
            continue;
        }
        of += 1;
        let objective = text_of(activity_record, "objective_code");
        let source = text_of(line, "funding_source_code");
        let label = format!(
            "FY {} · {objective} {} › {activity} {}",
            text_of(line, "fiscal_year"),
            name_of(&objectives, &objective, "title"),
            text_of(activity_record, "title"),
        );
        let text = format!(
            "{} · {} · {} {}",
            text_of(line, "code"),
            name_of(&sources, &source, "name"),
            text_of(line, "currency"),
            match line.get("amount") {
                Some(records::Cell::Amount(amount)) => amount.grouped(),
                _ => String::new(),
            },
        );
        if !find.is_empty()
            && !format!("{label} {text} {source}")
                .to_lowercase()
                .contains(&find)
        {
            continue;
        }
        let year: i64 = text_of(line, "fiscal_year").parse().unwrap_or_default();
        rows.push((
            -year,
            objective,
            activity,
            label,
            LineOption {
                code: text_of(line, "code"),
                text,
            },
        ));
    }
    rows.sort_by(|a, b| (a.0, &a.1, &a.2, &a.4.code).cmp(&(b.0, &b.1, &b.2, &b.4.code)));
    let shown = rows.len();
    let mut groups: Vec<LineGroup> = Vec::new();
    for (_, _, _, label, option) in rows {
        match groups.last_mut() {
            Some(group) if group.label == label => group.lines.push(option),
            _ => groups.push(LineGroup {
                label,
                lines: vec![option],
            }),
        }
    }
    Ok((groups, shown, of))
}

/// The form's page: the input kept, each error on its field and in the summary, and the
/// warnings to confirm.
async fn form_page(
    db: &DatabaseConnection,
    user: &WebUser,
    plan: &plan::Model,
    (form, find): (&DisbursementForm, &str),
    errors: &[FieldError],
    warnings: Vec<String>,
) -> Result<String, WebError> {
    let field = |name: &str, value: &str| Field::of(name, value, errors);
    let (groups, shown, of) = line_groups(db, user, plan, find).await?;
    let payees =
        super::pages::disbursements::choices(db, plan, RecordKind::Institutions, "name").await?;
    let summary = super::forms::error_summary(errors, &FIELDS, "budget_line_code");
    let page = DisbursementFormPage {
        nav: user.nav(),
        plan_code: plan.code.clone(),
        find: find.to_owned(),
        shown,
        of,
        groups,
        payees,
        budget_line_code: field("budget_line_code", &form.budget_line_code),
        reference: field("reference", &form.reference),
        date: field("date", &form.date),
        amount: field("amount", &form.amount),
        currency_field: field(
            "currency",
            if form.currency.is_empty() {
                plan.currency.code()
            } else {
                &form.currency
            },
        ),
        payee_code: field("payee_code", &form.payee_code),
        description: field("description", &form.description),
        summary,
        warnings,
        confirm_for: form.fingerprint(),
    };
    super::render_text(&page)
}

/// Today, brought inside the fiscal year of budget line `line` (when given) and the plan: the
/// date the form proposes.
async fn proposed_date(
    db: &DatabaseConnection,
    plan: &plan::Model,
    line: Option<&str>,
) -> Result<NaiveDate, Error> {
    let today = chrono::Utc::now().date_naive();
    let mut date = today.clamp(plan.start_date, plan.end_date.max(plan.start_date));
    if let Some(code) = line
        && let Some(standing) = line_standing(db, plan, code).await?
    {
        date = today.clamp(standing.year.0, standing.year.1);
    }
    Ok(date)
}

/// `GET /disbursements/new`: the form to log a disbursement (recorders and admins), on budget
/// line `line` when given; `find` narrows the budget-line picker.
#[get("/disbursements/new?<plan>&<line>&<find>")]
pub async fn get_new_disbursement(
    db: &State<DatabaseConnection>,
    user: WebUser,
    plan: Option<&str>,
    line: Option<&str>,
    find: Option<&str>,
) -> Page {
    user.require(auth::Writer::ROLES)?;
    let plan = page_plan(db, plan).await?;
    let line = line.map(str::trim).filter(|l| !l.is_empty());
    let form = DisbursementForm {
        plan: plan.code.clone(),
        budget_line_code: line.unwrap_or_default().to_owned(),
        date: proposed_date(db, &plan, line).await?.to_string(),
        ..<DisbursementForm as Default>::default()
    };
    let find = find.unwrap_or_default();
    Ok(RawHtml(
        form_page(db, &user, &plan, (&form, find), &[], Vec::new()).await?,
    ))
}

/// `POST /disbursements/new`: records the disbursement; shows the form again with each error
/// beside its field and the input kept (422), or with the warnings to confirm (200) when the
/// payment looks wrong and the clerk has not confirmed these values yet.
#[post("/disbursements/new", data = "<form>")]
pub async fn post_disbursement(
    db: &State<DatabaseConnection>,
    user: WebUser,
    form: Form<DisbursementForm>,
) -> Result<Result<Redirect, (Status, RawHtml<String>)>, WebError> {
    user.check_csrf(&form.csrf)?;
    user.require(auth::Writer::ROLES)?;
    let plan = page_plan(db, Some(&form.plan)).await?;
    if !form.confirmed()
        && let Some(payment) = form.payment()
    {
        let warnings = Lines::new(db, &plan).check(&payment, Amount::ZERO).await?;
        if !warnings.is_empty() {
            let messages = warnings.into_iter().map(|w| w.message).collect();
            let page = form_page(db, &user, &plan, (&form, ""), &[], messages).await?;
            return Ok(Err((Status::Ok, RawHtml(page))));
        }
    }
    let fields: Vec<(String, String)> = [
        ("plan_code", plan.code.as_str()),
        ("reference", form.reference.trim()),
        ("budget_line_code", form.budget_line_code.trim()),
        ("date", form.date.trim()),
        ("amount", form.amount.trim()),
        ("currency", form.currency.trim()),
        ("payee_code", form.payee_code.trim()),
        ("description", form.description.trim()),
        ("reverses", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let options = ImportOptions {
        plan: Some(plan.code.clone()),
        expect: Expect::New,
        ..user.caller.import_options()
    };
    let (status, details) =
        match import::write_record(db, RecordKind::Disbursements, &fields, &options).await {
            Ok(_) => {
                return Ok(Ok(Redirect::to(uri!(super::forms::get_disbursement(
                    reference = form.reference.trim(),
                    plan = Some(plan.code.as_str()),
                    recorded = Some(true),
                )))));
            }
            Err(e @ (Error::Invalid { .. } | Error::ForbiddenRows { .. })) => {
                (e.status(), record_errors(e))
            }
            Err(Error::Conflict(message)) => (
                Status::Conflict,
                vec![FieldError::new("reference", message)],
            ),
            Err(e) => return Err(e.into()),
        };
    let page = form_page(db, &user, &plan, (&form, ""), &details, Vec::new()).await?;
    Ok(Err((status, RawHtml(page))))
}
