//! Business records against their messages (`outbox` and `dual_write` producers), from the
//! history and the final status table: a record without its message is a lost message, a
//! message without its record a phantom.

use super::{Evaluated, Input, number};

pub(super) fn lost_business_records(input: &Input) -> Evaluated {
    input.count(|i| {
        let f = input.message(i);
        f.record_stored && !f.sent && f.resent == 0
    })
}

pub(super) fn phantom_messages(input: &Input) -> Evaluated {
    input.count(|i| {
        let f = input.message(i);
        f.sent && f.has_record_write && !f.record_stored
    })
}

pub(super) fn unsent_outbox_rows(input: &Input) -> Evaluated {
    input.count(|i| input.message(i).outbox_row_left)
}

pub(super) fn relay_resends(input: &Input) -> Evaluated {
    let resends: u32 = input.in_scope().map(|i| input.message(i).resent).sum();
    let (_, involved) = input.ids(|i| input.message(i).resent > 0);
    Evaluated {
        involved,
        ..number(f64::from(resends))
    }
}
