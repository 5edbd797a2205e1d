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
//! Measuring ("text height") follows the profile's `glyph-bbox` reading: inside the label region
//! the text is the set of pixels whose luminance differs from the plate by at least half of the
//! largest text/plate contrast there (the 50 % coverage line of anti-aliased glyphs, i.e. the
//! outline), and the text height is the extent of the rows holding such pixels.
//!
//! Submodules: [`render`] (font layout, plate, compositing), [`codec`] (decoding and encoding
//! whole images), [`measure`] (finding and measuring a prompt), [`ocr`] (reading it with
//! tesseract) and [`judge`] (verdicts). Their public items are re-exported here.

use serde::Serialize;
use std::path::{Path, PathBuf};

use super::ExplicitProfile;

pub mod codec;
pub mod judge;
pub mod measure;
pub mod ocr;
pub mod render;

pub use codec::{check_dimensions, encode, load, load_dynamic};
pub use judge::{judge, judge_visual};
pub use measure::{measure_diff, measure_region, measure_scan, Method, Plane, VisualMeasure};
pub use ocr::{ocr, Ocr};
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
    overwrite: crate::io::Overwrite,
) -> Result<MarkReport, String> {
    let p = ExplicitProfile::from_profile(profile)?;
    let (img, format) = load_dynamic(input)?;
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
    })
}

/// Measure the prompt in an image file (given the original, by difference; else by scanning),
/// optionally reading it with OCR.
pub fn measure_file(
    path: &Path,
    original: Option<&Path>,
    run_ocr: bool,
    p: &ExplicitProfile,
) -> Result<VisualMeasure, String> {
    let (img, _) = load(path)?;
    let plane = Plane::from_rgba(&img);
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
                ));
            }
            measure_diff(&Plane::from_rgba(&orig), &plane, p.image.edge_band_ratio)
        }
        None => measure_scan(&plane, p.image.edge_band_ratio, run_ocr.then_some(p)),
    };
    if run_ocr && m.ocr.is_none() {
        m.ocr = Some(ocr(&plane, &m, p));
    }
    Ok(m)
}
