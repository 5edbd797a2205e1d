//! Writing the coefficients back as one sequential scan with optimised Huffman tables (the
//! coefficient path: progressive or multi-scan input).

use super::*;

/// Bits per value category: the number of bits of |v|.
#[inline]
pub(super) fn category(v: i32) -> u32 {
    32 - v.unsigned_abs().leading_zeros()
}

/// Receives the symbols of the sequential scan [`walk`] produces, in order.
pub(super) trait Sink {
    /// A symbol of table `t` (component 0 → 0, the others → 1), DC or AC, followed by `len`
    /// extra bits `bits`.
    fn symbol(&mut self, t: usize, dc: bool, sym: u8, bits: u32, len: u32);
    /// Before each RST marker, with its number.
    fn restart(&mut self, m: u8);
}

/// Counts symbols per table (for the optimised tables).
pub(super) struct Frequencies {
    pub(super) dc: [[u64; 256]; 2],
    pub(super) ac: [[u64; 256]; 2],
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
    pub(super) fn add(&mut self, other: &Frequencies) {
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
pub(super) struct Coder {
    pub(super) w: BitWriter,
    pub(super) dc: Vec<CodeTable>,
    pub(super) ac: Vec<CodeTable>,
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
pub(super) fn units_of(f: &Decoded) -> (usize, usize) {
    if f.comps.len() == 1 {
        (f.comps[0].cw, f.comps[0].ch)
    } else {
        (f.mcux, f.mcuy)
    }
}

/// Rows of MCUs [`walk`] visits, and the DC predictors (one per component) in force before the
/// first of them.
pub(super) struct Chunk {
    pub(super) rows: std::ops::Range<usize>,
    pub(super) pred: [i32; 3],
}

impl Chunk {
    /// Rows `rows` of a walk sampling every `sample`-th row: the predictors are the DC values of
    /// the last MCU of the last sampled row before them (zero for the first row), as a walk of
    /// every row from the first would have them.
    pub(super) fn new(f: &Decoded, rows: std::ops::Range<usize>, sample: usize) -> Chunk {
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
pub(super) fn walk<S: Sink>(
    f: &Decoded,
    sink: &mut S,
    sample: usize,
    chunk: &Chunk,
) -> Result<(), JpegError> {
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
pub(super) fn nonzero_mask(block: &Block) -> u64 {
    let mut m = 0u64;
    for (k, &zz) in ZIGZAG.iter().enumerate() {
        if block[zz] != 0 {
            m |= 1 << k;
        }
    }
    m
}

/// Write the frame back as one sequential scan with optimised Huffman tables.
pub(super) fn encode(f: &Decoded) -> Result<Vec<u8>, JpegError> {
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
