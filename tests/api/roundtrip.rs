//! Export, then import into an empty database, reproduces the same export byte for byte: for
//! the samples, and for random valid plans with amounts over the whole allowed range,
//! reversals, and text with commas, quotes, line breaks, formula characters and non-ASCII
//! letters, written with the columns in any order, CRLF or LF line ends and a byte-order mark.

use std::path::Path;

use chrono::{Duration, NaiveDate};
use naptrack::domain::records::RecordKind;
use naptrack::money::Amount;
use naptrack::service::export::export_csv;
use naptrack::service::import::{ImportOptions, ImportReport, NoProgress, import_dir};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use sea_orm::DatabaseConnection;

use crate::helpers::{TestDb, samples_dir, write_file};

/// Each kind's export, in dependency order.
type Export = Vec<(RecordKind, Vec<u8>)>;

async fn import_folder(db: &DatabaseConnection, folder: &Path) -> Result<ImportReport, String> {
    import_dir(db, folder, &ImportOptions::default(), &NoProgress)
        .await
        .map_err(|e| format!("{e}: {:#?}", e.details()))
}

/// Every kind of a one-plan database, as `naptrack export KIND` writes it.
async fn export_all(db: &DatabaseConnection) -> Export {
    let mut files = Vec::new();
    for kind in RecordKind::ALL {
        let mut out = Vec::new();
        export_csv(db, kind, None, &mut out)
            .await
            .expect("the kind is exported");
        files.push((kind, out));
    }
    files
}

/// Writes `files` into `folder` of `test_db`, under the contract's file names.
fn write_folder(test_db: &TestDb, folder: &str, files: &[(RecordKind, Vec<u8>)]) {
    for (kind, bytes) in files {
        write_file(test_db, &format!("{folder}/{}", kind.file_name()), bytes);
    }
}

/// Imports the export `first` into a fresh empty database and exports that again.
async fn export_of_reimported(first: &Export) -> Result<Export, String> {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    write_folder(&test_db, "export", first);
    import_folder(&db, &test_db.dir.path().join("export")).await?;
    Ok(export_all(&db).await)
}

fn text_of(export: &Export) -> Vec<(RecordKind, String)> {
    export
        .iter()
        .map(|(kind, bytes)| (*kind, String::from_utf8_lossy(bytes).into_owned()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Fixed cases.

#[tokio::test]
async fn the_samples_survive_export_and_import_byte_for_byte() {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    import_folder(&db, &samples_dir()).await.unwrap();
    let first = export_all(&db).await;

    let second = export_of_reimported(&first).await.unwrap();

    assert_eq!(text_of(&second), text_of(&first));
}

/// Imports one institution whose name is written quoted as `quoted_name` (raw bytes between
/// the quotes), and returns the export of a database that imported it and the export of a
/// second database that imported that export.
async fn institution_round_trip(quoted_name: &[u8]) -> (Export, Export) {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    let mut file = b"code,name,kind,iati_ref\nMOJ,\"".to_vec();
    file.extend_from_slice(quoted_name);
    file.extend_from_slice(b"\",government,\n");
    write_file(&test_db, "input/institutions.csv", file);
    import_folder(&db, &test_db.dir.path().join("input"))
        .await
        .unwrap();
    let mut first = Vec::new();
    export_csv(&db, RecordKind::Institutions, None, &mut first)
        .await
        .unwrap();
    let first = vec![(RecordKind::Institutions, first)];
    let second = export_of_reimported_institutions(&first).await;
    (first, second)
}

async fn export_of_reimported_institutions(first: &Export) -> Export {
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    write_folder(&test_db, "export", first);
    import_folder(&db, &test_db.dir.path().join("export"))
        .await
        .unwrap();
    let mut out = Vec::new();
    export_csv(&db, RecordKind::Institutions, None, &mut out)
        .await
        .unwrap();
    vec![(RecordKind::Institutions, out)]
}

#[tokio::test]
async fn a_lone_carriage_return_inside_a_quoted_text_is_stored_as_a_line_feed() {
    let (first, second) = institution_round_trip(b"Ministry\rof Justice").await;

    assert_eq!(text_of(&second), text_of(&first));
    assert_eq!(
        text_of(&first)[0].1,
        "code,name,kind,iati_ref\nMOJ,\"Ministry\nof Justice\",government,\n"
    );
}

#[tokio::test]
async fn a_carriage_return_before_a_crlf_inside_a_quoted_text_survives_export_and_import() {
    let (first, second) = institution_round_trip(b"Ministry\r\r\nof Justice").await;

    assert_eq!(text_of(&second), text_of(&first));
}

// ---------------------------------------------------------------------------------------------
// Random plans.

/// The plan runs from 2015-01-01 for this many days more (to 2019-12-31).
const PLAN_LAST_DAY: i64 = 1825;
const CURRENCIES: [&str; 5] = ["EUR", "USD", "JPY", "BHD", "CLF"];
/// Codes begin with one of these, so that codes too carry formula characters, commas, quotes
/// and non-ASCII letters.
const CODE_PREFIXES: [&str; 9] = ["", "=", "+", "-", "@", "é", "a,b ", "q\"", "Ж-"];
const INSTITUTION_KINDS: [&str; 6] = [
    "government",
    "ngo",
    "donor",
    "multilateral",
    "private",
    "other",
];
const FUNDING_SOURCE_KINDS: [&str; 4] = ["state_budget", "donor_grant", "loan", "other"];
const STATUSES: [&str; 4] = ["planned", "ongoing", "completed", "cancelled"];
const SECTORS: [&str; 4] = ["15180", "", "16010", "15130"];
/// The largest amount the contract allows, in ten-thousandths: 14 integer and 4 fraction digits.
const MAX_AMOUNT_UNITS: i64 = 999_999_999_999_999_999;
/// The largest rate the contract allows, in 10⁻¹⁰ units: 8 integer and 10 fraction digits.
const MAX_RATE_UNITS: i64 = 999_999_999_999_999_999;

const TEXT_CHARS: [char; 19] = [
    'a', 'Z', '0', ' ', ',', '"', '\n', '\'', '=', '+', '-', '@', '\t', 'é', 'Ж', '中', '€', '😀',
    ';',
];
/// The first character of a required text, so that it is never blank.
const FIRST_CHARS: [char; 12] = ['a', 'Q', '"', ',', '\'', '=', '+', '-', '@', 'é', 'Ж', '😀'];

fn free_text() -> impl Strategy<Value = String> {
    vec(select(&TEXT_CHARS[..]), 0..12).prop_map(|chars| chars.into_iter().collect())
}

fn required_text() -> impl Strategy<Value = String> {
    (select(&FIRST_CHARS[..]), free_text()).prop_map(|(first, rest)| format!("{first}{rest}"))
}

/// An amount of at least `min_units` ten-thousandths, and how it is written: with extra
/// trailing zeros, or a leading zero.
#[derive(Debug, Clone, Copy)]
struct Money {
    units: i64,
    fraction_digits: usize,
    leading_zero: bool,
}

fn money(min_units: i64) -> impl Strategy<Value = Money> {
    let units = prop_oneof![
        Just(min_units),
        min_units..=min_units + 1_000_000,
        min_units..=MAX_AMOUNT_UNITS,
        Just(MAX_AMOUNT_UNITS),
    ];
    (units, 0..=4usize, any::<bool>()).prop_map(|(units, fraction_digits, leading_zero)| Money {
        units,
        fraction_digits,
        leading_zero,
    })
}

/// `units` of 10^-`scale` written as a plain decimal with at least `fraction_digits` fraction
/// digits.
fn decimal_text(units: i64, scale: u32, fraction_digits: usize, leading_zero: bool) -> String {
    let sign = if units < 0 { "-" } else { "" };
    let magnitude = units.unsigned_abs();
    let divisor = 10u64.pow(scale);
    let mut fraction = format!("{:0width$}", magnitude % divisor, width = scale as usize);
    while fraction.len() > fraction_digits && fraction.ends_with('0') {
        fraction.pop();
    }
    let zero = if leading_zero { "0" } else { "" };
    let integer = magnitude / divisor;
    if fraction.is_empty() {
        format!("{sign}{zero}{integer}")
    } else {
        format!("{sign}{zero}{integer}.{fraction}")
    }
}

impl Money {
    fn text(self) -> String {
        decimal_text(self.units, 4, self.fraction_digits, self.leading_zero)
    }

    fn canonical(self) -> String {
        Amount::from_units(self.units).to_string()
    }
}

#[derive(Debug, Clone)]
struct Institution {
    prefix: usize,
    name: String,
    kind: usize,
    iati_ref: Option<u16>,
}

#[derive(Debug, Clone)]
struct FundingSource {
    prefix: usize,
    name: String,
    donor: Option<usize>,
    kind: usize,
    currency: usize,
}

#[derive(Debug, Clone)]
struct PlanRecord {
    prefix: usize,
    title: String,
    currency: usize,
    fiscal_year_start_month: u32,
}

#[derive(Debug, Clone)]
struct Objective {
    prefix: usize,
    title: String,
    parent: Option<usize>,
}

#[derive(Debug, Clone)]
struct Activity {
    prefix: usize,
    title: String,
    objective: usize,
    lead: usize,
    start: i64,
    length: i64,
    status: usize,
}

#[derive(Debug, Clone)]
struct Obligation {
    prefix: usize,
    title: String,
    legal_basis: String,
    institution: usize,
    activity: Option<usize>,
    in_force_from: i64,
    annual_minimum: Option<Money>,
    currency: Option<usize>,
}

#[derive(Debug, Clone)]
struct BudgetLine {
    prefix: usize,
    activity: usize,
    source: usize,
    fiscal_year: usize,
    category: String,
    amount: Money,
    currency: usize,
    obligation: Option<usize>,
}

#[derive(Debug, Clone)]
struct Commitment {
    prefix: usize,
    source: usize,
    activity: usize,
    date: i64,
    due_after: Option<i64>,
    amount: Money,
    currency: usize,
}

#[derive(Debug, Clone)]
struct Disbursement {
    prefix: usize,
    line: usize,
    date: i64,
    amount: Money,
    currency: usize,
    payee: Option<usize>,
    description: Option<String>,
    reversal: Option<Reversal>,
}

/// A reversal of part or all of a disbursement: `1 + share % amount` ten-thousandths back.
#[derive(Debug, Clone)]
struct Reversal {
    prefix: usize,
    share: i64,
    after_days: i64,
    fraction_digits: usize,
    payee: Option<usize>,
    description: Option<String>,
}

#[derive(Debug, Clone)]
struct ExchangeRate {
    date: i64,
    pair: usize,
    units: i64,
    fraction_digits: usize,
}

/// How the files are written: the same records must import whatever the layout.
#[derive(Debug, Clone)]
struct Layout {
    column_order: Vec<usize>,
    crlf: bool,
    byte_order_mark: bool,
    quote_every_field: bool,
    omit_empty_optional_columns: bool,
    omit_plan_code: bool,
    children_before_parents: bool,
}

#[derive(Debug, Clone)]
struct PlanData {
    plan: PlanRecord,
    institutions: Vec<Institution>,
    funding_sources: Vec<FundingSource>,
    objectives: Vec<Objective>,
    activities: Vec<Activity>,
    obligations: Vec<Obligation>,
    budget_lines: Vec<BudgetLine>,
    commitments: Vec<Commitment>,
    disbursements: Vec<Disbursement>,
    exchange_rates: Vec<ExchangeRate>,
    layout: Layout,
}

fn prefix() -> impl Strategy<Value = usize> {
    0..CODE_PREFIXES.len()
}

fn currency() -> impl Strategy<Value = usize> {
    0..CURRENCIES.len()
}

prop_compose! {
    fn institution()(prefix in prefix(), name in required_text(), kind in 0..INSTITUTION_KINDS.len(),
                     iati_ref in option::of(any::<u16>())) -> Institution {
        Institution { prefix, name, kind, iati_ref }
    }
}

prop_compose! {
    fn funding_source()(prefix in prefix(), name in required_text(), donor in option::of(any::<usize>()),
                        kind in 0..FUNDING_SOURCE_KINDS.len(), currency in currency()) -> FundingSource {
        FundingSource { prefix, name, donor, kind, currency }
    }
}

prop_compose! {
    fn plan_record()(prefix in prefix(), title in required_text(), currency in currency(),
                     fiscal_year_start_month in 1..=12u32) -> PlanRecord {
        PlanRecord { prefix, title, currency, fiscal_year_start_month }
    }
}

prop_compose! {
    fn objective()(prefix in prefix(), title in required_text(), parent in option::of(any::<usize>())) -> Objective {
        Objective { prefix, title, parent }
    }
}

prop_compose! {
    fn activity()(prefix in prefix(), title in required_text(), objective in any::<usize>(), lead in any::<usize>(),
                  start in 0..=PLAN_LAST_DAY, length in 0..=PLAN_LAST_DAY, status in 0..STATUSES.len()) -> Activity {
        Activity { prefix, title, objective, lead, start, length, status }
    }
}

prop_compose! {
    fn obligation()(prefix in prefix(), title in required_text(), legal_basis in required_text(),
                    institution in any::<usize>(), activity in option::of(any::<usize>()),
                    in_force_from in 0..=PLAN_LAST_DAY, annual_minimum in option::of(money(0)),
                    currency in option::of(currency())) -> Obligation {
        Obligation { prefix, title, legal_basis, institution, activity, in_force_from, annual_minimum, currency }
    }
}

prop_compose! {
    fn budget_line()(prefix in prefix(), activity in any::<usize>(), source in any::<usize>(),
                     fiscal_year in any::<usize>(), category in required_text(), amount in money(0),
                     currency in currency(), obligation in option::of(any::<usize>())) -> BudgetLine {
        BudgetLine { prefix, activity, source, fiscal_year, category, amount, currency, obligation }
    }
}

prop_compose! {
    fn commitment()(prefix in prefix(), source in any::<usize>(), activity in any::<usize>(),
                    date in 0..=PLAN_LAST_DAY, due_after in option::of(0..400i64), amount in money(1),
                    currency in currency()) -> Commitment {
        Commitment { prefix, source, activity, date, due_after, amount, currency }
    }
}

prop_compose! {
    fn reversal()(prefix in prefix(), share in 0..=MAX_AMOUNT_UNITS, after_days in 0..400i64,
                  fraction_digits in 0..=4usize, payee in option::of(any::<usize>()),
                  description in option::of(free_text())) -> Reversal {
        Reversal { prefix, share, after_days, fraction_digits, payee, description }
    }
}

prop_compose! {
    fn disbursement()(prefix in prefix(), line in any::<usize>(), date in 0..=PLAN_LAST_DAY, amount in money(1),
                      currency in currency(), payee in option::of(any::<usize>()),
                      description in option::of(free_text()), reversal in option::of(reversal())) -> Disbursement {
        Disbursement { prefix, line, date, amount, currency, payee, description, reversal }
    }
}

prop_compose! {
    fn exchange_rate()(date in 0..3000i64, pair in 0..CURRENCIES.len() * (CURRENCIES.len() - 1),
                       units in prop_oneof![1..=100_000_000_000i64, 1..=MAX_RATE_UNITS, Just(MAX_RATE_UNITS)],
                       fraction_digits in 0..=10usize) -> ExchangeRate {
        ExchangeRate { date, pair, units, fraction_digits }
    }
}

prop_compose! {
    fn layout()(column_order in Just((0..9).collect::<Vec<usize>>()).prop_shuffle(), crlf in any::<bool>(),
                byte_order_mark in any::<bool>(), quote_every_field in any::<bool>(),
                omit_empty_optional_columns in any::<bool>(), omit_plan_code in any::<bool>(),
                children_before_parents in any::<bool>()) -> Layout {
        Layout { column_order, crlf, byte_order_mark, quote_every_field, omit_empty_optional_columns,
                 omit_plan_code, children_before_parents }
    }
}

fn plan_data() -> impl Strategy<Value = PlanData> {
    (
        plan_record(),
        vec(institution(), 1..4),
        vec(funding_source(), 1..3),
        vec(objective(), 1..4),
        vec(activity(), 1..4),
        vec(obligation(), 0..3),
        vec(budget_line(), 1..5),
        vec(commitment(), 0..3),
        vec(disbursement(), 0..6),
        vec(exchange_rate(), 0..4),
        layout(),
    )
        .prop_map(
            |(
                plan,
                institutions,
                funding_sources,
                objectives,
                activities,
                obligations,
                budget_lines,
                commitments,
                disbursements,
                exchange_rates,
                layout,
            )| PlanData {
                plan,
                institutions,
                funding_sources,
                objectives,
                activities,
                obligations,
                budget_lines,
                commitments,
                disbursements,
                exchange_rates,
                layout,
            },
        )
}

// Rendering the records as the contract's CSV files.

fn code(prefix: usize, letter: &str, index: usize) -> String {
    format!("{}{letter}{index}", CODE_PREFIXES[prefix])
}

fn day(offset: i64) -> String {
    let first = NaiveDate::from_ymd_opt(2015, 1, 1).expect("a date");
    (first + Duration::days(offset))
        .format("%Y-%m-%d")
        .to_string()
}

fn currency_pair(index: usize) -> (&'static str, &'static str) {
    let from = index / (CURRENCIES.len() - 1);
    let mut to = index % (CURRENCIES.len() - 1);
    if to >= from {
        to += 1;
    }
    (CURRENCIES[from], CURRENCIES[to])
}

/// The codes of `records` (one per record), made with `letter`.
fn codes<T>(records: &[T], prefix_of: impl Fn(&T) -> usize, letter: &str) -> Vec<String> {
    records
        .iter()
        .enumerate()
        .map(|(i, r)| code(prefix_of(r), letter, i))
        .collect()
}

fn pick(codes: &[String], index: usize) -> String {
    codes[index % codes.len()].clone()
}

/// Each kind's rows, cells in the contract's column order.
struct Rows(Vec<(RecordKind, Vec<Vec<String>>)>);

impl PlanData {
    fn rows(&self) -> Rows {
        let institutions = codes(&self.institutions, |r| r.prefix, "I");
        let sources = codes(&self.funding_sources, |r| r.prefix, "F");
        let objectives = codes(&self.objectives, |r| r.prefix, "O");
        let activities = codes(&self.activities, |r| r.prefix, "A");
        let obligations = codes(&self.obligations, |r| r.prefix, "L");
        let lines = codes(&self.budget_lines, |r| r.prefix, "B");
        let plan = code(self.plan.prefix, "P", 0);
        let month = self.plan.fiscal_year_start_month;
        let (first_year, last_year) = (2015, if month == 1 { 2019 } else { 2020 });
        let years = (last_year - first_year + 1) as usize;
        let optional = |text: &Option<String>| text.clone().unwrap_or_default();

        let institution_rows = self
            .institutions
            .iter()
            .zip(&institutions)
            .map(|(r, code)| {
                vec![
                    code.clone(),
                    r.name.clone(),
                    INSTITUTION_KINDS[r.kind].to_owned(),
                    r.iati_ref
                        .map(|n| format!("XM-DAC-{n}"))
                        .unwrap_or_default(),
                ]
            })
            .collect();
        let source_rows = self
            .funding_sources
            .iter()
            .zip(&sources)
            .map(|(r, code)| {
                vec![
                    code.clone(),
                    r.name.clone(),
                    r.donor.map(|d| pick(&institutions, d)).unwrap_or_default(),
                    FUNDING_SOURCE_KINDS[r.kind].to_owned(),
                    CURRENCIES[r.currency].to_owned(),
                ]
            })
            .collect();
        let plan_rows = vec![vec![
            plan.clone(),
            self.plan.title.clone(),
            "XK".to_owned(),
            CURRENCIES[self.plan.currency].to_owned(),
            day(0),
            day(PLAN_LAST_DAY),
            month.to_string(),
        ]];
        let mut objective_rows: Vec<Vec<String>> = self
            .objectives
            .iter()
            .enumerate()
            .map(|(i, r)| {
                // A parent is always an earlier objective, so the parents form no cycle.
                let parent = match (i, r.parent) {
                    (0, _) | (_, None) => String::new(),
                    (i, Some(p)) => objectives[p % i].clone(),
                };
                vec![plan.clone(), objectives[i].clone(), r.title.clone(), parent]
            })
            .collect();
        if self.layout.children_before_parents {
            objective_rows.reverse();
        }
        let activity_rows = self
            .activities
            .iter()
            .zip(&activities)
            .map(|(r, code)| {
                let end = (r.start + r.length).min(PLAN_LAST_DAY);
                vec![
                    plan.clone(),
                    code.clone(),
                    r.title.clone(),
                    pick(&objectives, r.objective),
                    pick(&institutions, r.lead),
                    day(r.start),
                    day(end),
                    STATUSES[r.status].to_owned(),
                    // A sector, or none (the column is optional), by the activity's status.
                    SECTORS[r.status].to_owned(),
                ]
            })
            .collect();
        let obligation_rows = self
            .obligations
            .iter()
            .zip(&obligations)
            .map(|(r, code)| {
                vec![
                    plan.clone(),
                    code.clone(),
                    r.title.clone(),
                    r.legal_basis.clone(),
                    pick(&institutions, r.institution),
                    r.activity.map(|a| pick(&activities, a)).unwrap_or_default(),
                    day(r.in_force_from),
                    r.annual_minimum.map(Money::text).unwrap_or_default(),
                    r.currency
                        .map(|c| CURRENCIES[c].to_owned())
                        .unwrap_or_default(),
                ]
            })
            .collect();
        let budget_line_rows = self
            .budget_lines
            .iter()
            .zip(&lines)
            .map(|(r, code)| {
                vec![
                    plan.clone(),
                    code.clone(),
                    pick(&activities, r.activity),
                    pick(&sources, r.source),
                    (first_year + (r.fiscal_year % years) as i32).to_string(),
                    r.category.clone(),
                    r.amount.text(),
                    CURRENCIES[r.currency].to_owned(),
                    match (r.obligation, obligations.is_empty()) {
                        (Some(o), false) => pick(&obligations, o),
                        _ => String::new(),
                    },
                ]
            })
            .collect();
        let commitment_rows = self
            .commitments
            .iter()
            .enumerate()
            .map(|(i, r)| {
                vec![
                    plan.clone(),
                    code(r.prefix, "C", i),
                    pick(&sources, r.source),
                    pick(&activities, r.activity),
                    day(r.date),
                    r.due_after.map(|d| day(r.date + d)).unwrap_or_default(),
                    r.amount.text(),
                    CURRENCIES[r.currency].to_owned(),
                ]
            })
            .collect();
        let mut disbursement_rows = Vec::new();
        let mut reversal_rows = Vec::new();
        for (i, r) in self.disbursements.iter().enumerate() {
            let reference = code(r.prefix, "D", i);
            let line = pick(&lines, r.line);
            disbursement_rows.push(vec![
                plan.clone(),
                reference.clone(),
                line.clone(),
                day(r.date),
                r.amount.text(),
                CURRENCIES[r.currency].to_owned(),
                r.payee.map(|p| pick(&institutions, p)).unwrap_or_default(),
                optional(&r.description),
                String::new(),
            ]);
            if let Some(reversal) = &r.reversal {
                let units = 1 + reversal.share % r.amount.units;
                reversal_rows.push(vec![
                    plan.clone(),
                    code(reversal.prefix, "R", i),
                    line,
                    day(r.date + reversal.after_days),
                    decimal_text(-units, 4, reversal.fraction_digits, false),
                    CURRENCIES[r.currency].to_owned(),
                    reversal
                        .payee
                        .map(|p| pick(&institutions, p))
                        .unwrap_or_default(),
                    optional(&reversal.description),
                    reference,
                ]);
            }
        }
        disbursement_rows.extend(reversal_rows);
        let mut seen_rates = std::collections::BTreeSet::new();
        let rate_rows = self
            .exchange_rates
            .iter()
            .filter(|r| seen_rates.insert((r.date, r.pair)))
            .map(|r| {
                let (from, to) = currency_pair(r.pair);
                vec![
                    day(r.date),
                    from.to_owned(),
                    to.to_owned(),
                    decimal_text(r.units, 10, r.fraction_digits, false),
                ]
            })
            .collect();
        Rows(vec![
            (RecordKind::Institutions, institution_rows),
            (RecordKind::FundingSources, source_rows),
            (RecordKind::Plans, plan_rows),
            (RecordKind::Objectives, objective_rows),
            (RecordKind::Activities, activity_rows),
            (RecordKind::Obligations, obligation_rows),
            (RecordKind::BudgetLines, budget_line_rows),
            (RecordKind::Commitments, commitment_rows),
            (RecordKind::Disbursements, disbursement_rows),
            (RecordKind::ExchangeRates, rate_rows),
        ])
    }

    /// The canonical text of every amount of `kind`, sorted.
    fn amounts(&self, kind: RecordKind) -> Vec<String> {
        let mut amounts: Vec<String> = match kind {
            RecordKind::BudgetLines => self
                .budget_lines
                .iter()
                .map(|r| r.amount.canonical())
                .collect(),
            RecordKind::Commitments => self
                .commitments
                .iter()
                .map(|r| r.amount.canonical())
                .collect(),
            RecordKind::Disbursements => {
                self.disbursements
                    .iter()
                    .flat_map(|r| {
                        let reversal = r.reversal.as_ref().map(|v| {
                            Amount::from_units(-(1 + v.share % r.amount.units)).to_string()
                        });
                        std::iter::once(r.amount.canonical()).chain(reversal)
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        amounts.sort();
        amounts
    }
}

impl Layout {
    /// One CSV file of `kind` with `rows`, laid out as this layout says.
    fn render(&self, kind: RecordKind, rows: &[Vec<String>]) -> Vec<u8> {
        let columns = kind.columns();
        let mut kept: Vec<usize> = (0..columns.len())
            .filter(|&i| {
                let column = &columns[i];
                let empty = rows.iter().all(|row| row[i].is_empty());
                let omitted = (column.name == "plan_code" && self.omit_plan_code)
                    || (!column.required && empty && self.omit_empty_optional_columns);
                !omitted
            })
            .collect();
        kept.sort_by_key(|i| self.column_order.iter().position(|o| o == i));
        let mut out = Vec::new();
        if self.byte_order_mark {
            out.extend_from_slice("\u{feff}".as_bytes());
        }
        let mut writer = csv::WriterBuilder::new()
            .terminator(if self.crlf {
                csv::Terminator::CRLF
            } else {
                csv::Terminator::Any(b'\n')
            })
            .quote_style(if self.quote_every_field {
                csv::QuoteStyle::Always
            } else {
                csv::QuoteStyle::Necessary
            })
            .from_writer(&mut out);
        writer
            .write_record(kept.iter().map(|&i| columns[i].name))
            .expect("the header is written");
        for row in rows {
            writer
                .write_record(kept.iter().map(|&i| row[i].as_str()))
                .expect("the row is written");
        }
        writer.flush().expect("the file is written");
        drop(writer);
        out
    }
}

/// The canonical amounts of one exported kind, sorted.
fn exported_amounts(export: &Export, kind: RecordKind) -> Vec<String> {
    let bytes = &export.iter().find(|(k, _)| *k == kind).expect("the kind").1;
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let position = reader
        .headers()
        .expect("a header")
        .iter()
        .position(|h| h == "amount")
        .expect("an amount column");
    let mut amounts: Vec<String> = reader
        .records()
        .map(|r| r.expect("a valid row")[position].to_owned())
        .collect();
    amounts.sort();
    amounts
}

async fn random_plan_round_trip(data: PlanData) -> Result<(), TestCaseError> {
    let rows = data.rows();
    let files: Vec<(RecordKind, Vec<u8>)> = rows
        .0
        .iter()
        .map(|(kind, rows)| (*kind, data.layout.render(*kind, rows)))
        .collect();
    let test_db = TestDb::new().await;
    let db = test_db.connect().await;
    write_folder(&test_db, "input", &files);

    let report = import_folder(&db, &test_db.dir.path().join("input"))
        .await
        .map_err(|e| TestCaseError::fail(format!("the generated files were refused: {e}")))?;
    let first = export_all(&db).await;
    let second = export_of_reimported(&first)
        .await
        .map_err(|e| TestCaseError::fail(format!("the export was refused: {e}")))?;

    for ((kind, expected_rows), file) in rows.0.iter().zip(&report.files) {
        prop_assert_eq!(file.entity, *kind);
        prop_assert_eq!(file.rows, expected_rows.len() as u64, "{}", kind);
        prop_assert_eq!(file.created, expected_rows.len() as u64, "{}", kind);
    }
    for kind in [
        RecordKind::BudgetLines,
        RecordKind::Commitments,
        RecordKind::Disbursements,
    ] {
        prop_assert_eq!(
            exported_amounts(&first, kind),
            data.amounts(kind),
            "{}",
            kind
        );
    }
    for ((kind, a), (_, b)) in text_of(&first).iter().zip(text_of(&second)) {
        prop_assert_eq!(
            a,
            &b,
            "{} changed on the way through export and import",
            kind
        );
    }
    Ok(())
}

proptest! {
    // Every case builds two databases, so a few cases go a long way.
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn random_valid_plans_survive_export_and_import_byte_for_byte(data in plan_data()) {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        runtime.block_on(random_plan_round_trip(data))?;
    }
}
