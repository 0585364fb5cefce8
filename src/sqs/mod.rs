//! SQS as qsim knows it, for both sides of the boundary: what its documentation states
//! ([`facts`]: limits, ranges, defaults, windows), what it leaves open ([`envelope`]: each "may"
//! as a latitude, and the profiles that set how often the simulator takes it), and a queue as
//! CreateQueue takes it ([`QueueAttributes`], with SQS's defaults, and its FIFO deduplication scope
//! and throughput limit) in its role ([`QueueRole`]),
//! and the API faults a scenario may ask for ([`faults`]: what goes wrong, on which operation,
//! when).
//!
//! A leaf: it imports nothing else of qsim, so the scenario format and the backends (and the
//! checker) all use it without depending on each other (see `tests/all/architecture.rs`).

mod attributes;
pub mod envelope;
pub mod facts;
pub mod faults;
mod fifo_mode;
mod role;

pub use attributes::QueueAttributes;
pub use fifo_mode::{DeduplicationScope, FifoThroughputLimit};
pub use role::QueueRole;
