//! The DynamoDB half of [`AwsBackend`]: the two per-run tables, the conditional writes of
//! the idempotency patterns, and the transactional write of the outbox pattern.
//!
//! Invariants: reads are strongly consistent (GetItem and Scan with ConsistentRead), so a check
//! right after a write sees it, as on the simulator; every key goes through
//! [`ItemKeys`](super::item_keys::ItemKeys), so on
//! pre-provisioned tables, which every run shares, a run reads and writes only its own items.

use std::time::Duration;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, Put, ReturnValue,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TableStatus, Tag, TransactWriteItem,
};
use tokio::time::{Instant, sleep};

use super::backend::{AwsBackend, CreatedTable};
use super::call::Call;
use super::items::{
    Attributes, KEY, UpdateExpression, item_from_attributes, item_to_attributes, key_attributes,
    key_of,
};
use super::naming::{MANAGED_TAG, RUN_TAG};
use crate::backend::{
    BackendError, BackendErrorKind, Item, PutOutcome, Table, Update, UpdateOutcome,
};

/// New on-demand tables take seconds on AWS; give up well before a user would.
const TABLE_ACTIVE_TIMEOUT: Duration = Duration::from_secs(300);
const TABLE_POLL_INTERVAL: Duration = Duration::from_millis(500);

impl AwsBackend {
    /// Creates this run's tables, or checks the pre-provisioned ones. The last provisioning
    /// step of a run, so it also waits for the purges of pre-provisioned queues to settle.
    pub(super) async fn create_tables(&self) -> Result<(), BackendError> {
        let tables = [Table::Status, Table::SideEffects];
        if self.provisioned.is_some() {
            for table in tables {
                self.check_provisioned_table(&self.table_name(table))
                    .await?;
            }
        } else {
            for table in tables {
                self.create_table(table).await?;
            }
            for table in tables {
                self.wait_until_active(&self.table_name(table)).await?;
            }
        }
        self.settle_purges().await;
        Ok(())
    }

    async fn create_table(&self, table: Table) -> Result<(), BackendError> {
        let name = self.names.table(table);
        let call = self.call("CreateTable", &name);
        let invalid = |error| call.build_error(error);
        let key_definition = AttributeDefinition::builder()
            .attribute_name(KEY)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(invalid)?;
        let key_schema = KeySchemaElement::builder()
            .attribute_name(KEY)
            .key_type(KeyType::Hash)
            .build()
            .map_err(invalid)?;
        let managed = Tag::builder()
            .key(MANAGED_TAG)
            .value("true")
            .build()
            .map_err(invalid)?;
        let run = Tag::builder()
            .key(RUN_TAG)
            .value(self.names.run_id())
            .build()
            .map_err(invalid)?;
        call.send(
            self.dynamodb
                .create_table()
                .table_name(&name)
                .attribute_definitions(key_definition)
                .key_schema(key_schema)
                .billing_mode(BillingMode::PayPerRequest)
                .tags(managed)
                .tags(run)
                .send(),
        )
        .await?;
        self.tables.borrow_mut().push(CreatedTable {
            name,
            deleted: false,
        });
        Ok(())
    }

    pub(super) async fn wait_until_active(&self, name: &str) -> Result<(), BackendError> {
        let deadline = Instant::now() + TABLE_ACTIVE_TIMEOUT;
        let describe = self.call("DescribeTable", name);
        loop {
            let output = describe
                .send(self.dynamodb.describe_table().table_name(name).send())
                .await?;
            let status = output.table().and_then(|table| table.table_status());
            if status == Some(&TableStatus::Active) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(describe.error(BackendErrorKind::Service(format!(
                    "the table is not ACTIVE after {} s (status {status:?})",
                    TABLE_ACTIVE_TIMEOUT.as_secs()
                ))));
            }
            sleep(TABLE_POLL_INTERVAL).await;
        }
    }

    pub(super) async fn put_if_absent(
        &self,
        table: Table,
        key: &str,
        item: &Item,
    ) -> Result<PutOutcome, BackendError> {
        let name = self.table_name(table);
        let call = self.call("PutItem", &name);
        let result = call
            .send_raw(
                Self::table_call_retried_by_engine(
                    self.dynamodb
                        .put_item()
                        .table_name(&name)
                        .set_item(Some(item_to_attributes(&self.keys.stored(key), item)))
                        .condition_expression("attribute_not_exists(#pk)")
                        .expression_attribute_names("#pk", KEY)
                        .return_values_on_condition_check_failure(
                            ReturnValuesOnConditionCheckFailure::AllOld,
                        )
                        .customize(),
                )
                .send(),
            )
            .await;
        let error = match result {
            Ok(_) => return Ok(PutOutcome::Created),
            Err(error) => error,
        };
        let returned = match error.as_service_error() {
            Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                Some(failed.item().cloned())
            }
            _ => None,
        };
        match returned {
            None => Err(call.sdk_error(error)),
            Some(Some(existing)) => Ok(PutOutcome::Exists(parse_item(&call, &existing)?)),
            // An endpoint that ignores ReturnValuesOnConditionCheckFailure: read the item.
            Some(None) => match self.get(table, key).await? {
                Some(existing) => Ok(PutOutcome::Exists(existing)),
                None => Err(call
                    .error(BackendErrorKind::Service(format!(
                        "attribute_not_exists failed for {key:?} but the item does not exist"
                    )))
                    .with_source(error)),
            },
        }
    }

    pub(super) async fn update(
        &self,
        table: Table,
        key: &str,
        update: &Update,
    ) -> Result<UpdateOutcome, BackendError> {
        let name = self.table_name(table);
        let call = self.call("UpdateItem", &name);
        let expression = UpdateExpression::new(update);
        let has_names = !expression.names.is_empty();
        let has_values = !expression.values.is_empty();
        let result = call
            .send_raw(
                Self::table_call_retried_by_engine(
                    self.dynamodb
                        .update_item()
                        .table_name(&name)
                        .set_key(Some(key_attributes(&self.keys.stored(key))))
                        .set_update_expression(expression.update)
                        .set_condition_expression(expression.condition)
                        .set_expression_attribute_names(has_names.then_some(expression.names))
                        .set_expression_attribute_values(has_values.then_some(expression.values))
                        .return_values(ReturnValue::AllNew)
                        .return_values_on_condition_check_failure(
                            ReturnValuesOnConditionCheckFailure::AllOld,
                        )
                        .customize(),
                )
                .send(),
            )
            .await;
        match result {
            Ok(output) => {
                let attributes = output.attributes().cloned().unwrap_or_default();
                Ok(UpdateOutcome::Updated(parse_item(&call, &attributes)?))
            }
            Err(error) => match error.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    match failed.item() {
                        Some(current) => Ok(UpdateOutcome::ConditionFailed(Some(parse_item(
                            &call, current,
                        )?))),
                        // Missing item, or an endpoint that does not return it: read to know.
                        None => Ok(UpdateOutcome::ConditionFailed(self.get(table, key).await?)),
                    }
                }
                _ => Err(call.sdk_error(error)),
            },
        }
    }

    /// TransactWriteItems of one Put per item: DynamoDB applies all of them or none.
    pub(super) async fn transact_put(
        &self,
        table: Table,
        items: &[(String, Item)],
    ) -> Result<(), BackendError> {
        let name = self.table_name(table);
        let call = self.call("TransactWriteItems", &name);
        let mut writes = Vec::with_capacity(items.len());
        for (key, item) in items {
            let put = Put::builder()
                .table_name(&name)
                .set_item(Some(item_to_attributes(&self.keys.stored(key), item)))
                .build()
                .map_err(|error| call.error(BackendErrorKind::Service(error.to_string())))?;
            writes.push(TransactWriteItem::builder().put(put).build());
        }
        call.send(
            Self::table_call_retried_by_engine(
                self.dynamodb
                    .transact_write_items()
                    .set_transact_items(Some(writes))
                    .customize(),
            )
            .send(),
        )
        .await?;
        Ok(())
    }

    /// DeleteItem without a condition: a missing item is no error.
    pub(super) async fn delete_item(&self, table: Table, key: &str) -> Result<(), BackendError> {
        let name = self.table_name(table);
        let call = self.call("DeleteItem", &name);
        call.send(
            Self::table_call_retried_by_engine(
                self.dynamodb
                    .delete_item()
                    .table_name(&name)
                    .set_key(Some(key_attributes(&self.keys.stored(key))))
                    .customize(),
            )
            .send(),
        )
        .await?;
        Ok(())
    }

    pub(super) async fn get(&self, table: Table, key: &str) -> Result<Option<Item>, BackendError> {
        let name = self.table_name(table);
        let call = self.call("GetItem", &name);
        let output = call
            .send(
                Self::table_call_retried_by_engine(
                    self.dynamodb
                        .get_item()
                        .table_name(&name)
                        .set_key(Some(key_attributes(&self.keys.stored(key))))
                        .consistent_read(true)
                        .customize(),
                )
                .send(),
            )
            .await?;
        output
            .item()
            .map(|attributes| parse_item(&call, attributes))
            .transpose()
    }

    /// Every item of this run, sorted by key: the whole table, or on a shared table the items
    /// under this run's prefix (filtered on the server, page by page, and checked again here).
    pub(super) async fn scan(&self, table: Table) -> Result<Vec<(String, Item)>, BackendError> {
        let name = self.table_name(table);
        let call = self.call("Scan", &name);
        let mut items = Vec::new();
        let mut start_key: Option<Attributes> = None;
        loop {
            let mut request = self
                .dynamodb
                .scan()
                .table_name(&name)
                .consistent_read(true)
                .set_exclusive_start_key(start_key.take());
            if let Some(prefix) = self.keys.scan_prefix() {
                request = request
                    .filter_expression("begins_with(#pk, :run)")
                    .expression_attribute_names("#pk", KEY)
                    .expression_attribute_values(":run", AttributeValue::S(prefix.to_owned()));
            }
            let output = call.send(request.send()).await?;
            for attributes in output.items() {
                let stored = key_of(attributes).map_err(|what| invalid_item(&call, what))?;
                if let Some(key) = self.keys.engine_key(&stored) {
                    items.push((key.to_owned(), parse_item(&call, attributes)?));
                }
            }
            // A filtered page can be empty and still have a next one.
            match output.last_evaluated_key() {
                Some(last) if !last.is_empty() => start_key = Some(last.clone()),
                _ => break,
            }
        }
        items.sort_by(|(a, _), (b, _)| a.cmp(b));
        Ok(items)
    }
}

fn parse_item(call: &Call<'_>, attributes: &Attributes) -> Result<Item, BackendError> {
    item_from_attributes(attributes).map_err(|what| invalid_item(call, what))
}

fn invalid_item(call: &Call<'_>, what: String) -> BackendError {
    call.error(BackendErrorKind::Service(format!(
        "an item qsim cannot read: {what}"
    )))
}
