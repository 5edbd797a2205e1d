//! Reading the measured prompt with tesseract.
//!
//! Small labels are what the standard allows (5 % of a 240-line frame is 12 px), and tesseract
//! misreads them as they are. So the label's ink box is cropped, upscaled with bilinear
//! interpolation (smooth strokes instead of blocks) and binarised several ways before OCR
//! ([`prep`]): by contrast with the plate, as bright text, as dark text (an outlined or bare
//! label has no plate: its fill is brighter or darker than its outline), and, when the
//! unlabelled original is known, as the pixels the label changed (the glyph with its outline,
//! whatever is behind). Every variant goes to one tesseract process (a list of images, so the
//! model is loaded once), first as one text line (`--psm 7`), then as a block (`--psm 6`) when no
//! line reading conforms. A conforming reading of any variant wins; otherwise the reading most
//! variants agree on is reported, so that a negative label says what it says (「AI创作」 read as
//! "AI创作", not as whatever garbage one variant produced). For video, [`vote`] combines the
//! readings of several frames the same way. The calibration set in `calibration/ocr/` measures
//! the rate (`scripts/calibrate-ocr.sh`).

mod prep;

use super::measure::{ink_box, Plane, VisualMeasure};
use super::{temp_path, ExplicitProfile};
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
    /// The preprocessing whose reading this is (`plate`, `bright`, `dark` or `changed`, with
    /// the text height it was scaled to and the segmentation mode), when OCR ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
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
            variant: None,
            frames: Vec::new(),
        }
    }

    fn read(text: String, variant: String, profile: &ExplicitProfile) -> Ocr {
        let normalized = normalize_ocr(&text);
        Ocr {
            wording: Some(wording::judge(&normalized, profile)),
            text,
            normalized,
            error: None,
            variant: Some(variant),
            frames: Vec::new(),
        }
    }

    /// Whether the wording read conforms.
    pub fn conforms(&self) -> bool {
        self.wording.as_ref().is_some_and(|w| w.conforms)
    }
}

/// Read the text in the measured ink box with tesseract (`chi_sim+eng`): see the module
/// documentation. Without the original, the `changed` variant is not available.
pub fn ocr(img: &Plane, m: &VisualMeasure, profile: &ExplicitProfile) -> Ocr {
    ocr_with_original(img, None, m, profile)
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
    let variants = prep::variants(img, original, region, ink, plate, cmax);
    if variants.is_empty() {
        return Ocr::failed("no text in the region");
    }
    let mut all = Vec::new();
    for psm in ["7", "6"] {
        let texts = match run_tesseract(&variants, psm) {
            Ok(t) => t,
            Err(e) => return Ocr::failed(e.to_string()),
        };
        let readings: Vec<Ocr> = variants
            .iter()
            .zip(texts)
            .map(|(v, text)| Ocr::read(text, format!("{} psm {psm}", v.name), profile))
            .collect();
        if let Some(hit) = readings.iter().find(|r| r.conforms()) {
            return hit.clone();
        }
        all.extend(readings);
    }
    most_agreed(all).unwrap_or_else(|| Ocr::failed("OCR did not run"))
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

/// One tesseract process over every variant (a list file of images: the language model is
/// loaded once); one text per variant, whitespace removed.
fn run_tesseract(variants: &[prep::Variant], psm: &str) -> Result<Vec<String>> {
    let keep = std::env::var_os("AIGC_LABEL_KEEP_OCR").is_some();
    let mut paths = Vec::new();
    let cleanup = |paths: &[std::path::PathBuf]| {
        if !keep {
            for p in paths {
                let _ = std::fs::remove_file(p);
            }
        }
    };
    let mut list = String::new();
    for v in variants {
        let path = temp_path("ocr", "png");
        paths.push(path.clone());
        if let Err(e) = v.image.save(&path) {
            cleanup(&paths);
            return Err(e.to_string().into());
        }
        list.push_str(&path.to_string_lossy());
        list.push('\n');
    }
    let list_path = temp_path("ocr-list", "txt");
    paths.push(list_path.clone());
    if let Err(e) = std::fs::write(&list_path, list) {
        cleanup(&paths);
        return Err(e.to_string().into());
    }
    let result = crate::explicit::run_tool(
        "tesseract",
        &[
            list_path.as_os_str(),
            "stdout".as_ref(),
            "-l".as_ref(),
            "chi_sim+eng".as_ref(),
            "--psm".as_ref(),
            psm.as_ref(),
        ],
    );
    // AIGC_LABEL_KEEP_OCR=1 keeps the images tesseract saw, to look at when OCR disagrees.
    if keep {
        eprintln!("aigc-label: OCR inputs kept (list {})", list_path.display());
    }
    cleanup(&paths);
    let text = String::from_utf8_lossy(&result?).into_owned();
    // Pages are separated by form feeds, one per image.
    let mut pages: Vec<String> = text
        .split('\u{c}')
        .map(|p| p.chars().filter(|c| !c.is_whitespace()).collect())
        .collect();
    pages.resize(variants.len(), String::new());
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Profile;

    fn reading(text: &str) -> Ocr {
        let p = ExplicitProfile::from_profile(&Profile::builtin()).unwrap();
        Ocr::read(text.into(), "test".into(), &p)
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
