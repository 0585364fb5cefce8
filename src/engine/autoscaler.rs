//! The autoscaler: brings its group up to `min` instances when the run starts, then every
//! interval adds a consumer while the main queue's visible depth is at or above the scale-out
//! threshold, and removes one (SIGTERM) at or below the scale-in threshold, never going above
//! `max` or below `min`.
//!
//! `min` is the group's starting size and the floor of scaling in, not a size kept by replacing
//! instances that exit on their own (idle timeout, message limit, crash): a group that idles out
//! on a drained queue stays down, so the run can end. The engine asks [`may_still_act`] before
//! ending a run, so a backlog that only the autoscaler would pick up is not left behind.

use std::rc::Rc;
use std::time::Duration;

use tokio::time::sleep;

use super::context::RunContext;
use super::event::EventKind;
use super::fleet::Fleet;
use crate::backend::{Backend, BackendError};
use crate::scenario::{Autoscaler, Target};

/// Starts the instances `group` lacks to reach `min`, as the group's own instances start (at its
/// `start`, `stagger` apart, after the `count` it starts itself). Call it before the run's first
/// end-of-run check, right after the groups started.
pub(super) fn start_min<B: Backend + 'static>(
    ctx: &RunContext<B>,
    fleet: &Rc<Fleet<B>>,
    config: &Autoscaler,
) {
    let group = config.group;
    let alive = fleet.alive_in(group).len() as u32;
    let missing = config.min.saturating_sub(alive);
    if missing == 0 {
        return;
    }
    let actor = ctx.actor("autoscaler");
    let consumers = ctx.scenario().group(group);
    fleet.start(
        group,
        missing,
        consumers
            .start
            .saturating_add(consumers.stagger.saturating_mul(alive)),
        consumers.stagger,
    );
    for _ in 0..missing {
        ctx.record(actor, None, EventKind::ScaledOut);
    }
}

/// Whether the autoscaler may still start a consumer, asked when the producers are done and no
/// consumer is alive. Then nothing takes messages off the main queue, so its in-flight and
/// delayed messages become visible in time: the group scales out at a later tick if the whole
/// depth reaches the threshold and the group is below `max`. Otherwise it never acts again.
pub(super) async fn may_still_act<B: Backend + 'static>(
    ctx: &RunContext<B>,
    fleet: &Fleet<B>,
    config: &Autoscaler,
) -> Result<bool, BackendError> {
    if fleet.alive_in(config.group).len() as u32 >= config.max {
        return Ok(false);
    }
    let depth = ctx.backend().settled_depth(ctx.main()).await?;
    Ok(depth.total() >= config.scale_out_depth)
}

pub(super) async fn run<B: Backend + 'static>(
    ctx: Rc<RunContext<B>>,
    fleet: Rc<Fleet<B>>,
    config: Autoscaler,
) {
    let actor = ctx.actor("autoscaler");
    let group = config.group;
    loop {
        sleep(config.interval).await;
        let depth = match ctx.backend().depth(ctx.main()).await {
            Ok(depth) => depth.visible,
            Err(error) => return ctx.fail(error),
        };
        let alive = fleet.alive_in(group);
        if depth >= config.scale_out_depth && (alive.len() as u32) < config.max {
            fleet.start(group, 1, Duration::ZERO, Duration::ZERO);
            ctx.record(actor, None, EventKind::ScaledOut);
        } else if config.scale_in_depth.is_some_and(|d| depth <= d)
            && alive.len() as u32 > config.min
        {
            let Some(youngest) = alive.iter().max() else {
                continue;
            };
            fleet.terminate(&Target::Instance {
                group,
                index: *youngest,
            });
            ctx.record(actor, None, EventKind::ScaledIn);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::rc::Rc;
    use std::time::Duration;

    use crate::engine::{Ending, EventKind, Outcome};
    use crate::{check, runner, scenario};

    /// The group keys of a group only the autoscaler starts.
    const ONLY_SCALED: &str = "count = 0";

    /// A scenario with an autoscaled group: `group` is the `[[consumers]]` table's extra keys,
    /// `autoscaler` the `[autoscaler]` table's, `tail` anything after.
    fn scaled(count: u32, group: &str, autoscaler: &str, tail: &str) -> String {
        format!(
            r#"
            [scenario]
            name = "scaled"
            description = "an autoscaled consumer group"
            timeout = "5m"

            [queue]
            visibility_timeout = "10s"

            [[producers]]
            name = "load"
            count = {count}
            batch_size = 10

            [[consumers]]
            name = "worker"
            idle_timeout = "2s"
            {group}

            [autoscaler]
            group = "worker"
            interval = "1s"
            {autoscaler}

            {tail}
            "#
        )
    }

    /// Runs `text` on the simulator and asserts its `[expect]` holds.
    fn run(text: &str) -> Outcome {
        let scenario = scenario::parse(Path::new("scaled.toml"), text).unwrap();
        let outcome = runner::simulate(Rc::new(scenario.clone()), 1).unwrap();
        let verdict = check::check(&scenario, &outcome);
        assert!(
            verdict.passed(),
            "{:?}",
            verdict.failures().collect::<Vec<_>>()
        );
        outcome
    }

    #[test]
    fn min_instances_start_with_the_run() {
        let text = scaled(
            20,
            ONLY_SCALED,
            "scale_out_depth = 100\nmin = 2\nmax = 4",
            "[expect]\nprocessed = 20\npeak_consumers = 2",
        );
        let outcome = run(&text);
        assert_eq!(outcome.ending, Ending::Completed);
    }

    #[test]
    fn min_instances_follow_the_groups_start_after_its_own_count() {
        let text = scaled(
            20,
            "count = 1\nstart = \"2s\"\nstagger = \"1s\"",
            "scale_out_depth = 100\nmin = 3\nmax = 4",
            "[expect]\nprocessed = 20\npeak_consumers = 3",
        );
        let outcome = run(&text);
        let started: Vec<u64> = outcome
            .log
            .events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::ConsumerStarted))
            .map(|e| e.at_us / 1_000_000)
            .collect();
        assert_eq!(started, [2, 3, 4]);
    }

    #[test]
    fn a_backlog_keeps_the_run_alive_until_the_autoscaler_scales_out() {
        // min = 0: nobody is alive once the producer is done, but the next tick scales out.
        let text = scaled(
            20,
            ONLY_SCALED,
            "scale_out_depth = 5\nmin = 0\nmax = 2",
            "[expect]\nprocessed = 20\npeak_consumers = \">= 1\"\nqueue_empty = true",
        );
        let outcome = run(&text);
        assert_eq!(outcome.ending, Ending::Completed);
        assert!(outcome.elapsed >= Duration::from_secs(1), "the first tick");
    }

    #[test]
    fn messages_in_flight_keep_the_run_alive_until_they_return_and_scale_the_group_out() {
        // The only instance is killed holding the batch: no consumer alive, nothing visible,
        // but in flight enough to scale out once the visibility timeout ends.
        let text = scaled(
            10,
            "count = 1\nmax_messages = 10\nprocessing = \"5s\"",
            "scale_out_depth = 5\nmin = 1\nmax = 1",
            "[[at]]\ntime = \"1s\"\nkill = \"worker-1\"\n\n[expect]\nprocessed = 10\nqueue_empty = true",
        );
        let outcome = run(&text);
        assert_eq!(outcome.ending, Ending::Completed);
        assert!(
            outcome.elapsed >= Duration::from_secs(10),
            "the visibility timeout"
        );
    }

    #[test]
    fn too_few_messages_to_scale_out_end_the_run_at_once() {
        let text = scaled(3, ONLY_SCALED, "scale_out_depth = 5\nmin = 0\nmax = 2", "");
        let outcome = run(&text);
        assert_eq!(outcome.ending, Ending::Completed);
        assert!(
            outcome.elapsed < Duration::from_secs(1),
            "{:?}",
            outcome.elapsed
        );
        assert_eq!(outcome.final_state.main.len(), 3);
    }

    #[test]
    fn a_drained_queue_ends_the_run_when_the_last_instance_idles_out() {
        // min is where the group starts and how far it scales in, not a floor kept by
        // restarting instances that exit: the run ends once the last one idles out.
        let text = scaled(
            20,
            ONLY_SCALED,
            "scale_out_depth = 5\nmin = 1\nmax = 2",
            "[expect]\nprocessed = 20\npeak_consumers = 1",
        );
        let outcome = run(&text);
        assert_eq!(outcome.ending, Ending::Completed);
        assert!(
            outcome.elapsed < Duration::from_secs(3),
            "{:?}",
            outcome.elapsed
        );
    }
}
