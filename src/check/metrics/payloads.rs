//! Claim-checked bodies (`claim_check_above`), from the history and the final status table: a
//! payload whose message is gone is storage nobody will read or free.

use super::{Evaluated, Input};

pub(super) fn claim_checked(input: &Input) -> Evaluated {
    input.count(|i| input.message(i).payload_stored)
}

pub(super) fn orphaned_payloads(input: &Input) -> Evaluated {
    input.count(|i| {
        let f = input.message(i);
        f.payload_left && !f.in_main && !f.in_dlq
    })
}
