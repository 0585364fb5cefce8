//! Consumers as real processes against a real moto_server: `process = true` (a `qsim consume`
//! child, signalled for real), `command` (a team's own program), `qsim consume` on its own, and
//! no child outliving qsim however qsim ends.

use std::io::{BufRead, BufReader};

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

use super::aws_cli::qsim;
use super::moto::{Moto, exclusive_moto};

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

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

/// The position of the first line with `event` (and `message`, when given).
fn position(lines: &[Value], event: &str, message: Option<&str>) -> Option<usize> {
    lines
        .iter()
        .position(|l| l["event"] == event && message.is_none_or(|m| l["message"] == m))
}

#[test]
fn a_process_consumer_finishes_the_message_in_hand_on_a_real_sigterm() {
    let (_runtime, moto) = exclusive_moto();
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history.jsonl");
    let output = qsim(
        &moto,
        &[
            "run",
            "scenarios.d/dup-graceful-shutdown-process.toml",
            "--backend",
            "aws",
            "--events",
            history.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let lines = lines(&std::fs::read_to_string(&history).unwrap());
    let asked =
        position(&lines, "shutdown-requested", None).expect("the SIGTERM is in the history");
    let received = position(&lines, "received", Some("orders-0001")).unwrap();
    let effect = position(&lines, "side-effect", Some("orders-0001")).unwrap();
    let deleted = position(&lines, "deleted", Some("orders-0001")).unwrap();
    // Received before the signal, finished after it: the child's own lines, merged in order.
    assert!(
        received < asked && asked < effect && effect < deleted,
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["event"] == "exited" && l["reason"] == "terminated"),
        "{lines:#?}"
    );
    assert_eq!(position(&lines, "received", Some("orders-0002")), None);
}

#[test]
fn a_command_consumer_is_judged_by_its_side_effects() {
    let (_runtime, moto) = exclusive_moto();
    let dir = tempfile::tempdir().unwrap();
    let output = qsim(
        &moto,
        &[
            "run",
            "tests/fixtures/byo/naive.toml",
            "--backend",
            "aws",
            "--update-snapshots",
            "--snapshots",
            dir.path().to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let snapshot = std::fs::read_to_string(dir.path().join("fixture-byo-naive.snap")).unwrap();
    assert!(snapshot.contains("times: 2"), "{snapshot}");
    assert!(snapshot.contains("received: \"unobserved\""), "{snapshot}");
}

/// A `once` crash is the group's, not each process's: the restarted process does not crash
/// again (it would, forever, with a budget of its own).
#[test]
fn a_restarted_process_keeps_its_groups_once_crash_spent() {
    let (_runtime, moto) = exclusive_moto();
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history.jsonl");
    let output = qsim(
        &moto,
        &[
            "run",
            "tests/fixtures/byo/process-restart.toml",
            "--backend",
            "aws",
            "--update-snapshots",
            "--snapshots",
            dir.path().to_str().unwrap(),
            "--events",
            history.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let lines = lines(&std::fs::read_to_string(&history).unwrap());
    let started = lines
        .iter()
        .filter(|l| l["event"] == "consumer-started")
        .count();
    assert_eq!(started, 2, "the crashed process was restarted: {lines:#?}");
}

/// examples/consumers/ (the `byo` helper's) give the verdicts their scenarios expect.
#[test]
fn byo_scenarios_give_their_verdicts() {
    let (_runtime, moto) = exclusive_moto();
    let output = qsim(
        &moto,
        &[
            "run-all",
            "--dir",
            "scenarios.d/byo",
            "--backend",
            "aws",
            "-j",
            "2",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    // byo-two-table expects its redelivery, which only the served simulator's history shows,
    // and byo-lost-receive strikes the consumer's receive, which only that simulator can.
    let described = describe(&output);
    assert!(
        described.contains("3 passed") && described.contains("2 skipped"),
        "{described}"
    );
    assert!(
        described.contains("which only the simulator qsim serves to it does"),
        "{described}"
    );
}

/// A queue and the two tables, made as a team would (not by qsim), with `bodies` sent.
fn provision(moto: &Moto, runtime: &tokio::runtime::Runtime, bodies: &[&str]) -> [String; 3] {
    runtime.block_on(async {
        let sqs = moto.sqs().await;
        let url = sqs
            .create_queue()
            .queue_name("team-queue")
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
                "30",
            )
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        for body in bodies {
            sqs.send_message()
                .queue_url(&url)
                .message_body(*body)
                .send()
                .await
                .unwrap();
        }
        for table in ["team-status", "team-effects"] {
            moto.create_pk_table(table).await.send().await.unwrap();
        }
        [url, "team-status".into(), "team-effects".into()]
    })
}

fn consume(moto: &Moto, [queue, status, effects]: &[String; 3], flags: &[&str]) -> Command {
    let mut args = vec![
        "consume",
        "--queue-url",
        queue,
        "--status-table",
        status,
        "--side-effects-table",
        effects,
        "--events",
        "-",
    ];
    args.extend(flags);
    qsim(moto, &args)
}

const BODIES: [&str; 2] = [
    r#"{"id":"team-0001","seq":1,"sent_at_ms":0}"#,
    r#"{"id":"team-0002","seq":2,"sent_at_ms":0}"#,
];

#[test]
fn qsim_consume_runs_the_built_in_consumer_on_a_teams_queue() {
    let (runtime, moto) = exclusive_moto();
    let resources = provision(&moto, &runtime, &BODIES);
    let output = consume(
        &moto,
        &resources,
        &[
            "--idempotency",
            "tables",
            "--idle-timeout",
            "2s",
            "--wait",
            "1s",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let lines = lines(&text(&output.stdout));
    assert_eq!(lines[0]["format"], "qsim-events");
    for id in ["team-0001", "team-0002"] {
        assert!(
            position(&lines, "side-effect", Some(id)).is_some(),
            "{lines:#?}"
        );
        assert!(
            position(&lines, "deleted", Some(id)).is_some(),
            "{lines:#?}"
        );
        assert!(
            lines.iter().any(|l| l["event"] == "status-written"
                && l["message"] == id
                && l["status"] == "COMPLETED"),
            "{lines:#?}"
        );
    }
    assert_eq!(lines.last().unwrap()["event"], "exited", "{lines:#?}");
}

#[test]
fn qsim_consume_finishes_the_message_in_hand_on_sigterm() {
    let (runtime, moto) = exclusive_moto();
    let resources = provision(&moto, &runtime, &BODIES);
    let mut child = consume(
        &moto,
        &resources,
        &[
            "--processing",
            "3s",
            "--idle-timeout",
            "30s",
            "--wait",
            "1s",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = Vec::new();
    let mut line = String::new();
    // Until the consumer holds a message: then SIGTERM.
    while stdout.read_line(&mut line).unwrap() > 0 {
        let value: Value = serde_json::from_str(&line).unwrap();
        line.clear();
        let received = value["event"] == "received";
        seen.push(value);
        if received {
            break;
        }
    }
    let held = seen.last().unwrap()["message"].as_str().unwrap().to_owned();
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    seen.extend(lines(&rest));
    assert!(
        position(&seen, "deleted", Some(&held)).is_some(),
        "{seen:#?}"
    );
    let other = BODIES.len() - 1;
    assert_eq!(
        seen.iter().filter(|l| l["event"] == "received").count(),
        1,
        "no new work after SIGTERM ({other} left): {seen:#?}"
    );
    let last = seen.last().unwrap();
    assert_eq!(
        (&last["event"], &last["reason"]),
        (&Value::from("exited"), &Value::from("terminated"))
    );
}

#[test]
fn qsim_produce_sends_the_built_in_producers_messages_to_a_teams_queue() {
    let (runtime, moto) = exclusive_moto();
    let resources = provision(&moto, &runtime, &[]);
    let [queue, status, effects] = &resources;
    let output = qsim(
        &moto,
        &[
            "produce",
            "--queue-url",
            queue,
            "--status-table",
            status,
            "--side-effects-table",
            effects,
            "--count",
            "3",
            "--batch-size",
            "3",
            "--payload",
            "{ kind = \"work\", poison = { positions = [2] } }",
            "--events",
            "-",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let lines = lines(&text(&output.stdout));
    let sent: Vec<&Value> = lines.iter().filter(|l| l["event"] == "sent").collect();
    assert_eq!(sent.len(), 3, "{lines:#?}");
    assert_eq!(sent[1]["poison"], true, "{lines:#?}");
    let stored = runtime.block_on(async {
        let sqs = moto.sqs().await;
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(queue)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .unwrap();
        attributes.attributes().unwrap()
            [&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages]
            .clone()
    });
    assert_eq!(stored, "3");
}

#[test]
fn a_flag_is_checked_as_its_key_is_in_a_file() {
    let output = Command::new(env!("CARGO_BIN_EXE_qsim"))
        .args([
            "consume",
            "--queue-url",
            "http://127.0.0.1:9/000000000000/q",
            "--status-table",
            "s",
            "--side-effects-table",
            "e",
            "--receive-max-messages",
            "11",
            "--idempotency",
            "sometimes",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let stderr = text(&output.stderr);
    for needle in [
        "max_messages",
        "11 is out of range",
        "idempotency",
        "sometimes",
    ] {
        assert!(stderr.contains(needle), "{needle}: {stderr}");
    }
}

/// The pids of live processes whose command line mentions `marker`, except `except`.
fn processes_mentioning(marker: &str, except: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != except)
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // A zombie is dead, only not yet reaped by whoever inherited it.
            let zombie = state
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
            !zombie && String::from_utf8_lossy(&cmdline).contains(marker)
        })
        .collect()
}

/// Polls `done` until it holds or `limit` passes (a wait for the OS, not a timing assertion).
fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

/// Starts a run whose consumers (one `command`, one `process = true`) would live two minutes,
/// waits until both are up, hits qsim with `signal`, and checks that no child survives it.
fn no_child_survives(signal: Signal) {
    let (_runtime, moto) = exclusive_moto();
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().to_str().unwrap().to_owned();
    let script = dir.path().join("naive.py");
    std::fs::copy("tests/fixtures/consumers/naive.py", &script).unwrap();
    let scenario = dir.path().join("orphans.toml");
    std::fs::write(
        &scenario,
        format!(
            r#"
[scenario]
name = "orphans"
description = "Two long-lived child consumers."
timeout = "5m"

[[producers]]
name = "orders"
count = 1

[[consumers]]
name = "team"
command = ["python3", "{}"]
env = {{ IDLE_SECONDS = "120" }}

[[consumers]]
name = "builtin"
process = true
idle_timeout = "2m"
"#,
            script.display()
        ),
    )
    .unwrap();
    let mut run: Child = qsim(
        &moto,
        &["run", scenario.to_str().unwrap(), "--backend", "aws"],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let qsim_pid = run.id();
    assert!(
        wait_for(Duration::from_secs(30), || processes_mentioning(
            &marker, qsim_pid
        )
        .len()
            >= 2),
        "the two children never started: {:?}",
        processes_mentioning(&marker, qsim_pid)
    );
    kill(Pid::from_raw(qsim_pid as i32), signal).unwrap();
    run.wait().unwrap();
    let gone = wait_for(Duration::from_secs(30), || {
        processes_mentioning(&marker, qsim_pid).is_empty()
    });
    let survivors = processes_mentioning(&marker, qsim_pid);
    for pid in &survivors {
        let _ = kill(Pid::from_raw(*pid as i32), Signal::SIGKILL);
    }
    assert!(gone, "children outlived qsim's {signal}: {survivors:?}");
}

#[test]
fn no_child_outlives_a_sigkilled_qsim() {
    no_child_survives(Signal::SIGKILL);
}

#[test]
fn no_child_outlives_a_sigtermed_qsim() {
    no_child_survives(Signal::SIGTERM);
}
