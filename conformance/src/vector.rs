//! Vector manifests (`vectors/<area>/*.yaml`) and the requirement catalogue
//! (`vectors/requirements.yaml`), as specified in `vectors/FORMAT.md`.
//!
//! Every field is typed and unknown keys are refused, so a typo in a manifest is a lint error,
//! not a silently ignored expectation.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Protocol operations a vector can exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// Report the labels of a file.
    Read,
    /// Write a labelled copy (generation service).
    Label,
    /// Act as a propagation platform.
    Propagate,
}

impl Op {
    /// The protocol name of the op.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Read => "read",
            Op::Label => "label",
            Op::Propagate => "propagate",
        }
    }

    /// The role an implementation must declare in `info` for this op.
    pub fn role(self) -> &'static str {
        match self {
            Op::Read => "reader",
            Op::Label => "generator",
            Op::Propagate => "platform",
        }
    }
}

/// What kind of case a vector is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VectorClass {
    /// Conforming input or behaviour that must be accepted.
    Positive,
    /// Non-conforming input that must be detected or refused.
    Negative,
    /// At the edge of a rule.
    Boundary,
    /// Hostile or broken input that must not crash the implementation.
    Robustness,
}

/// `expect.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ExpectStatus {
    /// The request is handled.
    #[default]
    Ok,
    /// The input is refused as invalid.
    Rejected,
    /// Refused or failed: either is acceptable (broken containers).
    RejectedOrError,
    /// Any status: only the other expectations count.
    Any,
}

impl ExpectStatus {
    /// Whether an adapter's `status` satisfies this expectation.
    pub fn accepts(self, status: &str) -> bool {
        match self {
            ExpectStatus::Ok => status == "ok",
            ExpectStatus::Rejected => status == "rejected",
            ExpectStatus::RejectedOrError => status == "rejected" || status == "error",
            ExpectStatus::Any => true,
        }
    }

    /// The name as written in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            ExpectStatus::Ok => "ok",
            ExpectStatus::Rejected => "rejected",
            ExpectStatus::RejectedOrError => "rejected-or-error",
            ExpectStatus::Any => "any",
        }
    }
}

/// Whole-file verdict of `read` (`expect.verdict`, `expect.output.verdict`): the protocol's.
pub use aigc_label::protocol::Verdict;

/// `expect.notice` of propagate vectors: the notice levels of the Measures Art. 6, as the
/// reference's platform role names them.
pub use aigc_label::platform::Notice;

/// `expect.output`: the output file as judged by the reference decoder.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectOutput {
    /// Reference verdict of the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// Fields of the output's single label (the keys given must match exactly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Map<String, Value>>,
    /// Number of label copies in the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_count: Option<usize>,
    /// Output format id equals input format id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_format: Option<bool>,
    /// Payload (everything but label carriers) identical to the input's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_unchanged: Option<bool>,
    /// Explicit label: the reference judges every chapter-5 requirement the vector names on the
    /// output (checks::oracle::check_explicit); the keys describe the expected measurements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explicit: Option<ExpectExplicit>,
}

/// The kind of audio prompt asked for (`expect.output.explicit.audio_label`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AudioLabel {
    /// The 短长短短 rhythm (5.3 c).
    Rhythm,
    /// A spoken prompt.
    Voice,
    /// Either.
    RhythmOrVoice,
}

/// `expect.output.explicit`: the measurements the standard's text implies for the output's
/// explicit label (vectors/explicit/README.md lists each key and the `check --json` field it
/// corresponds to). The harness judges the chapter-5 requirements the vector names with the
/// profile's thresholds; `audio_label` and `voice_text` also steer the check, the other keys
/// document the expected measurements for people and are kept in the report.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectExplicit {
    /// A label was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present: Option<bool>,
    /// `conforms` / `fails` / `profile:accept_ai_variants`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wording: Option<String>,
    /// The wording is judged from OCR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocr: Option<bool>,
    /// Text/audio: `start` / `middle` / `end` / `any`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    /// Text: 1-based line of the prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// Image/video: `edge`, `corner`, `not-edge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    /// Rendered glyph height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_height_px: Option<f64>,
    /// Glyph height / shortest side, at least.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_height_ratio: Option<f64>,
    /// Verdict of GB-5.2-e / GB-5.4-f.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height_ok: Option<bool>,
    /// The audio prompt asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_label: Option<AudioLabel>,
    /// Short/long pattern of the first burst group (短/长).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// [lo, hi] the measured speech rate must fall in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speech_rate_chars_per_min: Option<[u32; 2]>,
    /// Verdict of GB-5.3-e.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speech_rate_ok: Option<bool>,
    /// Video: first frame showing the label, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_shown_s: Option<f64>,
    /// Video: uninterrupted display from the first frame, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shown_from_start_s: Option<f64>,
    /// Video: at least this display from the start, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_shown_from_start_s: Option<f64>,
    /// Verdict of GB-5.4-c.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ok: Option<bool>,
    /// Verdict of GB-5.4-g.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ok: Option<bool>,
    /// The spoken prompt's text, for the speech-rate measurement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice_text: Option<String>,
}

/// `expect`: what must hold. Every key is optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Response status (default `ok`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ExpectStatus>,
    /// `read`: the verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// `read`: the fields of every label reported (order-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<Map<String, Value>>>,
    /// `read`: the security status (TC260-PG-202511A) of every label, in file order. Optional
    /// in protocol v1: judged only when the response reports `security` on every label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<Vec<aigc_label::security::Status>>,
    /// `read`: problem codes the reader must report on its labels (`labels[].problems`,
    /// optional in protocol v1): a soft-rule breach (a warning, the label stays valid) that a
    /// reader must notice. Judged only when the response reports `problems`; a reader that
    /// reports none leaves the vector's requirements unmeasured, never passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problems: Option<Vec<String>>,
    /// `propagate`: the notice level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<Notice>,
    /// `label`/`propagate`: the output file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<ExpectOutput>,
}

/// One vector as written in a manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vector {
    /// Stable id, `[a-z0-9-]+`, unique across the tree.
    pub id: String,
    /// Requirement ids (at least one).
    pub requirements: Vec<String>,
    /// Kind of case.
    pub class: VectorClass,
    /// Tag of the bug this catches.
    #[serde(default)]
    pub bug_class: Option<String>,
    /// Where the input came from.
    pub provenance: String,
    /// What the vector checks, for people.
    pub description: String,
    /// Protocol op.
    pub op: Op,
    /// Media type sent in the request (null: the adapter sniffs).
    #[serde(default)]
    pub media: Option<String>,
    /// Input file, relative to the manifest's folder.
    pub input: String,
    /// Op-specific request fields merged into the request.
    #[serde(default)]
    pub request: Map<String, Value>,
    /// Expectations.
    #[serde(default)]
    pub expect: Expect,
    /// Problem codes of the profile whose grading this vector's expectation rests on (issue 18:
    /// a golden expectation that is a profile choice, not the standard's text). The expected
    /// read verdict follows the profile in force: `valid` as written while every code is graded
    /// below `error`, `invalid` (`conflict` for conflicting-labels) once one is an error; a
    /// stricter reader is charged only to the vector's non-mandatory requirements.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profile_choice: Vec<String>,
    /// Optional attribution overrides: check name (e.g. `output.fields.ContentPropagator`) →
    /// the requirement ids a failure of that check is counted against (see checks::blame).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub blame: std::collections::BTreeMap<String, Vec<String>>,
    /// The manifest file (relative to the vectors root), filled in on load.
    #[serde(skip)]
    pub manifest: PathBuf,
    /// Line of `- id:` in the manifest (1-based, 0 when unknown), filled in on load.
    #[serde(skip)]
    pub line: usize,
}

impl Vector {
    /// Absolute path of the input file.
    pub fn input_path(&self, root: &Path) -> PathBuf {
        let folder = root.join(&self.manifest);
        folder.parent().unwrap_or(Path::new(".")).join(&self.input)
    }

    /// `file:line` of the vector, for messages.
    pub fn location(&self) -> String {
        format!("{}:{}", self.manifest.display(), self.line)
    }

    /// The interaction rounds the request names (`request.explicit.rounds`, protocol v1: a list
    /// of `[start, end]` seconds of the input), each entry parsed on its own (`None`: not two
    /// numbers); `None` when the key is absent or not a list. Lint refuses any malformed entry;
    /// the oracle judges the well-formed ones.
    pub fn explicit_rounds(&self) -> Option<Vec<Option<[f64; 2]>>> {
        let list = self.request.get("explicit")?.get("rounds")?.as_array()?;
        Some(
            list.iter()
                .map(|r| Some([r.get(0)?.as_f64()?, r.get(1)?.as_f64()?]))
                .collect(),
        )
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    vectors: Vec<Vector>,
}

/// Requirement level, from the modal verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// 应/不应/应当.
    Mandatory,
    /// 宜.
    Recommended,
    /// 可/鼓励.
    Permitted,
}

/// How a requirement can be tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Testable {
    /// By vectors.
    Machine,
    /// By an auditor, from evidence.
    Procedural,
}

/// Whose requirement it is: a clause of GB 45438 / the Measures / the TC260 guides, or an
/// expectation of this suite beyond them (issue 19).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A clause of the standard, the Measures or a practice guide.
    #[default]
    Standard,
    /// What the suite expects beyond them (readers report damaged files as errors, grading as
    /// the profile grades, ...): shown on its own line of the report, never counted as
    /// non-conformance to a clause.
    Suite,
}

impl Kind {
    /// True for [`Kind::Standard`] (the default, left out of serialised requirements).
    pub fn is_standard(&self) -> bool {
        *self == Kind::Standard
    }
}

/// One entry of `requirements.yaml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// Stable id.
    pub id: String,
    /// A clause (`standard`, the default) or a suite requirement (`suite`).
    #[serde(default, skip_serializing_if = "Kind::is_standard")]
    pub kind: Kind,
    /// Clause reference.
    pub clause: String,
    /// Level.
    pub level: Level,
    /// Machine or procedural.
    pub testable: Testable,
    /// Confidence in our reading: H, M or L.
    pub confidence: String,
    /// Chinese text.
    pub zh: String,
    /// English text.
    pub en: String,
    /// How it is tested.
    #[serde(default)]
    pub how: Option<String>,
    /// Procedural: what an auditor asks for.
    #[serde(default)]
    pub evidence: Option<String>,
    /// Machine-testable, but the suite has no measure that could pass it: why. Its vectors
    /// can still fail it on what is measured, and the report shows it "not tested" with this
    /// reason (GB-5.3-b: the spoken words are not recognised).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unmeasured: Option<String>,
    /// Retired ids stay listed, never reused.
    #[serde(default)]
    pub retired: bool,
    /// Why it was retired or changed.
    #[serde(default)]
    pub note: Option<String>,
    /// Problem codes of the reference decoder that break this requirement: a failure of an
    /// implementation's output with one of them is counted against this requirement.
    #[serde(default)]
    pub problem_codes: Vec<String>,
    /// Line of `- id:` in the file, filled in on load.
    #[serde(skip)]
    pub line: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Catalogue {
    requirements: Vec<Requirement>,
}

/// The whole vector tree.
#[derive(Debug, Clone)]
pub struct Suite {
    /// The `vectors/` folder.
    pub root: PathBuf,
    /// The requirement catalogue.
    pub requirements: Vec<Requirement>,
    /// Every vector, in manifest path order then file order.
    pub vectors: Vec<Vector>,
    /// Manifest files (relative to root), sorted.
    pub manifests: Vec<PathBuf>,
}

/// A problem found while loading, with its location.
#[derive(Debug, Clone)]
pub struct LoadError {
    /// File relative to the vectors root.
    pub file: PathBuf,
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
        } else {
            write!(f, "{}: {}", self.file.display(), self.message)
        }
    }
}

/// A YAML error as a [`LoadError`], with the parser's line when it has one.
fn yaml_error(file: &Path, e: &serde_saphyr::Error) -> LoadError {
    LoadError {
        file: file.to_path_buf(),
        line: e.location().map(|l| l.line() as usize).unwrap_or(0),
        message: e.to_string(),
    }
}

/// Line (1-based) of the list item `- id: <id>` in YAML text, 0 when not found.
pub fn line_of_id(text: &str, id: &str) -> usize {
    line_of_id_after(text, id, 0)
}

/// Like [`line_of_id`], but only lines after `after` (1-based) count: duplicate ids get their
/// own line.
pub fn line_of_id_after(text: &str, id: &str, after: usize) -> usize {
    text.lines()
        .enumerate()
        .skip(after)
        .find(|(_, l)| {
            let l = l.trim_start().trim_start_matches('-').trim_start();
            l.strip_prefix("id:")
                .map(|rest| rest.trim().trim_matches(['"', '\'']) == id)
                .unwrap_or(false)
        })
        .map(|(i, _)| i + 1)
        .unwrap_or(0)
}

/// Every file under `root`, relative, sorted (for the suite hash and manifest discovery).
pub fn all_files(root: &Path) -> Vec<PathBuf> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else if let Ok(rel) = p.strip_prefix(base) {
                out.push(rel.to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// SHA-256 over every file of the tree: for each file in sorted path order, its path, a NUL,
/// the hex SHA-256 of its bytes and a newline. Changing, adding or removing any file changes it.
pub fn tree_sha256(root: &Path) -> String {
    let mut h = Sha256::new();
    for rel in all_files(root) {
        let bytes = std::fs::read(root.join(&rel)).unwrap_or_default();
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0]);
        h.update(hex(&Sha256::digest(&bytes)).as_bytes());
        h.update(b"\n");
    }
    hex(&h.finalize())
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn is_manifest(rel: &Path) -> bool {
    // Manifests live in area folders; the root holds the catalogue and the profile.
    rel.components().count() > 1 && rel.extension().is_some_and(|e| e == "yaml" || e == "yml")
}

impl Suite {
    /// Load the catalogue and every manifest. Errors are collected, not fatal one by one, so
    /// `lint` can show them all; `run` refuses to start when there are any.
    pub fn load(root: &Path) -> (Suite, Vec<LoadError>) {
        let mut errors = Vec::new();
        let mut suite = Suite {
            root: root.to_path_buf(),
            requirements: Vec::new(),
            vectors: Vec::new(),
            manifests: Vec::new(),
        };
        let req_file = PathBuf::from("requirements.yaml");
        match std::fs::read_to_string(root.join(&req_file)) {
            Ok(text) => match serde_saphyr::from_str::<Catalogue>(&text) {
                Ok(c) => {
                    suite.requirements = c.requirements;
                    let mut last = 0;
                    for r in &mut suite.requirements {
                        r.line = line_of_id_after(&text, &r.id, last);
                        last = r.line.max(last);
                    }
                }
                Err(e) => errors.push(yaml_error(&req_file, &e)),
            },
            Err(e) => errors.push(LoadError {
                file: req_file.clone(),
                line: 0,
                message: e.to_string(),
            }),
        }
        for rel in all_files(root).into_iter().filter(|p| is_manifest(p)) {
            let text = match std::fs::read_to_string(root.join(&rel)) {
                Ok(t) => t,
                Err(e) => {
                    errors.push(LoadError {
                        file: rel.clone(),
                        line: 0,
                        message: e.to_string(),
                    });
                    continue;
                }
            };
            match serde_saphyr::from_str::<Manifest>(&text) {
                Ok(m) => {
                    let mut last = 0;
                    for mut v in m.vectors {
                        v.line = line_of_id_after(&text, &v.id, last);
                        last = v.line.max(last);
                        v.manifest = rel.clone();
                        suite.vectors.push(v);
                    }
                }
                Err(e) => errors.push(yaml_error(&rel, &e)),
            }
            suite.manifests.push(rel);
        }
        (suite, errors)
    }

    /// A requirement by id.
    pub fn requirement(&self, id: &str) -> Option<&Requirement> {
        self.requirements.iter().find(|r| r.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_id_lines() {
        let t = "vectors:\n  - id: a\n    x: 1\n  - id: \"b\"\n";
        assert_eq!(line_of_id(t, "a"), 2);
        assert_eq!(line_of_id(t, "b"), 4);
        assert_eq!(line_of_id(t, "c"), 0);
    }

    #[test]
    fn unknown_key_is_refused() {
        let t = "vectors:\n  - id: a\n    requirements: [E-c]\n    class: positive\n    provenance: p\n    description: d\n    op: read\n    input: x.png\n    expct: {}\n";
        assert!(serde_saphyr::from_str::<Manifest>(t).is_err());
    }
}
