//! The AWS path never hangs and never orphans, with the real `qsim` binary: a silent endpoint
//! ends in bounded time with exit 3, an unreachable one stops `run-all` after one error,
//! SIGTERM deletes the run's resources and exits 143, Ctrl-C with `--jobs` reports every
//! scenario's state, and a failed teardown names what is left and the `qsim cleanup` command.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::moto::{Moto, exclusive_moto, queue_names_with_prefix, table_names};

/// `qsim ARGS --endpoint-url ENDPOINT --region us-east-1`, with dummy credentials.
fn qsim(endpoint: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_qsim"));
    command
        .args(args)
        .args(["--endpoint-url", endpoint, "--region", "us-east-1"])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("INSTA_UPDATE")
        .env("CI", "true");
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        text(&output.stdout),
        text(&output.stderr)
    )
}

/// Every queue and table name on the endpoint that a qsim run created.
fn qsim_resources(runtime: &tokio::runtime::Runtime, moto: &Moto) -> Vec<String> {
    runtime.block_on(async {
        let mut names = queue_names_with_prefix(&moto.sqs().await, "qsim-").await;
        names.extend(
            table_names(&moto.dynamodb().await)
                .await
                .into_iter()
                .filter(|name| name.starts_with("qsim-")),
        );
        names
    })
}

/// Waits until a run has created its queues and tables.
fn wait_for_resources(runtime: &tokio::runtime::Runtime, moto: &Moto, at_least: usize) {
    let started = Instant::now();
    while qsim_resources(runtime, moto).len() < at_least {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the run never created its resources"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A qsim process that is killed if the test fails before waiting for it, so that it cannot
/// leave resources behind for the next test.
struct Running(Option<Child>);

impl Running {
    fn spawn(mut command: Command) -> Running {
        let child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Running(Some(child))
    }

    fn signal(&self, name: &str) {
        let pid = self.0.as_ref().expect("running").id().to_string();
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    fn wait(mut self) -> Output {
        self.0.take().expect("running").wait_with_output().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A loopback proxy to `upstream` that forwards everything except a request whose bytes contain
/// `stall` (its `X-Amz-Target`): that one is neither forwarded nor answered, and its connection
/// hangs until the client closes it. Returns the proxy's endpoint URL.
fn stalling_proxy(upstream: SocketAddr, stall: &'static str) -> String {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { break };
            let Ok(server) = TcpStream::connect(upstream) else {
                continue;
            };
            let (mut from_client, mut to_server) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            let (mut from_server, mut to_client) = (server, client);
            std::thread::spawn(move || {
                let mut buffer = vec![0u8; 1 << 16];
                let mut stalled = false;
                while let Ok(n) = from_client.read(&mut buffer) {
                    if n == 0 {
                        break;
                    }
                    stalled = stalled
                        || buffer[..n]
                            .windows(stall.len())
                            .any(|w| w == stall.as_bytes());
                    if !stalled && to_server.write_all(&buffer[..n]).is_err() {
                        break;
                    }
                }
                let _ = to_server.shutdown(std::net::Shutdown::Both);
            });
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut from_server, &mut to_client);
            });
        }
    });
    format!("http://{address}")
}

/// A slow scenario named `name`: two producers over ~60 s, one slow consumer.
fn slow_scenario(dir: &Path, name: &str) {
    let toml = format!(
        r#"
[scenario]
name        = "{name}"
description = "slow enough to be interrupted"
seed        = 1
timeout     = "5m"

[queue]
kind         = "standard"
receive_wait = "1s"

[[producers]]
name  = "orders"
count = 600
rate  = "10/s"

[[consumers]]
name         = "worker"
idle_timeout = "5s"

[expect]
sent = 600
"#
    );
    std::fs::write(dir.join(format!("{name}.toml")), toml).unwrap();
}

#[test]
fn an_endpoint_that_accepts_and_never_answers_ends_the_run_in_bounded_time() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    // Accepts every connection and reads what comes, never answering; the connections stay
    // open until the test process ends.
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            std::thread::spawn(move || {
                let mut sink = [0u8; 4096];
                while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
            });
        }
    });
    let started = Instant::now();
    let output = qsim(
        &endpoint,
        &["run", "scenarios.d/happy.toml", "--backend", "aws"],
    )
    .output()
    .unwrap();
    let took = started.elapsed();
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("ERROR happy") && stdout.contains("unreachable or did not answer"),
        "{}",
        describe(&output)
    );
    // The default operation timeout (25 s) plus the process's own start and stop.
    assert!(took < Duration::from_secs(40), "took {took:?}");
}

#[test]
fn run_all_stops_starting_scenarios_once_the_endpoint_is_unreachable() {
    // A port nothing listens on: connections are refused.
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let output = qsim(&endpoint, &["run-all", "--tag", "fast", "--backend", "aws"])
        .output()
        .unwrap();
    let took = started.elapsed();
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
    let stdout = text(&output.stdout);
    let errors: Vec<&str> = stdout.lines().filter(|l| l.starts_with("ERROR")).collect();
    assert_eq!(errors.len(), 1, "one clear error: {}", describe(&output));
    let not_run = stdout
        .lines()
        .filter(|l| l.starts_with("NOT-RUN"))
        .collect::<Vec<_>>();
    assert!(not_run.len() >= 5, "{}", describe(&output));
    assert!(
        not_run
            .iter()
            .all(|l| l.contains("not started: the endpoint was unreachable during")),
        "{}",
        describe(&output)
    );
    // Each call is retried (connection refused is transient), and every attempt is counted.
    assert!(
        stdout.contains("api requests sent, SDK retries included: 4 (CreateQueue 4)"),
        "{}",
        describe(&output)
    );
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

#[test]
fn sigterm_deletes_the_run_s_resources_and_exits_143() {
    let (runtime, moto) = exclusive_moto();
    let child = Running::spawn(qsim(
        &moto.endpoint_url(),
        &[
            "run",
            "scenarios.d/backlog-drain.toml",
            "--backend",
            "aws",
            "--endpoint-max-rate",
            "0",
        ],
    ));
    wait_for_resources(&runtime, &moto, 3);
    std::thread::sleep(Duration::from_secs(1));
    child.signal("TERM");
    let output = child.wait();
    assert_eq!(output.status.code(), Some(143), "{}", describe(&output));
    assert!(
        text(&output.stdout).contains("STOP backlog-drain")
            && text(&output.stdout).contains("interrupted by SIGTERM; its resources were deleted"),
        "{}",
        describe(&output)
    );
    assert_eq!(qsim_resources(&runtime, &moto), Vec::<String>::new());
}

#[test]
fn ctrl_c_with_jobs_reports_every_scenario_s_state() {
    let (runtime, moto) = exclusive_moto();
    let dir = tempfile::tempdir().unwrap();
    for name in ["slow-a", "slow-b", "slow-c"] {
        slow_scenario(dir.path(), name);
    }
    let snapshots = dir.path().join("snapshots");
    let child = Running::spawn(qsim(
        &moto.endpoint_url(),
        &[
            "run-all",
            "--dir",
            dir.path().to_str().unwrap(),
            "--snapshots",
            snapshots.to_str().unwrap(),
            "--backend",
            "aws",
            "--jobs",
            "2",
        ],
    ));
    // Two runs at once: a queue and two tables each.
    wait_for_resources(&runtime, &moto, 6);
    std::thread::sleep(Duration::from_secs(1));
    child.signal("INT");
    let output = child.wait();
    assert_eq!(output.status.code(), Some(130), "{}", describe(&output));
    let stdout = text(&output.stdout);
    for line in [
        "STOP slow-a",
        "STOP slow-b",
        "NOT-RUN slow-c",
        "qsim: 0 passed, 0 failed, 0 skipped, 2 interrupted, 1 not started",
    ] {
        assert!(stdout.contains(line), "{line}: {}", describe(&output));
    }
    assert_eq!(qsim_resources(&runtime, &moto), Vec::<String>::new());
}

#[test]
fn a_failed_teardown_names_what_is_left_and_the_cleanup_command() {
    let (runtime, moto) = exclusive_moto();
    let child = Running::spawn(qsim(
        &moto.endpoint_url(),
        &[
            "run",
            "scenarios.d/backlog-drain.toml",
            "--backend",
            "aws",
            "--endpoint-max-rate",
            "0",
        ],
    ));
    wait_for_resources(&runtime, &moto, 3);
    // Deletion protection makes the teardown's DeleteTable fail; deleting the main queue makes
    // the run itself fail: both errors must reach the report.
    let (table, queue_url) = runtime.block_on(async {
        let dynamodb = moto.dynamodb().await;
        let table = table_names(&dynamodb)
            .await
            .into_iter()
            .find(|name| name.starts_with("qsim-") && name.ends_with("-status"))
            .expect("the run's status table");
        dynamodb
            .update_table()
            .table_name(&table)
            .deletion_protection_enabled(true)
            .send()
            .await
            .expect("protect the table");
        let sqs = moto.sqs().await;
        let main = queue_names_with_prefix(&sqs, "qsim-")
            .await
            .into_iter()
            .find(|name| !name.ends_with("-dlq"))
            .expect("the run's main queue");
        let url = sqs
            .get_queue_url()
            .queue_name(&main)
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_owned();
        (table, url)
    });
    runtime.block_on(async {
        let sqs = moto.sqs().await;
        sqs.delete_queue()
            .queue_url(&queue_url)
            .send()
            .await
            .unwrap();
    });
    let output = child.wait();
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
    let cleanup = format!(
        "delete them with: qsim cleanup --region us-east-1 --endpoint-url {}",
        moto.endpoint_url()
    );
    for expected in [
        "ERROR backlog-drain",
        "✗ deleting the run's resources failed: DeleteTable on ",
        &format!("left behind: table {table}"),
        &cleanup,
    ] {
        assert!(
            stdout.contains(expected),
            "{expected}: {}",
            describe(&output)
        );
    }
    // What the message says is left is all that is left.
    assert_eq!(
        qsim_resources(&runtime, &moto),
        std::slice::from_ref(&table)
    );
    unprotect(&runtime, &moto, &table);
}

#[test]
fn a_second_ctrl_c_exits_at_once_naming_what_may_be_left_and_the_cleanup_command() {
    let (runtime, moto) = exclusive_moto();
    let upstream: SocketAddr = moto
        .endpoint_url()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    // The teardown's DeleteQueue never gets an answer: the run is stuck tearing down.
    let proxy = stalling_proxy(upstream, "AmazonSQS.DeleteQueue");
    let child = Running::spawn(qsim(
        &proxy,
        &[
            "run",
            "scenarios.d/backlog-drain.toml",
            "--backend",
            "aws",
            "--endpoint-max-rate",
            "0",
        ],
    ));
    wait_for_resources(&runtime, &moto, 3);
    child.signal("INT");
    std::thread::sleep(Duration::from_secs(2));
    let again = Instant::now();
    child.signal("INT");
    let output = child.wait();
    let took = again.elapsed();
    assert_eq!(output.status.code(), Some(130), "{}", describe(&output));
    assert!(took < Duration::from_secs(3), "took {took:?}");
    let stderr = text(&output.stderr);
    let cleanup =
        format!("Delete them with: qsim cleanup --region us-east-1 --endpoint-url {proxy}");
    for expected in [
        "Ctrl-C again: exiting without finishing the teardown.",
        "backlog-drain: queues and tables named qsim-backlog-drain-",
        &cleanup,
    ] {
        assert!(
            stderr.contains(expected),
            "{expected}: {}",
            describe(&output)
        );
    }
    // What it said may be left is there, and the command it printed (here without the proxy)
    // deletes it.
    assert_eq!(qsim_resources(&runtime, &moto).len(), 3);
    let cleaned = qsim(&moto.endpoint_url(), &["cleanup"]).output().unwrap();
    assert_eq!(cleaned.status.code(), Some(0), "{}", describe(&cleaned));
    assert_eq!(qsim_resources(&runtime, &moto), Vec::<String>::new());
}

#[test]
fn a_teardown_that_fails_after_a_run_that_went_through_is_the_run_s_error() {
    let (runtime, moto) = exclusive_moto();
    let child = Running::spawn(qsim(
        &moto.endpoint_url(),
        &["run", "scenarios.d/happy.toml", "--backend", "aws"],
    ));
    // happy has a DLQ: two queues, two tables.
    wait_for_resources(&runtime, &moto, 4);
    let table = runtime.block_on(async {
        let dynamodb = moto.dynamodb().await;
        let table = table_names(&dynamodb)
            .await
            .into_iter()
            .find(|name| name.starts_with("qsim-happy-") && name.ends_with("-side-effects"))
            .expect("the run's side-effects table");
        dynamodb
            .update_table()
            .table_name(&table)
            .deletion_protection_enabled(true)
            .send()
            .await
            .expect("protect the table");
        table
    });
    let output = child.wait();
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
    let stdout = text(&output.stdout);
    for expected in [
        &format!(
            "ERROR happy                   deleting the run's resources failed: DeleteTable on {table}"
        ),
        &format!("left behind: table {table}"),
        "delete them with: qsim cleanup --region us-east-1 --endpoint-url ",
    ] {
        assert!(
            stdout.contains(expected),
            "{expected}: {}",
            describe(&output)
        );
    }
    assert_eq!(
        qsim_resources(&runtime, &moto),
        std::slice::from_ref(&table)
    );
    unprotect(&runtime, &moto, &table);
}

#[test]
fn after_a_stop_signal_no_scenario_starts_and_each_is_reported_not_started() {
    use qsim::interrupt::{Interrupts, Signal};
    use qsim::runner::{self, NotStarted, RunOptions, RunResult};

    let scenarios: Vec<_> = ["scenarios.d/happy.toml", "scenarios.d/dup.toml"]
        .into_iter()
        .map(|path| qsim::scenario::load(Path::new(path)).unwrap())
        .collect();
    let interrupts = Interrupts::new();
    assert!(interrupts.raise(Signal::Terminate));
    let options = RunOptions {
        interrupts: Some(interrupts),
        ..RunOptions::default()
    };
    let mut reported = Vec::new();
    runner::run_all(scenarios, &options, 2, |run| {
        reported.push((run.scenario.name.clone(), run.result));
        true
    });
    let names: Vec<&str> = reported.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["happy", "dup"], "every scenario, in order");
    for (name, result) in &reported {
        assert!(
            matches!(
                result,
                RunResult::NotStarted(NotStarted::Interrupted(Signal::Terminate))
            ),
            "{name}: {result:?}"
        );
    }
}

/// Lifts the deletion protection a teardown-failure test put on `table`, so moto's reset can
/// remove it.
fn unprotect(runtime: &tokio::runtime::Runtime, moto: &Moto, table: &str) {
    runtime.block_on(async {
        moto.dynamodb()
            .await
            .update_table()
            .table_name(table)
            .deletion_protection_enabled(false)
            .send()
            .await
            .unwrap();
    });
}
