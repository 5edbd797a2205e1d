//! `aigc-conform diff OLD NEW`: two reports compared. Which vectors were added, removed or
//! changed (by content hash when both reports carry one, else by requirements and expected
//! document), and which verdicts changed, per requirement and per vector.

use serde::Serialize;
use std::collections::BTreeMap;

use super::{StoredReport, VectorRow};

/// A verdict or outcome that differs between the two reports.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Change {
    /// Requirement or vector id.
    pub id: String,
    /// In the old report.
    pub old: String,
    /// In the new report.
    pub new: String,
}

/// A vector present in both reports whose content differs.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ChangedVector {
    /// Vector id.
    pub id: String,
    /// What tells: `content hash`, `requirements` or `expectation`.
    pub by: String,
    /// Requirement ids it names (old and new, merged).
    pub requirements: Vec<String>,
}

/// Everything that differs between two reports.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ReportDiff {
    /// `name version @ release` of the old report.
    pub old: String,
    /// The same of the new report.
    pub new: String,
    /// Vector ids only in the new report.
    pub vectors_added: Vec<String>,
    /// Vector ids only in the old report.
    pub vectors_removed: Vec<String>,
    /// Vectors in both whose content changed.
    pub vectors_changed: Vec<ChangedVector>,
    /// Whether content hashes were compared (both reports carry them).
    pub by_hash: bool,
    /// Requirement verdicts that differ (a requirement missing on one side shows as `absent`).
    pub requirement_changes: Vec<Change>,
    /// Vector outcomes that differ, for vectors in both reports.
    pub vector_changes: Vec<Change>,
    /// The overall verdict, when it differs.
    pub overall: Option<Change>,
}

impl ReportDiff {
    /// Whether nothing differs.
    pub fn is_empty(&self) -> bool {
        self.vectors_added.is_empty()
            && self.vectors_removed.is_empty()
            && self.vectors_changed.is_empty()
            && self.requirement_changes.is_empty()
            && self.vector_changes.is_empty()
            && self.overall.is_none()
    }
}

fn rows(r: &StoredReport) -> BTreeMap<String, VectorRow> {
    r.vectors().into_iter().map(|v| (v.id.clone(), v)).collect()
}

/// What changed in a vector between two rows, if anything.
fn vector_change(a: &VectorRow, b: &VectorRow, by_hash: bool) -> Option<&'static str> {
    if by_hash {
        return (a.content_sha256 != b.content_sha256).then_some("content hash");
    }
    let (mut ra, mut rb) = (a.requirements.clone(), b.requirements.clone());
    ra.sort();
    rb.sort();
    if ra != rb {
        Some("requirements")
    } else if a.expected != b.expected {
        Some("expectation")
    } else {
        None
    }
}

/// Compare `old` with `new`.
pub fn diff(old: &StoredReport, new: &StoredReport) -> ReportDiff {
    let (va, vb) = (rows(old), rows(new));
    let by_hash = va
        .values()
        .chain(vb.values())
        .all(|v| v.content_sha256.is_some());
    let mut d = ReportDiff {
        old: format!("{} @ {}", old.vendor(), old.release_label()),
        new: format!("{} @ {}", new.vendor(), new.release_label()),
        by_hash,
        ..ReportDiff::default()
    };
    d.vectors_added = vb
        .keys()
        .filter(|k| !va.contains_key(*k))
        .cloned()
        .collect();
    d.vectors_removed = va
        .keys()
        .filter(|k| !vb.contains_key(*k))
        .cloned()
        .collect();
    for (id, a) in &va {
        let Some(b) = vb.get(id) else { continue };
        if let Some(by) = vector_change(a, b, by_hash) {
            let mut reqs = a.requirements.clone();
            reqs.extend(b.requirements.iter().cloned());
            reqs.sort();
            reqs.dedup();
            d.vectors_changed.push(ChangedVector {
                id: id.clone(),
                by: by.into(),
                requirements: reqs,
            });
        }
        if a.outcome != b.outcome {
            d.vector_changes.push(Change {
                id: id.clone(),
                old: a.outcome.clone(),
                new: b.outcome.clone(),
            });
        }
    }
    let (ra, rb) = (old.requirement_verdicts(), new.requirement_verdicts());
    let ids: std::collections::BTreeSet<&String> = ra.keys().chain(rb.keys()).collect();
    for id in ids {
        let a = ra.get(id).map(String::as_str).unwrap_or("absent");
        let b = rb.get(id).map(String::as_str).unwrap_or("absent");
        if a != b {
            d.requirement_changes.push(Change {
                id: id.clone(),
                old: a.into(),
                new: b.into(),
            });
        }
    }
    if old.overall() != new.overall() {
        d.overall = Some(Change {
            id: "overall".into(),
            old: old.overall(),
            new: new.overall(),
        });
    }
    d
}

/// The diff in words, one fact per line.
pub fn render_text(d: &ReportDiff) -> String {
    let mut out = format!("old: {}\nnew: {}\n", d.old, d.new);
    if !d.by_hash {
        out.push_str(
            "note: a report has no content hashes; vectors compared by requirements and expected document only\n",
        );
    }
    if d.is_empty() {
        out.push_str("no differences\n");
        return out;
    }
    if let Some(c) = &d.overall {
        out.push_str(&format!("overall: {} -> {}\n", c.old, c.new));
    }
    for id in &d.vectors_added {
        out.push_str(&format!("vector added: {id}\n"));
    }
    for id in &d.vectors_removed {
        out.push_str(&format!("vector removed: {id}\n"));
    }
    for c in &d.vectors_changed {
        out.push_str(&format!(
            "vector changed ({}): {} [{}]\n",
            c.by,
            c.id,
            c.requirements.join(", ")
        ));
    }
    for c in &d.requirement_changes {
        out.push_str(&format!("requirement {}: {} -> {}\n", c.id, c.old, c.new));
    }
    for c in &d.vector_changes {
        out.push_str(&format!("vector {}: {} -> {}\n", c.id, c.old, c.new));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn report(vectors: Value, reqs: Value, overall: &str) -> StoredReport {
        StoredReport {
            path: "x/report.json".into(),
            doc: json!({
                "adapter": {"info": {"name": "impl", "version": "1"}},
                "suite": {"vectors_sha256": "00", "release": "1.0.0"},
                "requirements": reqs,
                "vectors": vectors,
                "overall": overall,
            }),
        }
    }

    #[test]
    fn without_hashes_expectations_and_requirements_are_compared() {
        let v = |id: &str, req: &str, verdict: &str, outcome: &str| {
            json!({"id": id, "requirements": [req], "outcome": outcome,
                   "expected": {"verdict": verdict}, "waiver": null})
        };
        let old = report(
            json!([
                v("a", "R1", "valid", "pass"),
                v("b", "R2", "invalid", "pass"),
                v("c", "R1", "valid", "pass")
            ]),
            json!([{"id": "R1", "verdict": "pass"}, {"id": "R2", "verdict": "pass"}]),
            "conformant",
        );
        let new = report(
            json!([
                v("a", "R1", "valid", "pass"),
                v("b", "R2", "valid", "fail"),
                v("d", "R3", "valid", "pass")
            ]),
            json!([{"id": "R1", "verdict": "pass"}, {"id": "R2", "verdict": "fail"}]),
            "non-conformant",
        );
        let d = diff(&old, &new);
        assert!(!d.by_hash);
        assert_eq!(d.vectors_added, ["d"]);
        assert_eq!(d.vectors_removed, ["c"]);
        assert_eq!(
            d.vectors_changed,
            [ChangedVector {
                id: "b".into(),
                by: "expectation".into(),
                requirements: vec!["R2".into()]
            }]
        );
        assert_eq!(
            d.requirement_changes,
            [Change {
                id: "R2".into(),
                old: "pass".into(),
                new: "fail".into()
            }]
        );
        assert_eq!(d.vector_changes.len(), 1);
        assert_eq!(d.overall.as_ref().unwrap().new, "non-conformant");
        assert!(diff(&old, &old).is_empty());
        let text = render_text(&d);
        assert!(
            text.contains("vector changed (expectation): b [R2]"),
            "{text}"
        );
        assert!(text.contains("requirement R2: pass -> fail"), "{text}");
    }
}
