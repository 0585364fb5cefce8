//! Seeded mutation fuzzing of the scenario format: every file of `scenarios.d/` is mutated (byte
//! flips, token deletion and duplication, swapped values, huge / negative / NaN numbers, random
//! durations and rates, lines from other files, truncation), each mutant is validated in process,
//! and each valid one is run on the simulator by the real binary.
//!
//! Why the real binary in a child process, in batches: a panic inside a run is caught by the
//! runner and reported as a failed run, an abort or a stack overflow kills the process, and a
//! livelock at one virtual instant never returns; a child process with a wall-clock deadline
//! sees all three (panic text on stderr, a signal instead of an exit code, a deadline passed),
//! and `catch_unwind` in process would see only the first. Batches (one `qsim run` of many files)
//! keep process start-up out of the cost; a batch that fails is re-run file by file to name the
//! culprit. Runs use `--max-messages` [`MAX_MESSAGES`] so a mutant that multiplies a count stays
//! quick (bigger ones are refused by validation, which is itself under test).
//!
//! Asserted: validation never panics; a run never panics, aborts or exceeds its deadline, and
//! exits with a documented code (0 1 2 3 4 130). Every input that ever failed is kept in
//! `tests/fixtures/fuzz/` (the test writes it there) and those run first. Inputs that expose an
//! engine cost validation cannot reasonably prevent are listed in [`KNOWN_ENGINE_FINDINGS`]
//! with why; they are validated but not run. (The idle-day and idle-week inputs were such
//! findings until the engine stopped ticking through idle virtual time; they now run.)
//!
//! `QSIM_FUZZ_MUTANTS` (default 2000) and `QSIM_FUZZ_SEED` (default 1) set a longer or another
//! run, e.g. `QSIM_FUZZ_MUTANTS=50000 QSIM_FUZZ_SEED=7 cargo test --test all fuzz -- --nocapture`.

#![allow(clippy::print_stderr)] // the counts and timing of a fuzz run are its report

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use qsim::scenario::{self, Limits};

/// Messages a fuzzed run may send (also passed to the binary as `--max-messages`).
const MAX_MESSAGES: u64 = 2_000;

/// Wall-clock budget of one scenario run; a batch gets this plus a share per file.
const RUN_DEADLINE: Duration = Duration::from_secs(20);

/// Scenario files per `qsim run` process.
const BATCH: usize = 40;

/// The exit codes the README documents.
const DOCUMENTED_EXIT_CODES: &[i32] = &[0, 1, 2, 3, 4, 130, 143];

/// Fixtures in tests/fixtures/fuzz/ whose runs cost more than the fuzz deadline for a reason
/// validation cannot reasonably prevent (each entry says which). They are validated, not run.
const KNOWN_ENGINE_FINDINGS: &[&str] = &[
    // 1000 consumers short-polling for minutes: 8.7 million receives, about 40 s in a debug
    // build. Slow, not stuck: each call is work the scenario asks for, and `--max-wall` bounds it.
    "thousand-short-pollers.toml",
];

/// splitmix64: a small seeded generator, so a mutant is reproducible from (seed, index) alone.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1",
    "2",
    "11",
    "1001",
    "4.5",
    "-0.0",
    "1e308",
    "nan",
    "inf",
    "-inf",
    "2147483648",
    "4294967296",
    "1000000000",
    "9223372036854775807",
    "-9223372036854775808",
    "99999999999999999999",
    "0x7fffffffffffffff",
];

const DURATIONS: &[&str] = &[
    "0s",
    "1ns",
    "1ms",
    "10ms",
    "100ms",
    "999ms",
    "20s",
    "12h",
    "30d",
    "31d",
    "999999999999d",
    "584942417355y",
    "4294967296s",
    "1.5s",
    "-1s",
    "s",
];

const RATES: &[&str] = &[
    "1e-300/s",
    "inf/s",
    "nan/s",
    "0/s",
    "-1/s",
    "1/d",
    "0.9/d",
    "100000/s",
    "100001/s",
    "0.5/m",
    "3/h",
    "unlimited",
    "5/y",
    "/s",
];

/// Snippets other files use, to splice in: keys in the wrong table, new actions, conflicts.
const SNIPPETS: &[&str] = &[
    "continuous = true",
    "rate = \"100000/s\"",
    "count = 0",
    "[[at]]\ntime = \"1s\"\nstop_all = true",
    "[[at]]\nwhen = \"depth > 0\"\npoll = \"10ms\"\nkill = \"all\"",
    "[autoscaler]\ngroup = \"worker\"\nscale_out_depth = 1\nmax = 1000\ninterval = \"100ms\"",
    "[queue]\nkind = \"fifo\"",
    "heartbeat = { interval = \"100ms\", extend = \"1s\" }",
    "chaos = { crash_rate = 1.0, restart_after = \"0s\" }",
    "idle_timeout = \"30d\"",
    "timeout = \"30d\"",
    "[[consumers]]\nname = \"extra\"\ncount = 1000\nwait = \"0s\"",
];

/// One to three mutations of `text`.
fn mutate(text: &[u8], corpus: &[Vec<u8>], rng: &mut Rng) -> Vec<u8> {
    let mut bytes = text.to_vec();
    for _ in 0..1 + rng.below(3) {
        bytes = match rng.below(11) {
            0 => flip(bytes, rng),
            1 => token(bytes, rng, false),
            2 => token(bytes, rng, true),
            3 => swap_values(bytes, rng),
            4 => replace_numbers(bytes, rng),
            5 => replace_quoted(bytes, rng, looks_like_duration, DURATIONS),
            6 => replace_quoted(bytes, rng, |s| s.contains('/') || s == "unlimited", RATES),
            7 => {
                let new = rng_line(corpus, rng);
                splice_line(bytes, rng, new)
            }
            8 => {
                let new = rng.pick(SNIPPETS).as_bytes().to_vec();
                splice_line(bytes, rng, new)
            }
            9 => line(bytes, rng),
            _ => {
                let at = rng.below(bytes.len() + 1);
                bytes.truncate(at);
                bytes
            }
        };
    }
    bytes
}

fn flip(mut bytes: Vec<u8>, rng: &mut Rng) -> Vec<u8> {
    if !bytes.is_empty() {
        let at = rng.below(bytes.len());
        bytes[at] = match rng.below(3) {
            0 => rng.next() as u8,
            1 => *rng.pick(b"[]{}=\"'#,.\n0-9"),
            _ => bytes[at] ^ (1 << rng.below(8)),
        };
    }
    bytes
}

/// Token boundaries: runs of non-whitespace.
fn tokens(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, b) in bytes.iter().enumerate() {
        match (b.is_ascii_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, bytes.len()));
    }
    out
}

fn token(bytes: Vec<u8>, rng: &mut Rng, duplicate: bool) -> Vec<u8> {
    let all = tokens(&bytes);
    if all.is_empty() {
        return bytes;
    }
    let (s, e) = *rng.pick(&all);
    let mut out = bytes[..s].to_vec();
    if duplicate {
        out.extend_from_slice(&bytes[s..e]);
        out.push(b' ');
    }
    out.extend_from_slice(&bytes[if duplicate { s } else { e }..]);
    out
}

fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect()
}

fn unlines(lines: &[Vec<u8>]) -> Vec<u8> {
    lines.join(&b'\n')
}

/// Deletes or duplicates a whole line (a duplicated `[queue]` header or key is a classic).
fn line(bytes: Vec<u8>, rng: &mut Rng) -> Vec<u8> {
    let mut all = lines(&bytes);
    let at = rng.below(all.len());
    if rng.below(2) == 0 {
        all.remove(at);
    } else {
        let copy = all[at].clone();
        let to = rng.below(all.len() + 1);
        all.insert(to, copy);
    }
    unlines(&all)
}

fn rng_line(corpus: &[Vec<u8>], rng: &mut Rng) -> Vec<u8> {
    let file = lines(rng.pick::<Vec<u8>>(corpus));
    rng.pick(&file).clone()
}

fn splice_line(bytes: Vec<u8>, rng: &mut Rng, new: Vec<u8>) -> Vec<u8> {
    let mut all = lines(&bytes);
    let at = rng.below(all.len() + 1);
    all.insert(at, new);
    unlines(&all)
}

/// Swaps the values of two `key = value` lines.
fn swap_values(bytes: Vec<u8>, rng: &mut Rng) -> Vec<u8> {
    let mut all = lines(&bytes);
    let assignments: Vec<usize> = (0..all.len())
        .filter(|i| all[*i].contains(&b'=') && !all[*i].starts_with(b"#"))
        .collect();
    if assignments.len() < 2 {
        return bytes;
    }
    let (a, b) = (*rng.pick(&assignments), *rng.pick(&assignments));
    let split = |l: &[u8]| {
        let eq = l.iter().position(|c| *c == b'=').unwrap_or(0);
        (l[..=eq].to_vec(), l[eq + 1..].to_vec())
    };
    let ((ka, va), (kb, vb)) = (split(&all[a]), split(&all[b]));
    all[a] = [ka, vb].concat();
    all[b] = [kb, va].concat();
    unlines(&all)
}

/// Replaces one bare number (an integer or float outside quotes) with an extreme one.
fn replace_numbers(bytes: Vec<u8>, rng: &mut Rng) -> Vec<u8> {
    let all = tokens(&bytes);
    let numbers: Vec<(usize, usize)> = all
        .into_iter()
        .filter(|(s, e)| {
            let t = &bytes[*s..*e];
            let t = t.strip_suffix(b",").unwrap_or(t);
            !t.is_empty() && t.iter().all(|c| c.is_ascii_digit() || b"._-+e".contains(c))
        })
        .collect();
    if numbers.is_empty() {
        return bytes;
    }
    let (s, e) = *rng.pick(&numbers);
    let e = if bytes[e - 1] == b',' { e - 1 } else { e };
    [&bytes[..s], rng.pick(NUMBERS).as_bytes(), &bytes[e..]].concat()
}

fn looks_like_duration(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_digit())
        && s.ends_with(|c: char| c.is_ascii_alphabetic())
        && !s.contains('/')
}

/// Replaces the contents of one quoted string that `matches` with one of `choices` (or a random
/// number of a random unit).
fn replace_quoted(
    bytes: Vec<u8>,
    rng: &mut Rng,
    matches: impl Fn(&str) -> bool,
    choices: &[&str],
) -> Vec<u8> {
    let text = String::from_utf8_lossy(&bytes).into_owned();
    if text.len() != bytes.len() {
        return bytes;
    }
    let quotes: Vec<usize> = text.match_indices('"').map(|(i, _)| i).collect();
    let strings: Vec<(usize, usize)> = quotes
        .windows(2)
        .map(|w| (w[0] + 1, w[1]))
        .filter(|(s, e)| matches(&text[*s..*e]))
        .collect();
    if strings.is_empty() {
        return bytes;
    }
    let (s, e) = *rng.pick(&strings);
    let new = if rng.below(3) == 0 {
        let units = ["ns", "ms", "s", "m", "h", "d"];
        format!("{}{}", rng.next() % 1_000_000, rng.pick(&units))
    } else {
        rng.pick(choices).to_string()
    };
    [&bytes[..s], new.as_bytes(), &bytes[e..]].concat()
}

/// What went wrong with one input, if anything.
fn verdict(status: Option<i32>, stderr: &str, timed_out: bool) -> Option<String> {
    if timed_out {
        return Some("did not finish before its wall-clock deadline".into());
    }
    if let Some(at) = stderr.find("panicked at") {
        let end = (at + 2_000).min(stderr.len());
        let end = (end..=stderr.len())
            .find(|i| stderr.is_char_boundary(*i))
            .unwrap_or(stderr.len());
        return Some(format!("panicked: {}", &stderr[at..end]));
    }
    match status {
        None => Some("killed by a signal (abort, stack overflow?)".into()),
        Some(code) if !DOCUMENTED_EXIT_CODES.contains(&code) => {
            Some(format!("exit code {code} is not documented"))
        }
        _ => None,
    }
}

/// Runs `qsim run FILES...` with a deadline; `(exit code, stderr, timed out)`.
fn run(files: &[PathBuf], scratch: &Path) -> (Option<i32>, String, bool) {
    let stderr_path = scratch.join("stderr.txt");
    let stderr_file = std::fs::File::create(&stderr_path).expect("scratch is writable");
    let mut child = Command::new(env!("CARGO_BIN_EXE_qsim"))
        .arg("--max-messages")
        .arg(MAX_MESSAGES.to_string())
        .arg("run")
        .args(files)
        .arg("--snapshots")
        .arg(scratch.join("snapshots"))
        .env("CI", "true")
        .env_remove("INSTA_UPDATE")
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr_file)
        .spawn()
        .expect("qsim starts");
    let deadline = Instant::now() + RUN_DEADLINE + Duration::from_millis(250) * files.len() as u32;
    let (status, timed_out) = loop {
        if let Some(status) = child.try_wait().expect("waiting on qsim") {
            break (status.code(), false);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break (None, true);
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stderr = std::fs::read(&stderr_path).unwrap_or_default();
    (
        status,
        String::from_utf8_lossy(&stderr).into_owned(),
        timed_out,
    )
}

/// Validates `file` in process; `Some(name)` when it is valid, an error when validation panics.
fn validate(file: &Path) -> Result<Option<String>, String> {
    let limits = Limits {
        max_messages: MAX_MESSAGES,
    };
    std::panic::catch_unwind(|| scenario::load_with(file, &limits).ok().map(|s| s.name)).map_err(
        |panic| {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            format!("validation panicked: {message}")
        },
    )
}

struct Failure {
    input: Vec<u8>,
    origin: String,
    what: String,
}

/// Runs valid files in batches of unique names; a failing batch is re-run file by file.
fn run_all(valid: &[(PathBuf, String)], scratch: &Path, failures: &mut Vec<(PathBuf, String)>) {
    let mut left: Vec<&(PathBuf, String)> = valid.iter().collect();
    while !left.is_empty() {
        let mut names = BTreeSet::new();
        let mut batch = Vec::new();
        let mut later = Vec::new();
        for item in left {
            if batch.len() < BATCH && names.insert(item.1.clone()) {
                batch.push(item);
            } else {
                later.push(item);
            }
        }
        left = later;
        let files: Vec<PathBuf> = batch.iter().map(|(f, _)| f.clone()).collect();
        let (status, stderr, timed_out) = run(&files, scratch);
        if verdict(status, &stderr, timed_out).is_none() {
            continue;
        }
        for file in files {
            let (status, stderr, timed_out) = run(std::slice::from_ref(&file), scratch);
            if let Some(what) = verdict(status, &stderr, timed_out) {
                failures.push((file, what));
            }
        }
    }
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz")
}

/// Checks inputs: validation in process, then valid ones on the simulator.
fn check(inputs: Vec<(Vec<u8>, String)>, scratch: &Path) -> Vec<Failure> {
    let mut failures = Vec::new();
    let mut valid = Vec::new();
    let mut origins = std::collections::BTreeMap::new();
    for (i, (input, origin)) in inputs.iter().enumerate() {
        let file = scratch.join(format!("m{i}.toml"));
        std::fs::write(&file, input).expect("scratch is writable");
        origins.insert(file.clone(), i);
        match validate(&file) {
            Ok(Some(name)) => valid.push((file, name)),
            Ok(None) => {}
            Err(what) => failures.push(Failure {
                input: input.clone(),
                origin: origin.clone(),
                what,
            }),
        }
    }
    let mut run_failures = Vec::new();
    run_all(&valid, scratch, &mut run_failures);
    for (file, what) in run_failures {
        let (input, origin) = &inputs[origins[&file]];
        failures.push(Failure {
            input: input.clone(),
            origin: origin.clone(),
            what,
        });
    }
    eprintln!(
        "fuzz: {} inputs, {} valid and run on the simulator, {} failures",
        inputs.len(),
        valid.len(),
        failures.len()
    );
    failures
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn fuzz_fixtures_then_mutants() {
    let started = Instant::now();
    let scratch = tempfile::tempdir().unwrap();

    // Every input that ever failed, first.
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(fixture_dir())
        .map(|dir| dir.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    fixtures.retain(|p| p.extension().is_some_and(|e| e == "toml"));
    fixtures.sort();
    let known = |p: &PathBuf| KNOWN_ENGINE_FINDINGS.iter().any(|k| p.ends_with(k));
    for file in fixtures.iter().filter(|p| known(p)) {
        validate(file).unwrap_or_else(|what| panic!("{}: {what}", file.display()));
    }
    let inputs = fixtures
        .iter()
        .filter(|p| !known(p))
        .map(|p| (std::fs::read(p).unwrap(), p.display().to_string()))
        .collect();
    let failures = check(inputs, scratch.path());
    assert!(
        failures.is_empty(),
        "fuzz fixtures fail again:\n{}",
        failures
            .iter()
            .map(|f| format!("{}: {}", f.origin, f.what))
            .collect::<Vec<_>>()
            .join("\n")
    );

    let count = env_number("QSIM_FUZZ_MUTANTS", 2_000) as usize;
    let seed = env_number("QSIM_FUZZ_SEED", 1);
    let catalog = super::scenarios::simulated_catalog();
    let corpus: Vec<Vec<u8>> = catalog.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let mut mutants = Vec::with_capacity(count);
    for i in 0..count {
        let mut rng = Rng(seed.wrapping_mul(1_000_003).wrapping_add(i as u64));
        let from = rng.below(corpus.len());
        let origin = format!(
            "seed {seed} mutant {i} of {}",
            catalog[from].file_name().unwrap().to_string_lossy()
        );
        mutants.push((mutate(&corpus[from], &corpus, &mut rng), origin));
    }
    let failures = check(mutants, scratch.path());
    // Keep every failing input as a fixture, so it runs first from now on.
    let mut kept = Vec::new();
    for failure in &failures {
        let name = format!(
            "found-{}.toml",
            failure
                .origin
                .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
        );
        let path = fixture_dir().join(&name);
        let _ = std::fs::create_dir_all(fixture_dir());
        let _ = std::fs::write(&path, &failure.input);
        kept.push(format!(
            "{}: {}\n  kept as {}",
            failure.origin,
            failure.what,
            path.display()
        ));
    }
    eprintln!(
        "fuzz: {count} mutants (seed {seed}) in {:.1?}",
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} mutants failed:\n{}",
        failures.len(),
        kept.join("\n")
    );
}
