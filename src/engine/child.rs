//! Consumer instances as child processes (`process = true`, `command = [...]`): started in a
//! process group of their own, signalled for real, reaped on every way a run ends.
//!
//! Invariants (no orphans):
//! - every child starts through `qsim exec-child`, which asks the kernel to SIGKILL it when
//!   qsim dies (`PR_SET_PDEATHSIG`, kept across `exec`) and then becomes the program: even a
//!   SIGKILL of qsim, which no handler sees, takes its children down;
//! - each child leads its own process group, and every signal goes to the whole group, so what
//!   the program starts itself gets the signal too;
//! - dropping a [`ChildProcess`] (a run's end, an error, a panic's unwinding, an aborted task)
//!   SIGKILLs its group; tokio reaps the process.

use std::io;
use std::path::Path;
use std::process::{ExitStatus, Stdio};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::{Child, ChildStdout, Command};

/// The hidden subcommand that becomes the child program (see [`become_child`]).
pub const EXEC_CHILD: &str = "exec-child";

/// A running child and its process group.
#[derive(Debug)]
pub(super) struct ChildProcess {
    child: Child,
    group: Pid,
    /// Reaped: its group may be reused by another process, so it gets no more signals.
    reaped: bool,
}

/// What a child is started with.
#[derive(Debug)]
pub(super) struct Launch<'a> {
    pub argv: &'a [String],
    pub env: Vec<(String, String)>,
    /// Pipe its standard output to qsim (its event lines); otherwise it goes to qsim's stderr,
    /// so a team's logging never mixes with a report qsim writes to stdout.
    pub pipe_stdout: bool,
}

impl ChildProcess {
    pub(super) fn spawn(launch: &Launch<'_>) -> io::Result<ChildProcess> {
        let qsim = std::env::current_exe()?;
        let Some((program, args)) = launch.argv.split_first() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an empty command",
            ));
        };
        let mut command = Command::new(qsim);
        command
            .arg(EXEC_CHILD)
            .arg("--parent")
            .arg(std::process::id().to_string())
            .arg("--")
            .arg(program)
            .args(args)
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .process_group(0)
            .kill_on_drop(true);
        if launch.pipe_stdout {
            command.stdout(Stdio::piped());
        } else {
            command.stdout(Stdio::from(
                std::os::fd::AsFd::as_fd(&io::stderr()).try_clone_to_owned()?,
            ));
        }
        let child = command.spawn()?;
        let pid = child
            .id()
            .ok_or_else(|| io::Error::other("the child exited at once"))?;
        Ok(ChildProcess {
            child,
            group: Pid::from_raw(pid as i32),
            reaped: false,
        })
    }

    /// The pipe of its event lines, once (see [`Launch::pipe_stdout`]).
    pub(super) fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// What signals the child's process group while [`ChildProcess::wait`] runs: only until
    /// it returns (the group's id is free for reuse once the child is reaped).
    pub(super) fn signaller(&self) -> Signaller {
        Signaller { group: self.group }
    }

    /// Waits for the child to exit, and reaps it.
    pub(super) async fn wait(&mut self) -> io::Result<ExitStatus> {
        let status = self.child.wait().await?;
        self.reaped = true;
        // What the program left running in its group goes with it.
        let _ = killpg(self.group, Signal::SIGKILL);
        Ok(status)
    }

    /// The process id (also its group id).
    pub(super) fn id(&self) -> i32 {
        self.group.as_raw()
    }
}

/// Signals one child's process group (see [`ChildProcess::signaller`]).
#[derive(Clone, Copy, Debug)]
pub(super) struct Signaller {
    group: Pid,
}

impl Signaller {
    pub(super) fn signal(self, signal: Signal) {
        if let Err(error) = killpg(self.group, signal) {
            // ESRCH: the group is already gone, which is what a signal would have achieved.
            tracing::debug!(group = self.group.as_raw(), ?signal, %error, "signal not delivered");
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = killpg(self.group, Signal::SIGKILL);
        }
    }
}

/// Why `qsim exec-child` could not become the program.
#[derive(Debug, thiserror::Error)]
pub enum ExecChildError {
    #[error("cannot ask to be killed with qsim (prctl PR_SET_PDEATHSIG): {0}")]
    DeathSignal(nix::Error),
    #[error("qsim (process {0}) exited before its child started")]
    ParentGone(u32),
    #[error("cannot run `{program}`: {source}")]
    Exec {
        program: String,
        #[source]
        source: io::Error,
    },
}

/// `qsim exec-child --parent PID -- PROGRAM ARGS...`: arranges to be SIGKILLed when the qsim
/// that started it dies, then replaces itself with the program (which keeps that arrangement:
/// the kernel keeps the parent-death signal across `exec`). Returns only on failure.
pub fn become_child(parent: u32, program: &Path, args: &[String]) -> ExecChildError {
    use std::os::unix::process::CommandExt;

    if let Err(error) = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL) {
        return ExecChildError::DeathSignal(error);
    }
    // qsim may have died between starting this process and the line above, which the kernel
    // would then never signal: this process would have been re-parented already.
    if nix::unistd::getppid().as_raw() as u32 != parent {
        return ExecChildError::ParentGone(parent);
    }
    let source = std::process::Command::new(program).args(args).exec();
    ExecChildError::Exec {
        program: program.display().to_string(),
        source,
    }
}
