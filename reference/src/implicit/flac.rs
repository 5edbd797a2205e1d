//! FLAC: the label is the comment `AIGC=` of the `VORBIS_COMMENT` metadata block (audio guide
//! PG-202510A; ffmpeg writes it with `-metadata AIGC=...`).
//!
//! Writing replaces the AIGC comment in the first VORBIS_COMMENT block (other comments and the
//! vendor string kept byte for byte), removes AIGC comments from any further such block, or
//! adds a block right after STREAMINFO when there is none. Every other metadata block and all
//! audio frames are copied unchanged; the last-block flag is set on whichever block ends the
//! metadata in the output. PADDING is not resized (the file grows by the label's size).

use std::io::Write;

use super::vorbis::Comments;
use super::{Format, Found};
use crate::error::{CodecError, Result};
use crate::io::{Input, Output};
use crate::limits;
use crate::media::{Modality, PayloadMethod};

const VORBIS_COMMENT: u8 = 4;

/// The FLAC container.
pub struct Flac;

struct Block {
    offset: u64,
    kind: u8,
    len: u64,
}

/// The metadata block headers, in order; the input is left after the last block.
fn blocks(input: &mut Input) -> Result<Vec<Block>> {
    input.seek_to(0)?;
    let magic: [u8; 4] = input.read_array()?;
    if &magic != b"fLaC" {
        return Err(CodecError::corrupt(0, "not a FLAC stream (no fLaC marker)"));
    }
    let mut out = Vec::new();
    let mut offset = 4u64;
    loop {
        input.seek_to(offset)?;
        let h: [u8; 4] = input.read_array()?;
        let kind = h[0] & 0x7f;
        let len = u64::from(u32::from_be_bytes([0, h[1], h[2], h[3]]));
        if kind == 127 {
            return Err(CodecError::corrupt(
                offset,
                "invalid FLAC metadata block type 127",
            ));
        }
        if out.is_empty() && kind != 0 {
            return Err(CodecError::corrupt(
                offset,
                "the first FLAC metadata block is not STREAMINFO",
            ));
        }
        if offset + 4 + len > input.len() {
            return Err(CodecError::corrupt(
                offset,
                format!(
                    "truncated: FLAC metadata block of {len} bytes runs past the end of the file"
                ),
            ));
        }
        out.push(Block { offset, kind, len });
        offset += 4 + len;
        if h[0] & 0x80 != 0 {
            return Ok(out);
        }
        if out.len() > limits::MAX_ENTRIES {
            return Err(CodecError::limit(offset, "too many FLAC metadata blocks"));
        }
    }
}

/// One output block: its type, the input block (if any) and replacement data (if any).
type Planned<'a> = (u8, Option<&'a Block>, Option<Vec<u8>>);

fn read_comments(input: &mut Input, b: &Block) -> Result<Comments> {
    input.seek_to(b.offset + 4)?;
    let data = input.read_vec(
        b.len,
        limits::MAX_METADATA_BYTES,
        "FLAC VORBIS_COMMENT block",
    )?;
    Ok(Comments::parse(&data, b.offset + 4)?.0)
}

fn block_header(out: &mut Output, kind: u8, len: usize, last: bool) -> Result<()> {
    if len >= 1 << 24 {
        return Err(CodecError::Unsupported(
            "FLAC metadata block larger than 16 MiB".into(),
        ));
    }
    let l = (len as u32).to_be_bytes();
    out.write_all(&[kind | if last { 0x80 } else { 0 }, l[1], l[2], l[3]])?;
    Ok(())
}

impl Format for Flac {
    fn id(&self) -> &'static str {
        "flac"
    }
    fn modality(&self, _head: &[u8]) -> Modality {
        Modality::Audio
    }
    fn payload(&self) -> PayloadMethod {
        PayloadMethod::Packets
    }
    fn media_types(&self) -> &'static [&'static str] {
        &["audio/flac", "audio/x-flac"]
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["flac"]
    }
    fn carrier(&self) -> &'static str {
        "VORBIS_COMMENT metadata block, comment AIGC=<bare JSON>"
    }
    fn sniff(&self, head: &[u8]) -> bool {
        head.starts_with(b"fLaC")
    }

    fn read(&self, input: &mut Input) -> Result<Vec<Found>> {
        let mut found = Vec::new();
        for b in blocks(input)? {
            if b.kind == VORBIS_COMMENT {
                for (at, text) in read_comments(input, &b)?.labels() {
                    found.push(Found::named(
                        "flac/VORBIS_COMMENT/AIGC",
                        b.offset + 4 + at,
                        text,
                    ));
                }
            }
        }
        Ok(found)
    }

    fn write(&self, input: &mut Input, out: &mut Output, json: &str) -> Result<()> {
        let list = blocks(input)?;
        let audio_start = list.last().map_or(4, |b| b.offset + 4 + b.len);
        // Plan: each output block is either copied (None) or replaced by new bytes.
        let mut plan: Vec<Planned> = Vec::new();
        let mut have_label_block = false;
        for b in &list {
            if b.kind == VORBIS_COMMENT {
                let mut c = read_comments(input, b)?;
                if !have_label_block {
                    c.set_label(json);
                    have_label_block = true;
                    plan.push((b.kind, Some(b), Some(c.to_bytes()?)));
                } else if c.has_label() {
                    c.remove_labels();
                    plan.push((b.kind, Some(b), Some(c.to_bytes()?)));
                } else {
                    plan.push((b.kind, Some(b), None));
                }
            } else {
                plan.push((b.kind, Some(b), None));
            }
        }
        if !have_label_block {
            let mut c = Comments::empty(concat!("aigc-label ", env!("CARGO_PKG_VERSION")));
            c.set_label(json);
            plan.insert(1, (VORBIS_COMMENT, None, Some(c.to_bytes()?)));
        }
        out.write_all(b"fLaC")?;
        let n = plan.len();
        for (i, (kind, block, bytes)) in plan.into_iter().enumerate() {
            let last = i + 1 == n;
            match (bytes, block) {
                (Some(bytes), _) => {
                    block_header(out, kind, bytes.len(), last)?;
                    out.write_all(&bytes)?;
                }
                (None, Some(b)) => {
                    block_header(out, kind, b.len as usize, last)?;
                    input.seek_to(b.offset + 4)?;
                    input.copy_to(out, b.len)?;
                }
                (None, None) => {}
            }
        }
        input.copy_rest_from(audio_start, out)
    }
}
