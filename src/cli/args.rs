//! The command line, as clap types. Parsing only; `commands` acts on it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::explore::{Partition, Seeds};
use crate::sqs::envelope::Profile;

#[derive(Debug, Parser)]
#[command(
    name = "qsim",
    version,
    about = "Declarative, seeded scenarios of how SQS-based systems fail"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Refuse (exit 2) a scenario whose estimate is more messages than this: its counts, or a
    /// continuous producer's rate over the time until it is stopped or the run times out.
    #[arg(long, global = true, value_name = "N", default_value_t = crate::scenario::Limits::default().max_messages)]
    pub max_messages: u64,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run scenarios across many seeds on the simulator: pass rates, distinct failures with the
    /// command that reproduces each, and whether each `[expect.sometimes]` ever held.
    Explore {
        /// Scenario files (not needed with --merge).
        #[arg(value_name = "FILE", required_unless_present = "merge")]
        files: Vec<PathBuf>,
        /// Seeds to run: N (seeds 1 to N), A..B (A to B-1) or A..=B.
        #[arg(long, default_value = "100", value_parser = parse_seeds)]
        seeds: Seeds,
        /// The simulator profile for every scenario instead of each file's: aws, ideal or
        /// adversarial (the one that hunts).
        #[arg(long, alias = "sim-profile", value_name = "PROFILE", value_parser = parse_profile)]
        profile: Option<Profile>,
        /// Runs at once (default: one per CPU).
        #[arg(long, short = 'j', value_name = "N")]
        jobs: Option<usize>,
        /// Only shard K of N of the seeds (as cargo-nextest's --partition count:K/N), so a CI
        /// matrix splits one exploration; combine the shards' --report files with --merge.
        #[arg(long, value_name = "K/N", value_parser = parse_partition)]
        partition: Option<Partition>,
        /// Write the result as JSON (what --merge reads).
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
        /// Write a self-contained HTML page: per scenario the seeds run, the failures by check
        /// with the command that reproduces each, and the report of the first failing seed's run.
        #[arg(long, value_name = "FILE", conflicts_with = "merge")]
        html: Option<PathBuf>,
        /// Combine the --report files of an exploration's shards into one verdict instead of
        /// running anything.
        #[arg(long, value_name = "RESULT", num_args = 1.., conflicts_with_all = ["files", "partition"])]
        merge: Vec<PathBuf>,
    },
    /// Run scenario files and check their invariants and snapshots.
    Run {
        /// Scenario files (TOML).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Run every scenario in a folder (optionally only those with a tag).
    RunAll {
        /// The folder of scenario files.
        #[arg(long, default_value = "scenarios.d")]
        dir: PathBuf,
        /// Only scenarios with this tag (repeat: any of them).
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Run scenario files on the simulator and explain each failed check from the history: the
    /// messages it involves and the shortest sequence of events that witnesses each one's fate.
    Explain {
        /// Scenario files (TOML).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Override the file's seed.
        #[arg(long)]
        seed: Option<u64>,
    },
    /// List the scenarios in a folder with their tags and descriptions.
    List {
        /// The folder of scenario files.
        #[arg(long, default_value = "scenarios.d")]
        dir: PathBuf,
        /// Only scenarios with this tag (repeat: any of them).
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
    },
    /// Check scenario files without running them (exit 2 on any error).
    Validate {
        /// Scenario files (TOML).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Print the JSON Schema of the scenario format (for `#:schema` lines in editors).
    Schema {
        /// The schema of one line of the `--events` history instead.
        #[arg(long)]
        events: bool,
    },
    /// Delete queues and tables earlier runs left on AWS (name prefix `qsim-` AND tag
    /// `qsim:managed=true`; nothing else is ever touched).
    Cleanup {
        /// Only list what would be deleted.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        aws: AwsArgs,
    },
    /// Write the HTML report of a run from its history (a file `--events` wrote), without
    /// running anything again.
    Report {
        /// The history: JSON lines as `run --events` writes them.
        #[arg(value_name = "EVENTS.jsonl")]
        events: PathBuf,
        /// The HTML file to write.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: PathBuf,
        /// The scenario file the history is a run of, whose expectations are checked and
        /// explained (default: the scenario of the history's name in scenarios.d/).
        #[arg(long, value_name = "FILE")]
        scenario: Option<PathBuf>,
    },
    /// Serve the simulator over the AWS JSON protocol (SQS and DynamoDB) on loopback, in real
    /// time, until Ctrl-C or SIGTERM: point any SDK at it with AWS_ENDPOINT_URL.
    Serve {
        /// The loopback port (0: any free port, printed at start).
        #[arg(long, default_value = "0")]
        port: u16,
        /// The simulator profile every queue gets: aws, ideal or adversarial.
        #[arg(long, alias = "sim-profile", value_name = "PROFILE", value_parser = parse_profile, default_value = "aws")]
        profile: Profile,
        /// The root seed of the simulator's random choices.
        #[arg(long, default_value = "1")]
        seed: u64,
        /// Write the server-side history (every call, every queue transition, every item
        /// write) as JSON lines to this file.
        #[arg(long, value_name = "FILE")]
        events: Option<PathBuf>,
    },
    /// Print a shell completion script: `qsim completions bash > /etc/bash_completion.d/qsim`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print qsim's man page (roff), or with --dir write one page per subcommand there.
    Man {
        /// Write qsim.1 and a qsim-SUBCOMMAND.1 page for each subcommand into this folder.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Infrastructure as code generated from the scenario files.
    #[command(subcommand)]
    Infra(InfraCommand),
    /// The executable guide (docs/guide/): regenerate or check its runs, pictures and claims.
    #[command(subcommand)]
    Guide(GuideCommand),
    /// Run one instance of the built-in consumer on existing queues and tables, in real time:
    /// a `[[consumers]]` group's keys as flags (or `--scenario FILE --group NAME`, flags then
    /// override). SIGTERM finishes the message in hand and exits 0, as the timeline's
    /// `terminate` does.
    Consume(Box<ConsumeArgs>),
    /// Run the built-in producer on an existing queue (and tables, for `outbox` and
    /// `dual_write`), in real time: a `[[producers]]` entry's keys as flags (or `--scenario FILE
    /// --group NAME`, flags then override). SIGTERM stops it after the batch in flight.
    Produce(Box<ProduceArgs>),
    /// Become a child program that dies with the qsim that started it (internal: how `process`
    /// and `command` consumers are started).
    #[command(name = "exec-child", hide = true)]
    ExecChild {
        /// The qsim process that started this one.
        #[arg(long)]
        parent: u32,
        /// The program and its arguments.
        #[arg(last = true, required = true, num_args = 1..)]
        argv: Vec<String>,
    },
    /// Measure the simulator end to end: messages per second and peak memory.
    Bench {
        /// Another benchmark scenario instead of the one built into qsim (benches/million.toml:
        /// a million messages, ten consumers, batches of ten, the two-table pattern).
        #[arg(long, value_name = "FILE")]
        scenario: Option<PathBuf>,
        /// Send this many messages instead of the scenario's count (one producer of a fixed
        /// count), e.g. 10000000 for the linear-scaling run.
        #[arg(long)]
        messages: Option<u64>,
        /// Fail (exit 1) when below this many messages per second.
        #[arg(long)]
        min_rate: Option<f64>,
        /// Fail (exit 1) when peak memory exceeds this many MiB.
        #[arg(long)]
        max_memory_mib: Option<u64>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum GuideCommand {
    /// Run every scenario the guide names and rewrite its generated blocks and pictures.
    Build {
        /// The repository root (the folder holding docs/guide/ and scenarios.d/).
        #[arg(long, default_value = ".")]
        repo: PathBuf,
    },
    /// Exit 1 when a generated block or picture is stale, a claim does not hold, or a scenario
    /// is in no chapter or in two; changes nothing.
    Check {
        /// The repository root (the folder holding docs/guide/ and scenarios.d/).
        #[arg(long, default_value = ".")]
        repo: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum InfraCommand {
    /// Print the Terraform variables file (JSON) for terraform/, from the scenario files.
    Tfvars {
        /// The folder of scenario files.
        #[arg(long, default_value = "scenarios.d")]
        dir: PathBuf,
    },
}

#[derive(Debug, Clone, Args)]
pub(crate) struct RunArgs {
    /// Override the file's seed (invariants are checked, the snapshot comparison is skipped).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Where to run.
    #[arg(long, value_enum, default_value_t = BackendKind::Sim)]
    pub backend: BackendKind,
    /// The simulator's profile for every scenario, instead of each file's `[queue.sim] profile`:
    /// how often it takes each latitude SQS documents (the snapshot comparison is then skipped).
    #[arg(long, value_name = "PROFILE", value_parser = parse_profile)]
    pub sim_profile: Option<Profile>,
    /// Write the event log as JSON lines (a file for one scenario, a folder for several).
    #[arg(long, value_name = "PATH")]
    pub events: Option<PathBuf>,
    /// Write a self-contained HTML report: verdicts, explained failures, a timeline chart and
    /// message lifelines per scenario (no network needed to open it).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Write a JUnit XML report.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a JSON report: every verdict, metric and expectation (`-` for stdout, the human
    /// summary then goes to stderr).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Snapshot folder (default: snapshots/ beside the scenario folder).
    #[arg(long, value_name = "DIR")]
    pub snapshots: Option<PathBuf>,
    /// Rewrite snapshots instead of comparing (same as INSTA_UPDATE=always).
    #[arg(long)]
    pub update_snapshots: bool,
    /// Stop a run that has taken this much wall-clock time (`timeout` is virtual time on the
    /// simulator); `0s` for no limit.
    #[arg(long, value_name = "DURATION", default_value_t = crate::engine::DEFAULT_MAX_WALL.into())]
    pub max_wall: humantime::Duration,
    /// Run this many scenarios at once (useful on real backends, where runs mostly wait).
    #[arg(long, short = 'j', default_value_t = 1, value_name = "N")]
    pub jobs: usize,
    /// After each failing run, explain its failed checks from the history (as `qsim explain`).
    #[arg(long)]
    pub explain: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Keep the run's queues and tables on AWS for inspection (`qsim cleanup` removes them).
    #[arg(long)]
    pub keep: bool,
    /// Use pre-provisioned queues and tables (`terraform output -json` of terraform/) instead of
    /// creating per-run ones (`--backend aws` only).
    #[arg(long, value_name = "FILE", requires = "backend")]
    pub resources: Option<PathBuf>,
}

/// `qsim consume`.
#[derive(Debug, Clone, Args)]
pub(crate) struct ConsumeArgs {
    /// Take the group's keys from this scenario file (with --group); flags override them.
    #[arg(long, value_name = "FILE", requires = "group")]
    pub scenario: Option<PathBuf>,
    /// The `[[consumers]]` group of --scenario to run an instance of.
    #[arg(long, value_name = "NAME", requires = "scenario")]
    pub group: Option<String>,
    /// The instance's name, its actor in the events (default: GROUP-1).
    #[arg(long, env = "QSIM_INSTANCE", value_name = "NAME")]
    pub instance: Option<String>,
    /// The seed its random choices derive from (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Restarts before this one (each draws from its own random stream).
    #[arg(long, default_value_t = 0, hide = true)]
    pub incarnation: u32,
    /// A `once` crash point (after-receive, after-side-effect) an earlier process of the group
    /// used up (repeat).
    #[arg(long, value_name = "POINT", hide = true, value_parser = parse_crash_point)]
    pub spent_crash: Vec<crate::engine::CrashPoint>,
    /// When the parent run started, in microseconds since the Unix epoch: event times are then
    /// the parent's.
    #[arg(long, value_name = "MICROS", hide = true)]
    pub origin_unix_us: Option<u64>,
    /// Write each event as a history line (JSON) as it happens: a file, or - for stdout.
    #[arg(long, value_name = "FILE|-")]
    pub events: Option<PathBuf>,
    #[command(flatten)]
    pub resources: ResourceArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub keys: super::key_flags::KeyFlags<super::key_flags::Consumers>,
}

/// `qsim produce`.
#[derive(Debug, Clone, Args)]
pub(crate) struct ProduceArgs {
    /// Take the producer's keys from this scenario file (with --group); flags override them.
    #[arg(long, value_name = "FILE", requires = "group")]
    pub scenario: Option<PathBuf>,
    /// The `[[producers]]` entry of --scenario to run.
    #[arg(long, value_name = "NAME", requires = "scenario")]
    pub group: Option<String>,
    /// The seed its random choices derive from (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write each event as a history line (JSON) as it happens: a file, or - for stdout.
    #[arg(long, value_name = "FILE|-")]
    pub events: Option<PathBuf>,
    #[command(flatten)]
    pub resources: ResourceArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub keys: super::key_flags::KeyFlags<super::key_flags::Producers>,
}

/// The queues and tables a standalone producer or consumer works on (the environment variables
/// are those qsim gives a `command` consumer).
#[derive(Debug, Clone, Args)]
pub(crate) struct ResourceArgs {
    /// The queue's URL.
    #[arg(long, env = "QUEUE_URL", value_name = "URL")]
    pub queue_url: String,
    /// The dead-letter queue's URL (when the queue has a redrive policy).
    #[arg(long, env = "DLQ_URL", value_name = "URL")]
    pub dlq_url: Option<String>,
    /// The status table (string hash key `pk`).
    #[arg(long, env = "STATUS_TABLE", value_name = "NAME")]
    pub status_table: String,
    /// The side-effects table (string hash key `pk`).
    #[arg(long, env = "SIDE_EFFECTS_TABLE", value_name = "NAME")]
    pub side_effects_table: String,
}

/// Where `--backend aws` connects; each falls back to the AWS SDK's usual environment and files.
#[derive(Debug, Clone, Args)]
pub(crate) struct AwsArgs {
    /// AWS region.
    #[arg(long, env = "AWS_REGION")]
    pub region: Option<String>,
    /// Named profile from ~/.aws/config.
    #[arg(long, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// An AWS-compatible endpoint instead of AWS: moto_server, LocalStack, ElasticMQ.
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// Messages per second the endpoint takes: scenarios whose producers send faster are
    /// skipped, saying so (default with --endpoint-url: 50, about what moto_server sustains;
    /// 0: no bound).
    #[arg(long, value_name = "N")]
    pub endpoint_max_rate: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum BackendKind {
    /// The embedded simulator: virtual time, deterministic for a seed.
    Sim,
    /// SQS and DynamoDB through the AWS SDK: AWS itself, or `--endpoint-url`.
    Aws,
}

/// A simulator profile by name (`aws`, `ideal`, `adversarial`).
pub(super) fn parse_profile(name: &str) -> Result<Profile, String> {
    Profile::from_name(name).ok_or_else(|| {
        format!(
            "unknown profile \"{name}\": one of {}",
            crate::sqs::envelope::PROFILE_NAMES.join(", ")
        )
    })
}

/// A crash point by its history name (`after-receive`), as `qsim run` passes it to a child.
fn parse_crash_point(name: &str) -> Result<crate::engine::CrashPoint, String> {
    serde_json::from_value(serde_json::Value::from(name)).map_err(|_| {
        format!(
            "unknown crash point \"{name}\": a `once` crash is after-receive or after-side-effect"
        )
    })
}

fn parse_seeds(text: &str) -> Result<Seeds, String> {
    text.parse()
}

fn parse_partition(text: &str) -> Result<Partition, String> {
    text.parse()
}
