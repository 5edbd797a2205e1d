//! One rule for reader and judge (issue 19), and suite requirements apart from the standard's.
//!
//! - Every problem code the reference can report, under every grade the profile could give it:
//!   the reader's severity and the level the harness charges it at come from the same profile
//!   entry (an error is charged to a mandatory clause, a lower grade never is), and on the
//!   vectors whose expectation is a profile choice, the reference's verdict under that profile
//!   is the verdict the harness then expects.
//! - A generator that writes the XMP label in a wrong namespace, and a reader that accepts one,
//!   are non-conformant (mutants of conformance/mutants/mutant.py).
//! - A reader that answers "unlabeled" for truncated or garbage files fails the suite's own
//!   requirement, not GB-6.1-b, and is not non-conformant to GB 45438.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

use aigc_conformance::checks::blame::{profile_verdict, Charges};
use aigc_conformance::vector::{Op, Suite, Verdict};
use aigc_label::profile::BUILTIN_PROFILE;
use aigc_label::{Problem, ProblemCode, Profile, Severity};

use crate::common::reference_bin;

fn workspace() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::canonicalize(&p).unwrap_or(p)
}

fn suite() -> Suite {
    let (suite, errors) = Suite::load(&workspace().join("vectors"));
    assert!(errors.is_empty(), "{errors:?}");
    suite
}

/// The shipped profile with `code` graded `severity` (a site's profile differing in one entry).
fn with_severity(code: ProblemCode, severity: Severity) -> Profile {
    let name = match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    };
    let head = format!("\n  {}:\n    severity: ", code.as_str());
    let at = BUILTIN_PROFILE
        .find(&head)
        .unwrap_or_else(|| panic!("profile has no entry for {code}"))
        + head.len();
    let end = at + BUILTIN_PROFILE[at..].find('\n').unwrap();
    let text = format!(
        "{}{name}{}",
        &BUILTIN_PROFILE[..at],
        &BUILTIN_PROFILE[end..]
    );
    let p = Profile::parse(&text).unwrap();
    assert_eq!(p.severity(code), severity, "{code}");
    p
}

const GRADES: [Severity; 3] = [Severity::Error, Severity::Warning, Severity::Info];

#[test]
fn every_problem_code_is_judged_at_the_level_the_reader_grades_it() {
    let suite = suite();
    let charges = Charges::from_catalogue(&suite.requirements);
    for code in ProblemCode::ALL {
        assert!(
            !charges.mandatory_homes(code.as_str()).is_empty(),
            "{code}: no mandatory requirement lists it in vectors/requirements.yaml"
        );
        for grade in GRADES {
            let profile = with_severity(code, grade);
            // The reader: the severity the reference gives the problem.
            let read = Problem::new(&profile, code, "x").severity;
            assert_eq!(read, grade, "{code}");
            // The judge: the requirements a failure with this problem is charged to.
            let charged = charges.charge(code.as_str(), profile.severity(code));
            let binding = charged.iter().any(|r| charges.is_binding(r));
            assert_eq!(
                binding,
                read == Severity::Error,
                "{code} graded {grade:?}: charged to {charged:?}"
            );
            assert!(
                read != Severity::Error || !charged.is_empty(),
                "{code}: an error charged to nothing"
            );
        }
    }
}

#[test]
fn profile_choice_vectors_follow_the_profile_in_reader_and_judge() {
    let suite = suite();
    let mut checked = 0;
    for v in suite
        .vectors
        .iter()
        .filter(|v| v.op == Op::Read && !v.profile_choice.is_empty())
    {
        for name in &v.profile_choice {
            let Some(code) = ProblemCode::ALL.into_iter().find(|c| c.as_str() == name) else {
                continue; // a profile key (platform.*), not a grade
            };
            for grade in GRADES {
                let profile = with_severity(code, grade);
                let judge = profile_verdict(v, &profile).expect("a problem code decides");
                let input = v.input_path(&suite.root);
                let reader = aigc_label::implicit::read_path(&input, &profile)
                    .unwrap_or_else(|e| panic!("{}: {}", v.id, e.error))
                    .verdict;
                assert_eq!(
                    reader, judge,
                    "{}: with {code} graded {grade:?} the reference reads {reader:?}, the harness expects {judge:?}",
                    v.id
                );
                let rejected = matches!(judge, Verdict::Invalid | Verdict::Conflict);
                assert_eq!(rejected, grade == Severity::Error, "{} {code}", v.id);
                checked += 1;
            }
        }
    }
    assert!(checked >= 30, "only {checked} profile choices checked");
}

/// `aigc-conform run` of `adapter` on the vectors matching `filter`: report.json and report.md.
fn run(adapter: &str, filter: &str, exact: bool) -> (Value, String) {
    let out = tempfile::tempdir().unwrap();
    let mut args = vec![
        "run",
        "-q",
        // A safety net, not a limit under test.
        "--timeout",
        "120",
        "--out",
        out.path().to_str().unwrap(),
        "--adapter",
        adapter,
        filter,
    ];
    if exact {
        args.push("--exact");
    }
    let o = Command::new(env!("CARGO_BIN_EXE_aigc-conform"))
        .args(&args)
        .env("AIGC_LABEL", reference_bin())
        .current_dir(workspace())
        .output()
        .expect("aigc-conform");
    let text = std::fs::read_to_string(out.path().join("report.json"))
        .unwrap_or_else(|e| panic!("no report ({e}): {}", String::from_utf8_lossy(&o.stderr)));
    let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    (serde_json::from_str(&text).unwrap(), md)
}

fn verdict_of<'a>(report: &'a Value, id: &str) -> &'a str {
    report["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .and_then(|r| r["verdict"].as_str())
        .unwrap_or_else(|| panic!("{id} not in the report"))
}

fn mutant(name: &str) -> String {
    let script = workspace().join("conformance/mutants/mutant.py");
    format!("python3 {} {name}", script.display())
}

#[test]
fn a_generator_writing_the_wrong_xmp_namespace_is_non_conformant() {
    let (report, _) = run(
        &mutant("label-wrong-namespace"),
        "implicit-png-label-plain",
        true,
    );
    assert_eq!(report["overall"], "non-conformant", "{report:#}");
    assert_eq!(verdict_of(&report, "GB-6.1-b"), "fail");
    // The guide's carrier is recommended (宜): its failure is an observation (issue 10.3).
    assert_eq!(verdict_of(&report, "PG-20259A-carrier"), "observation");
    let blame = &report["vectors"][0]["blame"];
    assert!(
        blame.as_array().unwrap().iter().any(|b| b == "GB-6.1-b"),
        "{blame}"
    );
}

#[test]
fn a_reader_accepting_the_wrong_xmp_namespace_is_non_conformant() {
    let (report, _) = run(
        &mutant("read-prefix-bound-xmp"),
        "annex-e-wrong-namespace",
        true,
    );
    assert_eq!(report["overall"], "non-conformant", "{report:#}");
    assert_eq!(verdict_of(&report, "GB-6.1-b"), "fail");
    // The same vector with the reference: it reads the label as invalid, as the profile says.
    let (reference, _) = run(
        &format!("{} adapter", reference_bin().display()),
        "annex-e-wrong-namespace",
        true,
    );
    // A one-vector selection is a partial run (issue 10.2); every selected vector passed.
    assert_eq!(reference["overall"], "partial", "{reference:#}");
    assert_eq!(verdict_of(&reference, "GB-6.1-b"), "pass", "{reference:#}");
}

#[test]
fn unlabeled_for_a_truncated_file_fails_a_suite_requirement_not_a_clause() {
    let adapter = format!(
        "python3 {}",
        workspace()
            .join("conformance/tests/adapters/unlabeled-on-damage.py")
            .display()
    );
    let (report, md) = run(&adapter, "robust-", false);
    assert_eq!(verdict_of(&report, "SUITE-damaged-input"), "fail");
    let failing: Vec<&str> = report["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["verdict"] == "fail")
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(failing, ["SUITE-damaged-input"], "{report:#}");
    assert_ne!(verdict_of(&report, "GB-6.1-b"), "fail");
    // Not a non-conformance to GB 45438: a mandatory failure would make even this filtered run
    // non-conformant (issue 10.2); a suite requirement's leaves it partial, on its own line.
    assert_eq!(report["overall"], "partial");
    let suite_line = md
        .lines()
        .find(|l| l.contains("Suite requirements"))
        .unwrap_or_else(|| panic!("no suite line in report.md:\n{md}"));
    assert!(
        suite_line.contains("SUITE-damaged-input fail"),
        "{suite_line}"
    );
    let kind = report["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "SUITE-damaged-input")
        .map(|r| r["kind"].clone());
    assert_eq!(kind, Some(Value::from("suite")));

    // The PNG truncated inside its XMP chunk too; the reference itself passes.
    let (png, _) = run(&adapter, "implicit-png-read-truncated", true);
    assert_eq!(verdict_of(&png, "SUITE-damaged-input"), "fail");
    let (reference, _) = run(
        &format!("{} adapter", reference_bin().display()),
        "robust-",
        false,
    );
    assert_eq!(verdict_of(&reference, "SUITE-damaged-input"), "pass");
    // A filtered selection is a partial run (issue 10.2); every selected vector passed.
    assert_eq!(reference["overall"], "partial", "{reference:#}");
}
