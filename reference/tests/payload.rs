//! The payload fingerprint must see through metadata written by other tools and must see a
//! change of content. Inputs are the carrier vectors (made by ExifTool and ffmpeg from the plain
//! files), so each pair differs only in the label its tool wrote.

use aigc_label::payload::fingerprint;
use std::path::{Path, PathBuf};

fn v(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../vectors/implicit/formats")
        .join(name)
}

#[test]
fn labels_written_by_other_tools_do_not_change_the_payload() {
    for (plain, labelled, format) in [
        ("plain.jpg", "exiftool-xmp.jpg", "jpeg"),
        ("plain.jpg", "exiftool-usercomment.jpg", "jpeg"),
        ("plain.webp", "exiftool-xmp.webp", "webp"),
        ("plain.gif", "exiftool-xmp.gif", "gif"),
        ("plain.tif", "exiftool-xmp.tif", "tiff"),
        ("plain.flac", "ffmpeg.flac", "flac"),
        ("plain.ogg", "ffmpeg.ogg", "ogg"),
        ("plain.m4a", "ffmpeg.m4a", "mp4"),
        ("plain.mkv", "ffmpeg.mkv", "mkv"),
        ("plain.mp4", "exiftool-xmp.mp4", "mp4"),
        ("plain.wav", "craft-aigc-chunk.wav", "wav"),
        ("plain.avi", "craft-list-info.avi", "avi"),
        ("plain.pdf", "exiftool-info.pdf", "pdf"),
        ("plain.pdf", "exiftool-xmp.pdf", "pdf"),
        ("plain.docx", "python-custom.docx", "ooxml"),
        ("plain.md", "md-dialect-b.md", "markdown"),
    ] {
        let a = fingerprint(&v(plain), format).unwrap_or_else(|e| panic!("{plain}: {e}"));
        let b = fingerprint(&v(labelled), format).unwrap_or_else(|e| panic!("{labelled}: {e}"));
        assert_eq!(a, b, "{plain} vs {labelled}");
    }
}

#[test]
fn different_content_is_seen() {
    for (a, b, format) in [
        ("plain.mp4", "plain.mov", "mp4"), // same packets: the container differs only
        ("plain.jpg", "plain.webp", "jpeg"),
        ("plain.mkv", "plain.webm", "mkv"),
        ("plain.md", "md-dialect-b.md", "markdown"),
    ] {
        let fa = fingerprint(&v(a), format).unwrap();
        let fb = fingerprint(&v(b), format).unwrap();
        if a == "plain.mp4" {
            assert_eq!(fa, fb, "a remux keeps every packet");
        } else if a == "plain.md" {
            assert_eq!(fa, fb);
        } else {
            assert_ne!(fa, fb, "{a} vs {b}");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let edited = dir.path().join("edited.md");
    std::fs::write(
        &edited,
        std::fs::read_to_string(v("plain.md")).unwrap() + "one more line\n",
    )
    .unwrap();
    assert_ne!(
        fingerprint(&v("plain.md"), "markdown").unwrap(),
        fingerprint(&edited, "markdown").unwrap()
    );
}

/// One identity per format: every registered format states its modality and its payload
/// method, and both answer for a real file of that format (the plain carrier vector).
#[test]
fn every_registered_format_has_a_modality_and_a_payload_method() {
    use aigc_label::explicit::Modality;
    use aigc_label::implicit::FORMATS;
    // Chapter 5's modality of each format, written out independently of the registry.
    let expected = |id: &str, file: &str| match id {
        "png" | "jpeg" | "gif" | "tiff" | "webp" | "heif" => Modality::Image,
        "wav" | "mp3" | "flac" | "ogg" => Modality::Audio,
        "mp4" if file.ends_with(".m4a") => Modality::Audio,
        "mp4" | "mkv" | "avi" | "flv" => Modality::Video,
        "pdf" | "ooxml" | "markdown" => Modality::Text,
        other => panic!("format {other} is missing from this test's table"),
    };
    for format in FORMATS {
        let plains: Vec<PathBuf> = format
            .extensions()
            .iter()
            .map(|ext| v(&format!("plain.{ext}")))
            .filter(|p| p.exists())
            .collect();
        assert!(!plains.is_empty(), "{}: no plain vector", format.id());
        for plain in plains {
            let name = plain.display().to_string();
            let head = std::fs::read(&plain).unwrap();
            let stated = format.modality(&head[..head.len().min(64)]);
            assert_eq!(stated, expected(format.id(), &name), "{name}");
            assert_eq!(Modality::detect(&plain).unwrap(), stated, "{name}");
            let print = fingerprint(&plain, format.id()).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(print.method, format.payload().name(), "{name}");
        }
    }
    // Ids that are not registered are refused, not guessed.
    for id in ["isobmff", "matroska", "heic", "docx"] {
        assert!(fingerprint(&v("plain.mp4"), id).is_err(), "{id}");
    }
}

fn differs(a: &Path, b: &Path, format: &str) -> bool {
    let fa = fingerprint(a, format).unwrap_or_else(|e| panic!("{}: {e}", a.display()));
    let fb = fingerprint(b, format).unwrap_or_else(|e| panic!("{}: {e}", b.display()));
    fa != fb
}

fn tool(cmd: &mut std::process::Command) {
    let out = cmd
        .output()
        .expect("the tool runs (scripts/install-deps.sh installs it)");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The smallest changes of content, one per format family, are seen: one pixel, one byte of
/// one packet, one PDF content operator and one page key, one OOXML part, one Markdown
/// front-matter key other than AIGC. And what is not content stays out: a recompressed PDF,
/// a re-serialised front matter, a changed AIGC key.
#[test]
fn one_pixel_one_packet_one_key_changes_are_seen() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // Image: one pixel.
    let mut img = image::open(v("plain.png")).unwrap().to_rgba8();
    let p = img.get_pixel_mut(0, 0);
    p.0[0] ^= 1;
    img.save(d.join("pixel.png")).unwrap();
    assert!(
        differs(&v("plain.png"), &d.join("pixel.png"), "png"),
        "one pixel"
    );

    // Audio/video: one byte of one packet (inside mdat; the container is untouched).
    let mut mp4 = std::fs::read(v("plain.mp4")).unwrap();
    let at = mp4.windows(4).position(|w| w == b"mdat").expect("mdat") + 64;
    mp4[at] ^= 0x01;
    std::fs::write(d.join("packet.mp4"), &mp4).unwrap();
    assert!(
        differs(&v("plain.mp4"), &d.join("packet.mp4"), "mp4"),
        "one packet byte"
    );
    let mut wav = std::fs::read(v("plain.wav")).unwrap();
    let n = wav.len();
    wav[n - 2] ^= 0x01;
    std::fs::write(d.join("sample.wav"), &wav).unwrap();
    assert!(
        differs(&v("plain.wav"), &d.join("sample.wav"), "wav"),
        "one sample"
    );

    // PDF: QDF (uncompressed, editable), then one content-stream operand, one page key.
    let qdf = d.join("q.pdf");
    tool(
        std::process::Command::new("qpdf")
            .args(["--qdf", "--object-streams=disable"])
            .arg(v("plain.pdf"))
            .arg(&qdf),
    );
    assert!(
        !differs(&v("plain.pdf"), &qdf, "pdf"),
        "a QDF rewrite is the same content"
    );
    let text = std::fs::read(&qdf).unwrap();
    let stream = text
        .windows(7)
        .position(|w| w == b"stream\n")
        .expect("a stream")
        + 7;
    let digit = stream
        + text[stream..]
            .iter()
            .position(u8::is_ascii_digit)
            .expect("a number in the content stream");
    let mut op = text.clone();
    op[digit] = if op[digit] == b'9' {
        b'8'
    } else {
        op[digit] + 1
    };
    std::fs::write(d.join("op.pdf"), &op).unwrap();
    assert!(
        differs(&qdf, &d.join("op.pdf"), "pdf"),
        "one content operand"
    );
    let page =
        String::from_utf8_lossy(&text).replacen("/Type /Page\n", "/Rotate 90\n  /Type /Page\n", 1);
    assert_ne!(page.as_bytes(), &text[..], "the page dictionary was found");
    std::fs::write(d.join("rot-raw.pdf"), page.as_bytes()).unwrap();
    tool(
        std::process::Command::new("fix-qdf")
            .arg(d.join("rot-raw.pdf"))
            .stdout(std::fs::File::create(d.join("rot.pdf")).unwrap()),
    );
    assert!(differs(&qdf, &d.join("rot.pdf"), "pdf"), "one page key");

    // OOXML: one part's byte.
    tool(std::process::Command::new("python3").args([
        "-c",
        "import sys, zipfile\n\
         src, dst = zipfile.ZipFile(sys.argv[1]), zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_DEFLATED)\n\
         for i in src.infolist():\n\
         \x20   data = src.read(i)\n\
         \x20   if i.filename == 'word/document.xml':\n\
         \x20       data = data.replace(b'</w:t>', b'.</w:t>', 1)\n\
         \x20   dst.writestr(i, data)\n\
         dst.close()",
    ])
    .arg(v("plain.docx"))
    .arg(d.join("part.docx")));
    assert!(
        differs(&v("plain.docx"), &d.join("part.docx"), "ooxml"),
        "one part"
    );

    // Markdown: a user's key, and what a label may change.
    let md = |name: &str, text: &str| {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let base = md(
        "a.md",
        "---\ntitle: 我的文章\ntags: [a, b]\n---\n# T\n\ntext\n",
    );
    let labelled = md(
        "b.md",
        "---\ntitle: \"我的文章\"\ntags:\n  - a\n  - b\nAIGC:\n  Label: \"1\"\n---\n# T\n\ntext\n",
    );
    let untitled = md(
        "c.md",
        "---\ntags: [a, b]\nAIGC:\n  Label: \"1\"\n---\n# T\n\ntext\n",
    );
    let retitled = md(
        "d.md",
        "---\ntitle: 他的文章\ntags: [a, b]\n---\n# T\n\ntext\n",
    );
    let only_aigc = md("e.md", "---\nAIGC:\n  Label: \"1\"\n---\n# T\n\ntext\n");
    let plain = md("f.md", "# T\n\ntext\n");
    assert!(
        !differs(&base, &labelled, "markdown"),
        "re-serialised YAML and an AIGC key"
    );
    assert!(differs(&base, &untitled, "markdown"), "a deleted title:");
    assert!(differs(&base, &retitled, "markdown"), "a changed title:");
    assert!(
        !differs(&plain, &only_aigc, "markdown"),
        "front matter holding only AIGC"
    );
}

/// Processes whose command line contains `needle`.
fn with_marker(needle: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            text.contains(needle).then_some(text)
        })
        .collect()
}

#[test]
fn a_tool_past_the_callers_deadline_is_killed_with_everything_it_started() {
    use aigc_label::tool::{with_deadline, Deadline, Tool};
    use std::time::Duration;
    // A tool that never ends, with a child and a grandchild: the marker is in their argv.
    let marker = format!("{}.{}", 7000 + std::process::id() % 1000, 53);
    let script = format!("sleep {marker} & sh -c 'sleep {marker}' & sleep {marker}; wait");
    let input = v("plain.mp4");
    // A generous limit: the test asserts what happens at it, never how soon it comes.
    let deadline = Deadline::after(Duration::from_secs(2), "test.limit_s");
    let err = with_deadline(deadline, || {
        Tool::new("sh")
            .args(["-c", &script])
            .file(&input)
            .run()
            .unwrap_err()
    });
    assert!(err.is_timeout(), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("sh on ")
            && message.contains("plain.mp4")
            && message.contains("2 s (test.limit_s)"),
        "the error names the tool, the file and the limit: {message}"
    );
    let left = with_marker(&marker);
    assert!(left.is_empty(), "processes survived the deadline: {left:?}");
    // Outside the closure no deadline is in force, and a quick tool runs as before.
    assert!(aigc_label::tool::current_deadline().is_none());
    let out = Tool::new("sh").args(["-c", "echo ok"]).run().unwrap();
    assert_eq!(out, b"ok\n");
}

#[test]
fn a_fingerprint_under_a_deadline_already_past_is_an_error_naming_ffmpeg() {
    use aigc_label::tool::{with_deadline, Deadline};
    use std::time::Duration;
    let err = with_deadline(Deadline::after(Duration::ZERO, "test.limit_s"), || {
        fingerprint(&v("plain.mp4"), "mp4").unwrap_err()
    });
    let message = err.to_string();
    assert!(
        message.contains("ffmpeg on ") && message.contains("test.limit_s"),
        "{message}"
    );
}
