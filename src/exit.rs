//! Exit codes, documented in the README. Every way qsim ends maps to exactly one of these.

/// What `qsim` exits with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum QsimExitCode {
    /// Every scenario passed (skipped ones included, with a note).
    Passed = 0,
    /// An invariant or snapshot failed, or a run timed out.
    CheckFailed = 1,
    /// Bad input: a scenario file, a flag, a missing file, an output that cannot be written.
    BadInput = 2,
    /// The backend failed: credentials, network, an API error outside the scenario's control.
    BackendError = 3,
    /// qsim broke its own conservation law (a bug in qsim, not in the scenario): the history
    /// does not add up. The details name the law and the messages.
    InternalError = 4,
    /// `qsim consume`: the consumer crashed as its `chaos` said (a parent run restarts it when
    /// its group has `restart_after`).
    Crashed = 5,
    /// `qsim exec-child`: the program of a `command` consumer could not be started (as a
    /// shell reports a command it cannot run).
    CannotExec = 127,
    /// Ctrl-C stopped a run (its backend resources were deleted first).
    Interrupted = 130,
    /// SIGTERM stopped a run (its backend resources were deleted first): 128 + 15, as a shell
    /// reports a process that SIGTERM ended.
    Terminated = 143,
}

impl QsimExitCode {
    /// The code for a run stopped by `signal`.
    pub fn stopped_by(signal: crate::interrupt::Signal) -> QsimExitCode {
        match signal {
            crate::interrupt::Signal::Interrupt => QsimExitCode::Interrupted,
            crate::interrupt::Signal::Terminate => QsimExitCode::Terminated,
        }
    }

    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<QsimExitCode> for std::process::ExitCode {
    fn from(code: QsimExitCode) -> Self {
        std::process::ExitCode::from(code.code())
    }
}
