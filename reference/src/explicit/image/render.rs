//! Rendering the prompt: glyph layout with the bundled font, the plate, and compositing.

use crate::explicit::Result;
use ab_glyph::{point, Font, FontRef, PxScale, ScaleFont};
use image::{DynamicImage, RgbaImage};

use super::{Anchor, Rect};

/// The bundled font subset (SIL OFL-1.1, see `assets/fonts/OFL.txt`).
pub const FONT: &[u8] = include_bytes!("../../../assets/fonts/label-cjk-subset.otf");

/// Generation choice (not policy): render this much above the profile minimum, so that JPEG
/// ringing or a one-pixel anti-aliasing difference in someone's measurement cannot put a label
/// made by the reference below the threshold.
const RENDER_MARGIN: f64 = 1.10;
/// Opacity of the plate behind the text (generation choice; the common vendor value is 60 %).
const PLATE_ALPHA: f32 = 0.65;
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
) -> Result<(Vec<ab_glyph::OutlinedGlyph>, ab_glyph::Rect)> {
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
            ).into());
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
/// `min_ratio` × the shortest side (with `RENDER_MARGIN`), at `anchor`.
pub fn render_overlay(
    width: u32,
    height: u32,
    text: &str,
    anchor: Anchor,
    min_ratio: f64,
) -> Result<Overlay> {
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
        ).into());
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
pub(super) fn draw_keeping_color(img: &DynamicImage, o: &Overlay) -> DynamicImage {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explicit::image::{measure_diff, Plane};
    use crate::explicit::wording;

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
