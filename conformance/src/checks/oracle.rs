//! The oracle: an implementation's output file is judged by the reference decoder, never by the
//! implementation's own account of it.

use serde_json::{json, Map, Value};
use std::path::Path;

use super::blame::{self, Finding};
use super::Context;
use crate::vector::{ExpectOutput, Vector};
use aigc_label::implicit::{detect, read_path};
use aigc_label::io::Input;
use aigc_label::payload::fingerprint;

/// Format id of a file as the reference detects it.
fn format_of(path: &Path) -> Option<&'static str> {
    let mut input = Input::open(path).ok()?;
    detect(&mut input, Some(path)).ok().map(|f| f.id())
}

/// Whether two files carry the same payload, by the reference's per-format fingerprint
/// (`aigc_label::payload`: decoded pixels, demuxed packets, rendered pages, package parts or the
/// Markdown body). Returns the method used.
pub fn payload_unchanged(input: &Path, output: &Path) -> Result<(bool, &'static str), String> {
    let format =
        format_of(input).ok_or_else(|| format!("{}: format not recognised", input.display()))?;
    let a = fingerprint(input, format).map_err(|e| format!("input: {e}"))?;
    let b = fingerprint(output, format).map_err(|e| format!("output: {e}"))?;
    Ok((a == b, a.method))
}

/// Check `expect.output`; returns (expected document, actual document, findings).
pub fn check_output(
    v: &Vector,
    e: &ExpectOutput,
    input: &Path,
    output: &Path,
    ctx: &Context,
) -> (Value, Value, Vec<Finding>) {
    let mut exp = Map::new();
    let mut act = Map::new();
    let mut findings = Vec::new();
    let report = match read_path(output, ctx.profile) {
        Ok(r) => r,
        Err(err) => {
            let msg = format!("output: the reference cannot read it: {}", err.error);
            findings.push(Finding::new(
                msg.clone(),
                blame::of(v, "output.readable", &[]),
            ));
            return (
                serde_json::to_value(e).unwrap_or(Value::Null),
                json!({"unreadable": err.error.to_string()}),
                findings,
            );
        }
    };
    if let Some(want) = e.verdict {
        let want = serde_json::to_value(want).unwrap_or(Value::Null);
        let got = serde_json::to_value(report.verdict).unwrap_or(Value::Null);
        if want != got {
            // Charged to the requirements whose problem codes the reference found.
            let mut candidates: Vec<&str> = Vec::new();
            for l in &report.labels {
                for p in l.problems.iter().chain(report.problems.iter()) {
                    if p.severity == aigc_label::Severity::Error {
                        for r in ctx
                            .problem_requirements
                            .get(p.code.as_str())
                            .into_iter()
                            .flatten()
                        {
                            candidates.push(r);
                        }
                    }
                }
            }
            if report.labels.is_empty() {
                candidates.extend(["GB-6.1-a"]);
            }
            // With more labels than asked, the verdict follows from the extra label (6.1 c),
            // whatever that label holds.
            if e.label_count.is_some_and(|n| report.labels.len() > n) {
                candidates = vec!["GB-6.1-c"];
            }
            candidates.sort();
            candidates.dedup();
            findings.push(Finding::new(
                format!("output verdict: expected {want}, got {got}"),
                blame::of(v, "output.verdict", &candidates),
            ));
        }
        exp.insert("verdict".into(), want);
        act.insert("verdict".into(), got);
    }
    let several = report.labels.len() > 1;
    if let Some(want) = e.fields.as_ref().filter(|_| !several) {
        // (With more than one label the output's "fields" are ambiguous; the label count
        // check below carries that failure.)
        // Only the keys the vector names are compared: values the adapter chose freely
        // (e.g. propagation ids) stay out of the verdict.
        let got_all = report
            .labels
            .first()
            .map(|l| l.fields.clone())
            .unwrap_or_default();
        let got: Map<String, Value> = want
            .keys()
            .map(|k| (k.clone(), got_all.get(k).cloned().unwrap_or(Value::Null)))
            .collect();
        if &got != want && !report.labels.is_empty() {
            for (k, w) in want.iter().filter(|(k, w)| got.get(*k) != Some(w)) {
                let candidates = blame::field_candidates(v.op, k, v.expect.notice);
                findings.push(Finding::new(
                    format!(
                        "output field {k}: expected {w}, got {}",
                        got.get(k).unwrap_or(&Value::Null)
                    ),
                    blame::of(v, &format!("output.fields.{k}"), &candidates),
                ));
            }
        }
        exp.insert("fields".into(), Value::Object(want.clone()));
        act.insert("fields".into(), Value::Object(got));
    }
    if let Some(want) = e.label_count {
        let got = report.labels.len();
        if got != want {
            // More labels than asked: 6.1 c (one label per file). None: the label was not written.
            let candidates: &[&str] = if got > want {
                &["GB-6.1-c"]
            } else {
                &["GB-6.1-a", "CAC-6-p2"]
            };
            findings.push(Finding::new(
                format!("output label_count: expected {want}, got {got}"),
                blame::of(v, "output.label_count", candidates),
            ));
        }
        exp.insert("label_count".into(), json!(want));
        act.insert("label_count".into(), json!(got));
    }
    if let Some(want) = e.same_format {
        let got = format_of(input).is_some_and(|f| f == report.format);
        if got != want {
            findings.push(Finding::new(
                format!(
                    "output same_format: expected {want}, got {got} (output is {})",
                    report.format
                ),
                blame::of(v, "output.same_format", &[]),
            ));
        }
        exp.insert("same_format".into(), json!(want));
        act.insert("same_format".into(), json!(got));
    }
    if let Some(want) = e.payload_unchanged {
        match payload_unchanged(input, output) {
            Ok((got, method)) => {
                if got != want {
                    findings.push(Finding::new(
                        format!("output payload_unchanged: expected {want}, got {got} (compared: {method})"),
                        blame::of(v, "output.payload_unchanged", &["GB-6.1-a"]),
                    ));
                }
                exp.insert("payload_unchanged".into(), json!(want));
                act.insert("payload_unchanged".into(), json!(got));
            }
            Err(err) => {
                findings.push(Finding::new(
                    format!("output payload_unchanged: cannot compare: {err}"),
                    blame::of(v, "output.payload_unchanged", &[]),
                ));
                exp.insert("payload_unchanged".into(), json!(want));
                act.insert("payload_unchanged".into(), json!(err));
            }
        }
    }
    if let Some(want) = &e.explicit {
        check_explicit(
            v,
            want,
            input,
            output,
            ctx,
            &mut exp,
            &mut act,
            &mut findings,
        );
    }
    (Value::Object(exp), Value::Object(act), findings)
}

/// `expect.output.explicit`: the reference measures the output's explicit label against the
/// input (`aigc_label::explicit::check_file`, what `aigc-label check --original` prints) and
/// judges every chapter-5 requirement the vector names; each one that fails is a finding charged
/// to exactly that requirement. "Unknown" (a measurement that cannot be made, e.g. no OCR) is
/// recorded, not failed. The keys inside the block (present, min_height_ratio, ...) describe
/// the expected measurements for people (vectors/explicit/README.md); the thresholds are the
/// profile's.
#[allow(clippy::too_many_arguments)]
fn check_explicit(
    v: &Vector,
    want: &Value,
    input: &Path,
    output: &Path,
    ctx: &Context,
    exp: &mut Map<String, Value>,
    act: &mut Map<String, Value>,
    findings: &mut Vec<Finding>,
) {
    let voice = want.get("voice_text").and_then(Value::as_str);
    let judged: Vec<&String> = v
        .requirements
        .iter()
        .filter(|r| r.starts_with("GB-5."))
        .collect();
    let expected: Map<String, Value> = judged
        .iter()
        .map(|r| ((*r).clone(), json!("pass")))
        .collect();
    exp.insert("explicit".into(), Value::Object(expected));
    match aigc_label::explicit::check_file(output, Some(input), voice, true, None, ctx.profile) {
        Ok((_, measurements, verdicts)) => {
            let mut got = Map::new();
            for r in &judged {
                let f = verdicts.iter().find(|f| f.requirement == r.as_str());
                let outcome = match f.map(|f| f.outcome) {
                    Some(aigc_label::explicit::Outcome::Pass) => "pass",
                    Some(aigc_label::explicit::Outcome::Fail) => "fail",
                    Some(aigc_label::explicit::Outcome::Unknown) => "unknown",
                    None => "not judged",
                };
                got.insert((*r).clone(), json!(outcome));
                if let Some(f) = f.filter(|f| f.outcome == aigc_label::explicit::Outcome::Fail) {
                    findings.push(Finding::new(
                        format!("explicit label, {}: {}", f.requirement, f.detail),
                        blame::of(
                            v,
                            &format!("output.explicit.{}", f.requirement),
                            &[f.requirement],
                        ),
                    ));
                }
            }
            // A rhythm was asked for: finding only a voice-like inserted segment is no 短长短短.
            let wants_rhythm = want.get("audio_label").and_then(Value::as_str) == Some("rhythm");
            let has_rhythm = measurements.get("rhythm").is_some_and(|r| !r.is_null());
            if wants_rhythm && !has_rhythm && judged.iter().any(|r| r.as_str() == "GB-5.3-c") {
                got.insert("GB-5.3-c".into(), json!("fail"));
                findings.push(Finding::new(
                    "explicit label, GB-5.3-c: a rhythm label was asked for and no 短长短短 rhythm is in the output",
                    blame::of(v, "output.explicit.GB-5.3-c", &["GB-5.3-c"]),
                ));
            }
            act.insert("explicit".into(), Value::Object(got));
            act.insert("explicit_measurements".into(), measurements);
        }
        Err(err) => {
            findings.push(Finding::new(
                format!("explicit label: the reference cannot measure the output: {err}"),
                blame::of(v, "output.explicit", &[]),
            ));
            act.insert("explicit".into(), json!({"error": err}));
        }
    }
}
