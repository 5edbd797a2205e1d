//! What a label must not change: a fingerprint of a file's content apart from its metadata.
//!
//! Writing a label may move bytes (an inserted chunk shifts everything after it, an MP4 `moov`
//! grows), so byte equality is the wrong test for "payload unchanged". Instead each format
//! family is compared on what a viewer or player actually gets:
//! - images: the decoded pixels (PNG/JPEG/WebP with the `image` crate; GIF and TIFF through
//!   ffmpeg's decoder, every frame; HEIF through libheif's `heif-convert`);
//! - audio and video: the compressed packets of every stream, as ffmpeg's demuxer delivers them
//!   (`-c copy -f framemd5`), so a re-encode is caught even when it decodes to the same picture;
//! - PDF: every page rendered by poppler (`pdftoppm`) at low resolution;
//! - OOXML: every part of the package except the metadata parts a label may touch;
//! - Markdown: the text after the front matter.
//!
//! The harness uses this to check `payload_unchanged` for any implementation's output; the
//! external tools are the ones `scripts/install-deps.sh` installs.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::implicit::format_by_name;
use crate::media::PayloadMethod;

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
        /// What went wrong.
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
            PayloadError::Tool { tool, what } => write!(f, "{tool}{what}"),
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

fn run(cmd: &mut Command, tool: &'static str) -> Result<Vec<u8>, PayloadError> {
    let out = cmd.output().map_err(|e| PayloadError::Tool {
        tool,
        what: format!(": cannot run it: {e} (scripts/install-deps.sh installs it)"),
    })?;
    if !out.status.success() {
        return Err(PayloadError::Tool {
            tool,
            what: format!(" failed: {}", String::from_utf8_lossy(&out.stderr).trim()),
        });
    }
    Ok(out.stdout)
}

fn ffmpeg(path: &Path, args: &[&str]) -> Result<String, PayloadError> {
    let out = run(
        Command::new("ffmpeg")
            .args(["-v", "error", "-nostdin", "-i"])
            .arg(path)
            .args(["-map", "0"])
            .args(args)
            .arg("-"),
        "ffmpeg",
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
        Command::new("heif-convert").arg(path).arg(&png),
        "heif-convert (libheif-examples)",
    )
    .and_then(|_| pixels_image_crate(&png));
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn pdf_pages(path: &Path) -> Result<String, PayloadError> {
    let out = run(
        Command::new("pdftoppm")
            .args(["-r", "24", "-gray"])
            .arg(path),
        "pdftoppm (poppler-utils)",
    )?;
    Ok(hex(&out))
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

fn text_body(path: &Path) -> Result<String, PayloadError> {
    let bytes = crate::io::read_regular_file(path, crate::limits::MAX_TEXT_BYTES, "a text")
        .map_err(|e| file_error(path)(&e))?;
    let text = String::from_utf8(bytes).map_err(|e| file_error(path)(&e))?;
    Ok(hex(crate::implicit::markdown::body_after_front_matter(
        &text,
    )
    .as_bytes()))
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
