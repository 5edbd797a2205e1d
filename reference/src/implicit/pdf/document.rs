//! The current document of a PDF file: the cross-reference chain (classic tables, xref and
//! object streams, `/Prev`, hybrid `/XRefStm`), object lookup and stream decoding, on top of
//! the parent module's lexer and objects.

use super::*;

/// Where an object lives.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Loc {
    Free,
    At(u64),
    InStream(u32, u32),
}

/// One cross-reference section.
enum Section {
    /// Classic table: subsections (first object, count, file offset of the first entry).
    Table(Vec<(u64, u64, u64)>),
    /// Decoded xref stream: field widths, (first, count) ranges, rows.
    Stream {
        w: [usize; 3],
        index: Vec<(u64, u64)>,
        rows: Vec<u8>,
    },
}

/// The parsed structure needed to read or update the label.
pub(super) struct Doc {
    /// Sections, newest first (hybrid `/XRefStm` right after its table).
    sections: Vec<Section>,
    /// The newest trailer dictionary (classic `trailer` or the xref stream's dictionary).
    pub(super) trailer: Dict,
    /// Raw text of the newest trailer, for copying `/Root` and `/ID`.
    pub(super) trailer_raw: Vec<u8>,
    /// `startxref` value (the newest section's offset).
    pub(super) startxref: u64,
    /// Whether the newest section is an xref stream.
    pub(super) newest_is_stream: bool,
    /// `/Info` of the newest trailer that has one.
    pub(super) info: Option<Obj>,
}

/// An object read from the file: its value, the buffer it was parsed from (for raw spans), and
/// the stream data when it is a stream.
pub(super) struct Fetched {
    pub(super) obj: Obj,
    pub(super) buf: Vec<u8>,
    pub(super) stream: Option<Vec<u8>>,
    pub(super) offset: u64,
}

fn corrupt_at(base: u64) -> impl Fn(ParseErr) -> CodecError {
    move |e| match e {
        ParseErr::Eof => CodecError::corrupt(base, "truncated: the file ends inside an object"),
        ParseErr::Bad(p, what) => CodecError::corrupt(base + p as u64, what),
    }
}

/// Parse something at `offset` of the file, growing the window while the parser runs out.
fn with_window<T>(
    input: &mut Input,
    offset: u64,
    first_window: u64,
    mut f: impl FnMut(&mut Lexer) -> PResult<T>,
) -> Result<(T, Vec<u8>, usize)> {
    if offset >= input.len() {
        return Err(CodecError::corrupt(
            offset,
            format!(
                "offset points past the end of the file ({} bytes)",
                input.len()
            ),
        ));
    }
    let mut size = first_window;
    loop {
        let avail = input.len() - offset;
        let take = size.min(avail);
        input.seek_to(offset)?;
        let buf = input.read_vec(take, limits::MAX_METADATA_BYTES, "PDF object")?;
        let partial = take < avail;
        let mut lx = Lexer::new(&buf, 0, partial);
        match f(&mut lx) {
            Ok(v) => {
                let end = lx.pos;
                return Ok((v, buf, end));
            }
            Err(ParseErr::Eof) if partial && size < limits::MAX_METADATA_BYTES => {
                size = (size * 4).min(limits::MAX_METADATA_BYTES);
            }
            Err(ParseErr::Eof) if partial => {
                return Err(CodecError::limit(
                    offset,
                    format!(
                        "PDF object larger than {} bytes",
                        limits::MAX_METADATA_BYTES
                    ),
                ))
            }
            Err(e) => return Err(corrupt_at(offset)(e)),
        }
    }
}

/// Inflate with a bound on the output.
fn inflate(data: &[u8], at: u64) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut dec = flate2::read::ZlibDecoder::new(data).take(limits::MAX_INFLATED_BYTES + 1);
    dec.read_to_end(&mut out)
        .map_err(|e| CodecError::corrupt(at, format!("bad FlateDecode stream: {e}")))?;
    if out.len() as u64 > limits::MAX_INFLATED_BYTES {
        return Err(CodecError::limit(
            at,
            format!(
                "stream inflates beyond {} bytes",
                limits::MAX_INFLATED_BYTES
            ),
        ));
    }
    Ok(out)
}

/// Undo a PNG predictor (Predictor >= 10) on rows of `columns` bytes (1 colour, 8 bits).
fn unpredict_png(data: &[u8], columns: usize, at: u64) -> Result<Vec<u8>> {
    if columns == 0 || columns > 1 << 20 {
        return Err(CodecError::corrupt(at, "bad /Columns in /DecodeParms"));
    }
    let row = columns + 1;
    if !data.len().is_multiple_of(row) {
        return Err(CodecError::corrupt(
            at,
            "predicted stream length is not a multiple of the row size",
        ));
    }
    let mut out = Vec::with_capacity(data.len() / row * columns);
    let mut prev = vec![0u8; columns];
    for chunk in data.chunks(row) {
        let (ty, src) = (chunk[0], &chunk[1..]);
        let mut cur = vec![0u8; columns];
        for i in 0..columns {
            let left = if i > 0 { cur[i - 1] } else { 0 };
            let up = prev[i];
            let ul = if i > 0 { prev[i - 1] } else { 0 };
            cur[i] = match ty {
                0 => src[i],
                1 => src[i].wrapping_add(left),
                2 => src[i].wrapping_add(up),
                3 => src[i].wrapping_add(((left as u16 + up as u16) / 2) as u8),
                4 => {
                    let p = left as i16 + up as i16 - ul as i16;
                    let (pa, pb, pc) = (
                        (p - left as i16).abs(),
                        (p - up as i16).abs(),
                        (p - ul as i16).abs(),
                    );
                    let pred = if pa <= pb && pa <= pc {
                        left
                    } else if pb <= pc {
                        up
                    } else {
                        ul
                    };
                    src[i].wrapping_add(pred)
                }
                other => {
                    return Err(CodecError::corrupt(
                        at,
                        format!("unknown PNG predictor row type {other}"),
                    ))
                }
            };
        }
        out.extend_from_slice(&cur);
        prev = cur;
    }
    Ok(out)
}

/// Decode stream data per `/Filter` and `/DecodeParms` (FlateDecode with or without a PNG
/// predictor; no filter). Anything else is refused.
fn decode_stream(dict: &Dict, data: Vec<u8>, at: u64) -> Result<Vec<u8>> {
    let filters: Vec<&Obj> = match dict.get(b"Filter") {
        None | Some(Obj::Null) => Vec::new(),
        Some(Obj::Array(a)) => a.iter().collect(),
        Some(other) => vec![other],
    };
    let parms: Vec<Option<&Dict>> = match dict.get(b"DecodeParms") {
        Some(Obj::Dict(d)) => vec![Some(d)],
        Some(Obj::Array(a)) => a
            .iter()
            .map(|o| match o {
                Obj::Dict(d) => Some(d),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut data = data;
    for (i, f) in filters.iter().enumerate() {
        match f {
            Obj::Name(n) if n == b"FlateDecode" || n == b"Fl" => {
                data = inflate(&data, at)?;
                if let Some(Some(p)) = parms.get(i) {
                    let predictor = p.int(b"Predictor").unwrap_or(1);
                    if predictor >= 10 {
                        let colors = p.int(b"Colors").unwrap_or(1);
                        let bpc = p.int(b"BitsPerComponent").unwrap_or(8);
                        if colors != 1 || bpc != 8 {
                            return Err(CodecError::Unsupported(format!(
                                "PDF stream at byte {at}: PNG predictor with {colors} colours of {bpc} bits"
                            )));
                        }
                        let columns = p.int(b"Columns").unwrap_or(1);
                        data = unpredict_png(&data, usize::try_from(columns).unwrap_or(0), at)?;
                    } else if predictor != 1 {
                        return Err(CodecError::Unsupported(format!(
                            "PDF stream at byte {at}: predictor {predictor}"
                        )));
                    }
                }
            }
            Obj::Name(n) => {
                return Err(CodecError::Unsupported(format!(
                    "PDF stream at byte {at}: filter /{}",
                    String::from_utf8_lossy(n)
                )))
            }
            _ => return Err(CodecError::corrupt(at, "/Filter is not a name")),
        }
    }
    Ok(data)
}

impl Doc {
    pub(super) fn open(input: &mut Input) -> Result<Doc> {
        let len = input.len();
        let tail_start = len.saturating_sub(TAIL_WINDOW);
        input.seek_to(tail_start)?;
        let tail = input.read_vec(len - tail_start, TAIL_WINDOW, "PDF tail")?;
        let pos = rfind(&tail, b"startxref").ok_or_else(|| {
            CodecError::corrupt(
                len,
                "no `startxref` in the last 4096 bytes (truncated or not a PDF)",
            )
        })?;
        let mut lx = Lexer::new(&tail, pos + 9, false);
        let startxref = lx.uint().map_err(corrupt_at(tail_start)).map_err(|_| {
            CodecError::corrupt(tail_start + pos as u64, "`startxref` without an offset")
        })?;
        if startxref >= len {
            return Err(CodecError::corrupt(
                tail_start + pos as u64,
                format!("startxref {startxref} points past the end of the file ({len} bytes)"),
            ));
        }

        let mut doc = Doc {
            sections: Vec::new(),
            trailer: Dict::default(),
            trailer_raw: Vec::new(),
            startxref,
            newest_is_stream: false,
            info: None,
        };
        let mut visited = HashSet::new();
        let mut next = Some(startxref);
        let mut first = true;
        while let Some(offset) = next.take() {
            if !visited.insert(offset) {
                return Err(CodecError::corrupt(
                    offset,
                    "the cross-reference chain (/Prev) loops back to this section",
                ));
            }
            if visited.len() > limits::MAX_PDF_XREF_SECTIONS {
                return Err(CodecError::limit(
                    offset,
                    "too many cross-reference sections",
                ));
            }
            let (section, trailer, raw, is_stream) = read_section(input, offset)?;
            doc.sections.push(section);
            if first {
                doc.trailer = trailer.clone();
                doc.trailer_raw = raw;
                doc.newest_is_stream = is_stream;
                first = false;
            }
            if doc.info.is_none() {
                if let Some(info) = trailer.get(b"Info") {
                    doc.info = Some(info.clone());
                }
            }
            // Hybrid file: the trailer's /XRefStm comes right after its table.
            if !is_stream {
                if let Some(Obj::Int(x)) = trailer.get(b"XRefStm") {
                    let x = *x as u64;
                    if visited.insert(x) {
                        let (s, _, _, _) = read_section(input, x)?;
                        doc.sections.push(s);
                    }
                }
            }
            next = match trailer.get(b"Prev") {
                Some(Obj::Int(p)) if *p >= 0 => Some(*p as u64),
                Some(Obj::Int(_)) | Some(Obj::Real(_)) => {
                    return Err(CodecError::corrupt(offset, "bad /Prev in a trailer"))
                }
                _ => None,
            };
        }
        if doc.trailer.get(b"Encrypt").is_some() {
            return Err(CodecError::Unsupported(
                "encrypted PDF (/Encrypt in the trailer): its strings are ciphertext; decrypt it first (qpdf --decrypt)".into(),
            ));
        }
        Ok(doc)
    }

    fn locate(&self, input: &mut Input, num: u32) -> Result<Option<Loc>> {
        for s in &self.sections {
            match s {
                Section::Table(subs) => {
                    for &(first, count, at) in subs {
                        let n = num as u64;
                        // (first, count, at) were checked when the section was read: no overflow
                        if n >= first && n - first < count {
                            let entry_at = at + (n - first) * 20;
                            input.seek_to(entry_at)?;
                            let e: [u8; 20] = input.read_array()?;
                            let off = parse_uint(&e[0..10]);
                            let kind = e[17];
                            return match (kind, off) {
                                (b'f', _) => Ok(Some(Loc::Free)),
                                (b'n', Some(o)) => Ok(Some(Loc::At(o))),
                                _ => Err(CodecError::corrupt(
                                    entry_at,
                                    "malformed cross-reference table entry",
                                )),
                            };
                        }
                    }
                }
                Section::Stream { w, index, rows } => {
                    let row_len = w[0] + w[1] + w[2];
                    let mut row_no = 0u64;
                    for &(first, count) in index {
                        let n = num as u64;
                        if n >= first && n - first < count {
                            let Some(row) = row_no
                                .checked_add(n - first)
                                .and_then(|r| usize::try_from(r).ok())
                                .and_then(|r| r.checked_mul(row_len))
                                .and_then(|i| rows.get(i..i.checked_add(row_len)?))
                            else {
                                return Ok(None);
                            };
                            let field = |k: usize| -> u64 {
                                let start: usize = w[..k].iter().sum();
                                row[start..start + w[k]]
                                    .iter()
                                    .fold(0u64, |a, b| a << 8 | *b as u64)
                            };
                            let ty = if w[0] == 0 { 1 } else { field(0) };
                            return Ok(Some(match ty {
                                0 => Loc::Free,
                                1 => Loc::At(field(1)),
                                2 => Loc::InStream(field(1) as u32, field(2) as u32),
                                _ => Loc::Free, // unknown types are the null object
                            }));
                        }
                        row_no = row_no.saturating_add(count);
                    }
                }
            }
        }
        Ok(None)
    }

    /// Fetch an object by number. Object streams are followed one level (they cannot nest).
    pub(super) fn fetch(&self, input: &mut Input, num: u32) -> Result<Option<Fetched>> {
        match self.locate(input, num)? {
            None | Some(Loc::Free) => Ok(None),
            Some(Loc::At(off)) => self.fetch_at(input, off, num).map(Some),
            Some(Loc::InStream(stm, idx)) => {
                let Some(Loc::At(off)) = self.locate(input, stm)? else {
                    return Err(CodecError::corrupt(
                        0,
                        format!(
                            "object {num} is in object stream {stm}, which is not at a file offset"
                        ),
                    ));
                };
                let s = self.fetch_at(input, off, stm)?;
                let Obj::Dict(d) = &s.obj else {
                    return Err(CodecError::corrupt(off, "object stream is not a stream"));
                };
                let data = s
                    .stream
                    .ok_or_else(|| CodecError::corrupt(off, "object stream without data"))?;
                let n = d.int(b"N").unwrap_or(0).max(0) as u64;
                let first = d.int(b"First").unwrap_or(-1);
                if first < 0 || first as usize > data.len() || n > limits::MAX_ENTRIES as u64 {
                    return Err(CodecError::corrupt(
                        off,
                        "object stream with bad /N or /First",
                    ));
                }
                let mut lx = Lexer::new(&data, 0, false);
                let mut found = None;
                for _ in 0..n {
                    let onum = lx.uint().map_err(corrupt_at(off))?;
                    let rel = lx.uint().map_err(corrupt_at(off))?;
                    // The xref gives the index too; the object number in the header decides.
                    let _ = idx;
                    if onum == num as u64 {
                        found = Some(rel);
                        break;
                    }
                }
                let rel = found.ok_or_else(|| {
                    CodecError::corrupt(off, format!("object {num} not in object stream {stm}"))
                })?;
                let start = (first as u64).saturating_add(rel) as usize;
                if start > data.len() {
                    return Err(CodecError::corrupt(
                        off,
                        "object stream offset out of range",
                    ));
                }
                let mut lx = Lexer::new(&data, start, false);
                let obj = lx.object(0).map_err(corrupt_at(off))?;
                Ok(Some(Fetched {
                    obj,
                    buf: data,
                    stream: None,
                    offset: off,
                }))
            }
        }
    }

    fn fetch_at(&self, input: &mut Input, offset: u64, num: u32) -> Result<Fetched> {
        let ((obj, stream_at), buf, _) = with_window(input, offset, FIRST_WINDOW, |lx| {
            let n = lx.uint()?;
            let _g = lx.uint()?;
            lx.expect_keyword(b"obj")?;
            if n != num as u64 {
                return Err(ParseErr::Bad(
                    0,
                    format!("object {n} found where the cross-reference table says {num}"),
                ));
            }
            let obj = lx.object(0)?;
            let save = lx.pos;
            let w = lx.peek_word();
            if w == b"stream" && matches!(obj, Obj::Dict(_)) {
                lx.skip_ws();
                lx.pos += 6;
                // stream keyword is followed by CRLF or LF
                if lx.peek() == Some(b'\r') {
                    lx.pos += 1;
                }
                if lx.peek() == Some(b'\n') {
                    lx.pos += 1;
                }
                if lx.pos > lx.buf.len() {
                    return Err(ParseErr::Eof);
                }
                Ok((obj, Some(lx.pos)))
            } else {
                lx.pos = save;
                Ok((obj, None))
            }
        })?;
        let stream = match (stream_at, &obj) {
            (Some(rel), Obj::Dict(d)) => {
                let len = match d.get(b"Length") {
                    Some(Obj::Int(l)) if *l >= 0 => *l as u64,
                    Some(Obj::Ref(ln, _)) => {
                        let ln = *ln;
                        if ln == num {
                            return Err(CodecError::corrupt(
                                offset,
                                "stream /Length refers to itself",
                            ));
                        }
                        match self.locate(input, ln)? {
                            Some(Loc::At(lo)) => {
                                let (v, _, _) = with_window(input, lo, FIRST_WINDOW, |lx| {
                                    lx.uint()?;
                                    lx.uint()?;
                                    lx.expect_keyword(b"obj")?;
                                    lx.uint()
                                })?;
                                v
                            }
                            _ => {
                                return Err(CodecError::corrupt(
                                    offset,
                                    "stream /Length object not found",
                                ))
                            }
                        }
                    }
                    _ => {
                        return Err(CodecError::corrupt(
                            offset,
                            "stream without a valid /Length",
                        ))
                    }
                };
                let data_at = offset + rel as u64;
                input.seek_to(data_at)?;
                let raw = input.read_vec(len, limits::MAX_METADATA_BYTES, "PDF stream")?;
                Some(decode_stream(d, raw, data_at)?)
            }
            _ => None,
        };
        Ok(Fetched {
            obj,
            buf,
            stream,
            offset,
        })
    }

    /// Resolve a direct object or a reference (one level).
    pub(super) fn resolve(&self, input: &mut Input, obj: &Obj) -> Result<Option<Fetched>> {
        match obj {
            Obj::Ref(n, _) => self.fetch(input, *n),
            Obj::Dict(_) => Ok(Some(Fetched {
                obj: obj.clone(),
                buf: self.trailer_raw.clone(),
                stream: None,
                offset: self.startxref,
            })),
            _ => Ok(None),
        }
    }
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if hay.len() < needle.len() {
        return None;
    }
    (0..=hay.len() - needle.len())
        .rev()
        .find(|&i| &hay[i..i + needle.len()] == needle)
}

/// Read one cross-reference section at `offset`: (section, trailer dict, trailer raw text,
/// is it a stream).
fn read_section(input: &mut Input, offset: u64) -> Result<(Section, Dict, Vec<u8>, bool)> {
    if offset >= input.len() {
        return Err(CodecError::corrupt(
            offset,
            format!(
                "cross-reference offset points past the end of the file ({} bytes)",
                input.len()
            ),
        ));
    }
    input.seek_to(offset)?;
    let head = input.peek(64)?;
    let skip = head.iter().take_while(|b| is_ws(**b)).count();
    if head[skip..].starts_with(b"xref") {
        // Classic table: only subsection headers are read; entries are looked up on demand.
        let mut subs = Vec::new();
        let mut pos = offset + skip as u64 + 4;
        let mut total = 0u64;
        loop {
            let ((first, count), _, used) = with_window(input, pos, 128, |lx| {
                lx.skip_ws();
                if lx.peek_word() == b"trailer" {
                    return Ok((u64::MAX, 0));
                }
                let first = lx.uint()?;
                let count = lx.uint()?;
                // the end of line after the header: entries start at the next non-blank byte
                lx.skip_ws();
                Ok((first, count))
            })?;
            if first == u64::MAX {
                pos += used as u64;
                break;
            }
            let entries_at = pos + used as u64;
            total = total.saturating_add(count);
            if total > limits::MAX_ENTRIES as u64 || subs.len() >= limits::MAX_ENTRIES {
                return Err(CodecError::limit(pos, "cross-reference table too large"));
            }
            if first.checked_add(count).is_none() {
                return Err(CodecError::corrupt(
                    pos,
                    "cross-reference subsection overflows",
                ));
            }
            let end = entries_at
                .checked_add(count * 20)
                .filter(|e| *e <= input.len())
                .ok_or_else(|| {
                    CodecError::corrupt(
                        pos,
                        format!("truncated: cross-reference subsection of {count} entries runs past the end of the file"),
                    )
                })?;
            subs.push((first, count, entries_at));
            pos = end;
        }
        let (trailer, buf, used) = with_window(input, pos, FIRST_WINDOW, |lx| {
            lx.expect_keyword(b"trailer")?;
            lx.skip_ws();
            if lx.peek() != Some(b'<') {
                return Err(ParseErr::Bad(lx.pos, "trailer is not a dictionary".into()));
            }
            match lx.object(0)? {
                Obj::Dict(d) => Ok(d),
                _ => Err(ParseErr::Bad(lx.pos, "trailer is not a dictionary".into())),
            }
        })?;
        let raw = buf[..used].to_vec();
        // Spans in `trailer` refer to `raw`.
        Ok((Section::Table(subs), trailer, raw, false))
    } else {
        // Cross-reference stream: `n g obj << /Type /XRef ... >> stream`.
        let doc = Doc {
            sections: Vec::new(),
            trailer: Dict::default(),
            trailer_raw: Vec::new(),
            startxref: offset,
            newest_is_stream: true,
            info: None,
        };
        let num = with_window(input, offset, FIRST_WINDOW, |lx| {
            let n = lx.uint()?;
            Ok(n)
        })
        .map_err(|_| {
            CodecError::corrupt(
                offset,
                "neither `xref` nor a cross-reference stream object at the startxref offset",
            )
        })?
        .0;
        let num = u32::try_from(num)
            .map_err(|_| CodecError::corrupt(offset, "object number too large"))?;
        let f = doc.fetch_at(input, offset, num)?;
        let Obj::Dict(d) = f.obj else {
            return Err(CodecError::corrupt(
                offset,
                "cross-reference stream is not a dictionary",
            ));
        };
        if !matches!(d.get(b"Type"), Some(Obj::Name(n)) if n == b"XRef") {
            return Err(CodecError::corrupt(
                offset,
                "object at the cross-reference offset is not /Type /XRef",
            ));
        }
        let rows = f
            .stream
            .ok_or_else(|| CodecError::corrupt(offset, "cross-reference stream without data"))?;
        let w = match d.get(b"W") {
            Some(Obj::Array(a)) if a.len() == 3 => {
                let mut w = [0usize; 3];
                for (i, o) in a.iter().enumerate() {
                    match o {
                        Obj::Int(v) if (0..=8).contains(v) => w[i] = *v as usize,
                        _ => {
                            return Err(CodecError::corrupt(
                                offset,
                                "bad /W in a cross-reference stream",
                            ))
                        }
                    }
                }
                w
            }
            _ => {
                return Err(CodecError::corrupt(
                    offset,
                    "cross-reference stream without /W [a b c]",
                ))
            }
        };
        if w[1] == 0 {
            return Err(CodecError::corrupt(
                offset,
                "cross-reference stream with /W field 2 of width 0",
            ));
        }
        let index = match d.get(b"Index") {
            Some(Obj::Array(a)) => {
                if a.len() % 2 != 0 {
                    return Err(CodecError::corrupt(offset, "odd /Index array"));
                }
                a.chunks(2)
                    .map(|p| match (&p[0], &p[1]) {
                        (Obj::Int(f), Obj::Int(c)) if *f >= 0 && *c >= 0 => {
                            Ok((*f as u64, *c as u64))
                        }
                        _ => Err(CodecError::corrupt(offset, "bad /Index entry")),
                    })
                    .collect::<Result<Vec<_>>>()?
            }
            _ => vec![(0, d.int(b"Size").unwrap_or(0).max(0) as u64)],
        };
        let raw = f.buf;
        Ok((Section::Stream { w, index, rows }, d, raw, true))
    }
}
