//! qsim: declarative, seeded scenarios of how queue-based systems fail, run on an embedded SQS +
//! DynamoDB simulator or against AWS, and checked against their invariants and snapshots.
//!
//! The map of the code, in the order data flows through it:
//! - [`sqs`]: SQS as its documentation states it (limits, ranges, defaults, windows), what it
//!   leaves open (the envelope: docs/sqs-semantics.md §0, and the simulator's profiles), and a
//!   queue's attributes and role; a leaf the file format, the backends and the checker use.
//! - [`scenario`]: the TOML file format: raw serde types, validation with spans, the resolved
//!   [`scenario::Scenario`] and its JSON Schema.
//! - [`engine`]: interprets a scenario: provisions, runs producers, consumers, the timeline and
//!   the autoscaler on one single-threaded runtime, and records the [`engine::EventLog`].
//! - [`backend`]: the SQS / DynamoDB boundary; [`backend::sim`] (virtual clock, deterministic)
//!   and [`backend::aws`] (aws-sdk, real AWS or an AWS-compatible endpoint) behind it, and
//!   [`backend::faults`] in front of either (the scenario's API faults, every call counted).
//! - [`infra`]: Terraform for teams that provision their own queues: the variables file derived
//!   from the scenario files, and the resources file that `terraform output -json` prints.
//! - [`check`]: pass or fail: metrics and message fates derived from the event log and final
//!   state, checked against the scenario's `[expect]` invariants; the snapshot projection and its
//!   comparison; the explanation of each failed check (the events that witness it).
//! - [`report`]: what a person or CI reads, rendered from results: summary lines, failure details,
//!   the reproduce command, the JSON and JUnit reports, the HTML report and `explain`'s text.
//! - [`runner`]: one scenario end to end (capabilities, engine, checks, snapshot), shared by the
//!   CLI, the tests and the benchmark.
//! - [`explore`]: each scenario across many seeds in parallel, tallied by failure signature and
//!   `[expect.sometimes]`; shards of one exploration merge into its result.
//! - [`serve`]: `qsim serve`, the simulator over the AWS JSON protocols on loopback.
//! - [`guide`]: the executable guide (docs/guide/): its scenario listings, results, timeline
//!   pictures and claims regenerated from real runs, and its coverage of the catalog checked.
//! - [`interrupt`]: Ctrl-C and SIGTERM: the first stops every run (which deletes its resources),
//!   a second ends the process at once.
//! - [`cli`]: the command line, the only code that prints or exits.
//! - [`rng`]: one root seed, one independent stream per actor.
//! - [`poll_clock`]: tokio's clock, read once per poll of a simulated run.
//! - [`bench`]: the simulator benchmark behind `qsim bench` and `cargo bench`.
//! - [`exit`]: the documented exit codes.

pub mod backend;
pub mod bench;
pub mod check;
pub mod cli;
pub mod engine;
mod exit;
pub mod explore;
pub mod guide;
pub mod infra;
pub mod interrupt;
mod poll_clock;
pub mod report;
mod rng;
pub mod runner;
pub mod scenario;
pub mod serve;
pub mod sqs;
