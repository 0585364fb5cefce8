//! What people and CI read: the one-line summary per scenario, failure details with the command
//! that reproduces the run and the snapshot's diff, JUnit XML, the JSON report, the JSON-lines
//! event log, and that log read back ([`history`]) for `qsim report`.
//! Rendering only: nothing here runs scenarios or decides pass/fail (the snapshot projection and
//! comparison are [`crate::check`]'s).

pub mod events;
pub mod explain;
pub mod explore;
pub mod history;
pub mod html;
pub(crate) mod json;
pub(crate) mod junit;
pub mod readme;
pub mod summary;
