//! One consumer instance as a child process: what it is started with (the environment every
//! child gets, the `qsim consume` command line of a `process = true` instance), its signals, and
//! its event lines merged into the run's log.
//!
//! A `process = true` child writes its events as history lines on its standard output; they
//! are merged as they come, with the child's own times (its clock starts at the run's origin).
//! A `command` child writes none: what it did shows only in the queues and tables.

use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use nix::sys::signal::Signal;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::ChildStdout;

use super::child::{ChildProcess, Launch};
use super::consumer::{ConsumerEnd, Control, GroupShared};
use super::context::RunContext;
use super::event::{ActorId, CrashPoint, EventKind, ExitReason};
use crate::backend::{Backend, BackendError, BackendErrorKind, Reachable};
use crate::exit::QsimExitCode;
use crate::scenario::{Execution, GroupIx};

/// Runs instance `name` of `group` as a child process until it exits (or is killed).
pub(super) async fn run<B: Backend>(
    ctx: &Rc<RunContext<B>>,
    group: GroupIx,
    name: &str,
    actor: ActorId,
    control: &Control,
    shared: &GroupShared,
    incarnation: u32,
) -> ConsumerEnd {
    let scenario = ctx.scenario().clone();
    let execution = &scenario.group(group).execution;
    let fail = |why: String| {
        ctx.fail(BackendError::new(
            "StartConsumer",
            name,
            BackendErrorKind::Service(why),
        ));
        ConsumerEnd::Failed
    };
    let Some(reachable) = ctx.backend().reachable(ctx.main(), ctx.dlq()) else {
        return fail(unreachable_here(ctx.backend().name()));
    };
    let mut env = environment(&reachable, name);
    let (argv, pipe_stdout) = match execution {
        Execution::Command { argv, env: extra } => {
            if reachable.names_callers {
                env.extend(signing_as(name));
            }
            env.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
            (argv.clone(), false)
        }
        Execution::Process | Execution::InProcess => {
            let Ok(qsim) = std::env::current_exe() else {
                return fail("cannot find qsim's own executable to start `qsim consume`".into());
            };
            let origin_us = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .saturating_sub(ctx.elapsed())
                .as_micros();
            let mut argv = vec![
                qsim.display().to_string(),
                "consume".into(),
                "--scenario".into(),
                scenario.path.display().to_string(),
                "--group".into(),
                scenario.group(group).name.clone(),
                "--seed".into(),
                ctx.seed().to_string(),
                "--incarnation".into(),
                incarnation.to_string(),
                "--origin-unix-us".into(),
                origin_us.to_string(),
                "--events".into(),
                "-".into(),
            ];
            // A group's `once` crash happens once across its processes, restarts included.
            for spent in shared.spent_crashes() {
                argv.extend(["--spent-crash".to_owned(), spent.to_owned()]);
            }
            (argv, true)
        }
    };
    let launch = Launch {
        argv: &argv,
        env,
        pipe_stdout,
    };
    let mut child = match ChildProcess::spawn(&launch) {
        Ok(child) => child,
        Err(error) => return fail(format!("cannot start `{}`: {error}", argv.join(" "))),
    };
    tracing::debug!(instance = name, pid = child.id(), "child started");
    let lines = child.take_stdout();
    let merging = async {
        let merged = merge_lines(ctx, lines, name, shared).await;
        if merged.is_err() {
            // Its lines can no longer be recorded: a child left running would go on consuming
            // unseen, and the run would wait for it.
            control.kill();
        }
        merged
    };
    let (status, merged) = tokio::join!(supervise(&mut child, control), merging);
    let exited = match merged {
        Ok(exited) => exited,
        Err(error) => return fail(format!("its event lines: {error}")),
    };
    let status = match status {
        Ok(status) => status,
        Err(error) => return fail(format!("waiting for it: {error}")),
    };
    if control.is_killed() {
        return ConsumerEnd::Killed;
    }
    let command = matches!(execution, Execution::Command { .. });
    match status.code() {
        Some(0) => ConsumerEnd::Exited(exited.unwrap_or(if control.is_terminating() {
            ExitReason::Terminated
        } else {
            ExitReason::Idle
        })),
        // `qsim consume` recorded where it crashed; a team's program that fails is a crash
        // at a point qsim cannot see.
        Some(code) if !command && code == i32::from(QsimExitCode::Crashed.code()) => {
            ConsumerEnd::Crashed(CrashPoint::MidProcessing)
        }
        _ if command => {
            tracing::info!(instance = name, %status, "a command consumer failed");
            ctx.record(actor, None, EventKind::Crashed(CrashPoint::MidProcessing));
            ConsumerEnd::Crashed(CrashPoint::MidProcessing)
        }
        _ => fail(format!(
            "`qsim consume` ended with {status} (its error is above)"
        )),
    }
}

/// Waits for the child, passing `terminate` and `kill` on as real signals.
async fn supervise(
    child: &mut ChildProcess,
    control: &Control,
) -> std::io::Result<std::process::ExitStatus> {
    let signaller = child.signaller();
    let mut sent_term = false;
    let waited = child.wait();
    tokio::pin!(waited);
    loop {
        if control.is_killed() {
            signaller.signal(Signal::SIGKILL);
        } else if control.is_terminating() && !sent_term {
            sent_term = true;
            signaller.signal(Signal::SIGTERM);
        }
        tokio::select! {
            biased;
            status = &mut waited => return status,
            _ = control.woken.notified() => {}
        }
    }
}

/// Merges each event line of a `qsim consume` child into the run's log. Its `consumer-started`,
/// `shutdown-requested` and `exited` lines are the fleet's to record, as for an instance inside
/// qsim: the reason it exited for is returned instead.
async fn merge_lines<B: Backend>(
    ctx: &RunContext<B>,
    lines: Option<ChildStdout>,
    name: &str,
    shared: &GroupShared,
) -> Result<Option<ExitReason>, String> {
    let Some(lines) = lines else {
        return Ok(None);
    };
    let mut exited = None;
    let mut lines = BufReader::new(lines).lines();
    let mut number = 0;
    while let Some(line) = lines.next_line().await.map_err(|e| e.to_string())? {
        number += 1;
        let value: Value =
            serde_json::from_str(&line).map_err(|e| format!("line {number} is not JSON: {e}"))?;
        if value.get("format").is_some() {
            continue;
        }
        let event = value["event"].as_str().unwrap_or_default();
        if event == "exited" {
            exited = serde_json::from_value(value["reason"].clone()).ok();
            continue;
        }
        // The fleet recorded the start and the SIGTERM it sent, as for an instance inside qsim.
        if matches!(event, "consumer-started" | "shutdown-requested") {
            continue;
        }
        merge_line(ctx, &value, name).map_err(|reason| format!("line {number}: {reason}"))?;
        if let Ok(point) = serde_json::from_value::<CrashPoint>(value["point"].clone())
            && event == "crashed"
        {
            shared.spend_crash(point);
        }
    }
    Ok(exited)
}

/// Merges one event line (the `--events` format, its time on the run's clock) into the run's
/// log; `actor` when the line names none.
pub(super) fn merge_line<B: Backend>(
    ctx: &RunContext<B>,
    value: &Value,
    actor: &str,
) -> Result<(), String> {
    let event = value["event"].as_str().unwrap_or_default();
    let at_us = super::event_line::micros(value["t_ms"].as_f64().unwrap_or_default());
    let actor = ctx.actor(value["actor"].as_str().unwrap_or(actor));
    let message = match value.get("message").and_then(Value::as_str) {
        Some(id) => Some(
            ctx.log()
                .borrow()
                .lookup(id)
                .ok_or_else(|| format!("message `{id}` was not sent by this run"))?,
        ),
        None => None,
    };
    let kind = super::event_line::event_kind(&mut ctx.log().borrow_mut(), event, value, message)?;
    ctx.merge(at_us, actor, message, kind);
    Ok(())
}

/// The environment every child consumer gets (the contract with a team's consumer): where the
/// queues and tables are, who it is, and credentials it can sign with.
fn environment(reachable: &Reachable, instance: &str) -> Vec<(String, String)> {
    let mut env = vec![
        ("QUEUE_URL".to_owned(), reachable.queue_url.clone()),
        ("STATUS_TABLE".to_owned(), reachable.status_table.clone()),
        (
            "SIDE_EFFECTS_TABLE".to_owned(),
            reachable.side_effects_table.clone(),
        ),
        ("QSIM_INSTANCE".to_owned(), instance.to_owned()),
        ("AWS_REGION".to_owned(), reachable.region.clone()),
        ("AWS_DEFAULT_REGION".to_owned(), reachable.region.clone()),
    ];
    if let Some(dlq) = &reachable.dlq_url {
        env.push(("DLQ_URL".to_owned(), dlq.clone()));
    }
    if let Some(profile) = &reachable.profile {
        env.push(("AWS_PROFILE".to_owned(), profile.clone()));
    }
    if let Some(endpoint) = &reachable.endpoint_url {
        env.push(("AWS_ENDPOINT_URL".to_owned(), endpoint.clone()));
        // An emulator on this machine (moto_server, the simulator served for the run) takes any
        // credentials, but SDKs refuse to sign without some; keys in the environment come
        // before any profile, so a profile of the user's (SSO, say) is never resolved for it.
        if is_loopback(endpoint) && std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
            env.push(("AWS_ACCESS_KEY_ID".to_owned(), "testing".to_owned()));
            env.push(("AWS_SECRET_ACCESS_KEY".to_owned(), "testing".to_owned()));
        }
    }
    env
}

/// Credentials that name `instance` to an endpoint that names its callers (see
/// [`crate::backend::CALLER_KEY_PREFIX`]): its receives and deletes are then its own in the
/// endpoint's history. Set after [`environment`]'s, which they replace; a `command`'s own `env`
/// comes after both.
fn signing_as(instance: &str) -> [(String, String); 2] {
    [
        (
            "AWS_ACCESS_KEY_ID".to_owned(),
            format!("{}{instance}", crate::backend::CALLER_KEY_PREFIX),
        ),
        ("AWS_SECRET_ACCESS_KEY".to_owned(), "qsim".to_owned()),
    ]
}

fn is_loopback(endpoint: &str) -> bool {
    let rest = endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Why a child cannot be started on `backend`.
fn unreachable_here(backend: &str) -> String {
    if backend == "sim" {
        "consumers with `process = true` or `command` run as child processes, which need an \
         endpoint to reach the queues: run with --backend aws (AWS, or --endpoint-url of \
         moto_server or `qsim serve`)"
            .to_owned()
    } else {
        "consumers with `process = true` or `command` need the run's own tables: they cannot \
         run on pre-provisioned resources (--resources), whose items carry a per-run key prefix"
            .to_owned()
    }
}
