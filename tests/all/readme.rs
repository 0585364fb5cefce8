//! The generated blocks of README.md and docs/ match scenarios.d/ and the code.
//! Regenerate with `QSIM_UPDATE_README=1 cargo test readme`.

use std::path::Path;
use std::sync::Mutex;

use qsim::report::readme;
use qsim::scenario;

/// Held while a test reads and rewrites README.md, which more than one test regenerates.
pub(crate) static LOCK: Mutex<()> = Mutex::new(());

/// The documents with generated blocks (`<!-- KEY:begin -->` ... `<!-- KEY:end -->`).
const DOCUMENTS: &[&str] = &["README.md", "docs/sqs-semantics.md"];

#[test]
fn generated_blocks_are_current() {
    let files = scenario::discover(Path::new("scenarios.d")).unwrap();
    let scenarios: Vec<_> = files
        .iter()
        .map(|f| scenario::load(f).unwrap_or_else(|e| panic!("{}", e.render(false))))
        .collect();
    let _lock = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    for document in DOCUMENTS {
        let current = std::fs::read_to_string(document).unwrap();
        let fresh = readme::refresh(&current, &scenarios);
        if std::env::var_os("QSIM_UPDATE_README").is_some() {
            std::fs::write(document, &fresh).unwrap();
            continue;
        }
        assert!(
            current == fresh,
            "{document}'s generated blocks are stale: run `QSIM_UPDATE_README=1 cargo test readme`\n{}",
            qsim::check::snapshot::diff(&current, &fresh)
        );
    }
}

/// The README's "Bring your own consumer" shows examples/consumers/naive.py as it is, from its
/// first import to its end: an example that drifted from the file would teach code nobody runs.
#[test]
fn readme_shows_the_naive_consumer_as_it_is() {
    let file = std::fs::read_to_string("examples/consumers/naive.py").unwrap();
    let code = &file[file.find("import json").expect("naive.py imports json")..];
    let readme = std::fs::read_to_string("README.md").unwrap();
    assert!(
        readme.contains(&format!("```python\n{code}```\n")),
        "README.md's naive consumer differs from examples/consumers/naive.py: paste the file's \
         code from `import json` on"
    );
}
