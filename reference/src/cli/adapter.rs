//! `aigc-label adapter [serve]`: the reference itself behind the conformance adapter protocol
//! (`conformance/PROTOCOL.md`).
//!
//! Without arguments it reads one JSON request from stdin and writes one JSON response to
//! stdout; with `serve` it answers one request per line until stdin closes (persistent mode).
//! Every request gets an answer, even a malformed one (`status: error`), and the exit status is
//! 0 whenever a response was written: a non-zero exit means the adapter itself broke, which the
//! harness reports as a crash.

use aigc_label::explicit;
use aigc_label::implicit::{embed_path, formats, read_path, EmbedOptions};
use aigc_label::io::Overwrite;
use aigc_label::label::{parse_label_text, CarrierKind};
use aigc_label::platform::{propagate_path, PlatformInfo};
use aigc_label::{Profile, Severity};
use serde_json::{json, Value};
use std::io::{BufRead, Read, Write};
use std::path::Path;
use std::process::ExitCode;

/// Protocol version spoken by this adapter.
const PROTOCOL: u64 = 1;

/// Arguments of `adapter`.
#[derive(clap::Args)]
pub struct Args {
    /// `serve`: persistent mode, one JSON request per line on stdin, one response per line.
    #[arg(value_parser = ["serve"])]
    mode: Option<String>,
}

/// Answer one request (or, with `serve`, every line of stdin).
pub fn run(args: Args, profile: &Profile) -> ExitCode {
    let stdout = std::io::stdout();
    if args.mode.is_some() {
        let stdin = std::io::stdin();
        for line in stdin.lock().lines() {
            let Ok(line) = line else {
                return ExitCode::from(2);
            };
            if line.trim().is_empty() {
                continue;
            }
            let response = answer_text(&line, profile);
            let mut out = stdout.lock();
            // One line per response, flushed at once: the harness waits for it.
            if writeln!(out, "{response}")
                .and_then(|_| out.flush())
                .is_err()
            {
                return ExitCode::from(2);
            }
        }
        ExitCode::SUCCESS
    } else {
        let mut text = String::new();
        if std::io::stdin().read_to_string(&mut text).is_err() {
            return ExitCode::from(2);
        }
        let response = answer_text(&text, profile);
        let mut out = stdout.lock();
        match writeln!(out, "{response}") {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::from(2),
        }
    }
}

/// Parse a request and answer it; never panics on bad input.
fn answer_text(text: &str, profile: &Profile) -> Value {
    let request: Value = match serde_json::from_str(text) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => return error("the request is not a JSON object"),
        Err(e) => return error(&format!("the request is not JSON: {e}")),
    };
    if request.get("protocol").and_then(Value::as_u64) != Some(PROTOCOL) {
        return error("unsupported protocol version (this adapter speaks protocol 1)");
    }
    // The dispatch table: adding an op (e.g. `propagate`) is one function and one line here.
    match request.get("op").and_then(Value::as_str) {
        Some("info") => info(),
        Some("read") => read(&request, profile),
        Some("label") => label(&request, profile),
        Some("propagate") => propagate(&request, profile),
        Some(other) => unsupported(&format!("unknown op {other:?}")),
        None => error("the request has no op"),
    }
}

fn error(message: &str) -> Value {
    json!({"status": "error", "message": message})
}

fn rejected(message: &str) -> Value {
    json!({"status": "rejected", "message": message})
}

fn unsupported(message: &str) -> Value {
    json!({"status": "unsupported", "message": message})
}

/// Every media type the reference's format registry handles.
fn media_types() -> Vec<&'static str> {
    formats()
        .iter()
        .flat_map(|f| f.media_types().iter().copied())
        .collect()
}

fn info() -> Value {
    let media = media_types();
    json!({
        "status": "ok",
        "name": "aigc-label (reference)",
        "version": env!("CARGO_PKG_VERSION"),
        "roles": ["generator", "platform", "reader"],
        "media": {"read": media, "label": media, "propagate": media},
        "persistent": true,
    })
}

/// The request's `media`, if given and not one the reference handles, means "not claimed".
fn check_media(request: &Value) -> Option<Value> {
    match request.get("media").and_then(Value::as_str) {
        Some(m) if !media_types().iter().any(|k| k.eq_ignore_ascii_case(m)) => {
            Some(unsupported(&format!("media type {m} is not supported")))
        }
        _ => None,
    }
}

fn path_field<'a>(request: &'a Value, key: &str) -> Result<&'a Path, Value> {
    request
        .get(key)
        .and_then(Value::as_str)
        .map(Path::new)
        .ok_or_else(|| error(&format!("the request has no {key} path")))
}

fn read(request: &Value, profile: &Profile) -> Value {
    if let Some(answer) = check_media(request) {
        return answer;
    }
    let input = match path_field(request, "input") {
        Ok(p) => p,
        Err(e) => return e,
    };
    match read_path(input, profile) {
        Ok(report) => {
            let labels: Vec<Value> = report
                .labels
                .iter()
                .map(|l| json!({"fields": Value::Object(l.fields.clone()), "carrier": l.carrier, "security": l.security}))
                .collect();
            json!({"status": "ok", "labels": labels, "verdict": report.verdict})
        }
        // A file that cannot be opened is our failure; one we cannot parse is refused.
        Err(e) if matches!(e.error, aigc_label::error::CodecError::Io(ref io) if io.kind() != std::io::ErrorKind::UnexpectedEof) => {
            error(&e.to_string())
        }
        Err(e) => rejected(&e.to_string()),
    }
}

fn label(request: &Value, profile: &Profile) -> Value {
    if let Some(answer) = check_media(request) {
        return answer;
    }
    // The explicit (visible) label, when asked for: rendered first, then the implicit label is
    // written into the rendered copy.
    let explicit: Option<explicit::MarkRequest> = match request.get("explicit") {
        None | Some(Value::Null) => None,
        Some(v) => match serde_json::from_value(v.clone()) {
            Ok(r) => Some(r),
            Err(e) => return error(&format!("the explicit object is malformed: {e}")),
        },
    };
    let (input, output) = match (path_field(request, "input"), path_field(request, "output")) {
        (Ok(i), Ok(o)) => (i, o),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let Some(fields) = request.get("fields").and_then(Value::as_object) else {
        return error("the label request has no fields object");
    };
    // A generator must refuse to write a label that breaks Annex E: parse the fields exactly
    // as a reader would, and refuse on any error-level problem.
    let text = Value::Object(fields.clone()).to_string();
    let parsed = parse_label_text(&text, CarrierKind::NamedKey, profile);
    let errors: Vec<String> = parsed
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| format!("{} ({})", p.message, p.code))
        .collect();
    let mut label = match parsed.label {
        Some(l) if errors.is_empty() => l,
        _ => return rejected(&format!("invalid label fields: {}", errors.join("; "))),
    };
    // Annex E note 1: at first write the propagation elements take the production elements'
    // values; a generator given none fills them in.
    if label.content_propagator.is_empty() && label.propagate_id.is_empty() {
        label.content_propagator = label.content_producer.clone();
        label.propagate_id = label.produce_id.clone();
    }
    let options = EmbedOptions {
        overwrite: Overwrite::Replace,
        durability: Default::default(),
    };
    let source = match &explicit {
        Some(req) => {
            let modality = match explicit::Modality::detect(input) {
                Ok(m) => m,
                Err(e) => return rejected(&e),
            };
            if let Err(e) =
                explicit::mark_path(input, output, modality, req, profile, Overwrite::Replace)
            {
                return rejected(&format!("explicit label: {e}"));
            }
            output
        }
        None => input,
    };
    match embed_path(source, output, &label.to_bare_json(), options) {
        Ok(_) => json!({"status": "ok"}),
        Err(e) => rejected(&e.to_string()),
    }
}

fn propagate(request: &Value, profile: &Profile) -> Value {
    if let Some(answer) = check_media(request) {
        return answer;
    }
    let (input, output) = match (path_field(request, "input"), path_field(request, "output")) {
        (Ok(i), Ok(o)) => (i, o),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let platform: PlatformInfo = match request.get("platform").cloned().map(serde_json::from_value)
    {
        Some(Ok(p)) => p,
        Some(Err(e)) => return error(&format!("the platform object is malformed: {e}")),
        None => return error("the propagate request has no platform object"),
    };
    let user_declared = request
        .get("user_declared")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let trace = aigc_label::explicit::detect_trace(input, profile);
    match propagate_path(
        input,
        output,
        &platform,
        user_declared,
        trace.as_deref(),
        Overwrite::Replace,
        profile,
    ) {
        Ok(decision) => {
            json!({"status": "ok", "notice": decision.notice, "reason": decision.reason})
        }
        Err(e) => rejected(&e.to_string()),
    }
}
