//! JPEG block-level marking (issue 14): `aigc-label mark` on a JPEG re-encodes only the blocks
//! under the label. Proved with an independent coefficient decoder (libjpeg through the PyPI
//! package `jpeglib`): every quantised DCT coefficient of every block outside the label's MCUs
//! is identical to the input's, the quantisation tables are the input's, libjpeg's `djpeg`
//! decodes the result, and the label still conforms in the suite's own check (with OCR).
//! Inputs are made at test time by ImageMagick (baseline 4:2:0, 4:4:4, progressive) and
//! libjpeg-turbo's `cjpeg` (restart markers, progressive with restarts, arithmetic coding).
//!
//! Needs python3 with jpeglib, ImageMagick, libjpeg-turbo-progs and tesseract
//! (`scripts/install-deps.sh`); fails with an "install X" message when one is missing.

use aigc_label::explicit::image::{self, jpeg, Anchor};
use aigc_label::explicit::{ExplicitProfile, Outcome};
use aigc_label::Profile;
use std::path::Path;
use std::process::Command;

fn profile() -> ExplicitProfile {
    ExplicitProfile::from_profile(&Profile::builtin()).unwrap()
}

fn need(ok: bool, what: &str) {
    assert!(
        ok,
        "this test needs {what} (scripts/install-deps.sh installs it)"
    );
}

fn tool_ok(cmd: &mut Command) -> bool {
    cmd.output().map(|o| o.status.success()).unwrap_or(false)
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().expect("tool runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn mark_json(input: &Path, output: &Path, position: &str) -> serde_json::Value {
    let out = run(Command::new(env!("CARGO_BIN_EXE_aigc-label"))
        .arg("mark")
        .arg(input)
        .arg("-o")
        .arg(output)
        .args(["--position", position, "--json"]));
    serde_json::from_slice(&out).expect("mark --json prints JSON")
}

/// Compares the coefficients of two JPEGs with libjpeg (jpeglib). Blocks whose MCU meets the
/// plate rectangle may differ; prints JSON counts.
const COMPARE: &str = r#"
import sys, json, jpeglib, numpy as np
a = jpeglib.read_dct(sys.argv[1]); b = jpeglib.read_dct(sys.argv[2])
x0, y0, w, h = map(int, sys.argv[3:7])
# jpeglib's samp_factor rows are (vertical, horizontal).
hmax = int(a.samp_factor[:, 1].max()); vmax = int(a.samp_factor[:, 0].max())
mw, mh = 8 * hmax, 8 * vmax
mx0, mx1 = x0 // mw, (x0 + w - 1) // mw
my0, my1 = y0 // mh, (y0 + h - 1) // mh
res = {"outside_changed": 0, "inside_changed": 0, "blocks": 0,
       "qt_equal": bool(np.array_equal(a.qt, b.qt)), "shapes_equal": True}
chans = [a.Y, a.Cb, a.Cr] if a.has_chrominance else [a.Y]
chbs = [b.Y, b.Cb, b.Cr] if b.has_chrominance else [b.Y]
for i, (ca, cb) in enumerate(zip(chans, chbs)):
    if ca.shape != cb.shape:
        res["shapes_equal"] = False
        continue
    hf, vf = (int(a.samp_factor[i, 1]), int(a.samp_factor[i, 0])) if len(chans) > 1 else (1, 1)
    diff = np.any(ca != cb, axis=(2, 3))
    res["blocks"] += int(diff.size)
    by, bx = np.indices(diff.shape)
    inside = (bx // hf >= mx0) & (bx // hf <= mx1) & (by // vf >= my0) & (by // vf <= my1)
    res["outside_changed"] += int((diff & ~inside).sum())
    res["inside_changed"] += int((diff & inside).sum())
print(json.dumps(res))
"#;

fn compare(input: &Path, output: &Path, plate: &serde_json::Value) -> serde_json::Value {
    let n = |k: &str| plate[k].as_u64().unwrap().to_string();
    let out = run(Command::new("python3")
        .arg("-c")
        .arg(COMPARE)
        .arg(input)
        .arg(output)
        .args([n("x"), n("y"), n("w"), n("h")]));
    serde_json::from_slice(&out).unwrap()
}

fn tools() {
    need(
        tool_ok(Command::new("python3").args(["-c", "import jpeglib"])),
        "the PyPI package jpeglib (pip install jpeglib)",
    );
    need(
        tool_ok(Command::new("convert").arg("-version")),
        "ImageMagick",
    );
    need(
        tool_ok(Command::new("cjpeg").arg("-version")),
        "cjpeg/djpeg (Debian libjpeg-turbo-progs)",
    );
}

#[test]
fn only_the_labels_blocks_change_and_the_label_conforms() {
    tools();
    let p = profile();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.png");
    run(Command::new("convert")
        .args([
            "-size",
            "720x400",
            "plasma:fractal",
            "-seed",
            "11",
            "-depth",
            "8",
        ])
        .arg(&src));
    let ppm = dir.path().join("src.ppm");
    run(Command::new("convert").arg(&src).arg(&ppm));
    let im = |name: &str, args: &[&str]| {
        let f = dir.path().join(name);
        run(Command::new("convert").arg(&src).args(args).arg(&f));
        f
    };
    let cj = |name: &str, args: &[&str]| {
        let f = dir.path().join(name);
        let bytes = run(Command::new("cjpeg").args(args).arg(&ppm));
        std::fs::write(&f, bytes).unwrap();
        f
    };
    // (input, progressive, how the Huffman coding is done: each of the three paths is exercised)
    // (with lengthened tables, only the untouched MCUs that use a lengthened code are re-coded
    // symbol by symbol; the others' bits are copied)
    let (copied, recoded, whole) = ("bits copied", "lengthened", "whole scan");
    let cases = [
        // ImageMagick writes optimised (full) tables: lengthened, untouched MCUs re-coded.
        (
            im("b420.jpg", &["-quality", "85", "-sampling-factor", "4:2:0"]),
            false,
            recoded,
        ),
        (
            im("b444.jpg", &["-quality", "90", "-sampling-factor", "4:4:4"]),
            false,
            recoded,
        ),
        (
            im("prog.jpg", &["-quality", "85", "-interlace", "JPEG"]),
            true,
            whole,
        ),
        (
            im("grey.jpg", &["-colorspace", "Gray", "-quality", "80"]),
            false,
            recoded,
        ),
        // cjpeg writes the standard (Annex K) tables by default: bits copied.
        (
            cj("rst.jpg", &["-quality", "75", "-restart", "3"]),
            false,
            copied,
        ),
        (
            cj("s422.jpg", &["-quality", "75", "-sample", "2x1"]),
            false,
            copied,
        ),
        (
            cj(
                "progrst.jpg",
                &["-quality", "80", "-progressive", "-restart", "1"],
            ),
            true,
            whole,
        ),
        (
            cj("opt.jpg", &["-quality", "80", "-optimize", "-restart", "2"]),
            false,
            recoded,
        ),
    ];
    let positions = [
        "bottom-right",
        "top-left",
        "top",
        "left",
        "bottom",
        "right",
        "top-right",
    ];
    for (i, (input, progressive, coding)) in cases.iter().enumerate() {
        let position = positions[i % positions.len()];
        let output = dir.path().join(format!("out-{i}.jpg"));
        let j = mark_json(input, &output, position);
        let r = &j["report"];
        let name = input.file_name().unwrap().to_string_lossy();
        assert_eq!(r["method"], "jpeg-blocks", "{name}: {j}");
        assert_eq!(
            r["blocks"]["input_progressive"], *progressive,
            "{name}: {j}"
        );
        let how = r["blocks"]["huffman_tables"].as_str().unwrap_or_default();
        assert!(how.contains(coding), "{name}: {j}");
        let c = compare(input, &output, &r["plate"]);
        assert_eq!(c["shapes_equal"], true, "{name}: {c}");
        assert_eq!(c["qt_equal"], true, "{name}: {c}");
        assert_eq!(c["outside_changed"], 0, "{name}: {c}");
        let inside = c["inside_changed"].as_u64().unwrap();
        assert!(inside > 0, "{name}: the label changed no block: {c}");
        assert!(
            inside * 20 < c["blocks"].as_u64().unwrap(),
            "{name}: too many blocks changed: {c}"
        );
        // libjpeg decodes the output without a warning.
        let d = Command::new("djpeg").arg(&output).output().unwrap();
        assert!(
            d.status.success() && d.stderr.is_empty(),
            "{name}: djpeg: {}",
            String::from_utf8_lossy(&d.stderr)
        );
        // Restart markers are kept.
        let rst = |f: &Path| {
            let b = std::fs::read(f).unwrap();
            b.windows(2)
                .filter(|w| w[0] == 0xFF && (0xD0..=0xD7).contains(&w[1]))
                .count()
        };
        if rst(input) > 0 {
            assert!(rst(&output) > 0, "{name}: restart markers dropped");
        }
        // The suite's own check: 5 % height, edge/corner, and (first case) the OCR wording.
        let ocr = i == 0;
        let m = image::measure_file(&output, Some(input), ocr, &p).unwrap();
        let f = image::judge(&m, &p);
        for id in ["GB-5.2-c", "GB-5.2-e"] {
            let o = f.iter().find(|f| f.requirement == id).unwrap();
            assert_eq!(o.outcome, Outcome::Pass, "{name}: {o:?}");
        }
        if ocr {
            assert!(
                f.iter().all(|f| f.outcome == Outcome::Pass),
                "{name}: {f:?}"
            );
        }
    }
}

#[test]
fn unsupported_jpegs_fall_back_and_say_why() {
    tools();
    let dir = tempfile::tempdir().unwrap();
    let cmyk = dir.path().join("cmyk.jpg");
    run(Command::new("convert")
        .args([
            "-size",
            "320x200",
            "gradient:red-blue",
            "-colorspace",
            "CMYK",
        ])
        .arg(&cmyk));
    let out = dir.path().join("out.jpg");
    let j = mark_json(&cmyk, &out, "bottom-right");
    assert_eq!(j["report"]["method"], "full-reencode", "{j}");
    let why = j["report"]["fallback"].as_str().unwrap_or_default();
    assert!(why.contains("CMYK"), "{j}");

    // Arithmetic coding: the block path says so (the full decoder cannot read it either).
    let ppm = dir.path().join("src.ppm");
    run(Command::new("convert")
        .args(["-size", "64x64", "gradient:"])
        .arg(&ppm));
    let bytes = run(Command::new("cjpeg").arg("-arithmetic").arg(&ppm));
    let o = image::render_overlay(64, 64, "AI", Anchor::TopLeft, 0.05).unwrap();
    match jpeg::mark(&bytes, &o) {
        Err(jpeg::JpegError::Unsupported(why)) => assert!(why.contains("arithmetic"), "{why}"),
        other => panic!("arithmetic JPEG: {other:?}"),
    }
}

/// Truncated and bit-flipped JPEGs give errors, never panics (debug build: overflow checks on).
#[test]
fn hostile_jpegs_are_errors_not_panics() {
    tools();
    let dir = tempfile::tempdir().unwrap();
    let mut inputs = Vec::new();
    for args in [
        &["-quality", "80"][..],
        &["-quality", "80", "-interlace", "JPEG"][..],
        &["-quality", "80", "-define", "jpeg:restart-interval=1"][..],
    ] {
        let f = dir.path().join("h.jpg");
        run(Command::new("convert")
            .args(["-size", "48x40", "plasma:", "-seed", "5"])
            .args(args)
            .arg(&f));
        inputs.push(std::fs::read(&f).unwrap());
    }
    let o = image::render_overlay(48, 40, "AI", Anchor::BottomRight, 0.05).unwrap();
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut errors = 0;
    for base in &inputs {
        assert!(jpeg::mark(base, &o).is_ok());
        for cut in (0..base.len()).step_by(7) {
            if jpeg::mark(&base[..cut], &o).is_err() {
                errors += 1;
            }
        }
        for _ in 0..400 {
            let mut d = base.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() % d.len() as u64) as usize;
                d[at] = next() as u8;
            }
            let _ = jpeg::mark(&d, &o);
            let _ = jpeg::dimensions(&d);
        }
    }
    assert!(errors > 0);
    // Errors name an offset.
    let e = jpeg::mark(&inputs[0][..inputs[0].len() / 2], &o).unwrap_err();
    assert!(e.to_string().starts_with("offset "), "{e}");
}

/// The entropy-coded data of each scan: (start, end) offsets.
fn scans_of(d: &[u8]) -> Vec<(usize, usize)> {
    let mut scans = Vec::new();
    let mut i = 2;
    while i + 4 <= d.len() && d[i] == 0xFF && d[i + 1] != 0xD9 {
        let len = ((d[i + 2] as usize) << 8) | d[i + 3] as usize;
        i += 2 + len;
        if d[i - 2 - len + 1] == 0xDA {
            let start = i;
            while !(d[i] == 0xFF && d[i + 1] != 0 && !(0xD0..=0xD7).contains(&d[i + 1])) {
                i += 1;
            }
            scans.push((start, i));
        }
    }
    scans
}

/// Progressive scans are decoded on two threads (DC scans and each component's AC scans are
/// independent chains). A file with two broken scans must still name the first one in the
/// file, whichever thread decoded which, as a decoder reading in order does.
#[test]
fn a_progressive_files_first_broken_scan_is_the_error_reported() {
    tools();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("p.jpg");
    run(Command::new("convert")
        .args(["-size", "320x240", "plasma:", "-seed", "11"])
        .args(["-quality", "90", "-interlace", "JPEG"])
        .arg(&f));
    let base = std::fs::read(&f).unwrap();
    let scans = scans_of(&base);
    assert!(
        scans.len() >= 10,
        "ImageMagick's progressive script: {scans:?}"
    );
    let o = image::render_overlay(320, 240, "AI", Anchor::BottomRight, 0.05).unwrap();
    assert!(jpeg::mark(&base, &o).is_ok());
    // Stuffed 0xFF bytes: a run of 1-bits, never a valid Huffman code (ISO/IEC 10918-1 C),
    // at the very start of the scan, where every first pass decodes a code.
    let broken = |which: &[usize]| {
        let mut d = base.clone();
        for &k in which {
            let s = scans[k].0;
            for j in 0..8 {
                d[s + 2 * j] = 0xFF;
                d[s + 2 * j + 1] = 0x00;
            }
        }
        jpeg::mark(&d, &o).unwrap_err().to_string()
    };
    let last = scans.len() - 1;
    // (scan 0: the DC first pass, all components; 2: a chroma AC first pass; last: the
    // luma's final refinement, which decodes codes from its first block too.)
    for (first, later) in [(0, last), (2, last), (0, 2)] {
        let (a, b) = (broken(&[first]), broken(&[later]));
        assert_ne!(a, b, "scans {first} and {later} fail differently");
        assert!(a.starts_with("offset "), "{a}");
        assert_eq!(broken(&[first, later]), a, "scans {first} and {later}");
    }
}
