//! Explicit labels (GB 45438-2025 chapter 5): the prompt a person perceives, per modality.
//!
//! Each modality module has two halves: a *renderer* (the generation service's duty: put a
//! conforming prompt into text, an image, audio or video) and a *detector* that measures a
//! prompt in anyone's output and reports every measurement, so the harness can judge vendors.
//! Modality code knows pixels, samples and lines; every threshold it is judged against comes
//! from the interpretation profile ([`ExplicitProfile`], section `explicit:` of
//! `vectors/profile.yaml`), and the verdicts are made in one place per modality from the
//! measurements ([`Finding`]).
//!
//! - [`wording`]: the element rule (AI element + generation/synthesis element);
//! - [`text`]: 5.1, prompts inserted into plain text and Markdown;
//! - [`image`]: 5.2, a rendered text prompt at an edge or corner, its glyph height and OCR;
//! - [`audio`]: 5.3, the 短长短短 rhythm and the spoken prompt;
//! - [`video`]: 5.4, the prompt burnt into the starting frames for at least 2 s;
//! - [`readings`]: the profile's binding and alternative readings of open clauses (文字高度).

use serde::{Deserialize, Serialize};
use std::path::Path;

pub use crate::media::Modality;
use crate::profile::Profile;

pub mod audio;
pub mod image;
pub mod readings;
pub mod requirements;
pub mod text;
pub mod video;
pub mod wording;

/// The `explicit:` section of the profile, typed.
#[derive(Debug, Clone, Deserialize)]
pub struct ExplicitProfile {
    /// Strings that count as the AI element ("人工智能", "AI").
    pub ai_element: Vec<String>,
    /// Strings that count as the generation/synthesis element ("生成", "合成").
    pub generation_element: Vec<String>,
    /// Whether "ai" and full-width "ＡＩ" count as the AI element.
    pub accept_ai_variants: bool,
    /// 5.1 thresholds.
    pub text: TextProfile,
    /// 5.2 thresholds.
    pub image: ImageProfile,
    /// 5.4 thresholds.
    pub video: VideoProfile,
    /// 5.3 thresholds.
    pub audio: AudioProfile,
    /// The OCR engines that read visual prompts (`explicit.ocr`; tesseract alone when absent).
    #[serde(default)]
    pub ocr: image::OcrProfile,
}

/// `explicit.text`.
#[derive(Debug, Clone, Deserialize)]
pub struct TextProfile {
    /// Longest line (in characters) still read as a prompt rather than body text.
    pub max_prompt_chars: usize,
}

/// `explicit.image`.
#[derive(Debug, Clone, Deserialize)]
pub struct ImageProfile {
    /// Minimum glyph height / shortest side (5.2 e).
    pub min_text_height_ratio: f64,
    /// How the height is measured (documentation; the reading verdicts follow is
    /// `readings.text_height.binding`, see [`readings`]).
    pub text_height_measure: String,
    /// The edge band, as a fraction of the side (5.2 c).
    pub edge_band_ratio: f64,
    /// 5.2 d) "clearly legible": the least contrast ratio between the glyph fill and what it is
    /// read against (WCAG 2 formula). Absent: legibility is never failed on contrast.
    #[serde(default)]
    pub min_contrast_ratio: Option<f64>,
    /// ... unless their colour difference (CIE 1976 ΔE*ab) reaches this: a label fails 5.2 d
    /// only when both measures are low. Absent: the contrast ratio alone decides.
    #[serde(default)]
    pub min_colour_difference: Option<f64>,
}

/// `explicit.video`.
#[derive(Debug, Clone, Deserialize)]
pub struct VideoProfile {
    /// Minimum glyph height / shortest side (5.4 f).
    pub min_text_height_ratio: f64,
    /// The edge band, as a fraction of the side.
    pub edge_band_ratio: f64,
    /// Minimum display time from the first frame (5.4 g).
    pub min_start_duration_s: f64,
    /// How late after the first frame the label may appear and still be "at the start".
    pub start_tolerance_s: f64,
}

/// `explicit.audio`.
#[derive(Debug, Clone, Deserialize)]
pub struct AudioProfile {
    /// The long element is at least this many times the longest short element.
    pub rhythm_long_to_short_min: f64,
    /// The three short elements are within this fraction of their mean.
    pub rhythm_short_tolerance: f64,
    /// Longest silence inside one rhythm label (separates a label from other sounds).
    pub rhythm_max_gap_s: f64,
    /// Longest silence between two elements of one rhythm label, in multiples of the mean
    /// short element (a rhythm's pauses are of the order of its elements).
    #[serde(default = "default_rhythm_max_gap_to_short")]
    pub rhythm_max_gap_to_short: f64,
    /// Normal speech rate range in 字/min (5.3 e note 4).
    pub speech_rate_chars_per_min: [f64; 2],
    /// Tolerance for "at the start" / "at the end".
    pub position_tolerance_s: f64,
    /// 5.3 f) "clearly distinguishable": a rhythm label must still be found with white noise
    /// added this many dB below the audio's own level. Absent: 5.3 f is not judged.
    #[serde(default)]
    pub rhythm_noise_below_programme_db: Option<f64>,
    /// 5.3 d note 3: with interaction rounds, a rhythm label must overlap the span of this many
    /// seconds either side of each round's first or last sound. Absent: rounds are not judged.
    #[serde(default)]
    pub round_label_within_s: Option<f64>,
}

fn default_rhythm_max_gap_to_short() -> f64 {
    4.0
}

impl ExplicitProfile {
    /// The `explicit:` section of a profile.
    pub fn from_profile(
        profile: &Profile,
    ) -> std::result::Result<ExplicitProfile, crate::profile::ProfileError> {
        profile.section("explicit")
    }
}

/// Outcome of one requirement for one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The measurement meets the requirement.
    Pass,
    /// The measurement does not meet it.
    Fail,
    /// Could not be decided (a tool is missing, or the measurement needs the original).
    Unknown,
}

/// The verdict on one requirement, with the measurement it rests on.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Requirement id, e.g. `GB-5.2-e`.
    pub requirement: &'static str,
    /// Pass, fail or unknown.
    pub outcome: Outcome,
    /// The measurement and the threshold, in words.
    pub detail: String,
}

impl Finding {
    /// A finding that passes when `ok`.
    pub fn judge(requirement: &'static str, ok: bool, detail: impl Into<String>) -> Finding {
        Finding {
            requirement,
            outcome: if ok { Outcome::Pass } else { Outcome::Fail },
            detail: detail.into(),
        }
    }

    /// A finding that could not be decided.
    pub fn unknown(requirement: &'static str, detail: impl Into<String>) -> Finding {
        Finding {
            requirement,
            outcome: Outcome::Unknown,
            detail: detail.into(),
        }
    }
}

/// Where a prompt sits in a linear medium (text, audio, video time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Place {
    /// At the start (起始).
    Start,
    /// At an appropriate middle position (中间适当位置).
    Middle,
    /// At the end (末尾).
    End,
}

impl Place {
    /// Parse `start`, `middle` or `end`.
    pub fn parse(s: &str) -> Option<Place> {
        match s {
            "start" => Some(Place::Start),
            "middle" => Some(Place::Middle),
            "end" => Some(Place::End),
            _ => None,
        }
    }
}

/// Why an explicit label could not be made or measured. The modality modules report in words
/// ([`ExplicitError::Media`]); this type says which kind of failure it was.
#[derive(Debug)]
pub enum ExplicitError {
    /// An external tool (ffmpeg, tesseract...) is missing or failed.
    Tool(String),
    /// A file could not be read, decoded or written.
    File(String),
    /// The request breaks chapter 5 or names an unknown option.
    Refused(String),
    /// The profile lacks the `explicit:` section or has it in the wrong shape.
    Profile(crate::profile::ProfileError),
    /// Rendering or measuring failed in a modality module.
    Media(String),
}

impl std::fmt::Display for ExplicitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExplicitError::Tool(what)
            | ExplicitError::File(what)
            | ExplicitError::Refused(what)
            | ExplicitError::Media(what) => write!(f, "{what}"),
            ExplicitError::Profile(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ExplicitError {}

/// Serialised as its message (reports and protocol answers carry errors as text).
impl Serialize for ExplicitError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl From<String> for ExplicitError {
    fn from(what: String) -> Self {
        ExplicitError::Media(what)
    }
}

impl From<&str> for ExplicitError {
    fn from(what: &str) -> Self {
        ExplicitError::Media(what.to_string())
    }
}

impl From<crate::profile::ProfileError> for ExplicitError {
    fn from(e: crate::profile::ProfileError) -> Self {
        ExplicitError::Profile(e)
    }
}

impl From<crate::media::ModalityError> for ExplicitError {
    fn from(e: crate::media::ModalityError) -> Self {
        ExplicitError::File(e.to_string())
    }
}

/// For the modality modules and callers that report errors as text.
impl From<ExplicitError> for String {
    fn from(e: ExplicitError) -> String {
        e.to_string()
    }
}

/// Why a faster path (block-level JPEG, smart video cut) cannot take a file: not an error, the
/// caller falls back to the full re-encode and reports this reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fallback(pub String);

impl std::fmt::Display for Fallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Fallback {
    fn from(why: &str) -> Self {
        Fallback(why.to_string())
    }
}

impl From<String> for Fallback {
    fn from(why: String) -> Self {
        Fallback(why)
    }
}

/// Result of the explicit tier.
pub type Result<T> = std::result::Result<T, ExplicitError>;

/// Run an external tool under the caller's deadline ([`crate::tool::with_deadline`]) with
/// bounded output; a missing tool gives an error that says which package installs it. The file
/// named in errors is the first argument that names an existing file (every caller passes the
/// file the tool works on as a path).
pub(crate) fn run_tool(program: &str, args: &[&std::ffi::OsStr]) -> Result<Vec<u8>> {
    let file = args
        .iter()
        .map(Path::new)
        .find(|p| p.is_file())
        .map(Path::to_path_buf);
    let mut tool = crate::tool::Tool::new(program).args(args);
    if let Some(f) = &file {
        tool = tool.file(f);
    }
    tool.run().map_err(|e| ExplicitError::Tool(e.to_string()))
}

/// The message for a tool that could not be started.
pub(crate) fn missing_tool(program: &str, e: &std::io::Error) -> String {
    let package = crate::tool::package_of(program);
    if e.kind() == std::io::ErrorKind::NotFound {
        format!("{program} not found: install {package} (Debian: apt-get install {package})")
    } else {
        format!("{program}: {e}")
    }
}

/// Lower-case extension of a path.
pub(crate) fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Carry the implicit label of `input` (if any) over into `bytes`, the labelled output in the
/// same format: rendering re-encodes the file and would otherwise drop the metadata, and 6.1
/// requires the implicit label as well. Returns the bytes and what happened, in words.
///
/// Uses the generic [`crate::implicit`] API, so every container module merged later is used
/// without a change here. Formats without a module yet are reported, not silently dropped.
pub(crate) fn carry_implicit(input: &Path, bytes: Vec<u8>, profile: &Profile) -> (Vec<u8>, String) {
    carry_label(crate::implicit::read_path(input, profile), bytes)
}

/// [`carry_implicit`] with the input's implicit labels already read.
fn carry_label(
    read: std::result::Result<crate::implicit::ReadReport, crate::implicit::FileError>,
    bytes: Vec<u8>,
) -> (Vec<u8>, String) {
    let report = match read {
        Ok(r) => r,
        // A format without an implicit-label module (Y4M, plain text) or an unreadable one.
        Err(e) => return (bytes, format!("not checked: {e}")),
    };
    let Some(first) = report.labels.first() else {
        return (bytes, "none in the input".into());
    };
    let raw = first.raw.clone();
    match crate::implicit::embed_bytes(bytes.clone(), &raw) {
        Ok(out) => (out, format!("carried over ({})", first.carrier)),
        Err(e) => (
            bytes,
            format!("WARNING: the input's implicit label could not be re-embedded: {e}"),
        ),
    }
}

/// Write the file `made` (a labelled copy this process had a tool write) to `path`, with the
/// input's implicit label carried over as [`carry_implicit`] does. When the input has none,
/// the file is copied by the kernel (`copy_file_range`: a reflink where the file system can)
/// rather than read into memory and written again. Returns what [`carry_implicit`] says.
pub(crate) fn write_made_file(
    input: &Path,
    made: &Path,
    path: &Path,
    profile: &Profile,
    mode: impl Into<WriteMode>,
) -> Result<String> {
    let mode = mode.into();
    let read = crate::implicit::read_path(input, profile);
    if let Ok(r) = &read {
        if r.labels.is_empty() {
            crate::io::write_atomically_with(path, mode.overwrite, mode.durability, None, |out| {
                crate::io::Input::open(made)?.copy_rest_from(0, out)
            })
            .map_err(|e| {
                ExplicitError::File(match e {
                    crate::io::WriteError::Exists(p) => {
                        format!("{}: exists (use --force to replace it)", p.display())
                    }
                    crate::io::WriteError::Codec(c) => format!("{}: {c}", path.display()),
                })
            })?;
            return Ok("none in the input".into());
        }
    }
    let bytes = std::fs::read(made).map_err(|e| format!("{}: {e}", made.display()))?;
    let (bytes, implicit) = carry_label(read, bytes);
    write_bytes(path, &bytes, mode)?;
    Ok(implicit)
}

/// How a labelled copy is written: whether an existing output is replaced, and whether it is
/// synced to disk before the atomic rename (`mark --no-sync` skips the fsync, like
/// `embed --no-sync`). An [`Overwrite`](crate::io::Overwrite) alone means a synced write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteMode {
    /// Replace an existing output or refuse.
    pub overwrite: crate::io::Overwrite,
    /// Sync before the rename, or leave it to the OS cache.
    pub durability: crate::io::Durability,
}

impl From<crate::io::Overwrite> for WriteMode {
    fn from(overwrite: crate::io::Overwrite) -> Self {
        WriteMode {
            overwrite,
            durability: crate::io::Durability::Sync,
        }
    }
}

/// Write `bytes` to `path` atomically (temporary file + rename).
pub(crate) fn write_bytes(path: &Path, bytes: &[u8], mode: impl Into<WriteMode>) -> Result<()> {
    use std::io::Write;
    let mode = mode.into();
    crate::io::write_atomically_with(path, mode.overwrite, mode.durability, None, |out| {
        out.write_all(bytes)?;
        Ok(())
    })
    .map_err(|e| {
        ExplicitError::File(match e {
            crate::io::WriteError::Exists(p) => {
                format!("{}: exists (use --force to replace it)", p.display())
            }
            crate::io::WriteError::Codec(c) => format!("{}: {c}", path.display()),
        })
    })
}

/// Read a text file, refusing more than [`crate::limits::MAX_TEXT_BYTES`] and non-UTF-8.
pub fn read_text(path: &Path) -> Result<String> {
    let fail = |what: String| ExplicitError::File(format!("{}: {what}", path.display()));
    let len = std::fs::metadata(path)
        .map_err(|e| fail(e.to_string()))?
        .len();
    if len > crate::limits::MAX_TEXT_BYTES {
        return Err(fail(format!(
            "{len} bytes exceed the limit of {}",
            crate::limits::MAX_TEXT_BYTES
        )));
    }
    let bytes = crate::io::read_regular_file(path, crate::limits::MAX_TEXT_BYTES, "a text")
        .map_err(|e| fail(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| fail(format!("not UTF-8 text ({e})")))
}

/// Parse an interaction round given as `START-END` in seconds (`--round 4.5-9`).
pub fn parse_round(s: &str) -> std::result::Result<[f64; 2], String> {
    let bad = || format!("round {s:?}: START-END in seconds, e.g. 4.5-9");
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let a: f64 = a.trim().parse().map_err(|_| bad())?;
    let b: f64 = b.trim().parse().map_err(|_| bad())?;
    if !(a.is_finite() && b.is_finite() && a >= 0.0 && b > a) {
        return Err(bad());
    }
    Ok([a, b])
}

/// What to mark, for [`mark_path`] (the `mark` command and the adapter's `label` op).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MarkRequest {
    /// The prompt text (default: [`wording::DEFAULT_TEXT_PROMPT`] for text,
    /// [`wording::DEFAULT_VISUAL_PROMPT`] for images and video; audio uses its bundled prompts).
    #[serde(default)]
    pub text: Option<String>,
    /// `start|middle|end` (text, audio) or an [`image::Anchor`] name (images, video).
    #[serde(default)]
    pub position: Option<String>,
    /// Audio: `rhythm` (default) or `voice`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Video: seconds from the first frame (default: every frame).
    #[serde(default)]
    pub duration_s: Option<f64>,
    /// Audio: interaction rounds, `[start, end]` seconds of the input (5.3 d note 3: in a
    /// voice assistant's audio, start and end are those of each round). A label is inserted at
    /// the start of every round, and `position` is not used.
    #[serde(default)]
    pub rounds: Vec<[f64; 2]>,
    /// Write wording or durations that break chapter 5 (negative test vectors).
    #[serde(default)]
    pub allow_nonconforming: bool,
}

/// Add the explicit label to a copy of `input` at `output` (atomically); a JSON report of what
/// was done. Refuses a non-conforming prompt unless the request allows it.
pub fn mark_path(
    input: &Path,
    output: &Path,
    modality: Modality,
    req: &MarkRequest,
    profile: &Profile,
    overwrite: impl Into<WriteMode>,
) -> Result<serde_json::Value> {
    let overwrite = overwrite.into();
    let p = ExplicitProfile::from_profile(profile)?;
    let default_text = match modality {
        Modality::Text => wording::DEFAULT_TEXT_PROMPT,
        _ => wording::DEFAULT_VISUAL_PROMPT,
    };
    let prompt = req.text.as_deref().unwrap_or(default_text);
    // Audio: the rhythm has no text, and the reference speaks only its bundled prompt; a
    // request may name that prompt's text (the vectors do, so the checker knows the words).
    let bundled_voice = req.kind.as_deref() == Some("voice")
        && req.text.as_deref() == Some(wording::VOICE_PROMPT_TEXT);
    if modality == Modality::Audio && req.text.is_some() && !bundled_voice {
        return Err(ExplicitError::Refused(format!(
            "a prompt text does not apply to audio: the rhythm is bundled, and the only voice \
             prompt is the bundled {:?}",
            wording::VOICE_PROMPT_TEXT
        )));
    }
    if !req.rounds.is_empty() && modality != Modality::Audio {
        return Err(ExplicitError::Refused(
            "interaction rounds apply to audio only (5.3 d note 3)".into(),
        ));
    }
    if !wording::judge(prompt, &p).conforms && !req.allow_nonconforming {
        return Err(ExplicitError::Refused(format!(
            "{prompt:?} lacks the AI element or 生成/合成 (chapter 5)"
        )));
    }
    let place = |default: Place| -> Result<Place> {
        match &req.position {
            None => Ok(default),
            Some(s) => Place::parse(s)
                .ok_or_else(|| ExplicitError::Refused(format!("position {s}: start|middle|end"))),
        }
    };
    let anchor = || -> Result<image::Anchor> {
        match &req.position {
            None => Ok(image::Anchor::BottomRight),
            Some(s) => image::Anchor::parse(s).ok_or_else(|| {
                ExplicitError::Refused(format!("position {s}: top-left|top|top-right|left|right|bottom-left|bottom|bottom-right|center"))
            }),
        }
    };
    let json = |v: serde_json::Result<serde_json::Value>| {
        v.map_err(|e| ExplicitError::Media(e.to_string()))
    };
    match modality {
        Modality::Text => {
            let t = read_text(input)?;
            let at = place(Place::Start)?;
            write_bytes(output, text::insert(&t, prompt, at).as_bytes(), overwrite)?;
            Ok(serde_json::json!({"modality": "text", "place": at, "text": prompt}))
        }
        Modality::Image => {
            let r = image::mark_file(input, output, prompt, anchor()?, profile, overwrite)?;
            Ok(serde_json::json!({"modality": "image", "report": json(serde_json::to_value(&r))?}))
        }
        Modality::Audio => {
            let kind = match req.kind.as_deref() {
                None | Some("rhythm") => audio::Kind::Rhythm,
                Some("voice") => audio::Kind::Voice,
                Some(other) => {
                    return Err(ExplicitError::Refused(format!(
                        "audio label {other}: rhythm|voice"
                    )))
                }
            };
            let r = audio::mark_file(
                input,
                output,
                kind,
                place(Place::Start)?,
                &req.rounds,
                profile,
                overwrite,
            )?;
            Ok(serde_json::json!({"modality": "audio", "report": json(serde_json::to_value(&r))?}))
        }
        Modality::Video => {
            if let Some(d) = req.duration_s {
                if d < p.video.min_start_duration_s && !req.allow_nonconforming {
                    return Err(ExplicitError::Refused(format!(
                        "a duration of {d} s is under the {} s of 5.4 g)",
                        p.video.min_start_duration_s
                    )));
                }
            }
            let r = video::mark_file(
                input,
                output,
                prompt,
                anchor()?,
                req.duration_s,
                profile,
                overwrite,
            )?;
            Ok(serde_json::json!({"modality": "video", "report": json(serde_json::to_value(&r))?}))
        }
    }
}

/// Look for a conforming explicit label in a file without its original, for the propagation
/// platform (Measures Art. 6(3): "explicit label or other trace"): a prompt line in text, a
/// prompt read by OCR on an image or the first video frame, the 短长短短 rhythm in audio.
/// Returns what was found, in words; `None` when nothing was found or the file could not be
/// measured (a missing tesseract or ffmpeg means nothing can be seen, not an error here).
pub fn detect_trace(path: &Path, profile: &Profile) -> Option<String> {
    let p = ExplicitProfile::from_profile(profile).ok()?;
    match Modality::detect(path).ok()? {
        Modality::Text => {
            let t = read_text(path).ok()?;
            let m = text::measure(&t, None, &p);
            let c = m.candidates.iter().find(|c| c.wording.conforms)?;
            Some(format!(
                "a text prompt {:?} at line {}",
                c.wording.text, c.line
            ))
        }
        Modality::Image => {
            let m = image::measure_file(path, None, true, &p).ok()?;
            let w = m.ocr.as_ref()?.wording.as_ref().filter(|w| w.conforms)?;
            Some(format!(
                "a visible prompt read as {:?} ({} px high)",
                w.text,
                m.text_height_px.unwrap_or(0)
            ))
        }
        Modality::Audio => {
            let m = audio::measure_file(path, None, None, &[], &p).ok()?;
            let (g, _) = m.rhythm?;
            Some(format!(
                "the 短长短短 rhythm label at {:.2}-{:.2} s",
                g.start_s, g.end_s
            ))
        }
        Modality::Video => {
            let m = video::measure_file(path, None, true, &p).ok()?;
            let v = m.visual?;
            let w = v.ocr?.wording.filter(|w| w.conforms)?;
            Some(format!(
                "a visible prompt read as {:?} on the first frame",
                w.text
            ))
        }
    }
}

/// What [`check_file`] returns: the modality, the measurements (as JSON, per modality) and one
/// finding per chapter-5 requirement.
pub type Checked = (Modality, serde_json::Value, Vec<Finding>);

/// The `check` result as one JSON object: what `aigc-label check --json` prints and what the
/// Python binding returns, built in one place so the two cannot drift apart. `verdict` is "fail"
/// when a requirement fails (an unknown is not a failure); visual checks carry the profile's
/// binding readings of open clauses.
pub fn check_json(
    file: &Path,
    original: Option<&Path>,
    profile: &Profile,
    checked: &Checked,
) -> serde_json::Value {
    let (modality, measurements, findings) = checked;
    let failed = findings.iter().any(|f| f.outcome == Outcome::Fail);
    let visual = matches!(modality, Modality::Image | Modality::Video);
    let binding = if visual {
        readings::ReadingsProfile::from_profile(profile)
            .map(|r| r.binding_lines())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    serde_json::json!({
        "file": file.display().to_string(),
        "original": original.map(|p| p.display().to_string()),
        "modality": modality,
        "profile": profile.id,
        "measurements": measurements,
        "findings": findings,
        "label_found": measurements.get("label_found").cloned(),
        "readings": measurements.get("readings").cloned().unwrap_or(serde_json::Value::Null),
        "binding_readings": binding,
        "verdict": if failed { "fail" } else { "pass" },
    })
}

/// Measure the explicit label of `file` (against `original` when given) and judge it per
/// requirement: what `aigc-label check` prints and what the harness uses as its oracle.
/// `voice_text` is the spoken prompt's text (for 5.3 b/e), `rounds` the interaction rounds of
/// an audio original (5.3 d note 3; `[start, end]` seconds), `ocr` runs tesseract on visual
/// labels, `media` forces a modality (text | image | audio | video).
///
/// Images and video frames are measured by one rule ([`image::measure`]); their height verdict
/// (5.2 e, 5.4 f) follows the profile's binding reading of 文字高度 and the measurements carry
/// `readings`: the verdict under every reading ([`readings::apply_text_height`]). Without the
/// original, `label_found` says whether a label region was found at all.
pub fn check_file(
    file: &Path,
    original: Option<&Path>,
    voice_text: Option<&str>,
    rounds: &[[f64; 2]],
    ocr: bool,
    media: Option<&str>,
    profile: &Profile,
) -> Result<Checked> {
    let p = ExplicitProfile::from_profile(profile)?;
    let modality = match media {
        Some(m) => Modality::parse(m)
            .ok_or_else(|| ExplicitError::Refused(format!("media {m}: text|image|audio|video")))?,
        None => Modality::detect(file)?,
    };
    let json = |v: serde_json::Result<serde_json::Value>| v.unwrap_or(serde_json::Value::Null);
    // Adds the readings and whether a label was found to a visual measurement's JSON.
    let annotate = |mut value: serde_json::Value,
                    findings: &mut Vec<Finding>,
                    visual: Option<&image::VisualMeasure>,
                    min_ratio: f64,
                    requirement: &str|
     -> Result<serde_json::Value> {
        let r = readings::ReadingsProfile::from_profile(profile)?;
        let mut list: Vec<serde_json::Value> = visual
            .and_then(|m| readings::apply_text_height(findings, m, min_ratio, requirement, &r))
            .map(|x| json(serde_json::to_value(&x)))
            .into_iter()
            .collect();
        // Images only: video frames have no colour difference and no 5.2 d.
        let (position, band) = if requirement == requirements::GB_5_2_E {
            list.extend(
                visual
                    .and_then(|m| image::legibility_reading(m, &p, &r.limits.legibility))
                    .map(|x| json(serde_json::to_value(&x))),
            );
            (requirements::GB_5_2_C, p.image.edge_band_ratio)
        } else {
            (requirements::GB_5_4_E, p.video.edge_band_ratio)
        };
        list.extend(
            visual
                .and_then(|m| {
                    image::edge_band_reading(m, position, band, &r.limits.edge_band_ratio)
                })
                .map(|x| json(serde_json::to_value(&x))),
        );
        if let Some(obj) = value.as_object_mut() {
            obj.insert("readings".into(), json(serde_json::to_value(&list)));
            obj.insert(
                "label_found".into(),
                serde_json::Value::Bool(visual.is_some_and(|m| m.ink.is_some())),
            );
        }
        Ok(value)
    };
    Ok(match modality {
        Modality::Text => {
            let t = read_text(file)?;
            let o = original.map(read_text).transpose()?;
            let m = text::measure(&t, o.as_deref(), &p);
            let f = text::judge(&m);
            let r = readings::ReadingsProfile::from_profile(profile)?;
            let mut v = json(serde_json::to_value(&m));
            let limits = text::limit_readings(&t, o.as_deref(), &f, &p, &r.limits);
            if let Some(obj) = v.as_object_mut().filter(|_| !limits.is_empty()) {
                obj.insert("readings".into(), json(serde_json::to_value(&limits)));
            }
            (modality, v, f)
        }
        Modality::Image => {
            let m = image::measure_file(file, original, ocr, &p)?;
            let mut f = image::judge(&m, &p);
            let v = annotate(
                json(serde_json::to_value(&m)),
                &mut f,
                Some(&m),
                p.image.min_text_height_ratio,
                requirements::GB_5_2_E,
            )?;
            (modality, v, f)
        }
        Modality::Audio => {
            let (pcm, orig) = audio::decode_pair(file, original)?;
            let m = audio::measure_decoded(&pcm, orig.as_ref(), voice_text, rounds, &p)?;
            let r = readings::ReadingsProfile::from_profile(profile)?;
            let limits = audio::limit_readings(&m, &pcm, orig.as_ref(), &p, &r.limits);
            let mut v = json(serde_json::to_value(&m));
            if let Some(obj) = v.as_object_mut().filter(|_| !limits.is_empty()) {
                obj.insert("readings".into(), json(serde_json::to_value(&limits)));
            }
            (modality, v, audio::judge(&m, &p))
        }
        Modality::Video => {
            let m = video::measure_file(file, original, ocr, &p)?;
            let mut f = video::judge(&m, &p);
            let v = annotate(
                json(serde_json::to_value(&m)),
                &mut f,
                m.visual.as_ref(),
                p.video.min_text_height_ratio,
                requirements::GB_5_4_F,
            )?;
            (modality, v, f)
        }
    })
}
