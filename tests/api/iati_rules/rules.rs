//! The rule types of IATI's `standard.json`, one function each, in the stricter reading that
//! `tests/standards/iati-2.03/rules/README.md` describes, so that a file that passes here also
//! passes the IATI Validator (js-validator-api's `services/rulesValidator.js`):
//!
//! - A `condition`, and the `if` of `if_then`, hold when XPath's `boolean()` of them is true
//!   *or* when they select a node-set, even an empty one: the validator takes any node-set as
//!   true (JavaScript truthiness of an array), so it applies such rules more often than
//!   `boolean()` would. An `if_then` fails whenever `boolean()` of its `then` is false.
//! - Date rules check every date their paths select (every pair, for two paths), not only the
//!   first; a date that is not an ISO date or datetime is itself a violation.
//! - A `loop` replaces `$1` in every expression of its cases, not only in the keys `subs`
//!   names (the validator leaves `$1` in a `condition` it does not name, which then never
//!   holds).
//! - Sums and ranges are exact decimals; a value that is not an XPath number fails them.
//! - `idCondition` (skip a rule when the identifier is one of the organisation identifiers the
//!   validator downloads from the IATI Registry) is never used to skip a rule: offline there
//!   is no such list, and applying the rule is the stricter choice.
//! - Regular expressions apply to empty texts too (the validator lets an empty text pass).
//!
//! A rule type, a key of a case or an `all` of `one_or_all` that this file does not know panics,
//! naming it, so that nothing in the ruleset is ever skipped in silence.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value as Json};

use super::xpath::{self, Expr, Value, XNode};

/// The outcome of one case of one rule on one context node: `Err` says what is wrong.
pub type Outcome = Result<(), String>;

/// One case of a rule, with what a check needs to evaluate it.
pub struct Case<'c> {
    fields: &'c Map<String, Json>,
    checker: &'c Checker<'c>,
}

/// What stays the same across every case of one file: the parsed expressions so far, the
/// moment taken as "now" and the organisation registration agencies.
pub struct Checker<'c> {
    expressions: RefCell<HashMap<String, Rc<Expr>>>,
    pub now: DateTime<Utc>,
    pub org_id_prefixes: &'c BTreeSet<String>,
}

impl<'c> Checker<'c> {
    pub fn new(org_id_prefixes: &'c BTreeSet<String>) -> Checker<'c> {
        Checker {
            expressions: RefCell::new(HashMap::new()),
            now: Utc::now(),
            org_id_prefixes,
        }
    }

    /// The parsed form of `source`, parsed once per file.
    pub fn expr(&self, source: &str) -> Rc<Expr> {
        if let Some(expr) = self.expressions.borrow().get(source) {
            return Rc::clone(expr);
        }
        let expr = Rc::new(xpath::parse(source));
        self.expressions
            .borrow_mut()
            .insert(source.to_owned(), Rc::clone(&expr));
        expr
    }

    pub fn evaluate<'a, 'input>(&self, source: &str, node: XNode<'a, 'input>) -> Value<'a, 'input> {
        xpath::evaluate(&self.expr(source), node)
    }

    pub fn select<'a, 'input>(
        &self,
        source: &str,
        node: XNode<'a, 'input>,
    ) -> Vec<XNode<'a, 'input>> {
        self.evaluate(source, node).into_nodes(&source)
    }

    /// Applies one case of `rule` to `node`. `Ok` also when the case's condition does not hold.
    pub fn apply(&self, rule: &str, fields: &Map<String, Json>, node: XNode<'_, '_>) -> Outcome {
        let case = Case {
            fields,
            checker: self,
        };
        case.assert_keys(rule);
        if let Some(condition) = case.text("condition")
            && !holds(&self.evaluate(condition, node))
        {
            return Ok(());
        }
        if let Some(id_condition) = case.text("idCondition") {
            assert!(
                matches!(
                    id_condition,
                    "NOT_EXISTING_ORG_ID" | "NOT_EXISTING_ORG_ID_PREFIX"
                ),
                "unknown idCondition {id_condition}"
            );
        }
        match rule {
            "atleast_one" => atleast_one(&case, node),
            "no_more_than_one" => no_more_than_one(&case, node),
            "only_one_of" => only_one_of(&case, node),
            "dependent" => dependent(&case, node),
            "sum" => sum(&case, node),
            "strict_sum" => strict_sum(&case, node),
            "date_order" => date_order(&case, node),
            "date_now" => date_now(&case, node),
            "between_dates" => between_dates(&case, node),
            "time_limit" => time_limit(&case, node),
            "regex_matches" => regex(&case, node, true),
            "regex_no_matches" => regex(&case, node, false),
            "startswith" => startswith(&case, node),
            "unique" => unique(&case, node),
            "if_then" => if_then(&case, node),
            "one_or_all" => one_or_all(&case, node),
            "no_spaces" => no_spaces(&case, node),
            "range" => range(&case, node),
            other => panic!("unknown rule type {other}"),
        }
    }
}

/// Whether a `condition` or an `if` holds: see the module's comment.
fn holds(value: &Value<'_, '_>) -> bool {
    matches!(value, Value::Nodes(_)) || value.boolean()
}

impl Case<'_> {
    /// Every key a case of `rule` may have; any other key panics.
    fn assert_keys(&self, rule: &str) {
        let allowed: &[&str] = match rule {
            "atleast_one" | "no_more_than_one" | "dependent" | "unique" | "no_spaces" => &["paths"],
            "only_one_of" => &["paths", "excluded"],
            "sum" | "strict_sum" => &["paths", "sum"],
            "date_order" => &["less", "more"],
            "date_now" => &["date"],
            "between_dates" => &["date", "start", "end"],
            "time_limit" => &["start", "end"],
            "regex_matches" | "regex_no_matches" => &["paths", "regex"],
            "startswith" => &["paths", "prefix", "separator"],
            "if_then" => &["if", "then", "paths"],
            "one_or_all" => &["one", "all"],
            "range" => &["paths", "min", "max"],
            other => panic!("unknown rule type {other}"),
        };
        for key in self.fields.keys() {
            let common = matches!(key.as_str(), "ruleInfo" | "condition" | "idCondition");
            assert!(
                common || allowed.contains(&key.as_str()),
                "a {rule} case has the key {key}, which this checker does not apply"
            );
        }
    }

    fn text(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(|value| {
            value
                .as_str()
                .unwrap_or_else(|| panic!("{key} is not a string: {value}"))
        })
    }

    fn required(&self, key: &str) -> &str {
        self.text(key)
            .unwrap_or_else(|| panic!("a case without {key}: {:?}", self.fields))
    }

    fn list(&self, key: &str) -> Vec<&str> {
        match self.fields.get(key) {
            Some(Json::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .unwrap_or_else(|| panic!("{key} holds a non-string {item}"))
                })
                .collect(),
            other => panic!("{key} is not a list of strings: {other:?}"),
        }
    }

    fn decimal(&self, key: &str) -> Decimal {
        let value = self
            .fields
            .get(key)
            .unwrap_or_else(|| panic!("a case without {key}"));
        Decimal::from_str(&value.to_string())
            .unwrap_or_else(|e| panic!("{key} = {value} is not a decimal: {e}"))
    }

    /// Every node the case's `paths` select, path after path (a node two paths select counts
    /// twice, as in the validator).
    fn matches<'a, 'input>(&self, node: XNode<'a, 'input>) -> Vec<XNode<'a, 'input>> {
        self.list("paths")
            .into_iter()
            .flat_map(|path| self.checker.select(path, node))
            .collect()
    }

    fn texts(&self, node: XNode<'_, '_>) -> Vec<String> {
        self.matches(node).iter().map(XNode::string_value).collect()
    }

    /// The dates `key` selects; `NOW` is the checker's now.
    fn dates(&self, key: &str, node: XNode<'_, '_>) -> Result<Vec<DateTime<Utc>>, String> {
        let source = self.required(key);
        if source == "NOW" {
            return Ok(vec![self.checker.now]);
        }
        self.checker
            .select(source, node)
            .iter()
            .map(|date| {
                let text = date.string_value();
                parse_date(&text).ok_or_else(|| format!("{source} = \"{text}\" is not a date"))
            })
            .collect()
    }
}

/// An ISO 8601 date or datetime as the validator's `new Date(..)` reads it: a date alone is
/// midnight UTC, a datetime without an offset is taken as UTC.
pub fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(datetime) = DateTime::parse_from_rfc3339(text) {
        return Some(datetime.with_timezone(&Utc));
    }
    if let Ok(datetime) = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(datetime.and_utc());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|datetime| datetime.and_utc())
}

/// A text as an exact decimal, if it is an XPath number.
fn exact_number(text: &str) -> Option<Decimal> {
    if xpath::number_of(text).is_nan() {
        return None;
    }
    Decimal::from_str(text.trim()).ok()
}

fn quoted(texts: &[String]) -> String {
    texts
        .iter()
        .map(|t| format!("\"{t}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

// --- One function per rule type ---------------------------------------------------------

/// At least one node among the paths.
fn atleast_one(case: &Case<'_>, node: XNode<'_, '_>) -> Outcome {
    if case.matches(node).is_empty() {
        return Err(format!("none of {} found", case.list("paths").join(", ")));
    }
    Ok(())
}

/// At most one node among the paths.
fn no_more_than_one(case: &Case<'_>, node: XNode<'_, '_>) -> Outcome {
    let found = case.matches(node).len();
    if found > 1 {
        return Err(format!("{found} of {}", case.list("paths").join(", ")));
    }
    Ok(())
}

/// The validator's reading: for each `excluded` path, when it selects anything the paths must
/// select nothing; when it selects nothing the paths must select exactly one node.
fn only_one_of(case: &Case<'_>, node: XNode<'_, '_>) -> Outcome {
    let found = case.matches(node).len();
    for excluded in case.list("excluded") {
        let present = !case.checker.select(excluded, node).is_empty();
        if (present && found != 0) || (!present && found != 1) {
            return Err(format!(
                "{found} of {} with {excluded} {}",
                case.list("paths").join(", "),
                if present { "present" } else { "absent" }
            ));
        }
    }
    Ok(())
}

/// SPEC.rst: when one of the paths is present, all of them must be.
fn dependent(case: &Case<'_>, node: XNode<'_, '_>) -> Outcome {
    let paths = case.list("paths");
    let present: Vec<bool> = paths
        .iter()
        .map(|path| !case.checker.select(path, node).is_empty())
        .collect();
    if present.contains(&true) && present.contains(&false) {
        let missing: Vec<&str> = paths
            .iter()
            .zip(&present)
            .filter(|(_, p)| !**p)
            .map(|(path, _)| *path)
            .collect();
        return Err(format!("missing {}", missing.join(", ")));
    }
    Ok(())
}

/// Like `strict_sum`, but only when the paths select something.
fn sum(case: &Case<'_>, node: XNode<'_, '_>) -> Outcome {
    if case.matches(node).is_empty() {
        return Ok(());
    }
    strict_sum(case, node)
}

/// The values the paths select add up exactly to `sum`.
fn strict_sum(case: &Case<'_>, node: XNode<'_, '_>) -> Outcome {
    let expected = case.decimal("sum");
    let texts = case.texts(node);
    let mut total = Decimal::ZERO;
    for text in &texts {
        let value = exact_number(text).ok_or_else(|| format!("\"{text}\" is not a number"))?;
        total = total
            .checked_add(value)
            .ok_or_else(|| format!("the sum of {} overflows", quoted(&texts)))?;
    }
    if total != expected {
        return Err(format!(
            "{} add up to {total}, not {expected}",
            quoted(&texts)
        ));
    }
    Ok(())
}

/// Every `less` date is on or before every `more` date.
fn date_order(case: &Case<'_>, node: XNode<'_, '_>) -> Outcome {
    let less = case.dates("less", node)?;
    let more = case.dates("more", node)?;
    for l in &less {
        if let Some(m) = more.iter().find(|m| l > *m) {
            return Err(format!(
                "{} = {l} is after {} = {m}",
                case.required("less"),
                case.required("more")
            ));
        }
    }
    Ok(())
}

/// Every `date` is not in the future.
fn date_now(case: &Case<'_>, node: XNode<'_, '_>) -> Outcome {
    let now = case.checker.now;
    if let Some(date) = case.dates("date", node)?.iter().find(|d| **d > now) {
        return Err(format!(
            "{} = {date} is after now ({now})",
            case.required("date")
        ));
    }
    Ok(())
}

/// Every `date` is within every period from a `start` to an `end`.
fn between_dates(case: &Case<'_>, node: XNode<'_, '_>) -> Outcome {
    let dates = case.dates("date", node)?;
    let starts = case.dates("start", node)?;
    let ends = case.dates("end", node)?;
    for date in &dates {
        if starts.iter().any(|s| date < s) || ends.iter().any(|e| date > e) {
            return Err(format!(
                "{} = {date} is outside the period",
                case.required("date")
            ));
        }
    }
    Ok(())
}

/// No `end` is more than 365 whole days after a `start`.
fn time_limit(case: &Case<'_>, node: XNode<'_, '_>) -> Outcome {
    let starts = case.dates("start", node)?;
    let ends = case.dates("end", node)?;
    for start in &starts {
        if let Some(end) = ends.iter().find(|end| (**end - *start).num_days() > 365) {
            return Err(format!("{start} to {end} is longer than a year"));
        }
    }
    Ok(())
}

/// Every text the paths select matches the regular expression (`matches`), or none does.
fn regex(case: &Case<'_>, node: XNode<'_, '_>, matches: bool) -> Outcome {
    let source = case.required("regex");
    let pattern = regex::Regex::new(source)
        .unwrap_or_else(|e| panic!("the ruleset's regex {source} does not compile: {e}"));
    let wrong: Vec<String> = case
        .texts(node)
        .into_iter()
        .filter(|text| pattern.is_match(text) != matches)
        .collect();
    if !wrong.is_empty() {
        let verb = if matches { "do not match" } else { "match" };
        return Err(format!("{} {verb} {source}", quoted(&wrong)));
    }
    Ok(())
}

/// Every text the paths select starts with one of the prefixes followed by the separator;
/// the prefix `ORG-ID-PREFIX` means a registration agency's code (the text up to its second
/// `-`).
fn startswith(case: &Case<'_>, node: XNode<'_, '_>) -> Outcome {
    let prefixes = case.list("prefix");
    let texts = case.texts(node);
    if prefixes == ["ORG-ID-PREFIX"] {
        let unknown: Vec<String> = texts
            .into_iter()
            .filter(|text| {
                let mut parts = text.split('-');
                let agency = match (parts.next(), parts.next()) {
                    (Some(a), Some(b)) => format!("{a}-{b}"),
                    _ => return true,
                };
                !case.checker.org_id_prefixes.contains(&agency)
            })
            .collect();
        if !unknown.is_empty() {
            return Err(format!(
                "{} start with no approved agency code",
                quoted(&unknown)
            ));
        }
        return Ok(());
    }
    assert!(
        !prefixes.contains(&"ORG-ID-PREFIX"),
        "ORG-ID-PREFIX among other prefixes"
    );
    let separator = case.text("separator").unwrap_or("");
    let starts: Vec<String> = prefixes
        .iter()
        .flat_map(|path| case.checker.select(path, node))
        .map(|n| n.string_value() + separator)
        .collect();
    let wrong: Vec<String> = texts
        .into_iter()
        .filter(|text| !starts.iter().any(|start| text.starts_with(start.as_str())))
        .collect();
    if !wrong.is_empty() {
        return Err(format!(
            "{} start with none of {}",
            quoted(&wrong),
            quoted(&starts)
        ));
    }
    Ok(())
}

/// The texts the paths select are all different.
fn unique(case: &Case<'_>, node: XNode<'_, '_>) -> Outcome {
    let texts = case.texts(node);
    let distinct: BTreeSet<&String> = texts.iter().collect();
    if distinct.len() < texts.len() {
        return Err(format!("{} are not all different", quoted(&texts)));
    }
    Ok(())
}

/// When `if` holds, `then` is true.
fn if_then(case: &Case<'_>, node: XNode<'_, '_>) -> Outcome {
    let condition = case.required("if");
    if !holds(&case.checker.evaluate(condition, node)) {
        return Ok(());
    }
    let then = case.required("then");
    if !case.checker.evaluate(then, node).boolean() {
        return Err(format!("{condition}, but not {then}"));
    }
    Ok(())
}

/// `one` is present, or else every element of the kind `all` names carries it: `lang` every
/// narrative an `@xml:lang`, `currency` every value, forecast and loan-status a `@currency`,
/// `sector` every transaction a sector, `recipient-country|recipient-region` every transaction
/// one of those (the validator's meanings of `all`).
fn one_or_all(case: &Case<'_>, node: XNode<'_, '_>) -> Outcome {
    if !case.checker.select(case.required("one"), node).is_empty() {
        return Ok(());
    }
    let (elements, needs) = match case.required("all") {
        "lang" => (".//narrative", "@xml:lang"),
        "currency" => (".//value | .//forecast | .//loan-status", "@currency"),
        "sector" => ("transaction", "sector"),
        "recipient-country|recipient-region" => {
            ("transaction", "recipient-country | recipient-region")
        }
        other => panic!("one_or_all with an unknown all: {other}"),
    };
    let lacking: Vec<String> = case
        .checker
        .select(elements, node)
        .into_iter()
        .filter(|element| case.checker.select(needs, *element).is_empty())
        .map(|element| element.location())
        .collect();
    if !lacking.is_empty() {
        return Err(format!(
            "no {} and {} without {needs}: {}",
            case.required("one"),
            lacking.len(),
            lacking.join(", ")
        ));
    }
    Ok(())
}

/// No text the paths select starts or ends with white space.
fn no_spaces(case: &Case<'_>, node: XNode<'_, '_>) -> Outcome {
    let padded: Vec<String> = case
        .texts(node)
        .into_iter()
        .filter(|text| text.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}') != text)
        .collect();
    if !padded.is_empty() {
        return Err(format!("{} start or end with white space", quoted(&padded)));
    }
    Ok(())
}

/// Every value the paths select is a number from `min` to `max`.
fn range(case: &Case<'_>, node: XNode<'_, '_>) -> Outcome {
    let (min, max) = (case.decimal("min"), case.decimal("max"));
    let outside: Vec<String> = case
        .texts(node)
        .into_iter()
        .filter(|text| !exact_number(text).is_some_and(|v| min <= v && v <= max))
        .collect();
    if !outside.is_empty() {
        return Err(format!("{} not from {min} to {max}", quoted(&outside)));
    }
    Ok(())
}
