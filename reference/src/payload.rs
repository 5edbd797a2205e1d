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
use std::path::Path;
use std::process::Command;

/// A payload fingerprint and how it was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// The method, e.g. `pixels`, `packets`, `pages`, `parts`, `body`.
    pub method: &'static str,
    /// A digest of the payload (hex), or a short listing that identifies it.
    pub digest: String,
}

/// Fingerprint the payload of `path`, whose format id (see [`crate::implicit::Format::id`]) is
/// `format`.
pub fn fingerprint(path: &Path, format: &str) -> Result<Fingerprint, String> {
    match format {
        "png" | "jpeg" | "webp" => pixels_image_crate(path),
        "gif" | "tiff" => ffmpeg(path, &["-f", "framemd5"], "pixels"),
        "heif" | "heic" | "avif" => heif_pixels(path),
        "wav" | "avi" | "mp3" | "flac" | "ogg" | "flv" | "mp4" | "isobmff" | "mov" | "m4a"
        | "matroska" | "mkv" | "webm" => ffmpeg(path, &["-c", "copy", "-f", "framemd5"], "packets"),
        "pdf" => pdf_pages(path),
        "ooxml" | "docx" | "xlsx" | "pptx" => ooxml_parts(path),
        "markdown" | "md" => markdown_body(path),
        other => Err(format!(
            "no payload comparison is defined for format {other}"
        )),
    }
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

fn pixels_image_crate(path: &Path) -> Result<Fingerprint, String> {
    let img = image::ImageReader::open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .with_guessed_format()
        .map_err(|e| format!("{}: {e}", path.display()))?
        .decode()
        .map_err(|e| format!("{}: cannot decode the pixels: {e}", path.display()))?;
    let rgba = img.to_rgba8();
    let mut bytes = format!("{}x{}:", rgba.width(), rgba.height()).into_bytes();
    bytes.extend_from_slice(rgba.as_raw());
    Ok(Fingerprint {
        method: "pixels",
        digest: hex(&bytes),
    })
}

fn run(cmd: &mut Command, what: &str) -> Result<Vec<u8>, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {what}: {e} (scripts/install-deps.sh installs it)"))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(out.stdout)
}

fn ffmpeg(path: &Path, args: &[&str], method: &'static str) -> Result<Fingerprint, String> {
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
        return Err(format!("{}: ffmpeg found no packets", path.display()));
    }
    Ok(Fingerprint {
        method,
        digest: hex(packets.join("\n").as_bytes()),
    })
}

fn heif_pixels(path: &Path) -> Result<Fingerprint, String> {
    let dir = std::env::temp_dir().join(format!("aigc-payload-{}-{:p}", std::process::id(), path));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let png = dir.join("primary.png");
    let result = run(
        Command::new("heif-convert").arg(path).arg(&png),
        "heif-convert (libheif-examples)",
    )
    .and_then(|_| pixels_image_crate(&png));
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn pdf_pages(path: &Path) -> Result<Fingerprint, String> {
    let out = run(
        Command::new("pdftoppm")
            .args(["-r", "24", "-gray"])
            .arg(path),
        "pdftoppm (poppler-utils)",
    )?;
    Ok(Fingerprint {
        method: "pages",
        digest: hex(&out),
    })
}

/// Package parts a label may add or change (the custom-properties part and its registrations).
const OOXML_METADATA_PARTS: [&str; 4] = [
    "docProps/custom.xml",
    "[Content_Types].xml",
    "_rels/.rels",
    "docProps/app.xml",
];

fn ooxml_parts(path: &Path) -> Result<Fingerprint, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut parts = Vec::new();
    for i in 0..zip.len().min(crate::limits::MAX_ZIP_ENTRIES) {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let name = entry.name().to_string();
        if OOXML_METADATA_PARTS.contains(&name.as_str()) {
            continue;
        }
        let mut data = Vec::new();
        (&mut entry)
            .take(crate::limits::MAX_INFLATED_BYTES + 1)
            .read_to_end(&mut data)
            .map_err(|e| format!("{}: {name}: {e}", path.display()))?;
        parts.push(format!("{name} {}", hex(&data)));
    }
    parts.sort();
    Ok(Fingerprint {
        method: "parts",
        digest: hex(parts.join("\n").as_bytes()),
    })
}

fn markdown_body(path: &Path) -> Result<Fingerprint, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let t = text.trim_start_matches('\u{feff}');
    let body = if let Some(rest) = t
        .strip_prefix("---\n")
        .or_else(|| t.strip_prefix("---\r\n"))
    {
        match rest.find("\n---") {
            Some(end) => {
                let after = &rest[end + 4..];
                after.split_once('\n').map(|(_, b)| b).unwrap_or("")
            }
            None => t,
        }
    } else {
        t
    };
    Ok(Fingerprint {
        method: "body",
        digest: hex(body.as_bytes()),
    })
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
        assert_eq!(markdown_body(&a).unwrap(), markdown_body(&b).unwrap());
        assert_ne!(markdown_body(&b).unwrap(), markdown_body(&c).unwrap());
    }
}
