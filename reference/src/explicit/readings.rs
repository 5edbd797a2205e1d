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
    /// Other values of the [L] limits of the `explicit:` section (absent: none evaluated).
    #[serde(default)]
    pub limits: LimitReadings,
}

/// `readings.limits`: values another careful reading of a clause might choose for a limit the
/// profile sets at [L]. Verdicts follow the `explicit:` section; each output is also judged
/// under these, and the report lists those whose verdict would differ.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct LimitReadings {
    /// GB-5.2-d: other pairs for `explicit.image.min_contrast_ratio` and
    /// `min_colour_difference`.
    #[serde(default)]
    pub legibility: Vec<LegibilityLimits>,
    /// GB-5.2-c / GB-5.4-e: other widths of the edge band (`explicit.image.edge_band_ratio`,
    /// `explicit.video.edge_band_ratio`), as shares of the side.
    #[serde(default)]
    pub edge_band_ratio: Vec<f64>,
    /// GB-5.1-c: other longest prompt lines (`explicit.text.max_prompt_chars`).
    #[serde(default)]
    pub max_prompt_chars: Vec<usize>,
    /// GB-5.3-c: other sets of the rhythm's timing ratios (`explicit.audio.rhythm_*`).
    #[serde(default)]
    pub rhythm: Vec<RhythmLimits>,
    /// GB-5.3-f: other distances for `explicit.audio.rhythm_noise_below_programme_db`.
    #[serde(default)]
    pub rhythm_noise_below_programme_db: Vec<f64>,
    /// GB-5.3-d note 3: other windows for `explicit.audio.round_label_within_s`.
    #[serde(default)]
    pub round_label_within_s: Vec<f64>,
}

/// One set of the timing ratios that tell 短长短短 (GB-5.3-c; `explicit.audio`).
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
pub struct RhythmLimits {
    /// `rhythm_long_to_short_min`.
    pub long_to_short_min: f64,
    /// `rhythm_short_tolerance`.
    pub short_tolerance: f64,
    /// `rhythm_max_gap_to_short`.
    pub max_gap_to_short: f64,
}

impl RhythmLimits {
    /// In words: "long >= 2x / shorts ±30 % / gaps <= 4x".
    pub fn describe(&self) -> String {
        format!(
            "long >= {}x / shorts ±{:.0} % / gaps <= {}x",
            self.long_to_short_min,
            self.short_tolerance * 100.0,
            self.max_gap_to_short
        )
    }
}

/// One pair of legibility limits (GB-5.2-d): a label fails when it is below both.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
pub struct LegibilityLimits {
    /// Luminance contrast ratio (WCAG 2), 1 to 21.
    pub min_contrast_ratio: f64,
    /// Colour difference, CIE 1976 ΔE*ab.
    pub min_colour_difference: f64,
}

/// The verdict of one requirement under the profile's limit and under each other value of
/// `readings.limits`, in the shape of [`Readings`] (the report reads `requirement`,
/// `hangs_on_reading` and `summary` of both).
#[derive(Debug, Clone, Serialize)]
pub struct LimitReading {
    /// The requirement.
    pub requirement: String,
    /// The profile key whose value is open.
    pub question: &'static str,
    /// Our confidence in the value: always L (only [L] limits have alternatives).
    pub confidence: &'static str,
    /// The profile's value, in words.
    pub binding: String,
    /// The verdict under every value, the profile's first.
    pub verdicts: Vec<LimitVerdict>,
    /// Whether some other value gives another verdict.
    pub hangs_on_reading: bool,
    /// In words: "passes with 3:1 / ΔE 30 (profile), fails with 4.5:1 / ΔE 40 [L]".
    pub summary: String,
}

/// One value's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct LimitVerdict {
    /// The value, in words.
    pub value: String,
    /// Whether it is the profile's.
    pub binding: bool,
    /// Pass or fail under it.
    pub outcome: Outcome,
}

/// A [`LimitReading`] from the verdicts (`true`: pass) under the profile's value (first) and
/// the alternatives.
pub fn limit_reading(
    requirement: &str,
    question: &'static str,
    values: Vec<(String, bool)>,
) -> Option<LimitReading> {
    let (binding, bound) = values.first().cloned()?;
    let word = |pass: bool| if pass { "passes" } else { "fails" };
    let others: Vec<&(String, bool)> = values[1..].iter().filter(|(_, o)| *o != bound).collect();
    let hangs = !others.is_empty();
    let summary = if hangs {
        format!(
            "{} with {question} {binding} (profile), {} with {} [L]",
            word(bound),
            word(!bound),
            others
                .iter()
                .map(|(v, _)| v.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        format!(
            "{} with every value of {question} ({})",
            word(bound),
            values
                .iter()
                .map(|(v, _)| v.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Some(LimitReading {
        requirement: requirement.to_string(),
        question,
        confidence: "L",
        binding: binding.clone(),
        verdicts: values
            .iter()
            .enumerate()
            .map(|(i, (v, pass))| LimitVerdict {
                value: v.clone(),
                binding: i == 0,
                outcome: if *pass { Outcome::Pass } else { Outcome::Fail },
            })
            .collect(),
        hangs_on_reading: hangs,
        summary,
    })
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
        let l = &self.limits;
        let mut lines = vec![format!(
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
        )];
        let list = |v: &[f64]| {
            v.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !l.max_prompt_chars.is_empty() {
            lines.push(format!(
                "longest prompt line (GB-5.1-c, [L]): verdicts follow \
                 explicit.text.max_prompt_chars; also evaluated: {} characters",
                l.max_prompt_chars
                    .iter()
                    .map(|n| n.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !l.legibility.is_empty() {
            lines.push(format!(
                "legibility (GB-5.2-d, [L]): verdicts follow explicit.image.min_contrast_ratio / \
                 min_colour_difference; also evaluated: {}",
                l.legibility
                    .iter()
                    .map(|x| format!(
                        "{}:1 / ΔE {}",
                        x.min_contrast_ratio, x.min_colour_difference
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !l.edge_band_ratio.is_empty() {
            lines.push(format!(
                "edge band (GB-5.2-c, GB-5.4-e, [L]): verdicts follow explicit.image/video.\
                 edge_band_ratio; also evaluated: {}",
                list(&l.edge_band_ratio)
            ));
        }
        if !l.rhythm.is_empty() {
            lines.push(format!(
                "rhythm timing (GB-5.3-c, [L]): verdicts follow explicit.audio.rhythm_*; also \
                 evaluated: {}",
                l.rhythm
                    .iter()
                    .map(|r| r.describe())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !l.rhythm_noise_below_programme_db.is_empty() {
            lines.push(format!(
                "rhythm under noise (GB-5.3-f, [L]): verdicts follow \
                 explicit.audio.rhythm_noise_below_programme_db; also evaluated: {} dB",
                list(&l.rhythm_noise_below_programme_db)
            ));
        }
        if !l.round_label_within_s.is_empty() {
            lines.push(format!(
                "label per interaction round (GB-5.3-d note 3, [L]): verdicts follow \
                 explicit.audio.round_label_within_s; also evaluated: {} s",
                list(&l.round_label_within_s)
            ));
        }
        lines
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
