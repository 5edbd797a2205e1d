//! Hostile sizes, counts and depths (issue 7): each is refused with a clear error (a
//! `CodecError::Limit` or `Corrupt` naming the byte) or read harmlessly and without allocating
//! by the declared size. The limits are in `aigc_label::limits`.
//!
//! "Harmlessly" is measured deterministically, never by the clock (issue 18): the peak heap
//! the reader holds, counted by a test allocator (`alloc_meter`), is bounded well below what
//! following the hostile structure would cost. Hangs are caught by a generous safety net.

use std::io::Write;
use std::time::Duration;

use crate::alloc_meter;
use alloc_meter::{largest_allocation, peak_during, within_safety_net};

/// Longest any single hostile input may run before the test calls it a hang (a safety net,
/// not the assertion: generous for a debug build on a loaded 2-core machine).
const SAFETY_NET: Duration = Duration::from_secs(300);

const MIB: u64 = 1024 * 1024;

use aigc_label::error::CodecError;
use aigc_label::implicit::{embed_bytes, read_bytes};
use aigc_label::label::{parse_label_text, CarrierKind};
use aigc_label::{limits, Profile};

const LABEL: &str = r#"{"Label":"1","ContentProducer":"001191110102MACQD9K64010000","ProduceID":"1","ReservedCode1":"","ContentPropagator":"001191110102MACQD9K64010000","PropagateID":"1","ReservedCode2":""}"#;

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
}

/// A 1x1 PNG with `extra` chunks (already encoded) between IHDR and IDAT.
fn png_with(extra: &[u8]) -> Vec<u8> {
    let mut p = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut p, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
    p.extend_from_slice(extra);
    chunk(
        &mut p,
        b"IDAT",
        &[0x78, 0x01, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01],
    );
    chunk(&mut p, b"IEND", &[]);
    p
}

/// zlib data inflating to `n` bytes of `fill` (a few KB for 17 MB).
fn bomb(n: usize, fill: u8) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let block = vec![fill; 1 << 20];
    let mut left = n;
    while left > 0 {
        let k = left.min(block.len());
        z.write_all(&block[..k]).unwrap();
        left -= k;
    }
    z.finish().unwrap()
}

fn read(bytes: Vec<u8>) -> Result<aigc_label::implicit::ReadReport, CodecError> {
    read_bytes(bytes, "test", &Profile::builtin())
}

fn assert_limit(r: Result<impl std::fmt::Debug, CodecError>, words: &str) {
    match r {
        Err(e @ CodecError::Limit { .. }) => {
            assert!(e.to_string().contains(words), "{e}");
            assert!(e.to_string().contains("at byte"), "{e}");
        }
        other => panic!("expected a limit error mentioning {words:?}, got {other:?}"),
    }
}

#[test]
fn compressed_xmp_in_itxt_inflating_past_the_limit_is_refused() {
    let size = limits::MAX_INFLATED_BYTES as usize + 1024;
    let mut data = b"XML:com.adobe.xmp\0\x01\x00\0\0".to_vec(); // compressed iTXt
    data.extend(bomb(size, b' '));
    let mut extra = Vec::new();
    chunk(&mut extra, b"iTXt", &data);
    let png = png_with(&extra);
    assert!(
        png.len() < 100_000,
        "the bomb is small: {} bytes",
        png.len()
    );
    assert_limit(read(png.clone()), "inflates beyond");
    assert_limit(embed_bytes(png, LABEL), "inflates beyond");
}

#[test]
fn compressed_ztxt_label_inflating_past_the_limit_is_refused() {
    let mut data = b"AIGC\0\0".to_vec(); // keyword, NUL, compression method 0
    data.extend(bomb(limits::MAX_INFLATED_BYTES as usize + 1, b'{'));
    let mut extra = Vec::new();
    chunk(&mut extra, b"zTXt", &data);
    assert_limit(read(png_with(&extra)), "inflates beyond");
}

#[test]
fn just_under_the_inflate_limit_is_read() {
    // The limit is a bound, not a guess: a compressed packet under it is read normally.
    let mut data = b"AIGC\0\0".to_vec();
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(LABEL.as_bytes()).unwrap();
    z.write_all(&vec![b' '; 1 << 20]).unwrap();
    data.extend(z.finish().unwrap());
    let mut extra = Vec::new();
    chunk(&mut extra, b"zTXt", &data);
    let report = read(png_with(&extra)).unwrap();
    assert_eq!(report.labels.len(), 1);
}

#[test]
fn two_million_tiny_chunks_end_in_a_limit_error() {
    let mut extra = Vec::with_capacity(2_000_000 * 12);
    for _ in 0..2_000_000 {
        // Ancillary private chunk, empty; the CRC is not checked by the label reader.
        extra.extend_from_slice(b"\0\0\0\0zzZz\0\0\0\0");
    }
    let png = png_with(&extra);
    drop(extra);
    // One record per chunk (even 12 bytes) would be 24 MB before the limit stops the walk.
    let peak = within_safety_net("2 million chunks", SAFETY_NET, move || {
        let (r, peak) = peak_during(|| read(png));
        assert_limit(r, "too many chunks");
        peak
    });
    println!("peak heap while refusing 2 million chunks: {peak} bytes");
    assert!(peak < MIB, "{peak} bytes held while walking empty chunks");
}

/// A little-endian TIFF: IFD0 at 8 with `entries`, then `tail` bytes.
fn tiff(entries: &[(u16, u16, u32, u32)], tail: &[u8]) -> Vec<u8> {
    let mut b = b"II*\0\x08\0\0\0".to_vec();
    b.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, typ, count, value) in entries {
        b.extend_from_slice(&tag.to_le_bytes());
        b.extend_from_slice(&typ.to_le_bytes());
        b.extend_from_slice(&count.to_le_bytes());
        b.extend_from_slice(&value.to_le_bytes());
    }
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(tail);
    b
}

#[test]
fn tiff_ifd_pointer_loop_is_an_error() {
    // IFD0 (at 8) -> Exif IFD at 26 -> Exif IFD pointer back to IFD0.
    let mut exif = Vec::new();
    exif.extend_from_slice(&1u16.to_le_bytes());
    exif.extend_from_slice(&0x8769u16.to_le_bytes());
    exif.extend_from_slice(&4u16.to_le_bytes());
    exif.extend_from_slice(&1u32.to_le_bytes());
    exif.extend_from_slice(&8u32.to_le_bytes());
    exif.extend_from_slice(&[0; 4]);
    let t = tiff(&[(0x8769, 4, 1, 26)], &exif);
    for r in [
        read(t.clone()).map(|_| ()),
        embed_bytes(t, LABEL).map(|_| ()),
    ] {
        let e = r.unwrap_err();
        assert!(e.to_string().contains("loops back"), "{e}");
    }
}

#[test]
fn tiff_ifd_chain_longer_than_the_limit_is_refused() {
    // IFD0 -> Exif IFD -> Exif IFD -> ... each a one-entry IFD pointing at the next.
    let n = limits::MAX_IFDS + 10;
    let mut tail = Vec::new();
    for i in 0..n {
        let next = 26 + 18 * (i as u32 + 1);
        tail.extend_from_slice(&1u16.to_le_bytes());
        tail.extend_from_slice(&0x8769u16.to_le_bytes());
        tail.extend_from_slice(&4u16.to_le_bytes());
        tail.extend_from_slice(&1u32.to_le_bytes());
        tail.extend_from_slice(&next.to_le_bytes());
        tail.extend_from_slice(&[0; 4]);
    }
    let t = tiff(&[(0x8769, 4, 1, 26)], &tail);
    assert_limit(read(t), "too many IFDs");
}

#[test]
fn tiff_entries_repeating_one_large_text_are_refused_not_copied_each_time() {
    // 4000 ImageDescription entries all pointing at the same 64 KB label-like text: without a
    // budget the reader would copy 250 MB and report 4000 labels.
    let text_at = 8 + 2 + 4000 * 12 + 4;
    let mut text = b"{\"AIGC\":1}".to_vec();
    text.resize(64 * 1024, b' ');
    let entries: Vec<_> = (0..4000)
        .map(|_| (0x010E, 2, text.len() as u32, text_at as u32))
        .collect();
    let t = tiff(&entries, &text);
    let peak = within_safety_net("4000 x 64 KB texts", SAFETY_NET, move || {
        let (r, peak) = peak_during(|| read(t));
        assert!(matches!(r, Err(CodecError::Limit { .. })), "{r:?}");
        peak
    });
    // The text budget is MAX_METADATA_BYTES; copying every entry would hold 250 MB.
    println!("peak heap while refusing 4000 copies of a 64 KB text: {peak} bytes");
    assert!(
        peak < limits::MAX_METADATA_BYTES + 4 * MIB,
        "{peak} bytes held"
    );
}

#[test]
fn tiff_inline_label_text_is_blanked_in_the_new_ifd_too() {
    // ImageDescription "AIGC" fits in the entry itself (4 bytes, inline). Writing appends a
    // copy of IFD0; that copy must not carry the old inline text as a second label.
    let t = tiff(
        &[
            (0x0100, 3, 1, 1),
            (0x010E, 2, 4, u32::from_le_bytes(*b"AIGC")),
        ],
        &[],
    );
    assert_eq!(read(t.clone()).unwrap().labels.len(), 1);
    let out = embed_bytes(t, LABEL).unwrap();
    let report = read(out).unwrap();
    let raws: Vec<_> = report.labels.iter().map(|l| l.raw.as_str()).collect();
    assert_eq!(raws, [LABEL]);
}

#[test]
fn deeply_nested_xmp_vector_is_read_or_refused_in_bounded_memory() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../vectors/robustness/xmp-nesting-bomb.png"
    );
    let bytes = std::fs::read(path).unwrap();
    let len = bytes.len() as u64;
    let peak = within_safety_net("XMP nesting bomb", SAFETY_NET, move || {
        let (_, peak) = peak_during(|| {
            match read(bytes.clone()) {
                Ok(r) => assert!(r.labels.is_empty()),
                Err(e) => assert!(e.to_string().contains("nested too deeply"), "{e}"),
            }
            assert!(embed_bytes(bytes, LABEL).is_err());
        });
        peak
    });
    // A node per nesting level kept (a DOM of the bomb) would be far more than a few copies
    // of the file; the reader stops at MAX_XML_DEPTH.
    println!("peak heap on the XMP nesting bomb of {len} bytes: {peak} bytes");
    assert!(
        peak < 8 * len + MIB,
        "{peak} bytes held for a {len}-byte file"
    );
}

#[test]
fn deeply_nested_json_in_a_label_is_a_problem_not_a_stack_overflow() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let parsed = parse_label_text(&deep, CarrierKind::NamedKey, &Profile::builtin());
    assert!(parsed.label.is_none());
    assert!(!parsed.problems.is_empty());
    let wrapped = format!("{{\"AIGC\":{deep}}}");
    let parsed = parse_label_text(&wrapped, CarrierKind::Unnamed, &Profile::builtin());
    assert!(parsed.label.is_none());
}

#[test]
fn extended_xmp_declaring_16_mib_with_one_tiny_chunk_is_ignored() {
    // JPEG with one Extended XMP chunk claiming a 16 MiB packet: incomplete, so no label, and
    // the reader must not allocate the declared size (checked by the chunk sum first).
    let mut seg = b"http://ns.adobe.com/xmp/extension/\0".to_vec();
    seg.extend_from_slice(&[b'0'; 32]);
    seg.extend_from_slice(&(limits::MAX_METADATA_BYTES as u32).to_be_bytes());
    seg.extend_from_slice(&0u32.to_be_bytes());
    seg.extend_from_slice(b"<x:xmpmeta/>");
    let mut j = vec![0xFF, 0xD8, 0xFF, 0xE1];
    j.extend_from_slice(&((seg.len() + 2) as u16).to_be_bytes());
    j.extend_from_slice(&seg);
    j.extend_from_slice(&[0xFF, 0xDA, 0, 2, 0xFF, 0xD9]);
    let (report, largest) = largest_allocation(|| read(j).unwrap());
    assert!(report.labels.is_empty());
    assert!(largest < 1 << 20, "allocated {largest} bytes at once");
}

#[test]
fn declared_sizes_in_damaged_vectors_are_not_allocated() {
    // Lengths of 2 GiB, 1 GiB, 2^62 in files of a few KB: reading allocates by what is there.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../vectors/robustness");
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "sh")
        ) {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let size = bytes.len();
        let (_, largest) = largest_allocation(|| {
            let _ = read_bytes(bytes, "v", &Profile::builtin());
        });
        assert!(
            largest <= (1 << 20).max(4 * size),
            "{}: {largest} bytes allocated at once for a {size}-byte file",
            path.display()
        );
    }
}

#[test]
fn a_flood_of_tiny_label_chunks_is_refused_at_the_limit_not_after_collecting_all() {
    let mut extra = Vec::new();
    for _ in 0..100_000 {
        chunk(&mut extra, b"tEXt", b"AIGC\0{}");
    }
    match read(png_with(&extra)) {
        // Refused at the 65th chunk (offset ~1.2 KB), not at the end of a 1.9 MB walk.
        Err(CodecError::Limit { offset, .. }) => assert!(offset < 10_000, "offset {offset}"),
        other => panic!("expected a limit error, got {other:?}"),
    }
}
