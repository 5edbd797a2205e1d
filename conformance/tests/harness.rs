//! End-to-end tests of `aigc-conform`: the reference and the example adapters over the vectors,
//! deliberately broken adapters, waivers, lint, and the report files.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use aigc_conformance::schema;

use crate::common::reference_bin;

fn workspace() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::canonicalize(&p).unwrap_or(p)
}

struct Run {
    exit: i32,
    stdout: String,
    stderr: String,
    report: Value,
    out: tempfile::TempDir,
}

fn conform(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_aigc-conform"))
        .args(args)
        .env("AIGC_LABEL", reference_bin())
        .current_dir(workspace())
        .output()
        .expect("run aigc-conform");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `aigc-conform run` with a generous timeout: the profile's 10 s per request is a
/// certification limit, and on a loaded CI machine an ordinary request can take longer, so tests
/// use a safety net unless the timeout is what they test (then they pass their own).
fn run_suite(extra: &[&str]) -> Run {
    let mut args = extra.to_vec();
    if !extra.contains(&"--timeout") {
        args.extend_from_slice(&["--timeout", "120"]);
    }
    run_suite_as_given(&args)
}

/// `aigc-conform run` with exactly these arguments (the snapshot records the limits in force
/// and the reproduce command, so it runs with the profile's own).
fn run_suite_as_given(extra: &[&str]) -> Run {
    let out = tempfile::tempdir().unwrap();
    let mut args = vec!["run", "-q", "--out", out.path().to_str().unwrap()];
    args.extend_from_slice(extra);
    let (exit, stdout, stderr) = conform(&args);
    let text = std::fs::read_to_string(out.path().join("report.json"))
        .unwrap_or_else(|e| panic!("no report ({e}); exit {exit}\n{stdout}\n{stderr}"));
    let report: Value = serde_json::from_str(&text).unwrap();
    let errors = schema::validate(schema::schema("report.schema.json").unwrap(), &report);
    assert!(
        errors.is_empty(),
        "report.json breaks its schema: {errors:#?}"
    );
    Run {
        exit,
        stdout,
        stderr,
        report,
        out,
    }
}

/// A private copy of the vectors (adapters under test may write next to the inputs).
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

fn outcome_of<'a>(report: &'a Value, id: &str) -> &'a str {
    report["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == id)
        .and_then(|v| v["outcome"].as_str())
        .unwrap_or_else(|| panic!("vector {id} missing from the report"))
}

fn vector_count() -> usize {
    let (suite, errors) = aigc_conformance::vector::Suite::load(&workspace().join("vectors"));
    assert!(errors.is_empty(), "{errors:?}");
    suite.vectors.len()
}

#[test]
fn reference_is_conformant_in_both_modes() {
    for mode in [&[][..], &["--process-per-request"][..]] {
        let t = Instant::now();
        let r = run_suite(mode);
        let elapsed = t.elapsed();
        assert_eq!(r.exit, 0, "{}\n{}", r.stdout, r.stderr);
        assert_eq!(r.report["overall"], "conformant");
        assert!(r.stdout.contains("test result: ok."), "{}", r.stdout);
        let n = r.report["vectors"].as_array().unwrap().len();
        assert_eq!(n, vector_count());
        eprintln!(
            "reference, {}: {n} vectors in {:.2} s wall ({:.1} ms per vector)",
            r.report["adapter"]["mode"],
            elapsed.as_secs_f64(),
            elapsed.as_secs_f64() * 1000.0 / n as f64
        );
        // Every request the harness sent is valid under the published request schema.
        for v in r.report["vectors"].as_array().unwrap() {
            let name = format!("request.{}.schema.json", v["op"].as_str().unwrap());
            let errors = schema::validate(schema::schema(&name).unwrap(), &v["request"]);
            assert!(errors.is_empty(), "{}: {errors:?}", v["id"]);
        }
    }
}

/// Run the broken adapter in `mode` over the vectors whose id contains `filter` (the read or
/// the label vectors: enough to show the run goes on, half the process starts).
fn broken(mode: &str, filter: &str, extra: &[&str]) -> (Run, tempfile::TempDir) {
    let vectors = vectors_copy();
    let script = workspace().join("conformance/tests/adapters/broken.py");
    let adapter = format!("python3 {} {mode}", script.display());
    let mut args = vec![
        filter,
        "--vectors",
        vectors.path().to_str().unwrap(),
        // A safety net, not the thing measured: only the `hang` mode waits for it.
        "--timeout",
        "10",
        "--adapter",
        &adapter,
    ];
    args.extend_from_slice(extra);
    let r = run_suite(&args);
    // The run went on: every selected vector is in the report, and the run ended with a verdict.
    let n = r.report["vectors"].as_array().unwrap().len();
    assert!(n > 1 && n == r.report["selection"]["selected"], "{mode}");
    assert_eq!(r.exit, 1, "{mode}: {}\n{}", r.stdout, r.stderr);
    assert_eq!(r.report["overall"], "non-conformant");
    (r, vectors)
}

const READ_TARGET: &str = "implicit-png-read-xmp-valid";
const LABEL_TARGET: &str = "implicit-png-label-plain";

#[test]
fn crash_is_reported_as_crash_with_stderr() {
    let (r, _v) = broken("crash", "png-read", &[]);
    assert_eq!(outcome_of(&r.report, READ_TARGET), "crash");
    let v = r.report["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == READ_TARGET)
        .unwrap();
    assert!(v["stderr"]
        .as_str()
        .unwrap()
        .contains("crashing on purpose"));
    assert!(v["reproduce"]
        .as_str()
        .unwrap()
        .ends_with(&format!("--exact {READ_TARGET}")));
    // A rejection is not confused with a crash: the truncated vector accepts `error`.
    assert_eq!(outcome_of(&r.report, "implicit-png-read-truncated"), "pass");
}

#[test]
fn death_by_signal_is_a_crash() {
    let (r, _v) = broken("segv", "png-read", &[]);
    assert_eq!(outcome_of(&r.report, READ_TARGET), "crash");
}

#[test]
fn hang_is_a_timeout_and_the_group_is_killed() {
    let t = Instant::now();
    let (r, _v) = broken("hang", "png-read", &[]);
    assert_eq!(outcome_of(&r.report, READ_TARGET), "timeout");
    // The adapter's hour-long sleep was killed at the 10 s timeout, not waited for: the bound is
    // far from both (180 times the timeout, half the sleep), so no slowness of the machine
    // decides it.
    assert!(t.elapsed().as_secs() < 1800, "{:?}", t.elapsed());
}

#[test]
fn garbage_stdout_is_garbage() {
    let (r, _v) = broken("garbage", "png-read", &[]);
    assert_eq!(outcome_of(&r.report, READ_TARGET), "garbage");
}

#[test]
fn schema_violation_is_a_protocol_violation() {
    let (r, _v) = broken("invalid-schema", "png-read", &[]);
    assert_eq!(outcome_of(&r.report, READ_TARGET), "protocol-violation");
}

/// `labels[].problems` (protocol v1, optional) is a list of problem codes: a string or a list
/// of numbers is a protocol violation, never a reader that reported nothing. The control, the
/// same answer with an empty list, passes.
#[test]
fn problems_that_are_not_a_list_of_codes_are_a_protocol_violation() {
    for mode in ["problems-not-a-list", "problems-not-strings"] {
        let (r, _v) = broken(mode, "png-read", &[]);
        assert_eq!(
            outcome_of(&r.report, READ_TARGET),
            "protocol-violation",
            "{mode}"
        );
    }
    let (r, _v) = broken("problems-a-list", "png-read", &[]);
    assert_eq!(outcome_of(&r.report, READ_TARGET), "pass");
}

#[test]
fn huge_stdout_is_capped() {
    let (r, _v) = broken("huge", "png-read", &[]);
    assert_eq!(outcome_of(&r.report, READ_TARGET), "output-too-large");
}

#[test]
fn wrong_label_fails_with_a_diff() {
    let (r, _v) = broken("wrong-label", "png-label", &[]);
    assert_eq!(outcome_of(&r.report, LABEL_TARGET), "fail");
    let v = r.report["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == LABEL_TARGET)
        .unwrap();
    let diff = v["diff"].as_str().unwrap();
    assert!(
        diff.contains("-      \"ProduceID\": \"20250901-0101\""),
        "{diff}"
    );
    assert!(
        diff.contains("+      \"ProduceID\": \"20250901-0001\""),
        "{diff}"
    );
}

#[test]
fn missing_output_is_its_own_outcome() {
    let (r, _v) = broken("missing-output", "png-label", &[]);
    assert_eq!(outcome_of(&r.report, LABEL_TARGET), "output-missing");
}

#[test]
fn writing_outside_the_scratch_folder_is_detected() {
    // One job: with parallel requests a stray file cannot be attributed to one vector. No
    // sandbox: under bubblewrap the write cannot happen at all (tests/hostile.rs); here the
    // adapter is told where the input's original folder is and the watch must catch it.
    let vectors = vectors_copy();
    let png = vectors.path().join("implicit/png");
    let script = workspace().join("conformance/tests/adapters/broken.py");
    let adapter = format!(
        "python3 {} writes-outside {}",
        script.display(),
        png.display()
    );
    let r = run_suite(&[
        "png-label",
        "--vectors",
        vectors.path().to_str().unwrap(),
        "--adapter",
        &adapter,
        "--jobs",
        "1",
        "--isolation",
        "none",
    ]);
    assert_eq!(outcome_of(&r.report, LABEL_TARGET), "wrote-outside");
    assert_eq!(
        outcome_of(&r.report, "implicit-png-label-overwrite"),
        "fail"
    );
    // The stray file is named in the finding.
    assert!(r.report.to_string().contains("stray-output.png"));
}

#[test]
fn persistent_adapter_is_restarted_after_a_crash() {
    let (r, _v) = broken("crash persistent", "png-read", &[]);
    assert_eq!(r.report["adapter"]["mode"], "persistent");
    assert_eq!(outcome_of(&r.report, READ_TARGET), "crash");
    // The requests after the crash were answered by a fresh worker.
    assert_eq!(outcome_of(&r.report, "implicit-png-read-truncated"), "pass");
    let (r, _v) = broken("hang persistent", "png-read", &[]);
    assert_eq!(outcome_of(&r.report, READ_TARGET), "timeout");
}

#[test]
fn waivers_expected_failures_expiry_and_unexpected_passes() {
    let vectors = vectors_copy();
    let waivers = vectors.path().join("../waivers.yaml");
    std::fs::write(
        &waivers,
        format!(
            "waivers:\n  - id: {READ_TARGET}\n    reason: \"known crash, fix in 2.1\"\n    approved_by: \"QA lead\"\n    expires: 2999-12-31\n  - id: implicit-png-read-unlabeled\n    reason: old\n    approved_by: someone\n    expires: 2000-01-01\n  - id: implicit-png-read-truncated\n    reason: \"flaky\"\n    approved_by: \"QA lead\"\n    expires: 2999-12-31\n"
        ),
    )
    .unwrap();
    let script = workspace().join("conformance/tests/adapters/broken.py");
    let adapter = format!("python3 {} crash", script.display());
    let r = run_suite(&[
        "--vectors",
        vectors.path().to_str().unwrap(),
        "--adapter",
        &adapter,
        "--waivers",
        waivers.to_str().unwrap(),
    ]);
    let find = |id: &str| {
        r.report["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(find(READ_TARGET)["outcome"], "crash");
    assert_eq!(find(READ_TARGET)["waiver"]["approved_by"], "QA lead");
    // The expired waiver is ignored with a warning.
    assert!(find("implicit-png-read-unlabeled")["waiver"].is_null());
    assert!(r.stderr.contains("expired on 2000-01-01"), "{}", r.stderr);
    // The waived vector that passes is flagged.
    assert_eq!(find("implicit-png-read-truncated")["unexpected_pass"], true);
    let warnings = r.report["warnings"].to_string();
    assert!(warnings.contains("unexpected pass"), "{warnings}");
}

#[test]
fn not_applicable_vectors_are_listed_not_dropped() {
    let vectors = vectors_copy();
    let adapter = workspace().join("conformance/tests/adapters/reader-only.sh");
    let r = run_suite(&[
        "--vectors",
        vectors.path().to_str().unwrap(),
        "--adapter",
        adapter.to_str().unwrap(),
    ]);
    assert_eq!(outcome_of(&r.report, LABEL_TARGET), "not-applicable");
    assert_eq!(
        r.report["vectors"].as_array().unwrap().len(),
        vector_count()
    );
    assert!(r.stdout.contains("ignored"), "{}", r.stdout);
}

#[test]
fn filter_exact_and_list() {
    let (exit, stdout, _) = conform(&["run", "--list"]);
    assert_eq!(exit, 0);
    assert!(
        stdout.contains("[read] implicit-png-read-conflict: test"),
        "{stdout}"
    );
    let out = tempfile::tempdir().unwrap();
    let (exit, stdout, stderr) = conform(&[
        "run",
        "--exact",
        "implicit-png-read-conflict",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(exit, 0, "{stderr}");
    assert!(stdout.contains("1 passed"), "{stdout}");
    assert!(stdout.contains("filtered out"), "{stdout}");
}

#[test]
fn example_adapters_fail_exactly_their_explained_failures() {
    // Each example adapter's known failures are listed, each with its reason, in
    // adapters/<name>/expected-failures.yaml (used as the waiver file). A new failure or a fixed
    // one (an unexpected pass) makes this test fail, so the explanations stay true.
    let mut adapters = vec!["python"];
    if Command::new("exiftool").arg("-ver").output().is_ok() {
        adapters.push("exiftool");
    } else {
        panic!("exiftool is missing: install libimage-exiftool-perl (scripts/install-deps.sh)");
    }
    for name in adapters {
        let dir = workspace().join("conformance/adapters").join(name);
        let waivers = dir.join("expected-failures.yaml");
        let r = run_suite(&[
            "--adapter",
            &format!("python3 {}", dir.join("adapter.py").display()),
            "--waivers",
            waivers.to_str().unwrap(),
            // A generous safety net: no expected failure relies on it (the ExifTool adapter stops
            // the XMP nesting bomb with its own CPU bound), and ordinary ExifTool calls can take
            // seconds on a loaded machine.
            "--timeout",
            "120",
        ]);
        let listed: std::collections::BTreeSet<String> = std::fs::read_to_string(&waivers)
            .unwrap()
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- id: ").map(str::to_string))
            .collect();
        let failed: std::collections::BTreeSet<String> = r.report["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| !matches!(v["outcome"].as_str(), Some("pass") | Some("not-applicable")))
            .map(|v| v["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            failed,
            listed,
            "{name}: failures differ from {}\n{}",
            waivers.display(),
            r.stdout
        );
        assert_ne!(
            r.report["overall"], "non-conformant",
            "{name}: {}",
            r.stdout
        );
    }
}

#[test]
fn lint_names_file_and_line() {
    let (exit, _, stderr) = conform(&["lint"]);
    assert_eq!(exit, 0, "{stderr}");
    let vectors = vectors_copy();
    let manifest = vectors.path().join("implicit/png/basic.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let dup_line = 1 + text
        .lines()
        .position(|l| l.contains("id: implicit-png-read-conflict"))
        .unwrap();
    let text = text
        .replace("requirements: [E-a]", "requirements: [E-zz]")
        .replace("input: truncated.png", "input: nowhere.png")
        .replace(
            "id: implicit-png-read-conflict",
            "id: implicit-png-read-unlabeled",
        );
    std::fs::write(&manifest, text).unwrap();
    let (exit, _, stderr) = conform(&["lint", "--vectors", vectors.path().to_str().unwrap()]);
    assert_eq!(exit, 1);
    assert!(stderr.contains("unknown requirement id E-zz"), "{stderr}");
    assert!(stderr.contains("nowhere.png does not exist"), "{stderr}");
    let want = format!("implicit/png/basic.yaml:{dup_line}: implicit-png-read-unlabeled: duplicate vector id (first at implicit/png/basic.yaml:4)");
    assert!(stderr.contains(&want), "{stderr}");
    // A typo in a key is refused with its location.
    std::fs::write(
        &manifest,
        "vectors:\n  - id: a\n    requirements: [E-c]\n    class: positive\n    provenance: p\n    description: d\n    op: read\n    input: plain.png\n    expct: {}\n",
    )
    .unwrap();
    let (exit, _, stderr) = conform(&["lint", "--vectors", vectors.path().to_str().unwrap()]);
    assert_eq!(exit, 1);
    assert!(stderr.contains("expct"), "{stderr}");
}

/// Well-formedness of the HTML and XML we write: every non-void tag closed in order.
fn check_balanced(html: &str) {
    const VOID: &[&str] = &["meta", "br", "!DOCTYPE", "!doctype"];
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find('>').expect("unterminated tag");
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '/')
            .collect();
        if VOID.contains(&name.as_str()) || tag.ends_with('/') || tag.starts_with('?') {
            continue;
        }
        if tag.starts_with('/') {
            assert_eq!(
                stack.pop().as_deref(),
                Some(name.as_str()),
                "mismatched </{name}>"
            );
        } else {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
}

#[test]
fn html_report_is_self_contained_and_renders() {
    let script = workspace().join("conformance/tests/adapters/broken.py");
    let vectors = vectors_copy();
    let r = run_suite(&[
        "--vectors",
        vectors.path().to_str().unwrap(),
        "--adapter",
        &format!("python3 {} wrong-label", script.display()),
    ]);
    let html = std::fs::read_to_string(r.out.path().join("report.html")).unwrap();
    check_balanced(&html);
    for banned in ["<script", "<link", "src=", "url(", "@import"] {
        assert!(!html.contains(banned), "report.html contains {banned}");
    }
    assert!(html.contains("文件元数据隐式标识应符合附录E的格式"));
    assert!(html.contains("The file-metadata label follows the format of Annex E."));
    assert!(html.contains("--exact implicit-png-label-plain"));
    let junit = std::fs::read_to_string(r.out.path().join("junit.xml")).unwrap();
    assert!(junit.starts_with("<?xml"));
    check_balanced(&junit);
    assert!(
        junit.contains("<failure message=\"output field ProduceID: expected"),
        "{junit}"
    );
    // The page must render offline in a real browser (scripts/install-deps.sh installs Debian's
    // chromium): a screenshot that is not blank.
    let chromium = Path::new("/usr/bin/chromium");
    assert!(
        chromium.exists(),
        "headless Chromium is missing: install Debian's chromium (scripts/install-deps.sh)"
    );
    let shot = r.out.path().join("shot.png");
    let profile = tempfile::tempdir().unwrap();
    let status = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1200,1600",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!(
            "file://{}",
            r.out.path().join("report.html").display()
        ))
        .output()
        .unwrap();
    assert!(
        status.status.success() && shot.exists(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let img = image::open(&shot).unwrap().to_rgb8();
    let first = *img.get_pixel(0, 0);
    let differing = img.pixels().filter(|p| **p != first).count();
    assert!(
        differing > 10_000,
        "the rendered report looks blank ({differing} non-background pixels)"
    );
}

/// Replace what changes from run to run (times, hashes, paths, machine) in a report.
fn redact(report: &mut Value, out: &Path, vectors: &Path, script: &Path) {
    let text = report.to_string();
    let text = text
        .replace(&script.display().to_string(), "[script]")
        .replace(&vectors.display().to_string(), "[vectors]")
        .replace(&out.display().to_string(), "[out]");
    *report = serde_json::from_str(&text).unwrap();
    for v in report["vectors"].as_array_mut().unwrap() {
        v["duration_ms"] = 0.into();
        v["stderr"] = "[stderr]".into();
        if let Some(req) = v["request"].as_object_mut() {
            for k in ["input", "output"] {
                if req.contains_key(k) {
                    req.insert(k.into(), "[path]".into());
                }
            }
        }
    }
}

/// A fixed vector tree for the snapshots: the fixture's catalogue and manifest, the real profile
/// and PNG inputs (so the snapshot does not change when the real catalogue grows).
fn snapshot_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fixture = workspace().join("conformance/tests/fixtures/snapshot");
    let png = workspace().join("vectors/implicit/png");
    std::fs::create_dir_all(dir.path().join("implicit/png")).unwrap();
    std::fs::copy(
        fixture.join("requirements.yaml"),
        dir.path().join("requirements.yaml"),
    )
    .unwrap();
    std::fs::copy(
        workspace().join("vectors/profile.yaml"),
        dir.path().join("profile.yaml"),
    )
    .unwrap();
    std::fs::copy(
        fixture.join("vectors.yaml"),
        dir.path().join("implicit/png/vectors.yaml"),
    )
    .unwrap();
    for f in ["plain.png", "xmp-valid.png", "truncated.png"] {
        std::fs::copy(png.join(f), dir.path().join("implicit/png").join(f)).unwrap();
    }
    dir
}

#[test]
fn report_snapshots() {
    let vectors = snapshot_tree();
    let script = workspace().join("conformance/tests/adapters/broken.py");
    let adapter = format!("python3 {} wrong-label", script.display());
    let r = run_suite_as_given(&[
        "--vectors",
        vectors.path().to_str().unwrap(),
        "--adapter",
        &adapter,
        "--jobs",
        "1",
        // The same snapshot on a machine with and without bubblewrap.
        "--isolation",
        "none",
    ]);
    let mut report = r.report.clone();
    redact(&mut report, r.out.path(), vectors.path(), &script);
    insta::assert_json_snapshot!("report_json", report, {
        ".started" => "[time]",
        ".finished" => "[time]",
        ".duration_s" => 0,
        ".machine" => "[machine]",
        ".suite.vectors_sha256" => "[sha256]",
        ".profile.sha256" => "[sha256]",
        ".adapter.command" => "[command]",
        ".adapter.executable" => "[path]",
        ".adapter.executable_sha256" => "[sha256]",
        ".adapter.argument_files" => "[files]",
        ".suite.root" => "[vectors]",
        ".suite.files" => "[count]",
        ".certification" => "[certification: random report id, tool versions]",
    });
    // The Markdown view of the same report, with the same redactions applied to its text.
    let md = std::fs::read_to_string(r.out.path().join("report.md")).unwrap();
    let machine = &r.report["machine"];
    let mut md = md
        .replace(&script.display().to_string(), "[script]")
        .replace(&vectors.path().display().to_string(), "[vectors]")
        .replace(r.report["started"].as_str().unwrap(), "[time]")
        .replace(r.report["finished"].as_str().unwrap(), "[time]")
        .replace(machine["hostname"].as_str().unwrap(), "[host]")
        .replace(machine["os"].as_str().unwrap(), "[os]");
    for key in [
        "suite.vectors_sha256",
        "profile.sha256",
        "adapter.executable_sha256",
        "adapter.executable",
    ] {
        let (a, b) = key.split_once('.').unwrap();
        if let Some(s) = r.report[a][b].as_str() {
            md = md.replace(s, "[redacted]");
        }
    }
    let md: String = md
        .lines()
        .map(|l| {
            // Durations and core counts vary.
            if l.starts_with("| Time") || l.starts_with("| Machine") || l.starts_with("| Report id")
            {
                l.split('|').take(2).collect::<Vec<_>>().join("|") + "| [redacted] |"
            } else if l.starts_with("| implicit-") || l.starts_with("| platform-") {
                let cells: Vec<&str> = l.split('|').collect();
                format!("|{}|{}|{}| - |", cells[1], cells[2], cells[3])
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!("report_md", md);
}

#[test]
fn an_adapter_that_cannot_answer_info_is_a_harness_error() {
    let (exit, _, stderr) = conform(&["run", "--adapter", "no-such-program-xyz"]);
    assert_eq!(exit, 2, "{stderr}");
    assert!(stderr.contains("cannot answer info"), "{stderr}");
    let (exit, _, stderr) = conform(&["run", "--adapter", "sh -c 'echo {}'"]);
    assert_eq!(exit, 2, "{stderr}");
    assert!(stderr.contains("protocol violation"), "{stderr}");
}

#[test]
fn reference_adapter_answers_bad_requests_without_crashing() {
    use std::io::Write;
    for (input, status) in [
        ("not json", "error"),
        ("{\"protocol\":1,\"op\":\"propagate\",\"vector\":\"x\"}", "error"),
        ("{\"protocol\":1,\"op\":\"read\",\"vector\":\"x\",\"input\":\"/nonexistent\",\"media\":null}", "error"),
        ("{\"protocol\":1,\"op\":\"read\",\"vector\":\"x\",\"input\":\"/etc/hostname\",\"media\":null}", "rejected"),
        ("{\"protocol\":1,\"op\":\"read\",\"vector\":\"x\",\"input\":\"/etc/hostname\",\"media\":\"model/gltf-binary\"}", "unsupported"),
    ] {
        let mut child = Command::new(reference_bin())
            .arg("adapter")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{input}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["status"], status, "{input}: {v}");
        let op = serde_json::from_str::<Value>(input)
            .ok()
            .and_then(|r| r["op"].as_str().map(String::from))
            .unwrap_or_else(|| "read".into());
        let errors = schema::validate(
            schema::schema(&format!("response.{op}.schema.json")).unwrap(),
            &v,
        );
        assert!(errors.is_empty(), "{input}: {errors:?}");
    }
}

/// `git status --porcelain` of the workspace.
fn git_status() -> String {
    let o = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=all"])
        .current_dir(workspace())
        .output()
        .expect("git status");
    assert!(o.status.success());
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn the_reference_run_leaves_the_checkout_as_it_was() {
    // The README's main job without --out writes reports/latest/, which git ignores; the
    // published reports/reference/ is written only with --stable --out (run-suite.sh --publish).
    let before = git_status();
    let (exit, stdout, stderr) = conform(&["run", "-q", "--timeout", "120", "implicit-png-read"]);
    assert_eq!(exit, 0, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("reports/latest"),
        "the default report folder: {stderr}"
    );
    assert!(workspace().join("reports/latest/report.json").is_file());
    assert_eq!(git_status(), before, "the run changed what git sees");
}

#[test]
fn stable_reports_are_identical_between_runs() {
    // Two runs differ in scratch folder, times, durations and job scheduling; their stable
    // reports must not.
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for (dir, jobs) in [(&a, "1"), (&b, "3")] {
        let out = dir.path().to_str().unwrap();
        let (exit, stdout, stderr) = conform(&[
            "run",
            "-q",
            "--stable",
            "--jobs",
            jobs,
            "--out",
            out,
            "png-label",
        ]);
        assert_eq!(exit, 0, "{stdout}\n{stderr}");
    }
    for name in ["report.json", "report.md", "report.html", "junit.xml"] {
        let x = std::fs::read_to_string(a.path().join(name)).unwrap();
        let y = std::fs::read_to_string(b.path().join(name)).unwrap();
        assert!(x == y, "{name} differs between two stable runs");
        // No per-run or per-checkout path is left.
        assert!(
            !x.contains("aigc-conform-"),
            "{name}: a scratch path is left"
        );
        assert!(
            !x.contains(workspace().to_str().unwrap()),
            "{name}: the checkout path is left"
        );
    }
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(a.path().join("report.json")).unwrap())
            .unwrap();
    let errors = schema::validate(schema::schema("report.schema.json").unwrap(), &report);
    assert!(errors.is_empty(), "{errors:?}");
    // The placeholders are there, so the run did use a scratch folder.
    assert!(report.to_string().contains("$SCRATCH/"), "{report}");
}
