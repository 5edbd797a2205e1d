//! Near-threshold explicit-label instances of an official run: an image that already carries a
//! prompt whose glyph height is just below or just above the profile's floor
//! (`explicit.image.min_text_height_ratio`, 5 % of the shortest side, GB 45438 5.2 e), drawn at
//! a seeded distance from it (0.20 to 0.30 percentage points: "4.8 %" and "5.2 %" at the
//! nearest), on a seeded canvas (size, orientation, colours), with a seeded prompt.
//!
//! The implementation labels the image (op `label`). Below the floor the existing prompt is not
//! enough, and a generator that takes it as sufficient (a threshold measured on the em size, a
//! tolerance, a rounding) leaves no conforming label: negative. Above the floor the existing
//! prompt already conforms; whatever the generator does, a conforming prompt must be there.
//!
//! The expectation comes from the template's parameters (the drawn height, checked here on the
//! rendered pixels by the same rule the profile names: rows with ink at >= 50 % contrast) and
//! from the profile's floor and edge band; never from the reference. The prompt is rasterised
//! here with `ab_glyph` from the label font's file (reference/assets/fonts, a font, not code).

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use image::{Rgb, RgbImage};
use serde_json::{json, Map, Value};

use super::rng::Rng;
use crate::vector::{Expect, VectorClass};

/// The font the prompt is drawn with (a CJK subset; every prompt below is covered).
const FONT: &[u8] = include_bytes!("../../../reference/assets/fonts/label-cjk-subset.otf");

/// Prompts that conform in wording (5.1 b elements), so that only the height is at stake.
const PROMPTS: [&str; 3] = ["AI生成", "AI合成", "人工智能生成"];

/// Which side of the floor an instance is drawn on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Just below the floor.
    Below,
    /// Just above it.
    Above,
}

impl Side {
    /// Template name.
    pub fn name(self) -> &'static str {
        match self {
            Side::Below => "image-height-below-floor",
            Side::Above => "image-height-above-floor",
        }
    }
}

/// Both sides, one instance each.
pub const SIDES: [Side; 2] = [Side::Below, Side::Above];

/// One planned near-threshold instance.
pub struct Planned {
    /// The PNG.
    pub bytes: Vec<u8>,
    /// The request (label fields and the explicit prompt to write).
    pub request: Map<String, Value>,
    /// Kind of case.
    pub class: VectorClass,
    /// What it is, for people.
    pub description: String,
    /// Expectations.
    pub expect: Expect,
    /// The drawn glyph height as a fraction of the shortest side (for the test).
    pub drawn_ratio: f64,
}

/// A number of the profile's `explicit.image` section.
fn image_param(profile: &aigc_label::Profile, key: &str) -> Result<f64, String> {
    profile
        .document()
        .get("explicit")
        .and_then(|e| e.get("image"))
        .and_then(|i| i.get(key))
        .and_then(Value::as_f64)
        .ok_or_else(|| format!("the profile has no explicit.image.{key}"))
}

/// The ink rows of a coverage mask (`w` wide): the rows with a pixel at >= 50 % coverage.
fn ink_rows(mask: &[f32], w: usize) -> Option<(usize, usize)> {
    let rows: Vec<usize> = mask
        .chunks(w)
        .enumerate()
        .filter(|(_, row)| row.iter().any(|&c| c >= 0.5))
        .map(|(y, _)| y)
        .collect();
    Some((*rows.first()?, *rows.last()?))
}

/// `text` rasterised at `scale`: (coverage mask, width, height).
fn rasterise(font: &FontRef, text: &str, scale: f32) -> (Vec<f32>, usize, usize) {
    let sf = font.as_scaled(PxScale::from(scale));
    let mut glyphs = Vec::new();
    let mut x = 0.0f32;
    for c in text.chars() {
        let g = sf.scaled_glyph(c);
        let advance = sf.h_advance(g.id);
        glyphs.push(ab_glyph::Glyph {
            position: ab_glyph::point(x, sf.ascent()),
            ..g
        });
        x += advance;
    }
    let (w, h) = (
        x.ceil() as usize + 2,
        (sf.ascent() - sf.descent()).ceil() as usize + 2,
    );
    let mut mask = vec![0f32; w * h];
    for g in glyphs {
        if let Some(o) = font.outline_glyph(g) {
            let b = o.px_bounds();
            o.draw(|gx, gy, c| {
                let (px, py) = (b.min.x as i64 + gx as i64, b.min.y as i64 + gy as i64);
                if px >= 0 && py >= 0 && (px as usize) < w && (py as usize) < h {
                    let cell = &mut mask[py as usize * w + px as usize];
                    *cell = cell.max(c);
                }
            });
        }
    }
    (mask, w, h)
}

/// The prompt rasterised with an ink height of exactly `target` rows, cropped to its ink rows.
fn prompt_of_height(text: &str, target: usize) -> Result<(Vec<f32>, usize, usize), String> {
    let font = FontRef::try_from_slice(FONT).map_err(|e| format!("label font: {e}"))?;
    // Ink height grows with the scale (in steps of whole rows); bisect the scale for the exact
    // row count, keeping the nearest drawn so far (the caller checks its side of the floor).
    let (mut lo, mut hi) = (target as f32 * 0.5, target as f32 * 2.5);
    let mut nearest: Option<(usize, Vec<f32>, usize, usize)> = None;
    for _ in 0..60 {
        let mid = (lo + hi) / 2.0;
        let (mask, w, _) = rasterise(&font, text, mid);
        let Some((top, bottom)) = ink_rows(&mask, w) else {
            lo = mid;
            continue;
        };
        let height = bottom - top + 1;
        let miss = height.abs_diff(target);
        if nearest.as_ref().is_none_or(|n| miss < n.0) {
            nearest = Some((miss, mask[top * w..(bottom + 1) * w].to_vec(), w, height));
        }
        if height == target {
            break;
        }
        if height < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    nearest
        .map(|(_, mask, w, h)| (mask, w, h))
        .ok_or_else(|| format!("no scale draws {text:?} with ink"))
}

/// Plan the near-threshold instance on `side`; `fields` is a valid label for the request.
pub fn plan(
    rng: &mut Rng,
    side: Side,
    fields: &super::templates::Fields,
    profile: &aigc_label::Profile,
) -> Result<Planned, String> {
    let floor = image_param(profile, "min_text_height_ratio")?;
    let band = image_param(profile, "edge_band_ratio")?;
    let short = rng.range(1000, 1400);
    let long = short + rng.range(short / 4, short * 3 / 4);
    let portrait = rng.coin();
    let (w, h) = if portrait {
        (short, long)
    } else {
        (long, short)
    };
    // 20 to 30 hundredths of a percentage point from the floor (4.8 % and 5.2 % at the
    // nearest): at least 2 rows at 1000 px, so that a one-row difference in how the ink edge is
    // counted cannot move a prompt to the other side.
    let offset = rng.range(20, 30) as f64 / 10_000.0;
    let floor_rows = (floor * short as f64).ceil() as usize;
    let target = match side {
        Side::Below => (((floor - offset) * short as f64).round() as usize).min(floor_rows - 1),
        Side::Above => (((floor + offset) * short as f64).round() as usize).max(floor_rows),
    };
    let text = *rng.pick(&PROMPTS);
    let (mask, mw, mh) = prompt_of_height(text, target)?;
    let drawn_ratio = mh as f64 / short as f64;
    let below = drawn_ratio < floor;
    if below != (side == Side::Below) {
        return Err(format!(
            "drew {text:?} {mh} rows high on a {short} px side: not on the {} side of {floor}",
            side.name()
        ));
    }
    // A light canvas with a gentle seeded gradient; dark ink.
    let base = [
        rng.range(200, 250) as u8,
        rng.range(200, 250) as u8,
        rng.range(200, 250) as u8,
    ];
    let mut img = RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let t = ((x as usize + y as usize) * 24 / (w + h)) as u8;
        Rgb([
            base[0].saturating_sub(t),
            base[1].saturating_sub(t),
            base[2].saturating_sub(t),
        ])
    });
    // The existing prompt in the top-left corner, inside the edge band; the request asks for
    // the bottom-right, so a new prompt never covers the old one.
    let margin = ((band * short as f64) / 4.0) as usize;
    let (ox, oy) = (
        margin + rng.below(margin.max(1)),
        margin + rng.below(margin.max(1)),
    );
    if ox + mw >= w || oy + mh >= h {
        return Err(format!("the prompt does not fit a {w}x{h} canvas"));
    }
    let ink = [
        rng.below(40) as f32,
        rng.below(40) as f32,
        rng.below(40) as f32,
    ];
    for (i, &c) in mask.iter().enumerate() {
        if c <= 0.0 {
            continue;
        }
        let (x, y) = ((ox + i % mw) as u32, (oy + i / mw) as u32);
        let p = img.get_pixel_mut(x, y);
        for (channel, ink) in p.0.iter_mut().zip(ink) {
            *channel = (*channel as f32 * (1.0 - c) + ink * c).round() as u8;
        }
    }
    let mut bytes = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut bytes),
        img.as_raw(),
        w as u32,
        h as u32,
        image::ExtendedColorType::Rgb8,
    )
    .map_err(|e| format!("PNG: {e}"))?;
    let label: Map<String, Value> = fields.iter().cloned().collect();
    let mut request = Map::new();
    request.insert("fields".into(), Value::Object(label));
    request.insert(
        "explicit".into(),
        json!({"text": *rng.pick(&PROMPTS), "position": "bottom-right"}),
    );
    let expect: Expect = serde_json::from_value(json!({
        "status": "ok",
        "output": {"explicit": {
            "present": true,
            "wording": "conforms",
            "min_height_ratio": floor,
            "position": "edge",
        }}
    }))
    .map_err(|e| format!("near-threshold expectation: {e}"))?;
    let percent = drawn_ratio * 100.0;
    let (class, description) = match side {
        Side::Below => (
            VectorClass::Negative,
            format!(
                "the input already has a prompt {mh} px high on a {short} px shortest side ({percent:.2} %, below the {} % floor): not sufficient; the output needs a conforming prompt",
                floor * 100.0
            ),
        ),
        Side::Above => (
            VectorClass::Boundary,
            format!(
                "the input already has a prompt {mh} px high on a {short} px shortest side ({percent:.2} %, above the {} % floor): the output must carry a conforming prompt",
                floor * 100.0
            ),
        ),
    };
    Ok(Planned {
        bytes,
        request,
        class,
        description,
        expect,
        drawn_ratio,
    })
}
