//! TIFF: the label is the `TC260:AIGC` property of the XMP packet in IFD0 tag 700
//! (`XMLPacket`, type 7 UNDEFINED as the image guide states; ExifTool writes type 1 BYTE). Also
//! read: EXIF `UserComment` (Exif IFD) and `ImageDescription` (IFD0) holding a label.
//!
//! Writing never moves existing data: a packet that fits in the old one's bytes is written in
//! place (padded with spaces, which XMP allows after the packet); otherwise the new packet and a
//! copy of IFD0 pointing at it are appended at the end of the file and the IFD0 offset in the
//! header is patched. EXIF text labels are blanked in place with spaces of the same length.
//! Strips, tiles and every other IFD stay where they were, byte for byte. BigTIFF (magic 43,
//! files over 4 GiB) is handled the same way by [`super::bigtiff`].

use std::io::Write;

use super::bigtiff;
use super::exif::{self, ByteOrder, Entry, ReadAt};
use super::{xmp, Format, Found};
use crate::error::{CodecError, Result};
use crate::io::{Input, Output};
use crate::label::CarrierKind;
use crate::media::{Modality, PayloadMethod};

/// The TIFF container.
pub struct Tiff;

/// The XMP packet of IFD0 tag 700, with the offset and length of its bytes.
fn xmp_packet(
    input: &mut Input,
    order: ByteOrder,
    e: &Entry,
) -> Result<Option<(u64, u64, String)>> {
    if !matches!(e.typ, 1 | 2 | 7) {
        return Ok(None);
    }
    let len = e.count as u64;
    let at = e.value_offset(order);
    let bytes = input.read_at(at, len, "XMP packet (tag 700)")?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|err| CodecError::corrupt(at, format!("XMP packet is not UTF-8: {err}")))?;
    Ok(Some((at, len, text.trim_end_matches('\0').to_string())))
}

fn u32_offset(v: u64) -> Result<u32> {
    u32::try_from(v).map_err(|_| {
        CodecError::Unsupported(
            "the labelled TIFF would exceed 4 GiB (BigTIFF is not supported)".into(),
        )
    })
}

impl Format for Tiff {
    fn id(&self) -> &'static str {
        "tiff"
    }
    fn modality(&self, _head: &[u8]) -> Modality {
        Modality::Image
    }
    fn payload(&self) -> PayloadMethod {
        PayloadMethod::DecodedFrames
    }
    fn media_types(&self) -> &'static [&'static str] {
        &["image/tiff"]
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["tif", "tiff"]
    }
    fn carrier(&self) -> &'static str {
        "IFD0 tag 700 (XMLPacket, type 7), XMP property TC260:AIGC (element form)"
    }
    fn sniff(&self, head: &[u8]) -> bool {
        head.starts_with(b"II*\0")
            || head.starts_with(b"MM\0*")
            || head.starts_with(b"II+\0")
            || head.starts_with(b"MM\0+")
    }

    fn read(&self, input: &mut Input) -> Result<Vec<Found>> {
        if bigtiff::is_bigtiff(input)? {
            return bigtiff::read(input);
        }
        let scan = exif::scan(input)?;
        let order = scan.header.order;
        let mut found = Vec::new();
        if let Some(e) = scan.ifd0.get(exif::TAG_XMP) {
            if let Some((at, _, packet)) = xmp_packet(input, order, e)? {
                for (text, notes) in xmp::find_labels(&packet).map_err(xmp::error_at(at))? {
                    let mut f = Found::named("tiff/IFD0/XMLPacket", at, text);
                    f.notes = notes;
                    found.push(f);
                }
            }
        }
        for t in scan.texts {
            found.push(Found {
                carrier: format!("tiff/{}", t.carrier()),
                kind: CarrierKind::Unnamed,
                offset: t.value_offset,
                text: t.text,
                notes: t.notes,
            });
        }
        found.sort_by_key(|f| f.offset);
        Ok(found)
    }

    fn write(&self, input: &mut Input, out: &mut Output, json: &str) -> Result<()> {
        if bigtiff::is_bigtiff(input)? {
            return bigtiff::write(input, out, json);
        }
        let scan = exif::scan(input)?;
        if scan.texts_overlap_structure() {
            return Err(CodecError::corrupt(
                scan.ifd0.offset,
                "an EXIF label text overlaps an IFD; it cannot be removed without breaking the file",
            ));
        }
        let order = scan.header.order;
        let end = input.len();
        let mut patches: Vec<(u64, u64, Vec<u8>)> = Vec::new();
        for t in &scan.texts {
            let original = input.read_at(t.value_offset, t.value_len, "EXIF text")?;
            patches.push((t.value_offset, t.value_len, t.blanked(&original)));
        }
        let existing = match scan.ifd0.get(exif::TAG_XMP) {
            Some(e) => xmp_packet(input, order, e)?.map(|p| (e.clone(), p)),
            None => None,
        };
        let packet = match &existing {
            Some((_, (at, _, old))) => xmp::set_label(old, json).map_err(xmp::error_at(*at))?,
            None => xmp::new_packet(json),
        };
        if let Some((_, (at, len, old))) = &existing {
            if scan.overlaps_structure(*at, *len) {
                return Err(CodecError::corrupt(
                    *at,
                    "the XMP packet overlaps an IFD; it cannot be rewritten without breaking the file",
                ));
            }
            if packet.len() as u64 <= *len {
                // Fits: rewrite in place, pad with spaces; no offset changes.
                let mut bytes = packet.into_bytes();
                bytes.resize(*len as usize, b' ');
                patches.push((*at, *len, bytes));
                return exif::copy_patched(input, out, 0, end, &mut patches);
            }
            // The old packet stays unreferenced; blank it so no stale label remains in the bytes.
            if xmp::has_label(old) {
                patches.push((*at, *len, vec![b' '; *len as usize]));
            }
        }
        // Append: [pad] packet [pad] IFD0 copy with tag 700 pointing at the packet.
        let pad1 = end % 2;
        let xmp_at = end + pad1;
        let pad2 = (packet.len() as u64) % 2;
        let ifd_at = xmp_at + packet.len() as u64 + pad2;
        let new_entry = Entry {
            tag: exif::TAG_XMP,
            typ: existing
                .as_ref()
                .map(|(e, _)| e.typ)
                .filter(|t| *t != 2)
                .unwrap_or(7),
            count: u32_offset(packet.len() as u64)?,
            raw: order.put_u32(u32_offset(xmp_at)?),
            pos: 0,
        };
        let mut entries: Vec<Entry> = scan
            .ifd0
            .entries
            .iter()
            .filter(|e| e.tag != exif::TAG_XMP)
            .cloned()
            .collect();
        // A label text of up to 4 bytes sits inside its IFD0 entry: the copy of IFD0 gets the
        // blanked bytes too, or the old text would come back as a second label.
        for e in &mut entries {
            let inline = e.pos + 8;
            if e.value_offset(order) == inline {
                if let Some((_, _, bytes)) = patches.iter().find(|p| p.0 == inline) {
                    if bytes.len() <= 4 {
                        e.raw[..bytes.len()].copy_from_slice(bytes);
                    }
                }
            }
        }
        let idx = entries.partition_point(|e| e.tag < exif::TAG_XMP);
        entries.insert(idx, new_entry);
        let mut ifd = Vec::with_capacity(2 + 12 * entries.len() + 4);
        let n = u16::try_from(entries.len())
            .map_err(|_| CodecError::Unsupported("IFD0 has too many entries".into()))?;
        ifd.extend_from_slice(&order.put_u16(n));
        for e in &entries {
            ifd.extend_from_slice(&e.to_bytes(order));
        }
        ifd.extend_from_slice(&order.put_u32(scan.ifd0.next));
        u32_offset(ifd_at + ifd.len() as u64)?;
        patches.push((4, 4, order.put_u32(u32_offset(ifd_at)?).to_vec()));
        exif::copy_patched(input, out, 0, end, &mut patches)?;
        out.write_all(&vec![0u8; pad1 as usize])?;
        out.write_all(packet.as_bytes())?;
        out.write_all(&vec![0u8; pad2 as usize])?;
        out.write_all(&ifd)?;
        Ok(())
    }
}
