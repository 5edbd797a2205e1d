//! Signed reports (issue 10.6): keygen, an official run signed with `--sign-key`, and
//! `verify`, which passes on the fresh report and fails, naming what differs, after any
//! single-byte change of any report file or of a vector.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use aigc_conformance::certify::verify::verify;

use crate::common::reference_bin;

fn workspace() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::canonicalize(&p).unwrap_or(p)
}

fn conform(args: &[&str]) -> (i32, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_aigc-conform"))
        .args(args)
        .env("AIGC_LABEL", reference_bin())
        .current_dir(workspace())
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    )
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// Flip one byte of `file` at `at` (a fraction of its length).
fn flip(file: &Path, at: f64) {
    let mut bytes = std::fs::read(file).unwrap();
    let i = ((bytes.len() - 1) as f64 * at) as usize;
    bytes[i] ^= 0x01;
    std::fs::write(file, bytes).unwrap();
}

struct Signed {
    _tmp: tempfile::TempDir,
    keys: PathBuf,
    report: PathBuf,
    vectors: PathBuf,
}

/// Keys, a copy of the vectors, and an official run on them, signed. Made once.
fn signed() -> &'static Signed {
    static S: OnceLock<Signed> = OnceLock::new();
    S.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let keys = tmp.path().join("keys");
        let (code, out) = conform(&["keygen", "--out", keys.to_str().unwrap()]);
        assert_eq!(code, 0, "{out}");
        // Refuses to overwrite a key.
        let (code, out) = conform(&["keygen", "--out", keys.to_str().unwrap()]);
        assert_eq!(code, 2, "{out}");
        let vectors = tmp.path().join("vectors");
        copy_dir(&workspace().join("vectors"), &vectors);
        let report = tmp.path().join("report");
        let (code, out) = conform(&[
            "run",
            "-q",
            "--timeout",
            "120",
            "--vectors",
            vectors.to_str().unwrap(),
            "--official",
            "--seed",
            "77",
            "--sign-key",
            keys.join("report-signing.key").to_str().unwrap(),
            "--operator",
            "Zhang San",
            "--lab",
            "Pilot Lab 1",
            "--out",
            report.to_str().unwrap(),
        ]);
        assert_eq!(
            code, 0,
            "the reference is conformant in an official run: {out}"
        );
        Signed {
            _tmp: tmp,
            keys,
            report,
            vectors,
        }
    })
}

#[test]
fn a_fresh_signed_report_verifies_offline_with_its_vectors() {
    let s = signed();
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(s.report.join("report.json")).unwrap())
            .unwrap();
    let c = &report["certification"];
    assert_eq!(c["mode"], "official");
    assert_eq!(c["seed"], 77);
    assert_eq!(c["operator"], "Zhang San");
    assert_eq!(c["lab"], "Pilot Lab 1");
    assert!(c["report_id"].as_str().unwrap().starts_with("aigcr-"));
    assert!(c["tools"].as_object().unwrap().contains_key("ffmpeg"));
    assert!(c["executables"][0]["sha256"].as_str().unwrap().len() == 64);
    let errors = aigc_conformance::schema::validate(
        aigc_conformance::schema::schema("report.schema.json").unwrap(),
        &report,
    );
    assert!(errors.is_empty(), "{errors:?}");
    let md = std::fs::read_to_string(s.report.join("report.md")).unwrap();
    assert!(
        md.contains("Pilot Lab 1") && md.contains("official (seed 77"),
        "{md}"
    );

    // The manifest names every file of the vectors folder (each one is checked by verify).
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.report.join("manifest.json")).unwrap())
            .unwrap();
    let listed = manifest["vector_files"].as_object().map_or(0, |m| m.len());
    assert!(listed > 100, "manifest.json lists {listed} vector files");
    assert!(manifest["vector_files"]["profile.yaml"].is_string());

    let pubkey = s.keys.join("report-signing.pub");
    let v = verify(&s.report, Some(&pubkey), Some(&s.vectors)).unwrap();
    assert!(v.ok(), "{:?}", v.problems);
    assert!(
        v.notes
            .iter()
            .any(|n| n.contains("regenerated from seed 77")),
        "{:?}",
        v.notes
    );
    // Also through the command line.
    let (code, out) = conform(&[
        "verify",
        s.report.to_str().unwrap(),
        "--key",
        pubkey.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn any_single_byte_change_of_a_report_file_fails_and_names_it() {
    let s = signed();
    let pubkey = s.keys.join("report-signing.pub");
    let names: Vec<String> = std::fs::read_dir(&s.report)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for n in [
        "report.json",
        "report.md",
        "report.html",
        "junit.xml",
        "manifest.json",
        "report.sig",
    ] {
        assert!(names.iter().any(|x| x == n), "{n} missing from {names:?}");
    }
    for name in &names {
        for at in [0.0, 0.5, 1.0] {
            let tmp = tempfile::tempdir().unwrap();
            copy_dir(&s.report, tmp.path());
            flip(&tmp.path().join(name), at);
            let v = verify(tmp.path(), Some(&pubkey), None).unwrap();
            assert!(!v.ok(), "{name} changed at {at} still verifies");
            assert!(
                v.problems.iter().any(|p| p.contains(name.as_str())),
                "{name} at {at}: {:?}",
                v.problems
            );
        }
    }
    // A file added to the folder is named too.
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&s.report, tmp.path());
    std::fs::write(tmp.path().join("extra.txt"), "x").unwrap();
    let v = verify(tmp.path(), Some(&pubkey), None).unwrap();
    assert!(
        v.problems.iter().any(|p| p.contains("extra.txt")),
        "{:?}",
        v.problems
    );
}

#[test]
fn any_single_byte_change_of_a_vector_fails_and_names_it() {
    let s = signed();
    let pubkey = s.keys.join("report-signing.pub");
    for rel in [
        "implicit/png/xmp-valid.png",
        "profile.yaml",
        "explicit/explicit.yaml",
        "requirements.yaml",
    ] {
        let tmp = tempfile::tempdir().unwrap();
        copy_dir(&s.vectors, tmp.path());
        let file = tmp.path().join(rel);
        assert!(file.is_file(), "{rel}");
        flip(&file, 0.5);
        let v = verify(&s.report, Some(&pubkey), Some(tmp.path())).unwrap();
        assert!(!v.ok(), "{rel} changed still verifies");
        assert!(
            v.problems.iter().any(|p| p.contains(rel)),
            "{rel}: {:?}",
            v.problems
        );
    }
}

#[test]
fn another_key_does_not_verify() {
    let s = signed();
    let tmp = tempfile::tempdir().unwrap();
    let (code, out) = conform(&["keygen", "--out", tmp.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let other = tmp.path().join("report-signing.pub");
    let v = verify(&s.report, Some(&other), None).unwrap();
    assert!(!v.ok());
    assert!(
        v.problems.iter().any(|p| p.contains("report.sig")),
        "{:?}",
        v.problems
    );
    let (code, out) = conform(&[
        "verify",
        s.report.to_str().unwrap(),
        "--key",
        other.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}");
}

#[test]
fn signing_needs_operator_lab_and_out() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("k.key");
    let (code, out) = conform(&["run", "--sign-key", key.to_str().unwrap(), "--exact", "x"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("--operator") || out.contains("--out"), "{out}");
}

#[test]
fn an_archived_signed_run_restored_from_the_store_still_verifies() {
    let s = signed();
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("results.sqlite");
    let (code, out) = conform(&[
        "archive",
        "--db",
        db.to_str().unwrap(),
        s.report.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    let conn = aigc_conformance::history::store::open(&db).unwrap();
    let entries = aigc_conformance::history::store::query(&conn, &Default::default()).unwrap();
    assert_eq!(entries.len(), 1);
    let files = aigc_conformance::history::store::files(&conn, entries[0].id).unwrap();
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"manifest.json"), "{names:?}");
    assert!(names.contains(&"report.sig"), "{names:?}");
    // Every file the signed manifest lists is kept, byte for byte: the restored folder verifies.
    let restored = tmp.path().join("restored");
    std::fs::create_dir(&restored).unwrap();
    for (name, content) in &files {
        assert_eq!(
            &std::fs::read(s.report.join(name)).unwrap(),
            content,
            "{name} changed in the store"
        );
        std::fs::write(restored.join(name), content).unwrap();
    }
    let pubkey = s.keys.join("report-signing.pub");
    let v = verify(&restored, Some(&pubkey), Some(&s.vectors)).unwrap();
    assert!(v.ok(), "{:?}", v.problems);
}
