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
