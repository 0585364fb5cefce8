//! What people and CI read: the one-line summary per scenario, failure details with the command
//! that reproduces the run, snapshot files and their diffs, JUnit XML, the JSON report, the
//! JSON-lines event log.
//! Rendering only: nothing here runs scenarios or decides pass/fail.

pub mod events;
pub mod explore;
pub mod json;
pub mod junit;
pub mod projection;
pub mod readme;
pub mod snapshot;
pub mod summary;
