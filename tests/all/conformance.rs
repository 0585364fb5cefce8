//! The conformance set (`scenarios.d/conformance/`): small scenarios that each pin one documented
//! SQS behaviour. On the simulator every one holds on every seed of every profile and matches its
//! snapshot; on a real moto_server each is run, and the README's fidelity table (block
//! `moto-fidelity`) is regenerated from that run: a result that changes fails the test.
//! `QSIM_UPDATE_README=1 cargo test --test all moto_fidelity` rewrites the table.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::rc::Rc;
use std::time::Instant;

use qsim::backend::Capability;
use qsim::check::{self, projection, snapshot};
use qsim::engine::{self, Ending};
use qsim::explore;
use qsim::report::readme::{self, Conformance, FidelityRow};
use qsim::scenario::{self, Scenario};
use qsim::sqs::envelope::Profile;

use super::aws_cli::{qsim, resources_left};
use super::explore::{failures, plan};
use super::moto::{Moto, exclusive_moto};
use super::scenarios::assert_matches_snapshot;

const DIR: &str = "scenarios.d/conformance";

fn conformance() -> Vec<Scenario> {
    let files = scenario::discover(Path::new(DIR)).unwrap();
    assert!(files.len() >= 10, "the conformance set: {files:?}");
    files
        .iter()
        .map(|f| scenario::load(f).unwrap_or_else(|e| panic!("{}", e.render(false))))
        .collect()
}

#[test]
fn every_conformance_scenario_is_tagged_and_cites_its_source() {
    for scenario in conformance() {
        assert!(
            scenario.tags.iter().any(|t| t == "conformance"),
            "{}: tag it `conformance`",
            scenario.name
        );
        assert!(
            scenario.description.contains("Source: "),
            "{}: the description names the documentation it pins",
            scenario.name
        );
        assert!(
            scenario.queue.sim.assumes.is_empty(),
            "{}: a conformance scenario holds by the documentation's letter, closing no latitude",
            scenario.name
        );
    }
}

/// Every seed of every profile: a conformance scenario may not depend on a side SQS's
/// documentation leaves open. `QSIM_EXPLORE_SEEDS` raises the count.
#[test]
fn conformance_holds_on_every_seed_of_every_profile() {
    let seeds = std::env::var("QSIM_EXPLORE_SEEDS").unwrap_or_else(|_| "200".to_owned());
    for profile in Profile::ALL {
        let exploration = explore::explore(conformance(), &plan(&seeds, Some(profile)), |_| {});
        assert!(
            exploration.passed(),
            "{profile}:\n{}",
            failures(&exploration)
        );
    }
}

#[test]
fn conformance_matches_snapshots() {
    insta::glob!("../../scenarios.d/conformance", "*.toml", |path| {
        assert_matches_snapshot(path, "../../scenarios.d/snapshots")
    });
}

/// The README's command finds the set and its snapshots (`snapshots/` beside the folder).
#[test]
fn run_all_runs_the_set_with_its_committed_snapshots() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_qsim"))
        .args(["run-all", "--dir", DIR])
        .env("CI", "true")
        .env_remove("INSTA_UPDATE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    let total = conformance().len();
    assert!(
        stdout.contains(&format!("qsim: {total} passed, 0 failed, 0 skipped")),
        "{stdout}"
    );
}

/// Runs the set on moto twice over at once: `qsim run-all` as the README tells a user to (it
/// skips what an emulator is assumed to lack), and, in this process, each scenario it skips with
/// the capability check off, so the table shows what moto really does there too.
#[test]
#[allow(
    clippy::print_stderr,
    reason = "says how much wall time the moto part took"
)]
fn moto_fidelity_table_matches_a_fresh_moto_run() {
    let scenarios = conformance();
    let (runtime, moto) = exclusive_moto();
    let started = Instant::now();
    let jobs = scenarios.len().to_string();
    let cli = qsim(
        &moto,
        &[
            "run-all",
            "--dir",
            DIR,
            "--backend",
            "aws",
            "--jobs",
            &jobs,
            "--report",
            "-",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let anyway: Vec<Option<(Vec<Capability>, Conformance)>> = std::thread::scope(|scope| {
        let runs: Vec<_> = scenarios
            .iter()
            .map(|scenario| {
                let moto = &moto;
                scope.spawn(move || run_if_skipped(moto, scenario))
            })
            .collect();
        runs.into_iter().map(|run| run.join().unwrap()).collect()
    });
    let output = cli.wait_with_output().unwrap();
    let wall = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: the --report - JSON\n{stderr}"));
    let by_name: BTreeMap<&str, &serde_json::Value> = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s))
        .collect();

    let mut rows = Vec::new();
    for (scenario, anyway) in scenarios.iter().zip(anyway) {
        let run = by_name
            .get(scenario.name.as_str())
            .unwrap_or_else(|| panic!("{} is not in the report\n{stderr}", scenario.name));
        let row = match (run["status"].as_str().unwrap(), anyway) {
            ("skipped", Some((missing, result))) => {
                let reason = run["skip_reason"].as_str().unwrap_or_default();
                let skipped_for: Vec<String> =
                    missing.iter().map(|c| c.describe().to_owned()).collect();
                for capability in &skipped_for {
                    assert!(
                        reason.contains(capability.as_str()),
                        "{}: run-all skipped it for {reason:?}, this process found {skipped_for:?}",
                        scenario.name
                    );
                }
                FidelityRow {
                    scenario,
                    result,
                    skipped_for,
                }
            }
            (status, None) => FidelityRow {
                scenario,
                result: reported(status, run),
                skipped_for: Vec::new(),
            },
            (status, Some((missing, _))) => panic!(
                "{}: run-all says {status}, but the backend lacks {missing:?}\n{stderr}",
                scenario.name
            ),
        };
        rows.push(row);
    }
    let failed = rows
        .iter()
        .any(|r| r.skipped_for.is_empty() && r.result != Conformance::Passed);
    assert_eq!(
        output.status.code(),
        Some(if failed { 1 } else { 0 }),
        "run-all's exit code\n{stderr}"
    );
    let (queues, tables) = resources_left(&runtime, &moto);
    assert!(
        queues.is_empty() && tables.is_empty(),
        "every run deleted what it created: {queues:?} {tables:?}"
    );
    eprintln!("conformance on moto_server: {wall:.1?} of wall time");

    let table = readme::fidelity_table("moto_server", &rows);
    let _readme = super::readme::LOCK
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let current = std::fs::read_to_string("README.md").unwrap();
    let fresh = readme::replace_block(&current, "moto-fidelity", &table);
    assert!(
        current.contains("<!-- moto-fidelity:begin -->"),
        "README.md has no moto-fidelity block"
    );
    if std::env::var_os("QSIM_UPDATE_README").is_some() {
        std::fs::write("README.md", &fresh).unwrap();
        return;
    }
    assert!(
        current == fresh,
        "moto's conformance results changed: if that is expected, run \
         `QSIM_UPDATE_README=1 cargo test --test all moto_fidelity`\n{}",
        snapshot::diff(&current, &fresh)
    );
}

/// The capabilities `scenario` needs that moto is taken to lack, and, when there are any, what
/// moto did when it ran anyway: `None` when `qsim run-all` runs it itself.
fn run_if_skipped(moto: &Moto, scenario: &Scenario) -> Option<(Vec<Capability>, Conformance)> {
    let runtime = engine::realtime_runtime().unwrap();
    tokio::task::LocalSet::new().block_on(&runtime, async {
        let backend = Rc::new(moto.backend(&scenario.name).await);
        let missing = engine::missing_capabilities(scenario, &*backend);
        if missing.is_empty() {
            return None;
        }
        let shared = Rc::new(scenario.clone());
        let run = engine::run(
            shared,
            backend,
            scenario.seed,
            None,
            engine::Limits::default(),
        )
        .await;
        let result = match run {
            Ok(outcome) => judged(scenario, &outcome),
            Err(error) => Conformance::Error(error.to_string()),
        };
        Some((missing, result))
    })
}

/// The verdict and the snapshot comparison, as `qsim run` would report them.
fn judged(scenario: &Scenario, outcome: &engine::Outcome) -> Conformance {
    let verdict = check::check(scenario, outcome);
    let mut failed: Vec<String> = Vec::new();
    if verdict.ending != Ending::Completed {
        failed.push(verdict.ending.as_str().to_owned());
    }
    for result in verdict.failures() {
        let metric = result.expectation.metric.name();
        failed.push(match result.expectation.scope {
            Some(producer) => format!("producer.{}.{metric}", scenario.producer(producer).name),
            None => metric.to_owned(),
        });
    }
    let text = projection::project(scenario, outcome, &verdict.facts);
    let dir = snapshot::default_dir(&scenario.path);
    let status = snapshot::compare(&dir, &scenario.name, &text, snapshot::UpdateMode::Never);
    if !matches!(status, Ok(snapshot::SnapshotStatus::Matched)) {
        failed.push("snapshot".to_owned());
    }
    if failed.is_empty() {
        Conformance::Passed
    } else {
        Conformance::Failed(failed)
    }
}

/// One scenario of `qsim run-all --report -`, in the table's terms.
fn reported(status: &str, run: &serde_json::Value) -> Conformance {
    match status {
        "passed" => Conformance::Passed,
        "failed" => {
            let mut failed: Vec<String> = Vec::new();
            let ending = run["ending"].as_str().unwrap_or("completed");
            if ending != "completed" {
                failed.push(ending.to_owned());
            }
            for expectation in run["expectations"].as_array().unwrap() {
                if expectation["pass"] == false {
                    let metric = expectation["metric"].as_str().unwrap();
                    failed.push(match expectation["scope"].as_str() {
                        Some(producer) => format!("producer.{producer}.{metric}"),
                        None => metric.to_owned(),
                    });
                }
            }
            let snapshot = run["snapshot"]["status"].as_str().unwrap_or_default();
            if snapshot != "matched" {
                failed.push("snapshot".to_owned());
            }
            Conformance::Failed(failed)
        }
        _ => Conformance::Error(run["error"].as_str().unwrap_or(status).to_owned()),
    }
}
