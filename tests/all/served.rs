//! Scenarios whose consumers are child processes, run by `qsim run` on the default backend: the
//! runner serves the simulator to them for the run (a loopback `qsim serve`) and they reach it
//! over the AWS protocol, with real signals. Each runs for real seconds, so all run at once.

use std::path::PathBuf;
use std::process::Command;

use qsim::scenario;

#[test]
fn child_process_scenarios_give_their_verdicts_on_the_served_simulator() {
    // The catalog's folders that hold such scenarios (discover does not descend).
    let files: Vec<(PathBuf, String)> = ["scenarios.d", "scenarios.d/byo"]
        .into_iter()
        .flat_map(|dir| scenario::discover(std::path::Path::new(dir)).unwrap())
        .filter_map(|path| {
            let scenario = scenario::load(&path).unwrap();
            scenario
                .runs_child_processes()
                .then(|| (path, scenario.name.clone()))
        })
        .collect();
    assert!(files.len() >= 5, "the process and byo scenarios: {files:?}");
    let dir = tempfile::tempdir().unwrap();
    let history_of = |name: &str| dir.path().join(format!("{name}.jsonl"));
    let children: Vec<_> = files
        .iter()
        .map(|(file, name)| {
            Command::new(env!("CARGO_BIN_EXE_qsim"))
                .arg("run")
                .arg(file)
                .arg("--events")
                .arg(history_of(name))
                // The parent's SDK takes the served endpoint from qsim, not the environment.
                .env_remove("AWS_ENDPOINT_URL")
                .output()
        })
        .collect();
    for ((file, name), output) in files.iter().zip(children) {
        let output = output.unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let context = format!(
            "{}: {:?}\n{stdout}\n{stderr}",
            file.display(),
            output.status
        );
        assert!(
            output.status.success() && stdout.contains(&format!("PASS {name}")),
            "{context}"
        );
        // On the simulator, served: its calls counted as an endpoint's are.
        assert!(stdout.contains(" sim "), "{context}");
        assert!(stdout.contains("api calls:"), "{context}");
        let scenario = scenario::load(file).unwrap();
        if scenario.runs_commands() {
            command_receives_are_the_instances_own(&history_of(name), &scenario);
        }
    }
}

/// A `command` consumer tells qsim nothing, yet the run's history has its receives, each the
/// line of the instance that made it (the served simulator's history names the callers), with
/// the receive counts SQS gave, and its calls are counted.
fn command_receives_are_the_instances_own(
    history: &std::path::Path,
    scenario: &scenario::Scenario,
) {
    let text = std::fs::read_to_string(history).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let received: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["event"] == "received").collect();
    assert!(
        !received.is_empty(),
        "{}: no receives\n{text}",
        scenario.name
    );
    let groups: Vec<&str> = scenario.consumers.iter().map(|c| c.name.as_str()).collect();
    for line in &received {
        let actor = line["actor"].as_str().unwrap();
        assert!(
            groups
                .iter()
                .any(|g| actor.strip_prefix(g).is_some_and(|n| n.starts_with('-'))),
            "{}: a receive by {actor}, not an instance of {groups:?}",
            scenario.name
        );
        assert!(line["receive_count"].as_u64().unwrap() >= 1, "{line}");
    }
    // Its calls are counted and billed as qsim's own.
    let ended = lines.last().unwrap();
    assert_eq!(ended["event"], "run-ended");
    for counts in ["api_calls", "billed_requests"] {
        assert!(
            ended[counts]["ReceiveMessage"].as_u64().unwrap_or(0) >= 1,
            "{}: {counts} {ended}",
            scenario.name
        );
    }
}
