//! Result history (issue 11): what happens to finished reports.
//!
//! Everything here reads `report.json` files written by `run` (schema:
//! `conformance/schema/report.schema.json`) and never runs an implementation:
//! - [`shard`]: the deterministic split of the vectors behind `run --shard K/N`;
//! - [`merge`]: shard reports joined into the report of an unsharded run (`merge`);
//! - [`diff`]: two reports compared vector by vector and requirement by requirement (`diff`);
//! - [`impact`]: stored reports against the current vectors: what a release changes (`impact`);
//! - [`store`]: the SQLite results database (`archive`, `query`);
//! - [`board`]: the static results board written from the store (`board`);
//! - [`cli`]: the subcommands.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub mod board;
pub mod cli;
pub mod diff;
pub mod impact;
pub mod merge;
pub mod shard;
pub mod store;

/// Largest report.json read (a full run with every request and response is a few MiB).
pub const MAX_REPORT_BYTES: u64 = 256 << 20;

/// Signature files looked for beside report.json (the signing format is another issue's; the
/// history only records whether one is present).
pub const SIGNATURE_FILES: &[&str] = &[
    "report.sig",
    "report.json.sig",
    "report.json.minisig",
    "report.json.asc",
    "report.json.sigstore.json",
];

/// A finished report as read back from disk.
#[derive(Debug, Clone)]
pub struct StoredReport {
    /// The report.json file.
    pub path: PathBuf,
    /// Its content.
    pub doc: Value,
}

/// One requirement row of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequirementRow {
    /// Id.
    pub id: String,
    /// Clause reference.
    pub clause: String,
    /// Level (`mandatory`, ...).
    pub level: String,
    /// Verdict (`pass`, `fail`, ...).
    pub verdict: String,
}

/// One vector row of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorRow {
    /// Id.
    pub id: String,
    /// Requirement ids it names.
    pub requirements: Vec<String>,
    /// Outcome (`pass`, `fail`, ...).
    pub outcome: String,
    /// Content hash, when the report carries one.
    pub content_sha256: Option<String>,
    /// The expected document.
    pub expected: Value,
    /// Whether a waiver covered it.
    pub waived: bool,
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(*k))?.as_str()
}

impl StoredReport {
    /// Read `path`: a report.json file, or a folder holding one.
    pub fn load(path: &Path) -> Result<StoredReport, String> {
        let file = if path.is_dir() {
            path.join("report.json")
        } else {
            path.to_path_buf()
        };
        let meta = std::fs::metadata(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        if !meta.is_file() {
            return Err(format!("{}: not a regular file", file.display()));
        }
        if meta.len() > MAX_REPORT_BYTES {
            return Err(format!(
                "{}: {} bytes, more than the {} a report may have",
                file.display(),
                meta.len(),
                MAX_REPORT_BYTES
            ));
        }
        let text =
            std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let doc: Value = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}: not JSON at line {} column {}: {e}",
                file.display(),
                e.line(),
                e.column()
            )
        })?;
        for key in ["adapter", "suite", "requirements", "vectors", "overall"] {
            if doc.get(key).is_none() {
                return Err(format!(
                    "{}: not an aigc-conform report (no {key:?})",
                    file.display()
                ));
            }
        }
        Ok(StoredReport { path: file, doc })
    }

    /// The folder holding report.json (and the other report files).
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// Implementation name, from the adapter's `info`.
    pub fn implementation(&self) -> String {
        str_at(&self.doc, &["adapter", "info", "name"])
            .unwrap_or("?")
            .to_string()
    }

    /// Implementation version, from the adapter's `info`.
    pub fn version(&self) -> String {
        str_at(&self.doc, &["adapter", "info", "version"])
            .unwrap_or("?")
            .to_string()
    }

    /// `name version`.
    pub fn vendor(&self) -> String {
        format!("{} {}", self.implementation(), self.version())
    }

    /// Vector release the run used (absent in reports made before releases existed).
    pub fn release(&self) -> Option<String> {
        str_at(&self.doc, &["suite", "release"]).map(str::to_string)
    }

    /// Release, or `unreleased (<tree hash prefix>)`.
    pub fn release_label(&self) -> String {
        self.release().unwrap_or_else(|| {
            let h = self.vectors_sha256();
            format!("unreleased ({})", &h[..h.len().min(12)])
        })
    }

    /// SHA-256 of the vector tree.
    pub fn vectors_sha256(&self) -> String {
        str_at(&self.doc, &["suite", "vectors_sha256"])
            .unwrap_or("")
            .to_string()
    }

    /// `persistent` or `process-per-request`.
    pub fn mode(&self) -> String {
        str_at(&self.doc, &["adapter", "mode"])
            .unwrap_or("?")
            .to_string()
    }

    /// Start time (RFC 3339).
    pub fn started(&self) -> String {
        str_at(&self.doc, &["started"]).unwrap_or("").to_string()
    }

    /// The overall verdict.
    pub fn overall(&self) -> String {
        str_at(&self.doc, &["overall"]).unwrap_or("?").to_string()
    }

    /// `K/N` when the report is one shard.
    pub fn shard(&self) -> Option<String> {
        str_at(&self.doc, &["selection", "shard"]).map(str::to_string)
    }

    /// Roles the implementation declared.
    pub fn roles(&self) -> Vec<String> {
        let mut r: Vec<String> = self.doc["adapter"]["info"]["roles"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        r.sort();
        r.dedup();
        r
    }

    /// Top-level media families (`image`, `audio`, `video`, `text`, `application`) the
    /// implementation declared for any op.
    pub fn media_families(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        if let Some(m) = self.doc["adapter"]["info"]["media"].as_object() {
            for list in m.values().filter_map(Value::as_array) {
                for t in list.iter().filter_map(Value::as_str) {
                    out.push(t.split('/').next().unwrap_or(t).to_string());
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Every requirement row, in report order.
    pub fn requirements(&self) -> Vec<RequirementRow> {
        self.doc["requirements"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|r| RequirementRow {
                        id: str_at(r, &["id"]).unwrap_or("?").into(),
                        clause: str_at(r, &["clause"]).unwrap_or("").into(),
                        level: str_at(r, &["level"]).unwrap_or("").into(),
                        verdict: str_at(r, &["verdict"]).unwrap_or("?").into(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every vector row, in report order.
    pub fn vectors(&self) -> Vec<VectorRow> {
        self.doc["vectors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|v| VectorRow {
                        id: str_at(v, &["id"]).unwrap_or("?").into(),
                        requirements: v["requirements"]
                            .as_array()
                            .map(|a| {
                                a.iter()
                                    .filter_map(Value::as_str)
                                    .map(String::from)
                                    .collect()
                            })
                            .unwrap_or_default(),
                        outcome: str_at(v, &["outcome"]).unwrap_or("?").into(),
                        content_sha256: str_at(v, &["content_sha256"]).map(String::from),
                        expected: v["expected"].clone(),
                        waived: !v["waiver"].is_null(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Requirement id → verdict.
    pub fn requirement_verdicts(&self) -> BTreeMap<String, String> {
        self.requirements()
            .into_iter()
            .map(|r| (r.id, r.verdict))
            .collect()
    }

    /// The signature file beside report.json, if any.
    pub fn signature_file(&self) -> Option<PathBuf> {
        SIGNATURE_FILES
            .iter()
            .map(|n| self.dir().join(n))
            .find(|p| p.is_file())
    }

    /// `present` (a signature file lies beside the report; not verified here) or `unsigned`.
    pub fn signature_status(&self) -> &'static str {
        if self.signature_file().is_some() {
            "present"
        } else {
            "unsigned"
        }
    }
}

/// The clause group of a requirement for the board's column headers: the clause or article
/// without its item (`GB 45438-2025 5.1 a)` → `GB 45438-2025 5.1`, `Measures Art. 6(2)` →
/// `Measures Art. 6`, every TC260 practice guide in one group).
pub fn clause_group(clause: &str) -> String {
    let first = clause.split(';').next().unwrap_or("").trim();
    let word = |s: &str| s.split_whitespace().next().unwrap_or("").to_string();
    if let Some(rest) = first.strip_prefix("GB 45438-2025 ") {
        return match rest.strip_prefix("Annex ") {
            Some(annex) => format!("GB 45438-2025 Annex {}", word(annex)),
            None => format!("GB 45438-2025 {}", word(rest)),
        };
    }
    if let Some(rest) = first.strip_prefix("Measures Art. ") {
        let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
        return format!("Measures Art. {n}");
    }
    if first.starts_with("TC260-PG") {
        return "TC260 practice guides".into();
    }
    first.to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn clause_groups() {
        assert_eq!(
            super::clause_group("GB 45438-2025 5.1 a)"),
            "GB 45438-2025 5.1"
        );
        assert_eq!(
            super::clause_group("GB 45438-2025 Annex E d); TC260-PG-20252A"),
            "GB 45438-2025 Annex E"
        );
        assert_eq!(super::clause_group("Measures Art. 6(2)"), "Measures Art. 6");
        assert_eq!(
            super::clause_group("TC260-PG-20258A (text) metadata placement"),
            "TC260 practice guides"
        );
    }
}
