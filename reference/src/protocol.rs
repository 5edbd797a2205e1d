//! The conformance adapter protocol, version 1 (`conformance/PROTOCOL.md`), as types.
//!
//! One JSON request goes to an adapter, one JSON response comes back. The harness
//! (`aigc-conform`) builds its requests from these types and reads the responses with them; the
//! reference's own adapter (`aigc-label adapter`) parses requests and writes responses with them.
//! The JSON Schemas in `conformance/schema/` are the published form; a test of the conformance
//! crate checks that these types and the schemas agree.
//!
//! Values an implementation is free to shape (the seven label fields, the explicit-label request)
//! stay JSON here: vectors send malformed shapes on purpose, and judging them is the adapter's job.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

#[cfg(feature = "explicit")]
use crate::explicit;
use crate::implicit::{embed_path, formats, read_path, EmbedOptions};
use crate::io::Overwrite;
use crate::label::{parse_label_text, CarrierKind};
use crate::platform::propagate_path;
use crate::{Profile, Severity};

pub use crate::implicit::Verdict;
pub use crate::platform::{Notice, PlatformInfo};

/// The protocol version these types describe (`protocol` of every request).
pub const VERSION: u32 = 1;

/// One request: the protocol version, then the operation and its arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    /// Always [`VERSION`].
    pub protocol: u32,
    /// Request id (persistent mode): the answer must carry the same `id`, so that answers are
    /// matched to requests by id, never by position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The operation (`op`) with its arguments.
    #[serde(flatten)]
    pub body: RequestBody,
}

impl Request {
    /// A request of this protocol version.
    pub fn new(body: RequestBody) -> Request {
        Request {
            protocol: VERSION,
            id: None,
            body,
        }
    }

    /// The `op` name.
    pub fn op(&self) -> &'static str {
        self.body.op()
    }
}

/// The operations, tagged by `op`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum RequestBody {
    /// Who the implementation is and what it claims.
    Info(InfoRequest),
    /// Report the labels of a file.
    Read(ReadRequest),
    /// Write a labelled copy (generation service).
    Label(LabelRequest),
    /// Act as a propagation platform.
    Propagate(PropagateRequest),
}

impl RequestBody {
    /// The `op` name.
    pub fn op(&self) -> &'static str {
        match self {
            RequestBody::Info(_) => "info",
            RequestBody::Read(_) => "read",
            RequestBody::Label(_) => "label",
            RequestBody::Propagate(_) => "propagate",
        }
    }
}

/// `info`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InfoRequest {
    /// For the adapter's logs (the harness sends `info`).
    #[serde(default)]
    pub vector: String,
}

/// `read`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadRequest {
    /// The vector id, for the adapter's logs.
    #[serde(default)]
    pub vector: String,
    /// Absolute path of the file to read.
    pub input: String,
    /// Media type, e.g. `image/png`; `None`: the adapter sniffs.
    #[serde(default)]
    pub media: Option<String>,
}

/// `label`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelRequest {
    /// The vector id, for the adapter's logs.
    #[serde(default)]
    pub vector: String,
    /// Absolute path of the unlabelled input.
    pub input: String,
    /// Media type; `None`: the adapter sniffs.
    #[serde(default)]
    pub media: Option<String>,
    /// Absolute path where the labelled copy goes.
    pub output: String,
    /// The seven Annex E fields (string values, unless a vector sends another shape on purpose).
    pub fields: Map<String, Value>,
    /// `None`, or the explicit label to render (`{text, position, kind, duration_s, ...}`; the
    /// reference parses it as `explicit::MarkRequest`).
    #[serde(default)]
    pub explicit: Option<Value>,
}

/// `propagate`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PropagateRequest {
    /// The vector id, for the adapter's logs.
    #[serde(default)]
    pub vector: String,
    /// Absolute path of the uploaded file.
    pub input: String,
    /// Media type; `None`: the adapter sniffs.
    #[serde(default)]
    pub media: Option<String>,
    /// Absolute path of the file as the platform would publish it.
    pub output: String,
    /// The platform's own data (ContentPropagator, PropagateID, ReservedCode2).
    pub platform: PlatformInfo,
    /// Whether the uploader declared the content AI-generated (Measures Art. 6 case 2).
    #[serde(default)]
    pub user_declared: bool,
}

/// `status` of every response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Handled; the op's fields follow.
    Ok,
    /// The op or media type is not implemented (not claimed in `info`).
    Unsupported,
    /// The input is refused as invalid.
    Rejected,
    /// The adapter could not handle the request.
    Error,
}

impl Status {
    /// The protocol name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Unsupported => "unsupported",
            Status::Rejected => "rejected",
            Status::Error => "error",
        }
    }
}

/// What every response has: its status and, unless `ok`, a message. Reading a response as a
/// `Head` ignores the op's fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Head {
    /// The status.
    pub status: Status,
    /// Why (required unless `ok`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Head {
    /// `ok` with nothing else (the answer to `label`).
    pub fn ok() -> Head {
        Head {
            status: Status::Ok,
            message: None,
        }
    }

    /// A refusal or failure with its reason.
    pub fn refusal(status: Status, message: impl Into<String>) -> Head {
        Head {
            status,
            message: Some(message.into()),
        }
    }
}

/// A role an implementation can claim in `info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Writes labels (ops `label`).
    Generator,
    /// Propagates content (op `propagate`).
    Platform,
    /// Reads labels (op `read`).
    Reader,
}

impl Role {
    /// The protocol name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Generator => "generator",
            Role::Platform => "platform",
            Role::Reader => "reader",
        }
    }
}

/// The `ok` answer to `info`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InfoResponse {
    /// Always [`Status::Ok`].
    pub status: Status,
    /// The implementation's name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The roles it claims.
    pub roles: Vec<Role>,
    /// Media types claimed per op (`read`, `label`, `propagate`).
    pub media: BTreeMap<String, Vec<String>>,
    /// Whether it offers `serve` (one request per line).
    pub persistent: bool,
}

/// One label as found by `read`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoundLabel {
    /// The label's values as found.
    pub fields: Map<String, Value>,
    /// Where it was found, e.g. `png/iTXt/XMP`.
    pub carrier: String,
    /// The label's security data (TC260-PG-202511A), optional in protocol 1: judged when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<Value>,
    /// The problem codes the reader found in this label (the reference's vocabulary,
    /// conformance/PROTOCOL.md), optional in protocol 1: when reported, vectors that expect a
    /// code (a soft rule broken, the label still valid) check that it is there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problems: Option<Vec<String>>,
}

/// The `ok` answer to `read`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadResponse {
    /// Always [`Status::Ok`].
    pub status: Status,
    /// Every label found.
    pub labels: Vec<FoundLabel>,
    /// The whole-file verdict.
    pub verdict: Verdict,
}

/// The `ok` answer to `propagate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropagateResponse {
    /// Always [`Status::Ok`].
    pub status: Status,
    /// The notice level the platform shows.
    pub notice: Notice,
    /// Why (for people; optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// The reference's answers: `aigc-label adapter` prints them, and the harness can call them
// in-process.

/// The reference's answer to one request text (what `aigc-label adapter` prints); never panics
/// on bad input: a malformed request gets `status: error`.
pub fn answer_text(text: &str, profile: &Profile) -> Value {
    match serde_json::from_str(text) {
        Ok(v @ Value::Object(_)) => answer(v, profile),
        Ok(_) => error("the request is not a JSON object"),
        Err(e) => error(&format!("the request is not JSON: {e}")),
    }
}

/// The reference's answer to one request (a JSON object), by the reference library itself.
/// The request's `id`, when it has one, is echoed in the answer (persistent mode).
pub fn answer(request: Value, profile: &Profile) -> Value {
    let id = request.get("id").filter(|i| i.is_string()).cloned();
    let mut response = answer_unmarked(request, profile);
    if let (Some(id), Some(o)) = (id, response.as_object_mut()) {
        o.insert("id".into(), id);
    }
    response
}

fn answer_unmarked(request: Value, profile: &Profile) -> Value {
    if request.get("protocol").and_then(Value::as_u64) != Some(u64::from(VERSION)) {
        return error("unsupported protocol version (this adapter speaks protocol 1)");
    }
    match request.get("op").and_then(Value::as_str) {
        Some("info" | "read" | "label" | "propagate") => {}
        Some(other) => return unsupported(&format!("unknown op {other:?}")),
        None => return error("the request has no op"),
    }
    // A media type the reference does not handle means "not claimed", whatever else is wrong.
    if let Some(answer) = check_media(&request) {
        return answer;
    }
    let request: Request = match serde_json::from_value(request) {
        Ok(r) => r,
        Err(e) => return error(&format!("the request is malformed: {e}")),
    };
    // The dispatch table: adding an op is one function and one line here.
    match request.body {
        RequestBody::Info(r) => info(r, profile),
        RequestBody::Read(r) => read(r, profile),
        RequestBody::Label(r) => label(r, profile),
        RequestBody::Propagate(r) => propagate(r, profile),
    }
}

/// A typed response as the JSON the harness reads.
fn reply(response: impl Serialize) -> Value {
    serde_json::to_value(response).unwrap_or_else(|e| error(&format!("cannot encode: {e}")))
}

fn error(message: &str) -> Value {
    reply(Head::refusal(Status::Error, message))
}

fn rejected(message: &str) -> Value {
    reply(Head::refusal(Status::Rejected, message))
}

fn unsupported(message: &str) -> Value {
    reply(Head::refusal(Status::Unsupported, message))
}

/// Every media type the reference's format registry handles.
fn media_types() -> Vec<&'static str> {
    formats()
        .iter()
        .flat_map(|f| f.media_types().iter().copied())
        .collect()
}

fn info(_: InfoRequest, profile: &Profile) -> Value {
    // Declared under the suite's names only (profile `media.types`): the other names of a
    // format (audio/mp3, audio/x-wav, ...) are still accepted in requests, but a harness
    // refuses them in `info` (issue 10).
    let valid: Option<Vec<String>> = profile.section("media.types").ok();
    let media: Vec<String> = media_types()
        .into_iter()
        .filter(|m| valid.as_ref().is_none_or(|v| v.iter().any(|x| x == m)))
        .map(String::from)
        .collect();
    reply(InfoResponse {
        status: Status::Ok,
        name: "aigc-label (reference)".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        roles: vec![Role::Generator, Role::Platform, Role::Reader],
        media: BTreeMap::from([
            ("read".to_string(), media.clone()),
            ("label".to_string(), media.clone()),
            ("propagate".to_string(), media),
        ]),
        persistent: true,
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

fn read(request: ReadRequest, profile: &Profile) -> Value {
    match read_path(Path::new(&request.input), profile) {
        Ok(report) => reply(ReadResponse {
            status: Status::Ok,
            labels: report
                .labels
                .iter()
                .map(|l| FoundLabel {
                    fields: l.fields.clone(),
                    carrier: l.carrier.clone(),
                    security: serde_json::to_value(&l.security).ok(),
                    problems: Some(
                        l.problems
                            .iter()
                            .map(|p| p.code.as_str().to_string())
                            .collect(),
                    ),
                })
                .collect(),
            verdict: report.verdict,
        }),
        // A file that cannot be opened is our failure; one we cannot parse is refused.
        Err(e) if matches!(e.error, crate::error::CodecError::Io(ref io) if io.kind() != std::io::ErrorKind::UnexpectedEof) => {
            error(&e.to_string())
        }
        Err(e) => rejected(&e.to_string()),
    }
}

/// The explicit-label request as the reference reads it (a plain object without the tier).
#[cfg(feature = "explicit")]
type ExplicitRequest = explicit::MarkRequest;
#[cfg(not(feature = "explicit"))]
type ExplicitRequest = Value;

/// Render the visible label into `output`; `Err` holds the answer to send instead.
#[cfg(feature = "explicit")]
fn render_explicit(
    req: &ExplicitRequest,
    input: &Path,
    output: &Path,
    profile: &Profile,
) -> Result<(), Value> {
    let modality = explicit::Modality::detect(input).map_err(|e| rejected(&e.to_string()))?;
    explicit::mark_path(input, output, modality, req, profile, Overwrite::Replace)
        .map(|_| ())
        .map_err(|e| rejected(&format!("explicit label: {e}")))
}

/// Without the explicit tier the codec cannot draw a visible label: say so, as the protocol asks.
#[cfg(not(feature = "explicit"))]
fn render_explicit(
    _req: &ExplicitRequest,
    _input: &Path,
    _output: &Path,
    _profile: &Profile,
) -> Result<(), Value> {
    Err(unsupported(
        "explicit labels need the reference built with the `explicit` feature",
    ))
}

/// An explicit label already in the file (Measures Art. 6(3) traces); none without the tier.
#[cfg(feature = "explicit")]
fn trace_of(input: &Path, profile: &Profile) -> Option<String> {
    crate::explicit::detect_trace(input, profile)
}

#[cfg(not(feature = "explicit"))]
fn trace_of(_input: &Path, _profile: &Profile) -> Option<String> {
    None
}

fn label(request: LabelRequest, profile: &Profile) -> Value {
    // The explicit (visible) label, when asked for: rendered first, then the implicit label is
    // written into the rendered copy.
    let explicit: Option<ExplicitRequest> = match request.explicit {
        None | Some(Value::Null) => None,
        Some(v) => match serde_json::from_value(v) {
            Ok(r) => Some(r),
            Err(e) => return error(&format!("the explicit object is malformed: {e}")),
        },
    };
    let (input, output) = (Path::new(&request.input), Path::new(&request.output));
    // A generator must refuse to write a label that breaks Annex E: parse the fields exactly
    // as a reader would, and refuse on any error-level problem.
    let text = Value::Object(request.fields).to_string();
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
            if let Err(answer) = render_explicit(req, input, output, profile) {
                return answer;
            }
            output
        }
        None => input,
    };
    match embed_path(source, output, &label.to_bare_json(), options) {
        Ok(_) => reply(Head::ok()),
        Err(e) => rejected(&e.to_string()),
    }
}

fn propagate(request: PropagateRequest, profile: &Profile) -> Value {
    let (input, output) = (Path::new(&request.input), Path::new(&request.output));
    let trace = trace_of(input, profile);
    match propagate_path(
        input,
        output,
        &request.platform,
        request.user_declared,
        trace.as_deref(),
        Overwrite::Replace,
        profile,
    ) {
        Ok(decision) => reply(PropagateResponse {
            status: Status::Ok,
            notice: decision.notice,
            reason: Some(decision.reason),
        }),
        Err(e) => rejected(&e.to_string()),
    }
}
