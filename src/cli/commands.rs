//! One function per subcommand.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use super::args::{AwsArgs, BackendKind, Cli, Command, InfraCommand, RunArgs};
use super::output::{Human, err, out, out_raw};
use super::report_target::ReportTarget;
use crate::backend::aws::AwsOptions;
use crate::check::snapshot::UpdateMode;
use crate::engine::Progress;
use crate::exit::QsimExitCode;
use crate::infra::ResourcesFile;
use crate::report::{json, junit, summary};
use crate::runner::{self, BackendChoice, ProgressFn, RunOptions, RunResult, ScenarioRun};
use crate::scenario::{self, Scenario};

pub fn dispatch(cli: Cli) -> QsimExitCode {
    let limits = scenario::Limits {
        max_messages: cli.max_messages,
    };
    let load_all = |files: &[PathBuf]| load_all(files, &limits);
    let load_dir = |dir: &Path, tags: &[String]| load_dir(dir, tags, &limits);
    match cli.command {
        Command::Run { files, run } => match load_all(&files) {
            Ok(scenarios) => run_scenarios(scenarios, &run),
            Err(code) => code,
        },
        Command::RunAll { dir, tags, run } => match load_dir(&dir, &tags) {
            Ok(scenarios) if scenarios.is_empty() => {
                err(&format!(
                    "error: no scenario in {} matches tags {tags:?}",
                    dir.display()
                ));
                QsimExitCode::BadInput
            }
            Ok(scenarios) => run_scenarios(scenarios, &run),
            Err(code) => code,
        },
        Command::List { dir, tags } => match load_dir(&dir, &tags) {
            Ok(scenarios) => {
                for s in &scenarios {
                    let first_line = s.description.lines().next().unwrap_or("");
                    if !out(&format!(
                        "{:<24} {:<28} {first_line}",
                        s.name,
                        s.tags.join(",")
                    )) {
                        break;
                    }
                }
                QsimExitCode::Passed
            }
            Err(code) => code,
        },
        Command::Validate { files } => match load_all(&files) {
            Ok(scenarios) => {
                for s in &scenarios {
                    out(&format!("ok {}", s.path.display()));
                }
                QsimExitCode::Passed
            }
            Err(code) => code,
        },
        Command::Schema { events } => {
            let schema = if events {
                crate::report::events::json_schema()
            } else {
                scenario::json_schema()
            };
            let schema =
                serde_json::to_string_pretty(&schema).expect("a JSON value always serializes");
            out(&schema);
            QsimExitCode::Passed
        }
        Command::Infra(InfraCommand::Tfvars { dir }) => match load_dir(&dir, &[]) {
            Ok(scenarios) => match crate::infra::render(&scenarios) {
                Ok(json) => {
                    out_raw(&json);
                    QsimExitCode::Passed
                }
                Err(e) => {
                    err(&format!("error: {e}"));
                    QsimExitCode::BadInput
                }
            },
            Err(code) => code,
        },
        Command::Cleanup { dry_run, aws } => cleanup(&aws_options(&aws, false), dry_run),
        Command::Bench {
            scenario,
            min_rate,
            max_memory_mib,
        } => bench(&scenario, min_rate, max_memory_mib, &limits),
    }
}

/// Loads every file; prints every error (not just the first) and returns exit 2 if any failed.
fn load_all(files: &[PathBuf], limits: &scenario::Limits) -> Result<Vec<Scenario>, QsimExitCode> {
    let color = std::io::stderr().is_terminal();
    let mut scenarios = Vec::new();
    let mut failed = false;
    for file in files {
        match scenario::load_with(file, limits) {
            Ok(s) => scenarios.push(s),
            Err(e) => {
                err(&e.render(color));
                failed = true;
            }
        }
    }
    if failed {
        return Err(QsimExitCode::BadInput);
    }
    let mut names: Vec<(&str, &Path)> = scenarios
        .iter()
        .map(|s| (s.name.as_str(), s.path.as_path()))
        .collect();
    names.sort();
    if let Some(w) = names.windows(2).find(|w| w[0].0 == w[1].0) {
        err(&format!(
            "error: {} and {} are both named `{}` (names must be unique: they name snapshots)",
            w[0].1.display(),
            w[1].1.display(),
            w[0].0
        ));
        return Err(QsimExitCode::BadInput);
    }
    Ok(scenarios)
}

fn load_dir(
    dir: &Path,
    tags: &[String],
    limits: &scenario::Limits,
) -> Result<Vec<Scenario>, QsimExitCode> {
    let files = match scenario::discover(dir) {
        Ok(files) => files,
        Err(e) => {
            err(&format!("error: cannot read {}: {e}", dir.display()));
            return Err(QsimExitCode::BadInput);
        }
    };
    let scenarios = load_all(&files, limits)?;
    Ok(scenarios
        .into_iter()
        .filter(|s| tags.is_empty() || s.tags.iter().any(|t| tags.contains(t)))
        .collect())
}

fn run_scenarios(scenarios: Vec<Scenario>, args: &RunArgs) -> QsimExitCode {
    let resources = match load_resources(args, &scenarios) {
        Ok(resources) => resources,
        Err(code) => return code,
    };
    let report = match &args.report {
        None => None,
        Some(path) => match ReportTarget::open(path) {
            Ok(report) => Some(report),
            Err(e) => {
                err(&format!(
                    "error: cannot write the report to {}: {e}",
                    path.display()
                ));
                return QsimExitCode::BadInput;
            }
        },
    };
    if let Err(e) = writable_outputs(args, scenarios.len() > 1) {
        err(&format!("error: {e}"));
        return QsimExitCode::BadInput;
    }
    let human = report.as_ref().map_or(Human::Stdout, ReportTarget::human);
    let options = RunOptions {
        backend: match args.backend {
            BackendKind::Sim => BackendChoice::Sim,
            BackendKind::Aws => BackendChoice::Aws(Box::new(aws_options(&args.aws, args.keep))),
        },
        seed: args.seed,
        snapshots: args.snapshots.clone(),
        update: UpdateMode::from_env(args.update_snapshots),
        progress: Some(progress_printer(args.jobs > 1)),
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
    let mut failed_io = false;
    runner::run_all(scenarios, &options, jobs, |run| {
        if args.backend == BackendKind::Aws && jobs == 1 && std::io::stderr().is_terminal() {
            eprint!("\r\x1b[2K"); // clear the progress line
        }
        if !human.line(&summary::line(&run)) {
            return false;
        }
        human.raw(&summary::details(&run));
        if let (Some(path), RunResult::Finished(finished)) = (&args.events, &run.result) {
            if let Err(e) = write_events(path, several, &run.scenario, &finished.outcome) {
                err(&format!("error: writing events to {}: {e}", path.display()));
                failed_io = true;
                return false;
            }
        }
        runs.push(run);
        true
    });
    if failed_io {
        return QsimExitCode::BadInput;
    }
    human.line(&summary::totals(&runs));
    if let Some(path) = &args.junit {
        if let Err(e) = std::fs::write(path, junit::render(&runs)) {
            err(&format!("error: writing {}: {e}", path.display()));
            return QsimExitCode::BadInput;
        }
    }
    if let Some(report) = report {
        let target = report.describe();
        if let Err(e) = report.write(&json::render(&runs)) {
            err(&format!("error: writing the report to {target}: {e}"));
            return QsimExitCode::BadInput;
        }
    }
    let stopped_by = runs.iter().find_map(|r| match r.result {
        RunResult::Interrupted { signal } => Some(signal),
        RunResult::NotStarted(crate::runner::NotStarted::Interrupted(signal)) => Some(signal),
        _ => None,
    });
    if let Some(signal) = stopped_by {
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
    }
}

/// Makes sure `--junit` and `--events` can be written before anything runs, so a typo in a path
/// fails at once instead of after a long run.
fn writable_outputs(args: &RunArgs, several: bool) -> Result<(), String> {
    let describe = |path: &Path, e: std::io::Error| format!("cannot write {}: {e}", path.display());
    if let Some(path) = &args.junit {
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
    scenario: &crate::scenario::Scenario,
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

fn bench(
    path: &Path,
    min_rate: Option<f64>,
    max_memory_mib: Option<u64>,
    limits: &scenario::Limits,
) -> QsimExitCode {
    let scenarios = match load_all(&[path.to_owned()], limits) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let scenario = scenarios.into_iter().next().expect("one file loaded");
    match crate::bench::measure(scenario) {
        Ok(result) => {
            out(&result.to_string());
            let slow = min_rate.is_some_and(|min| result.rate() < min);
            let big =
                max_memory_mib.is_some_and(|max| result.peak_rss_mib().is_some_and(|m| m > max));
            if slow || big {
                err(&format!(
                    "bench: below target (min {} msg/s, max {} MiB)",
                    min_rate.map_or("-".into(), |r| r.to_string()),
                    max_memory_mib.map_or("-".into(), |m| m.to_string())
                ));
                QsimExitCode::CheckFailed
            } else {
                QsimExitCode::Passed
            }
        }
        Err(e) => {
            err(&format!("error: {}", summary::error_chain(&e)));
            QsimExitCode::BackendError
        }
    }
}

fn aws_options(args: &AwsArgs, keep: bool) -> AwsOptions {
    AwsOptions {
        region: args.region.clone(),
        profile: args.profile.clone(),
        endpoint_url: args.endpoint_url.clone(),
        keep,
        provisioned: None,
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

/// Progress of runs on real backends, on stderr: rewritten in place on a terminal when one
/// scenario runs at a time, otherwise one line every few reports (CI logs, `--jobs`).
fn progress_printer(parallel: bool) -> ProgressFn {
    let in_place = !parallel && std::io::stderr().is_terminal();
    let reports = std::sync::atomic::AtomicU64::new(0);
    std::sync::Arc::new(move |name: &str, p: &Progress| {
        let line = format!(
            "{name}: {} elapsed · sent {} · processed {} · in flight {} · dlq {} · consumers {}",
            summary::clock(p.elapsed),
            p.sent,
            p.processed,
            p.in_flight,
            p.dlq,
            p.consumers
        );
        let n = reports.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if in_place {
            eprint!("\r\x1b[2K{line}");
        } else if n % 5 == 0 {
            err(&line);
        }
    })
}

fn cleanup(options: &AwsOptions, dry_run: bool) -> QsimExitCode {
    let runtime = match crate::engine::realtime_runtime() {
        Ok(runtime) => runtime,
        Err(e) => {
            err(&format!("error: {e}"));
            return QsimExitCode::BackendError;
        }
    };
    match runtime.block_on(crate::backend::aws::cleanup(options, dry_run)) {
        Ok(report) => {
            let verb = if dry_run { "would delete" } else { "deleted" };
            for entry in &report.deleted {
                out(&format!("{verb} {} {}", entry.kind.as_str(), entry.name));
            }
            for skip in &report.skipped {
                out(&format!(
                    "skipped {} {} ({})",
                    skip.resource.kind.as_str(),
                    skip.resource.name,
                    skip.reason.describe()
                ));
            }
            for failure in &report.failed {
                err(&format!(
                    "error: {} {}: {}",
                    failure.resource.kind.as_str(),
                    failure.resource.name,
                    summary::error_chain(&failure.error)
                ));
            }
            out(&format!(
                "cleanup: {} {verb}, {} skipped, {} failed",
                report.deleted.len(),
                report.skipped.len(),
                report.failed.len()
            ));
            if report.failed.is_empty() {
                QsimExitCode::Passed
            } else {
                QsimExitCode::BackendError
            }
        }
        Err(e) => {
            err(&format!("error: {}", summary::error_chain(&e)));
            QsimExitCode::BackendError
        }
    }
}

/// Reads `--resources` and checks, before anything runs, that it has usable resources for every
/// scenario about to run.
fn load_resources(
    args: &RunArgs,
    scenarios: &[Scenario],
) -> Result<Option<std::sync::Arc<ResourcesFile>>, QsimExitCode> {
    let Some(path) = &args.resources else {
        return Ok(None);
    };
    if args.backend != BackendKind::Aws {
        err("error: --resources needs --backend aws");
        return Err(QsimExitCode::BadInput);
    }
    let file = ResourcesFile::load(path).map_err(|e| {
        err(&format!("error: {}", summary::error_chain(&e)));
        QsimExitCode::BadInput
    })?;
    let mut bad = false;
    for scenario in scenarios {
        if let Err(e) = file.matching(scenario) {
            err(&format!("error: {}", summary::error_chain(&e)));
            bad = true;
        }
    }
    if bad {
        return Err(QsimExitCode::BadInput);
    }
    Ok(Some(std::sync::Arc::new(file)))
}
