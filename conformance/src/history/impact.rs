//! `aigc-conform impact --vectors DIR REPORTS...`: stored reports against the vectors of a new
//! release. For each report: which vectors were added, removed or changed since it was made,
//! which requirements changed (their text, level or clause, or the vectors behind them), and so
//! which of its verdicts may change — the list a site needs before it announces a release.

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

use super::StoredReport;
use crate::release::ReleaseIndex;
use crate::vector::Suite;

/// A requirement verdict of a stored report that the new release may change.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AffectedRequirement {
    /// Requirement id.
    pub id: String,
    /// Its verdict in the stored report (`absent` for a requirement new in the release).
    pub verdict: String,
    /// Why: the changed vectors and catalogue fields.
    pub reasons: Vec<String>,
}

/// The impact of the current vectors on one stored report.
#[derive(Debug, Clone, Serialize)]
pub struct ReportImpact {
    /// The report.json file.
    pub report: String,
    /// `name version` of the implementation.
    pub vendor: String,
    /// Release the report was made on.
    pub from_release: String,
    /// The current release.
    pub to_release: String,
    /// Vectors new in the current release.
    pub vectors_added: Vec<String>,
    /// Vectors of the report no longer in the release.
    pub vectors_removed: Vec<String>,
    /// Vectors whose content hash differs.
    pub vectors_changed: Vec<String>,
    /// Vectors of the report without a content hash (older report: changes cannot be seen).
    pub vectors_unhashed: usize,
    /// Requirements whose verdict may change.
    pub requirements: Vec<AffectedRequirement>,
}

impl ReportImpact {
    /// Whether the release changes nothing this report was graded on.
    pub fn is_unaffected(&self) -> bool {
        self.requirements.is_empty() && self.vectors_unhashed == 0
    }
}

/// Catalogue fields compared between a report and the current requirements.yaml.
const FIELDS: [&str; 5] = ["clause", "level", "testable", "zh", "en"];

/// Compare one stored report with the current suite and its index.
pub fn impact(suite: &Suite, index: &ReleaseIndex, r: &StoredReport) -> ReportImpact {
    let rows = r.vectors();
    let old: BTreeMap<&str, &super::VectorRow> = rows.iter().map(|v| (v.id.as_str(), v)).collect();
    // A filtered or sharded run did not see every vector: absent ones are not "added".
    let whole_run = r.doc["selection"]["filter"].is_null() && r.shard().is_none();
    let mut reasons: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut note = |req: &str, why: String| {
        reasons.entry(req.to_string()).or_default().insert(why);
    };

    let mut vectors_added = Vec::new();
    if whole_run {
        for (id, reqs) in &index.vector_requirements {
            if !old.contains_key(id.as_str()) {
                vectors_added.push(id.clone());
                for q in reqs {
                    note(q, format!("vector {id} added"));
                }
            }
        }
    }
    let mut vectors_removed = Vec::new();
    let mut vectors_changed = Vec::new();
    let mut vectors_unhashed = 0;
    for (id, row) in &old {
        match index.vectors.get(*id) {
            None => {
                vectors_removed.push(id.to_string());
                for q in &row.requirements {
                    note(q, format!("vector {id} removed"));
                }
            }
            Some(now) => match &row.content_sha256 {
                // An older report: unless it ran this very tree, a change cannot be seen.
                None if r.vectors_sha256() == index.tree_sha256 => {}
                None => vectors_unhashed += 1,
                Some(h) if h != now => {
                    vectors_changed.push(id.to_string());
                    let mut reqs: BTreeSet<&String> = row.requirements.iter().collect();
                    reqs.extend(index.vector_requirements.get(*id).into_iter().flatten());
                    for q in reqs {
                        note(q, format!("vector {id} changed"));
                    }
                }
                Some(_) => {}
            },
        }
    }

    // The catalogue: text, clause, level or testability changed; requirements added.
    let stored: BTreeMap<&str, &serde_json::Value> = r.doc["requirements"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|q| Some((q["id"].as_str()?, q)))
        .collect();
    for req in &suite.requirements {
        let now = serde_json::to_value(req).unwrap_or_default();
        match stored.get(req.id.as_str()) {
            None => note(&req.id, "requirement added".into()),
            Some(then) => {
                for f in FIELDS {
                    if then[f] != now[f] {
                        note(&req.id, format!("requirement {f} changed"));
                    }
                }
            }
        }
    }
    for id in stored.keys() {
        if suite.requirement(id).is_none() {
            note(id, "requirement removed from the catalogue".into());
        }
    }

    let verdicts = r.requirement_verdicts();
    let requirements = reasons
        .into_iter()
        .map(|(id, why)| AffectedRequirement {
            verdict: verdicts
                .get(&id)
                .cloned()
                .unwrap_or_else(|| "absent".into()),
            id,
            reasons: why.into_iter().collect(),
        })
        .collect();
    ReportImpact {
        report: r.path.display().to_string(),
        vendor: r.vendor(),
        from_release: r.release_label(),
        to_release: index.release.clone().unwrap_or_else(|| "unreleased".into()),
        vectors_added,
        vectors_removed,
        vectors_changed,
        vectors_unhashed,
        requirements,
    }
}

/// The impacts in words: per report, then per requirement the vendors whose verdict may change.
pub fn render_text(impacts: &[ReportImpact]) -> String {
    let mut out = String::new();
    let mut by_requirement: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for i in impacts {
        out.push_str(&format!(
            "{} ({}): release {} -> {}\n",
            i.vendor, i.report, i.from_release, i.to_release
        ));
        if i.vectors_unhashed > 0 {
            out.push_str(&format!(
                "  {} vectors have no content hash in this report: changes to them cannot be seen; re-run\n",
                i.vectors_unhashed
            ));
        }
        for (what, list) in [
            ("added", &i.vectors_added),
            ("removed", &i.vectors_removed),
            ("changed", &i.vectors_changed),
        ] {
            if !list.is_empty() {
                out.push_str(&format!("  vectors {what}: {}\n", list.join(", ")));
            }
        }
        if i.is_unaffected() {
            out.push_str("  no verdict can change\n");
        } else if i.requirements.is_empty() {
            out.push_str("  no change seen, but the report cannot show every change\n");
        }
        for q in &i.requirements {
            out.push_str(&format!(
                "  {} (now {}) may change: {}\n",
                q.id,
                q.verdict,
                q.reasons.join("; ")
            ));
            by_requirement
                .entry(&q.id)
                .or_default()
                .push(format!("{} ({})", i.vendor, q.verdict));
        }
    }
    if !by_requirement.is_empty() {
        out.push_str("\nby requirement:\n");
        for (id, vendors) in by_requirement {
            out.push_str(&format!("  {id}: {}\n", vendors.join(", ")));
        }
    }
    out
}
