//! GIF: the label is the `TC260:AIGC` property of the XMP packet in the application extension
//! `XMP DataXMP` (image guide PG-20259A; XMP spec part 3). The packet bytes are stored raw,
//! not split into sub-blocks, followed by the 258-byte "magic trailer" (0x01, 0xFF..0x00, then
//! the 0x00 block terminator) that makes a GIF decoder walking sub-block lengths land on the
//! terminator whatever the packet bytes are.
//!
//! Writing replaces the first XMP extension in place (other properties kept) or inserts one
//! right after the global colour table; removes labels from further XMP extensions; and copies
//! every other block, image data included, byte for byte. A GIF87a header becomes GIF89a, the
//! version that has extensions.

use std::io::Write;

use super::one_label::{self, Layout, Role, Unit, UnitWriter};
use super::{xmp, Format, Found};
use crate::error::{CodecError, Result};
use crate::io::{Input, Output};
use crate::limits;
use crate::media::{Modality, PayloadMethod};

const XMP_APP_ID: &[u8; 11] = b"XMP DataXMP";

/// Where the packet starts in an XMP application extension: introducer, label, the id's
/// length byte and the 11-byte id `XMP DataXMP`.
const XMP_DATA_OFFSET: u64 = 14;

/// The GIF container.
pub struct Gif;

/// One block after the logical screen descriptor and global colour table.
struct Block {
    offset: u64,
    len: u64,
    /// For an XMP application extension: where its data starts (after the 11-byte id).
    xmp_data: Option<u64>,
}

/// Skip a chain of data sub-blocks starting at the current position; returns the offset of the
/// terminating zero-length block.
fn skip_sub_blocks(input: &mut Input) -> Result<u64> {
    loop {
        let at = input.pos()?;
        let [len] = input.read_array::<1>().map_err(|_| {
            CodecError::corrupt(
                at,
                "truncated: the file ends inside a chain of data sub-blocks",
            )
        })?;
        if len == 0 {
            return Ok(at);
        }
        if at + 1 + len as u64 > input.len() {
            return Err(CodecError::corrupt(
                at,
                format!(
                    "truncated: data sub-block of {len} bytes runs past the end of the file ({} bytes)",
                    input.len()
                ),
            ));
        }
        input.skip(len as u64)?;
    }
}

/// Parse the header and walk the blocks up to the trailer (0x3B). Returns the end of the
/// header + global colour table, the blocks, and the offset of the trailer.
fn walk(input: &mut Input) -> Result<(u64, Vec<Block>, u64)> {
    input.seek_to(0)?;
    let head: [u8; 13] = input.read_array()?;
    if &head[..6] != b"GIF87a" && &head[..6] != b"GIF89a" {
        return Err(CodecError::corrupt(0, "not a GIF signature"));
    }
    let packed = head[10];
    let gct = if packed & 0x80 != 0 {
        3u64 << ((packed & 7) + 1)
    } else {
        0
    };
    let header_end = 13 + gct;
    if header_end > input.len() {
        return Err(CodecError::corrupt(
            13,
            "truncated: the global colour table runs past the end of the file",
        ));
    }
    input.seek_to(header_end)?;
    let mut blocks = Vec::new();
    for _ in 0..limits::MAX_ENTRIES {
        let offset = input.pos()?;
        let [intro] = input.read_array::<1>().map_err(|_| {
            CodecError::corrupt(
                offset,
                "truncated: the file ends without the GIF trailer (0x3B)",
            )
        })?;
        let mut xmp_data = None;
        match intro {
            0x3B => return Ok((header_end, blocks, offset)),
            0x21 => {
                let [label] = input.read_array::<1>()?;
                if label == 0xFF {
                    let here = input.pos()?;
                    let id = input.peek(12)?;
                    if id.len() == 12 && id[0] == 11 && &id[1..] == XMP_APP_ID {
                        input.skip(12)?;
                        xmp_data = Some(here + 12);
                        debug_assert_eq!(here + 12, offset + XMP_DATA_OFFSET);
                    }
                }
                skip_sub_blocks(input)?;
            }
            0x2C => {
                let desc: [u8; 9] = input.read_array()?;
                if desc[8] & 0x80 != 0 {
                    input.skip(3u64 << ((desc[8] & 7) + 1))?;
                }
                input.skip(1)?; // LZW minimum code size
                skip_sub_blocks(input)?;
            }
            other => {
                return Err(CodecError::corrupt(
                    offset,
                    format!("unknown GIF block introducer 0x{other:02x}"),
                ))
            }
        }
        let end = input.pos()?;
        blocks.push(Block {
            offset,
            len: end - offset,
            xmp_data,
        });
    }
    Err(CodecError::limit(0, "too many GIF blocks"))
}

/// The XMP packet of an XMP application extension.
fn read_xmp(input: &mut Input, block: &Block, data_at: u64) -> Result<String> {
    // The data runs to the terminator, the last byte of the block.
    let len = block.offset + block.len - 1 - data_at;
    input.seek_to(data_at)?;
    let data = input.read_vec(len, limits::MAX_METADATA_BYTES, "GIF XMP data")?;
    String::from_utf8(packet_bytes(&data))
        .map_err(|e| CodecError::corrupt(data_at, format!("XMP packet is not UTF-8: {e}")))
}

/// The packet inside the data of an XMP extension (everything between the application id and
/// the block terminator).
fn packet_bytes(data: &[u8]) -> Vec<u8> {
    // The XMP way stores the packet raw, so the data starts with the packet's own `<` (or a
    // BOM); a writer that used ordinary sub-blocks starts with a length byte instead.
    let raw = data.first() == Some(&b'<') || data.starts_with(b"\xEF\xBB\xBF");
    if raw {
        let end = find_packet_end(data)
            .or_else(|| find(data, &[0x01, 0xFF, 0xFE, 0xFD]))
            .unwrap_or(data.len());
        data[..end].to_vec()
    } else {
        dechunk(data)
    }
}

/// End of the `<?xpacket end=...?>` processing instruction, if present.
fn find_packet_end(data: &[u8]) -> Option<usize> {
    let start = find(data, b"<?xpacket end=")?;
    let close = find(&data[start..], b"?>")?;
    Some(start + close + 2)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn dechunk(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        let n = data[i] as usize;
        let end = (i + 1 + n).min(data.len());
        out.extend_from_slice(&data[i + 1..end]);
        i = end;
    }
    out
}

fn write_xmp_extension(out: &mut Output, packet: &str) -> Result<()> {
    if packet.as_bytes().contains(&0) {
        return Err(CodecError::Unsupported(
            "an XMP packet for GIF must not contain NUL bytes".into(),
        ));
    }
    // Magic trailer: 0x01, 0xFF, 0xFE, ..., 0x00, then the block terminator.
    let mut trailer = Vec::with_capacity(258);
    trailer.push(1u8);
    trailer.extend((0..=255u8).rev());
    trailer.push(0);
    // A reader finds the packet's end by its `<?xpacket end=...?>` (or the trailer); a packet
    // that holds that text early, or does not start with `<`, would read back cut short or
    // garbled, so it is refused rather than written.
    let mut data = packet.as_bytes().to_vec();
    data.extend_from_slice(&trailer[..trailer.len() - 1]);
    if packet_bytes(&data) != packet.as_bytes() {
        return Err(CodecError::Unsupported(
            "this XMP packet cannot be stored in a GIF so that it reads back unchanged (its packet end marker is misplaced)".into(),
        ));
    }
    out.write_all(&[0x21, 0xFF, 11])?;
    out.write_all(XMP_APP_ID)?;
    out.write_all(packet.as_bytes())?;
    out.write_all(&trailer)?;
    Ok(())
}

impl Format for Gif {
    fn id(&self) -> &'static str {
        "gif"
    }
    fn modality(&self, _head: &[u8]) -> Modality {
        Modality::Image
    }
    fn payload(&self) -> PayloadMethod {
        PayloadMethod::DecodedFrames
    }
    fn media_types(&self) -> &'static [&'static str] {
        &["image/gif"]
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["gif"]
    }
    fn carrier(&self) -> &'static str {
        "application extension XMP DataXMP, XMP property TC260:AIGC (element form), after the global colour table"
    }
    fn sniff(&self, head: &[u8]) -> bool {
        head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a")
    }

    fn read(&self, input: &mut Input) -> Result<Vec<Found>> {
        let (_, blocks, _) = walk(input)?;
        let mut found = Vec::new();
        for b in &blocks {
            if let Some(at) = b.xmp_data {
                let packet = read_xmp(input, b, at)?;
                for (text, notes) in xmp::find_labels(&packet).map_err(xmp::error_at(at))? {
                    let mut f = Found::named("gif/XMP-DataXMP", b.offset, text);
                    f.notes = notes;
                    found.push(f);
                }
                super::check_label_count(&found, b.offset)?;
            }
        }
        Ok(found)
    }

    fn write(&self, input: &mut Input, out: &mut Output, json: &str) -> Result<()> {
        let (header_end, blocks, _trailer) = walk(input)?;
        // A new XMP extension goes right after the header (before the first block).
        let mut layout = Layout::new();
        layout.insert_at = Some(0);
        for b in &blocks {
            let role = match b.xmp_data {
                Some(at) => Role::Standard {
                    has_label: xmp::has_label(&read_xmp(input, b, at)?),
                },
                None => Role::Keep,
            };
            layout.push_after_gap(header_end, b.offset, b.len, role);
        }
        // Extensions exist only in GIF89a: an 87a file that gains one is declared 89a (as
        // ExifTool does); nothing else in the header changes.
        out.write_all(b"GIF89a")?;
        input.seek_to(6)?;
        input.copy_to(out, header_end - 6)?;
        one_label::rewrite(&layout, input, out, &XmpExtensions, json)?;
        // The trailer and anything after it.
        let end = layout.units.last().map_or(header_end, |u| u.offset + u.len);
        input.copy_rest_from(end, out)
    }
}

/// Writes the XMP application extensions for [`one_label::rewrite`].
struct XmpExtensions;

impl XmpExtensions {
    /// The packet of the XMP extension `unit` and where its data starts.
    fn packet(input: &mut Input, unit: &Unit) -> Result<(String, u64)> {
        let block = Block {
            offset: unit.offset,
            len: unit.len,
            xmp_data: None,
        };
        let at = unit.offset + XMP_DATA_OFFSET;
        Ok((read_xmp(input, &block, at)?, at))
    }
}

impl UnitWriter for XmpExtensions {
    fn label(
        &self,
        input: &mut Input,
        out: &mut Output,
        unit: Option<&Unit>,
        json: &str,
    ) -> Result<()> {
        let packet = match unit {
            Some(u) => {
                let (packet, at) = Self::packet(input, u)?;
                xmp::set_label(&packet, json).map_err(xmp::error_at(at))?
            }
            None => xmp::new_packet(json),
        };
        write_xmp_extension(out, &packet)
    }

    fn strip(&self, input: &mut Input, out: &mut Output, unit: &Unit) -> Result<()> {
        let (packet, at) = Self::packet(input, unit)?;
        write_xmp_extension(
            out,
            &xmp::remove_labels(&packet).map_err(xmp::error_at(at))?,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gif_with(ext: &[u8]) -> Vec<u8> {
        let mut g = b"GIF89a\x01\x00\x01\x00\x00\x00\x00".to_vec();
        g.extend_from_slice(ext);
        g.extend_from_slice(b"\x2c\0\0\0\0\x01\0\x01\0\0\x02\x02\x44\x01\0\x3b");
        g
    }

    const PACKET: &str = "<?xpacket begin=\"\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?><x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description xmlns:TC260=\"http://www.tc260.org.cn/ns/AIGC/1.0/\"><TC260:AIGC>{}</TC260:AIGC></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>";

    #[test]
    fn xmp_in_ordinary_sub_blocks_is_read_too() {
        // A non-conforming writer that split the packet into sub-blocks without magic trailer.
        let mut ext = b"\x21\xff\x0bXMP DataXMP".to_vec();
        for chunk in PACKET
            .replace("<?xpacket end=\"w\"?>", "")
            .as_bytes()
            .chunks(255)
        {
            ext.push(chunk.len() as u8);
            ext.extend_from_slice(chunk);
        }
        ext.push(0);
        let found = Gif.read(&mut Input::from_bytes(gif_with(&ext))).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].text, "{}");
    }

    #[test]
    fn written_extension_survives_a_sub_block_walk_and_reads_back() {
        let mut out = Output::memory();
        Gif.write(
            &mut Input::from_bytes(gif_with(&[])),
            &mut out,
            "{\"Label\":\"1\"}",
        )
        .unwrap();
        let bytes = out.into_bytes().unwrap();
        let found = Gif.read(&mut Input::from_bytes(bytes)).unwrap();
        assert_eq!(found[0].text, "{\"Label\":\"1\"}");
    }
}
