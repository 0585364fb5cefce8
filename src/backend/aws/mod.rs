//! The AWS SDK backend (its own issue).
