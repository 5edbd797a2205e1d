//! Finding and measuring a prompt: by difference with the original, or by scanning for
//! text-like regions; the ink box and its height, position and contrast.

use image::RgbaImage;
use serde::Serialize;

use super::ocr::{ocr, Ocr};
use super::{ExplicitProfile, Rect};

/// Luminance contrast below which a region holds no text at all.
const MIN_TEXT_CONTRAST: f32 = 40.0;

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

    /// The sample at (`x`, `y`).
    pub(crate) fn at(&self, x: u32, y: u32) -> u8 {
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
pub(super) fn ink_box(img: &Plane, r: Rect) -> Option<(Rect, f32, f32)> {
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
pub(super) fn grow(r: Rect, img: &Plane, n: u32) -> Rect {
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
