//! 5.2 images: render a text prompt at an edge or corner with a glyph height of at least the
//! profile's ratio of the shortest side, and measure a prompt in anyone's image.
//!
//! Rendering uses the bundled font subset (`assets/fonts/label-cjk-subset.otf`, Noto Sans CJK SC
//! Bold cut to the default prompts + ASCII) through ab_glyph: white text on a semi-opaque black
//! plate, which keeps the text legible on any background (white text on 65 % black reads on
//! white, on black, and on busy photos). The size is chosen from the *rendered ink* of the
//! glyphs, not the em size: CJK ink is about 0.9 em and Latin capitals about 0.73 em, so a font
//! sized at 5 % em would come out below 5 %.
//!
//! Measuring ("text height") is one rule for images and video frames ([`measure::TextHeights`]):
//! inside the label region the glyph *fill* is told apart from an outline/stroke, a shadow and a
//! plate, and the heights of the fill, of the fill with its decoration and of the whole label
//! are measured at the 50 % contrast line. Which of them (or the font size estimated from the
//! fill) is "文字高度" is the profile's binding reading ([`crate::explicit::readings`]); the
//! others are evaluated and reported beside the verdict.
//!
//! Submodules: [`render`] (font layout, plate, compositing), [`codec`] (decoding and encoding
//! whole images), [`jpeg`] (JPEG block-level marking: only the blocks under the label are
//! re-encoded), [`measure`] (finding and measuring a prompt), [`legibility`] (its contrast and
//! colour difference), `ocr` (reading it) and `judge` (verdicts). Their public items are re-exported here.

use crate::explicit::{Fallback, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};

use super::ExplicitProfile;
use crate::limits::MAX_IMAGE_PIXELS;

pub mod codec;
pub mod jpeg;
pub mod judge;
pub mod legibility;
pub mod measure;
pub mod ocr;
pub mod render;

pub use codec::{check_dimensions, encode, load, load_dynamic};
pub use judge::{edge_band_reading, judge, judge_visual, legibility_reading};
pub use legibility::{colour_difference, contrast_ratio};
pub use measure::{measure_diff, measure_region, measure_scan, Method, Plane, VisualMeasure};
pub use ocr::{ocr, ocr_with_original, vote, Ocr, OcrEngine, OcrProfile};
pub use render::{composite, composite16, render_overlay, Overlay, FONT};

use image::ImageFormat;
use render::draw_keeping_color;

/// Where the prompt goes. `Center` exists to make negative test vectors (5.2 c fails).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Anchor {
    /// Top-left corner.
    TopLeft,
    /// Top edge, centred.
    Top,
    /// Top-right corner.
    TopRight,
    /// Left edge, centred.
    Left,
    /// Right edge, centred.
    Right,
    /// Bottom-left corner.
    BottomLeft,
    /// Bottom edge, centred.
    Bottom,
    /// Bottom-right corner (the Annex C.2 example, our default).
    BottomRight,
    /// Centre of the image (not an edge or corner).
    Center,
}

impl Anchor {
    /// Parse `top-left`, `top`, ..., `bottom-right`, `center`.
    pub fn parse(s: &str) -> Option<Anchor> {
        Some(match s {
            "top-left" => Anchor::TopLeft,
            "top" => Anchor::Top,
            "top-right" => Anchor::TopRight,
            "left" => Anchor::Left,
            "right" => Anchor::Right,
            "bottom-left" => Anchor::BottomLeft,
            "bottom" => Anchor::Bottom,
            "bottom-right" => Anchor::BottomRight,
            "center" | "centre" => Anchor::Center,
            _ => return None,
        })
    }
}

/// An axis-aligned rectangle in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rect {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Width.
    pub w: u32,
    /// Height.
    pub h: u32,
}

impl Rect {
    /// The smallest rectangle holding both.
    pub(crate) fn union(self, o: Rect) -> Rect {
        let x0 = self.x.min(o.x);
        let y0 = self.y.min(o.y);
        let x1 = (self.x + self.w).max(o.x + o.w);
        let y1 = (self.y + self.h).max(o.y + o.h);
        Rect {
            x: x0,
            y: y0,
            w: x1 - x0,
            h: y1 - y0,
        }
    }
}

/// What `mark` did to an image.
#[derive(Debug, Clone, Serialize)]
pub struct MarkReport {
    /// The plate rectangle.
    pub plate: Rect,
    /// The ink box of the glyphs.
    pub ink: Rect,
    /// Ink height / shortest side.
    pub height_ratio: f64,
    /// The implicit label carried over, or why not.
    pub implicit: String,
    /// How the picture was written: `jpeg-blocks` (only the 8×8 blocks under the label
    /// re-encoded, every other block's coefficients copied; optimised Huffman tables) or
    /// `full-reencode` (decoded and encoded whole).
    pub method: &'static str,
    /// For a JPEG written by `full-reencode`: why the block-level path could not be used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    /// `jpeg-blocks`: 8×8 blocks re-encoded and all blocks (over all components).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocks: Option<BlockCounts>,
}

/// Blocks touched by a `jpeg-blocks` mark.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct BlockCounts {
    /// 8×8 blocks re-encoded.
    pub reencoded: usize,
    /// All 8×8 blocks.
    pub total: usize,
    /// The input was progressive (the output is one sequential scan).
    pub input_progressive: bool,
    /// `original`: the file's Huffman tables kept and the entropy-coded bits of every MCU the
    /// label does not reach copied as they are; `optimised`: the whole scan re-coded from the
    /// coefficients with tables computed for it (progressive input, or tables lacking a code).
    pub huffman_tables: &'static str,
}

/// A fresh path in the temporary directory.
pub(crate) fn temp_path(stem: &str, ext: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!(
        "aigc-label-{stem}-{}-{n}.{ext}",
        std::process::id()
    ))
}

/// Render `text` at `anchor` into a copy of the image `input`, written atomically to `output`
/// in the same format, carrying the implicit label over.
pub fn mark_file(
    input: &Path,
    output: &Path,
    text: &str,
    anchor: Anchor,
    profile: &crate::Profile,
    overwrite: impl Into<super::WriteMode>,
) -> Result<MarkReport> {
    let overwrite = overwrite.into();
    let p = ExplicitProfile::from_profile(profile)?;
    let mut fallback = None;
    if is_jpeg_path(input)?
        && matches!(
            ImageFormat::from_path(output),
            Ok(ImageFormat::Jpeg) | Err(_)
        )
    {
        match mark_jpeg_blocks(input, output, text, anchor, &p, profile, overwrite)? {
            Ok(report) => return Ok(report),
            Err(why) => fallback = Some(why.0),
        }
    }
    let (img, format) = load_dynamic(input).map_err(|e| match &fallback {
        Some(why) => {
            format!("{e} (the block-level JPEG path could not be used either: {why})").into()
        }
        None => e,
    })?;
    let o = render_overlay(
        img.width(),
        img.height(),
        text,
        anchor,
        p.image.min_text_height_ratio,
    )?;
    let drawn = draw_keeping_color(&img, &o);
    // The output's extension chooses the format when it names one we write; else the input's.
    let format = match ImageFormat::from_path(output) {
        Ok(f @ (ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP)) => f,
        _ => format,
    };
    let bytes = encode(&drawn, format)?;
    let (bytes, implicit) = super::carry_implicit(input, bytes, profile);
    super::write_bytes(output, &bytes, overwrite)?;
    Ok(MarkReport {
        plate: o.rect,
        ink: o.ink,
        height_ratio: o.ink.h as f64 / img.width().min(img.height()) as f64,
        implicit,
        method: "full-reencode",
        fallback,
        blocks: None,
    })
}

/// Whether the file starts with a JPEG SOI marker followed by another marker.
fn is_jpeg_path(path: &Path) -> Result<bool> {
    use std::io::Read;
    let mut head = [0u8; 3];
    let mut f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let n = f
        .read(&mut head)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(n == 3 && head == [0xFF, 0xD8, 0xFF])
}

/// [`mark_file`] for a JPEG written as JPEG: re-encode only the blocks under the label.
/// `Ok(Err(why))` when this JPEG needs the full re-encode instead.
fn mark_jpeg_blocks(
    input: &Path,
    output: &Path,
    text: &str,
    anchor: Anchor,
    p: &ExplicitProfile,
    profile: &crate::Profile,
    overwrite: super::WriteMode,
) -> Result<std::result::Result<MarkReport, Fallback>> {
    let len = std::fs::metadata(input)
        .map_err(|e| format!("{}: {e}", input.display()))?
        .len();
    // A JPEG of MAX_IMAGE_PIXELS at 8 bytes per pixel is far larger than any real one.
    if len > MAX_IMAGE_PIXELS.saturating_mul(8) {
        return Err(format!("{}: {len} bytes is too large for an image", input.display()).into());
    }
    let data = std::fs::read(input).map_err(|e| format!("{}: {e}", input.display()))?;
    let located = |e: jpeg::JpegError| match e {
        jpeg::JpegError::Unsupported(why) => Ok(Err(Fallback(why))),
        other => Err(format!("{}: {other}", input.display()).into()),
    };
    let (w, h) = match jpeg::dimensions(&data) {
        Ok(d) => d,
        Err(e) => return located(e),
    };
    if w == 0 || h == 0 {
        return Ok(Err("the frame size is not in the frame header (DNL)".into()));
    }
    let o = render_overlay(w, h, text, anchor, p.image.min_text_height_ratio)?;
    let (bytes, stats) = match jpeg::mark(&data, &o) {
        Ok(r) => r,
        Err(e) => return located(e),
    };
    drop(data);
    let (bytes, implicit) = super::carry_implicit(input, bytes, profile);
    super::write_bytes(output, &bytes, overwrite)?;
    Ok(Ok(MarkReport {
        plate: o.rect,
        ink: o.ink,
        height_ratio: o.ink.h as f64 / w.min(h) as f64,
        implicit,
        method: "jpeg-blocks",
        fallback: None,
        blocks: Some(BlockCounts {
            reencoded: stats.blocks_reencoded,
            total: stats.blocks_total,
            input_progressive: stats.was_progressive,
            huffman_tables: stats.huffman_tables,
        }),
    }))
}

/// Measure the prompt in an image file (given the original, by difference; else by scanning),
/// optionally reading it with OCR.
pub fn measure_file(
    path: &Path,
    original: Option<&Path>,
    run_ocr: bool,
    p: &ExplicitProfile,
) -> Result<VisualMeasure> {
    let (img, _) = load(path)?;
    let plane = Plane::from_rgba(&img);
    let mut original_plane = None;
    let mut m = match original {
        Some(o) => {
            let (orig, _) = load(o)?;
            if orig.dimensions() != img.dimensions() {
                return Err(format!(
                    "{}: {}x{} differs from the original's {}x{}",
                    path.display(),
                    img.width(),
                    img.height(),
                    orig.width(),
                    orig.height()
                )
                .into());
            }
            let orig = original_plane.insert(Plane::from_rgba(&orig));
            measure_diff(orig, &plane, p.image.edge_band_ratio)
        }
        None => measure_scan(&plane, p.image.edge_band_ratio, run_ocr.then_some(p)),
    };
    if let (Some(region), Some(levels)) = (m.region, m.text_levels) {
        m.colour_difference = colour_difference(&img, region, levels);
    }
    if run_ocr && m.ocr.is_none() {
        m.ocr = Some(ocr::ocr_with_original(
            &plane,
            original_plane.as_ref(),
            &m,
            p,
        ));
    }
    Ok(m)
}
