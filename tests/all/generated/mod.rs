//! The checker checks itself: random valid scenarios (see `generator`) run on the simulator, and each
//! run must be deterministic, keep the engine's contracts (`contracts`, read from the JSONL log)
//! and give the same value for every metric in `qsim::check` as an independent reference
//! implementation written from the event format specification (`reference`).
//!
//! `QSIM_GEN_CASES` (default 1,000) sets how many scenarios run, `QSIM_GEN_SEED` the first
//! case's seed (case i uses seed + i). A failing scenario is printed with its seed and the first
//! broken property, shrunk by deleting lines while it still fails the same way, and written to
//! `tests/fixtures/generated/`, which the test runs first on every later run.

mod contracts;
mod generator;
mod reference;

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Instant;

use qsim::check::{self, Value};
use qsim::runner;
use qsim::scenario::{self, Metric, MetricDef, Scenario};
use serde_json::Value as Json;

use reference::{History, RefValue};

const FIXTURES: &str = "tests/fixtures/generated";
const DEFAULT_CASES: u64 = 1_000;
const DEFAULT_SEED: u64 = 0x5eed_0000;
/// A generator that produces more invalid files than this fraction is broken.
const INVALID_MAX: f64 = 0.02;

/// Properties where qsim and the specification are known to disagree: a failure with one of
/// these signatures is counted and reported, not failed. Each entry must say why, with the
/// fixture that shows it; remove it once qsim is fixed. Empty: none is known.
const KNOWN_DIVERGENT: &[&str] = &[];

/// One broken property of one run.
#[derive(Debug)]
struct Failure {
    /// What broke, stable across runs (e.g. `metric:lost`, `contract:message-limit`): the
    /// shrinker keeps a smaller file only if it still fails with the same signature.
    signature: String,
    detail: String,
}

fn failure(signature: impl Into<String>, detail: impl Into<String>) -> Failure {
    Failure {
        signature: signature.into(),
        detail: detail.into(),
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a number")),
        Err(_) => default,
    }
}

/// Runs `scenario` once on the simulator: its outcome and JSONL log, or the failure.
fn run_once(scenario: &Rc<Scenario>) -> Result<(qsim::engine::Outcome, Vec<u8>), Failure> {
    let seed = scenario.seed;
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        runner::simulate(scenario.clone(), seed)
    }))
    .map_err(|panic| {
        let text = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        failure("panic", text)
    })?
    .map_err(|error| {
        // The operation names the failure: one broken call is not every backend error.
        let operation = error.to_string();
        let operation = operation
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string();
        failure(format!("backend-error:{operation}"), error.to_string())
    })?;
    let mut jsonl = Vec::new();
    qsim::report::events::write(&mut jsonl, scenario, &outcome)
        .map_err(|e| failure("jsonl", e.to_string()))?;
    Ok((outcome, jsonl))
}

/// What the cases that passed amounted to.
#[derive(Default)]
struct Tally {
    compared: u64,
    not_v1: u64,
    known: BTreeMap<String, u64>,
    /// Runs in which each metric was not 0 (or a boolean metric was false): how much of the
    /// metric space the generator reaches.
    nonzero: BTreeMap<&'static str, u64>,
}

/// Every property of one scenario text. `Ok(())` when all hold.
fn check_text(text: &str, tally: &mut Tally) -> Result<(), Failure> {
    let scenario = scenario::parse(Path::new("generated.toml"), text)
        .map_err(|e| failure("invalid", e.render(false)))?;
    let scenario = Rc::new(scenario);
    let (outcome, jsonl) = match run_once(&scenario) {
        Ok(run) => run,
        Err(f) => return known_or(tally, f),
    };
    let (_, again) = run_once(&scenario)?;
    if jsonl != again {
        let first = String::from_utf8_lossy(&jsonl);
        let second = String::from_utf8_lossy(&again);
        let at = first
            .lines()
            .zip(second.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(first.lines().count().min(second.lines().count()));
        let detail = format!(
            "two runs with seed {} differ from line {}:\n  {}\n  {}",
            scenario.seed,
            at + 1,
            first.lines().nth(at).unwrap_or("(end)"),
            second.lines().nth(at).unwrap_or("(end)")
        );
        return Err(failure("determinism", detail));
    }
    if let Some(dir) = std::env::var_os("QSIM_GEN_JSONL_DIR") {
        let path = Path::new(&dir).join(format!("{}.jsonl", scenario.name));
        std::fs::write(path, &jsonl).map_err(|e| failure("jsonl", e.to_string()))?;
    }
    let text = String::from_utf8(jsonl).map_err(|e| failure("jsonl", e.to_string()))?;
    let lines: Vec<Json> = text
        .lines()
        .enumerate()
        .map(|(n, line)| {
            serde_json::from_str(line)
                .map_err(|e| failure("jsonl", format!("line {}: {e}: {line}", n + 1)))
        })
        .collect::<Result<_, _>>()?;

    let limits: BTreeMap<String, Option<u64>> = scenario
        .consumers
        .iter()
        .map(|g| (g.name.clone(), g.message_limit))
        .collect();
    if let Err(v) = contracts::check(&lines, &limits) {
        let signature = format!("contract:{}", v.contract);
        known_or(tally, failure(signature, v.detail))?;
    }

    let history = match History::fold(&lines) {
        Ok(history) => history,
        Err(_) => {
            tally.not_v1 += 1;
            return Ok(());
        }
    };
    tally.compared += 1;
    let verdict = check::check(&scenario, &outcome);
    if let Some(v) = verdict.violations.first() {
        known_or(
            tally,
            failure(format!("conservation:{}", v.law), v.to_string()),
        )?;
    }
    let whole = history.metrics(None);
    for (name, value) in &whole {
        let interesting = match value {
            RefValue::Number(n) => *n != 0.0,
            RefValue::Bool(b) => !b,
            RefValue::Counts(c) => !c.is_empty(),
        };
        if interesting {
            *tally.nonzero.entry(name).or_default() += 1;
        }
    }
    for MetricDef { metric, name, .. } in Metric::ALL {
        let actual = check::metric_value(*metric, &outcome, &verdict.facts);
        compare(tally, name, None, &actual, whole.get(name))?;
    }
    // The per-producer values of the file's [expect.producer.NAME] checks.
    for result in &verdict.results {
        if let Some(producer) = result.expectation.scope {
            let producer = scenario.producer(producer).name.as_str();
            let name = result.expectation.metric.name();
            let scoped = history.metrics(Some(producer));
            compare(
                tally,
                name,
                Some(producer),
                &result.actual,
                scoped.get(name),
            )?;
        }
    }
    Ok(())
}

/// `Ok` (counted) when `f`'s signature is known to diverge, else `Err(f)`.
fn known_or(tally: &mut Tally, f: Failure) -> Result<(), Failure> {
    if KNOWN_DIVERGENT.contains(&f.signature.as_str()) {
        *tally.known.entry(f.signature).or_default() += 1;
        return Ok(());
    }
    Err(f)
}

fn compare(
    tally: &mut Tally,
    name: &str,
    scope: Option<&str>,
    qsim: &Value,
    reference: Option<&RefValue>,
) -> Result<(), Failure> {
    let same = match (qsim, reference) {
        // Relative below 1, so that millionths of a dollar are compared to their own digits.
        (Value::Number(a), Some(RefValue::Number(b))) => {
            (a - b).abs() < 1e-6 * a.abs().max(b.abs()).clamp(1e-6, 1.0)
        }
        (Value::Bool(a), Some(RefValue::Bool(b))) => a == b,
        (Value::Counts(a), Some(RefValue::Counts(b))) => a == b,
        _ => false,
    };
    if same {
        return Ok(());
    }
    let signature = match scope {
        None => format!("metric:{name}"),
        Some(_) => format!("metric:{name}@producer"),
    };
    let what = match scope {
        None => name.to_string(),
        Some(p) => format!("{name} of producer {p}"),
    };
    let reference = reference.map_or("(none)".to_string(), RefValue::to_string);
    let detail = format!("{what}: qsim says {qsim}, the reference says {reference}");
    known_or(tally, failure(signature, detail))
}

/// Deletes lines (whole `[[at]]`/table blocks first, then single lines) while the text still
/// fails with `signature`. A cheap shrinker: the generator writes one key per line.
fn shrink(text: &str, signature: &str) -> String {
    let still_fails = |candidate: &str| {
        let mut tally = Tally::default();
        matches!(check_text(candidate, &mut tally), Err(f) if f.signature == signature)
    };
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut budget = 400;
    loop {
        let mut progress = false;
        // Blocks: a table header and its lines up to the next blank line.
        let mut start = 0;
        while start < lines.len() && budget > 0 {
            let is_block = lines[start].starts_with('[') && start > 0;
            let end = (start..lines.len())
                .find(|&i| lines[i].is_empty())
                .unwrap_or(lines.len());
            if is_block {
                let mut candidate = lines.clone();
                candidate.drain(start..end);
                budget -= 1;
                if still_fails(&candidate.join("\n")) {
                    lines = candidate;
                    progress = true;
                    continue;
                }
            }
            start = end + 1;
        }
        let mut i = 0;
        while i < lines.len() && budget > 0 {
            if lines[i].is_empty() || lines[i].starts_with('[') {
                i += 1;
                continue;
            }
            let mut candidate = lines.clone();
            candidate.remove(i);
            budget -= 1;
            if still_fails(&candidate.join("\n")) {
                lines = candidate;
                progress = true;
            } else {
                i += 1;
            }
        }
        if !progress || budget == 0 {
            break;
        }
    }
    // Deleted blocks leave their blank separators behind: keep one.
    let mut text = String::new();
    for line in lines {
        if !(line.is_empty() && (text.is_empty() || text.ends_with("\n\n"))) {
            text.push_str(&line);
            text.push('\n');
        }
    }
    text
}

fn fixture_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(FIXTURES)
        .map(|dir| {
            dir.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
#[allow(
    clippy::print_stderr,
    reason = "the run's numbers, seen with --nocapture"
)]
fn generated_scenarios_keep_the_history_consistent() {
    let cases = env_u64("QSIM_GEN_CASES", DEFAULT_CASES);
    let first_seed = env_u64("QSIM_GEN_SEED", DEFAULT_SEED);
    let verbose = std::env::var_os("QSIM_GEN_VERBOSE").is_some();
    let started = Instant::now();
    let mut tally = Tally::default();
    let mut report = Vec::new();

    // Regression inputs first: every file that ever failed.
    let fixtures = fixture_files();
    for path in &fixtures {
        let text = std::fs::read_to_string(path).unwrap();
        if let Err(f) = check_text(&text, &mut tally) {
            report.push(format!(
                "{}: {}: {}\n{text}",
                path.display(),
                f.signature,
                f.detail
            ));
        }
    }

    // Then the generated cases: the smallest failing text per signature is shrunk and kept.
    let mut invalid: Vec<(u64, String, String)> = Vec::new();
    let mut failing: BTreeMap<String, (u64, String, Failure, u64)> = BTreeMap::new();
    for case in 0..cases {
        let seed = first_seed.wrapping_add(case);
        let text = generator::scenario(seed);
        if verbose {
            eprintln!("case seed {seed}:\n{text}");
        }
        let case_started = Instant::now();
        let result = check_text(&text, &mut tally);
        if verbose {
            eprintln!("case seed {seed}: {:?}", case_started.elapsed());
        }
        match result {
            Ok(()) => {}
            Err(f) if f.signature == "invalid" => invalid.push((seed, text, f.detail)),
            Err(f) => {
                let entry = failing
                    .entry(f.signature.clone())
                    .or_insert_with(|| (seed, text.clone(), failure("", ""), 0));
                entry.3 += 1;
                if entry.2.signature.is_empty() || text.len() < entry.1.len() {
                    (entry.0, entry.1, entry.2) = (seed, text, f);
                }
            }
        }
    }

    for (signature, (seed, text, f, count)) in &failing {
        let small = shrink(text, signature);
        std::fs::create_dir_all(FIXTURES).unwrap();
        let stem: String = signature
            .chars()
            .map(|c| match c {
                'a'..='z' | '0'..='9' => c,
                'A'..='Z' => c.to_ascii_lowercase(),
                _ => '-',
            })
            .take(60)
            .collect();
        let file = format!("{FIXTURES}/{stem}-{seed}.toml");
        std::fs::write(&file, &small).unwrap();
        report.push(format!(
            "{signature} ({count} cases): seed {seed} (QSIM_GEN_SEED={seed} QSIM_GEN_CASES=1)\n\
             {}\nshrunk and written to {file}:\n{small}",
            f.detail
        ));
    }
    let ran = cases as usize - invalid.len();
    eprintln!(
        "generated: {ran} scenarios ran ({} invalid skipped), {} fixtures, {} compared with the \
         reference, {} logs not in events format v1, known divergences {:?}, in {:.1?}\n\
         runs per metric with a value other than 0 (false for booleans): {:?}",
        invalid.len(),
        fixtures.len(),
        tally.compared,
        tally.not_v1,
        tally.known,
        started.elapsed(),
        tally.nonzero,
    );
    if invalid.len() as f64 > INVALID_MAX * cases as f64 {
        for (seed, text, error) in invalid.iter().take(3) {
            report.push(format!(
                "invalid generated file, seed {seed}:\n{text}\n{error}"
            ));
        }
        report.push(format!(
            "{} of {cases} generated files are invalid: the generator is broken",
            invalid.len()
        ));
    }
    assert!(report.is_empty(), "\n{}", report.join("\n\n"));
}

/// The generator alone, on more seeds: nearly every file it writes is valid, and together they
/// use every key of the catalogue's tables.
#[test]
fn generated_scenarios_are_valid() {
    let cases = 3 * env_u64("QSIM_GEN_CASES", DEFAULT_CASES);
    let first_seed = env_u64("QSIM_GEN_SEED", DEFAULT_SEED);
    let mut invalid = Vec::new();
    let mut all = String::new();
    for case in 0..cases {
        let seed = first_seed.wrapping_add(case);
        let text = generator::scenario(seed);
        if let Err(e) = scenario::parse(Path::new("generated.toml"), &text) {
            invalid.push(format!("seed {seed}:\n{text}\n{}", e.render(false)));
        }
        all.push_str(&text);
    }
    assert!(
        invalid.len() as f64 <= INVALID_MAX * cases as f64,
        "{} of {cases} generated files are invalid; the first:\n{}",
        invalid.len(),
        invalid
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    let schema = scenario::json_schema();
    let mut missing = Vec::new();
    collect_keys(&schema, &mut |key| {
        if CHILD_PROCESS_KEYS.contains(&key) {
            return;
        }
        let used = all.contains(&format!("{key} = "))
            || all.contains(&format!("{key}]"))
            || all.contains(&format!(".{key}."));
        if !used && !missing.contains(&key.to_string()) {
            missing.push(key.to_string());
        }
    });
    assert!(
        missing.is_empty(),
        "keys no generated file uses: {missing:?}"
    );
}

/// Keys that run consumers as child processes: generated scenarios run on the simulator, which
/// cannot host them (tests/all/aws_process.rs runs them against moto_server).
const CHILD_PROCESS_KEYS: &[&str] = &["process", "command", "env"];

/// Every property name of the JSON Schema (every key of every table of the format).
fn collect_keys(schema: &Json, visit: &mut dyn FnMut(&str)) {
    match schema {
        Json::Object(map) => {
            for (key, value) in map {
                if key == "properties" {
                    if let Json::Object(props) = value {
                        for name in props.keys() {
                            visit(name);
                        }
                    }
                }
                collect_keys(value, visit);
            }
        }
        Json::Array(items) => items.iter().for_each(|v| collect_keys(v, visit)),
        _ => {}
    }
}
