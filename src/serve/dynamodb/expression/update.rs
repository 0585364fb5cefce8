//! Applies an UpdateExpression to an item
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.UpdateExpressions.html>).
//!
//! Every value on the right of SET is read from the item as it was before the update, so
//! `SET a = b, b = a` swaps; then the actions are applied. A set emptied by DELETE is removed,
//! since DynamoDB has no empty sets.

use super::ast::{Path, PathElement, SetValue, Term, Update};
use super::evaluate::resolve;
use crate::serve::dynamodb::errors::validation;
use crate::serve::dynamodb::value::{AttributeValue, Item};
use crate::serve::error::ApiError;

fn wrong_type() -> ApiError {
    validation("An operand in the update expression has an incorrect data type")
}

fn invalid_path() -> ApiError {
    validation("The document path provided in the update expression is invalid for update")
}

fn missing_attribute() -> ApiError {
    validation("The provided expression refers to an attribute that does not exist in the item")
}

/// The item after `update`; `old` is the item before (empty when it did not exist).
pub(crate) fn apply(update: &Update, old: &Item) -> Result<Item, ApiError> {
    let assignments: Vec<(&Path, AttributeValue)> = update
        .set
        .iter()
        .map(|(path, value)| Ok((path, set_value(value, old)?)))
        .collect::<Result<_, ApiError>>()?;
    let mut item = old.clone();
    for (path, value) in assignments {
        assign(&mut item, path, value)?;
    }
    // Later list indexes first, so removing one does not shift the next.
    let mut removals: Vec<&Path> = update.remove.iter().collect();
    removals.sort_by(|a, b| b.cmp(a));
    for path in removals {
        remove(&mut item, path);
    }
    for (path, operand) in &update.add {
        let added = match (resolve(&item, path), operand) {
            (None, value) => value.clone(),
            (Some(AttributeValue::N(current)), AttributeValue::N(by)) => {
                AttributeValue::N(current.add(by)?)
            }
            (Some(AttributeValue::Ss(current)), AttributeValue::Ss(more)) => {
                AttributeValue::Ss(current.union(more).cloned().collect())
            }
            (Some(AttributeValue::Ns(current)), AttributeValue::Ns(more)) => {
                AttributeValue::Ns(current.union(more).cloned().collect())
            }
            (Some(AttributeValue::Bs(current)), AttributeValue::Bs(more)) => {
                AttributeValue::Bs(current.union(more).cloned().collect())
            }
            _ => return Err(wrong_type()),
        };
        assign(&mut item, path, added)?;
    }
    for (path, operand) in &update.delete {
        let remaining = match (resolve(&item, path), operand) {
            (None, _) => continue,
            (Some(AttributeValue::Ss(current)), AttributeValue::Ss(less)) => {
                let left: std::collections::BTreeSet<_> =
                    current.difference(less).cloned().collect();
                (!left.is_empty()).then_some(AttributeValue::Ss(left))
            }
            (Some(AttributeValue::Ns(current)), AttributeValue::Ns(less)) => {
                let left: std::collections::BTreeSet<_> =
                    current.difference(less).cloned().collect();
                (!left.is_empty()).then_some(AttributeValue::Ns(left))
            }
            (Some(AttributeValue::Bs(current)), AttributeValue::Bs(less)) => {
                let left: std::collections::BTreeSet<_> =
                    current.difference(less).cloned().collect();
                (!left.is_empty()).then_some(AttributeValue::Bs(left))
            }
            _ => return Err(wrong_type()),
        };
        match remaining {
            Some(value) => assign(&mut item, path, value)?,
            None => remove(&mut item, path),
        }
    }
    Ok(item)
}

fn set_value(value: &SetValue, old: &Item) -> Result<AttributeValue, ApiError> {
    match value {
        SetValue::Term(term) => term_value(term, old),
        SetValue::Plus(left, right) | SetValue::Minus(left, right) => {
            match (term_value(left, old)?, term_value(right, old)?) {
                (AttributeValue::N(left), AttributeValue::N(right)) => {
                    Ok(AttributeValue::N(if matches!(value, SetValue::Plus(..)) {
                        left.add(&right)?
                    } else {
                        left.subtract(&right)?
                    }))
                }
                _ => Err(wrong_type()),
            }
        }
    }
}

fn term_value(term: &Term, old: &Item) -> Result<AttributeValue, ApiError> {
    match term {
        Term::Value(value) => Ok(value.clone()),
        Term::Path(path) => resolve(old, path).cloned().ok_or_else(missing_attribute),
        Term::IfNotExists(path, fallback) => match resolve(old, path) {
            Some(value) => Ok(value.clone()),
            None => term_value(fallback, old),
        },
        Term::ListAppend(first, second) => {
            match (term_value(first, old)?, term_value(second, old)?) {
                (AttributeValue::L(mut first), AttributeValue::L(second)) => {
                    first.extend(second);
                    Ok(AttributeValue::L(first))
                }
                _ => Err(wrong_type()),
            }
        }
    }
}

/// Writes `value` at `path`; the path's parent must exist. A list index past the end appends.
fn assign(item: &mut Item, path: &Path, value: AttributeValue) -> Result<(), ApiError> {
    let (last, parents) = path.split_last().ok_or_else(invalid_path)?;
    if parents.is_empty() {
        let PathElement::Attribute(name) = last else {
            return Err(invalid_path());
        };
        item.insert(name.clone(), value);
        return Ok(());
    }
    let parent = parent_mut(item, parents).ok_or_else(invalid_path)?;
    match (parent, last) {
        (AttributeValue::M(map), PathElement::Attribute(name)) => {
            map.insert(name.clone(), value);
        }
        (AttributeValue::L(list), PathElement::Index(index)) => {
            if *index < list.len() {
                list[*index] = value;
            } else {
                list.push(value);
            }
        }
        _ => return Err(invalid_path()),
    }
    Ok(())
}

/// Removes the value at `path`, if there is one.
fn remove(item: &mut Item, path: &Path) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    if parents.is_empty() {
        if let PathElement::Attribute(name) = last {
            item.remove(name);
        }
        return;
    }
    match (parent_mut(item, parents), last) {
        (Some(AttributeValue::M(map)), PathElement::Attribute(name)) => {
            map.remove(name);
        }
        (Some(AttributeValue::L(list)), PathElement::Index(index)) if *index < list.len() => {
            list.remove(*index);
        }
        _ => {}
    }
}

fn parent_mut<'a>(item: &'a mut Item, path: &[PathElement]) -> Option<&'a mut AttributeValue> {
    let (first, rest) = path.split_first()?;
    let PathElement::Attribute(name) = first else {
        return None;
    };
    let mut value = item.get_mut(name)?;
    for element in rest {
        value = match (element, value) {
            (PathElement::Attribute(name), AttributeValue::M(map)) => map.get_mut(name)?,
            (PathElement::Index(index), AttributeValue::L(list)) => list.get_mut(*index)?,
            _ => return None,
        };
    }
    Some(value)
}
