//! The README's generated blocks match scenarios.d/ and the metric list.
//! Regenerate with `QSIM_UPDATE_README=1 cargo test readme`.

use std::path::Path;

use qsim::report::readme;
use qsim::scenario;

#[test]
fn readme_tables_are_current() {
    let files = scenario::discover(Path::new("scenarios.d")).unwrap();
    let scenarios: Vec<_> = files
        .iter()
        .map(|f| scenario::load(f).unwrap_or_else(|e| panic!("{}", e.render(false))))
        .collect();
    let current = std::fs::read_to_string("README.md").unwrap();
    let fresh = readme::refresh(&current, &scenarios);
    if std::env::var_os("QSIM_UPDATE_README").is_some() {
        std::fs::write("README.md", &fresh).unwrap();
        return;
    }
    assert!(
        current == fresh,
        "README.md's generated tables are stale: run `QSIM_UPDATE_README=1 cargo test readme`\n{}",
        qsim::check::snapshot::diff(&current, &fresh)
    );
}
