//! Scenario values for unit tests, built directly (not parsed): only the queue settings matter
//! to this module, everything else is the smallest valid filler.

use std::path::PathBuf;
use std::time::Duration;

use crate::scenario::{Expectations, QueueConfig, Scenario, SimSettings};

/// The format's queue defaults: standard, 30 s visibility, no wait, no delay, 4 d retention, no DLQ.
pub fn default_queue() -> QueueConfig {
    QueueConfig {
        fifo: false,
        visibility_timeout: Duration::from_secs(30),
        receive_wait: Duration::ZERO,
        delay: Duration::ZERO,
        retention: Duration::from_secs(4 * 24 * 3600),
        content_based_dedup: false,
        max_receive_count: None,
        sim: SimSettings::default(),
    }
}

/// A scenario `name` (read from `scenarios.d/NAME.toml`) whose queue is `queue`.
pub fn scenario(name: &str, queue: QueueConfig) -> Scenario {
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
        expect: Expectations::default(),
    }
}
