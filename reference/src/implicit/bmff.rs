//! The one ISO-BMFF box walker shared by [`super::isobmff`] (MP4/MOV/M4A) and [`super::heif`]
//! (HEIF/HEIC/AVIF).
//!
//! Every box header is checked against its parent's end: 32-bit sizes, 64-bit sizes (`size ==
//! 1`), `size == 0` meaning "up to the end of the parent", and the 16-byte extended type of
//! `uuid` boxes. Top-level boxes are walked on the [`Input`] without reading their bodies;
//! metadata boxes (`moov`, `meta`) are read into memory, bounded by [`limits`], and walked as
//! slices. Nesting is bounded by [`limits::MAX_DEPTH`], box counts by [`limits::MAX_ENTRIES`].

use std::ops::Range;

use crate::error::{CodecError, Result};
use std::io::Write;

use crate::io::{Input, Output};
use crate::limits;

/// One box: where it is and what it is. Offsets are relative to the buffer it was parsed from
/// (or absolute for top-level boxes walked on the input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoxRef {
    /// Four-character type.
    pub kind: [u8; 4],
    /// Extended type of a `uuid` box.
    pub uuid: Option<[u8; 16]>,
    /// Offset of the first header byte.
    pub start: u64,
    /// Header length (8, 16, plus 16 for `uuid`).
    pub header_len: u64,
    /// Offset just after the box.
    pub end: u64,
}

impl BoxRef {
    /// Offset of the first body byte.
    pub fn body_start(&self) -> u64 {
        self.start + self.header_len
    }
    /// Total box size.
    pub fn size(&self) -> u64 {
        self.end - self.start
    }
    /// The body as a range into the buffer the box was parsed from.
    pub fn body(&self) -> Range<usize> {
        self.body_start() as usize..self.end as usize
    }
    /// The whole box as a range into the buffer the box was parsed from.
    pub fn range(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
    /// The box's bytes for copying into a rebuilt parent. A size field of 0 ("to the end of
    /// the parent") is replaced by the real size: once anything is appended after the box in
    /// its parent, "to the end" would swallow it (found by fuzzing: a label appended to moov
    /// vanished inside such a box).
    pub fn bytes<'a>(&self, buf: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
        let raw = &buf[self.range()];
        match (raw.get(0..4), u32::try_from(self.size())) {
            (Some([0, 0, 0, 0]), Ok(size)) => {
                let mut owned = raw.to_vec();
                owned[0..4].copy_from_slice(&size.to_be_bytes());
                std::borrow::Cow::Owned(owned)
            }
            _ => std::borrow::Cow::Borrowed(raw),
        }
    }
    /// The type as text, for messages and carrier names.
    pub fn name(&self) -> String {
        fourcc(&self.kind)
    }
}

/// A four-character code as text (non-printable bytes escaped).
pub fn fourcc(kind: &[u8; 4]) -> String {
    kind.iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                (b as char).to_string()
            } else if b == 0xa9 {
                "©".to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect()
}

/// Parse one box header from `head` (the bytes at `start`, at least 8 unless at the parent's
/// end); `parent_end` bounds the box; `base` is added to offsets in error messages.
pub fn parse_header(head: &[u8], start: u64, parent_end: u64, base: u64) -> Result<BoxRef> {
    let at = base + start;
    if head.len() < 8 || start + 8 > parent_end {
        return Err(CodecError::corrupt(
            at,
            format!(
                "truncated box header: {} bytes left before the parent's end",
                parent_end.saturating_sub(start)
            ),
        ));
    }
    let size32 = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as u64;
    let kind = [head[4], head[5], head[6], head[7]];
    let (mut header_len, size) = match size32 {
        0 => (8, parent_end - start),
        1 => {
            if head.len() < 16 || start + 16 > parent_end {
                return Err(CodecError::corrupt(
                    at,
                    "truncated 64-bit box size".to_string(),
                ));
            }
            let s = u64::from_be_bytes(head[8..16].try_into().expect("8 bytes"));
            (16, s)
        }
        s => (8, s),
    };
    let mut uuid = None;
    if &kind == b"uuid" {
        let h = header_len as usize;
        if head.len() < h + 16 || start + header_len + 16 > parent_end {
            return Err(CodecError::corrupt(at, "truncated uuid box header"));
        }
        uuid = Some(head[h..h + 16].try_into().expect("16 bytes"));
        header_len += 16;
    }
    if size < header_len {
        return Err(CodecError::corrupt(
            at,
            format!(
                "box {} declares size {size}, smaller than its {header_len}-byte header",
                fourcc(&kind)
            ),
        ));
    }
    let end = start
        .checked_add(size)
        .ok_or_else(|| CodecError::corrupt(at, "box size overflows"))?;
    if end > parent_end {
        return Err(CodecError::corrupt(
            at,
            format!(
                "box {} of {size} bytes runs past its parent's end (byte {})",
                fourcc(&kind),
                base + parent_end
            ),
        ));
    }
    Ok(BoxRef {
        kind,
        uuid,
        start,
        header_len,
        end,
    })
}

/// The boxes of a region `range` of `data`, in order; `base` is the absolute file offset of
/// `data[0]` (for messages); `depth` is the nesting depth of the region.
pub fn children(data: &[u8], range: Range<usize>, base: u64, depth: usize) -> Result<Vec<BoxRef>> {
    if depth > limits::MAX_DEPTH {
        return Err(CodecError::limit(
            base + range.start as u64,
            format!("boxes nested deeper than {}", limits::MAX_DEPTH),
        ));
    }
    if range.end > data.len() || range.start > range.end {
        return Err(CodecError::corrupt(
            base + range.start as u64,
            "box region outside the buffer",
        ));
    }
    let mut out = Vec::new();
    let mut pos = range.start as u64;
    let end = range.end as u64;
    while pos < end {
        if out.len() >= limits::MAX_ENTRIES {
            return Err(CodecError::limit(
                base + pos,
                "too many boxes in one parent",
            ));
        }
        let head_end = (pos as usize + 32).min(range.end);
        let b = parse_header(&data[pos as usize..head_end], pos, end, base)?;
        pos = b.end;
        out.push(b);
    }
    Ok(out)
}

/// The top-level boxes of a file, walked on the input without reading their bodies.
pub fn top_level(input: &mut Input) -> Result<Vec<BoxRef>> {
    let len = input.len();
    let mut out = Vec::new();
    let mut pos = 0u64;
    while pos < len {
        if out.len() >= limits::MAX_ENTRIES {
            return Err(CodecError::limit(pos, "too many top-level boxes"));
        }
        input.seek_to(pos)?;
        let head = input.peek(32)?;
        let b = parse_header(&head, pos, len, 0)?;
        pos = b.end;
        out.push(b);
    }
    Ok(out)
}

/// Read a top-level box's whole bytes (header included) into memory, bounded by `limit`.
pub fn read_box(input: &mut Input, b: &BoxRef, limit: u64) -> Result<Vec<u8>> {
    input.seek_to(b.start)?;
    input.read_vec(b.size(), limit, &format!("{} box", b.name()))
}

/// Split a FullBox body into (version, flags, rest).
pub fn full_box(body: &[u8], at: u64) -> Result<(u8, u32, &[u8])> {
    if body.len() < 4 {
        return Err(CodecError::corrupt(at, "FullBox without version and flags"));
    }
    let flags = u32::from_be_bytes([0, body[1], body[2], body[3]]);
    Ok((body[0], flags, &body[4..]))
}

/// Whether a `meta` body starts with FullBox version/flags (ISO) or directly with a child box
/// (QuickTime): QuickTime's `meta` has none, and its first child is normally `hdlr`.
pub fn meta_is_full_box(body: &[u8]) -> bool {
    let looks_like_box_at = |i: usize| -> bool {
        body.len() >= i + 8
            && body[i + 4..i + 8].iter().all(|b| b.is_ascii_alphanumeric())
            && u32::from_be_bytes([body[i], body[i + 1], body[i + 2], body[i + 3]]) as usize >= 8
    };
    // ISO: version 0 and flags 0 read as a box size of 0, never a valid child header.
    !looks_like_box_at(0)
}

/// Serialise a box: the 32-bit size form, or the 64-bit one when the body needs it.
pub fn make_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let total = body.len() as u64 + 8;
    let mut out = Vec::with_capacity(body.len() + 16);
    if total <= u32::MAX as u64 {
        out.extend_from_slice(&(total as u32).to_be_bytes());
        out.extend_from_slice(kind);
    } else {
        out.extend_from_slice(&1u32.to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(&(total + 8).to_be_bytes());
    }
    out.extend_from_slice(body);
    out
}

/// Re-serialise a box with a new body, keeping its header form (64-bit size and `uuid`
/// extended type are kept).
pub fn rebuild_box(orig: &[u8], b: &BoxRef, body: &[u8]) -> Vec<u8> {
    let header = &orig[b.start as usize..b.body_start() as usize];
    let total = header.len() as u64 + body.len() as u64;
    let mut out = Vec::with_capacity(total as usize);
    if header.len() >= 16 && header[0..4] == [0, 0, 0, 1] {
        out.extend_from_slice(&header[0..8]);
        out.extend_from_slice(&total.to_be_bytes());
        out.extend_from_slice(&header[16..]);
    } else if total <= u32::MAX as u64 {
        out.extend_from_slice(&(total as u32).to_be_bytes());
        out.extend_from_slice(&header[4..]);
    } else {
        out.extend_from_slice(&1u32.to_be_bytes());
        out.extend_from_slice(&header[4..8]);
        out.extend_from_slice(&(total + 8).to_be_bytes());
        out.extend_from_slice(&header[8..]);
    }
    out.extend_from_slice(body);
    out
}

/// A `free` box of exactly `n` bytes (n >= 8).
pub fn free_box(n: u64) -> Vec<u8> {
    make_box(b"free", &vec![0u8; (n - 8) as usize])
}

/// Big-endian unsigned integer of `n` bytes (0, 4 or 8, as `iloc` field sizes) at `pos`.
pub fn read_uint(data: &[u8], pos: &mut usize, n: usize, at: u64) -> Result<u64> {
    if *pos + n > data.len() {
        return Err(CodecError::corrupt(at + *pos as u64, "truncated field"));
    }
    let mut v = 0u64;
    for &b in &data[*pos..*pos + n] {
        v = (v << 8) | b as u64;
    }
    *pos += n;
    Ok(v)
}

/// Pad an XMP packet with spaces to exactly `len` bytes (XMP allows whitespace padding before
/// the closing `<?xpacket end` instruction, or after the root element), so that a box or item
/// keeps its size. Returns None when the packet is already longer.
pub fn pad_packet(packet: &str, len: usize) -> Option<Vec<u8>> {
    if packet.len() > len {
        return None;
    }
    let pad = " ".repeat(len - packet.len());
    let mut out = String::with_capacity(len);
    match packet.rfind("<?xpacket end") {
        Some(i) => {
            out.push_str(&packet[..i]);
            out.push_str(&pad);
            out.push_str(&packet[i..]);
        }
        None => {
            out.push_str(packet);
            out.push_str(&pad);
        }
    }
    Some(out.into_bytes())
}

/// Copy input bytes [start, end) to `out` with same-length byte patches applied (patch offsets
/// are input offsets, sorted, non-overlapping; parts outside the range are ignored). Used by
/// every container writer here that rewrites small structures inside streamed data.
pub fn copy_patched(
    input: &mut Input,
    out: &mut Output,
    start: u64,
    end: u64,
    patches: &[(u64, Vec<u8>)],
) -> Result<()> {
    let mut pos = start;
    for (off, bytes) in patches {
        let pend = off + bytes.len() as u64;
        if pend <= pos || *off >= end {
            continue;
        }
        let s = (*off).max(pos);
        let e = pend.min(end);
        input.seek_to(pos)?;
        input.copy_to(out, s - pos)?;
        out.write_all(&bytes[(s - off) as usize..(e - off) as usize])?;
        pos = e;
    }
    input.seek_to(pos)?;
    input.copy_to(out, end - pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_forms() {
        let data = [0, 0, 0, 8, b'f', b'r', b'e', b'e'];
        let b = children(&data, 0..8, 0, 0).unwrap();
        assert_eq!(b[0].end, 8);
        // size 0: to the parent's end
        let data = [0, 0, 0, 0, b'm', b'd', b'a', b't', 1, 2, 3];
        assert_eq!(children(&data, 0..11, 0, 0).unwrap()[0].end, 11);
        // size 1 with a 64-bit size of 16
        let mut d = vec![0, 0, 0, 1, b'm', b'd', b'a', b't'];
        d.extend_from_slice(&16u64.to_be_bytes());
        assert_eq!(children(&d, 0..16, 0, 0).unwrap()[0].header_len, 16);
        // size past the parent
        let data = [0, 0, 0, 9, b'f', b'r', b'e', b'e'];
        assert!(children(&data, 0..8, 0, 0).is_err());
        // size smaller than the header
        let data = [0, 0, 0, 4, b'f', b'r', b'e', b'e'];
        assert!(children(&data, 0..8, 0, 0).is_err());
        assert!(children(&data, 0..8, 0, limits::MAX_DEPTH + 1).is_err());
    }

    #[test]
    fn meta_forms() {
        let mut qt = vec![0, 0, 0, 33];
        qt.extend_from_slice(b"hdlr");
        assert!(!meta_is_full_box(&qt));
        let mut iso = vec![0, 0, 0, 0, 0, 0, 0, 33];
        iso.extend_from_slice(b"hdlr");
        assert!(meta_is_full_box(&iso));
    }
}
