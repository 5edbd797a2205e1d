//! JPEG: the label is the `TC260:AIGC` property of the XMP packet in an APP1 segment with the
//! header `http://ns.adobe.com/xap/1.0/\0` (image guide PG-20259A). Also read: Extended XMP
//! (reassembled), EXIF `UserComment`/`ImageDescription` in the APP1 `Exif\0\0` segment (the
//! guide's Annex B alternative; Tencent), an APP11 segment `AIGC` + JSON (npm
//! `image-aigc-metadata`, written before APP0) and any APPn/COM payload starting `AIGC{`.
//!
//! Only the segments before the first SOS are parsed; the entropy-coded data and everything
//! after it is copied byte for byte. Writing updates the first XMP packet in place, or inserts
//! a new APP1 XMP segment after the leading APP0/APP1 run; drops the `AIGC` blobs; and blanks
//! an EXIF UserComment/ImageDescription label with spaces of the same length, so no EXIF offset
//! moves. A packet that no longer fits one APP1 segment (over 64 KB) is split into StandardXMP
//! (the label) and ExtendedXMP (the rest), per the XMP specification part 3.
//!
//! Reading also walks the scans to EOI (one pass over the file): a file cut short inside its
//! entropy-coded data keeps its label but gets a `truncated-entropy-data` file problem.

use std::io::Write;

use super::exif::{self, Slice};
use super::one_label::{self, Layout, Role, Unit, UnitWriter};
use super::{xmp, Format, Found};
use crate::error::{CodecError, Result};
use crate::io::{Input, Output};
use crate::label::{CarrierKind, ProblemCode};
use crate::limits;
use crate::media::{Modality, PayloadMethod};

const XMP_HEADER: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
const EXT_XMP_HEADER: &[u8] = b"http://ns.adobe.com/xmp/extension/\0";
const EXIF_HEADER: &[u8] = b"Exif\0\0";
const APP0: u8 = 0xE0;
const APP1: u8 = 0xE1;
const APP11: u8 = 0xEB;
const COM: u8 = 0xFE;
const SOS: u8 = 0xDA;
const EOI: u8 = 0xD9;

/// The JPEG container.
pub struct Jpeg;

/// One marker segment before the first SOS.
#[derive(Debug, Clone, Copy)]
struct Segment {
    /// Offset of the 0xFF of the marker.
    offset: u64,
    marker: u8,
    /// Marker, length field and payload; 2 for a marker without a length.
    total: u64,
}

impl Segment {
    fn payload_offset(&self) -> u64 {
        self.offset + 4
    }
    fn payload_len(&self) -> u64 {
        self.total.saturating_sub(4)
    }
    fn end(&self) -> u64 {
        self.offset + self.total
    }
    fn is_app_or_com(&self) -> bool {
        (0xE0..=0xEF).contains(&self.marker) || self.marker == COM
    }
}

/// The segments from SOI up to (not including) the first SOS, and the offset of that SOS (or
/// of an EOI that comes first).
fn segments(input: &mut Input) -> Result<(Vec<Segment>, u64)> {
    input.seek_to(0)?;
    let soi: [u8; 2] = input.read_array()?;
    if soi != [0xFF, 0xD8] {
        return Err(CodecError::corrupt(0, "not a JPEG (no SOI marker)"));
    }
    let mut segs = Vec::new();
    let mut pos = 2u64;
    for _ in 0..limits::MAX_ENTRIES {
        if pos + 2 > input.len() {
            return Err(CodecError::corrupt(
                pos,
                "truncated: the file ends before the start of scan (SOS)",
            ));
        }
        input.seek_to(pos)?;
        let m: [u8; 2] = input.read_array()?;
        if m[0] != 0xFF {
            return Err(CodecError::corrupt(
                pos,
                format!("expected a marker (0xFF), found 0x{:02x}", m[0]),
            ));
        }
        let marker = m[1];
        match marker {
            0xFF => {
                // A fill byte before the marker: copied as it is.
                pos += 1;
                continue;
            }
            SOS | EOI => return Ok((segs, pos)),
            0x01 | 0xD0..=0xD7 => {
                segs.push(Segment {
                    offset: pos,
                    marker,
                    total: 2,
                });
                pos += 2;
                continue;
            }
            0x00 | 0xD8 => {
                return Err(CodecError::corrupt(
                    pos,
                    format!("unexpected marker 0xFF{marker:02X} before the first scan"),
                ))
            }
            _ => {}
        }
        let l: [u8; 2] = input.read_array()?;
        let len = u16::from_be_bytes(l) as u64;
        if len < 2 {
            return Err(CodecError::corrupt(
                pos + 2,
                format!("segment 0xFF{marker:02X} has length {len} (minimum 2)"),
            ));
        }
        let seg = Segment {
            offset: pos,
            marker,
            total: len + 2,
        };
        if seg.end() > input.len() {
            return Err(CodecError::corrupt(
                pos,
                format!(
                    "truncated: segment 0xFF{marker:02X} of {len} bytes runs past the end of the file ({} bytes)",
                    input.len()
                ),
            ));
        }
        segs.push(seg);
        pos = seg.end();
    }
    Err(CodecError::limit(pos, "too many JPEG segments"))
}

/// What a segment is, as far as labels are concerned.
enum Kind {
    /// Standard XMP packet.
    Xmp(String),
    /// One Extended XMP chunk.
    ExtXmp {
        guid: [u8; 32],
        full_len: u32,
        chunk_offset: u32,
        data: Vec<u8>,
    },
    /// The TIFF structure of an Exif segment, with its label-like fields.
    Exif {
        tiff: Vec<u8>,
        texts: Vec<exif::LabelText>,
        /// Whether a text value overlaps an IFD (blanking it would break the EXIF).
        overlaps: bool,
    },
    /// An `AIGC` / `AIGC{` blob.
    Blob {
        text: String,
        app11_prefix: bool,
    },
    Other,
}

fn xmp_text(bytes: &[u8], at: u64) -> Result<String> {
    let s = std::str::from_utf8(bytes)
        .map_err(|e| CodecError::corrupt(at, format!("XMP packet is not UTF-8: {e}")))?;
    Ok(s.trim_end_matches('\0').to_string())
}

fn classify(input: &mut Input, seg: &Segment) -> Result<Kind> {
    if !seg.is_app_or_com() || seg.total < 4 {
        return Ok(Kind::Other);
    }
    input.seek_to(seg.payload_offset())?;
    let head = input.peek(40.min(seg.payload_len() as usize))?;
    let wanted = (seg.marker == APP1
        && (head.starts_with(XMP_HEADER)
            || head.starts_with(EXT_XMP_HEADER)
            || head.starts_with(EXIF_HEADER)))
        || (seg.marker == APP11 && head.starts_with(b"AIGC"))
        || head.starts_with(b"AIGC{");
    if !wanted {
        return Ok(Kind::Other);
    }
    let at = seg.payload_offset();
    let data = input.read_vec(seg.payload_len(), limits::MAX_METADATA_BYTES, "APP segment")?;
    if seg.marker == APP1 && data.starts_with(XMP_HEADER) {
        return Ok(Kind::Xmp(xmp_text(&data[XMP_HEADER.len()..], at)?));
    }
    if seg.marker == APP1 && data.starts_with(EXT_XMP_HEADER) {
        let h = EXT_XMP_HEADER.len();
        if data.len() < h + 40 {
            return Err(CodecError::corrupt(at, "Extended XMP segment too short"));
        }
        let mut guid = [0u8; 32];
        guid.copy_from_slice(&data[h..h + 32]);
        let full_len = u32::from_be_bytes([data[h + 32], data[h + 33], data[h + 34], data[h + 35]]);
        let chunk_offset =
            u32::from_be_bytes([data[h + 36], data[h + 37], data[h + 38], data[h + 39]]);
        return Ok(Kind::ExtXmp {
            guid,
            full_len,
            chunk_offset,
            data: data[h + 40..].to_vec(),
        });
    }
    if seg.marker == APP1 && data.starts_with(EXIF_HEADER) {
        let tiff = data[EXIF_HEADER.len()..].to_vec();
        let scan = exif::scan(&mut Slice {
            data: &tiff,
            base: at + EXIF_HEADER.len() as u64,
        })?;
        let overlaps = scan.texts_overlap_structure();
        return Ok(Kind::Exif {
            tiff,
            texts: scan.texts,
            overlaps,
        });
    }
    let app11_prefix = seg.marker == APP11;
    Ok(Kind::Blob {
        text: String::from_utf8_lossy(&data[4..]).into_owned(),
        app11_prefix,
    })
}

fn segment_name(marker: u8) -> String {
    if marker == COM {
        "COM".into()
    } else {
        format!("APP{}", marker - 0xE0)
    }
}

/// Extended XMP chunks of one GUID, reassembled when complete.
struct ExtXmp {
    guid: [u8; 32],
    first_offset: u64,
    full_len: u32,
    chunks: Vec<(u32, Vec<u8>)>,
}

impl ExtXmp {
    fn add(
        groups: &mut Vec<ExtXmp>,
        seg: &Segment,
        guid: [u8; 32],
        full: u32,
        off: u32,
        data: Vec<u8>,
    ) -> Result<()> {
        if full as u64 > limits::MAX_METADATA_BYTES {
            return Err(CodecError::limit(
                seg.offset,
                format!("Extended XMP of {full} bytes exceeds the limit"),
            ));
        }
        match groups.iter_mut().find(|g| g.guid == guid) {
            Some(g) => g.chunks.push((off, data)),
            None => groups.push(ExtXmp {
                guid,
                first_offset: seg.offset,
                full_len: full,
                chunks: vec![(off, data)],
            }),
        }
        Ok(())
    }

    /// The packet, when the chunks cover it exactly.
    fn packet(&mut self) -> Option<Vec<u8>> {
        self.chunks.sort_by_key(|c| c.0);
        // The declared length is only trusted for an allocation once the chunks present add
        // up to it.
        let present: u64 = self.chunks.iter().map(|c| c.1.len() as u64).sum();
        if present != self.full_len as u64 {
            return None;
        }
        let mut out = Vec::with_capacity(self.full_len as usize);
        for (off, data) in &self.chunks {
            if *off as usize != out.len() {
                return None;
            }
            out.extend_from_slice(data);
        }
        (out.len() == self.full_len as usize).then_some(out)
    }
}

fn write_segment(out: &mut Output, marker: u8, parts: &[&[u8]]) -> Result<()> {
    let len: usize = 2 + parts.iter().map(|p| p.len()).sum::<usize>();
    let len = u16::try_from(len).map_err(|_| {
        CodecError::Unsupported(format!(
            "a JPEG segment holds at most 65533 bytes; this one would need {}",
            len - 2
        ))
    })?;
    out.write_all(&[0xFF, marker])?;
    out.write_all(&len.to_be_bytes())?;
    for p in parts {
        out.write_all(p)?;
    }
    Ok(())
}

/// Largest XMP packet in one standard APP1 segment.
const MAX_STANDARD_XMP: usize = 65535 - 2 - XMP_HEADER.len();

fn write_xmp(out: &mut Output, packet: &str) -> Result<()> {
    if packet.len() > MAX_STANDARD_XMP {
        return Err(CodecError::Unsupported(format!(
            "the XMP packet would be {} bytes, more than the {MAX_STANDARD_XMP} bytes of a standard APP1 XMP segment",
            packet.len()
        )));
    }
    write_segment(out, APP1, &[XMP_HEADER, packet.as_bytes()])
}

/// Write `packet` (which holds the label `json`) in one standard XMP segment when it fits;
/// otherwise split it as the XMP specification part 3 (§1.1.3.1) says: the StandardXMP is a
/// small packet with the label (so a reader without Extended XMP support still finds it) and
/// `xmpNote:HasExtendedXMP` = the GUID, and everything else is the ExtendedXMP, serialised
/// without a packet wrapper, in APP1 segments `http://ns.adobe.com/xmp/extension/\0` + GUID
/// (32 upper-case hex digits of the ExtendedXMP's MD5) + full length + offset (32-bit big
/// endian) + a chunk, written right after the StandardXMP.
fn write_xmp_with_label(out: &mut Output, packet: &str, json: &str) -> Result<()> {
    if packet.len() <= MAX_STANDARD_XMP {
        return write_xmp(out, packet);
    }
    if packet.contains("HasExtendedXMP") {
        return Err(CodecError::Unsupported(format!(
            "the XMP packet would be {} bytes, more than one APP1 segment holds, and it already \
             refers to an Extended XMP; rewriting that is not implemented",
            packet.len()
        )));
    }
    let rest = xmp::remove_labels(packet).map_err(xmp::error_at(0))?;
    // Without the packet wrapper (`<?xpacket ...?>`), as part 3 asks of the ExtendedXMP.
    let extended = match (rest.find("<x:xmpmeta"), rest.rfind("</x:xmpmeta>")) {
        (Some(s), Some(e)) if s < e => &rest[s..e + "</x:xmpmeta>".len()],
        _ => rest.as_str(),
    };
    let guid: String = md5(extended.as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    let standard = xmp::new_packet(json).replacen(
        "<rdf:Description rdf:about=\"\"",
        &format!(
            "<rdf:Description rdf:about=\"\" xmlns:xmpNote=\"http://ns.adobe.com/xmp/note/\" xmpNote:HasExtendedXMP=\"{guid}\""
        ),
        1,
    );
    write_xmp(out, &standard)?;
    let full_len = u32::try_from(extended.len())
        .map_err(|_| CodecError::Unsupported("Extended XMP over 4 GiB".into()))?;
    let chunk_max = 65535 - 2 - EXT_XMP_HEADER.len() - 32 - 8;
    for (i, chunk) in extended.as_bytes().chunks(chunk_max).enumerate() {
        let offset = (i * chunk_max) as u32;
        write_segment(
            out,
            APP1,
            &[
                EXT_XMP_HEADER,
                guid.as_bytes(),
                &full_len.to_be_bytes(),
                &offset.to_be_bytes(),
                chunk,
            ],
        )?;
    }
    Ok(())
}

/// MD5 (RFC 1321), only for the Extended XMP GUID the XMP specification prescribes (an
/// identifier, not a security measure).
fn md5(data: &[u8]) -> [u8; 16] {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    // K[i] = floor(abs(sin(i + 1)) * 2^32).
    let k: Vec<u32> = (0..64)
        .map(|i| ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32)
        .collect();
    let mut state: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&((data.len() as u64).wrapping_mul(8)).to_le_bytes());
    for block in message.chunks_exact(64) {
        let m: Vec<u32> = block
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let [mut a, mut b, mut c, mut d] = state;
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let rotated = a
                .wrapping_add(f)
                .wrapping_add(k[i])
                .wrapping_add(m[g])
                .rotate_left(S[i]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(rotated);
        }
        for (s, v) in state.iter_mut().zip([a, b, c, d]) {
            *s = s.wrapping_add(v);
        }
    }
    let mut out = [0u8; 16];
    for (i, s) in state.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&s.to_le_bytes());
    }
    out
}

/// Walk the scans from the first SOS (or EOI) at `start` to EOI: the entropy-coded data of each
/// scan up to its next marker, and the segments between scans (progressive JPEGs have many).
/// `Some(message)` when the file ends before EOI; `None` when EOI is there, or when the data
/// after the first scan is not a marker structure this walk follows (then nothing is claimed).
/// Bounded: one pass over the file in 64 KiB reads, at most [`limits::MAX_ENTRIES`] markers.
fn missing_eoi(input: &mut Input, start: u64) -> Result<Option<String>> {
    let len = input.len();
    let ends_at = |what: &str| {
        Some(format!("the file ends at byte {len} {what}, before the end-of-image marker (EOI): the picture is cut short"))
    };
    let mut pos = start;
    for _ in 0..limits::MAX_ENTRIES {
        if pos + 2 > len {
            return Ok(ends_at("after a scan"));
        }
        input.seek_to(pos)?;
        let [ff, marker] = input.read_array()?;
        if ff != 0xFF {
            return Ok(None);
        }
        match marker {
            EOI => return Ok(None),
            0xFF => {
                pos += 1;
                continue;
            }
            0x01 | 0xD0..=0xD7 => {
                pos += 2;
                continue;
            }
            _ => {}
        }
        if pos + 4 > len {
            return Ok(ends_at(&format!(
                "inside segment 0xFF{marker:02X} at byte {pos}"
            )));
        }
        let seg_len = u16::from_be_bytes(input.read_array()?) as u64;
        let end = pos + 2 + seg_len;
        if end > len {
            return Ok(ends_at(&format!(
                "inside segment 0xFF{marker:02X} at byte {pos}"
            )));
        }
        pos = end;
        if marker == SOS {
            match next_marker(input, pos)? {
                Some(at) => pos = at,
                None => {
                    return Ok(ends_at(&format!(
                        "inside the entropy-coded data of the scan that starts at byte {}",
                        end - seg_len - 2
                    )))
                }
            }
        }
    }
    Ok(None)
}

/// The offset of the first marker at or after `pos` in entropy-coded data: 0xFF followed by a
/// byte other than 0x00 (a stuffed 0xFF), RST0-7 (restart markers inside the scan) or 0xFF
/// (fill). `None` when the file ends first.
fn next_marker(input: &mut Input, mut pos: u64) -> Result<Option<u64>> {
    use std::io::Read;
    let mut buf = vec![0u8; 64 * 1024];
    let mut previous_ff = false;
    input.seek_to(pos)?;
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            return Ok(None);
        }
        for (i, b) in buf[..n].iter().enumerate() {
            if previous_ff && !matches!(*b, 0x00 | 0xD0..=0xD7 | 0xFF) {
                return Ok(Some(pos + i as u64 - 1));
            }
            previous_ff = *b == 0xFF;
        }
        pos += n as u64;
    }
}

impl Format for Jpeg {
    fn id(&self) -> &'static str {
        "jpeg"
    }
    fn modality(&self, _head: &[u8]) -> Modality {
        Modality::Image
    }
    fn payload(&self) -> PayloadMethod {
        PayloadMethod::DecodedImage
    }
    fn media_types(&self) -> &'static [&'static str] {
        &["image/jpeg"]
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["jpg", "jpeg", "jpe", "jfif"]
    }
    fn carrier(&self) -> &'static str {
        "APP1 XMP segment (http://ns.adobe.com/xap/1.0/), XMP property TC260:AIGC (element form), after the leading APP0/APP1 segments"
    }
    fn sniff(&self, head: &[u8]) -> bool {
        head.starts_with(&[0xFF, 0xD8, 0xFF])
    }

    fn file_problems(&self, input: &mut Input) -> Result<Vec<(ProblemCode, String)>> {
        let (_, sos) = segments(input)?;
        Ok(missing_eoi(input, sos)?
            .map(|m| (ProblemCode::TruncatedEntropyData, m))
            .into_iter()
            .collect())
    }

    fn read(&self, input: &mut Input) -> Result<Vec<Found>> {
        let (segs, _) = segments(input)?;
        let mut found = Vec::new();
        let mut ext = Vec::new();
        for seg in &segs {
            match classify(input, seg)? {
                Kind::Xmp(packet) => {
                    for (text, notes) in
                        xmp::find_labels(&packet).map_err(xmp::error_at(seg.payload_offset()))?
                    {
                        let mut f = Found::named("jpeg/APP1/XMP", seg.offset, text);
                        f.notes = notes;
                        found.push(f);
                    }
                }
                Kind::ExtXmp {
                    guid,
                    full_len,
                    chunk_offset,
                    data,
                } => ExtXmp::add(&mut ext, seg, guid, full_len, chunk_offset, data)?,
                Kind::Exif { texts, .. } => {
                    for t in texts {
                        found.push(Found {
                            carrier: format!("jpeg/APP1/{}", t.carrier()),
                            kind: CarrierKind::Unnamed,
                            text: t.text,
                            offset: seg.offset,
                            notes: t.notes,
                        });
                    }
                }
                Kind::Blob { text, app11_prefix } => {
                    let name = segment_name(seg.marker);
                    let f = if app11_prefix {
                        Found::named(format!("jpeg/{name}/AIGC"), seg.offset, text).note(
                            ProblemCode::NonstandardCarrier,
                            format!("{name} segment starting with ASCII AIGC (npm image-aigc-metadata); the standard carrier is APP1 XMP TC260:AIGC"),
                        )
                    } else {
                        Found::named(format!("jpeg/{name}/AIGC{{"), seg.offset, text).note(
                            ProblemCode::NonstandardCarrier,
                            format!("{name} segment holding AIGC glued to JSON; the standard carrier is APP1 XMP TC260:AIGC"),
                        )
                    };
                    found.push(f);
                }
                Kind::Other => {}
            }
            super::check_label_count(&found, seg.offset)?;
        }
        for g in &mut ext {
            let Some(bytes) = g.packet() else { continue };
            let packet = xmp_text(&bytes, g.first_offset)?;
            for (text, notes) in xmp::find_labels(&packet).map_err(xmp::error_at(g.first_offset))? {
                let mut f = Found::named("jpeg/APP1/ExtendedXMP", g.first_offset, text);
                f.notes = notes;
                found.push(f);
            }
        }
        found.sort_by_key(|f| f.offset);
        Ok(found)
    }

    fn write(&self, input: &mut Input, out: &mut Output, json: &str) -> Result<()> {
        let (layout, sos) = layout(input)?;
        out.write_all(&[0xFF, 0xD8])?;
        one_label::rewrite(&layout, input, out, &Segments, json)?;
        // SOS, the entropy-coded data, EOI and anything after it: byte for byte.
        input.copy_rest_from(sos, out)
    }
}

/// The segments before SOS as units (fill bytes between them are kept units too), and the
/// offset of SOS. A new XMP segment goes before the first segment that is neither APP0 nor
/// APP1 (after JFIF and EXIF), or right before SOS. Labels in Extended XMP are refused.
fn layout(input: &mut Input) -> Result<(Layout, u64)> {
    let (segs, sos) = segments(input)?;
    let mut layout = Layout::new();
    let mut ext = Vec::new();
    let mut cursor = 2u64;
    for seg in &segs {
        if seg.offset > cursor {
            layout.push(cursor, seg.offset - cursor, Role::Keep);
        }
        cursor = seg.end();
        let role = match classify(input, seg)? {
            Kind::Xmp(packet) => Role::Standard {
                has_label: xmp::has_label(&packet),
            },
            Kind::ExtXmp {
                guid,
                full_len,
                chunk_offset,
                data,
            } => {
                ExtXmp::add(&mut ext, seg, guid, full_len, chunk_offset, data)?;
                Role::Keep
            }
            Kind::Exif {
                texts, overlaps, ..
            } => Role::Mixed {
                has_label: overlaps || !texts.is_empty(),
            },
            Kind::Blob { .. } => Role::LabelOnly,
            Kind::Other => Role::Keep,
        };
        if layout.insert_at.is_none()
            && role != Role::LabelOnly
            && seg.marker != APP0
            && seg.marker != APP1
        {
            layout.insert_at = Some(layout.units.len());
        }
        layout.push(seg.offset, seg.total, role);
    }
    for g in &mut ext {
        if let Some(bytes) = g.packet() {
            if xmp::has_label(&String::from_utf8_lossy(&bytes)) {
                return Err(CodecError::Unsupported(format!(
                    "the Extended XMP at byte {} holds a label; rewriting Extended XMP is not implemented",
                    g.first_offset
                )));
            }
        }
    }
    if sos > cursor {
        layout.push(cursor, sos - cursor, Role::Keep);
    }
    layout.insert_at = layout.insert_at.or(Some(layout.units.len()));
    Ok((layout, sos))
}

/// Writes the XMP and EXIF segments for [`one_label::rewrite`].
struct Segments;

impl Segments {
    fn classify(input: &mut Input, unit: &Unit) -> Result<Kind> {
        input.seek_to(unit.offset + 1)?;
        let [marker]: [u8; 1] = input.read_array()?;
        let seg = Segment {
            offset: unit.offset,
            marker,
            total: unit.len,
        };
        classify(input, &seg)
    }
}

impl UnitWriter for Segments {
    fn label(
        &self,
        input: &mut Input,
        out: &mut Output,
        unit: Option<&Unit>,
        json: &str,
    ) -> Result<()> {
        let Some(unit) = unit else {
            return write_xmp_with_label(out, &xmp::new_packet(json), json);
        };
        match Self::classify(input, unit)? {
            Kind::Xmp(packet) => write_xmp_with_label(
                out,
                &xmp::set_label(&packet, json).map_err(xmp::error_at(unit.offset + 4))?,
                json,
            ),
            _ => Err(CodecError::corrupt(unit.offset, "not an XMP segment")),
        }
    }

    fn strip(&self, input: &mut Input, out: &mut Output, unit: &Unit) -> Result<()> {
        let at = unit.offset + 4;
        match Self::classify(input, unit)? {
            Kind::Xmp(packet) => {
                write_xmp(out, &xmp::remove_labels(&packet).map_err(xmp::error_at(at))?)
            }
            Kind::Exif { overlaps: true, .. } => Err(CodecError::corrupt(
                at,
                "an EXIF label text overlaps an EXIF directory; it cannot be removed without breaking the EXIF",
            )),
            Kind::Exif { mut tiff, texts, .. } => {
                for t in &texts {
                    let range = t.value_offset as usize..(t.value_offset + t.value_len) as usize;
                    let blank = t.blanked(&tiff[range.clone()]);
                    tiff[range].copy_from_slice(&blank);
                }
                write_segment(out, APP1, &[EXIF_HEADER, &tiff])
            }
            _ => Err(CodecError::corrupt(unit.offset, "not a label segment")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::md5;

    fn hex(d: [u8; 16]) -> String {
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// RFC 1321 appendix A.5 test suite.
    #[test]
    fn md5_matches_the_rfc_test_suite() {
        for (input, want) in [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ] {
            assert_eq!(hex(md5(input.as_bytes())), want, "{input:?}");
        }
    }
}
