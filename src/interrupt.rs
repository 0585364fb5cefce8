//! Ctrl-C and SIGTERM during runs on a real backend: the first one stops every run, which then
//! deletes its resources; a second one is for the caller to end the process at once (the CLI
//! prints what may be left and the `qsim cleanup` command, then exits).
//!
//! One listener thread per process, with its own runtime: each run has a runtime of its own
//! (`--jobs` runs several at once), and all of them watch the same [`Interrupts`]. This module
//! never prints or exits: the second signal goes to a callback the caller passes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

/// A signal that stops runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT, Ctrl-C.
    Interrupt,
    /// SIGTERM (`kill`, a CI runner's cancel, a container stop).
    Terminate,
}

impl Signal {
    /// How a person would name it.
    pub fn describe(self) -> &'static str {
        match self {
            Signal::Interrupt => "Ctrl-C",
            Signal::Terminate => "SIGTERM",
        }
    }
}

/// A run that has resources on the backend until its teardown ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveRun {
    pub scenario: String,
    /// The prefix of every resource it creates (`qsim-{scenario}-{runid}`).
    pub prefix: String,
    /// The command that deletes what it leaves behind.
    pub cleanup_command: String,
}

/// The process's stop signals, shared by every run.
#[derive(Debug)]
pub struct Interrupts {
    signal: watch::Sender<Option<Signal>>,
    active: Mutex<BTreeMap<u64, ActiveRun>>,
    next: AtomicU64,
}

impl Interrupts {
    /// Without a listener: nothing stops runs but [`Interrupts::raise`] (tests).
    pub fn new() -> Arc<Interrupts> {
        Arc::new(Interrupts {
            signal: watch::Sender::new(None),
            active: Mutex::new(BTreeMap::new()),
            next: AtomicU64::new(0),
        })
    }

    /// Starts listening for Ctrl-C and SIGTERM on a thread of its own; returns once the
    /// handlers are installed. The first signal stops the runs; each later one calls `again`
    /// with the runs that still hold resources (it is expected to end the process).
    pub fn listen(
        again: impl Fn(Signal, Vec<ActiveRun>) + Send + 'static,
    ) -> std::io::Result<Arc<Interrupts>> {
        let interrupts = Interrupts::new();
        let shared = interrupts.clone();
        let (ready, installed) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("qsim-signals".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = ready.send(Err(error));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let mut signals = match Listener::install() {
                        Ok(signals) => {
                            let _ = ready.send(Ok(()));
                            signals
                        }
                        Err(error) => {
                            let _ = ready.send(Err(error));
                            return;
                        }
                    };
                    loop {
                        let signal = signals.next().await;
                        if shared.raise(signal) {
                            continue;
                        }
                        again(signal, shared.active());
                    }
                });
            })?;
        installed
            .recv()
            .map_err(|_| std::io::Error::other("the signal thread ended before listening"))??;
        Ok(interrupts)
    }

    /// Records `signal`; true when it is the first (it stops the runs), false when runs were
    /// already stopping.
    pub fn raise(&self, signal: Signal) -> bool {
        let mut first = false;
        self.signal.send_if_modified(|current| {
            if current.is_none() {
                *current = Some(signal);
                first = true;
            }
            first
        });
        first
    }

    /// The first stop signal, if one came.
    pub fn received(&self) -> Option<Signal> {
        *self.signal.borrow()
    }

    /// Waits for the first stop signal (at once if one came already). Works from any runtime.
    pub async fn stopped(&self) -> Signal {
        let mut receiver = self.signal.subscribe();
        let signal = receiver
            .wait_for(Option::is_some)
            .await
            .map(|signal| *signal);
        match signal {
            Ok(Some(signal)) => signal,
            // The sender lives as long as `self`: neither can happen while we borrow it.
            _ => std::future::pending().await,
        }
    }

    /// Notes that `run` holds resources until the returned guard is dropped.
    pub fn register(self: &Arc<Self>, run: ActiveRun) -> ActiveGuard {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(id, run);
        ActiveGuard {
            interrupts: self.clone(),
            id,
        }
    }

    /// The runs that hold resources now, in the order they started.
    pub fn active(&self) -> Vec<ActiveRun> {
        self.lock().values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, ActiveRun>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Unregisters its run when dropped (after its teardown).
#[derive(Debug)]
pub struct ActiveGuard {
    interrupts: Arc<Interrupts>,
    id: u64,
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.interrupts.lock().remove(&self.id);
    }
}

/// Waits for Ctrl-C or SIGTERM on the current runtime, for runs without shared
/// [`Interrupts`]; never returns when the handlers cannot be installed.
pub(crate) async fn next_signal() -> Signal {
    signal_from_now().await
}

/// The next Ctrl-C or SIGTERM, listened for from the call on (not from the first poll), so a
/// signal sent meanwhile is not lost to the default action; needs a runtime entered. Never
/// resolves when the handlers cannot be installed.
pub(crate) fn signal_from_now() -> impl Future<Output = Signal> {
    let listener = Listener::install();
    async move {
        match listener {
            Ok(mut listener) => listener.next().await,
            Err(_) => std::future::pending().await,
        }
    }
}

/// The OS signals, installed once: from then on they no longer end the process by default.
struct Listener {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Listener {
    #[cfg(unix)]
    fn install() -> std::io::Result<Listener> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Listener {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    #[cfg(unix)]
    async fn next(&mut self) -> Signal {
        tokio::select! {
            biased;
            _ = self.interrupt.recv() => Signal::Interrupt,
            _ = self.terminate.recv() => Signal::Terminate,
        }
    }

    #[cfg(not(unix))]
    fn install() -> std::io::Result<Listener> {
        Ok(Listener {})
    }

    #[cfg(not(unix))]
    async fn next(&mut self) -> Signal {
        let _ = tokio::signal::ctrl_c().await;
        Signal::Interrupt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_signal_stops_and_later_ones_do_not_replace_it() {
        let interrupts = Interrupts::new();
        assert_eq!(interrupts.received(), None);
        assert!(interrupts.raise(Signal::Terminate));
        assert!(!interrupts.raise(Signal::Interrupt));
        assert_eq!(interrupts.received(), Some(Signal::Terminate));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert_eq!(runtime.block_on(interrupts.stopped()), Signal::Terminate);
    }

    #[test]
    fn runs_are_active_until_their_guard_drops() {
        let interrupts = Interrupts::new();
        let run = |name: &str| ActiveRun {
            scenario: name.into(),
            prefix: format!("qsim-{name}-0000"),
            cleanup_command: "qsim cleanup".into(),
        };
        let first = interrupts.register(run("a"));
        let second = interrupts.register(run("b"));
        assert_eq!(interrupts.active(), [run("a"), run("b")]);
        drop(first);
        assert_eq!(interrupts.active(), [run("b")]);
        drop(second);
        assert!(interrupts.active().is_empty());
    }
}
