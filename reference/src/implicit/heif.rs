//! HEIF / HEIC / AVIF: the label is the `TC260:AIGC` property of the XMP metadata item
//! (ISO/IEC 23008-12: an `infe` of type `mime` with content type `application/rdf+xml`, its
//! bytes located by `iloc`), image guide PG-20259A.
//!
//! Reading follows `iloc` versions 0-2 with 0/4/8-byte fields, construction methods 0 (file
//! offset) and 1 (`idat`). The `Exif` item (ISO/IEC 23008-12 Annex A: a 4-byte offset to the
//! TIFF header, usually after `Exif\0\0`, as ExifTool and libheif write it) is read like JPEG's
//! EXIF: a label in UserComment or ImageDescription (the image guide's Annex B alternative) is
//! found, and writing blanks it in place (spaces of the same length, so nothing moves) while
//! the label goes into XMP.
//!
//! Writing: when the new packet fits in the existing XMP item's single extent, it is written in
//! place, padded with XMP whitespace, and no structure changes. Otherwise the packet goes into a
//! new `mdat` appended at the end of the file, the item's `iloc` entry points there, and its old
//! bytes are blanked with spaces; when no XMP item exists, one is added (`infe` v2 `mime`, an
//! `iloc` entry and an `iref` `cdsc` to the primary item, as ExifTool does). When `meta` changes
//! size, every file-offset (`construction_method` 0) base or extent offset that points past the
//! old `meta` is shifted by the change, so the image items still resolve (the bug of the
//! jiemojiemo writer, implementations-in-the-wild #18).

use std::io::Write;

use super::bmff::{self, BoxRef};
use super::exif::{self, Slice};
use super::{xmp, Format, Found};
use crate::error::{CodecError, Result};
use crate::io::{Input, Output};
use crate::label::CarrierKind;
use crate::limits;
use crate::media::{Modality, PayloadMethod};

const BRANDS: [&[u8; 4]; 9] = [
    b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis",
];
const XMP_MIME: &str = "application/rdf+xml";

/// The HEIF container (HEIC, AVIF).
pub struct Heif;

#[derive(Debug, Clone)]
struct Extent {
    index: u64,
    offset: u64,
    length: u64,
}

#[derive(Debug, Clone)]
struct IlocItem {
    id: u32,
    method: u8,
    dref: u16,
    base: u64,
    extents: Vec<Extent>,
}

#[derive(Debug, Clone)]
struct Iloc {
    version: u8,
    flags: u32,
    offset_size: u8,
    length_size: u8,
    base_size: u8,
    index_size: u8,
    items: Vec<IlocItem>,
}

fn check_size(n: u8, at: u64) -> Result<usize> {
    match n {
        0 | 4 | 8 => Ok(n as usize),
        _ => Err(CodecError::corrupt(
            at,
            format!("iloc field size {n} is not 0, 4 or 8"),
        )),
    }
}

fn parse_iloc(body: &[u8], at: u64) -> Result<Iloc> {
    let (version, flags, d) = bmff::full_box(body, at)?;
    if version > 2 {
        return Err(CodecError::Unsupported(format!("iloc version {version}")));
    }
    let at = at + 4;
    let mut p = 0usize;
    let b0 = bmff::read_uint(d, &mut p, 1, at)? as u8;
    let b1 = bmff::read_uint(d, &mut p, 1, at)? as u8;
    let offset_size = check_size(b0 >> 4, at)?;
    let length_size = check_size(b0 & 15, at)?;
    let base_size = check_size(b1 >> 4, at)?;
    let index_size = if version >= 1 {
        check_size(b1 & 15, at)?
    } else {
        0
    };
    let count = bmff::read_uint(d, &mut p, if version < 2 { 2 } else { 4 }, at)?;
    if count as usize > d.len() / 2 + 1 {
        return Err(CodecError::corrupt(
            at,
            format!("iloc announces {count} items in {} bytes", d.len()),
        ));
    }
    let mut items = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let id = bmff::read_uint(d, &mut p, if version < 2 { 2 } else { 4 }, at)? as u32;
        let method = if version >= 1 {
            (bmff::read_uint(d, &mut p, 2, at)? & 15) as u8
        } else {
            0
        };
        let dref = bmff::read_uint(d, &mut p, 2, at)? as u16;
        let base = bmff::read_uint(d, &mut p, base_size, at)?;
        let n = bmff::read_uint(d, &mut p, 2, at)?;
        let mut extents = Vec::new();
        for _ in 0..n {
            let index = if version >= 1 {
                bmff::read_uint(d, &mut p, index_size, at)?
            } else {
                0
            };
            let offset = bmff::read_uint(d, &mut p, offset_size, at)?;
            let length = bmff::read_uint(d, &mut p, length_size, at)?;
            extents.push(Extent {
                index,
                offset,
                length,
            });
        }
        items.push(IlocItem {
            id,
            method,
            dref,
            base,
            extents,
        });
    }
    Ok(Iloc {
        version,
        flags,
        offset_size: offset_size as u8,
        length_size: length_size as u8,
        base_size: base_size as u8,
        index_size: index_size as u8,
        items,
    })
}

fn put(out: &mut Vec<u8>, v: u64, n: u8) -> Result<()> {
    if n < 8 && v >> (n as u32 * 8) != 0 {
        return Err(CodecError::Unsupported(format!(
            "value {v} does not fit a {n}-byte iloc field"
        )));
    }
    out.extend_from_slice(&v.to_be_bytes()[8 - n as usize..]);
    Ok(())
}

fn serialize_iloc(l: &Iloc) -> Result<Vec<u8>> {
    let mut o = vec![l.version];
    o.extend_from_slice(&l.flags.to_be_bytes()[1..]);
    o.push(l.offset_size << 4 | l.length_size);
    o.push(l.base_size << 4 | if l.version >= 1 { l.index_size } else { 0 });
    let id_size = if l.version < 2 { 2 } else { 4 };
    put(&mut o, l.items.len() as u64, id_size)?;
    for it in &l.items {
        put(&mut o, it.id as u64, id_size)?;
        if l.version >= 1 {
            put(&mut o, it.method as u64, 2)?;
        }
        put(&mut o, it.dref as u64, 2)?;
        put(&mut o, it.base, l.base_size)?;
        put(&mut o, it.extents.len() as u64, 2)?;
        for e in &it.extents {
            if l.version >= 1 {
                put(&mut o, e.index, l.index_size)?;
            }
            put(&mut o, e.offset, l.offset_size)?;
            put(&mut o, e.length, l.length_size)?;
        }
    }
    Ok(o)
}

/// The parsed `meta` box of a HEIF file (buffer-relative box positions).
struct Meta {
    kids: Vec<BoxRef>,
    iinf: Option<(usize, u8)>,
    /// The boxes inside `iinf` (after its entry count), `infe` or not.
    iinf_kids: Vec<BoxRef>,
    infes: Vec<(u32, BoxRef)>,
    xmp_ids: Vec<u32>,
    /// Items of type `Exif`.
    exif_ids: Vec<u32>,
    iloc: Option<(usize, Iloc)>,
    iref: Option<usize>,
    idat: Option<usize>,
    primary: Option<u32>,
}

fn cstr(d: &[u8], p: &mut usize) -> String {
    let rest = &d[(*p).min(d.len())..];
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    let s = String::from_utf8_lossy(&rest[..end]).into_owned();
    *p += end + 1;
    s
}

fn parse_meta(buf: &[u8], meta: &BoxRef, base: u64) -> Result<Meta> {
    let body = &buf[meta.body()];
    bmff::full_box(body, base + meta.start)?;
    let kids = bmff::children(
        buf,
        meta.body_start() as usize + 4..meta.end as usize,
        base,
        1,
    )?;
    let mut m = Meta {
        kids,
        iinf: None,
        iinf_kids: Vec::new(),
        infes: Vec::new(),
        xmp_ids: Vec::new(),
        exif_ids: Vec::new(),
        iloc: None,
        iref: None,
        idat: None,
        primary: None,
    };
    for (i, k) in m.kids.iter().enumerate() {
        let at = base + k.start;
        let kb = &buf[k.body()];
        match &k.kind {
            b"iinf" if m.iinf.is_none() => {
                let (v, _, d) = bmff::full_box(kb, at)?;
                m.iinf = Some((i, v));
                let skip = if v == 0 { 2 } else { 4 };
                if d.len() < skip {
                    return Err(CodecError::corrupt(at, "iinf without entry count"));
                }
                let start = k.body_start() as usize + 4 + skip;
                m.iinf_kids = bmff::children(buf, start..k.end as usize, base, 2)?;
                for e in m.iinf_kids.clone() {
                    if &e.kind != b"infe" {
                        continue;
                    }
                    let (ev, _, d) = bmff::full_box(&buf[e.body()], base + e.start)?;
                    let mut p = 0;
                    let eat = base + e.start;
                    let (id, mime) = if ev >= 2 {
                        let id =
                            bmff::read_uint(d, &mut p, if ev == 2 { 2 } else { 4 }, eat)? as u32;
                        p += 2;
                        let ty = bmff::read_uint(d, &mut p, 4, eat)?;
                        if &ty.to_be_bytes()[4..] == b"Exif" {
                            m.exif_ids.push(id);
                        }
                        let _name = cstr(d, &mut p);
                        let ct = if &ty.to_be_bytes()[4..] == b"mime" {
                            cstr(d, &mut p)
                        } else {
                            String::new()
                        };
                        (id, ct)
                    } else {
                        let id = bmff::read_uint(d, &mut p, 2, eat)? as u32;
                        p += 2;
                        let _name = cstr(d, &mut p);
                        (id, cstr(d, &mut p))
                    };
                    if mime.trim().eq_ignore_ascii_case(XMP_MIME) {
                        m.xmp_ids.push(id);
                    }
                    m.infes.push((id, e));
                }
            }
            b"iloc" if m.iloc.is_none() => m.iloc = Some((i, parse_iloc(kb, at)?)),
            b"iref" if m.iref.is_none() => m.iref = Some(i),
            b"idat" if m.idat.is_none() => m.idat = Some(i),
            b"pitm" => {
                let (v, _, d) = bmff::full_box(kb, at)?;
                let mut p = 0;
                m.primary =
                    Some(bmff::read_uint(d, &mut p, if v == 0 { 2 } else { 4 }, at)? as u32);
            }
            _ => {}
        }
    }
    Ok(m)
}

impl Meta {
    fn loc(&self, id: u32) -> Option<&IlocItem> {
        self.iloc
            .as_ref()
            .and_then(|(_, l)| l.items.iter().find(|it| it.id == id))
    }

    /// The bytes of an item (construction methods 0 and 1), bounded.
    fn item_bytes(
        &self,
        input: &mut Input,
        buf: &[u8],
        id: u32,
        at: u64,
    ) -> Result<Option<Vec<u8>>> {
        let Some(it) = self.loc(id) else {
            return Ok(None);
        };
        let total: u64 = it.extents.iter().map(|e| e.length).sum();
        if total > limits::MAX_METADATA_BYTES {
            return Err(CodecError::limit(at, format!("XMP item of {total} bytes")));
        }
        let mut out = Vec::new();
        for e in &it.extents {
            if e.length == 0 {
                return Err(CodecError::Unsupported(
                    "XMP item extent of length 0 (to the end of the data)".into(),
                ));
            }
            match it.method {
                0 if it.dref == 0 => {
                    let off = it
                        .base
                        .checked_add(e.offset)
                        .ok_or_else(|| CodecError::corrupt(at, "iloc offset overflows"))?;
                    input.seek_to(off)?;
                    out.extend_from_slice(&input.read_vec(
                        e.length,
                        limits::MAX_METADATA_BYTES,
                        "XMP item",
                    )?);
                }
                1 => {
                    let Some(k) = self.idat.map(|i| &self.kids[i]) else {
                        return Err(CodecError::corrupt(
                            at,
                            "iloc construction method 1 without idat",
                        ));
                    };
                    let d = &buf[k.body()];
                    let s = it.base.saturating_add(e.offset);
                    let end = s.saturating_add(e.length);
                    if end > d.len() as u64 {
                        return Err(CodecError::corrupt(at, "iloc extent runs past idat"));
                    }
                    out.extend_from_slice(&d[s as usize..end as usize]);
                }
                _ => return Ok(None),
            }
        }
        Ok(Some(out))
    }
}

fn find_meta(boxes: &[BoxRef]) -> Result<usize> {
    boxes
        .iter()
        .position(|b| &b.kind == b"meta")
        .ok_or_else(|| CodecError::Unsupported("HEIF file without a top-level meta box".into()))
}

/// The label-like EXIF texts of an `Exif` item: each with the file offset of its value bytes
/// when the item is one extent in the file (construction method 0), which is what writing
/// needs to blank it; `None` otherwise.
struct ExifItem {
    id: u32,
    texts: Vec<(exif::LabelText, Option<u64>, Vec<u8>)>,
}

/// Read the `Exif` items of `m`: `exif_tiff_header_offset` (4 bytes), then the TIFF structure.
fn exif_items(input: &mut Input, buf: &[u8], m: &Meta, meta_start: u64) -> Result<Vec<ExifItem>> {
    let mut items = Vec::new();
    for &id in &m.exif_ids {
        let Some(bytes) = m.item_bytes(input, buf, id, meta_start)? else {
            continue;
        };
        let corrupt =
            |what: &str| CodecError::corrupt(meta_start, format!("Exif item {id}: {what}"));
        if bytes.len() < 4 {
            return Err(corrupt("shorter than its 4-byte TIFF header offset"));
        }
        let skip = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
        let tiff_start = 4usize
            .checked_add(skip)
            .filter(|s| *s < bytes.len())
            .ok_or_else(|| corrupt("its TIFF header offset points past the item"))?;
        let tiff = &bytes[tiff_start..];
        // Where the item's bytes are in the file, when they are one extent there.
        let file_start = m
            .loc(id)
            .and_then(|it| match (it.method, it.extents.as_slice()) {
                (0, [e]) if it.dref == 0 => it.base.checked_add(e.offset),
                _ => None,
            });
        let tiff_at = file_start.map(|s| s + tiff_start as u64);
        let scan = exif::scan(&mut Slice {
            data: tiff,
            base: tiff_at.unwrap_or(meta_start),
        })?;
        if scan.texts_overlap_structure() {
            return Err(CodecError::corrupt(
                tiff_at.unwrap_or(meta_start),
                "an EXIF label text overlaps an EXIF directory",
            ));
        }
        let texts = scan
            .texts
            .into_iter()
            .map(|t| {
                let range = t.value_offset as usize..(t.value_offset + t.value_len) as usize;
                let original = tiff.get(range).unwrap_or_default().to_vec();
                let at = tiff_at.map(|a| a + t.value_offset);
                (t, at, original)
            })
            .collect();
        items.push(ExifItem { id, texts });
    }
    Ok(items)
}

impl Format for Heif {
    fn id(&self) -> &'static str {
        "heif"
    }
    fn modality(&self, _head: &[u8]) -> Modality {
        Modality::Image
    }
    fn payload(&self) -> PayloadMethod {
        PayloadMethod::HeifPrimaryImage
    }
    fn media_types(&self) -> &'static [&'static str] {
        &[
            "image/heic",
            "image/heif",
            "image/avif",
            "image/heic-sequence",
            "image/avif-sequence",
        ]
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["heic", "heif", "avif", "hif"]
    }
    fn carrier(&self) -> &'static str {
        "XMP metadata item (infe mime application/rdf+xml, located by iloc), XMP property TC260:AIGC"
    }
    fn sniff(&self, head: &[u8]) -> bool {
        if head.len() < 16 || &head[4..8] != b"ftyp" {
            return false;
        }
        let size =
            (u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize).min(head.len());
        let major = &head[8..12];
        BRANDS.iter().any(|b| &b[..] == major)
            || (16..size)
                .step_by(4)
                .any(|i| i + 4 <= size && BRANDS.iter().any(|b| b[..] == head[i..i + 4]))
    }

    fn read(&self, input: &mut Input) -> Result<Vec<Found>> {
        let boxes = bmff::top_level(input)?;
        let mut found = Vec::new();
        for b in boxes.iter().filter(|b| &b.kind == b"meta") {
            let buf = bmff::read_box(input, b, limits::MAX_MOOV_BYTES)?;
            let rel = BoxRef {
                start: 0,
                end: b.size(),
                ..b.clone()
            };
            let m = parse_meta(&buf, &rel, b.start)?;
            for &id in &m.xmp_ids {
                let Some(bytes) = m.item_bytes(input, &buf, id, b.start)? else {
                    continue;
                };
                let text = String::from_utf8_lossy(&bytes);
                for (value, notes) in xmp::find_labels(&text).map_err(xmp::error_at(b.start))? {
                    let mut f = Found::named(format!("heif/meta/item{id}/XMP"), b.start, value);
                    f.notes = notes;
                    found.push(f);
                }
            }
            for item in exif_items(input, &buf, &m, b.start)? {
                for (t, at, _) in item.texts {
                    found.push(Found {
                        carrier: format!("heif/meta/item{}/{}", item.id, t.carrier()),
                        kind: CarrierKind::Unnamed,
                        text: t.text,
                        offset: at.unwrap_or(b.start),
                        notes: t.notes,
                    });
                }
                super::check_label_count(&found, b.start)?;
            }
        }
        Ok(found)
    }

    fn write(&self, input: &mut Input, out: &mut Output, json: &str) -> Result<()> {
        let boxes = bmff::top_level(input)?;
        let mi = find_meta(&boxes)?;
        // Reading looks into every top-level meta; writing edits the first only, so a label in
        // another one would survive beside the new one.
        if let Some(second) = boxes.iter().filter(|b| &b.kind == b"meta").nth(1) {
            return Err(CodecError::corrupt(
                second.start,
                "more than one top-level meta box",
            ));
        }
        let meta = boxes[mi].clone();
        let mut buf = bmff::read_box(input, &meta, limits::MAX_MOOV_BYTES)?;
        let rel = BoxRef {
            start: 0,
            end: meta.size(),
            ..meta.clone()
        };
        let m = parse_meta(&buf, &rel, meta.start)?;
        let Some((iloc_i, iloc)) = m.iloc.clone() else {
            return Err(CodecError::Unsupported("HEIF meta without iloc".into()));
        };
        let mut iloc = iloc;
        // New packets per XMP item; the first gets the label, the others lose theirs.
        let mut patches: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut relocate: Vec<(u32, Vec<u8>)> = Vec::new();
        let mut first = true;
        for &id in &m.xmp_ids {
            let Some(old) = m.item_bytes(input, &buf, id, meta.start)? else {
                continue;
            };
            let text = String::from_utf8_lossy(&old).into_owned();
            let new = if first {
                first = false;
                xmp::set_label(&text, json).map_err(xmp::error_at(meta.start))?
            } else if xmp::has_label(&text) {
                xmp::remove_labels(&text).map_err(xmp::error_at(meta.start))?
            } else {
                continue;
            };
            let it = m.loc(id).expect("located above");
            let padded = bmff::pad_packet(&new, old.len());
            match (padded, it.extents.as_slice(), it.method) {
                (Some(p), [e], 0) if it.dref == 0 => patches.push((it.base + e.offset, p)),
                (Some(p), [e], 1) => {
                    let k = &m.kids[m.idat.expect("method 1 read above")];
                    let s = k.body_start() as usize + (it.base + e.offset) as usize;
                    buf[s..s + p.len()].copy_from_slice(&p);
                }
                _ => {
                    // Blank the old bytes, then relocate.
                    for e in &it.extents {
                        if it.method == 0 {
                            patches.push((it.base + e.offset, vec![b' '; e.length as usize]));
                        } else if let Some(i) = m.idat {
                            let s = m.kids[i].body_start() as usize + (it.base + e.offset) as usize;
                            buf[s..s + e.length as usize].fill(b' ');
                        }
                    }
                    relocate.push((id, new.into_bytes()));
                }
            }
        }
        // A label in an Exif item is blanked in place (the label now lives in XMP).
        for item in exif_items(input, &buf, &m, meta.start)? {
            for (t, at, original) in item.texts {
                let Some(at) = at else {
                    return Err(CodecError::Unsupported(format!(
                        "a label in Exif item {} stored in idat or in several extents cannot be removed yet",
                        item.id
                    )));
                };
                patches.push((at, t.blanked(&original)));
            }
        }
        patches.sort_by_key(|p| p.0);
        check_patches(&boxes, mi, &patches)?;
        // No XMP item: add one.
        let mut new_item: Option<u32> = None;
        if first {
            let max_id = m
                .infes
                .iter()
                .map(|(id, _)| *id)
                .chain(iloc.items.iter().map(|i| i.id))
                .max()
                .unwrap_or(0);
            let id = max_id
                .checked_add(1)
                .ok_or_else(|| CodecError::Unsupported("no free item ID".into()))?;
            new_item = Some(id);
            relocate.push((id, xmp::new_packet(json).into_bytes()));
            iloc.items.push(IlocItem {
                id,
                method: 0,
                dref: 0,
                base: 0,
                extents: vec![Extent {
                    index: 0,
                    offset: 0,
                    length: 0,
                }],
            });
        }
        if relocate.is_empty() {
            // Everything in place: copy with patches.
            for (i, b) in boxes.iter().enumerate() {
                if i == mi {
                    out.write_all(&buf)?;
                } else {
                    bmff::copy_patched(input, out, b.start, b.end, &patches)?;
                }
            }
            return Ok(());
        }
        // iloc layout able to hold the new values.
        let big = input.len()
            + buf.len() as u64
            + relocate
                .iter()
                .map(|(_, p)| p.len() as u64 + 64)
                .sum::<u64>()
            + 65536
            > u32::MAX as u64;
        let need = if big { 8 } else { 4 };
        iloc.offset_size = iloc.offset_size.max(need);
        iloc.length_size = iloc.length_size.max(4);
        if iloc.base_size > 0 {
            iloc.base_size = iloc.base_size.max(need);
        }
        let max_id = iloc.items.iter().map(|i| i.id).max().unwrap_or(0);
        if max_id > 0xffff {
            iloc.version = 2;
        }
        let old_end = meta.end;
        let orig = iloc.clone();
        let build = |delta: i64, mdat_data: u64| -> Result<Vec<u8>> {
            let mut l = orig.clone();
            let mut pos = mdat_data;
            for it in l.items.iter_mut() {
                if let Some((_, p)) = relocate.iter().find(|(id, _)| *id == it.id) {
                    it.method = 0;
                    it.dref = 0;
                    it.base = 0;
                    it.extents = vec![Extent {
                        index: 0,
                        offset: pos,
                        length: p.len() as u64,
                    }];
                    pos += p.len() as u64;
                    continue;
                }
                if it.method != 0 || it.dref != 0 || delta == 0 {
                    continue;
                }
                if l.base_size > 0 && it.base >= old_end {
                    it.base = it.base.checked_add_signed(delta).ok_or_else(|| {
                        CodecError::corrupt(old_end, "iloc base offset out of range")
                    })?;
                } else {
                    for e in it.extents.iter_mut() {
                        if it.base.saturating_add(e.offset) >= old_end {
                            e.offset = e.offset.checked_add_signed(delta).ok_or_else(|| {
                                CodecError::corrupt(old_end, "iloc offset out of range")
                            })?;
                        }
                    }
                }
            }
            if l.items.iter().any(|i| i.method != 0) {
                l.version = l.version.max(1);
            }
            let mut body = Vec::new();
            body.extend_from_slice(&buf[rel.body_start() as usize..rel.body_start() as usize + 4]);
            for (i, k) in m.kids.iter().enumerate() {
                if i == iloc_i {
                    body.extend_from_slice(&bmff::rebuild_box(&buf, k, &serialize_iloc(&l)?));
                } else if Some(i) == m.iinf.map(|x| x.0) && new_item.is_some() {
                    let (_, v) = m.iinf.expect("checked");
                    let id = new_item.expect("checked");
                    let mut b = buf[k.body_start() as usize..k.body_start() as usize + 4].to_vec();
                    let n = m.infes.len() as u64 + 1;
                    if v == 0 {
                        put(&mut b, n, 2)?;
                    } else {
                        put(&mut b, n, 4)?;
                    }
                    // Each entry with its real size: a last entry of size 0 ("to the end of
                    // iinf") would swallow the new infe (found by fuzzing: the write
                    // succeeded and the output read back without the label).
                    for e in &m.iinf_kids {
                        b.extend_from_slice(&e.bytes(&buf));
                    }
                    b.extend_from_slice(&new_infe(id));
                    body.extend_from_slice(&bmff::rebuild_box(&buf, k, &b));
                    if m.iref.is_none() {
                        if let Some(p) = m.primary {
                            body.extend_from_slice(&new_iref(id, p, None, meta.start)?);
                        }
                    }
                } else if let (true, Some(id), Some(p)) = (Some(i) == m.iref, new_item, m.primary) {
                    let v = buf.get(k.body_start() as usize).copied().unwrap_or(0);
                    body.extend_from_slice(&new_iref(id, p, Some((&buf, k, v)), meta.start)?);
                } else {
                    body.extend_from_slice(&k.bytes(&buf));
                }
            }
            if let (Some(id), None) = (new_item, m.iinf) {
                let mut b = vec![0u8; 4];
                put(&mut b, 1, 2)?;
                b.extend_from_slice(&new_infe(id));
                body.extend_from_slice(&bmff::make_box(b"iinf", &b));
                if let (None, Some(p)) = (m.iref, m.primary) {
                    body.extend_from_slice(&new_iref(id, p, None, meta.start)?);
                }
            }
            Ok(bmff::rebuild_box(&buf, &rel, &body))
        };
        let trial = build(0, 0)?;
        let delta = trial.len() as i64 - meta.size() as i64;
        let new_len = (input.len() as i64 + delta) as u64;
        let total: u64 = relocate.iter().map(|(_, p)| p.len() as u64).sum();
        let mdat_header = if total + 8 > u32::MAX as u64 { 16 } else { 8 };
        let new_meta = build(delta, new_len + mdat_header)?;
        if new_meta.len() != trial.len() {
            return Err(CodecError::Unsupported(
                "iloc layout changed size between passes".into(),
            ));
        }
        // The new mdat goes after the last top-level box: if that box's size field is 0 ("to
        // the end of the file"), it gets its real size, or it would swallow the new mdat.
        if let Some(last) = boxes.last().filter(|_| mi + 1 < boxes.len()) {
            input.seek_to(last.start)?;
            if input.peek(4)?.get(0..4) == Some(&[0, 0, 0, 0][..]) {
                let size = u32::try_from(last.size()).map_err(|_| {
                    CodecError::Unsupported(format!(
                        "the last box ({}, at offset {}) has size 0 (to the end of the file) and is too large for a 32-bit size: the new mdat cannot be appended after it",
                        last.name(),
                        last.start
                    ))
                })?;
                patches.push((last.start, size.to_be_bytes().to_vec()));
                patches.sort_by_key(|p| p.0);
            }
        }
        for (i, b) in boxes.iter().enumerate() {
            if i == mi {
                out.write_all(&new_meta)?;
            } else {
                bmff::copy_patched(input, out, b.start, b.end, &patches)?;
            }
        }
        let mut data = Vec::new();
        for (_, p) in &relocate {
            data.extend_from_slice(p);
        }
        out.write_all(&bmff::make_box(b"mdat", &data))?;
        Ok(())
    }
}

/// Every same-length patch of the input (sorted) must lie inside the body of one top-level box
/// other than `meta`, and not overlap the next: `meta` is written from its parsed copy (a patch
/// there would be lost, the label with it), a patch over a box header would break the file's
/// structure, and of two overlapping patches the second would be cut. `boxes` are the top-level
/// boxes in file order.
fn check_patches(boxes: &[BoxRef], mi: usize, patches: &[(u64, Vec<u8>)]) -> Result<()> {
    let mut prev_end = 0u64;
    for (off, bytes) in patches.iter().filter(|p| !p.1.is_empty()) {
        let end = off.saturating_add(bytes.len() as u64);
        if *off < prev_end {
            return Err(CodecError::corrupt(
                *off,
                "item bytes to rewrite overlap other item bytes to rewrite",
            ));
        }
        prev_end = end;
        // The box holding the first byte (the last one starting at or before it).
        let i = boxes.partition_point(|b| b.start <= *off);
        let inside = i > 0 && i - 1 != mi && {
            let b = &boxes[i - 1];
            *off >= b.body_start() && end <= b.end
        };
        if !inside {
            return Err(CodecError::corrupt(
                *off,
                format!(
                    "item bytes to rewrite in place ({} bytes) lie in the meta box or across a box boundary, not inside the body of one other top-level box",
                    bytes.len()
                ),
            ));
        }
    }
    Ok(())
}

fn new_infe(id: u32) -> Vec<u8> {
    let mut b = Vec::new();
    if id <= 0xffff {
        b.extend_from_slice(&[2, 0, 0, 0]);
        b.extend_from_slice(&(id as u16).to_be_bytes());
    } else {
        b.extend_from_slice(&[3, 0, 0, 0]);
        b.extend_from_slice(&id.to_be_bytes());
    }
    b.extend_from_slice(&[0, 0]);
    b.extend_from_slice(b"mime");
    b.extend_from_slice(b"XMP\0");
    b.extend_from_slice(XMP_MIME.as_bytes());
    b.push(0);
    bmff::make_box(b"infe", &b)
}

/// An `iref` with a `cdsc` reference from `from` to `to`, appended to an existing one if given
/// (`base`: the file offset of the buffer, for messages).
fn new_iref(
    from: u32,
    to: u32,
    existing: Option<(&[u8], &BoxRef, u8)>,
    base: u64,
) -> Result<Vec<u8>> {
    let v = existing
        .map(|e| e.2)
        .unwrap_or(if from > 0xffff || to > 0xffff { 1 } else { 0 });
    let n = if v == 0 { 2 } else { 4 };
    let mut r = Vec::new();
    put(&mut r, from as u64, n)?;
    put(&mut r, 1, 2)?;
    put(&mut r, to as u64, n)?;
    let cdsc = bmff::make_box(b"cdsc", &r);
    Ok(match existing {
        Some((buf, k, _)) => {
            // The references with their real sizes: a last one of size 0 ("to the end of
            // iref") would swallow the new cdsc.
            if k.end < k.body_start() + 4 {
                return Err(CodecError::corrupt(
                    base + k.start,
                    "iref without version and flags",
                ));
            }
            let mut body = buf[k.body_start() as usize..k.body_start() as usize + 4].to_vec();
            for r in bmff::children(buf, k.body_start() as usize + 4..k.end as usize, base, 2)? {
                body.extend_from_slice(&r.bytes(buf));
            }
            body.extend_from_slice(&cdsc);
            bmff::rebuild_box(buf, k, &body)
        }
        None => {
            let mut body = vec![v, 0, 0, 0];
            body.extend_from_slice(&cdsc);
            bmff::make_box(b"iref", &body)
        }
    })
}
