//! What a vector asserts, evaluated against an adapter's response, with the reference library as
//! the oracle for output files.
//!
//! The evaluation builds two small JSON documents of the same shape, *expected* (from the
//! manifest) and *actual* (from the response and the oracle), so that every failure can be shown
//! as a unified diff and every pass is the statement "these two documents agree".

use serde::Serialize;
use serde_json::{json, Map, Value};
use std::path::Path;

use crate::adapter::{Exchange, Failure};
use crate::vector::{Op, Vector};
use aigc_label::Profile;

pub mod blame;
pub mod oracle;

pub use blame::Finding;

/// The outcome of one vector. Adapter failures are kept apart from wrong answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Every expectation holds.
    Pass,
    /// The adapter answered, and an expectation does not hold.
    Fail,
    /// The implementation does not claim this op/media type (from `info`).
    NotApplicable,
    /// Non-zero exit or signal.
    Crash,
    /// No answer within the timeout.
    Timeout,
    /// Stdout is not one JSON object.
    Garbage,
    /// The response breaks the protocol schema.
    ProtocolViolation,
    /// Stdout exceeded the cap.
    OutputTooLarge,
    /// `ok`, but the output file is not there.
    OutputMissing,
    /// The adapter changed files outside its scratch folder.
    WroteOutside,
    /// The harness itself could not run the vector (missing input, cannot start the adapter).
    HarnessError,
}

impl Outcome {
    /// True for every outcome that counts against the implementation.
    pub fn is_failure(self) -> bool {
        !matches!(
            self,
            Outcome::Pass | Outcome::NotApplicable | Outcome::HarnessError
        )
    }

    /// Stable name (as in report.json).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::NotApplicable => "not-applicable",
            Outcome::Crash => "crash",
            Outcome::Timeout => "timeout",
            Outcome::Garbage => "garbage",
            Outcome::ProtocolViolation => "protocol-violation",
            Outcome::OutputTooLarge => "output-too-large",
            Outcome::OutputMissing => "output-missing",
            Outcome::WroteOutside => "wrote-outside",
            Outcome::HarnessError => "harness-error",
        }
    }

    /// The outcome of an adapter failure.
    pub fn of_failure(f: &Failure) -> Outcome {
        match f {
            Failure::Crash { .. } => Outcome::Crash,
            Failure::Timeout { .. } => Outcome::Timeout,
            Failure::Garbage { .. } => Outcome::Garbage,
            Failure::ProtocolViolation { .. } => Outcome::ProtocolViolation,
            Failure::OutputTooLarge { .. } => Outcome::OutputTooLarge,
            Failure::Spawn { .. } => Outcome::HarnessError,
        }
    }
}

/// The judgement of one vector.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The outcome.
    pub outcome: Outcome,
    /// One line per broken expectation (or the adapter failure).
    pub findings: Vec<String>,
    /// The requirements this vector's failure counts against (empty when it passed).
    pub blame: Vec<String>,
    /// The expectations compared, as a document.
    pub expected: Value,
    /// The observations, in the same shape.
    pub actual: Value,
}

/// Everything the checks need besides the vector and the response.
pub struct Context<'a> {
    /// The interpretation profile the oracle reads with.
    pub profile: &'a Profile,
    /// Reference problem code → the requirements it breaks (from `problem_codes` in the catalogue).
    pub problem_requirements: &'a std::collections::HashMap<String, Vec<String>>,
}

fn sorted_labels(list: &[Map<String, Value>]) -> Vec<Value> {
    let mut v: Vec<Value> = list.iter().cloned().map(Value::Object).collect();
    // Order-insensitive compare: sort by canonical text.
    v.sort_by_key(|x| x.to_string());
    v
}

/// Judge a response. `output` is the path the request named as output (label/propagate).
pub fn evaluate(
    v: &Vector,
    exchange: &Exchange,
    input: &Path,
    output: Option<&Path>,
    ctx: &Context,
) -> Evaluation {
    let mut expected = Map::new();
    let mut actual = Map::new();
    let mut findings: Vec<Finding> = Vec::new();
    let response = match &exchange.response {
        Ok(r) => r,
        Err(f) => {
            return Evaluation {
                outcome: Outcome::of_failure(f),
                findings: vec![f.to_string()],
                blame: v.requirements.clone(),
                expected: json!({"status": v.expect.status.unwrap_or_default().as_str()}),
                actual: json!({"failure": f}),
            }
        }
    };
    let status = response.get("status").and_then(Value::as_str).unwrap_or("");
    let want = v.expect.status.unwrap_or_default();
    expected.insert("status".into(), json!(want.as_str()));
    if want.accepts(status) {
        // Written as the expectation so that the diff shows only real differences.
        actual.insert("status".into(), json!(want.as_str()));
    } else {
        actual.insert("status".into(), json!(status));
        let mut f = format!("status: expected {}, got {status}", want.as_str());
        if let Some(m) = response.get("message").and_then(Value::as_str) {
            f.push_str(&format!(" ({m})"));
        }
        if status == "unsupported" {
            f.push_str(" - the implementation declared this op and media type in info");
        }
        findings.push(Finding::new(f, blame::of(v, "status", &[])));
    }
    let mut outcome = Outcome::Pass;
    if status == "ok" && want.accepts(status) {
        match v.op {
            Op::Read => check_read(v, response, &mut expected, &mut actual, &mut findings),
            Op::Label | Op::Propagate | Op::Mark => {
                let mut notice_ok = true;
                if v.op == Op::Propagate {
                    if let Some(n) = v.expect.notice {
                        let want = serde_json::to_value(n).unwrap_or(Value::Null);
                        let got = response.get("notice").cloned().unwrap_or(Value::Null);
                        if want != got {
                            notice_ok = false;
                            findings.push(Finding::new(
                                format!("notice: expected {want}, got {got}"),
                                blame::of(v, "notice", blame::notice_candidates(n)),
                            ));
                        }
                        expected.insert("notice".into(), want);
                        actual.insert("notice".into(), got);
                    }
                }
                match output {
                    // A wrong notice decides the vector; what the platform then wrote follows
                    // from that decision and is not charged a second time.
                    Some(_) if !notice_ok => {}
                    Some(out) if out.is_file() => {
                        if let Some(e) = &v.expect.output {
                            let (exp, act, mut f) = oracle::check_output(v, e, input, out, ctx);
                            expected.insert("output".into(), exp);
                            actual.insert("output".into(), act);
                            findings.append(&mut f);
                        }
                    }
                    Some(out) => {
                        outcome = Outcome::OutputMissing;
                        findings.push(Finding::new(
                            format!("status ok but no output file at {}", out.display()),
                            v.requirements.clone(),
                        ));
                        expected.insert("output".into(), json!("a file"));
                        actual.insert("output".into(), json!("missing"));
                    }
                    None => {}
                }
            }
        }
    }
    if outcome == Outcome::Pass && !findings.is_empty() {
        outcome = Outcome::Fail;
    }
    let mut blamed: Vec<String> = findings
        .iter()
        .flat_map(|f| f.blame.iter().cloned())
        .collect();
    blamed.sort();
    blamed.dedup();
    Evaluation {
        outcome,
        blame: blamed,
        findings: findings.into_iter().map(|f| f.text).collect(),
        expected: Value::Object(expected),
        actual: Value::Object(actual),
    }
}

fn check_read(
    v: &Vector,
    response: &Value,
    expected: &mut Map<String, Value>,
    actual: &mut Map<String, Value>,
    findings: &mut Vec<Finding>,
) {
    if let Some(want) = v.expect.verdict {
        let want = serde_json::to_value(want).unwrap_or(Value::Null);
        let got = response.get("verdict").cloned().unwrap_or(Value::Null);
        if want != got {
            findings.push(Finding::new(
                format!("verdict: expected {want}, got {got}"),
                blame::of(v, "verdict", &[]),
            ));
        }
        expected.insert("verdict".into(), want);
        actual.insert("verdict".into(), got);
    }
    if let Some(want) = &v.expect.labels {
        let got: Vec<Map<String, Value>> = response
            .get("labels")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .map(|l| {
                        l.get("fields")
                            .and_then(Value::as_object)
                            .cloned()
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default();
        let (want, got) = (sorted_labels(want), sorted_labels(&got));
        if want != got {
            findings.push(Finding::new(
                format!(
                    "labels: expected {} label(s) with the listed fields, got {} that differ",
                    want.len(),
                    got.len()
                ),
                blame::of(v, "labels", &[]),
            ));
        }
        expected.insert("labels".into(), Value::Array(want));
        actual.insert("labels".into(), Value::Array(got));
    }
    check_security(v, response, expected, actual, findings);
}

/// `expect.security` (TC260-PG-202511A): the `security.status` of every label, in file order.
/// Optional in protocol v1: judged only when the response reports it on every label; an
/// implementation that does not verify signatures is still judged by the verdict.
fn check_security(
    v: &Vector,
    response: &Value,
    expected: &mut Map<String, Value>,
    actual: &mut Map<String, Value>,
    findings: &mut Vec<Finding>,
) {
    let Some(want) = &v.expect.security else {
        return;
    };
    let labels = response
        .get("labels")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let got: Option<Vec<Value>> = labels
        .iter()
        .map(|l| l.get("security")?.get("status").cloned())
        .collect();
    let Some(got) = got.filter(|g| !g.is_empty()) else {
        return; // not reported: protocol v1 leaves it optional
    };
    let want: Vec<Value> = want.iter().map(|s| json!(s.as_str())).collect();
    if want != got {
        findings.push(Finding::new(
            format!(
                "security: expected {}, got {}",
                Value::Array(want.clone()),
                Value::Array(got.clone())
            ),
            blame::of(v, "security", &["PG-202511A-sig"]),
        ));
    }
    expected.insert("security".into(), Value::Array(want));
    actual.insert("security".into(), Value::Array(got));
}

/// Unified diff of two documents (pretty JSON), empty when they agree.
pub fn diff(expected: &Value, actual: &Value) -> String {
    let a = serde_json::to_string_pretty(expected).unwrap_or_default() + "\n";
    let b = serde_json::to_string_pretty(actual).unwrap_or_default() + "\n";
    if a == b {
        return String::new();
    }
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header("expected", "actual")
        .to_string()
}
