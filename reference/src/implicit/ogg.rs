//! Ogg Vorbis and Ogg Opus: the label is the comment `AIGC=` of the comment header packet
//! (`\x03vorbis` + Vorbis comments + framing bit, or `OpusTags` + Vorbis comments), audio guide
//! PG-202510A.
//!
//! The comment packet usually fills page 1 (for Vorbis together with the setup packet) and may
//! span several pages. Writing re-paginates the header packets after the identification
//! header (page 0 is kept byte for byte): the comment packet starts a page, the next header
//! packet (Vorbis setup) starts a new page, and the last header packet ends its page, as both
//! codec specifications require. When the number of header pages changes, every later page of
//! the stream is renumbered and its CRC recomputed (Ogg CRC-32, polynomial 0x04C11DB7, not the
//! zlib CRC); pages of other multiplexed streams are copied unchanged. Pages stream one at a
//! time (at most 65 307 bytes each), so memory does not grow with the file.
//!
//! Corruption policy: a page whose CRC does not match is refused with an error naming its
//! offset, on read (header pages) and on write (every page that is rewritten), because a
//! rewrite would otherwise silently "repair" a damaged page with a fresh CRC.

use std::io::Write;

use super::vorbis::Comments;
use super::{Format, Found};
use crate::error::{CodecError, Result};
use crate::io::{Input, Output};
use crate::limits;
use crate::media::{Modality, PayloadMethod};

/// The Ogg Vorbis / Ogg Opus container.
pub struct Ogg;

const CRC_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut r = (i as u32) << 24;
        let mut j = 0;
        while j < 8 {
            r = if r & 0x8000_0000 != 0 {
                (r << 1) ^ 0x04c1_1db7
            } else {
                r << 1
            };
            j += 1;
        }
        t[i] = r;
        i += 1;
    }
    t
};

/// Ogg page CRC: CRC-32, polynomial 0x04C11DB7, initial value 0, no reflection, no final XOR.
pub(crate) fn ogg_crc(data: &[u8]) -> u32 {
    data.iter().fold(0u32, |crc, &b| {
        (crc << 8) ^ CRC_TABLE[(((crc >> 24) as u8) ^ b) as usize]
    })
}

/// One page, raw bytes kept.
struct Page {
    offset: u64,
    raw: Vec<u8>,
}

impl Page {
    fn header_type(&self) -> u8 {
        self.raw[5]
    }
    fn serial(&self) -> u32 {
        u32::from_le_bytes([self.raw[14], self.raw[15], self.raw[16], self.raw[17]])
    }
    fn seq(&self) -> u32 {
        u32::from_le_bytes([self.raw[18], self.raw[19], self.raw[20], self.raw[21]])
    }
    fn lacing(&self) -> &[u8] {
        &self.raw[27..27 + self.raw[26] as usize]
    }
    fn body(&self) -> &[u8] {
        &self.raw[27 + self.raw[26] as usize..]
    }
    /// Set the sequence number and recompute the CRC.
    fn renumber(&mut self, seq: u32) {
        self.raw[18..22].copy_from_slice(&seq.to_le_bytes());
        set_crc(&mut self.raw);
    }
}

fn set_crc(raw: &mut [u8]) {
    raw[22..26].copy_from_slice(&[0; 4]);
    let crc = ogg_crc(raw);
    raw[22..26].copy_from_slice(&crc.to_le_bytes());
}

fn read_page(input: &mut Input, offset: u64) -> Result<Page> {
    input.seek_to(offset)?;
    let head: [u8; 27] = input.read_array()?;
    if &head[0..4] != b"OggS" {
        return Err(CodecError::corrupt(
            offset,
            "no Ogg page (capture pattern OggS) here",
        ));
    }
    if head[4] != 0 {
        return Err(CodecError::corrupt(
            offset + 4,
            format!("unknown Ogg stream structure version {}", head[4]),
        ));
    }
    let lacing = input.read_vec(u64::from(head[26]), 255, "Ogg lacing table")?;
    let body_len: u64 = lacing.iter().map(|&l| u64::from(l)).sum();
    let body = input.read_vec(body_len, 255 * 255, "Ogg page body")?;
    let mut raw = Vec::with_capacity(27 + lacing.len() + body.len());
    raw.extend_from_slice(&head);
    raw.extend_from_slice(&lacing);
    raw.extend_from_slice(&body);
    let stored = u32::from_le_bytes([raw[22], raw[23], raw[24], raw[25]]);
    let mut check = raw.clone();
    check[22..26].copy_from_slice(&[0; 4]);
    let computed = ogg_crc(&check);
    if stored != computed {
        return Err(CodecError::corrupt(
            offset + 22,
            format!("Ogg page CRC mismatch (stored {stored:08x}, computed {computed:08x})"),
        ));
    }
    Ok(Page { offset, raw })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Codec {
    Vorbis,
    Opus,
}

impl Codec {
    fn header_packets(self) -> usize {
        match self {
            Codec::Vorbis => 3,
            Codec::Opus => 2,
        }
    }
    fn comment_prefix(self) -> &'static [u8] {
        match self {
            Codec::Vorbis => b"\x03vorbis",
            Codec::Opus => b"OpusTags",
        }
    }
    fn carrier(self) -> &'static str {
        match self {
            Codec::Vorbis => "ogg/vorbis-comment/AIGC",
            Codec::Opus => "opus/OpusTags/AIGC",
        }
    }
}

/// The header packets of the first logical stream and where their pages are.
struct Headers {
    codec: Codec,
    serial: u32,
    first_seq: u32,
    first_page_len: u64,
    /// Header packets 1.. (comment first).
    packets: Vec<Vec<u8>>,
    /// Offset of the page where the comment packet starts.
    comment_offset: u64,
    /// Pages of the stream after page 0 that hold header packets.
    header_pages: u32,
    /// Pages of other streams seen among the header pages (offset, length), in order.
    others: Vec<(u64, u64)>,
    /// Offset after the last header page.
    end: u64,
}

fn headers(input: &mut Input) -> Result<Headers> {
    let first = read_page(input, 0)?;
    if first.header_type() & 0x02 == 0 {
        return Err(CodecError::corrupt(
            5,
            "the first Ogg page is not a beginning-of-stream page",
        ));
    }
    let codec = if first.body().starts_with(b"\x01vorbis") {
        Codec::Vorbis
    } else if first.body().starts_with(b"OpusHead") {
        Codec::Opus
    } else {
        return Err(CodecError::Unsupported(format!(
            "Ogg stream that does not start with Vorbis or Opus (first bytes {:02x?})",
            &first.body()[..first.body().len().min(8)]
        )));
    };
    if first.lacing().last().is_none_or(|&l| l == 255)
        || first.lacing()[..first.lacing().len() - 1]
            .iter()
            .any(|&l| l < 255)
    {
        return Err(CodecError::corrupt(
            0,
            "the identification header does not fill the first Ogg page on its own",
        ));
    }
    let serial = first.serial();
    let mut h = Headers {
        codec,
        serial,
        first_seq: first.seq(),
        first_page_len: first.raw.len() as u64,
        packets: Vec::new(),
        comment_offset: 0,
        header_pages: 0,
        others: Vec::new(),
        end: first.raw.len() as u64,
    };
    let needed = codec.header_packets() - 1;
    let mut cur: Vec<u8> = Vec::new();
    let mut in_packet = false;
    let mut total = 0u64;
    while h.packets.len() < needed {
        if h.end >= input.len() {
            return Err(CodecError::corrupt(
                h.end,
                "truncated: the Ogg stream ends inside its header packets",
            ));
        }
        let page = read_page(input, h.end)?;
        h.end += page.raw.len() as u64;
        if page.serial() != serial {
            h.others.push((page.offset, page.raw.len() as u64));
            if h.others.len() > limits::MAX_ENTRIES {
                return Err(CodecError::limit(page.offset, "too many Ogg pages"));
            }
            continue;
        }
        h.header_pages += 1;
        let continued = page.header_type() & 0x01 != 0;
        if continued != in_packet {
            return Err(CodecError::corrupt(
                page.offset + 5,
                "Ogg page continuation flag does not match the packet boundaries",
            ));
        }
        if h.packets.is_empty() && !in_packet {
            h.comment_offset = page.offset;
        }
        let mut pos = 0usize;
        let lacing = page.lacing().to_vec();
        for (i, &l) in lacing.iter().enumerate() {
            let seg = &page.body()[pos..pos + l as usize];
            pos += l as usize;
            total += u64::from(l);
            if total > limits::MAX_METADATA_BYTES {
                return Err(CodecError::limit(
                    page.offset,
                    "Ogg header packets exceed the metadata limit",
                ));
            }
            cur.extend_from_slice(seg);
            in_packet = l == 255;
            if l < 255 {
                h.packets.push(std::mem::take(&mut cur));
                if h.packets.len() == needed {
                    if i + 1 != lacing.len() {
                        return Err(CodecError::Unsupported(
                            "audio data shares a page with the last Ogg header packet".into(),
                        ));
                    }
                    break;
                }
            }
        }
    }
    let prefix = codec.comment_prefix();
    if !h.packets[0].starts_with(prefix) {
        return Err(CodecError::corrupt(
            h.comment_offset,
            "the second Ogg header packet is not a comment header",
        ));
    }
    Ok(h)
}

/// Pages for the given packets, each packet starting a new page.
fn paginate(packets: &[Vec<u8>], serial: u32, mut seq: u32) -> Vec<Vec<u8>> {
    let mut pages = Vec::new();
    for p in packets {
        let mut segs = vec![255u8; p.len() / 255];
        segs.push((p.len() % 255) as u8);
        let mut si = 0usize;
        let mut di = 0usize;
        let mut first = true;
        while si < segs.len() {
            let take = (segs.len() - si).min(255);
            let lacing = &segs[si..si + take];
            let len: usize = lacing.iter().map(|&l| l as usize).sum();
            let ends = si + take == segs.len();
            let mut raw = Vec::with_capacity(27 + take + len);
            raw.extend_from_slice(b"OggS");
            raw.push(0);
            raw.push(if first { 0 } else { 1 });
            raw.extend_from_slice(&(if ends { 0u64 } else { u64::MAX }).to_le_bytes());
            raw.extend_from_slice(&serial.to_le_bytes());
            raw.extend_from_slice(&seq.to_le_bytes());
            raw.extend_from_slice(&[0; 4]);
            raw.push(take as u8);
            raw.extend_from_slice(lacing);
            raw.extend_from_slice(&p[di..di + len]);
            set_crc(&mut raw);
            pages.push(raw);
            seq = seq.wrapping_add(1);
            si += take;
            di += len;
            first = false;
        }
    }
    pages
}

impl Format for Ogg {
    fn id(&self) -> &'static str {
        "ogg"
    }
    fn modality(&self, _head: &[u8]) -> Modality {
        Modality::Audio
    }
    fn payload(&self) -> PayloadMethod {
        PayloadMethod::Packets
    }
    fn media_types(&self) -> &'static [&'static str] {
        &["audio/ogg", "audio/opus", "audio/vorbis", "application/ogg"]
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["ogg", "oga", "opus"]
    }
    fn carrier(&self) -> &'static str {
        "comment header (\\x03vorbis or OpusTags), comment AIGC=<bare JSON>"
    }
    fn sniff(&self, head: &[u8]) -> bool {
        head.starts_with(b"OggS")
    }

    fn read(&self, input: &mut Input) -> Result<Vec<Found>> {
        let h = headers(input)?;
        let prefix = h.codec.comment_prefix().len();
        let (c, _) = Comments::parse(&h.packets[0][prefix..], h.comment_offset)?;
        Ok(c.labels()
            .into_iter()
            .map(|(_, text)| Found::named(h.codec.carrier(), h.comment_offset, text))
            .collect())
    }

    fn write(&self, input: &mut Input, out: &mut Output, json: &str) -> Result<()> {
        let mut h = headers(input)?;
        let prefix = h.codec.comment_prefix();
        let (mut c, used) = Comments::parse(&h.packets[0][prefix.len()..], h.comment_offset)?;
        c.set_label(json);
        let mut packet = prefix.to_vec();
        packet.extend_from_slice(&c.to_bytes()?);
        // The Vorbis framing bit and any Opus extra data after the comments are kept.
        packet.extend_from_slice(&h.packets[0][prefix.len() + used..]);
        h.packets[0] = packet;
        input.seek_to(0)?;
        input.copy_to(out, h.first_page_len)?;
        for &(offset, len) in &h.others {
            input.seek_to(offset)?;
            input.copy_to(out, len)?;
        }
        let pages = paginate(&h.packets, h.serial, h.first_seq.wrapping_add(1));
        for p in &pages {
            out.write_all(p)?;
        }
        let delta = pages.len() as i64 - i64::from(h.header_pages);
        if delta == 0 {
            return input.copy_rest_from(h.end, out);
        }
        let mut offset = h.end;
        let mut count = 0usize;
        while offset < input.len() {
            let mut page = read_page(input, offset)?;
            offset += page.raw.len() as u64;
            if page.serial() == h.serial {
                let seq = (i64::from(page.seq()) + delta) as u32;
                page.renumber(seq);
            }
            out.write_all(&page.raw)?;
            count += 1;
            if count > 100 * limits::MAX_ENTRIES {
                return Err(CodecError::limit(offset, "too many Ogg pages"));
            }
        }
        Ok(())
    }
}
