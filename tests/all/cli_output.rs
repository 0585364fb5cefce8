//! Whole outputs of the real binary, as a person sees them: exit code, stdout and stderr in one
//! snapshot per case (`tests/snapshots/cli-output/`), with what varies from run to run (wall
//! times, run ids, temporary paths) redacted and nothing else loosened. The progress line at 80
//! columns is `src/cli/progress.rs`'s test (it draws on an in-memory terminal).

use std::process::{Command, Output};

fn qsim(args: &[&str], configure: impl FnOnce(&mut Command)) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_qsim"));
    command
        .args(args)
        .env_remove("INSTA_UPDATE")
        .env_remove("RUST_LOG")
        .env("CI", "true");
    configure(&mut command);
    command.output().expect("qsim runs")
}

/// `exit N`, then stdout and stderr, redacted.
fn whole(output: &Output) -> String {
    let text = |bytes: &[u8]| redact(&String::from_utf8_lossy(bytes));
    format!(
        "exit {}\n--- stdout\n{}--- stderr\n{}",
        output
            .status
            .code()
            .map_or("none".to_owned(), |c| c.to_string()),
        text(&output.stdout),
        text(&output.stderr)
    )
}

/// Wall times (`wall 3ms`) and AWS run ids (`qsim-happy-1a2b3c4d-dlq`) differ on every run.
fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let line = match line.find("  wall ") {
            Some(at) => {
                let rest = &line[at + "  wall ".len()..];
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                format!("{}  wall [time]{}", &line[..at], &rest[end..])
            }
            None => line.to_owned(),
        };
        out.push_str(&redact_run_ids(&line));
    }
    out
}

/// `qsim-NAME-XXXXXXXX` (eight hex digits) → `qsim-NAME-[run]`.
fn redact_run_ids(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find("qsim-") {
        out.push_str(&rest[..at]);
        let name_end = rest[at..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .map_or(rest.len(), |end| at + end);
        let name = &rest[at..name_end];
        let redacted = name
            .split('-')
            .map(|part| {
                if part.len() == 8 && part.chars().all(|c| c.is_ascii_hexdigit()) {
                    "[run]"
                } else {
                    part
                }
            })
            .collect::<Vec<_>>()
            .join("-");
        out.push_str(&redacted);
        rest = &rest[name_end..];
    }
    out.push_str(rest);
    out
}

macro_rules! assert_output {
    ($name:literal, $output:expr) => {{
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path("../snapshots/cli-output");
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_snapshot!($name, whole(&$output)));
    }};
}

#[test]
fn a_pass() {
    assert_output!("pass", qsim(&["run", "scenarios.d/happy.toml"], |_| {}));
}

#[test]
fn a_failure_with_its_explanation() {
    let output = qsim(
        &["run", "tests/fixtures/html/killed-worker.toml", "--explain"],
        |_| {},
    );
    assert_eq!(output.status.code(), Some(1));
    assert_output!("failure-explained", output);
}

#[test]
fn a_bad_file() {
    let output = qsim(
        &["validate", "tests/fixtures/invalid/many-problems.toml"],
        |_| {},
    );
    assert_eq!(output.status.code(), Some(2));
    assert_output!("bad-file", output);
}

#[test]
fn a_backend_error_states_its_cause_once() {
    // Nothing listens on port 1: the connection is refused at once.
    let output = qsim(
        &[
            "run",
            "scenarios.d/happy.toml",
            "--backend",
            "aws",
            "--endpoint-url",
            "http://127.0.0.1:1",
            "--region",
            "us-east-1",
        ],
        |c| {
            c.env("AWS_ACCESS_KEY_ID", "test")
                .env("AWS_SECRET_ACCESS_KEY", "test")
                .env_remove("AWS_PROFILE")
                .env_remove("AWS_ENDPOINT_URL");
        },
    );
    assert_eq!(output.status.code(), Some(3));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.matches("Connection refused").count(), 1, "{stdout}");
    assert_output!("backend-error", output);
}

#[test]
fn a_malformed_history() {
    let output = qsim(
        &[
            "report",
            "tests/fixtures/history/malformed.jsonl",
            "-o",
            std::env::temp_dir()
                .join("qsim-malformed.html")
                .to_str()
                .unwrap(),
        ],
        |_| {},
    );
    assert_eq!(output.status.code(), Some(2));
    assert_output!("malformed-history", output);
}

#[test]
fn list() {
    assert_output!("list", qsim(&["list", "--tag", "fifo"], |_| {}));
}

#[test]
fn validate() {
    assert_output!(
        "validate",
        qsim(
            &["validate", "scenarios.d/happy.toml", "scenarios.d/dup.toml"],
            |_| {}
        )
    );
}

#[test]
fn explain() {
    assert_output!(
        "explain",
        qsim(
            &["explain", "tests/fixtures/html/killed-worker.toml"],
            |_| {}
        )
    );
}

#[test]
fn redaction_keeps_everything_but_times_and_run_ids() {
    assert_eq!(
        redact("PASS happy  sim 3.0s  wall 12ms\nCreateQueue on qsim-happy-dbea6cc6-dlq: x\n"),
        "PASS happy  sim 3.0s  wall [time]\nCreateQueue on qsim-happy-[run]-dlq: x\n"
    );
    assert_eq!(redact("qsim-dup-7 qsim-a-b"), "qsim-dup-7 qsim-a-b");
}
