//! The suite tests itself: every mutant implementation (conformance/mutants/mutant.py, the
//! reference with exactly one requirement broken) must be found non-conformant, and the failing
//! requirements must be exactly the one the mutant breaks (plus the collateral it names, each
//! with its reason in the mutant table). A mutant that passes, or that fails elsewhere, shows a
//! hole in the vectors or in the attribution of failures (checks::blame).

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::canonicalize(&p).unwrap_or(p)
}

fn reference_bin() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "-q", "-p", "aigc-label", "--bin", "aigc-label"])
        .current_dir(workspace())
        .status()
        .expect("cargo build -p aigc-label");
    assert!(status.success());
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
        .join("debug/aigc-label")
}

struct Mutant {
    name: String,
    breaks: String,
    collateral: BTreeSet<String>,
}

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
            }
        })
        .collect()
}

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
    let list: Vec<&Mutant> = list
        .iter()
        .filter(|m| only.as_ref().is_none_or(|o| o.contains(&m.name)))
        .collect();
    assert!(!list.is_empty(), "AIGC_MUTANTS names no mutant");
    let mut problems = Vec::new();
    for m in list {
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
                "--out",
                out.path().to_str().unwrap(),
                "--adapter",
            ])
            .arg(format!("python3 {} {}", script.display(), m.name))
            .env("AIGC_LABEL", &bin)
            .current_dir(workspace())
            .output()
            .expect("aigc-conform");
        let text = std::fs::read_to_string(out.path().join("report.json")).unwrap_or_else(|e| {
            panic!(
                "{}: no report ({e}): {}",
                m.name,
                String::from_utf8_lossy(&o.stderr)
            )
        });
        let report: Value = serde_json::from_str(&text).unwrap();
        let failing: BTreeSet<String> = report["requirements"]
            .as_array()
            .unwrap()
            .iter()
            // A 宜/可 requirement that fails is an observation (verdict.rs).
            .filter(|r| r["verdict"] == "fail" || r["verdict"] == "observation")
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect();
        let mut want = m.collateral.clone();
        want.insert(m.breaks.clone());
        let level_mandatory = report["requirements"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == m.breaks.as_str() && r["level"] == "mandatory");
        let expected_overall = if level_mandatory {
            "non-conformant"
        } else {
            "conformant-with-observations"
        };
        eprintln!(
            "{:<32} breaks {:<18} failing {:?} overall {}",
            m.name, m.breaks, failing, report["overall"]
        );
        if failing != want || report["overall"] != expected_overall {
            let failures: Vec<String> = report["vectors"]
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
                .collect();
            problems.push(format!(
                "{}: expected failing {:?} ({expected_overall}), got {:?} ({})\n{}",
                m.name,
                want,
                failing,
                report["overall"],
                failures.join("\n")
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
