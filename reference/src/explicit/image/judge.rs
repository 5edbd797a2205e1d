//! Verdicts on a measured visual prompt (GB-5.2 for images, 5.4 for video frames).

use super::measure::VisualMeasure;
use super::ocr::Ocr;
use crate::explicit::requirements as req;
use crate::explicit::{ExplicitProfile, Finding};

/// Text lower than this (in the frame's own pixels) is misread by OCR even when it is well
/// formed (measured with tesseract: 10-11 px 「AI生成」 on the 320x240 test video read as
/// "AI=hr", "上生成"; the calibration set holds no label below 12 px, so rapidocr has not been
/// shown to do better), so a non-conforming reading of it is no evidence about the wording.
pub const OCR_MIN_TEXT_PX: u32 = 12;

/// Verdicts on a visual measurement. `ids` are the requirement ids for wording, position and
/// height (5.2-b/c/e for images, 5.4-b/-/f for video).
pub fn judge_visual(
    m: &VisualMeasure,
    min_ratio: f64,
    band_ratio: f64,
    ids: (&'static str, Option<&'static str>, &'static str),
) -> Vec<Finding> {
    if m.ink.is_none() {
        return no_label(m, ids);
    }
    let mut f = Vec::new();
    let too_small_to_read = m.text_height_px.is_some_and(|h| h < OCR_MIN_TEXT_PX);
    f.push(match &m.ocr {
        Some(Ocr {
            wording: Some(w), ..
        }) if !w.conforms && too_small_to_read => Finding::unknown(
            ids.0,
            format!(
                "OCR read {:?}, but text {} px high is below the {OCR_MIN_TEXT_PX} px OCR \
                 reads reliably: the wording is not judged (the height requirement is)",
                w.text,
                m.text_height_px.unwrap_or(0)
            ),
        ),
        Some(
            o @ Ocr {
                wording: Some(w), ..
            },
        ) => Finding::judge(
            ids.0,
            w.conforms,
            format!(
                "OCR{} read {:?}: {}{}",
                o.engine
                    .map(|e| format!(" ({})", e.name()))
                    .unwrap_or_default(),
                w.text,
                if w.conforms {
                    "AI element and 生成/合成 present"
                } else {
                    "an element is missing"
                },
                o.note
                    .as_ref()
                    .map(|n| format!(" (OCR engines {n})"))
                    .unwrap_or_default()
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

/// The verdicts when no label was found: every requirement of the prompt fails, with why (no
/// change against the original, or no text-like region in the edge band without it).
fn no_label(
    m: &VisualMeasure,
    ids: (&'static str, Option<&'static str>, &'static str),
) -> Vec<Finding> {
    let why = match (&m.scan_note, m.method) {
        (Some(note), _) => note.clone(),
        (None, super::measure::Method::Diff) if m.region.is_some() => {
            "no label found: the change against the original holds no text contrast".into()
        }
        (None, super::measure::Method::Diff) => {
            "no label found: nothing differs from the original".into()
        }
        (None, super::measure::Method::Scan) => "no label found".into(),
    };
    let mut f = vec![Finding::judge(ids.0, false, why.clone())];
    if let Some(pos) = ids.1 {
        f.push(Finding::judge(pos, false, why.clone()));
    }
    f.push(Finding::judge(ids.2, false, why));
    f
}

/// Verdicts GB-5.2-a..e for an image measurement.
///
/// 5.2 a (a text prompt) passes when text was found and OCR read characters. 5.2 d (clearly
/// legible) is measured by the contrast ratio and the colour difference of the glyph fill
/// against what it is read against ([`super::legibility`]): when both are below the profile's
/// minimums it fails, whatever OCR made of it (an engine that stretches contrast reads text a
/// person strains to see); otherwise it passes when OCR read the wording, and is unknown when
/// not: an OCR miss is a limit of the engine, not evidence of illegibility.
pub fn judge(m: &VisualMeasure, p: &ExplicitProfile) -> Vec<Finding> {
    let read = m.ocr.as_ref().filter(|o| o.error.is_none());
    let a = match (m.ink, read) {
        (None, _) => Finding::judge(
            req::GB_5_2_A,
            false,
            m.scan_note
                .clone()
                .unwrap_or_else(|| "no label found".into()),
        ),
        (Some(_), Some(o)) if !o.text.is_empty() => Finding::judge(
            req::GB_5_2_A,
            true,
            format!("text prompt read as {:?}", o.text),
        ),
        (Some(_), _) => Finding::unknown(
            req::GB_5_2_A,
            "text-like ink found, but OCR read no characters (or did not run)",
        ),
    };
    let contrast = m
        .text_contrast
        .map(|c| format!("; text/background contrast {c:.0} of 255"))
        .unwrap_or_default();
    let ratio = m.contrast_ratio;
    let mut contrast = match ratio {
        Some(r) => format!("{contrast}, contrast ratio {r:.2}:1"),
        None => contrast,
    };
    if let Some(de) = m.colour_difference {
        contrast.push_str(&format!(", colour difference ΔE {de:.0}"));
    }
    // Colour saves a low luminance contrast only when it was measured and reaches the minimum.
    let colour_saves = match (m.colour_difference, p.image.min_colour_difference) {
        (Some(de), Some(min)) => de >= min,
        _ => false,
    };
    let d = match (ratio, p.image.min_contrast_ratio) {
        (Some(r), Some(min)) if r < min && !colour_saves => Finding::judge(
            req::GB_5_2_D,
            false,
            format!(
                "the glyphs stand out from what they are read against by a contrast ratio of \
                 {r:.2}:1, below the profile's {min}:1 (explicit.image.min_contrast_ratio){}",
                match (m.colour_difference, p.image.min_colour_difference) {
                    (Some(de), Some(min_de)) => format!(
                        ", and by a colour difference of ΔE {de:.0}, below its {min_de} \
                         (explicit.image.min_colour_difference)"
                    ),
                    _ => String::new(),
                }
            ),
        ),
        _ => match read.and_then(|o| o.wording.as_ref()) {
            Some(w) if w.conforms => Finding::judge(
                req::GB_5_2_D,
                true,
                format!("OCR read the wording {:?}{contrast}", w.text),
            ),
            _ => Finding::unknown(
                req::GB_5_2_D,
                format!("OCR did not read a conforming wording; judge legibility by eye{contrast}"),
            ),
        },
    };
    let mut f = vec![a];
    f.extend(judge_visual(
        m,
        p.image.min_text_height_ratio,
        p.image.edge_band_ratio,
        (req::GB_5_2_B, Some(req::GB_5_2_C), req::GB_5_2_E),
    ));
    f.insert(3, d);
    f
}

/// GB-5.2-d under the profile's legibility limits and each pair of `readings.limits.legibility`
/// (annotation for the report: which outputs the [L] limits decide). `None` when the contrast
/// was not measured, the profile sets no limit, or there is no other pair to try.
pub fn legibility_reading(
    m: &VisualMeasure,
    p: &ExplicitProfile,
    others: &[crate::explicit::readings::LegibilityLimits],
) -> Option<crate::explicit::readings::LimitReading> {
    let ratio = m.contrast_ratio?;
    let min_ratio = p.image.min_contrast_ratio?;
    if others.is_empty() {
        return None;
    }
    let legible = |c: f64, d: Option<f64>| {
        let colour_saves = matches!((m.colour_difference, d), (Some(de), Some(d)) if de >= d);
        ratio >= c || colour_saves
    };
    let mut values = vec![(
        match p.image.min_colour_difference {
            Some(d) => format!("{min_ratio}:1 / ΔE {d}"),
            None => format!("{min_ratio}:1"),
        },
        legible(min_ratio, p.image.min_colour_difference),
    )];
    values.extend(others.iter().map(|o| {
        (
            format!(
                "{}:1 / ΔE {}",
                o.min_contrast_ratio, o.min_colour_difference
            ),
            legible(o.min_contrast_ratio, Some(o.min_colour_difference)),
        )
    }));
    crate::explicit::readings::limit_reading(req::GB_5_2_D, "legibility", values)
}

/// The position verdict (GB-5.2-c for images, GB-5.4-e for video frames) under the profile's
/// edge band and each other band of `readings.limits.edge_band_ratio`: the label is in the band
/// when its distance to the nearest edge is at most that share of the side. `None` when no
/// label was located or there is no other band to try.
pub fn edge_band_reading(
    m: &VisualMeasure,
    requirement: &str,
    band_ratio: f64,
    others: &[f64],
) -> Option<crate::explicit::readings::LimitReading> {
    let d = m.edge_distance_ratio?;
    if others.is_empty() {
        return None;
    }
    let within = |band: f64| d <= band + 1e-12;
    let mut values = vec![(format!("{:.0} %", band_ratio * 100.0), within(band_ratio))];
    values.extend(
        others
            .iter()
            .map(|b| (format!("{:.0} %", b * 100.0), within(*b))),
    );
    crate::explicit::readings::limit_reading(requirement, "edge_band_ratio", values)
}
