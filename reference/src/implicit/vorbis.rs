//! The Vorbis comment block shared by FLAC (`VORBIS_COMMENT` metadata block) and Ogg
//! (Vorbis `\x03vorbis` and Opus `OpusTags` comment packets): a vendor string and a list of
//! `NAME=value` UTF-8 comments, all lengths u32 little-endian.
//!
//! Field names are case-insensitive by the Vorbis comment specification, so `AIGC=`, `aigc=`
//! and `Aigc=` are the same field and no key-case problem is reported. Writing keeps the
//! vendor string and every other comment byte for byte; the first AIGC comment is replaced in
//! place (or one is appended) and other AIGC comments are removed.

use crate::error::{CodecError, Result};
use crate::limits;

/// A parsed comment block.
#[derive(Debug, Clone)]
pub(crate) struct Comments {
    /// The vendor string bytes.
    pub vendor: Vec<u8>,
    /// Each comment as raw bytes (`NAME=value`), with the offset of its length field relative
    /// to the block start.
    pub entries: Vec<(u64, Vec<u8>)>,
}

fn u32_at(data: &[u8], pos: usize, base: u64, what: &str) -> Result<u32> {
    data.get(pos..pos + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| {
            CodecError::corrupt(
                base + pos as u64,
                format!("truncated Vorbis comment block: {what} missing"),
            )
        })
}

fn bytes_at<'a>(data: &'a [u8], pos: usize, len: u32, base: u64, what: &str) -> Result<&'a [u8]> {
    (pos.checked_add(len as usize))
        .and_then(|end| data.get(pos..end))
        .ok_or_else(|| {
            CodecError::corrupt(
                base + pos as u64,
                format!(
                    "{what} of {len} bytes runs past the end of the Vorbis comment block ({} bytes)",
                    data.len()
                ),
            )
        })
}

impl Comments {
    /// Parse a block from the start of `data` (`base` is its file offset, for messages).
    /// Returns the block and the number of bytes it used (the rest, e.g. the Vorbis framing
    /// bit or Opus extra data, belongs to the caller).
    pub fn parse(data: &[u8], base: u64) -> Result<(Comments, usize)> {
        let vlen = u32_at(data, 0, base, "vendor length")?;
        let vendor = bytes_at(data, 4, vlen, base, "vendor string")?.to_vec();
        let mut pos = 4 + vlen as usize;
        let count = u32_at(data, pos, base, "comment count")?;
        pos += 4;
        // Each comment needs at least its 4-byte length: a count beyond that is a lie.
        if count as usize > (data.len() - pos) / 4 {
            return Err(CodecError::corrupt(
                base + pos as u64 - 4,
                format!("Vorbis comment count {count} exceeds what the block can hold"),
            ));
        }
        let mut entries = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let at = pos as u64;
            let len = u32_at(data, pos, base, "comment length")?;
            let text = bytes_at(data, pos + 4, len, base, "comment")?;
            entries.push((at, text.to_vec()));
            pos += 4 + len as usize;
        }
        Ok((Comments { vendor, entries }, pos))
    }

    /// A block with only a vendor string.
    pub fn empty(vendor: &str) -> Comments {
        Comments {
            vendor: vendor.as_bytes().to_vec(),
            entries: Vec::new(),
        }
    }

    /// The values of the AIGC comments (any case), with the offset of each comment relative to
    /// the block start.
    pub fn labels(&self) -> Vec<(u64, String)> {
        self.entries
            .iter()
            .filter_map(|(at, e)| {
                let eq = e.iter().position(|&b| b == b'=')?;
                e[..eq].eq_ignore_ascii_case(b"AIGC").then(|| {
                    let v = String::from_utf8_lossy(&e[eq + 1..]).into_owned();
                    (*at, v)
                })
            })
            .collect()
    }

    /// Whether any comment is an AIGC field.
    pub fn has_label(&self) -> bool {
        !self.labels().is_empty()
    }

    /// Set the label: the first AIGC comment becomes `AIGC=json`, other AIGC comments go.
    pub fn set_label(&mut self, json: &str) {
        let mut entry = b"AIGC=".to_vec();
        entry.extend_from_slice(json.as_bytes());
        let mut placed = false;
        let mut entries = Vec::with_capacity(self.entries.len() + 1);
        for (at, e) in self.entries.drain(..) {
            if is_aigc(&e) {
                if !placed {
                    entries.push((at, entry.clone()));
                    placed = true;
                }
            } else {
                entries.push((at, e));
            }
        }
        if !placed {
            entries.push((0, entry));
        }
        self.entries = entries;
    }

    /// Remove every AIGC comment.
    pub fn remove_labels(&mut self) {
        self.entries.retain(|(_, e)| !is_aigc(e));
    }

    /// Serialize the block.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let total: usize =
            8 + self.vendor.len() + self.entries.iter().map(|(_, e)| 4 + e.len()).sum::<usize>();
        if total as u64 > limits::MAX_METADATA_BYTES {
            return Err(CodecError::limit(
                0,
                format!("Vorbis comment block of {total} bytes exceeds the metadata limit"),
            ));
        }
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&(self.vendor.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.vendor);
        out.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        for (_, e) in &self.entries {
            out.extend_from_slice(&(e.len() as u32).to_le_bytes());
            out.extend_from_slice(e);
        }
        Ok(out)
    }
}

fn is_aigc(e: &[u8]) -> bool {
    e.iter()
        .position(|&b| b == b'=')
        .is_some_and(|eq| e[..eq].eq_ignore_ascii_case(b"AIGC"))
}
