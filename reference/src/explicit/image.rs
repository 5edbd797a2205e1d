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

use ab_glyph::{point, Font, FontRef, PxScale, ScaleFont};
use image::{DynamicImage, ImageFormat, RgbaImage};
use serde::Serialize;
use std::path::{Path, PathBuf};

use super::wording::{self, Wording};
use super::{ExplicitProfile, Finding};
use crate::limits::MAX_IMAGE_PIXELS;

/// The bundled font subset (SIL OFL-1.1, see `assets/fonts/OFL.txt`).
pub const FONT: &[u8] = include_bytes!("../../assets/fonts/label-cjk-subset.otf");

/// Generation choice (not policy): render this much above the profile minimum, so that JPEG
/// ringing or a one-pixel anti-aliasing difference in someone's measurement cannot put a label
/// made by the reference below the threshold.
const RENDER_MARGIN: f64 = 1.10;
/// Opacity of the plate behind the text (generation choice; the common vendor value is 60 %).
const PLATE_ALPHA: f32 = 0.65;
/// Luminance contrast below which a region holds no text at all.
const MIN_TEXT_CONTRAST: f32 = 40.0;

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
    fn union(self, o: Rect) -> Rect {
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

/// A rendered label: straight-alpha RGBA pixels of the plate and its position in the frame.
#[derive(Debug, Clone)]
pub struct Overlay {
    /// Plate rectangle in the target image.
    pub rect: Rect,
    /// `rect.w * rect.h` pixels, RGB in 0..=255 and alpha in 0..=1.
    pub pixels: Vec<[f32; 4]>,
    /// Ink box of the glyphs in the target image (what a detector should measure).
    pub ink: Rect,
    /// Font scale used (px per em).
    pub scale: f32,
}

/// Lay out `text` at `scale` with ab_glyph; the glyphs and the union of their pixel bounds.
fn layout(
    font: &FontRef<'_>,
    text: &str,
    scale: f32,
) -> Result<(Vec<ab_glyph::OutlinedGlyph>, ab_glyph::Rect), String> {
    let scaled = font.as_scaled(PxScale::from(scale));
    let mut caret = 0.0f32;
    let mut previous = None;
    let mut glyphs = Vec::new();
    let mut bounds: Option<ab_glyph::Rect> = None;
    for c in text.chars() {
        let id = font.glyph_id(c);
        if id.0 == 0 && !c.is_whitespace() {
            return Err(format!(
                "the bundled label font has no glyph for {c:?}; it covers the default prompts and ASCII (regenerate assets/fonts/make-subset.sh with more characters)"
            ));
        }
        if let Some(p) = previous {
            caret += scaled.kern(p, id);
        }
        let glyph = id.with_scale_and_position(scale, point(caret, scaled.ascent()));
        caret += scaled.h_advance(id);
        previous = Some(id);
        if let Some(outlined) = font.outline_glyph(glyph) {
            let b = outlined.px_bounds();
            bounds = Some(match bounds {
                None => b,
                Some(u) => ab_glyph::Rect {
                    min: point(u.min.x.min(b.min.x), u.min.y.min(b.min.y)),
                    max: point(u.max.x.max(b.max.x), u.max.y.max(b.max.y)),
                },
            });
            glyphs.push(outlined);
        }
    }
    let bounds = bounds.ok_or("the prompt has no visible glyph")?;
    Ok((glyphs, bounds))
}

/// Render `text` for a `width`×`height` image so that its ink height is at least
/// `min_ratio` × the shortest side (with [`RENDER_MARGIN`]), at `anchor`.
pub fn render_overlay(
    width: u32,
    height: u32,
    text: &str,
    anchor: Anchor,
    min_ratio: f64,
) -> Result<Overlay, String> {
    let font = FontRef::try_from_slice(FONT).map_err(|e| format!("bundled font: {e}"))?;
    let short = width.min(height) as f64;
    let target = (min_ratio * short * RENDER_MARGIN).ceil().max(8.0) as f32;
    // Ink height grows linearly with the scale: one measurement at 100 px gives the scale,
    // then a few steps up absorb rounding of the pixel bounds.
    let (_, b100) = layout(&font, text, 100.0)?;
    let mut scale = 100.0 * target / (b100.max.y - b100.min.y).max(1.0);
    let (glyphs, bounds) = loop {
        let (g, b) = layout(&font, text, scale)?;
        if b.max.y.ceil() - b.min.y.floor() >= target || scale > 10.0 * target {
            break (g, b);
        }
        scale += 0.5;
    };
    let ink_w = (bounds.max.x.ceil() - bounds.min.x.floor()) as u32;
    let ink_h = (bounds.max.y.ceil() - bounds.min.y.floor()) as u32;
    let pad = ((ink_h as f32) * 0.3).round().max(2.0) as u32;
    let (pw, ph) = (ink_w + 2 * pad, ink_h + 2 * pad);
    let margin = ((short * 0.01).round() as u32).max(1);
    if pw + 2 * margin > width || ph + 2 * margin > height {
        return Err(format!(
            "a {width}x{height} image is too small for {text:?} at {ink_h} px glyph height ({pw} px wide with its plate); use a shorter prompt"
        ));
    }
    let (left, right) = (margin, width - margin - pw);
    let (top, bottom) = (margin, height - margin - ph);
    let (cx, cy) = ((width - pw) / 2, (height - ph) / 2);
    let (x, y) = match anchor {
        Anchor::TopLeft => (left, top),
        Anchor::Top => (cx, top),
        Anchor::TopRight => (right, top),
        Anchor::Left => (left, cy),
        Anchor::Right => (right, cy),
        Anchor::BottomLeft => (left, bottom),
        Anchor::Bottom => (cx, bottom),
        Anchor::BottomRight => (right, bottom),
        Anchor::Center => (cx, cy),
    };
    let mut pixels = vec![[0.0, 0.0, 0.0, PLATE_ALPHA]; (pw * ph) as usize];
    let (ox, oy) = (
        pad as f32 - bounds.min.x.floor(),
        pad as f32 - bounds.min.y.floor(),
    );
    for g in &glyphs {
        let b = g.px_bounds();
        let (gx, gy) = ((b.min.x + ox) as i64, (b.min.y + oy) as i64);
        g.draw(|px, py, c| {
            let (tx, ty) = (gx + px as i64, gy + py as i64);
            if tx < 0 || ty < 0 || tx >= pw as i64 || ty >= ph as i64 {
                return;
            }
            let p = &mut pixels[(ty as u32 * pw + tx as u32) as usize];
            // White text over the plate, straight alpha.
            let c = c.clamp(0.0, 1.0);
            let a = c + p[3] * (1.0 - c);
            let v = if a > 0.0 { 255.0 * c / a } else { 0.0 };
            *p = [v.max(p[0]), v.max(p[1]), v.max(p[2]), a];
        });
    }
    Ok(Overlay {
        rect: Rect { x, y, w: pw, h: ph },
        pixels,
        ink: Rect {
            x: x + pad,
            y: y + pad,
            w: ink_w,
            h: ink_h,
        },
        scale,
    })
}

/// Composite an overlay onto an RGBA image.
pub fn composite(img: &mut RgbaImage, o: &Overlay) {
    for dy in 0..o.rect.h {
        for dx in 0..o.rect.w {
            let s = o.pixels[(dy * o.rect.w + dx) as usize];
            let (x, y) = (o.rect.x + dx, o.rect.y + dy);
            if x >= img.width() || y >= img.height() {
                continue;
            }
            let d = img.get_pixel_mut(x, y);
            let a = s[3];
            for i in 0..3 {
                d[i] = (s[i] * a + d[i] as f32 * (1.0 - a))
                    .round()
                    .clamp(0.0, 255.0) as u8;
            }
            d[3] = (255.0 * a + d[3] as f32 * (1.0 - a))
                .round()
                .clamp(0.0, 255.0) as u8;
        }
    }
}

/// Composite an overlay onto a 16-bit RGBA image (16-bit inputs stay 16-bit).
pub fn composite16(img: &mut image::ImageBuffer<image::Rgba<u16>, Vec<u16>>, o: &Overlay) {
    for dy in 0..o.rect.h {
        for dx in 0..o.rect.w {
            let s = o.pixels[(dy * o.rect.w + dx) as usize];
            let (x, y) = (o.rect.x + dx, o.rect.y + dy);
            if x >= img.width() || y >= img.height() {
                continue;
            }
            let d = img.get_pixel_mut(x, y);
            let a = s[3];
            for i in 0..3 {
                let v = s[i] * 257.0 * a + d[i] as f32 * (1.0 - a);
                d[i] = v.round().clamp(0.0, 65535.0) as u16;
            }
            d[3] = (65535.0 * a + d[3] as f32 * (1.0 - a))
                .round()
                .clamp(0.0, 65535.0) as u16;
        }
    }
}

/// Draw the overlay on an image of any colour type, keeping its colour type and bit depth (the
/// plate is black and the text white, so grey images stay grey).
fn draw_keeping_color(img: &DynamicImage, o: &Overlay) -> DynamicImage {
    use image::ColorType as C;
    let color = img.color();
    let deep = !matches!(color, C::L8 | C::La8 | C::Rgb8 | C::Rgba8);
    let drawn = if deep {
        let mut b = img.to_rgba16();
        composite16(&mut b, o);
        DynamicImage::ImageRgba16(b)
    } else {
        let mut b = img.to_rgba8();
        composite(&mut b, o);
        DynamicImage::ImageRgba8(b)
    };
    match color {
        C::L8 => DynamicImage::ImageLuma8(drawn.to_luma8()),
        C::La8 => DynamicImage::ImageLumaA8(drawn.to_luma_alpha8()),
        C::Rgb8 => DynamicImage::ImageRgb8(drawn.to_rgb8()),
        C::L16 => DynamicImage::ImageLuma16(drawn.to_luma16()),
        C::La16 => DynamicImage::ImageLumaA16(drawn.to_luma_alpha16()),
        C::Rgb16 | C::Rgb32F => DynamicImage::ImageRgb16(drawn.to_rgb16()),
        _ => drawn,
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

/// Check the declared dimensions of an image file before decoding it.
pub fn check_dimensions(path: &Path) -> Result<(u32, u32), String> {
    let reader = image::ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let (w, h) = reader
        .into_dimensions()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if (w as u64) * (h as u64) > MAX_IMAGE_PIXELS {
        return Err(format!(
            "{}: {w}x{h} exceeds the limit of {MAX_IMAGE_PIXELS} pixels",
            path.display()
        ));
    }
    if w == 0 || h == 0 {
        return Err(format!("{}: empty image", path.display()));
    }
    Ok((w, h))
}

/// Decode an image file after checking its dimensions.
pub fn load_dynamic(path: &Path) -> Result<(DynamicImage, ImageFormat), String> {
    check_dimensions(path)?;
    let mut reader = image::ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let format = reader
        .format()
        .ok_or_else(|| format!("{}: unknown image format", path.display()))?;
    // The dimensions were checked above against MAX_IMAGE_PIXELS; the decoder's own default
    // allocation limit (512 MiB) would refuse some images that limit allows.
    reader.no_limits();
    let img = reader
        .decode()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((img, format))
}

/// Decode an image file to 8-bit RGBA (for measuring).
pub fn load(path: &Path) -> Result<(RgbaImage, ImageFormat), String> {
    let (img, format) = load_dynamic(path)?;
    Ok((img.to_rgba8(), format))
}

/// Encode an image in `format`: PNG keeps the colour type and depth; JPEG (quality 92) is
/// 8-bit RGB or grey; WebP is 8-bit and lossless (the image crate's WebP encoder only writes
/// lossless WebP).
pub fn encode(img: &DynamicImage, format: ImageFormat) -> Result<Vec<u8>, String> {
    let mut out = std::io::Cursor::new(Vec::new());
    match format {
        ImageFormat::Jpeg => {
            let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92);
            let r = if matches!(img.color(), image::ColorType::L8 | image::ColorType::L16) {
                img.to_luma8().write_with_encoder(enc)
            } else {
                img.to_rgb8().write_with_encoder(enc)
            };
            r.map_err(|e| e.to_string())?;
        }
        ImageFormat::Png => img.write_to(&mut out, format).map_err(|e| e.to_string())?,
        ImageFormat::WebP => {
            let eight = if img.color().has_alpha() {
                DynamicImage::ImageRgba8(img.to_rgba8())
            } else {
                DynamicImage::ImageRgb8(img.to_rgb8())
            };
            eight
                .write_to(&mut out, format)
                .map_err(|e| e.to_string())?;
        }
        other => {
            return Err(format!(
                "writing {other:?} is not supported (PNG, JPEG, WebP)"
            ))
        }
    }
    Ok(out.into_inner())
}

/// Luminance plane (BT.601 weights) of an image or a video frame's Y plane.
#[derive(Debug, Clone)]
pub struct Plane {
    /// Width.
    pub w: u32,
    /// Height.
    pub h: u32,
    /// Row-major samples.
    pub data: Vec<u8>,
}

impl Plane {
    /// The luminance of an RGBA image (composited on black where transparent: what a viewer
    /// shows is unknown, black is as good as white and keeps white text visible).
    pub fn from_rgba(img: &RgbaImage) -> Plane {
        let data = img
            .pixels()
            .map(|p| {
                let a = p[3] as f32 / 255.0;
                let l = 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32;
                (l * a).round() as u8
            })
            .collect();
        Plane {
            w: img.width(),
            h: img.height(),
            data,
        }
    }

    fn at(&self, x: u32, y: u32) -> u8 {
        self.data[(y * self.w + x) as usize]
    }
}

/// Where the label region comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// The difference with the unlabelled original.
    Diff,
    /// Best-effort scan for text-like regions (no original given).
    Scan,
}

/// Measurements of a visual prompt in one image or frame.
#[derive(Debug, Clone, Serialize)]
pub struct VisualMeasure {
    /// Image width.
    pub width: u32,
    /// Image height.
    pub height: u32,
    /// How the region was found.
    pub method: Method,
    /// The label region (plate and text), if one was found.
    pub region: Option<Rect>,
    /// The ink box of the text inside the region.
    pub ink: Option<Rect>,
    /// Text (ink) height in pixels.
    pub text_height_px: Option<u32>,
    /// Text height / shortest side.
    pub height_ratio: Option<f64>,
    /// Nearest image edge of the region (`top`, `bottom`, `left`, `right`).
    pub nearest_edge: Option<&'static str>,
    /// Distance of the region to that edge in pixels.
    pub edge_distance_px: Option<u32>,
    /// That distance over the side it is measured along.
    pub edge_distance_ratio: Option<f64>,
    /// Whether the region is within the profile's edge band of some edge.
    pub in_edge_band: Option<bool>,
    /// Within the band of two adjacent edges.
    pub in_corner: Option<bool>,
    /// Luminance difference between the text and its plate/background (0-255), a legibility
    /// measurement (reported, not judged: the standard sets no contrast).
    pub text_contrast: Option<f32>,
    /// OCR result on the cropped text, when run.
    pub ocr: Option<Ocr>,
}

/// What tesseract read.
#[derive(Debug, Clone, Serialize)]
pub struct Ocr {
    /// The text read (whitespace removed), or empty.
    pub text: String,
    /// The text after undoing the one OCR confusion that matters here: in sans-serif fonts a
    /// capital I, a lower-case l, a 1 and a | are the same vertical bar, so "Al", "A1", "A|"
    /// directly after an A are read as "AI".
    pub normalized: String,
    /// The wording verdict on it.
    pub wording: Option<Wording>,
    /// Why OCR could not run.
    pub error: Option<String>,
}

/// Measure the label in `labelled` given the unlabelled `original` (same size).
pub fn measure_diff(original: &Plane, labelled: &Plane, band_ratio: f64) -> VisualMeasure {
    let region = changed_region(original, labelled);
    measure_region(labelled, region, Method::Diff, band_ratio)
}

/// Measure the label in `labelled` without the original: text-like regions (dense strong
/// edges, wider than tall), preferring those in the edge band and then the tallest text; with
/// OCR, the first whose reading conforms wins. Best effort: a photo with high-contrast detail
/// can still hide a faint label, and then the verdict says what was measured instead.
pub fn measure_scan(
    labelled: &Plane,
    band_ratio: f64,
    run_ocr: Option<&ExplicitProfile>,
) -> VisualMeasure {
    let mut found: Vec<VisualMeasure> = text_like_regions(labelled)
        .iter()
        .map(|r| measure_region(labelled, Some(*r), Method::Scan, band_ratio))
        .filter(|m| m.ink.is_some())
        .collect();
    found.sort_by_key(|m| {
        std::cmp::Reverse((m.in_edge_band == Some(true), m.text_height_px.unwrap_or(0)))
    });
    if let Some(p) = run_ocr {
        for m in &mut found {
            m.ocr = Some(ocr(labelled, m, p));
            let conforms = m
                .ocr
                .as_ref()
                .and_then(|o| o.wording.as_ref())
                .is_some_and(|w| w.conforms);
            let tool_missing = m.ocr.as_ref().is_some_and(|o| o.error.is_some());
            if conforms || tool_missing {
                return m.clone();
            }
        }
    }
    found
        .into_iter()
        .next()
        .unwrap_or_else(|| measure_region(labelled, None, Method::Scan, band_ratio))
}

/// Measure the text inside `region`.
pub fn measure_region(
    img: &Plane,
    region: Option<Rect>,
    method: Method,
    band_ratio: f64,
) -> VisualMeasure {
    let mut m = VisualMeasure {
        width: img.w,
        height: img.h,
        method,
        region,
        ink: None,
        text_height_px: None,
        height_ratio: None,
        nearest_edge: None,
        edge_distance_px: None,
        edge_distance_ratio: None,
        in_edge_band: None,
        in_corner: None,
        text_contrast: None,
        ocr: None,
    };
    let Some(mut r) = region else { return m };
    let short = img.w.min(img.h) as f64;
    // A region found by scanning may be the plate together with its surroundings: then the
    // "ink" is the plate. If the inside of that box holds smaller text, the box was a plate and
    // becomes the region (twice at most: a plate on a plate).
    for _ in 0..2 {
        let Some((outer, _, _)) = ink_box(img, r) else {
            break;
        };
        let inside = Rect {
            x: outer.x + 1,
            y: outer.y + 1,
            w: outer.w.saturating_sub(2),
            h: outer.h.saturating_sub(2),
        };
        match ink_box(img, inside) {
            Some((inner, _, _)) if (inner.h as f64) < 0.9 * outer.h as f64 => r = outer,
            _ => break,
        }
    }
    m.region = Some(r);
    if let Some((ink, _, contrast)) = ink_box(img, r) {
        m.ink = Some(ink);
        m.text_contrast = Some(contrast);
        m.text_height_px = Some(ink.h);
        m.height_ratio = Some(ink.h as f64 / short);
    }
    let distances = [
        ("left", r.x, img.w),
        ("right", img.w - (r.x + r.w), img.w),
        ("top", r.y, img.h),
        ("bottom", img.h - (r.y + r.h), img.h),
    ];
    let in_band = |d: u32, side: u32| (d as f64) <= band_ratio * side as f64;
    if let Some((edge, d, side)) = distances.iter().min_by(|a, b| {
        (a.1 as f64 / a.2 as f64)
            .partial_cmp(&(b.1 as f64 / b.2 as f64))
            .unwrap_or(std::cmp::Ordering::Equal)
    }) {
        m.nearest_edge = Some(edge);
        m.edge_distance_px = Some(*d);
        m.edge_distance_ratio = Some(*d as f64 / *side as f64);
    }
    let bands: Vec<bool> = distances.iter().map(|(_, d, s)| in_band(*d, *s)).collect();
    m.in_edge_band = Some(bands.iter().any(|b| *b));
    m.in_corner = Some((bands[0] || bands[1]) && (bands[2] || bands[3]));
    m
}

/// The ink box in `r`: plate level = median of the region's border, ink = pixels at least half
/// the largest contrast away from it. Also returns the plate level and the contrast.
fn ink_box(img: &Plane, r: Rect) -> Option<(Rect, f32, f32)> {
    if r.w < 2 || r.h < 2 {
        return None;
    }
    let mut border = Vec::new();
    for x in r.x..r.x + r.w {
        border.push(img.at(x, r.y));
        border.push(img.at(x, r.y + r.h - 1));
    }
    for y in r.y..r.y + r.h {
        border.push(img.at(r.x, y));
        border.push(img.at(r.x + r.w - 1, y));
    }
    border.sort_unstable();
    let plate = border[border.len() / 2] as f32;
    // The 99.5th percentile rather than the maximum: one hot pixel of JPEG ringing must not
    // set the 50 % line.
    let mut contrasts: Vec<u8> = Vec::with_capacity((r.w * r.h) as usize);
    for y in r.y..r.y + r.h {
        for x in r.x..r.x + r.w {
            contrasts.push((img.at(x, y) as f32 - plate).abs() as u8);
        }
    }
    let mut sorted = contrasts.clone();
    sorted.sort_unstable();
    let cmax = sorted[(sorted.len() - 1) * 995 / 1000] as f32;
    if cmax < MIN_TEXT_CONTRAST {
        return None;
    }
    let half = cmax / 2.0;
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    for dy in 0..r.h {
        // One pixel over the line makes an ink row (the outline's extreme rows are often a
        // single pixel wide at the 50 % line); noise this strong does not occur on a plate.
        let row = &contrasts[(dy * r.w) as usize..((dy + 1) * r.w) as usize];
        if row.iter().any(|c| *c as f32 >= half) {
            y0 = y0.min(dy);
            y1 = y1.max(dy);
            for (dx, c) in row.iter().enumerate() {
                if *c as f32 >= half {
                    x0 = x0.min(dx as u32);
                    x1 = x1.max(dx as u32);
                }
            }
        }
    }
    if y0 == u32::MAX {
        return None;
    }
    Some((
        Rect {
            x: r.x + x0,
            y: r.y + y0,
            w: x1 - x0 + 1,
            h: y1 - y0 + 1,
        },
        plate,
        cmax,
    ))
}

/// Connected changed pixels: a coarse grid of cells holding changes, 8-connected, the
/// component with most changed pixels; its exact pixel bounding box.
fn changed_region(a: &Plane, b: &Plane) -> Option<Rect> {
    if a.w != b.w || a.h != b.h {
        return None;
    }
    // Lossy re-encoding moves pixels by a few levels everywhere; a label moves them by far more.
    const THRESHOLD: i16 = 32;
    let changed = |x: u32, y: u32| (a.at(x, y) as i16 - b.at(x, y) as i16).abs() > THRESHOLD;
    let cell = (a.w.min(a.h) / 100).max(2);
    let (cw, ch) = (a.w.div_ceil(cell), a.h.div_ceil(cell));
    let mut count = vec![0u32; (cw * ch) as usize];
    let mut boxes: Vec<Option<Rect>> = vec![None; (cw * ch) as usize];
    for y in 0..a.h {
        for x in 0..a.w {
            if changed(x, y) {
                let i = ((y / cell) * cw + x / cell) as usize;
                count[i] += 1;
                let p = Rect { x, y, w: 1, h: 1 };
                boxes[i] = Some(boxes[i].map_or(p, |r| r.union(p)));
            }
        }
    }
    components(&count, &boxes, cw, ch)
        .into_iter()
        .max_by_key(|(n, _)| *n)
        .map(|(_, r)| r)
}

/// 8-connected components of non-empty cells, bridging one empty cell (so that the glyphs of
/// one word without a plate join up): (changed pixels, bounding box) per component.
fn components(count: &[u32], boxes: &[Option<Rect>], cw: u32, ch: u32) -> Vec<(u64, Rect)> {
    let mut seen = vec![false; count.len()];
    let mut out = Vec::new();
    for start in 0..count.len() {
        if count[start] == 0 || seen[start] {
            continue;
        }
        seen[start] = true;
        let mut stack = vec![start];
        let (mut n, mut bbox) = (0u64, None::<Rect>);
        while let Some(i) = stack.pop() {
            n += count[i] as u64;
            if let Some(r) = boxes[i] {
                bbox = Some(bbox.map_or(r, |b| b.union(r)));
            }
            let (cx, cy) = ((i as u32 % cw) as i64, (i as u32 / cw) as i64);
            for dy in -2..=2i64 {
                for dx in -2..=2i64 {
                    let (x, y) = (cx + dx, cy + dy);
                    if x < 0 || y < 0 || x >= cw as i64 || y >= ch as i64 {
                        continue;
                    }
                    let j = (y as u32 * cw + x as u32) as usize;
                    if count[j] > 0 && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        if let Some(b) = bbox {
            out.push((n, b));
        }
    }
    out
}

/// Regions with dense strong edges, wider than tall and of a text-like height: candidate
/// labels when no original is available.
fn text_like_regions(img: &Plane) -> Vec<Rect> {
    const EDGE: i16 = 60;
    let cell = (img.w.min(img.h) / 100).max(2);
    let (cw, ch) = (img.w.div_ceil(cell), img.h.div_ceil(cell));
    let mut count = vec![0u32; (cw * ch) as usize];
    let mut boxes: Vec<Option<Rect>> = vec![None; (cw * ch) as usize];
    for y in 0..img.h.saturating_sub(1) {
        for x in 0..img.w.saturating_sub(1) {
            let v = img.at(x, y) as i16;
            if (v - img.at(x + 1, y) as i16).abs() > EDGE
                || (v - img.at(x, y + 1) as i16).abs() > EDGE
            {
                let i = ((y / cell) * cw + x / cell) as usize;
                count[i] += 1;
                let p = Rect { x, y, w: 2, h: 2 };
                boxes[i] = Some(boxes[i].map_or(p, |r| r.union(p)));
            }
        }
    }
    let short = img.w.min(img.h) as f64;
    let mut regions: Vec<Rect> = components(&count, &boxes, cw, ch)
        .into_iter()
        .map(|(_, r)| r)
        .filter(|r| {
            let h = r.h as f64;
            r.w as f64 >= 0.8 * h && h >= 0.01 * short && h <= 0.4 * short
        })
        .map(|r| grow(r, img, 2))
        .collect();
    regions.sort_by_key(|r| std::cmp::Reverse(r.w * r.h));
    regions.truncate(8);
    regions
}

/// `r` grown by `n` pixels on each side, clamped to the image (so its border is plate).
fn grow(r: Rect, img: &Plane, n: u32) -> Rect {
    let x0 = r.x.saturating_sub(n);
    let y0 = r.y.saturating_sub(n);
    let x1 = (r.x + r.w + n).min(img.w);
    let y1 = (r.y + r.h + n).min(img.h);
    Rect {
        x: x0,
        y: y0,
        w: x1 - x0,
        h: y1 - y0,
    }
}

/// Read the text in the measured ink box with tesseract (`chi_sim+eng`, one line): crop with a
/// margin, map to dark text on white whatever the polarity, upscale small text.
pub fn ocr(img: &Plane, m: &VisualMeasure, profile: &ExplicitProfile) -> Ocr {
    let (Some(region), Some(_)) = (m.region, m.ink) else {
        return Ocr {
            text: String::new(),
            normalized: String::new(),
            wording: None,
            error: Some("no text region to read".into()),
        };
    };
    let Some((ink, plate, cmax)) = ink_box(img, region) else {
        return Ocr {
            text: String::new(),
            normalized: String::new(),
            wording: None,
            error: Some("no text in the region".into()),
        };
    };
    // The margin stays inside the label region: the background around a plate would frame
    // the text and tesseract reads frames as characters.
    let g = grow(ink, img, (ink.h / 2).max(4));
    let (x0, y0) = (g.x.max(region.x), g.y.max(region.y));
    let x1 = (g.x + g.w).min(region.x + region.w);
    let y1 = (g.y + g.h).min(region.y + region.h);
    let crop = Rect {
        x: x0,
        y: y0,
        w: x1.saturating_sub(x0).max(1),
        h: y1.saturating_sub(y0).max(1),
    };
    // Tesseract's LSTM models read best at 30-60 px text height, and misread lines set tight
    // against the image border: a white border of one text height goes around. Two text
    // sizes are tried (the second only when the first reading does not conform): tesseract's
    // segmentation is sensitive to scale.
    let mut last = None;
    for target in [48.0f32, 72.0] {
        let k = (target / ink.h.max(1) as f32).clamp(0.5, 6.0);
        let (ow, oh) = (
            ((crop.w as f32) * k).round().max(1.0) as u32,
            ((crop.h as f32) * k).round().max(1.0) as u32,
        );
        let border = target as u32;
        let mut out =
            image::GrayImage::from_pixel(ow + 2 * border, oh + 2 * border, image::Luma([255]));
        for y in 0..oh {
            for x in 0..ow {
                let sx = (crop.x + ((x as f32 + 0.5) / k) as u32).min(crop.x + crop.w - 1);
                let sy = (crop.y + ((y as f32 + 0.5) / k) as u32).min(crop.y + crop.h - 1);
                // Stretch around the 50 % line: plate texture (a semi-opaque plate over a
                // photo) goes white, strokes go black.
                let c = ((img.at(sx, sy) as f32 - plate).abs() / cmax).min(1.0);
                let c = ((c - 0.25) * 2.0).clamp(0.0, 1.0);
                out.put_pixel(
                    x + border,
                    y + border,
                    image::Luma([(255.0 * (1.0 - c)) as u8]),
                );
            }
        }
        let result = match run_tesseract(&out) {
            Ok(text) => {
                let normalized = normalize_ocr(&text);
                let wording = Some(wording::judge(&normalized, profile));
                Ocr {
                    text,
                    normalized,
                    wording,
                    error: None,
                }
            }
            Err(e) => {
                return Ocr {
                    text: String::new(),
                    normalized: String::new(),
                    wording: None,
                    error: Some(e),
                }
            }
        };
        if result.wording.as_ref().is_some_and(|w| w.conforms) {
            return result;
        }
        last = Some(result);
    }
    last.unwrap_or(Ocr {
        text: String::new(),
        normalized: String::new(),
        wording: None,
        error: Some("OCR did not run".into()),
    })
}

/// See [`Ocr::normalized`].
fn normalize_ocr(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut previous = None;
    for c in text.chars() {
        if previous == Some('A') && matches!(c, 'l' | '1' | '|' | '!' | 'i') {
            out.push('I');
        } else {
            out.push(c);
        }
        previous = Some(c);
    }
    out
}

fn run_tesseract(img: &image::GrayImage) -> Result<String, String> {
    let path = temp_path("ocr", "png");
    img.save(&path).map_err(|e| e.to_string())?;
    let result = super::run_tool(
        "tesseract",
        &[
            path.as_os_str(),
            "stdout".as_ref(),
            "-l".as_ref(),
            "chi_sim+eng".as_ref(),
            "--psm".as_ref(),
            "7".as_ref(),
        ],
    );
    // AIGC_LABEL_KEEP_OCR=1 keeps the image tesseract saw, to look at when OCR disagrees.
    if std::env::var_os("AIGC_LABEL_KEEP_OCR").is_some() {
        eprintln!("aigc-label: OCR input kept at {}", path.display());
    } else {
        let _ = std::fs::remove_file(&path);
    }
    let text = String::from_utf8_lossy(&result?).into_owned();
    Ok(text.chars().filter(|c| !c.is_whitespace()).collect())
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

/// Verdicts on a visual measurement. `ids` are the requirement ids for wording, position and
/// height (5.2-b/c/e for images, 5.4-b/-/f for video).
pub fn judge_visual(
    m: &VisualMeasure,
    min_ratio: f64,
    band_ratio: f64,
    ids: (&'static str, Option<&'static str>, &'static str),
) -> Vec<Finding> {
    let mut f = Vec::new();
    f.push(match &m.ocr {
        Some(Ocr {
            wording: Some(w), ..
        }) => Finding::judge(
            ids.0,
            w.conforms,
            format!(
                "OCR read {:?}: {}",
                w.text,
                if w.conforms {
                    "AI element and 生成/合成 present"
                } else {
                    "an element is missing"
                }
            ),
        ),
        Some(Ocr { error: Some(e), .. }) => Finding::unknown(ids.0, format!("OCR: {e}")),
        _ => Finding::unknown(ids.0, "OCR not run"),
    });
    if let Some(pos) = ids.1 {
        f.push(
            match (m.in_edge_band, m.nearest_edge, m.edge_distance_ratio) {
                (Some(b), Some(e), Some(r)) => Finding::judge(
                    pos,
                    b,
                    format!(
                        "label {:.1} % of the side from the {e} edge; edge band {:.1} %{}",
                        r * 100.0,
                        band_ratio * 100.0,
                        if m.in_corner == Some(true) {
                            " (corner)"
                        } else {
                            ""
                        }
                    ),
                ),
                _ => Finding::judge(pos, false, "no label region found"),
            },
        );
    }
    f.push(match (m.text_height_px, m.height_ratio) {
        (Some(h), Some(r)) => Finding::judge(
            ids.2,
            r + 1e-9 >= min_ratio,
            format!(
                "text height {h} px = {:.2} % of the shortest side {} px; minimum {:.2} %",
                r * 100.0,
                m.width.min(m.height),
                min_ratio * 100.0
            ),
        ),
        _ => Finding::judge(ids.2, false, "no text found"),
    });
    f
}

/// Verdicts GB-5.2-a..e for an image measurement.
///
/// 5.2 a (a text prompt) passes when text was found and OCR read characters; 5.2 d (legible
/// typeface) passes when OCR read the wording, and is otherwise unknown, never failed: OCR
/// missing a legible CJK label is a limit of tesseract, not evidence of illegibility.
pub fn judge(m: &VisualMeasure, p: &ExplicitProfile) -> Vec<Finding> {
    let read = m.ocr.as_ref().filter(|o| o.error.is_none());
    let a = match (m.ink, read) {
        (None, _) => Finding::judge("GB-5.2-a", false, "no text found"),
        (Some(_), Some(o)) if !o.text.is_empty() => Finding::judge(
            "GB-5.2-a",
            true,
            format!("text prompt read as {:?}", o.text),
        ),
        (Some(_), _) => Finding::unknown(
            "GB-5.2-a",
            "text-like ink found, but OCR read no characters (or did not run)",
        ),
    };
    let contrast = m
        .text_contrast
        .map(|c| format!("; text/background contrast {c:.0} of 255"))
        .unwrap_or_default();
    let d = match read.and_then(|o| o.wording.as_ref()) {
        Some(w) if w.conforms => Finding::judge(
            "GB-5.2-d",
            true,
            format!("OCR read the wording {:?}{contrast}", w.text),
        ),
        _ => Finding::unknown(
            "GB-5.2-d",
            format!("OCR did not read a conforming wording; judge legibility by eye{contrast}"),
        ),
    };
    let mut f = vec![a];
    f.extend(judge_visual(
        m,
        p.image.min_text_height_ratio,
        p.image.edge_band_ratio,
        ("GB-5.2-b", Some("GB-5.2-c"), "GB-5.2-e"),
    ));
    f.insert(3, d);
    f
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn font_covers_default_prompts() {
        let font = FontRef::try_from_slice(FONT).unwrap();
        for t in [
            wording::DEFAULT_TEXT_PROMPT,
            wording::DEFAULT_VISUAL_PROMPT,
            wording::VOICE_PROMPT_TEXT,
            "人工智能合成",
        ] {
            assert!(layout(&font, t, 40.0).is_ok(), "{t}");
        }
    }

    #[test]
    fn rendered_ink_meets_the_ratio_in_both_orientations() {
        for (w, h) in [(640, 360), (360, 640), (300, 300)] {
            let mut img = RgbaImage::from_pixel(w, h, image::Rgba([250, 250, 250, 255]));
            let orig = Plane::from_rgba(&img);
            let o = render_overlay(w, h, "AI生成", Anchor::BottomRight, 0.05).unwrap();
            composite(&mut img, &o);
            let m = measure_diff(&orig, &Plane::from_rgba(&img), 0.1);
            let r = m.height_ratio.unwrap();
            assert!(r >= 0.05, "{w}x{h}: {r}");
            assert_eq!(m.in_corner, Some(true));
        }
    }
}
