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

mod document;
mod handler;

use document::*;

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
