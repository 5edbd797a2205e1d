//! The crate's integration tests, linked into one test binary (`autotests = false` and one
//! `[[test]]` in Cargo.toml): one binary links the crate and its dependencies once instead of
//! twenty times, and the harness spreads all the tests over the cores at once. Each file of
//! `tests/` stays a module of its own (`cargo test -p aigc-label --test all -- images::` runs
//! one file's tests); a new test file must be declared here, which
//! [`every_test_file_is_a_module_of_this_binary`] checks.

// Helpers shared by several test files.
mod alloc_meter;
mod common;
#[cfg(feature = "serve")]
mod serve_support;

/// The counting allocator of `limits` and `fuzz_smoke` (its counts are per thread, so the other
/// tests running beside them do not disturb their measures).
#[global_allocator]
static ALLOCATOR: alloc_meter::Meter = alloc_meter::Meter;

mod audio_riff;
mod big_files;
mod cli_exit_codes;
mod cli_scan;
mod documents;
mod explicit_jpeg;
mod fuzz_regressions;
mod fuzz_smoke;
mod images;
mod limits;
mod security;
mod video_boxes;
mod video_smart;

// Tests of the explicit tier and of the CLI binary (which needs it).
#[cfg(feature = "explicit")]
mod atomic_writes;
#[cfg(feature = "explicit")]
mod cli_robustness;
#[cfg(feature = "explicit")]
mod explicit;
#[cfg(feature = "explicit")]
mod hostile_paths;
#[cfg(feature = "explicit")]
mod payload;

// Tests of the HTTP service.
#[cfg(feature = "serve")]
mod serve;
#[cfg(feature = "serve")]
mod serve_page;

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
