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
