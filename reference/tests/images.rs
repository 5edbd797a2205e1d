//! JPEG, TIFF and GIF implicit labels: round trips checked with ExifTool and ImageMagick, files
//! written by ExifTool with a TC260 config, hand-built interop traps, and hostile input.
//!
//! Needs `convert`/`compare` (Debian package `imagemagick`) and `exiftool` (Debian package
//! `libimage-exiftool-perl`); a missing tool fails the test with the package name.

use std::path::{Path, PathBuf};
use std::process::Command;

use aigc_label::error::CodecError;
use aigc_label::implicit::{embed_bytes, read_bytes, ReadReport, Verdict};

use aigc_label::{Label, ProblemCode, Profile, Severity};

use crate::common;
use common::{embed, read};

const TC260_NS: &str = "http://www.tc260.org.cn/ns/AIGC/1.0/";

// ---------------------------------------------------------------- helpers

fn run(program: &str, args: &[&str]) -> std::process::Output {
    let package = match program {
        "exiftool" => "libimage-exiftool-perl",
        _ => "imagemagick",
    };
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {program} ({e}): install the Debian package {package}")
        })
}

fn run_ok(program: &str, args: &[&str]) -> String {
    let out = run(program, args);
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// A real image made by ImageMagick (`extra` are options placed before the output name).
fn make_image(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let mut args = vec!["-size", "96x64", "gradient:red-blue"];
    args.extend_from_slice(extra);
    args.push(p(&out));
    run_ok("convert", &args);
    out
}

fn label(n: &str, producer: &str) -> Label {
    Label {
        label: n.into(),
        content_producer: producer.into(),
        produce_id: format!("id-{producer}-{n}"),
        reserved_code1: String::new(),
        content_propagator: producer.into(),
        propagate_id: format!("pid-{n}"),
        reserved_code2: String::new(),
    }
}

fn codes(r: &ReadReport, i: usize) -> Vec<ProblemCode> {
    r.labels[i].problems.iter().map(|p| p.code).collect()
}

/// ExifTool's view of the TC260 property (no config needed to read).
fn exiftool_aigc(path: &Path) -> String {
    run_ok("exiftool", &["-XMP-TC260:AIGC", "-b", p(path)])
}

fn exiftool_config(dir: &Path) -> PathBuf {
    let cfg = dir.join("tc260.config");
    std::fs::write(
        &cfg,
        "%Image::ExifTool::UserDefined = ('Image::ExifTool::XMP::Main' => { TC260 => { SubDirectory => { TagTable => 'Image::ExifTool::UserDefined::TC260' } } });\n\
         %Image::ExifTool::UserDefined::TC260 = (GROUPS => { 0 => 'XMP', 1 => 'XMP-TC260', 2 => 'Image' }, NAMESPACE => { 'TC260' => 'http://www.tc260.org.cn/ns/AIGC/1.0/' }, WRITABLE => 'string', AIGC => { });\n1;\n",
    )
    .unwrap();
    cfg
}

/// Write tags with ExifTool (with the TC260 config) in place.
fn exiftool_write(dir: &Path, file: &Path, tags: &[String]) {
    let cfg = exiftool_config(dir);
    let mut args: Vec<&str> = vec!["-config", p(&cfg), "-overwrite_original"];
    args.extend(tags.iter().map(|s| s.as_str()));
    args.push(p(file));
    run_ok("exiftool", &args);
}

fn assert_pixels_equal(a: &Path, b: &Path) {
    let out = run("compare", &["-metric", "AE", p(a), p(b), "null:"]);
    let metric = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        metric.trim(),
        "0",
        "decoded pixels differ between {a:?} and {b:?}"
    );
}

fn assert_exiftool_validates(path: &Path) {
    let out = run_ok(
        "exiftool",
        &["-validate", "-warning", "-error", "-a", p(path)],
    );
    assert!(!out.contains("Error"), "exiftool reports an error: {out}");
}

/// The bytes from the first SOS of a JPEG to the end (entropy data, EOI, trailing bytes).
fn jpeg_scan(bytes: &[u8]) -> &[u8] {
    let mut i = 2;
    while i + 4 <= bytes.len() {
        assert_eq!(bytes[i], 0xFF, "marker expected at {i}");
        if bytes[i + 1] == 0xDA {
            return &bytes[i..];
        }
        let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
        i += 2 + len;
    }
    panic!("no SOS");
}

/// The JPEG marker sequence before SOS.
fn jpeg_markers(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 2;
    while i + 4 <= bytes.len() && bytes[i + 1] != 0xDA {
        out.push(bytes[i + 1]);
        let len = u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]) as usize;
        i += 2 + len;
    }
    out
}

/// Insert a JPEG segment right after SOI (or after the segment at `after_markers` count).
fn insert_segment(jpeg: &[u8], after_segments: usize, marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut i = 2;
    for _ in 0..after_segments {
        let len = u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]) as usize;
        i += 2 + len;
    }
    let mut out = jpeg[..i].to_vec();
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&jpeg[i..]);
    out
}

/// An `Exif\0\0` APP1 payload (little-endian TIFF) whose Exif IFD holds one UserComment.
fn exif_payload_with_user_comment(comment: &[u8]) -> Vec<u8> {
    let mut t = b"II*\0\x08\0\0\0".to_vec();
    // IFD0 at 8: one entry, ExifIFD pointer -> 26.
    t.extend_from_slice(&1u16.to_le_bytes());
    t.extend_from_slice(&0x8769u16.to_le_bytes());
    t.extend_from_slice(&4u16.to_le_bytes());
    t.extend_from_slice(&1u32.to_le_bytes());
    t.extend_from_slice(&26u32.to_le_bytes());
    t.extend_from_slice(&0u32.to_le_bytes());
    // Exif IFD at 26: UserComment, UNDEFINED, value at 44.
    t.extend_from_slice(&1u16.to_le_bytes());
    t.extend_from_slice(&0x9286u16.to_le_bytes());
    t.extend_from_slice(&7u16.to_le_bytes());
    t.extend_from_slice(&(comment.len() as u32).to_le_bytes());
    t.extend_from_slice(&44u32.to_le_bytes());
    t.extend_from_slice(&0u32.to_le_bytes());
    assert_eq!(t.len(), 44);
    t.extend_from_slice(comment);
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&t);
    payload
}

fn xmp_app1(packet: &str) -> Vec<u8> {
    let mut v = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    v.extend_from_slice(packet.as_bytes());
    v
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
}

fn assert_err_names_offset(result: Result<ReadReport, CodecError>, needle: &str) {
    match result {
        Ok(r) => panic!("expected an error, got verdict {:?}", r.verdict),
        Err(e) => {
            let msg = e.to_string();
            assert!(
                matches!(e, CodecError::Corrupt { .. } | CodecError::Limit { .. }),
                "{msg}"
            );
            assert!(msg.contains("byte"), "message names no offset: {msg}");
            assert!(msg.contains(needle), "{msg:?} does not mention {needle:?}");
        }
    }
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

// ---------------------------------------------------------------- round trips

/// Embed twice into `input` and check each result with the reference and ExifTool; returns the
/// once- and twice-labelled files.
fn round_trip(dir: &Path, input: &Path, ext: &str) -> (PathBuf, PathBuf) {
    let first = label("1", "ProducerA");
    let once = dir.join(format!("once.{ext}"));
    embed(input, &once, &first.to_bare_json());
    let r = read(&once);
    assert_eq!(r.verdict, Verdict::Valid, "{r:#?}");
    assert_eq!(r.labels.len(), 1);
    assert_eq!(r.label(), Some(&first));
    assert_eq!(exiftool_aigc(&once), first.to_bare_json());

    let second = label("2", "ProducerB");
    let twice = dir.join(format!("twice.{ext}"));
    embed(&once, &twice, &second.to_bare_json());
    let r = read(&twice);
    assert_eq!(r.verdict, Verdict::Valid, "{r:#?}");
    assert_eq!(r.labels.len(), 1, "{r:#?}");
    assert_eq!(r.label(), Some(&second));
    assert_eq!(exiftool_aigc(&twice), second.to_bare_json());
    (once, twice)
}

#[test]
fn jpeg_round_trip_keeps_the_scan_data() {
    let dir = tmp();
    let input = make_image(dir.path(), "in.jpg", &[]);
    let (once, twice) = round_trip(dir.path(), &input, "jpg");
    let original = std::fs::read(&input).unwrap();
    for f in [&once, &twice] {
        let bytes = std::fs::read(f).unwrap();
        assert_eq!(
            jpeg_scan(&bytes),
            jpeg_scan(&original),
            "entropy data changed"
        );
        assert_pixels_equal(&input, f);
        assert_exiftool_validates(f);
    }
    // The new APP1 XMP goes after the APP0 JFIF segment.
    let markers = jpeg_markers(&std::fs::read(&once).unwrap());
    assert_eq!(&markers[..2], &[0xE0, 0xE1], "{markers:02x?}");
}

/// Issue 15: a JPEG cut short inside its entropy-coded data (a real baseline and a real
/// progressive one, by ImageMagick) keeps a readable, valid label, and the file gets a
/// `truncated-entropy-data` problem with the profile's non-error severity, naming where it
/// ends; the complete files (EOI present, every scan of the progressive one walked) get none.
#[test]
fn jpeg_truncated_inside_its_scan_data_is_a_warning_not_an_error() {
    let dir = tmp();
    let wanted = label("1", "ProducerA");
    for (name, extra) in [
        ("baseline.jpg", &[][..]),
        ("progressive.jpg", &["-interlace", "JPEG"][..]),
    ] {
        let input = make_image(dir.path(), name, extra);
        let labelled = dir.path().join(format!("labelled-{name}"));
        embed(&input, &labelled, &wanted.to_bare_json());
        let whole = read(&labelled);
        assert_eq!(whole.verdict, Verdict::Valid, "{name}: {whole:#?}");
        assert!(whole.problems.is_empty(), "{name}: {:#?}", whole.problems);

        let bytes = std::fs::read(&labelled).unwrap();
        let scan_start = bytes.len() - jpeg_scan(&bytes).len();
        // Cut in the middle of the image data: after the label, before EOI.
        let cut = scan_start + (bytes.len() - scan_start) / 2;
        let truncated = dir.path().join(format!("truncated-{name}"));
        std::fs::write(&truncated, &bytes[..cut]).unwrap();
        let r = read(&truncated);
        assert_eq!(r.label(), Some(&wanted), "{name}: {r:#?}");
        assert_eq!(r.verdict, Verdict::Valid, "{name}: {r:#?}");
        let cut_short: Vec<_> = r
            .problems
            .iter()
            .filter(|p| p.code == ProblemCode::TruncatedEntropyData)
            .collect();
        assert_eq!(cut_short.len(), 1, "{name}: {:#?}", r.problems);
        assert_ne!(cut_short[0].severity, Severity::Error);
        assert!(
            cut_short[0]
                .message
                .contains(&format!("ends at byte {cut}")),
            "{}",
            cut_short[0].message
        );
        // libjpeg (through ImageMagick) agrees: the cut file is damaged, the whole one is not.
        for (file, damaged) in [(&truncated, true), (&labelled, false)] {
            let o = run("convert", &[p(file), "null:"]);
            let stderr = String::from_utf8_lossy(&o.stderr);
            assert_eq!(
                stderr.contains("Premature end of JPEG file"),
                damaged,
                "{}: {stderr}",
                file.display()
            );
        }
    }
}

/// Issue 15: a label that ExifTool wrote into the EXIF UserComment of a real HEIC (made by
/// ImageMagick with libheif; ExifTool puts EXIF in an `Exif` item) is read; embedding moves the
/// label to XMP and blanks the EXIF one in place, so ExifTool then sees the XMP label, an empty
/// UserComment, and the reference exactly one label.
#[test]
fn heif_exif_item_label_is_read_and_replaced_on_embed() {
    let dir = tmp();
    let heic = make_image(dir.path(), "in.heic", &[]);
    let first = label("1", "ProducerA");
    run_ok(
        "exiftool",
        &[
            "-overwrite_original",
            &format!("-UserComment={}", first.to_bare_json()),
            p(&heic),
        ],
    );
    let r = read(&heic);
    assert_eq!(r.labels.len(), 1, "{r:#?}");
    assert!(
        r.labels[0].carrier.ends_with("EXIF/UserComment"),
        "{}",
        r.labels[0].carrier
    );
    assert_eq!(r.label(), Some(&first));
    assert!(codes(&r, 0).contains(&ProblemCode::NonstandardCarrier));

    let second = label("2", "ProducerB");
    let out = dir.path().join("out.heic");
    embed(&heic, &out, &second.to_bare_json());
    let r = read(&out);
    assert_eq!(r.labels.len(), 1, "{r:#?}");
    assert_eq!(r.label(), Some(&second));
    assert!(r.labels[0].carrier.ends_with("/XMP"), "{r:#?}");
    assert_eq!(exiftool_aigc(&out), second.to_bare_json());
    let comment = run_ok("exiftool", &["-s3", "-UserComment", p(&out)]);
    assert_eq!(comment.trim(), "", "the EXIF label was not blanked");
    // The picture is unchanged (decoded by ImageMagick/libheif).
    assert_pixels_equal(&heic, &out);
}

/// Issue 15: adding the label to a JPEG whose XMP packet (written by ExifTool) already nearly
/// fills its APP1 segment makes a packet over 64 KB, which is split into StandardXMP (with the
/// label) and ExtendedXMP per the XMP specification part 3. ExifTool reads the label and the
/// long description (from the Extended XMP, found by its GUID) back, and validates the file.
#[test]
fn jpeg_xmp_over_64_kb_is_written_as_extended_xmp() {
    let dir = tmp();
    let input = make_image(dir.path(), "in.jpg", &[]);
    let description = "x".repeat(62_500);
    run_ok(
        "exiftool",
        &[
            "-overwrite_original",
            &format!("-XMP-dc:Description={description}"),
            p(&input),
        ],
    );
    let before = std::fs::read(&input).unwrap();
    let packet_len = before
        .windows(XMP_HEADER_BYTES.len())
        .position(|w| w == XMP_HEADER_BYTES)
        .map(|i| u16::from_be_bytes([before[i - 2], before[i - 1]]) as usize)
        .expect("an XMP segment");
    let wanted = label("1", "ProducerA");
    assert!(
        packet_len + wanted.to_bare_json().len() > 65_535,
        "the label must not fit: {packet_len}"
    );

    let out = dir.path().join("out.jpg");
    embed(&input, &out, &wanted.to_bare_json());
    let r = read(&out);
    assert_eq!(r.verdict, Verdict::Valid, "{r:#?}");
    assert_eq!(r.labels.len(), 1, "{r:#?}");
    assert_eq!(r.label(), Some(&wanted));
    // Two or more APP1 segments now carry the XMP: the standard one and the extension.
    let bytes = std::fs::read(&out).unwrap();
    let extension = b"http://ns.adobe.com/xmp/extension/\0";
    assert!(bytes.windows(extension.len()).any(|w| w == extension));
    assert_eq!(exiftool_aigc(&out), wanted.to_bare_json());
    let read_back = run_ok("exiftool", &["-b", "-XMP-dc:Description", p(&out)]);
    assert_eq!(read_back, description, "the rest of the XMP was lost");
    assert_exiftool_validates(&out);
    assert_pixels_equal(&input, &out);
}

const XMP_HEADER_BYTES: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";

#[test]
fn tiff_round_trip_little_and_big_endian_moves_no_data() {
    for (name, extra) in [
        ("ii.tif", &[][..]),
        ("mm.tif", &["-define", "tiff:endian=msb"][..]),
    ] {
        let dir = tmp();
        let input = make_image(dir.path(), name, extra);
        let original = std::fs::read(&input).unwrap();
        let expected_bom: &[u8] = if name == "mm.tif" { b"MM" } else { b"II" };
        assert_eq!(&original[..2], expected_bom);
        let (once, _twice) = round_trip(dir.path(), &input, "tif");
        let bytes = std::fs::read(&once).unwrap();
        // Appended, not inserted: everything but the IFD0 offset is where it was.
        assert_eq!(&bytes[..4], &original[..4]);
        assert_eq!(&bytes[8..original.len()], &original[8..]);
        for f in [&once, &_twice] {
            assert_pixels_equal(&input, f);
            assert_exiftool_validates(f);
        }
    }
}

#[test]
fn gif_round_trip_inserts_one_extension_and_copies_the_frames() {
    let dir = tmp();
    let input = dir.path().join("anim.gif");
    run_ok(
        "convert",
        &[
            "-size",
            "40x30",
            "gradient:red-blue",
            "gradient:green-yellow",
            "-loop",
            "0",
            p(&input),
        ],
    );
    let (once, twice) = round_trip(dir.path(), &input, "gif");
    let original = std::fs::read(&input).unwrap();
    let bytes = std::fs::read(&once).unwrap();
    // Output = header + GCT, the XMP extension (ending in the 258-byte magic trailer), the rest.
    let ext = bytes
        .windows(14)
        .position(|w| w == b"\x21\xff\x0bXMP DataXMP")
        .expect("XMP extension");
    let mut trailer = vec![1u8];
    trailer.extend((0..=255u8).rev());
    trailer.push(0);
    let ext_end = bytes[ext..]
        .windows(trailer.len())
        .position(|w| w == trailer.as_slice())
        .expect("magic trailer")
        + ext
        + trailer.len();
    assert_eq!(&bytes[..6], b"GIF89a");
    assert_eq!(&bytes[6..ext], &original[6..ext]);
    assert_eq!(&bytes[ext_end..], &original[ext..]);
    for f in [&once, &twice] {
        assert_exiftool_validates(f);
        for frame in ["[0]", "[1]"] {
            let a = PathBuf::from(format!("{}{frame}", p(&input)));
            let b = PathBuf::from(format!("{}{frame}", p(f)));
            assert_pixels_equal(&a, &b);
        }
    }
}

#[test]
fn xmp_too_large_for_one_app1_segment_is_refused() {
    let dir = tmp();
    let input = make_image(dir.path(), "in.jpg", &[]);
    let big = format!(
        "{{\"Label\":\"1\",\"ProduceID\":\"{}\"}}",
        "x".repeat(70_000)
    );
    let err = embed_bytes(std::fs::read(&input).unwrap(), &big).unwrap_err();
    assert!(matches!(err, CodecError::Unsupported(_)), "{err}");
    assert!(err.to_string().contains("APP1"), "{err}");
}

// ---------------------------------------------------------------- files written by ExifTool

#[test]
fn exiftool_written_xmp_is_read_and_replaced_in_place() {
    for ext in ["jpg", "tif", "gif"] {
        let dir = tmp();
        let file = make_image(dir.path(), &format!("in.{ext}"), &[]);
        let l = label("3", "ExifToolCo");
        exiftool_write(
            dir.path(),
            &file,
            &[
                format!("-XMP-TC260:AIGC={}", l.to_bare_json()),
                "-XMP-dc:Title=A cat".into(),
            ],
        );
        let r = read(&file);
        assert_eq!(r.verdict, Verdict::Valid, "{ext}: {r:#?}");
        assert_eq!(r.label(), Some(&l));
        let expected_carrier = match ext {
            "jpg" => "jpeg/APP1/XMP",
            "tif" => "tiff/IFD0/XMLPacket",
            _ => "gif/XMP-DataXMP",
        };
        assert_eq!(r.labels[0].carrier, expected_carrier);

        let out = dir.path().join(format!("out.{ext}"));
        let new = label("1", "Reference");
        embed(&file, &out, &new.to_bare_json());
        let r = read(&out);
        assert_eq!(r.labels.len(), 1, "{ext}: {r:#?}");
        assert_eq!(r.label(), Some(&new));
        assert_eq!(exiftool_aigc(&out), new.to_bare_json());
        // The other XMP property ExifTool wrote is kept.
        assert_eq!(
            run_ok("exiftool", &["-XMP-dc:Title", "-b", p(&out)]),
            "A cat",
            "{ext}"
        );
        assert_pixels_equal(&file, &out);
        assert_exiftool_validates(&out);
    }
}

#[test]
fn exiftool_user_comment_label_is_read_then_blanked_on_embed() {
    for ext in ["jpg", "tif"] {
        let dir = tmp();
        let file = make_image(dir.path(), &format!("in.{ext}"), &[]);
        let l = label("1", "Tencent");
        exiftool_write(
            dir.path(),
            &file,
            &[
                format!("-UserComment={}", l.to_wrapped_json()),
                "-Artist=Someone".into(),
            ],
        );
        let r = read(&file);
        assert_eq!(r.verdict, Verdict::Valid, "{ext}: {r:#?}");
        assert_eq!(r.labels.len(), 1);
        let prefix = if ext == "jpg" { "jpeg/APP1" } else { "tiff" };
        assert_eq!(r.labels[0].carrier, format!("{prefix}/EXIF/UserComment"));
        assert_eq!(r.label(), Some(&l));
        let c = codes(&r, 0);
        assert!(c.contains(&ProblemCode::NonstandardCarrier), "{c:?}");
        assert!(!c.contains(&ProblemCode::BareInUnnamedCarrier), "{c:?}");
        assert!(!c.contains(&ProblemCode::ExifCharset), "{c:?}");

        let out = dir.path().join(format!("out.{ext}"));
        let new = label("2", "Reference");
        embed(&file, &out, &new.to_bare_json());
        let r = read(&out);
        assert_eq!(r.labels.len(), 1, "{ext}: {r:#?}");
        assert!(
            r.labels[0].carrier.ends_with("XMP") || r.labels[0].carrier.ends_with("XMLPacket"),
            "{r:#?}"
        );
        assert_eq!(r.label(), Some(&new));
        assert_eq!(exiftool_aigc(&out), new.to_bare_json());
        let comment = run_ok("exiftool", &["-UserComment", "-b", p(&out)]);
        assert_eq!(comment.trim(), "", "UserComment not blanked: {comment:?}");
        assert_eq!(run_ok("exiftool", &["-Artist", "-b", p(&out)]), "Someone");
        assert_pixels_equal(&file, &out);
        assert_exiftool_validates(&out);
    }
}

#[test]
fn xmp_and_user_comment_identical_is_a_duplicate_different_is_a_conflict() {
    let dir = tmp();
    let base = make_image(dir.path(), "in.jpg", &[]);
    let l = label("1", "Same");
    let same = dir.path().join("same.jpg");
    std::fs::copy(&base, &same).unwrap();
    exiftool_write(
        dir.path(),
        &same,
        &[
            format!("-XMP-TC260:AIGC={}", l.to_bare_json()),
            format!("-UserComment={}", l.to_wrapped_json()),
        ],
    );
    let r = read(&same);
    assert_eq!(r.labels.len(), 2, "{r:#?}");
    // 6.1 c) keeps only one copy: the profile grades identical copies an error (issue 18).
    assert_eq!(r.verdict, Verdict::Invalid, "{r:#?}");
    let dup = r
        .problems
        .iter()
        .find(|p| p.code == ProblemCode::DuplicateLabel)
        .expect("duplicate-label");
    assert_eq!(dup.severity, Severity::Error);

    let other = label("2", "Other");
    let diff = dir.path().join("diff.jpg");
    std::fs::copy(&base, &diff).unwrap();
    exiftool_write(
        dir.path(),
        &diff,
        &[
            format!("-XMP-TC260:AIGC={}", l.to_bare_json()),
            format!("-UserComment={}", other.to_wrapped_json()),
        ],
    );
    let r = read(&diff);
    assert_eq!(r.verdict, Verdict::Conflict, "{r:#?}");
    assert!(r
        .problems
        .iter()
        .any(|p| p.code == ProblemCode::ConflictingLabels));
    // Embedding resolves the conflict: one label.
    let out = dir.path().join("out.jpg");
    embed(&diff, &out, &other.to_bare_json());
    let r = read(&out);
    assert_eq!(r.verdict, Verdict::Valid, "{r:#?}");
    assert_eq!(r.labels.len(), 1);
}

#[test]
fn exiftool_extended_xmp_label_is_reassembled_and_rewrite_is_refused() {
    // A label too large for one APP1 segment: ExifTool moves it to Extended XMP chunks.
    let dir = tmp();
    let file = make_image(dir.path(), "in.jpg", &[]);
    let mut l = label("1", "Big");
    l.reserved_code2 = "z".repeat(70_000);
    exiftool_write(
        dir.path(),
        &file,
        &[format!("-XMP-TC260:AIGC={}", l.to_bare_json())],
    );
    let r = read(&file);
    assert_eq!(
        r.labels.len(),
        1,
        "{:?}",
        r.labels.iter().map(|l| &l.carrier).collect::<Vec<_>>()
    );
    assert_eq!(r.labels[0].carrier, "jpeg/APP1/ExtendedXMP");
    assert_eq!(r.label(), Some(&l));
    let err = embed_bytes(
        std::fs::read(&file).unwrap(),
        &label("1", "X").to_bare_json(),
    )
    .unwrap_err();
    assert!(matches!(err, CodecError::Unsupported(_)), "{err}");
    assert!(err.to_string().contains("Extended XMP"), "{err}");
}

// ---------------------------------------------------------------- hand-built traps

#[test]
fn user_comment_without_character_code_is_read_with_a_charset_note() {
    let dir = tmp();
    let jpeg = std::fs::read(make_image(dir.path(), "in.jpg", &[])).unwrap();
    let l = label("1", "felix");
    let bytes = insert_segment(
        &jpeg,
        1,
        0xE1,
        &exif_payload_with_user_comment(l.to_wrapped_json().as_bytes()),
    );
    let r = read_bytes(bytes.clone(), "x.jpg", &Profile::builtin()).unwrap();
    assert_eq!(r.labels.len(), 1, "{r:#?}");
    assert_eq!(r.label(), Some(&l));
    assert!(codes(&r, 0).contains(&ProblemCode::ExifCharset));
    // ExifTool reads the same text.
    let f = dir.path().join("nohdr.jpg");
    std::fs::write(&f, &bytes).unwrap();
    assert_eq!(
        run_ok("exiftool", &["-UserComment", "-b", p(&f)]).trim(),
        l.to_wrapped_json()
    );
    // Writing blanks it (ASCII code + spaces, same length) and EXIF stays readable.
    let out = embed_bytes(bytes.clone(), &l.to_bare_json()).unwrap();
    let r = read_bytes(out.clone(), "x.jpg", &Profile::builtin()).unwrap();
    assert_eq!(r.labels.len(), 1);
    assert_eq!(r.labels[0].carrier, "jpeg/APP1/XMP");
    let blank = format!("ASCII\0\0\0{}", " ".repeat(l.to_wrapped_json().len() - 8));
    assert!(out.windows(blank.len()).any(|w| w == blank.as_bytes()));
}

#[test]
fn unicode_user_comment_is_decoded_in_the_tiff_byte_order() {
    let dir = tmp();
    let jpeg = std::fs::read(make_image(dir.path(), "in.jpg", &[])).unwrap();
    let l = label("1", "Huawei");
    let mut comment = b"UNICODE\0".to_vec();
    for u in l.to_wrapped_json().encode_utf16() {
        comment.extend_from_slice(&u.to_le_bytes());
    }
    let bytes = insert_segment(&jpeg, 1, 0xE1, &exif_payload_with_user_comment(&comment));
    let r = read_bytes(bytes, "x.jpg", &Profile::builtin()).unwrap();
    assert_eq!(r.label(), Some(&l), "{r:#?}");
    assert!(!codes(&r, 0).contains(&ProblemCode::ExifCharset));
}

#[test]
fn app11_aigc_before_app0_is_read_and_dropped_on_embed() {
    let dir = tmp();
    let jpeg = std::fs::read(make_image(dir.path(), "in.jpg", &[])).unwrap();
    let l = label("1", "npm");
    let mut payload = b"AIGC".to_vec();
    payload.extend_from_slice(l.to_bare_json().as_bytes());
    let bytes = insert_segment(&jpeg, 0, 0xEB, &payload);
    assert_eq!(jpeg_markers(&bytes)[0], 0xEB);
    let r = read_bytes(bytes.clone(), "x.jpg", &Profile::builtin()).unwrap();
    assert_eq!(r.verdict, Verdict::Valid, "{r:#?}");
    assert_eq!(r.labels[0].carrier, "jpeg/APP11/AIGC");
    assert!(codes(&r, 0).contains(&ProblemCode::NonstandardCarrier));

    let out = embed_bytes(bytes, &l.to_bare_json()).unwrap();
    let markers = jpeg_markers(&out);
    assert!(!markers.contains(&0xEB), "{markers:02x?}");
    assert_eq!(&markers[..2], &[0xE0, 0xE1], "{markers:02x?}");
    let r = read_bytes(out.clone(), "x.jpg", &Profile::builtin()).unwrap();
    assert_eq!(r.labels.len(), 1);
    assert_eq!(r.labels[0].carrier, "jpeg/APP1/XMP");
    assert_eq!(jpeg_scan(&out), jpeg_scan(&jpeg));
}

#[test]
fn aigc_blob_in_an_app_segment_is_nonstandard() {
    let dir = tmp();
    let jpeg = std::fs::read(make_image(dir.path(), "in.jpg", &[])).unwrap();
    let l = label("1", "blob");
    let mut payload = b"AIGC".to_vec();
    payload.extend_from_slice(l.to_bare_json().as_bytes());
    let bytes = insert_segment(&jpeg, 1, 0xEF, &payload);
    let r = read_bytes(bytes.clone(), "x.jpg", &Profile::builtin()).unwrap();
    assert_eq!(r.labels[0].carrier, "jpeg/APP15/AIGC{");
    assert_eq!(r.label(), Some(&l));
    let out = embed_bytes(bytes, &l.to_bare_json()).unwrap();
    assert!(!jpeg_markers(&out).contains(&0xEF));
}

#[test]
fn wrong_namespace_attribute_xmp_is_flagged_and_fixed_on_embed() {
    // jiemojiemo/GB45438-Image-Meta-Toolkit: attribute form, TC260 prefix bound to an Adobe URI,
    // no xpacket wrapper, &apos; escapes.
    let dir = tmp();
    let jpeg = std::fs::read(make_image(dir.path(), "in.jpg", &[])).unwrap();
    let l = label("1", "jiemo");
    let packet = format!(
        "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description rdf:about=\"\" xmlns:TC260=\"http://ns.adobe.com/xap/1.0/tc/\" TC260:AIGC=\"{}\"/></rdf:RDF></x:xmpmeta>",
        xml_escape(&l.to_bare_json())
    );
    let bytes = insert_segment(&jpeg, 1, 0xE1, &xmp_app1(&packet));
    let r = read_bytes(bytes.clone(), "x.jpg", &Profile::builtin()).unwrap();
    assert_eq!(r.verdict, Verdict::Invalid, "{r:#?}");
    assert!(codes(&r, 0).contains(&ProblemCode::XmpWrongNamespace));
    // The trap: ExifTool's group name comes from the prefix, so it shows XMP-TC260:AIGC anyway.
    let f = dir.path().join("jiemo.jpg");
    std::fs::write(&f, &bytes).unwrap();
    assert_eq!(exiftool_aigc(&f), l.to_bare_json());

    let out = embed_bytes(bytes, &l.to_bare_json()).unwrap();
    let r = read_bytes(out.clone(), "x.jpg", &Profile::builtin()).unwrap();
    assert_eq!(r.verdict, Verdict::Valid, "{r:#?}");
    assert_eq!(r.labels.len(), 1);
    let g = dir.path().join("fixed.jpg");
    std::fs::write(&g, &out).unwrap();
    let xmp = run_ok("exiftool", &["-XMP", "-b", p(&g)]);
    assert!(xmp.contains(TC260_NS), "{xmp}");
    // Once the wrong-namespace property is gone, the TC260 prefix is rebound to the TC260 URI,
    // so ExifTool (which names the group after the prefix) shows it as XMP-TC260:AIGC again.
    assert!(!xmp.contains("http://ns.adobe.com/xap/1.0/tc/"), "{xmp}");
    assert_eq!(exiftool_aigc(&g), l.to_bare_json());
}

#[test]
fn tencent_image_description_is_read_as_legacy_schema() {
    let dir = tmp();
    let file = make_image(dir.path(), "in.jpg", &[]);
    let legacy =
        r#"{"AIGC":{"ServiceProvider":"腾讯云","ServiceUser":"u","Time":"1","ContentId":"c"}}"#;
    run_ok(
        "exiftool",
        &[
            "-overwrite_original",
            &format!("-ImageDescription={legacy}"),
            p(&file),
        ],
    );
    let r = read(&file);
    assert_eq!(r.labels.len(), 1, "{r:#?}");
    assert_eq!(r.labels[0].carrier, "jpeg/APP1/EXIF/ImageDescription");
    assert!(codes(&r, 0).contains(&ProblemCode::LegacySchema));
    assert_eq!(r.verdict, Verdict::Invalid);
    // An ordinary description is not a label.
    run_ok(
        "exiftool",
        &[
            "-overwrite_original",
            "-ImageDescription=A red-blue gradient",
            p(&file),
        ],
    );
    assert_eq!(read(&file).verdict, Verdict::Unlabeled);
}

// ---------------------------------------------------------------- hostile input

#[test]
fn truncated_and_corrupt_files_are_errors_naming_the_offset() {
    let dir = tmp();
    let profile = Profile::builtin();
    let jpeg = std::fs::read(make_image(dir.path(), "in.jpg", &[])).unwrap();
    // Truncated inside the headers.
    assert_err_names_offset(
        read_bytes(jpeg[..100].to_vec(), "x.jpg", &profile),
        "truncated",
    );
    // Segment length past the end of the file.
    let mut bad = vec![0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xF0];
    bad.extend_from_slice(b"Exif\0\0II*\0");
    assert_err_names_offset(read_bytes(bad.clone(), "x.jpg", &profile), "past the end");
    assert!(embed_bytes(bad, "{}").is_err());
    // EXIF IFD loop: the Exif IFD pointer points back at IFD0.
    let mut t = b"Exif\0\0II*\0\x08\0\0\0".to_vec();
    t.extend_from_slice(&[1, 0, 0x69, 0x87, 4, 0, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0]);
    let looped = insert_segment(&jpeg, 1, 0xE1, &t);
    assert_err_names_offset(read_bytes(looped, "x.jpg", &profile), "loops");

    // GIF: a sub-block running past the end of the file.
    let gif = std::fs::read(make_image(dir.path(), "in.gif", &[])).unwrap();
    assert_err_names_offset(
        read_bytes(gif[..gif.len() - 10].to_vec(), "x.gif", &profile),
        "sub-block",
    );
    // GIF without its trailer.
    assert_err_names_offset(
        read_bytes(gif[..gif.len() - 1].to_vec(), "x.gif", &profile),
        "trailer",
    );
    // TIFF: IFD0 offset beyond the end.
    let mut tiff = std::fs::read(make_image(dir.path(), "in.tif", &[])).unwrap();
    tiff[4..8].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    assert_err_names_offset(read_bytes(tiff, "x.tif", &profile), "IFD");
}

#[test]
fn every_truncation_and_byte_flip_is_handled_without_panic() {
    let dir = tmp();
    let profile = Profile::builtin();
    for name in ["in.jpg", "in.gif", "in.tif"] {
        let file = make_image(dir.path(), name, &[]);
        let l = label("1", "X");
        let labelled = dir.path().join(format!("l{name}"));
        embed(&file, &labelled, &l.to_bare_json());
        let bytes = std::fs::read(&labelled).unwrap();
        let step = (bytes.len() / 150).max(1);
        for cut in (0..bytes.len()).step_by(step) {
            let _ = read_bytes(bytes[..cut].to_vec(), name, &profile);
            let _ = embed_bytes(bytes[..cut].to_vec(), "{}");
        }
        for at in (0..bytes.len().min(3000)).step_by(7) {
            let mut b = bytes.clone();
            b[at] ^= 0xA5;
            let _ = read_bytes(b.clone(), name, &profile);
            let _ = embed_bytes(b, "{}");
        }
    }
}

#[test]
fn webp_exif_user_comment_is_read_and_blanked_on_embed() {
    // WebP `EXIF` chunk written by ExifTool: the image guide's Annex B alternative carrier.
    let dir = tmp();
    let webp = make_image(dir.path(), "in.webp", &[]);
    let old = label("3", "exifwriter");
    run_ok(
        "exiftool",
        &[
            "-q",
            "-overwrite_original",
            &format!("-UserComment={}", old.to_wrapped_json()),
            p(&webp),
        ],
    );
    let r = read(&webp);
    assert_eq!(r.verdict, Verdict::Valid, "{r:#?}");
    assert_eq!(r.labels.len(), 1);
    assert_eq!(r.labels[0].carrier, "webp/EXIF/UserComment");
    assert_eq!(r.labels[0].label.as_ref(), Some(&old));

    let out = dir.path().join("out.webp");
    let new = label("1", "ref");
    embed(&webp, &out, &new.to_bare_json());
    let r = read(&out);
    assert_eq!(r.labels.len(), 1, "{r:#?}");
    assert_eq!(r.labels[0].label.as_ref(), Some(&new));
    assert_eq!(exiftool_aigc(&out), new.to_bare_json());
    assert_eq!(
        run_ok("exiftool", &["-s3", "-UserComment", p(&out)]).trim(),
        ""
    );
    assert_pixels_equal(&webp, &out);
}

/// Offset of the first IDAT chunk of a PNG.
fn first_idat(png: &[u8]) -> usize {
    let mut at = 8;
    loop {
        let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        if &png[at + 4..at + 8] == b"IDAT" {
            return at;
        }
        at += 12 + len;
    }
}

/// A PNG with more than 1 MiB of image data keeps that data at its offset within a 4 KiB page
/// (the label's XMP packet carries the padding), so the kernel copies it page to page; the
/// image bytes are unchanged, ExifTool reads and validates the label, and labelling again
/// keeps the data in place. A small PNG gets no padding.
#[test]
fn png_large_image_data_keeps_its_place_within_a_page() {
    let dir = tmp();
    let input = dir.path().join("noise.png");
    run_ok(
        "convert",
        &[
            "-size",
            "640x640",
            "xc:",
            "+noise",
            "Random",
            "-strip",
            p(&input),
        ],
    );
    let before = std::fs::read(&input).unwrap();
    let in_idat = first_idat(&before);
    assert!(before.len() - in_idat > 1 << 20, "test input too small");
    let (once, twice) = round_trip(dir.path(), &input, "png");
    for out in [&once, &twice] {
        let after = std::fs::read(out).unwrap();
        let out_idat = first_idat(&after);
        assert_ne!(out_idat, in_idat, "the label goes before the image data");
        assert_eq!(
            out_idat % 4096,
            in_idat % 4096,
            "{out:?}: moved by whole pages"
        );
        assert!(
            after[out_idat..] == before[in_idat..],
            "{out:?}: image data changed"
        );
        assert_exiftool_validates(out);
    }
    assert_pixels_equal(&input, &twice);
    // A small file: no padding.
    let small = make_image(dir.path(), "small.png", &[]);
    let small_out = dir.path().join("small-out.png");
    embed(&small, &small_out, &label("1", "P").to_bare_json());
    let grown =
        std::fs::metadata(&small_out).unwrap().len() - std::fs::metadata(&small).unwrap().len();
    assert!(grown < 1024, "a small PNG grew by {grown} bytes");
}
