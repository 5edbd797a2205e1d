//! Huffman coding of JPEG entropy-coded data: decoding tables, the bit reader (which undoes
//! 0xFF00 stuffing and stops at markers), the bit writer, and optimal tables (Annex K.2).

use super::*;

/// A Huffman table for decoding (JPEG Annex F.2.2.3 with a 9-bit lookup).
#[derive(Clone)]
pub(super) struct DecodeTable {
    /// `len << 8 | symbol` for codes of at most 9 bits, indexed by the next 9 bits; 0 = longer.
    pub(super) fast: Vec<u16>,
    pub(super) maxcode: [i32; 18],
    pub(super) valptr: [i32; 17],
    pub(super) mincode: [i32; 17],
    pub(super) values: Vec<u8>,
    /// The DHT's code counts per length (to encode with the same table).
    pub(super) counts: [u8; 16],
}

impl DecodeTable {
    pub(super) fn new(
        counts: &[u8; 16],
        values: &[u8],
        offset: usize,
    ) -> Result<DecodeTable, JpegError> {
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
pub(super) struct BitReader<'a> {
    pub(super) data: &'a [u8],
    pub(super) pos: usize,
    pub(super) acc: u64,
    pub(super) n: u32,
    pub(super) at_marker: bool,
    /// Zero bits appended after the data ended (a marker or the end of the file).
    pub(super) padding: u32,
    /// When set, every data byte read (stuffing removed) is appended to `destuffed`.
    pub(super) keep: bool,
    pub(super) destuffed: Vec<u8>,
}

impl<'a> BitReader<'a> {
    pub(super) fn new(data: &'a [u8], pos: usize) -> Self {
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
    pub(super) fn bit_pos(&self) -> u64 {
        self.destuffed.len() as u64 * 8 - (self.n - self.padding.min(self.n)) as u64
    }

    #[inline]
    pub(super) fn fill(&mut self) {
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
    pub(super) fn bits(&mut self, k: u32) -> u32 {
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
    pub(super) fn bit(&mut self) -> bool {
        self.bits(1) == 1
    }

    /// `s` bits as a signed value (JPEG EXTEND).
    #[inline]
    pub(super) fn extend(&mut self, s: u32) -> i32 {
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
    pub(super) fn decode(&mut self, t: &DecodeTable) -> Result<u8, JpegError> {
        self.decode_with_len(t).map(|(s, _)| s)
    }

    /// The next symbol and the length of its code word.
    #[inline(always)]
    pub(super) fn decode_with_len(&mut self, t: &DecodeTable) -> Result<(u8, u32), JpegError> {
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
    pub(super) fn decode_long(&mut self, t: &DecodeTable) -> Result<(u8, u32), JpegError> {
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
    pub(super) fn skip(&mut self, k: u32) {
        if self.n < k {
            self.fill();
        }
        self.acc <<= k;
        self.n -= k;
    }

    /// Whether more bits were consumed than the data held.
    pub(super) fn overran(&self) -> bool {
        self.padding > self.n
    }

    /// At a restart: drop the buffered bits and read the RSTm marker expected next.
    pub(super) fn restart(&mut self, expected: u8) -> Result<(), JpegError> {
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

/// Optimal Huffman code lengths limited to 16 bits (JPEG Annex K.2, as libjpeg's
/// `jpeg_gen_optimal_table`): returns the 16 counts and the symbols in code order.
pub(super) fn optimal_table(freq_in: &[u64; 256]) -> ([u8; 16], Vec<u8>) {
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
pub(super) fn encode_table(counts: &[u8; 16], values: &[u8]) -> [(u32, u32); 256] {
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
pub(super) struct BitWriter {
    pub(super) out: Vec<u8>,
    /// Pending bits, the last `n` of `acc` (fewer than 32 between calls).
    pub(super) acc: u64,
    pub(super) n: u32,
    /// Whether a 0xFF byte is followed by a stuffed 0x00 (off for a part of a scan coded in
    /// parallel, whose bits are appended to the rest with [`copy_bits`], which stuffs them).
    pub(super) stuff: bool,
}

impl BitWriter {
    pub(super) fn new(out: Vec<u8>) -> Self {
        BitWriter {
            out,
            acc: 0,
            n: 0,
            stuff: true,
        }
    }

    /// A writer without byte stuffing, for a part of a scan.
    pub(super) fn unstuffed(capacity: usize) -> Self {
        BitWriter {
            stuff: false,
            ..BitWriter::new(Vec::with_capacity(capacity))
        }
    }

    /// The bytes written and how many bits of them are data (the last byte zero-padded).
    pub(super) fn into_bits(mut self) -> (Vec<u8>, u64) {
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
    pub(super) fn put(&mut self, bits: u32, len: u32) {
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
    pub(super) fn flush(&mut self) {
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

/// Code and length per symbol; length 0 = the table has no code for it.
pub(super) type CodeTable = [(u32, u32); 256];

/// Append bits `from..to` of `src` (most significant bit first) to `w`.
pub(super) fn copy_bits(src: &[u8], from: u64, to: u64, w: &mut BitWriter) {
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
