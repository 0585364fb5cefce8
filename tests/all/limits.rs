//! A run always ends: at the scenario's virtual `timeout`, at the wall-clock limit, or when
//! virtual time stands still (a livelock the simulator cannot break by itself), and each of these
//! is a failure that says why.

use std::path::Path;
use std::time::Duration;

use qsim::engine::{Ending, Limits};
use qsim::runner::{self, RunOptions, RunResult};
use qsim::scenario;

fn ending(text: &str, limits: Limits) -> (Ending, String) {
    let scenario = scenario::parse(Path::new("limits-test.toml"), text)
        .unwrap_or_else(|e| panic!("{}", e.render(false)));
    let snapshots = tempfile::tempdir().unwrap();
    let run = runner::run_scenario(
        scenario,
        &RunOptions {
            limits,
            snapshots: Some(snapshots.path().to_owned()),
            ..RunOptions::default()
        },
    );
    let details = qsim::report::summary::details(&run);
    match run.result {
        RunResult::Finished(finished) => {
            assert!(!finished.verdict.passed() || finished.outcome.ending == Ending::Completed);
            (finished.outcome.ending, details)
        }
        _ => panic!("the run did not finish: {details}"),
    }
}

#[test]
fn a_fifo_message_redelivered_at_one_instant_forever_stops_as_a_standstill() {
    let (ending, details) = ending(
        r#"
        [scenario]
        name = "livelock"
        description = "a 0 s visibility timeout and work that takes no time"
        timeout = "1m"

        [queue]
        kind = "fifo"
        visibility_timeout = "0s"
        # Ideal: a partial receive would make the consumer pause, and time move on.
        sim = { profile = "ideal" }

        [[producers]]
        name = "orders"
        count = 1

        [[consumers]]
        name = "worker"

        [expect]
        sent = 1
        "#,
        Limits { max_wall: None },
    );
    assert_eq!(ending, Ending::Standstill);
    assert!(details.contains("stood still"), "{details}");
}

#[test]
fn an_instance_that_crashes_and_restarts_at_once_forever_stops_as_a_standstill() {
    let (ending, _) = ending(
        r#"
        [scenario]
        name = "crash-loop"
        description = "a crash on every receive, a restart at once, a message visible at once"
        timeout = "1m"

        [queue]
        visibility_timeout = "0s"
        # Ideal: a partial receive would make the consumer pause, and time move on.
        sim = { profile = "ideal" }

        [[producers]]
        name = "orders"
        count = 1

        [[consumers]]
        name = "worker"
        chaos = { crash_after_receive = "always", restart_after = "0s" }

        [expect]
        sent = 1
        "#,
        Limits { max_wall: None },
    );
    assert_eq!(ending, Ending::Standstill);
}

#[test]
fn a_run_past_the_wall_clock_limit_stops_as_such() {
    let (ending, details) = ending(
        r#"
        [scenario]
        name = "long"
        description = "more work than a millisecond of wall time"

        [[producers]]
        name = "orders"
        count = 20000
        batch_size = 10

        [[consumers]]
        name = "worker"
        max_messages = 10

        [expect]
        sent = 20000
        "#,
        Limits {
            max_wall: Some(Duration::from_millis(1)),
        },
    );
    assert_eq!(ending, Ending::WallLimit);
    assert!(details.contains("--max-wall"), "{details}");
}

#[test]
fn a_rate_too_slow_for_a_duration_waits_instead_of_panicking() {
    // Validation bounds rates (from 1/d); the engine must not panic on what it is given all the
    // same, so this sets a rate no file can state.
    let text = r#"
        [scenario]
        name = "slow-rate"
        description = "one message, then the next one is due after longer than a Duration holds"
        timeout = "1m"

        [[producers]]
        name = "orders"
        count = 2
        rate = "1/s"

        [[consumers]]
        name = "worker"
        idle_timeout = "10s"

        [expect]
        sent = 2
    "#;
    let mut scenario = scenario::parse(Path::new("slow-rate.toml"), text).unwrap();
    scenario.producers[0].rate = scenario::Rate::PerSecond(1e-300);
    let outcome = runner::simulate(std::rc::Rc::new(scenario), 1).unwrap();
    assert_eq!(outcome.ending, Ending::TimedOut);
}
