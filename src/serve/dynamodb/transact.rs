//! TransactWriteItems and TransactGetItems
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html>).
//!
//! A write transaction plans every item against the same state, then commits all of them or
//! none: one failed condition cancels it with a `CancellationReasons` entry per item, in
//! request order (`None` for the items that were fine).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::DynamoDb;
use super::capacity;
use super::errors::{CONDITION_FAILED_MESSAGE, validation};
use super::expression::Expressions;
use super::items::WriteKind;
use super::request::Request;
use crate::serve::error::ApiError;

/// The most items in one transaction (same page).
const MAX_TRANSACTION_ITEMS: usize = 100;

/// How long a client request token makes a transaction idempotent after it completed: "a client
/// request token is valid for 10 minutes" (same page, `ClientRequestToken`).
const TOKEN_VALID_MS: u64 = 10 * 60 * 1000;

fn transact_items<'a>(request: Request<'a>, field_name: &str) -> Result<&'a Vec<Value>, ApiError> {
    let items = request.required_array("TransactItems")?;
    if items.is_empty() || items.len() > MAX_TRANSACTION_ITEMS {
        return Err(validation(format!(
            "1 validation error detected: Value at '{field_name}' failed to satisfy constraint: Member must have length {}",
            if items.is_empty() {
                "greater than or equal to 1"
            } else {
                "less than or equal to 100"
            }
        )));
    }
    Ok(items)
}

impl DynamoDb {
    /// TransactWriteItems with its `ClientRequestToken`: the same request again within the
    /// token's validity succeeds without being applied again; another request with that token
    /// is an `IdempotentParameterMismatchException` (same page).
    pub(super) fn idempotent_transact_write_items(
        &mut self,
        request: Request<'_>,
        now_ms: u64,
    ) -> Result<Value, ApiError> {
        let Some(token) = request.str("ClientRequestToken")? else {
            return self.transact_write_items(request);
        };
        self.transaction_tokens
            .retain(|_, (_, completed)| now_ms.saturating_sub(*completed) < TOKEN_VALID_MS);
        // What must repeat exactly: the request, less what only shapes the answer.
        let mut essence = request.0.clone();
        if let Some(fields) = essence.as_object_mut() {
            fields.remove("ReturnConsumedCapacity");
            fields.remove("ReturnItemCollectionMetrics");
        }
        if let Some((earlier, _)) = self.transaction_tokens.get(token) {
            return match *earlier == essence {
                true => Ok(json!({})),
                false => Err(ApiError::client(
                    "IdempotentParameterMismatchException",
                    "The request uses the same client token as a previous, but non-identical request.",
                )),
            };
        }
        let response = self.transact_write_items(request)?;
        self.transaction_tokens
            .insert(token.to_owned(), (essence, now_ms));
        Ok(response)
    }

    pub(super) fn transact_write_items(&mut self, request: Request<'_>) -> Result<Value, ApiError> {
        let items = transact_items(request, "transactItems")?;
        let mut planned = Vec::with_capacity(items.len());
        let mut seen = BTreeSet::new();
        for item in items {
            let operations: Vec<(WriteKind, &Value)> = [
                ("ConditionCheck", WriteKind::ConditionCheck),
                ("Put", WriteKind::Put),
                ("Delete", WriteKind::Delete),
                ("Update", WriteKind::Update),
            ]
            .into_iter()
            .filter_map(|(field, kind)| item.get(field).map(|member| (kind, member)))
            .collect();
            let [(kind, member)] = operations.as_slice() else {
                return Err(validation(
                    "TransactItems can only contain one of Check, Put, Update or Delete",
                ));
            };
            let write = self.plan_write(*kind, Request(member))?;
            if !seen.insert((write.table.clone(), write.key.clone())) {
                return Err(validation(
                    "Transaction request cannot include multiple operations on one item",
                ));
            }
            planned.push((*kind, write));
        }
        if planned.iter().any(|(_, write)| !write.condition_holds) {
            let reasons: Vec<Value> = planned
                .iter()
                .map(|(_, write)| {
                    if write.condition_holds {
                        return json!({ "Code": "None" });
                    }
                    let mut reason = json!({
                        "Code": "ConditionalCheckFailed",
                        "Message": CONDITION_FAILED_MESSAGE,
                    });
                    if let Some(item) = write.failed_item() {
                        reason["Item"] = item;
                    }
                    reason
                })
                .collect();
            let codes: Vec<&str> = reasons
                .iter()
                .map(|reason| reason["Code"].as_str().unwrap_or_default())
                .collect();
            return Err(ApiError::client(
                "TransactionCanceledException",
                format!(
                    "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
                    codes.join(", ")
                ),
            )
            .with("CancellationReasons", Value::Array(reasons)));
        }
        // A transaction costs twice the units of its writes (same page as MAX_TRANSACTION_ITEMS).
        let mut units = BTreeMap::new();
        for (kind, write) in &planned {
            if *kind != WriteKind::ConditionCheck {
                self.commit(write);
            }
            *units.entry(write.table.clone()).or_insert(0.0) += 2.0 * write.units();
        }
        let mut response = json!({});
        capacity::add_list_to(&mut response, capacity::requested(request)?, &units);
        Ok(response)
    }

    pub(super) fn transact_get_items(&self, request: Request<'_>) -> Result<Value, ApiError> {
        let items = transact_items(request, "transactItems")?;
        let report = capacity::requested(request)?;
        let mut responses = Vec::with_capacity(items.len());
        let mut units = BTreeMap::new();
        for item in items {
            let get = Request(item).required_value("Get")?;
            let get = Request(get);
            let expressions = Expressions::parse(get)?;
            let table = get.required_str("TableName")?;
            let read = self.read(
                table,
                get.required_value("Key")?,
                expressions.projection.as_deref(),
            )?;
            *units.entry(table.to_owned()).or_insert(0.0) +=
                2.0 * capacity::read_units(read.bytes, true);
            responses.push(match read.item {
                Some(item) => json!({ "Item": item }),
                None => json!({}),
            });
        }
        let mut response = json!({ "Responses": responses });
        capacity::add_list_to(&mut response, report, &units);
        Ok(response)
    }
}
