//! terraform/ and the scenario files are one source of truth: the committed variables file is what
//! the generator makes of scenarios.d/, the generator writes exactly the variables terraform/
//! declares, Terraform plans what the files ask for, and what `terraform output -json` prints after
//! an apply (on moto_server) is what `ResourcesFile` reads.
//!
//! The Terraform tests skip, saying so, when `terraform` is not on PATH: it cannot be downloaded
//! on every machine. The apply test runs on the shared moto_server of `moto.rs`, which CI
//! installs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;

use qsim::backend::QueueAttributes;
use qsim::infra::{self, InfraErrorKind, ResourcesFile};
use qsim::scenario::{self, Expectations, QueueConfig, Scenario};
use qsim::sqs::envelope::SimSettings;
use serde_json::Value;

use crate::moto::{Moto, moto_blocking};

const TFVARS: &str = "terraform/scenarios.auto.tfvars.json";
const REGENERATE: &str = "qsim infra tfvars > terraform/scenarios.auto.tfvars.json";
/// The local provider mirror of these machines; elsewhere `terraform init` uses the registry.
const PLUGIN_MIRROR: &str = "/opt/tf-plugins";

// ---------------------------------------------------------------------------------------------
// The committed example

/// NEEDS THE SCENARIO PARSER: reads scenarios.d/ through `scenario::load`, so it fails until the
/// format work is merged. (`committed_example_is_the_shipped_scenarios` in src/infra/tfvars.rs
/// checks the same file against hand-built values meanwhile.)
#[test]
fn committed_tfvars_are_generated_from_scenarios_d() {
    let scenarios: Vec<Scenario> = scenario::discover(Path::new("scenarios.d"))
        .expect("scenarios.d/ is readable")
        .iter()
        .map(|path| scenario::load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect();
    assert!(!scenarios.is_empty(), "no scenario files in scenarios.d/");
    let generated = infra::render(&scenarios).expect("scenario names are unique");
    if std::env::var_os("QSIM_UPDATE_TFVARS").is_some_and(|v| v == "1") {
        std::fs::write(TFVARS, &generated).expect("terraform/ is writable");
        return;
    }
    let committed = std::fs::read_to_string(TFVARS).unwrap_or_default();
    if committed != generated {
        let diff = similar::TextDiff::from_lines(&committed, &generated)
            .unified_diff()
            .header("committed", "generated")
            .to_string();
        panic!(
            "{TFVARS} is stale: it no longer matches scenarios.d/.\nRegenerate it with \
             `{REGENERATE}` (or QSIM_UPDATE_TFVARS=1 cargo test infra), then commit it.\n{diff}"
        );
    }
}

/// The attribute names of `var.scenarios`' object type in terraform/variables.tf. Terraform
/// silently drops attributes a variable does not declare, so a misspelled key from the generator
/// would vanish, not fail: compare the names themselves.
fn declared_attributes() -> BTreeSet<String> {
    let text = std::fs::read_to_string("terraform/variables.tf").unwrap();
    let block = text
        .split("variable \"scenarios\"")
        .nth(1)
        .expect("variables.tf declares `scenarios`");
    let object = block
        .split("map(object({")
        .nth(1)
        .and_then(|rest| rest.split("}))").next())
        .expect("`scenarios` is a map(object({ ... }))");
    object
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('=').map(|(name, _)| name.trim().to_owned()))
        .collect()
}

#[test]
fn generator_writes_exactly_the_declared_variables() {
    let declared = declared_attributes();
    assert!(declared.contains("fifo"), "{declared:?}");
    for scenario in [standard("plain", None), fifo("ordered", Some(2))] {
        let vars = infra::tfvars(std::slice::from_ref(&scenario)).unwrap();
        let written: BTreeSet<String> = vars["scenarios"][&scenario.name]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(written, declared, "{}", scenario.name);
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios built by hand: only their queues matter here.

fn scenario(name: &str, queue: QueueConfig) -> Scenario {
    Scenario {
        path: PathBuf::from(format!("{name}.toml")),
        name: name.to_owned(),
        description: String::new(),
        tags: Vec::new(),
        seed: 1,
        timeout: Duration::from_secs(60),
        queue,
        producers: Vec::new(),
        consumers: Vec::new(),
        timeline: Vec::new(),
        autoscaler: None,
        faults: Vec::new(),
        expect: Expectations::default(),
    }
}

fn standard(name: &str, max_receive_count: Option<u32>) -> Scenario {
    scenario(
        name,
        QueueConfig {
            attributes: QueueAttributes {
                fifo: false,
                visibility_timeout: Duration::from_secs(7),
                receive_wait: Duration::from_secs(1),
                delay: Duration::from_secs(2),
                retention: Duration::from_secs(3600),
                content_based_dedup: false,
                ..QueueAttributes::default()
            },
            max_receive_count,
            sim: SimSettings::default(),
        },
    )
}

fn fifo(name: &str, max_receive_count: Option<u32>) -> Scenario {
    scenario(
        name,
        QueueConfig {
            attributes: QueueAttributes {
                fifo: true,
                visibility_timeout: Duration::from_secs(11),
                receive_wait: Duration::from_secs(20),
                content_based_dedup: true,
                ..QueueAttributes::default()
            },
            max_receive_count,
            sim: SimSettings::default(),
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Terraform

/// A copy of terraform/ in a temporary folder, so no test writes `.terraform/`, a lock file or
/// state into the repository, and tests never share state.
struct Workspace {
    dir: tempfile::TempDir,
}

#[allow(clippy::print_stderr, reason = "a skipped test says why")]
fn skip(test: &str, why: &str) {
    eprintln!("{test}: SKIPPED: {why}");
}

fn terraform_available() -> bool {
    Command::new("terraform")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Workspace {
    /// terraform/*.tf plus a variables file generated from `scenarios`, initialised.
    fn new(scenarios: &[Scenario]) -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir("terraform").unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "tf") {
                std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
            }
        }
        std::fs::write(
            dir.path().join("scenarios.auto.tfvars.json"),
            infra::render(scenarios).unwrap(),
        )
        .unwrap();
        let workspace = Workspace { dir };
        let mut init = vec!["init", "-input=false"];
        let plugin_dir = format!("-plugin-dir={PLUGIN_MIRROR}");
        if Path::new(PLUGIN_MIRROR).is_dir() {
            init.push(&plugin_dir);
        }
        workspace.run(&init);
        workspace
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("terraform");
        command
            .args(args)
            .arg("-no-color")
            .current_dir(self.dir.path())
            .env("TF_IN_AUTOMATION", "1")
            // An emulator accepts any credentials; never pick up a real profile by accident.
            .env("AWS_ACCESS_KEY_ID", "qsim-test")
            .env("AWS_SECRET_ACCESS_KEY", "qsim-test")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .stdin(Stdio::null());
        command
    }

    /// Runs terraform and returns its stdout; fails the test with everything it printed otherwise.
    fn run(&self, args: &[&str]) -> String {
        let output: Output = self.command(args).output().expect("terraform runs");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "terraform {} failed ({}):\n{stdout}\n{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    }

    fn json(&self, args: &[&str]) -> Value {
        let text = self.run(args);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("terraform {args:?}: {e}\n{text}"))
    }
}

/// `resource_changes` (plan) or `values.root_module.resources` (state), by address.
fn by_address(resources: &Value, values_key: &str) -> BTreeMap<String, Value> {
    resources
        .as_array()
        .expect("a list of resources")
        .iter()
        .map(|r| {
            let values = values_key.split('.').fold(r, |v, key| &v[key]).clone();
            (r["address"].as_str().unwrap().to_owned(), values)
        })
        .collect()
}

fn assert_tagged(address: &str, values: &Value, scenario: &str) {
    let tags = &values["tags"];
    assert_eq!(tags["qsim:managed"], "true", "{address}: {tags}");
    assert_eq!(
        tags["qsim:provisioned-by"], "terraform",
        "{address}: {tags}"
    );
    assert_eq!(tags["qsim:scenario"], scenario, "{address}: {tags}");
}

/// What the configuration would create for generated variables, planned offline: no endpoint is
/// contacted when only new resources are planned.
#[test]
fn terraform_plans_what_the_scenario_files_ask_for() {
    if !terraform_available() {
        return skip("terraform plan", "terraform not found on PATH");
    }
    let scenarios = [
        standard("std-dlq", Some(3)),
        standard("std-plain", None),
        fifo("fifo-dlq", Some(2)),
    ];
    let workspace = Workspace::new(&scenarios);
    workspace.run(&[
        "plan",
        "-input=false",
        "-lock=false",
        "-refresh=false",
        "-var=name_prefix=qt",
        // A closed port: the plan must not need it.
        "-var=endpoint_url=http://127.0.0.1:9",
        "-out=plan.bin",
    ]);
    let plan = workspace.json(&["show", "-json", "plan.bin"]);
    let after = by_address(&plan["resource_changes"], "change.after");

    let mut expected = BTreeSet::new();
    for s in &scenarios {
        for kind in ["aws_sqs_queue.main", "aws_dynamodb_table.status"] {
            expected.insert(format!("{kind}[\"{}\"]", s.name));
        }
        expected.insert(format!("aws_dynamodb_table.side_effects[\"{}\"]", s.name));
        if s.queue.max_receive_count.is_some() {
            expected.insert(format!("aws_sqs_queue.dlq[\"{}\"]", s.name));
        }
    }
    assert_eq!(after.keys().cloned().collect::<BTreeSet<_>>(), expected);

    let vars = infra::tfvars(&scenarios).unwrap();
    for s in &scenarios {
        let name = &s.name;
        let wanted = &vars["scenarios"][name];
        let main = &after[&format!("aws_sqs_queue.main[\"{name}\"]")];
        let suffix = if s.queue.attributes.fifo { ".fifo" } else { "" };
        assert_eq!(main["name"], format!("qt-{name}{suffix}"));
        assert_eq!(main["fifo_queue"], s.queue.attributes.fifo, "{name}");
        for (attribute, variable) in [
            ("visibility_timeout_seconds", "visibility_timeout_seconds"),
            ("receive_wait_time_seconds", "receive_wait_time_seconds"),
            ("delay_seconds", "delay_seconds"),
            ("message_retention_seconds", "message_retention_seconds"),
        ] {
            assert_eq!(main[attribute], wanted[variable], "{name}: {attribute}");
        }
        assert_tagged(name, main, name);
        // redrive_policy is computed by the provider, so unknown in every plan whatever the file
        // says: the apply test checks it in the state.
        if s.queue.attributes.fifo {
            assert_eq!(main["content_based_deduplication"], true, "{name}");
        }
        if s.queue.max_receive_count.is_some() {
            let dlq = &after[&format!("aws_sqs_queue.dlq[\"{name}\"]")];
            assert_eq!(dlq["name"], format!("qt-{name}-dlq{suffix}"));
            assert_eq!(
                dlq["fifo_queue"], s.queue.attributes.fifo,
                "{name}: DLQ kind"
            );
            assert_tagged(name, dlq, name);
        }
        for (table, suffix) in [("status", "status"), ("side_effects", "side-effects")] {
            let t = &after[&format!("aws_dynamodb_table.{table}[\"{name}\"]")];
            assert_eq!(t["name"], format!("qt-{name}-{suffix}"));
            assert_eq!(t["billing_mode"], "PAY_PER_REQUEST");
            assert_eq!(t["hash_key"], "pk");
            assert_eq!(
                t["attribute"],
                serde_json::json!([{"name": "pk", "type": "S"}])
            );
            assert_tagged(name, t, name);
        }
    }
}

/// The FIFO scenario of the end-to-end test: one consumer, so moto's FIFO deviations cannot show.
const FIFO_FIXTURE: &str = "tests/fixtures/terraform/terraform-fifo.toml";
const FIFO_SNAPSHOT: &str = "tests/fixtures/terraform/snapshots/terraform-fifo.snap";

/// The end-to-end proof, on the shared moto_server (`moto.rs`): `terraform apply` for a
/// standard scenario (happy, with its DLQ) and a FIFO one; the outputs read both ways; both
/// scenarios run by the real binary with `--resources` (checks and snapshots pass, the resources
/// stay, unchanged and empty; `qsim cleanup` leaves them alone); then `terraform destroy`.
#[test]
fn terraform_apply_then_qsim_run_with_resources_then_destroy() {
    if !terraform_available() {
        return skip(
            "terraform apply + qsim run --resources",
            "terraform not found on PATH",
        );
    }
    let moto = moto_blocking();
    let url = moto.endpoint_url();
    let files = ["scenarios.d/happy.toml", FIFO_FIXTURE];
    let scenarios: Vec<Scenario> = files
        .iter()
        .map(|file| scenario::load(Path::new(file)).unwrap_or_else(|e| panic!("{file}: {e}")))
        .collect();
    let workspace = Workspace::new(&scenarios);
    let endpoint = format!("-var=endpoint_url={url}");
    let apply = ["apply", "-auto-approve", "-input=false", &endpoint];
    workspace.run(&apply);

    let full = workspace.run(&["output", "-json"]);
    let file = ResourcesFile::parse(Path::new("resources.json"), &full)
        .unwrap_or_else(|e| panic!("{e}\n{full}"));
    let bare = workspace.run(&["output", "-json", "qsim_resources"]);
    let bare_file = ResourcesFile::parse(Path::new("resources.json"), &bare).unwrap();
    assert_eq!(bare_file, file);
    assert_eq!(
        file.scenarios.keys().collect::<Vec<_>>(),
        ["happy", "terraform-fifo"]
    );
    for s in &scenarios {
        let queues = file.matching(s).unwrap_or_else(|e| panic!("{e}"));
        assert!(queues.queue_url.starts_with(&url), "{queues:?}");
        assert_eq!(queues.status_table, format!("qsim-{}-status", s.name));
    }
    let fifo_queues = file.for_scenario("terraform-fifo").unwrap();
    assert!(fifo_queues.queue_url.ends_with("/qsim-terraform-fifo.fifo"));
    assert!(
        fifo_queues
            .dlq_url
            .as_ref()
            .unwrap()
            .ends_with("/qsim-terraform-fifo-dlq.fifo")
    );

    // The redrive policies as the provider read them back from SQS.
    let state = workspace.json(&["show", "-json"]);
    let resources = by_address(&state["values"]["root_module"]["resources"], "values");
    for s in &scenarios {
        let queues = file.for_scenario(&s.name).unwrap();
        let policy: Value = serde_json::from_str(
            resources[&format!("aws_sqs_queue.main[\"{}\"]", s.name)]["redrive_policy"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(policy["maxReceiveCount"], 3, "{}", s.name);
        assert_eq!(
            policy["deadLetterTargetArn"].as_str(),
            queues.dlq_arn.as_deref(),
            "{}",
            s.name
        );
    }

    // Both scenarios in one process, against the committed snapshots, as CI would.
    let resources_json = workspace.dir.path().join("resources.json");
    std::fs::write(&resources_json, &full).unwrap();
    let snapshots = tempfile::tempdir().unwrap();
    std::fs::copy("snapshots/happy.snap", snapshots.path().join("happy.snap")).unwrap();
    std::fs::copy(FIFO_SNAPSHOT, snapshots.path().join("terraform-fifo.snap")).unwrap();
    let run = qsim(&[
        "run",
        files[0],
        files[1],
        "--backend",
        "aws",
        "--endpoint-url",
        &url,
        "--region",
        "us-east-1",
        "--resources",
        resources_json.to_str().unwrap(),
        "--snapshots",
        snapshots.path().to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stdout}\n{stderr}");
    for name in ["happy", "terraform-fifo"] {
        assert!(
            stdout
                .lines()
                .any(|line| line.starts_with(&format!("PASS {name} "))),
            "{name} did not pass:\n{stdout}\n{stderr}"
        );
    }
    assert!(stdout.contains("2 passed, 0 failed"), "{stdout}");

    // Nothing was deleted or changed outside Terraform (the redrive policies the drain suspends
    // are back). A refresh-only plan, not a plain one: moto re-serializes redrive policies, which
    // a plain plan shows as a whitespace update even right after the apply.
    workspace.run(&[
        "plan",
        "-refresh-only",
        "-input=false",
        &endpoint,
        "-out=refresh.bin",
    ]);
    let refresh = workspace.json(&["show", "-json", "refresh.bin"]);
    let drift = refresh["resource_drift"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let drifted: Vec<&str> = drift.iter().filter_map(|r| r["address"].as_str()).collect();
    assert!(drifted.is_empty(), "changed outside Terraform: {drifted:?}");
    // ... and the queues are left empty for the next run.
    let stored = stored_messages(&moto, &file);
    assert!(stored.values().all(|&count| count == 0), "{stored:?}");

    let cleanup = qsim(&["cleanup", "--endpoint-url", &url, "--region", "us-east-1"]);
    let cleanup_out = String::from_utf8_lossy(&cleanup.stdout);
    assert_eq!(cleanup.status.code(), Some(0), "{cleanup_out}");
    assert!(
        cleanup_out.contains("cleanup: 0 deleted, 8 skipped, 0 failed"),
        "{cleanup_out}"
    );
    assert!(
        cleanup_out.contains(
            "skipped queue qsim-happy (qsim:provisioned-by=terraform: remove it with `terraform destroy`)"
        ),
        "{cleanup_out}"
    );

    workspace.run(&["destroy", "-auto-approve", "-input=false", &endpoint]);
    let after_destroy = workspace.run(&["output", "-json"]);
    let error = ResourcesFile::parse(Path::new("resources.json"), &after_destroy).unwrap_err();
    assert!(matches!(error.kind, InfraErrorKind::NoOutputs), "{error}");
    assert!(stored_messages(&moto, &file).is_empty(), "destroyed");
}

/// The real binary, with moto's dummy credentials and nothing from the caller's AWS setup.
fn qsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qsim"))
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("INSTA_UPDATE")
        .env("CI", "true")
        .stdin(Stdio::null())
        .output()
        .expect("qsim runs")
}

/// Messages stored (visible, in flight, delayed) per queue URL of `file` that still exists.
fn stored_messages(moto: &Moto, file: &ResourcesFile) -> BTreeMap<String, u64> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let sqs = moto.sqs().await;
        let mut stored = BTreeMap::new();
        for queues in file.scenarios.values() {
            for url in std::iter::once(&queues.queue_url).chain(&queues.dlq_url) {
                let Ok(output) = sqs
                    .get_queue_attributes()
                    .queue_url(url)
                    .attribute_names(QueueAttributeName::All)
                    .send()
                    .await
                else {
                    continue;
                };
                let attributes = output.attributes().cloned().unwrap_or_default();
                let count: u64 = [
                    QueueAttributeName::ApproximateNumberOfMessages,
                    QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
                    QueueAttributeName::ApproximateNumberOfMessagesDelayed,
                ]
                .iter()
                .map(|name| attributes[name].parse::<u64>().unwrap())
                .sum();
                stored.insert(url.clone(), count);
            }
        }
        stored
    })
}
