//! [`QueueRole`]: the main queue, or the dead-letter queue its redrive policy moves messages to.

/// Which of the scenario's queues is meant: names, reports and timeline actions use it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QueueRole {
    Main,
    DeadLetter,
}

impl QueueRole {
    pub fn as_str(self) -> &'static str {
        match self {
            QueueRole::Main => "main",
            QueueRole::DeadLetter => "dlq",
        }
    }
}
