//! The part of XPath 1.0 that IATI's `standard.json` and `mapping.xml` use, over a roxmltree
//! document: location paths with child steps, `//`, `..`, `.`, `@name` (and `@xml:lang`),
//! `text()`, predicates (boolean or a position such as `[1]`), `|` unions, `or`, `and`, the
//! comparisons `= != < <= > >=`, `+`, string and number literals, and the functions `count()`,
//! `not()` and `number()`. Anything else panics with the expression, so that no rule is ever
//! skipped because its path was not understood.

use std::collections::HashSet;
use std::fmt;

use roxmltree::Node;

const XML_NAMESPACE: &str = "http://www.w3.org/XML/1998/namespace";

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Compare(Comparison, Box<Expr>, Box<Expr>),
    Add(Box<Expr>, Box<Expr>),
    Union(Box<Expr>, Box<Expr>),
    Path(Path),
    Literal(String),
    Number(f64),
    Count(Box<Expr>),
    Not(Box<Expr>),
    ToNumber(Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

/// A location path: from the document's root when `absolute`, else from the context node.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    absolute: bool,
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq)]
struct Step {
    axis: Axis,
    predicates: Vec<Expr>,
}

#[derive(Debug, Clone, PartialEq)]
enum Axis {
    /// Child elements with this name (in no namespace).
    Child(String),
    /// Attributes with this name; `xml:lang` is the one prefixed name supported.
    Attribute { name: String, xml: bool },
    /// Child text nodes: `text()`.
    Text,
    /// `..`
    Parent,
    /// `.`
    Itself,
    /// The `descendant-or-self::node()` step that `//` stands for.
    DescendantOrSelf,
}

/// A node an expression selects: an element (or the root, or a text node), or one attribute
/// of an element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XNode<'a, 'input> {
    Node(Node<'a, 'input>),
    Attribute(Node<'a, 'input>, usize),
}

impl<'a, 'input> XNode<'a, 'input> {
    /// What tells two selected nodes apart, for node-sets without duplicates.
    fn identity(&self) -> (roxmltree::NodeId, usize) {
        match self {
            XNode::Node(node) => (node.id(), 0),
            XNode::Attribute(owner, index) => (owner.id(), index + 1),
        }
    }

    /// XPath's string-value: an attribute's value, a text node's text, or all the text
    /// inside an element.
    pub fn string_value(&self) -> String {
        match self {
            XNode::Attribute(owner, index) => owner
                .attributes()
                .nth(*index)
                .map(|a| a.value().to_owned())
                .unwrap_or_default(),
            XNode::Node(node) if node.is_text() => node.text().unwrap_or_default().to_owned(),
            XNode::Node(node) => node
                .descendants()
                .filter(|n| n.is_text())
                .filter_map(|n| n.text())
                .collect(),
        }
    }

    /// The element this node is or belongs to (an attribute's owner, a text node's parent).
    pub fn element(&self) -> Node<'a, 'input> {
        match self {
            XNode::Attribute(owner, _) => *owner,
            XNode::Node(node) if node.is_element() || node.is_root() => *node,
            XNode::Node(node) => node.parent().unwrap_or(*node),
        }
    }

    /// Where the node is in its document, e.g. `/iati-activities/iati-activity[2]/budget[1]/@type`.
    pub fn location(&self) -> String {
        let suffix = match self {
            XNode::Attribute(owner, index) => owner
                .attributes()
                .nth(*index)
                .map(|a| match a.namespace() {
                    Some(XML_NAMESPACE) => format!("/@xml:{}", a.name()),
                    _ => format!("/@{}", a.name()),
                })
                .unwrap_or_default(),
            XNode::Node(node) if node.is_text() => "/text()".to_owned(),
            XNode::Node(_) => String::new(),
        };
        let mut steps: Vec<String> = self
            .element()
            .ancestors()
            .filter(|n| n.is_element())
            .map(|element| {
                let name = element.tag_name().name();
                // `prev_siblings()` starts at the element itself.
                let position = element
                    .prev_siblings()
                    .filter(|s| s.is_element() && s.tag_name().name() == name)
                    .count();
                match element.parent() {
                    Some(parent) if parent.is_root() => format!("/{name}"),
                    _ => format!("/{name}[{position}]"),
                }
            })
            .collect();
        steps.reverse();
        steps.concat() + &suffix
    }
}

/// The value of an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a, 'input> {
    Nodes(Vec<XNode<'a, 'input>>),
    Boolean(bool),
    Number(f64),
    String(String),
}

impl<'a, 'input> Value<'a, 'input> {
    /// XPath's `boolean()`.
    pub fn boolean(&self) -> bool {
        match self {
            Value::Nodes(nodes) => !nodes.is_empty(),
            Value::Boolean(b) => *b,
            Value::Number(n) => *n != 0.0 && !n.is_nan(),
            Value::String(s) => !s.is_empty(),
        }
    }

    /// XPath's `number()`: a node-set by its first node's string-value.
    pub fn number(&self) -> f64 {
        match self {
            Value::Nodes(nodes) => nodes
                .first()
                .map_or(f64::NAN, |n| number_of(&n.string_value())),
            Value::Boolean(b) => f64::from(u8::from(*b)),
            Value::Number(n) => *n,
            Value::String(s) => number_of(s),
        }
    }

    fn string(&self) -> String {
        match self {
            Value::Nodes(nodes) => nodes.first().map(XNode::string_value).unwrap_or_default(),
            Value::Boolean(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
        }
    }

    /// The nodes of a node-set; any other value here is a defect of the ruleset.
    pub fn into_nodes(self, expression: &dyn fmt::Display) -> Vec<XNode<'a, 'input>> {
        match self {
            Value::Nodes(nodes) => nodes,
            other => panic!("`{expression}` is not a node-set but {other:?}"),
        }
    }
}

/// XPath 1.0's reading of a string as a number: optional spaces, an optional minus, digits
/// with an optional fraction; no exponent, no sign `+`. Anything else is NaN.
pub fn number_of(text: &str) -> f64 {
    let trimmed = text.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
    let digits = trimmed.strip_prefix('-').unwrap_or(trimmed);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let well_formed = !(whole.is_empty() && fraction.is_empty())
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit());
    if well_formed {
        trimmed.parse().unwrap_or(f64::NAN)
    } else {
        f64::NAN
    }
}

// --- Parsing ----------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Name(String),
    Literal(String),
    Number(f64),
    Slash,
    DoubleSlash,
    At,
    Dot,
    DotDot,
    LeftBracket,
    RightBracket,
    LeftParen,
    RightParen,
    Pipe,
    Plus,
    Comparison(Comparison),
    Comma,
}

fn tokens(source: &str) -> Vec<Token> {
    let unsupported = |what: &str| -> ! { panic!("unsupported XPath ({what}): `{source}`") };
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let (token, length) = match c {
            ' ' | '\t' | '\n' | '\r' => {
                i += 1;
                continue;
            }
            '/' if next == Some('/') => (Token::DoubleSlash, 2),
            '/' => (Token::Slash, 1),
            '@' => (Token::At, 1),
            '.' if next == Some('.') => (Token::DotDot, 2),
            '.' if !next.is_some_and(|n| n.is_ascii_digit()) => (Token::Dot, 1),
            '[' => (Token::LeftBracket, 1),
            ']' => (Token::RightBracket, 1),
            '(' => (Token::LeftParen, 1),
            ')' => (Token::RightParen, 1),
            '|' => (Token::Pipe, 1),
            '+' => (Token::Plus, 1),
            ',' => (Token::Comma, 1),
            '=' => (Token::Comparison(Comparison::Equal), 1),
            '!' if next == Some('=') => (Token::Comparison(Comparison::NotEqual), 2),
            '<' if next == Some('=') => (Token::Comparison(Comparison::LessOrEqual), 2),
            '<' => (Token::Comparison(Comparison::Less), 1),
            '>' if next == Some('=') => (Token::Comparison(Comparison::GreaterOrEqual), 2),
            '>' => (Token::Comparison(Comparison::Greater), 1),
            '\'' | '"' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&d| d == c)
                    .unwrap_or_else(|| unsupported("an unterminated literal"));
                let text: String = chars[i + 1..i + 1 + end].iter().collect();
                (Token::Literal(text), end + 2)
            }
            '0'..='9' | '.' => {
                let length = chars[i..]
                    .iter()
                    .take_while(|d| d.is_ascii_digit() || **d == '.')
                    .count();
                let text: String = chars[i..i + length].iter().collect();
                let number = text
                    .parse()
                    .unwrap_or_else(|_| unsupported("a malformed number"));
                (Token::Number(number), length)
            }
            c if c.is_alphabetic() || c == '_' => {
                // A name may hold `-`, `.` and one `:` (a prefix); `xml:lang` is the only
                // prefixed name the ruleset uses.
                let length = chars[i..]
                    .iter()
                    .take_while(|d| d.is_alphanumeric() || matches!(d, '-' | '_' | '.' | ':'))
                    .count();
                (Token::Name(chars[i..i + length].iter().collect()), length)
            }
            '-' => unsupported("subtraction or a negative number"),
            _ => unsupported("an unexpected character"),
        };
        out.push(token);
        i += length;
    }
    out
}

struct Parser<'s> {
    source: &'s str,
    tokens: Vec<Token>,
    at: usize,
}

/// Parses an expression of the supported subset; panics with the expression otherwise.
pub fn parse(source: &str) -> Expr {
    let mut parser = Parser {
        source,
        tokens: tokens(source),
        at: 0,
    };
    let expr = parser.or();
    if parser.at != parser.tokens.len() {
        parser.fail("unexpected text after the expression");
    }
    expr
}

impl Parser<'_> {
    fn fail(&self, what: &str) -> ! {
        panic!(
            "unsupported XPath ({what} at token {} {:?}): `{}`",
            self.at,
            self.tokens.get(self.at),
            self.source
        )
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn eat(&mut self, token: &Token) -> bool {
        let matched = self.peek() == Some(token);
        if matched {
            self.at += 1;
        }
        matched
    }

    fn expect(&mut self, token: &Token) {
        if !self.eat(token) {
            self.fail(&format!("expected {token:?}"));
        }
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let matched = matches!(self.peek(), Some(Token::Name(n)) if n == keyword);
        if matched {
            self.at += 1;
        }
        matched
    }

    fn or(&mut self) -> Expr {
        let mut left = self.and();
        while self.eat_keyword("or") {
            left = Expr::Or(Box::new(left), Box::new(self.and()));
        }
        left
    }

    fn and(&mut self) -> Expr {
        let mut left = self.comparison();
        while self.eat_keyword("and") {
            left = Expr::And(Box::new(left), Box::new(self.comparison()));
        }
        left
    }

    /// Equality and relational operators at one level: the ruleset never chains them.
    fn comparison(&mut self) -> Expr {
        let left = self.additive();
        if let Some(Token::Comparison(op)) = self.peek().cloned() {
            self.at += 1;
            let right = self.additive();
            if matches!(self.peek(), Some(Token::Comparison(_))) {
                self.fail("chained comparisons");
            }
            return Expr::Compare(op, Box::new(left), Box::new(right));
        }
        left
    }

    fn additive(&mut self) -> Expr {
        let mut left = self.union();
        while self.eat(&Token::Plus) {
            left = Expr::Add(Box::new(left), Box::new(self.union()));
        }
        left
    }

    fn union(&mut self) -> Expr {
        let mut left = self.primary();
        while self.eat(&Token::Pipe) {
            left = Expr::Union(Box::new(left), Box::new(self.primary()));
        }
        left
    }

    fn primary(&mut self) -> Expr {
        match self.peek().cloned() {
            Some(Token::Literal(text)) => {
                self.at += 1;
                Expr::Literal(text)
            }
            Some(Token::Number(n)) => {
                self.at += 1;
                Expr::Number(n)
            }
            Some(Token::LeftParen) => {
                self.at += 1;
                let inner = self.or();
                self.expect(&Token::RightParen);
                if matches!(self.peek(), Some(Token::LeftBracket | Token::Slash)) {
                    self.fail("a filter or path after a parenthesised expression");
                }
                inner
            }
            Some(Token::Name(name))
                if self.tokens.get(self.at + 1) == Some(&Token::LeftParen) && name != "text" =>
            {
                self.at += 2;
                let argument = self.or();
                if self.peek() == Some(&Token::Comma) {
                    self.fail("a function with more than one argument");
                }
                self.expect(&Token::RightParen);
                let argument = Box::new(argument);
                match name.as_str() {
                    "count" => Expr::Count(argument),
                    "not" => Expr::Not(argument),
                    "number" => Expr::ToNumber(argument),
                    _ => self.fail("an unsupported function"),
                }
            }
            _ => Expr::Path(self.path()),
        }
    }

    fn path(&mut self) -> Path {
        let mut steps = Vec::new();
        let absolute = match self.peek() {
            Some(Token::Slash) => {
                self.at += 1;
                true
            }
            Some(Token::DoubleSlash) => {
                self.at += 1;
                steps.push(Step {
                    axis: Axis::DescendantOrSelf,
                    predicates: Vec::new(),
                });
                true
            }
            _ => false,
        };
        loop {
            steps.push(self.step());
            if self.eat(&Token::Slash) {
                continue;
            }
            if self.eat(&Token::DoubleSlash) {
                steps.push(Step {
                    axis: Axis::DescendantOrSelf,
                    predicates: Vec::new(),
                });
                continue;
            }
            break;
        }
        Path { absolute, steps }
    }

    fn step(&mut self) -> Step {
        let axis = match self.peek().cloned() {
            Some(Token::DotDot) => {
                self.at += 1;
                Axis::Parent
            }
            Some(Token::Dot) => {
                self.at += 1;
                Axis::Itself
            }
            Some(Token::At) => {
                self.at += 1;
                match self.peek().cloned() {
                    Some(Token::Name(name)) => {
                        self.at += 1;
                        match name.split_once(':') {
                            None => Axis::Attribute { name, xml: false },
                            Some(("xml", local)) => Axis::Attribute {
                                name: local.to_owned(),
                                xml: true,
                            },
                            Some(_) => self.fail("a namespace prefix other than xml"),
                        }
                    }
                    _ => self.fail("an attribute name"),
                }
            }
            Some(Token::Name(name)) if name == "text" => {
                self.at += 1;
                self.expect(&Token::LeftParen);
                self.expect(&Token::RightParen);
                Axis::Text
            }
            Some(Token::Name(name)) => {
                self.at += 1;
                if name.contains(':') {
                    self.fail("an axis or a prefixed element name");
                }
                Axis::Child(name)
            }
            _ => self.fail("a location step"),
        };
        let mut predicates = Vec::new();
        while self.eat(&Token::LeftBracket) {
            predicates.push(self.or());
            self.expect(&Token::RightBracket);
        }
        Step { axis, predicates }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Or(a, b) => write!(f, "{a} or {b}"),
            Expr::And(a, b) => write!(f, "{a} and {b}"),
            Expr::Compare(op, a, b) => {
                let op = match op {
                    Comparison::Equal => "=",
                    Comparison::NotEqual => "!=",
                    Comparison::Less => "<",
                    Comparison::LessOrEqual => "<=",
                    Comparison::Greater => ">",
                    Comparison::GreaterOrEqual => ">=",
                };
                write!(f, "{a} {op} {b}")
            }
            Expr::Add(a, b) => write!(f, "{a} + {b}"),
            Expr::Union(a, b) => write!(f, "{a} | {b}"),
            Expr::Path(path) => {
                if path.absolute
                    && path.steps.first().map(|s| &s.axis) != Some(&Axis::DescendantOrSelf)
                {
                    f.write_str("/")?;
                }
                for (i, step) in path.steps.iter().enumerate() {
                    if i > 0 && step.axis != Axis::DescendantOrSelf {
                        let after_descendant = path.steps[i - 1].axis == Axis::DescendantOrSelf;
                        if !after_descendant {
                            f.write_str("/")?;
                        }
                    }
                    match &step.axis {
                        Axis::Child(name) => f.write_str(name)?,
                        Axis::Attribute { name, xml: false } => write!(f, "@{name}")?,
                        Axis::Attribute { name, xml: true } => write!(f, "@xml:{name}")?,
                        Axis::Text => f.write_str("text()")?,
                        Axis::Parent => f.write_str("..")?,
                        Axis::Itself => f.write_str(".")?,
                        Axis::DescendantOrSelf => f.write_str("//")?,
                    }
                    for predicate in &step.predicates {
                        write!(f, "[{predicate}]")?;
                    }
                }
                Ok(())
            }
            Expr::Literal(text) => write!(f, "'{text}'"),
            Expr::Number(n) => write!(f, "{n}"),
            Expr::Count(a) => write!(f, "count({a})"),
            Expr::Not(a) => write!(f, "not({a})"),
            Expr::ToNumber(a) => write!(f, "number({a})"),
        }
    }
}

// --- Evaluation -------------------------------------------------------------------------

/// Evaluates `expr` with `context` as the context node. XPath's numbers are doubles, so `+`
/// adds doubles here (counts only, in the ruleset); sums of amounts are exact in rules.rs.
#[allow(clippy::float_arithmetic)]
pub fn evaluate<'a, 'input>(expr: &Expr, context: XNode<'a, 'input>) -> Value<'a, 'input> {
    match expr {
        Expr::Or(a, b) => {
            Value::Boolean(evaluate(a, context).boolean() || evaluate(b, context).boolean())
        }
        Expr::And(a, b) => {
            Value::Boolean(evaluate(a, context).boolean() && evaluate(b, context).boolean())
        }
        Expr::Compare(op, a, b) => {
            Value::Boolean(compare(*op, &evaluate(a, context), &evaluate(b, context)))
        }
        Expr::Add(a, b) => {
            Value::Number(evaluate(a, context).number() + evaluate(b, context).number())
        }
        Expr::Union(a, b) => {
            let mut nodes = evaluate(a, context).into_nodes(a);
            nodes.extend(evaluate(b, context).into_nodes(b));
            Value::Nodes(distinct(nodes))
        }
        Expr::Path(path) => Value::Nodes(select_path(path, context)),
        Expr::Literal(text) => Value::String(text.clone()),
        Expr::Number(n) => Value::Number(*n),
        Expr::Count(a) => Value::Number(evaluate(a, context).into_nodes(a).len() as f64),
        Expr::Not(a) => Value::Boolean(!evaluate(a, context).boolean()),
        Expr::ToNumber(a) => Value::Number(evaluate(a, context).number()),
    }
}

/// XPath 1.0's comparison of two values: with a node-set, true when some node satisfies it.
fn compare(op: Comparison, left: &Value<'_, '_>, right: &Value<'_, '_>) -> bool {
    match (left, right) {
        (Value::Nodes(a), Value::Nodes(b)) => a.iter().any(|x| {
            let x = Value::String(x.string_value());
            b.iter()
                .any(|y| compare(op, &x, &Value::String(y.string_value())))
        }),
        (Value::Nodes(nodes), other) => nodes
            .iter()
            .any(|n| compare(op, &atom_like(n, other), other)),
        (other, Value::Nodes(nodes)) => nodes
            .iter()
            .any(|n| compare(op, other, &atom_like(n, other))),
        _ => match op {
            Comparison::Equal | Comparison::NotEqual => {
                let equal = match (left, right) {
                    (Value::Boolean(_), _) | (_, Value::Boolean(_)) => {
                        left.boolean() == right.boolean()
                    }
                    (Value::Number(_), _) | (_, Value::Number(_)) => {
                        left.number() == right.number()
                    }
                    _ => left.string() == right.string(),
                };
                equal == (op == Comparison::Equal)
            }
            Comparison::Less => left.number() < right.number(),
            Comparison::LessOrEqual => left.number() <= right.number(),
            Comparison::Greater => left.number() > right.number(),
            Comparison::GreaterOrEqual => left.number() >= right.number(),
        },
    }
}

/// A node compared with a single value becomes a value of that kind: a number against a
/// number, a string against a string. (Against a boolean, XPath compares the whole node-set's
/// boolean, which the caller gets right by comparing the node's existence: true.)
fn atom_like<'a, 'input>(node: &XNode<'a, 'input>, other: &Value<'_, '_>) -> Value<'a, 'input> {
    match other {
        Value::Number(_) => Value::Number(number_of(&node.string_value())),
        Value::Boolean(_) => Value::Boolean(true),
        _ => Value::String(node.string_value()),
    }
}

fn select_path<'a, 'input>(path: &Path, context: XNode<'a, 'input>) -> Vec<XNode<'a, 'input>> {
    let start = if path.absolute {
        XNode::Node(context.element().document().root())
    } else {
        context
    };
    let mut current = vec![start];
    for step in &path.steps {
        let next: Vec<XNode<'a, 'input>> = current
            .iter()
            .flat_map(|node| select_step(step, *node))
            .collect();
        // Children, attributes and text of distinct nodes are distinct; only parents and
        // descendants of several nodes can repeat (and this keeps `//` from the root cheap).
        let may_repeat =
            current.len() > 1 && matches!(step.axis, Axis::Parent | Axis::DescendantOrSelf);
        current = if may_repeat { distinct(next) } else { next };
    }
    current
}

/// `nodes` without repeats, in the order they were first found.
fn distinct<'a, 'input>(nodes: Vec<XNode<'a, 'input>>) -> Vec<XNode<'a, 'input>> {
    let mut seen = HashSet::with_capacity(nodes.len());
    nodes
        .into_iter()
        .filter(|node| seen.insert(node.identity()))
        .collect()
}

/// The nodes one step selects from one node, filtered by the step's predicates in turn (a
/// number selects by position among what the step found from this node).
fn select_step<'a, 'input>(step: &Step, from: XNode<'a, 'input>) -> Vec<XNode<'a, 'input>> {
    let mut found: Vec<XNode<'a, 'input>> = match (&step.axis, from) {
        (_, XNode::Attribute(owner, _)) => match step.axis {
            Axis::Parent => vec![XNode::Node(owner)],
            Axis::Itself => vec![from],
            _ => Vec::new(),
        },
        (Axis::Child(name), XNode::Node(node)) => node
            .children()
            .filter(|c| {
                c.is_element() && c.tag_name().namespace().is_none() && c.tag_name().name() == name
            })
            .map(XNode::Node)
            .collect(),
        (Axis::Attribute { name, xml }, XNode::Node(node)) => node
            .attributes()
            .enumerate()
            .filter(|(_, a)| {
                a.name() == name
                    && if *xml {
                        a.namespace() == Some(XML_NAMESPACE)
                    } else {
                        a.namespace().is_none()
                    }
            })
            .map(|(index, _)| XNode::Attribute(node, index))
            .collect(),
        (Axis::Text, XNode::Node(node)) => node
            .children()
            .filter(|c| c.is_text())
            .map(XNode::Node)
            .collect(),
        (Axis::Parent, XNode::Node(node)) => node.parent().map(XNode::Node).into_iter().collect(),
        (Axis::Itself, XNode::Node(_)) => vec![from],
        (Axis::DescendantOrSelf, XNode::Node(node)) => node
            .descendants()
            .filter(|d| d.is_element() || d.is_root())
            .map(XNode::Node)
            .collect(),
    };
    for predicate in &step.predicates {
        found = found
            .into_iter()
            .enumerate()
            .filter(|(index, node)| match evaluate(predicate, *node) {
                Value::Number(position) => position == (index + 1) as f64,
                value => value.boolean(),
            })
            .map(|(_, node)| node)
            .collect();
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCUMENT: &str = r#"<iati-activities version="2.03">
  <iati-activity xml:lang="en" default-currency="EUR">
    <iati-identifier>XM-1-A</iati-identifier>
    <sector vocabulary="1" code="15110" percentage="60"/>
    <sector code="15111" percentage="40"/>
    <sector vocabulary="99" code="X"/>
    <transaction><value currency="USD">-5.50</value></transaction>
    <transaction><value>7</value></transaction>
    <result><reference code="r"/><indicator><reference code="a"/><reference code="b"/></indicator></result>
  </iati-activity>
</iati-activities>"#;

    fn with_activity<T>(check: impl FnOnce(XNode<'_, '_>) -> T) -> T {
        let document = roxmltree::Document::parse(DOCUMENT).unwrap();
        let activity = document
            .descendants()
            .find(|n| n.has_tag_name("iati-activity"))
            .unwrap();
        check(XNode::Node(activity))
    }

    fn value_of(expression: &str) -> String {
        with_activity(|activity| match evaluate(&parse(expression), activity) {
            Value::Nodes(nodes) => nodes
                .iter()
                .map(XNode::string_value)
                .collect::<Vec<_>>()
                .join(","),
            other => format!("{other:?}"),
        })
    }

    #[test]
    fn child_steps_attributes_and_text_select_in_document_order() {
        assert_eq!(value_of("sector/@code"), "15110,15111,X");
        assert_eq!(value_of("iati-identifier/text()"), "XM-1-A");
        assert_eq!(value_of("transaction/value"), "-5.50,7");
        assert_eq!(value_of("@xml:lang"), "en");
        assert_eq!(value_of("@lang"), "");
    }

    #[test]
    fn predicates_filter_with_or_and_not_and_positions() {
        assert_eq!(
            value_of("sector[@vocabulary = '1' or @vocabulary = '' or not(@vocabulary)]/@code"),
            "15110,15111"
        );
        assert_eq!(value_of("sector[@vocabulary != '1']/@vocabulary"), "99");
        assert_eq!(value_of("sector[@vocabulary=99]/@code"), "X");
        assert_eq!(value_of("transaction[value/@currency]/value"), "-5.50");
        assert_eq!(value_of("result/indicator/reference[1]/@code"), "a");
        assert_eq!(value_of("result/reference[1]/@code"), "r");
    }

    #[test]
    fn parent_steps_descendants_and_unions_reach_other_branches() {
        assert_eq!(value_of("result/indicator/../reference/@code"), "r");
        assert_eq!(value_of("//reference/@code"), "r,a,b");
        assert_eq!(value_of("/iati-activities/@version"), "2.03");
        assert_eq!(value_of("//iati-activity/sector[2]/@code"), "15111");
        assert_eq!(value_of("sector[3]/@code | transaction/value"), "X,-5.50,7");
        assert_eq!(value_of("iati-identifier | iati-identifier"), "XM-1-A");
    }

    #[test]
    fn count_number_and_comparisons_follow_xpath_1() {
        assert_eq!(
            value_of("count(sector) + count(transaction) > 4"),
            "Boolean(true)"
        );
        assert_eq!(value_of("count(sector/@percentage) = 2"), "Boolean(true)");
        assert_eq!(value_of("count(sector) >= 4"), "Boolean(false)");
        assert_eq!(value_of("sector/@percentage = 40"), "Boolean(true)");
        assert_eq!(value_of("sector/@percentage = 100"), "Boolean(false)");
        assert_eq!(value_of("sector/@code != 'X'"), "Boolean(true)");
        assert_eq!(
            value_of("number(transaction/value) = transaction/value"),
            "Boolean(true)"
        );
        assert_eq!(
            value_of("number(@default-currency) = @default-currency"),
            "Boolean(false)"
        );
        assert_eq!(value_of("number(@missing) = @missing"), "Boolean(false)");
        assert_eq!(
            value_of("not(recipient-country or recipient-region)"),
            "Boolean(true)"
        );
        assert_eq!(value_of("sector and not(transaction)"), "Boolean(false)");
    }

    #[test]
    fn numbers_are_read_the_way_xpath_reads_them() {
        assert_eq!(number_of(" 12.50 "), 12.5);
        assert_eq!(number_of("-3"), -3.0);
        assert_eq!(number_of(".5"), 0.5);
        for not_a_number in ["", "1e3", "+1", "12,5", "inf", "NaN", "1.2.3", "-"] {
            assert!(number_of(not_a_number).is_nan(), "{not_a_number:?}");
        }
    }

    #[test]
    fn locations_name_each_step_with_its_position() {
        let document = roxmltree::Document::parse(DOCUMENT).unwrap();
        let root = XNode::Node(document.root());
        let nodes = evaluate(&parse("//sector[2]/@code"), root).into_nodes(&"test");
        assert_eq!(
            nodes[0].location(),
            "/iati-activities/iati-activity[1]/sector[2]/@code"
        );
    }

    #[test]
    fn expressions_print_back_as_they_were_written() {
        for source in [
            "sector[@vocabulary = '1' or not(@vocabulary)]/@percentage",
            "count(a) + count(b/c) > 1",
            "//title",
            "/iati-activities/iati-activity/result/indicator[@measure = '5']/baseline",
            "../reference[1]",
            "narrative/text()",
        ] {
            assert_eq!(parse(source).to_string(), source);
        }
    }

    #[test]
    #[should_panic(expected = "unsupported XPath")]
    fn an_unsupported_function_fails_loudly() {
        parse("string-length(iati-identifier) > 0");
    }

    #[test]
    #[should_panic(expected = "unsupported XPath")]
    fn an_axis_fails_loudly() {
        parse("descendant::narrative");
    }

    #[test]
    #[should_panic(expected = "unsupported XPath")]
    fn subtraction_fails_loudly() {
        parse("count(a) - 1");
    }
}
