//! The oracle: an implementation's output file is judged by the reference decoder, never by the
//! implementation's own account of it.

use serde_json::{json, Map, Value};
use std::path::Path;

use super::blame::{self, Finding};
use super::{ids, Context, Ledger};
use crate::vector::{AudioLabel, ExpectExplicit, ExpectOutput, Op, Vector, Verdict};
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
    check_guide_carrier(&mut l, v, &report);
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

/// The practice guides' carrier requirements (`PG-…-carrier`) a label vector names promise
/// that the output's label sits in that guide's carrier (vectors/requirements.yaml: "label
/// vectors: the output's label is in the … carrier"). Measured by the reference: a label it
/// reads in a tool-specific place carries its `nonstandard-carrier` note (WAV LIST/INFO instead
/// of the top-level AIGC chunk, a JPEG APP11 segment instead of XMP, ...). The label is still
/// readable, so no mandatory clause is broken (the profile grades the note a warning): the
/// failure is charged to the vector's carrier requirement alone.
fn check_guide_carrier(l: &mut Ledger, v: &Vector, report: &ReadReport) {
    let guides: Vec<&str> = v
        .requirements
        .iter()
        .map(String::as_str)
        .filter(|r| r.starts_with("PG-") && r.ends_with("-carrier"))
        .collect();
    // With more than one label the label count check carries the failure (6.1 c), as for the
    // fields.
    if guides.is_empty() || v.op != Op::Label || report.labels.len() != 1 {
        return;
    }
    let elsewhere: Vec<&str> = report
        .labels
        .iter()
        .filter(|lab| {
            lab.problems
                .iter()
                .any(|p| p.code == aigc_label::ProblemCode::NonstandardCarrier)
        })
        .map(|lab| lab.carrier.as_str())
        .collect();
    let want = json!("the practice guide's carrier");
    let got = if elsewhere.is_empty() {
        want.clone()
    } else {
        json!(elsewhere)
    };
    l.compare("carrier", want, got, || {
        Finding::new(
            format!(
                "output label in {}: not the practice guide's carrier",
                elsewhere.join(", ")
            ),
            blame::of(v, "output.carrier", &guides),
        )
    });
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
            // A key missing from the label's JSON is Annex E b) (all seven keys); a wrong
            // value is the element's own requirement.
            let candidates = if got_all.contains_key(k.as_str()) {
                blame::field_candidates(v.op, k, v.expect.notice)
            } else {
                vec![ids::E_B]
            };
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

/// The spoken prompt's text for the checker: `expect.output.explicit.voice_text`, else the text
/// the request asked the implementation to speak (`request.explicit.text` with `kind: voice`).
/// There is no packaged Mandarin speech recogniser, so the words are the request's; the audio
/// is measured for speech (voicing, pitch movement, syllable-rate modulation) and its rate.
fn voice_text<'a>(v: &'a Vector, want: &'a ExpectExplicit) -> Option<&'a str> {
    want.voice_text.as_deref().or_else(|| {
        let e = v.request.get("explicit")?;
        (e.get("kind")?.as_str()? == "voice")
            .then(|| e.get("text")?.as_str())
            .flatten()
    })
}

/// The interaction rounds the request named (`request.explicit.rounds`, `[start, end]` seconds
/// of the input): the checker then wants a label at the start or end of every round (5.3 d
/// note 3). Malformed entries are left out here; lint refuses them in a vector.
fn rounds(v: &Vector) -> Vec<[f64; 2]> {
    v.explicit_rounds()
        .map(|rs| rs.into_iter().flatten().collect())
        .unwrap_or_default()
}

/// `expect.output.explicit`: the reference measures the output's explicit label against the
/// input (`aigc_label::explicit::check_file`, what `aigc-label check --original` prints) and
/// judges every chapter-5 requirement the vector names; each one that fails is a finding charged
/// to exactly that requirement. "Unknown" (a measurement that cannot be made, e.g. no OCR, a
/// symbol-only prompt) and "not judged" (the checker has no measure for it) are neither passed
/// nor failed: the requirement is recorded as unmeasured, so this vector gives it no pass
/// (`inconclusive`, issue 18). The keys of [`ExpectExplicit`] describe the expected measurements for
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
    let voice = voice_text(v, want);
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
    let rounds = rounds(v);
    let checked = aigc_label::explicit::check_file(
        output,
        Some(input),
        voice,
        &rounds,
        true,
        None,
        ctx.profile,
    );
    let (modality, measurements, verdicts) = match checked {
        Ok((modality, measurements, verdicts)) => (modality, measurements, verdicts),
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
        if matches!(outcome, "unknown" | "not judged") {
            l.unmeasured.push((*r).clone());
        }
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
        l.unmeasured.retain(|r| r != ids::GB_5_3_C);
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
    let modality = match modality {
        aigc_label::media::Modality::Text => "text",
        aigc_label::media::Modality::Image => "image",
        aigc_label::media::Modality::Audio => "audio",
        aigc_label::media::Modality::Video => "video",
    };
    compare_explicit_keys(l, v, want, (modality, &measurements), &verdicts, &judged);
    l.actual.insert("explicit".into(), Value::Object(got));
    // The verdicts above follow the profile's binding readings; the other readings annotate
    // (the report lists the vectors whose verdict hangs on a reading).
    if let Some(readings) = measurements
        .get("readings")
        .filter(|r| r.as_array().is_some_and(|a| !a.is_empty()))
    {
        l.actual
            .insert("explicit_readings".into(), readings.clone());
    }
    l.actual
        .insert("explicit_measurements".into(), measurements);
}

/// The requirement an `expect.output.explicit` key is about, per modality (`text`, `image`,
/// `audio`, `video`); `None`: the oracle does not compare that key for the modality (lint
/// rejects it, [`crate::lint`]).
pub fn explicit_key_requirement(key: &str, modality: &str) -> Option<&'static str> {
    use aigc_label::explicit::requirements::*;
    Some(match (key, modality) {
        ("present", "text") => GB_5_1_A,
        ("present", "image") => GB_5_2_A,
        ("present", "audio") => GB_5_3_A,
        ("present", "video") => GB_5_4_A,
        ("wording", "text") => GB_5_1_B,
        ("wording", "image") => GB_5_2_B,
        ("wording", "audio") => GB_5_3_B,
        ("wording", "video") => GB_5_4_B,
        ("place" | "line", "text") => GB_5_1_C,
        ("place", "audio") => GB_5_3_D,
        ("position", "image") => GB_5_2_C,
        ("position", "video") => GB_5_4_E,
        ("min_height_ratio" | "text_height_px" | "height_ok", "image") => GB_5_2_E,
        ("min_height_ratio" | "text_height_px" | "height_ok", "video") => GB_5_4_F,
        ("first_shown_s" | "start_ok", "video") => GB_5_4_C,
        ("min_shown_from_start_s" | "shown_from_start_s" | "duration_ok", "video") => GB_5_4_G,
        ("audio_label", "audio") => GB_5_3_A,
        ("pattern", "audio") => GB_5_3_C,
        ("speech_rate_chars_per_min" | "speech_rate_ok", "audio") => GB_5_3_E,
        _ => return None,
    })
}

/// Whether the measurement `m` (the `check --json` measurements of one modality) shows what
/// `expect.output.explicit.KEY` says, and the measured value. `None`: nothing was measured
/// (e.g. no OCR), which is not a failure of the implementation.
fn explicit_key_holds(
    key: &str,
    want: &Value,
    modality: &str,
    m: &Value,
    outcome_of: &dyn Fn(&str) -> Option<&'static str>,
) -> Option<(bool, Value)> {
    let verdict_is = |r: &str, pass: bool| -> Option<(bool, Value)> {
        let o = outcome_of(r)?;
        (o != "unknown").then(|| (o == if pass { "pass" } else { "fail" }, json!(o)))
    };
    let num = |x: &Value| x.as_f64();
    // A video's visual measurements (size, position) are those of its label frames.
    let visual = if modality == "video" { &m["visual"] } else { m };
    match key {
        "present" if modality == "text" => {
            // A text prompt, or nothing added at all, is what 5.1 a) measures; an added line
            // that is no prompt may be a symbol (5.1 a allows one), which is not measured.
            let o = outcome_of(explicit_key_requirement(key, modality)?)?;
            if o == "unknown" {
                return None;
            }
            let present = o == "pass";
            Some((Some(present) == want.as_bool(), json!(present)))
        }
        "present" => {
            let present = match modality {
                "text" => m["candidates"].as_array().is_some_and(|c| !c.is_empty()),
                "image" => !m["ink"].is_null(),
                "audio" => !m["rhythm"].is_null() || !m["voice"].is_null(),
                _ => m["frames_shown"].as_u64().unwrap_or(0) > 0,
            };
            Some((Some(present) == want.as_bool(), json!(present)))
        }
        "wording" => {
            let r = explicit_key_requirement(key, modality)?;
            match want.as_str()? {
                "conforms" => verdict_is(r, true),
                _ => verdict_is(r, false),
            }
        }
        "place" => {
            let got = match modality {
                "text" => m["candidates"][0]["place"].clone(),
                _ if !m["rhythm"].is_null() => m["rhythm"][1].clone(),
                _ => m["inserted"]["place"].clone(),
            };
            if got.is_null() {
                return Some((false, got));
            }
            Some((want == "any" || &got == want, got))
        }
        "line" => {
            let got = m["candidates"][0]["line"].clone();
            Some((&got == want, got))
        }
        "position" => {
            let edge = visual["in_edge_band"].clone();
            let corner = visual["in_corner"].clone();
            let ok = match want.as_str()? {
                "edge" => edge == true,
                "corner" => corner == true,
                "not-edge" => edge == false,
                _ => false,
            };
            Some((ok, json!({"in_edge_band": edge, "in_corner": corner})))
        }
        "text_height_px" => {
            let h = visual["text_height_px"].clone();
            Some((&h == want, h))
        }
        "min_height_ratio" => {
            // The ratio under the binding reading of 文字高度 (profile `readings:`), else the
            // glyph-fill measurement.
            let binding = m["readings"]
                .as_array()
                .and_then(|a| a.iter().find(|r| r["question"] == "text_height"))
                .and_then(|r| r["verdicts"].as_array())
                .and_then(|v| v.iter().find(|x| x["binding"] == true))
                .map(|x| x["ratio"].clone());
            let got = binding.unwrap_or_else(|| visual["height_ratio"].clone());
            let ok = matches!((num(&got), num(want)), (Some(g), Some(w)) if g + 1e-9 >= w);
            Some((ok, got))
        }
        "audio_label" => {
            let (rhythm, voice) = (!m["rhythm"].is_null(), !m["voice"].is_null());
            let ok = match want.as_str()? {
                "rhythm" => rhythm,
                "voice" => voice,
                _ => rhythm || voice,
            };
            Some((ok, json!({"rhythm": rhythm, "voice": voice})))
        }
        "pattern" => {
            // The pattern of the group that is the label, else of the first group.
            let got = if m["rhythm"].is_null() {
                m["groups"][0]["pattern"].clone()
            } else {
                m["rhythm"][0]["pattern"].clone()
            };
            let ok = match (got.as_str(), want.as_str()) {
                (Some(g), Some(w)) => g.contains(w),
                _ => false,
            };
            Some((ok, got))
        }
        "speech_rate_chars_per_min" => {
            let got = m["voice"]["chars_per_min"].clone();
            let ok = match (num(&got), num(&want[0]), num(&want[1])) {
                (Some(r), Some(lo), Some(hi)) => r >= lo && r <= hi,
                _ => false,
            };
            Some((ok, got))
        }
        "first_shown_s" | "shown_from_start_s" => {
            let frame = 1.0 / m["fps"].as_f64().unwrap_or(25.0);
            let got = m[key].clone();
            let ok = matches!((num(&got), num(want)), (Some(g), Some(w)) if (g - w).abs() <= frame + 1e-9);
            Some((ok, got))
        }
        "min_shown_from_start_s" => {
            let got = m["shown_from_start_s"].clone();
            let ok = matches!((num(&got), num(want)), (Some(g), Some(w)) if g + 1e-9 >= w);
            Some((ok, got))
        }
        "height_ok" | "speech_rate_ok" | "start_ok" | "duration_ok" => {
            verdict_is(explicit_key_requirement(key, modality)?, want.as_bool()?)
        }
        _ => None,
    }
}

/// Keys of `expect.output.explicit` that steer the check rather than describe the output.
pub const EXPLICIT_STEERING_KEYS: &[&str] = &["voice_text"];

/// Every other key of `expect.output.explicit` is compared with the measurement; a mismatch is
/// a finding charged to the key's requirement (once: a requirement the vector names and whose
/// own verdict already failed is not charged again).
fn compare_explicit_keys(
    l: &mut Ledger,
    v: &Vector,
    want: &ExpectExplicit,
    (modality, m): (&str, &Value),
    verdicts: &[aigc_label::explicit::Finding],
    judged: &[&String],
) {
    use aigc_label::explicit::Outcome as Judged;
    let outcome_of = |r: &str| -> Option<&'static str> {
        verdicts
            .iter()
            .find(|f| f.requirement == r)
            .map(|f| match f.outcome {
                Judged::Pass => "pass",
                Judged::Fail => "fail",
                Judged::Unknown => "unknown",
            })
    };
    let Ok(Value::Object(keys)) = serde_json::to_value(want) else {
        return;
    };
    let (mut exp, mut act) = (Map::new(), Map::new());
    for (key, w) in keys
        .iter()
        .filter(|(k, _)| !EXPLICIT_STEERING_KEYS.contains(&k.as_str()))
    {
        let requirement = explicit_key_requirement(key, modality);
        exp.insert(key.clone(), w.clone());
        let Some((ok, got)) = explicit_key_holds(key, w, modality, m, &outcome_of) else {
            act.insert(key.clone(), json!("not measured"));
            continue;
        };
        act.insert(key.clone(), got.clone());
        if ok {
            continue;
        }
        let already = requirement.is_some_and(|r| {
            judged.iter().any(|j| j.as_str() == r) && outcome_of(r) == Some("fail")
        });
        if !already {
            l.find(Finding::new(
                format!("explicit label: expected {key} {w}, measured {got}"),
                blame::of(v, &format!("output.explicit.{key}"), requirement.as_slice()),
            ));
        }
    }
    l.expected
        .insert("explicit_keys".into(), Value::Object(exp));
    l.actual.insert("explicit_keys".into(), Value::Object(act));
}
