//! A real `moto_server` on a free loopback port for the AWS backend's tests: no mocks.
//!
//! One server per test binary, started on first use and shared; tests that use it hold a lock
//! (so one test's `POST /moto-api/reset` never wipes another's resources) and start from a
//! reset server. The server is stopped when the test binary exits, however it exits: it runs
//! under a small shell that kills it once its stdin (a pipe held by this process) reaches EOF.
//! `moto_server` comes from PATH (CI installs it with `.ci/ensure-moto.sh`); when it is missing,
//! the harness installs `moto[server]` once into a virtualenv beside the build output
//! (`target/moto-venv`, guarded by a lock directory so concurrent test processes install it
//! once) and uses that, so `cargo test` passes on a machine with only Rust and Python. When that
//! fails too the tests fail with instructions: a skip would hide a broken setup.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_sqs::config::Credentials;
use qsim::backend::aws::{AwsBackend, AwsOptions};

const REGION: &str = "us-east-1";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

static SERVER: OnceLock<MotoServer> = OnceLock::new();
static EXCLUSIVE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The shared moto_server, reset, held exclusively, with a runtime for SDK calls.
pub(crate) fn exclusive_moto() -> (tokio::runtime::Runtime, Moto) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let moto = runtime.block_on(moto());
    (runtime, moto)
}

/// Exclusive use of the shared, freshly reset moto_server for one test.
pub(crate) struct Moto {
    server: &'static MotoServer,
    _exclusive: tokio::sync::MutexGuard<'static, ()>,
}

/// Waits for the server (starting it if this is the first test) and resets it.
pub(crate) async fn moto() -> Moto {
    Moto::reset(EXCLUSIVE.lock().await)
}

/// [`moto`] for synchronous tests (Terraform's, which run processes): blocks the thread instead
/// of awaiting. Must not be called from inside an async runtime.
pub(crate) fn moto_blocking() -> Moto {
    let exclusive = EXCLUSIVE.blocking_lock();
    Moto::reset(exclusive)
}

impl Moto {
    fn reset(exclusive: tokio::sync::MutexGuard<'static, ()>) -> Moto {
        let server = SERVER.get_or_init(MotoServer::start);
        if let Err(error) = server.post("/moto-api/reset") {
            panic!(
                "POST /moto-api/reset failed: {error}\n{}",
                server.log_tail()
            );
        }
        Moto {
            server,
            _exclusive: exclusive,
        }
    }

    pub(crate) fn endpoint_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.port)
    }

    /// What a user would pass: `--endpoint-url` and `--region`.
    pub(crate) fn options(&self) -> AwsOptions {
        AwsOptions {
            region: Some(REGION.into()),
            profile: None,
            endpoint_url: Some(self.endpoint_url()),
            keep: false,
            provisioned: None,
            attach: false,
            max_send_rate: None,
        }
    }

    /// The SDK configuration for `options`, with moto's dummy credentials set explicitly
    /// rather than through the process environment.
    pub(crate) async fn sdk_config(&self, options: &AwsOptions) -> SdkConfig {
        options
            .config_loader()
            .credentials_provider(Credentials::new(
                "testing",
                "testing",
                None,
                None,
                "qsim-moto-tests",
            ))
            .load()
            .await
    }

    pub(crate) async fn backend(&self, scenario: &str) -> AwsBackend {
        self.backend_with(&self.options(), scenario).await
    }

    pub(crate) async fn backend_with(&self, options: &AwsOptions, scenario: &str) -> AwsBackend {
        let config = self.sdk_config(options).await;
        AwsBackend::from_sdk_config(&config, options, scenario).expect("backend for moto")
    }

    /// A plain SQS client, to look at (or set up) what the backend should see.
    pub(crate) async fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk_config(&self.options()).await)
    }

    pub(crate) async fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk_config(&self.options()).await)
    }

    /// CreateTable for a table shaped like qsim's status and side-effects tables (key `pk`, a
    /// string; on demand), for the caller to add to and send.
    pub(crate) async fn create_pk_table(
        &self,
        table: &str,
    ) -> aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        self.dynamodb()
            .await
            .create_table()
            .table_name(table)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .billing_mode(BillingMode::PayPerRequest)
    }
}

struct MotoServer {
    port: u16,
    log: PathBuf,
    /// The supervising shell and the pipe whose EOF tells it to stop the server.
    supervisor: Mutex<(Child, Option<ChildStdin>)>,
}

impl MotoServer {
    fn start() -> MotoServer {
        let program = find_on_path("moto_server").unwrap_or_else(install_in_venv);
        let port = free_port();
        let log = std::env::temp_dir().join(format!("qsim-moto-{port}.log"));
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(
                r#""$3" -H 127.0.0.1 -p "$1" >"$2" 2>&1 &
                   server=$!
                   cat >/dev/null
                   kill "$server" 2>/dev/null
                   wait "$server""#,
            )
            .arg("qsim-moto")
            .arg(port.to_string())
            .arg(&log)
            .arg(&program)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sh to supervise moto_server");
        let stdin = child.stdin.take();
        let server = MotoServer {
            port,
            log,
            supervisor: Mutex::new((child, stdin)),
        };
        server.wait_until_ready();
        server
    }

    fn wait_until_ready(&self) {
        let started = Instant::now();
        loop {
            if self.post("/moto-api/reset").is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.supervisor.lock().unwrap().0.try_wait() {
                panic!(
                    "moto_server exited ({status}) before answering\n{}",
                    self.log_tail()
                );
            }
            if started.elapsed() > STARTUP_TIMEOUT {
                panic!(
                    "moto_server did not answer on port {} within {:?}\n{}",
                    self.port,
                    STARTUP_TIMEOUT,
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A bodyless POST; moto closes the connection after each response.
    fn post(&self, path: &str) -> Result<(), String> {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(1))
            .map_err(|error| error.to_string())?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(|error| error.to_string())?;
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\n\
             Connection: close\r\n\r\n",
            self.port
        );
        stream
            .write_all(request.as_bytes())
            .map_err(|error| error.to_string())?;
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .map_err(|error| error.to_string())?;
        let status = response.lines().next().unwrap_or_default();
        if status.split_whitespace().nth(1) == Some("200") {
            Ok(())
        } else {
            Err(format!("unexpected answer {status:?}"))
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        format!("moto_server log ({}):\n{tail}", self.log.display())
    }
}

impl Drop for MotoServer {
    /// Closing the pipe makes the supervising shell stop moto_server (the static instance is
    /// never dropped; process exit closes the pipe the same way).
    fn drop(&mut self) {
        let mut supervisor = self
            .supervisor
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        drop(supervisor.1.take());
        let _ = supervisor.0.wait();
    }
}

/// How long a lock directory may stand before it is taken for the leftover of a killed install.
const STALE_INSTALL: Duration = Duration::from_secs(15 * 60);

/// `target/moto-venv/bin/moto_server`, installed there first when missing: for machines with
/// Python but no moto_server on PATH.
fn install_in_venv() -> PathBuf {
    let target = target_dir();
    let venv = target.join("moto-venv");
    let program = venv.join("bin").join("moto_server");
    if program.is_file() {
        return program;
    }
    std::fs::create_dir_all(&target).expect("create the target directory");
    let lock = target.join("moto-venv.lock");
    let waited = Instant::now();
    loop {
        match std::fs::create_dir(&lock) {
            Ok(()) => break,
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                let age = std::fs::metadata(&lock)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|modified| modified.elapsed().ok());
                if age.is_some_and(|age| age > STALE_INSTALL) {
                    let _ = std::fs::remove_dir(&lock);
                    continue;
                }
                if waited.elapsed() > STALE_INSTALL {
                    panic!("waited too long for {} to go away", lock.display());
                }
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(error) => panic!("cannot create {}: {error}", lock.display()),
        }
    }
    // Another process may have installed it while this one waited.
    let result = if program.is_file() {
        Ok(())
    } else {
        create_venv(&venv)
    };
    let _ = std::fs::remove_dir(&lock);
    if let Err(error) = result {
        panic!(
            "moto_server is not on PATH and installing it into {} failed: {error}\n\
             The AWS backend tests need a real moto_server: install it with \
             `.ci/ensure-moto.sh` (pip install 'moto[server]'), or make `python3 -m venv` work.",
            venv.display()
        );
    }
    program
}

/// Says on the process's real stderr (not the test harness's captured one) why the first test
/// waits for a pip install.
fn create_venv(venv: &std::path::Path) -> Result<(), String> {
    let say = |text: String| {
        let _ = writeln!(std::io::stderr().lock(), "{text}");
    };
    say(format!(
        "moto_server is not on PATH: installing moto[server] into {} (once; later runs reuse it)",
        venv.display()
    ));
    let python = ["python3", "python"]
        .into_iter()
        .find(|python| find_on_path(python).is_some())
        .ok_or("no python3 on PATH")?;
    let _ = std::fs::remove_dir_all(venv);
    run_step(Command::new(python).args(["-m", "venv"]).arg(venv))?;
    let pip = venv.join("bin").join("pip");
    let installed = run_step(Command::new(&pip).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "moto[server]",
    ]));
    if installed.is_err() || !venv.join("bin").join("moto_server").is_file() {
        // Leave nothing half-installed for the next run to mistake for a working one.
        let _ = std::fs::remove_dir_all(venv);
        installed?;
        return Err("pip finished but installed no moto_server".into());
    }
    say(format!("moto_server installed into {}", venv.display()));
    Ok(())
}

fn run_step(command: &mut Command) -> Result<(), String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("{command:?}: {error}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// The build's target directory, from the test executable's own path
/// (`TARGET/debug/deps/all-HASH`), so that CARGO_TARGET_DIR is respected.
pub(crate) fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    exe.ancestors()
        .nth(3)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

pub(crate) fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// The names of the queues starting with `prefix` (every queue for ""), sorted.
pub(crate) async fn queue_names_with_prefix(
    sqs: &aws_sdk_sqs::Client,
    prefix: &str,
) -> Vec<String> {
    let output = sqs
        .list_queues()
        .queue_name_prefix(prefix)
        .send()
        .await
        .expect("ListQueues");
    let mut names: Vec<String> = output
        .queue_urls()
        .iter()
        .map(|url| url.rsplit('/').next().unwrap_or_default().to_owned())
        .collect();
    names.sort();
    names
}

/// Every table name, sorted.
pub(crate) async fn table_names(dynamodb: &aws_sdk_dynamodb::Client) -> Vec<String> {
    let mut names = dynamodb
        .list_tables()
        .send()
        .await
        .expect("ListTables")
        .table_names()
        .to_vec();
    names.sort();
    names
}

/// Runs `scenario` on `backend` (a moto backend) to its end, checks it and fails the test unless
/// it passed; the outcome, for the test's own checks.
pub(crate) async fn run_to_a_pass(
    scenario: &std::rc::Rc<qsim::scenario::Scenario>,
    backend: std::rc::Rc<AwsBackend>,
) -> qsim::engine::Outcome {
    let outcome = tokio::task::LocalSet::new()
        .run_until(qsim::engine::run(
            scenario.clone(),
            backend,
            scenario.seed,
            None,
            qsim::engine::Limits::default(),
        ))
        .await
        .expect("the run completes on moto");
    let verdict = qsim::check::check(scenario, &outcome);
    assert!(
        verdict.passed(),
        "{:?} {:?}",
        verdict.failures().collect::<Vec<_>>(),
        verdict.violations
    );
    outcome
}

/// The `--events` history of a run, one JSON value per line.
pub(crate) fn history_lines(
    scenario: &qsim::scenario::Scenario,
    outcome: &qsim::engine::Outcome,
) -> Vec<serde_json::Value> {
    let mut history = Vec::new();
    qsim::report::events::write(&mut history, scenario, outcome).unwrap();
    String::from_utf8(history)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}
