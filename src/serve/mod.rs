//! `qsim serve`: the simulator over the AWS JSON protocol, on loopback and in real time, so any
//! SDK (and any team's own consumer) can talk to it with `AWS_ENDPOINT_URL`.
//!
//! - [`spawn`]: starts a server on its own thread and returns its [`ServerHandle`]: the library
//!   API `qsim serve` and the tests use, and that runs a team's consumers against an in-process
//!   server ([`ServeOptions::tap`] hands it the server's history as it is written);
//! - `http`: HTTP/1.1 on loopback, one local task per connection;
//! - `service`: `X-Amz-Target` to the SQS or DynamoDB operation, errors in each protocol's shape;
//! - `sqs`: the `AmazonSQS.*` operations on the simulator;
//! - [`dynamodb`]: a generic DynamoDB store (attribute maps, condition and update expressions)
//!   behind the `DynamoDB_20120810.*` operations;
//! - `history`: the server-side history (`--events`);
//! - [`error`]: an AWS API error as both protocols return it.
//!
//! Invariants: the simulator is single-threaded (`Rc`, `RefCell`), so the whole server runs on
//! one OS thread with a current-thread runtime and a `LocalSet`; its clock is tokio's, not
//! paused, so queues behave in real time. Request signatures are not checked (any credentials
//! work) and credentials are never logged or recorded.

mod clock;
pub mod dynamodb;
pub mod error;
mod history;
mod http;
mod service;
mod sqs;

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::rc::Rc;
use std::thread::JoinHandle;

use tokio::sync::watch;

use crate::backend::faults::{FaultRule, FaultRules};
use crate::sqs::envelope::{Envelope, Profile};
use clock::WallClock;
use history::History;
pub use history::HistoryTap;
use service::Service;

/// What [`spawn`] starts.
#[derive(Clone, Debug, Default)]
pub struct ServeOptions {
    /// The loopback port; `None` or `Some(0)`: any free port.
    pub port: Option<u16>,
    /// The simulator envelope every queue gets.
    pub profile: Profile,
    /// The envelope every queue gets, when not the profile's: a scenario's, with its
    /// `[queue.sim]` overrides and `assumes` (a run serving the simulator to its processes).
    pub envelope: Option<Envelope>,
    /// The root seed of the simulator's random choices.
    pub seed: u64,
    /// Where to write the server-side history (JSON lines).
    pub events: Option<PathBuf>,
    /// Where else the history goes, for the process that started the server.
    pub tap: Option<HistoryTap>,
    /// A scenario's `[[faults]]`, struck into the calls of named callers only (see
    /// [`crate::backend::CALLER_KEY_PREFIX`]): a run's `command` consumers. Windows count
    /// from the server's start.
    pub faults: Vec<FaultRule>,
}

/// Why a server could not start or did not stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on 127.0.0.1:{port}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create the history file {}", path.display())]
    CreateHistory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the history file {}", path.display())]
    WriteHistory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the server's thread")]
    Thread(#[source] std::io::Error),
    #[error("the server's thread panicked")]
    Panicked,
}

/// A running server. Dropping it stops it too, without reporting a history error.
#[derive(Debug)]
pub struct ServerHandle {
    address: SocketAddr,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<Result<(), ServeError>>>,
}

impl ServerHandle {
    /// `http://127.0.0.1:PORT`, what `AWS_ENDPOINT_URL` takes.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Stops accepting, lets each connection finish its request (long polls are cut after a
    /// second), writes the rest of the history and joins the server's thread.
    pub fn stop(mut self) -> Result<(), ServeError> {
        self.shut_down()
    }

    fn shut_down(&mut self) -> Result<(), ServeError> {
        let _ = self.stop.send(true);
        match self.thread.take() {
            Some(thread) => thread.join().map_err(|_| ServeError::Panicked)?,
            None => Ok(()),
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        let _ = self.shut_down();
    }
}

/// Starts a server on its own thread; returns once it listens.
pub fn spawn(options: ServeOptions) -> Result<ServerHandle, ServeError> {
    let port = options.port.unwrap_or(0);
    let bind = |source| ServeError::Bind { port, source };
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).map_err(bind)?;
    listener.set_nonblocking(true).map_err(bind)?;
    let address = listener.local_addr().map_err(bind)?;
    let history_file = match &options.events {
        Some(path) => Some(
            File::create(path).map_err(|source| ServeError::CreateHistory {
                path: path.clone(),
                source,
            })?,
        ),
        None => None,
    };
    let (stop, stopped) = watch::channel(false);
    let endpoint = format!("http://{address}");
    let thread = std::thread::Builder::new()
        .name("qsim-serve".into())
        .spawn(move || run(listener, endpoint, options, history_file, stopped))
        .map_err(ServeError::Thread)?;
    Ok(ServerHandle {
        address,
        stop,
        thread: Some(thread),
    })
}

/// The server's thread: its runtime, until `stopped`.
fn run(
    listener: std::net::TcpListener,
    endpoint: String,
    options: ServeOptions,
    history_file: Option<File>,
    stopped: watch::Receiver<bool>,
) -> Result<(), ServeError> {
    let port = options.port.unwrap_or(0);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Thread)?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|source| ServeError::Bind { port, source })?;
        let clock = WallClock::start();
        let history = (history_file.is_some() || options.tap.is_some()).then(|| {
            History::start(
                history_file,
                options.tap.clone(),
                clock,
                options.profile.as_str(),
                options.seed,
            )
        });
        let sqs = sqs::Sqs::new(
            options.seed,
            options.envelope.unwrap_or(options.profile.envelope()),
            endpoint,
            clock,
        );
        // Streams of their own: qsim's own calls draw from the run's fault layer's.
        let faults = FaultRules::new(&options.faults, options.seed, "served-fault");
        let service = Rc::new(Service::new(sqs, clock, history, faults));
        http::serve(listener, Rc::clone(&service), stopped).await;
        service
            .finish(options.events.as_deref())
            .map_err(|source| ServeError::WriteHistory {
                path: options.events.clone().unwrap_or_default(),
                source,
            })
    })
}
