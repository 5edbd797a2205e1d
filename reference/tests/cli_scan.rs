//! `aigc-label scan` (issue 13 item 1): every path gets one line, the lines agree with
//! `aigc-label read` file by file, links are not followed out of the tree unless `--follow`,
//! FIFOs are skipped without blocking, `--fail-on` sets the exit status, and every line of a
//! real scan (the whole `vectors/` folder, hostile files included) validates against
//! `reference/schema/scan-line.schema.json` (checked with the `jsonschema` Python package).

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_aigc-label");

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

/// Run with a generous safety timeout (a scan that blocks on a FIFO must fail, not hang).
fn run(args: &[&std::ffi::OsStr]) -> Output {
    let child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run aigc-label");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            panic!("aigc-label {args:?} did not finish in 120 s (blocked?)");
        }
    }
}

fn lines(o: &Output) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for line in String::from_utf8(o.stdout.clone()).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let path = v["path"].as_str().unwrap().to_string();
        assert!(
            out.insert(path.clone(), v).is_none(),
            "{path} reported twice"
        );
    }
    out
}

fn os(s: &str) -> &std::ffi::OsStr {
    s.as_ref()
}

/// A small tree with every kind of entry; returns (tempdir, tree root, an outside file).
fn hostile_tree() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    let deep = tree.join("a/b/c");
    std::fs::create_dir_all(&deep).unwrap();
    for (src, dst) in [
        ("vectors/implicit/png/xmp-valid.png", "a/valid.png"),
        ("vectors/implicit/png/plain.png", "a/b/plain.png"),
        ("vectors/implicit/png/conflict.png", "a/b/c/conflict.png"),
        ("vectors/implicit/png/xmp-label-4.png", "invalid.png"),
        ("vectors/implicit/formats/ffmpeg.mp4", "a/b/c/clip.mp4"),
        ("vectors/implicit/png/truncated.png", "truncated.png"),
        ("README.md", "notes.txt"),
    ] {
        std::fs::copy(repo(src), tree.join(dst)).unwrap();
    }
    let outside = dir.path().join("outside.png");
    std::fs::copy(repo("vectors/implicit/png/xmp-valid.png"), &outside).unwrap();
    std::os::unix::fs::symlink(&outside, tree.join("link-out.png")).unwrap();
    std::os::unix::fs::symlink("a/valid.png", tree.join("link-in.png")).unwrap();
    std::os::unix::fs::symlink("..", tree.join("a/b/loop")).unwrap();
    let fifo = tree.join("a/pipe.png");
    let ok = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(ok.success());
    (dir, tree, outside)
}

#[test]
fn scan_reports_every_path_once_and_agrees_with_read() {
    let (_dir, tree, outside) = hostile_tree();
    let o = run(&[os("scan"), tree.as_os_str()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let got = lines(&o);
    let t = |rel: &str| tree.join(rel).display().to_string();
    let expect = [
        ("a/valid.png", "read", Some("valid")),
        ("a/b/plain.png", "read", Some("unlabeled")),
        ("a/b/c/conflict.png", "read", Some("conflict")),
        ("invalid.png", "read", Some("invalid")),
        ("a/b/c/clip.mp4", "read", Some("valid")),
        ("truncated.png", "error", None),
        ("notes.txt", "unsupported", None),
        ("link-out.png", "skipped", None),
        ("link-in.png", "skipped", None),
        ("a/b/loop", "skipped", None),
        ("a/pipe.png", "skipped", None),
    ];
    let want: Vec<String> = expect.iter().map(|e| t(e.0)).collect();
    assert_eq!(
        got.keys().cloned().collect::<Vec<_>>(),
        {
            let mut w = want.clone();
            w.sort();
            w
        },
        "paths reported"
    );
    for (rel, status, verdict) in expect {
        let line = &got[&t(rel)];
        assert_eq!(line["status"], status, "{rel}: {line}");
        assert_eq!(line["verdict"].as_str(), verdict, "{rel}: {line}");
        // The file's security summary: null without a label, else the worst label status.
        match line["labels"].as_array().filter(|l| !l.is_empty()) {
            None => assert!(line["security"].is_null(), "{rel}: {line}"),
            Some(labels) => {
                assert_eq!(
                    line["security"]["labels"].as_array().map(Vec::len),
                    Some(labels.len()),
                    "{rel}: {line}"
                );
                assert!(line["security"]["status"].is_string(), "{rel}: {line}");
            }
        }
        if status == "read" {
            // Same labels, problems and verdict as `read --json` on the same file.
            let r = run(&[os("read"), os("--json"), tree.join(rel).as_os_str()]);
            let report: Value = serde_json::from_slice(&r.stdout).unwrap();
            for key in ["format", "media", "labels", "problems", "verdict"] {
                assert_eq!(line[key], report[key], "{rel}: {key}");
            }
            assert_eq!(
                line["size"],
                std::fs::metadata(tree.join(rel)).unwrap().len()
            );
        }
    }
    assert!(got[&t("a/pipe.png")]["note"]
        .as_str()
        .unwrap()
        .contains("FIFO"));
    assert!(got[&t("link-out.png")]["note"]
        .as_str()
        .unwrap()
        .contains("--follow"));
    let truncated = &got[&t("truncated.png")];
    assert_eq!(truncated["format"], "png");
    assert_eq!(truncated["error_kind"], "corrupt");
    assert!(truncated["error"].as_str().unwrap().contains("byte "));
    // Nothing outside the tree was read.
    assert!(!String::from_utf8_lossy(&o.stdout).contains(&outside.display().to_string()));

    // The summary on stderr counts them.
    let summary = String::from_utf8_lossy(&o.stderr);
    for (what, n) in [
        ("valid", 2),
        ("invalid", 1),
        ("conflict", 1),
        ("unlabeled", 1),
        ("not a supported format", 1),
        ("could not be read", 1),
        ("skipped (links, FIFOs, ...)", 4),
        ("png", 5),
        ("mp4", 1),
    ] {
        let row = summary
            .lines()
            .find(|l| {
                l.trim_start().starts_with(what)
                    && l.split_whitespace()
                        .last()
                        .is_some_and(|c| c.parse::<u64>().is_ok())
            })
            .unwrap_or_else(|| panic!("no {what} row in:\n{summary}"));
        assert_eq!(
            row.split_whitespace().last().unwrap(),
            n.to_string(),
            "{what}: {summary}"
        );
    }
    assert!(summary.contains("conflicting-labels (error)"), "{summary}");
}

#[test]
fn follow_reads_links_out_of_the_tree_and_stops_at_loops() {
    let (_dir, tree, _outside) = hostile_tree();
    let o = run(&[
        os("scan"),
        os("--follow"),
        os("-j"),
        os("3"),
        tree.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let got = lines(&o);
    let t = |rel: &str| tree.join(rel).display().to_string();
    assert_eq!(got[&t("link-out.png")]["verdict"], "valid");
    assert_eq!(got[&t("link-in.png")]["verdict"], "valid");
    assert_eq!(got[&t("a/b/loop")]["status"], "skipped");
    assert!(got[&t("a/b/loop")]["note"]
        .as_str()
        .unwrap()
        .contains("loop"));
    assert_eq!(got[&t("a/pipe.png")]["status"], "skipped");
}

#[test]
fn fail_on_sets_the_exit_status() {
    let (_dir, tree, _) = hostile_tree();
    let code = |extra: &[&str]| {
        let mut args = vec![os("scan"), os("--no-summary")];
        args.extend(extra.iter().map(|s| os(s)));
        args.push(tree.as_os_str());
        run(&args).status.code()
    };
    assert_eq!(code(&[]), Some(0));
    assert_eq!(code(&["--fail-on", "invalid"]), Some(1));
    assert_eq!(code(&["--fail-on", "conflict,unlabeled"]), Some(1));
    assert_eq!(code(&["--fail-on", "error"]), Some(1));
    // Only valid files: nothing to fail on.
    let valid = repo("vectors/implicit/png/xmp-valid.png");
    let o = run(&[
        os("scan"),
        os("--fail-on"),
        os("invalid,conflict,unlabeled,error"),
        valid.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(0));
    // A named path that does not exist: 2, with its line.
    let o = run(&[os("scan"), os("/nonexistent/aigc"), tree.as_os_str()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(lines(&o)["/nonexistent/aigc"]["status"], "error");
    // Bad --fail-on value: a usage error, not a scan.
    assert_eq!(code(&["--fail-on", "valid"]), Some(2));
}

#[test]
fn every_line_of_a_real_scan_validates_against_the_schema() {
    let (dir, tree, _) = hostile_tree();
    let vectors = repo("vectors");
    let o = run(&[os("scan"), tree.as_os_str(), vectors.as_os_str()]);
    assert_eq!(o.status.code(), Some(0));
    let got = lines(&o);
    // The vectors include hostile files: the scan must have seen every status.
    for status in ["read", "unsupported", "error", "skipped"] {
        assert!(
            got.values().any(|l| l["status"] == status),
            "no {status} line"
        );
    }
    assert!(got.len() > 200, "{} lines", got.len());
    let jsonl = dir.path().join("scan.jsonl");
    std::fs::write(&jsonl, &o.stdout).unwrap();
    let schema = repo("reference/schema/scan-line.schema.json");
    let check = Command::new("python3")
        .arg("-c")
        .arg(
            "import json, sys, jsonschema\n\
             schema = json.load(open(sys.argv[1]))\n\
             jsonschema.Draft202012Validator.check_schema(schema)\n\
             v = jsonschema.Draft202012Validator(schema)\n\
             n = 0\n\
             for line in open(sys.argv[2]):\n\
             \x20   errors = list(v.iter_errors(json.loads(line)))\n\
             \x20   assert not errors, (line[:300], [e.message for e in errors])\n\
             \x20   n += 1\n\
             # The schema must be able to fail: a line with a wrong status does not validate.\n\
             bad = json.loads(line); bad['status'] = 'fine'\n\
             assert list(v.iter_errors(bad)), 'schema accepts anything'\n\
             print(n)\n",
        )
        .arg(&schema)
        .arg(&jsonl)
        .output()
        .expect("python3 (scripts/install-deps.sh installs jsonschema)");
    assert!(
        check.status.success(),
        "schema validation failed: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let n: usize = String::from_utf8_lossy(&check.stdout)
        .trim()
        .parse()
        .unwrap();
    assert_eq!(n, got.len());
}
