//! Fuzz smoke test for CI, without cargo-fuzz: every input of the fuzz corpora
//! (`fuzz/corpus*/<target>/`, the committed minimised `fuzz/corpus-min` and a local `fuzz/corpus`
//! if a campaign left one), every regression input (`tests/fuzz-regressions/<target>/`) and
//! every test vector replays through the invariant of its fuzz target (`aigc_label::fuzzing`):
//! no panic, and a successful write reads back as exactly the label written. Each vector also
//! goes through every registered format directly, so a format added to the registry is covered
//! without editing this file.
//!
//! Bounded work is asserted deterministically (issue 18): the peak heap each input costs,
//! counted by a test allocator, must stay under [`heap_bound`]. Time is only a safety net
//! against a hang, generous and never the assertion.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aigc_label::fuzzing::{format_roundtrip, read_any, run_target, write_any};
use aigc_label::implicit::FORMATS;

use crate::alloc_meter;
use alloc_meter::{peak_during, within_safety_net};

/// Longest a single input may run (debug build, loaded machine) before it counts as a hang.
const SAFETY_NET: Duration = Duration::from_secs(300);

/// Most heap one input may hold at once: the input and a few copies of it (a write holds the
/// input and the output in memory here), plus the largest structures the limits allow one
/// read to hold (an inflated text of `MAX_INFLATED_BYTES`, a `moov` of `MAX_MOOV_BYTES`).
fn heap_bound(input_len: u64) -> u64 {
    use aigc_label::limits;
    8 * input_len + limits::MAX_MOOV_BYTES + 2 * limits::MAX_INFLATED_BYTES
}

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
    let mut largest = (0u64, PathBuf::new());
    for (target, path) in &jobs {
        let data = std::fs::read(path).unwrap();
        let len = data.len() as u64;
        let what = format!("{} ({target})", path.display());
        let job = target.clone();
        let (outcome, peak) = within_safety_net(&what, SAFETY_NET, move || {
            peak_during(|| {
                std::panic::catch_unwind(|| {
                    if job == "vector" {
                        read_any(&data);
                        write_any(&data);
                        for format in FORMATS {
                            format_roundtrip(*format, &data);
                        }
                        true
                    } else {
                        run_target(&job, &data)
                    }
                })
            })
        });
        if peak > largest.0 {
            largest = (peak, path.clone());
        }
        match outcome {
            Ok(true) => {}
            Ok(false) => failures.push(format!("{}: unknown fuzz target {target}", path.display())),
            Err(_) => failures.push(format!("{what}: panicked")),
        }
        if peak > heap_bound(len) {
            failures.push(format!(
                "{what}: held {peak} bytes at once for a {len}-byte input (bound {})",
                heap_bound(len)
            ));
        }
    }
    println!(
        "{} inputs in {:?}; largest peak heap {} bytes ({})",
        jobs.len(),
        start.elapsed(),
        largest.0,
        largest.1.display()
    );
    assert!(jobs.len() > 100, "the vectors were not found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
