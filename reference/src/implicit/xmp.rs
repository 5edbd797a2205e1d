//! XMP packets: find the TC260 `AIGC` property and set it, namespace-aware.
//!
//! The namespace URI decides, never the prefix: `<x:AIGC xmlns:x="http://www.tc260.org.cn/ns/AIGC/1.0/">`
//! is a label, `<TC260:AIGC xmlns:TC260="http://ns.adobe.com/xap/1.0/tc/">` is reported as a
//! property in the wrong namespace. Element and attribute forms are both read, entity and
//! character references and CDATA are decoded, and anything may precede the `<?xpacket?>`
//! (the real ByteDance packet starts with an XML declaration).
//!
//! Writing splices the packet text: the existing property is replaced in place, other AIGC
//! properties are removed, and everything else in the packet is kept byte for byte (the image
//! guide says to update the TC260 namespace property by property, not to overwrite it).

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use crate::error::CodecError;
use crate::label::{ProblemCode, FIELD_NAMES};
use crate::limits;

/// The TC260 namespace of GB 45438 XMP labels (digest §3.8).
pub const TC260_NS: &str = "http://www.tc260.org.cn/ns/AIGC/1.0/";
const RDF_NS: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// How the property was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `<TC260:AIGC>{...}</TC260:AIGC>`
    Element,
    /// `TC260:AIGC="{...}"` on `rdf:Description`
    Attribute,
}

/// One AIGC property found in a packet.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The decoded value text.
    pub text: String,
    /// Element or attribute form.
    pub form: Form,
    /// The namespace URI the prefix resolved to ("" when unbound).
    pub namespace: String,
    /// True when the namespace is the TC260 one (a trailing-slash difference is tolerated).
    pub namespace_ok: bool,
    /// Byte span of the whole element, or of the attribute, in the packet text.
    span: (usize, usize),
}

impl Hit {
    /// The carrier-level problems of this hit.
    pub fn notes(&self) -> Vec<(ProblemCode, String)> {
        let mut notes = Vec::new();
        if !self.namespace_ok {
            notes.push((
                ProblemCode::XmpWrongNamespace,
                format!(
                    "XMP property AIGC is in namespace {:?}, not {TC260_NS:?}",
                    self.namespace
                ),
            ));
        }
        notes
    }
}

/// Is `uri` the TC260 namespace? A missing or extra trailing slash is tolerated (seen in the wild).
pub fn is_tc260(uri: &str) -> bool {
    uri.trim_end_matches('/') == TC260_NS.trim_end_matches('/')
}

/// Error of the XMP layer: the packet is not well-formed XML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmpError {
    /// Byte offset in the packet.
    pub offset: usize,
    /// What was wrong.
    pub what: String,
}

impl std::fmt::Display for XmpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "XMP packet byte {}: {}", self.offset, self.what)
    }
}

struct Scan {
    hits: Vec<Hit>,
    /// TC260-namespace properties named after Annex E fields (one property per field): name,
    /// value, and the byte span of the element or attribute (so that writing can remove them:
    /// they are a label too, and a file carries one label).
    per_field: Vec<(String, String, (usize, usize))>,
    /// First rdf:Description: (start-tag span, is it an empty element, qualified name).
    description: Option<((usize, usize), bool, String)>,
    /// End of the rdf:RDF start tag.
    rdf_start_end: Option<usize>,
    /// Prefix bound to the TC260 namespace at the first rdf:Description, if any.
    tc260_prefix_in_scope: Option<String>,
    /// Whether the prefix "TC260" is bound to something else at the first rdf:Description.
    tc260_prefix_taken: bool,
}

fn scan(packet: &str) -> Result<Scan, XmpError> {
    let mut reader = NsReader::from_str(packet);
    reader.config_mut().trim_text(false);
    reader.config_mut().check_end_names = true;
    let mut out = Scan {
        hits: Vec::new(),
        per_field: Vec::new(),
        description: None,
        rdf_start_end: None,
        tc260_prefix_in_scope: None,
        tc260_prefix_taken: false,
    };
    // Property element being collected: (start offset, namespace, local name, text, depth).
    let mut open: Option<(usize, String, String, String, usize)> = None;
    let mut depth = 0usize;
    loop {
        let before = reader.buffer_position() as usize;
        let (ns_uri, event) = match reader.read_resolved_event() {
            Ok((ResolveResult::Bound(n), event)) => {
                (String::from_utf8_lossy(n.as_ref()).into_owned(), event)
            }
            Ok((_, event)) => (String::new(), event),
            Err(e) => {
                return Err(XmpError {
                    offset: before,
                    what: e.to_string(),
                })
            }
        };
        let after = reader.buffer_position() as usize;
        match event {
            Event::Start(e) | Event::Empty(e) => {
                let is_empty = after >= 2 && packet.as_bytes()[after - 2] == b'/';
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if !is_empty {
                    depth += 1;
                    if depth > limits::MAX_XML_DEPTH {
                        return Err(XmpError {
                            offset: before,
                            what: "elements nested too deeply".into(),
                        });
                    }
                }
                if let Some((_, _, _, text, _)) = &mut open {
                    // Markup inside the property value: keep its text only.
                    let _ = text;
                    continue;
                }
                if ns_uri == RDF_NS && local == "RDF" && out.rdf_start_end.is_none() {
                    out.rdf_start_end = Some(after);
                }
                if ns_uri == RDF_NS && local == "Description" && out.description.is_none() {
                    let qname = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                    out.description = Some(((before, after), is_empty, qname));
                    for (prefix, uri) in bindings_in_scope(&reader, packet, before, after) {
                        if is_tc260(&uri) && out.tc260_prefix_in_scope.is_none() {
                            out.tc260_prefix_in_scope = Some(prefix.clone());
                        }
                        if prefix == "TC260" && !is_tc260(&uri) {
                            out.tc260_prefix_taken = true;
                        }
                    }
                }
                // Attribute form on any element (normally rdf:Description).
                for attr in e.attributes().with_checks(false).flatten() {
                    let (ans, alocal) = reader.resolver().resolve_attribute(attr.key);
                    let alocal = String::from_utf8_lossy(alocal.as_ref()).into_owned();
                    let auri = match ans {
                        ResolveResult::Bound(n) => String::from_utf8_lossy(n.as_ref()).into_owned(),
                        _ => String::new(),
                    };
                    if auri.is_empty() || auri == XMLNS_NS {
                        continue;
                    }
                    let value = attr
                        .unescape_value()
                        .map(|v| v.into_owned())
                        .map_err(|err| XmpError {
                            offset: before,
                            what: format!("attribute value: {err}"),
                        })?;
                    if alocal.eq_ignore_ascii_case("AIGC") {
                        let qname = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
                        let span = attribute_span(packet, before, after, &qname)
                            .unwrap_or((before, before));
                        out.hits.push(Hit {
                            namespace_ok: is_tc260(&auri),
                            namespace: auri,
                            text: value,
                            form: Form::Attribute,
                            span,
                        });
                    } else if is_tc260(&auri) && FIELD_NAMES.contains(&alocal.as_str()) {
                        let qname = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
                        let span = attribute_span(packet, before, after, &qname)
                            .unwrap_or((before, before));
                        out.per_field.push((alocal, value, span));
                    }
                }
                if local.eq_ignore_ascii_case("AIGC") && !ns_uri.is_empty() && ns_uri != RDF_NS {
                    if is_empty {
                        out.hits.push(Hit {
                            namespace_ok: is_tc260(&ns_uri),
                            namespace: ns_uri,
                            text: String::new(),
                            form: Form::Element,
                            span: (before, after),
                        });
                    } else {
                        open = Some((before, ns_uri, local, String::new(), depth));
                    }
                } else if is_tc260(&ns_uri) && FIELD_NAMES.contains(&local.as_str()) && !is_empty {
                    open = Some((before, ns_uri, local, String::new(), depth));
                }
            }
            Event::End(_) => {
                if let Some((start, ns, local, text, d)) = open.take() {
                    if d == depth {
                        if local.eq_ignore_ascii_case("AIGC") {
                            out.hits.push(Hit {
                                namespace_ok: is_tc260(&ns),
                                namespace: ns,
                                text,
                                form: Form::Element,
                                span: (start, after),
                            });
                        } else {
                            out.per_field.push((local, text, (start, after)));
                        }
                    } else {
                        open = Some((start, ns, local, text, d));
                    }
                }
                depth = depth.saturating_sub(1);
            }
            Event::Text(t) => {
                if let Some((_, _, _, text, _)) = &mut open {
                    let s = t.decode().map_err(|e| XmpError {
                        offset: before,
                        what: e.to_string(),
                    })?;
                    text.push_str(&s);
                }
            }
            Event::CData(c) => {
                if let Some((_, _, _, text, _)) = &mut open {
                    text.push_str(&String::from_utf8_lossy(&c.into_inner()));
                }
            }
            Event::GeneralRef(r) => {
                if let Some((_, _, _, text, _)) = &mut open {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        Ok(None) => {
                            let name = String::from_utf8_lossy(r.as_ref()).into_owned();
                            match name.as_str() {
                                "quot" => "\"".into(),
                                "amp" => "&".into(),
                                "lt" => "<".into(),
                                "gt" => ">".into(),
                                "apos" => "'".into(),
                                other => {
                                    return Err(XmpError {
                                        offset: before,
                                        what: format!("unknown entity &{other}; (XMP allows only the predefined ones)"),
                                    })
                                }
                            }
                        }
                        Err(e) => {
                            return Err(XmpError {
                                offset: before,
                                what: e.to_string(),
                            })
                        }
                    };
                    text.push_str(&resolved);
                }
            }
            Event::DocType(_) => {
                return Err(XmpError {
                    offset: before,
                    what: "DOCTYPE in an XMP packet is refused (entity expansion)".into(),
                })
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

/// Namespace bindings declared on the start tag at `span` (prefix, uri). Only the tag's own
/// declarations plus the ones the reader reports in scope for it.
fn bindings_in_scope(
    reader: &NsReader<&[u8]>,
    packet: &str,
    start: usize,
    end: usize,
) -> Vec<(String, String)> {
    let _ = reader;
    let tag = &packet[start..end];
    let mut out = Vec::new();
    let mut rest = tag;
    while let Some(i) = rest.find("xmlns:") {
        let after = &rest[i + 6..];
        let name_end = after
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(after.len());
        let prefix = after[..name_end].to_string();
        let value_part = &after[name_end..];
        if let Some(q) = value_part.find(['"', '\'']) {
            let quote = value_part.as_bytes()[q] as char;
            if let Some(close) = value_part[q + 1..].find(quote) {
                out.push((prefix, value_part[q + 1..q + 1 + close].to_string()));
                rest = &value_part[q + 1 + close..];
                continue;
            }
        }
        break;
    }
    out
}

/// The byte span of attribute `qname` (with its leading whitespace) inside the start tag at
/// `start..end`.
fn attribute_span(packet: &str, start: usize, end: usize, qname: &str) -> Option<(usize, usize)> {
    let tag = packet.as_bytes();
    let mut i = start + 1;
    // skip the element name
    while i < end && !tag[i].is_ascii_whitespace() && tag[i] != b'>' && tag[i] != b'/' {
        i += 1;
    }
    loop {
        let ws_start = i;
        while i < end && tag[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= end || tag[i] == b'>' || tag[i] == b'/' {
            return None;
        }
        let name_start = i;
        while i < end && tag[i] != b'=' && !tag[i].is_ascii_whitespace() {
            i += 1;
        }
        let name = &packet[name_start..i];
        while i < end && (tag[i].is_ascii_whitespace() || tag[i] == b'=') {
            i += 1;
        }
        if i >= end {
            return None;
        }
        let quote = tag[i];
        if quote != b'"' && quote != b'\'' {
            return None;
        }
        i += 1;
        while i < end && tag[i] != quote {
            i += 1;
        }
        i += 1;
        if name == qname {
            return Some((ws_start, i.min(end)));
        }
    }
}

/// Carrier-level notes attached to one label found in a packet.
pub type Notes = Vec<(ProblemCode, String)>;

/// Turn an [`XmpError`] in a packet stored at byte `at` of the file into a codec error.
pub(crate) fn error_at(at: u64) -> impl Fn(XmpError) -> CodecError {
    move |e| CodecError::corrupt(at, e.to_string())
}

/// Every AIGC property in a packet (its value text and notes), plus a synthesised one when the
/// seven fields are written as separate properties of the TC260 namespace (a real but
/// non-conforming form).
pub fn find_labels(packet: &str) -> Result<Vec<(String, Notes)>, XmpError> {
    let scan = scan(packet)?;
    let mut out: Vec<(String, Notes)> = scan
        .hits
        .iter()
        .map(|h| (h.text.clone(), h.notes()))
        .collect();
    if !scan.per_field.is_empty() {
        let mut obj = serde_json::Map::new();
        for (k, v, _) in &scan.per_field {
            obj.insert(k.clone(), serde_json::Value::String(v.clone()));
        }
        out.push((
            serde_json::Value::Object(obj).to_string(),
            vec![(
                ProblemCode::XmpFieldsAsProperties,
                "the Annex E elements are separate XMP properties of the TC260 namespace, not one JSON value".into(),
            )],
        ));
    }
    Ok(out)
}

/// Escape text for XML content and double-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            other => out.push(other),
        }
    }
    out
}

/// A fresh, minimal XMP packet holding only the label (element form, as ByteDance and ExifTool
/// write it).
pub fn new_packet(json: &str) -> String {
    format!(
        "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\
<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"{RDF_NS}\">\
<rdf:Description rdf:about=\"\" xmlns:TC260=\"{TC260_NS}\"><TC260:AIGC>{}</TC260:AIGC></rdf:Description>\
</rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>",
        escape(json)
    )
}

/// The packet with `n` bytes of whitespace added where XMP puts padding: before the trailer
/// `<?xpacket end=...?>` (XMP Specification Part 1, the packet wrapper), or at the end when
/// there is none (whitespace after the root element). In lines of 100 bytes, as XMP writers
/// commonly pad.
pub fn pad(packet: &str, n: usize) -> String {
    if n == 0 {
        return packet.to_string();
    }
    let at = packet.rfind("<?xpacket end=").unwrap_or(packet.len());
    let mut out = String::with_capacity(packet.len() + n);
    out.push_str(&packet[..at]);
    out.extend((0..n).map(|i| if i % 100 == 0 { '\n' } else { ' ' }));
    out.push_str(&packet[at..]);
    out
}

/// Does the packet hold any AIGC property (right or wrong namespace) or per-field properties?
pub fn has_label(packet: &str) -> bool {
    scan(packet)
        .map(|s| !s.hits.is_empty() || !s.per_field.is_empty())
        .unwrap_or(false)
}

/// Set the label in an existing packet: replace the first TC260 AIGC property in place (keeping
/// its form and prefix), remove every other AIGC property and per-field TC260 properties, and
/// otherwise add a `TC260:AIGC` element to the first `rdf:Description`. Everything else is kept
/// byte for byte. Refused when the result would not read back as exactly this one label.
pub fn set_label(packet: &str, json: &str) -> Result<String, XmpError> {
    // Phase 1: remove every AIGC property except the first one in the TC260 namespace.
    let first = scan(packet)?;
    let keep = first
        .hits
        .iter()
        .position(|h| h.namespace_ok && h.span.1 > h.span.0);
    // Per-field properties are a label too: they go, or the file would carry two.
    let removals = first
        .hits
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != keep)
        .map(|(_, h)| h.span)
        .chain(first.per_field.iter().map(|f| f.2));
    let mut cleaned = splice(packet, deletions(removals));
    // A `TC260` prefix bound to a wrong URI (jiemojiemo) is rebound to the TC260 namespace once
    // nothing uses it any more, so that prefix-based readers (ExifTool's XMP-TC260 group) see
    // the label under its usual name.
    if first.tc260_prefix_taken && !cleaned.contains("<TC260:") && !cleaned.contains(" TC260:") {
        cleaned = rebind_tc260_prefix(&cleaned);
    }
    // Phase 2: replace the kept property in place, or add one.
    let scan = scan(&cleaned)?;
    let mut splices: Vec<(usize, usize, String)> = Vec::new();
    if let Some(hit) = scan
        .hits
        .iter()
        .find(|h| h.namespace_ok && h.span.1 > h.span.0)
    {
        let original = &cleaned[hit.span.0..hit.span.1];
        let replacement = match hit.form {
            Form::Element => {
                let qname = element_qname(original);
                let open_end = original.find('>').map(|p| p + 1).unwrap_or(original.len());
                let open_tag = original[..open_end]
                    .trim_end_matches('>')
                    .trim_end_matches('/');
                format!("{open_tag}>{}</{qname}>", escape(json))
            }
            Form::Attribute => {
                let lead_len = original.len() - original.trim_start().len();
                let qname = original
                    .trim_start()
                    .split('=')
                    .next()
                    .unwrap_or("TC260:AIGC")
                    .trim();
                format!("{}{qname}=\"{}\"", &original[..lead_len], escape(json))
            }
        };
        splices.push((hit.span.0, hit.span.1, replacement));
    } else {
        let (prefix, declare) = match (&scan.tc260_prefix_in_scope, scan.tc260_prefix_taken) {
            (Some(p), _) => (p.clone(), false),
            (None, false) => ("TC260".to_string(), true),
            (None, true) => ("TC260GB".to_string(), true),
        };
        let decl = if declare {
            format!(" xmlns:{prefix}=\"{TC260_NS}\"")
        } else {
            String::new()
        };
        let element = format!("<{prefix}:AIGC>{}</{prefix}:AIGC>", escape(json));
        match &scan.description {
            Some(((_, end), false, _)) => {
                // <rdf:Description ...> : declare on the tag, insert right after it.
                splices.push((end - 1, end - 1, decl));
                splices.push((*end, *end, element));
            }
            Some(((start, end), true, qname)) => {
                // <rdf:Description .../> : open it up.
                let body = cleaned[*start..*end].trim_end_matches('>').trim_end_matches('/').trim_end();
                splices.push((*start, *end, format!("{body}{decl}>{element}</{qname}>")));
            }
            None => match scan.rdf_start_end {
                Some(pos) => splices.push((
                    pos,
                    pos,
                    format!("<rdf:Description rdf:about=\"\" xmlns:rdf=\"{RDF_NS}\" xmlns:{prefix}=\"{TC260_NS}\">{element}</rdf:Description>"),
                )),
                None => return Err(XmpError { offset: 0, what: "no rdf:RDF element to add the label to".into() }),
            },
        }
    }
    let result = splice(&cleaned, splices);
    // A packet malformed in ways the lenient reader tolerates (an unterminated start tag, a
    // property hidden in a processing instruction...) can swallow the inserted property.
    // Writing must never report success for a label that does not read back: check it.
    let check = find_labels(&result)?;
    if check.len() != 1 || check[0].0 != json {
        return Err(XmpError {
            offset: 0,
            what: format!(
                "the packet is malformed in a way that hides the label (it would read back as {} label(s)); refusing to write it",
                check.len()
            ),
        });
    }
    Ok(result)
}

/// Deletions of the non-empty `spans`, keeping only the outermost of nested or overlapping
/// ones: a property can sit inside another (an AIGC attribute on an AIGC element), and
/// splicing both would cut the text at shifted offsets.
fn deletions(spans: impl Iterator<Item = (usize, usize)>) -> Vec<(usize, usize, String)> {
    let mut spans: Vec<(usize, usize)> = spans.filter(|s| s.1 > s.0).collect();
    spans.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut out: Vec<(usize, usize, String)> = Vec::new();
    for (start, end) in spans {
        match out.last() {
            Some(last) if start < last.1 => {} // inside (or across) the previous deletion
            _ => out.push((start, end, String::new())),
        }
    }
    out
}

/// Replace the URI of every `xmlns:TC260` declaration with the TC260 namespace.
fn rebind_tc260_prefix(packet: &str) -> String {
    let mut out = String::with_capacity(packet.len());
    let mut rest = packet;
    while let Some(i) = rest.find("xmlns:TC260=") {
        let after = &rest[i + "xmlns:TC260=".len()..];
        let Some(quote) = after.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            break;
        };
        let Some(close) = after[1..].find(quote) else {
            break;
        };
        out.push_str(&rest[..i]);
        out.push_str(&format!("xmlns:TC260={quote}{TC260_NS}{quote}"));
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    out
}

/// Apply non-overlapping (start, end, replacement) edits.
fn splice(text: &str, mut edits: Vec<(usize, usize, String)>) -> String {
    edits.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
    let mut out = text.to_string();
    for (start, end, with) in edits {
        out.replace_range(start..end, &with);
    }
    out
}

/// Remove every AIGC property from a packet (used when the label moves to another carrier).
pub fn remove_labels(packet: &str) -> Result<String, XmpError> {
    let scan = scan(packet)?;
    let spans = scan.hits.iter().map(|h| h.span);
    Ok(splice(
        packet,
        deletions(spans.chain(scan.per_field.iter().map(|f| f.2))),
    ))
}

fn element_qname(element: &str) -> String {
    element[1..]
        .split(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .next()
        .unwrap_or("TC260:AIGC")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const J: &str = r#"{"Label":"1","ContentProducer":"001191110102MACQD9K64010000","ProduceID":"a","ReservedCode1":"","ContentPropagator":"001191110102MACQD9K64010000","PropagateID":"a","ReservedCode2":""}"#;

    /// The real Doubao packet layout (implementations-in-the-wild #1): XML declaration first,
    /// empty `begin`, doubled `?` before `>`.
    fn doubao_packet() -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><?xpacket begin=\"\" id=\"W5M0MpCehiHzreSzNTczkc9d\"??>\
<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
<rdf:Description rdf:about=\"\" xmlns:TC260=\"http://www.tc260.org.cn/ns/AIGC/1.0/\"><TC260:AIGC>{}</TC260:AIGC>\
</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>",
            escape(J)
        )
    }

    #[test]
    fn reads_element_attribute_and_other_prefixes() {
        let found = find_labels(&doubao_packet()).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, J);
        assert!(found[0].1.is_empty());

        let attr = format!(
            "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"{RDF_NS}\"><rdf:Description rdf:about='' xmlns:aigc='{TC260_NS}' aigc:AIGC='{}'/></rdf:RDF></x:xmpmeta>",
            escape(J)
        );
        let found = find_labels(&attr).unwrap();
        assert_eq!(found[0].0, J);
        assert!(found[0].1.is_empty());
    }

    #[test]
    fn right_prefix_wrong_namespace_is_flagged() {
        // jiemojiemo toolkit (#15): prefix TC260 bound to an Adobe URI.
        let packet = format!(
            "<rdf:RDF xmlns:rdf=\"{RDF_NS}\"><rdf:Description rdf:about=\"\" xmlns:TC260=\"http://ns.adobe.com/xap/1.0/tc/\" TC260:AIGC=\"{}\"/></rdf:RDF>",
            escape(J)
        );
        let found = find_labels(&packet).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1[0].0, ProblemCode::XmpWrongNamespace);
    }

    #[test]
    fn cdata_char_refs_and_raw_quotes_decode() {
        let packet = format!(
            "<rdf:RDF xmlns:rdf=\"{RDF_NS}\"><rdf:Description xmlns:T=\"{TC260_NS}\"><T:AIGC><![CDATA[{J}]]></T:AIGC></rdf:Description></rdf:RDF>"
        );
        assert_eq!(find_labels(&packet).unwrap()[0].0, J);
        let refs = J.replace('"', "&#34;").replace('L', "&#x4C;");
        let packet = format!(
            "<rdf:RDF xmlns:rdf=\"{RDF_NS}\"><rdf:Description xmlns:T=\"{TC260_NS}\"><T:AIGC>{refs}</T:AIGC></rdf:Description></rdf:RDF>"
        );
        assert_eq!(find_labels(&packet).unwrap()[0].0, J);
    }

    #[test]
    fn set_label_replaces_in_place_and_keeps_the_rest() {
        let mut packet = doubao_packet();
        packet = packet.replace("</rdf:Description>", "<dc:format xmlns:dc=\"http://purl.org/dc/elements/1.1/\">image/png</dc:format></rdf:Description>");
        let new_json = J.replace("\"Label\":\"1\"", "\"Label\":\"3\"");
        let updated = set_label(&packet, &new_json).unwrap();
        let found = find_labels(&updated).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, new_json);
        assert!(updated.contains(
            "<dc:format xmlns:dc=\"http://purl.org/dc/elements/1.1/\">image/png</dc:format>"
        ));
        assert!(
            updated.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><?xpacket begin=\"\"")
        );
    }

    #[test]
    fn set_label_adds_to_a_packet_without_one_and_removes_wrong_namespace_copies() {
        let packet = format!(
            "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"{RDF_NS}\"><rdf:Description rdf:about=\"\" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\" xmp:CreatorTool=\"ImageMagick\" xmlns:TC260=\"http://ns.adobe.com/xap/1.0/tc/\" TC260:AIGC=\"x\"/></rdf:RDF></x:xmpmeta>"
        );
        let updated = set_label(&packet, J).unwrap();
        let found = find_labels(&updated).unwrap();
        assert_eq!(found.len(), 1, "{updated}");
        assert_eq!(found[0].0, J);
        assert!(found[0].1.is_empty(), "{updated}");
        assert!(updated.contains("xmp:CreatorTool=\"ImageMagick\""));
        let fresh = new_packet(J);
        assert_eq!(find_labels(&fresh).unwrap()[0].0, J);
    }

    #[test]
    fn per_field_properties_are_recognised() {
        // TrustPic sample generator (#38).
        let packet = format!(
            "<rdf:RDF xmlns:rdf=\"{RDF_NS}\"><rdf:Description xmlns:AIGC=\"{TC260_NS}\"><AIGC:Label>AIGC</AIGC:Label><AIGC:ContentProducer>x</AIGC:ContentProducer></rdf:Description></rdf:RDF>"
        );
        let found = find_labels(&packet).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1[0].0, ProblemCode::XmpFieldsAsProperties);
    }

    #[test]
    fn broken_xml_and_doctype_are_errors() {
        assert!(find_labels("<rdf:RDF><a></b></rdf:RDF>").is_err());
        assert!(find_labels("<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>").is_err());
    }
}
