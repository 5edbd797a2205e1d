//! TIFF/EXIF IFD structures, shared by JPEG (APP1 `Exif\0\0`), TIFF files and any other
//! container that embeds a TIFF-structured EXIF block.
//!
//! Two EXIF fields carry labels in the wild: `UserComment` (0x9286, in the Exif IFD; the image
//! guide's Annex B alternative, wrapped `{"AIGC":{...}}` expected) and `ImageDescription`
//! (0x010E, in IFD0; Tencent Cloud's pre-standard schema and a screenshot app). The parser is
//! bounded: entry counts are capped, every offset is checked against the bytes present, and each
//! IFD is visited once, so a pointer loop is an error rather than a hang.
//!
//! Only text that looks like a label (it mentions `AIGC` or a `"Label"` key) is reported, so
//! ordinary camera comments are not mistaken for labels.

use crate::error::{CodecError, Result};
use crate::io::{Input, Output};
use crate::label::ProblemCode;
use crate::limits;

/// Tag of `ImageDescription` (IFD0, ASCII).
pub const TAG_IMAGE_DESCRIPTION: u16 = 0x010E;
/// Tag of `XMLPacket` (IFD0, XMP in TIFF files).
pub const TAG_XMP: u16 = 0x02BC;
/// Tag of the Exif IFD pointer.
pub const TAG_EXIF_IFD: u16 = 0x8769;
/// Tag of `UserComment` (Exif IFD, UNDEFINED with an 8-byte character code).
pub const TAG_USER_COMMENT: u16 = 0x9286;

const CODE_ASCII: &[u8; 8] = b"ASCII\0\0\0";
const CODE_UNICODE: &[u8; 8] = b"UNICODE\0";
const CODE_JIS: &[u8; 8] = b"JIS\0\0\0\0\0";
const CODE_UNDEFINED: &[u8; 8] = &[0; 8];

/// Byte order of a TIFF structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    /// `II`
    Little,
    /// `MM`
    Big,
}

impl ByteOrder {
    /// A 16-bit value from 2 bytes.
    pub fn u16(self, b: [u8; 2]) -> u16 {
        match self {
            ByteOrder::Little => u16::from_le_bytes(b),
            ByteOrder::Big => u16::from_be_bytes(b),
        }
    }
    /// A 32-bit value from 4 bytes.
    pub fn u32(self, b: [u8; 4]) -> u32 {
        match self {
            ByteOrder::Little => u32::from_le_bytes(b),
            ByteOrder::Big => u32::from_be_bytes(b),
        }
    }
    /// The bytes of a 16-bit value.
    pub fn put_u16(self, v: u16) -> [u8; 2] {
        match self {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        }
    }
    /// The bytes of a 32-bit value.
    pub fn put_u32(self, v: u32) -> [u8; 4] {
        match self {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        }
    }
}

/// Random access to a TIFF structure, with offsets relative to its header.
pub trait ReadAt {
    /// Bytes available from the TIFF header on.
    fn size(&self) -> u64;
    /// The file offset of a TIFF-relative offset (for error messages).
    fn abs(&self, offset: u64) -> u64;
    /// Read `len` bytes at TIFF-relative `offset`; `what` names the structure.
    fn read_at(&mut self, offset: u64, len: u64, what: &str) -> Result<Vec<u8>>;
}

/// A TIFF structure held in memory (an EXIF segment), which started at file offset `base`.
pub struct Slice<'a> {
    /// The bytes, starting at the TIFF header.
    pub data: &'a [u8],
    /// File offset of `data[0]`.
    pub base: u64,
}

impl ReadAt for Slice<'_> {
    fn size(&self) -> u64 {
        self.data.len() as u64
    }
    fn abs(&self, offset: u64) -> u64 {
        self.base.saturating_add(offset)
    }
    fn read_at(&mut self, offset: u64, len: u64, what: &str) -> Result<Vec<u8>> {
        let end = offset.checked_add(len).filter(|e| *e <= self.size());
        match end {
            Some(end) => Ok(self.data[offset as usize..end as usize].to_vec()),
            None => Err(CodecError::corrupt(
                self.abs(offset),
                format!(
                    "{what} of {len} bytes at TIFF offset {offset} runs past the end of the EXIF data ({} bytes)",
                    self.size()
                ),
            )),
        }
    }
}

/// A whole TIFF file (the header is at file offset 0).
impl ReadAt for Input {
    fn size(&self) -> u64 {
        self.len()
    }
    fn abs(&self, offset: u64) -> u64 {
        offset
    }
    fn read_at(&mut self, offset: u64, len: u64, what: &str) -> Result<Vec<u8>> {
        if offset.saturating_add(len) > self.len() {
            return Err(CodecError::corrupt(
                offset,
                format!(
                    "truncated: {what} of {len} bytes runs past the end of the file ({} bytes)",
                    self.len()
                ),
            ));
        }
        self.seek_to(offset)?;
        self.read_vec(len, limits::MAX_METADATA_BYTES, what)
    }
}

/// One 12-byte IFD entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Tag number.
    pub tag: u16,
    /// Field type (1 BYTE, 2 ASCII, 7 UNDEFINED, ...).
    pub typ: u16,
    /// Number of values.
    pub count: u32,
    /// The 4-byte value-or-offset field, as stored.
    pub raw: [u8; 4],
    /// TIFF-relative offset of the entry.
    pub pos: u64,
}

impl Entry {
    /// Bytes of the value, if the type is known.
    pub fn byte_len(&self) -> Option<u64> {
        let size = match self.typ {
            1 | 2 | 6 | 7 => 1,
            3 | 8 => 2,
            4 | 9 | 11 | 13 => 4,
            5 | 10 | 12 => 8,
            _ => return None,
        };
        Some(size * self.count as u64)
    }

    /// TIFF-relative offset of the value: inline in the entry when it fits in 4 bytes.
    pub fn value_offset(&self, order: ByteOrder) -> u64 {
        match self.byte_len() {
            Some(n) if n <= 4 => self.pos + 8,
            _ => order.u32(self.raw) as u64,
        }
    }

    /// The 12 bytes of this entry.
    pub fn to_bytes(&self, order: ByteOrder) -> [u8; 12] {
        let mut b = [0u8; 12];
        b[0..2].copy_from_slice(&order.put_u16(self.tag));
        b[2..4].copy_from_slice(&order.put_u16(self.typ));
        b[4..8].copy_from_slice(&order.put_u32(self.count));
        b[8..12].copy_from_slice(&self.raw);
        b
    }
}

/// One image file directory.
#[derive(Debug, Clone)]
pub struct Ifd {
    /// TIFF-relative offset of the entry count.
    pub offset: u64,
    /// The entries, as stored.
    pub entries: Vec<Entry>,
    /// Offset of the next IFD (0 for none), as stored.
    pub next: u32,
}

impl Ifd {
    /// The first entry with `tag`.
    pub fn get(&self, tag: u16) -> Option<&Entry> {
        self.entries.iter().find(|e| e.tag == tag)
    }
}

/// The 8-byte TIFF header.
#[derive(Debug, Clone, Copy)]
pub struct Header {
    /// `II` or `MM`.
    pub order: ByteOrder,
    /// Offset of IFD0.
    pub ifd0: u32,
}

/// Parse the TIFF header. BigTIFF is refused as unsupported.
pub fn read_header(src: &mut impl ReadAt) -> Result<Header> {
    let h = src.read_at(0, 8, "TIFF header")?;
    let order = match &h[0..2] {
        b"II" => ByteOrder::Little,
        b"MM" => ByteOrder::Big,
        _ => {
            return Err(CodecError::corrupt(
                src.abs(0),
                format!(
                    "TIFF byte order mark {:02x?} is neither II nor MM",
                    &h[0..2]
                ),
            ))
        }
    };
    match order.u16([h[2], h[3]]) {
        42 => {}
        43 => {
            return Err(CodecError::Unsupported(
                "BigTIFF (magic 43) is not supported".into(),
            ))
        }
        other => {
            return Err(CodecError::corrupt(
                src.abs(2),
                format!("TIFF magic number is {other}, not 42"),
            ))
        }
    }
    Ok(Header {
        order,
        ifd0: order.u32([h[4], h[5], h[6], h[7]]),
    })
}

/// Read the IFD at TIFF-relative `offset`.
pub fn read_ifd(src: &mut impl ReadAt, order: ByteOrder, offset: u64) -> Result<Ifd> {
    if offset < 8 || offset >= src.size() {
        return Err(CodecError::corrupt(
            src.abs(offset),
            format!(
                "IFD offset {offset} lies outside the TIFF data ({} bytes)",
                src.size()
            ),
        ));
    }
    let n = src.read_at(offset, 2, "IFD entry count")?;
    let count = order.u16([n[0], n[1]]) as usize;
    if count > limits::MAX_IFD_ENTRIES {
        return Err(CodecError::limit(
            src.abs(offset),
            format!(
                "IFD with {count} entries (limit {})",
                limits::MAX_IFD_ENTRIES
            ),
        ));
    }
    let body = src.read_at(offset + 2, count as u64 * 12 + 4, "IFD")?;
    let mut entries = Vec::with_capacity(count);
    for (i, e) in body.chunks_exact(12).take(count).enumerate() {
        entries.push(Entry {
            tag: order.u16([e[0], e[1]]),
            typ: order.u16([e[2], e[3]]),
            count: order.u32([e[4], e[5], e[6], e[7]]),
            raw: [e[8], e[9], e[10], e[11]],
            pos: offset + 2 + 12 * i as u64,
        });
    }
    let t = &body[count * 12..];
    Ok(Ifd {
        offset,
        entries,
        next: order.u32([t[0], t[1], t[2], t[3]]),
    })
}

/// An EXIF text field that holds (or looks like it holds) a label.
#[derive(Debug, Clone)]
pub struct LabelText {
    /// `TAG_USER_COMMENT` or `TAG_IMAGE_DESCRIPTION`.
    pub tag: u16,
    /// TIFF-relative offset of the value bytes.
    pub value_offset: u64,
    /// Length of the value bytes.
    pub value_len: u64,
    /// The decoded text.
    pub text: String,
    /// Carrier-level problems (missing character code...).
    pub notes: Vec<(ProblemCode, String)>,
}

impl LabelText {
    /// Short carrier suffix, e.g. `EXIF/UserComment`.
    pub fn carrier(&self) -> &'static str {
        if self.tag == TAG_USER_COMMENT {
            "EXIF/UserComment"
        } else {
            "EXIF/ImageDescription"
        }
    }

    /// Bytes of the same length that blank this value: the character code (ASCII when it was
    /// missing or UTF-16) followed by spaces for UserComment; spaces and a final NUL for
    /// ImageDescription. Offsets elsewhere in the structure do not move.
    pub fn blanked(&self, original: &[u8]) -> Vec<u8> {
        let mut b = vec![b' '; original.len()];
        if self.tag == TAG_USER_COMMENT {
            if b.len() >= 8 {
                let keep = &original[..8];
                let code: &[u8] = if keep == CODE_ASCII || keep == CODE_UNDEFINED {
                    keep
                } else {
                    CODE_ASCII
                };
                b[..8].copy_from_slice(code);
            }
        } else if let Some(last) = b.last_mut() {
            *last = 0;
        }
        b
    }
}

/// What a walk of the IFD0 / Exif IFD tree found.
#[derive(Debug, Clone)]
pub struct Scan {
    /// The header.
    pub header: Header,
    /// IFD0.
    pub ifd0: Ifd,
    /// The label-like text fields, in IFD order.
    pub texts: Vec<LabelText>,
    /// TIFF-relative (offset, length) of the header and of every IFD read.
    pub structure: Vec<(u64, u64)>,
}

impl Scan {
    /// Whether blanking the label texts in place would overwrite the header or an IFD (a
    /// hostile or broken file can point a value at its own directory): such a file is refused
    /// for writing, since the blanked copy would no longer parse.
    pub fn texts_overlap_structure(&self) -> bool {
        // A value of up to 4 bytes is stored inside its own entry, which blanking it leaves
        // intact; longer values live elsewhere and must not touch the directories.
        self.texts
            .iter()
            .any(|t| t.value_len > 4 && self.overlaps_structure(t.value_offset, t.value_len))
    }

    /// Whether the TIFF-relative byte range `offset..offset + len` overlaps the header or an IFD.
    pub fn overlaps_structure(&self, offset: u64, len: u64) -> bool {
        let end = offset.saturating_add(len);
        self.structure
            .iter()
            .any(|&(s, l)| offset < s.saturating_add(l) && s < end)
    }
}

/// Walk IFD0 and the Exif IFD and collect the label-like text fields.
pub fn scan(src: &mut impl ReadAt) -> Result<Scan> {
    let header = read_header(src)?;
    let order = header.order;
    let ifd0 = read_ifd(src, order, header.ifd0 as u64)?;
    let mut visited = vec![ifd0.offset];
    let mut structure = vec![(0, 8), ifd_range(&ifd0)];
    let mut texts = Vec::new();
    // IFDs still to look at: IFD0 first, then every Exif IFD pointer found (normally one).
    let mut queue = vec![ifd0.clone()];
    // Entries may all point at one large value: bound the bytes read and the labels collected
    // over the whole walk, not only per value.
    let mut text_budget = limits::MAX_METADATA_BYTES;
    while let Some(ifd) = queue.pop() {
        for e in &ifd.entries {
            match e.tag {
                TAG_IMAGE_DESCRIPTION | TAG_USER_COMMENT => {
                    let len = e.byte_len().unwrap_or(0);
                    text_budget = text_budget.checked_sub(len).ok_or_else(|| {
                        CodecError::limit(
                            src.abs(e.pos),
                            format!(
                                "EXIF text fields total more than {} bytes",
                                limits::MAX_METADATA_BYTES
                            ),
                        )
                    })?;
                    if let Some(t) = read_text(src, order, e)? {
                        if texts.len() == limits::MAX_LABELS {
                            return Err(CodecError::limit(
                                src.abs(e.pos),
                                format!("more than {} label-like EXIF texts", limits::MAX_LABELS),
                            ));
                        }
                        texts.push(t);
                    }
                }
                TAG_EXIF_IFD => {
                    let target = order.u32(e.raw) as u64;
                    if target == 0 {
                        continue;
                    }
                    if visited.contains(&target) {
                        return Err(CodecError::corrupt(
                            src.abs(e.pos),
                            format!(
                                "Exif IFD pointer loops back to the IFD at TIFF offset {target}"
                            ),
                        ));
                    }
                    if visited.len() >= limits::MAX_IFDS {
                        return Err(CodecError::limit(src.abs(e.pos), "too many IFDs"));
                    }
                    visited.push(target);
                    let ifd = read_ifd(src, order, target)?;
                    structure.push(ifd_range(&ifd));
                    queue.push(ifd);
                }
                _ => {}
            }
        }
    }
    Ok(Scan {
        header,
        ifd0,
        texts,
        structure,
    })
}

/// TIFF-relative (offset, length) of an IFD: count, entries, next-IFD offset.
fn ifd_range(ifd: &Ifd) -> (u64, u64) {
    (ifd.offset, 2 + 12 * ifd.entries.len() as u64 + 4)
}

fn read_text(src: &mut impl ReadAt, order: ByteOrder, e: &Entry) -> Result<Option<LabelText>> {
    let Some(len) = e.byte_len() else {
        return Ok(None);
    };
    if len == 0 {
        return Ok(None);
    }
    let at = e.value_offset(order);
    let what = if e.tag == TAG_USER_COMMENT {
        "EXIF UserComment"
    } else {
        "EXIF ImageDescription"
    };
    let raw = src.read_at(at, len, what)?;
    let mut notes = Vec::new();
    let text = if e.tag == TAG_USER_COMMENT {
        decode_user_comment(&raw, order, &mut notes)
    } else {
        String::from_utf8_lossy(&raw).into_owned()
    };
    // EXIF ASCII values end in NUL and fixed-size fields are NUL/space padded: container padding.
    let text = text.trim_end_matches(['\0', ' ']).to_string();
    let looks_like_label = {
        let t = text.trim();
        t.contains("AIGC") || t.contains("\"Label\"")
    };
    if !looks_like_label {
        return Ok(None);
    }
    if e.tag == TAG_USER_COMMENT {
        notes.insert(
            0,
            (
                ProblemCode::NonstandardCarrier,
                "EXIF UserComment (image guide Annex B alternative); the standard carrier is XMP TC260:AIGC".into(),
            ),
        );
    } else {
        notes.insert(
            0,
            (
                ProblemCode::NonstandardCarrier,
                "EXIF ImageDescription (Tencent pre-standard placement); the standard carrier is XMP TC260:AIGC".into(),
            ),
        );
    }
    Ok(Some(LabelText {
        tag: e.tag,
        value_offset: at,
        value_len: len,
        text,
        notes,
    }))
}

/// Decode a UserComment value: 8-byte character code, then text.
fn decode_user_comment(
    raw: &[u8],
    order: ByteOrder,
    notes: &mut Vec<(ProblemCode, String)>,
) -> String {
    let code = raw.get(..8);
    match code {
        Some(c) if c == CODE_ASCII || c == CODE_UNDEFINED => {
            String::from_utf8_lossy(&raw[8..]).into_owned()
        }
        Some(c) if c == CODE_UNICODE => decode_utf16(&raw[8..], order),
        Some(c) if c == CODE_JIS => {
            notes.push((
                ProblemCode::ExifCharset,
                "UserComment character code is JIS; decoded as UTF-8".into(),
            ));
            String::from_utf8_lossy(&raw[8..]).into_owned()
        }
        _ => {
            notes.push((
                ProblemCode::ExifCharset,
                "UserComment has no 8-byte character code (ASCII/UNICODE/undefined) before the text; read as UTF-8".into(),
            ));
            String::from_utf8_lossy(raw).into_owned()
        }
    }
}

/// UTF-16 in the TIFF byte order unless a byte order mark says otherwise.
fn decode_utf16(b: &[u8], order: ByteOrder) -> String {
    let (order, b) = match b {
        [0xFE, 0xFF, rest @ ..] => (ByteOrder::Big, rest),
        [0xFF, 0xFE, rest @ ..] => (ByteOrder::Little, rest),
        _ => (order, b),
    };
    let units: Vec<u16> = b.chunks_exact(2).map(|c| order.u16([c[0], c[1]])).collect();
    String::from_utf16_lossy(&units)
}

/// Copy `input[start..end]` to `out`, replacing the byte ranges of `patches` (absolute file
/// offsets, same-length or not) with their bytes. Patches must lie inside the range and must
/// not overlap; they are applied in offset order.
pub fn copy_patched(
    input: &mut Input,
    out: &mut Output,
    start: u64,
    end: u64,
    patches: &mut [(u64, u64, Vec<u8>)],
) -> Result<()> {
    use std::io::Write;
    patches.sort_by_key(|p| p.0);
    let mut pos = start;
    for (at, len, bytes) in patches.iter() {
        if *at < pos || at.saturating_add(*len) > end {
            return Err(CodecError::corrupt(
                *at,
                "overlapping or out-of-range structures to rewrite",
            ));
        }
        input.seek_to(pos)?;
        input.copy_to(out, at - pos)?;
        out.write_all(bytes)?;
        pos = at + len;
    }
    input.seek_to(pos)?;
    input.copy_to(out, end - pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiff_le(ifd0: &[(u16, u16, u32, [u8; 4])], extra: &[u8]) -> Vec<u8> {
        let mut b = b"II*\0\x08\0\0\0".to_vec();
        b.extend_from_slice(&(ifd0.len() as u16).to_le_bytes());
        for (tag, typ, count, raw) in ifd0 {
            b.extend_from_slice(&tag.to_le_bytes());
            b.extend_from_slice(&typ.to_le_bytes());
            b.extend_from_slice(&count.to_le_bytes());
            b.extend_from_slice(raw);
        }
        b.extend_from_slice(&[0; 4]);
        b.extend_from_slice(extra);
        b
    }

    #[test]
    fn user_comment_headers_decode() {
        let mut notes = Vec::new();
        let t = decode_user_comment(b"ASCII\0\0\0{\"AIGC\":{}}", ByteOrder::Little, &mut notes);
        assert_eq!(t, "{\"AIGC\":{}}");
        assert!(notes.is_empty());
        let mut u = b"UNICODE\0".to_vec();
        for c in "{\"AIGC\"}".encode_utf16() {
            u.extend_from_slice(&c.to_be_bytes());
        }
        assert_eq!(
            decode_user_comment(&u, ByteOrder::Big, &mut notes),
            "{\"AIGC\"}"
        );
        let t = decode_user_comment(b"{\"AIGC\":{}}", ByteOrder::Little, &mut notes);
        assert_eq!(t, "{\"AIGC\":{}}");
        assert_eq!(notes[0].0, ProblemCode::ExifCharset);
    }

    #[test]
    fn exif_pointer_loop_is_an_error() {
        // IFD0 at 8 whose Exif IFD pointer points back at IFD0.
        let b = tiff_le(&[(TAG_EXIF_IFD, 4, 1, 8u32.to_le_bytes())], &[]);
        let err = scan(&mut Slice { data: &b, base: 0 }).unwrap_err();
        assert!(err.to_string().contains("loops"), "{err}");
    }

    #[test]
    fn ordinary_descriptions_are_ignored_and_labels_found() {
        let desc = b"a cat\0";
        let b = tiff_le(&[(TAG_IMAGE_DESCRIPTION, 2, 6, 26u32.to_le_bytes())], desc);
        assert!(scan(&mut Slice { data: &b, base: 0 })
            .unwrap()
            .texts
            .is_empty());
        let desc = b"{\"AIGC\":{\"Label\":\"1\"}}\0";
        let b = tiff_le(
            &[(
                TAG_IMAGE_DESCRIPTION,
                2,
                desc.len() as u32,
                26u32.to_le_bytes(),
            )],
            desc,
        );
        let s = scan(&mut Slice { data: &b, base: 0 }).unwrap();
        assert_eq!(s.texts[0].text, "{\"AIGC\":{\"Label\":\"1\"}}");
    }

    #[test]
    fn entry_value_past_the_end_is_an_error() {
        let b = tiff_le(
            &[(TAG_IMAGE_DESCRIPTION, 2, 1000, 26u32.to_le_bytes())],
            b"x",
        );
        assert!(scan(&mut Slice { data: &b, base: 0 }).is_err());
    }
}
