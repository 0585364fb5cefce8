//! `ConsumedCapacity`, returned when a request sets `ReturnConsumedCapacity` to TOTAL or
//! INDEXES, with DynamoDB's rounding
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html>):
//! a write costs one unit per started 1 KB of the larger of the item before and after it, a
//! read one unit per started 4 KB (half that when eventually consistent; a Query or Scan page
//! rounds the sum of the items it examined), a transaction twice that; never less than one
//! unit for a write or half a unit for a read.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::request::Request;
use super::value::{Item, item_size};
use crate::serve::error::ApiError;

const WRITE_UNIT_BYTES: usize = 1024;
const READ_UNIT_BYTES: usize = 4096;

/// Capacity units a write of `old` to `new` consumes.
pub(crate) fn write_units(old: Option<&Item>, new: Option<&Item>) -> f64 {
    let size = old.map_or(0, item_size).max(new.map_or(0, item_size));
    size.div_ceil(WRITE_UNIT_BYTES).max(1) as f64
}

/// Capacity units a read of `bytes` consumes.
pub(crate) fn read_units(bytes: usize, consistent: bool) -> f64 {
    let units = bytes.div_ceil(READ_UNIT_BYTES).max(1) as f64;
    if consistent { units } else { units / 2.0 }
}

/// What a request asked for: `None` for NONE or when absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Report {
    Total,
    Indexes,
}

pub(crate) fn requested(request: Request<'_>) -> Result<Option<Report>, ApiError> {
    Ok(
        match request.choice("ReturnConsumedCapacity", &["INDEXES", "TOTAL", "NONE"])? {
            Some("TOTAL") => Some(Report::Total),
            Some("INDEXES") => Some(Report::Indexes),
            _ => None,
        },
    )
}

/// The `ConsumedCapacity` of one table.
pub(crate) fn consumed(report: Report, table: &str, units: f64) -> Value {
    let mut capacity = json!({ "TableName": table, "CapacityUnits": units });
    if report == Report::Indexes {
        capacity["Table"] = json!({ "CapacityUnits": units });
    }
    capacity
}

/// Adds `ConsumedCapacity` to a single-table response when it was asked for.
pub(crate) fn add_to(response: &mut Value, report: Option<Report>, table: &str, units: f64) {
    if let Some(report) = report {
        response["ConsumedCapacity"] = consumed(report, table, units);
    }
}

/// Adds the per-table list of a batch or transaction, in table-name order.
pub(crate) fn add_list_to(
    response: &mut Value,
    report: Option<Report>,
    units: &BTreeMap<String, f64>,
) {
    if let Some(report) = report {
        response["ConsumedCapacity"] = units
            .iter()
            .map(|(table, units)| consumed(report, table, *units))
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::dynamodb::value::AttributeValue;

    fn item_of(bytes: usize) -> Item {
        // "b" (1 byte of name) plus a string of bytes - 1.
        Item::from([("b".to_owned(), AttributeValue::S("x".repeat(bytes - 1)))])
    }

    #[test]
    fn writes_round_up_per_kilobyte_of_the_larger_item() {
        assert_eq!(write_units(None, None), 1.0);
        assert_eq!(write_units(None, Some(&item_of(1024))), 1.0);
        assert_eq!(write_units(None, Some(&item_of(1025))), 2.0);
        assert_eq!(write_units(Some(&item_of(3000)), Some(&item_of(10))), 3.0);
    }

    #[test]
    fn reads_round_up_per_four_kilobytes_and_halve_when_eventual() {
        assert_eq!(read_units(0, true), 1.0);
        assert_eq!(read_units(4096, true), 1.0);
        assert_eq!(read_units(4097, true), 2.0);
        assert_eq!(read_units(4097, false), 1.0);
        assert_eq!(read_units(10, false), 0.5);
    }
}
