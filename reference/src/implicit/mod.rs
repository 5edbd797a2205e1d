//! Implicit (file-metadata) labels: one module per container family, behind one small trait.
//!
//! A container module knows bytes only: where a label sits in its format, how to find every
//! copy, and how to write exactly one in the practice guide's carrier while copying every other
//! byte. Annex E rules live in [`crate::label`]; the verdict over all copies is made here, once,
//! for every format. Adding a format is one module plus one line in [`FORMATS`].

use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

use crate::error::{CodecError, Result};
use crate::io::{Input, Output, Overwrite, WriteError};
use crate::label::{parse_label_text, CarrierKind, Label, Problem, ProblemCode, Severity};
use crate::limits;
use crate::media::{Modality, PayloadMethod};
use crate::profile::Profile;

pub(crate) mod bigtiff;
pub(crate) mod bmff;
pub(crate) mod exif;
pub(crate) mod flac;
pub(crate) mod flv;
pub(crate) mod gif;
pub(crate) mod heif;
pub(crate) mod id3;
pub(crate) mod isobmff;
pub(crate) mod jpeg;
pub(crate) mod markdown;
pub(crate) mod matroska;
pub(crate) mod ogg;
pub(crate) mod one_label;
pub(crate) mod ooxml;
pub(crate) mod pdf;
pub(crate) mod png;
pub(crate) mod riff;
pub(crate) mod tiff;
pub(crate) mod vorbis;
pub(crate) mod webp;
pub(crate) mod xmp;

/// One label value found in a file, before Annex E parsing.
#[derive(Debug, Clone)]
pub struct Found {
    /// Where it was, e.g. `png/iTXt/XMP` or `wav/AIGC-chunk`.
    pub carrier: String,
    /// Whether the carrier names the key itself (bare JSON expected) or not (wrapped expected).
    pub kind: CarrierKind,
    /// The value text as found (already decoded from XML entities, UTF-16, ...).
    pub text: String,
    /// Byte offset of the structure that holds it.
    pub offset: u64,
    /// Carrier-level problems (wrong namespace, non-standard carrier, EXIF charset header...).
    pub notes: Vec<(ProblemCode, String)>,
}

impl Found {
    /// A value from a carrier that names the key `AIGC` itself.
    pub fn named(carrier: impl Into<String>, offset: u64, text: impl Into<String>) -> Found {
        Found {
            carrier: carrier.into(),
            kind: CarrierKind::NamedKey,
            text: text.into(),
            offset,
            notes: Vec::new(),
        }
    }

    /// Add a carrier-level problem.
    pub fn note(mut self, code: ProblemCode, message: impl Into<String>) -> Found {
        self.notes.push((code, message.into()));
        self
    }
}

/// A container format that can carry an implicit label.
pub trait Format: Sync {
    /// Short stable id (`png`, `mp4`, ...), used in reports and on the command line.
    fn id(&self) -> &'static str;
    /// Media types handled; the first is the canonical one.
    fn media_types(&self) -> &'static [&'static str];
    /// File extensions (lower case, no dot), used only when the content does not decide.
    fn extensions(&self) -> &'static [&'static str];
    /// The modality of a file in this format (chapter 5), given its first bytes (up to 64).
    fn modality(&self, head: &[u8]) -> Modality;
    /// How the payload a label must not change is compared (see `crate::payload`).
    fn payload(&self) -> PayloadMethod;
    /// The carrier the reference writes, in words (for `--help` and the formats table).
    fn carrier(&self) -> &'static str;
    /// Whether the first bytes of a file (up to 64) are this format.
    fn sniff(&self, head: &[u8]) -> bool;
    /// Every label value in the file, in file order.
    fn read(&self, input: &mut Input) -> Result<Vec<Found>>;
    /// Copy `input` to `out` with exactly one label in the standard carrier, whose value is the
    /// JSON text `json` (normally [`Label::to_bare_json`]; vectors and mutants pass other
    /// text): every existing label carrier is replaced or removed, everything else is copied
    /// unchanged.
    fn write(&self, input: &mut Input, out: &mut Output, json: &str) -> Result<()>;

    /// True when [`Format::write`] itself fails on every input that [`Format::read`] fails on,
    /// so that `embed` need not read the whole file once more before writing (a 100 MB PNG is
    /// thousands of chunks to walk). Default false: `embed` reads first.
    fn write_checks_readability(&self) -> bool {
        false
    }

    /// Damage to the file itself that does not touch its labels (a JPEG cut short inside its
    /// image data), as problems of the whole file; their severity comes from the profile.
    /// Default: none looked for.
    fn file_problems(&self, _input: &mut Input) -> Result<Vec<(ProblemCode, String)>> {
        Ok(Vec::new())
    }
}

/// Refuse a file once it has yielded more than [`limits::MAX_LABELS`] label carriers, while the
/// format is still walking it: thousands of tiny label chunks would otherwise cost far more
/// memory than the file's own size before [`read_input`] could count them. `offset` is where
/// the walk is.
pub fn check_label_count(found: &[Found], offset: u64) -> Result<()> {
    if found.len() > limits::MAX_LABELS {
        return Err(CodecError::limit(
            offset,
            format!(
                "more than {} label carriers in one file",
                limits::MAX_LABELS
            ),
        ));
    }
    Ok(())
}

/// The registry: every supported format, in sniffing order (more specific first).
pub static FORMATS: &[&dyn Format] = &[
    // images
    &png::Png,
    &jpeg::Jpeg,
    &gif::Gif,
    &tiff::Tiff,
    &webp::Webp,
    // before isobmff: HEIF files also start with ftyp
    &heif::Heif,
    // audio and video
    &isobmff::IsoBmff,
    &matroska::Matroska,
    &riff::Wav,
    &riff::Avi,
    &flac::Flac,
    &ogg::Ogg,
    &flv::Flv,
    // documents
    &pdf::Pdf,
    &ooxml::Ooxml,
    &markdown::Markdown,
    // last: its frame-sync sniff (0xFFE) is the weakest magic
    &id3::Mp3,
];

/// All registered formats.
pub fn formats() -> &'static [&'static dyn Format] {
    FORMATS
}

/// Find a format by its id or one of its media types.
pub fn format_by_name(name: &str) -> Option<&'static dyn Format> {
    FORMATS.iter().copied().find(|f| {
        f.id().eq_ignore_ascii_case(name)
            || f.media_types().iter().any(|m| m.eq_ignore_ascii_case(name))
    })
}

/// Decide the format of a file: by content first, then by extension.
pub fn detect(input: &mut Input, path: Option<&Path>) -> Result<&'static dyn Format> {
    input.seek_to(0)?;
    let head = input.peek(64)?;
    if let Some(f) = FORMATS.iter().copied().find(|f| f.sniff(&head)) {
        return Ok(f);
    }
    let ext = path
        .and_then(|p| p.extension())
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if let Some(f) = FORMATS
        .iter()
        .copied()
        .find(|f| f.extensions().contains(&ext.as_str()))
    {
        return Ok(f);
    }
    Err(CodecError::Unsupported(format!(
        "not a format this reference handles (first bytes {})",
        head.iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )))
}

// Defined here, beside the registry it reads, so that `media` does not depend on `implicit`.
impl Modality {
    /// Detect a file's modality: by the registered format (content first, then extension),
    /// else by [`BARE_MEDIA`](crate::media::BARE_MEDIA), else text when the first bytes are UTF-8.
    pub fn detect(path: &Path) -> std::result::Result<Modality, crate::media::ModalityError> {
        let fail = |error| crate::media::ModalityError {
            path: path.to_path_buf(),
            error,
        };
        let mut input = Input::open(path).map_err(|e| fail(CodecError::Io(e)))?;
        let head = input.peek(64).map_err(fail)?;
        if let Ok(format) = detect(&mut input, Some(path)) {
            return Ok(format.modality(&head));
        }
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let bare = crate::media::BARE_MEDIA
            .iter()
            .find(|m| !m.magic.is_empty() && head.starts_with(m.magic))
            .or_else(|| {
                crate::media::BARE_MEDIA
                    .iter()
                    .find(|m| m.extensions.contains(&ext.as_str()))
            });
        if let Some(m) = bare {
            return Ok(m.modality);
        }
        // UTF-8 text, allowing a character cut at the end of the 16 bytes looked at.
        let h = &head[..head.len().min(16)];
        if std::str::from_utf8(h).map_or_else(|e| e.error_len().is_none(), |_| true) {
            return Ok(Modality::Text);
        }
        Err(fail(CodecError::Unsupported(format!(
            "cannot tell the modality (extension {ext:?}); give --media"
        ))))
    }
}

/// Whole-file verdict of the `read` operation (protocol `read`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Exactly one label (or identical copies), valid under Annex E.
    Valid,
    /// A label is present but breaks a mandatory rule.
    Invalid,
    /// Several labels with different values (6.1 c).
    Conflict,
    /// No label found.
    Unlabeled,
}

/// One label as reported by `read`.
#[derive(Debug, Clone, Serialize)]
pub struct LabelReport {
    /// Carrier, e.g. `png/iTXt/XMP`.
    pub carrier: String,
    /// Byte offset of the carrier structure.
    pub offset: u64,
    /// The values as found, in file order.
    pub fields: serde_json::Map<String, Value>,
    /// The raw value text.
    pub raw: String,
    /// Problems of this label (carrier and Annex E).
    pub problems: Vec<Problem>,
    /// True when no problem is an error.
    pub valid: bool,
    /// TC260-PG-202511A security data of the reserved fields (crate::security).
    pub security: crate::security::SecurityReport,
    #[serde(skip)]
    /// The complete label, when all mandatory keys were present.
    pub label: Option<Label>,
}

/// What `read` found in one file.
#[derive(Debug, Clone, Serialize)]
pub struct ReadReport {
    /// The file as named by the caller.
    pub file: String,
    /// Format id.
    pub format: String,
    /// Canonical media type.
    pub media: String,
    /// Every label found, in file order.
    pub labels: Vec<LabelReport>,
    /// File-level problems (duplicates, conflicts).
    pub problems: Vec<Problem>,
    /// The verdict.
    pub verdict: Verdict,
}

impl ReadReport {
    /// The file's label when the verdict is `valid` (the first copy).
    pub fn label(&self) -> Option<&Label> {
        match self.verdict {
            Verdict::Valid => self.labels.first().and_then(|l| l.label.as_ref()),
            _ => None,
        }
    }
}

/// An error about one file: the path, then what was wrong.
#[derive(Debug)]
pub struct FileError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub error: CodecError,
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.error)
    }
}

impl std::error::Error for FileError {}

fn at(path: &Path) -> impl Fn(CodecError) -> FileError + '_ {
    move |error| FileError {
        path: path.to_path_buf(),
        error,
    }
}

/// Read every label of an input in a known format and judge them.
pub fn read_input(
    input: &mut Input,
    format: &dyn Format,
    file: &str,
    profile: &Profile,
) -> Result<ReadReport> {
    input.seek_to(0)?;
    let found = format.read(input)?;
    if found.len() > limits::MAX_LABELS {
        return Err(CodecError::limit(
            0,
            format!("{} label carriers in one file", found.len()),
        ));
    }
    let labels: Vec<LabelReport> = found
        .into_iter()
        .map(|f| {
            let parsed = parse_label_text(&f.text, f.kind, profile);
            let mut problems: Vec<Problem> = f
                .notes
                .iter()
                .map(|(code, msg)| Problem::new(profile, *code, msg.clone()))
                .collect();
            problems.extend(parsed.problems);
            // ---- security data hook (crate::security): verify ReservedCode1/2 signatures ----
            let security = security_of(parsed.label.as_ref(), profile);
            problems.extend(security_problems(&security, profile));
            // ---- end security data hook ----
            let valid =
                parsed.label.is_some() && !problems.iter().any(|p| p.severity == Severity::Error);
            LabelReport {
                carrier: f.carrier,
                offset: f.offset,
                fields: parsed.fields.into_iter().collect(),
                raw: f.text,
                problems,
                valid,
                security,
                label: parsed.label,
            }
        })
        .collect();
    input.seek_to(0)?;
    let mut problems: Vec<Problem> = format
        .file_problems(input)?
        .into_iter()
        .map(|(code, message)| Problem::new(profile, code, message))
        .collect();
    let verdict = if labels.is_empty() {
        Verdict::Unlabeled
    } else {
        let first = &labels[0];
        let same = labels.iter().all(|l| match (&l.label, &first.label) {
            (Some(a), Some(b)) => a == b,
            _ => l.raw.trim() == first.raw.trim(),
        });
        if labels.len() > 1 {
            let carriers: Vec<&str> = labels.iter().map(|l| l.carrier.as_str()).collect();
            if same {
                problems.push(Problem::new(
                    profile,
                    ProblemCode::DuplicateLabel,
                    format!(
                        "{} copies of the same label ({}); 6.1 c) allows one label per file",
                        labels.len(),
                        carriers.join(", ")
                    ),
                ));
            } else {
                problems.push(Problem::new(
                    profile,
                    ProblemCode::ConflictingLabels,
                    format!(
                        "{} labels with different values ({}); 6.1 c) allows one label per file",
                        labels.len(),
                        carriers.join(", ")
                    ),
                ));
            }
        }
        if !same {
            Verdict::Conflict
        } else if labels.iter().all(|l| l.valid)
            && !problems.iter().any(|p| p.severity == Severity::Error)
        {
            Verdict::Valid
        } else {
            Verdict::Invalid
        }
    };
    Ok(ReadReport {
        file: file.to_string(),
        format: format.id().to_string(),
        media: format.media_types()[0].to_string(),
        labels,
        problems,
        verdict,
    })
}

/// The security data of a parsed label (absent when the label is incomplete).
fn security_of(label: Option<&Label>, profile: &Profile) -> crate::security::SecurityReport {
    match label {
        Some(l) => crate::security::check_label(l, profile),
        None => crate::security::SecurityReport::absent("no complete label to check"),
    }
}

/// The problems a label's security data raises: a failed signature, malformed SecurityData.
/// Absent and unsupported security data are not problems (the reserved fields are optional).
fn security_problems(
    security: &crate::security::SecurityReport,
    profile: &Profile,
) -> Vec<Problem> {
    use crate::security::Status;
    security
        .fields
        .iter()
        .filter_map(|f| {
            let code = match f.status {
                Status::Failed => ProblemCode::SecuritySignatureFailed,
                Status::Malformed => ProblemCode::SecurityDataMalformed,
                _ => return None,
            };
            Some(Problem::new(
                profile,
                code,
                format!("{}: {}", f.field, f.detail),
            ))
        })
        .collect()
}

/// Read a file's labels: detect the format and judge every label found.
pub fn read_path(path: &Path, profile: &Profile) -> std::result::Result<ReadReport, FileError> {
    let mut input = Input::open(path).map_err(|e| at(path)(CodecError::Io(e)))?;
    let format = detect(&mut input, Some(path)).map_err(at(path))?;
    read_input(&mut input, format, &path.display().to_string(), profile).map_err(at(path))
}

/// Options of [`embed_path`].
#[derive(Debug, Clone, Copy)]
pub struct EmbedOptions {
    /// Replace an existing output file.
    pub overwrite: Overwrite,
    /// Whether the output is synced to disk before it replaces the target.
    pub durability: crate::io::Durability,
}

/// Write the label JSON text `json` into a copy of `input_path` at `output_path` (atomic; `input_path` is never
/// modified unless it is also the output, which the caller must have asked for).
pub fn embed_path(
    input_path: &Path,
    output_path: &Path,
    json: &str,
    options: EmbedOptions,
) -> std::result::Result<&'static dyn Format, FileError> {
    let mut input = Input::open(input_path).map_err(|e| at(input_path)(CodecError::Io(e)))?;
    let format = detect(&mut input, Some(input_path)).map_err(at(input_path))?;
    ready_to_write(format, &mut input).map_err(at(input_path))?;
    crate::io::write_atomically_with(
        output_path,
        options.overwrite,
        options.durability,
        Some(input_path),
        |out| format.write(&mut input, out, json),
    )
    .map_err(|e| match e {
        WriteError::Exists(p) => FileError {
            path: p,
            error: CodecError::Unsupported(
                "the output file exists (use --force to replace it)".into(),
            ),
        },
        WriteError::Codec(CodecError::Io(err)) => FileError {
            path: output_path.to_path_buf(),
            error: CodecError::Io(err),
        },
        WriteError::Codec(err) => FileError {
            path: input_path.to_path_buf(),
            error: err,
        },
    })?;
    Ok(format)
}

/// Check the input before writing (unless the format's writer does it itself) and rewind it.
fn ready_to_write(format: &dyn Format, input: &mut Input) -> Result<()> {
    if !format.write_checks_readability() {
        check_readable(format, input)?;
    }
    input.seek_to(0)
}

/// Refuse to label a file whose labels cannot be read (a corrupt second XMP packet, say): the
/// output would be just as unreadable, so the new label could never be verified. Leaves the
/// input at offset 0 for the writer.
fn check_readable(format: &dyn Format, input: &mut Input) -> Result<()> {
    input.seek_to(0)?;
    format.read(input)?;
    input.seek_to(0)
}

/// Write a label into bytes in memory (tests, fuzzing, the harness's oracle).
pub fn embed_bytes(bytes: Vec<u8>, json: &str) -> Result<Vec<u8>> {
    let mut input = Input::from_bytes(bytes);
    let format = detect(&mut input, None)?;
    ready_to_write(format, &mut input)?;
    let mut out = Output::memory();
    format.write(&mut input, &mut out, json)?;
    Ok(out.into_bytes().expect("memory output"))
}

/// Read labels from bytes in memory.
pub fn read_bytes(bytes: Vec<u8>, name: &str, profile: &Profile) -> Result<ReadReport> {
    let mut input = Input::from_bytes(bytes);
    let format = detect(&mut input, Some(Path::new(name)))?;
    read_input(&mut input, format, name, profile)
}
