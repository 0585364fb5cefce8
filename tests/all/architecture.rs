//! Dependencies point one way: every `crate::` path in `src/` is checked against the module edges
//! the target shape allows (the map at the top of `src/lib.rs`, in the order data flows through
//! it). A forbidden edge fails with the file and line that makes it.
//!
//! Test-only code (`#[cfg(test)]` items and the files they declare) may use anything: a unit test
//! running a scenario end to end is no dependency of the library. Comments and string literals
//! are not code and are ignored, so a doc link names a module without depending on it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crate modules each top-level module may use. `cli` is the top: it may use everything.
/// A module missing from this table must be a leaf (it uses no other crate module, as a module of
/// plain SQS/DynamoDB facts does); any module may use such a leaf.
const ALLOWED: &[(&str, &[&str])] = &[
    // The file format: raw types, validation, the resolved scenario. Depends on nothing.
    ("scenario", &[]),
    ("rng", &[]),
    ("interrupt", &[]),
    ("exit", &["interrupt"]),
    // The boundary: knows nothing of scenario files, the engine or Terraform.
    ("backend", &["rng"]),
    // `exit`: a run reads the exit code of the `qsim consume` children it starts.
    ("engine", &["scenario", "backend", "rng", "exit"]),
    ("infra", &["scenario", "backend"]),
    // Pass or fail: expectations, facts, snapshots.
    ("check", &["scenario", "engine", "backend"]),
    // `serve`: a run of child-process consumers on the simulator serves it to them.
    (
        "runner",
        &[
            "scenario",
            "engine",
            "backend",
            "infra",
            "check",
            "interrupt",
            "serve",
        ],
    ),
    // Many seeds of each scenario on the simulator, through the runner.
    ("explore", &["scenario", "engine", "check", "runner"]),
    // Rendering only, from results.
    (
        "report",
        &[
            "scenario", "engine", "backend", "check", "runner", "explore",
        ],
    ),
    // The executable guide: runs scenarios and renders what they did into its chapters.
    (
        "guide",
        &["scenario", "engine", "check", "runner", "report"],
    ),
    // The simulator over the AWS protocols; its history in the engine's format.
    ("serve", &["backend", "engine", "report"]),
    (
        "bench",
        &["scenario", "engine", "backend", "check", "runner"],
    ),
    (
        "cli",
        &[
            "scenario",
            "rng",
            "interrupt",
            "exit",
            "backend",
            "engine",
            "infra",
            "check",
            "runner",
            "explore",
            "report",
            "bench",
            "guide",
            "serve",
        ],
    ),
];

#[test]
fn module_dependencies_follow_the_target_shape() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = rust_files(&root.join("src"));
    let sources: Vec<(PathBuf, String)> = files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            (path.strip_prefix(root).unwrap().to_owned(), text)
        })
        .collect();
    let problems = check(&sources, ALLOWED);
    assert!(
        problems.is_empty(),
        "module dependencies break the target shape (tests/all/architecture.rs):\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_module_of_the_crate_is_on_the_map_in_lib_rs() {
    let lib =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    let unmapped: Vec<&str> = lib
        .lines()
        .filter_map(|line| line.strip_prefix("pub mod ").or(line.strip_prefix("mod ")))
        .map(|m| m.trim_end_matches(';'))
        .filter(|m| !lib.contains(&format!("//! - [`{m}`]")))
        .collect();
    assert!(
        unmapped.is_empty(),
        "src/lib.rs's `//!` map has no line for {unmapped:?}: add `//! - [`NAME`]: its job`"
    );
}

#[test]
fn a_forbidden_edge_is_reported_with_its_file_and_line() {
    let sources = [
        (
            PathBuf::from("src/scenario/model.rs"),
            "//! See [`crate::backend`].\nuse std::fmt;\nuse crate::{facts, backend::SimKnobs};\n"
                .to_owned(),
        ),
        (
            PathBuf::from("src/facts.rs"),
            "pub const MAX: u32 = 10;\n".to_owned(),
        ),
        (
            PathBuf::from("src/backend/mod.rs"),
            "use crate::facts::MAX;\n#[cfg(test)]\nmod tests {\n    use crate::scenario;\n}\n"
                .to_owned(),
        ),
    ];
    let allowed: &[(&str, &[&str])] = &[("scenario", &[]), ("backend", &[])];
    assert_eq!(
        check(&sources, allowed),
        ["src/scenario/model.rs:3: `scenario` uses `backend`, which it may not (allowed: none)"]
    );
}

#[test]
fn a_module_missing_from_the_table_must_be_a_leaf() {
    let sources = [(
        PathBuf::from("src/extra/mod.rs"),
        "fn f() { let s = \"crate::scenario\"; crate::scenario::load(s); }\n".to_owned(),
    )];
    let allowed: &[(&str, &[&str])] = &[("scenario", &[])];
    assert_eq!(
        check(&sources, allowed),
        [
            "src/extra/mod.rs:1: `extra` uses `scenario`, but `extra` is not in the table of \
             allowed edges: add it"
        ]
    );
}

/// Every problem with the edges `sources` make: one line each, naming file and line.
fn check(sources: &[(PathBuf, String)], allowed: &[(&str, &[&str])]) -> Vec<String> {
    let test_only = test_only_paths(sources);
    let edges: Vec<Edge> = sources
        .iter()
        .filter(|(path, _)| !test_only.iter().any(|t| path.starts_with(t)))
        .flat_map(|(path, text)| edges_of(path, text))
        .collect();
    let table: BTreeMap<&str, &[&str]> = allowed.iter().copied().collect();
    let users: BTreeSet<&str> = edges.iter().map(|e| e.from.as_str()).collect();
    let is_unlisted_leaf = |module: &str| !table.contains_key(module) && !users.contains(module);
    let mut problems = Vec::new();
    for edge in &edges {
        let (from, to) = (edge.from.as_str(), edge.to.as_str());
        if from == to || is_unlisted_leaf(to) {
            continue;
        }
        let at = format!("{}:{}", edge.path.display(), edge.line);
        match table.get(from) {
            None => problems.push(format!(
                "{at}: `{from}` uses `{to}`, but `{from}` is not in the table of allowed edges: \
                 add it"
            )),
            Some(may) if !may.contains(&to) => {
                let may = if may.is_empty() {
                    "none".to_owned()
                } else {
                    may.join(", ")
                };
                problems.push(format!(
                    "{at}: `{from}` uses `{to}`, which it may not (allowed: {may})"
                ));
            }
            Some(_) => {}
        }
    }
    problems
}

/// One use of another crate module.
struct Edge {
    path: PathBuf,
    line: usize,
    from: String,
    to: String,
}

/// The top-level module a file under `src/` belongs to.
fn top_module(path: &Path) -> String {
    let inner = path.strip_prefix("src").unwrap_or(path);
    let first = inner.components().next().expect("a file under src/");
    let first = first.as_os_str().to_string_lossy();
    first.trim_end_matches(".rs").to_owned()
}

/// The `crate::` paths of one file's library code, each as an edge to the module it names.
fn edges_of(path: &Path, text: &str) -> Vec<Edge> {
    let code = without_test_items(&code_only(text));
    let from = top_module(path);
    let mut edges = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let line = code[..at].matches('\n').count() + 1;
        let rest = code[at + "crate::".len()..].trim_start();
        let targets = if rest.starts_with('{') {
            group_heads(rest)
        } else {
            vec![ident(rest)]
        };
        for to in targets.into_iter().filter(|t| !t.is_empty() && t != "self") {
            edges.push(Edge {
                path: path.to_owned(),
                line,
                from: from.clone(),
                to,
            });
        }
    }
    edges
}

fn ident(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The first segment of each item of a `{a::b, c, d::{e, f}}` group.
fn group_heads(group: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut expecting = false;
    for (i, c) in group.char_indices() {
        match c {
            '{' => {
                depth += 1;
                expecting = depth == 1;
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => expecting = true,
            c if expecting && (c.is_alphanumeric() || c == '_') => {
                heads.push(ident(&group[i..]));
                expecting = false;
            }
            _ => {}
        }
    }
    heads
}

/// `text` with comments and the contents of string and character literals blanked out (newlines
/// kept, so line numbers stay right).
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 1;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 1;
                    if depth == 0 {
                        i += 1;
                        break;
                    }
                }
                out.push(blank(chars[i]));
                i += 1;
            }
        } else if c == 'r' && matches!(next, Some('#') | Some('"')) && !continues_ident(&out) {
            // A raw string: r"..." or r#"..."#.
            let hashes = chars[i + 1..].iter().take_while(|&&h| h == '#').count();
            if chars.get(i + 1 + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let close: String = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            out.push('"');
            i += 2 + hashes;
            while i < chars.len() && !chars[i..].starts_with(&close.chars().collect::<Vec<_>>()) {
                out.push(blank(chars[i]));
                i += 1;
            }
            out.push('"');
            i += close.len();
        } else if c == '"' {
            out.push('"');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
            out.push('"');
            i += 1;
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{7f}'), or else a lifetime ('a).
            let escaped = next == Some('\\');
            let end = if escaped {
                chars[i + 2..]
                    .iter()
                    .position(|&e| e == '\'')
                    .map(|p| i + 2 + p)
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(end) => {
                    out.push_str("' '");
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn continues_ident(before: &str) -> bool {
    before
        .chars()
        .next_back()
        .is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// `code` with every `#[cfg(test)]` item blanked out (newlines kept).
fn without_test_items(code: &str) -> String {
    let mut out: Vec<char> = code.chars().collect();
    let text: Vec<char> = out.clone();
    let marker: Vec<char> = "#[cfg(test)]".chars().collect();
    let mut i = 0;
    while i + marker.len() <= text.len() {
        if text[i..i + marker.len()] != marker[..] {
            i += 1;
            continue;
        }
        // The item ends at its first `;` outside braces, or where its first brace closes.
        let mut j = i + marker.len();
        let mut depth = 0;
        while j < text.len() {
            match text[j] {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                ';' if depth == 0 => break,
                _ => {}
            }
            j += 1;
        }
        for c in &mut out[i..j.min(text.len() - 1) + 1] {
            if *c != '\n' {
                *c = ' ';
            }
        }
        i = j + 1;
    }
    out.into_iter().collect()
}

/// Files and folders that `#[cfg(test)] mod NAME;` declarations make test-only.
fn test_only_paths(sources: &[(PathBuf, String)]) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for (path, text) in sources {
        let code = code_only(text);
        let lines: Vec<&str> = code.lines().map(str::trim).collect();
        for pair in lines.windows(2) {
            let declared = pair[1]
                .strip_prefix("mod ")
                .or_else(|| pair[1].strip_prefix("pub mod "))
                .and_then(|rest| rest.strip_suffix(';'));
            if let (true, Some(name)) = (pair[0] == "#[cfg(test)]", declared) {
                let stem = path.file_stem().unwrap_or_default();
                let dir = path.parent().unwrap_or(Path::new(""));
                let dir = if stem == "mod" || stem == "lib" {
                    dir.to_owned()
                } else {
                    dir.join(stem)
                };
                paths.push(dir.join(format!("{name}.rs")));
                paths.push(dir.join(name));
            }
        }
    }
    paths
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("src/main.rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}
