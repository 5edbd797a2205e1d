//! Matroska / WebM: the label is a `Segment/Tags/Tag/SimpleTag` whose `TagName` is `AIGC` and
//! whose `TagString` is the JSON (video guide PG-20257A, as ffmpeg writes `-metadata AIGC=...`).
//!
//! Matroska stores Segment-relative positions (SeekHead, Cues), so the writer never moves a byte
//! that such a position can point at:
//! - when the first AIGC SimpleTag is at least as large as the new one, it is rewritten in place
//!   and the rest filled with a `Void` element (a 1-byte difference is absorbed by a longer size
//!   vint);
//! - otherwise a new `Tags` element is appended at the end of the Segment (its size field is
//!   patched, keeping the same vint length; an unknown-size Segment needs nothing), the old
//!   SimpleTag becomes a `Void` of the same size, and the SeekHead's Tags entry is pointed at the
//!   new element: in place, or growing into the `Void` that muxers leave after the SeekHead
//!   (when neither is possible the SeekHead is left as it is, and only scanning readers find
//!   the new Tags). A label-only `Tags` element at the very end of the Segment (one appended by
//!   an earlier run) is replaced instead of being left behind.
//! - the CRC-32 element of every level-1 element that changes is recomputed (ffmpeg writes one
//!   in each).
//!
//! Every other AIGC SimpleTag becomes a `Void` of the same size (one label per file, 6.1 c).

use std::io::Write;

use super::{bmff, Format, Found};
use crate::error::{CodecError, Result};
use crate::io::{Input, Output};
use crate::label::ProblemCode;
use crate::limits;
use crate::media::{Modality, PayloadMethod};

const ID_EBML: u32 = 0x1A45_DFA3;
const ID_SEGMENT: u32 = 0x1853_8067;
const ID_CLUSTER: u32 = 0x1F43_B675;
const ID_TAGS: u32 = 0x1254_C367;
const ID_TAG: u32 = 0x7373;
const ID_TARGETS: u32 = 0x63C0;
const ID_SIMPLETAG: u32 = 0x67C8;
const ID_TAGNAME: u32 = 0x45A3;
const ID_TAGSTRING: u32 = 0x4487;
const ID_SEEKHEAD: u32 = 0x114D_9B74;
const ID_SEEK: u32 = 0x4DBB;
const ID_SEEKID: u32 = 0x53AB;
const ID_SEEKPOSITION: u32 = 0x53AC;
const ID_VOID: u32 = 0xEC;
/// Elements that may follow a Cluster at Segment level: they end an unknown-size Cluster.
const LEVEL1: [u32; 10] = [
    0x114D_9B74,
    0x1549_A966,
    0x1654_AE6B,
    ID_CLUSTER,
    0x1C53_BB6B,
    ID_TAGS,
    0x1043_A770,
    0x1941_A469,
    ID_EBML,
    ID_SEGMENT,
];

/// The Matroska/WebM container.
pub struct Matroska;

/// One element header.
#[derive(Debug, Clone)]
struct Element {
    id: u32,
    start: u64,
    header_len: u64,
    /// Offset of the size field and its length (to patch it).
    size_at: u64,
    size_len: usize,
    /// None for unknown size.
    size: Option<u64>,
    end: u64,
}

impl Element {
    fn data(&self) -> u64 {
        self.start + self.header_len
    }
}

/// Parse an element header from `head` (bytes at `start`), bounded by `parent_end`.
fn parse_header(head: &[u8], start: u64, parent_end: u64) -> Result<Element> {
    let first = *head
        .first()
        .ok_or_else(|| CodecError::corrupt(start, "truncated EBML element header"))?;
    let id_len = first.leading_zeros() as usize + 1;
    if id_len > 4 {
        return Err(CodecError::corrupt(
            start,
            format!("invalid EBML ID (first byte {first:#04x})"),
        ));
    }
    if head.len() < id_len + 1 {
        return Err(CodecError::corrupt(start, "truncated EBML element header"));
    }
    let id = head[..id_len].iter().fold(0u32, |a, &b| a << 8 | b as u32);
    let s0 = head[id_len];
    let size_len = s0.leading_zeros() as usize + 1;
    if size_len > 8 {
        return Err(CodecError::corrupt(
            start + id_len as u64,
            "EBML size vint longer than 8 bytes",
        ));
    }
    if head.len() < id_len + size_len {
        return Err(CodecError::corrupt(start, "truncated EBML size"));
    }
    let mask = if size_len == 8 { 0 } else { 0xFFu8 >> size_len };
    let mut v = (s0 & mask) as u64;
    for &b in &head[id_len + 1..id_len + size_len] {
        v = v << 8 | b as u64;
    }
    let unknown = v == (1u64 << (7 * size_len)) - 1;
    let header_len = (id_len + size_len) as u64;
    let data = start + header_len;
    if data > parent_end {
        return Err(CodecError::corrupt(
            start,
            "EBML element header runs past its parent",
        ));
    }
    let (size, end) = if unknown {
        (None, parent_end)
    } else {
        let end = data
            .checked_add(v)
            .filter(|e| *e <= parent_end)
            .ok_or_else(|| {
                CodecError::corrupt(start, format!("EBML element {id:#x} of {v} bytes runs past its parent (byte {parent_end})"))
            })?;
        (Some(v), end)
    };
    Ok(Element {
        id,
        start,
        header_len,
        size_at: start + id_len as u64,
        size_len,
        size,
        end,
    })
}

/// Elements of the region [start, end) of the input, headers only. Unknown-size elements
/// (Segment, Cluster) end where the next higher-level element starts.
fn walk_input(input: &mut Input, start: u64, end: u64, depth: usize) -> Result<Vec<Element>> {
    if depth > limits::MAX_DEPTH {
        return Err(CodecError::limit(start, "EBML elements nested too deep"));
    }
    let mut out: Vec<Element> = Vec::new();
    let mut pos = start;
    while pos < end {
        if out.len() >= limits::MAX_ENTRIES {
            return Err(CodecError::limit(pos, "too many EBML elements"));
        }
        input.seek_to(pos)?;
        let head = input.peek(12.min((end - pos) as usize))?;
        let mut e = parse_header(&head, pos, end)?;
        if e.size.is_none() {
            if e.id == ID_CLUSTER {
                // Scan the Cluster's children until a level-1 element.
                let mut p = e.data();
                while p < end {
                    input.seek_to(p)?;
                    let h = input.peek(12.min((end - p) as usize))?;
                    let c = parse_header(&h, p, end)?;
                    if LEVEL1.contains(&c.id) {
                        break;
                    }
                    if c.size.is_none() {
                        return Err(CodecError::Unsupported(format!(
                            "unknown-size element {:#x} inside a Cluster at byte {p}",
                            c.id
                        )));
                    }
                    p = c.end;
                }
                e.end = p;
            } else if e.id != ID_SEGMENT {
                return Err(CodecError::Unsupported(format!(
                    "unknown-size EBML element {:#x} at byte {pos}",
                    e.id
                )));
            }
        }
        pos = e.end;
        out.push(e);
    }
    Ok(out)
}

/// Elements of a byte region in memory (`base` = absolute offset of `buf[0]`).
fn walk_mem(buf: &[u8], start: usize, end: usize, base: u64) -> Result<Vec<Element>> {
    let mut out = Vec::new();
    let mut pos = start;
    while pos < end {
        let e = parse_header(&buf[pos..end.min(pos + 12)], pos as u64, end as u64)
            .map_err(|e| rebase(e, base))?;
        if e.size.is_none() {
            return Err(CodecError::corrupt(
                base + pos as u64,
                "unknown-size element inside Tags",
            ));
        }
        pos = e.end as usize;
        out.push(e);
    }
    Ok(out)
}

fn rebase(e: CodecError, base: u64) -> CodecError {
    match e {
        CodecError::Corrupt { offset, what } => CodecError::Corrupt {
            offset: offset + base,
            what,
        },
        other => other,
    }
}

/// A SimpleTag: absolute span, name and value, and the Tags element it sits in.
struct Simple {
    start: u64,
    end: u64,
    name: String,
    value: String,
    /// Start of the level-1 Tags element holding it.
    tags: u64,
}

impl Simple {
    fn is_aigc(&self) -> bool {
        self.name.eq_ignore_ascii_case("AIGC")
    }
}

/// Every SimpleTag (nested ones too) in a region of a Tags element read into `buf`.
fn simple_tags(
    buf: &[u8],
    (start, end): (usize, usize),
    (base, tags): (u64, u64),
    depth: usize,
    out: &mut Vec<Simple>,
) -> Result<()> {
    if depth > limits::MAX_DEPTH {
        return Err(CodecError::limit(
            base + start as u64,
            "EBML elements nested too deep",
        ));
    }
    for e in walk_mem(buf, start, end, base)? {
        let (ds, de) = (e.data() as usize, e.end as usize);
        match e.id {
            ID_TAG => simple_tags(buf, (ds, de), (base, tags), depth + 1, out)?,
            ID_SIMPLETAG => {
                let mut name = String::new();
                let mut value = String::new();
                for c in walk_mem(buf, ds, de, base)? {
                    let text = || {
                        String::from_utf8_lossy(&buf[c.data() as usize..c.end as usize])
                            .trim_end_matches('\0')
                            .to_string()
                    };
                    match c.id {
                        ID_TAGNAME => name = text(),
                        ID_TAGSTRING => value = text(),
                        _ => {}
                    }
                }
                out.push(Simple {
                    start: base + e.start,
                    end: base + e.end,
                    name,
                    value,
                    tags,
                });
                // A SimpleTag may hold nested SimpleTags.
                simple_tags(buf, (ds, de), (base, tags), depth + 1, out)?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn vint(v: u64, min_len: usize) -> Result<Vec<u8>> {
    let mut n = min_len.max(1);
    while n <= 8 && v >= (1u64 << (7 * n)) - 1 {
        n += 1;
    }
    if n > 8 {
        return Err(CodecError::Unsupported("EBML size too large".into()));
    }
    let mut out = v.to_be_bytes()[8 - n..].to_vec();
    out[0] |= 0x80 >> (n - 1);
    Ok(out)
}

fn element(id: u32, data: &[u8], min_size_len: usize) -> Result<Vec<u8>> {
    let idb = id.to_be_bytes();
    let skip = idb.iter().position(|&b| b != 0).unwrap_or(3);
    let mut out = idb[skip..].to_vec();
    out.extend_from_slice(&vint(data.len() as u64, min_size_len)?);
    out.extend_from_slice(data);
    Ok(out)
}

/// A Void element of exactly `n` bytes (n >= 2).
fn void(n: u64) -> Result<Vec<u8>> {
    let (size_len, data) = if n <= 128 { (1, n - 2) } else { (8, n - 9) };
    let mut out = vec![ID_VOID as u8];
    out.extend_from_slice(&vint(data, size_len)?);
    out.resize(n as usize, 0);
    Ok(out)
}

fn simple_tag(json: &str, extra: usize) -> Result<Vec<u8>> {
    let mut d = element(ID_TAGNAME, b"AIGC", 1)?;
    d.extend_from_slice(&element(ID_TAGSTRING, json.as_bytes(), 1)?);
    let min = vint(d.len() as u64, 1)?.len() + extra;
    element(ID_SIMPLETAG, &d, min)
}

struct Layout {
    segment: Element,
    kids: Vec<Element>,
    /// Every SimpleTag of every Tags element, in file order.
    simples: Vec<Simple>,
}

fn layout(input: &mut Input) -> Result<Layout> {
    let top = walk_input(input, 0, input.len(), 0)?;
    if top.first().map(|e| e.id) != Some(ID_EBML) {
        return Err(CodecError::corrupt(0, "not an EBML file"));
    }
    let segment = top
        .iter()
        .find(|e| e.id == ID_SEGMENT)
        .cloned()
        .ok_or_else(|| CodecError::corrupt(0, "no Matroska Segment"))?;
    let kids = walk_input(input, segment.data(), segment.end, 1)?;
    let mut simples = Vec::new();
    for t in kids.iter().filter(|e| e.id == ID_TAGS) {
        let buf = read_element(input, t)?;
        let h = t.header_len as usize;
        simple_tags(&buf, (h, buf.len()), (t.start, t.start), 2, &mut simples)?;
    }
    Ok(Layout {
        segment,
        kids,
        simples,
    })
}

/// A level-1 element's bytes (header included), bounded.
fn read_element(input: &mut Input, e: &Element) -> Result<Vec<u8>> {
    input.seek_to(e.start)?;
    input.read_vec(
        e.end - e.start,
        limits::MAX_METADATA_BYTES,
        "Matroska metadata element",
    )
}

/// Recompute the CRC-32 child (ID 0xBF, first child, 4 bytes little-endian, over the rest of
/// the parent's data) of a level-1 element held in `bytes`, if it has one. ffmpeg writes one in
/// every level-1 element it muxes.
fn fix_crc(bytes: &mut [u8]) -> Result<()> {
    let e = parse_header(bytes, 0, bytes.len() as u64)?;
    let d = e.data() as usize;
    if bytes.len() >= d + 6 && bytes[d] == 0xBF && bytes[d + 1] == 0x84 {
        let crc = crc32fast::hash(&bytes[d + 6..]);
        bytes[d + 2..d + 6].copy_from_slice(&crc.to_le_bytes());
    }
    Ok(())
}

/// A SeekHead pointing its Tags entry at `pos` (Segment-relative), adding the entry when
/// there is none; the CRC-32 is recomputed. None when the SeekHead already says so.
fn seekhead_with(bytes: &[u8], sh: &Element, pos: u64) -> Result<Option<Vec<u8>>> {
    let h = sh.header_len as usize;
    let mut body = Vec::new();
    let mut found = false;
    let mut changed = false;
    for seek in walk_mem(bytes, h, bytes.len(), sh.start)? {
        let raw = &bytes[seek.start as usize..seek.end as usize];
        if seek.id != ID_SEEK || found {
            body.extend_from_slice(raw);
            continue;
        }
        let kids = walk_mem(bytes, seek.data() as usize, seek.end as usize, sh.start)?;
        let is_tags = kids.iter().any(|k| {
            k.id == ID_SEEKID && bytes[k.data() as usize..k.end as usize] == ID_TAGS.to_be_bytes()
        });
        if !is_tags {
            body.extend_from_slice(raw);
            continue;
        }
        found = true;
        let mut sbody = Vec::new();
        for k in &kids {
            if k.id == ID_SEEKPOSITION {
                let old = &bytes[k.data() as usize..k.end as usize];
                let width = old.len().clamp(1, 8);
                let need = (8 - (pos.leading_zeros() / 8) as usize).max(1);
                let w = width.max(need);
                let value = &pos.to_be_bytes()[8 - w..];
                if value != old {
                    changed = true;
                }
                sbody.extend_from_slice(&element(ID_SEEKPOSITION, value, 1)?);
            } else {
                sbody.extend_from_slice(&bytes[k.start as usize..k.end as usize]);
            }
        }
        body.extend_from_slice(&element(ID_SEEK, &sbody, seek.size_len_or(1))?);
    }
    if !found {
        let mut sbody = element(ID_SEEKID, &ID_TAGS.to_be_bytes(), 1)?;
        let need = (8 - (pos.leading_zeros() / 8) as usize).max(1);
        sbody.extend_from_slice(&element(
            ID_SEEKPOSITION,
            &pos.to_be_bytes()[8 - need..],
            1,
        )?);
        body.extend_from_slice(&element(ID_SEEK, &sbody, 1)?);
        changed = true;
    }
    if !changed {
        return Ok(None);
    }
    let mut out = element(ID_SEEKHEAD, &body, sh.size_len)?;
    fix_crc(&mut out)?;
    Ok(Some(out))
}

impl Element {
    fn size_len_or(&self, min: usize) -> usize {
        self.size_len.max(min)
    }
}

/// Same-size patches that point the SeekHead's Tags entry at `pos`: in place when the
/// rewritten SeekHead keeps its size, or by taking the room from a Void right after it.
/// None when neither is possible (the SeekHead is then left as it is).
fn seekhead_patch(input: &mut Input, l: &Layout, pos: u64) -> Result<Option<(u64, Vec<u8>)>> {
    let Some(i) = l.kids.iter().position(|e| e.id == ID_SEEKHEAD) else {
        return Ok(None);
    };
    let sh = &l.kids[i];
    let bytes = read_element(input, sh)?;
    let rel = Element {
        start: 0,
        end: bytes.len() as u64,
        ..sh.clone()
    };
    let Some(new) = seekhead_with(&bytes, &rel, pos)? else {
        return Ok(None);
    };
    let old = bytes.len() as u64;
    let grow = new.len() as u64;
    if grow == old {
        return Ok(Some((sh.start, new)));
    }
    if let Some(v) = l.kids.get(i + 1).filter(|v| v.id == ID_VOID) {
        let room = v.end - v.start;
        if grow < old + room && (old + room - grow >= 2) {
            let mut b = new;
            b.extend_from_slice(&void(old + room - grow)?);
            return Ok(Some((sh.start, b)));
        }
        if grow == old + room {
            return Ok(Some((sh.start, new)));
        }
    }
    if grow + 2 <= old {
        let mut b = new;
        b.extend_from_slice(&void(old - grow)?);
        return Ok(Some((sh.start, b)));
    }
    Ok(None)
}

impl Format for Matroska {
    fn id(&self) -> &'static str {
        "mkv"
    }
    fn modality(&self, _head: &[u8]) -> Modality {
        Modality::Video
    }
    fn payload(&self) -> PayloadMethod {
        PayloadMethod::Packets
    }
    fn media_types(&self) -> &'static [&'static str] {
        &[
            "video/x-matroska",
            "video/webm",
            "audio/x-matroska",
            "audio/webm",
        ]
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["mkv", "webm", "mka", "mk3d"]
    }
    fn carrier(&self) -> &'static str {
        "Segment/Tags/Tag/SimpleTag with TagName AIGC, TagString = JSON"
    }
    fn sniff(&self, head: &[u8]) -> bool {
        head.starts_with(&ID_EBML.to_be_bytes())
    }

    fn read(&self, input: &mut Input) -> Result<Vec<Found>> {
        let l = layout(input)?;
        Ok(l.simples
            .into_iter()
            .filter(|s| s.is_aigc())
            .map(|s| {
                let mut f = Found::named("mkv/Segment/Tags/Tag/SimpleTag/AIGC", s.start, s.value);
                if s.name != "AIGC" {
                    f = f.note(
                        ProblemCode::KeyCase,
                        format!("TagName is {:?}, not \"AIGC\"", s.name),
                    );
                }
                f
            })
            .collect())
    }

    fn write(&self, input: &mut Input, out: &mut Output, json: &str) -> Result<()> {
        let l = layout(input)?;
        let seg = &l.segment;
        let aigc: Vec<&Simple> = l.simples.iter().filter(|s| s.is_aigc()).collect();
        let new = simple_tag(json, 0)?;
        // In place, when the first AIGC SimpleTag has room.
        let in_place: Option<Vec<u8>> = match aigc.first() {
            Some(s) => {
                let (old, n) = (s.end - s.start, new.len() as u64);
                if n == old {
                    Some(new.clone())
                } else if old >= n + 2 {
                    let mut b = new.clone();
                    b.extend_from_slice(&void(old - n)?);
                    Some(b)
                } else if old == n + 1 {
                    Some(simple_tag(json, 1)?)
                } else {
                    None
                }
            }
            None => None,
        };
        // A Tags element at the very end of the Segment that holds nothing but AIGC tags (one
        // this writer appended before) is replaced rather than left behind as Voids.
        let last = l
            .kids
            .last()
            .filter(|k| k.id == ID_TAGS && k.end == seg.end && in_place.is_none())
            .filter(|k| {
                let mine: Vec<&Simple> = l.simples.iter().filter(|s| s.tags == k.start).collect();
                !mine.is_empty() && mine.iter().all(|s| s.is_aigc())
            })
            .cloned();
        let mut patches: Vec<(u64, Vec<u8>)> = Vec::new();
        for (i, s) in aigc.iter().enumerate() {
            if last.as_ref().is_some_and(|k| s.tags == k.start) {
                continue;
            }
            match (&in_place, i) {
                (Some(b), 0) => patches.push((s.start, b.clone())),
                _ => patches.push((s.start, void(s.end - s.start)?)),
            }
        }
        // Recompute CRC-32 of every Tags element touched.
        let mut touched: Vec<u64> = patches
            .iter()
            .filter_map(|(at, _)| aigc.iter().find(|s| s.start == *at).map(|s| s.tags))
            .collect();
        touched.dedup();
        let mut final_patches: Vec<(u64, Vec<u8>)> = Vec::new();
        for t in &touched {
            let e = l.kids.iter().find(|k| k.start == *t).expect("Tags element");
            let mut bytes = read_element(input, e)?;
            for (at, b) in patches
                .iter()
                .filter(|(at, _)| *at >= e.start && *at < e.end)
            {
                let o = (at - e.start) as usize;
                bytes[o..o + b.len()].copy_from_slice(b);
            }
            fix_crc(&mut bytes)?;
            final_patches.push((e.start, bytes));
        }
        let mut append: Option<Vec<u8>> = None;
        let mut cut = seg.end; // where the appended Tags go (and the rest of the input resumes)
        if in_place.is_none() {
            let mut tag = element(ID_TARGETS, &[], 1)?;
            tag.extend_from_slice(&new);
            let tags = element(ID_TAGS, &element(ID_TAG, &tag, 1)?, 1)?;
            if let Some(k) = &last {
                cut = k.start;
            }
            if let Some(size) = seg.size {
                let ns = (size + tags.len() as u64)
                    .checked_sub(seg.end - cut)
                    .ok_or_else(|| CodecError::corrupt(seg.start, "Segment size"))?;
                if seg.size_len < 8 && ns >= (1u64 << (7 * seg.size_len)) - 1 {
                    return Err(CodecError::Unsupported(format!(
                        "the Segment size field ({} bytes) cannot hold the new size",
                        seg.size_len
                    )));
                }
                final_patches.push((seg.size_at, vint(ns, seg.size_len)?));
            }
            if let Some(p) = seekhead_patch(input, &l, cut - seg.data())? {
                final_patches.push(p);
            }
            append = Some(tags);
        }
        final_patches.sort_by_key(|p| p.0);
        bmff::copy_patched(input, out, 0, cut, &final_patches)?;
        if let Some(t) = append {
            out.write_all(&t)?;
        }
        bmff::copy_patched(input, out, seg.end, input.len(), &final_patches)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vints() {
        assert_eq!(vint(1, 1).unwrap(), vec![0x81]);
        assert_eq!(vint(127, 1).unwrap(), vec![0x40, 0x7f]);
        assert_eq!(vint(5, 8).unwrap().len(), 8);
        for n in [2u64, 3, 128, 129, 300] {
            assert_eq!(void(n).unwrap().len() as u64, n);
            let v = void(n).unwrap();
            let e = parse_header(&v, 0, n).unwrap();
            assert_eq!(e.end, n);
        }
        // a 9-byte size vint
        assert!(parse_header(&[0xEC, 0x00, 0, 0, 0, 0, 0, 0, 0, 0], 0, 100).is_err());
    }
}
