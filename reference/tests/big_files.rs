//! The forms of files over 4 GiB: BigTIFF on a small file made by ImageMagick (`TIFF64:`), and
//! real files over 4 GiB made at test time on sparse files (MP4 with `co64`, MP4 whose `stco`
//! must be widened to `co64`, RF64 WAV, BigTIFF): each is labelled, read back, cross-checked
//! with ExifTool / ffprobe, and the bytes that must not change are compared with `cmp`.
//!
//! The > 4 GiB tests write several GiB each and are `#[ignore]`d; `scripts/big-files.sh` runs
//! them (release build) and times `embed` against `cat` on the inputs they leave in
//! `$AIGC_BIG_FILES_DIR` when that is set.
//!
//! Needs: ffmpeg/ffprobe (`ffmpeg`), exiftool (`libimage-exiftool-perl`), ImageMagick
//! (`imagemagick`), `cmp` (`diffutils`).

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use aigc_label::implicit::Verdict;

use crate::common;
use common::{embed, read};

const TC260_CONFIG: &str = "%Image::ExifTool::UserDefined = ('Image::ExifTool::XMP::Main' => { TC260 => { SubDirectory => { TagTable => 'Image::ExifTool::UserDefined::TC260' } } }); %Image::ExifTool::UserDefined::TC260 = (GROUPS => { 0 => 'XMP', 1 => 'XMP-TC260', 2 => 'Image' }, NAMESPACE => { 'TC260' => 'http://www.tc260.org.cn/ns/AIGC/1.0/' }, WRITABLE => 'string', AIGC => { }); 1;\n";

const JSON: &str = r#"{"Label":"1","ContentProducer":"001191110102MACQD9K64010000","ProduceID":"big-file","ReservedCode1":"","ContentPropagator":"001191110102MACQD9K64010000","PropagateID":"big-file","ReservedCode2":""}"#;

const GIB: u64 = 1 << 30;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Run a tool; fail with the Debian package to install when it is missing.
fn run(tool: &str, args: &[&str]) -> String {
    let package = match tool {
        "ffmpeg" | "ffprobe" => "ffmpeg",
        "exiftool" => "libimage-exiftool-perl",
        "convert" | "compare" => "imagemagick",
        "cmp" => "diffutils",
        _ => "?",
    };
    let out = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run {tool} ({e}); install the Debian package {package}")
    });
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// ExifTool's value of one tag (with the TC260 XMP namespace configured).
fn exiftool(tag: &str, p: &Path) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("tc260.config");
    std::fs::write(&cfg, TC260_CONFIG).expect("config");
    // LargeFileSupport: ExifTool 12.57 skips files over 2 GiB without it.
    let args = [
        "-config",
        s(&cfg),
        "-api",
        "LargeFileSupport=1",
        "-u",
        "-b",
        tag,
        s(p),
    ];
    run("exiftool", &args)
        .trim_end_matches(['\0', '\n'])
        .to_string()
}

/// `len` bytes of `a` from `a_at` equal `len` bytes of `b` from `b_at`.
fn same_range(a: &Path, a_at: u64, b: &Path, b_at: u64, len: u64) {
    let skip = format!("{a_at}:{b_at}");
    let n = len.to_string();
    run("cmp", &["-i", &skip, "-n", &n, s(a), s(b)]);
}

/// Where the big files go: `$AIGC_BIG_FILES_DIR` (kept, for `scripts/big-files.sh`), else a
/// temporary folder removed at the end.
fn big_dir() -> (Option<tempfile::TempDir>, PathBuf) {
    match std::env::var_os("AIGC_BIG_FILES_DIR") {
        Some(d) => {
            std::fs::create_dir_all(&d).expect("AIGC_BIG_FILES_DIR");
            (None, PathBuf::from(d))
        }
        None => {
            let t = tempfile::tempdir().expect("tempdir");
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    }
}

/// A sparse file of `len` bytes holding `parts` (offset, bytes); everything else is a hole.
fn sparse_file(path: &Path, len: u64, parts: &[(u64, &[u8])]) {
    let mut f = std::fs::File::create(path).expect("create");
    f.set_len(len).expect("set_len");
    for (at, bytes) in parts {
        f.seek(SeekFrom::Start(*at)).expect("seek");
        f.write_all(bytes).expect("write");
    }
}

fn labelled_once(p: &Path) {
    let r = read(p);
    assert_eq!(r.labels.len(), 1, "{r:#?}");
    assert_eq!(r.labels[0].raw, JSON);
    assert_eq!(r.verdict, Verdict::Valid, "{r:#?}");
}

// ---------------------------------------------------------------------------------------------
// BigTIFF, small

/// A BigTIFF made by ImageMagick: labelled twice (the second packet does not fit in place, so
/// the packet and IFD0 are appended), read by ExifTool, same pixels, the strips unchanged.
#[test]
fn bigtiff_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.tif");
    run(
        "convert",
        &[
            "-size",
            "40x30",
            "gradient:red-blue",
            &format!("TIFF64:{}", s(&input)),
        ],
    );
    let bytes = std::fs::read(&input).expect("read");
    assert_eq!(&bytes[0..4], b"II+\0", "ImageMagick wrote a BigTIFF");
    assert_eq!(read(&input).verdict, Verdict::Unlabeled);
    let out1 = dir.path().join("1.tif");
    embed(&input, &out1, JSON);
    labelled_once(&out1);
    assert_eq!(exiftool("-XMP-TC260:AIGC", &out1), JSON);
    // Everything but the IFD0 offset in the header is where it was.
    same_range(&input, 16, &out1, 16, bytes.len() as u64 - 16);
    let longer = JSON.replace("big-file", "a-longer-produce-id-for-the-second-label");
    let out2 = dir.path().join("2.tif");
    embed(&out1, &out2, &longer);
    let r = read(&out2);
    assert_eq!(r.labels.len(), 1, "{r:#?}");
    assert_eq!(r.labels[0].raw, longer);
    assert_eq!(exiftool("-XMP-TC260:AIGC", &out2), longer);
    let ae = Command::new("compare")
        .args(["-metric", "AE", s(&input), s(&out2), "null:"])
        .output()
        .expect("compare (imagemagick)");
    assert_eq!(
        String::from_utf8_lossy(&ae.stderr).trim(),
        "0",
        "pixels changed"
    );
    // Shorter again: rewritten in place, nothing appended.
    let out3 = dir.path().join("3.tif");
    embed(&out2, &out3, JSON);
    labelled_once(&out3);
    assert_eq!(
        std::fs::metadata(&out3).unwrap().len(),
        std::fs::metadata(&out2).unwrap().len()
    );
}

/// Hostile BigTIFF headers: errors naming the byte, never a panic.
#[test]
fn bigtiff_hostile_headers() {
    let mut b = b"II+\0\x08\0\0\0".to_vec();
    b.extend_from_slice(&u64::MAX.to_le_bytes());
    let e = aigc_label::implicit::read_bytes(b.clone(), "x.tif", &aigc_label::Profile::builtin())
        .unwrap_err()
        .to_string();
    assert!(e.contains("byte 8"), "{e}");
    b[8..16].copy_from_slice(&16u64.to_le_bytes());
    b.extend_from_slice(&u64::MAX.to_le_bytes()); // entry count
    let e = aigc_label::implicit::read_bytes(b.clone(), "x.tif", &aigc_label::Profile::builtin())
        .unwrap_err()
        .to_string();
    assert!(e.contains("byte 16"), "{e}");
    b[4] = 4; // offset size 4
    let e = aigc_label::implicit::read_bytes(b, "x.tif", &aigc_label::Profile::builtin())
        .unwrap_err()
        .to_string();
    assert!(e.contains("offset size 4"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// > 4 GiB, on sparse files

/// The top-level boxes of an MP4: (type, start, end).
fn top_boxes(b: &[u8]) -> Vec<([u8; 4], usize, usize)> {
    let mut out = Vec::new();
    let mut p = 0;
    while p + 8 <= b.len() {
        let size = u32::from_be_bytes(b[p..p + 4].try_into().unwrap()) as usize;
        assert!(size >= 8, "plain 32-bit boxes only");
        out.push((b[p + 4..p + 8].try_into().unwrap(), p, p + size));
        p += size;
    }
    out
}

/// The head of a moov-first MP4 (every box before `mdat`), rebuilt with every chunk offset
/// plus `add` plus what moov grows by, as `co64` when `wide`: an independent construction of
/// the tables of a big file.
fn rebuild_head(b: &[u8], add: u64, wide: bool) -> Vec<u8> {
    fn entries(b: &[u8], start: usize, end: usize) -> u64 {
        let mut n = 0;
        let mut p = start;
        while p + 8 <= end {
            let size = u32::from_be_bytes(b[p..p + 4].try_into().unwrap()) as usize;
            match &b[p + 4..p + 8] {
                b"moov" | b"trak" | b"mdia" | b"minf" | b"stbl" => n += entries(b, p + 8, p + size),
                b"stco" => n += u32::from_be_bytes(b[p + 12..p + 16].try_into().unwrap()) as u64,
                _ => {}
            }
            p += size;
        }
        n
    }
    fn rebuild(b: &[u8], start: usize, end: usize, shift: u64, wide: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut p = start;
        while p < end {
            let size = u32::from_be_bytes(b[p..p + 4].try_into().unwrap()) as usize;
            let kind: [u8; 4] = b[p + 4..p + 8].try_into().unwrap();
            let (kind, body) = match &kind {
                b"moov" | b"trak" | b"mdia" | b"minf" | b"stbl" => {
                    (kind, rebuild(b, p + 8, p + size, shift, wide))
                }
                b"stco" => {
                    let n = u32::from_be_bytes(b[p + 12..p + 16].try_into().unwrap()) as usize;
                    let mut v = b[p + 8..p + 16].to_vec();
                    for i in 0..n {
                        let at = p + 16 + 4 * i;
                        let o = u32::from_be_bytes(b[at..at + 4].try_into().unwrap()) as u64;
                        if wide {
                            v.extend_from_slice(&(o + shift).to_be_bytes());
                        } else {
                            let o = u32::try_from(o + shift).expect("fits stco");
                            v.extend_from_slice(&o.to_be_bytes());
                        }
                    }
                    (if wide { *b"co64" } else { *b"stco" }, v)
                }
                _ => {
                    out.extend_from_slice(&b[p..p + size]);
                    p += size;
                    continue;
                }
            };
            out.extend_from_slice(&((body.len() + 8) as u32).to_be_bytes());
            out.extend_from_slice(&kind);
            out.extend_from_slice(&body);
            p += size;
        }
        out
    }
    let grow = if wide { 4 * entries(b, 0, b.len()) } else { 0 };
    rebuild(b, 0, b.len(), add + grow, wide)
}

/// The largest chunk offset of an MP4 head.
fn max_chunk_offset(b: &[u8]) -> u64 {
    fn go(b: &[u8], start: usize, end: usize, max: &mut u64) {
        let mut p = start;
        while p + 8 <= end {
            let size = u32::from_be_bytes(b[p..p + 4].try_into().unwrap()) as usize;
            match &b[p + 4..p + 8] {
                b"moov" | b"trak" | b"mdia" | b"minf" | b"stbl" => go(b, p + 8, p + size, max),
                b"stco" => {
                    let n = u32::from_be_bytes(b[p + 12..p + 16].try_into().unwrap()) as usize;
                    for i in 0..n {
                        let at = p + 16 + 4 * i;
                        let o = u32::from_be_bytes(b[at..at + 4].try_into().unwrap()) as u64;
                        *max = (*max).max(o);
                    }
                }
                _ => {}
            }
            p += size;
        }
    }
    let mut max = 0;
    go(b, 0, b.len(), &mut max);
    max
}

/// A moov-first MP4 whose `mdat` (64-bit size) starts with a hole of `hole` bytes before the
/// real media data: a real, playable file of `hole` + a few KB, with `co64` tables when
/// `wide`. Returns the path and the offset of the mdat header.
fn big_mp4(dir: &Path, name: &str, hole: u64, wide: bool) -> (PathBuf, u64) {
    let small = dir.join(format!("{name}.small.mp4"));
    run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=2:size=160x120:rate=10",
            "-f",
            "lavfi",
            "-i",
            "sine=d=2",
            "-c:v",
            "libx264",
            "-c:a",
            "aac",
            "-movflags",
            "+faststart",
            s(&small),
        ],
    );
    let b = std::fs::read(&small).expect("read");
    std::fs::remove_file(&small).ok();
    let boxes = top_boxes(&b);
    let (_, mdat_start, mdat_end) = *boxes.iter().find(|x| &x.0 == b"mdat").expect("mdat");
    assert_eq!(mdat_end, b.len(), "mdat last");
    // 8 more header bytes (64-bit size) and the hole before the original mdat body.
    let head = rebuild_head(&b[..mdat_start], 8 + hole, wide);
    let body = &b[mdat_start + 8..];
    let mut header = 1u32.to_be_bytes().to_vec();
    header.extend_from_slice(b"mdat");
    header.extend_from_slice(&(16 + hole + body.len() as u64).to_be_bytes());
    let path = dir.join(name);
    let h = head.len() as u64;
    sparse_file(
        &path,
        h + 16 + hole + body.len() as u64,
        &[(0, &head), (h, &header), (h + 16 + hole, body)],
    );
    (path, h)
}

/// Every packet's checksum (stream copy, no decode).
fn framemd5(path: &Path) -> String {
    run(
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
    )
    .lines()
    .filter(|l| !l.starts_with('#'))
    .collect::<Vec<_>>()
    .join("\n")
}

fn ffprobe_tag(path: &Path) -> String {
    run(
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
    )
    .trim_end()
    .to_string()
}

/// Check a labelled big MP4 against its input: one label, seen by ffprobe and ExifTool, the
/// same packets, and the whole mdat (hole included) byte for byte the same.
fn check_big_mp4(input: &Path, in_mdat: u64, out: &Path) {
    labelled_once(out);
    assert_eq!(ffprobe_tag(out), JSON);
    assert_eq!(exiftool("-Keys:AIGC", out), JSON);
    assert_eq!(framemd5(out), framemd5(input), "packets changed");
    let in_len = std::fs::metadata(input).unwrap().len();
    let out_len = std::fs::metadata(out).unwrap().len();
    let out_mdat = in_mdat + (out_len - in_len);
    same_range(input, in_mdat, out, out_mdat, in_len - in_mdat);
}

/// An MP4 of 4.5 GiB with `co64` tables: the label grows moov, every 64-bit offset moves.
#[test]
#[ignore = "writes a 4.5 GiB file; run by scripts/big-files.sh"]
fn big_mp4_co64() {
    let (_keep, dir) = big_dir();
    let (input, mdat) = big_mp4(&dir, "big-co64.mp4", 4 * GIB + GIB / 2, true);
    let out = dir.join("out-big-co64.mp4");
    embed(&input, &out, JSON);
    check_big_mp4(&input, mdat, &out);
    std::fs::remove_file(&out).ok();
}

/// An MP4 just under 4 GiB with 32-bit `stco` tables whose last chunk ends 64 bytes below
/// 4 GiB: the label pushes it past, every `stco` becomes `co64`.
#[test]
#[ignore = "writes a 4 GiB file; run by scripts/big-files.sh"]
fn big_mp4_stco_widened() {
    let (_keep, dir) = big_dir();
    // Find the hole that puts the last chunk 64 bytes below 4 GiB: build once to measure.
    let (probe, _) = big_mp4(&dir, "big-stco.mp4", 0, false);
    let head = std::fs::read(&probe).unwrap();
    let max = max_chunk_offset(&head[..top_boxes_head_len(&head)]);
    let hole = (1u64 << 32) - 64 - max;
    let (input, mdat) = big_mp4(&dir, "big-stco.mp4", hole, false);
    let out = dir.join("out-big-stco.mp4");
    embed(&input, &out, JSON);
    let out_head = read_head(&out, 1 << 20);
    assert!(
        out_head.windows(4).any(|w| w == b"co64"),
        "stco widened to co64"
    );
    assert!(!out_head.windows(4).any(|w| w == b"stco"));
    check_big_mp4(&input, mdat, &out);
    std::fs::remove_file(&out).ok();
}

/// Length of the boxes before `mdat` in an MP4 whose mdat has a 64-bit size.
fn top_boxes_head_len(b: &[u8]) -> usize {
    let mut p = 0;
    while p + 8 <= b.len() {
        if &b[p + 4..p + 8] == b"mdat" {
            return p;
        }
        p += u32::from_be_bytes(b[p..p + 4].try_into().unwrap()) as usize;
    }
    panic!("no mdat")
}

fn read_head(p: &Path, n: u64) -> Vec<u8> {
    use std::io::Read;
    let mut v = Vec::new();
    std::fs::File::open(p)
        .unwrap()
        .take(n)
        .read_to_end(&mut v)
        .unwrap();
    v
}

/// An RF64 WAV with 4.5 GiB of (sparse, silent) 16-bit mono samples.
#[test]
#[ignore = "writes a 4.5 GiB file; run by scripts/big-files.sh"]
fn big_rf64_wav() {
    let (_keep, dir) = big_dir();
    let data_size: u64 = 4 * GIB + GIB / 2;
    let mut h = b"RF64\xff\xff\xff\xffWAVEds64".to_vec();
    h.extend_from_slice(&28u32.to_le_bytes());
    let fmt_len = 8 + 16;
    let riff_size = 4 + (8 + 28) + fmt_len + 8 + data_size;
    h.extend_from_slice(&riff_size.to_le_bytes());
    h.extend_from_slice(&data_size.to_le_bytes());
    h.extend_from_slice(&(data_size / 2).to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes());
    h.extend_from_slice(b"fmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes()); // PCM
    h.extend_from_slice(&1u16.to_le_bytes()); // mono
    h.extend_from_slice(&48000u32.to_le_bytes());
    h.extend_from_slice(&96000u32.to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&16u16.to_le_bytes());
    h.extend_from_slice(b"data\xff\xff\xff\xff");
    let input = dir.join("big.wav");
    sparse_file(&input, h.len() as u64 + data_size, &[(0, &h)]);
    assert_eq!(read(&input).verdict, Verdict::Unlabeled);
    let out = dir.join("out-big.wav");
    embed(&input, &out, JSON);
    labelled_once(&out);
    assert_eq!(exiftool("-RIFF:Unknown_AIGC", &out), JSON);
    let dur = run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "default=nw=1:nk=1",
            s(&out),
        ],
    );
    let secs: f64 = dur.trim().parse().expect("duration");
    assert!((secs - data_size as f64 / 96000.0).abs() < 1.0, "{secs}");
    let out_head = read_head(&out, 64);
    let out_len = std::fs::metadata(&out).unwrap().len();
    assert_eq!(
        u64::from_le_bytes(out_head[20..28].try_into().unwrap()),
        out_len - 8
    );
    // Everything after the ds64 RIFF size, samples included, is unchanged.
    same_range(&input, 28, &out, 28, h.len() as u64 + data_size - 28);
    std::fs::remove_file(&out).ok();
}

/// A BigTIFF of 65536 x 70000 8-bit gray (4.3 GiB of sparse, black strips).
#[test]
#[ignore = "writes a 4.3 GiB file; run by scripts/big-files.sh"]
fn big_bigtiff() {
    let (_keep, dir) = big_dir();
    let (w, h, rows) = (65536u64, 70000u64, 1000u64);
    let strips = h.div_ceil(rows);
    let ifd_entries: [(u16, u16, u64, u64); 9] = [
        (256, 4, 1, w),
        (257, 4, 1, h),
        (258, 3, 1, 8),
        (259, 3, 1, 1),
        (262, 3, 1, 1),
        (273, 16, strips, 0), // StripOffsets (LONG8), array below
        (277, 3, 1, 1),
        (278, 4, 1, rows),
        (279, 16, strips, 0), // StripByteCounts (LONG8)
    ];
    let ifd_len = 8 + 20 * ifd_entries.len() as u64 + 8;
    let offsets_at = 16 + ifd_len;
    let counts_at = offsets_at + 8 * strips;
    let data_at = 4096u64;
    let mut b = b"II+\0\x08\0\0\0".to_vec();
    b.extend_from_slice(&16u64.to_le_bytes());
    b.extend_from_slice(&(ifd_entries.len() as u64).to_le_bytes());
    for (tag, typ, count, value) in ifd_entries {
        b.extend_from_slice(&tag.to_le_bytes());
        b.extend_from_slice(&typ.to_le_bytes());
        b.extend_from_slice(&count.to_le_bytes());
        let v = match tag {
            273 => offsets_at,
            279 => counts_at,
            _ => value,
        };
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&0u64.to_le_bytes());
    for i in 0..strips {
        b.extend_from_slice(&(data_at + i * rows * w).to_le_bytes());
    }
    for i in 0..strips {
        b.extend_from_slice(&((rows.min(h - i * rows)) * w).to_le_bytes());
    }
    let len = data_at + w * h;
    let input = dir.join("big.tif");
    sparse_file(&input, len, &[(0, &b)]);
    assert_eq!(read(&input).verdict, Verdict::Unlabeled);
    let out = dir.join("out-big.tif");
    embed(&input, &out, JSON);
    labelled_once(&out);
    assert_eq!(exiftool("-XMP-TC260:AIGC", &out), JSON);
    let dims = run(
        "exiftool",
        &[
            "-api",
            "LargeFileSupport=1",
            "-s3",
            "-ImageWidth",
            "-ImageHeight",
            s(&out),
        ],
    );
    assert_eq!(
        dims.split_whitespace().collect::<Vec<_>>(),
        ["65536", "70000"]
    );
    // Everything after the header's IFD0 offset is unchanged; the new IFD0 is past 4 GiB.
    same_range(&input, 16, &out, 16, len - 16);
    let out_head = read_head(&out, 16);
    assert!(u64::from_le_bytes(out_head[8..16].try_into().unwrap()) > 1 << 32);
    std::fs::remove_file(&out).ok();
}
