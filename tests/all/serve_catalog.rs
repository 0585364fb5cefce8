//! Self-consistency of `qsim serve`: the catalog run with qsim's AWS backend against an
//! in-process server (ideal profile) gives the simulator's verdicts and snapshots.
//!
//! Real time: every scenario runs for as long as its virtual duration, so they run all at once
//! (one thread each, one shared server) and the set is the catalog's scenarios that end within
//! [`MAX_VIRTUAL`] on the simulator: all but the ones that wait out SQS's longest windows (the
//! 5-minute FIFO deduplication window). Scenarios that need what a real-time server cannot
//! give (exact timelines, or the simulator's own fault knobs of `[queue.sim]`) are left out,
//! by the capability they need. Two more keep their verdict but not their snapshot: a snapshot
//! that lists which messages a real-time race decided (which went stale in a backlog drained
//! as fast as the machine goes, which were still queued when an asynchronous purge reached them)
//! cannot be the simulator's on a shared machine; those are the scenarios needing the endpoint
//! to keep up with their send rate or to purge asynchronously.

use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use aws_sdk_sqs::config::Credentials;
use qsim::backend::Capability;
use qsim::backend::aws::{AwsBackend, AwsOptions, CUSTOM_ENDPOINT_MAX_RATE};
use qsim::check::{self, projection, snapshot};
use qsim::engine::{self, Outcome};
use qsim::scenario::{self, Scenario};
use qsim::serve::{ServeOptions, spawn};
use qsim::sqs::envelope::Profile;

/// The longest virtual run taken into the set: the test's wall time is about this.
const MAX_VIRTUAL: Duration = Duration::from_secs(120);

/// What a run concluded: its ending and each expectation's result, in order.
type Verdict = (String, Vec<(String, bool)>);

fn verdict(scenario: &Scenario, outcome: &Outcome) -> (Verdict, bool) {
    let checked = check::check(scenario, outcome);
    let results = checked
        .results
        .iter()
        .map(|result| (result.expectation.metric.name().to_owned(), result.passed))
        .collect();
    let text = projection::project(scenario, outcome, &checked.facts);
    let dir = snapshot::default_dir(&scenario.path);
    let matched = matches!(
        snapshot::compare(&dir, &scenario.name, &text, snapshot::UpdateMode::Never),
        Ok(snapshot::SnapshotStatus::Matched)
    );
    ((checked.ending.as_str().to_owned(), results), matched)
}

#[test]
fn the_catalog_through_qsim_serve_gives_the_simulators_verdicts_and_snapshots() {
    let files = scenario::discover(Path::new("scenarios.d")).unwrap();
    let scenarios: Vec<Scenario> = files
        .iter()
        .map(|file| scenario::load(file).unwrap_or_else(|e| panic!("{}", e.render(false))))
        .collect();
    let server = spawn(ServeOptions {
        port: None,
        envelope: None,
        profile: Profile::Ideal,
        seed: 1,
        events: None,
        tap: None,
        faults: Vec::new(),
    })
    .unwrap();
    let endpoint = server.endpoint_url();
    let probe = engine::realtime_runtime()
        .unwrap()
        // Declared as `qsim run --endpoint-url` declares any endpoint, so that the scenarios
        // whose send rate outruns an endpoint show it.
        .block_on(backend(&endpoint, "probe", Some(CUSTOM_ENDPOINT_MAX_RATE)))
        .unwrap();

    let mut selected = Vec::new();
    let mut left_out = Vec::new();
    for scenario in &scenarios {
        if scenario.runs_child_processes() {
            // Real time on both sides, so nothing to compare with: tests/all/served.rs runs them.
            left_out.push(format!("{} (child processes)", scenario.name));
            continue;
        }
        let simulated = qsim::runner::simulate(Rc::new(scenario.clone()), scenario.seed)
            .unwrap_or_else(|e| panic!("{}: {e}", scenario.name));
        // A custom endpoint is taken to have no capability: what is missing is what it needs.
        let needs_simulator = engine::missing_capabilities(scenario, &probe)
            .into_iter()
            .find(|capability| {
                matches!(
                    capability,
                    Capability::Deterministic | Capability::InjectedFaults
                )
            });
        match needs_simulator {
            Some(capability) => left_out.push(format!("{} ({capability:?})", scenario.name)),
            None if simulated.elapsed > MAX_VIRTUAL => left_out.push(format!(
                "{} ({:?} of virtual time)",
                scenario.name, simulated.elapsed
            )),
            None => {
                let raced = engine::missing_capabilities(scenario, &probe)
                    .into_iter()
                    .any(|c| matches!(c, Capability::SendRate | Capability::AsyncPurge));
                selected.push((scenario, verdict(scenario, &simulated), !raced))
            }
        }
    }
    assert!(
        selected.len() >= scenarios.len() / 2,
        "most of the catalog runs through the server; left out: {left_out:?}"
    );

    let compare = |(scenario, simulated, same_snapshot): &(&Scenario, (Verdict, bool), bool)| {
        match run_through(scenario, &endpoint) {
            Err(error) => Mismatch::Verdict(format!("{}: {error}", scenario.name)),
            Ok((verdict, _)) if verdict != simulated.0 => Mismatch::Verdict(format!(
                "{}: simulator {:?}, through qsim serve {verdict:?}",
                scenario.name, simulated.0
            )),
            Ok(served) if *same_snapshot && served != *simulated => Mismatch::Snapshot(format!(
                "{}: simulator {simulated:?}, through qsim serve {served:?}",
                scenario.name
            )),
            Ok(_) => Mismatch::None,
        }
    };
    let first: Vec<Mismatch> = std::thread::scope(|scope| {
        let runs: Vec<_> = selected
            .iter()
            .map(|selected| scope.spawn(|| compare(selected)))
            .collect();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    });
    // A snapshot that hangs on a race of a few hundred milliseconds (prefetch-expiry takes its
    // third message 200 ms before its visibility runs out) can lose it on a loaded machine, with
    // every selected run sharing two cores: such a scenario runs again alone, where the timing
    // is its own. A different verdict is never run again.
    let mismatches: Vec<String> = first
        .into_iter()
        .zip(&selected)
        .filter_map(|(mismatch, selected)| match mismatch {
            Mismatch::None => None,
            Mismatch::Verdict(text) => Some(text),
            Mismatch::Snapshot(_) => match compare(selected) {
                Mismatch::None => None,
                Mismatch::Verdict(text) | Mismatch::Snapshot(text) => Some(text),
            },
        })
        .collect();
    server.stop().unwrap();
    assert!(
        mismatches.is_empty(),
        "{}\n(left out: {left_out:?})",
        mismatches.join("\n")
    );
}

/// How a run through the server differed from the simulator's.
enum Mismatch {
    None,
    Verdict(String),
    /// The same verdict, another snapshot.
    Snapshot(String),
}

/// `scenario` with its own seed through qsim's AWS backend pointed at `endpoint`.
fn run_through(scenario: &Scenario, endpoint: &str) -> Result<(Verdict, bool), String> {
    let runtime = engine::realtime_runtime().map_err(|e| e.to_string())?;
    tokio::task::LocalSet::new().block_on(&runtime, async {
        let backend = backend(endpoint, &scenario.name, None).await?;
        let outcome = engine::run(
            Rc::new(scenario.clone()),
            Rc::new(backend),
            scenario.seed,
            None,
            engine::Limits::default(),
        )
        .await
        .map_err(|e| e.to_string())?;
        Ok(verdict(scenario, &outcome))
    })
}

/// qsim's AWS backend for a run of `scenario` against `endpoint`.
async fn backend(
    endpoint: &str,
    scenario: &str,
    max_send_rate: Option<u32>,
) -> Result<AwsBackend, String> {
    let options = AwsOptions {
        region: Some("us-east-1".into()),
        profile: None,
        endpoint_url: Some(endpoint.to_owned()),
        keep: false,
        provisioned: None,
        max_send_rate,
        attach: false,
    };
    let config = options
        .config_loader()
        .credentials_provider(Credentials::new(
            "any",
            "thing",
            None,
            None,
            "serve-catalog",
        ))
        .load()
        .await;
    AwsBackend::from_sdk_config(&config, &options, scenario).map_err(|e| e.to_string())
}
