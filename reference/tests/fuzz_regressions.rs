//! Every input a fuzz campaign found crashing (or breaking an invariant) stays here as a
//! regression test: `fuzz-regressions/<target>/<name>` replays through the same invariant as
//! the fuzz target `<target>` (see `aigc_label::fuzzing`). The named tests below say what each
//! bug was and pin the fixed behaviour.

use std::path::Path;

use aigc_label::fuzzing::{run_target, LABEL_JSON};
use aigc_label::implicit::{embed_bytes, read_bytes};
use aigc_label::Profile;

fn input(target: &str, name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-regressions")
        .join(target)
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn every_regression_input_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut n = 0;
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap().path();
        let target = dir.file_name().unwrap().to_string_lossy().into_owned();
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            let data = std::fs::read(&file).unwrap();
            let known = std::panic::catch_unwind(|| run_target(&target, &data))
                .unwrap_or_else(|_| panic!("{} fails target {target}", file.display()));
            assert!(known, "no fuzz target named {target}");
            n += 1;
        }
    }
    assert!(n > 0, "no regression inputs found in {}", root.display());
}

/// Writing must fail, or succeed with exactly the label written; never succeed unlabelled.
fn assert_write_refused_or_exact(data: Vec<u8>) {
    if let Ok(out) = embed_bytes(data, LABEL_JSON) {
        let report = read_bytes(out, "out", &Profile::builtin()).expect("output reads back");
        let raws: Vec<&str> = report.labels.iter().map(|l| l.raw.as_str()).collect();
        assert_eq!(raws, [LABEL_JSON]);
    }
}

/// A PNG whose first chunk is not IHDR (`AHDR`): the label used to be inserted after IHDR
/// only, so the write "succeeded" and the output carried no label. Now a clear error.
#[test]
fn png_without_ihdr_is_refused_not_written_unlabelled() {
    let data = input("implicit_write", "png-no-ihdr");
    let err = embed_bytes(data, LABEL_JSON).unwrap_err();
    assert!(err.to_string().contains("IHDR"), "{err}");
}

/// An XMP packet holding the label as per-field TC260 properties (`<AIGC:Label>` ...): the new
/// `TC260:AIGC` was added but the per-field properties stayed, so the file read back with two
/// conflicting labels. They are now removed with the rest of the old label.
#[test]
fn per_field_properties_are_replaced_not_left_beside_the_new_label() {
    let data = input("implicit_write", "png-two-labels");
    let out = embed_bytes(data, LABEL_JSON).expect("writable");
    let report = read_bytes(out, "out", &Profile::builtin()).unwrap();
    assert_eq!(report.labels.len(), 1);
    assert_eq!(report.labels[0].raw, LABEL_JSON);
}

/// GIF XMP packets malformed in ways the lenient XML reader accepts (an unterminated
/// `rdf:Description` start tag running into `<?xpacket end?>`, text after the packet end):
/// the label was spliced where it could not be read back, or split the packet end marker so
/// the re-read packet was cut mid-character. Now refused.
#[test]
fn malformed_gif_packets_are_refused_not_written_unreadable() {
    for name in [
        "gif-set-label-lost-in-broken-packet",
        "gif-output-not-utf8",
        "gif-output-xml-syntax",
    ] {
        assert_write_refused_or_exact(input("implicit_write", name));
    }
}

/// A file whose labels cannot be read (here a JPEG whose Extended XMP is not UTF-8, found by
/// `format_any`; and a GIF with a second, malformed XMP packet) used to be labelled anyway,
/// giving an output the reference itself cannot read. Embedding now refuses it with the read
/// error, which names the byte.
#[test]
fn unreadable_inputs_are_refused_by_embed() {
    let mut jpeg = input("format_any", "jpeg-ext-xmp-not-utf8");
    jpeg.remove(0); // the first byte only selected the format in `format_any`
    for data in [jpeg, input("implicit_write", "gif-output-xml-syntax")] {
        assert!(read_bytes(data.clone(), "in", &Profile::builtin()).is_err());
        let err = embed_bytes(data, LABEL_JSON).unwrap_err();
        assert!(err.to_string().contains("byte"), "{err}");
    }
}

/// JPEG EXIF whose UserComment value points into its own IFD (found by `format_jpeg`): the
/// writer blanked the label text with spaces, overwriting IFD entries, and the output's EXIF
/// no longer parsed. Such a file is now refused for writing (reading it still works).
#[test]
fn exif_label_text_overlapping_its_ifd_is_refused_for_writing() {
    for name in ["exif-label-overlaps-ifd-1", "exif-label-overlaps-ifd-2"] {
        let data = input("format_jpeg", name);
        let jpeg = aigc_label::implicit::format_by_name("jpeg").unwrap();
        let mut out = aigc_label::io::Output::memory();
        let r = jpeg.write(
            &mut aigc_label::io::Input::from_bytes(data),
            &mut out,
            LABEL_JSON,
        );
        let err = r.unwrap_err().to_string();
        assert!(err.contains("overlaps"), "{err}");
    }
}

/// An MP4 whose `moov/udta/meta` `keys` box declares 0 entries above five real ones (one of
/// them `AIGC`), with the five `ilst` items still there (found by `implicit_write`, round 4).
/// The input reads as unlabelled: no key, so no item is a value. The writer appended an AIGC
/// key (index 1) and its item, and the old item 1 became a second AIGC value: the output read
/// back as a conflict of two labels. An item whose index the new key would take is now
/// refused with an error naming its byte.
#[test]
fn mp4_orphan_ilst_item_is_not_taken_over_by_the_new_key() {
    let data = input("implicit_write", "mp4-keys-count-below-entries");
    let report = read_bytes(data.clone(), "in.mp4", &Profile::builtin()).unwrap();
    assert!(report.labels.is_empty(), "{report:#?}");
    assert_write_refused_or_exact(data.clone());
    let err = embed_bytes(data, LABEL_JSON).unwrap_err().to_string();
    assert!(
        err.contains("2246") && err.contains("refers to no key"),
        "{err}"
    );
}

/// An FLV `onMetaData` whose nested object (or ECMA array, typed object) runs to the end of
/// the script tag without its end marker `00 00 09` (found by `format_flv`, 37 inputs): the
/// reader tolerates the missing markers, and the writer appended the `AIGC` property and the
/// end marker after that object, so both were read as part of it and the output carried no
/// label. Such a tag is now refused for writing, with the offset of the open object; an
/// onMetaData array that only lacks its own end marker (left off by some muxers) still gets
/// the label.
#[test]
fn flv_label_is_not_appended_inside_an_unterminated_nested_object() {
    let flv = aigc_label::implicit::format_by_name("flv").unwrap();
    let write = |data: Vec<u8>| {
        let mut out = aigc_label::io::Output::memory();
        flv.write(
            &mut aigc_label::io::Input::from_bytes(data),
            &mut out,
            LABEL_JSON,
        )
        .map(|()| out.into_bytes().unwrap())
    };
    let data = input("format_flv", "flv-nested-object-unterminated");
    let found = flv
        .read(&mut aigc_label::io::Input::from_bytes(data.clone()))
        .expect("reading tolerates the missing end marker");
    assert!(found.is_empty());
    let err = write(data.clone()).unwrap_err().to_string();
    // The object's type marker: FLV header 9 + PreviousTagSize 4 + tag header 11 + 21.
    assert!(err.contains("45") && err.contains("end marker"), "{err}");

    // The same tag with the nested object closed, the ECMA array still open: labelled.
    let mut closed = data[..data.len() - 4].to_vec();
    closed.extend_from_slice(&[0, 0, 9]);
    let size = (closed.len() - 24) as u32;
    closed[14..17].copy_from_slice(&size.to_be_bytes()[1..]);
    closed.extend_from_slice(&(size + 11).to_be_bytes());
    let out = write(closed).expect("writable");
    let found = flv
        .read(&mut aigc_label::io::Input::from_bytes(out))
        .unwrap();
    let texts: Vec<&str> = found.iter().map(|f| f.text.as_str()).collect();
    assert_eq!(texts, [LABEL_JSON]);
}

/// Write `data` with the format `id` directly (as the `format_*` targets do).
fn write_with(id: &str, data: Vec<u8>) -> Result<Vec<u8>, aigc_label::CodecError> {
    let format = aigc_label::implicit::format_by_name(id).unwrap();
    let mut out = aigc_label::io::Output::memory();
    format.write(
        &mut aigc_label::io::Input::from_bytes(data),
        &mut out,
        LABEL_JSON,
    )?;
    Ok(out.into_bytes().expect("memory output"))
}

/// The 32-bit size field of the first box of type `kind` in `data`.
fn size_field(data: &[u8], kind: &[u8; 4]) -> u32 {
    let at = data
        .windows(4)
        .position(|w| w == kind)
        .unwrap_or_else(|| panic!("no {}", String::from_utf8_lossy(kind)));
    u32::from_be_bytes(data[at - 4..at].try_into().unwrap())
}

/// A HEIF whose last `iinf` entry, last `iref` reference and last top-level box have size 0
/// ("to the end of the parent"), as 14 inputs found by `format_heif` had (hand-reduced here).
/// The writer appended the new XMP `infe` after the iinf's raw bytes, so the size-0 entry
/// swallowed it: the write succeeded and the output read back unlabelled. The new `cdsc`
/// reference and the new `mdat` at the end of the file were swallowed the same way. Those
/// boxes now get their real sizes when something is appended after them.
#[test]
fn heif_size_0_last_boxes_do_not_swallow_what_is_appended() {
    let data = input("format_heif", "heif-size-0-last-boxes");
    let out = write_with("heif", data.clone()).expect("writable");
    let report = read_bytes(out.clone(), "out.heic", &Profile::builtin()).unwrap();
    let raws: Vec<&str> = report.labels.iter().map(|l| l.raw.as_str()).collect();
    assert_eq!(raws, [LABEL_JSON]);
    assert_eq!(size_field(&out, b"free"), 8, "the iinf entry");
    assert_eq!(size_field(&out, b"thmb"), 14, "the iref reference");
    assert_eq!(size_field(&out, b"cdsc"), 14);
    // Top level: ftyp, meta, the old mdat with its real size, the new mdat.
    let mut pos = 0usize;
    let mut boxes = Vec::new();
    while pos < out.len() {
        let size = u32::from_be_bytes(out[pos..pos + 4].try_into().unwrap()) as usize;
        assert!(size >= 8, "box of size {size} at {pos}");
        boxes.push((
            String::from_utf8_lossy(&out[pos + 4..pos + 8]).into_owned(),
            pos,
        ));
        pos += size;
    }
    assert_eq!(pos, out.len());
    let kinds: Vec<&str> = boxes.iter().map(|b| b.0.as_str()).collect();
    assert_eq!(kinds, ["ftyp", "meta", "mdat", "mdat"]);
    // The image item (iloc v0, item 1, one extent) still points at the old mdat's body.
    let iloc = out.windows(4).position(|w| w == b"iloc").unwrap() + 4;
    let offset = u32::from_be_bytes(out[iloc + 14..iloc + 18].try_into().unwrap()) as usize;
    assert_eq!(offset, boxes[2].1 + 8);
}

/// A HEIF whose labelled XMP item lies in a `free` box inside `meta` (a construction-method-0
/// extent pointing into meta): the new, shorter label was patched into the input copy of the
/// file, but meta is written from its parsed copy, so the patch was dropped and the output
/// read back with the old label. Such an item is now refused with an error naming its byte.
#[test]
fn heif_xmp_item_inside_meta_is_refused_not_left_with_the_old_label() {
    let data = input("format_heif", "heif-xmp-item-inside-meta");
    let err = write_with("heif", data).unwrap_err().to_string();
    assert!(err.contains("214") && err.contains("meta box"), "{err}");
}

/// An MP4 whose last `ilst` item has size 0 (found by `format_mp4`, hand-reduced here): the
/// new AIGC item appended after it was swallowed, the output read back unlabelled. Items are
/// now copied with their real sizes.
#[test]
fn mp4_ilst_last_item_of_size_0_does_not_swallow_the_new_item() {
    let data = input("format_mp4", "mp4-ilst-last-item-size-0");
    let out = write_with("mp4", data).expect("writable");
    let report = read_bytes(out.clone(), "out.mp4", &Profile::builtin()).unwrap();
    let raws: Vec<&str> = report.labels.iter().map(|l| l.raw.as_str()).collect();
    assert_eq!(raws, [LABEL_JSON]);
    assert_eq!(size_field(&out, &[0, 0, 0, 7]), 25);
}
