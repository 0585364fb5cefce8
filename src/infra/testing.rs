//! Scenario values for unit tests, built directly (not parsed): only the queue settings matter
//! to this module, everything else is the smallest valid filler.

use std::path::PathBuf;
use std::time::Duration;

use crate::scenario::{Expectations, QueueConfig, Scenario};
use crate::sqs::QueueAttributes;
use crate::sqs::envelope::SimSettings;

/// The format's queue defaults, which are SQS's, and no DLQ.
pub(super) fn default_queue() -> QueueConfig {
    QueueConfig {
        attributes: QueueAttributes::default(),
        max_receive_count: None,
        sim: SimSettings::default(),
    }
}

/// [`default_queue`] changed by `change`.
pub(super) fn queue(change: impl FnOnce(&mut QueueConfig)) -> QueueConfig {
    let mut queue = default_queue();
    change(&mut queue);
    queue
}

/// A scenario `name` (read from `scenarios.d/NAME.toml`) whose queue is `queue`.
pub(super) fn scenario(name: &str, queue: QueueConfig) -> Scenario {
    Scenario {
        path: PathBuf::from(format!("scenarios.d/{name}.toml")),
        name: name.to_owned(),
        description: format!("{name} (test)"),
        tags: Vec::new(),
        seed: 1,
        timeout: Duration::from_secs(60),
        queue,
        producers: Vec::new(),
        consumers: Vec::new(),
        timeline: Vec::new(),
        autoscaler: None,
        faults: Vec::new(),
        expect: Expectations::default(),
    }
}
