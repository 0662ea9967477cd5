//! IATI's rules beyond the schema, applied to an activity file offline: the standard ruleset
//! (`standard.json`), rule 1.1.2 that the IATI Validator adds itself (every `iati-identifier`
//! unique in the file), and the codelists of `mapping.xml`, all read at test time from
//! `tests/standards/iati-2.03/rules/` (see its README for their sources and how the validator
//! reads each rule type).
//!
//! Nothing of `standard.json` is left out: every context of the ruleset is evaluated on the
//! file, rule after rule. The contexts under `/iati-organisations` select nothing in an
//! activity file, so their rules, which concern organisation files, never apply here.

mod codelists;
mod rules;
mod tests;
mod xpath;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{Map, Value as Json};

use codelists::Codelists;
use rules::Checker;
use xpath::XNode;

/// How bad a violation is, as the ruleset grades it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// One rule broken once: by which activity, where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The ruleset's id (`6.11.1`), `1.1.2`, or `codelist:NAME` / `codelist-withdrawn:NAME`.
    pub rule: String,
    pub severity: Severity,
    /// The rule's message and what was found.
    pub message: String,
    /// The `iati-identifier` of the activity, or `(file)` for what concerns the whole file.
    pub activity: String,
    /// Where in the file: the rule's context element, or the coded attribute.
    pub path: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{severity} {} in {} at {}: {}",
            self.rule, self.activity, self.path, self.message
        )
    }
}

/// The folder with the ruleset and the codelists.
fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/standards/iati-2.03/rules")
}

/// Everything read from the folder, once per test binary.
struct Standard {
    /// `standard.json`'s contexts in the file's order, each with its rule types in order.
    ruleset: Vec<(String, Map<String, Json>)>,
    codelists: Codelists,
    org_id_prefixes: BTreeSet<String>,
}

fn standard() -> &'static Standard {
    static STANDARD: OnceLock<Standard> = OnceLock::new();
    STANDARD.get_or_init(|| {
        let dir = rules_dir();
        let text = std::fs::read_to_string(dir.join("standard.json")).expect("standard.json");
        let ruleset: Map<String, Json> =
            serde_json::from_str(&text).expect("standard.json is JSON");
        let ruleset = ruleset
            .into_iter()
            .map(|(context, rules)| match rules {
                Json::Object(rules) => (context, rules),
                other => panic!("the rules of {context} are not an object: {other}"),
            })
            .collect();
        let prefixes =
            std::fs::read_to_string(dir.join("org-id-prefixes.txt")).expect("org-id-prefixes");
        let org_id_prefixes = prefixes
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(str::to_owned)
            .collect();
        Standard {
            ruleset,
            codelists: Codelists::load(&dir),
            org_id_prefixes,
        }
    })
}

/// The `iati-identifier` of the activity `element` is in, or `(file)` outside any activity.
fn activity_identifier(element: roxmltree::Node<'_, '_>) -> String {
    element
        .ancestors()
        .find(|n| n.has_tag_name("iati-activity"))
        .map_or_else(
            || "(file)".to_owned(),
            |activity| {
                activity
                    .children()
                    .find(|c| c.has_tag_name("iati-identifier"))
                    .map_or_else(
                        || "(no identifier)".to_owned(),
                        |id| XNode::Node(id).string_value(),
                    )
            },
        )
}

/// Every violation of IATI's standard ruleset, of rule 1.1.2 and of the codelists in the
/// activity file `xml`, of every severity, in the order of the ruleset and the file. Panics
/// when the file is not well-formed XML or the ruleset uses XPath or a rule type this checker
/// does not implement.
pub fn violations(xml: &str) -> Vec<Violation> {
    let document = roxmltree::Document::parse(xml).expect("a well-formed activity file");
    let standard = standard();
    let checker = Checker::new(&standard.org_id_prefixes);
    let root = XNode::Node(document.root());
    let mut out = Vec::new();
    for (context, rules) in &standard.ruleset {
        for node in checker.select(context, root) {
            for (rule, cases) in rules {
                for case in cases_of(rule, cases) {
                    if rule == "loop" {
                        apply_loop(&checker, context, case, node, &mut out);
                    } else {
                        record(&checker, context, rule, case, node, &mut out);
                    }
                }
            }
        }
    }
    unique_identifiers(&document, &mut out);
    standard.codelists.check(&document, &mut out);
    out
}

fn cases_of<'j>(rule: &str, cases: &'j Json) -> impl Iterator<Item = &'j Map<String, Json>> {
    let list = match cases.get("cases") {
        Some(Json::Array(list)) => list,
        _ => panic!("{rule} has no list of cases"),
    };
    list.iter().map(move |case| match case {
        Json::Object(fields) => fields,
        other => panic!("a case of {rule} is not an object: {other}"),
    })
}

/// Applies one case and records its violation, if any.
fn record(
    checker: &Checker<'_>,
    context: &str,
    rule: &str,
    case: &Map<String, Json>,
    node: XNode<'_, '_>,
    out: &mut Vec<Violation>,
) {
    if let Err(found) = checker.apply(rule, case, node) {
        let info = case
            .get("ruleInfo")
            .and_then(Json::as_object)
            .unwrap_or_else(|| panic!("a {rule} case of {context} without ruleInfo"));
        let field = |key: &str| {
            info.get(key)
                .and_then(Json::as_str)
                .unwrap_or_else(|| panic!("a ruleInfo without {key}: {info:?}"))
        };
        let severity = match field("severity") {
            "error" => Severity::Error,
            "warning" => Severity::Warning,
            other => panic!("rule {} has the unknown severity {other}", field("id")),
        };
        out.push(Violation {
            rule: field("id").to_owned(),
            severity,
            message: format!("{} ({rule}: {found})", field("message")),
            activity: activity_identifier(node.element()),
            path: node.location(),
        });
    }
}

/// A `loop`: for each distinct value `foreach` selects, every case of `do` with `$1` replaced
/// by the value in all of its expressions (see rules.rs on why all, not only `subs`).
fn apply_loop(
    checker: &Checker<'_>,
    context: &str,
    case: &Map<String, Json>,
    node: XNode<'_, '_>,
    out: &mut Vec<Violation>,
) {
    for key in case.keys() {
        assert!(
            matches!(key.as_str(), "foreach" | "do" | "subs"),
            "a loop of {context} has the key {key}, which this checker does not apply"
        );
    }
    let foreach = case
        .get("foreach")
        .and_then(Json::as_str)
        .expect("a loop has foreach");
    let values: BTreeSet<String> = checker
        .select(foreach, node)
        .iter()
        .map(XNode::string_value)
        .collect();
    let Some(Json::Object(sub_rules)) = case.get("do") else {
        panic!("a loop of {context} without do")
    };
    for value in &values {
        assert!(
            !value.contains(['\'', '"']),
            "{foreach} = {value} cannot be put into an XPath literal"
        );
        for (rule, cases) in sub_rules {
            assert_ne!(rule, "loop", "a loop inside a loop");
            for sub_case in cases_of(rule, cases) {
                let replaced = substitute(sub_case, value);
                record(checker, context, rule, &replaced, node, out);
            }
        }
    }
}

/// `case` with `$1` replaced by `value` in every string outside `ruleInfo`.
fn substitute(case: &Map<String, Json>, value: &str) -> Map<String, Json> {
    fn replace(json: &Json, value: &str) -> Json {
        match json {
            Json::String(s) => Json::String(s.replace("$1", value)),
            Json::Array(items) => Json::Array(items.iter().map(|i| replace(i, value)).collect()),
            other => other.clone(),
        }
    }
    case.iter()
        .map(|(key, json)| {
            let json = if key == "ruleInfo" {
                json.clone()
            } else {
                replace(json, value)
            };
            (key.clone(), json)
        })
        .collect()
}

/// Rule 1.1.2, which the validator adds itself: no two activities of the file share an
/// `iati-identifier`. Each activity after the first with an identifier is a violation.
fn unique_identifiers(document: &roxmltree::Document<'_>, out: &mut Vec<Violation>) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for activity in document
        .descendants()
        .filter(|n| n.has_tag_name("iati-activity"))
    {
        let identifier = activity_identifier(activity);
        let count = seen.entry(identifier.clone()).or_default();
        *count += 1;
        if *count > 1 {
            out.push(Violation {
                rule: "1.1.2".to_owned(),
                severity: Severity::Error,
                message: format!(
                    "The activity identifier must be unique for each activity. \
                     (\"{identifier}\" is used {count} times so far)"
                ),
                activity: identifier,
                path: XNode::Node(activity).location(),
            });
        }
    }
}
