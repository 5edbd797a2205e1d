//! FLV: the label is the AMF0 property `AIGC` (a string) of the `onMetaData` script tag
//! (video guide PG-20257A; ffmpeg writes it with `-metadata AIGC=...`).
//!
//! Only the leading script tags (before the first audio or video tag) are examined: that is
//! where `onMetaData` lives, and it keeps reading independent of the file's length. Writing
//! rewrites each leading `onMetaData` tag: the first gets the `AIGC` property (replacing an
//! existing one in place or added last), later ones lose theirs; every other property is
//! copied byte for byte and the ECMA array count is set to the number of properties written.
//! The tag's DataSize and the PreviousTagSize after it are patched. With no `onMetaData` tag,
//! one is inserted right after the FLV header. Audio and video tags are copied unchanged.
//! Reading tolerates a missing end marker `00 00 09`, also of nested values; but writing
//! refuses an `onMetaData` whose nested object runs to the end of the tag unterminated, since
//! the property added last would be read as part of that object.
//!
//! Moving bytes makes the absolute offsets in `keyframes.filepositions` (written by some
//! muxers for seeking) stale, so each number there is shifted by the growth of the script
//! tags; other absolute offsets in custom properties cannot be known and are not touched.

use std::cell::Cell;
use std::io::Write;

use super::{Format, Found};
use crate::error::{CodecError, Result};
use crate::io::{Input, Output};
use crate::label::ProblemCode;
use crate::limits;
use crate::media::{Modality, PayloadMethod};

const SCRIPT: u8 = 18;

/// The FLV container.
pub struct Flv;

/// A bounded AMF0 reader over one script tag body.
struct Amf<'a> {
    d: &'a [u8],
    base: u64,
    /// The outermost nested object (or ECMA array, typed object) seen that runs to the end of
    /// the data without its end marker: (position of its type marker, what it is). Reading
    /// tolerates it; writing must not append a property after it (it would land inside it).
    open: Cell<Option<(usize, &'static str)>>,
}

impl<'a> Amf<'a> {
    fn new(d: &'a [u8], base: u64) -> Self {
        Amf {
            d,
            base,
            open: Cell::new(None),
        }
    }
    /// The end of a nested container walked by [`Amf::props`], noting it when unterminated.
    fn nested_end(&self, pos: usize, what: &'static str, walked: (usize, bool)) -> usize {
        if !walked.1 {
            // Inner containers return first, so the last one noted is the outermost.
            self.open.set(Some((pos, what)));
        }
        walked.0
    }
    fn err(&self, pos: usize, what: &str) -> CodecError {
        CodecError::corrupt(self.base + pos as u64, format!("AMF0: {what}"))
    }
    fn take(&self, pos: usize, n: usize, what: &str) -> Result<&[u8]> {
        pos.checked_add(n)
            .and_then(|e| self.d.get(pos..e))
            .ok_or_else(|| self.err(pos, &format!("{what} runs past the end of the script tag")))
    }
    fn u16(&self, pos: usize) -> Result<usize> {
        let b = self.take(pos, 2, "length")?;
        Ok(usize::from(u16::from_be_bytes([b[0], b[1]])))
    }
    fn u32(&self, pos: usize) -> Result<usize> {
        let b = self.take(pos, 4, "length")?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    /// Skip one value starting at its type marker; returns the position after it.
    fn skip_value(&self, pos: usize, depth: usize) -> Result<usize> {
        if depth > limits::MAX_DEPTH {
            return Err(self.err(pos, "values nested too deeply"));
        }
        let marker = *self.take(pos, 1, "type marker")?.first().unwrap_or(&0);
        let p = pos + 1;
        Ok(match marker {
            0x00 => self.take(p, 8, "number").map(|_| p + 8)?,
            0x01 => self.take(p, 1, "boolean").map(|_| p + 1)?,
            0x02 => {
                let n = self.u16(p)?;
                self.take(p + 2, n, "string").map(|_| p + 2 + n)?
            }
            0x03 => {
                let walked = self.props(p, depth + 1, |_, _, _| Ok(()))?;
                self.nested_end(pos, "object", walked)
            }
            0x05 | 0x06 | 0x0d => p,
            0x07 => self.take(p, 2, "reference").map(|_| p + 2)?,
            0x08 => {
                self.u32(p)?;
                let walked = self.props(p + 4, depth + 1, |_, _, _| Ok(()))?;
                self.nested_end(pos, "ECMA array", walked)
            }
            0x0a => {
                let n = self.u32(p)?;
                if n > self.d.len() - p - 4 {
                    return Err(self.err(p, "strict array count exceeds the tag size"));
                }
                let mut q = p + 4;
                for _ in 0..n {
                    q = self.skip_value(q, depth + 1)?;
                }
                q
            }
            0x0b => self.take(p, 10, "date").map(|_| p + 10)?,
            0x0c | 0x0f => {
                let n = self.u32(p)?;
                self.take(p + 4, n, "long string").map(|_| p + 4 + n)?
            }
            0x10 => {
                let n = self.u16(p)?;
                self.take(p + 2, n, "class name")?;
                let walked = self.props(p + 2 + n, depth + 1, |_, _, _| Ok(()))?;
                self.nested_end(pos, "typed object", walked)
            }
            other => return Err(self.err(pos, &format!("unknown type marker 0x{other:02x}"))),
        })
    }

    /// Walk object properties from `pos` to the end marker `00 00 09` (or to the end of the
    /// data, which some muxers leave off). The callback sees (entry start, key, value start).
    /// Returns the position after the end marker and whether the marker was present.
    fn props(
        &self,
        mut pos: usize,
        depth: usize,
        mut f: impl FnMut(usize, &[u8], usize) -> Result<()>,
    ) -> Result<(usize, bool)> {
        let mut count = 0usize;
        loop {
            if pos == self.d.len() {
                return Ok((pos, false));
            }
            let n = self.u16(pos)?;
            if n == 0 && self.d.get(pos + 2) == Some(&0x09) {
                return Ok((pos + 3, true));
            }
            let key = self.take(pos + 2, n, "property name")?;
            f(pos, key, pos + 2 + n)?;
            pos = self.skip_value(pos + 2 + n, depth)?;
            count += 1;
            if count > limits::MAX_ENTRIES {
                return Err(self.err(pos, "too many properties"));
            }
        }
    }

    fn string_at(&self, pos: usize) -> Result<Option<String>> {
        match self.d.get(pos) {
            Some(0x02) => {
                let n = self.u16(pos + 1)?;
                Ok(Some(
                    String::from_utf8_lossy(self.take(pos + 3, n, "string")?).into_owned(),
                ))
            }
            Some(0x0c) => {
                let n = self.u32(pos + 1)?;
                Ok(Some(
                    String::from_utf8_lossy(self.take(pos + 5, n, "long string")?).into_owned(),
                ))
            }
            _ => Ok(None),
        }
    }
}

/// One tag header.
struct Tag {
    offset: u64,
    kind: u8,
    size: u64,
}

impl Tag {
    /// Tag header, data and the PreviousTagSize that follows.
    fn total(&self) -> u64 {
        11 + self.size + 4
    }
}

/// The offset of the first tag, after checking the header.
fn first_tag(input: &mut Input) -> Result<u64> {
    input.seek_to(0)?;
    let h: [u8; 9] = input.read_array()?;
    if &h[0..3] != b"FLV" {
        return Err(CodecError::corrupt(0, "not an FLV file"));
    }
    let data_offset = u64::from(u32::from_be_bytes([h[5], h[6], h[7], h[8]]));
    if data_offset < 9 || data_offset + 4 > input.len() {
        return Err(CodecError::corrupt(
            5,
            format!("FLV header size {data_offset} is impossible"),
        ));
    }
    Ok(data_offset + 4)
}

/// The leading script tags (up to the first audio/video tag or the end of the file).
fn leading_scripts(input: &mut Input) -> Result<(u64, Vec<Tag>)> {
    let start = first_tag(input)?;
    let mut offset = start;
    let mut tags = Vec::new();
    while input.len() - offset >= 11 {
        input.seek_to(offset)?;
        let h: [u8; 11] = input.read_array()?;
        let tag = Tag {
            offset,
            kind: h[0] & 0x1f,
            size: u64::from(u32::from_be_bytes([0, h[1], h[2], h[3]])),
        };
        if tag.kind != SCRIPT {
            break;
        }
        if offset + tag.total() > input.len() {
            return Err(CodecError::corrupt(
                offset,
                format!(
                    "truncated: FLV script tag of {} bytes runs past the end of the file",
                    tag.size
                ),
            ));
        }
        offset += tag.total();
        tags.push(tag);
        if tags.len() > limits::MAX_ENTRIES {
            return Err(CodecError::limit(offset, "too many FLV script tags"));
        }
    }
    Ok((start, tags))
}

fn read_body(input: &mut Input, tag: &Tag) -> Result<Vec<u8>> {
    input.seek_to(tag.offset + 11)?;
    input.read_vec(tag.size, limits::MAX_METADATA_BYTES, "FLV script tag")
}

/// Where the onMetaData value starts, if this body is an onMetaData call.
fn meta_value(amf: &Amf) -> Result<Option<usize>> {
    if amf.d.first() != Some(&0x02) {
        return Ok(None);
    }
    let name = amf.string_at(0)?.unwrap_or_default();
    if name != "onMetaData" {
        return Ok(None);
    }
    Ok(Some(3 + amf.u16(1)?))
}

/// Walk the onMetaData properties (ECMA array or object): (entry start, key, value start).
fn meta_props(
    amf: &Amf,
    value: usize,
    f: impl FnMut(usize, &[u8], usize) -> Result<()>,
) -> Result<Option<(usize, usize, bool)>> {
    let first = match amf.d.get(value) {
        Some(0x08) => {
            amf.u32(value + 1)?;
            value + 5
        }
        Some(0x03) => value + 1,
        _ => return Ok(None),
    };
    let (end, terminated) = amf.props(first, 1, f)?;
    Ok(Some((first, end, terminated)))
}

fn aigc_entry(json: &str) -> Result<Vec<u8>> {
    let mut e = vec![0x00, 0x04];
    e.extend_from_slice(b"AIGC");
    if let Ok(n) = u16::try_from(json.len()) {
        e.push(0x02);
        e.extend_from_slice(&n.to_be_bytes());
    } else {
        let n = u32::try_from(json.len())
            .map_err(|_| CodecError::Unsupported("label larger than 4 GiB".into()))?;
        e.push(0x0c);
        e.extend_from_slice(&n.to_be_bytes());
    }
    e.extend_from_slice(json.as_bytes());
    Ok(e)
}

/// Rewrite an onMetaData body: set (`Some`) or remove (`None`) the AIGC property. `None` as
/// result: the body is not onMetaData, or nothing changes.
fn rewrite_meta(body: &[u8], base: u64, json: Option<&str>) -> Result<Option<Vec<u8>>> {
    let amf = Amf::new(body, base);
    let Some(value) = meta_value(&amf)? else {
        return Ok(None);
    };
    let mut entries: Vec<(usize, bool)> = Vec::new(); // (entry start, is AIGC)
    let Some((_, end, terminated)) = meta_props(&amf, value, |start, key, _| {
        entries.push((start, key.eq_ignore_ascii_case(b"AIGC")));
        Ok(())
    })?
    else {
        return Ok(None);
    };
    if json.is_none() && !entries.iter().any(|e| e.1) {
        return Ok(None);
    }
    // The AIGC property goes last, before the end marker written for the onMetaData value. A
    // nested value still open at the end of the tag would take both as its own: the label
    // would be read as part of that value, not as an onMetaData property.
    if let (Some(_), Some((at, what))) = (json, amf.open.get()) {
        return Err(amf.err(
            at,
            &format!(
                "{what} in onMetaData runs to the end of the script tag without its end \
                 marker 00 00 09; a label added after it would be read as part of it"
            ),
        ));
    }
    let props_end = if terminated { end - 3 } else { end };
    let new_entry = json.map(aigc_entry).transpose()?;
    let mut out = body[..value + 1].to_vec();
    let count_at = out.len();
    if body[value] == 0x08 {
        out.extend_from_slice(&[0; 4]);
    }
    let mut count = 0u32;
    let mut placed = false;
    for (i, &(start, is_aigc)) in entries.iter().enumerate() {
        let stop = entries.get(i + 1).map_or(props_end, |e| e.0);
        if is_aigc {
            if let (Some(e), false) = (&new_entry, placed) {
                out.extend_from_slice(e);
                placed = true;
                count += 1;
            }
        } else {
            out.extend_from_slice(&body[start..stop]);
            count += 1;
        }
    }
    if let (Some(e), false) = (&new_entry, placed) {
        out.extend_from_slice(e);
        count += 1;
    }
    out.extend_from_slice(&[0, 0, 9]);
    out.extend_from_slice(&body[end..]);
    if body[value] == 0x08 {
        out[count_at..count_at + 4].copy_from_slice(&count.to_be_bytes());
    }
    Ok(Some(out))
}

/// Add `delta` to every number of `keyframes.filepositions` in an onMetaData body.
fn shift_filepositions(body: &mut [u8], delta: i64) -> Result<()> {
    let mut numbers: Vec<usize> = Vec::new();
    {
        let amf = Amf::new(body, 0);
        let Some(value) = meta_value(&amf)? else {
            return Ok(());
        };
        let mut keyframes: Vec<usize> = Vec::new();
        meta_props(&amf, value, |_, key, v| {
            if key == b"keyframes" {
                keyframes.push(v);
            }
            Ok(())
        })?;
        for v in keyframes {
            if let Some(0x03 | 0x08) = amf.d.get(v) {
                let first = if amf.d[v] == 0x08 { v + 5 } else { v + 1 };
                let mut arrays = Vec::new();
                amf.props(first, 2, |_, key, pv| {
                    if key == b"filepositions" && amf.d.get(pv) == Some(&0x0a) {
                        arrays.push(pv);
                    }
                    Ok(())
                })?;
                for a in arrays {
                    let n = amf.u32(a + 1)?;
                    let mut q = a + 5;
                    for _ in 0..n {
                        if amf.d.get(q) == Some(&0x00) {
                            numbers.push(q + 1);
                        }
                        q = amf.skip_value(q, 3)?;
                    }
                }
            }
        }
    }
    for at in numbers {
        let b: [u8; 8] = body[at..at + 8].try_into().unwrap_or([0; 8]);
        let v = f64::from_be_bytes(b) + delta as f64;
        body[at..at + 8].copy_from_slice(&v.to_be_bytes());
    }
    Ok(())
}

fn write_tag(out: &mut Output, header: &[u8; 11], body: &[u8]) -> Result<()> {
    let n = u32::try_from(body.len())
        .ok()
        .filter(|&n| n < 1 << 24)
        .ok_or_else(|| CodecError::Unsupported("FLV script tag larger than 16 MiB".into()))?;
    let mut h = *header;
    h[1..4].copy_from_slice(&n.to_be_bytes()[1..4]);
    out.write_all(&h)?;
    out.write_all(body)?;
    out.write_all(&(n + 11).to_be_bytes())?;
    Ok(())
}

impl Format for Flv {
    fn id(&self) -> &'static str {
        "flv"
    }
    fn modality(&self, _head: &[u8]) -> Modality {
        Modality::Video
    }
    fn payload(&self) -> PayloadMethod {
        PayloadMethod::Packets
    }
    fn media_types(&self) -> &'static [&'static str] {
        &["video/x-flv", "video/flv"]
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["flv"]
    }
    fn carrier(&self) -> &'static str {
        "onMetaData script tag, AMF0 string property AIGC"
    }
    fn sniff(&self, head: &[u8]) -> bool {
        head.len() >= 4 && &head[0..3] == b"FLV" && head[3] == 1
    }

    fn read(&self, input: &mut Input) -> Result<Vec<Found>> {
        let (_, tags) = leading_scripts(input)?;
        let mut found = Vec::new();
        for tag in tags {
            let body = read_body(input, &tag)?;
            let amf = Amf::new(&body, tag.offset + 11);
            let Some(value) = meta_value(&amf)? else {
                continue;
            };
            let mut hits = Vec::new();
            meta_props(&amf, value, |start, key, v| {
                if key.eq_ignore_ascii_case(b"AIGC") {
                    if let Some(text) = amf.string_at(v)? {
                        hits.push((start, String::from_utf8_lossy(key).into_owned(), text));
                    }
                }
                Ok(())
            })?;
            for (start, key, text) in hits {
                let mut f = Found::named(
                    format!("flv/onMetaData/{key}"),
                    tag.offset + 11 + start as u64,
                    text,
                );
                if key != "AIGC" {
                    f = f.note(
                        ProblemCode::KeyCase,
                        format!("AMF0 property is {key:?}, not \"AIGC\""),
                    );
                }
                found.push(f);
            }
        }
        Ok(found)
    }

    fn write(&self, input: &mut Input, out: &mut Output, json: &str) -> Result<()> {
        let (start, tags) = leading_scripts(input)?;
        let mut plan: Vec<(&Tag, Option<Vec<u8>>)> = Vec::new();
        let mut set = false;
        let mut delta = 0i64;
        for tag in &tags {
            let body = read_body(input, tag)?;
            let new = rewrite_meta(&body, tag.offset + 11, if set { None } else { Some(json) })?;
            if meta_value(&Amf::new(&body, 0))?.is_some() && new.is_some() {
                set = true;
            }
            if let Some(b) = &new {
                delta += b.len() as i64 - body.len() as i64;
            }
            plan.push((tag, new));
        }
        let mut inserted = None;
        if !set {
            let mut body = vec![0x02, 0x00, 0x0a];
            body.extend_from_slice(b"onMetaData");
            body.extend_from_slice(&[0x08, 0, 0, 0, 1]);
            body.extend_from_slice(&aigc_entry(json)?);
            body.extend_from_slice(&[0, 0, 9]);
            delta += 11 + body.len() as i64 + 4;
            inserted = Some(body);
        }
        input.seek_to(0)?;
        input.copy_to(out, start)?;
        if let Some(body) = inserted {
            write_tag(out, &[SCRIPT, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], &body)?;
        }
        let mut pos = start;
        for (tag, new) in plan {
            if let Some(mut body) = new {
                if delta != 0 {
                    shift_filepositions(&mut body, delta)?;
                }
                input.seek_to(tag.offset)?;
                let header: [u8; 11] = input.read_array()?;
                write_tag(out, &header, &body)?;
            } else {
                input.seek_to(tag.offset)?;
                input.copy_to(out, tag.total())?;
            }
            pos = tag.offset + tag.total();
        }
        input.copy_rest_from(pos, out)
    }
}
