//! Evaluates conditions against an item, reads document paths, and projects items.
//!
//! DynamoDB's rules (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.OperatorsAndFunctions.html>):
//! an ordering comparison holds only between two values of the same scalar type (S, N or B);
//! a comparison with an attribute the item lacks is false, except `<>`, which holds.

use std::cmp::Ordering;

use super::ast::{Comparator, Condition, Operand, Path, PathElement};
use crate::serve::dynamodb::number::Number;
use crate::serve::dynamodb::value::{AttributeValue, Item};

/// The value at a document path, if the item has one there.
pub(crate) fn resolve<'a>(item: &'a Item, path: &Path) -> Option<&'a AttributeValue> {
    let (first, rest) = path.split_first()?;
    let PathElement::Attribute(name) = first else {
        return None;
    };
    let mut value = item.get(name)?;
    for element in rest {
        value = match (element, value) {
            (PathElement::Attribute(name), AttributeValue::M(map)) => map.get(name)?,
            (PathElement::Index(index), AttributeValue::L(list)) => list.get(*index)?,
            _ => return None,
        };
    }
    Some(value)
}

/// `size()`: characters of a string, bytes of a binary, elements of a set, list or map; other
/// types have no size, so a comparison with it is false.
fn size(value: &AttributeValue) -> Option<AttributeValue> {
    let size = match value {
        AttributeValue::S(s) => s.chars().count(),
        AttributeValue::B(b) => b.len(),
        AttributeValue::Ss(s) => s.len(),
        AttributeValue::Ns(s) => s.len(),
        AttributeValue::Bs(s) => s.len(),
        AttributeValue::L(l) => l.len(),
        AttributeValue::M(m) => m.len(),
        _ => return None,
    };
    Some(AttributeValue::N(Number::from_count(size)))
}

fn operand(item: &Item, operand: &Operand) -> Option<AttributeValue> {
    match operand {
        Operand::Path(path) => resolve(item, path).cloned(),
        Operand::Value(value) => Some(value.clone()),
        Operand::Size(path) => resolve(item, path).and_then(size),
    }
}

/// The order of two scalars of one type; `None` for anything else.
pub(crate) fn order(a: &AttributeValue, b: &AttributeValue) -> Option<Ordering> {
    match (a, b) {
        (AttributeValue::S(a), AttributeValue::S(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
        (AttributeValue::N(a), AttributeValue::N(b)) => Some(a.cmp(b)),
        (AttributeValue::B(a), AttributeValue::B(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

fn compare(
    left: Option<AttributeValue>,
    comparator: Comparator,
    right: Option<AttributeValue>,
) -> bool {
    let (Some(left), Some(right)) = (left, right) else {
        return comparator == Comparator::NotEqual;
    };
    match comparator {
        // Numbers are normalized, so structural equality is numeric equality.
        Comparator::Equal => left == right,
        Comparator::NotEqual => left != right,
        Comparator::Less => order(&left, &right) == Some(Ordering::Less),
        Comparator::LessOrEqual => {
            matches!(order(&left, &right), Some(Ordering::Less | Ordering::Equal))
        }
        Comparator::Greater => order(&left, &right) == Some(Ordering::Greater),
        Comparator::GreaterOrEqual => {
            matches!(
                order(&left, &right),
                Some(Ordering::Greater | Ordering::Equal)
            )
        }
    }
}

fn begins_with(subject: &AttributeValue, prefix: &AttributeValue) -> bool {
    match (subject, prefix) {
        (AttributeValue::S(s), AttributeValue::S(p)) => s.starts_with(p.as_str()),
        (AttributeValue::B(s), AttributeValue::B(p)) => s.starts_with(p),
        _ => false,
    }
}

/// `contains`: a substring of a string, a member of a set, an element of a list.
fn contains(subject: &AttributeValue, operand: &AttributeValue) -> bool {
    match (subject, operand) {
        (AttributeValue::S(s), AttributeValue::S(part)) => s.contains(part.as_str()),
        (AttributeValue::B(s), AttributeValue::B(part)) => {
            part.is_empty()
                || s.windows(part.len())
                    .any(|window| window == part.as_slice())
        }
        (AttributeValue::Ss(set), AttributeValue::S(member)) => set.contains(member),
        (AttributeValue::Ns(set), AttributeValue::N(member)) => set.contains(member),
        (AttributeValue::Bs(set), AttributeValue::B(member)) => set.contains(member),
        (AttributeValue::L(list), element) => list.contains(element),
        _ => false,
    }
}

/// Whether `item` (empty when the item does not exist) satisfies `condition`.
pub(crate) fn evaluate(condition: &Condition, item: &Item) -> bool {
    match condition {
        Condition::Compare(left, comparator, right) => {
            compare(operand(item, left), *comparator, operand(item, right))
        }
        Condition::Between(subject, low, high) => {
            match (
                operand(item, subject),
                operand(item, low),
                operand(item, high),
            ) {
                (Some(subject), Some(low), Some(high)) => {
                    matches!(
                        order(&low, &subject),
                        Some(Ordering::Less | Ordering::Equal)
                    ) && matches!(
                        order(&subject, &high),
                        Some(Ordering::Less | Ordering::Equal)
                    )
                }
                _ => false,
            }
        }
        Condition::In(subject, candidates) => match operand(item, subject) {
            Some(subject) => candidates
                .iter()
                .any(|candidate| operand(item, candidate).as_ref() == Some(&subject)),
            None => false,
        },
        Condition::AttributeExists(path) => resolve(item, path).is_some(),
        Condition::AttributeNotExists(path) => resolve(item, path).is_none(),
        Condition::AttributeType(path, kind) => {
            resolve(item, path).is_some_and(|value| value.type_name() == kind)
        }
        Condition::BeginsWith(subject, prefix) => {
            match (operand(item, subject), operand(item, prefix)) {
                (Some(subject), Some(prefix)) => begins_with(&subject, &prefix),
                _ => false,
            }
        }
        Condition::Contains(subject, part) => match (operand(item, subject), operand(item, part)) {
            (Some(subject), Some(part)) => contains(&subject, &part),
            _ => false,
        },
        Condition::And(left, right) => evaluate(left, item) && evaluate(right, item),
        Condition::Or(left, right) => evaluate(left, item) || evaluate(right, item),
        Condition::Not(inner) => !evaluate(inner, item),
    }
}

/// The item cut down to `paths` (a ProjectionExpression): nested paths keep their nesting,
/// list elements picked by index keep their relative order.
pub(crate) fn project(item: &Item, paths: &[Path]) -> Item {
    let mut projected = Item::new();
    for path in paths {
        let Some(value) = resolve(item, path) else {
            continue;
        };
        let (PathElement::Attribute(name), rest) = (&path[0], &path[1..]) else {
            continue;
        };
        let source = &item[name];
        let slot = projected
            .entry(name.clone())
            .or_insert_with(|| empty_like(source));
        insert_projected(slot, source, rest, value);
    }
    projected
}

fn empty_like(value: &AttributeValue) -> AttributeValue {
    match value {
        AttributeValue::M(_) => AttributeValue::M(Item::new()),
        AttributeValue::L(_) => AttributeValue::L(Vec::new()),
        other => other.clone(),
    }
}

fn insert_projected(
    slot: &mut AttributeValue,
    source: &AttributeValue,
    rest: &[PathElement],
    value: &AttributeValue,
) {
    let Some((first, rest)) = rest.split_first() else {
        *slot = value.clone();
        return;
    };
    match (first, slot, source) {
        (PathElement::Attribute(name), AttributeValue::M(map), AttributeValue::M(source)) => {
            let inner_source = &source[name];
            let inner = map
                .entry(name.clone())
                .or_insert_with(|| empty_like(inner_source));
            insert_projected(inner, inner_source, rest, value);
        }
        (PathElement::Index(index), AttributeValue::L(list), AttributeValue::L(source)) => {
            let mut inner = empty_like(&source[*index]);
            insert_projected(&mut inner, &source[*index], rest, value);
            list.push(inner);
        }
        _ => {}
    }
}
