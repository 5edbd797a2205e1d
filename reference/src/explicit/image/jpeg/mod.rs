//! JPEG block-level marking: only the 8×8 blocks under the label are re-encoded.
//!
//! The way lossless JPEG transforms (jpegtran) work: the entropy-coded data is decoded to
//! quantised DCT coefficients (baseline, extended-sequential and progressive Huffman JPEG,
//! 8-bit); the blocks that the label's plate reaches (at each component's own resolution, so a
//! chroma block under a 4:2:0 label is touched even where only its neighbouring luma is) are
//! inverse transformed, composited, transformed and quantised again with the file's own
//! quantisation tables; every other block's coefficients are written back unchanged.
//! Quantisation tables, the restart interval (with its RST markers), APPn/COM segments and any
//! bytes after EOI are kept. How the Huffman coding is written (reported by [`mark`]):
//!
//! 1. **Single-scan sequential input** (the common case: cameras, most encoders), the
//!    `Splice` path. The file's own Huffman tables are kept; the re-encoded MCUs (those under
//!    the label, and the one after each, whose first DC difference refers to a changed block)
//!    are coded with them. If a table has free code space (standard Annex K tables), symbols it
//!    lacks are appended as 16-bit codes, which leaves every existing code word unchanged, and
//!    the entropy-coded bits of every other MCU are **copied** as they are. If a table is full
//!    (optimised tables), a few of its longest codes are lengthened by a bit to make room; code
//!    words shorter than the first changed length keep their values (canonical codes), so every
//!    untouched MCU whose longest code is shorter is still **copied**, and only the few others
//!    are **re-coded symbol by symbol** (same symbols, same extra bits, new code words). The
//!    untouched MCUs are read once, without storing their coefficients.
//! 2. **Anything else** (progressive, several sequential scans): the whole image is decoded to
//!    coefficients and written as one sequential scan (SOF0, or SOF1 when the input was
//!    extended-sequential) with **optimised Huffman tables** computed for it (as
//!    `jpegtran -optimize`, from the symbols of every 4th row of MCUs, every symbol given a
//!    code). The decoder records each block's non-zero coefficients, so the encoder visits
//!    only those. A progressive file's scans are located first and decoded on two threads:
//!    its DC scans and each component's AC scans are chains that touch disjoint coefficients.
//!
//! Compositing is done in the file's own colour space, which is exact for this label: the
//! plate is black and the text white, i.e. grey, and YCbCr is an affine function of RGB, so
//! `alpha * overlay + (1 - alpha) * pixel` in RGB is the same blend in Y, Cb and Cr with the
//! overlay's Y = its grey level and Cb = Cr = 128. A subsampled chroma sample blends with the
//! mean of the overlay over the luma pixels it covers.
//!
//! What is not handled is reported as [`JpegError::Unsupported`] (the caller then re-encodes
//! the whole picture and says so): arithmetic coding, lossless and hierarchical JPEG, 12-bit
//! samples, CMYK/YCCK, sampling factors that do not divide the largest one, DNL. Anything
//! malformed is a [`JpegError::Malformed`] naming the byte offset. Allocation is bounded by
//! [`MAX_IMAGE_PIXELS`] (checked against the frame header before any block is allocated).

//!
//! Layout: [`decode`] parses the file and decodes scans to coefficients, [`blocks`] blends the
//! overlay into the touched blocks, [`encode`] writes the coefficient path's sequential scan,
//! [`splice`] writes the splice path, and [`huffman`] holds the bit reader and writer and the
//! Huffman tables both paths use.

use super::Overlay;
use crate::limits::MAX_IMAGE_PIXELS;

mod blocks;
mod decode;
mod encode;
mod huffman;
mod splice;
use blocks::*;
use decode::*;
use encode::*;
use huffman::*;
use splice::*;

/// Why a JPEG could not be marked block by block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JpegError {
    /// A valid JPEG this module does not handle (the caller falls back to a full re-encode).
    Unsupported(String),
    /// The file is not a well-formed JPEG: what is wrong and at which byte offset.
    Malformed {
        /// Byte offset in the file.
        offset: usize,
        /// What was wrong there.
        what: String,
    },
}

impl std::fmt::Display for JpegError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JpegError::Unsupported(s) => write!(f, "unsupported JPEG: {s}"),
            JpegError::Malformed { offset, what } => write!(f, "offset {offset}: {what}"),
        }
    }
}

fn bad<T>(offset: usize, what: impl Into<String>) -> Result<T, JpegError> {
    Err(JpegError::Malformed {
        offset,
        what: what.into(),
    })
}

fn unsupported<T>(what: impl Into<String>) -> Result<T, JpegError> {
    Err(JpegError::Unsupported(what.into()))
}

/// Zig-zag position → natural (row-major) position in an 8×8 block.
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// One block of quantised coefficients in natural order.
type Block = [i16; 64];

/// A colour component of the frame.
#[derive(Debug, Clone)]
struct Component {
    id: u8,
    h: usize,
    v: usize,
    tq: usize,
    /// Blocks per row and rows of blocks holding image data (non-interleaved scan extent).
    cw: usize,
    ch: usize,
    /// Blocks per row of the MCU-padded grid (interleaved extent); `coefs` is this wide.
    bw: usize,
    bh: usize,
    coefs: Vec<Block>,
    /// Per block of `coefs`: bit `k` set when the AC coefficient at zig-zag index `k` is
    /// non-zero (set while decoding), so the encoder visits only those.
    nonzero: Vec<u64>,
}

/// The frame and its coefficients, plus what is needed to write it back.
struct Decoded {
    width: usize,
    height: usize,
    hmax: usize,
    vmax: usize,
    mcux: usize,
    mcuy: usize,
    progressive: bool,
    comps: Vec<Component>,
    qtables: [Option<[u16; 64]>; 4],
    restart_interval: usize,
    /// Everything to copy before our DHT/SOS: SOI, APPn, COM, DQT, DRI and the SOF (as SOF0/1).
    header: Vec<u8>,
    /// Bytes after EOI, kept.
    trailer: Vec<u8>,
    adobe_transform: Option<u8>,
    jfif: bool,
}

/// What [`mark`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockStats {
    /// Image width.
    pub width: u32,
    /// Image height.
    pub height: u32,
    /// 8×8 blocks re-encoded (over all components).
    pub blocks_reencoded: usize,
    /// All 8×8 blocks of the image (over all components, MCU padding included).
    pub blocks_total: usize,
    /// Whether the input was progressive (the output is sequential).
    pub was_progressive: bool,
    /// `original` (the file's own tables kept and the entropy-coded bits of every untouched
    /// MCU copied) or `optimised` (the whole scan re-coded with tables computed for it).
    pub huffman_tables: &'static str,
}

/// Read the frame size of a JPEG (for rendering the overlay before [`mark`]).
pub fn dimensions(data: &[u8]) -> Result<(u32, u32), JpegError> {
    let mut pos = 2;
    if data.get(0..2) != Some(&[0xFF, 0xD8]) {
        return bad(0, "not a JPEG (no SOI marker)");
    }
    loop {
        while data.get(pos) == Some(&0xFF) && data.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        match data.get(pos..pos + 2) {
            Some([0xFF, m]) if (0xC0..=0xCF).contains(m) && ![0xC4, 0xC8, 0xCC].contains(m) => {
                let h = be16(data, pos + 5)?;
                let w = be16(data, pos + 7)?;
                return Ok((w as u32, h as u32));
            }
            Some([0xFF, 0xD9 | 0xDA]) | None => return bad(pos, "no frame header before the scan"),
            Some([0xFF, _]) => pos += 2 + be16(data, pos + 2)?,
            _ => return bad(pos, "expected a marker"),
        }
    }
}

/// Blend `overlay` into the JPEG `data`, re-encoding only the blocks it reaches.
pub fn mark(data: &[u8], overlay: &Overlay) -> Result<(Vec<u8>, BlockStats), JpegError> {
    let mut sp = Splice::new(overlay);
    match decode(data, Some(&mut sp)) {
        Ok(f) => {
            let blocks_reencoded = sp.targets.len();
            match sp.write(&f, data) {
                Ok((out, how)) => {
                    return Ok((
                        out,
                        BlockStats {
                            width: f.width as u32,
                            height: f.height as u32,
                            blocks_reencoded,
                            blocks_total: f.comps.iter().map(|c| c.bw * c.bh).sum(),
                            was_progressive: false,
                            huffman_tables: how,
                        },
                    ))
                }
                Err(JpegError::Unsupported(s)) if s == NOT_SPLICEABLE => {}
                Err(e) => return Err(e),
            }
        }
        Err(JpegError::Unsupported(s)) if s == NOT_SPLICEABLE => {}
        Err(e) => return Err(e),
    }
    let mut f = decode(data, None)?;
    let blocks_reencoded = apply_overlay(&mut f, overlay)?;
    let out = encode(&f)?;
    Ok((
        out,
        BlockStats {
            width: f.width as u32,
            height: f.height as u32,
            blocks_reencoded,
            blocks_total: f.comps.iter().map(|c| c.bw * c.bh).sum(),
            was_progressive: f.progressive,
            huffman_tables: "optimised for the output; whole scan re-coded from coefficients",
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optimal_table_is_a_prefix_code_within_16_bits() {
        let mut freq = [0u64; 256];
        for (i, f) in freq.iter_mut().enumerate() {
            *f = 1 + (i as u64 * 7919) % 100_000 * (i as u64 % 3 + 1).pow(8);
        }
        let (counts, values) = optimal_table(&freq);
        assert_eq!(values.len(), 256);
        // Kraft sum < 1 (the all-ones code is reserved).
        let kraft: f64 = counts
            .iter()
            .enumerate()
            .map(|(l, &n)| n as f64 / 2f64.powi(l as i32 + 1))
            .sum();
        assert!(kraft < 1.0, "{kraft}");
        DecodeTable::new(&counts, &values, 0).unwrap();
    }

    #[test]
    fn dct_round_trip_is_close() {
        let c = cos_table();
        let q = [1u16; 64];
        let mut px = [0f32; 64];
        for (i, p) in px.iter_mut().enumerate() {
            *p = ((i * 37) % 256) as f32;
        }
        let back = idct(&fdct(&px, &q, &c), &q, &c);
        for i in 0..64 {
            assert!(
                (back[i] - px[i]).abs() <= 1.0,
                "{i}: {} vs {}",
                back[i],
                px[i]
            );
        }
    }

    #[test]
    fn hostile_inputs_are_errors_not_panics() {
        let o = Overlay {
            rect: super::super::Rect {
                x: 0,
                y: 0,
                w: 4,
                h: 4,
            },
            pixels: vec![[0.0, 0.0, 0.0, 0.5]; 16],
            ink: super::super::Rect {
                x: 0,
                y: 0,
                w: 1,
                h: 1,
            },
            scale: 1.0,
        };
        for d in [
            &b""[..],
            &[0xFF, 0xD8][..],
            &[0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x02][..],
            &[0xFF, 0xD8, 0xFF, 0xC0, 0xFF, 0xFF, 0, 0][..],
            &[0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0xFF, 0xD9][..],
        ] {
            assert!(mark(d, &o).is_err());
            let _ = dimensions(d);
        }
    }
}
