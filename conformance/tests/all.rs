//! The crate's integration tests, linked into one test binary (`autotests = false` and one
//! `[[test]]` in Cargo.toml): one binary links the crate and its dependencies once instead of
//! once per file, and the harness spreads all the tests over the cores at once. Each file of
//! `tests/` stays a module of its own (`cargo test -p aigc-conformance --test all -- harness::`
//! runs one file's tests); a new test file must be declared here, which
//! [`every_test_file_is_a_module_of_this_binary`] checks.

mod catalogue;
mod common;
mod harness;
mod history;
mod history_regen;
mod hostile;
mod mutants;
mod official;
mod protocol;
mod rules;
mod sign;
mod verdicts;

/// A test file that is not declared above would silently never be compiled or run.
#[test]
fn every_test_file_is_a_module_of_this_binary() {
    let tests = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let this = std::fs::read_to_string(tests.join("all.rs")).unwrap();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&tests).unwrap() {
        let path = entry.unwrap().path();
        let module = match path.file_stem().and_then(|s| s.to_str()) {
            Some(m) if path.is_dir() && path.join("mod.rs").is_file() => m.to_string(),
            Some(m) if path.extension().is_some_and(|e| e == "rs") && m != "all" => m.to_string(),
            _ => continue,
        };
        if !this.lines().any(|l| l == format!("mod {module};")) {
            missing.push(module);
        }
    }
    assert!(
        missing.is_empty(),
        "tests/all.rs does not declare: {missing:?}"
    );
}
