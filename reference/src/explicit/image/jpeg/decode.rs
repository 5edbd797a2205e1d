//! Parsing a JPEG and decoding its scans to quantised DCT coefficients (sequential and
//! progressive Huffman scans; the splice path reads sequential scans without storing them).

use super::*;

pub(super) fn be16(d: &[u8], at: usize) -> Result<usize, JpegError> {
    match d.get(at..at + 2) {
        Some(b) => Ok(((b[0] as usize) << 8) | b[1] as usize),
        None => bad(at, "unexpected end of file"),
    }
}

/// Parse the whole file and decode every scan to coefficients.
///
/// Sequential scans are decoded as they are met. Progressive scans are only located while the
/// file is parsed, then decoded on two threads ([`decode_deferred`]); a scan's error is still
/// reported before any error of the markers after it, as if read in file order.
pub(super) fn decode(data: &[u8], splice: Option<&mut Splice<'_>>) -> Result<Decoded, JpegError> {
    let mut frame = None;
    let mut deferred = Vec::new();
    let parsed = parse(data, splice, &mut frame, &mut deferred);
    if let (Some(f), false) = (frame.as_mut(), deferred.is_empty()) {
        decode_deferred(data, f, &deferred)?;
    }
    parsed?;
    frame.ok_or_else(|| JpegError::Malformed {
        offset: 0,
        what: "no frame".into(),
    })
}

/// Walk the markers of the whole file, filling `frame`; sequential scans are decoded here,
/// progressive ones appended to `deferred`. `Ok` only at EOI, with `frame` complete.
fn parse(
    data: &[u8],
    mut splice: Option<&mut Splice<'_>>,
    frame: &mut Option<Decoded>,
    deferred: &mut Vec<DeferredScan>,
) -> Result<(), JpegError> {
    if data.get(0..2) != Some(&[0xFF, 0xD8]) {
        return bad(0, "not a JPEG (no SOI marker)");
    }
    let mut header = vec![0xFF, 0xD8];
    let mut pos = 2;
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
            let Some(f) = frame.as_mut() else {
                return bad(at, "EOI before any frame");
            };
            if scans == 0 {
                return bad(at, "no scan before EOI");
            }
            f.header = header;
            f.trailer = data[pos + 2..].to_vec();
            f.qtables = qtables;
            f.restart_interval = restart_interval;
            f.adobe_transform = adobe_transform;
            f.jfif = jfif;
            return Ok(());
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
                *frame = Some(f);
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
                let end = if progressive {
                    // (Progressive input never reaches here with a splice: refused above.)
                    defer_scan(
                        data,
                        (seg, seg_at),
                        pos,
                        f,
                        (&dc_tables, &ac_tables),
                        restart_interval,
                        deferred,
                    )?
                } else {
                    decode_scan(
                        data,
                        seg,
                        seg_at,
                        pos,
                        f,
                        &dc_tables,
                        &ac_tables,
                        restart_interval,
                        splice.as_deref_mut(),
                    )?
                };
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

pub(super) fn parse_frame(seg: &[u8], at: usize) -> Result<Decoded, JpegError> {
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

/// One scan's parameters (its SOS segment), checked against the frame.
pub(super) struct ScanHeader {
    /// Per component of the scan: (index in the frame, DC table id, AC table id).
    pub(super) sc: Vec<(usize, usize, usize)>,
    pub(super) ss: usize,
    pub(super) se: usize,
    pub(super) ah: u32,
    pub(super) al: u32,
}

/// Parse and check an SOS segment `seg` (found at offset `at`).
pub(super) fn scan_header(
    seg: &[u8],
    at: usize,
    f: &Decoded,
    progressive: bool,
) -> Result<ScanHeader, JpegError> {
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
    Ok(ScanHeader { sc, ss, se, ah, al })
}

/// The tables a scan needs, per component of the scan: (frame index, DC table of a first DC
/// pass, AC table of an AC pass).
pub(super) fn scan_tables<'t>(
    sc: &[(usize, usize, usize)],
    (ss, se, ah): (usize, usize, u32),
    dc_tables: &'t [Option<DecodeTable>; 4],
    ac_tables: &'t [Option<DecodeTable>; 4],
    at: usize,
) -> Result<ScanTables<'t>, JpegError> {
    let dc_pass = ss == 0;
    let ac_pass = se > 0;
    let mut tables = Vec::new();
    for &(c, td, ta) in sc {
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
    Ok(tables)
}

/// See [`scan_tables`].
pub(super) type ScanTables<'t> = Vec<(usize, Option<&'t DecodeTable>, Option<&'t DecodeTable>)>;

/// A progressive scan found by [`parse`], decoded later by [`decode_deferred`].
pub(super) struct DeferredScan {
    header: ScanHeader,
    /// Per component of the scan: (frame index, DC table of a first DC pass, AC table of an
    /// AC pass), copied because a DHT between scans may redefine a table.
    tables: Vec<(usize, Option<DecodeTable>, Option<DecodeTable>)>,
    /// MCUs (interleaved) or blocks (one component) across and down.
    units: (usize, usize),
    restart_interval: usize,
    /// Where the entropy-coded data starts, and the marker after it (`None`: the file ends
    /// first, which is an error once the scan is decoded).
    start: usize,
    end: Option<usize>,
}

impl DeferredScan {
    /// The chain of scans that must be decoded in order with this one: 0 for the DC scans,
    /// `1 + c` for the AC scans of component `c` (a progressive AC scan has exactly one
    /// component, ISO/IEC 10918-1 G.1.1.1.1).
    fn chain(&self) -> usize {
        if self.header.ss == 0 {
            0
        } else {
            1 + self.header.sc[0].0
        }
    }
}

/// Check a progressive scan's header and tables, remember it in `deferred`, and return the
/// offset of the marker after its entropy-coded data (found by looking for one: byte stuffing
/// guarantees that no marker but RSTm occurs inside).
pub(super) fn defer_scan(
    data: &[u8],
    (seg, at): (&[u8], usize),
    start: usize,
    f: &Decoded,
    (dc_tables, ac_tables): (&[Option<DecodeTable>; 4], &[Option<DecodeTable>; 4]),
    restart_interval: usize,
    deferred: &mut Vec<DeferredScan>,
) -> Result<usize, JpegError> {
    let header = scan_header(seg, at, f, true)?;
    let tables = scan_tables(
        &header.sc,
        (header.ss, header.se, header.ah),
        dc_tables,
        ac_tables,
        at,
    )?
    .into_iter()
    .map(|(c, dc, ac)| (c, dc.cloned(), ac.cloned()))
    .collect();
    let units = if header.sc.len() == 1 {
        let c = &f.comps[header.sc[0].0];
        (c.cw, c.ch)
    } else {
        (f.mcux, f.mcuy)
    };
    let end = next_marker(data, start);
    deferred.push(DeferredScan {
        header,
        tables,
        units,
        restart_interval,
        start,
        end: end.ok(),
    });
    end.or_else(|pos| bad(pos, "unexpected end of file after a scan"))
}

/// The first marker at or after `from` other than RSTm (skipping fill bytes and stuffed
/// 0xFF), or `Err` with the offset where the file ran out.
fn next_marker(data: &[u8], from: usize) -> Result<usize, usize> {
    let mut pos = from;
    loop {
        match data.get(pos..pos + 2) {
            None => return Err(pos),
            Some([0xFF, m]) if *m != 0 && *m != 0xFF && !(0xD0..=0xD7).contains(m) => {
                return Ok(pos)
            }
            _ => pos += 1,
        }
    }
}

/// Give every component its blocks and non-zero masks (all zero), once: the coefficient path
/// only (the splice path keeps just the blocks it re-encodes).
fn allocate_blocks(f: &mut Decoded) {
    for c in &mut f.comps {
        if c.coefs.is_empty() {
            c.coefs = vec![[0i16; 64]; c.bw * c.bh];
            c.nonzero = vec![0u64; c.bw * c.bh];
        }
    }
}

/// Decode the progressive scans `deferred` into `f`'s blocks.
///
/// The DC scans, and the AC scans of each component, form chains that touch disjoint
/// coefficients (the DC scans write [`DcPlane`]s). The chains are shared between two threads
/// by their entropy-coded bytes, each thread decoding its scans in file order. When several
/// scans fail, the error of the first in the file is returned, as a decoder reading them in
/// order would.
pub(super) fn decode_deferred(
    data: &[u8],
    f: &mut Decoded,
    deferred: &[DeferredScan],
) -> Result<(), JpegError> {
    allocate_blocks(f);
    let mut planes: Vec<DcPlane> = f
        .comps
        .iter()
        .map(|c| DcPlane {
            h: c.h,
            v: c.v,
            bw: c.bw,
            values: vec![0; c.bw * c.bh],
        })
        .collect();
    // The chains' sizes; each goes, largest first, to the thread with fewer bytes so far.
    let mut bytes = vec![0usize; 1 + f.comps.len()];
    for s in deferred {
        bytes[s.chain()] += s.end.unwrap_or(data.len()) - s.start;
    }
    let mut order: Vec<usize> = (0..bytes.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(bytes[i]));
    let mut second = vec![false; bytes.len()];
    let (mut first_bytes, mut second_bytes) = (0, 0);
    for i in order {
        if first_bytes <= second_bytes {
            first_bytes += bytes[i];
        } else {
            second_bytes += bytes[i];
            second[i] = true;
        }
    }
    let mut groups: [Vec<(usize, &mut Component)>; 2] = [Vec::new(), Vec::new()];
    for (ci, c) in f.comps.iter_mut().enumerate() {
        groups[second[1 + ci] as usize].push((ci, c));
    }
    let [mut g0, mut g1] = groups;
    let (p0, p1) = if second[0] {
        (None, Some(&mut planes[..]))
    } else {
        (Some(&mut planes[..]), None)
    };
    let result = if second_bytes == 0 {
        run_scans(data, deferred, (&second, false), &mut g0, p0)
    } else {
        std::thread::scope(|s| {
            let other = s.spawn(|| run_scans(data, deferred, (&second, true), &mut g1, p1));
            let mine = run_scans(data, deferred, (&second, false), &mut g0, p0);
            let theirs = other.join().expect("a scan decoder does not panic");
            match (mine, theirs) {
                (Err(a), Err(b)) => Err(if a.0 < b.0 { a } else { b }),
                (Err(e), _) | (_, Err(e)) => Err(e),
                _ => Ok(()),
            }
        })
    };
    result.map_err(|(_, e)| e)?;
    for (c, plane) in f.comps.iter_mut().zip(&planes) {
        for (block, &dc) in c.coefs.iter_mut().zip(&plane.values) {
            block[0] = dc;
        }
    }
    Ok(())
}

/// Decode, in file order, the scans of `deferred` whose chain is in this thread's group
/// (`second[chain] == group`), into `comps` (the group's components) and `planes` (when the
/// DC chain is in the group). An error is paired with its scan's index in `deferred`.
fn run_scans(
    data: &[u8],
    deferred: &[DeferredScan],
    (second, group): (&[bool], bool),
    comps: &mut [(usize, &mut Component)],
    mut planes: Option<&mut [DcPlane]>,
) -> Result<(), (usize, JpegError)> {
    for (i, s) in deferred.iter().enumerate() {
        if second[s.chain()] != group {
            continue;
        }
        let ScanHeader { sc, ss, se, ah, al } = &s.header;
        let mut r = BitReader::new(data, s.start);
        let decoded = if *ss == 0 {
            let dc: Vec<(usize, Option<&DecodeTable>)> = s
                .tables
                .iter()
                .map(|(c, dc, _)| (*c, dc.as_ref()))
                .collect();
            let planes = planes
                .as_deref_mut()
                .expect("the DC chain's group has the planes");
            decode_dc(&mut r, planes, &dc, s.units, (*ah, *al), s.restart_interval)
        } else {
            let comp = comps
                .iter_mut()
                .find(|(ci, _)| *ci == sc[0].0)
                .map(|(_, c)| &mut **c)
                .expect("the chain's group has its component");
            let ac = s.tables[0].2.as_ref().expect("an AC scan has its AC table");
            decode_band(&mut r, comp, ac, (*ss, *se, *ah, *al), s.restart_interval)
        };
        let checked = decoded.and_then(|()| {
            if r.overran() {
                return bad(r.pos, "entropy-coded data ends before the scan does");
            }
            match s.end {
                Some(_) => Ok(()),
                // As a decoder reading in order would say it, from where this scan ended.
                None => bad(
                    next_marker(data, r.pos).err().unwrap_or(r.pos),
                    "unexpected end of file after a scan",
                ),
            }
        });
        checked.map_err(|e| (i, e))?;
    }
    Ok(())
}

/// Decode one sequential scan whose entropy-coded data starts at `data[start]`; returns the
/// offset of the marker that follows it. (Progressive scans go through [`defer_scan`].)
#[allow(clippy::too_many_arguments)]
pub(super) fn decode_scan(
    data: &[u8],
    seg: &[u8],
    at: usize,
    start: usize,
    f: &mut Decoded,
    dc_tables: &[Option<DecodeTable>; 4],
    ac_tables: &[Option<DecodeTable>; 4],
    restart_interval: usize,
    mut splice: Option<&mut Splice<'_>>,
) -> Result<usize, JpegError> {
    let ScanHeader { sc, ss, se, ah, .. } = scan_header(seg, at, f, false)?;
    let ns = sc.len();
    let tables = scan_tables(&sc, (ss, se, ah), dc_tables, ac_tables, at)?;
    let mut r = BitReader::new(data, start);
    if let Some(sp) = splice.as_deref_mut() {
        if ns != f.comps.len() {
            return unsupported(NOT_SPLICEABLE);
        }
        sp.prepare(f, &sc, &tables, restart_interval, start)?;
        r.keep = true;
        r.destuffed.reserve(data.len().saturating_sub(start));
    } else {
        allocate_blocks(f);
    }
    let mut scratch: Block = [0; 64];
    let mut kept: Vec<Block> = Vec::new();
    let mut pred = [0i32; 4];
    let mut units = 0usize; // MCUs (interleaved) or blocks (non-interleaved) since the last RST
    let mut next_rst = 0u8;
    let single = ns == 1;
    let (ux, uy) = if single {
        let c = &f.comps[sc[0].0];
        (c.cw, c.ch)
    } else {
        (f.mcux, f.mcuy)
    };
    let total = ux * uy;
    // Unit `u` is at (mx, my), counted along (no division per unit).
    let (mut mx, mut my) = (0usize, 0usize);
    for u in 0..total {
        if restart_interval > 0 && units == restart_interval {
            r.restart(next_rst)?;
            next_rst = (next_rst + 1) & 7;
            units = 0;
            pred = [0; 4];
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
                    let last = decode_sequential(
                        &mut r,
                        block,
                        dc.expect("DC"),
                        ac.expect("AC"),
                        &mut pred[si],
                    )?;
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
    let pos =
        next_marker(data, r.pos).or_else(|pos| bad(pos, "unexpected end of file after a scan"))?;
    if let Some(sp) = splice {
        sp.destuffed = std::mem::take(&mut r.destuffed);
        sp.scan = (start, pos);
    }
    Ok(pos)
}

/// The DC coefficients of one component while a progressive file is decoded: kept apart from
/// its blocks so that the DC scans and the AC scans (which touch only coefficients 1 to 63)
/// can be decoded at the same time; [`decode_deferred`] writes them into the blocks after.
pub(super) struct DcPlane {
    h: usize,
    v: usize,
    bw: usize,
    values: Vec<i16>,
}

/// A progressive DC scan (first pass when `ah` is 0, else refinement) of the components
/// `comps` (frame index, DC table of a first pass), over `units` (MCUs, or blocks of a
/// one-component scan), into `planes` (one per frame component).
pub(super) fn decode_dc(
    r: &mut BitReader<'_>,
    planes: &mut [DcPlane],
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
                let plane = &mut planes[ci];
                let (nh, nv) = if single { (1, 1) } else { (plane.h, plane.v) };
                for by in 0..nv {
                    for bx in 0..nh {
                        let i = (my * nv + by) * plane.bw + mx * nh + bx;
                        let coef = &mut plane.values[i];
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
pub(super) fn decode_band(
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

pub(super) fn to_i16(v: i32, pos: usize) -> Result<i16, JpegError> {
    i16::try_from(v).or_else(|_| bad(pos, "coefficient out of range"))
}

pub(super) fn decode_sequential(
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
pub(super) fn skip_sequential(
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

pub(super) fn decode_ac_first(
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
pub(super) fn decode_ac_refine(
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
