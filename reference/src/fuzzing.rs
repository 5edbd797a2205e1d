//! The invariants the fuzz targets check, shared with the fuzz smoke test and the regression
//! tests so that a crash found by `cargo fuzz` replays through exactly the same code in
//! `cargo test`.
//!
//! Every function takes arbitrary bytes and either returns normally or panics: an error result
//! from the codec is a normal outcome (hostile input refused), a panic is a bug. The functions
//! iterate over [`crate::implicit::FORMATS`], so a format added to the registry is fuzzed
//! without touching this file.

use crate::implicit::xmp;
use crate::implicit::{detect, embed_bytes, read_bytes, Format, FORMATS};
use crate::io::{Input, Output};
use crate::label::{parse_label_text, CarrierKind};
use crate::profile::Profile;

/// The label the write targets embed: canonical, valid, with characters that need XML escaping
/// in neither element nor attribute form (escaping itself is exercised by the label target).
pub const LABEL_JSON: &str = r#"{"Label":"1","ContentProducer":"001191110102MACQD9K64010000","ProduceID":"fuzz-1","ReservedCode1":"","ContentPropagator":"001191110102MACQD9K64010000","PropagateID":"fuzz-1","ReservedCode2":""}"#;

/// Detect the format of `data` and read it (target `implicit_read`). When the content names no
/// format, detection falls back to the file extension: each registered extension is tried, so
/// that path is fuzzed too.
pub fn read_any(data: &[u8]) {
    let profile = Profile::builtin();
    if detect(&mut Input::from_bytes(data.to_vec()), None).is_ok() {
        let _ = read_bytes(data.to_vec(), "input", &profile);
        return;
    }
    for format in FORMATS {
        if let Some(ext) = format.extensions().first() {
            let _ = read_bytes(data.to_vec(), &format!("input.{ext}"), &profile);
        }
    }
}

/// Embed [`LABEL_JSON`] into `data` through format detection; when that succeeds, the output
/// must be detected as the same format and read back with exactly that one label (target
/// `implicit_write`).
pub fn write_any(data: &[u8]) {
    let format = match detect(&mut Input::from_bytes(data.to_vec()), None) {
        Ok(f) => f,
        Err(_) => return,
    };
    let Ok(out) = embed_bytes(data.to_vec(), LABEL_JSON) else {
        return;
    };
    let report = read_bytes(out, "output", &Profile::builtin()).unwrap_or_else(|e| {
        panic!(
            "{}: the labelled output does not read back: {e}",
            format.id()
        )
    });
    assert_eq!(report.format, format.id(), "the output changed format");
    let raws: Vec<&str> = report.labels.iter().map(|l| l.raw.as_str()).collect();
    assert_eq!(
        raws,
        [LABEL_JSON],
        "{}: the output must carry exactly the label written",
        format.id()
    );
}

/// Read and write `data` with one format directly, bypassing sniffing, so that each container
/// parser sees inputs whose magic is wrong too (targets `format_*`). When the input reads (the
/// condition [`crate::implicit::embed_bytes`] puts on writing), a successful write must read
/// back, with the same format, as exactly the label written.
pub fn format_roundtrip(format: &dyn Format, data: &[u8]) {
    let readable = format.read(&mut Input::from_bytes(data.to_vec())).is_ok();
    let mut out = Output::memory();
    let written = format.write(&mut Input::from_bytes(data.to_vec()), &mut out, LABEL_JSON);
    if written.is_err() || !readable {
        return;
    }
    let bytes = out.into_bytes().expect("memory output");
    let found = format
        .read(&mut Input::from_bytes(bytes))
        .unwrap_or_else(|e| {
            panic!(
                "{}: the labelled output does not read back: {e}",
                format.id()
            )
        });
    let texts: Vec<&str> = found.iter().map(|f| f.text.as_str()).collect();
    assert_eq!(
        texts,
        [LABEL_JSON],
        "{}: the output must carry exactly the label written",
        format.id()
    );
}

/// The format a fuzz input selects by its first byte, and the rest of the input: lets one
/// target (`format_any`) reach every registered format, including ones added after the fuzz
/// targets were written.
pub fn pick_format(data: &[u8]) -> Option<(&'static dyn Format, &[u8])> {
    let (&first, rest) = data.split_first()?;
    Some((FORMATS[first as usize % FORMATS.len()], rest))
}

/// Parse arbitrary text as a label value in both carrier kinds; a label that parses must
/// survive its own canonical JSON (target `label_json`).
pub fn label_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let profile = Profile::builtin();
    for kind in [CarrierKind::NamedKey, CarrierKind::Unnamed] {
        let parsed = parse_label_text(text, kind, &profile);
        if let Some(label) = parsed.label {
            let again = parse_label_text(&label.to_bare_json(), CarrierKind::NamedKey, &profile);
            assert_eq!(
                again.label.as_ref(),
                Some(&label),
                "canonical JSON of a parsed label does not parse back to it"
            );
        }
    }
}

/// Find labels in an arbitrary XMP packet and set one; a packet `set_label` accepted must
/// re-parse and hold exactly the label set (target `xmp`).
pub fn xmp_packet(data: &[u8]) {
    let Ok(packet) = std::str::from_utf8(data) else {
        return;
    };
    let _ = xmp::find_labels(packet);
    let _ = xmp::has_label(packet);
    let _ = xmp::remove_labels(packet);
    let Ok(updated) = xmp::set_label(packet, LABEL_JSON) else {
        return;
    };
    let found = xmp::find_labels(&updated)
        .unwrap_or_else(|e| panic!("set_label output does not re-parse: {e}\n{updated}"));
    let texts: Vec<&str> = found.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(texts, [LABEL_JSON], "set_label output:\n{updated}");
}

/// Run the invariant of fuzz target `target` (the name of a `fuzz/fuzz_targets/*.rs` file) on
/// one input, as the smoke and regression tests replay corpora. Targets `format_<id>` work for
/// every registered format id. Returns false for a target name this function does not know.
pub fn run_target(target: &str, data: &[u8]) -> bool {
    match target {
        "implicit_read" => read_any(data),
        "implicit_write" => write_any(data),
        "format_any" => {
            if let Some((format, rest)) = pick_format(data) {
                format_roundtrip(format, rest);
            }
        }
        "label_json" => label_text(data),
        "xmp" => xmp_packet(data),
        other => match other
            .strip_prefix("format_")
            .and_then(crate::implicit::format_by_name)
        {
            Some(format) => format_roundtrip(format, data),
            None => return false,
        },
    }
    true
}
