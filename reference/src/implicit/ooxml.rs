//! Office Open XML (DOCX, XLSX, PPTX and the templates DOTX, XLTX, POTX): the label is the
//! custom document property `AIGC` in `docProps/custom.xml`, fmtid
//! `{D5CDD505-2E9C-101B-9397-08002B2CF9AE}`, value `<vt:lpwstr>` holding the bare JSON (text
//! guide PG-20258A, as reported: digest §3.8).
//!
//! Sniffing: the sniffer sees only 64 bytes, which hold the first local file header and, at
//! byte 30, the first entry's name. Office, LibreOffice, python-docx, pandoc and Python's
//! `zipfile` labellers all write `[Content_Types].xml` (or, rarely, `_rels/`, `docProps/`,
//! `word/`, `xl/`, `ppt/`) first, so `PK\x03\x04` plus such a first name is accepted as OOXML;
//! any other zip is left to the extension list (docx, xlsx, pptx, dotx, xltx, potx, and the
//! macro-enabled variants), so a ZIP that happens to start differently is still handled when
//! it is named like an OOXML file, and other ZIP formats (EPUB, ODF: first entry `mimetype`)
//! are not claimed.
//!
//! Reading: the custom-properties part is found through the package relationship
//! (`_rels/.rels`, type `.../custom-properties`), falling back to `docProps/custom.xml`. Every
//! `property` whose `name` is AIGC (any case, noted) is a label; `vt:lpstr` instead of
//! `vt:lpwstr`, another value type, or another fmtid are noted as non-standard.
//!
//! Writing builds a new archive: every entry is copied raw (its compressed bytes, CRC and
//! sizes, no recompression, streamed), except the custom-properties part, which is updated
//! textually (the first AIGC property replaced, other AIGC properties removed, everything else
//! kept) or created (then `[Content_Types].xml` gets an `Override` and `_rels/.rels` a
//! relationship, both inserted textually). Only those three small XML parts are in memory,
//! each bounded by [`limits::MAX_INFLATED_BYTES`], declared and actual size both checked.

use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;
use zip::read::ZipArchive;
use zip::write::{SimpleFileOptions, ZipWriter};

use super::{xmp::escape, Format, Found};
use crate::error::{CodecError, Result};
use crate::io::{Input, Output};
use crate::label::ProblemCode;
use crate::limits;
use crate::media::{Modality, PayloadMethod};

/// The OOXML family.
pub struct Ooxml;

/// The fmtid of user-defined custom properties.
pub const FMTID: &str = "{D5CDD505-2E9C-101B-9397-08002B2CF9AE}";
const CUSTOM_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties";
const VT_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes";
const REL_TYPE: &str =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties";
const CONTENT_TYPE: &str = "application/vnd.openxmlformats-officedocument.custom-properties+xml";
const DEFAULT_PART: &str = "docProps/custom.xml";
/// Package parts a label may add or change (the custom-properties part and its
/// registrations), left out of the payload comparison.
const METADATA_PARTS: [&str; 4] = [
    DEFAULT_PART,
    "[Content_Types].xml",
    "_rels/.rels",
    "docProps/app.xml",
];

fn zip_err(at: u64) -> impl Fn(zip::result::ZipError) -> CodecError {
    move |e| match e {
        zip::result::ZipError::Io(io) => CodecError::Io(io),
        zip::result::ZipError::UnsupportedArchive(what) => {
            CodecError::Unsupported(format!("zip archive: {what}"))
        }
        other => CodecError::corrupt(at, format!("zip archive: {other}")),
    }
}

/// Open the archive after checking the end-of-central-directory record ourselves, so that an
/// absurd entry count is refused before the zip crate allocates for it.
fn open(input: &mut Input) -> Result<ZipArchive<&mut Input>> {
    let len = input.len();
    let tail_len = len.min(65_557);
    input.seek_to(len - tail_len)?;
    let tail = input.read_vec(tail_len, 65_557, "zip tail")?;
    let eocd = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..].starts_with(b"PK\x05\x06"))
        .ok_or_else(|| {
            CodecError::corrupt(
                len,
                "no zip end-of-central-directory record (truncated archive?)",
            )
        })?;
    let entries = u16::from_le_bytes([tail[eocd + 10], tail[eocd + 11]]) as usize;
    if entries != 0xffff && entries > limits::MAX_ZIP_ENTRIES {
        return Err(CodecError::limit(
            len - tail_len + eocd as u64,
            format!(
                "zip archive with {entries} entries (limit {})",
                limits::MAX_ZIP_ENTRIES
            ),
        ));
    }
    input.seek_to(0)?;
    let archive = ZipArchive::new(input).map_err(zip_err(0))?;
    if archive.len() > limits::MAX_ZIP_ENTRIES {
        return Err(CodecError::limit(
            0,
            format!(
                "zip archive with {} entries (limit {})",
                archive.len(),
                limits::MAX_ZIP_ENTRIES
            ),
        ));
    }
    Ok(archive)
}

/// Read one small part as text, checking the declared and the actual inflated size.
fn read_part<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    name: &str,
) -> Result<Option<(String, u64)>> {
    let Some(index) = archive.index_for_name(name) else {
        return Ok(None);
    };
    let mut file = archive.by_index(index).map_err(zip_err(0))?;
    let at = file.header_start();
    if file.size() > limits::MAX_INFLATED_BYTES {
        return Err(CodecError::limit(
            at,
            format!(
                "zip entry {name} declares {} bytes (limit {})",
                file.size(),
                limits::MAX_INFLATED_BYTES
            ),
        ));
    }
    let mut data = Vec::new();
    (&mut file)
        .take(limits::MAX_INFLATED_BYTES + 1)
        .read_to_end(&mut data)
        .map_err(|e| CodecError::corrupt(at, format!("zip entry {name}: {e}")))?;
    if data.len() as u64 > limits::MAX_INFLATED_BYTES {
        return Err(CodecError::limit(
            at,
            format!(
                "zip entry {name} inflates beyond {} bytes",
                limits::MAX_INFLATED_BYTES
            ),
        ));
    }
    let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&data).to_vec();
    let text = String::from_utf8(data)
        .map_err(|e| CodecError::corrupt(at, format!("zip entry {name} is not UTF-8: {e}")))?;
    Ok(Some((text, at)))
}

/// One attribute of a start tag, unescaped.
fn attr(e: &quick_xml::events::BytesStart, name: &[u8]) -> Option<String> {
    e.attributes()
        .with_checks(false)
        .flatten()
        .find(|a| a.key.as_ref() == name)
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// The target of the custom-properties relationship in `_rels/.rels`, as a part name.
fn custom_target(rels: &str) -> Option<String> {
    let mut reader = NsReader::from_str(rels);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e))
                if e.local_name().as_ref() == b"Relationship"
                    && attr(&e, b"Type").as_deref() == Some(REL_TYPE) =>
            {
                let t = attr(&e, b"Target")?;
                return Some(t.trim_start_matches('/').to_string());
            }
            Ok(Event::Eof) | Err(_) => return None,
            _ => {}
        }
    }
}

/// One `property` element of custom.xml.
struct Property {
    name: String,
    fmtid: Option<String>,
    pid: Option<u32>,
    /// (namespace, local name) of the value element.
    value_type: Option<(String, String)>,
    value: String,
    /// Byte span of the whole element.
    span: (usize, usize),
}

struct CustomXml {
    properties: Vec<Property>,
    /// Offset of the root end tag `</Properties>` (where new properties go).
    root_end: Option<usize>,
    /// Span of an empty root element `<Properties/>`.
    root_empty: Option<(usize, usize, String)>,
    /// Prefix bound to the vt namespace on the root, if any.
    vt_prefix: Option<String>,
    /// Prefix of the root element (`op` for `<op:Properties>`), reused for new properties.
    prefix: Option<String>,
}

fn parse_custom(xml: &str, at: u64) -> Result<CustomXml> {
    let bad = |pos: usize, what: String| {
        CodecError::corrupt(at, format!("custom properties XML byte {pos}: {what}"))
    };
    let mut reader = NsReader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut out = CustomXml {
        properties: Vec::new(),
        root_end: None,
        root_empty: None,
        vt_prefix: None,
        prefix: None,
    };
    let mut depth = 0usize;
    let mut current: Option<Property> = None;
    let mut in_value = false;
    loop {
        let before = reader.buffer_position() as usize;
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| bad(before, e.to_string()))?;
        let ns = match ns {
            ResolveResult::Bound(n) => String::from_utf8_lossy(n.as_ref()).into_owned(),
            _ => String::new(),
        };
        let after = reader.buffer_position() as usize;
        match event {
            Event::DocType(_) => return Err(bad(before, "DOCTYPE refused".into())),
            Event::Start(e) | Event::Empty(e) => {
                let empty = xml.as_bytes().get(after.wrapping_sub(2)) == Some(&b'/');
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if depth == 0 {
                    out.prefix = e
                        .name()
                        .prefix()
                        .map(|p| String::from_utf8_lossy(p.as_ref()).into_owned());
                    for a in e.attributes().with_checks(false).flatten() {
                        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
                        if let Some(p) = key.strip_prefix("xmlns:") {
                            if a.unescape_value().map(|v| v == VT_NS).unwrap_or(false) {
                                out.vt_prefix = Some(p.to_string());
                            }
                        }
                    }
                    if empty {
                        let qname = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                        out.root_empty = Some((before, after, qname));
                    }
                } else if depth == 1 && local == "property" && ns == CUSTOM_NS {
                    let p = Property {
                        name: attr(&e, b"name").unwrap_or_default(),
                        fmtid: attr(&e, b"fmtid"),
                        pid: attr(&e, b"pid").and_then(|p| p.trim().parse().ok()),
                        value_type: None,
                        value: String::new(),
                        span: (before, after),
                    };
                    if empty {
                        out.properties.push(p);
                    } else {
                        current = Some(p);
                    }
                } else if depth == 2 {
                    if let Some(p) = &mut current {
                        if p.value_type.is_none() {
                            p.value_type = Some((ns.clone(), local.clone()));
                            in_value = !empty;
                        }
                    }
                }
                if !empty {
                    depth += 1;
                    if depth > limits::MAX_DEPTH {
                        return Err(bad(before, "elements nested too deeply".into()));
                    }
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 2 {
                    in_value = false;
                }
                if depth == 1 {
                    if let Some(mut p) = current.take() {
                        p.span.1 = after;
                        out.properties.push(p);
                    }
                }
                if depth == 0 {
                    out.root_end = Some(before);
                }
            }
            Event::Text(t) if in_value => {
                if let Some(p) = &mut current {
                    p.value
                        .push_str(&t.decode().map_err(|e| bad(before, e.to_string()))?);
                }
            }
            Event::CData(c) if in_value => {
                if let Some(p) = &mut current {
                    p.value.push_str(&String::from_utf8_lossy(&c.into_inner()));
                }
            }
            Event::GeneralRef(r) if in_value => {
                if let Some(p) = &mut current {
                    let s = match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => match r.as_ref() {
                            b"quot" => "\"".into(),
                            b"amp" => "&".into(),
                            b"lt" => "<".into(),
                            b"gt" => ">".into(),
                            b"apos" => "'".into(),
                            other => {
                                return Err(bad(
                                    before,
                                    format!("unknown entity &{};", String::from_utf8_lossy(other)),
                                ))
                            }
                        },
                    };
                    p.value.push_str(&s);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

fn property_xml(pid: u32, json: &str, vt_prefix: Option<&str>, prefix: Option<&str>) -> String {
    let value = match vt_prefix {
        Some(p) => format!("<{p}:lpwstr>{}</{p}:lpwstr>", escape(json)),
        None => format!(
            "<vt:lpwstr xmlns:vt=\"{VT_NS}\">{}</vt:lpwstr>",
            escape(json)
        ),
    };
    // The element takes the root's prefix (`<op:Properties>` -> `<op:property>`).
    let name = match prefix {
        Some(p) => format!("{p}:property"),
        None => "property".to_string(),
    };
    format!("<{name} fmtid=\"{FMTID}\" pid=\"{pid}\" name=\"AIGC\">{value}</{name}>")
}

/// The custom-properties XML with exactly one AIGC property holding `json`.
fn updated_custom(xml: &str, at: u64, json: &str) -> Result<String> {
    let parsed = parse_custom(xml, at)?;
    let is_aigc = |p: &Property| p.name.eq_ignore_ascii_case("AIGC");
    let max_pid = parsed
        .properties
        .iter()
        .filter_map(|p| p.pid)
        .max()
        .unwrap_or(1);
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    let mut placed = false;
    for p in parsed.properties.iter().filter(|p| is_aigc(p)) {
        if !placed {
            let pid = p.pid.filter(|v| *v >= 2).unwrap_or(max_pid + 1).max(2);
            edits.push((
                p.span.0,
                p.span.1,
                property_xml(
                    pid,
                    json,
                    parsed.vt_prefix.as_deref(),
                    parsed.prefix.as_deref(),
                ),
            ));
            placed = true;
        } else {
            edits.push((p.span.0, p.span.1, String::new()));
        }
    }
    if !placed {
        let pid = (max_pid + 1).max(2);
        let prop = property_xml(
            pid,
            json,
            parsed.vt_prefix.as_deref(),
            parsed.prefix.as_deref(),
        );
        if let Some(end) = parsed.root_end {
            edits.push((end, end, prop));
        } else if let Some((s, e, qname)) = &parsed.root_empty {
            let open = xml[*s..*e]
                .trim_end_matches('>')
                .trim_end_matches('/')
                .trim_end();
            edits.push((*s, *e, format!("{open}>{prop}</{qname}>")));
        } else {
            return Err(CodecError::corrupt(
                at,
                "custom properties XML without a root element",
            ));
        }
    }
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut out = xml.to_string();
    for (s, e, with) in edits {
        out.replace_range(s..e, &with);
    }
    Ok(out)
}

fn new_custom(json: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n<Properties xmlns=\"{CUSTOM_NS}\" xmlns:vt=\"{VT_NS}\">{}</Properties>",
        property_xml(2, json, Some("vt"), None)
    )
}

/// Insert `what` before the end tag of the root element `</{local}>` (any prefix).
fn insert_before_root_end(xml: &str, local: &str, what: &str, part: &str) -> Result<String> {
    let end = xml
        .rfind(&format!("</{local}>"))
        .or_else(|| {
            xml.rfind(&format!(":{local}>"))
                .and_then(|i| xml[..i].rfind("</"))
        })
        .ok_or_else(|| CodecError::corrupt(0, format!("{part}: no </{local}> end tag")))?;
    let mut out = xml.to_string();
    out.insert_str(end, what);
    Ok(out)
}

fn content_types_with_override(xml: &str, part: &str) -> Result<String> {
    let name = format!("/{part}");
    if xml.contains(&format!("PartName=\"{name}\"")) || xml.contains(&format!("PartName='{name}'"))
    {
        return Ok(xml.to_string());
    }
    insert_before_root_end(
        xml,
        "Types",
        &format!("<Override PartName=\"{name}\" ContentType=\"{CONTENT_TYPE}\"/>"),
        "[Content_Types].xml",
    )
}

fn rels_with_custom(xml: &str) -> Result<String> {
    if xml.contains(REL_TYPE) {
        return Ok(xml.to_string());
    }
    let mut n = 1u32;
    while xml.contains(&format!("\"rId{n}\"")) || xml.contains(&format!("'rId{n}'")) {
        n += 1;
    }
    insert_before_root_end(
        xml,
        "Relationships",
        &format!("<Relationship Id=\"rId{n}\" Type=\"{REL_TYPE}\" Target=\"{DEFAULT_PART}\"/>"),
        "_rels/.rels",
    )
}

/// A `Write + Seek` view of an [`Output`] for the zip writer, which only asks where it is: every
/// entry it gets is raw (sizes known), so it never seeks back.
struct AppendOnly<'a>(&'a mut Output);

impl Write for AppendOnly<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl Seek for AppendOnly<'_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let here = self.0.position();
        match pos {
            SeekFrom::Current(0) | SeekFrom::End(0) => Ok(here),
            SeekFrom::Start(p) if p == here => Ok(here),
            _ => Err(io::Error::other("the OOXML writer only appends")),
        }
    }
}

/// The small parts rewritten, compressed into an in-memory zip so they can be raw-copied.
fn compressed_parts(
    parts: &[(&str, &str, SimpleFileOptions)],
) -> Result<ZipArchive<Cursor<Vec<u8>>>> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, text, options) in parts {
        w.start_file(*name, *options).map_err(zip_err(0))?;
        w.write_all(text.as_bytes())?;
    }
    let cursor = w.finish().map_err(zip_err(0))?;
    ZipArchive::new(Cursor::new(cursor.into_inner())).map_err(zip_err(0))
}

impl Format for Ooxml {
    fn id(&self) -> &'static str {
        "ooxml"
    }
    fn modality(&self, _head: &[u8]) -> Modality {
        Modality::Text
    }
    fn payload(&self) -> PayloadMethod {
        PayloadMethod::PackageParts {
            metadata_parts: &METADATA_PARTS,
        }
    }
    fn media_types(&self) -> &'static [&'static str] {
        &[
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.template",
            "application/vnd.openxmlformats-officedocument.presentationml.template",
        ]
    }
    fn extensions(&self) -> &'static [&'static str] {
        &[
            "docx", "xlsx", "pptx", "dotx", "xltx", "potx", "docm", "xlsm", "pptm",
        ]
    }
    fn carrier(&self) -> &'static str {
        "docProps/custom.xml, custom property name=\"AIGC\" (fmtid {D5CDD505-...}), vt:lpwstr"
    }
    fn sniff(&self, head: &[u8]) -> bool {
        if !head.starts_with(b"PK\x03\x04") || head.len() < 31 {
            return false;
        }
        let name = &head[30..];
        [
            &b"[Content_Types].xml"[..],
            b"_rels/",
            b"docProps/",
            b"word/",
            b"xl/",
            b"ppt/",
        ]
        .iter()
        .any(|p| name.starts_with(p))
    }

    fn read(&self, input: &mut Input) -> Result<Vec<Found>> {
        let mut archive = open(input)?;
        let part = read_part(&mut archive, "_rels/.rels")?
            .and_then(|(rels, _)| custom_target(&rels))
            .unwrap_or_else(|| DEFAULT_PART.to_string());
        let Some((xml, at)) = read_part(&mut archive, &part)? else {
            return Ok(Vec::new());
        };
        let parsed = parse_custom(&xml, at)?;
        let mut found = Vec::new();
        for p in parsed.properties {
            if !p.name.eq_ignore_ascii_case("AIGC") {
                continue;
            }
            let mut f = Found::named(format!("ooxml/{part}/{}", p.name), at, p.value);
            if p.name != "AIGC" {
                f = f.note(
                    ProblemCode::KeyCase,
                    format!("property name is {:?}, not \"AIGC\"", p.name),
                );
            }
            match &p.fmtid {
                Some(id) if id.eq_ignore_ascii_case(FMTID) => {}
                other => {
                    f = f.note(
                        ProblemCode::NonstandardCarrier,
                        format!(
                            "property fmtid is {other:?}, not {FMTID} (user-defined properties)"
                        ),
                    )
                }
            }
            match &p.value_type {
                Some((ns, local)) if ns == VT_NS && local == "lpwstr" => {}
                Some((ns, local)) if ns == VT_NS && local == "lpstr" => {
                    f = f.note(
                        ProblemCode::NonstandardCarrier,
                        "value is vt:lpstr; the text guide writes vt:lpwstr",
                    )
                }
                other => {
                    f = f.note(
                        ProblemCode::NonstandardCarrier,
                        format!("value element is {other:?}, not vt:lpwstr"),
                    )
                }
            }
            found.push(f);
        }
        Ok(found)
    }

    fn write(&self, input: &mut Input, out: &mut Output, json: &str) -> Result<()> {
        let mut archive = open(input)?;
        let rels = read_part(&mut archive, "_rels/.rels")?;
        let target = rels.as_ref().and_then(|(r, _)| custom_target(r));
        let part = target.clone().unwrap_or_else(|| DEFAULT_PART.to_string());
        let existing = read_part(&mut archive, &part)?;
        let options =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);

        // The replaced parts, by name.
        let mut replaced: Vec<(String, String)> = Vec::new();
        let creating = existing.is_none();
        if let Some((xml, at)) = &existing {
            replaced.push((part.clone(), updated_custom(xml, *at, json)?));
        }
        // The part must be registered in [Content_Types].xml and _rels/.rels (also when an
        // existing custom.xml was found only by its usual name); unchanged parts stay raw.
        let (ct, _) = read_part(&mut archive, "[Content_Types].xml")?.ok_or_else(|| {
            CodecError::corrupt(0, "no [Content_Types].xml: not an OOXML package")
        })?;
        let ct_new = content_types_with_override(&ct, &part)?;
        if ct_new != ct {
            replaced.push(("[Content_Types].xml".into(), ct_new));
        }
        match &rels {
            Some((r, _)) => {
                let r_new = rels_with_custom(r)?;
                if &r_new != r {
                    replaced.push(("_rels/.rels".into(), r_new));
                }
            }
            None => replaced.push((
                "_rels/.rels".into(),
                format!("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"{REL_TYPE}\" Target=\"{DEFAULT_PART}\"/></Relationships>"),
            )),
        }
        // A rewritten part keeps its entry's attributes (time stamp, permissions); a new part
        // takes the time stamp of [Content_Types].xml.
        let mut opts_for = |name: &str| -> SimpleFileOptions {
            archive
                .by_name(name)
                .map(|f| {
                    f.options()
                        .compression_method(zip::CompressionMethod::Deflated)
                })
                .unwrap_or(options)
        };
        let mut new_parts: Vec<(&str, &str, SimpleFileOptions)> = replaced
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str(), opts_for(n)))
            .collect();
        let custom_text;
        if creating {
            custom_text = new_custom(json);
            let o = opts_for("[Content_Types].xml");
            new_parts.push((DEFAULT_PART, custom_text.as_str(), o));
        }
        let mut small = compressed_parts(&new_parts)?;

        let mut writer = ZipWriter::new(AppendOnly(out));
        writer.set_raw_comment(archive.comment().to_vec().into_boxed_slice());
        let mut rels_written = false;
        for i in 0..archive.len() {
            let file = archive.by_index_raw(i).map_err(zip_err(0))?;
            let name = file.name().to_string();
            if let Some(j) = small.index_for_name(&name) {
                drop(file);
                if name == "_rels/.rels" {
                    rels_written = true;
                }
                let f = small.by_index_raw(j).map_err(zip_err(0))?;
                writer.raw_copy_file(f).map_err(zip_err(0))?;
            } else {
                let at = file.header_start();
                writer.raw_copy_file(file).map_err(zip_err(at))?;
            }
        }
        // Parts that did not exist in the input: the new custom.xml and, for a package without
        // package relationships, `_rels/.rels`.
        for j in 0..small.len() {
            let f = small.by_index_raw(j).map_err(zip_err(0))?;
            let name = f.name().to_string();
            let present = archive.index_for_name(&name).is_some();
            if !present && (name != "_rels/.rels" || !rels_written) {
                writer.raw_copy_file(f).map_err(zip_err(0))?;
            }
        }
        writer.finish().map_err(zip_err(0))?;
        Ok(())
    }
}
