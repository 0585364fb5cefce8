//! Every file in tests/fixtures/invalid/ is rejected with a diagnostic snapshot.

#[test]
fn invalid_fixture() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots/diagnostics");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::glob!("../fixtures/invalid", "*.toml", |path| {
            // Paths relative to the crate root keep the snapshots machine-independent.
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
            let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
            let relative = path
                .strip_prefix(&root)
                .expect("fixtures live in the crate");
            let text = std::fs::read_to_string(path).expect("fixture is readable");
            let error = qsim::scenario::parse(relative, &text)
                .expect_err("every fixture in tests/fixtures/invalid is invalid");
            insta::assert_snapshot!(error.render(false));
        });
    });
}
