//! Fuzz smoke test for CI, without cargo-fuzz: every input of the fuzz corpora
//! (`fuzz/corpus*/<target>/`, the committed minimised `fuzz/corpus-min` and a local `fuzz/corpus`
//! if a campaign left one), every regression input (`tests/fuzz-regressions/<target>/`) and
//! every test vector replays through the invariant of its fuzz target (`aigc_label::fuzzing`):
//! no panic, and a successful write reads back as exactly the label written. Each vector also
//! goes through every registered format directly, so a format added to the registry is covered
//! without editing this file.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aigc_label::fuzzing::{format_roundtrip, read_any, run_target, write_any};
use aigc_label::implicit::FORMATS;

/// Longest a single input may take (debug build) before it counts as a hang.
const PER_INPUT: Duration = Duration::from_secs(5);

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// (target, input file) pairs: the folders under each corpus root are named after targets.
fn corpus_inputs(root: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let Ok(targets) = std::fs::read_dir(root) else {
        return out;
    };
    for t in targets.flatten().filter(|t| t.path().is_dir()) {
        let mut files = Vec::new();
        files_under(&t.path(), &mut files);
        let name = t.file_name().to_string_lossy().into_owned();
        out.extend(files.into_iter().map(|f| (name.clone(), f)));
    }
    out
}

#[test]
fn corpora_regressions_and_vectors_replay_without_panics() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let repo = crate_dir.parent().unwrap();
    let mut jobs: Vec<(String, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(repo.join("fuzz")).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("corpus") && entry.path().is_dir() {
            jobs.extend(corpus_inputs(&entry.path()));
        }
    }
    jobs.extend(corpus_inputs(&crate_dir.join("tests/fuzz-regressions")));
    let mut vectors = Vec::new();
    files_under(&repo.join("vectors"), &mut vectors);
    vectors.retain(|p| {
        !matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("yaml" | "py" | "sh")
        )
    });
    jobs.extend(vectors.into_iter().map(|p| ("vector".to_string(), p)));

    let start = Instant::now();
    let mut failures = Vec::new();
    let mut slowest = (Duration::ZERO, PathBuf::new());
    for (target, path) in &jobs {
        let data = std::fs::read(path).unwrap();
        let t0 = Instant::now();
        let outcome = std::panic::catch_unwind(|| {
            if target == "vector" {
                read_any(&data);
                write_any(&data);
                for format in FORMATS {
                    format_roundtrip(*format, &data);
                }
                true
            } else {
                run_target(target, &data)
            }
        });
        let took = t0.elapsed();
        if took > slowest.0 {
            slowest = (took, path.clone());
        }
        match outcome {
            Ok(true) => {}
            Ok(false) => failures.push(format!("{}: unknown fuzz target {target}", path.display())),
            Err(_) => failures.push(format!("{} ({target}): panicked", path.display())),
        }
        if took > PER_INPUT {
            failures.push(format!("{} ({target}): took {took:?}", path.display()));
        }
    }
    println!(
        "{} inputs in {:?}; slowest {:?} ({})",
        jobs.len(),
        start.elapsed(),
        slowest.0,
        slowest.1.display()
    );
    assert!(jobs.len() > 100, "the vectors were not found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
