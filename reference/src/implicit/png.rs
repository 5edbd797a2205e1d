//! PNG: the label is the `TC260:AIGC` property of the XMP packet in an `iTXt` chunk with keyword
//! `XML:com.adobe.xmp` (image guide PG-20259A). Also read: `tEXt`/`zTXt`/`iTXt` chunks with the
//! keyword `AIGC` (the guide's Annex B alternative, and Doubao's other exports).
//!
//! Writing updates the existing XMP chunk in place or inserts one right after `IHDR` (as the
//! real Doubao files have it), drops `AIGC` text chunks (one label per file, 6.1 c), and copies
//! every other chunk, IDAT included, byte for byte.

use std::io::{Read, Write};

use super::one_label::{self, Layout, Role, Unit, UnitWriter};
use super::{xmp, Format, Found};
use crate::error::{CodecError, Result};
use crate::io::{Input, Output};
use crate::label::{CarrierKind, ProblemCode};
use crate::limits;
use crate::media::{Modality, PayloadMethod};

const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
const XMP_KEYWORD: &[u8] = b"XML:com.adobe.xmp";

/// The PNG container.
pub struct Png;

/// One chunk header.
struct Chunk {
    offset: u64,
    kind: [u8; 4],
    len: u64,
}

impl Chunk {
    fn data_offset(&self) -> u64 {
        self.offset + 8
    }
    fn total_len(&self) -> u64 {
        self.len + 12
    }
}

/// Walk the chunk headers; the callback sees each chunk and the input positioned at its data.
fn walk(input: &mut Input, mut f: impl FnMut(&mut Input, &Chunk) -> Result<()>) -> Result<()> {
    walk_while(input, |input, chunk| f(input, chunk).map(|_| true))
}

/// [`walk`], stopping early when `f` returns false.
fn walk_while(
    input: &mut Input,
    mut f: impl FnMut(&mut Input, &Chunk) -> Result<bool>,
) -> Result<()> {
    input.seek_to(0)?;
    let sig: [u8; 8] = input.read_array()?;
    if sig != SIGNATURE {
        return Err(CodecError::corrupt(0, "not a PNG signature"));
    }
    let mut offset = 8u64;
    for _ in 0..limits::MAX_ENTRIES {
        if offset == input.len() {
            return Err(CodecError::corrupt(
                offset,
                "truncated: the file ends without an IEND chunk",
            ));
        }
        input.seek_to(offset)?;
        let header: [u8; 8] = input.read_array()?;
        let len = u32::from_be_bytes(header[0..4].try_into().expect("4 bytes")) as u64;
        if len > 0x7fff_ffff {
            return Err(CodecError::corrupt(
                offset,
                format!("chunk length {len} exceeds 2^31-1"),
            ));
        }
        let kind: [u8; 4] = header[4..8].try_into().expect("4 bytes");
        if !kind.iter().all(|b| b.is_ascii_alphabetic()) {
            return Err(CodecError::corrupt(
                offset + 4,
                format!("invalid chunk type {:02x?}", kind),
            ));
        }
        let chunk = Chunk { offset, kind, len };
        if offset + chunk.total_len() > input.len() {
            return Err(CodecError::corrupt(
                offset,
                format!(
                    "truncated: chunk {} of {len} bytes runs past the end of the file",
                    String::from_utf8_lossy(&kind)
                ),
            ));
        }
        if !f(input, &chunk)? {
            return Ok(());
        }
        offset += chunk.total_len();
        if &kind == b"IEND" {
            return Ok(());
        }
    }
    Err(CodecError::limit(offset, "too many chunks"))
}

/// A text chunk's keyword and decoded text, if it is one.
enum Text {
    Xmp(String),
    Aigc { keyword: String, text: String },
    Other,
}

fn decode_text_chunk(input: &mut Input, chunk: &Chunk) -> Result<Text> {
    let is_text = matches!(&chunk.kind, b"tEXt" | b"zTXt" | b"iTXt");
    if !is_text {
        return Ok(Text::Other);
    }
    // Peek at the keyword first so that large unrelated text chunks are not read.
    let head = input.peek(80.min(chunk.len as usize))?;
    let kw_end = head.iter().position(|b| *b == 0);
    let Some(kw_end) = kw_end else {
        return Ok(Text::Other);
    };
    let keyword = &head[..kw_end];
    let is_xmp = &chunk.kind == b"iTXt" && keyword == XMP_KEYWORD;
    let is_aigc = keyword.eq_ignore_ascii_case(b"AIGC");
    if !is_xmp && !is_aigc {
        return Ok(Text::Other);
    }
    let keyword = String::from_utf8_lossy(keyword).into_owned();
    let data = input.read_vec(chunk.len, limits::MAX_METADATA_BYTES, "PNG text chunk")?;
    let body = &data[kw_end + 1..];
    let at = chunk.data_offset();
    let text = match &chunk.kind {
        b"tEXt" => body.iter().map(|b| *b as char).collect::<String>(), // Latin-1
        b"zTXt" => {
            if body.is_empty() {
                return Err(CodecError::corrupt(
                    at,
                    "zTXt chunk without compression method",
                ));
            }
            inflate(&body[1..], at)?
        }
        _ => {
            // iTXt: compression flag, method, language\0, translated keyword\0, text
            if body.len() < 2 {
                return Err(CodecError::corrupt(at, "iTXt chunk too short"));
            }
            let compressed = body[0] == 1;
            let rest = &body[2..];
            let lang_end = rest
                .iter()
                .position(|b| *b == 0)
                .ok_or_else(|| CodecError::corrupt(at, "iTXt language tag not terminated"))?;
            let rest = &rest[lang_end + 1..];
            let tk_end = rest
                .iter()
                .position(|b| *b == 0)
                .ok_or_else(|| CodecError::corrupt(at, "iTXt translated keyword not terminated"))?;
            let text = &rest[tk_end + 1..];
            if compressed {
                inflate(text, at)?
            } else {
                String::from_utf8(text.to_vec())
                    .map_err(|e| CodecError::corrupt(at, format!("iTXt text is not UTF-8: {e}")))?
            }
        }
    };
    Ok(if is_xmp {
        Text::Xmp(text)
    } else {
        Text::Aigc { keyword, text }
    })
}

/// Inflate zlib data with a bound on the output (decompression bombs).
pub(crate) fn inflate(data: &[u8], at: u64) -> Result<String> {
    let mut out = Vec::new();
    let mut dec = flate2::read::ZlibDecoder::new(data).take(limits::MAX_INFLATED_BYTES + 1);
    dec.read_to_end(&mut out)
        .map_err(|e| CodecError::corrupt(at, format!("bad zlib stream: {e}")))?;
    if out.len() as u64 > limits::MAX_INFLATED_BYTES {
        return Err(CodecError::limit(
            at,
            format!(
                "compressed text inflates beyond {} bytes",
                limits::MAX_INFLATED_BYTES
            ),
        ));
    }
    String::from_utf8(out)
        .map_err(|e| CodecError::corrupt(at, format!("inflated text is not UTF-8: {e}")))
}

fn write_chunk(out: &mut Output, kind: &[u8; 4], data: &[u8]) -> Result<()> {
    let len = u32::try_from(data.len())
        .map_err(|_| CodecError::Unsupported("chunk larger than 4 GiB".into()))?;
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.write_all(&len.to_be_bytes())?;
    out.write_all(kind)?;
    out.write_all(data)?;
    out.write_all(&crc.finalize().to_be_bytes())?;
    Ok(())
}

fn xmp_chunk_data(packet: &str) -> Vec<u8> {
    let mut data = Vec::with_capacity(XMP_KEYWORD.len() + 5 + packet.len());
    data.extend_from_slice(XMP_KEYWORD);
    data.extend_from_slice(&[0, 0, 0, 0, 0]); // NUL, uncompressed, method 0, empty lang, empty translated
    data.extend_from_slice(packet.as_bytes());
    data
}

impl Format for Png {
    fn id(&self) -> &'static str {
        "png"
    }
    fn modality(&self, _head: &[u8]) -> Modality {
        Modality::Image
    }
    fn payload(&self) -> PayloadMethod {
        PayloadMethod::DecodedImage
    }
    fn media_types(&self) -> &'static [&'static str] {
        &["image/png", "image/apng"]
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["png", "apng"]
    }
    fn carrier(&self) -> &'static str {
        "iTXt chunk XML:com.adobe.xmp, XMP property TC260:AIGC (element form), after IHDR"
    }
    fn sniff(&self, head: &[u8]) -> bool {
        head.starts_with(&SIGNATURE)
    }

    fn write_checks_readability(&self) -> bool {
        // Pass 2 walks every chunk with the reader's own checks and parses every XMP packet.
        true
    }

    fn read(&self, input: &mut Input) -> Result<Vec<Found>> {
        let mut found = Vec::new();
        walk(input, |input, chunk| {
            match decode_text_chunk(input, chunk)? {
                Text::Xmp(packet) => {
                    for (text, notes) in
                        xmp::find_labels(&packet).map_err(xmp::error_at(chunk.data_offset()))?
                    {
                        let mut f = Found::named("png/iTXt/XMP", chunk.offset, text);
                        f.notes = notes;
                        found.push(f);
                    }
                }
                Text::Aigc { keyword, text } => {
                    // The image guide's Annex B alternative: a text chunk AIGC holding the
                    // WRAPPED value {"AIGC":{...}}, like EXIF UserComment (digest 3.8, corrected
                    // 2026-12-02). A guide carrier, so no nonstandard-carrier note; the bare
                    // form (real Doubao) stays readable with bare-in-unnamed-carrier.
                    let kind = String::from_utf8_lossy(&chunk.kind).into_owned();
                    let mut f = Found {
                        carrier: format!("png/{kind}/{keyword}"),
                        kind: CarrierKind::Unnamed,
                        text,
                        offset: chunk.offset,
                        notes: Vec::new(),
                    };
                    if keyword != "AIGC" {
                        f = f.note(
                            ProblemCode::KeyCase,
                            format!("chunk keyword is {keyword:?}, not \"AIGC\""),
                        );
                    }
                    found.push(f);
                }
                Text::Other => {}
            }
            super::check_label_count(&found, chunk.offset)
        })?;
        Ok(found)
    }

    fn write(&self, input: &mut Input, out: &mut Output, json: &str) -> Result<()> {
        // One walk describes the chunks; a new packet goes right after IHDR (as the real Doubao
        // files have it); a packet after the image data does not get the label (only the
        // chunks before IDAT are looked at when deciding, as a reader streaming the file would).
        let mut layout = Layout::new();
        let mut end = 8;
        walk(input, |input, chunk| {
            end = chunk.offset + chunk.total_len();
            let next = layout.units.len() + 1;
            let role = match decode_text_chunk(input, chunk)? {
                // (find_labels, not has_label: an unparsable packet is an error here, as in
                // `read`, which is what write_checks_readability promises.)
                Text::Xmp(packet) => Role::Standard {
                    has_label: !xmp::find_labels(&packet)
                        .map_err(xmp::error_at(chunk.data_offset()))?
                        .is_empty(),
                },
                Text::Aigc { .. } => Role::LabelOnly,
                Text::Other if &chunk.kind == b"IHDR" => {
                    layout.insert_at = layout.insert_at.or(Some(next));
                    Role::Keep
                }
                Text::Other if &chunk.kind == b"IDAT" => {
                    layout.eligible_end = layout.eligible_end.min(next - 1);
                    Role::Keep
                }
                Text::Other => Role::Keep,
            };
            layout.push(chunk.offset, chunk.total_len(), role);
            Ok(())
        })?;
        layout
            .target()
            .map_err(|_| CodecError::corrupt(8, "no IHDR chunk to insert the label after"))?;
        out.write_all(&SIGNATURE)?;
        one_label::rewrite(&layout, input, out, &XmpChunks, json)?;
        // Bytes after IEND (seen in the wild) are kept.
        if end < input.len() {
            input.copy_rest_from(end, out)?;
        }
        Ok(())
    }
}

/// Writes the XMP `iTXt` chunks for [`one_label::rewrite`].
struct XmpChunks;

impl XmpChunks {
    /// The packet of the XMP chunk `unit`.
    fn packet(input: &mut Input, unit: &Unit) -> Result<String> {
        let chunk = Chunk {
            offset: unit.offset,
            kind: *b"iTXt",
            len: unit.len - 12,
        };
        input.seek_to(chunk.data_offset())?;
        match decode_text_chunk(input, &chunk)? {
            Text::Xmp(packet) => Ok(packet),
            _ => Err(CodecError::corrupt(unit.offset, "not an XMP chunk")),
        }
    }
}

impl UnitWriter for XmpChunks {
    fn label(
        &self,
        input: &mut Input,
        out: &mut Output,
        unit: Option<&Unit>,
        json: &str,
    ) -> Result<()> {
        let packet = match unit {
            Some(u) => xmp::set_label(&Self::packet(input, u)?, json)
                .map_err(xmp::error_at(u.offset + 8))?,
            None => xmp::new_packet(json),
        };
        write_chunk(out, b"iTXt", &xmp_chunk_data(&packet))
    }
    fn strip(&self, input: &mut Input, out: &mut Output, unit: &Unit) -> Result<()> {
        let cleaned = xmp::remove_labels(&Self::packet(input, unit)?)
            .map_err(xmp::error_at(unit.offset + 8))?;
        write_chunk(out, b"iTXt", &xmp_chunk_data(&cleaned))
    }
}
