//! WebP: the label is the `TC260:AIGC` property of the XMP packet in the RIFF chunk `XMP `
//! (image guide PG-20259A). The `EXIF` chunk is read through the shared EXIF module (a
//! UserComment or ImageDescription holding a label, the image guide's Annex B alternative) and,
//! on write, such a value is blanked in place so that the file keeps one label (6.1 c).
//!
//! Writing updates the first `XMP ` chunk (the rest of the packet kept) or appends one at the
//! end, where the extended format puts metadata. A simple file (`VP8 ` or `VP8L` alone) is
//! converted to the extended format by inserting a `VP8X` chunk first, with the XMP flag, the
//! alpha flag when the VP8L header says so, and the canvas size from the bitstream header; an
//! existing `VP8X` only gets its XMP flag set. Image chunks are copied byte for byte and the
//! RIFF size is patched.

use std::io::Write;

use super::one_label::{self, Layout, Role, Unit, UnitWriter};
use super::riff::{self, Chunk};
use super::{exif, xmp, Format, Found};
use crate::error::{CodecError, Result};
use crate::io::{Input, Output};
use crate::label::CarrierKind;
use crate::limits;
use crate::media::{Modality, PayloadMethod};

/// VP8X flag: the file has XMP metadata.
const XMP_FLAG: u8 = 0x04;
/// VP8X flag: the image has alpha.
const ALPHA_FLAG: u8 = 0x10;

/// The WebP container.
pub struct Webp;

fn read_packet(input: &mut Input, c: &Chunk) -> Result<String> {
    input.seek_to(c.data_offset())?;
    let data = input.read_vec(c.size, limits::MAX_METADATA_BYTES, "WebP XMP chunk")?;
    String::from_utf8(data)
        .map_err(|e| CodecError::corrupt(c.data_offset(), format!("XMP packet is not UTF-8: {e}")))
}

/// The EXIF chunk's TIFF structure and the label-like texts in it. Some writers keep JPEG's
/// `Exif\0\0` prefix inside the chunk; it is skipped.
fn read_exif(input: &mut Input, c: &Chunk) -> Result<(Vec<u8>, usize, Vec<exif::LabelText>)> {
    input.seek_to(c.data_offset())?;
    let data = input.read_vec(c.size, limits::MAX_METADATA_BYTES, "WebP EXIF chunk")?;
    let skip = if data.starts_with(b"Exif\0\0") { 6 } else { 0 };
    let scan = exif::scan(&mut exif::Slice {
        data: &data[skip..],
        base: c.data_offset() + skip as u64,
    })?;
    Ok((data, skip, scan.texts))
}

/// Canvas size and alpha of a simple-format image, from its bitstream header.
fn canvas(input: &mut Input, c: &Chunk) -> Result<(u32, u32, bool)> {
    input.seek_to(c.data_offset())?;
    let d = input.read_vec(c.size.min(10), 10, "WebP bitstream header")?;
    match &c.id {
        b"VP8 " => {
            if d.len() < 10 || d[3..6] != [0x9d, 0x01, 0x2a] {
                return Err(CodecError::corrupt(
                    c.data_offset(),
                    "VP8 key frame header (start code 9d 01 2a) missing",
                ));
            }
            let w = u32::from(u16::from_le_bytes([d[6], d[7]]) & 0x3fff);
            let h = u32::from(u16::from_le_bytes([d[8], d[9]]) & 0x3fff);
            Ok((w, h, false))
        }
        _ => {
            if d.len() < 5 || d[0] != 0x2f {
                return Err(CodecError::corrupt(
                    c.data_offset(),
                    "VP8L signature byte 0x2f missing",
                ));
            }
            let bits = u32::from_le_bytes([d[1], d[2], d[3], d[4]]);
            let w = (bits & 0x3fff) + 1;
            let h = ((bits >> 14) & 0x3fff) + 1;
            Ok((w, h, (bits >> 28) & 1 == 1))
        }
    }
}

fn vp8x_data(flags: u8, w: u32, h: u32) -> Result<Vec<u8>> {
    if w == 0 || h == 0 {
        return Err(CodecError::corrupt(
            12,
            "WebP image with a zero canvas dimension",
        ));
    }
    let (w1, h1) = ((w - 1).to_le_bytes(), (h - 1).to_le_bytes());
    Ok(vec![
        flags, 0, 0, 0, w1[0], w1[1], w1[2], h1[0], h1[1], h1[2],
    ])
}

impl Format for Webp {
    fn id(&self) -> &'static str {
        "webp"
    }
    fn modality(&self, _head: &[u8]) -> Modality {
        Modality::Image
    }
    fn payload(&self) -> PayloadMethod {
        PayloadMethod::DecodedImage
    }
    fn media_types(&self) -> &'static [&'static str] {
        &["image/webp"]
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["webp"]
    }
    fn carrier(&self) -> &'static str {
        "RIFF chunk 'XMP ', XMP property TC260:AIGC (VP8X created or XMP flag set)"
    }
    fn sniff(&self, head: &[u8]) -> bool {
        head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WEBP"
    }

    fn read(&self, input: &mut Input) -> Result<Vec<Found>> {
        let r = riff::read_header(input)?;
        riff::check_form(&r, b"WEBP")?;
        let mut found = Vec::new();
        riff::walk(input, 12, r.end, |input, c| {
            if &c.id == b"XMP " {
                let packet = read_packet(input, c)?;
                for (text, notes) in
                    xmp::find_labels(&packet).map_err(xmp::error_at(c.data_offset()))?
                {
                    let mut f = Found::named("webp/XMP", c.offset, text);
                    f.notes = notes;
                    found.push(f);
                }
            } else if &c.id == b"EXIF" {
                let (_, _, texts) = read_exif(input, c)?;
                for t in texts {
                    found.push(Found {
                        carrier: format!("webp/{}", t.carrier()),
                        kind: CarrierKind::Unnamed,
                        text: t.text,
                        offset: c.offset,
                        notes: t.notes,
                    });
                }
            }
            Ok(())
        })?;
        Ok(found)
    }

    fn write(&self, input: &mut Input, out: &mut Output, json: &str) -> Result<()> {
        let r = riff::read_header(input)?;
        riff::check_form(&r, b"WEBP")?;
        let mut chunks = Vec::new();
        riff::walk(input, 12, r.end, |_, c| {
            chunks.push(c.clone());
            Ok(())
        })?;
        let first = chunks
            .first()
            .ok_or_else(|| CodecError::corrupt(12, "WebP file without an image chunk"))?;
        // A simple-format file (VP8/VP8L first) needs a VP8X chunk to declare the XMP.
        let vp8x = match &first.id {
            b"VP8X" => None,
            b"VP8 " | b"VP8L" => {
                let (w, h, alpha) = canvas(input, first)?;
                let flags = XMP_FLAG | if alpha { ALPHA_FLAG } else { 0 };
                Some(riff::chunk_bytes(b"VP8X", &vp8x_data(flags, w, h)?)?)
            }
            other => {
                return Err(CodecError::corrupt(
                    12,
                    format!(
                        "WebP starts with chunk '{}', not VP8/VP8L/VP8X",
                        riff::fourcc(other)
                    ),
                ))
            }
        };
        // A new XMP chunk goes at the end.
        let mut layout = Layout::new();
        for c in &chunks {
            let role = match &c.id {
                b"VP8X" => {
                    vp8x_with_xmp_flag(input, c)?;
                    Role::Amend
                }
                b"XMP " => Role::Standard {
                    has_label: xmp::has_label(&read_packet(input, c)?),
                },
                b"EXIF" => Role::Mixed {
                    has_label: !read_exif(input, c)?.2.is_empty(),
                },
                _ if c.pad_missing || c.size_placeholder => Role::Amend,
                _ => Role::Keep,
            };
            layout.push(c.offset, c.stored_len(), role);
        }
        layout.insert_at = Some(chunks.len());
        let start = out.position();
        riff::write_header(out, b"WEBP", 0)?;
        if let Some(vp8x) = vp8x {
            out.write_all(&vp8x)?;
        }
        one_label::rewrite(&layout, input, out, &Chunks(&chunks), json)?;
        riff::patch_header_size(out, start)?;
        if r.end < input.len() {
            input.copy_rest_from(r.end, out)?;
        }
        Ok(())
    }
}

/// A `VP8X` chunk with the XMP flag set.
fn vp8x_with_xmp_flag(input: &mut Input, c: &Chunk) -> Result<Vec<u8>> {
    input.seek_to(c.data_offset())?;
    let mut d = input.read_vec(c.size, limits::MAX_METADATA_BYTES, "VP8X chunk")?;
    if d.is_empty() {
        return Err(CodecError::corrupt(c.offset, "empty VP8X chunk"));
    }
    d[0] |= XMP_FLAG;
    riff::chunk_bytes(b"VP8X", &d)
}

/// Writes the chunks that change for [`one_label::rewrite`]; the chunk list of the file.
struct Chunks<'a>(&'a [Chunk]);

impl Chunks<'_> {
    fn chunk(&self, unit: &Unit) -> Result<&Chunk> {
        self.0
            .binary_search_by_key(&unit.offset, |c| c.offset)
            .map(|i| &self.0[i])
            .map_err(|_| CodecError::corrupt(unit.offset, "no chunk here"))
    }
}

impl UnitWriter for Chunks<'_> {
    fn label(
        &self,
        input: &mut Input,
        out: &mut Output,
        unit: Option<&Unit>,
        json: &str,
    ) -> Result<()> {
        let packet = match unit {
            Some(u) => {
                let c = self.chunk(u)?;
                xmp::set_label(&read_packet(input, c)?, json)
                    .map_err(xmp::error_at(c.data_offset()))?
            }
            None => xmp::new_packet(json),
        };
        Ok(out.write_all(&riff::chunk_bytes(b"XMP ", packet.as_bytes())?)?)
    }

    fn strip(&self, input: &mut Input, out: &mut Output, unit: &Unit) -> Result<()> {
        let c = self.chunk(unit)?;
        let bytes = if &c.id == b"XMP " {
            let cleaned = xmp::remove_labels(&read_packet(input, c)?)
                .map_err(xmp::error_at(c.data_offset()))?;
            riff::chunk_bytes(b"XMP ", cleaned.as_bytes())?
        } else {
            let (mut data, skip, texts) = read_exif(input, c)?;
            for t in &texts {
                let start = skip + t.value_offset as usize;
                let end = start + t.value_len as usize;
                let blank = t.blanked(&data[start..end]);
                data[start..end].copy_from_slice(&blank);
            }
            riff::chunk_bytes(b"EXIF", &data)?
        };
        Ok(out.write_all(&bytes)?)
    }

    fn amend(&self, input: &mut Input, out: &mut Output, unit: &Unit) -> Result<()> {
        let c = self.chunk(unit)?;
        if &c.id == b"VP8X" {
            Ok(out.write_all(&vp8x_with_xmp_flag(input, c)?)?)
        } else {
            riff::copy_chunk(input, out, c)
        }
    }
}
