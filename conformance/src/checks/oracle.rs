//! The oracle: an implementation's output file is judged by the reference decoder, never by the
//! implementation's own account of it.

use serde_json::{json, Map, Value};
use std::path::Path;

use super::blame::{self, Finding};
use super::{ids, Context, Ledger};
use crate::vector::{AudioLabel, ExpectExplicit, ExpectOutput, Vector, Verdict};
use aigc_label::implicit::{detect, read_path, ReadReport};
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

/// Check `expect.output`: one compare helper per key of [`ExpectOutput`], each writing its
/// expected and actual values and its findings into one [`Ledger`].
pub fn check_output(
    v: &Vector,
    e: &ExpectOutput,
    input: &Path,
    output: &Path,
    ctx: &Context,
) -> Ledger {
    let mut l = Ledger::default();
    let report = match read_path(output, ctx.profile) {
        Ok(r) => r,
        Err(err) => {
            let msg = format!("output: the reference cannot read it: {}", err.error);
            l.find(Finding::new(msg, blame::of(v, "output.readable", &[])));
            l.expected = serde_json::to_value(e)
                .ok()
                .and_then(|x| x.as_object().cloned())
                .unwrap_or_default();
            l.actual
                .insert("unreadable".into(), json!(err.error.to_string()));
            return l;
        }
    };
    if let Some(want) = e.verdict {
        compare_verdict(&mut l, v, e, want, &report, ctx);
    }
    // With more than one label the output's "fields" are ambiguous; the label count check
    // carries that failure.
    if let Some(want) = e.fields.as_ref().filter(|_| report.labels.len() <= 1) {
        compare_fields(&mut l, v, want, &report);
    }
    if let Some(want) = e.label_count {
        compare_label_count(&mut l, v, want, &report);
    }
    if let Some(want) = e.same_format {
        let got = format_of(input).is_some_and(|f| f == report.format);
        l.compare("same_format", json!(want), json!(got), || {
            Finding::new(
                format!(
                    "output same_format: expected {want}, got {got} (output is {})",
                    report.format
                ),
                blame::of(v, "output.same_format", &[]),
            )
        });
    }
    if let Some(want) = e.payload_unchanged {
        compare_payload(&mut l, v, want, input, output);
    }
    if let Some(want) = &e.explicit {
        check_explicit(&mut l, v, want, input, output, ctx);
    }
    l
}

/// `output.verdict`: a wrong verdict is charged to the requirements whose problem codes the
/// reference found in the output, at the level the profile grades each code
/// ([`blame::Charges`]). The one rule (issue 19): an output the reference reads as `invalid`,
/// `conflict` or `unlabeled` is never conformant, so such a failure is always charged to a
/// mandatory clause (6.1 a/b/c, Annex E) as well as to any guide requirement.
fn compare_verdict(
    l: &mut Ledger,
    v: &Vector,
    e: &ExpectOutput,
    want: Verdict,
    report: &ReadReport,
    ctx: &Context,
) {
    let mut candidates: Vec<String> = Vec::new();
    for lab in &report.labels {
        for p in lab.problems.iter().chain(report.problems.iter()) {
            if p.severity == aigc_label::Severity::Error {
                candidates.extend(ctx.charges.charge(p.code.as_str(), p.severity));
            }
        }
    }
    if report.labels.is_empty() {
        candidates.push(ids::GB_6_1_A.into());
    }
    // With more labels than asked, the verdict follows from the extra label (6.1 c), whatever
    // that label holds.
    if e.label_count.is_some_and(|n| report.labels.len() > n) {
        candidates = vec![ids::GB_6_1_C.into()];
    }
    candidates.sort();
    candidates.dedup();
    // Not narrowed to the vector's own requirements: the problem breaks the mandatory clause
    // AND the guide requirement that list it, whichever of them the vector names (a label
    // vector of 6.1 a/b that gets a wrong-namespace label fails the image guide too).
    let overridden = ["output.verdict", "output"]
        .iter()
        .any(|k| v.blame.contains_key(*k));
    let mut blamed = if overridden || candidates.is_empty() {
        let refs: Vec<&str> = candidates.iter().map(String::as_str).collect();
        blame::of(v, "output.verdict", &refs)
    } else {
        candidates.clone()
    };
    if want == Verdict::Valid && report.verdict != Verdict::Valid {
        must_be_binding(&mut blamed, &candidates, report.verdict, ctx);
    }
    let (want, got) = (to_json(want), to_json(report.verdict));
    let text = format!("output verdict: expected {want}, got {got}");
    l.compare("verdict", want, got, || Finding::new(text, blamed));
}

/// Make sure a failure whose output the reference reads as `got` (not valid) is charged to a
/// mandatory clause: narrowing to the vector's own requirements (a guide carrier, say) must not
/// turn an unreadable label into an observation. Adds the mandatory ones among `candidates`, or
/// the clause the verdict itself breaks.
fn must_be_binding(blamed: &mut Vec<String>, candidates: &[String], got: Verdict, ctx: &Context) {
    if blamed.iter().any(|r| ctx.charges.is_binding(r)) {
        return;
    }
    let mut add: Vec<String> = candidates
        .iter()
        .filter(|r| ctx.charges.is_binding(r))
        .cloned()
        .collect();
    if add.is_empty() {
        add.push(
            match got {
                Verdict::Unlabeled => ids::GB_6_1_A,
                Verdict::Conflict => ids::GB_6_1_C,
                _ => ids::GB_6_1_B,
            }
            .into(),
        );
    }
    blamed.extend(add);
    blamed.sort();
    blamed.dedup();
}

/// `output.fields`: only the keys the vector names are compared (values the adapter chose
/// freely, e.g. propagation ids, stay out of the verdict); each wrong one is its own finding.
fn compare_fields(l: &mut Ledger, v: &Vector, want: &Map<String, Value>, report: &ReadReport) {
    let got_all = report
        .labels
        .first()
        .map(|lab| lab.fields.clone())
        .unwrap_or_default();
    let got: Map<String, Value> = want
        .keys()
        .map(|k| (k.clone(), got_all.get(k).cloned().unwrap_or(Value::Null)))
        .collect();
    if &got != want && !report.labels.is_empty() {
        for (k, w) in want.iter().filter(|(k, w)| got.get(*k) != Some(w)) {
            let candidates = blame::field_candidates(v.op, k, v.expect.notice);
            l.find(Finding::new(
                format!(
                    "output field {k}: expected {w}, got {}",
                    got.get(k).unwrap_or(&Value::Null)
                ),
                blame::of(v, &format!("output.fields.{k}"), &candidates),
            ));
        }
    }
    l.record("fields", Value::Object(want.clone()), Value::Object(got));
}

/// `output.label_count`: more labels than asked is 6.1 c (one label per file); none means the
/// label was not written.
fn compare_label_count(l: &mut Ledger, v: &Vector, want: usize, report: &ReadReport) {
    let got = report.labels.len();
    let candidates: &[&str] = if got > want {
        &[ids::GB_6_1_C]
    } else {
        &[ids::GB_6_1_A, ids::CAC_6_P2]
    };
    l.compare("label_count", json!(want), json!(got), || {
        Finding::new(
            format!("output label_count: expected {want}, got {got}"),
            blame::of(v, "output.label_count", candidates),
        )
    });
}

/// `output.payload_unchanged`, by the reference's per-format fingerprint.
fn compare_payload(l: &mut Ledger, v: &Vector, want: bool, input: &Path, output: &Path) {
    match payload_unchanged(input, output) {
        Ok((got, method)) => l.compare("payload_unchanged", json!(want), json!(got), || {
            Finding::new(
                format!(
                    "output payload_unchanged: expected {want}, got {got} (compared: {method})"
                ),
                blame::of(v, "output.payload_unchanged", &[ids::GB_6_1_A]),
            )
        }),
        Err(err) => {
            l.find(Finding::new(
                format!("output payload_unchanged: cannot compare: {err}"),
                blame::of(v, "output.payload_unchanged", &[]),
            ));
            l.record("payload_unchanged", json!(want), json!(err));
        }
    }
}

fn to_json(x: impl serde::Serialize) -> Value {
    serde_json::to_value(x).unwrap_or(Value::Null)
}

/// `expect.output.explicit`: the reference measures the output's explicit label against the
/// input (`aigc_label::explicit::check_file`, what `aigc-label check --original` prints) and
/// judges every chapter-5 requirement the vector names; each one that fails is a finding charged
/// to exactly that requirement. "Unknown" (a measurement that cannot be made, e.g. no OCR) is
/// recorded, not failed. The keys of [`ExpectExplicit`] describe the expected measurements for
/// people (vectors/explicit/README.md); the thresholds are the profile's.
fn check_explicit(
    l: &mut Ledger,
    v: &Vector,
    want: &ExpectExplicit,
    input: &Path,
    output: &Path,
    ctx: &Context,
) {
    use aigc_label::explicit::Outcome as Judged;
    let voice = want.voice_text.as_deref();
    let judged: Vec<&String> = v
        .requirements
        .iter()
        .filter(|r| r.starts_with(ids::EXPLICIT_PREFIX))
        .collect();
    let expected: Map<String, Value> = judged
        .iter()
        .map(|r| ((*r).clone(), json!("pass")))
        .collect();
    l.expected
        .insert("explicit".into(), Value::Object(expected));
    let checked =
        aigc_label::explicit::check_file(output, Some(input), voice, true, None, ctx.profile);
    let (measurements, verdicts) = match checked {
        Ok((_, measurements, verdicts)) => (measurements, verdicts),
        Err(err) => {
            l.find(Finding::new(
                format!("explicit label: the reference cannot measure the output: {err}"),
                blame::of(v, "output.explicit", &[]),
            ));
            l.actual
                .insert("explicit".into(), json!({"error": err.to_string()}));
            return;
        }
    };
    let mut got = Map::new();
    for r in &judged {
        let f = verdicts.iter().find(|f| f.requirement == r.as_str());
        let outcome = match f.map(|f| f.outcome) {
            Some(Judged::Pass) => "pass",
            Some(Judged::Fail) => "fail",
            Some(Judged::Unknown) => "unknown",
            None => "not judged",
        };
        got.insert((*r).clone(), json!(outcome));
        if let Some(f) = f.filter(|f| f.outcome == Judged::Fail) {
            l.find(Finding::new(
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
    let wants_rhythm = want.audio_label == Some(AudioLabel::Rhythm);
    let has_rhythm = measurements.get("rhythm").is_some_and(|r| !r.is_null());
    if wants_rhythm && !has_rhythm && judged.iter().any(|r| r.as_str() == ids::GB_5_3_C) {
        got.insert(ids::GB_5_3_C.into(), json!("fail"));
        l.find(Finding::new(
            format!(
                "explicit label, {}: a rhythm label was asked for and no 短长短短 rhythm is in the output",
                ids::GB_5_3_C
            ),
            blame::of(
                v,
                &format!("output.explicit.{}", ids::GB_5_3_C),
                &[ids::GB_5_3_C],
            ),
        ));
    }
    l.actual.insert("explicit".into(), Value::Object(got));
    l.actual
        .insert("explicit_measurements".into(), measurements);
}
