//! `aigc-conform merge DIR...`: shard reports (`run --shard K/N`) joined into the report of one
//! unsharded run. Per-vector results are taken as they are; requirement verdicts and the
//! overall verdict are recomputed from the union with [`crate::verdict`], the way `run` grades
//! them, so the merged verdict equals an unsharded run's.
//!
//! The merge refuses shards that do not belong together: different vector trees, profiles or
//! implementations, a vector in two shards, a missing or repeated shard.

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::StoredReport;
use crate::checks::Outcome;
use crate::vector::{Level, Requirement, Testable};
use crate::verdict::{self, RequirementVerdict, VectorOutcome};

/// Every outcome, to read them back from report.json by their stable names.
const OUTCOMES: [Outcome; 13] = [
    Outcome::Pass,
    Outcome::Inconclusive,
    Outcome::Fail,
    Outcome::NotApplicable,
    Outcome::Crash,
    Outcome::Timeout,
    Outcome::Garbage,
    Outcome::ProtocolViolation,
    Outcome::OutputTooLarge,
    Outcome::OutputMissing,
    Outcome::WroteOutside,
    Outcome::LeftRunning,
    Outcome::HarnessError,
];

fn outcome(name: &str) -> Result<Outcome, String> {
    OUTCOMES
        .iter()
        .copied()
        .find(|o| o.as_str() == name)
        .ok_or_else(|| format!("unknown outcome {name:?}"))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// `manifest:line` → (manifest, line): the suite's own order (manifests sorted, then lines).
fn location_key(v: &Value) -> (String, usize) {
    let loc = v["location"].as_str().unwrap_or("");
    match loc.rsplit_once(':') {
        Some((file, line)) => (file.to_string(), line.parse().unwrap_or(0)),
        None => (loc.to_string(), 0),
    }
}

/// Check that the reports are the shards of one run.
fn check_shards(shards: &[StoredReport]) -> Result<Vec<String>, String> {
    let first = shards.first().ok_or("merge needs at least one report")?;
    let mut notes = Vec::new();
    for s in &shards[1..] {
        for (what, a, b) in [
            ("vector tree", first.vectors_sha256(), s.vectors_sha256()),
            (
                "profile",
                first.doc["profile"]["sha256"].to_string(),
                s.doc["profile"]["sha256"].to_string(),
            ),
            ("implementation", first.vendor(), s.vendor()),
            (
                "filter",
                first.doc["selection"]["filter"].to_string(),
                s.doc["selection"]["filter"].to_string(),
            ),
            (
                "adapter command",
                first.doc["adapter"]["command"].to_string(),
                s.doc["adapter"]["command"].to_string(),
            ),
        ] {
            if a != b {
                return Err(format!(
                    "{} and {} ran different {what}s ({a} / {b}): not shards of one run",
                    first.path.display(),
                    s.path.display()
                ));
            }
        }
    }
    let labels: Vec<Option<(usize, usize)>> = shards
        .iter()
        .map(|s| s.shard().and_then(|t| super::shard::parse_shard(&t).ok()))
        .collect();
    if labels.iter().all(Option::is_some) {
        let n = labels[0].map(|(_, n)| n).unwrap_or(0);
        let mut seen = BTreeSet::new();
        for (s, l) in shards.iter().zip(&labels) {
            let (k, m) = l.unwrap_or((0, 0));
            if m != n {
                return Err(format!(
                    "{} is shard {k}/{m}, the others are of {n}",
                    s.path.display()
                ));
            }
            if !seen.insert(k) {
                return Err(format!("shard {k}/{n} is given twice"));
            }
        }
        let missing: Vec<String> = (1..=n)
            .filter(|k| !seen.contains(k))
            .map(|k| format!("{k}/{n}"))
            .collect();
        if !missing.is_empty() {
            return Err(format!("missing shard(s): {}", missing.join(", ")));
        }
        notes.push(format!(
            "merged from {n} shards ({})",
            shards
                .iter()
                .map(|s| s.path.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    } else {
        notes.push(format!(
            "merged from {} reports that do not all name their shard",
            shards.len()
        ));
    }
    Ok(notes)
}

/// Merge shard reports into one report document (the report.json of the whole run).
pub fn merge(shards: &[StoredReport]) -> Result<Value, String> {
    let mut warnings = check_shards(shards)?;
    let first = &shards[0];

    // Vectors: every shard's, each once, in suite order.
    let mut vectors: Vec<Value> = Vec::new();
    let mut seen = BTreeMap::new();
    for s in shards {
        for v in s.doc["vectors"].as_array().into_iter().flatten() {
            let id = v["id"].as_str().unwrap_or("?").to_string();
            if let Some(other) = seen.insert(id.clone(), s.path.clone()) {
                return Err(format!(
                    "vector {id} is in both {} and {}",
                    other.display(),
                    s.path.display()
                ));
            }
            vectors.push(v.clone());
        }
        for w in strings(&s.doc["warnings"]) {
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
    }
    vectors.sort_by_key(location_key);

    // Requirements: recomputed from the union, as run::build_report grades them.
    let mut requirements = Vec::new();
    let mut graded = Vec::new();
    for r in first.doc["requirements"].as_array().into_iter().flatten() {
        let id = r["id"].as_str().unwrap_or("?").to_string();
        let level: Level = serde_json::from_value(r["level"].clone())
            .map_err(|e| format!("requirement {id}: level: {e}"))?;
        let testable: Testable = serde_json::from_value(r["testable"].clone())
            .map_err(|e| format!("requirement {id}: testable: {e}"))?;
        let verdicts: Vec<String> = shards
            .iter()
            .filter_map(|s| {
                s.doc["requirements"]
                    .as_array()?
                    .iter()
                    .find(|x| x["id"] == r["id"])
                    .and_then(|x| x["verdict"].as_str())
                    .map(String::from)
            })
            .collect();
        let retired = verdicts
            .iter()
            .any(|v| v == RequirementVerdict::Retired.as_str());
        // Every shard graded against the whole suite: a requirement has vectors when any shard
        // saw some (its own, or a failure charged to it).
        let has_vectors = verdicts.iter().any(|v| {
            v != RequirementVerdict::NotTested.as_str()
                && v != RequirementVerdict::NotTestedProcedural.as_str()
        });
        let req = Requirement {
            id: id.clone(),
            clause: r["clause"].as_str().unwrap_or("").into(),
            level,
            testable,
            confidence: r["confidence"].as_str().unwrap_or("").into(),
            zh: String::new(),
            en: String::new(),
            how: None,
            evidence: None,
            unmeasured: r["unmeasured"].as_str().map(str::to_string),
            retired,
            note: None,
            problem_codes: Vec::new(),
            kind: serde_json::from_value(r["kind"].clone()).unwrap_or_default(),
            line: 0,
        };
        let mut mine = Vec::new();
        let mut not_applicable = Vec::new();
        let mut outcomes = Vec::new();
        for v in &vectors {
            let names = strings(&v["requirements"]);
            let blame = strings(&v["blame"]);
            if !names.contains(&id) && !blame.contains(&id) {
                continue;
            }
            let o = outcome(v["outcome"].as_str().unwrap_or("?"))
                .map_err(|e| format!("vector {}: {e}", v["id"]))?;
            let unmeasured = strings(&v["unmeasured"]);
            let charged_elsewhere = !blame.is_empty() && !blame.contains(&id);
            outcomes.push(VectorOutcome {
                // As report::build::outcome_for: a failure charged elsewhere (checks::blame)
                // does not fail this requirement; an unmeasured one gives it no pass.
                outcome: if unmeasured.contains(&id)
                    && (o == Outcome::Pass || (o.is_failure() && charged_elsewhere))
                {
                    Outcome::Inconclusive
                } else if o.is_failure() && charged_elsewhere {
                    Outcome::Pass
                } else {
                    o
                },
                waived: !v["waiver"].is_null(),
            });
            if o == Outcome::NotApplicable {
                not_applicable.push(v["id"].clone());
            }
            mine.push(v["id"].clone());
        }
        let verdict = verdict::requirement_verdict(&req, has_vectors, &outcomes);
        graded.push((crate::report::build::graded_level(&req), verdict));
        let mut row = r.clone();
        row["verdict"] = json!(verdict.as_str());
        row["counts"] = json!(verdict::RequirementCounts::of(&outcomes));
        row["vectors"] = Value::Array(mine);
        row["not_applicable"] = Value::Array(not_applicable);
        requirements.push(row);
    }
    // The union is partial when the shards were filtered, or do not cover the suite.
    let sel = &first.doc["selection"];
    let total = sel["total"].as_u64().unwrap_or(0) as usize;
    let filtered = !sel["filter"].is_null()
        || ["requirements", "ops", "media", "skip"]
            .iter()
            .any(|k| !strings(&sel[*k]).is_empty());
    let mut tally = verdict::Tally {
        selected: vectors.len(),
        total,
        partial: filtered || vectors.len() < total,
        ..verdict::Tally::default()
    };
    for v in &vectors {
        let o = outcome(v["outcome"].as_str().unwrap_or("?"))
            .map_err(|e| format!("vector {}: {e}", v["id"]))?;
        tally.add(o, !v["waiver"].is_null());
    }
    let overall = verdict::overall_of_run(
        &graded,
        verdict::RunFacts {
            partial: tally.partial,
            harness_errors: tally.harness_errors,
        },
    );

    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for v in &vectors {
        *counts
            .entry(v["outcome"].as_str().unwrap_or("?").to_string())
            .or_insert(0) += 1;
    }
    let machines: BTreeSet<String> = shards
        .iter()
        .map(|s| {
            s.doc["machine"]["hostname"]
                .as_str()
                .unwrap_or("?")
                .to_string()
        })
        .collect();
    if machines.len() > 1 {
        warnings.push(format!(
            "shards ran on {} machines: {}",
            machines.len(),
            machines.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }

    let mut doc = first.doc.clone();
    let text = |s: &StoredReport, k: &str| s.doc[k].as_str().unwrap_or("").to_string();
    doc["started"] = json!(shards.iter().map(|s| text(s, "started")).min());
    doc["finished"] = json!(shards.iter().map(|s| text(s, "finished")).max());
    // The machine time of all shards together.
    doc["duration_s"] = json!(shards
        .iter()
        .map(|s| s.doc["duration_s"].as_f64().unwrap_or(0.0))
        .sum::<f64>());
    doc["selection"]["selected"] = json!(vectors.len());
    if let Some(sel) = doc["selection"].as_object_mut() {
        sel.remove("shard");
    }
    doc["selection"]["partial"] = json!(tally.partial);
    doc["overall"] = json!(overall.as_str());
    doc["headline"] = json!(verdict::headline(overall, &tally));
    doc["counts"] = json!(counts);
    doc["requirements"] = Value::Array(requirements);
    doc["vectors"] = Value::Array(vectors);
    doc["warnings"] = json!(warnings);
    Ok(doc)
}

/// Write `doc` as `dir/report.json` (atomically: a temporary file, then a rename).
pub fn write_report(doc: &Value, dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join("report.json");
    let tmp = dir.join(".report.json.tmp");
    let text = serde_json::to_string_pretty(doc).map_err(|e| e.to_string())? + "\n";
    std::fs::write(&tmp, text).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_reads_back() {
        for o in OUTCOMES {
            assert_eq!(outcome(o.as_str()), Ok(o));
        }
        assert!(outcome("exploded").is_err());
    }
}
