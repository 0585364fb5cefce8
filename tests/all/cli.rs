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
    PASS happy                    sent=5 processed=5 dlq=0 effects=5 calls=26 $0.000012  sim 3.0s  wall [redacted]
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
fn a_file_named_from_inside_its_folder_finds_its_snapshot() {
    // With CI set, a snapshot looked for in the wrong folder fails the run as missing.
    let output = qsim(&["run", "happy.toml"], |c| {
        c.current_dir("scenarios.d");
    });
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stdout));
    assert!(
        !text(&output.stdout).contains("snapshot"),
        "{}",
        text(&output.stdout)
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
    assert_eq!(lines[0]["format"], "qsim-events");
    assert_eq!(lines[0]["version"], 1);
    let kinds: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l["event"].as_str().unwrap())
        .collect();
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
        [
            "ack-always-loses-poison",
            "dlq-redrive",
            "fifo-poison-breaks-order",
            "lambda-throttle-dlq-fixed",
            "lambda-throttle-dlq",
            "poison-partial-batch",
            "poison"
        ],
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
    let suite = xml
        .lines()
        .find(|l| l.trim_start().starts_with("<testsuite "))
        .unwrap_or_else(|| panic!("a <testsuite> element: {xml}"));
    for attribute in [
        r#"name="qsim""#,
        r#"tests="2""#,
        r#"failures="1""#,
        r#"skipped="0""#,
        r#"errors="0""#,
    ] {
        assert!(suite.contains(attribute), "{attribute}: {suite}");
    }
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

/// The messages a scenario file's producers send, from the file itself.
fn count_in_file(path: &str) -> u64 {
    let scenario = qsim::scenario::load(Path::new(path)).unwrap();
    scenario
        .producers
        .iter()
        .map(|p| match p.amount {
            qsim::scenario::Amount::Count(n) => n,
            _ => panic!("{path}: a producer without a fixed count"),
        })
        .sum()
}

#[test]
fn json_report_has_each_verdict_every_metric_and_each_expectation() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("qsim.json");
    let failing = "tests/fixtures/failing/happy-wrong-expectation.toml";
    let output = qsim(
        &[
            "run",
            "scenarios.d/happy.toml",
            failing,
            "--report",
            report.to_str().unwrap(),
        ],
        |_| {},
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("FAIL happy-wrong-expectation"),
        "the human summary stays on stdout: {stdout}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["format"], "qsim-report");
    assert_eq!(json["version"], 1);
    assert_eq!(
        (&json["passed"], &json["failed"], &json["skipped"]),
        (&1.into(), &1.into(), &0.into())
    );
    let scenarios = json["scenarios"].as_array().unwrap();
    let names: Vec<&str> = scenarios
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["happy", "happy-wrong-expectation"]);

    let happy = &scenarios[0];
    let sent = count_in_file("scenarios.d/happy.toml");
    assert_eq!(happy["status"], "passed");
    assert_eq!(happy["file"], "scenarios.d/happy.toml");
    assert_eq!(
        (&happy["backend"], &happy["seed"]),
        (&"sim".into(), &1.into())
    );
    assert_eq!(happy["ending"], "completed");
    assert_eq!(happy["elapsed_seconds"], 3.0, "the summary says `sim 3.0s`");
    assert_eq!(happy["snapshot"]["status"], "matched");
    let metrics = happy["metrics"].as_object().unwrap();
    assert_eq!(metrics.len(), qsim::scenario::Metric::ALL.len());
    assert_eq!(metrics["sent"], sent);
    assert_eq!(metrics["processed"], sent);
    assert_eq!(
        metrics["dlq"], 0,
        "reported though happy does not expect it"
    );
    let processed = happy["fates"]["processed"].as_array().unwrap();
    assert_eq!(processed.len() as u64, sent);
    assert_eq!(
        happy["fates"].as_object().unwrap().len(),
        1,
        "{}",
        happy["fates"]
    );

    let failed = &scenarios[1];
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["file"], failing);
    assert_eq!(failed["snapshot"]["status"], "missing-in-ci");
    assert_eq!(failed["metrics"]["sent"], count_in_file(failing));
    let expectations = failed["expectations"].as_array().unwrap();
    let wrong: Vec<&serde_json::Value> =
        expectations.iter().filter(|e| e["pass"] == false).collect();
    assert_eq!(wrong.len(), 1, "{expectations:?}");
    let wrong = wrong[0];
    assert_eq!(wrong["metric"], "processed");
    assert_eq!(wrong["scope"], serde_json::Value::Null);
    assert_eq!(wrong["expected"], 4);
    assert_ne!(wrong["actual"], wrong["expected"]);
    assert_eq!(wrong["actual"], failed["metrics"]["processed"]);
    assert!(
        expectations
            .iter()
            .filter(|e| e["pass"] == true)
            .all(|e| e["actual"] == failed["metrics"][e["metric"].as_str().unwrap()]),
        "{expectations:?}"
    );
    // The same reproduce command as the summary prints.
    let reproduce = failed["reproduce"].as_str().unwrap();
    assert_eq!(reproduce, format!("qsim run {failing} --seed 1"));
    assert!(
        stdout.contains(&format!("reproduce: {reproduce}")),
        "{stdout}"
    );
}

#[test]
fn json_report_on_stdout_moves_the_summary_to_stderr() {
    let output = qsim(
        &[
            "run-all",
            "--dir",
            "tests/fixtures/failing",
            "--report",
            "-",
        ],
        |_| {},
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("stdout is only the report ({e}): {}", text(&output.stdout)));
    assert_eq!(json["failed"], 1);
    assert_eq!(json["scenarios"][0]["name"], "happy-wrong-expectation");
    let stderr = text(&output.stderr);
    assert!(stderr.contains("FAIL happy-wrong-expectation"), "{stderr}");
    assert!(
        stderr.contains("✗ processed: expected 4, got 5"),
        "{stderr}"
    );
    assert!(
        stderr.contains("qsim: 0 passed, 1 failed, 0 skipped"),
        "{stderr}"
    );
}

#[test]
fn unwritable_report_path_exits_2_before_running_anything() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("no-such-folder/qsim.json");
    let output = qsim(
        &[
            "run",
            "scenarios.d/happy.toml",
            "--report",
            report.to_str().unwrap(),
        ],
        |_| {},
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stdout).is_empty(),
        "nothing ran: {}",
        text(&output.stdout)
    );
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("cannot write the report to") && stderr.contains("no-such-folder"),
        "{stderr}"
    );
}

#[test]
fn unwritable_junit_or_events_paths_exit_2_before_running_anything() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-folder/out");
    for flag in ["--junit", "--events"] {
        let output = qsim(
            &[
                "run",
                "scenarios.d/happy.toml",
                flag,
                missing.to_str().unwrap(),
            ],
            |_| {},
        );
        assert_eq!(output.status.code(), Some(2), "{flag}");
        assert!(text(&output.stdout).is_empty(), "{flag}: nothing ran");
        assert!(text(&output.stderr).contains("no-such-folder"), "{flag}");
    }
}

#[test]
fn only_the_report_takes_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let happy = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios.d/happy.toml");
    for flag in ["--junit", "--events", "--html"] {
        let output = qsim(&["run", happy.to_str().unwrap(), flag, "-"], |c| {
            c.current_dir(dir.path());
        });
        assert_eq!(output.status.code(), Some(2), "{flag}");
        assert!(text(&output.stdout).is_empty(), "{flag}: nothing ran");
        assert!(
            text(&output.stderr).contains(&format!("{flag} -: this output goes to a file")),
            "{flag}: {}",
            text(&output.stderr)
        );
        assert!(!dir.path().join("-").exists(), "{flag}: no file named -");
    }
}

#[test]
fn two_files_with_one_name_are_both_named() {
    let dir = tempfile::tempdir().unwrap();
    for file in ["a.toml", "b.toml"] {
        std::fs::copy("scenarios.d/happy.toml", dir.path().join(file)).unwrap();
    }
    let output = qsim(&["run-all", "--dir", dir.path().to_str().unwrap()], |_| {});
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("a.toml") && stderr.contains("b.toml") && stderr.contains("`happy`"),
        "{stderr}"
    );
}

#[test]
fn a_failed_write_to_stdout_exits_2_naming_it() {
    for args in [
        &["schema"][..],
        &["list"],
        &["validate", "scenarios.d/happy.toml"],
        &["run", "scenarios.d/happy.toml"],
    ] {
        let output = qsim(args, |c| {
            let full = std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .expect("/dev/full exists on Linux");
            c.stdout(full);
        });
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = text(&output.stderr);
        assert!(
            stderr.starts_with("error: writing to stdout: No space left on device"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn a_reader_that_went_away_ends_the_output_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_qsim"))
        .arg("schema")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("qsim runs");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("qsim ends");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(text(&output.stderr), "");
}

/// `qsim explain FILE`'s stdout, for a file whose checks fail (exit 1).
fn explain_failing(file: &str) -> String {
    let output = qsim(&["explain", file], |_| {});
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    text(&output.stdout)
}

#[test]
fn explain_tells_each_failed_check_from_the_history_and_exits_1() {
    insta::assert_snapshot!(explain_failing("tests/fixtures/html/killed-worker.toml"), @r"
    FAIL killed-worker (seed 3)
    ✗ max_attempts: expected 1, got 2
      orders-0004 processed: sent by orders at 1.5 s, received by worker-1 at 2.0 s (receive 1), worker-1 killed at 3.2 s, visibility expired at 12.0 s, received by worker-2 at 27.0 s (receive 2), side effect by worker-2 at 28.5 s, deleted by worker-2 at 28.5 s
    ✗ redelivered: expected 0, got 1
      orders-0004 processed: sent by orders at 1.5 s, received by worker-1 at 2.0 s (receive 1), worker-1 killed at 3.2 s, visibility expired at 12.0 s, received by worker-2 at 27.0 s (receive 2), side effect by worker-2 at 28.5 s, deleted by worker-2 at 28.5 s
    ");
}

#[test]
fn html_path_that_cannot_be_written_exits_2_before_running() {
    let output = qsim(
        &[
            "run",
            "scenarios.d/happy.toml",
            "--html",
            "/nonexistent/dir/r.html",
        ],
        |_| {},
    );
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    assert!(text(&output.stdout).is_empty(), "nothing ran");
}

#[test]
fn explain_tells_a_lost_message_and_a_phantom_from_the_dual_writes() {
    insta::assert_snapshot!(explain_failing("tests/fixtures/html/dual-write-wrong.toml"), @r"
    FAIL dual-write-wrong (seed 1)
    ✗ lost_business_records: expected 0, got 1
      checkout-0001 not-sent: business record committed by checkout at 0.0 s, checkout crashed at 0.0 s, after committing its record, before sending it
    ✗ phantom_messages: expected 0, got 1
      billing-0001 processed: sent by billing at 0.0 s, billing crashed at 0.0 s, after sending it, before the write that follows, received by worker-1 at 0.0 s (receive 1), side effect by worker-1 at 0.0 s, deleted by worker-1 at 0.0 s
    ");
}

#[test]
fn explain_finds_the_messages_behind_a_duplicated_side_effect_by_its_key() {
    insta::assert_snapshot!(explain_failing("tests/fixtures/html/dup-naive-wrong.toml"), @r"
    FAIL dup-naive-wrong (seed 7)
    ✗ duplicated_effects: expected 0, got 1
      orders-0001 processed: sent by orders at 0.0 s, received by worker-1 at 0.0 s (receive 1), visibility expired at 2.0 s, received by worker-2 at 2.0 s (receive 2), side effect by worker-1 at 3.0 s, stale receipt at 3.0 s: the delete used the receipt of an earlier receive, and SQS deleted the message, deleted by worker-1 at 3.0 s, side effect by worker-2 at 5.0 s, deleted by worker-2 at 5.0 s
    ");
}

#[test]
fn completions_and_man_pages_cover_every_subcommand() {
    let subcommands = [
        "run", "run-all", "explore", "explain", "report", "bench", "man",
    ];
    for shell in ["bash", "zsh", "fish"] {
        let output = qsim(&["completions", shell], |_| {});
        assert_eq!(output.status.code(), Some(0), "{shell}");
        let script = text(&output.stdout);
        for subcommand in subcommands {
            assert!(script.contains(subcommand), "{shell} lacks {subcommand}");
        }
        // fish spells a long flag `-l explain`.
        let flag = if shell == "fish" {
            "-l explain"
        } else {
            "--explain"
        };
        assert!(script.contains(flag), "{shell} lacks run's flags");
    }
    let page = text(&qsim(&["man"], |_| {}).stdout);
    assert!(
        page.starts_with(".ie") && page.contains(".TH qsim 1"),
        "{page}"
    );
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man1");
    let output = qsim(&["man", "--dir", pages.to_str().unwrap()], |_| {});
    assert_eq!(output.status.code(), Some(0));
    for subcommand in subcommands {
        let page = pages.join(format!("qsim-{subcommand}.1"));
        assert!(page.exists(), "{}", page.display());
    }
}

#[test]
fn bench_runs_its_built_in_scenario_from_any_folder() {
    let elsewhere = tempfile::tempdir().unwrap();
    let output = qsim(&["bench", "--messages", "1000"], |c| {
        c.current_dir(elsewhere.path());
    });
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).starts_with("bench million: 1000 messages processed"),
        "{}",
        text(&output.stdout)
    );
}
