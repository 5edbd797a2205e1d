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
//!    only those.
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

use super::Overlay;
use crate::limits::MAX_IMAGE_PIXELS;

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

/// A Huffman table for decoding (JPEG Annex F.2.2.3 with a 9-bit lookup).
#[derive(Clone)]
struct DecodeTable {
    /// `len << 8 | symbol` for codes of at most 9 bits, indexed by the next 9 bits; 0 = longer.
    fast: Vec<u16>,
    maxcode: [i32; 18],
    valptr: [i32; 17],
    mincode: [i32; 17],
    values: Vec<u8>,
    /// The DHT's code counts per length (to encode with the same table).
    counts: [u8; 16],
}

impl DecodeTable {
    fn new(counts: &[u8; 16], values: &[u8], offset: usize) -> Result<DecodeTable, JpegError> {
        let mut maxcode = [-1i32; 18];
        let mut valptr = [0i32; 17];
        let mut mincode = [0i32; 17];
        let mut fast = vec![0u16; 512];
        let mut code: i32 = 0;
        let mut k = 0usize;
        for len in 1..=16usize {
            let n = counts[len - 1] as usize;
            valptr[len] = k as i32;
            mincode[len] = code;
            for _ in 0..n {
                if code >= 1 << len {
                    return bad(offset, "Huffman table: more codes than fit in their length");
                }
                if len <= 9 {
                    let shift = 9 - len;
                    let base = (code as usize) << shift;
                    for e in &mut fast[base..base + (1 << shift)] {
                        *e = ((len as u16) << 8) | values[k] as u16;
                    }
                }
                code += 1;
                k += 1;
            }
            if n > 0 {
                maxcode[len] = code - 1;
            }
            code <<= 1;
        }
        maxcode[17] = i32::MAX;
        Ok(DecodeTable {
            fast,
            maxcode,
            valptr,
            mincode,
            values: values.to_vec(),
            counts: *counts,
        })
    }
}

/// Reads entropy-coded bits, undoing 0xFF00 stuffing and stopping at markers.
struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u64,
    n: u32,
    at_marker: bool,
    /// Zero bits appended after the data ended (a marker or the end of the file).
    padding: u32,
    /// When set, every data byte read (stuffing removed) is appended to `destuffed`.
    keep: bool,
    destuffed: Vec<u8>,
}

impl<'a> BitReader<'a> {
    fn new(data: &'a [u8], pos: usize) -> Self {
        BitReader {
            data,
            pos,
            acc: 0,
            n: 0,
            at_marker: false,
            padding: 0,
            keep: false,
            destuffed: Vec::new(),
        }
    }

    /// Position of the next unread bit in `destuffed` (when `keep` is set).
    fn bit_pos(&self) -> u64 {
        self.destuffed.len() as u64 * 8 - (self.n - self.padding.min(self.n)) as u64
    }

    #[inline]
    fn fill(&mut self) {
        while self.n <= 56 {
            let mut byte = 0u8;
            if !self.at_marker {
                match self.data.get(self.pos) {
                    None => self.at_marker = true,
                    Some(&0xFF) => {
                        if self.data.get(self.pos + 1) == Some(&0) {
                            byte = 0xFF;
                            self.pos += 2;
                            if self.keep {
                                self.destuffed.push(byte);
                            }
                        } else {
                            self.at_marker = true;
                        }
                    }
                    Some(&b) => {
                        byte = b;
                        self.pos += 1;
                        if self.keep {
                            self.destuffed.push(byte);
                        }
                    }
                }
            }
            if self.at_marker {
                self.padding += 8;
            }
            self.acc |= (byte as u64) << (56 - self.n);
            self.n += 8;
        }
    }

    #[inline]
    fn bits(&mut self, k: u32) -> u32 {
        if k == 0 {
            return 0;
        }
        if self.n < k {
            self.fill();
        }
        let v = (self.acc >> (64 - k)) as u32;
        self.acc <<= k;
        self.n -= k;
        v
    }

    #[inline]
    fn bit(&mut self) -> bool {
        self.bits(1) == 1
    }

    /// `s` bits as a signed value (JPEG EXTEND).
    #[inline]
    fn extend(&mut self, s: u32) -> i32 {
        if s == 0 {
            return 0;
        }
        let v = self.bits(s) as i32;
        if v < 1 << (s - 1) {
            v - (1 << s) + 1
        } else {
            v
        }
    }

    #[inline]
    fn decode(&mut self, t: &DecodeTable) -> Result<u8, JpegError> {
        self.decode_with_len(t).map(|(s, _)| s)
    }

    /// The next symbol and the length of its code word.
    #[inline(always)]
    fn decode_with_len(&mut self, t: &DecodeTable) -> Result<(u8, u32), JpegError> {
        if self.n < 16 {
            self.fill();
        }
        let e = t.fast[(self.acc >> 55) as usize];
        if e != 0 {
            let len = (e >> 8) as u32;
            self.acc <<= len;
            self.n -= len;
            return Ok((e as u8, len));
        }
        self.decode_long(t)
    }

    /// [`Self::decode_with_len`] for code words longer than the 9-bit lookup.
    #[cold]
    fn decode_long(&mut self, t: &DecodeTable) -> Result<(u8, u32), JpegError> {
        for len in 10..=16u32 {
            let code = (self.acc >> (64 - len)) as i32;
            if code <= t.maxcode[len as usize] {
                self.acc <<= len;
                self.n -= len;
                let i = t.valptr[len as usize] + code - t.mincode[len as usize];
                return match t.values.get(i as usize) {
                    Some(&v) => Ok((v, len)),
                    None => bad(self.pos, "Huffman code outside its table"),
                };
            }
        }
        bad(self.pos, "invalid Huffman code in the entropy-coded data")
    }

    /// Skip `k` bits (at most 16).
    #[inline(always)]
    fn skip(&mut self, k: u32) {
        if self.n < k {
            self.fill();
        }
        self.acc <<= k;
        self.n -= k;
    }

    /// Whether more bits were consumed than the data held.
    fn overran(&self) -> bool {
        self.padding > self.n
    }

    /// At a restart: drop the buffered bits and read the RSTm marker expected next.
    fn restart(&mut self, expected: u8) -> Result<(), JpegError> {
        if self.overran() {
            return bad(
                self.pos,
                "entropy-coded data ends before the restart marker",
            );
        }
        self.acc = 0;
        self.n = 0;
        self.padding = 0;
        self.at_marker = false;
        match self.data.get(self.pos..self.pos + 2) {
            Some([0xFF, m]) if *m == 0xD0 + expected => {
                self.pos += 2;
                Ok(())
            }
            _ => bad(self.pos, format!("expected restart marker RST{expected}")),
        }
    }
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

fn be16(d: &[u8], at: usize) -> Result<usize, JpegError> {
    match d.get(at..at + 2) {
        Some(b) => Ok(((b[0] as usize) << 8) | b[1] as usize),
        None => bad(at, "unexpected end of file"),
    }
}

/// Parse the whole file and decode every scan to coefficients.
fn decode(data: &[u8], mut splice: Option<&mut Splice<'_>>) -> Result<Decoded, JpegError> {
    if data.get(0..2) != Some(&[0xFF, 0xD8]) {
        return bad(0, "not a JPEG (no SOI marker)");
    }
    let mut header = vec![0xFF, 0xD8];
    let mut pos = 2;
    let mut frame: Option<Decoded> = None;
    let mut dc_tables: [Option<DecodeTable>; 4] = Default::default();
    let mut ac_tables: [Option<DecodeTable>; 4] = Default::default();
    let mut qtables: [Option<[u16; 64]>; 4] = [None; 4];
    let mut restart_interval = 0usize;
    let mut progressive = false;
    let mut adobe_transform = None;
    let mut jfif = false;
    let mut scans = 0usize;
    loop {
        // Find the next marker (tolerating fill bytes 0xFF).
        if data.get(pos) != Some(&0xFF) {
            return bad(pos, "expected a marker");
        }
        while data.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let Some(&marker) = data.get(pos + 1) else {
            return bad(pos, "unexpected end of file (no EOI)");
        };
        let at = pos;
        if marker == 0xD9 {
            let f = match frame {
                Some(f) => f,
                None => return bad(at, "EOI before any frame"),
            };
            if scans == 0 {
                return bad(at, "no scan before EOI");
            }
            let mut f = f;
            f.header = header;
            f.trailer = data[pos + 2..].to_vec();
            f.qtables = qtables;
            f.restart_interval = restart_interval;
            f.adobe_transform = adobe_transform;
            f.jfif = jfif;
            return Ok(f);
        }
        if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            // Stray RST or TEM: no length, nothing to keep.
            pos += 2;
            continue;
        }
        let len = be16(data, pos + 2)?;
        if len < 2 || pos + 2 + len > data.len() {
            return bad(
                at,
                format!("marker 0xFF{marker:02X}: length {len} runs past the file"),
            );
        }
        let seg = &data[pos + 4..pos + 2 + len];
        let seg_at = pos + 4;
        let whole = &data[pos..pos + 2 + len];
        pos += 2 + len;
        match marker {
            0xC4 => {
                // DHT: decode tables; not copied (the output has its own).
                if let Some(sp) = splice.as_deref_mut() {
                    sp.dht_segments.push((at, pos));
                }
                let mut i = 0;
                while i < seg.len() {
                    let tc_th = seg[i];
                    let (tc, th) = (tc_th >> 4, (tc_th & 15) as usize);
                    if tc > 1 || th > 3 {
                        return bad(seg_at + i, "DHT: bad table class or id");
                    }
                    let Some(c) = seg.get(i + 1..i + 17) else {
                        return bad(seg_at + i, "DHT: truncated");
                    };
                    let counts: [u8; 16] = c.try_into().expect("16 bytes");
                    let total: usize = counts.iter().map(|&c| c as usize).sum();
                    let Some(values) = seg.get(i + 17..i + 17 + total) else {
                        return bad(seg_at + i, "DHT: truncated");
                    };
                    if total > 256 {
                        return bad(seg_at + i, "DHT: more than 256 symbols");
                    }
                    let t = DecodeTable::new(&counts, values, seg_at + i)?;
                    if tc == 0 {
                        dc_tables[th] = Some(t);
                    } else {
                        ac_tables[th] = Some(t);
                    }
                    i += 17 + total;
                }
            }
            0xDB => {
                // DQT: keep the bytes, remember the tables (in natural order).
                let mut i = 0;
                while i < seg.len() {
                    let (pq, tq) = (seg[i] >> 4, (seg[i] & 15) as usize);
                    if pq > 1 || tq > 3 {
                        return bad(seg_at + i, "DQT: bad precision or table id");
                    }
                    let n = if pq == 0 { 64 } else { 128 };
                    let Some(v) = seg.get(i + 1..i + 1 + n) else {
                        return bad(seg_at + i, "DQT: truncated");
                    };
                    let mut q = [0u16; 64];
                    for k in 0..64 {
                        q[ZIGZAG[k]] = if pq == 0 {
                            v[k] as u16
                        } else {
                            ((v[2 * k] as u16) << 8) | v[2 * k + 1] as u16
                        };
                    }
                    if scans > 0 && qtables[tq].is_some_and(|old| old != q) {
                        return unsupported("a quantisation table is redefined between scans");
                    }
                    qtables[tq] = Some(q);
                    i += 1 + n;
                }
                header.extend_from_slice(whole);
            }
            0xDD => {
                if seg.len() < 2 {
                    return bad(seg_at, "DRI: truncated");
                }
                restart_interval = be16(seg, 0)?;
                header.extend_from_slice(whole);
            }
            0xC0..=0xCF if marker != 0xC4 && marker != 0xC8 && marker != 0xCC => {
                if frame.is_some() {
                    return bad(at, "a second frame header");
                }
                match marker {
                    0xC0..=0xC2 => {}
                    0xC3 => return unsupported("lossless JPEG (SOF3)"),
                    0xC5..=0xC7 => return unsupported("hierarchical JPEG"),
                    _ => return unsupported("arithmetic coding"),
                }
                progressive = marker == 0xC2;
                let mut f = parse_frame(seg, seg_at)?;
                f.progressive = progressive;
                let mut sof = whole.to_vec();
                // Progressive input is written back as one sequential scan.
                if progressive {
                    sof[1] = 0xC0;
                }
                header.extend_from_slice(&sof);
                frame = Some(f);
            }
            0xDA => {
                let Some(f) = frame.as_mut() else {
                    return bad(at, "scan before the frame header");
                };
                if splice.is_some() && (scans > 0 || progressive) {
                    return unsupported(NOT_SPLICEABLE);
                }
                f.qtables = qtables;
                f.adobe_transform = adobe_transform;
                f.jfif = jfif;
                if let Some(sp) = splice.as_deref_mut() {
                    sp.sos_at = at;
                }
                let end = decode_scan(
                    data,
                    seg,
                    seg_at,
                    pos,
                    f,
                    progressive,
                    &dc_tables,
                    &ac_tables,
                    restart_interval,
                    splice.as_deref_mut(),
                )?;
                scans += 1;
                if scans > 1000 {
                    return bad(at, "more than 1000 scans");
                }
                pos = end;
            }
            0xDC => return unsupported("DNL marker"),
            _ => {
                if marker == 0xEE && seg.starts_with(b"Adobe") && seg.len() >= 12 {
                    adobe_transform = Some(seg[11]);
                }
                if marker == 0xE0 && seg.starts_with(b"JFIF\0") {
                    jfif = true;
                }
                header.extend_from_slice(whole);
            }
        }
    }
}

fn parse_frame(seg: &[u8], at: usize) -> Result<Decoded, JpegError> {
    if seg.len() < 6 {
        return bad(at, "SOF: truncated");
    }
    if seg[0] != 8 {
        return unsupported(format!("{}-bit samples", seg[0]));
    }
    let height = be16(seg, 1)?;
    let width = be16(seg, 3)?;
    let n = seg[5] as usize;
    if height == 0 {
        return unsupported("height defined by a DNL marker");
    }
    if width == 0 {
        return bad(at, "SOF: zero width");
    }
    if (width as u64) * (height as u64) > MAX_IMAGE_PIXELS {
        return bad(
            at,
            format!("{width}x{height} exceeds the limit of {MAX_IMAGE_PIXELS} pixels"),
        );
    }
    if n == 4 {
        return unsupported("4-component (CMYK/YCCK) JPEG");
    }
    if n != 1 && n != 3 {
        return unsupported(format!("{n} components"));
    }
    if seg.len() < 6 + 3 * n {
        return bad(at, "SOF: truncated");
    }
    let mut comps = Vec::new();
    for i in 0..n {
        let c = &seg[6 + 3 * i..9 + 3 * i];
        let (h, v) = ((c[1] >> 4) as usize, (c[1] & 15) as usize);
        if !(1..=4).contains(&h) || !(1..=4).contains(&v) || c[2] > 3 {
            return bad(at + 6 + 3 * i, "SOF: bad sampling factor or table id");
        }
        if comps.iter().any(|o: &Component| o.id == c[0]) {
            return bad(at + 6 + 3 * i, "SOF: two components with one id");
        }
        comps.push(Component {
            id: c[0],
            h,
            v,
            tq: c[2] as usize,
            cw: 0,
            ch: 0,
            bw: 0,
            bh: 0,
            coefs: Vec::new(),
            nonzero: Vec::new(),
        });
    }
    let hmax = comps.iter().map(|c| c.h).max().unwrap_or(1);
    let vmax = comps.iter().map(|c| c.v).max().unwrap_or(1);
    if comps.iter().any(|c| hmax % c.h != 0 || vmax % c.v != 0) {
        return unsupported("sampling factors that do not divide the largest one");
    }
    let mcux = width.div_ceil(8 * hmax);
    let mcuy = height.div_ceil(8 * vmax);
    for c in &mut comps {
        c.cw = (width * c.h).div_ceil(hmax).div_ceil(8);
        c.ch = (height * c.v).div_ceil(vmax).div_ceil(8);
        if n == 1 {
            // A single-component frame is never interleaved: its grid is its own.
            c.bw = c.cw;
            c.bh = c.ch;
        } else {
            c.bw = mcux * c.h;
            c.bh = mcuy * c.v;
        }
        // `coefs` is allocated by the coefficient path only (the splice path keeps just the
        // blocks it re-encodes): at most 16 blocks per MCU per component over pixels/64 MCUs.
    }
    Ok(Decoded {
        width,
        height,
        hmax,
        vmax,
        mcux,
        mcuy,
        progressive: false,
        comps,
        qtables: [None; 4],
        restart_interval: 0,
        header: Vec::new(),
        trailer: Vec::new(),
        adobe_transform: None,
        jfif: false,
    })
}

/// Decode one scan whose entropy-coded data starts at `data[start]`; returns the offset of the
/// marker that follows it.
#[allow(clippy::too_many_arguments)]
fn decode_scan(
    data: &[u8],
    seg: &[u8],
    at: usize,
    start: usize,
    f: &mut Decoded,
    progressive: bool,
    dc_tables: &[Option<DecodeTable>; 4],
    ac_tables: &[Option<DecodeTable>; 4],
    restart_interval: usize,
    mut splice: Option<&mut Splice<'_>>,
) -> Result<usize, JpegError> {
    let ns = *seg.first().unwrap_or(&0) as usize;
    if ns == 0 || ns > 4 || seg.len() < 1 + 2 * ns + 3 {
        return bad(at, "SOS: bad component count or truncated");
    }
    let mut sc = Vec::new(); // (component index, dc table, ac table)
    for i in 0..ns {
        let (id, t) = (seg[1 + 2 * i], seg[2 + 2 * i]);
        let Some(ci) = f.comps.iter().position(|c| c.id == id) else {
            return bad(
                at + 1 + 2 * i,
                format!("SOS: no component {id} in the frame"),
            );
        };
        if sc.iter().any(|&(c, _, _)| c == ci) {
            return bad(at + 1 + 2 * i, "SOS: a component listed twice");
        }
        sc.push((ci, (t >> 4) as usize, (t & 15) as usize));
    }
    let p = 1 + 2 * ns;
    let (ss, se, ah, al) = (
        seg[p] as usize,
        seg[p + 1] as usize,
        (seg[p + 2] >> 4) as u32,
        (seg[p + 2] & 15) as u32,
    );
    if progressive {
        if se > 63 || ss > se || (ss == 0 && se != 0) || (ss > 0 && ns != 1) || al > 13 {
            return bad(at + p, "SOS: bad progressive parameters");
        }
    } else if ss != 0 || se != 63 || ah != 0 || al != 0 {
        return bad(at + p, "SOS: bad sequential parameters");
    }
    let blocks_in_mcu: usize = sc
        .iter()
        .map(|&(c, _, _)| f.comps[c].h * f.comps[c].v)
        .sum();
    if ns > 1 && blocks_in_mcu > 10 {
        return bad(at, "SOS: more than 10 blocks in an MCU");
    }
    // Tables needed by this scan.
    let dc_pass = ss == 0;
    let ac_pass = se > 0;
    let mut tables = Vec::new();
    for &(c, td, ta) in &sc {
        let dc = if dc_pass && ah == 0 {
            match dc_tables.get(td).and_then(|t| t.as_ref()) {
                Some(t) => Some(t),
                None => return bad(at, format!("SOS: DC table {td} not defined")),
            }
        } else {
            None
        };
        let ac = if ac_pass {
            match ac_tables.get(ta).and_then(|t| t.as_ref()) {
                Some(t) => Some(t),
                None => return bad(at, format!("SOS: AC table {ta} not defined")),
            }
        } else {
            None
        };
        tables.push((c, dc, ac));
    }
    let mut r = BitReader::new(data, start);
    if let Some(sp) = splice.as_deref_mut() {
        if ns != f.comps.len() {
            return unsupported(NOT_SPLICEABLE);
        }
        sp.prepare(f, &sc, &tables, restart_interval, start)?;
        r.keep = true;
        r.destuffed.reserve(data.len().saturating_sub(start));
    } else {
        for c in &mut f.comps {
            if c.coefs.is_empty() {
                c.coefs = vec![[0i16; 64]; c.bw * c.bh];
                c.nonzero = vec![0u64; c.bw * c.bh];
            }
        }
    }
    let mut scratch: Block = [0; 64];
    let mut kept: Vec<Block> = Vec::new();
    let mut pred = [0i32; 4];
    let mut eobrun = 0u32;
    let mut units = 0usize; // MCUs (interleaved) or blocks (non-interleaved) since the last RST
    let mut next_rst = 0u8;
    let single = ns == 1;
    let (ux, uy) = if single {
        let c = &f.comps[sc[0].0];
        (c.cw, c.ch)
    } else {
        (f.mcux, f.mcuy)
    };
    let total = if progressive && single && ac_pass && splice.is_none() {
        // An AC band of one component (most scans of a progressive file): its own loop.
        let ac = tables[0].2.expect("AC");
        decode_band(
            &mut r,
            &mut f.comps[sc[0].0],
            ac,
            (ss, se, ah, al),
            restart_interval,
        )?;
        0
    } else if progressive && !ac_pass && splice.is_none() {
        // The DC scans: their own loop too.
        let dc: Vec<(usize, Option<&DecodeTable>)> =
            tables.iter().map(|&(c, dc, _)| (c, dc)).collect();
        decode_dc(&mut r, f, &dc, (ux, uy), (ah, al), restart_interval)?;
        0
    } else {
        ux * uy
    };
    // Unit `u` is at (mx, my), counted along (no division per unit).
    let (mut mx, mut my) = (0usize, 0usize);
    for u in 0..total {
        if restart_interval > 0 && units == restart_interval {
            r.restart(next_rst)?;
            next_rst = (next_rst + 1) & 7;
            units = 0;
            pred = [0; 4];
            eobrun = 0;
        }
        let keep = match splice.as_deref_mut() {
            Some(sp) => {
                sp.start[u] = r.bit_pos();
                if sp.keep[u] {
                    sp.pred_in.insert(u, pred);
                }
                sp.keep[u]
            }
            None => false,
        };
        let mut longest = 0u32;
        for (si, &(ci, dc, ac)) in tables.iter().enumerate() {
            let comp = &mut f.comps[ci];
            let (nh, nv) = if single { (1, 1) } else { (comp.h, comp.v) };
            for by in 0..nv {
                for bx in 0..nh {
                    let (x, y) = if single {
                        (mx, my)
                    } else {
                        (mx * comp.h + bx, my * comp.v + by)
                    };
                    if splice.is_some() && !keep {
                        // An untouched MCU: only where it ends, its DC and its longest code.
                        skip_sequential(
                            &mut r,
                            dc.expect("DC"),
                            ac.expect("AC"),
                            &mut pred[si],
                            &mut longest,
                        )?;
                        continue;
                    }
                    let (block, nonzero) = if splice.is_some() {
                        scratch = [0; 64];
                        (&mut scratch, &mut 0u64)
                    } else {
                        let i = y * comp.bw + x;
                        (&mut comp.coefs[i], &mut comp.nonzero[i])
                    };
                    let last = if !progressive {
                        decode_sequential(
                            &mut r,
                            block,
                            dc.expect("DC"),
                            ac.expect("AC"),
                            &mut pred[si],
                        )?
                    } else if dc_pass {
                        if ah == 0 {
                            let s = r.decode(dc.expect("DC"))? as u32;
                            if s > 11 {
                                return bad(r.pos, "DC difference category above 11");
                            }
                            pred[si] = pred[si].wrapping_add(r.extend(s));
                            let v = pred[si].checked_shl(al).unwrap_or(i32::MAX);
                            block[0] = to_i16(v, r.pos)?;
                        } else if r.bit() {
                            block[0] |= 1 << al;
                        }
                        0
                    } else if ah == 0 {
                        decode_ac_first(&mut r, block, ac.expect("AC"), ss, se, al, &mut eobrun)?
                    } else {
                        let had = *nonzero;
                        decode_ac_refine(
                            &mut r,
                            block,
                            had,
                            ac.expect("AC"),
                            (ss, se, al),
                            &mut eobrun,
                        )?
                    };
                    *nonzero |= last;
                    if keep {
                        kept.push(scratch);
                    }
                }
            }
        }
        if let Some(sp) = splice.as_deref_mut() {
            sp.end[u] = r.bit_pos();
            sp.longest[u] = longest as u8;
            if keep {
                sp.blocks.insert(u, std::mem::take(&mut kept));
            }
        }
        units += 1;
        mx += 1;
        if mx == ux {
            mx = 0;
            my += 1;
        }
    }
    if r.overran() {
        return bad(r.pos, "entropy-coded data ends before the scan does");
    }
    // The next marker (skipping any padding the encoder left).
    let mut pos = r.pos;
    loop {
        match data.get(pos..pos + 2) {
            None => return bad(pos, "unexpected end of file after a scan"),
            Some([0xFF, m]) if *m != 0 && *m != 0xFF && !(0xD0..=0xD7).contains(m) => break,
            _ => pos += 1,
        }
    }
    if let Some(sp) = splice {
        sp.destuffed = std::mem::take(&mut r.destuffed);
        sp.scan = (start, pos);
    }
    Ok(pos)
}

/// A progressive DC scan (first pass when `ah` is 0, else refinement) of the components
/// `comps` (frame index, DC table of a first pass), over `units` (MCUs, or blocks of a
/// one-component scan): the generic loop of [`decode_scan`] without its per-unit cases.
fn decode_dc(
    r: &mut BitReader<'_>,
    f: &mut Decoded,
    comps: &[(usize, Option<&DecodeTable>)],
    (ux, uy): (usize, usize),
    (ah, al): (u32, u32),
    restart_interval: usize,
) -> Result<(), JpegError> {
    let single = comps.len() == 1;
    let mut pred = [0i32; 4];
    let mut units = 0usize;
    let mut next_rst = 0u8;
    for my in 0..uy {
        for mx in 0..ux {
            if restart_interval > 0 {
                if units == restart_interval {
                    r.restart(next_rst)?;
                    next_rst = (next_rst + 1) & 7;
                    units = 0;
                    pred = [0; 4];
                }
                units += 1;
            }
            for (si, &(ci, dc)) in comps.iter().enumerate() {
                let comp = &mut f.comps[ci];
                let (nh, nv) = if single { (1, 1) } else { (comp.h, comp.v) };
                for by in 0..nv {
                    for bx in 0..nh {
                        let i = (my * nv + by) * comp.bw + mx * nh + bx;
                        let coef = &mut comp.coefs[i][0];
                        if ah == 0 {
                            let s = r.decode(dc.expect("DC"))? as u32;
                            if s > 11 {
                                return bad(r.pos, "DC difference category above 11");
                            }
                            pred[si] = pred[si].wrapping_add(r.extend(s));
                            let v = pred[si].checked_shl(al).unwrap_or(i32::MAX);
                            *coef = to_i16(v, r.pos)?;
                        } else if r.bit() {
                            *coef |= 1 << al;
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// A progressive AC scan of one component (first pass or refinement): the generic loop of
/// [`decode_scan`] without its per-unit cases. In a first pass, the blocks of an end-of-band
/// run have nothing coded and are stepped over without a call.
fn decode_band(
    r: &mut BitReader<'_>,
    comp: &mut Component,
    ac: &DecodeTable,
    (ss, se, ah, al): (usize, usize, u32, u32),
    restart_interval: usize,
) -> Result<(), JpegError> {
    let mut eobrun = 0u32;
    let mut units = 0usize;
    let mut next_rst = 0u8;
    for y in 0..comp.ch {
        let row = y * comp.bw;
        for i in row..row + comp.cw {
            if restart_interval > 0 {
                if units == restart_interval {
                    r.restart(next_rst)?;
                    next_rst = (next_rst + 1) & 7;
                    units = 0;
                    eobrun = 0;
                }
                units += 1;
            }
            if ah == 0 {
                if eobrun > 0 {
                    eobrun -= 1;
                    continue;
                }
                comp.nonzero[i] |=
                    decode_ac_first(r, &mut comp.coefs[i], ac, ss, se, al, &mut eobrun)?;
            } else {
                let had = comp.nonzero[i];
                comp.nonzero[i] |=
                    decode_ac_refine(r, &mut comp.coefs[i], had, ac, (ss, se, al), &mut eobrun)?;
            }
        }
    }
    Ok(())
}

fn to_i16(v: i32, pos: usize) -> Result<i16, JpegError> {
    i16::try_from(v).or_else(|_| bad(pos, "coefficient out of range"))
}

fn decode_sequential(
    r: &mut BitReader<'_>,
    block: &mut Block,
    dc: &DecodeTable,
    ac: &DecodeTable,
    pred: &mut i32,
) -> Result<u64, JpegError> {
    let s = r.decode(dc)? as u32;
    if s > 11 {
        return bad(r.pos, "DC difference category above 11");
    }
    *pred = pred.wrapping_add(r.extend(s));
    block[0] = to_i16(*pred, r.pos)?;
    let mut k = 1;
    let mut nonzero = 0u64;
    while k < 64 {
        let rs = r.decode(ac)?;
        let (run, s) = ((rs >> 4) as usize, (rs & 15) as u32);
        if s == 0 {
            if run != 15 {
                break;
            }
            k += 16;
            continue;
        }
        k += run;
        if k > 63 {
            return bad(r.pos, "AC coefficients run past the end of the block");
        }
        block[ZIGZAG[k]] = r.extend(s) as i16;
        nonzero |= 1 << k;
        k += 1;
    }
    if k > 64 {
        return bad(r.pos, "AC coefficients run past the end of the block");
    }
    Ok(nonzero)
}

/// Read past one sequential block without storing it: updates the DC predictor and `longest`,
/// the length of the longest code word met (which tells whether its bits can be copied when
/// the long codes of a table are changed).
#[inline(always)]
fn skip_sequential(
    r: &mut BitReader<'_>,
    dc: &DecodeTable,
    ac: &DecodeTable,
    pred: &mut i32,
    longest: &mut u32,
) -> Result<(), JpegError> {
    let (s, len) = r.decode_with_len(dc)?;
    if s > 11 {
        return bad(r.pos, "DC difference category above 11");
    }
    *longest = (*longest).max(len);
    *pred = pred.wrapping_add(r.extend(s as u32));
    let mut k = 1;
    while k < 64 {
        let (rs, len) = r.decode_with_len(ac)?;
        *longest = (*longest).max(len);
        let (run, s) = ((rs >> 4) as usize, (rs & 15) as u32);
        if s == 0 {
            if run != 15 {
                return Ok(());
            }
            k += 16;
            continue;
        }
        r.skip(s);
        k += run + 1;
    }
    if k > 64 {
        return bad(r.pos, "AC coefficients run past the end of the block");
    }
    Ok(())
}

fn decode_ac_first(
    r: &mut BitReader<'_>,
    block: &mut Block,
    ac: &DecodeTable,
    ss: usize,
    se: usize,
    al: u32,
    eobrun: &mut u32,
) -> Result<u64, JpegError> {
    if *eobrun > 0 {
        *eobrun -= 1;
        return Ok(0);
    }
    let mut k = ss;
    let mut nonzero = 0u64;
    while k <= se {
        let rs = r.decode(ac)?;
        let (run, s) = ((rs >> 4) as u32, (rs & 15) as u32);
        if s != 0 {
            k += run as usize;
            if k > se {
                return bad(r.pos, "AC coefficients run past the end of the band");
            }
            block[ZIGZAG[k]] = to_i16(r.extend(s) << al, r.pos)?;
            nonzero |= 1 << k;
            k += 1;
        } else if run == 15 {
            k += 16;
        } else {
            *eobrun = (1 << run) - 1;
            if run > 0 {
                *eobrun += r.bits(run);
            }
            break;
        }
    }
    Ok(nonzero)
}

/// One block of an AC refinement scan. `had` is the block's non-zero mask before the scan (bit
/// `k` for zig-zag index `k`): a block inside an end-of-band run only refines the coefficients
/// already non-zero, one correction bit each, so only those are visited (most blocks of a
/// photo's high-frequency bands are in such runs and have few).
fn decode_ac_refine(
    r: &mut BitReader<'_>,
    block: &mut Block,
    had: u64,
    ac: &DecodeTable,
    (ss, se, al): (usize, usize, u32),
    eobrun: &mut u32,
) -> Result<u64, JpegError> {
    let p1: i16 = 1 << al;
    let m1: i16 = -p1;
    // Read one correction bit for each coefficient of `mask` (already non-zero), in zig-zag
    // order: a set bit adds `p1` to its magnitude unless that bit is already set.
    // The bits are read 16 at a time (one read per coefficient was a fifth of the time).
    let refine = |r: &mut BitReader<'_>, block: &mut Block, mut mask: u64| {
        let mut left = mask.count_ones();
        while left > 0 {
            let n = left.min(16);
            left -= n;
            let bits = r.bits(n);
            for i in (0..n).rev() {
                let z = mask.trailing_zeros() as usize;
                mask &= mask - 1;
                let c = &mut block[ZIGZAG[z] & 63];
                // Without branches (the correction bits and the signs are as good as random,
                // so branches on them were mispredicted half of the time): the bit, times p1
                // unless that magnitude bit is already set, times the sign (-1 or 1).
                let bit = ((bits >> i) & 1) as i16 & ((*c & p1) == 0) as i16;
                *c = c.wrapping_add(bit * p1 * ((*c >> 15) | 1));
            }
        }
    };
    // Bits `from..=se` (empty when `from > se`).
    let band = |from: usize| -> u64 {
        if from > se {
            0
        } else {
            (u64::MAX << from) & (u64::MAX >> (63 - se))
        }
    };
    let mut nonzero = 0u64;
    let mut k = ss;
    if *eobrun == 0 {
        while k <= se {
            let rs = r.decode(ac)?;
            let (run, s) = ((rs >> 4) as u32, rs & 15);
            let mut value = 0i16;
            if s != 0 {
                if s != 1 {
                    return bad(r.pos, "refinement coefficient of size other than 1");
                }
                value = if r.bit() { p1 } else { m1 };
            } else if run != 15 {
                *eobrun = 1 << run;
                if run > 0 {
                    *eobrun += r.bits(run);
                }
                break;
            }
            // Skip `run` zero coefficients, refining the non-zero ones met on the way; the
            // new coefficient (or, for ZRL, the 16th zero) is at the next zero after them.
            let nz = had | nonzero;
            let mut zeros = !nz & band(k);
            for _ in 0..run {
                zeros &= zeros.wrapping_sub(1);
            }
            if zeros == 0 {
                // Fewer zeros left than the run: every non-zero coefficient up to `se`.
                refine(r, block, nz & band(k));
                if value != 0 {
                    return bad(r.pos, "refinement runs past the end of the band");
                }
                break;
            }
            let at = zeros.trailing_zeros() as usize;
            refine(r, block, nz & band(k) & !band(at));
            if value != 0 {
                block[ZIGZAG[at]] = value;
                nonzero |= 1 << at;
            }
            k = at + 1;
        }
    }
    if *eobrun > 0 {
        refine(r, block, (had | nonzero) & band(k));
        *eobrun -= 1;
    }
    Ok(nonzero)
}

// ---- pixels of the touched blocks ----------------------------------------------------------

/// `COS[x][u] = a(u) cos((2x+1) u π / 16)`: the orthonormal 8-point DCT-II basis, which is the
/// JPEG DCT (`1/4 C(u) C(v)` = `a(u) a(v)`).
fn cos_table() -> [[f32; 8]; 8] {
    let mut t = [[0f32; 8]; 8];
    for (x, row) in t.iter_mut().enumerate() {
        for (u, c) in row.iter_mut().enumerate() {
            let a = if u == 0 { (1.0f64 / 8.0).sqrt() } else { 0.5 };
            *c = (a * (((2 * x + 1) * u) as f64 * std::f64::consts::PI / 16.0).cos()) as f32;
        }
    }
    t
}

/// Dequantise and inverse-transform a block to samples 0..=255 (as a decoder shows them).
fn idct(block: &Block, q: &[u16; 64], c: &[[f32; 8]; 8]) -> [f32; 64] {
    let mut tmp = [0f32; 64]; // tmp[v*8+x] = Σ_u F[v][u] c[x][u]
    for v in 0..8 {
        for x in 0..8 {
            let mut s = 0.0;
            for u in 0..8 {
                s += block[v * 8 + u] as f32 * q[v * 8 + u] as f32 * c[x][u];
            }
            tmp[v * 8 + x] = s;
        }
    }
    let mut out = [0f32; 64];
    for y in 0..8 {
        for x in 0..8 {
            let mut s = 0.0;
            for v in 0..8 {
                s += tmp[v * 8 + x] * c[y][v];
            }
            out[y * 8 + x] = (s + 128.0).round().clamp(0.0, 255.0);
        }
    }
    out
}

/// Forward-transform samples and quantise with `q`.
fn fdct(px: &[f32; 64], q: &[u16; 64], c: &[[f32; 8]; 8]) -> Block {
    let mut tmp = [0f32; 64]; // tmp[y*8+u] = Σ_x (p[y][x]-128) c[x][u]
    for y in 0..8 {
        for u in 0..8 {
            let mut s = 0.0;
            for x in 0..8 {
                s += (px[y * 8 + x] - 128.0) * c[x][u];
            }
            tmp[y * 8 + u] = s;
        }
    }
    let mut out = [0i16; 64];
    for v in 0..8 {
        for u in 0..8 {
            let mut s = 0.0;
            for y in 0..8 {
                s += tmp[y * 8 + u] * c[y][v];
            }
            let qv = q[v * 8 + u].max(1) as f32;
            out[v * 8 + u] = (s / qv).round().clamp(-2047.0, 2047.0) as i16;
        }
    }
    out
}

/// A block the overlay reaches, with the overlay resampled to the block's component.
struct Target {
    ci: usize,
    bx: usize,
    by: usize,
    /// Mean overlay alpha over the image pixels each component sample covers.
    alpha: [f32; 64],
    /// Mean of alpha × overlay value (in this component) over the same pixels.
    alpha_value: [f32; 64],
}

/// Every block the overlay reaches (non-zero alpha), in every component.
fn overlay_targets(f: &Decoded, o: &Overlay) -> Vec<Target> {
    let rgb = f.comps.len() == 3
        && (f.adobe_transform == Some(0)
            || (f.adobe_transform.is_none()
                && !f.jfif
                && f.comps.iter().map(|c| c.id).eq([b'R', b'G', b'B'])));
    let mut targets = Vec::new();
    let (hmax, vmax) = (f.hmax, f.vmax);
    for (ci, comp) in f.comps.iter().enumerate() {
        let (sx, sy) = (hmax / comp.h, vmax / comp.v);
        let chroma = ci > 0 && !rgb;
        // Overlay value of this component for an overlay pixel.
        let value = |p: &[f32; 4]| -> f32 {
            if chroma {
                128.0
            } else if rgb {
                p[ci]
            } else {
                0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]
            }
        };
        let r = o.rect;
        let (x0, y0) = (r.x as usize / sx / 8, r.y as usize / sy / 8);
        let x1 = ((r.x + r.w) as usize).div_ceil(sx).div_ceil(8).min(comp.cw);
        let y1 = ((r.y + r.h) as usize).div_ceil(sy).div_ceil(8).min(comp.ch);
        let n = (sx * sy) as f32;
        for by in y0..y1 {
            for bx in x0..x1 {
                let mut t = Target {
                    ci,
                    bx,
                    by,
                    alpha: [0.0; 64],
                    alpha_value: [0.0; 64],
                };
                let mut any = false;
                for py in 0..8 {
                    for px in 0..8 {
                        let (cx, cy) = (bx * 8 + px, by * 8 + py);
                        let (mut sa, mut sav) = (0f32, 0f32);
                        for iy in cy * sy..cy * sy + sy {
                            for ix in cx * sx..cx * sx + sx {
                                let (ox, oy) = (ix as i64 - r.x as i64, iy as i64 - r.y as i64);
                                if ox < 0 || oy < 0 || ox >= r.w as i64 || oy >= r.h as i64 {
                                    continue;
                                }
                                let Some(p) =
                                    o.pixels.get(oy as usize * r.w as usize + ox as usize)
                                else {
                                    continue;
                                };
                                sa += p[3];
                                sav += p[3] * value(p);
                            }
                        }
                        if sa > 0.0 {
                            any = true;
                        }
                        t.alpha[py * 8 + px] = sa / n;
                        t.alpha_value[py * 8 + px] = sav / n;
                    }
                }
                if any {
                    targets.push(t);
                }
            }
        }
    }
    targets
}

/// Decode `block`, blend the overlay in, transform and quantise it again with `q`.
fn blend(block: &mut Block, t: &Target, q: &[u16; 64], c: &[[f32; 8]; 8]) {
    let mut px = idct(block, q, c);
    for (i, p) in px.iter_mut().enumerate() {
        *p = (t.alpha_value[i] + (1.0 - t.alpha[i]) * *p).clamp(0.0, 255.0);
    }
    *block = fdct(&px, q, c);
}

fn qtable(f: &Decoded, ci: usize) -> Result<[u16; 64], JpegError> {
    let tq = f.comps[ci].tq;
    match f.qtables[tq] {
        Some(q) => Ok(q),
        None => bad(0, format!("quantisation table {tq} is not defined")),
    }
}

/// Blend the overlay into every block it reaches; returns how many blocks changed.
fn apply_overlay(f: &mut Decoded, o: &Overlay) -> Result<usize, JpegError> {
    let c = cos_table();
    let targets = overlay_targets(f, o);
    for t in &targets {
        let q = qtable(f, t.ci)?;
        let comp = &mut f.comps[t.ci];
        let i = t.by * comp.bw + t.bx;
        blend(&mut comp.coefs[i], t, &q, &c);
        comp.nonzero[i] = nonzero_mask(&comp.coefs[i]);
    }
    Ok(targets.len())
}

// ---- writing -------------------------------------------------------------------------------

/// Bits per value category: the number of bits of |v|.
#[inline]
fn category(v: i32) -> u32 {
    32 - v.unsigned_abs().leading_zeros()
}

/// Receives the symbols of the sequential scan [`walk`] produces, in order.
trait Sink {
    /// A symbol of table `t` (component 0 → 0, the others → 1), DC or AC, followed by `len`
    /// extra bits `bits`.
    fn symbol(&mut self, t: usize, dc: bool, sym: u8, bits: u32, len: u32);
    /// Before each RST marker, with its number.
    fn restart(&mut self, m: u8);
}

/// Counts symbols per table (for the optimised tables).
struct Frequencies {
    dc: [[u64; 256]; 2],
    ac: [[u64; 256]; 2],
}

impl Default for Frequencies {
    fn default() -> Self {
        Frequencies {
            dc: [[0; 256]; 2],
            ac: [[0; 256]; 2],
        }
    }
}

impl Frequencies {
    fn add(&mut self, other: &Frequencies) {
        for (a, b) in self.dc.iter_mut().zip(&other.dc) {
            a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
        }
        for (a, b) in self.ac.iter_mut().zip(&other.ac) {
            a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
        }
    }
}

impl Sink for Frequencies {
    #[inline(always)]
    fn symbol(&mut self, t: usize, dc: bool, sym: u8, _: u32, _: u32) {
        if dc {
            self.dc[t][sym as usize] += 1;
        } else {
            self.ac[t][sym as usize] += 1;
        }
    }
    fn restart(&mut self, _: u8) {}
}

/// Writes the symbols with their code words.
struct Coder {
    w: BitWriter,
    dc: Vec<CodeTable>,
    ac: Vec<CodeTable>,
}

impl Sink for Coder {
    #[inline(always)]
    fn symbol(&mut self, t: usize, dc: bool, sym: u8, bits: u32, len: u32) {
        let (code, clen) = if dc {
            self.dc[t][sym as usize]
        } else {
            self.ac[t][sym as usize]
        };
        // At most 16 + 11 bits in one write.
        self.w.put((code << len) | bits, clen + len);
    }
    fn restart(&mut self, m: u8) {
        self.w.flush();
        self.w.out.extend_from_slice(&[0xFF, 0xD0 + m]);
    }
}

/// Units of the sequential scan: (per row, rows); blocks for a one-component image, MCUs
/// otherwise.
fn units_of(f: &Decoded) -> (usize, usize) {
    if f.comps.len() == 1 {
        (f.comps[0].cw, f.comps[0].ch)
    } else {
        (f.mcux, f.mcuy)
    }
}

/// Rows of MCUs [`walk`] visits, and the DC predictors (one per component) in force before the
/// first of them.
struct Chunk {
    rows: std::ops::Range<usize>,
    pred: [i32; 3],
}

impl Chunk {
    /// Rows `rows` of a walk sampling every `sample`-th row: the predictors are the DC values of
    /// the last MCU of the last sampled row before them (zero for the first row), as a walk of
    /// every row from the first would have them.
    fn new(f: &Decoded, rows: std::ops::Range<usize>, sample: usize) -> Chunk {
        let (ux, _) = units_of(f);
        let mut pred = [0i32; 3];
        if rows.start > 0 {
            // The last row before `rows.start` that the walk visits.
            let row = (rows.start - 1) / sample * sample;
            let (mx, my) = (ux - 1, row);
            let single = f.comps.len() == 1;
            for (ci, comp) in f.comps.iter().enumerate().take(3) {
                let (x, y) = if single {
                    (mx, my)
                } else {
                    (mx * comp.h + comp.h - 1, my * comp.v + comp.v - 1)
                };
                pred[ci] = comp.coefs[y * comp.bw + x][0] as i32;
            }
        }
        Chunk { rows, pred }
    }
}

/// Visit every (table, symbol, extra bits) the sequential scan will hold, in order; with
/// `sample` > 1, only every `sample`-th row of MCUs (for estimating symbol frequencies: the DC
/// differences at the start of a sampled row are then approximate).
///
/// `rows` limits the walk to those rows of MCUs, starting with the DC predictors the whole
/// walk would have there (see [`Chunk`]), so that the rows can be coded in parallel; the
/// restart markers are counted from the first row, so a walk of part of the rows is only
/// valid without a restart interval.
fn walk<S: Sink>(f: &Decoded, sink: &mut S, sample: usize, chunk: &Chunk) -> Result<(), JpegError> {
    let (ux, _) = units_of(f);
    let single = f.comps.len() == 1;
    let mut pred = chunk.pred;
    let mut units = 0;
    let mut next_rst = 0u8;
    for u in chunk.rows.start * ux..chunk.rows.end * ux {
        if f.restart_interval > 0 && units == f.restart_interval {
            sink.restart(next_rst);
            next_rst = (next_rst + 1) & 7;
            units = 0;
            pred = [0; 3];
        }
        let (mx, my) = (u % ux, u / ux);
        if sample > 1 && my % sample != 0 {
            units += 1;
            continue;
        }
        for (ci, comp) in f.comps.iter().enumerate() {
            let t = ci.min(1);
            let (nh, nv) = if single { (1, 1) } else { (comp.h, comp.v) };
            for by in 0..nv {
                for bx in 0..nh {
                    let (x, y) = if single {
                        (mx, my)
                    } else {
                        (mx * comp.h + bx, my * comp.v + by)
                    };
                    let i = y * comp.bw + x;
                    let block = &comp.coefs[i];
                    let mut nonzero = match comp.nonzero.get(i) {
                        Some(&m) => m & !1,
                        None => nonzero_mask(block),
                    };
                    let diff = block[0] as i32 - pred[ci];
                    pred[ci] = block[0] as i32;
                    let s = category(diff);
                    if s > 11 {
                        return unsupported("a DC difference too large for 8-bit baseline");
                    }
                    let bits = if diff < 0 { diff - 1 } else { diff } as u32 & ((1 << s) - 1);
                    sink.symbol(t, true, s as u8, bits, s);
                    let mut last = 0u32; // zig-zag index of the previous non-zero coefficient
                    while nonzero != 0 {
                        let k = nonzero.trailing_zeros();
                        nonzero &= nonzero - 1;
                        let v = block[ZIGZAG[k as usize]] as i32;
                        if v == 0 {
                            continue;
                        }
                        let mut run = k - last - 1;
                        last = k;
                        while run > 15 {
                            sink.symbol(t, false, 0xF0, 0, 0);
                            run -= 16;
                        }
                        let s = category(v);
                        if s > 10 {
                            return unsupported("an AC coefficient too large for 8-bit baseline");
                        }
                        let bits = if v < 0 { v - 1 } else { v } as u32 & ((1 << s) - 1);
                        sink.symbol(t, false, ((run << 4) | s) as u8, bits, s);
                    }
                    if last < 63 {
                        sink.symbol(t, false, 0x00, 0, 0);
                    }
                }
            }
        }
        units += 1;
    }
    Ok(())
}

/// Bit `k` set for each non-zero coefficient at zig-zag index `k`.
fn nonzero_mask(block: &Block) -> u64 {
    let mut m = 0u64;
    for (k, &zz) in ZIGZAG.iter().enumerate() {
        if block[zz] != 0 {
            m |= 1 << k;
        }
    }
    m
}

/// Optimal Huffman code lengths limited to 16 bits (JPEG Annex K.2, as libjpeg's
/// `jpeg_gen_optimal_table`): returns the 16 counts and the symbols in code order.
fn optimal_table(freq_in: &[u64; 256]) -> ([u8; 16], Vec<u8>) {
    let mut freq = [0u64; 257];
    freq[..256].copy_from_slice(freq_in);
    if freq.iter().all(|&f| f == 0) {
        freq[0] = 1; // an empty table still needs one code
    }
    freq[256] = 1; // reserve one code point so that no code is all ones
    let mut codesize = [0usize; 257];
    let mut others = [-1i32; 257];
    loop {
        let mut c1 = -1i32;
        let mut v = u64::MAX;
        for (i, &fq) in freq.iter().enumerate() {
            if fq != 0 && fq <= v {
                v = fq;
                c1 = i as i32;
            }
        }
        let mut c2 = -1i32;
        v = u64::MAX;
        for (i, &fq) in freq.iter().enumerate() {
            if fq != 0 && fq <= v && i as i32 != c1 {
                v = fq;
                c2 = i as i32;
            }
        }
        if c2 < 0 {
            break;
        }
        let (mut a, mut b) = (c1 as usize, c2 as usize);
        freq[a] += freq[b];
        freq[b] = 0;
        codesize[a] += 1;
        while others[a] >= 0 {
            a = others[a] as usize;
            codesize[a] += 1;
        }
        others[a] = c2;
        codesize[b] += 1;
        while others[b] >= 0 {
            b = others[b] as usize;
            codesize[b] += 1;
        }
    }
    let mut bits = [0i64; 65];
    for &cs in &codesize {
        if cs > 0 {
            bits[cs.min(64)] += 1;
        }
    }
    let mut i = 64;
    while i > 16 {
        while bits[i] > 0 {
            let mut j = i - 2;
            while bits[j] == 0 {
                j -= 1;
            }
            bits[i] -= 2;
            bits[i - 1] += 1;
            bits[j + 1] += 2;
            bits[j] -= 1;
        }
        i -= 1;
    }
    while bits[i] == 0 {
        i -= 1;
    }
    bits[i] -= 1;
    let mut counts = [0u8; 16];
    for l in 1..=16 {
        counts[l - 1] = bits[l] as u8;
    }
    let mut values = Vec::new();
    for l in 1..=64 {
        for (s, &cs) in codesize[..256].iter().enumerate() {
            if cs == l {
                values.push(s as u8);
            }
        }
    }
    (counts, values)
}

/// Code and length per symbol from a table's counts and values (Annex C).
fn encode_table(counts: &[u8; 16], values: &[u8]) -> [(u32, u32); 256] {
    let mut t = [(0u32, 0u32); 256];
    let mut code = 0u32;
    let mut k = 0;
    for len in 1..=16u32 {
        for _ in 0..counts[len as usize - 1] {
            t[values[k] as usize] = (code, len);
            code += 1;
            k += 1;
        }
        code <<= 1;
    }
    t
}

/// Writes bits with 0xFF00 stuffing.
struct BitWriter {
    out: Vec<u8>,
    /// Pending bits, the last `n` of `acc` (fewer than 32 between calls).
    acc: u64,
    n: u32,
    /// Whether a 0xFF byte is followed by a stuffed 0x00 (off for a part of a scan coded in
    /// parallel, whose bits are appended to the rest with [`copy_bits`], which stuffs them).
    stuff: bool,
}

impl BitWriter {
    fn new(out: Vec<u8>) -> Self {
        BitWriter {
            out,
            acc: 0,
            n: 0,
            stuff: true,
        }
    }

    /// A writer without byte stuffing, for a part of a scan.
    fn unstuffed(capacity: usize) -> Self {
        BitWriter {
            stuff: false,
            ..BitWriter::new(Vec::with_capacity(capacity))
        }
    }

    /// The bytes written and how many bits of them are data (the last byte zero-padded).
    fn into_bits(mut self) -> (Vec<u8>, u64) {
        let bits = self.out.len() as u64 * 8 + self.n as u64;
        let pad = (8 - self.n % 8) % 8;
        self.acc <<= pad;
        self.n += pad;
        while self.n >= 8 {
            self.n -= 8;
            self.out.push((self.acc >> self.n) as u8);
        }
        (self.out, bits)
    }

    /// Append the low `len` (at most 32) bits of `bits`.
    #[inline(always)]
    fn put(&mut self, bits: u32, len: u32) {
        // Fewer than 32 bits are pending: the 64-bit accumulator never overflows.
        self.acc = (self.acc << len) | (bits as u64 & ((1u64 << len) - 1));
        self.n += len;
        if self.n >= 32 {
            self.n -= 32;
            let word = (self.acc >> self.n) as u32;
            // Whether a byte of the word is 0xFF (a zero byte of its complement).
            let inv = !word;
            if !self.stuff || inv.wrapping_sub(0x0101_0101) & !inv & 0x8080_8080 == 0 {
                self.out.extend_from_slice(&word.to_be_bytes());
            } else {
                for b in word.to_be_bytes() {
                    self.out.push(b);
                    if b == 0xFF {
                        self.out.push(0);
                    }
                }
            }
        }
    }

    /// Pad the last byte with one bits and write every pending byte.
    fn flush(&mut self) {
        let pad = (8 - self.n % 8) % 8;
        self.acc = (self.acc << pad) | ((1u64 << pad) - 1);
        self.n += pad;
        while self.n >= 8 {
            self.n -= 8;
            let b = (self.acc >> self.n) as u8;
            self.out.push(b);
            if b == 0xFF {
                self.out.push(0);
            }
        }
        self.acc = 0;
    }
}

/// Write the frame back as one sequential scan with optimised Huffman tables.
fn encode(f: &Decoded) -> Result<Vec<u8>, JpegError> {
    let mut freq = Frequencies::default();
    // Frequencies from every 4th row of MCUs (the symbol statistics of a photo vary slowly;
    // a quarter of the work for tables within a fraction of a percent of the optimum), plus
    // one for every symbol baseline can hold, so that the rows not sampled have codes too.
    // With no restart interval, the rows are walked in two halves in parallel (the second
    // half's bits are appended to the first's; the bytes are those of one walk).
    const SAMPLE: usize = 4;
    let (ux, uy) = units_of(f);
    let halves = f.restart_interval == 0 && ux * uy >= 4096 && uy >= 4 * SAMPLE;
    let mid = uy / 2 / SAMPLE * SAMPLE;
    let chunks = if halves {
        vec![
            Chunk::new(f, 0..mid, SAMPLE),
            Chunk::new(f, mid..uy, SAMPLE),
        ]
    } else {
        vec![Chunk::new(f, 0..uy, SAMPLE)]
    };
    let counts = std::thread::scope(|s| {
        let handles: Vec<_> = chunks[1..]
            .iter()
            .map(|c| {
                s.spawn(move || {
                    let mut freq = Frequencies::default();
                    walk(f, &mut freq, SAMPLE, c).map(|()| freq)
                })
            })
            .collect();
        walk(f, &mut freq, SAMPLE, &chunks[0])?;
        for h in handles {
            freq.add(&h.join().expect("walk does not panic")?);
        }
        Ok::<_, JpegError>(freq)
    })?;
    let mut freq = counts;
    for t in 0..2 {
        for s in 0..=11 {
            freq.dc[t][s] += 1;
        }
        freq.ac[t][0x00] += 1;
        freq.ac[t][0xF0] += 1;
        for run in 0..16 {
            for size in 1..=10 {
                freq.ac[t][(run << 4) | size] += 1;
            }
        }
    }
    let ntables = if f.comps.len() == 1 { 1 } else { 2 };
    let mut out = Vec::with_capacity(f.header.len() + f.comps[0].coefs.len() * 16);
    out.extend_from_slice(&f.header);
    let mut dht = Vec::new();
    let mut dc_codes = Vec::new();
    let mut ac_codes = Vec::new();
    for t in 0..ntables {
        for (class, freq) in [(0u8, &freq.dc[t]), (1u8, &freq.ac[t])] {
            let (counts, values) = optimal_table(freq);
            dht.push((class << 4) | t as u8);
            dht.extend_from_slice(&counts);
            dht.extend_from_slice(&values);
            let codes = encode_table(&counts, &values);
            if class == 0 {
                dc_codes.push(codes);
            } else {
                ac_codes.push(codes);
            }
        }
    }
    out.extend_from_slice(&[0xFF, 0xC4]);
    out.extend_from_slice(&((dht.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&dht);
    let ns = f.comps.len();
    out.extend_from_slice(&[0xFF, 0xDA]);
    out.extend_from_slice(&((6 + 2 * ns) as u16).to_be_bytes());
    out.push(ns as u8);
    for (i, c) in f.comps.iter().enumerate() {
        let t = i.min(1) as u8;
        out.extend_from_slice(&[c.id, (t << 4) | t]);
    }
    out.extend_from_slice(&[0, 63, 0]);
    let chunks = if halves {
        vec![Chunk::new(f, 0..mid, 1), Chunk::new(f, mid..uy, 1)]
    } else {
        vec![Chunk::new(f, 0..uy, 1)]
    };
    let (dc_codes, ac_codes) = (&dc_codes, &ac_codes);
    let mut coder = std::thread::scope(|s| {
        let handles: Vec<_> = chunks[1..]
            .iter()
            .map(|c| {
                s.spawn(move || {
                    let mut coder = Coder {
                        w: BitWriter::unstuffed(f.comps[0].coefs.len() * 8),
                        dc: dc_codes.clone(),
                        ac: ac_codes.clone(),
                    };
                    walk(f, &mut coder, 1, c).map(|()| coder.w.into_bits())
                })
            })
            .collect();
        let mut coder = Coder {
            w: BitWriter::new(out),
            dc: dc_codes.clone(),
            ac: ac_codes.clone(),
        };
        walk(f, &mut coder, 1, &chunks[0])?;
        for h in handles {
            let (bytes, bits) = h.join().expect("walk does not panic")?;
            copy_bits(&bytes, 0, bits, &mut coder.w);
        }
        Ok::<_, JpegError>(coder)
    })?;
    coder.w.flush();
    let mut out = coder.w.out;
    out.extend_from_slice(&[0xFF, 0xD9]);
    out.extend_from_slice(&f.trailer);
    Ok(out)
}

// ---- splicing: copy the entropy-coded bits of untouched MCUs -------------------------------

/// Sentinel of [`JpegError::Unsupported`] meaning "use the coefficient path instead".
const NOT_SPLICEABLE: &str = "(not spliceable)";

/// Marking a single-scan sequential JPEG without re-encoding what the label does not touch:
/// the entropy-coded bits of every untouched MCU are copied as they are (they depend only on
/// the Huffman tables, which are kept, and on the previous block's DC, which is unchanged);
/// the MCUs under the label, and the one after each of them (whose first DC difference refers
/// to a changed block), are re-encoded with the file's own Huffman tables. Everything outside
/// the scan's entropy-coded data is copied byte for byte. When a re-encoded block needs a
/// symbol the file's tables lack (optimised tables), the caller uses the coefficient path.
struct Splice<'o> {
    overlay: &'o Overlay,
    targets: Vec<Target>,
    /// Per MCU (or block, in a one-component frame): re-encode it.
    keep: Vec<bool>,
    /// Coefficients of the re-encoded MCUs, blocks in scan order.
    blocks: std::collections::HashMap<usize, Vec<Block>>,
    /// DC predictors (scan order) at the start of each re-encoded MCU.
    pred_in: std::collections::HashMap<usize, [i32; 4]>,
    /// Bit range of each MCU in `destuffed`.
    start: Vec<u64>,
    end: Vec<u64>,
    /// Per MCU: the length of the longest code word in it (its bits are copied as they are
    /// when every code word of that length and shorter keeps its value in the output tables).
    longest: Vec<u8>,
    destuffed: Vec<u8>,
    /// Byte offsets of the entropy-coded data and of the marker after it.
    scan: (usize, usize),
    /// Per scan component: frame index, DC and AC tables (counts, values) as the scan uses them.
    order: Vec<(usize, RawTable, RawTable)>,
    /// Per scan component: the input's DC and AC decoding tables (for transcoding).
    decoders: Vec<(DecodeTable, DecodeTable)>,
    /// Byte ranges of the DHT segments before the scan (replaced by one DHT in the output).
    dht_segments: Vec<(usize, usize)>,
    /// Byte offset of the SOS marker.
    sos_at: usize,
    /// First block of each scan component inside an MCU's block list.
    offsets: Vec<usize>,
    restart_interval: usize,
    units: (usize, usize),
}

/// Code and length per symbol; length 0 = the table has no code for it.
type CodeTable = [(u32, u32); 256];

/// A Huffman table as a DHT holds it: (table class << 4 | id, counts per length, symbols).
type RawTable = (u8, [u8; 16], Vec<u8>);

/// Give `table` codes for the symbols in `needed` it lacks, without changing any code it has:
/// in canonical Huffman codes, symbols appended at the longest length (16) take the next free
/// code words, so every existing code word stays as it was. Fails when the table's code space
/// is full (the all-ones code word stays reserved).
fn extend_table(table: &mut RawTable, needed: &[bool; 256]) -> Result<(), JpegError> {
    let (_, counts, values) = table;
    let mut present = [false; 256];
    for &v in values.iter() {
        present[v as usize] = true;
    }
    let missing: Vec<u8> = (0..=255u8)
        .filter(|&s| needed[s as usize] && !present[s as usize])
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let used: u64 = counts
        .iter()
        .enumerate()
        .map(|(l, &n)| (n as u64) << (15 - l))
        .sum();
    let free = 65535u64.saturating_sub(used);
    if missing.len() as u64 > free || counts[15] as usize + missing.len() > 255 {
        return unsupported(NOT_SPLICEABLE);
    }
    counts[15] += missing.len() as u8;
    values.extend_from_slice(&missing);
    Ok(())
}

impl<'o> Splice<'o> {
    fn new(overlay: &'o Overlay) -> Self {
        Splice {
            overlay,
            targets: Vec::new(),
            keep: Vec::new(),
            blocks: Default::default(),
            pred_in: Default::default(),
            start: Vec::new(),
            end: Vec::new(),
            longest: Vec::new(),
            destuffed: Vec::new(),
            scan: (0, 0),
            order: Vec::new(),
            dht_segments: Vec::new(),
            decoders: Vec::new(),
            sos_at: 0,
            offsets: Vec::new(),
            restart_interval: 0,
            units: (0, 0),
        }
    }

    /// The MCU and the position in its block list of block (`bx`, `by`) of frame component `ci`.
    fn locate(&self, f: &Decoded, ci: usize, bx: usize, by: usize) -> Option<(usize, usize)> {
        let si = self.order.iter().position(|o| o.0 == ci)?;
        if f.comps.len() == 1 {
            return Some((by * self.units.0 + bx, 0));
        }
        let c = &f.comps[ci];
        Some((
            (by / c.v) * self.units.0 + bx / c.h,
            self.offsets[si] + (by % c.v) * c.h + bx % c.h,
        ))
    }

    /// At the start of the scan: which MCUs to re-encode, the code tables.
    fn prepare(
        &mut self,
        f: &Decoded,
        sc: &[(usize, usize, usize)],
        tables: &[(usize, Option<&DecodeTable>, Option<&DecodeTable>)],
        restart_interval: usize,
        start: usize,
    ) -> Result<(), JpegError> {
        self.units = if f.comps.len() == 1 {
            (f.comps[0].cw, f.comps[0].ch)
        } else {
            (f.mcux, f.mcuy)
        };
        let total = self.units.0 * self.units.1;
        self.restart_interval = restart_interval;
        self.scan = (start, start);
        let mut off = 0;
        for (&(ci, _, _), &(_, dc, ac)) in sc.iter().zip(tables) {
            let (Some(dc), Some(ac)) = (dc, ac) else {
                return unsupported(NOT_SPLICEABLE);
            };
            let (td, ta) = (sc_tables(sc, ci).0, sc_tables(sc, ci).1);
            self.order.push((
                ci,
                (td as u8, dc.counts, dc.values.clone()),
                (0x10 | ta as u8, ac.counts, ac.values.clone()),
            ));
            self.decoders.push((dc.clone(), ac.clone()));
            self.offsets.push(off);
            off += f.comps[ci].h * f.comps[ci].v;
        }
        self.targets = overlay_targets(f, self.overlay);
        self.keep = vec![false; total];
        for t in &self.targets {
            if let Some((u, _)) = self.locate(f, t.ci, t.bx, t.by) {
                self.keep[u] = true;
            }
        }
        // The MCU after a changed one: its first DC difference must be re-encoded.
        for u in (0..total.saturating_sub(1)).rev() {
            let next_starts_interval = restart_interval > 0 && (u + 1) % restart_interval == 0;
            if self.keep[u] && !next_starts_interval {
                self.keep[u + 1] = true;
            }
        }
        self.start = vec![0; total];
        self.end = vec![0; total];
        self.longest = vec![0; total];
        Ok(())
    }

    /// Visit the re-encoded MCUs in order with their DC predictors: `g(si, block, pred)`.
    fn for_each_kept(
        &self,
        f: &Decoded,
        mut g: impl FnMut(usize, usize, &Block, &mut i32) -> Result<(), JpegError>,
    ) -> Result<(), JpegError> {
        let ri = self.restart_interval;
        let mut pred = [0i32; 4];
        for u in 0..self.keep.len() {
            if !self.keep[u] {
                continue;
            }
            let interval_start = u == 0 || (ri > 0 && u % ri == 0);
            if interval_start || !self.keep[u - 1] {
                pred = self.pred_in.get(&u).copied().unwrap_or([0; 4]);
            }
            let Some(blocks) = self.blocks.get(&u) else {
                return unsupported(NOT_SPLICEABLE);
            };
            let mut b = blocks.iter();
            for (si, (ci, _, _)) in self.order.iter().enumerate() {
                let comp = &f.comps[*ci];
                let n = if f.comps.len() == 1 {
                    1
                } else {
                    comp.h * comp.v
                };
                for _ in 0..n {
                    let Some(block) = b.next() else {
                        return unsupported(NOT_SPLICEABLE);
                    };
                    g(u, si, block, &mut pred[si])?;
                }
            }
        }
        Ok(())
    }

    /// Blend the overlay into the kept blocks and write the file.
    fn write(mut self, f: &Decoded, data: &[u8]) -> Result<(Vec<u8>, &'static str), JpegError> {
        let c = cos_table();
        let targets = std::mem::take(&mut self.targets);
        for t in &targets {
            let q = qtable(f, t.ci)?;
            let Some((u, i)) = self.locate(f, t.ci, t.bx, t.by) else {
                continue;
            };
            if let Some(b) = self.blocks.get_mut(&u).and_then(|v| v.get_mut(i)) {
                blend(b, t, &q, &c);
            }
        }
        // The symbols the re-encoded blocks need, per table; tables given codes they lack.
        let mut needed: std::collections::BTreeMap<u8, [bool; 256]> = Default::default();
        for (_, dc, ac) in &self.order {
            needed.insert(dc.0, [false; 256]);
            needed.insert(ac.0, [false; 256]);
        }
        self.for_each_kept(f, |_, si, block, pred| {
            let (dck, ack) = (self.order[si].1 .0, self.order[si].2 .0);
            block_symbols(block, pred, |dc, sym, _, _| {
                if let Some(n) = needed.get_mut(if dc { &dck } else { &ack }) {
                    n[sym as usize] = true;
                }
            })
        })?;
        let mut tables: std::collections::BTreeMap<u8, RawTable> = Default::default();
        let mut transcode = false;
        for (_, dc, ac) in &self.order {
            for t in [dc, ac] {
                if let std::collections::btree_map::Entry::Vacant(slot) = tables.entry(t.0) {
                    let mut e = t.clone();
                    if extend_table(&mut e, &needed[&t.0]).is_err() {
                        transcode = true;
                    }
                    slot.insert(e);
                }
            }
        }
        if transcode {
            // A table's code space is full (optimised tables): give the missing symbols room
            // by lengthening a few of the longest codes, and re-code the untouched MCUs'
            // symbols (same symbols, same extra bits) with the new codes.
            tables.clear();
            for (_, dc, ac) in &self.order {
                for t in [dc, ac] {
                    if let std::collections::btree_map::Entry::Vacant(slot) = tables.entry(t.0) {
                        slot.insert(make_room(t, &needed[&t.0])?);
                    }
                }
            }
        }
        let codes: std::collections::BTreeMap<u8, CodeTable> = tables
            .iter()
            .map(|(&k, t)| (k, encode_table(&t.1, &t.2)))
            .collect();
        // Header: as it was, with the scan's tables in one DHT just before the SOS.
        let mut w = BitWriter::new(Vec::with_capacity(data.len() + 4096));
        let mut at = 0;
        for &(a, b) in &self.dht_segments {
            w.out.extend_from_slice(&data[at..a]);
            at = b;
        }
        w.out.extend_from_slice(&data[at..self.sos_at]);
        let mut dht = Vec::new();
        for t in tables.values() {
            dht.push(t.0);
            dht.extend_from_slice(&t.1);
            dht.extend_from_slice(&t.2);
        }
        w.out.extend_from_slice(&[0xFF, 0xC4]);
        w.out
            .extend_from_slice(&((dht.len() + 2) as u16).to_be_bytes());
        w.out.extend_from_slice(&dht);
        w.out.extend_from_slice(&data[self.sos_at..self.scan.0]);
        // The shortest code word whose value changed: canonical codes of a length depend only on
        // the counts of shorter lengths, so an untouched MCU whose codes are all shorter keeps
        // its bits and is copied; the others are re-coded symbol by symbol.
        let mut changed_from = u32::MAX;
        for (_, dc, ac) in &self.order {
            for t in [dc, ac] {
                let old = encode_table(&t.1, &t.2);
                let new = &codes[&t.0];
                for (o, n) in old.iter().zip(new.iter()) {
                    if o.1 > 0 && o != n {
                        changed_from = changed_from.min(o.1);
                    }
                }
            }
        }
        // The entropy-coded data: copied runs, re-coded runs and re-encoded MCUs.
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum How {
            Copy,
            Recode,
            Reencode,
        }
        let how = |u: usize| {
            if self.keep[u] {
                How::Reencode
            } else if self.longest[u] as u32 >= changed_from {
                How::Recode
            } else {
                How::Copy
            }
        };
        let total = self.keep.len();
        let ri = self.restart_interval;
        let mut next_rst = 0u8;
        let mut u = 0;
        let mut pieces: Vec<(usize, usize)> = Vec::new(); // (first, end) unit ranges
        let mut recoded = 0usize;
        while u < total {
            let mut v = u + 1;
            let h = how(u);
            while v < total && how(v) == h && !(ri > 0 && v % ri == 0) {
                v += 1;
            }
            if h == How::Recode {
                recoded += v - u;
            }
            pieces.push((u, v));
            u = v;
        }
        let mut encoded: std::collections::HashMap<usize, Vec<(u8, u8, i32, u32)>> =
            Default::default();
        self.for_each_kept(f, |u, si, block, pred| {
            let (dck, ack) = (self.order[si].1 .0, self.order[si].2 .0);
            let e = encoded.entry(u).or_default();
            block_symbols(block, pred, |dc, sym, v, s| {
                e.push((if dc { dck } else { ack }, sym, v, s));
            })
        })?;
        for (a, b) in pieces {
            if a > 0 && ri > 0 && a % ri == 0 {
                w.flush();
                w.out.extend_from_slice(&[0xFF, 0xD0 + next_rst]);
                next_rst = (next_rst + 1) & 7;
            }
            let h = how(a);
            if h == How::Reencode {
                for k in a..b {
                    for &(t, sym, v, s) in encoded.get(&k).map(|e| e.as_slice()).unwrap_or(&[]) {
                        let (code, clen) = codes[&t][sym as usize];
                        if clen == 0 {
                            return unsupported(NOT_SPLICEABLE);
                        }
                        w.put(code, clen);
                        w.put(
                            (if v < 0 { v - 1 } else { v }) as u32 & ((1u32 << s) - 1),
                            s,
                        );
                    }
                }
            } else if h == How::Recode {
                let mut r = PlainBits {
                    d: &self.destuffed,
                    p: self.start[a],
                };
                for _ in a..b {
                    for (si, (ci, dc, ac)) in self.order.iter().enumerate() {
                        let comp = &f.comps[*ci];
                        let n = if f.comps.len() == 1 {
                            1
                        } else {
                            comp.h * comp.v
                        };
                        let (odc, oac) = &self.decoders[si];
                        for _ in 0..n {
                            transcode_block(
                                &mut r,
                                odc,
                                oac,
                                &codes[&dc.0],
                                &codes[&ac.0],
                                &mut w,
                            )?;
                        }
                    }
                }
            } else {
                copy_bits(&self.destuffed, self.start[a], self.end[b - 1], &mut w);
            }
        }
        w.flush();
        let mut out = w.out;
        out.extend_from_slice(&data[self.scan.1..]);
        let extended = tables
            .values()
            .zip(self.order.iter().flat_map(|o| [&o.1, &o.2]))
            .any(|(a, b)| a.2.len() != b.2.len());
        let how = match (transcode, extended) {
            (true, _) if recoded > 0 => {
                "input's, lengthened for missing symbols; untouched MCUs' bits copied, those \
                 with a lengthened code re-coded symbol by symbol"
            }
            (true, _) => {
                "input's, lengthened for missing symbols; untouched MCUs' bits copied (none \
                 uses a lengthened code)"
            }
            (false, true) => "input's, extended with missing symbols; untouched MCUs' bits copied",
            (false, false) => "input's; untouched MCUs' bits copied",
        };
        Ok((out, how))
    }
}

/// The Huffman symbols of one block, with the value and size of the bits after each:
/// `emit(is_dc, symbol, value, size)`; the DC difference is taken from `pred`, updated.
fn block_symbols(
    block: &Block,
    pred: &mut i32,
    mut emit: impl FnMut(bool, u8, i32, u32),
) -> Result<(), JpegError> {
    let diff = block[0] as i32 - *pred;
    *pred = block[0] as i32;
    let s = category(diff);
    if s > 11 {
        return unsupported(NOT_SPLICEABLE);
    }
    emit(true, s as u8, diff, s);
    let mut run = 0u32;
    for &zz in &ZIGZAG[1..] {
        let v = block[zz] as i32;
        if v == 0 {
            run += 1;
            continue;
        }
        while run > 15 {
            emit(false, 0xF0, 0, 0);
            run -= 16;
        }
        let s = category(v);
        if s > 10 {
            return unsupported(NOT_SPLICEABLE);
        }
        emit(false, ((run << 4) | s) as u8, v, s);
        run = 0;
    }
    if run > 0 {
        emit(false, 0x00, 0, 0);
    }
    Ok(())
}

/// The (DC, AC) table ids of frame component `ci` in a scan's component list.
fn sc_tables(sc: &[(usize, usize, usize)], ci: usize) -> (usize, usize) {
    sc.iter()
        .find(|x| x.0 == ci)
        .map(|x| (x.1, x.2))
        .unwrap_or((0, 0))
}

/// A table with codes for the `needed` symbols it lacks, made by lengthening its longest codes
/// shorter than 16 bits until there is room (the all-ones code word stays reserved).
fn make_room(t: &RawTable, needed: &[bool; 256]) -> Result<RawTable, JpegError> {
    let mut len = [0u32; 256];
    let mut order = Vec::new();
    let mut k = 0;
    for l in 1..=16u32 {
        for _ in 0..t.1[l as usize - 1] {
            let Some(&s) = t.2.get(k) else {
                return unsupported(NOT_SPLICEABLE);
            };
            len[s as usize] = l;
            order.push(s);
            k += 1;
        }
    }
    let missing: Vec<u8> = (0..=255u8)
        .filter(|&s| needed[s as usize] && len[s as usize] == 0)
        .collect();
    let used = |len: &[u32; 256]| -> u64 {
        len.iter()
            .filter(|&&l| l > 0)
            .map(|&l| 1u64 << (16 - l))
            .sum()
    };
    while used(&len) + missing.len() as u64 > 65535 {
        let Some(&s) = order.iter().rev().find(|&&s| len[s as usize] < 16) else {
            return unsupported(NOT_SPLICEABLE);
        };
        len[s as usize] += 1;
    }
    for &m in &missing {
        len[m as usize] = 16;
    }
    order.extend_from_slice(&missing);
    order.sort_by_key(|&s| len[s as usize]); // stable: old order within a length
    let mut counts = [0u8; 16];
    for &s in &order {
        counts[len[s as usize] as usize - 1] += 1;
    }
    Ok((t.0, counts, order))
}

/// Reads bits from de-stuffed entropy-coded data (no markers inside).
struct PlainBits<'a> {
    d: &'a [u8],
    p: u64,
}

impl PlainBits<'_> {
    /// The next `k` (at most 16) bits, not consumed.
    #[inline]
    fn peek(&self, k: u32) -> u32 {
        let i = (self.p / 8) as usize;
        let v = match self.d.get(i..i + 4) {
            Some(b) => u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            None => {
                let mut v = 0u32;
                for j in 0..4 {
                    v = (v << 8) | *self.d.get(i + j).unwrap_or(&0) as u32;
                }
                v
            }
        };
        (v << (self.p % 8)) >> (32 - k)
    }

    #[inline]
    fn take(&mut self, k: u32) -> u32 {
        if k == 0 {
            return 0;
        }
        let v = self.peek(k);
        self.p += k as u64;
        v
    }

    #[inline]
    fn decode(&mut self, t: &DecodeTable) -> Result<u8, JpegError> {
        let e = t.fast[self.peek(9) as usize];
        if e != 0 {
            self.p += (e >> 8) as u64;
            return Ok(e as u8);
        }
        for len in 10..=16u32 {
            let code = self.peek(len) as i32;
            if code <= t.maxcode[len as usize] {
                self.p += len as u64;
                let i = t.valptr[len as usize] + code - t.mincode[len as usize];
                if let Some(&v) = t.values.get(i as usize) {
                    return Ok(v);
                }
                break;
            }
        }
        bad(0, "invalid Huffman code while re-coding a block")
    }
}

/// Re-code one block's symbols from the input's tables to `dc`/`ac`, extra bits unchanged.
fn transcode_block(
    r: &mut PlainBits<'_>,
    odc: &DecodeTable,
    oac: &DecodeTable,
    dc: &CodeTable,
    ac: &CodeTable,
    w: &mut BitWriter,
) -> Result<(), JpegError> {
    // The code and the extra bits in one write (at most 16 + 16 bits).
    let put = |w: &mut BitWriter, t: &CodeTable, sym: u8, extra: u32, s: u32| {
        let (code, clen) = t[sym as usize];
        w.put((code << s) | extra, clen + s);
    };
    let sym = r.decode(odc)?;
    let s = (sym as u32).min(16);
    let extra = r.take(s);
    put(w, dc, sym, extra, s);
    let mut k = 1;
    while k < 64 {
        let rs = r.decode(oac)?;
        let (run, s) = ((rs >> 4) as usize, (rs & 15) as u32);
        let extra = r.take(s);
        put(w, ac, rs, extra, s);
        if s == 0 {
            if run != 15 {
                break;
            }
            k += 16;
            continue;
        }
        k += run + 1;
    }
    Ok(())
}

/// Append bits `from..to` of `src` (most significant bit first) to `w`.
fn copy_bits(src: &[u8], from: u64, to: u64, w: &mut BitWriter) {
    let bit = |p: u64| ((src[(p / 8) as usize] >> (7 - p % 8)) & 1) as u32;
    let mut p = from;
    while p < to && !p.is_multiple_of(8) {
        w.put(bit(p), 1);
        p += 1;
    }
    while p + 32 <= to {
        let i = (p / 8) as usize;
        let v = u32::from_be_bytes([src[i], src[i + 1], src[i + 2], src[i + 3]]);
        w.put(v, 32);
        p += 32;
    }
    while p < to {
        w.put(bit(p), 1);
        p += 1;
    }
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
