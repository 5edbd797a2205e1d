//! Finding and measuring a prompt: by difference with the original, or by scanning for
//! text-like regions; the ink box and its height, position and contrast.

use image::RgbaImage;
use serde::Serialize;

use super::legibility::contrast_ratio;
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
    /// The ink box of the glyph fill inside the region (an outline/stroke, shadow or plate
    /// drawn around the glyphs excluded: see [`TextHeights`]).
    pub ink: Option<Rect>,
    /// Glyph fill height in pixels (the `glyph-fill` reading of 文字高度).
    pub text_height_px: Option<u32>,
    /// Glyph fill height / shortest side.
    pub height_ratio: Option<f64>,
    /// The text's height measured every way the profile's readings of 文字高度 need
    /// (`readings.text_height`): glyph fill, glyph with its outline/shadow, the whole label box.
    pub heights: Option<TextHeights>,
    /// Without the original: why no label was found, or what was set aside (text outside the
    /// edge band is body text or a caption, not a label).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan_note: Option<String>,
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
    /// Luminance difference between the text and its plate/background (0-255): the text
    /// detector's measure (below 40 there is no text at all).
    pub text_contrast: Option<f32>,
    /// The legibility measure of 5.2 d): the luminance contrast ratio (WCAG 2 formula,
    /// (L1 + 0.05) / (L2 + 0.05) of relative luminances, 1 to 21) between the glyph fill and
    /// what it is read against: its outline or shadow when it has one, else the plate or the
    /// background under the glyphs. Judged against `explicit.image.min_contrast_ratio`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contrast_ratio: Option<f64>,
    /// The other legibility measure of 5.2 d): the colour difference (CIE 1976 ΔE*ab) between
    /// the glyph fill and that same ground, when the image's colours are known (images, not
    /// video frames). Judged against `explicit.image.min_colour_difference`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub colour_difference: Option<f64>,
    /// The luminance levels (0-255) of the glyph fill and of its ground, for the colour
    /// difference.
    #[serde(skip)]
    pub text_levels: Option<(f32, f32)>,
    /// OCR result on the cropped text, when run.
    pub ocr: Option<Ocr>,
}

/// The text's height measured three ways, one per reading of 文字高度 that pixels can show
/// (the fourth, font size, is estimated from the glyph fill with the profile's ratio).
///
/// One rule for images and video frames: the surface the glyphs are drawn on is the plate (when
/// the label region's border is a plate), else the unlabelled original pixel by pixel (with the
/// original), else the median of the region's border. Pixels brighter or darker than that
/// surface by at least half of the largest such difference form two polarity sets. When both
/// are present, the glyph *fill* is the set the other one surrounds (an outline/stroke is drawn
/// around the fill); when they touch along part of their rims only (a drop shadow), the
/// brighter set; when they hardly touch, the set with the larger contrast, and the other is
/// background texture, not decoration.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct TextHeights {
    /// Rows holding glyph fill: outline/stroke, shadow and plate excluded.
    pub glyph_fill_px: u32,
    /// Rows holding the glyph fill or an outline/stroke/shadow of the other polarity next to it
    /// (equal to the fill when no such decoration is visible).
    pub glyph_outlined_px: u32,
    /// The whole label region: the plate when there is one, else fill and decoration.
    pub label_box_px: u32,
    /// Whether an outline/stroke or shadow of the other polarity was seen around the fill.
    pub decoration: bool,
    /// Whether the glyphs stand on a plate (the region's border differs from the original, or
    /// a box holding smaller text was found around them).
    pub plate: bool,
    /// `brighter` or `darker`: the fill's polarity against the surface it is drawn on.
    pub fill_polarity: &'static str,
}

/// Measure the label in `labelled` given the unlabelled `original` (same size).
pub fn measure_diff(original: &Plane, labelled: &Plane, band_ratio: f64) -> VisualMeasure {
    let region = changed_region(original, labelled);
    measure_region_against(labelled, Some(original), region, Method::Diff, band_ratio)
}

/// Measure the label in `labelled` without the original. A label is a text-like region (dense
/// strong edges, wider than tall, of a text-like height) with text contrast inside the edge
/// band of the image (5.2 c: a label sits at an edge or a corner): text elsewhere is body text
/// or a caption and is set aside, and with no candidate in the band the measure says "no label
/// found" (`region: None`, [`VisualMeasure::scan_note`]). Candidates are tried largest text
/// first; with OCR, the first whose reading conforms wins. Best effort: a photo with
/// high-contrast detail at its edge can still hide a faint label.
pub fn measure_scan(
    labelled: &Plane,
    band_ratio: f64,
    run_ocr: Option<&ExplicitProfile>,
) -> VisualMeasure {
    let all: Vec<VisualMeasure> = text_like_regions(labelled)
        .iter()
        .map(|r| measure_region(labelled, Some(*r), Method::Scan, band_ratio))
        .filter(|m| m.ink.is_some())
        .collect();
    let elsewhere = all.iter().filter(|m| m.in_edge_band != Some(true)).count();
    let mut found: Vec<VisualMeasure> = all
        .into_iter()
        .filter(|m| m.in_edge_band == Some(true))
        .collect();
    found.sort_by_key(|m| std::cmp::Reverse(m.text_height_px.unwrap_or(0)));
    let note = (elsewhere > 0).then(|| {
        format!(
            "{elsewhere} text-like region(s) outside the {:.0} % edge band set aside as body text or captions, not a label",
            band_ratio * 100.0
        )
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
                let mut m = m.clone();
                m.scan_note = note;
                return m;
            }
        }
    }
    match found.into_iter().next() {
        Some(mut m) => {
            m.scan_note = note;
            m
        }
        None => {
            let mut m = measure_region(labelled, None, Method::Scan, band_ratio);
            m.scan_note = Some(format!(
                "no label found: no text-like region with text contrast in the {:.0} % edge band{}",
                band_ratio * 100.0,
                note.map(|n| format!(" ({n})")).unwrap_or_default()
            ));
            m
        }
    }
}

/// Measure the text inside `region` (no original: the surface the glyphs stand on is the
/// region's border).
pub fn measure_region(
    img: &Plane,
    region: Option<Rect>,
    method: Method,
    band_ratio: f64,
) -> VisualMeasure {
    measure_region_against(img, None, region, method, band_ratio)
}

/// Measure the text inside `region`, against the unlabelled `original` when there is one.
fn measure_region_against(
    img: &Plane,
    original: Option<&Plane>,
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
        contrast_ratio: None,
        colour_difference: None,
        text_levels: None,
        ocr: None,
        heights: None,
        scan_note: None,
    };
    let Some(mut r) = region else { return m };
    let short = img.w.min(img.h) as f64;
    // A region found by scanning may be the plate together with its surroundings: then the
    // "ink" is the plate. If the inside of that box holds smaller text, the box was a plate and
    // becomes the region (twice at most: a plate on a plate).
    let mut boxed_plate = false;
    for _ in 0..2 {
        if original.is_some() {
            break;
        }
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
            Some((inner, _, _)) if (inner.h as f64) < 0.9 * outer.h as f64 => {
                r = outer;
                boxed_plate = true;
            }
            _ => break,
        }
    }
    m.region = Some(r);
    if let Some(t) = label_ink(img, original, r, boxed_plate) {
        m.ink = Some(t.fill);
        m.text_contrast = Some(t.contrast);
        m.contrast_ratio = Some(contrast_ratio(t.levels.0, t.levels.1));
        m.text_levels = Some(t.levels);
        m.text_height_px = Some(t.fill.h);
        m.height_ratio = Some(t.fill.h as f64 / short);
        m.heights = Some(TextHeights {
            glyph_fill_px: t.fill.h,
            glyph_outlined_px: t.outlined.h,
            // Without a plate the label is the glyphs and their decoration (the region found
            // by scanning has a margin of background around them).
            label_box_px: if t.plate { r.h } else { t.outlined.h },
            decoration: t.decoration,
            plate: t.plate,
            fill_polarity: if t.brighter { "brighter" } else { "darker" },
        });
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

/// The glyph fill, and the fill with its decoration, inside the label region `r` (see
/// [`TextHeights`] for the rule).
struct LabelInk {
    fill: Rect,
    outlined: Rect,
    contrast: f32,
    /// Median luminance (0-255) of the glyph fill, and of what it is read against (its
    /// decoration when it has one, else the surface under the glyphs).
    levels: (f32, f32),
    decoration: bool,
    plate: bool,
    brighter: bool,
}

/// The median of `v` (0 when empty).
fn median(mut v: Vec<i16>) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable();
    v[v.len() / 2] as f32
}

/// Changed by more than this (of 255) against the original: the pixel belongs to the label.
/// Lossy re-encoding moves pixels by a few levels everywhere; a label moves them by far more.
const CHANGED: i16 = 32;

/// The 99.5th percentile of `v` (one hot pixel of JPEG ringing must not set the 50 % line).
fn p995(mut v: Vec<u16>) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable();
    v[(v.len() - 1) * 995 / 1000] as f32
}

fn label_ink(
    img: &Plane,
    original: Option<&Plane>,
    r: Rect,
    boxed_plate: bool,
) -> Option<LabelInk> {
    if r.w < 2 || r.h < 2 {
        return None;
    }
    let mut border = Vec::new();
    let mut border_changed = 0usize;
    let mut push = |x: u32, y: u32| {
        border.push(img.at(x, y));
        if let Some(o) = original {
            if (img.at(x, y) as i16 - o.at(x, y) as i16).abs() > CHANGED {
                border_changed += 1;
            }
        }
    };
    for x in r.x..r.x + r.w {
        push(x, r.y);
        push(x, r.y + r.h - 1);
    }
    for y in r.y..r.y + r.h {
        push(r.x, y);
        push(r.x + r.w - 1, y);
    }
    // A plate: the region's border is itself changed (with the original), or the region is a
    // box found around smaller text (without it). Then the glyphs stand on the plate's level.
    let plate = boxed_plate || (original.is_some() && border_changed * 2 > border.len());
    border.sort_unstable();
    let level = border[border.len() / 2] as i16;
    // A semi-opaque plate over the original shows the original through it: its level is fitted
    // as a * original + b on the region's border (a = 0 for an opaque plate).
    let fit = match original {
        Some(o) if plate => Some(fit_line(&border_pairs(img, o, r))),
        _ => None,
    };
    let surface = |x: u32, y: u32| -> i16 {
        match (original, fit) {
            (Some(o), Some((a, b))) => (a * o.at(x, y) as f64 + b).round() as i16,
            (Some(o), None) => o.at(x, y) as i16,
            _ => level,
        }
    };
    let (w, h) = (r.w as usize, r.h as usize);
    let mut d = vec![0i16; w * h];
    for dy in 0..r.h {
        for dx in 0..r.w {
            let (x, y) = (r.x + dx, r.y + dy);
            d[dy as usize * w + dx as usize] = img.at(x, y) as i16 - surface(x, y);
        }
    }
    // Per polarity: the 50 % line of its own largest contrast, if it shows text contrast at all.
    let line = |sign: i16| -> Option<i16> {
        let c = p995(d.iter().map(|v| (v * sign).max(0) as u16).collect());
        (c >= MIN_TEXT_CONTRAST).then_some((c / 2.0).ceil() as i16)
    };
    let (bright, dark) = (line(1), line(-1));
    // class: 1 brighter, 2 darker, 0 neither.
    let class: Vec<u8> = d
        .iter()
        .map(|v| match (bright, dark) {
            (Some(t), _) if *v >= t => 1,
            (_, Some(t)) if -*v >= t => 2,
            _ => 0,
        })
        .collect();
    let at = |x: i64, y: i64| -> u8 {
        if x < 0 || y < 0 || x >= w as i64 || y >= h as i64 {
            0
        } else {
            class[y as usize * w + x as usize]
        }
    };
    // How much of a set's rim touches the other set (looking two pixels out, so that the
    // anti-aliased seam between fill and outline does not count as background).
    let enclosure = |me: u8, other: u8| -> f64 {
        let (mut rim, mut by_other) = (0u64, 0u64);
        for y in 0..h as i64 {
            for x in 0..w as i64 {
                if at(x, y) != me {
                    continue;
                }
                for (ox, oy) in [(1, 0), (-1, 0), (0, 1), (0, -1)] {
                    let n = at(x + ox, y + oy);
                    if n == me {
                        continue;
                    }
                    rim += 1;
                    if n == other || (n == 0 && at(x + 2 * ox, y + 2 * oy) == other) {
                        by_other += 1;
                    }
                }
            }
        }
        if rim == 0 {
            0.0
        } else {
            by_other as f64 / rim as f64
        }
    };
    let contrast_of = |sign: i16| p995(d.iter().map(|v| (v * sign).max(0) as u16).collect());
    // An outline enclosing its fill (dark outlines first: by far the common kind).
    for (present, outline) in [(dark, 2u8), (bright, 1u8)] {
        if present.is_none() {
            continue;
        }
        if let Some(t) = fill_inside_outline(img, r, &class, outline) {
            return Some(LabelInk { plate, ..t });
        }
    }
    let (fill_class, deco_class) = match (bright, dark) {
        (None, None) => return None,
        (Some(_), None) => (1u8, None),
        (None, Some(_)) => (2u8, None),
        (Some(_), Some(_)) => {
            let (eb, ed) = (enclosure(1, 2), enclosure(2, 1));
            if eb.max(ed) >= 0.75 && (eb - ed).abs() > 0.15 {
                // One set surrounds the other: an outline/stroke around the fill.
                if eb > ed {
                    (1, Some(2))
                } else {
                    (2, Some(1))
                }
            } else if eb.min(ed) >= 0.25 {
                // They touch along part of their rims: a drop shadow, drawn dark under light
                // text by every renderer we know of.
                (1, Some(2))
            } else if contrast_of(1) >= contrast_of(-1) {
                // They hardly touch: no decoration, the other set is background texture.
                (1, None)
            } else {
                (2, None)
            }
        }
    };
    let rows_box = |keep: &dyn Fn(usize, usize, u8) -> bool| -> Option<Rect> {
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        for y in 0..h {
            for x in 0..w {
                // One pixel over the line makes an ink row (the extreme rows of a glyph are
                // often a single pixel wide at the 50 % line).
                if keep(x, y, class[y * w + x]) {
                    x0 = x0.min(x);
                    y0 = y0.min(y);
                    x1 = x1.max(x);
                    y1 = y1.max(y);
                }
            }
        }
        (y0 != usize::MAX).then(|| Rect {
            x: r.x + x0 as u32,
            y: r.y + y0 as u32,
            w: (x1 - x0 + 1) as u32,
            h: (y1 - y0 + 1) as u32,
        })
    };
    let fill = rows_box(&|_, _, c| c == fill_class)?;
    // Decoration counts only next to the fill (within a quarter of its height), so that
    // texture elsewhere in the region is not taken for an outline.
    let reach = (fill.h / 4).max(2) as usize;
    let (fx0, fy0) = ((fill.x - r.x) as usize, (fill.y - r.y) as usize);
    let near = |x: usize, y: usize| {
        x + reach >= fx0
            && x <= fx0 + fill.w as usize + reach
            && y + reach >= fy0
            && y <= fy0 + fill.h as usize + reach
    };
    let outlined = rows_box(&|x, y, c| c == fill_class || (Some(c) == deco_class && near(x, y)))
        .unwrap_or(fill);
    // The levels a reader compares: the fill's, and its decoration's (an outline or a shadow
    // is what the glyph edges are read against) or else the surface's under the glyphs. Ink of
    // the other polarity right at the glyphs is a candidate ground too: the fill/outline split
    // is a heuristic, and dark text in a light outline may come out as a light "fill" with the
    // dark strokes unassigned; the reader sees the two against each other, so the larger
    // contrast counts.
    let other_class = if fill_class == 1 { 2 } else { 1 };
    let (mut fill_levels, mut ground_levels, mut other_levels) =
        (Vec::new(), Vec::new(), Vec::new());
    for y in 0..h {
        for x in 0..w {
            let c = class[y * w + x];
            let (px, py) = (r.x + x as u32, r.y + y as u32);
            if c == fill_class {
                fill_levels.push(img.at(px, py) as i16);
                if deco_class.is_none() {
                    ground_levels.push(surface(px, py));
                }
            } else if Some(c) == deco_class && near(x, y) {
                ground_levels.push(img.at(px, py) as i16);
            } else if c == other_class && near(x, y) {
                other_levels.push(img.at(px, py) as i16);
            }
        }
    }
    let fill_level = median(fill_levels);
    let mut ground_level = median(ground_levels);
    // At least a few pixels' worth: a speck of texture is no ground.
    if other_levels.len() * 20 >= (fill.w * fill.h) as usize {
        let other = median(other_levels);
        if contrast_ratio(fill_level, other) > contrast_ratio(fill_level, ground_level) {
            ground_level = other;
        }
    }
    Some(LabelInk {
        fill,
        outlined,
        levels: (fill_level, ground_level),
        contrast: contrast_of(if fill_class == 1 { 1 } else { -1 }),
        decoration: outlined != fill,
        plate,
        brighter: fill_class == 1,
    })
}

/// (original, labelled) luminance pairs on the border of `r`.
fn border_pairs(img: &Plane, original: &Plane, r: Rect) -> Vec<(f64, f64)> {
    let mut v = Vec::new();
    let mut push = |x: u32, y: u32| v.push((original.at(x, y) as f64, img.at(x, y) as f64));
    for x in r.x..r.x + r.w {
        push(x, r.y);
        push(x, r.y + r.h - 1);
    }
    for y in r.y + 1..r.y + r.h - 1 {
        push(r.x, y);
        push(r.x + r.w - 1, y);
    }
    v
}

/// Least-squares `y = a x + b` (a flat original gives a = 0, b = the mean).
fn fit_line(pairs: &[(f64, f64)]) -> (f64, f64) {
    let n = pairs.len().max(1) as f64;
    let (mx, my) = (
        pairs.iter().map(|p| p.0).sum::<f64>() / n,
        pairs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxx: f64 = pairs.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    let sxy: f64 = pairs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    // Less than 8 levels of spread in the original: the slope is noise.
    if sxx < 64.0 * n {
        return (0.0, my);
    }
    let a = (sxy / sxx).clamp(0.0, 1.0);
    (a, my - a * mx)
}

/// An outline whose fill does not contrast with the surface (white text with a black border
/// over a white sky): only the outline differs from the surface, and it encloses the fill.
/// When the pixels enclosed by the set `outline` (not reachable from the region's border
/// without crossing it) are at least a quarter of its area and contrast with it, they are the
/// fill (glyph counters are far smaller than a quarter of the glyphs' own area).
fn fill_inside_outline(img: &Plane, r: Rect, class: &[u8], outline: u8) -> Option<LabelInk> {
    let (w, h) = (r.w as usize, r.h as usize);
    let mut outside = vec![false; w * h];
    let mut stack: Vec<usize> = Vec::new();
    for i in 0..w * h {
        let (x, y) = (i % w, i / w);
        if (x == 0 || y == 0 || x == w - 1 || y == h - 1) && class[i] != outline {
            outside[i] = true;
            stack.push(i);
        }
    }
    while let Some(i) = stack.pop() {
        let (x, y) = (i % w, i / w);
        let mut visit = |j: usize| {
            if !outside[j] && class[j] != outline {
                outside[j] = true;
                stack.push(j);
            }
        };
        if x > 0 {
            visit(i - 1);
        }
        if x + 1 < w {
            visit(i + 1);
        }
        if y > 0 {
            visit(i - w);
        }
        if y + 1 < h {
            visit(i + w);
        }
    }
    let lum = |i: usize| img.at(r.x + (i % w) as u32, r.y + (i / w) as u32) as i16;
    let set: Vec<usize> = (0..w * h).filter(|i| class[*i] == outline).collect();
    let enclosed: Vec<usize> = (0..w * h)
        .filter(|i| class[*i] != outline && !outside[*i])
        .collect();
    if set.is_empty() || enclosed.len() * 4 < set.len() {
        return None;
    }
    let mut levels: Vec<i16> = set.iter().map(|i| lum(*i)).collect();
    levels.sort_unstable();
    let level = levels[levels.len() / 2];
    let contrasts: Vec<u16> = enclosed
        .iter()
        .map(|i| (lum(*i) - level).unsigned_abs())
        .collect();
    let cmax = p995(contrasts.clone());
    if cmax < MIN_TEXT_CONTRAST {
        return None;
    }
    let half = (cmax / 2.0).ceil() as u16;
    let bbox = |pixels: &mut dyn Iterator<Item = usize>| -> Option<Rect> {
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        for i in pixels {
            let (x, y) = (i % w, i / w);
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
        (y0 != usize::MAX).then(|| Rect {
            x: r.x + x0 as u32,
            y: r.y + y0 as u32,
            w: (x1 - x0 + 1) as u32,
            h: (y1 - y0 + 1) as u32,
        })
    };
    let fill = bbox(
        &mut enclosed
            .iter()
            .zip(&contrasts)
            .filter(|(_, c)| **c >= half)
            .map(|(i, _)| *i),
    )?;
    let outlined = bbox(&mut set.iter().copied())?.union(fill);
    let fill_level = median(
        enclosed
            .iter()
            .zip(&contrasts)
            .filter(|(_, c)| **c >= half)
            .map(|(i, _)| lum(*i))
            .collect(),
    );
    let brighter = enclosed
        .iter()
        .zip(&contrasts)
        .filter(|(_, c)| **c >= half)
        .all(|(i, _)| lum(*i) > level);
    Some(LabelInk {
        fill,
        outlined,
        contrast: cmax,
        levels: (fill_level, level as f32),
        decoration: true,
        plate: false,
        brighter,
    })
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
    let changed = |x: u32, y: u32| (a.at(x, y) as i16 - b.at(x, y) as i16).abs() > CHANGED;
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
    let parts = components(&count, &boxes, cw, ch);
    let (_, mut label) = *parts.iter().max_by_key(|(n, _)| *n)?;
    // The cells bridge a gap of one cell, which is a few pixels: a word whose glyphs stand
    // further apart than that (a small "AI 生成" in a font with wide side bearings) is in
    // several parts. Parts on the same line (overlapping in height by half the smaller one)
    // and no further apart than the line is high are the same label.
    loop {
        let joined = parts.iter().map(|(_, r)| *r).find(|r| {
            let overlap = (r.y + r.h).min(label.y + label.h) as i64 - r.y.max(label.y) as i64;
            let gap =
                (r.x as i64 - (label.x + label.w) as i64).max(label.x as i64 - (r.x + r.w) as i64);
            label.union(*r) != label
                && 2 * overlap >= r.h.min(label.h) as i64
                && gap <= r.h.max(label.h) as i64
        });
        match joined {
            Some(r) => label = label.union(r),
            None => return Some(label),
        }
    }
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
