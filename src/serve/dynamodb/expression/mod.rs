//! DynamoDB's expression language: the [`lexer`], the [`parser`] (into the [`ast`], resolving
//! [`placeholders`] and refusing [`reserved`] words), the condition [`evaluate`]r and the
//! [`update`] applier.

pub(crate) mod ast;
pub(crate) mod evaluate;
mod lexer;
pub(crate) mod parser;
pub(crate) mod placeholders;
mod reserved;
pub(crate) mod update;

use ast::{Condition, Path, Update};
use parser::{parse_condition, parse_projection, parse_update};
use placeholders::Placeholders;

use super::errors::validation;
use super::request::Request;
use crate::serve::error::ApiError;

/// Every expression of one request (or one transaction item), parsed against its placeholders.
#[derive(Debug, Default)]
pub(crate) struct Expressions {
    pub(crate) condition: Option<Condition>,
    pub(crate) update: Option<Update>,
    pub(crate) projection: Option<Vec<Path>>,
    pub(crate) filter: Option<Condition>,
    pub(crate) key_condition: Option<Condition>,
}

const CONDITION_FIELDS: [&str; 3] = [
    "ConditionExpression",
    "FilterExpression",
    "KeyConditionExpression",
];

impl Expressions {
    pub(crate) fn parse(request: Request<'_>) -> Result<Expressions, ApiError> {
        let mut placeholders = Placeholders::from_request(request)?;
        let mut expressions = Expressions::default();
        let mut any = false;
        for field in CONDITION_FIELDS {
            if let Some(text) = request.str(field)? {
                any = true;
                let condition = Some(parse_condition(text, field, &mut placeholders)?);
                match field {
                    "ConditionExpression" => expressions.condition = condition,
                    "FilterExpression" => expressions.filter = condition,
                    _ => expressions.key_condition = condition,
                }
            }
        }
        if let Some(text) = request.str("UpdateExpression")? {
            any = true;
            expressions.update = Some(parse_update(text, &mut placeholders)?);
        }
        if let Some(text) = request.str("ProjectionExpression")? {
            any = true;
            expressions.projection = Some(parse_projection(text, &mut placeholders)?);
        }
        if !any {
            for field in ["ExpressionAttributeNames", "ExpressionAttributeValues"] {
                if request.object(field)?.is_some() {
                    return Err(validation(format!(
                        "{field} can only be specified when using expressions"
                    )));
                }
            }
        }
        placeholders.check_all_used()?;
        Ok(expressions)
    }
}
