//! Reproducible vectors (issue 11): every make script under vectors/ regenerates the committed
//! files byte for byte (vectors/tools/regen-check.py; about 50 s on 2 busy cores, most of it
//! ExifTool start-up), and the check notices a vector that differs.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::canonicalize(&p).unwrap_or(p)
}

fn regen_check(args: &[&str]) -> (i32, String) {
    let o = Command::new("python3")
        .arg(workspace().join("vectors/tools/regen-check.py"))
        .args(args)
        .output()
        .expect("python3 vectors/tools/regen-check.py");
    (
        o.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

#[test]
fn every_make_script_reproduces_the_committed_vectors() {
    let (code, out) = regen_check(&[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(" 0 problems"), "{out}");
}

#[test]
fn a_vector_that_differs_from_its_make_script_is_reported() {
    let copy = tempfile::tempdir().unwrap();
    let src = workspace().join("vectors");
    for rel in aigc_conformance::vector::all_files(&src) {
        let to = copy.path().join(&rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src.join(&rel), to).unwrap();
    }
    // One byte appended to a committed PNG: it no longer matches what make.sh writes.
    let victim = copy.path().join("implicit/png/xmp-valid.png");
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes.push(0);
    std::fs::write(&victim, bytes).unwrap();
    // And a vector no script makes.
    std::fs::write(copy.path().join("implicit/png/stray.png"), b"x").unwrap();
    let (code, out) = regen_check(&[
        "--vectors",
        copy.path().to_str().unwrap(),
        "--only",
        "implicit/png",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("implicit/png/xmp-valid.png: different bytes"),
        "{out}"
    );
    assert!(
        out.contains("implicit/png/stray.png: committed but made by no script"),
        "{out}"
    );
    assert!(out.contains(" 2 problems"), "{out}");

    // With other tool versions than vectors/TOOLS records, bytes may differ: then what the file
    // shows counts. Bytes after IEND change the file but not its pixels or its label.
    let tools = copy.path().join("TOOLS");
    let recorded = std::fs::read_to_string(&tools).unwrap();
    std::fs::write(
        &tools,
        recorded.replace("imagemagick ", "imagemagick 0:older-"),
    )
    .unwrap();
    std::fs::remove_file(copy.path().join("implicit/png/stray.png")).unwrap();
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes.pop();
    std::fs::write(&victim, &bytes).unwrap();
    let plain = copy.path().join("implicit/png/plain.png");
    let mut padded = std::fs::read(&plain).unwrap();
    padded.extend_from_slice(b"trailing bytes");
    std::fs::write(&plain, padded).unwrap();
    // A label changed inside the XMP packet: the pixels are the same, the label is not.
    let conflict = copy.path().join("implicit/png/xmp-label-4.png");
    let patched = String::from_utf8_lossy(&std::fs::read(&conflict).unwrap())
        .replace(
            "&quot;Label&quot;:&quot;4&quot;",
            "&quot;Label&quot;:&quot;5&quot;",
        )
        .replace("\"Label\":\"4\"", "\"Label\":\"5\"");
    std::fs::write(&conflict, patched.as_bytes()).unwrap();
    let (code, out) = regen_check(&[
        "--vectors",
        copy.path().to_str().unwrap(),
        "--only",
        "implicit/png",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("tool versions differ"), "{out}");
    assert!(
        out.contains("same decoded content, other bytes: implicit/png/plain.png"),
        "{out}"
    );
    assert!(
        out.contains("implicit/png/xmp-label-4.png: different bytes and different decoded content"),
        "{out}"
    );
    assert!(out.contains(" 1 problems"), "{out}");
}
