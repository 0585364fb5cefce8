//! The parsed forms of DynamoDB's expressions
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.html>), with
//! every `#name` and `:value` placeholder already replaced by what it stands for.

use crate::serve::dynamodb::value::AttributeValue;

/// One step of a document path: `a`, `.b`, `[0]`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum PathElement {
    Attribute(String),
    Index(usize),
}

/// A document path; never empty, and it always starts with an attribute.
pub(crate) type Path = Vec<PathElement>;

/// The top-level attribute a path lives in.
pub(crate) fn top_level(path: &Path) -> &str {
    match path.first() {
        Some(PathElement::Attribute(name)) => name,
        _ => "",
    }
}

/// A value a condition compares.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Operand {
    Path(Path),
    Value(AttributeValue),
    /// `size(path)`.
    Size(Path),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Comparator {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

/// A ConditionExpression, FilterExpression or KeyConditionExpression.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Condition {
    Compare(Operand, Comparator, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    AttributeExists(Path),
    AttributeNotExists(Path),
    /// `attribute_type(path, :type)`, the type already checked to be one of DynamoDB's.
    AttributeType(Path, String),
    BeginsWith(Operand, Operand),
    Contains(Operand, Operand),
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
    Not(Box<Condition>),
}

/// A value on the right of a SET action.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Term {
    Path(Path),
    Value(AttributeValue),
    IfNotExists(Path, Box<Term>),
    ListAppend(Box<Term>, Box<Term>),
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum SetValue {
    Term(Term),
    Plus(Term, Term),
    Minus(Term, Term),
}

/// An UpdateExpression: its four clauses, each at most once.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Update {
    pub(crate) set: Vec<(Path, SetValue)>,
    pub(crate) remove: Vec<Path>,
    pub(crate) add: Vec<(Path, AttributeValue)>,
    pub(crate) delete: Vec<(Path, AttributeValue)>,
}

impl Update {
    /// Every path the update writes, in clause order.
    pub(crate) fn paths(&self) -> impl Iterator<Item = &Path> {
        self.set
            .iter()
            .map(|(path, _)| path)
            .chain(&self.remove)
            .chain(self.add.iter().map(|(path, _)| path))
            .chain(self.delete.iter().map(|(path, _)| path))
    }
}

impl Condition {
    /// Every document path the condition reads.
    pub(crate) fn paths(&self) -> Vec<&Path> {
        let mut paths = Vec::new();
        self.collect_paths(&mut paths);
        paths
    }

    fn collect_paths<'a>(&'a self, paths: &mut Vec<&'a Path>) {
        let mut operand = |operand: &'a Operand| match operand {
            Operand::Path(path) | Operand::Size(path) => paths.push(path),
            Operand::Value(_) => {}
        };
        match self {
            Condition::Compare(left, _, right)
            | Condition::BeginsWith(left, right)
            | Condition::Contains(left, right) => {
                operand(left);
                operand(right);
            }
            Condition::Between(subject, low, high) => {
                operand(subject);
                operand(low);
                operand(high);
            }
            Condition::In(subject, candidates) => {
                operand(subject);
                candidates.iter().for_each(operand);
            }
            Condition::AttributeExists(path)
            | Condition::AttributeNotExists(path)
            | Condition::AttributeType(path, _) => paths.push(path),
            Condition::And(left, right) | Condition::Or(left, right) => {
                left.collect_paths(paths);
                right.collect_paths(paths);
            }
            Condition::Not(inner) => inner.collect_paths(paths),
        }
    }
}
