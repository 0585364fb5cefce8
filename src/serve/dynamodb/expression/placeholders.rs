//! `ExpressionAttributeNames` and `ExpressionAttributeValues`: what each `#name` and `:value`
//! stands for, and which of them the request's expressions used. DynamoDB rejects a request that
//! defines a placeholder none of its expressions uses, and one that uses an undefined one
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ExpressionAttributeNames.html>).

use std::collections::{BTreeMap, BTreeSet};

use crate::serve::dynamodb::errors::{invalid_expression, validation};
use crate::serve::dynamodb::request::Request;
use crate::serve::dynamodb::value::AttributeValue;
use crate::serve::error::ApiError;

#[derive(Debug, Default)]
pub(crate) struct Placeholders {
    names: BTreeMap<String, String>,
    values: BTreeMap<String, AttributeValue>,
    used_names: BTreeSet<String>,
    used_values: BTreeSet<String>,
}

impl Placeholders {
    /// The placeholders of a request (or of one item of a transaction).
    pub(crate) fn from_request(request: Request<'_>) -> Result<Placeholders, ApiError> {
        let mut placeholders = Placeholders::default();
        if let Some(names) = request.object("ExpressionAttributeNames")? {
            if names.is_empty() {
                return Err(validation("ExpressionAttributeNames must not be empty"));
            }
            for (placeholder, name) in names {
                if !placeholder.starts_with('#') {
                    return Err(validation(format!(
                        "ExpressionAttributeNames contains invalid key: Syntax error; key: \"{placeholder}\""
                    )));
                }
                let name = name.as_str().ok_or_else(|| {
                    crate::serve::dynamodb::errors::malformed("ExpressionAttributeNames", "strings")
                })?;
                placeholders
                    .names
                    .insert(placeholder.clone(), name.to_owned());
            }
        }
        if let Some(values) = request.object("ExpressionAttributeValues")? {
            if values.is_empty() {
                return Err(validation("ExpressionAttributeValues must not be empty"));
            }
            for (placeholder, value) in values {
                if !placeholder.starts_with(':') {
                    return Err(validation(format!(
                        "ExpressionAttributeValues contains invalid key: Syntax error; key: \"{placeholder}\""
                    )));
                }
                let value = AttributeValue::from_json(value).map_err(|error| {
                    validation(format!(
                        "ExpressionAttributeValues contains invalid value: {} for key {placeholder}",
                        error.message
                    ))
                })?;
                placeholders.values.insert(placeholder.clone(), value);
            }
        }
        Ok(placeholders)
    }

    pub(crate) fn name(&mut self, placeholder: &str, kind: &str) -> Result<String, ApiError> {
        match self.names.get(placeholder) {
            Some(name) => {
                self.used_names.insert(placeholder.to_owned());
                Ok(name.clone())
            }
            None => Err(invalid_expression(
                kind,
                format!(
                    "An expression attribute name used in the document path is not defined; attribute name: {placeholder}"
                ),
            )),
        }
    }

    pub(crate) fn value(
        &mut self,
        placeholder: &str,
        kind: &str,
    ) -> Result<AttributeValue, ApiError> {
        match self.values.get(placeholder) {
            Some(value) => {
                self.used_values.insert(placeholder.to_owned());
                Ok(value.clone())
            }
            None => Err(invalid_expression(
                kind,
                format!(
                    "An expression attribute value used in expression is not defined; attribute value: {placeholder}"
                ),
            )),
        }
    }

    /// Called once every expression of the request is parsed.
    pub(crate) fn check_all_used(&self) -> Result<(), ApiError> {
        let unused = |defined: Vec<&String>, used: &BTreeSet<String>| -> Vec<String> {
            defined
                .into_iter()
                .filter(|placeholder| !used.contains(*placeholder))
                .cloned()
                .collect()
        };
        let names = unused(self.names.keys().collect(), &self.used_names);
        if !names.is_empty() {
            return Err(validation(format!(
                "Value provided in ExpressionAttributeNames unused in expressions: keys: {{{}}}",
                names.join(", ")
            )));
        }
        let values = unused(self.values.keys().collect(), &self.used_values);
        if !values.is_empty() {
            return Err(validation(format!(
                "Value provided in ExpressionAttributeValues unused in expressions: keys: {{{}}}",
                values.join(", ")
            )));
        }
        Ok(())
    }
}
