//! The conformance report: one data model ([`Report`]), four writers (one module each).
//!
//! `report.json` is the record (schema: `conformance/schema/report.schema.json`); the Markdown,
//! HTML and JUnit files are views of the same data.

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

pub use build::RunTimes;

use crate::adapter::Limits;
use crate::checks::Outcome;
use crate::meta::Machine;
use crate::scope::ClaimedScope;
use crate::vector::Requirement;
use crate::verdict::{Overall, RequirementCounts, RequirementVerdict};
use crate::waivers::Waiver;

pub mod build;
pub mod escape;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod stable;

/// Version of the report format (bumped on incompatible changes of report.json).
pub const REPORT_FORMAT: u32 = 1;

/// The vector tree the run used.
#[derive(Debug, Clone, Serialize)]
pub struct SuiteInfo {
    /// Suite (harness crate) version.
    pub version: String,
    /// The vectors folder.
    pub root: String,
    /// SHA-256 over every file of the vectors folder (sorted paths; see `vector::tree_sha256`).
    pub vectors_sha256: String,
    /// Number of files hashed.
    pub files: usize,
    /// Number of vectors in the suite.
    pub vector_count: usize,
    /// Vector release (`vectors/RELEASE`; issue 11), absent when the folder has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
}

/// The interpretation profile in force.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileInfo {
    /// `id:` of profile.yaml.
    pub id: String,
    /// SHA-256 of the profile file.
    pub sha256: String,
    /// The binding reading of each open clause (`readings:` of the profile, issue 19), one line
    /// each: printed in every report, because verdicts on those clauses follow it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub readings: Vec<String>,
}

/// A file named on the adapter command line, with its hash (e.g. the script of `python3 x.py`).
#[derive(Debug, Clone, Serialize)]
pub struct HashedFile {
    /// The path as resolved.
    pub path: String,
    /// Its SHA-256.
    pub sha256: String,
}

/// The implementation under test.
#[derive(Debug, Clone, Serialize)]
pub struct AdapterInfo {
    /// The adapter command as given.
    pub command: String,
    /// Whether this is the reference's own adapter.
    pub reference: bool,
    /// The executable, resolved via PATH.
    pub executable: Option<String>,
    /// SHA-256 of the executable.
    pub executable_sha256: Option<String>,
    /// Arguments that name existing files (scripts), hashed.
    pub argument_files: Vec<HashedFile>,
    /// `process-per-request` or `persistent`.
    pub mode: String,
    /// How its processes were confined: `bwrap`, `none` or `in-process` (`crate::sandbox`).
    pub isolation: String,
    /// The `info` response.
    pub info: Value,
}

/// The selection of vectors.
#[derive(Debug, Clone, Serialize)]
pub struct Selection {
    /// The FILTER argument.
    pub filter: Option<String>,
    /// Whether `--exact` was given.
    pub exact: bool,
    /// `--requirement` ids (a vector naming any of them is selected).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requirements: Vec<String>,
    /// `--op` names.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ops: Vec<String>,
    /// `--media` types.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<String>,
    /// `--skip` patterns (substrings of vector ids left out).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skip: Vec<String>,
    /// Whether this is a subset of the suite (then the overall verdict is at best `partial`).
    pub partial: bool,
    /// Vectors run (or found not applicable).
    pub selected: usize,
    /// Vectors in the suite.
    pub total: usize,
    /// `K/N` when this run is shard K of N (`run --shard`; issue 11).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
}

/// One requirement in the report: the catalogue entry with its verdict.
///
/// Serialized as the catalogue's id, clause, level, testable, confidence, zh, en, evidence and
/// (when the suite cannot measure it) unmeasured, then `verdict`, `counts`, `vectors` and `not_applicable` (report.schema.json).
#[derive(Debug, Clone)]
pub struct RequirementResult {
    /// The catalogue entry.
    pub requirement: Requirement,
    /// The verdict.
    pub verdict: RequirementVerdict,
    /// Its vectors by outcome for this requirement.
    pub counts: RequirementCounts,
    /// Ids of the selected vectors that speak for it, not-applicable ones included.
    pub vectors: Vec<String>,
    /// Ids of those among them outside the claimed scope (set apart in the views).
    pub not_applicable: Vec<String>,
}

impl Serialize for RequirementResult {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let q = &self.requirement;
        let mut st = s.serialize_struct("RequirementResult", 13)?;
        st.serialize_field("id", &q.id)?;
        st.serialize_field("clause", &q.clause)?;
        if q.kind == crate::vector::Kind::Suite {
            st.serialize_field("kind", &q.kind)?;
        }
        st.serialize_field("level", &q.level)?;
        st.serialize_field("testable", &q.testable)?;
        st.serialize_field("confidence", &q.confidence)?;
        st.serialize_field("zh", &q.zh)?;
        st.serialize_field("en", &q.en)?;
        st.serialize_field("evidence", &q.evidence)?;
        if let Some(why) = &q.unmeasured {
            st.serialize_field("unmeasured", why)?;
        }
        st.serialize_field("verdict", &self.verdict)?;
        st.serialize_field("counts", &self.counts)?;
        st.serialize_field("vectors", &self.vectors)?;
        st.serialize_field("not_applicable", &self.not_applicable)?;
        st.end()
    }
}

/// One vector in the report.
#[derive(Debug, Clone, Serialize)]
pub struct VectorResult {
    /// Vector id.
    pub id: String,
    /// `manifest:line`.
    pub location: String,
    /// Requirement ids.
    pub requirements: Vec<String>,
    /// Protocol op.
    pub op: String,
    /// Media type.
    pub media: Option<String>,
    /// positive / negative / boundary / robustness.
    pub class: String,
    /// What it checks.
    pub description: String,
    /// The outcome.
    pub outcome: Outcome,
    /// Why it is not applicable, or the adapter failure, in words.
    pub message: Option<String>,
    /// Each broken expectation.
    pub findings: Vec<String>,
    /// The requirements a failure of this vector counts against (see checks::blame); empty
    /// when it passed.
    #[serde(default)]
    pub blame: Vec<String>,
    /// Requirements of the vector the oracle could not measure on this run (no pass for them
    /// from this vector; see `checks::Evaluation::unmeasured`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmeasured: Vec<String>,
    /// The active waiver covering this vector.
    pub waiver: Option<Waiver>,
    /// A waived vector that passes: the waiver can go.
    pub unexpected_pass: bool,
    /// Expected document.
    pub expected: Value,
    /// Actual document.
    pub actual: Value,
    /// Unified diff expected -> actual (empty on pass).
    pub diff: String,
    /// The request sent.
    pub request: Value,
    /// The raw response, when there was a JSON one.
    pub response: Option<Value>,
    /// Adapter stderr (capped).
    pub stderr: String,
    /// Milliseconds for the request.
    pub duration_ms: f64,
    /// The command that re-runs this one vector.
    pub reproduce: String,
    /// Content hash of the vector (input + manifest entry; `release::vector_sha256`; issue 11).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_sha256: Option<String>,
}

impl VectorResult {
    /// Failures not covered by a waiver.
    pub fn is_unwaived_failure(&self) -> bool {
        (self.outcome.is_failure() && self.waiver.is_none())
            || self.outcome == Outcome::HarnessError
    }
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Report format version.
    pub report_format: u32,
    /// `aigc-conform` and its version.
    pub tool: String,
    /// The vectors.
    pub suite: SuiteInfo,
    /// The profile.
    pub profile: ProfileInfo,
    /// The implementation.
    pub adapter: AdapterInfo,
    /// Where it ran.
    pub machine: Machine,
    /// Start, RFC 3339 UTC.
    pub started: String,
    /// End, RFC 3339 UTC.
    pub finished: String,
    /// Wall time of the run, seconds.
    pub duration_s: f64,
    /// Timeouts and caps in force.
    pub limits: Limits,
    /// What the implementation claims (`info`), and what it does not.
    pub scope: ClaimedScope,
    /// Filter.
    pub selection: Selection,
    /// The overall verdict.
    pub overall: Overall,
    /// The verdict in one line, both languages, as every view shows it first.
    pub headline: String,
    /// Vectors per outcome.
    pub counts: BTreeMap<String, usize>,
    /// Every requirement of the catalogue.
    pub requirements: Vec<RequirementResult>,
    /// Every selected vector.
    pub vectors: Vec<VectorResult>,
    /// Warnings (expired waivers, unexpected passes, ...).
    pub warnings: Vec<String>,
    /// Set when the implementation could not be tested at all (it cannot answer `info`): the
    /// evidence. The reports then say "cannot be tested" whatever `overall` holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cannot_be_tested: Option<String>,
    // ---- Certification (issue 10.4/10.6; `certify`): report id, mode, seed, operator, lab,
    // executables, tool versions. Absent from --stable reports.
    /// The certification record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certification: Option<crate::certify::Certification>,
}

/// Write all four files into `dir`.
pub fn write_all(report: &Report, dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let files = [
        ("report.json", json::render(report)),
        ("report.md", markdown::render(report)),
        ("report.html", html::render(report)),
        ("junit.xml", junit::render(report)),
    ];
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// The vectors whose explicit verdict hangs on a reading of an open clause: (vector id,
/// requirement, the summary "fails under reading A, passes under reading B ..."), from the
/// oracle's `actual.output.explicit_readings` (alternative readings annotate, never decide).
pub fn hanging_readings(r: &Report) -> Vec<(&str, String, String)> {
    let mut out = Vec::new();
    for v in &r.vectors {
        // The oracle's ledger of an output file sits under `output`.
        let Some(list) = v
            .actual
            .get("output")
            .unwrap_or(&v.actual)
            .get("explicit_readings")
            .and_then(Value::as_array)
        else {
            continue;
        };
        for x in list
            .iter()
            .filter(|x| x["hangs_on_reading"].as_bool() == Some(true))
        {
            out.push((
                v.id.as_str(),
                x["requirement"].as_str().unwrap_or("").to_string(),
                x["summary"].as_str().unwrap_or("").to_string(),
            ));
        }
    }
    out
}

/// A requirement level with the standard's word for it.
pub fn level_text(l: crate::vector::Level) -> &'static str {
    use crate::vector::Level;
    match l {
        Level::Mandatory => "应 mandatory",
        Level::Recommended => "宜 recommended",
        Level::Permitted => "可 permitted",
    }
}

/// The report's line for the suite's own requirements (`kind: suite`, issue 19): what this
/// suite expects beyond GB 45438 and the Measures, never counted in the overall verdict's
/// non-conformance. None when the catalogue has none.
pub fn suite_line(r: &Report) -> Option<String> {
    let suite: Vec<String> = r
        .requirements
        .iter()
        .filter(|q| q.requirement.kind == crate::vector::Kind::Suite)
        .map(|q| format!("{} {}", q.requirement.id, q.verdict.as_str()))
        .collect();
    (!suite.is_empty()).then(|| {
        format!(
            "套件要求（GB 45438之外，不计入符合性）/ Suite requirements (beyond GB 45438 and the Measures, not counted as non-conformance): {}",
            suite.join(", ")
        )
    })
}

/// The counts cell of the requirement table: "2 pass / 1 fail / 3 n/a / 0 waived / 1 inconclusive".
pub fn counts_text(c: &RequirementCounts) -> String {
    let mut s = format!(
        "{} pass / {} fail / {} n/a / {} waived / {} inconclusive",
        c.pass, c.fail, c.not_applicable, c.waived, c.inconclusive
    );
    if c.harness_error > 0 {
        s.push_str(&format!(" / {} harness error", c.harness_error));
    }
    s
}

impl Report {
    /// The claimed-scope rows every view shows before the results: roles, media per op, what
    /// was not claimed, and the selection.
    pub fn scope_rows(&self) -> Vec<(&'static str, String)> {
        let mut rows = vec![(
            "Roles claimed",
            if self.scope.roles.is_empty() {
                "(none)".to_string()
            } else {
                self.scope.roles.join(", ")
            },
        )];
        rows.extend(
            self.scope
                .media_lines()
                .into_iter()
                .map(|l| ("Media claimed", l)),
        );
        rows.push((
            "Not claimed",
            if self.scope.not_claimed.is_empty() {
                "(nothing the vectors test)".to_string()
            } else {
                self.scope.not_claimed.join("; ")
            },
        ));
        rows.push(("Selection", self.selection_text()));
        rows
    }

    /// "all 218 vectors" or "5 of 218 vectors (filter `png`, op read): partial run".
    pub fn selection_text(&self) -> String {
        let s = &self.selection;
        if !s.partial {
            return format!("all {} vectors", s.total);
        }
        let mut how = Vec::new();
        if let Some(f) = &s.filter {
            how.push(format!(
                "filter {f}{}",
                if s.exact { " (exact)" } else { "" }
            ));
        }
        for (what, list) in [
            ("requirement", &s.requirements),
            ("op", &s.ops),
            ("media", &s.media),
            ("skip", &s.skip),
        ] {
            if !list.is_empty() {
                how.push(format!("{what} {}", list.join(", ")));
            }
        }
        if let Some(k) = &s.shard {
            how.push(format!("shard {k}"));
        }
        format!(
            "{} of {} vectors ({}): a partial run, no overall conformance statement",
            s.selected,
            s.total,
            how.join("; ")
        )
    }

    /// The provenance rows every report format shows (what was run, on what, when), with
    /// `code` marking up commands and digests for the target format.
    pub fn provenance_rows(&self, code: impl Fn(&str) -> String) -> Vec<(&'static str, String)> {
        let info = |k: &str| {
            self.adapter
                .info
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("?")
                .to_string()
        };
        let mut rows = vec![
            (
                "Implementation",
                format!("{} {}", info("name"), info("version")),
            ),
            ("Adapter command", code(&self.adapter.command)),
            (
                "Executable",
                format!(
                    "{} (SHA-256 {})",
                    code(self.adapter.executable.as_deref().unwrap_or("?")),
                    code(self.adapter.executable_sha256.as_deref().unwrap_or("?"))
                ),
            ),
            ("Mode", self.adapter.mode.clone()),
            ("Isolation", self.adapter.isolation.clone()),
            ("Suite", format!("{} ({})", self.suite.version, self.tool)),
            (
                "Vectors",
                format!(
                    "{} vectors in {} files, SHA-256 {}",
                    self.suite.vector_count,
                    self.suite.files,
                    code(&self.suite.vectors_sha256)
                ),
            ),
            (
                "Profile",
                format!(
                    "{} (SHA-256 {})",
                    self.profile.id,
                    code(&self.profile.sha256)
                ),
            ),
            (
                "Binding readings",
                if self.profile.readings.is_empty() {
                    "(the profile names none)".to_string()
                } else {
                    self.profile.readings.join("; ")
                },
            ),
            (
                "Machine",
                format!(
                    "{}, {}, {} cores",
                    self.machine.hostname, self.machine.os, self.machine.cores
                ),
            ),
            (
                "Time",
                format!(
                    "{} – {} ({:.2} s)",
                    self.started, self.finished, self.duration_s
                ),
            ),
        ];
        // Certification rows (issue 10.6), first: what makes this report identifiable.
        if let Some(c) = &self.certification {
            let mode = match (&c.mode, c.seed) {
                (crate::certify::Mode::Official, Some(seed)) => format!(
                    "official (seed {seed}; {} fresh instances)",
                    c.scope.as_ref().map_or(0, |s| s.instances)
                ),
                (crate::certify::Mode::Official, None) => "official".into(),
                (crate::certify::Mode::Practice, _) => "practice (golden vectors)".into(),
            };
            let unset = || "(not given)".to_string();
            let certification_rows = vec![
                ("Report id", code(&c.report_id)),
                ("Run mode", mode),
                ("Operator", c.operator.clone().unwrap_or_else(unset)),
                ("Lab", c.lab.clone().unwrap_or_else(unset)),
                ("Isolation", c.isolation.clone()),
            ];
            rows.splice(0..0, certification_rows);
        }
        rows
    }
}

/// The method note on voice prompts (5.3 b, e), printed under the requirements of every
/// report: what the suite measures of a spoken prompt, and that it does not recognise words.
pub const VOICE_METHOD_NOTE: &str = "Method (5.3 voice prompts): the spoken wording is not recognised, since no speech-recognition model for Mandarin can be installed offline from the package registries; the suite measures only that the inserted audio is speech (voicing, pitch movement, syllable-rate modulation) and its speech rate against the declared prompt text, whose wording is judged as text.";
