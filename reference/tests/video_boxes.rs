//! MP4/MOV/M4A, Matroska/WebM and HEIF/AVIF carriers: round trips checked by ffprobe, exiftool
//! and ImageMagick, interop reads of files labelled by other tools (and hand-built trap files),
//! and robustness against hostile box/element sizes.
//!
//! Needs: ffmpeg (Debian `ffmpeg`), exiftool (`libimage-exiftool-perl`), ImageMagick `convert`
//! with HEIC/AVIF support (`imagemagick` with `libheif1`).

use std::path::{Path, PathBuf};
use std::process::Command;

use aigc_label::implicit::{self, ReadReport, Verdict};

use aigc_label::{Label, ProblemCode, Profile};

use crate::common;
use common::{embed, read};

const TC260_CONFIG: &str = "%Image::ExifTool::UserDefined = ('Image::ExifTool::XMP::Main' => { TC260 => { SubDirectory => { TagTable => 'Image::ExifTool::UserDefined::TC260' } } }); %Image::ExifTool::UserDefined::TC260 = (GROUPS => { 0 => 'XMP', 1 => 'XMP-TC260', 2 => 'Image' }, NAMESPACE => { 'TC260' => 'http://www.tc260.org.cn/ns/AIGC/1.0/' }, WRITABLE => 'string', AIGC => { }); 1;\n";

fn package_of(tool: &str) -> &'static str {
    match tool {
        "ffmpeg" | "ffprobe" => "ffmpeg",
        "exiftool" => "libimage-exiftool-perl",
        "convert" => "imagemagick (with libheif1 for HEIC/AVIF)",
        _ => "?",
    }
}

/// Run a tool; fail with the Debian package to install when it is missing.
fn run(tool: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!(
            "cannot run {tool} ({e}); install the Debian package {}",
            package_of(tool)
        )
    });
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn label(producer: &str, id: &str) -> String {
    Label {
        label: "1".into(),
        content_producer: producer.into(),
        produce_id: id.into(),
        reserved_code1: String::new(),
        content_propagator: producer.into(),
        propagate_id: id.into(),
        reserved_code2: String::new(),
    }
    .to_bare_json()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn ffprobe_tag(path: &Path) -> String {
    let out = run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-show_entries",
            "format_tags=AIGC",
            "-of",
            "default=nw=1:nk=1",
            s(path),
        ],
    );
    String::from_utf8_lossy(&out).trim_end().to_string()
}

/// Every packet's checksum (stream copy, no decode): the payload is unchanged.
fn framemd5(path: &Path) -> Vec<u8> {
    let out = run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-i",
            s(path),
            "-map",
            "0",
            "-c",
            "copy",
            "-f",
            "framemd5",
            "-",
        ],
    );
    // Drop header comments (they name the input).
    String::from_utf8_lossy(&out)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes()
}

fn exiftool(args: &[&str], dir: &Path) -> String {
    let cfg = dir.join("tc260.config");
    std::fs::write(&cfg, TC260_CONFIG).expect("config");
    let mut all = vec!["-config", s(&cfg)];
    all.extend_from_slice(args);
    String::from_utf8_lossy(&run("exiftool", &all)).into_owned()
}

fn assert_one(report: &ReadReport, json: &str, carrier: &str) {
    assert_eq!(report.labels.len(), 1, "{report:#?}");
    assert_eq!(report.labels[0].raw, json);
    assert_eq!(report.labels[0].carrier, carrier);
    assert_eq!(report.verdict, Verdict::Valid, "{report:#?}");
}

const LAVFI: [&str; 8] = [
    "-f",
    "lavfi",
    "-i",
    "testsrc=duration=1:size=64x48:rate=10",
    "-f",
    "lavfi",
    "-i",
    "sine=d=1",
];

fn make_av(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let p = dir.join(name);
    let mut args = vec!["-v", "error", "-y"];
    args.extend_from_slice(&LAVFI);
    args.extend_from_slice(extra);
    args.push(s(&p));
    run("ffmpeg", &args);
    p
}

/// Embed twice into a real file and cross-check with ffprobe (and exiftool for MP4 keys).
fn roundtrip_av(name: &str, extra: &[&str], carrier: &str, mp4_keys: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = make_av(dir.path(), name, extra);
    assert_eq!(read(&input).verdict, Verdict::Unlabeled);
    let before = framemd5(&input);
    let out1 = dir.path().join(format!("1-{name}"));
    let j1 = label("001191110102MACQD9K64010000", "first");
    embed(&input, &out1, &j1);
    assert_one(&read(&out1), &j1, carrier);
    assert_eq!(ffprobe_tag(&out1), j1);
    if mp4_keys {
        let keys = exiftool(&["-Keys:AIGC", "-b", s(&out1)], dir.path());
        assert_eq!(keys, j1);
    }
    assert_eq!(framemd5(&out1), before, "payload changed");
    if carrier == MKV_TAG {
        check_mkv_crcs(&out1);
    }
    run(
        "ffmpeg",
        &["-v", "error", "-i", s(&out1), "-f", "null", "-"],
    );
    // Second embed, longer value: one label, the second.
    let out2 = dir.path().join(format!("2-{name}"));
    let j2 = label(
        "001191440300708461136T1308L",
        "second-label-with-a-longer-id",
    );
    embed(&out1, &out2, &j2);
    assert_one(&read(&out2), &j2, carrier);
    assert_eq!(ffprobe_tag(&out2), j2);
    assert_eq!(framemd5(&out2), before, "payload changed");
    run(
        "ffmpeg",
        &["-v", "error", "-i", s(&out2), "-f", "null", "-"],
    );
    // Third embed, shorter value: moov shrinks (a free box takes up the slack in MP4).
    let out3 = dir.path().join(format!("3-{name}"));
    let j3 = label("S", "s");
    embed(&out2, &out3, &j3);
    assert_one(&read(&out3), &j3, carrier);
    assert_eq!(ffprobe_tag(&out3), j3);
    assert_eq!(framemd5(&out3), before, "payload changed");
    if carrier == MKV_TAG {
        check_mkv_crcs(&out2);
        check_mkv_crcs(&out3);
    }
}

/// Check every CRC-32 element of the Segment's level-1 elements (ffmpeg writes one in each).
fn check_mkv_crcs(path: &Path) {
    fn vint(b: &[u8], p: usize, keep_marker: bool) -> (u64, usize) {
        let n = b[p].leading_zeros() as usize + 1;
        let mut v = if keep_marker {
            b[p] as u64
        } else {
            (b[p] & 0xffu8.checked_shr(n as u32).unwrap_or(0)) as u64
        };
        for i in 1..n {
            v = v << 8 | b[p + i] as u64;
        }
        (v, n)
    }
    let b = std::fs::read(path).unwrap();
    let (_, n) = vint(&b, 0, true);
    let (s, m) = vint(&b, n, false);
    let mut p = n + m + s as usize;
    let (_, n) = vint(&b, p, true);
    let (s, m) = vint(&b, p + n, false);
    p += n + m;
    let end = (p + s as usize).min(b.len());
    let mut checked = 0;
    while p < end {
        let (id, n) = vint(&b, p, true);
        let (s, m) = vint(&b, p + n, false);
        let d = p + n + m;
        let e = d + s as usize;
        if b[d] == 0xBF && b[d + 1] == 0x84 {
            let want = u32::from_le_bytes(b[d + 2..d + 6].try_into().unwrap());
            assert_eq!(
                crc32fast::hash(&b[d + 6..e]),
                want,
                "CRC-32 of element {id:#x} at {p}"
            );
            checked += 1;
        }
        p = e;
    }
    assert!(checked > 0 || path.extension().is_some_and(|e| e == "webm"));
}

const MP4_KEYS: &str = "mp4/moov/udta/meta/keys/AIGC";
const MKV_TAG: &str = "mkv/Segment/Tags/Tag/SimpleTag/AIGC";

#[test]
fn mp4_moov_first() {
    roundtrip_av(
        "a.mp4",
        &["-c:v", "libx264", "-c:a", "aac", "-movflags", "+faststart"],
        MP4_KEYS,
        true,
    );
}

#[test]
fn mp4_fragmented() {
    // moov before the fragments: tfhd base_data_offset and mfra/tfra moof offsets are patched.
    roundtrip_av(
        "f.mp4",
        &[
            "-c:v",
            "libx264",
            "-c:a",
            "aac",
            "-g",
            "5",
            "-movflags",
            "frag_keyframe+empty_moov",
        ],
        MP4_KEYS,
        true,
    );
}

#[test]
fn mp4_moov_last() {
    roundtrip_av("a.mp4", &["-c:v", "libx264", "-c:a", "aac"], MP4_KEYS, true);
}

#[test]
fn mov() {
    roundtrip_av("a.mov", &["-c:v", "mpeg4", "-c:a", "aac"], MP4_KEYS, true);
}

#[test]
fn m4a() {
    roundtrip_av("a.m4a", &["-vn", "-c:a", "aac"], MP4_KEYS, true);
}

#[test]
fn mkv() {
    roundtrip_av("a.mkv", &["-c:v", "libx264", "-c:a", "aac"], MKV_TAG, false);
}

#[test]
fn webm() {
    roundtrip_av(
        "a.webm",
        &["-c:v", "libvpx", "-c:a", "libopus"],
        MKV_TAG,
        false,
    );
}

#[test]
fn mkv_seekhead_grows_into_void() {
    // Over 64 KiB: the appended Tags' SeekPosition needs a byte more than ffmpeg's entry had,
    // taken from the Void ffmpeg leaves after the SeekHead.
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("big.mkv");
    run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=2:size=320x240:rate=25",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-qp",
            "0",
            s(&input),
        ],
    );
    assert!(std::fs::metadata(&input).unwrap().len() > 70_000);
    let out = dir.path().join("o.mkv");
    let j = label("BIG", "b");
    embed(&input, &out, &j);
    assert_one(&read(&out), &j, MKV_TAG);
    assert_eq!(ffprobe_tag(&out), j);
    check_mkv_crcs(&out);
    assert_eq!(framemd5(&out), framemd5(&input));
}

fn pixels(path: &Path) -> Vec<u8> {
    run("convert", &[s(path), "-depth", "8", "rgba:-"])
}

fn roundtrip_image(name: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join(name);
    run(
        "convert",
        &["-size", "64x48", "gradient:red-blue", s(&input)],
    );
    let before = pixels(&input);
    let mut prev = input.clone();
    for (i, id) in ["first", "second-label-with-a-longer-id", "third"]
        .iter()
        .enumerate()
    {
        let out = dir.path().join(format!("{i}-{name}"));
        let j = label("001191110102MACQD9K64010000", id);
        embed(&prev, &out, &j);
        let r = read(&out);
        assert_eq!(r.labels.len(), 1, "{r:#?}");
        assert_eq!(r.labels[0].raw, j);
        assert!(r.labels[0].carrier.starts_with("heif/meta/item"));
        assert_eq!(r.verdict, Verdict::Valid);
        let ex = exiftool(&["-XMP-TC260:AIGC", "-b", s(&out)], dir.path());
        assert_eq!(ex, j);
        assert_eq!(pixels(&out), before, "pixels changed");
        prev = out;
    }
}

#[test]
fn heic() {
    roundtrip_image("a.heic");
}

#[test]
fn avif() {
    roundtrip_image("a.avif");
}

/// meta grows when an XMP item is added: every file-offset item after it (the image at a base
/// offset, ExifTool's Exif item at an extent offset) must be shifted, unlike jiemojiemo's writer.
#[test]
fn heic_other_items_follow_meta_growth() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("x.heic");
    run(
        "convert",
        &["-size", "64x48", "gradient:red-blue", s(&input)],
    );
    let before = pixels(&input);
    exiftool(
        &[
            "-q",
            "-overwrite_original",
            "-Make=TestMake",
            "-Artist=Someone",
            s(&input),
        ],
        dir.path(),
    );
    let out = dir.path().join("o.heic");
    let j = label("HEIF", "h");
    embed(&input, &out, &j);
    assert_eq!(exiftool(&["-XMP-TC260:AIGC", "-b", s(&out)], dir.path()), j);
    assert_eq!(exiftool(&["-Make", "-b", s(&out)], dir.path()), "TestMake");
    assert_eq!(exiftool(&["-Artist", "-b", s(&out)], dir.path()), "Someone");
    assert_eq!(pixels(&out), before);
}

#[test]
fn heic_labelled_by_exiftool() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("e.heic");
    run(
        "convert",
        &["-size", "64x48", "gradient:red-blue", s(&input)],
    );
    let before = pixels(&input);
    let j = label("EXIFTOOL", "e");
    let arg = format!("-XMP-TC260:AIGC={j}");
    exiftool(&["-q", "-overwrite_original", &arg, s(&input)], dir.path());
    let r = read(&input);
    assert_eq!(r.labels.len(), 1);
    assert_eq!(r.labels[0].raw, j);
    let out = dir.path().join("o.heic");
    let j2 = label("NEW", "n");
    embed(&input, &out, &j2);
    assert_eq!(read(&out).labels[0].raw, j2);
    assert_eq!(
        exiftool(&["-XMP-TC260:AIGC", "-b", s(&out)], dir.path()),
        j2
    );
    assert_eq!(pixels(&out), before);
}

/// ffmpeg `-metadata AIGC=... -movflags use_metadata_tags` with other keys before AIGC.
fn ffmpeg_labelled(name: &str, codec: &[&str], carrier: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = make_av(dir.path(), &format!("in-{name}"), codec);
    let labelled = dir.path().join(name);
    let j = label("FFMPEG", "ff");
    let meta = format!("AIGC={j}");
    run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-y",
            "-i",
            s(&input),
            "-c",
            "copy",
            "-metadata",
            "alpha=1",
            "-metadata",
            "beta=two",
            "-metadata",
            &meta,
            "-metadata",
            "zeta=last",
            "-movflags",
            "use_metadata_tags",
            s(&labelled),
        ],
    );
    let r = read(&labelled);
    assert_one(&r, &j, carrier);
    // Replace it: the other tags survive, one label.
    let out = dir.path().join(format!("o-{name}"));
    let j2 = label("REF", "r");
    embed(&labelled, &out, &j2);
    assert_one(&read(&out), &j2, carrier);
    assert_eq!(ffprobe_tag(&out), j2);
    let all = String::from_utf8_lossy(&run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-show_entries",
            "format_tags",
            "-of",
            "default=nw=1",
            s(&out),
        ],
    ))
    .to_lowercase();
    for t in ["alpha=1", "beta=two", "zeta=last"] {
        assert!(all.contains(t), "{t} lost: {all}");
    }
    assert_eq!(framemd5(&out), framemd5(&labelled));
}

#[test]
fn interop_ffmpeg_mp4() {
    ffmpeg_labelled("l.mp4", &["-c:v", "libx264", "-c:a", "aac"], MP4_KEYS);
}

#[test]
fn interop_ffmpeg_mov() {
    ffmpeg_labelled("l.mov", &["-c:v", "mpeg4", "-c:a", "aac"], MP4_KEYS);
}

#[test]
fn interop_ffmpeg_m4a() {
    ffmpeg_labelled("l.m4a", &["-vn", "-c:a", "aac"], MP4_KEYS);
}

#[test]
fn interop_ffmpeg_mkv() {
    ffmpeg_labelled("l.mkv", &["-c:v", "libx264", "-c:a", "aac"], MKV_TAG);
}

#[test]
fn interop_ffmpeg_without_movflag_is_unlabeled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = make_av(dir.path(), "in.mp4", &["-c:v", "libx264", "-c:a", "aac"]);
    let out = dir.path().join("dropped.mp4");
    let meta = format!("AIGC={}", label("X", "x"));
    run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-y",
            "-i",
            s(&input),
            "-c",
            "copy",
            "-metadata",
            &meta,
            s(&out),
        ],
    );
    assert_eq!(read(&out).verdict, Verdict::Unlabeled);
}

/// ExifTool's XMP: a top-level `uuid` box in MP4, `moov/udta/XMP_` in MOV.
fn exiftool_xmp(name: &str, codec: &[&str], carrier: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = make_av(dir.path(), name, codec);
    let j = label("EXIFTOOL", "e");
    let arg = format!("-XMP-TC260:AIGC={j}");
    exiftool(&["-q", "-overwrite_original", &arg, s(&input)], dir.path());
    let r = read(&input);
    assert_eq!(r.labels.len(), 1, "{r:#?}");
    assert_eq!(r.labels[0].carrier, carrier);
    assert_eq!(r.labels[0].raw, j);
    assert!(r.labels[0]
        .problems
        .iter()
        .any(|p| p.code == ProblemCode::NonstandardCarrier));
    let out = dir.path().join(format!("o-{name}"));
    let j2 = label("REF", "r");
    embed(&input, &out, &j2);
    assert_one(&read(&out), &j2, MP4_KEYS);
    assert_eq!(
        exiftool(&["-XMP-TC260:AIGC", "-b", s(&out)], dir.path()),
        ""
    );
    assert_eq!(exiftool(&["-Keys:AIGC", "-b", s(&out)], dir.path()), j2);
    // The cleaned packet keeps ExifTool's other XMP.
    assert!(exiftool(&["-XMP-x:XMPToolkit", s(&out)], dir.path()).contains("ExifTool"));
    assert_eq!(framemd5(&out), framemd5(&input));
}

#[test]
fn interop_exiftool_xmp_uuid_mp4() {
    exiftool_xmp(
        "x.mp4",
        &["-c:v", "libx264", "-c:a", "aac", "-movflags", "+faststart"],
        "mp4/uuid/XMP",
    );
}

#[test]
fn interop_exiftool_xmp_udta_mov() {
    exiftool_xmp(
        "x.mov",
        &["-c:v", "mpeg4", "-c:a", "aac"],
        "mp4/moov/udta/XMP_",
    );
}

// ---- hand-built MP4 trap files -------------------------------------------------------------

fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    v.extend_from_slice(kind);
    v.extend_from_slice(body);
    v
}

fn hdlr(kind: &[u8; 4]) -> Vec<u8> {
    let mut b = vec![0u8; 8];
    b.extend_from_slice(kind);
    b.extend_from_slice(&[0u8; 13]);
    bx(b"hdlr", &b)
}

fn data_atom(text: &str) -> Vec<u8> {
    let mut d = vec![0, 0, 0, 1, 0, 0, 0, 0];
    d.extend_from_slice(text.as_bytes());
    bx(b"data", &d)
}

/// keys + ilst with the given (key, value) pairs.
fn mdta_children(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut keys = vec![0, 0, 0, 0];
    keys.extend_from_slice(&(pairs.len() as u32).to_be_bytes());
    let mut ilst = Vec::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        keys.extend_from_slice(&((k.len() + 8) as u32).to_be_bytes());
        keys.extend_from_slice(b"mdta");
        keys.extend_from_slice(k.as_bytes());
        ilst.extend_from_slice(&bx(&(i as u32 + 1).to_be_bytes(), &data_atom(v)));
    }
    let mut out = hdlr(b"mdta");
    out.extend_from_slice(&bx(b"keys", &keys));
    out.extend_from_slice(&bx(b"ilst", &ilst));
    out
}

/// Insert `child` at the end of the top-level moov of an MP4 whose moov is last (no offsets
/// to patch).
fn add_to_moov(file: &[u8], child: &[u8]) -> Vec<u8> {
    let mut pos = 0usize;
    while pos + 8 <= file.len() {
        let size = u32::from_be_bytes(file[pos..pos + 4].try_into().unwrap()) as usize;
        if &file[pos + 4..pos + 8] == b"moov" {
            assert_eq!(pos + size, file.len(), "moov must be last");
            let mut out = file[..pos].to_vec();
            out.extend_from_slice(&((size + child.len()) as u32).to_be_bytes());
            out.extend_from_slice(&file[pos + 4..]);
            out.extend_from_slice(child);
            return out;
        }
        pos += size;
    }
    panic!("no moov");
}

fn trap_file(dir: &Path, name: &str, child: Vec<u8>) -> PathBuf {
    let base = make_av(
        dir,
        &format!("base-{name}"),
        &["-c:v", "libx264", "-c:a", "aac"],
    );
    let bytes = add_to_moov(&std::fs::read(&base).unwrap(), &child);
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    run("ffmpeg", &["-v", "error", "-i", s(&p), "-f", "null", "-"]);
    p
}

/// Read the trap file, check carrier + note, then embed and check only the standard remains.
fn trap(
    name: &str,
    child: impl Fn(&str) -> Vec<u8>,
    carrier: &str,
    note: ProblemCode,
    ffprobe_check: bool,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let j = label("TRAP", "t");
    let p = trap_file(dir.path(), name, child(&j));
    let r = read(&p);
    assert_eq!(r.labels.len(), 1, "{r:#?}");
    assert_eq!(r.labels[0].carrier, carrier);
    assert_eq!(r.labels[0].raw, j);
    assert!(
        r.labels[0].problems.iter().any(|p| p.code == note),
        "{r:#?}"
    );
    let out = dir.path().join(format!("o-{name}"));
    let j2 = label("REF", "r");
    embed(&p, &out, &j2);
    assert_one(&read(&out), &j2, MP4_KEYS);
    if ffprobe_check {
        assert_eq!(ffprobe_tag(&out), j2);
    }
    assert_eq!(framemd5(&out), framemd5(&p));
}

/// A free box inside udta is used as slack: moov keeps its size, so nothing after it moves.
#[test]
fn udta_free_box_is_slack() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = make_av(dir.path(), "base.mp4", &["-c:v", "libx264", "-c:a", "aac"]);
    let f = std::fs::read(&base).unwrap();
    let u32_at = |b: &[u8], p: usize| u32::from_be_bytes(b[p..p + 4].try_into().unwrap()) as usize;
    // moov is last (ffmpeg without faststart); insert a 1 KiB free box at the end of its udta.
    let mut pos = 0;
    while &f[pos + 4..pos + 8] != b"moov" {
        pos += u32_at(&f, pos);
    }
    let moov = pos;
    let mut q = moov + 8;
    while &f[q + 4..q + 8] != b"udta" {
        q += u32_at(&f, q);
    }
    let udta_end = q + u32_at(&f, q);
    let free = bx(b"free", &[0u8; 1016]);
    let mut g = f[..udta_end].to_vec();
    g.extend_from_slice(&free);
    g.extend_from_slice(&f[udta_end..]);
    let moov_size = (u32_at(&g, moov) + 1024) as u32;
    g[moov..moov + 4].copy_from_slice(&moov_size.to_be_bytes());
    let udta_size = (u32_at(&g, q) + 1024) as u32;
    g[q..q + 4].copy_from_slice(&udta_size.to_be_bytes());
    let input = dir.path().join("slack.mp4");
    std::fs::write(&input, &g).unwrap();
    let out = dir.path().join("o.mp4");
    let j = label("SLACK", "s");
    embed(&input, &out, &j);
    let o = std::fs::read(&out).unwrap();
    assert_eq!(o.len(), g.len(), "moov changed size");
    assert_eq!(o[..moov], g[..moov], "bytes before moov changed");
    assert_one(&read(&out), &j, MP4_KEYS);
    assert_eq!(ffprobe_tag(&out), j);
    assert_eq!(framemd5(&out), framemd5(&input));
}

#[test]
fn trap_quicktime_bare_moov_meta() {
    // Doubao iOS: meta directly under moov, no FullBox version/flags; another key first.
    // ffmpeg 5.1 applies the first `keys` table it meets to every later `ilst`, so with two
    // mdta metas in one moov (this one and the standard udta/meta) ffprobe mislabels the
    // second one's items (measured: on the input "Apple" shows as major_brand). The ffprobe
    // cross-check is skipped here; the reference reads each meta with its own keys.
    let meta = |j: &str| {
        bx(
            b"meta",
            &mdta_children(&[("com.apple.quicktime.make", "Apple"), ("AIGC", j)]),
        )
    };
    trap(
        "qt.mov",
        meta,
        "mp4/moov/meta/keys/AIGC",
        ProblemCode::NonstandardCarrier,
        false,
    );
}

#[test]
fn trap_keyless_mdir_item() {
    let udta = |j: &str| {
        let mut body = vec![0u8; 4];
        body.extend_from_slice(&hdlr(b"mdir"));
        body.extend_from_slice(&bx(b"ilst", &bx(&[0xa9, b'c', b'm', b't'], &data_atom(j))));
        bx(b"udta", &bx(b"meta", &body))
    };
    trap(
        "mdir.mp4",
        udta,
        "mp4/moov/udta/meta/ilst/©cmt",
        ProblemCode::NonstandardCarrier,
        true,
    );
}

#[test]
fn trap_itunes_freeform() {
    let udta = |j: &str| {
        let mut body = vec![0u8; 4];
        body.extend_from_slice(&hdlr(b"mdir"));
        let mut ff = bx(b"mean", b"\0\0\0\0com.apple.iTunes");
        ff.extend_from_slice(&bx(b"name", b"\0\0\0\0AIGC"));
        ff.extend_from_slice(&data_atom(j));
        body.extend_from_slice(&bx(b"ilst", &bx(b"----", &ff)));
        bx(b"udta", &bx(b"meta", &body))
    };
    trap(
        "ff.m4a",
        udta,
        "mp4/moov/udta/meta/ilst/----:AIGC",
        ProblemCode::NonstandardCarrier,
        true,
    );
}

#[test]
fn trap_lowercase_key() {
    let udta = |j: &str| {
        let mut body = vec![0u8; 4];
        body.extend_from_slice(&mdta_children(&[("aigc", j)]));
        bx(b"udta", &bx(b"meta", &body))
    };
    trap(
        "lc.mp4",
        udta,
        "mp4/moov/udta/meta/keys/aigc",
        ProblemCode::KeyCase,
        true,
    );
}

#[test]
fn blanked_value_is_present_but_invalid() {
    // remove-ai-watermarks style: the value overwritten in place by spaces of the same length.
    let dir = tempfile::tempdir().expect("tempdir");
    let input = make_av(dir.path(), "in.mp4", &["-c:v", "libx264", "-c:a", "aac"]);
    let j = label("BLANKME", "b");
    let labelled = dir.path().join("l.mp4");
    let meta = format!("AIGC={j}");
    run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-y",
            "-i",
            s(&input),
            "-c",
            "copy",
            "-metadata",
            &meta,
            "-movflags",
            "use_metadata_tags",
            s(&labelled),
        ],
    );
    let mut bytes = std::fs::read(&labelled).unwrap();
    let at = bytes
        .windows(j.len())
        .position(|w| w == j.as_bytes())
        .expect("label bytes");
    bytes[at..at + j.len()].fill(b' ');
    std::fs::write(&labelled, &bytes).unwrap();
    let r = read(&labelled);
    assert_eq!(r.labels.len(), 1);
    assert_eq!(r.verdict, Verdict::Invalid);
    assert!(r.labels[0]
        .problems
        .iter()
        .any(|p| p.code == ProblemCode::NotJson));
}

// ---- robustness ----------------------------------------------------------------------------

fn read_err(bytes: Vec<u8>, name: &str) -> String {
    match implicit::read_bytes(bytes.clone(), name, &Profile::builtin()) {
        Ok(r) => panic!("{name}: expected an error, got {r:?}"),
        Err(e) => {
            let _ = implicit::embed_bytes(bytes, "{}").expect_err("embed must fail too");
            e.to_string()
        }
    }
}

fn ftyp() -> Vec<u8> {
    bx(b"ftyp", b"isom\0\0\0\0isomavc1")
}

#[test]
fn hostile_mp4() {
    // Truncated moov.
    let mut f = ftyp();
    let moov = bx(b"moov", &bx(b"udta", &bx(b"meta", &[0u8; 64])));
    f.extend_from_slice(&moov[..moov.len() - 10]);
    assert!(read_err(f, "t.mp4").contains("byte"));
    // size 1 with an absurd 64-bit size.
    let mut f = ftyp();
    f.extend_from_slice(&[0, 0, 0, 1, b'm', b'd', b'a', b't']);
    f.extend_from_slice(&u64::MAX.to_be_bytes());
    assert!(read_err(f, "s1.mp4").contains("byte"));
    // size 1 with a 64-bit size smaller than the header.
    let mut f = ftyp();
    f.extend_from_slice(&[0, 0, 0, 1, b'm', b'o', b'o', b'v']);
    f.extend_from_slice(&3u64.to_be_bytes());
    read_err(f, "s2.mp4");
    // A child box past its parent's end.
    let mut f = ftyp();
    let mut udta = bx(b"udta", &[0u8; 8]);
    udta[3] = 200;
    f.extend_from_slice(&bx(b"moov", &udta));
    assert!(read_err(f, "p.mp4").contains("past"));
    // size 0 inside a parent: runs to the parent's end (legal), then a broken meta.
    let mut f = ftyp();
    f.extend_from_slice(&bx(
        b"moov",
        &[
            0, 0, 0, 0, b'u', b'd', b't', b'a', 0, 0, 0, 200, b'm', b'e', b't', b'a',
        ],
    ));
    read_err(f, "z.mp4");
    // Nesting bomb: traks within traks, moov before mdat so the writer walks them.
    let mut inner = bx(b"stco", &[0, 0, 0, 0, 0, 0, 0, 0]);
    for _ in 0..200 {
        inner = bx(b"trak", &inner);
    }
    let mut f = ftyp();
    f.extend_from_slice(&bx(b"moov", &inner));
    f.extend_from_slice(&bx(b"mdat", &[0u8; 16]));
    let e = implicit::embed_bytes(f, "{}").expect_err("nesting bomb");
    assert!(e.to_string().contains("nested deeper"), "{e}");
    // Garbage after ftyp.
    let mut f = ftyp();
    f.extend_from_slice(&[0xff; 40]);
    read_err(f, "g.mp4");
}

#[test]
fn hostile_heif() {
    let mut f = bx(b"ftyp", b"heic\0\0\0\0mif1heic");
    // iloc with an absurd item count and a 3-byte field size.
    let iloc = bx(b"iloc", &[1, 0, 0, 0, 0x33, 0x00, 0xff, 0xff]);
    let mut meta = vec![0u8; 4];
    meta.extend_from_slice(&hdlr(b"pict"));
    meta.extend_from_slice(&iloc);
    f.extend_from_slice(&bx(b"meta", &meta));
    read_err(f, "h.heic");
}

#[test]
fn hostile_matroska() {
    let ebml = [0x1A, 0x45, 0xDF, 0xA3, 0x80];
    // A size vint of length 9 (first size byte 0).
    let mut f = ebml.to_vec();
    f.extend_from_slice(&[0x18, 0x53, 0x80, 0x67, 0x00, 0, 0, 0, 0, 0, 0, 0, 1]);
    assert!(read_err(f, "v.mkv").contains("8 bytes"));
    // Segment size past the end of the file.
    let mut f = ebml.to_vec();
    f.extend_from_slice(&[0x18, 0x53, 0x80, 0x67, 0x88, 0, 0, 0, 0, 0, 0, 0x10, 0]);
    read_err(f, "p.mkv");
    // Nested SimpleTag bomb inside Tags.
    let mut st = vec![0x45, 0xA3, 0x84, b'A', b'I', b'G', b'C'];
    for _ in 0..100 {
        let mut e = vec![0x67, 0xC8];
        e.push(0x01); // 8-byte size vint
        e.extend_from_slice(&(st.len() as u64).to_be_bytes()[1..]);
        e.extend_from_slice(&st);
        st = e;
    }
    let mut tags = vec![0x12, 0x54, 0xC3, 0x67, 0x01];
    tags.extend_from_slice(&(st.len() as u64).to_be_bytes()[1..]);
    tags.extend_from_slice(&st);
    let mut f = ebml.to_vec();
    f.extend_from_slice(&[0x18, 0x53, 0x80, 0x67, 0x01]);
    f.extend_from_slice(&(tags.len() as u64).to_be_bytes()[1..]);
    f.extend_from_slice(&tags);
    read_err(f, "bomb.mkv");
    // Truncated real-looking header.
    read_err(vec![0x1A, 0x45, 0xDF, 0xA3, 0x85, 0x42], "tr.mkv");
}

/// Deterministic byte mutations of real labelled files (metadata region first): reading and
/// writing may fail, but never panic.
#[test]
fn mutations_never_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let j = label("MUT", "m");
    let meta = format!("AIGC={j}");
    let mut files = Vec::new();
    for (name, extra) in [
        (
            "m.mp4",
            vec![
                "-c:v",
                "libx264",
                "-movflags",
                "+faststart+use_metadata_tags",
            ],
        ),
        ("m.mkv", vec!["-c:v", "libx264"]),
    ] {
        let p = dir.path().join(name);
        let mut args = vec![
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=0.3:size=32x32:rate=10",
        ];
        args.extend_from_slice(&extra);
        args.extend_from_slice(&["-metadata", &meta, s(&p)]);
        run("ffmpeg", &args);
        files.push(std::fs::read(&p).unwrap());
    }
    let heic = dir.path().join("m.heic");
    run(
        "convert",
        &["-size", "16x16", "gradient:red-blue", s(&heic)],
    );
    let labelled = implicit::embed_bytes(std::fs::read(&heic).unwrap(), &j).unwrap();
    files.push(labelled);
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for bytes in &files {
        let window = bytes.len().min(3000);
        for i in 0..300 {
            let mut b = bytes.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() % window as u64) as usize;
                b[at] = match next() % 4 {
                    0 => 0,
                    1 => 0xff,
                    2 => b[at].wrapping_add(1),
                    _ => next() as u8,
                };
            }
            if i % 10 == 0 {
                b.truncate((next() % b.len() as u64) as usize);
            }
            let _ = implicit::read_bytes(b.clone(), "x", &Profile::builtin());
            let _ = implicit::embed_bytes(b, &j);
        }
    }
}

/// One `stco`/`co64` box: its type, and each entry with the byte offset where it is stored.
type OffsetTable = ([u8; 4], Vec<(usize, u64)>);

/// Every `stco`/`co64` box in `b` (walking `moov/trak/mdia/minf/stbl` from the top level; a
/// box running past the end of `b` ends the walk, so the head of a big file is enough): its
/// type, and each entry with the byte offset where it is stored.
fn chunk_offset_tables(b: &[u8]) -> Vec<OffsetTable> {
    fn walk(b: &[u8], start: usize, end: usize, out: &mut Vec<OffsetTable>) {
        let mut p = start;
        while p + 8 <= end {
            let size32 = u32::from_be_bytes(b[p..p + 4].try_into().unwrap()) as usize;
            let kind: [u8; 4] = b[p + 4..p + 8].try_into().unwrap();
            let (h, size) = if size32 == 1 {
                (
                    16,
                    u64::from_be_bytes(b[p + 8..p + 16].try_into().unwrap()) as usize,
                )
            } else {
                (8, size32)
            };
            if size < h || p + size > end {
                return;
            }
            match &kind {
                b"moov" | b"trak" | b"mdia" | b"minf" | b"stbl" => walk(b, p + h, p + size, out),
                b"stco" | b"co64" => {
                    let n = u32::from_be_bytes(b[p + h + 4..p + h + 8].try_into().unwrap());
                    let w = if &kind == b"co64" { 8 } else { 4 };
                    let entries = (0..n as usize)
                        .map(|i| {
                            let at = p + h + 8 + i * w;
                            let mut v = 0u64;
                            for &x in &b[at..at + w] {
                                v = v << 8 | x as u64;
                            }
                            (at, v)
                        })
                        .collect();
                    out.push((kind, entries));
                }
                _ => {}
            }
            p += size;
        }
    }
    let mut out = Vec::new();
    walk(b, 0, b.len(), &mut out);
    out
}

/// A moov-first MP4 whose last chunk offset (crafted) sits just under 4 GiB: growing moov by
/// the label would carry it past 4 GiB, which a 32-bit `stco` cannot hold. Every `stco` is
/// widened to `co64`, every offset moves by the same amount (the real ones still point at
/// the same bytes), and ffprobe and ExifTool read the label.
#[test]
fn mp4_stco_is_widened_to_co64_when_an_offset_would_pass_4_gib() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = make_av(
        dir.path(),
        "w.mp4",
        &["-c:v", "libx264", "-c:a", "aac", "-movflags", "+faststart"],
    );
    let mut bytes = std::fs::read(&input).unwrap();
    let before = chunk_offset_tables(&bytes);
    assert!(
        before.len() >= 2 && before.iter().all(|(k, _)| k == b"stco"),
        "ffmpeg wrote stco tables"
    );
    let (bogus_at, _) = *before.last().unwrap().1.last().unwrap();
    const NEAR_4_GIB: u64 = 0xffff_ff00;
    bytes[bogus_at..bogus_at + 4].copy_from_slice(&(NEAR_4_GIB as u32).to_be_bytes());
    let crafted = dir.path().join("crafted.mp4");
    std::fs::write(&crafted, &bytes).unwrap();
    let before = chunk_offset_tables(&bytes);

    let out = dir.path().join("out.mp4");
    let json = label("001191110102MACQD9K64010000", "wide");
    embed(&crafted, &out, &json);
    let after_bytes = std::fs::read(&out).unwrap();
    let after = chunk_offset_tables(&after_bytes);
    assert_eq!(after.len(), before.len());
    let shift = after[0].1[0].1 - before[0].1[0].1;
    assert!(shift > 0);
    for ((k0, e0), (k1, e1)) in before.iter().zip(&after) {
        assert_eq!((k0, k1), (b"stco", b"co64"));
        assert_eq!(e0.len(), e1.len());
        for (&(_, old), &(_, new)) in e0.iter().zip(e1) {
            assert_eq!(new, old + shift, "every chunk moved by the same amount");
            if old != NEAR_4_GIB {
                let (o, n) = (old as usize, new as usize);
                assert_eq!(&bytes[o..o + 16], &after_bytes[n..n + 16], "chunk at {old}");
            }
        }
    }
    assert!(NEAR_4_GIB + shift > u32::MAX as u64);
    // The moov grew by the label plus 4 bytes per chunk; mdat follows unchanged.
    let entries: usize = before.iter().map(|(_, e)| e.len()).sum();
    assert!(shift as usize > 4 * entries);
    assert_one(&read(&out), &json, MP4_KEYS);
    assert_eq!(ffprobe_tag(&out), json);
    let keys = exiftool(&["-Keys:AIGC", "-b", s(&out)], dir.path());
    assert_eq!(keys, json);
}

/// A moov-first MP4 that already uses `co64`: offsets are shifted in 64 bits, nothing is
/// refused, the payload is unchanged.
#[test]
fn mp4_with_co64_round_trips() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = make_av(
        dir.path(),
        "c.mp4",
        &["-c:v", "libx264", "-c:a", "aac", "-movflags", "+faststart"],
    );
    let bytes = std::fs::read(&input).unwrap();
    let wide = to_co64(&bytes, 0);
    let crafted = dir.path().join("co64.mp4");
    std::fs::write(&crafted, &wide).unwrap();
    assert!(chunk_offset_tables(&wide).iter().all(|(k, _)| k == b"co64"));
    let before = framemd5(&crafted);
    assert_eq!(
        before,
        framemd5(&input),
        "the crafted co64 file plays the same"
    );
    let out = dir.path().join("out.mp4");
    let json = label("001191110102MACQD9K64010000", "co64");
    embed(&crafted, &out, &json);
    assert_one(&read(&out), &json, MP4_KEYS);
    assert_eq!(ffprobe_tag(&out), json);
    assert_eq!(framemd5(&out), before, "payload changed");
}

/// `b` (a moov-first MP4 with `stco` tables) rebuilt with every `stco` as `co64`, every chunk
/// offset plus `add`, and the box sizes fixed up: an independent construction of the `co64`
/// files the reference must handle (ffmpeg writes `co64` only past 4 GiB).
fn to_co64(b: &[u8], add: u64) -> Vec<u8> {
    fn rebuild(b: &[u8], start: usize, end: usize, add: u64, grow: u64) -> Vec<u8> {
        let mut out = Vec::new();
        let mut p = start;
        while p < end {
            let size = u32::from_be_bytes(b[p..p + 4].try_into().unwrap()) as usize;
            let kind: [u8; 4] = b[p + 4..p + 8].try_into().unwrap();
            assert!(size >= 8 && p + size <= end, "plain 32-bit boxes only");
            let body = match &kind {
                b"moov" | b"trak" | b"mdia" | b"minf" | b"stbl" => {
                    Some(rebuild(b, p + 8, p + size, add, grow))
                }
                b"stco" => {
                    let n = u32::from_be_bytes(b[p + 12..p + 16].try_into().unwrap()) as usize;
                    let mut v = b[p + 8..p + 16].to_vec();
                    for i in 0..n {
                        let at = p + 16 + 4 * i;
                        let o = u32::from_be_bytes(b[at..at + 4].try_into().unwrap()) as u64;
                        v.extend_from_slice(&(o + add + grow).to_be_bytes());
                    }
                    out.extend_from_slice(&((v.len() + 8) as u32).to_be_bytes());
                    out.extend_from_slice(b"co64");
                    out.extend_from_slice(&v);
                    p += size;
                    continue;
                }
                _ => None,
            };
            match body {
                Some(body) => {
                    out.extend_from_slice(&((body.len() + 8) as u32).to_be_bytes());
                    out.extend_from_slice(&kind);
                    out.extend_from_slice(&body);
                }
                None => out.extend_from_slice(&b[p..p + size]),
            }
            p += size;
        }
        out
    }
    // How much moov grows: 4 bytes per stco entry.
    let entries: u64 = chunk_offset_tables(b)
        .iter()
        .map(|(_, e)| e.len() as u64)
        .sum();
    rebuild(b, 0, b.len(), add, 4 * entries)
}

/// Top-level boxes of an MP4: (type, offset, size).
fn top_level_boxes(b: &[u8]) -> Vec<([u8; 4], u64, u64)> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos + 8 <= b.len() {
        let mut size = u32::from_be_bytes(b[pos..pos + 4].try_into().unwrap()) as u64;
        let kind: [u8; 4] = b[pos + 4..pos + 8].try_into().unwrap();
        if size == 1 {
            size = u64::from_be_bytes(b[pos + 8..pos + 16].try_into().unwrap());
        } else if size == 0 {
            size = (b.len() - pos) as u64;
        }
        assert!(size >= 8, "box size {size} at {pos}");
        out.push((kind, pos as u64, size));
        pos += size as usize;
    }
    out
}

/// A moov-first MP4 with over 1 MiB of media data: the label grows moov, and the data moves by
/// a whole number of 4 KiB pages (a `free` box after moov takes the difference), so `mdat`
/// keeps its offset within a page (the kernel copies it page to page; reflinks can share it).
/// The packets are unchanged and every chunk offset points at them (framemd5 decodes them).
#[test]
fn mp4_large_mdat_moves_by_whole_pages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("big.mp4");
    run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=1:size=320x240:rate=20",
            "-vf",
            "noise=alls=80:allf=t+u",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-qp",
            "0",
            "-pix_fmt",
            "yuv420p",
            "-movflags",
            "+faststart",
            s(&input),
        ],
    );
    let before = std::fs::read(&input).unwrap();
    let mdat_at = |b: &[u8]| {
        top_level_boxes(b)
            .iter()
            .find(|(k, _, _)| k == b"mdat")
            .map(|(_, at, _)| *at)
            .expect("mdat")
    };
    let in_mdat = mdat_at(&before);
    assert!(
        before.len() as u64 - in_mdat > 1 << 20,
        "test input too small"
    );
    let out = dir.path().join("out.mp4");
    let j = label("001191110102MACQD9K64010000", "pages");
    embed(&input, &out, &j);
    let after = std::fs::read(&out).unwrap();
    let out_mdat = mdat_at(&after);
    assert_ne!(out_mdat, in_mdat, "moov grew: the data moved");
    assert_eq!(out_mdat % 4096, in_mdat % 4096, "mdat moved by whole pages");
    let boxes = top_level_boxes(&after);
    let moov = boxes.iter().position(|(k, _, _)| k == b"moov").unwrap();
    assert_eq!(&boxes[moov + 1].0, b"free", "{boxes:?}");
    assert_eq!(after[out_mdat as usize..], before[in_mdat as usize..]);
    assert_one(&read(&out), &j, MP4_KEYS);
    assert_eq!(ffprobe_tag(&out), j);
    assert_eq!(framemd5(&out), framemd5(&input), "payload changed");
    // Labelled again (a label already there, moov rewritten): still congruent, one label.
    let out2 = dir.path().join("out2.mp4");
    let j2 = label("001191110102MACQD9K64010000", "pages-again");
    embed(&out, &out2, &j2);
    let again = std::fs::read(&out2).unwrap();
    assert_eq!(mdat_at(&again) % 4096, in_mdat % 4096);
    assert_one(&read(&out2), &j2, MP4_KEYS);
    assert_eq!(framemd5(&out2), framemd5(&input), "payload changed");
}
