//! The real `qsim` binary against a real moto_server: the catalog's fast set passes with the
//! simulator's own snapshots (the differential check), and no run leaves anything behind, while
//! resources qsim did not create are never touched.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::moto::{Moto, exclusive_moto, queue_names_with_prefix, table_names};

/// The real binary against `moto`, with moto's dummy credentials and nothing from the host's AWS
/// settings; in CI mode (a missing snapshot fails).
pub(crate) fn qsim(moto: &Moto, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_qsim"));
    command
        .args(args)
        .args([
            "--endpoint-url",
            &moto.endpoint_url(),
            "--region",
            "us-east-1",
        ])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("INSTA_UPDATE")
        .env("CI", "true");
    command
}

fn run(moto: &Moto, args: &[&str]) -> Output {
    qsim(moto, args).output().expect("qsim runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every queue and table name on the endpoint, sorted.
fn resources(runtime: &tokio::runtime::Runtime, moto: &Moto) -> (Vec<String>, Vec<String>) {
    runtime.block_on(async {
        let queues = queue_names_with_prefix(&moto.sqs().await, "").await;
        (queues, table_names(&moto.dynamodb().await).await)
    })
}

/// The queues and tables a qsim run created and did not delete.
pub(crate) fn resources_left(
    runtime: &tokio::runtime::Runtime,
    moto: &Moto,
) -> (Vec<String>, Vec<String>) {
    let (queues, tables) = resources(runtime, moto);
    let owned = |names: &[String]| qsim_owned(names).into_iter().cloned().collect();
    (owned(&queues), owned(&tables))
}

fn qsim_owned(names: &[String]) -> Vec<&String> {
    names
        .iter()
        .filter(|n| n.starts_with("qsim-") && !n.starts_with("qsim-foreign"))
        .collect()
}

#[test]
fn fast_catalog_passes_on_moto_with_the_simulator_snapshots() {
    let (runtime, moto) = exclusive_moto();
    let output = run(
        &moto,
        &[
            "run-all",
            "--tag",
            "fast",
            "--backend",
            "aws",
            "--jobs",
            "6",
        ],
    );
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    let lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("PASS") || l.starts_with("SKIP"))
        .collect();
    assert!(
        lines.iter().filter(|l| l.starts_with("PASS")).count() >= 10,
        "{stdout}"
    );
    for skip in lines.iter().filter(|l| l.starts_with("SKIP")) {
        assert!(
            skip.contains("aws lacks: "),
            "a skip names the missing capability: {skip}"
        );
    }
    // The scenarios moto cannot show are skipped for a named reason, never passed silently.
    assert!(
        stdout.contains("SKIP dlq-redrive") && stdout.contains("StartMessageMoveTask"),
        "{stdout}"
    );
    let (queues, tables) = resources(&runtime, &moto);
    assert!(
        qsim_owned(&queues).is_empty() && qsim_owned(&tables).is_empty(),
        "{queues:?} {tables:?}"
    );
}

#[test]
fn no_run_leaves_resources_behind_and_foreign_ones_are_never_touched() {
    let (runtime, moto) = exclusive_moto();
    runtime.block_on(async {
        let sqs = moto.sqs().await;
        for name in ["qsim-foreign", "orders"] {
            sqs.create_queue().queue_name(name).send().await.unwrap();
        }
    });

    // A failing run.
    let failing = run(
        &moto,
        &[
            "run",
            "tests/fixtures/failing/happy-wrong-expectation.toml",
            "--backend",
            "aws",
        ],
    );
    assert_eq!(failing.status.code(), Some(1), "{}", text(&failing.stdout));

    // An interrupted run: Ctrl-C once its queues exist.
    let child = qsim(
        &moto,
        &[
            "run",
            "scenarios.d/backlog-drain.toml",
            "--backend",
            "aws",
            "--endpoint-max-rate",
            "0",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let started = Instant::now();
    while qsim_owned(&resources(&runtime, &moto).0).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the run never created its queues"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let interrupted = child.wait_with_output().unwrap();
    assert_eq!(
        interrupted.status.code(),
        Some(130),
        "{}",
        text(&interrupted.stdout)
    );
    assert!(
        text(&interrupted.stdout).contains("STOP backlog-drain"),
        "{}",
        text(&interrupted.stdout)
    );

    // A kept run, then cleanup.
    let kept = run(
        &moto,
        &[
            "run",
            "scenarios.d/happy.toml",
            "--backend",
            "aws",
            "--keep",
        ],
    );
    assert_eq!(kept.status.code(), Some(0), "{}", text(&kept.stdout));
    let (queues, tables) = resources(&runtime, &moto);
    assert_eq!(qsim_owned(&queues).len(), 2, "{queues:?}");
    assert_eq!(qsim_owned(&tables).len(), 2, "{tables:?}");
    let dry = run(&moto, &["cleanup", "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0));
    assert!(
        text(&dry.stdout).contains("would delete queue qsim-happy-"),
        "{}",
        text(&dry.stdout)
    );
    assert_eq!(
        qsim_owned(&resources(&runtime, &moto).0).len(),
        2,
        "a dry run deletes nothing"
    );
    let cleanup = run(&moto, &["cleanup"]);
    assert_eq!(cleanup.status.code(), Some(0), "{}", text(&cleanup.stderr));
    assert!(
        text(&cleanup.stdout).contains("skipped queue qsim-foreign"),
        "{}",
        text(&cleanup.stdout)
    );

    let (queues, tables) = resources(&runtime, &moto);
    assert_eq!(
        queues,
        ["orders", "qsim-foreign"],
        "only what qsim did not create is left"
    );
    assert!(tables.is_empty(), "{tables:?}");
}

/// A scenario that sends faster than the endpoint is declared to take is skipped before anything
/// is created, naming why; `--endpoint-max-rate 0` lifts the bound. No endpoint is needed to
/// decide: the port answers nothing.
#[test]
fn a_scenario_faster_than_the_endpoint_is_skipped_saying_so() {
    let qsim = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_qsim"))
            .args(["run", "scenarios.d/backlog-drain.toml", "--backend", "aws"])
            .args([
                "--endpoint-url",
                "http://127.0.0.1:9",
                "--region",
                "us-east-1",
            ])
            .args(extra)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL")
            .env("CI", "true")
            .output()
            .expect("qsim runs")
    };
    let skipped = qsim(&[]);
    let stdout = text(&skipped.stdout);
    assert_eq!(skipped.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("SKIP backlog-drain"), "{stdout}");
    assert!(stdout.contains("--endpoint-max-rate"), "{stdout}");
    // Declared fast enough, it tries, and the silent port makes it a backend error.
    let tried = qsim(&["--endpoint-max-rate", "200"]);
    assert_eq!(tried.status.code(), Some(3), "{}", text(&tried.stdout));
}

/// Off a terminal, each scenario running on a real backend prints progress lines of its own,
/// with `--jobs` too, counting processed messages as its result line does.
#[test]
fn each_scenario_prints_progress_lines_off_a_terminal() {
    let (_runtime, moto) = exclusive_moto();
    let output = run(
        &moto,
        &[
            "run",
            "scenarios.d/happy.toml",
            "scenarios.d/crash.toml",
            "--backend",
            "aws",
            "--jobs",
            "2",
        ],
    );
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    for name in ["happy", "crash"] {
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with(&format!("{name}: ")))
            .collect();
        assert!(!lines.is_empty(), "no progress line for {name}:\n{stderr}");
        for line in &lines {
            assert!(line.contains(" elapsed · sent "), "{line}");
        }
        // A progress line never counts more processed messages than the result line.
        let result = stdout
            .lines()
            .find(|l| l.starts_with(&format!("PASS {name} ")))
            .unwrap_or_else(|| panic!("{stdout}"));
        let processed = |text: &str, key: &str| -> u64 {
            let at = text.find(key).unwrap() + key.len();
            let digits: String = text[at..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().unwrap()
        };
        let final_count = processed(result, "processed=");
        for line in &lines {
            assert!(
                processed(line, "processed ") <= final_count,
                "{line} vs {result}"
            );
        }
    }
}
