//! Valid files resolve to the expected model, defaults applied.

use std::path::Path;
use std::time::Duration;

use indoc::indoc;

use crate::scenario::*;
use crate::sqs::{DeduplicationScope, FifoThroughputLimit, QueueAttributes, QueueRole};

pub(super) fn resolve_ok(text: &str) -> Scenario {
    parse(Path::new("t.toml"), text).unwrap_or_else(|error| panic!("{}", error.render(false)))
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

const MINIMAL: &str = indoc! {r#"
    [scenario]
    name = "minimal"
    description = "The least a file needs."

    [[producers]]
    name = "orders"
    count = 3

    [[consumers]]
    name = "worker"
"#};

#[test]
fn minimal_file_gets_every_default() {
    let s = resolve_ok(MINIMAL);
    assert_eq!(s.path, Path::new("t.toml"));
    assert_eq!((s.seed, s.timeout, s.tags.len()), (1, secs(600), 0));
    let q = &s.queue;
    assert_eq!(
        q.attributes,
        QueueAttributes::default(),
        "the file's defaults are SQS's"
    );
    assert_eq!(q.max_receive_count, None);
    assert_eq!(q.sim, crate::sqs::envelope::SimSettings::default());
    assert_eq!(q.sim.profile, crate::sqs::envelope::Profile::Aws);

    let p = &s.producers[0];
    assert_eq!(
        (p.amount.clone(), p.rate),
        (Amount::Count(3), Rate::Unlimited)
    );
    assert_eq!((p.batch_size, p.groups, p.delay), (1, 1, None));
    assert_eq!(p.dedup, DedupSource::None);
    assert_eq!(p.payload, Payload::Work { poison: None });

    let c = &s.consumers[0];
    assert_eq!(
        (c.count, c.start, c.stagger, c.max_messages),
        (1, secs(0), secs(0), 1)
    );
    assert_eq!(c.wait, secs(0));
    // visibility_timeout + 2 * wait + 1s
    assert_eq!(c.idle_timeout, secs(31));
    assert_eq!(c.message_limit, None);
    let b = &c.behavior;
    assert_eq!((b.processing, b.side_effect_delay), (secs(0), secs(0)));
    assert_eq!(b.idempotency, Idempotency::None);
    assert_eq!(b.idempotency_key, IdempotencyKey::MessageId);
    assert_eq!(
        (b.versioning.clone(), b.heartbeat, b.stale_after),
        (None, None, None)
    );
    assert!(!b.reject_poison);
    assert_eq!(b.chaos, Chaos::default());
    assert!(s.timeline.is_empty() && s.autoscaler.is_none() && s.expect.checks.is_empty());
}

const FULL: &str = indoc! {r#"
    #:schema ../qsim.schema.json
    [scenario]
    name = "full"
    description = "Every feature once."
    tags = ["fast", "dlq-2"]
    seed = 7
    timeout = "2m"

    [queue]
    visibility_timeout = "5s"
    receive_wait = "2s"
    max_receive_count = 3

    [queue.sim]
    duplicate_rate = 0.1
    reorder_window = 4

    [[producers]]
    name = "orders"
    continuous = true
    rate = "30/m"
    batch_size = 10
    delay = "1s"
    payload = { kind = "work", poison = { positions = [2, 5] } }

    [[producers]]
    name = "dups"
    payload = { kind = "business-duplicates", orders = 3 }

    [[producers]]
    name = "events"
    start = "3s"
    payload = { kind = "versioned", entities = 2, versions = 5 }

    [[consumers]]
    name = "worker"
    count = 2
    stagger = "1s"
    max_messages = 10
    idempotency = "memory"
    cache_size = 10
    reject_poison = true
    heartbeat = { interval = "1s", extend = "3s" }
    chaos = { crash_after_receive = "once", crash_after_side_effect = 0.5, restart_after = "2s" }

    [[consumers]]
    name = "late"
    count = 0
    wait = "0s"
    idle_timeout = "4s"
    idempotency = "tables"
    business_key = "order_id"
    versioning = { check = false }

    [[at]]
    time = "2s"
    kill = "worker-2"

    [[at]]
    when = "dlq >= 2"
    deploy = { group = "worker", idempotency = "lock", processing = "1s" }

    [[at]]
    time = "5s"
    deploy = { group = "worker", lease = "9s" }

    [[at]]
    time = "6s"
    start = { group = "late", count = 2 }

    [[at]]
    time = "7s"
    redrive = { max_per_second = 10 }

    [[at]]
    time = "8s"
    stop = "orders"

    [[at]]
    time = "9s"
    purge = "dlq"

    [[at]]
    time = "10s"
    stop_all = true

    [autoscaler]
    group = "late"
    scale_out_depth = 10
    max = 4

    [expect]
    processed = 5
    side_effects = ">= 1"
    queue_empty = true
    status = { COMPLETED = 5 }

    [expect.producer.dups]
    side_effects = 0
"#};

#[test]
fn full_file_resolves_every_feature() {
    let s = resolve_ok(FULL);
    assert_eq!((s.name.as_str(), s.seed, s.timeout), ("full", 7, secs(120)));
    assert_eq!(s.tags, ["fast", "dlq-2"]);
    assert_eq!(
        (s.queue.attributes.receive_wait, s.queue.max_receive_count),
        (secs(2), Some(3))
    );
    assert_eq!(
        (
            s.queue.sim.overrides.duplicate_rate,
            s.queue.sim.overrides.reorder_window
        ),
        (Some(0.1), Some(4))
    );

    let [orders, dups, events] = &s.producers[..] else {
        panic!("three producers")
    };
    assert_eq!(orders.amount, Amount::Continuous);
    assert_eq!(orders.rate, Rate::PerSecond(0.5));
    assert_eq!((orders.batch_size, orders.delay), (10, Some(secs(1))));
    let poison = Some(PoisonPattern::Positions(vec![2, 5]));
    assert_eq!(orders.payload, Payload::Work { poison });
    assert_eq!(dups.amount, Amount::Count(4));
    let field = "order_id".to_string();
    let bd = Payload::BusinessDuplicates {
        field,
        orders: 3,
        duplicates: 1,
    };
    assert_eq!(dups.payload, bd);
    assert_eq!(
        (events.start, events.amount.clone()),
        (secs(3), Amount::Count(10))
    );
    let versioned = Payload::Versioned {
        entities: 2,
        versions: 5,
        shuffle: true,
    };
    assert_eq!(events.payload, versioned);

    let [worker, late] = &s.consumers[..] else {
        panic!("two groups")
    };
    assert_eq!(
        (worker.count, worker.stagger, worker.max_messages),
        (2, secs(1), 10)
    );
    // Defaults from the queue: wait = receive_wait, idle = 5s + 2 * 2s + 1s.
    assert_eq!((worker.wait, worker.idle_timeout), (secs(2), secs(10)));
    let wb = &worker.behavior;
    assert_eq!(wb.idempotency, Idempotency::Memory { capacity: 10 });
    assert!(wb.reject_poison);
    let heartbeat = Heartbeat {
        interval: secs(1),
        extend: secs(3),
    };
    assert_eq!(wb.heartbeat, Some(heartbeat));
    assert_eq!(wb.chaos.crash_after_receive, CrashPolicy::Once);
    assert_eq!(
        wb.chaos.crash_after_side_effect,
        CrashPolicy::Probability(0.5)
    );
    assert_eq!(wb.chaos.restart_after, Some(secs(2)));
    assert_eq!(
        (late.count, late.wait, late.idle_timeout),
        (0, secs(0), secs(4))
    );
    let lb = &late.behavior;
    assert_eq!(lb.idempotency, Idempotency::Tables { lease: secs(5) });
    assert_eq!(lb.idempotency_key, IdempotencyKey::Field("order_id".into()));
    let versioning = Versioning {
        entity_field: "entity".into(),
        version_field: "version".into(),
        check: false,
    };
    assert_eq!(lb.versioning, Some(versioning));

    let group = |name: &str| GroupIx(s.consumers.iter().position(|g| g.name == name).unwrap());
    let producer =
        |name: &str| ProducerIx(s.producers.iter().position(|p| p.name == name).unwrap());
    let actions: Vec<&Action> = s.timeline.iter().map(|e| &e.action).collect();
    let instance = Target::Instance {
        group: group("worker"),
        index: 2,
    };
    assert_eq!(actions[0], &Action::Kill(instance));
    let condition = WhenCondition {
        metric: LiveMetric::Dlq,
        op: CompareOp::Ge,
        value: 2.0,
    };
    let poll = Duration::from_millis(100);
    assert_eq!(s.timeline[1].trigger, Trigger::When { condition, poll });
    assert_eq!(s.timeline[2].trigger, Trigger::At(secs(5)));
    assert_eq!(
        actions[3],
        &Action::Start {
            group: group("late"),
            count: 2
        }
    );
    assert_eq!(
        actions[4],
        &Action::Redrive {
            max_per_second: Some(10)
        }
    );
    assert_eq!(actions[5], &Action::StopProducer(producer("orders")));
    assert_eq!(actions[6], &Action::Purge(QueueRole::DeadLetter));
    assert_eq!(actions[7], &Action::StopAll);

    let autoscaler = s.autoscaler.as_ref().expect("autoscaler");
    assert_eq!(
        (autoscaler.interval, autoscaler.min, autoscaler.max),
        (secs(5), 1, 4)
    );
    assert_eq!(
        (autoscaler.scale_out_depth, autoscaler.scale_in_depth),
        (10, None)
    );

    let checks: Vec<(Option<&str>, Metric, &Expected)> = s
        .expect
        .checks
        .iter()
        .map(|c| {
            (
                c.scope.map(|p| s.producer(p).name.as_str()),
                c.metric,
                &c.expected,
            )
        })
        .collect();
    let eq = |value| Expected::Compare {
        op: CompareOp::Eq,
        value,
    };
    let completed = [("COMPLETED".to_string(), 5)].into_iter().collect();
    assert_eq!(
        checks,
        [
            (None, Metric::Processed, &eq(5.0)),
            (
                None,
                Metric::SideEffects,
                &Expected::Compare {
                    op: CompareOp::Ge,
                    value: 1.0
                }
            ),
            (None, Metric::QueueEmpty, &Expected::Bool(true)),
            (None, Metric::Status, &Expected::Counts(completed)),
            (Some("dups"), Metric::SideEffects, &eq(0.0)),
        ]
    );
}

#[test]
fn deploys_layer_over_the_group_in_file_order() {
    let s = resolve_ok(FULL);
    let Action::Deploy {
        behavior: first, ..
    } = &s.timeline[1].action
    else {
        panic!()
    };
    // The deploy switches memory → lock: the cache size is dropped, the lease defaults to the
    // visibility timeout; keys the deploy leaves out keep the group's values.
    assert_eq!(first.idempotency, Idempotency::Lock { lease: secs(5) });
    assert_eq!(first.processing, secs(1));
    assert!(first.reject_poison);
    assert_eq!(first.chaos.crash_after_receive, CrashPolicy::Once);
    let Action::Deploy {
        behavior: second, ..
    } = &s.timeline[2].action
    else {
        panic!()
    };
    // The second deploy builds on the first.
    assert_eq!(second.idempotency, Idempotency::Lock { lease: secs(9) });
    assert_eq!(second.processing, secs(1));
}

#[test]
fn the_fifo_modes_resolve_from_the_file_spelling() {
    let text = |scope: &str, limit: &str| {
        format!(
            "[scenario]\nname = \"ht\"\ndescription = \"High throughput.\"\n[queue]\nkind = \"fifo\"\n{scope}{limit}[[producers]]\nname = \"p\"\ncount = 1\n[[consumers]]\nname = \"c\"\n"
        )
    };
    let scoped = resolve_ok(&text("deduplication_scope = \"message-group\"\n", ""));
    assert_eq!(
        (
            scoped.queue.attributes.deduplication_scope,
            scoped.queue.attributes.fifo_throughput_limit
        ),
        (
            DeduplicationScope::MessageGroup,
            FifoThroughputLimit::PerQueue
        )
    );
    let high_throughput = resolve_ok(&text(
        "deduplication_scope = \"message-group\"\n",
        "fifo_throughput_limit = \"per-message-group-id\"\n",
    ));
    assert_eq!(
        high_throughput.queue.attributes.fifo_throughput_limit,
        FifoThroughputLimit::PerMessageGroupId
    );
}

#[test]
fn fifo_producers_default_their_dedup_source() {
    let text = indoc! {r#"
        [scenario]
        name = "fifo"
        description = "FIFO defaults."
        [queue]
        kind = "fifo"
        content_based_dedup = true
        [[producers]]
        name = "content"
        count = 4
        groups = 2
        [[producers]]
        name = "ids"
        count = 1
        dedup = "message-id"
        [[producers]]
        name = "literal"
        dedup = "payload"
        schedule = ["0s", "2s"]
        [producers.payload]
        kind = "literal"
        messages = [
            { fields = { order_id = "o-1", n = 1 }, group = "g1", dedup_id = "d-1" },
            { fields = { order_id = "o-1" }, poison = true },
        ]
        [[consumers]]
        name = "worker"
    "#};
    let s = resolve_ok(text);
    assert!(s.queue.attributes.fifo && s.queue.attributes.content_based_dedup);
    let dedups: Vec<_> = s.producers.iter().map(|p| p.dedup.clone()).collect();
    assert_eq!(
        dedups,
        [
            DedupSource::None,
            DedupSource::MessageId,
            DedupSource::Payload
        ]
    );
    assert_eq!(s.producers[0].groups, 2);
    let literal = &s.producers[2];
    assert_eq!(literal.amount, Amount::Schedule(vec![secs(0), secs(2)]));
    let Payload::Literal(messages) = &literal.payload else {
        panic!("literal")
    };
    assert_eq!(messages[0].fields["n"], FieldValue::Int(1));
    assert_eq!(
        messages[0].fields["order_id"],
        FieldValue::Str("o-1".into())
    );
    assert_eq!(
        (
            messages[0].group.as_deref(),
            messages[0].dedup_id.as_deref()
        ),
        (Some("g1"), Some("d-1"))
    );
    assert_eq!(
        (messages[1].group.clone(), messages[1].poison),
        (None, true)
    );
}

#[test]
fn literal_payload_derives_the_count() {
    let text = MINIMAL.replace(
        "count = 3",
        "payload = { kind = \"literal\", messages = [{}, {}, {}, {}] }",
    );
    assert_eq!(resolve_ok(&text).producers[0].amount, Amount::Count(4));
}

#[test]
fn an_explicit_zero_lease_is_accepted_like_the_default_it_spells_out() {
    // With a 0 s visibility timeout the lease defaults to 0 s: writing that value out, in a
    // group or in a deploy, must mean the same, not be an error.
    let text = indoc! {r#"
        [scenario]
        name = "zero-lease"
        description = "A lease of 0s, by default and written out."
        [queue]
        visibility_timeout = "0s"
        [[producers]]
        name = "orders"
        count = 1
        [[consumers]]
        name = "by-default"
        idempotency = "lock"
        [[consumers]]
        name = "explicit"
        idempotency = "tables"
        lease = "0s"
        [[at]]
        time = "1s"
        deploy = { group = "by-default", lease = "0s" }
    "#};
    let s = resolve_ok(text);
    let zero = Duration::ZERO;
    assert_eq!(
        s.consumers[0].behavior.idempotency,
        Idempotency::Lock { lease: zero }
    );
    assert_eq!(
        s.consumers[1].behavior.idempotency,
        Idempotency::Tables { lease: zero }
    );
    let Action::Deploy { behavior, .. } = &s.timeline[0].action else {
        panic!("a deploy")
    };
    assert_eq!(behavior.idempotency, Idempotency::Lock { lease: zero });
}
