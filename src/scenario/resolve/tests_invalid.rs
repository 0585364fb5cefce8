//! Invalid files: each rule reports the right key path, message and help line, and every
//! problem of a file is reported, not only the first.

use std::path::Path;

use indoc::indoc;
use test_case::test_case;

use super::estimate::messages as estimate_messages;
use crate::scenario::*;

/// A valid file that cases extend with more tables (new `[[producers]]` are index 1, ...).
const BASE: &str = indoc! {r#"
    [scenario]
    name = "base"
    description = "A valid file the cases add to."
    [[producers]]
    name = "orders"
    count = 1
    [[consumers]]
    name = "worker"
"#};

fn diagnostics(text: &str) -> Vec<Diagnostic> {
    match parse(Path::new("t.toml"), text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(error) => error.diagnostics().to_vec(),
    }
}

/// The file has exactly one problem, at `key`, whose message and help contain the given text.
fn assert_one(text: &str, key: &str, message: &str, help: &str) {
    let found = diagnostics(text);
    let summary: Vec<_> = found
        .iter()
        .map(|d| (&d.key, &d.message, &d.help))
        .collect();
    assert_eq!(found.len(), 1, "one diagnostic expected, got {summary:#?}");
    let d = &found[0];
    assert_eq!(d.key, key, "{summary:#?}");
    assert!(
        d.message.contains(message),
        "message {:?} lacks {message:?}",
        d.message
    );
    let got = d.help.as_deref().unwrap_or_default();
    assert!(got.contains(help), "help {got:?} lacks {help:?}");
}

#[test_case("[[producers]]\nname = \"b\"\ncount = 1\nbatch_size = 11", "producers[1].batch_size", "11 is out of range", "from 1 to 10"; "batch size")]
#[test_case("[[consumers]]\nname = \"b\"\nmax_messages = 0", "consumers[1].max_messages", "0 is out of range", "from 1 to 10"; "max messages")]
#[test_case("[queue]\nvisibility_timeout = \"thirty seconds\"", "queue.visibility_timeout", "is not a duration", "whole seconds from 0s to 12h"; "unparsable duration")]
#[test_case("[queue]\nvisibility_timeout = \"13h\"", "queue.visibility_timeout", "13h is out of range", "from 0s to 12h"; "duration above max")]
#[test_case("[queue]\nretention = \"30s\"", "queue.retention", "out of range: shorter than the minimum, 1m", "from 1m to 14d"; "duration below min")]
#[test_case("[queue]\nmax_receive_count = 0", "queue.max_receive_count", "out of range", "from 1 to 1000"; "max receive count")]
#[test_case("[queue]\nkind = \"fifio\"", "queue.kind", "did you mean \"fifo\"?", "one of \"standard\", \"fifo\""; "queue kind typo")]
#[test_case("[queue.sim]\nreorder_rate = 1.5", "queue.sim.reorder_rate", "1.5 is out of range", "from 0.0 to 1.0"; "probability")]
#[test_case("[queue]\ncontent_based_dedup = true", "queue.content_based_dedup", "only to FIFO queues", "kind = \"fifo\""; "content dedup on standard")]
#[test_case("[queue]\ndeduplication_scope = \"message-group\"", "queue.deduplication_scope", "only to FIFO queues", "kind = \"fifo\""; "dedup scope on standard")]
#[test_case("[queue]\nfifo_throughput_limit = \"per-queue\"", "queue.fifo_throughput_limit", "only to FIFO queues", "kind = \"fifo\""; "throughput limit on standard")]
#[test_case("[queue]\nkind = \"fifo\"\ndeduplication_scope = \"messageGroup\"", "queue.deduplication_scope", "\"messageGroup\"", "one of \"queue\", \"message-group\""; "dedup scope in the API spelling")]
#[test_case("[queue]\nkind = \"fifo\"\nfifo_throughput_limit = \"per-group\"", "queue.fifo_throughput_limit", "\"per-group\"", "one of \"per-queue\", \"per-message-group-id\""; "throughput limit unknown")]
#[test_case("[queue]\nkind = \"fifo\"\nfifo_throughput_limit = \"per-message-group-id\"", "queue.fifo_throughput_limit", "needs deduplication_scope = \"message-group\", and the scope is \"queue\"", "deduplication_scope = \"message-group\" (high throughput FIFO)"; "per-group quota with the default scope")]
#[test_case("[queue]\nkind = \"fifo\"\ndeduplication_scope = \"queue\"\nfifo_throughput_limit = \"per-message-group-id\"", "queue.fifo_throughput_limit", "and the scope is \"queue\"", "fifo_throughput_limit = \"per-queue\""; "per-group quota with the queue scope")]
#[test_case("[[producers]]\nname = \"b\"\ncount = 1\ndedup = \"content\"", "producers[1].dedup", "only to FIFO queues", "remove `dedup`"; "dedup on standard")]
#[test_case("[[producers]]\nname = \"b\"\ncount = 1\ngroups = 3", "producers[1].groups", "only on FIFO queues", "kind = \"fifo\""; "groups on standard")]
#[test_case("[queue]\nkind = \"fifo\"\n[[producers]]\nname = \"b\"\ncount = 1\ndelay = \"1s\"", "producers[1].delay", "only to standard queues", "remove `delay`"; "delay on fifo")]
#[test_case("[queue]\nkind = \"fifo\"\n[queue.sim]\nduplicate_rate = 0.1", "queue.sim.duplicate_rate", "only to standard queues", "kind = \"standard\""; "duplicates on fifo")]
#[test_case("[queue]\nkind = \"fifo\"\n[[producers]]\nname = \"b\"\ncount = 1\ndedup = \"content\"", "producers[1].dedup", "needs content-based deduplication", "content_based_dedup = true"; "content dedup without queue support")]
#[test_case("[queue]\nkind = \"fifo\"\n[[producers]]\nname = \"b\"\ncount = 1\ndedup = \"payload\"", "producers[1].dedup", "needs a literal payload", "kind = \"literal\""; "payload dedup without literal")]
#[test_case("[queue]\nkind = \"fifo\"\n[[producers]]\nname = \"b\"\npayload = { kind = \"literal\", messages = [{ dedup_id = \"d\" }] }", "producers[1].payload.messages[0].dedup_id", "only when the producer has dedup = \"payload\"", "dedup = \"payload\""; "dedup id without payload dedup")]
#[test_case("[[producers]]\nname = \"b\"\npayload = { kind = \"literal\", messages = [{ dedup_id = \"d\" }] }", "producers[1].payload.messages[0].dedup_id", "only to FIFO queues", "kind = \"fifo\""; "literal dedup id on standard")]
#[test_case("[[producers]]\nname = \"b\"\npayload = { kind = \"literal\", messages = [{ fields = { at = 1.5 } }] }", "producers[1].payload.messages[0].fields.at", "cannot be a float", "strings or integers"; "literal float field")]
#[test_case("[[producers]]\nname = \"b\"\ncount = 1\nschedule = [\"0s\"]", "producers[1].schedule", "`schedule` conflicts with `count`", "exactly one of count"; "count and schedule")]
#[test_case("[[producers]]\nname = \"b\"", "producers[1]", "does not say how many messages", "exactly one of count"; "no amount")]
#[test_case("[[producers]]\nname = \"b\"\ncontinuous = true", "producers[1].rate", "needs a finite rate", "rate = \"5/s\""; "continuous unlimited")]
#[test_case("[[producers]]\nname = \"b\"\ncount = 1\nrate = \"5/y\"", "producers[1].rate", "unknown rate unit \"y\"", "\"N/s\", \"N/m\""; "rate unit")]
#[test_case("[[producers]]\nname = \"b\"\nschedule = []", "producers[1].schedule", "the schedule is empty", "at least one offset"; "empty schedule")]
#[test_case("[[producers]]\nname = \"b\"\ncount = 4\npayload = { kind = \"versioned\", versions = 2 }", "producers[1].count", "count is set by the payload", "versioned payload sends 2 messages"; "versioned with count")]
#[test_case("[[producers]]\nname = \"b\"\nschedule = [\"0s\"]\npayload = { kind = \"literal\", messages = [{}, {}] }", "producers[1].schedule", "1 offsets for 2 messages", "one offset per literal message"; "literal schedule length")]
#[test_case("[[producers]]\nname = \"b\"\ncount = 1\npayload = { kind = \"work\", orders = 3 }", "producers[1].payload.orders", "does not apply to payload kind \"work\"", "kind \"work\" takes: kind, poison"; "key of another kind")]
#[test_case("[[producers]]\nname = \"b\"\npayload = { kind = \"business-duplicates\" }", "producers[1].payload.orders", "needs `orders`", "field, orders, duplicates"; "business duplicates without orders")]
#[test_case("[[producers]]\nname = \"b\"\ncount = 1\npayload = { poison = { every = 2, probability = 0.5 } }", "producers[1].payload.poison.probability", "conflicts with `every`", "exactly one of every"; "two poison patterns")]
#[test_case("[[producers]]\nname = \"b\"\ncount = 1\npayload = { poison = { positions = [0] } }", "producers[1].payload.poison.positions[0]", "0 is out of range", "1-based"; "poison position zero")]
#[test_case("[[producers]]\nname = \"orders\"\ncount = 1", "producers[1].name", "duplicate producer name \"orders\"", "producers[0] already uses it"; "duplicate producer")]
#[test_case("[[consumers]]\nname = \"Worker 2\"", "consumers[1].name", "\"Worker 2\" is not a valid name", "lowercase letters, digits and '-'"; "invalid name")]
#[test_case("[[consumers]]\nname = \"all\"", "consumers[1].name", "\"all\" is reserved", "pick another name"; "reserved group name")]
#[test_case("[[consumers]]\nname = \"b\"\nheartbeat = { interval = \"3s\", extend = \"3s\" }", "consumers[1].heartbeat.interval", "interval 3s is not shorter than extend 3s", "interval < extend"; "heartbeat interval")]
#[test_case("[[consumers]]\nname = \"b\"\nheartbeat = { interval = \"3s\" }", "consumers[1].heartbeat.extend", "missing required key `extend`", "extend takes a duration"; "heartbeat without extend")]
#[test_case("[[consumers]]\nname = \"b\"\nidempotency = \"lock\"\ncache_size = 5", "consumers[1].cache_size", "applies only to idempotency = \"memory\", not \"lock\"", "remove `cache_size`"; "cache size with lock")]
#[test_case("[[consumers]]\nname = \"b\"\nlease = \"5s\"", "consumers[1].lease", "not \"none\"", "idempotency = \"lock\" or \"tables\""; "lease without lock")]
#[test_case("[[consumers]]\nname = \"b\"\nchaos = { crash_after_receive = \"sometimes\" }", "consumers[1].chaos.crash_after_receive", "unknown crash policy \"sometimes\"", "\"never\", \"once\", \"always\", or a probability"; "crash policy word")]
#[test_case("[[consumers]]\nname = \"b\"\nchaos = { crash_rate = 2 }", "consumers[1].chaos.crash_rate", "2 is out of range", "from 0.0 to 1.0"; "crash rate")]
#[test_case("[[consumers]]\nname = \"b\"\nidle_timeout = \"0s\"", "consumers[1].idle_timeout", "must be longer than 0s", "a duration > 0s"; "zero idle timeout")]
#[test_case("[[consumers]]\nname = \"b\"\nack = \"on-failure\"", "consumers[1].ack", "unknown value \"on-failure\"", "\"on-success\", \"always\", \"batch-ignore-failures\", \"partial-batch\""; "unknown ack")]
#[test_case("[[consumers]]\nname = \"b\"\nack = true", "consumers[1].ack", "expected a string, found true", "ack takes one of \"on-success\""; "ack not a string")]
#[test_case("[[consumers]]\nname = \"b\"\nprefetch = 0", "consumers[1].prefetch", "0 is out of range", "from 1 to 1000"; "prefetch zero")]
#[test_case("[[consumers]]\nname = \"b\"\nprefetch = 1001", "consumers[1].prefetch", "1001 is out of range", "from 1 to 1000"; "prefetch above max")]
#[test_case("[[consumers]]\nname = \"b\"\nmax_messages = 10\nprefetch = 5", "consumers[1].prefetch", "prefetch 5 is smaller than max_messages 10", "at least max_messages"; "prefetch below a receive")]
#[test_case("[[consumers]]\nname = \"b\"\npoller = { function_timeout = \"10s\" }", "consumers[1].poller.max_concurrency", "missing required key `max_concurrency`", "The function's concurrency"; "poller without concurrency")]
#[test_case("[[consumers]]\nname = \"b\"\npoller = { max_concurrency = 2 }", "consumers[1].poller.function_timeout", "missing required key `function_timeout`", "An invocation running longer is stopped"; "poller without function timeout")]
#[test_case("[[consumers]]\nname = \"b\"\npoller = { batch_size = 11, max_concurrency = 2, function_timeout = \"10s\" }", "consumers[1].poller.batch_size", "11 is out of range", "from 1 to 10"; "poller batch above ten")]
#[test_case("[[consumers]]\nname = \"b\"\npoller = { batch_size = 0, max_concurrency = 2, function_timeout = \"10s\" }", "consumers[1].poller.batch_size", "0 is out of range", "from 1 to 10"; "poller batch zero")]
#[test_case("[[consumers]]\nname = \"b\"\npoller = { max_concurrency = 0, function_timeout = \"10s\" }", "consumers[1].poller.max_concurrency", "0 is out of range", "from 1 to 1000"; "poller concurrency zero")]
#[test_case("[[consumers]]\nname = \"b\"\npoller = { max_concurrency = 1, function_timeout = \"0s\" }", "consumers[1].poller.function_timeout", "must be longer than 0s", "> 0s"; "poller zero function timeout")]
#[test_case("[[consumers]]\nname = \"b\"\npoller = { max_concurrency = 1, function_timeout = \"31s\" }", "consumers[1].poller.function_timeout", "function_timeout 31s is longer than the queue's visibility_timeout 30s", "six times the function timeout"; "function timeout above visibility")]
#[test_case("[[consumers]]\nname = \"b\"\npoller = { max_concurrency = 1, function_timeout = \"1s\", timeout = \"1s\" }", "consumers[1].poller.timeout", "unknown key `timeout`", "batch_size, max_concurrency, function_timeout"; "poller unknown key")]
#[test_case("[[consumers]]\nname = \"b\"\nmax_messages = 5\npoller = { max_concurrency = 1, function_timeout = \"1s\" }", "consumers[1].max_messages", "`max_messages` does not apply to a group with a `poller`", "poller.batch_size"; "poller with max messages")]
#[test_case("[[consumers]]\nname = \"b\"\nack = \"always\"\npoller = { max_concurrency = 1, function_timeout = \"1s\" }", "consumers[1].ack", "`ack` does not apply to a group with a `poller`", "report_batch_item_failures"; "poller with ack")]
#[test_case("[[consumers]]\nname = \"b\"\nprefetch = 5\npoller = { max_concurrency = 1, function_timeout = \"1s\" }", "consumers[1].prefetch", "`prefetch` does not apply to a group with a `poller`", "remove this key or the poller"; "poller with prefetch")]
#[test_case("[[consumers]]\nname = \"b\"\nmessage_limit = 5\npoller = { max_concurrency = 1, function_timeout = \"1s\" }", "consumers[1].message_limit", "`message_limit` does not apply to a group with a `poller`", "remove this key or the poller"; "poller with message limit")]
#[test_case("[[at]]\ntime = \"1s\"\ndeploy = { group = \"worker\", ack = \"always\" }", "at[0].deploy.ack", "unknown key `ack`", "`at[0].deploy` takes: group"; "ack is not deployable")]
#[test_case("[[at]]\ntime = \"1s\"\nterminate = \"wroker\"", "at[0].terminate", "did you mean \"worker\"?", "groups: worker"; "unknown terminate target")]
#[test_case("[[at]]\ntime = \"1s\"\nkill = \"worker-0\"", "at[0].kill", "instance numbers start at 1", "\"GROUP-N\""; "instance zero")]
#[test_case("[[at]]\ntime = \"1s\"\nstop = \"order\"", "at[0].stop", "no producer \"order\", did you mean \"orders\"?", "producers in this file: orders"; "unknown producer")]
#[test_case("[[at]]\ntime = \"1s\"\nkill = \"worker\"\nstop = \"orders\"", "at[0].stop", "`stop` conflicts with `kill`", "separate [[at]] entries"; "two actions")]
#[test_case("[[at]]\ntime = \"1s\"\nstop = \"orders\"\nterminate = \"all\"", "at[0].terminate", "`terminate` conflicts with `stop`", "separate [[at]] entries"; "later action in the file conflicts")]
#[test_case("[[at]]\ntime = \"1s\"", "at[0]", "has no action", "terminate, kill, start"; "no action")]
#[test_case("[[at]]\nkill = \"all\"", "at[0]", "does not say when", "time = \"10s\" or when"; "no trigger")]
#[test_case("[[at]]\ntime = \"1s\"\nwhen = \"sent > 1\"\nkill = \"all\"", "at[0].when", "`when` conflicts with `time`", "exactly one of time"; "time and when")]
#[test_case("[[at]]\ntime = \"1s\"\npoll = \"1s\"\nkill = \"all\"", "at[0].poll", "only with `when`", "remove `poll`"; "poll with time")]
#[test_case("[[at]]\nwhen = \"depht > 3\"\nkill = \"all\"", "at[0].when", "unknown live metric `depht`, did you mean `depth`?", "METRIC one of sent"; "unknown live metric")]
#[test_case("[[at]]\nwhen = \"dlq >= 1\"\nkill = \"all\"", "at[0].when", "a `dlq` condition needs a DLQ", "max_receive_count"; "dlq condition without dlq")]
#[test_case("[[at]]\ntime = \"1s\"\npurge = \"dlq\"", "at[0].purge", "purge = \"dlq\" needs a DLQ", "max_receive_count"; "purge dlq without dlq")]
#[test_case("[[at]]\ntime = \"1s\"\nredrive = {}", "at[0].redrive", "redrive needs a DLQ", "max_receive_count"; "redrive without dlq")]
#[test_case("[queue]\nmax_receive_count = 2\n[[at]]\ntime = \"1s\"\nredrive = { max_per_second = 501 }", "at[0].redrive.max_per_second", "501 is out of range", "from 1 to 500"; "redrive rate")]
#[test_case("[[at]]\ntime = \"1s\"\nstop_all = false", "at[0].stop_all", "does nothing", "stop_all = true"; "stop all false")]
#[test_case("[[at]]\ntime = \"1s\"\nstart = { group = \"worker\", count = 0 }", "at[0].start.count", "0 is out of range", "integer from 1 to 1000"; "start zero")]
#[test_case("[[at]]\ntime = \"1s\"\ndeploy = { group = \"workers\" }", "at[0].deploy.group", "no consumer group \"workers\"", "consumer groups in this file: worker"; "deploy unknown group")]
#[test_case("[[at]]\ntime = \"1s\"\ndeploy = { group = \"worker\", cache_size = 5 }", "at[0].deploy.cache_size", "not \"none\"", "idempotency = \"memory\""; "deploy param of another idempotency")]
#[test_case("[autoscaler]\ngroup = \"worker\"\nscale_out_depth = 5\nmin = 3\nmax = 2", "autoscaler.max", "max 2 is below min 3", "integer >= min"; "autoscaler max below min")]
#[test_case("[autoscaler]\ngroup = \"worker\"\nscale_out_depth = 5\nscale_in_depth = 5\nmax = 2", "autoscaler.scale_in_depth", "not below scale_out_depth", "flaps"; "autoscaler flapping")]
#[test_case("[autoscaler]\ngroup = \"worker\"\nscale_out_depth = 5", "autoscaler.max", "missing required key `max`", "integer from 1 to 1000"; "autoscaler without max")]
#[test_case("[expect]\nprocesed = 1", "expect.procesed", "unknown metric `procesed`, did you mean `processed`?", "known metrics: sent, received"; "unknown metric")]
#[test_case("[expect]\nqueue_empty = 1", "expect.queue_empty", "true or false, not an integer", "queue_empty = true"; "bool metric with number")]
#[test_case("[expect]\nprocessed = true", "expect.processed", "is a number, not true or false", "processed = \">= 5\""; "number metric with bool")]
#[test_case("[expect]\nprocessed = \"=> 1\"", "expect.processed", "unknown comparison operator \"=>\"", "OP one of == != <= >= < >"; "bad comparison")]
#[test_case("[expect]\nstatus = 3", "expect.status", "takes a table of counts, not an integer", "status = { COMPLETED = 5 }"; "status not a table")]
#[test_case("[expect]\nstatus = { DONE = 1 }", "expect.status.DONE", "unknown status `DONE`", "STARTED, COMPLETED"; "unknown status")]
#[test_case("[expect]\npoison_in_dlq = 0", "expect.poison_in_dlq", "the `poison_in_dlq` metric needs a DLQ", "max_receive_count"; "dlq metric without dlq")]
#[test_case("[expect.producer.ordrs]\nsent = 1", "expect.producer.ordrs", "no producer \"ordrs\"", "producers in this file: orders"; "unknown scoped producer")]
#[test_case("[expect.consumer.worker]\nsent = 1", "expect.consumer", "unknown metric `consumer`", "`producer` is the only sub-table"; "other sub-table")]
fn rule(extra: &str, key: &str, message: &str, help: &str) {
    assert_one(&format!("{BASE}{extra}\n"), key, message, help);
}

#[test_case("command = [\"python3\", \"w.py\"]\nidempotency = \"tables\"", "consumers[1].idempotency", "configures qsim's built-in consumer, not a `command`", "remove idempotency"; "command with a built-in knob")]
#[test_case("command = [\"python3\", \"w.py\"]\nmax_messages = 5", "consumers[1].max_messages", "configures qsim's built-in consumer", "count, start, stagger, the timeline and env still apply"; "command with a receive knob")]
#[test_case("command = [\"python3\", \"w.py\"]\nchaos = { crash_rate = 0.5 }", "consumers[1].chaos", "configures qsim's built-in consumer", "remove chaos"; "command with injected crashes")]
#[test_case("command = []", "consumers[1].command", "must not be empty", "command = [\"python3\", \"worker.py\"]"; "empty command")]
#[test_case("command = [\"python3\", \"\"]", "consumers[1].command[1]", "an empty argument", "remove the empty string"; "empty argument")]
#[test_case("command = [\"python3\", \"w.py\"]\nprocess = true", "consumers[1].process", "`process = true` and `command` exclude each other", "keep one"; "process with command")]
#[test_case("env = { A = \"1\" }", "consumers[1].env", "`env` without `command`", "add `command = [...]`"; "env without command")]
#[test_case("command = [\"w\"]\nenv = { A = true }", "consumers[1].env.A", "not a string or an integer", "WORK_SECONDS"; "env value of another type")]
#[test_case("command = \"python3 w.py\"", "consumers[1].command", "", ""; "command as one string")]
#[test_case("process = \"yes\"", "consumers[1].process", "", ""; "process not a bool")]
fn child_process_rule(extra: &str, key: &str, message: &str, help: &str) {
    assert_one(
        &format!("{BASE}[[consumers]]\nname = \"b\"\n{extra}\n"),
        key,
        message,
        help,
    );
}

#[test_case("[expect]\nstale = 1", "expect.stale", "`stale` is not observable with a `command` consumer", "side_effects"; "a decision of a command")]
#[test_case("[expect]\nunexpected = 0", "expect.unexpected", "not observable", "max_attempts"; "what a command saw")]
#[test_case("[[at]]\ntime = \"1s\"\ndeploy = { group = \"b\", processing = \"1s\" }", "at[0].deploy.group", "runs as child processes", "deploy to an in-process group"; "deploy to a command")]
fn command_group_rule(extra: &str, key: &str, message: &str, help: &str) {
    let text = format!("{BASE}[[consumers]]\nname = \"b\"\ncommand = [\"w\"]\n{extra}\n");
    assert_one(&text, key, message, help);
}

#[test]
fn a_deploy_to_a_process_group_is_refused() {
    let text = format!(
        "{BASE}[[consumers]]\nname = \"b\"\nprocess = true\n[[at]]\ntime = \"1s\"\ndeploy = {{ group = \"b\", processing = \"1s\" }}\n"
    );
    assert_one(
        &text,
        "at[0].deploy.group",
        "runs as child processes",
        "start a second group later",
    );
}

#[test]
fn a_command_takes_count_stagger_restart_after_and_observable_checks() {
    let text = format!(
        "{BASE}[[consumers]]\nname = \"b\"\ncount = 3\nstagger = \"1s\"\ncommand = [\"python3\", \"w.py\"]\nenv = {{ WORK_SECONDS = 2, MODE = \"x\" }}\nchaos = {{ restart_after = \"1s\" }}\n[[at]]\ntime = \"5s\"\nkill = \"b-1\"\n[expect]\nside_effects = 1\nlost = 0\n"
    );
    let scenario = parse(Path::new("t.toml"), &text).unwrap();
    let group = &scenario.consumers[1];
    assert_eq!(group.count, 3);
    let Execution::Command { argv, env } = &group.execution else {
        panic!("{:?}", group.execution);
    };
    assert_eq!(argv, &["python3", "w.py"]);
    assert_eq!(env.get("WORK_SECONDS").map(String::as_str), Some("2"));
    assert!(scenario.runs_commands() && scenario.runs_child_processes());
}

/// A `command` consumer's receives are observable, and its calls struck by `[[faults]]`, on
/// the simulator served to it, and only there: the scenario needs the capability that backend
/// alone has (faults on sends strike qsim's producers, on every backend).
#[test]
fn a_command_scenario_may_expect_receives_and_needs_the_served_simulator_for_them() {
    let command = format!("{BASE}[[consumers]]\nname = \"b\"\ncommand = [\"w\"]\n");
    let needs_served = |extra: &str| {
        let scenario = parse(Path::new("t.toml"), &format!("{command}{extra}\n"))
            .unwrap_or_else(|e| panic!("{extra}: {e:?}"));
        let everything_else = crate::backend::Capabilities(
            crate::backend::Capabilities::all()
                .0
                .into_iter()
                .filter(|c| *c != crate::backend::Capability::CommandCalls)
                .collect(),
        );
        crate::engine::requirements::missing_in(&scenario, &everything_else)
            .contains(&crate::backend::Capability::CommandCalls)
    };
    let fault = |operation: &str| {
        format!("[[faults]]\noperation = \"{operation}\"\nkind = \"error\"\nnth = 1")
    };
    assert!(needs_served("[expect]\nreceived = 1"));
    assert!(needs_served("[expect]\nredelivered = 1"));
    assert!(needs_served("[expect]\nmax_attempts = \">= 2\""));
    assert!(needs_served("[expect]\napi_calls = \">= 2\""));
    assert!(needs_served(&fault("receive")));
    assert!(needs_served(&fault("update_item")));
    assert!(!needs_served(&fault("send")));
    assert!(!needs_served("[expect]\nside_effects = 1"));
    assert!(!needs_served("[expect]\nlost = 0"));
}

#[test_case("operation = \"sned\"\nkind = \"throttle\"\nnth = 1", "faults[0].operation", "unknown value \"sned\", did you mean \"send\"?", "operation takes one of \"send\", \"receive\""; "fault operation typo")]
#[test_case("operation = \"send\"\nkind = \"timeout\"\nnth = 1", "faults[0].kind", "unknown value \"timeout\"", "kind takes one of \"throttle\", \"error\""; "fault kind unknown")]
#[test_case("kind = \"throttle\"\nnth = 1", "faults[0].operation", "missing required key `operation`", "The API operation"; "fault without operation")]
#[test_case("operation = \"send\"\nkind = \"throttle\"", "faults[0]", "a fault needs a trigger", "probability = 0.1"; "fault without trigger")]
#[test_case("operation = \"send\"\nkind = \"throttle\"\nnth = 1\nprobability = 0.5", "faults[0].probability", "`probability` conflicts with `nth`", "keep one of probability / window / nth"; "fault with two triggers")]
#[test_case("operation = \"send\"\nkind = \"throttle\"\nprobability = 1.5", "faults[0].probability", "1.5 is out of range", "from 0.0 to 1.0"; "fault probability above one")]
#[test_case("operation = \"send\"\nkind = \"throttle\"\nnth = 0", "faults[0].nth", "0 is out of range", "from 1"; "fault nth zero")]
#[test_case("operation = \"send\"\nkind = \"throttle\"\nwindow = { from = \"20s\", until = \"10s\" }", "faults[0].window.until", "the window ends before it starts", "until must be later than from"; "fault window reversed")]
#[test_case("operation = \"send\"\nkind = \"throttle\"\nwindow = { from = \"20s\" }", "faults[0].window.until", "missing required key `until`", "End of the window"; "fault window without end")]
#[test_case("operation = \"receive\"\nkind = \"latency\"\nnth = 1", "faults[0].delay", "a latency fault needs `delay`", "delay = \"2s\""; "latency without delay")]
#[test_case("operation = \"receive\"\nkind = \"latency\"\nnth = 1\ndelay = \"0s\"", "faults[0].delay", "must be longer than 0s", "> 0s"; "latency of zero")]
#[test_case("operation = \"receive\"\nkind = \"throttle\"\nnth = 1\ndelay = \"2s\"", "faults[0].delay", "`delay` applies only to kind = \"latency\"", "remove `delay`"; "delay without latency")]
#[test_case("operation = \"receive\"\nkind = \"throttle\"\nnth = 1\nscope = \"entry\"", "faults[0].scope", "scope = \"entry\" needs a batch operation", "operation = \"send\" or \"delete\""; "entry scope on receive")]
#[test_case("operation = \"send\"\nkind = \"timeout_before\"\nnth = 1\nscope = \"entry\"", "faults[0].scope", "scope = \"entry\" takes kind = \"throttle\" or \"error\"", "remove `scope`"; "entry scope with a timeout")]
#[test_case("operation = \"send\"\nkind = \"error\"\nnth = 1\nscope = \"batch\"", "faults[0].scope", "unknown value \"batch\"", "scope takes one of \"call\", \"entry\""; "unknown scope")]
#[test_case("operation = \"put_item\"\nkind = \"timeout_after\"\nnth = 1", "faults[0].operation", "applies to SQS operations only", "name one SQS operation"; "timeout after on a table")]
#[test_case("operation = \"all\"\nkind = \"timeout_after\"\nnth = 1", "faults[0].operation", "applies to SQS operations only", "name one SQS operation"; "timeout after on every operation")]
fn fault_rule(table: &str, key: &str, message: &str, help: &str) {
    assert_one(&format!("{BASE}[[faults]]\n{table}\n"), key, message, help);
}

#[test_case("[[producers]]\nname = \"b\"\ncount = 1\nretries = { max_attempts = 0 }", "producers[1].retries.max_attempts", "0 is out of range", "from 1 to 20"; "producer retries without attempts")]
#[test_case("[[producers]]\nname = \"b\"\ncount = 1\nretries = { max_attempts = 21 }", "producers[1].retries.max_attempts", "21 is out of range", "from 1 to 20"; "producer retries above the bound")]
#[test_case("[[consumers]]\nname = \"b\"\nretries = { backoff = \"30s\" }", "consumers[1].retries.backoff", "30s is out of range: longer than the maximum, 20s", "from 0s to 20s"; "consumer backoff above the cap")]
#[test_case("[[consumers]]\nname = \"b\"\nretries = { backoff = \"soon\" }", "consumers[1].retries.backoff", "\"soon\" is not a duration", "backoff takes a duration from 0s to 20s"; "consumer backoff not a duration")]
#[test_case("[[producers]]\nname = \"b\"\ncount = 1\npayload = { size = 0 }", "producers[1].payload.size", "0 is out of range", "from 1 to 2097152"; "body size zero")]
#[test_case("[[producers]]\nname = \"b\"\ncount = 1\npayload = { size = 3000000 }", "producers[1].payload.size", "3000000 is out of range", "from 1 to 2097152"; "body size above the bound")]
#[test_case("[[producers]]\nname = \"b\"\ncount = 300\npayload = { size = 1000000 }", "producers[1].payload.size", "padded bodies add up to 300000000 bytes", "lower the producers' payload size"; "bodies too large together")]
fn retries_rule(extra: &str, key: &str, message: &str, help: &str) {
    assert_one(&format!("{BASE}{extra}\n"), key, message, help);
}

const B: &str = "[[producers]]\nname = \"b\"\ncount = 1\n";

#[test_case("outbox = true\ndual_write = \"commit-then-send\"", "producers[1].dual_write", "cannot use both `outbox` and `dual_write`", "keep outbox = true"; "outbox and dual write")]
#[test_case("chaos = { crash_after_commit = \"once\" }", "producers[1].chaos", "needs `outbox = true` or `dual_write`", "or remove `chaos`"; "chaos without a record write")]
#[test_case("outbox = false\nchaos = { crash_after_send = \"once\" }", "producers[1].chaos", "needs `outbox = true` or `dual_write`", "outbox = true"; "chaos with outbox off")]
#[test_case("outbox = true\nbatch_size = 2", "producers[1].batch_size", "`outbox` writes one message per call", "batch_size = 1"; "outbox with batches")]
#[test_case("dual_write = \"send-then-commit\"\nbatch_size = 3", "producers[1].batch_size", "`dual_write` writes one message per call", "batch_size = 1"; "dual write with batches")]
#[test_case("dual_write = \"commit-then-send\"\nchaos = { crash_after_send = \"once\" }", "producers[1].chaos.crash_after_send", "no moment to crash in: commit-then-send ends with the send", "with `crash_after_commit`"; "commit then send crashing after the send")]
#[test_case("dual_write = \"send-then-commit\"\nchaos = { crash_after_commit = 0.5 }", "producers[1].chaos.crash_after_commit", "no moment to crash in: send-then-commit ends with the commit", "with `crash_after_send`"; "send then commit crashing after the commit")]
#[test_case("outbox = true\nclaim_check_above = 262144", "producers[1].claim_check_above", "cannot use both `claim_check_above` and `outbox`", "remove `claim_check_above`, or remove `outbox`"; "claim check with an outbox")]
#[test_case("dual_write = \"send-then-commit\"\nclaim_check_above = 1000", "producers[1].claim_check_above", "cannot use both `claim_check_above` and `dual_write`", "or remove `dual_write`"; "claim check with a dual write")]
#[test_case("claim_check_above = 0", "producers[1].claim_check_above", "0 is out of range", "from 1 to 1048576"; "claim check threshold zero")]
#[test_case("claim_check_above = 2000000", "producers[1].claim_check_above", "2000000 is out of range", "from 1 to 1048576"; "claim check threshold above the message limit")]
#[test_case("claim_check_above = \"256KiB\"", "producers[1].claim_check_above", "", "an integer from 1 to 1048576"; "claim check threshold not a number")]
#[test_case("dual_write = \"commit-first\"", "producers[1].dual_write", "unknown value \"commit-first\"", "\"commit-then-send\", \"send-then-commit\""; "unknown dual write order")]
#[test_case("outbox = \"yes\"", "producers[1].outbox", "expected true or false, found the string \"yes\"", "outbox takes true or false"; "outbox not a bool")]
#[test_case("outbox = true\nchaos = { crash_after_commit = \"twice\" }", "producers[1].chaos.crash_after_commit", "unknown crash policy \"twice\"", "\"never\", \"once\", \"always\", or a probability"; "producer crash policy word")]
#[test_case("outbox = true\nchaos = { crash_after_receive = \"once\" }", "producers[1].chaos.crash_after_receive", "unknown key", "crash_after_commit"; "consumer chaos key on a producer")]
fn record_write_rule(extra: &str, key: &str, message: &str, help: &str) {
    assert_one(&format!("{BASE}{B}{extra}\n"), key, message, help);
}

#[test_case("outbox = true"; "outbox")]
#[test_case("dual_write = \"commit-then-send\""; "dual write")]
fn record_writes_need_a_standard_queue(extra: &str) {
    let text = format!("{BASE}{B}{extra}\n[queue]\nkind = \"fifo\"\n");
    let key = extra.split(' ').next().unwrap();
    assert_one(
        &text,
        &format!("producers[1].{key}"),
        &format!("`{key}` is supported on standard queues only"),
        "kind = \"standard\"",
    );
}

#[test_case("name = \"x\"\ndescription = \"\"", "scenario.description", "must not be empty", "What the scenario shows"; "empty description")]
#[test_case("description = \"d\"", "scenario.name", "missing required key `name`", "name takes a name"; "missing name")]
#[test_case("name = \"x\"\ndescription = \"d\"\ntags = [\"Fast\"]", "scenario.tags[0]", "\"Fast\" is not a valid tag", "lowercase letters"; "bad tag")]
#[test_case("name = \"x\"\ndescription = \"d\"\nseed = -1", "scenario.seed", "-1 is out of range", "integer >= 0"; "negative seed")]
#[test_case("name = \"x\"\ndescription = \"d\"\ntimeout = \"0s\"", "scenario.timeout", "longer than 0s", "> 0s"; "zero timeout")]
fn scenario_rule(header: &str, key: &str, message: &str, help: &str) {
    let text = format!(
        "[scenario]\n{header}\n[[producers]]\nname = \"p\"\ncount = 1\n[[consumers]]\nname = \"w\"\n"
    );
    assert_one(&text, key, message, help);
}

#[test_case("[scenario]\nname = \"x\"\nnaem = \"y\"\n", "scenario.naem", "unknown key `naem`, did you mean `name`?", "`scenario` takes: name, description"; "unknown key")]
#[test_case("[[at]]\ntime = \"1s\"\ndeploy = { group = \"w\", procesing = \"1s\" }\n", "at[0].deploy.procesing", "did you mean `processing`?", "`at[0].deploy` takes: group, processing"; "unknown key in inline table")]
#[test_case("[queues]\nkind = \"fifo\"\n", "queues", "did you mean `queue`?", "the top level takes: scenario, queue, producers"; "unknown table")]
#[test_case("[[producers]]\nname = \"a\"\n[[producers]]\nname = \"b\"\ncont = 1\n", "producers[1].cont", "unknown key `cont`", "`producers[1]` takes: name, start, count"; "unknown key in second array entry")]
#[test_case("[scenario]\nname = \"a\"\nname = \"b\"\n", "scenario.name", "`name` is set twice: first at line 2", "remove one"; "duplicate key")]
#[test_case("[queue]\nkind = \"fifo\"\n[queue]\ndelay = \"1s\"\n", "queue", "the table `[queue]` is defined twice: first at line 1", "merge the two"; "duplicate table")]
#[test_case("[[producers]]\nname = \"a\"\n[producers]\ncount = 1\n", "producers", "`[producers]` clashes with `[[producers]]` at line 1", "not both"; "table after array of tables")]
#[test_case("[queue]\nkind = \"fifo\"\n[[queue]]\n", "queue", "`[[queue]]` clashes with `[queue]` at line 1", "not both"; "array of tables after table")]
#[test_case("[[producers]]\nname = \"p\"\ncount = 12345678901234567890\n", "producers[0].count", "12345678901234567890 is out of range: above the maximum, 1000000000", "count takes an integer"; "twenty digit count")]
#[test_case("[scenario]\ntimeout = 1979-05-27T07:32:00Z\n", "scenario.timeout", "expected a string, found a date or time", "timeout takes a duration"; "datetime for a duration")]
#[test_case("[queue]\nmax_receive_count = 2.0\n", "queue.max_receive_count", "expected an integer, found the number 2.0", "from 1 to 1000"; "float for an integer")]
#[test_case("[producers]\nname = \"p\"\n", "producers", "expected an array of tables, found a table", "producers takes an array of tables"; "table for an array of tables")]
#[test_case("[expect]\nproducer = 3\n", "expect.producer", "expected a table of [expect.producer.NAME] tables, found the integer 3", "expect takes"; "expect producer not a table")]
#[test_case("[[producers]]\nname = \"p\"\ncount = \"3\"\n", "producers[0].count", "expected an integer", "count takes an integer from 1 to 1000000000"; "wrong type")]
#[test_case("[scenario]\nname = \"x\n", "scenario.name", "", "TOML syntax"; "syntax error")]
#[test_case("[[faults]]\noperation = \"send\"\nkind = \"throttle\"\nnth = 1\nprobabilty = 0.5\n", "faults[0].probabilty", "unknown key `probabilty`", "probability"; "unknown fault key")]
#[test_case("[[producers]]\nname = \"p\"\ncount = 1\nretries = { attempts = 3 }\n", "producers[0].retries.attempts", "unknown key `attempts`", "max_attempts"; "unknown retries key")]
#[test_case("[[producers]]\nname = \"p\"\ncount = 1\nretries = 3\n", "producers[0].retries", "expected a table", "retries takes a table"; "retries not a table")]
fn toml_rule(text: &str, key: &str, message: &str, help: &str) {
    assert_one(text, key, message, help);
}

/// serde would stop at the first unknown key or wrong type; the structure pass reports them all.
#[test]
fn every_unknown_key_and_wrong_type_is_reported_at_once() {
    let text = indoc! {r#"
        [scenario]
        naem = "x"
        seed = "7"
        [[producers]]
        name = "p"
        cont = 1
        [[consumers]]
        name = "w"
        count = 2.5
        [queues]
    "#};
    let keys: Vec<String> = diagnostics(text).into_iter().map(|d| d.key).collect();
    assert_eq!(
        keys,
        [
            "scenario.naem",
            "scenario.seed",
            "producers[0].cont",
            "consumers[0].count",
            "queues"
        ]
    );
}

#[test]
fn every_recoverable_syntax_error_is_reported_at_once() {
    let text = "[scenario]\nname = \"x\"\nname = \"y\"\n[queue]\nkind = \"fifo\"\n[queue]\n";
    let error = parse(Path::new("t.toml"), text).expect_err("two duplicates");
    assert!(
        matches!(error.kind, ScenarioErrorKind::Syntax(_)),
        "{error:?}"
    );
    let keys: Vec<&str> = error.diagnostics().iter().map(|d| d.key.as_str()).collect();
    assert_eq!(keys, ["scenario.name", "queue"]);
}

#[test]
fn invalid_utf8_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        b"[scenario]\nname = \"p\"\ndescription = \"d\xff\"\n",
    )
    .unwrap();
    let error = load(&path).expect_err("not UTF-8");
    let line = &error.plain_lines()[0];
    assert!(
        line.ends_with("bad.toml:3:17: the file is not UTF-8: invalid byte 0xFF here"),
        "{line}"
    );
}

#[test]
fn a_huge_value_is_not_echoed_whole() {
    let huge = "x".repeat(2_000_000);
    let text = format!("{BASE}[queue]\nkind = \"{huge}\"\n");
    let error = parse(Path::new("t.toml"), &text).expect_err("unknown kind");
    let rendered = error.render(false);
    assert!(rendered.len() < 2_000, "{} bytes rendered", rendered.len());
    assert!(rendered.contains("(2000000 characters)"), "{rendered}");
}

#[test]
fn every_problem_is_reported_in_file_order() {
    let text = indoc! {r#"
        [scenario]
        name = "Bad Name"
        description = "three problems"
        [[producers]]
        name = "p"
        count = 1
        batch_size = 20
        [[consumers]]
        name = "w"
        [expect]
        nope = 1
    "#};
    let keys: Vec<String> = diagnostics(text).into_iter().map(|d| d.key).collect();
    assert_eq!(
        keys,
        ["scenario.name", "producers[0].batch_size", "expect.nope"]
    );
}

#[test]
fn an_empty_file_names_each_missing_table() {
    let keys: Vec<String> = diagnostics("").into_iter().map(|d| d.key).collect();
    assert_eq!(keys, ["consumers", "producers", "scenario"]);
}

#[test]
fn a_bad_behaviour_key_is_reported_once_despite_deploys() {
    let text = format!(
        "{BASE}processing = \"soon\"\n[[at]]\ntime = \"1s\"\ndeploy = {{ group = \"worker\" }}\n"
    );
    let keys: Vec<String> = diagnostics(&text).into_iter().map(|d| d.key).collect();
    assert_eq!(keys, ["consumers[0].processing"]);
}

/// A file that validates runs safely: every duration, time, rate and count the engine will use
/// is bounded, and the message says the bound.
#[test_case("[[producers]]\nname = \"b\"\ncount = 1\nstart = \"999999999999d\"", "producers[1].start", "longer than the maximum, 30d", "from 0s to 30d"; "start")]
#[test_case("[[producers]]\nname = \"b\"\nschedule = [\"0s\", \"31d\"]", "producers[1].schedule[1]", "31d is out of range: longer than the maximum, 30d", "from 0s to 30d"; "schedule offset")]
#[test_case("[[producers]]\nname = \"b\"\ncount = 1\nrate = \"1e-300/s\"", "producers[1].rate", "slower than the minimum, 1/d", "from 1/d to 100000/s"; "rate below one a day")]
#[test_case("[[producers]]\nname = \"b\"\ncount = 1\nrate = \"200000/s\"", "producers[1].rate", "faster than the maximum, 100000/s", "from 1/d to 100000/s"; "rate above max")]
#[test_case("[[producers]]\nname = \"b\"\ncount = 1\nrate = \"inf/s\"", "producers[1].rate", "\"inf\" in \"inf/s\" is not a finite number", "\"N/s\""; "infinite rate")]
#[test_case("[[producers]]\nname = \"b\"\ncount = 1000000001", "producers[1].count", "above the maximum, 1000000000", "from 1 to 1000000000"; "count")]
#[test_case("[[producers]]\nname = \"b\"\npayload = { kind = \"business-duplicates\", orders = 1000000001 }", "producers[1].payload.orders", "above the maximum, 1000000000", "from 1 to 1000000000"; "orders")]
#[test_case("[[producers]]\nname = \"b\"\npayload = { kind = \"business-duplicates\", orders = 1000000000, duplicates = 1 }", "producers[1].payload.orders", "sends 1000000001 messages, more than the maximum", "orders + duplicates"; "orders plus duplicates")]
#[test_case("[[producers]]\nname = \"b\"\npayload = { kind = \"versioned\", versions = 9000000000000 }", "producers[1].payload.versions", "above the maximum, 1000000000", "from 1 to 1000000000"; "versions")]
#[test_case("[[producers]]\nname = \"b\"\npayload = { kind = \"versioned\", entities = 100000, versions = 100000 }", "producers[1].payload.versions", "sends 10000000000 messages, more than the maximum", "entities x versions"; "entities times versions")]
#[test_case("[[producers]]\nname = \"b\"\ncount = 1\npayload = { poison = { every = 1000000001 } }", "producers[1].payload.poison.every", "above the maximum", "from 1 to 1000000000"; "poison every")]
#[test_case("[[producers]]\nname = \"b\"\ncount = 1\ngroups = 10001", "producers[1].groups", "above the maximum, 10000", "from 1 to 10000"; "fifo groups")]
#[test_case("[[producers]]\nname = \"b\"\ncount = 20000000", "producers[1]", "sends up to 20000001 messages, more than the limit of 10000000", "--max-messages"; "message estimate of counts")]
#[test_case("[[producers]]\nname = \"b\"\ncontinuous = true\nrate = \"100000/s\"", "producers[1]", "more than the limit of 10000000", "--max-messages"; "continuous over the default timeout")]
#[test_case("[[consumers]]\nname = \"b\"\ncount = 1001", "consumers[1].count", "above the maximum, 1000", "from 0 to 1000"; "consumer count")]
#[test_case("[[consumers]]\nname = \"b\"\nprocessing = \"31d\"", "consumers[1].processing", "longer than the maximum, 30d", "from 0s to 30d"; "processing")]
#[test_case("[[consumers]]\nname = \"b\"\nidempotency = \"memory\"\ncache_size = 10000001", "consumers[1].cache_size", "above the maximum, 10000000", "from 1 to 10000000"; "cache size")]
#[test_case("[[consumers]]\nname = \"b\"\nmessage_limit = 1000000001", "consumers[1].message_limit", "above the maximum", "from 1 to 1000000000"; "message limit")]
#[test_case("[[consumers]]\nname = \"b\"\nheartbeat = { interval = \"1ms\", extend = \"3s\" }", "consumers[1].heartbeat.interval", "shorter than the minimum, 100ms", "from 100ms to 30d"; "heartbeat interval")]
#[test_case("[[consumers]]\nname = \"b\"\nchaos = { restart_after = \"40d\" }", "consumers[1].chaos.restart_after", "longer than the maximum, 30d", "from 0s to 30d"; "restart after")]
#[test_case("[[at]]\ntime = \"31d\"\nkill = \"all\"", "at[0].time", "longer than the maximum, 30d", "from 0s to 30d"; "timeline time")]
#[test_case("[[at]]\nwhen = \"sent > 1\"\npoll = \"1ns\"\nkill = \"all\"", "at[0].poll", "shorter than the minimum, 10ms", "from 10ms to 30d"; "poll")]
#[test_case("[[at]]\ntime = \"1s\"\nstart = { group = \"worker\", count = 1001 }", "at[0].start.count", "above the maximum, 1000", "from 1 to 1000"; "start count")]
#[test_case("[autoscaler]\ngroup = \"worker\"\nscale_out_depth = 5\nmax = 1001", "autoscaler.max", "above the maximum, 1000", "from 1 to 1000"; "autoscaler max")]
#[test_case("[autoscaler]\ngroup = \"worker\"\nscale_out_depth = 5\nmax = 2\ninterval = \"1us\"", "autoscaler.interval", "shorter than the minimum, 100ms", "from 100ms to 30d"; "autoscaler interval")]
#[test_case("[expect]\nprocessed = 4.5", "expect.processed", "is a count, so 4.5 cannot match", "processed = 5"; "fractional count")]
#[test_case("[expect]\nprocessed = \">= 2.5\"", "expect.processed", "is a count, so 2.5 cannot match", "processed = 5"; "fractional count in a comparison")]
#[test_case("[expect]\nprocessed = -1", "expect.processed", "never negative", "processed = 5"; "negative count")]
#[test_case("[expect]\nlost = \"> -1\"", "expect.lost", "never negative", "lost = 5"; "negative count in a comparison")]
#[test_case("[expect]\nprocessed = nan", "expect.processed", "takes a finite number, not NaN", "processed = 5"; "nan")]
#[test_case("[expect]\nprocessed = inf", "expect.processed", "takes a finite number, not inf", "processed = 5"; "infinity")]
#[test_case("[expect]\nprocessed = \"== inf\"", "expect.processed", "\"inf\" is not a finite number", "processed = 5"; "infinity in a comparison")]
#[test_case("[expect]\nprocessed = \">>= 3\"", "expect.processed", "unknown comparison operator \">>=\"", "OP one of"; "doubled operator")]
#[test_case("[queue]\nreceive_wait = \"1ns\"", "queue.receive_wait", "1ns is not a whole number of seconds (SQS takes seconds)", "whole seconds from 0s to 20s"; "sub-second queue wait")]
#[test_case("[[consumers]]\nname = \"b\"\nwait = \"500ms\"", "consumers[1].wait", "500ms is not a whole number of seconds", "whole seconds from 0s to 20s"; "sub-second consumer wait")]
#[test_case("[queue]\nvisibility_timeout = \"1500ms\"", "queue.visibility_timeout", "1s 500ms is not a whole number of seconds", "whole seconds"; "sub-second visibility timeout")]
#[test_case("[queue]\nkind = \"FIFO\"", "queue.kind", "did you mean \"fifo\"?", "\"standard\", \"fifo\""; "kind in capitals")]
fn bound(extra: &str, key: &str, message: &str, help: &str) {
    assert_one(&format!("{BASE}{extra}\n"), key, message, help);
}

#[test_case("timeout = \"31d\"", "longer than the maximum, 30d"; "timeout")]
#[test_case("timeout = \"999999999999999999999999d\"", "is not a duration"; "timeout beyond any clock")]
fn timeout_bound(line: &str, message: &str) {
    let text = format!(
        "[scenario]\nname = \"x\"\ndescription = \"d\"\n{line}\n[[producers]]\nname = \"p\"\ncount = 1\n[[consumers]]\nname = \"w\"\n"
    );
    assert_one(
        &text,
        "scenario.timeout",
        message,
        "timeout takes a duration > 0s and <= 30d",
    );
}

#[test]
fn an_older_oldest_age_may_be_fractional() {
    let text = format!("{BASE}[expect]\noldest_age_seconds = \"< 2.5\"\n");
    parse(Path::new("t.toml"), &text).expect("a time metric takes fractions");
}

#[test]
fn the_message_limit_is_a_parameter() {
    let text = format!("{BASE}[[producers]]\nname = \"b\"\ncount = 5\n");
    let small = Limits { max_messages: 5 };
    let error = parse_with(Path::new("t.toml"), &text, &small).expect_err("6 > 5");
    let messages: Vec<_> = error.diagnostics().iter().map(|d| &d.message).collect();
    assert!(
        messages[0].contains("up to 6 messages, more than the limit of 5"),
        "{messages:?}"
    );
    parse_with(Path::new("t.toml"), &text, &Limits { max_messages: 6 }).expect("6 fit");
}

#[test]
fn a_continuous_producer_is_estimated_until_its_stop() {
    let text = format!(
        "{BASE}[[producers]]\nname = \"b\"\ncontinuous = true\nrate = \"10/s\"\n[[at]]\ntime = \"3s\"\nstop = \"b\"\n"
    );
    let scenario = parse(Path::new("t.toml"), &text).unwrap();
    assert_eq!(estimate_messages(&scenario), [1, 31]);
    let text = format!(
        "{BASE}[[consumers]]\nname = \"b\"\ncount = 1000\n{}",
        "[[at]]\ntime = \"1s\"\nstart = { group = \"b\", count = 1000 }\n".repeat(10)
    );
    let keys: Vec<_> = diagnostics(&text)
        .into_iter()
        .map(|d| (d.key, d.message))
        .collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(
        keys[0]
            .1
            .contains("11001 consumer instances, more than the limit of 10000"),
        "{keys:?}"
    );
}

/// A long value is cut in every message that echoes it (`X` is replaced by 10,000 `x`s).
#[test_case("[[producers]]\nname = \"b\"\ncount = 1\nrate = \"X/s\""; "rate")]
#[test_case("[[producers]]\nname = \"b\"\ncount = 1\nrate = \"1/X\""; "rate unit")]
#[test_case("[[at]]\ntime = \"1s\"\nterminate = \"X\""; "target")]
#[test_case("[[at]]\nwhen = \"X > 1\"\nkill = \"all\""; "live metric")]
#[test_case("[[at]]\nwhen = \"sent >>X 1\"\nkill = \"all\""; "operator")]
#[test_case("[[consumers]]\nname = \"b\"\nchaos = { crash_after_receive = \"X\" }"; "crash policy")]
#[test_case("[expect]\nX = 1"; "metric name")]
#[test_case("[expect]\nstatus = { X = 1 }"; "status")]
#[test_case("[expect]\nprocessed = \">= X\""; "comparison number")]
#[test_case("[queue]\nvisibility_timeout = \"X\""; "duration")]
#[test_case("[[consumers]]\nname = \"X\""; "name")]
fn long_values_are_cut(extra: &str) {
    let text = format!("{BASE}{}\n", extra.replace('X', &"x".repeat(10_000)));
    for d in diagnostics(&text) {
        assert!(
            d.message.len() < 300,
            "{} bytes: {}",
            d.message.len(),
            &d.message[..300]
        );
        assert!(d.key.len() < 300, "key of {} bytes", d.key.len());
    }
}
