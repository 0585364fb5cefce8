//! Every file in tests/fixtures/invalid/ is rejected with a diagnostic snapshot.
