//! The guide (docs/guide/) says what qsim does today: every generated block and picture is
//! current, every claim holds, and every scenario of scenarios.d/ is told in exactly one chapter.
//! `qsim guide build` regenerates it.

use std::path::Path;

#[test]
fn the_guide_is_current_and_its_claims_hold() {
    let refresh = qsim::guide::refresh(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
    let problems: Vec<String> = refresh.problems.iter().map(|p| p.to_string()).collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let stale: Vec<String> = refresh
        .stale()
        .map(|change| {
            let diff = match (&change.current, &change.fresh) {
                (Some(current), Some(fresh)) => qsim::check::snapshot::diff(current, fresh),
                (None, _) => "missing".to_owned(),
                (_, None) => "no block uses it any more".to_owned(),
            };
            format!("{}: {diff}", change.path.display())
        })
        .collect();
    assert!(
        stale.is_empty(),
        "stale: run `qsim guide build`\n{}",
        stale.join("\n")
    );
}

#[test]
fn a_claim_that_no_longer_holds_fails_the_guide() {
    // A copy of the guide whose prose claims what the run does not do.
    let repo = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = repo.path().join(qsim::guide::SOURCE_DIR);
    std::fs::create_dir_all(&source).unwrap();
    copy_dir(&root.join("scenarios.d"), &repo.path().join("scenarios.d"));
    let mut chapters = String::new();
    for file in std::fs::read_dir(root.join(qsim::guide::SOURCE_DIR)).unwrap() {
        let path = file.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            chapters.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
    let wrong = chapters.replace(
        "<!-- qsim:claim scenarios.d/dup.toml verdict=pass side_effects=1 duplicated_effects=0 -->",
        "<!-- qsim:claim scenarios.d/dup.toml verdict=pass side_effects=2 duplicated_effects=0 -->",
    );
    assert_ne!(
        wrong, chapters,
        "the guide no longer has the claim this test alters"
    );
    std::fs::write(source.join("all.md"), wrong).unwrap();
    let refresh = qsim::guide::refresh(repo.path()).unwrap();
    let problems: Vec<String> = refresh.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].contains("claims side_effects = 2, the run has 1"),
        "{problems:#?}"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}
