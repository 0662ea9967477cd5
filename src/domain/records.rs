//! The twelve record kinds of the contract's CSV files: their names, files, columns and keys,
//! in the order one must be imported before the next can refer to it.

use std::fmt;
use std::str::FromStr;

/// One kind of record that is imported and exported as CSV.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordKind {
    Institutions,
    FundingSources,
    Plans,
    Objectives,
    Activities,
    Obligations,
    BudgetLines,
    Commitments,
    Disbursements,
    ExchangeRates,
    Indicators,
    IndicatorValues,
}

/// A column of a contract file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub required: bool,
    /// Amount and rate columns are written as plain numbers, never guarded against formulas.
    pub numeric: bool,
}

const fn required(name: &'static str) -> ColumnSpec {
    ColumnSpec {
        name,
        required: true,
        numeric: false,
    }
}

const fn optional(name: &'static str) -> ColumnSpec {
    ColumnSpec {
        name,
        required: false,
        numeric: false,
    }
}

const fn money(name: &'static str, required: bool) -> ColumnSpec {
    ColumnSpec {
        name,
        required,
        numeric: true,
    }
}

// The columns of each kind, as the contract's CSV table lists them.

const INSTITUTIONS: &[ColumnSpec] = &[
    required("code"),
    required("name"),
    required("kind"),
    optional("iati_ref"),
];

const FUNDING_SOURCES: &[ColumnSpec] = &[
    required("code"),
    required("name"),
    optional("donor_code"),
    required("kind"),
    required("currency"),
];

const PLANS: &[ColumnSpec] = &[
    required("code"),
    required("title"),
    required("country"),
    required("currency"),
    required("start_date"),
    required("end_date"),
    required("fiscal_year_start_month"),
];

const OBJECTIVES: &[ColumnSpec] = &[
    optional("plan_code"),
    required("code"),
    required("title"),
    optional("parent_code"),
];

const ACTIVITIES: &[ColumnSpec] = &[
    optional("plan_code"),
    required("code"),
    required("title"),
    required("objective_code"),
    required("lead_institution_code"),
    required("start_date"),
    required("end_date"),
    required("status"),
    optional("sector_code"),
];

const OBLIGATIONS: &[ColumnSpec] = &[
    optional("plan_code"),
    required("code"),
    required("title"),
    required("legal_basis"),
    required("institution_code"),
    optional("activity_code"),
    required("in_force_from"),
    money("annual_minimum", false),
    optional("currency"),
];

const BUDGET_LINES: &[ColumnSpec] = &[
    optional("plan_code"),
    required("code"),
    required("activity_code"),
    required("funding_source_code"),
    required("fiscal_year"),
    required("category"),
    money("amount", true),
    required("currency"),
    optional("obligation_code"),
];

const COMMITMENTS: &[ColumnSpec] = &[
    optional("plan_code"),
    required("reference"),
    required("funding_source_code"),
    required("activity_code"),
    required("date"),
    optional("due_date"),
    money("amount", true),
    required("currency"),
];

const DISBURSEMENTS: &[ColumnSpec] = &[
    optional("plan_code"),
    required("reference"),
    required("budget_line_code"),
    required("date"),
    money("amount", true),
    required("currency"),
    optional("payee_code"),
    optional("description"),
    optional("reverses"),
];

const EXCHANGE_RATES: &[ColumnSpec] = &[
    required("date"),
    required("currency"),
    required("quote_currency"),
    money("rate", true),
];

const INDICATORS: &[ColumnSpec] = &[
    optional("plan_code"),
    required("code"),
    required("title"),
    optional("objective_code"),
    optional("activity_code"),
    required("result_type"),
    required("measure"),
    required("ascending"),
    optional("unit"),
    optional("baseline_year"),
    money("baseline_value", false),
];

const INDICATOR_VALUES: &[ColumnSpec] = &[
    optional("plan_code"),
    required("indicator_code"),
    required("fiscal_year"),
    money("target", false),
    money("actual", false),
];

impl RecordKind {
    /// Every kind, in dependency order: a kind refers only to kinds before it.
    pub const ALL: [RecordKind; 12] = [
        RecordKind::Institutions,
        RecordKind::FundingSources,
        RecordKind::Plans,
        RecordKind::Objectives,
        RecordKind::Activities,
        RecordKind::Obligations,
        RecordKind::BudgetLines,
        RecordKind::Commitments,
        RecordKind::Disbursements,
        RecordKind::ExchangeRates,
        RecordKind::Indicators,
        RecordKind::IndicatorValues,
    ];

    /// The name used on the command line and in URLs (`budget-lines`).
    pub fn name(self) -> &'static str {
        match self {
            RecordKind::Institutions => "institutions",
            RecordKind::FundingSources => "funding-sources",
            RecordKind::Plans => "plans",
            RecordKind::Objectives => "objectives",
            RecordKind::Activities => "activities",
            RecordKind::Obligations => "obligations",
            RecordKind::BudgetLines => "budget-lines",
            RecordKind::Commitments => "commitments",
            RecordKind::Disbursements => "disbursements",
            RecordKind::ExchangeRates => "exchange-rates",
            RecordKind::Indicators => "indicators",
            RecordKind::IndicatorValues => "indicator-values",
        }
    }

    /// One record of the kind, as a sentence names it (`budget line`).
    pub fn one(self) -> &'static str {
        match self {
            RecordKind::Institutions => "institution",
            RecordKind::FundingSources => "funding source",
            RecordKind::Plans => "plan",
            RecordKind::Objectives => "objective",
            RecordKind::Activities => "activity",
            RecordKind::Obligations => "obligation",
            RecordKind::BudgetLines => "budget line",
            RecordKind::Commitments => "commitment",
            RecordKind::Disbursements => "disbursement",
            RecordKind::ExchangeRates => "exchange rate",
            RecordKind::Indicators => "indicator",
            RecordKind::IndicatorValues => "indicator value",
        }
    }

    /// The file name in an import directory (`budget_lines.csv`).
    pub fn file_name(self) -> &'static str {
        match self {
            RecordKind::Institutions => "institutions.csv",
            RecordKind::FundingSources => "funding_sources.csv",
            RecordKind::Plans => "plans.csv",
            RecordKind::Objectives => "objectives.csv",
            RecordKind::Activities => "activities.csv",
            RecordKind::Obligations => "obligations.csv",
            RecordKind::BudgetLines => "budget_lines.csv",
            RecordKind::Commitments => "commitments.csv",
            RecordKind::Disbursements => "disbursements.csv",
            RecordKind::ExchangeRates => "exchange_rates.csv",
            RecordKind::Indicators => "indicators.csv",
            RecordKind::IndicatorValues => "indicator_values.csv",
        }
    }

    /// The contract's columns, in the contract's order (the order exports write).
    pub fn columns(self) -> &'static [ColumnSpec] {
        match self {
            RecordKind::Institutions => INSTITUTIONS,
            RecordKind::FundingSources => FUNDING_SOURCES,
            RecordKind::Plans => PLANS,
            RecordKind::Objectives => OBJECTIVES,
            RecordKind::Activities => ACTIVITIES,
            RecordKind::Obligations => OBLIGATIONS,
            RecordKind::BudgetLines => BUDGET_LINES,
            RecordKind::Commitments => COMMITMENTS,
            RecordKind::Disbursements => DISBURSEMENTS,
            RecordKind::ExchangeRates => EXCHANGE_RATES,
            RecordKind::Indicators => INDICATORS,
            RecordKind::IndicatorValues => INDICATOR_VALUES,
        }
    }

    /// Whether the records belong to a plan (and so take `plan_code` or `--plan`).
    pub fn is_plan_scoped(self) -> bool {
        self.columns().iter().any(|c| c.name == "plan_code")
    }

    pub fn column(self, name: &str) -> Option<&'static ColumnSpec> {
        self.columns().iter().find(|c| c.name == name)
    }
}

impl fmt::Display for RecordKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not one of the ten record kinds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "\"{0}\" is not a record kind; use one of: institutions, funding-sources, plans, objectives, activities, obligations, budget-lines, commitments, disbursements, exchange-rates"
)]
pub struct UnknownRecordKind(pub String);

impl FromStr for RecordKind {
    type Err = UnknownRecordKind;

    /// Accepts the contract name (`budget-lines`) and, for convenience, the file stem
    /// (`budget_lines`).
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        RecordKind::ALL
            .into_iter()
            .find(|kind| kind.name() == name || kind.name().replace('-', "_") == name)
            .ok_or_else(|| UnknownRecordKind(name.to_owned()))
    }
}

/// The characters that make a spreadsheet read a cell as a formula.
const FORMULA_TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A text cell made safe for spreadsheets: a value that begins with `=`, `+`, `-`, `@`, tab or
/// carriage return gets a leading `'`, so it is shown, not evaluated.
pub fn guard_formula(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(FORMULA_TRIGGERS) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// The inverse of [`guard_formula`] for imports: a cell that an export guarded is stored as it
/// was before, so export → import → export keeps the stored text and the bytes the same.
pub fn unguard_formula(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_TRIGGERS) => rest,
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_parses_from_its_name_and_its_file_stem() {
        for kind in RecordKind::ALL {
            assert_eq!(kind.name().parse(), Ok(kind));
            let stem = kind.file_name().trim_end_matches(".csv");
            assert_eq!(stem.parse(), Ok(kind));
        }
        assert!("budgets".parse::<RecordKind>().is_err());
    }

    #[test]
    fn kinds_refer_only_to_kinds_imported_before_them() {
        let position = |k: RecordKind| RecordKind::ALL.iter().position(|x| *x == k);
        assert!(position(RecordKind::Plans) < position(RecordKind::Objectives));
        assert!(position(RecordKind::BudgetLines) < position(RecordKind::Disbursements));
        assert!(position(RecordKind::Obligations) < position(RecordKind::BudgetLines));
    }

    #[test]
    fn formula_triggers_are_guarded_and_unguarded() {
        for text in ["=SUM(A1)", "+1", "-2", "@x", "\tx", "\rx"] {
            let guarded = guard_formula(text);
            assert!(guarded.starts_with('\''), "{text:?}");
            assert_eq!(unguard_formula(&guarded), text);
        }
        assert_eq!(guard_formula("Shelter"), "Shelter");
        assert_eq!(unguard_formula("'quoted"), "'quoted");
        assert_eq!(unguard_formula("plain"), "plain");
    }
}
