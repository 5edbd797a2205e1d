//! FLAC: the label is the comment `AIGC=` of the `VORBIS_COMMENT` metadata block (audio guide
//! PG-202510A; ffmpeg writes it with `-metadata AIGC=...`).
//!
//! Writing replaces the AIGC comment in the first VORBIS_COMMENT block (other comments and the
//! vendor string kept byte for byte), removes AIGC comments from any further such block, or
//! adds a block right after STREAMINFO when there is none. Every other metadata block and all
//! audio frames are copied unchanged; the last-block flag is set on whichever block ends the
//! metadata in the output. PADDING is not resized (the file grows by the label's size).

use std::io::Write;

use super::one_label::{self, Layout, Role, Target, Unit, UnitWriter};
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
        // A new VORBIS_COMMENT block goes right after STREAMINFO. Block headers are copied
        // with their block, except where the last-block flag moves.
        let mut layout = Layout::new();
        for b in &list {
            let role = if b.kind == VORBIS_COMMENT {
                Role::Standard {
                    has_label: read_comments(input, b)?.has_label(),
                }
            } else {
                Role::Keep
            };
            layout.push(b.offset, 4 + b.len, role);
        }
        layout.insert_at = Some(1);
        let appended = layout.target()? == Target::New(list.len());
        if appended {
            layout.units[list.len() - 1].role = Role::Amend;
        }
        out.write_all(b"fLaC")?;
        let blocks = Blocks {
            list: &list,
            new_is_last: appended,
        };
        one_label::rewrite(&layout, input, out, &blocks, json)?;
        input.copy_rest_from(audio_start, out)
    }
}

/// Writes the metadata blocks that change for [`one_label::rewrite`].
struct Blocks<'a> {
    list: &'a [Block],
    /// Whether a new VORBIS_COMMENT block is the last block.
    new_is_last: bool,
}

impl Blocks<'_> {
    /// The block at `unit` and whether it is the last one written.
    fn block(&self, unit: &Unit) -> Result<(&Block, bool)> {
        let i = self
            .list
            .binary_search_by_key(&unit.offset, |b| b.offset)
            .map_err(|_| CodecError::corrupt(unit.offset, "no metadata block here"))?;
        Ok((&self.list[i], i + 1 == self.list.len() && !self.new_is_last))
    }

    fn write_comments(out: &mut Output, c: &Comments, last: bool) -> Result<()> {
        let bytes = c.to_bytes()?;
        block_header(out, VORBIS_COMMENT, bytes.len(), last)?;
        Ok(out.write_all(&bytes)?)
    }
}

impl UnitWriter for Blocks<'_> {
    fn label(
        &self,
        input: &mut Input,
        out: &mut Output,
        unit: Option<&Unit>,
        json: &str,
    ) -> Result<()> {
        let (mut c, last) = match unit {
            Some(u) => {
                let (b, last) = self.block(u)?;
                (read_comments(input, b)?, last)
            }
            None => (
                Comments::empty(concat!("aigc-label ", env!("CARGO_PKG_VERSION"))),
                self.new_is_last,
            ),
        };
        c.set_label(json);
        Self::write_comments(out, &c, last)
    }

    fn strip(&self, input: &mut Input, out: &mut Output, unit: &Unit) -> Result<()> {
        let (b, last) = self.block(unit)?;
        let mut c = read_comments(input, b)?;
        c.remove_labels();
        Self::write_comments(out, &c, last)
    }

    fn amend(&self, input: &mut Input, out: &mut Output, unit: &Unit) -> Result<()> {
        let (b, last) = self.block(unit)?;
        block_header(out, b.kind, b.len as usize, last)?;
        input.seek_to(b.offset + 4)?;
        input.copy_to(out, b.len)
    }
}
