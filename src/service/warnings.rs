//! What looks wrong about a payment that the rules still allow: more than is left on its
//! budget line, a date outside the line's fiscal year or the plan, another currency than the
//! line's. The web form asks for confirmation naming each one before it stores the payment;
//! an import's dry run lists them per row. None of them refuses a write: a real payment can
//! do any of these, and the flags report what it leaves behind.

use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::DatabaseConnection;

use crate::domain::Currency;
use crate::entity::plan;
use crate::error::{Error, Result};
use crate::money::Amount;
use crate::service::flags::{LineStanding, line_standing};
use crate::service::rates::rate_table;

/// A payment as a clerk means to record it.
#[derive(Debug, Clone)]
pub struct Payment {
    pub budget_line_code: String,
    pub date: NaiveDate,
    pub amount: Amount,
    pub currency: Currency,
}

/// One thing that looks wrong, with the field it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub field: &'static str,
    pub message: String,
}

/// The budget lines that payments are checked against, read once each.
pub struct Lines<'a> {
    db: &'a DatabaseConnection,
    plan: &'a plan::Model,
    standings: HashMap<String, Option<LineStanding>>,
    rates: Option<crate::domain::conversion::RateTable>,
}

impl<'a> Lines<'a> {
    pub fn new(db: &'a DatabaseConnection, plan: &'a plan::Model) -> Lines<'a> {
        Lines {
            db,
            plan,
            standings: HashMap::new(),
            rates: None,
        }
    }

    /// The line `code` as it stands, or `None` when the plan has none (the import's rules
    /// report that).
    async fn standing(&mut self, code: &str) -> Result<Option<LineStanding>> {
        if let Some(standing) = self.standings.get(code) {
            return Ok(standing.clone());
        }
        let standing = line_standing(self.db, self.plan, code).await?;
        self.standings.insert(code.to_owned(), standing.clone());
        Ok(standing)
    }

    /// `amount` in `currency` on `date`, in the line's currency; `None` without a rate.
    async fn in_line_currency(
        &mut self,
        amount: Amount,
        currency: Currency,
        line: Currency,
        date: NaiveDate,
    ) -> Result<Option<Amount>> {
        if currency == line {
            return Ok(Some(amount));
        }
        if self.rates.is_none() {
            self.rates = Some(rate_table(self.db).await?);
        }
        Ok(self
            .rates
            .as_ref()
            .and_then(|rates| rates.convert(amount, currency, line, date).ok()))
    }

    /// What looks wrong about `payment`, counting `earlier` (in the line's currency) as paid
    /// on its line already: the payments before it in the same file.
    pub async fn check(&mut self, payment: &Payment, earlier: Amount) -> Result<Vec<Warning>> {
        let mut warnings = Vec::new();
        let plan = self.plan;
        if payment.date < plan.start_date || payment.date > plan.end_date {
            warnings.push(Warning {
                field: "date",
                message: format!(
                    "the date {} is outside plan {} ({} to {})",
                    payment.date, plan.code, plan.start_date, plan.end_date
                ),
            });
        }
        let Some(line) = self.standing(&payment.budget_line_code).await? else {
            return Ok(warnings);
        };
        if payment.date < line.year.0 || payment.date > line.year.1 {
            warnings.push(Warning {
                field: "date",
                message: format!(
                    "the date {} is outside fiscal year {} of budget line {} ({} to {})",
                    payment.date, line.fiscal_year, line.code, line.year.0, line.year.1
                ),
            });
        }
        if payment.currency != line.currency {
            warnings.push(Warning {
                field: "currency",
                message: format!(
                    "the payment is in {} but budget line {} is in {}",
                    payment.currency, line.code, line.currency
                ),
            });
        }
        if payment.amount.is_positive() {
            let converted = self
                .in_line_currency(
                    payment.amount,
                    payment.currency,
                    line.currency,
                    payment.date,
                )
                .await?;
            let left = line
                .remaining
                .checked_sub(earlier)
                .map_err(|e| Error::Internal(e.to_string()))?;
            if let Some(amount) = converted.filter(|amount| *amount > left) {
                warnings.push(Warning {
                    field: "amount",
                    message: format!(
                        "{} {} is more than the {} {} left on budget line {} ({} allocated, {} paid{})",
                        line.currency,
                        amount.grouped(),
                        line.currency,
                        left.grouped(),
                        line.code,
                        line.amount.grouped(),
                        line.disbursed.grouped(),
                        if earlier.is_zero() { "" } else { " before this file, and earlier rows of it" },
                    ),
                });
            }
        }
        Ok(warnings)
    }

    /// The payment's amount in its line's currency, for a caller that adds up a file's rows;
    /// zero when it cannot be converted or the line does not exist.
    pub async fn counted(&mut self, payment: &Payment) -> Result<Amount> {
        let Some(line) = self.standing(&payment.budget_line_code).await? else {
            return Ok(Amount::ZERO);
        };
        Ok(self
            .in_line_currency(
                payment.amount,
                payment.currency,
                line.currency,
                payment.date,
            )
            .await?
            .unwrap_or(Amount::ZERO))
    }
}

/// What looks wrong in a file of disbursements for `plan` (`csv`, with the contract's header),
/// row by row: each payment is checked with the rows before it on the same line counted as
/// paid. Rows the import's rules refuse, or of another plan, are left to the import.
pub async fn file_warnings(
    db: &DatabaseConnection,
    plan: &plan::Model,
    csv: &str,
) -> Result<Vec<crate::error::FieldError>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(csv.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| Error::BadRequest(e.to_string()))?
        .clone();
    let column = |name: &str| header.iter().position(|h| h.trim() == name);
    let (Some(line), Some(date), Some(amount), Some(currency)) = (
        column("budget_line_code"),
        column("date"),
        column("amount"),
        column("currency"),
    ) else {
        return Ok(Vec::new());
    };
    let plan_code = column("plan_code");
    let mut lines = Lines::new(db, plan);
    let mut paid: HashMap<String, Amount> = HashMap::new();
    let mut warnings = Vec::new();
    for record in reader.records() {
        let Ok(record) = record else { continue };
        let number = record.position().map_or(0, |p| p.line());
        let cell = |i: usize| record.get(i).unwrap_or_default().trim();
        if plan_code.is_some_and(|i| !cell(i).is_empty() && cell(i) != plan.code) {
            continue;
        }
        let payment = (|| {
            Some(Payment {
                budget_line_code: cell(line).to_owned(),
                date: crate::domain::IsoDate::parse(cell(date)).ok()?.into(),
                amount: Amount::parse(cell(amount)).ok()?,
                currency: cell(currency).parse::<Currency>().ok()?,
            })
        })();
        let Some(payment) = payment else { continue };
        let earlier = paid
            .get(&payment.budget_line_code)
            .copied()
            .unwrap_or(Amount::ZERO);
        for warning in lines.check(&payment, earlier).await? {
            warnings.push(crate::error::FieldError::at_line(
                number,
                warning.field,
                warning.message,
            ));
        }
        let counted = lines.counted(&payment).await?;
        let total = earlier
            .checked_add(counted)
            .map_err(|e| Error::Internal(e.to_string()))?;
        paid.insert(payment.budget_line_code, total);
    }
    Ok(warnings)
}
