//! The boto3 conformance suite (`tests/sdk/conformance.py`): an SDK that is not ours exercising
//! the documented SQS and DynamoDB behaviours against each endpoint qsim is compared with. The
//! README's SDK fidelity table (block `sdk-fidelity`, one column per endpoint) is generated from
//! the suite's JSON: a result that changes fails the test, and
//! `QSIM_UPDATE_README=1 cargo test --test all sdk_fidelity` rewrites it.
//!
//! The suite needs Python 3 with boto3: `python3` when it has boto3 (CI installs it), else the
//! virtualenv the moto harness installs moto into (boto3 is one of moto's dependencies).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use qsim::check::snapshot;
use qsim::report::readme;
use serde::Deserialize;

use super::moto::{find_on_path, moto_blocking, target_dir};

const SUITE: &str = "tests/sdk/conformance.py";
const BLOCK: &str = "sdk-fidelity";

/// What the suite writes with `--json`.
#[derive(Debug, Deserialize)]
struct SuiteRun {
    checks: Vec<Check>,
}

#[derive(Debug, Deserialize)]
struct Check {
    id: String,
    behaviour: String,
    source: String,
    result: CheckResult,
    /// The part of the observation that is the same on every run (the JSON's `observed` also
    /// has what varies, e.g. the order an emulator scrambled).
    summary: String,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum CheckResult {
    Pass,
    Deviation,
    Fail,
}

/// Runs the whole suite against `endpoint_url` (any SQS + DynamoDB endpoint speaking the AWS
/// protocols) and returns its checks; panics when the suite itself breaks (exit other than 0
/// "all passed" or 1 "some did not").
fn run_sdk_conformance(endpoint_url: &str) -> SuiteRun {
    let out = tempfile::NamedTempFile::new().unwrap();
    let output = Command::new(python_with_boto3())
        .arg(SUITE)
        .args(["--endpoint", endpoint_url, "--json"])
        .arg(out.path())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .output()
        .expect("run the conformance suite");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{SUITE} against {endpoint_url} broke ({}):\n{stderr}",
        output.status
    );
    let text = std::fs::read_to_string(out.path()).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{SUITE}'s JSON: {e}\n{text}"))
}

/// `python3` when it imports boto3, else the moto virtualenv's python.
pub(crate) fn python_with_boto3() -> PathBuf {
    let has_boto3 = |python: &Path| {
        Command::new(python)
            .args(["-c", "import boto3"])
            .output()
            .is_ok_and(|output| output.status.success())
    };
    let candidates = [
        find_on_path("python3"),
        Some(target_dir().join("moto-venv").join("bin").join("python")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|python| has_boto3(python))
        .unwrap_or_else(|| {
            panic!(
                "{SUITE} needs Python 3 with boto3: `python3 -m pip install boto3` \
                 (.ci/run installs it when missing)"
            )
        })
}

/// `| behaviour | ENDPOINT... |`: one row per check (in the suite's order), linking the
/// documentation it pins, and what each endpoint did.
fn fidelity_table(columns: &[(&str, SuiteRun)]) -> String {
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let mut out = format!(
        "| behaviour | {} |\n|---|{}\n",
        names.join(" | "),
        "---|".repeat(names.len())
    );
    let Some((_, first)) = columns.first() else {
        return out;
    };
    for check in &first.checks {
        let behaviour = match check.source.is_empty() {
            true => check.behaviour.clone(),
            false => format!("[{}]({})", check.behaviour, check.source),
        };
        let cells: Vec<String> = columns
            .iter()
            .map(|(_, run)| {
                let Some(found) = run.checks.iter().find(|c| c.id == check.id) else {
                    return "not run".to_owned();
                };
                let cell = match found.result {
                    CheckResult::Pass => "pass".to_owned(),
                    CheckResult::Deviation => format!("deviation: {}", found.summary),
                    CheckResult::Fail => format!("**FAIL**: {}", found.summary),
                };
                cell.replace('|', "\\|")
            })
            .collect();
        out.push_str(&format!(
            "| {} | {} |\n",
            behaviour.replace('|', "\\|"),
            cells.join(" | ")
        ));
    }
    out
}

/// Every check names its behaviour and the AWS page it pins, and the suite can tell a
/// deviation from a pass (moto deviates in places the documentation names).
fn assert_well_formed(name: &str, run: &SuiteRun) {
    assert!(
        run.checks.len() >= 30,
        "{name}: {} checks",
        run.checks.len()
    );
    for check in &run.checks {
        // A class whose setup failed (an endpoint without DynamoDB) is one row without a source.
        let setup_failed = check.result == CheckResult::Fail && check.source.is_empty();
        assert!(
            setup_failed || check.source.starts_with("https://docs.aws.amazon.com/"),
            "{name}: {} cites no AWS page: {check:?}",
            check.id
        );
        assert!(!check.behaviour.is_empty(), "{name}: {check:?}");
        assert_eq!(
            check.result == CheckResult::Pass,
            check.summary.is_empty(),
            "{name}: a pass observes nothing, anything else says what happened: {check:?}"
        );
    }
}

#[test]
#[allow(
    clippy::print_stderr,
    reason = "says how much wall time the suite took on each endpoint"
)]
fn sdk_fidelity_table_matches_a_fresh_run() {
    let moto = moto_blocking();
    let started = Instant::now();
    let served = qsim::serve::spawn(qsim::serve::ServeOptions {
        port: None,
        envelope: None,
        profile: qsim::sqs::envelope::Profile::Ideal,
        seed: 1,
        events: None,
        tap: None,
        faults: Vec::new(),
    })
    .expect("qsim serve starts");
    let columns = vec![
        ("moto_server", run_sdk_conformance(&moto.endpoint_url())),
        ("qsim serve", run_sdk_conformance(&served.endpoint_url())),
    ];
    served.stop().unwrap();
    eprintln!("sdk conformance: {:.1?} of wall time", started.elapsed());
    for (name, run) in &columns {
        assert_well_formed(name, run);
    }
    let moto_deviations = columns[0]
        .1
        .checks
        .iter()
        .filter(|c| c.result != CheckResult::Pass)
        .count();
    assert!(
        moto_deviations > 0,
        "moto 5.2 deviates (docs/sqs-semantics.md §3): a suite that sees none cannot fail"
    );

    let table = fidelity_table(&columns);
    let _readme = super::readme::LOCK
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let current = std::fs::read_to_string("README.md").unwrap();
    assert!(
        current.contains(&format!("<!-- {BLOCK}:begin -->")),
        "README.md has no {BLOCK} block"
    );
    let fresh = readme::replace_block(&current, BLOCK, &table);
    if std::env::var_os("QSIM_UPDATE_README").is_some() {
        std::fs::write("README.md", &fresh).unwrap();
        return;
    }
    assert!(
        current == fresh,
        "the SDK conformance results changed: if that is expected, run \
         `QSIM_UPDATE_README=1 cargo test --test all sdk_fidelity`\n{}",
        snapshot::diff(&current, &fresh)
    );
}
