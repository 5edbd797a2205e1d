//! Helpers shared by the test modules of this binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The workspace root.
pub fn workspace() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::canonicalize(&p).unwrap_or(p)
}

/// The reference binary `aigc-label`, built once per test process: cargo does not build another
/// package's binaries for this crate's tests.
///
/// It is built with the `fuzzing` feature on purpose. Under `cargo test --workspace` (what
/// `scripts/test.sh` runs) the reference's own tests unify `fuzzing` into aigc-label, and cargo
/// has already built `target/debug/aigc-label` with it for them; asking for the same feature set
/// here finds that binary fresh instead of compiling the library and the binary a second time
/// (and overwriting the one the reference's tests use). The feature only adds the invariant
/// checkers the fuzz targets call; the binary behaves the same. (The other half of the match is
/// the `once_cell` line in reference/Cargo.toml.)
pub fn reference_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-q", "-p", "aigc-label", "--bin", "aigc-label"])
            .args(["--features", "fuzzing"])
            .current_dir(workspace())
            .status()
            .expect("cargo build -p aigc-label");
        assert!(status.success(), "cargo build -p aigc-label failed");
        std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace().join("target"))
            .join("debug/aigc-label")
    })
    .clone()
}
