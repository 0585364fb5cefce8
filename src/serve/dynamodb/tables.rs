//! Table operations: CreateTable, DescribeTable, ListTables, DeleteTable, the tag operations
//! and the TTL setting. Tables are ACTIVE as soon as they exist (no CREATING phase to wait out).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::DynamoDb;
use super::errors::{
    invalid_parameter, resource_not_found, table_exists, table_not_found, validation,
};
use super::request::{Request, missing};
use super::table::{KeyAttribute, KeyType, Table};
use crate::serve::error::ApiError;

/// Table names: 3 to 255 of `[a-zA-Z0-9_.-]`
/// (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_CreateTable.html>).
fn check_table_name(name: &str) -> Result<(), ApiError> {
    let constraint = if name.len() < 3 {
        "Member must have length greater than or equal to 3"
    } else if name.len() > 255 {
        "Member must have length less than or equal to 255"
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
    } else {
        return Ok(());
    };
    Err(validation(format!(
        "1 validation error detected: Value '{name}' at 'tableName' failed to satisfy constraint: {constraint}"
    )))
}

fn table_arn(name: &str) -> String {
    format!("arn:aws:dynamodb:us-east-1:000000000000:table/{name}")
}

fn string_field<'a>(entry: &'a Value, field: &str) -> Result<&'a str, ApiError> {
    Request(entry).required_str(field)
}

/// `Tags` of CreateTable and TagResource: `[{"Key": ..., "Value": ...}]`.
fn parse_tags(tags: &[Value]) -> Result<Vec<(String, String)>, ApiError> {
    tags.iter()
        .map(|tag| {
            Ok((
                string_field(tag, "Key")?.to_owned(),
                string_field(tag, "Value")?.to_owned(),
            ))
        })
        .collect()
}

impl DynamoDb {
    pub(super) fn create_table(
        &mut self,
        request: Request<'_>,
        now_ms: u64,
    ) -> Result<Value, ApiError> {
        let name = request.required_str("TableName")?;
        check_table_name(name)?;
        for unsupported in ["GlobalSecondaryIndexes", "LocalSecondaryIndexes"] {
            if request
                .array(unsupported)?
                .is_some_and(|indexes| !indexes.is_empty())
            {
                return Err(validation(format!(
                    "{unsupported}: qsim serve does not support secondary indexes"
                )));
            }
        }
        let mut definitions = Vec::new();
        for definition in request.required_array("AttributeDefinitions")? {
            let attribute = string_field(definition, "AttributeName")?;
            let kind = string_field(definition, "AttributeType")?;
            let kind = KeyType::parse(kind).ok_or_else(|| {
                validation(format!(
                    "1 validation error detected: Value '{kind}' at 'attributeDefinitions.1.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]"
                ))
            })?;
            definitions.push((attribute.to_owned(), kind));
        }
        let key_schema = request.required_array("KeySchema")?;
        if key_schema.is_empty() || key_schema.len() > 2 {
            return Err(validation(format!(
                "1 validation error detected: Value at 'keySchema' failed to satisfy constraint: Member must have length {} 2",
                if key_schema.is_empty() {
                    "greater than or equal to 1, and at most"
                } else {
                    "less than or equal to"
                }
            )));
        }
        let mut keys = Vec::new();
        for (position, element) in key_schema.iter().enumerate() {
            let attribute = string_field(element, "AttributeName")?;
            let key_type = string_field(element, "KeyType")?;
            let expected = if position == 0 { "HASH" } else { "RANGE" };
            if key_type != expected {
                return Err(validation(format!(
                    "Invalid KeySchema: The {} KeySchemaElement is not a {expected} key type",
                    if position == 0 { "first" } else { "second" }
                )));
            }
            keys.push(attribute);
        }
        if keys.len() == 2 && keys[0] == keys[1] {
            return Err(invalid_parameter(
                "Both the Hash Key and the Range Key element in the KeySchema have the same name",
            ));
        }
        let key_attribute = |name: &str| {
            definitions
                .iter()
                .find(|(defined, _)| defined == name)
                .map(|(_, kind)| KeyAttribute {
                    name: name.to_owned(),
                    kind: *kind,
                })
        };
        let undefined: Vec<&str> = keys
            .iter()
            .copied()
            .filter(|key| key_attribute(key).is_none())
            .collect();
        let (Some(partition_key), true) = (key_attribute(keys[0]), undefined.is_empty()) else {
            let defined: Vec<&str> = definitions.iter().map(|(name, _)| name.as_str()).collect();
            return Err(invalid_parameter(format!(
                "Some index key attributes are not defined in AttributeDefinitions. Keys: [{}], AttributeDefinitions: [{}]",
                undefined.join(", "),
                defined.join(", ")
            )));
        };
        let sort_key = keys.get(1).and_then(|key| key_attribute(key));
        if definitions.len() != keys.len() {
            return Err(invalid_parameter(
                "Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
            ));
        }
        let billing_mode = request
            .choice("BillingMode", &["PROVISIONED", "PAY_PER_REQUEST"])?
            .unwrap_or("PROVISIONED");
        let throughput = match (billing_mode, request.object("ProvisionedThroughput")?) {
            ("PROVISIONED", Some(_)) => {
                let units = Request(request.required_value("ProvisionedThroughput")?);
                match (
                    units.u64("ReadCapacityUnits")?,
                    units.u64("WriteCapacityUnits")?,
                ) {
                    (Some(read), Some(write)) => (read, write),
                    _ => return Err(missing("ProvisionedThroughput")),
                }
            }
            ("PROVISIONED", None) => {
                return Err(invalid_parameter(
                    "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
                ));
            }
            (_, Some(_)) => {
                return Err(invalid_parameter(
                    "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
                ));
            }
            (_, None) => (0, 0),
        };
        let tags = parse_tags(request.array("Tags")?.map_or(&[][..], Vec::as_slice))?;
        if self.tables.contains_key(name) {
            return Err(table_exists(name));
        }
        self.tables_created += 1;
        let table = Table {
            name: name.to_owned(),
            arn: table_arn(name),
            id: format!("00000000-0000-4000-8000-{:012}", self.tables_created),
            created_ms: now_ms,
            partition_key,
            sort_key,
            attribute_definitions: definitions,
            billing_mode,
            throughput,
            tags: tags.into_iter().collect(),
            ttl_attribute: None,
            items: BTreeMap::new(),
        };
        let description = table.describe("ACTIVE");
        self.tables.insert(name.to_owned(), table);
        Ok(json!({ "TableDescription": description }))
    }

    pub(super) fn describe_table(&self, request: Request<'_>) -> Result<Value, ApiError> {
        let name = request.required_str("TableName")?;
        let table = self.tables.get(name).ok_or_else(|| table_not_found(name))?;
        Ok(json!({ "Table": table.describe("ACTIVE") }))
    }

    pub(super) fn delete_table(&mut self, request: Request<'_>) -> Result<Value, ApiError> {
        let name = request.required_str("TableName")?;
        let table = self
            .tables
            .remove(name)
            .ok_or_else(|| table_not_found(name))?;
        Ok(json!({ "TableDescription": table.describe("DELETING") }))
    }

    /// Names in order, a page of `Limit` (1 to 100) after `ExclusiveStartTableName`.
    pub(super) fn list_tables(&self, request: Request<'_>) -> Result<Value, ApiError> {
        let limit = request.u64("Limit")?.unwrap_or(100);
        if !(1..=100).contains(&limit) {
            return Err(validation(format!(
                "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value {} 100",
                if limit == 0 {
                    "greater than or equal to 1, and at most"
                } else {
                    "less than or equal to"
                }
            )));
        }
        let start = request.str("ExclusiveStartTableName")?;
        let mut names = self
            .tables
            .keys()
            .filter(|name| start.is_none_or(|start| name.as_str() > start));
        let page: Vec<&String> = names.by_ref().take(limit as usize).collect();
        let mut response = json!({ "TableNames": page });
        if names.next().is_some()
            && let Some(last) = page.last()
        {
            response["LastEvaluatedTableName"] = json!(last);
        }
        Ok(response)
    }

    fn table_by_arn(&mut self, request: Request<'_>) -> Result<&mut Table, ApiError> {
        let arn = request.required_str("ResourceArn")?;
        self.tables
            .values_mut()
            .find(|table| table.arn == arn)
            .ok_or_else(resource_not_found)
    }

    pub(super) fn tag_resource(&mut self, request: Request<'_>) -> Result<Value, ApiError> {
        let tags = parse_tags(request.required_array("Tags")?)?;
        self.table_by_arn(request)?.tags.extend(tags);
        Ok(json!({}))
    }

    pub(super) fn untag_resource(&mut self, request: Request<'_>) -> Result<Value, ApiError> {
        let keys = request.required_array("TagKeys")?;
        let table = self.table_by_arn(request)?;
        for key in keys {
            if let Some(key) = key.as_str() {
                table.tags.remove(key);
            }
        }
        Ok(json!({}))
    }

    /// All tags in one page, ordered by key.
    pub(super) fn list_tags_of_resource(
        &mut self,
        request: Request<'_>,
    ) -> Result<Value, ApiError> {
        let table = self.table_by_arn(request)?;
        let tags: Vec<Value> = table
            .tags
            .iter()
            .map(|(key, value)| json!({"Key": key, "Value": value}))
            .collect();
        Ok(json!({ "Tags": tags }))
    }

    pub(super) fn update_time_to_live(&mut self, request: Request<'_>) -> Result<Value, ApiError> {
        let name = request.required_str("TableName")?;
        let specification = request.required_value("TimeToLiveSpecification")?;
        let spec = Request(specification);
        let enabled = spec
            .bool("Enabled")?
            .ok_or_else(|| missing("TimeToLiveSpecification.Enabled"))?;
        let attribute = spec.required_str("AttributeName")?;
        let table = self.table_mut(name)?;
        match (&table.ttl_attribute, enabled) {
            (Some(_), true) => return Err(validation("TimeToLive is already enabled")),
            (None, false) => return Err(validation("TimeToLive is already disabled")),
            _ => {}
        }
        table.ttl_attribute = enabled.then(|| attribute.to_owned());
        Ok(json!({ "TimeToLiveSpecification": {"Enabled": enabled, "AttributeName": attribute} }))
    }

    pub(super) fn describe_time_to_live(&self, request: Request<'_>) -> Result<Value, ApiError> {
        let name = request.required_str("TableName")?;
        let table = self.tables.get(name).ok_or_else(|| table_not_found(name))?;
        let description = match &table.ttl_attribute {
            Some(attribute) => json!({"TimeToLiveStatus": "ENABLED", "AttributeName": attribute}),
            None => json!({"TimeToLiveStatus": "DISABLED"}),
        };
        Ok(json!({ "TimeToLiveDescription": description }))
    }
}
