//! RIFF: one bounded chunk walker shared by WAV, AVI and WebP, and the WAV and AVI formats.
//!
//! A RIFF file is `RIFF` + u32 LE size + form type, then chunks: 4-byte id, u32 LE size, data,
//! and one pad byte when the size is odd. `LIST` chunks hold a list type and sub-chunks. The
//! walker checks every size against its parent before use, tolerates only one irregularity seen
//! in real files (a missing pad byte after the very last chunk), and limits nesting depth and
//! chunk counts. RF64/BW64 (EBU Tech 3306, ITU-R BS.2088: WAV beyond 4 GiB) is read and
//! written: the 32-bit RIFF size says 0xFFFFFFFF, and the first chunk, `ds64`, holds the real
//! 64-bit RIFF and `data` sizes (the `data` chunk's own size then says 0xFFFFFFFF too); a
//! label write patches the 64-bit RIFF size in `ds64`. A WAV streamed to a
//! pipe (RIFF and `data` sizes left at the placeholder 0xFFFFFFFF, as ffmpeg writes them) is
//! read to the end of the file, and written with both sizes made real.
//!
//! WAV (audio guide PG-202510A): the label is a **top-level chunk `AIGC`** holding the bare JSON.
//! Also read: `LIST`/`INFO` sub-chunk `AIGC` (the variant ffmpeg and mediainfo can see, written
//! by some tools next to the standard chunk) and an `id3 `/`ID3 ` chunk with a TXXX `AIGC`
//! frame. Writing appends one `AIGC` chunk at the end of the RIFF (after `data`, so no audio
//! moves), drops every other `AIGC` chunk, removes the INFO sub-chunk (the LIST is rewritten
//! with its size patched) and the ID3 TXXX frame, and patches the RIFF size.
//!
//! AVI (video guide PG-20257A): the label is a `LIST`/`INFO` sub-chunk `AIGC`. Also read: a
//! top-level `AIGC` chunk. Writing must not move `movi`: `idx1` offsets are relative to it and
//! OpenDML `indx` entries are absolute. So an existing label chunk is turned into a `JUNK`
//! chunk of the same size (zeroed), and a new `LIST`/`INFO` holding only `AIGC` is appended at
//! the end of the RIFF, after `idx1`, where ffmpeg's AVI demuxer also reads INFO lists.
//! OpenDML AVI (a `RIFF AVIX` after the first RIFF: files over 1 GiB) cannot grow its first
//! RIFF either, so there the label takes the place of the `JUNK` padding before `movi`
//! ([`write_opendml`]); when no padding is large enough it is refused.

use std::io::Write;

use super::one_label::{self, Layout, Role, Unit, UnitWriter};
use super::{id3, Format, Found};
use crate::error::{CodecError, Result};
use crate::io::{Input, Output};
use crate::label::ProblemCode;
use crate::limits;
use crate::media::{Modality, PayloadMethod};

/// The label chunk id of WAV and the INFO sub-chunk id of AVI.
const AIGC: [u8; 4] = *b"AIGC";

/// One chunk header as found by [`walk`].
#[derive(Debug, Clone)]
pub(crate) struct Chunk {
    /// Offset of the chunk id.
    pub offset: u64,
    /// The four-character id.
    pub id: [u8; 4],
    /// The data size as declared (without the pad byte).
    pub size: u64,
    /// For `LIST` (and nested `RIFF`) chunks of at least 4 bytes: the list type.
    pub list_type: Option<[u8; 4]>,
    /// True when the size is odd and the pad byte is missing because the parent ends right
    /// after the data (seen after the last chunk of real files).
    pub pad_missing: bool,
    /// True when the declared size was a placeholder (a WAV streamed to a pipe says
    /// 0xFFFFFFFF) and `size` is the real size up to the end of the file; writers must write
    /// a corrected header.
    pub size_placeholder: bool,
}

impl Chunk {
    /// Offset of the data.
    pub fn data_offset(&self) -> u64 {
        self.offset + 8
    }
    /// Size of the data plus the pad byte, as it must be written.
    pub fn padded_size(&self) -> u64 {
        self.size + (self.size & 1)
    }
    /// Bytes the chunk occupies in the input.
    pub fn stored_len(&self) -> u64 {
        8 + self.padded_size() - u64::from(self.pad_missing)
    }
    /// Whether this is a `LIST` of the given type.
    pub fn is_list(&self, list_type: &[u8; 4]) -> bool {
        &self.id == b"LIST" && self.list_type.as_ref() == Some(list_type)
    }
    /// The id for messages.
    pub fn name(&self) -> String {
        fourcc(&self.id)
    }
}

/// A four-character code for messages (non-printable bytes escaped).
pub(crate) fn fourcc(id: &[u8; 4]) -> String {
    id.iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                (b as char).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect()
}

/// The RIFF header.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Riff {
    /// The form type (`WAVE`, `AVI `, `WEBP`).
    pub form: [u8; 4],
    /// Offset just past the RIFF chunk (8 + declared size).
    pub end: u64,
    /// The RIFF size was the placeholder 0xFFFFFFFF of a file streamed to a pipe; `end` is
    /// then the end of the file.
    pub streamed: bool,
    /// RF64/BW64: the magic (`RF64` or `BW64`) and the 64-bit `data` size from `ds64`, which
    /// replaces a `data` chunk size of 0xFFFFFFFF. The `ds64` chunk is at offset 12.
    pub rf64: Option<([u8; 4], u64)>,
}

/// Offset of the 64-bit RIFF size inside an RF64/BW64 file (in `ds64`, the first chunk).
const DS64_RIFF_SIZE_AT: u64 = 20;

/// The RF64/BW64 header: `ds64` must be the first chunk; its 64-bit sizes replace the 32-bit
/// placeholders.
fn read_rf64_header(input: &mut Input, magic: [u8; 4], form: [u8; 4]) -> Result<Riff> {
    let ds64: [u8; 8] = input.read_array()?;
    if &ds64[0..4] != b"ds64" {
        return Err(CodecError::corrupt(
            12,
            format!(
                "{} file whose first chunk is '{}', not 'ds64'",
                fourcc(&magic),
                fourcc(&[ds64[0], ds64[1], ds64[2], ds64[3]])
            ),
        ));
    }
    let ds64_size = u32::from_le_bytes([ds64[4], ds64[5], ds64[6], ds64[7]]);
    if ds64_size < 28 {
        return Err(CodecError::corrupt(
            16,
            format!("ds64 chunk of {ds64_size} bytes (at least 28 needed)"),
        ));
    }
    let body: [u8; 28] = input.read_array()?;
    let u64_at = |i: usize| u64::from_le_bytes(body[i..i + 8].try_into().expect("8 bytes"));
    let riff_size = u64_at(0);
    let data_size = u64_at(8);
    let table_len = u32::from_le_bytes(body[24..28].try_into().expect("4 bytes"));
    if table_len != 0 {
        return Err(CodecError::Unsupported(format!(
            "ds64 table of {table_len} other chunks larger than 4 GiB (only 'data' may be that large here)"
        )));
    }
    let end = riff_size
        .checked_add(8)
        .filter(|&e| e >= 12 + 8 + u64::from(ds64_size))
        .ok_or_else(|| {
            CodecError::corrupt(20, format!("ds64 RIFF size {riff_size} is out of range"))
        })?;
    if end > input.len() {
        return Err(CodecError::corrupt(
            20,
            format!(
                "truncated: the ds64 RIFF size announces {end} bytes, the file has {}",
                input.len()
            ),
        ));
    }
    Ok(Riff {
        form,
        end,
        streamed: false,
        rf64: Some((magic, data_size)),
    })
}

/// Read and check the RIFF header at offset 0. Chunks start at offset 12 and end at `end`.
pub(crate) fn read_header(input: &mut Input) -> Result<Riff> {
    input.seek_to(0)?;
    let head: [u8; 12] = input.read_array()?;
    match &head[0..4] {
        b"RIFF" => {}
        b"RF64" | b"BW64" => {
            let magic = [head[0], head[1], head[2], head[3]];
            return read_rf64_header(input, magic, [head[8], head[9], head[10], head[11]]);
        }
        _ => return Err(CodecError::corrupt(0, "not a RIFF file")),
    }
    let size = u64::from(u32::from_le_bytes([head[4], head[5], head[6], head[7]]));
    if size < 4 {
        return Err(CodecError::corrupt(
            4,
            format!("RIFF size {size} is less than 4"),
        ));
    }
    let end = 8 + size;
    let form = [head[8], head[9], head[10], head[11]];
    if size == 0xffff_ffff && end > input.len() {
        return Ok(Riff {
            form,
            end: input.len(),
            streamed: true,
            rf64: None,
        });
    }
    if end > input.len() {
        // Some writers count the pad byte of an odd-sized last chunk in the RIFF size but
        // never write it: the file is then exactly one byte short. Accept exactly that (the
        // walker then sees the last chunk's pad as missing, and writers add it back).
        if end == input.len() + 1 && size % 2 == 0 {
            return Ok(Riff {
                form,
                end: input.len(),
                streamed: false,
                rf64: None,
            });
        }
        return Err(CodecError::corrupt(
            4,
            format!(
                "truncated: the RIFF size announces {end} bytes, the file has {}",
                input.len()
            ),
        ));
    }
    Ok(Riff {
        form,
        end,
        streamed: false,
        rf64: None,
    })
}

/// Walk the chunks between `start` and `end` (one level). The callback sees each chunk with the
/// input positioned at its data (after the list type for lists).
pub(crate) fn walk(
    input: &mut Input,
    start: u64,
    end: u64,
    f: impl FnMut(&mut Input, &Chunk) -> Result<()>,
) -> Result<()> {
    walk_open(input, start, end, false, None, f)
}

/// [`walk`], where with `streamed` a chunk whose size is the placeholder 0xFFFFFFFF and runs
/// past `end` is taken to extend to `end` (the `data` chunk of a WAV written to a pipe). With
/// `data64` (RF64/BW64), a `data` chunk whose size says 0xFFFFFFFF has that size instead.
pub(crate) fn walk_open(
    input: &mut Input,
    start: u64,
    end: u64,
    streamed: bool,
    data64: Option<u64>,
    mut f: impl FnMut(&mut Input, &Chunk) -> Result<()>,
) -> Result<()> {
    let mut offset = start;
    let mut count = 0usize;
    while offset < end {
        count += 1;
        if count > limits::MAX_ENTRIES {
            return Err(CodecError::limit(
                offset,
                "too many RIFF chunks in one list",
            ));
        }
        if end - offset < 8 {
            return Err(CodecError::corrupt(
                offset,
                format!(
                    "{} stray bytes where a chunk header (8 bytes) should start",
                    end - offset
                ),
            ));
        }
        input.seek_to(offset)?;
        let header: [u8; 8] = input.read_array()?;
        let id = [header[0], header[1], header[2], header[3]];
        let mut size = u64::from(u32::from_le_bytes([
            header[4], header[5], header[6], header[7],
        ]));
        if let (Some(n), b"data", 0xffff_ffff) = (data64, &id, size) {
            size = n;
        }
        let mut data_end = (offset + 8)
            .checked_add(size)
            .ok_or_else(|| CodecError::corrupt(offset, "chunk size overflows"))?;
        let size_placeholder = streamed && size == 0xffff_ffff && data_end > end;
        if size_placeholder {
            size = end - offset - 8;
            data_end = end;
        }
        if data_end > end {
            return Err(CodecError::corrupt(
                offset,
                format!(
                    "chunk '{}' of {size} bytes runs past the end of its parent at byte {end}",
                    fourcc(&id)
                ),
            ));
        }
        let pad_missing = size % 2 == 1 && data_end == end;
        let list_type = if (&id == b"LIST" || &id == b"RIFF") && size >= 4 {
            Some(input.read_array::<4>()?)
        } else {
            None
        };
        let chunk = Chunk {
            offset,
            id,
            size,
            list_type,
            pad_missing,
            size_placeholder,
        };
        f(input, &chunk)?;
        offset += chunk.stored_len();
    }
    Ok(())
}

/// Callback of [`walk_nested`]: the chunk and the list type of its parent.
pub(crate) type NestedVisitor<'a> =
    dyn FnMut(&mut Input, &Chunk, Option<[u8; 4]>) -> Result<()> + 'a;

/// Walk the chunks between `start` and `end` and inside every `LIST` (except the bulky
/// `movi`/`rec ` payload lists), depth-first in file order. The callback gets the chunk and the
/// list type of its parent (`None` at the top level).
pub(crate) fn walk_nested(
    input: &mut Input,
    start: u64,
    end: u64,
    streamed: bool,
    data64: Option<u64>,
    f: &mut NestedVisitor,
) -> Result<()> {
    #[allow(clippy::too_many_arguments)]
    fn go(
        input: &mut Input,
        start: u64,
        end: u64,
        parent: Option<[u8; 4]>,
        depth: usize,
        streamed: bool,
        data64: Option<u64>,
        f: &mut NestedVisitor,
    ) -> Result<()> {
        if depth > limits::MAX_DEPTH {
            return Err(CodecError::limit(start, "RIFF lists nested too deeply"));
        }
        walk_open(input, start, end, streamed, data64, |input, chunk| {
            f(input, chunk, parent)?;
            if let Some(t) = chunk.list_type {
                if &chunk.id == b"LIST" && &t != b"movi" && &t != b"rec " {
                    go(
                        input,
                        chunk.data_offset() + 4,
                        chunk.data_offset() + chunk.size,
                        Some(t),
                        depth + 1,
                        false,
                        None,
                        f,
                    )?;
                }
            }
            Ok(())
        })
    }
    go(input, start, end, None, 0, streamed, data64, f)
}

/// Read a chunk's data as label text: UTF-8 (invalid bytes replaced, which the Annex E checks
/// then report), trailing NULs stripped (RIFF text chunks are NUL-terminated by convention).
pub(crate) fn read_text(input: &mut Input, chunk: &Chunk) -> Result<String> {
    input.seek_to(chunk.data_offset())?;
    let data = input.read_vec(
        chunk.size,
        limits::MAX_METADATA_BYTES,
        &format!("RIFF chunk '{}'", chunk.name()),
    )?;
    let end = data.iter().rposition(|b| *b != 0).map_or(0, |p| p + 1);
    Ok(String::from_utf8_lossy(&data[..end]).into_owned())
}

/// Copy a chunk unchanged, adding the pad byte if the input lacked it.
pub(crate) fn copy_chunk(input: &mut Input, out: &mut Output, chunk: &Chunk) -> Result<()> {
    if chunk.size_placeholder {
        let size = u32::try_from(chunk.size)
            .map_err(|_| CodecError::Unsupported("RIFF chunk larger than 4 GiB".into()))?;
        out.write_all(&chunk.id)?;
        out.write_all(&size.to_le_bytes())?;
        input.seek_to(chunk.data_offset())?;
        input.copy_to(out, chunk.size)?;
    } else {
        input.seek_to(chunk.offset)?;
        input.copy_to(out, chunk.stored_len())?;
    }
    if chunk.pad_missing {
        out.write_all(&[0])?;
    }
    Ok(())
}

/// Bytes of a chunk with this data (header, data, pad byte).
pub(crate) fn chunk_bytes(id: &[u8; 4], data: &[u8]) -> Result<Vec<u8>> {
    let size = u32::try_from(data.len())
        .map_err(|_| CodecError::Unsupported("RIFF chunk larger than 4 GiB".into()))?;
    let mut v = Vec::with_capacity(data.len() + 9);
    v.extend_from_slice(id);
    v.extend_from_slice(&size.to_le_bytes());
    v.extend_from_slice(data);
    if data.len() % 2 == 1 {
        v.push(0);
    }
    Ok(v)
}

/// Write a RIFF header with the given content length (form type included in neither).
pub(crate) fn write_header(out: &mut Output, form: &[u8; 4], body_len: u64) -> Result<()> {
    let size = u32::try_from(body_len + 4).map_err(|_| {
        CodecError::Unsupported(
            "the labelled file would exceed the 4 GiB RIFF limit (RF64 is not supported)".into(),
        )
    })?;
    out.write_all(b"RIFF")?;
    out.write_all(&size.to_le_bytes())?;
    out.write_all(form)?;
    Ok(())
}

/// Set the size of the RIFF header written by [`write_header`] at `start` to what has been
/// written since (for writers that learn the length only at the end).
pub(crate) fn patch_header_size(out: &mut Output, start: u64) -> Result<()> {
    let body_len = out.position() - start - 12;
    let size = u32::try_from(body_len + 4).map_err(|_| {
        CodecError::Unsupported(
            "the labelled file would exceed the 4 GiB RIFF limit (RF64 is not supported)".into(),
        )
    })?;
    out.patch(start + 4, &size.to_le_bytes())
}

/// The 64-bit `data` size of an RF64/BW64 file, for [`walk_open`].
fn data64(riff: &Riff) -> Option<u64> {
    riff.rf64.map(|(_, n)| n)
}

fn riff_sniff(head: &[u8], form: &[u8; 4]) -> bool {
    head.len() >= 12 && matches!(&head[0..4], b"RIFF" | b"RF64" | b"BW64") && &head[8..12] == form
}

pub(crate) fn check_form(riff: &Riff, form: &[u8; 4]) -> Result<()> {
    if let (Some((magic, _)), false) = (riff.rf64, form == b"WAVE") {
        return Err(CodecError::corrupt(
            0,
            format!(
                "{} is a WAV container; '{}' is not",
                fourcc(&magic),
                fourcc(form)
            ),
        ));
    }
    if &riff.form != form {
        return Err(CodecError::corrupt(
            8,
            format!(
                "RIFF form type is '{}', expected '{}'",
                fourcc(&riff.form),
                fourcc(form)
            ),
        ));
    }
    Ok(())
}

/// Whether a chunk id is an ID3 chunk in WAV (both spellings are used by tools).
fn is_id3_chunk(id: &[u8; 4]) -> bool {
    id == b"id3 " || id == b"ID3 "
}

/// The WAV container.
pub struct Wav;

/// How a writer treats one chunk.
enum WavAction {
    Copy,
    Drop,
    Replace(Vec<u8>),
}

impl WavAction {
    fn apply(&self, input: &mut Input, out: &mut Output, c: &Chunk) -> Result<()> {
        match self {
            WavAction::Copy => copy_chunk(input, out, c),
            WavAction::Drop => Ok(()),
            WavAction::Replace(bytes) => Ok(out.write_all(bytes)?),
        }
    }
}

/// The sub-chunks of a list.
fn sub_chunks(input: &mut Input, list: &Chunk) -> Result<Vec<Chunk>> {
    let mut subs = Vec::new();
    walk(
        input,
        list.data_offset() + 4,
        list.data_offset() + list.size,
        |_, s| {
            subs.push(s.clone());
            Ok(())
        },
    )?;
    Ok(subs)
}

/// An INFO list without its AIGC sub-chunks: unchanged, rewritten with the size patched, or
/// dropped when it held only the label.
fn info_without_label(input: &mut Input, c: &Chunk) -> Result<WavAction> {
    let subs = sub_chunks(input, c)?;
    if !subs.iter().any(|s| s.id == AIGC) {
        return Ok(WavAction::Copy);
    }
    let mut data = b"INFO".to_vec();
    for s in subs.iter().filter(|s| s.id != AIGC) {
        input.seek_to(s.offset)?;
        let bytes = input.read_vec(s.stored_len(), limits::MAX_METADATA_BYTES, "INFO sub-chunk")?;
        data.extend_from_slice(&bytes);
        if s.pad_missing {
            data.push(0);
        }
    }
    Ok(if data.len() == 4 {
        WavAction::Drop
    } else {
        WavAction::Replace(chunk_bytes(b"LIST", &data)?)
    })
}

impl Wav {
    /// The top-level chunks as units for [`one_label::rewrite`]: `AIGC` chunks are label-only
    /// carriers, INFO lists and ID3 chunks holding a label are rewritten without it (their
    /// replacement is made here, once); the label goes into a new chunk at the end.
    fn layout(&self, input: &mut Input, riff: &Riff) -> Result<(Layout, StrippedChunks)> {
        let mut chunks = Vec::new();
        walk_open(input, 12, riff.end, riff.streamed, data64(riff), |_, c| {
            chunks.push(c.clone());
            Ok(())
        })?;
        let mut layout = Layout::new();
        let mut stripped = StrippedChunks::default();
        for c in chunks {
            let action = if c.id == AIGC {
                WavAction::Drop
            } else if c.is_list(b"INFO") {
                info_without_label(input, &c)?
            } else if is_id3_chunk(&c.id) {
                input.seek_to(c.data_offset())?;
                let tag = input.read_vec(c.size, limits::MAX_METADATA_BYTES, "ID3 chunk")?;
                match id3::rewrite_tag(&tag, c.data_offset(), None)? {
                    Some(new_tag) => WavAction::Replace(chunk_bytes(&c.id, &new_tag)?),
                    None => WavAction::Copy,
                }
            } else {
                WavAction::Copy
            };
            let role = match action {
                WavAction::Drop if c.id == AIGC => Role::LabelOnly,
                WavAction::Copy => copied(&c),
                WavAction::Drop | WavAction::Replace(_) => Role::Mixed { has_label: true },
            };
            layout.push(c.offset, c.stored_len(), role);
            stripped.0.push((c, action));
        }
        layout.insert_at = Some(layout.units.len());
        Ok((layout, stripped))
    }
}

/// A change to an AVI chunk before the last `movi`/`idx1`, where nothing may move: at
/// `offset`, a chunk of `size` data bytes becomes `replacement` (same total length) or, when
/// `None`, a zeroed JUNK chunk of the same size.
type InPlacePatch = (u64, u64, Option<Vec<u8>>);

/// The in-place patches removing every label before `fixed_end`. A top-level AIGC chunk, or an
/// INFO list holding only the label, becomes a JUNK chunk of the same size (zeroed). An INFO
/// list with other entries is compacted in place and followed by a JUNK chunk filling the
/// bytes the label took, so ffmpeg shows no stray tag and every later offset stays put.
fn in_place_patches(input: &mut Input, fixed_end: u64) -> Result<Vec<InPlacePatch>> {
    let mut patches: Vec<InPlacePatch> = Vec::new();
    let mut info_lists: Vec<(Chunk, Vec<Chunk>)> = Vec::new();
    walk_nested(
        input,
        12,
        fixed_end,
        false,
        None,
        &mut |input, c, parent| {
            if c.id == AIGC && parent.is_none() {
                patches.push((c.offset, c.size, None));
            } else if c.is_list(b"INFO") {
                info_lists.push((c.clone(), sub_chunks(input, c)?));
            }
            Ok(())
        },
    )?;
    for (list, subs) in &info_lists {
        if !subs.iter().any(|s| s.id == AIGC) {
            continue;
        }
        if subs.iter().all(|s| s.id == AIGC) {
            patches.push((list.offset, list.size, None));
            continue;
        }
        let mut data = b"INFO".to_vec();
        let mut freed = 0u64;
        for s in subs {
            if s.id == AIGC {
                freed += s.stored_len();
            } else {
                input.seek_to(s.offset)?;
                data.extend_from_slice(&input.read_vec(
                    s.stored_len(),
                    limits::MAX_METADATA_BYTES,
                    "INFO sub-chunk",
                )?);
            }
        }
        let mut bytes = chunk_bytes(b"LIST", &data)?;
        // freed >= 8: every removed sub-chunk has an 8-byte header.
        let filler = vec![0u8; (freed - 8) as usize];
        bytes.extend_from_slice(&chunk_bytes(b"JUNK", &filler)?);
        if bytes.len() as u64 != list.stored_len() {
            return Err(CodecError::corrupt(
                list.offset,
                "INFO list could not be compacted in place",
            ));
        }
        patches.push((list.offset, list.size, Some(bytes)));
    }
    patches.sort_unstable_by_key(|p| p.0);
    Ok(patches)
}

/// Copy the bytes from 12 to `fixed_end`, applying the in-place patches.
fn write_patched(
    input: &mut Input,
    out: &mut Output,
    patches: &[InPlacePatch],
    fixed_end: u64,
) -> Result<()> {
    let mut pos = 12u64;
    for (offset, size, replacement) in patches {
        let (offset, size) = (*offset, *size);
        if offset < pos {
            continue; // inside a list that is already replaced as a whole
        }
        input.seek_to(pos)?;
        input.copy_to(out, offset - pos)?;
        pos = offset + 8 + size;
        if let Some(bytes) = replacement {
            out.write_all(bytes)?;
            pos += size & 1; // the replacement includes the pad byte
            continue;
        }
        out.write_all(b"JUNK")?;
        out.write_all(&u32::try_from(size).unwrap_or(u32::MAX).to_le_bytes())?;
        let zeros = [0u8; 4096];
        let mut left = size;
        while left > 0 {
            let n = left.min(zeros.len() as u64) as usize;
            out.write_all(&zeros[..n])?;
            left -= n as u64;
        }
    }
    input.seek_to(pos)?;
    input.copy_to(out, fixed_end - pos)
}

/// The role of a chunk copied unchanged: a byte run, unless its header or pad byte must be
/// written out correctly ([`copy_chunk`]).
fn copied(c: &Chunk) -> Role {
    if c.pad_missing || c.size_placeholder {
        Role::Amend
    } else {
        Role::Keep
    }
}

/// Top-level RIFF chunks with what replaces each, for [`one_label::rewrite`]; the flag says
/// the label goes into a `LIST INFO` (AVI) rather than a top-level chunk (WAV).
#[derive(Default)]
struct StrippedChunks(Vec<(Chunk, WavAction)>, bool);

impl StrippedChunks {
    fn get(&self, unit: &Unit) -> Result<&(Chunk, WavAction)> {
        self.0
            .binary_search_by_key(&unit.offset, |(c, _)| c.offset)
            .map(|i| &self.0[i])
            .map_err(|_| CodecError::corrupt(unit.offset, "no chunk here"))
    }
}

impl UnitWriter for StrippedChunks {
    fn label(&self, _: &mut Input, out: &mut Output, _: Option<&Unit>, json: &str) -> Result<()> {
        let label = chunk_bytes(&AIGC, json.as_bytes())?;
        if !self.1 {
            return Ok(out.write_all(&label)?);
        }
        // AVI: the label is a sub-chunk of a LIST INFO of its own.
        let mut info = b"INFO".to_vec();
        info.extend_from_slice(&label);
        Ok(out.write_all(&chunk_bytes(b"LIST", &info)?)?)
    }
    fn strip(&self, input: &mut Input, out: &mut Output, unit: &Unit) -> Result<()> {
        let (c, action) = self.get(unit)?;
        action.apply(input, out, c)
    }
    fn amend(&self, input: &mut Input, out: &mut Output, unit: &Unit) -> Result<()> {
        let (c, action) = self.get(unit)?;
        action.apply(input, out, c)
    }
}

impl Format for Wav {
    fn id(&self) -> &'static str {
        "wav"
    }
    fn modality(&self, _head: &[u8]) -> Modality {
        Modality::Audio
    }
    fn payload(&self) -> PayloadMethod {
        PayloadMethod::Packets
    }
    fn media_types(&self) -> &'static [&'static str] {
        &["audio/wav", "audio/x-wav", "audio/vnd.wave"]
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["wav", "wave"]
    }
    fn carrier(&self) -> &'static str {
        "top-level RIFF chunk 'AIGC' (bare JSON, UTF-8), appended after 'data'"
    }
    fn sniff(&self, head: &[u8]) -> bool {
        riff_sniff(head, b"WAVE")
    }

    fn read(&self, input: &mut Input) -> Result<Vec<Found>> {
        let riff = read_header(input)?;
        check_form(&riff, b"WAVE")?;
        let mut found = Vec::new();
        walk_nested(
            input,
            12,
            riff.end,
            riff.streamed,
            data64(&riff),
            &mut |input, c, parent| {
                if c.id == AIGC && parent.is_none() {
                    found.push(Found::named(
                        "wav/AIGC-chunk",
                        c.offset,
                        read_text(input, c)?,
                    ));
                } else if c.id == AIGC && parent == Some(*b"INFO") {
                    found.push(
                    Found::named("wav/LIST-INFO/AIGC", c.offset, read_text(input, c)?).note(
                        ProblemCode::NonstandardCarrier,
                        "LIST/INFO sub-chunk AIGC (the tool variant ffmpeg can see); the audio guide's carrier is a top-level RIFF chunk AIGC",
                    ),
                );
                } else if is_id3_chunk(&c.id) && parent.is_none() {
                    input.seek_to(c.data_offset())?;
                    let tag = input.read_vec(c.size, limits::MAX_METADATA_BYTES, "ID3 chunk")?;
                    let prefix = format!("wav/{}", c.name().trim_end());
                    for f in id3::find_labels(&tag, c.data_offset(), &prefix)? {
                        found.push(f.note(
                        ProblemCode::NonstandardCarrier,
                        "ID3 TXXX frame in a WAV ID3 chunk; the audio guide's carrier is a top-level RIFF chunk AIGC",
                    ));
                    }
                }
                Ok(())
            },
        )?;
        Ok(found)
    }

    fn write(&self, input: &mut Input, out: &mut Output, json: &str) -> Result<()> {
        let riff = read_header(input)?;
        check_form(&riff, b"WAVE")?;
        let (layout, stripped) = self.layout(input, &riff)?;
        let start = out.position();
        if let Some((magic, _)) = riff.rf64 {
            // RF64/BW64: the 32-bit size stays 0xFFFFFFFF; ds64 (copied as the first chunk)
            // gets the new 64-bit RIFF size.
            out.write_all(&magic)?;
            out.write_all(&u32::MAX.to_le_bytes())?;
            out.write_all(b"WAVE")?;
            one_label::rewrite(&layout, input, out, &stripped, json)?;
            let riff_size = out.position() - start - 8;
            out.patch(start + DS64_RIFF_SIZE_AT, &riff_size.to_le_bytes())?;
        } else {
            write_header(out, b"WAVE", 0)?;
            one_label::rewrite(&layout, input, out, &stripped, json)?;
            patch_header_size(out, start)?;
        }
        // Bytes after the RIFF chunk (seen in the wild) are kept.
        if riff.end < input.len() {
            input.copy_rest_from(riff.end, out)?;
        }
        Ok(())
    }
}

/// The AVI container.
pub struct Avi;

impl Format for Avi {
    fn id(&self) -> &'static str {
        "avi"
    }
    fn modality(&self, _head: &[u8]) -> Modality {
        Modality::Video
    }
    fn payload(&self) -> PayloadMethod {
        PayloadMethod::Packets
    }
    fn media_types(&self) -> &'static [&'static str] {
        &["video/x-msvideo", "video/avi", "video/msvideo"]
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["avi"]
    }
    fn carrier(&self) -> &'static str {
        "LIST/INFO sub-chunk 'AIGC' (bare JSON, UTF-8), in a LIST INFO appended after idx1"
    }
    fn sniff(&self, head: &[u8]) -> bool {
        riff_sniff(head, b"AVI ")
    }

    fn read(&self, input: &mut Input) -> Result<Vec<Found>> {
        let riff = read_header(input)?;
        check_form(&riff, b"AVI ")?;
        let mut found = Vec::new();
        walk_nested(input, 12, riff.end, false, None, &mut |input, c, parent| {
            if c.id == AIGC && parent == Some(*b"INFO") {
                found.push(Found::named(
                    "avi/LIST-INFO/AIGC",
                    c.offset,
                    read_text(input, c)?,
                ));
            } else if c.id == AIGC && parent.is_none() {
                found.push(
                    Found::named("avi/AIGC-chunk", c.offset, read_text(input, c)?).note(
                        ProblemCode::NonstandardCarrier,
                        "top-level RIFF chunk AIGC (the WAV carrier); the video guide's AVI carrier is a LIST/INFO sub-chunk AIGC",
                    ),
                );
            }
            Ok(())
        })?;
        Ok(found)
    }

    fn write(&self, input: &mut Input, out: &mut Output, json: &str) -> Result<()> {
        let riff = read_header(input)?;
        check_form(&riff, b"AVI ")?;
        if input.len() - riff.end >= 12 {
            input.seek_to(riff.end)?;
            let next: [u8; 4] = input.read_array()?;
            if &next == b"RIFF" {
                return write_opendml(input, out, &riff, json);
            }
        }
        let mut top = Vec::new();
        walk(input, 12, riff.end, |_, c| {
            top.push(c.clone());
            Ok(())
        })?;
        // Chunks after the last movi/idx1 are referenced by no offset and may be rewritten
        // or dropped; before that point nothing may move. (ffmpeg also stops reading chunks
        // after idx1 at the first one that is neither idx1 nor LIST, so a JUNK chunk there
        // would hide the appended label from it.)
        let fixed = top
            .iter()
            .rposition(|c| c.is_list(b"movi") || &c.id == b"idx1")
            .map_or(0, |i| i + 1);
        let fixed_end = top[..fixed]
            .last()
            .map_or(12, |c| c.offset + c.stored_len());
        let fixed_pad = top[..fixed].last().is_some_and(|c| c.pad_missing);
        let patches = in_place_patches(input, fixed_end)?;
        // After fixed_end, as in WAV: label chunks dropped, INFO lists rewritten without them,
        // the label appended in a LIST INFO of its own.
        let mut layout = Layout::new();
        let mut tail = StrippedChunks::default();
        for c in &top[fixed..] {
            let (role, action) = if c.id == AIGC {
                (Role::LabelOnly, WavAction::Drop)
            } else if c.is_list(b"INFO") {
                match info_without_label(input, c)? {
                    WavAction::Copy => (copied(c), WavAction::Copy),
                    changed => (Role::Mixed { has_label: true }, changed),
                }
            } else {
                (copied(c), WavAction::Copy)
            };
            layout.push(c.offset, c.stored_len(), role);
            tail.0.push((c.clone(), action));
        }
        layout.insert_at = Some(layout.units.len());
        tail.1 = true;
        let start = out.position();
        write_header(out, b"AVI ", 0)?;
        write_patched(input, out, &patches, fixed_end)?;
        if fixed_pad {
            out.write_all(&[0])?;
        }
        one_label::rewrite(&layout, input, out, &tail, json)?;
        patch_header_size(out, start)?;
        if riff.end < input.len() {
            input.copy_rest_from(riff.end, out)?;
        }
        Ok(())
    }
}

/// The label bytes of an AVI: a `LIST INFO` holding only the `AIGC` sub-chunk.
fn avi_label_list(json: &str) -> Result<Vec<u8>> {
    let mut info = b"INFO".to_vec();
    info.extend_from_slice(&chunk_bytes(&AIGC, json.as_bytes())?);
    chunk_bytes(b"LIST", &info)
}

/// OpenDML AVI (a first `RIFF AVI ` followed by `RIFF AVIX` extensions, files over 1 GiB):
/// the OpenDML indexes (`indx`, `ix##`) hold absolute offsets into every RIFF, so nothing may
/// move, not even the end of the first RIFF. The label goes in place of padding before
/// `movi`: the first top-level `JUNK` chunk (ffmpeg and most muxers leave one to align
/// `movi`), or a former label list, large enough for a `LIST INFO` with the label, the rest
/// staying `JUNK`. Old labels become `JUNK` of the same size. Every byte after the first RIFF
/// is copied unchanged.
fn write_opendml(input: &mut Input, out: &mut Output, riff: &Riff, json: &str) -> Result<()> {
    let mut top = Vec::new();
    walk(input, 12, riff.end, |_, c| {
        top.push(c.clone());
        Ok(())
    })?;
    let mut patches = in_place_patches(input, riff.end)?;
    let label = avi_label_list(json)?;
    let need = label.len() as u64;
    let movi = top
        .iter()
        .position(|c| c.is_list(b"movi"))
        .unwrap_or(top.len());
    let mut room = None;
    for c in &top[..movi] {
        let free_space = &c.id == b"JUNK"
            || c.id == AIGC
            || (c.is_list(b"INFO") && sub_chunks(input, c)?.iter().all(|s| s.id == AIGC));
        let fits = c.stored_len() == need || c.stored_len() >= need + 8;
        if free_space && fits && !c.pad_missing {
            room = Some(c.clone());
            break;
        }
    }
    let Some(room) = room else {
        return Err(CodecError::Unsupported(format!(
            "OpenDML AVI ('RIFF AVIX' extensions, whose indexes hold absolute offsets): no JUNK chunk before movi has room for the {need}-byte label list, and nothing may move"
        )));
    };
    let mut bytes = label;
    if room.stored_len() > need {
        bytes.extend_from_slice(&chunk_bytes(
            b"JUNK",
            &vec![0u8; (room.stored_len() - need - 8) as usize],
        )?);
    }
    patches.retain(|p| p.0 != room.offset);
    patches.push((room.offset, room.size, Some(bytes)));
    patches.sort_unstable_by_key(|p| p.0);
    write_header(out, b"AVI ", riff.end - 12)?;
    write_patched(input, out, &patches, riff.end)?;
    input.copy_rest_from(riff.end, out)
}

/// Set the RIFF and `data` sizes of a streamed WAV (ffmpeg writing to a pipe
/// leaves them unknown) to the bytes actually present.
#[cfg(feature = "explicit")]
pub(crate) fn fix_streamed_wav_lengths(mut b: Vec<u8>) -> Vec<u8> {
    if b.len() < 12 || &b[0..4] != b"RIFF" {
        return b;
    }
    let total = (b.len() - 8).min(u32::MAX as usize) as u32;
    b[4..8].copy_from_slice(&total.to_le_bytes());
    let mut i = 12;
    while i + 8 <= b.len() {
        let id = [b[i], b[i + 1], b[i + 2], b[i + 3]];
        let size = u32::from_le_bytes([b[i + 4], b[i + 5], b[i + 6], b[i + 7]]) as usize;
        if &id == b"data" {
            let actual = (b.len() - i - 8).min(u32::MAX as usize) as u32;
            b[i + 4..i + 8].copy_from_slice(&actual.to_le_bytes());
            break;
        }
        i += 8 + size + (size & 1);
    }
    b
}
