//! What a rule finds about one subject, before it becomes a [`super::Flag`] under the rule's
//! name and severity, and the words its messages are written in.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::Currency;
use crate::money::Amount;

/// How urgent a flag is; `Critical` sorts first.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| format!("\"{text}\" is not a severity (critical, high, medium, low)"))
    }
}

/// What a flag is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Subject {
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: &'static str,
    pub code: String,
    pub title: String,
}

impl Subject {
    pub fn new(kind: &'static str, code: &str, title: &str) -> Subject {
        Subject {
            kind,
            code: code.to_owned(),
            title: title.to_owned(),
        }
    }
}

/// One subject a rule flags: everything of the flag but the rule's name and severity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub subject: Subject,
    /// The fiscal year the finding is about (the evaluated year, or the reporting year of a
    /// results rule).
    pub fiscal_year: i32,
    /// A sentence a minister would understand.
    pub message: String,
    pub legal_basis: Option<String>,
    /// The money missing or in excess, in its currency, where it can be computed.
    pub gap: Option<(Amount, Currency)>,
}

impl Finding {
    pub fn new(subject: Subject, fiscal_year: i32, message: String) -> Finding {
        Finding {
            subject,
            fiscal_year,
            message,
            legal_basis: None,
            gap: None,
        }
    }

    pub fn with_legal_basis(self, legal_basis: &str) -> Finding {
        Finding {
            legal_basis: Some(legal_basis.to_owned()),
            ..self
        }
    }

    pub fn with_gap(self, gap: Option<(Amount, Currency)>) -> Finding {
        Finding { gap, ..self }
    }
}

/// A share (0.25) as percentage points with at most one decimal ("25").
pub fn percent(share: Decimal) -> String {
    (share * Decimal::from(100))
        .round_dp(1)
        .normalize()
        .to_string()
}

/// An amount as messages write it: grouped digits, then the currency ("1,240.50 EUR").
pub fn money(amount: Amount, currency: Currency) -> String {
    format!("{} {currency}", amount.grouped())
}
