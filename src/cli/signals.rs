//! Ctrl-C and SIGTERM during `qsim run --backend aws`: the first stops every run (each deletes
//! its resources, then the summary is printed as usual); a second one exits at once, after
//! saying what may be left and how to delete it.

use std::sync::Arc;

use super::output::err;
use crate::exit::QsimExitCode;
use crate::interrupt::{ActiveRun, Interrupts, Signal};

/// Listens for the process's stop signals; `None` (and a warning) when that fails, in which case
/// each run listens for itself.
pub(super) fn listen() -> Option<Arc<Interrupts>> {
    match Interrupts::listen(exit_at_once) {
        Ok(interrupts) => Some(interrupts),
        Err(e) => {
            err(&format!(
                "warning: cannot listen for Ctrl-C and SIGTERM: {e}"
            ));
            None
        }
    }
}

/// The second signal: the teardowns in progress are abandoned.
fn exit_at_once(signal: Signal, active: Vec<ActiveRun>) {
    err(&message(signal, &active));
    std::process::exit(QsimExitCode::stopped_by(signal).code().into());
}

fn message(signal: Signal, active: &[ActiveRun]) -> String {
    let mut text = format!(
        "\n{} again: exiting without finishing the teardown.",
        signal.describe()
    );
    if active.is_empty() {
        return text;
    }
    text.push_str("\nThese runs' resources may be left behind:");
    for run in active {
        text.push_str(&format!(
            "\n  {}: queues and tables named {}-*",
            run.scenario, run.prefix
        ));
    }
    let mut commands: Vec<&str> = active.iter().map(|r| r.cleanup_command.as_str()).collect();
    commands.dedup();
    for command in commands {
        text.push_str(&format!("\nDelete them with: {command}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_second_signal_names_what_may_be_left_and_the_cleanup_command() {
        let active = [ActiveRun {
            scenario: "happy".into(),
            prefix: "qsim-happy-0a1b2c3d".into(),
            cleanup_command: "qsim cleanup --region us-east-1".into(),
        }];
        let text = message(Signal::Terminate, &active);
        assert!(text.contains("SIGTERM again"), "{text}");
        assert!(text.contains("qsim-happy-0a1b2c3d-*"), "{text}");
        assert!(
            text.ends_with("Delete them with: qsim cleanup --region us-east-1"),
            "{text}"
        );
    }
}
