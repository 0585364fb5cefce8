//! SQS as qsim knows it, for both sides of the boundary: what its documentation states
//! ([`facts`]: limits, ranges, defaults, windows), and a queue as CreateQueue takes it
//! ([`QueueAttributes`], with SQS's defaults) in its role ([`QueueRole`]).
//!
//! A leaf: it imports nothing else of qsim, so the scenario format and the backends (and the
//! checker) all use it without depending on each other (see `tests/all/architecture.rs`).

mod attributes;
pub mod facts;
mod role;

pub use attributes::QueueAttributes;
pub use role::QueueRole;
