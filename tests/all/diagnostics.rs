//! Every file in tests/fixtures/invalid/ is rejected with a diagnostic snapshot.

#[test]
fn invalid_fixture() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots/diagnostics");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::glob!("../fixtures/invalid", "*.toml", |path| {
            // Paths relative to the crate root keep the snapshots machine-independent.
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
            let relative = path
                .strip_prefix(&root)
                .expect("fixtures live in the crate");
            // `load`, not `parse`: some fixtures are not even UTF-8.
            let error = qsim::scenario::load(relative)
                .expect_err("every fixture in tests/fixtures/invalid is invalid");
            insta::assert_snapshot!(error.render(false));
        });
    });
}

/// The message estimate refuses a scenario with exit 2 until `--max-messages` makes room.
#[test]
fn max_messages_raises_the_limit() {
    let file = "tests/fixtures/invalid/message-estimate.toml";
    let validate = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_qsim"))
            .arg("validate")
            .arg(file)
            .args(extra)
            .output()
            .expect("qsim runs")
    };
    let refused = validate(&[]);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("--max-messages"), "{stderr}");
    let allowed = validate(&["--max-messages", "5000000000"]);
    assert_eq!(
        allowed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&allowed.stderr)
    );
}
