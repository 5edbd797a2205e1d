//! Result history end to end (issue 11): a vector release shows up in `diff` and `impact`,
//! shards merge into the full run, and three implementations archived into the store give a
//! board whose table matches the store, rendered in headless Chromium.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use aigc_conformance::history::{board, store};
use aigc_conformance::schema;

use crate::common::reference_bin;

fn workspace() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::canonicalize(&p).unwrap_or(p)
}

/// `aigc-conform ARGS` from the workspace: (exit status, stdout, stderr).
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

/// Per-request timeout for the example adapters: a generous safety net on busy machines, never
/// what is tested (a timeout would make outcomes differ from run to run).
const TIMEOUT: &str = "120";

fn adapter(name: &str) -> String {
    format!(
        "python3 {}",
        workspace()
            .join("conformance/adapters")
            .join(name)
            .join("adapter.py")
            .display()
    )
}

/// Run the suite into `out` and return report.json (checked against its schema).
fn run_into(out: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["run", "-q", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = conform(&args);
    let text = std::fs::read_to_string(out.join("report.json"))
        .unwrap_or_else(|e| panic!("no report ({e}); exit {code}\n{stdout}\n{stderr}"));
    let report: Value = serde_json::from_str(&text).unwrap();
    let errors = schema::validate(schema::schema("report.schema.json").unwrap(), &report);
    assert!(
        errors.is_empty(),
        "report.json breaks its schema: {errors:#?}"
    );
    report
}

/// A private copy of the vectors.
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

fn outcomes(report: &Value) -> BTreeMap<String, String> {
    report["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["id"].as_str().unwrap().to_string(),
                v["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn verdicts(report: &Value) -> BTreeMap<String, String> {
    report["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_changed_expectation_shows_in_diff_and_impact_with_requirement_and_vendors() {
    let v = vectors_copy();
    let vectors = v.path().to_str().unwrap();
    let out = tempfile::tempdir().unwrap();
    let (old_ref, old_py, new_ref) = (
        out.path().join("old-ref"),
        out.path().join("old-py"),
        out.path().join("new-ref"),
    );
    // Two vendors' stored reports on release 1.0.0.
    let before = run_into(&old_ref, &["--vectors", vectors, "implicit-png"]);
    assert_eq!(before["suite"]["release"], current_release().as_str());
    assert!(
        before["vectors"][0]["content_sha256"]
            .as_str()
            .unwrap()
            .len()
            == 64
    );
    run_into(
        &old_py,
        &[
            "--vectors",
            vectors,
            "implicit-png",
            "--adapter",
            &adapter("python"),
            "--timeout",
            TIMEOUT,
        ],
    );

    // Release 2.0.0: one vector's expectation reversed (Label "4" now said to be valid).
    let manifest = v.path().join("implicit/png/basic.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let at = text.find("id: implicit-png-read-label-value-4").unwrap();
    let rel = text[at..].find("verdict: invalid").unwrap();
    let changed = format!(
        "{}verdict: valid{}",
        &text[..at + rel],
        &text[at + rel + "verdict: invalid".len()..]
    );
    std::fs::write(&manifest, changed).unwrap();
    std::fs::write(v.path().join("RELEASE"), "2.0.0\n").unwrap();
    let after = run_into(&new_ref, &["--vectors", vectors, "implicit-png"]);
    assert_eq!(after["suite"]["release"], "2.0.0");

    // diff: exactly that vector changed, and the verdicts it moves.
    let (code, stdout, stderr) =
        conform(&["diff", old_ref.to_str().unwrap(), new_ref.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("@ {}", current_release())) && stdout.contains("@ 2.0.0"),
        "{stdout}"
    );
    let changed: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("vector changed"))
        .collect();
    assert_eq!(
        changed,
        ["vector changed (content hash): implicit-png-read-label-value-4 [E-c]"],
        "{stdout}"
    );
    assert!(stdout.contains("requirement E-c: pass -> fail"), "{stdout}");
    assert!(
        stdout.contains("vector implicit-png-read-label-value-4: pass -> fail"),
        "{stdout}"
    );

    // impact: both stored reports, the requirement, both vendors.
    let (code, stdout, stderr) = conform(&[
        "impact",
        "--json",
        "--vectors",
        vectors,
        old_ref.to_str().unwrap(),
        old_py.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let impacts: Value = serde_json::from_str(&stdout).unwrap();
    let vendors: Vec<&str> = impacts
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["vendor"].as_str().unwrap())
        .collect();
    assert_eq!(
        vendors,
        ["aigc-label (reference) 0.1.0", "python-stdlib-example 0.1"]
    );
    for i in impacts.as_array().unwrap() {
        assert_eq!(i["from_release"], current_release().as_str());
        assert_eq!(i["to_release"], "2.0.0");
        assert_eq!(
            i["vectors_changed"],
            serde_json::json!(["implicit-png-read-label-value-4"])
        );
        let reqs: Vec<&str> = i["requirements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert_eq!(reqs, ["E-c"], "{i}");
    }
    let (_, text, _) = conform(&[
        "impact",
        "--vectors",
        vectors,
        old_ref.to_str().unwrap(),
        old_py.to_str().unwrap(),
    ]);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("E-c:"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains("aigc-label (reference) 0.1.0") && line.contains("python-stdlib-example 0.1"),
        "{text}"
    );
    // The new release's own report is not affected by it.
    let (code, stdout, _) = conform(&["impact", "--vectors", vectors, new_ref.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("no verdict can change"), "{stdout}");
}

#[test]
fn shards_merged_equal_the_full_run() {
    // The Python example adapter fails some vectors, so the verdicts being compared are not
    // all "pass".
    let out = tempfile::tempdir().unwrap();
    let a = adapter("python");
    let common = ["--adapter", a.as_str(), "--timeout", TIMEOUT];
    let full = run_into(&out.path().join("full"), &common);
    let mut shards = Vec::new();
    for k in ["1/2", "2/2"] {
        let dir = out.path().join(format!("shard-{}", &k[..1]));
        let mut args = common.to_vec();
        args.extend(["--shard", k]);
        let r = run_into(&dir, &args);
        assert_eq!(r["selection"]["shard"], k);
        shards.push((dir, outcomes(&r)));
    }
    let (s1, s2) = (&shards[0].1, &shards[1].1);
    assert!(!s1.is_empty() && !s2.is_empty());
    assert!(s1.keys().all(|id| !s2.contains_key(id)), "shards overlap");

    // One shard alone is refused.
    let (code, _, stderr) = conform(&[
        "merge",
        shards[0].0.to_str().unwrap(),
        "--out",
        out.path().join("bad").to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("missing shard(s): 2/2"), "{stderr}");

    let merged_dir = out.path().join("merged");
    let (code, stdout, stderr) = conform(&[
        "merge",
        shards[1].0.to_str().unwrap(),
        shards[0].0.to_str().unwrap(),
        "--out",
        merged_dir.to_str().unwrap(),
    ]);
    assert!(code == 0 || code == 1, "{stdout}{stderr}");
    let merged: Value =
        serde_json::from_str(&std::fs::read_to_string(merged_dir.join("report.json")).unwrap())
            .unwrap();
    let errors = schema::validate(schema::schema("report.schema.json").unwrap(), &merged);
    assert!(
        errors.is_empty(),
        "merged report.json breaks its schema: {errors:#?}"
    );
    assert_eq!(outcomes(&merged), outcomes(&full));
    assert!(
        outcomes(&full)
            .values()
            .any(|o| o != "pass" && o != "not-applicable"),
        "the adapter was expected to fail some vectors"
    );
    assert_eq!(verdicts(&merged), verdicts(&full));
    assert_eq!(merged["overall"], full["overall"]);
    assert_eq!(merged["counts"], full["counts"]);
    let ids = |r: &Value| -> Vec<String> {
        r["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&merged), ids(&full), "suite order");
    let (code, stdout, _) = conform(&[
        "diff",
        out.path().join("full").to_str().unwrap(),
        merged_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}");
}

/// `(attribute value, rest)` after the next `name="` in `s`.
fn attr<'a>(s: &'a str, name: &str) -> Option<(&'a str, &'a str)> {
    let pat = format!("{name}=\"");
    let at = s.find(&pat)? + pat.len();
    let end = s[at..].find('"')? + at;
    Some((&s[at..end], &s[end..]))
}

#[test]
fn three_implementations_archived_give_a_board_matching_the_store() {
    let out = tempfile::tempdir().unwrap();
    let dir = |n: &str| out.path().join(n);
    // An older, smaller run of the reference, then the newer one the board must show.
    run_into(&dir("ref-old"), &["implicit-png-read"]);
    run_into(&dir("ref"), &["implicit-png"]);
    std::fs::write(dir("ref").join("report.sig"), b"signature bytes").unwrap();
    for name in ["python", "exiftool"] {
        run_into(
            &dir(name),
            &[
                "implicit-png",
                "--adapter",
                &adapter(name),
                "--timeout",
                TIMEOUT,
            ],
        );
    }
    let db = dir("results.sqlite");
    let db_s = db.to_str().unwrap();
    let folders: Vec<String> = ["ref-old", "ref", "python", "exiftool"]
        .iter()
        .map(|n| dir(n).display().to_string())
        .collect();
    let mut args = vec!["archive", "--db", db_s];
    args.extend(folders.iter().map(String::as_str));
    let (code, stdout, stderr) = conform(&args);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("(signature: present)"), "{stdout}");
    // Archiving again files nothing twice.
    let (code, stdout, _) = conform(&["archive", "--db", db_s, &folders[1]]);
    assert_eq!(code, 0);
    assert!(stdout.contains("already archived"), "{stdout}");

    // Queries from the command line.
    let (code, stdout, _) = conform(&[
        "query",
        "--db",
        db_s,
        "--vendor",
        "python",
        "--requirement",
        "E-c",
        "--json",
    ]);
    assert_eq!(code, 0);
    let rows: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1, "{stdout}");
    assert_eq!(rows[0]["implementation"], "python-stdlib-example");
    assert_eq!(rows[0]["vector_release"], current_release().as_str());
    let py: Value =
        serde_json::from_str(&std::fs::read_to_string(dir("python").join("report.json")).unwrap())
            .unwrap();
    assert_eq!(
        rows[0]["requirement_verdict"],
        verdicts(&py)["E-c"].as_str()
    );
    let (_, stdout, _) = conform(&["query", "--db", db_s, "--release", "9.9.9"]);
    assert_eq!(stdout.lines().count(), 1, "header only: {stdout}");

    // The board.
    let site = dir("site");
    let (code, stdout, stderr) = conform(&["board", "--db", db_s, "--out", site.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let chromium = Path::new("/usr/bin/chromium");
    assert!(
        chromium.exists(),
        "headless Chromium is missing: install Debian's chromium (scripts/install-deps.sh)"
    );
    let profile = tempfile::tempdir().unwrap();
    let o = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=390,844",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", site.join("index.html").display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success() && dom.contains("<table id=\"board\""),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // The script ran (it writes the count of shown rows) and hid nothing.
    assert!(dom.contains("<span id=\"shown\">3</span>"), "{dom}");

    let conn = store::open(&db).unwrap();
    let expected = board::rows(&conn).unwrap();
    assert_eq!(expected.len(), 3, "one row per implementation and version");
    let tbody = &dom[dom.find("<tbody>").unwrap()..dom.find("</tbody>").unwrap()];
    let rows: Vec<&str> = tbody.split("<tr ").skip(1).collect();
    assert_eq!(rows.len(), expected.len());
    for (row, e) in rows.iter().zip(&expected) {
        assert!(!row.contains(" hidden"), "row hidden: {row}");
        let (id, _) = attr(row, "data-report").unwrap();
        assert_eq!(id, e.id.to_string());
        assert_eq!(
            attr(row, "data-implementation").unwrap().0,
            e.implementation
        );
        assert_eq!(attr(row, "data-roles").unwrap().0, e.roles);
        let (sig, _) = attr(row, "data-signature").unwrap();
        assert_eq!(sig, e.signature);
        let want = store::verdicts(&conn, e.id).unwrap();
        let mut got = BTreeMap::new();
        let mut rest = *row;
        while let Some((req, r)) = attr(rest, "data-req") {
            let (verdict, r) = attr(r, "data-verdict").unwrap();
            got.insert(req.to_string(), verdict.to_string());
            rest = r;
        }
        assert_eq!(got, want, "row {}", e.implementation);
    }
    // The reference row is the newer run, signed; the others unsigned.
    let reference = expected
        .iter()
        .find(|e| e.implementation.starts_with("aigc-label"))
        .unwrap();
    assert_eq!(reference.signature, "present");
    let newer: Value =
        serde_json::from_str(&std::fs::read_to_string(dir("ref").join("report.json")).unwrap())
            .unwrap();
    assert_eq!(reference.started, newer["started"].as_str().unwrap());
    assert_eq!(
        store::verdicts(&conn, reference.id).unwrap(),
        verdicts(&newer).into_iter().collect()
    );
    assert!(
        expected
            .iter()
            .filter(|e| e.signature == "unsigned")
            .count()
            == 2
    );

    // Every link resolves to a file of the site; every archived run has one.
    let mut links = 0;
    let mut rest = dom.as_str();
    while let Some((href, r)) = attr(rest, "href") {
        rest = r;
        assert!(!href.contains("://"), "external link {href}");
        assert!(site.join(href).is_file(), "broken link {href}");
        links += 1;
    }
    assert!(links >= 3 + 4, "{links} links");
    let html = std::fs::read_to_string(site.join(format!("reports/{}/report.html", reference.id)))
        .unwrap();
    assert!(html.contains("aigc-label (reference)"));
    assert!(site
        .join(format!("reports/{}/report.sig", reference.id))
        .is_file());
}

/// The vector release the checkout is on (vectors/RELEASE), which every fresh report names.
fn current_release() -> String {
    std::fs::read_to_string(workspace().join("vectors/RELEASE"))
        .unwrap()
        .trim()
        .to_string()
}
