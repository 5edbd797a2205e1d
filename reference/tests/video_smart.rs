//! Smart rendering of video labels (issue 14): `mark --duration` re-encodes only the GOPs under
//! the label and copies the rest. Proof, with inputs made by ffmpeg at test time (6 s, 320x240,
//! a keyframe every second):
//! - every video packet after the re-encoded GOPs is byte-identical to the input's, with the same
//!   timestamps and key flags (ffprobe `-show_data_hash`), and the re-encoded ones are not;
//! - every audio packet is identical;
//! - the result decodes in ffmpeg without a single error message;
//! - the label still conforms in the suite's own check (`check --original`: on the first frame,
//!   shown >= 2 s, >= 5 % of the height, in a corner);
//! - the container's metadata and the implicit label survive;
//! - inputs smart rendering cannot handle say `full` and why.
//!
//! Needs ffmpeg/ffprobe with libx264 and libx265 (Debian `ffmpeg`).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_aigc-label");

/// A test's own temporary directory, removed when the test ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let d =
            std::env::temp_dir().join(format!("aigc-video-smart-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(cmd: &mut Command) -> std::process::Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (install ffmpeg: apt-get install ffmpeg)"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A 6 s 320x240 25 fps test video with a 440 Hz tone, a keyframe every 25 frames and a title.
fn make_input(dir: &Scratch, name: &str, video: &[&str], audio: &[&str]) -> PathBuf {
    let p = dir.path(name);
    run(Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=320x240:rate=25")
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
        .args(["-t", "6", "-pix_fmt", "yuv420p", "-g", "25"])
        .args(video)
        .args(audio)
        .args(["-metadata", "title=smart rendering test", "-shortest"])
        .arg(&p));
    p
}

/// One row per packet of a stream: pts, dts, flags and the MD5 of its data.
fn packets(file: &Path, stream: &str) -> Vec<String> {
    let out = run(Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            stream,
            "-show_data_hash",
            "md5",
        ])
        .args([
            "-show_entries",
            "packet=pts,dts,flags,data_hash",
            "-of",
            "csv=p=0",
        ])
        .arg(file));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn mark(input: &Path, output: &Path, extra: &[&str]) -> Value {
    let out = run(Command::new(BIN)
        .arg("mark")
        .arg(input)
        .arg("-o")
        .arg(output)
        .args(["--force", "--json"])
        .args(extra));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["report"]["rendering"].clone()
}

fn title(file: &Path) -> String {
    let out = run(Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format_tags=title",
            "-of",
            "csv=p=0",
        ])
        .arg(file));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Mark with a 2 s label and prove the claims of the module comment; return the report's
/// rendering section.
fn assert_smart(input: &Path, output: &Path) -> Value {
    let rendering = mark(input, output, &["--duration", "2"]);
    assert_eq!(rendering["mode"], "smart", "{rendering}");
    // An MP4/MOV into the same kind of file is joined in place (not by ffmpeg's concat), and
    // these checks are what prove that join right.
    let reason = rendering["reason"].as_str().unwrap().to_string();
    let same_kind = |a: &Path, b: &Path| {
        let ext = |p: &Path| {
            p.extension()
                .unwrap()
                .to_str()
                .unwrap()
                .replace("m4v", "mp4")
        };
        ext(a) == ext(b) && ext(a) != "mkv"
    };
    assert_eq!(
        reason.contains("joined in place"),
        same_kind(input, output),
        "{reason}"
    );
    // 2 s at 25 fps with a keyframe every second: frames 0..50 re-encoded.
    assert_eq!(rendering["reencoded_frames"], 50, "{rendering}");
    let cut = 50;

    let (vin, vout) = (packets(input, "v:0"), packets(output, "v:0"));
    assert_eq!(vin.len(), 150);
    assert_eq!(vout.len(), vin.len(), "video packet count");
    for (i, (a, b)) in vin.iter().zip(&vout).enumerate().skip(cut) {
        assert_eq!(a, b, "video packet {i} (after the re-encoded GOPs) differs");
    }
    assert_ne!(
        vin[0], vout[0],
        "the first packet was not re-encoded (no label could be in it)"
    );
    let (ain, aout) = (packets(input, "a:0"), packets(output, "a:0"));
    assert!(!ain.is_empty());
    assert_eq!(ain, aout, "audio packets differ");

    let decode = run(Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i"])
        .arg(output)
        .args(["-f", "null", "-"]));
    assert!(
        decode.stderr.is_empty(),
        "decoding reported: {}",
        String::from_utf8_lossy(&decode.stderr)
    );

    let check = run(Command::new(BIN)
        .arg("check")
        .arg(output)
        .arg("--original")
        .arg(input)
        .args(["--no-ocr", "--json"]));
    let v: Value = serde_json::from_slice(&check.stdout).unwrap();
    let outcome = |id: &str| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["requirement"] == id)
            .map(|f| f["outcome"].as_str().unwrap_or("").to_string())
            .unwrap_or_else(|| panic!("no {id} in {v}"))
    };
    // c: on the first frame; e: edge/corner; f: >= 5 % of the height; g: >= 2 s from the start.
    for id in ["GB-5.4-c", "GB-5.4-e", "GB-5.4-f", "GB-5.4-g"] {
        assert_eq!(outcome(id), "pass", "{id}: {v}");
    }
    let shown = v["measurements"]["shown_from_start_s"].as_f64().unwrap();
    assert!((shown - 2.0).abs() < 1e-6, "shown {shown} s");
    assert_eq!(title(output), "smart rendering test", "container metadata");
    rendering
}

#[test]
fn h264_in_mp4_copies_everything_after_the_label() {
    let dir = Scratch::new("h264-mp4");
    let input = make_input(
        &dir,
        "h264.mp4",
        &["-c:v", "libx264", "-preset", "veryfast"],
        &["-c:a", "aac"],
    );
    // An implicit label in the input is carried over, as with a full re-encode.
    let labelled = dir.path("h264-implicit.mp4");
    run(Command::new(BIN)
        .arg("embed")
        .arg(&input)
        .arg("-o")
        .arg(&labelled)
        .args(["--force", "--label", "1"])
        .args([
            "--producer",
            "001191110102MACQD9K64010000",
            "--produce-id",
            "t1",
        ]));
    let output = dir.path("h264-out.mp4");
    assert_smart(&labelled, &output);
    let read = run(Command::new(BIN).arg("read").arg(&output).arg("--json"));
    let v: Value = serde_json::from_slice(&read.stdout).unwrap();
    assert_eq!(v["labels"][0]["fields"]["ProduceID"], "t1", "{v}");
}

#[test]
fn h264_in_mkv_copies_everything_after_the_label() {
    let dir = Scratch::new("h264-mkv");
    let input = make_input(
        &dir,
        "h264.mkv",
        &["-c:v", "libx264", "-preset", "veryfast"],
        &["-c:a", "flac"],
    );
    assert_smart(&input, &dir.path("h264-out.mkv"));
}

#[test]
fn h265_in_mp4_copies_everything_after_the_label() {
    let dir = Scratch::new("h265-mp4");
    // Closed GOPs (IDR keyframes): x265's default open GOPs would make the cut unsafe.
    let input = make_input(
        &dir,
        "h265.mp4",
        &[
            "-c:v",
            "libx265",
            "-preset",
            "veryfast",
            "-x265-params",
            "keyint=25:open-gop=0:log-level=error",
        ],
        &["-c:a", "aac"],
    );
    assert_smart(&input, &dir.path("h265-out.mp4"));
}

/// The in-place join of MP4/MOV: with the index before the data (every chunk offset moves by
/// the `moov`'s growth), in a MOV, without B-frames (no composition offsets) and with small
/// chunks (a video chunk holding re-encoded and copied samples); an MP4 written as a MOV
/// changes the kind of file, which the in-place join does not, so ffmpeg joins it.
#[test]
fn mp4_and_mov_are_joined_in_place() {
    let dir = Scratch::new("in-place");
    let x264 = ["-c:v", "libx264", "-preset", "veryfast"];
    let front = make_input(
        &dir,
        "front.mp4",
        &[&x264[..], &["-movflags", "+faststart"]].concat(),
        &["-c:a", "aac"],
    );
    assert_smart(&front, &dir.path("front-out.mp4"));
    let mov = make_input(&dir, "in.mov", &x264, &["-c:a", "aac"]);
    assert_smart(&mov, &dir.path("mov-out.mov"));
    let no_b = make_input(
        &dir,
        "nob.mp4",
        &[&x264[..], &["-bf", "0", "-chunk_duration", "300000"]].concat(),
        &["-c:a", "aac"],
    );
    assert_smart(&no_b, &dir.path("nob-out.mp4"));
    let as_mov = assert_smart(&no_b, &dir.path("nob-out.mov"));
    let reason = as_mov["reason"].as_str().unwrap();
    assert!(reason.contains("other kind of file"), "{reason}");
}

/// The processes still running whose command line names `path`: smart rendering starts the
/// head's decoder before it knows whether it can go on, and none may outlive the request.
fn processes_naming(path: &Path) -> Vec<String> {
    let needle = path.as_os_str().as_encoded_bytes();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if cmdline.windows(needle.len()).any(|w| w == needle) {
            found.push(String::from_utf8_lossy(&cmdline).replace('\0', " "));
        }
    }
    found
}

#[test]
fn unsupported_codec_open_gop_and_whole_video_labels_fall_back_to_full() {
    let dir = Scratch::new("fallbacks");
    let mpeg4 = make_input(&dir, "mpeg4.mp4", &["-c:v", "mpeg4"], &["-c:a", "aac"]);
    let r = mark(&mpeg4, &dir.path("mpeg4-out.mp4"), &["--duration", "2"]);
    assert_eq!(r["mode"], "full", "{r}");
    assert!(r["reason"].as_str().unwrap().contains("mpeg4"), "{r}");
    // The decoder started for smart rendering was stopped when it fell back.
    assert_eq!(processes_naming(&mpeg4), Vec::<String>::new());

    // x265's default open GOPs: every keyframe after the label has leading pictures.
    let open = make_input(
        &dir,
        "h265-open.mp4",
        &[
            "-c:v",
            "libx265",
            "-preset",
            "veryfast",
            "-x265-params",
            "keyint=25:open-gop=1:log-level=error",
        ],
        &["-c:a", "aac"],
    );
    let r = mark(&open, &dir.path("h265-open-out.mp4"), &["--duration", "2"]);
    assert_eq!(r["mode"], "full", "{r}");

    // Without --duration the label is on every frame: nothing to copy.
    let h264 = make_input(&dir, "h264-all.mp4", &["-c:v", "libx264"], &["-c:a", "aac"]);
    let r = mark(&h264, &dir.path("h264-all-out.mp4"), &[]);
    assert_eq!(r["mode"], "full", "{r}");
    assert!(r["reason"].as_str().unwrap().contains("every frame"), "{r}");
}

/// Per stream of `file`: index, type, codec, language, attachment file name and the MD5 of
/// its extradata (an attachment's data is its extradata).
fn streams(file: &Path) -> Vec<String> {
    let out = run(Command::new("ffprobe")
        .args(["-v", "error", "-show_data_hash", "md5", "-show_entries"])
        .arg("stream=index,codec_type,codec_name,extradata_hash:stream_tags=language,filename")
        .args(["-of", "csv=p=0"])
        .arg(file));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// `input` with the subtitles of `srt` added (as `subtitle_codec`, language `chi`), copying the
/// rest; `extra` adds more output options (attachments).
fn with_subtitles(dir: &Scratch, input: &Path, name: &str, codec: &str, extra: &[&str]) -> PathBuf {
    let srt = dir.path("subs.srt");
    std::fs::write(
        &srt,
        "1\n00:00:00,500 --> 00:00:01,500\n标注 one\n\n\
         2\n00:00:03,000 --> 00:00:04,000\nafter the label\n\n",
    )
    .unwrap();
    let p = dir.path(name);
    run(Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(input)
        .arg("-i")
        .arg(&srt)
        .args(["-map", "0", "-map", "1", "-c", "copy", "-c:s", codec])
        .args(["-metadata:s:s:0", "language=chi"])
        .args(extra)
        .arg(&p));
    p
}

/// The subtitled inputs of the stream tests: an MP4 with `mov_text` subtitles and AAC audio,
/// and a Matroska file with ASS subtitles, `audio` (`flac`, `aac`) and a font attachment; both
/// with the subtitle language `chi`.
fn subtitled_inputs(dir: &Scratch, audio: &str) -> (PathBuf, PathBuf) {
    let x264 = ["-c:v", "libx264", "-preset", "veryfast"];
    let mp4 = make_input(dir, "plain.mp4", &x264, &["-c:a", "aac"]);
    let mp4 = with_subtitles(dir, &mp4, "subs.mp4", "mov_text", &[]);
    let mkv = make_input(dir, "plain.mkv", &x264, &["-c:a", audio]);
    let font = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/fonts/label-cjk-subset.otf");
    let font = font.to_str().unwrap();
    let mkv = with_subtitles(
        dir,
        &mkv,
        "subs.mkv",
        "ass",
        &["-attach", font, "-metadata:s:t", "mimetype=font/otf"],
    );
    (mp4, mkv)
}

/// The extradata of `file`'s stream `stream` (ffprobe's hex dump, read back).
fn extradata(file: &Path, stream: &str) -> Vec<u8> {
    let out = run(Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", stream])
        .args(["-show_streams", "-show_data"])
        .arg(file));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut bytes = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("extradata=") {
            inside = true;
            continue;
        }
        // Dump lines: `00000010: 0000 0000 ...  ascii`.
        let Some((offset, rest)) = line.split_once(": ") else {
            inside = false;
            continue;
        };
        if !inside || offset.len() != 8 {
            inside = false;
            continue;
        }
        let hex: String = rest
            .split("  ")
            .next()
            .unwrap()
            .split_whitespace()
            .collect();
        for i in (0..hex.len()).step_by(2) {
            bytes.push(u8::from_str_radix(&hex[i..i + 2], 16).unwrap());
        }
    }
    bytes
}

/// Every stream of `input` but the labelled video is in `output` with the same type, codec,
/// language, extradata and (subtitles) packets; the container's title is kept.
fn assert_streams_copied(input: &Path, output: &Path, kinds: &str) {
    let (sin, sout) = (packets(input, "s:0"), packets(output, "s:0"));
    // Two cues (MP4 adds empty samples for the gaps between them).
    assert!(sin.len() >= 2, "{sin:?}");
    assert_eq!(sin, sout, "subtitle packets of {}", output.display());
    let (ain, aout) = (packets(input, "a:0"), packets(output, "a:0"));
    assert!(!ain.is_empty());
    assert_eq!(ain, aout, "audio packets of {}", output.display());
    // Every stream but the re-encoded video, with its language and data.
    let (a, b) = (streams(input), streams(output));
    let types: Vec<&str> = b.iter().filter_map(|s| s.split(',').nth(2)).collect();
    assert_eq!(types.join(" "), kinds, "{b:?}");
    assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
    // MP4 `mov_text`: ffmpeg reads the `tx3g` sample description's child boxes into the
    // extradata, and its muxer writes the extradata followed by a `btrt` (bit rate) box of its
    // own; so any ffmpeg remux (`-c copy` too: the full re-encode) has the input's description
    // byte for byte, followed by one more 20-byte `btrt` box. That, exactly, is allowed; the
    // in-place join of smart rendering keeps the description as it was.
    let row = |r: &str| match r.contains(",mov_text,") {
        true => r.split(',').filter(|f| !f.starts_with("MD5:")).collect(),
        false => r.to_string(),
    };
    for (x, y) in a.iter().zip(&b).skip(1) {
        assert_eq!(row(x), row(y), "stream of {}", output.display());
        if x.contains(",mov_text,") {
            let (ein, eout) = (extradata(input, "s:0"), extradata(output, "s:0"));
            assert!(ein.len() >= 40, "tx3g description read back: {ein:?}");
            if eout.len() != ein.len() {
                assert_eq!(eout.len(), ein.len() + 20, "{ein:?} vs {eout:?}");
                assert_eq!(&eout[ein.len()..ein.len() + 8], b"\0\0\0\x14btrt");
            }
            assert_eq!(&eout[..ein.len()], &ein[..], "tx3g description changed");
        }
    }
    assert!(b[2].contains("chi"), "{b:?}");
    assert_eq!(title(output), "smart rendering test", "container metadata");
}

/// Smart rendering copies the subtitle streams (MP4 `mov_text`; Matroska ASS, with a font
/// attachment) packet for packet, with their language, and the attachment byte for byte.
#[test]
fn subtitles_and_attachments_are_copied() {
    let dir = Scratch::new("subtitles");
    let (mp4, mkv) = subtitled_inputs(&dir, "flac");
    for (input, output, kinds) in [
        (&mp4, dir.path("subs-out.mp4"), "video audio subtitle"),
        (
            &mkv,
            dir.path("subs-out.mkv"),
            "video audio subtitle attachment",
        ),
    ] {
        assert_smart(input, &output);
        assert_streams_copied(input, &output, kinds);
    }
}

/// The full re-encode (here: a label on every frame) keeps the same streams as smart
/// rendering, through the same code; a stream the output container cannot hold (ASS
/// subtitles in MP4) is left out and named in the report, instead of failing the write.
#[test]
fn full_reencode_keeps_subtitles_and_attachments() {
    let dir = Scratch::new("full-streams");
    let (mp4, mkv) = subtitled_inputs(&dir, "aac");
    for (input, output, kinds) in [
        (&mp4, dir.path("full-out.mp4"), "video audio subtitle"),
        (
            &mkv,
            dir.path("full-out.mkv"),
            "video audio subtitle attachment",
        ),
    ] {
        let r = mark(input, &output, &[]);
        assert_eq!(r["mode"], "full", "{r}");
        assert!(
            r["reason"].as_str().unwrap().contains("copied 2 other")
                || r["reason"].as_str().unwrap().contains("copied 3 other"),
            "{r}"
        );
        assert_streams_copied(input, &output, kinds);
    }
    // Matroska to MP4: the audio is kept, the ASS subtitles and the attachment cannot be.
    let out = dir.path("full-from-mkv.mp4");
    let r = mark(&mkv, &out, &[]);
    assert_eq!(r["mode"], "full", "{r}");
    let reason = r["reason"].as_str().unwrap();
    assert!(reason.contains("copied 1 other"), "{r}");
    assert!(reason.contains("not storable in .mp4"), "{r}");
    // (Timestamps are in each container's own time base: the packets' data is compared.)
    let data = |f: &Path| -> Vec<String> {
        packets(f, "a:0")
            .iter()
            .map(|p| p.rsplit(',').next().unwrap().to_string())
            .collect()
    };
    let audio = data(&mkv);
    assert!(!audio.is_empty());
    assert!(audio == data(&out), "audio packets differ");
    let types: Vec<String> = streams(&out)
        .iter()
        .filter_map(|s| s.split(',').nth(2).map(str::to_string))
        .collect();
    assert_eq!(types.join(" "), "video audio");
}
