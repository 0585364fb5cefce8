//! SQS API limits the simulator enforces, with the error names SQS uses, so a scenario that
//! breaks one fails here as it would against AWS.

use std::time::Duration;

use crate::backend::{BackendErrorKind, OutgoingMessage};
use crate::sqs::facts::{MAX_BATCH, MAX_BATCH_ENTRY_ID, MAX_PAYLOAD_BYTES};

pub(super) fn invalid(what: &str) -> BackendErrorKind {
    BackendErrorKind::InvalidParameter(what.to_owned())
}

/// EmptyBatchRequest / TooManyEntriesInBatchRequest.
pub(super) fn batch_size(len: usize) -> Result<(), BackendErrorKind> {
    match len {
        0 => Err(invalid("EmptyBatchRequest: the batch has no entries")),
        1..=MAX_BATCH => Ok(()),
        _ => Err(invalid(&format!(
            "TooManyEntriesInBatchRequest: a batch holds at most {MAX_BATCH} entries"
        ))),
    }
}

/// The whole-request checks of SendMessageBatch: size, entry ids, total payload.
pub(super) fn send_batch(batch: &[OutgoingMessage]) -> Result<(), BackendErrorKind> {
    batch_size(batch.len())?;
    for (index, message) in batch.iter().enumerate() {
        if !valid_entry_id(&message.entry_id) {
            return Err(invalid(&format!(
                "InvalidBatchEntryId: entry ids are 1 to {MAX_BATCH_ENTRY_ID} characters of \
                 [A-Za-z0-9_-]"
            )));
        }
        if batch[..index]
            .iter()
            .any(|m| m.entry_id == message.entry_id)
        {
            return Err(invalid("BatchEntryIdsNotDistinct: two entries share an id"));
        }
    }
    let total: usize = batch.iter().map(|m| m.body.len()).sum();
    if total > MAX_PAYLOAD_BYTES {
        return Err(BackendErrorKind::MessageTooLarge);
    }
    Ok(())
}

fn valid_entry_id(id: &str) -> bool {
    (1..=MAX_BATCH_ENTRY_ID).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// InvalidMessageContents: only #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF. A `str`
/// cannot hold surrogates, so what is left to reject is control characters and U+FFFE / U+FFFF
/// (UTF-8 `EF BF BE` / `EF BF BF`; `EF` only ever leads a character, so one pass over the bytes
/// finds both, where a search by `char` decodes every character: every message is checked).
pub(super) fn body(body: &str) -> Result<(), BackendErrorKind> {
    let bytes = body.as_bytes();
    let disallowed = bytes.iter().enumerate().any(|(at, &byte)| match byte {
        b'\t' | b'\n' | b'\r' => false,
        0..0x20 => true,
        0xEF => matches!(bytes.get(at + 1..at + 3), Some([0xBF, 0xBE | 0xBF])),
        _ => false,
    });
    if disallowed {
        return Err(invalid(
            "InvalidMessageContents: the body holds characters SQS does not allow",
        ));
    }
    Ok(())
}

pub(super) fn at_most(
    value: Duration,
    max: Duration,
    what: &'static str,
) -> Result<(), BackendErrorKind> {
    if value > max {
        return Err(BackendErrorKind::InvalidParameter(format!(
            "{what} is {value:?}, above the maximum of {max:?}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn entry(id: &str, body: &str) -> OutgoingMessage {
        OutgoingMessage {
            entry_id: id.to_owned(),
            body: Arc::from(body),
            group_id: None,
            dedup_id: None,
            delay: None,
        }
    }

    fn error_name(result: Result<(), BackendErrorKind>) -> String {
        match result {
            Err(BackendErrorKind::InvalidParameter(what)) => {
                what.split(':').next().unwrap_or_default().to_owned()
            }
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn batch_limits_name_the_sqs_error() {
        assert_eq!(error_name(send_batch(&[])), "EmptyBatchRequest");
        let eleven: Vec<_> = (0..11).map(|i| entry(&format!("e{i}"), "x")).collect();
        assert_eq!(
            error_name(send_batch(&eleven)),
            "TooManyEntriesInBatchRequest"
        );
        assert!(send_batch(&eleven[..10]).is_ok());
        let twins = [entry("a", "x"), entry("a", "y")];
        assert_eq!(error_name(send_batch(&twins)), "BatchEntryIdsNotDistinct");
        assert_eq!(
            error_name(send_batch(&[entry("a b", "x")])),
            "InvalidBatchEntryId"
        );
        assert_eq!(
            error_name(send_batch(&[entry(&"a".repeat(81), "x")])),
            "InvalidBatchEntryId"
        );
        let half = "x".repeat(MAX_PAYLOAD_BYTES / 2);
        assert!(send_batch(&[entry("a", &half), entry("b", &half)]).is_ok());
        let over = [entry("a", &half), entry("b", &half), entry("c", "x")];
        assert_eq!(send_batch(&over), Err(BackendErrorKind::MessageTooLarge));
    }

    #[test]
    fn bodies_reject_characters_outside_the_sqs_set() {
        assert!(body("tab\tnewline\ncr\r é 😀").is_ok());
        assert_eq!(error_name(body("bell\u{7}")), "InvalidMessageContents");
        assert_eq!(error_name(body("nul\0")), "InvalidMessageContents");
        assert_eq!(error_name(body("\u{FFFF}")), "InvalidMessageContents");
        assert_eq!(error_name(body("a\u{FFFE}b")), "InvalidMessageContents");
        // Their neighbours, which share the first two bytes, are allowed.
        assert!(body("\u{FFFD}\u{FFFC}\u{EFFF}\u{F0000}").is_ok());
    }
}
