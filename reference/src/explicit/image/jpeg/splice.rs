//! Splicing: copy the entropy-coded bits of untouched MCUs of a single-scan sequential JPEG
//! and re-encode only the MCUs under the label.

use super::*;

/// Sentinel of [`JpegError::Unsupported`] meaning "use the coefficient path instead".
pub(super) const NOT_SPLICEABLE: &str = "(not spliceable)";

/// Marking a single-scan sequential JPEG without re-encoding what the label does not touch:
/// the entropy-coded bits of every untouched MCU are copied as they are (they depend only on
/// the Huffman tables, which are kept, and on the previous block's DC, which is unchanged);
/// the MCUs under the label, and the one after each of them (whose first DC difference refers
/// to a changed block), are re-encoded with the file's own Huffman tables. Everything outside
/// the scan's entropy-coded data is copied byte for byte. When a re-encoded block needs a
/// symbol the file's tables lack (optimised tables), the caller uses the coefficient path.
pub(super) struct Splice<'o> {
    pub(super) overlay: &'o Overlay,
    pub(super) targets: Vec<Target>,
    /// Per MCU (or block, in a one-component frame): re-encode it.
    pub(super) keep: Vec<bool>,
    /// Coefficients of the re-encoded MCUs, blocks in scan order.
    pub(super) blocks: std::collections::HashMap<usize, Vec<Block>>,
    /// DC predictors (scan order) at the start of each re-encoded MCU.
    pub(super) pred_in: std::collections::HashMap<usize, [i32; 4]>,
    /// Bit range of each MCU in `destuffed`.
    pub(super) start: Vec<u64>,
    pub(super) end: Vec<u64>,
    /// Per MCU: the length of the longest code word in it (its bits are copied as they are
    /// when every code word of that length and shorter keeps its value in the output tables).
    pub(super) longest: Vec<u8>,
    pub(super) destuffed: Vec<u8>,
    /// Byte offsets of the entropy-coded data and of the marker after it.
    pub(super) scan: (usize, usize),
    /// Per scan component: frame index, DC and AC tables (counts, values) as the scan uses them.
    pub(super) order: Vec<(usize, RawTable, RawTable)>,
    /// Per scan component: the input's DC and AC decoding tables (for transcoding).
    pub(super) decoders: Vec<(DecodeTable, DecodeTable)>,
    /// Byte ranges of the DHT segments before the scan (replaced by one DHT in the output).
    pub(super) dht_segments: Vec<(usize, usize)>,
    /// Byte offset of the SOS marker.
    pub(super) sos_at: usize,
    /// First block of each scan component inside an MCU's block list.
    pub(super) offsets: Vec<usize>,
    pub(super) restart_interval: usize,
    pub(super) units: (usize, usize),
}

/// A Huffman table as a DHT holds it: (table class << 4 | id, counts per length, symbols).
pub(super) type RawTable = (u8, [u8; 16], Vec<u8>);

/// Give `table` codes for the symbols in `needed` it lacks, without changing any code it has:
/// in canonical Huffman codes, symbols appended at the longest length (16) take the next free
/// code words, so every existing code word stays as it was. Fails when the table's code space
/// is full (the all-ones code word stays reserved).
pub(super) fn extend_table(table: &mut RawTable, needed: &[bool; 256]) -> Result<(), JpegError> {
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
    pub(super) fn new(overlay: &'o Overlay) -> Self {
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
    pub(super) fn locate(
        &self,
        f: &Decoded,
        ci: usize,
        bx: usize,
        by: usize,
    ) -> Option<(usize, usize)> {
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
    pub(super) fn prepare(
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
    pub(super) fn for_each_kept(
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
    pub(super) fn write(
        mut self,
        f: &Decoded,
        data: &[u8],
    ) -> Result<(Vec<u8>, &'static str), JpegError> {
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
pub(super) fn block_symbols(
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
pub(super) fn sc_tables(sc: &[(usize, usize, usize)], ci: usize) -> (usize, usize) {
    sc.iter()
        .find(|x| x.0 == ci)
        .map(|x| (x.1, x.2))
        .unwrap_or((0, 0))
}

/// A table with codes for the `needed` symbols it lacks, made by lengthening its longest codes
/// shorter than 16 bits until there is room (the all-ones code word stays reserved).
pub(super) fn make_room(t: &RawTable, needed: &[bool; 256]) -> Result<RawTable, JpegError> {
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
pub(super) struct PlainBits<'a> {
    pub(super) d: &'a [u8],
    pub(super) p: u64,
}

impl PlainBits<'_> {
    /// The next `k` (at most 16) bits, not consumed.
    #[inline]
    pub(super) fn peek(&self, k: u32) -> u32 {
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
    pub(super) fn take(&mut self, k: u32) -> u32 {
        if k == 0 {
            return 0;
        }
        let v = self.peek(k);
        self.p += k as u64;
        v
    }

    #[inline]
    pub(super) fn decode(&mut self, t: &DecodeTable) -> Result<u8, JpegError> {
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
pub(super) fn transcode_block(
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
