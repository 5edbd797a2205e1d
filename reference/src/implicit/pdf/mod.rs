//! PDF: the label is the text string `/AIGC` of the document Info dictionary (text guide
//! PG-20258A, as reported: digest §3.8). Also read: the TC260 `AIGC` property of the XMP packet
//! in the catalog's `/Metadata` stream (the guide mentions XMP for PDF only weakly, so it is
//! reported as a non-standard carrier).
//!
//! Only the *current* document is read: the trailer at `startxref` (a classic `trailer` or a
//! cross-reference stream), its `/Info` and `/Root`, objects located through the xref chain
//! (`/Prev`, hybrid `/XRefStm`, object streams). Info dictionaries that an incremental update
//! has superseded stay in the file's bytes but are not the document's metadata any more, so
//! they are not labels.
//!
//! Writing is an incremental update (ISO 32000-1 §7.5.6): the original bytes are an exact
//! prefix of the output. Appended are a new revision of the Info object (same object number
//! when the file had one; its entries copied verbatim as text, `/AIGC` replaced or added), a new
//! revision of the `/Metadata` stream when its XMP held an AIGC property (removed, uncompressed;
//! redefining the stream's own object number keeps the catalog's reference valid, so the
//! catalog itself need not be copied), and a cross-reference section of the file's own kind
//! (classic table + trailer, or an uncompressed xref stream) with `/Prev` to the old one.
//!
//! The lexer and parser are small and bounded: every object is parsed from a window of at most
//! [`limits::MAX_METADATA_BYTES`], nesting is limited by [`limits::MAX_DEPTH`], streams are
//! inflated with a bound of [`limits::MAX_INFLATED_BYTES`], the xref chain by
//! [`limits::MAX_PDF_XREF_SECTIONS`]. Encrypted files are refused (their strings are ciphertext).
//!
//! This module is the object model (lexer, objects, text strings, streams, the xref chain);
//! [`handler`] finds the label's parts in it and implements [`Format`] (read and the
//! incremental-update writer).

mod handler;

use std::collections::HashSet;
use std::io::{Read, Write};

use super::{xmp, Format, Found};
use crate::error::{CodecError, Result};
use crate::io::{Input, Output};
use crate::label::ProblemCode;
use crate::limits;
use crate::media::{Modality, PayloadMethod};

/// How far from the end `startxref` is searched for.
const TAIL_WINDOW: u64 = 4096;
/// First window read to parse one object; doubled up to the metadata limit when too small.
const FIRST_WINDOW: u64 = 16 * 1024;

/// The PDF container.
pub struct Pdf;

// ---------------------------------------------------------------------------------------------
// Objects and the lexer

/// A parsed PDF object. Dictionary entries keep the byte span of `key value` in the buffer they
/// were parsed from, so that unchanged entries can be copied as text.
#[derive(Debug, Clone, PartialEq)]
enum Obj {
    Null,
    Bool(bool),
    Int(i64),
    Real(f64),
    Str(Vec<u8>),
    Name(Vec<u8>),
    Array(Vec<Obj>),
    Dict(Dict),
    Ref(u32, u16),
}

#[derive(Debug, Clone, PartialEq, Default)]
struct Dict {
    entries: Vec<(Vec<u8>, Obj, (usize, usize))>,
}

impl Dict {
    fn get(&self, key: &[u8]) -> Option<&Obj> {
        self.entries
            .iter()
            .find(|(k, _, _)| k.as_slice() == key)
            .map(|(_, v, _)| v)
    }
    fn int(&self, key: &[u8]) -> Option<i64> {
        match self.get(key) {
            Some(Obj::Int(i)) => Some(*i),
            _ => None,
        }
    }
}

/// Why a parse stopped: the window ended (read more and retry) or the bytes are wrong.
enum ParseErr {
    Eof,
    Bad(usize, String),
}

type PResult<T> = std::result::Result<T, ParseErr>;

fn is_ws(b: u8) -> bool {
    matches!(b, 0 | 9 | 10 | 12 | 13 | 32)
}
fn is_delim(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}
fn is_regular(b: u8) -> bool {
    !is_ws(b) && !is_delim(b)
}

/// A cursor over a byte buffer (a window of the file or a decoded object stream).
struct Lexer<'a> {
    buf: &'a [u8],
    pos: usize,
    /// True when `buf` ends before the file does (hitting its end means "read more").
    partial: bool,
}

impl<'a> Lexer<'a> {
    fn new(buf: &'a [u8], pos: usize, partial: bool) -> Self {
        Lexer { buf, pos, partial }
    }

    fn eof<T>(&self, what: &str) -> PResult<T> {
        if self.partial {
            Err(ParseErr::Eof)
        } else {
            Err(ParseErr::Bad(self.pos, format!("data ends inside {what}")))
        }
    }

    fn skip_ws(&mut self) {
        while self.pos < self.buf.len() {
            let b = self.buf[self.pos];
            if is_ws(b) {
                self.pos += 1;
            } else if b == b'%' {
                while self.pos < self.buf.len() && !matches!(self.buf[self.pos], b'\r' | b'\n') {
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    /// A run of regular characters (a number or a keyword).
    fn word(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self.pos < self.buf.len() && is_regular(self.buf[self.pos]) {
            self.pos += 1;
        }
        &self.buf[start..self.pos]
    }

    /// The next keyword or number as text, without consuming it.
    fn peek_word(&mut self) -> &'a [u8] {
        self.skip_ws();
        let save = self.pos;
        let w = self.word();
        self.pos = save;
        w
    }

    fn expect_keyword(&mut self, kw: &[u8]) -> PResult<()> {
        self.skip_ws();
        let at = self.pos;
        let w = self.word();
        if w == kw {
            Ok(())
        } else if self.pos >= self.buf.len() && self.partial {
            Err(ParseErr::Eof)
        } else {
            Err(ParseErr::Bad(
                at,
                format!(
                    "expected `{}`, found `{}`",
                    String::from_utf8_lossy(kw),
                    String::from_utf8_lossy(&w[..w.len().min(40)])
                ),
            ))
        }
    }

    fn uint(&mut self) -> PResult<u64> {
        self.skip_ws();
        let at = self.pos;
        let w = self.word();
        if self.pos >= self.buf.len() && (w.is_empty() || self.partial) {
            // the number may continue beyond the window
            return self.eof("a number");
        }
        parse_uint(w).ok_or_else(|| {
            ParseErr::Bad(
                at,
                format!(
                    "expected an unsigned integer, found `{}`",
                    String::from_utf8_lossy(&w[..w.len().min(40)])
                ),
            )
        })
    }

    fn name(&mut self) -> PResult<Vec<u8>> {
        // at '/'
        self.pos += 1;
        let raw = self.word();
        let mut out = Vec::with_capacity(raw.len());
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == b'#' && i + 2 < raw.len() {
                if let (Some(h), Some(l)) = (hex_val(raw[i + 1]), hex_val(raw[i + 2])) {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
            }
            out.push(raw[i]);
            i += 1;
        }
        Ok(out)
    }

    fn literal_string(&mut self) -> PResult<Vec<u8>> {
        // at '('
        self.pos += 1;
        let mut out = Vec::new();
        let mut depth = 1usize;
        loop {
            let Some(b) = self.peek() else {
                return self.eof("a literal string");
            };
            self.pos += 1;
            match b {
                b'(' => {
                    depth += 1;
                    out.push(b);
                }
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(out);
                    }
                    out.push(b);
                }
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return self.eof("a literal string");
                    };
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'(' | b')' | b'\\' => out.push(e),
                        b'\r' => {
                            // line continuation: backslash-EOL produces nothing
                            if self.peek() == Some(b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        b'0'..=b'7' => {
                            let mut v = (e - b'0') as u32;
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        v = v * 8 + (d - b'0') as u32;
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        other => out.push(other), // unknown escape: the backslash is ignored
                    }
                }
                b'\r' => {
                    // an unescaped EOL in a string is read as \n (ISO 32000-1 §7.3.4.2)
                    if self.peek() == Some(b'\n') {
                        self.pos += 1;
                    }
                    out.push(b'\n');
                }
                _ => out.push(b),
            }
        }
    }

    fn hex_string(&mut self) -> PResult<Vec<u8>> {
        // at '<' (not '<<')
        let start = self.pos;
        self.pos += 1;
        let mut out = Vec::new();
        let mut high: Option<u8> = None;
        loop {
            let Some(b) = self.peek() else {
                return self.eof("a hex string");
            };
            self.pos += 1;
            if b == b'>' {
                if let Some(h) = high {
                    out.push(h << 4);
                }
                return Ok(out);
            }
            if is_ws(b) {
                continue;
            }
            let v = hex_val(b).ok_or_else(|| {
                ParseErr::Bad(
                    self.pos - 1,
                    format!("hex string at {start} holds a non-hex byte {b:#04x}"),
                )
            })?;
            match high.take() {
                Some(h) => out.push(h << 4 | v),
                None => high = Some(v),
            }
        }
    }

    /// Parse one object. `depth` bounds the nesting of arrays and dictionaries.
    fn object(&mut self, depth: usize) -> PResult<Obj> {
        if depth > limits::MAX_DEPTH {
            return Err(ParseErr::Bad(self.pos, "objects nested too deeply".into()));
        }
        self.skip_ws();
        let Some(b) = self.peek() else {
            return self.eof("an object");
        };
        match b {
            b'/' => Ok(Obj::Name(self.name()?)),
            b'(' => Ok(Obj::Str(self.literal_string()?)),
            b'<' => {
                if self.buf.get(self.pos + 1) == Some(&b'<') {
                    Ok(Obj::Dict(self.dict(depth)?))
                } else if self.pos + 1 >= self.buf.len() {
                    self.eof("a string or dictionary")
                } else {
                    Ok(Obj::Str(self.hex_string()?))
                }
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    match self.peek() {
                        None => return self.eof("an array"),
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Obj::Array(items));
                        }
                        _ => {
                            if items.len() >= limits::MAX_ENTRIES {
                                return Err(ParseErr::Bad(self.pos, "array too long".into()));
                            }
                            items.push(self.object(depth + 1)?)
                        }
                    }
                }
            }
            _ if is_regular(b) => {
                let at = self.pos;
                let w = self.word();
                if self.pos >= self.buf.len() && self.partial {
                    return Err(ParseErr::Eof);
                }
                match w {
                    b"true" => Ok(Obj::Bool(true)),
                    b"false" => Ok(Obj::Bool(false)),
                    b"null" => Ok(Obj::Null),
                    _ => {
                        if let Some(n) = parse_uint(w) {
                            // `n g R`?
                            let save = self.pos;
                            self.skip_ws();
                            let g = self.word();
                            if let Some(g) = parse_uint(g) {
                                self.skip_ws();
                                let r = self.word();
                                if r == b"R" && n <= u32::MAX as u64 && g <= u16::MAX as u64 {
                                    return Ok(Obj::Ref(n as u32, g as u16));
                                }
                                if self.pos >= self.buf.len() && self.partial {
                                    return Err(ParseErr::Eof);
                                }
                            } else if self.pos >= self.buf.len() && self.partial {
                                return Err(ParseErr::Eof);
                            }
                            self.pos = save;
                        }
                        let s = std::str::from_utf8(w).unwrap_or("");
                        if let Ok(i) = s.parse::<i64>() {
                            Ok(Obj::Int(i))
                        } else if let Ok(f) = s.parse::<f64>() {
                            Ok(Obj::Real(f))
                        } else {
                            Err(ParseErr::Bad(
                                at,
                                format!(
                                    "unexpected `{}`",
                                    String::from_utf8_lossy(&w[..w.len().min(40)])
                                ),
                            ))
                        }
                    }
                }
            }
            other => Err(ParseErr::Bad(
                self.pos,
                format!("unexpected byte {other:#04x}"),
            )),
        }
    }

    fn dict(&mut self, depth: usize) -> PResult<Dict> {
        self.pos += 2; // <<
        let mut dict = Dict::default();
        loop {
            self.skip_ws();
            let start = self.pos;
            match self.peek() {
                None => return self.eof("a dictionary"),
                Some(b'>') => {
                    if self.buf.get(self.pos + 1) == Some(&b'>') {
                        self.pos += 2;
                        return Ok(dict);
                    }
                    if self.pos + 1 >= self.buf.len() {
                        return self.eof("a dictionary");
                    }
                    return Err(ParseErr::Bad(self.pos, "single `>` in a dictionary".into()));
                }
                Some(b'/') => {
                    let key = self.name()?;
                    let value = self.object(depth + 1)?;
                    if dict.entries.len() >= limits::MAX_ENTRIES {
                        return Err(ParseErr::Bad(start, "dictionary too long".into()));
                    }
                    dict.entries.push((key, value, (start, self.pos)));
                }
                Some(_) => {
                    return Err(ParseErr::Bad(
                        start,
                        "dictionary key is not a name".to_string(),
                    ))
                }
            }
        }
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn parse_uint(w: &[u8]) -> Option<u64> {
    if w.is_empty() || w.len() > 19 || !w.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(w).ok()?.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// Text strings

const PDFDOC_18: [char; 8] = ['˘', 'ˇ', 'ˆ', '˙', '˝', '˛', '˚', '˜'];
const PDFDOC_80: [char; 33] = [
    '•', '†', '‡', '…', '—', '–', 'ƒ', '⁄', '‹', '›', '−', '‰', '„', '“', '”', '‘', '’', '‚', '™',
    'ﬁ', 'ﬂ', 'Ł', 'Œ', 'Š', 'Ÿ', 'Ž', 'ı', 'ł', 'œ', 'š', 'ž', '\u{fffd}', '€',
];

/// Decode a PDF text string: UTF-16BE with a BOM, UTF-8 with a BOM (PDF 2.0), else
/// PDFDocEncoding (Latin-1 with the 0x18–0x1F and 0x80–0xA0 differences).
fn decode_text(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xfe, 0xff]) {
        let units: Vec<u16> = rest
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xef, 0xbb, 0xbf]) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    bytes
        .iter()
        .map(|&b| match b {
            0x18..=0x1f => PDFDOC_18[(b - 0x18) as usize],
            0x80..=0xa0 => PDFDOC_80[(b - 0x80) as usize],
            other => other as char,
        })
        .collect()
}

/// True for bytes without a BOM that are valid UTF-8 and not plain ASCII: a writer that put
/// UTF-8 where PDF expects PDFDocEncoding (PDF 2.0 allows UTF-8 only after EF BB BF).
fn looks_like_bare_utf8(bytes: &[u8]) -> bool {
    !bytes.starts_with(&[0xfe, 0xff])
        && !bytes.starts_with(&[0xef, 0xbb, 0xbf])
        && !bytes.is_ascii()
        && std::str::from_utf8(bytes).is_ok()
}

/// Encode a text string for writing: an escaped literal string when the text is printable
/// ASCII (readable in the file, as pypdf and ExifTool write it), else `<FEFF...>` UTF-16BE.
fn encode_text(text: &str) -> String {
    if text
        .chars()
        .all(|c| (' '..='~').contains(&c) || matches!(c, '\n' | '\r' | '\t'))
    {
        let mut s = String::with_capacity(text.len() + 8);
        s.push('(');
        for c in text.chars() {
            match c {
                '(' => s.push_str("\\("),
                ')' => s.push_str("\\)"),
                '\\' => s.push_str("\\\\"),
                '\n' => s.push_str("\\n"),
                '\r' => s.push_str("\\r"),
                '\t' => s.push_str("\\t"),
                other => s.push(other),
            }
        }
        s.push(')');
        s
    } else {
        let mut s = String::from("<FEFF");
        for u in text.encode_utf16() {
            s.push_str(&format!("{u:04X}"));
        }
        s.push('>');
        s
    }
}

// ---------------------------------------------------------------------------------------------
// The document: xref chain, object lookup

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
struct Doc {
    /// Sections, newest first (hybrid `/XRefStm` right after its table).
    sections: Vec<Section>,
    /// The newest trailer dictionary (classic `trailer` or the xref stream's dictionary).
    trailer: Dict,
    /// Raw text of the newest trailer, for copying `/Root` and `/ID`.
    trailer_raw: Vec<u8>,
    /// `startxref` value (the newest section's offset).
    startxref: u64,
    /// Whether the newest section is an xref stream.
    newest_is_stream: bool,
    /// `/Info` of the newest trailer that has one.
    info: Option<Obj>,
}

/// An object read from the file: its value, the buffer it was parsed from (for raw spans), and
/// the stream data when it is a stream.
struct Fetched {
    obj: Obj,
    buf: Vec<u8>,
    stream: Option<Vec<u8>>,
    offset: u64,
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
    fn open(input: &mut Input) -> Result<Doc> {
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
    fn fetch(&self, input: &mut Input, num: u32) -> Result<Option<Fetched>> {
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
    fn resolve(&self, input: &mut Input, obj: &Obj) -> Result<Option<Fetched>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_string_escapes() {
        let src = b"(a\\(b\\)c\\\\ \\n\\101\\0537 (nested) x\\\r\ny)";
        let mut lx = Lexer::new(src, 0, false);
        let Obj::Str(s) = lx.object(0).ok().unwrap() else {
            panic!()
        };
        assert_eq!(s, b"a(b)c\\ \nA+7 (nested) xy");
    }

    #[test]
    fn text_round_trip() {
        for t in ["{\"Label\":\"1\"}", "a(b)c\\", "中文"] {
            let enc = encode_text(t);
            let mut lx = Lexer::new(enc.as_bytes(), 0, false);
            let Ok(Obj::Str(s)) = lx.object(0) else {
                panic!()
            };
            assert_eq!(decode_text(&s), t);
        }
    }

    #[test]
    fn deep_nesting_is_refused() {
        let src = "[".repeat(1000);
        let mut lx = Lexer::new(src.as_bytes(), 0, false);
        assert!(lx.object(0).is_err());
    }
}
