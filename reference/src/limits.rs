//! Every limit the decoders apply to sizes, counts and depths read from untrusted files, in one
//! place. A file that exceeds one is refused with [`crate::error::CodecError::Limit`], naming
//! the offset and the limit; it is never a panic or an unbounded allocation. The image formats'
//! limits are exercised by `reference/tests/limits.rs` (bombs, floods, loops, nesting, largest
//! allocation).

/// Largest metadata structure read into memory at once (an XMP packet, a RIFF chunk holding
/// a label, an ID3 tag, a Vorbis comment block, an EXIF segment, a PDF object).
pub const MAX_METADATA_BYTES: u64 = 16 * 1024 * 1024;

/// Largest `moov` box of an MP4/MOV read into memory to rewrite it (sample tables of very long
/// videos are large; 64 MiB covers several hours of 60 fps video).
pub const MAX_MOOV_BYTES: u64 = 64 * 1024 * 1024;

/// Largest decompressed size of a compressed text (PNG zTXt/iTXt, PDF stream, OOXML part):
/// against decompression bombs.
pub const MAX_INFLATED_BYTES: u64 = 16 * 1024 * 1024;

/// Deepest nesting of boxes, EBML elements or RIFF lists the decoders follow.
pub const MAX_DEPTH: usize = 32;

/// Deepest element nesting in an XMP packet (real packets nest about 6 deep; RDF containers
/// inside structures add a few). JSON label values are bounded by serde_json's own recursion
/// limit of 128, which the label parser keeps enabled.
pub const MAX_XML_DEPTH: usize = 128;

/// Most structures (chunks, boxes, segments, frames, zip entries) walked in one container level
/// before the file is refused as a loop or a bomb.
pub const MAX_ENTRIES: usize = 1_000_000;

/// Most labels collected from one file (a file with more is reported as hostile). Also the
/// most label-like EXIF texts collected in one TIFF structure, whose text fields together may
/// hold at most [`MAX_METADATA_BYTES`] (many entries can point at the same large value).
pub const MAX_LABELS: usize = 64;

/// Largest number of entries in an OOXML zip archive.
pub const MAX_ZIP_ENTRIES: usize = 10_000;

/// Most entries in one TIFF/EXIF IFD (real IFDs hold a few dozen; the field is 16-bit).
pub const MAX_IFD_ENTRIES: usize = 4096;

/// Most TIFF/EXIF IFDs followed in one file (IFD0 plus sub-IFD pointers), against pointer loops.
pub const MAX_IFDS: usize = 64;
/// Most cross-reference sections of a PDF followed through `/Prev` and `/XRefStm` (one per
/// incremental update; real files have a handful).
pub const MAX_PDF_XREF_SECTIONS: usize = 4096;

/// Largest image (or video frame) decoded for explicit-label rendering or measuring, in pixels:
/// 8K x 8K plus room; an RGBA frame of this size is 320 MiB.
pub const MAX_IMAGE_PIXELS: u64 = 80_000_000;

/// Most audio samples (all channels) decoded at once for explicit-label work: about 17 minutes
/// of 48 kHz stereo, 400 MiB as f32. Longer audio is refused, not truncated.
pub const MAX_AUDIO_SAMPLES: u64 = 100_000_000;

/// Most video frames walked when marking or measuring (about 9 hours at 30 fps).
pub const MAX_VIDEO_FRAMES: u64 = 1_000_000;

/// Largest text file read to insert or find an explicit prompt.
pub const MAX_TEXT_BYTES: u64 = 64 * 1024 * 1024;

/// Most candidate prompt lines (lines that mention AI) kept when measuring a text's explicit
/// label: the first ones decide the verdicts, and a text of millions of "AI" lines must not
/// cost a record per line.
pub const MAX_TEXT_PROMPT_CANDIDATES: usize = 10_000;
