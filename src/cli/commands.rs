//! One function per subcommand.

use std::path::{Path, PathBuf};

use clap::CommandFactory;

use super::args::{AwsArgs, BackendKind, Cli, Command, GuideCommand, InfraCommand, RunArgs};
use super::error::{CliError, CliErrorKind};
use super::output::{Human, err, out, out_raw};
use super::progress::ProgressDisplay;
use super::report_target::ReportTarget;
use crate::backend::aws::AwsOptions;
use crate::check::snapshot::UpdateMode;
use crate::exit::QsimExitCode;
use crate::infra::ResourcesFile;
use crate::report::{json, junit, summary};
use crate::runner::{self, BackendChoice, RunOptions, RunResult, ScenarioRun};
use crate::scenario::{self, Scenario};

/// Runs the command. `Ok` is what the command found (every scenario passed, a check failed, ...);
/// `Err` is why it could not do its work.
pub(super) fn dispatch(cli: Cli) -> Result<QsimExitCode, CliError> {
    let limits = scenario::Limits {
        max_messages: cli.max_messages,
    };
    let load_all = |files: &[PathBuf]| load_all(files, &limits);
    let load_dir = |dir: &Path, tags: &[String]| load_dir(dir, tags, &limits);
    match cli.command {
        Command::Explore {
            files,
            seeds,
            profile,
            jobs,
            partition,
            report,
            html,
            merge,
        } => {
            if !merge.is_empty() {
                return super::explore::merge(&merge, report.as_deref());
            }
            let plan = crate::explore::Plan {
                seeds,
                profile,
                partition,
                jobs: jobs.unwrap_or_else(default_jobs),
            };
            super::explore::explore(load_all(&files)?, &plan, report.as_deref(), html.as_deref())
        }
        Command::Run { files, run } => run_scenarios(load_all(&files)?, &run),
        Command::RunAll { dir, tags, run } => {
            let scenarios = load_dir(&dir, &tags)?;
            if scenarios.is_empty() {
                return Err(CliErrorKind::NoMatch { dir, tags }.into());
            }
            run_scenarios(scenarios, &run)
        }
        Command::Explain { files, seed } => explain(load_all(&files)?, seed),
        Command::List { dir, tags } => {
            for line in summary::list(&load_dir(&dir, &tags)?) {
                if !out(&line)? {
                    break;
                }
            }
            Ok(QsimExitCode::Passed)
        }
        Command::Validate { files } => {
            for s in &load_all(&files)? {
                if !out(&format!("ok {}", s.path.display()))? {
                    break;
                }
            }
            Ok(QsimExitCode::Passed)
        }
        Command::Schema { events } => {
            let schema = if events {
                crate::report::events::json_schema()
            } else {
                scenario::json_schema()
            };
            let schema =
                serde_json::to_string_pretty(&schema).expect("a JSON value always serializes");
            out(&schema)?;
            Ok(QsimExitCode::Passed)
        }
        Command::Infra(InfraCommand::Tfvars { dir }) => {
            let json = crate::infra::render(&load_dir(&dir, &[])?).map_err(CliErrorKind::Tfvars)?;
            out_raw(&json)?;
            Ok(QsimExitCode::Passed)
        }
        Command::Guide(command) => guide(command),
        Command::Cleanup { dry_run, aws } => cleanup(&aws_options(&aws, false), dry_run),
        Command::Bench {
            scenario,
            messages,
            min_rate,
            max_memory_mib,
        } => bench(
            scenario.as_deref(),
            messages,
            (min_rate, max_memory_mib),
            &limits,
        ),
        Command::Report {
            events,
            output,
            scenario,
        } => super::history_report::report(&events, &output, scenario.as_deref(), &limits),
        Command::Serve {
            port,
            profile,
            seed,
            events,
        } => serve(crate::serve::ServeOptions {
            port: Some(port),
            envelope: None,
            profile,
            seed,
            events,
            tap: None,
            faults: Vec::new(),
        }),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "qsim", &mut script);
            out_raw(&String::from_utf8_lossy(&script))?;
            Ok(QsimExitCode::Passed)
        }
        Command::Man { dir } => man(dir.as_deref()),
        Command::Consume(args) => super::consume::consume(&args),
        Command::Produce(args) => super::consume::produce(&args),
        Command::ExecChild { parent, argv } => {
            let (program, args) = argv.split_first().expect("clap requires the program");
            let error = crate::engine::child::become_child(parent, Path::new(program), args);
            Err(CliErrorKind::ExecChild(error).into())
        }
    }
}

/// Loads every file; fails with every file's errors (not just the first file's) if any failed.
fn load_all(files: &[PathBuf], limits: &scenario::Limits) -> Result<Vec<Scenario>, CliError> {
    let mut scenarios = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        match scenario::load_with(file, limits) {
            Ok(s) => scenarios.push(s),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(CliErrorKind::Scenarios(errors).into());
    }
    let mut names: Vec<(&str, &Path)> = scenarios
        .iter()
        .map(|s| (s.name.as_str(), s.path.as_path()))
        .collect();
    names.sort();
    if let Some(w) = names.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(CliErrorKind::DuplicateName {
            name: w[0].0.to_owned(),
            first: w[0].1.to_owned(),
            second: w[1].1.to_owned(),
        }
        .into());
    }
    Ok(scenarios)
}

fn load_dir(
    dir: &Path,
    tags: &[String],
    limits: &scenario::Limits,
) -> Result<Vec<Scenario>, CliError> {
    let files = scenario::discover(dir).map_err(|source| CliErrorKind::ReadDir {
        dir: dir.to_owned(),
        source,
    })?;
    let scenarios = load_all(&files, limits)?;
    Ok(scenarios
        .into_iter()
        .filter(|s| tags.is_empty() || s.tags.iter().any(|t| tags.contains(t)))
        .collect())
}

fn run_scenarios(scenarios: Vec<Scenario>, args: &RunArgs) -> Result<QsimExitCode, CliError> {
    let resources = load_resources(args, &scenarios)?;
    let report = match &args.report {
        None => None,
        Some(path) => Some(ReportTarget::open(path).map_err(|e| {
            CliError::output(format!("cannot write the report to {}", path.display()), e)
        })?),
    };
    writable_outputs(args, scenarios.len() > 1)?;
    let human = report.as_ref().map_or(Human::Stdout, ReportTarget::human);
    let progress = ProgressDisplay::stderr();
    let options = RunOptions {
        backend: match args.backend {
            BackendKind::Sim => BackendChoice::Sim,
            BackendKind::Aws => BackendChoice::Aws(Box::new(aws_options(&args.aws, args.keep))),
        },
        seed: args.seed,
        profile: args.sim_profile,
        snapshots: args.snapshots.clone(),
        update: UpdateMode::from_env(args.update_snapshots),
        progress: Some(progress.callback()),
        limits: crate::engine::Limits {
            max_wall: Some(*args.max_wall).filter(|d| !d.is_zero()),
        },
        resources,
        interrupts: match args.backend {
            BackendKind::Sim => None,
            BackendKind::Aws => super::signals::listen(),
        },
    };
    let several = scenarios.len() > 1;
    let mut runs: Vec<ScenarioRun> = Vec::new();
    let jobs = args.jobs.max(1);
    let mut failed_output = None;
    runner::run_all(scenarios, &options, jobs, |run| {
        progress.finish(&run.scenario.name);
        match progress.suspend(|| report_run(&run, human, args, several)) {
            Ok(true) => {
                runs.push(run);
                true
            }
            Ok(false) => false,
            Err(e) => {
                failed_output = Some(e);
                false
            }
        }
    });
    if let Some(e) = failed_output {
        return Err(e);
    }
    human.line(&summary::totals(&runs))?;
    if let Some(path) = &args.junit {
        std::fs::write(path, junit::render(&runs))
            .map_err(|e| CliError::output(format!("writing {}", path.display()), e))?;
    }
    if let Some(path) = &args.html {
        std::fs::write(path, crate::report::html::render(&runs))
            .map_err(|e| CliError::output(format!("writing {}", path.display()), e))?;
    }
    if let Some(report) = report {
        let target = report.describe();
        report
            .write(&json::render(&runs))
            .map_err(|e| CliError::output(format!("writing the report to {target}"), e))?;
    }
    let stopped_by = runs.iter().find_map(|r| match r.result {
        RunResult::Interrupted { signal } => Some(signal),
        RunResult::NotStarted(runner::NotStarted::Interrupted(signal)) => Some(signal),
        _ => None,
    });
    Ok(if let Some(signal) = stopped_by {
        QsimExitCode::stopped_by(signal)
    } else if runs
        .iter()
        .any(|r| matches!(&r.result, RunResult::Finished(f) if !f.verdict.violations.is_empty()))
    {
        QsimExitCode::InternalError
    } else if runs.iter().any(|r| {
        matches!(
            r.result,
            RunResult::BackendFailed(_) | RunResult::NotStarted(_)
        ) || r.leftovers.is_some()
    }) {
        QsimExitCode::BackendError
    } else if runs.iter().all(ScenarioRun::passed) {
        QsimExitCode::Passed
    } else {
        QsimExitCode::CheckFailed
    })
}

/// Prints a run's summary line and details and writes its events; `Ok(false)`: stdout's reader
/// went away, so nothing more is run or printed.
fn report_run(
    run: &ScenarioRun,
    human: Human,
    args: &RunArgs,
    several: bool,
) -> Result<bool, CliError> {
    if !human.line(&summary::line(run))? {
        return Ok(false);
    }
    human.raw(&summary::details(run))?;
    if args.explain {
        human.raw(&crate::report::explain::for_run(run))?;
    }
    if let (Some(path), RunResult::Finished(finished)) = (args.events.as_deref(), &run.result) {
        write_events(path, several, &run.scenario, &finished.outcome)
            .map_err(|e| CliError::output(format!("writing events to {}", path.display()), e))?;
    }
    Ok(true)
}

/// Makes sure `--junit` and `--events` can be written before anything runs, so a typo in a path
/// fails at once instead of after a long run.
fn writable_outputs(args: &RunArgs, several: bool) -> Result<(), CliError> {
    let describe = |path: &Path, e: std::io::Error| {
        CliError::output(format!("cannot write {}", path.display()), e)
    };
    // Only `--report` writes to stdout; for the others `-` would be a file named `-`.
    let outputs = [
        ("--junit", &args.junit),
        ("--html", &args.html),
        ("--events", &args.events),
    ];
    for (flag, path) in outputs {
        if path.as_deref() == Some(Path::new("-")) {
            return Err(CliError::output(
                format!("{flag} -"),
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "this output goes to a file (or, for --events with several scenarios, a \
                     folder), not stdout; only --report - writes to stdout",
                ),
            ));
        }
    }
    for path in [&args.junit, &args.html].into_iter().flatten() {
        std::fs::File::create(path).map_err(|e| describe(path, e))?;
    }
    if let Some(path) = &args.events {
        if several {
            std::fs::create_dir_all(path).map_err(|e| describe(path, e))?;
            let probe = path.join(".qsim-write-check");
            std::fs::File::create(&probe).map_err(|e| describe(path, e))?;
            let _ = std::fs::remove_file(probe);
        } else {
            std::fs::File::create(path).map_err(|e| describe(path, e))?;
        }
    }
    Ok(())
}

fn write_events(
    path: &Path,
    several: bool,
    scenario: &Scenario,
    outcome: &crate::engine::Outcome,
) -> std::io::Result<()> {
    let file = if several {
        std::fs::create_dir_all(path)?;
        path.join(format!("{}.jsonl", scenario.name))
    } else {
        path.to_owned()
    };
    let mut writer = std::io::BufWriter::new(std::fs::File::create(file)?);
    crate::report::events::write(&mut writer, scenario, outcome)?;
    std::io::Write::flush(&mut writer)
}

/// `qsim explain`: each scenario on the simulator, its failed checks told from the history.
fn explain(scenarios: Vec<Scenario>, seed: Option<u64>) -> Result<QsimExitCode, CliError> {
    let mut failed = false;
    for scenario in scenarios {
        let seed = seed.unwrap_or(scenario.seed);
        let scenario = std::rc::Rc::new(scenario);
        let outcome = runner::simulate(scenario.clone(), seed).map_err(CliErrorKind::Backend)?;
        let verdict = crate::check::check(&scenario, &outcome);
        let explanations = crate::check::explain::explain(&scenario, &outcome, &verdict);
        let head = if verdict.passed() {
            "PASS"
        } else {
            failed = true;
            "FAIL"
        };
        let mut text = format!("{head} {} (seed {seed})\n", scenario.name);
        text.push_str(&crate::report::explain::text(&explanations));
        if !out_raw(&text)? {
            break;
        }
    }
    Ok(if failed {
        QsimExitCode::CheckFailed
    } else {
        QsimExitCode::Passed
    })
}

/// `qsim man`: the top page on stdout, or every page (one per subcommand) into `dir`.
fn man(dir: Option<&Path>) -> Result<QsimExitCode, CliError> {
    let command = Cli::command();
    match dir {
        Some(dir) => std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(command, dir))
            .map_err(|e| CliError::output(format!("writing man pages to {}", dir.display()), e))?,
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut page)
                .map_err(|e| CliError::output("rendering the man page", e))?;
            out_raw(&String::from_utf8_lossy(&page))?;
        }
    }
    Ok(QsimExitCode::Passed)
}

fn bench(
    path: Option<&Path>,
    messages: Option<u64>,
    (min_rate, max_memory_mib): (Option<f64>, Option<u64>),
    limits: &scenario::Limits,
) -> Result<QsimExitCode, CliError> {
    let mut scenario = match path {
        Some(path) => load_all(&[path.to_owned()], limits)?
            .into_iter()
            .next()
            .expect("one file loaded"),
        None => scenario::parse_with(
            Path::new(crate::bench::BUILTIN_SCENARIO_PATH),
            crate::bench::BUILTIN_SCENARIO,
            limits,
        )
        .map_err(|e| CliErrorKind::Scenarios(vec![e]))?,
    };
    if let Some(messages) = messages {
        let Some(resized) = crate::bench::with_messages(scenario, messages) else {
            err("bench: --messages needs a scenario with one producer of a fixed count");
            return Ok(QsimExitCode::CheckFailed);
        };
        scenario = resized;
    }
    let result = crate::bench::measure(scenario).map_err(CliErrorKind::Backend)?;
    out(&result.to_string())?;
    let slow = min_rate.is_some_and(|min| result.rate() < min);
    let big = max_memory_mib.is_some_and(|max| result.peak_rss_mib().is_some_and(|m| m > max));
    if !(slow || big) {
        return Ok(QsimExitCode::Passed);
    }
    // A measurement, like a failed check: the command's finding, not an error.
    err(&format!(
        "bench: below target (min {} msg/s, max {} MiB)",
        min_rate.map_or("-".into(), |r| r.to_string()),
        max_memory_mib.map_or("-".into(), |m| m.to_string())
    ));
    Ok(QsimExitCode::CheckFailed)
}

pub(super) fn aws_options(args: &AwsArgs, keep: bool) -> AwsOptions {
    AwsOptions {
        region: args.region.clone(),
        profile: args.profile.clone(),
        endpoint_url: args.endpoint_url.clone(),
        keep,
        provisioned: None,
        attach: false,
        max_send_rate: match args.endpoint_max_rate {
            Some(0) => None,
            Some(rate) => Some(rate),
            None => args
                .endpoint_url
                .as_ref()
                .map(|_| crate::backend::aws::CUSTOM_ENDPOINT_MAX_RATE),
        },
    }
}

fn cleanup(options: &AwsOptions, dry_run: bool) -> Result<QsimExitCode, CliError> {
    let runtime = crate::engine::realtime_runtime().map_err(CliErrorKind::Runtime)?;
    let report = runtime
        .block_on(crate::backend::aws::cleanup(options, dry_run))
        .map_err(CliErrorKind::Backend)?;
    let verb = if dry_run { "would delete" } else { "deleted" };
    let deleted = report
        .deleted
        .iter()
        .map(|entry| format!("{verb} {} {}", entry.kind.as_str(), entry.name));
    let skipped = report.skipped.iter().map(|skip| {
        format!(
            "skipped {} {} ({})",
            skip.resource.kind.as_str(),
            skip.resource.name,
            skip.reason.describe()
        )
    });
    let totals = format!(
        "cleanup: {} {verb}, {} skipped, {} failed",
        report.deleted.len(),
        report.skipped.len(),
        report.failed.len()
    );
    for line in deleted.chain(skipped).chain([totals]) {
        if !out(&line)? {
            break;
        }
    }
    if report.failed.is_empty() {
        Ok(QsimExitCode::Passed)
    } else {
        Err(CliErrorKind::CleanupIncomplete(report.failed).into())
    }
}

/// Reads `--resources` and checks, before anything runs, that it has usable resources for every
/// scenario about to run.
fn load_resources(
    args: &RunArgs,
    scenarios: &[Scenario],
) -> Result<Option<std::sync::Arc<ResourcesFile>>, CliError> {
    let Some(path) = &args.resources else {
        return Ok(None);
    };
    if args.backend != BackendKind::Aws {
        return Err(CliErrorKind::ResourcesNeedAws.into());
    }
    let file = ResourcesFile::load(path).map_err(|e| CliErrorKind::Resources(vec![e]))?;
    let mismatches: Vec<_> = scenarios
        .iter()
        .filter_map(|scenario| file.matching(scenario).err())
        .collect();
    if !mismatches.is_empty() {
        return Err(CliErrorKind::Resources(mismatches).into());
    }
    Ok(Some(std::sync::Arc::new(file)))
}

/// One run per CPU: each run is single-threaded.
fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// `qsim guide build|check`: the guide regenerated from fresh runs, written or compared.
fn guide(command: GuideCommand) -> Result<QsimExitCode, CliError> {
    let (repo, write) = match command {
        GuideCommand::Build { repo } => (repo, true),
        GuideCommand::Check { repo } => (repo, false),
    };
    let refresh = crate::guide::refresh(&repo).map_err(CliErrorKind::Guide)?;
    for problem in &refresh.problems {
        err(&format!("error: {problem}"));
    }
    let stale: Vec<_> = refresh.stale().collect();
    if write {
        let written = refresh.write().map_err(CliErrorKind::Guide)?;
        out(&format!(
            "guide: {written} file(s) rewritten, {} current",
            refresh.files.len() - written
        ))?;
    } else {
        for change in &stale {
            err(&format!(
                "stale: {} (run `qsim guide build`)",
                change.path.display()
            ));
        }
        out(&format!(
            "guide: {} file(s), {} stale, {} problem(s)",
            refresh.files.len(),
            stale.len(),
            refresh.problems.len()
        ))?;
    }
    let failed = !refresh.problems.is_empty() || (!write && !stale.is_empty());
    Ok(if failed {
        QsimExitCode::CheckFailed
    } else {
        QsimExitCode::Passed
    })
}

/// `qsim serve`: in the foreground until Ctrl-C or SIGTERM, then stopped gracefully (the
/// history flushed).
fn serve(options: crate::serve::ServeOptions) -> Result<QsimExitCode, CliError> {
    if options.events.as_deref() == Some(Path::new("-")) {
        return Err(CliError::output(
            "--events -",
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the server's history goes to a file, not stdout (which shows the endpoint)",
            ),
        ));
    }
    let profile = options.profile;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliErrorKind::Runtime)?;
    // Listening before the endpoint is printed: a SIGTERM sent as soon as it is read stops the
    // server cleanly instead of killing it with its history unwritten.
    let stopped = {
        let _entered = runtime.enter();
        crate::interrupt::signal_from_now()
    };
    let server = crate::serve::spawn(options).map_err(CliErrorKind::Serve)?;
    let url = server.endpoint_url();
    out(&format!(
        "qsim serve: SQS and DynamoDB on {url} (profile {}), until Ctrl-C",
        profile.as_str()
    ))?;
    out(&format!(
        "point an SDK at it: AWS_ENDPOINT_URL={url} AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x"
    ))?;
    runtime.block_on(stopped);
    server.stop().map_err(CliErrorKind::Serve)?;
    Ok(QsimExitCode::Passed)
}
