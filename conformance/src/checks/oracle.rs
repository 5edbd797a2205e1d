//! The oracle: an implementation's output file is judged by the reference decoder, never by the
//! implementation's own account of it.

use serde_json::{json, Map, Value};
use std::path::Path;

use super::Context;
use crate::vector::ExpectOutput;
use aigc_label::implicit::{detect, embed_bytes, read_path};
use aigc_label::io::Input;

/// The label written into both files by the payload check. Any fixed, valid label works: what
/// matters is that it is the same for both.
const PROBE_LABEL: &str = r#"{"Label":"1","ContentProducer":"conformance-probe","ProduceID":"0","ReservedCode1":"","ContentPropagator":"conformance-probe","PropagateID":"0","ReservedCode2":""}"#;

/// Format id of a file as the reference detects it.
fn format_of(path: &Path) -> Option<&'static str> {
    let mut input = Input::open(path).ok()?;
    detect(&mut input, Some(path)).ok().map(|f| f.id())
}

/// How [`payload_unchanged`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadMethod {
    /// Same bytes after the reference wrote the same probe label into both files.
    Probe,
    /// Probe bytes differ (metadata outside the label changed), but the decoded pixels agree.
    Pixels,
}

/// Decoded RGBA pixels of an image, if the `image` crate can decode the format.
fn pixels(bytes: &[u8]) -> Option<(u32, u32, Vec<u8>)> {
    let img = image::load_from_memory(bytes).ok()?.to_rgba8();
    Some((img.width(), img.height(), img.into_raw()))
}

/// Whether two files carry the same payload.
///
/// First the probe: the reference writes the same fixed label into both (which replaces or
/// removes every label carrier it knows); identical bytes afterwards mean everything but the
/// label is identical. When the bytes differ, an image is decoded and its pixels compared, since
/// a writer may legitimately rewrite other metadata (ExifTool adds `x:xmptk` to the XMP packet).
/// See PROTOCOL.md for the limits of both checks.
pub fn payload_unchanged(input: &Path, output: &Path) -> Result<(bool, PayloadMethod), String> {
    let a = std::fs::read(input).map_err(|e| format!("{}: {e}", input.display()))?;
    let b = std::fs::read(output).map_err(|e| format!("{}: {e}", output.display()))?;
    let pa = embed_bytes(a.clone(), PROBE_LABEL).map_err(|e| format!("input: {e}"))?;
    let pb = embed_bytes(b.clone(), PROBE_LABEL).map_err(|e| format!("output: {e}"))?;
    if pa == pb {
        return Ok((true, PayloadMethod::Probe));
    }
    match (pixels(&a), pixels(&b)) {
        (Some(x), Some(y)) if x == y => Ok((true, PayloadMethod::Pixels)),
        _ => Ok((false, PayloadMethod::Probe)),
    }
}

/// Check `expect.output`; returns (expected document, actual document, findings).
pub fn check_output(
    e: &ExpectOutput,
    input: &Path,
    output: &Path,
    ctx: &Context,
) -> (Value, Value, Vec<String>) {
    let mut exp = Map::new();
    let mut act = Map::new();
    let mut findings = Vec::new();
    let report = match read_path(output, ctx.profile) {
        Ok(r) => r,
        Err(err) => {
            let msg = format!("output: the reference cannot read it: {}", err.error);
            findings.push(msg.clone());
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
            findings.push(format!("output verdict: expected {want}, got {got}"));
        }
        exp.insert("verdict".into(), want);
        act.insert("verdict".into(), got);
    }
    if let Some(want) = &e.fields {
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
        if &got != want {
            let bad: Vec<&str> = want
                .iter()
                .filter(|(k, v)| got.get(*k) != Some(v))
                .map(|(k, _)| k.as_str())
                .collect();
            findings.push(format!("output fields differ: {}", bad.join(", ")));
        }
        exp.insert("fields".into(), Value::Object(want.clone()));
        act.insert("fields".into(), Value::Object(got));
    }
    if let Some(want) = e.label_count {
        let got = report.labels.len();
        if got != want {
            findings.push(format!("output label_count: expected {want}, got {got}"));
        }
        exp.insert("label_count".into(), json!(want));
        act.insert("label_count".into(), json!(got));
    }
    if let Some(want) = e.same_format {
        let got = format_of(input).is_some_and(|f| f == report.format);
        if got != want {
            findings.push(format!(
                "output same_format: expected {want}, got {got} (output is {})",
                report.format
            ));
        }
        exp.insert("same_format".into(), json!(want));
        act.insert("same_format".into(), json!(got));
    }
    if let Some(want) = e.payload_unchanged {
        match payload_unchanged(input, output) {
            Ok((got, method)) => {
                if got != want {
                    findings.push(format!(
                        "output payload_unchanged: expected {want}, got {got}"
                    ));
                }
                exp.insert("payload_unchanged".into(), json!(want));
                act.insert("payload_unchanged".into(), json!(got));
                if method == PayloadMethod::Pixels {
                    // Not a difference: recorded so a reader knows which check decided.
                    act.insert(
                        "payload_note".into(),
                        json!("metadata outside the label differs; decoded pixels identical"),
                    );
                }
            }
            Err(err) => {
                findings.push(format!("output payload_unchanged: cannot compare: {err}"));
                exp.insert("payload_unchanged".into(), json!(want));
                act.insert("payload_unchanged".into(), json!(err));
            }
        }
    }
    (Value::Object(exp), Value::Object(act), findings)
}
