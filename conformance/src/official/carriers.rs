//! Minimal valid files with label carriers spliced in, crafted byte by byte from the carrier
//! table of the digest (§3.8). The pixel and sample content is fresh for every instance: PNG
//! and JPEG pixels are encoded by the `image` crate, the rest is written here.
//!
//! Nothing here reads a file back: what a carrier holds is known from how it was written.

use image::{ImageEncoder, RgbImage};
use std::io::Write;

use super::rng::Rng;

/// The XMP namespace of the TC260 property (digest §3.8, profile `implicit.xmp_namespace`).
pub const TC260_NS: &str = "http://www.tc260.org.cn/ns/AIGC/1.0/";

/// Fresh random pixels, `w`×`h`, as smooth gradients with noise (so JPEG does not collapse
/// them to one block).
fn pixels(rng: &mut Rng, w: u32, h: u32) -> RgbImage {
    let base = rng.bytes(6);
    let noise = rng.bytes((w * h * 3) as usize);
    RgbImage::from_fn(w, h, |x, y| {
        let i = ((y * w + x) * 3) as usize;
        let c = |k: usize, t: u32| {
            base[k]
                .wrapping_add((t * u32::from(base[k + 3] % 7 + 1)) as u8)
                .wrapping_add(noise[i + k] % 16)
        };
        image::Rgb([c(0, x), c(1, y), c(2, x + y)])
    })
}

/// CRC-32 (ISO 3309, as PNG uses it).
fn crc32(parts: &[&[u8]]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for part in parts {
        for &b in *part {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
    }
    !crc
}

/// A PNG chunk: length, type, data, CRC.
pub fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(&[kind, data]).to_be_bytes());
    out
}

/// `tEXt`: keyword, NUL, Latin-1 text.
pub fn png_text(keyword: &str, text: &str) -> Vec<u8> {
    png_chunk(
        b"tEXt",
        &[keyword.as_bytes(), b"\0", text.as_bytes()].concat(),
    )
}

/// `zTXt`: keyword, NUL, method 0, zlib-compressed text.
pub fn png_ztxt(keyword: &str, text: &str) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = z.write_all(text.as_bytes());
    let compressed = z.finish().unwrap_or_default();
    png_chunk(
        b"zTXt",
        &[keyword.as_bytes(), b"\0\0", &compressed].concat(),
    )
}

/// `iTXt`, uncompressed: keyword, NUL, flag 0, method 0, empty language and translation.
pub fn png_itxt(keyword: &str, text: &str) -> Vec<u8> {
    png_chunk(
        b"iTXt",
        &[keyword.as_bytes(), b"\0\0\0\0\0", text.as_bytes()].concat(),
    )
}

/// A fresh PNG (random size 1..=40 px a side, random pixels) with `chunks` inserted, each
/// either right after IHDR or right before IEND (chosen per chunk).
pub fn png(rng: &mut Rng, chunks: &[Vec<u8>]) -> Vec<u8> {
    let (w, h) = (rng.range(1, 40) as u32, rng.range(1, 40) as u32);
    let img = pixels(rng, w, h);
    let mut encoded = Vec::new();
    let _ = image::codecs::png::PngEncoder::new(&mut encoded).write_image(
        img.as_raw(),
        w,
        h,
        image::ExtendedColorType::Rgb8,
    );
    // Signature (8) + IHDR (4 + 4 + 13 + 4); IEND is the last 12 bytes.
    let (head, rest) = encoded.split_at(33);
    let (body, iend) = rest.split_at(rest.len() - 12);
    let (mut early, mut late) = (Vec::new(), Vec::new());
    for c in chunks {
        if rng.coin() {
            early.extend_from_slice(c);
        } else {
            late.extend_from_slice(c);
        }
    }
    [head, &early, body, &late, iend].concat()
}

/// XML escaping for element content and attribute values.
pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// How the label sits in an XMP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XmpForm {
    /// `<TC260:AIGC>…</TC260:AIGC>`.
    Element,
    /// `TC260:AIGC="…"` on rdf:Description.
    Attribute,
    /// The JSON under `dc:source`, a property whose name does not contain AIGC (E a): no label.
    OtherProperty,
}

/// An XMP packet carrying `json` with the TC260 prefix bound to `namespace`; with or without
/// an XML declaration before the xpacket header (the Doubao quirk) and with random padding.
pub fn xmp_packet(rng: &mut Rng, json: &str, namespace: &str, form: XmpForm) -> String {
    let value = xml_escape(json);
    let ns = xml_escape(namespace);
    let description = match form {
        XmpForm::Element => format!(
            "<rdf:Description rdf:about=\"\" xmlns:TC260=\"{ns}\">\n   <TC260:AIGC>{value}</TC260:AIGC>\n  </rdf:Description>"
        ),
        XmpForm::Attribute => format!(
            "<rdf:Description rdf:about=\"\" xmlns:TC260=\"{ns}\" TC260:AIGC=\"{value}\"/>"
        ),
        XmpForm::OtherProperty => format!(
            "<rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\n   <dc:source>{value}</dc:source>\n  </rdf:Description>"
        ),
    };
    let decl = if rng.coin() {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    } else {
        ""
    };
    let padding = " ".repeat(rng.range(0, 200));
    format!(
        "{decl}<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n  {description}\n </rdf:RDF>\n</x:xmpmeta>\n{padding}\n<?xpacket end=\"w\"?>"
    )
}

/// A JPEG APP segment (`marker` 0xE0..0xEF) with its length.
fn jpeg_segment(marker: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0xFF, marker];
    out.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// APP1 XMP: `http://ns.adobe.com/xap/1.0/` NUL, then the packet.
pub fn jpeg_xmp(packet: &str) -> Vec<u8> {
    jpeg_segment(
        0xE1,
        &[
            b"http://ns.adobe.com/xap/1.0/\0".as_slice(),
            packet.as_bytes(),
        ]
        .concat(),
    )
}

/// APP1 Exif with one tag, UserComment (0x9286, UNDEFINED, `ASCII\0\0\0` + text), in the
/// Exif IFD; byte order little- or big-endian.
pub fn jpeg_exif_user_comment(text: &str, big_endian: bool) -> Vec<u8> {
    let u16b = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let u32b = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let comment = [b"ASCII\0\0\0".as_slice(), text.as_bytes()].concat();
    let mut t = Vec::new();
    t.extend_from_slice(if big_endian { b"MM" } else { b"II" });
    t.extend_from_slice(&u16b(42));
    t.extend_from_slice(&u32b(8));
    // IFD0 at 8: one entry, ExifIFDPointer -> 26.
    t.extend_from_slice(&u16b(1));
    t.extend_from_slice(&u16b(0x8769));
    t.extend_from_slice(&u16b(4));
    t.extend_from_slice(&u32b(1));
    t.extend_from_slice(&u32b(26));
    t.extend_from_slice(&u32b(0));
    // Exif IFD at 26: one entry, UserComment, data at 44.
    t.extend_from_slice(&u16b(1));
    t.extend_from_slice(&u16b(0x9286));
    t.extend_from_slice(&u16b(7));
    t.extend_from_slice(&u32b(comment.len() as u32));
    t.extend_from_slice(&u32b(44));
    t.extend_from_slice(&u32b(0));
    t.extend_from_slice(&comment);
    jpeg_segment(0xE1, &[b"Exif\0\0".as_slice(), &t].concat())
}

/// A fresh JPEG (random size and quality, random pixels) with `segments` after SOI and the
/// encoder's APP0 (if any).
pub fn jpeg(rng: &mut Rng, segments: &[Vec<u8>]) -> Vec<u8> {
    let (w, h) = (rng.range(8, 48) as u32, rng.range(8, 48) as u32);
    let img = pixels(rng, w, h);
    let mut encoded = Vec::new();
    let quality = rng.range(40, 95) as u8;
    let _ = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut encoded, quality).write_image(
        img.as_raw(),
        w,
        h,
        image::ExtendedColorType::Rgb8,
    );
    let mut at = 2;
    if encoded.get(2..4) == Some(&[0xFF, 0xE0]) {
        let len = u16::from_be_bytes([encoded[4], encoded[5]]) as usize;
        at = 4 + len;
    }
    let (head, tail) = encoded.split_at(at.min(encoded.len()));
    [head, &segments.concat(), tail].concat()
}

/// A RIFF chunk, padded to an even length.
pub fn riff_chunk(id: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = id.to_vec();
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    if data.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// `LIST`/`INFO` with one sub-chunk `AIGC` holding `text` and a NUL.
pub fn wav_list_info(text: &str) -> Vec<u8> {
    let sub = riff_chunk(b"AIGC", &[text.as_bytes(), b"\0"].concat());
    riff_chunk(b"LIST", &[b"INFO".as_slice(), &sub].concat())
}

/// A fresh PCM WAV (random rate, channels, length and samples) with `chunks` placed after
/// `fmt ` or after `data`.
pub fn wav(rng: &mut Rng, chunks: &[Vec<u8>]) -> Vec<u8> {
    let rate = *rng.pick(&[8000u32, 16000, 22050, 44100]);
    let channels = rng.range(1, 2) as u16;
    let frames = rng.range(64, 2048);
    let mut fmt = Vec::new();
    fmt.extend_from_slice(&1u16.to_le_bytes());
    fmt.extend_from_slice(&channels.to_le_bytes());
    fmt.extend_from_slice(&rate.to_le_bytes());
    fmt.extend_from_slice(&(rate * u32::from(channels) * 2).to_le_bytes());
    fmt.extend_from_slice(&(channels * 2).to_le_bytes());
    fmt.extend_from_slice(&16u16.to_le_bytes());
    let samples = rng.bytes(frames * usize::from(channels) * 2);
    let (mut early, mut late) = (Vec::new(), Vec::new());
    for c in chunks {
        if rng.coin() {
            early.extend_from_slice(c);
        } else {
            late.extend_from_slice(c);
        }
    }
    let body = [
        b"WAVE".as_slice(),
        &riff_chunk(b"fmt ", &fmt),
        &early,
        &riff_chunk(b"data", &samples),
        &late,
    ]
    .concat();
    riff_chunk(b"RIFF", &body)
}

/// ID3v2 synchsafe integer.
fn synchsafe(n: usize) -> [u8; 4] {
    [
        ((n >> 21) & 0x7F) as u8,
        ((n >> 14) & 0x7F) as u8,
        ((n >> 7) & 0x7F) as u8,
        (n & 0x7F) as u8,
    ]
}

/// A fresh MP3: an ID3v2 tag (v2.4 with UTF-8, or v2.3 with ISO-8859-1) holding one `TXXX`
/// frame per `(description, value)`, then 4..40 MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz)
/// with empty side information (silence) and random ancillary bytes.
pub fn mp3(rng: &mut Rng, txxx: &[(&str, &str)]) -> Vec<u8> {
    let v24 = rng.coin();
    let mut frames = Vec::new();
    for (desc, value) in txxx {
        let body = [
            &[if v24 { 3u8 } else { 0 }][..],
            desc.as_bytes(),
            b"\0",
            value.as_bytes(),
        ]
        .concat();
        frames.extend_from_slice(b"TXXX");
        if v24 {
            frames.extend_from_slice(&synchsafe(body.len()));
        } else {
            frames.extend_from_slice(&(body.len() as u32).to_be_bytes());
        }
        frames.extend_from_slice(&[0, 0]);
        frames.extend_from_slice(&body);
    }
    let padding = rng.range(0, 64);
    frames.extend(std::iter::repeat_n(0u8, padding));
    let mut out = b"ID3".to_vec();
    out.extend_from_slice(&[if v24 { 4 } else { 3 }, 0, 0]);
    out.extend_from_slice(&synchsafe(frames.len()));
    out.extend_from_slice(&frames);
    for _ in 0..rng.range(4, 40) {
        // 144 * 128000 / 44100 = 417 bytes; 4 header + 32 side information (zero) + ancillary.
        let mut frame = vec![0xFF, 0xFB, 0x90, 0x00];
        frame.extend_from_slice(&[0u8; 32]);
        frame.extend(rng.bytes(417 - 36));
        out.extend_from_slice(&frame);
    }
    out
}

/// A PDF literal string: parentheses and backslashes escaped.
fn pdf_string(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('(', "\\(")
        .replace(')', "\\)");
    format!("({escaped})")
}

/// A fresh one-page PDF (random page size and rectangles) whose document Info dictionary holds
/// `info` entries (`/Key (value)`, in the order given), with a correct xref table.
pub fn pdf(rng: &mut Rng, info: &[(&str, &str)]) -> Vec<u8> {
    let (w, h) = (rng.range(72, 600), rng.range(72, 800));
    let mut content = String::new();
    for _ in 0..rng.range(1, 5) {
        content.push_str(&format!(
            "{:.2} {:.2} {:.2} rg {} {} {} {} re f\n",
            rng.below(100) as f64 / 100.0,
            rng.below(100) as f64 / 100.0,
            rng.below(100) as f64 / 100.0,
            rng.below(w),
            rng.below(h),
            rng.range(1, 60),
            rng.range(1, 60)
        ));
    }
    let info_dict: String = info
        .iter()
        .map(|(k, v)| format!("/{k} {} ", pdf_string(v)))
        .collect();
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        format!("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w} {h}] /Contents 4 0 R >>"),
        format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ),
        format!("<< {info_dict}>>"),
    ];
    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// Words for fresh text content.
const WORDS: &[&str] = &[
    "report", "summary", "river", "model", "light", "paper", "signal", "garden", "window",
    "number", "market", "season", "music", "planet", "letter", "bridge", "forest", "engine",
];

/// A fresh Markdown document: `front_matter` (the lines between the `---` fences, if any),
/// then a heading and a paragraph of random words.
pub fn markdown(rng: &mut Rng, front_matter: Option<&str>) -> Vec<u8> {
    let mut out = String::new();
    if let Some(fm) = front_matter {
        out.push_str("---\n");
        out.push_str(fm);
        out.push_str("---\n");
    }
    out.push_str(&format!("# {}\n\n", rng.pick(WORDS)));
    let words: Vec<&str> = (0..rng.range(5, 60)).map(|_| *rng.pick(WORDS)).collect();
    out.push_str(&words.join(" "));
    out.push_str(".\n");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_of_iend_is_the_known_value() {
        assert_eq!(crc32(&[b"IEND"]), 0xAE42_6082);
    }

    #[test]
    fn crafted_png_and_jpeg_decode() {
        let mut rng = Rng::new(11);
        let p = png(&mut rng, &[png_text("AIGC", "{}")]);
        assert!(image::load_from_memory(&p).is_ok());
        let j = jpeg(
            &mut rng,
            &[jpeg_xmp("<x/>"), jpeg_exif_user_comment("{}", true)],
        );
        assert!(image::load_from_memory(&j).is_ok());
    }
}
