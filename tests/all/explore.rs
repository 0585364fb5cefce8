//! `qsim explore`: the catalog holds across seeds and profiles, exploration finds the seeds a
//! lucky scenario fails on, proves each `[expect.sometimes]`, and shards merge into the result
//! one machine reaches. `QSIM_EXPLORE_SEEDS` raises the catalog's seed count (CI: 200).

use std::path::{Path, PathBuf};
use std::process::Command;

use qsim::explore::{self, Exploration, Partition, Plan, Seeds};
use qsim::scenario::{self, Scenario};
use qsim::sqs::envelope::Profile;

fn catalog() -> Vec<Scenario> {
    let files = super::scenarios::simulated_catalog();
    files.iter().map(|f| load(f)).collect()
}

fn load(path: &Path) -> Scenario {
    scenario::load(path).unwrap_or_else(|e| panic!("{}", e.render(false)))
}

fn fixture(name: &str) -> Scenario {
    load(&PathBuf::from(format!(
        "tests/fixtures/explore/{name}.toml"
    )))
}

pub(crate) fn plan(seeds: &str, profile: Option<Profile>) -> Plan {
    Plan {
        seeds: seeds.parse().unwrap(),
        profile,
        partition: None,
        jobs: 2,
    }
}

fn catalog_seeds() -> String {
    std::env::var("QSIM_EXPLORE_SEEDS").unwrap_or_else(|_| "200".to_owned())
}

/// Every failing seed and unmet `[expect.sometimes]`, with how to reproduce it.
pub(crate) fn failures(exploration: &Exploration) -> String {
    let mut out = String::new();
    for tally in exploration.scenarios.iter().filter(|t| !t.passed()) {
        let profile = exploration.profile.as_deref();
        out.push_str(&qsim::report::explore::scenario(tally, profile));
        out.push('\n');
    }
    out
}

#[test]
fn every_catalog_scenario_holds_on_every_seed_of_the_default_profile() {
    let exploration = explore::explore(catalog(), &plan(&catalog_seeds(), None), |_| {});
    assert!(exploration.passed(), "{}", failures(&exploration));
}

#[test]
fn every_catalog_scenario_holds_under_the_adversarial_profile_or_names_its_assumption() {
    let profile = Some(Profile::Adversarial);
    let exploration = explore::explore(catalog(), &plan(&catalog_seeds(), profile), |_| {});
    assert!(exploration.passed(), "{}", failures(&exploration));
}

#[test]
fn exploration_finds_the_seeds_a_lucky_scenario_fails_on_and_each_reproduces_alone() {
    let lucky = fixture("lucky-purge");
    let file_seed = lucky.seed;
    let exploration = explore::explore(vec![lucky.clone()], &plan("60", None), |_| {});
    let tally = &exploration.scenarios[0];
    assert!(tally.passed > 0, "some seeds are lucky: {tally:?}");
    assert!(!tally.failures.is_empty(), "some are not: {tally:?}");
    let first = &tally.failures[0];
    assert_eq!(first.failed, ["expect.producer.after.purged"]);
    assert_ne!(first.first_seed, file_seed, "the file's own seed passes");
    // The reproduce seed fails on its own, with the same check.
    let outcome =
        qsim::runner::simulate(std::rc::Rc::new(lucky.clone()), first.first_seed).unwrap();
    let verdict = qsim::check::check(&lucky, &outcome);
    let failed: Vec<_> = verdict
        .failures()
        .map(|r| r.expectation.metric.name())
        .collect();
    assert_eq!(failed, ["purged"]);
}

#[test]
fn a_sometimes_check_that_never_holds_fails_the_exploration_but_not_a_run() {
    let never = fixture("never-crashes");
    let exploration = explore::explore(vec![never.clone()], &plan("30", None), |_| {});
    let tally = &exploration.scenarios[0];
    assert_eq!((tally.runs, tally.passed), (30, 30));
    let unmet: Vec<&str> = tally.sometimes_unmet().map(|s| s.check.as_str()).collect();
    assert_eq!(unmet, ["expect.sometimes.crashed"]);
    assert!(!exploration.passed());
    let outcome = qsim::runner::simulate(std::rc::Rc::new(never.clone()), 1).unwrap();
    assert!(qsim::check::check(&never, &outcome).passed());
}

/// An exploration's tallies without its timings, which vary.
fn tallies(exploration: &Exploration) -> serde_json::Value {
    let mut value = serde_json::to_value(exploration).unwrap();
    value["wall_ms"] = 0.into();
    for scenario in value["scenarios"].as_array_mut().unwrap() {
        scenario["run_us"] = 0.into();
    }
    value
}

#[test]
fn shards_merge_into_what_one_machine_finds_whatever_the_thread_count() {
    let scenarios = vec![fixture("lucky-purge"), fixture("never-crashes")];
    let whole = explore::explore(scenarios.clone(), &plan("5..=40", None), |_| {});
    let shards: Vec<(String, Exploration)> = (1..=3)
        .map(|index| {
            let shard = Plan {
                partition: Some(Partition { index, count: 3 }),
                jobs: index as usize,
                ..plan("5..=40", None)
            };
            (
                format!("shard {index}"),
                explore::explore(scenarios.clone(), &shard, |_| {}),
            )
        })
        .collect();
    let merged = Exploration::merge(shards.clone()).unwrap();
    assert_eq!(tallies(&merged), tallies(&whole));

    let incomplete = Exploration::merge(shards[..2].to_vec()).unwrap_err();
    assert!(
        incomplete.to_string().contains("shards 3 of 3 are missing"),
        "{incomplete}"
    );
    let twice = vec![
        shards[0].clone(),
        shards[0].clone(),
        shards[1].clone(),
        shards[2].clone(),
    ];
    assert!(Exploration::merge(twice).is_err());
    let other = Plan {
        partition: Some(Partition { index: 2, count: 3 }),
        ..plan("1..=4", None)
    };
    let other_seeds = explore::explore(scenarios, &other, |_| {});
    let mixed = vec![shards[0].clone(), ("other".to_owned(), other_seeds)];
    let error = Exploration::merge(mixed).unwrap_err().to_string();
    assert!(error.contains("only shards of one exploration"), "{error}");
    let unsharded = vec![("whole".to_owned(), whole.clone()), shards[0].clone()];
    let error = Exploration::merge(unsharded).unwrap_err().to_string();
    assert!(error.contains("merges with nothing"), "{error}");
}

#[test]
fn the_cli_explores_writes_shard_results_and_merges_them_into_one_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let qsim = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_qsim"))
            .args(args)
            .output()
            .unwrap()
    };
    let file = "tests/fixtures/explore/lucky-purge.toml";
    let mut results = Vec::new();
    for shard in ["1/2", "2/2"] {
        let result = dir.path().join(format!("shard-{}.json", &shard[..1]));
        let output = qsim(&[
            "explore",
            file,
            "--seeds",
            "30",
            "--partition",
            shard,
            "--report",
            result.to_str().unwrap(),
        ]);
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        results.push(result);
    }
    let mut merge = vec!["explore", "--merge"];
    merge.extend(results.iter().map(|r| r.to_str().unwrap()));
    let output = qsim(&merge);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL lucky-purge"), "{stdout}");
    assert!(
        stdout.contains(&format!("qsim run {file} --seed ")),
        "{stdout}"
    );
    assert!(
        stdout.contains("seeds 1..=30, profile of each file, 30 runs"),
        "{stdout}"
    );

    let output = qsim(&["explore", "--merge", results[0].to_str().unwrap()]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "an incomplete merge is bad input"
    );
    let output = qsim(&["explore", file, "--seeds", "0"]);
    assert_eq!(output.status.code(), Some(2));
    let output = qsim(&[
        "explore",
        "scenarios.d/happy.toml",
        "--seeds",
        "20",
        "--profile",
        "adversarial",
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
}

#[test]
fn seeds_are_the_range_asked_for() {
    let seeds: Seeds = "3..=5".parse().unwrap();
    let exploration =
        explore::explore(vec![fixture("never-crashes")], &plan("3..=5", None), |_| {});
    assert_eq!(exploration.seeds, seeds);
    assert_eq!(exploration.scenarios[0].runs, 3);
}

#[test]
fn explore_html_shows_each_scenarios_seeds_failures_and_first_failing_run() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("explore.html");
    let output = Command::new(env!("CARGO_BIN_EXE_qsim"))
        .args([
            "explore",
            "scenarios.d/happy.toml",
            "tests/fixtures/html/killed-worker.toml",
            "--seeds",
            "3",
            "--html",
            html.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "killed-worker fails on its seeds"
    );
    // minijinja escapes `/` in text, which the browser shows as `/` again.
    let page = std::fs::read_to_string(&html)
        .unwrap()
        .replace("&#x2f;", "/");
    assert!(page.contains("All 3 seeds held"), "happy: {page}");
    assert!(
        page.contains("0 of 3 seeds passed"),
        "killed-worker: {page}"
    );
    assert!(
        page.contains("qsim run tests/fixtures/html/killed-worker.toml --seed 1"),
        "the first failing seed's reproduce command: {page}"
    );
    // The first failing seed's own report, with its explanation, follows the tallies.
    assert_eq!(
        page.matches(r#"id="scenario-killed-worker""#).count(),
        1,
        "{page}"
    );
    assert!(
        !page.contains(r#"id="scenario-happy""#),
        "no report for a scenario that held"
    );
    assert!(page.contains("Why it failed"), "{page}");
}

/// A scenario whose consumers are child processes is left out of an exploration, saying why,
/// and the rest is explored; given only such scenarios, there is nothing to explore (exit 2).
#[test]
fn child_process_scenarios_are_left_out_saying_why() {
    let explore = |files: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_qsim"))
            .arg("explore")
            .args(files)
            .args(["--seeds", "3"])
            .output()
            .unwrap()
    };
    let processes = "scenarios.d/dup-graceful-shutdown-process.toml";
    let mixed = explore(&["scenarios.d/happy.toml", processes]);
    let stdout = String::from_utf8_lossy(&mixed.stdout);
    let stderr = String::from_utf8_lossy(&mixed.stderr);
    assert_eq!(mixed.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("PASS happy"), "{stdout}");
    assert!(
        !stdout.contains("dup-graceful-shutdown-process"),
        "{stdout}"
    );
    assert!(
        stderr
            .contains("skipping dup-graceful-shutdown-process: its consumers are child processes"),
        "{stderr}"
    );
    let alone = explore(&[processes]);
    assert_eq!(alone.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&alone.stderr).contains("nothing to explore"));
}
