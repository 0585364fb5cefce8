//! `qsim consume` and `qsim produce`: the built-in consumer (one instance) and producer on
//! existing queues and tables.

use std::io::Write;
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

use super::args::{ConsumeArgs, ProduceArgs, ResourceArgs};
use super::commands::aws_options;
use super::error::{CliError, CliErrorKind};
use crate::backend::aws::{AwsBackend, ProvisionedQueues};
use crate::engine::{EventSink, Instance, LoneEnd};
use crate::exit::QsimExitCode;
use crate::report::events::{event_line, header_line};
use crate::scenario::flags::{self, FlagTable};
use crate::scenario::{Execution, Scenario};

pub(super) fn consume(args: &ConsumeArgs) -> Result<QsimExitCode, CliError> {
    let fifo = args.resources.queue_url.ends_with(".fifo");
    let file = args.scenario.as_deref().zip(args.group.as_deref());
    let (scenario, index) =
        flags::scenario_with(FlagTable::Consumers, file, &args.keys.values, fifo)
            .map_err(|error| CliErrorKind::Scenarios(vec![error]))?;
    let group = flags::consumer_group(index);
    let config = scenario.group(group);
    if matches!(config.execution, Execution::Command { .. }) {
        return Err(CliErrorKind::NotBuiltIn {
            group: config.name.clone(),
        }
        .into());
    }
    let instance = Instance {
        group,
        name: args
            .instance
            .clone()
            .unwrap_or_else(|| format!("{}-1", config.name)),
        seed: args.seed.unwrap_or(scenario.seed),
        incarnation: args.incarnation,
        origin: args
            .origin_unix_us
            .map(|us| UNIX_EPOCH + Duration::from_micros(us)),
        spent_crashes: args.spent_crash.clone(),
    };
    let options = attached(&args.aws, &args.resources, fifo);
    let sink = event_sink(args.events.as_deref(), &scenario, instance.seed)?;
    let runtime = crate::engine::realtime_runtime().map_err(CliErrorKind::Runtime)?;
    let scenario = Rc::new(scenario);
    let end = tokio::task::LocalSet::new().block_on(&runtime, async {
        // Installed before anything else: a SIGTERM from the start on is a graceful stop.
        let stop = stop_signal().map_err(CliErrorKind::Runtime)?;
        let backend = AwsBackend::connect(&options, &scenario.name)
            .await
            .map_err(CliErrorKind::Backend)?;
        crate::engine::consume(scenario.clone(), Rc::new(backend), instance, sink, stop)
            .await
            .map_err(CliErrorKind::Backend)
    })?;
    Ok(match end {
        LoneEnd::Exited(_) => QsimExitCode::Passed,
        LoneEnd::Crashed(_) => QsimExitCode::Crashed,
    })
}

pub(super) fn produce(args: &ProduceArgs) -> Result<QsimExitCode, CliError> {
    let fifo = args.resources.queue_url.ends_with(".fifo");
    let file = args.scenario.as_deref().zip(args.group.as_deref());
    let (scenario, index) =
        flags::scenario_with(FlagTable::Producers, file, &args.keys.values, fifo)
            .map_err(|error| CliErrorKind::Scenarios(vec![error]))?;
    let seed = args.seed.unwrap_or(scenario.seed);
    let options = attached(&args.aws, &args.resources, fifo);
    let sink = event_sink(args.events.as_deref(), &scenario, seed)?;
    let runtime = crate::engine::realtime_runtime().map_err(CliErrorKind::Runtime)?;
    let scenario = Rc::new(scenario);
    tokio::task::LocalSet::new().block_on(&runtime, async {
        let stop = stop_signal().map_err(CliErrorKind::Runtime)?;
        let backend = AwsBackend::connect(&options, &scenario.name)
            .await
            .map_err(CliErrorKind::Backend)?;
        crate::engine::produce(scenario.clone(), Rc::new(backend), index, seed, sink, stop)
            .await
            .map_err(CliErrorKind::Backend)
    })?;
    Ok(QsimExitCode::Passed)
}

/// The AWS options that use `resources` as they are (another run's or a team's).
fn attached(
    aws: &super::args::AwsArgs,
    resources: &ResourceArgs,
    fifo: bool,
) -> crate::backend::aws::AwsOptions {
    let mut options = aws_options(aws, false);
    options.provisioned = Some(ProvisionedQueues {
        queue_url: resources.queue_url.clone(),
        queue_arn: String::new(),
        dlq_url: resources.dlq_url.clone(),
        dlq_arn: None,
        status_table: resources.status_table.clone(),
        side_effects_table: resources.side_effects_table.clone(),
        fifo,
    });
    options.attach = true;
    options
}

/// Resolves at the first SIGTERM or Ctrl-C.
fn stop_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
}

/// Where `--events` goes: each line written and flushed as it happens, so a parent reading the
/// pipe has every line up to a SIGKILL.
fn event_sink(path: Option<&Path>, scenario: &Scenario, seed: u64) -> Result<EventSink, CliError> {
    let Some(path) = path else {
        return Ok(Box::new(|_: &_, _: &_| {}));
    };
    let output = |source| CliErrorKind::Output {
        doing: format!("writing the events to {}", path.display()),
        source,
    };
    let mut writer: Box<dyn Write> = if path == Path::new("-") {
        Box::new(std::io::stdout())
    } else {
        Box::new(std::fs::File::create(path).map_err(output)?)
    };
    let header = header_line(scenario, seed, "aws", false);
    writeln!(writer, "{header}").map_err(output)?;
    let fifo = scenario.queue.attributes.fifo;
    Ok(Box::new(move |log, event| {
        // A reader that went away (the parent died) leaves nobody to tell.
        let _ = writeln!(writer, "{}", event_line(log, event, fifo)).and_then(|()| writer.flush());
    }))
}
