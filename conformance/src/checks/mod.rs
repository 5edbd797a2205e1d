//! What a vector asserts, evaluated against an adapter's response, with the reference library as
//! the oracle for output files.
//!
//! The evaluation builds two small JSON documents of the same shape, *expected* (from the
//! manifest) and *actual* (from the response and the oracle), so that every failure can be shown
//! as a unified diff and every pass is the statement "these two documents agree".

use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::path::Path;

use crate::adapter::{Exchange, Failure};
use crate::vector::{Op, Vector, Verdict};
use aigc_label::protocol::{Head, PropagateResponse, ReadResponse};
use aigc_label::Profile;

pub mod blame;
pub mod ids;
pub mod oracle;

pub use blame::Finding;

/// The outcome of one vector. Adapter failures are kept apart from wrong answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Every expectation holds.
    Pass,
    /// Nothing failed, but the oracle could not measure any of the vector's requirements (e.g.
    /// a symbol-only text prompt, no OCR reading): says nothing either way (issue 18).
    Inconclusive,
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
    /// Processes of the adapter were still running after its request (they were killed).
    LeftRunning,
    /// The harness itself could not run the vector (missing input, cannot start the adapter).
    HarnessError,
}

impl Outcome {
    /// True for every outcome that counts against the implementation.
    pub fn is_failure(self) -> bool {
        !matches!(
            self,
            Outcome::Pass | Outcome::Inconclusive | Outcome::NotApplicable | Outcome::HarnessError
        )
    }

    /// Stable name (as in report.json).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Inconclusive => "inconclusive",
            Outcome::Fail => "fail",
            Outcome::NotApplicable => "not-applicable",
            Outcome::Crash => "crash",
            Outcome::Timeout => "timeout",
            Outcome::Garbage => "garbage",
            Outcome::ProtocolViolation => "protocol-violation",
            Outcome::OutputTooLarge => "output-too-large",
            Outcome::OutputMissing => "output-missing",
            Outcome::WroteOutside => "wrote-outside",
            Outcome::LeftRunning => "left-running",
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
            Failure::OutputTooLarge { .. } | Failure::OutputFileTooLarge { .. } => {
                Outcome::OutputTooLarge
            }
            Failure::LeftRunning { .. } => Outcome::LeftRunning,
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
    /// Requirements of the vector the oracle could not measure ("unknown", "not judged"): they
    /// get no pass from this vector.
    pub unmeasured: Vec<String>,
    /// The expectations compared, as a document.
    pub expected: Value,
    /// The observations, in the same shape.
    pub actual: Value,
}

/// Everything the checks need besides the vector and the response.
pub struct Context<'a> {
    /// The interpretation profile the oracle reads with.
    pub profile: &'a Profile,
    /// Reference problem code → the requirements it is charged to, by the profile's grade
    /// (from `problem_codes` in the catalogue; [`blame::Charges`]).
    pub charges: &'a blame::Charges,
}

/// What the checks write: an expected and an actual document of the same shape (one key per
/// expectation) and the findings. A pass is the statement "the two documents agree".
#[derive(Debug, Default)]
pub struct Ledger {
    /// The expectations compared.
    pub expected: Map<String, Value>,
    /// The observations.
    pub actual: Map<String, Value>,
    /// Each broken expectation.
    pub findings: Vec<Finding>,
    /// Requirements the oracle could not measure (see [`Evaluation::unmeasured`]).
    pub unmeasured: Vec<String>,
}

impl Ledger {
    /// Write one expectation and its observation.
    pub fn record(&mut self, key: &str, want: Value, got: Value) {
        self.expected.insert(key.into(), want);
        self.actual.insert(key.into(), got);
    }

    /// Write one expectation and its observation; when they differ, add the finding.
    pub fn compare(
        &mut self,
        key: &str,
        want: Value,
        got: Value,
        finding: impl FnOnce() -> Finding,
    ) {
        if want != got {
            self.findings.push(finding());
        }
        self.record(key, want, got);
    }

    /// Add a finding.
    pub fn find(&mut self, f: Finding) {
        self.findings.push(f);
    }
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
    let response = match &exchange.response {
        Ok(r) => r,
        Err(f) => {
            return Evaluation {
                outcome: Outcome::of_failure(f),
                findings: vec![f.to_string()],
                blame: v.requirements.clone(),
                unmeasured: Vec::new(),
                expected: json!({"status": v.expect.status.unwrap_or_default().as_str()}),
                actual: json!({"failure": f}),
            }
        }
    };
    let mut l = Ledger::default();
    let handled = check_status(&mut l, v, response);
    let mut outcome = Outcome::Pass;
    if handled {
        match v.op {
            Op::Read => check_read(&mut l, v, response, ctx),
            Op::Label | Op::Propagate => {
                // A wrong notice decides the vector; what the platform then wrote follows from
                // that decision and is not charged a second time.
                let notice_ok = v.op != Op::Propagate || check_notice(&mut l, v, response);
                if let (Some(out), true) = (output, notice_ok) {
                    outcome = check_written(&mut l, v, input, out, ctx);
                }
            }
        }
    }
    if outcome == Outcome::Pass && !l.findings.is_empty() {
        outcome = Outcome::Fail;
    }
    l.unmeasured.sort();
    l.unmeasured.dedup();
    // A pass that measured none of the vector's requirements is no pass.
    if outcome == Outcome::Pass
        && !l.unmeasured.is_empty()
        && v.requirements.iter().all(|r| l.unmeasured.contains(r))
    {
        outcome = Outcome::Inconclusive;
    }
    let mut blamed: Vec<String> = l
        .findings
        .iter()
        .flat_map(|f| f.blame.iter().cloned())
        .collect();
    blamed.sort();
    blamed.dedup();
    Evaluation {
        outcome,
        blame: blamed,
        unmeasured: l.unmeasured,
        findings: l.findings.into_iter().map(|f| f.text).collect(),
        expected: Value::Object(l.expected),
        actual: Value::Object(l.actual),
    }
}

/// `expect.status`; true when the response is `ok` as expected (then the op's checks run).
fn check_status(l: &mut Ledger, v: &Vector, response: &Value) -> bool {
    // The response passed its schema; read it through the protocol's types.
    let head: Option<Head> = serde_json::from_value(response.clone()).ok();
    let status = head.as_ref().map_or("", |h| h.status.as_str());
    let want = v.expect.status.unwrap_or_default();
    if want.accepts(status) {
        // Written as the expectation so that the diff shows only real differences.
        l.record("status", json!(want.as_str()), json!(want.as_str()));
        return status == "ok";
    }
    let mut f = format!("status: expected {}, got {status}", want.as_str());
    if let Some(m) = head.as_ref().and_then(|h| h.message.as_deref()) {
        f.push_str(&format!(" ({m})"));
    }
    if status == "unsupported" {
        f.push_str(" - the implementation declared this op and media type in info");
    }
    l.find(Finding::new(f, blame::of(v, "status", &[])));
    l.record("status", json!(want.as_str()), json!(status));
    false
}

/// `expect.notice` of a propagate vector; false when it is wrong.
fn check_notice(l: &mut Ledger, v: &Vector, response: &Value) -> bool {
    let Some(n) = v.expect.notice else {
        return true;
    };
    let want = serde_json::to_value(n).unwrap_or(Value::Null);
    let got = serde_json::from_value::<PropagateResponse>(response.clone())
        .ok()
        .and_then(|r| serde_json::to_value(r.notice).ok())
        .unwrap_or(Value::Null);
    let ok = want == got;
    l.compare("notice", want.clone(), got.clone(), || {
        Finding::new(
            format!("notice: expected {want}, got {got}"),
            blame::of(v, "notice", blame::notice_candidates(n)),
        )
    });
    ok
}

/// The output file of a label/propagate vector: present, then `expect.output` by the oracle.
fn check_written(l: &mut Ledger, v: &Vector, input: &Path, out: &Path, ctx: &Context) -> Outcome {
    if !out.is_file() {
        l.find(Finding::new(
            format!("status ok but no output file at {}", out.display()),
            v.requirements.clone(),
        ));
        l.record("output", json!("a file"), json!("missing"));
        return Outcome::OutputMissing;
    }
    if let Some(e) = &v.expect.output {
        let o = oracle::check_output(v, e, input, out, ctx);
        l.record("output", Value::Object(o.expected), Value::Object(o.actual));
        l.findings.extend(o.findings);
        l.unmeasured.extend(o.unmeasured);
    }
    Outcome::Pass
}

/// `expect.verdict` and `expect.labels` of a read vector.
fn check_read(l: &mut Ledger, v: &Vector, response: &Value, ctx: &Context) {
    let typed: Option<ReadResponse> = serde_json::from_value(response.clone()).ok();
    // A verdict that rests on a profile choice follows the profile in force (issue 18).
    let choice = blame::profile_verdict(v, ctx.profile);
    if let Some(want) = choice.or(v.expect.verdict) {
        let got_verdict = typed.as_ref().map(|r| r.verdict);
        let want_json = serde_json::to_value(want).unwrap_or(Value::Null);
        let got = got_verdict
            .and_then(|g| serde_json::to_value(g).ok())
            .unwrap_or(Value::Null);
        let mut text = format!("verdict: expected {want_json}, got {got}");
        let stricter = choice == Some(Verdict::Valid) && got_verdict == Some(Verdict::Invalid);
        let blamed = if stricter {
            // The profile grades the problem below error: a stricter reader is an observation,
            // charged at the level the same profile entry gives it (issue 19).
            text.push_str(&format!(
                " (a profile choice: vectors/profile.yaml grades {} below error)",
                v.profile_choice.join(", ")
            ));
            let lower: Vec<String> = v
                .requirements
                .iter()
                .filter(|r| !ctx.charges.is_binding(r))
                .cloned()
                .collect();
            if lower.is_empty() {
                vec![ids::SUITE_PROFILE_READING.to_string()]
            } else {
                lower
            }
        } else {
            blame::of(v, "verdict", &[])
        };
        l.compare("verdict", want_json, got, || Finding::new(text, blamed));
    }
    if let Some(want) = &v.expect.labels {
        let got: Vec<Map<String, Value>> = typed
            .as_ref()
            .map(|r| r.labels.iter().map(|lab| lab.fields.clone()).collect())
            .unwrap_or_default();
        let (want, got) = (sorted_labels(want), sorted_labels(&got));
        let text = format!(
            "labels: expected {} label(s) with the listed fields, got {} that differ",
            want.len(),
            got.len()
        );
        l.compare("labels", Value::Array(want), Value::Array(got), || {
            Finding::new(text, blame::of(v, "labels", &[]))
        });
    }
    check_security(l, v, response);
    check_problems(l, v, response);
}

/// `expect.problems`: the codes some label of the response must report (`labels[].problems`).
/// Optional in protocol v1, but a vector that expects a code is about noticing it: a reader
/// that reports no `problems` at all has not shown that it notices, so the vector's
/// requirements are unmeasured by it (not tested, never passed); one that reports `problems`
/// without the code fails them.
fn check_problems(l: &mut Ledger, v: &Vector, response: &Value) {
    let Some(want) = &v.expect.problems else {
        return;
    };
    let labels = response_labels(response);
    let mut want: Vec<String> = want.clone();
    want.sort();
    want.dedup();
    if !labels.iter().any(|lab| lab.get("problems").is_some()) {
        l.record("problems", json!(want), json!("not reported"));
        l.unmeasured.extend(v.requirements.iter().cloned());
        return;
    }
    let reported: BTreeSet<&str> = labels
        .iter()
        .filter_map(|lab| lab.get("problems")?.as_array())
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let found: Vec<&String> = want
        .iter()
        .filter(|c| reported.contains(c.as_str()))
        .collect();
    let text = format!(
        "problems: expected the reader to report {}, it reported {}",
        want.join(", "),
        if reported.is_empty() {
            "none".to_string()
        } else {
            reported.iter().copied().collect::<Vec<_>>().join(", ")
        }
    );
    l.compare("problems", json!(want), json!(found), || {
        Finding::new(text, blame::of(v, "problems", &[]))
    });
}

/// The `labels` of a read response (none when it has no such list).
fn response_labels(response: &Value) -> Vec<Value> {
    response
        .get("labels")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// `expect.security` (TC260-PG-202511A): the `security.status` of every label, in file order.
/// Optional in protocol v1: judged only when the response reports it on every label; an
/// implementation that does not verify signatures is still judged by the verdict.
fn check_security(l: &mut Ledger, v: &Vector, response: &Value) {
    let Some(want) = &v.expect.security else {
        return;
    };
    let labels = response_labels(response);
    let got: Option<Vec<Value>> = labels
        .iter()
        .map(|l| l.get("security")?.get("status").cloned())
        .collect();
    let Some(got) = got.filter(|g| !g.is_empty()) else {
        return; // not reported: protocol v1 leaves it optional
    };
    let want: Vec<Value> = want.iter().map(|s| json!(s.as_str())).collect();
    let text = format!(
        "security: expected {}, got {}",
        Value::Array(want.clone()),
        Value::Array(got.clone())
    );
    l.compare("security", Value::Array(want), Value::Array(got), || {
        Finding::new(text, blame::of(v, "security", &[ids::PG_202511A_SIG]))
    });
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
