//! MP4 / MOV / M4A: the label is the value of the key `AIGC` in `moov/udta/meta` (FullBox,
//! `hdlr` `mdta`): a `keys` entry (namespace `mdta`, name `AIGC`) and the `ilst` item whose type
//! is that key's 1-based index, holding a `data` atom of type 1 (UTF-8) (video guide PG-20257A,
//! as ffmpeg writes it with `-movflags use_metadata_tags`).
//!
//! Also read, each noted as a non-standard carrier: the QuickTime-style `meta` directly under
//! `moov` (no FullBox header; Doubao iOS), keyless `hdlr mdir` `ilst` items whose value is a JSON
//! label (Doubao iOS), iTunes freeform `----` items named `AIGC` (mp4ameta), and XMP in the
//! top-level `uuid` box BE7ACFCB-97A9-42E8-9C71-999491E3AFAC (ExifTool) or in `moov/udta/XMP_`.
//!
//! Writing rewrites only `moov` (read into memory, bounded by [`limits::MAX_MOOV_BYTES`]); `mdat`
//! and every other top-level box is streamed. When `moov` changes size, a `free`/`skip` box
//! right after it absorbs the change when it can (or a new `free` box fills a shrink); otherwise
//! every `stco`/`co64` chunk offset that points past the old `moov` is shifted. When a 32-bit
//! `stco` entry would pass 4 GiB, every `stco` is widened to `co64` first (files over 4 GiB). Fragmented
//! files (`moof`, `mvex`) also hold absolute offsets outside `moov`: `tfhd` base_data_offset
//! and `mfra/tfra` moof offsets are patched in place (same size) while the fragments stream
//! through. XMP carriers are cleaned and padded with spaces to their old size, so they never
//! shift anything.

use std::io::Write;

use super::bmff::{self, BoxRef};
use super::{xmp, Format, Found};
use crate::error::{CodecError, Result};
use crate::io::{Input, Output};
use crate::label::ProblemCode;
use crate::limits;
use crate::media::{Modality, PayloadMethod};

/// UUID of the ISO-BMFF XMP box.
pub const XMP_UUID: [u8; 16] = [
    0xBE, 0x7A, 0xCF, 0xCB, 0x97, 0xA9, 0x42, 0xE8, 0x9C, 0x71, 0x99, 0x94, 0x91, 0xE3, 0xAF, 0xAC,
];

/// The MP4/MOV/M4A container.
pub struct IsoBmff;

/// One `ilst` item.
struct Item {
    b: BoxRef,
    /// Text of its first `data` atom, when it is text.
    text: Option<String>,
    /// Name of a `----` freeform item.
    freeform: Option<String>,
}

/// A parsed `meta` box (ISO FullBox or QuickTime form).
struct Meta {
    b: BoxRef,
    full: bool,
    kids: Vec<BoxRef>,
    handler: Option<[u8; 4]>,
    keys_box: Option<usize>,
    /// `keys` entries: raw bytes range in the buffer, and the name.
    keys: Vec<(std::ops::Range<usize>, Vec<u8>)>,
    ilst_box: Option<usize>,
    items: Vec<Item>,
}

fn is_aigc(name: &[u8]) -> bool {
    name.eq_ignore_ascii_case(b"AIGC")
}

fn looks_like_label(text: &str) -> bool {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    t.starts_with('{') && (t.contains("\"Label\"") || t.contains("\"AIGC\""))
}

fn data_text(body: &[u8]) -> Option<String> {
    if body.len() < 8 {
        return None;
    }
    let ty = u32::from_be_bytes([0, body[1], body[2], body[3]]);
    let v = &body[8..];
    match ty {
        0 | 1 => Some(String::from_utf8_lossy(v).into_owned()),
        2 => {
            let units: Vec<u16> = v
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            Some(String::from_utf16_lossy(&units))
        }
        _ => None,
    }
}

fn parse_meta(buf: &[u8], b: &BoxRef, base: u64, depth: usize) -> Result<Meta> {
    let body = &buf[b.body()];
    let full = bmff::meta_is_full_box(body);
    let kids_start = b.body_start() as usize + if full { 4 } else { 0 };
    if kids_start > b.end as usize {
        return Err(CodecError::corrupt(base + b.start, "meta box too short"));
    }
    let kids = bmff::children(buf, kids_start..b.end as usize, base, depth + 1)?;
    let mut m = Meta {
        b: b.clone(),
        full,
        kids,
        handler: None,
        keys_box: None,
        keys: Vec::new(),
        ilst_box: None,
        items: Vec::new(),
    };
    for (i, k) in m.kids.iter().enumerate() {
        let at = base + k.start;
        match &k.kind {
            b"hdlr" if m.handler.is_none() => {
                let body = &buf[k.body()];
                if body.len() >= 12 {
                    m.handler = Some(body[8..12].try_into().expect("4 bytes"));
                }
            }
            b"keys" if m.keys_box.is_none() => {
                m.keys_box = Some(i);
                let body = &buf[k.body()];
                let (_, _, rest) = bmff::full_box(body, at)?;
                if rest.len() < 4 {
                    return Err(CodecError::corrupt(at, "keys box without entry count"));
                }
                let count = u32::from_be_bytes(rest[0..4].try_into().expect("4 bytes"));
                let mut pos = k.body_start() as usize + 8;
                for n in 0..count {
                    if pos + 8 > k.end as usize {
                        return Err(CodecError::corrupt(
                            base + pos as u64,
                            format!("keys entry {} of {count} runs past the keys box", n + 1),
                        ));
                    }
                    let size =
                        u32::from_be_bytes(buf[pos..pos + 4].try_into().expect("4 bytes")) as usize;
                    if size < 8 || pos + size > k.end as usize {
                        return Err(CodecError::corrupt(
                            base + pos as u64,
                            format!("keys entry of size {size} does not fit its box"),
                        ));
                    }
                    m.keys
                        .push((pos..pos + size, buf[pos + 8..pos + size].to_vec()));
                    pos += size;
                }
            }
            b"ilst" if m.ilst_box.is_none() => {
                m.ilst_box = Some(i);
                for item in bmff::children(buf, k.body(), base, depth + 2)? {
                    let mut text = None;
                    let mut freeform = None;
                    for sub in bmff::children(buf, item.body(), base, depth + 3)? {
                        let sb = &buf[sub.body()];
                        match &sub.kind {
                            b"data" if text.is_none() => text = data_text(sb),
                            b"name" if &item.kind == b"----" && sb.len() >= 4 => {
                                freeform = Some(String::from_utf8_lossy(&sb[4..]).into_owned())
                            }
                            _ => {}
                        }
                    }
                    m.items.push(Item {
                        b: item,
                        text,
                        freeform,
                    });
                }
            }
            _ => {}
        }
    }
    Ok(m)
}

/// What an `ilst` item of a meta is, label-wise.
enum ItemRole {
    /// The value of a key named AIGC (any case): index into `keys`.
    Key(usize),
    /// A freeform `----` item named AIGC.
    Freeform,
    /// A keyless item whose value is a JSON label.
    Keyless,
    Other,
}

impl Meta {
    fn is_mdta(&self) -> bool {
        self.handler.as_ref() == Some(b"mdta")
    }

    fn role(&self, item: &Item) -> ItemRole {
        if self.is_mdta() {
            let idx = u32::from_be_bytes(item.b.kind) as usize;
            if idx >= 1 && idx <= self.keys.len() && is_aigc(&self.keys[idx - 1].1) {
                return ItemRole::Key(idx - 1);
            }
            return ItemRole::Other;
        }
        if &item.b.kind == b"----" {
            if item
                .freeform
                .as_deref()
                .is_some_and(|n| is_aigc(n.as_bytes()))
            {
                return ItemRole::Freeform;
            }
            return ItemRole::Other;
        }
        if item.text.as_deref().is_some_and(looks_like_label) {
            return ItemRole::Keyless;
        }
        ItemRole::Other
    }

    fn collect(&self, path: &str, base: u64, standard_place: bool, found: &mut Vec<Found>) {
        for item in &self.items {
            let Some(text) = item.text.clone() else {
                continue;
            };
            let at = base + item.b.start;
            let f = match self.role(item) {
                ItemRole::Key(k) => {
                    let name = String::from_utf8_lossy(&self.keys[k].1).into_owned();
                    let mut f = Found::named(format!("mp4/{path}/keys/{name}"), at, text);
                    if name != "AIGC" {
                        f = f.note(
                            ProblemCode::KeyCase,
                            format!("mdta key is {name:?}, not \"AIGC\""),
                        );
                    }
                    if !standard_place {
                        f = f.note(
                            ProblemCode::NonstandardCarrier,
                            format!("mdta keys in {path} (QuickTime-style meta directly under moov, as Doubao iOS writes it); the video guide's carrier is moov/udta/meta"),
                        );
                    }
                    f
                }
                ItemRole::Freeform => Found::named(format!("mp4/{path}/ilst/----:AIGC"), at, text).note(
                    ProblemCode::NonstandardCarrier,
                    "iTunes freeform ---- item named AIGC (mp4ameta style); the video guide's carrier is an mdta key AIGC in moov/udta/meta",
                ),
                ItemRole::Keyless => {
                    let kind = bmff::fourcc(&item.b.kind);
                    Found::named(format!("mp4/{path}/ilst/{kind}"), at, text).note(
                        ProblemCode::NonstandardCarrier,
                        format!("keyless {} ilst item {kind} holding a JSON label (Doubao iOS style); the video guide's carrier is an mdta key AIGC in moov/udta/meta",
                            self.handler.map(|h| bmff::fourcc(&h)).unwrap_or_else(|| "(no hdlr)".into())),
                    )
                }
                ItemRole::Other => continue,
            };
            found.push(f);
        }
    }

    /// The meta box rewritten: every AIGC carrier removed, and when `set` is given, the AIGC
    /// key set to it (this must be an mdta meta). Unchanged metas come back byte for byte.
    fn edit(&self, buf: &[u8], set: Option<&str>, base: u64) -> Result<Vec<u8>> {
        let matches: Vec<usize> = (0..self.keys.len())
            .filter(|&i| is_aigc(&self.keys[i].1))
            .collect();
        let carriers = self
            .items
            .iter()
            .any(|i| !matches!(self.role(i), ItemRole::Other));
        if set.is_none() && matches.is_empty() && !carriers {
            return Ok(self.b.bytes(buf).into_owned());
        }
        let mdta = self.is_mdta();
        let keep = if set.is_some() {
            matches.first().copied()
        } else {
            None
        };
        let removed: Vec<usize> = matches
            .iter()
            .copied()
            .filter(|&i| Some(i) != keep)
            .collect();
        // Old 1-based index -> new 1-based index.
        let new_index = |old: usize| -> Option<usize> {
            if old == 0 || old > self.keys.len() || removed.contains(&(old - 1)) {
                return None;
            }
            Some(old - removed.iter().filter(|&&r| r < old - 1).count())
        };
        let mut key_entries: Vec<u8> = Vec::new();
        let mut key_count = 0u32;
        for (i, (range, _)) in self.keys.iter().enumerate() {
            if removed.contains(&i) {
                continue;
            }
            key_count += 1;
            if Some(i) == keep {
                key_entries.extend_from_slice(&key_entry("AIGC"));
            } else {
                key_entries.extend_from_slice(&buf[range.clone()]);
            }
        }
        let aigc_index = match (set, keep) {
            (Some(_), Some(k)) => new_index(k + 1),
            (Some(_), None) => {
                key_count += 1;
                key_entries.extend_from_slice(&key_entry("AIGC"));
                Some(key_count as usize)
            }
            _ => None,
        };
        // An item whose index names no key (a damaged `keys`, e.g. an entry count smaller
        // than the entries present) would become the value of the new AIGC key if it has the
        // index that key gets: the output would hold two AIGC values (found by fuzzing).
        // Such a meta is refused rather than guessed at.
        if let (true, Some(n)) = (mdta, aigc_index) {
            if let Some(orphan) = self.items.iter().find(|i| {
                let old = u32::from_be_bytes(i.b.kind) as usize;
                (old == 0 || old > self.keys.len()) && old == n
            }) {
                return Err(CodecError::corrupt(
                    base + orphan.b.start,
                    format!(
                        "ilst item {n} refers to no key (keys declares {} entries); the new AIGC key would take its value",
                        self.keys.len()
                    ),
                ));
            }
        }
        let mut items: Vec<u8> = Vec::new();
        let mut written = false;
        for item in &self.items {
            // With its real size: a last item of size 0 ("to the end of ilst") would swallow
            // the AIGC item appended after it (found by fuzzing: the write succeeded and the
            // output read back without the label).
            let raw = item.b.bytes(buf);
            let raw = &raw[..];
            if mdta {
                let old = u32::from_be_bytes(item.b.kind) as usize;
                if old >= 1 && old <= self.keys.len() {
                    match new_index(old) {
                        None => continue,
                        Some(n) if Some(n) == aigc_index => {
                            if !written {
                                items.extend_from_slice(&data_item(n as u32, set.unwrap_or("")));
                                written = true;
                            }
                            continue;
                        }
                        Some(n) if n != old => {
                            let mut v = raw.to_vec();
                            v[4..8].copy_from_slice(&(n as u32).to_be_bytes());
                            items.extend_from_slice(&v);
                            continue;
                        }
                        _ => {}
                    }
                }
                items.extend_from_slice(raw);
            } else if matches!(self.role(item), ItemRole::Other) {
                items.extend_from_slice(raw);
            }
        }
        if let (Some(json), Some(n), false) = (set, aigc_index, written) {
            items.extend_from_slice(&data_item(n as u32, json));
        }
        let mut body = Vec::new();
        if self.full {
            body.extend_from_slice(
                &buf[self.b.body_start() as usize..self.b.body_start() as usize + 4],
            );
        }
        for (i, k) in self.kids.iter().enumerate() {
            if Some(i) == self.keys_box && mdta {
                let prefix = &buf[k.body_start() as usize..k.body_start() as usize + 4];
                let mut kb = prefix.to_vec();
                kb.extend_from_slice(&key_count.to_be_bytes());
                kb.extend_from_slice(&key_entries);
                body.extend_from_slice(&bmff::rebuild_box(buf, k, &kb));
            } else if Some(i) == self.ilst_box {
                body.extend_from_slice(&bmff::rebuild_box(buf, k, &items));
            } else {
                body.extend_from_slice(&k.bytes(buf));
            }
        }
        if mdta && self.keys_box.is_none() && set.is_some() {
            let mut kb = vec![0u8; 4];
            kb.extend_from_slice(&key_count.to_be_bytes());
            kb.extend_from_slice(&key_entries);
            body.extend_from_slice(&bmff::make_box(b"keys", &kb));
        }
        if self.ilst_box.is_none() && set.is_some() {
            body.extend_from_slice(&bmff::make_box(b"ilst", &items));
        }
        Ok(bmff::rebuild_box(buf, &self.b, &body))
    }
}

fn key_entry(name: &str) -> Vec<u8> {
    let mut e = ((name.len() + 8) as u32).to_be_bytes().to_vec();
    e.extend_from_slice(b"mdta");
    e.extend_from_slice(name.as_bytes());
    e
}

fn data_item(index: u32, json: &str) -> Vec<u8> {
    let mut data = vec![0, 0, 0, 1, 0, 0, 0, 0];
    data.extend_from_slice(json.as_bytes());
    bmff::make_box(&index.to_be_bytes(), &bmff::make_box(b"data", &data))
}

/// A fresh `meta` (FullBox v0) with `hdlr mdta`, `keys` = [AIGC] and its `ilst` item.
fn new_meta(json: &str) -> Vec<u8> {
    let mut hdlr = vec![0u8; 8];
    hdlr.extend_from_slice(b"mdta");
    hdlr.extend_from_slice(&[0u8; 13]);
    let mut keys = vec![0, 0, 0, 0, 0, 0, 0, 1];
    keys.extend_from_slice(&key_entry("AIGC"));
    let mut body = vec![0u8; 4];
    body.extend_from_slice(&bmff::make_box(b"hdlr", &hdlr));
    body.extend_from_slice(&bmff::make_box(b"keys", &keys));
    body.extend_from_slice(&bmff::make_box(b"ilst", &data_item(1, json)));
    bmff::make_box(b"meta", &body)
}

fn xmp_found(packet: &[u8], carrier: &str, at: u64, found: &mut Vec<Found>) -> Result<()> {
    let text = String::from_utf8_lossy(packet);
    for (value, notes) in xmp::find_labels(&text).map_err(xmp::error_at(at))? {
        let mut f = Found::named(carrier, at, value).note(
            ProblemCode::NonstandardCarrier,
            "XMP in an MP4 (ExifTool style); the video guide's carrier is an mdta key AIGC in moov/udta/meta",
        );
        f.notes.extend(notes);
        found.push(f);
    }
    Ok(())
}

/// An XMP packet with its labels removed, padded to its old length (None when it had none).
fn cleaned_xmp(packet: &[u8], at: u64) -> Result<Option<Vec<u8>>> {
    let text = String::from_utf8_lossy(packet);
    if !xmp::has_label(&text) {
        return Ok(None);
    }
    let cleaned = xmp::remove_labels(&text).map_err(xmp::error_at(at))?;
    bmff::pad_packet(&cleaned, packet.len())
        .map(Some)
        .ok_or_else(|| CodecError::Unsupported("cleaned XMP packet grew".into()))
}

fn scan_moov(buf: &[u8], moov: &BoxRef, base: u64, found: &mut Vec<Found>) -> Result<()> {
    for kid in bmff::children(buf, moov.body(), base, 1)? {
        match &kid.kind {
            b"udta" => {
                for u in bmff::children(buf, kid.body(), base, 2)? {
                    match &u.kind {
                        b"meta" => parse_meta(buf, &u, base, 2)?.collect(
                            "moov/udta/meta",
                            base,
                            true,
                            found,
                        ),
                        b"XMP_" => {
                            xmp_found(&buf[u.body()], "mp4/moov/udta/XMP_", base + u.start, found)?
                        }
                        _ => {}
                    }
                }
            }
            b"meta" => parse_meta(buf, &kid, base, 1)?.collect("moov/meta", base, false, found),
            _ => {}
        }
    }
    Ok(())
}

/// The udta rewritten: the standard meta set (or added) when `set` is given, every other
/// label carrier cleaned.
fn edit_udta(
    buf: &[u8],
    udta: &BoxRef,
    base: u64,
    set: Option<&str>,
    mut free_adjust: i64,
) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut done = set.is_none();
    for u in bmff::children(buf, udta.body(), base, 2)? {
        match &u.kind {
            b"meta" => {
                let m = parse_meta(buf, &u, base, 2)?;
                if m.is_mdta() && !done {
                    body.extend_from_slice(&m.edit(buf, set, base)?);
                    done = true;
                } else {
                    body.extend_from_slice(&m.edit(buf, None, base)?);
                }
            }
            b"XMP_" => match cleaned_xmp(&buf[u.body()], base + u.start)? {
                Some(p) => body.extend_from_slice(&bmff::rebuild_box(buf, &u, &p)),
                None => body.extend_from_slice(&u.bytes(buf)),
            },
            b"free" | b"skip" if free_adjust != 0 && u.header_len == 8 => {
                // Slack inside udta: resized so that moov keeps its size.
                let n = u.size() as i64 + free_adjust;
                free_adjust = 0;
                if n >= 8 {
                    body.extend_from_slice(&bmff::free_box(n as u64));
                }
            }
            _ => body.extend_from_slice(&u.bytes(buf)),
        }
    }
    if let (false, Some(json)) = (done, set) {
        body.extend_from_slice(&new_meta(json));
    }
    Ok(bmff::rebuild_box(buf, udta, &body))
}

/// The first `free`/`skip` box directly inside the first `udta` of moov, if any (its size).
fn udta_free(buf: &[u8], moov: &BoxRef, base: u64) -> Result<Option<u64>> {
    let Some(udta) = bmff::children(buf, moov.body(), base, 1)?
        .into_iter()
        .find(|k| &k.kind == b"udta")
    else {
        return Ok(None);
    };
    Ok(bmff::children(buf, udta.body(), base, 2)?
        .into_iter()
        .find(|u| (&u.kind == b"free" || &u.kind == b"skip") && u.header_len == 8)
        .map(|u| u.size()))
}

fn edit_moov(
    buf: &[u8],
    moov: &BoxRef,
    base: u64,
    json: &str,
    free_adjust: i64,
) -> Result<(Vec<u8>, bool)> {
    let mut body = Vec::new();
    let mut has_udta = false;
    let mut fragmented = false;
    for kid in bmff::children(buf, moov.body(), base, 1)? {
        match &kid.kind {
            b"udta" => {
                let (set, adjust) = if has_udta {
                    (None, 0)
                } else {
                    (Some(json), free_adjust)
                };
                has_udta = true;
                body.extend_from_slice(&edit_udta(buf, &kid, base, set, adjust)?);
            }
            b"meta" => {
                body.extend_from_slice(&parse_meta(buf, &kid, base, 1)?.edit(buf, None, base)?)
            }
            b"mvex" => {
                fragmented = true;
                body.extend_from_slice(&kid.bytes(buf));
            }
            _ => body.extend_from_slice(&kid.bytes(buf)),
        }
    }
    if !has_udta {
        body.extend_from_slice(&bmff::make_box(b"udta", &new_meta(json)));
    }
    Ok((bmff::rebuild_box(buf, moov, &body), fragmented))
}

/// Shift every `stco`/`co64` entry >= `from` by `delta`, in place, in every `trak`. Returns
/// false (with `buf` partly patched: patch a copy) when a 32-bit `stco` entry would pass
/// 4 GiB, so that the caller can widen the `stco` boxes to `co64` ([`widen_stco`]) and retry.
fn patch_chunk_offsets(buf: &mut [u8], from: u64, delta: i64, base: u64) -> Result<bool> {
    fn walk(
        buf: &mut [u8],
        range: std::ops::Range<usize>,
        depth: usize,
        from: u64,
        delta: i64,
        base: u64,
    ) -> Result<bool> {
        for b in bmff::children(buf, range, base, depth)? {
            match &b.kind {
                b"trak" | b"mdia" | b"minf" | b"stbl" | b"edts" => {
                    let fits = walk(buf, b.body(), depth + 1, from, delta, base)?;
                    if !fits {
                        return Ok(false);
                    }
                }
                b"stco" | b"co64" => {
                    let wide = &b.kind == b"co64";
                    let at = base + b.start;
                    let body = b.body();
                    if body.len() < 8 {
                        return Err(CodecError::corrupt(at, "chunk offset box too short"));
                    }
                    let count = u32::from_be_bytes(
                        buf[body.start + 4..body.start + 8].try_into().expect("4"),
                    ) as usize;
                    let w = if wide { 8 } else { 4 };
                    if count.checked_mul(w).is_none_or(|n| n > body.len() - 8) {
                        return Err(CodecError::corrupt(
                            at,
                            format!("{count} chunk offsets do not fit the {} box", b.name()),
                        ));
                    }
                    for i in 0..count {
                        let p = body.start + 8 + i * w;
                        let v = if wide {
                            u64::from_be_bytes(buf[p..p + 8].try_into().expect("8"))
                        } else {
                            u32::from_be_bytes(buf[p..p + 4].try_into().expect("4")) as u64
                        };
                        if v < from {
                            continue;
                        }
                        let n = v
                            .checked_add_signed(delta)
                            .ok_or_else(|| CodecError::corrupt(at, "chunk offset out of range"))?;
                        if wide {
                            buf[p..p + 8].copy_from_slice(&n.to_be_bytes());
                        } else {
                            let Ok(n32) = u32::try_from(n) else {
                                return Ok(false);
                            };
                            buf[p..p + 4].copy_from_slice(&n32.to_be_bytes());
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(true)
    }
    let len = buf.len();
    let moov = bmff::parse_header(&buf[..len.min(32)], 0, len as u64, base)?;
    walk(buf, moov.body(), 1, from, delta, base)
}

/// `moov` (the whole box in `buf`) with every `stco` (32-bit chunk offsets) rewritten as a
/// `co64` holding the same offsets in 64 bits: what a growing `moov` needs when shifting the
/// chunks would carry an offset past 4 GiB. Every other box is copied unchanged.
fn widen_stco(buf: &[u8], base: u64) -> Result<Vec<u8>> {
    fn widen(buf: &[u8], b: &BoxRef, base: u64, depth: usize) -> Result<Vec<u8>> {
        match &b.kind {
            b"moov" | b"trak" | b"mdia" | b"minf" | b"stbl" => {
                let mut body = Vec::with_capacity(b.size() as usize);
                for k in bmff::children(buf, b.body(), base, depth + 1)? {
                    body.extend_from_slice(&widen(buf, &k, base, depth + 1)?);
                }
                Ok(bmff::rebuild_box(buf, b, &body))
            }
            b"stco" => {
                let at = base + b.start;
                let body = &buf[b.body()];
                if body.len() < 8 {
                    return Err(CodecError::corrupt(at, "chunk offset box too short"));
                }
                let count = u32::from_be_bytes(body[4..8].try_into().expect("4")) as usize;
                if count.checked_mul(4).is_none_or(|n| n > body.len() - 8) {
                    return Err(CodecError::corrupt(
                        at,
                        format!("{count} chunk offsets do not fit the stco box"),
                    ));
                }
                let mut wide = Vec::with_capacity(8 + count * 8);
                wide.extend_from_slice(&body[..8]); // version, flags, entry count
                for e in body[8..8 + count * 4].chunks_exact(4) {
                    let v = u32::from_be_bytes(e.try_into().expect("4")) as u64;
                    wide.extend_from_slice(&v.to_be_bytes());
                }
                Ok(bmff::make_box(b"co64", &wide))
            }
            _ => Ok(b.bytes(buf).into_owned()),
        }
    }
    let len = buf.len();
    let moov = bmff::parse_header(&buf[..len.min(32)], 0, len as u64, base)?;
    widen(buf, &moov, base, 0)
}

/// Same-size patches (absolute offset, new bytes) for the absolute file offsets of a fragmented
/// file that point past `from`: `tfhd` base_data_offset (flag 0x1) in every `moof`, and the
/// `moof_offset` of every `tfra` entry in `mfra`. (`sidx` offsets are relative to the `sidx`
/// itself, which moves with the data; default-base-is-moof files need nothing.)
fn fragment_patches(
    input: &mut Input,
    boxes: &[BoxRef],
    from: u64,
    delta: i64,
) -> Result<Vec<(u64, Vec<u8>)>> {
    let mut patches = Vec::new();
    let shifted = |v: u64, at: u64| -> Result<u64> {
        if v < from {
            return Ok(v);
        }
        v.checked_add_signed(delta)
            .ok_or_else(|| CodecError::corrupt(at, "offset out of range"))
    };
    for b in boxes
        .iter()
        .filter(|b| &b.kind == b"moof" || &b.kind == b"mfra")
    {
        let buf = bmff::read_box(input, b, limits::MAX_METADATA_BYTES)?;
        let rel = BoxRef {
            start: 0,
            end: b.size(),
            ..b.clone()
        };
        for k in bmff::children(&buf, rel.body(), b.start, 1)? {
            let at = b.start + k.start;
            match &k.kind {
                b"traf" => {
                    for t in bmff::children(&buf, k.body(), b.start, 2)? {
                        if &t.kind != b"tfhd" {
                            continue;
                        }
                        let (_, flags, rest) = bmff::full_box(&buf[t.body()], b.start + t.start)?;
                        if flags & 1 == 0 {
                            continue;
                        }
                        if rest.len() < 12 {
                            return Err(CodecError::corrupt(
                                b.start + t.start,
                                "tfhd too short for its base_data_offset",
                            ));
                        }
                        let v = u64::from_be_bytes(rest[4..12].try_into().expect("8 bytes"));
                        let pos = b.start + t.body_start() + 8;
                        patches.push((pos, shifted(v, pos)?.to_be_bytes().to_vec()));
                    }
                }
                b"tfra" => {
                    let (v, _, d) = bmff::full_box(&buf[k.body()], at)?;
                    let mut p = 4usize;
                    let sizes = bmff::read_uint(d, &mut p, 4, at)?;
                    let count = bmff::read_uint(d, &mut p, 4, at)?;
                    let w = if v == 1 { 8 } else { 4 };
                    let rest = (((sizes >> 4) & 3) + ((sizes >> 2) & 3) + (sizes & 3) + 3) as usize;
                    if count as usize > d.len() / (2 * w + rest).max(1) {
                        return Err(CodecError::corrupt(
                            at,
                            format!("tfra announces {count} entries"),
                        ));
                    }
                    for _ in 0..count {
                        p += w;
                        let off_at = p;
                        let o = bmff::read_uint(d, &mut p, w, at)?;
                        let pos = b.start + k.body_start() + 4 + off_at as u64;
                        let n = shifted(o, pos)?;
                        let bytes = if w == 8 {
                            n.to_be_bytes().to_vec()
                        } else {
                            u32::try_from(n)
                                .map_err(|_| {
                                    CodecError::Unsupported(
                                        "a 32-bit tfra moof offset would pass 4 GiB".into(),
                                    )
                                })?
                                .to_be_bytes()
                                .to_vec()
                        };
                        patches.push((pos, bytes));
                        p += rest;
                        if p > d.len() {
                            return Err(CodecError::corrupt(at, "tfra entries run past the box"));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    patches.sort_by_key(|p| p.0);
    Ok(patches)
}

/// Data after `moov` from this size on is moved by a whole number of pages (a `free` box after
/// `moov` takes up the difference, at most 4103 bytes): the copy's source and destination
/// offsets are then congruent modulo the page and block size, so the kernel copies each page
/// of `mdat` into one page (measured with copy_file_range on ext4, a 175 MB mdat: 76-81 ms of
/// CPU against 89-93 ms for a shift of 296 bytes), and a file system with reflinks (XFS,
/// Btrfs) can share the data's blocks instead of copying them. Below it, the few KiB of
/// padding would matter more than the copy.
const PAGE_CONGRUENCE_MIN: u64 = 1 << 20;

/// The page (and file-system block) size the padding aligns to: 4 KiB on x86-64 and the usual
/// XFS/Btrfs/ext4 block size; a multiple of it is a multiple of every smaller power of two.
const PAGE: i64 = 4096;

/// Bytes to add to a shift of the data so that it becomes a multiple of [`PAGE`]: 0, or at
/// least 8 (the smallest `free` box).
fn page_congruence_pad(shift: i64) -> i64 {
    let mut pad = shift.rem_euclid(PAGE);
    if pad != 0 {
        pad = PAGE - pad;
    }
    if (1..8).contains(&pad) {
        pad += PAGE;
    }
    pad
}

fn is_free(b: &BoxRef) -> bool {
    (&b.kind == b"free" || &b.kind == b"skip") && b.header_len == 8
}

impl Format for IsoBmff {
    fn id(&self) -> &'static str {
        "mp4"
    }
    fn modality(&self, head: &[u8]) -> Modality {
        // An `ftyp` whose major brand is `M4A ` (iTunes audio) is audio; every other brand
        // (isom, mp42, qt, M4V...) is read as video.
        if head.len() >= 12 && &head[4..8] == b"ftyp" && &head[8..11] == b"M4A" {
            Modality::Audio
        } else {
            Modality::Video
        }
    }
    fn payload(&self) -> PayloadMethod {
        PayloadMethod::Packets
    }
    fn media_types(&self) -> &'static [&'static str] {
        &[
            "video/mp4",
            "video/quicktime",
            "audio/mp4",
            "audio/x-m4a",
            "video/x-m4v",
        ]
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["mp4", "mov", "m4a", "m4v", "3gp", "qt"]
    }
    fn carrier(&self) -> &'static str {
        "moov/udta/meta (FullBox, hdlr mdta): keys entry mdta:AIGC + ilst data item (type 1, UTF-8)"
    }
    fn sniff(&self, head: &[u8]) -> bool {
        head.len() >= 8
            && matches!(
                &head[4..8],
                b"ftyp" | b"moov" | b"mdat" | b"free" | b"wide" | b"skip" | b"pnot"
            )
    }

    fn read(&self, input: &mut Input) -> Result<Vec<Found>> {
        let mut found = Vec::new();
        for b in bmff::top_level(input)? {
            match &b.kind {
                b"moov" => {
                    let buf = bmff::read_box(input, &b, limits::MAX_MOOV_BYTES)?;
                    let rel = BoxRef {
                        start: 0,
                        end: b.size(),
                        ..b.clone()
                    };
                    scan_moov(&buf, &rel, b.start, &mut found)?;
                }
                b"uuid" if b.uuid == Some(XMP_UUID) => {
                    input.seek_to(b.body_start())?;
                    let p = input.read_vec(
                        b.end - b.body_start(),
                        limits::MAX_METADATA_BYTES,
                        "XMP uuid box",
                    )?;
                    xmp_found(&p, "mp4/uuid/XMP", b.start, &mut found)?;
                }
                _ => {}
            }
        }
        Ok(found)
    }

    fn write(&self, input: &mut Input, out: &mut Output, json: &str) -> Result<()> {
        let boxes = bmff::top_level(input)?;
        let moovs: Vec<usize> = (0..boxes.len())
            .filter(|&i| &boxes[i].kind == b"moov")
            .collect();
        let mi = match moovs.as_slice() {
            [i] => *i,
            [] => {
                return Err(CodecError::Unsupported(
                    "no moov box: not a playable MP4/MOV".into(),
                ))
            }
            _ => {
                return Err(CodecError::corrupt(
                    boxes[moovs[1]].start,
                    "more than one moov box",
                ))
            }
        };
        let moov = boxes[mi].clone();
        let buf = bmff::read_box(input, &moov, limits::MAX_MOOV_BYTES)?;
        let rel = BoxRef {
            start: 0,
            end: moov.size(),
            ..moov.clone()
        };
        let (mut new_moov, mvex) = edit_moov(&buf, &rel, moov.start, json, 0)?;
        let fragmented = mvex || boxes.iter().any(|b| &b.kind == b"moof");
        let mut delta = new_moov.len() as i64 - moov.size() as i64;
        // Slack inside udta first: a free box there absorbs the change and moov keeps its size.
        if delta != 0 {
            if let Some(f) = udta_free(&buf, &rel, moov.start)? {
                let n = f as i64 - delta;
                if n == 0 || n >= 8 {
                    let (m, _) = edit_moov(&buf, &rel, moov.start, json, -delta)?;
                    if m.len() as u64 == moov.size() {
                        new_moov = m;
                        delta = 0;
                    }
                }
            }
        }
        // Slack: a free box right after moov absorbs the change, or a new one fills a shrink.
        let next_free = boxes.get(mi + 1).filter(|b| is_free(b));
        let mut replace_next: Option<Vec<u8>> = None;
        let mut insert_free: Option<Vec<u8>> = None;
        let mut shift = 0i64;
        if delta > 0 {
            match next_free {
                Some(f) if f.size() as i64 == delta => replace_next = Some(Vec::new()),
                Some(f) if f.size() as i64 >= delta + 8 => {
                    replace_next = Some(bmff::free_box(f.size() - delta as u64))
                }
                _ => shift = delta,
            }
        } else if delta < 0 {
            match next_free {
                Some(f) if f.size() + ((-delta) as u64) <= u32::MAX as u64 => {
                    replace_next = Some(bmff::free_box(f.size() + (-delta) as u64))
                }
                _ if -delta >= 8 => insert_free = Some(bmff::free_box((-delta) as u64)),
                _ => shift = delta,
            }
        }
        let data_after = boxes[mi + 1..]
            .iter()
            .any(|b| b.size() > 8 || &b.kind == b"mdat");
        let mut patches = Vec::new();
        // Large data that moves keeps its offset within a page (see `page_congruence_pad`).
        let moved_bytes = input.len().saturating_sub(moov.end);
        if shift != 0 && data_after && moved_bytes >= PAGE_CONGRUENCE_MIN {
            let pad = page_congruence_pad(shift);
            if pad > 0 {
                insert_free = Some(bmff::free_box(pad as u64));
                shift += pad;
            }
        }
        if shift != 0 && data_after {
            let mut patched = new_moov.clone();
            if !patch_chunk_offsets(&mut patched, moov.end, shift, moov.start)? {
                // A 32-bit chunk offset would pass 4 GiB: every stco becomes a co64 (moov
                // grows by 4 bytes per chunk), and the data moves by the new growth.
                let wide = widen_stco(&new_moov, moov.start)?;
                shift = wide.len() as i64 - moov.size() as i64;
                replace_next = None;
                insert_free = None;
                if moved_bytes >= PAGE_CONGRUENCE_MIN {
                    let pad = page_congruence_pad(shift);
                    if pad > 0 {
                        insert_free = Some(bmff::free_box(pad as u64));
                        shift += pad;
                    }
                }
                patched = wide;
                if !patch_chunk_offsets(&mut patched, moov.end, shift, moov.start)? {
                    return Err(CodecError::corrupt(
                        moov.start,
                        "a chunk offset stays 32-bit after widening stco to co64",
                    ));
                }
            }
            new_moov = patched;
            if fragmented {
                patches = fragment_patches(input, &boxes, moov.end, shift)?;
            }
        }
        for (i, b) in boxes.iter().enumerate() {
            if i == mi {
                out.write_all(&new_moov)?;
                if let Some(f) = &insert_free {
                    out.write_all(f)?;
                }
                continue;
            }
            if i == mi + 1 {
                if let Some(r) = &replace_next {
                    out.write_all(r)?;
                    continue;
                }
            }
            if &b.kind == b"uuid" && b.uuid == Some(XMP_UUID) {
                input.seek_to(b.body_start())?;
                let p = input.read_vec(
                    b.end - b.body_start(),
                    limits::MAX_METADATA_BYTES,
                    "XMP uuid box",
                )?;
                if let Some(clean) = cleaned_xmp(&p, b.start)? {
                    input.seek_to(b.start)?;
                    let header = input.read_vec(b.header_len, 64, "box header")?;
                    out.write_all(&header)?;
                    out.write_all(&clean)?;
                    continue;
                }
            }
            bmff::copy_patched(input, out, b.start, b.end, &patches)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_congruence_pad_makes_whole_pages_with_a_valid_free_box() {
        for shift in [
            -4100i64, -9, -3, -1, 1, 7, 8, 296, 4088, 4089, 4095, 4096, 10_000,
        ] {
            let pad = page_congruence_pad(shift);
            assert_eq!((shift + pad).rem_euclid(PAGE), 0, "shift {shift}");
            assert!(pad == 0 || pad >= 8, "shift {shift}: pad {pad}");
            assert!((0..PAGE + 8).contains(&pad), "shift {shift}: pad {pad}");
        }
        assert_eq!(page_congruence_pad(8192), 0);
    }
}
