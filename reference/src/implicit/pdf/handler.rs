//! The PDF label handler: the label-relevant parts of the current document (Info dictionary,
//! catalog `/Metadata` XMP), reading them, and the incremental-update writer. The object model
//! it works on is the parent module's.

use super::*;

/// The Info dictionary: (object ref if indirect, dict, source buffer, offset).
type InfoPart = (Option<(u32, u16)>, Dict, Vec<u8>, u64);
/// The Metadata stream: (object number, generation, dict, source buffer, XMP text, offset).
type MetadataPart = (u32, u16, Dict, Vec<u8>, String, u64);

/// What the label-relevant parts of the document are.
struct Parts {
    /// Info dictionary: (object ref if indirect, dict, source buffer, offset).
    info: Option<InfoPart>,
    /// Metadata stream: (object number, generation, stream dict, source buffer, XMP text, offset).
    metadata: Option<MetadataPart>,
}

fn parts(input: &mut Input, doc: &Doc) -> Result<Parts> {
    let mut parts = Parts {
        info: None,
        metadata: None,
    };
    if let Some(info) = &doc.info {
        let r = match info {
            Obj::Ref(n, g) => Some((*n, *g)),
            _ => None,
        };
        if let Some(f) = doc.resolve(input, info)? {
            if let Obj::Dict(d) = f.obj {
                parts.info = Some((r, d, f.buf, f.offset));
            }
        }
    }
    if let Some(root) = doc.trailer.get(b"Root") {
        if let Some(cat) = doc.resolve(input, root)? {
            if let Obj::Dict(c) = &cat.obj {
                if let Some(Obj::Ref(mn, mg)) = c.get(b"Metadata") {
                    if let Some(m) = doc.fetch(input, *mn)? {
                        if let (Obj::Dict(md), Some(data)) = (&m.obj, m.stream) {
                            let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&data).to_vec();
                            let text = String::from_utf8(data).map_err(|e| {
                                CodecError::corrupt(
                                    m.offset,
                                    format!("XMP metadata stream is not UTF-8: {e}"),
                                )
                            })?;
                            parts.metadata = Some((*mn, *mg, md.clone(), m.buf, text, m.offset));
                        }
                    }
                }
            }
        }
    }
    Ok(parts)
}

impl Format for Pdf {
    fn id(&self) -> &'static str {
        "pdf"
    }
    fn modality(&self, _head: &[u8]) -> Modality {
        Modality::Text
    }
    fn payload(&self) -> PayloadMethod {
        PayloadMethod::RenderedPages
    }
    fn media_types(&self) -> &'static [&'static str] {
        &["application/pdf"]
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["pdf"]
    }
    fn carrier(&self) -> &'static str {
        "document Info dictionary, text string /AIGC (incremental update)"
    }
    fn sniff(&self, head: &[u8]) -> bool {
        // The header may follow a few junk bytes (ISO 32000 readers allow up to 1024).
        head.windows(5).any(|w| w == b"%PDF-")
    }

    fn read(&self, input: &mut Input) -> Result<Vec<Found>> {
        let doc = Doc::open(input)?;
        let parts = parts(input, &doc)?;
        let mut found = Vec::new();
        if let Some((_, dict, buf, offset)) = &parts.info {
            for (key, value, _) in &dict.entries {
                if !key.eq_ignore_ascii_case(b"AIGC") {
                    continue;
                }
                let keyname = String::from_utf8_lossy(key).into_owned();
                let carrier = format!("pdf/Info/{keyname}");
                // A string may also be an indirect object (`/AIGC 12 0 R`), which is valid PDF.
                let resolved = match value {
                    Obj::Ref(n, _) => doc.fetch(input, *n)?.map(|f| f.obj),
                    other => Some(other.clone()),
                };
                let mut f = match resolved {
                    Some(Obj::Str(s)) => {
                        let f = Found::named(carrier, *offset, decode_text(&s));
                        if looks_like_bare_utf8(&s) {
                            f.note(
                                ProblemCode::NonstandardCarrier,
                                "the text string holds UTF-8 bytes without a BOM; PDF readers (and this one) decode it as PDFDocEncoding; write UTF-16BE with the FE FF BOM",
                            )
                        } else {
                            f
                        }
                    }
                    _ => {
                        // Not a text string: report the value's PDF source text.
                        let raw = raw_entry_value(dict, buf, key).unwrap_or_default();
                        Found::named(carrier, *offset, raw).note(
                            ProblemCode::NonstandardCarrier,
                            "the Info entry is not a text string",
                        )
                    }
                };
                if key.as_slice() != b"AIGC" {
                    f = f.note(
                        ProblemCode::KeyCase,
                        format!("Info key is /{keyname}, not /AIGC"),
                    );
                }
                found.push(f);
            }
        }
        if let Some((_, _, _, _, text, offset)) = &parts.metadata {
            for (text, notes) in xmp::find_labels(text).map_err(xmp::error_at(*offset))? {
                let mut f = Found::named("pdf/Metadata/XMP", *offset, text);
                f.notes = notes;
                found.push(f.note(
                    ProblemCode::NonstandardCarrier,
                    "XMP property in the catalog's /Metadata stream; the text guide's PDF carrier is the Info dictionary key /AIGC",
                ));
            }
        }
        found.sort_by_key(|f| f.offset);
        Ok(found)
    }

    fn write(&self, input: &mut Input, out: &mut Output, json: &str) -> Result<()> {
        let doc = Doc::open(input)?;
        let parts = parts(input, &doc)?;
        let size = doc.trailer.int(b"Size").unwrap_or(0);
        let size = u32::try_from(size)
            .ok()
            .filter(|s| *s >= 1 && *s < u32::MAX - 4)
            .ok_or_else(|| {
                CodecError::corrupt(doc.startxref, "missing or bad /Size in the trailer")
            })?;
        let root_raw = raw_entry_value(&doc.trailer, &doc.trailer_raw, b"Root")
            .ok_or_else(|| CodecError::corrupt(doc.startxref, "trailer without /Root"))?;
        let id_raw = raw_entry_value(&doc.trailer, &doc.trailer_raw, b"ID");

        // New Info dictionary: old entries verbatim, minus every AIGC key, plus /AIGC.
        let mut info_text = String::from("<<");
        let (info_num, info_gen) = match &parts.info {
            Some((r, dict, buf, _)) => {
                for (key, _, (s, e)) in &dict.entries {
                    if key.eq_ignore_ascii_case(b"AIGC") {
                        continue;
                    }
                    info_text.push(' ');
                    info_text.push_str(&String::from_utf8_lossy(buf.get(*s..*e).unwrap_or(b"")));
                }
                r.unwrap_or((size, 0))
            }
            None => (size, 0),
        };
        info_text.push_str(" /AIGC ");
        info_text.push_str(&encode_text(json));
        info_text.push_str(" >>");
        if info_num >= u32::MAX - 4 {
            return Err(CodecError::corrupt(
                doc.startxref,
                "Info object number too large",
            ));
        }
        let mut next_free = size.max(info_num + 1);

        // Metadata stream without the AIGC property, when it had one.
        let mut new_meta: Option<(u32, u16, String, String)> = None;
        if let Some((mn, mg, md, buf, text, offset)) = &parts.metadata {
            if xmp::has_label(text) {
                let cleaned = xmp::remove_labels(text).map_err(xmp::error_at(*offset))?;
                let mut dict_text = String::from("<<");
                for (key, _, (s, e)) in &md.entries {
                    if matches!(
                        key.as_slice(),
                        b"Length" | b"Filter" | b"DecodeParms" | b"DL"
                    ) {
                        continue;
                    }
                    dict_text.push(' ');
                    dict_text.push_str(&String::from_utf8_lossy(buf.get(*s..*e).unwrap_or(b"")));
                }
                dict_text.push_str(&format!(" /Length {} >>", cleaned.len()));
                new_meta = Some((*mn, *mg, dict_text, cleaned));
                next_free = next_free.max(mn.saturating_add(1)).min(u32::MAX - 2);
            }
        }

        // The original file, byte for byte.
        input.seek_to(0)?;
        input.copy_to(out, input.len())?;
        input.seek_to(input.len().saturating_sub(1))?;
        let last: [u8; 1] = if input.is_empty() {
            [b'\n']
        } else {
            input.read_array()?
        };
        if !matches!(last[0], b'\n' | b'\r') {
            out.write_all(b"\n")?;
        }

        let mut entries: Vec<(u32, u16, u64)> = Vec::new();
        entries.push((info_num, info_gen, out.position()));
        out.write_all(format!("{info_num} {info_gen} obj\n{info_text}\nendobj\n").as_bytes())?;
        if let Some((mn, mg, dict_text, xmp_text)) = &new_meta {
            entries.push((*mn, *mg, out.position()));
            out.write_all(format!("{mn} {mg} obj\n{dict_text}\nstream\n").as_bytes())?;
            out.write_all(xmp_text.as_bytes())?;
            out.write_all(b"\nendstream\nendobj\n")?;
        }
        let id_part = id_raw.map(|id| format!(" /ID {id}")).unwrap_or_default();

        if doc.newest_is_stream {
            let xref_num = next_free;
            let xref_at = out.position();
            entries.push((xref_num, 0, xref_at));
            entries.sort_by_key(|e| e.0);
            let width = if xref_at < (1 << 32) { 4 } else { 8 };
            let mut rows = Vec::new();
            let mut index = String::new();
            for (n, g, at) in &entries {
                index.push_str(&format!("{n} 1 "));
                rows.push(1u8);
                rows.extend_from_slice(&at.to_be_bytes()[8 - width..]);
                rows.extend_from_slice(&g.to_be_bytes());
            }
            let header = format!(
                "{xref_num} 0 obj\n<< /Type /XRef /Size {} /W [1 {width} 2] /Index [{}] /Root {root_raw} /Info {info_num} {info_gen} R /Prev {}{id_part} /Length {} >>\nstream\n",
                xref_num + 1,
                index.trim_end(),
                doc.startxref,
                rows.len()
            );
            out.write_all(header.as_bytes())?;
            out.write_all(&rows)?;
            out.write_all(b"\nendstream\nendobj\n")?;
            out.write_all(format!("startxref\n{xref_at}\n%%EOF\n").as_bytes())?;
        } else {
            let xref_at = out.position();
            entries.sort_by_key(|e| e.0);
            let mut table = String::from("xref\n");
            for (n, g, at) in &entries {
                table.push_str(&format!("{n} 1\n{at:010} {g:05} n\r\n"));
            }
            table.push_str(&format!(
                "trailer\n<< /Size {next_free} /Root {root_raw} /Info {info_num} {info_gen} R /Prev {}{id_part} >>\nstartxref\n{xref_at}\n%%EOF\n",
                doc.startxref
            ));
            out.write_all(table.as_bytes())?;
        }
        Ok(())
    }
}

/// The raw text of a dictionary entry's value (after the key), from its source buffer.
fn raw_entry_value(dict: &Dict, buf: &[u8], key: &[u8]) -> Option<String> {
    let (_, _, (s, e)) = dict.entries.iter().find(|(k, _, _)| k.as_slice() == key)?;
    let text = buf.get(*s..*e)?;
    // skip "/Key"
    let mut i = 1;
    while i < text.len() && is_regular(text[i]) {
        i += 1;
    }
    Some(String::from_utf8_lossy(&text[i..]).trim().to_string())
}
