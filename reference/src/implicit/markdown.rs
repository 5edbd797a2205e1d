//! Markdown: the label is the mapping `AIGC:` of the YAML front matter at the head of the file
//! (text guide PG-20258A §6.5, as reported: digest §3.8), with the seven Annex E keys as its
//! indented children. Markdown has no magic number: the format is chosen by extension only
//! (`.md`, `.markdown`), and [`Format::sniff`] is always false.
//!
//! Front matter: an optional UTF-8 BOM, a line `---`, YAML lines, and a closing line `---` (or
//! the YAML document end `...`); CRLF line ends are accepted. A file whose first `---` is never
//! closed has no front matter (that is how Jekyll, Hugo and pandoc read it: a thematic break),
//! so it is unlabelled, not an error.
//!
//! Reading parses the front matter with serde-saphyr into `serde_json::Value` and turns the
//! `AIGC` mapping into a JSON object text, keeping key order and value types. Types follow
//! YAML 1.2 (the Core schema), **not** "everything is a string": a quoted `'1'` or `"1"` is a
//! string, an unquoted `1` is the integer 1, and the label then carries a non-string value,
//! which Annex E c) forbids (values are strings) and [`crate::label`] reports as
//! `non-string-value`. Reason: YAML is the carrier's own data model, and every YAML consumer a
//! downstream platform uses (PyYAML, js-yaml, serde) gets an integer from `Label: 1`, so the
//! label they see is not the Annex E one; the guide's own example quotes its values. Two
//! deliberate deviations from the bare Core schema keep identifiers intact: only `true`/`false`
//! are booleans (not YAML 1.1 `yes`/`no`), and digit strings with leading zeros (a ProduceID of
//! 32 zeros) or underscores stay text, as serde_yaml reads them; anything else numeric becomes a
//! JSON number. `AIGC: '{"Label":...}'` (a JSON text inside a YAML string) is accepted too,
//! noted as a non-standard form.
//!
//! Writing replaces the `AIGC` block of the front matter (the top-level `AIGC:` line plus its
//! more-indented lines) and keeps every other line byte for byte; without one it adds the block
//! at the end of the front matter, and without front matter it prepends one. The block is
//! `AIGC:` followed by `  Key: "value"` lines (two-space indent, JSON-quoted values, which are
//! valid YAML double-quoted scalars). The body is copied unchanged.

use std::io::Write;

use serde_json::Value;

use super::{Format, Found};
use crate::error::{CodecError, Result};
use crate::io::{Input, Output};
use crate::label::ProblemCode;
use crate::limits;
use crate::media::{Modality, PayloadMethod};

/// The Markdown format.
pub struct Markdown;

const BOM: &[u8] = b"\xef\xbb\xbf";

/// Where the front matter is in the head of the file.
struct FrontMatter {
    /// Offset of the first YAML line (after the opening `---` line).
    content_start: usize,
    /// Offset of the closing `---` line.
    content_end: usize,
    /// Offset just after the closing line and its line end.
    close_end: usize,
    /// Line end used by the opening line.
    eol: &'static str,
}

/// The end of the line starting at `pos` (index of `\n`, or the length) and the next line start.
/// The text after the front matter (all of it when there is none): what a label must not
/// change. A simple split on the `---` lines, kept apart from the carrier parser on purpose: it
/// is the payload comparison's own, independent reading.
#[cfg(feature = "explicit")]
pub(crate) fn body_after_front_matter(text: &str) -> &str {
    let t = text.trim_start_matches('\u{feff}');
    let Some(rest) = t
        .strip_prefix("---\n")
        .or_else(|| t.strip_prefix("---\r\n"))
    else {
        return t;
    };
    match rest.find("\n---") {
        Some(end) => {
            let after = &rest[end + 4..];
            after.split_once('\n').map(|(_, b)| b).unwrap_or("")
        }
        None => t,
    }
}

/// The front matter's YAML with the top-level `AIGC` key removed, canonical (keys sorted), as
/// JSON text: what else a label must not change (a user's `title:`). `None` without front
/// matter; the raw YAML text when it is not valid YAML (then compared as text).
#[cfg(feature = "explicit")]
pub(crate) fn front_matter_without_aigc(text: &str) -> Option<String> {
    let t = text.trim_start_matches('\u{feff}');
    let rest = t
        .strip_prefix("---\n")
        .or_else(|| t.strip_prefix("---\r\n"))?;
    let yaml = &rest[..rest.find("\n---")? + 1];
    match serde_saphyr::from_str_with_options::<Value>(yaml, yaml_options()) {
        Ok(mut v) => {
            if let Some(m) = v.as_object_mut() {
                m.remove("AIGC");
            }
            Some(canonical_json(&v))
        }
        Err(_) => Some(yaml.to_string()),
    }
}

/// JSON text with object keys sorted at every level.
#[cfg(feature = "explicit")]
fn canonical_json(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::String((*k).clone()), canonical_json(&m[*k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical_json).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

fn line_at(buf: &[u8], pos: usize) -> (usize, usize) {
    match buf[pos..].iter().position(|b| *b == b'\n') {
        Some(i) => (pos + i, pos + i + 1),
        None => (buf.len(), buf.len()),
    }
}

fn is_marker(line: &[u8], marker: &[u8]) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    line.starts_with(marker)
        && line[marker.len()..]
            .iter()
            .all(|b| *b == b' ' || *b == b'\t')
}

/// The BOM, if any, which is all the writer needs from a file without front matter.
fn first_bytes(input: &mut Input) -> Result<Vec<u8>> {
    input.seek_to(0)?;
    let head = input.peek(3)?;
    Ok(if head.starts_with(BOM) {
        head
    } else {
        Vec::new()
    })
}

/// Read the head of the file and find the front matter. `Ok(None)` when there is none.
/// A Markdown file over [`limits::MAX_TEXT_BYTES`] is refused first, as every text path
/// refuses it: a 100 GiB sparse `.md` must stop here, not be copied by `embed`.
fn find(input: &mut Input) -> Result<(Vec<u8>, Option<FrontMatter>)> {
    if input.len() > limits::MAX_TEXT_BYTES {
        return Err(CodecError::limit(
            0,
            format!(
                "a Markdown text of {} bytes exceeds the text limit of {} bytes",
                input.len(),
                limits::MAX_TEXT_BYTES
            ),
        ));
    }
    input.seek_to(0)?;
    // Only a file that starts with the marker is read further (a large Markdown file without
    // front matter costs 7 bytes of reading).
    let first = input.peek(7)?;
    let first = first.strip_prefix(BOM).unwrap_or(&first);
    if !first.starts_with(b"---") {
        return Ok((first_bytes(input)?, None));
    }
    input.seek_to(0)?;
    let take = input.len().min(limits::MAX_METADATA_BYTES);
    let head = input.read_vec(take, limits::MAX_METADATA_BYTES, "Markdown head")?;
    let start = if head.starts_with(BOM) { 3 } else { 0 };
    let (end, next) = line_at(&head, start);
    if !is_marker(&head[start..end], b"---") || end == head.len() {
        return Ok((head, None));
    }
    let eol = if end > start && head[end - 1] == b'\r' {
        "\r\n"
    } else {
        "\n"
    };
    let mut pos = next;
    while pos < head.len() {
        let (end, next) = line_at(&head, pos);
        let line = &head[pos..end];
        if is_marker(line, b"---") || is_marker(line, b"...") {
            let fm = FrontMatter {
                content_start: line_at(&head, start).1,
                content_end: pos,
                close_end: next,
                eol,
            };
            return Ok((head, Some(fm)));
        }
        pos = next;
    }
    if take < input.len() {
        return Err(CodecError::limit(
            start as u64,
            format!(
                "front matter not closed within the first {} bytes",
                limits::MAX_METADATA_BYTES
            ),
        ));
    }
    Ok((head, None))
}

/// The top-level key of a YAML line (`AIGC:` or `"AIGC":` at column 0), if any.
fn top_key(line: &[u8]) -> Option<String> {
    let first = *line.first()?;
    if first == b' ' || first == b'\t' || first == b'#' || first == b'-' {
        return None;
    }
    let text = std::str::from_utf8(line).ok()?;
    let (key, rest) = if let Some(q) = text.strip_prefix('"').or_else(|| text.strip_prefix('\'')) {
        let quote = text.as_bytes()[0] as char;
        let close = q.find(quote)?;
        (&q[..close], &q[close + 1..])
    } else {
        let colon = text.find(':')?;
        (text[..colon].trim_end(), &text[colon..])
    };
    let rest = rest.trim_start();
    if rest.starts_with(':') {
        Some(key.to_string())
    } else {
        None
    }
}

/// Line spans (start, end-after-EOL) of every top-level `AIGC` block (any key case).
fn aigc_blocks(head: &[u8], fm: &FrontMatter) -> Vec<(usize, usize, String)> {
    let mut lines = Vec::new();
    let mut pos = fm.content_start;
    while pos < fm.content_end {
        let (end, next) = line_at(head, pos);
        lines.push((pos, end.min(fm.content_end), next.min(fm.content_end)));
        pos = next;
    }
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let (s, e, _) = lines[i];
        match top_key(&head[s..e]) {
            Some(k) if k.eq_ignore_ascii_case("AIGC") => {
                let mut last = i;
                let mut j = i + 1;
                while j < lines.len() {
                    let (ls, le, _) = lines[j];
                    let line = &head[ls..le];
                    let blank = line.iter().all(|b| b.is_ascii_whitespace());
                    if blank {
                        j += 1;
                        continue;
                    }
                    if line[0] == b' ' || line[0] == b'\t' {
                        last = j;
                        j += 1;
                    } else {
                        break;
                    }
                }
                blocks.push((s, lines[last].2, k));
                i = last + 1;
            }
            _ => i += 1,
        }
    }
    blocks
}

fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
        underscored_numbers_as_strings: true,
    }
}

/// The YAML block for a label: `AIGC:` and one `  Key: "value"` line per member, or
/// `AIGC: "<json text>"` when `json` is not a JSON object.
fn block_for(json: &str, eol: &str) -> String {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(map)) if !map.is_empty() => {
            let mut s = format!("AIGC:{eol}");
            for (k, v) in &map {
                let plain = !k.is_empty()
                    && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && k.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
                let key = if plain {
                    k.clone()
                } else {
                    Value::String(k.clone()).to_string()
                };
                s.push_str(&format!("  {key}: {v}{eol}"));
            }
            s
        }
        _ => format!("AIGC: {}{eol}", Value::String(json.to_string())),
    }
}

/// The rewritten front matter must still be YAML with exactly one top-level AIGC key (a
/// layout the line-based splice does not understand, such as a flow mapping or a `? AIGC`
/// complex key, is refused rather than written broken).
fn check_written(yaml: &[u8], at: usize) -> Result<()> {
    let refused = || {
        CodecError::Unsupported(format!(
            "front matter at byte {at}: its layout is not a block mapping this writer can update"
        ))
    };
    let text = std::str::from_utf8(yaml).map_err(|_| refused())?;
    let value: Value =
        serde_saphyr::from_str_with_options(text, yaml_options()).map_err(|_| refused())?;
    let n = match &value {
        Value::Object(map) => map
            .keys()
            .filter(|k| k.eq_ignore_ascii_case("AIGC"))
            .count(),
        _ => 0,
    };
    if n != 1 {
        return Err(refused());
    }
    Ok(())
}

/// The front matter as a JSON value (YAML typed as the module doc says).
fn parse_front_matter(head: &[u8], fm: &FrontMatter) -> Result<Value> {
    let yaml = std::str::from_utf8(&head[fm.content_start..fm.content_end]).map_err(|e| {
        CodecError::corrupt(
            (fm.content_start + e.valid_up_to()) as u64,
            "front matter is not UTF-8",
        )
    })?;
    serde_saphyr::from_str_with_options(yaml, yaml_options()).map_err(|e| {
        CodecError::corrupt(
            fm.content_start as u64,
            format!("front matter is not valid YAML: {e}"),
        )
    })
}

impl Format for Markdown {
    fn id(&self) -> &'static str {
        "markdown"
    }
    fn modality(&self, _head: &[u8]) -> Modality {
        Modality::Text
    }
    fn payload(&self) -> PayloadMethod {
        PayloadMethod::TextBody
    }
    fn media_types(&self) -> &'static [&'static str] {
        &["text/markdown"]
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["md", "markdown"]
    }
    fn carrier(&self) -> &'static str {
        "YAML front matter, mapping AIGC: with the seven keys as double-quoted strings"
    }
    fn sniff(&self, _head: &[u8]) -> bool {
        false // text has no magic number; the extension decides
    }

    fn read(&self, input: &mut Input) -> Result<Vec<Found>> {
        let (head, fm) = find(input)?;
        let Some(fm) = fm else {
            return Ok(Vec::new());
        };
        let value = parse_front_matter(&head, &fm)?;
        let Value::Object(map) = value else {
            return Ok(Vec::new());
        };
        let blocks = aigc_blocks(&head, &fm);
        let mut found = Vec::new();
        for (key, v) in map {
            if !key.eq_ignore_ascii_case("AIGC") {
                continue;
            }
            let offset = blocks
                .iter()
                .find(|b| b.2 == key)
                .map(|b| b.0)
                .unwrap_or(fm.content_start) as u64;
            let carrier = format!("markdown/front-matter/{key}");
            let mut f = match v {
                Value::String(s) => Found::named(carrier, offset, s).note(
                    ProblemCode::NonstandardCarrier,
                    "AIGC holds a JSON text in a YAML string; the text guide writes a YAML mapping of the seven keys",
                ),
                other => Found::named(carrier, offset, other.to_string()),
            };
            if key != "AIGC" {
                f = f.note(
                    ProblemCode::KeyCase,
                    format!("front matter key is {key:?}, not \"AIGC\""),
                );
            }
            found.push(f);
        }
        Ok(found)
    }

    fn write(&self, input: &mut Input, out: &mut Output, json: &str) -> Result<()> {
        let (head, fm) = find(input)?;
        match fm {
            Some(fm) => {
                // The front matter must be YAML to begin with (the same error as `read`).
                parse_front_matter(&head, &fm)?;
                let block = block_for(json, fm.eol);
                let blocks = aigc_blocks(&head, &fm);
                // The new YAML: the first AIGC block replaced, the others dropped, or the block
                // appended (every YAML line ends with a line end: the closing marker follows).
                let mut yaml = Vec::with_capacity(fm.content_end - fm.content_start + block.len());
                let mut pos = fm.content_start;
                for (i, (s, e, _)) in blocks.iter().enumerate() {
                    yaml.extend_from_slice(&head[pos..*s]);
                    if i == 0 {
                        yaml.extend_from_slice(block.as_bytes());
                    }
                    pos = *e;
                }
                yaml.extend_from_slice(&head[pos..fm.content_end]);
                if blocks.is_empty() {
                    yaml.extend_from_slice(block.as_bytes());
                }
                check_written(&yaml, fm.content_start)?;
                out.write_all(&head[..fm.content_start])?;
                out.write_all(&yaml)?;
                out.write_all(&head[fm.content_end..fm.close_end])?;
                input.seek_to(fm.close_end as u64)?;
                input.copy_to(out, input.len() - fm.close_end as u64)?;
            }
            None => {
                let bom = if head.starts_with(BOM) { 3 } else { 0 };
                out.write_all(&head[..bom])?;
                let block = block_for(json, "\n");
                out.write_all(format!("---\n{block}---\n").as_bytes())?;
                input.seek_to(bom as u64)?;
                input.copy_to(out, input.len() - bom as u64)?;
            }
        }
        Ok(())
    }
}
