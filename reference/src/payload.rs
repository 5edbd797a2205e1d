//! What a label must not change: a fingerprint of a file's content apart from its metadata.
//!
//! Writing a label may move bytes (an inserted chunk shifts everything after it, an MP4 `moov`
//! grows), so byte equality is the wrong test for "payload unchanged". Instead each format
//! family is compared on what a viewer or player actually gets:
//! - images: the decoded pixels (PNG/JPEG/WebP with the `image` crate; GIF and TIFF through
//!   ffmpeg's decoder, every frame; HEIF through libheif's `heif-convert`);
//! - audio and video: the compressed packets of every stream, as ffmpeg's demuxer delivers them
//!   (`-c copy -f framemd5`), so a re-encode is caught even when it decodes to the same picture;
//! - PDF: every page's content streams and what they draw (resources, fonts, images), resolved
//!   through qpdf's JSON, without the metadata a label may touch;
//! - OOXML: every part of the package except the metadata parts a label may touch;
//! - Markdown: the text after the front matter, and the front matter's keys other than `AIGC`.
//!
//! The harness uses this to check `payload_unchanged` for any implementation's output; the
//! external tools are the ones `scripts/install-deps.sh` installs, run through
//! [`crate::tool::Tool`] (bounded output; stopped at the caller's deadline).

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::implicit::format_by_name;
use crate::media::PayloadMethod;
use crate::tool::Tool;

/// A payload fingerprint and how it was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// The method, e.g. `pixels`, `packets`, `pages`, `parts`, `body` ([`PayloadMethod::name`]).
    pub method: &'static str,
    /// A digest of the payload (hex), or a short listing that identifies it.
    pub digest: String,
}

/// Why a payload could not be fingerprinted.
#[derive(Debug)]
pub enum PayloadError {
    /// The format id is not a registered format.
    UnknownFormat(String),
    /// The file could not be read or decoded.
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        what: String,
    },
    /// An external tool could not be run or failed.
    Tool {
        /// The tool, with the package that installs it.
        tool: &'static str,
        /// What went wrong, naming the tool.
        what: String,
    },
}

impl std::fmt::Display for PayloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PayloadError::UnknownFormat(id) => {
                write!(f, "no payload comparison is defined for format {id}")
            }
            PayloadError::File { path, what } => write!(f, "{}: {what}", path.display()),
            // `what` names the tool (and the file and the limit, see `crate::tool`).
            PayloadError::Tool { what, .. } => f.write_str(what),
        }
    }
}

impl std::error::Error for PayloadError {}

/// Serialised as its message (reports and protocol answers carry errors as text).
impl serde::Serialize for PayloadError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

fn file_error(path: &Path) -> impl Fn(&dyn std::fmt::Display) -> PayloadError + '_ {
    move |e| PayloadError::File {
        path: path.to_path_buf(),
        what: e.to_string(),
    }
}

/// Fingerprint the payload of `path`, whose format id (see [`crate::implicit::Format::id`]) is
/// `format`, by the method the format states ([`crate::implicit::Format::payload`]).
pub fn fingerprint(path: &Path, format: &str) -> Result<Fingerprint, PayloadError> {
    let format =
        format_by_name(format).ok_or_else(|| PayloadError::UnknownFormat(format.to_string()))?;
    fingerprint_with(path, format.payload())
}

/// Fingerprint the payload of `path` by `method`.
pub fn fingerprint_with(path: &Path, method: PayloadMethod) -> Result<Fingerprint, PayloadError> {
    let digest = match method {
        PayloadMethod::DecodedImage => pixels_image_crate(path),
        PayloadMethod::DecodedFrames => ffmpeg(path, &["-f", "framemd5"]),
        PayloadMethod::HeifPrimaryImage => heif_pixels(path),
        PayloadMethod::Packets => ffmpeg(path, &["-c", "copy", "-f", "framemd5"]),
        PayloadMethod::RenderedPages => pdf_pages(path),
        PayloadMethod::PackageParts { metadata_parts } => package_parts(path, metadata_parts),
        PayloadMethod::TextBody => text_body(path),
    }?;
    Ok(Fingerprint {
        method: method.name(),
        digest,
    })
}

fn fnv1a(hash: &mut u64, bytes: &[u8]) {
    for b in bytes {
        *hash ^= *b as u64;
        *hash = hash.wrapping_mul(0x100000001b3);
    }
}

fn hex(bytes: &[u8]) -> String {
    // Two independent 64-bit FNV-1a lanes over the bytes: collision-resistant enough to tell
    // "identical" from "changed" in a test; not a security property.
    let mut a = 0xcbf29ce484222325u64;
    let mut b = 0x84222325cbf29ce4u64;
    fnv1a(&mut a, bytes);
    for chunk in bytes.chunks(4096).rev() {
        fnv1a(&mut b, chunk);
    }
    format!("{a:016x}{b:016x}-{}", bytes.len())
}

fn pixels_image_crate(path: &Path) -> Result<String, PayloadError> {
    let img = image::ImageReader::open(path)
        .map_err(|e| file_error(path)(&e))?
        .with_guessed_format()
        .map_err(|e| file_error(path)(&e))?
        .decode()
        .map_err(|e| file_error(path)(&format!("cannot decode the pixels: {e}")))?;
    let rgba = img.to_rgba8();
    let mut bytes = format!("{}x{}:", rgba.width(), rgba.height()).into_bytes();
    bytes.extend_from_slice(rgba.as_raw());
    Ok(hex(&bytes))
}

/// Run a tool on `path` under the caller's deadline ([`crate::tool::with_deadline`]), with its
/// stdout bounded by `cap`.
fn run(tool: Tool, path: &Path, cap: usize) -> Result<Vec<u8>, PayloadError> {
    let program = tool_name(&tool);
    tool.file(path)
        .stdout_cap(cap)
        .run()
        .map_err(|e| PayloadError::Tool {
            tool: program,
            what: e.to_string(),
        })
}

/// The tool's name for [`PayloadError::Tool`] (the three this module runs).
fn tool_name(tool: &Tool) -> &'static str {
    match tool.program() {
        "ffmpeg" => "ffmpeg",
        "qpdf" => "qpdf",
        _ => "heif-convert (libheif-examples)",
    }
}

/// ffmpeg's framemd5 listing: one line of about 80 bytes per packet, and an output file is at
/// most a few hundred MB (the harness's output cap): 64 MiB is far above any honest file.
const FRAMEMD5_CAP: usize = 64 << 20;

/// qpdf's JSON with inline (decoded) stream data: larger than the PDF itself, parsed whole.
const QPDF_JSON_CAP: usize = 256 << 20;

fn ffmpeg(path: &Path, args: &[&str]) -> Result<String, PayloadError> {
    let out = run(
        Tool::new("ffmpeg")
            .args(["-v", "error", "-nostdin", "-i"])
            .arg(path)
            .args(["-map", "0"])
            .args(args)
            .arg("-"),
        path,
        FRAMEMD5_CAP,
    )?;
    // framemd5 lines: keep the per-packet fields (stream, dts, pts, duration, size, md5) only.
    // The `#` header (codec extradata, which for Vorbis/Opus embeds the comment header) and the
    // packet side data (Ogg metadata updates) carry metadata, which a label may change.
    let text = String::from_utf8_lossy(&out);
    let packets: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            l.split(',')
                .take(6)
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    if packets.is_empty() {
        return Err(file_error(path)(&"ffmpeg found no packets"));
    }
    Ok(hex(packets.join("\n").as_bytes()))
}

fn heif_pixels(path: &Path) -> Result<String, PayloadError> {
    let dir = std::env::temp_dir().join(format!("aigc-payload-{}-{:p}", std::process::id(), path));
    std::fs::create_dir_all(&dir).map_err(|e| file_error(&dir)(&e))?;
    let png = dir.join("primary.png");
    let result = run(
        Tool::new("heif-convert").arg(path).arg(&png),
        path,
        crate::tool::STDERR_CAP,
    )
    .and_then(|_| pixels_image_crate(&png));
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// PDF: every page, in order, with everything it draws: the page dictionary and, resolved
/// through every reference, its content streams, resources, fonts and images (stream data as
/// qpdf decodes it, so a rewritten or recompressed file compares equal, a changed operator or
/// pixel does not). Left out: `/Parent` (the page tree's shape), `/Metadata` (XMP streams, where
/// a label may go) and the document information dictionary (the trailer's `/Info`, which a
/// writer updates: `/ModDate`, `/Producer`, the `/AIGC` key).
fn pdf_pages(path: &Path) -> Result<String, PayloadError> {
    let out = run(
        Tool::new("qpdf")
            .args(["--json", "--json-stream-data=inline"])
            .arg(path),
        path,
        QPDF_JSON_CAP,
    )?;
    let doc: serde_json::Value =
        serde_json::from_slice(&out).map_err(|e| file_error(path)(&format!("qpdf JSON: {e}")))?;
    let objects = doc["qpdf"][1]
        .as_object()
        .ok_or_else(|| file_error(path)(&"qpdf JSON without objects"))?;
    let mut walk = PdfWalk {
        objects,
        seen: std::collections::HashMap::new(),
        budget: 1_000_000,
    };
    let root = walk.resolve(&objects["trailer"]["value"]["/Root"]);
    let mut pages = Vec::new();
    walk.pages(&root["/Pages"], 0, &mut pages);
    if pages.is_empty() {
        return Err(file_error(path)(&"no pages found"));
    }
    let mut text = String::new();
    for page in &pages {
        text.push_str(&walk.canonical(page, 0));
        text.push('\n');
    }
    if walk.budget == 0 {
        return Err(file_error(path)(&"too many PDF objects to compare"));
    }
    Ok(hex(text.as_bytes()))
}

/// A walk over qpdf's JSON (v2) objects from the page tree.
struct PdfWalk<'a> {
    objects: &'a serde_json::Map<String, serde_json::Value>,
    /// Object reference → the order in which it was first written (shared objects once).
    seen: std::collections::HashMap<String, usize>,
    /// Values left to visit (hostile files: bounded work).
    budget: usize,
}

impl PdfWalk<'_> {
    /// qpdf writes an indirect reference as the string "N G R" (strings are "u:"/"b:" prefixed).
    fn is_ref(v: &serde_json::Value) -> Option<&str> {
        let s = v.as_str()?;
        let mut it = s.split(' ');
        let ok = it.next()?.parse::<u64>().is_ok()
            && it.next()?.parse::<u64>().is_ok()
            && it.next()? == "R"
            && it.next().is_none();
        ok.then_some(s)
    }

    fn object(&self, r: &str) -> Option<&serde_json::Value> {
        self.objects.get(&format!("obj:{r}"))
    }

    /// The value behind a reference (a stream's dictionary for a stream), or the value itself.
    fn resolve(&self, v: &serde_json::Value) -> serde_json::Value {
        match Self::is_ref(v).and_then(|r| self.object(r)) {
            Some(o) if o.get("stream").is_some() => o["stream"]["dict"].clone(),
            Some(o) => o["value"].clone(),
            None => v.clone(),
        }
    }

    /// The leaves of the page tree, in order (depth-bounded, each node once).
    fn pages(&mut self, node: &serde_json::Value, depth: usize, out: &mut Vec<serde_json::Value>) {
        if depth > 64 || self.budget == 0 {
            return;
        }
        self.budget -= 1;
        let n = self.resolve(node);
        match n.get("/Kids").and_then(|k| k.as_array()) {
            Some(kids) => {
                for k in kids.clone() {
                    self.pages(&k, depth + 1, out);
                }
            }
            None if n.get("/Type").and_then(|t| t.as_str()) == Some("/Page") => out.push(n),
            None => {}
        }
    }

    fn canonical(&mut self, v: &serde_json::Value, depth: usize) -> String {
        use serde_json::Value;
        if depth > 256 || self.budget == 0 {
            return "…".into();
        }
        self.budget -= 1;
        if let Some(r) = Self::is_ref(v) {
            if let Some(n) = self.seen.get(r) {
                return format!("#{n}");
            }
            let n = self.seen.len();
            self.seen.insert(r.to_string(), n);
            let Some(o) = self.object(r).cloned() else {
                return "null".into();
            };
            return match o.get("stream") {
                Some(st) => {
                    let dict = self.canonical(&st["dict"], depth + 1);
                    let data = st["data"].as_str().unwrap_or("");
                    format!("stream{dict}{}", hex(data.as_bytes()))
                }
                None => self.canonical(&o["value"], depth + 1),
            };
        }
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m
                    .keys()
                    .filter(|k| !matches!(k.as_str(), "/Parent" | "/Metadata"))
                    .collect();
                keys.sort();
                let mut s = String::from("<<");
                for k in keys {
                    s.push_str(k);
                    s.push(' ');
                    s.push_str(&self.canonical(&m[k], depth + 1));
                    s.push(' ');
                }
                s.push_str(">>");
                s
            }
            Value::Array(a) => {
                let parts: Vec<String> = a.iter().map(|x| self.canonical(x, depth + 1)).collect();
                format!("[{}]", parts.join(" "))
            }
            other => other.to_string(),
        }
    }
}

fn package_parts(path: &Path, metadata_parts: &[&str]) -> Result<String, PayloadError> {
    let fail = file_error(path);
    let file = std::fs::File::open(path).map_err(|e| fail(&e))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| fail(&e))?;
    let mut parts = Vec::new();
    for i in 0..zip.len().min(crate::limits::MAX_ZIP_ENTRIES) {
        let mut entry = zip.by_index(i).map_err(|e| fail(&e))?;
        let name = entry.name().to_string();
        if metadata_parts.contains(&name.as_str()) {
            continue;
        }
        let mut data = Vec::new();
        (&mut entry)
            .take(crate::limits::MAX_INFLATED_BYTES + 1)
            .read_to_end(&mut data)
            .map_err(|e| fail(&format!("{name}: {e}")))?;
        parts.push(format!("{name} {}", hex(&data)));
    }
    parts.sort();
    Ok(hex(parts.join("\n").as_bytes()))
}

/// Markdown: the body after the front matter, and the front matter's keys other than `AIGC`
/// (parsed as YAML, keys sorted: a writer may re-serialise the YAML, but must not drop or
/// change a user's `title:`).
fn text_body(path: &Path) -> Result<String, PayloadError> {
    let bytes = crate::io::read_regular_file(path, crate::limits::MAX_TEXT_BYTES, "a text")
        .map_err(|e| file_error(path)(&e))?;
    let text = String::from_utf8(bytes).map_err(|e| file_error(path)(&e))?;
    let body = crate::implicit::markdown::body_after_front_matter(&text);
    let rest = crate::implicit::markdown::front_matter_without_aigc(&text)
        // No front matter and front matter with only AIGC are the same thing to a reader.
        .filter(|fm| fm != "{}" && fm != "null")
        .unwrap_or_default();
    Ok(format!("{}+{}", hex(body.as_bytes()), hex(rest.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_body_ignores_front_matter_only() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.md");
        let b = dir.path().join("b.md");
        let c = dir.path().join("c.md");
        std::fs::write(&a, "# T\n\ntext\n").unwrap();
        std::fs::write(&b, "---\nAIGC:\n  Label: \"1\"\n---\n# T\n\ntext\n").unwrap();
        std::fs::write(&c, "---\nAIGC:\n  Label: \"1\"\n---\n# T\n\ntext!\n").unwrap();
        assert_eq!(text_body(&a).unwrap(), text_body(&b).unwrap());
        assert_ne!(text_body(&b).unwrap(), text_body(&c).unwrap());
    }
}
