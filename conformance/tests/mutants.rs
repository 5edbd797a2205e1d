//! The suite tests itself: every mutant implementation (conformance/mutants/mutant.py, the
//! reference with exactly one requirement broken) must be found non-conformant, and the failing
//! requirements must be exactly the one the mutant breaks (plus the collateral it names, each
//! with its reason in the mutant table). A mutant that passes, or that fails elsewhere, shows a
//! hole in the vectors or in the attribution of failures (checks::blame). A generator mutant
//! whose defect is format-blind (it declares every format the reference supports) must also be
//! seen in every format the run exercises: a format where none of its vectors fails is a hole
//! in that format's vectors (this found Annex E note 1 tested on PNG only).
//!
//! Coverage: 44 of the 46 machine-testable requirements of the standard, the Measures and the
//! guides have a mutant; the other two (GB-5.3-b, not measured; GB-5.4-d, a permission) are
//! `unmeasured` in the catalogue, which says why, and the two suite requirements are in
//! [`NOT_MUTATED`] with why.
//!
//! Speed: the mutants answer in persistent mode (one python process per harness worker, the
//! reference behind it in persistent mode too), several mutants run at once
//! (`AIGC_MUTANTS_PARALLEL`, default 2), and each mutant runs only on the vectors its defect can
//! reach (its `reach` in the mutant table; why that is enough: see
//! [`every_mutant_fails_exactly_the_requirement_it_breaks`]). `AIGC_MUTANTS_FULL=1` runs every
//! mutant over every vector of its declared scope.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::reference_bin;

fn workspace() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::canonicalize(&p).unwrap_or(p)
}

struct Mutant {
    name: String,
    breaks: String,
    collateral: BTreeSet<String>,
    /// Which of the vectors in the mutant's declared scope its defect can reach: `all`,
    /// `explicit` (only label requests that ask for a visible label: the rest go to the
    /// reference unchanged) or `implicit` (only label requests without one: visible labels are
    /// the reference's).
    reach: String,
    /// The mutant declares every format the reference supports (its defect is format-blind):
    /// then every format an `implicit`-reach run exercises must show it ([`formats_not_failing`]).
    every_format: bool,
}

/// Every vector whose label request asks for a visible label, and no other, has an id starting
/// with this: the harness's id filters select a mutant's reach by it (checked in
/// [`the_reach_filters_select_exactly_the_explicit_label_requests`]).
const EXPLICIT_IDS: &str = "explicit-label-";

fn mutants() -> Vec<Mutant> {
    let script = workspace().join("conformance/mutants/mutant.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg("--list")
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            Mutant {
                name: cols[0].to_string(),
                breaks: cols[1].to_string(),
                collateral: cols[2]
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                reach: cols[3].to_string(),
                every_format: cols.get(5) == Some(&"every"),
            }
        })
        .collect()
}

/// Machine-testable requirements without a mutant of their own, each with why. Everything else
/// in vectors/requirements.yaml marked `testable: machine` must be the `breaks` of some mutant
/// (being another mutant's collateral does not count: that mutant is not about it), or be
/// `unmeasured` in the catalogue, whose reason is then the reason (no measure can pass such a
/// requirement, so no mutant can show it measured: GB-5.3-b, whose spoken words are not
/// recognised, and GB-5.4-d, a permission). For GB-5.3-b what is measured, that the prompt is
/// speech, fails with GB-5.3-a/e too (explicit-voice-white-noise).
const NOT_MUTATED: &[(&str, &str)] = &[
    (
        "SUITE-damaged-input",
        "a suite requirement (not a clause of GB 45438): its failing implementation is the \
         adapter tests/adapters/unlabeled-on-damage.py in tests/rules.rs, not a mutant here",
    ),
    (
        "SUITE-profile-reading",
        "a suite requirement whose failures are observations by design (a reader stricter than \
         the profile); tests/rules.rs checks the profile-choice vectors under every grading",
    ),
];

/// Fast (no suite run): every machine-testable requirement is the `breaks` of a mutant, or
/// listed in [`NOT_MUTATED`] with its reason; and no listed requirement has quietly gained a
/// mutant.
#[test]
fn every_machine_testable_requirement_has_a_mutant_or_a_reason() {
    let text = std::fs::read_to_string(workspace().join("vectors/requirements.yaml")).unwrap();
    let doc: serde_yaml_like::Doc = serde_yaml_like::parse(&text);
    let covered: BTreeSet<String> = mutants().into_iter().map(|m| m.breaks).collect();
    // The line reader must see the catalogue (46 machine-testable requirements in release
    // 1.0.0), or this test would pass on nothing.
    assert!(
        doc.machine_testable.len() >= 40,
        "{:?}",
        doc.machine_testable
    );
    let mutated = doc
        .machine_testable
        .iter()
        .filter(|id| covered.contains(*id))
        .count();
    eprintln!(
        "{mutated} of {} machine-testable requirements have a mutant ({} of them unmeasured: \
         {:?}); without one: {:?}",
        doc.machine_testable.len(),
        doc.unmeasured.len(),
        doc.unmeasured.iter().map(|(r, _)| r).collect::<Vec<_>>(),
        NOT_MUTATED.iter().map(|(r, _)| *r).collect::<Vec<_>>()
    );
    let mut problems = Vec::new();
    // The reason of an `unmeasured` requirement is the catalogue's; it is not repeated here.
    for (id, reason) in &doc.unmeasured {
        if reason.is_empty() {
            problems.push(format!(
                "{id}: `unmeasured` without a reason in requirements.yaml"
            ));
        }
        if NOT_MUTATED.iter().any(|(r, _)| r == id) {
            problems.push(format!(
                "{id}: `unmeasured` in requirements.yaml, which gives the reason: remove it from \
                 NOT_MUTATED"
            ));
        }
    }
    for id in doc.machine_testable {
        let listed = NOT_MUTATED.iter().any(|(r, _)| *r == id)
            || doc.unmeasured.iter().any(|(r, _)| *r == id);
        match (covered.contains(&id), listed) {
            (false, false) => problems.push(format!(
                "{id}: no mutant, no reason in NOT_MUTATED and not `unmeasured`"
            )),
            (true, true) => problems.push(format!(
                "{id}: has a mutant now; remove it from NOT_MUTATED or `unmeasured`"
            )),
            _ => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The few facts this test needs from requirements.yaml, read line by line (the file's
/// `- id:` / `testable:` / `retired:` / `unmeasured:` keys), so the test needs no YAML crate.
mod serde_yaml_like {
    pub struct Doc {
        pub machine_testable: Vec<String>,
        /// Those of them the catalogue marks `unmeasured` (no measure could pass them), with
        /// the catalogue's reason.
        pub unmeasured: Vec<(String, String)>,
    }

    #[derive(Default)]
    struct Entry {
        id: String,
        machine: bool,
        retired: bool,
        unmeasured: Option<String>,
    }

    pub fn parse(text: &str) -> Doc {
        let mut doc = Doc {
            machine_testable: Vec::new(),
            unmeasured: Vec::new(),
        };
        let mut current: Option<Entry> = None;
        let mut flush = |c: &mut Option<Entry>| {
            if let Some(e) = c.take() {
                if e.machine && !e.retired {
                    if let Some(reason) = e.unmeasured {
                        doc.unmeasured.push((e.id.clone(), reason));
                    }
                    doc.machine_testable.push(e.id);
                }
            }
        };
        for line in text.lines() {
            let t = line.trim();
            if let Some(id) = t.strip_prefix("- id:") {
                flush(&mut current);
                current = Some(Entry {
                    id: id.trim().trim_matches('"').to_string(),
                    ..Entry::default()
                });
            } else if let Some(c) = current.as_mut() {
                if t.starts_with("testable:") && t.ends_with("machine") {
                    c.machine = true;
                }
                if t == "retired: true" {
                    c.retired = true;
                }
                if let Some(reason) = t.strip_prefix("unmeasured:") {
                    c.unmeasured = Some(reason.trim().trim_matches('"').to_string());
                }
            }
        }
        flush(&mut current);
        doc
    }
}

/// The selection arguments of `aigc-conform run` for a mutant's reach (none in full mode).
fn reach_args(reach: &str, full: bool) -> Vec<String> {
    match (reach, full) {
        (_, true) | ("all", _) => vec![],
        ("explicit", _) => vec![EXPLICIT_IDS.to_string()],
        ("implicit", _) => vec!["--skip".to_string(), EXPLICIT_IDS.to_string()],
        (other, _) => panic!("unknown reach {other:?} in the mutant table"),
    }
}

/// The premise of the `explicit`/`implicit` reaches: a vector's label request asks for a
/// visible label exactly when its id starts with [`EXPLICIT_IDS`].
#[test]
fn the_reach_filters_select_exactly_the_explicit_label_requests() {
    let suite = aigc_conformance::session::load_suite(&workspace().join("vectors")).unwrap();
    let mut explicit = 0;
    for v in &suite.vectors {
        let asks = v.request.get("explicit").is_some_and(|e| !e.is_null());
        assert_eq!(
            asks,
            v.id.starts_with(EXPLICIT_IDS),
            "{}: the id filter {EXPLICIT_IDS:?} and the explicit request disagree",
            v.id
        );
        explicit += usize::from(asks);
    }
    assert!(explicit >= 10, "only {explicit} explicit-label vectors");
}

/// One `aigc-conform run` over `adapter`: the report, or why there is none.
fn run_suite(adapter: &str, selection: &[String], bin: &Path) -> Result<Value, String> {
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_aigc-conform"))
        .args([
            "run",
            "-q",
            "--jobs",
            "2",
            // A safety net, not a limit under test: a mutant's ordinary request can take
            // longer than the profile's 10 s on a loaded machine.
            "--timeout",
            "120",
            // The mutants are our own scripts, and some read the reference's assets
            // (reference/assets/) directly: the sandbox is tested in tests/hostile.rs.
            "--isolation",
            "none",
            "--out",
            out.path().to_str().unwrap(),
            "--adapter",
            adapter,
        ])
        .args(selection)
        .env("AIGC_LABEL", bin)
        .current_dir(workspace())
        .output()
        .expect("aigc-conform");
    let text = std::fs::read_to_string(out.path().join("report.json"))
        .map_err(|e| format!("no report ({e}): {}", String::from_utf8_lossy(&o.stderr)))?;
    Ok(serde_json::from_str(&text).unwrap())
}

/// The requirements a report counts as failed (a 宜/可 requirement that fails is an
/// observation, verdict.rs).
fn failing(report: &Value) -> BTreeSet<String> {
    report["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["verdict"] == "fail" || r["verdict"] == "observation")
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// The vectors that did not pass, for a failure message.
fn non_passing(report: &Value) -> String {
    report["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| !matches!(v["outcome"].as_str(), Some("pass") | Some("not-applicable")))
        .map(|v| {
            format!(
                "  {} {} -> {:?}: {:?}",
                v["id"], v["outcome"], v["blame"], v["findings"]
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every mutant is found, and fails exactly its `breaks` plus its named collateral.
///
/// Why a mutant's reach is enough: a mutant answers every request outside its reach with the
/// reference's own answer (mutant.py: `explicit_label` passes label requests without a visible
/// label to the reference, the implicit-label mutants pass those with one), so on those vectors
/// it cannot fail where the reference does not. The baseline run below (the reference, over
/// every label vector: the only op where a reach leaves vectors out) must fail nothing, so the
/// vectors left out pass for the mutant too, and the failing set of the reduced run is the
/// failing set of the full run. The reduced run is partial, so a mutant that breaks a
/// recommended requirement gets `partial` instead of `conformant-with-observations`. With
/// `AIGC_MUTANTS_FULL=1` every mutant runs over its whole declared scope.
#[test]
fn every_mutant_fails_exactly_the_requirement_it_breaks() {
    let bin = reference_bin();
    let script = workspace().join("conformance/mutants/mutant.py");
    let list = mutants();
    assert!(list.len() >= 10, "too few mutants: {}", list.len());
    // AIGC_MUTANTS=name,name runs only those (to check one new mutant quickly); CI runs all.
    let only: Option<Vec<String>> = std::env::var("AIGC_MUTANTS")
        .ok()
        .map(|v| v.split(',').map(str::to_string).collect());
    let full = std::env::var("AIGC_MUTANTS_FULL").is_ok_and(|v| v == "1");
    let parallel: usize = std::env::var("AIGC_MUTANTS_PARALLEL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2)
        .max(1);
    let list: Vec<&Mutant> = list
        .iter()
        .filter(|m| only.as_ref().is_none_or(|o| o.contains(&m.name)))
        .collect();
    assert!(!list.is_empty(), "AIGC_MUTANTS names no mutant");
    // Jobs: the baseline (None) when some mutant's run leaves vectors out, then the mutants.
    let mut jobs: Vec<Option<&Mutant>> = Vec::new();
    if !full && list.iter().any(|m| m.reach != "all") {
        jobs.push(None);
    }
    jobs.extend(list.iter().copied().map(Some));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let problems = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..parallel.min(jobs.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(job) = jobs.get(i) else { break };
                let problem = match job {
                    None => check_baseline(&bin),
                    Some(m) => check_mutant(m, &script, &bin, full),
                };
                if let Some(p) = problem {
                    problems.lock().unwrap().push(p);
                }
            });
        }
    });
    let problems = problems.into_inner().unwrap();
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// The reference over every label vector fails nothing (the premise of the reduced runs).
fn check_baseline(bin: &Path) -> Option<String> {
    let adapter = format!("{} adapter", bin.display());
    let selection = ["--op".to_string(), "label".to_string()];
    let report = match run_suite(&adapter, &selection, bin) {
        Ok(r) => r,
        Err(e) => return Some(format!("baseline (the reference): {e}")),
    };
    let failing = failing(&report);
    eprintln!(
        "{:<32} breaks {:<18} failing {:?} overall {}",
        "baseline (reference, label)", "-", failing, report["overall"]
    );
    (!failing.is_empty() || report["overall"] != "partial").then(|| {
        format!(
            "baseline: the reference fails {failing:?} ({}) on the label vectors\n{}",
            report["overall"],
            non_passing(&report)
        )
    })
}

/// One mutant's run: None when it fails exactly what it should.
fn check_mutant(m: &Mutant, script: &Path, bin: &Path, full: bool) -> Option<String> {
    let selection = reach_args(&m.reach, full);
    let adapter = format!("python3 {} {}", script.display(), m.name);
    let report = match run_suite(&adapter, &selection, bin) {
        Ok(r) => r,
        Err(e) => return Some(format!("{}: {e}", m.name)),
    };
    let failing = failing(&report);
    let mut want = m.collateral.clone();
    want.insert(m.breaks.clone());
    let level_mandatory = report["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["id"] == m.breaks.as_str() && r["level"] == "mandatory");
    let expected_overall = match (level_mandatory, selection.is_empty()) {
        (true, _) => "non-conformant",
        (false, true) => "conformant-with-observations",
        (false, false) => "partial",
    };
    let (failing_formats, missing) = formats_not_failing(&report);
    eprintln!(
        "{:<32} breaks {:<18} failing {:?} overall {} formats {}/{}",
        m.name,
        m.breaks,
        failing,
        report["overall"],
        failing_formats,
        failing_formats + missing.len()
    );
    if failing != want || report["overall"] != expected_overall {
        return Some(format!(
            "{}: expected failing {:?} ({expected_overall}), got {:?} ({})\n{}",
            m.name,
            want,
            failing,
            report["overall"],
            non_passing(&report)
        ));
    }
    (m.every_format && m.reach == "implicit" && !missing.is_empty()).then(|| {
        format!(
            "{}: declared for every format, but no vector of {missing:?} fails: the suite does \
             not see the defect in those formats",
            m.name
        )
    })
}

/// Of the media types the run exercised (vectors not `not-applicable`), how many have a vector
/// that did not pass, and which have none.
fn formats_not_failing(report: &Value) -> (usize, BTreeSet<String>) {
    let mut run = BTreeSet::new();
    let mut failed = BTreeSet::new();
    for v in report["vectors"].as_array().unwrap() {
        let (Some(media), Some(outcome)) = (v["media"].as_str(), v["outcome"].as_str()) else {
            continue;
        };
        if outcome == "not-applicable" {
            continue;
        }
        run.insert(media.to_string());
        if outcome != "pass" {
            failed.insert(media.to_string());
        }
    }
    let missing: BTreeSet<String> = run.difference(&failed).cloned().collect();
    (failed.len(), missing)
}
