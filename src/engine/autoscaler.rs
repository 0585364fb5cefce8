//! The autoscaler: every interval, adds a consumer while the main queue's visible depth is at or
//! above the scale-out threshold, and removes one (SIGTERM) at or below the scale-in threshold.

use std::rc::Rc;

use tokio::time::sleep;

use super::context::RunContext;
use super::event::EventKind;
use super::fleet::Fleet;
use crate::backend::Backend;
use crate::scenario::{Autoscaler, Target};

pub async fn run<B: Backend + 'static>(
    ctx: Rc<RunContext<B>>,
    fleet: Rc<Fleet<B>>,
    config: Autoscaler,
) {
    let actor = ctx.actor("autoscaler");
    let Some(group) = fleet.group_index(&config.group) else {
        return;
    };
    loop {
        sleep(config.interval).await;
        let depth = match ctx.backend.depth(ctx.main).await {
            Ok(depth) => depth.visible,
            Err(error) => return ctx.fail(error),
        };
        let alive = fleet.alive_in(group);
        if depth >= config.scale_out_depth && (alive.len() as u32) < config.max {
            fleet.start(
                group,
                1,
                std::time::Duration::ZERO,
                std::time::Duration::ZERO,
            );
            ctx.record(actor, None, EventKind::ScaledOut);
        } else if config.scale_in_depth.is_some_and(|d| depth <= d)
            && alive.len() as u32 > config.min
        {
            let youngest = alive
                .iter()
                .filter_map(|name| name.rsplit('-').next()?.parse().ok())
                .max();
            let Some(index) = youngest else { continue };
            fleet.terminate(&Target::Instance {
                group: config.group.clone(),
                index,
            });
            ctx.record(actor, None, EventKind::ScaledIn);
        }
    }
}
