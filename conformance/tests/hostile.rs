//! The harness against a hostile implementation under test (issue 16, issue 10 part 5): each
//! test is an attack (conformance/tests/adapters/hostile/hostile.py) that the harness must catch
//! or make harmless, without letting it reach any other vector.
//!
//! Bubblewrap tests skip with a printed reason where `bwrap` cannot run, except with `CI=true`,
//! where they fail.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

use aigc_conformance::schema;

use crate::common::reference_bin;

const READ_TARGET: &str = "implicit-png-read-xmp-valid";
const LABEL_TARGET: &str = "implicit-png-label-plain";
/// 11 vectors: 8 reads, 3 labels; the targets are among them.
const FILTER: &str = "implicit-png";

fn workspace() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::canonicalize(&p).unwrap_or(p)
}

/// Whether bubblewrap can run here; without it the test is skipped (printed), unless CI=true.
fn bwrap_or_skip(test: &str) -> bool {
    match aigc_conformance::sandbox::bwrap_works() {
        Ok(()) => true,
        Err(why) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{test}: bubblewrap is required on CI: {why}")
        }
        Err(why) => {
            eprintln!("SKIPPED {test}: {why}");
            false
        }
    }
}

/// A private copy of the vectors (the attacks write into it).
fn vectors_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = workspace().join("vectors");
    for rel in aigc_conformance::vector::all_files(&src) {
        let to = dir.path().join(&rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src.join(&rel), to).unwrap();
    }
    dir
}

struct Run {
    exit: i32,
    stderr: String,
    report: Value,
    out: tempfile::TempDir,
}

impl Run {
    fn vector(&self, id: &str) -> &Value {
        self.report["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["id"] == id)
            .unwrap_or_else(|| panic!("{id} not in the report"))
    }

    fn outcome(&self, id: &str) -> &str {
        self.vector(id)["outcome"].as_str().unwrap()
    }

    /// Every vector except `except` passed.
    fn others_pass(&self, except: &[&str]) {
        for v in self.report["vectors"].as_array().unwrap() {
            let id = v["id"].as_str().unwrap();
            if !except.contains(&id) {
                assert_eq!(v["outcome"], "pass", "{id}: {v:#}\n{}", self.stderr);
            }
        }
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.out.path().join(name)).unwrap()
    }
}

/// `aigc-conform run FILTER` over `vectors` with `adapter`.
fn run_with(vectors: &Path, adapter: &str, extra: &[&str]) -> Run {
    let out = tempfile::tempdir().unwrap();
    let mut args = vec![
        "run",
        "-q",
        "--out",
        out.path().to_str().unwrap(),
        "--vectors",
        vectors.to_str().unwrap(),
        // A safety net, never what is measured.
        "--timeout",
        "120",
        "--adapter",
        adapter,
    ];
    args.extend_from_slice(extra);
    let o = Command::new(env!("CARGO_BIN_EXE_aigc-conform"))
        .args(&args)
        .env("AIGC_LABEL", reference_bin())
        .current_dir(workspace())
        .output()
        .expect("run aigc-conform");
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let text = std::fs::read_to_string(out.path().join("report.json"))
        .unwrap_or_else(|e| panic!("no report ({e})\n{stdout}\n{stderr}"));
    let report: Value = serde_json::from_str(&text).unwrap();
    let errors = schema::validate(schema::schema("report.schema.json").unwrap(), &report);
    assert!(
        errors.is_empty(),
        "report.json breaks its schema: {errors:#?}"
    );
    Run {
        exit: o.status.code().unwrap_or(-1),
        stderr: format!("{stdout}\n{stderr}"),
        report,
        out,
    }
}

/// The hostile adapter command for `mode`, with the attack's argument.
fn hostile(mode: &str, arg: Option<&str>) -> String {
    let script = workspace().join("conformance/tests/adapters/hostile/hostile.py");
    let mut cmd = format!(
        "python3 {} {mode} {}",
        script.display(),
        reference_bin().display()
    );
    if let Some(a) = arg {
        cmd.push_str(&format!(" {a}"));
    }
    cmd
}

#[test]
fn the_adapter_gets_a_private_read_only_copy_and_tampering_reaches_no_other_vector() {
    let vectors = vectors_copy();
    let before = aigc_conformance::vector::tree_sha256(vectors.path());
    for isolation in ["none", "bwrap"] {
        if isolation == "bwrap" && !bwrap_or_skip("private copy under bwrap") {
            continue;
        }
        let r = run_with(
            vectors.path(),
            &hostile("tamper-input", None),
            &[FILTER, "--process-per-request", "--isolation", isolation],
        );
        // The request names a copy in the scratch folder, under a neutral name.
        let input = r.vector(READ_TARGET)["request"]["input"].as_str().unwrap();
        assert!(
            input.starts_with("$SCRATCH/") && input.ends_with("/input.png"),
            "{input}"
        );
        // Whatever happened to its own copy, no other vector saw it, and the tree is intact.
        r.others_pass(&[READ_TARGET, LABEL_TARGET]);
        assert_ne!(r.exit, 2, "{}", r.stderr);
        if isolation == "bwrap" {
            // Read-only inside the sandbox: the attack failed and the answer was honest.
            assert_eq!(r.outcome(READ_TARGET), "pass", "{}", r.stderr);
            assert_eq!(r.outcome(LABEL_TARGET), "pass", "{}", r.stderr);
        }
    }
    assert_eq!(
        aigc_conformance::vector::tree_sha256(vectors.path()),
        before
    );
}

#[test]
fn a_rewritten_manifest_is_a_harness_error_naming_the_file_and_the_report_keeps_the_old_hash() {
    let vectors = vectors_copy();
    let before = aigc_conformance::vector::tree_sha256(vectors.path());
    let manifest = vectors.path().join("implicit/png/basic.yaml");
    let r = run_with(
        vectors.path(),
        &hostile("tamper-manifest", Some(manifest.to_str().unwrap())),
        &[FILTER, "--isolation", "none"],
    );
    assert_eq!(r.exit, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("modified implicit/png/basic.yaml"),
        "{}",
        r.stderr
    );
    assert_eq!(r.report["suite"]["vectors_sha256"], before.as_str());
    // The request that did it is caught by the watch of its input's folder; every pass of the
    // run is void.
    assert_eq!(r.outcome(READ_TARGET), "wrote-outside");
    // Another vector of the same folder that ran at the same moment (--jobs 2) sees the write
    // too; either way, nothing of this run passes.
    for v in r.report["vectors"].as_array().unwrap() {
        assert!(
            matches!(
                v["outcome"].as_str(),
                Some("harness-error" | "wrote-outside")
            ),
            "{}: {} in a run whose vectors changed",
            v["id"],
            v["outcome"]
        );
    }
}

#[test]
fn under_bwrap_the_vectors_the_network_and_the_disk_are_out_of_reach() {
    if !bwrap_or_skip("bwrap containment") {
        return;
    }
    let vectors = vectors_copy();
    let manifest = vectors.path().join("implicit/png/basic.yaml");
    // Reading the public expectations.
    let r = run_with(
        vectors.path(),
        &hostile("read-vectors", Some(manifest.to_str().unwrap())),
        &[FILTER, "--isolation", "bwrap"],
    );
    assert_eq!(r.report["adapter"]["isolation"], "bwrap");
    assert_eq!(r.outcome(READ_TARGET), "crash", "{}", r.stderr);
    assert!(r.vector(READ_TARGET)["stderr"]
        .as_str()
        .unwrap()
        .contains("No such file"));
    r.others_pass(&[READ_TARGET, LABEL_TARGET]);
    // Without the sandbox the same lookup works (the adapter answers from the manifest): the
    // sandbox is what stops it.
    let r = run_with(
        vectors.path(),
        &hostile("read-vectors", Some(manifest.to_str().unwrap())),
        &[FILTER, "--isolation", "none"],
    );
    assert_eq!(r.outcome(READ_TARGET), "fail", "{}", r.stderr);

    // Phoning home.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let r = run_with(
        vectors.path(),
        &hostile("network", Some(&port)),
        &[FILTER, "--isolation", "bwrap"],
    );
    assert_eq!(r.outcome(READ_TARGET), "crash", "{}", r.stderr);
    r.others_pass(&[READ_TARGET, LABEL_TARGET]);
    assert!(
        listener.accept().is_err(),
        "the adapter reached the network"
    );

    // Writing outside the scratch folder.
    let elsewhere = tempfile::tempdir().unwrap();
    let r = run_with(
        vectors.path(),
        &hostile("write-outside", Some(elsewhere.path().to_str().unwrap())),
        &[FILTER, "--isolation", "bwrap"],
    );
    assert_eq!(r.outcome(READ_TARGET), "crash", "{}", r.stderr);
    assert_eq!(r.outcome(LABEL_TARGET), "crash", "{}", r.stderr);
    r.others_pass(&[READ_TARGET, LABEL_TARGET]);
    assert!(!elsewhere.path().join("litter.txt").exists());
}

/// Processes whose command line is `sleep SECONDS`.
fn sleeping(seconds: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read(e.path().join("cmdline"))
                .map(|c| c == format!("sleep\0{seconds}\0").as_bytes())
                .unwrap_or(false)
        })
        .count()
}

#[test]
fn a_daemon_left_behind_is_its_own_outcome_and_does_not_outlive_the_request() {
    let vectors = vectors_copy();
    for (i, isolation) in ["none", "bwrap"].into_iter().enumerate() {
        if isolation == "bwrap" && !bwrap_or_skip("daemon under bwrap") {
            continue;
        }
        // A duration no other process on the machine uses: the daemon's fingerprint.
        let seconds = format!("{}.{}{i}", 7000 + std::process::id() % 1000, 17);
        let r = run_with(
            vectors.path(),
            &hostile("daemon", Some(&seconds)),
            &[FILTER, "--process-per-request", "--isolation", isolation],
        );
        assert_eq!(
            r.outcome(READ_TARGET),
            "left-running",
            "{isolation}: {}",
            r.stderr
        );
        assert_eq!(r.outcome(LABEL_TARGET), "left-running", "{isolation}");
        r.others_pass(&[READ_TARGET, LABEL_TARGET]);
        assert_eq!(sleeping(&seconds), 0, "{isolation}: the daemon survived");
    }
}

#[test]
fn a_daemon_left_by_a_persistent_worker_is_charged_to_the_request_after_which_it_appeared() {
    let vectors = vectors_copy();
    for (i, isolation) in ["none", "bwrap"].into_iter().enumerate() {
        if isolation == "bwrap" && !bwrap_or_skip("persistent daemon under bwrap") {
            continue;
        }
        // A duration no other process on the machine uses: the daemon's fingerprint.
        let seconds = format!("{}.{}{i}", 7000 + std::process::id() % 1000, 29);
        let r = run_with(
            vectors.path(),
            &hostile("daemon", Some(&seconds)),
            &[FILTER, "--jobs", "1", "--isolation", isolation],
        );
        assert_eq!(r.report["adapter"]["mode"], "persistent", "{isolation}");
        for target in [READ_TARGET, LABEL_TARGET] {
            assert_eq!(
                r.outcome(target),
                "left-running",
                "{isolation}: {}",
                r.stderr
            );
            let message = r.vector(target)["message"].as_str().unwrap_or_default();
            assert!(message.contains("pid "), "{isolation}: {message}");
        }
        // Only the requests that left a daemon: the worker's own processes are not leftovers.
        r.others_pass(&[READ_TARGET, LABEL_TARGET]);
        assert_eq!(sleeping(&seconds), 0, "{isolation}: the daemon survived");
    }
}

#[test]
fn duplicate_keys_are_a_protocol_violation() {
    let vectors = vectors_copy();
    for mode in [&["--process-per-request"][..], &[][..]] {
        let mut args = vec![FILTER, "--isolation", "none"];
        args.extend_from_slice(mode);
        let r = run_with(vectors.path(), &hostile("duplicate-keys", None), &args);
        assert_eq!(r.outcome(READ_TARGET), "protocol-violation", "{}", r.stderr);
        assert!(r.vector(READ_TARGET)["message"]
            .as_str()
            .unwrap()
            .contains("duplicate key \"status\""));
        r.others_pass(&[READ_TARGET, LABEL_TARGET]);
    }
}

#[test]
fn an_extra_line_in_persistent_mode_is_caught_by_the_request_id() {
    let vectors = vectors_copy();
    let r = run_with(
        vectors.path(),
        &hostile("extra-line", None),
        &[FILTER, "--jobs", "1", "--isolation", "none"],
    );
    assert_eq!(r.report["adapter"]["mode"], "persistent");
    let violations: Vec<&Value> = r.report["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["outcome"] == "protocol-violation")
        .collect();
    // The extra line was caught as the answer to the next request (wrong id); the worker was
    // replaced and every later answer is matched again.
    assert_eq!(violations.len(), 2, "{:#?}", r.report["counts"]);
    for v in &violations {
        assert!(v["message"].as_str().unwrap().contains("id"), "{v:#}");
    }
    let bad: Vec<&str> = violations
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    let mut expected_failures = bad.clone();
    expected_failures.extend([READ_TARGET, LABEL_TARGET]);
    r.others_pass(&expected_failures);
    // Answers carry no id in the report: it is transport, checked and dropped.
    assert!(r.vector(READ_TARGET)["response"].get("id").is_none());
}

#[test]
fn a_symlink_at_output_is_never_followed() {
    let vectors = vectors_copy();
    let r = run_with(
        vectors.path(),
        &hostile("symlink-output", None),
        &[FILTER, "--isolation", "none"],
    );
    assert_eq!(
        r.outcome(LABEL_TARGET),
        "protocol-violation",
        "{}",
        r.stderr
    );
    assert!(r.vector(LABEL_TARGET)["message"]
        .as_str()
        .unwrap()
        .contains("symbolic link"));
    r.others_pass(&[LABEL_TARGET]);
}

/// The lines of a Markdown text outside fenced code blocks (what a renderer shows as text).
fn outside_fences(md: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut fence: Option<usize> = None;
    for line in md.lines() {
        let ticks = line.chars().take_while(|&c| c == '`').count();
        match fence {
            None if ticks >= 3 => fence = Some(ticks),
            Some(n) if ticks >= n && line.trim_end().chars().all(|c| c == '`') => fence = None,
            None => out.push(line),
            Some(_) => {}
        }
    }
    out
}

#[test]
fn adapter_text_cannot_forge_the_reports() {
    let vectors = vectors_copy();
    let r = run_with(
        vectors.path(),
        &hostile("forge-report", None),
        &[FILTER, "--isolation", "none"],
    );
    assert_eq!(r.report["overall"], "non-conformant");
    let md = r.file("report.md");
    // The stderr really is in the report, inside a fence it cannot close.
    assert!(md.contains("**Verdict: 符合 / conformant**"), "{md}");
    let shown = outside_fences(&md);
    assert!(
        shown
            .iter()
            .any(|l| l.starts_with("**Verdict: 不符合 / non-conformant")),
        "{md}"
    );
    for line in &shown {
        assert!(
            !line.trim_start().starts_with("**Verdict: 符合"),
            "forged verdict line outside a code block: {line}\n{md}"
        );
        assert!(!line.starts_with("# Forged"), "{line}");
    }
    // Inside a code block, markup is shown as text; outside, none may appear raw.
    let md_text = shown.join("\n");
    let html = r.file("report.html");
    assert!(
        !md.contains('\u{1b}') && !md.contains('\0'),
        "control bytes in report.md"
    );
    for (name, text) in [("report.md", &md_text), ("report.html", &html)] {
        assert!(!text.contains("<b>x"), "{name}: raw HTML from info");
        assert!(!text.contains("<script>"), "{name}: raw HTML from stderr");
        assert!(!text.contains('\u{1b}'), "{name}: an ESC byte");
        assert!(!text.contains('\0'), "{name}: a NUL byte");
    }
}

#[test]
fn a_giant_sparse_output_is_refused_unread_and_a_huge_answer_is_stored_cut() {
    let vectors = vectors_copy();
    let r = run_with(
        vectors.path(),
        &hostile("giant-output", None),
        &[FILTER, "--isolation", "none"],
    );
    assert_eq!(r.outcome(LABEL_TARGET), "output-too-large", "{}", r.stderr);
    assert!(r.vector(LABEL_TARGET)["message"]
        .as_str()
        .unwrap()
        .contains("107374182400 bytes"));
    r.others_pass(&[LABEL_TARGET]);

    let r = run_with(
        vectors.path(),
        &hostile("huge-answer", None),
        &[FILTER, "--isolation", "none"],
    );
    assert_eq!(r.outcome(READ_TARGET), "fail", "{}", r.stderr);
    let v = r.vector(READ_TARGET);
    let cap = r.report["limits"]["evidence_cap_bytes"].as_u64().unwrap() as usize;
    for key in ["response", "actual"] {
        let stored = serde_json::to_string(&v[key]).unwrap();
        assert!(
            stored.len() < 2 * cap,
            "{key}: {} bytes stored",
            stored.len()
        );
        assert!(stored.contains("cut by the harness"), "{key}");
    }
    assert!(v["diff"].as_str().unwrap().len() < 4 * cap);
    let report_len = std::fs::metadata(r.out.path().join("report.json"))
        .unwrap()
        .len();
    assert!(report_len < 1 << 20, "report.json is {report_len} bytes");
}

#[test]
fn an_adapter_that_cannot_answer_info_still_gets_its_reports_and_exit_2() {
    let vectors = vectors_copy();
    let r = run_with(
        vectors.path(),
        &hostile("bad-info", None),
        &[FILTER, "--isolation", "none"],
    );
    assert_eq!(r.exit, 2, "{}", r.stderr);
    let evidence = r.report["cannot_be_tested"].as_str().unwrap();
    assert!(evidence.contains("garbage"), "{evidence}");
    assert!(
        evidence.contains("bad-info: no idea who I am"),
        "{evidence}"
    );
    for v in r.report["vectors"].as_array().unwrap() {
        assert_eq!(v["outcome"], "harness-error", "{v:#}");
    }
    let md = r.file("report.md");
    assert!(
        md.contains("**Verdict: 无法测试 / cannot be tested**"),
        "{md}"
    );
    assert!(!md.contains("**Verdict: 符合"), "{md}");
    assert!(r.file("report.html").contains("cannot be tested"));
}

#[test]
fn run_list_needs_no_reference_binary() {
    let o = Command::new(env!("CARGO_BIN_EXE_aigc-conform"))
        .args(["run", "--list", FILTER])
        .env("AIGC_LABEL", "/nonexistent/aigc-label")
        .env("PATH", "/usr/bin:/bin")
        .current_dir(workspace())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains(READ_TARGET), "{stdout}");
}

/// `text` without the lines that carry times (the provenance's Time row, per-vector durations)
/// or the run's unique report id (a certification record names each run once).
fn without_times(text: &str) -> String {
    text.lines()
        .filter(|l| {
            !l.contains("Time")
                && !l.contains("time=\"")
                && !l.contains("timestamp=")
                && !l.contains("Report id")
        })
        .map(|l| {
            // The Markdown "All vectors" table ends each row with the milliseconds.
            match l.strip_suffix(" |").and_then(|r| r.rsplit_once(" | ")) {
                Some((head, ms)) if ms.chars().all(|c| c.is_ascii_digit()) => head.to_string(),
                _ => l.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn two_runs_of_the_reference_give_the_same_reports_apart_from_times() {
    let vectors = workspace().join("vectors");
    let reference = format!("{} adapter", reference_bin().display());
    let runs: Vec<Run> = (0..2)
        .map(|_| run_with(&vectors, &reference, &["png"]))
        .collect();
    for r in &runs {
        assert_eq!(r.exit, 0, "{}", r.stderr);
    }
    let mut json: Vec<Value> = runs.iter().map(|r| r.report.clone()).collect();
    for j in &mut json {
        for k in ["started", "finished", "duration_s"] {
            j[k] = Value::Null;
        }
        // Unique per run by design (the certification record's id), like the times.
        j["certification"]["report_id"] = Value::Null;
        for v in j["vectors"].as_array_mut().unwrap() {
            v["duration_ms"] = Value::Null;
        }
        // No per-run scratch folder leaks into the report.
        let text = j.to_string();
        assert!(
            !text.contains("aigc-conform-"),
            "a scratch path in the report"
        );
    }
    assert_eq!(json[0], json[1]);
    for name in ["report.md", "report.html", "junit.xml"] {
        let (a, b) = (runs[0].file(name), runs[1].file(name));
        assert_eq!(without_times(&a), without_times(&b), "{name}");
    }
}

#[test]
fn a_killed_run_leaves_its_scratch_folder_and_the_next_run_removes_it() {
    use std::time::{Duration, Instant};
    let tmp = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let vectors = workspace().join("vectors");
    let scratch_folders = || -> Vec<PathBuf> {
        std::fs::read_dir(tmp.path())
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("aigc-conform-"))
            })
            .collect()
    };
    // The attack: the harness is SIGKILLed while an adapter that never answers holds it in
    // `info` (its scratch folder exists by then).
    let mut child = Command::new(env!("CARGO_BIN_EXE_aigc-conform"))
        .args(["run", "-q", "--timeout", "120", "--out"])
        .arg(out.path())
        .arg("--vectors")
        .arg(&vectors)
        .args(["--adapter", "sleep 60", FILTER])
        .env("TMPDIR", tmp.path())
        .current_dir(workspace())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let left = loop {
        let found = scratch_folders();
        if !found.is_empty() {
            break found;
        }
        // A safety net, not a measurement.
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no scratch folder"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(left.iter().all(|p| p.is_dir()), "{left:?}");
    // A folder of a live run (this test's own pid) must survive the cleanup.
    let live = tmp
        .path()
        .join(format!("aigc-conform-{}-1", std::process::id()));
    std::fs::create_dir(&live).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_aigc-conform"))
        .args(["run", "-q", "--timeout", "120", "--out"])
        .arg(out.path())
        .arg("--vectors")
        .arg(&vectors)
        .arg("--adapter")
        .arg(format!("{} adapter", reference_bin().display()))
        .args(["--exact", READ_TARGET])
        .env("TMPDIR", tmp.path())
        .env("AIGC_LABEL", reference_bin())
        .current_dir(workspace())
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for p in &left {
        assert!(!p.exists(), "{} was left behind", p.display());
    }
    assert!(live.is_dir(), "a live run's folder was removed");
}

/// Processes whose command line contains `needle` (the marker of a test's tools).
fn with_marker(needle: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            text.contains(needle).then_some(text)
        })
        .collect()
}

#[test]
fn an_oracle_tool_that_hangs_is_stopped_at_the_limit_and_nothing_it_started_survives() {
    let vectors = vectors_copy();
    // A short oracle limit for this run (the check's tool never ends by itself).
    let profile = vectors.path().join("profile.yaml");
    let text = std::fs::read_to_string(&profile).unwrap();
    assert!(text.contains("oracle_timeout_s: 120"));
    std::fs::write(
        &profile,
        text.replace("oracle_timeout_s: 120", "oracle_timeout_s: 3"),
    )
    .unwrap();
    // An ffmpeg that hangs, with a child of its own: both carry the marker in their argv.
    let marker = format!("{}.{}", 7000 + std::process::id() % 1000, 41);
    let shims = tempfile::tempdir().unwrap();
    let ffmpeg = shims.path().join("ffmpeg");
    std::fs::write(
        &ffmpeg,
        // Only the oracle's packet comparison hangs; any other use (version probes) is real.
        format!(
            "#!/bin/sh\ncase \"$*\" in *framemd5*) sleep {marker} & exec sleep {marker} ;; esac\nexec {} \"$@\"\n",
            aigc_conformance::adapter::resolve_program("ffmpeg")
                .expect("ffmpeg is installed")
                .display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&ffmpeg, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        shims.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = tempfile::tempdir().unwrap();
    // The reference labels an MP4 without ffmpeg; the oracle compares its packets with ffmpeg.
    let target = "fmt-label-plain-mp4";
    let o = Command::new(env!("CARGO_BIN_EXE_aigc-conform"))
        .args(["run", "-q", "--out", out.path().to_str().unwrap()])
        .args(["--vectors", vectors.path().to_str().unwrap()])
        .args(["--timeout", "120", "--isolation", "none", target])
        .env("AIGC_LABEL", reference_bin())
        .env("PATH", &path)
        .current_dir(workspace())
        .output()
        .unwrap();
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("report.json"))
            .unwrap_or_else(|e| panic!("no report ({e}): {}", String::from_utf8_lossy(&o.stderr))),
    )
    .unwrap();
    let v = report["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == target)
        .expect("the target vector ran");
    let findings = v["findings"].to_string();
    assert_eq!(v["outcome"], "fail", "{v:#}");
    assert!(
        findings.contains("ffmpeg on ")
            && findings.contains("harness.oracle_timeout_s")
            && findings.contains("process group killed"),
        "the finding names the tool, the file and the limit: {findings}"
    );
    let left = with_marker(&marker);
    assert!(
        left.is_empty(),
        "the hung tool's processes survived: {left:?}"
    );
}
