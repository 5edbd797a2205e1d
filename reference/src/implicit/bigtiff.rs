//! BigTIFF (TIFF magic 43: 64-bit offsets and counts, the form of TIFF files over 4 GiB), for
//! [`super::tiff`]: the label is the same `TC260:AIGC` property of the XMP packet in IFD0 tag
//! 700 (`XMLPacket`).
//!
//! The header is 16 bytes (byte order, 43, offset size 8, 0, the u64 offset of IFD0); an IFD is
//! a u64 entry count, 20-byte entries (u16 tag, u16 type, u64 count, 8-byte value or offset)
//! and the u64 offset of the next IFD. Values of at most 8 bytes are stored in the entry.
//!
//! Writing never moves existing data, as for classic TIFF: a packet that fits in the old one's
//! bytes is written in place (padded with spaces); otherwise the packet and a copy of IFD0
//! pointing at it are appended at the end of the file and the IFD0 offset in the header is
//! patched. Strips, tiles and every other IFD stay where they were, byte for byte. The EXIF text
//! carriers (UserComment, ImageDescription) that classic TIFF also reads are not read here.

use std::io::Write;

use super::exif::ByteOrder;
use super::{xmp, Found};
use crate::error::{CodecError, Result};
use crate::io::{Input, Output};
use crate::limits;

/// Tag of `XMLPacket`.
const TAG_XMP: u16 = 0x02BC;

/// Whether the file starts with a BigTIFF header (`II+\0` or `MM\0+`).
pub(crate) fn is_bigtiff(input: &mut Input) -> Result<bool> {
    input.seek_to(0)?;
    let head = input.peek(4)?;
    Ok(head.starts_with(b"II+\0") || head.starts_with(b"MM\0+"))
}

fn u16_of(order: ByteOrder, b: &[u8]) -> u16 {
    order.u16([b[0], b[1]])
}

fn u64_of(order: ByteOrder, b: &[u8]) -> u64 {
    let a: [u8; 8] = b[..8].try_into().expect("8 bytes");
    match order {
        ByteOrder::Little => u64::from_le_bytes(a),
        ByteOrder::Big => u64::from_be_bytes(a),
    }
}

fn put_u64(order: ByteOrder, v: u64) -> [u8; 8] {
    match order {
        ByteOrder::Little => v.to_le_bytes(),
        ByteOrder::Big => v.to_be_bytes(),
    }
}

/// One 20-byte BigTIFF IFD entry, as stored.
#[derive(Debug, Clone)]
struct Entry {
    tag: u16,
    typ: u16,
    count: u64,
    /// The 8-byte value-or-offset field.
    raw: [u8; 8],
    /// File offset of the entry.
    pos: u64,
}

impl Entry {
    /// Bytes of the value, if the type is known (BigTIFF adds types 16-18, 8 bytes each).
    fn byte_len(&self) -> Option<u64> {
        let size = match self.typ {
            1 | 2 | 6 | 7 => 1,
            3 | 8 => 2,
            4 | 9 | 11 | 13 => 4,
            5 | 10 | 12 | 16 | 17 | 18 => 8,
            _ => return None,
        };
        self.count.checked_mul(size)
    }

    /// File offset of the value: inline in the entry when it fits in 8 bytes.
    fn value_offset(&self, order: ByteOrder) -> u64 {
        match self.byte_len() {
            Some(n) if n <= 8 => self.pos + 12,
            _ => u64_of(order, &self.raw),
        }
    }

    fn to_bytes(&self, order: ByteOrder) -> Vec<u8> {
        let mut b = Vec::with_capacity(20);
        b.extend_from_slice(&order.put_u16(self.tag));
        b.extend_from_slice(&order.put_u16(self.typ));
        b.extend_from_slice(&put_u64(order, self.count));
        b.extend_from_slice(&self.raw);
        b
    }
}

/// The header and IFD0 of a BigTIFF file.
struct Head {
    order: ByteOrder,
    /// Offset of IFD0.
    ifd0: u64,
    entries: Vec<Entry>,
    /// Offset of the IFD after IFD0 (0 for none).
    next: u64,
}

impl Head {
    /// Bytes IFD0 occupies.
    fn ifd0_len(&self) -> u64 {
        8 + 20 * self.entries.len() as u64 + 8
    }
}

fn read_head(input: &mut Input) -> Result<Head> {
    input.seek_to(0)?;
    let h: [u8; 16] = input.read_array()?;
    let order = match &h[0..2] {
        b"II" => ByteOrder::Little,
        b"MM" => ByteOrder::Big,
        _ => {
            return Err(CodecError::corrupt(
                0,
                "BigTIFF byte order mark is neither II nor MM",
            ))
        }
    };
    let (magic, offset_size, zero) = (
        u16_of(order, &h[2..4]),
        u16_of(order, &h[4..6]),
        u16_of(order, &h[6..8]),
    );
    if magic != 43 || offset_size != 8 || zero != 0 {
        return Err(CodecError::corrupt(
            2,
            format!("BigTIFF header says magic {magic}, offset size {offset_size}, reserved {zero} (43, 8, 0 expected)"),
        ));
    }
    let ifd0 = u64_of(order, &h[8..16]);
    let len = input.len();
    if ifd0 < 16 || ifd0.checked_add(8).is_none_or(|e| e > len) {
        return Err(CodecError::corrupt(
            8,
            format!("IFD0 offset {ifd0} lies outside the file ({len} bytes)"),
        ));
    }
    input.seek_to(ifd0)?;
    let n: [u8; 8] = input.read_array()?;
    let count = u64_of(order, &n);
    if count > limits::MAX_IFD_ENTRIES as u64 {
        return Err(CodecError::limit(
            ifd0,
            format!("IFD0 declares {count} entries"),
        ));
    }
    let body = input.read_vec(20 * count + 8, limits::MAX_METADATA_BYTES, "BigTIFF IFD0")?;
    let entries = body[..20 * count as usize]
        .chunks_exact(20)
        .enumerate()
        .map(|(i, e)| Entry {
            tag: u16_of(order, &e[0..2]),
            typ: u16_of(order, &e[2..4]),
            count: u64_of(order, &e[4..12]),
            raw: e[12..20].try_into().expect("8 bytes"),
            pos: ifd0 + 8 + 20 * i as u64,
        })
        .collect();
    let next = u64_of(order, &body[20 * count as usize..]);
    Ok(Head {
        order,
        ifd0,
        entries,
        next,
    })
}

/// The XMP packet of IFD0 tag 700: its offset, length and text.
fn xmp_packet(input: &mut Input, head: &Head) -> Result<Option<(u64, u64, String)>> {
    let Some(e) = head.entries.iter().find(|e| e.tag == TAG_XMP) else {
        return Ok(None);
    };
    if !matches!(e.typ, 1 | 2 | 7) {
        return Ok(None);
    }
    let at = e.value_offset(head.order);
    let len = e.count;
    if at.checked_add(len).is_none_or(|end| end > input.len()) {
        return Err(CodecError::corrupt(
            e.pos,
            format!("XMP packet of {len} bytes at {at} runs past the end of the file"),
        ));
    }
    input.seek_to(at)?;
    let bytes = input.read_vec(len, limits::MAX_METADATA_BYTES, "XMP packet (tag 700)")?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|err| CodecError::corrupt(at, format!("XMP packet is not UTF-8: {err}")))?;
    Ok(Some((at, len, text.trim_end_matches('\0').to_string())))
}

/// The labels of a BigTIFF file (the XMP packet of IFD0).
pub(crate) fn read(input: &mut Input) -> Result<Vec<Found>> {
    let head = read_head(input)?;
    let mut found = Vec::new();
    if let Some((at, _, packet)) = xmp_packet(input, &head)? {
        for (text, notes) in xmp::find_labels(&packet).map_err(xmp::error_at(at))? {
            let mut f = Found::named("tiff/IFD0/XMLPacket", at, text);
            f.notes = notes;
            found.push(f);
        }
    }
    Ok(found)
}

/// Write the label into a BigTIFF file (see the module documentation).
pub(crate) fn write(input: &mut Input, out: &mut Output, json: &str) -> Result<()> {
    let head = read_head(input)?;
    let order = head.order;
    let end = input.len();
    let existing = xmp_packet(input, &head)?;
    let packet = match &existing {
        Some((at, _, old)) => xmp::set_label(old, json).map_err(xmp::error_at(*at))?,
        None => xmp::new_packet(json),
    };
    let mut patches: Vec<(u64, Vec<u8>)> = Vec::new();
    if let Some((at, len, old)) = &existing {
        let ifd_end = head.ifd0 + head.ifd0_len();
        if *at < ifd_end && head.ifd0 < at + len {
            return Err(CodecError::corrupt(
                *at,
                "the XMP packet overlaps IFD0; it cannot be rewritten without breaking the file",
            ));
        }
        if packet.len() as u64 <= *len {
            // Fits: rewritten in place, padded with spaces; no offset changes.
            let mut bytes = packet.into_bytes();
            bytes.resize(*len as usize, b' ');
            patches.push((*at, bytes));
            return super::bmff::copy_patched(input, out, 0, end, &patches);
        }
        // The old packet stays unreferenced: blanked so that no stale label remains.
        if xmp::has_label(old) {
            patches.push((*at, vec![b' '; *len as usize]));
        }
    }
    // Append: [pad] packet [pad to 8] IFD0 copy with tag 700 pointing at the packet.
    let xmp_at = end + end % 2;
    let packet_end = xmp_at + packet.len() as u64;
    let ifd_at = packet_end.div_ceil(8) * 8;
    let typ = existing
        .as_ref()
        .and_then(|_| head.entries.iter().find(|e| e.tag == TAG_XMP))
        .map(|e| e.typ)
        .filter(|t| *t != 2)
        .unwrap_or(7);
    let new_entry = Entry {
        tag: TAG_XMP,
        typ,
        count: packet.len() as u64,
        raw: put_u64(order, xmp_at),
        pos: 0,
    };
    let mut entries: Vec<Entry> = head
        .entries
        .iter()
        .filter(|e| e.tag != TAG_XMP)
        .cloned()
        .collect();
    let idx = entries.partition_point(|e| e.tag < TAG_XMP);
    entries.insert(idx, new_entry);
    let mut ifd = Vec::with_capacity(16 + 20 * entries.len());
    ifd.extend_from_slice(&put_u64(order, entries.len() as u64));
    for e in &entries {
        ifd.extend_from_slice(&e.to_bytes(order));
    }
    ifd.extend_from_slice(&put_u64(order, head.next));
    patches.push((8, put_u64(order, ifd_at).to_vec()));
    patches.sort_by_key(|p| p.0);
    super::bmff::copy_patched(input, out, 0, end, &patches)?;
    out.write_all(&vec![0u8; (xmp_at - end) as usize])?;
    out.write_all(packet.as_bytes())?;
    out.write_all(&vec![0u8; (ifd_at - packet_end) as usize])?;
    out.write_all(&ifd)?;
    Ok(())
}
