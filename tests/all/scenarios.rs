//! Every shipped scenario, on the simulator: its invariants hold, its snapshot matches, it is
//! deterministic, and its invariants hold for other seeds too.

use std::path::Path;
use std::rc::Rc;

use qsim::check::{self, projection};
use qsim::report::summary;
use qsim::runner::{self, RunOptions};
use qsim::scenario::{self, Scenario};

fn load(path: &Path) -> Scenario {
    scenario::load(path).unwrap_or_else(|e| panic!("{}", e.render(false)))
}

/// Runs on the simulator and fails with the same report `qsim run` prints.
fn run_checked(scenario: Scenario, seed: u64) -> (Scenario, qsim::engine::Outcome, check::Verdict) {
    let shared = Rc::new(scenario);
    let outcome = runner::simulate(shared.clone(), seed).expect("the simulator does not fail");
    let verdict = check::check(&shared, &outcome);
    let scenario = Rc::try_unwrap(shared).expect("the run released the scenario");
    if !verdict.passed() {
        let run = runner::run_scenario(
            scenario.clone(),
            &RunOptions {
                seed: Some(seed),
                ..RunOptions::default()
            },
        );
        panic!("{}\n{}", summary::line(&run), summary::details(&run));
    }
    (scenario, outcome, verdict)
}

/// The catalog the simulator runs on its virtual clock: every scenario but those whose consumers
/// are child processes, which run in real time (`served` runs them on the served simulator,
/// `aws_process` against moto_server).
pub(crate) fn simulated_catalog() -> Vec<std::path::PathBuf> {
    scenario::discover(Path::new("scenarios.d"))
        .unwrap()
        .into_iter()
        .filter(|path| !load(path).runs_child_processes())
        .collect()
}

#[test]
fn catalog_matches_snapshots() {
    insta::glob!("../../scenarios.d", "*.toml", |path| {
        assert_matches_snapshot(path, "../../snapshots")
    });
}

/// Runs the scenario at `path` with its own seed on the simulator, checks it, and asserts its
/// snapshot in `snapshots` (relative to this file), as `qsim run` does.
pub(crate) fn assert_matches_snapshot(path: &Path, snapshots: &str) {
    let scenario = load(path);
    if scenario.runs_child_processes() {
        return;
    }
    let seed = scenario.seed;
    let (scenario, outcome, verdict) = run_checked(scenario, seed);
    let text = projection::project(&scenario, &outcome, &verdict.facts);
    let mut settings = insta::Settings::clone_current();
    settings.remove_snapshot_suffix();
    settings.set_snapshot_path(snapshots);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(scenario.name.clone(), text));
}

#[test]
fn catalog_is_deterministic() {
    for path in simulated_catalog() {
        let scenario = Rc::new(load(&path));
        let jsonl = |_| {
            let outcome = runner::simulate(scenario.clone(), scenario.seed).unwrap();
            let mut bytes = Vec::new();
            qsim::report::events::write(&mut bytes, &scenario, &outcome).unwrap();
            bytes
        };
        let (first, second) = (jsonl(1), jsonl(2));
        assert!(!first.is_empty());
        assert!(
            first == second,
            "{}: two runs with seed {} differ",
            path.display(),
            scenario.seed
        );
    }
}

#[test]
fn catalog_invariants_hold_for_other_seeds() {
    for path in simulated_catalog() {
        let scenario = load(&path);
        for offset in 1..=4 {
            run_checked(scenario.clone(), scenario.seed.wrapping_add(offset * 7919));
        }
    }
}

/// Every line the catalog's histories contain is a documented kind with exactly its documented
/// fields (the README's event table and `qsim schema --events` come from the same list).
#[test]
fn catalog_histories_match_the_documented_format() {
    let mut kinds = std::collections::BTreeSet::new();
    for path in simulated_catalog() {
        let scenario = Rc::new(load(&path));
        let outcome = runner::simulate(scenario.clone(), scenario.seed).unwrap();
        let mut bytes = Vec::new();
        qsim::report::events::write(&mut bytes, &scenario, &outcome).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        for (n, line) in text.lines().enumerate() {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            if let Err(e) = qsim::report::events::conforms(&value) {
                panic!("{}:{}: {e}\n{line}", path.display(), n + 1);
            }
            let kind = value
                .get("event")
                .and_then(|e| e.as_str())
                .unwrap_or("header");
            kinds.insert(kind.to_owned());
        }
        assert!(
            text.lines()
                .next()
                .unwrap()
                .contains("\"format\":\"qsim-events\"")
        );
        assert!(
            text.lines()
                .last()
                .unwrap()
                .contains("\"event\":\"run-ended\"")
        );
    }
    // The catalog exercises the history broadly; a kind it stops producing is worth a look.
    for kind in [
        "sent",
        "received",
        "side-effect",
        "deleted",
        "dead-lettered",
        "visibility-expired",
        "purged",
        "deduplicated",
        "redriven",
        "final-message",
        "final-item",
    ] {
        assert!(
            kinds.contains(kind),
            "no catalog scenario logs `{kind}`: {kinds:?}"
        );
    }
}

/// The conservation law holds for every catalog scenario on many seeds (`QSIM_SEEDS` overrides
/// the count).
#[test]
fn catalog_conserves_messages_across_seeds() {
    let seeds: u64 = std::env::var("QSIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    for path in simulated_catalog() {
        let scenario = Rc::new(load(&path));
        for seed in 0..seeds {
            let outcome = runner::simulate(scenario.clone(), seed).unwrap();
            let verdict = check::check(&scenario, &outcome);
            assert!(
                verdict.violations.is_empty(),
                "{} --seed {seed}: {:?}",
                path.display(),
                verdict.violations
            );
        }
    }
}
