//! Readings of clauses whose meaning is open (profile `readings:`, issue 19).
//!
//! Where the digest marks the meaning of a requirement below [H], the profile names the
//! *binding* reading (the one verdicts follow) and the alternatives. [`apply_text_height`]
//! evaluates 5.2 e / 5.4 f under every reading of 文字高度 from one [`VisualMeasure`], makes the
//! height finding follow the binding reading, and says in the finding when another reading would
//! give another verdict. The alternatives annotate; they never change a verdict.

use serde::{Deserialize, Serialize};

use super::image::VisualMeasure;
use super::{Finding, Outcome};
use crate::profile::{Profile, ProfileError};

/// The `readings:` section of the profile.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ReadingsProfile {
    /// What "文字高度" (text height) measures.
    pub text_height: TextHeightReadings,
}

/// `readings.text_height`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TextHeightReadings {
    /// The requirements it applies to (GB-5.2-e, GB-5.4-f).
    pub requirements: Vec<String>,
    /// The digest's confidence in any one reading (H/M/L).
    pub confidence: String,
    /// Where the digest discusses it.
    pub digest: String,
    /// The reading verdicts follow.
    pub binding: HeightReading,
    /// Why that one.
    pub reason: String,
    /// The other readings, evaluated for the report only.
    pub alternatives: Vec<HeightReading>,
    /// Glyph ink height of a CJK prompt line per em (for the `font-size` reading).
    pub cjk_ink_per_em: f64,
}

/// A reading of 文字高度.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HeightReading {
    /// The glyphs' own fill (outline/stroke, shadow and plate excluded).
    GlyphFill,
    /// The fill with the outline/stroke or shadow drawn around it.
    GlyphOutlined,
    /// The whole label region, plate included.
    LabelBox,
    /// The font's em size, estimated from the glyph fill.
    FontSize,
}

impl HeightReading {
    /// The profile's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            HeightReading::GlyphFill => "glyph-fill",
            HeightReading::GlyphOutlined => "glyph-outlined",
            HeightReading::LabelBox => "label-box",
            HeightReading::FontSize => "font-size",
        }
    }
}

impl ReadingsProfile {
    /// The `readings:` section of a profile.
    pub fn from_profile(profile: &Profile) -> Result<ReadingsProfile, ProfileError> {
        let r: ReadingsProfile = profile.section("readings")?;
        if !(0.5..=1.5).contains(&r.text_height.cjk_ink_per_em) {
            return Err(ProfileError::Invalid(format!(
                "profile {}: readings.text_height.cjk_ink_per_em {} is not an ink/em ratio (0.5-1.5)",
                profile.id, r.text_height.cjk_ink_per_em
            )));
        }
        Ok(r)
    }

    /// One line per open question: its binding reading, for every report.
    pub fn binding_lines(&self) -> Vec<String> {
        let t = &self.text_height;
        vec![format!(
            "文字高度 / text height ({}; digest {}, [{}]): binding reading {}; also evaluated: {}",
            t.requirements.join(", "),
            t.digest,
            t.confidence,
            t.binding.as_str(),
            t.alternatives
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )]
    }
}

/// One reading's measurement and verdict.
#[derive(Debug, Clone, Serialize)]
pub struct ReadingVerdict {
    /// The reading.
    pub reading: HeightReading,
    /// Whether verdicts follow it.
    pub binding: bool,
    /// The height under this reading, in pixels (estimated for `font-size`).
    pub height_px: f64,
    /// That height / the shortest side.
    pub ratio: f64,
    /// Pass or fail against the profile's minimum ratio.
    pub outcome: Outcome,
}

/// The readings of one requirement, as `check --json` and the oracle report them.
#[derive(Debug, Clone, Serialize)]
pub struct Readings {
    /// The requirement (GB-5.2-e or GB-5.4-f).
    pub requirement: String,
    /// The open question (`text_height`).
    pub question: &'static str,
    /// The digest's confidence.
    pub confidence: String,
    /// The binding reading.
    pub binding: HeightReading,
    /// Every reading, the binding one first.
    pub verdicts: Vec<ReadingVerdict>,
    /// Whether some reading gives another verdict than the binding one: the verdict hangs on
    /// an uncertain reading.
    pub hangs_on_reading: bool,
    /// In words: "fails under glyph-fill (binding), passes under font-size, label-box [L]".
    pub summary: String,
}

/// The height of `m`'s text under `reading`, in pixels; `None` when no text was measured.
pub fn height_under(m: &VisualMeasure, reading: HeightReading, cjk_ink_per_em: f64) -> Option<f64> {
    let h = m.heights?;
    Some(match reading {
        HeightReading::GlyphFill => h.glyph_fill_px as f64,
        HeightReading::GlyphOutlined => h.glyph_outlined_px as f64,
        HeightReading::LabelBox => h.label_box_px as f64,
        HeightReading::FontSize => (h.glyph_fill_px as f64 + 0.5) / cjk_ink_per_em,
    })
}

/// Evaluate the text height of `m` under every reading, make the `requirement` finding in
/// `findings` follow the binding reading, and append the readings to its detail when the
/// verdict hangs on the reading. `None` when no text was measured (nothing to read).
pub fn apply_text_height(
    findings: &mut [Finding],
    m: &VisualMeasure,
    min_ratio: f64,
    requirement: &str,
    r: &ReadingsProfile,
) -> Option<Readings> {
    let t = &r.text_height;
    let short = m.width.min(m.height).max(1) as f64;
    let mut order = vec![t.binding];
    order.extend(t.alternatives.iter().filter(|a| **a != t.binding));
    let verdicts: Vec<ReadingVerdict> = order
        .iter()
        .map(|reading| {
            let px = height_under(m, *reading, t.cjk_ink_per_em)?;
            let ratio = px / short;
            Some(ReadingVerdict {
                reading: *reading,
                binding: *reading == t.binding,
                height_px: (px * 100.0).round() / 100.0,
                ratio,
                outcome: if ratio + 1e-9 >= min_ratio {
                    Outcome::Pass
                } else {
                    Outcome::Fail
                },
            })
        })
        .collect::<Option<_>>()?;
    let bound = verdicts[0].outcome;
    let word = |o: Outcome| {
        if o == Outcome::Pass {
            "passes"
        } else {
            "fails"
        }
    };
    let others: Vec<&ReadingVerdict> = verdicts[1..]
        .iter()
        .filter(|v| v.outcome != bound)
        .collect();
    let hangs = !others.is_empty();
    let summary = if hangs {
        format!(
            "{} under reading {} (binding), {} under {} (文字高度 is read at confidence [{}], digest {})",
            word(bound),
            t.binding.as_str(),
            word(others[0].outcome),
            others
                .iter()
                .map(|v| format!("{} ({:.1} px = {:.2} %)", v.reading.as_str(), v.height_px, v.ratio * 100.0))
                .collect::<Vec<_>>()
                .join(", "),
            t.confidence,
            t.digest
        )
    } else {
        format!(
            "{} under every reading ({})",
            word(bound),
            verdicts
                .iter()
                .map(|v| format!("{} {:.2} %", v.reading.as_str(), v.ratio * 100.0))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    if let Some(f) = findings.iter_mut().find(|f| f.requirement == requirement) {
        let b = &verdicts[0];
        f.outcome = b.outcome;
        f.detail = format!(
            "text height ({} reading) {:.1} px = {:.2} % of the shortest side {} px; minimum {:.2} %{}",
            t.binding.as_str(),
            b.height_px,
            b.ratio * 100.0,
            m.width.min(m.height),
            min_ratio * 100.0,
            if hangs {
                format!("; the verdict hangs on the reading: {summary}")
            } else {
                String::new()
            }
        );
    }
    Some(Readings {
        requirement: requirement.to_string(),
        question: "text_height",
        confidence: t.confidence.clone(),
        binding: t.binding,
        verdicts,
        hangs_on_reading: hangs,
        summary,
    })
}
