//! WAV, AVI, WebP, MP3, FLAC, Ogg Vorbis/Opus and FLV carriers: round trips on files made by
//! real tools at test time, cross-checked with ffprobe, exiftool and mutagen; interop reads of
//! files labelled by other tools (ffmpeg `-metadata`, hand-built trap forms); robustness.
//!
//! External tools: ffmpeg/ffprobe (Debian `ffmpeg`), sox (`sox`), ImageMagick `convert`
//! (`imagemagick`), exiftool (`libimage-exiftool-perl`), mutagen (`python3-mutagen`). A missing
//! tool fails the test with the package to install.

use std::path::{Path, PathBuf};
use std::process::Command;

use aigc_label::implicit::{
    embed_bytes, embed_path, read_bytes, EmbedOptions, ReadReport, Verdict,
};
use aigc_label::io::Overwrite;
use aigc_label::{ProblemCode, Profile};

use crate::common;
use common::{embed, read};

// ---------------------------------------------------------------------------------------------
// helpers

fn package(cmd: &str) -> &'static str {
    match cmd {
        "ffmpeg" | "ffprobe" => "ffmpeg",
        "sox" => "sox",
        "convert" => "imagemagick",
        "exiftool" => "libimage-exiftool-perl",
        "python3" => "python3 and python3-mutagen",
        _ => "(unknown)",
    }
}

/// Run a tool; panics naming the Debian package when it is missing, or with stderr on failure.
fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| {
        panic!(
            "cannot run `{cmd}` ({e}): install the Debian package {}",
            package(cmd)
        )
    });
    assert!(
        out.status.success(),
        "`{cmd} {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

fn ffmpeg(args: &[&str]) {
    let mut a = vec!["-v", "error", "-y", "-nostdin"];
    a.extend_from_slice(args);
    run("ffmpeg", &a);
}

/// ffprobe's view of the AIGC tag (format tags, or stream tags for Ogg).
fn ffprobe_aigc(p: &Path) -> String {
    run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-show_entries",
            "format_tags=AIGC:stream_tags=AIGC",
            "-of",
            "default=nw=1:nk=1",
            s(p),
        ],
    )
    .trim()
    .to_string()
}

/// Decoding the whole file gives no error at all.
fn decodes_cleanly(p: &Path) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i", s(p), "-f", "null", "-"])
        .output()
        .expect("ffmpeg (Debian package ffmpeg)");
    assert!(out.status.success(), "ffmpeg failed on {}", p.display());
    assert!(
        out.stderr.is_empty(),
        "ffmpeg reported errors on {}: {}",
        p.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// MD5 of the decoded stream(s) selected by `map` (`0:a`, `0:v`).
fn md5(p: &Path, map: &str) -> String {
    run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-nostdin",
            "-i",
            s(p),
            "-map",
            map,
            "-f",
            "md5",
            "-",
        ],
    )
}

fn mutagen(p: &Path, key: &str) -> String {
    let code = format!(
        "import mutagen,sys\nf=mutagen.File(sys.argv[1])\nv=f[{key:?}]\nprint(v.text[0] if hasattr(v,'text') else v[0])"
    );
    let out = Command::new("python3")
        .args(["-c", &code, s(p)])
        .output()
        .expect("python3 (Debian package python3)");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("No module named 'mutagen'"),
        "mutagen is missing: install the Debian package python3-mutagen"
    );
    assert!(
        out.status.success(),
        "mutagen failed on {}: {err}",
        p.display()
    );
    String::from_utf8_lossy(&out.stdout)
        .trim_end_matches('\n')
        .to_string()
}

fn exiftool(args: &[&str], p: &Path) -> String {
    let mut a = args.to_vec();
    a.push(s(p));
    run("exiftool", &a).trim().to_string()
}

fn label(n: u32) -> String {
    format!(
        r#"{{"Label":"{}","ContentProducer":"Producer{n}","ProduceID":"id-{n}","ReservedCode1":"","ContentPropagator":"","PropagateID":"","ReservedCode2":""}}"#,
        1 + n % 3
    )
}

/// (carrier, raw) of every label found.
fn labels(p: &Path) -> Vec<(String, String)> {
    read(p)
        .labels
        .iter()
        .map(|l| (l.carrier.clone(), l.raw.clone()))
        .collect()
}

fn codes(r: &ReadReport) -> Vec<ProblemCode> {
    r.labels
        .iter()
        .flat_map(|l| l.problems.iter().map(|p| p.code))
        .chain(r.problems.iter().map(|p| p.code))
        .collect()
}

struct Fixtures {
    dir: tempfile::TempDir,
}

impl Fixtures {
    fn new() -> Fixtures {
        Fixtures {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn wav(&self) -> PathBuf {
        let p = self.path("in.wav");
        run(
            "sox",
            &[
                "-n",
                "-r",
                "8000",
                "-c",
                "1",
                s(&p),
                "synth",
                "0.5",
                "sine",
                "440",
            ],
        );
        p
    }
    /// An audio file made by ffmpeg from a sine (extra arguments before the output).
    fn audio(&self, name: &str, args: &[&str]) -> PathBuf {
        let p = self.path(name);
        let mut a = vec!["-f", "lavfi", "-i", "sine=frequency=440:duration=0.5"];
        a.extend_from_slice(args);
        a.push(s(&p));
        ffmpeg(&a);
        p
    }
    fn video(&self, name: &str, args: &[&str]) -> PathBuf {
        let p = self.path(name);
        let mut a = vec![
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=64x48:duration=1:rate=10",
            "-f",
            "lavfi",
            "-i",
            "sine=duration=1",
        ];
        a.extend_from_slice(args);
        a.push(s(&p));
        ffmpeg(&a);
        p
    }
    fn avi(&self) -> PathBuf {
        self.video("in.avi", &["-c:v", "mpeg4", "-c:a", "pcm_s16le"])
    }
    fn flv(&self) -> PathBuf {
        self.video(
            "in.flv",
            &[
                "-c:v",
                "flv",
                "-g",
                "3",
                "-c:a",
                "libmp3lame",
                "-ar",
                "44100",
            ],
        )
    }
    fn webp(&self, name: &str, extra: &[&str]) -> PathBuf {
        let png = self.path(&format!("{name}.png"));
        run("convert", &["-size", "33x21", "gradient:red-blue", s(&png)]);
        let p = self.path(name);
        let mut a = vec![s(&png)];
        a.extend_from_slice(extra);
        let out = p.to_str().expect("path").to_string();
        a.push(&out);
        run("convert", &a);
        p
    }
}

/// The common round trip: embed twice; each time exactly one label in `carrier`, the
/// independent reader sees the same JSON, and the payload (per `payload`) is unchanged.
fn round_trip(
    fx: &Fixtures,
    input: &Path,
    carrier: &str,
    independent: &dyn Fn(&Path) -> String,
    payload: &dyn Fn(&Path) -> String,
) {
    let ext = input.extension().and_then(|e| e.to_str()).unwrap_or("bin");
    let before = payload(input);
    let mut current = input.to_path_buf();
    for n in 1..=2 {
        let out = fx.path(&format!("out{n}.{ext}"));
        let json = label(n);
        embed(&current, &out, &json);
        let report = read(&out);
        assert_eq!(
            labels(&out),
            vec![(carrier.to_string(), json.clone())],
            "{}",
            out.display()
        );
        assert_eq!(report.verdict, Verdict::Valid, "{report:#?}");
        assert_eq!(
            independent(&out),
            json,
            "independent reader on {}",
            out.display()
        );
        assert_eq!(
            payload(&out),
            before,
            "payload changed in {}",
            out.display()
        );
        current = out;
    }
}

// ---------------------------------------------------------------------------------------------
// round trips

#[test]
fn wav_round_trip_top_level_chunk() {
    let fx = Fixtures::new();
    let wav = fx.wav();
    round_trip(
        &fx,
        &wav,
        "wav/AIGC-chunk",
        &|p| exiftool(&["-u", "-b", "-RIFF:Unknown_AIGC"], p),
        &|p| md5(p, "0:a"),
    );
    // Hand check: the AIGC chunk is the last chunk and the RIFF size covers the whole file.
    let bytes = std::fs::read(fx.path("out2.wav")).expect("read");
    let json = label(2);
    let tail = &bytes[bytes.len() - json.len() - 8 - json.len() % 2..];
    assert_eq!(&tail[0..4], b"AIGC");
    assert_eq!(
        u32::from_le_bytes(tail[4..8].try_into().expect("4")) as usize,
        json.len()
    );
    assert_eq!(
        u32::from_le_bytes(bytes[4..8].try_into().expect("4")) as usize + 8,
        bytes.len()
    );
    decodes_cleanly(&fx.path("out2.wav"));
}

#[test]
fn wav_odd_label_keeps_padding() {
    let fx = Fixtures::new();
    let wav = fx.wav();
    let odd = format!("{} ", label(1)); // trailing space: odd length either way
    let odd = if odd.len() % 2 == 1 { odd } else { label(1) };
    assert_eq!(odd.len() % 2, 1);
    let out = fx.path("odd.wav");
    embed(&wav, &out, &odd);
    let bytes = std::fs::read(&out).expect("read");
    assert_eq!(bytes.len() % 2, 0, "pad byte written");
    assert_eq!(*bytes.last().expect("byte"), 0);
    // Embedding again (the AIGC chunk is then followed by its pad) still parses and replaces.
    let out2 = fx.path("odd2.wav");
    embed(&out, &out2, &label(2));
    assert_eq!(labels(&out2), vec![("wav/AIGC-chunk".into(), label(2))]);
    decodes_cleanly(&out2);
}

#[test]
fn mp3_round_trip() {
    let fx = Fixtures::new();
    let mp3 = fx.audio(
        "in.mp3",
        &["-c:a", "libmp3lame", "-metadata", "title=Keep me"],
    );
    round_trip(
        &fx,
        &mp3,
        "mp3/ID3v2.4/TXXX:AIGC",
        &|p| {
            assert_eq!(ffprobe_aigc(p), mutagen(p, "TXXX:AIGC"));
            mutagen(p, "TXXX:AIGC")
        },
        &|p| md5(p, "0:a"),
    );
    assert_eq!(mutagen(&fx.path("out2.mp3"), "TIT2"), "Keep me");
    decodes_cleanly(&fx.path("out2.mp3"));
}

#[test]
fn mp3_without_tag_gets_v24_tag() {
    let fx = Fixtures::new();
    let mp3 = fx.audio("bare.mp3", &["-c:a", "libmp3lame", "-id3v2_version", "0"]);
    assert!(!std::fs::read(&mp3).expect("read").starts_with(b"ID3"));
    round_trip(
        &fx,
        &mp3,
        "mp3/ID3v2.4/TXXX:AIGC",
        &|p| mutagen(p, "TXXX:AIGC"),
        &|p| md5(p, "0:a"),
    );
}

#[test]
fn mp3_v23_tag_keeps_version() {
    let fx = Fixtures::new();
    let mp3 = fx.audio(
        "v23.mp3",
        &[
            "-c:a",
            "libmp3lame",
            "-id3v2_version",
            "3",
            "-metadata",
            "title=T",
        ],
    );
    round_trip(
        &fx,
        &mp3,
        "mp3/ID3v2.3/TXXX:AIGC",
        &|p| mutagen(p, "TXXX:AIGC"),
        &|p| md5(p, "0:a"),
    );
    // Non-ASCII text goes into a v2.3 tag as UTF-16 (v2.3 has no UTF-8).
    let json = r#"{"Label":"1","ContentProducer":"生成者","ProduceID":"x","ReservedCode1":"","ContentPropagator":"","PropagateID":"","ReservedCode2":""}"#;
    let out = fx.path("utf16.mp3");
    embed(&mp3, &out, json);
    assert_eq!(mutagen(&out, "TXXX:AIGC"), json);
    assert_eq!(labels(&out)[0].1, json);
    assert_eq!(ffprobe_aigc(&out), json);
}

#[test]
fn flac_round_trip() {
    let fx = Fixtures::new();
    let flac = fx.audio("in.flac", &["-metadata", "title=T"]);
    round_trip(
        &fx,
        &flac,
        "flac/VORBIS_COMMENT/AIGC",
        &|p| {
            assert_eq!(ffprobe_aigc(p), mutagen(p, "aigc"));
            mutagen(p, "aigc")
        },
        &|p| md5(p, "0:a"),
    );
    assert_eq!(mutagen(&fx.path("out2.flac"), "title"), "T");
    decodes_cleanly(&fx.path("out2.flac"));
}

#[test]
fn flac_without_comment_block() {
    let fx = Fixtures::new();
    let flac = fx.audio("in.flac", &["-fflags", "+bitexact", "-map_metadata", "-1"]);
    // Remove the VORBIS_COMMENT block ffmpeg always writes, by hand, to test insertion.
    let bytes = std::fs::read(&flac).expect("read");
    let mut out = b"fLaC".to_vec();
    let mut pos = 4;
    let mut blocks = Vec::new();
    loop {
        let last = bytes[pos] & 0x80 != 0;
        let len = u32::from_be_bytes([0, bytes[pos + 1], bytes[pos + 2], bytes[pos + 3]]) as usize;
        if bytes[pos] & 0x7f != 4 {
            blocks.push(bytes[pos..pos + 4 + len].to_vec());
        }
        pos += 4 + len;
        if last {
            break;
        }
    }
    let n = blocks.len();
    for (i, mut b) in blocks.into_iter().enumerate() {
        b[0] = (b[0] & 0x7f) | if i + 1 == n { 0x80 } else { 0 };
        out.extend_from_slice(&b);
    }
    out.extend_from_slice(&bytes[pos..]);
    let stripped = fx.path("nocomment.flac");
    std::fs::write(&stripped, &out).expect("write");
    assert!(labels(&stripped).is_empty());
    round_trip(
        &fx,
        &stripped,
        "flac/VORBIS_COMMENT/AIGC",
        &|p| mutagen(p, "aigc"),
        &|p| md5(p, "0:a"),
    );
}

#[test]
fn ogg_vorbis_round_trip() {
    let fx = Fixtures::new();
    let ogg = fx.audio("in.ogg", &["-c:a", "libvorbis", "-metadata", "title=T"]);
    round_trip(
        &fx,
        &ogg,
        "ogg/vorbis-comment/AIGC",
        &|p| {
            assert_eq!(ffprobe_aigc(p), mutagen(p, "aigc"));
            mutagen(p, "aigc")
        },
        &|p| md5(p, "0:a"),
    );
    decodes_cleanly(&fx.path("out2.ogg"));
    assert_eq!(mutagen(&fx.path("out2.ogg"), "title"), "T");
}

#[test]
fn opus_round_trip() {
    let fx = Fixtures::new();
    let opus = fx.audio("in.opus", &["-c:a", "libopus"]);
    round_trip(
        &fx,
        &opus,
        "opus/OpusTags/AIGC",
        &|p| {
            assert_eq!(ffprobe_aigc(p), mutagen(p, "aigc"));
            mutagen(p, "aigc")
        },
        &|p| md5(p, "0:a"),
    );
    decodes_cleanly(&fx.path("out2.opus"));
}

/// A label larger than one Ogg page: the comment packet spans several pages, all later pages
/// are renumbered and get new CRCs; shrinking it again renumbers back.
#[test]
fn ogg_multi_page_comment_repaginates() {
    let fx = Fixtures::new();
    let big = format!(
        r#"{{"Label":"1","ContentProducer":"P","ProduceID":"{}","ReservedCode1":"","ContentPropagator":"","PropagateID":"","ReservedCode2":""}}"#,
        "x".repeat(150_000)
    );
    for (name, codec) in [("in.ogg", "libvorbis"), ("in.opus", "libopus")] {
        let input = fx.audio(name, &["-c:a", codec]);
        let out = fx.path(&format!("big.{name}"));
        embed(&input, &out, &big);
        assert_eq!(labels(&out).len(), 1);
        assert_eq!(labels(&out)[0].1, big);
        assert_eq!(mutagen(&out, "aigc"), big);
        decodes_cleanly(&out);
        assert_eq!(md5(&out, "0:a"), md5(&input, "0:a"));
        let small = fx.path(&format!("small.{name}"));
        embed(&out, &small, &label(1));
        assert_eq!(mutagen(&small, "aigc"), label(1));
        decodes_cleanly(&small);
        assert_eq!(md5(&small, "0:a"), md5(&input, "0:a"));
    }
}

#[test]
fn avi_round_trip() {
    let fx = Fixtures::new();
    let avi = fx.avi();
    round_trip(&fx, &avi, "avi/LIST-INFO/AIGC", &ffprobe_aigc, &|p| {
        md5(p, "0:v") + &md5(p, "0:a")
    });
    let out = fx.path("out2.avi");
    decodes_cleanly(&out);
    // movi did not move: idx1 offsets stay valid.
    let find = |p: &Path| {
        let b = std::fs::read(p).expect("read");
        b.windows(4).position(|w| w == b"movi")
    };
    assert_eq!(find(&avi), find(&out));
}

/// An AVI whose INFO list before movi holds an AIGC sub-chunk (what the guide's patched
/// ffmpeg writes): the old sub-chunk is removed without moving movi, the new label appended.
#[test]
fn avi_existing_info_label_is_removed_in_place() {
    let fx = Fixtures::new();
    let old = label(7);
    let avi = fx.video(
        "info.avi",
        &[
            "-c:v",
            "mpeg4",
            "-c:a",
            "pcm_s16le",
            "-metadata",
            &format!("title={old}"),
        ],
    );
    let mut bytes = std::fs::read(&avi).expect("read");
    let at = bytes
        .windows(4)
        .position(|w| w == b"INAM")
        .expect("ffmpeg wrote INAM");
    bytes[at..at + 4].copy_from_slice(b"AIGC");
    let labelled = fx.path("labelled.avi");
    std::fs::write(&labelled, &bytes).expect("write");
    assert_eq!(
        labels(&labelled),
        vec![("avi/LIST-INFO/AIGC".into(), old.clone())]
    );
    assert_eq!(ffprobe_aigc(&labelled), old);
    let out = fx.path("out.avi");
    embed(&labelled, &out, &label(1));
    assert_eq!(labels(&out), vec![("avi/LIST-INFO/AIGC".into(), label(1))]);
    assert_eq!(ffprobe_aigc(&out), label(1));
    decodes_cleanly(&out);
    assert_eq!(md5(&out, "0:v"), md5(&avi, "0:v"));
    let out_bytes = std::fs::read(&out).expect("read");
    // Nothing from movi to the old end of the file moved or changed.
    let movi = bytes.windows(4).position(|w| w == b"movi").expect("movi");
    assert_eq!(&out_bytes[movi - 8..bytes.len()], &bytes[movi - 8..]);
    // The INFO list was compacted in place; the freed bytes are a JUNK chunk, which ffmpeg
    // does not show as a tag.
    assert!(out_bytes[..movi].windows(4).any(|w| w == b"JUNK"));
    let tags = run(
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
    );
    assert!(!tags.contains("JUNK"), "{tags}");
    assert!(
        tags.contains("TAG:software="),
        "other INFO entries kept: {tags}"
    );
}

#[test]
fn flv_round_trip() {
    let fx = Fixtures::new();
    let flv = fx.flv();
    round_trip(&fx, &flv, "flv/onMetaData/AIGC", &ffprobe_aigc, &|p| {
        md5(p, "0:v") + &md5(p, "0:a")
    });
    decodes_cleanly(&fx.path("out2.flv"));
}

/// `keyframes.filepositions` (ffmpeg `-flvflags add_keyframe_index`) still point at video tags
/// after the script tag grew.
#[test]
fn flv_keyframe_positions_are_shifted() {
    let fx = Fixtures::new();
    let flv = fx.video(
        "kf.flv",
        &[
            "-c:v",
            "flv",
            "-g",
            "3",
            "-an",
            "-flvflags",
            "add_keyframe_index",
        ],
    );
    let out = fx.path("out.flv");
    embed(&flv, &out, &label(1));
    let bytes = std::fs::read(&out).expect("read");
    let key = b"filepositions";
    let at = bytes
        .windows(key.len())
        .position(|w| w == key)
        .expect("keyframe index present")
        + key.len();
    assert_eq!(bytes[at], 0x0a, "strict array");
    let n = u32::from_be_bytes(bytes[at + 1..at + 5].try_into().expect("4")) as usize;
    assert!(n >= 2);
    for i in 0..n {
        let q = at + 5 + i * 9;
        assert_eq!(bytes[q], 0);
        let pos = f64::from_be_bytes(bytes[q + 1..q + 9].try_into().expect("8")) as usize;
        assert_eq!(
            bytes[pos] & 0x1f,
            9,
            "fileposition {pos} is not a video tag"
        );
        assert_eq!(
            bytes[pos + 11] >> 4,
            1,
            "fileposition {pos} is not a keyframe"
        );
    }
    decodes_cleanly(&out);
}

fn webp_pixels(p: &Path) -> String {
    md5(p, "0:v")
}

#[test]
fn webp_lossy_simple_gets_vp8x() {
    let fx = Fixtures::new();
    let webp = fx.webp("lossy.webp", &["-quality", "80"]);
    assert_eq!(&std::fs::read(&webp).expect("read")[12..16], b"VP8 ");
    round_trip(
        &fx,
        &webp,
        "webp/XMP",
        &|p| exiftool(&["-b", "-XMP-TC260:AIGC"], p),
        &webp_pixels,
    );
    let bytes = std::fs::read(fx.path("out2.webp")).expect("read");
    assert_eq!(&bytes[12..16], b"VP8X");
    assert_eq!(bytes[20] & 0x04, 0x04, "XMP flag");
    let w = u32::from_le_bytes([bytes[24], bytes[25], bytes[26], 0]) + 1;
    let h = u32::from_le_bytes([bytes[27], bytes[28], bytes[29], 0]) + 1;
    assert_eq!((w, h), (33, 21));
    let identify = run(
        "convert",
        &[s(&fx.path("out2.webp")), "-format", "%w %h", "info:"],
    );
    assert_eq!(identify.trim(), "33 21");
}

#[test]
fn webp_lossless_alpha() {
    let fx = Fixtures::new();
    let png = fx.path("alpha.png");
    run(
        "convert",
        &[
            "-size",
            "17x9",
            "xc:none",
            "-fill",
            "red",
            "-draw",
            "rectangle 2,2 8,6",
            s(&png),
        ],
    );
    let webp = fx.path("alpha.webp");
    run(
        "convert",
        &[s(&png), "-define", "webp:lossless=true", s(&webp)],
    );
    let first = std::fs::read(&webp).expect("read")[12..16].to_vec();
    round_trip(
        &fx,
        &webp,
        "webp/XMP",
        &|p| exiftool(&["-b", "-XMP-TC260:AIGC"], p),
        &webp_pixels,
    );
    let bytes = std::fs::read(fx.path("out2.webp")).expect("read");
    assert_eq!(&bytes[12..16], b"VP8X");
    if first == b"VP8L" {
        assert_eq!(bytes[20] & 0x10, 0x10, "alpha flag from the VP8L header");
    }
}

// ---------------------------------------------------------------------------------------------
// interop: files labelled by other tools

#[test]
fn ffmpeg_labelled_files_are_read_and_relabelled() {
    let fx = Fixtures::new();
    let json = label(5);
    let meta = format!("AIGC={json}");
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            "v24.mp3",
            vec!["-c:a", "libmp3lame"],
            "mp3/ID3v2.4/TXXX:AIGC",
        ),
        (
            "v23.mp3",
            vec!["-c:a", "libmp3lame", "-id3v2_version", "3"],
            "mp3/ID3v2.3/TXXX:AIGC",
        ),
        ("x.flac", vec![], "flac/VORBIS_COMMENT/AIGC"),
        (
            "x.ogg",
            vec!["-c:a", "libvorbis"],
            "ogg/vorbis-comment/AIGC",
        ),
        ("x.opus", vec!["-c:a", "libopus"], "opus/OpusTags/AIGC"),
        (
            "x.flv",
            vec!["-c:a", "libmp3lame", "-ar", "44100"],
            "flv/onMetaData/AIGC",
        ),
    ];
    for (name, args, carrier) in cases {
        let mut a = args.clone();
        a.extend_from_slice(&["-metadata", &meta, "-metadata", "title=Keep"]);
        let input = fx.audio(name, &a);
        assert_eq!(
            labels(&input),
            vec![(carrier.to_string(), json.clone())],
            "{name}"
        );
        assert_eq!(read(&input).verdict, Verdict::Valid);
        let out = fx.path(&format!("re.{name}"));
        embed(&input, &out, &label(1));
        assert_eq!(
            labels(&out),
            vec![(carrier.to_string(), label(1))],
            "{name}"
        );
        assert_eq!(ffprobe_aigc(&out), label(1), "{name}");
        let title = run(
            "ffprobe",
            &[
                "-v",
                "error",
                "-show_entries",
                "format_tags=title:stream_tags=title",
                "-of",
                "default=nw=1:nk=1",
                s(&out),
            ],
        );
        assert_eq!(title.trim(), "Keep", "{name}: other tags kept");
        decodes_cleanly(&out);
    }
}

/// A RIFF chunk's bytes (header, data, pad).
fn chunk(id: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut v = id.to_vec();
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(data);
    if data.len() % 2 == 1 {
        v.push(0);
    }
    v
}

/// Insert chunks right after the `fmt ` chunk of a WAV and patch the RIFF size.
fn wav_with(wav: &[u8], before_data: &[Vec<u8>], after_data: &[Vec<u8>]) -> Vec<u8> {
    let data = wav
        .windows(4)
        .position(|w| w == b"data")
        .expect("data chunk");
    let mut out = wav[..data].to_vec();
    for c in before_data {
        out.extend_from_slice(c);
    }
    out.extend_from_slice(&wav[data..]);
    for c in after_data {
        out.extend_from_slice(c);
    }
    let size = (out.len() - 8) as u32;
    out[4..8].copy_from_slice(&size.to_le_bytes());
    out
}

fn info_list(subs: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
    let mut d = b"INFO".to_vec();
    for (id, data) in subs {
        d.extend_from_slice(&chunk(id, data));
    }
    chunk(b"LIST", &d)
}

#[test]
fn wav_info_variant_is_read_and_moved_to_the_standard_chunk() {
    let fx = Fixtures::new();
    let wav = std::fs::read(fx.wav()).expect("read");
    let old = label(3);
    let mut nul_terminated = old.clone().into_bytes();
    nul_terminated.push(0);
    let list = info_list(&[(b"ISFT", b"tool\0"), (b"AIGC", &nul_terminated)]);
    let p = fx.path("info.wav");
    std::fs::write(&p, wav_with(&wav, &[list], &[])).expect("write");
    let r = read(&p);
    assert_eq!(r.labels.len(), 1);
    assert_eq!(r.labels[0].carrier, "wav/LIST-INFO/AIGC");
    assert_eq!(r.labels[0].raw, old, "trailing NUL stripped");
    assert!(codes(&r).contains(&ProblemCode::NonstandardCarrier));
    assert_eq!(ffprobe_aigc(&p), old, "ffprobe sees the INFO variant");
    let out = fx.path("out.wav");
    embed(&p, &out, &label(1));
    assert_eq!(labels(&out), vec![("wav/AIGC-chunk".into(), label(1))]);
    assert_eq!(md5(&out, "0:a"), md5(&p, "0:a"));
    decodes_cleanly(&out);
    // The rest of the INFO list (ISFT) is kept, with its size patched.
    let bytes = std::fs::read(&out).expect("read");
    let kept = info_list(&[(b"ISFT", b"tool\0")]);
    assert!(bytes.windows(kept.len()).any(|w| w == kept.as_slice()));
}

#[test]
fn wav_with_both_carriers_same_and_different() {
    let fx = Fixtures::new();
    let wav = std::fs::read(fx.wav()).expect("read");
    let a = label(1);
    let same = fx.path("same.wav");
    std::fs::write(
        &same,
        wav_with(
            &wav,
            &[info_list(&[(b"AIGC", a.as_bytes())])],
            &[chunk(b"AIGC", a.as_bytes())],
        ),
    )
    .expect("write");
    let r = read(&same);
    assert_eq!(
        r.labels
            .iter()
            .map(|l| l.carrier.as_str())
            .collect::<Vec<_>>(),
        ["wav/LIST-INFO/AIGC", "wav/AIGC-chunk"]
    );
    assert!(codes(&r).contains(&ProblemCode::DuplicateLabel));
    assert_ne!(r.verdict, Verdict::Conflict);
    let diff = fx.path("diff.wav");
    std::fs::write(
        &diff,
        wav_with(
            &wav,
            &[info_list(&[(b"AIGC", a.as_bytes())])],
            &[chunk(b"AIGC", label(2).as_bytes())],
        ),
    )
    .expect("write");
    let r = read(&diff);
    assert_eq!(r.verdict, Verdict::Conflict);
    assert!(codes(&r).contains(&ProblemCode::ConflictingLabels));
    // Writing leaves exactly one label, and the INFO list that held only the label is gone.
    let out = fx.path("out.wav");
    embed(&diff, &out, &label(4));
    assert_eq!(labels(&out), vec![("wav/AIGC-chunk".into(), label(4))]);
    let bytes = std::fs::read(&out).expect("read");
    assert!(!bytes.windows(4).any(|w| w == b"INFO"));
    assert_eq!(md5(&out, "0:a"), md5(&diff, "0:a"));
}

/// A minimal ID3v2 tag with the given version and frames (frame sizes plain for v2.3,
/// syncsafe for v2.4; 3-char ids for v2.2).
fn id3_tag(major: u8, frames: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (id, data) in frames {
        body.extend_from_slice(id.as_bytes());
        let n = data.len() as u32;
        match major {
            2 => body.extend_from_slice(&n.to_be_bytes()[1..4]),
            3 => body.extend_from_slice(&n.to_be_bytes()),
            _ => body.extend_from_slice(&syncsafe(n)),
        }
        if major > 2 {
            body.extend_from_slice(&[0, 0]);
        }
        body.extend_from_slice(data);
    }
    body.extend_from_slice(&[0; 16]); // padding
    let mut tag = vec![b'I', b'D', b'3', major, 0, 0];
    tag.extend_from_slice(&syncsafe(body.len() as u32));
    tag.extend_from_slice(&body);
    tag
}

fn syncsafe(n: u32) -> [u8; 4] {
    [
        (n >> 21 & 0x7f) as u8,
        (n >> 14 & 0x7f) as u8,
        (n >> 7 & 0x7f) as u8,
        (n & 0x7f) as u8,
    ]
}

fn txxx(enc: u8, desc: &str, value: &str) -> Vec<u8> {
    let mut d = vec![enc];
    match enc {
        0 | 3 => {
            d.extend_from_slice(desc.as_bytes());
            d.push(0);
            d.extend_from_slice(value.as_bytes());
        }
        _ => {
            for (i, t) in [desc, value].iter().enumerate() {
                d.extend_from_slice(&[0xff, 0xfe]);
                for u in t.encode_utf16() {
                    d.extend_from_slice(&u.to_le_bytes());
                }
                if i == 0 {
                    d.extend_from_slice(&[0, 0]);
                }
            }
        }
    }
    d
}

/// MPEG audio frames of a real MP3 without its tag.
fn mp3_audio(fx: &Fixtures) -> Vec<u8> {
    std::fs::read(fx.audio("bare.mp3", &["-c:a", "libmp3lame", "-id3v2_version", "0"]))
        .expect("read")
}

#[test]
fn mp3_trap_forms() {
    let fx = Fixtures::new();
    let audio = mp3_audio(&fx);
    let j = label(2);
    let title = ("TIT2", {
        let mut d = vec![3];
        d.extend_from_slice(b"Title");
        d
    });
    // Lower-case description: read, noted as KeyCase; rewritten as AIGC.
    let mut f = id3_tag(4, &[title.clone(), ("TXXX", txxx(3, "aigc", &j))]);
    f.extend_from_slice(&audio);
    let p = fx.path("lower.mp3");
    std::fs::write(&p, &f).expect("write");
    let r = read(&p);
    assert_eq!(r.labels[0].carrier, "mp3/ID3v2.4/TXXX:aigc");
    assert!(codes(&r).contains(&ProblemCode::KeyCase));
    let out = fx.path("lower-out.mp3");
    embed(&p, &out, &label(1));
    assert_eq!(
        labels(&out),
        vec![("mp3/ID3v2.4/TXXX:AIGC".into(), label(1))]
    );
    assert_eq!(mutagen(&out, "TIT2"), "Title");
    assert_eq!(md5(&out, "0:a"), md5(&p, "0:a"));

    // v2.3 UTF-16 TXXX (with BOMs), plus a second AIGC frame: both read, one written.
    let mut f = id3_tag(
        3,
        &[
            ("TXXX", txxx(1, "AIGC", &j)),
            title.clone(),
            ("TXXX", txxx(0, "AIGC", &label(3))),
        ],
    );
    f.extend_from_slice(&audio);
    let p = fx.path("v23.mp3");
    std::fs::write(&p, &f).expect("write");
    let r = read(&p);
    assert_eq!(r.labels.len(), 2);
    assert_eq!(r.labels[0].raw, j);
    assert_eq!(r.labels[0].carrier, "mp3/ID3v2.3/TXXX:AIGC");
    assert_eq!(r.verdict, Verdict::Conflict);
    let out = fx.path("v23-out.mp3");
    embed(&p, &out, &label(1));
    assert_eq!(
        labels(&out),
        vec![("mp3/ID3v2.3/TXXX:AIGC".into(), label(1))]
    );
    assert_eq!(mutagen(&out, "TXXX:AIGC"), label(1));
    assert_eq!(std::fs::read(&out).expect("read")[3], 3, "version kept");

    // v2.2 TXX: read as a non-standard carrier; writing into v2.2 is refused clearly.
    let mut f = id3_tag(2, &[("TXX", txxx(0, "AIGC", &j))]);
    f.extend_from_slice(&audio);
    let p = fx.path("v22.mp3");
    std::fs::write(&p, &f).expect("write");
    let r = read(&p);
    assert_eq!(r.labels[0].carrier, "mp3/ID3v2.2/TXX:AIGC");
    assert!(codes(&r).contains(&ProblemCode::NonstandardCarrier));
    let Err(err) = embed_path(
        &p,
        &fx.path("v22-out.mp3"),
        &label(1),
        EmbedOptions {
            overwrite: Overwrite::Replace,
            durability: Default::default(),
        },
    ) else {
        panic!("v2.2 is not written");
    };
    assert!(err.to_string().contains("v2.2"), "{err}");
}

#[test]
fn mp3_unsynchronised_v23_tag_is_read() {
    // Tag-level unsynchronisation: every FF in the tag is followed by an inserted 00.
    let j = label(1);
    let frame_data = txxx(1, "AIGC", &j); // UTF-16 BOM FF FE needs unsynchronising
    let tag = id3_tag(3, &[("TXXX", frame_data)]);
    let mut body = Vec::new();
    for &b in &tag[10..] {
        body.push(b);
        if b == 0xff {
            body.push(0);
        }
    }
    let mut f = vec![b'I', b'D', b'3', 3, 0, 0x80];
    f.extend_from_slice(&syncsafe(body.len() as u32));
    f.extend_from_slice(&body);
    f.extend_from_slice(&[0xff, 0xfb, 0x90, 0x64]);
    let r = read_bytes(f.clone(), "x.mp3", &Profile::builtin()).expect("read");
    assert_eq!(r.labels.len(), 1);
    assert_eq!(r.labels[0].raw, j);
    let out = embed_bytes(f, &label(2)).expect("embed");
    assert_eq!(out[5] & 0x80, 0, "unsynchronisation flag cleared");
    let r = read_bytes(out, "x.mp3", &Profile::builtin()).expect("read");
    assert_eq!(r.labels.len(), 1);
    assert_eq!(r.labels[0].raw, label(2));
}

#[test]
fn wav_id3_chunk_is_read_and_cleared() {
    let fx = Fixtures::new();
    let wav = std::fs::read(fx.wav()).expect("read");
    let tag = id3_tag(4, &[("TXXX", txxx(3, "AIGC", &label(1)))]);
    let p = fx.path("id3.wav");
    std::fs::write(&p, wav_with(&wav, &[], &[chunk(b"id3 ", &tag)])).expect("write");
    let r = read(&p);
    assert_eq!(r.labels[0].carrier, "wav/id3/ID3v2.4/TXXX:AIGC");
    assert!(codes(&r).contains(&ProblemCode::NonstandardCarrier));
    let out = fx.path("out.wav");
    embed(&p, &out, &label(2));
    assert_eq!(labels(&out), vec![("wav/AIGC-chunk".into(), label(2))]);
    assert!(std::fs::read(&out)
        .expect("read")
        .windows(4)
        .any(|w| w == b"id3 "));
    decodes_cleanly(&out);
}

// ---------------------------------------------------------------------------------------------
// robustness

fn read_err(bytes: Vec<u8>, name: &str) -> String {
    match read_bytes(bytes, name, &Profile::builtin()) {
        Ok(r) => panic!("{name}: expected an error, got {:?}", r.verdict),
        Err(e) => e.to_string(),
    }
}

#[test]
fn corrupt_inputs_give_errors_with_offsets() {
    let fx = Fixtures::new();
    // WAV: chunk size past EOF.
    let mut wav = std::fs::read(fx.wav()).expect("read");
    let data = wav.windows(4).position(|w| w == b"data").expect("data");
    wav[data + 4..data + 8].copy_from_slice(&0x7fff_0000u32.to_le_bytes());
    let e = read_err(wav, "x.wav");
    assert!(
        e.contains(&format!("byte {data}")) && e.contains("runs past"),
        "{e}"
    );
    // WAV: truncated (RIFF size larger than the file).
    let wav = std::fs::read(fx.path("in.wav")).expect("read");
    let e = read_err(wav[..100].to_vec(), "x.wav");
    assert!(e.contains("truncated"), "{e}");
    // An RF64 header without its ds64 chunk is an error naming the chunk found instead.
    let mut rf = wav.clone();
    rf[0..4].copy_from_slice(b"RF64");
    let e = read_err(rf, "x.wav");
    assert!(e.contains("RF64") && e.contains("ds64"), "{e}");
    // ID3 with an absurd size.
    let mut mp3 = b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f".to_vec();
    mp3.extend_from_slice(&[0xff, 0xfb, 0x90, 0x64]);
    let e = read_err(mp3, "x.mp3");
    assert!(e.contains("byte"), "{e}");
    // ID3 size not syncsafe.
    let e = read_err(b"ID3\x04\x00\x00\x00\x00\x80\x00".to_vec(), "x.mp3");
    assert!(e.contains("syncsafe"), "{e}");
    // Ogg: a page CRC that does not match is an error naming the CRC field.
    let ogg = std::fs::read(fx.audio("in.ogg", &["-c:a", "libvorbis"])).expect("read");
    let second = 4 + ogg[4..]
        .windows(4)
        .position(|w| w == b"OggS")
        .expect("page 2");
    let mut bad = ogg.clone();
    bad[second + 40] ^= 0x55;
    let e = read_err(bad.clone(), "x.ogg");
    assert!(
        e.contains("CRC") && e.contains(&format!("byte {}", second + 22)),
        "{e}"
    );
    assert!(embed_bytes(bad, &label(1)).is_err());
    // FLAC truncated inside the metadata.
    let flac = std::fs::read(fx.audio("in.flac", &[])).expect("read");
    let e = read_err(flac[..60].to_vec(), "x.flac");
    assert!(e.contains("truncated"), "{e}");
    // FLV script tag size past EOF.
    let flv = std::fs::read(fx.flv()).expect("read");
    let e = read_err(flv[..200].to_vec(), "x.flv");
    assert!(e.contains("byte 13"), "{e}");
    // Garbage is not any format.
    let e = read_err(b"this is not a media file at all".to_vec(), "x.bin");
    assert!(e.contains("unsupported"), "{e}");
}

/// Truncations and byte flips of every fixture: read and write never panic.
#[test]
fn mangled_inputs_never_panic() {
    let fx = Fixtures::new();
    let files = [
        fx.wav(),
        fx.audio("m.mp3", &["-c:a", "libmp3lame", "-metadata", "AIGC=x"]),
        fx.audio("m.flac", &["-metadata", "AIGC=x"]),
        fx.audio("m.ogg", &["-c:a", "libvorbis", "-metadata", "AIGC=x"]),
        fx.audio("m.opus", &["-c:a", "libopus", "-metadata", "AIGC=x"]),
        fx.avi(),
        fx.flv(),
        fx.webp("m.webp", &[]),
    ];
    let profile = Profile::builtin();
    for f in &files {
        let bytes = std::fs::read(f).expect("read");
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("x");
        let head = bytes.len().min(600);
        let mut cases: Vec<Vec<u8>> = (0..head).step_by(7).map(|n| bytes[..n].to_vec()).collect();
        for i in (0..head).step_by(5) {
            for x in [0xffu8, 0x80, 0x01] {
                let mut b = bytes.clone();
                b[i] ^= x;
                cases.push(b);
            }
        }
        for b in cases {
            let _ = read_bytes(b.clone(), name, &profile);
            let _ = embed_bytes(b, &label(1));
        }
    }
}

/// A WAV written by ffmpeg to a pipe has the size placeholders 0xFFFFFFFF; the label is
/// appended and both sizes become real.
#[test]
fn wav_streamed_to_a_pipe_gets_real_sizes() {
    let fx = Fixtures::new();
    let out = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-nostdin",
            "-f",
            "lavfi",
            "-i",
            "sine=duration=0.2",
            "-f",
            "wav",
            "-",
        ])
        .output()
        .expect("ffmpeg (Debian package ffmpeg)");
    assert!(out.status.success());
    assert_eq!(
        &out.stdout[4..8],
        &[0xff; 4],
        "ffmpeg wrote the pipe placeholder"
    );
    let p = fx.path("pipe.wav");
    std::fs::write(&p, &out.stdout).expect("write");
    assert!(labels(&p).is_empty());
    round_trip(
        &fx,
        &p,
        "wav/AIGC-chunk",
        &|p| exiftool(&["-u", "-b", "-RIFF:Unknown_AIGC"], p),
        &|p| md5(p, "0:a"),
    );
    let bytes = std::fs::read(fx.path("out2.wav")).expect("read");
    assert_eq!(
        u32::from_le_bytes(bytes[4..8].try_into().expect("4")) as usize + 8,
        bytes.len()
    );
    decodes_cleanly(&fx.path("out2.wav"));
}

/// A tiny WAV built byte by byte (deterministic, for the golden report).
fn tiny_wav() -> Vec<u8> {
    let mut fmt = Vec::new();
    fmt.extend_from_slice(&1u16.to_le_bytes()); // PCM
    fmt.extend_from_slice(&1u16.to_le_bytes()); // mono
    fmt.extend_from_slice(&8000u32.to_le_bytes());
    fmt.extend_from_slice(&8000u32.to_le_bytes());
    fmt.extend_from_slice(&1u16.to_le_bytes());
    fmt.extend_from_slice(&8u16.to_le_bytes());
    let mut body = b"WAVE".to_vec();
    body.extend_from_slice(&chunk(b"fmt ", &fmt));
    body.extend_from_slice(&chunk(b"data", &[0x80, 0x90, 0xa0, 0x90, 0x80, 0x70, 0x60]));
    chunk(b"RIFF", &body)
}

/// Golden report for the WAV trap "both carriers, different values" (digest §5 trap 13:
/// guide = top-level chunk, tools = LIST/INFO; 6.1 c: one label per file).
#[test]
fn golden_wav_both_carriers_conflict() {
    let wav = tiny_wav();
    let f = wav_with(
        &wav,
        &[info_list(&[(b"AIGC", label(1).as_bytes())])],
        &[chunk(b"AIGC", label(2).as_bytes())],
    );
    let report = read_bytes(f, "both.wav", &Profile::builtin()).expect("read");
    insta::assert_json_snapshot!(report);
}

/// A top-level AIGC chunk in an AVI (the WAV carrier): read and noted as non-standard; the
/// writer drops it (it sits after idx1, where nothing refers to offsets).
#[test]
fn avi_top_level_chunk_variant() {
    let fx = Fixtures::new();
    let mut bytes = std::fs::read(fx.avi()).expect("read");
    let riff_end = u32::from_le_bytes(bytes[4..8].try_into().expect("4")) as usize + 8;
    assert_eq!(riff_end, bytes.len());
    bytes.extend_from_slice(&chunk(b"AIGC", label(3).as_bytes()));
    let size = (bytes.len() - 8) as u32;
    bytes[4..8].copy_from_slice(&size.to_le_bytes());
    let p = fx.path("top.avi");
    std::fs::write(&p, &bytes).expect("write");
    let r = read(&p);
    assert_eq!(r.labels.len(), 1);
    assert_eq!(r.labels[0].carrier, "avi/AIGC-chunk");
    assert!(codes(&r).contains(&ProblemCode::NonstandardCarrier));
    decodes_cleanly(&p);
    let out = fx.path("out.avi");
    embed(&p, &out, &label(1));
    assert_eq!(labels(&out), vec![("avi/LIST-INFO/AIGC".into(), label(1))]);
    assert_eq!(ffprobe_aigc(&out), label(1));
    decodes_cleanly(&out);
}

/// ID3v2.4 frame sizes written as plain integers (the iTunes bug) are still read.
#[test]
fn id3v24_plain_frame_size_is_tolerated() {
    let j = label(1);
    let data = txxx(3, "AIGC", &j);
    assert!(data.len() >= 128, "size byte needs its top bit set");
    let mut body = b"TXXX".to_vec();
    body.extend_from_slice(&(data.len() as u32).to_be_bytes());
    body.extend_from_slice(&[0, 0]);
    body.extend_from_slice(&data);
    let mut f = vec![b'I', b'D', b'3', 4, 0, 0];
    f.extend_from_slice(&syncsafe(body.len() as u32));
    f.extend_from_slice(&body);
    f.extend_from_slice(&[0xff, 0xfb, 0x90, 0x64]);
    let r = read_bytes(f, "x.mp3", &Profile::builtin()).expect("read");
    assert_eq!(r.labels.len(), 1);
    assert_eq!(r.labels[0].raw, j);
}

/// An FLV without an onMetaData tag gets one right after the header.
#[test]
fn flv_without_metadata_gets_a_script_tag() {
    let fx = Fixtures::new();
    let bytes = std::fs::read(fx.flv()).expect("read");
    let start = u32::from_be_bytes(bytes[5..9].try_into().expect("4")) as usize + 4;
    assert_eq!(bytes[start], 18, "ffmpeg writes onMetaData first");
    let size = u32::from_be_bytes([0, bytes[start + 1], bytes[start + 2], bytes[start + 3]]);
    let mut stripped = bytes[..start].to_vec();
    stripped.extend_from_slice(&bytes[start + 11 + size as usize + 4..]);
    let p = fx.path("nometa.flv");
    std::fs::write(&p, &stripped).expect("write");
    assert!(labels(&p).is_empty());
    round_trip(&fx, &p, "flv/onMetaData/AIGC", &ffprobe_aigc, &|p| {
        md5(p, "0:v") + &md5(p, "0:a")
    });
    decodes_cleanly(&fx.path("out2.flv"));
}

// ---------------------------------------------------------------------------------------------
// RF64/BW64 and OpenDML AVI (the forms of files over 4 GiB / 1 GiB), on small files

/// The 64-bit RIFF size in the ds64 chunk of an RF64/BW64 file.
fn ds64_riff_size(b: &[u8]) -> u64 {
    assert_eq!(&b[12..16], b"ds64");
    u64::from_le_bytes(b[20..28].try_into().expect("8"))
}

/// An RF64 WAV made by ffmpeg (`-rf64 always`): round trip twice, ExifTool sees the chunk, the
/// audio is unchanged, the 32-bit sizes stay 0xFFFFFFFF and ds64 holds the new RIFF size.
#[test]
fn rf64_wav_round_trip() {
    let fx = Fixtures::new();
    let wav = fx.audio("rf.wav", &["-rf64", "always"]);
    let raw = std::fs::read(&wav).expect("read");
    assert_eq!(&raw[0..4], b"RF64", "ffmpeg wrote RF64");
    round_trip(
        &fx,
        &wav,
        "wav/AIGC-chunk",
        &|p| {
            exiftool(&["-u", "-b", "-RIFF:Unknown_AIGC"], p)
                .trim_end_matches('\0')
                .to_string()
        },
        &|p| md5(p, "0:a"),
    );
    let out = std::fs::read(fx.path("out2.wav")).expect("read");
    assert_eq!(&out[0..4], b"RF64");
    assert_eq!(&out[4..8], &[0xff; 4]);
    assert_eq!(ds64_riff_size(&out), out.len() as u64 - 8);
    // The data chunk is byte for byte where it was.
    let data = raw.windows(4).position(|w| w == b"data").expect("data");
    let data_size = u64::from_le_bytes(raw[28..36].try_into().expect("8")) as usize;
    assert_eq!(
        &out[data..data + 8 + data_size],
        &raw[data..data + 8 + data_size]
    );
    decodes_cleanly(&fx.path("out2.wav"));
}

/// BW64 (ITU-R BS.2088) is RF64 with another magic: read and written the same way, the magic
/// kept.
#[test]
fn bw64_wav_round_trip() {
    let fx = Fixtures::new();
    let wav = fx.audio("rf.wav", &["-rf64", "always"]);
    let mut raw = std::fs::read(&wav).expect("read");
    raw[0..4].copy_from_slice(b"BW64");
    let bw = fx.path("bw.wav");
    std::fs::write(&bw, &raw).expect("write");
    assert_eq!(read(&bw).verdict, Verdict::Unlabeled);
    let out = fx.path("bw-out.wav");
    embed(&bw, &out, &label(3));
    assert_eq!(labels(&out), vec![("wav/AIGC-chunk".into(), label(3))]);
    let b = std::fs::read(&out).expect("read");
    assert_eq!(&b[0..4], b"BW64");
    assert_eq!(ds64_riff_size(&b), b.len() as u64 - 8);
}

/// A hostile ds64: a RIFF size past the end of the file, and a table of other big chunks (not
/// supported), are errors naming the problem; never a panic.
#[test]
fn rf64_hostile_ds64() {
    let fx = Fixtures::new();
    let wav = fx.audio("rf.wav", &["-rf64", "always"]);
    let raw = std::fs::read(&wav).expect("read");
    let mut big = raw.clone();
    big[20..28].copy_from_slice(&u64::MAX.to_le_bytes());
    let e = read_err(big, "x.wav");
    assert!(e.contains("byte 20"), "{e}");
    let mut table = raw.clone();
    table[44..48].copy_from_slice(&1u32.to_le_bytes());
    let e = read_err(table, "x.wav");
    assert!(e.contains("ds64 table"), "{e}");
    let mut data = raw;
    data[28..36].copy_from_slice(&(u64::MAX - 4).to_le_bytes());
    let e = read_err(data, "x.wav");
    assert!(e.contains("byte"), "{e}");
}

/// An AVI followed by a `RIFF AVIX` extension (OpenDML, what files over 1 GiB look like; made
/// here by appending a small AVIX to ffmpeg's AVI, since ffmpeg starts one only after 1 GiB).
/// Nothing may move: the label takes the place of ffmpeg's JUNK padding before movi, every
/// byte from movi to the end is unchanged, and ffprobe reads the label.
#[test]
fn opendml_avi_label_goes_into_junk_before_movi() {
    let fx = Fixtures::new();
    let avi = fx.avi();
    let mut bytes = std::fs::read(&avi).expect("read");
    let mut movi = b"movi".to_vec();
    movi.extend_from_slice(&chunk(b"00dc", &[0u8; 32]));
    let mut avix = b"AVIX".to_vec();
    avix.extend_from_slice(&chunk(b"LIST", &movi));
    bytes.extend_from_slice(&chunk(b"RIFF", &avix));
    let odml = fx.path("odml.avi");
    std::fs::write(&odml, &bytes).expect("write");
    assert_eq!(read(&odml).verdict, Verdict::Unlabeled);
    let movi_at = bytes.windows(4).position(|w| w == b"movi").expect("movi") - 8;
    let mut current = odml.clone();
    for n in 1..=2 {
        let out = fx.path(&format!("odml-{n}.avi"));
        embed(&current, &out, &label(n));
        let b = std::fs::read(&out).expect("read");
        assert_eq!(labels(&out), vec![("avi/LIST-INFO/AIGC".into(), label(n))]);
        assert_eq!(ffprobe_aigc(&out), label(n));
        assert_eq!(b.len(), bytes.len(), "nothing may grow");
        assert_eq!(&b[movi_at..], &bytes[movi_at..], "movi and AVIX unchanged");
        assert_eq!(&b[..12], &bytes[..12], "the RIFF size is unchanged");
        assert_eq!(md5(&out, "0:v"), md5(&avi, "0:v"));
        current = out;
    }
    // No padding large enough: refused, never moving anything.
    let big = "x".repeat(4000);
    let json = format!(
        r#"{{"Label":"1","ContentProducer":"{big}","ProduceID":"p","ReservedCode1":"","ContentPropagator":"","PropagateID":"","ReservedCode2":""}}"#
    );
    let e = embed_bytes(bytes, &json).unwrap_err().to_string();
    assert!(e.contains("OpenDML") && e.contains("JUNK"), "{e}");
}
