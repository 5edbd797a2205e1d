//! MP3: the label is an ID3v2 `TXXX` frame with description `AIGC` holding the bare JSON (audio
//! guide PG-202510A; ffmpeg writes ID3v2.4 with encoding 3, UTF-8). A small bounded ID3v2
//! reader/writer, also used for `id3 ` chunks in WAV.
//!
//! Read: ID3v2.2/2.3/2.4 tags at the start of the file; the extended header is skipped;
//! frame sizes are syncsafe in v2.4 and plain in v2.3; unsynchronisation (tag-level in v2.3,
//! per frame in v2.4) is undone; compressed or encrypted frames are skipped (they cannot be a
//! readable label). `TXXX` frames whose description is `AIGC` in any case are labels (another
//! case is noted as KeyCase); v2.2 `TXX` frames are read and noted as NonstandardCarrier.
//!
//! Write: the existing tag keeps its version and every other frame byte for byte (and its
//! padding); the first AIGC frame is replaced in place, other AIGC frames are dropped. v2.4
//! frames use encoding 3 (UTF-8); v2.3 frames use encoding 0 (ASCII text) or 1 (UTF-16 with
//! BOM), since v2.3 has no UTF-8. The extended header and the v2.4 footer are dropped (an
//! extended-header CRC would no longer match), and the unsynchronisation flag is cleared
//! because the tag body is written de-unsynchronised. A file without a tag gets a new v2.4 tag
//! in front. A v2.2 tag is not written into (v2.2 has no TXXX; upgrade it first). The audio
//! frames after the tag are copied unchanged.

use std::io::Write;

use super::{Format, Found};
use crate::error::{CodecError, Result};
use crate::io::{Input, Output};
use crate::label::ProblemCode;
use crate::limits;
use crate::media::{Modality, PayloadMethod};

/// A parsed ID3v2 tag, enough to find and rewrite TXXX frames.
struct Tag {
    major: u8,
    revision: u8,
    flags: u8,
    /// Frame area after the extended header, de-unsynchronised if the tag-level flag of a
    /// v2.2/v2.3 tag was set.
    body: Vec<u8>,
    /// Offset of `body[0]` in the file (approximate after de-unsynchronisation), for messages.
    body_offset: u64,
    frames: Vec<Frame>,
    /// Where the frames end in `body` (padding or unknown bytes follow).
    frames_end: usize,
}

struct Frame {
    /// Range in `Tag::body`, header included.
    start: usize,
    end: usize,
    id: String,
    /// The payload, with per-frame unsynchronisation undone; `None` when compressed/encrypted.
    data: Option<Vec<u8>>,
}

fn syncsafe(b: &[u8], at: u64, what: &str) -> Result<u32> {
    let mut v = 0u32;
    for &x in b {
        if x & 0x80 != 0 {
            return Err(CodecError::corrupt(
                at,
                format!("{what} is not a syncsafe integer"),
            ));
        }
        v = (v << 7) | u32::from(x);
    }
    Ok(v)
}

fn to_syncsafe(v: usize) -> Result<[u8; 4]> {
    if v >= 1 << 28 {
        return Err(CodecError::Unsupported(
            "ID3 tag or frame larger than 256 MiB".into(),
        ));
    }
    Ok([
        ((v >> 21) & 0x7f) as u8,
        ((v >> 14) & 0x7f) as u8,
        ((v >> 7) & 0x7f) as u8,
        (v & 0x7f) as u8,
    ])
}

/// Undo unsynchronisation: every `FF 00` becomes `FF`.
fn deunsync(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut prev_ff = false;
    for &b in data {
        if prev_ff && b == 0 {
            prev_ff = false;
            continue;
        }
        out.push(b);
        prev_ff = b == 0xff;
    }
    out
}

/// Total length of the tag that starts with this 10-byte header (footer included).
fn tag_len(header: &[u8; 10], at: u64) -> Result<u64> {
    if &header[0..3] != b"ID3" {
        return Err(CodecError::corrupt(at, "not an ID3v2 tag"));
    }
    if !(2..=4).contains(&header[3]) {
        return Err(CodecError::Unsupported(format!(
            "ID3v2.{} tag (only 2.2, 2.3 and 2.4 exist)",
            header[3]
        )));
    }
    let size = u64::from(syncsafe(&header[6..10], at + 6, "ID3 tag size")?);
    let footer = if header[3] == 4 && header[5] & 0x10 != 0 {
        10
    } else {
        0
    };
    Ok(10 + size + footer)
}

fn parse(tag: &[u8], base: u64) -> Result<Tag> {
    let header: [u8; 10] = tag
        .get(..10)
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| CodecError::corrupt(base, "truncated ID3 tag header"))?;
    let total = tag_len(&header, base)?;
    if (tag.len() as u64) < total {
        return Err(CodecError::corrupt(
            base,
            format!(
                "truncated: the ID3 tag announces {total} bytes, {} are present",
                tag.len()
            ),
        ));
    }
    let (major, revision, flags) = (header[3], header[4], header[5]);
    let size = syncsafe(&header[6..10], base + 6, "ID3 tag size")? as usize;
    let raw = &tag[10..10 + size];
    let mut body = if major <= 3 && flags & 0x80 != 0 {
        deunsync(raw)
    } else {
        raw.to_vec()
    };
    let mut body_offset = base + 10;
    if flags & 0x40 != 0 {
        if major == 2 {
            // v2.2: the bit means "compressed", with no defined scheme: nothing is readable.
            return Ok(Tag {
                major,
                revision,
                flags,
                frames_end: 0,
                body,
                body_offset,
                frames: Vec::new(),
            });
        }
        if body.len() < 4 {
            return Err(CodecError::corrupt(
                body_offset,
                "truncated ID3 extended header",
            ));
        }
        let ext = if major == 3 {
            u32::from_be_bytes([body[0], body[1], body[2], body[3]]) as usize + 4
        } else {
            syncsafe(&body[0..4], body_offset, "ID3 extended header size")? as usize
        };
        if ext > body.len() || ext < 4 {
            return Err(CodecError::corrupt(
                body_offset,
                format!("ID3 extended header of {ext} bytes does not fit the tag"),
            ));
        }
        body.drain(..ext);
        body_offset += ext as u64;
    }
    let (id_len, head_len) = if major == 2 { (3, 6) } else { (4, 10) };
    let mut frames = Vec::new();
    let mut pos = 0usize;
    while body.len() - pos >= head_len {
        let id = &body[pos..pos + id_len];
        if !id
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            break; // padding (zeros) or bytes that are not frames: kept as they are
        }
        let at = body_offset + pos as u64;
        let size = match major {
            2 => {
                (usize::from(body[pos + 3]) << 16)
                    | (usize::from(body[pos + 4]) << 8)
                    | usize::from(body[pos + 5])
            }
            3 => u32::from_be_bytes([body[pos + 4], body[pos + 5], body[pos + 6], body[pos + 7]])
                as usize,
            // iTunes wrote v2.4 frame sizes as plain integers; a size byte with its top
            // bit set can only be that, so read it plainly rather than refuse the tag.
            _ => {
                let b = [body[pos + 4], body[pos + 5], body[pos + 6], body[pos + 7]];
                syncsafe(&b, at + 4, "ID3v2.4 frame size")
                    .map_or(u32::from_be_bytes(b) as usize, |v| v as usize)
            }
        };
        let end = pos
            .checked_add(head_len)
            .and_then(|p| p.checked_add(size))
            .filter(|&e| e <= body.len())
            .ok_or_else(|| {
                CodecError::corrupt(
                    at,
                    format!(
                        "ID3 frame {} of {size} bytes runs past the end of the tag",
                        String::from_utf8_lossy(id)
                    ),
                )
            })?;
        let payload = &body[pos + head_len..end];
        let data = match major {
            2 => Some(payload.to_vec()),
            3 => {
                let f = body[pos + 9];
                if f & 0xc0 != 0 {
                    None // compressed or encrypted
                } else {
                    let skip = if f & 0x20 != 0 { 1 } else { 0 };
                    payload.get(skip..).map(<[u8]>::to_vec)
                }
            }
            _ => {
                let f = body[pos + 9];
                if f & 0x0c != 0 {
                    None // compressed or encrypted
                } else {
                    let skip = usize::from(f & 0x40 != 0) + if f & 0x01 != 0 { 4 } else { 0 };
                    payload.get(skip..).map(|p| {
                        if f & 0x02 != 0 || flags & 0x80 != 0 {
                            deunsync(p)
                        } else {
                            p.to_vec()
                        }
                    })
                }
            }
        };
        frames.push(Frame {
            start: pos,
            end,
            id: String::from_utf8_lossy(id).into_owned(),
            data,
        });
        pos = end;
        if frames.len() > limits::MAX_ENTRIES {
            return Err(CodecError::limit(at, "too many ID3 frames"));
        }
    }
    Ok(Tag {
        major,
        revision,
        flags,
        frames_end: pos,
        body,
        body_offset,
        frames,
    })
}

fn latin1(b: &[u8]) -> String {
    b.iter().map(|&c| c as char).collect()
}

fn utf16(b: &[u8], default_le: bool) -> String {
    let (le, b) = match b {
        [0xff, 0xfe, rest @ ..] => (true, rest),
        [0xfe, 0xff, rest @ ..] => (false, rest),
        _ => (default_le, b),
    };
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| {
            if le {
                u16::from_le_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], c[1]])
            }
        })
        .collect();
    String::from_utf16_lossy(&units)
}

/// Split a TXXX payload into description and value (trailing NULs of the value removed).
fn txxx(data: &[u8]) -> Option<(String, String)> {
    let (&enc, rest) = data.split_first()?;
    let (desc, value) = match enc {
        0 | 3 => {
            let n = rest.iter().position(|&b| b == 0)?;
            (&rest[..n], &rest[n + 1..])
        }
        1 | 2 => {
            let n = rest.chunks_exact(2).position(|c| c == [0, 0])? * 2;
            (&rest[..n], &rest[n + 2..])
        }
        _ => return None,
    };
    let decode = |b: &[u8]| match enc {
        0 => latin1(b),
        3 => String::from_utf8_lossy(b).into_owned(),
        1 => utf16(b, true),
        _ => utf16(b, false),
    };
    let value = decode(value).trim_end_matches('\0').to_string();
    Some((decode(desc), value))
}

fn is_txxx(tag: &Tag, f: &Frame) -> bool {
    if tag.major == 2 {
        f.id == "TXX"
    } else {
        f.id == "TXXX"
    }
}

/// The description of an AIGC TXXX frame (any case), or `None`.
fn aigc_frame(tag: &Tag, f: &Frame) -> Option<(String, String)> {
    if !is_txxx(tag, f) {
        return None;
    }
    let (desc, value) = txxx(f.data.as_ref()?)?;
    desc.eq_ignore_ascii_case("AIGC").then_some((desc, value))
}

/// Every AIGC TXXX frame of a whole tag (`tag` starts with `ID3`; `base` is its file offset).
/// Carriers are named `{prefix}/ID3v2.{major}/TXXX:{description}`.
pub(crate) fn find_labels(tag: &[u8], base: u64, prefix: &str) -> Result<Vec<Found>> {
    let t = parse(tag, base)?;
    let mut found = Vec::new();
    for f in &t.frames {
        let Some((desc, value)) = aigc_frame(&t, f) else {
            continue;
        };
        let mut fd = Found::named(
            format!("{prefix}/ID3v2.{}/{}:{desc}", t.major, f.id),
            t.body_offset + f.start as u64,
            value,
        );
        if t.major == 2 {
            fd = fd.note(
                ProblemCode::NonstandardCarrier,
                "ID3v2.2 TXX frame; the audio guide's carrier is an ID3v2 TXXX frame (v2.3/v2.4)",
            );
        }
        if desc != "AIGC" {
            fd = fd.note(
                ProblemCode::KeyCase,
                format!("TXXX description is {desc:?}, not \"AIGC\""),
            );
        }
        found.push(fd);
    }
    Ok(found)
}

/// A TXXX frame `AIGC` in the given tag version.
fn label_frame(major: u8, json: &str) -> Result<Vec<u8>> {
    let mut payload = Vec::with_capacity(json.len() + 8);
    match major {
        4 => {
            payload.push(3);
            payload.extend_from_slice(b"AIGC\0");
            payload.extend_from_slice(json.as_bytes());
        }
        3 if json.is_ascii() => {
            payload.push(0);
            payload.extend_from_slice(b"AIGC\0");
            payload.extend_from_slice(json.as_bytes());
        }
        3 => {
            payload.push(1);
            for (i, s) in ["AIGC", json].iter().enumerate() {
                payload.extend_from_slice(&[0xff, 0xfe]);
                for u in s.encode_utf16() {
                    payload.extend_from_slice(&u.to_le_bytes());
                }
                if i == 0 {
                    payload.extend_from_slice(&[0, 0]);
                }
            }
        }
        _ => {
            return Err(CodecError::Unsupported(
                "writing into an ID3v2.2 tag (it has no TXXX frame; convert it to ID3v2.3 or 2.4 first)".into(),
            ))
        }
    }
    let mut frame = b"TXXX".to_vec();
    if major == 4 {
        frame.extend_from_slice(&to_syncsafe(payload.len())?);
    } else {
        let n = u32::try_from(payload.len())
            .map_err(|_| CodecError::Unsupported("ID3 frame larger than 4 GiB".into()))?;
        frame.extend_from_slice(&n.to_be_bytes());
    }
    frame.extend_from_slice(&[0, 0]);
    frame.extend_from_slice(&payload);
    Ok(frame)
}

fn tag_bytes(major: u8, revision: u8, flags: u8, body: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len() + 10);
    out.extend_from_slice(b"ID3");
    out.extend_from_slice(&[major, revision, flags]);
    out.extend_from_slice(&to_syncsafe(body.len())?);
    out.extend_from_slice(body);
    Ok(out)
}

/// A new ID3v2.4 tag holding only the label.
pub(crate) fn new_tag(json: &str) -> Result<Vec<u8>> {
    tag_bytes(4, 0, 0, &label_frame(4, json)?)
}

/// Rewrite a whole tag: with `Some(json)`, the label frame is set (first AIGC frame replaced
/// in place, or appended after the last frame); with `None`, AIGC frames are removed. Returns
/// `None` when nothing changes (no AIGC frame and `json` is `None`).
pub(crate) fn rewrite_tag(tag: &[u8], base: u64, json: Option<&str>) -> Result<Option<Vec<u8>>> {
    let t = parse(tag, base)?;
    let is_label: Vec<bool> = t
        .frames
        .iter()
        .map(|f| aigc_frame(&t, f).is_some())
        .collect();
    if json.is_none() && !is_label.contains(&true) {
        return Ok(None);
    }
    let new_frame = json.map(|j| label_frame(t.major, j)).transpose()?;
    let mut body = Vec::with_capacity(t.body.len() + new_frame.as_ref().map_or(0, Vec::len));
    let mut placed = false;
    for (f, label) in t.frames.iter().zip(&is_label) {
        if *label {
            if let (Some(nf), false) = (&new_frame, placed) {
                body.extend_from_slice(nf);
                placed = true;
            }
        } else {
            body.extend_from_slice(&t.body[f.start..f.end]);
        }
    }
    if let (Some(nf), false) = (&new_frame, placed) {
        body.extend_from_slice(nf);
    }
    body.extend_from_slice(&t.body[t.frames_end..]);
    // Unsynchronisation undone, extended header and footer dropped: clear their flags.
    let flags = t.flags & !(0x80 | 0x40 | 0x10);
    Ok(Some(tag_bytes(t.major, t.revision, flags, &body)?))
}

/// Read the whole ID3v2 tag at the current position (which starts with `ID3`).
fn read_tag(input: &mut Input) -> Result<Vec<u8>> {
    let at = input.pos()?;
    let header: [u8; 10] = input.read_array()?;
    let len = tag_len(&header, at)?;
    input.seek_to(at)?;
    input.read_vec(len, limits::MAX_METADATA_BYTES, "ID3v2 tag")
}

/// The MP3 container (an ID3v2 tag followed by MPEG audio frames).
pub struct Mp3;

impl Format for Mp3 {
    fn id(&self) -> &'static str {
        "mp3"
    }
    fn modality(&self, _head: &[u8]) -> Modality {
        Modality::Audio
    }
    fn payload(&self) -> PayloadMethod {
        PayloadMethod::Packets
    }
    fn media_types(&self) -> &'static [&'static str] {
        &["audio/mpeg", "audio/mp3"]
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["mp3"]
    }
    fn carrier(&self) -> &'static str {
        "ID3v2 TXXX frame, description 'AIGC' (v2.4 UTF-8; an existing v2.3 tag keeps its version)"
    }
    fn sniff(&self, head: &[u8]) -> bool {
        // ID3v2 tag, or an MPEG audio frame sync with a layer that is not the reserved 00
        // (which is how ADTS AAC begins).
        head.starts_with(b"ID3")
            || (head.len() >= 2 && head[0] == 0xff && head[1] & 0xe0 == 0xe0 && head[1] & 0x06 != 0)
    }

    fn read(&self, input: &mut Input) -> Result<Vec<Found>> {
        input.seek_to(0)?;
        if !input.peek(3)?.starts_with(b"ID3") {
            return Ok(Vec::new());
        }
        let tag = read_tag(input)?;
        find_labels(&tag, 0, "mp3")
    }

    fn write(&self, input: &mut Input, out: &mut Output, json: &str) -> Result<()> {
        input.seek_to(0)?;
        if input.peek(3)?.starts_with(b"ID3") {
            let tag = read_tag(input)?;
            let end = tag.len() as u64;
            let new = rewrite_tag(&tag, 0, Some(json))?
                .ok_or_else(|| CodecError::corrupt(0, "ID3 tag could not be rewritten"))?;
            out.write_all(&new)?;
            input.copy_rest_from(end, out)
        } else {
            out.write_all(&new_tag(json)?)?;
            input.copy_rest_from(0, out)
        }
    }
}
