//! The catalogue and the vectors stay consistent: every manifest lints clean, every
//! machine-testable requirement has a positive and a negative vector, and spec-mapping.md is the
//! file `aigc-conform mapping` would write now.

use std::path::Path;
use std::process::Command;

fn conform(args: &[&str]) -> (bool, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let o = Command::new(env!("CARGO_BIN_EXE_aigc-conform"))
        .args(args)
        .current_dir(&root)
        .output()
        .expect("run aigc-conform");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn vectors_lint_clean_with_full_coverage() {
    let (ok, stderr) = conform(&["lint"]);
    assert!(ok, "{stderr}");
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert!(
        warnings.is_empty(),
        "coverage gaps or other warnings:\n{}",
        warnings.join("\n")
    );
}

#[test]
fn spec_mapping_is_current() {
    let (ok, stderr) = conform(&["mapping", "--check"]);
    assert!(ok, "{stderr}");
}
