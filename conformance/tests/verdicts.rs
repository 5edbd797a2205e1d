//! How `aigc-conform run` turns results into verdicts and shows them (issues 10 and 18): the
//! claimed scope checked and shown, partial runs that say so in every report, zero selections
//! refused, per-requirement counts, observations for 宜/可, and "not tested" for what the oracle
//! did not measure.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use aigc_conformance::schema;

use crate::common::reference_bin;

fn workspace() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::canonicalize(&p).unwrap_or(p)
}

/// `aigc-conform ARGS` → (exit status, stdout, stderr).
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

struct Run {
    exit: i32,
    stdout: String,
    stderr: String,
    report: Value,
    out: tempfile::TempDir,
}

impl Run {
    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.out.path().join(name)).unwrap()
    }

    fn requirement(&self, id: &str) -> &Value {
        self.report["requirements"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("{id} missing from the report"))
    }

    fn vector(&self, id: &str) -> &Value {
        self.report["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["id"] == id)
            .unwrap_or_else(|| panic!("{id} missing from the report"))
    }
}

/// `aigc-conform run -q --out TMP ARGS` (a generous timeout as a safety net), with the report
/// read back and checked against its schema.
fn run(args: &[&str]) -> Run {
    let out = tempfile::tempdir().unwrap();
    let mut all = vec![
        "run",
        "-q",
        "--timeout",
        "120",
        "--out",
        out.path().to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let (exit, stdout, stderr) = conform(&all);
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

fn claims(mode: &str) -> String {
    let script = workspace().join("conformance/tests/adapters/claims.sh");
    format!("{} {mode}", script.display())
}

fn suite() -> aigc_conformance::vector::Suite {
    let (suite, errors) = aigc_conformance::vector::Suite::load(&workspace().join("vectors"));
    assert!(errors.is_empty(), "{errors:?}");
    suite
}

#[test]
fn declaring_nothing_is_never_conformant() {
    let r = run(&["--adapter", &claims("nothing")]);
    assert_eq!(r.exit, 2, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.report["overall"], "no-verdict");
    assert!(r.stderr.contains("no verdict"), "{}", r.stderr);
    // Every vector is there, not applicable; every requirement with vectors too.
    let vectors = r.report["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), suite().vectors.len());
    assert!(vectors.iter().all(|v| v["outcome"] == "not-applicable"));
    assert_eq!(r.requirement("E-a")["verdict"], "not-applicable");
    // The scope is shown, with what was not claimed.
    assert_eq!(r.report["scope"]["roles"], serde_json::json!([]));
    let not_claimed = r.report["scope"]["not_claimed"].to_string();
    for op in ["read", "label", "propagate"] {
        assert!(
            not_claimed.contains(&format!("{op}: role")),
            "{not_claimed}"
        );
    }
    let md = r.file("report.md");
    let scope = md.find("## Claimed scope").expect("scope section");
    assert!(
        scope < md.find("## Requirements").unwrap(),
        "scope comes first"
    );
    assert!(md.contains("| Roles claimed | (none) |"), "{md}");
}

#[test]
fn unknown_media_names_are_refused_with_the_nearest_valid_one() {
    let out = tempfile::tempdir().unwrap();
    let (exit, _, stderr) = conform(&[
        "run",
        "--out",
        out.path().to_str().unwrap(),
        "--adapter",
        &claims("mp3"),
    ]);
    assert_eq!(exit, 2, "{stderr}");
    // audio/mp4 is one edit away; the alias table knows MP3 is audio/mpeg.
    assert!(stderr.contains("\"audio/mp3\""), "{stderr}");
    assert!(stderr.contains("declare audio/mpeg"), "{stderr}");
    assert!(
        !out.path().join("report.json").exists(),
        "no report for a refused claim"
    );
    let (exit, _, stderr) = conform(&["run", "--adapter", &claims("bad-op")]);
    assert_eq!(exit, 2, "{stderr}");
    assert!(stderr.contains("did you mean read?"), "{stderr}");
}

#[test]
fn a_filtered_run_is_partial_in_all_four_reports() {
    let r = run(&["png-read", "--op", "read"]);
    let n = r.report["vectors"].as_array().unwrap().len();
    let total = suite().vectors.len();
    assert!(n > 1 && n < total, "{n}");
    assert_eq!(r.exit, 0, "every selected vector passed: {}", r.stdout);
    assert_eq!(r.report["overall"], "partial");
    assert_eq!(r.report["selection"]["partial"], true);
    let headline = format!("partial: {n} of {total} vectors, all passed");
    assert!(
        r.report["headline"].as_str().unwrap().ends_with(&headline),
        "{}",
        r.report["headline"]
    );
    let md = r.file("report.md");
    assert!(
        md.contains(&format!("**Verdict: 部分运行 / {headline}**")),
        "{md}"
    );
    let html = r.file("report.html");
    assert!(html.contains(&headline), "report.html");
    let junit = r.file("junit.xml");
    assert!(
        junit.contains("<property name=\"overall\" value=\"partial\"/>"),
        "{junit}"
    );
    assert!(junit.contains(&headline), "{junit}");
    for text in [&md, &html, &junit, &r.file("report.json")] {
        assert!(
            !text.contains("符合 / conformant"),
            "a partial run says conformant"
        );
    }
    assert!(r.stdout.contains("conformance: partial"), "{}", r.stdout);
}

#[test]
fn a_filtered_run_with_a_failure_exits_1() {
    let script = workspace().join("conformance/tests/adapters/broken.py");
    let r = run(&[
        "--exact",
        "implicit-png-read-xmp-valid",
        "--adapter",
        &format!("python3 {} crash", script.display()),
    ]);
    assert_eq!(r.exit, 1, "{}", r.stdout);
    assert_eq!(r.report["overall"], "non-conformant");
    assert!(
        r.report["headline"]
            .as_str()
            .unwrap()
            .contains("partial run, 1 of"),
        "{}",
        r.report["headline"]
    );
}

/// The vector ids `run --list ARGS` prints.
fn listed(args: &[&str]) -> BTreeSet<String> {
    let mut all = vec!["run", "--list"];
    all.extend_from_slice(args);
    let (exit, stdout, stderr) = conform(&all);
    assert_eq!(exit, 0, "{stderr}");
    stdout
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(|l| l.split_once("] ").map_or(l, |(_, id)| id).to_string())
        .collect()
}

#[test]
fn requirement_op_media_and_skip_filters() {
    let suite = suite();
    let ids = |f: &dyn Fn(&aigc_conformance::vector::Vector) -> bool| -> BTreeSet<String> {
        suite
            .vectors
            .iter()
            .filter(|v| f(v))
            .map(|v| v.id.clone())
            .collect()
    };
    let want = ids(&|v| v.requirements.iter().any(|r| r == "GB-6.1-c"));
    assert!(!want.is_empty());
    assert_eq!(listed(&["--requirement", "GB-6.1-c"]), want);
    let want = ids(&|v| v.op.as_str() == "propagate" && v.media.as_deref() == Some("image/png"));
    assert!(!want.is_empty());
    assert_eq!(listed(&["--op", "propagate", "--media", "image/png"]), want);
    let want = ids(&|v| v.id.contains("png-read") && !v.id.contains("xmp"));
    assert!(!want.is_empty());
    assert_eq!(listed(&["png-read", "--skip", "xmp"]), want);
    // Two values of one option: either.
    let want = ids(&|v| matches!(v.media.as_deref(), Some("image/gif" | "image/webp")));
    assert_eq!(
        listed(&["--media", "image/gif", "--media", "IMAGE/WEBP"]),
        want
    );
}

#[test]
fn zero_selected_vectors_exit_2() {
    for args in [
        &["run", "no-such-vector-anywhere"][..],
        &[
            "run",
            "--requirement",
            "GB-6.1-a",
            "--op",
            "read",
            "--skip",
            "-",
        ][..],
    ] {
        let (exit, _, stderr) = conform(args);
        assert_eq!(exit, 2, "{args:?}: {stderr}");
        assert!(stderr.contains("no vector selected"), "{stderr}");
    }
    // Misspelt values are named, with the nearest valid one.
    for (args, hint) in [
        (&["run", "--op", "reed"][..], "did you mean read?"),
        (
            &["run", "--requirement", "GB-5.2-bb"][..],
            "did you mean GB-5.2-b?",
        ),
        (
            &["run", "--media", "image/jpg"][..],
            "did you mean image/jpeg?",
        ),
    ] {
        let (exit, _, stderr) = conform(args);
        assert_eq!(exit, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(hint), "{args:?}: {stderr}");
    }
}

/// The snapshot fixture (a fixed four-requirement catalogue over three PNG inputs), with
/// T-recommended made permitted (可).
fn fixture_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fixture = workspace().join("conformance/tests/fixtures/snapshot");
    let png = workspace().join("vectors/implicit/png");
    std::fs::create_dir_all(dir.path().join("implicit/png")).unwrap();
    let catalogue = std::fs::read_to_string(fixture.join("requirements.yaml")).unwrap();
    let permitted = catalogue.replacen("level: recommended", "level: permitted", 1);
    assert_ne!(permitted, catalogue);
    std::fs::write(dir.path().join("requirements.yaml"), permitted).unwrap();
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
fn requirement_table_counts_failures_and_observations() {
    let vectors = fixture_tree();
    let script = workspace().join("conformance/tests/adapters/broken.py");
    let r = run(&[
        "--vectors",
        vectors.path().to_str().unwrap(),
        "--adapter",
        &format!("python3 {} wrong-label", script.display()),
    ]);
    // One failing vector among passing ones fails the mandatory requirement.
    let m = r.requirement("T-mandatory");
    assert_eq!(m["verdict"], "fail");
    assert_eq!(m["counts"]["pass"], 1);
    assert_eq!(m["counts"]["fail"], 1);
    // A permitted (可) requirement that fails is an observation, not a failure.
    let p = r.requirement("T-recommended");
    assert_eq!(p["level"], "permitted");
    assert_eq!(p["verdict"], "observation");
    assert_eq!(p["counts"]["fail"], 1);
    // Not-applicable vectors are set apart.
    let na = r.requirement("T-platform");
    assert_eq!(na["verdict"], "not-applicable");
    assert_eq!(
        na["not_applicable"],
        serde_json::json!(["platform-png-propagate"])
    );
    assert_eq!(r.report["overall"], "non-conformant");
    assert_eq!(r.exit, 1);
    let md = r.file("report.md");
    assert!(
        md.contains("| T-recommended | 可 permitted | M | **observation** | 0 pass / 1 fail / 0 n/a / 0 waived / 0 inconclusive |"),
        "{md}"
    );
    assert!(md.contains("## Observations"), "{md}");
    let html = r.file("report.html");
    assert!(
        html.contains("<td class=\"obs\">observation</td>"),
        "report.html"
    );
}

#[test]
fn what_the_oracle_did_not_measure_is_not_tested() {
    // GB-5.1-a allows a text prompt or a general symbol. The reference measures a text prompt
    // line, and "nothing added" (a failure); a symbol it cannot recognise. A generator that
    // adds only 🤖 gets GB-5.1-a "not tested" (the Done-when of issue 18), while the wording and
    // place of the text prompt the request asked for fail.
    let r = run(&["--exact", "explicit-label-text"]);
    assert_eq!(r.exit, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.vector("explicit-label-text")["outcome"], "pass");
    assert_eq!(r.requirement("GB-5.1-a")["verdict"], "pass");
    let adapter = workspace().join("conformance/tests/adapters/symbol-prompt.py");
    let command = format!("python3 {}", adapter.display());
    let r = run(&["--exact", "explicit-label-text", "--adapter", &command]);
    let v = r.vector("explicit-label-text");
    assert_eq!(v["outcome"], "fail", "{v}");
    assert_eq!(v["unmeasured"], serde_json::json!(["GB-5.1-a"]), "{v}");
    let a = r.requirement("GB-5.1-a");
    assert_eq!(a["verdict"], "not-tested", "{a}");
    assert_eq!(a["counts"]["inconclusive"], 1);
    assert_eq!(a["counts"]["pass"], 0);
    assert_eq!(r.requirement("GB-5.1-b")["verdict"], "fail");
    assert!(r
        .file("report.md")
        .contains("## Not tested although vectors ran"));
}

#[test]
fn a_declared_voice_wording_is_no_pass() {
    // GB-5.3-b: the voice prompt is measured to be speech, but its words are not recognised;
    // the text the request declares is no evidence of what was spoken, so the requirement is
    // not tested, with the catalogue's reason in report.json and report.md.
    let r = run(&["--exact", "explicit-label-audio-voice"]);
    assert_eq!(r.exit, 0, "{}\n{}", r.stdout, r.stderr);
    let v = r.vector("explicit-label-audio-voice");
    assert_eq!(v["outcome"], "pass");
    assert_eq!(v["unmeasured"], serde_json::json!(["GB-5.3-b"]));
    let b = r.requirement("GB-5.3-b");
    assert_eq!(b["verdict"], "not-tested");
    assert_eq!(b["counts"]["pass"], 0);
    assert!(b["unmeasured"]
        .as_str()
        .is_some_and(|why| why.contains("not recognised")));
    // What is measured still passes.
    assert_eq!(r.requirement("GB-5.3-e")["verdict"], "pass");
    assert!(r.file("report.md").contains("not measurable here"));
}

#[test]
fn a_soft_rule_is_tested_only_by_a_reader_that_reports_problems() {
    // annex-e-producer-code-26 expects `valid` and the problem provider-code-invalid. The
    // reference reports its problems: PG-20252A-code passes on it. A reader that gives the same
    // verdict and labels but reports no `problems` has not shown that it checks the code: the
    // vector is inconclusive for it and the requirement not tested, never passed.
    let id = "annex-e-producer-code-26";
    let r = run(&["--exact", id]);
    assert_eq!(r.exit, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.vector(id)["outcome"], "pass");
    assert_eq!(r.requirement("PG-20252A-code")["verdict"], "pass");
    let adapter = workspace().join("conformance/tests/adapters/reader-without-problems.py");
    let command = format!("python3 {}", adapter.display());
    let r = run(&["--exact", id, "--adapter", &command]);
    let v = r.vector(id);
    assert_eq!(v["outcome"], "inconclusive", "{v}");
    assert_eq!(v["unmeasured"], serde_json::json!(["PG-20252A-code"]));
    let q = r.requirement("PG-20252A-code");
    assert_eq!(q["verdict"], "not-tested", "{q}");
    assert_eq!(q["counts"]["pass"], 0);
}

#[test]
fn protocol_md_lists_the_profile_media_names() {
    let profile = aigc_label::Profile::load(&workspace().join("vectors/profile.yaml")).unwrap();
    let names = aigc_conformance::scope::MediaNames::of(&profile).unwrap();
    let doc = std::fs::read_to_string(workspace().join("conformance/PROTOCOL.md")).unwrap();
    let (_, rest) = doc
        .split_once("<!-- media-types:begin -->")
        .expect("begin marker");
    let (list, _) = rest
        .split_once("<!-- media-types:end -->")
        .expect("end marker");
    let documented: Vec<&str> = list
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- `")?.strip_suffix('`'))
        .collect();
    let profile_list: Vec<&str> = names.types.iter().map(String::as_str).collect();
    assert_eq!(
        documented, profile_list,
        "conformance/PROTOCOL.md and vectors/profile.yaml media.types differ"
    );
    // Every media type a vector uses is a valid name.
    for v in &suite().vectors {
        if let Some(m) = &v.media {
            assert!(names.is_valid(m), "{}: {m} is not in media.types", v.id);
        }
    }
}

#[test]
fn a_verdict_that_hangs_on_a_reading_says_so() {
    // A generator drawing its label at a font size of 5 % of the shortest side (Pillow): the
    // glyphs measure about 4.6 %, so GB-5.2-e fails under the binding glyph-fill reading and
    // passes under the font-size reading. The vector is judged under the binding reading only;
    // the report says that the verdict hangs on the reading, with the digest's confidence.
    let script = workspace().join("conformance/tests/adapters/font-size-5pct.py");
    let r = run(&[
        "--exact",
        "explicit-label-image",
        "--adapter",
        &format!("python3 {}", script.display()),
    ]);
    let v = r.vector("explicit-label-image");
    assert_eq!(v["outcome"], "fail", "{v}");
    assert!(
        v["blame"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b == "GB-5.2-e"),
        "{v}"
    );
    let e = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f.as_str())
        .find(|f| f.contains("GB-5.2-e"))
        .unwrap_or_else(|| panic!("no GB-5.2-e finding: {v}"));
    assert!(
        e.contains("fails under reading glyph-fill (binding), passes under")
            && e.contains("font-size")
            && e.contains("[L]"),
        "{e}"
    );
    let readings = &v["actual"]["output"]["explicit_readings"][0];
    assert_eq!(readings["hangs_on_reading"], true, "{readings}");
    assert_eq!(readings["binding"], "glyph-fill");
    // The binding choice is printed in every report.
    let binding = r.report["profile"]["readings"][0].as_str().unwrap();
    assert!(binding.contains("binding reading glyph-fill"), "{binding}");
    let md = r.file("report.md");
    assert!(md.contains("| Binding readings | 文字高度"), "{md}");
    assert!(md.contains("## Verdicts that hang on a reading"), "{md}");
    assert!(
        md.contains("- `explicit-label-image` GB-5.2-e: fails under reading glyph-fill"),
        "{md}"
    );
    assert!(r.file("report.html").contains("binding reading glyph-fill"));
    // The reference's own label passes under every reading: no such section.
    let r = run(&["--exact", "explicit-label-image"]);
    assert_eq!(r.vector("explicit-label-image")["outcome"], "pass");
    let md = r.file("report.md");
    assert!(md.contains("| Binding readings | 文字高度"), "{md}");
    assert!(!md.contains("## Verdicts that hang on a reading"), "{md}");
}
