//! The real `qsim` binary, end to end: exit codes, stdout, stderr, files it writes.

use std::path::Path;
use std::process::{Command, Output};

fn qsim(args: &[&str], configure: impl FnOnce(&mut Command)) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_qsim"));
    command
        .args(args)
        .env_remove("INSTA_UPDATE")
        .env("CI", "true");
    configure(&mut command);
    command.output().expect("qsim runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Wall-clock times vary run to run; everything else in the output is deterministic.
fn redact_wall(stdout: &str) -> String {
    stdout
        .lines()
        .map(|line| match line.find("  wall ") {
            Some(at) => format!("{}  wall [redacted]", &line[..at]),
            None => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn run_passes_and_exits_0() {
    let output = qsim(&["run", "scenarios.d/happy.toml"], |_| {});
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    insta::assert_snapshot!(redact_wall(&text(&output.stdout)), @r"
    PASS happy                    sent=5 processed=5 dlq=0 effects=5  sim 3.0s  wall [redacted]
    qsim: 1 passed, 0 failed, 0 skipped
    ");
}

#[test]
fn failed_invariant_exits_1_with_details_and_reproduce_command() {
    let snapshots = tempfile::tempdir().unwrap();
    let output = qsim(
        &[
            "run",
            "tests/fixtures/failing/happy-wrong-expectation.toml",
            "--snapshots",
            snapshots.path().to_str().unwrap(),
        ],
        |c| {
            c.env_remove("CI");
        },
    );
    assert_eq!(output.status.code(), Some(1));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("✗ processed: expected 4, got 5"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "reproduce: qsim run tests/fixtures/failing/happy-wrong-expectation.toml --seed 1"
        ),
        "{stdout}"
    );
}

#[test]
fn new_scenario_writes_a_pending_snapshot_and_fails_in_ci() {
    let dir = tempfile::tempdir().unwrap();
    let scenarios = dir.path().join("scenarios.d");
    std::fs::create_dir(&scenarios).unwrap();
    let happy = std::fs::read_to_string("scenarios.d/happy.toml").unwrap();
    let file = scenarios.join("fresh.toml");
    std::fs::write(
        &file,
        happy.replace("name        = \"happy\"", "name        = \"fresh\""),
    )
    .unwrap();
    let file = file.to_str().unwrap();

    let in_ci = qsim(&["run", file], |_| {});
    assert_eq!(in_ci.status.code(), Some(1), "{}", text(&in_ci.stdout));
    assert!(
        text(&in_ci.stdout).contains("snapshot missing"),
        "{}",
        text(&in_ci.stdout)
    );
    assert!(
        !dir.path().join("snapshots").exists(),
        "CI must not write snapshots"
    );

    let local = qsim(&["run", file], |c| {
        c.env_remove("CI");
    });
    assert_eq!(local.status.code(), Some(0), "{}", text(&local.stdout));
    assert!(
        text(&local.stdout).contains("new snapshot pending review"),
        "{}",
        text(&local.stdout)
    );
    let pending = dir.path().join("snapshots/fresh.snap.new");
    assert!(pending.exists());

    std::fs::rename(&pending, dir.path().join("snapshots/fresh.snap")).unwrap();
    let accepted = qsim(&["run", file], |_| {});
    assert_eq!(
        accepted.status.code(),
        Some(0),
        "{}",
        text(&accepted.stdout)
    );
}

#[test]
fn other_seed_checks_invariants_and_skips_the_snapshot() {
    let output = qsim(&["run", "scenarios.d/poison.toml", "--seed", "99"], |_| {});
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stdout));
    assert!(
        text(&output.stdout).contains("seed 99 is not the file's seed 1"),
        "{}",
        text(&output.stdout)
    );
}

#[test]
fn invalid_file_exits_2_and_runs_nothing() {
    let fixtures: Vec<_> = std::fs::read_dir("tests/fixtures/invalid")
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let bad = fixtures
        .first()
        .expect("invalid fixtures exist")
        .to_str()
        .unwrap()
        .to_owned();
    let output = qsim(&["run", "scenarios.d/happy.toml", &bad], |_| {});
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stdout).is_empty(),
        "nothing ran: {}",
        text(&output.stdout)
    );
    assert!(
        text(&output.stderr).contains(&bad),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn events_are_written_as_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("crash.jsonl");
    let output = qsim(
        &[
            "run",
            "scenarios.d/crash.toml",
            "--events",
            events.to_str().unwrap(),
        ],
        |_| {},
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stdout));
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap()).collect();
    assert!(
        kinds.contains(&"crashed") && kinds.contains(&"deleted"),
        "{kinds:?}"
    );
    let receives: Vec<u64> = lines
        .iter()
        .filter(|l| l["event"] == "received")
        .map(|l| l["receive_count"].as_u64().unwrap())
        .collect();
    assert_eq!(receives, vec![1, 2]);
}

#[test]
fn list_and_schema() {
    let list = qsim(&["list", "--tag", "dlq"], |_| {});
    assert_eq!(list.status.code(), Some(0));
    let names: Vec<String> = text(&list.stdout)
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        ["dlq-redrive", "poison-partial-batch", "poison"],
        "file-name order"
    );
    let schema = qsim(&["schema"], |_| {});
    assert_eq!(schema.status.code(), Some(0));
    let committed = std::fs::read_to_string(Path::new("qsim.schema.json")).unwrap();
    assert_eq!(
        text(&schema.stdout).trim_end(),
        committed.trim_end(),
        "qsim.schema.json is stale: run `cargo run -- schema > qsim.schema.json`"
    );
}

#[test]
fn junit_report_has_one_case_per_scenario_with_failures_marked() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("qsim.xml");
    let output = qsim(
        &[
            "run",
            "scenarios.d/happy.toml",
            "tests/fixtures/failing/happy-wrong-expectation.toml",
            "--snapshots",
            dir.path().to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
        ],
        |c| {
            c.env_remove("CI");
        },
    );
    assert_eq!(output.status.code(), Some(1));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains(r#"<testsuite name="qsim" tests="2" failures="1" skipped="0""#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"name="happy""#) && xml.contains(r#"name="happy-wrong-expectation""#),
        "{xml}"
    );
    assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");
    assert!(xml.contains("expected 4, got 5"), "{xml}");
    // Every metric of both runs as a property, whether the scenario expects it or not.
    assert_eq!(
        xml.matches("<property ").count(),
        2 * qsim::scenario::Metric::ALL.len(),
        "{xml}"
    );
    assert_eq!(
        xml.matches(r#"<property name="metric.processed" value="5"/>"#)
            .count(),
        2,
        "{xml}"
    );
}
