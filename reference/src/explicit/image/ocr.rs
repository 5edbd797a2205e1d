//! Reading the measured prompt with OCR engines: `rapidocr` (PP-OCRv4 on ONNX Runtime, from
//! the PyPI package `rapidocr-onnxruntime`, [`rapid`]) and `tesseract` ([`tesseract`]), in the
//! order of the profile's `explicit.ocr.engines`.
//!
//! Small labels are what the standard allows (5 % of a 240-line frame is 12 px), and OCR
//! misreads them as they are. So the label's ink box is cropped, upscaled with bilinear
//! interpolation (smooth strokes instead of blocks) and binarised several ways before OCR
//! ([`prep`]): by contrast with the plate, as bright text, as dark text (an outlined or bare
//! label has no plate: its fill is brighter or darker than its outline), and, when the
//! unlabelled original is known, as the pixels the label changed (the glyph with its outline,
//! whatever is behind); rapidocr, trained on photographs of text lines, also reads the plain
//! luminance. Each engine reads every variant in one process (the model is loaded once per
//! call); tesseract reads them first as one text line (`--psm 7`), then as a block (`--psm 6`)
//! when no line reading conforms. A conforming reading of any variant wins; otherwise the next
//! engine reads, and when none conforms the reading most variants agree on is reported, so that
//! a negative label says what it says (「AI创作」 read as "AI创作", not as whatever garbage one
//! variant produced). An engine that is not installed is skipped, and the reading says so
//! ([`Ocr::note`]). For video, [`vote`] combines the readings of several frames the same way.
//! The calibration set in `calibration/ocr/` measures the rate (`scripts/calibrate-ocr.sh`).

mod prep;
mod rapid;
mod tesseract;

use super::measure::{ink_box, Plane, VisualMeasure};
use super::{temp_path, ExplicitProfile};
use crate::explicit::wording::{self, Wording};
use crate::explicit::Result;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// An OCR engine the reference can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OcrEngine {
    /// PP-OCRv4 recognition through the PyPI package `rapidocr-onnxruntime` (`python3`).
    Rapidocr,
    /// `tesseract` with `chi_sim+eng`.
    Tesseract,
}

impl OcrEngine {
    /// The engine's name in the profile and in readings.
    pub fn name(self) -> &'static str {
        match self {
            OcrEngine::Rapidocr => "rapidocr",
            OcrEngine::Tesseract => "tesseract",
        }
    }
}

/// `explicit.ocr` in the profile.
#[derive(Debug, Clone, Deserialize)]
pub struct OcrProfile {
    /// The engines, in the order they are tried: the next one reads only when the ones before
    /// it are not installed or read no conforming wording.
    pub engines: Vec<OcrEngine>,
}

impl Default for OcrProfile {
    /// A profile written before `explicit.ocr` existed: tesseract alone, as then.
    fn default() -> OcrProfile {
        OcrProfile {
            engines: vec![OcrEngine::Tesseract],
        }
    }
}

/// What OCR read.
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
    /// The engine that read it (`rapidocr`, `tesseract`), when OCR ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<OcrEngine>,
    /// The preprocessing whose reading this is (`gray`, `plate`, `bright`, `dark` or
    /// `changed`, with the text height it was scaled to and, for tesseract, the segmentation
    /// mode), when OCR ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The engine's confidence in the reading (0-1), when it gives one (rapidocr).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f32>,
    /// Engines of the profile that could not run (not installed), and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Video: what each frame read (normalized), when several frames were read and voted on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub frames: Vec<String>,
}

impl Ocr {
    fn failed(why: impl Into<String>) -> Ocr {
        Ocr {
            text: String::new(),
            normalized: String::new(),
            wording: None,
            error: Some(why.into()),
            engine: None,
            variant: None,
            score: None,
            note: None,
            frames: Vec::new(),
        }
    }

    fn read(text: String, engine: OcrEngine, variant: String, profile: &ExplicitProfile) -> Ocr {
        let normalized = normalize_ocr(&text);
        Ocr {
            wording: Some(wording::judge(&normalized, profile)),
            text,
            normalized,
            error: None,
            engine: Some(engine),
            variant: Some(variant),
            score: None,
            note: None,
            frames: Vec::new(),
        }
    }

    /// Whether the wording read conforms.
    pub fn conforms(&self) -> bool {
        self.wording.as_ref().is_some_and(|w| w.conforms)
    }
}

/// Read the text in the measured ink box: see the module documentation. Without the original,
/// the `changed` variant is not available.
pub fn ocr(img: &Plane, m: &VisualMeasure, profile: &ExplicitProfile) -> Ocr {
    ocr_with_original(img, None, m, profile)
}

/// Why an engine gave no readings.
enum EngineError {
    /// Not installed: the next engine reads, and the reading says so.
    Missing(String),
    /// It ran and failed.
    Failed(String),
}

/// [`ocr`], with the unlabelled original (same size) when it is known.
pub fn ocr_with_original(
    img: &Plane,
    original: Option<&Plane>,
    m: &VisualMeasure,
    profile: &ExplicitProfile,
) -> Ocr {
    let (Some(region), Some(_)) = (m.region, m.ink) else {
        return Ocr::failed("no text region to read");
    };
    let Some((ink, plate, cmax)) = ink_box(img, region) else {
        return Ocr::failed("no text in the region");
    };
    let original = original.filter(|o| o.w == img.w && o.h == img.h);
    let variants =
        |layout: &prep::Layout| prep::variants(img, original, region, ink, plate, cmax, layout);
    let mut all = Vec::new();
    let mut missing = Vec::new();
    let mut failed = Vec::new();
    for &engine in &profile.ocr.engines {
        let readings = match engine {
            OcrEngine::Rapidocr => read_rapidocr(&variants(&prep::RAPIDOCR), profile),
            OcrEngine::Tesseract => read_tesseract(&variants(&prep::TESSERACT), profile),
        };
        match readings {
            Ok(readings) => {
                if let Some(hit) = readings.iter().find(|r| r.conforms()) {
                    return with_note(hit.clone(), &missing);
                }
                all.extend(readings);
            }
            Err(EngineError::Missing(why)) => missing.push(format!("{}: {why}", engine.name())),
            Err(EngineError::Failed(why)) => failed.push(format!("{}: {why}", engine.name())),
        }
    }
    match most_agreed(all) {
        Some(r) => with_note(r, &missing),
        None if profile.ocr.engines.is_empty() => Ocr::failed("no OCR engine in the profile"),
        None if failed.is_empty() && missing.is_empty() => Ocr::failed("no text in the region"),
        None => Ocr::failed([failed, missing].concat().join("; ")),
    }
}

fn with_note(mut r: Ocr, missing: &[String]) -> Ocr {
    if !missing.is_empty() {
        r.note = Some(format!("not installed, skipped: {}", missing.join("; ")));
    }
    r
}

fn read_rapidocr(
    variants: &[prep::Variant],
    profile: &ExplicitProfile,
) -> std::result::Result<Vec<Ocr>, EngineError> {
    if variants.is_empty() {
        return Ok(Vec::new());
    }
    let texts = rapid::read(variants).map_err(|e| match e {
        rapid::RapidError::Missing(why) => EngineError::Missing(why),
        rapid::RapidError::Failed(e) => EngineError::Failed(e.to_string()),
    })?;
    Ok(variants
        .iter()
        .zip(texts)
        .map(|(v, (text, score))| {
            let mut r = Ocr::read(text, OcrEngine::Rapidocr, v.name.clone(), profile);
            r.score = Some(score);
            r
        })
        .collect())
}

/// Tesseract reads every variant as one line (`--psm 7`), then, when none conforms, as a
/// block (`--psm 6`).
fn read_tesseract(
    variants: &[prep::Variant],
    profile: &ExplicitProfile,
) -> std::result::Result<Vec<Ocr>, EngineError> {
    let mut all = Vec::new();
    if variants.is_empty() {
        return Ok(all);
    }
    for psm in ["7", "6"] {
        let texts = tesseract::read(variants, psm).map_err(|e| {
            if tesseract::is_missing(&e) {
                EngineError::Missing(e.to_string())
            } else {
                EngineError::Failed(e.to_string())
            }
        })?;
        let readings: Vec<Ocr> = variants
            .iter()
            .zip(texts)
            .map(|(v, text)| {
                let name = format!("{} psm {psm}", v.name);
                Ocr::read(text, OcrEngine::Tesseract, name, profile)
            })
            .collect();
        let hit = readings.iter().any(Ocr::conforms);
        all.extend(readings);
        if hit {
            break;
        }
    }
    Ok(all)
}

/// Temporary image files of the variants an engine reads, removed when dropped (kept when
/// `AIGC_LABEL_KEEP_OCR` is set, to look at when OCR disagrees).
struct TempFiles {
    paths: std::cell::RefCell<Vec<PathBuf>>,
    images: usize,
    keep: bool,
}

impl TempFiles {
    /// The image files, in the order of the variants.
    fn paths(&self) -> Vec<PathBuf> {
        self.paths.borrow()[..self.images].to_vec()
    }

    /// One more file to remove (not an image).
    fn add(&self, stem: &str, ext: &str) -> PathBuf {
        let p = temp_path(stem, ext);
        self.paths.borrow_mut().push(p.clone());
        p
    }
}

impl Drop for TempFiles {
    fn drop(&mut self) {
        if self.keep {
            eprintln!(
                "aigc-label: OCR inputs kept: {}",
                self.paths
                    .borrow()
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            return;
        }
        for p in self.paths.borrow().iter() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Save every variant as a PNG in the temporary folder.
fn save_all(variants: &[prep::Variant], stem: &str) -> Result<TempFiles> {
    let files = TempFiles {
        paths: std::cell::RefCell::new(Vec::new()),
        images: variants.len(),
        keep: std::env::var_os("AIGC_LABEL_KEEP_OCR").is_some(),
    };
    for v in variants {
        let path = files.add(stem, "png");
        v.image
            .save(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(files)
}

/// Combine the readings of several frames of one video label: a conforming reading wins unless
/// more frames agree on one non-conforming reading (then the label says something else: a
/// misreading is not repeated word for word, a wrong wording is). The result lists every
/// frame's reading.
pub fn vote(readings: Vec<Ocr>) -> Option<Ocr> {
    let frames: Vec<String> = readings.iter().map(|r| r.normalized.clone()).collect();
    let count = |n: &str| frames.iter().filter(|f| f.as_str() == n).count();
    let best_conforming = readings
        .iter()
        .filter(|r| r.conforms())
        .max_by_key(|r| count(&r.normalized))
        .cloned();
    let agreed = most_agreed(readings.clone());
    let mut out = match (best_conforming, agreed) {
        (Some(c), Some(a)) if !a.conforms() && count(&a.normalized) > count(&c.normalized) => a,
        (Some(c), _) => c,
        (None, a) => a?,
    };
    if frames.len() > 1 {
        out.frames = frames;
    }
    Some(out)
}

/// The non-empty reading most readings agree on (the first of equals), else the first.
fn most_agreed(readings: Vec<Ocr>) -> Option<Ocr> {
    let count = |n: &str| readings.iter().filter(|r| r.normalized == n).count();
    let best = readings
        .iter()
        .enumerate()
        .filter(|(_, r)| r.error.is_none() && !r.normalized.is_empty())
        .max_by_key(|(i, r)| (count(&r.normalized), std::cmp::Reverse(*i)))
        .map(|(_, r)| r.clone());
    best.or_else(|| readings.into_iter().next())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Profile;

    fn reading(text: &str) -> Ocr {
        let p = ExplicitProfile::from_profile(&Profile::builtin()).unwrap();
        Ocr::read(text.into(), OcrEngine::Tesseract, "test".into(), &p)
    }

    #[test]
    fn a_conforming_frame_wins_unless_more_frames_agree_on_another_wording() {
        let v = vote(vec![reading("ALBEE"), reading("Al生成"), reading("SEB")]).unwrap();
        assert_eq!(v.normalized, "AI生成");
        assert_eq!(v.frames, ["ALBEE", "AI生成", "SEB"]);
        let v = vote(vec![
            reading("AI创作"),
            reading("AI生成"),
            reading("AI创作"),
        ])
        .unwrap();
        assert_eq!(v.normalized, "AI创作");
        assert!(!v.conforms());
        let v = vote(vec![reading("AI创作"), reading("")]).unwrap();
        assert_eq!(v.normalized, "AI创作");
        assert!(vote(Vec::new()).is_none());
    }

    #[test]
    fn the_reading_most_variants_agree_on_is_reported() {
        let r = most_agreed(vec![reading("AIGE"), reading("AI创作"), reading("AI创作")]).unwrap();
        assert_eq!(r.normalized, "AI创作");
        let r = most_agreed(vec![reading(""), reading("AI")]).unwrap();
        assert_eq!(r.normalized, "AI");
    }
}
