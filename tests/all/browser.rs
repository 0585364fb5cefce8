//! The HTML report (`--html`) in a real browser: headless Chromium opens the file from disk,
//! and the DOM it dumps after rendering must hold the verdict, the explanation, the timeline
//! chart's SVG with data and the lifelines. A screenshot of a failing scenario's report is kept
//! as an artifact (its path is printed).
//!
//! Chromium must be on PATH (`chromium`, Debian's package; `.ci/ensure-chromium.sh` installs it
//! in CI). Without it these tests fail saying how to install it: they never skip.
#![allow(clippy::print_stderr)] // the screenshot's path and the report's size are the artifacts

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

const INSTALL: &str = "the HTML report tests render it in headless Chromium and found no \
    `chromium` (or `chromium-browser`) on PATH: install it with `sudo apt-get install chromium` \
    (Debian, Ubuntu) or `sh .ci/ensure-chromium.sh`, or put your Chromium on PATH";

fn chromium() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!("{INSTALL}");
}

/// Runs headless Chromium on `page` with `args` (its own profile folder, so tests run at once).
fn headless(page: &Path, args: &[&str]) -> Output {
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--allow-file-access-from-files",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.canonicalize().unwrap().display()))
        .output()
        .expect("chromium starts");
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The DOM after Chromium rendered the page.
fn rendered_dom(page: &Path) -> String {
    String::from_utf8(headless(page, &["--dump-dom"]).stdout).expect("the DOM is UTF-8")
}

/// `qsim ARGS --html HTML`; the scenario's snapshot is compared when it has one, ignored (in a
/// scratch folder) otherwise.
fn qsim_html(args: &[&str], html: &Path, compare_snapshots: bool) -> Output {
    let scratch = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_qsim"));
    command.args(args);
    if !compare_snapshots {
        command.arg("--snapshots").arg(scratch.path());
    }
    command
        .arg("--html")
        .arg(html)
        .env_remove("INSTA_UPDATE")
        .env("CI", "true")
        .output()
        .expect("qsim runs")
}

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("html-report");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The numbers of the `points` of the polyline of series `name`.
fn series_points(dom: &str, name: &str) -> Vec<f64> {
    let marker = format!(r#"data-series="{name}" points=""#);
    let start = dom
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} series in the DOM"))
        + marker.len();
    let end = start + dom[start..].find('"').unwrap();
    dom[start..end]
        .split([' ', ','])
        .map(|n| {
            n.parse::<f64>()
                .unwrap_or_else(|_| panic!("{n:?} in {name}"))
        })
        .collect()
}

#[test]
fn a_failing_report_renders_in_chromium_with_its_explanation_and_chart() {
    let started = Instant::now();
    let dir = artifacts();
    let html = dir.join("killed-worker.html");
    let output = qsim_html(
        &["run", "tests/fixtures/html/killed-worker.toml"],
        &html,
        false,
    );
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let dom = rendered_dom(&html);
    for text in [
        "FAIL",
        "killed-worker",
        "seed 3",
        "qsim run tests/fixtures/html/killed-worker.toml --seed 3",
        "max_attempts: expected 1, got 2",
        "redelivered: expected 0, got 1",
        "received by worker-1 at 2.0 s (receive 1)",
        "worker-1 killed at 3.2 s",
        "visibility expired at 12.0 s",
        "received by worker-2 at 27.0 s (receive 2)",
    ] {
        assert!(
            dom.contains(text),
            "the rendered page lacks {text:?}:\n{dom}"
        );
    }
    assert!(dom.contains(r#"<svg class="timeline""#), "{dom}");
    // The chart has data: the visible depth rises above zero (y smaller than the baseline).
    let visible = series_points(&dom, "visible");
    assert!(visible.len() > 20, "{} numbers", visible.len());
    let ys: Vec<f64> = visible.iter().skip(1).step_by(2).copied().collect();
    let baseline = ys.iter().copied().fold(f64::MIN, f64::max);
    assert!(
        ys.iter().any(|&y| y < baseline - 20.0),
        "a flat visible depth"
    );
    assert!(
        dom.contains("kill worker-1"),
        "the kill is marked on the chart"
    );
    assert_eq!(
        dom.matches(r#"class="lifeline""#).count(),
        20,
        "one row per message"
    );
    assert!(dom.contains("received by worker-2 at 27.0 s (receive 2), held until 28.5 s"));

    let png = dir.join("killed-worker.png");
    let _ = std::fs::remove_file(&png);
    headless(
        &html,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1100,1500",
        ],
    );
    let bytes = std::fs::read(&png).expect("chromium wrote the screenshot");
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 20_000,
        "{} bytes",
        bytes.len()
    );
    eprintln!(
        "screenshot of the failing report: {} ({} KB, {:.1} s)",
        png.display(),
        bytes.len() / 1024,
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn a_delete_the_queue_ignored_is_told_in_the_explanation_and_the_lifeline() {
    let html = artifacts().join("stale-delete.html");
    let output = qsim_html(
        &["run", "tests/fixtures/html/stale-delete.toml"],
        &html,
        false,
    );
    assert_eq!(output.status.code(), Some(1));
    let dom = rendered_dom(&html);
    for text in [
        "duplicated_effects: expected 0, got 1",
        "stale receipt at 8.1 s: the delete used the receipt of an earlier receive, and SQS answered OK but kept the message",
        "deleted by w-1 at 8.1 s with a stale receipt: ignored",
        "deleted by w-2 at 13.1 s",
    ] {
        assert!(
            dom.contains(text),
            "the rendered page lacks {text:?}:\n{dom}"
        );
    }
}

#[test]
fn every_catalog_scenario_renders_in_chromium() {
    let started = Instant::now();
    let html = artifacts().join("catalog.html");
    // The catalog the simulator runs (child-process scenarios need an endpoint).
    let files = super::scenarios::simulated_catalog();
    let mut args = vec!["run"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let output = qsim_html(&args, &html, true);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();

    let dom = rendered_dom(&html);
    assert_eq!(
        dom.matches(r#"<section class="scenario""#).count(),
        names.len()
    );
    assert_eq!(dom.matches(r#"<svg class="timeline""#).count(), names.len());
    for name in &names {
        assert!(
            dom.contains(&format!(r##"<a href="#scenario-{name}">{name}</a>"##)),
            "no index row for {name}"
        );
        assert!(
            dom.contains(&format!(r#"id="scenario-{name}""#)),
            "no section for {name}"
        );
    }
    assert!(!dom.contains("FAIL"), "the catalog passes");
    let size = std::fs::metadata(&html).unwrap().len();
    assert!(size < 2_000_000, "the catalog's report is {size} bytes");
    eprintln!(
        "catalog report: {} ({} KB, {} scenarios, {:.1} s)",
        html.display(),
        size / 1024,
        names.len(),
        started.elapsed().as_secs_f64()
    );
}

/// `qsim report` renders the same failure from the history alone, and `explore --html` its
/// exploration, both in the browser.
#[test]
fn a_report_from_a_history_and_an_exploration_render_in_chromium() {
    let dir = artifacts();
    let events = dir.join("killed-worker.jsonl");
    let scratch = tempfile::tempdir().unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_qsim"))
        .args([
            "run",
            "tests/fixtures/html/killed-worker.toml",
            "--snapshots",
        ])
        .arg(scratch.path())
        .arg("--events")
        .arg(&events)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    let html = dir.join("killed-worker-from-history.html");
    let report = Command::new(env!("CARGO_BIN_EXE_qsim"))
        .arg("report")
        .arg(&events)
        .args(["--scenario", "tests/fixtures/html/killed-worker.toml", "-o"])
        .arg(&html)
        .output()
        .unwrap();
    assert_eq!(
        report.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let dom = rendered_dom(&html);
    for text in [
        "FAIL",
        "max_attempts: expected 1, got 2",
        "worker-1 killed at 3.2 s",
        r#"<svg class="timeline""#,
    ] {
        assert!(dom.contains(text), "{text:?}:\n{dom}");
    }
    assert_eq!(dom.matches(r#"class="lifeline""#).count(), 20);

    let explored = dir.join("explore.html");
    let explore = Command::new(env!("CARGO_BIN_EXE_qsim"))
        .args([
            "explore",
            "scenarios.d/happy.toml",
            "tests/fixtures/html/killed-worker.toml",
            "--seeds",
            "2",
            "--html",
        ])
        .arg(&explored)
        .output()
        .unwrap();
    assert_eq!(explore.status.code(), Some(1));
    let dom = rendered_dom(&explored);
    for text in [
        "qsim explore",
        "All 2 seeds held",
        "0 of 2 seeds passed",
        r#"id="scenario-killed-worker""#,
        "Why it failed",
    ] {
        assert!(dom.contains(text), "{text:?}:\n{dom}");
    }
}
