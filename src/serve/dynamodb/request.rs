//! Typed reads of a request's JSON members. A member of the wrong JSON type is a
//! `SerializationException`, as the AWS JSON protocol reports it; a missing required member a
//! `ValidationException` naming it, in DynamoDB's constraint wording.

use serde_json::{Map, Value};

use super::errors::{malformed, validation};
use crate::serve::error::ApiError;

#[derive(Clone, Copy, Debug)]
pub(crate) struct Request<'a>(pub(crate) &'a Value);

/// DynamoDB's parameter names are capitalized; its constraint messages name them in camelCase.
fn camel_case(field: &str) -> String {
    let mut chars = field.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

pub(crate) fn missing(field: &str) -> ApiError {
    validation(format!(
        "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
        camel_case(field)
    ))
}

impl<'a> Request<'a> {
    fn member(&self, field: &str) -> Option<&'a Value> {
        self.0.get(field).filter(|value| !value.is_null())
    }

    pub(crate) fn str(&self, field: &str) -> Result<Option<&'a str>, ApiError> {
        self.member(field)
            .map(|value| value.as_str().ok_or_else(|| malformed(field, "a string")))
            .transpose()
    }

    pub(crate) fn required_str(&self, field: &str) -> Result<&'a str, ApiError> {
        self.str(field)?.ok_or_else(|| missing(field))
    }

    pub(crate) fn object(&self, field: &str) -> Result<Option<&'a Map<String, Value>>, ApiError> {
        self.member(field)
            .map(|value| {
                value
                    .as_object()
                    .ok_or_else(|| malformed(field, "an object"))
            })
            .transpose()
    }

    pub(crate) fn required_object(&self, field: &str) -> Result<&'a Map<String, Value>, ApiError> {
        self.object(field)?.ok_or_else(|| missing(field))
    }

    pub(crate) fn required_value(&self, field: &str) -> Result<&'a Value, ApiError> {
        self.member(field).ok_or_else(|| missing(field))
    }

    pub(crate) fn array(&self, field: &str) -> Result<Option<&'a Vec<Value>>, ApiError> {
        self.member(field)
            .map(|value| value.as_array().ok_or_else(|| malformed(field, "a list")))
            .transpose()
    }

    pub(crate) fn required_array(&self, field: &str) -> Result<&'a Vec<Value>, ApiError> {
        self.array(field)?.ok_or_else(|| missing(field))
    }

    pub(crate) fn bool(&self, field: &str) -> Result<Option<bool>, ApiError> {
        self.member(field)
            .map(|value| value.as_bool().ok_or_else(|| malformed(field, "a boolean")))
            .transpose()
    }

    pub(crate) fn u64(&self, field: &str) -> Result<Option<u64>, ApiError> {
        self.member(field)
            .map(|value| value.as_u64().ok_or_else(|| malformed(field, "an integer")))
            .transpose()
    }

    /// A member limited to the values DynamoDB's enum allows.
    pub(crate) fn choice(
        &self,
        field: &str,
        allowed: &[&'static str],
    ) -> Result<Option<&'static str>, ApiError> {
        let Some(given) = self.str(field)? else {
            return Ok(None);
        };
        match allowed.iter().find(|choice| **choice == given) {
            Some(choice) => Ok(Some(choice)),
            None => Err(validation(format!(
                "1 validation error detected: Value '{given}' at '{}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                camel_case(field),
                allowed.join(", ")
            ))),
        }
    }

    /// Refuses the legacy parameters the expressions replaced: silently ignoring one would
    /// apply a write its caller meant to be conditional.
    pub(crate) fn reject_legacy(&self, fields: &[&str]) -> Result<(), ApiError> {
        match fields.iter().find(|field| self.member(field).is_some()) {
            Some(field) => Err(validation(format!(
                "{field} is a legacy parameter qsim serve does not support; use the expression parameters instead"
            ))),
            None => Ok(()),
        }
    }
}
