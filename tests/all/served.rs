//! Scenarios whose consumers are child processes, run by `qsim run` on the default backend: the
//! runner serves the simulator to them for the run (a loopback `qsim serve`) and they reach it
//! over the AWS protocol, with real signals. Each runs for real seconds, so all run at once.

use std::process::Command;

#[test]
fn child_process_scenarios_give_their_verdicts_on_the_served_simulator() {
    let files = [
        (
            "scenarios.d/dup-graceful-shutdown-process.toml",
            "dup-graceful-shutdown-process",
        ),
        ("scenarios.d/byo/naive.toml", "byo-naive"),
        ("scenarios.d/byo/two-table.toml", "byo-two-table"),
        ("scenarios.d/byo/delete-first.toml", "byo-delete-first"),
    ];
    let children: Vec<_> = files
        .iter()
        .map(|(file, _)| {
            Command::new(env!("CARGO_BIN_EXE_qsim"))
                .args(["run", file])
                // No AWS settings of the machine's: the served simulator needs none.
                .env_remove("AWS_PROFILE")
                .env_remove("AWS_ENDPOINT_URL")
                .output()
        })
        .collect();
    for ((file, name), output) in files.iter().zip(children) {
        let output = output.unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() && stdout.contains(&format!("PASS {name}")),
            "{file}: {:?}\n{stdout}\n{stderr}",
            output.status
        );
        // Run on the simulator, and counted as an endpoint's calls are.
        assert!(stdout.contains(" sim "), "{file}: {stdout}");
        assert!(stdout.contains("api calls:"), "{file}: {stdout}");
    }
}
