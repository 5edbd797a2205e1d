//! Reading the measured prompt with tesseract.

use super::measure::{grow, ink_box, Plane, VisualMeasure};
use super::{temp_path, ExplicitProfile, Rect};
use crate::explicit::wording::{self, Wording};
use crate::explicit::Result;
use serde::Serialize;

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
                    error: Some(e.to_string()),
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

fn run_tesseract(img: &image::GrayImage) -> Result<String> {
    let path = temp_path("ocr", "png");
    img.save(&path).map_err(|e| e.to_string())?;
    let result = crate::explicit::run_tool(
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
