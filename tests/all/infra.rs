//! terraform/ and the scenario files are one source of truth: the committed variables file is what
//! the generator makes of scenarios.d/, the generator writes exactly the variables terraform/
//! declares, Terraform plans what the files ask for, and what `terraform output -json` prints after
//! an apply (on moto_server) is what `ResourcesFile` reads.
//!
//! The Terraform tests skip, saying so, when `terraform` is not on PATH (and the apply test when
//! `moto_server` is not): neither can be downloaded on every machine.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use qsim::backend::SimKnobs;
use qsim::infra::{self, InfraErrorKind, ResourcesFile};
use qsim::scenario::{self, Expectations, QueueConfig, Scenario};
use serde_json::Value;

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
        expect: Expectations::default(),
    }
}

fn standard(name: &str, max_receive_count: Option<u32>) -> Scenario {
    scenario(
        name,
        QueueConfig {
            fifo: false,
            visibility_timeout: Duration::from_secs(7),
            receive_wait: Duration::from_secs(1),
            delay: Duration::from_secs(2),
            retention: Duration::from_secs(3600),
            content_based_dedup: false,
            max_receive_count,
            sim: SimKnobs::default(),
        },
    )
}

fn fifo(name: &str, max_receive_count: Option<u32>) -> Scenario {
    scenario(
        name,
        QueueConfig {
            fifo: true,
            visibility_timeout: Duration::from_secs(11),
            receive_wait: Duration::from_secs(20),
            delay: Duration::ZERO,
            retention: Duration::from_secs(4 * 24 * 3600),
            content_based_dedup: true,
            max_receive_count,
            sim: SimKnobs::default(),
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
        let suffix = if s.queue.fifo { ".fifo" } else { "" };
        assert_eq!(main["name"], format!("qt-{name}{suffix}"));
        assert_eq!(main["fifo_queue"], s.queue.fifo, "{name}");
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
        if s.queue.fifo {
            assert_eq!(main["content_based_deduplication"], true, "{name}");
        }
        if s.queue.max_receive_count.is_some() {
            let dlq = &after[&format!("aws_sqs_queue.dlq[\"{name}\"]")];
            assert_eq!(dlq["name"], format!("qt-{name}-dlq{suffix}"));
            assert_eq!(dlq["fifo_queue"], s.queue.fifo, "{name}: DLQ kind");
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

/// A moto_server on a free loopback port, stopped when dropped.
struct Moto {
    child: Child,
    url: String,
}

impl Moto {
    fn start() -> Option<Moto> {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let moto = Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen in 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The skeleton of the end-to-end proof (the `qsim run --resources` step is added with
/// the CLI wiring): apply on moto_server, read the outputs both ways, destroy.
#[test]
fn terraform_apply_outputs_what_the_resources_file_reads() {
    if !terraform_available() {
        return skip("terraform apply", "terraform not found on PATH");
    }
    let Some(moto) = Moto::start() else {
        return skip("terraform apply", "moto_server not found on PATH");
    };
    let scenarios = [standard("tf-standard", None), fifo("tf-fifo", Some(3))];
    let workspace = Workspace::new(&scenarios);
    let endpoint = format!("-var=endpoint_url={}", moto.url);
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
        ["tf-fifo", "tf-standard"]
    );
    for s in &scenarios {
        let queues = file.matching(s).unwrap_or_else(|e| panic!("{e}"));
        assert!(queues.queue_url.starts_with(&moto.url), "{queues:?}");
        assert_eq!(queues.status_table, format!("qsim-{}-status", s.name));
    }
    let fifo_queues = file.for_scenario("tf-fifo").unwrap();
    assert!(fifo_queues.queue_url.ends_with("/qsim-tf-fifo.fifo"));
    assert!(
        fifo_queues
            .dlq_url
            .as_ref()
            .unwrap()
            .ends_with("/qsim-tf-fifo-dlq.fifo")
    );

    // The redrive policy as the provider read it back from SQS.
    let state = workspace.json(&["show", "-json"]);
    let resources = by_address(&state["values"]["root_module"]["resources"], "values");
    let policy: Value = serde_json::from_str(
        resources["aws_sqs_queue.main[\"tf-fifo\"]"]["redrive_policy"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(policy["maxReceiveCount"], 3);
    assert_eq!(
        policy["deadLetterTargetArn"].as_str(),
        fifo_queues.dlq_arn.as_deref()
    );
    let standard_policy = &resources["aws_sqs_queue.main[\"tf-standard\"]"]["redrive_policy"];
    assert!(
        standard_policy.is_null() || standard_policy == "",
        "{standard_policy}"
    );

    workspace.run(&["destroy", "-auto-approve", "-input=false", &endpoint]);
    let after_destroy = workspace.run(&["output", "-json"]);
    let error = ResourcesFile::parse(Path::new("resources.json"), &after_destroy).unwrap_err();
    assert!(matches!(error.kind, InfraErrorKind::NoOutputs), "{error}");
}
