//! What a run's API calls would cost on AWS: its billed requests priced by one table.
//!
//! Prices: us-east-1 list prices after the free tiers, as AWS publishes them on
//! <https://aws.amazon.com/sqs/pricing/> and <https://aws.amazon.com/dynamodb/pricing/on-demand/>
//! (these machines cannot reach those pages: the figures were taken from secondary sources that
//! quote them, cloudburn.io's "Amazon SQS Pricing" guide of March 2026 among them, in December
//! 2026; check them before trusting a cost to the cent). SQS: $0.40 per million requests on standard queues
//! (up to 100 billion a month), $0.50 on FIFO queues, each 64 KiB of a request's payload billed
//! as one request. DynamoDB on-demand: $0.625 per million write request units, $0.125 per
//! million read request units; qsim's items are far below the 1 KB a write unit covers and the
//! 4 KB a strongly consistent read unit covers, so each call is one unit, except a
//! TransactWriteItems call, two units per item (see
//! [`crate::backend::faults::TRANSACT_WRITE_UNITS_PER_ITEM`]).
//! Not included: the monthly free tiers, data transfer, storage.

use std::collections::BTreeMap;

/// US dollars per million SQS requests on a standard queue.
pub const SQS_STANDARD_PER_MILLION: f64 = 0.40;
/// US dollars per million SQS requests on a FIFO queue.
pub const SQS_FIFO_PER_MILLION: f64 = 0.50;
/// US dollars per million DynamoDB on-demand write request units.
pub const DYNAMODB_WRITE_PER_MILLION: f64 = 0.625;
/// US dollars per million DynamoDB on-demand read request units.
pub const DYNAMODB_READ_PER_MILLION: f64 = 0.125;

/// The price of one billed request of `operation` (an API name) in US dollars.
fn price(operation: &str, fifo: bool) -> f64 {
    let per_million = match operation {
        "PutItem" | "UpdateItem" | "DeleteItem" | "TransactWriteItems" => {
            DYNAMODB_WRITE_PER_MILLION
        }
        "GetItem" | "Query" | "Scan" => DYNAMODB_READ_PER_MILLION,
        _ if fifo => SQS_FIFO_PER_MILLION,
        _ => SQS_STANDARD_PER_MILLION,
    };
    per_million / 1_000_000.0
}

/// The estimated cost in US dollars of `billed` requests per API operation.
pub fn estimate<'a>(billed: impl IntoIterator<Item = (&'a str, u64)>, fifo: bool) -> f64 {
    billed
        .into_iter()
        .map(|(operation, requests)| requests as f64 * price(operation, fifo))
        .sum()
}

/// [`estimate`] of a run's billed requests.
pub fn of_run(billed: &BTreeMap<&'static str, u64>, fifo: bool) -> f64 {
    estimate(billed.iter().map(|(op, n)| (*op, *n)), fifo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqs_and_dynamodb_requests_are_priced_apart() {
        let billed = [
            ("ReceiveMessage", 1_000_000),
            ("PutItem", 1_000_000),
            ("GetItem", 2_000_000),
        ];
        let standard = estimate(billed, false);
        assert!(
            (standard - (0.40 + 0.625 + 0.25)).abs() < 1e-9,
            "{standard}"
        );
        let fifo = estimate(billed, true);
        assert!((fifo - (0.50 + 0.625 + 0.25)).abs() < 1e-9, "{fifo}");
    }

    #[test]
    fn transaction_units_and_deletes_are_priced_as_dynamodb_writes() {
        let billed = [("TransactWriteItems", 2_000_000), ("DeleteItem", 1_000_000)];
        let cost = estimate(billed, true);
        assert!((cost - 3.0 * 0.625).abs() < 1e-9, "{cost}");
    }
}
