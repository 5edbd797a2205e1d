//! Exit codes for scripts (issue 13 item 4): `embed` refuses a label without producer fields
//! unless `--allow-empty`, and `read --check` exits 1 unless every verdict is `valid`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_aigc-label");
const PRODUCER: &str = "001191110102MACQD9K64010000";

fn vector(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../vectors")
        .join(rel)
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run aigc-label")
}

fn embed(out: &Path, flags: &[&str]) -> Output {
    let input = vector("implicit/png/plain.png");
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "embed".as_ref(),
        input.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ];
    args.extend(flags.iter().map(|f| std::ffi::OsStr::new(*f)));
    run(&args)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn embed_refuses_empty_producer_fields_unless_allow_empty() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    let empty_fields = r#"{"Label":"2","ContentProducer":"","ProduceID":"","ReservedCode1":"","ContentPropagator":"","PropagateID":"","ReservedCode2":""}"#;
    for flags in [
        vec!["--label", "1"],
        vec!["--label", "1", "--producer", PRODUCER],
        vec!["--label", "1", "--produce-id", "42"],
        vec!["--fields", empty_fields],
        // --allow-invalid is about Annex E errors, not about empty provenance.
        vec!["--label", "1", "--allow-invalid"],
    ] {
        let o = embed(&out, &flags);
        assert_eq!(o.status.code(), Some(2), "{flags:?}: {}", stderr(&o));
        let msg = stderr(&o);
        assert!(msg.contains("--allow-empty"), "{flags:?}: {msg}");
        // The message says when empty fields are legal: the platform's unknown producer.
        assert!(msg.contains("Art. 6"), "{flags:?}: {msg}");
        assert!(
            msg.contains("platform.unknown_producer"),
            "{flags:?}: {msg}"
        );
        assert!(!out.exists(), "{flags:?}: refused but wrote the output");
    }
    let missing_id = embed(&out, &["--label", "1", "--producer", PRODUCER]);
    assert!(stderr(&missing_id).contains("empty ProduceID"));
    assert!(!stderr(&missing_id).contains("ContentProducer and"));

    // With --allow-empty the label is written, and reads back with its empty fields.
    let o = embed(&out, &["--fields", empty_fields, "--allow-empty"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let back = run(&["read".as_ref(), "--json".as_ref(), out.as_os_str()]);
    let report: serde_json::Value = serde_json::from_slice(&back.stdout).unwrap();
    assert_eq!(report["labels"][0]["fields"]["ContentProducer"], "");
    assert_eq!(report["labels"][0]["fields"]["Label"], "2");

    // Producer fields given: no flag needed; empty reserved fields are always fine.
    let out2 = dir.path().join("out2.png");
    let o = embed(
        &out2,
        &["--label", "1", "--producer", PRODUCER, "--produce-id", "42"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn read_check_exits_1_unless_every_verdict_is_valid() {
    let valid = vector("implicit/png/xmp-valid.png");
    let unlabeled = vector("implicit/png/plain.png");
    let conflict = vector("implicit/png/conflict.png");
    let invalid = vector("implicit/png/xmp-label-4.png");
    let code = |files: &[&PathBuf], check: bool| {
        let mut args: Vec<&std::ffi::OsStr> = vec!["read".as_ref()];
        if check {
            args.push("--check".as_ref());
        }
        args.extend(files.iter().map(|f| f.as_os_str()));
        run(&args).status.code()
    };
    assert_eq!(code(&[&valid], true), Some(0));
    for bad in [&unlabeled, &conflict, &invalid] {
        assert_eq!(code(&[bad], true), Some(1), "{}", bad.display());
        assert_eq!(code(&[&valid, bad], true), Some(1), "{}", bad.display());
        // Without --check, read is a reader: a readable file exits 0 whatever its verdict.
        assert_eq!(code(&[bad], false), Some(0), "{}", bad.display());
    }
    // An unreadable file still means 2, with or without --check.
    let missing = PathBuf::from("/nonexistent/file.png");
    assert_eq!(code(&[&valid, &missing], true), Some(2));
    assert_eq!(code(&[&invalid, &missing], true), Some(2));
}

/// `embed` parses the built-in profile only when the label needs it (start-up cost), but the
/// profile stays in force: a `--profile` file is read at start-up whatever the label (a bad
/// one is refused before any work), and its severities decide whether a finding blocks.
#[test]
fn embed_honours_the_profile_it_loads_lazily() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    let clean = ["--label", "1", "--producer", PRODUCER, "--produce-id", "7"];
    // A broken profile file stops even a clean label.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "id: x\nseverities: [\n").unwrap();
    let mut flags = vec!["--profile", bad.to_str().unwrap()];
    flags.extend(clean);
    let o = embed(&out, &flags);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("bad.yaml"), "{}", stderr(&o));
    assert!(!out.exists());
    // A value outside the Annex E j) repertoire (a space) is a warning in the built-in profile:
    // written. A profile that makes `charset` an error refuses the same label.
    let spaced = [
        "--label",
        "1",
        "--producer",
        PRODUCER,
        "--produce-id",
        "7 8",
    ];
    let o = embed(&out, &spaced);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::remove_file(&out).unwrap();
    let builtin = aigc_label::profile::BUILTIN_PROFILE;
    let warning = "  charset:\n    severity: warning";
    assert!(
        builtin.contains(warning),
        "the built-in profile changed shape"
    );
    let strict = dir.path().join("strict.yaml");
    std::fs::write(
        &strict,
        builtin.replace(warning, "  charset:\n    severity: error"),
    )
    .unwrap();
    let mut flags = vec!["--profile", strict.to_str().unwrap()];
    flags.extend(spaced);
    let o = embed(&out, &flags);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("charset"), "{}", stderr(&o));
    assert!(!out.exists());
}
