//! Preprocessing for OCR: crop the label's ink box, upscale it with bilinear interpolation to a
//! text height the engine reads well, and binarise it in several ways (dark text on white in
//! every binarised variant, with a white border); for an engine trained on photographs of text
//! lines (rapidocr), the plain luminance too. Each engine has its [`Layout`].

use super::super::measure::{grow, Plane};
use super::super::Rect;

/// How an engine wants its images.
pub(super) struct Layout {
    /// Text heights (px) the crop is scaled to.
    pub heights: &'static [f32],
    /// The border around the text, in text heights: one set of variants per border.
    pub borders: &'static [f32],
    /// Whether the unbinarised luminance is a variant too.
    pub gray: bool,
    /// Horizontal stretches (1.0: the text's own proportions): one set of variants per
    /// stretch, each with the narrow border.
    pub stretches: &'static [f32],
}

/// Tesseract's LSTM models read best at 30-60 px text, and its segmentation is sensitive to
/// scale, so two heights are tried; its page layout analysis wants a wide white margin, and
/// it reads only dark text on white well.
pub(super) const TESSERACT: Layout = Layout {
    heights: &[48.0, 72.0],
    borders: &[1.0],
    gray: false,
    stretches: &[1.0],
};

/// PP-OCR's recogniser scales every line to 48 px (text and margin): the text is scaled to
/// 48 px so that small labels are not read from blocks, with a narrow margin so that the
/// text keeps most of the 48 px, and again with a wide one (measured: a 13 px outlined
/// "AI生成" in AR PL UMing is read "品生成" with the narrow margin and "AI生成" with the wide
/// one). It was trained on photographs of text lines, so the plain luminance (either
/// polarity) is read as it is, beside the binarised variants.
///
/// Its CTC decoder gives each character at least one column of the feature map (a quarter of
/// the line height wide), so a narrow glyph set tight against the next one is swallowed by it:
/// a 12 px outlined "AI合成" (WenQuanYi Zen Hei) is read "A哈成", the I taken as the 口 of
/// 哈. The same crop stretched to 1.5 times its width is read "AI合成" in four of its five
/// variants (measured on calibration case 147), so every variant is also read stretched.
pub(super) const RAPIDOCR: Layout = Layout {
    heights: &[48.0],
    borders: &[0.15, 0.6],
    gray: true,
    stretches: &[1.0, 1.5],
};

/// Difference (0-255) above which a pixel counts as changed by the label (as in measure.rs:
/// lossy re-encoding moves pixels by a few levels, a label by far more).
const CHANGED: f32 = 32.0;

/// Above this share of changed pixels in the crop the label is a plate: the changed pixels are
/// a rectangle, not glyphs, and the `changed` variant says nothing.
const MAX_CHANGED_SHARE: f64 = 0.7;

/// One preprocessed image for tesseract.
pub(super) struct Variant {
    /// What it is (`plate`, `bright`, `dark`, `changed`) and the text height it was scaled to.
    pub name: String,
    /// Dark text on white.
    pub image: image::GrayImage,
}

/// Every variant of the text in `ink` (inside `region`); `plate` and `cmax` are the plate
/// level and text contrast of [`super::super::measure::ink_box`].
pub(super) fn variants(
    img: &Plane,
    original: Option<&Plane>,
    region: Rect,
    ink: Rect,
    plate: f32,
    cmax: f32,
    layout: &Layout,
) -> Vec<Variant> {
    // The margin stays inside the label region: the background around a plate would frame
    // the text and tesseract reads frames as characters.
    let g = grow(ink, img, (ink.h / 2).max(4));
    let (x0, y0) = (g.x.max(region.x), g.y.max(region.y));
    let x1 = (g.x + g.w).min(region.x + region.w);
    let y1 = (g.y + g.h).min(region.y + region.h);
    if x1 <= x0 || y1 <= y0 {
        return Vec::new();
    }
    let crop = Rect {
        x: x0,
        y: y0,
        w: x1 - x0,
        h: y1 - y0,
    };
    let threshold = otsu(img, crop);
    let changed = original.filter(|o| {
        let mut n = 0u64;
        for y in crop.y..crop.y + crop.h {
            for x in crop.x..crop.x + crop.w {
                n += u64::from((img.at(x, y) as f32 - o.at(x, y) as f32).abs() > CHANGED);
            }
        }
        (n as f64) < MAX_CHANGED_SHARE * (crop.w * crop.h) as f64
    });
    // Ink level 0..1 of a (bilinear) luminance sample, per variant. A soft ramp of 16 levels
    // around each threshold keeps the interpolated edges smooth.
    let ramp = |d: f32| (d / 16.0 + 0.5).clamp(0.0, 1.0);
    let cmax = cmax.max(1.0);
    let mut out = Vec::new();
    // (text height, border in text heights, its index, horizontal stretch): every border
    // unstretched, then each further stretch with the first border.
    let plain = layout.heights.iter().flat_map(|&t| {
        layout
            .borders
            .iter()
            .enumerate()
            .map(move |(i, &b)| (t, b, i, 1.0))
    });
    let stretched = layout.heights.iter().flat_map(|&t| {
        layout
            .stretches
            .iter()
            .filter(|&&s| s != 1.0)
            .map(move |&s| (t, layout.borders[0], 0, s))
    });
    for (target, margin, i, stretch) in plain.chain(stretched) {
        let k = (target / ink.h.max(1) as f32).clamp(0.5, 8.0);
        let scale_xy = (k * stretch, k);
        let border = (target * margin).round() as u32;
        let mut suffix = if i > 0 {
            format!(" margin {margin}")
        } else {
            String::new()
        };
        if stretch != 1.0 {
            suffix.push_str(&format!(" wide {stretch}"));
        }
        let scaled = |name: &str, f: &dyn Fn(f32, f32) -> f32| Variant {
            name: format!("{name} {}px{suffix}", target as u32),
            image: scale(img, original, crop, scale_xy, border, false, f),
        };
        if layout.gray {
            // The luminance as it is; the border continues the crop's edge, so that it does
            // not frame the text.
            out.push(Variant {
                name: format!("gray {}px{suffix}", target as u32),
                image: scale(img, original, crop, scale_xy, border, true, &|v, _| {
                    1.0 - v / 255.0
                }),
            });
        }
        // Stretched around the 50 % contrast line: plate texture (a semi-opaque plate over a
        // photo) goes white, strokes go black.
        out.push(scaled("plate", &|v, _| {
            let c = ((v - plate).abs() / cmax).min(1.0);
            ((c - 0.25) * 2.0).clamp(0.0, 1.0)
        }));
        if changed.is_some() {
            out.push(scaled("changed", &|v, o| ramp((v - o).abs() - CHANGED)));
        }
        if let Some(t) = threshold {
            out.push(scaled("dark", &|v, _| ramp(t - v)));
            out.push(scaled("bright", &|v, _| ramp(v - t)));
        }
    }
    out
}

/// The crop scaled by `k` (horizontal, vertical; bilinear), mapped through `ink` (luminance, original luminance ->
/// 0..1), as dark-on-white with a border of `border` pixels: white, or with `match_edge` the
/// median level of the crop's own edge (a plate or background continues into it).
fn scale(
    img: &Plane,
    original: Option<&Plane>,
    crop: Rect,
    (kx, ky): (f32, f32),
    border: u32,
    match_edge: bool,
    ink: &dyn Fn(f32, f32) -> f32,
) -> image::GrayImage {
    let (ow, oh) = (
        ((crop.w as f32) * kx).round().max(1.0) as u32,
        ((crop.h as f32) * ky).round().max(1.0) as u32,
    );
    let mut out =
        image::GrayImage::from_pixel(ow + 2 * border, oh + 2 * border, image::Luma([255]));
    for y in 0..oh {
        let sy = ((y as f32 + 0.5) / ky - 0.5).clamp(0.0, (crop.h - 1) as f32);
        for x in 0..ow {
            let sx = ((x as f32 + 0.5) / kx - 0.5).clamp(0.0, (crop.w - 1) as f32);
            let v = bilinear(img, crop, sx, sy);
            let o = original.map_or(v, |o| bilinear(o, crop, sx, sy));
            let c = ink(v, o);
            out.put_pixel(
                x + border,
                y + border,
                image::Luma([(255.0 * (1.0 - c)) as u8]),
            );
        }
    }
    if match_edge && border > 0 {
        let mut edge: Vec<u8> = Vec::with_capacity(2 * (ow + oh) as usize);
        for x in 0..ow {
            edge.push(out.get_pixel(x + border, border)[0]);
            edge.push(out.get_pixel(x + border, oh - 1 + border)[0]);
        }
        for y in 0..oh {
            edge.push(out.get_pixel(border, y + border)[0]);
            edge.push(out.get_pixel(ow - 1 + border, y + border)[0]);
        }
        edge.sort_unstable();
        let level = image::Luma([edge[edge.len() / 2]]);
        for (x, y, p) in out.enumerate_pixels_mut() {
            let inside = (border..border + ow).contains(&x) && (border..border + oh).contains(&y);
            if !inside {
                *p = level;
            }
        }
    }
    out
}

/// The luminance at (`sx`, `sy`) relative to `crop`, interpolated.
fn bilinear(p: &Plane, crop: Rect, sx: f32, sy: f32) -> f32 {
    let (x0, y0) = (sx.floor() as u32, sy.floor() as u32);
    let (x1, y1) = ((x0 + 1).min(crop.w - 1), (y0 + 1).min(crop.h - 1));
    let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
    let at = |x: u32, y: u32| p.at(crop.x + x, crop.y + y) as f32;
    let top = at(x0, y0) * (1.0 - fx) + at(x1, y0) * fx;
    let bottom = at(x0, y1) * (1.0 - fx) + at(x1, y1) * fx;
    top * (1.0 - fy) + bottom * fy
}

/// Otsu's threshold of the luminance in `r` (the level that best splits it in two classes),
/// or `None` when the crop is flat.
fn otsu(img: &Plane, r: Rect) -> Option<f32> {
    let mut hist = [0u64; 256];
    for y in r.y..r.y + r.h {
        for x in r.x..r.x + r.w {
            hist[img.at(x, y) as usize] += 1;
        }
    }
    let total: u64 = hist.iter().sum();
    let sum: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, n)| i as f64 * *n as f64)
        .sum();
    let (mut wb, mut sb, mut best, mut t) = (0u64, 0f64, 0f64, None);
    for (i, n) in hist.iter().enumerate() {
        wb += n;
        if wb == 0 {
            continue;
        }
        let wf = total - wb;
        if wf == 0 {
            break;
        }
        sb += i as f64 * *n as f64;
        let (mb, mf) = (sb / wb as f64, (sum - sb) / wf as f64);
        let between = wb as f64 * wf as f64 * (mb - mf) * (mb - mf);
        if between > best {
            best = between;
            // Between class i and i+1.
            t = Some(i as f32 + 0.5);
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otsu_splits_two_levels_and_refuses_a_flat_crop() {
        let mut p = Plane {
            w: 4,
            h: 2,
            data: vec![20, 20, 200, 200, 20, 20, 200, 200],
        };
        let r = Rect {
            x: 0,
            y: 0,
            w: 4,
            h: 2,
        };
        let t = otsu(&p, r).unwrap();
        assert!((20.0..200.0).contains(&t), "{t}");
        p.data = vec![90; 8];
        assert_eq!(otsu(&p, r), None);
    }

    #[test]
    fn bright_text_becomes_dark_on_white_in_the_bright_variant() {
        // A white bar (the "text") on a black plate, 4 px high.
        let (w, h) = (24u32, 12u32);
        let mut data = vec![0u8; (w * h) as usize];
        for y in 4..8 {
            for x in 4..20 {
                data[(y * w + x) as usize] = 255;
            }
        }
        let p = Plane { w, h, data };
        let region = Rect { x: 0, y: 0, w, h };
        let ink = Rect {
            x: 4,
            y: 4,
            w: 16,
            h: 4,
        };
        let v = variants(&p, None, region, ink, 0.0, 255.0, &TESSERACT);
        let bright = v.iter().find(|v| v.name == "bright 48px").unwrap();
        let dark = v.iter().find(|v| v.name == "dark 48px").unwrap();
        // The centre of the output is the bar's centre.
        let (cx, cy) = (bright.image.width() / 2, bright.image.height() / 2);
        assert_eq!(bright.image.get_pixel(cx, cy)[0], 0);
        assert_eq!(dark.image.get_pixel(cx, cy)[0], 255);
        // The border is white.
        assert_eq!(bright.image.get_pixel(0, 0)[0], 255);
        assert!(v.iter().all(|v| !v.name.starts_with("changed")));
        assert!(
            v.iter().all(|v| !v.name.contains("wide")),
            "tesseract: no stretch"
        );

        // rapidocr also reads every variant 1.5 times as wide, at the same height.
        let v = variants(&p, None, region, ink, 0.0, 255.0, &RAPIDOCR);
        let plain = v.iter().find(|v| v.name == "bright 48px").unwrap();
        let wide = v.iter().find(|v| v.name == "bright 48px wide 1.5").unwrap();
        assert_eq!(wide.image.height(), plain.image.height());
        let border = 2 * (48.0f32 * RAPIDOCR.borders[0]).round() as u32;
        assert_eq!(
            wide.image.width() - border,
            ((plain.image.width() - border) as f32 * 1.5).round() as u32
        );
        let (cx, cy) = (wide.image.width() / 2, wide.image.height() / 2);
        assert_eq!(wide.image.get_pixel(cx, cy)[0], 0);
    }
}
