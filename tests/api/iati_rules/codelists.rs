//! The codelist checks of `mapping.xml`: every attribute (or text) a mapping's path selects
//! must be a code of the mapping's codelist, where the mapping's condition holds.
//!
//! What the IATI Validator does, and so what this does: it enforces every mapped codelist
//! alike, whether the list says `complete="1"` or `complete="0"` (IATI-Validator-Codelists
//! builds each list's allowed codes from all of its `<code>` elements and js-validator-api
//! rejects any other value); `complete="0"` only tells a publisher that codes outside the list
//! may exist (disputed countries, say), and the validator still refuses them. It accepts
//! withdrawn codes; this checker also accepts them but reports each one as a warning, since
//! IATI asks publishers not to use them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::xpath::{self, Expr, XNode};
use super::{Severity, Violation};

/// One codelist: its codes, and which of them are withdrawn.
pub struct Codelist {
    codes: BTreeSet<String>,
    withdrawn: BTreeSet<String>,
}

/// One `<mapping>` of `mapping.xml`.
pub struct Mapping {
    path: Expr,
    /// The element names the path steps through: where one is not in the file, the mapping
    /// selects nothing and is not evaluated (most mappings, for the export).
    elements: Vec<String>,
    codelist: String,
    condition: Option<Condition>,
}

/// A mapping's condition, e.g. `@vocabulary = '1' or not(@vocabulary)`, evaluated on the
/// element that holds the coded attribute.
struct Condition {
    expr: Expr,
    /// The attribute the condition reads and, when the condition also accepts its absence,
    /// `true`: the validator reads an empty attribute as absent (`value || defaultLink`), so
    /// an empty one makes such a condition hold too.
    linked: Option<(String, bool)>,
}

pub struct Codelists {
    mappings: Vec<Mapping>,
    lists: BTreeMap<String, Codelist>,
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn child_text<'a>(node: roxmltree::Node<'a, '_>, name: &str) -> Option<&'a str> {
    node.children()
        .find(|c| c.has_tag_name(name))
        .and_then(|c| c.text())
}

impl Codelists {
    /// Reads `mapping.xml` and every codelist it names from `folder`.
    pub fn load(folder: &Path) -> Codelists {
        let text = read(&folder.join("mapping.xml"));
        let document = roxmltree::Document::parse(&text).expect("mapping.xml is well-formed");
        let mut mappings = Vec::new();
        for mapping in document.descendants().filter(|n| n.has_tag_name("mapping")) {
            let path = child_text(mapping, "path").expect("a mapping has a path");
            let codelist = mapping
                .children()
                .find(|c| c.has_tag_name("codelist"))
                .and_then(|c| c.attribute("ref"))
                .expect("a mapping names its codelist");
            let condition = child_text(mapping, "condition").map(|source| Condition {
                expr: xpath::parse(source),
                linked: linked_attribute(source),
            });
            assert!(
                !path.contains(['[', '|', '(']) || path.ends_with("/text()"),
                "a mapping path with predicates, unions or functions: {path}"
            );
            let elements = path
                .split('/')
                .filter(|step| !step.is_empty() && !step.starts_with('@') && *step != "text()")
                .map(str::to_owned)
                .collect();
            mappings.push(Mapping {
                path: xpath::parse(path),
                elements,
                codelist: codelist.to_owned(),
                condition,
            });
        }
        let names: BTreeSet<&str> = mappings.iter().map(|m| m.codelist.as_str()).collect();
        let lists = names
            .into_iter()
            .map(|name| {
                let file = folder.join("codelists").join(format!("{name}.xml"));
                (name.to_owned(), Codelist::parse(&read(&file)))
            })
            .collect();
        Codelists { mappings, lists }
    }

    /// The codelist violations of a parsed activity file.
    pub fn check(&self, document: &roxmltree::Document<'_>, out: &mut Vec<Violation>) {
        let root = XNode::Node(document.root());
        let present: BTreeSet<&str> = document
            .descendants()
            .filter(|n| n.is_element())
            .map(|n| n.tag_name().name())
            .collect();
        for mapping in &self.mappings {
            if !mapping
                .elements
                .iter()
                .all(|e| present.contains(e.as_str()))
            {
                continue;
            }
            let list = &self.lists[&mapping.codelist];
            let selected = xpath::evaluate(&mapping.path, root).into_nodes(&mapping.path);
            for node in selected {
                if let Some(condition) = &mapping.condition
                    && !condition.holds(node.element())
                {
                    continue;
                }
                let value = node.string_value();
                let (id, severity, problem) = if !list.codes.contains(&value) {
                    ("codelist", Severity::Error, "is not a code of")
                } else if list.withdrawn.contains(&value) {
                    (
                        "codelist-withdrawn",
                        Severity::Warning,
                        "is a withdrawn code of",
                    )
                } else {
                    continue;
                };
                out.push(Violation {
                    rule: format!("{id}:{}", mapping.codelist),
                    severity,
                    message: format!(
                        "\"{value}\" {problem} the codelist {} (mapping {})",
                        mapping.codelist, mapping.path
                    ),
                    activity: super::activity_identifier(node.element()),
                    path: node.location(),
                });
            }
        }
    }
}

impl Codelist {
    fn parse(text: &str) -> Codelist {
        let document = roxmltree::Document::parse(text).expect("a codelist is well-formed");
        let mut codes = BTreeSet::new();
        let mut withdrawn = BTreeSet::new();
        for item in document
            .descendants()
            .filter(|n| n.has_tag_name("codelist-item"))
        {
            let code = child_text(item, "code")
                .expect("a codelist item has a code")
                .trim()
                .to_owned();
            if item.attribute("status") == Some("withdrawn") {
                withdrawn.insert(code.clone());
            }
            codes.insert(code);
        }
        assert!(!codes.is_empty(), "a codelist without codes");
        Codelist { codes, withdrawn }
    }
}

/// The attribute a condition reads, the way IATI-Validator-Codelists reads it: the first
/// `@name` of the condition, and whether the condition goes on with `or not(@name)`.
fn linked_attribute(condition: &str) -> Option<(String, bool)> {
    let name: String = condition
        .trim_start()
        .strip_prefix('@')?
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let accepts_absence = condition.contains(&format!("not(@{name})"));
    Some((name, accepts_absence))
}

impl Condition {
    fn holds(&self, element: roxmltree::Node<'_, '_>) -> bool {
        if xpath::evaluate(&self.expr, XNode::Node(element)).boolean() {
            return true;
        }
        match &self.linked {
            Some((name, true)) => element.attribute(name.as_str()) == Some(""),
            _ => false,
        }
    }
}
